//! Chunked upload of application materials (JPEG or PDF, plain or sealed to the platform's
//! key), with size and content checks.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use kiosk_protocol::material::{
    MAX_APPLICATION_MATERIAL_BYTES, MAX_MATERIALS_PER_APPLICATION, UPLOAD_CHUNK_BYTES,
};
use kiosk_protocol::{ApiError, UploadRequest, UploadSession, UploadedMaterial};
use sha2::{Digest, Sha256};

use super::MAX_TERMINAL_BODY;
use crate::http::extract::Payload;
use crate::http::{AppState, Failure, JsonBody, SignedTerminal};
use crate::store::Upload;

/// Largest chunk body accepted (the chunk size, exactly, for all but the last).
pub const MAX_CHUNK_BODY: usize = UPLOAD_CHUNK_BYTES as usize;

impl Payload for UploadRequest {
    const NAME: &'static str = "upload request";
}

/// The signed routes of this area.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/applications/{application_no}/materials",
            post(start_upload),
        )
        .route("/v1/uploads/{upload_id}/complete", post(complete_upload))
        .layer(DefaultBodyLimit::max(MAX_TERMINAL_BODY))
        .route(
            "/v1/uploads/{upload_id}/chunks/{n}",
            put(put_chunk).layer(DefaultBodyLimit::max(MAX_CHUNK_BODY)),
        )
}

fn not_found(what: &str) -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no such {what} at this terminal"),
    )
}

fn is_id(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Announces a material file for an application this terminal took, or for one whose 补正
/// was opened at this terminal (`POST /v1/applications/{no}/corrections`: then only an asked
/// material).
#[utoipa::path(post, tag = "crate::materials_api", path = "/v1/applications/{application_no}/materials",
    params(("application_no" = String, Path, description = "Application number")),
    request_body = UploadRequest,
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 201, description = "Send the chunks", body = UploadSession),
        (status = 400, description = "Malformed request (or an unsupported content type)", body = ApiError),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 404, description = "No such application at this terminal (neither taken here nor with a 补正 open here)", body = ApiError),
        (status = 413, description = "File or application total too large, or too many files", body = ApiError),
        (status = 415, description = "A plain (unsealed) content type (`unsealed_body`)", body = ApiError),
        (status = 422, description = "No such material for the matter, a bad hash, or under a 补正 a material not asked for (`material_not_asked`)", body = ApiError),
))]
pub async fn start_upload(
    State(state): State<AppState>,
    terminal: SignedTerminal,
    Path(application_no): Path<String>,
    body: Result<JsonBody<UploadRequest>, Failure>,
) -> Result<Response, Failure> {
    if !is_id(&application_no, 32) {
        return Err(not_found("application"));
    }
    let JsonBody(request) = body?;
    request.validate().map_err(|e| {
        let status = if e.code == "file_too_large" {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        Failure::from_api(status, e)
    })?;
    // A citizen's documents travel sealed to the platform's key only, as application bodies
    // do: a plain photo would be readable on the way and in any proxy's buffers.
    if !request.content_type.is_sealed() {
        return Err(Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsealed_body",
            "materials must be sealed to the platform's key: announce application/vnd.lyb.sealed+pdf or +jpeg",
        ));
    }
    let store = state.store();
    // The terminal that took the application sends its materials; any other terminal only
    // the materials of a 补正 its card holder opened there.
    let scope = store
        .upload_scope(&terminal.id, &application_no)
        .await?
        .ok_or_else(|| not_found("application"))?;
    let catalog = state.current_catalog().await?;
    let known = catalog
        .matter(&scope.matter_id)
        .is_some_and(|m| usize::from(request.material_index) < m.materials.len());
    if !known {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_material",
            "the matter has no material with this index",
        ));
    }
    scope.admits(request.material_index)?;
    let (files, bytes) = store.material_totals(&application_no).await?;
    if files >= MAX_MATERIALS_PER_APPLICATION {
        return Err(Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_files",
            format!("an application has at most {MAX_MATERIALS_PER_APPLICATION} material files"),
        ));
    }
    if bytes + request.size > MAX_APPLICATION_MATERIAL_BYTES {
        return Err(Failure::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "application_too_large",
            format!(
                "an application's materials total at most {MAX_APPLICATION_MATERIAL_BYTES} bytes"
            ),
        ));
    }
    let id = crate::store::random_hex(16)?;
    store
        .create_upload(
            &id,
            &terminal.id,
            &application_no,
            &request,
            UPLOAD_CHUNK_BYTES,
            scope.grant.map(|g| g.id),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(UploadSession {
            upload_id: id,
            chunk_size: UPLOAD_CHUNK_BYTES,
            chunks: request.chunks(),
        }),
    )
        .into_response())
}

async fn own_upload(
    state: &AppState,
    terminal: &SignedTerminal,
    id: &str,
) -> Result<Upload, Failure> {
    if !is_id(id, 64) {
        return Err(not_found("upload"));
    }
    state
        .store()
        .upload(&terminal.id, id)
        .await?
        .ok_or_else(|| not_found("upload"))
}

