//! The terminal's two application slots and the record of what runs from them.
//!
//! The packaged `/usr/bin/kiosk` on the read-only root is always there and always bootable.
//! Releases installed over the air live in `data_dir/updates/slots/{a,b}/kiosk`; the
//! `UpdateRecord` (`data_dir/updates/state.json`, replaced atomically) says which slot is
//! committed, which one is on trial, and what has not been reported yet. Every step changes
//! either a slot's files or the record, in an order that leaves the record pointing only at
//! complete, verified files: a power cut at any point leaves the last committed release (or
//! the packaged one) to start.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use kiosk_protocol::{UpdateReport, UpdateState};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How many times a release on trial is started before the terminal goes back: the first
/// start, and one more in case the first was cut short by a power loss rather than a crash.
pub const MAX_TRIAL_STARTS: u32 = 2;

/// Reports kept for the platform at most (the oldest go first): a terminal offline for a long
/// time must not grow its record without bound.
const MAX_PENDING_REPORTS: usize = 32;

/// Releases remembered as failed at most.
const MAX_FAILED: usize = 16;

/// Version of the record's format; a newer one is read as far as it can be.
const FORMAT: u32 = 1;

/// One of the two application slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Slot {
    /// `slots/a`.
    A,
    /// `slots/b`.
    B,
}

impl Slot {
    /// The slot's folder name.
    pub fn name(self) -> &'static str {
        match self {
            Slot::A => "a",
            Slot::B => "b",
        }
    }

    /// The other slot.
    pub fn other(self) -> Slot {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }

    /// The slot named `name`.
    pub fn parse(name: &str) -> Option<Slot> {
        match name {
            "a" => Some(Slot::A),
            "b" => Some(Slot::B),
            _ => None,
        }
    }
}

/// A release installed in a slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    /// Where it is.
    pub slot: Slot,
    /// Its release version.
    pub version: String,
    /// SHA-256 of its `kiosk` binary, hex, as its signed metadata gave it.
    pub sha256: String,
}

/// A release switched to and not yet committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trial {
    /// The release.
    pub release: Installed,
    /// The rollout that offered it (0: applied by a technician).
    pub rollout_id: i64,
    /// How many times it has been started.
    pub starts: u32,
    /// When the terminal switched to it, Unix seconds.
    pub switched_at: i64,
}

/// A release that was refused or rolled back, not to be tried again by itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedRelease {
    /// Its version.
    pub version: String,
    /// Why, as a short code and words.
    pub reason: String,
    /// When, Unix seconds.
    pub at: i64,
}

/// An OS image handed to RAUC and waiting for its health check after the reboot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsTrial {
    /// The image's release version.
    pub version: String,
    /// The rollout that offered it.
    pub rollout_id: i64,
    /// The root slot RAUC was booted from before the install (`rootfs.0`…), to tell after the
    /// reboot whether the new one or the old one came up.
    pub booted_before: String,
    /// When it was installed, Unix seconds.
    pub installed_at: i64,
}

/// What `state.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UpdateRecord {
    /// The record's format.
    #[serde(default)]
    pub format: u32,
    /// The committed release; `None` runs the packaged binary.
    #[serde(default)]
    pub committed: Option<Installed>,
    /// What was committed before it (for `kiosk update rollback`); `None` is the packaged
    /// binary.
    #[serde(default)]
    pub previous: Option<Installed>,
    /// The release on trial.
    #[serde(default)]
    pub trial: Option<Trial>,
    /// An OS image on trial.
    #[serde(default)]
    pub os_trial: Option<OsTrial>,
    /// Reports the platform has not acknowledged yet, oldest first.
    #[serde(default)]
    pub reports: Vec<UpdateReport>,
    /// Releases that failed here, newest last.
    #[serde(default)]
    pub failed: Vec<FailedRelease>,
}

impl UpdateRecord {
    /// Queues a report for the platform.
    pub fn report(
        &mut self,
        rollout_id: i64,
        version: &str,
        state: UpdateState,
        detail: &str,
        at: i64,
    ) {
        self.reports.push(UpdateReport {
            rollout_id,
            version: version.to_owned(),
            state,
            detail: detail.chars().take(500).collect(),
            at,
        });
        let excess = self.reports.len().saturating_sub(MAX_PENDING_REPORTS);
        self.reports.drain(..excess);
    }

    /// Remembers that `version` failed here.
    pub fn mark_failed(&mut self, version: &str, reason: &str, at: i64) {
        self.failed.retain(|f| f.version != version);
        self.failed.push(FailedRelease {
            version: version.to_owned(),
            reason: reason.chars().take(200).collect(),
            at,
        });
        let excess = self.failed.len().saturating_sub(MAX_FAILED);
        self.failed.drain(..excess);
    }

