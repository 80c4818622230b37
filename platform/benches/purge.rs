//! How long the retention purge takes over many finished applications (the case:
//! 100 000 completed applications, on PostgreSQL with a million in the table).
//!
//! Seeds a fresh database with `--applications N` applications finished long ago, each with
//! one uploaded material (a chunk of `--chunk-bytes`), three events with details and the card
//! keys, plus `--open M` applications still open (which the purge must pass over), then times
//! one `purge_finished` run at the default retention. SQLite in a temporary folder, or
//! PostgreSQL with `--postgres URL` (an empty database: the bench creates its tables).
//! Run: `cargo bench -p kiosk-platform --bench purge [-- --applications N --open M
//! --postgres URL]`. It prints a summary and, last, one JSON line on stdout. It measures, it
//! does not judge.

use std::time::Instant;

use kiosk_platform::store::RETENTION_DAYS;
use kiosk_platform::{DbUrl, Store};

/// The purge size.
const DEFAULT_APPLICATIONS: u64 = 100_000;
/// Open applications beside them.
const DEFAULT_OPEN: u64 = 10_000;
/// Bytes of each material's one chunk.
const DEFAULT_CHUNK_BYTES: u64 = 1_024;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1).cloned()
}

fn number(name: &str, default: u64) -> anyhow::Result<u64> {
    Ok(match arg(name) {
        Some(value) => value.parse()?,
        None => default,
    })
}

/// The statements that seed `finished` old applications and `open` ones: numbers come from a
/// recursive common table expression, which both engines run; `blob` is the engine's
/// expression for a chunk of bytes.
fn seed_statements(finished: u64, open: u64, blob: &str) -> Vec<String> {
    let numbers = |from: u64, count: u64| {
        format!(
            "WITH RECURSIVE n(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM n WHERE i < {})",
            from + count - 1
        )
    };
    let body = format!("lyb-enc1:{}", "5a".repeat(400));
    let old = numbers(1, finished);
    let mut statements = vec![
        format!(
            "{old} INSERT INTO applications (application_no, idempotency_key, terminal_id, matter_id,
                 body, accepted_at, state, department, due_on, state_at, finished_at, holder_key,
                 applicant_key)
             SELECT 'LYB' || i, 'bench-key-' || i, 'T-BENCH', 'lyg-health-0701', '{body}',
                 '2025-01-02T09:00:00+08:00', 'approved', 'lyg-health', '2025-01-20',
                 '2025-01-10T09:00:00+08:00', '2025-01-10T09:00:00+08:00', 'holder-' || i,
                 'applicant-' || i FROM n"
        ),
        format!(
            "{old} INSERT INTO uploads (id, terminal_id, application_no, material_index, content_type,
                 size, sha256, chunk_size, created_at, completed_at)
             SELECT 'U' || i, 'T-BENCH', 'LYB' || i, 0, 'image/jpeg', 1024, 'x', 1024,
                 '2025-01-02T09:00:00+08:00', '2025-01-02T09:00:00+08:00' FROM n"
        ),
        format!(
            "{old} INSERT INTO upload_chunks (upload_id, n, data, encrypted) SELECT 'U' || i, 0, {blob}, TRUE FROM n"
        ),
    ];
    for (action, state) in [
        ("accepted", "accepted"),
        ("review_started", "in_review"),
        ("completed", "approved"),
    ] {
        statements.push(format!(
            "{old} INSERT INTO application_events (application_no, at, state, action, actor, detail)
             SELECT 'LYB' || i, '2025-01-10T09:00:00+08:00', '{state}', '{action}', 'clerk:bench',
                 'lyb-enc1:00' FROM n"
        ));
    }
    if open > 0 {
        statements.push(format!(
            "{} INSERT INTO applications (application_no, idempotency_key, terminal_id, matter_id,
                 body, accepted_at, state, department, due_on, state_at)
             SELECT 'LYB' || i, 'bench-key-' || i, 'T-BENCH', 'lyg-health-0701', '{body}',
                 '2026-01-02T09:00:00+08:00', 'in_review', 'lyg-health', '2026-01-20',
                 '2026-01-02T09:00:00+08:00' FROM n",
            numbers(finished + 1, open)
        ));
    }
    statements
}

