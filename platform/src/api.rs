//! The terminal-facing HTTP API (`/v1`), health and the OpenAPI document.

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kiosk_protocol::{
    ApiError, ApplicationReceipt, ApplicationRequest, ApplicationStatus, Catalog, EnrollRequest,
    EnrollResponse, Health, IDEMPOTENCY_KEY_HEADER, RatingRequest,
    sealing::SEALED_APPLICATION_CONTENT_TYPE, validate_idempotency_key,
};

use crate::auth::{Terminal, require_terminal};
use crate::store::{PublishedCatalog, Store, StoreError};
use crate::{materials_api, terminal_api};

/// Largest application body accepted (materials travel separately).
pub const MAX_APPLICATION_BODY: usize = 64 * 1024;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    store: Store,
    progress_base: Arc<str>,
    parsed_catalog: Arc<RwLock<Option<Arc<Catalog>>>>,
    offline_after: i64,
    updates: Option<Arc<kiosk_release::ReleaseRepository>>,
}

/// A terminal is shown offline after this many seconds without a heartbeat (three missed 30 s
/// heartbeats).
pub const DEFAULT_OFFLINE_AFTER_SECS: i64 = 90;

impl AppState {
    /// State over `store`; receipts point citizens at `progress_base`/progress/NO.
    pub fn new(store: Store, progress_base: &str) -> Self {
        Self {
            store,
            progress_base: progress_base.into(),
            parsed_catalog: Arc::default(),
            offline_after: DEFAULT_OFFLINE_AFTER_SECS,
            updates: None,
        }
    }

    /// The same state, serving the signed release repository `repo` under
    /// `/v1/updates/tuf/` and handing its root to enrolling terminals.
    pub fn with_updates_repo(mut self, repo: kiosk_release::ReleaseRepository) -> Self {
        self.updates = Some(Arc::new(repo));
        self
    }

    /// The release repository this platform serves, if any.
    pub fn updates_repo(&self) -> Option<&kiosk_release::ReleaseRepository> {
        self.updates.as_deref()
    }

    /// The same state, showing terminals offline after `secs` without a heartbeat.
    pub fn with_offline_after(mut self, secs: i64) -> Self {
        self.offline_after = secs.max(1);
        self
    }

    /// Seconds without a heartbeat after which a terminal counts as offline.
    pub fn offline_after(&self) -> i64 {
        self.offline_after
    }

    /// The platform's public base URL.
    pub fn public_base(&self) -> &str {
        self.progress_base.trim_end_matches('/')
    }

    /// True when the console's cookies must be `Secure` (the platform is served over HTTPS).
    pub fn secure_cookies(&self) -> bool {
        self.progress_base.starts_with("https://")
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The catalog published now, parsed.
    pub(crate) async fn current_catalog(&self) -> Result<Arc<Catalog>, Failure> {
        let published = self.store.current_catalog().await?;
        self.catalog(&published)
    }

    /// The current catalog, parsed once per published version.
    fn catalog(&self, published: &PublishedCatalog) -> Result<Arc<Catalog>, Failure> {
        if let Ok(cache) = self.parsed_catalog.read()
            && let Some(catalog) = cache.as_ref().filter(|c| c.version == published.version)
        {
            return Ok(catalog.clone());
        }
        let catalog: Arc<Catalog> =
            Arc::new(serde_json::from_str(&published.body).map_err(|e| {
                tracing::error!(error = %e, "published catalog does not parse");
                Failure::internal()
            })?);
        if let Ok(mut cache) = self.parsed_catalog.write() {
            *cache = Some(catalog.clone());
        }
        Ok(catalog)
    }
}

/// The platform's router.
///
/// `/healthz`, `/openapi.json`, `/v1/catalog`, `/v1/enroll` and the signed release files under
/// `/v1/updates/tuf/` are open; every other `/v1`
/// route answers only requests signed by an enrolled terminal ([`require_terminal`]).
pub fn router(state: AppState) -> Router {
    let terminal = Router::new()
        .route(
            "/v1/applications",
            post(submit_application).layer(DefaultBodyLimit::max(MAX_APPLICATION_BODY)),
        )
        .route("/v1/applications/{application_no}", get(application_status))
        .route(
            "/v1/ratings",
            post(rate).layer(DefaultBodyLimit::max(4 * 1024)),
        )
        .route("/v1/heartbeat", post(terminal_api::heartbeat))
        .route("/v1/events", post(terminal_api::event))
        .route("/v1/commands", get(terminal_api::commands))
        .route(
            "/v1/commands/{id}/result",
            post(terminal_api::command_result),
        )
        .route("/v1/config", get(terminal_api::config))
        .route("/v1/tickets", post(terminal_api::take_ticket))
        .route("/v1/appointments/check-in", post(terminal_api::check_in))
        .route("/v1/progress", post(terminal_api::progress))
        .route("/v1/certificates/{kind}", post(terminal_api::certificate))
        .route("/v1/updates/reports", post(terminal_api::update_report))
        .route(
            "/v1/applications/{application_no}/materials",
            post(materials_api::start_upload),
        )
        .route(
            "/v1/uploads/{upload_id}/complete",
            post(materials_api::complete_upload),
        )
        .layer(DefaultBodyLimit::max(terminal_api::MAX_TERMINAL_BODY))
        .route(
            "/v1/uploads/{upload_id}/chunks/{n}",
            axum::routing::put(materials_api::put_chunk)
                .layer(DefaultBodyLimit::max(materials_api::MAX_CHUNK_BODY)),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_terminal,
        ));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi_json))
        .route("/v1/catalog", get(catalog))
        .route(
            "/v1/enroll",
            post(enroll).layer(DefaultBodyLimit::max(4 * 1024)),
        )
        .merge(terminal)
        .merge(crate::updates_repo::router())
        .merge(crate::console::router())
        .fallback(not_found)
        .with_state(state)
}

