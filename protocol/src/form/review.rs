//! A form's answers as a citizen reads them back: each shown field's question and its answer in
//! words (an option's label, not its value; a township's name, not its code).
//!
//! The same lines serve the terminal's review screen and 办件查询, where the card holder sees
//! what they applied with; there card and ID numbers are masked, since the screen of a kiosk
//! in a hall is seen by more than the card holder.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::answers::{Answer, FormAnswers};
use super::definition::{FieldKind, FormDefinition, FormField};
use super::region::Region;
use crate::text::LocalizedText;

/// One answered question, in words.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AnswerLine {
    /// The field's id.
    pub field: String,
    /// The question.
    pub label: LocalizedText,
    /// The answer in words.
    pub value: LocalizedText,
}

impl std::fmt::Debug for AnswerLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerLine")
            .field("field", &self.field)
            .finish_non_exhaustive()
    }
}

/// How one kind of personal number is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mask {
    /// Whole: the citizen checks what they typed.
    Whole,
    /// Every character starred but the last 4, the length kept: the citizen sees they typed
    /// all the digits without the screen showing the number to the queue behind them.
    Starred,
    /// `****` and the last 4: neither the number nor its length, for what others may read.
    LastFour,
}

impl Mask {
    /// `number` as this mask shows it.
    pub fn apply(self, number: &str) -> String {
        let count = number.chars().count();
        let tail = || {
            number
                .chars()
                .skip(count.saturating_sub(4))
                .collect::<String>()
        };
        match self {
            Mask::Whole => number.to_owned(),
            Mask::Starred => number
                .chars()
                .enumerate()
                .map(|(i, c)| if i + 4 < count { '*' } else { c })
                .collect(),
            Mask::LastFour => format!("****{}", tail()),
        }
    }
}

/// How card, ID and phone numbers are shown when an answer is put in words: the one place
/// that decides it, so that the review screen, 办件查询 and the receipt cannot drift apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numbers {
    /// Bank card numbers.
    pub bank_card: Mask,
    /// Resident ID numbers.
    pub id_number: Mask,
    /// Phone numbers.
    pub phone: Mask,
}

impl Numbers {
    const fn of(bank_card: Mask, id_number: Mask, phone: Mask) -> Numbers {
        Numbers {
            bank_card,
            id_number,
            phone,
        }
    }

    /// Everything whole.
    pub const WHOLE: Numbers = Numbers::of(Mask::Whole, Mask::Whole, Mask::Whole);
    /// The terminal's review screen: the citizen checks an ID number as typed, while a bank
    /// card (which moves money) is starred but keeps its length.
    pub const REVIEW: Numbers = Numbers::of(Mask::Starred, Mask::Whole, Mask::Whole);
    /// What the platform returns to 办件查询: card and ID numbers to their last 4, since the
    /// screen of a kiosk in a hall is seen by more than the card holder.
    pub const QUERIED: Numbers = Numbers::of(Mask::LastFour, Mask::LastFour, Mask::Whole);
    /// A printed receipt: as queried, and the phone too, since paper is left on counters and
    /// in the tray where anyone picks it up.
    pub const PRINTED: Numbers = Numbers::of(Mask::LastFour, Mask::LastFour, Mask::LastFour);
}

impl FormDefinition {
    /// Every shown field that has an answer, in form order, in words.
    pub fn answer_lines(
        &self,
        answers: &FormAnswers,
        regions: &[Region],
        numbers: Numbers,
    ) -> Vec<AnswerLine> {
        self.fields()
            .filter(|f| self.is_visible(f, answers))
            .filter_map(|field| {
                let answer = answers.0.get(&field.id).filter(|a| !a.is_blank())?;
                Some(AnswerLine {
                    field: field.id.clone(),
                    label: field.label.clone(),
                    value: in_words(field, answer, regions, numbers),
                })
            })
            .collect()
    }
}

/// One answer in words, in both languages: an option by its label, a township by its full
/// name, a number with its unit, personal numbers masked as `numbers` says. The review screen,
/// the platform's answer lines and the receipt all read answers through here.
pub fn in_words(
    field: &FormField,
    answer: &Answer,
    regions: &[Region],
    numbers: Numbers,
) -> LocalizedText {
    let same = |text: String| LocalizedText::new(text.clone(), text);
    let option = |value: &str| {
        field
            .kind
            .options()
            .iter()
            .find(|o| o.value == value)
            .map_or_else(|| same(value.to_owned()), |o| o.label.clone())
    };
    match (&field.kind, answer) {
        (_, Answer::Flag(true)) => LocalizedText::new("同意", "Agreed"),
        (_, Answer::Flag(false)) => LocalizedText::new("不同意", "Not agreed"),
        (FieldKind::Choice { .. }, Answer::Text(value)) => option(value),
        (_, Answer::Choices(values)) => {
            let labels: Vec<LocalizedText> = values.iter().map(|v| option(v)).collect();
            let join = |pick: fn(&LocalizedText) -> &str, with: &str| {
                labels.iter().map(pick).collect::<Vec<_>>().join(with)
            };
            LocalizedText::new(join(|l| &l.zh, "、"), join(|l| &l.en, ", "))
        }
        (_, Answer::Address(address)) => {
            let place = Region::full_name(regions, &address.region)
                .unwrap_or_else(|| same(address.region.clone()));
            LocalizedText::new(
                format!("{}{}", place.zh, address.street),
                format!("{}, {}", address.street, place.en),
            )
        }
        (FieldKind::BankCard, Answer::Text(number)) => same(numbers.bank_card.apply(number)),
        (FieldKind::IdNumber, Answer::Text(number)) => same(numbers.id_number.apply(number)),
        (FieldKind::Phone, Answer::Text(number)) => same(numbers.phone.apply(number)),
        (
            FieldKind::Number {
                unit: Some(unit), ..
            },
            Answer::Text(number),
        ) => LocalizedText::new(
            format!("{number}{}", unit.zh),
            format!("{number} {}", unit.en),
        ),
        (_, Answer::Text(text)) => same(text.clone()),
    }
}
