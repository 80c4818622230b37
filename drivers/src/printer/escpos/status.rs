//! Real-time status: the `DLE EOT n` replies and what they mean for the kiosk.
//!
//! Every reply is one byte shaped `0xx1xx10` (bit 7 clear, bit 4 set, bit 1 set, bit 0 clear).
//! The fixed bits are how we tell a status byte from line noise or from the tail of some other
//! reply, so bytes that do not have that shape are refused rather than guessed at.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The four `DLE EOT n` requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StatusRequest {
    /// n = 1: printer status (online/offline).
    Printer,
    /// n = 2: why the printer is offline.
    OfflineCause,
    /// n = 3: error causes.
    Error,
    /// n = 4: paper roll sensors.
    Paper,
}

impl StatusRequest {
    /// The four requests in the order the driver asks them.
    pub const ALL: [StatusRequest; 4] = [
        StatusRequest::Printer,
        StatusRequest::OfflineCause,
        StatusRequest::Error,
        StatusRequest::Paper,
    ];

    /// The `n` of `DLE EOT n`.
    pub const fn code(self) -> u8 {
        match self {
            StatusRequest::Printer => 1,
            StatusRequest::OfflineCause => 2,
            StatusRequest::Error => 3,
            StatusRequest::Paper => 4,
        }
    }

    pub const fn from_code(n: u8) -> Option<StatusRequest> {
        match n {
            1 => Some(StatusRequest::Printer),
            2 => Some(StatusRequest::OfflineCause),
            3 => Some(StatusRequest::Error),
            4 => Some(StatusRequest::Paper),
            _ => None,
        }
    }

    /// Position of this request's reply in a `[u8; 4]` of replies.
    const fn index(self) -> usize {
        self.code() as usize - 1
    }
}

/// A byte that cannot be a real-time status reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum StatusError {
    #[error("byte {0:#04x} is not a real-time status reply (expected the shape 0xx1xx10)")]
    NotStatusByte(u8),
}

/// Bits that are fixed in every status byte, and their required values.
const FIXED_MASK: u8 = 0b1001_0011;
const FIXED_VALUE: u8 = 0b0001_0010;

/// Whether `byte` has the fixed shape `0xx1xx10` of a real-time status reply.
pub const fn is_status_byte(byte: u8) -> bool {
    byte & FIXED_MASK == FIXED_VALUE
}

fn checked(byte: u8) -> Result<u8, StatusError> {
    if is_status_byte(byte) {
        Ok(byte)
    } else {
        Err(StatusError::NotStatusByte(byte))
    }
}

const fn bit(byte: u8, n: u8) -> bool {
    byte & (1 << n) != 0
}

/// What the kiosk can do with the printer, condensed from the four status bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterState {
    /// Online, paper present, no error.
    Ready,
    /// Prints, but the roll is nearly used up: tell the technicians, keep serving.
    PaperNearEnd,
    /// The roll is empty; the printer stopped.
    PaperOut,
    /// The cover is open; the printer stopped.
    CoverOpen,
    /// The autocutter jammed or failed.
    CutterError,
    /// Offline without a reported cause (feed button held, waiting to come back online).
    Offline,
    /// Any other error the printer reported (head overheating, voltage, mechanism).
    Error,
}

impl PrinterState {
    /// Every state, for tests and for simulators that cycle through them.
    pub const ALL: [PrinterState; 7] = [
        PrinterState::Ready,
        PrinterState::PaperNearEnd,
        PrinterState::PaperOut,
        PrinterState::CoverOpen,
        PrinterState::CutterError,
        PrinterState::Offline,
        PrinterState::Error,
    ];

    /// Whether a receipt sent now would come out of the printer.
    pub const fn can_print(self) -> bool {
        matches!(self, PrinterState::Ready | PrinterState::PaperNearEnd)
    }

