//! Application forms (在线填写) defined with the catalog, and the one implementation of their rules.
//!
//! A department defines its matter's form on the platform; every terminal renders it without a
//! firmware release. The same code checks a definition (at import, publish and editor save), a
//! citizen's answers while they type (on the terminal) and the answers that arrive (on the
//! platform), so the two sides cannot disagree about what is valid.
//!
//! - [`definition`]: the form's shape — sections, fields and their kinds — and
//!   [`FormDefinition::check`], which names the path of whatever is wrong with it;
//! - [`answers`]: a citizen's [`FormAnswers`], [`FormDefinition::check_answers`] and the
//!   [`FieldProblem`]s shown next to a field in the citizen's language;
//! - [`numbers`]: the check digits of ID numbers (GB 11643) and bank cards (Luhn), phone numbers;
//! - [`region`]: the administrative areas an address picks from;
//! - [`review`]: the answers read back in words (review screen, 办件查询).

pub mod answers;
pub mod definition;
pub mod numbers;
pub mod region;
pub mod review;

pub use answers::{AddressAnswer, Answer, AnswerContext, AnswerError, FieldProblem, FormAnswers};
pub use definition::{
    CardField, ChoiceOption, DateLimit, DefinitionError, FieldKind, FormDefinition, FormField,
    FormSection, Prefill, VisibleWhen,
};
pub use region::Region;
pub use review::{AnswerLine, Mask, Numbers, in_words};

#[cfg(test)]
mod tests;
