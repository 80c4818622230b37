//! Signed release repositories and slot folders for the update tests.

use std::path::Path;

use kiosk_protocol::ReleaseKind;

use super::slots::Slots;

/// The update and slot folders under `dir` as a development machine has them: the slot folder
/// is `dir/slots`, owned by the user running the tests, configured as `[updates] slot_dir`
/// and `slot_owner` would configure it.
pub fn own_slots(dir: &Path) -> Slots {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let slots = Slots::new(&dir.join("data"), &dir.join("slots"), uid);
    for folder in [dir.join("slots"), dir.join("slots/a"), dir.join("slots/b")] {
        std::fs::create_dir_all(&folder).expect("slot folder");
        protect(&folder, 0o755);
    }
    slots
}

/// Sets `path`'s mode.
pub fn protect(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("mode");
}

/// A release repository with the application releases `releases` (version, binary)
/// published in that order, and the terminal's kept metadata as a verified check leaves it
/// in `slots`; returns the trusted root's bytes.
pub fn signed_store(dir: &Path, slots: &Slots, releases: &[(&str, &[u8])]) -> Vec<u8> {
    use kiosk_release::{Lifetimes, PublishKeys, ReleaseRepository, ReleaseSpec, RoleKeyFiles};
    let key = |role: &str| {
        let path = dir.join(format!("{role}.pem"));
        kiosk_release::keys::generate_key(&path).expect("key");
        path
    };
    let keys = RoleKeyFiles {
        root: key("root"),
        targets: key("targets"),
        snapshot: key("snapshot"),
        timestamp: key("timestamp"),
    };
    let repo_dir = dir.join("repository");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let repo = ReleaseRepository::init(&repo_dir, &keys, &Lifetimes::default())
            .await
            .expect("init");
        let publish = PublishKeys {
            targets: keys.targets.clone(),
            snapshot: keys.snapshot.clone(),
            timestamp: keys.timestamp.clone(),
        };
        for (version, binary) in releases {
            let artifact = dir.join(format!("artifact-{version}"));
            std::fs::write(&artifact, binary).expect("artifact");
            let spec = ReleaseSpec {
                version: (*version).into(),
                kind: ReleaseKind::App,
                arch: super::install::ARCH.into(),
            };
            repo.publish(&artifact, &spec, &publish, &Lifetimes::default(), false)
                .await
                .expect("publish");
        }
    });
    let metadata = repo_dir.join("metadata");
    let newest_targets = std::fs::read_dir(&metadata)
        .expect("metadata")
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n: u64 = name.strip_suffix(".targets.json")?.parse().ok()?;
            Some((n, e.path()))
        })
        .max()
        .expect("targets metadata")
        .1;
    std::fs::create_dir_all(slots.metadata_store()).expect("store");
    std::fs::copy(newest_targets, slots.metadata_store().join("targets.json")).expect("copy");
    std::fs::read(metadata.join("1.root.json")).expect("root")
}

/// Puts `bytes` in the download folder as `name`, as a verified download leaves it.
pub fn download(slots: &Slots, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(slots.downloads()).expect("downloads");
    std::fs::write(slots.downloads().join(name), bytes).expect("download");
}
