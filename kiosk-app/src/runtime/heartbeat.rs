//! Heartbeats and remote commands.
//!
//! Every 30 s the terminal tells the platform its versions (the app's, the system's and the
//! catalog's it shows), uptime, each device's health and how many items wait in its outbox;
//! the answer carries the commands operators queued for it and the catalog version it should
//! run (a different one is fetched at once, see [`super::catalog`]).
//! Each command is carried out and its result reported. Commands that would end a citizen's
//! session (restart, reboot) wait until nobody is being served.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kiosk_protocol::{
    CommandKind, CommandResult, DeviceHealth as WireHealth, DeviceState, Heartbeat, ReleaseKind,
    RemoteCommand,
};
use tokio::sync::watch;

use super::catalog::CatalogReport;
use crate::devices::health::{DeviceHealth, HealthBoard, HealthState};
use crate::update::Updater;
use crate::uplink::outbox::Outbox;
use crate::uplink::platform_link::PlatformLink;
use crate::wait_for_no_citizen;

/// How often the terminal reports.
pub const INTERVAL: Duration = Duration::from_secs(30);

/// What a command needs from the rest of the terminal.
pub trait CommandHost: Send + Sync + 'static {
    /// Prints the technicians' test page; the text says what was printed.
    fn print_test_page(&self) -> Result<String, CommandError>;
    /// Recent log lines of the kiosk (which never carry personal data).
    fn recent_logs(&self) -> Result<String, CommandError>;
    /// Ends the process so the service manager starts it again.
    fn restart(&self);
    /// Asks the system to reboot.
    fn reboot(&self) -> Result<(), CommandError>;
}

/// Why a remote command (or the same task from the maintenance panel) was not carried out;
/// the platform shows the operator this text.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// There is no printer for a test page.
    #[error("no printer is configured on this terminal")]
    NoPrinter,
    /// The printer did not print the test page.
    #[error("nothing printed on {address}: {source}")]
    NotPrinted {
        /// Where the printer is.
        address: String,
        /// What the printer said.
        source: kiosk_drivers::printer::PrintError,
    },
    /// `journalctl` cannot be run.
    #[error("the journal cannot be read: {0}")]
    JournalUnreadable(#[source] std::io::Error),
    /// `journalctl` ran and failed.
    #[error("journalctl failed: {0}")]
    JournalFailed(String),
    /// `systemctl reboot` cannot be run.
    #[error("cannot ask systemd to reboot: {0}")]
    RebootUnasked(#[source] std::io::Error),
    /// `systemctl reboot` ran and failed.
    #[error("systemctl reboot failed ({0})")]
    RebootFailed(std::process::ExitStatus),
    /// Screenshots may show a citizen's data: this terminal does not upload them.
    #[error("this terminal version does not upload screenshots (they may show a citizen's data)")]
    NoScreenshots,
    /// The task carrying the command out ended abnormally.
    #[error("the command failed: {0}")]
    Aborted(#[source] tokio::task::JoinError),
}

/// Everything the heartbeat task reads.
pub struct Pulse {
    /// The signed platform link.
    pub link: PlatformLink,
    /// Device health, as the session driver keeps it.
    pub health: watch::Receiver<HealthBoard>,
    /// The outbox (its depth is reported).
    pub outbox: Arc<Outbox>,
    /// Whether a citizen is being served right now.
    pub in_session: watch::Receiver<bool>,
    /// Carries out commands.
    pub host: Arc<dyn CommandHost>,
    /// When the kiosk started.
    pub started: Instant,
    /// Installs releases the platform's rollouts offer and reports on them; `None` where
    /// this kiosk does not update itself (the demo).
    pub updater: Option<Arc<Updater>>,
    /// The catalog version reported, and where the platform's offer goes.
    pub catalog: CatalogReport,
}

/// The heartbeat for the current state.
pub fn heartbeat(
    board: &HealthBoard,
    outbox_depth: u32,
    uptime: Duration,
    app_version: &str,
) -> Heartbeat {
    let mut versions = BTreeMap::new();
    versions.insert("app".to_owned(), app_version.to_owned());
    if let Some(os) = os_version() {
        versions.insert("os".to_owned(), os);
    }
    Heartbeat {
        versions,
        uptime_secs: uptime.as_secs(),
        devices: board.devices().map(wire_health).collect(),
        outbox_depth,
    }
}

fn wire_health(health: &DeviceHealth) -> WireHealth {
    WireHealth {
        device: health.kind.name().to_owned(),
        state: match health.state {
            HealthState::Ok => DeviceState::Ok,
            HealthState::Degraded => DeviceState::Degraded,
            HealthState::Faulted => DeviceState::Faulted,
            // The platform's `absent` is "not fitted or not detected".
            HealthState::Absent | HealthState::NotFitted => DeviceState::Absent,
        },
        reasons: reason_code(&health.reason).into_iter().collect(),
    }
}

/// A technician's reason as a machine code the platform filters on: `paper near end` →
/// `paper_near_end` (lower-case ASCII letters, digits and `_`, at most 48).
pub fn reason_code(reason: &str) -> Option<String> {
    let mut code = String::new();
    for c in reason.chars() {
        if c.is_ascii_alphanumeric() {
            code.push(c.to_ascii_lowercase());
        } else if !code.is_empty() && !code.ends_with('_') {
            code.push('_');
        }
        if code.len() >= 48 {
            break;
        }
    }
    let code = code.trim_end_matches('_').to_owned();
    (!code.is_empty()).then_some(code)
}

/// A version the platform's heartbeat check accepts (1 to 64 printable ASCII characters); a
/// catalog version outside that is left out rather than lose the whole heartbeat.
fn reportable(version: &str) -> bool {
    (1..=64).contains(&version.len()) && version.bytes().all(|b| b.is_ascii_graphic())
}

fn os_version() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim_matches('"').to_owned())
    };
    let version = format!(
        "{}-{}",
        field("ID=")?,
        field("VERSION_ID=").unwrap_or_default()
    );
    let version: String = version
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect();
    (!version.is_empty()).then_some(version)
}

