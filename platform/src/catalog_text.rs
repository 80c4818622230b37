//! A catalog as an operator hands it in (a file to `catalog import`, the console's publish
//! form): parsed, given its search keys, and validated, and when refused, refused with the path of what is wrong.
//!
//! A catalog is tens of matters with forms of dozens of fields; "unknown variant `adress`" or
//! "invalid type" alone would leave the editor searching. Both a JSON error (an unknown field
//! kind, a number where text belongs) and a rule [`Catalog::validate`] refuses name their
//! place, with matters, sections, fields and options by id where the part has one:
//! `matters[lyg-hrss-0101].form.sections[pay].fields[level].kind`.

use kiosk_protocol::{Catalog, CatalogError};
use serde_json::Value;

/// Why a handed-in catalog cannot be published.
#[derive(Debug, thiserror::Error)]
pub enum CatalogRefusal {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    Syntax(serde_json::Error),
    /// JSON that is not a catalog, at `path`.
    #[error("{path}: {reason}")]
    Shape {
        /// Where, e.g. `matters[lyg-hrss-0101].form.sections[pay].fields[level]`.
        path: String,
        /// What serde found wrong there.
        reason: String,
    },
    /// A catalog whose content is refused (see [`Catalog::validate`]).
    #[error("{0}")]
    Invalid(CatalogError),
}

/// Parses and validates a catalog handed in as JSON text.
pub fn read_catalog(text: &str) -> Result<Catalog, CatalogRefusal> {
    let value: Value = serde_json::from_str(text).map_err(CatalogRefusal::Syntax)?;
    let mut catalog: Catalog = serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = named_path(&value, e.path());
        CatalogRefusal::Shape {
            path,
            reason: e.into_inner().to_string(),
        }
    })?;
    // Search keys are the platform's to compute: a catalog exported from another system has
    // none, and a hand-written one may be stale.
    crate::search_keys::fill(&mut catalog);
    catalog.validate().map_err(CatalogRefusal::Invalid)?;
    Ok(catalog)
}

/// The path with each list index replaced by the element's `id` (or an option's `value`)
/// when it has one, as [`Catalog::validate`] names them.
fn named_path(root: &Value, path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut here = Some(root);
    let mut named = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => {
                let element = here.and_then(|v| v.get(*index));
                let name = element
                    .and_then(|e| e.get("id").or_else(|| e.get("value")))
                    .and_then(Value::as_str)
                    .map_or_else(|| index.to_string(), str::to_owned);
                named.push_str(&format!("[{name}]"));
                here = element;
            }
            Segment::Map { key } => {
                if !named.is_empty() {
                    named.push('.');
                }
                named.push_str(key);
                here = here.and_then(|v| v.get(key));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    if named.is_empty() {
        "catalog".to_owned()
    } else {
        named
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::SEED_CATALOG_JSON;

    fn seed_with(change: impl FnOnce(&mut Value)) -> String {
        let mut value: Value = serde_json::from_str(SEED_CATALOG_JSON).expect("seed parses");
        change(&mut value);
        value.to_string()
    }

    fn first_form_field(value: &mut Value) -> (String, &mut Value) {
        let matter = value["matters"]
            .as_array_mut()
            .and_then(|m| m.iter_mut().find(|m| m.get("form").is_some()))
            .expect("a matter with a form");
        let id = matter["id"].as_str().unwrap_or_default().to_owned();
        (id, &mut matter["form"]["sections"][0]["fields"][0])
    }

    #[test]
    fn an_unknown_field_kind_is_refused_at_its_path() {
        let mut expected = String::new();
        let text = seed_with(|value| {
            let (matter, field) = first_form_field(value);
            field["kind"] = "adress".into();
            expected = format!("matters[{matter}].form.sections[");
        });
        let refusal = read_catalog(&text).expect_err("unknown kind refused");
        let said = refusal.to_string();
        assert!(said.starts_with(&expected), "{said}");
        assert!(said.contains("adress"), "{said}");
    }

    #[test]
    fn a_visibility_rule_naming_a_missing_field_is_refused_at_its_path() {
        let mut matter = String::new();
        let mut field_id = String::new();
        let text = seed_with(|value| {
            let (id, field) = first_form_field(value);
            matter = id;
            field_id = field["id"].as_str().unwrap_or_default().to_owned();
            field["visible_when"] = serde_json::json!({"field": "no_such_field"});
        });
        let said = read_catalog(&text).expect_err("refused").to_string();
        assert!(
            said.starts_with(&format!("matters[{matter}].form.sections[")),
            "{said}"
        );
        assert!(
            said.contains(&format!(
                "fields[{field_id}].visible_when: names the field `no_such_field`"
            )),
            "{said}"
        );
    }

    #[test]
    fn a_number_where_text_belongs_names_the_matter_by_id() {
        let text = seed_with(|value| value["matters"][1]["name"]["zh"] = 7.into());
        let said = read_catalog(&text).expect_err("refused").to_string();
        let id =
            serde_json::from_str::<Value>(SEED_CATALOG_JSON).expect("seed")["matters"][1]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
        assert!(
            said.starts_with(&format!("matters[{id}].name.zh: invalid type")),
            "{said}"
        );
    }

    #[test]
    fn the_seed_is_read_as_published() {
        let catalog = read_catalog(SEED_CATALOG_JSON).expect("seed is valid");
        assert!(catalog.matters.iter().filter(|m| m.form.is_some()).count() >= 10);
    }
}
