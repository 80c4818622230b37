//! Errands a citizen runs at a terminal beyond applying: a queue ticket (取号), checking in an
//! appointment, their applications' progress, and certificates printed on the spot.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use kiosk_protocol::{
    ApiError, CertificateRequest, CheckInRequest, CheckInResponse, ProgressRequest,
    ProgressResponse, RECORD_QUERIES_SUSPENDED, Ticket, TicketRequest,
};
use serde_json::Value;

use super::{MAX_TERMINAL_BODY, answers};
use crate::documents::certificate::{
    CertificateKind, Paper, Seal, application_record, certified_record,
};
use crate::http::extract::Payload;
use crate::http::{AppState, Failure, JsonBody, SignedTerminal};
use crate::store::{CheckInKey, RecordGate, RecordQueryKind, TrailEntry, unix_now};

impl Payload for TicketRequest {
    const NAME: &'static str = "ticket request";
}

impl Payload for CheckInRequest {
    const NAME: &'static str = "check-in";
}

impl Payload for ProgressRequest {
    const NAME: &'static str = "progress query";
}

impl Payload for CertificateRequest {
    const NAME: &'static str = "certificate request";
}

/// The signed routes of this area.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/tickets", post(take_ticket))
        .route("/v1/appointments/check-in", post(check_in))
        .route("/v1/progress", post(progress))
        .route("/v1/certificates/{kind}", post(certificate))
        .layer(DefaultBodyLimit::max(MAX_TERMINAL_BODY))
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
    terminal: &SignedTerminal,
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

/// A record query about to be answered: admitted by the terminal's limits, and logged with
/// how it went once answered.
struct RecordQuery<'a> {
    state: &'a AppState,
    terminal: &'a SignedTerminal,
    kind: RecordQueryKind,
    /// The keyed digest the terminal's citizens are counted by.
    subject: String,
    at: i64,
}

impl<'a> RecordQuery<'a> {
    /// Admits a query about `subject` (what the ID number or code is counted as: its keyed
    /// digest, never the text) or answers 429 `record_queries_suspended`.
    async fn admit(
        state: &'a AppState,
        terminal: &'a SignedTerminal,
        kind: RecordQueryKind,
        subject: String,
    ) -> Result<Self, Failure> {
        let at = unix_now();
        match state
            .store()
            .admit_record_query(&terminal.id, kind, &subject, at)
            .await?
        {
            RecordGate::Open => Ok(RecordQuery {
                state,
                terminal,
                kind,
                subject,
                at,
            }),
            RecordGate::Suspended => Err(Failure::new(
                StatusCode::TOO_MANY_REQUESTS,
                RECORD_QUERIES_SUSPENDED,
                "this terminal asked about more citizens than stand at a terminal: its record \
                 queries are suspended until an operator clears the alarm",
            )),
        }
    }

    /// Logs the answer: `records` records given, about `matter` when there is one.
    async fn answered(self, matter: Option<&str>, records: usize) -> Result<(), Failure> {
        let outcome = if records > 0 { "found" } else { "nothing" };
        self.state
            .store()
            .log_record_query(TrailEntry {
                terminal_id: &self.terminal.id,
                kind: self.kind,
                matter,
                outcome,
                records,
                subject: Some(&self.subject),
                at: self.at,
            })
            .await?;
        Ok(())
    }
}

/// Takes a queue ticket (取号) for a matter at this terminal's site.
#[utoipa::path(post, tag = "crate::terminal_api", path = "/v1/tickets",
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
    terminal: SignedTerminal,
    JsonBody(request): JsonBody<TicketRequest>,
) -> Result<Response, Failure> {
    if request.matter_id.is_empty() || request.matter_id.len() > 64 {
        return Err(Failure::invalid(ApiError::new(
            "invalid_field",
            "matter_id: 1 to 64 characters",
        )));
    }
    let ticket = ticket_for(&state, &terminal, &request.matter_id).await?;
    Ok((StatusCode::CREATED, axum::Json(ticket)).into_response())
}

