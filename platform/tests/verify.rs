//! Certificates that can be checked, on each backend: the code printed on a real certificate
//! opens a public page showing what the paper certifies (and no full ID number), and every
//! forged code (the old unkeyed digest, a code altered by one character, a record planted in
//! the database without the key) gets the same "not genuine" 404.

mod common;

use common::{Platform, TestDb, TestTerminal, serve};
use kiosk_protocol::ApplicationState;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};

on_both_backends!(
    a_printed_certificate_verifies_and_shows_what_was_printed,
    forged_certificate_codes_are_not_genuine,
);

const ID_NUMBER: &str = "320706198802020228";
const NAME: &str = "测试";

async fn platform(db: &TestDb) -> Platform {
    serve(db.store().await).await
}

async fn submit(t: &TestTerminal, key: &str) -> String {
    let body = json!({
        "terminal_id": t.id,
        "matter_id": "lyg-health-0701",
        "applicant": {"name": NAME, "id_number": ID_NUMBER, "document_kind": "resident"},
        "language": "zh"
    });
    let response = t
        .request(Method::POST, "/v1/applications", Some(&body))
        .header("Idempotency-Key", key)
        .send()
        .await
        .expect("answer");
    let (status, receipt) = common::answer(response).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    receipt["application_no"]
        .as_str()
        .expect("number")
        .to_owned()
}

/// The certificate PDF for the test applicant, on `paper`.
async fn certificate(t: &TestTerminal, paper: &str) -> Vec<u8> {
    let response = t
        .request(
            Method::POST,
            &format!("/v1/certificates/application-record?paper={paper}"),
            Some(&json!({"name": NAME, "id_number": ID_NUMBER})),
        )
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::OK);
    response.bytes().await.expect("pdf").to_vec()
}

/// The text drawn on a PDF of the platform's writer: every `<UTF-16BE hex> Tj`, one line each.
fn pdf_text(pdf: &[u8]) -> String {
    let raw = String::from_utf8_lossy(pdf);
    let mut lines = Vec::new();
    for piece in raw
        .split("> Tj")
        .collect::<Vec<_>>()
        .iter()
        .rev()
        .skip(1)
        .rev()
    {
        let Some((_, hex)) = piece.rsplit_once('<') else {
            continue;
        };
        let bytes = kiosk_protocol::auth::hex_decode(hex).expect("hex text");
        let units: Vec<u16> = bytes
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        lines.push(String::from_utf16_lossy(&units));
    }
    lines.join("\n")
}

/// The verification code printed on a certificate (four groups of four), and the lines of
/// text after it.
fn printed_code(pdf: &[u8]) -> (String, String) {
    let text = pdf_text(pdf);
    let after = text
        .split_once("Verification code:")
        .unwrap_or_else(|| panic!("no verification code in {text}"))
        .1
        .to_owned();
    let code = after.split_whitespace().next().expect("code").to_owned();
    (code, after)
}

async fn page(p: &Platform, code: &str) -> (StatusCode, String, String) {
    let response = reqwest::get(format!("{}/verify/{code}", p.url))
        .await
        .expect("answer");
    let status = response.status();
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .expect("type")
        .to_owned();
    (status, content_type, response.text().await.expect("page"))
}

