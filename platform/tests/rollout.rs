//! Staged rollouts over real HTTP on each backend: many simulated terminals heartbeating and
//! reporting, a canary whose rollbacks stop the rollout before any other terminal is offered
//! the release, a healthy rollout advancing group by group to finished, pause and resume,
//! maintenance windows, filters, bad reports, immutable releases, and the CLI.

mod common;

use std::collections::BTreeSet;

use common::{Platform, TestDb, TestTerminal, serve};
use kiosk_platform::Store;
use kiosk_platform::rollout::{Filter, RolloutSpec, RolloutState};
use kiosk_platform::store::{AuditFilter, ReleaseRecord, RolloutError};
use kiosk_protocol::{MaintenanceWindow, ReleaseKind};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    a_canary_that_rolls_back_stops_the_rollout_before_anyone_else_is_offered,
    a_healthy_rollout_advances_group_by_group_and_pauses_on_request,
    filters_pick_terminals_by_site_tag_and_version_and_rollouts_do_not_overlap,
    bad_reports_get_a_clear_4xx_and_change_nothing,
    releases_are_immutable,
);

async fn record_release(store: &Store, version: &str, kind: ReleaseKind) {
    store
        .record_release(&release(version, kind, 'a'))
        .await
        .expect("release recorded");
}

fn release(version: &str, kind: ReleaseKind, hash: char) -> ReleaseRecord {
    ReleaseRecord {
        version: version.into(),
        kind,
        arch: "x86_64".into(),
        target: format!("kiosk-{}-{version}-x86_64.tar", kind.as_str()),
        sha256: hash.to_string().repeat(64),
        length: 1_048_576,
        published_at: "2026-11-22T10:00:00+08:00".into(),
    }
}

/// Enrolls `n` terminals at `site` (16 at a time, as a fleet coming up would).
async fn enroll_many(p: &Platform, n: usize, site: &str) -> Vec<TestTerminal> {
    let mut set = tokio::task::JoinSet::new();
    let mut enrolled = Vec::with_capacity(n);
    for i in 0..n {
        let platform = Platform {
            url: p.url.clone(),
            store: p.store.clone(),
        };
        let site = site.to_owned();
        set.spawn(async move {
            TestTerminal::enroll(&platform, &format!("SN-{site}-{i:04}"), Some(&site)).await
        });
        if set.len() >= 16
            && let Some(done) = set.join_next().await
        {
            enrolled.push(done.expect("enrolled"));
        }
    }
    while let Some(done) = set.join_next().await {
        enrolled.push(done.expect("enrolled"));
    }
    enrolled
}

