//! `kiosk device …`: a technician's direct line to one device, without the kiosk UI.
//!
//! Each device has its own submodule and subcommand; this file only dispatches.

pub mod printer;

use clap::Subcommand;

/// The devices `kiosk device` can talk to.
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// The receipt printer: status, test page, or a raw ESC/POS file.
    #[command(subcommand)]
    Printer(printer::PrinterCommand),
}

/// Runs one device command; the error says in plain words what went wrong.
pub fn run(command: DeviceCommand) -> anyhow::Result<()> {
    match command {
        DeviceCommand::Printer(command) => printer::run(command),
    }
}
