//! Pinyin through the real librime with Debian's `pinyin_simp` schema. The engine is one per
//! process, so every test here composes on the same engine, each in its own composer.

use std::path::Path;
use std::sync::OnceLock;

use kiosk_ime::ImeError;
use kiosk_ime::pinyin::{
    Composer, DEBIAN_SHARED_DATA, KeyRefused, MAX_INPUT, PAGE_SIZE, PinyinEngine,
};

fn state_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temporary directory"))
        .path()
}

fn engine() -> &'static PinyinEngine {
    PinyinEngine::start(Path::new(DEBIAN_SHARED_DATA), state_dir())
        .expect("librime and rime-data-pinyin-simp are installed")
}

fn typed(word: &str) -> Composer<'static> {
    let mut composer = engine().composer().expect("a session");
    for key in word.chars() {
        composer.type_key(key).expect("a pinyin key");
    }
    composer
}

fn position(composer: &Composer, text: &str) -> usize {
    let candidates = composer.candidates();
    candidates
        .iter()
        .position(|c| c == text)
        .unwrap_or_else(|| panic!("{text} not on the page: {candidates:?}"))
}

#[test]
fn typed_pinyin_offers_the_words_first() {
    for (pinyin, word) in [
        ("nihao", "你好"),
        ("lianyungang", "连云港"),
        ("shebao", "社保"),
        ("xi'an", "西安"),
    ] {
        let composer = typed(pinyin);
        let candidates = composer.candidates();
        assert!(candidates.len() <= PAGE_SIZE);
        assert!(
            candidates.iter().take(3).any(|c| c == word),
            "{pinyin}: {word} not among the first three of {candidates:?}"
        );
        assert!(candidates.iter().all(|c| !c.chars().any(char::is_control)));
    }
}

#[test]
fn choosing_a_candidate_commits_it() {
    let mut composer = typed("nihao");
    assert_eq!(composer.preedit(), "ni hao");
    let index = position(&composer, "你好");
    assert_eq!(composer.choose(index).as_deref(), Some("你好"));
    assert!(!composer.is_composing());
    assert!(composer.candidates().is_empty());
    // An index off the page commits nothing.
    let mut composer = typed("shebao");
    assert_eq!(composer.choose(PAGE_SIZE), None);
    assert_eq!(composer.input(), "shebao");
}

#[test]
fn a_partial_choice_keeps_composing_the_rest() {
    let mut composer = typed("lianyungang");
    let lian = position(&composer, "连");
    assert_eq!(composer.choose(lian), None);
    assert!(
        composer.preedit().starts_with('连'),
        "{}",
        composer.preedit()
    );
    assert!(composer.is_composing());
    assert_eq!(composer.input(), "lianyungang");
    // Erasing right after a partial choice undoes it, as rime does.
    assert!(composer.erase());
    assert!(!composer.preedit().contains('连'), "{}", composer.preedit());
    assert_eq!(composer.choose(lian), None);
    let yun = position(&composer, "云");
    assert_eq!(composer.choose(yun), None);
    let gang = position(&composer, "港");
    assert_eq!(composer.choose(gang).as_deref(), Some("连云港"));
    assert!(!composer.is_composing());
}

#[test]
fn erase_removes_the_last_key() {
    let mut composer = typed("shebaok");
    assert!(composer.erase());
    assert_eq!(composer.input(), "shebao");
    assert!(composer.candidates().iter().any(|c| c == "社保"));
    while composer.erase() {}
    assert_eq!(composer.input(), "");
    assert!(composer.candidates().is_empty());
    assert!(!composer.erase());
}

#[test]
fn anything_but_pinyin_letters_is_refused() {
    let mut composer = typed("ni");
    for key in [
        'A', 'Z', '1', '0', ' ', '\n', '\r', '\t', '\u{7}', '\u{1b}', '`', '/', ';', '.', '中', 'é',
    ] {
        assert_eq!(
            composer.type_key(key),
            Err(KeyRefused::NotPinyin),
            "{key:?}"
        );
    }
    assert_eq!(composer.input(), "ni");
    let mut empty = engine().composer().expect("a session");
    assert_eq!(empty.type_key('\''), Err(KeyRefused::StraySeparator));
    assert!(!empty.is_composing());
    composer
        .type_key('\'')
        .expect("a separator after a syllable");
    assert_eq!(composer.type_key('\''), Err(KeyRefused::StraySeparator));
}

#[test]
fn the_composition_has_a_length_limit() {
    let mut composer = engine().composer().expect("a session");
    for _ in 0..MAX_INPUT / 2 {
        composer.type_key('n').expect("a key");
        composer.type_key('i').expect("a key");
    }
    assert_eq!(composer.type_key('n'), Err(KeyRefused::TooLong));
    assert_eq!(composer.input().len(), MAX_INPUT);
}

#[test]
fn pages_turn_both_ways() {
    let mut composer = typed("shi");
    let first = composer.menu();
    assert_eq!((first.page, first.candidates.len()), (0, PAGE_SIZE));
    assert!(!composer.previous_page(), "no page before the first");
    assert!(composer.next_page());
    let second = composer.menu();
    assert_eq!(second.page, 1);
    assert!(
        second
            .candidates
            .iter()
            .all(|c| !first.candidates.contains(c))
    );
    assert!(composer.previous_page());
    assert_eq!(composer.menu(), first);
    // Paging ends on the last page.
    let mut composer = typed("nihao");
    let mut turns = 0;
    while composer.next_page() {
        turns += 1;
        assert!(turns < 1000, "paging never ends");
    }
    assert!(composer.menu().last_page);
    // Nothing composed: nothing to turn.
    let mut empty = engine().composer().expect("a session");
    assert!(!empty.next_page());
}

#[test]
fn composers_are_independent_and_cleared() {
    let mut one = typed("shebao");
    let two = typed("nihao");
    assert_eq!(one.input(), "shebao");
    assert_eq!(two.input(), "nihao");
    drop(two);
    one.clear();
    assert!(!one.is_composing());
    assert_eq!(one.preedit(), "");
    let three = engine().composer().expect("a session");
    assert!(!three.is_composing(), "a new composer starts empty");
}

#[test]
fn the_engine_has_one_owner_per_process() {
    let first = engine();
    assert!(
        std::ptr::eq(first, engine()),
        "the same directories give the same engine"
    );
    let other = tempfile::tempdir().expect("temporary directory");
    assert!(matches!(
        PinyinEngine::start(Path::new(DEBIAN_SHARED_DATA), other.path()),
        Err(ImeError::EngineInUse(..))
    ));
}