/// An error answer: status plus an [`ApiError`] body.
#[derive(Debug)]
pub struct Failure(StatusCode, ApiError);

impl Failure {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Failure(status, ApiError::new(code, message))
    }

    pub(crate) fn from_api(status: StatusCode, error: ApiError) -> Self {
        Failure(status, error)
    }

    fn internal() -> Self {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the platform could not complete the request",
        )
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::KeyReused => Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different application",
            ),
            StoreError::UnknownApplication => Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_application",
                "no application with this number and matter",
            ),
            StoreError::AlreadyRated => Failure::new(
                StatusCode::CONFLICT,
                "already_rated",
                "this application has been rated already",
            ),
            StoreError::InvalidToken => Failure::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the enrollment token is unknown, used or expired",
            ),
            StoreError::UnknownTerminal => Failure::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the request is not signed by an enrolled terminal",
            ),
            StoreError::NoCatalog => Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_catalog",
                "no catalog has been published yet",
            ),
            // A value the database cannot hold (e.g. a NUL character in text) is the client's
            // fault, never a server error.
            StoreError::Postgres(e) if e.code().is_some_and(|c| c.code().starts_with("22")) => {
                Failure::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_field",
                    "a field holds a value that cannot be stored",
                )
            }
            other => {
                tracing::error!(error = %other, "store failure");
                Failure::internal()
            }
        }
    }
}

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", responses(
    (status = 200, description = "The platform and its database answer", body = Health),
    (status = 503, description = "The database does not answer", body = ApiError),
))]
pub async fn healthz(State(state): State<AppState>) -> Result<axum::Json<Health>, Failure> {
    let store = &state.store;
    let answer = async {
        store.ping().await?;
        store.current_catalog().await
    };
    let catalog = answer.await.map_err(|_| {
        Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "db_unavailable",
            "the database does not answer",
        )
    })?;
    Ok(axum::Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        catalog_version: catalog.version,
    }))
}

/// The published service catalog, with its version as ETag.
#[utoipa::path(get, path = "/v1/catalog",
    params(("If-None-Match" = Option<String>, Header, description = "ETag of the catalog the terminal holds")),
    responses(
        (status = 200, description = "The current catalog", body = Catalog),
        (status = 304, description = "The terminal's copy is current"),
        (status = 503, description = "Nothing published yet", body = ApiError),
))]
pub async fn catalog(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let published = state.store.current_catalog().await?;
    let etag = format!("\"{}\"", published.version);
    let etag_value = HeaderValue::from_str(&etag).map_err(|_| Failure::internal())?;
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    if matches {
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
#[utoipa::path(post, path = "/v1/applications",
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
        (status = 422, description = "Unknown matter, invalid field, or key reused for another application", body = ApiError),
))]
pub async fn submit_application(
    State(state): State<AppState>,
    Extension(terminal): Extension<Terminal>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, Failure> {
    let body = body.map_err(|rejection| {
        Failure::new(rejection.status(), "body_rejected", rejection.body_text())
    })?;
    let key = headers
        .get(IDEMPOTENCY_KEY_HEADER)
        .ok_or_else(|| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                "missing_idempotency_key",
                "the Idempotency-Key header is required",
            )
        })?
        .to_str()
        .map_err(|_| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                "Idempotency-Key must be ASCII",
            )
        })?
        .to_owned();
    validate_idempotency_key(&key).map_err(|e| Failure(StatusCode::BAD_REQUEST, e))?;
    let sealed = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case(SEALED_APPLICATION_CONTENT_TYPE));
    let opened;
    let plain: &[u8] = if sealed {
        opened = zeroize::Zeroizing::new(state.store.sealing_key().open(&body).map_err(|e| {
            Failure::new(StatusCode::BAD_REQUEST, "unsealable_body", e.to_string())
        })?);
        &opened
    } else {
        &body
    };
    let request: ApplicationRequest = parse_body(plain, "application")?;
    request
        .validate()
        .map_err(|e| Failure(StatusCode::UNPROCESSABLE_ENTITY, e))?;
    same_terminal(&terminal, &request.terminal_id)?;

    let published = state.store.current_catalog().await?;
    let catalog = state.catalog(&published)?;
    let Some(matter) = catalog.matter(&request.matter_id) else {
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

    let receipt = state
        .store
        .submit_application(&key, &request, &state.progress_base)
        .await?;
    let status = if receipt.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    tracing::info!(application_no = %receipt.application_no, matter = %receipt.matter_id, replayed = receipt.replayed, "application accepted");
    Ok((status, axum::Json(receipt)).into_response())
}

