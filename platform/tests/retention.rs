//! Retention on each backend: the materials, form answers and applicant data of applications
//! finished before the cut-off are deleted; their non-personal record (state, steps, rating,
//! case) stays for statistics and for the progress page; newer and open applications are
//! untouched; the run is audited and a second one finds nothing.

mod common;

use common::{TestDb, TestTerminal, file_application, serve};
use kiosk_platform::lifecycle::{Actor, Change};
use kiosk_platform::store::{
    AuditFilter, CaseAnswer, CaseScope, CompletionRating, RatingChannel, Scope,
};
use kiosk_protocol::{RatingIndicators, RatingReason, UploadRequest};
use reqwest::StatusCode;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

on_both_backends!(finished_applications_lose_their_personal_data_and_keep_their_record);

/// `serve --retention-days 1` purges by itself, shortly after start: an application finished
/// two days ago loses its body, card keys and material; one finished an hour ago keeps them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_purges_by_itself_shortly_after_it_starts() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("retain.db");
    drop(
        kiosk_platform::Store::open(&kiosk_platform::DbUrl::Sqlite(path.clone()))
            .await
            .expect("schema"),
    );
    let ago = |hours: i64| {
        (OffsetDateTime::now_utc() - time::Duration::hours(hours))
            .to_offset(time::macros::offset!(+8))
            .replace_nanosecond(0)
            .expect("second")
            .format(&Rfc3339)
            .expect("time")
    };
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    for (no, finished) in [("LY20261001000001", ago(48)), ("LY20261001000002", ago(1))] {
        conn.execute(
            "INSERT INTO applications (application_no, idempotency_key, terminal_id, matter_id, body,
                 accepted_at, state, department, finished_at, holder_key, applicant_key)
             VALUES (?1, ?1, 'T-1', 'lyg-health-0701', 'lyb-enc1:00', ?2, 'approved', 'lyg-health',
                 ?2, 'holder', 'applicant')",
            rusqlite::params![no, finished],
        )
        .expect("application");
        conn.execute(
            "INSERT INTO uploads (id, terminal_id, application_no, material_index, content_type, size,
                 sha256, chunk_size, created_at) VALUES (?1, 'T-1', ?1, 0, 'image/jpeg', 1, 'x', 1, ?2)",
            rusqlite::params![no, finished],
        )
        .expect("upload");
    }
    let platform =
        kiosk_testkit::PlatformPeer::start_with(&path, "127.0.0.1:0", &["--retention-days", "1"])
            .expect("serve");
    let state = |no: &str| -> (Option<String>, String, Option<String>, i64) {
        conn.query_row(
            "SELECT purged_at, body, holder_key, (SELECT COUNT(*) FROM uploads WHERE application_no = ?1)
               FROM applications WHERE application_no = ?1",
            [no],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("row")
    };
    let deadline = std::time::Instant::now() + kiosk_platform::store::FIRST_PURGE_AFTER * 4;
    while state("LY20261001000001").0.is_none() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let (purged, body, holder, uploads) = state("LY20261001000001");
    assert!(
        purged.is_some(),
        "serve purged within {:?}",
        kiosk_platform::store::FIRST_PURGE_AFTER * 4
    );
    assert!(
        body.starts_with("{\"purged\":true")
            && body.contains("lyg-health")
            && holder.is_none()
            && uploads == 0
    );
    let (purged, body, holder, uploads) = state("LY20261001000002");
    assert!(purged.is_none() && body == "lyb-enc1:00" && holder.is_some() && uploads == 1);
    drop(platform);
}

const NAME: &str = "李桂兰";
const ID_NUMBER: &str = "320706194805060044";

async fn upload(p: &common::Platform, t: &TestTerminal, id: &str, no: &str) {
    let request: UploadRequest = serde_json::from_value(serde_json::json!({
        "material_index": 0,
        "content_type": "image/jpeg",
        "size": 9,
        "sha256": "00",
    }))
    .expect("request");
    p.store
        .create_upload(id, &t.id, no, &request, 9, None)
        .await
        .expect("upload");
    p.store
        .put_chunk(id, 0, b"photo-of-".to_vec())
        .await
        .expect("chunk");
    p.store.complete_upload(id).await.expect("complete");
}

