//! The platform's PostgreSQL connection over TLS, through the real rustls connector: with
//! `sslmode=verify-full&sslrootcert=CA` it reaches the database through a TLS front holding a
//! certificate from that CA, and refuses a front holding another CA's certificate for the
//! same name before the password or any query reaches it. Runs where `KIOSK_TEST_POSTGRES_URL`
//! names a database (`scripts/test-postgres`); the front speaks PostgreSQL's SSLRequest, then
//! TLS, and forwards the decrypted stream to that database.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Backend, TestDb};
use kiosk_platform::{DbUrl, Store};
use kiosk_testkit::pki::{self, ServerCertificate, test_ca};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// PostgreSQL's SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// A TLS front for the database at `upstream`, presenting `files`; counts the connections
/// whose handshake completed (only those carry anything: startup, password, queries).
async fn tls_front(files: &ServerCertificate, upstream: SocketAddr) -> (u16, Arc<AtomicUsize>) {
    let acceptor =
        tokio_rustls::TlsAcceptor::from(Arc::new(pki::server_config(files).expect("config")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let forwarded = Arc::new(AtomicUsize::new(0));
    let counter = forwarded.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (acceptor, counter) = (acceptor.clone(), counter.clone());
            tokio::spawn(async move {
                let mut request = [0u8; 8];
                if stream.read_exact(&mut request).await.is_err() || request != SSL_REQUEST {
                    return;
                }
                if stream.write_all(b"S").await.is_err() {
                    return;
                }
                let Ok(mut client) = acceptor.accept(stream).await else {
                    return;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                let Ok(mut database) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut client, &mut database).await;
            });
        }
    });
    (port, forwarded)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_is_reached_over_verified_tls_and_an_impostor_gets_nothing() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let DbUrl::Postgres(pg) = &db.url else {
        panic!("not PostgreSQL")
    };
    let config = pg.config().expect("config");
    let host = match &config.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(host) => host.clone(),
        other => panic!("the test database is not on TCP: {other:?}"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let upstream: SocketAddr = format!("{host}:{port}").parse().expect("address");
    let dir = tempfile::tempdir().expect("dir");
    let ca = test_ca("Database CA").expect("CA");
    let genuine = pki::server_certificate(dir.path(), "database", &ca).expect("certificate");
    let impostor_ca = test_ca("Impostor CA").expect("CA");
    let impostor =
        pki::server_certificate(dir.path(), "impostor", &impostor_ca).expect("certificate");
    let url_through = |front: u16| -> DbUrl {
        pg.expose()
            .replace(&format!("@{host}:{port}/"), &format!("@localhost:{front}/"))
            .replace(
                "sslmode=disable",
                &format!("sslmode=verify-full&sslrootcert={}", genuine.ca.display()),
            )
            .parse()
            .expect("url")
    };

    let (front, forwarded) = tls_front(&genuine, upstream).await;
    let store = Store::open(&url_through(front))
        .await
        .expect("the database over verified TLS");
    store
        .create_enrollment_token("0123456789abcdef0123456789abcdef", None, i64::MAX / 2)
        .await
        .expect("a write over TLS");
    assert!(forwarded.load(Ordering::SeqCst) > 0);

    let (front, forwarded) = tls_front(&impostor, upstream).await;
    let refused = Store::open(&url_through(front))
        .await
        .err()
        .expect("refused");
    assert!(
        !refused
            .to_string()
            .contains(&pg.expose()[..pg.expose().find('@').unwrap_or(0)]),
        "{refused}"
    );
    assert_eq!(
        forwarded.load(Ordering::SeqCst),
        0,
        "nothing reached the impostor"
    );
}
