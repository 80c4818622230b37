//! The reader loop: one thread per scanner, turning a [`ScanSource`] into [`ScannerEvent`]s.
//!
//! The loop owns the transport. It debounces and classifies what the codec accepted, reports
//! what it refused, and when the scanner goes away it says so once and keeps trying to reopen
//! it, backing off, until it is back or the reader is stopped. The device manager decides
//! what the events mean for the kiosk's health; this loop only reports them.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::classify::Scan;
use super::codec::LineError;
use super::debounce::Debouncer;

/// Why a scanner transport failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The scanner is gone: unplugged, powered off, or its device node removed.
    #[error("the scanner is disconnected: {0}")]
    Disconnected(String),
    /// The device could not be opened.
    #[error("could not open the scanner at {path}: {source}")]
    Open {
        /// The device path.
        path: String,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The device is not an input device (evdev only): a wrong path in the configuration.
    #[error("{0} is not an input event device")]
    NotAnInputDevice(String),
    /// Another program holds an exclusive grab on the input device (evdev only).
    #[error("another program has grabbed the input device {0}")]
    AlreadyGrabbed(String),
    /// This source cannot be reopened (e.g. a replayed event stream).
    #[error("this scanner source cannot be reopened")]
    NotReopenable,
}

/// A scanner transport seen from the reader loop.
pub trait ScanSource: Send {
    /// Waits up to `timeout` for input and returns the lines it completed (possibly none).
    /// A line that went quiet mid-way is reported as [`LineError::Interrupted`].
    fn poll_lines(
        &mut self,
        timeout: Duration,
    ) -> Result<Vec<Result<String, LineError>>, SourceError>;

    /// Closes and opens the device again (after a [`SourceError`]).
    fn reopen(&mut self) -> Result<(), SourceError>;

    /// Whether the device is open now.
    fn is_open(&self) -> bool;
}

/// A boxed transport is a transport, so a kiosk can choose serial or wedge from its
/// configuration and still run one reader loop type.
impl<T: ScanSource + ?Sized> ScanSource for Box<T> {
    fn poll_lines(
        &mut self,
        timeout: Duration,
    ) -> Result<Vec<Result<String, LineError>>, SourceError> {
        (**self).poll_lines(timeout)
    }

    fn reopen(&mut self) -> Result<(), SourceError> {
        (**self).reopen()
    }

    fn is_open(&self) -> bool {
        (**self).is_open()
    }
}

/// What the reader loop reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerEvent {
    /// The scanner is open and being read (at start, and after every reconnection).
    Connected,
    /// A new code was scanned (repeats within the debounce window are not reported).
    Scanned(Scan),
    /// Something arrived that is not an acceptable code. Worth counting for diagnostics; the
    /// citizen at most gets a "could not read the code, please try again".
    Rejected(LineError),
    /// The scanner could not be read or opened; the loop keeps trying to reopen it.
    Disconnected(String),
}

/// Timing of the reader loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderOptions {
    /// Repeats of the same payload within this window count once.
    pub debounce: Duration,
    /// How long one wait for input may last; bounds how late a stop request is noticed.
    pub poll: Duration,
    /// The first wait before reopening a scanner that went away; doubles up to
    /// `reconnect_max`.
    pub reconnect_min: Duration,
    /// The longest wait between reopening attempts.
    pub reconnect_max: Duration,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            debounce: Debouncer::DEFAULT_WINDOW,
            poll: Duration::from_millis(100),
            reconnect_min: Duration::from_millis(200),
            reconnect_max: Duration::from_secs(5),
        }
    }
}

