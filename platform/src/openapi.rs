//! The OpenAPI document, generated from the `kiosk-protocol` types and the handlers' annotations,
//! and the route that serves it.
//!
//! Each operation names its tag (`crate::api`, `crate::terminal_api`, ...): the tags the
//! document has always published, so clients generated from it keep their grouping whatever
//! the modules the handlers live in are called.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::http::{AppState, Failure};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "连易办 terminal API",
        description = "The API 连易办 terminals speak to the central platform."
    ),
    paths(
        crate::health::healthz,
        crate::api::applications::catalog,
        crate::api::enrollment::enroll,
        crate::api::applications::submit_application,
        crate::api::applications::application_status,
        crate::api::applications::rate,
        crate::api::fleet::heartbeat,
        crate::api::fleet::event,
        crate::api::fleet::commands,
        crate::api::fleet::command_result,
        crate::api::fleet::config,
        crate::api::errands::take_ticket,
        crate::api::errands::check_in,
        crate::api::errands::progress,
        crate::api::errands::certificate,
        crate::api::fleet::update_report,
        crate::api::materials::start_upload,
        crate::api::materials::put_chunk,
        crate::api::materials::complete_upload,
        crate::api::corrections::open_correction,
        crate::api::corrections::submit_correction,
        crate::api::updates_repo::metadata,
        crate::api::updates_repo::target,
        crate::api::departments::report,
    ),
    modifiers(&SignedRequests),
    components(schemas(
        kiosk_protocol::Health,
        kiosk_protocol::Catalog,
        kiosk_protocol::ApplicationRequest,
        kiosk_protocol::ApplicationReceipt,
        kiosk_protocol::ApiError,
        kiosk_protocol::RatingRequest,
        kiosk_protocol::RatingReason,
        kiosk_protocol::CorrectionOpening,
        kiosk_protocol::CorrectionOpened,
        kiosk_protocol::CorrectionSubmission,
        kiosk_protocol::CorrectionAnswered,
        kiosk_protocol::EnrollRequest,
        kiosk_protocol::EnrollResponse,
        kiosk_protocol::EnrollmentPayload,
        kiosk_protocol::ApplicationStatus,
        kiosk_protocol::ApplicationState,
        kiosk_protocol::Heartbeat,
        kiosk_protocol::TerminalEvent,
        kiosk_protocol::DeviceHealth,
        kiosk_protocol::DeviceState,
        kiosk_protocol::HeartbeatResponse,
        kiosk_protocol::RemoteCommand,
        kiosk_protocol::CommandKind,
        kiosk_protocol::CommandResult,
        kiosk_protocol::TerminalConfig,
        kiosk_protocol::TicketRequest,
        kiosk_protocol::Ticket,
        kiosk_protocol::CheckInRequest,
        kiosk_protocol::CheckInResponse,
        kiosk_protocol::AppointmentInfo,
        kiosk_protocol::ProgressRequest,
        kiosk_protocol::ProgressResponse,
        kiosk_protocol::CertificateRequest,
        kiosk_protocol::UploadRequest,
        kiosk_protocol::UploadSession,
        kiosk_protocol::UploadedMaterial,
        kiosk_protocol::MaterialContentType,
        kiosk_protocol::UpdateOffer,
        kiosk_protocol::UpdateReport,
        kiosk_protocol::UpdateState,
        kiosk_protocol::ReleaseKind,
        kiosk_protocol::MaintenanceWindow,
        crate::api::departments::ReportRequest,
        crate::api::departments::ReportAction,
        crate::api::departments::ReportReceipt,
    ))
)]
struct ApiDoc;

/// Declares the four headers of a signed terminal request (see docs/PLATFORM-API.md); every
/// terminal endpoint requires all four.
struct SignedRequests;

impl Modify for SignedRequests {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use kiosk_protocol::auth::{
            NONCE_HEADER, SIGNATURE_HEADER, TERMINAL_ID_HEADER, TIMESTAMP_HEADER,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        for (scheme, header, what) in [
            (
                "terminal_id",
                TERMINAL_ID_HEADER,
                "The terminal id enrollment returned.",
            ),
            (
                "timestamp",
                TIMESTAMP_HEADER,
                "Unix seconds; within 300 s of the platform's clock.",
            ),
            (
                "nonce",
                NONCE_HEADER,
                "16-64 characters [A-Za-z0-9_-], never reused by this terminal within the window.",
            ),
            (
                "signature",
                SIGNATURE_HEADER,
                "Hex Ed25519 signature, by the terminal's enrolled key, of the lines LYB-ED25519-V2, terminal id, METHOD, path?query, timestamp, nonce, content-type:VALUE (or content-type when absent), idempotency-key:VALUE (or idempotency-key when absent), hex SHA-256 of the body, joined by \\n; sent with X-Signature-Scheme: LYB-ED25519-V2. The retired V1 (no X-Signature-Scheme, no header lines) is accepted unless the platform runs with --refuse-signature-v1.",
            ),
        ] {
            components.add_security_scheme(
                scheme,
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(header, what))),
            );
        }
        // A department's system (the department API) presents its connector's inbound key.
        components.add_security_scheme(
            "department_key",
            SecurityScheme::Http(
                utoipa::openapi::security::HttpBuilder::new()
                    .scheme(utoipa::openapi::security::HttpAuthScheme::Bearer)
                    .description(Some(
                        "The inbound key shown once when an admin made or rotated the department's connector.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The platform's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `GET /openapi.json`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi_json))
}

async fn openapi_json() -> Response {
    match document().to_pretty_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(_) => Failure::internal().into_response(),
    }
}
