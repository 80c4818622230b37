//! `kiosk-platform release …`: the signed release repository from the command line (keys,
//! repository creation, publishing, key rotation). The roles and the rotation procedure are
//! described in docs/ARCHITECTURE.md, "Signed releases".

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use kiosk_platform::store::ReleaseRecord;
use kiosk_platform::{DbUrl, Store};
use kiosk_protocol::update::ReleaseKind;
use kiosk_release::keys::generate_key;
use kiosk_release::{Lifetimes, PublishKeys, ReleaseRepository, ReleaseSpec, RoleKeyFiles};

use super::duration::metadata_lifetime;

/// `kiosk-platform release …`.
#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Generate the four role keys (root, targets, snapshot, timestamp) as PEM files in DIR.
    Keygen {
        /// Directory for root.pem, targets.pem, snapshot.pem, timestamp.pem (created, 0700).
        #[arg(long)]
        out: PathBuf,
    },
    /// Create a release repository in DIR, its root listing the four keys.
    Init {
        #[command(flatten)]
        repo: RepoArg,
        #[command(flatten)]
        keys: RoleKeyArgs,
        #[command(flatten)]
        lifetimes: LifetimeArgs,
    },
    /// Publish an artifact as a release and print the published target as JSON.
    Publish {
        #[command(flatten)]
        repo: RepoArg,
        /// The file to publish (the application bundle or the RAUC bundle).
        #[arg(long)]
        artifact: PathBuf,
        /// The release version, e.g. 0.3.0 or 2026.11.1.
        #[arg(long)]
        version: String,
        /// app (the kiosk application) or os (a RAUC system image).
        #[arg(long, value_parser = ["app", "os"])]
        kind: String,
        /// CPU architecture, e.g. x86_64 or aarch64.
        #[arg(long)]
        arch: String,
        /// The release managers' targets key.
        #[arg(long)]
        targets_key: PathBuf,
        /// The online snapshot key.
        #[arg(long)]
        snapshot_key: PathBuf,
        /// The online timestamp key.
        #[arg(long)]
        timestamp_key: PathBuf,
        /// Publish even if a newer version of the same kind and architecture is published.
        #[arg(long)]
        allow_older: bool,
        #[command(flatten)]
        lifetimes: LifetimeArgs,
        /// The platform database the release is recorded in, for rollouts to offer it.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
    /// Write a new root version listing new keys, signed by the current and the new root key,
    /// and re-sign targets, snapshot and timestamp with the keys it lists.
    RotateRoot {
        #[command(flatten)]
        repo: RepoArg,
        /// The current root key (brought from offline storage for the rotation).
        #[arg(long)]
        old_root_key: PathBuf,
        /// The keys the new root lists (each may be new or the current one).
        #[command(flatten)]
        keys: RoleKeyArgs,
        #[command(flatten)]
        lifetimes: LifetimeArgs,
    },
    /// Re-sign targets, snapshot and timestamp without a new release (before the targets
    /// lifetime runs out; publishing does the same).
    Renew {
        #[command(flatten)]
        repo: RepoArg,
        /// The release managers' targets key.
        #[arg(long)]
        targets_key: PathBuf,
        /// The online snapshot key.
        #[arg(long)]
        snapshot_key: PathBuf,
        /// The online timestamp key.
        #[arg(long)]
        timestamp_key: PathBuf,
        #[command(flatten)]
        lifetimes: LifetimeArgs,
    },
    /// Print the TUF key id of a key file (to check which key root metadata lists).
    KeyId {
        /// The PEM key file.
        key: PathBuf,
    },
    /// Re-sign the timestamp now (the server does this by itself with --timestamp-key).
    RefreshTimestamp {
        #[command(flatten)]
        repo: RepoArg,
        /// The online timestamp key.
        #[arg(long)]
        timestamp_key: PathBuf,
        /// How long the new timestamp stays valid: e.g. 12h, 1d.
        #[arg(long, default_value = "1d", value_parser = metadata_lifetime)]
        timestamp_lifetime: Duration,
    },
}

