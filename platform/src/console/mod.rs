//! The ops console (终端一体化管理平台): server-rendered pages for operations staff.
//!
//! Operators log in with a name and password (argon2 hashes, accounts made with
//! `kiosk-platform user add`); a session is a random token in an `HttpOnly`, `SameSite=Strict`
//! cookie, stored hashed. Every form carries the session's CSRF token, checked before anything
//! changes ([`OperatorForm`](crate::http::OperatorForm)), and every change is written to the
//! audit log. Roles: viewers read, operators also send commands, create enrollment tokens and
//! clear alarms, admins also publish catalogs, edit configuration and revoke terminals; each handler names the role it needs
//! in its [`Operator`](crate::http::Operator) argument. Pages are [`crate::html`] templates.
//!
//! Logins are throttled per account and per client address, and at most a few password
//! hashes are computed at once ([`throttle`]). Every console answer, error pages included,
//! carries [`SECURITY_HEADERS`]: no script may run, no other site may frame or be sent a page,
//! and no page is kept by a cache.

mod audit;
mod cases;
mod catalog;
mod config;
mod connectors;
mod editor;
mod fleet;
mod records;
mod rollouts;
mod session;
mod stats;
mod terminal;
mod throttle;
mod tokens;
mod trust;
mod workbench;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Router};
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
/// Largest login form (a name, a password and the form's nonce).
pub const MAX_LOGIN_FORM_BYTES: usize = 4 * 1024;

/// Headers on every console answer. The pages use no script at all and one style sheet of
/// their own ([`html::STYLESHEET_PATH`]), so the policy allows nothing else: an injected
/// `<script>`, inline handler or style would not run.
pub const SECURITY_HEADERS: &[(HeaderName, &str)] = &[
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'",
    ),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::CACHE_CONTROL, "no-store"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
];

/// The console's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(fleet::list))
        .route(
            "/console/login",
            get(session::login_page)
                .post(session::login)
                .layer(DefaultBodyLimit::max(MAX_LOGIN_FORM_BYTES)),
        )
        .route(html::STYLESHEET_PATH, get(stylesheet))
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
        .route(
            "/console/connectors",
            get(connectors::show).post(connectors::add),
        )
        .route(
            "/console/connectors/{department}/{verb}",
            post(connectors::change),
        )
        .route("/console/stats", get(stats::show))
        .route("/console/cases", get(cases::show))
        .route("/console/cases/{id}/answer", post(cases::answer))
        .route("/console/cases/days", post(cases::set_days))
        .route("/console/audit", get(audit::show))
        .route("/console/records", get(records::show))
        .route("/console/rollouts", get(rollouts::list))
        .route("/console/rollouts/{id}", get(rollouts::detail))
        .route("/console/rollouts/{id}/{verb}", post(rollouts::change))
        .merge(editor::routes())
        .merge(workbench::routes())
        .route("/console/{*rest}", any(no_page))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(Extension(Arc::new(throttle::LoginGuard::default())))
        .layer(Extension(Arc::new(editor::Previews::default())))
        .layer(axum::middleware::map_response(with_security_headers))
}

/// Any other console address: a page saying so, with the console's headers (not the JSON 404
/// terminals get).
async fn no_page() -> PageFailure {
    PageFailure::Refused {
        status: StatusCode::NOT_FOUND,
        session: None,
        message: "该页面不存在 There is no such console page".into(),
    }
}

/// Adds [`SECURITY_HEADERS`] to a console answer.
async fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name.clone(), HeaderValue::from_static(value));
    }
    response
}

/// `GET /console/style.css`: the pages' one style sheet.
async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        html::STYLE,
    )
        .into_response()
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