/// Checks in today's appointment at this site, by code or by the ID number and name read from
/// the card (a booking under another name is not found, as if there were none).
#[utoipa::path(post, tag = "crate::terminal_api", path = "/v1/appointments/check-in",
    request_body = CheckInRequest,
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 200, description = "Found (with its ticket) or not found", body = CheckInResponse),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 422, description = "Neither or both keys, a malformed one, or the ID number without the card's name (`name_required`)", body = ApiError),
        (status = 429, description = "This terminal's record queries are suspended (`record_queries_suspended`)", body = ApiError),
))]
pub async fn check_in(
    State(state): State<AppState>,
    terminal: SignedTerminal,
    JsonBody(request): JsonBody<CheckInRequest>,
) -> Result<axum::Json<CheckInResponse>, Failure> {
    request.validate().map_err(Failure::invalid)?;
    let store = state.store();
    let (key, kind, subject) = match (&request.code, &request.id_number, &request.name) {
        (Some(code), _, _) => {
            let code = code.to_ascii_uppercase();
            let subject = store.applicant_key(&format!("appointment-code:{code}"))?;
            (
                CheckInKey::Code(code),
                RecordQueryKind::CheckInByCode,
                subject,
            )
        }
        (None, Some(id), Some(name)) => (
            CheckInKey::Holder(store.holder_key(id, name)?),
            RecordQueryKind::CheckInByCard,
            store.applicant_key(id)?,
        ),
        _ => {
            return Err(Failure::invalid(ApiError::new(
                "invalid_field",
                "code, or id_number with name",
            )));
        }
    };
    let query = RecordQuery::admit(&state, &terminal, kind, subject).await?;
    let found = store.find_appointment(&terminal.id, &key).await?;
    query
        .answered(
            found.as_ref().map(|f| f.info.matter_id.as_str()),
            usize::from(found.is_some()),
        )
        .await?;
    let Some(found) = found else {
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

/// The applications of the applicant whose card is on the reader (only theirs: filed under
/// the card's ID number *and* name; another name gets the empty list an unknown number gets).
#[utoipa::path(post, tag = "crate::terminal_api", path = "/v1/progress",
    request_body = ProgressRequest,
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 200, description = "The applicant's applications, newest first, each with its form answers in words (card and ID numbers masked)", body = ProgressResponse),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 422, description = "Malformed ID number or name, or no name (`name_required`)", body = ApiError),
        (status = 429, description = "This terminal's record queries are suspended (`record_queries_suspended`)", body = ApiError),
))]
pub async fn progress(
    State(state): State<AppState>,
    terminal: SignedTerminal,
    JsonBody(request): JsonBody<ProgressRequest>,
) -> Result<axum::Json<ProgressResponse>, Failure> {
    request.validate().map_err(Failure::invalid)?;
    let name = request.name.as_deref().unwrap_or_default();
    let subject = state.store().applicant_key(&request.id_number)?;
    let query = RecordQuery::admit(&state, &terminal, RecordQueryKind::Progress, subject).await?;
    let mut applications = state
        .store()
        .applications_of(&request.id_number, name)
        .await?;
    let filed = state.store().answers_of(&request.id_number, name).await?;
    answers::read_back(&state, &mut applications, filed).await?;
    query.answered(None, applications.len()).await?;
    Ok(axum::Json(ProgressResponse { applications }))
}

/// A certificate for the applicant whose card is on the reader, as a PDF: it lists the
/// applications filed under the card's ID number *and* name (another name gets the certificate
/// of no applications an unknown number gets).
///
/// POST, not GET: the applicant's name and ID number travel in the signed body, never in a URL
/// that proxies log.
///
/// `?paper=roll80` lays it out for an 80 mm receipt roll (72 mm wide, as long as needed);
/// without it, or with `paper=a4`, it is A4.
#[utoipa::path(post, tag = "crate::terminal_api", path = "/v1/certificates/{kind}",
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
        (status = 429, description = "This terminal's record queries are suspended (`record_queries_suspended`)", body = ApiError),
))]
pub async fn certificate(
    State(state): State<AppState>,
    terminal: SignedTerminal,
    Path(kind): Path<String>,
    RawQuery(query): RawQuery,
    body: Result<JsonBody<CertificateRequest>, Failure>,
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
    let JsonBody(request) = body?;
    request.validate().map_err(Failure::invalid)?;
    let subject = state.store().applicant_key(&request.id_number)?;
    let query =
        RecordQuery::admit(&state, &terminal, RecordQueryKind::Certificate, subject).await?;
    let pdf = match kind {
        CertificateKind::ApplicationRecord => {
            let applications = state
                .store()
                .applications_of(&request.id_number, &request.name)
                .await?;
            query
                .answered(Some(kind.name()), applications.len())
                .await?;
            let catalog = state.current_catalog().await?;
            let issued_at = crate::store::rfc3339_at(unix_now());
            let record = certified_record(
                &request.name,
                &request.id_number,
                &applications,
                &catalog,
                &issued_at,
            );
            let stored = record.to_stored();
            let code = state.certificate_key().await?.code(&stored);
            // Recorded before it is printed: every code on paper can be checked.
            state
                .store()
                .record_certificate(
                    code.as_str(),
                    kind.name(),
                    &stored,
                    &issued_at,
                    &terminal.id,
                )
                .await?;
            application_record(
                &request.name,
                &record,
                &Seal::new(code, state.public_base()),
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
