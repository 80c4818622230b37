//! Test support: a fresh database on either backend, and a platform serving it over real HTTP.
//!
//! SQLite tests get a file in a temporary folder. PostgreSQL tests get a schema of their own in
//! the database named by `KIOSK_TEST_POSTGRES_URL` (set by `scripts/test-postgres`, which
//! `make test` runs); without it they skip with a reason, except under `CI=true`, where a
//! missing PostgreSQL is a failure.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use kiosk_platform::{AppState, router};
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
    /// The platform's key file for this database (`keys init`), in a folder of its own.
    pub key_file: std::path::PathBuf,
    _dir: Option<tempfile::TempDir>,
    _keys: tempfile::TempDir,
}

/// A fresh key file in a folder of its own.
fn fresh_key_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("key dir");
    let path = dir.path().join("platform.keys");
    kiosk_platform::keys::KeyFile::create(&path, None).expect("key file");
    (dir, path)
}

impl TestDb {
    /// A new database, or `None` when PostgreSQL is not configured outside CI.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let (keys, key_file) = fresh_key_file();
                Some(TestDb {
                    url: DbUrl::Sqlite(dir.path().join("platform.db")),
                    backend,
                    key_file,
                    _dir: Some(dir),
                    _keys: keys,
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
                let (keys, key_file) = fresh_key_file();
                Some(TestDb {
                    url: url.parse().expect("test PostgreSQL URL"),
                    backend,
                    key_file,
                    _dir: None,
                    _keys: keys,
                })
            }
        }
    }

    /// Opens the database (migrating it) with the seed catalog published.
    pub async fn store(&self) -> Store {
        let store = self.instance().await;
        store
            .publish_catalog(&seed::seed_catalog().expect("seed"))
            .await
            .expect("publish");
        store
    }
}

impl TestDb {
    /// One more platform instance on this database (migrating it when new), with its key file.
    pub async fn instance(&self) -> Store {
        let store = Store::open(&self.url).await.expect("store opens");
        let keys = kiosk_platform::keys::KeyFile::load(&self.key_file).expect("keys");
        store.use_keys(keys.into_keys()).await.expect("keys fit");
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
    serve_with(store, |state| state).await
}

/// Serves `store` over real HTTP with the state `configure` makes of the default one.
pub async fn serve_with(store: Store, configure: impl FnOnce(AppState) -> AppState) -> Platform {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = router(configure(AppState::new(
        store.clone(),
        "https://lyg.example",
    )));
    tokio::spawn(async move {
        kiosk_platform::http::limits::serve(
            listener,
            app,
            Default::default(),
            std::future::pending(),
        )
        .await
    });
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

/// A fresh Ed25519 key, as a terminal makes at first boot.
pub fn new_key() -> ed25519_dalek::SigningKey {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("randomness");
    ed25519_dalek::SigningKey::from_bytes(&seed)
}

/// A fresh nonce.
pub fn nonce() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("randomness");
    kiosk_protocol::auth::hex_encode(&bytes)
}

/// Now as Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// A one-time enrollment token for `site`, valid for an hour.
pub async fn token(store: &Store, site: Option<&str>) -> String {
    let token = kiosk_platform::store::random_hex(24).expect("token");
    store
        .create_enrollment_token(&token, site, now() + 3600)
        .await
        .expect("token stored");
    token
}

/// A one-time token that re-keys terminal `terminal_id`, valid for an hour.
pub async fn rekey_token(store: &Store, terminal_id: &str) -> String {
    let token = kiosk_platform::store::random_hex(24).expect("token");
    store
        .create_rekey_token(&token, terminal_id, now() + 3600)
        .await
        .expect("token stored");
    token
}

/// An enrolled terminal that signs its requests like a real one.
#[derive(Clone)]
pub struct TestTerminal {
    pub id: String,
    pub key: ed25519_dalek::SigningKey,
    pub base: String,
    pub http: reqwest::Client,
    /// The platform's sealing key enrollment gave (application bodies go sealed, as the kiosk
    /// sends them).
    pub sealing_key: String,
}

impl TestTerminal {
    /// Enrolls a new terminal with serial `serial` at `site`.
    pub async fn enroll(p: &Platform, serial: &str, site: Option<&str>) -> TestTerminal {
        let token = token(&p.store, site).await;
        match TestTerminal::try_enroll(p, serial, &token).await {
            Ok(terminal) => terminal,
            Err((status, body)) => panic!("enrollment refused: {status} {body}"),
        }
    }

