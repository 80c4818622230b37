//! The console under a password-guessing flood, against the real `kiosk-platform serve`
//! process: 500 bad logins, 128 at once, leave its peak memory under 300 MB (before the
//! throttle and the cap on concurrent hashes, 512 of them drove it to 7.2 GB) while an operator
//! elsewhere still logs in within seconds; and accounts managed with `kiosk-platform user`.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kiosk_testkit::{PlatformPeer, program};
use reqwest::StatusCode;

/// Runs `kiosk-platform user ARGS --db DB`, the password (if any) on its input.
fn user(db: &Path, args: &[&str], password: Option<&str>) -> std::process::Output {
    let mut child = Command::new(program("kiosk-platform").expect("built"))
        .arg("user")
        .args(args)
        .arg("--db")
        .arg(format!("sqlite://{}", db.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kiosk-platform user");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = writeln!(stdin, "{}", password.unwrap_or_default());
    }
    child.wait_with_output().expect("finished")
}

/// Peak resident memory of process `pid`, in kB (`VmHWM` in /proc).
fn peak_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

fn client(from: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(IpAddr::V4(from))
        .pool_max_idle_per_host(256)
        .build()
        .expect("client")
}

/// The login form's pairing: (cookie, nonce), reusable for as many attempts as one likes.
async fn pairing(http: &reqwest::Client, url: &str) -> (String, String) {
    let page = http
        .get(format!("{url}/console/login"))
        .send()
        .await
        .expect("login page");
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("lyb_login="))
        .and_then(|v| v.split(';').next())
        .expect("pairing cookie")
        .to_owned();
    let html = page.text().await.expect("html");
    let at = html.find("name=\"login_csrf\" value=\"").expect("nonce") + 25;
    let nonce = html[at..at + 32].to_owned();
    (cookie, nonce)
}