/// Records a 好差评 rating of a finished application (one per application).
#[utoipa::path(post, path = "/v1/ratings",
    request_body = RatingRequest,
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 204, description = "Recorded"),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 403, description = "The body names another terminal", body = ApiError),
        (status = 409, description = "Already rated", body = ApiError),
        (status = 422, description = "Invalid level, missing reason, or unknown application", body = ApiError),
))]
pub async fn rate(
    State(state): State<AppState>,
    Extension(terminal): Extension<Terminal>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<StatusCode, Failure> {
    let body = body.map_err(|rejection| {
        Failure::new(rejection.status(), "body_rejected", rejection.body_text())
    })?;
    let rating: RatingRequest = parse_body(&body, "rating")?;
    rating
        .validate()
        .map_err(|e| Failure(StatusCode::UNPROCESSABLE_ENTITY, e))?;
    same_terminal(&terminal, &rating.terminal_id)?;
    state.store.rate(&rating).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One application the calling terminal took: its state, no personal data.
#[utoipa::path(get, path = "/v1/applications/{application_no}",
    params(("application_no" = String, Path, description = "Application number (受理编号)")),
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 200, description = "The application", body = ApplicationStatus),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 404, description = "No such application taken at this terminal", body = ApiError),
))]
pub async fn application_status(
    State(state): State<AppState>,
    Extension(terminal): Extension<Terminal>,
    Path(application_no): Path<String>,
) -> Result<axum::Json<ApplicationStatus>, Failure> {
    let found = if (1..=32).contains(&application_no.len())
        && application_no.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        state
            .store
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

/// Enrolls a terminal with a one-time token: binds its public key to a terminal id.
#[utoipa::path(post, path = "/v1/enroll",
    request_body = EnrollRequest,
    responses(
        (status = 201, description = "Enrolled: the terminal's id and configuration", body = EnrollResponse),
        (status = 400, description = "Malformed request", body = ApiError),
        (status = 401, description = "Unknown, used or expired token", body = ApiError),
        (status = 422, description = "Invalid serial or public key", body = ApiError),
))]
pub async fn enroll(
    State(state): State<AppState>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, Failure> {
    let body = body.map_err(|rejection| {
        Failure::new(rejection.status(), "body_rejected", rejection.body_text())
    })?;
    let request: EnrollRequest = parse_body(&body, "enrollment")?;
    request
        .validate()
        .map_err(|e| Failure(StatusCode::UNPROCESSABLE_ENTITY, e))?;
    let new_id = format!("T{}", crate::store::random_hex(8)?.to_ascii_uppercase());
    let enrolled = state
        .store
        .enroll(
            &request.token,
            &request.hardware_serial,
            &request.public_key.to_ascii_lowercase(),
            &new_id,
        )
        .await?;
    let config = state.store.merged_config(&enrolled.terminal_id).await?;
    state
        .store
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
            sealing_key: Some(state.store.sealing_key().public_hex()),
            update_root: crate::updates_repo::enrollment_root(&state),
        }),
    )
        .into_response())
}

/// Refuses a body that names a terminal other than the one that signed the request.
fn same_terminal(terminal: &Terminal, named: &str) -> Result<(), Failure> {
    if terminal.id == named {
        Ok(())
    } else {
        Err(Failure::new(
            StatusCode::FORBIDDEN,
            "terminal_mismatch",
            "the body names another terminal than the one that signed the request",
        ))
    }
}

/// Parses a JSON body, answering 400 with the parser's reason when it is not a `what`.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    what: &str,
) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|e| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            format!("the body is not a valid {what}: {e}"),
        )
    })
}

async fn openapi_json() -> Response {
    match crate::openapi::document().to_pretty_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(_) => Failure::internal().into_response(),
    }
}

async fn not_found() -> Failure {
    Failure::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}
