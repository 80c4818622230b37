//! Departments' systems connected: new applications delivered to a receiver this test runs
//! (checking each signature, recording delivery ids), retried, dead-lettered and replayed;
//! one department's hung system never delaying another's; the department API moving
//! applications, seen through 办件查询; every refusal of bad input.

mod common;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use common::{Platform, TestDb, TestTerminal, answer, file_application};
use kiosk_platform::Store;
use kiosk_platform::connector::{CourierSettings, signing, spawn_courier};
use kiosk_testkit::console::Browser;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    each_application_is_delivered_once_signed_with_its_materials,
    a_failing_receiver_is_retried_and_a_refusing_one_dead_lettered_then_replayed,
    a_receiver_killed_and_restarted_still_gets_every_application_once,
    a_hung_department_does_not_delay_another,
    department_reports_move_applications_and_progress_shows_them,
    department_reports_refuse_bad_keys_and_bad_input,
    connectors_are_made_and_kept_by_admins_with_secrets_shown_once,
);

/// What the receiver answers and has seen.
#[derive(Default)]
struct Seen {
    /// Statuses to answer, in order, before answering 200.
    script: VecDeque<u16>,
    /// Never answer (a hung system).
    hang: bool,
    /// Delivery ids of every correctly signed arrival, duplicates kept.
    arrivals: Vec<String>,
    /// The bodies by delivery id (the last arrival's).
    bodies: HashMap<String, Value>,
    /// Arrivals whose signature did not verify.
    forged: usize,
}

/// A department's system as the test runs it: checks the HMAC, records ids.
#[derive(Clone)]
struct Receiver {
    secret: Arc<Mutex<String>>,
    seen: Arc<Mutex<Seen>>,
}

impl Receiver {
    fn new() -> Receiver {
        Receiver {
            secret: Arc::default(),
            seen: Arc::default(),
        }
    }

    fn distinct(&self) -> BTreeSet<String> {
        self.seen.lock().unwrap().arrivals.iter().cloned().collect()
    }

    /// Serves on `port` (0: a free one) until the handle is aborted, which also ends every
    /// connection it holds (a killed process).
    async fn start(&self, port: u16) -> (u16, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("receiver binds");
        let port = listener.local_addr().expect("addr").port();
        let me = self.clone();
        let app = axum::Router::new().route(
            "/intake",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: bytes::Bytes| {
                let me = me.clone();
                async move { me.receive(&headers, &body).await }
            }),
        );
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let service = hyper_util::service::TowerToHyperService::new(app.clone());
                connections.spawn(async move {
                    let _ = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
                });
            }
        });
        (port, task)
    }

    async fn receive(
        &self,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> axum::http::StatusCode {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let id = header(signing::DELIVERY_ID_HEADER);
        let timestamp: i64 = header(signing::TIMESTAMP_HEADER).parse().unwrap_or(0);
        let secret = self.secret.lock().unwrap().clone();
        let valid = signing::verify(&secret, timestamp, body, &header(signing::SIGNATURE_HEADER))
            && (timestamp - common::now()).abs() < 300;
        let (status, hang) = {
            let mut seen = self.seen.lock().unwrap();
            if !valid {
                seen.forged += 1;
                return axum::http::StatusCode::UNAUTHORIZED;
            }
            let status = seen.script.pop_front().unwrap_or(200);
            if status == 200 {
                seen.arrivals.push(id.clone());
                let body: Value = serde_json::from_slice(body).expect("JSON delivery");
                assert_eq!(body["delivery_id"], id.as_str());
                seen.bodies.insert(id, body);
            }
            (status, seen.hang)
        };
        if hang {
            std::future::pending::<()>().await;
        }
        axum::http::StatusCode::from_u16(status).expect("status")
    }
}

/// A courier tuned for tests: sends at once, retries within a second.
fn quick() -> CourierSettings {
    CourierSettings {
        backoff: Duration::from_millis(200),
        backoff_cap: Duration::from_millis(800),
        timeout: Duration::from_secs(2),
        max_attempts: 50,
        settle: Duration::ZERO,
        poll: Duration::from_millis(50),
        ..CourierSettings::default()
    }
}

struct Env {
    p: Platform,
    t: TestTerminal,
}

