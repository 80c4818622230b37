//! What the clerk's workbench reads and writes: the queue of a clerk's departments, one
//! application opened for its clerk, its materials, and the 容缺 commitments received.
//!
//! Every query is scoped by the clerk's account: an application is found only when its
//! department is one of those `operator_departments` names for the clerk, so another
//! department's application is indistinguishable from one that does not exist.

use kiosk_protocol::{ApplicationRequest, ApplicationState, MaterialContentType};
use sha2::Digest;
use zeroize::Zeroizing;

use super::at_rest::{application_row, decrypt_text};
use super::lifecycle::{EventDetail, NewEvent, in_scope};
use super::sql::{Executor, Transaction, args};
use super::{Store, StoreError, now_rfc3339};
use crate::lifecycle::{Actor, iso_day, parse_day};

/// Which of a clerk's applications the queue lists; every filter optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// Only those in this state.
    pub state: Option<ApplicationState>,
    /// Only those of this matter.
    pub matter: Option<String>,
    /// Only those taken at a terminal of this site.
    pub site: Option<String>,
    /// Accepted on or after this day (`YYYY-MM-DD`, Beijing).
    pub accepted_from: Option<String>,
    /// Accepted before this day (`YYYY-MM-DD`, the day after the last one wanted).
    pub accepted_before: Option<String>,
    /// Only those due before this day (today) and not finished.
    pub overdue_on: Option<String>,
    /// Keyset: only those older than this row id (the previous page's last).
    pub before: Option<i64>,
}

/// One line of the queue. Holds no personal data (no name, no number): the list may be left
/// on a screen, and reading it is not audited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueLine {
    /// Row id, the page's key.
    pub id: i64,
    /// Application number.
    pub application_no: String,
    /// Matter applied for.
    pub matter_id: String,
    /// The site of the terminal that took it.
    pub site: Option<String>,
    /// When it was accepted, RFC 3339.
    pub accepted_at: String,
    /// Where it stands.
    pub state: ApplicationState,
    /// The day it is due, `YYYY-MM-DD`.
    pub due_on: Option<String>,
    /// 容缺 commitments not received yet.
    pub open_commitments: i64,
}

/// A material of an application (a completed upload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiledMaterial {
    /// The upload's id.
    pub upload_id: String,
    /// Index in the matter's list of materials.
    pub material_index: u16,
    /// What it is.
    pub content_type: MaterialContentType,
    /// Bytes.
    pub size: u64,
}

/// A 容缺 commitment: a material promised, the day it is due, and when it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commitment {
    /// The application.
    pub application_no: String,
    /// Its matter.
    pub matter_id: String,
    /// Index in the matter's list of materials.
    pub material_index: u16,
    /// The day it is due, `YYYY-MM-DD`.
    pub due_on: String,
    /// When it was received, RFC 3339, and by whom.
    pub received: Option<(String, String)>,
}

/// A result document (结果文书) a clerk attached when completing an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultDocument {
    /// Its id.
    pub id: i64,
    /// Bytes.
    pub size: u64,
    /// Who attached it (`clerk:NAME`).
    pub stored_by: String,
    /// When, RFC 3339.
    pub stored_at: String,
}

/// The associated data of a result document's bytes.
fn result_row(application_no: &str, sha256: &str) -> String {
    format!("result_documents.data\n{application_no}\n{sha256}")
}

/// One application as its clerk sees it. Holds personal data (the request's applicant and
/// answers); their `Debug` is redacting, so this one is too.
#[derive(Debug, Clone)]
pub struct Casefile {
    /// Application number.
    pub application_no: String,
    /// The terminal that took it.
    pub terminal_id: String,
    /// Its site.
    pub site: Option<String>,
    /// Its department.
    pub department: String,
    /// Where it stands.
    pub state: ApplicationState,
    /// When it was accepted, RFC 3339.
    pub accepted_at: String,
    /// The day it is due.
    pub due_on: Option<String>,
    /// The application as filed (opened from its encrypted body).
    pub request: ApplicationRequest,
    /// Its materials.
    pub materials: Vec<FiledMaterial>,
    /// Its 容缺 commitments.
    pub commitments: Vec<Commitment>,
    /// The result documents attached at completion.
    pub results: Vec<ResultDocument>,
}

/// The condition that keeps a clerk to their departments' applications (`$1` is the clerk).
macro_rules! clerks_applications {
    () => {
        "a.purged_at IS NULL
         AND a.department IN (SELECT department FROM operator_departments WHERE operator = $1)"
    };
}

