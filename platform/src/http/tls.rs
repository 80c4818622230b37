//! The platform's own TLS (`serve --tls-cert --tls-key`): the certificate chain and key it
//! presents, and the pin terminals check it by.
//!
//! A pin is the SHA-256 of a SubjectPublicKeyInfo in DER, as 64 hex digits: of the platform's
//! own key (the leaf of `--tls-cert`), or of a CA certificate's key anywhere in the chain the
//! platform presents. Enrollment codes made by a platform serving TLS carry the pin of its
//! leaf key, and terminals trust no other certificate afterwards (see the kiosk's
//! `uplink::tls`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::ParsedCertificate;
use sha2::{Digest, Sha256};
use tokio_rustls::TlsAcceptor;

/// Why TLS cannot be set up from the files given.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// The file cannot be read or holds no PEM of the kind expected.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why it is unusable.
        reason: String,
    },
    /// The key does not belong to the certificate, or rustls refuses them.
    #[error("the TLS certificate and key cannot be used together: {0}")]
    Mismatch(#[from] rustls::Error),
}

/// What `serve` presents over TLS, and the pin of it.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
    pin: String,
}

impl ServerTls {
    /// Loads the certificate chain (`cert`, PEM, leaf first) and its private key (`key`, PEM:
    /// PKCS#8, PKCS#1 or SEC1).
    pub fn load(cert: &Path, key: &Path) -> Result<Self, TlsSetupError> {
        let chain = read_chain(cert)?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsSetupError::File {
            path: key.to_owned(),
            reason: format!("no private key in PEM ({e})"),
        })?;
        let pin = pin_of_certificate(&chain[0]).map_err(|reason| TlsSetupError::File {
            path: cert.to_owned(),
            reason,
        })?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            pin,
        })
    }

    /// The acceptor the accept loop hands each connection to.
    pub fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.clone()
    }

    /// The pin of the platform's own key, for enrollment codes.
    pub fn pin(&self) -> &str {
        &self.pin
    }
}

/// The pins of every certificate in the PEM file `path` (`kiosk-platform tls pin`): the first
/// is the leaf's (or a CA's, given a CA certificate file).
pub fn pins_of_certificate_file(path: &Path) -> Result<Vec<String>, TlsSetupError> {
    read_chain(path)?
        .iter()
        .map(|cert| {
            pin_of_certificate(cert).map_err(|reason| TlsSetupError::File {
                path: path.to_owned(),
                reason,
            })
        })
        .collect()
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let unusable = |reason: String| TlsSetupError::File {
        path: path.to_owned(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| unusable(format!("cannot read ({e})")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unusable(format!("not PEM certificates ({e})")))?;
    if chain.is_empty() {
        return Err(unusable("no certificate in it".into()));
    }
    Ok(chain)
}

/// The SHA-256 of a certificate's SubjectPublicKeyInfo, 64 hex digits.
pub fn pin_of_certificate(cert: &CertificateDer<'_>) -> Result<String, String> {
    let parsed =
        ParsedCertificate::try_from(cert).map_err(|e| format!("not a certificate ({e})"))?;
    let digest = Sha256::digest(parsed.subject_public_key_info().as_ref());
    Ok(kiosk_protocol::auth::hex_encode(&digest))
}
