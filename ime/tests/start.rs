//! Starting the pinyin engine: a missing schema is a clear error at start (not at a
//! citizen's first keystroke), after which a start with the right data still works; and a
//! user dictionary left in the directory is removed. (A process of its own: the engine is one
//! per process.)

use std::path::Path;

use kiosk_ime::ImeError;
use kiosk_ime::pinyin::{DEBIAN_SHARED_DATA, PinyinEngine};

#[test]
fn a_missing_schema_fails_the_start_and_a_right_start_follows() {
    let state = tempfile::tempdir().expect("temporary directory");
    let no_schemas = tempfile::tempdir().expect("temporary directory");
    match PinyinEngine::start(no_schemas.path(), state.path()) {
        Err(ImeError::NotDeployed { schema, .. }) => assert_eq!(schema, "pinyin_simp"),
        Err(other) => panic!("expected NotDeployed, got {other}"),
        Ok(_) => panic!("started without a schema"),
    }

    // What an earlier, learning rime would have left behind.
    let learnt = state.path().join("pinyin_simp.userdb");
    std::fs::create_dir_all(&learnt).expect("created");
    std::fs::write(learnt.join("000003.log"), "zhang san 张三").expect("written");
    std::fs::write(state.path().join("pinyin_simp.userdb.txt"), "张三").expect("written");

    let engine = PinyinEngine::start(Path::new(DEBIAN_SHARED_DATA), state.path()).expect("started");
    let mut composer = engine.composer().expect("a session");
    for key in "shebao".chars() {
        composer.type_key(key).expect("a key");
    }
    assert!(composer.candidates().iter().any(|c| c == "社保"));
    assert!(!learnt.exists(), "the old user dictionary is gone");
    assert!(!state.path().join("pinyin_simp.userdb.txt").exists());
}
