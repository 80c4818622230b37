//! The terminal's identity: its Ed25519 key pair and the id the platform gave it at enrollment.
//!
//! The key pair is made here, on the terminal, from the OS random source; only the public half
//! ever leaves the machine (in `POST /v1/enroll`). The identity lives in one file in the data
//! folder, readable by the kiosk user alone, written atomically (temporary file, fsync, rename,
//! fsync of the folder) so a power cut during enrollment leaves either the old identity or the
//! new one, never half a file. Images carry no identity and no shared secret: every terminal
//! enrolls with its own one-time token.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use kiosk_protocol::auth::{hex_decode, hex_encode, public_key_hex, validate_terminal_id};
use kiosk_protocol::{EnrollRequest, EnrollmentPayload};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::uplink::tls::{PlatformTls, TlsPin, check_platform_url};

/// File name of the identity inside the data folder.
pub const IDENTITY_FILE: &str = "identity.json";

/// Why an identity cannot be loaded, made or saved.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The terminal has not enrolled yet.
    #[error(
        "this terminal is not provisioned ({path} does not exist): scan the enrollment QR code or run `kiosk provision PAYLOAD`"
    )]
    NotProvisioned {
        /// Where the identity was looked for.
        path: PathBuf,
    },
    /// The file exists but cannot be used.
    #[error("the terminal identity {path} is unusable: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Reading or writing failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The OS has no random source for a key.
    #[error("no OS random source to make the terminal's key: {0}")]
    NoRandomness(String),
    /// The enrollment payload (from the QR code or typed) is not one.
    #[error("the enrollment payload is not valid: {0}")]
    BadPayload(String),
}

/// An enrolled terminal: who it is to the platform, and the key it signs with.
pub struct TerminalIdentity {
    /// The id every signed request carries (`X-Terminal-Id`).
    pub terminal_id: String,
    /// The platform's base URL this terminal enrolled with.
    pub platform: String,
    /// The site (hall, branch) the terminal belongs to, if the token named one.
    pub site: Option<String>,
    /// The hardware serial sent at enrollment.
    pub hardware_serial: String,
    /// The platform's X25519 key that application bodies are sealed to (hex).
    pub sealing_key: Option<String>,
    /// The platform's TLS pins from the enrollment code: once there is one, no other
    /// certificate is trusted (see [`crate::uplink::tls`]).
    pub tls_pins: Vec<TlsPin>,
    key: SigningKey,
}

impl fmt::Debug for TerminalIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TerminalIdentity")
            .field("terminal_id", &self.terminal_id)
            .field("platform", &self.platform)
            .field("site", &self.site)
            .field("public_key", &public_key_hex(&self.key.verifying_key()))
            .finish_non_exhaustive()
    }
}

/// The file's shape; wiped from memory when dropped, since it holds the secret key as hex.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct IdentityFile {
    terminal_id: String,
    platform: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    site: Option<String>,
    hardware_serial: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealing_key: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tls_pins: Vec<String>,
    public_key: String,
    secret_key: String,
}

impl TerminalIdentity {
    /// The key requests are signed with.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The public key as hex, as the platform stores it.
    pub fn public_key_hex(&self) -> String {
        public_key_hex(&self.key.verifying_key())
    }

    /// How the link checks the platform's certificate.
    pub fn platform_tls(&self) -> PlatformTls {
        PlatformTls::pinned(self.tls_pins.clone())
    }

