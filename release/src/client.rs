//! The terminal's side: verify the platform's release metadata through TUF, find a release in
//! it, and download that release resumably, accepting only the bytes the metadata signs.
//!
//! ```no_run
//! # async fn run(anchor: &[u8]) -> Result<(), kiosk_release::client::TrustError> {
//! use kiosk_protocol::update::ReleaseKind;
//! use kiosk_release::client::TrustedRepository;
//! let repo = TrustedRepository::load(
//!     anchor,
//!     std::path::Path::new("/var/lib/kiosk/tuf"),
//!     "http://platform:8080/v1/updates/tuf/metadata/",
//!     "http://platform:8080/v1/updates/tuf/targets/",
//!     reqwest::Client::new(),
//! )
//! .await?;
//! if let Some(release) = repo.release("0.3.0", ReleaseKind::App, "x86_64") {
//!     let partial = std::path::Path::new("/var/lib/kiosk/download.part");
//!     repo.download(&release, partial, |done, total| println!("{done}/{total}")).await?;
//! }
//! # Ok(()) }
//! ```

use std::error::Error as _;
use std::path::{Path, PathBuf};

use futures_core::Stream;
use kiosk_protocol::update::{ReleaseKind, compare_versions};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tough::error::Error as ToughError;
use tough::schema::{RoleType, Root, Signed, Targets};
use tough::{
    Bytes, ExpirationEnforcement, RepositoryLoader, Transport, TransportError, TransportErrorKind,
    TransportStream, async_trait,
};
use url::Url;

use crate::names::{hex, parse_target_name, target_name};

/// Why update metadata or a release was refused or could not be fetched.
///
/// [`TrustError::code`] is the short code a terminal puts in its update report.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// Metadata is not signed by the keys the trusted root lists, or does not match the hash
    /// and length the metadata above it signs (tampered with on the way or on the server).
    #[error("update metadata is not signed as the trusted root requires: {detail}")]
    BadSignature { detail: String },
    /// Metadata has expired: the repository is stale, or someone replays a frozen copy.
    #[error("{role} metadata has expired (a stale or frozen repository)")]
    ExpiredMetadata { role: String },
    /// Metadata older than what this terminal has already seen (a rollback attack, or a
    /// platform restored from an old backup).
    #[error("refused metadata older than this terminal has already seen: {detail}")]
    RollbackRefused { detail: String },
    /// The downloaded file's SHA-256 is not the signed one; the partial file was deleted.
    #[error("{name}: SHA-256 {actual}, but the signed metadata says {expected}")]
    HashMismatch {
        name: String,
        expected: String,
        actual: String,
    },
    /// The server sent more bytes than the signed length, or the file has another length; the
    /// partial file was deleted.
    #[error("{name}: {actual} bytes, but the signed metadata says {expected}")]
    LengthMismatch {
        name: String,
        expected: u64,
        actual: u64,
    },
    /// The release is not in the signed metadata.
    #[error("no release {target} in the signed metadata")]
    UnknownRelease { target: String },
    /// The platform could not be reached or answered with an error. A download keeps what it
    /// has and resumes from there next time.
    #[error("{context}: {detail}")]
    Transport { context: String, detail: String },
    /// The directory keeping the last verified metadata could not be read or written.
    #[error("the update metadata store: {detail}")]
    Datastore { detail: String },
    /// The system clock is earlier than at a previous check, so expiry cannot be judged.
    #[error("the system clock went backwards: {detail}")]
    ClockSteppedBack { detail: String },
    /// Metadata that does not parse or is inconsistent.
    #[error("malformed update metadata: {detail}")]
    BadMetadata { detail: String },
    /// The trusted root given to [`TrustedRepository::load`] does not parse or verify.
    #[error("the trusted root metadata is unusable: {detail}")]
    BadTrustAnchor { detail: String },
    /// Reading or writing the download file failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl TrustError {
    /// A short code for operators' reports (`bad_signature`, `expired_metadata`,
    /// `rollback_refused`, `hash_mismatch`, `length_mismatch`, `unknown_release`,
    /// `transport`, `datastore`, `clock_stepped_back`, `bad_metadata`, `bad_trust_anchor`,
    /// `io`).
    pub fn code(&self) -> &'static str {
        match self {
            TrustError::BadSignature { .. } => "bad_signature",
            TrustError::ExpiredMetadata { .. } => "expired_metadata",
            TrustError::RollbackRefused { .. } => "rollback_refused",
            TrustError::HashMismatch { .. } => "hash_mismatch",
            TrustError::LengthMismatch { .. } => "length_mismatch",
            TrustError::UnknownRelease { .. } => "unknown_release",
            TrustError::Transport { .. } => "transport",
            TrustError::Datastore { .. } => "datastore",
            TrustError::ClockSteppedBack { .. } => "clock_stepped_back",
            TrustError::BadMetadata { .. } => "bad_metadata",
            TrustError::BadTrustAnchor { .. } => "bad_trust_anchor",
            TrustError::Io { .. } => "io",
        }
    }
}

