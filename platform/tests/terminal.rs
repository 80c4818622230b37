//! The terminal API beyond applications, on each backend: heartbeats and remote commands,
//! layered configuration, queue tickets, appointment check-in, progress, certificate PDFs; and
//! a sweep of malformed input over every endpoint in the OpenAPI document that sees only 4xx.

mod common;

use common::{Platform, TestDb, TestTerminal, serve};
use kiosk_platform::store::{ConfigScope, today};
use kiosk_protocol::{ApplicationState, CommandKind};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    heartbeats_record_health_and_carry_commands_to_their_terminal_only,
    configuration_layers_merge_global_site_terminal,
    tickets_number_the_sites_queue,
    appointments_check_in_by_code_or_card_once,
    progress_shows_only_the_applicants_own_applications,
    certificates_are_real_pdfs,
    certificates_come_on_a_roll_for_the_receipt_printer,
    materials_upload_in_checked_chunks_within_limits,
    sealed_materials_are_opened_checked_and_stored_plain,
    a_correction_is_answered_at_another_terminal_with_new_photographs,
    malformed_input_to_every_endpoint_gets_a_4xx,
    a_terminals_audit_trail_reaches_its_events_and_nobody_elses,
);

async fn platform(db: &TestDb) -> Platform {
    serve(db.store().await).await
}

fn heartbeat(printer: &str, reasons: &[&str]) -> Value {
    json!({
        "versions": {"app": "0.1.0", "os": "2026.11"},
        "uptime_secs": 3600,
        "devices": [
            {"device": "printer", "state": printer, "reasons": reasons},
            {"device": "idcard", "state": "ok"}
        ],
        "outbox_depth": 0
    })
}

