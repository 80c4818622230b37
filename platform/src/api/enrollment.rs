//! Enrollment: a new terminal spends a one-time token to bind its public key to a terminal id,
//! and receives its configuration, the sealing key and the release repository's root.

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use kiosk_protocol::{ApiError, EnrollRequest, EnrollResponse};

use super::updates_repo::enrollment_root;
use crate::http::extract::Payload;
use crate::http::{AppState, Failure, JsonBody};
use crate::store::{AlarmKind, StoreError};

/// Largest enrollment body accepted.
const MAX_ENROLL_BODY: usize = 4 * 1024;

impl Payload for EnrollRequest {
    const NAME: &'static str = "enrollment";
}

/// `POST /v1/enroll`: open (the token is the credential).
pub(super) fn routes() -> Router<AppState> {
    Router::new().route(
        "/v1/enroll",
        post(enroll).layer(DefaultBodyLimit::max(MAX_ENROLL_BODY)),
    )
}

/// Enrolls a terminal with a one-time token: binds its public key to a terminal id.
#[utoipa::path(post, tag = "crate::api", path = "/v1/enroll",
    request_body = EnrollRequest,
    responses(
        (status = 201, description = "Enrolled: the terminal's id and configuration", body = EnrollResponse),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Unknown, used or expired token", body = ApiError),
        (status = 409, description = "The serial is an enrolled terminal and the token was not made to re-key it (`terminal_exists`), or the token re-keys another terminal (`token_for_another_terminal`)", body = ApiError),
        (status = 422, description = "Invalid serial or public key", body = ApiError),
))]
pub async fn enroll(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<EnrollRequest>,
) -> Result<Response, Failure> {
    request.validate().map_err(Failure::invalid)?;
    let new_id = format!("T{}", crate::store::random_hex(8)?.to_ascii_uppercase());
    let store = state.store();
    let enrolled = match store
        .enroll(
            &request.token,
            &request.hardware_serial,
            &request.public_key.to_ascii_lowercase(),
            &new_id,
        )
        .await
    {
        Ok(enrolled) => enrolled,
        Err(StoreError::TerminalExists {
            terminal_id,
            token_id,
        }) => return Err(refuse_takeover(&state, &terminal_id, &token_id).await),
        Err(e) => return Err(e.into()),
    };
    let config = store.merged_config(&enrolled.terminal_id).await?;
    store
        .add_event(
            &enrolled.terminal_id,
            "enrolled",
            &format!("serial {}", request.hardware_serial),
            crate::store::unix_now(),
        )
        .await?;
    tracing::info!(terminal = %enrolled.terminal_id, site = ?enrolled.site, "terminal enrolled");
    Ok((
        StatusCode::CREATED,
        axum::Json(EnrollResponse {
            terminal_id: enrolled.terminal_id,
            site: enrolled.site,
            config,
            sealing_key: Some(store.keys()?.sealing_public_key()),
            update_root: enrollment_root(&state),
        }),
    )
        .into_response())
}

/// Someone tried to enroll over an existing terminal without a token made for it: whoever it
/// is (a technician with the wrong QR code, or a thief who read the serial off the device),
/// the terminal keeps its key and site, an operator sees an alarm, and the token is not spent.
/// The first attempt with each token is audited; repeats count up the open alarm.
async fn refuse_takeover(state: &AppState, terminal_id: &str, token_id: &str) -> Failure {
    let store = state.store();
    let detail =
        format!("enrollment over {terminal_id} refused: token {token_id} was not made for it");
    tracing::warn!(terminal = %terminal_id, token = %token_id, "enrollment over an existing terminal refused");
    match store
        .raise_alarm(terminal_id, AlarmKind::TakeoverRefused, token_id, &detail)
        .await
    {
        Ok(true) => {
            if let Err(e) = store.audit("platform", "enroll_refused", &detail).await {
                tracing::error!(error = %e, "cannot audit a refused enrollment");
            }
        }
        Ok(false) => {}
        Err(e) => tracing::error!(error = %e, "cannot raise the takeover alarm"),
    }
    Failure::from(StoreError::TerminalExists {
        terminal_id: terminal_id.to_owned(),
        token_id: token_id.to_owned(),
    })
}
