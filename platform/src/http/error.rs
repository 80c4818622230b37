//! How a request is refused.
//!
//! Terminals get [`Failure`]: a status and an [`ApiError`] JSON body, the same shape on every
//! endpoint. People at the console get [`PageFailure`]: the login page, or an error page inside
//! the console's frame. Both convert from [`StoreError`], so handlers use `?` on the store and
//! the mapping to an answer lives here, once per audience.

use axum::extract::rejection::BytesRejection;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use kiosk_protocol::ApiError;

use crate::html;
use crate::store::{Session, StoreError};

/// A terminal-API refusal: status plus an [`ApiError`] body.
#[derive(Debug)]
pub struct Failure(StatusCode, ApiError);

impl Failure {
    /// A refusal with `status`, a machine-readable `code` and a message for people.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Failure(status, ApiError::new(code, message))
    }

    /// A refusal with a body the protocol's validation produced.
    pub fn from_api(status: StatusCode, error: ApiError) -> Self {
        Failure(status, error)
    }

    /// 422: a field fails the protocol's validation.
    pub fn invalid(error: ApiError) -> Self {
        Failure(StatusCode::UNPROCESSABLE_ENTITY, error)
    }

    /// 500 without details (they are logged where they happen, never sent).
    pub fn internal() -> Self {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the platform could not complete the request",
        )
    }

    /// 404 for a route that does not exist.
    pub fn no_endpoint() -> Self {
        Failure::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
    }

    /// A body axum could not read (too large, or cut off): its status and reason.
    pub fn body_rejected(rejection: BytesRejection) -> Self {
        Failure::new(rejection.status(), "body_rejected", rejection.body_text())
    }

    /// 400 with the parser's reason, when a body is not a valid `what`.
    pub fn malformed_body(what: &str, reason: impl std::fmt::Display) -> Self {
        Failure::new(
            StatusCode::BAD_REQUEST,
            "malformed_body",
            format!("the body is not a valid {what}: {reason}"),
        )
    }

    /// Its machine-readable code.
    pub fn code(&self) -> &str {
        &self.1.code
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::KeyReused => Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different application",
            ),
            StoreError::UnknownApplication => Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_application",
                "no application with this number and matter",
            ),
            StoreError::OtherDepartment => Failure::new(
                StatusCode::FORBIDDEN,
                "other_department",
                "this application belongs to another department",
            ),
            StoreError::Illegal(illegal) => {
                Failure::new(StatusCode::CONFLICT, illegal.code(), illegal.to_string())
            }
            StoreError::Correction(refusal) => {
                let status = if refusal.is_bad_input() {
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    StatusCode::CONFLICT
                };
                Failure::new(status, refusal.code(), refusal.to_string())
            }
            StoreError::AlreadyRated => Failure::new(
                StatusCode::CONFLICT,
                "already_rated",
                "this application has been rated already",
            ),
            StoreError::InvalidToken => Failure::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the enrollment token is unknown, used or expired",
            ),
            StoreError::TerminalExists { .. } => Failure::new(
                StatusCode::CONFLICT,
                "terminal_exists",
                "this device is enrolled already; re-enrolling it needs a token an operator made for this terminal",
            ),
            StoreError::TokenForAnotherTerminal(_) => Failure::new(
                StatusCode::CONFLICT,
                "token_for_another_terminal",
                "this token re-keys another terminal, not this device",
            ),
            StoreError::UnknownTerminal => Failure::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the request is not signed by an enrolled terminal",
            ),
            StoreError::NoCatalog => Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_catalog",
                "no catalog has been published yet",
            ),
            // A value the database cannot hold (e.g. a NUL character in text) is the client's
            // fault, never a server error.
            StoreError::Postgres(e) if e.code().is_some_and(|c| c.code().starts_with("22")) => {
                Failure::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_field",
                    "a field holds a value that cannot be stored",
                )
            }
            other => {
                tracing::error!(error = %other, "store failure");
                Failure::internal()
            }
        }
    }
}

/// A console refusal, answered as a page a person reads.
#[derive(Debug)]
pub enum PageFailure {
    /// No valid session: off to the login page.
    LogIn,
    /// An error page with `message`, inside the frame of `session`'s console when one is
    /// logged in.
    Refused {
        status: StatusCode,
        session: Option<Session>,
        message: String,
    },
}

impl PageFailure {
    /// An error page for the logged-in `session`.
    pub fn refused(status: StatusCode, session: &Session, message: impl Into<String>) -> Self {
        PageFailure::Refused {
            status,
            session: Some(session.clone()),
            message: message.into(),
        }
    }

    /// 500, logging `error` (which is never shown).
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, "console failure");
        PageFailure::Refused {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            session: None,
            message: "the platform could not complete the request".into(),
        }
    }
}

impl IntoResponse for PageFailure {
    fn into_response(self) -> Response {
        match self {
            PageFailure::LogIn => see_other("/console/login"),
            PageFailure::Refused {
                status,
                session,
                message,
            } => (status, Html(html::error_page(session.as_ref(), &message))).into_response(),
        }
    }
}

impl From<StoreError> for PageFailure {
    fn from(e: StoreError) -> Self {
        PageFailure::internal(e)
    }
}

/// 303 to `to` (after a form, so a reload does not send it again).
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}
