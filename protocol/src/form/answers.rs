//! A citizen's answers to a form, and the one check of them both sides run.
//!
//! The terminal calls [`FormField::check_answer`] as the citizen types and shows the
//! [`FieldProblem`] next to the field; before submitting, and the platform on arrival, call
//! [`FormDefinition::check_answers`] over the whole form. Answers are personal data: `Debug`
//! shows only which fields are answered.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::definition::{
    DateLimit, FieldKind, FormDefinition, FormField, compile_pattern, format_date, parse_date,
};
use super::numbers::{is_bank_card, is_citizen_id_number, is_phone_number};
use super::region::Region;
use crate::text::LocalizedText;

/// One field's answer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Answer {
    /// A consent: agreed or not.
    Flag(bool),
    /// Text, a number, a date (`YYYY-MM-DD`), a phone, a card or ID number, or a choice's value.
    Text(String),
    /// The values chosen of a multiple choice.
    Choices(Vec<String>),
    /// An address.
    Address(AddressAnswer),
}

/// An address: the township picked, then the rest typed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AddressAnswer {
    /// The township's region code.
    pub region: String,
    /// Street, house number and room.
    pub street: String,
}

/// Every answer of one application, by field id. Personal data: `Debug` lists only field ids.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
pub struct FormAnswers(pub BTreeMap<String, Answer>);

impl FormAnswers {
    /// No answers (a matter without a form).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for FormAnswers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<answer>")
    }
}

impl std::fmt::Debug for AddressAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<address>")
    }
}

/// What the rules of an answer depend on besides the form.
#[derive(Debug, Clone, Copy)]
pub struct AnswerContext<'a> {
    /// The catalog's regions (for addresses).
    pub regions: &'a [Region],
    /// The earliest day "today" may have been when the citizen answered: the platform checks
    /// answers that may have waited in a terminal's outbox, so "not before today" is checked
    /// against this day.
    pub earliest_today: time::Date,
    /// The latest day "today" may be: "not after today" is checked against this day.
    pub latest_today: time::Date,
}

impl<'a> AnswerContext<'a> {
    /// The terminal's context: today is today.
    pub fn on(today: time::Date, regions: &'a [Region]) -> Self {
        Self {
            regions,
            earliest_today: today,
            latest_today: today,
        }
    }
}

/// Why one answer is not accepted, as shown next to its field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum FieldProblem {
    /// A required field shown to the citizen has no answer.
    Required,
    /// An answer of the wrong shape for the field (text where a choice belongs…).
    WrongType,
    /// An answer for a field the form has not, or one that is hidden.
    Unexpected,
    /// A control character (line breaks only in long text).
    ControlCharacter,
    /// Fewer characters than the field needs.
    TooShort {
        /// Fewest characters.
        min: u16,
    },
    /// More characters than the field allows.
    TooLong {
        /// Most characters.
        max: u16,
    },
    /// Text that does not have the field's format.
    Pattern,
    /// Not a number, or more decimal places than allowed.
    NotANumber {
        /// Decimal places allowed.
        decimals: u8,
    },
    /// A number outside the field's range.
    OutOfRange {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
    },
    /// Not a calendar date.
    NotADate,
    /// A date before the earliest allowed.
    DateTooEarly {
        /// The earliest date, `YYYY-MM-DD`.
        earliest: String,
    },
    /// A date after the latest allowed.
    DateTooLate {
        /// The latest date, `YYYY-MM-DD`.
        latest: String,
    },
    /// A value that is not one of the options.
    UnknownOption,
    /// Fewer options chosen than needed.
    TooFewChoices {
        /// Fewest options.
        min: u8,
    },
    /// More options chosen than allowed.
    TooManyChoices {
        /// Most options.
        max: u8,
    },
    /// Not a mobile or landline number.
    BadPhone,
    /// A region that is not a township of the catalog.
    UnknownRegion,
    /// Not a bank card number (wrong length or check digit).
    BadBankCard,
    /// Not a citizen ID number (wrong length, birth date or check character).
    BadIdNumber,
    /// A required consent not given.
    ConsentRequired,
}

