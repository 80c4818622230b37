//! The signed terminal endpoints beyond applications: heartbeat, queue tickets, appointment
//! check-in, progress, certificates, configuration and remote commands.
//!
//! Every handler runs behind [`crate::auth::require_terminal`] and acts only for the
//! [`Terminal`] that signed the request.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kiosk_protocol::{
    ApiError, CertificateRequest, CheckInRequest, CheckInResponse, CommandResult, Heartbeat,
    HeartbeatResponse, ProgressRequest, ProgressResponse, RemoteCommand, TerminalConfig,
    TerminalEvent, Ticket, TicketRequest, UpdateReport,
};
use serde_json::Value;

use crate::api::{AppState, Failure, parse_body};
use crate::auth::Terminal;
use crate::documents::certificate::{CertificateKind, Paper, application_record};
use crate::store::{CheckInKey, ReportOutcome, ResultOutcome, unix_now};

/// Largest JSON body of these endpoints.
pub const MAX_TERMINAL_BODY: usize = 16 * 1024;

fn take<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    what: &str,
) -> Result<T, Failure> {
    let body = body.map_err(|rejection| {
        Failure::new(rejection.status(), "body_rejected", rejection.body_text())
    })?;
    parse_body(&body, what)
}

fn invalid(e: ApiError) -> Failure {
    Failure::from_api(StatusCode::UNPROCESSABLE_ENTITY, e)
}

/// Reports versions, uptime, device health and outbox depth; answers pending commands and,
/// when a running rollout wants this terminal on another release, the update to install.
#[utoipa::path(post, path = "/v1/heartbeat",
    request_body = Heartbeat,
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 200, description = "Recorded; commands waiting for this terminal, and its update offer if any", body = HeartbeatResponse),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 422, description = "A field out of bounds", body = ApiError),
))]
pub async fn heartbeat(
    State(state): State<AppState>,
    Extension(terminal): Extension<Terminal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<HeartbeatResponse>, Failure> {
    let heartbeat: Heartbeat = take(body, "heartbeat")?;
    heartbeat.validate().map_err(invalid)?;
    let now = unix_now();
    let commands = state
        .store()
        .heartbeat(&terminal.id, &heartbeat, now)
        .await?;
    let update = state
        .store()
        .update_offer(&terminal.id, &heartbeat.versions)
        .await?;
    Ok(axum::Json(HeartbeatResponse {
        server_time: now,
        commands,
        update,
    }))
}

/// One step of this terminal's update to the release a rollout offered it (or, with rollout
/// 0, one a technician applied by hand). Repeating a report is harmless; a final state
/// (committed, rolled back, failed) is never left. Each report re-evaluates the rollout: enough
/// failures stop it for every terminal.
#[utoipa::path(post, path = "/v1/updates/reports",
    request_body = UpdateReport,
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 204, description = "Recorded, or already recorded"),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 404, description = "No such rollout, or it does not include this terminal", body = ApiError),
        (status = 409, description = "Another version than the rollout's, a group not started yet, or the update already ended in another final state", body = ApiError),
        (status = 422, description = "A field out of bounds", body = ApiError),
))]
pub async fn update_report(
    State(state): State<AppState>,
    Extension(terminal): Extension<Terminal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, Failure> {
    let report: UpdateReport = take(body, "update report")?;
    report.validate().map_err(invalid)?;
    let outcome = state
        .store()
        .record_update_report(&terminal.id, &report)
        .await?;
    match outcome {
        ReportOutcome::Recorded | ReportOutcome::Unchanged => Ok(StatusCode::NO_CONTENT),
        ReportOutcome::UnknownRollout => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "unknown_rollout",
            format!("no rollout #{}", report.rollout_id),
        )),
        ReportOutcome::NotMember => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_in_rollout",
            format!(
                "rollout #{} does not include this terminal",
                report.rollout_id
            ),
        )),
        ReportOutcome::WrongVersion(expected) => Err(Failure::new(
            StatusCode::CONFLICT,
            "wrong_version",
            format!(
                "rollout #{} is for version {expected}, not {}",
                report.rollout_id, report.version
            ),
        )),
        ReportOutcome::NotOffered => Err(Failure::new(
            StatusCode::CONFLICT,
            "not_offered",
            "this terminal's group of the rollout has not started",
        )),
        ReportOutcome::AlreadyFinal(final_state) => Err(Failure::new(
            StatusCode::CONFLICT,
            "already_final",
            format!(
                "this terminal's update already ended {}; it cannot become {}",
                final_state.as_str(),
                report.state.as_str()
            ),
        )),
    }
}

