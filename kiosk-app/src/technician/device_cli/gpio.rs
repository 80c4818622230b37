//! `kiosk device gpio show|power-cycle-printer`: the cabinet's pins by hand.
//!
//! For the technician at an open cabinet: do the presence sensor and the door switch read as
//! they should, and does the relay bring a wedged printer back. The GPIO is the one named in
//! `kiosk.toml`'s `[gpio]` (the Pi's pins, or the simulator's socket).

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::Subcommand;
use kiosk_drivers::gpio::{Input, MIN_POWER_OFF, Output, power_cycle};

use crate::config::{DEFAULT_PATH, KioskConfig};

/// The GPIO subcommands.
#[derive(Debug, Subcommand)]
pub enum GpioCommand {
    /// Read the presence sensor and the door switch.
    Show {
        /// Configuration file naming the GPIO.
        #[arg(long, default_value = DEFAULT_PATH)]
        config: PathBuf,
    },
    /// Switch the receipt printer's power off (2 s) and on again.
    PowerCyclePrinter {
        /// Configuration file naming the GPIO.
        #[arg(long, default_value = DEFAULT_PATH)]
        config: PathBuf,
    },
}

/// Runs one GPIO command.
pub fn run(command: GpioCommand) -> anyhow::Result<()> {
    let (GpioCommand::Show { config } | GpioCommand::PowerCyclePrinter { config }) = &command;
    let config = KioskConfig::load(config)?;
    let port = config
        .devices()
        .gpio
        .ok_or_else(|| anyhow!("no [gpio] in the configuration"))?;
    let gpio = port
        .open()
        .with_context(|| format!("cannot open the GPIO ({port})"))?;
    match command {
        GpioCommand::Show { .. } => {
            let mut pins = gpio
                .lock()
                .map_err(|_| anyhow!("the GPIO lock is poisoned"))?;
            let presence = pins.read(Input::Presence)?;
            let door = pins.read(Input::Door)?;
            println!(
                "presence {}\ndoor {}",
                if presence { "on" } else { "off" },
                if door { "open" } else { "closed" }
            );
        }
        GpioCommand::PowerCyclePrinter { .. } => {
            power_cycle(&gpio, Output::PrinterRelay, MIN_POWER_OFF)
                .context("power-cycling the printer")?;
            println!("printer power cycled");
        }
    }
    Ok(())
}