/// `--repo DIR`.
#[derive(Debug, Args)]
pub struct RepoArg {
    /// The release repository's directory.
    #[arg(long)]
    repo: PathBuf,
}

/// The four role keys.
#[derive(Debug, Args)]
pub struct RoleKeyArgs {
    /// The root key (keep it offline).
    #[arg(long)]
    root_key: PathBuf,
    /// The release managers' targets key.
    #[arg(long)]
    targets_key: PathBuf,
    /// The online snapshot key.
    #[arg(long)]
    snapshot_key: PathBuf,
    /// The online timestamp key.
    #[arg(long)]
    timestamp_key: PathBuf,
}

impl RoleKeyArgs {
    fn files(&self) -> RoleKeyFiles {
        RoleKeyFiles {
            root: self.root_key.clone(),
            targets: self.targets_key.clone(),
            snapshot: self.snapshot_key.clone(),
            timestamp: self.timestamp_key.clone(),
        }
    }
}

/// How long newly signed metadata stays valid.
#[derive(Debug, Args)]
pub struct LifetimeArgs {
    /// Root metadata (signed at init and rotations).
    #[arg(long, default_value = "365d", value_parser = metadata_lifetime)]
    root_lifetime: Duration,
    /// Targets metadata (signed at each publish: publish within this time).
    #[arg(long, default_value = "90d", value_parser = metadata_lifetime)]
    targets_lifetime: Duration,
    /// Snapshot metadata (signed at each publish).
    #[arg(long, default_value = "90d", value_parser = metadata_lifetime)]
    snapshot_lifetime: Duration,
    /// Timestamp metadata (the server re-signs it when half has passed).
    #[arg(long, default_value = "1d", value_parser = metadata_lifetime)]
    timestamp_lifetime: Duration,
}

impl LifetimeArgs {
    fn lifetimes(&self) -> Lifetimes {
        Lifetimes {
            root: self.root_lifetime,
            targets: self.targets_lifetime,
            snapshot: self.snapshot_lifetime,
            timestamp: self.timestamp_lifetime,
        }
    }
}

/// Runs one `release` command.
pub fn run(command: ReleaseCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(run_async(command))
}

async fn run_async(command: ReleaseCommand) -> anyhow::Result<()> {
    match command {
        ReleaseCommand::Keygen { out } => keygen(&out),
        ReleaseCommand::Init {
            repo,
            keys,
            lifetimes,
        } => init(&repo.repo, &keys, &lifetimes).await,
        ReleaseCommand::Publish {
            repo,
            artifact,
            version,
            kind,
            arch,
            targets_key,
            snapshot_key,
            timestamp_key,
            allow_older,
            lifetimes,
            db,
        } => {
            let kind = ReleaseKind::parse(&kind).context("--kind must be app or os")?;
            let spec = ReleaseSpec {
                version,
                kind,
                arch,
            };
            let keys = PublishKeys {
                targets: targets_key,
                snapshot: snapshot_key,
                timestamp: timestamp_key,
            };
            let publishing = Publishing {
                artifact: &artifact,
                spec: &spec,
                keys: &keys,
                lifetimes: &lifetimes.lifetimes(),
                allow_older,
            };
            publish(&repo.repo, publishing, &db).await
        }
        ReleaseCommand::RotateRoot {
            repo,
            old_root_key,
            keys,
            lifetimes,
        } => {
            let version = ReleaseRepository::open(&repo.repo)
                .rotate_root(&old_root_key, &keys.files(), &lifetimes.lifetimes())
                .await
                .context("cannot rotate the root")?;
            println!(
                "root version {version} written and cross-signed; terminals follow it at their next check. \
                 Move the old and new root keys back offline."
            );
            Ok(())
        }
        ReleaseCommand::Renew {
            repo,
            targets_key,
            snapshot_key,
            timestamp_key,
            lifetimes,
        } => {
            let keys = PublishKeys {
                targets: targets_key,
                snapshot: snapshot_key,
                timestamp: timestamp_key,
            };
            let status = ReleaseRepository::open(&repo.repo)
                .renew(&keys, &lifetimes.lifetimes())
                .await
                .context("cannot renew the release metadata")?;
            println!(
                "targets, snapshot and timestamp re-signed (timestamp version {})",
                status.version
            );
            Ok(())
        }
        ReleaseCommand::KeyId { key } => {
            println!("{}", kiosk_release::keys::key_id(&key)?);
            Ok(())
        }
        ReleaseCommand::RefreshTimestamp {
            repo,
            timestamp_key,
            timestamp_lifetime,
        } => {
            let status = ReleaseRepository::open(&repo.repo)
                .refresh_timestamp(&timestamp_key, timestamp_lifetime)
                .await
                .context("cannot re-sign the timestamp")?;
            println!(
                "timestamp version {} valid until {}",
                status.version, status.expires
            );
            Ok(())
        }
    }
}

