//! The outbox against a real platform process: an outage of minutes (replayed on a controlled
//! clock, over real refused connections), a power cut between keeping and sending, and a crash
//! after the platform stored an application but before the outbox let go of it. Counted in the
//! platform's own database: everything arrives, nothing twice.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use kiosk_app::uplink::outbox::Outbox;
use kiosk_protocol::ApplicationRequest;
use kiosk_protocol::sealing::SEALED_APPLICATION_CONTENT_TYPE;

fn application(terminal_id: &str, n: u32) -> ApplicationRequest {
    serde_json::from_value(serde_json::json!({
        "terminal_id": terminal_id,
        "matter_id": "lyg-health-0701",
        "applicant": {
            "name": format!("测试{n}"),
            "id_number": format!("3207061990010{n:05}"),
            "document_kind": "resident"
        },
        "language": "zh"
    }))
    .expect("application")
}

fn stored(db: &Path) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(db).expect("platform db");
    let mut stmt = conn
        .prepare("SELECT idempotency_key, count(*) FROM applications GROUP BY idempotency_key ORDER BY 1")
        .expect("query");
    stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// The outbox's bench, and how these tests keep an application.
type Rig = common::EnrolledTerminal;

trait Keep {
    fn keep(&self, outbox: &Outbox, key: &str, n: u32);
}

impl Keep for Rig {
    fn keep(&self, outbox: &Outbox, key: &str, n: u32) {
        outbox
            .keep_application(
                key,
                &application(&self.terminal_id, n),
                self.link.sealing_key().as_deref(),
            )
            .expect("kept");
    }
}

#[test]
fn applications_taken_during_a_five_minute_outage_all_arrive_after_it_once() {
    let mut rig = Rig::new("SN-OUTBOX-1");
    let clock = Arc::new(AtomicI64::new(1_800_000_000));
    let outbox = {
        let clock = clock.clone();
        rig.outbox()
            .with_clock(Box::new(move || clock.load(Ordering::SeqCst)))
    };
    rig.platform = None; // the platform goes down
    for minute in 0..5u32 {
        for n in 0..2 {
            rig.keep(&outbox, &format!("outage-{minute}-{n}"), minute * 2 + n);
        }
        let round = rig.deliver(&outbox);
        assert_eq!(round.delivered, 0);
        assert!(round.stopped_by.is_some(), "the platform is down");
        clock.fetch_add(60, Ordering::SeqCst);
    }
    let status = outbox.status().expect("status");
    assert_eq!(status.applications, 10);
    assert_eq!(status.oldest_secs, Some(300));
    assert!(status.last_error.is_some());

    // Back on the same address after five minutes; the longest backoff has passed.
    rig.restart_platform();
    clock.fetch_add(300, Ordering::SeqCst);
    let round = rig.deliver(&outbox);
    assert_eq!((round.delivered, round.refused), (10, 0), "{round:?}");
    assert!(rig.deliver(&outbox).delivered == 0, "nothing left to send");
    let rows = stored(&rig.db());
    assert_eq!(rows.len(), 10);
    assert!(rows.iter().all(|(_, count)| *count == 1), "{rows:?}");
}

#[test]
fn a_power_cut_between_keeping_and_sending_loses_nothing() {
    let rig = Rig::new("SN-OUTBOX-1");
    {
        let outbox = rig.outbox();
        rig.keep(&outbox, "power-cut-0001", 1);
        // The terminal dies here: kept, never sent.
    }
    let outbox = rig.outbox();
    assert_eq!(outbox.status().expect("status").applications, 1);
    assert!(stored(&rig.db()).is_empty());
    assert_eq!(rig.deliver(&outbox).delivered, 1);
    assert_eq!(stored(&rig.db()), vec![("power-cut-0001".to_owned(), 1)]);
}

#[test]
fn a_crash_after_the_platform_stored_it_sends_it_again_and_it_is_stored_once() {
    let rig = Rig::new("SN-OUTBOX-1");
    {
        let outbox = rig.outbox();
        rig.keep(&outbox, "after-send-0001", 1);
        let item = outbox.due(1).expect("due").remove(0);
        // Sent and stored by the platform, but the terminal dies before deleting it.
        let receipt = rig
            .tokio
            .block_on(rig.link.submit_raw(
                &item.key,
                SEALED_APPLICATION_CONTENT_TYPE,
                item.body.clone(),
            ))
            .expect("stored");
        assert!(!receipt.replayed);
    }
    let outbox = rig.outbox();
    assert_eq!(rig.deliver(&outbox).delivered, 1);
    assert_eq!(outbox.status().expect("status").depth, 0);
    assert_eq!(stored(&rig.db()), vec![("after-send-0001".to_owned(), 1)]);
}

