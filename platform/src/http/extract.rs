//! What a handler can ask of a request, each checked before the handler runs: the terminal
//! that signed it ([`SignedTerminal`]), its `Idempotency-Key` ([`IdempotencyKey`]), a JSON body
//! that may be sealed to the platform's key ([`SealedBody`]) or must be plain ([`JsonBody`]),
//! and the console operator with at least a given role ([`Operator`], [`OperatorForm`]).
//!
//! # Signed requests
//!
//! The scheme is in `kiosk_protocol::auth` and docs/PLATFORM-API.md. The signature covers the
//! body, so it is checked by a layer ([`verify_signature`]) that reads the whole body before
//! any extractor of the handler runs; it answers 401 — with one uniform body — to anything but
//! a request signed within the clock window by an enrolled terminal's key with a nonce it has
//! not used, and hands the body on unchanged. That way an unsigned request learns nothing
//! else about the endpoint (not even that its body or headers are wrong). The one other
//! answer is 401 `terminal_revoked`, for a terminal an operator revoked, given as soon as the
//! key lookup finds it so (before the body is read), so a genuine revoked terminal can show
//! that it is out of service rather than retry a signature problem.

use std::collections::HashMap;
use std::marker::PhantomData;

use axum::body::{Body, Bytes};
use axum::extract::{Form, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kiosk_protocol::auth::{
    AuthError, MAX_CLOCK_SKEW_SECS, NONCE_HEADER, SIGNATURE_HEADER, SIGNATURE_SCHEME_HEADER,
    SignatureScheme, SignedContent, SignedHeaders, TERMINAL_ID_HEADER, TIMESTAMP_HEADER,
    parse_public_key, validate_nonce, validate_terminal_id, verify_signed,
};
use kiosk_protocol::sealing::SEALED_APPLICATION_CONTENT_TYPE;
use kiosk_protocol::{IDEMPOTENCY_KEY_HEADER, validate_idempotency_key};
use serde::de::DeserializeOwned;

use super::error::{Failure, PageFailure};
use super::state::AppState;
use crate::store::{Session, token_hash, unix_now};

/// The largest body a signed request may carry (the body is read to check its hash; each
/// endpoint then applies its own smaller limit).
pub const MAX_SIGNED_BODY: usize = 2 * 1024 * 1024;

/// Cookie holding the console session's token.
pub const SESSION_COOKIE: &str = "lyb_console";

/// The terminal a request was signed by; only routes behind [`verify_signature`] have one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTerminal {
    /// Its id.
    pub id: String,
}

