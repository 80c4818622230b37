//! Test support: a fresh database on either backend, and a platform serving it over real HTTP.
//!
//! SQLite tests get a file in a temporary folder. PostgreSQL tests get a schema of their own in
//! the database named by `KIOSK_TEST_POSTGRES_URL` (set by `scripts/test-postgres`, which
//! `make test` runs); without it they skip with a reason, except under `CI=true`, where a
//! missing PostgreSQL is a failure.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use kiosk_platform::api::{AppState, router};
use kiosk_platform::{DbUrl, Store, seed};

/// The environment variable naming the PostgreSQL database tests may use.
pub const POSTGRES_ENV: &str = "KIOSK_TEST_POSTGRES_URL";

/// Which engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database for one test.
pub struct TestDb {
    pub url: DbUrl,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A new database, or `None` when PostgreSQL is not configured outside CI.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                Some(TestDb {
                    url: DbUrl::Sqlite(dir.path().join("platform.db")),
                    backend,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let base = match std::env::var(POSTGRES_ENV) {
                    Ok(url) if !url.trim().is_empty() => url,
                    _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
                        "{POSTGRES_ENV} is not set: CI must run the PostgreSQL backend tests \
                         (scripts/test-postgres starts a server and sets it; `make test` runs it)"
                    ),
                    _ => {
                        eprintln!(
                            "skipped on PostgreSQL: {POSTGRES_ENV} is not set \
                             (run `make test`, or scripts/test-postgres -- cargo test)"
                        );
                        return None;
                    }
                };
                let schema = fresh_schema(&base).await;
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                Some(TestDb {
                    url: url.parse().expect("test PostgreSQL URL"),
                    backend,
                    _dir: None,
                })
            }
        }
    }

    /// Opens the database (migrating it) with the seed catalog published.
    pub async fn store(&self) -> Store {
        let store = Store::open(&self.url).await.expect("store opens");
        store
            .publish_catalog(&seed::seed_catalog().expect("seed"))
            .await
            .expect("publish");
        store
    }
}

/// Creates a schema no other test uses and returns its name.
async fn fresh_schema(url: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let schema = format!(
        "t_{}_{}_{}",
        std::process::id(),
        nanos,
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {POSTGRES_ENV}: {e}"));
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("create schema");
    schema
}

/// A platform serving `store` on a free loopback port.
pub struct Platform {
    pub url: String,
    pub store: Store,
}

/// Serves `store` over real HTTP.
pub async fn serve(store: Store) -> Platform {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = router(AppState::new(store.clone(), "https://lyg.example"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Platform {
        url: format!("http://{addr}"),
        store,
    }
}

/// Declares each listed `async fn(TestDb)` as one test per backend, in modules `sqlite` and
/// `postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::common::TestDb::new($crate::common::Backend::Sqlite).await {
                        super::$name(db).await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::common::TestDb::new($crate::common::Backend::Postgres).await {
                        super::$name(db).await;
                    }
                }
            )*
        }
    };
}
