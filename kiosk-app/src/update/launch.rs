//! Which binary `kiosk run` becomes.
//!
//! systemd always starts the packaged `/usr/bin/kiosk`. Before it opens a window it reads the
//! update record and, when a slot should run instead, replaces itself with that slot's binary
//! (`exec`, same process id, so systemd's watchdog and notifications still reach it). A
//! release on trial is counted each time it is started; one that has been started
//! [`MAX_TRIAL_STARTS`] times without committing — it crashed, hung until the watchdog killed
//! it, or lost power twice — is rolled back here, before it gets another chance. Anything
//! unusable (a missing or altered file, a record that cannot be read or written) leaves the
//! packaged binary running: it is on the read-only root and always starts.

use kiosk_protocol::ReleaseKind;

use super::UpdateSettings;
use super::slots::{Installed, MAX_TRIAL_STARTS, Slot, SlotUnusable, Slots, UpdateRecord};

/// Set by the packaged binary for the slot binary it starts, so that one knows it was chosen
/// and does not choose again.
pub const SLOT_ENV: &str = "KIOSK_SLOT";

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    /// The packaged binary, this process.
    Package,
    /// The binary in `slot`; `trial` when it is on trial.
    Slot {
        /// The slot.
        slot: Slot,
        /// Whether it is the release on trial.
        trial: bool,
    },
}

/// Decides what to run and changes the record for it (a trial start counted, a trial rolled
/// back). `usable` checks a slot's binary (present, executable, the signed hash).
pub fn plan(
    record: &mut UpdateRecord,
    usable: impl Fn(&Installed) -> Result<(), SlotUnusable>,
    now: i64,
) -> Launch {
    if let Some(trial) = &record.trial {
        if trial.starts >= MAX_TRIAL_STARTS {
            let reason = format!(
                "crashed_on_start: started {} times without passing its health check",
                trial.starts
            );
            record.roll_back_trial(&reason, now);
        } else if let Err(why) = usable(&trial.release) {
            record.roll_back_trial(&format!("slot_unusable: {why}"), now);
        } else if let Some(trial) = record.trial.as_mut() {
            trial.starts += 1;
            return Launch::Slot {
                slot: trial.release.slot,
                trial: true,
            };
        }
    }
    if let Some(committed) = &record.committed {
        match usable(committed) {
            Ok(()) => {
                return Launch::Slot {
                    slot: committed.slot,
                    trial: false,
                };
            }
            Err(why) => {
                tracing::error!(
                    version = %committed.version,
                    slot = committed.slot.name(),
                    problem = %why,
                    "the committed release cannot start; running the packaged kiosk"
                );
                record.committed = None;
            }
        }
    }
    Launch::Package
}

/// The release this process runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningRelease {
    /// The release version (the packaged binary's own version when no slot runs).
    pub version: String,
    /// The slot it runs from; `None` for the packaged binary.
    pub slot: Option<Slot>,
    /// Whether it is on trial (it commits itself once healthy).
    pub trial: bool,
    /// The version the terminal counts as installed, which heartbeats report: this one, or
    /// while it is on trial the committed one it would go back to (a platform must not count
    /// a release as a success before its health check passed).
    pub settled: String,
}

