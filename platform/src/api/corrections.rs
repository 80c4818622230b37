//! A 补正 answered at any terminal: the applicant's card opens it for this terminal, the asked
//! materials are uploaded as an application's are (`materials.rs`), and the answer names the
//! uploads and sends the application back to review.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use kiosk_protocol::{
    ApiError, CorrectionAnswered, CorrectionOpened, CorrectionOpening, CorrectionSubmission,
};

use super::MAX_TERMINAL_BODY;
use crate::http::extract::Payload;
use crate::http::{AppState, Failure, JsonBody, SignedTerminal};
use crate::store::StoreError;

impl Payload for CorrectionOpening {
    const NAME: &'static str = "correction opening";
}

impl Payload for CorrectionSubmission {
    const NAME: &'static str = "correction";
}

/// The signed routes of this area.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/applications/{application_no}/corrections",
            post(open_correction),
        )
        .route(
            "/v1/applications/{application_no}/corrections/submit",
            post(submit_correction),
        )
        .layer(DefaultBodyLimit::max(MAX_TERMINAL_BODY))
}

/// An application number of the right shape, else the answer an unknown application gets.
fn application_no(no: &str) -> Result<&str, Failure> {
    if (1..=32).contains(&no.len()) && no.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(no)
    } else {
        Err(StoreError::UnknownApplication.into())
    }
}

/// Opens an application's 补正 at this terminal for its applicant (the card on the reader):
/// the asked materials may then be uploaded from here, until the answer is submitted.
#[utoipa::path(post, tag = "crate::api", path = "/v1/applications/{application_no}/corrections",
    params(("application_no" = String, Path, description = "Application number (受理编号)")),
    request_body = CorrectionOpening,
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 201, description = "Open: upload the asked materials", body = CorrectionOpened),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 409, description = "The application does not wait for materials (`no_correction_asked`), or the 补正 asks for corrected answers, handed in at a service window (`correction_at_window`)", body = ApiError),
        (status = 422, description = "Malformed card (`invalid_field`), or no such application (`unknown_application`, also when the card is not the applicant's)", body = ApiError),
))]
pub async fn open_correction(
    State(state): State<AppState>,
    terminal: SignedTerminal,
    Path(no): Path<String>,
    JsonBody(request): JsonBody<CorrectionOpening>,
) -> Result<Response, Failure> {
    request.holder.validate().map_err(Failure::invalid)?;
    let no = application_no(&no)?;
    let store = state.store();
    let holder_key = store.holder_key(&request.holder.id_number, &request.holder.name)?;
    let grant = store.open_correction(no, &terminal.id, &holder_key).await?;
    tracing::info!(application_no = %no, terminal = %terminal.id, "补正 opened at a terminal");
    Ok((
        StatusCode::CREATED,
        axum::Json(CorrectionOpened {
            application_no: no.to_owned(),
            matter_id: grant.matter_id,
            materials: grant.materials,
        }),
    )
        .into_response())
}

/// Answers the 补正 opened at this terminal with the uploads made here for it: every asked
/// material needs a completed upload. The application goes back to review (审核中).
#[utoipa::path(post, tag = "crate::api", path = "/v1/applications/{application_no}/corrections/submit",
    params(("application_no" = String, Path, description = "Application number (受理编号)")),
    request_body = CorrectionSubmission,
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 200, description = "Answered: back with the department", body = CorrectionAnswered),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 409, description = "The application does not wait for materials (`no_correction_asked`, also after a first answer), no 补正 opened at this terminal (`correction_not_open`), or an upload not completed (`upload_incomplete`)", body = ApiError),
        (status = 422, description = "Malformed card or upload ids (`invalid_field`), no such application (`unknown_application`, also when the card is not the applicant's), an upload not made here for this 补正 (`unknown_upload`), or asked materials without an upload (`materials_missing`)", body = ApiError),
))]
pub async fn submit_correction(
    State(state): State<AppState>,
    terminal: SignedTerminal,
    Path(no): Path<String>,
    JsonBody(request): JsonBody<CorrectionSubmission>,
) -> Result<axum::Json<CorrectionAnswered>, Failure> {
    request.validate().map_err(Failure::invalid)?;
    let no = application_no(&no)?;
    let store = state.store();
    let holder_key = store.holder_key(&request.holder.id_number, &request.holder.name)?;
    let advanced = store
        .answer_correction(no, &terminal.id, &holder_key, &request.uploads)
        .await?;
    tracing::info!(application_no = %no, terminal = %terminal.id, "补正 answered at a terminal");
    Ok(axum::Json(CorrectionAnswered {
        application_no: advanced.application_no,
        state: advanced.to,
        at: advanced.at,
    }))
}
