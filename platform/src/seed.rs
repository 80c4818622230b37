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
    use kiosk_protocol::Supply;
    use kiosk_protocol::form::{FormDefinition, Region};
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

    /// A guide that tells the citizen to fill a form in at the terminal comes with the form.
    #[test]
    fn every_matter_filled_in_at_the_terminal_has_its_form() {
        let catalog = seed_catalog().expect("seed catalog");
        let online = |m: &kiosk_protocol::Matter| {
            m.materials.iter().any(|x| x.supply == Supply::OnlineForm)
                || m.procedure.iter().any(|p| p.zh.contains("在线填写"))
        };
        let with_form: Vec<&str> = catalog
            .matters
            .iter()
            .filter(|m| m.form.is_some())
            .map(|m| m.id.as_str())
            .collect();
        assert!(with_form.len() >= 10, "{with_form:?}");
        for matter in catalog.matters.iter().filter(|m| online(m)) {
            assert!(matter.form.is_some(), "{} has no form", matter.id);
            assert!(matter.kiosk_application, "{}", matter.id);
        }
        let counties: Vec<_> = Region::counties(&catalog.regions).collect();
        assert_eq!(counties.len(), 6);
        for county in counties {
            assert!(
                Region::townships(&catalog.regions, &county.code).count() >= 10,
                "{}",
                county.name.zh
            );
        }
    }

    /// The pension enrolment asks what the department needs: a contribution level, a bank
    /// card with its bank, a current address; the card's collection place shows only when the
    /// card is collected, the mailing address only when it is posted.
    #[test]
    fn the_pension_and_card_forms_ask_what_the_department_needs() {
        let catalog = seed_catalog().expect("seed catalog");
        let form = |id: &str| {
            catalog
                .matter(id)
                .and_then(|m| m.form.clone())
                .expect("form")
        };
        let pension = form("lyg-hrss-0101");
        let kind = |f: &FormDefinition, id: &str| f.field(id).map(|f| f.kind.name());
        assert_eq!(kind(&pension, "contribution_level"), Some("choice"));
        assert_eq!(kind(&pension, "bank_card"), Some("bank_card"));
        assert_eq!(kind(&pension, "bank"), Some("choice"));
        assert_eq!(kind(&pension, "current_address"), Some("address"));
        assert_eq!(kind(&pension, "phone"), Some("phone"));
        assert_eq!(kind(&pension, "declaration"), Some("consent"));
        let card = form("lyg-hrss-0105");
        let shown_when = |id: &str| {
            card.field(id)
                .and_then(|f| f.visible_when.clone())
                .map(|v| (v.field, v.equals))
        };
        assert_eq!(
            shown_when("collection_place"),
            Some(("delivery".into(), Some("collect".into())))
        );
        assert_eq!(
            shown_when("mailing_address"),
            Some(("delivery".into(), Some("mail".into())))
        );
    }
}
