//! The platform's secrets, kept out of its database: the data key personal data is encrypted
//! with at rest, the key applicant lookups are indexed with, the key pairs terminals seal
//! application bodies to, and the key certificate codes are made with.
//!
//! Why outside the database: a dump, a backup or a stolen disk of the database must not carry
//! what opens it. [`KeyRing`] says what the platform does with its secrets, never how they are
//! held, so a key management service can implement it later; the shipped implementation is
//! [`KeyFile`], one JSON file readable by the platform's user only, which every instance on one
//! database shares.
//!
//! Personal data is encrypted with XChaCha20-Poly1305 (an AEAD): a random 24-byte nonce per
//! write (instances need no coordination to never repeat one), and the row's identity as
//! associated data, so a ciphertext moved to another row does not open.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use kiosk_protocol::auth::{hex_decode, hex_encode};
use kiosk_protocol::sealing::{SealError, SealingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// Compares two secrets (tokens, hashes, codes) in time independent of where they differ.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The platform's secrets as one shared handle.
pub type Keys = Arc<dyn KeyRing>;

/// What the platform does with its secrets. Implementations hold the secrets (a file, a KMS);
/// callers never see the data key or a sealing secret.
pub trait KeyRing: Send + Sync {
    /// Encrypts `plain` for the row `row` (a table, column and the row's key).
    fn encrypt(&self, row: &str, plain: &[u8]) -> Result<Vec<u8>, KeyError>;

    /// Opens what [`KeyRing::encrypt`] made for the same `row`.
    fn decrypt(&self, row: &str, stored: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError>;

    /// The key under which an applicant's records are found again: a keyed SHA-256 of the ID
    /// number, so the number itself is not an index anyone can read.
    fn applicant_index(&self, id_number: &str) -> String;

    /// The newest sealing public key, hex: the one terminals are told to seal to.
    fn sealing_public_key(&self) -> String;

    /// Opens a box sealed to any of the platform's sealing keys, newest first (a terminal's
    /// outbox may hold items sealed to a key rotated out since).
    fn open_sealed(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError>;

    /// The secret certificate verification codes are keyed with, hex.
    fn certificate_secret(&self) -> Zeroizing<String>;
}

/// Why the platform's keys cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No key file at the path.
    #[error(
        "no key file at {0}: create one with `kiosk-platform keys init --file {0}` (or, for a database made before key files, `kiosk-platform keys init --from-database --db URL --file {0}`)"
    )]
    Missing(PathBuf),
    /// The key file may be read by others than its owner.
    #[error(
        "the key file {path} can be read by group or others (mode {mode:o}): `chmod 600 {path}` and keep it readable by the platform's user only"
    )]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file exists and `init` would overwrite it.
    #[error(
        "{0} exists already: it may hold the only keys to a database; move it aside first if you mean to replace it"
    )]
    Exists(PathBuf),
    /// The file cannot be read or written.
    #[error("{path}: {detail}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The file is not a key file this platform reads.
    #[error("{path} is not a platform key file: {detail}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A stored ciphertext does not open with this key for this row (another key, another row,
    /// or altered).
    #[error("stored personal data does not open with this key file (another key, or altered)")]
    CannotDecrypt,
    /// The system random source failed.
    #[error("no random source")]
    NoRandomness,
}

/// Format tag of the key file, checked on load.
const FORMAT: &str = "lyb-platform-keys-1";

/// Bytes of an XChaCha20-Poly1305 nonce, stored before each ciphertext.
const NONCE_BYTES: usize = 24;

/// One sealing key pair of the ring: its number (the newest is published) and secret.
#[derive(Clone, Serialize, Deserialize)]
struct SealingEntry {
    id: u32,
    secret: String,
    created_at: String,
}

/// The key file's contents (every secret as hex, the applicant key as the text it was).
#[derive(Clone, Serialize, Deserialize)]
struct KeyFileBody {
    format: String,
    data_key: String,
    applicant_key: String,
    certificate_key: String,
    sealing_keys: Vec<SealingEntry>,
}

impl Drop for KeyFileBody {
    fn drop(&mut self) {
        self.data_key.zeroize();
        self.applicant_key.zeroize();
        self.certificate_key.zeroize();
        for entry in &mut self.sealing_keys {
            entry.secret.zeroize();
        }
    }
}

