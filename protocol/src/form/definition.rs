//! The shape of a form: sections of fields, each with a kind, rules, a prefill and a visibility rule.
//!
//! [`FormDefinition::check`] refuses a definition no citizen could fill in (a rule that can never
//! be met, a visibility rule naming a missing field, a label missing a language) and names the
//! path of the offending part, so an editor or an import log points at it directly.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::region::Region;
use crate::text::LocalizedText;

/// Most sections a form may have.
pub const MAX_SECTIONS: usize = 20;
/// Most fields a form may have, over all sections.
pub const MAX_FIELDS: usize = 120;
/// Most options of one choice field.
pub const MAX_OPTIONS: usize = 60;
/// Longest text answer any field may allow, in characters.
pub const MAX_TEXT_LEN: u16 = 2000;
/// Longest label, help or option text, in characters.
pub const MAX_LABEL_LEN: usize = 400;
/// Longest pattern, in bytes.
pub const MAX_PATTERN_LEN: usize = 200;
/// Most decimal places of a number field.
pub const MAX_DECIMALS: u8 = 4;

/// A matter's application form: what the department needs beyond the ID card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FormDefinition {
    /// Sections, shown one page each on the terminal.
    pub sections: Vec<FormSection>,
}

/// One page of a form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FormSection {
    /// Identifier, unique in the form (`[a-z][a-z0-9_]*`, at most 32).
    pub id: String,
    /// Title shown above the section's fields.
    pub title: LocalizedText,
    /// The fields, in order.
    pub fields: Vec<FormField>,
}

/// One question of a form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FormField {
    /// Identifier, unique in the form (`[a-z][a-z0-9_]*`, at most 32): the key of its answer.
    pub id: String,
    /// The question.
    pub label: LocalizedText,
    /// A line of help under the question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<LocalizedText>,
    /// What is asked, with its rules.
    #[serde(flatten)]
    pub kind: FieldKind,
    /// Must be answered when shown.
    #[serde(default)]
    pub required: bool,
    /// Filled from the ID card just read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<Prefill>,
    /// Shown only when another field has a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_when: Option<VisibleWhen>,
}

/// What a field asks for, with the rules of its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldKind {
    /// A line of (Chinese) text.
    Text {
        /// Fewest characters when answered.
        #[serde(default)]
        min_len: u16,
        /// Most characters.
        max_len: u16,
        /// A regular expression the whole answer must match.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
    },
    /// Several lines of text.
    LongText {
        /// Fewest characters when answered.
        #[serde(default)]
        min_len: u16,
        /// Most characters.
        max_len: u16,
    },
    /// A number, typed on the number pad.
    Number {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
        /// Decimal places allowed (0 for whole numbers).
        #[serde(default)]
        decimals: u8,
        /// Unit shown after the number (元, 平方米…).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<LocalizedText>,
    },
    /// A calendar date, `YYYY-MM-DD`.
    Date {
        /// Earliest date allowed: `today` or `YYYY-MM-DD`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<String>)]
        min: Option<DateLimit>,
        /// Latest date allowed: `today` or `YYYY-MM-DD`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<String>)]
        max: Option<DateLimit>,
    },
    /// One of a list.
    Choice {
        /// The options.
        options: Vec<ChoiceOption>,
    },
    /// Several of a list.
    MultiChoice {
        /// The options.
        options: Vec<ChoiceOption>,
        /// Fewest options chosen when answered.
        #[serde(default)]
        min: u8,
        /// Most options chosen.
        max: u8,
    },
    /// A mainland mobile number or a landline with its area code.
    Phone,
    /// A place in the catalog's regions (a township), then street, house and room as text.
    Address {
        /// Most characters of the street part.
        street_max_len: u16,
    },
    /// A bank card number (Luhn check digit).
    BankCard,
    /// Another person's citizen ID number (GB 11643 check digit).
    IdNumber,
    /// Yes or no to a declaration shown in full.
    Consent {
        /// The declaration the citizen agrees to.
        text: LocalizedText,
    },
}

