//! The terminal API (`/v1`), one module per area, each with its routes.
//!
//! The department API (`/v1/departments/…`, [`departments`]) is authenticated by a
//! department's key, not a terminal's signature. The catalog, enrollment and the signed release files under `/v1/updates/tuf/` are open;
//! every other route answers only requests signed by an enrolled terminal: they are mounted
//! behind [`verify_signature`], and their handlers take the
//! [`SignedTerminal`](crate::http::SignedTerminal) it found.

mod answers;
pub mod applications;
pub mod corrections;
pub mod departments;
pub mod enrollment;
pub mod errands;
pub mod fleet;
pub mod materials;
pub mod updates_repo;

use axum::Router;
use axum::middleware::from_fn_with_state;

use crate::http::AppState;
use crate::http::extract::verify_signature;

/// Largest JSON body of the signed endpoints but applications, ratings and material chunks.
pub const MAX_TERMINAL_BODY: usize = 16 * 1024;

/// Every `/v1` route: the open ones, and the signed ones behind the signature check.
pub fn router(state: &AppState) -> Router<AppState> {
    let signed = Router::new()
        .merge(applications::signed_routes())
        .merge(fleet::routes())
        .merge(errands::routes())
        .merge(materials::routes())
        .merge(corrections::routes())
        .route_layer(from_fn_with_state(state.clone(), verify_signature));
    Router::new()
        .merge(applications::open_routes())
        .merge(enrollment::routes())
        .merge(departments::routes())
        .merge(updates_repo::routes())
        .merge(signed)
}
