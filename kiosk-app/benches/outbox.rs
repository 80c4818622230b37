//! How fast the outbox takes applications durably and delivers them, against the floor of
//! each: side by side in one run, on the same disk and the same platform process.
//!
//! - **Enqueue**: `Outbox::keep_application` of N applications (JSON, sealed to the platform's
//!   key, one SQLite transaction with `synchronous=FULL` each, as the kiosk keeps them) against
//!   the plainest durable write of the same thing: the application encoded and sealed the same
//!   way, appended to a file and `fdatasync`ed, one per item. The ratio is what the outbox's
//!   bookkeeping (the table, the index, SQLite's WAL) costs over one flushed append.
//! - **Drain**: `deliver_due` rounds until the outbox is empty, against a real
//!   `kiosk-platform serve` on SQLite (its own process, as in the field), against sending the
//!   same number of other sealed applications straight with `PlatformLink::submit_raw` — the
//!   same signed requests and the same platform work, without the outbox's reads and its
//!   flushed delete of each acknowledged item.
//!
//! The two sides alternate in rounds, so that a change in the machine's load hits both alike.
//! Run: `cargo build --release -p kiosk-platform --bin kiosk-platform` (the platform is found
//! next to this benchmark's folder), then
//! `cargo bench -p kiosk-app --bench outbox [-- --items N --rounds R]`. It prints a summary and,
//! last, one JSON line on stdout. It measures, it does not judge.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};

use kiosk_app::uplink::outbox::{Outbox, deliver_due};
use kiosk_app::uplink::platform_link::PlatformLink;
use kiosk_protocol::ApplicationRequest;
use kiosk_protocol::sealing::{SEALED_APPLICATION_CONTENT_TYPE, parse_sealing_key, seal};
use kiosk_testkit::PlatformPeer;

/// Applications per side unless `--items N` says otherwise.
const DEFAULT_ITEMS: usize = 400;
/// Rounds the items are split into, alternating the two sides.
const DEFAULT_ROUNDS: usize = 4;
/// A matter of the platform's built-in catalog that terminals apply for.
const MATTER: &str = "lyg-hrss-0101";

struct Options {
    items: usize,
    rounds: usize,
    dir: Option<PathBuf>,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        items: DEFAULT_ITEMS,
        rounds: DEFAULT_ROUNDS,
        dir: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| {
            args.next()
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&n| n > 0)
                .ok_or_else(|| anyhow!("{name} needs a positive number"))
        };
        match arg.as_str() {
            "--items" => options.items = number("--items")?,
            "--rounds" => options.rounds = number("--rounds")?,
            "--dir" => {
                options.dir = Some(
                    args.next()
                        .map(PathBuf::from)
                        .context("--dir needs a folder")?,
                );
            }
            // Cargo's own `--bench`, and anything else.
            _ => {}
        }
    }
    options.rounds = options.rounds.min(options.items);
    Ok(options)
}

fn application(terminal_id: &str, i: usize) -> ApplicationRequest {
    serde_json::from_value(serde_json::json!({
        "terminal_id": terminal_id,
        "matter_id": MATTER,
        "applicant": {
            "name": "性能测试",
            "id_number": format!("3207061990{:08}", i % 100_000_000),
            "document_kind": "resident"
        },
        "language": "zh"
    }))
    .expect("an application")
}

/// Per-item latencies of one side, and the wall time they took.
#[derive(Default)]
struct Side {
    latencies: Vec<Duration>,
    wall: Duration,
}

impl Side {
    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return f64::NAN;
        }
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[index.min(sorted.len() - 1)].as_secs_f64() * 1e3
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "items": self.latencies.len(),
            "seconds": self.wall.as_secs_f64(),
            "per_second": self.per_second(),
            "p50_ms": self.percentile_ms(0.50),
            "p99_ms": self.percentile_ms(0.99),
        })
    }
}

/// The terminal under test: enrolled on its own platform, its outbox in `dir`.
struct Rig {
    _platform: PlatformPeer,
    link: PlatformLink,
    terminal_id: String,
    sealing_key: String,
    tokio: tokio::runtime::Runtime,
}

fn rig(dir: &Path) -> anyhow::Result<Rig> {
    let platform = PlatformPeer::start(&dir.join("platform.db")).context("platform")?;
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let token = platform.enrollment("bench").context("enrollment token")?;
    let enrolled = tokio
        .block_on(kiosk_app::enrollment::provision(
            &token,
            &dir.join("terminal"),
            "SN-BENCH-OUTBOX".into(),
            Duration::from_secs(10),
            false,
        ))
        .context("enrollment")?;
    let sealing_key = enrolled
        .link
        .sealing_key()
        .context("the platform gave no sealing key")?;
    Ok(Rig {
        _platform: platform,
        terminal_id: enrolled.identity.terminal_id.clone(),
        link: enrolled.link,
        sealing_key,
        tokio,
    })
}

