//! LinOTP's database, on diesel: schema, migrations, connection pool and repositories.
//!
//! The schema *is* LinOTP 4.0.0.0's (`Token`, `TokenRealm`, `Realm`, `Config`, `challenges`,
//! `imported_user`, `audit`, `REPORTING`, `logging_config`, with the same names, types and
//! indexes), so a database made by LinOTP works unchanged and LinOTP can keep running on a
//! database made here. Tables of our own are additive and prefixed `linotp_rs_`.
//!
//! * [`DatabaseUri`] parses LinOTP's `DATABASE_URI` spellings (`sqlite:////abs/path`,
//!   `postgresql+psycopg2://…`, `mysql+pymysql://…`) and never shows the password.
//! * [`Store`] is an r2d2 pool of [`AnyConnection`]s (SQLite, PostgreSQL, and MySQL/MariaDB
//!   with the `mysql` feature). SQLite connections run in WAL mode with a busy timeout and
//!   foreign keys on.
//! * [`migrate`](mod@migrate) creates, adopts (a LinOTP-made database) or upgrades the schema
//!   and refuses databases newer than this build ([`SchemaStatus`]).
//! * Repositories are plain functions over `&mut AnyConnection`: [`tokens`] (with the
//!   compare-and-set counter commit [`tokens::commit_counter`]), [`realms`], [`config`]
//!   (LinOTP's chunking of long values), [`challenges`], [`users`] (imported users and local
//!   administrators), [`audit`], [`jwt_blocklist`].
//!
//! Everything is synchronous; async callers use `tokio::task::spawn_blocking`.
//!
//! ```
//! use linotp_store::{Store, tokens};
//! use linotp_store::tokens::{CounterCommit, Token};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Store::open_uri(&format!("sqlite:///{}/linotp.db", dir.path().display()))?;
//! store.migrate()?;
//! let mut conn = store.connection()?;
//!
//! let token = tokens::insert(&mut conn, &Token::new("OATH0001", "HMAC"))?;
//! let commit = CounterCommit {
//!     token_id: token.id,
//!     expected_count: 0,
//!     new_count: 1,
//!     new_fail_count: 0,
//!     new_token_info: None,
//!     last_auth_success: None,
//!     last_auth_match: None,
//! };
//! assert!(tokens::commit_counter(&mut conn, &commit)?);
//! // The same OTP a second time: the counter has moved on, the commit is refused.
//! assert!(!tokens::commit_counter(&mut conn, &commit)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod audit;
pub mod challenges;
pub mod config;
mod connection;
pub mod defaults;
mod error;
mod group_commit;
pub mod jwt_blocklist;
mod like;
pub mod migrate;
pub mod realms;
pub mod schema;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tokens;
mod uri;
pub mod users;

pub use connection::{
    AnyConnection, AnyConnectionManager, MultiBackend, PoolOptions, PooledConnection, Store,
    write_transaction,
};
pub use error::{Result, StoreError};
pub use migrate::{MigrationReport, SchemaStatus};
pub use uri::{Backend, DatabaseUri};

/// The diesel version this crate is built on, for callers that write their own queries.
pub use diesel;
