//! `GET /healthz`: what a load balancer or monitor asks — is the platform up, does its
//! database answer, which catalog does it serve.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use kiosk_protocol::{ApiError, Health};

use crate::http::{AppState, Failure};

/// The health route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// Liveness and database reachability.
#[utoipa::path(get, tag = "crate::api", path = "/healthz", responses(
    (status = 200, description = "The platform and its database answer", body = Health),
    (status = 503, description = "The database does not answer", body = ApiError),
))]
pub async fn healthz(State(state): State<AppState>) -> Result<axum::Json<Health>, Failure> {
    let store = state.store();
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
