//! What keeps guessing progress codes hopeless: wrong codes are counted per client address and
//! per application number, each in a window of an hour, and past a limit every try (right or
//! wrong) is refused until the window ends.
//!
//! A code is 8 of 31 letters (≈ 8.5 × 10¹¹ per number); at [`NUMBER_LIMIT`] wrong codes an hour
//! a number's code would take ~10⁷ years to find, however many addresses a guesser has. The
//! counts live in memory (a restart forgets them, which a guesser cannot cause) in maps of at
//! most [`MAX_TRACKED`] entries each: a million requests from a million addresses cost the same
//! memory as a hundred thousand, the oldest windows forgotten first. IPv6 clients are counted
//! by their /64, the block one subscriber gets.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;

/// Wrong codes one client address may send in a window.
pub const ADDRESS_LIMIT: u32 = 20;
/// Wrong codes one application number may receive in a window (from anyone).
pub const NUMBER_LIMIT: u32 = 10;
/// The window, in seconds.
pub const WINDOW_SECS: i64 = 3600;
/// Addresses, and numbers, remembered at most (each entry is a few dozen bytes).
pub const MAX_TRACKED: usize = 100_000;

/// Wrong tries of one subject in its current window.
#[derive(Debug, Clone, Copy)]
struct Window {
    started: i64,
    wrong: u32,
}

/// Counts of one kind of subject, bounded.
#[derive(Debug)]
struct Counts<K> {
    limit: u32,
    windows: HashMap<K, Window>,
}

impl<K: Hash + Eq + Clone> Counts<K> {
    fn new(limit: u32) -> Self {
        Counts {
            limit,
            windows: HashMap::new(),
        }
    }

    fn blocked(&self, key: &K, now: i64) -> bool {
        self.windows
            .get(key)
            .is_some_and(|w| now - w.started < WINDOW_SECS && w.wrong >= self.limit)
    }

    fn count(&mut self, key: K, now: i64) {
        if !self.windows.contains_key(&key) && self.windows.len() >= MAX_TRACKED {
            self.make_room(now);
        }
        let window = self.windows.entry(key).or_insert(Window {
            started: now,
            wrong: 0,
        });
        if now - window.started >= WINDOW_SECS {
            *window = Window {
                started: now,
                wrong: 0,
            };
        }
        window.wrong = window.wrong.saturating_add(1);
    }

    /// Forgets the ended windows, and when that is not enough the older half.
    fn make_room(&mut self, now: i64) {
        self.windows.retain(|_, w| now - w.started < WINDOW_SECS);
        if self.windows.len() < MAX_TRACKED {
            return;
        }
        let mut starts: Vec<i64> = self.windows.values().map(|w| w.started).collect();
        let middle = starts.len() / 2;
        let (_, cut, _) = starts.select_nth_unstable(middle);
        let cut = *cut;
        self.windows.retain(|_, w| w.started > cut);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.windows.len()
    }
}

/// The address a count is kept under: an IPv4 address, or an IPv6 address's /64.
fn counted_address(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
    }
}

/// The progress page's count of wrong codes.
#[derive(Debug)]
pub struct CodeGuard {
    addresses: Mutex<Counts<IpAddr>>,
    numbers: Mutex<Counts<String>>,
}

impl Default for CodeGuard {
    fn default() -> Self {
        CodeGuard {
            addresses: Mutex::new(Counts::new(ADDRESS_LIMIT)),
            numbers: Mutex::new(Counts::new(NUMBER_LIMIT)),
        }
    }
}

impl CodeGuard {
    /// True when a try at `number` from `address` must wait: either has had its wrong codes
    /// this window. Asked before the code is looked at, so a right code is refused too.
    pub fn blocked(&self, address: Option<IpAddr>, number: &str, now: i64) -> bool {
        let by_address = address.is_some_and(|a| {
            self.addresses
                .lock()
                .map(|c| c.blocked(&counted_address(a), now))
                .unwrap_or(true)
        });
        by_address
            || self
                .numbers
                .lock()
                .map(|c| c.blocked(&number.to_owned(), now))
                .unwrap_or(true)
    }

    /// Counts a wrong (or missing) code for `number` from `address`.
    pub fn wrong(&self, address: Option<IpAddr>, number: &str, now: i64) {
        if let (Some(a), Ok(mut counts)) = (address, self.addresses.lock()) {
            counts.count(counted_address(a), now);
        }
        if let Ok(mut counts) = self.numbers.lock() {
            counts.count(number.to_owned(), now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn a_number_is_blocked_after_its_wrong_codes_from_anyone_until_the_window_ends() {
        let guard = CodeGuard::default();
        for i in 0..NUMBER_LIMIT {
            let from = IpAddr::V4(Ipv4Addr::new(10, 0, 0, u8::try_from(i).unwrap_or(0)));
            assert!(!guard.blocked(Some(from), "202612080001", 100));
            guard.wrong(Some(from), "202612080001", 100);
        }
        let fresh = Some(IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9)));
        assert!(guard.blocked(fresh, "202612080001", 200));
        assert!(!guard.blocked(fresh, "202612080002", 200));
        assert!(!guard.blocked(fresh, "202612080001", 100 + WINDOW_SECS));
    }

    #[test]
    fn an_address_is_blocked_after_its_wrong_codes_over_any_numbers_and_v6_by_its_64() {
        let guard = CodeGuard::default();
        let from = |last: u16| {
            Some(IpAddr::V6(Ipv6Addr::new(
                0x2001, 0xdb8, 1, 2, 0, 0, 0, last,
            )))
        };
        for i in 0..ADDRESS_LIMIT {
            guard.wrong(from(u16::try_from(i).unwrap_or(0)), &format!("N{i}"), 10);
        }
        assert!(guard.blocked(from(999), "another", 11));
        let elsewhere = Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 0, 0, 0, 1)));
        assert!(!guard.blocked(elsewhere, "another", 11));
    }

    #[test]
    fn a_flood_of_subjects_stays_within_the_bound() {
        let mut counts = Counts::<String>::new(NUMBER_LIMIT);
        for i in 0..(MAX_TRACKED * 3) {
            counts.count(format!("{i}"), i64::try_from(i / 1000).unwrap_or(0));
        }
        assert!(counts.len() <= MAX_TRACKED);
        // The newest are kept.
        assert!(
            counts
                .windows
                .contains_key(&format!("{}", MAX_TRACKED * 3 - 1))
        );
    }
}
