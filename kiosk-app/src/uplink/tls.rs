//! TLS towards the platform: which certificates the terminal trusts, and which URLs it may
//! speak plain HTTP to.
//!
//! Enrollment hands the terminal a *pin*: the SHA-256 of a SubjectPublicKeyInfo, either the
//! platform's own key or the key of a CA anywhere in the chain the platform presents. Once a
//! terminal holds pins it trusts nothing else — not the system roots, not a certificate a
//! corporate proxy or an attacker on the branch LAN got from a public CA. Before a pin exists
//! (an enrollment code made by a platform that does not serve TLS itself, e.g. behind a
//! reverse proxy with a public certificate), the system's roots are used.
//!
//! Plain `http://` is refused except to loopback addresses (the demo, tests, a platform on
//! the same machine), because the enrollment answer carries the keys that decide which
//! software a terminal runs and to whom citizens' data is sealed: on a network path those are
//! an attacker's to swap. [`PLAIN_HTTP_SWITCH`] lifts the refusal for test benches only.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, PoisonError, RwLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

/// Set to `1` in the environment to let the kiosk speak plain HTTP to a platform that is not
/// on loopback. For test benches only: it hands every key of the enrollment answer to whoever
/// sits on the network path.
pub const PLAIN_HTTP_SWITCH: &str = "KIOSK_INSECURE_PLAIN_HTTP";

/// The SHA-256 of a SubjectPublicKeyInfo (DER), the form `kiosk-platform tls pin` prints:
/// 64 hex digits, the same as `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der |
/// sha256sum`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TlsPin([u8; 32]);

/// A pin that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a TLS pin is the SHA-256 of a public key as 64 hex digits")]
pub struct BadPin;

impl TlsPin {
    /// Parses 64 hex digits (either case, an optional `sha256:` prefix).
    pub fn parse(text: &str) -> Result<Self, BadPin> {
        let text = text.trim();
        let hex = text.strip_prefix("sha256:").unwrap_or(text);
        kiosk_protocol::auth::hex_decode(hex)
            .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
            .map(Self)
            .ok_or(BadPin)
    }

    /// The pin of a SubjectPublicKeyInfo in DER.
    pub fn of_public_key(spki_der: &[u8]) -> Self {
        Self(Sha256::digest(spki_der).into())
    }

    /// As 64 lowercase hex digits.
    pub fn hex(&self) -> String {
        kiosk_protocol::auth::hex_encode(&self.0)
    }
}

impl fmt::Debug for TlsPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlsPin({})", self.hex())
    }
}

impl fmt::Display for TlsPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

/// At most this many pins are kept: the enrolled one and the certificates announced since.
pub const MAX_PINS: usize = 4;

/// How the terminal checks the platform's certificate: by its pins, or (none yet) by the
/// system's roots. Clones share the pins, so a pin the platform announces (see
/// [`PlatformTls::adopt`]) holds at once for every client made from them.
#[derive(Debug, Clone, Default)]
pub struct PlatformTls {
    pins: Arc<RwLock<Vec<TlsPin>>>,
}

impl PlatformTls {
    /// Trusts exactly the keys (or CA keys) `pins` names; without pins, the system's roots.
    pub fn pinned(pins: Vec<TlsPin>) -> Self {
        Self {
            pins: Arc::new(RwLock::new(pins)),
        }
    }

