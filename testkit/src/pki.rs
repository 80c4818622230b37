//! Certificates made for one test: a CA of its own and the server certificates it issues,
//! written as the PEM files `kiosk-platform serve --tls-cert --tls-key` reads, and a TLS client
//! that trusts only such a CA.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// A certification authority made for one test.
pub type TestCa = CertifiedIssuer<'static, KeyPair>;

/// A server certificate's files.
pub struct ServerCertificate {
    /// The chain, leaf first, then the CA's certificate (PEM).
    pub chain: PathBuf,
    /// The leaf's private key (PEM, PKCS#8).
    pub key: PathBuf,
    /// The issuing CA's certificate alone (PEM).
    pub ca: PathBuf,
}

/// A new CA named `name`, with a fresh key.
pub fn test_ca(name: &str) -> anyhow::Result<TestCa> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(CertifiedIssuer::self_signed(params, KeyPair::generate()?)?)
}

/// A server certificate for this machine (`localhost`, `127.0.0.1`) issued by `ca`, its files
/// written into `dir` as `NAME-chain.pem`, `NAME-key.pem` and `NAME-ca.pem`.
pub fn server_certificate(
    dir: &Path,
    name: &str,
    ca: &TestCa,
) -> anyhow::Result<ServerCertificate> {
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate()?;
    let leaf = params.signed_by(&key, ca)?;
    let files = ServerCertificate {
        chain: dir.join(format!("{name}-chain.pem")),
        key: dir.join(format!("{name}-key.pem")),
        ca: dir.join(format!("{name}-ca.pem")),
    };
    std::fs::write(&files.chain, format!("{}{}", leaf.pem(), ca.pem()))?;
    std::fs::write(&files.key, key.serialize_pem())?;
    std::fs::write(&files.ca, ca.pem())?;
    Ok(files)
}

/// A TLS client configuration trusting only the CA certificate(s) in the PEM file `ca`.
pub fn client_trusting(ca: &Path) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).with_context(|| ca.display().to_string())? {
        roots.add(cert.with_context(|| ca.display().to_string())?)?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A TLS server configuration presenting `files`' chain and key (a test's own TLS endpoint:
/// an interceptor, a database front).
pub fn server_config(files: &ServerCertificate) -> anyhow::Result<rustls::ServerConfig> {
    let chain = CertificateDer::pem_file_iter(&files.chain)?.collect::<Result<Vec<_>, _>>()?;
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&files.key)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?)
}
