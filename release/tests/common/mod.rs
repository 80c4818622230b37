//! A repository on disk with its keys, served over real HTTP the way the platform serves it
//! (`/metadata/{file}`, `/targets/{file}`, `Range: bytes=N-`), with switches for the ways a
//! server or a network misbehaves.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kiosk_protocol::update::ReleaseKind;
use kiosk_release::keys::generate_key;
use kiosk_release::{
    Lifetimes, PublishKeys, PublishedTarget, ReleaseRepository, ReleaseSpec, RoleKeyFiles,
    TrustError, TrustedRepository,
};

/// How the test server misbehaves.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// Answer every target request with the whole file (200), ignoring `Range`.
    pub ignore_range: bool,
    /// Drop the connection after this many body bytes of a target.
    pub cut_after: Option<usize>,
}

#[derive(Clone)]
struct Served {
    dir: Arc<Mutex<PathBuf>>,
    faults: Arc<Mutex<Faults>>,
    ranges: Arc<Mutex<Vec<String>>>,
}

/// A real HTTP server over a repository directory.
pub struct Server {
    pub base: String,
    served: Served,
}

impl Server {
    pub async fn start(dir: &Path) -> Self {
        let served = Served {
            dir: Arc::new(Mutex::new(dir.to_path_buf())),
            faults: Arc::default(),
            ranges: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/metadata/{file}", axum::routing::get(metadata))
            .route("/targets/{file}", axum::routing::get(target))
            .with_state(served.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, served }
    }

    /// Serves another directory from now on (an attacker's or an old copy).
    pub fn serve_dir(&self, dir: &Path) {
        *self.served.dir.lock().unwrap() = dir.to_path_buf();
    }

    pub fn set_faults(&self, faults: Faults) {
        *self.served.faults.lock().unwrap() = faults;
    }

    /// The `Range` headers target requests carried, in order.
    pub fn ranges(&self) -> Vec<String> {
        self.served.ranges.lock().unwrap().clone()
    }

    pub fn metadata_url(&self) -> String {
        format!("{}/metadata/", self.base)
    }

    pub fn targets_url(&self) -> String {
        format!("{}/targets/", self.base)
    }
}

async fn metadata(State(served): State<Served>, UrlPath(file): UrlPath<String>) -> Response {
    let path = served.dir.lock().unwrap().join("metadata").join(file);
    match std::fs::read(path) {
        Ok(bytes) => bytes.into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn target(
    State(served): State<Served>,
    UrlPath(file): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let path = served.dir.lock().unwrap().join("targets").join(file);
    let Ok(bytes) = std::fs::read(path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let faults = served.faults.lock().unwrap().clone();
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(range) = &range {
        served.ranges.lock().unwrap().push(range.clone());
    }
    let start = match range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
    {
        Some(n) if !faults.ignore_range => match n.parse::<usize>() {
            Ok(n) if n < bytes.len() => Some(n),
            _ => return StatusCode::RANGE_NOT_SATISFIABLE.into_response(),
        },
        _ => None,
    };
    let from = start.unwrap_or(0);
    let body = bytes[from..].to_vec();
    let length = body.len();
    let body = match faults.cut_after {
        Some(cut) if cut < length => {
            // Send the first bytes, let them reach the terminal, then break the connection.
            let first = axum::body::Bytes::copy_from_slice(&body[..cut]);
            let (sender, receiver) = tokio::sync::mpsc::channel(2);
            tokio::spawn(async move {
                let _ = sender.send(Ok(first)).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
                let _ = sender
                    .send(Err(std::io::Error::other("the cable was pulled")))
                    .await;
            });
            Body::from_stream(Chunks(receiver))
        }
        _ => Body::from(body),
    };
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, length.into());
    if let Some(start) = start {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        response.headers_mut().insert(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{}", bytes.len() - 1, bytes.len())
                .parse()
                .unwrap(),
        );
    }
    response
}

/// The body of a connection that breaks off: what a task hands over.
struct Chunks(tokio::sync::mpsc::Receiver<Result<axum::body::Bytes, std::io::Error>>);

impl futures_core::Stream for Chunks {
    type Item = Result<axum::body::Bytes, std::io::Error>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// A repository with its four keys in a temporary directory, served over HTTP.
pub struct Bench {
    pub tmp: tempfile::TempDir,
    pub keys: RoleKeyFiles,
    pub repo: ReleaseRepository,
    pub server: Server,
}

pub fn publish_keys(keys: &RoleKeyFiles) -> PublishKeys {
    PublishKeys {
        targets: keys.targets.clone(),
        snapshot: keys.snapshot.clone(),
        timestamp: keys.timestamp.clone(),
    }
}

/// Four fresh keys in `dir` named `<prefix>root.pem`, ….
pub fn make_keys(dir: &Path, prefix: &str) -> RoleKeyFiles {
    let key = |role: &str| {
        let path = dir.join(format!("{prefix}{role}.pem"));
        generate_key(&path).unwrap();
        path
    };
    RoleKeyFiles {
        root: key("root"),
        targets: key("targets"),
        snapshot: key("snapshot"),
        timestamp: key("timestamp"),
    }
}

impl Bench {
    pub async fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("keys")).unwrap();
        let keys = make_keys(&tmp.path().join("keys"), "");
        let repo = ReleaseRepository::init(tmp.path().join("repo"), &keys, &Lifetimes::default())
            .await
            .unwrap();
        let server = Server::start(repo.dir()).await;
        Self {
            tmp,
            keys,
            repo,
            server,
        }
    }

    /// Writes an artifact with `bytes` and publishes it.
    pub async fn publish(
        &self,
        version: &str,
        kind: ReleaseKind,
        bytes: &[u8],
        lifetimes: &Lifetimes,
    ) -> PublishedTarget {
        let artifact = self.artifact(version, bytes);
        self.repo
            .publish(
                &artifact,
                &spec(version, kind),
                &publish_keys(&self.keys),
                lifetimes,
                false,
            )
            .await
            .unwrap()
    }

    pub fn artifact(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.tmp.path().join(format!("artifact-{name}"));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// The root a terminal received at enrollment (version 1).
    pub fn anchor(&self) -> Vec<u8> {
        std::fs::read(self.repo.metadata_dir().join("1.root.json")).unwrap()
    }

    /// A terminal's metadata store, by name (the same name is the same terminal).
    pub fn datastore(&self, terminal: &str) -> PathBuf {
        self.tmp.path().join("terminals").join(terminal)
    }

    /// Loads the repository as terminal `terminal` holding `anchor`.
    pub async fn load_with(
        &self,
        anchor: &[u8],
        terminal: &str,
    ) -> Result<TrustedRepository, TrustError> {
        TrustedRepository::load(
            anchor,
            &self.datastore(terminal),
            &self.server.metadata_url(),
            &self.server.targets_url(),
            http(),
        )
        .await
    }

    pub async fn load(&self, terminal: &str) -> Result<TrustedRepository, TrustError> {
        self.load_with(&self.anchor(), terminal).await
    }

    /// Copies the repository directory as it is now (what an attacker might replay later).
    pub fn copy_repo(&self, name: &str) -> PathBuf {
        let to = self.tmp.path().join(name);
        copy_dir(self.repo.dir(), &to);
        to
    }
}

pub fn spec(version: &str, kind: ReleaseKind) -> ReleaseSpec {
    ReleaseSpec {
        version: version.into(),
        kind,
        arch: "x86_64".into(),
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Deterministic release bytes of `len`.
pub fn release_bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Lifetimes with a timestamp that expires after `secs`.
pub fn short_timestamp(secs: u64) -> Lifetimes {
    Lifetimes {
        timestamp: Duration::from_secs(secs),
        ..Lifetimes::default()
    }
}
