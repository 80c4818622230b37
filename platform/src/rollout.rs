//! Staged rollouts of a release, as pure decisions: no I/O, no clock, no database.
//!
//! A rollout asks the terminals that match its [`Filter`] to run one release. Which terminals
//! belong to it is fixed when it starts: they are ordered by a stable hash of (rollout id,
//! terminal id) — so a canary is a fair sample, not the first terminals ever enrolled — and split
//! into cumulative groups (`1,10,100`: the first 1 % of them, then up to 10 %, then the rest).
//! The first group is offered the release at once; each later group starts when the share of
//! the group before it that committed reaches the success threshold. Failures (rolled back or
//! failed) over every terminal offered so far passing the error threshold stop the whole rollout,
//! and nothing more is offered. The store evaluates a rollout with [`evaluate`] after each report
//! and heartbeat of one of its terminals; there is no timer.

use kiosk_protocol::{MaintenanceWindow, ReleaseKind, UpdateState, is_release_version};
use sha2::{Digest, Sha256};

/// Default cumulative group sizes, in percent of the rollout's terminals.
pub const DEFAULT_GROUPS: &[u8] = &[1, 10, 100];
/// Default share of a group that must commit before the next group starts, in percent.
pub const DEFAULT_SUCCESS_THRESHOLD: u8 = 95;
/// Default share of failures among the terminals offered so far that stops a rollout, in percent.
pub const DEFAULT_ERROR_THRESHOLD: u8 = 5;
/// Most groups a rollout may have (each needs at least one terminal).
pub const MAX_GROUPS: usize = 10;

/// Why a rollout cannot be described this way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The group list is not increasing percentages ending at 100.
    #[error(
        "groups: 1 to {MAX_GROUPS} increasing percentages from 1 to 100, the last one 100 (e.g. 1,10,100); got `{0}`"
    )]
    Groups(String),
    /// A threshold is out of range.
    #[error("{0}")]
    Threshold(String),
    /// The version is not a release version.
    #[error("release version `{0}`: 1 to 32 of 0-9 a-z . -, starting with a digit")]
    Version(String),
    /// A filter value is not a site, version or tag.
    #[error("{0}")]
    Filter(String),
}

/// Parses cumulative group percentages such as `1,10,100`.
pub fn parse_groups(text: &str) -> Result<Vec<u8>, SpecError> {
    let bad = || SpecError::Groups(text.to_owned());
    let groups: Vec<u8> = text
        .split(',')
        .map(|part| part.trim().parse::<u8>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    let increasing = groups.windows(2).all(|pair| pair[0] < pair[1]);
    if groups.is_empty()
        || groups.len() > MAX_GROUPS
        || !increasing
        || groups.first().is_some_and(|&g| g == 0)
        || groups.last() != Some(&100)
    {
        return Err(bad());
    }
    Ok(groups)
}

/// Renders group percentages the way [`parse_groups`] reads them.
pub fn format_groups(groups: &[u8]) -> String {
    groups
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A tag: 1 to 32 of `a-z 0-9 - _ .` (`pilot`, `bank-branch`).
pub fn is_tag(tag: &str) -> bool {
    (1..=32).contains(&tag.len())
        && tag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}

/// Which terminals a rollout is for; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only terminals of this site.
    pub site: Option<String>,
    /// Only terminals now running this version (of the rollout's kind).
    pub from_version: Option<String>,
    /// Only terminals carrying this tag.
    pub tag: Option<String>,
}

impl Filter {
    /// Checks each condition's format.
    pub fn validate(&self) -> Result<(), SpecError> {
        if let Some(site) = &self.site
            && (site.is_empty() || site.chars().count() > 64 || site.chars().any(char::is_control))
        {
            return Err(SpecError::Filter(
                "site: 1 to 64 characters without control characters".into(),
            ));
        }
        if let Some(version) = &self.from_version
            && !is_release_version(version)
        {
            return Err(SpecError::Filter(format!(
                "from-version `{version}`: 1 to 32 of 0-9 a-z . -, starting with a digit"
            )));
        }
        if let Some(tag) = &self.tag
            && !is_tag(tag)
        {
            return Err(SpecError::Filter(format!(
                "tag `{tag}`: 1 to 32 of a-z 0-9 - _ ."
            )));
        }
        Ok(())
    }

    /// Whether `terminal` is one this filter picks.
    pub fn matches(&self, terminal: &Candidate) -> bool {
        self.site
            .as_ref()
            .is_none_or(|site| terminal.site.as_ref() == Some(site))
            && self
                .from_version
                .as_ref()
                .is_none_or(|version| terminal.version.as_ref() == Some(version))
            && self
                .tag
                .as_ref()
                .is_none_or(|tag| terminal.tags.contains(tag))
    }

    /// The conditions for people: `site haizhou, tag pilot` or `all terminals`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(site) = &self.site {
            parts.push(format!("site {site}"));
        }
        if let Some(version) = &self.from_version {
            parts.push(format!("from version {version}"));
        }
        if let Some(tag) = &self.tag {
            parts.push(format!("tag {tag}"));
        }
        if parts.is_empty() {
            "all terminals".into()
        } else {
            parts.join(", ")
        }
    }
}

