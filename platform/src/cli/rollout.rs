//! `kiosk-platform rollout …`: operators start, pause, resume, cancel and watch staged
//! rollouts here; the decisions live in `kiosk_platform::rollout` and the store.

use anyhow::Context;
use clap::Subcommand;
use kiosk_platform::DbUrl;
use kiosk_platform::rollout::{
    DEFAULT_ERROR_THRESHOLD, DEFAULT_SUCCESS_THRESHOLD, Filter, RolloutSpec, parse_groups,
};
use kiosk_platform::store::RolloutStatus;
use kiosk_protocol::{MaintenanceWindow, ReleaseKind};

use super::{block_on, open_with_seed};

#[derive(Subcommand)]
pub enum RolloutCommand {
    /// Start offering a published release to matching terminals, group by group.
    Start {
        /// The release version (must have been published).
        #[arg(long)]
        release: String,
        /// app (the kiosk application) or os (the system image).
        #[arg(long, default_value = "app", value_parser = ["app", "os"])]
        kind: String,
        /// Only terminals of this site.
        #[arg(long)]
        site: Option<String>,
        /// Only terminals now running this version (of the same kind).
        #[arg(long)]
        from_version: Option<String>,
        /// Only terminals carrying this tag (see `terminal tag`).
        #[arg(long)]
        tag: Option<String>,
        /// Cumulative group sizes in percent of the matching terminals, the last 100.
        #[arg(long, default_value = "1,10,100")]
        groups: String,
        /// Percent of a group that must commit before the next group starts.
        #[arg(long, default_value_t = DEFAULT_SUCCESS_THRESHOLD)]
        success_threshold: u8,
        /// Percent of failures among terminals offered so far that stops the rollout.
        #[arg(long, default_value_t = DEFAULT_ERROR_THRESHOLD)]
        error_threshold: u8,
        /// Local hours terminals may install in, e.g. 02:00-05:00 (default: any time).
        #[arg(long)]
        window: Option<String>,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
    /// Stop offering the release for now; reports are still recorded.
    Pause {
        /// The rollout.
        #[arg(long)]
        id: i64,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
    /// Continue a paused rollout.
    Resume {
        /// The rollout.
        #[arg(long)]
        id: i64,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
    /// Call a running or paused rollout off for good (its terminals are free for another).
    Cancel {
        /// The rollout.
        #[arg(long)]
        id: i64,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
    /// Show one rollout (or every rollout) with each group's progress.
    Status {
        /// The rollout (default: all, newest first).
        #[arg(long)]
        id: Option<i64>,
        /// As JSON.
        #[arg(long)]
        json: bool,
        /// Database: sqlite://PATH or postgres://USER:PASSWORD@HOST/DATABASE.
        #[arg(long, default_value = "sqlite://kiosk-platform.db")]
        db: DbUrl,
    },
}

/// Runs one `rollout` subcommand.
pub fn run(command: RolloutCommand) -> anyhow::Result<()> {
    match command {
        RolloutCommand::Start {
            release,
            kind,
            site,
            from_version,
            tag,
            groups,
            success_threshold,
            error_threshold,
            window,
            db,
        } => {
            let kind = ReleaseKind::parse(&kind).context("--kind must be app or os")?;
            let spec = RolloutSpec {
                version: release,
                kind,
                filter: Filter {
                    site,
                    from_version,
                    tag,
                },
                groups: parse_groups(&groups)?,
                success_threshold,
                error_threshold,
                window: window
                    .as_deref()
                    .map(MaintenanceWindow::parse)
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--window: {e}"))?,
            };
            spec.validate()?;
            let status = block_on(async {
                let store = open_with_seed(&db).await?;
                let id = store.start_rollout(&spec, "cli").await?;
                store
                    .audit(
                        "cli",
                        "rollout_start",
                        &format!(
                            "#{id} {} {} to {}",
                            kind.as_str(),
                            spec.version,
                            spec.filter.describe()
                        ),
                    )
                    .await?;
                store
                    .rollout_status(id)
                    .await?
                    .context("the new rollout vanished")
            })?;
            println!("started rollout #{}", status.rollout.id);
            print!("{}", render(&status));
            Ok(())
        }
        RolloutCommand::Pause { id, db } => change(id, &db, "pause"),
        RolloutCommand::Resume { id, db } => change(id, &db, "resume"),
        RolloutCommand::Cancel { id, db } => change(id, &db, "cancel"),
        RolloutCommand::Status { id, json, db } => {
            let statuses = block_on(async {
                let store = open_with_seed(&db).await?;
                let ids: Vec<i64> = match id {
                    Some(id) => vec![id],
                    None => store.rollouts().await?.iter().map(|r| r.id).collect(),
                };
                let mut statuses = Vec::with_capacity(ids.len());
                for id in ids {
                    statuses.push(
                        store
                            .rollout_status(id)
                            .await?
                            .with_context(|| format!("no rollout #{id}"))?,
                    );
                }
                anyhow::Ok(statuses)
            })?;
            if json {
                let value = match (id, statuses.first()) {
                    (Some(_), Some(one)) => one.to_json(),
                    _ => serde_json::Value::Array(
                        statuses.iter().map(RolloutStatus::to_json).collect(),
                    ),
                };
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else if statuses.is_empty() {
                println!("no rollouts");
            } else {
                for status in &statuses {
                    print!("{}", render(status));
                }
            }
            Ok(())
        }
    }
}

/// Pauses, resumes or cancels a rollout and says where it stands.
fn change(id: i64, db: &DbUrl, verb: &str) -> anyhow::Result<()> {
    let row = block_on(async {
        let store = open_with_seed(db).await?;
        let row = match verb {
            "pause" => store.pause_rollout(id).await?,
            "resume" => store.resume_rollout(id).await?,
            _ => store.cancel_rollout(id).await?,
        };
        store
            .audit("cli", &format!("rollout_{verb}"), &format!("#{id}"))
            .await?;
        anyhow::Ok(row)
    })?;
    println!("rollout #{id} is {}", row.state.as_str());
    Ok(())
}

/// A rollout and its groups as text.
fn render(status: &RolloutStatus) -> String {
    let r = &status.rollout;
    let mut out = format!(
        "rollout #{}: {} {} · {} · {} · groups {} · success {}% · error {}% · window {}\n",
        r.id,
        r.kind.as_str(),
        r.version,
        r.state.as_str(),
        r.filter.describe(),
        kiosk_platform::rollout::format_groups(&r.groups),
        r.success_threshold,
        r.error_threshold,
        r.window.map_or("any time".into(), |w| w.to_string()),
    );
    if let Some(reason) = &r.stop_reason {
        out.push_str(&format!("  stopped because: {reason}\n"));
    }
    out.push_str(
        "  group  percent  started  size  offered  downloading  installing  committed  failed (rolled back)\n",
    );
    for (i, (g, percent)) in status.groups.iter().zip(&r.groups).enumerate() {
        out.push_str(&format!(
            "  {:<5}  {:>6}%  {:<7}  {:>4}  {:>7}  {:>11}  {:>10}  {:>9}  {:>6} ({})\n",
            i + 1,
            percent,
            if i <= r.active_group { "yes" } else { "no" },
            g.size,
            g.offered,
            g.downloading,
            g.installing,
            g.committed,
            g.failures(),
            g.rolled_back,
        ));
    }
    out
}