/// What a heartbeat learned of this terminal's standing with the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The platform took the heartbeat: the terminal is in service.
    InService,
    /// An operator revoked the terminal (`terminal_revoked`).
    Revoked,
    /// No answer that says either (the platform unreachable, say): nothing changes.
    Unknown,
}

/// Sends heartbeats until the process ends, carrying out the commands that come back, and
/// telling `revoked` whether the platform revoked this terminal each time it answers.
pub fn spawn(pulse: Pulse, revoked: impl Fn(bool) + Send + 'static) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match beat_once(&pulse).await {
                Standing::InService => revoked(false),
                Standing::Revoked => revoked(true),
                Standing::Unknown => {}
            }
        }
    });
}

/// One heartbeat and the commands it brings back.
pub async fn beat_once(pulse: &Pulse) -> Standing {
    let depth = pulse.outbox.status().map(|s| s.depth).unwrap_or(0);
    let (version, trial) = pulse
        .updater
        .as_ref()
        .map_or((env!("CARGO_PKG_VERSION"), None), |u| {
            u.heartbeat_versions()
        });
    let mut beat = heartbeat(
        &pulse.health.borrow(),
        depth,
        pulse.started.elapsed(),
        version,
    );
    if let Some(trial) = trial {
        beat.versions
            .insert("app_trial".to_owned(), trial.to_owned());
    }
    let shown = pulse.catalog.shown.borrow().clone();
    if let Some(catalog) = shown.filter(|v| reportable(v)) {
        beat.versions.insert("catalog".to_owned(), catalog);
    }
    match pulse.link.heartbeat(&beat).await {
        Ok(answer) => {
            crate::update::trial::SIGNALS.platform_reached();
            // Every answer, even a repeated offer: a check that failed is tried again.
            pulse.catalog.offered.send_replace(answer.catalog_version);
            if let Some(key) = &answer.sealing_key
                && pulse.link.adopt_sealing_key(key)
            {
                tracing::info!(
                    "the platform published a new sealing key: sealing to it from now on"
                );
            }
            for command in answer.commands {
                run_command(pulse, &command).await;
            }
            if let Some(updater) = &pulse.updater {
                updater.send_reports().await;
                if let Some(offer) = answer.update {
                    let host = pulse.host.clone();
                    updater
                        .consider(offer, pulse.in_session.clone(), move |kind| match kind {
                            ReleaseKind::App => host.restart(),
                            ReleaseKind::Os => {
                                if let Err(e) = host.reboot() {
                                    tracing::error!(error = %e, "cannot reboot into the new system");
                                }
                            }
                        })
                        .await;
                }
            }
            Standing::InService
        }
        Err(e) if e.is_revoked() => {
            tracing::warn!("this terminal is revoked: out of service, the outbox waits");
            Standing::Revoked
        }
        Err(e) => {
            tracing::warn!(error = %e, "heartbeat not delivered");
            Standing::Unknown
        }
    }
}