impl FieldProblem {
    /// What the citizen reads next to the field (and hears in 长辈版).
    pub fn message(&self) -> LocalizedText {
        match self {
            FieldProblem::Required => LocalizedText::new("请填写此项", "Please fill this in"),
            FieldProblem::WrongType | FieldProblem::Unexpected => {
                LocalizedText::new("此项内容有误，请重新填写", "Please fill this in again")
            }
            FieldProblem::ControlCharacter => LocalizedText::new(
                "含有不能使用的字符",
                "Contains characters that cannot be used",
            ),
            FieldProblem::TooShort { min } => LocalizedText::new(
                format!("至少填写{min}个字"),
                format!("At least {min} characters"),
            ),
            FieldProblem::TooLong { max } => LocalizedText::new(
                format!("最多填写{max}个字"),
                format!("At most {max} characters"),
            ),
            FieldProblem::Pattern => {
                LocalizedText::new("格式不对，请看下方说明", "Wrong format: see the help below")
            }
            FieldProblem::NotANumber { decimals: 0 } => {
                LocalizedText::new("请填写整数", "Please enter a whole number")
            }
            FieldProblem::NotANumber { decimals } => LocalizedText::new(
                format!("请填写数字，最多{decimals}位小数"),
                format!("Please enter a number with at most {decimals} decimal places"),
            ),
            FieldProblem::OutOfRange { min, max } => LocalizedText::new(
                format!("请填写{min}到{max}之间的数"),
                format!("Please enter a number from {min} to {max}"),
            ),
            FieldProblem::NotADate => LocalizedText::new("请选择日期", "Please choose a date"),
            FieldProblem::DateTooEarly { earliest } => LocalizedText::new(
                format!("日期不能早于{earliest}"),
                format!("The date cannot be before {earliest}"),
            ),
            FieldProblem::DateTooLate { latest } => LocalizedText::new(
                format!("日期不能晚于{latest}"),
                format!("The date cannot be after {latest}"),
            ),
            FieldProblem::UnknownOption => {
                LocalizedText::new("请从列表中选择", "Please choose from the list")
            }
            FieldProblem::TooFewChoices { min } => LocalizedText::new(
                format!("请至少选择{min}项"),
                format!("Please choose at least {min}"),
            ),
            FieldProblem::TooManyChoices { max } => LocalizedText::new(
                format!("最多选择{max}项"),
                format!("Please choose at most {max}"),
            ),
            FieldProblem::BadPhone => LocalizedText::new(
                "请填写11位手机号码或带区号的固定电话",
                "Please enter an 11-digit mobile number or a landline with its area code",
            ),
            FieldProblem::UnknownRegion => LocalizedText::new(
                "请选择所在县区和乡镇（街道）",
                "Please choose the district and township",
            ),
            FieldProblem::BadBankCard => LocalizedText::new(
                "银行卡号不对，请核对后重新输入",
                "This card number is not right: please check it",
            ),
            FieldProblem::BadIdNumber => LocalizedText::new(
                "身份证号码不对，请核对后重新输入",
                "This ID number is not right: please check it",
            ),
            FieldProblem::ConsentRequired => {
                LocalizedText::new("需要您同意才能继续", "Your agreement is needed to continue")
            }
        }
    }
}

/// One answer refused, with the field's path (`answers.<field id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, thiserror::Error)]
#[error("{path}: {problem:?}")]
pub struct AnswerError {
    /// `answers.<field id>`.
    pub path: String,
    /// The field's id.
    pub field: String,
    /// What is wrong.
    #[serde(flatten)]
    pub problem: FieldProblem,
}

impl Answer {
    /// True when the answer says nothing: blank text, no choice, no township, a consent not
    /// given. A required field needs more.
    pub fn is_blank(&self) -> bool {
        match self {
            Answer::Flag(agreed) => !agreed,
            Answer::Text(text) => text.trim().is_empty(),
            Answer::Choices(values) => values.is_empty(),
            Answer::Address(address) => {
                address.region.is_empty() && address.street.trim().is_empty()
            }
        }
    }

