//! Software updates on the terminal: signed, staged, checked, and undone by themselves.
//!
//! - [`launch`]: `kiosk run` becomes the binary of the committed slot or of the release on
//!   trial, counting trial starts and rolling a crashing trial back.
//! - [`install`]: fetches a release through its signed TUF metadata, downloads it resumably
//!   into the inactive slot with its signed hash checked, and switches to it; system images
//!   go to RAUC ([`rauc`]).
//! - [`trial`]: the health check that commits a new release or sends the terminal back.
//! - [`slots`]: the two slots and the record of what runs, written so that a power cut at
//!   any step leaves something that starts.
//!
//! [`Updater`] ties them to the running kiosk: it answers rollouts' offers (inside their
//! maintenance window, never while a citizen is served), watches a trial, and sends the
//! reports the platform's rollouts count.

pub mod cli;
#[cfg(test)]
mod fixtures;
pub mod install;
pub mod launch;
pub mod place;
pub mod rauc;
pub mod slots;
pub mod trial;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kiosk_protocol::{ReleaseKind, UpdateOffer, UpdateState, compare_versions};
use tokio::sync::watch;

use crate::config::KioskConfig;
use crate::uplink::outbox::Outbox;
use crate::uplink::platform_link::{LinkError, PlatformLink};
use crate::uplink::tls::PlatformTls;
use crate::wait_for_no_citizen;
use install::{Installer, Outcome, Wanted};
use launch::RunningRelease;
use rauc::Rauc;
use slots::{OsTrial, Slots};
use trial::{SIGNALS, Verdict};

/// Where the image pins the release repository's root metadata, on the read-only root file
/// system (`image/build --release-root`).
pub const PINNED_ROOT: &str = "/usr/share/kiosk/release-root.json";

/// The root metadata every release is checked against, first found of: the root `pinned` in
/// the image; the one `[updates] root` names; the one kept at the first enrollment
/// (`enrolled`). The pin comes first, before the configuration, because `/etc/kiosk` lives
/// on the data partition: whoever can write that must not be able to name another root.
pub fn trust_anchor(pinned: &Path, configured: Option<&Path>, enrolled: PathBuf) -> PathBuf {
    if pinned.is_file() {
        pinned.to_path_buf()
    } else if let Some(configured) = configured {
        configured.to_path_buf()
    } else {
        enrolled
    }
}

/// What the updater needs from `kiosk.toml`.
#[derive(Debug, Clone)]
pub struct UpdateSettings {
    /// The terminal's data folder (slots live in `updates/` under it).
    pub data_dir: PathBuf,
    /// Install offered releases by itself.
    pub automatic: bool,
    /// How long a new release has to prove itself.
    pub health_deadline: Duration,
    /// The trusted root metadata ([`trust_anchor`]).
    pub root: PathBuf,
    /// The `rauc` program.
    pub rauc: PathBuf,
    /// The running system's `os-release`.
    pub os_release: PathBuf,
    /// The folder holding the slots.
    pub slot_dir: PathBuf,
    /// The user id owning it.
    pub slot_owner: u32,
}

impl UpdateSettings {
    /// The settings of `config`.
    pub fn from_config(config: &KioskConfig) -> Self {
        let slots = Slots::new(
            &config.data_dir,
            &config.updates.slot_dir,
            config.updates.slot_owner,
        );
        // The enrollment's root, once the slot installer has kept a copy of its own.
        let kept = slots.slot_dir().join("root.json");
        let enrolled = if kept.is_file() {
            kept
        } else {
            slots.root().join("root.json")
        };
        Self {
            data_dir: config.data_dir.clone(),
            automatic: config.updates.automatic,
            health_deadline: Duration::from_secs(config.updates.health_deadline_secs),
            root: trust_anchor(
                Path::new(PINNED_ROOT),
                config.updates.root.as_deref(),
                enrolled,
            ),
            rauc: config.updates.rauc.clone(),
            os_release: config.updates.os_release.clone(),
            slot_dir: config.updates.slot_dir.clone(),
            slot_owner: config.updates.slot_owner,
        }
    }

    /// The slots.
    pub fn slots(&self) -> Slots {
        Slots::new(&self.data_dir, &self.slot_dir, self.slot_owner)
    }

    /// The trusted root's bytes for the slot installer ([`place::kept_anchor`]).
    pub fn placement_anchor(&self) -> Result<Vec<u8>, place::Refusal> {
        place::kept_anchor(&self.slots(), &self.root)
    }

    /// The installer for releases served by the platform at `platform` (its base URL), whose
    /// certificate `tls` checks.
    pub fn installer(&self, platform: &str, tls: PlatformTls) -> Installer {
        Installer::new(
            self.slots(),
            self.root.clone(),
            platform,
            tls,
            Rauc::new(self.rauc.clone()),
            self.os_release.clone(),
        )
    }
}

/// The running kiosk's updater.
pub struct Updater {
    settings: UpdateSettings,
    running: RunningRelease,
    link: PlatformLink,
    busy: AtomicBool,
}

