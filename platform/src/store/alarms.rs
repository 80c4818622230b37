//! Alarms: something an operator must look at (a refused takeover of a terminal, a terminal
//! asking about too many citizens), raised by
//! the platform and cleared by an operator. One alarm stays open per terminal, kind and
//! subject: a repeat counts up the open alarm instead of adding rows, so whoever triggers it
//! over and over costs one row update each time, not a growing table.

use super::sql::{Row, args};
use super::{Store, StoreError, now_rfc3339};

/// What an alarm is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmKind {
    /// A device tried to enroll with a known terminal's serial and a token not made for that
    /// terminal (the subject is the token's id).
    TakeoverRefused,
    /// A terminal asked about more citizens' records than its citizens can present; its
    /// record queries stay suspended until the alarm is cleared (the subject is fixed: one
    /// per terminal).
    RecordQueriesSuspended,
}

impl AlarmKind {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmKind::TakeoverRefused => "takeover_refused",
            AlarmKind::RecordQueriesSuspended => "record_queries_suspended",
        }
    }
}

/// An alarm as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    /// Its number (what clearing names).
    pub id: i64,
    /// The terminal it concerns.
    pub terminal_id: String,
    /// Its kind's stored name.
    pub kind: String,
    /// What raised it (for a refused takeover, the token's id).
    pub subject: String,
    /// For people.
    pub detail: String,
    /// First raised.
    pub raised_at: String,
    /// Last raised again.
    pub last_at: String,
    /// How many times raised while open.
    pub occurrences: i64,
}

impl Store {
    /// Raises an alarm, or counts up the open one of the same terminal, kind and subject.
    /// True when this opened a new alarm (what callers audit, so repeats do not drown the
    /// audit log).
    pub async fn raise_alarm(
        &self,
        terminal_id: &str,
        kind: AlarmKind,
        subject: &str,
        detail: &str,
    ) -> Result<bool, StoreError> {
        let row = self
            .row(
                "INSERT INTO alarms (terminal_id, kind, subject, detail, raised_at, last_at)
                 VALUES ($1, $2, $3, $4, $5, $5)
                 ON CONFLICT (terminal_id, kind, subject) WHERE cleared_at IS NULL
                 DO UPDATE SET occurrences = alarms.occurrences + 1, last_at = excluded.last_at
                 RETURNING occurrences",
                args![terminal_id, kind.as_str(), subject, detail, now_rfc3339()],
            )
            .await?
            .ok_or_else(|| StoreError::Task("raising an alarm answered no row".into()))?;
        Ok(row.int(0)? == 1)
    }

    /// Open alarms, newest first: of one terminal, or of all (at most 200).
    pub async fn open_alarms(&self, terminal_id: Option<&str>) -> Result<Vec<Alarm>, StoreError> {
        let rows = match terminal_id {
            Some(id) => {
                self.rows(
                    "SELECT id, terminal_id, kind, subject, detail, raised_at, last_at, occurrences
                     FROM alarms WHERE cleared_at IS NULL AND terminal_id = $1 ORDER BY id DESC LIMIT 200",
                    args![id],
                )
                .await?
            }
            None => {
                self.rows(
                    "SELECT id, terminal_id, kind, subject, detail, raised_at, last_at, occurrences
                     FROM alarms WHERE cleared_at IS NULL ORDER BY id DESC LIMIT 200",
                    args![],
                )
                .await?
            }
        };
        rows.iter().map(alarm).collect()
    }

    /// Clears an open alarm in `operator`'s name; the alarm as it was, `None` when there is
    /// no such open alarm.
    pub async fn clear_alarm(&self, id: i64, operator: &str) -> Result<Option<Alarm>, StoreError> {
        let row = self
            .row(
                "UPDATE alarms SET cleared_at = $2, cleared_by = $3
                 WHERE id = $1 AND cleared_at IS NULL
                 RETURNING id, terminal_id, kind, subject, detail, raised_at, last_at, occurrences",
                args![id, now_rfc3339(), operator],
            )
            .await?;
        row.as_ref().map(alarm).transpose()
    }
}

fn alarm(r: &Row) -> Result<Alarm, StoreError> {
    Ok(Alarm {
        id: r.int(0)?,
        terminal_id: r.text(1)?,
        kind: r.text(2)?,
        subject: r.text(3)?,
        detail: r.text(4)?,
        raised_at: r.text(5)?,
        last_at: r.text(6)?,
        occurrences: r.int(7)?,
    })
}
