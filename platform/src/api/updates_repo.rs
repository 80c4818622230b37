//! Serving the signed release repository (`kiosk_release`) to terminals, and keeping its
//! timestamp fresh.
//!
//! `GET /v1/updates/tuf/metadata/{file}` and `GET /v1/updates/tuf/targets/{file}` are open:
//! the files are signed and terminals verify them, so serving them to anyone gives nothing
//! away and lets a terminal fetch its trust chain before anything else. Only names the
//! repository itself could contain are served ([`kiosk_release::names`]); everything else is
//! refused before the file system is touched. Targets support `Range: bytes=N-`, which is how
//! a terminal resumes an interrupted download of a large system image.

use std::path::{Path as FsPath, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kiosk_protocol::ApiError;
use kiosk_release::ReleaseRepository;
use kiosk_release::names::{is_metadata_file_name, is_target_file_name};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::http::{AppState, Failure};

/// The routes serving the repository (answering 404 when the platform has none); open.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/updates/tuf/metadata/{file}", get(metadata))
        .route("/v1/updates/tuf/targets/{file}", get(target))
}

/// A TUF metadata file of the release repository.
#[utoipa::path(get, tag = "crate::updates_repo", path = "/v1/updates/tuf/metadata/{file}",
    params(("file" = String, Path, description = "timestamp.json, root.json, N.root.json, N.snapshot.json or N.targets.json")),
    responses(
        (status = 200, description = "The signed metadata file (JSON)"),
        (status = 400, description = "Not a name the repository can hold", body = ApiError),
        (status = 404, description = "No such file, or no release repository on this platform", body = ApiError),
))]
pub async fn metadata(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let repo = configured(&state)?;
    if !is_metadata_file_name(&file) {
        return Err(invalid_name());
    }
    let mutable = file == "timestamp.json" || file == "root.json";
    serve_file(
        &repo.metadata_dir().join(&file),
        "application/json",
        mutable,
        &headers,
    )
    .await
}

/// A release file of the repository, by its consistent-snapshot name `<sha256>.<target>`.
#[utoipa::path(get, tag = "crate::updates_repo", path = "/v1/updates/tuf/targets/{file}",
    params(
        ("file" = String, Path, description = "<sha256 hex>.<target name>"),
        ("Range" = Option<String>, Header, description = "bytes=N- to resume after N bytes"),
    ),
    responses(
        (status = 200, description = "The whole file"),
        (status = 206, description = "The file from the requested offset, with Content-Range"),
        (status = 400, description = "Not a name the repository can hold", body = ApiError),
        (status = 404, description = "No such file, or no release repository on this platform", body = ApiError),
        (status = 416, description = "The offset is at or past the end of the file", body = ApiError),
))]
pub async fn target(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    let repo = configured(&state)?;
    if !is_target_file_name(&file) {
        return Err(invalid_name());
    }
    serve_file(
        &repo.targets_dir().join(&file),
        "application/octet-stream",
        false,
        &headers,
    )
    .await
}

/// The repository's newest root metadata, handed to a terminal at enrollment as its trust
/// anchor (`None` when the platform serves no repository).
pub fn enrollment_root(state: &AppState) -> Option<String> {
    let repo = state.updates_repo()?;
    match repo.root_json().map(String::from_utf8) {
        Ok(Ok(text)) => Some(text),
        Ok(Err(_)) => {
            tracing::error!("the release repository's root.json is not UTF-8");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read the release repository's root");
            None
        }
    }
}

/// Re-signs the timestamp whenever less than half of `lifetime` remains, checking every
/// eighth of it (at most every minute). Runs until the task is dropped with the server.
pub fn spawn_timestamp_refresher(
    repo: ReleaseRepository,
    timestamp_key: PathBuf,
    lifetime: Duration,
) -> tokio::task::JoinHandle<()> {
    let check_every = (lifetime / 8).clamp(Duration::from_secs(1), Duration::from_secs(60));
    tokio::spawn(async move {
        loop {
            refresh_if_due(&repo, &timestamp_key, lifetime).await;
            tokio::time::sleep(check_every).await;
        }
    })
}

/// One check of the refresher: re-signs when less than half of `lifetime` remains.
async fn refresh_if_due(repo: &ReleaseRepository, timestamp_key: &FsPath, lifetime: Duration) {
    let remaining = match repo.timestamp_expires() {
        Ok(expires) => expires.as_second() - jiff::Timestamp::now().as_second(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the release timestamp");
            return;
        }
    };
    let half = i64::try_from(lifetime.as_secs() / 2).unwrap_or(i64::MAX);
    if remaining >= half {
        return;
    }
    match repo.refresh_timestamp(timestamp_key, lifetime).await {
        Ok(status) => tracing::info!(
            version = status.version,
            expires = %status.expires,
            "re-signed the release timestamp"
        ),
        Err(e) => tracing::error!(
            error = %e,
            "cannot re-sign the release timestamp; terminals refuse updates once it expires"
        ),
    }
}