/// Row ids grow with the time of acceptance, so a range of days is also a range of ids: the
/// id of the first application accepted at or after `$1`, and of the last one before it. Each
/// bound is taken an hour beyond the days asked for (two applications cannot be committed an
/// hour out of order), and the days themselves are still checked on every row; with the ids
/// bounded, the newest-first walk starts and stops at the days asked for instead of crossing
/// every later application.
const FIRST_ACCEPTED_FROM: &str =
    "SELECT id FROM applications WHERE accepted_at >= $1 ORDER BY accepted_at, id LIMIT 1";
const LAST_ACCEPTED_BEFORE: &str =
    "SELECT id FROM applications WHERE accepted_at < $1 ORDER BY accepted_at DESC, id DESC LIMIT 1";

/// The page is chosen first and the commitments counted for its rows only: counted in the same
/// select, PostgreSQL would count them for every row before sorting.
const QUEUE: &str = concat!(
    "SELECT q.id, q.application_no, q.matter_id, q.site, q.accepted_at, q.state, q.due_on,
            (SELECT COUNT(*) FROM commitments c
              WHERE c.application_no = q.application_no AND c.received_at IS NULL)
       FROM (SELECT a.id, a.application_no, a.matter_id, t.site, a.accepted_at, a.state, a.due_on
               FROM applications a LEFT JOIN terminals t ON t.id = a.terminal_id
              WHERE ",
    clerks_applications!(),
    "
                AND a.application_no IS NOT NULL
                AND (CAST($2 AS TEXT) IS NULL OR a.state = $2)
                AND (CAST($3 AS TEXT) IS NULL OR a.matter_id = $3)
                AND (CAST($4 AS TEXT) IS NULL OR t.site = $4)
                AND (CAST($5 AS TEXT) IS NULL OR a.accepted_at >= $5)
                AND (CAST($6 AS TEXT) IS NULL OR a.accepted_at < $6)
                AND (CAST($7 AS TEXT) IS NULL
                     OR (a.due_on < $7 AND a.state NOT IN ('approved', 'rejected')))
                AND a.id < COALESCE(CAST($8 AS BIGINT), 9223372036854775807)
                AND a.id > COALESCE(CAST($10 AS BIGINT), 0)
              ORDER BY a.id DESC LIMIT $9) q
      ORDER BY q.id DESC"
);

const CASEFILE: &str = concat!(
    "SELECT a.application_no, a.terminal_id, t.site, a.department, a.state, a.accepted_at,
            a.due_on, a.idempotency_key, a.body
       FROM applications a LEFT JOIN terminals t ON t.id = a.terminal_id
      WHERE a.application_no = $2 AND ",
    clerks_applications!()
);

const MATERIAL: &str = concat!(
    "SELECT u.content_type FROM uploads u JOIN applications a ON a.application_no = u.application_no
      WHERE u.id = $3 AND u.application_no = $2 AND u.completed_at IS NOT NULL AND ",
    clerks_applications!()
);

const RESULT: &str = concat!(
    "SELECT r.sha256, r.data FROM result_documents r
       JOIN applications a ON a.application_no = r.application_no
      WHERE r.id = $3 AND r.application_no = $2 AND ",
    clerks_applications!()
);

const OPEN_COMMITMENTS: &str = concat!(
    "SELECT c.application_no, a.matter_id, c.material_index, c.due_on
       FROM commitments c JOIN applications a ON a.application_no = c.application_no
      WHERE c.received_at IS NULL AND ",
    clerks_applications!(),
    " ORDER BY c.due_on, c.application_no, c.material_index LIMIT $2"
);

