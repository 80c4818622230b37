//! `kiosk-platform`: the central platform's terminal gateway and its administration. The
//! subcommands are in [`cli`]; this file only sets up logging and turns an error into a
//! message and exit status 1.

mod cli;

use clap::Parser;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Err(e) = cli::run(cli::Cli::parse()) {
        eprintln!("kiosk-platform: {e:#}");
        std::process::exit(1);
    }
}
