//! Terminal identity: enrollment and signed requests.
//!
//! A terminal makes its Ed25519 key pair itself at first boot and never lets the private half
//! leave it. It enrolls once with a one-time token an operator created (`POST /v1/enroll`), which
//! binds its public key to a terminal id. From then on every request it makes carries these
//! headers (and `X-Signature-Scheme` for V2, below):
//!
//! | header | value |
//! | --- | --- |
//! | `X-Terminal-Id` | the id enrollment returned |
//! | `X-Timestamp` | Unix time in seconds; the platform accepts ±[`MAX_CLOCK_SKEW_SECS`] |
//! | `X-Nonce` | 16–64 characters `[A-Za-z0-9_-]`, never reused within the window |
//! | `X-Signature` | hex of the Ed25519 signature of [`canonical_request`] |
//!
//! The signed text binds the terminal, the method, the path with its query, the time, the nonce
//! and the SHA-256 of the body, one per line. Nothing here does I/O: the terminal and the
//! platform both build the same text with [`canonical_request`].
//!
//! Scheme [`SignatureScheme::V2`] (announced by `X-Signature-Scheme: LYB-ED25519-V2`; its
//! absence means V1) also binds the `Content-Type` and `Idempotency-Key` headers
//! ([`canonical_request_v2`]), so nobody on the path can replay a signed body under another
//! idempotency key (a second application) or have it read as another type. The platform accepts
//! V1 during a transition and refuses it once told to (`serve --refuse-signature-v1`).

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::ApiError;

/// Header naming the terminal.
pub const TERMINAL_ID_HEADER: &str = "X-Terminal-Id";
/// Header carrying the signing time (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "X-Timestamp";
/// Header carrying the one-time nonce.
pub const NONCE_HEADER: &str = "X-Nonce";
/// Header carrying the hex Ed25519 signature.
pub const SIGNATURE_HEADER: &str = "X-Signature";
/// How far a request's timestamp may be from the platform's clock, either way.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;
/// First line of every signed text: names the scheme so it can change without ambiguity.
pub const SIGNATURE_SCHEME: &str = "LYB-ED25519-V1";
/// First line of a [`SignatureScheme::V2`] text, and the value of its `X-Signature-Scheme`.
pub const SIGNATURE_SCHEME_V2: &str = "LYB-ED25519-V2";
/// Header naming the scheme a request is signed with; absent for V1.
pub const SIGNATURE_SCHEME_HEADER: &str = "X-Signature-Scheme";

/// The versions of the signature scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureScheme {
    /// `LYB-ED25519-V1`: terminal, method, target, time, nonce and body. Accepted during the
    /// transition to V2.
    #[default]
    V1,
    /// `LYB-ED25519-V2`: V1's fields and the `Content-Type` and `Idempotency-Key` headers.
    V2,
}

impl SignatureScheme {
    /// The scheme a request's `X-Signature-Scheme` names (`None`: V1); `Err` for a value that
    /// names no scheme.
    pub fn from_header(value: Option<&str>) -> Result<Self, AuthError> {
        match value {
            None => Ok(SignatureScheme::V1),
            Some(SIGNATURE_SCHEME_V2) => Ok(SignatureScheme::V2),
            Some(_) => Err(AuthError::Malformed(SIGNATURE_SCHEME_HEADER)),
        }
    }
}

/// What a request consists of, as a signature covers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedContent<'a> {
    /// The method (any case; signed upper-case).
    pub method: &'a str,
    /// The request target exactly as sent (`/v1/commands?limit=5`).
    pub path_and_query: &'a str,
    /// The `Content-Type` header as sent, if any (covered by V2).
    pub content_type: Option<&'a str>,
    /// The `Idempotency-Key` header as sent, if any (covered by V2).
    pub idempotency_key: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

