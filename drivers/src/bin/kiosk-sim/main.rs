//! `kiosk-sim`: simulated kiosk devices that speak the real wire protocols over real ptys.
//!
//! One subcommand per device; each lives in its own module with its own arguments, and this
//! file only dispatches.

mod control;
mod gpio;
mod idcard;
mod printer;
mod scanner;

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "kiosk-sim",
    about = "Simulated 连易办 kiosk devices speaking the real wire protocols"
)]
enum Cli {
    /// A resident ID-card reader on a pty, controlled from stdin (and optionally a socket).
    Idcard(idcard::Args),
    /// An ESC/POS receipt printer on a pty, or offline decoding of a captured stream.
    Printer(printer::PrinterArgs),
    /// A QR scanner in serial mode on a pty, scanning on command from stdin (and optionally a
    /// socket).
    Scanner(scanner::Args),
    /// The cabinet's GPIO (presence, door, lamps, printer relay) behind a Unix socket.
    Gpio(gpio::Args),
}

fn main() -> ExitCode {
    // stdout carries the simulators' control protocol; diagnostics go to stderr.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let result = match Cli::parse() {
        Cli::Idcard(args) => idcard::run(args),
        Cli::Printer(args) => printer::run(args),
        Cli::Scanner(args) => scanner::run(args),
        Cli::Gpio(args) => gpio::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kiosk-sim: {e:#}");
            ExitCode::FAILURE
        }
    }
}
