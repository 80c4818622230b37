//! The department API: a department's own system reports what it did with an application
//! (`POST /v1/departments/{department}/reports`), moving it through the same gate as the
//! workbench's clerks ([`crate::store::Store::advance`]).
//!
//! A department's system authenticates with the inbound key its connector was given
//! (`Authorization: Bearer …`, shown once to the admin who made or rotated the connector,
//! kept only as its SHA-256 and compared in constant time). A missing or unknown key is 401;
//! the key of another department 403 (`other_department`), so a department's key moves its
//! own applications only. Each department may send [`REPORTS_PER_SECOND`] reports a second
//! (bursts of [`REPORT_BURST`]); past that, 429. The body is read only after the key is
//! checked and is at most [`MAX_REPORT_BODY`] bytes.
//!
//! A report carries the department's `report_id`: a replay (a retry after a lost answer)
//! gets the first answer again and changes nothing; the same id with another report is 409
//! `report_id_reused`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use bytes::Bytes;
use kiosk_protocol::ApiError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::http::{AppState, Failure};
use crate::lifecycle::{CORRECTION_WORKING_DAYS, Change, iso_day, parse_day};
use crate::store::connectors::{check_department, inbound_key_hash};
use crate::store::{DepartmentReport, StoreError};

/// Reports a department may send per second, sustained.
pub const REPORTS_PER_SECOND: f64 = 20.0;
/// Reports a department may send at once after a quiet spell.
pub const REPORT_BURST: f64 = 100.0;
/// Largest report body.
pub const MAX_REPORT_BODY: usize = 64 * 1024;
/// Longest reason or note.
const MAX_WORDS: usize = 2_000;
/// Most materials or fields one 补正 names.
const MAX_ASKED: usize = 64;

/// What a department's system did with an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportAction {
    /// 开始审核: review started.
    StartReview,
    /// 补正: materials or answers asked for again (`materials` and/or `fields`, `reason`,
    /// optional `answer_by`, by default five working days from today).
    AskCorrection,
    /// 办结: approved and completed (optional `note`: where to collect the result, ...).
    Complete,
    /// 不予办理: refused (`reason` required).
    Refuse,
}

/// A department system's report about one application.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// The department's own id of this report, 1-128 of `A-Z a-z 0-9 . _ : -`: a report sent
    /// again under it is answered as the first time and changes nothing.
    pub report_id: String,
    /// The application (its number on the receipt and in the delivery).
    pub application_no: String,
    /// What was done.
    pub action: ReportAction,
    /// For `ask_correction`: materials asked for again, by index in the matter's list.
    #[serde(default)]
    pub materials: Vec<u16>,
    /// For `ask_correction`: form fields asked for again, by id.
    #[serde(default)]
    pub fields: Vec<String>,
    /// Why (`ask_correction`, `refuse`), shown to the applicant.
    #[serde(default)]
    pub reason: String,
    /// For `ask_correction`: the day it must be answered by, `YYYY-MM-DD`.
    #[serde(default)]
    pub answer_by: Option<String>,
    /// For `complete`: a note for the applicant.
    #[serde(default)]
    pub note: String,
}

impl std::fmt::Debug for ReportRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // reason and note are an official's words and may name the applicant.
        f.debug_struct("ReportRequest")
            .field("report_id", &self.report_id)
            .field("application_no", &self.application_no)
            .field("action", &self.action)
            .finish_non_exhaustive()
    }
}

/// What a report did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportReceipt {
    /// The report.
    pub report_id: String,
    /// The application.
    pub application_no: String,
    /// Its state before the report.
    pub from: String,
    /// Its state now.
    pub to: String,
    /// When the change was made, RFC 3339.
    pub at: String,
    /// True when this answers a report already applied under the same id.
    pub replayed: bool,
}