/// Why a signature cannot be made sense of (the platform answers all of these with 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A header is missing.
    #[error("header {0} is missing")]
    Missing(&'static str),
    /// A header is not in its format.
    #[error("header {0} is malformed")]
    Malformed(&'static str),
    /// The signature does not verify against the terminal's key.
    #[error("the signature does not match")]
    BadSignature,
    /// The public key is not a valid Ed25519 point.
    #[error("the public key is not a valid Ed25519 key")]
    BadKey,
}

/// The text a terminal signs for one request.
///
/// `path_and_query` is the request target exactly as sent (`/v1/commands?limit=5`).
pub fn canonical_request(
    terminal_id: &str,
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> String {
    let body_hash = hex_encode(&Sha256::digest(body));
    format!(
        "{SIGNATURE_SCHEME}\n{terminal_id}\n{}\n{path_and_query}\n{timestamp}\n{nonce}\n{body_hash}",
        method.to_ascii_uppercase()
    )
}

/// The text a terminal signs for one request under [`SignatureScheme::V2`]: V1's lines, then
/// one line per covered header (`content-type:VALUE`, `idempotency-key:VALUE`; the name alone
/// when the header is absent, so absent and empty differ), then the body's SHA-256.
pub fn canonical_request_v2(
    terminal_id: &str,
    timestamp: i64,
    nonce: &str,
    content: &SignedContent<'_>,
) -> String {
    let covered = |name: &str, value: Option<&str>| match value {
        Some(value) => format!("{name}:{value}"),
        None => name.to_owned(),
    };
    format!(
        "{SIGNATURE_SCHEME_V2}\n{terminal_id}\n{}\n{}\n{timestamp}\n{nonce}\n{}\n{}\n{}",
        content.method.to_ascii_uppercase(),
        content.path_and_query,
        covered("content-type", content.content_type),
        covered("idempotency-key", content.idempotency_key),
        hex_encode(&Sha256::digest(content.body)),
    )
}

/// The authentication headers of one request, as (name, value) pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `X-Terminal-Id`.
    pub terminal_id: String,
    /// `X-Timestamp`.
    pub timestamp: i64,
    /// `X-Nonce`.
    pub nonce: String,
    /// `X-Signature`, hex.
    pub signature: String,
    /// The scheme signed with (`X-Signature-Scheme`, sent for V2 only).
    pub scheme: SignatureScheme,
}

impl SignedHeaders {
    /// The headers as (name, value) pairs, ready to add to a request.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            (TERMINAL_ID_HEADER, self.terminal_id.clone()),
            (TIMESTAMP_HEADER, self.timestamp.to_string()),
            (NONCE_HEADER, self.nonce.clone()),
            (SIGNATURE_HEADER, self.signature.clone()),
        ];
        if self.scheme == SignatureScheme::V2 {
            pairs.push((SIGNATURE_SCHEME_HEADER, SIGNATURE_SCHEME_V2.to_owned()));
        }
        pairs
    }
}

/// Signs one request with the terminal's key. The caller supplies the current time and a fresh
/// random nonce (see [`validate_nonce`] for its format), so this stays pure and testable.
pub fn sign_request(
    key: &SigningKey,
    terminal_id: &str,
    method: &str,
    path_and_query: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> SignedHeaders {
    let text = canonical_request(terminal_id, method, path_and_query, timestamp, nonce, body);
    let signature = key.sign(text.as_bytes());
    SignedHeaders {
        terminal_id: terminal_id.to_owned(),
        timestamp,
        nonce: nonce.to_owned(),
        signature: hex_encode(&signature.to_bytes()),
        scheme: SignatureScheme::V1,
    }
}

/// Signs one request under [`SignatureScheme::V2`] (the scheme terminals use), covering the
/// `Content-Type` and `Idempotency-Key` headers too.
pub fn sign_request_v2(
    key: &SigningKey,
    terminal_id: &str,
    timestamp: i64,
    nonce: &str,
    content: &SignedContent<'_>,
) -> SignedHeaders {
    let text = canonical_request_v2(terminal_id, timestamp, nonce, content);
    SignedHeaders {
        terminal_id: terminal_id.to_owned(),
        timestamp,
        nonce: nonce.to_owned(),
        signature: hex_encode(&key.sign(text.as_bytes()).to_bytes()),
        scheme: SignatureScheme::V2,
    }
}

/// Checks the signature in `headers` over `content`, under the scheme the headers name.
pub fn verify_signed(
    public_key: &VerifyingKey,
    headers: &SignedHeaders,
    content: &SignedContent<'_>,
) -> Result<(), AuthError> {
    let bytes: [u8; 64] = hex_decode(&headers.signature)
        .and_then(|b| b.try_into().ok())
        .ok_or(AuthError::Malformed(SIGNATURE_HEADER))?;
    let text = match headers.scheme {
        SignatureScheme::V1 => canonical_request(
            &headers.terminal_id,
            content.method,
            content.path_and_query,
            headers.timestamp,
            &headers.nonce,
            content.body,
        ),
        SignatureScheme::V2 => canonical_request_v2(
            &headers.terminal_id,
            headers.timestamp,
            &headers.nonce,
            content,
        ),
    };
    public_key
        .verify_strict(text.as_bytes(), &Signature::from_bytes(&bytes))
        .map_err(|_| AuthError::BadSignature)
}

/// Checks the signature in `headers` over the request against the terminal's public key
/// (a request without `Content-Type` or `Idempotency-Key`; see [`verify_signed`]).
pub fn verify_request(
    public_key: &VerifyingKey,
    headers: &SignedHeaders,
    method: &str,
    path_and_query: &str,
    body: &[u8],
) -> Result<(), AuthError> {
    verify_signed(
        public_key,
        headers,
        &SignedContent {
            method,
            path_and_query,
            content_type: None,
            idempotency_key: None,
            body,
        },
    )
}

/// Parses a hex-encoded Ed25519 public key (64 hex digits).
pub fn parse_public_key(hex: &str) -> Result<VerifyingKey, AuthError> {
    let bytes: [u8; 32] = hex_decode(hex)
        .and_then(|b| b.try_into().ok())
        .ok_or(AuthError::BadKey)?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| AuthError::BadKey)?;
    if key.is_weak() {
        return Err(AuthError::BadKey);
    }
    Ok(key)
}