/// The secrets as the ring uses them, parsed from a [`KeyFileBody`].
struct Opened {
    cipher: XChaCha20Poly1305,
    applicant_key: Zeroizing<String>,
    certificate_key: Zeroizing<String>,
    /// Newest first.
    sealing: Vec<(u32, SealingKey)>,
    /// The newest sealing key's public half, hex: every heartbeat answer carries it, and
    /// deriving it is a scalar multiplication, so it is derived once.
    published: String,
}

/// The secrets a database made before key files kept in its `settings` table, carried into a
/// key file by `keys init --from-database`.
#[derive(Clone)]
pub struct LegacySecrets {
    /// `settings.applicant_pepper`: keyed applicant lookups and (derived) the sealing key.
    pub applicant_pepper: Zeroizing<String>,
    /// `settings.certificate_key`, if codes were ever made.
    pub certificate_key: Option<Zeroizing<String>>,
}

impl LegacySecrets {
    /// The sealing secret such a database derived from its pepper.
    fn sealing_secret(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(b"LYB-SEALING-V1\n");
        hash.update(self.applicant_pepper.as_bytes());
        hash.finalize().into()
    }
}

/// The key ring kept in one file (`serve --keys PATH`), mode 0600, shared by every instance on
/// one database.
pub struct KeyFile {
    path: PathBuf,
    opened: RwLock<Arc<Opened>>,
}

impl KeyFile {
    /// Makes a new key file at `path` with fresh secrets; refuses to overwrite one. `legacy`
    /// carries over the secrets of a database made before key files, so what it holds still
    /// opens: its applicant key, certificate key and derived sealing key (then key 1).
    pub fn create(path: &Path, legacy: Option<&LegacySecrets>) -> Result<(), KeyError> {
        let (applicant_key, certificate_key, first_sealing) = match legacy {
            Some(old) => (
                old.applicant_pepper.to_string(),
                match &old.certificate_key {
                    Some(key) => key.to_string(),
                    None => random_hex()?,
                },
                hex_encode(&old.sealing_secret()),
            ),
            None => (random_hex()?, random_hex()?, random_hex()?),
        };
        let body = KeyFileBody {
            format: FORMAT.to_owned(),
            data_key: random_hex()?,
            applicant_key,
            certificate_key,
            sealing_keys: vec![SealingEntry {
                id: 1,
                secret: first_sealing,
                created_at: now_text(),
            }],
        };
        opened(path, &body)?;
        write_file(path, &body, false)
    }

    /// Loads the key file at `path`, refusing one that is missing, malformed or readable by
    /// anyone but its owner.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let body = read_file(path)?;
        Ok(KeyFile {
            path: path.to_owned(),
            opened: RwLock::new(Arc::new(opened(path, &body)?)),
        })
    }

    /// Adds a new sealing key pair to the file at `path` (it becomes the published one; the
    /// older ones stay, so items sealed to them still open). Returns the new key's id and
    /// public key.
    pub fn rotate(path: &Path) -> Result<(u32, String), KeyError> {
        let mut body = read_file(path)?;
        let id = body.sealing_keys.iter().map(|k| k.id).max().unwrap_or(0) + 1;
        let secret = random_hex()?;
        body.sealing_keys.push(SealingEntry {
            id,
            secret,
            created_at: now_text(),
        });
        let public = opened(path, &body)?
            .sealing
            .first()
            .map(|(_, key)| key.public_hex())
            .unwrap_or_default();
        write_file(path, &body, true)?;
        Ok((id, public))
    }

    /// The ring as shared by the server.
    pub fn into_keys(self) -> Keys {
        Arc::new(self)
    }

    fn current(&self) -> Arc<Opened> {
        match self.opened.read() {
            Ok(opened) => opened.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reads the file again when a sealed box opens with none of the keys held: another
    /// instance may have been restarted after `keys rotate` and published a key this one has
    /// not loaded yet. True when the file had more sealing keys.
    fn reload(&self) -> bool {
        let Ok(body) = read_file(&self.path) else {
            return false;
        };
        let Ok(fresh) = opened(&self.path, &body) else {
            return false;
        };
        if fresh.sealing.len() <= self.current().sealing.len() {
            return false;
        }
        if let Ok(mut held) = self.opened.write() {
            *held = Arc::new(fresh);
        }
        true
    }
}

impl KeyRing for KeyFile {
    fn encrypt(&self, row: &str, plain: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|_| KeyError::NoRandomness)?;
        let sealed = self
            .current()
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: row.as_bytes(),
                },
            )
            .map_err(|_| KeyError::CannotDecrypt)?;
        let mut stored = Vec::with_capacity(NONCE_BYTES + sealed.len());
        stored.extend_from_slice(&nonce);
        stored.extend_from_slice(&sealed);
        Ok(stored)
    }

    fn decrypt(&self, row: &str, stored: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        if stored.len() < NONCE_BYTES {
            return Err(KeyError::CannotDecrypt);
        }
        let (nonce, sealed) = stored.split_at(NONCE_BYTES);
        self.current()
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: row.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| KeyError::CannotDecrypt)
    }

    fn applicant_index(&self, id_number: &str) -> String {
        let mut hash = Sha256::new();
        hash.update(b"LYB-APPLICANT-V1\n");
        hash.update(self.current().applicant_key.as_bytes());
        hash.update(b"\n");
        hash.update(id_number.to_ascii_uppercase().as_bytes());
        hex_encode(&hash.finalize())
    }

    fn sealing_public_key(&self) -> String {
        self.current().published.clone()
    }

    fn open_sealed(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        for attempt in 0..2 {
            if attempt == 1 && !self.reload() {
                break;
            }
            for (_, key) in &self.current().sealing {
                if let Ok(opened) = key.open(sealed) {
                    return Ok(Zeroizing::new(opened));
                }
            }
        }
        Err(SealError::CannotOpen)
    }

    fn certificate_secret(&self) -> Zeroizing<String> {
        self.current().certificate_key.clone()
    }
}