    /// Where the identity lives in `data_dir`.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join(IDENTITY_FILE)
    }

    /// Loads the identity from `data_dir`.
    pub fn load(data_dir: &Path) -> Result<Self, IdentityError> {
        let path = Self::path_in(data_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => Zeroizing::new(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(IdentityError::NotProvisioned { path });
            }
            Err(source) => {
                return Err(IdentityError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        let corrupt = |reason: String| IdentityError::Corrupt {
            path: path.clone(),
            reason,
        };
        let file: IdentityFile =
            serde_json::from_str(&text).map_err(|e| corrupt(format!("not an identity: {e}")))?;
        validate_terminal_id(&file.terminal_id)
            .map_err(|_| corrupt("the terminal id is malformed".into()))?;
        let secret: [u8; 32] = hex_decode(&file.secret_key)
            .map(Zeroizing::new)
            .and_then(|b| b.as_slice().try_into().ok())
            .ok_or_else(|| corrupt("the secret key is not 64 hex digits".into()))?;
        let key = SigningKey::from_bytes(&secret);
        let mut secret = secret;
        secret.zeroize();
        let tls_pins = file
            .tls_pins
            .iter()
            .map(|pin| TlsPin::parse(pin))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| corrupt(e.to_string()))?;
        if public_key_hex(&key.verifying_key()) != file.public_key.to_ascii_lowercase() {
            return Err(corrupt(
                "the public key does not belong to the secret key".into(),
            ));
        }
        Ok(Self {
            terminal_id: file.terminal_id.clone(),
            platform: file.platform.clone(),
            site: file.site.clone(),
            hardware_serial: file.hardware_serial.clone(),
            sealing_key: file.sealing_key.clone(),
            tls_pins,
            key,
        })
    }

    /// Saves the identity into `data_dir` atomically, readable by its owner only.
    pub fn save(&self, data_dir: &Path) -> Result<PathBuf, IdentityError> {
        let io = |action: &'static str, path: &Path| {
            let path = path.to_owned();
            move |source| IdentityError::Io {
                action,
                path,
                source,
            }
        };
        std::fs::create_dir_all(data_dir).map_err(io("create", data_dir))?;
        let file = IdentityFile {
            terminal_id: self.terminal_id.clone(),
            platform: self.platform.clone(),
            site: self.site.clone(),
            hardware_serial: self.hardware_serial.clone(),
            sealing_key: self.sealing_key.clone(),
            tls_pins: self.tls_pins.iter().map(TlsPin::hex).collect(),
            public_key: self.public_key_hex(),
            secret_key: hex_encode(self.key.as_bytes()),
        };
        let text = Zeroizing::new(serde_json::to_string_pretty(&file).map_err(|e| {
            IdentityError::Corrupt {
                path: Self::path_in(data_dir),
                reason: e.to_string(),
            }
        })?);
        let path = Self::path_in(data_dir);
        let temporary = data_dir.join(format!(".{IDENTITY_FILE}.new"));
        {
            use std::os::unix::fs::OpenOptionsExt;
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&temporary)
                .map_err(io("write", &temporary))?;
            out.write_all(text.as_bytes())
                .and_then(|()| out.sync_all())
                .map_err(io("write", &temporary))?;
        }
        std::fs::rename(&temporary, &path).map_err(io("replace", &path))?;
        std::fs::File::open(data_dir)
            .and_then(|dir| dir.sync_all())
            .map_err(io("sync", data_dir))?;
        Ok(path)
    }
}

/// A key pair made on this terminal, not yet enrolled.
pub struct PendingEnrollment {
    key: SigningKey,
    /// The hardware serial sent with the public key.
    pub hardware_serial: String,
}

impl PendingEnrollment {
    /// Makes a fresh key pair from the OS random source.
    pub fn new(hardware_serial: String) -> Result<Self, IdentityError> {
        let mut secret = Zeroizing::new([0u8; 32]);
        getrandom::fill(secret.as_mut_slice())
            .map_err(|e| IdentityError::NoRandomness(e.to_string()))?;
        Ok(Self {
            key: SigningKey::from_bytes(&secret),
            hardware_serial,
        })
    }

    /// The body of `POST /v1/enroll` for `token`.
    pub fn request(&self, token: &str) -> EnrollRequest {
        EnrollRequest {
            token: token.to_owned(),
            hardware_serial: self.hardware_serial.clone(),
            public_key: public_key_hex(&self.key.verifying_key()),
        }
    }

    /// The identity once the platform has answered with the terminal's id (and the key its
    /// applications are sealed to), keeping the TLS pins the enrollment code carried.
    pub fn complete(
        self,
        terminal_id: String,
        platform: &str,
        site: Option<String>,
        sealing_key: Option<String>,
        tls_pins: Vec<TlsPin>,
    ) -> TerminalIdentity {
        TerminalIdentity {
            terminal_id,
            platform: platform.trim_end_matches('/').to_owned(),
            site,
            hardware_serial: self.hardware_serial,
            sealing_key,
            tls_pins,
            key: self.key,
        }
    }
}

/// Parses what the technician scanned or typed: the JSON payload `kiosk-platform token create`
/// prints (and the console shows as a QR code).
pub fn parse_enrollment(text: &str) -> Result<EnrollmentPayload, IdentityError> {
    let text = text.trim();
    if text.len() > 2048 {
        return Err(IdentityError::BadPayload(
            "longer than 2048 characters".into(),
        ));
    }
    let payload: EnrollmentPayload = serde_json::from_str(text).map_err(|e| {
        IdentityError::BadPayload(format!(
            "expected the JSON from `kiosk-platform token create` ({e})"
        ))
    })?;
    let url = payload.platform.as_str();
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or_default();
    if host.is_empty() || host.starts_with('/') || url.chars().any(char::is_whitespace) {
        return Err(IdentityError::BadPayload(
            "`platform` must be an http:// or https:// URL".into(),
        ));
    }
    check_platform_url(url).map_err(|e| IdentityError::BadPayload(e.to_string()))?;
    if let Some(pin) = &payload.tls_pin {
        TlsPin::parse(pin).map_err(|e| IdentityError::BadPayload(format!("`tls_pin`: {e}")))?;
    }
    if !(16..=128).contains(&payload.token.len()) {
        return Err(IdentityError::BadPayload(
            "`token` must be 16 to 128 characters".into(),
        ));
    }
    Ok(payload)
}

