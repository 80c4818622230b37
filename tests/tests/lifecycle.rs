//! An application's life end to end: filed at one terminal (the real `kiosk` under `kiosk
//! drive`, simulators on real ptys, a folder of photos as the camera), reviewed by a clerk in
//! the console of the real `kiosk-platform serve`, asked for a 补正 that the applicant answers
//! at another terminal with new photographs, completed, and rated there; 办件查询 at the second
//! terminal shows each state as it comes. A second application goes to the department's own
//! system through its connector — a receiver this test runs, stopped and started again while
//! the platform delivers — and the system completes it through the department API.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use common::{Terminal, terminal, text};
use kiosk_testkit::console::Browser;
use kiosk_testkit::{PlatformPeer, run};
use serde_json::Value;

/// The simulator's first test card (drivers/testdata/cards.json).
const CARD_NUMBER: &str = "320706198503120133";
/// The department of 职业技能培训补贴申领 (连云港市人力资源和社会保障局).
const DEPARTMENT: &str = "lyg-hrss";
const CLERK_PASSWORD: &str = "clerk-password-1";

/// Runs `kiosk drive --reveal` at `terminal` with `script`; its answers, or the whole output
/// when it did not end well.
fn drive(terminal: &Terminal, script: &str) -> Vec<Value> {
    let (code, output, answers) = common::drive(terminal, &["--reveal"], script);
    assert_eq!(code, Some(0), "{output}");
    answers
}

/// What the last screen of a drive shows, as one string.
fn shown(answers: &[Value], line: u64) -> String {
    let a = answers
        .iter()
        .find(|a| a["line"] == line)
        .unwrap_or_else(|| panic!("no answer to line {line}: {answers:#?}"));
    assert!(a["error"].is_null(), "line {line} failed: {a}");
    a["screen"]["texts"].to_string()
}

/// Applying for 职业技能培训补贴申领 with the first test card, to the receipt.
const APPLY: &str = r#"{"wait": "home"}
{"tap": "开始办事"}
{"tap": "就业"}
{"tap": "职业技能培训补贴申领"}
{"tap": "在本机申请"}
{"wait": "identify"}
{"card": 0}
{"wait": "confirm"}
{"type": "13912345678"}
{"tap": "下一步"}
{"wait": "materials"}
{"tap": "拍照"}
{"tap": "下一步"}
{"tap": "容缺后补"}
{"tap": "我承诺"}
{"wait": "review"}
{"tap": "确认提交"}
{"wait": "receipt"}
{"lift": true}
{"tap": "办理完成"}
"#;

/// 办件查询 with the first test card: the result is line 5.
const QUERY: &str = r#"{"wait": "home"}
{"tap": "办件查询"}
{"wait": "identify-for"}
{"card": 0}
{"wait": "errand-result"}
{"lift": true}
{"tap": "办理完成"}
"#;

/// 办件查询, then the 补正 answered with a new photograph: the result is line 11.
const ANSWER_CORRECTION: &str = r#"{"wait": "home"}
{"tap": "办件查询"}
{"wait": "identify-for"}
{"card": 0}
{"wait": "errand-result"}
{"tap": "补正材料"}
{"wait": "materials"}
{"tap": "拍照"}
{"tap": "下一步"}
{"tap": "提交补正"}
{"wait": "errand-result"}
{"lift": true}
{"tap": "办理完成"}
"#;

/// 办件查询, then the completed matter rated ★2 with its indicators and a reason.
const RATE: &str = r#"{"wait": "home"}
{"tap": "办件查询"}
{"wait": "identify-for"}
{"card": 0}
{"wait": "errand-result"}
{"tap": "评价"}
{"wait": "completion-rating"}
{"tap": "总体评价：2星"}
{"tap": "整体满意度：2星"}
{"tap": "服务效率：1星"}
{"tap": "服务水平：3星"}
{"tap": "服务态度：2星"}
{"tap": "办理时间长"}
{"tap": "提交评价"}
{"wait": "errand-result"}
{"lift": true}
{"tap": "办理完成"}
"#;