/// A running reader loop. Dropping it (or [`ScannerReader::stop`]) stops the thread and
/// closes the scanner.
#[derive(Debug)]
pub struct ScannerReader {
    stop: Arc<AtomicBool>,
    nudge: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Asks a reader loop that is waiting to reopen a lost scanner to try again at once, with
/// its back-off reset: what a hotplug monitor calls when a device node appears, so a
/// replugged scanner is back in milliseconds instead of after the longest back-off.
#[derive(Debug, Clone)]
pub struct ReopenNudge(Arc<AtomicBool>);

impl ReopenNudge {
    /// Try to reopen now (no effect while the scanner is connected).
    pub fn nudge(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl ScannerReader {
    /// Starts reading `source` on a thread of its own, sending events to `events`. The loop
    /// ends when stopped or when nobody receives its events any more.
    pub fn spawn<S: ScanSource + 'static>(
        source: S,
        options: ReaderOptions,
        events: Sender<ScannerEvent>,
    ) -> io::Result<ScannerReader> {
        let stop = Arc::new(AtomicBool::new(false));
        let nudge = Arc::new(AtomicBool::new(false));
        let (flag, nudged) = (Arc::clone(&stop), Arc::clone(&nudge));
        let thread = std::thread::Builder::new()
            .name("scanner-reader".into())
            .spawn(move || run(source, options, &events, &flag, &nudged))?;
        Ok(ScannerReader {
            stop,
            nudge,
            thread: Some(thread),
        })
    }

    /// A handle that makes the loop retry a lost scanner at once (see [`ReopenNudge`]).
    pub fn reopen_nudge(&self) -> ReopenNudge {
        ReopenNudge(Arc::clone(&self.nudge))
    }

    /// Stops the loop and waits for it (at most about one poll interval).
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the scanner reader thread panicked");
        }
    }
}

impl Drop for ScannerReader {
    fn drop(&mut self) {
        self.halt();
    }
}

fn run<S: ScanSource>(
    mut source: S,
    options: ReaderOptions,
    events: &Sender<ScannerEvent>,
    stop: &AtomicBool,
    nudge: &AtomicBool,
) {
    let mut debouncer = Debouncer::new(options.debounce);
    let mut connected = false;
    // Whether "disconnected" has been said since the last "connected", so it is said once.
    let mut reported_down = false;
    let mut backoff = options.reconnect_min;
    if source.is_open() {
        connected = true;
        if events.send(ScannerEvent::Connected).is_err() {
            return;
        }
    }
    while !stop.load(Ordering::Relaxed) {
        if !connected {
            match source.reopen() {
                Ok(()) => {
                    connected = true;
                    reported_down = false;
                    backoff = options.reconnect_min;
                    tracing::info!("scanner connected");
                    if events.send(ScannerEvent::Connected).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    if !reported_down {
                        reported_down = true;
                        tracing::warn!(error = %e, "scanner unavailable");
                        if events
                            .send(ScannerEvent::Disconnected(e.to_string()))
                            .is_err()
                        {
                            return;
                        }
                    }
                    if sleep_unless_stopped(backoff, stop, nudge) {
                        backoff = options.reconnect_min;
                    } else {
                        backoff = (backoff * 2).min(options.reconnect_max);
                    }
                }
            }
            continue;
        }
        let lines = match source.poll_lines(options.poll) {
            Ok(lines) => lines,
            Err(e) => {
                connected = false;
                reported_down = true;
                tracing::warn!(error = %e, "scanner lost");
                if events
                    .send(ScannerEvent::Disconnected(e.to_string()))
                    .is_err()
                {
                    return;
                }
                continue;
            }
        };
        let now = Instant::now();
        for line in lines {
            let event = match line {
                Ok(text) if debouncer.accept(&text, now) => {
                    let scan = Scan::new(text);
                    tracing::debug!(kind = %scan.kind(), len = scan.text().len(), "scanned");
                    ScannerEvent::Scanned(scan)
                }
                Ok(_) => {
                    tracing::trace!("repeat scan suppressed");
                    continue;
                }
                Err(e) => {
                    tracing::info!(error = %e, "scan rejected");
                    ScannerEvent::Rejected(e)
                }
            };
            if events.send(event).is_err() {
                return;
            }
        }
    }
}

