//! The outbox on disk: sealing, order, capacity, materials, damage.

use super::*;
use kiosk_protocol::sealing::SealingKey;
use kiosk_protocol::{ApplicationReceipt, ApplicationRequest, MaterialContentType, RatingRequest};
use sha2::{Digest, Sha256};

const NAME: &str = "王小明";
const NUMBER: &str = "320706199001010133";

fn request() -> ApplicationRequest {
    serde_json::from_value(serde_json::json!({
        "terminal_id": "LYG-T-0001",
        "matter_id": "lyg-hrss-0101",
        "applicant": {"name": NAME, "id_number": NUMBER, "document_kind": "resident"},
        "language": "zh"
    }))
    .expect("request")
}

fn platform_key() -> (SealingKey, String) {
    let key = SealingKey::from_secret([3; 32]);
    let public = key.public_hex();
    (key, public)
}

#[test]
fn an_application_on_disk_is_sealed_and_only_the_platform_reads_it() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join(OUTBOX_FILE);
    let (platform, public) = platform_key();
    let outbox = Outbox::open(&path, 10).expect("open");
    let reference = outbox
        .keep_application(
            "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
            &request(),
            Some(&public),
        )
        .expect("kept");
    assert_eq!(reference, "LYT0A1B2C3D4E5F");
    drop(outbox);
    // Nothing personal in any file the outbox wrote (database, WAL, shared memory).
    for entry in std::fs::read_dir(dir.path()).expect("dir").flatten() {
        let bytes = std::fs::read(entry.path()).expect("read");
        for secret in [NAME.as_bytes(), NUMBER.as_bytes()] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "{} holds personal data",
                entry.path().display()
            );
        }
    }
    // Reopened (a restart): the item is still there, and the platform can open it.
    let outbox = Outbox::open(&path, 10).expect("reopen");
    let due = outbox.due(10).expect("due");
    assert_eq!(due.len(), 1);
    let opened: ApplicationRequest =
        serde_json::from_slice(&platform.open(&due[0].body).expect("opens")).expect("json");
    assert_eq!(opened.applicant.name, NAME);
    // The terminal cannot: its own key is not the platform's.
    assert!(SealingKey::from_secret([4; 32]).open(&due[0].body).is_err());
}

#[test]
fn the_same_key_is_kept_once_and_a_full_outbox_says_so() {
    let dir = tempfile::tempdir().expect("dir");
    let (_, public) = platform_key();
    let outbox = Outbox::open(&dir.path().join(OUTBOX_FILE), 10).expect("open");
    for _ in 0..3 {
        outbox
            .keep_application("key-0000-0001", &request(), Some(&public))
            .expect("kept");
    }
    assert_eq!(outbox.status().expect("status").depth, 1);
    for n in 2..=10 {
        outbox
            .keep_application(&format!("key-0000-{n:04}"), &request(), Some(&public))
            .expect("kept");
    }
    let err = outbox
        .keep_application("key-0000-0011", &request(), Some(&public))
        .expect_err("full");
    assert!(matches!(err, OutboxError::Full(10)), "{err}");
    assert!(err.to_string().contains("full"));
    // Without the platform's key nothing is written in the clear.
    let err = outbox
        .keep_application("key-0000-0012", &request(), None)
        .expect_err("no key");
    assert!(matches!(err, OutboxError::NoSealingKey));
}