/// What a rollout knows of a terminal when it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Candidate {
    /// Terminal id.
    pub id: String,
    /// Its site.
    pub site: Option<String>,
    /// The version of the rollout's kind it last reported running (`versions["app"]` or
    /// `versions["os"]` of its last heartbeat).
    pub version: Option<String>,
    /// Its tags.
    pub tags: Vec<String>,
}

/// Everything an operator chooses when starting a rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutSpec {
    /// The release version to run.
    pub version: String,
    /// Application or system image.
    pub kind: ReleaseKind,
    /// Which terminals.
    pub filter: Filter,
    /// Cumulative group sizes in percent, the last one 100.
    pub groups: Vec<u8>,
    /// Share of a group (percent) that must commit for the next group to start.
    pub success_threshold: u8,
    /// Share of failures (percent) among terminals offered so far that stops the rollout.
    pub error_threshold: u8,
    /// When terminals may install.
    pub window: Option<MaintenanceWindow>,
}

impl RolloutSpec {
    /// A rollout of `version` with the defaults: every terminal, groups 1,10,100, 95 % / 5 %.
    pub fn new(version: &str, kind: ReleaseKind) -> Self {
        Self {
            version: version.to_owned(),
            kind,
            filter: Filter::default(),
            groups: DEFAULT_GROUPS.to_vec(),
            success_threshold: DEFAULT_SUCCESS_THRESHOLD,
            error_threshold: DEFAULT_ERROR_THRESHOLD,
            window: None,
        }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), SpecError> {
        if !is_release_version(&self.version) {
            return Err(SpecError::Version(self.version.clone()));
        }
        parse_groups(&format_groups(&self.groups))?;
        if !(1..=100).contains(&self.success_threshold) {
            return Err(SpecError::Threshold(
                "success threshold: 1 to 100 percent".into(),
            ));
        }
        if self.error_threshold > 100 {
            return Err(SpecError::Threshold(
                "error threshold: 0 to 100 percent".into(),
            ));
        }
        if let Some(window) = &self.window {
            window
                .validate()
                .map_err(|e| SpecError::Threshold(e.message))?;
        }
        self.filter.validate()
    }
}

/// Where a rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RolloutState {
    /// Offering the release to the terminals of its started groups.
    Running,
    /// Held by an operator: nothing new is offered, reports are still recorded.
    Paused,
    /// Stopped by itself because failures passed the error threshold (the reason is kept).
    Stopped,
    /// Every group started and every terminal reached a final state.
    Finished,
    /// Called off by an operator.
    Cancelled,
}

impl RolloutState {
    /// Every state.
    pub const ALL: [RolloutState; 5] = [
        RolloutState::Running,
        RolloutState::Paused,
        RolloutState::Stopped,
        RolloutState::Finished,
        RolloutState::Cancelled,
    ];

    /// The state's stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RolloutState::Running => "running",
            RolloutState::Paused => "paused",
            RolloutState::Stopped => "stopped",
            RolloutState::Finished => "finished",
            RolloutState::Cancelled => "cancelled",
        }
    }

    /// The state named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether the rollout still holds its terminals (no other rollout of its kind may take
    /// them): running or paused.
    pub fn is_active(self) -> bool {
        matches!(self, RolloutState::Running | RolloutState::Paused)
    }
}