fn configured(state: &AppState) -> Result<&ReleaseRepository, Failure> {
    state.updates_repo().ok_or_else(|| {
        Failure::new(
            StatusCode::NOT_FOUND,
            "updates_not_configured",
            "this platform serves no release repository",
        )
    })
}

fn invalid_name() -> Failure {
    Failure::new(
        StatusCode::BAD_REQUEST,
        "invalid_file_name",
        "not a file name the release repository can hold",
    )
}

fn not_found() -> Failure {
    Failure::new(StatusCode::NOT_FOUND, "not_found", "no such file")
}

/// The offset of a `Range: bytes=N-` header; `None` for no header or any other form (which,
/// as HTTP allows, is answered with the whole file).
fn range_offset(headers: &HeaderMap) -> Option<u64> {
    let value = headers.get(header::RANGE)?.to_str().ok()?;
    let offset = value.strip_prefix("bytes=")?.strip_suffix('-')?;
    if offset.is_empty() || !offset.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    offset.parse().ok()
}

/// Streams `path` (whole, or from a `Range` offset) with its length.
async fn serve_file(
    path: &FsPath,
    content_type: &'static str,
    mutable: bool,
    headers: &HeaderMap,
) -> Result<Response, Failure> {
    let mut file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "cannot open a release file");
            return Err(read_failure());
        }
    };
    let meta = file.metadata().await.map_err(|_| read_failure())?;
    if !meta.is_file() {
        return Err(not_found());
    }
    let length = meta.len();
    let offset = range_offset(headers);
    if let Some(offset) = offset
        && offset >= length
    {
        let mut refused = Failure::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "range_not_satisfiable",
            format!("the file has {length} bytes"),
        )
        .into_response();
        refused.headers_mut().insert(
            header::CONTENT_RANGE,
            header_value(&format!("bytes */{length}"))?,
        );
        return Ok(refused);
    }
    let start = offset.unwrap_or(0);
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|_| read_failure())?;
    }
    let mut response = Response::new(Body::from_stream(FileChunks::spawn(file, length - start)));
    let response_headers = response.headers_mut();
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length - start));
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if mutable {
            "no-cache"
        } else {
            "public, max-age=31536000, immutable"
        }),
    );
    if offset.is_some() {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        response.headers_mut().insert(
            header::CONTENT_RANGE,
            header_value(&format!("bytes {start}-{}/{length}", length - 1))?,
        );
    }
    Ok(response)
}

fn header_value(text: &str) -> Result<HeaderValue, Failure> {
    HeaderValue::from_str(text).map_err(|_| read_failure())
}

fn read_failure() -> Failure {
    Failure::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the platform could not read the file",
    )
}

/// A file's bytes as a body stream, read by a task in 64 KiB chunks (a system image is too
/// large to hold in memory), at most `remaining` of them.
struct FileChunks {
    receiver: tokio::sync::mpsc::Receiver<std::io::Result<bytes::Bytes>>,
}

impl FileChunks {
    fn spawn(mut file: tokio::fs::File, mut remaining: u64) -> Self {
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            while remaining > 0 {
                let size = usize::try_from(remaining.min(64 * 1024)).unwrap_or(64 * 1024);
                let mut buffer = vec![0u8; size];
                let item = match file.read(&mut buffer).await {
                    Ok(0) => Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the file shrank while being served",
                    )),
                    Ok(n) => {
                        buffer.truncate(n);
                        remaining -= n as u64;
                        Ok(bytes::Bytes::from(buffer))
                    }
                    Err(e) => Err(e),
                };
                let failed = item.is_err();
                if sender.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        Self { receiver }
    }
}

impl futures_core::Stream for FileChunks {
    type Item = std::io::Result<bytes::Bytes>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_open_ended_byte_ranges_are_honoured() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::RANGE, HeaderValue::from_str(value).unwrap());
            range_offset(&headers)
        };
        assert_eq!(with("bytes=100-"), Some(100));
        assert_eq!(with("bytes=0-"), Some(0));
        assert_eq!(with("bytes=0-99"), None);
        assert_eq!(with("bytes=-100"), None);
        assert_eq!(with("bytes=+5-"), None);
        assert_eq!(with("bytes=99999999999999999999999-"), None);
        assert_eq!(with("items=1-"), None);
        assert_eq!(range_offset(&HeaderMap::new()), None);
    }
}
