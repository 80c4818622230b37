//! What keeps password guessing slow and cheap: failed logins per account and per client
//! address, each past a free allowance answered by a growing wait; a small cap on password
//! hashes computed at once; and one audit line per account, address and window instead of one
//! per failure.
//!
//! Everything is decided before a hash is computed, so a refused attempt costs a map look-up:
//! an argon2 check takes 19 MiB and tens of milliseconds of one core, and before this cap 512
//! logins at 128 at once drove the platform to 7 GB. The waits are not slept on the server
//! (a sleeping request still holds a connection): the attempt is refused at once with the time
//! to try again. The counts live in memory — a restart forgets them, which an attacker cannot
//! cause — and are bounded, the oldest forgotten first.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Failed logins an account may have before each next one makes it wait.
pub const ACCOUNT_ALLOWANCE: u32 = 5;
/// Failed logins one client address may have (over every account it tries) before each next
/// one makes it wait; larger than an account's, since an office may share one address.
pub const ADDRESS_ALLOWANCE: u32 = 20;
/// The first wait past an allowance, doubled by each further failure.
pub const FIRST_WAIT_SECS: i64 = 2;
/// The longest wait.
pub const LONGEST_WAIT_SECS: i64 = 15 * 60;
/// A count is forgotten this long after its last failure.
pub const FORGET_AFTER_SECS: i64 = 3600;
/// Password hashes computed at once; the next login is refused (503) rather than queued.
pub const CONCURRENT_HASHES: usize = 2;
/// Failures of one account from one address share an audit line for this long.
pub const AUDIT_WINDOW_SECS: i64 = 600;
/// Accounts and addresses remembered at most (each entry is a few dozen bytes).
const MAX_TRACKED: usize = 100_000;

/// The address a request came from: the peer of its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip()),
        ))
    }
}

/// Who a failure counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    Account(String),
    Address(IpAddr),
}

/// Failures of one subject.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: i64,
    /// No attempt is looked at before this (Unix seconds).
    until: i64,
}

/// The audit line failures of one account from one address are counted on.
#[derive(Debug, Clone, Copy)]
pub struct AuditLine {
    /// Its id in the audit log; `None` until written.
    pub id: Option<i64>,
    /// Failures counted on it.
    pub count: u32,
    /// When the line was started (Unix seconds).
    pub since: i64,
}

/// Why a login is refused before its password is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many failures: try again at this time (Unix seconds).
    Throttled { until: i64 },
    /// As many hashes as allowed are being computed.
    Busy,
}

/// The login throttle of one platform.
#[derive(Debug)]
pub struct LoginGuard {
    failures: Mutex<HashMap<Subject, Failures>>,
    audit_lines: Mutex<HashMap<(String, Option<IpAddr>), AuditLine>>,
    hashes: Arc<Semaphore>,
}

impl Default for LoginGuard {
    fn default() -> Self {
        Self {
            failures: Mutex::default(),
            audit_lines: Mutex::default(),
            hashes: Arc::new(Semaphore::new(CONCURRENT_HASHES)),
        }
    }
}

/// The wait after `count` failures with `allowance` free ones.
fn wait_after(count: u32, allowance: u32) -> i64 {
    if count < allowance {
        return 0;
    }
    let doublings = (count - allowance).min(20);
    (FIRST_WAIT_SECS << doublings).min(LONGEST_WAIT_SECS)
}

impl LoginGuard {
    /// Admits an attempt at `account` from `address` at `now`: a permit to compute one hash, or
    /// why not. Nothing is hashed for a refused attempt.
    pub fn admit(
        &self,
        account: &str,
        address: Option<IpAddr>,
        now: i64,
    ) -> Result<OwnedSemaphorePermit, Refusal> {
        if let Ok(failures) = self.failures.lock() {
            let until = subjects(account, address)
                .filter_map(|s| failures.get(&s))
                .filter(|f| now - f.last < FORGET_AFTER_SECS)
                .map(|f| f.until)
                .max()
                .unwrap_or(0);
            if until > now {
                return Err(Refusal::Throttled { until });
            }
        }
        self.hashes
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::Busy)
    }

    /// Counts a failed attempt at `account` from `address`; returns when the next attempt
    /// will be looked at (Unix seconds; `now` while within the allowance).
    pub fn failed(&self, account: &str, address: Option<IpAddr>, now: i64) -> i64 {
        let Ok(mut failures) = self.failures.lock() else {
            return now;
        };
        if failures.len() >= MAX_TRACKED {
            forget_oldest(&mut failures, now);
        }
        let mut until = now;
        for subject in subjects(account, address) {
            let allowance = match subject {
                Subject::Account(_) => ACCOUNT_ALLOWANCE,
                Subject::Address(_) => ADDRESS_ALLOWANCE,
            };
            let entry = failures.entry(subject).or_insert(Failures {
                count: 0,
                last: now,
                until: now,
            });
            if now - entry.last >= FORGET_AFTER_SECS {
                entry.count = 0;
            }
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
            entry.until = now + wait_after(entry.count, allowance);
            until = until.max(entry.until);
        }
        until
    }

    /// Forgets an account's failures after its password was given (its address's stay).
    pub fn succeeded(&self, account: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&Subject::Account(account.to_owned()));
        }
    }

    /// Counts a failure on the audit line of `account` from `address`: the line to write
    /// (a new one when `id` is `None`), with its count.
    pub fn audit_line(&self, account: &str, address: Option<IpAddr>, now: i64) -> AuditLine {
        let Ok(mut lines) = self.audit_lines.lock() else {
            return AuditLine {
                id: None,
                count: 1,
                since: now,
            };
        };
        if lines.len() >= MAX_TRACKED {
            lines.retain(|_, line| now - line.since < AUDIT_WINDOW_SECS);
            if lines.len() >= MAX_TRACKED {
                lines.clear();
            }
        }
        let line = lines
            .entry((account.to_owned(), address))
            .and_modify(|line| {
                if now - line.since >= AUDIT_WINDOW_SECS {
                    *line = AuditLine {
                        id: None,
                        count: 0,
                        since: now,
                    };
                }
                line.count = line.count.saturating_add(1);
            })
            .or_insert(AuditLine {
                id: None,
                count: 1,
                since: now,
            });
        *line
    }

    /// Remembers the id the audit line of `account` from `address` was written under.
    pub fn audit_line_written(&self, account: &str, address: Option<IpAddr>, id: i64) {
        if let Ok(mut lines) = self.audit_lines.lock()
            && let Some(line) = lines.get_mut(&(account.to_owned(), address))
        {
            line.id = Some(id);
        }
    }
}

