//! What technicians use on the terminal.
//!
//! - [`pin`]: the PIN gate to maintenance mode (argon2 hash, lockout kept across restarts);
//!   the session core shows the pad and the panel, this checks the PIN.
//! - [`selftest`]: `kiosk devices` and `kiosk selftest`: every configured device and the
//!   platform link, exercised.
//! - [`device_cli`]: `kiosk device …`: one device at a time, for diagnosis.
//!
//! Enrolling a new terminal is in `enrollment`; software updates in `update`.

pub mod device_cli;
pub mod pin;
pub mod selftest;
