//! The printer's real-time status replies (`DLE EOT 1..4`), four bytes from the printer.
//!
//! Invariants: no panic; bytes are accepted exactly when each has the status shape; an
//! accepted set maps to a state whose own replies map back to the same state, and a state
//! that can print is one with no stopping condition reported.

#![no_main]

use kiosk_drivers::printer::escpos::status::is_status_byte;
use kiosk_drivers::printer::escpos::{PrinterState, PrinterStatus};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for replies in data.chunks_exact(4) {
        let replies: [u8; 4] = replies.try_into().expect("four bytes");
        let status = PrinterStatus::from_replies(replies);
        assert_eq!(status.is_ok(), replies.iter().all(|&b| is_status_byte(b)));
        let Ok(status) = status else { continue };
        let canonical = PrinterStatus::from_replies(status.state.status_replies())
            .expect("a state's replies are status bytes");
        assert_eq!(canonical.state, status.state);
        if status.state.can_print() {
            assert!(!status.cover_open && !status.paper_end && !status.offline);
        }
        assert!(PrinterState::ALL.contains(&status.state));
        let _ = status.state.to_string();
    }
});