/// The order of a terminal within a rollout: the first 8 bytes of SHA-256 over the rollout id
/// and the terminal id. Stable (the same every time it is computed) and different per rollout,
/// so the same terminals are not always the canaries.
pub fn member_rank(rollout_id: i64, terminal_id: &str) -> u64 {
    let digest = Sha256::digest(format!("LYB-ROLLOUT-V1\n{rollout_id}\n{terminal_id}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// Splits a rollout's terminals into its groups: ordered by [`member_rank`], group `i` ends at
/// `ceil(n × groups[i] / 100)` terminals, and every group gets at least one more terminal than
/// the one before while terminals last (fewer terminals than groups leaves the last groups
/// empty). Answers each terminal with its group number (0-based).
pub fn assign_groups(rollout_id: i64, terminals: &[String], groups: &[u8]) -> Vec<(String, usize)> {
    let mut ordered: Vec<(u64, &String)> = terminals
        .iter()
        .map(|id| (member_rank(rollout_id, id), id))
        .collect();
    ordered.sort();
    let n = ordered.len();
    let mut ends = Vec::with_capacity(groups.len());
    let mut previous = 0usize;
    for &percent in groups {
        let end = (n * usize::from(percent))
            .div_ceil(100)
            .max(previous + 1)
            .min(n);
        ends.push(end);
        previous = end;
    }
    let mut out = Vec::with_capacity(n);
    let mut group = 0usize;
    for (index, (_, id)) in ordered.into_iter().enumerate() {
        while ends.get(group).is_some_and(|&end| index >= end) {
            group += 1;
        }
        out.push((id.clone(), group));
    }
    out
}

/// Counts of one group's terminals by where their update stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCounts {
    /// Terminals in the group.
    pub size: u64,
    /// Terminals that have been offered the release (in a heartbeat answer).
    pub offered: u64,
    /// Reported downloading.
    pub downloading: u64,
    /// Reported installing.
    pub installing: u64,
    /// Committed (reported, or found running the release).
    pub committed: u64,
    /// Reported rolled back.
    pub rolled_back: u64,
    /// Reported failed.
    pub failed: u64,
}

impl GroupCounts {
    /// Adds `n` terminals in `state` (`None`: no report yet), offered or not.
    pub fn add(&mut self, state: Option<UpdateState>, offered: bool, n: u64) {
        self.size += n;
        if offered {
            self.offered += n;
        }
        match state {
            None => {}
            Some(UpdateState::Downloading) => self.downloading += n,
            Some(UpdateState::Installing) => self.installing += n,
            Some(UpdateState::Committed) => self.committed += n,
            Some(UpdateState::RolledBack) => self.rolled_back += n,
            Some(UpdateState::Failed) => self.failed += n,
        }
    }

    /// Rolled back plus failed: what counts against the error threshold.
    pub fn failures(&self) -> u64 {
        self.rolled_back + self.failed
    }

    /// Terminals in a final state.
    pub fn finished(&self) -> u64 {
        self.committed + self.failures()
    }
}

/// A rollout's progress, as [`evaluate`] needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Its state.
    pub state: RolloutState,
    /// The newest started group (0-based); every group up to it is offered the release.
    pub active_group: usize,
    /// Each group's counts, in order.
    pub groups: Vec<GroupCounts>,
    /// Success threshold, percent.
    pub success_threshold: u8,
    /// Error threshold, percent.
    pub error_threshold: u8,
}

/// What should happen to a rollout now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing changes.
    Keep,
    /// Start every group up to this one (0-based).
    Advance(usize),
    /// Every terminal reached a final state: done.
    Finish,
    /// Failures passed the error threshold: stop, for this reason.
    Stop(String),
}

/// Decides what a rollout does next from its counts.
///
/// Only running and paused rollouts change. The error threshold is checked first, and also
/// while paused (a pause must not hide a bad release): failures over every terminal of the
/// started groups above `error_threshold` percent stop it. A paused rollout goes no further.
/// A running one starts the next group while the newest group's committed share reaches
/// `success_threshold` (an empty group counts as done), and finishes once every group has
/// started and every terminal is in a final state.
pub fn evaluate(progress: &Progress) -> Decision {
    if !progress.state.is_active() || progress.groups.is_empty() {
        return Decision::Keep;
    }
    let last = progress.groups.len() - 1;
    let active = progress.active_group.min(last);
    let started = &progress.groups[..=active];
    let offered: u64 = started.iter().map(|g| g.size).sum();
    let failures: u64 = started.iter().map(GroupCounts::failures).sum();
    if offered > 0 && failures * 100 > u64::from(progress.error_threshold) * offered {
        return Decision::Stop(format!(
            "error threshold passed: {failures} of {offered} terminals offered rolled back or failed ({}% > {}%)",
            failures * 100 / offered,
            progress.error_threshold
        ));
    }
    if progress.state == RolloutState::Paused {
        return Decision::Keep;
    }
    let succeeded = |g: &GroupCounts| {
        g.size == 0 || g.committed * 100 >= u64::from(progress.success_threshold) * g.size
    };
    let mut reached = active;
    while reached < last && succeeded(&progress.groups[reached]) {
        reached += 1;
    }
    if reached == last && progress.groups.iter().all(|g| g.finished() == g.size) {
        return Decision::Finish;
    }
    if reached != progress.active_group {
        return Decision::Advance(reached);
    }
    Decision::Keep
}