/// One option of a choice field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChoiceOption {
    /// What the answer carries (`level_1`, `post`…): stable across wording changes.
    pub value: String,
    /// What the citizen reads.
    pub label: LocalizedText,
}

/// A bound of a date field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DateLimit {
    /// The day the citizen fills the form in.
    Today,
    /// A fixed day.
    Fixed(time::Date),
}

/// A field of the ID card a form field can be filled from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CardField {
    /// 姓名.
    Name,
    /// 性别: a choice field with the options `male` and `female`.
    Sex,
    /// 出生日期: a date field.
    BirthDate,
    /// 民族.
    Nation,
    /// 住址.
    Address,
    /// 公民身份号码: an ID number field.
    IdNumber,
}

/// Where a field's first value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Prefill {
    /// The card field.
    pub from: CardField,
    /// The citizen may change what the card says (the matter allows it, e.g. a current address).
    #[serde(default)]
    pub editable: bool,
}

/// A field shows only when another field has a value (or one given value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VisibleWhen {
    /// The other field's id.
    pub field: String,
    /// The value it must have (an option's value, or `true` for a consent); any value when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
}

/// What is wrong with a form definition, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct DefinitionError {
    /// Where, e.g. `sections[family].fields[relation].options`.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

impl DateLimit {
    /// The bound's day, given the latest day "today" may be.
    pub fn resolve(self, today: time::Date) -> time::Date {
        match self {
            DateLimit::Today => today,
            DateLimit::Fixed(day) => day,
        }
    }
}

/// Parses `YYYY-MM-DD` into a real calendar day.
pub fn parse_date(text: &str) -> Option<time::Date> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let year = i32::try_from(number(0..4)?).ok()?;
    let month = time::Month::try_from(u8::try_from(number(5..7)?).ok()?).ok()?;
    let day = u8::try_from(number(8..10)?).ok()?;
    time::Date::from_calendar_date(year, month, day).ok()
}

/// `YYYY-MM-DD` of a day.
pub fn format_date(day: time::Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

impl TryFrom<String> for DateLimit {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        if text == "today" {
            return Ok(DateLimit::Today);
        }
        parse_date(&text)
            .map(DateLimit::Fixed)
            .ok_or_else(|| format!("`{text}` is neither `today` nor a date YYYY-MM-DD"))
    }
}

impl From<DateLimit> for String {
    fn from(limit: DateLimit) -> String {
        match limit {
            DateLimit::Today => "today".to_owned(),
            DateLimit::Fixed(day) => format_date(day),
        }
    }
}

impl FieldKind {
    /// Most characters an answer may have, for the input methods to stop at.
    pub fn max_chars(&self) -> usize {
        match self {
            FieldKind::Text { max_len, .. } | FieldKind::LongText { max_len, .. } => {
                usize::from(*max_len)
            }
            FieldKind::Address { street_max_len } => usize::from(*street_max_len),
            FieldKind::Number {
                max, min, decimals, ..
            } => {
                let digits = |n: i64| n.unsigned_abs().to_string().len() + usize::from(n < 0);
                digits(*max).max(digits(*min)) + usize::from(*decimals) + 1
            }
            FieldKind::Date { .. } => 10,
            FieldKind::Phone => 13,
            FieldKind::BankCard => 19,
            FieldKind::IdNumber => 18,
            FieldKind::Choice { .. }
            | FieldKind::MultiChoice { .. }
            | FieldKind::Consent { .. } => 0,
        }
    }