    /// The four replies (to `DLE EOT 1`–`4`) a printer in this state sends. The simulator
    /// answers with these; [`PrinterStatus::from_replies`] maps them back to this state.
    ///
    /// Stopping states also set the offline bit of byte 1 and the matching cause in byte 2,
    /// as real printers do; an empty roll also reports "near end", since the near-end sensor
    /// sees no paper either.
    pub const fn status_replies(self) -> [u8; 4] {
        const OFFLINE: u8 = 1 << 3;
        const COVER_OPEN: u8 = 1 << 2;
        const PAPER_END_STOP: u8 = 1 << 5;
        const ERROR: u8 = 1 << 6;
        const CUTTER: u8 = 1 << 3;
        const AUTO_RECOVERABLE: u8 = 1 << 6;
        const NEAR_END: u8 = 0b0000_1100;
        const END: u8 = 0b0110_0000;
        let (printer, cause, error, paper) = match self {
            PrinterState::Ready => (0, 0, 0, 0),
            PrinterState::PaperNearEnd => (0, 0, 0, NEAR_END),
            PrinterState::PaperOut => (OFFLINE, PAPER_END_STOP, 0, NEAR_END | END),
            PrinterState::CoverOpen => (OFFLINE, COVER_OPEN, 0, 0),
            PrinterState::CutterError => (OFFLINE, ERROR, CUTTER, 0),
            PrinterState::Offline => (OFFLINE, 0, 0, 0),
            PrinterState::Error => (OFFLINE, ERROR, AUTO_RECOVERABLE, 0),
        };
        [
            FIXED_VALUE | printer,
            FIXED_VALUE | cause,
            FIXED_VALUE | error,
            FIXED_VALUE | paper,
        ]
    }

    /// The reply a printer in this state gives to one request.
    pub const fn status_reply(self, request: StatusRequest) -> u8 {
        self.status_replies()[request.index()]
    }
}

/// Plain words for technicians and logs.
impl fmt::Display for PrinterState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PrinterState::Ready => "ready",
            PrinterState::PaperNearEnd => "paper nearly used up",
            PrinterState::PaperOut => "out of paper",
            PrinterState::CoverOpen => "cover open",
            PrinterState::CutterError => "paper cutter fault",
            PrinterState::Offline => "offline",
            PrinterState::Error => "printer fault",
        })
    }
}

/// Everything the four status bytes say, plus the condensed [`PrinterState`].
///
/// The flags are kept so diagnostics can show all of them (a printer can be out of paper *and*
/// have its cover open); the kiosk decides with `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PrinterStatus {
    pub state: PrinterState,
    /// Byte 1, bit 3.
    pub offline: bool,
    /// Byte 2, bit 2.
    pub cover_open: bool,
    /// Byte 2, bit 5: stopped because the paper ran out.
    pub paper_end_stop: bool,
    /// Byte 2, bit 6.
    pub error: bool,
    /// Byte 3, bit 3.
    pub cutter_error: bool,
    /// Byte 3, bit 5.
    pub unrecoverable_error: bool,
    /// Byte 3, bit 6 (e.g. head too hot; clears by itself).
    pub auto_recoverable_error: bool,
    /// Byte 4, bits 2–3.
    pub paper_near_end: bool,
    /// Byte 4, bits 5–6.
    pub paper_end: bool,
}

