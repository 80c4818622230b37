//! The OpenAPI document, generated from the `kiosk-protocol` types and the handlers' annotations.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "连易办 terminal API",
        description = "The API 连易办 terminals speak to the central platform."
    ),
    paths(
        crate::api::healthz,
        crate::api::catalog,
        crate::api::enroll,
        crate::api::submit_application,
        crate::api::application_status,
        crate::api::rate,
        crate::terminal_api::heartbeat,
        crate::terminal_api::event,
        crate::terminal_api::commands,
        crate::terminal_api::command_result,
        crate::terminal_api::config,
        crate::terminal_api::take_ticket,
        crate::terminal_api::check_in,
        crate::terminal_api::progress,
        crate::terminal_api::certificate,
        crate::terminal_api::update_report,
        crate::materials_api::start_upload,
        crate::materials_api::put_chunk,
        crate::materials_api::complete_upload,
        crate::updates_repo::metadata,
        crate::updates_repo::target,
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
                "Hex Ed25519 signature, by the terminal's enrolled key, of the lines LYB-ED25519-V1, terminal id, METHOD, path?query, timestamp, nonce, hex SHA-256 of the body, joined by \\n.",
            ),
        ] {
            components.add_security_scheme(
                scheme,
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(header, what))),
            );
        }
    }
}

/// The platform's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
