//! Trust in terminals on each backend: an enrollment token cannot take over an enrolled
//! terminal (only a token an operator made for that terminal re-keys it), and a revoked
//! terminal is refused on every signed route until it is restored, its records untouched.

mod common;

use common::{Platform, TestDb, TestTerminal, serve, token};
use kiosk_platform::Store;
use kiosk_platform::store::AuditFilter;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    a_foreign_token_cannot_take_a_terminal_over,
    a_token_made_for_one_terminal_rekeys_that_terminal_only,
    a_revoked_terminal_is_refused_everywhere_until_restored,
);

async fn platform(db: &TestDb) -> Platform {
    serve(db.store().await).await
}

fn heartbeat() -> Value {
    json!({
        "versions": {"app": "0.1.0"},
        "uptime_secs": 60,
        "devices": [{"device": "printer", "state": "ok"}],
        "outbox_depth": 0
    })
}

async fn heartbeat_of(t: &TestTerminal) -> (StatusCode, Value) {
    t.send(Method::POST, "/v1/heartbeat", Some(&heartbeat()))
        .await
}

/// The audit lines whose action is `action`, newest first.
async fn audited(store: &Store, action: &str) -> Vec<String> {
    store
        .audit_log(&AuditFilter {
            limit: 200,
            ..AuditFilter::default()
        })
        .await
        .expect("audit log")
        .into_iter()
        .filter(|line| line.action == action)
        .map(|line| line.detail)
        .collect()
}

async fn a_foreign_token_cannot_take_a_terminal_over(db: TestDb) {
    let p = platform(&db).await;
    let real = TestTerminal::enroll(&p, "SN-PRINTED-ON-CASE", Some("haizhou")).await;
    // An attacker with a genuine token made for another site, and the serial read off the case.
    let foreign = token(&p.store, Some("elsewhere")).await;
    for _ in 0..3 {
        let (status, body) = TestTerminal::try_enroll(&p, "SN-PRINTED-ON-CASE", &foreign)
            .await
            .err()
            .expect("refused");
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("terminal_exists")),
            "{body}"
        );
    }
    // The real terminal still works with its key, at its site.
    assert_eq!(heartbeat_of(&real).await.0, StatusCode::OK);
    let shown = p
        .store
        .terminal(&real.id)
        .await
        .expect("read")
        .expect("terminal");
    assert_eq!(shown.site.as_deref(), Some("haizhou"));
    // An operator sees one alarm for the terminal naming the token, counted three times; the
    // audit log has the attempt once, with the token's id and never the token.
    let token_id = kiosk_platform::store::token_id(&kiosk_platform::store::token_hash(&foreign));
    let alarms = p.store.open_alarms(None).await.expect("alarms");
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    assert_eq!(
        (
            alarms[0].terminal_id.as_str(),
            alarms[0].kind.as_str(),
            alarms[0].subject.as_str()
        ),
        (real.id.as_str(), "takeover_refused", token_id.as_str())
    );
    assert_eq!(alarms[0].occurrences, 3);
    let lines = audited(&p.store, "enroll_refused").await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(&real.id) && lines[0].contains(&token_id),
        "{lines:?}"
    );
    let everything = format!(
        "{:?}",
        p.store
            .audit_log(&AuditFilter {
                limit: 200,
                ..AuditFilter::default()
            })
            .await
            .expect("audit")
    );
    assert!(!everything.contains(&foreign));
    // The refusals did not spend the token: it still enrolls a device new to the platform.
    let new = TestTerminal::try_enroll(&p, "SN-BRAND-NEW", &foreign)
        .await
        .expect("a new device enrolls");
    assert_ne!(new.id, real.id);
    // Cleared by an operator, the alarm is gone and the clearing is kept.
    let cleared = p
        .store
        .clear_alarm(alarms[0].id, "otto")
        .await
        .expect("clear")
        .expect("was open");
    assert_eq!(cleared.terminal_id, real.id);
    assert!(
        p.store
            .open_alarms(Some(&real.id))
            .await
            .expect("alarms")
            .is_empty()
    );
    assert!(
        p.store
            .clear_alarm(alarms[0].id, "otto")
            .await
            .expect("clear")
            .is_none()
    );
}