    /// Whether `version` failed here before.
    pub fn has_failed(&self, version: &str) -> bool {
        self.failed.iter().any(|f| f.version == version)
    }

    /// The slot a new release goes into: never the committed one, never one on trial.
    pub fn inactive_slot(&self) -> Slot {
        match (&self.committed, &self.trial) {
            (_, Some(trial)) => trial.release.slot.other(),
            (Some(committed), None) => committed.slot.other(),
            (None, None) => Slot::A,
        }
    }

    /// Goes back from the release on trial to the committed one, recording why.
    /// Returns the trial that ended, if there was one.
    pub fn roll_back_trial(&mut self, reason: &str, at: i64) -> Option<Trial> {
        let trial = self.trial.take()?;
        self.mark_failed(&trial.release.version, reason, at);
        self.report(
            trial.rollout_id,
            &trial.release.version,
            UpdateState::RolledBack,
            reason,
            at,
        );
        Some(trial)
    }

    /// Makes the release on trial the committed one. Returns it, if there was one.
    pub fn commit_trial(&mut self, at: i64) -> Option<Installed> {
        let trial = self.trial.take()?;
        self.previous = self.committed.take();
        self.committed = Some(trial.release.clone());
        self.failed.retain(|f| f.version != trial.release.version);
        self.report(
            trial.rollout_id,
            &trial.release.version,
            UpdateState::Committed,
            "health check passed",
            at,
        );
        Some(trial.release)
    }
}

/// What went wrong with the slots or their record.
#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    /// A file could not be read or written.
    #[error("{what} ({path}): {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS's answer.
        source: std::io::Error,
    },
    /// The record is not JSON the terminal can read.
    #[error("the update record {path} cannot be read: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The operation does not fit the current state.
    #[error("{0}")]
    State(String),
}

