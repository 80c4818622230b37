//! The 连易办 kiosk runtime.
//!
//! [`session`] is the pure citizen-session state machine; everything else in this crate is the
//! edge that feeds it events and carries out its commands.

pub mod session;
