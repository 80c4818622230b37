//! The catalog a fresh platform publishes: real Lianyungang matters with full service guides.

use kiosk_protocol::Catalog;

/// The seed catalog as shipped, JSON.
pub const SEED_CATALOG_JSON: &str = include_str!("../catalog/lianyungang.json");

/// Parses and validates the shipped seed catalog.
pub fn seed_catalog() -> Result<Catalog, anyhow::Error> {
    let catalog: Catalog = serde_json::from_str(SEED_CATALOG_JSON)
        .map_err(|e| anyhow::anyhow!("the shipped seed catalog does not parse: {e}"))?;
    catalog
        .validate()
        .map_err(|e| anyhow::anyhow!("the shipped seed catalog is invalid: {e}"))?;
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
