//! How long the clerk's workbench takes on PostgreSQL with 1 000 000 applications (the issue's
//! bound: p99 ≤ 200 ms for the department queue page and an application's page).
//!
//! A schema of its own in the PostgreSQL database named by `--postgres-url` (or
//! `KIOSK_TEST_POSTGRES_URL`) is filled in bulk with `generate_series`, not through the API:
//! 200 terminals at seven sites, the applications spread over three years, the seed catalog's
//! matters and their departments, every state, one event each and a 容缺 commitment on one in
//! ten. Their bodies are not real ones (no application is opened from them); a hundred more are
//! filed through the store as the gateway files them, and those are the pages opened. The
//! platform then serves over loopback HTTP, and a clerk of the busiest department (人社局) asks
//! for queue pages — the newest, by state, overdue, by matter, by site, and pages deep in the
//! list (`before=`) — and opens applications (each view audited, as in service),
//! `--requests` times each page. The schema is dropped at the end.
//!
//! Run: `scripts/test-postgres cargo bench -p kiosk-platform --bench workbench [--
//! --applications N --requests R]`. It prints a summary and, last, one JSON line on stdout. It
//! measures, it does not judge.

use std::time::Instant;

use anyhow::Context;
use kiosk_platform::console::hash_password;
use kiosk_platform::keys::KeyFile;
use kiosk_platform::store::{Intake, Role};
use kiosk_platform::{AppState, DbUrl, Store, router, seed};
use kiosk_protocol::{ApplicantInfo, ApplicationRequest, Language};
use kiosk_testkit::console::Browser;

