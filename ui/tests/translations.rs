//! Every string a screen shows or the voice says has its Chinese translation: a citizen reading
//! or listening in Chinese never meets an English sentence because a translation was forgotten.

use std::path::Path;

use kiosk_ui::speech::{self, Instruction};
use kiosk_ui::translation::{CONTEXT_SEPARATOR, catalog};

/// Every `@tr("…")` source string in the `.slint` files under `dir`, with its file.
fn sources(dir: &Path, found: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("ui folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "slint") {
            let text = std::fs::read_to_string(&path).expect("slint file");
            let mut rest = text.as_str();
            while let Some(at) = rest.find("@tr(\"") {
                rest = &rest[at + 5..];
                let mut end = 0;
                let bytes = rest.as_bytes();
                while end < bytes.len()
                    && !(bytes[end] == b'"' && (end == 0 || bytes[end - 1] != b'\\'))
                {
                    end += 1;
                }
                found.push((rest[..end].to_owned(), path.display().to_string()));
                rest = &rest[end..];
            }
        }
    }
}

#[test]
fn every_ui_string_has_a_chinese_translation_with_the_same_placeholders() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let po = std::fs::read_to_string(root.join("translations/zh_CN/LC_MESSAGES/kiosk-ui.po"))
        .expect("the Chinese translation");
    let zh = catalog(&po);
    let mut strings = Vec::new();
    sources(&root.join("ui"), &mut strings);
    assert!(strings.len() > 100, "the screens' strings were not found");
    // The spoken instructions, looked up in their own context.
    let spoken: Vec<(String, String)> = Instruction::ALL
        .iter()
        .map(|i| {
            (
                format!("{}{CONTEXT_SEPARATOR}{}", speech::CONTEXT, i.english()),
                "src/speech.rs".to_owned(),
            )
        })
        .collect();
    assert!(spoken.len() >= 40, "the spoken instructions were not found");
    let mut problems = Vec::new();
    for (source, file) in strings.iter().chain(&spoken) {
        match zh.get(source) {
            None => problems.push(format!("{file}: no translation of \"{source}\"")),
            Some(t) if t.trim().is_empty() => {
                problems.push(format!("{file}: empty translation of \"{source}\""))
            }
            Some(t) if t.matches('{').count() != source.matches('{').count() => problems.push(
                format!("{file}: \"{source}\" and \"{t}\" differ in placeholders"),
            ),
            Some(_) => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
