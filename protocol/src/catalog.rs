//! The service catalog (事项目录) and each matter's service guide (办事指南).
//!
//! The platform publishes one catalog for every channel (同源发布); a terminal shows it as-is.
//! [`Catalog::validate`] is the gate both sides use: a catalog that fails it is never published
//! and never shown.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::form::{FormDefinition, Region};
use crate::search::{Abbreviation, SearchKey};
use crate::text::LocalizedText;

/// Stable identifier of a matter, e.g. `lyg-hrss-0101`.
pub type MatterId = String;

/// The published catalog: themes, departments and matters, with a version for caching.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Catalog {
    /// Publication version, e.g. `2026.11.1`; also the HTTP ETag of `GET /v1/catalog`.
    pub version: String,
    /// Life-event themes citizens browse by (社保、医保、公积金…).
    pub themes: Vec<ThemeGroup>,
    /// Handling departments.
    pub departments: Vec<Department>,
    /// Every matter a terminal may show.
    pub matters: Vec<Matter>,
    /// The districts, counties and townships an address on a form is picked from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<Region>,
    /// Editors' notes on where the catalog's content comes from and what could not be
    /// confirmed (a township code, a published list that was not found): for reviewers, never
    /// shown to citizens.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What citizens say for what names spell out (社保 → 社会保险), for search.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub abbreviations: Vec<Abbreviation>,
}

/// A theme citizens browse by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ThemeGroup {
    /// Identifier referenced by [`Matter::theme`].
    pub id: String,
    /// Display name.
    pub name: LocalizedText,
}

/// A government department that handles matters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Department {
    /// Identifier referenced by [`Matter::department`].
    pub id: String,
    /// Full name, e.g. 连云港市人力资源和社会保障局.
    pub name: LocalizedText,
}

/// One government service matter with its full service guide (办事指南).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Matter {
    /// Stable identifier.
    pub id: MatterId,
    /// Matter name (事项名称).
    pub name: LocalizedText,
    /// Lower-case pinyin initials of the Chinese name (社保缴费 → `sbjf`), searched besides the
    /// keys. Optional in a catalog; the platform fills it in when it is missing, for terminals
    /// that know no [`SearchKey`] yet.
    #[serde(default)]
    pub pinyin_initials: String,
    /// Other names citizens know the matter by (社保卡 for 社会保障卡申领), for search.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The pinyin of the name and aliases, computed by the platform at import and publish.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search_keys: Vec<SearchKey>,
    /// Theme id.
    pub theme: String,
    /// Department id.
    pub department: String,
    /// Who may apply (服务对象 / 申请人).
    pub applicant: LocalizedText,
    /// The office that handles it (办理机构).
    pub handling_office: LocalizedText,
    /// Acceptance conditions (受理条件).
    pub conditions: Vec<LocalizedText>,
    /// Required materials (申请材料).
    pub materials: Vec<Material>,
    /// Procedure steps (办理流程).
    pub procedure: Vec<LocalizedText>,
    /// Statutory time limit (办理时限).
    pub time_limit: TimeLimit,
    /// Fees (收费标准), e.g. 不收费.
    pub fees: LocalizedText,
    /// Where and when to go in person (办理地点和时间).
    pub place_and_hours: LocalizedText,
    /// Enquiry phone (咨询电话).
    pub enquiry_phone: String,
    /// Complaint phone (投诉电话).
    pub complaint_phone: String,
    /// True when the whole matter can be applied for at the terminal.
    pub kiosk_application: bool,
    /// The application form the terminal asks the citizen to fill in, if the matter has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<FormDefinition>,
}

/// One required material of a matter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Material {
    /// Material name.
    pub name: LocalizedText,
    /// Form the material is accepted in (材料形式).
    pub form: MaterialForm,
    /// Number of copies (份数).
    pub copies: u8,
    /// May be missing at acceptance on a written commitment (容缺受理 / 告知承诺).
    pub waivable: bool,
    /// How the terminal obtains it (photographed unless the catalog says otherwise).
    #[serde(default)]
    pub supply: Supply,
}

/// How a self-service terminal obtains a material.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Supply {
    /// Photographed page by page with the document camera (高拍仪).
    #[default]
    Capture,
    /// Read from the applicant's ID card by the card reader.
    IdCard,
    /// Filled in on the terminal's own form (the 在线填写 tables).
    OnlineForm,
}

/// Form a material is accepted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MaterialForm {
    /// 原件.
    Original,
    /// 复印件.
    Copy,
    /// 原件和复印件.
    OriginalAndCopy,
    /// 电子证照 (the platform fetches it itself).
    Electronic,
}

impl MaterialForm {
    /// Display name of the form.
    pub fn label(self) -> LocalizedText {
        match self {
            MaterialForm::Original => LocalizedText::new("原件", "Original"),
            MaterialForm::Copy => LocalizedText::new("复印件", "Copy"),
            MaterialForm::OriginalAndCopy => {
                LocalizedText::new("原件及复印件", "Original and copy")
            }
            MaterialForm::Electronic => LocalizedText::new("电子证照", "Electronic licence"),
        }
    }
}

/// Statutory time limit of a matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimeLimit {
    /// 即办: handled on the spot.
    Immediate,
    /// Handled within this many working days.
    WorkingDays {
        /// Number of working days.
        days: u16,
    },
}

impl TimeLimit {
    /// Display text, e.g. 即办 / 5个工作日.
    pub fn label(self) -> LocalizedText {
        match self {
            TimeLimit::Immediate => LocalizedText::new("即办", "On the spot"),
            TimeLimit::WorkingDays { days: 1 } => LocalizedText::new("1个工作日", "1 working day"),
            TimeLimit::WorkingDays { days } => {
                LocalizedText::new(format!("{days}个工作日"), format!("{days} working days"))
            }
        }
    }
}