async fn a_token_made_for_one_terminal_rekeys_that_terminal_only(db: TestDb) {
    let p = platform(&db).await;
    let a = TestTerminal::enroll(&p, "SN-A", Some("haizhou")).await;
    let b = TestTerminal::enroll(&p, "SN-B", Some("ganyu")).await;
    let for_a = common::rekey_token(&p.store, &a.id).await;
    // Not for B, whose serial it names: a takeover attempt on B.
    let (status, body) = TestTerminal::try_enroll(&p, "SN-B", &for_a)
        .await
        .err()
        .expect("refused");
    assert_eq!(body["code"], "terminal_exists", "{status} {body}");
    assert_eq!(
        p.store
            .open_alarms(Some(&b.id))
            .await
            .expect("alarms")
            .len(),
        1
    );
    assert_eq!(heartbeat_of(&b).await.0, StatusCode::OK);
    // Not for a device new to the platform either.
    let (status, body) = TestTerminal::try_enroll(&p, "SN-NEW", &for_a)
        .await
        .err()
        .expect("refused");
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("token_for_another_terminal"))
    );
    // For A: a new key, the same id and site; the old key is retired.
    let rekeyed = TestTerminal::try_enroll(&p, "SN-A", &for_a)
        .await
        .expect("re-keyed");
    assert_eq!(rekeyed.id, a.id);
    assert_eq!(heartbeat_of(&a).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(heartbeat_of(&rekeyed).await.0, StatusCode::OK);
    let shown = p
        .store
        .terminal(&a.id)
        .await
        .expect("read")
        .expect("terminal");
    assert_eq!(shown.site.as_deref(), Some("haizhou"));
    // A token for a terminal that does not exist cannot be made.
    let made = p
        .store
        .create_rekey_token(&"ab".repeat(24), "TNOBODY", common::now() + 60)
        .await;
    assert!(
        matches!(made, Err(kiosk_platform::StoreError::UnknownTerminal)),
        "{made:?}"
    );
}

async fn a_revoked_terminal_is_refused_everywhere_until_restored(db: TestDb) {
    let p = platform(&db).await;
    let t = TestTerminal::enroll(&p, "SN-STOLEN", Some("haizhou")).await;
    let other = TestTerminal::enroll(&p, "SN-OTHER", Some("haizhou")).await;
    let application = json!({
        "terminal_id": t.id,
        "matter_id": "lyg-health-0701",
        "applicant": {"name": "王五", "id_number": "320706198802020228", "document_kind": "resident"},
        "language": "zh"
    });
    let submit = |key: &'static str| {
        let t = t.clone();
        let application = application.clone();
        async move {
            common::answer(
                t.request(Method::POST, "/v1/applications", Some(&application))
                    .header("Idempotency-Key", key)
                    .send()
                    .await
                    .expect("answer"),
            )
            .await
        }
    };
    let (status, receipt) = submit("revocation-test-key-0001").await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let path = format!(
        "/v1/applications/{}",
        receipt["application_no"].as_str().expect("number")
    );

    p.store
        .set_revoked(&t.id, Some("reported stolen"), "ada")
        .await
        .expect("revoked");
    let revoked = |(status, body): (StatusCode, Value)| {
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("terminal_revoked")),
            "{body}"
        );
    };
    revoked(heartbeat_of(&t).await);
    revoked(submit("revocation-test-key-0002").await);
    revoked(t.send(Method::GET, &path, None).await);
    revoked(t.send(Method::GET, "/v1/commands", None).await);
    // Others are unaffected; the revocation is audited and in the terminal's events.
    assert_eq!(heartbeat_of(&other).await.0, StatusCode::OK);
    assert_eq!(
        audited(&p.store, "terminal_revoke").await,
        [format!("{}: reported stolen", t.id)]
    );
    let events = p.store.events(&t.id).await.expect("events");
    assert!(
        events.iter().any(|e| e.kind == "terminal_revoke"),
        "{events:?}"
    );
    let shown = p
        .store
        .terminal(&t.id)
        .await
        .expect("read")
        .expect("terminal");
    assert_eq!(
        shown.revoked.map(|(_, why)| why).as_deref(),
        Some("reported stolen")
    );

    // Restored, it works again with the same key, and its application is still there.
    p.store
        .set_revoked(&t.id, None, "ada")
        .await
        .expect("restored");
    assert_eq!(heartbeat_of(&t).await.0, StatusCode::OK);
    let (status, body) = t.send(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // (the same key again answers with the stored number: the row is where it was)
    let (status, again) = submit("revocation-test-key-0001").await;
    assert_eq!(
        (status, &again["application_no"]),
        (StatusCode::OK, &receipt["application_no"])
    );
    assert_eq!(audited(&p.store, "terminal_restore").await, [t.id.as_str()]);
    // Neither can be done to a terminal that does not exist.
    assert!(matches!(
        p.store.set_revoked("TNOBODY", Some("x"), "ada").await,
        Err(kiosk_platform::StoreError::UnknownTerminal)
    ));
}