/// This machine's hardware serial: the board's (device tree), the PC's (DMI), or, failing both,
/// the systemd machine id. Only characters the platform accepts are kept.
pub fn hardware_serial() -> String {
    let candidates = [
        "/proc/device-tree/serial-number",
        "/sys/class/dmi/id/product_serial",
        "/sys/class/dmi/id/board_serial",
        "/etc/machine-id",
    ];
    candidates
        .iter()
        .filter_map(|path| std::fs::read(path).ok())
        .map(|bytes| clean_serial(&bytes))
        .find(|serial| serial.len() >= 4 && !serial.eq_ignore_ascii_case("to-be-filled-by-o.e.m."))
        .unwrap_or_else(|| "UNKNOWN".to_owned())
}

/// The serial the terminal enrolls under: `configured` (kiosk.toml's `hardware_serial`, for a
/// board with no usable serial of its own) when it has at least 4 usable characters, else the
/// board's ([`hardware_serial`]).
pub fn terminal_serial(configured: Option<&str>) -> String {
    configured
        .map(|s| clean_serial(s.as_bytes()))
        .filter(|s| s.len() >= 4)
        .unwrap_or_else(hardware_serial)
}

/// Keeps `A-Z a-z 0-9 - _ . :` of a raw serial, at most 64 characters.
pub fn clean_serial(raw: &[u8]) -> String {
    raw.iter()
        .copied()
        .filter(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
        .take(64)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> TerminalIdentity {
        PendingEnrollment::new("SN-TEST-1".into())
            .expect("randomness")
            .complete(
                "LYG-T-0001".into(),
                "http://127.0.0.1:8080/",
                None,
                Some("ab".repeat(32)),
                vec![TlsPin::of_public_key(b"platform key")],
            )
    }

    #[test]
    fn an_identity_survives_a_save_and_load_and_only_its_owner_reads_it() {
        let dir = tempfile::tempdir().expect("dir");
        let original = identity();
        let path = original.save(dir.path()).expect("save");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).expect("meta").permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        let loaded = TerminalIdentity::load(dir.path()).expect("load");
        assert_eq!(loaded.terminal_id, "LYG-T-0001");
        assert_eq!(loaded.platform, "http://127.0.0.1:8080");
        assert_eq!(loaded.public_key_hex(), original.public_key_hex());
        assert_eq!(loaded.sealing_key, original.sealing_key);
        assert_eq!(loaded.tls_pins, original.tls_pins);
        // The debug form names the terminal and never shows the secret.
        let debug = format!("{loaded:?}");
        let secret = hex_encode(original.signing_key().as_bytes());
        assert!(!debug.contains(&secret));
    }

    #[test]
    fn a_missing_or_damaged_identity_is_named_not_guessed() {
        let dir = tempfile::tempdir().expect("dir");
        assert!(matches!(
            TerminalIdentity::load(dir.path()),
            Err(IdentityError::NotProvisioned { .. })
        ));
        identity().save(dir.path()).expect("save");
        let path = TerminalIdentity::path_in(dir.path());
        let text = std::fs::read_to_string(&path).expect("read");
        // Another terminal's public key with this secret: refused.
        let other = identity().public_key_hex();
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        let swapped = text.replace(value["public_key"].as_str().expect("key"), other.as_str());
        std::fs::write(&path, swapped).expect("write");
        let err = TerminalIdentity::load(dir.path()).expect_err("mismatch");
        assert!(err.to_string().contains("does not belong"), "{err}");
        std::fs::write(&path, "{ half a file").expect("write");
        assert!(matches!(
            TerminalIdentity::load(dir.path()),
            Err(IdentityError::Corrupt { .. })
        ));
    }

    #[test]
    fn enrollment_payloads_are_checked_before_any_key_is_made() {
        let good = r#"{"platform":"https://platform.example.cn","token":"0123456789abcdef0123","expires_at":"2026-11-23T10:00:00+08:00"}"#;
        let payload = parse_enrollment(good).expect("good");
        assert_eq!(payload.platform, "https://platform.example.cn");
        for bad in [
            "",
            "not json",
            r#"{"platform":"ftp://x","token":"0123456789abcdef0123","expires_at":"x"}"#,
            r#"{"platform":"http://","token":"0123456789abcdef0123","expires_at":"x"}"#,
            r#"{"platform":"http://x","token":"short","expires_at":"x"}"#,
            // Plain HTTP to another machine, and a pin that is not one.
            r#"{"platform":"http://10.1.2.3:8080","token":"0123456789abcdef0123","expires_at":"x"}"#,
            r#"{"platform":"https://p.example","token":"0123456789abcdef0123","expires_at":"x","tls_pin":"abc"}"#,
        ] {
            assert!(
                matches!(parse_enrollment(bad), Err(IdentityError::BadPayload(_))),
                "{bad:?} accepted"
            );
        }
        assert!(parse_enrollment(&"x".repeat(5000)).is_err());
    }

    #[test]
    fn serials_keep_only_what_the_platform_accepts() {
        assert_eq!(clean_serial(b"1000 0000 abcd\n"), "10000000abcd");
        assert_eq!(clean_serial(&[b'A'; 100]).len(), 64);
        let serial = hardware_serial();
        assert!(!serial.is_empty() && serial.len() <= 64);
    }
}
