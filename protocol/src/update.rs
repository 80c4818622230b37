//! Software updates between the platform's rollouts and a terminal's updater.
//!
//! What a release *is* (its bytes, hashes and version) is never taken from these types: a
//! terminal learns it from the signed TUF metadata the platform serves under
//! `/v1/updates/tuf/`. An [`UpdateOffer`] only says which release a rollout wants this
//! terminal to run and when it may install it; an [`UpdateReport`] says how that went.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiError;

fn bad(field: &str, why: &str) -> ApiError {
    ApiError::new("invalid_field", format!("{field}: {why}"))
}

/// A release version: 1 to 32 of `0-9 a-z . -`, compared part by part ([`compare_versions`]).
pub fn is_release_version(version: &str) -> bool {
    (1..=32).contains(&version.len())
        && version
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'.' || b == b'-')
        && version.as_bytes()[0].is_ascii_digit()
}

/// Orders release versions: dot-separated parts, numbers numerically (`0.10.0` > `0.9.3`),
/// anything after a `-` (a pre-release) sorting before the plain version.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    fn split(v: &str) -> (&str, Option<&str>) {
        match v.split_once('-') {
            Some((main, pre)) => (main, Some(pre)),
            None => (v, None),
        }
    }
    fn parts(v: &str) -> impl Iterator<Item = (u64, &str)> {
        v.split('.').map(|p| (p.parse::<u64>().unwrap_or(0), p))
    }
    let ((a_main, a_pre), (b_main, b_pre)) = (split(a), split(b));
    let mut a_parts = parts(a_main);
    let mut b_parts = parts(b_main);
    loop {
        match (a_parts.next(), b_parts.next()) {
            (None, None) => break,
            (x, y) => {
                let (x, y) = (x.unwrap_or((0, "0")), y.unwrap_or((0, "0")));
                let order = x.0.cmp(&y.0).then_with(|| x.1.cmp(y.1));
                if order.is_ne() {
                    return order;
                }
            }
        }
    }
    match (a_pre, b_pre) {
        (None, None) => std::cmp::Ordering::Equal,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (Some(_), None) => std::cmp::Ordering::Less,
        (Some(x), Some(y)) => x.cmp(y),
    }
}

/// What a release replaces on the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseKind {
    /// The kiosk application's own files, installed into the terminal's two application slots.
    App,
    /// A full system image, a RAUC bundle handed to RAUC for its A/B root partitions.
    Os,
}

impl ReleaseKind {
    /// The kind's name on the wire and in TUF targets' custom metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseKind::App => "app",
            ReleaseKind::Os => "os",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "app" => Some(ReleaseKind::App),
            "os" => Some(ReleaseKind::Os),
            _ => None,
        }
    }
}

/// Local hours in which a terminal may install: from `start_minute` to `end_minute` after the
/// terminal's local midnight, wrapping past midnight when `end_minute < start_minute`
/// (`{start_minute: 1320, end_minute: 300}` is 22:00–05:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MaintenanceWindow {
    /// First minute of the window, 0–1439.
    pub start_minute: u16,
    /// Minute the window closes, 0–1439 (exclusive).
    pub end_minute: u16,
}

/// A maintenance window's text that [`MaintenanceWindow::parse`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadWindow {
    #[error("`{0}` is not HH:MM-HH:MM, e.g. 02:00-05:00")]
    NotARange(String),
    #[error("`{0}` is not HH:MM-HH:MM with hours 00–23 and minutes 00–59")]
    NotATime(String),
    #[error("`{0}`: the window opens and closes at once")]
    Empty(String),
}

impl MaintenanceWindow {
    /// Whether `minute_of_day` (0–1439, local) lies inside the window.
    pub fn contains(&self, minute_of_day: u16) -> bool {
        if self.start_minute <= self.end_minute {
            (self.start_minute..self.end_minute).contains(&minute_of_day)
        } else {
            minute_of_day >= self.start_minute || minute_of_day < self.end_minute
        }
    }

    /// Parses `HH:MM-HH:MM` (24-hour, local time), e.g. `02:00-05:00` or `22:00-05:00`.
    pub fn parse(text: &str) -> Result<Self, BadWindow> {
        let minute = |t: &str| -> Option<u16> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            // Lazily: `h * 60` overflows a u16 for hours the check refuses.
            (h < 24 && m < 60 && t.trim().len() == 5).then(|| h * 60 + m)
        };
        let (start, end) = text
            .split_once('-')
            .ok_or_else(|| BadWindow::NotARange(text.to_owned()))?;
        match (minute(start), minute(end)) {
            (Some(start_minute), Some(end_minute)) if start_minute != end_minute => Ok(Self {
                start_minute,
                end_minute,
            }),
            (Some(_), Some(_)) => Err(BadWindow::Empty(text.to_owned())),
            _ => Err(BadWindow::NotATime(text.to_owned())),
        }
    }

    /// Checks the minutes' range.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.start_minute >= 1440 || self.end_minute >= 1440 {
            return Err(bad("window", "minutes are 0 to 1439"));
        }
        if self.start_minute == self.end_minute {
            return Err(bad("window", "the window opens and closes at once"));
        }
        Ok(())
    }
}

impl std::fmt::Display for MaintenanceWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start_minute / 60,
            self.start_minute % 60,
            self.end_minute / 60,
            self.end_minute % 60
        )
    }
}

