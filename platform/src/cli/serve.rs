//! `kiosk-platform serve`: the HTTP server, until SIGTERM or Ctrl-C.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use kiosk_platform::api::updates_repo::spawn_timestamp_refresher;
use kiosk_platform::http::limits::{self, ServerLimits};
use kiosk_platform::http::tls::{ServerTls, pins_of_certificate_file};
use kiosk_platform::{AppState, DbUrl, router};

use super::{block_on, duration, open_with_seed};

/// `serve`'s signed release repository options.
#[derive(clap::Args)]
pub struct UpdatesArgs {
    /// Serve this release repository under /v1/updates/tuf/ and hand its root to enrolling
    /// terminals.
    #[arg(long)]
    updates_repo: Option<PathBuf>,
    /// The online timestamp key: the server re-signs the timestamp before it expires.
    #[arg(long, requires = "updates_repo")]
    timestamp_key: Option<PathBuf>,
    /// How long each re-signed timestamp stays valid.
    #[arg(long, default_value = "1d", value_parser = duration::metadata_lifetime)]
    timestamp_lifetime: std::time::Duration,
}

/// `serve`'s limits on what one client may hold (see [`kiosk_platform::http::limits`]) and on
/// how old a catalog an application may be filled in with.
#[derive(clap::Args)]
pub struct LimitsArgs {
    /// How long a client may take to send a request's headers; an idle kept-alive connection
    /// is closed after as long.
    #[arg(long, default_value = "10s", value_parser = duration::request_timeout)]
    header_timeout: std::time::Duration,
    /// How long a client may take to send a whole request body.
    #[arg(long, default_value = "60s", value_parser = duration::request_timeout)]
    body_timeout: std::time::Duration,
    /// Connections served at once (the process needs as many file descriptors, and more);
    /// the next ones wait in the listen backlog.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_connections: u32,
    /// A reverse proxy in front of the platform (repeatable): requests from it are taken to
    /// come from the last address it appended to X-Forwarded-For (the console throttles
    /// logins per client address). Without it every login behind a proxy counts as the
    /// proxy's.
    #[arg(long = "trusted-proxy", value_name = "IP")]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// How long after a catalog version stops being current applications filled in with it
    /// are still accepted (from terminals' outboxes); later ones are refused with
    /// `catalog_version_expired`.
    #[arg(long, default_value = "7d", value_parser = duration::catalog_grace)]
    catalog_grace: i64,
    /// Materials, form answers and applicant data of applications finished more than this
    /// many days ago are deleted, shortly after start and then daily (their non-personal
    /// record is kept); 0 keeps them forever.
    #[arg(long, default_value_t = kiosk_platform::store::RETENTION_DAYS,
          value_parser = clap::value_parser!(u32).range(0..=36_500))]
    retention_days: u32,
}

/// Where `serve` listens, and whether it speaks TLS there itself (see
/// [`kiosk_platform::http::tls`]).
#[derive(clap::Args)]
pub struct ListenArgs {
    /// Address to listen on; port 0 picks a free one (the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Serve HTTPS with this certificate chain (PEM, leaf first). Its key's pin is logged at
    /// start and carried by the enrollment codes the console makes.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM; readable by the platform's user only).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The certificate (PEM) this platform will switch to: its pin is announced to terminals
    /// in every heartbeat answer, so they trust it once it is served. Switch after every
    /// terminal has heartbeated (the fleet page's last heartbeat).
    #[arg(long, requires = "tls_cert")]
    tls_next_cert: Option<PathBuf>,
}

impl ListenArgs {
    fn next_pin(&self) -> anyhow::Result<Option<String>> {
        match &self.tls_next_cert {
            Some(file) => Ok(pins_of_certificate_file(file)?.into_iter().next()),
            None => Ok(None),
        }
    }

    fn load(&self) -> anyhow::Result<Option<ServerTls>> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some(ServerTls::load(cert, key)?)),
            _ => Ok(None),
        }
    }
}

impl From<LimitsArgs> for ServerLimits {
    fn from(args: LimitsArgs) -> Self {
        ServerLimits {
            header_timeout: args.header_timeout,
            body_timeout: args.body_timeout,
            max_connections: args.max_connections as usize,
        }
    }
}

