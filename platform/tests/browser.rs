//! The ops console in a real headless Chromium, driven over WebDriver (chromedriver) from
//! Rust: log in, see a terminal go offline, publish a catalog version, send a remote command
//! and see its result. Needs Debian's `chromium` and `chromium-driver` (scripts/install-deps);
//! without them the test skips with a reason, except under `CI=true`, where it fails.

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestDb, TestTerminal};
use kiosk_platform::store::Role;
use kiosk_platform::{AppState, router};
use reqwest::Method;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver, stopped on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver leads its own process group, and the browsers it started are in it: end
        // them all, also when the test failed before closing its session.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> Option<String> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .map(str::to_owned)
}

/// A WebDriver session over plain HTTP.
struct Session {
    http: reqwest::Client,
    base: String,
    /// The WebDriver session's id.
    id: String,
}

impl Session {
    async fn try_call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("webdriver {method} {path}: {e}"))
            .json()
            .await
            .expect("webdriver json");
        if answer["value"]["error"].is_string() {
            Err(answer["value"].clone())
        } else {
            Ok(answer["value"].clone())
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        self.try_call(method.clone(), path, body)
            .await
            .unwrap_or_else(|e| panic!("webdriver {method} {path}: {e}"))
    }

    /// Runs `step` until it works (pages are loading between steps), for up to 15 s.
    async fn retry<T, F, Fut>(&self, what: &str, mut step: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Value>>,
    {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match step().await {
                Ok(value) => return value,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("webdriver {what}: {e}"),
            }
        }
    }

    async fn go(&self, url: &str) {
        self.call(Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn find(&self, css: &str) -> String {
        let found = self
            .retry(css, || {
                self.try_call(
                    Method::POST,
                    "/element",
                    Some(json!({"using": "css selector", "value": css})),
                )
            })
            .await;
        found[ELEMENT].as_str().expect("element id").to_owned()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(
            Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn text(&self, css: &str) -> String {
        // The element may go stale between finding and reading while a page loads: find again.
        let text = self
            .retry(css, || async {
                let id = self.find(css).await;
                self.try_call(Method::GET, &format!("/element/{id}/text"), None)
                    .await
            })
            .await;
        text.as_str().unwrap_or_default().to_owned()
    }

    async fn script(&self, script: &str, args: Value) -> Value {
        self.call(
            Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Waits until the page's body text contains `needle`, reloading as it goes.
    async fn wait_for_text(&self, needle: &str, reload: bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let body = self.text("body").await;
            if body.contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page never showed {needle:?}; it shows:\n{body}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
            if reload {
                self.call(Method::POST, "/refresh", Some(json!({}))).await;
            }
        }
    }

    /// Saves a screenshot next to the test binaries (for people to look at).
    async fn screenshot(&self, name: &str) {
        let data = self.call(Method::GET, "/screenshot", None).await;
        if let Some(png) = data.as_str().and_then(base64_decode) {
            let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-shots");
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(dir.join(format!("{name}.png")), png);
        }
    }
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let v: Vec<u8> = chunk.iter().map(|&c| value(c)).collect::<Option<_>>()?;
        let n = v.iter().fold(0u32, |acc, &x| acc << 6 | u32::from(x)) << (6 * (4 - v.len()));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..v.len()]);
    }
    Some(out)
}

/// chromedriver's path when Chromium, chromedriver and (`preview`) kiosk-preview are there;
/// otherwise `None` after saying why (a failure under `CI=true`).
fn tools_or_skip(preview: bool) -> Option<String> {
    let driver_path = chromedriver();
    let why = if !std::path::Path::new(CHROMIUM).is_file() || driver_path.is_none() {
        "Chromium or chromedriver is not installed (apt-get install chromium chromium-driver; scripts/install-deps does it)"
    } else if preview && !preview_program_built() {
        "kiosk-preview is not built (cargo build --workspace --bins)"
    } else {
        return driver_path;
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}");
    }
    eprintln!("skipped: {why}");
    None
}