/// One release as the verified targets metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReleaseTarget {
    /// Release version.
    pub version: String,
    /// Application or system image.
    pub kind: ReleaseKind,
    /// CPU architecture.
    pub arch: String,
    /// TUF target name (`kiosk-<version>-<arch>`, `os-<version>-<arch>.raucb`).
    pub name: String,
    /// The signed SHA-256 of the file.
    pub sha256: [u8; 32],
    /// The signed size of the file in bytes.
    pub length: u64,
}

impl ReleaseTarget {
    /// The signed SHA-256, hex.
    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }
}

/// Release metadata verified through the TUF chain (root → timestamp → snapshot → targets).
#[derive(Debug, Clone)]
pub struct TrustedRepository {
    http: reqwest::Client,
    targets_url: Url,
    releases: Vec<ReleaseTarget>,
    /// The earliest expiry among the four roles, and which role it is.
    expires: (jiff::Timestamp, RoleType),
    root_version: u64,
}

impl TrustedRepository {
    /// Fetches and verifies the repository's metadata.
    ///
    /// `trusted_root` is the root metadata the terminal trusts (pinned in its image, or
    /// received at enrollment); the client follows signed root rotations from it, one version
    /// at a time, each signed by the root keys before it and by its own. The roots it followed
    /// are kept in `datastore_dir` with the last timestamp and snapshot seen, so older metadata
    /// and retired keys are refused across restarts (created if missing); a kept root counts
    /// only if it chains from `trusted_root`. Expiry is judged by the
    /// system clock. `metadata_url` and `targets_url` are the platform's
    /// `/v1/updates/tuf/metadata/` and `/v1/updates/tuf/targets/`.
    pub async fn load(
        trusted_root: &[u8],
        datastore_dir: &Path,
        metadata_url: &str,
        targets_url: &str,
        http: reqwest::Client,
    ) -> Result<Self, TrustError> {
        let metadata_url = base_url(metadata_url)?;
        let targets_url = base_url(targets_url)?;
        tokio::fs::create_dir_all(datastore_dir)
            .await
            .map_err(|e| TrustError::Datastore {
                detail: format!("cannot create {}: {e}", datastore_dir.display()),
            })?;
        let anchor = chained_root(trusted_root, datastore_dir, &metadata_url, &http).await?;
        let repository = RepositoryLoader::new(&anchor, metadata_url, targets_url.clone())
            .transport(HttpTransport { http: http.clone() })
            .datastore(datastore_dir)
            .expiration_enforcement(ExpirationEnforcement::Safe)
            .load()
            .await
            .map_err(from_tough)?;
        let releases = repository
            .targets()
            .signed
            .targets
            .iter()
            .filter_map(|(name, target)| release_target(name.raw(), target))
            .collect();
        let expires = [
            (repository.root().signed.expires, RoleType::Root),
            (repository.timestamp().signed.expires, RoleType::Timestamp),
            (repository.snapshot().signed.expires, RoleType::Snapshot),
            (repository.targets().signed.expires, RoleType::Targets),
        ]
        .into_iter()
        .min_by_key(|(at, _)| *at)
        .unwrap_or((jiff::Timestamp::MIN, RoleType::Timestamp));
        Ok(Self {
            http,
            targets_url,
            releases,
            expires,
            root_version: repository.root().signed.version.get(),
        })
    }

