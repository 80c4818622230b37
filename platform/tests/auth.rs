//! Terminal identity on each backend: one-time enrollment tokens, and signed requests that
//! answer 401 — and nothing else — to anything but a fresh signature by the enrolled key; one
//! terminal never sees another's data.

mod common;

use common::{Platform, TestDb, TestTerminal, answer, nonce, now, serve, token};
use kiosk_protocol::auth::public_key_hex;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    an_enrollment_token_works_once_and_only_before_it_expires,
    enrollment_input_is_checked,
    re_enrolling_a_serial_keeps_its_id_and_retires_the_old_key,
    unsigned_garbled_expired_replayed_and_foreign_requests_get_401,
    one_terminal_cannot_see_or_act_for_another,
    a_replay_through_another_instance_is_refused_too,
);

async fn platform(db: &TestDb) -> Platform {
    serve(db.store().await).await
}

async fn enroll_raw(p: &Platform, body: &Value) -> (StatusCode, Value) {
    answer(
        reqwest::Client::new()
            .post(format!("{}/v1/enroll", p.url))
            .json(body)
            .send()
            .await
            .expect("answer"),
    )
    .await
}

fn enrollment(token: &str, serial: &str) -> Value {
    json!({
        "token": token,
        "hardware_serial": serial,
        "public_key": public_key_hex(&common::new_key().verifying_key()),
    })
}

fn application(t: &TestTerminal) -> Value {
    json!({
        "terminal_id": t.id,
        "matter_id": "lyg-health-0701",
        "applicant": {"name": "王五", "id_number": "320706198802020228", "document_kind": "resident"},
        "language": "zh"
    })
}

