//! The release repository's file names: the platform serves `/v1/updates/tuf/metadata/{name}`
//! and `/v1/updates/tuf/targets/{name}` to anyone, deciding by name alone what may be read.
//!
//! Invariants: no panic; an accepted name never reaches outside its directory (no `/`, no
//! `\`, no NUL, not `.` or `..`); a parsed target name is exactly the name `target_name`
//! builds from its parts.

#![no_main]

use kiosk_release::names::{
    is_arch, is_metadata_file_name, is_target_file_name, parse_target_name, target_name,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(name) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((kind, version, arch)) = parse_target_name(name) {
        assert!(is_arch(arch));
        assert!(kiosk_protocol::is_release_version(version));
        assert_eq!(target_name(kind, version, arch), name);
        assert_safe(name);
    }
    if is_metadata_file_name(name) {
        assert_safe(name);
        assert!(name.ends_with(".json"));
    }
    if is_target_file_name(name) {
        assert_safe(name);
        assert!(name.is_ascii());
        assert!(parse_target_name(&name[65..]).is_some());
    }
});

fn assert_safe(name: &str) {
    assert!(!name.is_empty() && name != "." && name != "..");
    assert!(!name.contains(['/', '\\', '\0']), "{name:?}");
    assert!(!name.starts_with('.'), "{name:?}");
}