/// The applicant index a database made before key files computed with `pepper`: what the key
/// file must reproduce for the database's records to be found again.
pub fn legacy_applicant_index(pepper: &str, id_number: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"LYB-APPLICANT-V1\n");
    hash.update(pepper.as_bytes());
    hash.update(b"\n");
    hash.update(id_number.to_ascii_uppercase().as_bytes());
    hex_encode(&hash.finalize())
}

fn random_hex() -> Result<String, KeyError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut()).map_err(|_| KeyError::NoRandomness)?;
    Ok(hex_encode(bytes.as_ref()))
}

fn now_text() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn secret32(path: &Path, what: &str, hex: &str) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let bytes = Zeroizing::new(hex_decode(hex).unwrap_or_default());
    let array: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| KeyError::Malformed {
            path: path.to_owned(),
            detail: format!("{what} is not 64 hex digits"),
        })?;
    Ok(Zeroizing::new(array))
}

/// Checks and parses a key file's contents.
fn opened(path: &Path, body: &KeyFileBody) -> Result<Opened, KeyError> {
    let malformed = |detail: &str| KeyError::Malformed {
        path: path.to_owned(),
        detail: detail.to_owned(),
    };
    if body.format != FORMAT {
        return Err(malformed(&format!("format is not {FORMAT}")));
    }
    if body.applicant_key.is_empty() {
        return Err(malformed("the applicant key is empty"));
    }
    secret32(path, "certificate_key", &body.certificate_key)?;
    let data_key = secret32(path, "data_key", &body.data_key)?;
    let mut sealing = Vec::new();
    for entry in &body.sealing_keys {
        let secret = secret32(path, "a sealing key", &entry.secret)?;
        sealing.push((entry.id, SealingKey::from_secret(*secret)));
    }
    if sealing.is_empty() {
        return Err(malformed("it has no sealing key"));
    }
    sealing.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
    let published = sealing
        .first()
        .map(|(_, key)| key.public_hex())
        .unwrap_or_default();
    Ok(Opened {
        cipher: XChaCha20Poly1305::new(data_key.as_ref().into()),
        applicant_key: Zeroizing::new(body.applicant_key.clone()),
        certificate_key: Zeroizing::new(body.certificate_key.clone()),
        sealing,
        published,
    })
}

fn io_error(path: &Path, e: &std::io::Error) -> KeyError {
    KeyError::Io {
        path: path.to_owned(),
        detail: e.to_string(),
    }
}

fn read_file(path: &Path) -> Result<KeyFileBody, KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(KeyError::Missing(path.to_owned()));
        }
        Err(e) => return Err(io_error(path, &e)),
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Exposed {
            path: path.to_owned(),
            mode,
        });
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| io_error(path, &e))?);
    serde_json::from_str(&text).map_err(|e| KeyError::Malformed {
        path: path.to_owned(),
        detail: e.to_string(),
    })
}

