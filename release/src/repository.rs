//! The publishing side: a TUF repository of 连易办 releases in one directory.
//!
//! ```text
//! DIR/metadata/N.root.json      every root version (terminals walk the chain from theirs)
//! DIR/metadata/root.json        the newest root, handed to terminals at enrollment
//! DIR/metadata/N.targets.json   the releases (signed by the release managers' targets key)
//! DIR/metadata/N.snapshot.json  which targets.json is current (online snapshot key)
//! DIR/metadata/timestamp.json   which snapshot is current, short-lived (online timestamp key)
//! DIR/targets/<sha256>.<name>   the release files under their consistent-snapshot names
//! ```
//!
//! Every operation holds an exclusive lock on `DIR/.lock`, so a publish from the command line
//! and the platform's timestamp refresh never interleave, and writes each file atomically
//! (temporary file, fsync, rename) in the order that keeps the repository consistent for a
//! terminal reading it meanwhile: targets before the metadata naming them, `timestamp.json`
//! last.

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kiosk_protocol::update::{ReleaseKind, compare_versions, is_release_version};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tough::editor::signed::SignedRole;
use tough::key_source::KeySource;
use tough::schema::decoded::{Decoded, Hex};
use tough::schema::{
    Hashes, KeyHolder, Role, RoleKeys, RoleType, Root, Signed, Snapshot, Target, Targets, Timestamp,
};

use crate::fsio;
use crate::keys::{KeyError, PemKeySource, public_key};
use crate::names::{hex, is_arch, target_name};

/// The TUF specification version tough reads and writes.
const SPEC_VERSION: &str = "1.0.0";

/// How long each role's metadata stays valid after it is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Root: re-signed only at a key rotation, with the offline root key.
    pub root: Duration,
    /// Targets: re-signed at each publish, with the release managers' key.
    pub targets: Duration,
    /// Snapshot: re-signed at each publish. As long as targets, because it is only re-signed
    /// when targets is (a shorter life would expire the repository between releases).
    pub snapshot: Duration,
    /// Timestamp: re-signed by the platform when half of it has passed; a terminal served a
    /// frozen copy notices within this time.
    pub timestamp: Duration,
}

const DAY: u64 = 86_400;

impl Default for Lifetimes {
    /// Root 1 year, targets and snapshot 90 days, timestamp 1 day.
    fn default() -> Self {
        Self {
            root: Duration::from_secs(365 * DAY),
            targets: Duration::from_secs(90 * DAY),
            snapshot: Duration::from_secs(90 * DAY),
            timestamp: Duration::from_secs(DAY),
        }
    }
}

/// The four role keys (PEM files) a root lists, one key per role, threshold 1.
#[derive(Debug, Clone)]
pub struct RoleKeyFiles {
    /// The root key: kept offline, brought out only to initialise or rotate.
    pub root: PathBuf,
    /// The targets key: held by release managers, needed to publish.
    pub targets: PathBuf,
    /// The snapshot key: online, on the platform.
    pub snapshot: PathBuf,
    /// The timestamp key: online, on the platform, which re-signs the timestamp.
    pub timestamp: PathBuf,
}

/// The keys a publish signs with.
#[derive(Debug, Clone)]
pub struct PublishKeys {
    /// The release managers' targets key.
    pub targets: PathBuf,
    /// The online snapshot key.
    pub snapshot: PathBuf,
    /// The online timestamp key.
    pub timestamp: PathBuf,
}

/// A release to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSpec {
    /// Its version ([`is_release_version`]).
    pub version: String,
    /// Application or system image.
    pub kind: ReleaseKind,
    /// The CPU architecture it runs on ([`crate::names::is_arch`]).
    pub arch: String,
}

