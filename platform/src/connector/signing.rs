//! How a delivery is signed, so a department's system knows it came from this platform and
//! was not changed on the way.
//!
//! `X-LYB-Signature: sha256=<hex>` where `<hex>` is HMAC-SHA256, keyed with the connector's
//! signing secret (the hex text shown once, taken as its ASCII bytes), over
//! `X-LYB-Timestamp` (Unix seconds, decimal), a line feed, and the body's bytes. The receiver
//! recomputes it, compares in constant time, refuses a timestamp far from its clock (replays
//! of a recorded delivery) and deduplicates by `X-LYB-Delivery-Id`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header naming the delivery (the receiver's idempotency key).
pub const DELIVERY_ID_HEADER: &str = "x-lyb-delivery-id";
/// The header carrying the send time, Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-lyb-timestamp";
/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-lyb-signature";

/// The `X-LYB-Signature` value of `body` sent at `timestamp` under `secret`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b"\n");
    mac.update(body);
    format!(
        "sha256={}",
        kiosk_protocol::auth::hex_encode(&mac.finalize().into_bytes())
    )
}

/// True when `header` is the signature of `body` at `timestamp` under `secret` (compared in
/// constant time): what a receiver does, here for tests and the documentation's example.
pub fn verify(secret: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let Some(given) = header
        .strip_prefix("sha256=")
        .and_then(kiosk_protocol::auth::hex_decode)
    else {
        return false;
    };
    let mut mac = mac(secret);
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b"\n");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

fn mac(secret: &str) -> Hmac<Sha256> {
    // HMAC takes a key of any length; this never fails.
    <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of docs/PLATFORM-API.md: a department's developers check their
    /// implementation against it.
    #[test]
    fn the_documented_example_signs_as_documented() {
        let secret = "8f1c0e5b2a9d4f7e6c3b1a0d9e8f7c6b5a4d3e2f1c0b9a8d7e6f5c4b3a2d1e0f";
        let body =
            br#"{"delivery_id":"3f2a","application":{"application_no":"LYB-20260301-000001"}}"#;
        let header = signature(secret, 1_772_323_200, body);
        assert_eq!(
            header,
            "sha256=8d4c2b592b7100df1dc24e302ee6de46d0777b636f697342be5c775180942fe5"
        );
        assert!(verify(secret, 1_772_323_200, body, &header));
        assert!(!verify(secret, 1_772_323_201, body, &header));
        assert!(!verify("another secret", 1_772_323_200, body, &header));
    }
}