/// Why a slot's binary cannot be started.
#[derive(Debug, thiserror::Error)]
pub enum SlotUnusable {
    /// The binary is missing or cannot be read.
    #[error("{}: {source}", path.display())]
    Unreadable {
        /// The binary.
        path: PathBuf,
        /// The OS's answer.
        source: std::io::Error,
    },
    /// The binary has no execute permission.
    #[error("{} is not executable", path.display())]
    NotExecutable {
        /// The binary.
        path: PathBuf,
    },
    /// Someone other than the slot owner could change the binary.
    #[error("{} {detail}; only the slot owner may be able to change a slot", path.display())]
    Unprotected {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The binary is not the one the release metadata signed.
    #[error("{} does not have its signed hash", path.display())]
    Altered {
        /// The binary.
        path: PathBuf,
    },
    /// The release is not in the signed metadata the terminal kept, or that metadata does not
    /// verify against the trusted root.
    #[error("{} is not a release the kept signed metadata lists: {detail}", path.display())]
    NotSigned {
        /// The binary.
        path: PathBuf,
        /// Why.
        detail: String,
    },
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> SlotError + 'a {
    move |source| SlotError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// The update folder `data_dir/updates` (record, downloads, kept metadata) and the slot
/// folder holding the installed binaries.
#[derive(Debug, Clone)]
pub struct Slots {
    root: PathBuf,
    slot_dir: PathBuf,
    slot_owner: u32,
}

impl Slots {
    /// The update folder under `data_dir` (`data_dir/updates`), with the terminal's slots in
    /// [`crate::config::SLOT_DIR`], owned by root.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self::new(data_dir, Path::new(crate::config::SLOT_DIR), 0)
    }

    /// The update folder under `data_dir`, with the slots in `slot_dir`, which must belong to
    /// the user `slot_owner`.
    pub fn new(data_dir: &Path, slot_dir: &Path, slot_owner: u32) -> Self {
        Self {
            root: data_dir.join("updates"),
            slot_dir: slot_dir.to_path_buf(),
            slot_owner,
        }
    }

    /// The folder holding the record, downloads and the trusted metadata.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder holding the slots.
    pub fn slot_dir(&self) -> &Path {
        &self.slot_dir
    }

    /// The user id that owns the slots.
    pub fn slot_owner(&self) -> u32 {
        self.slot_owner
    }

    /// Where downloads are kept until verified.
    pub fn downloads(&self) -> PathBuf {
        self.root.join("downloads")
    }

    /// The `kiosk` binary of `slot`.
    pub fn binary(&self, slot: Slot) -> PathBuf {
        self.slot_dir.join(slot.name()).join("kiosk")
    }

    fn record_path(&self) -> PathBuf {
        self.root.join("state.json")
    }

    /// Reads the record; a terminal that never updated has an empty one. A record that cannot
    /// be read is kept aside as `state.json.corrupt` and reported as an error: the caller runs
    /// the packaged binary, which always works.
    pub fn load(&self) -> Result<UpdateRecord, SlotError> {
        let path = self.record_path();
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<UpdateRecord>(&bytes).map_err(|e| {
                let _ = fs::rename(&path, path.with_extension("json.corrupt"));
                SlotError::Corrupt {
                    path: path.clone(),
                    reason: e.to_string(),
                }
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(UpdateRecord {
                format: FORMAT,
                ..UpdateRecord::default()
            }),
            Err(e) => Err(io("cannot read the update record", &path)(e)),
        }
    }

    /// Replaces the record atomically (temporary file, fsync, rename, fsync of the folder).
    pub fn save(&self, record: &UpdateRecord) -> Result<(), SlotError> {
        let path = self.record_path();
        let mut record = record.clone();
        record.format = FORMAT;
        let bytes =
            serde_json::to_vec_pretty(&record).map_err(|e| SlotError::State(e.to_string()))?;
        crate::write_atomically(&path, &bytes).map_err(io("cannot write the update record", &path))
    }

    /// Loads the record, changes it with `change` and saves it; returns what `change` returned.
    pub fn update<T>(&self, change: impl FnOnce(&mut UpdateRecord) -> T) -> Result<T, SlotError> {
        let mut record = self.load()?;
        let out = change(&mut record);
        self.save(&record)?;
        Ok(out)
    }

    /// Whether `slot` holds a binary whose SHA-256 is `sha256` (hex).
    pub fn holds(&self, slot: Slot, sha256: &str) -> bool {
        file_sha256(&self.binary(slot)).is_ok_and(|h| h.eq_ignore_ascii_case(sha256))
    }

    /// Where the release metadata verified last is kept (`updates/tuf/`: the roots followed,
    /// the last timestamp, snapshot and targets).
    pub fn metadata_store(&self) -> PathBuf {
        self.root.join("tuf")
    }

    /// Checks that `installed`'s binary is there, protected ([`Slots::protected`]),
    /// executable and has its signed hash; the problem in words otherwise.
    pub fn check(&self, installed: &Installed) -> Result<(), SlotUnusable> {
        let path = self.binary(installed.slot);
        let meta = self.protected(installed.slot)?;
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(SlotUnusable::NotExecutable { path });
        }
        if !self.holds(installed.slot, &installed.sha256) {
            return Err(SlotUnusable::Altered { path });
        }
        Ok(())
    }

    /// Checks that nobody but the slot owner can change `slot`'s binary: the slot folder, the
    /// slot's own folder and the binary (a regular file, not a link) belong to the owner and
    /// are writable by neither group nor others. Returns the binary's metadata.
    ///
    /// Whoever could write one of them could swap the binary between the launcher's hash
    /// check and its `exec`, or replace it with an older signed release.
    pub fn protected(&self, slot: Slot) -> Result<fs::Metadata, SlotUnusable> {
        self.protected_folders(slot)?;
        self.owned(&self.binary(slot), false)
    }

    /// Checks the slot folder and `slot`'s folder as [`Slots::protected`] does.
    pub fn protected_folders(&self, slot: Slot) -> Result<(), SlotUnusable> {
        self.owned(&self.slot_dir, true)?;
        self.owned(&self.slot_dir.join(slot.name()), true)?;
        Ok(())
    }

    /// Checks that `path` is a folder (`directory`) or a regular file, not a link, belongs
    /// to the slot owner and is writable by neither group nor others.
    fn owned(&self, path: &Path, directory: bool) -> Result<fs::Metadata, SlotUnusable> {
        let meta = fs::symlink_metadata(path).map_err(|source| SlotUnusable::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        let kind_ok = if directory {
            meta.file_type().is_dir()
        } else {
            meta.file_type().is_file()
        };
        let problem = if !kind_ok {
            format!(
                "is a link or not a {}",
                if directory { "folder" } else { "file" }
            )
        } else if meta.uid() != self.slot_owner {
            format!("belongs to user {}, not {}", meta.uid(), self.slot_owner)
        } else if meta.mode() & 0o022 != 0 {
            format!(
                "is writable by group or others (mode {:o})",
                meta.mode() & 0o7777
            )
        } else {
            return Ok(meta);
        };
        Err(SlotUnusable::Unprotected {
            path: path.to_owned(),
            detail: problem,
        })
    }

    /// Checks every slot the record points at ([`Slots::check`]). Returns the problems
    /// found, as lines for technicians.
    pub fn verify(&self, record: &UpdateRecord) -> Vec<String> {
        self.verify_with(record, |installed| self.check(installed))
    }

    /// Checks every slot the record points at with `usable` (the launcher's own check).
    /// Returns the problems found, as lines for technicians.
    pub fn verify_with(
        &self,
        record: &UpdateRecord,
        usable: impl Fn(&Installed) -> Result<(), SlotUnusable>,
    ) -> Vec<String> {
        let trial = record.trial.as_ref().map(|t| &t.release);
        [
            ("committed release", record.committed.as_ref()),
            ("release on trial", trial),
            ("previous release", record.previous.as_ref()),
        ]
        .into_iter()
        .filter_map(|(what, installed)| {
            let installed = installed?;
            usable(installed).err().map(|problem| {
                format!(
                    "{what} {} in slot {}: {problem}",
                    installed.version,
                    installed.slot.name()
                )
            })
        })
        .collect()
    }
}

/// SHA-256 of a file, hex.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(kiosk_protocol::auth::hex_encode(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installed(slot: Slot, version: &str) -> Installed {
        Installed {
            slot,
            version: version.into(),
            sha256: "00".repeat(32),
        }
    }

