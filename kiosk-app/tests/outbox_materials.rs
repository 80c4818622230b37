//! Materials (申请材料) through the outbox against the real platform process: kept sealed while
//! the platform is down, uploaded after their application once it is back, stored by the
//! platform as the PDFs the camera made; kept aside with a refused application; refused at
//! keep time when too large; and an upload cut between chunks goes on after a restart and
//! completes once. Checked in the platform's own database and in the outbox's files.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use kiosk_app::uplink::outbox::{
    Delivery, MAX_KEPT_MATERIAL_BYTES, Outbox, OutboxError, deliver_due,
};
use kiosk_protocol::ApplicationRequest;

const PAGES: [&str; 2] = [
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../drivers/testdata/camera/page-01-straight.jpg"
    ),
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../drivers/testdata/camera/page-02-left-7.jpg"
    ),
];

/// A material as the terminal makes it: the camera's photos as one multi-page PDF, written by
/// the drivers' PDF writer.
fn material(pages: &[&str]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let photos: Vec<Vec<u8>> = pages
        .iter()
        .map(|p| std::fs::read(p).expect("photo"))
        .collect();
    let refs: Vec<&[u8]> = photos.iter().map(Vec::as_slice).collect();
    let pdf = kiosk_drivers::camera::jpegs_to_pdf(&refs).expect("pdf");
    (pdf, photos)
}

fn application(terminal_id: &str, matter_id: &str) -> ApplicationRequest {
    serde_json::from_value(serde_json::json!({
        "terminal_id": terminal_id,
        "matter_id": matter_id,
        "applicant": {
            "name": "材料测试",
            "id_number": "320706199001010133",
            "document_kind": "resident"
        },
        "language": "zh"
    }))
    .expect("application")
}

/// (application_no, material_index, content_type, completed, SHA-256 of the file) of every
/// upload the platform holds, in the order announced. The platform keeps the file's chunks
/// encrypted (none of them is readable as the file), and the SHA-256 of what it checked.
type Stored = Vec<(String, i64, String, bool, String)>;

fn stored_uploads(db: &Path) -> Stored {
    let conn = rusqlite::Connection::open(db).expect("platform db");
    let mut stmt = conn
        .prepare(
            "SELECT id, application_no, material_index, content_type, completed_at IS NOT NULL, sha256
             FROM uploads ORDER BY created_at, material_index",
        )
        .expect("query");
    let rows: Vec<(String, String, i64, String, bool, String)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    rows.into_iter()
        .map(|(id, no, index, kind, done, sha256)| {
            let mut chunks = conn
                .prepare("SELECT data FROM upload_chunks WHERE upload_id = ?1 ORDER BY n")
                .expect("chunks");
            for chunk in chunks
                .query_map([&id], |r| r.get::<_, Vec<u8>>(0))
                .expect("chunks")
            {
                assert!(
                    !chunk.expect("chunk").starts_with(b"%PDF"),
                    "stored in clear"
                );
            }
            (no, index, kind, done, sha256)
        })
        .collect()
}

fn sha256_hex(file: &[u8]) -> String {
    kiosk_protocol::auth::hex_encode(&<sha2::Sha256 as sha2::Digest>::digest(file))
}

/// The outbox's bench, and how these tests keep an application.
type Rig = common::EnrolledTerminal;

trait Keep {
    fn keep(&self, outbox: &Outbox, key: &str, matter_id: &str);
}

impl Keep for Rig {
    fn keep(&self, outbox: &Outbox, key: &str, matter_id: &str) {
        outbox
            .keep_application(
                key,
                &application(&self.terminal_id, matter_id),
                self.link.sealing_key().as_deref(),
            )
            .expect("application kept");
    }
}