    /// The release `version` of `kind` for `arch`, if the metadata signs one.
    pub fn release(&self, version: &str, kind: ReleaseKind, arch: &str) -> Option<ReleaseTarget> {
        self.releases
            .iter()
            .find(|r| r.version == version && r.kind == kind && r.arch == arch)
            .cloned()
    }

    /// The newest release of `kind` for `arch` ([`compare_versions`]).
    pub fn newest(&self, kind: ReleaseKind, arch: &str) -> Option<ReleaseTarget> {
        self.releases
            .iter()
            .filter(|r| r.kind == kind && r.arch == arch)
            .max_by(|a, b| compare_versions(&a.version, &b.version))
            .cloned()
    }

    /// Every release the metadata signs.
    pub fn releases(&self) -> &[ReleaseTarget] {
        &self.releases
    }

    /// The version of the root the metadata was verified with.
    pub fn root_version(&self) -> u64 {
        self.root_version
    }

    /// Downloads `target` into `partial_path`, resuming from the bytes already there.
    ///
    /// Asks for `Range: bytes=N-` when `partial_path` holds N bytes and appends; a server
    /// that ignores the range (200) restarts the file. `progress(done, total)` is called as
    /// bytes arrive. An interrupted transfer keeps what it has ([`TrustError::Transport`]).
    /// At the end the file is synced and its SHA-256 and length checked against the signed
    /// metadata; on a mismatch, or when the server sends more than the signed length, the
    /// file is deleted ([`TrustError::HashMismatch`], [`TrustError::LengthMismatch`]).
    pub async fn download(
        &self,
        target: &ReleaseTarget,
        partial_path: &Path,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<(), TrustError> {
        if !self.releases.contains(target) {
            return Err(TrustError::UnknownRelease {
                target: target.name.clone(),
            });
        }
        if jiff::Timestamp::now() >= self.expires.0 {
            return Err(TrustError::ExpiredMetadata {
                role: self.expires.1.to_string(),
            });
        }
        let file_name = format!("{}.{}", target.sha256_hex(), target.name);
        let url = self
            .targets_url
            .join(&file_name)
            .map_err(|e| TrustError::BadMetadata {
                detail: format!("target {file_name}: {e}"),
            })?;
        let io = |action: &'static str| {
            let path = partial_path.to_path_buf();
            move |source| TrustError::Io {
                action,
                path,
                source,
            }
        };
        let mut file = tokio::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(partial_path)
            .await
            .map_err(io("open"))?;
        let mut have = file.metadata().await.map_err(io("inspect"))?.len();
        if have > target.length {
            file.set_len(0).await.map_err(io("truncate"))?;
            have = 0;
        }
        if have < target.length {
            self.fetch_rest(
                &url,
                target,
                &mut file,
                partial_path,
                &mut have,
                &mut progress,
            )
            .await?;
        }
        file.sync_all().await.map_err(io("sync"))?;
        drop(file);
        verify_file(target, partial_path).await
    }

