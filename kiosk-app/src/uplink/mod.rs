//! The uplink: how the terminal reaches the platform, and what waits for it.
//!
//! - [`identity`]: the terminal's enrolled identity (its id and signing key) and the
//!   enrollment payload's parsing.
//! - [`platform_link`]: the signed HTTP link to the platform, one method per API call.
//! - [`tls`]: which platform certificates the terminal trusts (the pins enrollment gave it) and
//!   which URLs it may speak plain HTTP to.
//! - [`outbox`]: applications, ratings, materials and audit events kept on disk until the
//!   platform acknowledges them, and the sender that delivers them.
//!
//! The periodic heartbeat and the remote commands it brings back run in `runtime`: they act on
//! the running terminal (its devices, the updater), which the link itself knows nothing of.

pub mod identity;
pub mod outbox;
pub mod platform_link;
pub mod tls;
