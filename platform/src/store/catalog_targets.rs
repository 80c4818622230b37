//! Which catalog version each terminal should run, and since when: what a heartbeat answer
//! hints to the terminal and what the console compares the terminal's report with.
//!
//! This is the one place that decides it: a terminal whose site was given a version by an
//! editor (`site_catalogs`) should run that one, every other terminal the current version.

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
    sites: std::collections::HashMap<String, CatalogTarget>,
}

impl CatalogTargets {
    /// The version a terminal at `site` should run; `None` while nothing is published.
    pub fn for_site(&self, site: Option<&str>) -> Option<&CatalogTarget> {
        site.and_then(|s| self.sites.get(s))
            .or(self.everywhere.as_ref())
    }
}

fn target(version: String, at: &str) -> Result<CatalogTarget, StoreError> {
    let since = OffsetDateTime::parse(at, &Rfc3339)
        .map_err(|e| StoreError::Task(format!("catalog activation time {at}: {e}")))?
        .unix_timestamp();
    Ok(CatalogTarget { version, since })
}

impl Store {
    /// The catalog version terminal `terminal_id` should run (what its heartbeat answer hints);
    /// `None` while nothing is published.
    pub async fn catalog_target(
        &self,
        terminal_id: &str,
    ) -> Result<Option<CatalogTarget>, StoreError> {
        let site = self
            .row(
                "SELECT s.version, s.activated_at FROM terminals t
                 JOIN site_catalogs s ON s.site = t.site
                 WHERE t.id = $1",
                args![terminal_id],
            )
            .await?;
        match site {
            Some(row) => Ok(Some(target(row.text(0)?, &row.text(1)?)?)),
            None => self.current_target().await,
        }
    }

    /// The versions every terminal should run, for the fleet page.
    pub async fn catalog_targets(&self) -> Result<CatalogTargets, StoreError> {
        let mut sites = std::collections::HashMap::new();
        for row in self
            .rows(
                "SELECT site, version, activated_at FROM site_catalogs",
                args![],
            )
            .await?
        {
            sites.insert(row.text(0)?, target(row.text(1)?, &row.text(2)?)?);
        }
        Ok(CatalogTargets {
            everywhere: self.current_target().await?,
            sites,
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
        Ok(Some(target(row.text(0)?, &row.text(1)?)?))
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