async fn seed(
    url: &DbUrl,
    postgres: Option<&str>,
    finished: u64,
    open: u64,
    chunk: u64,
) -> anyhow::Result<()> {
    match (url, postgres) {
        (DbUrl::Sqlite(path), _) => {
            let mut conn = rusqlite::Connection::open(path)?;
            let tx = conn.transaction()?;
            for sql in seed_statements(finished, open, &format!("randomblob({chunk})")) {
                tx.execute_batch(&sql)?;
            }
            tx.commit()?;
        }
        (_, Some(raw)) => {
            let (client, connection) = tokio_postgres::connect(raw, tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            let blob = format!("decode(repeat('ab', {chunk}), 'hex')");
            for sql in seed_statements(finished, open, &blob) {
                client.batch_execute(&sql).await?;
            }
            client.batch_execute("ANALYZE").await?;
        }
        _ => anyhow::bail!("no database to seed"),
    }
    Ok(())
}

/// A schema of its own in the database `base` names: the URL that uses it, and its name.
async fn own_schema(base: &str) -> anyhow::Result<(String, String)> {
    let schema = format!("bench_purge_{}", std::process::id());
    let (client, connection) = tokio_postgres::connect(base, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .await?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok((
        format!("{base}{sep}options=-c%20search_path%3D{schema}"),
        schema,
    ))
}

async fn drop_schema(base: &str, schema: &str) -> anyhow::Result<()> {
    let (client, connection) = tokio_postgres::connect(base, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let finished = number("--applications", DEFAULT_APPLICATIONS)?.max(1);
    let open = number("--open", DEFAULT_OPEN)?;
    let chunk = number("--chunk-bytes", DEFAULT_CHUNK_BYTES)?.max(1);
    let base = arg("--postgres");
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let schema = match &base {
            Some(base) => Some(own_schema(base).await?),
            None => None,
        };
        let postgres = schema.as_ref().map(|(url, _)| url.clone());
        let url: DbUrl = match &postgres {
            Some(raw) => raw.parse()?,
            None => DbUrl::Sqlite(dir.path().join("purge.db")),
        };
        let measured = measure(&url, postgres.as_deref(), (finished, open, chunk)).await;
        if let (Some(base), Some((_, name))) = (&base, &schema) {
            drop_schema(base, name).await?;
        }
        measured
    })
}

/// Seeds, purges, and prints what it took.
async fn measure(
    url: &DbUrl,
    postgres: Option<&str>,
    (finished, open, chunk): (u64, u64, u64),
) -> anyhow::Result<()> {
    {
        let store = Store::open(url).await?;
        let started = Instant::now();
        seed(url, postgres, finished, open, chunk).await?;
        let seeded = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let run = store.purge_finished("bench", RETENTION_DAYS).await?;
        let seconds = started.elapsed().as_secs_f64();
        anyhow::ensure!(
            run.applications == finished,
            "purged {} of {finished}",
            run.applications
        );
        let again = Instant::now();
        let second = store.purge_finished("bench", RETENTION_DAYS).await?;
        let idle = again.elapsed().as_secs_f64();
        let engine = store.engine();
        println!(
            "{engine}: purged {finished} finished applications (of {}) in {seconds:.2} s \
             ({:.0}/s); seeding took {seeded:.1} s; a run with nothing to purge {:.3} s",
            finished + open,
            finished as f64 / seconds,
            idle
        );
        println!(
            "{}",
            serde_json::json!({
                "engine": engine,
                "applications": finished,
                "open": open,
                "chunk_bytes": chunk,
                "seconds": seconds,
                "per_second": finished as f64 / seconds,
                "idle_seconds": idle,
                "purged_again": second.applications,
            })
        );
        Ok(())
    }
}
