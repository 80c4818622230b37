//! Installing a release: signed metadata, resumable download, slot, switch.
//!
//! The steps, each of which may be cut by a power loss:
//! 1. the release metadata is fetched and verified against the trusted root (TUF: signatures,
//!    expiry, versions never going back);
//! 2. the release is downloaded into `updates/downloads/NAME.partial`, resuming where an
//!    earlier attempt stopped, and checked against its signed length and SHA-256;
//! 3. the verified file is renamed into the inactive slot (a slot already holding those
//!    exact bytes is reused);
//! 4. the record switches to it as the release on trial; the caller restarts the kiosk.
//!
//! Until step 4 the record still names the committed release, so a cut anywhere before it
//! simply leaves the old release running and a later attempt carries on; after it, the
//! launcher starts the trial. System images stop after step 2 and are handed to RAUC.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kiosk_protocol::{ReleaseKind, UpdateState, compare_versions};
use kiosk_release::client::{ReleaseTarget, TrustError, TrustedRepository};

use super::place::{PlaceRequest, Refusal, place_or_ask, request_id};
use super::rauc::{Rauc, RaucError};
use super::slots::{Installed, OsTrial, Slot, SlotError, Slots, Trial, UpdateRecord};
use crate::uplink::tls::PlatformTls;

/// Which release to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// This version.
    Version(String),
    /// The newest one published for this terminal's architecture.
    Newest,
}

/// How an install ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The release already runs (or is committed) here.
    AlreadyRunning,
    /// Switched to `version` in `slot`, on trial: restart the kiosk to start it.
    Switched {
        /// The release.
        version: String,
        /// Its slot.
        slot: Slot,
    },
    /// The system image `version` was installed by RAUC: reboot to start it.
    HandedToRauc {
        /// The image's version.
        version: String,
    },
}

/// One step, for progress lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The metadata was verified and names this release.
    Checked {
        /// Its version.
        version: String,
        /// Its size.
        length: u64,
    },
    /// Downloading: bytes so far of the total.
    Downloading {
        /// Bytes in the partial file.
        done: u64,
        /// The release's size.
        total: u64,
    },
    /// Downloaded and matching its signed hash.
    Verified {
        /// SHA-256, hex.
        sha256: String,
    },
    /// The inactive slot already held these bytes.
    Reused {
        /// The slot.
        slot: Slot,
    },
    /// Renamed into the slot.
    Placed {
        /// The slot.
        slot: Slot,
    },
    /// The record now names it as the release on trial.
    Switched {
        /// The slot.
        slot: Slot,
    },
    /// Given to RAUC.
    HandedToRauc,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Checked { version, length } => {
                write!(
                    f,
                    "checked: release {version} ({length} bytes), signed and current"
                )
            }
            Step::Downloading { done, total } => write!(f, "downloading: {done}/{total} bytes"),
            Step::Verified { sha256 } => write!(f, "verified: sha256 {sha256}"),
            Step::Reused { slot } => {
                write!(f, "reused: slot {} already holds this release", slot.name())
            }
            Step::Placed { slot } => write!(f, "placed: slot {}", slot.name()),
            Step::Switched { slot } => write!(
                f,
                "switched: slot {} is on trial; it starts with the next restart",
                slot.name()
            ),
            Step::HandedToRauc => write!(f, "installed: RAUC wrote the other system slot"),
        }
    }
}

/// Why an install did not happen.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The signed metadata or the download was refused.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// No trusted root: the terminal was enrolled without one.
    #[error(
        "no trusted release root at {0}: enroll the terminal again with a platform that signs releases, or install the root there"
    )]
    NoRoot(PathBuf),
    /// The slots or their record.
    #[error(transparent)]
    Slots(#[from] SlotError),
    /// A release is on trial already.
    #[error("release {0} is on trial; wait until it is committed or rolled back")]
    Busy(String),
    /// No such release for this terminal.
    #[error("no release {wanted} for {arch} is published")]
    Unknown {
        /// What was asked.
        wanted: String,
        /// This terminal's architecture.
        arch: String,
    },
    /// Older than the committed release.
    #[error(
        "release {version} is older than {committed}, which runs here; a technician may go back with --allow-downgrade"
    )]
    Downgrade {
        /// The release offered.
        version: String,
        /// The committed one.
        committed: String,
    },
    /// The running system does not state its release version, so an OS release cannot be
    /// told from a downgrade.
    #[error(
        "{} states no IMAGE_VERSION, so the running system's release is unknown; a technician may install anyway with --allow-downgrade",
        .0.display()
    )]
    OsVersionUnknown(PathBuf),
    /// RAUC refused the image.
    #[error(transparent)]
    Rauc(#[from] RaucError),
    /// The slot installer did not place the release.
    #[error(transparent)]
    Placement(#[from] Refusal),
    /// No HTTP client could be made (TLS or resolver set-up).
    #[error("cannot make an HTTP client: {0}")]
    Http(String),
    /// A file in the download folder.
    #[error("{what} ({path}): {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS's answer.
        source: std::io::Error,
    },
}

