//! Process start to the first frame of the home screen, for `bench/ui-vs-chromium`.
//!
//! Installs the headless software renderer at 1080×1920, builds the kiosk window, fills the home
//! screen, renders it once and writes it as a PNG, then prints one line of `key=value` pairs:
//! `frame_unix_ns` (wall clock when the frame was in memory, to compare with the moment the
//! benchmark started the process), `since_main_ms` (from `main` to the frame),
//! `png_written_ms` (from `main` to the PNG on disk), `since_exec_ms` (from the kernel's start
//! time of the process to the frame, 10 ms resolution), `peak_rss_at_frame_kib` (VmHWM with the
//! home screen drawn) and `peak_rss_kib` (VmHWM after encoding the PNG as well).
//!
//! ```text
//! cargo run --release -p kiosk-ui --no-default-features --example first_frame -- home.png
//! ```

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use kiosk_ui::headless::Headless;
use kiosk_ui::{Catalog, Kiosk, KioskWindow, Page, ThemeItem};
use slint::{ComponentHandle, ModelRc, VecModel};

/// A field of /proc/self/status, in kB.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Milliseconds since the kernel started this process (clock ticks of /proc/self/stat).
fn since_exec_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces: the fields after it follow the last ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    // starttime is field 22 of the line, the 20th after the name.
    let start_ticks: f64 = after.split_whitespace().nth(19)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    // Linux reports starttime in USER_HZ, 100 on every architecture the kiosk runs on.
    Some((uptime - start_ticks / 100.0) * 1000.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("kiosk-first-frame.png"));

    let display = Headless::install(1080, 1920)?;
    let window = KioskWindow::new()?;
    window.show()?;
    let kiosk = window.global::<Kiosk>();
    kiosk.set_terminal_id("LYG-HZ-0001".into());
    let themes: Vec<ThemeItem> = [
        ("si", "社会保险"),
        ("mi", "医疗保险"),
        ("hf", "住房公积金"),
        ("hh", "户籍办理"),
        ("ed", "教育服务"),
        ("tx", "税务服务"),
    ]
    .iter()
    .map(|(id, name)| ThemeItem {
        id: (*id).into(),
        name: (*name).into(),
    })
    .collect();
    window
        .global::<Catalog>()
        .set_themes(ModelRc::new(VecModel::from(themes)));
    kiosk.set_page(Page::Home);
    kiosk_ui::select_language(false);
    let pixels = display.render();
    let frame = SystemTime::now().duration_since(UNIX_EPOCH)?;
    let frame_ms = started.elapsed().as_secs_f64() * 1000.0;
    let exec_ms = since_exec_ms();
    let rss_at_frame = status_kib("VmHWM:");
    let (width, height) = display.size();
    kiosk_ui::headless::write_png(&out, width, height, &pixels)?;

    println!(
        "frame_unix_ns={} since_main_ms={frame_ms:.1} png_written_ms={:.1} since_exec_ms={} \
         peak_rss_at_frame_kib={} peak_rss_kib={}",
        frame.as_nanos(),
        started.elapsed().as_secs_f64() * 1000.0,
        exec_ms.map_or_else(|| "unknown".into(), |ms| format!("{ms:.0}")),
        rss_at_frame.map_or_else(|| "unknown".into(), |k| k.to_string()),
        status_kib("VmHWM:").map_or_else(|| "unknown".into(), |k| k.to_string()),
    );
    Ok(())
}
