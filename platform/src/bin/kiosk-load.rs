//! `kiosk-load`: simulates N enrolled terminals against a platform on this machine, and reports
//! latency and errors.
//!
//! Each simulated terminal has its own Ed25519 key, enrolls with a token made directly in the
//! platform's database (`--db`, the same URL the platform serves), then sends a signed
//! heartbeat every 30 s (spread evenly), while applications arrive at `--apps-per-sec` from
//! random terminals and every second application is rated. With `--steps` it measures
//! capacity: the same load at growing fleet sizes until the p99 passes a limit. Everything is
//! bounded: at most 200,000 terminals, 500 applications/s, 600 s a step, 512 requests in
//! flight, and only loopback addresses are accepted as targets.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use ed25519_dalek::SigningKey;
use kiosk_platform::{DbUrl, Store};
use kiosk_protocol::auth::{hex_encode, public_key_hex};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

#[derive(Parser)]
#[command(
    name = "kiosk-load",
    about = "Simulate terminals against a platform on loopback and report latency"
)]
struct Args {
    /// The platform's base URL (loopback only), e.g. http://127.0.0.1:8080 (https:// with
    /// --tls-ca).
    #[arg(long)]
    platform: String,
    /// The platform's database, to make enrollment tokens: sqlite://PATH or postgres://…
    #[arg(long)]
    db: DbUrl,
    /// Number of simulated terminals (1 to 20000).
    #[arg(long, default_value_t = 1000)]
    terminals: u32,
    /// Seconds of load after enrollment (1 to 600).
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Applications per second across all terminals (0 to 500).
    #[arg(long, default_value_t = 50)]
    apps_per_sec: u32,
    /// Heartbeat period of each terminal, seconds.
    #[arg(long, default_value_t = 30)]
    heartbeat_secs: u64,
    /// Requests in flight at most (1 to 512).
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// Also write the report as JSON to this file (per request kind: count, p50/p95/p99/max
    /// in ms, per second; errors), for `make bench`.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// For an https:// platform (`serve --tls-cert`): the PEM CA certificate(s) its
    /// certificate chains to; nothing else is trusted.
    #[arg(long)]
    tls_ca: Option<std::path::PathBuf>,
    /// Every request on a connection of its own, opened (and over TLS, handshaken) for it:
    /// what terminals do, whose heartbeats 30 s apart find the platform closed their idle
    /// connection. Without it requests share kept-alive connections.
    #[arg(long)]
    reconnect: bool,
    /// Capacity: run the load at each of these fleet sizes in turn (e.g.
    /// 10000,30000,100000,200000), enrolling more terminals between steps, and stop after the
    /// first step whose p99 over all requests passes --p99-limit-ms. Replaces --terminals.
    #[arg(long, value_delimiter = ',')]
    steps: Vec<u32>,
    /// The p99 (ms) a capacity step must stay within for the next one to run.
    #[arg(long, default_value_t = 100.0)]
    p99_limit_ms: f64,
}

/// The most terminals one run simulates: the fleet the platform is sized for (200,000
/// terminals, 6,667 heartbeats/s at one every 30 s).
const MAX_TERMINALS: u32 = 200_000;

struct Terminal {
    id: String,
    key: SigningKey,
    /// The platform's key application bodies are sealed to, as enrollment gave it.
    sealing_key: kiosk_protocol::sealing::PublicKey,
}

#[derive(Default)]
struct Stats {
    latencies: Mutex<BTreeMap<&'static str, Vec<u32>>>,
    errors: Mutex<BTreeMap<String, u64>>,
    late: AtomicU64,
}

impl Stats {
    fn record(&self, kind: &'static str, micros: u32) {
        if let Ok(mut map) = self.latencies.lock() {
            map.entry(kind).or_default().push(micros);
        }
    }

    fn error(&self, what: String) {
        if let Ok(mut map) = self.errors.lock() {
            *map.entry(what).or_default() += 1;
        }
    }
}

fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(bytes)
}

fn loopback_only(url: &str) -> anyhow::Result<()> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .context("--platform must be an http:// or https:// URL")?;
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    let ok = host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !ok {
        bail!("kiosk-load only targets this machine (127.0.0.0/8, ::1, localhost), not {host}");
    }
    Ok(())
}