async fn finished_applications_lose_their_personal_data_and_keep_their_record(db: TestDb) {
    let p = serve(db.store().await).await;
    let t = TestTerminal::enroll(&p, "KIOSK-RETAIN", Some("haizhou")).await;
    let old = file_application(&t, "retain-old", NAME, ID_NUMBER).await;
    let recent = file_application(&t, "retain-recent", NAME, ID_NUMBER).await;
    let open = file_application(&t, "retain-open", NAME, ID_NUMBER).await;
    for (upload_id, no) in [("UP-OLD", &old), ("UP-RECENT", &recent), ("UP-OPEN", &open)] {
        upload(&p, &t, upload_id, no).await;
    }
    let mine = ["lyg-health".to_owned()];
    let clerk = || Actor::Clerk("zhao".into());
    let complete = |no: String| {
        let store = p.store.clone();
        let mine = mine.clone();
        async move {
            store
                .advance(&no, Scope::Departments(&mine), clerk(), Change::StartReview)
                .await
                .expect("review");
            let note = Change::Complete {
                note: format!("证已寄 {NAME}"),
            };
            store
                .advance(&no, Scope::Departments(&mine), clerk(), note)
                .await
                .expect("complete")
        }
    };
    complete(old.clone()).await;
    let rated = p
        .store
        .rate_completion(
            CompletionRating {
                application_no: old.clone(),
                channel: RatingChannel::Web,
                level: 1,
                reason: Some(RatingReason::TookTooLong),
                indicators: RatingIndicators {
                    overall: 1,
                    efficiency: 1,
                    competence: 2,
                    attitude: 3,
                },
            },
            None,
        )
        .await
        .expect("rated");
    let case = rated.case.expect("a case");
    let answer = CaseAnswer {
        visit: format!("电话回访 {NAME} 13800000000"),
        rectification: "增加窗口".into(),
        reply: "已整改，感谢监督。".into(),
    };
    p.store
        .answer_case("ada", case, CaseScope::All, &answer)
        .await
        .expect("answered");
    // One second later, so the cut-off falls between the two completions.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let cutoff = complete(recent.clone()).await.at;
    let cutoff = OffsetDateTime::parse(&cutoff, &Rfc3339).expect("time");

    let run = p
        .store
        .purge_finished_before("cli", cutoff)
        .await
        .expect("purge");
    assert_eq!(run.applications, 1);

    // The old one's materials, answers and card link are gone...
    assert!(
        p.store
            .upload(&t.id, "UP-OLD")
            .await
            .expect("read")
            .is_none()
    );
    assert!(p.store.chunks("UP-OLD").await.expect("chunks").is_empty());
    let by_card = p
        .store
        .applications_of(ID_NUMBER, NAME)
        .await
        .expect("by card");
    let numbers: Vec<&str> = by_card.iter().map(|a| a.application_no.as_str()).collect();
    assert!(
        !numbers.contains(&old.as_str())
            && numbers.contains(&recent.as_str())
            && numbers.contains(&open.as_str())
    );
    let events = p.store.life_of(&old).await.expect("events");
    assert!(events.len() == 3 && events.iter().all(|e| e.words.is_empty()));
    let cases = p
        .store
        .rating_cases(CaseScope::All, false)
        .await
        .expect("cases");
    let kept = cases[0].answer.as_ref().expect("answer kept");
    assert!(kept.answer.visit.is_empty() && kept.answer.reply == "已整改，感谢监督。");
    // ...its record is not: the terminal's and the progress page's look-ups still work.
    let status = p
        .store
        .terminal_application(&t.id, &old)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(status.state, kiosk_protocol::ApplicationState::Approved);
    assert_eq!(status.history.len(), 3);
    let code = p.store.progress_code(&old).expect("code");
    let page = reqwest::get(format!("{}/progress/{old}?c={code}", p.url))
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.expect("html");
    assert!(
        page.contains("已办结") && page.contains("已整改") && !page.contains(NAME),
        "{page}"
    );
    let stats = p
        .store
        .completion_ratings_by_department()
        .await
        .expect("stats");
    assert_eq!(stats[0].levels[0], 1);

    // The newer and the open ones are untouched.
    for (upload_id, no) in [("UP-RECENT", &recent), ("UP-OPEN", &open)] {
        assert_eq!(p.store.chunks(upload_id).await.expect("chunks").len(), 1);
        assert!(
            p.store
                .upload(&t.id, upload_id)
                .await
                .expect("read")
                .is_some(),
            "{no}"
        );
    }
    let words = p.store.life_of(&recent).await.expect("events");
    assert!(words.iter().any(|e| e.words.contains(NAME)));
    let filed = p.store.answers_of(ID_NUMBER, NAME).await.expect("answers");
    assert!(filed.iter().all(|f| f.application_no != old));

    // Audited, and idempotent.
    let filter = AuditFilter {
        kind: Some("purge".into()),
        limit: 10,
        ..Default::default()
    };
    let lines = p.store.audit_log(&filter).await.expect("audit");
    assert!(
        lines[0]
            .detail
            .starts_with("1 applications finished before"),
        "{}",
        lines[0].detail
    );
    assert_eq!(
        p.store
            .purge_finished_before("cli", cutoff)
            .await
            .expect("again")
            .applications,
        0
    );
    // The terminal replaying the old submission still gets its receipt.
    let replay = serde_json::json!({
        "terminal_id": t.id, "matter_id": "lyg-health-0701",
        "applicant": {"name": NAME, "id_number": ID_NUMBER, "document_kind": "resident"},
        "language": "zh"
    });
    let response = t
        .request(reqwest::Method::POST, "/v1/applications", Some(&replay))
        .header("Idempotency-Key", "retain-old")
        .send()
        .await
        .expect("answer");
    let (status, receipt) = common::answer(response).await;
    assert!(status.is_success(), "{receipt}");
    assert_eq!(receipt["application_no"], old.as_str());

    // The command line: a day at least, then what it did.
    if let kiosk_platform::DbUrl::Sqlite(path) = &db.url {
        let db = format!("sqlite://{}", path.display());
        let (ok, _, err) = common::platform_cli(&db, &["purge", "--older-than-days", "0"]);
        assert!(!ok && err.contains("older-than-days"), "{err}");
        let (ok, out, err) = common::platform_cli(&db, &["purge", "--older-than-days", "1"]);
        assert!(
            ok && out.starts_with("purged 0 applications finished before"),
            "{out}{err}"
        );
    }
}