impl InstallError {
    /// A short code for the rollout's report.
    pub fn code(&self) -> String {
        match self {
            InstallError::Trust(e) => e.code().to_owned(),
            InstallError::NoRoot(_) => "no_trusted_root".into(),
            InstallError::Slots(_) | InstallError::Io { .. } => "slot_write_failed".into(),
            InstallError::Http(_) => "transport".into(),
            InstallError::Busy(_) => "trial_in_progress".into(),
            InstallError::Unknown { .. } => "unknown_release".into(),
            InstallError::Downgrade { .. } => "downgrade_refused".into(),
            InstallError::OsVersionUnknown(_) => "os_version_unknown".into(),
            InstallError::Rauc(_) => "rauc_refused".into(),
            InstallError::Placement(e) => e.code().to_owned(),
        }
    }

    /// Whether the release itself is at fault (it is then not tried again by itself), as
    /// opposed to a passing condition (the network, a trial in progress).
    fn condemns_release(&self) -> bool {
        match self {
            InstallError::Trust(e) => !matches!(
                e,
                TrustError::Transport { .. }
                    | TrustError::Io { .. }
                    | TrustError::Datastore { .. }
                    | TrustError::ClockSteppedBack { .. }
            ),
            InstallError::Unknown { .. } | InstallError::Downgrade { .. } => true,
            InstallError::Rauc(RaucError::Refused { .. }) => true,
            InstallError::Placement(e) => e.condemns_release(),
            _ => false,
        }
    }
}

/// Installs releases from the platform's signed repository.
#[derive(Debug, Clone)]
pub struct Installer {
    slots: Slots,
    root: PathBuf,
    platform: String,
    tls: PlatformTls,
    rauc: Rauc,
    os_release: PathBuf,
}

pub use super::place::ARCH;

impl Installer {
    /// An installer over `slots`, trusting `root`, fetching from the platform at `platform`
    /// (its certificate checked by `tls`, as the platform link checks it); the running system
    /// states its version in `os_release`.
    pub fn new(
        slots: Slots,
        root: PathBuf,
        platform: &str,
        tls: PlatformTls,
        rauc: Rauc,
        os_release: PathBuf,
    ) -> Self {
        Self {
            slots,
            root,
            platform: platform.trim_end_matches('/').to_owned(),
            tls,
            rauc,
            os_release,
        }
    }

