//! Departments' own systems, connected: each new application (with its materials) delivered
//! to the department's URL, signed, retried with backoff until it is taken or given up on
//! (a dead letter an operator replays).
//!
//! - [`signing`]: the `X-LYB-Signature` a receiver checks (HMAC-SHA256 over the timestamp and
//!   the body).
//! - [`payload`]: what a delivery's body holds.
//! - [`courier`]: the task `serve` starts: claims due deliveries from the store, sends them,
//!   records how each ended; one department's slow or dead system never holds up another's.
//!
//! The connectors themselves, the delivery queue and the inbound reports are stored by
//! [`crate::store::connectors`]; the inbound API is [`crate::api::departments`].

pub mod courier;
pub mod payload;
pub mod signing;

pub use courier::{CourierSettings, spawn_courier};
