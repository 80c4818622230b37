//! Personal data never reaches a log: the real `kiosk-platform serve` binary, logging at debug
//! level, takes applications, progress queries, check-ins, certificates and malformed requests
//! carrying names, ID numbers, phones and form answers (bank cards, addresses, another person's
//! ID number); none of them appears in what it printed.

mod common;

use std::process::Stdio;

use kiosk_testkit::PlatformPeer;
use reqwest::Method;
use serde_json::json;

const NAME: &str = "欧阳娜娜";
const ID_NUMBER: &str = "32070619851231002X";
const PHONE: &str = "13912345678";
const BANK_CARD: &str = "6222021001116245702";
const STREET: &str = "朝阳东路88号3幢201室";
const SPOUSE: &str = "司马相如";
const SPOUSE_ID: &str = "11010519491231002X";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_id_numbers_and_phones_never_reach_the_log() {
    let dir = tempfile::tempdir().expect("dir");
    let db_file = dir.path().join("p.db");
    let db = format!("sqlite://{}", db_file.display());
    let mut command = PlatformPeer::command(&db_file, "127.0.0.1:0").expect("kiosk-platform");
    command.env("RUST_LOG", "debug").stderr(Stdio::piped());
    let platform = PlatformPeer::spawn(command, &db_file).expect("platform starts");
    let url = platform.url.clone();

    // A terminal, enrolled with a token made in the same database.
    let store = kiosk_platform::Store::open(&db.parse().expect("url"))
        .await
        .expect("store");
    let keys = kiosk_platform::keys::KeyFile::load(&db_file.with_extension("keys")).expect("keys");
    store.use_keys(keys.into_keys()).await.expect("keys fit");
    let p = common::Platform {
        url: url.clone(),
        store: store.clone(),
    };
    let t = common::TestTerminal::enroll(&p, "SN-LOG-1", Some("haizhou")).await;
    store
        .create_appointment(
            "YYLOG001",
            ID_NUMBER,
            NAME,
            "lyg-health-0701",
            "haizhou",
            &kiosk_platform::store::today(),
            "09:00-09:30",
        )
        .await
        .expect("appointment");
    let application = json!({
        "terminal_id": t.id, "matter_id": "lyg-health-0701", "language": "zh",
        "applicant": {"name": NAME, "id_number": ID_NUMBER, "document_kind": "resident", "phone": PHONE}
    });
    let (status, _) = common::answer(
        t.request(Method::POST, "/v1/applications", Some(&application))
            .header("Idempotency-Key", "log-key-0001")
            .send()
            .await
            .expect("answer"),
    )
    .await;
    assert!(status.is_success());
    // The same key with another body, and bodies that fail validation, all carrying data.
    let mut other = application.clone();
    other["applicant"]["phone"] = json!("13900000000");
    let _ = t
        .request(Method::POST, "/v1/applications", Some(&other))
        .header("Idempotency-Key", "log-key-0001")
        .send()
        .await;
    let mut bad = application.clone();
    bad["applicant"]["document_kind"] = json!(format!("{NAME}{ID_NUMBER}"));
    let _ = t
        .request(Method::POST, "/v1/applications", Some(&bad))
        .header("Idempotency-Key", "log-key-0002")
        .send()
        .await;
    // Form answers with a bank card, an address and another person's ID number, accepted and
    // refused (a wrong card number, an answer for no field, a hidden field answered).
    let answers = json!({
        "name": NAME, "phone": PHONE, "method": "actual_rent", "monthly_rent": "1500",
        "lease_start": "2026-01-01", "lease_end": "2027-01-01",
        "rented_address": {"region": "320706010", "street": STREET},
        "marital_status": "married", "spouse_name": SPOUSE, "spouse_id_number": SPOUSE_ID,
        "bank": "icbc", "bank_card": BANK_CARD, "declaration": true
    });
    let rent = |answers: &serde_json::Value| {
        json!({"terminal_id": t.id, "matter_id": "lyg-hpf-0303", "language": "zh",
               "applicant": {"name": NAME, "id_number": ID_NUMBER, "document_kind": "resident"},
               "answers": answers})
    };
    let mut wrong = answers.clone();
    wrong["bank_card"] = json!(format!("{BANK_CARD}1"));
    wrong[format!("{STREET}{SPOUSE_ID}")] = json!(SPOUSE);
    let mut hidden = answers.clone();
    hidden["method"] = json!("fixed");
    for (key, answers) in [
        ("log-form-0001", &answers),
        ("log-form-0002", &wrong),
        ("log-form-0003", &hidden),
    ] {
        let status = t
            .request(Method::POST, "/v1/applications", Some(&rent(answers)))
            .header("Idempotency-Key", key)
            .send()
            .await
            .expect("answer")
            .status();
        assert!(status.as_u16() < 500, "{key}: {status}");
    }
    for (path, body) in [
        (
            "/v1/progress",
            json!({"id_number": ID_NUMBER, "name": NAME}),
        ),
        ("/v1/progress", json!({"id_number": ID_NUMBER})),
        (
            "/v1/appointments/check-in",
            json!({"id_number": ID_NUMBER, "name": NAME}),
        ),
        (
            "/v1/certificates/application-record",
            json!({"name": NAME, "id_number": ID_NUMBER}),
        ),
        (
            "/v1/progress",
            json!({"id_number": format!("{ID_NUMBER}{NAME}"), "name": NAME}),
        ),
    ] {
        let status = t
            .request(Method::POST, path, Some(&body))
            .send()
            .await
            .expect("answer")
            .status();
        assert!(status.as_u16() < 500, "{path}: {status}");
    }
    // Unsigned, with the data in the body.
    let _ = reqwest::Client::new()
        .post(format!("{url}/v1/progress"))
        .json(&json!({"id_number": ID_NUMBER, "name": NAME}))
        .send()
        .await;

    let log = platform.peer.kill_and_collect();
    assert!(
        log.contains("application accepted"),
        "the log is not being captured:\n{log}"
    );
    for secret in [
        NAME,
        ID_NUMBER,
        &ID_NUMBER.to_ascii_lowercase(),
        PHONE,
        "13900000000",
        BANK_CARD,
        STREET,
        SPOUSE,
        SPOUSE_ID,
    ] {
        assert!(!log.contains(secret), "{secret} reached the log:\n{log}");
    }
}
