//! Retention: the materials (uploads and their chunks) and the form answers and applicant data
//! of an application are deleted a set time after it was finished (approved or refused). What
//! is left is the non-personal record statistics and 办件查询 need: the row with its matter,
//! department, dates and state, its events (their details — a clerk's words — cleared) and its
//! ratings and cases (the 回访 notes, which may name the rater, cleared).
//!
//! The encrypted body becomes a remainder in clear ([`Remainder`]), the holder and applicant
//! keys are cleared (no card finds the application any more; its number and code still do),
//! and `purged_at` is set. The work goes [`PURGE_BATCH`] applications to a transaction, so it
//! never holds a long lock over the tables terminals write to, and it is audited once per run
//! with the count and the cut-off.

use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;
use time::macros::offset;

use super::sql::{Executor, Transaction, args};
use super::{Store, StoreError, now_beijing, now_rfc3339, rfc3339};

/// Days after an application is finished that its personal data is kept by default.
pub const RETENTION_DAYS: u32 = 180;

/// How long after start `serve` runs its first purge: once the listener is up and the
/// terminals' first requests are served, so a backlog never delays a start.
pub const FIRST_PURGE_AFTER: Duration = Duration::from_secs(10);

/// Applications purged in one transaction.
pub const PURGE_BATCH: i64 = 1_000;

/// How the remainder of a purged body begins (nothing encrypted does: `lyb-enc1:`).
const REMAINDER_START: &str = "{\"purged\":true";

/// What is left of an application's body once purged: nothing about the person.
#[derive(Debug, Serialize)]
struct Remainder<'a> {
    purged: bool,
    matter_id: &'a str,
    department: &'a str,
    accepted_at: &'a str,
    finished_at: &'a str,
    state: &'a str,
}

/// True when `body` is a purged application's remainder rather than its encrypted request.
pub(crate) fn is_remainder(body: &str) -> bool {
    body.starts_with(REMAINDER_START)
}

/// One run of the purge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purged {
    /// Applications whose personal data was deleted.
    pub applications: u64,
    /// Applications finished before this (RFC 3339) were purged.
    pub cutoff: String,
}

/// One batch: the next [`PURGE_BATCH`] applications finished before `cutoff`, after id `after`.
struct PurgeBatch {
    cutoff: String,
    after: i64,
    at: String,
}

/// Rows of the applications in ids `$1..=$2` finished before `$3` and not yet purged.
macro_rules! in_batch {
    ($select:literal) => {
        concat!(
            $select,
            " FROM applications WHERE id BETWEEN $1 AND $2 AND purged_at IS NULL
                AND finished_at IS NOT NULL AND finished_at < $3"
        )
    };
}

/// What a batch deletes, in order (result documents, chunks before their uploads); `$1..=$2` is the batch's id
/// range, `$3` the cut-off.
const BATCH_DELETIONS: [&str; 5] = [
    concat!(
        "DELETE FROM result_documents WHERE application_no IN (",
        in_batch!("SELECT application_no"),
        ")"
    ),
    concat!(
        "DELETE FROM upload_chunks WHERE upload_id IN (SELECT id FROM uploads WHERE application_no IN (",
        in_batch!("SELECT application_no"),
        "))"
    ),
    concat!(
        "DELETE FROM uploads WHERE application_no IN (",
        in_batch!("SELECT application_no"),
        ")"
    ),
    concat!(
        "UPDATE application_events SET detail = NULL WHERE detail IS NOT NULL AND application_no IN (",
        in_batch!("SELECT application_no"),
        ")"
    ),
    concat!(
        "UPDATE rating_cases SET visit = NULL WHERE visit IS NOT NULL AND application_no IN (",
        in_batch!("SELECT application_no"),
        ")"
    ),
];

impl Transaction for PurgeBatch {
    /// (applications purged, the last id looked at).
    type Output = (u64, i64);

    async fn run(self, on: &mut impl Executor) -> Result<(u64, i64), StoreError> {
        let rows = on
            .rows(
                "SELECT id, matter_id, COALESCE(department, ''), accepted_at, finished_at, state
                   FROM applications
                  WHERE purged_at IS NULL AND finished_at IS NOT NULL AND finished_at < $1 AND id > $2
                  ORDER BY id LIMIT $3",
                args![&self.cutoff, self.after, PURGE_BATCH],
            )
            .await?;
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return Ok((0, self.after));
        };
        let (first, last) = (first.int(0)?, last.int(0)?);
        // The batch is every application between its first and last id that qualifies, so
        // the bulk statements name it by that range.
        let range = || args![first, last, &self.cutoff];
        for sql in BATCH_DELETIONS {
            on.exec(sql, range()).await?;
        }
        let mut purged = 0;
        for row in &rows {
            let (matter_id, department) = (row.text(1)?, row.text(2)?);
            let (accepted_at, finished_at, state) = (row.text(3)?, row.text(4)?, row.text(5)?);
            let remainder = serde_json::to_string(&Remainder {
                purged: true,
                matter_id: &matter_id,
                department: &department,
                accepted_at: &accepted_at,
                finished_at: &finished_at,
                state: &state,
            })?;
            purged += on
                .exec(
                    "UPDATE applications SET body = $2, holder_key = NULL, applicant_key = NULL,
                            purged_at = $3
                      WHERE id = $1 AND purged_at IS NULL",
                    args![row.int(0)?, remainder, &self.at],
                )
                .await?;
        }
        Ok((purged, last))
    }
}

impl Store {
    /// Deletes the materials and personal data of applications finished more than `days`
    /// days ago ([`Store::purge_finished_before`]).
    pub async fn purge_finished(&self, operator: &str, days: u32) -> Result<Purged, StoreError> {
        let cutoff = now_beijing() - Duration::from_secs(u64::from(days) * 86_400);
        self.purge_finished_before(operator, cutoff).await
    }

    /// Deletes the materials and personal data of applications finished before `cutoff`, a
    /// batch per transaction; audited as `operator` (count and cut-off).
    pub async fn purge_finished_before(
        &self,
        operator: &str,
        cutoff: OffsetDateTime,
    ) -> Result<Purged, StoreError> {
        let cutoff = cutoff.to_offset(offset!(+8));
        let cutoff = rfc3339(cutoff.replace_nanosecond(0).unwrap_or(cutoff));
        let mut after = 0;
        let mut applications = 0;
        loop {
            let (purged, last) = self
                .transaction(PurgeBatch {
                    cutoff: cutoff.clone(),
                    after,
                    at: now_rfc3339(),
                })
                .await?;
            if last == after {
                break;
            }
            applications += purged;
            after = last;
        }
        self.audit(
            operator,
            "purge",
            &format!(
                "{applications} applications finished before {cutoff}: materials and personal data deleted"
            ),
        )
        .await?;
        Ok(Purged {
            applications,
            cutoff,
        })
    }

    /// Runs [`Store::purge_finished`] [`FIRST_PURGE_AFTER`] after start and then every day,
    /// for as long as the runtime lives; a failed run is logged and tried again the next day.
    pub fn spawn_daily_purge(&self, days: u32) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut wait = FIRST_PURGE_AFTER;
            loop {
                tokio::time::sleep(wait).await;
                wait = Duration::from_secs(24 * 3600);
                match store.purge_finished("platform", days).await {
                    Ok(run) if run.applications > 0 => tracing::info!(
                        applications = run.applications,
                        cutoff = %run.cutoff,
                        "purged finished applications' personal data"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "the retention purge failed"),
                }
            }
        })
    }
}
