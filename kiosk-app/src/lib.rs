//! The 连易办 kiosk runtime: the `kiosk` terminal binary's library.
//!
//! One rule shapes the crate: [`session`] is the pure citizen-session state machine (events
//! in, a view and commands out, no device, socket, file or clock) and imports nothing else of
//! this crate; every other room is an edge that feeds it events or carries out its commands.
//!
//! Where a change belongs:
//!
//! | room | what it holds | change it when… |
//! | --- | --- | --- |
//! | [`session`] | screens, journeys, timeouts, the PIN pad and maintenance panel, the types the edges exchange with it | a citizen or technician should see or be able to do something new |
//! | [`runtime`] | the session driver ([`runtime::start`]), one method per session command, the heartbeat and remote commands, systemd's protocol | a command must be carried out differently, or a new background task runs beside the session |
//! | [`devices`] | one supervisor per device (card reader, printer, scanner, camera, cabinet GPIO), hotplug, device health, [`devices::DeviceConfig`] and [`devices::spawn_all`] | a device is driven, probed or reported differently |
//! | [`printing`] | the receipt, queue ticket and test page, certificates from PDF, putting them on paper | something printed looks or prints differently |
//! | [`uplink`] | the terminal's identity, the signed platform link, the outbox and its sender | how the terminal talks to the platform, or what it keeps until the platform has it |
//! | [`enrollment`] | a new terminal becoming an enrolled one (`kiosk provision`, the setup screen) | enrollment |
//! | [`update`] | signed releases, slots, trials, RAUC, `kiosk update` | software updates |
//! | [`technician`] | the maintenance PIN gate, `kiosk selftest`/`devices`, `kiosk device …` | tools for technicians |
//! | [`config`] | `kiosk.toml` as plain data, checked, and the device and session settings made from it | a setting is added or its rules change |
//! | [`screen`] | views applied to the Slint screens of `kiosk-ui` and touches mapped back to actions ([`screen::display`]), spoken instructions ([`screen::voice`]) | how a view is shown or spoken |
//! | [`window`] | the window's event loop on the main thread beside the session driver | how the kiosk runs in a window |
//! | [`drive`] | `kiosk drive`: the session and runtime drawn headlessly and driven by JSON-line steps, each screen printed as JSON with personal data masked | how a script drives the terminal or what it is told |
//!
//! The flows: a card read goes `devices::card_reader` → session event → [`session`] → view →
//! [`screen::display`]; a submitted application goes [`session`] → `Submit` command → `runtime` →
//! [`uplink::outbox`] (sealed, on disk) → its sender → [`uplink::platform_link`] → the platform.
//!
//! Imports run one way, each room using only rooms on the lines below it (the session core
//! on none; `scripts/check-structure` keeps it so):
//!
//! ```text
//! window, drive
//! runtime
//! technician, enrollment
//! update
//! uplink, printing, screen
//! config
//! devices
//! session
//! ```
//!
//! The demo that stages it all on simulated devices against a real platform process is a
//! program of its own (`demo/`, `kiosk-demo`), which the production package does not build.
//!
//! The crate-root helpers below serve every room.

pub mod config;
pub mod devices;
pub mod drive;
pub mod enrollment;
pub mod printing;
pub mod runtime;
pub mod screen;
pub mod session;
pub mod technician;
pub mod update;
pub mod uplink;
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

/// Returns once no citizen is being served (or the session driver is gone). What would end a
/// citizen's session — a remote restart or reboot, an update's restart — waits here on the
/// flag the session driver publishes.
pub(crate) async fn wait_for_no_citizen(mut in_session: tokio::sync::watch::Receiver<bool>) {
    while *in_session.borrow_and_update() {
        if in_session.changed().await.is_err() {
            return;
        }
    }
}
