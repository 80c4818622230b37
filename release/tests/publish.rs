//! What the publishing side refuses, and what it leaves on disk.

mod common;

use std::time::Duration;

use common::{Bench, make_keys, publish_keys, release_bytes, spec};
use kiosk_protocol::update::ReleaseKind;
use kiosk_release::{Lifetimes, ReleaseRepository, RepositoryError, RoleKeyFiles};

fn timestamp_version(bench: &Bench) -> u64 {
    let value: serde_json::Value = serde_json::from_slice(
        &std::fs::read(bench.repo.metadata_dir().join("timestamp.json")).unwrap(),
    )
    .unwrap();
    value["signed"]["version"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_refuses_conflicts_typos_and_the_wrong_keys() {
    let bench = Bench::new().await;
    let lifetimes = Lifetimes::default();
    let keys = publish_keys(&bench.keys);
    let first = bench
        .publish(
            "1.2.0",
            ReleaseKind::App,
            &release_bytes(1, 1000),
            &lifetimes,
        )
        .await;
    assert_eq!(timestamp_version(&bench), 2);
    let file = bench
        .repo
        .targets_dir()
        .join(format!("{}.kiosk-1.2.0-x86_64", first.sha256_hex));
    assert_eq!(std::fs::read(&file).unwrap(), release_bytes(1, 1000));

    // The same bytes again: nothing changes.
    let same = bench.artifact("same", &release_bytes(1, 1000));
    let again = bench
        .repo
        .publish(
            &same,
            &spec("1.2.0", ReleaseKind::App),
            &keys,
            &lifetimes,
            false,
        )
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(timestamp_version(&bench), 2);

    // Other bytes under a published version (also spelled 1.2): refused.
    let other = bench.artifact("other", &release_bytes(2, 1000));
    for version in ["1.2.0", "1.2"] {
        let result = bench
            .repo
            .publish(
                &other,
                &spec(version, ReleaseKind::App),
                &keys,
                &lifetimes,
                false,
            )
            .await;
        assert!(
            matches!(result, Err(RepositoryError::VersionExists { .. })),
            "{result:?}"
        );
    }
    // The same version of the other kind is another release.
    bench
        .repo
        .publish(
            &other,
            &spec("1.2.0", ReleaseKind::Os),
            &keys,
            &lifetimes,
            false,
        )
        .await
        .unwrap();

    // Older than the newest: refused unless allowed.
    let older = bench.artifact("older", &release_bytes(3, 1000));
    let result = bench
        .repo
        .publish(
            &older,
            &spec("1.1.9", ReleaseKind::App),
            &keys,
            &lifetimes,
            false,
        )
        .await;
    assert!(
        matches!(result, Err(RepositoryError::OlderThanNewest { ref newest, .. }) if newest == "1.2.0")
    );
    bench
        .repo
        .publish(
            &older,
            &spec("1.1.9", ReleaseKind::App),
            &keys,
            &lifetimes,
            true,
        )
        .await
        .unwrap();

    // Bad names never reach the repository.
    for version in ["v1.3", "1.3/../../x", "", "1.3.0 "] {
        let result = bench
            .repo
            .publish(
                &older,
                &spec(version, ReleaseKind::App),
                &keys,
                &lifetimes,
                false,
            )
            .await;
        assert!(
            matches!(result, Err(RepositoryError::InvalidVersion { .. })),
            "{version:?}"
        );
    }
    let mut odd_arch = spec("1.3.0", ReleaseKind::App);
    odd_arch.arch = "x86-64".into();
    let result = bench
        .repo
        .publish(&older, &odd_arch, &keys, &lifetimes, false)
        .await;
    assert!(matches!(result, Err(RepositoryError::InvalidArch { .. })));
    let empty = bench.artifact("empty", b"");
    let result = bench
        .repo
        .publish(
            &empty,
            &spec("1.3.0", ReleaseKind::App),
            &keys,
            &lifetimes,
            false,
        )
        .await;
    assert!(matches!(result, Err(RepositoryError::EmptyArtifact { .. })));
    let result = bench
        .repo
        .publish(
            &bench.tmp.path().join("missing"),
            &spec("1.3.0", ReleaseKind::App),
            &keys,
            &lifetimes,
            false,
        )
        .await;
    assert!(matches!(result, Err(RepositoryError::Io { .. })));

    // Only the targets key the root lists can publish.
    let stranger = make_keys(&bench.tmp.path().join("keys"), "stranger-");
    let wrong = kiosk_release::PublishKeys {
        targets: stranger.targets.clone(),
        ..keys.clone()
    };
    let result = bench
        .repo
        .publish(
            &older,
            &spec("1.3.0", ReleaseKind::App),
            &wrong,
            &lifetimes,
            false,
        )
        .await;
    assert!(
        matches!(
            result,
            Err(RepositoryError::WrongKey {
                role: "targets",
                ..
            })
        ),
        "{result:?}"
    );
    let swapped = kiosk_release::PublishKeys {
        targets: bench.keys.snapshot.clone(),
        snapshot: bench.keys.targets.clone(),
        ..keys.clone()
    };
    let result = bench
        .repo
        .publish(
            &older,
            &spec("1.3.0", ReleaseKind::App),
            &swapped,
            &lifetimes,
            false,
        )
        .await;
    assert!(matches!(result, Err(RepositoryError::WrongKey { .. })));

    // No staging leftovers from the refused attempts.
    let names: Vec<String> = std::fs::read_dir(bench.repo.targets_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| kiosk_release::names::is_target_file_name(n))
    );

    // Every file in metadata/ is one the platform would serve.
    for entry in std::fs::read_dir(bench.repo.metadata_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(kiosk_release::names::is_metadata_file_name(&name), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_is_created_once_with_four_distinct_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = make_keys(tmp.path(), "");
    let dir = tmp.path().join("repo");
    let shared = RoleKeyFiles {
        timestamp: keys.snapshot.clone(),
        ..keys.clone()
    };
    let result = ReleaseRepository::init(&dir, &shared, &Lifetimes::default()).await;
    assert!(matches!(
        result,
        Err(RepositoryError::SharedKey {
            first: "snapshot",
            second: "timestamp"
        })
    ));
    let repo = ReleaseRepository::init(&dir, &keys, &Lifetimes::default())
        .await
        .unwrap();
    let result = ReleaseRepository::init(&dir, &keys, &Lifetimes::default()).await;
    assert!(matches!(
        result,
        Err(RepositoryError::AlreadyInitialized { .. })
    ));
    assert_eq!(
        repo.root_json().unwrap(),
        std::fs::read(dir.join("metadata/1.root.json")).unwrap()
    );
    let expires = repo.timestamp_expires().unwrap();
    let left = expires.as_second() - jiff::Timestamp::now().as_second();
    assert!((86_000..=86_400).contains(&left), "{left}");

    let nowhere = ReleaseRepository::open(tmp.path().join("nowhere"));
    assert!(matches!(
        nowhere.root_json(),
        Err(RepositoryError::NotInitialized { .. })
    ));
    let result = nowhere
        .refresh_timestamp(&keys.timestamp, Duration::from_secs(60))
        .await;
    assert!(matches!(
        result,
        Err(RepositoryError::NotInitialized { .. })
    ));
    assert!(
        !tmp.path().join("nowhere").exists(),
        "a mistyped --repo leaves nothing behind"
    );

    // A damaged metadata file is reported, not signed over.
    std::fs::write(dir.join("metadata/timestamp.json"), b"{\"signed\":").unwrap();
    let result = repo
        .refresh_timestamp(&keys.timestamp, Duration::from_secs(60))
        .await;
    assert!(
        matches!(result, Err(RepositoryError::Damaged { .. })),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewing_extends_targets_and_snapshot_without_a_release() {
    let bench = Bench::new().await;
    let short = Lifetimes {
        targets: Duration::from_secs(2),
        snapshot: Duration::from_secs(2),
        ..Lifetimes::default()
    };
    bench
        .publish("1.0.0", ReleaseKind::App, b"build", &short)
        .await;
    bench.load("t1").await.unwrap();
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    let refused = bench.load("t1").await.expect_err("expired");
    assert_eq!(refused.code(), "expired_metadata");
    // The timestamp alone cannot help: snapshot and targets have run out.
    bench
        .repo
        .refresh_timestamp(&bench.keys.timestamp, Duration::from_secs(3_600))
        .await
        .unwrap();
    assert_eq!(
        bench.load("t1").await.unwrap_err().code(),
        "expired_metadata"
    );
    bench
        .repo
        .renew(&publish_keys(&bench.keys), &Lifetimes::default())
        .await
        .unwrap();
    let repo = bench.load("t1").await.unwrap();
    assert!(repo.release("1.0.0", ReleaseKind::App, "x86_64").is_some());
    assert_eq!(timestamp_version(&bench), 4);
}