impl SignedTerminal {
    /// Refuses a body that names a terminal other than the one that signed the request.
    pub fn must_be(&self, named: &str) -> Result<(), Failure> {
        if self.id == named {
            Ok(())
        } else {
            Err(Failure::new(
                StatusCode::FORBIDDEN,
                "terminal_mismatch",
                "the body names another terminal than the one that signed the request",
            ))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SignedTerminal {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Failure> {
        // Absent only on a route mounted outside the signature layer: refuse rather than serve.
        parts
            .extensions
            .get::<SignedTerminal>()
            .cloned()
            .ok_or_else(|| unauthorized(Rejection::Header(AuthError::Missing(SIGNATURE_HEADER))))
    }
}

/// Why a request is not authenticated; logged (without personal data), never sent.
#[derive(Debug, thiserror::Error)]
enum Rejection {
    #[error("{0}")]
    Header(AuthError),
    #[error("timestamp outside the window")]
    Clock,
    #[error("unknown terminal")]
    UnknownTerminal,
    #[error("{0}")]
    Signature(AuthError),
    #[error("nonce reused")]
    Replay,
    #[error("signed with the retired scheme V1")]
    Retired,
}

fn unauthorized(why: Rejection) -> Failure {
    tracing::debug!(reason = %why, "unauthenticated terminal request");
    let (code, message) = match why {
        Rejection::Clock => (
            "unauthorized",
            format!(
                "the request's X-Timestamp is more than {MAX_CLOCK_SKEW_SECS} s from the platform's clock"
            ),
        ),
        Rejection::Retired => (
            "signature_scheme_retired",
            "this platform accepts only requests signed with LYB-ED25519-V2".to_owned(),
        ),
        _ => (
            "unauthorized",
            "the request is not signed by an enrolled terminal".to_owned(),
        ),
    };
    Failure::new(StatusCode::UNAUTHORIZED, code, message)
}

fn auth_header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, Rejection> {
    headers
        .get(name)
        .ok_or(Rejection::Header(AuthError::Missing(name)))?
        .to_str()
        .map_err(|_| Rejection::Header(AuthError::Malformed(name)))
}

fn signed_headers(headers: &HeaderMap) -> Result<SignedHeaders, Rejection> {
    let terminal_id = auth_header(headers, TERMINAL_ID_HEADER)?;
    validate_terminal_id(terminal_id).map_err(Rejection::Header)?;
    let timestamp = auth_header(headers, TIMESTAMP_HEADER)?
        .parse::<i64>()
        .map_err(|_| Rejection::Header(AuthError::Malformed(TIMESTAMP_HEADER)))?;
    let nonce = auth_header(headers, NONCE_HEADER)?;
    validate_nonce(nonce).map_err(Rejection::Header)?;
    let signature = auth_header(headers, SIGNATURE_HEADER)?;
    if signature.len() != 128 {
        return Err(Rejection::Header(AuthError::Malformed(SIGNATURE_HEADER)));
    }
    let scheme = SignatureScheme::from_header(
        headers
            .get(SIGNATURE_SCHEME_HEADER)
            .map(|v| v.to_str().unwrap_or("")),
    )
    .map_err(Rejection::Header)?;
    Ok(SignedHeaders {
        terminal_id: terminal_id.to_owned(),
        timestamp,
        nonce: nonce.to_owned(),
        signature: signature.to_owned(),
        scheme,
    })
}

/// A header a V2 signature covers, as sent: absent, or exactly one value of visible ASCII
/// (a second value could make the handler read another one than was signed).
fn covered_header<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<Option<&'a str>, Rejection> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Rejection::Header(AuthError::Malformed(name)));
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| Rejection::Header(AuthError::Malformed(name)))
}

/// Layer: lets through only requests signed by an enrolled terminal, with the
/// [`SignedTerminal`] for the handler to extract.
pub async fn verify_signature(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    match authenticate(&state, request).await {
        Ok(request) => next.run(request).await,
        Err(failure) => closing(failure.into_response()),
    }
}

/// Marks an answer given before its request's body was read to the end: hyper closes such a
/// connection, and a client that was not told would send its next request into the closed
/// connection (`IncompleteMessage`) instead of opening a new one.
fn closing(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}

/// The terminal that signed `request`, for an open route whose answer depends on who asks
/// (the catalog a site's terminals get): `None` for an unsigned request or one whose signature
/// does not hold, which gets what anyone gets.
pub async fn signer_of(state: &AppState, request: Request) -> Option<String> {
    if !request.headers().contains_key(SIGNATURE_HEADER) {
        return None;
    }
    let request = authenticate(state, request).await.ok()?;
    request
        .extensions()
        .get::<SignedTerminal>()
        .map(|t| t.id.clone())
}

async fn authenticate(state: &AppState, request: Request) -> Result<Request, Failure> {
    let (mut parts, body) = request.into_parts();
    let signed = signed_headers(&parts.headers).map_err(unauthorized)?;
    if signed.scheme == SignatureScheme::V1 && !state.signature_v1_accepted() {
        return Err(unauthorized(Rejection::Retired));
    }
    let now = unix_now();
    if (now - signed.timestamp).abs() > MAX_CLOCK_SKEW_SECS {
        return Err(unauthorized(Rejection::Clock));
    }
    let key = state
        .store()
        .terminal_key(&signed.terminal_id)
        .await?
        .ok_or_else(|| unauthorized(Rejection::UnknownTerminal))?;
    // Refused here, once for every signed route and before the body is read: a revoked
    // terminal (stolen, say) costs the platform one key lookup per request. The code tells a
    // genuine terminal to show "out of service"; the request's id is all it reveals.
    if key.revoked {
        tracing::debug!(terminal = %signed.terminal_id, "request from a revoked terminal");
        return Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            "terminal_revoked",
            "this terminal has been revoked by an operator",
        ));
    }
    let key = parse_public_key(&key.public_key).map_err(|e| {
        tracing::error!(terminal = %signed.terminal_id, "stored public key is not valid");
        unauthorized(Rejection::Signature(e))
    })?;
    // A body too large to hash cannot carry a signature we can check: like any other
    // unverifiable request it gets 401 (each endpoint answers 413 below its own, smaller limit).
    let bytes = axum::body::to_bytes(body, MAX_SIGNED_BODY)
        .await
        .map_err(|_| unauthorized(Rejection::Signature(AuthError::BadSignature)))?;
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or_else(|| parts.uri.path());
    // V1 covers neither header: they are not even looked at.
    let covered = |name| match signed.scheme {
        SignatureScheme::V1 => Ok(None),
        SignatureScheme::V2 => covered_header(&parts.headers, name).map_err(unauthorized),
    };
    let content = SignedContent {
        method: parts.method.as_str(),
        path_and_query: target,
        content_type: covered("Content-Type")?,
        idempotency_key: covered(IDEMPOTENCY_KEY_HEADER)?,
        body: &bytes,
    };
    verify_signed(&key, &signed, &content).map_err(|e| unauthorized(Rejection::Signature(e)))?;
    // Only a valid signature may spend a nonce, so nobody can burn a terminal's nonces.
    if !state
        .store()
        .record_nonce(&signed.terminal_id, &signed.nonce, now)
        .await?
    {
        return Err(unauthorized(Rejection::Replay));
    }
    parts.extensions.insert(SignedTerminal {
        id: signed.terminal_id,
    });
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The `Idempotency-Key` header: present, ASCII and of the protocol's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Failure> {
        let key = parts
            .headers
            .get(IDEMPOTENCY_KEY_HEADER)
            .ok_or_else(|| {
                Failure::new(
                    StatusCode::BAD_REQUEST,
                    "missing_idempotency_key",
                    "the Idempotency-Key header is required",
                )
            })?
            .to_str()
            .map_err(|_| {
                Failure::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_idempotency_key",
                    "Idempotency-Key must be ASCII",
                )
            })?
            .to_owned();
        validate_idempotency_key(&key)
            .map_err(|e| Failure::from_api(StatusCode::BAD_REQUEST, e))?;
        Ok(IdempotencyKey(key))
    }
}

