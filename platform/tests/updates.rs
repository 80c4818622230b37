//! The signed release repository as the platform serves it: files whole and from an offset,
//! names outside the repository refused, enrollment handing out the root, the timestamp kept
//! fresh, the `release` commands, and a terminal's client verifying and downloading through
//! the real routes.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{TestDb, token};
use kiosk_platform::{AppState, router};
use kiosk_protocol::update::ReleaseKind;
use kiosk_release::keys::generate_key;
use kiosk_release::{
    Lifetimes, PublishKeys, PublishedTarget, ReleaseRepository, ReleaseSpec, RoleKeyFiles,
    TrustedRepository,
};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_backends!(enrollment_hands_out_the_repositorys_current_root);

/// A platform serving a release repository with one published release.
struct Bench {
    tmp: tempfile::TempDir,
    keys: RoleKeyFiles,
    repo: ReleaseRepository,
    release: PublishedTarget,
    bytes: Vec<u8>,
    url: String,
    addr: std::net::SocketAddr,
}

fn keys_in(dir: &Path, prefix: &str) -> RoleKeyFiles {
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

fn publish_keys(keys: &RoleKeyFiles) -> PublishKeys {
    PublishKeys {
        targets: keys.targets.clone(),
        snapshot: keys.snapshot.clone(),
        timestamp: keys.timestamp.clone(),
    }
}

impl Bench {
    async fn new(db: &TestDb, lifetimes: Lifetimes, with_repo: bool) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let keys = keys_in(tmp.path(), "");
        let repo = ReleaseRepository::init(tmp.path().join("repo"), &keys, &lifetimes)
            .await
            .unwrap();
        let bytes: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
        let artifact = tmp.path().join("kiosk.bin");
        std::fs::write(&artifact, &bytes).unwrap();
        let release = repo
            .publish(
                &artifact,
                &ReleaseSpec {
                    version: "0.3.0".into(),
                    kind: ReleaseKind::App,
                    arch: "x86_64".into(),
                },
                &publish_keys(&keys),
                &lifetimes,
                false,
            )
            .await
            .unwrap();
        // A file beside the repository that must never be served.
        std::fs::write(tmp.path().join("secret"), b"platform secret").unwrap();
        let mut state = AppState::new(db.store().await, "https://lyg.example");
        if with_repo {
            state = state.with_updates_repo(repo.clone());
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            tmp,
            keys,
            repo,
            release,
            bytes,
            url: format!("http://{addr}"),
            addr,
        }
    }

    fn target_path(&self) -> String {
        format!(
            "/v1/updates/tuf/targets/{}.{}",
            self.release.sha256_hex, self.release.target
        )
    }

    async fn get(&self, path: &str, range: Option<&str>) -> reqwest::Response {
        let mut request = reqwest::Client::new().get(format!("{}{path}", self.url));
        if let Some(range) = range {
            request = request.header(reqwest::header::RANGE, range);
        }
        request.send().await.unwrap()
    }

    /// Sends `path` byte for byte (no client-side normalisation of `..` or `%2e%2e`).
    async fn raw_get(&self, path: &str) -> (u16, String) {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: platform\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, text)
    }

    async fn load(&self, terminal: &str) -> Result<TrustedRepository, kiosk_release::TrustError> {
        TrustedRepository::load(
            &std::fs::read(self.repo.metadata_dir().join("1.root.json")).unwrap(),
            &self.tmp.path().join("terminals").join(terminal),
            &format!("{}/v1/updates/tuf/metadata/", self.url),
            &format!("{}/v1/updates/tuf/targets/", self.url),
            reqwest::Client::new(),
        )
        .await
    }
}

