//! An application's life as stored: the intake at acceptance (department, due day, 容缺
//! commitments, the first event), every later change through one gate ([`Store::advance`]),
//! the events read back for 办件查询, and the working-day calendar.
//!
//! An event's details (a 补正's reason, a refusal's) are a clerk's free text and may name the
//! applicant, so they are encrypted like an application's body.

use kiosk_protocol::{
    ApplicationState, ApplicationStatus, CorrectionAsked, LocalizedText, StatusEvent,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::Date;

use super::at_rest::{decrypt_text, encrypt_text};
use super::sql::{Executor, Transaction, args};
use super::{Store, StoreError, now_rfc3339};
use crate::lifecycle::{Actor, Calendar, Change, IllegalChange, iso_day, next_state, parse_day};

/// Letters of a progress code: no 0/O, 1/I/L, so it is read off paper without doubt.
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// Characters of a progress code (31⁸ ≈ 8.5 × 10¹¹ codes per application number).
pub const PROGRESS_CODE_LEN: usize = 8;

/// What the platform records about an application as it accepts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    /// The department the matter belongs to.
    pub department: String,
    /// The day it is due (`YYYY-MM-DD`), from the matter's time limit.
    pub due_on: String,
    /// Materials promised under 容缺受理, each with the day it is due.
    pub commitments: Vec<(u16, String)>,
}

/// Which applications a caller may move.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Those of these departments (a clerk's, or one department's connector).
    Departments(&'a [String]),
    /// Any (the applicant at a terminal, whose card was checked against the application).
    Applicant,
}

/// A change made: what it moved from and to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advanced {
    /// The application.
    pub application_no: String,
    /// Its matter.
    pub matter_id: String,
    /// Its department.
    pub department: String,
    /// The state before.
    pub from: ApplicationState,
    /// The state now.
    pub to: ApplicationState,
    /// When, RFC 3339.
    pub at: String,
}

/// An event's details as stored (encrypted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EventDetail {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub materials: Vec<u16>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub answer_by: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl EventDetail {
    fn of(change: &Change) -> Option<Self> {
        match change {
            Change::AskCorrection {
                materials,
                fields,
                reason,
                answer_by,
            } => Some(EventDetail {
                materials: materials.clone(),
                fields: fields.clone(),
                reason: reason.trim().to_owned(),
                answer_by: answer_by.clone(),
                note: String::new(),
            }),
            Change::Complete { note } if !note.trim().is_empty() => Some(EventDetail {
                note: note.trim().to_owned(),
                ..Default::default()
            }),
            Change::Refuse { reason } => Some(EventDetail {
                reason: reason.trim().to_owned(),
                ..Default::default()
            }),
            _ => None,
        }
    }
}

/// One stored event, its details opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifeEvent {
    /// The application.
    pub application_no: String,
    /// When, RFC 3339.
    pub at: String,
    /// The state it entered.
    pub state: ApplicationState,
    /// `accepted`, `review_started`, `correction_asked`, ... (see [`Change::action`]).
    pub action: String,
    /// Who: `clerk:NAME`, `department:ID`, `terminal:ID`, `platform`.
    pub actor: String,
    /// A 补正's materials (by index).
    pub materials: Vec<u16>,
    /// A 补正's fields (by id).
    pub fields: Vec<String>,
    /// A 补正's or refusal's reason, a completion's note.
    pub words: String,
    /// A 补正's day to answer by.
    pub answer_by: String,
}

impl LifeEvent {
    /// The event as the applicant sees it: what happened, with the clerk's words for a refusal
    /// or a completion (a 补正's reason travels in its [`CorrectionAsked`]).
    pub fn for_applicant(&self) -> StatusEvent {
        let label = Change::label_of(&self.action);
        let what = if self.words.is_empty() || self.action == "correction_asked" {
            label
        } else {
            LocalizedText::new(
                format!("{}：{}", label.zh, self.words),
                format!("{}: {}", label.en, self.words),
            )
        };
        StatusEvent {
            at: self.at.clone(),
            state: self.state,
            what,
        }
    }

    /// The event for the public progress page: what happened, never the clerk's words.
    pub fn for_public(&self) -> StatusEvent {
        StatusEvent {
            at: self.at.clone(),
            state: self.state,
            what: Change::label_of(&self.action),
        }
    }

