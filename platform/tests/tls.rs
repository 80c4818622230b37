//! The platform serving TLS itself (`serve --tls-cert --tls-key`): the real process prints the
//! pin an operator puts into enrollment codes (the same `tls pin FILE` prints), serves HTTPS
//! with `Secure` console cookies, and closes a connection that stalls its handshake within the
//! header timeout, like one that stalls its headers.

use std::path::Path;
use std::time::{Duration, Instant};

use kiosk_testkit::pki::{client_trusting, server_certificate, test_ca};
use kiosk_testkit::{PlatformPeer, run};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A client trusting only the test CA in `ca`.
fn client(ca: &Path) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(client_trusting(ca).expect("tls"))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn healthz(http: &reqwest::Client, url: &str) -> u16 {
    let answer = http.get(format!("{url}/healthz")).send().await;
    answer.expect("https").status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_tls_prints_its_pin_sets_secure_cookies_and_times_out_stalled_handshakes() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = test_ca("Test CA").expect("CA");
    let files = server_certificate(dir.path(), "platform", &ca).expect("certificate");
    let chain = files.chain.to_string_lossy().into_owned();
    let key = files.key.to_string_lossy().into_owned();
    let mut platform = PlatformPeer::start_with(
        &dir.path().join("platform.db"),
        "127.0.0.1:0",
        &[
            "--tls-cert",
            &chain,
            "--tls-key",
            &key,
            "--header-timeout",
            "1s",
        ],
    )
    .expect("platform");
    assert!(platform.url.starts_with("https://"), "{}", platform.url);
    let printed = platform
        .peer
        .next_line(Duration::from_secs(10))
        .expect("pin line");
    let pin = printed
        .strip_prefix("tls pin: ")
        .expect(&printed)
        .to_owned();
    let output = run("kiosk-platform", &["tls", "pin", &chain], &[]).expect("tls pin");
    let pins = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(pins.lines().next(), Some(pin.as_str()), "leaf first");
    assert_eq!(pins.lines().count(), 2, "the leaf's and the CA's");
    assert_eq!(pin.len(), 64);

    let http = client(&files.ca);
    assert_eq!(healthz(&http, &platform.url).await, 200);
    let login = http
        .get(format!("{}/console/login", platform.url))
        .send()
        .await
        .expect("login page");
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("lyb_login="))
        .expect("login cookie")
        .to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");

    // A client that connects and never finishes its handshake is dropped like one that never
    // finishes its headers.
    let address = platform.url.trim_start_matches("https://").to_owned();
    let mut stalled = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    stalled.write_all(&[0x16, 0x03, 0x01]).await.expect("write");
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stalled.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the stalled handshake is still open");
    assert!(
        started.elapsed() >= Duration::from_millis(900)
            && started.elapsed() < Duration::from_secs(5),
        "closed after {:?}",
        started.elapsed()
    );
    // Others are still served.
    assert_eq!(healthz(&http, &platform.url).await, 200);
}