/// Sends a heartbeat saying the terminal runs `app`; answers the offer, if any.
async fn heartbeat(t: &TestTerminal, app: &str) -> Option<Value> {
    let (status, body) = t
        .send(
            Method::POST,
            "/v1/heartbeat",
            Some(&json!({
                "versions": {"app": app, "os": "2026.11"},
                "uptime_secs": 60,
                "devices": [],
                "outbox_depth": 0
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.get("update").cloned()
}

/// Heartbeats every terminal (running `app`); the ids of those offered an update.
async fn heartbeat_all(terminals: &[TestTerminal], app: &str) -> BTreeSet<String> {
    let mut set = tokio::task::JoinSet::new();
    for t in terminals {
        let (t, app) = (t.clone(), app.to_owned());
        set.spawn(async move { (t.id.clone(), heartbeat(&t, &app).await) });
    }
    let mut offered = BTreeSet::new();
    while let Some(done) = set.join_next().await {
        let (id, offer) = done.expect("heartbeat");
        if offer.is_some() {
            offered.insert(id);
        }
    }
    offered
}

async fn report(t: &TestTerminal, rollout: i64, version: &str, state: &str) -> (StatusCode, Value) {
    t.send(
        Method::POST,
        "/v1/updates/reports",
        Some(&json!({
            "rollout_id": rollout,
            "version": version,
            "state": state,
            "detail": if state == "rolled_back" { "crashed_on_start" } else { "" },
            "at": common::now()
        })),
    )
    .await
}

/// Walks a terminal through a successful update, as its updater would.
async fn update_successfully(t: &TestTerminal, rollout: i64, version: &str) {
    for state in ["downloading", "installing", "committed"] {
        let (status, body) = report(t, rollout, version, state).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{state}: {body}");
    }
}

fn spec(version: &str, groups: &[u8]) -> RolloutSpec {
    RolloutSpec {
        groups: groups.to_vec(),
        ..RolloutSpec::new(version, ReleaseKind::App)
    }
}

fn by_id<'a>(terminals: &'a [TestTerminal], ids: &BTreeSet<String>) -> Vec<&'a TestTerminal> {
    terminals.iter().filter(|t| ids.contains(&t.id)).collect()
}

async fn a_canary_that_rolls_back_stops_the_rollout_before_anyone_else_is_offered(db: TestDb) {
    let p = serve(db.store().await).await;
    let fleet = enroll_many(&p, 200, "haizhou").await;
    assert!(
        heartbeat_all(&fleet, "0.1.0").await.is_empty(),
        "no rollout yet"
    );
    record_release(&p.store, "0.2.0", ReleaseKind::App).await;
    let id = p
        .store
        .start_rollout(&spec("0.2.0", &[5, 50, 100]), "test")
        .await
        .expect("started");
    let status = p
        .store
        .rollout_status(id)
        .await
        .expect("status")
        .expect("rollout");
    let sizes: Vec<u64> = status.groups.iter().map(|g| g.size).collect();
    assert_eq!(sizes, vec![10, 90, 100]);

    // Only the canary (5 % of 200) is offered the release, with this rollout's id.
    let canary = heartbeat_all(&fleet, "0.1.0").await;
    assert_eq!(canary.len(), 10, "{canary:?}");
    let mut ever_offered = canary.clone();
    let sample = by_id(&fleet, &canary)[0];
    let offer = heartbeat(sample, "0.1.0").await.expect("offered again");
    assert_eq!(offer["rollout_id"], id);
    assert_eq!(offer["version"], "0.2.0");
    assert_eq!(offer["kind"], "app");
    assert!(offer.get("window").is_none(), "no window: any time");

    // Seven canaries update fine; three roll back (the first one already passes 5 %).
    let canaries = by_id(&fleet, &canary);
    for t in &canaries[..7] {
        update_successfully(t, id, "0.2.0").await;
    }
    for t in &canaries[7..] {
        assert_eq!(
            report(t, id, "0.2.0", "downloading").await.0,
            StatusCode::NO_CONTENT
        );
        let (status, body) = report(t, id, "0.2.0", "rolled_back").await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let status = p
        .store
        .rollout_status(id)
        .await
        .expect("status")
        .expect("rollout");
    assert_eq!(status.rollout.state, RolloutState::Stopped);
    let reason = status.rollout.stop_reason.clone().expect("reason recorded");
    assert!(reason.contains("error threshold"), "{reason}");
    assert_eq!(
        status.rollout.active_group, 0,
        "the next group never started"
    );
    assert_eq!(status.groups[0].committed, 7);
    assert_eq!(status.groups[0].rolled_back, 3);

    // No terminal of any later group is ever offered the release, nor a canary again.
    for _ in 0..2 {
        let offered = heartbeat_all(&fleet, "0.1.0").await;
        assert!(offered.is_empty(), "{offered:?}");
        ever_offered.extend(offered);
    }
    assert_eq!(ever_offered, canary);
    let status = p
        .store
        .rollout_status(id)
        .await
        .expect("status")
        .expect("rollout");
    assert!(status.groups[1..].iter().all(|g| g.offered == 0));

    // The rollback is in the terminal's event log; a stopped rollout cannot be resumed.
    let events = p.store.events(&canaries[9].id).await.expect("events");
    assert!(
        events
            .iter()
            .any(|e| e.kind == "update" && e.detail.contains("rolled_back: crashed_on_start")),
        "{events:?}"
    );
    assert!(matches!(
        p.store.resume_rollout(id).await,
        Err(RolloutError::WrongState { .. })
    ));
    let audit = p
        .store
        .audit_log(&AuditFilter {
            limit: 200,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    assert!(
        audit.iter().any(|line| line.operator == "platform"
            && line.action == "rollout_stop"
            && line.detail.contains("error threshold")),
        "{audit:?}"
    );
    // Its terminals are free again: a fixed release can be rolled out to them.
    record_release(&p.store, "0.2.1", ReleaseKind::App).await;
    p.store
        .start_rollout(&spec("0.2.1", &[5, 50, 100]), "test")
        .await
        .expect("a stopped rollout holds no terminals");
}

async fn a_healthy_rollout_advances_group_by_group_and_pauses_on_request(db: TestDb) {
    let p = serve(db.store().await).await;
    let fleet = enroll_many(&p, 20, "ganyu").await;
    heartbeat_all(&fleet, "0.1.0").await;
    record_release(&p.store, "0.2.0", ReleaseKind::App).await;
    let window = MaintenanceWindow::parse("02:00-05:00").expect("window");
    let id = p
        .store
        .start_rollout(
            &RolloutSpec {
                window: Some(window),
                ..spec("0.2.0", &[10, 50, 100])
            },
            "test",
        )
        .await
        .expect("started");
    // Groups of 2, 8 and 10 terminals: each starts when the one before has committed.
    let mut updated: BTreeSet<String> = BTreeSet::new();
    for (round, expected) in [(1, 2), (2, 8), (3, 10)] {
        let offered = heartbeat_all(&fleet, "0.1.0").await;
        let fresh: BTreeSet<String> = offered.difference(&updated).cloned().collect();
        assert_eq!(fresh.len(), expected, "round {round}: {offered:?}");
        assert_eq!(offered, fresh, "committed terminals are not offered again");
        let terminals = by_id(&fleet, &fresh);
        let offer = heartbeat(terminals[0], "0.1.0").await.expect("offer");
        assert_eq!(
            offer["window"],
            json!({"start_minute": 120, "end_minute": 300}),
            "the window travels with the offer"
        );
        if round == 2 {
            // Paused: nothing is offered, reports still count; resumed: offers continue.
            p.store.pause_rollout(id).await.expect("paused");
            assert!(heartbeat_all(&fleet, "0.1.0").await.is_empty());
            update_successfully(terminals[0], id, "0.2.0").await;
            let status = p
                .store
                .rollout_status(id)
                .await
                .expect("status")
                .expect("rollout");
            assert_eq!(status.rollout.state, RolloutState::Paused);
            assert_eq!(status.groups[1].committed, 1);
            assert!(matches!(
                p.store.pause_rollout(id).await,
                Err(RolloutError::WrongState { .. })
            ));
            p.store.resume_rollout(id).await.expect("resumed");
            let again = heartbeat_all(&fleet, "0.1.0").await;
            assert_eq!(again.len(), 7, "the other seven of group 2: {again:?}");
        }
        for t in &terminals {
            if round == 2 && t.id == terminals[0].id {
                continue;
            }
            update_successfully(t, id, "0.2.0").await;
        }
        // Reporting the same again is harmless; a committed update cannot go back.
        assert_eq!(
            report(terminals[0], id, "0.2.0", "committed").await.0,
            StatusCode::NO_CONTENT
        );
        let (status, body) = report(terminals[0], id, "0.2.0", "downloading").await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["code"], "already_final");
        updated.extend(fresh);
        let status = p
            .store
            .rollout_status(id)
            .await
            .expect("status")
            .expect("rollout");
        assert_eq!(status.rollout.active_group, round.min(2), "round {round}");
    }
    let status = p
        .store
        .rollout_status(id)
        .await
        .expect("status")
        .expect("rollout");
    assert_eq!(status.rollout.state, RolloutState::Finished);
    assert_eq!(
        status
            .groups
            .iter()
            .map(|g| g.committed)
            .collect::<Vec<_>>(),
        vec![2, 8, 10]
    );
    assert!(heartbeat_all(&fleet, "0.2.0").await.is_empty());
    assert!(
        heartbeat_all(&fleet, "0.1.0").await.is_empty(),
        "finished offers nothing"
    );
}

async fn filters_pick_terminals_by_site_tag_and_version_and_rollouts_do_not_overlap(db: TestDb) {
    let p = serve(db.store().await).await;
    let haizhou = enroll_many(&p, 6, "haizhou").await;
    let ganyu = enroll_many(&p, 2, "ganyu").await;
    // In Haizhou: 0-3 pilots, 0-4 on 0.1.0, 5 on 0.0.9; terminal 4 is no pilot.
    for (i, t) in haizhou.iter().enumerate() {
        heartbeat(t, if i == 5 { "0.0.9" } else { "0.1.0" }).await;
        if i != 4 {
            let tags = p
                .store
                .tag_terminal(&t.id, &["pilot".into(), "bank-branch".into()], &[])
                .await
                .expect("tagged");
            assert_eq!(tags, vec!["bank-branch".to_owned(), "pilot".to_owned()]);
        }
    }
    for t in &ganyu {
        heartbeat(t, "0.1.0").await;
        p.store
            .tag_terminal(&t.id, &["pilot".into()], &[])
            .await
            .expect("tagged");
    }
    // Removing a tag; malformed tags and unknown terminals are refused.
    p.store
        .tag_terminal(&haizhou[3].id, &[], &["pilot".into()])
        .await
        .expect("untagged");
    assert!(
        p.store
            .tag_terminal(&haizhou[0].id, &["Pilot!".into()], &[])
            .await
            .is_err()
    );
    assert!(
        p.store
            .tag_terminal("T-NOBODY", &["pilot".into()], &[])
            .await
            .is_err()
    );

    record_release(&p.store, "0.2.0", ReleaseKind::App).await;
    // Terminal 0 already runs 0.2.0 (its heartbeat after start): it counts as committed.
    let filtered = RolloutSpec {
        filter: Filter {
            site: Some("haizhou".into()),
            from_version: Some("0.1.0".into()),
            tag: Some("pilot".into()),
        },
        ..spec("0.2.0", &[100])
    };
    let id = p
        .store
        .start_rollout(&filtered, "test")
        .await
        .expect("started");
    let all: Vec<TestTerminal> = haizhou.iter().chain(&ganyu).cloned().collect();
    let offered = heartbeat_all(&all, "0.1.0").await;
    let expected: BTreeSet<String> = haizhou[..3].iter().map(|t| t.id.clone()).collect();
    assert_eq!(offered, expected, "haizhou, on 0.1.0, tagged pilot");
    assert!(heartbeat(&haizhou[0], "0.2.0").await.is_none());
    let status = p
        .store
        .rollout_status(id)
        .await
        .expect("status")
        .expect("rollout");
    assert_eq!(status.groups[0].size, 3);
    assert_eq!(status.groups[0].committed, 1, "found running the release");

    // The same terminals cannot be in two app rollouts at once; an OS rollout is separate.
    record_release(&p.store, "0.3.0", ReleaseKind::App).await;
    match p.store.start_rollout(&spec("0.3.0", &[100]), "test").await {
        Err(RolloutError::Overlap {
            rollout_id,
            terminals,
            ..
        }) => {
            assert_eq!((rollout_id, terminals), (id, 3));
        }
        other => panic!("overlap not refused: {other:?}"),
    }
    let ganyu_only = RolloutSpec {
        filter: Filter {
            site: Some("ganyu".into()),
            ..Filter::default()
        },
        ..spec("0.3.0", &[100])
    };
    p.store
        .start_rollout(&ganyu_only, "test")
        .await
        .expect("disjoint");
    record_release(&p.store, "2026.12", ReleaseKind::Os).await;
    let os = RolloutSpec {
        kind: ReleaseKind::Os,
        ..spec("2026.12", &[100])
    };
    p.store
        .start_rollout(&os, "test")
        .await
        .expect("os rollout");
    // Nothing matches, or no such release: clear refusals.
    let nobody = RolloutSpec {
        filter: Filter {
            tag: Some("nobody".into()),
            ..Filter::default()
        },
        ..spec("0.2.0", &[100])
    };
    assert!(matches!(
        p.store.start_rollout(&nobody, "test").await,
        Err(RolloutError::NoTerminals(_))
    ));
    assert!(matches!(
        p.store.start_rollout(&spec("9.9.9", &[100]), "test").await,
        Err(RolloutError::UnknownRelease { .. })
    ));
    assert_eq!(p.store.rollouts().await.expect("rollouts").len(), 3);

    // Two starts over the same terminals at once: one wins, the other is refused, and at most
    // one of them holds the terminals.
    let ganyu_next = RolloutSpec {
        filter: Filter {
            site: Some("ganyu".into()),
            ..Filter::default()
        },
        ..spec("0.4.0", &[100])
    };
    record_release(&p.store, "0.4.0", ReleaseKind::App).await;
    p.store
        .cancel_rollout(2)
        .await
        .expect("the ganyu rollout called off");
    let (a, b) = tokio::join!(
        p.store.start_rollout(&ganyu_next, "one"),
        p.store.start_rollout(&ganyu_next, "two")
    );
    assert_eq!(
        [&a, &b].iter().filter(|r| r.is_ok()).count(),
        1,
        "{a:?} {b:?}"
    );
    assert!(
        [&a, &b]
            .iter()
            .any(|r| matches!(r, Err(RolloutError::Overlap { .. })))
    );
    let active = p
        .store
        .rollouts()
        .await
        .expect("rollouts")
        .into_iter()
        .filter(|r| r.kind == ReleaseKind::App && r.state.is_active())
        .count();
    assert_eq!(active, 2, "the haizhou rollout and one ganyu rollout");
}

async fn bad_reports_get_a_clear_4xx_and_change_nothing(db: TestDb) {
    let p = serve(db.store().await).await;
    let fleet = enroll_many(&p, 4, "haizhou").await;
    let outsider = TestTerminal::enroll(&p, "SN-OUTSIDE", Some("ganyu")).await;
    heartbeat_all(&fleet, "0.1.0").await;
    record_release(&p.store, "0.2.0", ReleaseKind::App).await;
    let only_haizhou = RolloutSpec {
        filter: Filter {
            site: Some("haizhou".into()),
            ..Filter::default()
        },
        ..spec("0.2.0", &[25, 100])
    };
    let id = p
        .store
        .start_rollout(&only_haizhou, "test")
        .await
        .expect("started");
    let canary = heartbeat_all(&fleet, "0.1.0").await;
    assert_eq!(canary.len(), 1);
    let canary = by_id(&fleet, &canary)[0].clone();
    let waiting = fleet.iter().find(|t| t.id != canary.id).expect("another");
    let before = p.store.rollout_status(id).await.expect("status");

    let cases: Vec<(&TestTerminal, Value, StatusCode, &str)> = vec![
        (
            &canary,
            json!({"rollout_id": id, "version": "latest", "state": "committed", "at": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            &canary,
            json!({"rollout_id": id, "version": "0.2.0", "state": "done", "at": 1}),
            StatusCode::BAD_REQUEST,
            "malformed_body",
        ),
        (
            &canary,
            json!({"rollout_id": id, "version": "0.2.0", "state": "failed", "detail": "x".repeat(501), "at": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            &canary,
            json!({"rollout_id": 9999, "version": "0.2.0", "state": "committed", "at": 1}),
            StatusCode::NOT_FOUND,
            "unknown_rollout",
        ),
        (
            &outsider,
            json!({"rollout_id": id, "version": "0.2.0", "state": "failed", "at": 1}),
            StatusCode::NOT_FOUND,
            "not_in_rollout",
        ),
        (
            &canary,
            json!({"rollout_id": id, "version": "0.1.9", "state": "failed", "at": 1}),
            StatusCode::CONFLICT,
            "wrong_version",
        ),
        (
            waiting,
            json!({"rollout_id": id, "version": "0.2.0", "state": "failed", "at": 1}),
            StatusCode::CONFLICT,
            "not_offered",
        ),
    ];
    for (t, body, status, code) in cases {
        let (got, answer) = t
            .send(Method::POST, "/v1/updates/reports", Some(&body))
            .await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
    // Nothing moved: no failure recorded, the rollout still runs.
    assert_eq!(p.store.rollout_status(id).await.expect("status"), before);
    // A report is signed like every terminal request.
    let unsigned = reqwest::Client::new()
        .post(format!("{}/v1/updates/reports", p.url))
        .json(&json!({"rollout_id": id, "version": "0.2.0", "state": "failed", "at": 1}))
        .send()
        .await
        .expect("answer");
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    // The endpoint is in the OpenAPI document.
    let doc: Value = reqwest::get(format!("{}/openapi.json", p.url))
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert!(doc["paths"]["/v1/updates/reports"]["post"].is_object());
    // A technician's update by hand (rollout 0) is only logged.
    assert_eq!(
        report(&outsider, 0, "0.2.0", "committed").await.0,
        StatusCode::NO_CONTENT
    );
}

async fn releases_are_immutable(db: TestDb) {
    let store = db.store().await;
    let first = release("0.2.0", ReleaseKind::App, 'a');
    store.record_release(&first).await.expect("recorded");
    store
        .record_release(&first)
        .await
        .expect("the same again is fine");
    let other_bytes = release("0.2.0", ReleaseKind::App, 'b');
    let refused = store
        .record_release(&other_bytes)
        .await
        .expect_err("refused");
    assert!(refused.to_string().contains("immutable"), "{refused}");
    // Another architecture or kind of the same version is another release.
    store
        .record_release(&ReleaseRecord {
            arch: "aarch64".into(),
            ..other_bytes.clone()
        })
        .await
        .expect("arm64 build");
    store
        .record_release(&release("0.2.0", ReleaseKind::Os, 'c'))
        .await
        .expect("os image");
    let bad = ReleaseRecord {
        sha256: "XYZ".into(),
        ..release("0.2.1", ReleaseKind::App, 'a')
    };
    assert!(store.record_release(&bad).await.is_err());
    let releases = store.releases().await.expect("releases");
    assert_eq!(releases.len(), 3);
    assert!(releases.iter().any(|r| r == &first));
}

/// The CLI refuses a release never published, and starts, shows and pauses a published one.
#[test]
fn the_cli_refuses_unknown_releases_and_drives_rollouts() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("platform.db").display());
    let cli = |args: &[&str]| common::platform_cli(&db, args);
    let (ok, _, err) = cli(&["rollout", "start", "--release", "9.9.9"]);
    assert!(!ok);
    assert!(
        err.contains("no app release 9.9.9 has been published"),
        "{err}"
    );
    let (ok, _, err) = cli(&[
        "rollout",
        "start",
        "--release",
        "0.2.0",
        "--groups",
        "50,10",
    ]);
    assert!(!ok && err.contains("groups"), "{err}");

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let terminal = runtime.block_on(async {
        let store = Store::open(&db.parse().expect("url")).await.expect("store");
        record_release(&store, "0.2.0", ReleaseKind::App).await;
        let token = common::token(&store, Some("haizhou")).await;
        let key = common::new_key();
        let enrolled = store
            .enroll(
                &token,
                "SN-CLI-1",
                &kiosk_protocol::auth::public_key_hex(&key.verifying_key()),
                "TCLI0001",
            )
            .await
            .expect("enrolled");
        enrolled.terminal_id
    });
    let (ok, out, err) = cli(&["terminal", "tag", "--terminal", &terminal, "--add", "pilot"]);
    assert!(ok, "{err}");
    assert!(out.contains("pilot"), "{out}");
    let (ok, _, err) = cli(&["terminal", "tag", "--terminal", "TNOBODY", "--add", "pilot"]);
    assert!(!ok && err.contains("no terminal TNOBODY"), "{err}");
    let (ok, out, err) = cli(&[
        "rollout",
        "start",
        "--release",
        "0.2.0",
        "--tag",
        "pilot",
        "--window",
        "02:00-05:00",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("started rollout #1"), "{out}");
    let (ok, _, err) = cli(&["rollout", "start", "--release", "0.2.0"]);
    assert!(!ok && err.contains("rollout #1"), "overlap: {err}");
    let (ok, out, _) = cli(&["rollout", "pause", "--id", "1"]);
    assert!(ok && out.contains("paused"), "{out}");
    let (ok, _, err) = cli(&["rollout", "pause", "--id", "1"]);
    assert!(!ok && err.contains("only a running rollout"), "{err}");
    let (ok, _, err) = cli(&["rollout", "resume", "--id", "7"]);
    assert!(!ok && err.contains("no rollout #7"), "{err}");
    let (ok, out, err) = cli(&["rollout", "status", "--id", "1", "--json"]);
    assert!(ok, "{err}");
    let status: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(status["state"], "paused");
    assert_eq!(status["window"], "02:00-05:00");
    assert_eq!(status["groups"][0]["size"], 1);
    let (ok, out, _) = cli(&["rollout", "status"]);
    assert!(
        ok && out.contains("rollout #1: app 0.2.0") && out.contains("tag pilot"),
        "{out}"
    );
}
