//! The catalog of matters: fetched from the platform, kept for offline service.

use std::path::Path;
use std::sync::Arc;

use kiosk_protocol::Catalog;

use super::Driver;
use crate::session::Event;

/// The last catalog the platform served, kept in the data folder so the terminal can serve
/// citizens (guides, and applications kept in the outbox) while the platform is unreachable.
const CATALOG_CACHE_FILE: &str = "catalog.json";

impl Driver {
    /// Fetches the catalog; while the platform is unreachable, the last one it served.
    pub(super) fn fetch_catalog(&self) {
        let link = self.config.platform.clone();
        let events = self.events.clone();
        let cache = self.config.outbox.folder().join(CATALOG_CACHE_FILE);
        tokio::spawn(async move {
            let event = match link.catalog().await {
                Ok(catalog) => {
                    tracing::info!(version = %catalog.version, matters = catalog.matters.len(), "catalog loaded");
                    let catalog = Arc::new(catalog);
                    let copy = catalog.clone();
                    let _ = tokio::task::spawn_blocking(move || keep_catalog(&cache, &copy)).await;
                    Event::CatalogLoaded(catalog)
                }
                Err(e) => match tokio::task::spawn_blocking(move || cached_catalog(&cache))
                    .await
                    .ok()
                    .flatten()
                {
                    Some(catalog) => {
                        tracing::warn!(error = %e, version = %catalog.version, "platform unreachable; serving the cached catalog");
                        Event::CatalogLoaded(Arc::new(catalog))
                    }
                    None => {
                        tracing::warn!(error = %e, "catalog unavailable");
                        Event::CatalogUnavailable
                    }
                },
            };
            let _ = events.send(event);
        });
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
