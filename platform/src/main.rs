//! `kiosk-platform`: the central platform's terminal gateway.

mod rollout_cli;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kiosk_platform::{AppState, DbUrl, Store, router, seed};
use kiosk_protocol::{Catalog, EnrollmentPayload};

#[derive(Parser)]
#[command(
    name = "kiosk-platform",
    version,
    about = "连易办 central platform: terminal gateway and management"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the terminal API (creates and migrates the database on first start).
    Serve {
        /// Address to listen on; port 0 picks a free one (the chosen address is printed).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
        /// Public base URL printed in receipts' progress QR codes (default: http://LISTEN).
        #[arg(long)]
        public_url: Option<String>,
        /// The console shows a terminal offline after this long without a heartbeat.
        #[arg(long, default_value = "90s", value_parser = parse_short_duration)]
        offline_after: i64,
        #[command(flatten)]
        updates: UpdatesArgs,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate {
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
    /// Manage the published service catalog.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// Manage ops console accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage one-time terminal enrollment tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Appointments booked elsewhere (the portal, the phone app), for terminals' check-in.
    Appointment {
        #[command(subcommand)]
        command: AppointmentCommand,
    },
    /// Staged rollouts of a published release to the fleet.
    Rollout {
        #[command(subcommand)]
        command: rollout_cli::RolloutCommand,
    },
    /// Terminals: tags for targeting rollouts.
    Terminal {
        #[command(subcommand)]
        command: rollout_cli::TerminalCommand,
    },
    /// The signed release repository: keys, publishing, key rotation.
    Release {
        #[command(subcommand)]
        command: kiosk_platform::release_cli::ReleaseCommand,
    },
}

/// `serve`'s signed release repository options.
#[derive(clap::Args)]
struct UpdatesArgs {
    /// Serve this release repository under /v1/updates/tuf/ and hand its root to enrolling
    /// terminals.
    #[arg(long)]
    updates_repo: Option<PathBuf>,
    /// The online timestamp key: the server re-signs the timestamp before it expires.
    #[arg(long, requires = "updates_repo")]
    timestamp_key: Option<PathBuf>,
    /// How long each re-signed timestamp stays valid.
    #[arg(long, default_value = "1d", value_parser = kiosk_platform::release_cli::parse_lifetime)]
    timestamp_lifetime: std::time::Duration,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an operator account (or set a new password and role); the password is read from
    /// standard input (asked for, without echo, on a terminal).
    Add {
        /// Login name: 1 to 64 letters, digits, `.`, `_` or `-`.
        name: String,
        /// viewer (reads), operator (also commands and tokens), admin (also catalog and config).
        #[arg(long, value_parser = ["viewer", "operator", "admin"])]
        role: String,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a one-time enrollment token and print it with the enrollment payload (for the
    /// QR code a technician shows the new terminal).
    Create {
        /// Site (hall, branch) the enrolled terminal belongs to.
        #[arg(long)]
        site: Option<String>,
        /// How long the token stays usable: e.g. 30m, 24h, 7d.
        #[arg(long, default_value = "24h", value_parser = parse_duration)]
        expires_in: i64,
        /// The platform's public base URL, put into the payload.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        platform_url: String,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
}

#[derive(Subcommand)]
enum AppointmentCommand {
    /// Book an appointment: the citizen checks in at a terminal of the site on the day, with
    /// the code (its QR code) or their ID card.
    Add {
        /// The appointment code, e.g. YY202611220042.
        #[arg(long)]
        code: String,
        /// The citizen's ID number (stored only as a keyed hash).
        #[arg(long)]
        id_number: String,
        /// The matter booked.
        #[arg(long)]
        matter: String,
        /// Site (hall, branch).
        #[arg(long)]
        site: String,
        /// Day, YYYY-MM-DD (default: today in Beijing).
        #[arg(long)]
        day: Option<String>,
        /// Time slot, e.g. 09:30-10:00.
        #[arg(long, default_value = "09:00-12:00")]
        slot: String,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
}

/// Parses a duration like `90s` or `5m` (1 second to 1 day).
fn parse_short_duration(text: &str) -> Result<i64, String> {
    let err = || format!("`{text}` is not a duration like 90s or 5m");
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| err())?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60).ok_or_else(err)?,
        "h" => n.checked_mul(3600).ok_or_else(err)?,
        _ => return Err(err()),
    };
    if !(1..=86_400).contains(&secs) {
        return Err(format!("`{text}`: between 1 second and 1 day"));
    }
    Ok(secs)
}

/// Reads a password: without echo from a terminal (asked twice), else one line of stdin.
fn read_password() -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    let read_line = || -> anyhow::Result<String> {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("cannot read the password")?;
        Ok(line.trim_end_matches(['\n', '\r']).to_owned())
    };
    if !stdin.is_terminal() {
        return read_line();
    }
    let fd = std::io::stdin();
    let saved = nix::sys::termios::tcgetattr(&fd).context("cannot read terminal settings")?;
    let mut quiet = saved.clone();
    quiet
        .local_flags
        .remove(nix::sys::termios::LocalFlags::ECHO);
    nix::sys::termios::tcsetattr(&fd, nix::sys::termios::SetArg::TCSANOW, &quiet)
        .context("cannot turn off echo")?;
    let ask = |prompt: &str| -> anyhow::Result<String> {
        eprint!("{prompt}");
        let answer = read_line();
        eprintln!();
        answer
    };
    let first = ask("password: ");
    let second = ask("again: ");
    let _ = nix::sys::termios::tcsetattr(&fd, nix::sys::termios::SetArg::TCSANOW, &saved);
    let (first, second) = (first?, second?);
    if first != second {
        anyhow::bail!("the two passwords differ");
    }
    Ok(first)
}

/// Parses `30m`, `24h`, `7d`, `90s` into seconds (1 minute to 90 days).
fn parse_duration(text: &str) -> Result<i64, String> {
    let err = || format!("`{text}` is not a duration like 30m, 24h or 7d");
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| err())?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60).ok_or_else(err)?,
        "h" => n.checked_mul(3600).ok_or_else(err)?,
        "d" => n.checked_mul(86_400).ok_or_else(err)?,
        _ => return Err(err()),
    };
    if !(60..=90 * 86_400).contains(&secs) {
        return Err(format!(
            "`{text}`: a token lives between 1 minute and 90 days"
        ));
    }
    Ok(secs)
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Validate a catalog JSON file and publish it as the current version.
    Import {
        /// The catalog file.
        file: PathBuf,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("kiosk-platform: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            db,
            public_url,
            offline_after,
            updates,
        } => serve(listen, &db, public_url, offline_after, updates),
        Command::User {
            command: UserCommand::Add { name, role, db },
        } => {
            if name.is_empty()
                || name.len() > 64
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            {
                anyhow::bail!("the name must be 1 to 64 letters, digits, `.`, `_` or `-`");
            }
            let role = kiosk_platform::store::Role::parse(&role)
                .context("the role must be viewer, operator or admin")?;
            let password = read_password()?;
            if password.chars().count() < 10 || password.len() > 256 {
                anyhow::bail!("the password must be 10 to 256 characters");
            }
            let hash = kiosk_platform::console::hash_password(&password)
                .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
            block_on(async {
                let store = open_with_seed(&db).await?;
                store.put_operator(&name, &hash, role).await?;
                store
                    .audit("cli", "user_add", &format!("{name} as {}", role.as_str()))
                    .await?;
                anyhow::Ok(())
            })?;
            println!("operator {name} can log in as {}", role.as_str());
            Ok(())
        }
        Command::Migrate { db } => {
            block_on(open_with_seed(&db))?;
            println!("{db} is migrated");
            Ok(())
        }
        Command::Catalog {
            command: CatalogCommand::Import { file, db },
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let catalog: Catalog = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a catalog", file.display()))?;
            catalog
                .validate()
                .with_context(|| format!("{} cannot be published", file.display()))?;
            block_on(async {
                let store = open_with_seed(&db).await?;
                store.publish_catalog(&catalog).await?;
                anyhow::Ok(())
            })?;
            println!(
                "published catalog {} ({} matters)",
                catalog.version,
                catalog.matters.len()
            );
            Ok(())
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    site,
                    expires_in,
                    platform_url,
                    db,
                },
        } => {
            if let Some(site) = &site
                && (site.is_empty()
                    || site.chars().count() > 64
                    || site.chars().any(char::is_control))
            {
                anyhow::bail!("--site must be 1 to 64 characters without control characters");
            }
            let token = kiosk_platform::store::random_hex(24)?;
            let expires_at = kiosk_platform::store::unix_now() + expires_in;
            block_on(async {
                let store = open_with_seed(&db).await?;
                store
                    .create_enrollment_token(&token, site.as_deref(), expires_at)
                    .await?;
                anyhow::Ok(())
            })?;
            let expires = time::OffsetDateTime::from_unix_timestamp(expires_at)
                .context("expiry out of range")?
                .to_offset(time::macros::offset!(+8))
                .format(&time::format_description::well_known::Rfc3339)
                .context("cannot format the expiry")?;
            let payload = EnrollmentPayload {
                platform: platform_url.trim_end_matches('/').to_owned(),
                token: token.clone(),
                site,
                expires_at: expires.clone(),
            };
            println!("token: {token}");
            println!("expires: {expires} (one use)");
            println!("payload: {}", serde_json::to_string(&payload)?);
            Ok(())
        }
        Command::Appointment { command } => add_appointment(command),
        Command::Rollout { command } => rollout_cli::rollout(command),
        Command::Terminal { command } => rollout_cli::terminal(command),
        Command::Release { command } => kiosk_platform::release_cli::run(command),
    }
}