    /// Fetches the bytes after the first `have` and appends them to `file`.
    async fn fetch_rest(
        &self,
        url: &Url,
        target: &ReleaseTarget,
        file: &mut tokio::fs::File,
        path: &Path,
        have: &mut u64,
        progress: &mut impl FnMut(u64, u64),
    ) -> Result<(), TrustError> {
        let io = |action: &'static str| {
            let path = path.to_path_buf();
            move |source| TrustError::Io {
                action,
                path,
                source,
            }
        };
        let transport = |detail: String| TrustError::Transport {
            context: format!("downloading {}", target.name),
            detail,
        };
        let mut response = None;
        // At most twice: a range the server cannot satisfy (the file changed under the same
        // name, or the partial file is not ours) restarts from the beginning once.
        for _ in 0..2 {
            let mut request = self.http.get(url.as_str());
            if *have > 0 {
                request = request.header(reqwest::header::RANGE, format!("bytes={have}-"));
            }
            let answer = request.send().await.map_err(|e| transport(chain(&e)))?;
            let status = answer.status();
            if status == reqwest::StatusCode::PARTIAL_CONTENT && *have > 0 {
                if range_start(&answer) == Some(*have) {
                    response = Some(answer);
                    break;
                }
            } else if status.is_success() {
                // The whole file: whatever was kept is replaced.
                *have = 0;
                response = Some(answer);
                break;
            } else if status != reqwest::StatusCode::RANGE_NOT_SATISFIABLE {
                return Err(transport(format!("the platform answered {status}")));
            }
            *have = 0;
        }
        let Some(mut response) = response else {
            return Err(transport(
                "the platform does not serve the requested range".into(),
            ));
        };
        file.set_len(*have).await.map_err(io("truncate"))?;
        file.seek(std::io::SeekFrom::Start(*have))
            .await
            .map_err(io("seek"))?;
        progress(*have, target.length);
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) => {
                    file.sync_all().await.map_err(io("sync"))?;
                    return Err(transport(format!(
                        "interrupted after {have} of {} bytes (resumable): {}",
                        target.length,
                        chain(&e)
                    )));
                }
            };
            let after = *have + chunk.len() as u64;
            if after > target.length {
                let _ = tokio::fs::remove_file(path).await;
                return Err(TrustError::LengthMismatch {
                    name: target.name.clone(),
                    expected: target.length,
                    actual: after,
                });
            }
            file.write_all(&chunk).await.map_err(io("write"))?;
            *have = after;
            progress(*have, target.length);
        }
        if *have < target.length {
            file.sync_all().await.map_err(io("sync"))?;
            return Err(transport(format!(
                "the platform closed the connection after {have} of {} bytes (resumable)",
                target.length
            )));
        }
        Ok(())
    }
}

/// Checks the file's length and SHA-256 against the signed ones, deleting it on a mismatch.
async fn verify_file(target: &ReleaseTarget, path: &Path) -> Result<(), TrustError> {
    let io = |action: &'static str| {
        let path = path.to_path_buf();
        move |source| TrustError::Io {
            action,
            path,
            source,
        }
    };
    let mut file = tokio::fs::File::open(path).await.map_err(io("open"))?;
    let mut hasher = Sha256::new();
    let mut length = 0u64;
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buffer).await.map_err(io("read"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        length += n as u64;
    }
    drop(file);
    let actual: [u8; 32] = hasher.finalize().into();
    let refused = if length != target.length {
        Some(TrustError::LengthMismatch {
            name: target.name.clone(),
            expected: target.length,
            actual: length,
        })
    } else if actual != target.sha256 {
        Some(TrustError::HashMismatch {
            name: target.name.clone(),
            expected: target.sha256_hex(),
            actual: hex(&actual),
        })
    } else {
        None
    };
    match refused {
        Some(error) => {
            tokio::fs::remove_file(path).await.map_err(io("delete"))?;
            Err(error)
        }
        None => Ok(()),
    }
}

/// The first byte a 206 answer's `Content-Range: bytes START-END/TOTAL` covers.
fn range_start(response: &reqwest::Response) -> Option<u64> {
    let value = response
        .headers()
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?;
    let range = value.strip_prefix("bytes ")?;
    range.split_once('-')?.0.trim().parse().ok()
}

/// The release a target entry describes, if its name and custom metadata agree.
fn release_target(name: &str, target: &tough::schema::Target) -> Option<ReleaseTarget> {
    let field = |key: &str| target.custom.get(key).and_then(|v| v.as_str());
    let kind = ReleaseKind::parse(field("kind")?)?;
    let version = field("version")?;
    let arch = field("arch")?;
    // The name must be the one the fields make: a target cannot claim another release's name.
    if parse_target_name(name)? != (kind, version, arch) || target_name(kind, version, arch) != name
    {
        return None;
    }
    let sha256: [u8; 32] = target.hashes.sha256.as_ref().try_into().ok()?;
    Some(ReleaseTarget {
        version: version.to_owned(),
        kind,
        arch: arch.to_owned(),
        name: name.to_owned(),
        sha256,
        length: target.length,
    })
}

/// Where, inside the datastore, the roots this terminal followed are kept: `N.root.json` for
/// every version after the anchor. tough persists only the newest root (`root.json`), with
/// nothing that proves how it was reached, so that file is never read back: anyone who can
/// write the data partition could put a self-signed root of their own there.
const ROOT_CHAIN_DIR: &str = "roots";
/// The largest root metadata file accepted (tough's own default).
const MAX_ROOT_SIZE: u64 = 1024 * 1024;
/// The most root versions one load walks (tough's own default).
const MAX_ROOT_UPDATES: u64 = 1024;

