//! The slot installer: the only writer of the slot folder.
//!
//! The kiosk runs as an unprivileged user, and whatever runs as that user (a compromised UI
//! process, say) must not be able to change what the launcher starts. So the slots live in a
//! folder owned by root (`/var/lib/kiosk-slots`), and the kiosk, once it has downloaded and
//! verified a release, asks `kiosk-slot-install.service` to place it:
//!
//! 1. the kiosk writes a [`PlaceRequest`] to `updates/place-request.json` (atomically); the
//!    path unit `kiosk-slot-install.path` sees it and starts the service, which runs
//!    `kiosk update place` as root in a tight sandbox;
//! 2. the installer checks the download itself against the signed targets metadata through
//!    the trusted root ([`place`]): it never takes the kiosk's word for a hash, refuses a
//!    release older than the committed one, and never writes the committed slot or the one on
//!    trial;
//! 3. it copies the file into the slot (temporary file, fsync, rename, fsync of the folder),
//!    hashing exactly the bytes it writes, and writes its [`PlaceAnswer`] to
//!    `SLOT_DIR/answer.json`, where the kiosk reads it.
//!
//! A power cut anywhere leaves either the old slot content or the complete new file, and an
//! unanswered request: the kiosk's next attempt asks again, and a slot already holding the
//! signed bytes is reused. A process running as the slot owner (a technician as root, a
//! development machine whose `[updates] slot_dir` is its own) calls [`place`] itself.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use kiosk_protocol::{ReleaseKind, compare_versions};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::slots::{Slot, Slots, UpdateRecord};

/// The architecture name releases are published for (`x86_64`, `aarch64`).
pub const ARCH: &str = std::env::consts::ARCH;

/// The request file, in the update folder (`data_dir/updates`), which the kiosk writes.
pub const REQUEST: &str = "place-request.json";

/// The answer file, in the slot folder, which only the installer writes.
pub const ANSWER: &str = "answer.json";

/// How often an unanswered request is renamed into place again ([`ask`]).
const ASK_AGAIN: Duration = Duration::from_secs(15);

/// The largest request read: a version, a slot and a file name.
const MAX_REQUEST: u64 = 4096;

/// How long the kiosk waits for the installer's answer: copying and hashing a binary takes
/// seconds; a missing installer should not hold an install for long.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// What the kiosk asks the installer to place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceRequest {
    /// Chosen by the kiosk, repeated in the answer.
    pub id: String,
    /// The release version; its hash and length come from the signed metadata only.
    pub version: String,
    /// The slot to fill.
    pub slot: Slot,
    /// The downloaded file's name in `updates/downloads/`.
    pub download: String,
}

/// The installer's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceAnswer {
    /// The request's id.
    pub id: String,
    /// `placed`, or the refusal's code ([`Refusal::code`]).
    pub code: String,
    /// The slot filled, when placed.
    pub slot: Option<Slot>,
    /// The SHA-256 (hex) of the binary placed, from the signed metadata.
    pub sha256: Option<String>,
    /// Words for a technician.
    pub detail: String,
}

/// A release placed in a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The slot.
    pub slot: Slot,
    /// SHA-256 of its binary, hex, as the signed metadata lists it.
    pub sha256: String,
    /// The slot held those bytes already.
    pub reused: bool,
}

/// Why the installer did not place a release; each has a stable code.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The request is not one the installer reads.
    #[error("the placement request is invalid: {0}")]
    BadRequest(String),
    /// No trusted root to check the release against.
    #[error("no trusted release root: {0}")]
    NoRoot(String),
    /// The signed metadata does not list the release, or does not verify.
    #[error("release {version} is not in the signed release metadata: {detail}")]
    NotSigned {
        /// The version asked for.
        version: String,
        /// Why.
        detail: String,
    },
    /// The file's bytes are not those the signed metadata lists.
    #[error("the download of release {0} does not have its signed length and hash")]
    HashMismatch(String),
    /// Older than the committed release.
    #[error("release {version} is older than {committed}, which runs here")]
    Downgrade {
        /// The release asked for.
        version: String,
        /// The committed one (or the packaged kiosk).
        committed: String,
    },
    /// The slot holds the committed release or the one on trial.
    #[error("slot {} holds the committed release or the one on trial", .0.name())]
    SlotInUse(Slot),
    /// The kiosk's update record cannot be read, so the committed slot is unknown.
    #[error("the update record cannot be read; nothing is placed until it can")]
    RecordUnreadable,
    /// The slot folder could be changed by someone other than its owner.
    #[error("the slot folder is not protected: {0}")]
    SlotDirUnsafe(String),
    /// The installer did not answer in time.
    #[error("the slot installer did not answer within {} s; is kiosk-slot-install.path active?", ANSWER_TIMEOUT.as_secs())]
    Unanswered,
    /// A file could not be read or written.
    #[error("{what} ({}): {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS's answer.
        source: std::io::Error,
    },
    /// The installer refused, for the reason its answer gives.
    #[error("the slot installer refused ({code}): {detail}")]
    Answered {
        /// Its code.
        code: String,
        /// Its words.
        detail: String,
    },
}

