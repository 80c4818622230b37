//! Handwriting through zinnia: what the form's handwriting pad turns into committed text.
//!
//! The pad reports a finger's strokes in its own coordinates; [`Writing`] keeps them as
//! [`Ink`] (drawn back on the pad), asks the recogniser for the characters they may be each
//! time a stroke ends or is erased, and commits the one the citizen touches to the focused
//! field as an [`Action::FormCommit`] — the same action a pinyin candidate becomes, so the
//! session core checks and keeps it like any typed text. Strokes never leave the display:
//! they are dropped with each chosen character, each change of field and the end of the form.

use std::path::{Path, PathBuf};

use kiosk_ime::Handwriting;
use kiosk_ui::ink::Ink;
use kiosk_ui::{Form, KioskWindow, Touch};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use crate::session::Action;

/// Characters offered for what is written: the candidate bar's two rows of four.
pub const CANDIDATES: usize = 8;

/// The handwriting pad's state: whether it stands in for the keyboard, the strokes on it and
/// the characters they may be.
#[derive(Default)]
pub struct Writing {
    /// zinnia's model; none where it is not installed (the pad is not offered).
    model: Option<PathBuf>,
    /// The recogniser, loaded when a citizen first asks for the pad and dropped when the form
    /// is over: its model maps some 26 MiB, which a terminal at home has no use for.
    recogniser: Option<Handwriting>,
    /// The pad is up instead of the keyboard.
    on: bool,
    /// The pad's side the strokes are measured against.
    side: f32,
    ink: Ink,
    candidates: Vec<String>,
}

impl std::fmt::Debug for Writing {
    // The strokes are the citizen's handwriting: only their count is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writing")
            .field("available", &self.available())
            .field("loaded", &self.recogniser.is_some())
            .field("on", &self.on)
            .field("strokes", &self.ink.strokes().len())
            .finish()
    }
}

impl Writing {
    /// A pad that recognises with the model at `model`, loaded on first use.
    pub fn new(model: PathBuf) -> Self {
        Self {
            model: Some(model),
            ..Self::default()
        }
    }

    /// Whether the pad can be offered at all.
    pub fn available(&self) -> bool {
        self.model.is_some()
    }

    /// Whether the recogniser is in memory.
    pub fn loaded(&self) -> bool {
        self.recogniser.is_some()
    }

    /// The pad goes up: the recogniser is loaded if it is not. A model that will not load
    /// is not offered again (the technician finds the reason in the log).
    fn raise(&mut self) {
        if self.recogniser.is_none()
            && let Some(model) = &self.model
        {
            match Handwriting::open(model) {
                Ok(recogniser) => self.recogniser = Some(recogniser),
                Err(e) => {
                    tracing::warn!("handwriting input unavailable, the pad is withdrawn: {e}");
                    self.model = None;
                }
            }
        }
        self.on = self.recogniser.is_some();
    }

    /// Finger down at (`x`, `y`) on a pad of side `side`: a new stroke.
    pub fn begin(&mut self, x: f32, y: f32, side: f32) {
        if !self.on {
            return;
        }
        if side != self.side {
            // The pad changed size (长辈版, another panel): strokes of the old size are void.
            self.side = side;
            self.ink = Ink::new(side, side);
            self.candidates.clear();
        }
        self.ink.begin(x, y);
    }

    /// Finger moved to (`x`, `y`).
    pub fn extend(&mut self, x: f32, y: f32) {
        if self.on {
            self.ink.extend(x, y);
        }
    }

    /// Finger up: the characters the strokes so far may be.
    pub fn end(&mut self) {
        if self.ink.end() {
            self.recognise();
        }
    }

