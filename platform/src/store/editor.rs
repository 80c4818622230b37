//! Storage of the matter editor: which departments an editor may change, the drafts they save,
//! catalog versions published without becoming current, and the version each site's terminals
//! get instead of the current one.

use kiosk_protocol::Catalog;

use super::sql::{Executor, Transaction, args};
use super::{PublishedCatalog, Store, StoreError, now_rfc3339};

/// A matter as an editor last saved it, not yet published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatterDraft {
    /// The matter's id.
    pub matter_id: String,
    /// Its department (what decides who may change or publish it).
    pub department: String,
    /// The whole matter as JSON.
    pub body: String,
    /// The editor who saved it.
    pub saved_by: String,
    /// When (RFC 3339, Beijing time).
    pub saved_at: String,
}

/// A site whose terminals get another catalog version than the current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteCatalog {
    /// The site.
    pub site: String,
    /// The version its terminals get.
    pub version: String,
    /// Who chose it.
    pub activated_by: String,
    /// When.
    pub activated_at: String,
}

impl Store {
    /// Replaces the departments `operator` may edit (none for any role but editor).
    pub async fn set_editor_departments(
        &self,
        operator: &str,
        departments: &[String],
    ) -> Result<(), StoreError> {
        let mut statements = vec![(
            "DELETE FROM operator_departments WHERE operator = $1",
            args![operator],
        )];
        for department in departments {
            statements.push((
                "INSERT INTO operator_departments (operator, department) VALUES ($1, $2)
                 ON CONFLICT (operator, department) DO NOTHING",
                args![operator, department.as_str()],
            ));
        }
        self.exec_all(statements).await
    }

    /// The departments `operator` may edit, sorted.
    pub async fn editor_departments(&self, operator: &str) -> Result<Vec<String>, StoreError> {
        self.rows(
            "SELECT department FROM operator_departments WHERE operator = $1 ORDER BY department",
            args![operator],
        )
        .await?
        .iter()
        .map(|r| r.text(0))
        .collect()
    }

    /// Stores (or replaces) the draft of one matter.
    pub async fn save_draft(&self, draft: &MatterDraft) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO matter_drafts (matter_id, department, body, saved_by, saved_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (matter_id) DO UPDATE SET department = excluded.department,
                 body = excluded.body, saved_by = excluded.saved_by, saved_at = excluded.saved_at",
            args![
                draft.matter_id.as_str(),
                draft.department.as_str(),
                draft.body.as_str(),
                draft.saved_by.as_str(),
                draft.saved_at.as_str()
            ],
        )
        .await?;
        Ok(())
    }

    /// Every draft, by matter id.
    pub async fn drafts(&self) -> Result<Vec<MatterDraft>, StoreError> {
        self.rows(
            "SELECT matter_id, department, body, saved_by, saved_at FROM matter_drafts
             ORDER BY matter_id",
            args![],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(MatterDraft {
                matter_id: r.text(0)?,
                department: r.text(1)?,
                body: r.text(2)?,
                saved_by: r.text(3)?,
                saved_at: r.text(4)?,
            })
        })
        .collect()
    }

    /// Forgets the draft of `matter_id`; false when there was none.
    pub async fn discard_draft(&self, matter_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .exec(
                "DELETE FROM matter_drafts WHERE matter_id = $1",
                args![matter_id],
            )
            .await?
            > 0)
    }

    /// Stores `catalog` as a new version that is not current (validated by the caller), and
    /// forgets the drafts it was made of, in one transaction. False, and nothing changed, when
    /// the version exists already.
    pub async fn add_catalog_version(
        &self,
        catalog: &Catalog,
        published_drafts: &[String],
    ) -> Result<bool, StoreError> {
        self.transaction(NewVersion {
            version: catalog.version.clone(),
            body: serde_json::to_string(catalog)?,
            now: now_rfc3339(),
            drafts: published_drafts.to_vec(),
        })
        .await
    }

    /// How many versions are named `prefix` followed by anything (the versions of one day).
    pub async fn catalog_versions_named(&self, prefix: &str) -> Result<i64, StoreError> {
        let row = self
            .row(
                "SELECT COUNT(*) FROM catalog_versions WHERE substr(version, 1, length($1)) = $1",
                args![prefix],
            )
            .await?;
        row.map_or(Ok(0), |r| r.int(0))
    }

    /// Makes the terminals of `site` get `version` (which must exist).
    pub async fn set_site_catalog(
        &self,
        site: &str,
        version: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO site_catalogs (site, version, activated_by, activated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (site) DO UPDATE SET version = excluded.version,
                 activated_by = excluded.activated_by, activated_at = excluded.activated_at",
            args![site, version, by, now_rfc3339()],
        )
        .await?;
        Ok(())
    }

    /// Lets the terminals of `site` follow the current version again; false when they did.
    pub async fn clear_site_catalog(&self, site: &str) -> Result<bool, StoreError> {
        Ok(self
            .exec("DELETE FROM site_catalogs WHERE site = $1", args![site])
            .await?
            > 0)
    }

    /// The sites with a version of their own, by site.
    pub async fn site_catalogs(&self) -> Result<Vec<SiteCatalog>, StoreError> {
        self.rows(
            "SELECT site, version, activated_by, activated_at FROM site_catalogs ORDER BY site",
            args![],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(SiteCatalog {
                site: r.text(0)?,
                version: r.text(1)?,
                activated_by: r.text(2)?,
                activated_at: r.text(3)?,
            })
        })
        .collect()
    }

    /// Every site a terminal is enrolled at, sorted.
    pub async fn terminal_sites(&self) -> Result<Vec<String>, StoreError> {
        self.rows(
            "SELECT DISTINCT site FROM terminals WHERE site IS NOT NULL ORDER BY site",
            args![],
        )
        .await?
        .iter()
        .map(|r| r.text(0))
        .collect()
    }

    /// The catalog terminal `terminal_id` gets: its site's version when the site has one,
    /// else the current one.
    pub async fn catalog_for_terminal(
        &self,
        terminal_id: &str,
    ) -> Result<PublishedCatalog, StoreError> {
        let row = self
            .row(
                "SELECT c.version, c.body FROM terminals t
                 JOIN site_catalogs s ON s.site = t.site
                 JOIN catalog_versions c ON c.version = s.version
                 WHERE t.id = $1",
                args![terminal_id],
            )
            .await?;
        match row {
            Some(row) => Ok(PublishedCatalog {
                version: row.text(0)?,
                body: row.text(1)?,
            }),
            None => self.current_catalog().await,
        }
    }
}

/// A catalog version stored beside the current one, and the drafts it published.
struct NewVersion {
    version: String,
    body: String,
    now: String,
    drafts: Vec<String>,
}

impl Transaction for NewVersion {
    type Output = bool;

    async fn run(self, on: &mut impl Executor) -> Result<bool, StoreError> {
        let added = on
            .exec(
                "INSERT INTO catalog_versions (version, body, published_at, current) VALUES ($1, $2, $3, FALSE)
                 ON CONFLICT (version) DO NOTHING",
                args![self.version, self.body, self.now],
            )
            .await?;
        if added == 0 {
            return Ok(false);
        }
        for matter in self.drafts {
            on.exec(
                "DELETE FROM matter_drafts WHERE matter_id = $1",
                args![matter],
            )
            .await?;
        }
        Ok(true)
    }
}