/// Each department's report allowance (a token bucket), in memory: per instance, which is
/// enough to keep one department's runaway system from flooding the database.
#[derive(Default)]
pub struct ReportThrottle {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl ReportThrottle {
    /// Takes one report from `department`'s allowance; false when it is spent.
    fn take(&self, department: &str) -> bool {
        let now = Instant::now();
        let Ok(mut buckets) = self.buckets.lock() else {
            return true;
        };
        let (tokens, at) = buckets
            .entry(department.to_owned())
            .or_insert((REPORT_BURST, now));
        let refill = now.duration_since(*at).as_secs_f64() * REPORTS_PER_SECOND;
        *tokens = (*tokens + refill).min(REPORT_BURST);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The department API's routes (open: authenticated by the department's key, not a
/// terminal's signature).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/departments/{department}/reports", post(report))
        .layer(DefaultBodyLimit::max(MAX_REPORT_BODY))
        .layer(Extension(Arc::new(ReportThrottle::default())))
}

/// `POST /v1/departments/{department}/reports`.
#[utoipa::path(post, tag = "department_api", path = "/v1/departments/{department}/reports",
    params(("department" = String, Path, description = "The department's id, as in the catalog")),
    request_body = ReportRequest,
    security(("department_key" = [])),
    responses(
        (status = 200, description = "Applied, or (`replayed`) applied before under this report_id", body = ReportReceipt),
        (status = 400, description = "Malformed body (`malformed_body`)", body = ApiError),
        (status = 401, description = "No key, or not a department's key (`unauthorized`)", body = ApiError),
        (status = 403, description = "The key or the application is another department's (`other_department`), or the connector is disabled (`connector_disabled`)", body = ApiError),
        (status = 404, description = "No such application (`unknown_application`)", body = ApiError),
        (status = 409, description = "Not allowed from the application's state (`application_finished`, `illegal_transition`, `empty_correction`, `reason_required`), or the report_id was used for another report (`report_id_reused`)", body = ApiError),
        (status = 413, description = "Body over 64 KiB", body = ApiError),
        (status = 422, description = "A field fails its check (`invalid_field`, message starts with its path)", body = ApiError),
        (status = 429, description = "More reports than this department's allowance (`rate_limited`)", body = ApiError),
))]
pub async fn report(
    State(state): State<AppState>,
    Extension(throttle): Extension<Arc<ReportThrottle>>,
    Path(department): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    authenticate(&state, &department, &headers).await?;
    if !throttle.take(&department) {
        let refusal = Failure::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("at most {REPORTS_PER_SECOND} reports a second per department"),
        );
        return Ok(([(header::RETRY_AFTER, "1")], refusal).into_response());
    }
    let request: ReportRequest = parse(&body)?;
    check(&request).map_err(Failure::invalid)?;
    let change = change_of(&state, &request).await?;
    let report = DepartmentReport {
        report_id: request.report_id.clone(),
        application_no: request.application_no.clone(),
        change,
        fingerprint: fingerprint(&request),
    };
    let (outcome, replayed) = state
        .store()
        .apply_report(&department, report)
        .await
        .map_err(refusal)?;
    Ok(axum::Json(ReportReceipt {
        report_id: outcome.report_id,
        application_no: outcome.application_no,
        from: outcome.from,
        to: outcome.to,
        at: outcome.at,
        replayed,
    })
    .into_response())
}

/// The report as parsed, hashed: a replay is recognised whatever its spacing or key order.
fn fingerprint(request: &ReportRequest) -> String {
    let canonical = serde_json::to_vec(request).unwrap_or_default();
    kiosk_protocol::auth::hex_encode(&Sha256::digest(&canonical))
}

