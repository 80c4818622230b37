//! The catalog of matters: fetched from the platform, kept for offline service, and taken
//! live when the platform publishes another.
//!
//! The terminal asks `GET /v1/catalog` with `If-None-Match` on the version it holds every
//! [`REFRESH_INTERVAL`], and at once when a heartbeat answer names another version (so a
//! publication reaches a running terminal within a heartbeat, without a restart). The platform
//! answers 304 while nothing changed. A new catalog goes to the session core, which shows it
//! only when nobody is being served; the heartbeat reports the version the session shows.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kiosk_protocol::Catalog;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

use super::Driver;
use crate::session::Event;
use crate::uplink::platform_link::{CatalogAnswer, PlatformLink};

/// The last catalog the platform served, kept in the data folder so the terminal can serve
/// citizens (guides, and applications kept in the outbox) while the platform is unreachable.
const CATALOG_CACHE_FILE: &str = "catalog.json";

/// How often the terminal asks whether the catalog changed, should no heartbeat answer say so
/// (a platform too old to hint, say). A check the platform answers 304 costs no body.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(300);

/// The catalog's part of the heartbeat: what it reports, and where the answer's hint goes.
#[derive(Clone)]
pub struct CatalogReport {
    /// The version the session shows (the heartbeat's `catalog` version).
    pub shown: watch::Receiver<Option<String>>,
    /// The version the platform's last heartbeat answer says this terminal should run.
    pub offered: watch::Sender<Option<String>>,
}

/// Where catalogs come from: the platform, or the copy kept on disk.
pub(super) struct CatalogSource {
    link: PlatformLink,
    cache: PathBuf,
    events: UnboundedSender<Event>,
    /// The version last fetched (or read from the disk copy), which the session shows or
    /// will: the ETag the next check names.
    held: Mutex<Option<String>>,
    /// One request at a time: a hint arriving during a check does not start another.
    asking: tokio::sync::Mutex<()>,
}

impl CatalogSource {
    pub(super) fn new(
        link: PlatformLink,
        data_folder: &Path,
        events: UnboundedSender<Event>,
    ) -> Arc<Self> {
        Arc::new(Self {
            link,
            cache: data_folder.join(CATALOG_CACHE_FILE),
            events,
            held: Mutex::new(None),
            asking: tokio::sync::Mutex::new(()),
        })
    }

    fn held(&self) -> Option<String> {
        self.held.lock().ok().and_then(|held| held.clone())
    }

    fn hold(&self, version: &str) {
        if let Ok(mut held) = self.held.lock() {
            *held = Some(version.to_owned());
        }
    }

    /// Asks for the catalog unless it is the version held (at start, while out of service,
    /// on the timer and on the platform's hint); a new one goes to the session. A failure (the
    /// platform unreachable, a catalog that does not validate) keeps the one held; with none
    /// held yet, the copy kept on disk serves.
    async fn check(&self) {
        let _one = self.asking.lock().await;
        let held = self.held();
        let event = match self.link.catalog_unless(held.as_deref()).await {
            Ok(CatalogAnswer::Changed(catalog)) => self.take(catalog).await,
            // The session has the version held already.
            Ok(CatalogAnswer::Unchanged) => {
                tracing::debug!(
                    version = held.as_deref().unwrap_or("-"),
                    "catalog unchanged"
                );
                return;
            }
            Err(e) if held.is_some() => {
                tracing::warn!(error = %e, "catalog not refreshed; keeping the one held");
                return;
            }
            Err(e) => {
                let cache = self.cache.clone();
                match tokio::task::spawn_blocking(move || cached_catalog(&cache))
                    .await
                    .ok()
                    .flatten()
                {
                    Some(catalog) => {
                        tracing::warn!(error = %e, version = %catalog.version, "platform unreachable; serving the cached catalog");
                        self.hold(&catalog.version);
                        Event::CatalogLoaded(Arc::new(catalog))
                    }
                    None => {
                        tracing::warn!(error = %e, "catalog unavailable");
                        Event::CatalogUnavailable
                    }
                }
            }
        };
        let _ = self.events.send(event);
    }

    /// Holds a catalog the platform served and keeps it on disk for offline starts.
    async fn take(&self, catalog: Catalog) -> Event {
        tracing::info!(version = %catalog.version, matters = catalog.matters.len(), "catalog loaded");
        self.hold(&catalog.version);
        let catalog = Arc::new(catalog);
        let copy = catalog.clone();
        let cache = self.cache.clone();
        let _ = tokio::task::spawn_blocking(move || keep_catalog(&cache, &copy)).await;
        Event::CatalogLoaded(catalog)
    }

    /// Checks every [`REFRESH_INTERVAL`] and whenever the platform offers a version other
    /// than the one held, until the process ends.
    pub(super) fn spawn_refresh(self: Arc<Self>, mut offered: watch::Receiver<Option<String>>) {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(REFRESH_INTERVAL);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick is immediate, and the start fetches the catalog anyway.
            ticker.tick().await;
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    changed = offered.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        let offer = offered.borrow_and_update().clone();
                        let held = self.held();
                        // Nothing held yet: the start's own fetch (or its retries) is under way.
                        if offer.is_none() || held.is_none() || offer == held {
                            continue;
                        }
                        tracing::info!(offered = offer.as_deref().unwrap_or("-"), held = held.as_deref().unwrap_or("-"), "the platform offers another catalog");
                    }
                }
                self.check().await;
            }
        });
    }
}

impl Driver {
    /// Fetches the catalog; while the platform is unreachable, the last one it served.
    pub(super) fn fetch_catalog(&self) {
        let source = self.catalogs.clone();
        tokio::spawn(async move { source.check().await });
    }
}

fn keep_catalog(path: &Path, catalog: &Catalog) {
    let written = serde_json::to_vec(catalog)
        .map_err(std::io::Error::other)
        .and_then(|bytes| crate::write_atomically(path, &bytes));
    if let Err(e) = written {
        tracing::warn!(error = %e, "cannot keep the catalog for offline use");
    }
}

/// The cached catalog, if there is one and it still validates.
fn cached_catalog(path: &Path) -> Option<Catalog> {
    let bytes = std::fs::read(path).ok()?;
    let catalog: Catalog = serde_json::from_slice(&bytes).ok()?;
    catalog.validate().ok()?;
    Some(catalog)
}
