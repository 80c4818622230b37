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
        (status = 422, description = "Invalid serial or public key", body = ApiError),
))]
pub async fn enroll(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<EnrollRequest>,
) -> Result<Response, Failure> {
    request.validate().map_err(Failure::invalid)?;
    let new_id = format!("T{}", crate::store::random_hex(8)?.to_ascii_uppercase());
    let store = state.store();
    let enrolled = store
        .enroll(
            &request.token,
            &request.hardware_serial,
            &request.public_key.to_ascii_lowercase(),
            &new_id,
        )
        .await?;
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
            sealing_key: Some(store.sealing_key().public_hex()),
            update_root: enrollment_root(&state),
        }),
    )
        .into_response())
}
