//! Enrollment (provisioning): a new terminal becomes an enrolled one.
//!
//! The technician shows the terminal the enrollment QR code the ops console (or
//! `kiosk-platform token create`) made, or types its payload. The terminal then makes its key
//! pair, enrolls with the one-time token, keeps the identity in its data folder, and proves the
//! link works with a signed request before it says it is done. Nothing here needs a keyboard or
//! a shell on the terminal: the setup screen ([`setup`], reading the code from the scanner)
//! and `kiosk provision PAYLOAD` both come here.
//!
//! Enrollment also keeps the release repository's root metadata as the trust anchor of
//! software updates, which is why it is a room of its own beside `uplink` and `update` rather
//! than part of either.

pub mod setup;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::uplink::identity::{
    IdentityError, PendingEnrollment, TerminalIdentity, parse_enrollment,
};
use crate::uplink::platform_link::{LinkError, PlatformLink};
use crate::uplink::tls::{PlatformTls, TlsPin};

/// Why provisioning stopped.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The payload, the key or the identity file.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The platform cannot be reached.
    #[error("{0}")]
    Unreachable(LinkError),
    /// The platform refused the token.
    #[error(
        "the platform refused the enrollment token (unknown, already used or expired): ask operations for a new enrollment QR code"
    )]
    TokenRefused,
    /// The platform has this hardware serial enrolled already, and the code is not one an
    /// operator made to re-key that terminal (a takeover is refused the same way, and shows
    /// as an alarm in the console).
    #[error(
        "the platform already has this device enrolled{}; to enroll it again, ask operations for an enrollment code made for this terminal (console: the terminal's page, \"Token to re-key this terminal\"; or `kiosk-platform token create --terminal ID`)",
        .0.as_deref().map(|id| format!(" as {id}")).unwrap_or_default()
    )]
    TerminalExists(Option<String>),
    /// The code re-keys another terminal than this device.
    #[error(
        "this enrollment code was made to re-key another terminal, not this device: ask operations for a code for this one"
    )]
    TokenForAnotherTerminal,
    /// The platform refused the enrollment otherwise, or its answer was not understood.
    #[error("enrollment failed: {0}")]
    Refused(LinkError),
    /// Enrolled, but a signed request is not accepted.
    #[error(
        "enrolled as {terminal_id}, but the platform does not accept its signed requests: {source}"
    )]
    SignatureRejected {
        /// The id the platform gave.
        terminal_id: String,
        /// The refusal.
        source: LinkError,
    },
    /// The terminal has an identity already and re-enrollment was not asked for.
    #[error(
        "this terminal is already enrolled as {0}; to enroll it again (new key, same hardware), use --force with an enrollment code made for this terminal"
    )]
    AlreadyEnrolled(String),
}

/// What provisioning achieved.
pub struct Provisioned {
    /// The new identity, saved in the data folder.
    pub identity: Arc<TerminalIdentity>,
    /// The signed link to the platform.
    pub link: PlatformLink,
    /// The version of the catalog the terminal will serve.
    pub catalog_version: String,
}

/// Keeps the release repository's root metadata the platform handed over at enrollment as
/// the terminal's trust anchor for updates (`updates/root.json`), unless one is there already.
///
/// The first enrollment's root is kept for good: a later enrollment (a re-keyed terminal, or
/// someone holding a token and a platform of their own) must not be able to swap the root
/// every release is checked against; the roots a terminal follows afterwards come from the
/// repository, each signed by the one before. An image with a pinned root
/// ([`crate::update::PINNED_ROOT`]) never uses this one. Only a root document is kept; the
/// signatures inside it are checked when the first update is verified.
fn keep_update_root(data_dir: &Path, root: &str) -> Result<(), ProvisionError> {
    let parsed: serde_json::Value = serde_json::from_str(root).map_err(|e| {
        ProvisionError::Refused(LinkError::BadAnswer(format!(
            "the enrollment answer's release root is not JSON: {e}"
        )))
    })?;
    if !is_root_document(&parsed) {
        return Err(ProvisionError::Refused(LinkError::BadAnswer(
            "the enrollment answer's release root is not TUF root metadata".into(),
        )));
    }
    let path = crate::update::slots::Slots::in_data_dir(data_dir)
        .root()
        .join("root.json");
    if let Ok(kept) = std::fs::read(&path)
        && serde_json::from_slice::<serde_json::Value>(&kept).is_ok_and(|v| is_root_document(&v))
    {
        if kept != root.as_bytes() {
            tracing::warn!(
                path = %path.display(),
                "the platform handed over another release root; the one received at the first enrollment is kept"
            );
        }
        return Ok(());
    }
    crate::write_atomically(&path, root.as_bytes()).map_err(|e| {
        ProvisionError::Refused(LinkError::BadAnswer(format!(
            "cannot keep the release root at {}: {e}",
            path.display()
        )))
    })
}

/// Whether `value` is TUF root metadata (by its type; signatures are checked on use).
fn is_root_document(value: &serde_json::Value) -> bool {
    value["signed"]["_type"] == "root"
}

