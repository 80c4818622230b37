//! Signed-request authentication of terminals (the scheme is in `kiosk_protocol::auth` and
//! docs/PLATFORM-API.md).
//!
//! [`require_terminal`] guards every terminal endpoint but enrollment, catalog and health. It
//! answers 401 — with one uniform body — to anything but a request signed within the clock
//! window by an enrolled terminal's key with a nonce it has not used; on success the handler
//! finds the [`Terminal`] in the request's extensions.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kiosk_protocol::auth::{
    AuthError, MAX_CLOCK_SKEW_SECS, NONCE_HEADER, SIGNATURE_HEADER, SignedHeaders,
    TERMINAL_ID_HEADER, TIMESTAMP_HEADER, parse_public_key, validate_nonce, validate_terminal_id,
    verify_request,
};

use crate::api::{AppState, Failure};
use crate::store::unix_now;

/// The largest body a signed request may carry (the body is read to check its hash; each
/// endpoint then applies its own smaller limit).
pub const MAX_SIGNED_BODY: usize = 2 * 1024 * 1024;

/// The terminal a request was signed by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminal {
    /// Its id.
    pub id: String,
}

/// Why a request is not authenticated; logged (without personal data), never sent.
#[derive(Debug)]
enum Rejection {
    Header(AuthError),
    Clock,
    UnknownTerminal,
    Signature(AuthError),
    Replay,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Header(e) => write!(f, "{e}"),
            Rejection::Clock => f.write_str("timestamp outside the window"),
            Rejection::UnknownTerminal => f.write_str("unknown terminal"),
            Rejection::Signature(e) => write!(f, "{e}"),
            Rejection::Replay => f.write_str("nonce reused"),
        }
    }
}

fn unauthorized(why: Rejection) -> Failure {
    tracing::debug!(reason = %why, "unauthenticated terminal request");
    let message = match why {
        Rejection::Clock => format!(
            "the request's X-Timestamp is more than {MAX_CLOCK_SKEW_SECS} s from the platform's clock"
        ),
        _ => "the request is not signed by an enrolled terminal".to_owned(),
    };
    Failure::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, Rejection> {
    headers
        .get(name)
        .ok_or(Rejection::Header(AuthError::Missing(name)))?
        .to_str()
        .map_err(|_| Rejection::Header(AuthError::Malformed(name)))
}

fn signed_headers(headers: &HeaderMap) -> Result<SignedHeaders, Rejection> {
    let terminal_id = header(headers, TERMINAL_ID_HEADER)?;
    validate_terminal_id(terminal_id).map_err(Rejection::Header)?;
    let timestamp = header(headers, TIMESTAMP_HEADER)?
        .parse::<i64>()
        .map_err(|_| Rejection::Header(AuthError::Malformed(TIMESTAMP_HEADER)))?;
    let nonce = header(headers, NONCE_HEADER)?;
    validate_nonce(nonce).map_err(Rejection::Header)?;
    let signature = header(headers, SIGNATURE_HEADER)?;
    if signature.len() != 128 {
        return Err(Rejection::Header(AuthError::Malformed(SIGNATURE_HEADER)));
    }
    Ok(SignedHeaders {
        terminal_id: terminal_id.to_owned(),
        timestamp,
        nonce: nonce.to_owned(),
        signature: signature.to_owned(),
    })
}

/// Middleware: lets through only requests signed by an enrolled terminal.
pub async fn require_terminal(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    match authenticate(&state, request).await {
        Ok(request) => next.run(request).await,
        Err(failure) => failure.into_response(),
    }
}

async fn authenticate(state: &AppState, request: Request) -> Result<Request, Failure> {
    let (mut parts, body) = request.into_parts();
    let signed = signed_headers(&parts.headers).map_err(unauthorized)?;
    let now = unix_now();
    if (now - signed.timestamp).abs() > MAX_CLOCK_SKEW_SECS {
        return Err(unauthorized(Rejection::Clock));
    }
    let key = state
        .store()
        .terminal_key(&signed.terminal_id)
        .await?
        .ok_or_else(|| unauthorized(Rejection::UnknownTerminal))?;
    let key = parse_public_key(&key).map_err(|e| {
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
    verify_request(&key, &signed, parts.method.as_str(), target, &bytes)
        .map_err(|e| unauthorized(Rejection::Signature(e)))?;
    // Only a valid signature may spend a nonce, so nobody can burn a terminal's nonces.
    if !state
        .store()
        .record_nonce(&signed.terminal_id, &signed.nonce, now)
        .await?
    {
        return Err(unauthorized(Rejection::Replay));
    }
    parts.extensions.insert(Terminal {
        id: signed.terminal_id,
    });
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