/// Books an appointment after checking each field as check-in will read it.
fn add_appointment(command: AppointmentCommand) -> anyhow::Result<()> {
    let AppointmentCommand::Add {
        code,
        id_number,
        matter,
        site,
        day,
        slot,
        db,
    } = command;
    let code = code.to_ascii_uppercase();
    kiosk_protocol::CheckInRequest {
        code: Some(code.clone()),
        id_number: None,
    }
    .validate()
    .map_err(|e| anyhow::anyhow!("--code: {}", e.message))?;
    kiosk_protocol::ProgressRequest {
        id_number: id_number.clone(),
    }
    .validate()
    .map_err(|e| anyhow::anyhow!("--id-number: {}", e.message))?;
    let day = day.unwrap_or_else(kiosk_platform::store::today);
    let valid_day = day.len() == 10
        && time::Date::parse(
            &day,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .is_ok();
    anyhow::ensure!(valid_day, "--day must be a date like 2026-11-22");
    anyhow::ensure!(
        !site.is_empty() && site.chars().count() <= 64 && !site.chars().any(char::is_control),
        "--site must be 1 to 64 characters without control characters"
    );
    anyhow::ensure!(
        !slot.is_empty() && slot.len() <= 32 && !slot.chars().any(char::is_control),
        "--slot must be 1 to 32 characters, e.g. 09:30-10:00"
    );
    block_on(async {
        let store = open_with_seed(&db).await?;
        let published = store.current_catalog().await?;
        let catalog: Catalog =
            serde_json::from_str(&published.body).context("the published catalog is unreadable")?;
        anyhow::ensure!(
            catalog.matter(&matter).is_some(),
            "--matter: no matter `{matter}` in the published catalog"
        );
        store
            .create_appointment(&code, &id_number, &matter, &site, &day, &slot)
            .await
            .with_context(|| format!("cannot book {code} (is the code already booked?)"))?;
        anyhow::Ok(())
    })?;
    println!("appointment {code}: {matter} at {site} on {day} {slot}");
    Ok(())
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
    if matches!(
        store.current_catalog().await,
        Err(kiosk_platform::StoreError::NoCatalog)
    ) {
        let catalog = seed::seed_catalog()?;
        store.publish_catalog(&catalog).await?;
        tracing::info!(version = %catalog.version, matters = catalog.matters.len(), "published the seed catalog");
    }
    Ok(store)
}

fn serve(
    listen: SocketAddr,
    db: &DbUrl,
    public_url: Option<String>,
    offline_after: i64,
    updates: UpdatesArgs,
) -> anyhow::Result<()> {
    block_on(async move {
        let store = open_with_seed(db).await?;
        tracing::info!(engine = store.engine(), "database ready");
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| {
                format!("cannot listen on {listen}: is another platform already running there?")
            })?;
        let local = listener.local_addr()?;
        let base = public_url.unwrap_or_else(|| format!("http://{local}"));
        let mut state = AppState::new(store, &base).with_offline_after(offline_after);
        if let Some(dir) = updates.updates_repo {
            let repo = kiosk_release::ReleaseRepository::open(&dir);
            repo.root_json()
                .with_context(|| format!("--updates-repo {}", dir.display()))?;
            match updates.timestamp_key {
                // Runs as long as the server's runtime does.
                Some(key) => drop(
                    kiosk_platform::api::updates_repo::spawn_timestamp_refresher(
                        repo.clone(),
                        key,
                        updates.timestamp_lifetime,
                    ),
                ),
                None => tracing::warn!(
                    "serving release metadata without --timestamp-key: nothing re-signs the \
                     timestamp, and terminals refuse updates once it expires"
                ),
            }
            state = state.with_updates_repo(repo);
        }
        let app = router(state);
        println!("kiosk-platform listening on http://{local}");
        std::io::stdout().flush()?;
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_parse_within_bounds() {
        assert_eq!(parse_duration("24h"), Ok(86_400));
        assert_eq!(parse_duration("30m"), Ok(1_800));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert!(parse_duration("10s").is_err());
        assert!(parse_duration("91d").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("24x").is_err());
        assert!(parse_duration("99999999999999999d").is_err());
    }
}
