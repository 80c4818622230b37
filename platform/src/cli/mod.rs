//! `kiosk-platform`'s command line: one module per subcommand. Each parses its arguments
//! with clap, checks them the way the platform will read them, and calls the library; errors
//! end here, as `anyhow` reports printed by `main`.

mod appointment;
mod catalog;
mod connector;
mod duration;
mod keys;
mod release;
mod rollout;
mod serve;
mod terminal;
mod tls;
mod token;
mod user;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kiosk_platform::store::RETENTION_DAYS;
use kiosk_platform::{DbUrl, Store, StoreError, seed};

#[derive(Parser)]
#[command(
    name = "kiosk-platform",
    version,
    about = "连易办 central platform: terminal gateway and management"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the terminal API (creates and migrates the database on first start).
    Serve {
        #[command(flatten)]
        listen: serve::ListenArgs,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
        /// The platform's key file (`kiosk-platform keys init`), readable by its user only:
        /// the data key personal data is encrypted with, the sealing and applicant keys.
        #[arg(long = "keys", value_name = "PATH")]
        key_file: std::path::PathBuf,
        /// Public base URL printed in receipts' progress QR codes (default: http://LISTEN).
        #[arg(long)]
        public_url: Option<String>,
        /// The console shows a terminal offline after this long without a heartbeat.
        #[arg(long, default_value = "90s", value_parser = duration::offline_after)]
        offline_after: i64,
        #[command(flatten)]
        updates: serve::UpdatesArgs,
        #[command(flatten)]
        limits: serve::LimitsArgs,
        #[command(flatten)]
        courier: connector::CourierArgs,
        /// Refuse requests signed with the retired scheme LYB-ED25519-V1 (401
        /// `signature_scheme_retired`): set once every terminal signs with V2.
        #[arg(long)]
        refuse_signature_v1: bool,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate {
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
    /// Delete the materials, form answers and applicant data of applications finished longer
    /// ago than a number of days, keeping their non-personal record (`serve` does this daily).
    Purge {
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
        /// Applications finished more than this many days ago are purged.
        #[arg(long, default_value_t = RETENTION_DAYS,
              value_parser = clap::value_parser!(u32).range(1..=36_500))]
        older_than_days: u32,
    },
    /// The platform's key file: create it, rotate the sealing key.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Manage the published service catalog.
    Catalog {
        #[command(subcommand)]
        command: catalog::CatalogCommand,
    },
    /// Departments' connectors: deliveries to their systems, their inbound API keys.
    Connector {
        #[command(subcommand)]
        command: connector::ConnectorCommand,
    },
    /// Manage ops console accounts.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// Manage one-time terminal enrollment tokens.
    Token {
        #[command(subcommand)]
        command: token::TokenCommand,
    },
    /// Appointments booked elsewhere (the portal, the phone app), for terminals' check-in.
    Appointment {
        #[command(subcommand)]
        command: appointment::AppointmentCommand,
    },
    /// Staged rollouts of a published release to the fleet.
    Rollout {
        #[command(subcommand)]
        command: rollout::RolloutCommand,
    },
    /// Terminals: tags for targeting rollouts.
    Terminal {
        #[command(subcommand)]
        command: terminal::TerminalCommand,
    },
    /// The signed release repository: keys, publishing, key rotation.
    Release {
        #[command(subcommand)]
        command: release::ReleaseCommand,
    },
    /// TLS: the pin terminals check the platform's certificate by.
    Tls {
        #[command(subcommand)]
        command: tls::TlsCommand,
    },
}

/// Runs one command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            db,
            key_file,
            public_url,
            offline_after,
            updates,
            limits,
            courier,
            refuse_signature_v1,
        } => serve::serve(
            listen,
            (&db, &key_file),
            public_url,
            offline_after,
            (updates, courier.into()),
            limits,
            refuse_signature_v1,
        ),
        Command::Migrate { db } => {
            block_on(open_with_seed(&db))?;
            println!("{db} is migrated");
            Ok(())
        }
        Command::Purge {
            db,
            older_than_days,
        } => block_on(async move {
            let store = Store::open(&db).await?;
            let run = store.purge_finished("cli", older_than_days).await?;
            println!(
                "purged {} applications finished before {}",
                run.applications, run.cutoff
            );
            Ok(())
        }),
        Command::Keys { command } => keys::run(command),
        Command::Catalog { command } => catalog::run(command),
        Command::Connector { command } => connector::run(command),
        Command::User { command } => user::run(command),
        Command::Token { command } => token::run(command),
        Command::Appointment { command } => appointment::run(command),
        Command::Rollout { command } => rollout::run(command),
        Command::Terminal { command } => terminal::run(command),
        Command::Release { command } => release::run(command),
        Command::Tls { command } => tls::run(command),
    }
}

/// Runs one future to completion on a fresh runtime (the one-shot commands).
fn block_on<T>(future: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")?
        .block_on(future)
}

/// Opens the database and publishes the seed catalog when none is published yet.
async fn open_with_seed(db: &DbUrl) -> anyhow::Result<Store> {
    let store = Store::open(db).await?;
    if matches!(store.current_catalog().await, Err(StoreError::NoCatalog)) {
        let catalog = seed::seed_catalog()?;
        store.publish_catalog(&catalog).await?;
        tracing::info!(version = %catalog.version, matters = catalog.matters.len(), "published the seed catalog");
    }
    Ok(store)
}