/// The number of applications.
const DEFAULT_APPLICATIONS: usize = 1_000_000;
/// Requests of each page.
const DEFAULT_REQUESTS: usize = 1_000;
/// The bound on either page's p99.
const TARGET_MS: f64 = 200.0;
/// The department whose clerk asks (the one with the most matters at the terminals).
const DEPARTMENT: &str = "lyg-hrss";
/// Applications filed through the store, whose pages are opened.
const OPENED: usize = 100;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn number(name: &str, default: usize) -> anyhow::Result<usize> {
    arg(name).map_or(Ok(default), |v| {
        v.parse().with_context(|| format!("{name} {v}"))
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted
        .get(at.min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0)
}

/// p50, p99 and max of `times` (ms), as JSON.
fn summary(times: &mut [f64]) -> serde_json::Value {
    times.sort_by(f64::total_cmp);
    serde_json::json!({
        "samples": times.len(),
        "p50_ms": percentile(times, 0.5),
        "p99_ms": percentile(times, 0.99),
        "max_ms": times.last().copied().unwrap_or(0.0),
    })
}

/// The bulk fill: terminals, applications of `matters` (`(id, department)`), their events and
/// commitments.
fn bulk_sql(applications: usize, matters: &[(String, String)]) -> String {
    let values: Vec<String> = matters
        .iter()
        .enumerate()
        .map(|(n, (id, department))| format!("({n}, '{id}', '{department}')"))
        .collect();
    let count = matters.len();
    format!(
        "INSERT INTO terminals (id, hardware_serial, public_key, site, enrolled_at)
           SELECT 'TB' || g, 'SN-BENCH-' || g, repeat('0', 64),
                  (ARRAY['haizhou','lianyun','ganyu','donghai','guanyun','guannan','kaifa'])[1 + g % 7],
                  '2024-01-01T00:00:00+08:00'
             FROM generate_series(0, 199) g;
         INSERT INTO applications (application_no, idempotency_key, terminal_id, matter_id, body,
                                   accepted_at, state, applicant_key, holder_key, department,
                                   due_on, state_at)
           SELECT 'LB' || lpad(g::text, 14, '0'), 'bench-' || g, 'TB' || (g % 200), m.id,
                  'lyb-enc1:00',
                  to_char(timestamp '2024-01-01' + g * interval '90 seconds',
                          'YYYY-MM-DD\"T\"HH24:MI:SS\"+08:00\"'),
                  (ARRAY['approved','rejected','accepted','in_review','needs_materials'])[1 + g % 5],
                  'bench-a' || g, 'bench-h' || g, m.department,
                  to_char(timestamp '2024-01-01' + g * interval '90 seconds' + interval '14 days',
                          'YYYY-MM-DD'),
                  to_char(timestamp '2024-01-01' + g * interval '90 seconds',
                          'YYYY-MM-DD\"T\"HH24:MI:SS\"+08:00\"')
             FROM generate_series(1, {applications}) g
             JOIN (VALUES {values}) AS m(n, id, department) ON m.n = g % {count};
         INSERT INTO application_events (application_no, at, state, action, actor)
           SELECT application_no, accepted_at, 'accepted', 'accepted', 'platform' FROM applications;
         INSERT INTO commitments (application_no, material_index, due_on)
           SELECT application_no, 1, due_on FROM applications WHERE id % 10 = 0;
         ANALYZE terminals; ANALYZE applications; ANALYZE application_events; ANALYZE commitments;",
        values = values.join(", ")
    )
}

/// Files `OPENED` applications of `matter` through the store; their numbers.
async fn file_opened(store: &Store, matter: &str) -> anyhow::Result<Vec<String>> {
    let mut numbers = Vec::with_capacity(OPENED);
    for n in 0..OPENED {
        let request = ApplicationRequest {
            terminal_id: "TB1".into(),
            matter_id: matter.into(),
            applicant: ApplicantInfo {
                name: "王小明".into(),
                id_number: format!("3201021990010{n:05}"),
                document_kind: "resident".into(),
                phone: Some("13812345678".into()),
            },
            language: Language::Zh,
            committed_missing_materials: vec![],
            catalog_version: None,
            answers: Default::default(),
        };
        let intake = Intake {
            department: DEPARTMENT.into(),
            due_on: "2099-01-01".into(),
            commitments: vec![],
        };
        let receipt = store
            .submit_application(
                &format!("bench-opened-{n}"),
                &request,
                &intake,
                "http://bench",
            )
            .await?;
        numbers.push(receipt.application_no);
    }
    Ok(numbers)
}

/// A fresh schema in `base`, and the URL that uses it.
async fn fresh_schema(base: &str) -> anyhow::Result<(tokio_postgres::Client, String, String)> {
    let (admin, connection) = tokio_postgres::connect(base, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let schema = format!("bench_workbench_{}", std::process::id());
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await?;
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    Ok((admin, schema, url))
}

/// `requests` GETs, going round `paths`; the times in ms, and the slowest path's p99 with
/// the path.
async fn time_pages(
    clerk: &Browser,
    paths: &[String],
    requests: usize,
) -> anyhow::Result<(Vec<f64>, (f64, String))> {
    let mut times = Vec::with_capacity(requests);
    let mut by_path: Vec<Vec<f64>> = vec![Vec::new(); paths.len()];
    for (n, path) in paths.iter().enumerate().cycle().take(requests) {
        let started = Instant::now();
        let (status, _) = clerk.get(path).await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        anyhow::ensure!(status.is_success(), "{path}: {status}");
        times.push(ms);
        by_path[n].push(ms);
    }
    let slowest = by_path
        .iter_mut()
        .zip(paths)
        .map(|(times, path)| {
            times.sort_by(f64::total_cmp);
            let p99 = percentile(times, 0.99);
            eprintln!(
                "  {path}: p50 {:.1} ms, p99 {p99:.1} ms",
                percentile(times, 0.5)
            );
            (p99, path.clone())
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap_or_default();
    Ok((times, slowest))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let base = arg("--postgres-url")
        .or_else(|| std::env::var("KIOSK_TEST_POSTGRES_URL").ok())
        .filter(|u| !u.trim().is_empty())
        .context("needs PostgreSQL: --postgres-url URL, or run under scripts/test-postgres")?;
    let applications = number("--applications", DEFAULT_APPLICATIONS)?.max(OPENED);
    let requests = number("--requests", DEFAULT_REQUESTS)?.max(1);
    let (admin, schema, url) = fresh_schema(&base).await?;

    let store = Store::open(&url.parse::<DbUrl>()?).await?;
    let keys = tempfile::tempdir()?;
    let key_file = keys.path().join("platform.keys");
    KeyFile::create(&key_file, None)?;
    store
        .use_keys(KeyFile::load(&key_file)?.into_keys())
        .await?;
    let catalog = seed::seed_catalog()?;
    store.publish_catalog(&catalog).await?;
    let matters: Vec<(String, String)> = catalog
        .matters
        .iter()
        .filter(|m| m.kiosk_application)
        .map(|m| (m.id.clone(), m.department.clone()))
        .collect();
    let matter = matters
        .iter()
        .find(|(_, d)| d == DEPARTMENT)
        .map(|(id, _)| id.clone())
        .context("the seed catalog has no matter of the department")?;

    let started = Instant::now();
    let (bulk, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    bulk.batch_execute(&bulk_sql(applications, &matters))
        .await?;
    let fill_secs = started.elapsed().as_secs_f64();
    eprintln!("filled {applications} applications in {fill_secs:.1} s");
    let opened = file_opened(&store, &matter).await?;

    store
        .put_operator(
            "clerk",
            &hash_password("bench-clerk-password-1")?,
            Role::Clerk,
        )
        .await?;
    store
        .set_editor_departments("clerk", &[DEPARTMENT.to_owned()])
        .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let web = format!("http://{}", listener.local_addr()?);
    let app = router(AppState::new(store.clone(), &web));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let clerk = Browser::login(&web, "clerk", "bench-clerk-password-1")
        .await
        .map_err(|s| anyhow::anyhow!("login refused: {s}"))?;

    let ids: Vec<i64> = bulk
        .query(
            "SELECT id FROM applications WHERE department = $1 ORDER BY random() LIMIT 20",
            &[&DEPARTMENT],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut queue_paths: Vec<String> = [
        "",
        "?state=in_review",
        "?overdue=1",
        "?state=needs_materials&overdue=1",
        "?site=ganyu",
        "?from=2025-03-01&until=2025-03-31",
    ]
    .iter()
    .map(|q| format!("/console/applications{q}"))
    .collect();
    queue_paths.push(format!("/console/applications?matter={matter}"));
    queue_paths.extend(
        ids.iter()
            .map(|id| format!("/console/applications?before={id}")),
    );
    let page_paths: Vec<String> = opened
        .iter()
        .map(|no| format!("/console/applications/{no}"))
        .collect();

    // Warm the connections and caches once.
    time_pages(&clerk, &queue_paths, queue_paths.len()).await?;
    let (mut queue, slowest_queue) = time_pages(&clerk, &queue_paths, requests).await?;
    let (mut page, _) = time_pages(&clerk, &page_paths, requests).await?;
    let mut queue = summary(&mut queue);
    queue["slowest"] = serde_json::json!({"path": slowest_queue.1, "p99_ms": slowest_queue.0});
    let page = summary(&mut page);
    eprintln!("queue page: {queue}");
    eprintln!("application page: {page}");

    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await?;
    println!(
        "{}",
        serde_json::json!({
            "applications": applications,
            "department": DEPARTMENT,
            "fill_seconds": fill_secs,
            "queue": queue,
            "application": page,
            "target_ms": TARGET_MS,
        })
    );
    Ok(())
}