    /// The trusted root's bytes.
    fn anchor(&self) -> Result<Vec<u8>, InstallError> {
        match std::fs::read(&self.root) {
            Ok(root) => Ok(root),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(InstallError::NoRoot(self.root.clone()))
            }
            Err(source) => Err(InstallError::Io {
                what: "cannot read the trusted root",
                path: self.root.clone(),
                source,
            }),
        }
    }

    /// The verified repository: metadata checked against the trusted root.
    pub async fn repository(&self) -> Result<TrustedRepository, InstallError> {
        let root = self.anchor()?;
        let http = self
            .tls
            .client_builder()
            .map_err(|e| InstallError::Http(e.to_string()))?
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(30))
            .user_agent(concat!("lianyibao-kiosk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| InstallError::Http(e.to_string()))?;
        Ok(TrustedRepository::load(
            &root,
            &self.slots.metadata_store(),
            &format!("{}/v1/updates/tuf/metadata/", self.platform),
            &format!("{}/v1/updates/tuf/targets/", self.platform),
            http,
        )
        .await?)
    }

    /// Installs `wanted` of `kind` for `rollout_id` (0 by hand), telling `progress` each step.
    /// Failures are recorded as reports for the platform (and, when the release itself is at
    /// fault, remembered so it is not tried again by itself).
    pub async fn install(
        &self,
        wanted: Wanted,
        kind: ReleaseKind,
        rollout_id: i64,
        allow_downgrade: bool,
        mut progress: impl FnMut(Step),
    ) -> Result<Outcome, InstallError> {
        let version_hint = match &wanted {
            Wanted::Version(v) => Some(v.clone()),
            Wanted::Newest => None,
        };
        let result = self
            .install_steps(wanted, kind, rollout_id, allow_downgrade, &mut progress)
            .await;
        // Only a release at fault is reported failed (and not tried again by itself): a
        // network blip or a full disk must not count against it in its rollout; the next
        // offer tries again.
        if let Err(e) = &result
            && e.condemns_release()
            && let Some(version) = version_hint
        {
            let now = crate::unix_now();
            let detail = format!("{}: {e}", e.code());
            let _ = self.slots.update(|record| {
                record.report(rollout_id, &version, UpdateState::Failed, &detail, now);
                record.mark_failed(&version, &detail, now);
            });
        }
        result
    }

    async fn install_steps(
        &self,
        wanted: Wanted,
        kind: ReleaseKind,
        rollout_id: i64,
        allow_downgrade: bool,
        progress: &mut impl FnMut(Step),
    ) -> Result<Outcome, InstallError> {
        let record = self.slots.load()?;
        if let Some(trial) = &record.trial {
            return Err(InstallError::Busy(trial.release.version.clone()));
        }
        if let Some(os) = &record.os_trial {
            return Err(InstallError::Busy(os.version.clone()));
        }
        let repository = self.repository().await?;
        let target = find_target(&repository, &wanted, kind)?;
        progress(Step::Checked {
            version: target.version.clone(),
            length: target.length,
        });
        if self.runs_already(&record, &target, allow_downgrade)? {
            return Ok(Outcome::AlreadyRunning);
        }
        let now = crate::unix_now();
        self.slots.update(|r| {
            r.report(
                rollout_id,
                &target.version,
                UpdateState::Downloading,
                "",
                now,
            )
        })?;
        match kind {
            ReleaseKind::App => {
                let slot = record.inactive_slot();
                self.switch_app(
                    &repository,
                    target,
                    slot,
                    rollout_id,
                    allow_downgrade,
                    progress,
                )
                .await
            }
            ReleaseKind::Os => {
                self.hand_to_rauc(&repository, target, rollout_id, progress)
                    .await
            }
        }
    }

    /// Whether `target` is what runs here already; refuses one older than what runs
    /// ([`InstallError::Downgrade`]) unless a technician allows it. An application release is
    /// compared with the committed one (or the packaged kiosk), a system image with the
    /// version the running system states in its `os-release`.
    fn runs_already(
        &self,
        record: &UpdateRecord,
        target: &ReleaseTarget,
        allow_downgrade: bool,
    ) -> Result<bool, InstallError> {
        let running = match target.kind {
            ReleaseKind::App => record
                .committed
                .as_ref()
                .map(|c| c.version.clone())
                .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned()),
            ReleaseKind::Os => match running_os_version(&self.os_release) {
                Some(version) => version,
                None if allow_downgrade => return Ok(false),
                None => return Err(InstallError::OsVersionUnknown(self.os_release.clone())),
            },
        };
        match compare_versions(&target.version, &running) {
            std::cmp::Ordering::Equal => Ok(true),
            std::cmp::Ordering::Less if !allow_downgrade => Err(InstallError::Downgrade {
                version: target.version.clone(),
                committed: running,
            }),
            _ => Ok(false),
        }
    }

    /// Steps 2 to 4 for the kiosk application: into `slot` (unless it holds the release
    /// already), then the switch to it as the release on trial.
    async fn switch_app(
        &self,
        repository: &TrustedRepository,
        target: ReleaseTarget,
        slot: Slot,
        rollout_id: i64,
        allow_downgrade: bool,
        progress: &mut impl FnMut(Step),
    ) -> Result<Outcome, InstallError> {
        let sha256 = target.sha256_hex();
        if self.slots.protected(slot).is_ok() && self.slots.holds(slot, &sha256) {
            progress(Step::Reused { slot });
        } else {
            let partial = self.download(repository, &target, progress).await?;
            progress(Step::Verified {
                sha256: sha256.clone(),
            });
            // The release kept for going back is about to be overwritten.
            self.slots.update(|r| {
                if r.previous.as_ref().is_some_and(|p| p.slot == slot) {
                    r.previous = None;
                }
            })?;
            let request = PlaceRequest {
                id: request_id(),
                version: target.version.clone(),
                slot,
                download: format!("{}.partial", target.name),
            };
            let placed = place_or_ask(&self.slots, &self.root, request, allow_downgrade).await?;
            if !placed.sha256.eq_ignore_ascii_case(&sha256) {
                return Err(Refusal::HashMismatch(target.version.clone()).into());
            }
            let _ = std::fs::remove_file(&partial);
            progress(Step::Placed { slot });
        }
        let now = crate::unix_now();
        self.slots.update(|r| {
            r.trial = Some(Trial {
                release: Installed {
                    slot,
                    version: target.version.clone(),
                    sha256: sha256.clone(),
                },
                rollout_id,
                starts: 0,
                switched_at: now,
            });
            r.report(
                rollout_id,
                &target.version,
                UpdateState::Installing,
                &format!("switched to slot {}", slot.name()),
                now,
            );
        })?;
        progress(Step::Switched { slot });
        Ok(Outcome::Switched {
            version: target.version,
            slot,
        })
    }

    /// Step 2 for a system image, then RAUC installs it; the record remembers which system
    /// booted before, so a boot loader falling back is noticed after the reboot.
    async fn hand_to_rauc(
        &self,
        repository: &TrustedRepository,
        target: ReleaseTarget,
        rollout_id: i64,
        progress: &mut impl FnMut(Step),
    ) -> Result<Outcome, InstallError> {
        let bundle = self.download(repository, &target, progress).await?;
        progress(Step::Verified {
            sha256: target.sha256_hex(),
        });
        let rauc = self.rauc.clone();
        let path = bundle.clone();
        let booted = tokio::task::spawn_blocking(move || {
            rauc.info(&path)?;
            let booted = rauc.booted()?;
            rauc.install(&path)?;
            Ok::<_, RaucError>(booted)
        })
        .await
        .map_err(|e| RaucError::Unexpected {
            action: "install".into(),
            detail: e.to_string(),
        })??;
        let _ = std::fs::remove_file(&bundle);
        let now = crate::unix_now();
        self.slots.update(|r| {
            r.os_trial = Some(OsTrial {
                version: target.version.clone(),
                rollout_id,
                booted_before: booted,
                installed_at: now,
            });
            r.report(
                rollout_id,
                &target.version,
                UpdateState::Installing,
                "installed by RAUC; rebooting",
                now,
            );
        })?;
        progress(Step::HandedToRauc);
        Ok(Outcome::HandedToRauc {
            version: target.version,
        })
    }

    /// Downloads `target` into the download folder (resuming), verified; returns its path.
    async fn download(
        &self,
        repository: &TrustedRepository,
        target: &ReleaseTarget,
        progress: &mut impl FnMut(Step),
    ) -> Result<PathBuf, InstallError> {
        let folder = self.slots.downloads();
        std::fs::create_dir_all(&folder).map_err(|source| InstallError::Io {
            what: "cannot make the download folder",
            path: folder.clone(),
            source,
        })?;
        remove_other_downloads(&folder, &target.name);
        let partial = folder.join(format!("{}.partial", target.name));
        let mut last_step = 0u64;
        repository
            .download(target, &partial, |done, total| {
                // A line per MiB at most.
                if done == total || done >= last_step + (1 << 20) || done < last_step {
                    last_step = done;
                    progress(Step::Downloading { done, total });
                }
            })
            .await?;
        Ok(partial)
    }
}

