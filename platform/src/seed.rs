//! The catalog a fresh platform publishes: real Lianyungang matters with full service guides.

use kiosk_protocol::{Catalog, CatalogError};

/// The seed catalog as shipped, JSON.
pub const SEED_CATALOG_JSON: &str = include_str!("../catalog/lianyungang.json");

/// Why the shipped seed catalog cannot be published (a build that ships a broken one fails its
/// tests; this is for the record should one slip through).
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// Not a catalog at all.
    #[error("the shipped seed catalog does not parse: {0}")]
    Parse(serde_json::Error),
    /// A catalog whose references or guides are incomplete.
    #[error("the shipped seed catalog is invalid: {0}")]
    Invalid(CatalogError),
}

/// Parses the shipped seed catalog, spells its search keys and validates it.
pub fn seed_catalog() -> Result<Catalog, SeedError> {
    let mut catalog: Catalog = serde_json::from_str(SEED_CATALOG_JSON).map_err(SeedError::Parse)?;
    crate::search_keys::fill(&mut catalog);
    catalog.validate().map_err(SeedError::Invalid)?;
    Ok(catalog)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn seed_catalog_is_valid_and_covers_every_theme() {
        let catalog = seed_catalog().expect("seed catalog");
        assert!(
            catalog.matters.len() >= 30,
            "only {} matters",
            catalog.matters.len()
        );
        let used: HashSet<&str> = catalog.matters.iter().map(|m| m.theme.as_str()).collect();
        for theme in &catalog.themes {
            assert!(
                used.contains(theme.id.as_str()),
                "theme {} has no matter",
                theme.id
            );
        }
        assert!(catalog.matters.iter().any(|m| m.kiosk_application));
    }
}
