//! The one context every handler receives: the database, the platform's public address, the
//! parsed catalog cache and the release repository it serves.

use std::sync::{Arc, RwLock};

use kiosk_protocol::Catalog;

use super::error::Failure;
use crate::documents::verification::CertificateKey;
use crate::store::Store;

/// A terminal is shown offline after this many seconds without a heartbeat (three missed 30 s
/// heartbeats).
pub const DEFAULT_OFFLINE_AFTER_SECS: i64 = 90;

/// Answers made against a catalog version are accepted for this long after it stopped being
/// current: a terminal offline over a long weekend still delivers its outbox.
pub const DEFAULT_CATALOG_GRACE_SECS: i64 = 7 * 86_400;

/// Retired catalog versions kept parsed (answers from terminals that have not yet taken the
/// current one arrive against the last few; each is parsed once, not per application).
const RETIRED_CATALOGS_KEPT: usize = 4;

/// Shared state of every handler (cheap to clone: everything behind it is shared).
#[derive(Clone)]
pub struct AppState {
    store: Store,
    progress_base: Arc<str>,
    parsed_catalog: Arc<RwLock<Option<Arc<Catalog>>>>,
    retired_catalogs: Arc<RwLock<Vec<Arc<Catalog>>>>,
    catalog_grace: i64,
    offline_after: i64,
    updates: Option<Arc<kiosk_release::ReleaseRepository>>,
    certificate_key: Arc<tokio::sync::OnceCell<CertificateKey>>,
    signature_v1_accepted: bool,
    tls_pin: Option<Arc<str>>,
    tls_next_pin: Option<Arc<str>>,
}

impl AppState {
    /// State over `store`; receipts point citizens at `progress_base`/progress/NO.
    pub fn new(store: Store, progress_base: &str) -> Self {
        Self {
            store,
            progress_base: progress_base.into(),
            parsed_catalog: Arc::default(),
            retired_catalogs: Arc::default(),
            catalog_grace: DEFAULT_CATALOG_GRACE_SECS,
            offline_after: DEFAULT_OFFLINE_AFTER_SECS,
            updates: None,
            certificate_key: Arc::default(),
            signature_v1_accepted: true,
            tls_pin: None,
            tls_next_pin: None,
        }
    }

    /// The same state, serving the signed release repository `repo` under
    /// `/v1/updates/tuf/` and handing its root to enrolling terminals.
    pub fn with_updates_repo(mut self, repo: kiosk_release::ReleaseRepository) -> Self {
        self.updates = Some(Arc::new(repo));
        self
    }

    /// The release repository this platform serves, if any.
    pub fn updates_repo(&self) -> Option<&kiosk_release::ReleaseRepository> {
        self.updates.as_deref()
    }

    /// The same state, showing terminals offline after `secs` without a heartbeat.
    pub fn with_offline_after(mut self, secs: i64) -> Self {
        self.offline_after = secs.max(1);
        self
    }

    /// The same state, accepting answers made against a retired catalog version for `secs`
    /// after it stopped being current (0: only the current version).
    pub fn with_catalog_grace(mut self, secs: i64) -> Self {
        self.catalog_grace = secs.max(0);
        self
    }

    /// Seconds after a catalog version stopped being current during which answers made
    /// against it are still accepted.
    pub fn catalog_grace(&self) -> i64 {
        self.catalog_grace
    }

    /// The same state, accepting requests signed with the retired scheme V1 or not (V2,
    /// which also covers `Content-Type` and `Idempotency-Key`, is always accepted). V1 is
    /// accepted by default during the transition, until every terminal signs with V2.
    pub fn with_signature_v1_accepted(mut self, accepted: bool) -> Self {
        self.signature_v1_accepted = accepted;
        self
    }

    /// The same state, with the pin of the TLS key this platform serves (enrollment codes
    /// carry it, so terminals trust no other certificate).
    pub fn with_tls_pin(mut self, pin: Option<String>) -> Self {
        self.tls_pin = pin.map(Into::into);
        self
    }