/// A rollout's wish for one terminal, in `HeartbeatResponse::update`: run release `version`.
/// The terminal fetches and verifies it through TUF, installs it inside `window` and only
/// while no citizen is being served, and reports each step with an [`UpdateReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UpdateOffer {
    /// The rollout asking: echo it in every report.
    pub rollout_id: i64,
    /// The release version to run (a TUF target's `version` custom field).
    pub version: String,
    /// Application or system image.
    pub kind: ReleaseKind,
    /// Local hours in which to install; absent means at any time (still never during a session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<MaintenanceWindow>,
}

/// Where one terminal's update stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpdateState {
    /// Metadata verified, the release is being downloaded.
    Downloading,
    /// Downloaded, verified and written to the inactive slot; the terminal switches to it next.
    Installing,
    /// The new release passed its health check and is now the terminal's committed release.
    Committed,
    /// The new release crashed or failed its health check; the terminal went back by itself.
    RolledBack,
    /// The release was refused or could not be installed (bad signature, wrong hash, stale
    /// metadata, no space…); nothing changed on the terminal.
    Failed,
}

impl UpdateState {
    /// Every state, in order.
    pub const ALL: [UpdateState; 5] = [
        UpdateState::Downloading,
        UpdateState::Installing,
        UpdateState::Committed,
        UpdateState::RolledBack,
        UpdateState::Failed,
    ];

    /// The state's name.
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateState::Downloading => "downloading",
            UpdateState::Installing => "installing",
            UpdateState::Committed => "committed",
            UpdateState::RolledBack => "rolled_back",
            UpdateState::Failed => "failed",
        }
    }

    /// The state named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether the terminal is done with this release (it will not move on by itself).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            UpdateState::Committed | UpdateState::RolledBack | UpdateState::Failed
        )
    }

    /// Whether this outcome counts against the release in a rollout's error threshold.
    pub fn is_failure(self) -> bool {
        matches!(self, UpdateState::RolledBack | UpdateState::Failed)
    }
}

/// Body of `POST /v1/updates/reports`: one step of one terminal's update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UpdateReport {
    /// The rollout that offered the release (0 for one a technician applied by hand).
    pub rollout_id: i64,
    /// The release version concerned.
    pub version: String,
    /// Where it stands.
    pub state: UpdateState,
    /// Why, as short codes and words for operators (`crashed_on_start`,
    /// `health_check_timeout`, `bad_signature`…); never personal data. At most 500 characters.
    #[serde(default)]
    pub detail: String,
    /// When the terminal reached this state, Unix seconds by its clock.
    pub at: i64,
}

impl UpdateReport {
    /// Checks sizes and formats.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.rollout_id < 0 {
            return Err(bad("rollout_id", "0 or a rollout's id"));
        }
        if !is_release_version(&self.version) {
            return Err(bad(
                "version",
                "1 to 32 of 0-9 a-z . -, starting with a digit",
            ));
        }
        if self.detail.chars().count() > 500
            || self
                .detail
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(bad(
                "detail",
                "at most 500 characters, no control characters",
            ));
        }
        if !(0..=4_102_444_800).contains(&self.at) {
            return Err(bad("at", "out of range"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn versions_order_numerically_with_pre_releases_first() {
        assert_eq!(compare_versions("0.10.0", "0.9.3"), Ordering::Greater);
        assert_eq!(compare_versions("1.2", "1.2.0"), Ordering::Equal);
        assert_eq!(compare_versions("1.2.0-rc1", "1.2.0"), Ordering::Less);
        assert_eq!(
            compare_versions("1.2.0-rc2", "1.2.0-rc1"),
            Ordering::Greater
        );
        assert!(is_release_version("0.2.0"));
        assert!(!is_release_version("v0.2.0"));
        assert!(!is_release_version("0.2.0/../../etc"));
        assert!(!is_release_version(""));
    }

    #[test]
    fn windows_wrap_past_midnight_and_refuse_nonsense() {
        let night = MaintenanceWindow::parse("22:00-05:00").unwrap();
        assert!(night.contains(23 * 60));
        assert!(night.contains(4 * 60 + 59));
        assert!(!night.contains(5 * 60));
        assert!(!night.contains(12 * 60));
        assert_eq!(night.to_string(), "22:00-05:00");
        let early = MaintenanceWindow::parse("02:00-05:00").unwrap();
        assert!(early.contains(2 * 60) && !early.contains(60));
        assert!(MaintenanceWindow::parse("25:00-05:00").is_err());
        assert!(MaintenanceWindow::parse("2:00-5:00").is_err());
        assert!(MaintenanceWindow::parse("02:00-02:00").is_err());
        assert!(MaintenanceWindow::parse("soon").is_err());
    }

    /// Found by the `platform_bodies` fuzz target: hours whose minutes overflow a u16
    /// (6910 × 60) panicked in builds with overflow checks instead of being refused.
    #[test]
    fn windows_refuse_hours_whose_minutes_overflow() {
        for text in [
            "T-0000000000000000000000000006910:22223",
            "02:00-6910:22",
            "9999:59-01:00",
        ] {
            assert!(MaintenanceWindow::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn reports_refuse_bad_versions_and_long_details() {
        let report = UpdateReport {
            rollout_id: 3,
            version: "0.2.0".into(),
            state: UpdateState::RolledBack,
            detail: "crashed_on_start".into(),
            at: 1_800_000_000,
        };
        assert!(report.validate().is_ok());
        let mut long = report.clone();
        long.detail = "x".repeat(501);
        assert!(long.validate().is_err());
        let mut odd = report;
        odd.version = "latest".into();
        assert!(odd.validate().is_err());
    }
}