/// The root to hand to tough: the anchor, advanced along the chain of rotations N → N+1 as
/// far as it can be verified (TUF 5.3.4 and 5.3.5: root N+1 is signed by a threshold of root
/// N's root keys and by a threshold of its own, and its version is exactly N+1).
///
/// The walk first goes through the roots kept in [`ROOT_CHAIN_DIR`] (so a platform that hides
/// a newer root cannot take a terminal back to retired keys), then fetches the next versions
/// from the repository and keeps each one verified. A kept root that does not chain is ignored
/// with a warning and the walk goes on from the repository; a fetched one that does not chain
/// is refused, as tough refuses it. tough then starts from the result (and finds no newer root).
async fn chained_root(
    trusted_root: &[u8],
    datastore_dir: &Path,
    metadata_url: &Url,
    http: &reqwest::Client,
) -> Result<Vec<u8>, TrustError> {
    let anchor = parse_anchor(trusted_root)?;
    let chain_dir = datastore_dir.join(ROOT_CHAIN_DIR);
    let first = anchor.signed.version.get();
    let mut current = kept_chain(anchor, trusted_root.to_vec(), &chain_dir)?;
    while let Some(next) = following_version(&current.0, first) {
        let Some(fetched) = fetch_root(metadata_url, next, http).await? else {
            break;
        };
        let root = next_root(&current.0, &fetched)?;
        tokio::fs::create_dir_all(&chain_dir)
            .await
            .map_err(|e| TrustError::Datastore {
                detail: format!("cannot create {}: {e}", chain_dir.display()),
            })?;
        let path = chain_dir.join(format!("{next}.root.json"));
        crate::fsio::write_atomic(&path, &fetched, 0o644).map_err(|e| TrustError::Datastore {
            detail: format!("cannot write {}: {e}", path.display()),
        })?;
        current = (root, fetched);
    }
    Ok(current.1)
}

/// The trust anchor, checked against its own root keys.
fn parse_anchor(trusted_root: &[u8]) -> Result<Signed<Root>, TrustError> {
    let anchor: Signed<Root> =
        serde_json::from_slice(trusted_root).map_err(|e| TrustError::BadTrustAnchor {
            detail: e.to_string(),
        })?;
    anchor
        .signed
        .verify_role(&anchor)
        .map_err(|e| TrustError::BadTrustAnchor {
            detail: format!("the root is not signed by its own root keys: {e}"),
        })?;
    Ok(anchor)
}

/// `anchor` advanced through the roots kept in `chain_dir` as far as they chain, with the
/// bytes of the last one. A kept root that does not chain ends the walk with a warning.
fn kept_chain(
    anchor: Signed<Root>,
    anchor_bytes: Vec<u8>,
    chain_dir: &Path,
) -> Result<(Signed<Root>, Vec<u8>), TrustError> {
    let first = anchor.signed.version.get();
    let mut current = (anchor, anchor_bytes);
    while let Some(next) = following_version(&current.0, first) {
        let path = chain_dir.join(format!("{next}.root.json"));
        let kept = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => {
                return Err(TrustError::Datastore {
                    detail: format!("cannot read {}: {e}", path.display()),
                });
            }
        };
        match next_root(&current.0, &kept) {
            Ok(root) => current = (root, kept),
            Err(why) => {
                tracing::warn!(
                    path = %path.display(),
                    trusted_version = current.0.signed.version.get(),
                    "a kept release root does not chain from the trusted one and is ignored: {why}"
                );
                break;
            }
        }
    }
    Ok(current)
}

