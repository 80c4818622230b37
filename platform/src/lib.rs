//! The 连易办 central platform: the gateway terminals talk to and the console operations staff
//! use, backed by one database (SQLite or PostgreSQL).
//!
//! The rooms, and which change belongs in which:
//!
//! | room | what lives there |
//! | --- | --- |
//! | [`app`] | the whole router: every area's routes merged in one place |
//! | [`http`] | what handlers stand on: the shared [`AppState`], the error answers ([`http::Failure`] for terminals, [`http::PageFailure`] for people) and the extractors (signed terminal, idempotency key, sealed body, console operator of a role) |
//! | [`api`] | the terminal API (`/v1`), one module per area: applications, enrollment, fleet (heartbeat, commands, configuration, update reports), errands (tickets, check-in, progress, certificates), materials, the release repository |
//! | [`console`] | the ops console's handlers, one module per page |
//! | [`html`] | the console's page frame and building blocks, as templates that escape by construction |
//! | [`health`], [`openapi`] | `/healthz`, and the OpenAPI document with its route |
//! | [`documents`] | PDF drawing and the certificates drawn with it |
//! | [`store`] | persistence: one [`Store`] over either engine |
//! | [`verify`] | the public certificate verification page (`/verify/{code}`), no login |
//! | [`connector`] | departments' own systems: each new application delivered to the department's URL, signed (HMAC), retried with backoff by the courier task `serve` starts, dead letters kept for replay |
//! | [`lifecycle`] | an application's life after the terminal: which state changes are allowed, who made them, working-day due dates |
//! | [`rollout`] | staged rollouts' rules: groups, thresholds, who is offered what |
//! | [`keys`] | the platform's secrets, kept out of the database: the key ring (a file today) that encrypts personal data at rest, keys applicant lookups, opens sealed bodies and makes certificate codes |
//! | [`seed`], [`db_url`] | the catalog a fresh platform publishes; database URLs |
//! | [`search_keys`] | the pinyin of every matter's name and aliases, spelt when a catalog is imported or published |
//!
//! The command line (`kiosk-platform serve`, `user`, `token`, `release`, `rollout`, ...) is
//! the binary's `cli` module tree, not part of this library. Handlers import [`http`], never
//! each other's modules across areas, and [`http`] imports no handler, so the rooms stand in
//! one direction: `app` → areas → `http` → `store`.

pub mod api;
pub mod app;
pub mod catalog_text;
pub mod connector;
pub mod console;
pub mod db_url;
pub mod documents;
pub mod health;
pub mod html;
pub mod http;
pub mod keys;
pub mod lifecycle;
pub mod openapi;
pub mod progress;
pub mod rollout;
pub mod search_keys;
pub mod seed;
pub mod store;
pub mod verify;

pub use app::router;
pub use db_url::DbUrl;
pub use http::AppState;
pub use store::{Store, StoreError};