/// What a publish put into the repository (or found there already, byte for byte).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedTarget {
    /// The release version.
    pub version: String,
    /// Application or system image.
    pub kind: ReleaseKind,
    /// CPU architecture.
    pub arch: String,
    /// The TUF target name (`kiosk-<version>-<arch>`, `os-<version>-<arch>.raucb`).
    pub target: String,
    /// SHA-256 of the file, hex.
    pub sha256_hex: String,
    /// Size of the file in bytes.
    pub length: u64,
}

/// Where the timestamp stands after a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampStatus {
    /// Its version.
    pub version: u64,
    /// When it expires.
    pub expires: jiff::Timestamp,
}

/// Why a repository operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// Reading or writing a file failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A key file could not be read.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// `init` on a directory that already holds a repository.
    #[error("{} already holds a release repository", dir.display())]
    AlreadyInitialized { dir: PathBuf },
    /// The directory holds no repository.
    #[error("{} holds no release repository (run `release init` first)", dir.display())]
    NotInitialized { dir: PathBuf },
    /// One of the repository's own files does not parse or verify.
    #[error("the repository's {file} is damaged: {detail}")]
    Damaged { file: String, detail: String },
    /// A key file is not the key the root lists for the role it was given for.
    #[error("{} is not the {role} key this repository's root trusts", path.display())]
    WrongKey { role: &'static str, path: PathBuf },
    /// The same key was given for two roles; each role needs its own.
    #[error("the {first} and {second} roles must have different keys")]
    SharedKey {
        first: &'static str,
        second: &'static str,
    },
    /// Not a release version.
    #[error("`{version}` is not a release version (1 to 32 of 0-9 a-z . -, starting with a digit)")]
    InvalidVersion { version: String },
    /// Not an architecture name.
    #[error("`{arch}` is not an architecture name (1 to 16 of a-z 0-9 _, starting with a letter)")]
    InvalidArch { arch: String },
    /// The artifact is empty.
    #[error("{} is empty", path.display())]
    EmptyArtifact { path: PathBuf },
    /// This version is published already with other bytes.
    #[error(
        "{kind} {version} for {arch} is already published as {existing} with other bytes; publish a new version"
    )]
    VersionExists {
        kind: &'static str,
        version: String,
        arch: String,
        existing: String,
    },
    /// A newer version of the same kind and architecture is published.
    #[error(
        "{version} is older than {newest}, already published for {kind} on {arch} (allow it explicitly to publish an older release)"
    )]
    OlderThanNewest {
        kind: &'static str,
        version: String,
        newest: String,
        arch: String,
    },
    /// Signing failed.
    #[error("cannot sign {role}: {detail}")]
    Sign { role: &'static str, detail: String },
    /// A duration does not fit a metadata expiry.
    #[error("a lifetime of {0:?} is out of range")]
    Lifetime(Duration),
}

/// A TUF release repository in a directory (see the module documentation for its layout).
#[derive(Debug, Clone)]
pub struct ReleaseRepository {
    dir: PathBuf,
}

/// The repository's current, verified metadata.
struct State {
    root: Signed<Root>,
    targets: Signed<Targets>,
    timestamp: Signed<Timestamp>,
}

