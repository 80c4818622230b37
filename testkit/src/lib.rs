//! The test kit of the 连易办 kiosk: the processes a suite runs beside the code under test.
//!
//! Every suite (the drivers', the kiosk's, the platform's and the end-to-end ones) and the demo
//! start real programs speaking the real protocols, exactly as a terminal and a data centre run
//! them; this crate is the one place that knows how.
//!
//! - [`Peer`]: a child process of ours, its stdout read line by line and its stdin taking
//!   commands, stopped (and reaped) when its handle drops.
//! - [`PlatformPeer`]: `kiosk-platform serve` on a SQLite file, and the platform's own command
//!   line for enrollment tokens, appointments and console accounts.
//! - [`Simulator`]: a `kiosk-sim` device simulator driven through its control commands, with
//!   the panicking conveniences a test wants.
//! - [`console::Browser`]: the ops console over HTTP as a browser uses it (login, session
//!   cookie, CSRF field, the matter editor's forms).
//! - [`pki`]: a CA made for one test, the server certificates it issues, a client trusting it.
//! - [`program`] and [`run`]: the workspace's built programs, found next to the running one.
//!
//! Suites take this crate as a dev-dependency only; no library depends on it.

pub mod console;
mod peer;
pub mod pki;
mod platform;
mod programs;
mod simulator;

pub use peer::Peer;
pub use platform::PlatformPeer;
pub use programs::{program, run};
pub use simulator::{Simulator, wait_for_file};
