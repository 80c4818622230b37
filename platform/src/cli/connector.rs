//! `kiosk-platform connector …`: departments' connectors from the command line (add, list,
//! disable, enable, rotate, replay dead letters), and `serve`'s courier options.

use std::time::Duration;

use clap::Subcommand;
use kiosk_platform::connector::CourierSettings;
use kiosk_platform::store::ConnectorSecrets;
use kiosk_platform::{DbUrl, StoreError};

use super::{block_on, duration, open_with_seed};

#[derive(Subcommand)]
pub enum ConnectorCommand {
    /// Connect a department's system: new applications of its matters are delivered to URL
    /// (https://, or http:// to this machine only). Prints the signing secret and the inbound
    /// API key once.
    Add {
        /// The department, as the catalog names it (e.g. lyg-health).
        #[arg(long)]
        department: String,
        /// Where deliveries are POSTed.
        #[arg(long)]
        url: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Point a department's connector at another URL (waiting and dead deliveries go there).
    SetUrl {
        #[arg(long)]
        department: String,
        #[arg(long)]
        url: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List connectors with their deliveries counted.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Pause deliveries to a department (they are still queued, and wait) and refuse its key.
    Disable {
        #[arg(long)]
        department: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Deliver to a department again and accept its key.
    Enable {
        #[arg(long)]
        department: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// New signing secret and inbound key for a department (printed once; the old ones stop
    /// working at once).
    Rotate {
        #[arg(long)]
        department: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Queue dead letters again, attempts reset: one (--delivery) or all of a department's.
    Replay {
        #[arg(long)]
        department: String,
        /// The delivery id (the console's dead letters list them).
        #[arg(long)]
        delivery: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
}

/// The database and key file a connector command works on.
#[derive(clap::Args)]
pub struct DbArgs {
    /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
    #[arg(long, default_value = "sqlite://kiosk-platform.db")]
    db: DbUrl,
    /// The platform's key file: the signing secret is kept encrypted with its data key.
    #[arg(long = "keys", value_name = "PATH")]
    key_file: std::path::PathBuf,
}

/// How `serve`'s courier delivers to departments' systems (see docs/OPERATIONS.md).
#[derive(clap::Args)]
pub struct CourierArgs {
    /// The first retry's delay after a failed delivery; each next one doubles it.
    #[arg(long, default_value = "10s", value_parser = duration::delivery_delay)]
    delivery_backoff: Duration,
    /// The longest delay between retries.
    #[arg(long, default_value = "1h", value_parser = duration::delivery_delay)]
    delivery_backoff_cap: Duration,
    /// How long one delivery may take before it counts as failed (a delivery carries the
    /// application's materials: a few megabytes; raise it for a slow link).
    #[arg(long, default_value = "60s", value_parser = duration::request_timeout)]
    delivery_timeout: Duration,
    /// Sends after which a delivery is a dead letter.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1000))]
    delivery_attempts: u32,
    /// Age after which a delivery failing again is a dead letter.
    #[arg(long, default_value = "24h", value_parser = duration::delivery_delay)]
    delivery_max_age: Duration,
    /// How long after acceptance the first send waits for the terminal's material uploads.
    #[arg(long, default_value = "30s", value_parser = duration::delivery_delay)]
    delivery_settle: Duration,
    /// Deliveries sent to one department at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    delivery_concurrency: u32,
}

impl From<CourierArgs> for CourierSettings {
    fn from(args: CourierArgs) -> Self {
        CourierSettings {
            backoff: args.delivery_backoff.max(Duration::from_millis(100)),
            backoff_cap: args.delivery_backoff_cap.max(args.delivery_backoff),
            timeout: args.delivery_timeout,
            max_attempts: args.delivery_attempts,
            max_age: args.delivery_max_age,
            settle: args.delivery_settle,
            per_department: args.delivery_concurrency as usize,
            ..CourierSettings::default()
        }
    }
}

/// Runs one `connector` subcommand.
pub fn run(command: ConnectorCommand) -> anyhow::Result<()> {
    match command {
        ConnectorCommand::Add {
            department,
            url,
            db,
        } => block_on(async {
            let store = open(&db).await?;
            let published = store.current_catalog().await?;
            let catalog: kiosk_protocol::Catalog = serde_json::from_str(&published.body)?;
            if !catalog.matters.iter().any(|m| m.department == department) {
                anyhow::bail!(
                    "--department: no matter of the current catalog belongs to `{department}`"
                );
            }
            let secrets = store
                .add_connector("cli", &department, &url)
                .await
                .map_err(|e| explained(e, &department))?;
            print_secrets(&department, &secrets);
            Ok(())
        }),
        ConnectorCommand::List { db } => block_on(async {
            let store = open(&db).await?;
            for c in store.connectors().await? {
                println!(
                    "{}\t{}\t{}\tpending {}\tdelivered {}\tdead {}",
                    c.department,
                    c.url,
                    if c.enabled { "enabled" } else { "disabled" },
                    c.pending,
                    c.delivered,
                    c.dead
                );
            }
            Ok(())
        }),
        ConnectorCommand::SetUrl {
            department,
            url,
            db,
        } => block_on(async {
            let store = open(&db).await?;
            store
                .set_connector_url("cli", &department, &url)
                .await
                .map_err(|e| explained(e, &department))?;
            println!("{department} → {url}");
            Ok(())
        }),
        ConnectorCommand::Disable { department, db } => switch(&db, &department, false),
        ConnectorCommand::Enable { department, db } => switch(&db, &department, true),
        ConnectorCommand::Rotate { department, db } => block_on(async {
            let store = open(&db).await?;
            let secrets = store
                .rotate_connector("cli", &department)
                .await
                .map_err(|e| explained(e, &department))?;
            print_secrets(&department, &secrets);
            Ok(())
        }),
        ConnectorCommand::Replay {
            department,
            delivery,
            db,
        } => block_on(async {
            let store = open(&db).await?;
            let replayed = store
                .replay_dead("cli", &department, delivery.as_deref())
                .await?;
            println!("{replayed} dead letters of {department} queued again");
            Ok(())
        }),
    }
}

async fn open(db: &DbArgs) -> anyhow::Result<kiosk_platform::Store> {
    let keys = super::keys::load(&db.key_file)?;
    let store = open_with_seed(&db.db).await?;
    store.use_keys(keys).await?;
    Ok(store)
}

fn switch(db: &DbArgs, department: &str, enabled: bool) -> anyhow::Result<()> {
    block_on(async {
        let store = open(db).await?;
        store
            .set_connector_enabled("cli", department, enabled)
            .await
            .map_err(|e| explained(e, department))?;
        println!(
            "{department}: {}",
            if enabled { "enabled" } else { "disabled" }
        );
        Ok(())
    })
}

fn explained(e: StoreError, department: &str) -> anyhow::Error {
    match e {
        StoreError::UnknownConnector => anyhow::anyhow!("{department} has no connector"),
        other => other.into(),
    }
}

fn print_secrets(department: &str, secrets: &ConnectorSecrets) {
    println!("connector of {department}: keep these now, they are not shown again");
    println!(
        "signing secret (HMAC-SHA256 of deliveries): {}",
        secrets.signing_secret.as_str()
    );
    println!(
        "inbound API key (Authorization: Bearer): {}",
        secrets.inbound_key.as_str()
    );
}
