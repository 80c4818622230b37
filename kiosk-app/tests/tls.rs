//! TLS everywhere, pinned: a terminal enrolls against a platform serving TLS with a
//! certificate from a test-made CA, using the pin its enrollment code carries, and works
//! (applications, heartbeats); a man-in-the-middle presenting another certificate for the
//! same name gets nothing, not even the enrollment token; plain `http://` to another machine
//! is refused before anything is sent.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kiosk_app::enrollment::{ProvisionError, provision};
use kiosk_app::uplink::identity::{IdentityError, TerminalIdentity};
use kiosk_app::uplink::outbox::{Outbox, deliver_due};
use kiosk_app::uplink::platform_link::{LinkError, PlatformLink};
use kiosk_app::uplink::tls::{PlatformTls, TlsPin};
use kiosk_protocol::{ApplicationRequest, Heartbeat};
use kiosk_testkit::PlatformPeer;
use kiosk_testkit::pki::{self, ServerCertificate, TestCa, client_trusting, test_ca};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

fn ca(name: &str) -> TestCa {
    test_ca(name).expect("CA")
}

/// A server certificate for this machine signed by `issuer`, written to `dir` as `name`.
fn server_certificate(dir: &Path, name: &str, issuer: &TestCa) -> ServerCertificate {
    pki::server_certificate(dir, name, issuer).expect("certificate")
}

/// Enrolls this terminal (hardware serial `serial`, data in `data`) with `payload`.
fn enroll(
    tokio: &tokio::runtime::Runtime,
    payload: &str,
    data: &Path,
    serial: &str,
) -> Result<kiosk_app::enrollment::Provisioned, ProvisionError> {
    tokio.block_on(provision(
        payload,
        data,
        serial.into(),
        Duration::from_secs(5),
        false,
    ))
}

fn pin_of(pem: &Path) -> TlsPin {
    let cert = CertificateDer::from_pem_file(pem).expect("certificate");
    let parsed = rustls::server::ParsedCertificate::try_from(&cert).expect("parse");
    TlsPin::of_public_key(parsed.subject_public_key_info().as_ref())
}

fn application(terminal_id: &str) -> ApplicationRequest {
    serde_json::from_value(serde_json::json!({
        "terminal_id": terminal_id,
        "matter_id": "lyg-health-0701",
        "applicant": {
            "name": "测试",
            "id_number": "320706199001010007",
            "document_kind": "resident"
        },
        "language": "zh"
    }))
    .expect("application")
}

fn heartbeat() -> Heartbeat {
    serde_json::from_value(serde_json::json!({"uptime_secs": 5, "outbox_depth": 0}))
        .expect("heartbeat")
}

/// A man-in-the-middle TLS proxy: it presents its own certificate (another CA's, for the same
/// names) and forwards what it decrypts to the real platform. It counts the requests it passes
/// upstream (connections it opened there and bytes it forwarded).
struct Interceptor {
    address: SocketAddr,
    upstream_connections: Arc<AtomicUsize>,
    forwarded_bytes: Arc<AtomicUsize>,
}

impl Interceptor {
    async fn start(
        own: &ServerCertificate,
        platform: SocketAddr,
        platform_ca: &Path,
    ) -> Interceptor {
        let server = pki::server_config(own).expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        // The proxy itself trusts the platform (an attacker can always reach the real one).
        let client = client_trusting(platform_ca).expect("client");
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let upstream_connections = Arc::new(AtomicUsize::new(0));
        let forwarded_bytes = Arc::new(AtomicUsize::new(0));
        let (connections, bytes) = (upstream_connections.clone(), forwarded_bytes.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, connector) = (acceptor.clone(), connector.clone());
                let (connections, bytes) = (connections.clone(), bytes.clone());
                tokio::spawn(async move {
                    let Ok(mut downstream) = acceptor.accept(stream).await else {
                        return;
                    };
                    let Ok(tcp) = tokio::net::TcpStream::connect(platform).await else {
                        return;
                    };
                    let name = ServerName::try_from("localhost").expect("name");
                    let Ok(mut upstream) = connector.connect(name, tcp).await else {
                        return;
                    };
                    connections.fetch_add(1, Ordering::SeqCst);
                    if let Ok((sent, _)) =
                        tokio::io::copy_bidirectional(&mut downstream, &mut upstream).await
                    {
                        bytes.fetch_add(sent as usize, Ordering::SeqCst);
                    }
                });
            }
        });
        Interceptor {
            address,
            upstream_connections,
            forwarded_bytes,
        }
    }

    fn url(&self) -> String {
        format!("https://{}", self.address)
    }
}

fn socket_of(url: &str) -> SocketAddr {
    url.trim_start_matches("https://")
        .parse()
        .expect("platform address")
}

