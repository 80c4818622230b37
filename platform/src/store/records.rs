//! Citizens' records asked for at terminals (progress, certificates, check-in by card): who
//! may be answered, how many citizens one terminal may ask about, and the trail of every
//! query.
//!
//! A record is answered only for the ID number *and* the name read from the same card. The
//! platform keeps neither in clear for this: beside each application's and appointment's
//! [`Store::applicant_key`] it keeps a holder key, a digest of that keyed ID number and the
//! normalised name ([`Store::holder_key`]), and looks records up by it. A wrong name is
//! therefore indistinguishable from an unknown ID number: both find nothing.
//!
//! A terminal asks about one citizen per session. [`RECORD_SUBJECTS_PER_HOUR`] distinct
//! citizens an hour is more than a terminal's citizens can present; the next new one
//! suspends the terminal's record queries behind an alarm an operator clears.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use unicode_normalization::UnicodeNormalization;

use super::at_rest::{application_row, decrypt_text};
use super::sql::{Row, args};
use super::{AlarmKind, Store, StoreError, rfc3339_at};

/// How many distinct citizens one terminal may ask about in an hour.
///
/// One citizen's record errand is one session: step up and tap the errand on the home screen
/// (a few seconds), take the card out and place it (the reader is polled every 150 ms, a full
/// read takes 1–2 s), read the answer (a list of applications, a printed certificate or a
/// ticket: 10–20 s), tap "Finish" and the thanks screen lingers 8 s (`thanks_linger`), then
/// the next citizen in the queue steps up and gets their card out. That adds up to about a
/// minute per citizen even with a queue waiting (an estimate from the session's screens and
/// timings, not a measurement), so 3600 s / 60 s = 60 citizens an hour is the most one
/// terminal's queue can present. A terminal that asks about more is not serving citizens
/// standing at it.
pub const RECORD_SUBJECTS_PER_HOUR: i64 = 60;

/// How many record queries one terminal may make in an hour, whoever they are about: a
/// citizen runs at most a few errands (progress, a certificate, check-in), so four times the
/// citizens' limit. It bounds what one terminal can cost the platform and this table.
pub const RECORD_QUERIES_PER_HOUR: i64 = 4 * RECORD_SUBJECTS_PER_HOUR;

/// The window both limits count over, in seconds.
pub const RECORD_WINDOW_SECS: i64 = 3600;

/// The alarm subject of a suspension (one per terminal).
const SUSPENSION_SUBJECT: &str = "record_queries";

/// What a terminal asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordQueryKind {
    /// `POST /v1/progress`.
    Progress,
    /// `POST /v1/certificates/{kind}`.
    Certificate,
    /// Check-in with the card.
    CheckInByCard,
    /// Check-in with the appointment code.
    CheckInByCode,
}

impl RecordQueryKind {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordQueryKind::Progress => "progress",
            RecordQueryKind::Certificate => "certificate",
            RecordQueryKind::CheckInByCard => "check_in_card",
            RecordQueryKind::CheckInByCode => "check_in_code",
        }
    }
}

/// Whether a record query may be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordGate {
    /// Yes; answer it and record how it went with [`Store::log_record_query`].
    Open,
    /// No: this terminal's record queries are suspended until an operator clears the alarm.
    Suspended,
}

/// One record query as it is written to the trail.
#[derive(Debug, Clone, Copy)]
pub struct TrailEntry<'a> {
    /// The asking terminal.
    pub terminal_id: &'a str,
    /// What it asked for.
    pub kind: RecordQueryKind,
    /// The matter (a found appointment's) or certificate kind, when there is one.
    pub matter: Option<&'a str>,
    /// `found`, `nothing` or `suspended`.
    pub outcome: &'a str,
    /// How many records the answer held.
    pub records: usize,
    /// The keyed digest the query is counted by, kept only for the hour it counts (none for a
    /// refusal, which counts nothing).
    pub subject: Option<&'a str>,
    /// When, Unix seconds.
    pub at: i64,
}

/// One record query as the console lists it: never the number or the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordQuery {
    /// Its id: newer queries have larger ones.
    pub id: i64,
    /// The asking terminal.
    pub terminal_id: String,
    /// When (RFC 3339, Beijing time).
    pub at: String,
    /// The kind's stored name.
    pub kind: String,
    /// The matter (a found appointment's) or certificate kind, when there is one.
    pub matter: Option<String>,
    /// `found`, `nothing` or `suspended`.
    pub outcome: String,
    /// How many records the answer held.
    pub records: i64,
}