    /// The same state, announcing the pin of the certificate it will switch to (`serve
    /// --tls-next-cert`) in every heartbeat answer, so terminals trust it before the switch.
    pub fn with_tls_next_pin(mut self, pin: Option<String>) -> Self {
        self.tls_next_pin = pin.map(Into::into);
        self
    }

    /// The pins heartbeat answers announce: the served certificate's and the next one's.
    pub fn tls_pins(&self) -> Vec<String> {
        [&self.tls_pin, &self.tls_next_pin]
            .into_iter()
            .flatten()
            .map(|pin| pin.to_string())
            .collect()
    }

    /// The pin enrollment codes carry, when this platform serves TLS itself.
    pub fn tls_pin(&self) -> Option<&str> {
        self.tls_pin.as_deref()
    }

    /// True while requests signed with scheme V1 are accepted.
    pub fn signature_v1_accepted(&self) -> bool {
        self.signature_v1_accepted
    }

    /// Seconds without a heartbeat after which a terminal counts as offline.
    pub fn offline_after(&self) -> i64 {
        self.offline_after
    }

    /// The platform's public base URL.
    pub fn public_base(&self) -> &str {
        self.progress_base.trim_end_matches('/')
    }

    /// The base receipts' progress links are built on, as configured.
    pub fn progress_base(&self) -> &str {
        &self.progress_base
    }

    /// True when the console's cookies must be `Secure` (the platform is served over HTTPS).
    pub fn secure_cookies(&self) -> bool {
        self.progress_base.starts_with("https://")
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The key certificates' verification codes are made and checked with, read once from
    /// the platform's key ring ([`crate::keys`]).
    pub async fn certificate_key(&self) -> Result<CertificateKey, Failure> {
        self.certificate_key
            .get_or_try_init(|| async {
                let hex = self.store.keys()?.certificate_secret();
                CertificateKey::from_hex(&hex).ok_or_else(|| {
                    tracing::error!("the stored certificate key is not 32 bytes of hex");
                    Failure::internal()
                })
            })
            .await
            .cloned()
    }

    /// The catalog published now, parsed once per published version (every application and
    /// ticket consults it; parsing the JSON each time would dominate their cost).
    pub async fn current_catalog(&self) -> Result<Arc<Catalog>, Failure> {
        let published = self.store.current_catalog().await?;
        if let Ok(cache) = self.parsed_catalog.read()
            && let Some(catalog) = cache.as_ref().filter(|c| c.version == published.version)
        {
            return Ok(catalog.clone());
        }
        let catalog: Arc<Catalog> =
            Arc::new(serde_json::from_str(&published.body).map_err(|e| {
                tracing::error!(error = %e, "published catalog does not parse");
                Failure::internal()
            })?);
        if let Ok(mut cache) = self.parsed_catalog.write() {
            *cache = Some(catalog.clone());
        }
        Ok(catalog)
    }

    /// A catalog version no longer current, parsed once while it is among the last few asked
    /// for; `None` when it was never published.
    pub async fn retired_catalog(&self, version: &str) -> Result<Option<Arc<Catalog>>, Failure> {
        if let Ok(cache) = self.retired_catalogs.read()
            && let Some(catalog) = cache.iter().find(|c| c.version == version)
        {
            return Ok(Some(catalog.clone()));
        }
        let Some(body) = self.store.catalog_body(version).await? else {
            return Ok(None);
        };
        let catalog: Arc<Catalog> = Arc::new(serde_json::from_str(&body).map_err(|e| {
            tracing::error!(error = %e, version, "a stored catalog does not parse");
            Failure::internal()
        })?);
        if let Ok(mut cache) = self.retired_catalogs.write() {
            if cache.len() >= RETIRED_CATALOGS_KEPT {
                cache.remove(0);
            }
            cache.push(catalog.clone());
        }
        Ok(Some(catalog))
    }
}
