//! `kiosk device …`: the technician's direct line to each device, outside any citizen
//! session.
//!
//! A field technician replacing a reader or a printer, or a developer holding a capture from a
//! customer's terminal, needs to see what one device says without booting the whole kiosk.
//! Each device gets one subcommand group in its own module; this file only dispatches.

pub mod gpio;
pub mod idcard;
pub mod printer;

/// The device to talk to.
#[derive(Debug, clap::Subcommand)]
pub enum DeviceCommand {
    /// The resident ID-card reader: read a card, or decode captured reader replies.
    #[command(subcommand)]
    Idcard(idcard::IdcardCommand),
    /// The receipt printer: status, test page, or a raw ESC/POS file.
    #[command(subcommand)]
    Printer(printer::PrinterCommand),
    /// The cabinet's GPIO: read the sensors, or power-cycle the printer through its relay.
    #[command(subcommand)]
    Gpio(gpio::GpioCommand),
}

/// Runs one device command to completion; errors are one line each, for the technician.
pub fn run(command: DeviceCommand) -> anyhow::Result<()> {
    match command {
        DeviceCommand::Idcard(command) => idcard::run(command),
        DeviceCommand::Printer(command) => printer::run(command),
        DeviceCommand::Gpio(command) => gpio::run(command),
    }
}
