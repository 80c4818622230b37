//! rime learns from what is typed unless told not to, keeping a user dictionary on disk: on a
//! public terminal that would be a record of citizens' names and addresses. The engine starts
//! with learning off; this proves it on the real library by composing and committing, then
//! reading every file rime left in its directory. (A process of its own: the engine is one per
//! process and this one must start on a fresh directory.)

use std::path::{Path, PathBuf};

use kiosk_ime::pinyin::{DEBIAN_SHARED_DATA, PinyinEngine};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn nothing_typed_is_written_to_disk() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let engine = PinyinEngine::start(Path::new(DEBIAN_SHARED_DATA), dir.path()).expect("started");
    // Rare words a dictionary would only hold if it learned them, and common ones.
    let words = [
        ("zhangsanfeng", "张三丰"),
        ("lianyungang", "连云港"),
        ("shebao", "社保"),
        ("haizhouqu", "海州区"),
    ];
    for _ in 0..3 {
        for (pinyin, word) in words {
            let mut composer = engine.composer().expect("a session");
            for key in pinyin.chars() {
                composer.type_key(key).expect("a key");
            }
            // Commit the word, syllable by syllable when it is not offered whole.
            let mut committed = None;
            for ch in word.chars() {
                let text = composer.candidates();
                let index = text
                    .iter()
                    .position(|c| c == word)
                    .or_else(|| text.iter().position(|c| c.starts_with(ch)))
                    .unwrap_or_else(|| panic!("{word}: nothing to choose in {text:?}"));
                committed = composer.choose(index);
                if committed.is_some() {
                    break;
                }
            }
            assert_eq!(committed.as_deref(), Some(word));
        }
    }
    let all = files(dir.path());
    assert!(!all.is_empty(), "rime wrote its configuration");
    for path in &all {
        assert!(
            !path.to_string_lossy().contains("userdb"),
            "a user dictionary exists: {}",
            path.display()
        );
        let bytes = std::fs::read(path).expect("readable");
        for (pinyin, word) in words {
            for needle in [word.as_bytes(), pinyin.as_bytes()] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "{} holds {pinyin}/{word}",
                    path.display()
                );
            }
        }
    }
}
