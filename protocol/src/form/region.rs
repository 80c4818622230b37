//! The administrative areas an address is picked from: districts and counties, then townships.
//!
//! They travel with the catalog (not in the firmware), so a redrawn township boundary is a catalog
//! publication, not a release.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::text::LocalizedText;

/// One district, county or township.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Region {
    /// Division code (GB/T 2260 for districts and counties, the statistics code for townships).
    pub code: String,
    /// Name, e.g. 海州区 / Haizhou District.
    pub name: LocalizedText,
    /// The district or county a township belongs to; absent for a district or county.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

impl Region {
    /// A township: it has a parent, and an address is picked down to it.
    pub fn is_township(&self) -> bool {
        self.parent.is_some()
    }

    /// The townships of the district or county `code`, in catalog order.
    pub fn townships<'a>(all: &'a [Region], code: &'a str) -> impl Iterator<Item = &'a Region> {
        all.iter()
            .filter(move |r| r.parent.as_deref() == Some(code))
    }

    /// The districts and counties, in catalog order.
    pub fn counties(all: &[Region]) -> impl Iterator<Item = &Region> {
        all.iter().filter(|r| r.parent.is_none())
    }

    /// `海州区 新浦街道`: a township with its county, as printed and shown on review.
    pub fn full_name(all: &[Region], code: &str) -> Option<LocalizedText> {
        let township = all.iter().find(|r| r.code == code)?;
        let Some(parent) = &township.parent else {
            return Some(township.name.clone());
        };
        let county = all.iter().find(|r| &r.code == parent)?;
        Some(LocalizedText::new(
            format!("{}{}", county.name.zh, township.name.zh),
            format!("{}, {}", township.name.en, county.name.en),
        ))
    }

    /// Checks a catalog's region list: codes unique and of digits, names in both languages,
    /// a parent listed before its townships and itself a district or county (two levels).
    pub fn check_all(all: &[Region]) -> Result<(), (String, String)> {
        let mut seen = HashSet::new();
        for region in all {
            let at = format!("regions[{}]", region.code);
            if region.code.is_empty()
                || region.code.len() > 12
                || !region.code.bytes().all(|b| b.is_ascii_digit())
            {
                return Err((at, "a region code is 1 to 12 digits".to_owned()));
            }
            if region.name.is_incomplete() {
                return Err((
                    at,
                    "the name is missing its Chinese or English text".to_owned(),
                ));
            }
            if let Some(parent) = &region.parent {
                let county = all.iter().find(|r| &r.code == parent);
                if !seen.contains(parent.as_str()) || county.is_some_and(|c| c.parent.is_some()) {
                    return Err((
                        format!("{at}.parent"),
                        "the parent must be a district or county listed before it".to_owned(),
                    ));
                }
            }
            if !seen.insert(region.code.as_str()) {
                return Err((at, "two regions share this code".to_owned()));
            }
        }
        Ok(())
    }
}