/// The command line makes re-key tokens for an enrolled terminal only, and revokes and
/// restores terminals with a reason, audited as the CLI's.
#[test]
fn the_cli_makes_rekey_tokens_and_revokes_and_restores() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("platform.db").display());
    let cli = |args: &[&str]| common::platform_cli(&db, args);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let store =
        runtime.block_on(async { Store::open(&db.parse().expect("url")).await.expect("store") });
    let key = common::new_key();
    let public = kiosk_protocol::auth::public_key_hex(&key.verifying_key());
    let terminal = runtime.block_on(async {
        let token = token(&store, Some("haizhou")).await;
        store
            .enroll(&token, "SN-CLI", &public, "TCLI0001")
            .await
            .expect("enrolled")
            .terminal_id
    });

    let (ok, _, err) = cli(&["token", "create", "--terminal", "TNOBODY"]);
    assert!(!ok && err.contains("no terminal TNOBODY"), "{err}");
    let (ok, out, err) = cli(&["token", "create", "--terminal", &terminal]);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("re-keys: {terminal} only")), "{out}");
    let token = out
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .expect("token printed")
        .to_owned();
    let (ok, _, err) = cli(&["terminal", "revoke", &terminal]);
    assert!(!ok && err.contains("--reason"), "{err}");
    let (ok, _, err) = cli(&["terminal", "revoke", &terminal, "--reason", " "]);
    assert!(!ok && err.contains("--reason"), "{err}");
    let (ok, out, err) = cli(&[
        "terminal",
        "revoke",
        &terminal,
        "--reason",
        "lost in transit",
    ]);
    assert!(ok && out.contains("revoked"), "{err}");
    let (ok, _, err) = cli(&["terminal", "revoke", "TNOBODY", "--reason", "x"]);
    assert!(!ok && err.contains("no terminal TNOBODY"), "{err}");
    runtime.block_on(async {
        let credential = store
            .terminal_key(&terminal)
            .await
            .expect("read")
            .expect("terminal");
        assert!(credential.revoked);
        // The re-key token works on the revoked terminal, which stays revoked: a new key
        // does not undo an operator's revocation.
        let rekeyed = store
            .enroll(&token, "SN-CLI", &public, "TUNUSED1")
            .await
            .expect("re-keyed");
        assert_eq!(rekeyed.terminal_id, terminal);
        assert!(
            store
                .terminal_key(&terminal)
                .await
                .expect("read")
                .expect("terminal")
                .revoked
        );
    });
    let (ok, out, err) = cli(&["terminal", "restore", &terminal]);
    assert!(ok && out.contains("restored"), "{err}");
    runtime.block_on(async {
        assert!(
            !store
                .terminal_key(&terminal)
                .await
                .expect("read")
                .expect("terminal")
                .revoked
        );
        let lines = format!(
            "{:?}",
            store
                .audit_log(&AuditFilter {
                    limit: 200,
                    ..AuditFilter::default()
                })
                .await
                .expect("audit")
        );
        for action in ["token_rekey", "terminal_revoke", "terminal_restore"] {
            assert!(lines.contains(action), "{action} in {lines}");
        }
        assert!(lines.contains("lost in transit") && !lines.contains(&token));
    });
}