/// A JSON body type, named the way a refusal of it reads ("the body is not a valid NAME").
pub trait Payload: DeserializeOwned {
    /// What a person calls it.
    const NAME: &'static str;
}

/// Parses a JSON body, answering 400 with the parser's reason when it is not a `T`.
pub fn parse_payload<T: Payload>(body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|e| Failure::malformed_body(T::NAME, e))
}

/// A plain JSON body, within the route's body limit (413 past it).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: Payload> FromRequest<S> for JsonBody<T> {
    type Rejection = Failure;

    async fn from_request(request: Request, state: &S) -> Result<Self, Failure> {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(Failure::body_rejected)?;
        parse_payload(&body).map(JsonBody)
    }
}

/// A JSON body sealed to the platform's key (opened here; the opened bytes are wiped once
/// parsed). A body sent plain is refused (415 `unsealed_body`): every terminal seals, and a
/// plain one would carry personal data readable on the way and in any proxy's buffers.
#[derive(Debug)]
pub struct SealedBody<T>(pub T);

impl<T: Payload> FromRequest<AppState> for SealedBody<T> {
    type Rejection = Failure;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Failure> {
        let sealed = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case(SEALED_APPLICATION_CONTENT_TYPE));
        let body = Bytes::from_request(request, state)
            .await
            .map_err(Failure::body_rejected)?;
        if !sealed {
            return Err(Failure::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsealed_body",
                format!(
                    "the body must be sealed to the platform's key and sent as {SEALED_APPLICATION_CONTENT_TYPE}"
                ),
            ));
        }
        let opened =
            state.store().keys()?.open_sealed(&body).map_err(|e| {
                Failure::new(StatusCode::BAD_REQUEST, "unsealable_body", e.to_string())
            })?;
        parse_payload(&opened).map(SealedBody)
    }
}

/// The roles a console route may require, as types (`Operator<role::Admin>`).
pub mod role {
    use crate::store::Role;

