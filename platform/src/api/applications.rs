//! Applications at a terminal: the catalog they are made against, submitting one (exactly once
//! per `Idempotency-Key`, plain or sealed), its state, and the citizen's 好差评 rating.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kiosk_protocol::{
    ApiError, ApplicationReceipt, ApplicationRequest, ApplicationStatus, Catalog, RatingRequest,
    RatingStage,
};

use super::answers;
use crate::http::extract::{Payload, signer_of};
use crate::http::{AppState, Failure, IdempotencyKey, JsonBody, SealedBody, SignedTerminal};
use crate::lifecycle::{COMMITMENT_WORKING_DAYS, iso_day};
use crate::store::Intake;

/// Largest application body accepted (materials travel separately).
pub const MAX_APPLICATION_BODY: usize = 64 * 1024;

/// Largest rating body accepted.
const MAX_RATING_BODY: usize = 4 * 1024;

impl Payload for ApplicationRequest {
    const NAME: &'static str = "application";
}

impl Payload for RatingRequest {
    const NAME: &'static str = "rating";
}

/// `GET /v1/catalog`: open, so a terminal can show matters before it is enrolled.
pub(super) fn open_routes() -> Router<AppState> {
    Router::new().route("/v1/catalog", get(catalog))
}

/// The signed routes: submit, status, rate.
pub(super) fn signed_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/applications",
            post(submit_application).layer(DefaultBodyLimit::max(MAX_APPLICATION_BODY)),
        )
        .route("/v1/applications/{application_no}", get(application_status))
        .route(
            "/v1/ratings",
            post(rate).layer(DefaultBodyLimit::max(MAX_RATING_BODY)),
        )
}

/// The published service catalog, with its version as ETag. A request signed by an enrolled
/// terminal gets the version chosen for its site, if its site has one; any other request (an
/// unenrolled terminal, a bad signature) gets the current version.
#[utoipa::path(get, tag = "crate::api", path = "/v1/catalog",
    params(("If-None-Match" = Option<String>, Header, description = "ETag of the catalog the terminal holds")),
    responses(
        (status = 200, description = "The current catalog", body = Catalog),
        (status = 304, description = "The terminal's copy is current"),
        (status = 503, description = "Nothing published yet", body = ApiError),
))]
pub async fn catalog(State(state): State<AppState>, request: Request) -> Result<Response, Failure> {
    let held = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let unchanged = |etag: &str| {
        held.as_deref().is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        })
    };
    // A signed request gets its terminal's site's version; anyone else the current one.
    let terminal = signer_of(&state, request).await;
    // Terminals check every few minutes and mostly hold the version they should: the
    // version alone answers them, without reading the catalog's body.
    if held.is_some() {
        let version = match &terminal {
            Some(id) => state.store().catalog_target(id).await?.map(|t| t.version),
            None => state.store().current_catalog_version().await?,
        };
        if let Some(version) = version {
            let etag = format!("\"{version}\"");
            if unchanged(&etag) {
                let etag_value = HeaderValue::from_str(&etag).map_err(|_| Failure::internal())?;
                return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response());
            }
        }
    }
    let published = match &terminal {
        Some(id) => state.store().catalog_for_terminal(id).await?,
        None => state.store().current_catalog().await?,
    };
    let etag = format!("\"{}\"", published.version);
    let etag_value = HeaderValue::from_str(&etag).map_err(|_| Failure::internal())?;
    if unchanged(&etag) {
        // Published between the two reads.
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_value)]).into_response());
    }
    Ok((
        [
            (header::ETAG, etag_value),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        published.body,
    )
        .into_response())
}

