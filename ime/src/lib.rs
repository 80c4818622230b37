//! Chinese input for the terminal: pinyin composed through librime ([`pinyin`]) and single
//! characters written with a finger, recognised by zinnia ([`handwriting`]).
//!
//! Both are the libraries Chinese desktops use for the job, as Debian packages them (librime
//! with the `pinyin_simp` schema; zinnia with the tegaki simplified-Chinese model), so the
//! terminal inherits their dictionaries and models instead of shipping its own. This crate owns
//! the unsafe edges: what it hands out is plain Rust text without control characters, and what
//! it accepts (keys, strokes) is checked before either library sees it.
//!
//! Neither engine keeps what a citizen typed or wrote: rime's learning (its user dictionary on
//! disk) is switched off when the engine starts, and zinnia only classifies.

pub mod handwriting;
pub mod pinyin;
mod rime_sys;
mod text;
mod zinnia_sys;

pub use handwriting::{Handwriting, Stroke};
pub use pinyin::{Composer, KeyRefused, Menu, PinyinEngine};

use std::path::PathBuf;

/// Why an engine could not start. Typed text never appears here: only paths and the
/// libraries' own messages.
#[derive(Debug, thiserror::Error)]
pub enum ImeError {
    #[error("librime's API table is missing or older than 1.8 ({0} bytes)")]
    RimeTooOld(i32),
    #[error("the pinyin engine already runs with the data directories {0} and {1}")]
    EngineInUse(PathBuf, PathBuf),
    #[error("the path {0} cannot be passed to a C library (not UTF-8 or contains NUL)")]
    Path(PathBuf),
    #[error("cannot prepare the pinyin data directory {path}: {source}")]
    UserDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the pinyin schema {schema} did not deploy from {shared} into {user}")]
    NotDeployed {
        schema: &'static str,
        shared: PathBuf,
        user: PathBuf,
    },
    #[error("librime could not open a composition session")]
    NoSession,
    #[error("the handwriting model {path} cannot be opened: {reason}")]
    Model { path: PathBuf, reason: String },
}