fn subjects(account: &str, address: Option<IpAddr>) -> impl Iterator<Item = Subject> {
    std::iter::once(Subject::Account(account.to_owned())).chain(address.map(Subject::Address))
}

/// Makes room: forgets what is past [`FORGET_AFTER_SECS`], else the older half.
fn forget_oldest(failures: &mut HashMap<Subject, Failures>, now: i64) {
    failures.retain(|_, f| now - f.last < FORGET_AFTER_SECS && f.until > now);
    if failures.len() >= MAX_TRACKED / 2 {
        let mut lasts: Vec<i64> = failures.values().map(|f| f.last).collect();
        let middle = lasts.len() / 2;
        let (_, median, _) = lasts.select_nth_unstable(middle);
        let median = *median;
        failures.retain(|_, f| f.last > median);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));

    #[test]
    fn an_account_waits_longer_after_each_failure_past_its_allowance() {
        let guard = LoginGuard::default();
        let mut now = 1_000;
        for _ in 0..ACCOUNT_ALLOWANCE - 1 {
            assert_eq!(guard.failed("ops", None, now), now);
            assert!(guard.admit("ops", None, now).is_ok());
        }
        let mut waits = Vec::new();
        for _ in 0..4 {
            let until = guard.failed("ops", None, now);
            assert_eq!(
                guard.admit("ops", None, now).err(),
                Some(Refusal::Throttled { until })
            );
            // Another account is not held up by this one.
            assert!(guard.admit("other", None, now).is_ok());
            waits.push(until - now);
            now = until;
        }
        assert_eq!(waits, [2, 4, 8, 16]);
        guard.succeeded("ops");
        assert!(guard.admit("ops", None, now).is_ok());
    }

    #[test]
    fn an_address_trying_many_accounts_waits_too() {
        let guard = LoginGuard::default();
        for i in 0..ADDRESS_ALLOWANCE {
            guard.failed(&format!("name{i}"), HOME, 1_000);
        }
        assert!(matches!(
            guard.admit("fresh", HOME, 1_000),
            Err(Refusal::Throttled { .. })
        ));
        assert!(guard.admit("fresh", None, 1_000).is_ok());
        // Forgotten an hour after the last failure.
        assert!(
            guard
                .admit("fresh", HOME, 1_000 + FORGET_AFTER_SECS)
                .is_ok()
        );
    }

    #[test]
    fn waits_stop_growing_at_the_longest() {
        assert_eq!(
            wait_after(ACCOUNT_ALLOWANCE + 40, ACCOUNT_ALLOWANCE),
            LONGEST_WAIT_SECS
        );
        assert_eq!(wait_after(u32::MAX, ACCOUNT_ALLOWANCE), LONGEST_WAIT_SECS);
    }

    #[test]
    fn no_more_hashes_than_the_cap_at_once() {
        let guard = LoginGuard::default();
        let permits: Vec<_> = (0..CONCURRENT_HASHES)
            .map(|_| guard.admit("ops", None, 0).expect("a permit"))
            .collect();
        assert_eq!(guard.admit("ops", None, 0).err(), Some(Refusal::Busy));
        drop(permits);
        assert!(guard.admit("ops", None, 0).is_ok());
    }

    #[test]
    fn failures_share_one_audit_line_per_window() {
        let guard = LoginGuard::default();
        let first = guard.audit_line("ops", HOME, 1_000);
        assert_eq!((first.id, first.count), (None, 1));
        guard.audit_line_written("ops", HOME, 7);
        let second = guard.audit_line("ops", HOME, 1_010);
        assert_eq!((second.id, second.count), (Some(7), 2));
        assert_eq!(guard.audit_line("ops", None, 1_010).id, None);
        let later = guard.audit_line("ops", HOME, 1_000 + AUDIT_WINDOW_SECS);
        assert_eq!((later.id, later.count), (None, 1));
    }

    #[test]
    fn the_tracked_set_stays_bounded() {
        let guard = LoginGuard::default();
        for i in 0..(MAX_TRACKED as u32 + 10) {
            guard.failed(&format!("n{i}"), None, i64::from(i));
        }
        let tracked = guard.failures.lock().map(|f| f.len()).unwrap_or(0);
        assert!(tracked <= MAX_TRACKED, "{tracked}");
    }
}
