//! What one client may hold of the server, tried over raw TCP as an attacker would: a
//! connection that never finishes its headers, a body sent too slowly, and a body the
//! signature layer must refuse before reading it.

mod common;

use std::time::{Duration, Instant};

use common::{Backend, TestDb};
use kiosk_platform::http::limits::{ServerLimits, serve};
use kiosk_platform::{AppState, router};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A platform on SQLite with short limits; its address.
async fn platform(limits: ServerLimits) -> (TestDb, String) {
    let db = TestDb::new(Backend::Sqlite).await.expect("sqlite");
    let store = db.store().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("addr").to_string();
    let app = router(AppState::new(store, "http://127.0.0.1"));
    tokio::spawn(serve(listener, app, limits, std::future::pending()));
    (db, address)
}

const SHORT: ServerLimits = ServerLimits {
    header_timeout: Duration::from_secs(1),
    body_timeout: Duration::from_secs(1),
    max_connections: 8,
};

/// Everything the server sends until it closes the connection (or `within` passes: `None`).
async fn until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut all = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&all).into_owned())
}

/// A connection to `address` that has sent `bytes`, and when it started sending.
async fn sending(address: &str, bytes: &[u8]) -> (TcpStream, Instant) {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    let started = Instant::now();
    stream.write_all(bytes).await.expect("write");
    (stream, started)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_half_its_headers_is_closed_after_the_timeout() {
    let (_db, address) = platform(SHORT).await;
    let (mut stream, started) = sending(
        &address,
        b"GET /healthz HTTP/1.1\r\nHost: platform\r\nX-Slow: ",
    )
    .await;
    let closed = until_closed(&mut stream, Duration::from_secs(10)).await;
    assert!(closed.is_some(), "the connection is still open after 10 s");
    let after = started.elapsed();
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_secs(5),
        "closed after {after:?}"
    );
    // The server is still there for everyone else.
    let mut next = TcpStream::connect(&address).await.expect("connect");
    next.write_all(b"GET /healthz HTTP/1.1\r\nHost: platform\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let answer = until_closed(&mut next, Duration::from_secs(5))
        .await
        .expect("answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_too_slowly_is_refused_and_its_connection_closed() {
    let (_db, address) = platform(SHORT).await;
    let (mut stream, started) = sending(
        &address,
        b"POST /console/login HTTP/1.1\r\nHost: platform\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\nname=a",
    )
    .await;
    // One more byte now and then: an idle timeout would never fire.
    let trickle = async {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if stream.write_all(b"a").await.is_err() {
                break;
            }
        }
    };
    trickle.await;
    let answer = until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(answer.is_some(), "the connection is still open");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

/// Signed-request headers for `terminal`, with a signature of the right length (never checked:
/// the terminal is unknown).
fn signed_head(terminal: &str, signature: &str, length: usize) -> String {
    let now = kiosk_platform::store::unix_now();
    format!(
        "POST /v1/heartbeat HTTP/1.1\r\nHost: platform\r\nContent-Type: application/json\r\n\
         X-Terminal-Id: {terminal}\r\nX-Timestamp: {now}\r\nX-Nonce: nonce-0123456789abcdef\r\n\
         X-Signature: {signature}\r\nContent-Length: {length}\r\n\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_terminals_and_bad_signature_headers_are_refused_before_their_body() {
    let (_db, address) = platform(ServerLimits::default()).await;
    for head in [
        signed_head("T-NOT-ENROLLED", &"ab".repeat(64), 2 * 1024 * 1024),
        signed_head("T-NOT-ENROLLED", "not-a-signature", 2 * 1024 * 1024),
        signed_head("bad id!", &"ab".repeat(64), 2 * 1024 * 1024),
    ] {
        let mut stream = TcpStream::connect(&address).await.expect("connect");
        stream.write_all(head.as_bytes()).await.expect("write");
        // Not one byte of the promised 2 MiB is sent: the answer must come anyway, at once.
        let started = Instant::now();
        let mut buf = [0u8; 2048];
        let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf))
            .await
            .expect("answered before the body was sent")
            .expect("read");
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
        assert!(answer.contains("unauthorized"), "{answer}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_until_one_ends() {
    let limits = ServerLimits {
        max_connections: 2,
        ..SHORT
    };
    let (_db, address) = platform(limits).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(&address).await.expect("connect");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: p\r\n")
            .await
            .expect("write");
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A third is accepted by the kernel but not served while both are held…
    let started = Instant::now();
    let mut third = TcpStream::connect(&address).await.expect("connect");
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let answer = until_closed(&mut third, Duration::from_secs(5))
        .await
        .expect("served once the header timeout freed a place");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // …and served once the held ones time out (1 s).
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_client_is_the_address_it_forwarded() {
    use axum::extract::ConnectInfo;
    use std::net::{IpAddr, SocketAddr};
    let seen = |ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() };
    let app = |proxies: Vec<IpAddr>| {
        axum::Router::new()
            .route("/whoami", axum::routing::get(seen))
            .layer(axum::middleware::from_fn_with_state(
                std::sync::Arc::<[IpAddr]>::from(proxies),
                kiosk_platform::http::limits::forwarded_client,
            ))
    };
    let ask = |address: String| async move {
        let (mut stream, _) = sending(
            &address,
            b"GET /whoami HTTP/1.1\r\nHost: p\r\nX-Forwarded-For: 10.9.9.9, 198.51.100.7\r\n\
              Connection: close\r\n\r\n",
        )
        .await;
        until_closed(&mut stream, Duration::from_secs(5))
            .await
            .expect("answered")
    };
    for (proxies, client) in [
        (vec!["127.0.0.1".parse().expect("ip")], "198.51.100.7"),
        // From a peer that is not a trusted proxy the header is the client's say: ignored.
        (vec!["192.0.2.1".parse().expect("ip")], "127.0.0.1"),
    ] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("addr").to_string();
        tokio::spawn(serve(listener, app(proxies), SHORT, std::future::pending()));
        let answer = ask(address).await;
        assert!(answer.ends_with(client), "{answer}");
    }
}
