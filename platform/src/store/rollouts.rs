//! Storage of releases, terminal tags and staged rollouts. The decisions (who is in which group,
//! when the next group starts, when a rollout stops) are [`crate::rollout`]'s; this module
//! reads the counts they need and applies what they decide, each change one conditional
//! statement so that two platform instances evaluating the same rollout cannot both act.

use std::collections::{BTreeMap, HashMap, HashSet};

use kiosk_protocol::{
    MaintenanceWindow, ReleaseKind, UpdateOffer, UpdateReport, UpdateState, is_release_version,
};

use super::sql::{Arg, Row, args};
use super::{Store, StoreError, now_rfc3339};
use crate::rollout::{
    Candidate, Decision, Filter, GroupCounts, Progress, RolloutSpec, RolloutState, SpecError,
    assign_groups, evaluate, format_groups, is_tag, offers, parse_groups, report_allowed,
};

/// One release build: what `kiosk-platform release publish` signed into the TUF metadata.
/// Versions are immutable: a version, kind and architecture names one set of bytes forever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRecord {
    /// Release version (`0.2.0`).
    pub version: String,
    /// Application or system image.
    pub kind: ReleaseKind,
    /// The machine it is built for (`x86_64`, `aarch64`).
    pub arch: String,
    /// The TUF target name terminals fetch.
    pub target: String,
    /// SHA-256 of the target, lowercase hex.
    pub sha256: String,
    /// Length of the target in bytes.
    pub length: u64,
    /// When it was published (RFC 3339).
    pub published_at: String,
}

impl ReleaseRecord {
    /// Checks every field's format.
    pub fn validate(&self) -> Result<(), ReleaseError> {
        if !is_release_version(&self.version) {
            return Err(ReleaseError::Version(self.version.clone()));
        }
        if !(1..=32).contains(&self.arch.len())
            || !self
                .arch
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(ReleaseError::Arch(self.arch.clone()));
        }
        if !(1..=255).contains(&self.target.len()) || self.target.chars().any(char::is_control) {
            return Err(ReleaseError::Target);
        }
        if self.sha256.len() != 64
            || !self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(ReleaseError::Sha256);
        }
        if self.length == 0 || i64::try_from(self.length).is_err() {
            return Err(ReleaseError::Length);
        }
        Ok(())
    }
}

/// Which field of a [`ReleaseRecord`] is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    /// The version is not a release version.
    #[error("version `{0}`: 1 to 32 of 0-9 a-z . -, starting with a digit")]
    Version(String),
    /// The architecture name is malformed.
    #[error("arch `{0}`: 1 to 32 of a-z 0-9 _")]
    Arch(String),
    /// The target name is empty, too long or holds control characters.
    #[error("target: 1 to 255 characters without control characters")]
    Target,
    /// The hash is not lowercase hex SHA-256.
    #[error("sha256: 64 lowercase hex digits")]
    Sha256,
    /// The length is zero or beyond what the database holds.
    #[error("length: at least one byte")]
    Length,
}

/// Why a rollout cannot be started or changed.
#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    /// The rollout's description is invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// No release of this version and kind was published.
    #[error(
        "no {kind} release {version} has been published (publish it first: kiosk-platform release publish)"
    )]
    UnknownRelease {
        /// The version asked for.
        version: String,
        /// Its kind.
        kind: &'static str,
    },
    /// No enrolled terminal matches the filter.
    #[error("no enrolled terminal matches ({0})")]
    NoTerminals(String),
    /// Some matching terminals are held by another rollout of the same kind.
    #[error(
        "{terminals} of the matching terminals are in {kind} rollout #{rollout_id}, still {state}: finish, cancel or narrow it first"
    )]
    Overlap {
        /// The other rollout.
        rollout_id: i64,
        /// Its state.
        state: &'static str,
        /// Its kind.
        kind: &'static str,
        /// How many terminals both would hold.
        terminals: usize,
    },
    /// Another start of a rollout of this kind held the claim for too long.
    #[error("another {0} rollout is being started; try again in a moment")]
    Busy(&'static str),
    /// No such rollout.
    #[error("no rollout #{0}")]
    UnknownRollout(i64),
    /// The rollout is not in a state this change applies to.
    #[error("rollout #{id} is {state}; only a {wanted} rollout can be {verb}")]
    WrongState {
        /// The rollout.
        id: i64,
        /// Its state.
        state: &'static str,
        /// The state the change needs.
        wanted: &'static str,
        /// The change.
        verb: &'static str,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A rollout as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutRow {
    /// Its id (what terminals echo in reports).
    pub id: i64,
    /// The release version.
    pub version: String,
    /// Application or system image.
    pub kind: ReleaseKind,
    /// Which terminals it was started for.
    pub filter: Filter,
    /// Cumulative group sizes, percent.
    pub groups: Vec<u8>,
    /// Success threshold, percent.
    pub success_threshold: u8,
    /// Error threshold, percent.
    pub error_threshold: u8,
    /// When terminals may install.
    pub window: Option<MaintenanceWindow>,
    /// Its state.
    pub state: RolloutState,
    /// Why it stopped by itself.
    pub stop_reason: Option<String>,
    /// The newest started group (0-based).
    pub active_group: usize,
    /// Who started it.
    pub created_by: String,
    /// When.
    pub created_at: String,
    /// Last change of state or group.
    pub updated_at: String,
}

/// A rollout with the counts of each of its groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutStatus {
    /// The rollout.
    pub rollout: RolloutRow,
    /// Each group's counts, in order.
    pub groups: Vec<GroupCounts>,
}