impl ReleaseRepository {
    /// The repository in `dir` (nothing is read until an operation needs it).
    pub fn open(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The repository's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the metadata files live (served under `/v1/updates/tuf/metadata/`).
    pub fn metadata_dir(&self) -> PathBuf {
        self.dir.join("metadata")
    }

    /// Where the release files live (served under `/v1/updates/tuf/targets/`).
    pub fn targets_dir(&self) -> PathBuf {
        self.dir.join("targets")
    }

    /// Creates a repository: root version 1 listing the four keys (threshold 1 each), and
    /// empty targets, snapshot and timestamp, each signed by its role's key.
    pub async fn init(
        dir: impl Into<PathBuf>,
        keys: &RoleKeyFiles,
        lifetimes: &Lifetimes,
    ) -> Result<Self, RepositoryError> {
        let repo = Self::open(dir);
        std::fs::create_dir_all(&repo.dir).map_err(io("create", &repo.dir))?;
        let _lock = repo.lock().await?;
        let first_root = repo.metadata_dir().join("1.root.json");
        if first_root.exists() {
            return Err(RepositoryError::AlreadyInitialized { dir: repo.dir });
        }
        for dir in [repo.metadata_dir(), repo.targets_dir()] {
            std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
        }
        let root = build_root(keys, NonZeroU64::MIN, expiry(lifetimes.root)?)?;
        let signed_root = sign(root.clone(), &root, &[&keys.root], "root").await?;
        let targets = Targets::new(
            SPEC_VERSION.into(),
            NonZeroU64::MIN,
            expiry(lifetimes.targets)?,
        );
        let chain = sign_chain(
            &root,
            targets,
            &PublishKeys {
                targets: keys.targets.clone(),
                snapshot: keys.snapshot.clone(),
                timestamp: keys.timestamp.clone(),
            },
            lifetimes,
            None,
        )
        .await?;
        repo.write_root(&signed_root)?;
        repo.write_chain(&chain)?;
        Ok(repo)
    }

    /// Publishes `artifact` as release `spec`: copies it to `targets/<sha256>.<name>`, adds it
    /// to targets with custom metadata `{version, kind, arch}`, and signs new targets,
    /// snapshot and timestamp versions.
    ///
    /// Publishing the same bytes under the same version again changes nothing and answers the
    /// existing target. Refused: a version already published with other bytes (a terminal
    /// might hold either), and, unless `allow_older`, a version lower than the newest of the
    /// same kind and architecture (usually a typo; a deliberate downgrade is a rollout's
    /// business, and it may still name the older, already published version).
    pub async fn publish(
        &self,
        artifact: &Path,
        spec: &ReleaseSpec,
        keys: &PublishKeys,
        lifetimes: &Lifetimes,
        allow_older: bool,
    ) -> Result<PublishedTarget, RepositoryError> {
        if !is_release_version(&spec.version) {
            return Err(RepositoryError::InvalidVersion {
                version: spec.version.clone(),
            });
        }
        if !is_arch(&spec.arch) {
            return Err(RepositoryError::InvalidArch {
                arch: spec.arch.clone(),
            });
        }
        let _lock = self.lock().await?;
        let state = self.load_state()?;
        let name = target_name(spec.kind, &spec.version, &spec.arch);
        let (staged, sha256, length) = self.stage_artifact(artifact).await?;
        let published = PublishedTarget {
            version: spec.version.clone(),
            kind: spec.kind,
            arch: spec.arch.clone(),
            target: name.clone(),
            sha256_hex: hex(&sha256),
            length,
        };
        let result = self.check_publishable(&state, spec, &published, allow_older);
        let unchanged = match result {
            Ok(unchanged) => unchanged,
            Err(e) => {
                let _ = std::fs::remove_file(&staged);
                return Err(e);
            }
        };
        let final_path = self
            .targets_dir()
            .join(format!("{}.{name}", published.sha256_hex));
        if unchanged {
            self.place_target(&staged, &final_path)?;
            return Ok(published);
        }

        let mut targets = state.targets.signed.clone();
        targets.version = next(targets.version);
        targets.expires = expiry(lifetimes.targets)?;
        let custom = HashMap::from([
            ("version".to_owned(), spec.version.clone().into()),
            ("kind".to_owned(), spec.kind.as_str().into()),
            ("arch".to_owned(), spec.arch.clone().into()),
        ]);
        let target = Target {
            length,
            hashes: Hashes {
                sha256: Decoded::from(sha256.to_vec()),
                _extra: HashMap::new(),
            },
            custom,
            _extra: HashMap::new(),
        };
        let target_name =
            tough::TargetName::new(name.as_str()).map_err(|e| RepositoryError::Damaged {
                file: name.clone(),
                detail: e.to_string(),
            })?;
        targets.add_target(target_name, target);
        // Sign everything before anything is placed: a wrong key leaves no trace.
        let chain = sign_chain(
            &state.root.signed,
            targets,
            keys,
            lifetimes,
            Some(&state.timestamp),
        )
        .await;
        let chain = match chain {
            Ok(chain) => chain,
            Err(e) => {
                let _ = std::fs::remove_file(&staged);
                return Err(e);
            }
        };
        self.place_target(&staged, &final_path)?;
        self.write_chain(&chain)?;
        Ok(published)
    }

    /// Moves a staged release file to its published name.
    fn place_target(&self, staged: &Path, final_path: &Path) -> Result<(), RepositoryError> {
        if let Err(e) = std::fs::rename(staged, final_path) {
            let _ = std::fs::remove_file(staged);
            return Err(RepositoryError::Io {
                action: "move into place",
                path: final_path.to_path_buf(),
                source: e,
            });
        }
        fsio::sync_parent(final_path).map_err(io("sync", &self.targets_dir()))
    }

    /// Re-signs targets (same releases), snapshot and timestamp with fresh versions and
    /// expiries. Targets and snapshot are otherwise re-signed only by a publish; a repository
    /// without a release for longer than their lifetime would expire on every terminal.
    pub async fn renew(
        &self,
        keys: &PublishKeys,
        lifetimes: &Lifetimes,
    ) -> Result<TimestampStatus, RepositoryError> {
        let _lock = self.lock().await?;
        let state = self.load_state()?;
        let mut targets = state.targets.signed.clone();
        targets.version = next(targets.version);
        targets.expires = expiry(lifetimes.targets)?;
        let chain = sign_chain(
            &state.root.signed,
            targets,
            keys,
            lifetimes,
            Some(&state.timestamp),
        )
        .await?;
        self.write_chain(&chain)?;
        Ok(TimestampStatus {
            version: chain.timestamp.signed().signed.version.get(),
            expires: chain.timestamp.signed().signed.expires,
        })
    }

    /// Re-signs `timestamp.json` with a new version and expiry, pointing at the same snapshot.
    /// The platform calls this before the old one expires; a terminal refuses an expired
    /// timestamp, so an attacker replaying an old (frozen) repository is noticed.
    pub async fn refresh_timestamp(
        &self,
        timestamp_key: &Path,
        lifetime: Duration,
    ) -> Result<TimestampStatus, RepositoryError> {
        let _lock = self.lock().await?;
        let state = self.load_state()?;
        let mut timestamp = state.timestamp.signed.clone();
        timestamp.version = next(timestamp.version);
        timestamp.expires = expiry(lifetime)?;
        let signed = sign(timestamp, &state.root.signed, &[timestamp_key], "timestamp").await?;
        self.write_role(&signed, "timestamp.json")?;
        Ok(TimestampStatus {
            version: signed.signed().signed.version.get(),
            expires: signed.signed().signed.expires,
        })
    }

    /// When the current timestamp expires.
    pub fn timestamp_expires(&self) -> Result<jiff::Timestamp, RepositoryError> {
        let timestamp: Signed<Timestamp> = self.read_json("timestamp.json")?;
        Ok(timestamp.signed.expires)
    }

    /// The newest root metadata, as terminals keep it for their trust anchor.
    pub fn root_json(&self) -> Result<Vec<u8>, RepositoryError> {
        let path = self.metadata_dir().join("root.json");
        match std::fs::read(&path) {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(RepositoryError::NotInitialized {
                    dir: self.dir.clone(),
                })
            }
            Err(source) => Err(RepositoryError::Io {
                action: "read",
                path,
                source,
            }),
        }
    }