async fn run_command(pulse: &Pulse, command: &RemoteCommand) {
    tracing::info!(
        id = command.id,
        kind = command.kind.as_str(),
        "remote command"
    );
    if matches!(command.kind, CommandKind::Reboot | CommandKind::RestartApp) {
        wait_for_no_citizen(pulse.in_session.clone()).await;
    }
    let host = pulse.host.clone();
    let kind = command.kind;
    let outcome = tokio::task::spawn_blocking(move || match kind {
        CommandKind::PrintTestPage => host.print_test_page(),
        CommandKind::UploadLogs => host.recent_logs(),
        CommandKind::Reboot => host.reboot().map(|()| "rebooting".to_owned()),
        CommandKind::RestartApp => Ok("restarting the kiosk application".to_owned()),
        CommandKind::CaptureScreenshot => Err(CommandError::NoScreenshots),
    })
    .await
    .unwrap_or_else(|e| Err(CommandError::Aborted(e)));
    let result = match outcome {
        Ok(detail) => CommandResult {
            ok: true,
            detail: clip(&detail),
        },
        Err(e) => CommandResult {
            ok: false,
            detail: clip(&e.to_string()),
        },
    };
    if let Err(e) = pulse.link.command_result(command.id, &result).await {
        tracing::warn!(id = command.id, error = %e, "command result not delivered");
    }
    if kind == CommandKind::RestartApp && result.ok {
        pulse.host.restart();
    }
}

/// The last 2000 characters, without control characters but newlines and tabs.
fn clip(text: &str) -> String {
    let clean: Vec<char> = text
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect();
    clean[clean.len().saturating_sub(2000)..].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::health::DeviceKind;

    #[test]
    fn a_heartbeat_carries_versions_devices_and_outbox_depth_in_the_platforms_format() {
        let mut board = HealthBoard::default();
        board.record(DeviceHealth::new(
            DeviceKind::Printer,
            HealthState::Degraded,
            "paper near end",
        ));
        board.record(DeviceHealth::new(
            DeviceKind::CardReader,
            HealthState::Absent,
            "/dev/ttyUSB0: No such file or directory (os error 2)",
        ));
        let beat = heartbeat(&board, 3, Duration::from_secs(90), "0.1.0");
        assert!(beat.validate().is_ok(), "{beat:?}");
        assert_eq!(beat.outbox_depth, 3);
        assert_eq!(beat.uptime_secs, 90);
        assert_eq!(beat.versions["app"], env!("CARGO_PKG_VERSION"));
        let printer = beat
            .devices
            .iter()
            .find(|d| d.device == "printer")
            .expect("printer");
        assert_eq!(printer.state, DeviceState::Degraded);
        assert_eq!(printer.reasons, ["paper_near_end"]);
        assert_eq!(beat.overall(), DeviceState::Degraded);
    }

    #[test]
    fn reasons_become_bounded_codes_and_details_are_clipped() {
        assert_eq!(reason_code("Cover open!").as_deref(), Some("cover_open"));
        assert_eq!(reason_code("——").as_deref(), None);
        assert!(reason_code(&"x".repeat(200)).is_some_and(|c| c.len() <= 48));
        let long = format!("{}\u{7}end", "a".repeat(3000));
        let clipped = clip(&long);
        assert_eq!(clipped.chars().count(), 2000);
        assert!(clipped.ends_with("end") && !clipped.contains('\u{7}'));
    }
}
