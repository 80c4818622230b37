//! One code held under the scanner counts once.
//!
//! Scanners in continuous (presentation) mode re-read a code every few hundred milliseconds
//! for as long as it stays in view, and a citizen who is unsure presents it again at once. The
//! session must see one scan, not a burst (a second appointment check-in, a second ticket).
//!
//! The window slides: every repeat of the same payload restarts it, so a code left lying
//! under the scanner for a minute still counts once, and counts again only after it has been
//! out of view for the whole window. A different payload is always accepted and becomes the
//! one compared against. Only a keyed hash of the last payload is kept, not the payload.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

/// Suppresses repeats of the same payload within a window; time is passed in (sans-IO), so
/// tests run on a mocked clock.
#[derive(Debug)]
pub struct Debouncer {
    window: Duration,
    hasher: RandomState,
    last: Option<(u64, Instant)>,
}

impl Debouncer {
    /// The default window: longer than any scanner's repeat interval (typically 300–1000 ms),
    /// shorter than it takes a citizen to mean a second scan of the same code.
    pub const DEFAULT_WINDOW: Duration = Duration::from_millis(1500);

    pub fn new(window: Duration) -> Debouncer {
        Debouncer {
            window,
            hasher: RandomState::new(),
            last: None,
        }
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// Whether `payload`, seen at `now`, is a new scan (`true`) or a repeat (`false`).
    pub fn accept(&mut self, payload: &str, now: Instant) -> bool {
        let hash = self.hasher.hash_one(payload);
        let repeat = self.last.is_some_and(|(last_hash, seen)| {
            last_hash == hash && now.saturating_duration_since(seen) < self.window
        });
        self.last = Some((hash, now));
        !repeat
    }

    /// Forgets the last payload, e.g. at the start of a new citizen session, so that the next
    /// citizen's first scan counts even if it is the same code.
    pub fn reset(&mut self) {
        self.last = None;
    }
}

impl Default for Debouncer {
    fn default() -> Self {
        Debouncer::new(Self::DEFAULT_WINDOW)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn repeats_within_the_window_count_once() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(500 * MS);
        assert!(d.accept("YY20240601", t0));
        assert!(!d.accept("YY20240601", t0 + 100 * MS));
        assert!(!d.accept("YY20240601", t0 + 499 * MS));
        // The window slid with the last repeat, at 499 ms.
        assert!(!d.accept("YY20240601", t0 + 900 * MS));
        assert!(
            d.accept("YY20240601", t0 + 1500 * MS),
            "out of view long enough"
        );
    }

    #[test]
    fn held_code_in_continuous_mode_counts_once() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(500 * MS);
        let accepted = (0..100)
            .filter(|i| d.accept("SFM1:token", t0 + 300 * MS * *i))
            .count();
        assert_eq!(accepted, 1);
    }

    #[test]
    fn a_different_code_always_counts() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(500 * MS);
        assert!(d.accept("A", t0));
        assert!(d.accept("B", t0 + MS));
        assert!(d.accept("A", t0 + 2 * MS), "A-B-A is three scans");
        assert!(!d.accept("A", t0 + 3 * MS));
    }

    #[test]
    fn reset_and_zero_window() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(500 * MS);
        assert!(d.accept("A", t0));
        d.reset();
        assert!(d.accept("A", t0 + MS));
        let mut none = Debouncer::new(Duration::ZERO);
        assert!(none.accept("A", t0));
        assert!(none.accept("A", t0), "a zero window debounces nothing");
    }
}