/// The hex form of a public key, as sent at enrollment.
pub fn public_key_hex(key: &VerifyingKey) -> String {
    hex_encode(key.as_bytes())
}

/// Checks a nonce: 16 to 64 characters of `A-Z a-z 0-9 _ -`.
pub fn validate_nonce(nonce: &str) -> Result<(), AuthError> {
    if (16..=64).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Ok(())
    } else {
        Err(AuthError::Malformed(NONCE_HEADER))
    }
}

/// Checks a terminal id: 1 to 64 characters of `A-Z a-z 0-9 _ -`.
pub fn validate_terminal_id(id: &str) -> Result<(), AuthError> {
    if (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Ok(())
    } else {
        Err(AuthError::Malformed(TERMINAL_ID_HEADER))
    }
}

/// Lower-case hex of `bytes`.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// Bytes of a hex string (either case); `None` when it is not hex.
pub fn hex_decode(hex: &str) -> Option<Vec<u8>> {
    fn digit(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.as_bytes()
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// Body of `POST /v1/enroll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EnrollRequest {
    /// The one-time enrollment token an operator created (`kiosk-platform token create`).
    pub token: String,
    /// The terminal's hardware serial number (from its board or industrial PC).
    pub hardware_serial: String,
    /// The terminal's Ed25519 public key, 64 hex digits; the private key never leaves it.
    pub public_key: String,
}

impl EnrollRequest {
    /// Checks sizes and formats.
    pub fn validate(&self) -> Result<(), ApiError> {
        if !(16..=128).contains(&self.token.len())
            || !self.token.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ApiError::new(
                "invalid_field",
                "token: 16 to 128 printable characters",
            ));
        }
        if !(1..=64).contains(&self.hardware_serial.len())
            || !self
                .hardware_serial
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        {
            return Err(ApiError::new(
                "invalid_field",
                "hardware_serial: 1 to 64 letters, digits or - _ . :",
            ));
        }
        parse_public_key(&self.public_key).map_err(|_| {
            ApiError::new(
                "invalid_field",
                "public_key: 64 hex digits of a valid Ed25519 public key",
            )
        })?;
        Ok(())
    }
}

/// Answer of `POST /v1/enroll`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EnrollResponse {
    /// The terminal's id: `X-Terminal-Id` of every later request.
    pub terminal_id: String,
    /// The site (hall, branch) the token was made for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The terminal's configuration (global, site and terminal layers merged).
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// The platform's X25519 public key (64 hex digits) that application bodies are sealed to
    /// ([`crate::sealing`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealing_key: Option<String>,
    /// The platform's release repository's newest TUF root metadata (`root.json`, as text):
    /// the trust anchor the terminal keeps to verify every update it is offered. Absent when
    /// the platform serves no release repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_root: Option<String>,
}

