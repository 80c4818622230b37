//! The platform's whole router: every area's routes merged in one place.

use axum::Router;

use crate::http::{AppState, Failure};

/// The platform's router: the terminal API ([`crate::api`]), the ops console
/// ([`crate::console`]), health and the OpenAPI document; anything else is a JSON 404. The body
/// of a `GET` is read before any handler runs ([`crate::http::extract::read_unused_body`]).
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::health::routes())
        .merge(crate::openapi::routes())
        .merge(crate::api::router(&state))
        .merge(crate::console::router())
        .merge(crate::verify::routes())
        .merge(crate::progress::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(
            crate::http::extract::read_unused_body,
        ))
        .with_state(state)
}

async fn not_found() -> Failure {
    Failure::no_endpoint()
}
