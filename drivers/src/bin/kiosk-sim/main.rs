//! `kiosk-sim`: simulated kiosk devices that speak the real wire protocols over real ptys.

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "kiosk-sim",
    about = "Simulated 连易办 kiosk devices speaking the real wire protocols"
)]
enum Cli {}

fn main() {
    let cli = Cli::parse();
    match cli {}
}
