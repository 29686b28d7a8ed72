//! LinOTP's outgoing connections.
//!
//! [`remote`]: asking another authentication server — a RADIUS server or another LinOTP over
//! HTTP(S) — whether a user's password is right, as the `authentication/forward_server`
//! policy (and later the RADIUS and remote token types) does. SMS, email and push providers
//! slot in beside it.
//!
//! Everything here is async (tokio) and bounded by timeouts: a remote server that does not
//! answer costs the waiting request its timeout, never a worker.

mod error;
pub mod remote;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{ProviderError, Result};
