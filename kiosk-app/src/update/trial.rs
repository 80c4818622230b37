//! The health check a new release must pass before it is committed.
//!
//! A release on trial (and a new OS image after its reboot) is healthy when, within
//! `[updates] health_deadline_secs` of starting: its UI came up and its event loop kept
//! turning (the watchdog timer fired, and systemd got its ping when it asked for one), and
//! either the platform answered a signed heartbeat or the outbox opened and reads. Then it is
//! committed; otherwise it records why, goes back, and ends so systemd restarts the committed
//! release. [`judge`] is the pure rule; [`HealthSignals`] is where the rest of the process
//! leaves its evidence.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

/// Evidence of health, left by the parts of the process that see it.
#[derive(Debug, Default)]
pub struct HealthSignals {
    ui_up: AtomicBool,
    ui_ticks: AtomicU32,
    watchdog_expected: AtomicBool,
    watchdog_pings: AtomicU32,
    platform_reached: AtomicBool,
}

/// This process's evidence.
pub static SIGNALS: HealthSignals = HealthSignals {
    ui_up: AtomicBool::new(false),
    ui_ticks: AtomicU32::new(0),
    watchdog_expected: AtomicBool::new(false),
    watchdog_pings: AtomicU32::new(0),
    platform_reached: AtomicBool::new(false),
};

impl HealthSignals {
    /// The UI thread's event loop turned for the first time (READY=1 time).
    pub fn ui_up(&self) {
        self.ui_up.store(true, Ordering::Relaxed);
    }

    /// systemd asked for watchdog pings.
    pub fn watchdog_expected(&self) {
        self.watchdog_expected.store(true, Ordering::Relaxed);
    }

    /// The UI thread's liveness timer fired; `pinged` when it also reached systemd's watchdog.
    pub fn ui_tick(&self, pinged: bool) {
        self.ui_ticks.fetch_add(1, Ordering::Relaxed);
        if pinged {
            self.watchdog_pings.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A signed request to the platform was answered.
    pub fn platform_reached(&self) {
        self.platform_reached.store(true, Ordering::Relaxed);
    }

    /// What has been seen so far; `outbox_healthy` is checked by the caller.
    pub fn snapshot(&self, outbox_healthy: bool) -> Evidence {
        Evidence {
            ui_up: self.ui_up.load(Ordering::Relaxed),
            ui_ticks: self.ui_ticks.load(Ordering::Relaxed),
            watchdog_expected: self.watchdog_expected.load(Ordering::Relaxed),
            watchdog_pings: self.watchdog_pings.load(Ordering::Relaxed),
            platform_reached: self.platform_reached.load(Ordering::Relaxed),
            outbox_healthy,
        }
    }
}

/// The evidence at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Evidence {
    /// The UI's event loop ran.
    pub ui_up: bool,
    /// Times the UI thread's liveness timer fired.
    pub ui_ticks: u32,
    /// systemd runs a watchdog for the kiosk.
    pub watchdog_expected: bool,
    /// Pings systemd's watchdog got.
    pub watchdog_pings: u32,
    /// The platform answered.
    pub platform_reached: bool,
    /// The outbox opens and reads.
    pub outbox_healthy: bool,
}

impl Evidence {
    /// What is still missing, as codes; empty when healthy.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if !self.ui_up {
            missing.push("ui_not_up");
        }
        if self.ui_ticks == 0 {
            missing.push("ui_loop_not_turning");
        }
        if self.watchdog_expected && self.watchdog_pings == 0 {
            missing.push("watchdog_not_pinged");
        }
        if !self.platform_reached && !self.outbox_healthy {
            missing.push("neither_platform_nor_outbox");
        }
        missing
    }
}

/// The health check's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not yet decided.
    Waiting,
    /// Everything seen: commit.
    Healthy,
    /// The deadline passed; the reason names what was missing.
    Failed(String),
}

/// Judges `evidence` gathered `elapsed` after the start against `deadline`.
pub fn judge(evidence: &Evidence, elapsed: Duration, deadline: Duration) -> Verdict {
    let missing = evidence.missing();
    if missing.is_empty() {
        Verdict::Healthy
    } else if elapsed >= deadline {
        Verdict::Failed(format!(
            "health_check_failed: after {} s still {}",
            deadline.as_secs(),
            missing.join(", ")
        ))
    } else {
        Verdict::Waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> Evidence {
        Evidence {
            ui_up: true,
            ui_ticks: 1,
            watchdog_expected: true,
            watchdog_pings: 1,
            platform_reached: false,
            outbox_healthy: true,
        }
    }

    #[test]
    fn healthy_as_soon_as_everything_is_seen() {
        let deadline = Duration::from_secs(120);
        assert_eq!(
            judge(&healthy(), Duration::from_secs(3), deadline),
            Verdict::Healthy
        );
        let offline_but_queueing = Evidence {
            platform_reached: false,
            outbox_healthy: true,
            ..healthy()
        };
        assert_eq!(
            judge(&offline_but_queueing, Duration::ZERO, deadline),
            Verdict::Healthy
        );
    }

    #[test]
    fn a_hung_ui_or_a_silent_watchdog_fails_at_the_deadline_naming_it() {
        let deadline = Duration::from_secs(120);
        let hung = Evidence {
            ui_ticks: 0,
            watchdog_pings: 0,
            ..healthy()
        };
        assert_eq!(
            judge(&hung, Duration::from_secs(119), deadline),
            Verdict::Waiting
        );
        let Verdict::Failed(why) = judge(&hung, deadline, deadline) else {
            panic!("should fail");
        };
        assert!(why.contains("ui_loop_not_turning"), "{why}");
        assert!(why.contains("watchdog_not_pinged"), "{why}");
        let cut_off = Evidence {
            platform_reached: false,
            outbox_healthy: false,
            ..healthy()
        };
        assert!(
            matches!(judge(&cut_off, deadline, deadline), Verdict::Failed(w) if w.contains("neither_platform_nor_outbox"))
        );
    }

    #[test]
    fn without_systemd_no_ping_is_needed() {
        let evidence = Evidence {
            watchdog_expected: false,
            watchdog_pings: 0,
            ..healthy()
        };
        assert!(evidence.missing().is_empty());
    }
}
