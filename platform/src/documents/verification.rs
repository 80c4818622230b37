//! What makes a printed certificate checkable: the record of what it certifies (exactly what is
//! printed on it, and nothing more), and its verification code, a keyed MAC of that record.
//!
//! The code is HMAC-SHA-256 under a random secret only the platform holds, so nobody can make
//! a code for content of their choosing; its first 80 bits are printed as 16 characters of
//! Crockford base32 (no I, L, O or U, so nothing is misread from paper), in groups of four.
//! Guessing a code that was issued is hopeless at 2^-80 a try, and the verification page
//! answers only "issued, with this content" or "not genuine".

use hmac::{Hmac, Mac};
use kiosk_protocol::ApplicationState;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Separates this MAC's inputs from any other use of the key.
const DOMAIN: &[u8] = b"LYB-CERTIFICATE-V1\n";

/// Bytes of the MAC a code carries (80 bits).
const CODE_BYTES: usize = 10;

/// Characters of a code (5 bits each).
const CODE_CHARS: usize = CODE_BYTES * 8 / 5;

/// Crockford's base32 alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The platform's secret that keys verification codes (32 random bytes).
#[derive(Clone)]
pub struct CertificateKey([u8; 32]);

impl CertificateKey {
    /// The key kept as hex (as the store keeps it); `None` unless 64 hex digits.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let bytes = kiosk_protocol::auth::hex_decode(hex)?;
        Some(CertificateKey(bytes.try_into().ok()?))
    }

    fn mac(&self, record: &str) -> Hmac<Sha256> {
        // An HMAC key may have any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(DOMAIN);
        mac.update(record.as_bytes());
        mac
    }

    /// The code for `record` (a [`CertifiedRecord`] as stored).
    pub fn code(&self, record: &str) -> VerificationCode {
        let tag = self.mac(record).finalize().into_bytes();
        VerificationCode(encode(&tag[..CODE_BYTES]))
    }

    /// True when `code` is the code of `record` under this key (compared in constant time).
    pub fn verify(&self, code: &VerificationCode, record: &str) -> bool {
        decode(&code.0).is_some_and(|tag| self.mac(record).verify_truncated_left(&tag).is_ok())
    }
}

/// A verification code, canonical: 16 characters of Crockford base32, no separators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationCode(String);

impl VerificationCode {
    /// A code as someone typed or scanned it: case, hyphens and spaces do not matter, and
    /// the letters Crockford reads as digits (O as 0, I and L as 1) are read so. `None` for
    /// anything else than 16 such characters.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() > 64 {
            return None;
        }
        let mut canonical = String::with_capacity(CODE_CHARS);
        for c in text.chars().filter(|c| !matches!(c, '-' | ' ')) {
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
                return None;
            }
            canonical.push(c);
        }
        (canonical.len() == CODE_CHARS).then_some(VerificationCode(canonical))
    }

    /// The canonical form, as stored and looked up.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As printed: four groups of four (`ABCD-EFGH-JKMN-PQRS`).
    pub fn grouped(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        chars
            .chunks(4)
            .map(|group| group.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// `bytes` (a multiple of 5) in Crockford base32.
fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    out
}

/// The bytes a canonical code stands for.
fn decode(code: &str) -> Option<[u8; CODE_BYTES]> {
    let mut out = [0u8; CODE_BYTES];
    let (mut buffer, mut bits, mut n) = (0u32, 0u32, 0usize);
    for c in code.bytes() {
        let value = ALPHABET.iter().position(|&a| a == c)?;
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            *out.get_mut(n)? = (buffer >> bits) as u8;
            n += 1;
            buffer &= (1 << bits) - 1;
        }
    }
    (n == CODE_BYTES).then_some(out)
}

/// What a certificate certifies, exactly as printed on it, as the platform records it: the
/// verification page shows this and nothing else. The applicant's name is kept masked like the
/// ID number (the database holds no name in clear); the code covers this record as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertifiedRecord {
    /// When it was issued (RFC 3339, China Standard Time), as printed.
    pub issued_at: String,
    /// The applicant's name, masked ([`mask_name`]).
    pub applicant: String,
    /// The ID number, masked as printed.
    pub id_number: String,
    /// The applications listed, in printed order.
    pub applications: Vec<CertifiedApplication>,
}

/// One line of a record's table, as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertifiedApplication {
    /// 受理编号.
    pub application_no: String,
    /// 事项名称 (Chinese, as published when the certificate was issued).
    pub matter: String,
    /// 受理日期 (`YYYY-MM-DD`).
    pub accepted_on: String,
    /// 状态.
    pub state: ApplicationState,
}

impl CertifiedRecord {
    /// The record as stored and MAC'd (field order fixed by the struct, so stable).
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Masks a name for the record: the first character stays, each other one is a `*`.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    let first = chars.next().map(String::from).unwrap_or_default();
    let rest = chars.count().max(1);
    format!("{first}{}", "*".repeat(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> CertificateKey {
        CertificateKey([byte; 32])
    }

    #[test]
    fn codes_are_sixteen_unambiguous_characters_and_check_their_record() {
        let code = key(7).code("record");
        assert_eq!(code.as_str().len(), 16);
        assert!(code.as_str().bytes().all(|b| ALPHABET.contains(&b)));
        assert!(key(7).verify(&code, "record"));
        assert!(!key(7).verify(&code, "record."));
        assert!(!key(8).verify(&code, "record"));
        assert_eq!(code.grouped().len(), 19);
        assert_eq!(VerificationCode::parse(&code.grouped()), Some(code.clone()));
        let typed = code.grouped().to_ascii_lowercase().replace('-', " ");
        assert_eq!(VerificationCode::parse(&typed), Some(code));
    }

    #[test]
    fn misread_letters_are_read_as_digits_and_junk_is_refused() {
        assert_eq!(
            VerificationCode::parse("OIL0-0000-0000-0000").map(|c| c.0),
            Some("0110000000000000".into())
        );
        assert_eq!(VerificationCode::parse("U000-0000-0000-0000"), None);
        assert_eq!(VerificationCode::parse("0000-0000-0000-000"), None);
        assert_eq!(VerificationCode::parse("0000-0000-0000-00000"), None);
        assert_eq!(VerificationCode::parse("０000-0000-0000-000"), None);
        assert_eq!(VerificationCode::parse(&"0".repeat(100)), None);
    }

    #[test]
    fn base32_round_trips() {
        let bytes = [0xFFu8, 0, 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0];
        assert_eq!(decode(&encode(&bytes)), Some(bytes));
        assert_eq!(encode(&[0; 5]), "00000000");
    }

    #[test]
    fn names_are_masked_after_the_first_character() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("A"), "A*");
    }
}