impl PrinterStatus {
    /// Combines the replies to `DLE EOT 1`, `2`, `3` and `4`, in that order.
    ///
    /// Each sensor is reported by two bits (bits 2–3 near end, bits 5–6 end); either bit counts,
    /// because some printers only wire one of the two sensors.
    ///
    /// Precedence of [`PrinterState`], most specific cause first:
    /// 1. `CoverOpen` — with the cover open the paper sensors read nonsense, and closing it is
    ///    the first thing a technician must do anyway;
    /// 2. `PaperOut` (paper end in byte 2 or byte 4);
    /// 3. `CutterError`;
    /// 4. `Error` (unrecoverable, auto-recoverable, or the error bit of byte 2);
    /// 5. `Offline` — the offline bit with none of the causes above;
    /// 6. `PaperNearEnd` — the only state besides `Ready` that still prints;
    /// 7. `Ready`.
    pub fn from_replies(replies: [u8; 4]) -> Result<PrinterStatus, StatusError> {
        let printer = checked(replies[0])?;
        let cause = checked(replies[1])?;
        let error = checked(replies[2])?;
        let paper = checked(replies[3])?;
        let mut status = PrinterStatus {
            state: PrinterState::Ready,
            offline: bit(printer, 3),
            cover_open: bit(cause, 2),
            paper_end_stop: bit(cause, 5),
            error: bit(cause, 6),
            cutter_error: bit(error, 3),
            unrecoverable_error: bit(error, 5),
            auto_recoverable_error: bit(error, 6),
            paper_near_end: bit(paper, 2) || bit(paper, 3),
            paper_end: bit(paper, 5) || bit(paper, 6),
        };
        status.state = if status.cover_open {
            PrinterState::CoverOpen
        } else if status.paper_end || status.paper_end_stop {
            PrinterState::PaperOut
        } else if status.cutter_error {
            PrinterState::CutterError
        } else if status.error || status.unrecoverable_error || status.auto_recoverable_error {
            PrinterState::Error
        } else if status.offline {
            PrinterState::Offline
        } else if status.paper_near_end {
            PrinterState::PaperNearEnd
        } else {
            PrinterState::Ready
        };
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: u8 = 0x12;

    fn state(replies: [u8; 4]) -> PrinterState {
        PrinterStatus::from_replies(replies)
            .expect("valid status bytes")
            .state
    }

    #[test]
    fn all_clear_is_ready() {
        let s = PrinterStatus::from_replies([OK; 4]).expect("valid");
        assert_eq!(s.state, PrinterState::Ready);
        assert!(!s.offline && !s.cover_open && !s.paper_end && !s.paper_near_end && !s.error);
    }

    #[test]
    fn each_bit_maps_to_its_flag() {
        let s = PrinterStatus::from_replies([OK | 0x08, OK, OK, OK]).expect("valid");
        assert!(s.offline);
        assert_eq!(s.state, PrinterState::Offline);

        let s = PrinterStatus::from_replies([OK, OK | 0x04, OK, OK]).expect("valid");
        assert!(s.cover_open);
        assert_eq!(s.state, PrinterState::CoverOpen);

        let s = PrinterStatus::from_replies([OK, OK | 0x20, OK, OK]).expect("valid");
        assert!(s.paper_end_stop);
        assert_eq!(s.state, PrinterState::PaperOut);

        let s = PrinterStatus::from_replies([OK, OK | 0x40, OK, OK]).expect("valid");
        assert!(s.error);
        assert_eq!(s.state, PrinterState::Error);

        let s = PrinterStatus::from_replies([OK, OK, OK | 0x08, OK]).expect("valid");
        assert!(s.cutter_error);
        assert_eq!(s.state, PrinterState::CutterError);

        let s = PrinterStatus::from_replies([OK, OK, OK | 0x20, OK]).expect("valid");
        assert!(s.unrecoverable_error);
        assert_eq!(s.state, PrinterState::Error);

        let s = PrinterStatus::from_replies([OK, OK, OK | 0x40, OK]).expect("valid");
        assert!(s.auto_recoverable_error);
        assert_eq!(s.state, PrinterState::Error);

        for near in [0x04, 0x08, 0x0C] {
            let s = PrinterStatus::from_replies([OK, OK, OK, OK | near]).expect("valid");
            assert!(s.paper_near_end && !s.paper_end);
            assert_eq!(s.state, PrinterState::PaperNearEnd);
        }
        for end in [0x20, 0x40, 0x60] {
            let s = PrinterStatus::from_replies([OK, OK, OK, OK | end]).expect("valid");
            assert!(s.paper_end);
            assert_eq!(s.state, PrinterState::PaperOut);
        }
    }

    #[test]
    fn precedence() {
        // Cover open beats paper out beats cutter beats error beats offline beats near end.
        assert_eq!(
            state([OK | 0x08, OK | 0x24, OK | 0x08, OK | 0x6C]),
            PrinterState::CoverOpen
        );
        assert_eq!(
            state([OK | 0x08, OK | 0x60, OK | 0x08, OK | 0x0C]),
            PrinterState::PaperOut
        );
        assert_eq!(
            state([OK | 0x08, OK | 0x40, OK | 0x48, OK | 0x0C]),
            PrinterState::CutterError
        );
        assert_eq!(
            state([OK | 0x08, OK, OK | 0x20, OK | 0x0C]),
            PrinterState::Error
        );
        assert_eq!(state([OK | 0x08, OK, OK, OK | 0x0C]), PrinterState::Offline);
    }

    #[test]
    fn bytes_without_the_fixed_shape_are_refused() {
        for bad in [0x00, 0xFF, 0x92, 0x13, 0x10, 0x02, 0x0A, 0x1B] {
            assert!(!is_status_byte(bad), "{bad:#04x}");
            for slot in 0..4 {
                let mut replies = [OK; 4];
                replies[slot] = bad;
                assert_eq!(
                    PrinterStatus::from_replies(replies),
                    Err(StatusError::NotStatusByte(bad))
                );
            }
        }
        // Exactly the 16 bytes 0xx1xx10 are status bytes.
        assert_eq!((0..=255u8).filter(|b| is_status_byte(*b)).count(), 16);
    }

    #[test]
    fn simulated_replies_round_trip_for_every_state() {
        for s in PrinterState::ALL {
            let replies = s.status_replies();
            assert!(replies.iter().all(|b| is_status_byte(*b)));
            assert_eq!(state(replies), s);
            for r in StatusRequest::ALL {
                assert_eq!(s.status_reply(r), replies[usize::from(r.code() - 1)]);
            }
        }
    }
}
