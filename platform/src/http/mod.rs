//! What every handler stands on, and nothing that handles a route: the shared [`state`], the
//! [`error`] answers, the [`extract`]ors that check a request before its handler runs, and the
//! [`limits`] the server holds every connection to, and the [`tls`] it serves.
//! The routes themselves live with their areas ([`crate::api`], [`crate::console`], ...) and
//! are merged in [`crate::app`].

pub mod error;
pub mod extract;
pub mod limits;
pub mod state;
pub mod tls;

pub use error::{Failure, PageFailure};
pub use extract::{IdempotencyKey, JsonBody, Operator, OperatorForm, SealedBody, SignedTerminal};
pub use state::AppState;
