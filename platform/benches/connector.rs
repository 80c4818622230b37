//! How many deliveries a second the courier sends to a department's system on this machine:
//! applications accepted with a connector in place, then the courier started and timed until
//! every delivery is recorded as delivered. The receiver is a small local HTTP server that
//! checks each signature, as a department's system would; the store is a fresh SQLite file,
//! or PostgreSQL with `--postgres-url URL` (an empty database).
//!
//! Run: `cargo bench -p kiosk-platform --bench connector [-- --applications N
//! --concurrency C --postgres-url URL]`. It prints a summary and, last, one JSON line on
//! stdout. It measures, it does not judge.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kiosk_platform::connector::{CourierSettings, signing, spawn_courier};
use kiosk_platform::store::Intake;
use kiosk_platform::{DbUrl, Store, seed};

/// Applications delivered by default.
const DEFAULT_APPLICATIONS: usize = 2_000;

struct Options {
    applications: usize,
    concurrency: usize,
    postgres: Option<String>,
}

fn options() -> Options {
    let mut options = Options {
        applications: DEFAULT_APPLICATIONS,
        concurrency: CourierSettings::default().per_department,
        postgres: None,
    };
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        match pair[0].as_str() {
            "--applications" => {
                options.applications = pair[1].parse().unwrap_or(options.applications)
            }
            "--concurrency" => options.concurrency = pair[1].parse().unwrap_or(options.concurrency),
            "--postgres-url" => options.postgres = Some(pair[1].clone()),
            _ => {}
        }
    }
    options
}

fn main() -> anyhow::Result<()> {
    let options = options();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(options))
}

/// A receiver checking every signature, counting what it took.
async fn receiver(secret: String, taken: Arc<AtomicU64>) -> anyhow::Result<u16> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let app = axum::Router::new().route(
        "/intake",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: bytes::Bytes| {
            let (secret, taken) = (secret.clone(), taken.clone());
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let timestamp = header(signing::TIMESTAMP_HEADER).parse().unwrap_or(0);
                if signing::verify(
                    &secret,
                    timestamp,
                    &body,
                    &header(signing::SIGNATURE_HEADER),
                ) {
                    taken.fetch_add(1, Ordering::Relaxed);
                    axum::http::StatusCode::OK
                } else {
                    axum::http::StatusCode::UNAUTHORIZED
                }
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(port)
}

async fn run(options: Options) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let key_file = dir.path().join("platform.keys");
    kiosk_platform::keys::KeyFile::create(&key_file, None)?;
    let url: DbUrl = match &options.postgres {
        Some(url) => url.parse()?,
        None => DbUrl::Sqlite(dir.path().join("platform.db")),
    };
    let store = Store::open(&url).await?;
    store
        .use_keys(kiosk_platform::keys::KeyFile::load(&key_file)?.into_keys())
        .await?;
    store.publish_catalog(&seed::seed_catalog()?).await?;

    let taken = Arc::new(AtomicU64::new(0));
    let secrets = store
        .add_connector("bench", "lyg-health", "http://127.0.0.1:1/intake")
        .await?;
    let port = receiver(secrets.signing_secret.to_string(), taken.clone()).await?;
    // The receiver's port is known only now: the connector points at it.
    store
        .set_connector_url(
            "bench",
            "lyg-health",
            &format!("http://127.0.0.1:{port}/intake"),
        )
        .await?;

    let accepting = Instant::now();
    for i in 0..options.applications {
        let request: kiosk_protocol::ApplicationRequest = serde_json::from_value(
            serde_json::json!({
                "terminal_id": "T-BENCH",
                "matter_id": "lyg-health-0701",
                "applicant": {"name": "张三", "id_number": "320706199001010133", "document_kind": "resident"},
                "language": "zh"
            }),
        )?;
        let intake = Intake {
            department: "lyg-health".into(),
            due_on: "2099-01-01".into(),
            commitments: Vec::new(),
        };
        store
            .submit_application(
                &format!("bench-{i:08}-key"),
                &request,
                &intake,
                "http://127.0.0.1",
            )
            .await?;
    }
    let accept_secs = accepting.elapsed().as_secs_f64();

    let started = Instant::now();
    let _courier = spawn_courier(
        store.clone(),
        CourierSettings {
            settle: Duration::ZERO,
            poll: Duration::from_millis(20),
            per_department: options.concurrency,
            ..CourierSettings::default()
        },
    )?;
    let goal = options.applications as i64;
    loop {
        let delivered = store.connectors().await?.first().map_or(0, |c| c.delivered);
        if delivered >= goal {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "only {delivered} of {goal} delivered in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let per_sec = options.applications as f64 / secs;
    eprintln!(
        "{} deliveries to one department ({} at once) on {} in {secs:.2} s: {per_sec:.0}/s \
         (receiver took {}; accepting them took {accept_secs:.2} s)",
        options.applications,
        options.concurrency,
        store.engine(),
        taken.load(Ordering::Relaxed)
    );
    println!(
        "{}",
        serde_json::json!({
            "deliveries": options.applications,
            "concurrency": options.concurrency,
            "engine": store.engine(),
            "seconds": secs,
            "per_sec": per_sec,
            "received": taken.load(Ordering::Relaxed),
        })
    );
    Ok(())
}