impl Updater {
    /// The updater of a kiosk running `running`, talking to the platform through `link`.
    pub fn new(settings: UpdateSettings, running: RunningRelease, link: PlatformLink) -> Self {
        Self {
            settings,
            running,
            link,
            busy: AtomicBool::new(false),
        }
    }

    /// The versions heartbeats report: `app` is the settled release (while a new one is on
    /// trial, the committed one it would go back to), `app_trial` the one on trial.
    pub fn heartbeat_versions(&self) -> (&str, Option<&str>) {
        (
            &self.running.settled,
            self.running.trial.then_some(self.running.version.as_str()),
        )
    }

    /// Sends the reports the platform has not acknowledged, oldest first. A report the
    /// platform refuses for good is dropped (and logged); an unreachable platform stops the
    /// round, and the rest wait for the next heartbeat.
    pub async fn send_reports(&self) {
        let slots = self.settings.slots();
        let pending = match slots.load() {
            Ok(record) => record.reports,
            Err(e) => {
                tracing::warn!(error = %e, "update reports unreadable");
                return;
            }
        };
        for report in pending {
            match self.link.update_report(&report).await {
                Ok(()) => {}
                Err(e) if e.is_revoked() => {
                    tracing::info!("update reports wait: this terminal is revoked");
                    return;
                }
                Err(LinkError::Refused { status, code, .. }) if (400..500).contains(&status) => {
                    tracing::warn!(status, code = %code, version = %report.version, state = report.state.as_str(), "the platform refused an update report; dropped");
                }
                Err(e) => {
                    tracing::info!(error = %e, "update reports wait for the platform");
                    return;
                }
            }
            if let Err(e) = slots.update(|record| {
                if let Some(i) = record.reports.iter().position(|r| *r == report) {
                    record.reports.remove(i);
                }
            }) {
                tracing::warn!(error = %e, "cannot record a delivered update report");
                return;
            }
        }
    }

