//! Ed25519 signing keys of the release roles, as PKCS#8 PEM files (`-----BEGIN PRIVATE KEY-----`,
//! the form `openssl genpkey -algorithm ed25519` writes), readable only by their owner.

use std::path::{Path, PathBuf};

use tough::async_trait;
use tough::key_source::KeySource;
use tough::schema::key::Key;
use tough::sign::Sign;

use crate::fsio;
use crate::names::hex;

/// Why a key could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The system's random generator failed.
    #[error("cannot generate an Ed25519 key")]
    Generate,
    /// A key file is already there; keys are never overwritten.
    #[error("{} already exists; a key is never overwritten", path.display())]
    Exists { path: PathBuf },
    /// Reading or writing the file failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not an Ed25519 PKCS#8 PEM private key.
    #[error("{} is not an Ed25519 private key in PKCS#8 PEM: {detail}", path.display())]
    Unreadable { path: PathBuf, detail: String },
}

/// A freshly written key: where, and its TUF key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    /// The PEM file (mode 0600).
    pub path: PathBuf,
    /// The key id root metadata lists it under (hex SHA-256 of its canonical public key).
    pub key_id: String,
}

/// Generates an Ed25519 key into a new file `path` (mode 0600, written whole or not at all;
/// an existing file is an error, never replaced).
pub fn generate_key(path: &Path) -> Result<GeneratedKey, KeyError> {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::Ed25519KeyPair;
    let document =
        Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| KeyError::Generate)?;
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", document.as_ref().to_vec()));
    match fsio::create_atomic(path, pem.as_bytes(), 0o600) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(KeyError::Exists { path: path.into() });
        }
        Err(source) => {
            return Err(KeyError::Io {
                action: "write",
                path: path.into(),
                source,
            });
        }
    }
    Ok(GeneratedKey {
        path: path.into(),
        key_id: key_id(path)?,
    })
}

/// Reads the key in `path` and returns its signer.
pub(crate) fn load_signer(path: &Path) -> Result<Box<dyn Sign>, KeyError> {
    let unreadable = |detail: String| KeyError::Unreadable {
        path: path.into(),
        detail,
    };
    let bytes = std::fs::read(path).map_err(|source| KeyError::Io {
        action: "read",
        path: path.into(),
        source,
    })?;
    let pem = pem::parse(&bytes).map_err(|e| unreadable(e.to_string()))?;
    if pem.tag() != "PRIVATE KEY" {
        return Err(unreadable(format!("the PEM block is `{}`", pem.tag())));
    }
    let signer =
        tough::sign::parse_keypair(pem.contents()).map_err(|e| unreadable(e.to_string()))?;
    if !matches!(signer.tuf_key(), Key::Ed25519 { .. }) {
        return Err(unreadable("not an Ed25519 key".into()));
    }
    Ok(Box::new(signer))
}

/// The public half of the key in `path`, as root metadata lists it.
pub(crate) fn public_key(path: &Path) -> Result<Key, KeyError> {
    Ok(load_signer(path)?.tuf_key())
}

/// The TUF key id of the key in `path` (what root metadata and signatures name it by).
pub fn key_id(path: &Path) -> Result<String, KeyError> {
    let key = public_key(path)?;
    let id = key.key_id().map_err(|e| KeyError::Unreadable {
        path: path.into(),
        detail: e.to_string(),
    })?;
    Ok(hex(&id))
}

/// A key file as tough's signing code asks for it. tough's own `LocalKeySource` reads Ed25519
/// keys only as raw DER; this one reads the PEM files [`generate_key`] and `openssl` write.
#[derive(Debug, Clone)]
pub struct PemKeySource {
    /// The PEM file.
    pub path: PathBuf,
}

#[async_trait]
impl KeySource for PemKeySource {
    async fn as_sign(
        &self,
    ) -> Result<Box<dyn Sign>, Box<dyn std::error::Error + Send + Sync + 'static>> {
        Ok(load_signer(&self.path)?)
    }

    /// Keys are written by [`generate_key`] only; tough never needs to write one back here.
    async fn write(
        &self,
        _value: &str,
        _key_id_hex: &str,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
        Err(format!(
            "{}: release keys are written by `release keygen` only",
            self.path.display()
        )
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_private_pem_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("timestamp.pem");
        let key = generate_key(&path).unwrap();
        assert_eq!(key.key_id.len(), 64);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(key_id(&path).unwrap(), key.key_id);
        assert!(matches!(generate_key(&path), Err(KeyError::Exists { .. })));
        assert_eq!(key_id(&path).unwrap(), key.key_id, "the first key stays");

        let junk = dir.path().join("junk.pem");
        std::fs::write(
            &junk,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(matches!(key_id(&junk), Err(KeyError::Unreadable { .. })));
        assert!(matches!(
            key_id(&dir.path().join("missing.pem")),
            Err(KeyError::Io { .. })
        ));
    }
}