/// A name as cards, bookings and forms may spell it, reduced to one spelling: compatibility
/// forms folded (full-width letters, half-width kana), whitespace dropped, Latin letters in
/// capitals, and the middle dots of transliterated names (`·`, `・`, `•`, `‧`, `.`) made one.
pub fn normalise_name(name: &str) -> String {
    name.nfkc()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '・' | '•' | '‧' | '.' | '･' | '∙' => '·',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// A card holder's key from their applicant key (the keyed digest of the ID number) and name.
pub(crate) fn holder_digest(applicant_key: &str, name: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"LYB-HOLDER-V1\n");
    hash.update(applicant_key.as_bytes());
    hash.update(b"\n");
    hash.update(normalise_name(name).as_bytes());
    kiosk_protocol::auth::hex_encode(&hash.finalize())
}

impl Store {
    /// The key under which a card holder's records are found: [`holder_digest`] of the keyed
    /// [`Store::applicant_key`] of the ID number and the name. Keyed through the applicant
    /// key, so without the key file it cannot be computed from a name and a number.
    pub fn holder_key(&self, id_number: &str, name: &str) -> Result<String, StoreError> {
        Ok(holder_digest(&self.applicant_key(id_number)?, name))
    }

    /// Gives applications stored before holder keys existed theirs, from the name and number
    /// in their (encrypted) bodies; run once the store has its keys. Appointments booked
    /// before cannot be given one (the platform never had their name): they check in by their
    /// code.
    pub(crate) async fn backfill_holder_keys(&self) -> Result<u64, StoreError> {
        let keys = self.keys()?;
        let mut after = 0_i64;
        let mut filled = 0;
        loop {
            let rows = self
                .rows(
                    "SELECT id, idempotency_key, body FROM applications
                     WHERE holder_key IS NULL AND purged_at IS NULL AND id > $1 ORDER BY id LIMIT 500",
                    args![after],
                )
                .await?;
            let Some(last) = rows.last() else {
                return Ok(filled);
            };
            after = last.int(0)?;
            for row in &rows {
                let Ok(body) = decrypt_text(keys, &application_row(&row.text(1)?), &row.text(2)?)
                else {
                    continue;
                };
                let Ok(request) = serde_json::from_str::<kiosk_protocol::ApplicationRequest>(&body)
                else {
                    continue;
                };
                let key = holder_digest(
                    &keys.applicant_index(&request.applicant.id_number),
                    &request.applicant.name,
                );
                filled += self
                    .exec(
                        "UPDATE applications SET holder_key = $2 WHERE id = $1",
                        args![row.int(0)?, key],
                    )
                    .await?;
            }
        }
    }

    /// Whether `terminal_id` may be answered a record query about `subject` (a keyed digest:
    /// [`Store::applicant_key`] of the ID number, or of the appointment code). Suspends the
    /// terminal's record queries, raising the alarm, when `subject` would be one citizen more
    /// than [`RECORD_SUBJECTS_PER_HOUR`] or the query one more than
    /// [`RECORD_QUERIES_PER_HOUR`] since the later of an hour ago and the last suspension's
    /// clearing. While suspended every refusal counts up the open alarm (one row, not one per
    /// refusal).
    pub async fn admit_record_query(
        &self,
        terminal_id: &str,
        kind: RecordQueryKind,
        subject: &str,
        now: i64,
    ) -> Result<RecordGate, StoreError> {
        let last = self
            .row(
                "SELECT cleared_at FROM alarms WHERE terminal_id = $1 AND kind = $2
                 ORDER BY id DESC LIMIT 1",
                args![terminal_id, AlarmKind::RecordQueriesSuspended.as_str()],
            )
            .await?;
        let mut since = now - RECORD_WINDOW_SECS;
        if let Some(last) = last {
            match last.opt_text(0)? {
                None => {
                    self.suspend(terminal_id, kind, now, "refused while suspended")
                        .await?;
                    return Ok(RecordGate::Suspended);
                }
                Some(cleared) => {
                    // Clearing is kept to the second: what was asked in that second came
                    // before it (the queries that tripped the alarm may share it).
                    if let Ok(cleared) = OffsetDateTime::parse(&cleared, &Rfc3339) {
                        since = since.max(cleared.unix_timestamp() + 1);
                    }
                }
            }
        }
        // Subjects are kept only as long as they are counted.
        self.exec(
            "UPDATE record_queries SET subject = NULL
             WHERE terminal_id = $1 AND at < $2 AND subject IS NOT NULL",
            args![terminal_id, now - RECORD_WINDOW_SECS],
        )
        .await?;
        let counted = self
            .row(
                "SELECT COUNT(DISTINCT subject), COUNT(*),
                        COALESCE(SUM(CASE WHEN subject = $3 THEN 1 ELSE 0 END), 0)
                 FROM record_queries
                 WHERE terminal_id = $1 AND at >= $2 AND subject IS NOT NULL",
                args![terminal_id, since, subject],
            )
            .await?;
        let (subjects, queries, known) = match &counted {
            Some(row) => (row.int(0)?, row.int(1)?, row.int(2)? > 0),
            None => (0, 0, false),
        };
        let new_subjects = subjects + i64::from(!known);
        if new_subjects > RECORD_SUBJECTS_PER_HOUR || queries + 1 > RECORD_QUERIES_PER_HOUR {
            let why = format!(
                "{new_subjects} citizens in {queries} record queries within an hour \
                 (at most {RECORD_SUBJECTS_PER_HOUR} citizens, {RECORD_QUERIES_PER_HOUR} queries)"
            );
            self.suspend(terminal_id, kind, now, &why).await?;
            return Ok(RecordGate::Suspended);
        }
        Ok(RecordGate::Open)
    }

