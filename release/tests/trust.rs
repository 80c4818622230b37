//! What a terminal accepts and refuses: real repositories on disk, served over real HTTP.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Bench, Faults, copy_dir, make_keys, publish_keys, release_bytes, short_timestamp};
use kiosk_protocol::update::ReleaseKind;
use kiosk_release::{Lifetimes, ReleaseTarget, RoleKeyFiles, TrustError};

fn code(result: Result<impl std::fmt::Debug, TrustError>) -> &'static str {
    result.expect_err("refused").code()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_release_verifies_and_downloads() {
    let bench = Bench::new().await;
    let app = release_bytes(1, 300_000);
    let os = release_bytes(2, 70_000);
    let published = bench
        .publish("0.2.0", ReleaseKind::App, &app, &Lifetimes::default())
        .await;
    assert_eq!(published.target, "kiosk-0.2.0-x86_64");
    assert_eq!(published.length, 300_000);
    bench
        .publish(
            "0.10.0",
            ReleaseKind::App,
            &release_bytes(3, 10),
            &Lifetimes::default(),
        )
        .await;
    bench
        .publish("2026.11.1", ReleaseKind::Os, &os, &Lifetimes::default())
        .await;

    let repo = bench.load("t1").await.unwrap();
    assert_eq!(
        repo.newest(ReleaseKind::App, "x86_64").unwrap().version,
        "0.10.0",
        "versions compare numerically"
    );
    assert_eq!(repo.newest(ReleaseKind::App, "aarch64"), None);
    assert_eq!(repo.release("0.3.0", ReleaseKind::App, "x86_64"), None);
    let release = repo.release("0.2.0", ReleaseKind::App, "x86_64").unwrap();
    assert_eq!(release.sha256_hex(), published.sha256_hex);
    assert_eq!(release.length, 300_000);

    let partial = bench.tmp.path().join("app.part");
    let mut seen = Vec::new();
    repo.download(&release, &partial, |done, total| seen.push((done, total)))
        .await
        .unwrap();
    assert_eq!(std::fs::read(&partial).unwrap(), app);
    assert_eq!(seen.first(), Some(&(0, 300_000)));
    assert_eq!(seen.last(), Some(&(300_000, 300_000)));

    let image = repo
        .release("2026.11.1", ReleaseKind::Os, "x86_64")
        .unwrap();
    assert_eq!(image.name, "os-2026.11.1-x86_64.raucb");
    let image_path = bench.tmp.path().join("os.part");
    repo.download(&image, &image_path, |_, _| {}).await.unwrap();
    assert_eq!(std::fs::read(&image_path).unwrap(), os);

    // A release the metadata does not sign is not fetched, whatever the caller claims.
    let made_up = ReleaseTarget {
        version: "9.9.9".into(),
        ..release.clone()
    };
    let result = repo
        .download(&made_up, &bench.tmp.path().join("x.part"), |_, _| {})
        .await;
    assert_eq!(code(result), "unknown_release");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_resumes_after_an_interruption_and_still_verifies() {
    let bench = Bench::new().await;
    let bytes = release_bytes(7, 200_000);
    bench
        .publish("1.0.0", ReleaseKind::App, &bytes, &Lifetimes::default())
        .await;
    let repo = bench.load("t1").await.unwrap();
    let release = repo.release("1.0.0", ReleaseKind::App, "x86_64").unwrap();
    let partial = bench.tmp.path().join("kiosk.part");

    // The connection breaks after 80 000 bytes: the error says so, the bytes stay.
    bench.server.set_faults(Faults {
        cut_after: Some(80_000),
        ..Faults::default()
    });
    let result = repo.download(&release, &partial, |_, _| {}).await;
    assert_eq!(code(result), "transport");
    let kept = std::fs::metadata(&partial).unwrap().len();
    assert!(kept > 0 && kept <= 80_000, "kept {kept} bytes");
    assert_eq!(std::fs::read(&partial).unwrap(), bytes[..kept as usize]);

    // The next attempt asks for the rest only and ends with the right file.
    bench.server.set_faults(Faults::default());
    let mut first = None;
    repo.download(&release, &partial, |done, _| {
        first.get_or_insert(done);
    })
    .await
    .unwrap();
    assert_eq!(
        first,
        Some(kept),
        "progress starts where the last attempt stopped"
    );
    assert_eq!(bench.server.ranges(), vec![format!("bytes={kept}-")]);
    assert_eq!(std::fs::read(&partial).unwrap(), bytes);

    // A partial file of half the bytes, served by a server that ignores Range: restarts at 0.
    std::fs::write(&partial, &bytes[..100_000]).unwrap();
    bench.server.set_faults(Faults {
        ignore_range: true,
        ..Faults::default()
    });
    repo.download(&release, &partial, |_, _| {}).await.unwrap();
    assert_eq!(std::fs::read(&partial).unwrap(), bytes);

    // A complete file is only checked, not fetched again.
    let requests = bench.server.ranges().len();
    repo.download(&release, &partial, |_, _| {}).await.unwrap();
    assert_eq!(bench.server.ranges().len(), requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapped_release_bytes_are_refused_and_the_partial_file_deleted() {
    let bench = Bench::new().await;
    let bytes = release_bytes(3, 50_000);
    let published = bench
        .publish("1.0.0", ReleaseKind::App, &bytes, &Lifetimes::default())
        .await;
    let repo = bench.load("t1").await.unwrap();
    let release = repo.release("1.0.0", ReleaseKind::App, "x86_64").unwrap();
    let on_server = bench
        .repo
        .targets_dir()
        .join(format!("{}.{}", published.sha256_hex, published.target));
    let partial = bench.tmp.path().join("kiosk.part");

    // Same length, other bytes (a trojaned build): the hash gives it away.
    std::fs::write(&on_server, release_bytes(4, 50_000)).unwrap();
    let result = repo.download(&release, &partial, |_, _| {}).await;
    assert_eq!(code(result), "hash_mismatch");
    assert!(!partial.exists(), "the refused file is deleted");

    // More bytes than signed: refused as soon as they exceed the signed length.
    std::fs::write(&on_server, release_bytes(3, 60_000)).unwrap();
    let result = repo.download(&release, &partial, |_, _| {}).await;
    assert_eq!(code(result), "length_mismatch");
    assert!(!partial.exists());

    // The right bytes again: accepted.
    std::fs::write(&on_server, &bytes).unwrap();
    repo.download(&release, &partial, |_, _| {}).await.unwrap();
    assert_eq!(std::fs::read(&partial).unwrap(), bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_metadata_not_signed_by_the_targets_key_is_refused() {
    let bench = Bench::new().await;
    bench
        .publish(
            "1.0.0",
            ReleaseKind::App,
            b"good build",
            &Lifetimes::default(),
        )
        .await;
    bench.load("t1").await.unwrap();

    // Someone holding the online keys (a compromised platform) lists a release of their own:
    // they can sign snapshot and timestamp, but targets only with a key root does not trust.
    let forged = bench.copy_repo("forged");
    forge_targets(&bench.keys, &forged).await;
    bench.server.serve_dir(&forged);
    let result = bench.load("t2").await;
    assert_eq!(code(result), "bad_signature");
    let result = bench.load("t1").await;
    assert_eq!(code(result), "bad_signature");

    // Editing a byte of the real targets metadata breaks the hash the snapshot signs.
    let tampered = bench.copy_repo("tampered");
    let targets = tampered.join("metadata/2.targets.json");
    let text = std::fs::read_to_string(&targets).unwrap();
    std::fs::write(&targets, text.replacen("x86_64", "x86_65", 1)).unwrap();
    bench.server.serve_dir(&tampered);
    let result = bench.load("t3").await;
    assert_eq!(code(result), "bad_signature");

    // A timestamp whose signature was altered.
    let resigned = bench.copy_repo("resigned");
    let timestamp = resigned.join("metadata/timestamp.json");
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&timestamp).unwrap()).unwrap();
    let sig = value["signatures"][0]["sig"].as_str().unwrap().to_owned();
    let flipped = if sig.starts_with('0') { "1" } else { "0" };
    value["signatures"][0]["sig"] = format!("{flipped}{}", &sig[1..]).into();
    std::fs::write(&timestamp, serde_json::to_vec(&value).unwrap()).unwrap();
    bench.server.serve_dir(&resigned);
    let result = bench.load("t4").await;
    assert_eq!(code(result), "bad_signature");
}

/// Rewrites `dir`'s newest targets metadata with an extra release, signed by the snapshot key
/// (which root does not list for targets), and re-signs snapshot and timestamp properly.
async fn forge_targets(keys: &RoleKeyFiles, dir: &std::path::Path) {
    use tough::editor::signed::SignedRole;
    use tough::key_source::KeySource;
    use tough::schema::{KeyHolder, Metafile, Root, Signed, Snapshot, Targets, Timestamp};

    let read = |name: &str| std::fs::read(dir.join("metadata").join(name)).unwrap();
    let root: Signed<Root> = serde_json::from_slice(&read("1.root.json")).unwrap();
    let mut targets: Signed<Targets> = serde_json::from_slice(&read("2.targets.json")).unwrap();
    let evil = b"evil build".to_vec();
    let digest: [u8; 32] = {
        use sha2::Digest;
        sha2::Sha256::digest(&evil).into()
    };
    targets.signed.version = targets.signed.version.saturating_add(1);
    targets.signed.add_target(
        "kiosk-6.6.6-x86_64".try_into().unwrap(),
        tough::schema::Target {
            length: evil.len() as u64,
            hashes: tough::schema::Hashes {
                sha256: digest.to_vec().into(),
                _extra: HashMap::new(),
            },
            custom: HashMap::from([
                ("version".into(), "6.6.6".into()),
                ("kind".into(), "app".into()),
                ("arch".into(), "x86_64".into()),
            ]),
            _extra: HashMap::new(),
        },
    );
    // Sign with the snapshot key, the way tough signs (canonical JSON of `signed`).
    let snapshot_key = kiosk_release::keys::PemKeySource {
        path: keys.snapshot.clone(),
    };
    let signer = snapshot_key.as_sign().await.unwrap();
    let mut canonical = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut canonical,
        olpc_cjson::CanonicalFormatter::new(),
    );
    serde::Serialize::serialize(&targets.signed, &mut ser).unwrap();
    let sig = signer
        .sign(&canonical, &aws_lc_rs::rand::SystemRandom::new())
        .await
        .unwrap();
    targets.signatures = vec![tough::schema::Signature {
        keyid: signer.tuf_key().key_id().unwrap(),
        sig: sig.into(),
    }];
    let mut targets_bytes = serde_json::to_vec_pretty(&targets).unwrap();
    targets_bytes.push(b'\n');
    let targets_name = format!("{}.targets.json", targets.signed.version);
    std::fs::write(dir.join("metadata").join(&targets_name), &targets_bytes).unwrap();
    std::fs::write(
        dir.join("targets")
            .join(format!("{}.kiosk-6.6.6-x86_64", hex(&digest))),
        &evil,
    )
    .unwrap();

    let holder = KeyHolder::Root(root.signed.clone());
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let old_timestamp: Signed<Timestamp> = serde_json::from_slice(&read("timestamp.json")).unwrap();
    let snapshot_version = old_timestamp.signed.meta["snapshot.json"]
        .version
        .saturating_add(1);
    let mut snapshot = Snapshot::new("1.0.0".into(), snapshot_version, far_future());
    snapshot.meta.insert(
        "targets.json".into(),
        Metafile {
            length: Some(targets_bytes.len() as u64),
            hashes: Some(tough::schema::Hashes {
                sha256: {
                    use sha2::Digest;
                    sha2::Sha256::digest(&targets_bytes).to_vec().into()
                },
                _extra: HashMap::new(),
            }),
            version: targets.signed.version,
            _extra: HashMap::new(),
        },
    );
    let snapshot_keys: Vec<Box<dyn KeySource>> = vec![Box::new(snapshot_key)];
    let signed_snapshot = SignedRole::new(snapshot, &holder, &snapshot_keys, &rng)
        .await
        .unwrap();
    std::fs::write(
        dir.join("metadata")
            .join(format!("{snapshot_version}.snapshot.json")),
        signed_snapshot.buffer(),
    )
    .unwrap();
    let mut timestamp = Timestamp::new(
        "1.0.0".into(),
        old_timestamp.signed.version.saturating_add(1),
        far_future(),
    );
    timestamp.meta.insert(
        "snapshot.json".into(),
        Metafile {
            length: Some(*signed_snapshot.length()),
            hashes: Some(tough::schema::Hashes {
                sha256: signed_snapshot.sha256().to_vec().into(),
                _extra: HashMap::new(),
            }),
            version: snapshot_version,
            _extra: HashMap::new(),
        },
    );
    let timestamp_keys: Vec<Box<dyn KeySource>> =
        vec![Box::new(kiosk_release::keys::PemKeySource {
            path: keys.timestamp.clone(),
        })];
    let signed_timestamp = SignedRole::new(timestamp, &holder, &timestamp_keys, &rng)
        .await
        .unwrap();
    std::fs::write(
        dir.join("metadata/timestamp.json"),
        signed_timestamp.buffer(),
    )
    .unwrap();
}

fn far_future() -> jiff::Timestamp {
    jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + 86_400).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_timestamp_is_refused_and_a_refresh_revives_the_repository() {
    let bench = Bench::new().await;
    bench
        .publish("1.0.0", ReleaseKind::App, b"build", &short_timestamp(2))
        .await;
    let repo = bench.load("t1").await.unwrap();
    let release = repo.release("1.0.0", ReleaseKind::App, "x86_64").unwrap();

    tokio::time::sleep(Duration::from_millis(3_100)).await;
    // A platform that stopped refreshing (or an attacker replaying a frozen copy) is noticed.
    let result = bench.load("t1").await;
    assert_eq!(code(result), "expired_metadata");
    let result = bench.load("t2").await;
    assert!(matches!(result, Err(TrustError::ExpiredMetadata { ref role }) if role == "timestamp"));
    // Metadata verified earlier does not keep a download going past its expiry either.
    let result = repo
        .download(&release, &bench.tmp.path().join("k.part"), |_, _| {})
        .await;
    assert_eq!(code(result), "expired_metadata");

    // The platform re-signs the timestamp with its online key: the same terminal goes on.
    let status = bench
        .repo
        .refresh_timestamp(&bench.keys.timestamp, Duration::from_secs(3_600))
        .await
        .unwrap();
    assert_eq!(status.version, 3);
    let repo = bench.load("t1").await.unwrap();
    repo.download(&release, &bench.tmp.path().join("k.part"), |_, _| {})
        .await
        .unwrap();

    // Only the timestamp key may refresh it.
    let result = bench
        .repo
        .refresh_timestamp(&bench.keys.snapshot, Duration::from_secs(3_600))
        .await;
    assert!(
        matches!(
            result,
            Err(kiosk_release::RepositoryError::WrongKey {
                role: "timestamp",
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_metadata_than_a_terminal_has_seen_is_refused_even_after_a_restart() {
    let bench = Bench::new().await;
    bench
        .publish("1.0.0", ReleaseKind::App, b"first", &Lifetimes::default())
        .await;
    let old_copy = bench.copy_repo("old");
    bench
        .publish("1.1.0", ReleaseKind::App, b"second", &Lifetimes::default())
        .await;
    let repo = bench.load("t1").await.unwrap();
    assert!(repo.release("1.1.0", ReleaseKind::App, "x86_64").is_some());

    // The server now serves the older (validly signed, unexpired) repository.
    bench.server.serve_dir(&old_copy);
    let result = bench.load("t1").await;
    assert_eq!(code(result), "rollback_refused");
    // A terminal that never saw the newer metadata cannot tell, which is why the store matters.
    let fresh = bench.load("t2").await.unwrap();
    assert!(fresh.release("1.1.0", ReleaseKind::App, "x86_64").is_none());

    // Back to the current repository: accepted again.
    bench.server.serve_dir(bench.repo.dir());
    bench.load("t1").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminals_follow_a_root_rotation_and_refuse_the_retired_timestamp_key() {
    let bench = Bench::new().await;
    bench
        .publish(
            "1.0.0",
            ReleaseKind::App,
            b"build one",
            &Lifetimes::default(),
        )
        .await;
    bench.load("t1").await.unwrap();
    let before = bench.copy_repo("before-rotation");

    // New root and timestamp keys; targets and snapshot keys stay.
    let fresh = make_keys(&bench.tmp.path().join("keys"), "new-");
    let new_keys = RoleKeyFiles {
        root: fresh.root.clone(),
        targets: bench.keys.targets.clone(),
        snapshot: bench.keys.snapshot.clone(),
        timestamp: fresh.timestamp.clone(),
    };
    // Without the current root key there is no rotation.
    let refused = bench
        .repo
        .rotate_root(&fresh.targets, &new_keys, &Lifetimes::default())
        .await;
    assert!(matches!(
        refused,
        Err(kiosk_release::RepositoryError::WrongKey { .. })
    ));
    let version = bench
        .repo
        .rotate_root(&bench.keys.root, &new_keys, &Lifetimes::default())
        .await
        .unwrap();
    assert_eq!(version, 2);
    let enrolled_anchor = bench.repo.root_json().unwrap();
    assert!(String::from_utf8_lossy(&enrolled_anchor).contains("\"version\": 2"));

    // The terminal that knew root 1 walks to root 2 and accepts the new timestamp key.
    let repo = bench.load("t1").await.unwrap();
    assert_eq!(repo.root_version(), 2);
    assert!(repo.release("1.0.0", ReleaseKind::App, "x86_64").is_some());
    // So does a terminal that only ever had root 1.
    assert_eq!(bench.load("t2").await.unwrap().root_version(), 2);
    // Each keeps root 2, which chains from its anchor, for the next time.
    assert!(bench.datastore("t1").join("roots/2.root.json").is_file());

    // Publishing goes on with the new keys; the retired timestamp key is useless.
    let keys_after = kiosk_release::PublishKeys {
        timestamp: fresh.timestamp.clone(),
        ..publish_keys(&bench.keys)
    };
    let artifact = bench.artifact("two", b"build two");
    bench
        .repo
        .publish(
            &artifact,
            &common::spec("1.1.0", ReleaseKind::App),
            &keys_after,
            &Lifetimes::default(),
            false,
        )
        .await
        .unwrap();
    let result = bench
        .repo
        .refresh_timestamp(&bench.keys.timestamp, Duration::from_secs(60))
        .await;
    assert!(matches!(
        result,
        Err(kiosk_release::RepositoryError::WrongKey { .. })
    ));

    // An attacker holding the old timestamp key serves the new roots with a timestamp it
    // signed (the one from before the rotation): refused, by fresh and seasoned terminals.
    let attack = bench.copy_repo("attack");
    std::fs::copy(
        before.join("metadata/timestamp.json"),
        attack.join("metadata/timestamp.json"),
    )
    .unwrap();
    bench.server.serve_dir(&attack);
    assert_eq!(code(bench.load("t3").await), "bad_signature");
    assert_eq!(code(bench.load("t1").await), "bad_signature");
    // Hiding the new root does not help against a terminal that has seen it.
    std::fs::remove_file(attack.join("metadata/2.root.json")).unwrap();
    assert_eq!(code(bench.load("t1").await), "bad_signature");

    bench.server.serve_dir(bench.repo.dir());
    let repo = bench.load("t1").await.unwrap();
    assert!(repo.release("1.1.0", ReleaseKind::App, "x86_64").is_some());
}

/// Someone who can write the terminal's data partition puts a root of their own, newer than
/// the anchor and signed only by their key, where the terminal keeps the roots it followed,
/// and serves a repository signed by their keys. The terminal trusts only what chains from
/// its anchor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_newer_root_in_the_terminals_store_is_not_trusted() {
    let bench = Bench::new().await;
    bench
        .publish("1.0.0", ReleaseKind::App, b"genuine", &Lifetimes::default())
        .await;
    bench.load("t1").await.unwrap();

    let evil = make_keys(&bench.tmp.path().join("keys"), "evil-");
    let attacker = kiosk_release::ReleaseRepository::init(
        bench.tmp.path().join("attacker"),
        &evil,
        &Lifetimes::default(),
    )
    .await
    .unwrap();
    let artifact = bench.artifact("evil", b"evil build");
    attacker
        .publish(
            &artifact,
            &common::spec("6.6.6", ReleaseKind::App),
            &publish_keys(&evil),
            &Lifetimes::default(),
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        attacker
            .rotate_root(&evil.root, &evil, &Lifetimes::default())
            .await
            .unwrap(),
        2
    );
    let forged = attacker.root_json().unwrap();
    let store = bench.datastore("t1");
    std::fs::write(store.join("root.json"), &forged).unwrap();
    std::fs::create_dir_all(store.join("roots")).unwrap();
    std::fs::write(store.join("roots/2.root.json"), &forged).unwrap();

    bench.server.serve_dir(attacker.dir());
    assert_eq!(code(bench.load("t1").await), "bad_signature");
    assert_eq!(code(bench.load("t2").await), "bad_signature");

    // The real repository again: the forged root changed nothing.
    bench.server.serve_dir(bench.repo.dir());
    let repo = bench.load("t1").await.unwrap();
    assert_eq!(repo.root_version(), 1);
    assert!(repo.release("1.0.0", ReleaseKind::App, "x86_64").is_some());
    assert!(repo.release("6.6.6", ReleaseKind::App, "x86_64").is_none());
}

/// Before an installed release starts, the terminal finds its hash in the signed metadata it
/// kept, not in a record anyone who writes the data partition could change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installed_release_is_checked_against_the_kept_signed_metadata_offline() {
    use kiosk_release::client::kept_release;
    const INSTALLED: &[u8] = b"build one";
    let bench = Bench::new().await;
    let lifetimes = Lifetimes::default();
    bench
        .publish("1.0.0", ReleaseKind::App, INSTALLED, &lifetimes)
        .await;
    let store = bench.datastore("t1");
    bench.load("t1").await.unwrap();
    let kept = kept_release(&bench.anchor(), &store, "1.0.0", ReleaseKind::App, "x86_64").unwrap();
    let expected: [u8; 32] = {
        use sha2::Digest;
        sha2::Sha256::digest(INSTALLED).into()
    };
    assert_eq!(kept.sha256, expected);
    let unknown = kept_release(&bench.anchor(), &store, "9.9.9", ReleaseKind::App, "x86_64");
    assert_eq!(code(unknown), "unknown_release");

    // The kept targets metadata altered to list other bytes: its signature no longer holds.
    let path = store.join("targets.json");
    let mut targets: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    targets["signed"]["targets"]["kiosk-1.0.0-x86_64"]["hashes"]["sha256"] = "00".repeat(32).into();
    std::fs::write(&path, serde_json::to_vec(&targets).unwrap()).unwrap();
    let altered = kept_release(&bench.anchor(), &store, "1.0.0", ReleaseKind::App, "x86_64");
    assert_eq!(code(altered), "bad_signature");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_trust_anchor_or_an_unreachable_platform_is_reported_as_such() {
    let bench = Bench::new().await;
    assert_eq!(
        code(bench.load_with(b"{not json", "t1").await),
        "bad_trust_anchor"
    );
    let mut anchor: serde_json::Value = serde_json::from_slice(&bench.anchor()).unwrap();
    anchor["signed"]["version"] = 7.into();
    let altered = serde_json::to_vec(&anchor).unwrap();
    assert_eq!(
        code(bench.load_with(&altered, "t1").await),
        "bad_trust_anchor"
    );

    let result = kiosk_release::TrustedRepository::load(
        &bench.anchor(),
        &bench.datastore("t1"),
        "http://127.0.0.1:9/metadata/",
        "http://127.0.0.1:9/targets/",
        common::http(),
    )
    .await;
    assert_eq!(code(result), "transport");
    let result = kiosk_release::TrustedRepository::load(
        &bench.anchor(),
        &bench.datastore("t1"),
        "file:///etc/",
        "file:///etc/",
        common::http(),
    )
    .await;
    assert_eq!(code(result), "transport");

    // A copy of the repository from which timestamp.json is missing.
    let empty = bench.tmp.path().join("nothing");
    copy_dir(bench.repo.dir(), &empty);
    std::fs::remove_file(empty.join("metadata/timestamp.json")).unwrap();
    bench.server.serve_dir(&empty);
    assert_eq!(code(bench.load("t1").await), "transport");
}

/// The terminal runs loads and downloads on tokio worker threads: their futures must be `Send`.
#[test]
fn loading_and_downloading_can_run_on_any_worker_thread() {
    fn must_be_send<T: Send>(_: &T) {}
    let anchor = Vec::new();
    let load = kiosk_release::TrustedRepository::load(
        &anchor,
        std::path::Path::new("/nonexistent"),
        "http://127.0.0.1:9/",
        "http://127.0.0.1:9/",
        reqwest::Client::new(),
    );
    must_be_send(&load);
    drop(load);
    fn download_is_send(repo: &kiosk_release::TrustedRepository, target: &ReleaseTarget) {
        let mut count = 0u64;
        let download = repo.download(target, std::path::Path::new("/nonexistent"), |done, _| {
            count = done;
        });
        must_be_send(&download);
    }
    let _ = download_is_send;
}
