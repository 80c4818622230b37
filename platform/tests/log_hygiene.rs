//! Personal data never reaches a log: the real `kiosk-platform serve` binary, logging at debug
//! level, takes applications, progress queries, check-ins, certificates and malformed requests
//! carrying names, ID numbers and phones; none of them appears in what it printed.

mod common;

use std::process::Stdio;

use kiosk_testkit::PlatformPeer;
use reqwest::Method;
use serde_json::json;

const NAME: &str = "欧阳娜娜";
const ID_NUMBER: &str = "32070619851231002X";
const PHONE: &str = "13912345678";

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
    ] {
        assert!(!log.contains(secret), "{secret} reached the log:\n{log}");
    }
}