impl Refusal {
    /// The stable code, for the answer and the rollout's report.
    pub fn code(&self) -> &str {
        match self {
            Refusal::BadRequest(_) => "bad_request",
            Refusal::NoRoot(_) => "no_trusted_root",
            Refusal::NotSigned { .. } => "not_signed",
            Refusal::HashMismatch(_) => "hash_mismatch",
            Refusal::Downgrade { .. } => "downgrade_refused",
            Refusal::SlotInUse(_) => "slot_in_use",
            Refusal::SlotDirUnsafe(_) => "slot_dir_unsafe",
            Refusal::RecordUnreadable => "record_unreadable",
            Refusal::Unanswered => "installer_unreachable",
            Refusal::Io { .. } => "slot_write_failed",
            Refusal::Answered { code, .. } => code,
        }
    }

    /// Whether the release itself is at fault (it is then not tried again by itself).
    pub fn condemns_release(&self) -> bool {
        matches!(
            self.code(),
            "not_signed" | "hash_mismatch" | "downgrade_refused"
        )
    }
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Refusal + 'a {
    move |source| Refusal::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

/// Places the download `request` names into its slot, after checking it against the signed
/// targets metadata kept in `slots`' update folder, through the trusted root `anchor`.
///
/// `record` is the kiosk's update record: it says which slots are committed and on trial
/// (never written here) and the committed version (nothing older is placed unless
/// `allow_downgrade`, which only a caller running as the slot owner can pass). A record
/// changed by the kiosk user can at most name the packaged kiosk as committed, which lowers
/// the floor to the version on the read-only root.
pub fn place(
    slots: &Slots,
    anchor: &[u8],
    request: &PlaceRequest,
    record: &UpdateRecord,
    allow_downgrade: bool,
) -> Result<Placed, Refusal> {
    let download = download_path(slots, &request.download)?;
    let slot = request.slot;
    let in_use = record.committed.as_ref().is_some_and(|c| c.slot == slot)
        || record
            .trial
            .as_ref()
            .is_some_and(|t| t.release.slot == slot);
    if in_use {
        return Err(Refusal::SlotInUse(slot));
    }
    let target = kiosk_release::client::kept_release(
        anchor,
        &slots.metadata_store(),
        &request.version,
        ReleaseKind::App,
        ARCH,
    )
    .map_err(|e| Refusal::NotSigned {
        version: request.version.clone(),
        detail: e.to_string(),
    })?;
    let committed = record
        .committed
        .as_ref()
        .map_or(env!("CARGO_PKG_VERSION"), |c| c.version.as_str());
    if !allow_downgrade && compare_versions(&target.version, committed).is_lt() {
        return Err(Refusal::Downgrade {
            version: target.version,
            committed: committed.to_owned(),
        });
    }
    let sha256 = target.sha256_hex();
    prepare_slot_dir(slots, slot)?;
    if slots.protected(slot).is_ok() && slots.holds(slot, &sha256) {
        return Ok(Placed {
            slot,
            sha256,
            reused: true,
        });
    }
    copy_verified(&download, &slots.binary(slot), target.length, &sha256).map_err(|e| match e {
        Copy::Mismatch => Refusal::HashMismatch(request.version.clone()),
        Copy::Io(e) => e,
    })?;
    Ok(Placed {
        slot,
        sha256,
        reused: false,
    })
}

/// The download named `name`: a plain file name inside `updates/downloads`.
fn download_path(slots: &Slots, name: &str) -> Result<PathBuf, Refusal> {
    let plain = !name.is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name.contains(['/', '\0']);
    if !plain {
        return Err(Refusal::BadRequest(
            "the download must be a file name in the download folder".into(),
        ));
    }
    Ok(slots.downloads().join(name))
}

/// Makes the slot folder and `slot`'s folder (mode 0755) when missing, and checks that only
/// their owner can change them.
fn prepare_slot_dir(slots: &Slots, slot: Slot) -> Result<(), Refusal> {
    for folder in [
        slots.slot_dir().to_path_buf(),
        slots.slot_dir().join(slot.name()),
    ] {
        if !folder.exists() {
            fs::create_dir_all(&folder).map_err(io("cannot make the slot folder", &folder))?;
            fs::set_permissions(&folder, fs::Permissions::from_mode(0o755))
                .map_err(io("cannot protect the slot folder", &folder))?;
        }
    }
    slots
        .protected_folders(slot)
        .map_err(|e| Refusal::SlotDirUnsafe(e.to_string()))
}

enum Copy {
    Mismatch,
    Io(Refusal),
}

impl From<Refusal> for Copy {
    fn from(e: Refusal) -> Self {
        Copy::Io(e)
    }
}

/// Copies `from` into `to` through `to.new`: at most `length` bytes are read, the bytes
/// written are hashed as they are written, and only a copy with `length` bytes and hash
/// `sha256` is flushed, made executable (0755) and renamed into place. The source is opened
/// without following links; it is never moved, since its owner could still be writing it.
fn copy_verified(from: &Path, to: &Path, length: u64, sha256: &str) -> Result<(), Copy> {
    let source = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(from)
        .map_err(io("cannot open the download", from))?;
    let meta = source
        .metadata()
        .map_err(io("cannot read the download", from))?;
    if !meta.file_type().is_file() {
        return Err(Copy::Mismatch);
    }
    let staging = to.with_extension("new");
    let _ = fs::remove_file(&staging);
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o700)
        .open(&staging)
        .map_err(io("cannot write into the slot", &staging))?;
    let mut hasher = Sha256::new();
    let mut written = 0u64;
    let mut buffer = vec![0u8; 64 * 1024];
    let mut limited = source.take(length + 1);
    let copied = loop {
        let n = match limited.read(&mut buffer) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) => break Err(io("cannot read the download", from)(e)),
        };
        written += n as u64;
        hasher.update(&buffer[..n]);
        if let Err(e) = out.write_all(&buffer[..n]) {
            break Err(io("cannot write into the slot", &staging)(e));
        }
    };
    let hash = kiosk_protocol::auth::hex_encode(&hasher.finalize());
    if let Err(e) = copied {
        let _ = fs::remove_file(&staging);
        return Err(e.into());
    }
    if written != length || !hash.eq_ignore_ascii_case(sha256) {
        let _ = fs::remove_file(&staging);
        return Err(Copy::Mismatch);
    }
    out.sync_all()
        .map_err(io("cannot flush the slot", &staging))?;
    fs::set_permissions(&staging, fs::Permissions::from_mode(0o755))
        .map_err(io("cannot make the slot executable", &staging))?;
    fs::rename(&staging, to).map_err(io("cannot fill the slot", to))?;
    if let Some(folder) = to.parent() {
        crate::sync_folder(folder);
    }
    Ok(())
}