    /// Rotates keys: writes root version N+1 listing `new_keys`, signed by the old root key
    /// and the new one (a terminal accepts it only with both), then re-signs targets,
    /// snapshot and timestamp with the keys the new root lists. Any of the four keys may be
    /// new or the same as before. Returns the new root's version.
    pub async fn rotate_root(
        &self,
        old_root_key: &Path,
        new_keys: &RoleKeyFiles,
        lifetimes: &Lifetimes,
    ) -> Result<u64, RepositoryError> {
        let _lock = self.lock().await?;
        let state = self.load_state()?;
        let old_root = &state.root.signed;
        let version = next(old_root.version);
        let new_root = build_root(new_keys, version, expiry(lifetimes.root)?)?;
        let by_new = sign(new_root.clone(), &new_root, &[&new_keys.root], "root").await?;
        let by_old = sign(new_root.clone(), old_root, &[old_root_key], "root")
            .await
            .map_err(|e| match e {
                RepositoryError::WrongKey { path, .. } => RepositoryError::WrongKey {
                    role: "current root",
                    path,
                },
                other => other,
            })?;
        let signed_root = by_new
            .add_old_signatures(by_old.signed().signatures.clone())
            .map_err(|e| RepositoryError::Sign {
                role: "root",
                detail: e.to_string(),
            })?;
        for (holder, which) in [(old_root, "current"), (&new_root, "new")] {
            holder
                .verify_role(signed_root.signed())
                .map_err(|e| RepositoryError::Sign {
                    role: "root",
                    detail: format!("not signed as the {which} root requires: {e}"),
                })?;
        }
        let mut targets = state.targets.signed.clone();
        targets.version = next(targets.version);
        targets.expires = expiry(lifetimes.targets)?;
        let chain = sign_chain(
            &new_root,
            targets,
            &PublishKeys {
                targets: new_keys.targets.clone(),
                snapshot: new_keys.snapshot.clone(),
                timestamp: new_keys.timestamp.clone(),
            },
            lifetimes,
            Some(&state.timestamp),
        )
        .await?;
        self.write_root(&signed_root)?;
        self.write_chain(&chain)?;
        Ok(version.get())
    }