async fn sqlite() -> TestDb {
    TestDb::new(common::Backend::Sqlite).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_files_are_served_whole_and_from_an_offset() {
    let db = sqlite().await;
    let bench = Bench::new(&db, Lifetimes::default(), true).await;

    let answer = bench
        .get("/v1/updates/tuf/metadata/timestamp.json", None)
        .await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], "application/json");
    let on_disk = std::fs::read(bench.repo.metadata_dir().join("timestamp.json")).unwrap();
    assert_eq!(answer.content_length(), Some(on_disk.len() as u64));
    assert_eq!(answer.bytes().await.unwrap(), on_disk);
    for file in [
        "1.root.json",
        "root.json",
        "2.snapshot.json",
        "2.targets.json",
    ] {
        let answer = bench
            .get(&format!("/v1/updates/tuf/metadata/{file}"), None)
            .await;
        assert_eq!(answer.status(), StatusCode::OK, "{file}");
    }

    let whole = bench.get(&bench.target_path(), None).await;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(whole.content_length(), Some(150_000));
    assert_eq!(whole.bytes().await.unwrap(), bench.bytes);

    let rest = bench.get(&bench.target_path(), Some("bytes=100000-")).await;
    assert_eq!(rest.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        rest.headers()["content-range"],
        "bytes 100000-149999/150000"
    );
    assert_eq!(rest.content_length(), Some(50_000));
    assert_eq!(rest.bytes().await.unwrap(), bench.bytes[100_000..]);

    let past = bench.get(&bench.target_path(), Some("bytes=150000-")).await;
    assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(past.headers()["content-range"], "bytes */150000");
    // A form this server does not do (a closed range) gets the whole file, as HTTP allows.
    let closed = bench.get(&bench.target_path(), Some("bytes=0-99")).await;
    assert_eq!(closed.status(), StatusCode::OK);
    assert_eq!(closed.bytes().await.unwrap().len(), 150_000);

    // A well-formed name that is not there.
    let missing = bench
        .get(
            &format!(
                "/v1/updates/tuf/targets/{}.kiosk-9.9.9-x86_64",
                "0".repeat(64)
            ),
            None,
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
    let missing = bench
        .get("/v1/updates/tuf/metadata/99.targets.json", None)
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_outside_the_repository_are_refused() {
    let db = sqlite().await;
    let bench = Bench::new(&db, Lifetimes::default(), true).await;
    for path in [
        "/v1/updates/tuf/metadata/..",
        "/v1/updates/tuf/metadata/%2e%2e",
        "/v1/updates/tuf/metadata/%2E%2E%2Fsecret",
        "/v1/updates/tuf/metadata/..%2f..%2fsecret",
        "/v1/updates/tuf/metadata/../../secret",
        "/v1/updates/tuf/metadata/%2fetc%2fpasswd",
        "/v1/updates/tuf/metadata/.lock",
        "/v1/updates/tuf/metadata/timestamp.json%00",
        "/v1/updates/tuf/metadata/1.root.json/",
        "/v1/updates/tuf/targets/..%2fmetadata%2ftimestamp.json",
        "/v1/updates/tuf/targets/.lock",
        "/v1/updates/tuf/targets/%2e%2e%2f%2e%2e%2fsecret",
        "/v1/updates/tuf/targets/a/b",
        "/v1/updates/tuf/targets/kiosk-0.3.0-x86_64",
    ] {
        let (status, text) = bench.raw_get(path).await;
        assert!(matches!(status, 400 | 404), "{path}: {status}\n{text}");
        assert!(!text.contains("platform secret"), "{path} leaked a file");
        assert!(!text.contains("\"signed\""), "{path} served metadata");
        assert!(
            text.contains("\"code\""),
            "{path}: an ApiError body\n{text}"
        );
    }
    let (status, text) = bench.raw_get("/v1/updates/tuf/metadata/%2e%2e").await;
    assert_eq!(status, 400);
    assert!(text.contains("invalid_file_name"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_repository_the_routes_answer_404() {
    let db = sqlite().await;
    let bench = Bench::new(&db, Lifetimes::default(), false).await;
    for path in [
        "/v1/updates/tuf/metadata/timestamp.json".to_owned(),
        bench.target_path(),
    ] {
        let answer = bench.get(&path, None).await;
        assert_eq!(answer.status(), StatusCode::NOT_FOUND);
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["code"], "updates_not_configured");
    }
    let store = kiosk_platform::Store::open(&db.url).await.unwrap();
    let token = token(&store, None).await;
    let answer = enroll(&bench.url, &token, "LYB-TEST-0001").await;
    assert!(answer.get("update_root").is_none(), "{answer}");

    // Documented either way.
    let doc: Value = bench.get("/openapi.json", None).await.json().await.unwrap();
    for path in [
        "/v1/updates/tuf/metadata/{file}",
        "/v1/updates/tuf/targets/{file}",
    ] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} missing");
    }
}

async fn enroll(url: &str, token: &str, serial: &str) -> Value {
    let key = common::new_key();
    let response = reqwest::Client::new()
        .post(format!("{url}/v1/enroll"))
        .json(&serde_json::json!({
            "token": token,
            "hardware_serial": serial,
            "public_key": kiosk_protocol::auth::public_key_hex(&key.verifying_key()),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn enrollment_hands_out_the_repositorys_current_root(db: TestDb) {
    let bench = Bench::new(&db, Lifetimes::default(), true).await;
    let store = kiosk_platform::Store::open(&db.url).await.unwrap();
    let answer = enroll(&bench.url, &token(&store, None).await, "LYB-TEST-0001").await;
    let root = answer["update_root"].as_str().expect("update_root");
    assert_eq!(root.as_bytes(), bench.repo.root_json().unwrap());
    // The anchor it hands out is one a terminal can start from.
    let repo = TrustedRepository::load(
        root.as_bytes(),
        &bench.tmp.path().join("terminal"),
        &format!("{}/v1/updates/tuf/metadata/", bench.url),
        &format!("{}/v1/updates/tuf/targets/", bench.url),
        reqwest::Client::new(),
    )
    .await
    .unwrap();
    assert!(repo.release("0.3.0", ReleaseKind::App, "x86_64").is_some());

    // After a key rotation, new terminals get the new root.
    let fresh = keys_in(bench.tmp.path(), "new-");
    let rotated = RoleKeyFiles {
        root: fresh.root.clone(),
        ..bench.keys.clone()
    };
    bench
        .repo
        .rotate_root(&bench.keys.root, &rotated, &Lifetimes::default())
        .await
        .unwrap();
    let answer = enroll(&bench.url, &token(&store, None).await, "LYB-TEST-0002").await;
    let root: Value = serde_json::from_str(answer["update_root"].as_str().unwrap()).unwrap();
    assert_eq!(root["signed"]["version"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_verifies_and_resumes_through_the_platform_and_the_timestamp_stays_fresh() {
    let db = sqlite().await;
    let lifetimes = Lifetimes {
        timestamp: Duration::from_secs(4),
        ..Lifetimes::default()
    };
    let bench = Bench::new(&db, lifetimes, true).await;
    let repo = bench.load("t1").await.unwrap();
    let release = repo.release("0.3.0", ReleaseKind::App, "x86_64").unwrap();
    let partial = bench.tmp.path().join("kiosk.part");
    std::fs::write(&partial, &bench.bytes[..60_000]).unwrap();
    let mut first = None;
    repo.download(&release, &partial, |done, _| {
        first.get_or_insert(done);
    })
    .await
    .unwrap();
    assert_eq!(
        first,
        Some(60_000),
        "resumed through the platform's Range support"
    );
    assert_eq!(std::fs::read(&partial).unwrap(), bench.bytes);

    // The server's refresher keeps re-signing the 4 s timestamp: well past its first expiry,
    // terminals still accept the repository.
    let refresher = kiosk_platform::api::updates_repo::spawn_timestamp_refresher(
        bench.repo.clone(),
        bench.keys.timestamp.clone(),
        Duration::from_secs(4),
    );
    tokio::time::sleep(Duration::from_secs(6)).await;
    bench.load("t1").await.unwrap();
    refresher.abort();
    let version: Value = serde_json::from_slice(
        &std::fs::read(bench.repo.metadata_dir().join("timestamp.json")).unwrap(),
    )
    .unwrap();
    assert!(version["signed"]["version"].as_u64().unwrap() >= 4);
}

fn platform_cli(args: &[&str]) -> std::process::Output {
    kiosk_testkit::run("kiosk-platform", args, &[("RUST_LOG", "error")]).unwrap()
}

fn text(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

#[test]
fn the_release_commands_make_keys_a_repository_and_releases() {
    let tmp = tempfile::tempdir().unwrap();
    let keys: PathBuf = tmp.path().join("keys");
    let repo = tmp.path().join("repo");
    let out = platform_cli(&["release", "keygen", "--out", &text(&keys)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("offline"), "{printed}");
    let again = platform_cli(&["release", "keygen", "--out", &text(&keys)]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwritten"));

    let key = |role: &str| text(&keys.join(format!("{role}.pem")));
    let out = platform_cli(&[
        "release",
        "init",
        "--repo",
        &text(&repo),
        "--root-key",
        &key("root"),
        "--targets-key",
        &key("targets"),
        "--snapshot-key",
        &key("snapshot"),
        "--timestamp-key",
        &key("timestamp"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let artifact = tmp.path().join("os.raucb");
    std::fs::write(&artifact, b"a system image").unwrap();
    let publish = |version: &str| {
        platform_cli(&[
            "release",
            "publish",
            "--repo",
            &text(&repo),
            "--artifact",
            &text(&artifact),
            "--version",
            version,
            "--kind",
            "os",
            "--arch",
            "aarch64",
            "--targets-key",
            &key("targets"),
            "--snapshot-key",
            &key("snapshot"),
            "--timestamp-key",
            &key("timestamp"),
        ])
    };
    let out = publish("2026.11.1");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let published: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(published["target"], "os-2026.11.1-aarch64.raucb");
    assert_eq!(published["kind"], "os");
    assert_eq!(published["length"], 14);

    let bad = publish("latest");
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a release version"));
    let older = publish("2026.10.1");
    assert_eq!(older.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&older.stderr).contains("older than 2026.11.1"));

    // Rotation with the wrong current root key fails; with the right one it writes root 2.
    let new_keys = tmp.path().join("new-keys");
    assert!(
        platform_cli(&["release", "keygen", "--out", &text(&new_keys)])
            .status
            .success()
    );
    let rotate = |old_root: &str| {
        platform_cli(&[
            "release",
            "rotate-root",
            "--repo",
            &text(&repo),
            "--old-root-key",
            old_root,
            "--root-key",
            &text(&new_keys.join("root.pem")),
            "--targets-key",
            &key("targets"),
            "--snapshot-key",
            &key("snapshot"),
            "--timestamp-key",
            &key("timestamp"),
        ])
    };
    let wrong = rotate(&key("targets"));
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("root key"));
    let out = rotate(&key("root"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(repo.join("metadata/2.root.json").exists());

    let out = platform_cli(&[
        "release",
        "refresh-timestamp",
        "--repo",
        &text(&repo),
        "--timestamp-key",
        &key("timestamp"),
        "--timestamp-lifetime",
        "2h",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = platform_cli(&[
        "release",
        "renew",
        "--repo",
        &text(&repo),
        "--targets-key",
        &key("targets"),
        "--snapshot-key",
        &key("snapshot"),
        "--timestamp-key",
        &key("timestamp"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // key-id names the key as keygen did, and root metadata lists it.
    let out = platform_cli(&["release", "key-id", &key("timestamp")]);
    assert!(out.status.success());
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(id.len(), 64);
    let root = std::fs::read_to_string(repo.join("metadata/root.json")).unwrap();
    assert!(root.contains(&id));
    let out = platform_cli(&["release", "key-id", &text(&artifact)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an Ed25519 private key"));
}