    /// A touch of the pad's own buttons or of the toggle; the actions for the session (a chosen
    /// character). Other touches give none.
    pub fn touch(&mut self, touch: Touch, argument: &str) -> Vec<Action> {
        match touch {
            Touch::FormHandwriting => {
                if argument == "on" {
                    self.raise();
                } else {
                    self.on = false;
                }
                self.clear();
            }
            Touch::FormInkErase => {
                self.ink.erase_stroke();
                self.recognise();
            }
            Touch::FormInkClear => self.clear(),
            Touch::FormWritten => {
                let chosen = argument
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| self.candidates.get(i).cloned());
                if let Some(text) = chosen {
                    self.clear();
                    return vec![Action::FormCommit(text)];
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// The field or the page changed: what was written is dropped (the pad stays up, as the
    /// citizen chose it).
    pub fn reset(&mut self) {
        self.clear();
    }

    /// The form is over: the pad goes down, nothing written remains, and the recogniser's
    /// memory is given back until the next citizen asks for the pad.
    pub fn close(&mut self) {
        self.on = false;
        self.recogniser = None;
        self.clear();
    }

    /// Shows the pad's state on the form page.
    pub fn show(&self, window: &KioskWindow) {
        let form = window.global::<Form>();
        form.set_handwriting_available(self.available());
        form.set_handwriting(self.on);
        form.set_ink(self.ink.path_commands().into());
        form.set_written(ModelRc::new(VecModel::from(
            self.candidates
                .iter()
                .map(|c| SharedString::from(c.as_str()))
                .collect::<Vec<_>>(),
        )));
    }

    /// Shows only the ink: what a finger's move changes. The candidates stay as they are, so
    /// the candidate bar is not rebuilt at every pointer event.
    pub fn show_ink(&self, window: &KioskWindow) {
        window
            .global::<Form>()
            .set_ink(self.ink.path_commands().into());
    }

    fn clear(&mut self) {
        self.ink.clear();
        self.candidates.clear();
    }

    fn recognise(&mut self) {
        self.candidates = match &self.recogniser {
            Some(recogniser) if !self.ink.is_empty() => recogniser
                .recognize(self.ink.strokes(), self.side, self.side, CANDIDATES)
                .into_iter()
                .map(|(text, _)| text)
                // A character is what a field takes; anything else zinnia might return is not
                // offered.
                .filter(|text| !text.chars().any(char::is_control))
                .collect(),
            _ => Vec::new(),
        };
    }
}

/// The pad for the form's text fields, with Debian's simplified-Chinese model for zinnia;
/// where the model is missing the pad is not offered and the reason is logged for the
/// technician. The model is only checked here, and loaded when a citizen first asks for the pad.
pub fn open() -> Option<Writing> {
    let model = Path::new(kiosk_ime::handwriting::DEBIAN_MODEL);
    match std::fs::metadata(model) {
        Ok(_) => Some(Writing::new(model.to_path_buf())),
        Err(e) => {
            tracing::warn!(
                "handwriting input unavailable, the pad is not offered: {}: {e}",
                model.display()
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 十 on a 300 × 300 pad.
    fn ten(writing: &mut Writing) {
        for (from, to) in [
            ((40.0, 140.0), (260.0, 138.0)),
            ((150.0, 40.0), (150.0, 270.0)),
        ] {
            writing.begin(from.0, from.1, 300.0);
            for i in 1..=12 {
                let t = i as f32 / 12.0;
                writing.extend(from.0 + (to.0 - from.0) * t, from.1 + (to.1 - from.1) * t);
            }
            writing.end();
        }
    }

    #[test]
    fn a_written_character_is_offered_and_the_chosen_one_committed() {
        let Some(mut writing) = open() else {
            panic!("tegaki-zinnia-simplified-chinese is installed by scripts/install-deps");
        };
        // Strokes while the pad is down draw nothing; the model is not loaded until asked for.
        ten(&mut writing);
        assert!(writing.candidates.is_empty());
        assert!(!writing.loaded());
        writing.touch(Touch::FormHandwriting, "on");
        assert!(writing.loaded());
        ten(&mut writing);
        let at = writing
            .candidates
            .iter()
            .position(|c| c == "十")
            .unwrap_or_else(|| panic!("十 not offered: {:?}", writing.candidates));
        assert!(writing.candidates.len() <= CANDIDATES);
        assert_eq!(
            writing.touch(Touch::FormWritten, &at.to_string()),
            vec![Action::FormCommit("十".into())]
        );
        // Chosen: the pad is clean for the next character.
        assert!(writing.ink.is_empty() && writing.candidates.is_empty());
        // A candidate index that is not offered commits nothing.
        assert!(writing.touch(Touch::FormWritten, "3").is_empty());
        assert!(writing.touch(Touch::FormWritten, "x").is_empty());
    }

    #[test]
    fn erasing_strokes_and_changing_field_drop_what_was_written() {
        let Some(mut writing) = open() else {
            panic!("tegaki-zinnia-simplified-chinese is installed by scripts/install-deps");
        };
        writing.touch(Touch::FormHandwriting, "on");
        ten(&mut writing);
        writing.touch(Touch::FormInkErase, "");
        assert_eq!(writing.ink.strokes().len(), 1);
        writing.touch(Touch::FormInkErase, "");
        assert!(writing.candidates.is_empty(), "{:?}", writing.candidates);
        ten(&mut writing);
        writing.reset();
        assert!(writing.ink.is_empty() && writing.candidates.is_empty());
        assert!(writing.on, "the pad stays up for the next field");
        writing.close();
        assert!(!writing.on);
        assert!(!writing.loaded(), "the model's memory is given back");
        assert!(format!("{writing:?}").contains("strokes: 0"));
    }

    #[test]
    fn a_model_that_will_not_load_withdraws_the_pad() {
        let dir = tempfile::tempdir().expect("temp dir");
        let broken = dir.path().join("broken.model");
        std::fs::write(&broken, b"not a zinnia model").expect("model file");
        let mut writing = Writing::new(broken);
        assert!(writing.available());
        writing.touch(Touch::FormHandwriting, "on");
        assert!(!writing.on && !writing.available());
    }

    #[test]
    fn without_a_recogniser_the_pad_is_not_offered() {
        let mut writing = Writing::default();
        assert!(!writing.available());
        writing.touch(Touch::FormHandwriting, "on");
        ten(&mut writing);
        assert!(!writing.on && writing.ink.is_empty());
    }
}