#[test]
fn a_pinned_terminal_works_over_tls_and_a_man_in_the_middle_gets_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = server_certificate(dir.path(), "platform", &ca("Test platform CA"));
    let chain = pki.chain.to_string_lossy().into_owned();
    let key = pki.key.to_string_lossy().into_owned();
    let platform = PlatformPeer::start_with(
        &dir.path().join("platform.db"),
        "127.0.0.1:0",
        &["--tls-cert", &chain, "--tls-key", &key],
    )
    .expect("platform");
    assert!(platform.url.starts_with("https://"), "{}", platform.url);
    let tokio = tokio::runtime::Runtime::new().expect("tokio");
    let data = common::terminal_dir(dir.path());

    // The operator's enrollment code carries the pin of the platform's key.
    let payload = platform
        .pinned_enrollment("tls", &pki.chain)
        .expect("token");
    let pin = pin_of(&pki.chain);
    assert!(payload.contains(&pin.hex()), "{payload}");

    // A man-in-the-middle with a certificate for the same names from another CA, in front of
    // the real platform: the terminal scanning the real code is refused at the handshake, and
    // the token never reaches anyone.
    let attacker = server_certificate(dir.path(), "attacker", &ca("Attacker CA"));
    let interceptor = tokio.block_on(Interceptor::start(
        &attacker,
        socket_of(&platform.url),
        &pki.ca,
    ));
    let intercepted = payload.replace(&platform.url, &interceptor.url());
    let refused = enroll(&tokio, &intercepted, &data, "SN-TLS-1")
        .err()
        .expect("the interceptor is refused");
    assert!(
        matches!(
            refused,
            ProvisionError::Unreachable(LinkError::UntrustedCertificate { .. })
        ),
        "{refused}"
    );
    assert!(refused.to_string().contains("证书"), "{refused}");
    assert_eq!(interceptor.upstream_connections.load(Ordering::SeqCst), 0);
    assert_eq!(interceptor.forwarded_bytes.load(Ordering::SeqCst), 0);
    assert!(matches!(
        TerminalIdentity::load(&data),
        Err(IdentityError::NotProvisioned { .. })
    ));
    // The interceptor does forward a client that trusts it (so zero above means refused, not
    // a broken proxy): a link pinned to the attacker's key gets through to the platform.
    let fooled = PlatformLink::new(
        &interceptor.url(),
        Duration::from_secs(5),
        PlatformTls::pinned(vec![pin_of(&attacker.chain)]),
    )
    .expect("link");
    tokio.block_on(fooled.health()).expect("through the proxy");
    assert_eq!(interceptor.upstream_connections.load(Ordering::SeqCst), 1);

    // The real platform: enrollment with the pin, the pin kept, then a journey.
    let enrolled = enroll(&tokio, &payload, &data, "SN-TLS-1").expect("enrolled over TLS");
    let identity = TerminalIdentity::load(&data).expect("identity");
    assert_eq!(identity.tls_pins, vec![pin]);
    let link = enrolled.link;
    let terminal_id = enrolled.identity.terminal_id.clone();
    let outbox = Outbox::open(&data.join("outbox.db"), 100).expect("outbox");
    outbox
        .keep_application(
            "tls-application-1",
            &application(&terminal_id),
            link.sealing_key().as_deref(),
        )
        .expect("kept");
    let round = tokio
        .block_on(deliver_due(&outbox, &link, |_, _| {}))
        .expect("delivery");
    assert_eq!(round.delivered, 1, "{round:?}");
    let stored = common::application_numbers(&platform.db);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].0, "tls-application-1");
    tokio
        .block_on(link.heartbeat(&heartbeat()))
        .expect("heartbeat");

    // The enrolled terminal, pointed at the interceptor (a poisoned name, a moved platform):
    // refused, nothing forwarded, and its next application waits in the outbox.
    let before = interceptor.upstream_connections.load(Ordering::SeqCst);
    let diverted = PlatformLink::enrolled(
        Arc::new(TerminalIdentity::load(&data).expect("identity")),
        Duration::from_secs(5),
    )
    .expect("link")
    .towards(&interceptor.url())
    .expect("https");
    let err = tokio
        .block_on(diverted.heartbeat(&heartbeat()))
        .expect_err("refused");
    assert!(
        matches!(err, LinkError::UntrustedCertificate { .. }),
        "{err}"
    );
    assert!(err.is_transient(), "what waits keeps waiting");
    outbox
        .keep_application(
            "tls-application-2",
            &application(&terminal_id),
            link.sealing_key().as_deref(),
        )
        .expect("kept");
    let round = tokio.block_on(deliver_due(&outbox, &diverted, |_, _| {}));
    assert!(round.is_ok(), "{round:?}");
    assert!(
        outbox.holds("tls-application-2").expect("outbox"),
        "the application waits"
    );
    assert_eq!(
        interceptor.upstream_connections.load(Ordering::SeqCst),
        before
    );
    assert_eq!(common::application_numbers(&platform.db).len(), 1);

    // A pin of the CA that issued the platform's certificate works as well (the CA is in the
    // chain the platform presents); the system's roots alone do not trust a private CA.
    let by_ca = PlatformLink::new(
        &platform.url,
        Duration::from_secs(5),
        PlatformTls::pinned(vec![pin_of(&pki.ca)]),
    )
    .expect("link");
    tokio.block_on(by_ca.health()).expect("CA pin");
    let unpinned = PlatformLink::new(
        &platform.url,
        Duration::from_secs(5),
        PlatformTls::default(),
    )
    .expect("link");
    assert!(tokio.block_on(unpinned.health()).is_err());
}

