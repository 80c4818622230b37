//! The disk reserve: new applications are refused before the data folder's file system is
//! full, so what must still be written (deleting delivered items, ratings, audit events,
//! logs) fits.

use super::{Outbox, OutboxError};

/// Room kept free on the data folder's file system: new applications are refused before the
/// disk is full, so deleting delivered items (which writes SQLite's journal first), ratings,
/// audit events and logs still fit.
pub const DISK_RESERVE_BYTES: u64 = 8 * 1024 * 1024;

impl Outbox {
    /// Refuses a new application (and its materials, `bytes` in all) while the data folder's
    /// file system has less than [`DISK_RESERVE_BYTES`] free after it: that room is kept for
    /// what a full disk would otherwise block — the outbox's own journal when the platform's
    /// receipts delete items, ratings, audit events, logs.
    pub(super) fn check_disk_room(&self, bytes: u64) -> Result<(), OutboxError> {
        match self.disk_room(bytes) {
            Err(OutboxError::DiskFull { .. }) => {
                // The journal may hold the room: fold it into the file and cut it to nothing.
                let _ = self
                    .lock()
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
                self.disk_room(bytes)
            }
            other => other,
        }
    }

    pub(super) fn disk_room(&self, bytes: u64) -> Result<(), OutboxError> {
        match nix::sys::statvfs::statvfs(self.folder()) {
            Ok(fs) => {
                // Pages the outbox freed (delivered items) are reused before the file grows.
                let free_pages: u64 = self
                    .lock()
                    .query_row(
                        "SELECT freelist_count * page_size FROM pragma_freelist_count, pragma_page_size",
                        [],
                        |row| row.get::<_, i64>(0),
                    )
                    .map_or(0, |b| b.max(0) as u64);
                // fsblkcnt_t and c_ulong are 32 bits on some boards, 64 on others.
                #[allow(clippy::unnecessary_cast)]
                let available = (fs.blocks_available() as u64)
                    .saturating_mul(fs.fragment_size() as u64)
                    .saturating_add(free_pages);
                if available < bytes.saturating_add(DISK_RESERVE_BYTES) {
                    return Err(OutboxError::DiskFull { available });
                }
                Ok(())
            }
            // A file system that cannot say: SQLite still reports a full disk itself.
            Err(_) => Ok(()),
        }
    }
}