/// Whether a terminal of group `group` whose update stands at `state` is offered the release:
/// only by a running rollout, once its group started, until it reaches a final state.
pub fn offers(
    rollout: RolloutState,
    active_group: usize,
    group: usize,
    state: Option<UpdateState>,
) -> bool {
    rollout == RolloutState::Running
        && group <= active_group
        && !state.is_some_and(UpdateState::is_final)
}

/// Whether a report of `new` may replace `current` for one terminal: a final state is never
/// left (a later report cannot undo a commit or a rollback), anything else may move.
pub fn report_allowed(current: Option<UpdateState>, new: UpdateState) -> bool {
    match current {
        Some(current) if current.is_final() => current == new,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("T{i:04}")).collect()
    }

    fn sizes(assigned: &[(String, usize)], groups: usize) -> Vec<usize> {
        let mut sizes = vec![0; groups];
        for (_, g) in assigned {
            sizes[*g] += 1;
        }
        sizes
    }

    #[test]
    fn groups_parse_as_increasing_percentages_ending_at_100() {
        assert_eq!(parse_groups("1,10,100"), Ok(vec![1, 10, 100]));
        assert_eq!(parse_groups(" 5, 50 ,100"), Ok(vec![5, 50, 100]));
        assert_eq!(parse_groups("100"), Ok(vec![100]));
        for bad in [
            "",
            "0,100",
            "10,5,100",
            "10,10,100",
            "1,10",
            "1,10,101",
            "a,100",
            "1,,100",
        ] {
            assert!(parse_groups(bad).is_err(), "{bad}");
        }
        assert_eq!(format_groups(&[1, 10, 100]), "1,10,100");
    }

    #[test]
    fn membership_is_cumulative_stable_and_every_group_gets_a_terminal() {
        let terminals = ids(200);
        let assigned = assign_groups(7, &terminals, &[5, 50, 100]);
        assert_eq!(sizes(&assigned, 3), vec![10, 90, 100]);
        assert_eq!(assigned, assign_groups(7, &terminals, &[5, 50, 100]));
        // Another rollout picks other canaries.
        let canaries = |id| {
            assign_groups(id, &terminals, &[5, 50, 100])
                .into_iter()
                .filter(|(_, g)| *g == 0)
                .map(|(t, _)| t)
                .collect::<Vec<_>>()
        };
        assert_ne!(canaries(7), canaries(8));
        // 1 % of 20 is 0.2: the canary still gets one terminal.
        assert_eq!(
            sizes(&assign_groups(1, &ids(20), &[1, 10, 100]), 3),
            vec![1, 1, 18]
        );
        // Fewer terminals than groups: the last groups stay empty.
        assert_eq!(
            sizes(&assign_groups(1, &ids(2), &[1, 10, 100]), 3),
            vec![1, 1, 0]
        );
        assert!(assign_groups(1, &[], &[100]).is_empty());
    }

    #[test]
    fn filters_need_every_condition() {
        let t = Candidate {
            id: "T1".into(),
            site: Some("haizhou".into()),
            version: Some("0.1.0".into()),
            tags: vec!["pilot".into()],
        };
        assert!(Filter::default().matches(&t));
        let f = Filter {
            site: Some("haizhou".into()),
            from_version: Some("0.1.0".into()),
            tag: Some("pilot".into()),
        };
        assert!(f.matches(&t));
        assert!(
            !Filter {
                site: Some("ganyu".into()),
                ..f.clone()
            }
            .matches(&t)
        );
        assert!(
            !Filter {
                from_version: Some("0.0.9".into()),
                ..f.clone()
            }
            .matches(&t)
        );
        assert!(
            !Filter {
                tag: Some("bank-branch".into()),
                ..f.clone()
            }
            .matches(&t)
        );
        let unknown = Candidate { version: None, ..t };
        assert!(!f.matches(&unknown));
        assert!(
            Filter {
                tag: Some("Pilot!".into()),
                ..Filter::default()
            }
            .validate()
            .is_err()
        );
        assert_eq!(f.describe(), "site haizhou, from version 0.1.0, tag pilot");
    }

    fn progress(state: RolloutState, active: usize, groups: Vec<GroupCounts>) -> Progress {
        Progress {
            state,
            active_group: active,
            groups,
            success_threshold: 95,
            error_threshold: 5,
        }
    }

    fn group(size: u64, committed: u64, failures: u64) -> GroupCounts {
        GroupCounts {
            size,
            offered: size,
            committed,
            rolled_back: failures,
            ..GroupCounts::default()
        }
    }

    #[test]
    fn a_committed_canary_starts_the_next_group_and_all_final_finishes() {
        let running = RolloutState::Running;
        let p = progress(
            running,
            0,
            vec![group(10, 9, 0), group(90, 0, 0), group(100, 0, 0)],
        );
        assert_eq!(evaluate(&p), Decision::Keep, "90 % is under 95 %");
        let p = progress(
            running,
            0,
            vec![group(10, 10, 0), group(90, 0, 0), group(100, 0, 0)],
        );
        assert_eq!(evaluate(&p), Decision::Advance(1));
        // Terminals already on the release count as committed: several groups at once.
        let p = progress(
            running,
            0,
            vec![group(10, 10, 0), group(90, 90, 0), group(100, 0, 0)],
        );
        assert_eq!(evaluate(&p), Decision::Advance(2));
        let p = progress(
            running,
            2,
            vec![group(10, 10, 0), group(90, 90, 0), group(100, 99, 0)],
        );
        assert_eq!(evaluate(&p), Decision::Keep, "one terminal still updating");
        let p = progress(
            running,
            2,
            vec![group(10, 10, 0), group(90, 90, 0), group(100, 100, 0)],
        );
        assert_eq!(evaluate(&p), Decision::Finish);
        // A paused rollout does not advance.
        let p = progress(
            RolloutState::Paused,
            0,
            vec![group(10, 10, 0), group(90, 0, 0)],
        );
        assert_eq!(evaluate(&p), Decision::Keep);
        // Nor does a stopped one.
        let p = progress(
            RolloutState::Stopped,
            0,
            vec![group(10, 10, 0), group(90, 0, 0)],
        );
        assert_eq!(evaluate(&p), Decision::Keep);
    }

    #[test]
    fn failures_past_the_error_threshold_stop_even_a_paused_rollout() {
        let p = progress(
            RolloutState::Running,
            0,
            vec![group(10, 0, 1), group(190, 0, 0)],
        );
        match evaluate(&p) {
            Decision::Stop(reason) => {
                assert!(
                    reason.contains("1 of 10") && reason.contains("5%"),
                    "{reason}"
                )
            }
            other => panic!("{other:?}"),
        }
        let p = progress(
            RolloutState::Paused,
            0,
            vec![group(10, 0, 1), group(190, 0, 0)],
        );
        assert!(matches!(evaluate(&p), Decision::Stop(_)));
        // 5 of 100 is 5 %, not past 5 %.
        let p = progress(
            RolloutState::Running,
            1,
            vec![group(10, 10, 0), group(90, 80, 5)],
        );
        assert_eq!(evaluate(&p), Decision::Keep);
        // Failures in groups not yet started cannot exist; those of started ones count
        // against every terminal offered so far.
        let p = progress(
            RolloutState::Running,
            1,
            vec![group(10, 10, 0), group(90, 80, 6)],
        );
        assert!(matches!(evaluate(&p), Decision::Stop(_)));
    }

    #[test]
    fn offers_go_to_started_groups_until_a_final_state() {
        use RolloutState::*;
        assert!(offers(Running, 0, 0, None));
        assert!(offers(Running, 1, 0, Some(UpdateState::Downloading)));
        assert!(!offers(Running, 0, 1, None), "group not started");
        assert!(!offers(Running, 0, 0, Some(UpdateState::Committed)));
        assert!(!offers(Running, 0, 0, Some(UpdateState::RolledBack)));
        for state in [Paused, Stopped, Finished, Cancelled] {
            assert!(!offers(state, 0, 0, None), "{state:?}");
        }
    }

    #[test]
    fn final_states_are_never_left() {
        use UpdateState::*;
        assert!(report_allowed(None, Downloading));
        assert!(report_allowed(Some(Installing), Downloading));
        assert!(report_allowed(Some(Installing), Committed));
        assert!(report_allowed(Some(Committed), Committed));
        assert!(!report_allowed(Some(Committed), Downloading));
        assert!(!report_allowed(Some(RolledBack), Committed));
    }
}