    /// Acts on a rollout's offer: installs the release when it is new here, has not failed
    /// here before, the window is open and no citizen is being served; then `restart` (or
    /// `reboot` for a system image) once nobody is. Returns at once when another install runs.
    pub async fn consider(
        self: &Arc<Self>,
        offer: UpdateOffer,
        in_session: watch::Receiver<bool>,
        restart: impl FnOnce(ReleaseKind) + Send + 'static,
    ) {
        if !self.settings.automatic || !self.wants(&offer) {
            return;
        }
        if let Some(window) = offer.window
            && !window.contains(local_minute_of_day())
        {
            tracing::debug!(window = %window, "update offered; waiting for its window");
            return;
        }
        if *in_session.borrow() {
            return;
        }
        if self.busy.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let installer = this
                .settings
                .installer(this.link.base(), this.link.tls().clone());
            let outcome = installer
                .install(
                    Wanted::Version(offer.version.clone()),
                    offer.kind,
                    offer.rollout_id,
                    false,
                    |step| tracing::info!(step = %step, "update"),
                )
                .await;
            match outcome {
                Ok(Outcome::Switched { .. }) | Ok(Outcome::HandedToRauc { .. }) => {
                    this.send_reports().await;
                    wait_for_no_citizen(in_session).await;
                    restart(offer.kind);
                }
                Ok(Outcome::AlreadyRunning) => {}
                Err(e) => {
                    tracing::warn!(error = %e, version = %offer.version, "update not installed");
                    this.send_reports().await;
                }
            }
            this.busy.store(false, Ordering::Release);
        });
    }

    /// Whether `offer` asks for something this terminal should install.
    fn wants(&self, offer: &UpdateOffer) -> bool {
        let record = match self.settings.slots().load() {
            Ok(record) => record,
            Err(_) => return false,
        };
        if record.trial.is_some() || record.os_trial.is_some() || record.has_failed(&offer.version)
        {
            return false;
        }
        match offer.kind {
            ReleaseKind::App => compare_versions(&offer.version, &self.running.version).is_ne(),
            ReleaseKind::Os => true,
        }
    }

    /// Watches a release on trial (or a system image after its reboot): commits it once
    /// healthy; otherwise records why, waits until no citizen is served and ends the process
    /// (`exit`), so the service manager starts the committed release again.
    pub fn watch_trial(
        self: &Arc<Self>,
        outbox: Arc<Outbox>,
        in_session: watch::Receiver<bool>,
        exit: impl FnOnce() + Send + 'static,
    ) {
        let record = match self.settings.slots().load() {
            Ok(record) => record,
            Err(_) => return,
        };
        let app_trial = self.running.trial;
        let os_trial = record.os_trial.clone();
        if !app_trial && os_trial.is_none() {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            if let Some(os) = &os_trial
                && this.os_fell_back(os).await
                && !app_trial
            {
                return;
            }
            let started = Instant::now();
            let verdict = loop {
                let outbox_healthy = outbox.status().is_ok();
                match trial::judge(
                    &SIGNALS.snapshot(outbox_healthy),
                    started.elapsed(),
                    this.settings.health_deadline,
                ) {
                    Verdict::Waiting => tokio::time::sleep(Duration::from_secs(1)).await,
                    verdict => break verdict,
                }
            };
            match verdict {
                Verdict::Healthy => this.commit_trial(app_trial).await,
                Verdict::Failed(why) => {
                    tracing::error!(reason = %why, "new release failed its health check; going back");
                    this.go_back(app_trial, &why).await;
                    wait_for_no_citizen(in_session).await;
                    exit();
                }
                Verdict::Waiting => {}
            }
        });
    }

    /// Whether the boot loader fell back from the system image on trial `os` (the new system
    /// never came up); if so, records it as failed and reports it.
    async fn os_fell_back(&self, os: &OsTrial) -> bool {
        let rauc = self.rauc();
        let booted = tokio::task::spawn_blocking(move || rauc.booted())
            .await
            .unwrap_or_else(|e| {
                Err(rauc::RaucError::Unexpected {
                    action: "status".into(),
                    detail: e.to_string(),
                })
            });
        if !matches!(booted, Ok(booted) if booted == os.booted_before) {
            return false;
        }
        let _ = self.settings.slots().update(|r| {
            r.os_trial = None;
            r.mark_failed(&os.version, "os_fell_back", crate::unix_now());
            r.report(
                os.rollout_id,
                &os.version,
                UpdateState::RolledBack,
                "os_fell_back: the boot loader went back to the old system",
                crate::unix_now(),
            );
        });
        self.send_reports().await;
        true
    }

    /// The trial passed its health check: a system image still on trial is marked good with
    /// RAUC, the application on trial (`app_trial`) is committed, and both are reported.
    async fn commit_trial(&self, app_trial: bool) {
        let slots = self.settings.slots();
        let now = crate::unix_now();
        if let Some(os) = slots.load().ok().and_then(|r| r.os_trial) {
            let rauc = self.rauc();
            let marked = tokio::task::spawn_blocking(move || rauc.mark_good()).await;
            let (state, detail) = match marked {
                Ok(Ok(())) => (
                    UpdateState::Committed,
                    "health check passed; marked good".to_owned(),
                ),
                Ok(Err(e)) => (UpdateState::Failed, format!("mark_good_failed: {e}")),
                Err(e) => (UpdateState::Failed, format!("mark_good_failed: {e}")),
            };
            let _ = slots.update(|r| {
                r.os_trial = None;
                r.report(os.rollout_id, &os.version, state, &detail, now);
            });
        }
        if app_trial {
            match slots.update(|r| r.commit_trial(now)) {
                Ok(Some(release)) => {
                    tracing::info!(version = %release.version, slot = release.slot.name(), "new release healthy; committed")
                }
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "cannot commit the new release"),
            }
        }
        self.send_reports().await;
    }

    /// The trial failed its health check (`why`): a system image still on trial is marked bad
    /// with RAUC and recorded as failed, the application on trial (`app_trial`) is rolled
    /// back, and both are reported.
    async fn go_back(&self, app_trial: bool, why: &str) {
        let slots = self.settings.slots();
        let now = crate::unix_now();
        if let Some(os) = slots.load().ok().and_then(|r| r.os_trial) {
            let rauc = self.rauc();
            let _ = tokio::task::spawn_blocking(move || rauc.mark_bad()).await;
            let _ = slots.update(|r| {
                r.os_trial = None;
                r.mark_failed(&os.version, why, now);
                r.report(
                    os.rollout_id,
                    &os.version,
                    UpdateState::RolledBack,
                    why,
                    now,
                );
            });
        }
        if app_trial {
            let _ = slots.update(|r| r.roll_back_trial(why, now));
        }
        self.send_reports().await;
    }

    fn rauc(&self) -> Rauc {
        Rauc::new(self.settings.rauc.clone())
    }
}

/// Minutes since local midnight, by the terminal's clock and time zone.
pub fn local_minute_of_day() -> u16 {
    let now: libc::time_t = crate::unix_now() as libc::time_t;
    // SAFETY: localtime_r writes only into `tm`, which lives on this stack frame.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&now, &mut tm).is_null() };
    if ok {
        (tm.tm_hour.clamp(0, 23) * 60 + tm.tm_min.clamp(0, 59)) as u16
    } else {
        ((now.rem_euclid(86_400)) / 60) as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_images_pinned_root_wins_over_the_configuration_and_enrollment() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pinned = dir.path().join("usr-share-kiosk-release-root.json");
        let configured = dir.path().join("configured.json");
        let enrolled = dir.path().join("updates/root.json");
        assert_eq!(trust_anchor(&pinned, None, enrolled.clone()), enrolled);
        assert_eq!(
            trust_anchor(&pinned, Some(&configured), enrolled.clone()),
            configured
        );
        std::fs::write(&pinned, b"{}").expect("pin");
        assert_eq!(
            trust_anchor(&pinned, Some(&configured), enrolled.clone()),
            pinned
        );
        assert_eq!(trust_anchor(&pinned, None, enrolled), pinned);
    }
}