/// Sends chunk `n` of an upload (again, to replace it).
#[utoipa::path(put, tag = "crate::materials_api", path = "/v1/uploads/{upload_id}/chunks/{n}",
    params(
        ("upload_id" = String, Path, description = "Upload id"),
        ("n" = u64, Path, description = "Chunk index, from 0"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 204, description = "Stored"),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 404, description = "No such upload or chunk", body = ApiError),
        (status = 409, description = "The upload is complete", body = ApiError),
        (status = 413, description = "Chunk too large", body = ApiError),
        (status = 422, description = "Chunk of the wrong length", body = ApiError),
))]
pub async fn put_chunk(
    State(state): State<AppState>,
    terminal: SignedTerminal,
    Path((id, n)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, Failure> {
    let upload = own_upload(&state, &terminal, &id).await?;
    let n: u64 = n.parse().map_err(|_| not_found("chunk"))?;
    if n >= upload.chunks() {
        return Err(not_found("chunk"));
    }
    if upload.complete {
        return Err(Failure::new(
            StatusCode::CONFLICT,
            "upload_complete",
            "this upload is complete",
        ));
    }
    let body = body.map_err(Failure::body_rejected)?;
    let expected = upload.chunk_len(n);
    if body.len() as u64 != expected {
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_chunk_length",
            format!("chunk {n} must be {expected} bytes"),
        ));
    }
    state
        .store()
        .put_chunk(&upload.id, n, body.to_vec())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks and completes an upload: every chunk, the SHA-256, and the content type. A sealed
/// upload (`application/vnd.lyb.sealed+pdf` / `+jpeg`) is opened with the platform's sealing
/// key, its content checked, and stored opened under its plain type.
#[utoipa::path(post, tag = "crate::materials_api", path = "/v1/uploads/{upload_id}/complete",
    params(("upload_id" = String, Path, description = "Upload id")),
    security(("terminal_id" = [], "timestamp" = [], "nonce" = [], "signature" = [])),
    responses(
        (status = 200, description = "The material is stored", body = UploadedMaterial),
        (status = 401, description = "Not signed by an enrolled terminal", body = ApiError),
        (status = 404, description = "No such upload", body = ApiError),
        (status = 409, description = "Chunks are missing", body = ApiError),
        (status = 415, description = "The bytes (opened, for a sealed type) are not the declared type; the upload is discarded", body = ApiError),
        (status = 422, description = "The SHA-256 does not match, or a sealed file cannot be opened; the upload is discarded", body = ApiError),
))]
pub async fn complete_upload(
    State(state): State<AppState>,
    terminal: SignedTerminal,
    Path(id): Path<String>,
) -> Result<axum::Json<UploadedMaterial>, Failure> {
    let upload = own_upload(&state, &terminal, &id).await?;
    let answer = UploadedMaterial {
        upload_id: upload.id.clone(),
        application_no: upload.application_no.clone(),
        material_index: upload.material_index,
        content_type: upload.content_type,
        size: upload.size,
    };
    if upload.complete {
        return Ok(axum::Json(answer));
    }
    let store = state.store();
    let chunks = store.chunks(&upload.id).await?;
    let have: Vec<u64> = chunks.iter().map(|(n, _)| *n).collect();
    let missing: Vec<u64> = (0..upload.chunks()).filter(|n| !have.contains(n)).collect();
    if !missing.is_empty() {
        return Err(Failure::new(
            StatusCode::CONFLICT,
            "chunks_missing",
            format!("chunks missing: {missing:?}"),
        ));
    }
    let mut file = zeroize::Zeroizing::new(Vec::with_capacity(
        usize::try_from(upload.size).unwrap_or(0),
    ));
    for (_, data) in chunks {
        file.extend_from_slice(&data);
    }
    let digest = kiosk_protocol::auth::hex_encode(&Sha256::digest(file.as_slice()));
    if file.len() as u64 != upload.size || digest != upload.sha256 {
        store.delete_upload(&upload.id).await?;
        return Err(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "hash_mismatch",
            "the file does not match its SHA-256; send it again",
        ));
    }
    if !upload.content_type.is_sealed() {
        if !upload.content_type.matches(&file) {
            store.delete_upload(&upload.id).await?;
            return Err(Failure::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "wrong_content",
                format!("the file is not a {}", upload.content_type.as_str()),
            ));
        }
        store.complete_upload(&upload.id).await?;
        return Ok(axum::Json(answer));
    }
    // A sealed material: opened with the platform's sealing secret (as sealed applications
    // are), checked for what it says it is, and stored opened, like a plain upload.
    let plain_type = upload.content_type.plain();
    let opened = match store.keys()?.open_sealed(&file) {
        Ok(opened) => opened,
        Err(e) => {
            store.delete_upload(&upload.id).await?;
            return Err(Failure::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unsealable_body",
                format!("{e}; the upload is discarded"),
            ));
        }
    };
    if !plain_type.matches(&opened) {
        store.delete_upload(&upload.id).await?;
        return Err(Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "wrong_content",
            format!("the sealed file is not a {}", plain_type.as_str()),
        ));
    }
    let digest = kiosk_protocol::auth::hex_encode(&Sha256::digest(opened.as_slice()));
    store
        .complete_opened_upload(&upload, plain_type, &opened, &digest)
        .await?;
    Ok(axum::Json(UploadedMaterial {
        content_type: plain_type,
        size: opened.len() as u64,
        ..answer
    }))
}
