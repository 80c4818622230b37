//! Enrolling a terminal again (`kiosk provision --force`, a replaced disk): only a code an
//! operator made for this terminal re-keys it; any other is refused with a message that tells
//! the technician what to ask for, and the terminal keeps working with its old key.

mod common;

use std::time::Duration;

use kiosk_app::enrollment::{ProvisionError, provision};
use kiosk_app::uplink::identity::TerminalIdentity;
use kiosk_testkit::PlatformPeer;

#[test]
fn re_enrolling_needs_a_code_made_for_this_terminal() {
    let dir = tempfile::tempdir().expect("dir");
    let platform = PlatformPeer::start(&dir.path().join("platform.db")).expect("platform");
    let tokio = tokio::runtime::Runtime::new().expect("tokio");
    let data = common::terminal_dir(dir.path());
    let first = common::enroll(&tokio, &platform, dir.path(), "SN-REENROLL-1");
    let id = first.identity.terminal_id.clone();
    let again = |payload: &str| {
        tokio.block_on(provision(
            payload,
            &data,
            "SN-REENROLL-1".into(),
            Duration::from_secs(5),
            true,
        ))
    };

    // An ordinary code (another site, even): refused, with what to ask for.
    let foreign = platform.enrollment("elsewhere").expect("token");
    let refused = again(&foreign).err().expect("refused");
    assert!(
        matches!(refused, ProvisionError::TerminalExists(_)),
        "{refused}"
    );
    let message = refused.to_string();
    assert!(
        message.contains(&id) && message.contains("made for this terminal"),
        "{message}"
    );
    // The terminal keeps its identity and its key still works.
    assert_eq!(
        TerminalIdentity::load(&data).expect("identity").terminal_id,
        id
    );
    tokio
        .block_on(first.link.config())
        .expect("old key still accepted");

    // The code made for it: the same id, a new key.
    let rekey = platform.rekey_enrollment(&id).expect("re-key token");
    let rekeyed = again(&rekey).expect("re-enrolled");
    assert_eq!(rekeyed.identity.terminal_id, id);
    assert!(
        tokio.block_on(first.link.config()).is_err(),
        "old key retired"
    );
}