async fn post_login(
    http: &reqwest::Client,
    url: &str,
    (cookie, nonce): &(String, String),
    name: &str,
    password: &str,
) -> StatusCode {
    http.post(format!("{url}/console/login"))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "login_csrf={nonce}&name={name}&password={password}"
        ))
        .send()
        .await
        .map(|r| r.status())
        .unwrap_or(StatusCode::BAD_GATEWAY)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_bad_logins_stays_small_and_an_operator_still_logs_in() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("p.db");
    let added = user(
        &db,
        &["add", "ada", "--role", "admin"],
        Some("ada-password-1"),
    );
    assert!(added.status.success(), "{added:?}");
    let platform = PlatformPeer::start(&db).expect("platform starts");
    let url = platform.url.clone();
    let pid = platform.peer.pid();

    let attacker = client(Ipv4Addr::new(127, 0, 0, 1));
    let pair = Arc::new(pairing(&attacker, &url).await);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..128 {
        let (http, url, pair, next) = (attacker.clone(), url.clone(), pair.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= 500 {
                    return statuses;
                }
                let name = ["root", "admin", "operator", "ops", "kiosk"][i % 5];
                statuses.push(post_login(&http, &url, &pair, name, &format!("guess{i}")).await);
            }
        }));
    }
    // Meanwhile an operator at another address logs in: a busy answer says to retry in a
    // moment, so the browser (here, the test) does.
    let operator = client(Ipv4Addr::new(127, 0, 0, 2));
    let started = Instant::now();
    let good = pairing(&operator, &url).await;
    let logged_in = loop {
        let status = post_login(&operator, &url, &good, "ada", "ada-password-1").await;
        if status != StatusCode::SERVICE_UNAVAILABLE || started.elapsed() > Duration::from_secs(10)
        {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let answered_in = started.elapsed();
    let mut statuses = Vec::new();
    for worker in workers {
        statuses.extend(worker.await.expect("worker"));
    }
    assert_eq!(logged_in, StatusCode::SEE_OTHER, "after {answered_in:?}");
    assert!(answered_in < Duration::from_secs(10), "{answered_in:?}");
    assert_eq!(statuses.len(), 500);
    assert!(
        statuses.iter().all(|s| [
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::SERVICE_UNAVAILABLE
        ]
        .contains(s)),
        "{statuses:?}"
    );
    let peak = peak_kb(pid);
    assert!(peak < 300 * 1024, "peak resident memory {peak} kB");
    eprintln!(
        "500 bad logins at 128 at once: peak {} MB; {} refused at once; operator in after {answered_in:?}",
        peak / 1024,
        statuses
            .iter()
            .filter(|s| **s != StatusCode::UNAUTHORIZED)
            .count()
    );

    // `user disable` ends the way in; `enable` opens it again; `remove` deletes the account.
    let disabled = user(&db, &["disable", "ada"], None);
    assert!(disabled.status.success(), "{disabled:?}");
    let again = pairing(&operator, &url).await;
    assert_eq!(
        post_login(&operator, &url, &again, "ada", "ada-password-1").await,
        StatusCode::UNAUTHORIZED
    );
    assert!(user(&db, &["enable", "ada"], None).status.success());
    assert_eq!(
        post_login(&operator, &url, &again, "ada", "ada-password-1").await,
        StatusCode::SEE_OTHER
    );
    assert!(user(&db, &["remove", "ada"], None).status.success());
    assert_eq!(
        post_login(&operator, &url, &again, "ada", "ada-password-1").await,
        StatusCode::UNAUTHORIZED
    );
    let unknown = user(&db, &["disable", "nobody"], None);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no operator nobody"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editor_account_is_made_with_the_departments_it_edits() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("p.db");
    let refused = |args: &[&str], why: &str| {
        let out = user(&db, args, Some("edna-password-1"));
        assert!(!out.status.success(), "{args:?} was accepted");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains(why), "{args:?}: {said}");
    };
    refused(
        &["add", "edna", "--role", "editor"],
        "at least one --department",
    );
    refused(
        &[
            "add",
            "edna",
            "--role",
            "editor",
            "--department",
            "lyg-nowhere",
        ],
        "no department lyg-nowhere",
    );
    refused(
        &[
            "add",
            "vera",
            "--role",
            "viewer",
            "--department",
            "lyg-hrss",
        ],
        "only an editor",
    );
    let args = [
        "add",
        "edna",
        "--role",
        "editor",
        "--department",
        "lyg-hrss",
        "--department",
        "lyg-civil",
    ];
    let added = user(&db, &args, Some("edna-password-1"));
    assert!(added.status.success(), "{added:?}");
    assert!(String::from_utf8_lossy(&added.stdout).contains("as editor"));
    let url = kiosk_platform::DbUrl::Sqlite(db.clone());
    let store = kiosk_platform::store::Store::open(&url)
        .await
        .expect("store");
    assert_eq!(
        store.editor_departments("edna").await.expect("departments"),
        ["lyg-civil", "lyg-hrss"]
    );
    assert!(store.operator("vera").await.expect("read").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_account_is_made_with_the_departments_whose_applications_it_works() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("p.db");
    let alone = user(
        &db,
        &["add", "cora", "--role", "clerk"],
        Some("cora-password-1"),
    );
    assert!(!alone.status.success());
    assert!(
        String::from_utf8_lossy(&alone.stderr).contains("a clerk needs at least one --department")
    );
    let args = [
        "add",
        "cora",
        "--role",
        "clerk",
        "--department",
        "lyg-health",
    ];
    let added = user(&db, &args, Some("cora-password-1"));
    assert!(added.status.success(), "{added:?}");
    assert!(String::from_utf8_lossy(&added.stdout).contains("as clerk"));
    let url = kiosk_platform::DbUrl::Sqlite(db.clone());
    let store = kiosk_platform::store::Store::open(&url)
        .await
        .expect("store");
    assert_eq!(
        store.editor_departments("cora").await.expect("departments"),
        ["lyg-health"]
    );
}
