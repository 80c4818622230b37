//! Wire types spoken between a 连易办 terminal and the central platform.
//!
//! Both sides compile against these types, and the platform's `/openapi.json` is generated from
//! them, so a field renamed here is renamed everywhere at once. Everything is plain data: no I/O.
//! [`auth`] holds the request-signing scheme both sides build the same way; [`sealing`] the
//! sealed boxes that keep a citizen's data unreadable on the terminal that took it.

pub mod application;
pub mod auth;
pub mod catalog;
pub mod form;
pub mod material;
pub mod rating;
pub mod sealing;
pub mod search;
pub mod terminal;
pub mod text;
pub mod update;

pub use application::{
    ApiError, ApplicantInfo, ApplicationReceipt, ApplicationRequest, ApplicationState,
    ApplicationStatus, CorrectionAnswered, CorrectionAsked, CorrectionOpened, CorrectionOpening,
    CorrectionSubmission, IDEMPOTENCY_KEY_HEADER, MAX_CORRECTION_UPLOADS, StatusEvent,
    validate_idempotency_key,
};
pub use auth::{
    EnrollRequest, EnrollResponse, EnrollmentPayload, SignedContent, SignedHeaders, sign_request,
    sign_request_v2,
};
pub use catalog::{
    Catalog, CatalogError, Department, Material, MaterialForm, Matter, MatterId, Supply,
    ThemeGroup, TimeLimit,
};
pub use material::{MaterialContentType, UploadRequest, UploadSession, UploadedMaterial};
pub use rating::{RatingIndicators, RatingReason, RatingRequest, RatingStage, level_name};
pub use search::{Abbreviation, SearchIndex, SearchKey};
pub use terminal::{
    AppointmentInfo, CardHolder, CertificateRequest, CheckInRequest, CheckInResponse, CommandKind,
    CommandResult, DeviceHealth, DeviceState, Heartbeat, HeartbeatResponse, NAME_REQUIRED,
    ProgressRequest, ProgressResponse, RECORD_QUERIES_SUSPENDED, RemoteCommand, TerminalConfig,
    TerminalEvent, Ticket, TicketRequest,
};
pub use text::{Language, LocalizedText};
pub use update::{
    MaintenanceWindow, ReleaseKind, UpdateOffer, UpdateReport, UpdateState, compare_versions,
    is_release_version,
};

/// Liveness answer of `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `"ok"` when the platform can reach its database.
    pub status: String,
    /// The platform's version.
    pub version: String,
    /// Version of the catalog currently published.
    pub catalog_version: String,
}
