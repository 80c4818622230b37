//! Signed release metadata (TUF) for 连易办 software.
//!
//! A release is trusted because of who signed its metadata, not because of where it came
//! from: the platform only serves files, and a terminal checks every file against a chain of
//! signatures that starts at a root key kept offline.
//!
//! - [`keys`]: Ed25519 signing keys as PKCS#8 PEM files.
//! - [`repository`]: the publishing side (the platform's command line and server): create a
//!   repository, publish releases, re-sign the timestamp, rotate keys.
//! - [`client`]: the terminal's side: verify the metadata through `tough`, find a release,
//!   download it resumably and accept it only if it matches the signed hash and length.
//! - [`names`]: target names and the file names a repository can hold.

pub mod client;
mod fsio;
pub mod keys;
pub mod names;
pub mod repository;

pub use client::{ReleaseTarget, TrustError, TrustedRepository};
pub use repository::{
    Lifetimes, PublishKeys, PublishedTarget, ReleaseRepository, ReleaseSpec, RepositoryError,
    RoleKeyFiles, TimestampStatus,
};