/// The release `version` of `kind` for `arch` as the targets metadata kept in
/// `datastore_dir` by the last [`TrustedRepository::load`] signs it, without the network.
///
/// For checking an installed release before it starts: the targets metadata must be signed
/// by the targets keys of the newest root that chains from `trusted_root` (kept in the same
/// datastore). Expiry and freshness are not judged (a terminal without a network must still
/// start what it installed), so whoever can write the datastore can at most point at another
/// release the keys signed, never at bytes of their own.
pub fn kept_release(
    trusted_root: &[u8],
    datastore_dir: &Path,
    version: &str,
    kind: ReleaseKind,
    arch: &str,
) -> Result<ReleaseTarget, TrustError> {
    let anchor = parse_anchor(trusted_root)?;
    let (root, _) = kept_chain(
        anchor,
        trusted_root.to_vec(),
        &datastore_dir.join(ROOT_CHAIN_DIR),
    )?;
    let path = datastore_dir.join("targets.json");
    let bytes = std::fs::read(&path).map_err(|e| TrustError::Datastore {
        detail: format!("cannot read {}: {e}", path.display()),
    })?;
    let targets: Signed<Targets> =
        serde_json::from_slice(&bytes).map_err(|e| TrustError::BadMetadata {
            detail: format!("{}: {e}", path.display()),
        })?;
    root.signed
        .verify_role(&targets)
        .map_err(|e| TrustError::BadSignature {
            detail: format!("{} is not signed by the targets keys: {e}", path.display()),
        })?;
    targets
        .signed
        .targets
        .iter()
        .filter_map(|(name, target)| release_target(name.raw(), target))
        .find(|r| r.version == version && r.kind == kind && r.arch == arch)
        .ok_or_else(|| TrustError::UnknownRelease {
            target: target_name(kind, version, arch),
        })
}

/// The version after `root`'s, unless the walk from version `first` has gone far enough.
fn following_version(root: &Signed<Root>, first: u64) -> Option<u64> {
    let version = root.signed.version.get();
    (version < first.saturating_add(MAX_ROOT_UPDATES))
        .then(|| version.checked_add(1))
        .flatten()
}

/// `bytes` as the root that follows `trusted`, if it is signed by both and numbered N+1.
fn next_root(trusted: &Signed<Root>, bytes: &[u8]) -> Result<Signed<Root>, TrustError> {
    let next: Signed<Root> =
        serde_json::from_slice(bytes).map_err(|e| TrustError::BadMetadata {
            detail: format!("root metadata: {e}"),
        })?;
    let version = trusted.signed.version.get();
    if next.signed.version.get() != version.saturating_add(1) {
        return Err(TrustError::RollbackRefused {
            detail: format!(
                "root version {} cannot follow root version {version}",
                next.signed.version
            ),
        });
    }
    trusted
        .signed
        .verify_role(&next)
        .map_err(|e| TrustError::BadSignature {
            detail: format!(
                "root version {} is not signed by the root keys of version {version}: {e}",
                next.signed.version
            ),
        })?;
    next.signed
        .verify_role(&next)
        .map_err(|e| TrustError::BadSignature {
            detail: format!(
                "root version {} is not signed by its own root keys: {e}",
                next.signed.version
            ),
        })?;
    Ok(next)
}

/// `VERSION.root.json` from the repository, or `None` when the platform has none (or cannot
/// be reached: the timestamp fetched next then says so, as tough does).
async fn fetch_root(
    metadata_url: &Url,
    version: u64,
    http: &reqwest::Client,
) -> Result<Option<Vec<u8>>, TrustError> {
    let name = format!("{version}.root.json");
    let url = metadata_url
        .join(&name)
        .map_err(|e| TrustError::BadMetadata {
            detail: format!("{name}: {e}"),
        })?;
    let Ok(mut response) = http.get(url.as_str()).send().await else {
        return Ok(None);
    };
    if !response.status().is_success() {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if (bytes.len() + chunk.len()) as u64 > MAX_ROOT_SIZE {
                    return Err(TrustError::BadMetadata {
                        detail: format!("{url} is larger than {MAX_ROOT_SIZE} bytes"),
                    });
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(Some(bytes)),
            Err(e) => {
                return Err(TrustError::Transport {
                    context: format!("fetching {url}"),
                    detail: chain(&e),
                });
            }
        }
    }
}

fn base_url(text: &str) -> Result<Url, TrustError> {
    let with_slash = if text.ends_with('/') {
        text.to_owned()
    } else {
        format!("{text}/")
    };
    let url = Url::parse(&with_slash).map_err(|e| TrustError::Transport {
        context: format!("the address {text}"),
        detail: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TrustError::Transport {
            context: format!("the address {text}"),
            detail: "only http and https are supported".into(),
        });
    }
    Ok(url)
}