/// The platform over `store` on a loopback port, with one console account; its base URL.
async fn console_platform(
    store: &kiosk_platform::store::Store,
    (name, password, role): (&str, &str, Role),
    configure: impl FnOnce(AppState) -> AppState,
) -> String {
    let hash = kiosk_platform::console::hash_password(password).expect("hash");
    store
        .put_operator(name, &hash, role)
        .await
        .expect("operator");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = router(configure(AppState::new(store.clone(), &base)));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// chromedriver on a free loopback port, and a headless Chromium session in a fresh profile
/// (kept until the returned directory is dropped).
async fn open_browser(driver_path: &str) -> (Driver, Session, tempfile::TempDir) {
    // chromedriver on a free loopback port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new(driver_path)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let ready = Instant::now() + Duration::from_secs(20);
    while http
        .get(format!("{}/status", driver.url))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < ready, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = tempfile::tempdir().expect("profile");
    let created: Value = http
        .post(format!("{}/session", driver.url))
        .json(&json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}}))
        .send()
        .await
        .expect("new session")
        .json()
        .await
        .expect("session json");
    let session_id = created["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no session: {created}"))
        .to_owned();
    let web = Session {
        http: http.clone(),
        base: format!("{}/session/{session_id}", driver.url),
        id: session_id,
    };
    (driver, web, profile)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_watches_publishes_and_commands_in_a_real_browser() {
    let Some(driver_path) = tools_or_skip(false) else {
        return;
    };

    // The platform, with terminals counted offline after 3 s without a heartbeat.
    let db = TestDb::new(common::Backend::Sqlite).await.expect("sqlite");
    let store = db.store().await;
    let base = console_platform(&store, ("ada", "console-password-1", Role::Admin), |s| {
        s.with_offline_after(3)
    })
    .await;
    let p = common::Platform {
        url: base.clone(),
        store: store.clone(),
    };
    let terminal = TestTerminal::enroll(&p, "SN-BROWSER-1", Some("haizhou")).await;
    let heartbeat = json!({"versions": {"app": "0.1.0"}, "uptime_secs": 60,
        "devices": [{"device": "printer", "state": "degraded", "reasons": ["paper_low"]}]});
    let (status, _) = terminal
        .send(Method::POST, "/v1/heartbeat", Some(&heartbeat))
        .await;
    assert!(status.is_success());

    let (driver, web, _profile) = open_browser(&driver_path).await;
    let http = web.http.clone();
    let session_id = web.id.clone();

    // Log in.
    web.go(&format!("{base}/console")).await;
    web.wait_for_text("Log in", false).await;
    web.type_into("#name", "ada").await;
    web.type_into("#password", "console-password-1").await;
    web.click("#login-button").await;
    web.wait_for_text("ada (admin)", false).await;
    // The style sheet applies under the content security policy (it is a file of its own).
    let header = web
        .script(
            "return getComputedStyle(document.querySelector('header')).backgroundColor;",
            json!([]),
        )
        .await;
    assert_eq!(header, "rgb(11, 79, 138)");

    // A heartbeat now: the terminal is online with its printer warning; without heartbeats it
    // goes offline.
    let (status, _) = terminal
        .send(Method::POST, "/v1/heartbeat", Some(&heartbeat))
        .await;
    assert!(status.is_success());
    web.call(Method::POST, "/refresh", Some(json!({}))).await;
    let badge = format!("span[data-terminal=\"{}\"]", terminal.id);
    assert!(web.text(&badge).await.contains("online"));
    assert!(web.text("#fleet").await.contains("paper_low"));
    web.screenshot("fleet-online").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        tokio::time::sleep(Duration::from_millis(700)).await;
        web.call(Method::POST, "/refresh", Some(json!({}))).await;
        if web.text(&badge).await.contains("offline") {
            break;
        }
        assert!(Instant::now() < deadline, "the terminal never went offline");
    }
    assert_eq!(web.text("#count-offline").await, "1");
    web.screenshot("fleet-offline").await;

    // Publish a catalog version.
    let mut catalog = kiosk_platform::seed::seed_catalog().expect("seed");
    catalog.version = "2099.12.1".into();
    web.go(&format!("{base}/console/catalog")).await;
    web.script(
        "document.getElementById('catalog-json').value = arguments[0];",
        json!([serde_json::to_string(&catalog).expect("json")]),
    )
    .await;
    web.click("#publish").await;
    web.wait_for_text("Published 2099.12.1", false).await;
    assert_eq!(
        store.current_catalog().await.expect("catalog").version,
        "2099.12.1"
    );
    web.screenshot("catalog").await;
    let (_, fetched) = common::answer(
        reqwest::get(format!("{base}/v1/catalog"))
            .await
            .expect("catalog"),
    )
    .await;
    assert_eq!(fetched["version"], "2099.12.1");

    // Send a remote command; the terminal carries it out and answers; the page shows it.
    web.go(&format!("{base}/console/terminals/{}", terminal.id))
        .await;
    web.script(
        "document.getElementById('command-kind').value = 'print_test_page';",
        json!([]),
    )
    .await;
    web.click("#send-command").await;
    web.wait_for_text("print_test_page", false).await;
    let (_, beat) = terminal
        .send(Method::POST, "/v1/heartbeat", Some(&heartbeat))
        .await;
    let command = &beat["commands"][0];
    assert_eq!(command["kind"], "print_test_page");
    let (status, _) = terminal
        .send(
            Method::POST,
            &format!("/v1/commands/{}/result", command["id"]),
            Some(&json!({"ok": true, "detail": "test page printed, paper low"})),
        )
        .await;
    assert!(status.is_success());
    web.wait_for_text("test page printed, paper low", true)
        .await;
    assert_eq!(web.text(".cmd-state").await, "succeeded");
    web.screenshot("terminal-command").await;

    // The audit log, filtered by kind in the page's form: only the command just sent.
    web.go(&format!("{base}/console/audit")).await;
    web.type_into("#audit-kind", "command").await;
    web.click("#audit-apply").await;
    web.wait_for_text("print_test_page", false).await;
    let shown = web.text("#audit").await;
    assert!(!shown.contains("login"), "{shown}");
    web.screenshot("audit-filtered").await;

    let _ = http
        .delete(format!("{}/session/{session_id}", driver.url))
        .send()
        .await;
}