impl Store {
    /// The applications of `clerk`'s departments that pass `filter`, newest first, at most
    /// `limit`.
    pub async fn queue(
        &self,
        clerk: &str,
        filter: &QueueFilter,
        limit: i64,
    ) -> Result<Vec<QueueLine>, StoreError> {
        let (below, above) = self.id_bounds(filter).await?;
        let rows = self
            .rows(
                QUEUE,
                args![
                    clerk,
                    filter.state.map(ApplicationState::as_str),
                    filter.matter.as_deref(),
                    filter.site.as_deref(),
                    filter.accepted_from.as_deref(),
                    filter.accepted_before.as_deref(),
                    filter.overdue_on.as_deref(),
                    below,
                    limit,
                    above
                ],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(QueueLine {
                    id: row.int(0)?,
                    application_no: row.text(1)?,
                    matter_id: row.text(2)?,
                    site: row.opt_text(3)?,
                    accepted_at: row.text(4)?,
                    state: stored_state(&row.text(5)?)?,
                    due_on: row.opt_text(6)?,
                    open_commitments: row.int(7)?,
                })
            })
            .collect()
    }

    /// The ids the queue's rows lie between (exclusive): below the page's key and the first
    /// application accepted an hour after the last day asked for, above the last one accepted
    /// an hour before the first day.
    async fn id_bounds(
        &self,
        filter: &QueueFilter,
    ) -> Result<(Option<i64>, Option<i64>), StoreError> {
        let mut below = filter.before;
        if let Some(day) = &filter.accepted_before {
            let after = format!("{day}T01:00:00");
            if let Some(row) = self.row(FIRST_ACCEPTED_FROM, args![after]).await? {
                let id = row.int(0)?;
                below = Some(below.map_or(id, |b| b.min(id)));
            }
        }
        let mut above = None;
        if let Some(day) = &filter.accepted_from {
            let before = parse_day(day)
                .and_then(|d| d.previous_day())
                .map(|d| format!("{}T23:00:00", iso_day(d)));
            if let Some(before) = before
                && let Some(row) = self.row(LAST_ACCEPTED_BEFORE, args![before]).await?
            {
                above = Some(row.int(0)?);
            }
        }
        Ok((below, above))
    }

    /// Application `application_no` with its body opened, its materials and commitments, if it
    /// belongs to one of `clerk`'s departments (`None` otherwise, as for an unknown number).
    pub async fn casefile(
        &self,
        clerk: &str,
        application_no: &str,
    ) -> Result<Option<Casefile>, StoreError> {
        let Some(row) = self.row(CASEFILE, args![clerk, application_no]).await? else {
            return Ok(None);
        };
        let body = decrypt_text(self.keys()?, &application_row(&row.text(7)?), &row.text(8)?)?;
        let request: ApplicationRequest = serde_json::from_str(&body)?;
        Ok(Some(Casefile {
            application_no: row.text(0)?,
            terminal_id: row.text(1)?,
            site: row.opt_text(2)?,
            department: row.opt_text(3)?.unwrap_or_default(),
            state: stored_state(&row.text(4)?)?,
            accepted_at: row.text(5)?,
            due_on: row.opt_text(6)?,
            request,
            materials: self.filed_materials(application_no).await?,
            commitments: self.commitments_of(application_no).await?,
            results: self.results_of(application_no).await?,
        }))
    }

    async fn filed_materials(
        &self,
        application_no: &str,
    ) -> Result<Vec<FiledMaterial>, StoreError> {
        let rows = self
            .rows(
                "SELECT id, material_index, content_type, size FROM uploads
                  WHERE application_no = $1 AND completed_at IS NOT NULL
                  ORDER BY material_index, created_at",
                args![application_no],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let content_type = row.text(2)?;
                Ok(FiledMaterial {
                    upload_id: row.text(0)?,
                    material_index: u16::try_from(row.int(1)?).unwrap_or(u16::MAX),
                    content_type: MaterialContentType::parse(&content_type).ok_or_else(|| {
                        StoreError::Task(format!("stored content type {content_type}"))
                    })?,
                    size: u64::try_from(row.int(3)?).unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn commitments_of(&self, application_no: &str) -> Result<Vec<Commitment>, StoreError> {
        let rows = self
            .rows(
                "SELECT c.application_no, a.matter_id, c.material_index, c.due_on,
                        c.received_at, c.received_by
                   FROM commitments c JOIN applications a ON a.application_no = c.application_no
                  WHERE c.application_no = $1 ORDER BY c.material_index",
                args![application_no],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let mut commitment = commitment(row)?;
                commitment.received = row.opt_text(4)?.zip(row.opt_text(5)?);
                Ok(commitment)
            })
            .collect()
    }

    /// Material `upload_id` of application `application_no`, opened, with its type, if the
    /// application belongs to one of `clerk`'s departments and the upload is complete.
    pub async fn material(
        &self,
        clerk: &str,
        application_no: &str,
        upload_id: &str,
    ) -> Result<Option<(MaterialContentType, Zeroizing<Vec<u8>>)>, StoreError> {
        let Some(row) = self
            .row(MATERIAL, args![clerk, application_no, upload_id])
            .await?
        else {
            return Ok(None);
        };
        let content_type = row.text(0)?;
        let content_type = MaterialContentType::parse(&content_type)
            .ok_or_else(|| StoreError::Task(format!("stored content type {content_type}")))?;
        let mut file = Zeroizing::new(Vec::new());
        for (_, chunk) in self.chunks(upload_id).await? {
            file.extend_from_slice(&chunk);
        }
        Ok(Some((content_type, file)))
    }

    async fn results_of(&self, application_no: &str) -> Result<Vec<ResultDocument>, StoreError> {
        let rows = self
            .rows(
                "SELECT id, size, stored_by, stored_at FROM result_documents
                  WHERE application_no = $1 ORDER BY id",
                args![application_no],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ResultDocument {
                    id: row.int(0)?,
                    size: u64::try_from(row.int(1)?).unwrap_or_default(),
                    stored_by: row.text(2)?,
                    stored_at: row.text(3)?,
                })
            })
            .collect()
    }

    /// Stores `pdf` as a result document of `application_no`, encrypted, attached by `clerk`;
    /// its id. The caller checks the application is the clerk's.
    pub async fn store_result_document(
        &self,
        application_no: &str,
        clerk: &str,
        pdf: &[u8],
    ) -> Result<i64, StoreError> {
        let sha256 = kiosk_protocol::auth::hex_encode(&sha2::Sha256::digest(pdf));
        let data = self
            .keys()?
            .encrypt(&result_row(application_no, &sha256), pdf)?;
        let row = self
            .row(
                "INSERT INTO result_documents (application_no, size, sha256, data, stored_by, stored_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                args![
                    application_no,
                    i64::try_from(pdf.len()).unwrap_or(i64::MAX),
                    &sha256,
                    data,
                    Actor::Clerk(clerk.to_owned()).stored(),
                    now_rfc3339()
                ],
            )
            .await?
            .ok_or_else(|| StoreError::Task("no id for a result document".into()))?;
        row.int(0)
    }

    /// Forgets result document `id` (its completion was refused).
    pub async fn forget_result_document(&self, id: i64) -> Result<(), StoreError> {
        self.exec("DELETE FROM result_documents WHERE id = $1", args![id])
            .await?;
        Ok(())
    }

    /// Result document `id` of `application_no`, opened, if the application belongs to one of
    /// `clerk`'s departments.
    pub async fn result_document(
        &self,
        clerk: &str,
        application_no: &str,
        id: i64,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let Some(row) = self.row(RESULT, args![clerk, application_no, id]).await? else {
            return Ok(None);
        };
        let data = self
            .keys()?
            .decrypt(&result_row(application_no, &row.text(0)?), &row.bytes(1)?)?;
        Ok(Some(data))
    }

    /// The commitments not yet received of `clerk`'s departments, those due first (so the
    /// overdue ones) first, at most `limit`.
    pub async fn open_commitments(
        &self,
        clerk: &str,
        limit: i64,
    ) -> Result<Vec<Commitment>, StoreError> {
        let rows = self.rows(OPEN_COMMITMENTS, args![clerk, limit]).await?;
        rows.iter().map(commitment).collect()
    }

    /// Marks commitment `material_index` of an application of `departments` received by
    /// `clerk`, with a `commitment_received` event in the application's history. False when
    /// there is no such commitment or it was received already (nothing changes then).
    pub async fn receive_commitment(
        &self,
        application_no: &str,
        material_index: u16,
        departments: &[String],
        clerk: &str,
    ) -> Result<bool, StoreError> {
        self.transaction(ReceiveCommitment {
            application_no: application_no.to_owned(),
            material_index,
            departments: departments.to_vec(),
            actor: Actor::Clerk(clerk.to_owned()),
            keys: self.key_handle()?,
        })
        .await
    }
}