#[test]
fn items_leave_in_order_only_when_acknowledged_and_ratings_follow_their_application() {
    let dir = tempfile::tempdir().expect("dir");
    let (_, public) = platform_key();
    let outbox = Outbox::open(&dir.path().join(OUTBOX_FILE), 10).expect("open");
    let reference = outbox
        .keep_application("key-0000-0001", &request(), Some(&public))
        .expect("kept");
    outbox
        .keep_rating(&RatingRequest {
            application_no: reference.clone(),
            matter_id: "lyg-hrss-0101".into(),
            terminal_id: "LYG-T-0001".into(),
            level: 5,
            reason: None,
            stage: kiosk_protocol::RatingStage::Acceptance,
            indicators: None,
            holder: None,
        })
        .expect("rating kept");
    // The rating waits for its application.
    let due = outbox.due(10).expect("due");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].kind, ItemKind::Application);
    // A failed attempt postpones it (backoff) and keeps it.
    outbox
        .postpone(&due[0], "connection refused")
        .expect("postpone");
    assert!(outbox.due(10).expect("due").is_empty());
    let status = outbox.status().expect("status");
    assert_eq!((status.applications, status.ratings), (1, 1));
    assert_eq!(status.last_error.as_deref(), Some("connection refused"));
    assert!(outbox.next_due_in().expect("next").is_some());
    outbox.retry_now().expect("retry");
    let due = outbox.due(10).expect("due");
    assert_eq!(due[0].attempts, 1);
    // Acknowledged: gone, and the rating now names the platform's number.
    let receipt = ApplicationReceipt {
        application_no: "LY20261122000042".into(),
        matter_id: "lyg-hrss-0101".into(),
        accepted_at: "2026-11-22T10:00:00+08:00".into(),
        progress_url: String::new(),
        replayed: false,
        progress_code: String::new(),
    };
    outbox.acknowledge(&due[0], Some(&receipt)).expect("ack");
    assert!(!outbox.holds("key-0000-0001").expect("holds"));
    let due = outbox.due(10).expect("due");
    assert_eq!(due.len(), 1);
    let rating: RatingRequest = serde_json::from_slice(&due[0].body).expect("rating");
    assert_eq!(rating.application_no, "LY20261122000042");
    // Refused for good: kept aside, never due again.
    outbox.refuse(&due[0], "422").expect("refuse");
    assert!(outbox.due(10).expect("due").is_empty());
    assert_eq!(outbox.status().expect("status").refused, 1);
}

#[test]
fn a_material_is_sealed_and_waits_for_its_applications_number() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join(OUTBOX_FILE);
    let (platform, public) = platform_key();
    let pdf = b"%PDF-1.4\n1 0 obj\n<< >>\nendobj\ntrailer\n<< >>\n%%EOF\n";
    let outbox = Outbox::open(&path, 10).expect("open");
    outbox
        .keep_application("key-0000-0001", &request(), Some(&public))
        .expect("kept");
    outbox
        .keep_material("key-0000-0001", 2, pdf, Some(&public))
        .expect("material kept");
    assert!(
        outbox.due_materials(10).expect("due").is_empty(),
        "no number yet"
    );
    assert_eq!(outbox.next_due_in().expect("next"), Some(Duration::ZERO));
    let application = outbox.due(10).expect("due").remove(0);
    let receipt = ApplicationReceipt {
        application_no: "LY20261122000042".into(),
        matter_id: "lyg-hrss-0101".into(),
        accepted_at: "2026-11-22T10:00:00+08:00".into(),
        progress_url: String::new(),
        replayed: false,
        progress_code: String::new(),
    };
    outbox
        .acknowledge(&application, Some(&receipt))
        .expect("acknowledged");
    drop(outbox);
    let outbox = Outbox::open(&path, 10).expect("reopen");
    let mut due = outbox.due_materials(10).expect("due");
    assert_eq!(due.len(), 1);
    let item = &mut due[0];
    assert_eq!(item.application_no, "LY20261122000042");
    assert_eq!(item.material_index, 2);
    assert_eq!(item.content_type, MaterialContentType::SealedPdf);
    assert_eq!(
        item.sha256,
        kiosk_protocol::auth::hex_encode(&Sha256::digest(&item.body))
    );
    assert_eq!(platform.open(&item.body).expect("opens"), pdf);
    // Progress survives a restart; a lost upload starts again.
    outbox.material_started(item, "abc123", 4).expect("started");
    outbox.material_progress(item, 2).expect("progress");
    let again = outbox.due_materials(10).expect("due").remove(0);
    assert_eq!(
        (
            again.upload_id.as_deref(),
            again.chunk_size,
            again.chunks_sent
        ),
        (Some("abc123"), 4, 2)
    );
    outbox.material_restart(item).expect("restart");
    assert_eq!(outbox.due_materials(10).expect("due")[0].upload_id, None);
    assert_eq!(outbox.status().expect("status").materials, 1);
    outbox.acknowledge_material(item).expect("done");
    assert_eq!(outbox.status().expect("status").depth, 0);
}

#[test]
fn a_file_that_is_not_an_outbox_is_named() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join(OUTBOX_FILE);
    std::fs::write(
        &path,
        b"this is not a database at all, just text".repeat(50),
    )
    .expect("write");
    let err = Outbox::open(&path, 10).err().expect("refused");
    assert!(err.to_string().contains("outbox.db"), "{err}");
}
