//! The 连易办 central platform: the gateway terminals talk to, backed by one database.
//!
//! [`store`] owns persistence (SQLite by default), [`api`] the HTTP surface, [`openapi`] the
//! generated API document, and [`seed`] the catalog a fresh platform starts with.

pub mod api;
pub mod auth;
pub mod console;
pub mod db_url;
pub mod documents;
pub mod materials_api;
pub mod openapi;
pub mod release_cli;
pub mod rollout;
pub mod seed;
pub mod store;
pub mod terminal_api;
pub mod updates_repo;

pub use db_url::DbUrl;
pub use store::{Store, StoreError};