/// `release init`: a new repository whose root lists `keys`.
async fn init(dir: &Path, keys: &RoleKeyArgs, lifetimes: &LifetimeArgs) -> anyhow::Result<()> {
    let repository = ReleaseRepository::init(dir, &keys.files(), &lifetimes.lifetimes())
        .await
        .with_context(|| format!("cannot create a repository in {}", dir.display()))?;
    println!(
        "release repository ready in {}: serve it with `kiosk-platform serve --updates-repo {} --timestamp-key TIMESTAMP.pem`",
        repository.dir().display(),
        repository.dir().display()
    );
    Ok(())
}

/// What `release publish` signs.
struct Publishing<'a> {
    artifact: &'a Path,
    spec: &'a ReleaseSpec,
    keys: &'a PublishKeys,
    lifetimes: &'a Lifetimes,
    allow_older: bool,
}

/// `release publish`: signs the artifact into the repository in `dir`, records it in the
/// database for rollouts, and prints the published target.
async fn publish(dir: &Path, publishing: Publishing<'_>, db: &DbUrl) -> anyhow::Result<()> {
    let Publishing {
        artifact,
        spec,
        keys,
        lifetimes,
        allow_older,
    } = publishing;
    let published = ReleaseRepository::open(dir)
        .publish(artifact, spec, keys, lifetimes, allow_older)
        .await
        .with_context(|| {
            format!(
                "cannot publish {} as {} {}",
                artifact.display(),
                spec.kind.as_str(),
                spec.version
            )
        })?;
    // The signed metadata is the truth; the database row lets rollouts name it. A
    // repeated publish of the same bytes records nothing new.
    let store = Store::open(db).await?;
    store
        .record_release(&ReleaseRecord {
            version: published.version.clone(),
            kind: published.kind,
            arch: published.arch.clone(),
            target: published.target.clone(),
            sha256: published.sha256_hex.clone(),
            length: published.length,
            published_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .context("cannot format the time")?,
        })
        .await
        .context("published and signed, but not recorded for rollouts")?;
    println!("{}", serde_json::to_string_pretty(&published)?);
    Ok(())
}

/// Writes the four role keys into `out`, refusing to touch any existing key.
fn keygen(out: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let roles = ["root", "targets", "snapshot", "timestamp"];
    if !out.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(out)
            .with_context(|| format!("cannot create {}", out.display()))?;
    }
    if let Some(existing) = roles
        .iter()
        .map(|role| out.join(format!("{role}.pem")))
        .find(|path| path.exists())
    {
        anyhow::bail!(
            "{} already exists; keys are never overwritten (choose another --out)",
            existing.display()
        );
    }
    for role in roles {
        let key = generate_key(&out.join(format!("{role}.pem")))?;
        println!("{role:<9} {}  {}", key.key_id, key.path.display());
    }
    println!(
        "\nMove {} off this machine now and keep it offline (it is needed only for `release init` \
         and `release rotate-root`). Give targets.pem to the release managers. snapshot.pem and \
         timestamp.pem stay on the platform.",
        out.join("root.pem").display()
    );
    Ok(())
}
