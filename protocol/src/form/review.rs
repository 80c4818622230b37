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

/// Whether card and ID numbers are shown whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Numbers {
    /// Whole: the citizen checks what they typed.
    Whole,
    /// The last four digits only.
    Masked,
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

fn in_words(
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
        (FieldKind::BankCard | FieldKind::IdNumber, Answer::Text(number))
            if numbers == Numbers::Masked =>
        {
            let tail: String = number
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            same(format!("****{tail}"))
        }
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