/// Why a request got no answer (counted, by its text, among the report's errors).
#[derive(Debug, thiserror::Error)]
enum RequestError {
    #[error("{0}")]
    Encode(serde_json::Error),
    #[error("sealing: {0}")]
    Seal(String),
    #[error("{0:#}")]
    Randomness(anyhow::Error),
    #[error("timeout")]
    Timeout,
    #[error("transport: {0}")]
    Transport(reqwest::Error),
    #[error("body: {0}")]
    Body(reqwest::Error),
}

async fn signed(
    http: &reqwest::Client,
    base: &str,
    terminal: &Terminal,
    method: reqwest::Method,
    path: &str,
    body: &Value,
    idempotency_key: Option<&str>,
) -> Result<(u16, Value), RequestError> {
    let mut bytes = serde_json::to_vec(body).map_err(RequestError::Encode)?;
    // Application bodies go sealed to the platform's key, as terminals send them (the platform
    // refuses plain ones): the load includes opening them.
    let content_type = if path == "/v1/applications" {
        bytes = kiosk_protocol::sealing::seal(&terminal.sealing_key, &bytes)
            .map_err(|e| RequestError::Seal(e.to_string()))?;
        kiosk_protocol::sealing::SEALED_APPLICATION_CONTENT_TYPE
    } else {
        "application/json"
    };
    let now = time_now();
    let nonce = hex_encode(&random_bytes::<16>().map_err(RequestError::Randomness)?);
    // Signed as terminals sign (scheme V2, content type and idempotency key included).
    let content = kiosk_protocol::SignedContent {
        method: method.as_str(),
        path_and_query: path,
        content_type: Some(content_type),
        idempotency_key,
        body: &bytes,
    };
    let headers =
        kiosk_protocol::sign_request_v2(&terminal.key, &terminal.id, now, &nonce, &content);
    let mut request = http
        .request(method, format!("{base}{path}"))
        .header("content-type", content_type)
        .body(bytes);
    for (name, value) in headers.pairs() {
        request = request.header(name, value);
    }
    if let Some(key) = idempotency_key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.map_err(|e| {
        if e.is_timeout() {
            RequestError::Timeout
        } else {
            RequestError::Transport(e)
        }
    })?;
    let status = response.status().as_u16();
    let body = response.bytes().await.map_err(RequestError::Body)?;
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok((status, value))
}