    /// Whether the citizen's input method may put `c` into an answer of this kind: never a
    /// control character; digits only where only digits make sense.
    pub fn accepts(&self, c: char) -> bool {
        if c.is_control() {
            return false;
        }
        match self {
            FieldKind::Text { .. } | FieldKind::LongText { .. } | FieldKind::Address { .. } => true,
            FieldKind::Number { decimals, min, .. } => {
                c.is_ascii_digit() || (c == '.' && *decimals > 0) || (c == '-' && *min < 0)
            }
            FieldKind::Date { .. } => c.is_ascii_digit() || c == '-',
            FieldKind::Phone => c.is_ascii_digit() || c == '-',
            FieldKind::BankCard => c.is_ascii_digit(),
            FieldKind::IdNumber => c.is_ascii_digit() || c == 'X',
            FieldKind::Choice { .. }
            | FieldKind::MultiChoice { .. }
            | FieldKind::Consent { .. } => false,
        }
    }

    /// The options of a choice field.
    pub fn options(&self) -> &[ChoiceOption] {
        match self {
            FieldKind::Choice { options } | FieldKind::MultiChoice { options, .. } => options,
            _ => &[],
        }
    }

    /// Name of the kind as written in a definition.
    pub fn name(&self) -> &'static str {
        match self {
            FieldKind::Text { .. } => "text",
            FieldKind::LongText { .. } => "long_text",
            FieldKind::Number { .. } => "number",
            FieldKind::Date { .. } => "date",
            FieldKind::Choice { .. } => "choice",
            FieldKind::MultiChoice { .. } => "multi_choice",
            FieldKind::Phone => "phone",
            FieldKind::Address { .. } => "address",
            FieldKind::BankCard => "bank_card",
            FieldKind::IdNumber => "id_number",
            FieldKind::Consent { .. } => "consent",
        }
    }
}

impl FormDefinition {
    /// Every field, in order over all sections.
    pub fn fields(&self) -> impl Iterator<Item = &FormField> {
        self.sections.iter().flat_map(|s| s.fields.iter())
    }

    /// The field with this id.
    pub fn field(&self, id: &str) -> Option<&FormField> {
        self.fields().find(|f| f.id == id)
    }

    /// Checks that a citizen could fill this form in, given the catalog's regions: ids unique
    /// and well-formed, every text in both languages, every rule satisfiable, every visibility
    /// rule naming another field (and, with a value, one of its options) without a loop.
    pub fn check(&self, regions: &[Region]) -> Result<(), DefinitionError> {
        if self.sections.is_empty() {
            return fail("sections", "a form needs at least one section");
        }
        if self.sections.len() > MAX_SECTIONS {
            return fail("sections", format!("at most {MAX_SECTIONS} sections"));
        }
        if self.fields().count() > MAX_FIELDS {
            return fail("sections", format!("at most {MAX_FIELDS} fields in a form"));
        }
        let mut section_ids = HashSet::new();
        let mut field_ids = HashSet::new();
        for section in &self.sections {
            let at = format!("sections[{}]", section.id);
            check_id(&at, &section.id)?;
            if !section_ids.insert(section.id.as_str()) {
                return fail(&at, "two sections share this id");
            }
            check_label(&format!("{at}.title"), &section.title)?;
            if section.fields.is_empty() {
                return fail(
                    &format!("{at}.fields"),
                    "a section needs at least one field",
                );
            }
            for field in &section.fields {
                let at = format!("{at}.fields[{}]", field.id);
                check_id(&at, &field.id)?;
                if !field_ids.insert(field.id.as_str()) {
                    return fail(&at, "two fields share this id");
                }
                field.check(&at, regions)?;
            }
        }
        self.check_visibility()
    }

    fn path_of(&self, field: &FormField) -> String {
        let section = self
            .sections
            .iter()
            .find(|s| s.fields.iter().any(|f| f.id == field.id))
            .map_or("", |s| s.id.as_str());
        format!("sections[{section}].fields[{}]", field.id)
    }