/// Checks the bearer key against `department`'s connector.
async fn authenticate(
    state: &AppState,
    department: &str,
    headers: &HeaderMap,
) -> Result<(), Failure> {
    let unauthorized = || {
        Failure::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the department's key as Authorization: Bearer KEY",
        )
    };
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim())
        .filter(|k| !k.is_empty() && k.len() <= 256)
        .ok_or_else(unauthorized)?;
    let given = inbound_key_hash(key);
    let store = state.store();
    if check_department(department)
        && let Some((expected, enabled)) = store.inbound_key_of(department).await?
        && crate::keys::same_secret(expected.as_bytes(), given.as_bytes())
    {
        return if enabled {
            Ok(())
        } else {
            Err(Failure::new(
                StatusCode::FORBIDDEN,
                "connector_disabled",
                "this department's connector is disabled",
            ))
        };
    }
    match store.inbound_key_owner(&given).await? {
        Some(_) => Err(Failure::new(
            StatusCode::FORBIDDEN,
            "other_department",
            "this key belongs to another department",
        )),
        None => Err(unauthorized()),
    }
}

/// The body as a report, or 400 naming where it is wrong.
fn parse(body: &[u8]) -> Result<ReportRequest, Failure> {
    let mut json = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let path = e.path().to_string();
        Failure::malformed_body("report", format!("{path}: {}", e.into_inner()))
    })
}

/// Sizes and formats, each refusal naming its field.
fn check(request: &ReportRequest) -> Result<(), ApiError> {
    let bad =
        |field: &str, why: &str| Err(ApiError::new("invalid_field", format!("{field}: {why}")));
    let id_ok = (1..=128).contains(&request.report_id.len())
        && request
            .report_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if !id_ok {
        return bad("report_id", "1 to 128 of A-Z a-z 0-9 . _ : -");
    }
    if !(1..=64).contains(&request.application_no.len())
        || !request.application_no.bytes().all(|b| b.is_ascii_graphic())
    {
        return bad("application_no", "1 to 64 printable ASCII characters");
    }
    if request.materials.len() > MAX_ASKED {
        return bad("materials", "at most 64");
    }
    if request.fields.len() > MAX_ASKED {
        return bad("fields", "at most 64");
    }
    for (i, field) in request.fields.iter().enumerate() {
        if !(1..=64).contains(&field.len()) || field.chars().any(char::is_control) {
            return bad(&format!("fields[{i}]"), "1 to 64 characters");
        }
    }
    for (name, words) in [("reason", &request.reason), ("note", &request.note)] {
        if words.chars().count() > MAX_WORDS || words.chars().any(|c| c.is_control() && c != '\n') {
            return bad(name, "at most 2000 characters, no control characters");
        }
    }
    if let Some(day) = &request.answer_by
        && parse_day(day).is_none()
    {
        return bad("answer_by", "a day as YYYY-MM-DD");
    }
    Ok(())
}

/// The state change a report asks for.
async fn change_of(state: &AppState, request: &ReportRequest) -> Result<Change, Failure> {
    Ok(match request.action {
        ReportAction::StartReview => Change::StartReview,
        ReportAction::AskCorrection => {
            let answer_by = match &request.answer_by {
                Some(day) => day.clone(),
                None => {
                    let today = crate::store::now_beijing().date();
                    let calendar = state.store().calendar().await?;
                    iso_day(calendar.add_working_days(today, CORRECTION_WORKING_DAYS))
                }
            };
            Change::AskCorrection {
                materials: request.materials.clone(),
                fields: request.fields.clone(),
                reason: request.reason.clone(),
                answer_by,
            }
        }
        ReportAction::Complete => Change::Complete {
            note: request.note.clone(),
        },
        ReportAction::Refuse => Change::Refuse {
            reason: request.reason.clone(),
        },
    })
}

/// A store refusal as the department API answers it.
fn refusal(e: StoreError) -> Failure {
    match e {
        StoreError::UnknownApplication => Failure::new(
            StatusCode::NOT_FOUND,
            "unknown_application",
            "no application with this number",
        ),
        StoreError::ReportIdReused => Failure::new(
            StatusCode::CONFLICT,
            "report_id_reused",
            "this report_id was already used for a different report",
        ),
        other => Failure::from(other),
    }
}