async fn an_enrollment_token_works_once_and_only_before_it_expires(db: TestDb) {
    let p = platform(&db).await;
    let token = token(&p.store, Some("haizhou")).await;
    let (status, first) = enroll_raw(&p, &enrollment(&token, "SN-0001")).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["site"], "haizhou");
    assert!(first["config"].is_object());
    // The same token again, even for another terminal: refused.
    let (status, again) = enroll_raw(&p, &enrollment(&token, "SN-0002")).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
    // An expired token.
    let old = kiosk_platform::store::random_hex(24).expect("token");
    p.store
        .create_enrollment_token(&old, None, now() - 1)
        .await
        .expect("stored");
    let (status, _) = enroll_raw(&p, &enrollment(&old, "SN-0003")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A token nobody made.
    let (status, _) = enroll_raw(&p, &enrollment(&"ab".repeat(24), "SN-0004")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn enrollment_input_is_checked(db: TestDb) {
    let p = platform(&db).await;
    let token = token(&p.store, None).await;
    let good = enrollment(&token, "SN-0001");
    let mut cases = vec![
        (json!({"token": token}), StatusCode::BAD_REQUEST),
        (json!([1, 2, 3]), StatusCode::BAD_REQUEST),
    ];
    for (field, value) in [
        ("public_key", json!("00")),
        ("public_key", json!("z".repeat(64))),
        ("public_key", json!("0".repeat(64))),
        ("hardware_serial", json!("")),
        ("hardware_serial", json!("SN 0001; DROP TABLE terminals")),
        ("hardware_serial", json!("S".repeat(65))),
        ("token", json!("short")),
    ] {
        let mut body = good.clone();
        body[field] = value;
        cases.push((body, StatusCode::UNPROCESSABLE_ENTITY));
    }
    for (body, status) in cases {
        assert_eq!(enroll_raw(&p, &body).await.0, status, "{body}");
    }
    let huge = json!({"token": "x".repeat(10_000)});
    assert_eq!(enroll_raw(&p, &huge).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    // None of that spent the token.
    assert_eq!(enroll_raw(&p, &good).await.0, StatusCode::CREATED);
}

async fn re_enrolling_a_serial_keeps_its_id_and_retires_the_old_key(db: TestDb) {
    let p = platform(&db).await;
    let first = TestTerminal::enroll(&p, "SN-REPLACED-DISK", Some("haizhou")).await;
    let token = common::rekey_token(&p.store, &first.id).await;
    let second = TestTerminal::try_enroll(&p, "SN-REPLACED-DISK", &token)
        .await
        .expect("re-keyed with a token made for it");
    assert_eq!(first.id, second.id);
    let path = "/v1/applications/LY20260101000001";
    assert_eq!(
        first.send(Method::GET, path, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        second.send(Method::GET, path, None).await.0,
        StatusCode::NOT_FOUND
    );
    let shown = p
        .store
        .terminal(&first.id)
        .await
        .expect("read")
        .expect("terminal");
    assert_eq!(shown.site.as_deref(), Some("haizhou"));
    // The token was spent; it re-keys nothing a second time.
    let (status, body) = TestTerminal::try_enroll(&p, "SN-REPLACED-DISK", &token)
        .await
        .err()
        .expect("refused");
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
}

async fn unsigned_garbled_expired_replayed_and_foreign_requests_get_401(db: TestDb) {
    let p = platform(&db).await;
    let a = TestTerminal::enroll(&p, "SN-A", None).await;
    let b = TestTerminal::enroll(&p, "SN-B", None).await;
    let body = application(&a);
    let path = "/v1/applications";
    let key_header = ("Idempotency-Key", "auth-test-key-01");
    let mut attempts: Vec<(&str, reqwest::RequestBuilder)> = Vec::new();

    attempts.push((
        "unsigned",
        a.http
            .post(format!("{}{path}", p.url))
            .json(&body)
            .header(key_header.0, key_header.1),
    ));
    for missing in ["X-Terminal-Id", "X-Timestamp", "X-Nonce", "X-Signature"] {
        let signed = kiosk_protocol::sign_request(
            &a.key,
            &a.id,
            "POST",
            path,
            now(),
            &nonce(),
            &serde_json::to_vec(&body).expect("json"),
        );
        let mut request = a
            .http
            .post(format!("{}{path}", p.url))
            .header(key_header.0, key_header.1)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body).expect("json"));
        for (name, value) in signed.pairs() {
            if name != missing {
                request = request.header(name, value);
            }
        }
        attempts.push(("a header missing", request));
    }
    // One header replaced in an otherwise correctly signed request.
    let replace = |name: &'static str, value: &str| {
        let bytes = serde_json::to_vec(&body).expect("json");
        let signed =
            kiosk_protocol::sign_request(&a.key, &a.id, "POST", path, now(), &nonce(), &bytes);
        let mut request = a
            .http
            .post(format!("{}{path}", p.url))
            .header(key_header.0, key_header.1)
            .header("content-type", "application/json")
            .body(bytes);
        for (header, original) in signed.pairs() {
            request = request.header(
                header,
                if header == name {
                    value.to_owned()
                } else {
                    original
                },
            );
        }
        request
    };
    attempts.push((
        "garbled signature",
        replace("X-Signature", &"f".repeat(128)),
    ));
    attempts.push(("short signature", replace("X-Signature", "abcd")));
    attempts.push((
        "non-hex signature",
        replace("X-Signature", &"x".repeat(128)),
    ));
    attempts.push(("timestamp not a number", replace("X-Timestamp", "soon")));
    attempts.push(("nonce too short", replace("X-Nonce", "n1")));
    attempts.push((
        "unknown terminal",
        replace("X-Terminal-Id", "T0000000000000000"),
    ));
    attempts.push((
        "terminal id with odd bytes",
        replace("X-Terminal-Id", "../etc/passwd"),
    ));
    attempts.push((
        "expired",
        a.request_at(Method::POST, path, Some(&body), now() - 301, &nonce())
            .header(key_header.0, key_header.1),
    ));
    // Well past the window: these requests are built now and sent later, one after another, and
    // a timestamp one second ahead would drift back inside the window on a slow machine.
    attempts.push((
        "from the future",
        a.request_at(Method::POST, path, Some(&body), now() + 400, &nonce())
            .header(key_header.0, key_header.1),
    ));
    // Signed by B's key but claiming to be A.
    let foreign = TestTerminal {
        id: a.id.clone(),
        key: b.key.clone(),
        ..a.clone()
    };
    attempts.push((
        "foreign key",
        foreign
            .request(Method::POST, path, Some(&body))
            .header(key_header.0, key_header.1),
    ));
    // A valid signature over another body.
    let bytes = serde_json::to_vec(&body).expect("json");
    let signed = kiosk_protocol::sign_request(&a.key, &a.id, "POST", path, now(), &nonce(), b"{}");
    let mut tampered = a
        .http
        .post(format!("{}{path}", p.url))
        .header(key_header.0, key_header.1)
        .header("content-type", "application/json")
        .body(bytes);
    for (name, value) in signed.pairs() {
        tampered = tampered.header(name, value);
    }
    attempts.push(("body swapped", tampered));
    // A valid signature for another path.
    let signed = kiosk_protocol::sign_request(
        &a.key,
        &a.id,
        "GET",
        "/v1/applications/LY1",
        now(),
        &nonce(),
        b"",
    );
    let mut moved = a.http.get(format!("{}/v1/applications/LY2", p.url));
    for (name, value) in signed.pairs() {
        moved = moved.header(name, value);
    }
    attempts.push(("path swapped", moved));
    // A body too large to check, under a known terminal id.
    let mut huge = a
        .http
        .post(format!("{}{path}", p.url))
        .header(key_header.0, key_header.1)
        .body(vec![b'x'; 3 * 1024 * 1024]);
    let signed = kiosk_protocol::sign_request(&a.key, &a.id, "POST", path, now(), &nonce(), b"x");
    for (name, value) in signed.pairs() {
        huge = huge.header(name, value);
    }
    attempts.push(("body too large to check", huge));

    for (what, request) in attempts {
        let (status, answer) = answer(request.send().await.expect("answer")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
        assert_eq!(answer["code"], "unauthorized", "{what}");
    }
    assert_eq!(p.store.application_count().await.expect("count"), 0);

    // A replay: the first use passes, the identical request again is refused.
    let once = nonce();
    let replayable = || {
        a.request_at(Method::POST, path, Some(&body), now(), &once)
            .header(key_header.0, key_header.1)
    };
    assert_eq!(
        replayable().send().await.expect("answer").status(),
        StatusCode::CREATED
    );
    let (status, replay) = answer(replayable().send().await.expect("answer")).await;
    assert_eq!(
        (status, replay["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    assert_eq!(p.store.application_count().await.expect("count"), 1);

    // The open endpoints stay open.
    for open in ["/healthz", "/v1/catalog", "/openapi.json"] {
        let status = reqwest::get(format!("{}{open}", p.url))
            .await
            .expect("answer")
            .status();
        assert_eq!(status, StatusCode::OK, "{open}");
    }
}

async fn one_terminal_cannot_see_or_act_for_another(db: TestDb) {
    let p = platform(&db).await;
    let a = TestTerminal::enroll(&p, "SN-A", None).await;
    let b = TestTerminal::enroll(&p, "SN-B", None).await;
    let (status, receipt) = answer(
        a.request(Method::POST, "/v1/applications", Some(&application(&a)))
            .header("Idempotency-Key", "cross-key-0001")
            .send()
            .await
            .expect("answer"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let number = receipt["application_no"].as_str().expect("number");
    let path = format!("/v1/applications/{number}");

    let (status, mine) = a.send(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["state"], "accepted");
    assert!(mine.get("applicant").is_none(), "{mine}");
    let (status, theirs) = b.send(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{theirs}");

    // B cannot submit in A's name, nor rate A's application.
    let (status, answer_b) = answer(
        b.request(Method::POST, "/v1/applications", Some(&application(&a)))
            .header("Idempotency-Key", "cross-key-0002")
            .send()
            .await
            .expect("answer"),
    )
    .await;
    assert_eq!(
        (status, answer_b["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("terminal_mismatch"))
    );
    let rating = |t: &TestTerminal| json!({"application_no": number, "matter_id": "lyg-health-0701", "terminal_id": t.id, "level": 5});
    assert_eq!(
        b.send(Method::POST, "/v1/ratings", Some(&rating(&b)))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        b.send(Method::POST, "/v1/ratings", Some(&rating(&a)))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        a.send(Method::POST, "/v1/ratings", Some(&rating(&a)))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(p.store.application_count().await.expect("count"), 1);
}

/// Two platform instances on one database: a request accepted by one, replayed to the other,
/// is refused (nonces live in the database; SQLite writes them within a fraction of a second).
async fn a_replay_through_another_instance_is_refused_too(db: TestDb) {
    let a = platform(&db).await;
    let b = serve(db.instance().await).await;
    let t = TestTerminal::enroll(&a, "SN-REPLAY", None).await;
    let once = common::nonce();
    let heartbeat = json!({"uptime_secs": 1});
    let first = t
        .request_at(
            Method::POST,
            "/v1/heartbeat",
            Some(&heartbeat),
            now(),
            &once,
        )
        .send()
        .await
        .expect("answer");
    assert_eq!(first.status(), StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let replay = t
        .via(&b)
        .request_at(
            Method::POST,
            "/v1/heartbeat",
            Some(&heartbeat),
            now(),
            &once,
        )
        .send()
        .await
        .expect("answer");
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
}