/// Serves the platform on `listen`, over the database `db` whose keys are in `key_file`, until told to stop; prints the address it listens on.
pub fn serve(
    listen: ListenArgs,
    (db, key_file): (&DbUrl, &std::path::Path),
    public_url: Option<String>,
    offline_after: i64,
    (updates, courier): (UpdatesArgs, kiosk_platform::connector::CourierSettings),
    limits: LimitsArgs,
    refuse_signature_v1: bool,
) -> anyhow::Result<()> {
    // Refused before anything else: a missing or exposed key file is the operator's to fix.
    let keys =
        super::keys::load(key_file).with_context(|| format!("--keys {}", key_file.display()))?;
    let tls = listen.load()?;
    let next_pin = listen.next_pin()?;
    let listen = listen.listen;
    block_on(async move {
        let store = open_with_seed(db).await?;
        store.use_keys(keys).await?;
        // Applications accepted before departments were recorded get their matter's.
        if let Ok(published) = store.current_catalog().await {
            let catalog: kiosk_protocol::Catalog = serde_json::from_str(&published.body)?;
            let filled = store.backfill_departments(&catalog).await?;
            if filled > 0 {
                tracing::info!(rows = filled, "gave older applications their departments");
            }
        }
        tracing::info!(engine = store.engine(), "database ready");
        // Departments' systems get their new applications from here on, this instance
        // sharing the queue with any other on the same database.
        kiosk_platform::connector::spawn_courier(store.clone(), courier)
            .context("cannot start the delivery courier")?;
        if limits.retention_days > 0 {
            drop(store.spawn_daily_purge(limits.retention_days));
        }
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| {
                format!("cannot listen on {listen}: is another platform already running there?")
            })?;
        let local = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base = public_url.unwrap_or_else(|| format!("{scheme}://{local}"));
        let state = with_updates(
            AppState::new(store, &base)
                .with_offline_after(offline_after)
                .with_catalog_grace(limits.catalog_grace)
                .with_signature_v1_accepted(!refuse_signature_v1)
                .with_tls_pin(tls.as_ref().map(|tls| tls.pin().to_owned()))
                .with_tls_next_pin(next_pin),
            updates,
        )?;
        let mut app = router(state);
        if !limits.trusted_proxies.is_empty() {
            let proxies: std::sync::Arc<[std::net::IpAddr]> = limits.trusted_proxies.clone().into();
            app = app.layer(axum::middleware::from_fn_with_state(
                proxies,
                limits::forwarded_client,
            ));
        }
        println!("kiosk-platform listening on {scheme}://{local}");
        match tls {
            Some(tls) => {
                println!("tls pin: {}", tls.pin());
                tracing::info!(pin = tls.pin(), "serving TLS");
                std::io::stdout().flush()?;
                let acceptor = tls.acceptor();
                limits::serve_tls(listener, app, limits.into(), acceptor, shutdown_signal())
                    .await?;
            }
            None => {
                std::io::stdout().flush()?;
                limits::serve(listener, app, limits.into(), shutdown_signal()).await?;
            }
        }
        Ok(())
    })
}

/// `state` serving the release repository `updates` names, if any, with the timestamp
/// refresher running (it lives as long as the server's runtime).
fn with_updates(state: AppState, updates: UpdatesArgs) -> anyhow::Result<AppState> {
    let Some(dir) = updates.updates_repo else {
        return Ok(state);
    };
    let repo = kiosk_release::ReleaseRepository::open(&dir);
    repo.root_json()
        .with_context(|| format!("--updates-repo {}", dir.display()))?;
    match updates.timestamp_key {
        Some(key) => drop(spawn_timestamp_refresher(
            repo.clone(),
            key,
            updates.timestamp_lifetime,
        )),
        None => tracing::warn!(
            "serving release metadata without --timestamp-key: nothing re-signs the \
             timestamp, and terminals refuse updates once it expires"
        ),
    }
    Ok(state.with_updates_repo(repo))
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