/// Where the installer writes its answer.
pub fn answer_path(slots: &Slots) -> PathBuf {
    slots.slot_dir().join(ANSWER)
}

/// Where the kiosk writes its request.
pub fn request_path(slots: &Slots) -> PathBuf {
    slots.root().join(REQUEST)
}

/// Reads the pending request, not following links and at most [`MAX_REQUEST`] bytes.
fn read_request(slots: &Slots) -> Result<Option<PlaceRequest>, Refusal> {
    let path = request_path(slots);
    let file = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("cannot read the placement request", &path)(e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_REQUEST)
        .read_to_end(&mut bytes)
        .map_err(io("cannot read the placement request", &path))?;
    // The parser's words stay out of the answer, which everyone may read: they could quote a
    // file the request's path was made to lead to.
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|_| Refusal::BadRequest("not a placement request".into()))
}

/// The answer last written, if any.
pub fn read_answer(slots: &Slots) -> Option<PlaceAnswer> {
    let bytes = fs::read(answer_path(slots)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `kiosk update place`: answers the pending request, and any that arrived meanwhile (the
/// path unit does not start the service again while it runs). A request already answered is
/// left alone. `anchor` is the trusted root's bytes, or why there is none (every request is
/// then refused with that reason). Returns the answers written.
pub fn serve(slots: &Slots, anchor: Result<&[u8], &Refusal>) -> Result<Vec<PlaceAnswer>, Refusal> {
    let mut answers = Vec::new();
    for _ in 0..8 {
        let request = match read_request(slots) {
            Ok(Some(request)) => request,
            Ok(None) => break,
            Err(Refusal::BadRequest(detail)) => {
                tracing::warn!(detail = %detail, "placement request refused");
                break;
            }
            Err(e) => return Err(e),
        };
        if read_answer(slots).is_some_and(|a| a.id == request.id) {
            break;
        }
        // Without the record, the committed slot and the downgrade floor are unknown.
        let placed = match (anchor, slots.load()) {
            (Err(why), _) => Err(Refusal::NoRoot(why.to_string())),
            (_, Err(_)) => Err(Refusal::RecordUnreadable),
            (Ok(anchor), Ok(record)) => place(slots, anchor, &request, &record, false),
        };
        let answer = match placed {
            Ok(placed) => PlaceAnswer {
                id: request.id.clone(),
                code: "placed".into(),
                slot: Some(placed.slot),
                sha256: Some(placed.sha256),
                detail: format!(
                    "release {} {} slot {}",
                    request.version,
                    if placed.reused {
                        "already in"
                    } else {
                        "placed in"
                    },
                    placed.slot.name()
                ),
            },
            Err(refusal) => PlaceAnswer {
                id: request.id.clone(),
                code: refusal.code().to_owned(),
                slot: None,
                sha256: None,
                detail: refusal.to_string(),
            },
        };
        tracing::info!(code = %answer.code, version = %request.version, slot = request.slot.name(), "placement answered");
        let bytes =
            serde_json::to_vec_pretty(&answer).map_err(|e| Refusal::BadRequest(e.to_string()))?;
        let path = answer_path(slots);
        crate::write_atomically(&path, &bytes).map_err(io("cannot write the answer", &path))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))
            .map_err(io("cannot write the answer", &path))?;
        answers.push(answer);
    }
    Ok(answers)
}

/// Asks the installer to place `request` and waits for its answer (polling, up to
/// `timeout`). The request is renamed into place again every [`ASK_AGAIN`] while no answer
/// comes: a path unit does not start its service a second time for a change seen while that
/// service still runs, and the installer answers each id once.
pub async fn ask(
    slots: &Slots,
    request: &PlaceRequest,
    timeout: Duration,
) -> Result<Placed, Refusal> {
    let path = request_path(slots);
    let bytes = serde_json::to_vec(request).map_err(|e| Refusal::BadRequest(e.to_string()))?;
    let send = || {
        crate::write_atomically(&path, &bytes)
            .map_err(io("cannot write the placement request", &path))
    };
    send()?;
    let started = std::time::Instant::now();
    let mut sent = started;
    loop {
        if let Some(answer) = read_answer(slots).filter(|a| a.id == request.id) {
            return match (answer.code.as_str(), answer.slot, answer.sha256) {
                ("placed", Some(slot), Some(sha256)) if slot == request.slot => Ok(Placed {
                    slot,
                    sha256,
                    reused: false,
                }),
                _ => Err(Refusal::Answered {
                    code: answer.code,
                    detail: answer.detail,
                }),
            };
        }
        if started.elapsed() >= timeout {
            return Err(Refusal::Unanswered);
        }
        if sent.elapsed() >= ASK_AGAIN {
            send()?;
            sent = std::time::Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The trusted root's bytes for placing, from the anchor at `root` ([`super::trust_anchor`]).
/// Where that is the enrollment's root (in the data folder, which the kiosk user can write:
/// no pin in the image, none configured), it is copied once into the slot folder, and the
/// copy is what the installer and the launcher use from then on: a later change in the data
/// folder cannot name another root.
pub fn kept_anchor(slots: &Slots, root: &Path) -> Result<Vec<u8>, Refusal> {
    let read = |path: &Path| {
        fs::read(path).map_err(|e| Refusal::NoRoot(format!("{}: {e}", path.display())))
    };
    let enrolled = slots.root().join("root.json");
    if root != enrolled {
        return read(root);
    }
    let bytes = read(&enrolled)?;
    let kept = slots.slot_dir().join("root.json");
    crate::write_atomically(&kept, &bytes).map_err(io("cannot keep the trusted root", &kept))?;
    fs::set_permissions(&kept, fs::Permissions::from_mode(0o644))
        .map_err(io("cannot keep the trusted root", &kept))?;
    Ok(bytes)
}

/// Places `request` itself when this process runs as the slot owner (trusting the anchor at
/// `root`, [`kept_anchor`]), or asks the installer.
pub async fn place_or_ask(
    slots: &Slots,
    root: &Path,
    request: PlaceRequest,
    allow_downgrade: bool,
) -> Result<Placed, Refusal> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid != slots.slot_owner() {
        return ask(slots, &request, ANSWER_TIMEOUT).await;
    }
    let slots = slots.clone();
    let root = root.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let anchor = kept_anchor(&slots, &root)?;
        let record = slots.load().map_err(|_| Refusal::RecordUnreadable)?;
        place(&slots, &anchor, &request, &record, allow_downgrade)
    })
    .await
    .map_err(|e| Refusal::Io {
        what: "the placement stopped",
        path: PathBuf::new(),
        source: std::io::Error::other(e.to_string()),
    })?
}

/// A request id unlikely to repeat: the time in nanoseconds and this process's id.
pub fn request_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;
    use crate::update::fixtures::{download, own_slots, protect, signed_store};
    use crate::update::launch::{Launch, plan, signed_and_intact};
    use crate::update::slots::{Installed, Trial, file_sha256};

    const OLD: &[u8] = b"#!/bin/sh\necho 0.2.0\n";
    const NEW: &[u8] = b"#!/bin/sh\necho 0.3.0\n";

    fn request(version: &str, slot: Slot, download: &str) -> PlaceRequest {
        PlaceRequest {
            id: request_id(),
            version: version.into(),
            slot,
            download: download.into(),
        }
    }

    /// `place` of the download `download` as release `version` into `slot`.
    fn try_place(
        slots: &Slots,
        anchor: &[u8],
        record: &UpdateRecord,
        (version, slot, download): (&str, Slot, &str),
        allow_downgrade: bool,
    ) -> Result<Placed, Refusal> {
        place(
            slots,
            anchor,
            &request(version, slot, download),
            record,
            allow_downgrade,
        )
    }

    fn installed(version: &str, slot: Slot, bytes: &[u8]) -> Installed {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        fs::write(&path, bytes).expect("write");
        Installed {
            slot,
            version: version.into(),
            sha256: file_sha256(&path).expect("hash"),
        }
    }

    /// The installer takes neither the kiosk's word for a hash nor its file: a download whose
    /// bytes differ from the signed ones is refused and the slot keeps what it had.
    #[test]
    fn a_file_whose_hash_is_not_the_signed_one_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let slots = own_slots(dir.path());
        let anchor = signed_store(dir.path(), &slots, &[("0.2.0", OLD), ("0.3.0", NEW)]);
        let record = UpdateRecord::default();

        download(&slots, "forged.partial", b"#!/bin/sh\necho forged\n");
        // The signed bytes followed by more are not the signed file either.
        download(&slots, "longer.partial", &[NEW, b"#"].concat());
        download(&slots, "unlisted.partial", NEW);
        for (case, code) in [
            (("0.3.0", Slot::A, "forged.partial"), "hash_mismatch"),
            (("0.3.0", Slot::A, "longer.partial"), "hash_mismatch"),
            (("0.9.0", Slot::A, "unlisted.partial"), "not_signed"),
            (("0.3.0", Slot::A, "../state.json"), "bad_request"),
        ] {
            let err = try_place(&slots, &anchor, &record, case, false).expect_err("refused");
            assert_eq!(err.code(), code, "{case:?}: {err}");
            assert!(!slots.binary(Slot::A).exists());
            assert!(!slots.binary(Slot::A).with_extension("new").exists());
        }

        download(&slots, "kiosk-0.3.0.partial", NEW);
        let genuine = ("0.3.0", Slot::A, "kiosk-0.3.0.partial");
        let placed = try_place(&slots, &anchor, &record, genuine, false).expect("placed");
        assert_eq!((placed.slot, placed.reused), (Slot::A, false));
        assert_eq!(fs::read(slots.binary(Slot::A)).expect("slot"), NEW);
        let meta = fs::metadata(slots.binary(Slot::A)).expect("meta");
        assert_eq!(meta.mode() & 0o777, 0o755);
        assert_eq!(meta.uid(), slots.slot_owner());
        assert!(slots.protected(Slot::A).is_ok());
        // The download stays the kiosk's; the slot holds a copy.
        assert!(slots.downloads().join("kiosk-0.3.0.partial").exists());
        let again = try_place(&slots, &anchor, &record, genuine, false).expect("reused");
        assert!(again.reused);
    }

    /// An older signed release is refused once a newer one is committed, and neither the
    /// committed slot nor the one on trial is ever written.
    #[test]
    fn an_older_release_is_refused_and_the_committed_slot_is_never_touched() {
        let dir = tempfile::tempdir().expect("temp dir");
        let slots = own_slots(dir.path());
        let anchor = signed_store(dir.path(), &slots, &[("0.2.0", OLD), ("0.3.0", NEW)]);
        fs::write(slots.binary(Slot::A), NEW).expect("committed");
        protect(&slots.binary(Slot::A), 0o755);
        let mut record = UpdateRecord {
            committed: Some(installed("0.3.0", Slot::A, NEW)),
            ..UpdateRecord::default()
        };
        download(&slots, "kiosk-0.2.0.partial", OLD);
        let older_into = |record: &UpdateRecord, slot: Slot, allow_downgrade: bool| {
            let case = ("0.2.0", slot, "kiosk-0.2.0.partial");
            try_place(&slots, &anchor, record, case, allow_downgrade)
        };

        let err = older_into(&record, Slot::B, false).expect_err("older");
        assert_eq!(err.code(), "downgrade_refused", "{err}");
        assert!(err.condemns_release());
        assert!(!slots.binary(Slot::B).exists());

        let err = older_into(&record, Slot::A, true).expect_err("the committed slot");
        assert_eq!(err.code(), "slot_in_use", "{err}");
        assert_eq!(fs::read(slots.binary(Slot::A)).expect("slot"), NEW);

        record.trial = Some(Trial {
            release: installed("0.3.0", Slot::B, NEW),
            rollout_id: 1,
            starts: 0,
            switched_at: 0,
        });
        let err = older_into(&record, Slot::B, true).expect_err("the slot on trial");
        assert_eq!(err.code(), "slot_in_use", "{err}");

        // A technician running as the slot owner may go back on purpose.
        record.trial = None;
        let placed = older_into(&record, Slot::B, true).expect("allowed downgrade");
        assert_eq!(placed.slot, Slot::B);
        assert_eq!(fs::read(slots.binary(Slot::A)).expect("slot"), NEW);
    }

    /// A slot folder someone else could write is not written into.
    #[test]
    fn an_unprotected_slot_folder_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let slots = own_slots(dir.path());
        let anchor = signed_store(dir.path(), &slots, &[("0.3.0", NEW)]);
        download(&slots, "kiosk-0.3.0.partial", NEW);
        protect(&dir.path().join("slots/b"), 0o777);
        let err = try_place(
            &slots,
            &anchor,
            &UpdateRecord::default(),
            ("0.3.0", Slot::B, "kiosk-0.3.0.partial"),
            false,
        )
        .expect_err("unprotected");
        assert_eq!(err.code(), "slot_dir_unsafe", "{err}");
        assert!(!slots.binary(Slot::B).exists());
    }

    /// The kiosk asks, the installer answers through the files the path unit watches, and
    /// the release placed goes on trial, starts, and is committed.
    #[test]
    fn install_trial_and_commit_go_through_the_installer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let slots = own_slots(dir.path());
        let anchor = signed_store(dir.path(), &slots, &[("0.3.0", NEW)]);
        download(&slots, "kiosk-0.3.0.partial", NEW);
        let asked = request("0.3.0", Slot::A, "kiosk-0.3.0.partial");

        let installer = {
            let slots = slots.clone();
            let anchor = anchor.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let answers = serve(&slots, Ok(&anchor)).expect("served");
                    if !answers.is_empty() {
                        return answers;
                    }
                    std::thread::sleep(Duration::from_millis(25));
                }
                Vec::new()
            })
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let placed = runtime
            .block_on(ask(&slots, &asked, Duration::from_secs(20)))
            .expect("placed by the installer");
        let answers = installer.join().expect("installer");
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0].code, "placed");
        assert_eq!(placed.slot, Slot::A);
        // An answered request is not answered twice.
        assert!(serve(&slots, Ok(&anchor)).expect("served").is_empty());

        let mut record = UpdateRecord {
            trial: Some(Trial {
                release: Installed {
                    slot: placed.slot,
                    version: "0.3.0".into(),
                    sha256: placed.sha256.clone(),
                },
                rollout_id: 3,
                starts: 0,
                switched_at: 0,
            }),
            ..UpdateRecord::default()
        };
        let usable = |i: &Installed| signed_and_intact(&slots, Some(&anchor), i);
        assert_eq!(
            plan(&mut record, usable, 1),
            Launch::Slot {
                slot: Slot::A,
                trial: true
            }
        );
        record.commit_trial(2).expect("committed");
        assert_eq!(
            plan(&mut record, usable, 3),
            Launch::Slot {
                slot: Slot::A,
                trial: false
            }
        );

        // The next request is refused with its code, which the kiosk reads.
        let refused = request("0.3.0", Slot::A, "kiosk-0.3.0.partial");
        slots.save(&record).expect("record");
        let installer = {
            let slots = slots.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    if !serve(&slots, Ok(&anchor)).expect("served").is_empty() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(25));
                }
            })
        };
        let err = runtime
            .block_on(ask(&slots, &refused, Duration::from_secs(20)))
            .expect_err("the committed slot");
        installer.join().expect("installer");
        assert_eq!(err.code(), "slot_in_use", "{err}");
    }

    #[test]
    fn no_answer_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let slots = own_slots(dir.path());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let err = runtime
            .block_on(ask(
                &slots,
                &request("0.3.0", Slot::A, "x.partial"),
                Duration::from_millis(300),
            ))
            .expect_err("nobody answers");
        assert_eq!(err.code(), "installer_unreachable");
        assert!(
            !serve(&slots, Err(&Refusal::NoRoot("none".into())))
                .expect("served")
                .is_empty()
        );
        assert_eq!(
            read_answer(&slots).map(|a| a.code).as_deref(),
            Some("no_trusted_root")
        );

        // Without a readable record the committed slot is unknown: nothing is placed.
        let asked = request("0.3.0", Slot::A, "x.partial");
        crate::write_atomically(
            &request_path(&slots),
            &serde_json::to_vec(&asked).expect("json"),
        )
        .expect("request");
        fs::write(slots.root().join("state.json"), b"{ not json").expect("corrupt");
        let answers = serve(&slots, Ok(b"{}")).expect("served");
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0].code, "record_unreadable");
        assert_eq!(answers[0].id, asked.id);

        // A request that is not one gets no answer; its text is not repeated anywhere.
        fs::write(request_path(&slots), b"secret: not json").expect("garbage");
        assert!(serve(&slots, Ok(b"{}")).expect("served").is_empty());
        assert_eq!(read_answer(&slots).map(|a| a.id), Some(asked.id));
    }

    /// Without a pinned or configured root, the enrollment's root is kept in the slot folder
    /// on first use; rewriting the one in the data folder afterwards changes nothing.
    #[test]
    fn the_enrollments_root_is_kept_where_the_kiosk_user_cannot_change_it() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let slots = own_slots(dir.path());
        let config = crate::config::KioskConfig::parse(
            &format!(
                "data_dir = \"{}\"\n[updates]\nslot_dir = \"{}\"\nslot_owner = {}\n",
                dir.path().join("data").display(),
                slots.slot_dir().display(),
                slots.slot_owner()
            ),
            &dir.path().join("kiosk.toml"),
        )
        .expect("config");
        let enrolled = slots.root().join("root.json");
        fs::create_dir_all(slots.root()).expect("updates");
        fs::write(&enrolled, b"enrolled root").expect("root");
        let settings = crate::update::UpdateSettings::from_config(&config);
        if settings.root != enrolled {
            // This machine's image pins a root: that one wins, nothing is kept.
            return;
        }
        assert_eq!(
            settings.placement_anchor().expect("anchor"),
            b"enrolled root"
        );
        let kept = slots.slot_dir().join("root.json");
        assert_eq!(fs::metadata(&kept).expect("kept").mode() & 0o777, 0o644);

        fs::write(&enrolled, b"a root of the attacker's").expect("rewrite");
        let settings = crate::update::UpdateSettings::from_config(&config);
        assert_eq!(settings.root, kept);
        assert_eq!(
            settings.placement_anchor().expect("anchor"),
            b"enrolled root"
        );
    }
}
