//! The 连易办 touch UI.
//!
//! Screens live in `.slint` files under `ui/` (one file per page, shared widgets under
//! `components/`, colours and sizes in the `Theme` global, state in one global per area under
//! `state/`: `Kiosk` for the page, modes and the `touched(Touch, …)` callback, `Devices`,
//! `Catalog`, `Application`, `Errands`, `Technician`). This crate compiles them and adds the
//! little Rust the screens need: language selection, QR images, the spoken instructions and
//! their translation, the handwriting pad's strokes ([`ink::Ink`]), headless rendering into
//! PNG files for screenshots and tests, and the screen as assistive technology reads it
//! (`screen_reader`, what `kiosk drive` sees).

pub mod headless;
pub mod ink;
pub mod qr;
pub mod screen_reader;
pub mod speech;
pub mod translation;

slint::include_modules!();

/// Why the UI could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// Slint's platform could not be set up (a second platform, or no display).
    #[error("cannot set up the display: {0}")]
    Platform(String),
    /// A screenshot could not be written.
    #[error("cannot write screenshot {path}: {detail}")]
    Screenshot {
        /// Target file.
        path: std::path::PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// A QR payload does not fit in a QR code.
    #[error("text too long for a QR code ({0} bytes)")]
    QrTooLong(usize),
}

/// Switches every `@tr` string of the UI to Chinese (`english == false`) or English.
///
/// The `.slint` sources are written in English and carry a bundled Chinese translation, so
/// English is the untranslated default. Call after the first component exists.
pub fn select_language(english: bool) {
    // Both translations are compiled in; selecting one of them cannot fail.
    let _ = slint::select_bundled_translation(if english { "" } else { "zh_CN" });
}
