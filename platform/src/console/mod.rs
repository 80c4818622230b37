//! The ops console (终端一体化管理平台): server-rendered pages for operations staff.
//!
//! Operators log in with a name and password (argon2 hashes, accounts made with
//! `kiosk-platform user add`); a session is a random token in an `HttpOnly`, `SameSite=Strict`
//! cookie, stored hashed. Every form carries the session's CSRF token, checked before anything
//! changes ([`OperatorForm`](crate::http::OperatorForm)), and every change is written to the
//! audit log. Roles: viewers read, operators also send commands, create enrollment tokens and
//! clear alarms, admins also publish catalogs, edit configuration and revoke terminals; each handler names the role it needs
//! in its [`Operator`](crate::http::Operator) argument. Pages are [`crate::html`] templates.

mod audit;
mod catalog;
mod config;
mod fleet;
mod rollouts;
mod session;
mod stats;
mod terminal;
mod tokens;
mod trust;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::Markup;

use crate::html;
pub use crate::http::extract::SESSION_COOKIE;
use crate::http::{AppState, PageFailure};
use crate::store::Session;
pub use session::{PasswordError, hash_password, verify_password};

/// What a console handler answers: a page, or a [`PageFailure`] page.
type PageAnswer = Result<Response, PageFailure>;

/// Cookie pairing the login form with its browser (login CSRF).
pub const LOGIN_COOKIE: &str = "lyb_login";
/// How long a session lasts.
pub const SESSION_SECS: i64 = 8 * 3600;
/// Largest form (a catalog pasted for publishing).
pub const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

/// The console's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(fleet::list))
        .route(
            "/console/login",
            get(session::login_page).post(session::login),
        )
        .route("/console/logout", post(session::logout))
        .route("/console/terminals/{id}", get(terminal::show))
        .route(
            "/console/terminals/{id}/commands",
            post(terminal::send_command),
        )
        .route(
            "/console/terminals/{id}/rekey-token",
            post(terminal::rekey_token),
        )
        .route("/console/terminals/{id}/revoke", post(trust::revoke))
        .route("/console/terminals/{id}/restore", post(trust::restore))
        .route("/console/alarms/{id}/clear", post(trust::clear_alarm))
        .route("/console/tokens", get(tokens::show).post(tokens::create))
        .route("/console/catalog", get(catalog::show))
        .route("/console/catalog/publish", post(catalog::publish))
        .route("/console/catalog/activate", post(catalog::activate))
        .route("/console/config", get(config::show).post(config::save))
        .route("/console/stats", get(stats::show))
        .route("/console/audit", get(audit::show))
        .route("/console/rollouts", get(rollouts::list))
        .route("/console/rollouts/{id}", get(rollouts::detail))
        .route("/console/rollouts/{id}/{verb}", post(rollouts::change))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
}

/// A page of the logged-in console.
fn page(title: &str, session: &Session, body: Markup) -> Response {
    html::page(title, Some(session), body).into_response()
}

/// `response` with another status (a page shown again with a refusal above it).
fn with_status(status: StatusCode, mut response: Response) -> Response {
    *response.status_mut() = status;
    response
}

/// A console cookie: `HttpOnly`, `SameSite=Strict`, scoped to `/console`, `Secure` over HTTPS.
fn cookie_header(state: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// "2026-11-22T10:00:00+08:00 (12 s ago)", or never.
fn ago(now: i64, then: Option<i64>) -> String {
    match then {
        None => "从未 never".into(),
        Some(t) => format!(
            "{} ({} s ago)",
            crate::store::rfc3339_at(t),
            (now - t).max(0)
        ),
    }
}