    /// Visibility rules name an existing other field, a value it can have, and form no loop
    /// (a loop could never be shown).
    fn check_visibility(&self) -> Result<(), DefinitionError> {
        let by_id: HashMap<&str, &FormField> = self.fields().map(|f| (f.id.as_str(), f)).collect();
        for field in self.fields() {
            let Some(rule) = &field.visible_when else {
                continue;
            };
            let at = format!("{}.visible_when", self.path_of(field));
            let Some(other) = by_id.get(rule.field.as_str()) else {
                return fail(
                    &at,
                    format!("names the field `{}`, which the form has not", rule.field),
                );
            };
            if other.id == field.id {
                return fail(&at, "a field cannot depend on itself");
            }
            if let Some(value) = &rule.equals {
                let possible = match &other.kind {
                    FieldKind::Choice { options } | FieldKind::MultiChoice { options, .. } => {
                        options.iter().any(|o| &o.value == value)
                    }
                    FieldKind::Consent { .. } => value == "true" || value == "false",
                    _ => false,
                };
                if !possible {
                    return fail(
                        &format!("{at}.equals"),
                        format!("`{}` can never have the value `{value}`", other.id),
                    );
                }
            }
            let mut seen = HashSet::from([field.id.as_str()]);
            let mut next = Some(rule.field.as_str());
            while let Some(id) = next {
                if !seen.insert(id) {
                    return fail(
                        &at,
                        "visibility rules form a loop: the field could never show",
                    );
                }
                next = by_id
                    .get(id)
                    .and_then(|f| f.visible_when.as_ref())
                    .map(|r| r.field.as_str());
            }
        }
        Ok(())
    }
}

impl FormField {
    fn check(&self, at: &str, regions: &[Region]) -> Result<(), DefinitionError> {
        check_label(&format!("{at}.label"), &self.label)?;
        if let Some(help) = &self.help {
            check_label(&format!("{at}.help"), help)?;
        }
        self.kind.check(at, regions)?;
        if let Some(prefill) = &self.prefill {
            let fits = match prefill.from {
                CardField::Name | CardField::Nation => matches!(self.kind, FieldKind::Text { .. }),
                CardField::Address => matches!(
                    self.kind,
                    FieldKind::Text { .. } | FieldKind::LongText { .. }
                ),
                CardField::Sex => {
                    let values: HashSet<&str> = self
                        .kind
                        .options()
                        .iter()
                        .map(|o| o.value.as_str())
                        .collect();
                    matches!(self.kind, FieldKind::Choice { .. })
                        && values.contains("male")
                        && values.contains("female")
                }
                CardField::BirthDate => matches!(self.kind, FieldKind::Date { .. }),
                CardField::IdNumber => matches!(self.kind, FieldKind::IdNumber),
            };
            if !fits {
                return fail(
                    &format!("{at}.prefill"),
                    format!(
                        "the card's {:?} cannot fill a `{}` field",
                        prefill.from,
                        self.kind.name()
                    ),
                );
            }
        }
        Ok(())
    }
}