/// Every file the outbox wrote (database, WAL, shared memory).
fn outbox_files(rig: &Rig) -> Vec<(PathBuf, Vec<u8>)> {
    std::fs::read_dir(rig.outbox_path().parent().expect("folder"))
        .expect("folder")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("outbox.db"))
        .map(|e| (e.path(), std::fs::read(e.path()).expect("read")))
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn materials_kept_during_an_outage_arrive_after_their_application_sealed_on_disk() {
    let mut rig = Rig::new("SN-MAT-1");
    let (first, photos) = material(&PAGES);
    let (second, _) = material(&PAGES[1..]);
    assert!(first.len() > 2 * 256 * 1024, "travels in several chunks");

    rig.platform = None; // the platform goes down
    let outbox = rig.outbox();
    rig.keep(&outbox, "materials-0001", "lyg-health-0701");
    outbox
        .keep_material(
            "materials-0001",
            0,
            &first,
            rig.link.sealing_key().as_deref(),
        )
        .expect("first material kept");
    outbox
        .keep_material(
            "materials-0001",
            1,
            &second,
            rig.link.sealing_key().as_deref(),
        )
        .expect("second material kept");
    // Keeping the same material again keeps one.
    outbox
        .keep_material(
            "materials-0001",
            1,
            &second,
            rig.link.sealing_key().as_deref(),
        )
        .expect("kept again");
    let status = outbox.status().expect("status");
    assert_eq!(
        (status.applications, status.materials, status.depth),
        (1, 2, 3)
    );

    // On disk: sealed. No PDF header, no JPEG header, no run of the photos' bytes.
    let files = outbox_files(&rig);
    assert!(
        files.iter().map(|(_, b)| b.len()).sum::<usize>() > first.len(),
        "the materials are in these files"
    );
    let jfif = &photos[0][..10];
    assert_eq!(jfif, b"\xFF\xD8\xFF\xE0\x00\x10JFIF", "a JFIF photo");
    let middle = &photos[0][photos[0].len() / 2..photos[0].len() / 2 + 64];
    let tail = &photos[1][photos[1].len() - 200..photos[1].len() - 136];
    for (path, bytes) in &files {
        for (what, needle) in [
            ("a PDF header", &b"%PDF-1."[..]),
            ("a JPEG/JFIF header", jfif),
            ("a run of the first photo", middle),
            ("a run of the second photo", tail),
        ] {
            assert!(!contains(bytes, needle), "{} holds {what}", path.display());
        }
    }

    let round = rig.deliver(&outbox);
    assert_eq!(round.delivered, 0);
    assert!(round.stopped_by.is_some(), "the platform is down");
    assert!(stored_uploads(&rig.db()).is_empty());

    // Back on the same address: the application first, then both materials.
    rig.restart_platform();
    outbox.retry_now().expect("retry");
    let round = rig.deliver(&outbox);
    assert_eq!((round.delivered, round.refused), (3, 0), "{round:?}");
    assert!(round.stopped_by.is_none(), "{round:?}");
    assert_eq!(outbox.status().expect("status").depth, 0);
    assert_eq!(rig.deliver(&outbox).delivered, 0, "nothing left");

    let numbers = common::application_numbers(&rig.db());
    assert_eq!(numbers.len(), 1);
    let uploads = stored_uploads(&rig.db());
    assert_eq!(uploads.len(), 2, "each material once");
    for ((no, index, kind, done, file), (want_index, want)) in
        uploads.iter().zip([(0, &first), (1, &second)])
    {
        assert_eq!(no, &numbers[0].1);
        assert_eq!(*index, want_index);
        assert_eq!(kind, "application/pdf", "stored opened, as a plain upload");
        assert!(*done);
        assert!(
            *file == sha256_hex(want),
            "material {index}: the platform has the camera's PDF"
        );
    }
}

#[test]
fn a_material_of_a_refused_application_is_kept_aside_and_never_uploaded() {
    let rig = Rig::new("SN-MAT-2");
    let (pdf, _) = material(&PAGES[..1]);
    let outbox = rig.outbox();
    // A matter the platform does not offer: the application is refused for good.
    rig.keep(&outbox, "refused-0001", "lyg-no-such-matter");
    outbox
        .keep_material("refused-0001", 0, &pdf, rig.link.sealing_key().as_deref())
        .expect("kept");
    let round = rig.deliver(&outbox);
    assert_eq!((round.delivered, round.refused), (0, 1), "{round:?}");
    let status = outbox.status().expect("status");
    assert_eq!((status.refused, status.materials), (2, 0), "{status:?}");
    // Kept after the refusal: aside at once.
    outbox
        .keep_material("refused-0001", 1, &pdf, rig.link.sealing_key().as_deref())
        .expect("kept");
    assert_eq!(outbox.status().expect("status").refused, 3);
    outbox.retry_now().expect("retry");
    assert_eq!(rig.deliver(&outbox), Delivery::default());
    assert!(stored_uploads(&rig.db()).is_empty(), "nothing uploaded");
    assert!(common::application_numbers(&rig.db()).is_empty());
}

