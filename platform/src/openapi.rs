//! The OpenAPI document, generated from the `kiosk-protocol` types and the handlers' annotations.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "连易办 terminal API",
        description = "The API 连易办 terminals speak to the central platform."
    ),
    paths(
        crate::api::healthz,
        crate::api::catalog,
        crate::api::submit_application,
        crate::api::rate
    ),
    components(schemas(
        kiosk_protocol::Health,
        kiosk_protocol::Catalog,
        kiosk_protocol::ApplicationRequest,
        kiosk_protocol::ApplicationReceipt,
        kiosk_protocol::ApiError,
        kiosk_protocol::RatingRequest,
        kiosk_protocol::RatingReason,
    ))
)]
struct ApiDoc;

/// The platform's OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