/// Whether `kiosk-preview` is where the platform looks for it (built beside the tests by
/// `cargo build --workspace --bins`, as `make test` does first).
fn preview_program_built() -> bool {
    std::env::var_os("KIOSK_PREVIEW").is_some()
        || std::env::current_exe().is_ok_and(|exe| {
            exe.ancestors()
                .skip(1)
                .take(2)
                .any(|dir| dir.join("kiosk-preview").is_file())
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_editor_changes_a_guide_and_sees_the_terminals_preview_in_a_real_browser() {
    let Some(driver_path) = tools_or_skip(true) else {
        return;
    };
    let db = TestDb::new(common::Backend::Sqlite).await.expect("sqlite");
    let store = db.store().await;
    let base = console_platform(&store, ("edna", "editor-password-1", Role::Editor), |s| s).await;
    store
        .set_editor_departments("edna", &["lyg-hrss".to_owned()])
        .await
        .expect("departments");
    let (driver, web, _profile) = open_browser(&driver_path).await;

    web.go(&format!("{base}/console")).await;
    web.wait_for_text("Log in", false).await;
    web.type_into("#name", "edna").await;
    web.type_into("#password", "editor-password-1").await;
    web.click("#login-button").await;
    web.wait_for_text("edna (editor)", false).await;
    web.click("#nav-editor").await;
    web.click("a.matter[href$='lyg-hrss-0101']").await;
    web.wait_for_text("lyg-hrss-0101", false).await;

    // Change the fees in both languages and save: a draft, shown as saved.
    for (name, value) in [("fees.zh", "收费10元"), ("fees.en", "CNY 10")] {
        let css = format!("input[name='{name}']");
        let id = web.find(&css).await;
        web.call(
            Method::POST,
            &format!("/element/{id}/clear"),
            Some(json!({})),
        )
        .await;
        web.type_into(&css, value).await;
    }
    web.click("#save").await;
    web.wait_for_text("Draft saved", false).await;
    let drafts = store.drafts().await.expect("drafts");
    assert_eq!(drafts.len(), 1);
    assert!(drafts[0].body.contains("收费10元"));

    // The pictures the terminal's own screen code drew load in the page: the guide's four, and
    // four for each of the pension form's two pages.
    let deadline = Instant::now() + Duration::from_secs(120);
    let sizes = loop {
        let sizes = web
            .script(
                "return Array.from(document.querySelectorAll('img.preview'))
                    .map(i => i.complete ? [i.naturalWidth, i.naturalHeight] : null);",
                json!([]),
            )
            .await;
        let all: Vec<Value> = sizes.as_array().cloned().unwrap_or_default();
        if all.len() == 12 && all.iter().all(|s| s.is_array()) {
            break all;
        }
        assert!(
            Instant::now() < deadline,
            "the previews did not load: {sizes}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let page = [
        json!([1080, 1920]),
        json!([1080, 1920]),
        json!([1920, 1080]),
        json!([1920, 1080]),
    ];
    assert_eq!(sizes, [&page[..], &page[..], &page[..]].concat());
    web.script(
        "document.querySelector('.previews').scrollIntoView();",
        json!([]),
    )
    .await;
    web.screenshot("editor-preview").await;
    let _ = web
        .http
        .delete(format!("{}/session/{}", driver.url, web.id))
        .send()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_filters_opens_reads_a_material_and_asks_for_a_correction_in_a_real_browser() {
    let Some(driver_path) = tools_or_skip(false) else {
        return;
    };
    let db = TestDb::new(common::Backend::Sqlite).await.expect("sqlite");
    let store = db.store().await;
    let base = console_platform(&store, ("cora", "clerk-password-1", Role::Clerk), |s| s).await;
    store
        .set_editor_departments("cora", &["lyg-health".to_owned()])
        .await
        .expect("departments");
    let p = common::Platform {
        url: base.clone(),
        store: store.clone(),
    };
    let haizhou = TestTerminal::enroll(&p, "SN-BROWSER-WB-1", Some("haizhou")).await;
    let ganyu = TestTerminal::enroll(&p, "SN-BROWSER-WB-2", Some("ganyu")).await;
    let no =
        common::file_application(&haizhou, "browser-wb-1", "王小明", "320102199001011234").await;
    let elsewhere =
        common::file_application(&ganyu, "browser-wb-2", "李四", "320102199202021234").await;
    let pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
    let upload = format!("up-{}", common::nonce());
    let request = kiosk_protocol::UploadRequest {
        material_index: 0,
        content_type: kiosk_protocol::MaterialContentType::Pdf,
        size: pdf.len() as u64,
        sha256: kiosk_protocol::auth::hex_encode(&<sha2::Sha256 as sha2::Digest>::digest(pdf)),
    };
    store
        .create_upload(&upload, &haizhou.id, &no, &request, 1024, None)
        .await
        .expect("upload");
    store
        .put_chunk(&upload, 0, pdf.to_vec())
        .await
        .expect("chunk");
    store.complete_upload(&upload).await.expect("complete");

    let (driver, web, _profile) = open_browser(&driver_path).await;
    web.go(&format!("{base}/console")).await;
    web.wait_for_text("Log in", false).await;
    web.type_into("#name", "cora").await;
    web.type_into("#password", "clerk-password-1").await;
    web.click("#login-button").await;
    web.wait_for_text("cora (clerk)", false).await;

    // The queue, filtered to one site: the other site's application is gone.
    web.click("#nav-applications").await;
    web.wait_for_text(&elsewhere, false).await;
    web.type_into("#queue-site", "haizhou").await;
    web.click("#queue-apply").await;
    web.wait_for_text("haizhou", false).await;
    let queue = web.text("#queue").await;
    assert!(
        queue.contains(&no) && !queue.contains(&elsewhere),
        "{queue}"
    );
    assert!(!queue.contains("王小明"), "the queue shows no names");
    web.screenshot("workbench-queue").await;

    // The application, with its applicant and material.
    web.click(&format!("a[href='/console/applications/{no}']"))
        .await;
    web.wait_for_text("王小明", false).await;
    assert!(web.text("#application-state").await.contains("Accepted"));
    web.screenshot("workbench-application").await;

    // The material opens in the browser as a PDF.
    web.click(&format!("#material-{upload}")).await;
    let opened = web
        .retry("the material", || async {
            let seen = web
                .script(
                    "const n = performance.getEntriesByType('navigation')[0];
                     return [document.contentType, n ? n.responseStatus : 0];",
                    json!([]),
                )
                .await;
            if seen[0] == "application/pdf" {
                Ok(seen)
            } else {
                Err(seen)
            }
        })
        .await;
    assert_eq!(opened, json!(["application/pdf", 200]));

    // Back on the page: ask for a clearer photo; the state changes.
    web.go(&format!("{base}/console/applications/{no}")).await;
    web.wait_for_text("王小明", false).await;
    web.click("#ask-material-1").await;
    web.type_into("#correction-reason", "照片不清晰，请重新拍摄")
        .await;
    web.click("#ask-correction").await;
    web.wait_for_text("More materials needed", false).await;
    assert!(web.text("#application-state").await.contains("需补正材料"));
    assert!(
        web.text("#history")
            .await
            .contains("照片不清晰，请重新拍摄")
    );
    web.screenshot("workbench-correction").await;
    let events = store.life_of(&no).await.expect("life");
    assert_eq!(
        events.last().map(|e| e.action.as_str()),
        Some("correction_asked")
    );
    assert_eq!(events.last().map(|e| e.materials.clone()), Some(vec![1]));

    let _ = web
        .http
        .delete(format!("{}/session/{}", driver.url, web.id))
        .send()
        .await;
}