    /// Enrolls device `serial` with a fresh key and `token`; the refusal's status and body.
    pub async fn try_enroll(
        p: &Platform,
        serial: &str,
        token: &str,
    ) -> Result<TestTerminal, (reqwest::StatusCode, serde_json::Value)> {
        let key = new_key();
        let http = reqwest::Client::new();
        let response = http
            .post(format!("{}/v1/enroll", p.url))
            .json(&serde_json::json!({
                "token": token,
                "hardware_serial": serial,
                "public_key": kiosk_protocol::auth::public_key_hex(&key.verifying_key()),
            }))
            .send()
            .await
            .expect("answer");
        let (status, body) = answer(response).await;
        if status != reqwest::StatusCode::CREATED {
            return Err((status, body));
        }
        let answer: kiosk_protocol::EnrollResponse =
            serde_json::from_value(body).expect("enrolled");
        Ok(TestTerminal {
            id: answer.terminal_id,
            key,
            base: p.url.clone(),
            http,
            sealing_key: answer.sealing_key.expect("sealing key"),
        })
    }

    /// The same terminal talking to another platform instance.
    pub fn via(&self, p: &Platform) -> TestTerminal {
        TestTerminal {
            base: p.url.clone(),
            ..self.clone()
        }
    }

    /// A request to `path` signed now with a fresh nonce.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> reqwest::RequestBuilder {
        self.request_at(method, path, body, now(), &nonce())
    }

    /// A request signed with the given time and nonce.
    pub fn request_at(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
        timestamp: i64,
        nonce: &str,
    ) -> reqwest::RequestBuilder {
        let mut bytes = body
            .map(|b| serde_json::to_vec(b).expect("json"))
            .unwrap_or_default();
        let sealed =
            body.is_some() && method == reqwest::Method::POST && path == "/v1/applications";
        if sealed {
            let platform =
                kiosk_protocol::sealing::parse_sealing_key(&self.sealing_key).expect("sealing key");
            bytes = kiosk_protocol::sealing::seal(&platform, &bytes).expect("sealed");
        }
        let signed = kiosk_protocol::sign_request(
            &self.key,
            &self.id,
            method.as_str(),
            path,
            timestamp,
            nonce,
            &bytes,
        );
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        for (name, value) in signed.pairs() {
            request = request.header(name, value);
        }
        if body.is_some() {
            let content_type = if sealed {
                kiosk_protocol::sealing::SEALED_APPLICATION_CONTENT_TYPE
            } else {
                "application/json"
            };
            request = request.header("content-type", content_type).body(bytes);
        }
        request
    }

    /// Sends a signed request; returns the status and the JSON body (null when none).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        answer(
            self.request(method, path, body)
                .send()
                .await
                .expect("answer"),
        )
        .await
    }
}

/// Status and JSON body (null when empty) of an answer.
pub async fn answer(response: reqwest::Response) -> (reqwest::StatusCode, serde_json::Value) {
    let status = response.status();
    let bytes = response.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("JSON body")
    };
    (status, body)
}

/// Files an application for matter `lyg-health-0701` from terminal `t` for the card holder
/// `name` / `id_number` under idempotency key `key`; its application number.
pub async fn file_application(t: &TestTerminal, key: &str, name: &str, id_number: &str) -> String {
    file_application_for(t, key, "lyg-health-0701", (name, id_number)).await
}

/// Files an application for `matter` from terminal `t` for the card holder `(name,
/// id_number)` under idempotency key `key`; its application number.
pub async fn file_application_for(
    t: &TestTerminal,
    key: &str,
    matter: &str,
    (name, id_number): (&str, &str),
) -> String {
    let body = serde_json::json!({
        "terminal_id": t.id,
        "matter_id": matter,
        "applicant": {"name": name, "id_number": id_number, "document_kind": "resident"},
        "language": "zh"
    });
    let response = t
        .request(reqwest::Method::POST, "/v1/applications", Some(&body))
        .header("Idempotency-Key", key)
        .send()
        .await
        .expect("answer");
    let (status, receipt) = answer(response).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{receipt}");
    receipt["application_no"]
        .as_str()
        .expect("number")
        .to_owned()
}

/// Runs `kiosk-platform ARGS… --db DB` as an operator would: success, stdout, stderr.
pub fn platform_cli(db: &str, args: &[&str]) -> (bool, String, String) {
    platform_cli_with(db, args, &[])
}

/// [`platform_cli`] with more options after `--db DB` (`--keys PATH`).
pub fn platform_cli_with(db: &str, args: &[&str], more: &[&str]) -> (bool, String, String) {
    let args = [args, &["--db", db], more].concat();
    let out = kiosk_testkit::run("kiosk-platform", &args, &[("RUST_LOG", "warn")]).expect("runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