    /// The 补正 this event asked for, if it asked one.
    pub fn correction(&self) -> Option<CorrectionAsked> {
        (self.action == "correction_asked").then(|| CorrectionAsked {
            asked_at: self.at.clone(),
            materials: self.materials.clone(),
            fields: self.fields.clone(),
            reason: self.words.clone(),
            answer_by: (!self.answer_by.is_empty()).then(|| self.answer_by.clone()),
        })
    }
}

/// The associated data of an event's details.
fn detail_row(application_no: &str) -> String {
    format!("application_events.detail\n{application_no}")
}

/// An event about to be written by a transaction.
pub(crate) struct NewEvent<'a> {
    pub application_no: &'a str,
    pub at: &'a str,
    pub state: ApplicationState,
    pub action: &'a str,
    pub actor: &'a Actor,
    pub detail: Option<EventDetail>,
}

impl NewEvent<'_> {
    /// Writes the event, its details encrypted.
    pub(crate) async fn write(
        self,
        on: &mut impl Executor,
        keys: &dyn crate::keys::KeyRing,
    ) -> Result<(), StoreError> {
        let detail = self
            .detail
            .map(|d| -> Result<String, StoreError> {
                encrypt_text(
                    keys,
                    &detail_row(self.application_no),
                    &serde_json::to_string(&d)?,
                )
            })
            .transpose()?;
        on.exec(
            "INSERT INTO application_events (application_no, at, state, action, actor, detail)
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                self.application_no,
                self.at,
                self.state.as_str(),
                self.action,
                self.actor.stored(),
                detail
            ],
        )
        .await?;
        Ok(())
    }
}

/// The state, department and matter of an application not purged, read in a transaction that
/// changes it, if `departments` (when given) has its department: refused with
/// [`StoreError::UnknownApplication`] or [`StoreError::OtherDepartment`] otherwise.
pub(crate) async fn in_scope(
    on: &mut impl Executor,
    application_no: &str,
    departments: Option<&[String]>,
) -> Result<(String, String, String), StoreError> {
    let row = on
        .row(
            "SELECT state, COALESCE(department, ''), matter_id FROM applications
             WHERE application_no = $1 AND purged_at IS NULL",
            args![application_no],
        )
        .await?
        .ok_or(StoreError::UnknownApplication)?;
    let (state, department, matter_id) = (row.text(0)?, row.text(1)?, row.text(2)?);
    if departments.is_some_and(|allowed| !allowed.contains(&department)) {
        return Err(StoreError::OtherDepartment);
    }
    Ok((state, department, matter_id))
}

/// A change about to be applied (also inside a department's report, see
/// [`super::connectors`]).
pub(super) struct Advance {
    pub(super) application_no: String,
    pub(super) departments: Option<Vec<String>>,
    pub(super) actor: Actor,
    pub(super) change: Change,
    pub(super) keys: crate::keys::Keys,
}

impl Transaction for Advance {
    type Output = Advanced;

    async fn run(self, on: &mut impl Executor) -> Result<Advanced, StoreError> {
        let (state, department, matter_id) =
            in_scope(on, &self.application_no, self.departments.as_deref()).await?;
        let from = ApplicationState::parse(&state).ok_or_else(|| {
            StoreError::Task(format!(
                "application {} has unknown state",
                self.application_no
            ))
        })?;
        let to = next_state(from, &self.change).map_err(StoreError::Illegal)?;
        let at = now_rfc3339();
        let finished = to.is_finished().then_some(at.clone());
        // The state read above is the one changed: a concurrent change (another clerk, the
        // department's system) makes this one a refusal, never a lost update.
        let changed = on
            .exec(
                "UPDATE applications SET state = $1, state_at = $2, finished_at = $3
                 WHERE application_no = $4 AND state = $5",
                args![
                    to.as_str(),
                    &at,
                    finished,
                    &self.application_no,
                    from.as_str()
                ],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::Illegal(IllegalChange::NotFrom {
                from,
                action: self.change.action(),
            }));
        }
        NewEvent {
            application_no: &self.application_no,
            at: &at,
            state: to,
            action: self.change.action(),
            actor: &self.actor,
            detail: EventDetail::of(&self.change),
        }
        .write(on, self.keys.as_ref())
        .await?;
        Ok(Advanced {
            application_no: self.application_no,
            matter_id,
            department,
            from,
            to,
            at,
        })
    }
}