async fn heartbeats_record_health_and_carry_commands_to_their_terminal_only(db: TestDb) {
    let p = platform(&db).await;
    let a = TestTerminal::enroll(&p, "SN-A", Some("haizhou")).await;
    let b = TestTerminal::enroll(&p, "SN-B", Some("haizhou")).await;
    let (status, answer) = a
        .send(Method::POST, "/v1/heartbeat", Some(&heartbeat("ok", &[])))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["commands"], json!([]));
    assert!((answer["server_time"].as_i64().expect("time") - common::now()).abs() < 5);

    let reboot = p
        .store
        .queue_command(&a.id, CommandKind::Reboot, "ops-test")
        .await
        .expect("queued");
    let shot = p
        .store
        .queue_command(&a.id, CommandKind::CaptureScreenshot, "ops-test")
        .await
        .expect("queued");
    let (_, answer) = a
        .send(
            Method::POST,
            "/v1/heartbeat",
            Some(&heartbeat("degraded", &["paper_low"])),
        )
        .await;
    let kinds: Vec<&str> = answer["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .map(|c| c["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["reboot", "capture_screenshot"]);
    // B sees none of A's commands and cannot answer them.
    let (_, theirs) = b.send(Method::GET, "/v1/commands", None).await;
    assert_eq!(theirs, json!([]));
    let result = json!({"ok": true, "detail": "rebooted"});
    let path = format!("/v1/commands/{reboot}/result");
    assert_eq!(
        b.send(Method::POST, &path, Some(&result)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.send(Method::POST, &path, Some(&result)).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        a.send(Method::POST, &path, Some(&result)).await.0,
        StatusCode::CONFLICT
    );
    // The screenshot was handed out but has no result: it is offered again.
    let (_, pending) = a.send(Method::GET, "/v1/commands", None).await;
    assert_eq!(pending[0]["id"], shot);
    assert_eq!(pending.as_array().map(Vec::len), Some(1));
    for bad in [
        "/v1/commands/abc/result",
        "/v1/commands/99999999999999999999/result",
    ] {
        assert_eq!(
            a.send(Method::POST, bad, Some(&result)).await.0,
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
    // An invalid result is refused with 422, which the OpenAPI document lists (schemathesis,
    // scripts/api-fuzz, found it answered but undocumented).
    let invalid = json!({"ok": true, "detail": "a\u{7}b"});
    let shot_path = format!("/v1/commands/{}/result", pending[0]["id"]);
    assert_eq!(
        a.send(Method::POST, &shot_path, Some(&invalid)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let doc: Value = reqwest::get(format!("{}/openapi.json", p.url))
        .await
        .expect("answer")
        .json()
        .await
        .expect("doc");
    let documented = &doc["paths"]["/v1/commands/{id}/result"]["post"]["responses"];
    assert!(documented.get("422").is_some(), "{documented}");
    // Bounds.
    let mut too_many = heartbeat("ok", &[]);
    too_many["devices"] = json!(vec![json!({"device": "x", "state": "ok"}); 17]);
    assert_eq!(
        a.send(Method::POST, "/v1/heartbeat", Some(&too_many))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let unknown_state = heartbeat("on_fire", &[]);
    assert_eq!(
        a.send(Method::POST, "/v1/heartbeat", Some(&unknown_state))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
}

async fn configuration_layers_merge_global_site_terminal(db: TestDb) {
    let p = platform(&db).await;
    let a = TestTerminal::enroll(&p, "SN-A", Some("haizhou")).await;
    let b = TestTerminal::enroll(&p, "SN-B", Some("ganyu")).await;
    let store = &p.store;
    store
        .set_config(
            &ConfigScope::Global,
            &json!({"idle_secs": 90, "printer": {"width": 384, "cut": true}}),
        )
        .await
        .expect("global");
    store
        .set_config(
            &ConfigScope::Site("haizhou".into()),
            &json!({"printer": {"width": 576}}),
        )
        .await
        .expect("site");
    store
        .set_config(
            &ConfigScope::Terminal(a.id.clone()),
            &json!({"idle_secs": 120}),
        )
        .await
        .expect("terminal");
    let (status, config) = a.send(Method::GET, "/v1/config", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        config["config"],
        json!({"idle_secs": 120, "printer": {"width": 576, "cut": true}})
    );
    let (_, config) = b.send(Method::GET, "/v1/config", None).await;
    assert_eq!(
        config["config"],
        json!({"idle_secs": 90, "printer": {"width": 384, "cut": true}})
    );
}

async fn tickets_number_the_sites_queue(db: TestDb) {
    let p = platform(&db).await;
    let a = TestTerminal::enroll(&p, "SN-A", Some("haizhou")).await;
    let b = TestTerminal::enroll(&p, "SN-B", Some("haizhou")).await;
    let c = TestTerminal::enroll(&p, "SN-C", Some("ganyu")).await;
    let catalog = kiosk_platform::seed::seed_catalog().expect("seed");
    let matter = &catalog.matters[0];
    p.store
        .set_config(
            &ConfigScope::Site("haizhou".into()),
            &json!({"queue": {"prefix": "B", "windows": {(matter.department.clone()): "3号窗口"}}}),
        )
        .await
        .expect("config");
    let body = json!({"matter_id": matter.id});
    let (status, first) = a.send(Method::POST, "/v1/tickets", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["ticket_no"], "B001");
    assert_eq!(first["window"], "3号窗口");
    assert_eq!(first["people_ahead"], 0);
    let (_, second) = b.send(Method::POST, "/v1/tickets", Some(&body)).await;
    assert_eq!(second["ticket_no"], "B002");
    assert_eq!(second["people_ahead"], 1);
    // Another site has its own queue and its own settings.
    let (_, other) = c.send(Method::POST, "/v1/tickets", Some(&body)).await;
    assert_eq!(other["ticket_no"], "A001");
    assert_eq!(other["window"], "综合窗口");
    for bad in [
        json!({"matter_id": "no-such-matter"}),
        json!({"matter_id": ""}),
    ] {
        assert_eq!(
            a.send(Method::POST, "/v1/tickets", Some(&bad)).await.0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
}

async fn appointments_check_in_by_code_or_card_once(db: TestDb) {
    let p = platform(&db).await;
    let a = TestTerminal::enroll(&p, "SN-A", Some("haizhou")).await;
    let elsewhere = TestTerminal::enroll(&p, "SN-G", Some("ganyu")).await;
    let day = today();
    p.store
        .create_appointment(
            "YY2026AB",
            "320706198802020228",
            "王五",
            "lyg-health-0701",
            "haizhou",
            &day,
            "09:30-10:00",
        )
        .await
        .expect("booked");
    p.store
        .create_appointment(
            "YY2026CD",
            "32070619900101013X",
            "赵六",
            "lyg-health-0701",
            "haizhou",
            &day,
            "10:00-10:30",
        )
        .await
        .expect("booked");
    let (status, by_code) = a
        .send(
            Method::POST,
            "/v1/appointments/check-in",
            Some(&json!({"code": "yy2026ab"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by_code}");
    assert_eq!(by_code["found"], true);
    assert_eq!(by_code["appointment"]["slot"], "09:30-10:00");
    let ticket = by_code["ticket"]["ticket_no"].clone();
    assert_eq!(ticket, "A001");
    // Checking in again, now with the card: the same appointment, the same ticket.
    let (_, by_card) = a
        .send(
            Method::POST,
            "/v1/appointments/check-in",
            Some(&json!({"id_number": "320706198802020228", "name": "王五"})),
        )
        .await;
    assert_eq!(by_card["found"], true);
    assert_eq!(by_card["ticket"]["ticket_no"], ticket);
    let (_, other) = a
        .send(
            Method::POST,
            "/v1/appointments/check-in",
            Some(&json!({"id_number": "32070619900101013x", "name": "赵六"})),
        )
        .await;
    assert_eq!(other["ticket"]["ticket_no"], "A002");
    // Not at this site, not booked, malformed.
    let (_, away) = elsewhere
        .send(
            Method::POST,
            "/v1/appointments/check-in",
            Some(&json!({"code": "YY2026AB"})),
        )
        .await;
    assert_eq!(away, json!({"found": false}));
    let (_, nobody) = a
        .send(
            Method::POST,
            "/v1/appointments/check-in",
            Some(&json!({"id_number": "110101199003070011", "name": "王五"})),
        )
        .await;
    assert_eq!(nobody["found"], false);
    for bad in [
        json!({}),
        json!({"code": "YY2026AB", "id_number": "320706198802020228"}),
        json!({"code": "x'; --"}),
    ] {
        assert_eq!(
            a.send(Method::POST, "/v1/appointments/check-in", Some(&bad))
                .await
                .0,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }
}

fn application(t: &TestTerminal, id_number: &str) -> Value {
    json!({
        "terminal_id": t.id,
        "matter_id": "lyg-health-0701",
        "applicant": {"name": "测试", "id_number": id_number, "document_kind": "resident"},
        "language": "zh"
    })
}

async fn submit(t: &TestTerminal, key: &str, id_number: &str) -> String {
    let (status, receipt) = common::answer(
        t.request(
            Method::POST,
            "/v1/applications",
            Some(&application(t, id_number)),
        )
        .header("Idempotency-Key", key)
        .send()
        .await
        .expect("answer"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    receipt["application_no"]
        .as_str()
        .expect("number")
        .to_owned()
}

async fn progress_shows_only_the_applicants_own_applications(db: TestDb) {
    let p = platform(&db).await;
    let a = TestTerminal::enroll(&p, "SN-A", None).await;
    let b = TestTerminal::enroll(&p, "SN-B", None).await;
    let first = submit(&a, "progress-key-1", "320706198802020228").await;
    let second = submit(&b, "progress-key-2", "320706198802020228").await;
    submit(&a, "progress-key-3", "32070619900101013X").await;
    assert!(
        p.store
            .set_application_state(&first, ApplicationState::Approved)
            .await
            .expect("state")
    );
    // The applicant's card at any terminal shows their applications, wherever they applied.
    let (status, mine) = b
        .send(
            Method::POST,
            "/v1/progress",
            Some(&json!({"id_number": "320706198802020228", "name": "测试"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let numbers: Vec<&str> = mine["applications"]
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["application_no"].as_str().expect("no"))
        .collect();
    assert_eq!(numbers, [second.as_str(), first.as_str()]);
    assert_eq!(mine["applications"][1]["state"], "approved");
    assert!(
        !mine.to_string().contains("测试"),
        "no names in progress answers"
    );
    let (_, none) = a
        .send(
            Method::POST,
            "/v1/progress",
            Some(&json!({"id_number": "110101199003070011", "name": "测试"})),
        )
        .await;
    assert_eq!(none["applications"], json!([]));
    assert_eq!(
        a.send(
            Method::POST,
            "/v1/progress",
            Some(&json!({"id_number": "' OR 1=1 --", "name": "测试"}))
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

async fn certificates_are_real_pdfs(db: TestDb) {
    let p = platform(&db).await;
    let a = TestTerminal::enroll(&p, "SN-A", None).await;
    submit(&a, "cert-key-0001", "320706198802020228").await;
    let response = a
        .request(
            Method::POST,
            "/v1/certificates/application-record",
            Some(&json!({"name": "测试", "id_number": "320706198802020228"})),
        )
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let pdf = response.bytes().await.expect("pdf");
    assert!(pdf.starts_with(b"%PDF-1.4"));
    assert!(pdf.len() < 20_000, "{} bytes", pdf.len());
    // The full ID number is not printed.
    assert!(!pdf.windows(18).any(|w| w == b"320706198802020228"));
    // Where poppler is installed, it must read and render the file.
    if std::process::Command::new("pdfinfo")
        .arg("-v")
        .output()
        .is_ok()
    {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("record.pdf");
        std::fs::write(&file, &pdf).expect("write");
        let info = std::process::Command::new("pdfinfo")
            .arg(&file)
            .output()
            .expect("pdfinfo");
        let info = String::from_utf8_lossy(&info.stdout);
        assert!(
            info.lines()
                .any(|l| l.starts_with("Pages:") && l.split_whitespace().nth(1) == Some("1")),
            "{info}"
        );
        let render = std::process::Command::new("pdftoppm")
            .args(["-png", "-r", "50", "-singlefile"])
            .arg(&file)
            .arg(dir.path().join("page"))
            .output()
            .expect("pdftoppm");
        assert!(
            render.status.success(),
            "{}",
            String::from_utf8_lossy(&render.stderr)
        );
        assert!(dir.path().join("page.png").is_file());
    } else {
        eprintln!("pdfinfo not installed: the PDF's structure was checked, not its rendering");
    }
    let (status, _) = a
        .send(
            Method::POST,
            "/v1/certificates/birth-certificate",
            Some(&json!({"name": "测试", "id_number": "320706198802020228"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = a
        .send(
            Method::POST,
            "/v1/certificates/application-record",
            Some(&json!({"name": "", "id_number": "320706198802020228"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    kiosk_protocol::auth::hex_encode(&sha2::Sha256::digest(bytes))
}

/// A JPEG-shaped file of `len` bytes (start and end markers, noise between).
fn jpeg(len: usize) -> Vec<u8> {
    let mut file = vec![0xFF, 0xD8, 0xFF, 0xE0];
    file.extend((0..len - 6).map(|i| (i * 31 % 251) as u8));
    file.extend([0xFF, 0xD9]);
    file
}

use common::put_chunk;

async fn materials_upload_in_checked_chunks_within_limits(db: TestDb) {
    let p = platform(&db).await;
    let a = TestTerminal::enroll(&p, "SN-A", None).await;
    let b = TestTerminal::enroll(&p, "SN-B", None).await;
    let number = submit(&a, "material-key-1", "320706198802020228").await;
    let start = format!("/v1/applications/{number}/materials");
    let platform_key = kiosk_protocol::sealing::parse_sealing_key(&a.sealing_key).expect("key");
    let seal = |plain: &[u8]| kiosk_protocol::sealing::seal(&platform_key, plain).expect("sealed");
    let photo = jpeg(300_000);
    let file = seal(&photo);
    let sealed_jpeg = "application/vnd.lyb.sealed+jpeg";
    let announce = |size: usize, sha: String, kind: &str, index: u16| json!({"material_index": index, "content_type": kind, "size": size, "sha256": sha});
    let (status, session) = a
        .send(
            Method::POST,
            &start,
            Some(&announce(file.len(), sha256_hex(&file), sealed_jpeg, 0)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let id = session["upload_id"].as_str().expect("id").to_owned();
    let chunk = session["chunk_size"].as_u64().expect("chunk") as usize;
    assert_eq!(session["chunks"], 2);
    let complete = format!("/v1/uploads/{id}/complete");
    // Wrong length, out of range, someone else's upload, missing chunks.
    assert_eq!(
        put_chunk(&a, &id, 0, &file[..100]).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        put_chunk(&a, &id, 2, &file[..100]).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        put_chunk(&b, &id, 0, &file[..chunk]).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        put_chunk(&a, &id, 0, &file[..chunk]).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        a.send(Method::POST, &complete, None).await.0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        put_chunk(&a, &id, 1, &file[chunk..]).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        b.send(Method::POST, &complete, None).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, done) = a.send(Method::POST, &complete, None).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["content_type"], "image/jpeg");
    assert_eq!(done["size"], photo.len());
    assert_eq!(
        put_chunk(&a, &id, 0, &file[..chunk]).await,
        StatusCode::CONFLICT
    );

    // A "PDF" that is a JPEG, and a file that does not match its hash: discarded.
    let small = seal(&jpeg(1000));
    let (_, lie) = a
        .send(
            Method::POST,
            &start,
            Some(&announce(
                small.len(),
                sha256_hex(&small),
                "application/vnd.lyb.sealed+pdf",
                0,
            )),
        )
        .await;
    let lie_id = lie["upload_id"].as_str().expect("id");
    assert_eq!(
        put_chunk(&a, lie_id, 0, &small).await,
        StatusCode::NO_CONTENT
    );
    let (status, answer) = a
        .send(
            Method::POST,
            &format!("/v1/uploads/{lie_id}/complete"),
            None,
        )
        .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("wrong_content"))
    );
    assert_eq!(
        put_chunk(&a, lie_id, 0, &small).await,
        StatusCode::NOT_FOUND
    );
    let (_, wrong) = a
        .send(
            Method::POST,
            &start,
            Some(&announce(small.len(), "0".repeat(64), sealed_jpeg, 0)),
        )
        .await;
    let wrong_id = wrong["upload_id"].as_str().expect("id");
    assert_eq!(
        put_chunk(&a, wrong_id, 0, &small).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        a.send(
            Method::POST,
            &format!("/v1/uploads/{wrong_id}/complete"),
            None
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Announcements outside the limits.
    let sha = "0".repeat(64);
    for (body, status) in [
        (
            announce(10 * 1024 * 1024 + 1, sha.clone(), sealed_jpeg, 0),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            announce(100, sha.clone(), "image/png", 0),
            StatusCode::BAD_REQUEST,
        ),
        (
            announce(100, sha.clone(), "image/jpeg", 0),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            announce(100, sha.clone(), sealed_jpeg, 999),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            announce(100, "xyz".into(), sealed_jpeg, 0),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        assert_eq!(
            a.send(Method::POST, &start, Some(&body)).await.0,
            status,
            "{body}"
        );
    }
    // Another terminal's application, and one that does not exist.
    let body = announce(100, sha.clone(), sealed_jpeg, 0);
    assert_eq!(
        b.send(Method::POST, &start, Some(&body)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        a.send(
            Method::POST,
            "/v1/applications/LY20000101000001/materials",
            Some(&body)
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    // The per-application total: 300 KB stored, then 10 MB files until the 30 MB cap.
    let ten = announce(10 * 1024 * 1024, sha.clone(), sealed_jpeg, 0);
    assert_eq!(
        a.send(Method::POST, &start, Some(&ten)).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        a.send(Method::POST, &start, Some(&ten)).await.0,
        StatusCode::CREATED
    );
    let (status, full) = a.send(Method::POST, &start, Some(&ten)).await;
    assert_eq!(
        (status, full["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("application_too_large"))
    );
}

/// Every operation in the OpenAPI document, signed by an enrolled terminal, with bodies and
/// path parameters that are wrong in many ways: only 4xx answers (and 2xx where the input is
/// acceptable after all, e.g. an empty command list), never a 5xx.
async fn malformed_input_to_every_endpoint_gets_a_4xx(db: TestDb) {
    let p = platform(&db).await;
    let t = TestTerminal::enroll(&p, "SN-FUZZ", Some("haizhou")).await;
    let doc: Value = reqwest::get(format!("{}/openapi.json", p.url))
        .await
        .expect("answer")
        .json()
        .await
        .expect("doc");
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"not json".to_vec(),
        b"[]".to_vec(),
        b"null".to_vec(),
        b"{}".to_vec(),
        b"{\"matter_id\": 5, \"ok\": \"yes\", \"uptime_secs\": -1}".to_vec(),
        b"{\"id_number\": \"\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\"}".to_vec(),
        "{\"name\": \"😀\", \"id_number\": \"😀😀😀😀😀😀😀😀\", \"code\": \"😀😀😀😀\"}"
            .as_bytes()
            .to_vec(),
        vec![0xff, 0xfe, 0x00, 0x7b],
        format!("{{\"token\": \"{}\"}}", "a".repeat(70_000)).into_bytes(),
        format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
    ];
    let params = [
        "x",
        "0",
        "-1",
        "%00",
        "..%2F..%2Fetc",
        "99999999999999999999999",
        "LY20260101000001",
    ];
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for (method, _) in ops.as_object().expect("ops") {
            let method: Method = method.to_uppercase().parse().expect("method");
            let concrete: Vec<String> = if path.contains('{') {
                params
                    .iter()
                    .map(|v| {
                        let start = path.find('{').unwrap_or(0);
                        let end = path.find('}').map(|e| e + 1).unwrap_or(path.len());
                        format!("{}{v}{}", &path[..start], &path[end..])
                    })
                    .collect()
            } else {
                vec![path.clone()]
            };
            for target in &concrete {
                for body in &bodies {
                    let signed = kiosk_protocol::sign_request(
                        &t.key,
                        &t.id,
                        method.as_str(),
                        target,
                        common::now(),
                        &common::nonce(),
                        body,
                    );
                    let mut request = t
                        .http
                        .request(method.clone(), format!("{}{target}", p.url))
                        .header("content-type", "application/json")
                        .header("Idempotency-Key", "fuzz-key-0001")
                        .body(body.clone());
                    for (name, value) in signed.pairs() {
                        request = request.header(name, value);
                    }
                    let response = match request.send().await {
                        Ok(response) => response,
                        // A body over the route's limit is refused as soon as the limit is
                        // passed, and the connection closed: a client still writing the rest
                        // may see its write fail rather than the 413. The platform must still
                        // serve the next request.
                        Err(e) if body.len() > 4096 && e.is_request() => {
                            let alive = t.http.get(format!("{}/healthz", p.url)).send().await;
                            assert!(
                                alive.is_ok_and(|r| r.status().is_success()),
                                "{method} {target}: the platform stopped serving after {e}"
                            );
                            checked += 1;
                            continue;
                        }
                        Err(e) => panic!("{method} {target}: no answer: {e}"),
                    };
                    let status = response.status();
                    assert!(
                        !status.is_server_error(),
                        "{method} {target} with {:?} answered {status}",
                        String::from_utf8_lossy(&body[..body.len().min(60)])
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 150, "only {checked} requests");
}

async fn a_terminals_audit_trail_reaches_its_events_and_nobody_elses(db: TestDb) {
    let p = platform(&db).await;
    let t = TestTerminal::enroll(&p, "SN-AUDIT-1", None).await;
    let other = TestTerminal::enroll(&p, "SN-AUDIT-2", None).await;
    let event =
        json!({"kind": "maintenance_entered", "detail": "PIN accepted", "at": 1_800_000_000});
    let (status, _) = t.send(Method::POST, "/v1/events", Some(&event)).await;
    assert_eq!(status, reqwest::StatusCode::NO_CONTENT);
    let events = p.store.events(&t.id).await.expect("events");
    assert!(
        events
            .iter()
            .any(|e| e.kind == "terminal.maintenance_entered" && e.detail == "PIN accepted"),
        "{events:?}"
    );
    assert!(
        !p.store
            .events(&other.id)
            .await
            .expect("events")
            .iter()
            .any(|e| e.kind.starts_with("terminal.")),
    );
    for bad in [
        json!({"kind": "Maintenance Entered", "at": 1_800_000_000}),
        json!({"kind": "x", "detail": "a\u{7}b", "at": 1_800_000_000}),
        json!({"kind": "x", "at": 12}),
    ] {
        let (status, body) = t.send(Method::POST, "/v1/events", Some(&bad)).await;
        assert_eq!(
            status,
            reqwest::StatusCode::UNPROCESSABLE_ENTITY,
            "{bad} {body}"
        );
    }
}

/// What the platform stores for an application's materials: (content type, size, sha256,
/// the file reassembled from its chunks), completed uploads only.
async fn stored_materials(
    store: &kiosk_platform::Store,
    upload_ids: &[&str],
) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for id in upload_ids {
        let chunks = store.chunks(id).await.expect("chunks");
        let file: Vec<u8> = chunks
            .iter()
            .flat_map(|(_, data)| data.iter().copied())
            .collect();
        out.push(((*id).to_owned(), file));
    }
    out
}

async fn upload_whole(
    t: &TestTerminal,
    number: &str,
    kind: &str,
    body: &[u8],
) -> (StatusCode, Value) {
    upload_material(t, number, 1, kind, body).await
}

/// Announces material `index` of application `number` from terminal `t`.
async fn announce(
    t: &TestTerminal,
    number: &str,
    index: u16,
    kind: &str,
    body: &[u8],
) -> (StatusCode, Value) {
    t.send(
        Method::POST,
        &format!("/v1/applications/{number}/materials"),
        Some(&json!({"material_index": index, "content_type": kind, "size": body.len(), "sha256": sha256_hex(body)})),
    )
    .await
}

/// Uploads material `index` whole: announced, sent in chunks, completed.
async fn upload_material(
    t: &TestTerminal,
    number: &str,
    index: u16,
    kind: &str,
    body: &[u8],
) -> (StatusCode, Value) {
    let (status, session) = announce(t, number, index, kind, body).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let id = session["upload_id"].as_str().expect("id").to_owned();
    let chunk = session["chunk_size"].as_u64().expect("chunk") as usize;
    for (n, part) in body.chunks(chunk).enumerate() {
        assert_eq!(
            put_chunk(t, &id, n as u64, part).await,
            StatusCode::NO_CONTENT
        );
    }
    let (status, mut done) = t
        .send(Method::POST, &format!("/v1/uploads/{id}/complete"), None)
        .await;
    done["upload_id"] = json!(id);
    (status, done)
}

async fn sealed_materials_are_opened_checked_and_stored_plain(db: TestDb) {
    let p = platform(&db).await;
    let a = TestTerminal::enroll(&p, "SN-SEAL", None).await;
    let number = submit(&a, "sealed-material-1", "320706198802020228").await;
    let platform_key = kiosk_protocol::sealing::parse_sealing_key(
        &p.store.keys().expect("keys").sealing_public_key(),
    )
    .expect("key");
    let seal = |plain: &[u8]| kiosk_protocol::sealing::seal(&platform_key, plain).expect("sealed");

    // A sealed PDF of two chunks: the platform stores the opened PDF, as a plain upload.
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend((0..400_000).map(|i| (i * 7 % 251) as u8));
    pdf.extend_from_slice(b"\ntrailer\n%%EOF\n");
    let sealed = seal(&pdf);
    let (status, done) = upload_whole(&a, &number, "application/vnd.lyb.sealed+pdf", &sealed).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["content_type"], "application/pdf");
    assert_eq!(done["size"], pdf.len());
    let id = done["upload_id"].as_str().expect("id").to_owned();
    let stored = stored_materials(&p.store, &[&id]).await;
    assert!(stored[0].1 == pdf, "the stored file is the opened PDF");
    let upload = p
        .store
        .upload(&a.id, &id)
        .await
        .expect("upload")
        .expect("kept");
    assert_eq!(
        upload.content_type,
        kiosk_protocol::MaterialContentType::Pdf
    );
    assert_eq!(upload.sha256, sha256_hex(&pdf));
    assert!(upload.complete);
    // Completing again answers the same, once.
    let (status, again) = a
        .send(Method::POST, &format!("/v1/uploads/{id}/complete"), None)
        .await;
    assert_eq!(
        (status, &again["content_type"]),
        (StatusCode::OK, &json!("application/pdf"))
    );

    // A sealed JPEG that is a PDF inside: 415, discarded.
    let (status, answer) = upload_whole(
        &a,
        &number,
        "application/vnd.lyb.sealed+jpeg",
        &seal(&pdf[..2000]),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{answer}");
    assert_eq!(answer["code"], "wrong_content");
    // Bytes not sealed to this platform: 422, discarded.
    let other = kiosk_protocol::sealing::SealingKey::from_secret([9; 32]);
    let foreign = kiosk_protocol::sealing::seal(
        &kiosk_protocol::sealing::parse_sealing_key(&other.public_hex()).expect("key"),
        &jpeg(5000),
    )
    .expect("sealed");
    let (status, answer) =
        upload_whole(&a, &number, "application/vnd.lyb.sealed+jpeg", &foreign).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["code"], "unsealable_body");
    for discarded in [&answer["upload_id"]] {
        let id = discarded.as_str().expect("id");
        assert!(p.store.upload(&a.id, id).await.expect("read").is_none());
    }
    // A sealed JPEG: stored as image/jpeg.
    let photo = jpeg(3000);
    let (status, done) = upload_whole(
        &a,
        &number,
        "application/vnd.lyb.sealed+jpeg",
        &seal(&photo),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["content_type"], "image/jpeg");
    let id = done["upload_id"].as_str().expect("id");
    assert!(stored_materials(&p.store, &[id]).await[0].1 == photo);
}

/// The page sizes (points) and text of a PDF, by poppler; `None` where poppler is missing.
fn poppler_read(pdf: &[u8]) -> Option<(Vec<(f32, f32)>, String)> {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("certificate.pdf");
    std::fs::write(&file, pdf).expect("write");
    let info = std::process::Command::new("pdfinfo")
        .args(["-f", "1", "-l", "99"])
        .arg(&file)
        .output()
        .ok()?;
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    let sizes = info
        .lines()
        .filter(|l| l.starts_with("Page") && l.contains("size:"))
        .map(|l| {
            let numbers: Vec<f32> = l
                .split_once("size:")
                .map(|(_, rest)| rest)
                .unwrap_or("")
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            (numbers[0], numbers[1])
        })
        .collect();
    let text = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext");
    Some((sizes, String::from_utf8_lossy(&text.stdout).into_owned()))
}

async fn certificates_come_on_a_roll_for_the_receipt_printer(db: TestDb) {
    let p = platform(&db).await;
    let a = TestTerminal::enroll(&p, "SN-ROLL", None).await;
    for n in 0..3 {
        submit(&a, &format!("roll-key-000{n}"), "320706198802020228").await;
    }
    let body = json!({"name": "测试", "id_number": "320706198802020228"});
    let fetch = |path: &'static str| {
        let request = a.request(Method::POST, path, Some(&body));
        async move {
            let response = request.send().await.expect("answer");
            let status = response.status();
            (status, response.bytes().await.expect("body").to_vec())
        }
    };
    let (status, roll) = fetch("/v1/certificates/application-record?paper=roll80").await;
    assert_eq!(status, StatusCode::OK);
    assert!(roll.starts_with(b"%PDF-1.4"));
    assert!(!roll.windows(18).any(|w| w == b"320706198802020228"));
    let (status, a4) = fetch("/v1/certificates/application-record?paper=a4").await;
    assert_eq!(status, StatusCode::OK);
    let (status, default) = fetch("/v1/certificates/application-record").await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = fetch("/v1/certificates/application-record?paper=a3").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(String::from_utf8_lossy(&answer).contains("unknown_paper"));
    let (status, _) = fetch("/v1/certificates/application-record?colour=red").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let Some((sizes, text)) = poppler_read(&roll) else {
        eprintln!("poppler not installed: the roll's layout was not measured");
        return;
    };
    // 72 mm wide (204 points), as long as the content, one page for a few applications.
    assert_eq!(sizes.len(), 1, "{sizes:?}");
    let (width, height) = sizes[0];
    assert!((width - 204.1).abs() < 0.5, "{width}");
    assert!(height > 300.0 && height < 1600.0, "{height}");
    for needle in ["办件记录证明", "测试", "320706********0228", "LY", "验证码"] {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
    assert_eq!(text.matches("受理编号").count(), 3, "{text}");
    // The smallest type on the roll is 9 points.
    let smallest = String::from_utf8_lossy(&roll)
        .split(" Tf ")
        .filter_map(|before| before.rsplit("/F1 ").next()?.parse::<f32>().ok())
        .fold(f32::MAX, f32::min);
    assert!(smallest >= 9.0, "{smallest} pt");
    for other in [&a4, &default] {
        let (sizes, _) = poppler_read(other).expect("poppler");
        assert_eq!(sizes, vec![(595.0, 842.0)], "A4 stays the default");
    }
}

/// A 补正 asking for the household register is answered at another terminal than the one that
/// took the application: only with the applicant's card, only the asked material, only with
/// photographs taken for it, once.
/// Asserts a refusal with `status` and `code`, nothing else.
fn refused(answer: (StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(
        (answer.0, answer.1["code"].as_str()),
        (status, Some(code)),
        "{}",
        answer.1
    );
}

/// The department's clerk asks for a 补正 of `materials` and `fields`.
async fn ask(
    store: &kiosk_platform::Store,
    number: &str,
    materials: Vec<u16>,
    fields: Vec<String>,
    reason: &str,
) {
    use kiosk_platform::lifecycle::{Actor, Change};
    use kiosk_platform::store::Scope;
    store
        .advance(
            number,
            Scope::Departments(&["lyg-health".to_owned()]),
            Actor::Clerk("li.clerk".into()),
            Change::AskCorrection {
                materials,
                fields,
                reason: reason.into(),
                answer_by: "2026-12-31".into(),
            },
        )
        .await
        .expect("correction asked");
}

async fn a_correction_is_answered_at_another_terminal_with_new_photographs(db: TestDb) {
    use kiosk_platform::lifecycle::{Actor, Change};
    use kiosk_platform::store::Scope;
    let p = platform(&db).await;
    let a = TestTerminal::enroll(&p, "SN-A", None).await;
    let b = TestTerminal::enroll(&p, "SN-B", None).await;
    let number =
        common::file_application(&a, "correction-0001", "张三", "320706199001010133").await;
    let open = |card_name: &str| {
        let body = json!({"holder": {"name": card_name, "id_number": "320706199001010133"}});
        let path = format!("/v1/applications/{number}/corrections");
        let b = &b;
        async move { b.send(Method::POST, &path, Some(&body)).await }
    };
    let submit = |card_name: &str, uploads: Vec<Value>| {
        let body = json!({"holder": {"name": card_name, "id_number": "320706199001010133"}, "uploads": uploads});
        let path = format!("/v1/applications/{number}/corrections/submit");
        let b = &b;
        async move { b.send(Method::POST, &path, Some(&body)).await }
    };
    let state = || async {
        p.store
            .life_of(&number)
            .await
            .expect("life")
            .last()
            .expect("an event")
            .state
    };
    let platform_key = kiosk_protocol::sealing::parse_sealing_key(
        &p.store.keys().expect("keys").sealing_public_key(),
    )
    .expect("key");
    let photo = kiosk_protocol::sealing::seal(&platform_key, &jpeg(4000)).expect("sealed");
    let household = 2;
    const SEALED_JPEG: &str = "application/vnd.lyb.sealed+jpeg";

    // Nothing asked yet: nothing to open, and terminal B may not upload to A's application.
    refused(
        open("张三").await,
        StatusCode::CONFLICT,
        "no_correction_asked",
    );
    let (status, _) = announce(&b, &number, household, SEALED_JPEG, &photo).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A's own upload from acceptance, before the 补正: it cannot answer it later.
    let (status, earlier) = upload_material(&a, &number, household, SEALED_JPEG, &photo).await;
    assert_eq!(status, StatusCode::OK, "{earlier}");
    p.store
        .advance(
            &number,
            Scope::Departments(&["lyg-health".to_owned()]),
            Actor::Clerk("li.clerk".into()),
            Change::StartReview,
        )
        .await
        .expect("review");
    ask(
        &p.store,
        &number,
        vec![household],
        Vec::new(),
        "户口簿照片不清晰",
    )
    .await;

    // Another card is answered as if there were no such application.
    refused(
        open("李四").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_application",
    );
    refused(
        submit("张三", vec![earlier["upload_id"].clone()]).await,
        StatusCode::CONFLICT,
        "correction_not_open",
    );

    let (status, opened) = open("张三").await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    assert_eq!(opened["materials"], json!([household]));
    assert_eq!(opened["matter_id"], "lyg-health-0701");
    // Only the asked material.
    refused(
        announce(&b, &number, 1, SEALED_JPEG, &photo).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "material_not_asked",
    );
    // An upload from before the 补正 does not answer it; neither does nothing.
    refused(
        submit("张三", vec![earlier["upload_id"].clone()]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_upload",
    );
    refused(
        submit("张三", vec![]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    // An announced upload not yet complete.
    let (status, pending) = announce(&b, &number, household, SEALED_JPEG, &photo).await;
    assert_eq!(status, StatusCode::CREATED, "{pending}");
    refused(
        submit("张三", vec![pending["upload_id"].clone()]).await,
        StatusCode::CONFLICT,
        "upload_incomplete",
    );
    assert_eq!(
        state().await,
        ApplicationState::NeedsMaterials,
        "nothing changed"
    );

    let (status, fresh) = upload_material(&b, &number, household, SEALED_JPEG, &photo).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    // Another card cannot send someone else's answer.
    let (status, _) = submit("李四", vec![fresh["upload_id"].clone()]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        state().await,
        ApplicationState::NeedsMaterials,
        "nothing changed"
    );

    let (status, answered) = submit("张三", vec![fresh["upload_id"].clone()]).await;
    assert_eq!(status, StatusCode::OK, "{answered}");
    assert_eq!(answered["state"], "in_review");
    let last = p
        .store
        .life_of(&number)
        .await
        .expect("life")
        .pop()
        .expect("event");
    assert_eq!(
        (last.action.as_str(), last.actor),
        ("correction_answered", format!("terminal:{}", b.id))
    );
    // Once: a second answer and further uploads are refused.
    refused(
        submit("张三", vec![fresh["upload_id"].clone()]).await,
        StatusCode::CONFLICT,
        "no_correction_asked",
    );
    let (status, _) = announce(&b, &number, household, SEALED_JPEG, &photo).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A 补正 of the form's answers is handed in at a service window.
    ask(
        &p.store,
        &number,
        Vec::new(),
        vec!["address".into()],
        "地址不全",
    )
    .await;
    refused(
        open("张三").await,
        StatusCode::CONFLICT,
        "correction_at_window",
    );
}