/// The state a row holds.
fn stored_state(name: &str) -> Result<ApplicationState, StoreError> {
    ApplicationState::parse(name)
        .ok_or_else(|| StoreError::Task(format!("an application has unknown state {name}")))
}

/// A commitment from its first four columns (number, matter, index, due day).
fn commitment(row: &super::sql::Row) -> Result<Commitment, StoreError> {
    Ok(Commitment {
        application_no: row.text(0)?,
        matter_id: row.text(1)?,
        material_index: u16::try_from(row.int(2)?).unwrap_or(u16::MAX),
        due_on: row.text(3)?,
        received: None,
    })
}

/// A commitment marked received, with its event.
struct ReceiveCommitment {
    application_no: String,
    material_index: u16,
    departments: Vec<String>,
    actor: Actor,
    keys: crate::keys::Keys,
}

impl Transaction for ReceiveCommitment {
    type Output = bool;

    async fn run(self, on: &mut impl Executor) -> Result<bool, StoreError> {
        let (state, _, _) = in_scope(on, &self.application_no, Some(&self.departments)).await?;
        let state = stored_state(&state)?;
        let at = now_rfc3339();
        let changed = on
            .exec(
                "UPDATE commitments SET received_at = $1, received_by = $2
                  WHERE application_no = $3 AND material_index = $4 AND received_at IS NULL",
                args![
                    &at,
                    self.actor.stored(),
                    &self.application_no,
                    i64::from(self.material_index)
                ],
            )
            .await?;
        if changed == 0 {
            return Ok(false);
        }
        NewEvent {
            application_no: &self.application_no,
            at: &at,
            state,
            action: "commitment_received",
            actor: &self.actor,
            detail: Some(EventDetail {
                materials: vec![self.material_index],
                ..Default::default()
            }),
        }
        .write(on, self.keys.as_ref())
        .await?;
        Ok(true)
    }
}