fn run() -> anyhow::Result<()> {
    let options = options()?;
    // On the disk the target folder is on (not a tmpfs): flushes must reach a real device.
    let parent = options
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    std::fs::create_dir_all(&parent).with_context(|| parent.display().to_string())?;
    let dir = tempfile::Builder::new()
        .prefix("bench-outbox-")
        .tempdir_in(&parent)?;
    let rig = rig(dir.path())?;
    let platform_key = parse_sealing_key(&rig.sealing_key)?;
    let capacity = u32::try_from(options.items + 10).unwrap_or(u32::MAX);
    let outbox = Outbox::open(&dir.path().join("terminal/outbox.db"), capacity)?;
    let mut log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("baseline.log"))?;

    let (mut enqueue, mut append) = (Side::default(), Side::default());
    let (mut drain, mut direct) = (Side::default(), Side::default());
    let per_round = options.items.div_ceil(options.rounds);
    let mut next = 0usize;
    let mut delivered = 0u32;
    for round in 0..options.rounds {
        let range = next..(next + per_round).min(options.items);
        next = range.end;

        // Enqueue: the outbox, then the flushed append.
        let start = Instant::now();
        for i in range.clone() {
            let request = application(&rig.terminal_id, i);
            let t = Instant::now();
            outbox.keep_application(
                &format!("{i:012}-outbox"),
                &request,
                Some(&rig.sealing_key),
            )?;
            enqueue.latencies.push(t.elapsed());
        }
        enqueue.wall += start.elapsed();
        let start = Instant::now();
        for i in range.clone() {
            let request = application(&rig.terminal_id, i);
            let t = Instant::now();
            let plain = zeroize::Zeroizing::new(serde_json::to_vec(&request)?);
            let sealed = seal(&platform_key, &plain)?;
            log.write_all(&(sealed.len() as u32).to_le_bytes())
                .and_then(|()| log.write_all(&sealed))
                .and_then(|()| log.sync_data())
                .context("baseline append")?;
            append.latencies.push(t.elapsed());
        }
        append.wall += start.elapsed();

        // Drain: the outbox's delivery rounds, then the same number of bare submissions.
        let start = Instant::now();
        let mut last = start;
        let mut round_delivered = 0u32;
        let expected = u32::try_from(range.len()).unwrap_or(u32::MAX);
        while round_delivered < expected {
            let done = rig.tokio.block_on(deliver_due(&outbox, &rig.link, |_, _| {
                let now = Instant::now();
                drain.latencies.push(now - last);
                last = now;
            }))?;
            if let Some(why) = done.stopped_by {
                bail!("delivery stopped: {why}");
            }
            if done.refused > 0 || done.delivered == 0 {
                bail!("delivery round {round}: {done:?}");
            }
            round_delivered += done.delivered;
        }
        drain.wall += start.elapsed();
        delivered += round_delivered;
        let bodies = range
            .clone()
            .map(|i| {
                let plain = serde_json::to_vec(&application(&rig.terminal_id, i))?;
                Ok(seal(&platform_key, &plain)?)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let start = Instant::now();
        for (i, body) in range.zip(bodies) {
            let t = Instant::now();
            rig.tokio
                .block_on(rig.link.submit_raw(
                    &format!("{i:012}-direct"),
                    SEALED_APPLICATION_CONTENT_TYPE,
                    body,
                ))
                .context("direct submission")?;
            direct.latencies.push(t.elapsed());
        }
        direct.wall += start.elapsed();
    }
    let left = outbox.status()?.depth;
    if left != 0 {
        bail!("{left} items left in the outbox after draining");
    }

    println!(
        "outbox: {} applications per side in {} rounds, alternating; outbox and platform on SQLite in {}",
        options.items,
        options.rounds,
        parent.display()
    );
    let line = |name: &str, side: &Side| {
        println!(
            "  {name:<40} {:>9.1} items/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
            side.per_second(),
            side.percentile_ms(0.50),
            side.percentile_ms(0.99)
        );
    };
    line("enqueue (outbox, synchronous=FULL)", &enqueue);
    line("baseline: sealed append + fdatasync", &append);
    line("drain (deliver_due to kiosk-platform)", &drain);
    line("baseline: submit_raw straight", &direct);
    let json = serde_json::json!({
        "bench": "outbox",
        "items": options.items,
        "rounds": options.rounds,
        "delivered": delivered,
        "enqueue": enqueue.summary(),
        "enqueue_baseline": append.summary(),
        "drain": drain.summary(),
        "drain_baseline": direct.summary(),
    });
    println!("{json}");
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("outbox bench: {e:#}");
        std::process::exit(1);
    }
}
