//! The uplink: how the terminal reaches the platform, and what waits for it.
//!
//! - [`identity`]: the terminal's enrolled identity (its id and signing key) and the
//!   enrollment payload's parsing.
//! - [`platform_link`]: the signed HTTP link to the platform, one method per API call.
//! - [`outbox`]: applications, ratings, materials and audit events kept on disk until the
//!   platform acknowledges them, and the sender that delivers them.

pub mod identity;
pub mod outbox;
pub mod platform_link;