/// Records one entry of the terminal's audit trail (shown in the console's terminal events).
#[utoipa::path(post, path = "/v1/events",
    request_body = TerminalEvent,
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 204, description = "Recorded"),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 422, description = "A field out of bounds", body = ApiError),
))]
pub async fn event(
    State(state): State<AppState>,
    Extension(terminal): Extension<Terminal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, Failure> {
    let event: TerminalEvent = take(body, "terminal event")?;
    event.validate().map_err(invalid)?;
    state
        .store()
        .add_event(
            &terminal.id,
            &format!("terminal.{}", event.kind),
            &event.detail,
            event.at,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Commands waiting for this terminal (also delivered in heartbeat answers).
#[utoipa::path(get, path = "/v1/commands",
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 200, description = "Waiting commands, oldest first", body = [RemoteCommand]),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
))]
pub async fn commands(
    State(state): State<AppState>,
    Extension(terminal): Extension<Terminal>,
) -> Result<axum::Json<Vec<RemoteCommand>>, Failure> {
    Ok(axum::Json(
        state.store().deliver_commands(&terminal.id).await?,
    ))
}

/// The result of one of this terminal's commands.
#[utoipa::path(post, path = "/v1/commands/{id}/result",
    params(("id" = i64, Path, description = "Command id")),
    request_body = CommandResult,
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 204, description = "Recorded"),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 404, description = "No such command for this terminal", body = ApiError),
        (status = 409, description = "The command has a result already", body = ApiError),
        (status = 422, description = "Invalid field (a detail too long or with control characters)", body = ApiError),
))]
pub async fn command_result(
    State(state): State<AppState>,
    Extension(terminal): Extension<Terminal>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, Failure> {
    let not_found = || {
        Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such command for this terminal",
        )
    };
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let result: CommandResult = take(body, "command result")?;
    result.validate().map_err(invalid)?;
    match state
        .store()
        .command_result(&terminal.id, id, result.ok, &result.detail)
        .await?
    {
        ResultOutcome::Recorded => Ok(StatusCode::NO_CONTENT),
        ResultOutcome::AlreadyFinished => Err(Failure::new(
            StatusCode::CONFLICT,
            "already_finished",
            "this command has a result already",
        )),
        ResultOutcome::Unknown => Err(not_found()),
    }
}

/// The terminal's configuration: global, site and terminal layers merged.
#[utoipa::path(get, path = "/v1/config",
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 200, description = "The merged configuration", body = TerminalConfig),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
))]
pub async fn config(
    State(state): State<AppState>,
    Extension(terminal): Extension<Terminal>,
) -> Result<axum::Json<TerminalConfig>, Failure> {
    Ok(axum::Json(TerminalConfig {
        config: state.store().merged_config(&terminal.id).await?,
        sealing_key: Some(state.store().sealing_key().public_hex()),
    }))
}

/// Where a matter is served and how tickets are numbered, from the configuration:
/// `queue.windows.<department>`, `queue.default_window`, `queue.prefix`.
fn queue_settings(config: &Value, department: &str) -> (String, String) {
    let queue = &config["queue"];
    let window = queue["windows"][department]
        .as_str()
        .or_else(|| queue["default_window"].as_str())
        .filter(|w| (1..=32).contains(&w.chars().count()))
        .unwrap_or("综合窗口")
        .to_owned();
    let prefix = queue["prefix"]
        .as_str()
        .filter(|p| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_uppercase()))
        .unwrap_or("A")
        .to_owned();
    (window, prefix)
}

async fn ticket_for(
    state: &AppState,
    terminal: &Terminal,
    matter_id: &str,
) -> Result<Ticket, Failure> {
    let catalog = state.current_catalog().await?;
    let matter = catalog.matter(matter_id).ok_or_else(|| {
        Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_matter",
            "no such matter in the published catalog",
        )
    })?;
    let config = state.store().merged_config(&terminal.id).await?;
    let (window, prefix) = queue_settings(&config, &matter.department);
    Ok(state
        .store()
        .issue_ticket(&terminal.id, &matter.id, &window, &prefix)
        .await?)
}

