//! `kiosk-demo`: the kiosk on simulated devices against a real platform process.
//!
//! With `--headless DIR`, a scripted citizen (a script for `kiosk drive`, in `demo/scripts/`)
//! walks the whole journey and every screen is written to DIR as a PNG; otherwise a window opens and a person drives it, while the
//! simulated citizen only places the ID card when the kiosk asks for it.
//!
//! A program of its own, built beside `kiosk` but never shipped with it: the demo starts child
//! processes (the platform, `kiosk-sim`) through the test kit, which a terminal has no use for.

mod citizen;
mod stage;
mod window;

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::Parser;

/// Run the 连易办 kiosk on simulated devices against a real platform process.
#[derive(Parser)]
#[command(name = "kiosk-demo", version)]
pub struct DemoOptions {
    /// Walk a scripted citizen through every screen and write one PNG per screen here,
    /// instead of opening a window.
    #[arg(long, value_name = "DIR")]
    pub headless: Option<PathBuf>,
    /// Screen size: 1080x1920 (portrait) or 1920x1080 (landscape).
    #[arg(long, default_value = "1080x1920", value_parser = parse_size)]
    pub size: (u32, u32),
    /// Use the platform at this URL instead of starting one.
    #[arg(long, value_name = "URL")]
    pub platform: Option<String>,
    /// Enroll the demo terminal with this payload from `kiosk-platform token create`
    /// (needed with --platform; the demo makes its own for the platform it starts).
    #[arg(long, value_name = "PAYLOAD")]
    pub enrollment: Option<String>,
    /// Submit the application under this idempotency key (to show that a repeat stores one).
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
    /// With --headless: run this `kiosk drive` script (JSON lines) instead of the demo's
    /// citizen; its `screenshot` steps write into the --headless folder.
    #[arg(long, value_name = "FILE", requires = "headless")]
    pub script: Option<PathBuf>,
    /// Which simulated ID card the citizen places (index in the simulator's deck).
    #[arg(long, default_value_t = 0)]
    pub card: usize,
    /// Keep the demo terminal's identity and outbox here (reused across runs when no
    /// --enrollment is given); by default beside the simulated devices.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// A `--size` that is not a usable screen size.
#[derive(Debug, thiserror::Error)]
enum BadSize {
    #[error("`{0}` is not WIDTHxHEIGHT, e.g. 1080x1920")]
    Form(String),
    #[error("`{0}`: width and height must be 320 to 4096 pixels")]
    Range(String),
}

fn parse_size(s: &str) -> Result<(u32, u32), BadSize> {
    let (w, h) = s
        .split_once('x')
        .ok_or_else(|| BadSize::Form(s.to_owned()))?;
    let parse = |v: &str| v.parse::<u32>().ok().filter(|n| (320..=4096).contains(n));
    match (parse(w), parse(h)) {
        (Some(w), Some(h)) => Ok((w, h)),
        _ => Err(BadSize::Range(s.to_owned())),
    }
}

fn main() {
    kiosk_app::runtime::memory::limit_malloc_arenas();
    let options = DemoOptions::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Err(e) = run(options) {
        eprintln!("kiosk-demo: {e:#}");
        std::process::exit(1);
    }
}

/// Runs the demo.
fn run(options: DemoOptions) -> anyhow::Result<()> {
    if let Some(key) = &options.idempotency_key {
        kiosk_protocol::validate_idempotency_key(key)
            .map_err(|e| anyhow!("--idempotency-key: {}", e.message))?;
    }
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match &options.headless {
        Some(dir) => citizen::headless(&options, dir, &tokio),
        None => window::windowed(&options, &tokio),
    }
}