    /// Suspends a terminal's record queries (or counts up the open suspension). The first
    /// refusal of a suspension is written to the record queries and to the audit log; later
    /// ones only count up the alarm.
    async fn suspend(
        &self,
        terminal_id: &str,
        kind: RecordQueryKind,
        now: i64,
        why: &str,
    ) -> Result<(), StoreError> {
        let opened = self
            .raise_alarm(
                terminal_id,
                AlarmKind::RecordQueriesSuspended,
                SUSPENSION_SUBJECT,
                &format!(
                    "record queries suspended: {why}; clearing this alarm lets the terminal ask again"
                ),
            )
            .await?;
        if opened {
            self.log_record_query(TrailEntry {
                terminal_id,
                kind,
                matter: None,
                outcome: "suspended",
                records: 0,
                subject: None,
                at: now,
            })
            .await?;
            self.audit(
                "platform",
                "record_queries_suspended",
                &format!("{terminal_id}: {why}"),
            )
            .await?;
        }
        Ok(())
    }

    /// Writes one record query to the trail (see [`TrailEntry`]). Never a number or a name.
    pub async fn log_record_query(&self, entry: TrailEntry<'_>) -> Result<(), StoreError> {
        let records = i64::try_from(entry.records).unwrap_or(i64::MAX);
        self.exec(
            "INSERT INTO record_queries (terminal_id, at, kind, matter, outcome, records, subject)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                entry.terminal_id,
                entry.at,
                entry.kind.as_str(),
                entry.matter,
                entry.outcome,
                records,
                entry.subject
            ],
        )
        .await?;
        Ok(())
    }

    /// A page of the record queries, newest first: of one terminal or of all, older than
    /// query `before` when given, at most `limit` (1 to 500).
    pub async fn record_queries(
        &self,
        terminal_id: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<RecordQuery>, StoreError> {
        self.rows(
            "SELECT id, terminal_id, at, kind, matter, outcome, records FROM record_queries
             WHERE (CAST($1 AS TEXT) IS NULL OR terminal_id = $1)
               AND (CAST($2 AS BIGINT) IS NULL OR id < $2)
             ORDER BY id DESC LIMIT $3",
            args![terminal_id, before, limit.clamp(1, 500)],
        )
        .await?
        .iter()
        .map(record_query)
        .collect()
    }
}

fn record_query(r: &Row) -> Result<RecordQuery, StoreError> {
    Ok(RecordQuery {
        id: r.int(0)?,
        terminal_id: r.text(1)?,
        at: rfc3339_at(r.int(2)?),
        kind: r.text(3)?,
        matter: r.opt_text(4)?,
        outcome: r.text(5)?,
        records: r.int(6)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_compared_in_one_spelling() {
        assert_eq!(normalise_name(" 王 五 "), normalise_name("王五"));
        assert_eq!(
            normalise_name("买买提・艾力"),
            normalise_name("买买提·艾力")
        );
        assert_eq!(normalise_name("ＺＨＡＮＧ san"), normalise_name("ZHANGSAN"));
        assert_ne!(normalise_name("王五"), normalise_name("王六"));
    }
}