/// The release version of the running system: `IMAGE_VERSION=` in its `os-release`, which
/// the image build writes on the read-only root (a system image's version is that of the
/// image inside it), so neither the platform nor the kiosk user can change what it says.
pub fn running_os_version(os_release: &Path) -> Option<String> {
    let text = std::fs::read_to_string(os_release).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("IMAGE_VERSION="))
        .map(|value| {
            value
                .trim()
                .trim_matches(|c| c == '"' || c == '\'')
                .to_owned()
        })
        .filter(|version| !version.is_empty())
}

/// Drops partial downloads of other releases: only the one being installed may resume.
fn remove_other_downloads(folder: &Path, keep: &str) {
    let keep = format!("{keep}.partial");
    if let Ok(entries) = std::fs::read_dir(folder) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy() != keep {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// The release `wanted` of `kind` for this terminal's architecture, as the signed metadata
/// lists it.
fn find_target(
    repository: &TrustedRepository,
    wanted: &Wanted,
    kind: ReleaseKind,
) -> Result<ReleaseTarget, InstallError> {
    match wanted {
        Wanted::Version(version) => repository.release(version, kind, ARCH),
        Wanted::Newest => repository.newest(kind, ARCH),
    }
    .ok_or_else(|| InstallError::Unknown {
        wanted: match wanted {
            Wanted::Version(v) => v.clone(),
            Wanted::Newest => format!("of kind {}", kind.as_str()),
        },
        arch: ARCH.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_running_system_version_is_the_images_own() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("os-release");
        std::fs::write(
            &path,
            "ID=debian\nVERSION_ID=12\nIMAGE_VERSION=\"2026.11.2\"\n",
        )
        .expect("write");
        assert_eq!(running_os_version(&path).as_deref(), Some("2026.11.2"));
        // VERSION_ID is Debian's, not the image's: no image version, no guess.
        std::fs::write(&path, "ID=debian\nVERSION_ID=12\nIMAGE_VERSION=\n").expect("write");
        assert_eq!(running_os_version(&path), None);
        assert_eq!(running_os_version(&dir.path().join("missing")), None);
    }
}