/// Takes a queue ticket (取号) for a matter at this terminal's site.
#[utoipa::path(post, path = "/v1/tickets",
    request_body = TicketRequest,
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 201, description = "The ticket", body = Ticket),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 422, description = "Unknown matter", body = ApiError),
))]
pub async fn take_ticket(
    State(state): State<AppState>,
    Extension(terminal): Extension<Terminal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Failure> {
    let request: TicketRequest = take(body, "ticket request")?;
    if request.matter_id.is_empty() || request.matter_id.len() > 64 {
        return Err(invalid(ApiError::new(
            "invalid_field",
            "matter_id: 1 to 64 characters",
        )));
    }
    let ticket = ticket_for(&state, &terminal, &request.matter_id).await?;
    Ok((StatusCode::CREATED, axum::Json(ticket)).into_response())
}

/// Checks in today's appointment at this site, by code or by the ID number read from the card.
#[utoipa::path(post, path = "/v1/appointments/check-in",
    request_body = CheckInRequest,
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 200, description = "Found (with its ticket) or not found", body = CheckInResponse),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 422, description = "Neither or both keys, or a malformed one", body = ApiError),
))]
pub async fn check_in(
    State(state): State<AppState>,
    Extension(terminal): Extension<Terminal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<CheckInResponse>, Failure> {
    let request: CheckInRequest = take(body, "check-in")?;
    request.validate().map_err(invalid)?;
    let key = match (&request.code, &request.id_number) {
        (Some(code), _) => CheckInKey::Code(code.to_ascii_uppercase()),
        (None, Some(id)) => CheckInKey::Applicant(state.store().applicant_key(id)),
        (None, None) => return Err(invalid(ApiError::new("invalid_field", "code or id_number"))),
    };
    let Some(found) = state.store().find_appointment(&terminal.id, &key).await? else {
        return Ok(axum::Json(CheckInResponse {
            found: false,
            appointment: None,
            ticket: None,
        }));
    };
    let ticket = match &found.ticket_no {
        Some(number) => state.store().ticket(&terminal.id, number).await?,
        None => None,
    };
    let ticket = match ticket {
        Some(ticket) => ticket,
        None => {
            let fresh = ticket_for(&state, &terminal, &found.info.matter_id).await?;
            let standing = state.store().check_in(found.id, &fresh.ticket_no).await?;
            if standing == fresh.ticket_no {
                fresh
            } else {
                // Another check-in of the same appointment won the race: show its ticket.
                state
                    .store()
                    .ticket(&terminal.id, &standing)
                    .await?
                    .unwrap_or(fresh)
            }
        }
    };
    Ok(axum::Json(CheckInResponse {
        found: true,
        appointment: Some(found.info),
        ticket: Some(ticket),
    }))
}

/// The applications of the applicant whose card is on the reader (only theirs).
#[utoipa::path(post, path = "/v1/progress",
    request_body = ProgressRequest,
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 200, description = "The applicant's applications, newest first", body = ProgressResponse),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 422, description = "Malformed ID number", body = ApiError),
))]
pub async fn progress(
    State(state): State<AppState>,
    Extension(_terminal): Extension<Terminal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<ProgressResponse>, Failure> {
    let request: ProgressRequest = take(body, "progress query")?;
    request.validate().map_err(invalid)?;
    Ok(axum::Json(ProgressResponse {
        applications: state.store().applications_of(&request.id_number).await?,
    }))
}

/// A certificate for the applicant whose card is on the reader, as a PDF.
///
/// POST, not GET: the applicant's name and ID number travel in the signed body, never in a URL
/// that proxies log.
///
/// `?paper=roll80` lays it out for an 80 mm receipt roll (72 mm wide, as long as needed);
/// without it, or with `paper=a4`, it is A4.
#[utoipa::path(post, path = "/v1/certificates/{kind}",
    params(
        ("kind" = String, Path, description = "`application-record` (办件记录证明)"),
        ("paper" = Option<String>, Query, description = "`a4` (default) or `roll80` (72 mm wide, for the terminal's 80 mm receipt printer)"),
    ),
    request_body = CertificateRequest,
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 200, description = "The certificate", content_type = "application/pdf", body = Vec<u8>),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 404, description = "No such certificate kind", body = ApiError),
        (status = 422, description = "Malformed name or ID number, or an unknown paper", body = ApiError),
))]
pub async fn certificate(
    State(state): State<AppState>,
    Extension(_terminal): Extension<Terminal>,
    Path(kind): Path<String>,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Failure> {
    let Some(kind) = CertificateKind::parse(&kind) else {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            "unknown_certificate",
            "no such certificate kind",
        ));
    };
    let mut paper = Paper::default();
    for pair in query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        match pair.split_once('=') {
            Some(("paper", name)) => {
                paper = Paper::parse(name).ok_or_else(|| {
                    Failure::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "unknown_paper",
                        "paper: a4 or roll80",
                    )
                })?;
            }
            _ => {
                return Err(Failure::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    "the only query parameter is paper",
                ));
            }
        }
    }
    let request: CertificateRequest = take(body, "certificate request")?;
    request.validate().map_err(invalid)?;
    let pdf = match kind {
        CertificateKind::ApplicationRecord => {
            let applications = state.store().applications_of(&request.id_number).await?;
            let catalog = state.current_catalog().await?;
            application_record(
                &request.name,
                &request.id_number,
                &applications,
                &catalog,
                &crate::store::rfc3339_at(unix_now()),
                paper,
            )
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        pdf,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn queue_settings_fall_back_and_refuse_odd_values() {
        let config = json!({"queue": {"windows": {"lyg-hrss": "3号窗口"}, "prefix": "B"}});
        assert_eq!(
            queue_settings(&config, "lyg-hrss"),
            ("3号窗口".into(), "B".into())
        );
        assert_eq!(
            queue_settings(&config, "other"),
            ("综合窗口".into(), "B".into())
        );
        let odd = json!({"queue": {"prefix": "<script>", "default_window": ""}});
        assert_eq!(queue_settings(&odd, "x"), ("综合窗口".into(), "A".into()));
    }
}
