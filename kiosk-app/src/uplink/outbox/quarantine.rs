//! A damaged outbox file is moved aside (kept for recovery) and a new one started, so a torn
//! write does not fail every submission.

use std::path::{Path, PathBuf};

use super::{OUTBOX_FILE, Outbox, OutboxError};
use crate::config::KioskConfig;
use crate::unix_now;

impl Outbox {
    /// Opens the outbox of the data folder `config` names, at its capacity, for the running
    /// kiosk and its commands (a damaged file is quarantined, see [`Outbox::open_or_quarantine`]).
    pub fn open_configured(config: &KioskConfig) -> Result<Self, OutboxError> {
        Self::open_or_quarantine(&Self::path_in(&config.data_dir), config.outbox.capacity)
            .map(|(outbox, _)| outbox)
    }

    /// Opens the outbox at `path` for the running kiosk. A file SQLite finds damaged (a torn
    /// write on a failing card, a file overwritten) is not left to fail every submission: it
    /// is moved aside as `outbox.db.corrupt-UNIXTIME` (with its WAL), kept because its sealed
    /// items may still be recovered by operations, and a new outbox is started holding an
    /// `outbox_quarantined` event for the platform. Returns the outbox and, after a
    /// quarantine, where the damaged file went. Other failures (permissions, a missing
    /// folder) are errors as with [`Outbox::open`]: they are not the file's fault.
    pub fn open_or_quarantine(
        path: &Path,
        capacity: u32,
    ) -> Result<(Self, Option<PathBuf>), OutboxError> {
        let damage = match Self::open(path, capacity).and_then(|outbox| {
            outbox.check_integrity()?;
            Ok(outbox)
        }) {
            Ok(outbox) => return Ok((outbox, None)),
            Err(OutboxError::Damaged { detail, .. }) => detail,
            Err(e) => return Err(e),
        };
        let name = path.file_name().map_or_else(
            || OUTBOX_FILE.to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        let aside = path.with_file_name(format!("{name}.corrupt-{}", unix_now()));
        let move_aside = |from: &Path, to: &Path| match std::fs::rename(from, to) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(OutboxError::Storage {
                path: from.to_owned(),
                detail: format!("damaged ({damage}) and cannot be moved aside: {e}"),
            }),
        };
        move_aside(path, &aside)?;
        for suffix in ["-wal", "-shm"] {
            let mut from = path.as_os_str().to_owned();
            from.push(suffix);
            let mut to = aside.as_os_str().to_owned();
            to.push(suffix);
            move_aside(Path::new(&from), Path::new(&to))?;
        }
        tracing::error!(
            damage = %damage,
            kept_as = %aside.display(),
            "the outbox was damaged; kept aside, and a new one started"
        );
        let outbox = Self::open(path, capacity)?;
        outbox.keep_event(
            "outbox_quarantined",
            &format!(
                "the outbox could not be read ({damage}); kept as {} on the terminal for recovery",
                aside
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            ),
        )?;
        Ok((outbox, Some(aside)))
    }

    /// SQLite's quick check of every page; damage is [`OutboxError::Damaged`].
    fn check_integrity(&self) -> Result<(), OutboxError> {
        let verdict: String = self
            .lock()
            .query_row("PRAGMA quick_check", [], |row| row.get(0))
            .map_err(|e| self.storage(e))?;
        if verdict == "ok" {
            Ok(())
        } else {
            Err(OutboxError::Damaged {
                path: self.path.clone(),
                detail: verdict.lines().next().unwrap_or_default().to_owned(),
            })
        }
    }
}
