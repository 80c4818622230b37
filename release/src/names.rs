//! Names in a release repository: TUF target names for releases, and the file names the
//! repository's two directories can hold.
//!
//! The platform serves these files to anyone (the metadata is signed, terminals verify it), so
//! what may be served is decided by name alone: a name that this module does not accept can
//! never reach the file system.

use kiosk_protocol::update::{ReleaseKind, is_release_version};

/// Longest accepted architecture name (`x86_64`, `aarch64`, `armv7`…).
const MAX_ARCH_LEN: usize = 16;

/// A CPU architecture as releases name it: 1 to 16 of `a-z 0-9 _`, starting with a letter.
///
/// No `-`, so a target name splits unambiguously at its last `-` (versions may contain `-`).
pub fn is_arch(arch: &str) -> bool {
    (1..=MAX_ARCH_LEN).contains(&arch.len())
        && arch.as_bytes()[0].is_ascii_lowercase()
        && arch
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The TUF target name of a release: `kiosk-<version>-<arch>` for the application,
/// `os-<version>-<arch>.raucb` for a RAUC system image.
pub fn target_name(kind: ReleaseKind, version: &str, arch: &str) -> String {
    match kind {
        ReleaseKind::App => format!("kiosk-{version}-{arch}"),
        ReleaseKind::Os => format!("os-{version}-{arch}.raucb"),
    }
}

/// The kind, version and architecture a target name stands for, if it is one
/// [`target_name`] makes.
pub fn parse_target_name(name: &str) -> Option<(ReleaseKind, &str, &str)> {
    let (kind, rest) = if let Some(rest) = name.strip_prefix("kiosk-") {
        (ReleaseKind::App, rest)
    } else {
        let rest = name.strip_prefix("os-")?.strip_suffix(".raucb")?;
        (ReleaseKind::Os, rest)
    };
    let (version, arch) = rest.rsplit_once('-')?;
    (is_release_version(version) && is_arch(arch)).then_some((kind, version, arch))
}

/// Whether `name` is a file the repository's `metadata/` directory can hold: `timestamp.json`,
/// `root.json` (the newest root, handed to terminals at enrollment) or `N.root.json`,
/// `N.snapshot.json`, `N.targets.json` (consistent snapshots).
pub fn is_metadata_file_name(name: &str) -> bool {
    if name == "timestamp.json" || name == "root.json" {
        return true;
    }
    let Some((version, role)) = name.split_once('.') else {
        return false;
    };
    is_metadata_version(version) && matches!(role, "root.json" | "snapshot.json" | "targets.json")
}

/// A metadata version as it appears in a file name: a positive decimal without leading zeros
/// that fits a `u64`.
fn is_metadata_version(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 20
        && !text.starts_with('0')
        && text.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<u64>().is_ok()
}

/// Whether `name` is a file the repository's `targets/` directory can hold:
/// `<sha256 hex>.<target name>`, the consistent-snapshot name of a release.
pub fn is_target_file_name(name: &str) -> bool {
    let Some((digest, target)) = name.split_at_checked(64) else {
        return false;
    };
    digest
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && target
            .strip_prefix('.')
            .is_some_and(|t| parse_target_name(t).is_some())
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_names_round_trip_and_refuse_lookalikes() {
        let name = target_name(ReleaseKind::App, "1.2.0-rc1", "x86_64");
        assert_eq!(name, "kiosk-1.2.0-rc1-x86_64");
        assert_eq!(
            parse_target_name(&name),
            Some((ReleaseKind::App, "1.2.0-rc1", "x86_64"))
        );
        let os = target_name(ReleaseKind::Os, "2026.11.1", "aarch64");
        assert_eq!(os, "os-2026.11.1-aarch64.raucb");
        assert_eq!(
            parse_target_name(&os),
            Some((ReleaseKind::Os, "2026.11.1", "aarch64"))
        );
        for bad in [
            "kiosk-1.0",
            "kiosk--x86_64",
            "os-1.0-aarch64",
            "kiosk-v1.0-x86_64",
            "kiosk-1.0-X86",
            "kiosk-1.0-../x",
            "kiosk-1.0-x86/64",
        ] {
            assert_eq!(parse_target_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_repository_file_names_pass() {
        for good in [
            "timestamp.json",
            "root.json",
            "1.root.json",
            "12.snapshot.json",
            "3.targets.json",
        ] {
            assert!(is_metadata_file_name(good), "{good}");
        }
        for bad in [
            "",
            "..",
            "../root.json",
            "0.root.json",
            "01.root.json",
            "1.mirrors.json",
            "x.root.json",
            "1.root.json/..",
            "99999999999999999999.root.json",
            "timestamp.json.tmp",
        ] {
            assert!(!is_metadata_file_name(bad), "{bad}");
        }
        let digest = "ab".repeat(32);
        assert!(is_target_file_name(&format!("{digest}.kiosk-1.0.0-x86_64")));
        assert!(!is_target_file_name(&format!(
            "{digest}.kiosk-1.0.0-x86_64/.."
        )));
        assert!(!is_target_file_name(&format!(
            "{}.kiosk-1.0.0-x86_64",
            "AB".repeat(32)
        )));
        assert!(!is_target_file_name(&format!("{digest}kiosk-1.0.0-x86_64")));
        assert!(!is_target_file_name("../../etc/passwd"));
        assert!(!is_target_file_name("é".repeat(40).as_str()));
    }
}
