//! Logging in and out, and the password hashes accounts are checked against.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

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

/// `POST /console/login`.
pub(super) async fn login(
    State(state): State<AppState>,
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
    let store = state.store();
    let verified = match store.operator(&name).await? {
        Some((hash, _)) => tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false),
        None => {
            // Spend the same time as a real check, so names cannot be probed by timing.
            let _ = tokio::task::spawn_blocking(move || hash_password(&password)).await;
            false
        }
    };
    if !verified {
        let _ = store.audit(&name, "login_failed", "").await;
        return login_form(&state, Some("wrong name or password"));
    }
    let token = random_hex(32)?;
    let csrf = random_hex(16)?;
    store
        .create_session(&token_hash(&token), &name, &csrf, unix_now() + SESSION_SECS)
        .await?;
    let _ = store.audit(&name, "login", "").await;
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