impl RolloutStatus {
    /// The status as JSON (for `rollout status --json`).
    pub fn to_json(&self) -> serde_json::Value {
        let r = &self.rollout;
        serde_json::json!({
            "id": r.id,
            "version": r.version,
            "kind": r.kind.as_str(),
            "state": r.state.as_str(),
            "stop_reason": r.stop_reason,
            "filter": {
                "site": r.filter.site,
                "from_version": r.filter.from_version,
                "tag": r.filter.tag,
            },
            "success_threshold": r.success_threshold,
            "error_threshold": r.error_threshold,
            "window": r.window.map(|w| w.to_string()),
            "active_group": r.active_group + 1,
            "created_by": r.created_by,
            "created_at": r.created_at,
            "updated_at": r.updated_at,
            "groups": self.groups.iter().zip(&r.groups).enumerate().map(|(i, (g, percent))| serde_json::json!({
                "group": i + 1,
                "percent": percent,
                "started": i <= r.active_group,
                "size": g.size,
                "offered": g.offered,
                "downloading": g.downloading,
                "installing": g.installing,
                "committed": g.committed,
                "rolled_back": g.rolled_back,
                "failed": g.failed,
            })).collect::<Vec<_>>(),
        })
    }
}

/// How long a claim to start a rollout holds before another start may take it over (the
/// claimer crashed).
const START_CLAIM_SECS: i64 = 60;

/// What became of an update report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportOutcome {
    /// Recorded (and the rollout evaluated).
    Recorded,
    /// The terminal's update already stands there: nothing changed.
    Unchanged,
    /// No such rollout.
    UnknownRollout,
    /// The rollout does not include this terminal.
    NotMember,
    /// The rollout is for another version.
    WrongVersion(String),
    /// The terminal's group has not started: it was never offered the release.
    NotOffered,
    /// The terminal's update already ended in this final state.
    AlreadyFinal(UpdateState),
}

/// `SELECT` of every column [`rollout_row`] reads, followed by `$tail`.
macro_rules! select_rollouts {
    ($tail:literal) => {
        concat!(
            "SELECT id, version, kind, filter_site, filter_version, filter_tag, groups_spec, ",
            "success_threshold, error_threshold, window_spec, state, stop_reason, active_group, ",
            "created_by, created_at, updated_at FROM rollouts ",
            $tail
        )
    };
}

fn damaged(what: String) -> StoreError {
    StoreError::Task(format!("stored rollout is damaged: {what}"))
}

fn percent(row: &Row, i: usize) -> Result<u8, StoreError> {
    u8::try_from(row.int(i)?).map_err(|_| damaged(format!("column {i} is not a percentage")))
}