impl FieldKind {
    fn check(&self, at: &str, regions: &[Region]) -> Result<(), DefinitionError> {
        match self {
            FieldKind::Text {
                min_len,
                max_len,
                pattern,
            } => {
                check_lengths(at, "max_len", *min_len, *max_len)?;
                if let Some(pattern) = pattern {
                    compile_pattern(pattern).map_err(|reason| DefinitionError {
                        path: format!("{at}.pattern"),
                        reason,
                    })?;
                }
                Ok(())
            }
            FieldKind::LongText { min_len, max_len } => {
                check_lengths(at, "max_len", *min_len, *max_len)
            }
            FieldKind::Number {
                min,
                max,
                decimals,
                unit,
            } => {
                if min > max {
                    return fail(
                        &format!("{at}.min"),
                        format!("min {min} is above max {max}"),
                    );
                }
                if *decimals > MAX_DECIMALS {
                    return fail(&format!("{at}.decimals"), format!("at most {MAX_DECIMALS}"));
                }
                unit.as_ref()
                    .map_or(Ok(()), |u| check_label(&format!("{at}.unit"), u))
            }
            FieldKind::Date { min, max } => match (min, max) {
                (Some(DateLimit::Fixed(min)), Some(DateLimit::Fixed(max))) if min > max => fail(
                    &format!("{at}.min"),
                    "the earliest date is after the latest",
                ),
                _ => Ok(()),
            },
            FieldKind::Choice { options } => check_options(at, options, 1),
            FieldKind::MultiChoice { options, min, max } => {
                check_options(at, options, 1)?;
                if min > max {
                    return fail(
                        &format!("{at}.min"),
                        format!("min {min} is above max {max}"),
                    );
                }
                if *max == 0 || usize::from(*max) > options.len() {
                    return fail(
                        &format!("{at}.max"),
                        format!("must be between 1 and the {} options", options.len()),
                    );
                }
                Ok(())
            }
            FieldKind::Address { street_max_len } => {
                check_lengths(at, "street_max_len", 0, *street_max_len)?;
                if !regions.iter().any(Region::is_township) {
                    return fail(at, "the catalog lists no townships to pick an address from");
                }
                Ok(())
            }
            FieldKind::Consent { text } => check_label(&format!("{at}.text"), text),
            FieldKind::Phone | FieldKind::BankCard | FieldKind::IdNumber => Ok(()),
        }
    }
}

/// Compiles a field's pattern, anchored to the whole answer and bounded in size (a pattern is
/// operator input that every terminal runs on every keystroke).
pub(crate) fn compile_pattern(pattern: &str) -> Result<regex::Regex, String> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(format!("longer than {MAX_PATTERN_LEN} bytes"));
    }
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 16)
        .build()
        .map_err(|e| format!("not a regular expression: {e}"))
}

fn check_lengths(at: &str, name: &str, min: u16, max: u16) -> Result<(), DefinitionError> {
    if max == 0 || max > MAX_TEXT_LEN {
        return fail(
            &format!("{at}.{name}"),
            format!("must be 1 to {MAX_TEXT_LEN}"),
        );
    }
    if min > max {
        return fail(
            &format!("{at}.min_len"),
            format!("min_len {min} is above max_len {max}"),
        );
    }
    Ok(())
}

fn check_options(at: &str, options: &[ChoiceOption], fewest: usize) -> Result<(), DefinitionError> {
    if options.len() < fewest || options.len() > MAX_OPTIONS {
        return fail(
            &format!("{at}.options"),
            format!("needs {fewest} to {MAX_OPTIONS} options"),
        );
    }
    let mut values = HashSet::new();
    for option in options {
        let here = format!("{at}.options[{}]", option.value);
        if option.value.is_empty()
            || option.value.len() > 64
            || option.value.chars().any(char::is_control)
        {
            return fail(&here, "an option's value is 1 to 64 printable characters");
        }
        if !values.insert(option.value.as_str()) {
            return fail(&here, "two options share this value");
        }
        check_label(&format!("{here}.label"), &option.label)?;
    }
    Ok(())
}

fn check_id(at: &str, id: &str) -> Result<(), DefinitionError> {
    let mut bytes = id.bytes();
    let well_formed = id.len() <= 32
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !well_formed {
        return fail(
            at,
            "an id is a lower-case letter then letters, digits or `_`, at most 32",
        );
    }
    Ok(())
}

fn check_label(at: &str, text: &LocalizedText) -> Result<(), DefinitionError> {
    if text.zh.trim().is_empty() {
        return fail(at, "the Chinese text is missing");
    }
    if text.en.trim().is_empty() {
        return fail(at, "the English text is missing");
    }
    if text.zh.chars().count() > MAX_LABEL_LEN || text.en.chars().count() > MAX_LABEL_LEN {
        return fail(at, format!("longer than {MAX_LABEL_LEN} characters"));
    }
    Ok(())
}

fn fail<T>(path: &str, reason: impl Into<String>) -> Result<T, DefinitionError> {
    Err(DefinitionError {
        path: path.to_owned(),
        reason: reason.into(),
    })
}