/// Accepts an application exactly once per `Idempotency-Key`.
#[utoipa::path(post, tag = "crate::api", path = "/v1/applications",
    request_body = ApplicationRequest,
    params(("Idempotency-Key" = String, Header, description = "Unique per application; a retry reuses it")),
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 201, description = "Accepted", body = ApplicationReceipt),
        (status = 200, description = "Already accepted under this key: the same receipt", body = ApplicationReceipt),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 403, description = "The body names another terminal", body = ApiError),
        (status = 413, description = "Body too large", body = ApiError),
        (status = 415, description = "The body is not sealed to the platform's key (`unsealed_body`)", body = ApiError),
        (status = 409, description = "The catalog version the answers were made against stopped being current longer ago than the grace period (`catalog_version_expired`)", body = ApiError),
        (status = 422, description = "Unknown matter, invalid field, an answer the matter's form refuses (`invalid_answer`, naming `answers.<field>`), a catalog version never published (`unknown_catalog_version`), or key reused for another application", body = ApiError),
))]
pub async fn submit_application(
    State(state): State<AppState>,
    terminal: SignedTerminal,
    key: Result<IdempotencyKey, Failure>,
    body: Result<SealedBody<ApplicationRequest>, Failure>,
) -> Result<Response, Failure> {
    // A body that cannot be read (too large, cut off) is refused before a missing key; a key
    // is checked before the body is opened and parsed.
    let body = match body {
        Err(unread) if unread.code() == "body_rejected" => return Err(unread),
        other => other,
    };
    let IdempotencyKey(key) = key?;
    let SealedBody(request) = body?;
    request.validate().map_err(Failure::invalid)?;
    terminal.must_be(&request.terminal_id)?;

    let current = state.current_catalog().await?;
    let Some(matter) = current.matter(&request.matter_id) else {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_matter",
            "no such matter in the published catalog",
        ));
    };
    if !matter.kiosk_application {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_applicable_at_terminal",
            "this matter cannot be applied for at a terminal",
        ));
    }
    if let Some(&index) = request.committed_missing_materials.iter().find(|&&i| {
        matter
            .materials
            .get(usize::from(i))
            .is_none_or(|m| !m.waivable)
    }) {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "material_not_waivable",
            format!("material {index} does not exist or cannot be deferred under 容缺受理"),
        ));
    }

    if let Err(refused) = check_answers(&state, current.clone(), &request).await {
        // A retry of what was accepted before (its version has since expired) keeps its receipt.
        return match state
            .store()
            .stored_receipt(&key, &request, state.progress_base())
            .await?
        {
            Some(receipt) => Ok((StatusCode::OK, axum::Json(receipt)).into_response()),
            None => Err(refused),
        };
    }

    let intake = intake_of(&state, matter, &request).await?;
    let receipt = state
        .store()
        .submit_application(&key, &request, &intake, state.progress_base())
        .await?;
    let status = if receipt.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    tracing::info!(application_no = %receipt.application_no, matter = %receipt.matter_id, replayed = receipt.replayed, "application accepted");
    Ok((status, axum::Json(receipt)).into_response())
}

/// What the platform records with a new application: its department, the day it is due by the
/// matter's time limit, and a due day for each material promised under 容缺受理 (working days
/// on the administrators' calendar, counted from today in Beijing).
async fn intake_of(
    state: &AppState,
    matter: &kiosk_protocol::Matter,
    request: &ApplicationRequest,
) -> Result<Intake, Failure> {
    let calendar = state.store().calendar().await?;
    let today = crate::store::now_beijing().date();
    let promised = iso_day(calendar.add_working_days(today, COMMITMENT_WORKING_DAYS));
    Ok(Intake {
        department: matter.department.clone(),
        due_on: iso_day(calendar.due_on(today, matter.time_limit)),
        commitments: request
            .committed_missing_materials
            .iter()
            .map(|&i| (i, promised.clone()))
            .collect(),
    })
}

/// The answers checked against the matter's form in the catalog version the terminal used.
async fn check_answers(
    state: &AppState,
    current: Arc<Catalog>,
    request: &ApplicationRequest,
) -> Result<(), Failure> {
    let used = answers::catalog_used(state, current, request.catalog_version.as_deref()).await?;
    let matter = used.matter(&request.matter_id).ok_or_else(|| {
        Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_matter",
            "no such matter in the catalog version the application names",
        )
    })?;
    answers::check(state, &used, matter, &request.answers)
}

/// Records a 好差评 rating: of the acceptance at the terminal that took the application, or of
/// the completion at any terminal for the applicant whose card is on its reader (each once).
#[utoipa::path(post, tag = "crate::api", path = "/v1/ratings",
    request_body = RatingRequest,
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 204, description = "Recorded"),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 403, description = "The body names another terminal", body = ApiError),
        (status = 409, description = "Already rated at this stage (`already_rated`), or a rating of completion for an application not finished yet (`illegal_transition`)", body = ApiError),
        (status = 422, description = "Invalid level, missing reason, indicators missing from a rating of completion (`indicators_required`) or its card (`holder_required`), or unknown application (also when the card is not the applicant's)", body = ApiError),
))]
pub async fn rate(
    State(state): State<AppState>,
    terminal: SignedTerminal,
    JsonBody(rating): JsonBody<RatingRequest>,
) -> Result<StatusCode, Failure> {
    rating.validate().map_err(Failure::invalid)?;
    terminal.must_be(&rating.terminal_id)?;
    if rating.stage == RatingStage::Completion && rating.holder.is_none() {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "holder_required",
            "a rating of completion carries the card on the reader (holder)",
        ));
    }
    let rated = state.store().rate(&rating).await?;
    if let Some(case) = rated.case {
        tracing::info!(case, application_no = %rating.application_no, "bad rating opened a case");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// One application the calling terminal took: its state, no personal data.
#[utoipa::path(get, tag = "crate::api", path = "/v1/applications/{application_no}",
    params(("application_no" = String, Path, description = "Application number (受理编号)")),
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 200, description = "The application", body = ApplicationStatus),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 404, description = "No such application taken at this terminal", body = ApiError),
))]
pub async fn application_status(
    State(state): State<AppState>,
    terminal: SignedTerminal,
    Path(application_no): Path<String>,
) -> Result<axum::Json<ApplicationStatus>, Failure> {
    let found = if (1..=32).contains(&application_no.len())
        && application_no.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        state
            .store()
            .terminal_application(&terminal.id, &application_no)
            .await?
    } else {
        None
    };
    found.map(axum::Json).ok_or_else(|| {
        Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such application taken at this terminal",
        )
    })
}
