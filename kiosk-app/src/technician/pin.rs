//! Technician access to maintenance mode: the PIN and its lockout.
//!
//! The PIN itself never sits on the terminal: `kiosk.toml` carries its argon2 hash
//! (`kiosk maintenance hash-pin` makes one). Guessing is bounded: after
//! [`FAILURES_BEFORE_LOCKOUT`] wrong PINs in a row the pad locks, for five minutes the first
//! time and twice as long each time after (at most a day). The count and the lock survive a
//! restart (they are kept in the data folder), so pulling the plug does not reset them; a right
//! PIN clears them. Every attempt goes to the audit trail the platform receives.

use std::path::{Path, PathBuf};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};

use crate::session::Verdict;

/// Wrong PINs in a row that lock the pad.
pub const FAILURES_BEFORE_LOCKOUT: u32 = 5;
/// The first lock's length, seconds; each later one doubles.
pub const FIRST_LOCKOUT_SECS: i64 = 300;
/// The longest lock, seconds.
pub const LONGEST_LOCKOUT_SECS: i64 = 86_400;

/// File of the lockout state inside the data folder.
pub const LOCKOUT_FILE: &str = "maintenance-lockout.json";

/// Why a PIN cannot be set or checked.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    /// A PIN is 6 to 12 digits.
    #[error("a technician PIN is 6 to 12 digits")]
    BadFormat,
    /// The configured hash is not an argon2 hash.
    #[error("`maintenance.pin_hash` is not an argon2 hash made by `kiosk maintenance hash-pin`")]
    BadHash,
    /// No OS randomness for the salt.
    #[error("no OS random source for the salt: {0}")]
    NoRandomness(String),
}

/// Failures and locks, as kept on disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Lockout {
    failures: u32,
    lockouts: u32,
    locked_until: i64,
}

/// The PIN pad's gate.
pub struct PinGate {
    hash: Option<String>,
    state: Lockout,
    path: PathBuf,
}

impl PinGate {
    /// A gate for the PIN hash from the configuration (`None`: no PIN set), keeping its
    /// lockout state in `data_dir`.
    pub fn open(pin_hash: Option<&str>, data_dir: &Path) -> Result<Self, PinError> {
        if let Some(hash) = pin_hash {
            PasswordHash::new(hash).map_err(|_| PinError::BadHash)?;
        }
        let path = data_dir.join(LOCKOUT_FILE);
        // An unreadable state file counts as locked once: tampering must not reset the count.
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(Lockout {
                failures: FAILURES_BEFORE_LOCKOUT,
                lockouts: 1,
                locked_until: 0,
            }),
            Err(_) => Lockout::default(),
        };
        Ok(Self {
            hash: pin_hash.map(str::to_owned),
            state,
            path,
        })
    }

    /// Checks `pin` at Unix time `now`.
    pub fn attempt(&mut self, pin: &str, now: i64) -> Verdict {
        let Some(hash) = &self.hash else {
            return Verdict::NotConfigured;
        };
        if now < self.state.locked_until {
            return Verdict::LockedOut {
                until: self.state.locked_until,
            };
        }
        let right = PasswordHash::new(hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(pin.as_bytes(), &parsed)
                .is_ok()
        });
        let verdict = if right {
            self.state = Lockout::default();
            Verdict::Accepted
        } else {
            self.state.failures += 1;
            if self.state.failures >= FAILURES_BEFORE_LOCKOUT {
                let length = FIRST_LOCKOUT_SECS
                    .checked_shl(self.state.lockouts.min(16))
                    .unwrap_or(LONGEST_LOCKOUT_SECS)
                    .min(LONGEST_LOCKOUT_SECS);
                self.state.lockouts += 1;
                self.state.failures = 0;
                self.state.locked_until = now + length;
                Verdict::LockedOut {
                    until: self.state.locked_until,
                }
            } else {
                Verdict::Refused {
                    attempts_left: FAILURES_BEFORE_LOCKOUT - self.state.failures,
                }
            }
        };
        self.persist();
        verdict
    }

    fn persist(&self) {
        let Ok(bytes) = serde_json::to_vec(&self.state) else {
            return;
        };
        let written = crate::write_atomically(&self.path, &bytes);
        if let Err(e) = written {
            tracing::error!(error = %e, "cannot keep the PIN lockout state");
        }
    }
}

/// The argon2 hash of a new technician PIN, for `maintenance.pin_hash`.
pub fn hash_pin(pin: &str) -> Result<String, PinError> {
    if !(6..=12).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PinError::BadFormat);
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| PinError::NoRandomness(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| PinError::NoRandomness(e.to_string()))?;
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PinError::NoRandomness(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn five_wrong_pins_lock_the_pad_longer_each_time_and_a_restart_does_not_reset_it() {
        let dir = tempfile::tempdir().expect("dir");
        let hash = hash_pin("246810").expect("hash");
        let mut gate = PinGate::open(Some(&hash), dir.path()).expect("gate");
        for left in (1..FAILURES_BEFORE_LOCKOUT).rev() {
            assert_eq!(
                gate.attempt("000000", NOW),
                Verdict::Refused {
                    attempts_left: left
                }
            );
        }
        assert_eq!(
            gate.attempt("000000", NOW),
            Verdict::LockedOut {
                until: NOW + FIRST_LOCKOUT_SECS
            }
        );
        // Locked: even the right PIN is not checked.
        assert!(matches!(
            gate.attempt("246810", NOW + 10),
            Verdict::LockedOut { .. }
        ));
        // The plug is pulled: the lock stays.
        drop(gate);
        let mut gate = PinGate::open(Some(&hash), dir.path()).expect("gate");
        assert!(matches!(
            gate.attempt("246810", NOW + 20),
            Verdict::LockedOut { .. }
        ));
        // After it, five more wrong ones lock twice as long.
        let later = NOW + FIRST_LOCKOUT_SECS;
        for _ in 0..FAILURES_BEFORE_LOCKOUT - 1 {
            gate.attempt("111111", later);
        }
        assert_eq!(
            gate.attempt("111111", later),
            Verdict::LockedOut {
                until: later + 2 * FIRST_LOCKOUT_SECS
            }
        );
        // The right PIN once the lock has passed opens and clears everything.
        let open = later + 2 * FIRST_LOCKOUT_SECS;
        assert_eq!(gate.attempt("246810", open), Verdict::Accepted);
        assert_eq!(
            gate.attempt("000000", open),
            Verdict::Refused {
                attempts_left: FAILURES_BEFORE_LOCKOUT - 1
            }
        );
    }

    #[test]
    fn pins_and_hashes_are_checked_and_a_damaged_state_file_does_not_unlock() {
        assert!(matches!(hash_pin("12345"), Err(PinError::BadFormat)));
        assert!(matches!(hash_pin("12345a"), Err(PinError::BadFormat)));
        let hash = hash_pin("135790").expect("hash");
        assert!(hash.starts_with("$argon2id$") && !hash.contains("135790"));
        let dir = tempfile::tempdir().expect("dir");
        assert!(matches!(
            PinGate::open(Some("plain-text-pin"), dir.path()),
            Err(PinError::BadHash)
        ));
        let mut none = PinGate::open(None, dir.path()).expect("gate");
        assert_eq!(none.attempt("135790", NOW), Verdict::NotConfigured);
        std::fs::write(dir.path().join(LOCKOUT_FILE), b"{garbage").expect("write");
        let mut gate = PinGate::open(Some(&hash), dir.path()).expect("gate");
        assert!(matches!(
            gate.attempt("000000", NOW),
            Verdict::LockedOut { .. }
        ));
    }
}