    /// The pins, empty when the system's roots are used.
    pub fn pins(&self) -> Vec<TlsPin> {
        self.pins
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Adds the pins the platform announced (its current certificate's and the next one's,
    /// before it switches), newest first, keeping at most [`MAX_PINS`]. The announcement
    /// came over a connection this terminal's pins authenticated, so it comes from whoever
    /// holds a pinned key: the platform. A terminal without pins (system roots) adopts
    /// nothing. Returns true when the set changed (and should be kept on disk).
    pub fn adopt(&self, announced: &[TlsPin]) -> bool {
        let mut pins = self.pins.write().unwrap_or_else(PoisonError::into_inner);
        if pins.is_empty() || announced.iter().all(|pin| pins.contains(pin)) {
            return false;
        }
        let mut next: Vec<TlsPin> = Vec::with_capacity(MAX_PINS);
        for pin in announced.iter().chain(pins.iter()) {
            if !next.contains(pin) && next.len() < MAX_PINS {
                next.push(*pin);
            }
        }
        *pins = next;
        true
    }

    /// A client builder that speaks TLS with these rules (timeouts and the rest are the
    /// caller's).
    pub fn client_builder(&self) -> Result<reqwest::ClientBuilder, rustls::Error> {
        let builder = reqwest::Client::builder();
        if self.pins().is_empty() {
            return Ok(builder);
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = PinnedVerifier {
            pins: self.pins.clone(),
            algorithms: provider.signature_verification_algorithms,
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Ok(builder.use_preconfigured_tls(config))
    }
}

/// Checks that the terminal may speak to `url` at all: `https://`, or `http://` to loopback,
/// or `http://` anywhere when [`PLAIN_HTTP_SWITCH`] is set.
pub fn check_platform_url(url: &str) -> Result<(), PlainHttpRefused> {
    let allowed = std::env::var(PLAIN_HTTP_SWITCH).is_ok_and(|v| v == "1");
    check_platform_url_with(url, allowed)
}

fn check_platform_url_with(url: &str, plain_http_allowed: bool) -> Result<(), PlainHttpRefused> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Ok(());
    };
    if plain_http_allowed || is_loopback_authority(rest) {
        return Ok(());
    }
    Err(PlainHttpRefused {
        url: url.to_owned(),
    })
}

/// True when the authority at the start of `rest` (what follows `http://`) is a loopback
/// address or `localhost`.
fn is_loopback_authority(rest: &str) -> bool {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Plain HTTP to a platform that is not on this machine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "平台地址必须使用 https://（{url} 是未加密的 http://，只允许本机地址）。请向运维人员索取 https 平台的登记码。 / The platform address must use https:// ({url} is plain http://, allowed only to this machine): ask operations for an enrollment code of an https platform."
)]
pub struct PlainHttpRefused {
    /// The refused URL.
    pub url: String,
}

/// Checks the platform's certificate against the pins: the end-entity key itself, or a CA key
/// in the presented chain the end-entity certificate validly chains to (names and dates
/// checked, as webpki does). The handshake's signature is always checked with the end-entity
/// key, so presenting a pinned certificate without its private key gets nowhere.
#[derive(Debug)]
struct PinnedVerifier {
    pins: Arc<RwLock<Vec<TlsPin>>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedVerifier {
    fn is_pinned(&self, certificate: &ParsedCertificate<'_>) -> bool {
        let pin = TlsPin::of_public_key(certificate.subject_public_key_info().as_ref());
        self.pins
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&pin)
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let leaf = ParsedCertificate::try_from(end_entity)?;
        if self.is_pinned(&leaf) {
            // The platform's own key: whoever signs this handshake with it is the platform
            // (the signature is checked below). Its name and dates are the operator's choice,
            // and a self-made certificate often names only an address.
            return Ok(ServerCertVerified::assertion());
        }
        for candidate in intermediates {
            let Ok(parsed) = ParsedCertificate::try_from(candidate) else {
                continue;
            };
            if !self.is_pinned(&parsed) {
                continue;
            }
            // A pinned CA: the leaf must chain to it, be valid now, and name the host.
            let mut anchor = RootCertStore::empty();
            anchor.add(candidate.clone().into_owned())?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &leaf,
                &anchor,
                intermediates,
                now,
                self.algorithms.all,
            )?;
            rustls::client::verify_server_name(&leaf, server_name)?;
            return Ok(ServerCertVerified::assertion());
        }
        Err(rustls::Error::InvalidCertificate(
            CertificateError::ApplicationVerificationFailure,
        ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// True when `error` (anywhere in its chain) is a TLS certificate refusal: the platform
/// presented a certificate this terminal does not trust.
pub fn is_certificate_refusal(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if matches!(
            e.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidCertificate(_))
        ) {
            return true;
        }
        // An I/O error's `source` skips the error it wraps (the TLS stack wraps its own in
        // one, and the connector that one in another): descend into it instead.
        current = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_64_hex_digits() {
        let pin = TlsPin::of_public_key(b"key");
        assert_eq!(TlsPin::parse(&pin.hex()), Ok(pin));
        assert_eq!(
            TlsPin::parse(&format!("sha256:{}", pin.hex().to_uppercase())),
            Ok(pin)
        );
        for bad in ["", "abcd", &"g".repeat(64), &"a".repeat(66)] {
            assert_eq!(TlsPin::parse(bad), Err(BadPin), "{bad:?}");
        }
    }

    #[test]
    fn announced_pins_are_added_newest_first_and_bounded() {
        let pin = |n: u8| TlsPin::of_public_key(&[n]);
        let unpinned = PlatformTls::default();
        assert!(!unpinned.adopt(&[pin(1)]), "system roots stay system roots");
        let tls = PlatformTls::pinned(vec![pin(0)]);
        let shared = tls.clone();
        assert!(tls.adopt(&[pin(0), pin(1)]));
        assert_eq!(shared.pins(), vec![pin(0), pin(1)]);
        assert!(!tls.adopt(&[pin(1)]), "nothing new");
        assert!(tls.adopt(&[pin(2), pin(3), pin(4)]));
        assert_eq!(shared.pins(), vec![pin(2), pin(3), pin(4), pin(0)]);
    }

    #[test]
    fn plain_http_is_refused_except_to_loopback_or_with_the_switch() {
        for ok in [
            "https://platform.example.cn",
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://localhost:8080/",
            "http://[::1]:8080",
        ] {
            assert_eq!(check_platform_url_with(ok, false), Ok(()), "{ok}");
        }
        for refused in [
            "http://10.0.0.5:8080",
            "http://platform.example.cn",
            "http://127.0.0.1@evil.example:80",
            "http://localhost.evil.example",
            "http://[::2]:8080",
        ] {
            let err = check_platform_url_with(refused, false).expect_err(refused);
            let text = err.to_string();
            assert!(
                text.contains("https://") && text.contains("平台地址"),
                "{text}"
            );
            assert_eq!(check_platform_url_with(refused, true), Ok(()));
        }
    }
}