    /// Takes the repository's lock (released when the file is dropped). Only `init` creates
    /// the directory; anything else on a missing one is [`RepositoryError::NotInitialized`]
    /// (a mistyped `--repo` leaves nothing behind).
    async fn lock(&self) -> Result<std::fs::File, RepositoryError> {
        if !self.dir.is_dir() {
            return Err(RepositoryError::NotInitialized {
                dir: self.dir.clone(),
            });
        }
        let dir = self.dir.clone();
        let path = dir.join(".lock");
        let held = tokio::task::spawn_blocking(move || {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            file.lock()?;
            Ok::<_, std::io::Error>(file)
        })
        .await
        .map_err(|e| RepositoryError::Io {
            action: "lock",
            path: self.dir.join(".lock"),
            source: std::io::Error::other(e),
        })?;
        held.map_err(io("lock", &self.dir.join(".lock")))
    }

    /// Reads and verifies the current root, timestamp, snapshot and targets.
    fn load_state(&self) -> Result<State, RepositoryError> {
        let mut newest = None;
        for version in 1u64.. {
            let name = format!("{version}.root.json");
            if !self.metadata_dir().join(&name).exists() {
                break;
            }
            newest = Some(name);
        }
        let Some(root_file) = newest else {
            return Err(RepositoryError::NotInitialized {
                dir: self.dir.clone(),
            });
        };
        let root: Signed<Root> = self.read_json(&root_file)?;
        verify(&root.signed, &root, &root_file)?;
        let timestamp: Signed<Timestamp> = self.read_json("timestamp.json")?;
        verify(&root.signed, &timestamp, "timestamp.json")?;
        let snapshot_version = meta_version(&timestamp.signed.meta, "snapshot.json")?;
        let snapshot_file = format!("{snapshot_version}.snapshot.json");
        let snapshot: Signed<Snapshot> = self.read_json(&snapshot_file)?;
        verify(&root.signed, &snapshot, &snapshot_file)?;
        let targets_version = meta_version(&snapshot.signed.meta, "targets.json")?;
        let targets_file = format!("{targets_version}.targets.json");
        let targets: Signed<Targets> = self.read_json(&targets_file)?;
        verify(&root.signed, &targets, &targets_file)?;
        Ok(State {
            root,
            targets,
            timestamp,
        })
    }

