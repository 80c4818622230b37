//! Which catalog version each terminal should run, and since when: what a heartbeat answer
//! hints to the terminal and what the console compares the terminal's report with.
//!
//! This is the one place that decides it. Today every terminal should run the current
//! version; a per-site activation changes these two functions and nothing that reads them.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::sql::args;
use super::{Store, StoreError};

/// The catalog version a terminal should run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogTarget {
    /// The version (the ETag of `GET /v1/catalog`).
    pub version: String,
    /// When it became the version to run (Unix seconds): a terminal reporting another one
    /// has lagged at most this long.
    pub since: i64,
}

impl CatalogTarget {
    /// How long a terminal reporting `reported` (its heartbeat's `catalog` version) has run
    /// another version than this one, at `now`: `None` when it runs this one or never said.
    pub fn lag(&self, reported: Option<&str>, now: i64) -> Option<i64> {
        reported
            .filter(|v| *v != self.version)
            .map(|_| (now - self.since).max(0))
    }
}

/// The versions terminals should run, read once for a whole fleet page.
#[derive(Debug, Clone, Default)]
pub struct CatalogTargets {
    everywhere: Option<CatalogTarget>,
}

impl CatalogTargets {
    /// The version a terminal at `site` should run; `None` while nothing is published.
    pub fn for_site(&self, _site: Option<&str>) -> Option<&CatalogTarget> {
        self.everywhere.as_ref()
    }
}

impl Store {
    /// The catalog version terminal `terminal_id` should run (what its heartbeat answer hints);
    /// `None` while nothing is published.
    pub async fn catalog_target(
        &self,
        _terminal_id: &str,
    ) -> Result<Option<CatalogTarget>, StoreError> {
        self.current_target().await
    }

    /// The versions every terminal should run, for the fleet page.
    pub async fn catalog_targets(&self) -> Result<CatalogTargets, StoreError> {
        Ok(CatalogTargets {
            everywhere: self.current_target().await?,
        })
    }

    /// The version of the catalog currently published, without its body (what a terminal's
    /// conditional `GET /v1/catalog` is answered from).
    pub async fn current_catalog_version(&self) -> Result<Option<String>, StoreError> {
        self.row(
            "SELECT version FROM catalog_versions WHERE current",
            args![],
        )
        .await?
        .map(|row| row.text(0))
        .transpose()
    }

    async fn current_target(&self) -> Result<Option<CatalogTarget>, StoreError> {
        let Some(row) = self
            .row(
                "SELECT version, published_at FROM catalog_versions WHERE current",
                args![],
            )
            .await?
        else {
            return Ok(None);
        };
        let published_at = row.text(1)?;
        let since = OffsetDateTime::parse(&published_at, &Rfc3339)
            .map_err(|e| StoreError::Task(format!("catalog published_at {published_at}: {e}")))?
            .unix_timestamp();
        Ok(Some(CatalogTarget {
            version: row.text(0)?,
            since,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_lags_from_when_its_version_became_the_one_to_run() {
        let target = CatalogTarget {
            version: "2026.12.2".into(),
            since: 1_000,
        };
        assert_eq!(target.lag(Some("2026.12.1"), 1_600), Some(600));
        assert_eq!(target.lag(Some("2026.12.2"), 1_600), None);
        // A terminal that never said which version it runs is not counted as lagging.
        assert_eq!(target.lag(None, 1_600), None);
        // A clock step backwards never shows a negative lag.
        assert_eq!(target.lag(Some("2026.12.1"), 900), Some(0));
    }
}
