//! Signature scheme V2 on each backend: the `Idempotency-Key` and `Content-Type` a terminal
//! signed cannot be changed on the way (no second application from one signed body, no body
//! read as another type), and V1, accepted during the transition, is refused once the platform
//! is told to.

mod common;

use common::{Platform, TestDb, TestTerminal, answer, nonce, now, serve, serve_with};
use kiosk_protocol::{SignedContent, sign_request_v2};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    a_changed_idempotency_key_or_content_type_is_refused_under_v2,
    v1_is_accepted_in_the_transition_and_refused_after_it,
);

const PATH: &str = "/v1/applications";

fn application(t: &TestTerminal) -> Value {
    json!({
        "terminal_id": t.id,
        "matter_id": "lyg-health-0701",
        "applicant": {"name": "测试", "id_number": "320706198802020228", "document_kind": "resident"},
        "language": "zh"
    })
}

/// An application signed under V2 with `signed_key` and `signed_type`, sent with `sent_key`
/// and `sent_type` (what someone on the path may have changed).
fn submission(
    t: &TestTerminal,
    p: &Platform,
    (signed_key, sent_key): (&str, &str),
    (signed_type, sent_type): (&str, &str),
) -> reqwest::RequestBuilder {
    let plain = serde_json::to_vec(&application(t)).expect("json");
    let platform = kiosk_protocol::sealing::parse_sealing_key(&t.sealing_key).expect("key");
    let bytes = kiosk_protocol::sealing::seal(&platform, &plain).expect("sealed");
    let content = SignedContent {
        method: "POST",
        path_and_query: PATH,
        content_type: Some(signed_type),
        idempotency_key: Some(signed_key),
        body: &bytes,
    };
    let signed = sign_request_v2(&t.key, &t.id, now(), &nonce(), &content);
    let mut request = t
        .http
        .post(format!("{}{PATH}", p.url))
        .header("Idempotency-Key", sent_key)
        .header("Content-Type", sent_type)
        .body(bytes);
    for (name, value) in signed.pairs() {
        request = request.header(name, value);
    }
    request
}

async fn a_changed_idempotency_key_or_content_type_is_refused_under_v2(db: TestDb) {
    let p = serve(db.store().await).await;
    let a = TestTerminal::enroll(&p, "SN-V2", None).await;
    let json = kiosk_protocol::sealing::SEALED_APPLICATION_CONTENT_TYPE;
    let key = "v2-key-000000000001";
    for (what, request) in [
        (
            "idempotency key changed",
            submission(&a, &p, (key, "v2-key-000000000002"), (json, json)),
        ),
        (
            "content type changed",
            submission(&a, &p, (key, key), (json, "application/json")),
        ),
        (
            "idempotency key sent twice",
            submission(&a, &p, (key, key), (json, json)).header("Idempotency-Key", "v2-key-x"),
        ),
    ] {
        let (status, answer) = answer(request.send().await.expect("answer")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
        assert_eq!(answer["code"], "unauthorized", "{what}");
    }
    assert_eq!(p.store.application_count().await.expect("count"), 0);

    let (status, receipt) = answer(
        submission(&a, &p, (key, key), (json, json))
            .send()
            .await
            .expect("answer"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    assert_eq!(p.store.application_count().await.expect("count"), 1);
}

async fn v1_is_accepted_in_the_transition_and_refused_after_it(db: TestDb) {
    let store = db.store().await;
    let open = serve(store.clone()).await;
    let a = TestTerminal::enroll(&open, "SN-V1", None).await;
    let (status, _) = a.send(Method::GET, "/v1/config", None).await;
    assert_eq!(status, StatusCode::OK, "V1 during the transition");

    let strict = serve_with(store, |state| state.with_signature_v1_accepted(false)).await;
    let a = a.via(&strict);
    let (status, answer) = a.send(Method::GET, "/v1/config", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["code"], "signature_scheme_retired");
    let json = kiosk_protocol::sealing::SEALED_APPLICATION_CONTENT_TYPE;
    let key = "v2-key-000000000003";
    let (status, receipt) = common::answer(
        submission(&a, &strict, (key, key), (json, json))
            .send()
            .await
            .expect("answer"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "V2 after the transition: {receipt}"
    );
}