#[test]
fn a_material_too_large_or_without_its_application_is_refused_when_kept() {
    let rig = Rig::new("SN-MAT-3");
    let outbox = rig.outbox();
    rig.keep(&outbox, "large-0001", "lyg-health-0701");
    let mut huge = b"%PDF-1.4\n".to_vec();
    huge.resize(
        usize::try_from(MAX_KEPT_MATERIAL_BYTES).expect("size") + 1 - 6,
        b' ',
    );
    huge.extend_from_slice(b"%%EOF\n");
    let err = outbox
        .keep_material("large-0001", 0, &huge, rig.link.sealing_key().as_deref())
        .expect_err("too large");
    assert!(
        matches!(err, OutboxError::MaterialTooLarge { size, max } if size == max + 1),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("10 MiB"), "{message}");
    assert!(message.contains(&huge.len().to_string()), "{message}");
    // One byte less fits.
    huge.remove(20);
    outbox
        .keep_material("large-0001", 0, &huge, rig.link.sealing_key().as_deref())
        .expect("the largest material is kept");
    // Not a PDF; no such application; no key to seal to.
    let err = outbox
        .keep_material(
            "large-0001",
            1,
            b"GIF89a not a pdf",
            rig.link.sealing_key().as_deref(),
        )
        .expect_err("not a pdf");
    assert!(err.to_string().contains("not a whole PDF"), "{err}");
    let (pdf, _) = material(&PAGES[..1]);
    let err = outbox
        .keep_material("never-kept", 0, &pdf, rig.link.sealing_key().as_deref())
        .expect_err("no application");
    assert!(
        err.to_string().contains("keep the application first"),
        "{err}"
    );
    let err = outbox
        .keep_material("large-0001", 2, &pdf, None)
        .expect_err("no key");
    assert!(matches!(err, OutboxError::NoSealingKey), "{err}");
    assert_eq!(outbox.status().expect("status").materials, 1);
}

/// How far the outbox's record of the upload got: (upload started, chunks confirmed).
fn upload_progress(outbox_db: &Path) -> (bool, i64) {
    let conn = rusqlite::Connection::open(outbox_db).expect("outbox db");
    conn.query_row(
        "SELECT upload_id IS NOT NULL, chunks_sent FROM materials",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap_or((false, 0))
}

#[test]
fn an_upload_cut_between_chunks_goes_on_after_a_restart_and_completes_once() {
    let rig = Rig::new("SN-MAT-4");
    let (pdf, _) = material(&PAGES);
    let chunks = pdf.len().div_ceil(256 * 1024);
    assert!(chunks >= 3, "{chunks} chunks");
    {
        let outbox = rig.outbox();
        rig.keep(&outbox, "cut-0001", "lyg-health-0701");
        outbox
            .keep_material("cut-0001", 0, &pdf, rig.link.sealing_key().as_deref())
            .expect("kept");
        // The terminal dies once the platform has confirmed the first chunk: the delivery
        // is abandoned mid-upload, as a killed process abandons it.
        let db = rig.outbox_path();
        let cut = rig.tokio.block_on(async {
            tokio::select! {
                round = deliver_due(&outbox, &rig.link, |_, _| {}) => Err(round),
                () = async {
                    while upload_progress(&db).1 < 1 {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                } => Ok(()),
            }
        });
        assert!(
            cut.is_ok(),
            "the delivery finished before it could be cut: {cut:?}"
        );
    }
    let (started, sent) = upload_progress(&rig.outbox_path());
    assert!(
        started && (1..chunks as i64).contains(&sent),
        "{started} {sent}"
    );
    let uploads = stored_uploads(&rig.db());
    assert_eq!(uploads.len(), 1);
    assert!(!uploads[0].3, "not complete at the cut");

    // Restarted: the same upload goes on and completes.
    let outbox = rig.outbox();
    let round = rig.deliver(&outbox);
    assert_eq!((round.delivered, round.refused), (1, 0), "{round:?}");
    assert_eq!(outbox.status().expect("status").depth, 0);
    let uploads = stored_uploads(&rig.db());
    assert_eq!(uploads.len(), 1, "one upload, not a second one");
    let (_, index, kind, done, file) = &uploads[0];
    assert_eq!((*index, kind.as_str(), *done), (0, "application/pdf", true));
    assert!(*file == sha256_hex(&pdf), "the platform has the whole PDF");
    assert_eq!(rig.deliver(&outbox), Delivery::default());
}

#[test]
fn a_material_kept_after_its_application_left_and_a_material_the_platform_refuses() {
    let rig = Rig::new("SN-MAT-5");
    let (pdf, _) = material(&PAGES[..1]);
    let outbox = rig.outbox();
    rig.keep(&outbox, "late-0001", "lyg-health-0701");
    // The sender delivers the application before the runtime has kept its materials.
    assert_eq!(rig.deliver(&outbox).delivered, 1);
    outbox
        .keep_material("late-0001", 0, &pdf, rig.link.sealing_key().as_deref())
        .expect("kept after its application was delivered");
    // The matter has four materials: index 9 is refused by the platform (422), kept aside.
    outbox
        .keep_material("late-0001", 9, &pdf, rig.link.sealing_key().as_deref())
        .expect("kept");
    let round = rig.deliver(&outbox);
    assert_eq!((round.delivered, round.refused), (1, 1), "{round:?}");
    let status = outbox.status().expect("status");
    assert_eq!((status.materials, status.refused), (0, 1), "{status:?}");
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("422")),
        "{status:?}"
    );
    outbox.retry_now().expect("retry");
    assert_eq!(rig.deliver(&outbox), Delivery::default(), "never retried");
    let uploads = stored_uploads(&rig.db());
    assert_eq!(uploads.len(), 1);
    assert!(uploads[0].3 && uploads[0].4 == sha256_hex(&pdf));
}

