//! The bundled Chinese translation as a table, for what the UI says outside the `.slint`
//! screens (the spoken instructions, [`crate::speech`]) and for the check that every string has
//! its translation.
//!
//! Slint compiles the same `.po` file into the screens, but offers no Rust call to look a
//! string up in it; reading the file here keeps one translation for the screens and the voice.

use std::collections::HashMap;

/// The Chinese translation, as bundled into the screens.
pub const ZH_CN_PO: &str = include_str!("../translations/zh_CN/LC_MESSAGES/kiosk-ui.po");

/// Separates a context from its source string in a [`catalog`] key, as gettext does.
pub const CONTEXT_SEPARATOR: char = '\u{4}';

/// The `msgid` → `msgstr` pairs of a `.po` file: single-line entries, as ours are written
/// (no escapes inside); a plural entry counts by its one Chinese form. An entry with a
/// `msgctxt` is keyed `context` + [`CONTEXT_SEPARATOR`] + `msgid`, so a sentence the voice says
/// differently from a screen keeps its own translation.
pub fn catalog(po: &str) -> HashMap<String, String> {
    let mut pairs = HashMap::new();
    let mut context: Option<&str> = None;
    let mut id: Option<String> = None;
    for line in po.lines() {
        if let Some(rest) = line.strip_prefix("msgctxt \"") {
            context = rest.strip_suffix('"');
        } else if let Some(rest) = line.strip_prefix("msgid \"") {
            id = rest.strip_suffix('"').map(|source| match context.take() {
                Some(context) => format!("{context}{CONTEXT_SEPARATOR}{source}"),
                None => source.to_owned(),
            });
        } else if let Some(rest) = line
            .strip_prefix("msgstr \"")
            .or_else(|| line.strip_prefix("msgstr[0] \""))
            && let (Some(key), Some(value)) = (id.take(), rest.strip_suffix('"'))
        {
            pairs.insert(key, value.to_owned());
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_keep_their_own_translation() {
        let po = "msgid \"Next\"\nmsgstr \"下一步\"\n\nmsgctxt \"speech\"\nmsgid \"Next\"\nmsgstr \"请继续\"\n\nmsgid \"{n} copy\"\nmsgid_plural \"{n} copies\"\nmsgstr[0] \"{n}份\"\n";
        let zh = catalog(po);
        assert_eq!(zh["Next"], "下一步");
        assert_eq!(zh["speech\u{4}Next"], "请继续");
        assert_eq!(zh["{n} copy"], "{n}份");
    }
}
