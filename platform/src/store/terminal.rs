//! The terminal API's storage: heartbeats and events, queue tickets, appointments, progress,
//! configuration and remote commands. Each operation is a few single statements written once
//! for both engines ([`super::sql`]); where two instances could race, the statement itself
//! decides (counter upserts, conditional updates).

use kiosk_protocol::{
    ApplicationRequest, ApplicationStatus, AppointmentInfo, CommandKind, Heartbeat, RemoteCommand,
    Ticket,
};

use super::at_rest::{application_row, decrypt_text};
use super::sql::{Executor, Row, args};
use super::{StatusRow, Store, StoreError, now_beijing, now_rfc3339, rfc3339};

/// A heartbeat about to be written: what [`write_heartbeat`] stores.
#[derive(Debug, Clone)]
pub(crate) struct HeartbeatUpdate {
    pub last_seen: i64,
    /// The heartbeat as JSON.
    pub body: String,
    /// Its overall health.
    pub health: String,
    /// What is not ok, for the event written when the health changes.
    pub faults: String,
}

/// Writes one terminal's heartbeat, with an event when its overall health changed; false when
/// there is no such terminal. Each engine calls it when its heartbeat writes are due (see
/// `Store::record_heartbeat`).
pub(crate) async fn write_heartbeat(
    on: &mut impl Executor,
    terminal_id: &str,
    update: &HeartbeatUpdate,
) -> Result<bool, StoreError> {
    let Some(previous) = on
        .row(
            "SELECT health FROM terminals WHERE id = $1",
            args![terminal_id],
        )
        .await?
    else {
        return Ok(false);
    };
    let previous = previous.opt_text(0)?;
    on.exec(
        "UPDATE terminals SET last_seen = $2, heartbeat = $3, health = $4 WHERE id = $1",
        args![terminal_id, update.last_seen, &update.body, &update.health],
    )
    .await?;
    if previous.as_deref() != Some(update.health.as_str()) {
        on.exec(
            "INSERT INTO terminal_events (terminal_id, at, kind, detail) VALUES ($1, $2, 'health', $3)",
            args![
                terminal_id,
                update.last_seen,
                health_event(previous.as_deref(), &update.health, &update.faults)
            ],
        )
        .await?;
    }
    Ok(true)
}

/// Where a remote command stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandState {
    /// Waiting for the terminal to fetch it.
    Queued,
    /// Handed to the terminal; no result yet.
    Sent,
    /// Carried out.
    Succeeded,
    /// The terminal could not carry it out.
    Failed,
}

impl CommandState {
    /// The state's stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandState::Queued => "queued",
            CommandState::Sent => "sent",
            CommandState::Succeeded => "succeeded",
            CommandState::Failed => "failed",
        }
    }
}

/// What recording a command result did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultOutcome {
    /// Recorded.
    Recorded,
    /// The command already has a result.
    AlreadyFinished,
    /// No such command for this terminal.
    Unknown,
}

/// How a citizen checks in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckInKey {
    /// By the appointment code.
    Code(String),
    /// By the holder key of the ID number and name read from the card
    /// ([`Store::holder_key`]).
    Holder(String),
}

/// An appointment found at check-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundAppointment {
    /// Row id.
    pub id: i64,
    /// What the terminal shows.
    pub info: AppointmentInfo,
    /// The ticket already issued for it, if the citizen checked in before.
    pub ticket_no: Option<String>,
}

