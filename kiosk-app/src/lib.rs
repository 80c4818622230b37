//! The 连易办 kiosk runtime.
//!
//! [`session`] is the pure citizen-session state machine; everything else in this crate is the
//! edge that feeds it events and carries out its commands: [`runtime`] drives it, [`display`]
//! and [`window`] show it, [`card_reader`], [`printer_monitor`], [`scanner_monitor`],
//! [`camera_monitor`] and [`cabinet`] supervise the devices ([`hotplug`] nudges them),
//! [`receipt`] composes what is printed, and [`platform_link`] talks to the platform;
//! [`device_cli`] is the technician's `kiosk device …` access to one device at a time. The
//! demo that stages it all on simulated devices is a program of its own, `kiosk-demo`.

pub mod cabinet;
pub mod camera_desk;
pub mod camera_monitor;
pub mod card_reader;
pub mod certificate_print;
pub mod config;
pub mod device_cli;
pub mod display;
pub mod health;
pub mod heartbeat;
pub mod hotplug;
pub mod identity;
pub mod maintenance;
pub mod memory;
pub mod outbox;
pub mod platform_link;
pub mod printer_monitor;
pub mod provision;
pub mod receipt;
pub mod runtime;
pub mod scanner_monitor;
pub mod selftest;
pub mod service_manager;
pub mod session;
pub mod setup;
pub mod update;
pub mod voice;
pub mod window;

/// Seconds since the Unix epoch by the terminal's clock (time-synced on the appliance).
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Replaces `path` with `bytes` through a temporary file, fsync, rename and fsync of the
/// folder, so a power cut leaves the old content or the new, never half of either, and the new
/// one stays once this returns.
pub(crate) fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, bytes)?;
    std::fs::File::open(&temporary)?.sync_all()?;
    std::fs::rename(&temporary, path)?;
    if let Some(dir) = path.parent() {
        sync_folder(dir);
    }
    Ok(())
}

/// Flushes a folder's entries (a rename is durable only once its folder is).
pub(crate) fn sync_folder(folder: &std::path::Path) {
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
}