impl Store {
    /// Applies `change` to an application, if the state machine allows it from the state it
    /// is in ([`crate::lifecycle::next_state`]) and `scope` covers its department. Refused
    /// with [`StoreError::UnknownApplication`], [`StoreError::OtherDepartment`] or
    /// [`StoreError::Illegal`]; nothing changes then.
    pub async fn advance(
        &self,
        application_no: &str,
        scope: Scope<'_>,
        actor: Actor,
        change: Change,
    ) -> Result<Advanced, StoreError> {
        let keys = self.key_handle()?;
        self.transaction(Advance {
            application_no: application_no.to_owned(),
            departments: match scope {
                Scope::Departments(list) => Some(list.to_vec()),
                Scope::Applicant => None,
            },
            actor,
            change,
            keys,
        })
        .await
    }

    /// Every event of one application, oldest first, details opened.
    pub async fn life_of(&self, application_no: &str) -> Result<Vec<LifeEvent>, StoreError> {
        let rows = self
            .rows(
                "SELECT application_no, at, state, action, actor, detail FROM application_events
                 WHERE application_no = $1 ORDER BY id",
                args![application_no],
            )
            .await?;
        self.read_events(&rows)
    }

    /// The events of a card holder's applications, oldest first.
    pub(crate) async fn life_of_holder(
        &self,
        holder_key: &str,
    ) -> Result<Vec<LifeEvent>, StoreError> {
        let rows = self
            .rows(
                "SELECT e.application_no, e.at, e.state, e.action, e.actor, e.detail
                   FROM application_events e JOIN applications a ON a.application_no = e.application_no
                  WHERE a.holder_key = $1 ORDER BY e.id",
                args![holder_key],
            )
            .await?;
        self.read_events(&rows)
    }

    fn read_events(&self, rows: &[super::sql::Row]) -> Result<Vec<LifeEvent>, StoreError> {
        let keys = self.keys()?;
        rows.iter()
            .map(|row| {
                let application_no = row.text(0)?;
                let state = ApplicationState::parse(&row.text(2)?)
                    .ok_or_else(|| StoreError::Task("an event has an unknown state".into()))?;
                let detail = match row.opt_text(5)? {
                    Some(stored) => serde_json::from_str::<EventDetail>(&decrypt_text(
                        keys,
                        &detail_row(&application_no),
                        &stored,
                    )?)?,
                    None => EventDetail::default(),
                };
                Ok(LifeEvent {
                    application_no,
                    at: row.text(1)?,
                    state,
                    action: row.text(3)?,
                    actor: row.text(4)?,
                    materials: detail.materials,
                    fields: detail.fields,
                    words: if detail.reason.is_empty() {
                        detail.note
                    } else {
                        detail.reason
                    },
                    answer_by: detail.answer_by,
                })
            })
            .collect()
    }

    /// Fills in each status's history, open 补正 and due day from `events` (the applicant's own
    /// view: the clerk's words included). `rateable` is set by the query that read the rows.
    pub(crate) fn with_life(statuses: &mut [ApplicationStatus], events: &[LifeEvent]) {
        for status in statuses {
            let mine = events
                .iter()
                .filter(|e| e.application_no == status.application_no);
            status.history = mine.clone().map(LifeEvent::for_applicant).collect();
            status.correction = if status.state == ApplicationState::NeedsMaterials {
                mine.rev().find_map(LifeEvent::correction)
            } else {
                None
            };
            if status.state.is_finished() {
                status.due_on = None;
            }
        }
    }