/// Sleeps `total` in short slices, returning early when asked to stop or nudged; true when
/// nudged.
fn sleep_unless_stopped(total: Duration, stop: &AtomicBool, nudge: &AtomicBool) -> bool {
    let deadline = Instant::now() + total;
    while !stop.load(Ordering::Relaxed) {
        if nudge.swap(false, Ordering::Relaxed) {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::mpsc;

    /// A scripted source: each poll takes the next step.
    enum Step {
        Lines(Vec<Result<String, LineError>>),
        Fail,
    }

    struct Scripted {
        steps: VecDeque<Step>,
        open: bool,
        reopen_failures: u32,
    }

    impl ScanSource for Scripted {
        fn poll_lines(
            &mut self,
            timeout: Duration,
        ) -> Result<Vec<Result<String, LineError>>, SourceError> {
            match self.steps.pop_front() {
                Some(Step::Lines(lines)) => Ok(lines),
                Some(Step::Fail) => {
                    self.open = false;
                    Err(SourceError::Disconnected("pulled".into()))
                }
                None => {
                    std::thread::sleep(timeout);
                    Ok(Vec::new())
                }
            }
        }

        fn reopen(&mut self) -> Result<(), SourceError> {
            if self.reopen_failures > 0 {
                self.reopen_failures -= 1;
                return Err(SourceError::Disconnected("still gone".into()));
            }
            self.open = true;
            Ok(())
        }

        fn is_open(&self) -> bool {
            self.open
        }
    }

    fn options() -> ReaderOptions {
        ReaderOptions {
            debounce: Duration::from_secs(10),
            poll: Duration::from_millis(5),
            reconnect_min: Duration::from_millis(1),
            reconnect_max: Duration::from_millis(4),
        }
    }

    #[test]
    fn events_in_order_with_debounce_and_reconnect() {
        let source = Scripted {
            steps: VecDeque::from([
                Step::Lines(vec![
                    Ok("YY20240601".into()),
                    Ok("YY20240601".into()),
                    Err(LineError::NotText),
                ]),
                Step::Fail,
                Step::Lines(vec![Ok("PD-HZ01-A023".into())]),
            ]),
            open: true,
            reopen_failures: 3,
        };
        let (tx, rx) = mpsc::channel();
        let reader = ScannerReader::spawn(source, options(), tx).expect("spawn");
        let wait = Duration::from_secs(5);
        let mut got = Vec::new();
        while got.len() < 6 {
            got.push(rx.recv_timeout(wait).expect("event"));
        }
        reader.stop();
        assert_eq!(got[0], ScannerEvent::Connected);
        assert!(matches!(&got[1], ScannerEvent::Scanned(s) if s.text() == "YY20240601"));
        assert_eq!(got[2], ScannerEvent::Rejected(LineError::NotText));
        assert!(matches!(&got[3], ScannerEvent::Disconnected(_)));
        // Three failed reopen attempts say nothing more; the fourth succeeds.
        assert_eq!(got[4], ScannerEvent::Connected);
        assert!(matches!(&got[5], ScannerEvent::Scanned(s) if s.text() == "PD-HZ01-A023"));
        assert!(rx.try_recv().is_err(), "nothing else: {:?}", rx.try_recv());
    }

    #[test]
    fn a_source_absent_at_start_is_reported_once_then_connects() {
        let source = Scripted {
            steps: VecDeque::new(),
            open: false,
            reopen_failures: 5,
        };
        let (tx, rx) = mpsc::channel();
        let _reader = ScannerReader::spawn(source, options(), tx).expect("spawn");
        let wait = Duration::from_secs(5);
        assert!(matches!(
            rx.recv_timeout(wait),
            Ok(ScannerEvent::Disconnected(_))
        ));
        assert_eq!(rx.recv_timeout(wait).ok(), Some(ScannerEvent::Connected));
    }

    #[test]
    fn a_nudge_retries_at_once_instead_of_after_the_back_off() {
        let source = Scripted {
            steps: VecDeque::new(),
            open: false,
            reopen_failures: 1,
        };
        let slow = ReaderOptions {
            reconnect_min: Duration::from_secs(60),
            reconnect_max: Duration::from_secs(60),
            ..options()
        };
        let (tx, rx) = mpsc::channel();
        let reader = ScannerReader::spawn(source, slow, tx).expect("spawn");
        let wait = Duration::from_secs(5);
        assert!(matches!(
            rx.recv_timeout(wait),
            Ok(ScannerEvent::Disconnected(_))
        ));
        reader.reopen_nudge().nudge();
        assert_eq!(rx.recv_timeout(wait).ok(), Some(ScannerEvent::Connected));
    }
}