/// `YYYY-MM-DD` of today in Beijing.
pub fn today() -> String {
    let d = now_beijing().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn ticket_from(row: &Row, people_ahead: u32) -> Result<Ticket, StoreError> {
    Ok(Ticket {
        ticket_no: row.text(0)?,
        matter_id: row.text(1)?,
        window: row.text(2)?,
        issued_at: row.text(3)?,
        people_ahead,
    })
}

impl Store {
    /// Records a terminal's heartbeat (last seen, health, versions) and answers the commands
    /// waiting for it, marking them sent. A change of overall health becomes an event.
    pub async fn heartbeat(
        &self,
        terminal_id: &str,
        heartbeat: &Heartbeat,
        now: i64,
    ) -> Result<Vec<RemoteCommand>, StoreError> {
        let overall = heartbeat.overall().as_str();
        let body = serde_json::to_string(heartbeat)?;
        let faults: Vec<String> = heartbeat
            .devices
            .iter()
            .filter(|d| d.state != kiosk_protocol::DeviceState::Ok)
            .map(|d| format!("{} {} {}", d.device, d.state.as_str(), d.reasons.join(",")))
            .collect();
        let faults = faults.join("; ");
        self.record_heartbeat(
            terminal_id,
            HeartbeatUpdate {
                last_seen: now,
                body,
                health: overall.to_owned(),
                faults,
            },
        )
        .await?;
        self.deliver_commands(terminal_id).await
    }

    /// Commands waiting for a terminal (queued, or sent without a result yet), oldest first;
    /// the queued ones become sent.
    pub async fn deliver_commands(
        &self,
        terminal_id: &str,
    ) -> Result<Vec<RemoteCommand>, StoreError> {
        let rows = self
            .rows(
                "SELECT id, kind, created_at FROM commands
                 WHERE terminal_id = $1 AND state IN ('queued', 'sent') ORDER BY id LIMIT 20",
                args![terminal_id],
            )
            .await?;
        let mut commands = Vec::with_capacity(rows.len());
        for row in &rows {
            let kind = row.text(1)?;
            commands.push(RemoteCommand {
                id: row.int(0)?,
                kind: CommandKind::parse(&kind)
                    .ok_or_else(|| StoreError::Task(format!("unknown command kind {kind}")))?,
                created_at: row.text(2)?,
            });
        }
        if let Some(last) = commands.last() {
            self.exec(
                "UPDATE commands SET state = 'sent', delivered_at = $2
                 WHERE terminal_id = $1 AND state = 'queued' AND id <= $3",
                args![terminal_id, now_rfc3339(), last.id],
            )
            .await?;
        }
        Ok(commands)
    }

    /// Queues a command for a terminal; its id.
    pub async fn queue_command(
        &self,
        terminal_id: &str,
        kind: CommandKind,
        created_by: &str,
    ) -> Result<i64, StoreError> {
        let rows = self
            .rows(
                "INSERT INTO commands (terminal_id, kind, created_by, created_at)
                 SELECT id, $2, $3, $4 FROM terminals WHERE id = $1 RETURNING id",
                args![terminal_id, kind.as_str(), created_by, now_rfc3339()],
            )
            .await?;
        let id = rows.first().ok_or(StoreError::UnknownTerminal)?.int(0)?;
        self.add_event(
            terminal_id,
            "command",
            &format!("{} #{id} queued by {created_by}", kind.as_str()),
            super::unix_now(),
        )
        .await?;
        Ok(id)
    }

    /// Records a terminal's result of one of its own commands.
    pub async fn command_result(
        &self,
        terminal_id: &str,
        command_id: i64,
        ok: bool,
        detail: &str,
    ) -> Result<ResultOutcome, StoreError> {
        let state = if ok {
            CommandState::Succeeded
        } else {
            CommandState::Failed
        };
        let changed = self
            .exec(
                "UPDATE commands SET state = $3, result = $4, finished_at = $5
                 WHERE id = $1 AND terminal_id = $2 AND state IN ('queued', 'sent')",
                args![
                    command_id,
                    terminal_id,
                    state.as_str(),
                    detail,
                    now_rfc3339()
                ],
            )
            .await?;
        if changed == 1 {
            self.add_event(
                terminal_id,
                "command",
                &format!("#{command_id} {}", state.as_str()),
                super::unix_now(),
            )
            .await?;
            return Ok(ResultOutcome::Recorded);
        }
        let exists = self
            .rows(
                "SELECT state FROM commands WHERE id = $1 AND terminal_id = $2",
                args![command_id, terminal_id],
            )
            .await?;
        Ok(if exists.is_empty() {
            ResultOutcome::Unknown
        } else {
            ResultOutcome::AlreadyFinished
        })
    }

    /// Appends to a terminal's event log (what the console's terminal page lists).
    pub async fn add_event(
        &self,
        terminal_id: &str,
        kind: &str,
        detail: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO terminal_events (terminal_id, at, kind, detail) VALUES ($1, $2, $3, $4)",
            args![terminal_id, at, kind, detail],
        )
        .await?;
        Ok(())
    }

    /// The queue a terminal's tickets come from: its site's, or its own when it has no site.
    async fn queue_of(&self, terminal_id: &str) -> Result<String, StoreError> {
        self.rows(
            "SELECT COALESCE(site, id) FROM terminals WHERE id = $1",
            args![terminal_id],
        )
        .await?
        .first()
        .ok_or(StoreError::UnknownTerminal)?
        .text(0)
    }

    /// Issues the next ticket of today's queue at the terminal's site.
    pub async fn issue_ticket(
        &self,
        terminal_id: &str,
        matter_id: &str,
        window: &str,
        prefix: &str,
    ) -> Result<Ticket, StoreError> {
        let site = self.queue_of(terminal_id).await?;
        let day = today();
        // One statement takes the next number, whichever instance asks.
        let seq = self
            .rows(
                "INSERT INTO ticket_counters (site, day, last) VALUES ($1, $2, 1)
                 ON CONFLICT (site, day) DO UPDATE SET last = ticket_counters.last + 1
                 RETURNING last",
                args![site.as_str(), day.as_str()],
            )
            .await?
            .first()
            .ok_or_else(|| StoreError::Task("ticket counter answered nothing".into()))?
            .int(0)?;
        let ticket_no = format!("{prefix}{seq:03}");
        let issued_at = now_rfc3339();
        self.exec(
            "INSERT INTO tickets (site, day, seq, ticket_no, matter_id, window_name, terminal_id, issued_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![
                site.as_str(),
                day.as_str(),
                seq,
                ticket_no.as_str(),
                matter_id,
                window,
                terminal_id,
                issued_at.as_str()
            ],
        )
        .await?;
        let ahead = self.people_ahead(&site, &day, seq).await?;
        Ok(Ticket {
            ticket_no,
            matter_id: matter_id.to_owned(),
            window: window.to_owned(),
            people_ahead: ahead,
            issued_at,
        })
    }

    async fn people_ahead(&self, site: &str, day: &str, seq: i64) -> Result<u32, StoreError> {
        let n = self
            .rows(
                "SELECT COUNT(*) FROM tickets WHERE site = $1 AND day = $2 AND state = 'waiting' AND seq < $3",
                args![site, day, seq],
            )
            .await?
            .first()
            .map(|r| r.int(0))
            .transpose()?
            .unwrap_or(0);
        Ok(u32::try_from(n.max(0)).unwrap_or(u32::MAX))
    }

    /// A ticket issued earlier today at the terminal's site, by number.
    pub async fn ticket(
        &self,
        terminal_id: &str,
        ticket_no: &str,
    ) -> Result<Option<Ticket>, StoreError> {
        let site = self.queue_of(terminal_id).await?;
        let day = today();
        let rows = self
            .rows(
                "SELECT ticket_no, matter_id, window_name, issued_at, seq FROM tickets
                 WHERE site = $1 AND day = $2 AND ticket_no = $3",
                args![site.as_str(), day.as_str(), ticket_no],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let ahead = self.people_ahead(&site, &day, row.int(4)?).await?;
        Ok(Some(ticket_from(row, ahead)?))
    }

    /// Books an appointment (what the portal and the phone app do; the console and tests too)
    /// for the citizen with this ID number and name (kept only as keyed digests): checking in
    /// by card needs both.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_appointment(
        &self,
        code: &str,
        id_number: &str,
        name: &str,
        matter_id: &str,
        site: &str,
        day: &str,
        slot: &str,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO appointments (code, applicant_key, holder_key, matter_id, site, day, slot)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                code,
                self.applicant_key(id_number)?,
                self.holder_key(id_number, name)?,
                matter_id,
                site,
                day,
                slot
            ],
        )
        .await?;
        Ok(())
    }

    /// Today's appointment at the terminal's site, by code or by applicant.
    pub async fn find_appointment(
        &self,
        terminal_id: &str,
        key: &CheckInKey,
    ) -> Result<Option<FoundAppointment>, StoreError> {
        let site = self.queue_of(terminal_id).await?;
        let day = today();
        let rows = match key {
            CheckInKey::Code(code) => {
                self.rows(
                    "SELECT id, matter_id, day, slot, ticket_no FROM appointments
                     WHERE code = $1 AND site = $2 AND day = $3",
                    args![code.as_str(), site.as_str(), day.as_str()],
                )
                .await?
            }
            CheckInKey::Holder(holder) => {
                self.rows(
                    "SELECT id, matter_id, day, slot, ticket_no FROM appointments
                     WHERE holder_key = $1 AND site = $2 AND day = $3 ORDER BY slot LIMIT 1",
                    args![holder.as_str(), site.as_str(), day.as_str()],
                )
                .await?
            }
        };
        rows.first()
            .map(|row| {
                Ok(FoundAppointment {
                    id: row.int(0)?,
                    info: AppointmentInfo {
                        matter_id: row.text(1)?,
                        day: row.text(2)?,
                        slot: row.text(3)?,
                    },
                    ticket_no: row.opt_text(4)?,
                })
            })
            .transpose()
    }

    /// Marks an appointment checked in with `ticket_no`, unless an earlier check-in did; the
    /// ticket number that stands.
    pub async fn check_in(
        &self,
        appointment_id: i64,
        ticket_no: &str,
    ) -> Result<String, StoreError> {
        self.exec(
            "UPDATE appointments SET checked_in_at = $2, ticket_no = $3 WHERE id = $1 AND ticket_no IS NULL",
            args![appointment_id, now_rfc3339(), ticket_no],
        )
        .await?;
        self.rows(
            "SELECT ticket_no FROM appointments WHERE id = $1",
            args![appointment_id],
        )
        .await?
        .first()
        .ok_or_else(|| StoreError::Task("appointment vanished".into()))?
        .text(0)
    }

    /// A card holder's applications, newest first (at most 50): those filed under this ID
    /// number *and* this name. Another name finds nothing, as an unknown number does.
    pub async fn applications_of(
        &self,
        id_number: &str,
        name: &str,
    ) -> Result<Vec<ApplicationStatus>, StoreError> {
        const SQL: &str =
            super::status_select!("WHERE a.holder_key = $1 ORDER BY a.id DESC LIMIT 50");
        let holder = self.holder_key(id_number, name)?;
        let rows = self.rows(SQL, args![&holder]).await?;
        let mut statuses = rows
            .iter()
            .map(|row| StatusRow::read(row)?.into_status())
            .collect::<Result<Vec<_>, _>>()?;
        let events = self.life_of_holder(&holder).await?;
        Store::with_life(&mut statuses, &events);
        Ok(statuses)
    }

    /// The form answers of the applications [`Store::applications_of`] lists (those that have
    /// any), by application number, with the catalog version they were filled in with: opened
    /// from the encrypted bodies only for the card holder's own query.
    pub async fn answers_of(
        &self,
        id_number: &str,
        name: &str,
    ) -> Result<Vec<FiledAnswers>, StoreError> {
        let keys = self.keys()?;
        let rows = self
            .rows(
                "SELECT application_no, idempotency_key, body FROM applications
                 WHERE holder_key = $1 ORDER BY id DESC LIMIT 50",
                args![self.holder_key(id_number, name)?],
            )
            .await?;
        let mut filed = Vec::new();
        for row in &rows {
            let body = decrypt_text(keys, &application_row(&row.text(1)?), &row.text(2)?)?;
            let request: ApplicationRequest = serde_json::from_str(&body)?;
            if !request.answers.is_empty() {
                filed.push(FiledAnswers {
                    application_no: row.text(0)?,
                    matter_id: request.matter_id,
                    catalog_version: request.catalog_version,
                    answers: request.answers,
                });
            }
        }
        Ok(filed)
    }

    /// Sets an application's state (the departments' systems do this; the console and tests too).
    pub async fn set_application_state(
        &self,
        application_no: &str,
        state: kiosk_protocol::ApplicationState,
    ) -> Result<bool, StoreError> {
        Ok(self
            .exec(
                "UPDATE applications SET state = $2 WHERE application_no = $1",
                args![application_no, state.as_str()],
            )
            .await?
            == 1)
    }
}

/// One application's form answers as filed (see [`Store::answers_of`]).
#[derive(Debug, Clone)]
pub struct FiledAnswers {
    /// Its number.
    pub application_no: String,
    /// The matter applied for.
    pub matter_id: String,
    /// The catalog version the form was filled in with (none: the one current then).
    pub catalog_version: Option<String>,
    /// The answers (personal data: `Debug` lists field ids only).
    pub answers: kiosk_protocol::form::FormAnswers,
}

/// RFC 3339 of Unix seconds in Beijing time.
pub fn rfc3339_at(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| rfc3339(t.to_offset(time::macros::offset!(+8))))
        .unwrap_or_else(|_| unix.to_string())
}

/// The detail of a health-change event: `ok → degraded: printer degraded paper_low`.
fn health_event(previous: Option<&str>, now: &str, faults: &str) -> String {
    format!(
        "{} → {now}{}{faults}",
        previous.unwrap_or("new"),
        if faults.is_empty() { "" } else { ": " },
    )
}