impl RunningRelease {
    /// The packaged binary.
    pub fn package() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            slot: None,
            trial: false,
            settled: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// Called first by `kiosk run`: becomes the slot binary that should run (does not return
/// then), or says which release this process is. A slot runs only when its binary has the
/// hash the signed release metadata lists ([`signed_and_intact`]).
pub fn hand_over(settings: &UpdateSettings) -> RunningRelease {
    let slots = settings.slots();
    if let Some(chosen) = std::env::var_os(SLOT_ENV) {
        // SAFETY: called at the start of `kiosk run`, before any other thread exists.
        unsafe { std::env::remove_var(SLOT_ENV) };
        return running_from(&slots, &chosen.to_string_lossy());
    }
    let mut record = match slots.load() {
        Ok(record) => record,
        Err(e) => {
            tracing::error!(error = %e, "update record unreadable; running the packaged kiosk");
            return RunningRelease::package();
        }
    };
    let anchor = std::fs::read(&settings.root).ok();
    let launch = plan(
        &mut record,
        |i| signed_and_intact(&slots, anchor.as_deref(), i),
        crate::unix_now(),
    );
    if let Err(e) = slots.save(&record) {
        // A trial start that cannot be counted must not run: it could crash forever.
        tracing::error!(error = %e, "cannot record the start; running the packaged kiosk");
        return RunningRelease::package();
    }
    let Launch::Slot { slot, trial } = launch else {
        return RunningRelease::package();
    };
    let binary = slots.binary(slot);
    tracing::info!(slot = slot.name(), trial, "starting the installed release");
    let error = {
        use std::os::unix::process::CommandExt;
        std::process::Command::new(&binary)
            .args(std::env::args_os().skip(1))
            .env(SLOT_ENV, slot.name())
            .exec()
    };
    // exec returns only when it failed.
    tracing::error!(binary = %binary.display(), error = %error, "cannot start the installed release");
    let why = format!("cannot_start: {error}");
    let _ = slots.update(|record| {
        if trial {
            record.roll_back_trial(&why, crate::unix_now());
        } else {
            record.committed = None;
        }
    });
    RunningRelease::package()
}

/// Checks that `installed`'s binary is there, executable and has its hash ([`Slots::check`]),
/// and that this hash is the one the signed targets metadata lists for its version.
///
/// The record naming the hash is in the data folder, writable by the kiosk user, and so are
/// the slots: whoever can write there could put a binary of their own and its hash side by
/// side. The targets metadata kept by the last verified check is signed by keys the terminal
/// trusts through its anchor (`anchor`, the trusted root's bytes), so the most such a writer
/// can do is point at another release those keys signed.
pub fn signed_and_intact(
    slots: &Slots,
    anchor: Option<&[u8]>,
    installed: &Installed,
) -> Result<(), SlotUnusable> {
    slots.check(installed)?;
    let path = slots.binary(installed.slot);
    let Some(anchor) = anchor else {
        return Err(SlotUnusable::NotSigned {
            path,
            detail: "no trusted release root".into(),
        });
    };
    match kiosk_release::client::kept_release(
        anchor,
        &slots.metadata_store(),
        &installed.version,
        ReleaseKind::App,
        super::install::ARCH,
    ) {
        Ok(target) if target.sha256_hex().eq_ignore_ascii_case(&installed.sha256) => Ok(()),
        Ok(_) => Err(SlotUnusable::Altered { path }),
        Err(e) => Err(SlotUnusable::NotSigned {
            path,
            detail: e.to_string(),
        }),
    }
}

/// The release in slot `name`, as the record describes it.
fn running_from(slots: &Slots, name: &str) -> RunningRelease {
    let record = slots.load().unwrap_or_default();
    let Some(slot) = Slot::parse(name) else {
        return RunningRelease::package();
    };
    let committed = record
        .committed
        .as_ref()
        .map_or(env!("CARGO_PKG_VERSION"), |c| c.version.as_str())
        .to_owned();
    if let Some(trial) = record.trial.as_ref().filter(|t| t.release.slot == slot) {
        return RunningRelease {
            version: trial.release.version.clone(),
            slot: Some(slot),
            trial: true,
            settled: committed,
        };
    }
    let version = record
        .committed
        .filter(|c| c.slot == slot)
        .map_or_else(|| env!("CARGO_PKG_VERSION").to_owned(), |c| c.version);
    RunningRelease {
        settled: version.clone(),
        version,
        slot: Some(slot),
        trial: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::update::fixtures::{own_slots, protect, signed_store};
    use crate::update::slots::Trial;
    use kiosk_protocol::UpdateState;

    fn installed(slot: Slot, version: &str) -> Installed {
        Installed {
            slot,
            version: version.into(),
            sha256: "ab".repeat(32),
        }
    }

    fn on_trial() -> UpdateRecord {
        UpdateRecord {
            committed: Some(installed(Slot::A, "0.2.0")),
            trial: Some(Trial {
                release: installed(Slot::B, "0.3.0"),
                rollout_id: 7,
                starts: 0,
                switched_at: 0,
            }),
            ..UpdateRecord::default()
        }
    }

    #[test]
    fn a_trial_gets_two_starts_then_the_committed_release_comes_back() {
        let mut record = on_trial();
        let ok = |_: &Installed| Ok(());
        for start in 1..=MAX_TRIAL_STARTS {
            assert_eq!(
                plan(&mut record, ok, 0),
                Launch::Slot {
                    slot: Slot::B,
                    trial: true
                }
            );
            assert_eq!(record.trial.as_ref().map(|t| t.starts), Some(start));
        }
        assert_eq!(
            plan(&mut record, ok, 0),
            Launch::Slot {
                slot: Slot::A,
                trial: false
            }
        );
        assert!(record.trial.is_none());
        assert!(record.has_failed("0.3.0"));
        let report = record.reports.last().expect("a report");
        assert_eq!(report.state, UpdateState::RolledBack);
        assert_eq!(report.rollout_id, 7);
        assert!(
            report.detail.starts_with("crashed_on_start"),
            "{}",
            report.detail
        );
    }

    #[test]
    fn an_altered_trial_binary_is_never_started() {
        let mut record = on_trial();
        let launch = plan(
            &mut record,
            |i| {
                if i.slot == Slot::B {
                    Err(SlotUnusable::Altered {
                        path: "slot-b/kiosk".into(),
                    })
                } else {
                    Ok(())
                }
            },
            0,
        );
        assert_eq!(
            launch,
            Launch::Slot {
                slot: Slot::A,
                trial: false
            }
        );
        assert!(record.reports[0].detail.starts_with("slot_unusable"));
    }

    #[test]
    fn an_unusable_committed_release_falls_back_to_the_package() {
        let mut record = UpdateRecord {
            committed: Some(installed(Slot::A, "0.2.0")),
            ..UpdateRecord::default()
        };
        assert_eq!(
            plan(
                &mut record,
                |_| {
                    Err(SlotUnusable::NotExecutable {
                        path: "slot-a/kiosk".into(),
                    })
                },
                0
            ),
            Launch::Package
        );
        assert!(record.committed.is_none());
        assert_eq!(
            plan(&mut UpdateRecord::default(), |_| Ok(()), 0),
            Launch::Package
        );
    }

    #[test]
    fn a_release_on_trial_reports_the_committed_one_as_installed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let slots = own_slots(dir.path());
        slots.save(&on_trial()).expect("saved");
        let running = running_from(&slots, "b");
        assert_eq!(running.version, "0.3.0");
        assert!(running.trial);
        assert_eq!(running.settled, "0.2.0");
        let running = running_from(&slots, "a");
        assert_eq!((running.version.as_str(), running.trial), ("0.2.0", false));
        assert_eq!(running.settled, "0.2.0");
    }

    /// Someone who can write the data folder puts a binary of their own in a slot and its
    /// hash in the record: the launcher does not start it, because the signed metadata lists
    /// another hash for that release.
    #[test]
    fn a_slot_whose_binary_and_record_were_both_replaced_never_starts() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let slots = own_slots(dir.path());
        let genuine = b"#!/bin/sh\necho genuine\n".to_vec();
        let anchor = signed_store(dir.path(), &slots, &[("0.2.0", &genuine)]);
        let binary = slots.binary(Slot::A);
        std::fs::create_dir_all(binary.parent().expect("slot")).expect("mkdir");
        let place = |bytes: &[u8]| {
            std::fs::write(&binary, bytes).expect("write");
            std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755))
                .expect("mode");
            Installed {
                slot: Slot::A,
                version: "0.2.0".into(),
                sha256: super::super::slots::file_sha256(&binary).expect("hash"),
            }
        };

        let installed = place(&genuine);
        signed_and_intact(&slots, Some(&anchor), &installed).expect("the signed release starts");
        assert!(matches!(
            signed_and_intact(&slots, None, &installed),
            Err(SlotUnusable::NotSigned { .. })
        ));
        let unlisted = Installed {
            version: "0.3.0".into(),
            ..installed.clone()
        };
        assert!(matches!(
            signed_and_intact(&slots, Some(&anchor), &unlisted),
            Err(SlotUnusable::NotSigned { .. })
        ));

        let forged = place(b"#!/bin/sh\necho forged\n");
        assert!(matches!(
            signed_and_intact(&slots, Some(&anchor), &forged),
            Err(SlotUnusable::Altered { .. })
        ));
        let mut record = UpdateRecord {
            committed: Some(forged),
            ..UpdateRecord::default()
        };
        let launch = plan(
            &mut record,
            |i| signed_and_intact(&slots, Some(&anchor), i),
            1,
        );
        assert_eq!(launch, Launch::Package);
    }

    /// The slot files belong to root on a terminal: a slot file or folder that group or
    /// others may write, or that belongs to another user, is never started, even with its
    /// signed hash (its content could change between the check and the start).
    #[test]
    fn a_slot_anyone_but_its_owner_could_change_never_starts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let slots = own_slots(dir.path());
        let genuine = b"#!/bin/sh\necho genuine\n".to_vec();
        let anchor = signed_store(dir.path(), &slots, &[("0.2.0", &genuine)]);
        let binary = slots.binary(Slot::A);
        std::fs::write(&binary, &genuine).expect("write");
        protect(&binary, 0o755);
        let installed = Installed {
            slot: Slot::A,
            version: "0.2.0".into(),
            sha256: super::super::slots::file_sha256(&binary).expect("hash"),
        };
        let starts = |slots: &Slots| {
            let mut record = UpdateRecord {
                committed: Some(installed.clone()),
                ..UpdateRecord::default()
            };
            plan(
                &mut record,
                |i| signed_and_intact(slots, Some(&anchor), i),
                1,
            )
        };
        let unprotected = |slots: &Slots| {
            matches!(
                signed_and_intact(slots, Some(&anchor), &installed),
                Err(SlotUnusable::Unprotected { .. })
            )
        };
        assert_eq!(
            starts(&slots),
            Launch::Slot {
                slot: Slot::A,
                trial: false
            }
        );

        for mode in [0o775, 0o757] {
            protect(&binary, mode);
            assert!(unprotected(&slots), "binary mode {mode:o}");
            assert_eq!(starts(&slots), Launch::Package);
        }
        protect(&binary, 0o755);
        protect(&dir.path().join("slots/a"), 0o777);
        assert!(unprotected(&slots), "a slot folder anyone may write");
        assert_eq!(starts(&slots), Launch::Package);
        protect(&dir.path().join("slots/a"), 0o755);
        protect(&dir.path().join("slots"), 0o775);
        assert!(unprotected(&slots), "a slot root the group may write");
        protect(&dir.path().join("slots"), 0o755);

        let someone_else = Slots::new(
            &dir.path().join("data"),
            &dir.path().join("slots"),
            slots.slot_owner().wrapping_add(1),
        );
        assert!(unprotected(&someone_else), "owned by another user");
        assert_eq!(starts(&someone_else), Launch::Package);
        assert_eq!(
            starts(&slots),
            Launch::Slot {
                slot: Slot::A,
                trial: false
            }
        );
    }
}