#[test]
fn an_outage_between_the_application_and_its_materials_is_waited_out() {
    let mut rig = Rig::new("SN-MAT-6");
    let (pdf, _) = material(&PAGES[..1]);
    let outbox = rig.outbox();
    rig.keep(&outbox, "gap-0001", "lyg-health-0701");
    assert_eq!(rig.deliver(&outbox).delivered, 1);
    outbox
        .keep_material("gap-0001", 0, &pdf, rig.link.sealing_key().as_deref())
        .expect("kept");
    rig.platform = None;
    let round = rig.deliver(&outbox);
    assert_eq!((round.delivered, round.refused), (0, 0));
    assert!(round.stopped_by.is_some(), "{round:?}");
    let status = outbox.status().expect("status");
    assert_eq!((status.materials, status.refused), (1, 0));
    assert!(
        outbox.next_due_in().expect("next").is_some(),
        "the sender knows when to try again"
    );
    rig.restart_platform();
    outbox.retry_now().expect("retry");
    assert_eq!(rig.deliver(&outbox).delivered, 1);
    let uploads = stored_uploads(&rig.db());
    assert_eq!(uploads.len(), 1);
    assert!(uploads[0].3 && uploads[0].4 == sha256_hex(&pdf));
}

#[test]
fn an_application_and_its_materials_are_kept_together_or_not_at_all() {
    let rig = Rig::new("SN-MAT-7");
    let outbox = rig.outbox();
    let (first, _) = material(&PAGES);
    let (second, _) = material(&PAGES[1..]);
    // A matter with four materials and no form (the skills-training subsidy).
    let request = application(&rig.terminal_id, "lyg-hrss-0903");

    // One material the platform would refuse (not a PDF): nothing at all is kept.
    let err = outbox
        .keep_application_with_materials(
            "together-0001",
            &request,
            &[(1, first.as_slice()), (3, b"GIF89a not a pdf".as_slice())],
            rig.link.sealing_key().as_deref(),
        )
        .expect_err("refused");
    assert!(err.to_string().contains("not a whole PDF"), "{err}");
    let status = outbox.status().expect("status");
    assert_eq!(
        (status.applications, status.materials),
        (0, 0),
        "{status:?}"
    );

    // Both good: the application and both materials are kept, and arrive.
    let reference = outbox
        .keep_application_with_materials(
            "together-0001",
            &request,
            &[(1, first.as_slice()), (3, second.as_slice())],
            rig.link.sealing_key().as_deref(),
        )
        .expect("kept");
    assert!(reference.starts_with("LYT"), "{reference}");
    let status = outbox.status().expect("status");
    assert_eq!(
        (status.applications, status.materials),
        (1, 2),
        "{status:?}"
    );
    // Kept again under the same key (a retry): nothing doubles.
    outbox
        .keep_application_with_materials(
            "together-0001",
            &request,
            &[(1, first.as_slice()), (3, second.as_slice())],
            rig.link.sealing_key().as_deref(),
        )
        .expect("kept again");
    let status = outbox.status().expect("status");
    assert_eq!(
        (status.applications, status.materials),
        (1, 2),
        "{status:?}"
    );

    let mut delivered = 0;
    for _ in 0..4 {
        delivered += rig.deliver(&outbox).delivered;
    }
    assert!(delivered >= 3, "{delivered} items delivered");
    let uploads = stored_uploads(&rig.db());
    assert_eq!(uploads.len(), 2, "both materials on the platform");
}
