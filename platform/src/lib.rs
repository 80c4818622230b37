//! The 连易办 central platform: the gateway terminals talk to, backed by one database.
//!
//! [`store`] owns persistence (SQLite by default); [`http`] what every handler stands on (state,
//! errors, extractors); [`api`] the terminal API, one module per area; [`app`] merges every
//! area's routes; [`console`] the ops console's handlers and [`html`] its page templates;
//! [`openapi`] the generated API document; and [`seed`] the catalog a fresh platform starts
//! with.

pub mod api;
pub mod app;
pub mod console;
pub mod db_url;
pub mod documents;
pub mod health;
pub mod html;
pub mod http;
pub mod openapi;
pub mod release_cli;
pub mod rollout;
pub mod seed;
pub mod store;

pub use app::router;
pub use db_url::DbUrl;
pub use http::AppState;
pub use store::{Store, StoreError};
