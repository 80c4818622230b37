//! Sealed application bodies: personal data the terminal can write but never read back.
//!
//! A terminal keeps every application in its outbox until the platform acknowledges it. The
//! outbox must not become a store of citizens' data, so the application body is sealed to the
//! platform's X25519 public key before it touches the disk: an anonymous sealed box (X25519
//! key agreement with a throw-away key, XSalsa20-Poly1305), which only the holder of the
//! platform's secret key can open. The terminal sends the sealed bytes as they are, with
//! [`SEALED_APPLICATION_CONTENT_TYPE`]; the request signature covers them like any body.

pub use crypto_box::PublicKey;
use crypto_box::SecretKey;
use crypto_box::aead::OsRng;

use crate::auth::{hex_decode, hex_encode};

/// Content type of a sealed `ApplicationRequest` JSON body.
pub const SEALED_APPLICATION_CONTENT_TYPE: &str = "application/vnd.lyb.sealed+json";

/// Bytes a sealed box adds to its plaintext (ephemeral public key and tag).
pub const SEAL_OVERHEAD: usize = crypto_box::SEALBYTES;

/// Why sealing or opening failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The public key is not 64 hex digits.
    #[error("the platform's sealing key is not 64 hex digits")]
    BadKey,
    /// The box was not sealed to this key, or was altered.
    #[error("the sealed body cannot be opened (wrong key or altered)")]
    CannotOpen,
    /// The system random source failed.
    #[error("no random source to seal with")]
    NoRandomness,
}

/// The platform's sealing key pair, derived from a secret of its database.
pub struct SealingKey {
    secret: SecretKey,
}

impl SealingKey {
    /// The key pair whose secret is `secret` (32 bytes).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        Self {
            secret: SecretKey::from(secret),
        }
    }

    /// The public half, as hex for terminals.
    pub fn public_hex(&self) -> String {
        hex_encode(self.secret.public_key().as_bytes())
    }

    /// Opens a box sealed to this key.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        self.secret
            .unseal(sealed)
            .map_err(|_| SealError::CannotOpen)
    }
}

/// Parses the platform's public sealing key (64 hex digits).
pub fn parse_sealing_key(hex: &str) -> Result<PublicKey, SealError> {
    let bytes: [u8; 32] = hex_decode(hex)
        .and_then(|b| b.try_into().ok())
        .ok_or(SealError::BadKey)?;
    Ok(PublicKey::from(bytes))
}

/// Seals `plaintext` to the platform's public key.
pub fn seal(platform: &PublicKey, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
    platform
        .seal(&mut OsRng, plaintext)
        .map_err(|_| SealError::NoRandomness)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_platform_opens_what_a_terminal_sealed() {
        let platform = SealingKey::from_secret([7; 32]);
        let public = parse_sealing_key(&platform.public_hex()).expect("key");
        let body = "{\"applicant\":{\"name\":\"张三\"}}".as_bytes();
        let sealed = seal(&public, body).expect("sealed");
        assert_eq!(sealed.len(), body.len() + SEAL_OVERHEAD);
        assert!(!sealed.windows(body.len()).any(|w| w == body));
        assert_eq!(platform.open(&sealed).expect("opens"), body);
        // Another key cannot open it; one flipped bit breaks it.
        let other = SealingKey::from_secret([8; 32]);
        assert_eq!(other.open(&sealed), Err(SealError::CannotOpen));
        let mut altered = sealed.clone();
        altered[40] ^= 1;
        assert_eq!(platform.open(&altered), Err(SealError::CannotOpen));
        assert_eq!(platform.open(b"short"), Err(SealError::CannotOpen));
        // Two seals of the same body differ (a fresh ephemeral key each time).
        assert_ne!(seal(&public, body).expect("sealed"), sealed);
        assert_eq!(parse_sealing_key("zz").err(), Some(SealError::BadKey));
    }
}