    #[test]
    fn new_releases_go_into_the_slot_nothing_runs_from() {
        let mut record = UpdateRecord::default();
        assert_eq!(record.inactive_slot(), Slot::A);
        record.committed = Some(installed(Slot::A, "0.2.0"));
        assert_eq!(record.inactive_slot(), Slot::B);
        record.trial = Some(Trial {
            release: installed(Slot::B, "0.3.0"),
            rollout_id: 1,
            starts: 0,
            switched_at: 0,
        });
        assert_eq!(record.inactive_slot(), Slot::A);
    }

    #[test]
    fn committing_keeps_the_previous_release_and_reports_once() {
        let mut record = UpdateRecord {
            committed: Some(installed(Slot::A, "0.2.0")),
            trial: Some(Trial {
                release: installed(Slot::B, "0.3.0"),
                rollout_id: 4,
                starts: 1,
                switched_at: 0,
            }),
            ..UpdateRecord::default()
        };
        let committed = record.commit_trial(10).expect("a trial");
        assert_eq!(committed.version, "0.3.0");
        assert_eq!(record.previous.as_ref().map(|p| p.slot), Some(Slot::A));
        assert_eq!(record.reports.len(), 1);
        assert_eq!(record.reports[0].state, UpdateState::Committed);
        assert!(record.commit_trial(11).is_none());
    }

    #[test]
    fn rolling_back_remembers_the_failure_and_reports_it() {
        let mut record = UpdateRecord {
            trial: Some(Trial {
                release: installed(Slot::A, "0.3.0"),
                rollout_id: 4,
                starts: 2,
                switched_at: 0,
            }),
            ..UpdateRecord::default()
        };
        record.roll_back_trial("crashed_on_start", 10);
        assert!(record.trial.is_none());
        assert!(record.has_failed("0.3.0"));
        assert_eq!(record.reports[0].state, UpdateState::RolledBack);
        assert_eq!(record.reports[0].detail, "crashed_on_start");
    }

    #[test]
    fn reports_and_failures_are_bounded() {
        let mut record = UpdateRecord::default();
        for i in 0..100 {
            record.report(1, "0.2.0", UpdateState::Downloading, "", i);
            record.mark_failed(&format!("0.{i}.0"), "x", i);
        }
        assert_eq!(record.reports.len(), MAX_PENDING_REPORTS);
        assert_eq!(record.reports[0].at, 100 - MAX_PENDING_REPORTS as i64);
        assert_eq!(record.failed.len(), MAX_FAILED);
    }

    #[test]
    fn a_slot_whose_file_changed_is_named_by_verify() {
        let dir = tempfile::tempdir().expect("temp dir");
        let slots = crate::update::fixtures::own_slots(dir.path());
        fs::write(slots.binary(Slot::A), b"#!/bin/sh\nexit 0\n").expect("write");
        crate::update::fixtures::protect(&slots.binary(Slot::A), 0o755);
        let sha = file_sha256(&slots.binary(Slot::A)).expect("hash");
        slots
            .update(|r| {
                r.committed = Some(Installed {
                    slot: Slot::A,
                    version: "0.2.0".into(),
                    sha256: sha.clone(),
                })
            })
            .expect("saved");
        assert!(slots.verify(&slots.load().expect("load")).is_empty());

        fs::write(slots.binary(Slot::A), b"tampered").expect("write");
        let problems = slots.verify(&slots.load().expect("load"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("hash"), "{problems:?}");
    }

    #[test]
    fn a_corrupt_record_is_kept_aside_and_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let slots = crate::update::fixtures::own_slots(dir.path());
        fs::create_dir_all(slots.root()).expect("root");
        fs::write(slots.root().join("state.json"), b"{ not json").expect("write");
        let err = slots.load().expect_err("corrupt");
        assert!(err.to_string().contains("state.json"), "{err}");
        assert!(slots.root().join("state.json.corrupt").exists());
        assert_eq!(
            slots.load().expect("fresh"),
            UpdateRecord {
                format: FORMAT,
                ..UpdateRecord::default()
            }
        );
    }
}