    /// Whether this answer makes a `visible_when` rule with `equals` hold.
    fn equals(&self, value: &str) -> bool {
        match self {
            Answer::Flag(agreed) => value == if *agreed { "true" } else { "false" },
            Answer::Text(text) => text == value,
            Answer::Choices(values) => values.iter().any(|v| v == value),
            Answer::Address(_) => false,
        }
    }
}

impl FormDefinition {
    /// Whether `field` is shown, given the answers so far: its rule's field is itself shown and
    /// has a value (the value, when the rule names one).
    pub fn is_visible(&self, field: &FormField, answers: &FormAnswers) -> bool {
        let mut current = field;
        // Definitions are checked to have no loop; the bound keeps an unchecked one finite.
        for _ in 0..=self.fields().count() {
            let Some(rule) = &current.visible_when else {
                return true;
            };
            let shown = match answers.0.get(&rule.field) {
                Some(answer) if !answer.is_blank() => {
                    rule.equals.as_deref().is_none_or(|v| answer.equals(v))
                }
                _ => false,
            };
            match (shown, self.field(&rule.field)) {
                (true, Some(other)) => current = other,
                _ => return false,
            }
        }
        false
    }

    /// Checks every answer: each shown field's rules, required fields answered, nothing for a
    /// field the form has not or hides. Returns every problem (the terminal shows each next
    /// to its field; the platform answers 422 naming the first).
    pub fn check_answers(
        &self,
        answers: &FormAnswers,
        context: &AnswerContext<'_>,
    ) -> Result<(), Vec<AnswerError>> {
        let mut problems = Vec::new();
        for (id, _) in answers.0.iter() {
            let known = self.field(id).is_some_and(|f| self.is_visible(f, answers));
            if !known {
                problems.push(AnswerError::new(id, FieldProblem::Unexpected));
            }
        }
        for field in self.fields().filter(|f| self.is_visible(f, answers)) {
            if let Err(problem) = field.check_answer(answers.0.get(&field.id), context) {
                problems.push(AnswerError::new(&field.id, problem));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

impl AnswerError {
    fn new(field: &str, problem: FieldProblem) -> Self {
        Self {
            path: format!("answers.{field}"),
            field: field.to_owned(),
            problem,
        }
    }
}

impl FormField {
    /// Checks one answer (or its absence) against this field's rules.
    pub fn check_answer(
        &self,
        answer: Option<&Answer>,
        context: &AnswerContext<'_>,
    ) -> Result<(), FieldProblem> {
        let Some(answer) = answer.filter(|a| !a.is_blank()) else {
            return match (&self.kind, self.required) {
                (FieldKind::Consent { .. }, true) => Err(FieldProblem::ConsentRequired),
                (_, true) => Err(FieldProblem::Required),
                (_, false) => Ok(()),
            };
        };
        match (&self.kind, answer) {
            (FieldKind::Consent { .. }, Answer::Flag(_)) => Ok(()),
            (FieldKind::MultiChoice { options, min, max }, Answer::Choices(values)) => {
                check_choices(options, values, *min, *max)
            }
            (FieldKind::Address { street_max_len }, Answer::Address(address)) => {
                let township = context
                    .regions
                    .iter()
                    .any(|r| r.code == address.region && r.is_township());
                if !township {
                    return Err(FieldProblem::UnknownRegion);
                }
                check_text(&address.street, 1, *street_max_len, false)
            }
            (kind, Answer::Text(text)) => check_text_answer(kind, text, context),
            _ => Err(FieldProblem::WrongType),
        }
    }
}

fn check_text_answer(
    kind: &FieldKind,
    text: &str,
    context: &AnswerContext<'_>,
) -> Result<(), FieldProblem> {
    match kind {
        FieldKind::Text {
            min_len,
            max_len,
            pattern,
        } => {
            check_text(text, *min_len, *max_len, false)?;
            match pattern.as_deref().map(compile_pattern) {
                Some(Ok(pattern)) if !pattern.is_match(text) => Err(FieldProblem::Pattern),
                Some(Err(_)) => Err(FieldProblem::Pattern),
                _ => Ok(()),
            }
        }
        FieldKind::LongText { min_len, max_len } => check_text(text, *min_len, *max_len, true),
        FieldKind::Number {
            min, max, decimals, ..
        } => check_number(text, *min, *max, *decimals),
        FieldKind::Date { min, max } => check_date(text, *min, *max, context),
        FieldKind::Choice { options } => options
            .iter()
            .any(|o| o.value == text)
            .then_some(())
            .ok_or(FieldProblem::UnknownOption),
        FieldKind::Phone => ok_if(is_phone_number(text), FieldProblem::BadPhone),
        FieldKind::BankCard => ok_if(is_bank_card(text), FieldProblem::BadBankCard),
        FieldKind::IdNumber => ok_if(is_citizen_id_number(text), FieldProblem::BadIdNumber),
        FieldKind::MultiChoice { .. } | FieldKind::Address { .. } | FieldKind::Consent { .. } => {
            Err(FieldProblem::WrongType)
        }
    }
}

fn ok_if(good: bool, problem: FieldProblem) -> Result<(), FieldProblem> {
    if good { Ok(()) } else { Err(problem) }
}

fn check_text(text: &str, min: u16, max: u16, lines: bool) -> Result<(), FieldProblem> {
    if text
        .chars()
        .any(|c| c.is_control() && !(lines && c == '\n'))
    {
        return Err(FieldProblem::ControlCharacter);
    }
    let count = text.trim().chars().count();
    if count > usize::from(max) {
        return Err(FieldProblem::TooLong { max });
    }
    if count < usize::from(min) {
        return Err(FieldProblem::TooShort { min });
    }
    Ok(())
}

/// A decimal number in plain notation (`-12`, `3.75`), compared exactly: scaled to an integer
/// of `decimals` places, never through floating point.
fn check_number(text: &str, min: i64, max: i64, decimals: u8) -> Result<(), FieldProblem> {
    let not_a_number = FieldProblem::NotANumber { decimals };
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 18
        || !all_digits(whole)
        || !all_digits(fraction)
        || fraction.len() > usize::from(decimals)
        || (digits.contains('.') && fraction.is_empty())
    {
        return Err(not_a_number);
    }
    let scale = 10_i128.pow(u32::from(decimals));
    let padded = format!("{fraction:0<width$}", width = usize::from(decimals));
    let magnitude = whole.parse::<i128>().map_err(|_| not_a_number.clone())? * scale
        + if padded.is_empty() {
            0
        } else {
            padded.parse::<i128>().map_err(|_| not_a_number)?
        };
    let value = if negative { -magnitude } else { magnitude };
    if value < i128::from(min) * scale || value > i128::from(max) * scale {
        return Err(FieldProblem::OutOfRange { min, max });
    }
    Ok(())
}

fn check_date(
    text: &str,
    min: Option<DateLimit>,
    max: Option<DateLimit>,
    context: &AnswerContext<'_>,
) -> Result<(), FieldProblem> {
    let day = parse_date(text).ok_or(FieldProblem::NotADate)?;
    if let Some(earliest) = min.map(|m| m.resolve(context.earliest_today))
        && day < earliest
    {
        return Err(FieldProblem::DateTooEarly {
            earliest: format_date(earliest),
        });
    }
    if let Some(latest) = max.map(|m| m.resolve(context.latest_today))
        && day > latest
    {
        return Err(FieldProblem::DateTooLate {
            latest: format_date(latest),
        });
    }
    Ok(())
}

fn check_choices(
    options: &[super::definition::ChoiceOption],
    values: &[String],
    min: u8,
    max: u8,
) -> Result<(), FieldProblem> {
    let mut seen = std::collections::HashSet::new();
    for value in values {
        if !options.iter().any(|o| &o.value == value) || !seen.insert(value) {
            return Err(FieldProblem::UnknownOption);
        }
    }
    if values.len() < usize::from(min) {
        return Err(FieldProblem::TooFewChoices { min });
    }
    if values.len() > usize::from(max) {
        return Err(FieldProblem::TooManyChoices { max });
    }
    Ok(())
}