/// The numbers of the applications the platform holds, oldest first.
fn applications(platform: &PlatformPeer) -> Vec<String> {
    let conn = rusqlite::Connection::open(&platform.db).expect("platform db");
    let mut query = conn
        .prepare("SELECT application_no FROM applications ORDER BY id")
        .expect("query");
    query
        .query_map([], |row| row.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("numbers")
}

/// The rating cases the platform holds and whether each was answered.
fn cases(platform: &PlatformPeer) -> Vec<(String, bool)> {
    let conn = rusqlite::Connection::open(&platform.db).expect("platform db");
    let mut query = conn
        .prepare("SELECT application_no, answered_at IS NOT NULL FROM rating_cases")
        .expect("query");
    query
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("cases")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

/// `POST base + path` with a JSON body and a bearer key, over plain HTTP on loopback; the
/// status and the body.
fn post_json(base: &str, path: &str, bearer: &str, body: &Value) -> (u16, Value) {
    let address = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(address).expect("platform");
    let body = body.to_string();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {bearer}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let json = answer
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b.trim()).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

#[test]
fn an_application_is_reviewed_corrected_at_another_terminal_completed_and_rated_there() {
    let work = tempfile::tempdir().expect("temp dir");
    let platform = PlatformPeer::start(&work.path().join("platform.db")).expect("platform");
    let haizhou = terminal(work.path(), "haizhou", &platform, "haizhou");
    let ganyu = terminal(work.path(), "ganyu", &platform, "ganyu");
    platform
        .add_user("desk", "clerk", &[DEPARTMENT], CLERK_PASSWORD)
        .expect("clerk");
    let rt = runtime();
    let clerk = rt
        .block_on(Browser::login(&platform.url, "desk", CLERK_PASSWORD))
        .expect("clerk logs in");
    let act = |no: &str, change: &str, fields: &[(&str, &str)]| {
        let mut all = vec![("csrf", clerk.csrf.as_str())];
        all.extend_from_slice(fields);
        let path = format!("/console/applications/{no}/{change}");
        let (status, html) = rt.block_on(clerk.post(&path, &all));
        assert_eq!(status.as_u16(), 303, "{change}: {html}");
    };

    // Filed at the first terminal.
    drive(&haizhou, APPLY);
    let [no] = applications(&platform).try_into().expect("one application");
    let texts = shown(&drive(&ganyu, QUERY), 5);
    assert!(texts.contains(&no) && texts.contains("已受理"), "{texts}");

    // The clerk takes it up and asks for the certificate again.
    act(&no, "review", &[]);
    act(
        &no,
        "correction",
        &[
            ("material.1", "1"),
            ("reason", "证书照片不清晰，请重新拍摄"),
            ("answer_by", "2099-01-05"),
        ],
    );
    let texts = shown(&drive(&ganyu, QUERY), 5);
    for expected in ["开始审核", "需补正材料", "证书照片不清晰", "职业资格证书"]
    {
        assert!(texts.contains(expected), "{expected} not in {texts}");
    }

    // Answered at the other terminal with a new photograph: back in review.
    let texts = shown(&drive(&ganyu, ANSWER_CORRECTION), 11);
    assert!(!texts.contains("error"), "{texts}");
    let (_, page) = rt.block_on(clerk.get(&format!("/console/applications/{no}")));
    assert!(
        page.contains("terminal:"),
        "the answer is in the history: {page}"
    );
    let texts = shown(&drive(&ganyu, QUERY), 5);
    assert!(texts.contains("补正材料已提交"), "{texts}");

    // Completed, and rated ★2 at the second terminal: once, and a case is opened.
    act(&no, "complete", &[("note", "补贴将发放至社会保障卡")]);
    let texts = shown(&drive(&ganyu, QUERY), 5);
    assert!(
        texts.contains("已办结") && texts.contains("补贴将发放至社会保障卡"),
        "{texts}"
    );
    drive(&ganyu, RATE);
    assert_eq!(cases(&platform), vec![(no.clone(), false)]);
    let texts = shown(&drive(&ganyu, QUERY), 5);
    assert!(!texts.contains("\"评价\""), "rated once only: {texts}");
    // Nothing of the card stays on either terminal.
    for t in [&haizhou, &ganyu] {
        for entry in walk(&t.dir.join("data")) {
            let bytes = std::fs::read(&entry).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(CARD_NUMBER),
                "{} holds the card's number",
                entry.display()
            );
        }
    }
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// A department's system as this test runs it: answers every POST 200 and records each
/// delivery id with the application number it carried, until it is stopped.
struct Receiver {
    port: u16,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    fn start(port: u16, seen: Arc<Mutex<Vec<(String, String)>>>) -> Receiver {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("receiver port");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("address").port();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (flag, log) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).ok();
                        if let Some(delivery) = read_delivery(stream) {
                            log.lock().expect("log").push(delivery);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Receiver {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn stop(mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("receiver");
        }
    }
}

/// Reads one HTTP request, answers 200; the delivery id and the application number.
fn read_delivery(stream: std::net::TcpStream) -> Option<(String, String)> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut length = 0usize;
    let mut delivery = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "x-lyb-delivery-id" => delivery = value.trim().to_owned(),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let json: Value = serde_json::from_slice(&body).ok()?;
    let mut stream = stream;
    stream
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .ok()?;
    let no = json["application"]["application_no"]
        .as_str()
        .or_else(|| json["application_no"].as_str())?
        .to_owned();
    Some((delivery, no))
}

#[test]
fn a_department_system_gets_each_application_once_across_a_restart_and_completes_it() {
    let work = tempfile::tempdir().expect("temp dir");
    let platform = PlatformPeer::start_with(
        &work.path().join("platform.db"),
        "127.0.0.1:0",
        &[
            "--delivery-settle",
            "1s",
            "--delivery-backoff",
            "1s",
            "--delivery-backoff-cap",
            "2s",
        ],
    )
    .expect("platform");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let receiver = Receiver::start(0, seen.clone());
    let port = receiver.port;
    let added = run(
        "kiosk-platform",
        &[
            "connector",
            "add",
            "--department",
            DEPARTMENT,
            "--url",
            &format!("http://127.0.0.1:{port}/applications"),
            "--keys",
            &text(&PlatformPeer::key_file(&platform.db).expect("key file")),
            "--db",
            &platform.db_url(),
        ],
        &[],
    )
    .expect("connector add");
    let out = String::from_utf8_lossy(&added.stdout).into_owned();
    assert!(
        added.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let key = out
        .lines()
        .find(|l| l.starts_with("inbound API key"))
        .and_then(|l| l.rsplit_once("): "))
        .map(|(_, key)| key.trim().to_owned())
        .expect("the inbound key is shown once");
    let haizhou = terminal(work.path(), "haizhou", &platform, "haizhou");

    // The first application reaches the system; then it stops answering.
    drive(&haizhou, APPLY);
    let wait_for = |count: usize| {
        let until = Instant::now() + Duration::from_secs(90);
        while Instant::now() < until {
            let mut numbers: Vec<String> = seen
                .lock()
                .expect("seen")
                .iter()
                .map(|(_, no)| no.clone())
                .collect();
            numbers.sort();
            numbers.dedup();
            if numbers.len() >= count {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "{count} applications not delivered: {:?}",
            seen.lock().expect("seen")
        );
    };
    wait_for(1);
    receiver.stop();
    drive(&haizhou, APPLY);
    std::thread::sleep(Duration::from_secs(3));
    let receiver = Receiver::start(port, seen.clone());
    wait_for(2);
    std::thread::sleep(Duration::from_secs(3));
    receiver.stop();

    let numbers = applications(&platform);
    let delivered = seen.lock().expect("seen").clone();
    let mut ids: Vec<&String> = delivered.iter().map(|(id, _)| id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        numbers.len(),
        "one delivery id per application: {delivered:?}"
    );
    let mut carried: Vec<String> = delivered.iter().map(|(_, no)| no.clone()).collect();
    carried.sort();
    carried.dedup();
    assert_eq!(carried, numbers);

    // The system completes the second through the department API; a replay changes nothing.
    let second = &numbers[1];
    let path = format!("/v1/departments/{DEPARTMENT}/reports");
    let report = |id: &str, action: &str| {
        serde_json::json!({"report_id": id, "application_no": second, "action": action,
                           "note": "补贴已发放"})
    };
    let (status, body) = post_json(&platform.url, &path, &key, &report("r-1", "start_review"));
    assert_eq!(status / 100, 2, "{body}");
    let (status, body) = post_json(&platform.url, &path, &key, &report("r-2", "complete"));
    assert_eq!(status / 100, 2, "{body}");
    let (again, _) = post_json(&platform.url, &path, &key, &report("r-2", "complete"));
    assert_eq!(again, status, "a replay answers as the first time");
    let (status, body) = post_json(
        &platform.url,
        &path,
        "not-the-key",
        &report("r-3", "refuse"),
    );
    assert_eq!(status, 401, "{body}");
    let texts = shown(&drive(&haizhou, QUERY), 5);
    assert!(
        texts.contains("已办结") && texts.contains("已受理"),
        "{texts}"
    );
}