async fn a_printed_certificate_verifies_and_shows_what_was_printed(db: TestDb) {
    let p = platform(&db).await;
    let a = TestTerminal::enroll(&p, "SN-VERIFY", None).await;
    let first = submit(&a, "verify-key-0001").await;
    let second = submit(&a, "verify-key-0002").await;
    p.store
        .set_application_state(&first, ApplicationState::Approved)
        .await
        .expect("state");

    let pdf = certificate(&a, "a4").await;
    let (code, after) = printed_code(&pdf);
    // 16 characters of Crockford base32 in groups of four, and the page's address.
    assert_eq!(code.len(), 19, "{code}");
    assert!(
        after.contains(&format!("Verify at: https://lyg.example/verify/{code}")),
        "{after}"
    );

    let (status, content_type, html) = page(&p, &code).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(html.contains("This certificate was issued by this platform"));
    for printed in [
        first.as_str(),
        second.as_str(),
        "320706********0228",
        "已办结",
        "已受理",
        "测*",
    ] {
        assert!(html.contains(printed), "{printed} missing from {html}");
    }
    let issued = pdf_text(&pdf)
        .lines()
        .find_map(|l| l.strip_prefix("出具时间 Issued: ").map(str::to_owned))
        .expect("issue time");
    assert!(html.contains(&issued), "{issued} missing from {html}");
    assert!(
        !html.contains(ID_NUMBER),
        "the full ID number is on the page"
    );
    assert!(!html.contains(NAME), "the full name is on the page");

    // Typed from paper: any case, spaces instead of hyphens, O for 0 and L for 1.
    let typed = code
        .to_ascii_lowercase()
        .replace('0', "o")
        .replace('1', "l")
        .replace('-', "%20");
    assert_eq!(page(&p, &typed).await.0, StatusCode::OK);

    // A later state change does not rewrite what was certified.
    p.store
        .set_application_state(&second, ApplicationState::Rejected)
        .await
        .expect("state");
    let (_, _, again) = page(&p, &code).await;
    assert!(!again.contains("不予受理"), "{again}");

    // The receipt roll's certificate carries a code that checks the same way.
    let roll = certificate(&a, "roll80").await;
    let (roll_code, after) = printed_code(&roll);
    assert!(
        after.contains(&format!("https://lyg.example/verify/\n{roll_code}")),
        "{after}"
    );
    let (status, _, html) = page(&p, &roll_code).await;
    assert_eq!(status, StatusCode::OK, "{roll_code} {after} {html}");
}

async fn forged_certificate_codes_are_not_genuine(db: TestDb) {
    let p = platform(&db).await;
    let a = TestTerminal::enroll(&p, "SN-FORGE", None).await;
    let number = submit(&a, "forge-key-0001").await;
    let pdf = certificate(&a, "a4").await;
    let (code, _) = printed_code(&pdf);
    let issued = pdf_text(&pdf)
        .lines()
        .find_map(|l| l.strip_prefix("出具时间 Issued: ").map(str::to_owned))
        .expect("issue time");

    // The code as it used to be computed: an unkeyed digest of public data, which anyone
    // holding the applicant's ID number could make for any content.
    let mut hash = Sha256::new();
    hash.update(ID_NUMBER.as_bytes());
    hash.update(issued.as_bytes());
    hash.update(number.as_bytes());
    hash.update(b"accepted");
    let unkeyed = kiosk_protocol::auth::hex_encode(&hash.finalize()[..8]).to_ascii_uppercase();

    // The genuine code with one character changed.
    let mut altered: Vec<char> = code.chars().collect();
    altered[0] = if altered[0] == 'Z' { 'Y' } else { 'Z' };
    let altered: String = altered.into_iter().collect();

    // A record planted in the database by someone without the platform's key.
    let planted = "ABCD-EFGH-JKMN-PQRS";
    p.store
        .record_certificate(
            "ABCDEFGHJKMNPQRS",
            "application-record",
            &json!({"issued_at": issued, "applicant": "张*", "id_number": "320706********0228",
                    "applications": []})
            .to_string(),
            &issued,
            &a.id,
        )
        .await
        .expect("planted");

    let long = "A".repeat(300);
    for forged in [
        unkeyed.as_str(),
        altered.as_str(),
        planted,
        "not-a-code",
        "ABCD-EFGH-JKMN-PQRU",
        "%00%FF",
        long.as_str(),
    ] {
        let (status, content_type, html) = page(&p, forged).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{forged}: {html}");
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(
            html.contains("Not a genuine certificate"),
            "{forged}: {html}"
        );
        assert!(!html.contains(&number), "{forged}: {html}");
    }
    assert_eq!(page(&p, &code).await.0, StatusCode::OK);
}
