//! What the platform reads from the network before it trusts anything: JSON request bodies
//! (`serde_json::from_slice`, then the type's `validate()`), the sealed bodies of applications
//! and materials (opened with the platform's key), the signed-request headers, and the catalog
//! an operator uploads.
//!
//! Input: byte 0 picks what the rest is.
//!
//! Invariants: no panic; a body that deserialises and validates survives a serialise/parse
//! round trip unchanged (so what the platform stores is what it checked).

#![no_main]

use kiosk_protocol::auth::{self, SignedHeaders};
use kiosk_protocol::sealing::SealingKey;
use kiosk_protocol::{
    ApplicationRequest, Catalog, CertificateRequest, CheckInRequest, CommandResult, EnrollRequest,
    Heartbeat, MaintenanceWindow, ProgressRequest, RatingRequest, TerminalEvent, TicketRequest,
    UpdateReport, UploadRequest, validate_idempotency_key,
};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fuzz_target!(|input: &[u8]| {
    let Some((&which, body)) = input.split_first() else {
        return;
    };
    match which % 16 {
        0 => body_checked::<ApplicationRequest>(body, ApplicationRequest::validate),
        1 => body_checked::<RatingRequest>(body, RatingRequest::validate),
        2 => body_checked::<Heartbeat>(body, Heartbeat::validate),
        3 => body_checked::<UpdateReport>(body, UpdateReport::validate),
        4 => body_checked::<CheckInRequest>(body, CheckInRequest::validate),
        5 => body_checked::<UploadRequest>(body, UploadRequest::validate),
        6 => body_checked::<CommandResult>(body, CommandResult::validate),
        7 => body_checked::<ProgressRequest>(body, ProgressRequest::validate),
        8 => body_checked::<CertificateRequest>(body, CertificateRequest::validate),
        9 => body_checked::<TerminalEvent>(body, TerminalEvent::validate),
        10 => body_checked::<EnrollRequest>(body, EnrollRequest::validate),
        11 => body_checked::<MaintenanceWindow>(body, MaintenanceWindow::validate),
        12 => body_checked::<TicketRequest>(body, |_| Ok(())),
        13 => {
            if let Ok(catalog) = serde_json::from_slice::<Catalog>(body) {
                let _ = catalog.validate();
            }
        }
        14 => sealed(body),
        _ => headers(body),
    }
});

fn body_checked<T>(body: &[u8], validate: impl Fn(&T) -> Result<(), kiosk_protocol::ApiError>)
where
    T: DeserializeOwned + Serialize + PartialEq,
{
    let Ok(value) = serde_json::from_slice::<T>(body) else {
        return;
    };
    if validate(&value).is_err() {
        return;
    }
    let json = serde_json::to_vec(&value).expect("a parsed body serialises");
    let again: T = serde_json::from_slice(&json).expect("a serialised body parses");
    assert!(again == value, "body changed through serialise/parse");
    assert!(validate(&again).is_ok());
}

/// A sealed application or material as the platform opens it.
fn sealed(body: &[u8]) {
    let key = SealingKey::from_secret([7; 32]);
    if let Ok(plain) = key.open(body) {
        // Sealing adds an ephemeral key and a tag: the plaintext is always shorter.
        assert!(plain.len() < body.len());
    }
}

/// The four authentication headers, split from the input at NUL bytes, checked as the
/// platform's middleware does (format checks, then the signature over the request).
fn headers(body: &[u8]) {
    let text = String::from_utf8_lossy(body);
    let mut parts = text.split('\0');
    let (Some(terminal_id), Some(timestamp), Some(nonce), Some(signature)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        let _ = validate_idempotency_key(&text);
        let _ = MaintenanceWindow::parse(&text);
        let _ = auth::parse_public_key(&text);
        let _ = auth::hex_decode(&text);
        return;
    };
    let rest = parts.next().unwrap_or_default();
    let _ = auth::validate_terminal_id(terminal_id);
    let _ = auth::validate_nonce(nonce);
    let Ok(timestamp) = timestamp.parse::<i64>() else {
        return;
    };
    let headers = SignedHeaders {
        terminal_id: terminal_id.to_owned(),
        timestamp,
        nonce: nonce.to_owned(),
        signature: signature.to_owned(),
        scheme: auth::SignatureScheme::V1,
    };
    // RFC 8032's first test key.
    let key =
        auth::parse_public_key("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
            .expect("a valid key");
    let _ = auth::verify_request(&key, &headers, "POST", rest, rest.as_bytes());
}
