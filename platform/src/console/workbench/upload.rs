//! The completion form, which may carry a result document (结果文书): read as
//! `multipart/form-data` (the browser's encoding for a file) or as a plain form, checked like
//! every console form (a logged-in user, the session's CSRF token) before anything is done.

use axum::extract::{Form, FromRequest, FromRequestParts, Multipart, Request};
use axum::http::{StatusCode, header};

use crate::http::extract::{Fields, field, same};
use crate::http::{AppState, Operator, PageFailure};

/// The largest result document.
pub const MAX_RESULT_BYTES: usize = 10 * 1024 * 1024;

/// A submitted completion form: who sent it, its fields, and the document if one was chosen.
pub(super) struct CompletionForm {
    /// Who sent it.
    pub operator: Operator,
    /// Its text fields.
    pub fields: Fields,
    /// The file of the `document` field, when one was chosen.
    pub document: Option<Vec<u8>>,
}

impl FromRequest<AppState> for CompletionForm {
    type Rejection = PageFailure;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PageFailure> {
        let (mut parts, body) = request.into_parts();
        let operator = Operator::from_request_parts(&mut parts, state).await?;
        let multipart = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        let request = Request::from_parts(parts, body);
        let read = if multipart {
            read_multipart(request, state).await
        } else {
            Form::<Fields>::from_request(request, state)
                .await
                .map(|Form(fields)| (fields, None))
                .map_err(|_| ())
        };
        let Ok((fields, document)) = read else {
            return Err(PageFailure::refused(
                StatusCode::BAD_REQUEST,
                &operator,
                "the form could not be read (a result document is a PDF of at most 10 MiB)",
            ));
        };
        if !same(field(&fields, "csrf"), &operator.csrf) {
            return Err(PageFailure::refused(
                StatusCode::FORBIDDEN,
                &operator,
                "the form is stale or forged (CSRF token mismatch): reload the page",
            ));
        }
        Ok(CompletionForm {
            operator,
            fields,
            document,
        })
    }
}

/// The text fields and the `document` file of a multipart form; `Err` when it cannot be read
/// (cut off, past the route's body limit, a text field that is not UTF-8).
async fn read_multipart(
    request: Request,
    state: &AppState,
) -> Result<(Fields, Option<Vec<u8>>), ()> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|_| ())?;
    let mut fields = Fields::new();
    let mut document = None;
    while let Some(part) = multipart.next_field().await.map_err(|_| ())? {
        let name = part.name().unwrap_or_default().to_owned();
        let bytes = part.bytes().await.map_err(|_| ())?;
        if name == "document" {
            document = (!bytes.is_empty()).then(|| bytes.to_vec());
        } else {
            fields.insert(name, String::from_utf8(bytes.to_vec()).map_err(|_| ())?);
        }
    }
    Ok((fields, document))
}
