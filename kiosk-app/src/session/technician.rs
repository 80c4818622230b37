//! Maintenance mode in the session core: the hidden entry, the technician PIN pad and the
//! maintenance panel.
//!
//! A technician taps the terminal id in the footer five times within three seconds (a gesture
//! no citizen makes by chance, and only honoured when no citizen's data is held); a PIN pad
//! opens. The PIN is checked outside the core
//! ([`Command::CheckPin`](super::Command::CheckPin)) against its hash with a persisted
//! lockout; every entry, refusal and task goes to the audit trail
//! ([`Command::Audit`](super::Command::Audit)).

use std::time::{Duration, Instant};

use zeroize::Zeroizing;

/// The answer to one PIN attempt (given by the PIN gate outside the core, which keeps the
/// lockout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Right PIN: maintenance mode opens.
    Accepted,
    /// Wrong PIN; this many attempts before the pad locks.
    Refused {
        /// Attempts left.
        attempts_left: u32,
    },
    /// Locked (by this attempt or before it) until this Unix time; the PIN was not checked.
    LockedOut {
        /// When the pad opens again.
        until: i64,
    },
    /// This terminal has no technician PIN configured.
    NotConfigured,
}

/// Taps that open the PIN pad.
pub const SECRET_TAPS: usize = 5;
/// Within this long.
pub const SECRET_WINDOW: Duration = Duration::from_secs(3);
/// Longest PIN.
pub const MAX_PIN_DIGITS: usize = 12;
/// Shortest PIN.
pub const MIN_PIN_DIGITS: usize = 6;

/// A key of the PIN pad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinKey {
    /// A digit 0–9.
    Digit(u8),
    /// Erase the last digit.
    Erase,
    /// Check the PIN.
    Submit,
}

/// What the PIN pad says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinMessage {
    /// Enter the PIN.
    Enter,
    /// Being checked.
    Checking,
    /// Wrong; this many attempts before the pad locks.
    Wrong {
        /// Attempts left.
        attempts_left: u32,
    },
    /// Locked for about this many minutes.
    Locked {
        /// Minutes left, rounded up.
        minutes: u32,
    },
    /// No PIN is configured on this terminal.
    NotConfigured,
}

/// The PIN pad as shown: how many digits are entered (never which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinPad {
    /// Digits entered.
    pub digits: u8,
    /// What it says.
    pub message: PinMessage,
}

/// What a technician can do from the panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaintenanceTask {
    /// Print the printer's test page.
    PrintTestPage,
    /// A new paper roll was fitted (recorded, and the printer re-checked).
    PaperReplaced,
    /// Deliver what waits in the outbox now.
    FlushOutbox,
    /// Restart the kiosk application.
    Restart,
}

impl MaintenanceTask {
    /// The audit trail's code for it.
    pub fn code(self) -> &'static str {
        match self {
            MaintenanceTask::PrintTestPage => "test_page_printed",
            MaintenanceTask::PaperReplaced => "paper_replaced",
            MaintenanceTask::FlushOutbox => "outbox_flushed",
            MaintenanceTask::Restart => "app_restarted",
        }
    }
}

/// One line of the panel's status list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    /// What (`card_reader`, `printer`, `platform`, `outbox`, …).
    pub name: String,
    /// `ok`, `degraded`, `faulted`, `absent`.
    pub state: String,
    /// Details for the technician.
    pub detail: String,
}

/// What the panel shows about the terminal, as the driver gathered it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TechnicianStatus {
    /// Devices, the platform link and the outbox.
    pub lines: Vec<StatusLine>,
    /// Software version.
    pub version: String,
}

/// The maintenance panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenancePanel {
    /// The terminal's state, refreshed on entry and after each task.
    pub status: TechnicianStatus,
    /// The last task and how it went.
    pub last_task: Option<(MaintenanceTask, TaskOutcome)>,
}

/// How a task went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    /// Under way.
    Running,
    /// Done, with what it said.
    Done(String),
    /// Failed, with why.
    Failed(String),
}

/// The digits typed so far; wiped when dropped, never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PinEntry(Zeroizing<String>);

impl std::fmt::Debug for PinEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PinEntry({} digits)", self.0.len())
    }
}

impl PinEntry {
    /// The digits, for the check.
    pub fn digits(&self) -> &str {
        &self.0
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn push(&mut self, digit: u8) {
        if digit <= 9 && self.0.len() < MAX_PIN_DIGITS {
            self.0.push(char::from(b'0' + digit));
        }
    }

    pub(super) fn erase(&mut self) {
        self.0.pop();
    }

    pub(super) fn take(&mut self) -> PinEntry {
        std::mem::take(self)
    }
}

/// Recent secret taps.
#[derive(Debug, Default)]
pub(super) struct SecretTaps(Vec<Instant>);

impl SecretTaps {
    /// Records a tap; true when it completes the gesture.
    pub(super) fn tap(&mut self, now: Instant) -> bool {
        self.0.retain(|t| now.duration_since(*t) <= SECRET_WINDOW);
        self.0.push(now);
        if self.0.len() >= SECRET_TAPS {
            self.0.clear();
            true
        } else {
            false
        }
    }
}

/// The PIN pad's message for a verdict at `now` (Unix seconds).
pub(super) fn message_for(verdict: Verdict, now_unix: i64) -> PinMessage {
    match verdict {
        Verdict::Accepted => PinMessage::Enter,
        Verdict::Refused { attempts_left } => PinMessage::Wrong { attempts_left },
        Verdict::LockedOut { until } => PinMessage::Locked {
            minutes: u32::try_from(((until - now_unix).max(0) + 59) / 60).unwrap_or(u32::MAX),
        },
        Verdict::NotConfigured => PinMessage::NotConfigured,
    }
}