/// Writes `body` to `path` with mode 0600: a new file only (`replace` false), or atomically in
/// place of the old one (a file beside it, renamed over it), synced to disk either way.
fn write_file(path: &Path, body: &KeyFileBody, replace: bool) -> Result<(), KeyError> {
    use std::os::unix::fs::OpenOptionsExt;
    let text =
        Zeroizing::new(
            serde_json::to_string_pretty(body).map_err(|e| KeyError::Malformed {
                path: path.to_owned(),
                detail: e.to_string(),
            })?,
        );
    let target = if replace {
        path.with_extension("new")
    } else {
        path.to_owned()
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&target)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => KeyError::Exists(target.clone()),
            _ => io_error(&target, &e),
        })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(&target, &e))?;
    if replace {
        std::fs::rename(&target, path).map_err(|e| io_error(path, &e))?;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error(dir, &e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fresh() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys.json");
        KeyFile::create(&path, None).expect("created");
        (dir, path)
    }

    #[test]
    fn a_key_file_is_private_never_overwritten_and_refused_when_exposed() {
        let (_dir, path) = fresh();
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(matches!(
            KeyFile::create(&path, None),
            Err(KeyError::Exists(_))
        ));
        KeyFile::load(&path).expect("loads");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let refused = KeyFile::load(&path).err().expect("refused");
        assert!(refused.to_string().contains("chmod 600"), "{refused}");
        let missing = KeyFile::load(&path.with_extension("gone"))
            .err()
            .expect("refused");
        assert!(matches!(missing, KeyError::Missing(_)));
    }

    #[test]
    fn a_ciphertext_opens_only_for_its_own_row() {
        let (_dir, path) = fresh();
        let keys = KeyFile::load(&path).expect("loads");
        let stored = keys.encrypt("applications.body:K1", b"name").expect("enc");
        assert_eq!(
            keys.decrypt("applications.body:K1", &stored)
                .expect("opens")
                .as_slice(),
            b"name"
        );
        assert!(keys.decrypt("applications.body:K2", &stored).is_err());
        assert!(keys.decrypt("applications.body:K1", &stored[..10]).is_err());
    }

    #[test]
    fn a_rotated_ring_publishes_the_new_key_and_still_opens_the_old_ones() {
        let (_dir, path) = fresh();
        let before = KeyFile::load(&path).expect("loads");
        let old =
            kiosk_protocol::sealing::parse_sealing_key(&before.sealing_public_key()).expect("key");
        let (id, public) = KeyFile::rotate(&path).expect("rotated");
        assert_eq!(id, 2);
        let after = KeyFile::load(&path).expect("loads");
        assert_eq!(after.sealing_public_key(), public);
        assert_ne!(public, before.sealing_public_key());
        let sealed_old = kiosk_protocol::sealing::seal(&old, b"old").expect("seal");
        assert_eq!(
            after.open_sealed(&sealed_old).expect("old").as_slice(),
            b"old"
        );
        // An instance loaded before the rotation opens items sealed to the new key too.
        let new = kiosk_protocol::sealing::parse_sealing_key(&public).expect("key");
        let sealed_new = kiosk_protocol::sealing::seal(&new, b"new").expect("seal");
        assert_eq!(
            before.open_sealed(&sealed_new).expect("new").as_slice(),
            b"new"
        );
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn legacy_secrets_reproduce_what_the_database_derived() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys.json");
        let pepper = "ab".repeat(32);
        let legacy = LegacySecrets {
            applicant_pepper: Zeroizing::new(pepper.clone()),
            certificate_key: Some(Zeroizing::new("cd".repeat(32))),
        };
        KeyFile::create(&path, Some(&legacy)).expect("created");
        let keys = KeyFile::load(&path).expect("loads");
        assert_eq!(
            keys.applicant_index("11010519491231002x"),
            legacy_applicant_index(&pepper, "11010519491231002X")
        );
        assert_eq!(keys.certificate_secret().as_str(), "cd".repeat(32));
        assert_eq!(
            keys.sealing_public_key(),
            SealingKey::from_secret(legacy.sealing_secret()).public_hex()
        );
    }
}