/// Why a catalog cannot be published or shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The version string is empty.
    #[error("catalog version is empty")]
    NoVersion,
    /// Two matters, themes or departments share an id.
    #[error("duplicate id `{0}`")]
    DuplicateId(String),
    /// A matter points at a theme or department that does not exist.
    #[error("matter `{matter}` refers to unknown {kind} `{id}`")]
    UnknownReference {
        /// The matter.
        matter: String,
        /// `theme` or `department`.
        kind: &'static str,
        /// The missing id.
        id: String,
    },
    /// A required field is blank in one language.
    #[error("`{owner}`: field `{field}` is missing its Chinese or English text")]
    Incomplete {
        /// The matter, theme or department id.
        owner: String,
        /// Field name.
        field: &'static str,
    },
    /// A matter's form or the catalog's regions cannot be filled in or picked from.
    #[error("{path}: {reason}")]
    Form {
        /// The matter id (or `regions`).
        owner: String,
        /// Where in the catalog, e.g.
        /// `matters[lyg-civil-0602].form.sections[family].fields[relation].options`.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A field holds a value outside its range.
    #[error("`{owner}`: field `{field}` is invalid: {reason}")]
    Invalid {
        /// The matter id.
        owner: String,
        /// Field name.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl Catalog {
    /// Checks that every reference resolves and every guide field is filled in both languages.
    pub fn validate(&self) -> Result<(), CatalogError> {
        if self.version.trim().is_empty() {
            return Err(CatalogError::NoVersion);
        }
        Region::check_all(&self.regions).map_err(|(path, reason)| CatalogError::Form {
            owner: "regions".to_owned(),
            path,
            reason,
        })?;
        let mut ids = HashSet::new();
        for theme in &self.themes {
            if !ids.insert(format!("theme:{}", theme.id)) {
                return Err(CatalogError::DuplicateId(theme.id.clone()));
            }
            check_text(&theme.id, "name", &theme.name)?;
        }
        for dept in &self.departments {
            if !ids.insert(format!("department:{}", dept.id)) {
                return Err(CatalogError::DuplicateId(dept.id.clone()));
            }
            check_text(&dept.id, "name", &dept.name)?;
        }
        for matter in &self.matters {
            if !ids.insert(format!("matter:{}", matter.id)) {
                return Err(CatalogError::DuplicateId(matter.id.clone()));
            }
            matter.validate(self)?;
        }
        crate::search::check_abbreviations(&self.abbreviations)
    }

    /// The matter with this id.
    pub fn matter(&self, id: &str) -> Option<&Matter> {
        self.matters.iter().find(|m| m.id == id)
    }

    /// The department with this id.
    pub fn department(&self, id: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.id == id)
    }

    /// The theme with this id.
    pub fn theme(&self, id: &str) -> Option<&ThemeGroup> {
        self.themes.iter().find(|t| t.id == id)
    }
}

impl Matter {
    fn validate(&self, catalog: &Catalog) -> Result<(), CatalogError> {
        let owner = &self.id;
        if catalog.theme(&self.theme).is_none() {
            return Err(CatalogError::UnknownReference {
                matter: owner.clone(),
                kind: "theme",
                id: self.theme.clone(),
            });
        }
        if catalog.department(&self.department).is_none() {
            return Err(CatalogError::UnknownReference {
                matter: owner.clone(),
                kind: "department",
                id: self.department.clone(),
            });
        }
        check_text(owner, "name", &self.name)?;
        check_text(owner, "applicant", &self.applicant)?;
        check_text(owner, "handling_office", &self.handling_office)?;
        check_text(owner, "fees", &self.fees)?;
        check_text(owner, "place_and_hours", &self.place_and_hours)?;
        for text in &self.conditions {
            check_text(owner, "conditions", text)?;
        }
        for text in &self.procedure {
            check_text(owner, "procedure", text)?;
        }
        for material in &self.materials {
            check_text(owner, "materials", &material.name)?;
            if material.copies == 0 {
                return invalid(owner, "materials", "a material needs at least one copy");
            }
        }
        if self.conditions.is_empty() {
            return invalid(
                owner,
                "conditions",
                "at least one acceptance condition is required",
            );
        }
        if self.procedure.is_empty() {
            return invalid(
                owner,
                "procedure",
                "at least one procedure step is required",
            );
        }
        crate::search::check_matter(self)?;
        for (field, phone) in [
            ("enquiry_phone", &self.enquiry_phone),
            ("complaint_phone", &self.complaint_phone),
        ] {
            if !is_phone(phone) {
                return invalid(owner, field, "must be a phone number of digits and dashes");
            }
        }
        if let TimeLimit::WorkingDays { days: 0 } = self.time_limit {
            return invalid(owner, "time_limit", "zero working days: use `immediate`");
        }
        if let Some(form) = &self.form {
            form.check(&catalog.regions)
                .map_err(|e| CatalogError::Form {
                    owner: owner.clone(),
                    path: format!("matters[{owner}].form.{}", e.path),
                    reason: e.reason,
                })?;
        }
        Ok(())
    }
}

fn check_text(owner: &str, field: &'static str, text: &LocalizedText) -> Result<(), CatalogError> {
    if text.is_incomplete() {
        return Err(CatalogError::Incomplete {
            owner: owner.to_owned(),
            field,
        });
    }
    Ok(())
}

fn invalid(owner: &str, field: &'static str, reason: &str) -> Result<(), CatalogError> {
    Err(CatalogError::Invalid {
        owner: owner.to_owned(),
        field,
        reason: reason.to_owned(),
    })
}

fn is_phone(s: &str) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    digits >= 5 && s.bytes().all(|b| b.is_ascii_digit() || b == b'-')
}