    /// A role an [`Operator`](super::Operator) must have at least.
    pub trait AtLeast: Send + Sync + 'static {
        /// The least role let through.
        const ROLE: Role;
    }

    /// Anyone logged in.
    pub struct Viewer;
    /// Operators and admins.
    pub struct Operator;
    /// Admins only.
    pub struct Admin;

    impl AtLeast for Viewer {
        const ROLE: Role = Role::Viewer;
    }
    impl AtLeast for Operator {
        const ROLE: Role = Role::Operator;
    }
    impl AtLeast for Admin {
        const ROLE: Role = Role::Admin;
    }
}

/// The logged-in console operator, with at least role `R`. Without a session the request is
/// sent to the login page; with too small a role it gets 403.
pub struct Operator<R: role::AtLeast = role::Viewer> {
    /// Their session.
    pub session: Session,
    role: PhantomData<R>,
}

impl<R: role::AtLeast> std::ops::Deref for Operator<R> {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.session
    }
}

/// The session a request's cookie names, if it is valid now.
pub async fn logged_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Session>, PageFailure> {
    let Some(token) = cookie(headers, SESSION_COOKIE).filter(|t| t.len() == 64) else {
        return Ok(None);
    };
    Ok(state
        .store()
        .session(&token_hash(&token), unix_now())
        .await?)
}

impl<R: role::AtLeast> FromRequestParts<AppState> for Operator<R> {
    type Rejection = PageFailure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageFailure> {
        let session = logged_in(state, &parts.headers)
            .await?
            .ok_or(PageFailure::LogIn)?;
        if session.role < R::ROLE {
            let message = format!("this needs the {} role", R::ROLE.as_str());
            return Err(PageFailure::refused(
                StatusCode::FORBIDDEN,
                &session,
                message,
            ));
        }
        Ok(Operator {
            session,
            role: PhantomData,
        })
    }
}

/// The fields of a submitted console form.
pub type Fields = HashMap<String, String>;

/// A field of a form, empty when absent.
pub fn field<'a>(form: &'a Fields, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or("")
}

/// A form that changes something, from an [`Operator`] with at least role `R`, carrying the
/// session's CSRF token (checked before anything changes).
pub struct OperatorForm<R: role::AtLeast = role::Viewer> {
    /// Who sent it.
    pub operator: Operator<R>,
    /// Its fields.
    pub fields: Fields,
}

impl<R: role::AtLeast> FromRequest<AppState> for OperatorForm<R> {
    type Rejection = PageFailure;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PageFailure> {
        let (mut parts, body) = request.into_parts();
        let operator = Operator::<R>::from_request_parts(&mut parts, state).await?;
        let Ok(Form(fields)) =
            Form::<Fields>::from_request(Request::from_parts(parts, body), state).await
        else {
            return Err(PageFailure::refused(
                StatusCode::BAD_REQUEST,
                &operator,
                "the form could not be read",
            ));
        };
        if !same(field(&fields, "csrf"), &operator.csrf) {
            return Err(PageFailure::refused(
                StatusCode::FORBIDDEN,
                &operator,
                "the form is stale or forged (CSRF token mismatch): reload the page",
            ));
        }
        Ok(OperatorForm { operator, fields })
    }
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Compares two secrets in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    crate::keys::same_secret(a.as_bytes(), b.as_bytes())
}

/// Largest body a `GET` or `HEAD` request may carry (none of them uses one).
pub const MAX_UNUSED_BODY: usize = 256 * 1024;

/// Reads the body of a `GET` or `HEAD` request before its handler runs, so that a request sent
/// with one leaves its connection reusable: hyper closes a connection whose request was answered
/// with its body unread, under the client's next request or while it is still writing. The
/// bytes are handed on (a signed request's signature covers them); a body over
/// [`MAX_UNUSED_BODY`] is refused (413) rather than read.
pub async fn read_unused_body(request: Request, next: Next) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, MAX_UNUSED_BODY).await {
        Ok(bytes) => {
            let request = Request::from_parts(parts, Body::from(bytes));
            next.run(request).await
        }
        Err(_) => closing(
            Failure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_rejected",
                "a GET or HEAD request carries no body",
            )
            .into_response(),
        ),
    }
}