#[test]
fn plain_http_to_another_machine_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().expect("dir");
    let data = common::terminal_dir(dir.path());
    let tokio = tokio::runtime::Runtime::new().expect("tokio");
    let payload = r#"{"platform":"http://192.0.2.10:8080","token":"0123456789abcdef0123","expires_at":"2099-01-01T00:00:00+08:00"}"#;
    let refused = enroll(&tokio, payload, &data, "SN-TLS-2")
        .err()
        .expect("refused");
    let message = refused.to_string();
    assert!(
        matches!(
            refused,
            ProvisionError::Identity(IdentityError::BadPayload(_))
        ),
        "{message}"
    );
    // In both languages, for the technician at the setup screen.
    assert!(
        message.contains("平台地址必须使用 https://") && message.contains("must use https://"),
        "{message}"
    );
    assert!(!data.join("identity.json").exists());
    let link = PlatformLink::new(
        "http://192.0.2.10:8080",
        Duration::from_secs(5),
        PlatformTls::default(),
    );
    assert!(matches!(link, Err(LinkError::PlainHttp(_))));
    // Loopback stays open to plain HTTP (the demo, tests).
    assert!(
        PlatformLink::new(
            "http://127.0.0.1:8080",
            Duration::from_secs(5),
            PlatformTls::default()
        )
        .is_ok()
    );
}

#[test]
fn a_terminal_follows_a_certificate_switch_the_platform_announced() {
    let dir = tempfile::tempdir().expect("dir");
    let first = server_certificate(dir.path(), "first", &ca("First CA"));
    let second = server_certificate(dir.path(), "second", &ca("Second CA"));
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let db = dir.path().join("platform.db");
    // Serving the first certificate, announcing the second.
    let platform = PlatformPeer::start_with(
        &db,
        "127.0.0.1:0",
        &[
            "--tls-cert",
            &path(&first.chain),
            "--tls-key",
            &path(&first.key),
            "--tls-next-cert",
            &path(&second.chain),
        ],
    )
    .expect("platform");
    let address = platform.url.trim_start_matches("https://").to_owned();
    let tokio = tokio::runtime::Runtime::new().expect("tokio");
    let data = common::terminal_dir(dir.path());
    let payload = platform
        .pinned_enrollment("tls", &first.chain)
        .expect("token");
    let enrolled = enroll(&tokio, &payload, &data, "SN-TLS-3").expect("enrolled");
    let (pin1, pin2) = (pin_of(&first.chain), pin_of(&second.chain));
    assert_eq!(enrolled.link.tls().pins(), vec![pin1]);
    let link = enrolled.link;
    tokio
        .block_on(link.heartbeat(&heartbeat()))
        .expect("heartbeat");
    let kept = TerminalIdentity::load(&data).expect("identity").tls_pins;
    assert!(kept.contains(&pin1) && kept.contains(&pin2), "{kept:?}");

    // The switch: the same address and database, the second certificate.
    drop(platform);
    let platform = PlatformPeer::start_with(
        &db,
        &address,
        &[
            "--tls-cert",
            &path(&second.chain),
            "--tls-key",
            &path(&second.key),
        ],
    )
    .expect("platform after the switch");
    // A terminal that never heard the announcement is refused (the pins are real) …
    let unannounced = PlatformLink::new(
        &platform.url,
        Duration::from_secs(5),
        PlatformTls::pinned(vec![pin1]),
    )
    .expect("link");
    assert!(matches!(
        tokio.block_on(unannounced.health()),
        Err(LinkError::UntrustedCertificate { .. })
    ));
    // … the running terminal keeps working, and so does it after a restart.
    tokio
        .block_on(link.heartbeat(&heartbeat()))
        .expect("heartbeat after the switch");
    let restarted = PlatformLink::enrolled(
        Arc::new(TerminalIdentity::load(&data).expect("identity")),
        Duration::from_secs(5),
    )
    .expect("link");
    tokio.block_on(restarted.config()).expect("signed request");
}
