//! What a citizen sees and hears of a [`View`](crate::session::View): [`display`] applies it to
//! the Slint screens (and turns touches back into session actions), [`voice`] speaks its main
//! instruction. The screens themselves — pages, widgets, theme, translations — are the
//! `kiosk-ui` crate; this room only maps the session's views onto them. The window that runs
//! the screens beside the session driver is [`crate::window`].

pub mod display;
pub mod handwriting;
pub mod input;
pub mod pinyin;
pub mod preview;
mod progress;
pub mod voice;
