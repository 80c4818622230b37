//! Pinyin through librime: the [`InputMethod`] a text field's keyboard goes through when the
//! terminal's rime data is installed.
//!
//! Letters (and `'` between syllables) compose; the candidates travel to the session as an
//! [`Action::FormCompose`] and a touched candidate is committed as [`Action::FormCommit`].
//! Anything else typed while nothing composes (a digit, a space) is committed as it is; while
//! a composition is open, a space commits its first candidate, as on any pinyin keyboard.
//! rime's learning is off (see `kiosk_ime::pinyin`), so nothing a citizen types reaches the disk.

use std::path::Path;

use kiosk_ime::{Composer, ImeError, PinyinEngine};

use super::display::Display;
use super::input::InputMethod;
use crate::session::{Action, Composition};

/// The pinyin input method: one rime composition, reset with each field.
pub struct Pinyin {
    composer: Composer<'static>,
}

impl std::fmt::Debug for Pinyin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pinyin")
    }
}

impl Pinyin {
    /// Starts rime on Debian's shared data, deploying the schema into `user_dir` (the
    /// terminal's state folder) when it is missing or out of date.
    pub fn start(shared_dir: &Path, user_dir: &Path) -> Result<Self, ImeError> {
        let engine = PinyinEngine::start(shared_dir, user_dir)?;
        Ok(Self {
            composer: engine.composer()?,
        })
    }

    fn composition(&self) -> Action {
        Action::FormCompose(Composition {
            preedit: self.composer.preedit(),
            candidates: self.composer.menu().candidates,
        })
    }

    fn commit(&mut self, index: usize) -> Vec<Action> {
        match self.composer.choose(index) {
            Some(text) => vec![Action::FormCommit(text), self.composition()],
            None => Vec::new(),
        }
    }
}

impl InputMethod for Pinyin {
    fn key(&mut self, key: &str) -> Vec<Action> {
        let mut chars = key.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return Vec::new();
        };
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || (c == '\'' && self.composer.is_composing()) {
            return match self.composer.type_key(c) {
                Ok(()) => vec![self.composition()],
                Err(_) => Vec::new(),
            };
        }
        if self.composer.is_composing() {
            return if c == ' ' { self.commit(0) } else { Vec::new() };
        }
        vec![Action::FormCommit(key.to_owned())]
    }

    fn choose(&mut self, index: usize) -> Vec<Action> {
        self.commit(index)
    }

    fn erase(&mut self) -> Vec<Action> {
        if self.composer.is_composing() {
            self.composer.erase();
            vec![self.composition()]
        } else {
            vec![Action::FormErase]
        }
    }

    fn reset(&mut self) {
        self.composer.clear();
    }
}

/// Installs pinyin on `display` with the rime state under `user_dir`; when rime cannot start
/// (its data not installed), text fields keep the keyboard's direct input and the reason is
/// logged for the technician.
pub fn install(display: &Display, user_dir: &Path) {
    match Pinyin::start(Path::new(kiosk_ime::pinyin::DEBIAN_SHARED_DATA), user_dir) {
        Ok(pinyin) => display.set_input_method(Box::new(pinyin)),
        Err(e) => tracing::warn!("pinyin input unavailable, text fields take keys as typed: {e}"),
    }
}