fn time_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[index.min(sorted.len() - 1)]) / 1000.0
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("kiosk-load: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    loopback_only(&args.platform)?;
    if !(1..=MAX_TERMINALS).contains(&args.terminals) {
        bail!("--terminals must be 1 to {MAX_TERMINALS}");
    }
    if args.steps.iter().any(|n| !(1..=MAX_TERMINALS).contains(n))
        || args.steps.windows(2).any(|w| w[0] >= w[1])
    {
        bail!("--steps must rise, each 1 to {MAX_TERMINALS}");
    }
    if !(1..=600).contains(&args.duration) {
        bail!("--duration must be 1 to 600 seconds");
    }
    if args.apps_per_sec > 500 {
        bail!("--apps-per-sec must be at most 500");
    }
    if !(1..=512).contains(&args.concurrency) {
        bail!("--concurrency must be 1 to 512");
    }
    if !(1..=3600).contains(&args.heartbeat_secs) {
        bail!("--heartbeat-secs must be 1 to 3600");
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(load(args))
}

/// A TLS client trusting only the CA certificates in `ca`: the load runs against a platform
/// serving a test certificate, as terminals with a pin would (each connection's handshake,
/// then kept-alive requests).
fn client_tls(ca: &std::path::Path) -> anyhow::Result<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in
        CertificateDer::pem_file_iter(ca).with_context(|| format!("--tls-ca {}", ca.display()))?
    {
        roots.add(cert.with_context(|| format!("--tls-ca {}", ca.display()))?)?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

async fn load(args: Args) -> anyhow::Result<()> {
    let base = args.platform.trim_end_matches('/').to_owned();
    let mut http = reqwest::Client::builder();
    if let Some(ca) = &args.tls_ca {
        http = http.use_preconfigured_tls(client_tls(ca)?);
    }
    let idle = if args.reconnect { 0 } else { args.concurrency };
    let http = http
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(idle)
        .build()
        .context("cannot build the HTTP client")?;
    http.get(format!("{base}/healthz"))
        .send()
        .await
        .with_context(|| format!("the platform at {base} does not answer"))?;
    let store = Store::open(&args.db).await?;

    let run_id = hex_encode(&random_bytes::<4>()?);
    let steps = if args.steps.is_empty() {
        vec![args.terminals]
    } else {
        args.steps.clone()
    };
    let matters = applicable_matters(&http, &base).await?;
    let mut fleet = Fleet {
        http,
        base,
        terminals: Vec::new(),
        matters,
        run_id: run_id.clone(),
    };
    let mut reports = Vec::new();
    for (step, &size) in steps.iter().enumerate() {
        // Each step's applications get idempotency keys of their own (a key used again would be
        // a replay).
        fleet.run_id = format!("{run_id}{step}");
        let started = Instant::now();
        let more = size - fleet.terminals.len() as u32;
        let enrolled = enroll(&fleet, more, &store, fleet.terminals.len() as u32).await?;
        fleet.terminals.extend(enrolled);
        println!(
            "enrolled {more} terminals in {:.1} s; loading {size} for {} s: heartbeat every {} s ({:.0}/s), {} applications/s{}",
            started.elapsed().as_secs_f64(),
            args.duration,
            args.heartbeat_secs,
            f64::from(size) / args.heartbeat_secs as f64,
            args.apps_per_sec,
            if args.reconnect {
                ", a connection per request"
            } else {
                ""
            }
        );
        let stats = Arc::new(Stats::default());
        let start = Instant::now();
        drive(&args, &fleet, &stats).await;
        let wall = start.elapsed().as_secs_f64();
        let (report, errors) = summarize(&args, size, &stats, wall)?;
        let p99 = report["requests"]["all"]["p99_ms"]
            .as_f64()
            .unwrap_or(f64::MAX);
        reports.push(report);
        if args.steps.is_empty() {
            break;
        }
        if p99 > args.p99_limit_ms || errors > 0 {
            println!(
                "step {} of {}: p99 {p99:.1} ms, {errors} errors: the capacity is below {size} terminals",
                step + 1,
                steps.len()
            );
            break;
        }
    }
    write_report(&args, reports)
}

/// Enrollment (not measured): a token each, made in the database, spent over HTTP.
async fn enroll(
    fleet: &Fleet,
    count: u32,
    store: &Store,
    first: u32,
) -> anyhow::Result<Vec<Arc<Terminal>>> {
    let gate = Arc::new(Semaphore::new(64));
    let mut enrolling = tokio::task::JoinSet::new();
    for i in first..first + count {
        let token = hex_encode(&random_bytes::<24>()?);
        let key = SigningKey::from_bytes(&random_bytes::<32>()?);
        let (http, base, gate) = (fleet.http.clone(), fleet.base.clone(), gate.clone());
        let store = store.clone();
        let serial = format!("LOAD-{}-{i:06}", fleet.run_id);
        enrolling.spawn(async move {
            let _permit = gate.acquire_owned().await.ok()?;
            // Made in the database as an operator's command would, many at once (the
            // store's writes are grouped), so a large fleet enrolls in minutes.
            store
                .create_enrollment_token(
                    &token,
                    Some(&format!("load-{}", i % 50)),
                    time_now() + 3600,
                )
                .await
                .ok()?;
            let answer: Value = http
                .post(format!("{base}/v1/enroll"))
                .json(&json!({"token": token, "hardware_serial": serial,
                    "public_key": public_key_hex(&key.verifying_key())}))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            Some(Terminal {
                id: answer["terminal_id"].as_str()?.to_owned(),
                key,
                sealing_key: kiosk_protocol::sealing::parse_sealing_key(
                    answer["sealing_key"].as_str()?,
                )
                .ok()?,
            })
        });
    }
    let mut terminals = Vec::with_capacity(count as usize);
    while let Some(done) = enrolling.join_next().await {
        if let Ok(Some(t)) = done {
            terminals.push(Arc::new(t));
        }
    }
    if terminals.len() != count as usize {
        bail!("only {} of {count} terminals enrolled", terminals.len());
    }
    Ok(terminals)
}

/// The published matters a terminal can apply for.
async fn applicable_matters(http: &reqwest::Client, base: &str) -> anyhow::Result<Vec<String>> {
    let catalog: Value = http
        .get(format!("{base}/v1/catalog"))
        .send()
        .await?
        .json()
        .await?;
    let matters: Vec<String> = catalog["matters"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter(|m| m["kiosk_application"] == true)
                .filter_map(|m| m["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if matters.is_empty() {
        bail!("the published catalog has no matter terminals can apply for");
    }
    Ok(matters)
}

/// The enrolled terminals and what they send.
struct Fleet {
    http: reqwest::Client,
    base: String,
    terminals: Vec<Arc<Terminal>>,
    matters: Vec<String>,
    run_id: String,
}

/// The load: heartbeats spread evenly over the period, applications at a steady rate, until
/// the duration is over and every request has an answer.
async fn drive(args: &Args, fleet: &Fleet, stats: &Arc<Stats>) {
    let inflight = Arc::new(Semaphore::new(args.concurrency));
    let start = Instant::now();
    let end = start + Duration::from_secs(args.duration);
    let n = fleet.terminals.len() as u64;
    let (mut beats, mut apps) = (0u64, 0u64);
    let mut tasks = tokio::task::JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    while Instant::now() < end {
        tick.tick().await;
        let elapsed = start.elapsed().as_secs_f64();
        let due_beats = (elapsed * n as f64 / args.heartbeat_secs as f64) as u64 + 1;
        let due_apps = (elapsed * f64::from(args.apps_per_sec)) as u64;
        while beats < due_beats || apps < due_apps {
            let is_beat = beats < due_beats
                && (apps >= due_apps || beats * u64::from(args.apps_per_sec.max(1)) <= apps * n);
            let permit = match inflight.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(_) => {
                    stats.late.fetch_add(1, Ordering::Relaxed);
                    match inflight.clone().acquire_owned().await {
                        Ok(p) => p,
                        Err(_) => break,
                    }
                }
            };
            let (http, base, stats) = (fleet.http.clone(), fleet.base.clone(), stats.clone());
            if is_beat {
                let terminal = fleet.terminals[(beats % n) as usize].clone();
                beats += 1;
                tasks.spawn(async move {
                    let _permit = permit;
                    heartbeat(&http, &base, &terminal, &stats).await;
                });
            } else {
                let i = apps;
                apps += 1;
                let terminal = fleet.terminals[(i.wrapping_mul(7919) % n) as usize].clone();
                let matter = fleet.matters[(i as usize) % fleet.matters.len()].clone();
                let key = format!("load-{}-{i:08}", fleet.run_id);
                tasks.spawn(async move {
                    let _permit = permit;
                    let application = Application {
                        i,
                        matter: &matter,
                        key: &key,
                    };
                    apply(&http, &base, &terminal, application, &stats).await;
                });
            }
        }
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

/// One signed POST of the load: what it is, where it goes, and the status that counts as
/// success.
struct Post<'a> {
    kind: &'static str,
    path: &'a str,
    body: Value,
    idempotency_key: Option<&'a str>,
    success: u16,
}

/// Sends `post` from `terminal`, timing it on success and counting anything else as an error;
/// the answer on success.
async fn timed(
    http: &reqwest::Client,
    base: &str,
    terminal: &Terminal,
    post: Post<'_>,
    stats: &Stats,
) -> Option<Value> {
    let kind = post.kind;
    let sent = Instant::now();
    let answer = signed(
        http,
        base,
        terminal,
        reqwest::Method::POST,
        post.path,
        &post.body,
        post.idempotency_key,
    )
    .await;
    match answer {
        Ok((status, answer)) if status == post.success => {
            stats.record(kind, sent.elapsed().as_micros() as u32);
            Some(answer)
        }
        Ok((status, answer)) => {
            stats.error(format!("{kind} {status} {}", answer["code"]));
            None
        }
        Err(e) => {
            stats.error(format!("{kind} {e}"));
            None
        }
    }
}

/// One heartbeat, timed.
async fn heartbeat(http: &reqwest::Client, base: &str, terminal: &Terminal, stats: &Stats) {
    let body = json!({"versions": {"app": "0.1.0", "os": "2026.11"},
        "uptime_secs": 3600, "outbox_depth": 0,
        "devices": [{"device": "printer", "state": "ok"}, {"device": "idcard", "state": "ok"}]});
    let post = Post {
        kind: "heartbeat",
        path: "/v1/heartbeat",
        body,
        idempotency_key: None,
        success: 200,
    };
    timed(http, base, terminal, post, stats).await;
}

/// The `i`th application of the run.
struct Application<'a> {
    i: u64,
    matter: &'a str,
    key: &'a str,
}

/// One application, timed, and for every second one its rating.
async fn apply(
    http: &reqwest::Client,
    base: &str,
    terminal: &Terminal,
    application: Application<'_>,
    stats: &Stats,
) {
    let Application { i, matter, key } = application;
    let body = json!({"terminal_id": terminal.id, "matter_id": matter,
        "applicant": {"name": "测试", "id_number": format!("3207061990{:08}", i % 100_000_000), "document_kind": "resident"},
        "language": "zh"});
    let post = Post {
        kind: "application",
        path: "/v1/applications",
        body,
        idempotency_key: Some(key),
        success: 201,
    };
    let receipt = timed(http, base, terminal, post, stats).await;
    let number = receipt.and_then(|r| r["application_no"].as_str().map(str::to_owned));
    if let Some(number) = number.filter(|_| i % 2 == 0) {
        let rating = json!({"application_no": number, "matter_id": matter,
            "terminal_id": terminal.id, "level": 5});
        let post = Post {
            kind: "rating",
            path: "/v1/ratings",
            body: rating,
            idempotency_key: None,
            success: 204,
        };
        timed(http, base, terminal, post, stats).await;
    }
}

/// Prints one step's latency table and errors; its report (per request kind: count,
/// p50/p95/p99/max in ms, per second) and how many requests failed.
fn summarize(
    args: &Args,
    terminals: u32,
    stats: &Stats,
    wall: f64,
) -> anyhow::Result<(Value, u64)> {
    let latencies = stats
        .latencies
        .lock()
        .map_err(|_| anyhow::anyhow!("statistics lock poisoned"))?
        .clone();
    let errors = stats
        .errors
        .lock()
        .map_err(|_| anyhow::anyhow!("statistics lock poisoned"))?
        .clone();
    let mut all: Vec<u32> = Vec::new();
    let mut kinds = serde_json::Map::new();
    let summary = |values: &[u32]| {
        json!({"count": values.len(), "p50_ms": percentile(values, 0.50),
            "p95_ms": percentile(values, 0.95), "p99_ms": percentile(values, 0.99),
            "max_ms": percentile(values, 1.0), "per_second": values.len() as f64 / wall})
    };
    println!(
        "{:<12} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "request", "count", "p50 ms", "p95 ms", "p99 ms", "max ms", "per s"
    );
    for (kind, mut values) in latencies {
        values.sort_unstable();
        print_row(kind, &values, wall);
        kinds.insert(kind.to_owned(), summary(&values));
        all.extend(values);
    }
    all.sort_unstable();
    let error_count: u64 = errors.values().sum();
    print_row("all", &all, wall);
    println!(
        "errors: {error_count}; requests that waited for a free slot: {}",
        stats.late.load(Ordering::Relaxed)
    );
    for (what, count) in &errors {
        println!("  {count} × {what}");
    }
    kinds.insert("all".to_owned(), summary(&all));
    let report = json!({
        "terminals": terminals,
        "duration_secs": args.duration,
        "heartbeat_secs": args.heartbeat_secs,
        "apps_per_sec": args.apps_per_sec,
        "reconnect": args.reconnect,
        "wall_secs": wall,
        "requests": kinds,
        "errors": error_count,
        "late": stats.late.load(Ordering::Relaxed),
    });
    Ok((report, error_count))
}

/// Writes the JSON report if asked: one step's report as it is, or with --steps every step's
/// and the largest fleet within the p99 limit. Fails when a single run had errors (a capacity
/// run ends at its failing step instead).
fn write_report(args: &Args, mut reports: Vec<Value>) -> anyhow::Result<()> {
    let errors = reports
        .last()
        .and_then(|r| r["errors"].as_u64())
        .unwrap_or(0);
    let report = if args.steps.is_empty() {
        reports.pop().unwrap_or(Value::Null)
    } else {
        let within = reports
            .iter()
            .filter(|r| {
                r["errors"] == 0
                    && r["requests"]["all"]["p99_ms"]
                        .as_f64()
                        .is_some_and(|p| p <= args.p99_limit_ms)
            })
            .filter_map(|r| r["terminals"].as_u64())
            .max();
        json!({"p99_limit_ms": args.p99_limit_ms, "capacity_terminals": within, "steps": reports})
    };
    if let Some(path) = &args.json {
        std::fs::write(path, format!("{report:#}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.steps.is_empty() && errors > 0 {
        bail!("{errors} requests failed");
    }
    Ok(())
}

/// One line of the latency table.
fn print_row(kind: &str, sorted: &[u32], wall: f64) {
    println!(
        "{kind:<12} {:>8} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>9.1}",
        sorted.len(),
        percentile(sorted, 0.50),
        percentile(sorted, 0.95),
        percentile(sorted, 0.99),
        percentile(sorted, 1.0),
        sorted.len() as f64 / wall
    );
}