/// Enrolls this terminal with the payload `text` (scanned or typed) and saves its identity in
/// `data_dir`. With `force`, an existing identity is replaced: the platform recognises the same
/// hardware serial and keeps the terminal's id and site, provided the code was made to re-key
/// this terminal (any other is refused, so nobody can take a terminal over with some token).
pub async fn provision(
    text: &str,
    data_dir: &Path,
    hardware_serial: String,
    timeout: Duration,
    force: bool,
) -> Result<Provisioned, ProvisionError> {
    let payload = parse_enrollment(text)?;
    let known_id = match TerminalIdentity::load(data_dir) {
        Ok(existing) if !force => {
            return Err(ProvisionError::AlreadyEnrolled(existing.terminal_id));
        }
        Ok(existing) => Some(existing.terminal_id),
        Err(IdentityError::NotProvisioned { .. } | IdentityError::Corrupt { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    // The pin (when the code has one) guards enrollment itself: the answer carries the keys
    // that decide which software this terminal runs and to whom applications are sealed.
    let tls_pins: Vec<TlsPin> = payload
        .tls_pin
        .as_deref()
        .map(TlsPin::parse)
        .transpose()
        .map_err(|e| IdentityError::BadPayload(e.to_string()))?
        .into_iter()
        .collect();
    let open = PlatformLink::new(
        &payload.platform,
        timeout,
        PlatformTls::pinned(tls_pins.clone()),
    )
    .map_err(ProvisionError::Unreachable)?;
    open.health().await.map_err(ProvisionError::Unreachable)?;
    let pending = PendingEnrollment::new(hardware_serial)?;
    let answer = match open.enroll(&pending.request(&payload.token)).await {
        Ok(answer) => answer,
        Err(LinkError::Refused { status: 401, .. }) => return Err(ProvisionError::TokenRefused),
        Err(LinkError::Refused {
            status: 409, code, ..
        }) if code == "terminal_exists" => {
            return Err(ProvisionError::TerminalExists(known_id));
        }
        Err(LinkError::Refused {
            status: 409, code, ..
        }) if code == "token_for_another_terminal" => {
            return Err(ProvisionError::TokenForAnotherTerminal);
        }
        Err(e) if e.is_transient() => return Err(ProvisionError::Unreachable(e)),
        Err(e) => return Err(ProvisionError::Refused(e)),
    };
    let sealing_key = answer
        .sealing_key
        .filter(|hex| kiosk_protocol::sealing::parse_sealing_key(hex).is_ok())
        .ok_or_else(|| {
            ProvisionError::Refused(LinkError::BadAnswer(
                "the enrollment answer has no valid sealing key".into(),
            ))
        })?;
    let identity = pending.complete(
        answer.terminal_id,
        &payload.platform,
        answer.site,
        Some(sealing_key),
        tls_pins,
    );
    if let Some(root) = &answer.update_root {
        keep_update_root(data_dir, root)?;
    }
    identity.save(data_dir)?;
    tracing::info!(terminal = %identity.terminal_id, "terminal enrolled");
    let identity = Arc::new(identity);
    let link = PlatformLink::enrolled(identity.clone(), timeout)
        .map_err(ProvisionError::Unreachable)?
        .keeping_pins_in(data_dir);
    link.config()
        .await
        .map_err(|source| ProvisionError::SignatureRejected {
            terminal_id: identity.terminal_id.clone(),
            source,
        })?;
    let catalog = link.catalog().await.map_err(ProvisionError::Refused)?;
    Ok(Provisioned {
        identity,
        link,
        catalog_version: catalog.version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(marker: &str) -> String {
        format!(
            r#"{{"signed":{{"_type":"root","version":1,"marker":"{marker}"}},"signatures":[]}}"#
        )
    }

    #[test]
    fn a_later_enrollment_does_not_replace_the_release_root() {
        let dir = tempfile::tempdir().expect("temp dir");
        let kept = dir.path().join("updates/root.json");
        keep_update_root(dir.path(), &root("first")).expect("first enrollment");
        assert_eq!(std::fs::read_to_string(&kept).expect("kept"), root("first"));
        keep_update_root(dir.path(), &root("second")).expect("re-enrollment");
        assert_eq!(std::fs::read_to_string(&kept).expect("kept"), root("first"));
        // Not root metadata: refused, and the kept root stays.
        assert!(keep_update_root(dir.path(), r#"{"signed":{"_type":"targets"}}"#).is_err());
        assert_eq!(std::fs::read_to_string(&kept).expect("kept"), root("first"));
    }

    #[test]
    fn a_damaged_kept_root_is_replaced_by_the_next_enrollment() {
        let dir = tempfile::tempdir().expect("temp dir");
        let kept = dir.path().join("updates/root.json");
        std::fs::create_dir_all(kept.parent().expect("folder")).expect("mkdir");
        std::fs::write(&kept, b"{ half a fi").expect("write");
        keep_update_root(dir.path(), &root("first")).expect("enrollment");
        assert_eq!(std::fs::read_to_string(&kept).expect("kept"), root("first"));
    }
}
