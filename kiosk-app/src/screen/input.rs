//! Input methods: what turns the keys of a text field's keyboard into committed text.
//!
//! The session core knows only committed text ([`Action::FormCommit`]) and, while a method
//! composes, what to show ([`Action::FormCompose`]: the preedit and the candidates). Every key,
//! candidate touch and erase of a text field's keyboard goes through the one [`InputMethod`]
//! the display holds ([`super::display::Display::set_input_method`]); a pinyin method (librime)
//! or a handwriting recogniser (zinnia, fed the pad's strokes) is another implementation of the
//! trait, swapped in there. Number pads, date steppers and pickers do not go through it:
//! their keys are committed as they are.

use crate::session::Action;

/// Turns keyboard touches into session actions.
pub trait InputMethod {
    /// A key of the keyboard (a letter, a digit, a space).
    fn key(&mut self, key: &str) -> Vec<Action>;
    /// The citizen touched candidate `index` of those last shown.
    fn choose(&mut self, index: usize) -> Vec<Action>;
    /// The erase key: the last letter of the composition, or (with nothing composing) the
    /// field's last character.
    fn erase(&mut self) -> Vec<Action>;
    /// The field or page changed: whatever was composing is dropped.
    fn reset(&mut self);
}

/// The keyboard as it is: each key commits its character at once. Used while no composing
/// method is installed; Chinese then comes only from a method that composes.
#[derive(Debug, Default)]
pub struct Direct;

impl InputMethod for Direct {
    fn key(&mut self, key: &str) -> Vec<Action> {
        if key.is_empty() {
            return Vec::new();
        }
        vec![Action::FormCommit(key.to_owned())]
    }

    fn choose(&mut self, _index: usize) -> Vec<Action> {
        // Direct input offers no candidates.
        Vec::new()
    }

    fn erase(&mut self) -> Vec<Action> {
        vec![Action::FormErase]
    }

    fn reset(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_input_commits_each_key_and_erases_the_field() {
        let mut method = Direct;
        assert_eq!(method.key("a"), vec![Action::FormCommit("a".into())]);
        assert_eq!(method.key(""), Vec::<Action>::new());
        assert_eq!(method.choose(0), Vec::<Action>::new());
        assert_eq!(method.erase(), vec![Action::FormErase]);
    }
}