    /// The working-day calendar from today (Beijing) on: Monday to Friday, with the days
    /// recorded otherwise. Every due day counts forward from today, so the holidays of past
    /// years, which only ever accumulate, are not read on each acceptance.
    pub async fn calendar(&self) -> Result<Calendar, StoreError> {
        let rows = self
            .rows(
                "SELECT day, working FROM calendar_days WHERE day >= $1",
                args![iso_day(super::now_beijing().date())],
            )
            .await?;
        let mut days = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(day) = parse_day(&row.text(0)?) {
                days.push((day, row.int(1)? != 0));
            }
        }
        Ok(Calendar::new(days))
    }

    /// The days recorded in the calendar, from `from` on: `(day, working, note)`.
    pub async fn calendar_days(
        &self,
        from: Date,
    ) -> Result<Vec<(String, bool, String)>, StoreError> {
        let rows = self
            .rows(
                "SELECT day, working, note FROM calendar_days WHERE day >= $1 ORDER BY day",
                args![iso_day(from)],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((r.text(0)?, r.int(1)? != 0, r.text(2)?)))
            .collect()
    }

    /// Records `day` as a working day or not (`None`: back to the weekday rule), audited.
    pub async fn set_calendar_day(
        &self,
        operator: &str,
        day: Date,
        working: Option<bool>,
        note: &str,
    ) -> Result<(), StoreError> {
        let day = iso_day(day);
        match working {
            Some(working) => {
                self.exec(
                    // A boolean from an integer argument, as both engines read it.
                    "INSERT INTO calendar_days (day, working, note) VALUES ($1, CAST($2 AS BIGINT) <> 0, $3)
                     ON CONFLICT (day) DO UPDATE SET working = excluded.working, note = excluded.note",
                    args![&day, i64::from(working), note],
                )
                .await?;
            }
            None => {
                self.exec("DELETE FROM calendar_days WHERE day = $1", args![&day])
                    .await?;
            }
        }
        let what = match working {
            Some(true) => "working",
            Some(false) => "day off",
            None => "weekday rule",
        };
        self.audit(operator, "calendar_day", &format!("{day}: {what} {note}"))
            .await
    }

    /// The code printed beside an application's number (查询码): keyed with the platform's
    /// certificate secret, so it is the same on every instance and cannot be computed without
    /// the key file.
    pub fn progress_code(&self, application_no: &str) -> Result<String, StoreError> {
        let secret = self.keys()?.certificate_secret();
        let mut hash = Sha256::new();
        hash.update(b"LYB-PROGRESS-V1\n");
        hash.update(secret.as_bytes());
        hash.update(b"\n");
        hash.update(application_no.as_bytes());
        let digest = hash.finalize();
        Ok(digest
            .iter()
            .take(PROGRESS_CODE_LEN)
            .map(|b| char::from(CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()]))
            .collect())
    }

    /// True when `code` is the progress code of `application_no` (compared in constant time,
    /// case and spaces ignored).
    pub fn progress_code_matches(
        &self,
        application_no: &str,
        code: &str,
    ) -> Result<bool, StoreError> {
        let given: Vec<u8> = code
            .bytes()
            .filter(|b| !b.is_ascii_whitespace() && *b != b'-')
            .map(|b| b.to_ascii_uppercase())
            .collect();
        let expected = self.progress_code(application_no)?;
        Ok(crate::keys::same_secret(&given, expected.as_bytes()))
    }

    /// Gives applications accepted before departments were recorded their matter's department
    /// from `catalog`; run at start.
    pub async fn backfill_departments(
        &self,
        catalog: &kiosk_protocol::Catalog,
    ) -> Result<u64, StoreError> {
        let mut filled = 0;
        for matter in &catalog.matters {
            filled += self
                .exec(
                    "UPDATE applications SET department = $1 WHERE matter_id = $2 AND department IS NULL",
                    args![&matter.department, &matter.id],
                )
                .await?;
        }
        Ok(filled)
    }
}

/// The intake rows written with a new application, in its transaction.
pub(crate) async fn write_intake(
    on: &mut impl Executor,
    keys: &dyn crate::keys::KeyRing,
    application_no: &str,
    accepted_at: &str,
    intake: &Intake,
) -> Result<(), StoreError> {
    on.exec(
        "UPDATE applications SET department = $1, due_on = $2, state_at = $3 WHERE application_no = $4",
        args![&intake.department, &intake.due_on, accepted_at, application_no],
    )
    .await?;
    for (index, due_on) in &intake.commitments {
        on.exec(
            "INSERT INTO commitments (application_no, material_index, due_on) VALUES ($1, $2, $3)
             ON CONFLICT (application_no, material_index) DO NOTHING",
            args![application_no, i64::from(*index), due_on],
        )
        .await?;
    }
    NewEvent {
        application_no,
        at: accepted_at,
        state: ApplicationState::Accepted,
        action: "accepted",
        actor: &Actor::Platform,
        detail: None,
    }
    .write(on, keys)
    .await
}