/// Runs `kiosk-platform ARGS… --db` on the rig's platform database, as an operator would.
fn operator(rig: &Rig, args: &[&str]) {
    let db = format!("sqlite://{}", rig.db().display());
    let args = [args, &["--db", db.as_str()]].concat();
    let out = kiosk_testkit::run("kiosk-platform", &args, &[("RUST_LOG", "warn")]).expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_revoked_terminals_applications_wait_in_the_outbox_until_it_is_restored() {
    let rig = Rig::new("SN-OUTBOX-REVOKED");
    let outbox = rig.outbox();
    rig.keep(&outbox, "revoked-0", 0);
    operator(
        &rig,
        &[
            "terminal",
            "revoke",
            &rig.terminal_id,
            "--reason",
            "reported stolen",
        ],
    );
    let round = rig.deliver(&outbox);
    assert_eq!((round.delivered, round.refused), (0, 0));
    assert!(
        round
            .stopped_by
            .as_deref()
            .is_some_and(|why| why.contains("terminal_revoked")),
        "{:?}",
        round.stopped_by
    );
    let status = outbox.status().expect("status");
    assert_eq!(
        (status.applications, status.refused),
        (1, 0),
        "kept, not set aside"
    );
    assert!(stored(&rig.db()).is_empty());

    operator(&rig, &["terminal", "restore", &rig.terminal_id]);
    outbox.retry_now().expect("due now");
    let round = rig.deliver(&outbox);
    assert_eq!(round.delivered, 1);
    assert_eq!(stored(&rig.db()), [("revoked-0".to_owned(), 1)]);
}

#[test]
fn after_a_key_rotation_new_applications_are_sealed_to_the_new_key_and_old_ones_still_arrive() {
    let mut rig = Rig::new("SN-ROTATE-1");
    let outbox = rig.outbox();
    let old = rig.link.sealing_key().expect("enrollment's sealing key");
    rig.keep(&outbox, "before-rotation-0001", 1);

    // The operator rotates the sealing key and restarts the platform.
    let keys = kiosk_testkit::PlatformPeer::key_file(&rig.db()).expect("key file");
    let rotated = kiosk_testkit::run(
        "kiosk-platform",
        &["keys", "rotate", "--file", &keys.to_string_lossy()],
        &[],
    )
    .expect("keys rotate");
    let printed = String::from_utf8_lossy(&rotated.stdout);
    assert!(rotated.status.success(), "{printed}");
    let new = printed
        .lines()
        .find_map(|l| l.strip_prefix("sealing key 2 added and published: "))
        .unwrap_or_else(|| panic!("no new key in {printed}"))
        .to_owned();
    assert_ne!(new, old);
    rig.platform = None;
    rig.restart_platform();

    // The next heartbeat brings the new key; the terminal seals to it from then on.
    let beat = kiosk_app::runtime::heartbeat::heartbeat(
        &kiosk_app::devices::health::HealthBoard::default(),
        1,
        std::time::Duration::from_secs(60),
        "0.1.0",
    );
    // The first request may still go out on a pooled connection to the stopped process.
    let answer = (0..3)
        .find_map(|_| rig.tokio.block_on(rig.link.heartbeat(&beat)).ok())
        .expect("heartbeat");
    assert_eq!(answer.sealing_key.as_deref(), Some(new.as_str()));
    let config = rig.tokio.block_on(rig.link.config()).expect("config");
    assert_eq!(config.sealing_key.as_deref(), Some(new.as_str()));
    assert!(rig.link.adopt_sealing_key(&new));
    assert_eq!(rig.link.sealing_key().as_deref(), Some(new.as_str()));
    rig.keep(&outbox, "after-rotation-0001", 2);

    // Both arrive: the one sealed to the old key still opens.
    let round = rig.deliver(&outbox);
    assert_eq!((round.delivered, round.refused), (2, 0), "{round:?}");
    assert_eq!(
        stored(&rig.db()),
        vec![
            ("after-rotation-0001".to_owned(), 1),
            ("before-rotation-0001".to_owned(), 1)
        ]
    );
}