/// What `kiosk-platform token create` prints for the enrollment QR code a technician scans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EnrollmentPayload {
    /// Base URL of the platform the terminal enrolls with.
    pub platform: String,
    /// The one-time token.
    pub token: String,
    /// The site the terminal will belong to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// When the token stops working, RFC 3339.
    pub expires_at: String,
    /// The SHA-256 of the platform's TLS public key (or of a CA key in its chain), 64 hex
    /// digits: the terminal trusts no other certificate afterwards. Absent when the platform
    /// does not serve TLS itself (the terminal then uses its system's roots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_pin: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn a_signed_request_verifies_and_any_change_breaks_it() {
        let k = key(7);
        let body = br#"{"x":1}"#;
        let signed = sign_request(
            &k,
            "T-1",
            "post",
            "/v1/tickets?x=1",
            1_700_000_000,
            "nonce-0000000001",
            body,
        );
        let public = k.verifying_key();
        assert_eq!(
            verify_request(&public, &signed, "POST", "/v1/tickets?x=1", body),
            Ok(())
        );
        assert_eq!(
            verify_request(&public, &signed, "POST", "/v1/tickets?x=2", body),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify_request(&public, &signed, "GET", "/v1/tickets?x=1", body),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify_request(&public, &signed, "POST", "/v1/tickets?x=1", b"{\"x\":2}"),
            Err(AuthError::BadSignature)
        );
        for tamper in [
            SignedHeaders {
                terminal_id: "T-2".into(),
                ..signed.clone()
            },
            SignedHeaders {
                timestamp: signed.timestamp + 1,
                ..signed.clone()
            },
            SignedHeaders {
                nonce: "nonce-0000000002".into(),
                ..signed.clone()
            },
        ] {
            assert_eq!(
                verify_request(&public, &tamper, "POST", "/v1/tickets?x=1", body),
                Err(AuthError::BadSignature)
            );
        }
        assert_eq!(
            verify_request(
                &key(8).verifying_key(),
                &signed,
                "POST",
                "/v1/tickets?x=1",
                body
            ),
            Err(AuthError::BadSignature)
        );
        let garbled = SignedHeaders {
            signature: "zz".into(),
            ..signed
        };
        assert_eq!(
            verify_request(&public, &garbled, "POST", "/v1/tickets?x=1", body),
            Err(AuthError::Malformed(SIGNATURE_HEADER))
        );
    }

    #[test]
    fn the_canonical_text_is_stable() {
        // Pinned so a terminal built from another revision signs the same text.
        assert_eq!(
            canonical_request("T-1", "get", "/v1/config", 12, "abcdefghijklmnop", b""),
            "LYB-ED25519-V1\nT-1\nGET\n/v1/config\n12\nabcdefghijklmnop\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn a_v2_signature_covers_the_content_type_and_the_idempotency_key() {
        let k = key(7);
        let content = SignedContent {
            method: "POST",
            path_and_query: "/v1/applications",
            content_type: Some("application/json"),
            idempotency_key: Some("key-0000000000000001"),
            body: b"{}",
        };
        let signed = sign_request_v2(&k, "T-1", 1_700_000_000, "nonce-0000000001", &content);
        let public = k.verifying_key();
        assert_eq!(verify_signed(&public, &signed, &content), Ok(()));
        for changed in [
            SignedContent {
                idempotency_key: Some("key-0000000000000002"),
                ..content
            },
            SignedContent {
                idempotency_key: None,
                ..content
            },
            SignedContent {
                content_type: Some("application/vnd.lyb.sealed+json"),
                ..content
            },
            SignedContent {
                content_type: None,
                ..content
            },
            SignedContent {
                body: b"{ }",
                ..content
            },
        ] {
            assert_eq!(
                verify_signed(&public, &signed, &changed),
                Err(AuthError::BadSignature),
                "{changed:?}"
            );
        }
        // Read as V1 (the scheme header stripped), the V2 signature does not verify either.
        let downgraded = SignedHeaders {
            scheme: SignatureScheme::V1,
            ..signed.clone()
        };
        assert_eq!(
            verify_signed(&public, &downgraded, &content),
            Err(AuthError::BadSignature)
        );
        assert!(
            signed
                .pairs()
                .contains(&(SIGNATURE_SCHEME_HEADER, SIGNATURE_SCHEME_V2.into()))
        );
        assert_eq!(
            SignatureScheme::from_header(Some("LYB-ED25519-V3")),
            Err(AuthError::Malformed(SIGNATURE_SCHEME_HEADER))
        );
        // Pinned so a terminal built from another revision signs the same text.
        assert_eq!(
            canonical_request_v2(
                "T-1",
                12,
                "abcdefghijklmnop",
                &SignedContent {
                    method: "get",
                    path_and_query: "/v1/config",
                    content_type: None,
                    idempotency_key: Some(""),
                    body: b""
                }
            ),
            "LYB-ED25519-V2\nT-1\nGET\n/v1/config\n12\nabcdefghijklmnop\ncontent-type\n\
             idempotency-key:\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn keys_nonces_and_hex_are_checked() {
        let k = key(3).verifying_key();
        assert_eq!(parse_public_key(&public_key_hex(&k)), Ok(k));
        assert_eq!(parse_public_key("00"), Err(AuthError::BadKey));
        assert_eq!(parse_public_key(&"0".repeat(64)), Err(AuthError::BadKey));
        assert_eq!(parse_public_key(&"g".repeat(64)), Err(AuthError::BadKey));
        assert!(validate_nonce("0123456789abcdef").is_ok());
        assert!(validate_nonce("short").is_err());
        assert!(validate_nonce("0123456789abcdef/").is_err());
        assert_eq!(hex_decode("0aFf"), Some(vec![10, 255]));
        assert_eq!(hex_decode("abc"), None);
        assert_eq!(hex_encode(&[0, 171]), "00ab");
    }
}