/// An error and its sources, `: `-separated.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        // tough's messages often repeat their source's; say each thing once.
        let said = inner.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = inner.source();
    }
    text
}

/// Maps tough's errors onto what an operator needs to tell apart.
fn from_tough(error: ToughError) -> TrustError {
    let detail = chain(&error);
    match error {
        ToughError::ExpiredMetadata { role, .. } => TrustError::ExpiredMetadata {
            role: role.to_string(),
        },
        ToughError::OlderMetadata { .. }
        | ToughError::OlderSnapshotInTimestamp { .. }
        | ToughError::SnapshotRoleRollback { .. }
        | ToughError::SnapshotRoleMissing { .. } => TrustError::RollbackRefused { detail },
        ToughError::VerifyMetadata { .. } | ToughError::VerifyRoleMetadata { .. } => {
            TrustError::BadSignature { detail }
        }
        ToughError::VerifyTrustedMetadata { .. } | ToughError::ParseTrustedMetadata { .. } => {
            TrustError::BadTrustAnchor { detail }
        }
        ToughError::SystemTimeSteppedBackward { .. } => TrustError::ClockSteppedBack { detail },
        ToughError::DatastoreInit { .. }
        | ToughError::DatastoreCreate { .. }
        | ToughError::DatastoreOpen { .. }
        | ToughError::DatastoreRemove { .. }
        | ToughError::DatastoreSerialize { .. } => TrustError::Datastore { detail },
        ToughError::Transport { url, source, .. } => {
            // A metadata file that is not the one the role above it signs (hash, or more bytes
            // than its signed length) arrives as a transport error from tough's checking stream.
            match source
                .source()
                .and_then(|inner| inner.downcast_ref::<ToughError>())
            {
                Some(ToughError::HashMismatch { .. }) => TrustError::BadSignature {
                    detail: format!("{url} is not the file the signed metadata lists: {detail}"),
                },
                Some(ToughError::MaxSizeExceeded { .. }) => TrustError::BadSignature {
                    detail: format!("{url} is longer than the signed metadata allows: {detail}"),
                },
                _ => TrustError::Transport {
                    context: format!("fetching {url}"),
                    detail: chain(&source),
                },
            }
        }
        _ => TrustError::BadMetadata { detail },
    }
}

/// tough's [`Transport`] over the terminal's `reqwest` client (plain HTTP or HTTPS, whatever
/// that client is built for).
#[derive(Debug, Clone)]
struct HttpTransport {
    http: reqwest::Client,
}

#[async_trait]
impl Transport for HttpTransport {
    async fn fetch(&self, url: Url) -> Result<TransportStream, TransportError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(TransportError::new(
                TransportErrorKind::UnsupportedUrlScheme,
                url,
            ));
        }
        let response = self
            .http
            .get(url.as_str())
            .send()
            .await
            .map_err(|e| TransportError::new_with_cause(TransportErrorKind::Other, &url, e))?;
        let status = response.status();
        if matches!(status.as_u16(), 403 | 404 | 410) {
            // Tells tough "no such file", which ends its walk up the root versions.
            return Err(TransportError::new(TransportErrorKind::FileNotFound, url));
        }
        if !status.is_success() {
            return Err(TransportError::new_with_cause(
                TransportErrorKind::Other,
                &url,
                format!("the platform answered {status}"),
            ));
        }
        // The body is read by a task and handed over a channel: the stream tough wants must be
        // `Sync`, and a channel's receiver is, whatever reqwest's body is. Dropping the stream
        // (tough stops at its size limit) ends the task.
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            let mut response = response;
            loop {
                let item = match response.chunk().await {
                    Ok(Some(bytes)) => Ok(bytes),
                    Ok(None) => break,
                    Err(e) => Err(TransportError::new_with_cause(
                        TransportErrorKind::Other,
                        &url,
                        e,
                    )),
                };
                let failed = item.is_err();
                if sender.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(Box::pin(ChunkStream { receiver }))
    }
}

/// The body chunks [`HttpTransport`]'s reading task hands over.
struct ChunkStream {
    receiver: tokio::sync::mpsc::Receiver<Result<Bytes, TransportError>>,
}

impl Stream for ChunkStream {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}
