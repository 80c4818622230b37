//! Logging in and out, and the password hashes accounts are checked against.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Extension;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::throttle::{ClientAddress, LoginGuard, Refusal};
use super::{LOGIN_COOKIE, PageAnswer, SESSION_COOKIE, SESSION_SECS, cookie_header};
use crate::html::{Notice, notice, page};
use crate::http::extract::{Fields, cookie, field, logged_in, role, same};
use crate::http::{AppState, OperatorForm};
use crate::store::{random_hex, token_hash, unix_now};

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The system gave no randomness for the salt.
    #[error("{0}")]
    Randomness(getrandom::Error),
    /// argon2 refused.
    #[error("{0}")]
    Hash(argon2::password_hash::Error),
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(PasswordError::Randomness)?;
    let salt = SaltString::encode_b64(&salt).map_err(PasswordError::Hash)?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(PasswordError::Hash)
}

/// Checks a password against a stored PHC string.
pub fn verify_password(password: &str, stored: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(stored).is_ok_and(|hash| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// `GET /console/login`: the form, or straight to the fleet for someone logged in.
pub(super) async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> PageAnswer {
    if logged_in(&state, &headers).await.ok().flatten().is_some() {
        return Ok(crate::http::error::see_other("/console"));
    }
    login_form(&state, None)
}

/// The login form, paired with this browser by a fresh cookie; with `message`, a 401 saying
/// why the last attempt failed.
fn login_form(state: &AppState, message: Option<&str>) -> PageAnswer {
    let nonce = random_hex(16)?;
    let body = html! {
        @if let Some(message) = message { (notice(Notice::Error, message)) }
        form method="post" action="/console/login" id="login" {
            input type="hidden" name="login_csrf" value=(nonce);
            p { label { "用户名 Name" br; input name="name" id="name" autocomplete="username" required maxlength="64"; } }
            p { label { "密码 Password" br; input name="password" id="password" type="password" autocomplete="current-password" required maxlength="256"; } }
            p { button type="submit" id="login-button" { "登录 Log in" } }
        }
    };
    let status = if message.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        [(
            header::SET_COOKIE,
            cookie_header(state, LOGIN_COOKIE, &nonce, 600),
        )],
        page("登录 Log in", None, body),
    )
        .into_response())
}

/// `POST /console/login`. An attempt the [`LoginGuard`] refuses is answered at once, before
/// any password is hashed: 429 with the time to try again, or 503 while the hashing slots are
/// taken.
pub(super) async fn login(
    State(state): State<AppState>,
    Extension(guard): Extension<Arc<LoginGuard>>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> PageAnswer {
    let Ok(Form(fields)) = form else {
        return login_form(&state, Some("the form could not be read"));
    };
    let pairing = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if pairing.is_empty() || !same(&pairing, field(&fields, "login_csrf")) {
        return login_form(&state, Some("the login form expired: try again"));
    }
    let name = field(&fields, "name").trim().to_owned();
    let password = field(&fields, "password").to_owned();
    if name.is_empty() || name.len() > 64 || password.len() > 256 {
        return login_form(&state, Some("wrong name or password"));
    }
    let permit = match guard.admit(&name, address, unix_now()) {
        Ok(permit) => permit,
        Err(refusal) => return refused(&state, refusal),
    };
    let store = state.store();
    let account = store.operator(&name).await?;
    let verified = match &account {
        Some(account) => {
            let hash = account.password_hash.clone();
            tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                .await
                .unwrap_or(false)
        }
        None => {
            // Spend the same time as a real check, so names cannot be probed by timing.
            let _ = tokio::task::spawn_blocking(move || hash_password(&password)).await;
            false
        }
    };
    drop(permit);
    if !verified {
        let until = guard.failed(&name, address, unix_now());
        audit_failure(&state, &guard, &name, address).await;
        if until > unix_now() {
            return refused(&state, Refusal::Throttled { until });
        }
        return login_form(&state, Some("wrong name or password"));
    }
    guard.succeeded(&name);
    if account.is_some_and(|a| a.disabled) {
        let _ = store
            .audit(&name, "login_refused", "account disabled")
            .await;
        return login_form(&state, Some("此账户已停用 This account is disabled"));
    }
    let token = random_hex(32)?;
    let csrf = random_hex(16)?;
    store
        .create_session(&token_hash(&token), &name, &csrf, unix_now() + SESSION_SECS)
        .await?;
    let _ = store.audit(&name, "login", &from_address(address)).await;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, HeaderValue::from_static("/console")),
            (
                header::SET_COOKIE,
                cookie_header(&state, SESSION_COOKIE, &token, SESSION_SECS),
            ),
        ],
    )
        .into_response())
}

/// "from 192.0.2.7", or nothing when the address is not known.
fn from_address(address: Option<IpAddr>) -> String {
    address.map(|a| format!("from {a}")).unwrap_or_default()
}

/// Counts a failed login on its audit line: one line per account, address and window,
/// rewritten with the count, so a flood of guesses leaves one line rather than pushing every
/// other event off the page.
async fn audit_failure(state: &AppState, guard: &LoginGuard, name: &str, address: Option<IpAddr>) {
    let line = guard.audit_line(name, address, unix_now());
    let detail = format!(
        "{} failed since {} {}",
        line.count,
        crate::store::rfc3339_at(line.since),
        from_address(address)
    );
    let store = state.store();
    match line.id {
        Some(id) => {
            let _ = store.rewrite_audit(id, detail.trim_end()).await;
        }
        None => {
            if let Ok(id) = store
                .audit_line(name, "login_failed", detail.trim_end())
                .await
            {
                guard.audit_line_written(name, address, id);
            }
        }
    }
}

/// The login form again, saying why this attempt was not looked at: 429 with `Retry-After`
/// while throttled, 503 while every hashing slot is taken.
fn refused(state: &AppState, refusal: Refusal) -> PageAnswer {
    let (status, wait, message) = match refusal {
        Refusal::Throttled { until } => {
            let wait = (until - unix_now()).max(1);
            let at = crate::store::rfc3339_at(until);
            (
                StatusCode::TOO_MANY_REQUESTS,
                wait,
                format!(
                    "登录失败次数过多，请在 {wait} 秒后（{at}）再试。Too many failed logins: try again in {wait} s (at {at})."
                ),
            )
        }
        Refusal::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            2,
            "登录繁忙，请几秒后再试。Too many logins at once: try again in a few seconds."
                .to_owned(),
        ),
    };
    let mut response = login_form(state, Some(&message))?;
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Ok(response)
}

/// `POST /console/logout`: ends the session (CSRF-checked, so no page can log anyone out).
pub(super) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: OperatorForm<role::Viewer>,
) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let _ = state.store().end_session(&token_hash(&token)).await;
    }
    let _ = state
        .store()
        .audit(&form.operator.operator, "logout", "")
        .await;
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, HeaderValue::from_static("/console/login")),
            (
                header::SET_COOKIE,
                cookie_header(&state, SESSION_COOKIE, "", 0),
            ),
        ],
    )
        .into_response()
}
