//! `kiosk-platform tls pin FILE`: the pin an operator puts into enrollment codes when the
//! certificate is not served by this platform itself (a reverse proxy's, or a CA's).

use std::path::PathBuf;

use clap::Subcommand;
use kiosk_platform::http::tls::pins_of_certificate_file;

#[derive(Subcommand)]
pub enum TlsCommand {
    /// Print the SHA-256 pin of each certificate's public key in a PEM file (leaf first; a
    /// CA's certificate gives the CA's pin), one per line.
    Pin {
        /// A PEM certificate file (a chain, or a CA certificate).
        file: PathBuf,
    },
}

/// Runs one `tls` subcommand.
pub fn run(command: TlsCommand) -> anyhow::Result<()> {
    let TlsCommand::Pin { file } = command;
    for pin in pins_of_certificate_file(&file)? {
        println!("{pin}");
    }
    Ok(())
}
