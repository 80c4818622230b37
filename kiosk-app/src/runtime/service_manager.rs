//! systemd's service protocol for `kiosk run` under `kiosk.service` (`Type=notify`).
//!
//! READY=1 goes out from the UI thread's event loop once it runs, so systemd counts the kiosk as
//! started only when the screen is being served. WATCHDOG=1 pings come from a Slint timer on the
//! same thread at half of `WatchdogSec=`: a UI thread that hangs stops pinging and systemd
//! restarts the kiosk. Outside systemd (no `NOTIFY_SOCKET`) nothing is sent.

use std::cell::RefCell;
use std::time::Duration;

use sd_notify::NotifyState;

thread_local! {
    /// The watchdog timer lives as long as the UI thread's event loop.
    static WATCHDOG: RefCell<Option<slint::Timer>> = const { RefCell::new(None) };
}

/// How often to ping for a watchdog of `WATCHDOG_USEC=usec` meant for process `pid` (when
/// `WATCHDOG_PID` is set) as seen by process `own_pid`: half the timeout, as systemd advises.
/// `None` when there is no watchdog for this process.
pub fn ping_interval(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    if let Some(pid) = pid
        && pid.trim().parse::<u32>().ok()? != own_pid
    {
        return None;
    }
    Some(Duration::from_micros(usec) / 2)
}

/// How often the UI thread shows it is alive when systemd runs no watchdog: the evidence a
/// release on trial needs (`update::trial`).
const LIVENESS_TICK: Duration = Duration::from_secs(5);

/// Call on the UI thread before its event loop runs: schedules READY=1 for the loop's first
/// turn and, when systemd set a watchdog, the pings. Outside systemd nothing is sent, but the
/// same timer still leaves its evidence for the health check of a release on trial.
pub fn announce_when_running() {
    use crate::update::trial::SIGNALS;
    let notify = std::env::var_os("NOTIFY_SOCKET").is_some();
    slint::Timer::single_shot(Duration::ZERO, move || {
        SIGNALS.ui_up();
        if notify {
            send(&[NotifyState::Ready, NotifyState::Status("serving citizens")]);
            tracing::info!("told systemd the kiosk is ready");
        }
    });
    let usec = std::env::var("WATCHDOG_USEC").ok();
    let pid = std::env::var("WATCHDOG_PID").ok();
    let watchdog =
        ping_interval(usec.as_deref(), pid.as_deref(), std::process::id()).filter(|_| notify);
    if watchdog.is_some() {
        SIGNALS.watchdog_expected();
    }
    let every = watchdog.unwrap_or(LIVENESS_TICK);
    let timer = slint::Timer::default();
    timer.start(slint::TimerMode::Repeated, every, move || {
        let pinged = watchdog.is_some() && send(&[NotifyState::Watchdog]);
        SIGNALS.ui_tick(pinged);
    });
    WATCHDOG.with(|cell| *cell.borrow_mut() = Some(timer));
    if let Some(every) = watchdog {
        tracing::info!(every_ms = every.as_millis() as u64, "watchdog pings on");
    }
}

/// Sends `state` to systemd; whether it went out.
fn send(state: &[NotifyState]) -> bool {
    match sd_notify::notify(state) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("cannot notify systemd: {e}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_at_half_the_watchdog_timeout() {
        assert_eq!(
            ping_interval(Some("30000000"), None, 7),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            ping_interval(Some("30000000"), Some("7"), 7),
            Some(Duration::from_secs(15))
        );
    }

    #[test]
    fn no_pings_without_a_watchdog_for_this_process() {
        assert_eq!(ping_interval(None, None, 7), None);
        assert_eq!(ping_interval(Some("0"), None, 7), None);
        assert_eq!(ping_interval(Some("soon"), None, 7), None);
        assert_eq!(ping_interval(Some("30000000"), Some("8"), 7), None);
        assert_eq!(ping_interval(Some("30000000"), Some("x"), 7), None);
    }
}
