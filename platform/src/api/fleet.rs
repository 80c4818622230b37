//! A terminal's life line: heartbeats (answered with its commands and update offer), its audit
//! events, remote commands and their results, its merged configuration, and the steps of its
//! updates.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use kiosk_protocol::{
    ApiError, CommandResult, Heartbeat, HeartbeatResponse, RemoteCommand, TerminalConfig,
    TerminalEvent, UpdateReport,
};

use super::MAX_TERMINAL_BODY;
use crate::http::extract::Payload;
use crate::http::{AppState, Failure, JsonBody, SignedTerminal};
use crate::store::{ReportOutcome, ResultOutcome, unix_now};

impl Payload for Heartbeat {
    const NAME: &'static str = "heartbeat";
}

impl Payload for UpdateReport {
    const NAME: &'static str = "update report";
}

impl Payload for TerminalEvent {
    const NAME: &'static str = "terminal event";
}

impl Payload for CommandResult {
    const NAME: &'static str = "command result";
}

/// The signed routes of this area.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/heartbeat", post(heartbeat))
        .route("/v1/events", post(event))
        .route("/v1/commands", get(commands))
        .route("/v1/commands/{id}/result", post(command_result))
        .route("/v1/config", get(config))
        .route("/v1/updates/reports", post(update_report))
        .layer(DefaultBodyLimit::max(MAX_TERMINAL_BODY))
}

/// Reports versions (`catalog`: the catalog version the terminal shows), uptime, device health
/// and outbox depth; answers pending commands, the catalog version this terminal should run
/// and, when a running rollout wants this terminal on another release, the update to install.
#[utoipa::path(post, tag = "crate::terminal_api", path = "/v1/heartbeat",
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
    terminal: SignedTerminal,
    JsonBody(heartbeat): JsonBody<Heartbeat>,
) -> Result<axum::Json<HeartbeatResponse>, Failure> {
    heartbeat.validate().map_err(Failure::invalid)?;
    let now = unix_now();
    let commands = state
        .store()
        .heartbeat(&terminal.id, &heartbeat, now)
        .await?;
    let update = state
        .store()
        .update_offer(&terminal.id, &heartbeat.versions)
        .await?;
    let catalog = state.store().catalog_target(&terminal.id).await?;
    Ok(axum::Json(HeartbeatResponse {
        server_time: now,
        commands,
        update,
        tls_pins: state.tls_pins(),
        sealing_key: Some(state.store().keys()?.sealing_public_key()),
        catalog_version: catalog.map(|c| c.version),
    }))
}

/// One step of this terminal's update to the release a rollout offered it (or, with rollout
/// 0, one a technician applied by hand). Repeating a report is harmless; a final state
/// (committed, rolled back, failed) is never left. Each report re-evaluates the rollout: enough
/// failures stop it for every terminal.
#[utoipa::path(post, tag = "crate::terminal_api", path = "/v1/updates/reports",
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
    terminal: SignedTerminal,
    JsonBody(report): JsonBody<UpdateReport>,
) -> Result<StatusCode, Failure> {
    report.validate().map_err(Failure::invalid)?;
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
#[utoipa::path(post, tag = "crate::terminal_api", path = "/v1/events",
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
    terminal: SignedTerminal,
    JsonBody(event): JsonBody<TerminalEvent>,
) -> Result<StatusCode, Failure> {
    event.validate().map_err(Failure::invalid)?;
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
#[utoipa::path(get, tag = "crate::terminal_api", path = "/v1/commands",
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 200, description = "Waiting commands, oldest first", body = [RemoteCommand]),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
))]
pub async fn commands(
    State(state): State<AppState>,
    terminal: SignedTerminal,
) -> Result<axum::Json<Vec<RemoteCommand>>, Failure> {
    Ok(axum::Json(
        state.store().deliver_commands(&terminal.id).await?,
    ))
}

/// The result of one of this terminal's commands.
#[utoipa::path(post, tag = "crate::terminal_api", path = "/v1/commands/{id}/result",
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
    terminal: SignedTerminal,
    Path(id): Path<String>,
    body: Result<JsonBody<CommandResult>, Failure>,
) -> Result<StatusCode, Failure> {
    let not_found = || {
        Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such command for this terminal",
        )
    };
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let JsonBody(result) = body?;
    result.validate().map_err(Failure::invalid)?;
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
#[utoipa::path(get, tag = "crate::terminal_api", path = "/v1/config",
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 200, description = "The merged configuration", body = TerminalConfig),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
))]
pub async fn config(
    State(state): State<AppState>,
    terminal: SignedTerminal,
) -> Result<axum::Json<TerminalConfig>, Failure> {
    Ok(axum::Json(TerminalConfig {
        config: state.store().merged_config(&terminal.id).await?,
        sealing_key: Some(state.store().keys()?.sealing_public_key()),
    }))
}