fn rollout_row(row: &Row) -> Result<RolloutRow, StoreError> {
    let kind = row.text(2)?;
    let state = row.text(10)?;
    Ok(RolloutRow {
        id: row.int(0)?,
        version: row.text(1)?,
        kind: ReleaseKind::parse(&kind).ok_or_else(|| damaged(format!("kind {kind}")))?,
        filter: Filter {
            site: row.opt_text(3)?,
            from_version: row.opt_text(4)?,
            tag: row.opt_text(5)?,
        },
        groups: parse_groups(&row.text(6)?).map_err(|e| damaged(e.to_string()))?,
        success_threshold: percent(row, 7)?,
        error_threshold: percent(row, 8)?,
        window: row
            .opt_text(9)?
            .map(|w| MaintenanceWindow::parse(&w).map_err(|e| damaged(e.to_string())))
            .transpose()?,
        state: RolloutState::parse(&state).ok_or_else(|| damaged(format!("state {state}")))?,
        stop_reason: row.opt_text(11)?,
        active_group: usize::try_from(row.int(12)?).unwrap_or(0),
        created_by: row.text(13)?,
        created_at: row.text(14)?,
        updated_at: row.text(15)?,
    })
}

fn update_state(stored: Option<String>) -> Result<Option<UpdateState>, StoreError> {
    stored
        .map(|s| UpdateState::parse(&s).ok_or_else(|| damaged(format!("update state {s}"))))
        .transpose()
}

/// The version of `kind` a stored heartbeat says the terminal runs.
fn heartbeat_version(heartbeat: Option<&str>, kind: ReleaseKind) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(heartbeat?).ok()?;
    value["versions"][kind.as_str()].as_str().map(str::to_owned)
}

impl Store {
    /// Records a published release. Recording the same release again changes nothing; a
    /// different hash or length for a version, kind and architecture already recorded is
    /// refused: versions are immutable, and terminals trust a version to name one set of bytes.
    pub async fn record_release(&self, release: &ReleaseRecord) -> Result<(), StoreError> {
        release.validate()?;
        let length = i64::try_from(release.length).map_err(|_| ReleaseError::Length)?;
        let kind = release.kind.as_str();
        self.exec(
            "INSERT INTO releases (version, kind, arch, target, sha256, length, published_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (version, kind, arch) DO NOTHING",
            args![
                release.version.as_str(),
                kind,
                release.arch.as_str(),
                release.target.as_str(),
                release.sha256.as_str(),
                length,
                release.published_at.as_str()
            ],
        )
        .await?;
        let stored = self
            .rows(
                "SELECT sha256, length FROM releases WHERE version = $1 AND kind = $2 AND arch = $3",
                args![release.version.as_str(), kind, release.arch.as_str()],
            )
            .await?;
        let row = stored
            .first()
            .ok_or_else(|| StoreError::Task("the release row vanished".into()))?;
        if row.text(0)? != release.sha256 || row.int(1)? != length {
            return Err(StoreError::ReleaseImmutable {
                version: release.version.clone(),
                kind,
                arch: release.arch.clone(),
            });
        }
        Ok(())
    }

    /// Every recorded release, newest publication first.
    pub async fn releases(&self) -> Result<Vec<ReleaseRecord>, StoreError> {
        self.rows(
            "SELECT version, kind, arch, target, sha256, length, published_at FROM releases
             ORDER BY published_at DESC, version DESC, kind, arch",
            args![],
        )
        .await?
        .iter()
        .map(|r| {
            let kind = r.text(1)?;
            Ok(ReleaseRecord {
                version: r.text(0)?,
                kind: ReleaseKind::parse(&kind)
                    .ok_or_else(|| StoreError::Task(format!("stored release kind {kind}")))?,
                arch: r.text(2)?,
                target: r.text(3)?,
                sha256: r.text(4)?,
                length: u64::try_from(r.int(5)?).unwrap_or(0),
                published_at: r.text(6)?,
            })
        })
        .collect()
    }

    /// A terminal's tags, sorted.
    pub async fn terminal_tags(&self, terminal_id: &str) -> Result<Vec<String>, StoreError> {
        self.rows(
            "SELECT tag FROM terminal_tags WHERE terminal_id = $1 ORDER BY tag",
            args![terminal_id],
        )
        .await?
        .iter()
        .map(|r| r.text(0))
        .collect()
    }