    /// Copies `artifact` into a temporary file in `targets/`, hashing as it goes (so what is
    /// published is exactly what was hashed, even if the source changes meanwhile).
    async fn stage_artifact(
        &self,
        artifact: &Path,
    ) -> Result<(PathBuf, [u8; 32], u64), RepositoryError> {
        let source = artifact.to_path_buf();
        let staged = self.targets_dir().join(format!(
            ".staging-{}-{}",
            std::process::id(),
            jiff::Timestamp::now().as_nanosecond()
        ));
        let staged_for_task = staged.clone();
        let copied = tokio::task::spawn_blocking(move || {
            use std::io::{Read, Write};
            let mut input = std::fs::File::open(&source).map_err(io("open", &source))?;
            let mut output = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&staged_for_task)
                .map_err(io("create", &staged_for_task))?;
            let mut hasher = Sha256::new();
            let mut length = 0u64;
            let mut buffer = vec![0u8; 1 << 20];
            loop {
                let n = input.read(&mut buffer).map_err(io("read", &source))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
                output
                    .write_all(&buffer[..n])
                    .map_err(io("write", &staged_for_task))?;
                length += n as u64;
            }
            output.sync_all().map_err(io("sync", &staged_for_task))?;
            if length == 0 {
                return Err(RepositoryError::EmptyArtifact { path: source });
            }
            Ok((<[u8; 32]>::from(hasher.finalize()), length))
        })
        .await
        .map_err(|e| RepositoryError::Io {
            action: "copy",
            path: artifact.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
        match copied {
            Ok((sha256, length)) => Ok((staged, sha256, length)),
            Err(e) => {
                let _ = std::fs::remove_file(&staged);
                Err(e)
            }
        }
    }

    /// Whether `published` may be added: `Ok(true)` when it is there already, byte for byte.
    fn check_publishable(
        &self,
        state: &State,
        spec: &ReleaseSpec,
        published: &PublishedTarget,
        allow_older: bool,
    ) -> Result<bool, RepositoryError> {
        let mut newest: Option<&str> = None;
        for (name, target) in &state.targets.signed.targets {
            let Some((kind, version, arch)) = crate::names::parse_target_name(name.raw()) else {
                continue;
            };
            if kind != spec.kind || arch != spec.arch {
                continue;
            }
            if compare_versions(version, &spec.version).is_eq() {
                if name.raw() == published.target
                    && target.length == published.length
                    && hex(&target.hashes.sha256) == published.sha256_hex
                {
                    return Ok(true);
                }
                return Err(RepositoryError::VersionExists {
                    kind: spec.kind.as_str(),
                    version: spec.version.clone(),
                    arch: spec.arch.clone(),
                    existing: name.raw().to_owned(),
                });
            }
            if newest.is_none_or(|n| compare_versions(version, n).is_gt()) {
                newest = Some(version);
            }
        }
        if let Some(newest) = newest
            && !allow_older
            && compare_versions(&spec.version, newest).is_lt()
        {
            return Err(RepositoryError::OlderThanNewest {
                kind: spec.kind.as_str(),
                version: spec.version.clone(),
                newest: newest.to_owned(),
                arch: spec.arch.clone(),
            });
        }
        Ok(false)
    }

    /// Writes a signed chain: targets, then the snapshot naming it, then the timestamp.
    fn write_chain(&self, chain: &SignedChain) -> Result<(), RepositoryError> {
        self.write_role(
            &chain.targets,
            &chain.targets.signed().signed.filename(true),
        )?;
        self.write_role(
            &chain.snapshot,
            &chain.snapshot.signed().signed.filename(true),
        )?;
        self.write_role(&chain.timestamp, "timestamp.json")
    }

    /// Writes `N.root.json`, then `root.json` (the copy handed to terminals).
    fn write_root(&self, root: &SignedRole<Root>) -> Result<(), RepositoryError> {
        self.write_role(root, &root.signed().signed.filename(true))?;
        self.write_role(root, "root.json")
    }

    fn write_role<T>(&self, role: &SignedRole<T>, name: &str) -> Result<(), RepositoryError>
    where
        T: Role + Serialize,
    {
        let path = self.metadata_dir().join(name);
        fsio::write_atomic(&path, role.buffer(), 0o644).map_err(io("write", &path))
    }

    fn read_json<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, RepositoryError> {
        let path = self.metadata_dir().join(name);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && name == "timestamp.json" => {
                return Err(RepositoryError::NotInitialized {
                    dir: self.dir.clone(),
                });
            }
            Err(source) => {
                return Err(RepositoryError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        serde_json::from_slice(&bytes).map_err(|e| RepositoryError::Damaged {
            file: name.into(),
            detail: e.to_string(),
        })
    }
}

/// Targets with the snapshot and timestamp above it, signed, not yet written.
struct SignedChain {
    targets: SignedRole<Targets>,
    snapshot: SignedRole<Snapshot>,
    timestamp: SignedRole<Timestamp>,
}

/// Signs `targets`, a snapshot naming it and a timestamp naming that, each one version after
/// the previous ones (`previous` timestamp; none for a new repository).
async fn sign_chain(
    root: &Root,
    targets: Targets,
    keys: &PublishKeys,
    lifetimes: &Lifetimes,
    previous: Option<&Signed<Timestamp>>,
) -> Result<SignedChain, RepositoryError> {
    let targets = sign(targets, root, &[&keys.targets], "targets").await?;
    let (snapshot_version, timestamp_version) = match previous {
        Some(timestamp) => (
            next(meta_version(&timestamp.signed.meta, "snapshot.json")?),
            next(timestamp.signed.version),
        ),
        None => (NonZeroU64::MIN, NonZeroU64::MIN),
    };
    let mut snapshot = Snapshot::new(
        SPEC_VERSION.into(),
        snapshot_version,
        expiry(lifetimes.snapshot)?,
    );
    snapshot
        .meta
        .insert("targets.json".into(), metafile(&targets));
    let snapshot = sign(snapshot, root, &[&keys.snapshot], "snapshot").await?;
    let mut timestamp = Timestamp::new(
        SPEC_VERSION.into(),
        timestamp_version,
        expiry(lifetimes.timestamp)?,
    );
    timestamp
        .meta
        .insert("snapshot.json".into(), metafile(&snapshot));
    let timestamp = sign(timestamp, root, &[&keys.timestamp], "timestamp").await?;
    Ok(SignedChain {
        targets,
        snapshot,
        timestamp,
    })
}

/// A root listing one key per role, each with threshold 1.
fn build_root(
    keys: &RoleKeyFiles,
    version: NonZeroU64,
    expires: jiff::Timestamp,
) -> Result<Root, RepositoryError> {
    let roles = [
        ("root", RoleType::Root, &keys.root),
        ("targets", RoleType::Targets, &keys.targets),
        ("snapshot", RoleType::Snapshot, &keys.snapshot),
        ("timestamp", RoleType::Timestamp, &keys.timestamp),
    ];
    let mut ids: Vec<(&'static str, Decoded<Hex>)> = Vec::new();
    let mut root = Root {
        spec_version: SPEC_VERSION.into(),
        consistent_snapshot: true,
        version,
        expires,
        keys: HashMap::new(),
        roles: HashMap::new(),
        _extra: HashMap::new(),
    };
    for (name, role, path) in roles {
        let key = public_key(path)?;
        let id = key.key_id().map_err(|e| RepositoryError::Sign {
            role: name,
            detail: e.to_string(),
        })?;
        if let Some((first, _)) = ids.iter().find(|(_, other)| *other == id) {
            return Err(RepositoryError::SharedKey {
                first,
                second: name,
            });
        }
        ids.push((name, id.clone()));
        root.keys.insert(id.clone(), key);
        root.roles.insert(
            role,
            RoleKeys {
                keyids: vec![id],
                threshold: NonZeroU64::MIN,
                _extra: HashMap::new(),
            },
        );
    }
    Ok(root)
}

/// Signs `role` with the keys in `key_files` that `root` lists for it.
async fn sign<T>(
    role: T,
    root: &Root,
    key_files: &[&Path],
    role_name: &'static str,
) -> Result<SignedRole<T>, RepositoryError>
where
    T: Role + Serialize,
{
    let mut sources: Vec<Box<dyn KeySource>> = Vec::new();
    for path in key_files {
        // Read each key first, so a missing or malformed file is reported as such.
        public_key(path)?;
        sources.push(Box::new(PemKeySource {
            path: path.to_path_buf(),
        }));
    }
    let wrong_key = || RepositoryError::WrongKey {
        role: role_name,
        path: key_files
            .first()
            .map(|p| p.to_path_buf())
            .unwrap_or_default(),
    };
    let signed = SignedRole::new(
        role,
        &KeyHolder::Root(root.clone()),
        &sources,
        &aws_lc_rs::rand::SystemRandom::new(),
    )
    .await
    .map_err(|e| match e {
        tough::error::Error::KeysNotFoundInRoot { .. }
        | tough::error::Error::SigningKeysNotFound { .. } => wrong_key(),
        other => RepositoryError::Sign {
            role: role_name,
            detail: other.to_string(),
        },
    })?;
    // tough does not check a root's threshold when signing it (a rotated root is signed in two
    // steps), so check here that the key given is the one this root lists for the role.
    if signed.signed().signatures.is_empty() {
        return Err(wrong_key());
    }
    Ok(signed)
}

/// Checks that `root` accepts `role`'s signatures (our own files, read back).
fn verify<T: Role + Serialize>(
    root: &Root,
    role: &Signed<T>,
    file: &str,
) -> Result<(), RepositoryError> {
    root.verify_role(role)
        .map_err(|e| RepositoryError::Damaged {
            file: file.into(),
            detail: e.to_string(),
        })
}

/// The version `meta` lists for `file`.
fn meta_version(
    meta: &HashMap<String, tough::schema::Metafile>,
    file: &str,
) -> Result<NonZeroU64, RepositoryError> {
    meta.get(file)
        .map(|m| m.version)
        .ok_or_else(|| RepositoryError::Damaged {
            file: file.into(),
            detail: format!("no entry for {file}"),
        })
}

/// Hash, length and version of a signed role, as the role above it lists them.
fn metafile<T: Role + Serialize>(role: &SignedRole<T>) -> tough::schema::Metafile {
    tough::schema::Metafile {
        length: Some(*role.length()),
        hashes: Some(Hashes {
            sha256: Decoded::from(role.sha256().to_vec()),
            _extra: HashMap::new(),
        }),
        version: role.signed().signed.version(),
        _extra: HashMap::new(),
    }
}

fn next(version: NonZeroU64) -> NonZeroU64 {
    version.saturating_add(1)
}

/// Now plus `lifetime`, in whole seconds (as metadata writes it).
fn expiry(lifetime: Duration) -> Result<jiff::Timestamp, RepositoryError> {
    let secs =
        i64::try_from(lifetime.as_secs()).map_err(|_| RepositoryError::Lifetime(lifetime))?;
    jiff::Timestamp::now()
        .as_second()
        .checked_add(secs)
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .ok_or(RepositoryError::Lifetime(lifetime))
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> RepositoryError {
    let path = path.to_path_buf();
    move |source| RepositoryError::Io {
        action,
        path,
        source,
    }
}