async fn platform(db: &TestDb) -> Env {
    let p = common::serve(db.store().await).await;
    let t = TestTerminal::enroll(&p, "SN-CONNECT", None).await;
    Env { p, t }
}

/// Connects `department` to the receiver at `port`; its inbound key.
async fn connect(store: &Store, receiver: &Receiver, department: &str, port: u16) -> String {
    let secrets = store
        .add_connector(
            "admin",
            department,
            &format!("http://127.0.0.1:{port}/intake"),
        )
        .await
        .expect("connector added");
    *receiver.secret.lock().unwrap() = secrets.signing_secret.to_string();
    secrets.inbound_key.to_string()
}

/// Waits until `done` holds, up to `secs`.
async fn until(secs: u64, what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn states(store: &Store, department: &str) -> Vec<(String, String, i64)> {
    store
        .deliveries(department, None, 1000)
        .await
        .expect("deliveries")
        .into_iter()
        .map(|d| (d.application_no, d.state, d.attempts))
        .collect()
}

async fn all_delivered(store: &Store, department: &str, n: usize) -> bool {
    let s = states(store, department).await;
    s.len() == n && s.iter().all(|(_, state, _)| state == "delivered")
}

/// An application of matter `matter` (the seed's, no form).
async fn file(t: &TestTerminal, key: &str, matter: &str) -> String {
    common::file_application_for(t, key, matter, "张三", "320706199001010133").await
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    kiosk_protocol::auth::hex_encode(&sha2::Sha256::digest(bytes))
}

/// Uploads `file` as material 1 of `number`, whole, sealed to the platform's key as
/// terminals send materials.
async fn upload(t: &TestTerminal, store: &Store, number: &str, file: &[u8]) {
    let platform_key = kiosk_protocol::sealing::parse_sealing_key(
        &store.keys().expect("keys").sealing_public_key(),
    )
    .expect("key");
    let sealed = kiosk_protocol::sealing::seal(&platform_key, file).expect("sealed");
    let file = sealed.as_slice();
    let (status, session) = t
        .send(
            Method::POST,
            &format!("/v1/applications/{number}/materials"),
            Some(&json!({"material_index": 1, "content_type": "application/vnd.lyb.sealed+pdf", "size": file.len(), "sha256": sha256_hex(file)})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let id = session["upload_id"].as_str().expect("id").to_owned();
    assert_eq!(
        common::put_chunk(t, &id, 0, file).await,
        StatusCode::NO_CONTENT
    );
    let (status, done) = t
        .send(Method::POST, &format!("/v1/uploads/{id}/complete"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
}

async fn each_application_is_delivered_once_signed_with_its_materials(db: TestDb) {
    let e = platform(&db).await;
    let receiver = Receiver::new();
    let (port, _server) = receiver.start(0).await;
    connect(&e.p.store, &receiver, "lyg-health", port).await;
    // Applications of another department, which has no connector, are not queued.
    let elsewhere = file(&e.t, "other-dept-0001", "lyg-hrss-0102").await;
    let mut numbers = Vec::new();
    for i in 0..3 {
        numbers.push(
            file_application(
                &e.t,
                &format!("deliver-{i:04}-key"),
                "张三",
                "320706199001010133",
            )
            .await,
        );
    }
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend((0..5_000).map(|i| (i * 7 % 251) as u8));
    pdf.extend_from_slice(b"\ntrailer\n%%EOF\n");
    upload(&e.t, &e.p.store, &numbers[0], &pdf).await;

    // The first send waits until the materials have had time to arrive.
    let _courier = spawn_courier(
        e.p.store.clone(),
        CourierSettings {
            settle: Duration::from_millis(300),
            ..quick()
        },
    )
    .expect("courier");
    until(20, "three deliveries", async || {
        all_delivered(&e.p.store, "lyg-health", 3).await
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (arrivals, bodies, forged) = {
        let seen = receiver.seen.lock().unwrap();
        (seen.arrivals.clone(), seen.bodies.clone(), seen.forged)
    };
    assert_eq!(forged, 0);
    assert_eq!(arrivals.len(), 3, "each sent once: {arrivals:?}");
    let mut delivered: Vec<String> = bodies
        .values()
        .map(|b| {
            b["application"]["application_no"]
                .as_str()
                .expect("number")
                .to_owned()
        })
        .collect();
    delivered.sort();
    let mut expected = numbers.clone();
    expected.sort();
    assert_eq!(delivered, expected);
    assert!(!delivered.contains(&elsewhere));
    let first = bodies
        .values()
        .find(|b| b["application"]["application_no"] == numbers[0].as_str())
        .expect("the first application");
    assert_eq!(first["application"]["department"], "lyg-health");
    assert_eq!(first["application"]["matter_id"], "lyg-health-0701");
    assert_eq!(first["application"]["applicant"]["name"], "张三");
    let material = &first["materials"][0];
    assert_eq!(material["sha256"], sha256_hex(&pdf).as_str());
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(material["content_base64"].as_str().expect("base64"))
        .expect("decodes");
    assert_eq!(bytes, pdf, "the material as uploaded");
    assert!(states(&e.p.store, "lyg-hrss").await.is_empty());
    for (_, state, attempts) in states(&e.p.store, "lyg-health").await {
        assert_eq!((state.as_str(), attempts), ("delivered", 1));
    }
}

async fn a_failing_receiver_is_retried_and_a_refusing_one_dead_lettered_then_replayed(db: TestDb) {
    let e = platform(&db).await;
    let receiver = Receiver::new();
    let (port, _server) = receiver.start(0).await;
    connect(&e.p.store, &receiver, "lyg-health", port).await;
    receiver.seen.lock().unwrap().script = VecDeque::from([503, 503]);
    let first = file_application(&e.t, "retry-0001-key", "张三", "320706199001010133").await;
    let _courier = spawn_courier(e.p.store.clone(), quick()).expect("courier");
    until(20, "the retried delivery", async || {
        all_delivered(&e.p.store, "lyg-health", 1).await
    })
    .await;
    assert_eq!(
        states(&e.p.store, "lyg-health").await,
        vec![(first.clone(), "delivered".into(), 3)]
    );

    // A 400 will not heal: dead at once, listed with its error, until an operator replays it.
    receiver.seen.lock().unwrap().script = VecDeque::from([400]);
    let second = file_application(&e.t, "dead-0001-key", "李四", "320706198802020228").await;
    until(20, "the dead letter", async || {
        !e.p.store
            .deliveries("lyg-health", Some("dead"), 10)
            .await
            .expect("dead")
            .is_empty()
    })
    .await;
    let dead =
        e.p.store
            .deliveries("lyg-health", Some("dead"), 10)
            .await
            .expect("dead");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].application_no, second);
    assert_eq!(dead[0].attempts, 1);
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("HTTP 400")),
        "{dead:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        e.p.store
            .deliveries("lyg-health", Some("dead"), 10)
            .await
            .expect("dead")
            .len(),
        1,
        "a dead letter stays dead"
    );

    // Replayed through the console by an operator: delivered, and audited.
    e.p.store
        .put_operator(
            "op",
            &kiosk_platform::console::hash_password("op-password-1").expect("hash"),
            kiosk_platform::store::Role::Operator,
        )
        .await
        .expect("operator");
    let console = Browser::login(&e.p.url, "op", "op-password-1")
        .await
        .expect("logged in");
    let (_, page) = console.get("/console/connectors").await;
    assert!(
        page.contains(&dead[0].id) && page.contains("HTTP 400"),
        "{page}"
    );
    let (status, page) = console
        .post(
            "/console/connectors/lyg-health/replay",
            &[
                ("csrf", console.csrf.as_str()),
                ("delivery", dead[0].id.as_str()),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    until(20, "the replayed delivery", async || {
        all_delivered(&e.p.store, "lyg-health", 2).await
    })
    .await;
    let audit =
        e.p.store
            .audit_log(&kiosk_platform::store::AuditFilter {
                limit: 100,
                ..Default::default()
            })
            .await
            .expect("audit");
    assert!(
        audit
            .iter()
            .any(|a| a.action == "delivery_replay" && a.operator == "op")
    );
    assert_eq!(receiver.distinct().len(), 2);
}

async fn a_receiver_killed_and_restarted_still_gets_every_application_once(db: TestDb) {
    let e = platform(&db).await;
    let receiver = Receiver::new();
    let (port, server) = receiver.start(0).await;
    let mut server = Some(server);
    connect(&e.p.store, &receiver, "lyg-health", port).await;
    let _courier = spawn_courier(e.p.store.clone(), quick()).expect("courier");
    let mut numbers = BTreeSet::new();
    for i in 0..12 {
        numbers.insert(
            file_application(
                &e.t,
                &format!("kill-{i:04}-key"),
                "张三",
                "320706199001010133",
            )
            .await,
        );
        if i == 3 {
            until(20, "the first deliveries", async || {
                receiver.distinct().len() >= 2
            })
            .await;
            // Killed mid-way: every connection dropped, nothing listening.
            if let Some(server) = server.take() {
                server.abort();
                let _ = server.await;
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let pending = states(&e.p.store, "lyg-health").await;
    assert!(
        pending.iter().any(|(_, state, _)| state == "pending"),
        "{pending:?}"
    );
    let (_, _restarted) = receiver.start(port).await;
    until(30, "every delivery", async || {
        all_delivered(&e.p.store, "lyg-health", 12).await
    })
    .await;

    let by_id: HashMap<String, String> =
        e.p.store
            .deliveries("lyg-health", None, 100)
            .await
            .expect("deliveries")
            .into_iter()
            .map(|d| (d.id, d.application_no))
            .collect();
    let ids: BTreeSet<String> = by_id.keys().cloned().collect();
    assert_eq!(
        receiver.distinct(),
        ids,
        "the receiver has each delivery id"
    );
    let delivered: BTreeSet<String> = by_id.values().cloned().collect();
    assert_eq!(
        delivered, numbers,
        "every application delivered, one delivery each"
    );
    let seen = receiver.seen.lock().unwrap();
    for (id, body) in &seen.bodies {
        assert_eq!(body["application"]["application_no"], by_id[id].as_str());
    }
}

async fn a_hung_department_does_not_delay_another(db: TestDb) {
    let e = platform(&db).await;
    let hung = Receiver::new();
    hung.seen.lock().unwrap().hang = true;
    let (hung_port, _hung_server) = hung.start(0).await;
    let healthy = Receiver::new();
    let (port, _server) = healthy.start(0).await;
    connect(&e.p.store, &hung, "lyg-health", hung_port).await;
    connect(&e.p.store, &healthy, "lyg-hrss", port).await;
    let _courier = spawn_courier(
        e.p.store.clone(),
        CourierSettings {
            timeout: Duration::from_secs(30),
            ..quick()
        },
    )
    .expect("courier");
    for i in 0..10 {
        file_application(
            &e.t,
            &format!("hung-{i:04}-key"),
            "张三",
            "320706199001010133",
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    for i in 0..5 {
        file(&e.t, &format!("healthy-{i:04}-key"), "lyg-hrss-0102").await;
    }
    until(10, "the healthy department's deliveries", async || {
        all_delivered(&e.p.store, "lyg-hrss", 5).await
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        states(&e.p.store, "lyg-health")
            .await
            .iter()
            .all(|(_, s, _)| s == "pending")
    );
}

/// Sends a report as `department`'s system with `key`.
async fn report(
    p: &Platform,
    department: &str,
    key: Option<&str>,
    body: &Value,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/departments/{department}/reports", p.url))
        .json(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    answer(request.send().await.expect("answer")).await
}

async fn progress_of(t: &TestTerminal, number: &str) -> Value {
    let holder = json!({"id_number": "320706199001010133", "name": "张三"});
    let (status, progress) = t.send(Method::POST, "/v1/progress", Some(&holder)).await;
    assert_eq!(status, StatusCode::OK, "{progress}");
    progress["applications"]
        .as_array()
        .expect("applications")
        .iter()
        .find(|a| a["application_no"] == number)
        .cloned()
        .expect("the application")
}

async fn department_reports_move_applications_and_progress_shows_them(db: TestDb) {
    let e = platform(&db).await;
    let receiver = Receiver::new();
    let key = connect(&e.p.store, &receiver, "lyg-health", 9).await;
    let number = file_application(&e.t, "report-0001-key", "张三", "320706199001010133").await;

    let start = json!({"report_id": "r-1", "application_no": number, "action": "start_review"});
    let (status, first) = report(&e.p, "lyg-health", Some(&key), &start).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        (
            first["from"].as_str(),
            first["to"].as_str(),
            &first["replayed"]
        ),
        (Some("accepted"), Some("in_review"), &json!(false))
    );
    // A replay: the same answer, nothing changes twice.
    let (status, again) = report(&e.p, "lyg-health", Some(&key), &start).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        (&again["at"], &again["to"], &again["replayed"]),
        (&first["at"], &first["to"], &json!(true))
    );
    assert_eq!(
        e.p.store.life_of(&number).await.expect("life").len(),
        2,
        "accepted, review started"
    );
    // The same id for another report.
    let reused = json!({"report_id": "r-1", "application_no": number, "action": "refuse", "reason": "不符合条件"});
    let (status, refused) = report(&e.p, "lyg-health", Some(&key), &reused).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::CONFLICT, Some("report_id_reused"))
    );

    let ask = json!({"report_id": "r-2", "application_no": number, "action": "ask_correction",
        "materials": [1], "reason": "照片不清晰", "answer_by": "2099-01-05"});
    let (status, asked) = report(&e.p, "lyg-health", Some(&key), &ask).await;
    assert_eq!(status, StatusCode::OK, "{asked}");
    let seen = progress_of(&e.t, &number).await;
    assert_eq!(seen["state"], "needs_materials", "{seen}");
    assert_eq!(seen["correction"]["reason"], "照片不清晰");
    assert_eq!(seen["correction"]["materials"], json!([1]));
    assert_eq!(seen["correction"]["answer_by"], "2099-01-05");

    // From needs_materials only the applicant's answer moves it on.
    let complete = json!({"report_id": "r-3", "application_no": number, "action": "complete"});
    let (status, illegal) = report(&e.p, "lyg-health", Some(&key), &complete).await;
    assert_eq!(status, StatusCode::CONFLICT, "{illegal}");
    assert_eq!(illegal["code"], "illegal_transition");
    let refuse = json!({"report_id": "r-4", "application_no": number, "action": "refuse", "reason": "材料逾期未补正"});
    let (status, _) = report(&e.p, "lyg-health", Some(&key), &refuse).await;
    assert_eq!(status, StatusCode::OK);
    let seen = progress_of(&e.t, &number).await;
    assert_eq!(seen["state"], "rejected", "{seen}");
    let history: Vec<&str> = seen["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["state"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        history,
        ["accepted", "in_review", "needs_materials", "rejected"]
    );
    // Completing a refused application.
    let (status, finished) = report(
        &e.p,
        "lyg-health",
        Some(&key),
        &json!({"report_id": "r-5", "application_no": number, "action": "complete"}),
    )
    .await;
    assert_eq!(
        (status, finished["code"].as_str()),
        (StatusCode::CONFLICT, Some("application_finished"))
    );
    let life = e.p.store.life_of(&number).await.expect("life");
    assert!(
        life[1..]
            .iter()
            .all(|event| event.actor == "department:lyg-health")
    );
}

async fn department_reports_refuse_bad_keys_and_bad_input(db: TestDb) {
    let e = platform(&db).await;
    // The department's developers find the API in the OpenAPI document.
    let openapi: Value = reqwest::get(format!("{}/openapi.json", e.p.url))
        .await
        .expect("answer")
        .json()
        .await
        .expect("JSON");
    let operation = &openapi["paths"]["/v1/departments/{department}/reports"]["post"];
    assert_eq!(operation["tags"], json!(["department_api"]));
    assert_eq!(operation["security"], json!([{"department_key": []}]));
    assert_eq!(
        openapi["components"]["securitySchemes"]["department_key"]["scheme"],
        "bearer"
    );
    assert!(openapi["components"]["schemas"]["ReportRequest"].is_object());
    let receiver = Receiver::new();
    let key = connect(&e.p.store, &receiver, "lyg-health", 9).await;
    let other_key = connect(&e.p.store, &Receiver::new(), "lyg-hrss", 9).await;
    let number = file_application(&e.t, "bad-0001-key", "张三", "320706199001010133").await;
    let hrss = file(&e.t, "bad-0002-key", "lyg-hrss-0102").await;
    let start = |no: &str, id: &str| json!({"report_id": id, "application_no": no, "action": "start_review"});
    let code = |v: &Value| v["code"].as_str().unwrap_or_default().to_owned();

    let (status, body) = report(&e.p, "lyg-health", None, &start(&number, "k-1")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthorized".into())
    );
    let (status, body) = report(
        &e.p,
        "lyg-health",
        Some("lybk_not-a-key"),
        &start(&number, "k-1"),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthorized".into())
    );
    let (status, body) = report(&e.p, "lyg-health", Some(&other_key), &start(&number, "k-1")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "other_department".into())
    );
    // Its own key, another department's application.
    let (status, body) = report(&e.p, "lyg-health", Some(&key), &start(&hrss, "k-2")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "other_department".into())
    );
    let (status, body) = report(
        &e.p,
        "lyg-health",
        Some(&key),
        &start("LYB-19990101-999999", "k-3"),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "unknown_application".into())
    );
    for (bad, path) in [
        (
            json!({"report_id": "", "application_no": number, "action": "start_review"}),
            "report_id",
        ),
        (
            json!({"report_id": "k 4", "application_no": number, "action": "start_review"}),
            "report_id",
        ),
        (
            json!({"report_id": "k-5", "application_no": number, "action": "ask_correction", "materials": [1], "reason": "x", "answer_by": "next week"}),
            "answer_by",
        ),
        (
            json!({"report_id": "k-6", "application_no": number, "action": "refuse", "reason": "x".repeat(2001)}),
            "reason",
        ),
        (
            json!({"report_id": "k-7", "application_no": number, "action": "ask_correction", "fields": [""], "reason": "x"}),
            "fields[0]",
        ),
    ] {
        let (status, body) = report(&e.p, "lyg-health", Some(&key), &bad).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field".into()),
            "{bad}"
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .starts_with(path),
            "{body}"
        );
    }
    for (bad, path) in [
        (
            json!({"report_id": "k-8", "application_no": number, "action": "approve"}),
            "action",
        ),
        (
            json!({"report_id": "k-9", "application_no": number, "action": "complete", "extra": 1}),
            "extra",
        ),
        (
            json!({"report_id": "k-10", "action": "complete"}),
            "application_no",
        ),
    ] {
        let (status, body) = report(&e.p, "lyg-health", Some(&key), &bad).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "malformed_body".into()),
            "{bad}"
        );
        assert!(
            body["message"].as_str().unwrap_or_default().contains(path),
            "{body}"
        );
    }
    let (status, body) = report(
        &e.p,
        "lyg-health",
        Some(&key),
        &json!({"report_id": "k-11", "application_no": number, "action": "refuse"}),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "reason_required".into())
    );
    let (status, body) = report(&e.p, "lyg-health", Some(&key), &json!({"report_id": "k-12", "application_no": number, "action": "ask_correction", "reason": "?"})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "empty_correction".into())
    );
    assert_eq!(
        e.p.store.life_of(&number).await.expect("life").len(),
        1,
        "nothing refused changed anything"
    );

    // A disabled connector's key is refused; a rotated key replaces the old one at once.
    e.p.store
        .set_connector_enabled("admin", "lyg-health", false)
        .await
        .expect("disabled");
    let (status, body) = report(&e.p, "lyg-health", Some(&key), &start(&number, "k-13")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "connector_disabled".into())
    );
    e.p.store
        .set_connector_enabled("admin", "lyg-health", true)
        .await
        .expect("enabled");
    let rotated =
        e.p.store
            .rotate_connector("admin", "lyg-health")
            .await
            .expect("rotated");
    let (status, _) = report(&e.p, "lyg-health", Some(&key), &start(&number, "k-14")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = report(
        &e.p,
        "lyg-health",
        Some(&rotated.inbound_key),
        &start(&number, "k-15"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A flood from one department is cut off; another department is not affected.
    let mut flood = tokio::task::JoinSet::new();
    for i in 0..200 {
        let (p, key) = (e.p.url.clone(), rotated.inbound_key.to_string());
        flood.spawn(async move {
            reqwest::Client::new()
                .post(format!("{p}/v1/departments/lyg-health/reports"))
                .bearer_auth(key)
                .json(&json!({"report_id": format!("f-{i}")}))
                .send()
                .await
                .expect("answer")
                .status()
        });
    }
    let mut limited = 0;
    while let Some(status) = flood.join_next().await {
        if status.expect("sent") == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    assert!(limited > 0, "a flood is rate-limited");
    let (status, body) = report(&e.p, "lyg-hrss", Some(&other_key), &start(&hrss, "h-1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn connectors_are_made_and_kept_by_admins_with_secrets_shown_once(db: TestDb) {
    let e = platform(&db).await;
    let store = &e.p.store;
    for (role, name) in [
        (kiosk_platform::store::Role::Admin, "root"),
        (kiosk_platform::store::Role::Operator, "op"),
    ] {
        store
            .put_operator(
                name,
                &kiosk_platform::console::hash_password("a-password-1").expect("hash"),
                role,
            )
            .await
            .expect("account");
    }
    let admin = Browser::login(&e.p.url, "root", "a-password-1")
        .await
        .expect("logged in");
    for (department, url, refusal) in [
        ("lyg-health", "http://lyg-health.example/intake", "https://"),
        ("lyg-health", "ftp://127.0.0.1/x", "https://"),
        (
            "lyg-health",
            "https://user:pw@lyg-health.example/",
            "password",
        ),
        ("no-such-department", "https://x.example/", "no matter"),
    ] {
        let (status, page) = admin
            .post(
                "/console/connectors",
                &[
                    ("csrf", admin.csrf.as_str()),
                    ("department", department),
                    ("url", url),
                ],
            )
            .await;
        assert_eq!(status, 400, "{url}");
        assert!(page.contains(refusal), "{page}");
    }
    let (status, page) = admin
        .post(
            "/console/connectors",
            &[
                ("csrf", admin.csrf.as_str()),
                ("department", "lyg-health"),
                ("url", "https://lyg-health.example/intake"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("id=\"signing-secret\"") && page.contains("id=\"inbound-key\""),
        "{page}"
    );
    let shown = page
        .split("id=\"inbound-key\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("key shown")
        .to_owned();
    assert!(shown.starts_with("lybk_"));
    let signing_secret = page
        .split("id=\"signing-secret\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("secret shown")
        .to_owned();
    assert_eq!(signing_secret.len(), 64);
    // Shown once: never again, and stored only as its hash.
    let (_, again) = admin.get("/console/connectors").await;
    assert!(!again.contains(&shown) && again.contains("https://lyg-health.example/intake"));
    let (status, _) = admin
        .post(
            "/console/connectors",
            &[
                ("csrf", admin.csrf.as_str()),
                ("department", "lyg-health"),
                ("url", "https://x.example/"),
            ],
        )
        .await;
    assert_eq!(status, 400, "one connector per department");

    // An operator replays but does not change connectors; a viewer does not see them.
    let operator = Browser::login(&e.p.url, "op", "a-password-1")
        .await
        .expect("logged in");
    let (status, _) = operator
        .post(
            "/console/connectors/lyg-health/rotate",
            &[("csrf", operator.csrf.as_str())],
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = operator
        .post(
            "/console/connectors/lyg-health/disable",
            &[("csrf", operator.csrf.as_str())],
        )
        .await;
    assert_eq!(status, 403);
    // Admins point it elsewhere, under the same rules as a new one.
    let (status, page) = admin
        .post(
            "/console/connectors/lyg-health/url",
            &[
                ("csrf", admin.csrf.as_str()),
                ("url", "http://intake.example/"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{page}");
    let (status, page) = admin
        .post(
            "/console/connectors/lyg-health/url",
            &[
                ("csrf", admin.csrf.as_str()),
                ("url", "https://intake.lyg-health.example/v2"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("https://intake.lyg-health.example/v2"));
    let (status, page) = admin
        .post(
            "/console/connectors/lyg-health/disable",
            &[("csrf", admin.csrf.as_str())],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("停用 disabled"));
    // Disabled: a new application is queued for it and waits.
    let receiver = Receiver::new();
    *receiver.secret.lock().unwrap() = signing_secret;
    let (port, _server) = receiver.start(0).await;
    store
        .set_connector_url(
            "root",
            "lyg-health",
            &format!("http://127.0.0.1:{port}/intake"),
        )
        .await
        .expect("url");
    let _courier = spawn_courier(store.clone(), quick()).expect("courier");
    file_application(&e.t, "disabled-0001-key", "张三", "320706199001010133").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let waiting = states(store, "lyg-health").await;
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        (waiting[0].1.as_str(), waiting[0].2),
        ("pending", 0),
        "not sent while disabled"
    );
    assert!(receiver.distinct().is_empty());
    let (status, page) = admin
        .post(
            "/console/connectors/lyg-health/enable",
            &[("csrf", admin.csrf.as_str())],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    until(20, "the delivery after enabling", async || {
        all_delivered(store, "lyg-health", 1).await
    })
    .await;
    let audit = store
        .audit_log(&kiosk_platform::store::AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("audit");
    for action in [
        "connector_add",
        "connector_url",
        "connector_disable",
        "connector_enable",
    ] {
        assert!(
            audit
                .iter()
                .any(|a| a.action == action && a.operator == "root"),
            "{action}"
        );
    }
}

/// `kiosk-platform connector …` with the database and key file of `db`.
fn connector_cli(db: &std::path::Path, keys: &std::path::Path, args: &[&str]) -> String {
    let url = format!("sqlite://{}", db.display());
    let keys = keys.to_string_lossy().into_owned();
    let (ok, out, err) =
        common::platform_cli_with(&url, &[&["connector"], args].concat(), &["--keys", &keys]);
    assert!(ok, "{args:?}: {out}{err}");
    out
}

/// The real `serve` process delivers through a connector the command line made, with its
/// courier's flags, and the command line replays a dead letter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_delivers_through_a_connector_the_command_line_made() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("platform.db");
    let keys = kiosk_testkit::PlatformPeer::key_file(&db).expect("key file");
    let receiver = Receiver::new();
    let (port, _server) = receiver.start(0).await;
    let url = format!("http://127.0.0.1:{port}/intake");
    let added = connector_cli(
        &db,
        &keys,
        &["add", "--department", "lyg-health", "--url", &url],
    );
    let secret = added
        .lines()
        .find_map(|l| l.strip_prefix("signing secret (HMAC-SHA256 of deliveries): "))
        .expect("the secret is printed");
    *receiver.secret.lock().unwrap() = secret.to_owned();
    assert!(added.contains("inbound API key (Authorization: Bearer): lybk_"));

    let served = kiosk_testkit::PlatformPeer::start_with(
        &db,
        "127.0.0.1:0",
        &["--delivery-settle", "0s", "--delivery-backoff", "1s"],
    )
    .expect("serve");
    let store = Store::open(&format!("sqlite://{}", db.display()).parse().expect("url"))
        .await
        .expect("store");
    store
        .use_keys(
            kiosk_platform::keys::KeyFile::load(&keys)
                .expect("keys")
                .into_keys(),
        )
        .await
        .expect("keys fit");
    let p = Platform {
        url: served.url.clone(),
        store,
    };
    let t = TestTerminal::enroll(&p, "SN-SERVE", None).await;
    file_application(&t, "served-0001-key", "张三", "320706199001010133").await;
    until(30, "the served delivery", async || {
        receiver.distinct().len() == 1
    })
    .await;

    receiver.seen.lock().unwrap().script = VecDeque::from([400]);
    let second = file_application(&t, "served-0002-key", "李四", "320706198802020228").await;
    until(30, "the dead letter", async || {
        connector_cli(&db, &keys, &["list"]).contains("dead 1")
    })
    .await;
    let replayed = connector_cli(&db, &keys, &["replay", "--department", "lyg-health"]);
    assert!(replayed.starts_with("1 dead letters"), "{replayed}");
    until(30, "the replayed delivery", async || {
        receiver.distinct().len() == 2
    })
    .await;
    let delivered: BTreeSet<String> = receiver
        .seen
        .lock()
        .unwrap()
        .bodies
        .values()
        .map(|b| {
            b["application"]["application_no"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(delivered.contains(&second));
    drop(served);
}