    /// Adds and removes tags of a terminal (in one transaction); its tags afterwards.
    pub async fn tag_terminal(
        &self,
        terminal_id: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<Vec<String>, StoreError> {
        if let Some(bad) = add.iter().chain(remove).find(|t| !is_tag(t)) {
            return Err(StoreError::InvalidTag(bad.clone()));
        }
        let known = self
            .rows("SELECT id FROM terminals WHERE id = $1", args![terminal_id])
            .await?;
        if known.is_empty() {
            return Err(StoreError::UnknownTerminal);
        }
        let mut statements: Vec<(&'static str, Vec<Arg>)> = Vec::new();
        for tag in add {
            statements.push((
                "INSERT INTO terminal_tags (terminal_id, tag) VALUES ($1, $2)
                 ON CONFLICT (terminal_id, tag) DO NOTHING",
                args![terminal_id, tag.as_str()],
            ));
        }
        for tag in remove {
            statements.push((
                "DELETE FROM terminal_tags WHERE terminal_id = $1 AND tag = $2",
                args![terminal_id, tag.as_str()],
            ));
        }
        self.exec_all(statements).await?;
        self.terminal_tags(terminal_id).await
    }

    /// Starts a rollout of a published release; its id.
    ///
    /// Its terminals are fixed now: those enrolled terminals that match the filter (by the
    /// versions of their last heartbeat), split into groups by [`assign_groups`]. A terminal
    /// already running the release counts as committed. Starting is refused when a matching
    /// terminal is held by another running or paused rollout of the same kind: one rollout
    /// per kind decides what a terminal should run.
    pub async fn start_rollout(
        &self,
        spec: &RolloutSpec,
        created_by: &str,
    ) -> Result<i64, RolloutError> {
        spec.validate()?;
        let kind = spec.kind.as_str();
        // Checking for overlap and recording the members must not interleave with another
        // start of the same kind (another operator, another instance): starts of one kind take
        // turns through a claim row. A claim left by a crashed process expires after a minute.
        let holder = super::random_hex(8)?;
        let mut waited = 0;
        loop {
            let now = super::unix_now();
            let claimed = self
                .exec(
                    "INSERT INTO rollout_start_locks (kind, holder, claimed_at) VALUES ($1, $2, $3)
                     ON CONFLICT (kind) DO UPDATE SET holder = excluded.holder, claimed_at = excluded.claimed_at
                     WHERE rollout_start_locks.claimed_at < $4",
                    args![kind, holder.as_str(), now, now - START_CLAIM_SECS],
                )
                .await?;
            if claimed == 1 {
                break;
            }
            if waited >= 100 {
                return Err(RolloutError::Busy(kind));
            }
            waited += 1;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let started = self.start_claimed(spec, created_by).await;
        if let Err(e) = self
            .exec(
                "DELETE FROM rollout_start_locks WHERE kind = $1 AND holder = $2",
                args![kind, holder.as_str()],
            )
            .await
        {
            // The claim expires by itself; the start's own outcome is what the caller needs.
            tracing::warn!(error = %e, kind, "the claim to start rollouts was not released");
        }
        started
    }

    /// [`Store::start_rollout`] once its claim is held.
    async fn start_claimed(
        &self,
        spec: &RolloutSpec,
        created_by: &str,
    ) -> Result<i64, RolloutError> {
        let kind = spec.kind.as_str();
        let published = self
            .rows(
                "SELECT 1 FROM releases WHERE version = $1 AND kind = $2",
                args![spec.version.as_str(), kind],
            )
            .await?;
        if published.is_empty() {
            return Err(RolloutError::UnknownRelease {
                version: spec.version.clone(),
                kind,
            });
        }
        let matching = self.matching_terminals(spec).await?;
        self.refuse_overlap(kind, &matching).await?;
        let now = now_rfc3339();
        let id = self
            .rows(
                "INSERT INTO rollouts (version, kind, filter_site, filter_version, filter_tag, groups_spec,
                     success_threshold, error_threshold, window_spec, state, active_group, created_by, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'running', 0, $10, $11, $11) RETURNING id",
                args![
                    spec.version.as_str(),
                    kind,
                    spec.filter.site.clone(),
                    spec.filter.from_version.clone(),
                    spec.filter.tag.clone(),
                    format_groups(&spec.groups),
                    i64::from(spec.success_threshold),
                    i64::from(spec.error_threshold),
                    spec.window.map(|w| w.to_string()),
                    created_by,
                    now.as_str()
                ],
            )
            .await?
            .first()
            .ok_or_else(|| StoreError::Task("the new rollout has no id".into()))?
            .int(0)?;
        if let Err(e) = self.record_members(id, spec, &matching, &now).await {
            // The rollout has no terminals: make sure it never counts as holding any.
            let _ = self
                .exec(
                    "UPDATE rollouts SET state = 'cancelled', stop_reason = 'its terminals could not be recorded' WHERE id = $1",
                    args![id],
                )
                .await;
            return Err(e.into());
        }
        self.evaluate_rollout(id).await?;
        Ok(id)
    }

    /// The enrolled terminals `spec`'s filter matches, by the versions of their last
    /// heartbeat, their site and their tags.
    async fn matching_terminals(&self, spec: &RolloutSpec) -> Result<Vec<Candidate>, RolloutError> {
        // Heartbeats buffered by the SQLite engine carry the versions the filter reads.
        self.flush().await?;
        let mut tags: HashMap<String, Vec<String>> = HashMap::new();
        for row in self
            .rows("SELECT terminal_id, tag FROM terminal_tags", args![])
            .await?
        {
            tags.entry(row.text(0)?).or_default().push(row.text(1)?);
        }
        let mut matching = Vec::new();
        for row in self
            .rows(
                "SELECT id, site, heartbeat FROM terminals ORDER BY id",
                args![],
            )
            .await?
        {
            let id = row.text(0)?;
            let candidate = Candidate {
                tags: tags.remove(&id).unwrap_or_default(),
                site: row.opt_text(1)?,
                version: heartbeat_version(row.opt_text(2)?.as_deref(), spec.kind),
                id,
            };
            if spec.filter.matches(&candidate) {
                matching.push(candidate);
            }
        }
        if matching.is_empty() {
            return Err(RolloutError::NoTerminals(spec.filter.describe()));
        }
        Ok(matching)
    }

    /// Refuses a start when any of `matching` is held by a running or paused rollout of the
    /// same kind (naming the oldest such rollout).
    async fn refuse_overlap(
        &self,
        kind: &'static str,
        matching: &[Candidate],
    ) -> Result<(), RolloutError> {
        let held = self
            .rows(
                "SELECT rt.terminal_id, r.id, r.state FROM rollout_terminals rt JOIN rollouts r ON r.id = rt.rollout_id
                 WHERE r.kind = $1 AND r.state IN ('running', 'paused') ORDER BY r.id",
                args![kind],
            )
            .await?;
        let ids: HashSet<&str> = matching.iter().map(|c| c.id.as_str()).collect();
        let mut overlap: Option<(i64, String)> = None;
        let mut overlapping = 0;
        for row in &held {
            if ids.contains(row.text(0)?.as_str()) {
                overlapping += 1;
                if overlap.is_none() {
                    overlap = Some((row.int(1)?, row.text(2)?));
                }
            }
        }
        match overlap {
            Some((rollout_id, state)) => Err(RolloutError::Overlap {
                rollout_id,
                state: RolloutState::parse(&state).map_or("active", RolloutState::as_str),
                kind,
                terminals: overlapping,
            }),
            None => Ok(()),
        }
    }

    /// Records the members of rollout `id`, each in its group (in one transaction); a terminal
    /// already running the release counts as committed.
    async fn record_members(
        &self,
        id: i64,
        spec: &RolloutSpec,
        matching: &[Candidate],
        now: &str,
    ) -> Result<(), StoreError> {
        let versions: HashMap<&str, Option<&str>> = matching
            .iter()
            .map(|c| (c.id.as_str(), c.version.as_deref()))
            .collect();
        let member_ids: Vec<String> = matching.iter().map(|c| c.id.clone()).collect();
        let mut statements: Vec<(&'static str, Vec<Arg>)> = Vec::new();
        for (terminal_id, group) in assign_groups(id, &member_ids, &spec.groups) {
            let already = versions.get(terminal_id.as_str()).copied().flatten()
                == Some(spec.version.as_str());
            let (state, detail) = if already {
                (Some("committed"), "already running this release")
            } else {
                (None, "")
            };
            statements.push((
                "INSERT INTO rollout_terminals (rollout_id, terminal_id, group_no, state, detail, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                args![
                    id,
                    terminal_id,
                    i64::try_from(group).unwrap_or(i64::MAX),
                    state,
                    detail,
                    now
                ],
            ));
        }
        self.exec_all(statements).await
    }

    /// Every rollout, newest first (at most 200).
    pub async fn rollouts(&self) -> Result<Vec<RolloutRow>, StoreError> {
        self.rows(select_rollouts!("ORDER BY id DESC LIMIT 200"), args![])
            .await?
            .iter()
            .map(rollout_row)
            .collect()
    }

    /// One rollout.
    pub async fn rollout(&self, id: i64) -> Result<Option<RolloutRow>, StoreError> {
        self.rows(select_rollouts!("WHERE id = $1"), args![id])
            .await?
            .first()
            .map(rollout_row)
            .transpose()
    }

    /// One rollout with its groups' counts.
    pub async fn rollout_status(&self, id: i64) -> Result<Option<RolloutStatus>, StoreError> {
        let Some(rollout) = self.rollout(id).await? else {
            return Ok(None);
        };
        let groups = self.group_counts(id, rollout.groups.len()).await?;
        Ok(Some(RolloutStatus { rollout, groups }))
    }

    async fn group_counts(&self, id: i64, groups: usize) -> Result<Vec<GroupCounts>, StoreError> {
        let mut counts = vec![GroupCounts::default(); groups];
        // Counted by the database: every heartbeat of a member evaluates its rollout, and a
        // rollout may hold thousands of terminals.
        let rows = self
            .rows(
                "SELECT group_no, state, CASE WHEN offered_at IS NULL THEN 0 ELSE 1 END, COUNT(*)
                 FROM rollout_terminals WHERE rollout_id = $1
                 GROUP BY group_no, state, CASE WHEN offered_at IS NULL THEN 0 ELSE 1 END",
                args![id],
            )
            .await?;
        for row in &rows {
            let group = usize::try_from(row.int(0)?).unwrap_or(usize::MAX);
            let state = update_state(row.opt_text(1)?)?;
            let offered = row.int(2)? == 1;
            let n = u64::try_from(row.int(3)?).unwrap_or(0);
            if let Some(counts) = counts.get_mut(group) {
                counts.add(state, offered, n);
            } else {
                return Err(damaged(format!(
                    "rollout #{id} has a terminal in group {group}"
                )));
            }
        }
        Ok(counts)
    }

    /// Evaluates a rollout (see [`crate::rollout::evaluate`]) and applies the decision; its
    /// state and newest started group afterwards.
    pub(crate) async fn evaluate_rollout(
        &self,
        id: i64,
    ) -> Result<Option<(RolloutState, usize)>, StoreError> {
        let Some(status) = self.rollout_status(id).await? else {
            return Ok(None);
        };
        let r = &status.rollout;
        let decision = evaluate(&Progress {
            state: r.state,
            active_group: r.active_group,
            groups: status.groups.clone(),
            success_threshold: r.success_threshold,
            error_threshold: r.error_threshold,
        });
        let now = now_rfc3339();
        let changed = match &decision {
            Decision::Keep => return Ok(Some((r.state, r.active_group))),
            Decision::Advance(group) => {
                self.exec(
                    "UPDATE rollouts SET active_group = $2, updated_at = $3
                     WHERE id = $1 AND state = 'running' AND active_group < $2",
                    args![id, i64::try_from(*group).unwrap_or(0), now.as_str()],
                )
                .await?
            }
            Decision::Finish => {
                self.exec(
                    "UPDATE rollouts SET state = 'finished', active_group = $2, updated_at = $3
                     WHERE id = $1 AND state = 'running'",
                    args![
                        id,
                        i64::try_from(r.groups.len().saturating_sub(1)).unwrap_or(0),
                        now.as_str()
                    ],
                )
                .await?
            }
            Decision::Stop(reason) => {
                self.exec(
                    "UPDATE rollouts SET state = 'stopped', stop_reason = $2, updated_at = $3
                     WHERE id = $1 AND state IN ('running', 'paused')",
                    args![id, reason.as_str(), now.as_str()],
                )
                .await?
            }
        };
        if changed == 1 {
            tracing::info!(rollout = id, decision = ?decision, "rollout moved on");
            // What the platform decided by itself belongs in the audit log beside what
            // operators did.
            let entry = match &decision {
                Decision::Stop(reason) => Some(("rollout_stop", format!("#{id}: {reason}"))),
                Decision::Finish => Some(("rollout_finish", format!("#{id}"))),
                _ => None,
            };
            if let Some((action, detail)) = entry {
                self.audit("platform", action, &detail).await?;
            }
        }
        Ok(self
            .rollout(id)
            .await?
            .map(|row| (row.state, row.active_group)))
    }

    /// Moves a rollout from `from` to `to` (pause, resume, cancel); the rollout afterwards.
    /// A rollout already there is refused too, with its state: the operator learns that
    /// someone else acted first.
    async fn change_rollout(
        &self,
        id: i64,
        from: &'static [RolloutState],
        to: RolloutState,
        verb: &'static str,
    ) -> Result<RolloutRow, RolloutError> {
        let sql = match to {
            RolloutState::Paused => {
                "UPDATE rollouts SET state = 'paused', updated_at = $2 WHERE id = $1 AND state = 'running'"
            }
            RolloutState::Running => {
                "UPDATE rollouts SET state = 'running', updated_at = $2 WHERE id = $1 AND state = 'paused'"
            }
            _ => {
                "UPDATE rollouts SET state = 'cancelled', updated_at = $2 WHERE id = $1 AND state IN ('running', 'paused')"
            }
        };
        let changed = self.exec(sql, args![id, now_rfc3339()]).await?;
        let Some(row) = self.rollout(id).await? else {
            return Err(RolloutError::UnknownRollout(id));
        };
        if changed == 0 {
            return Err(RolloutError::WrongState {
                id,
                state: row.state.as_str(),
                wanted: if from.len() == 1 {
                    from[0].as_str()
                } else {
                    "running or paused"
                },
                verb,
            });
        }
        if to == RolloutState::Running {
            self.evaluate_rollout(id).await?;
            return self
                .rollout(id)
                .await?
                .ok_or(RolloutError::UnknownRollout(id));
        }
        Ok(row)
    }

    /// Pauses a running rollout: nothing more is offered until it is resumed.
    pub async fn pause_rollout(&self, id: i64) -> Result<RolloutRow, RolloutError> {
        self.change_rollout(id, &[RolloutState::Running], RolloutState::Paused, "paused")
            .await
    }

    /// Resumes a paused rollout (and evaluates it at once).
    pub async fn resume_rollout(&self, id: i64) -> Result<RolloutRow, RolloutError> {
        self.change_rollout(
            id,
            &[RolloutState::Paused],
            RolloutState::Running,
            "resumed",
        )
        .await
    }

    /// Calls off a running or paused rollout for good; its terminals are free for another.
    pub async fn cancel_rollout(&self, id: i64) -> Result<RolloutRow, RolloutError> {
        self.change_rollout(
            id,
            &[RolloutState::Running, RolloutState::Paused],
            RolloutState::Cancelled,
            "cancelled",
        )
        .await
    }

    /// The update to offer a terminal in its heartbeat answer, given the versions it reports.
    ///
    /// Every active rollout holding the terminal is evaluated; a terminal found running a
    /// rollout's release counts as committed for it (it may have rebooted into the release
    /// before its report arrived). The offer is that of the oldest running rollout whose group
    /// started and which this terminal has not finished; it is remembered as offered.
    /// Evaluating on every heartbeat is also what settles a decision two instances both missed
    /// because each counted before the other's report was committed: no timer is needed.
    pub async fn update_offer(
        &self,
        terminal_id: &str,
        versions: &BTreeMap<String, String>,
    ) -> Result<Option<UpdateOffer>, StoreError> {
        let memberships = self
            .rows(
                "SELECT r.id, r.version, r.kind, r.window_spec, rt.group_no, rt.state, rt.offered_at
                 FROM rollout_terminals rt JOIN rollouts r ON r.id = rt.rollout_id
                 WHERE rt.terminal_id = $1 AND r.state IN ('running', 'paused') ORDER BY r.id",
                args![terminal_id],
            )
            .await?;
        let mut offer = None;
        for row in &memberships {
            let id = row.int(0)?;
            let version = row.text(1)?;
            let kind_name = row.text(2)?;
            let kind = ReleaseKind::parse(&kind_name)
                .ok_or_else(|| damaged(format!("kind {kind_name}")))?;
            let group = usize::try_from(row.int(4)?).unwrap_or(usize::MAX);
            let mut state = update_state(row.opt_text(5)?)?;
            if versions.get(kind.as_str()) == Some(&version)
                && !state.is_some_and(UpdateState::is_final)
            {
                // Relaxed, like the heartbeat itself: lost in a power cut, the next heartbeat
                // finds the release running again.
                self.exec_relaxed(
                    "UPDATE rollout_terminals SET state = 'committed', detail = 'running the release (heartbeat)', updated_at = $3
                     WHERE rollout_id = $1 AND terminal_id = $2
                       AND (state IS NULL OR state NOT IN ('committed', 'rolled_back', 'failed'))",
                    args![id, terminal_id, now_rfc3339()],
                )
                .await?;
                state = Some(UpdateState::Committed);
            }
            let Some((rollout_state, active_group)) = self.evaluate_rollout(id).await? else {
                continue;
            };
            if offer.is_none() && offers(rollout_state, active_group, group, state) {
                if row.opt_text(6)?.is_none() {
                    // Only counted for operators; not worth a disk flush per terminal.
                    self.exec_relaxed(
                        "UPDATE rollout_terminals SET offered_at = $3 WHERE rollout_id = $1 AND terminal_id = $2 AND offered_at IS NULL",
                        args![id, terminal_id, now_rfc3339()],
                    )
                    .await?;
                }
                offer = Some(UpdateOffer {
                    rollout_id: id,
                    version,
                    kind,
                    window: row
                        .opt_text(3)?
                        .map(|w| MaintenanceWindow::parse(&w).map_err(|e| damaged(e.to_string())))
                        .transpose()?,
                });
            }
        }
        Ok(offer)
    }

    /// Records a terminal's report on its update and evaluates the rollout.
    ///
    /// Repeating a report changes nothing; a final state (committed, rolled back, failed) is
    /// never left. A rollback or failure is also written to the terminal's event log. Rollout 0
    /// is an update a technician applied by hand: only logged.
    pub async fn record_update_report(
        &self,
        terminal_id: &str,
        report: &UpdateReport,
    ) -> Result<ReportOutcome, StoreError> {
        let state = report.state;
        let detail_suffix = if report.detail.is_empty() {
            String::new()
        } else {
            format!(": {}", report.detail)
        };
        if report.rollout_id == 0 {
            self.add_event(
                terminal_id,
                "update",
                &format!(
                    "{} {} by hand{detail_suffix}",
                    report.version,
                    state.as_str()
                ),
                super::unix_now(),
            )
            .await?;
            return Ok(ReportOutcome::Recorded);
        }
        let Some(rollout) = self.rollout(report.rollout_id).await? else {
            return Ok(ReportOutcome::UnknownRollout);
        };
        let member = self
            .rows(
                "SELECT group_no, state FROM rollout_terminals WHERE rollout_id = $1 AND terminal_id = $2",
                args![report.rollout_id, terminal_id],
            )
            .await?;
        let Some(member) = member.first() else {
            return Ok(ReportOutcome::NotMember);
        };
        if report.version != rollout.version {
            return Ok(ReportOutcome::WrongVersion(rollout.version));
        }
        let group = usize::try_from(member.int(0)?).unwrap_or(usize::MAX);
        let current = update_state(member.opt_text(1)?)?;
        if group > rollout.active_group && current.is_none() {
            return Ok(ReportOutcome::NotOffered);
        }
        if current == Some(state) {
            return Ok(ReportOutcome::Unchanged);
        }
        if let Some(current) = current.filter(|c| !report_allowed(Some(*c), state)) {
            return Ok(ReportOutcome::AlreadyFinal(current));
        }
        // Conditional on the stored state: of two racing reports, a final one stands.
        let changed = self
            .exec(
                "UPDATE rollout_terminals SET state = $3, detail = $4, reported_at = $5, updated_at = $6
                 WHERE rollout_id = $1 AND terminal_id = $2
                   AND (state IS NULL OR state NOT IN ('committed', 'rolled_back', 'failed'))",
                args![
                    report.rollout_id,
                    terminal_id,
                    state.as_str(),
                    report.detail.as_str(),
                    report.at,
                    now_rfc3339()
                ],
            )
            .await?;
        if changed == 0 {
            // Another instance recorded a final state in between.
            let now = self
                .rows(
                    "SELECT state FROM rollout_terminals WHERE rollout_id = $1 AND terminal_id = $2",
                    args![report.rollout_id, terminal_id],
                )
                .await?;
            let now = match now.first() {
                Some(row) => update_state(row.opt_text(0)?)?,
                None => None,
            };
            return Ok(match now {
                Some(s) if s == state => ReportOutcome::Unchanged,
                Some(s) => ReportOutcome::AlreadyFinal(s),
                None => ReportOutcome::NotMember,
            });
        }
        if state.is_final() {
            self.add_event(
                terminal_id,
                "update",
                &format!(
                    "rollout #{} {} {}{detail_suffix}",
                    report.rollout_id,
                    report.version,
                    state.as_str()
                ),
                super::unix_now(),
            )
            .await?;
        }
        self.evaluate_rollout(report.rollout_id).await?;
        Ok(ReportOutcome::Recorded)
    }
}
