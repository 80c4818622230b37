//! `kiosk-sim`: simulated kiosk devices that speak the real wire protocols over real ptys.
//!
//! One subcommand per device; each lives in its own module with its own arguments.

mod idcard;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "kiosk-sim",
    about = "Simulated 连易办 kiosk devices speaking the real wire protocols"
)]
enum Cli {
    /// A resident ID-card reader on a pty, controlled from stdin (and optionally a socket).
    Idcard(idcard::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse() {
        Cli::Idcard(args) => idcard::run(args),
    }
}
