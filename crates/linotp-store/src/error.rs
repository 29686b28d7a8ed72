//! The crate's error type.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Everything that can go wrong in `linotp-store`.
///
/// Messages never contain passwords: database URIs appear only in their redacted form.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URI could not be understood.
    #[error("invalid database URI {uri}: {reason}")]
    InvalidUri {
        /// The URI with its password masked.
        uri: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A MySQL/MariaDB URI was given to a build without MySQL support.
    #[error(
        "database URI {uri} needs MySQL/MariaDB, but linotp-store was built without MySQL \
         support; rebuild with --features mysql (needs the system package libmariadb-dev)"
    )]
    MysqlNotBuilt {
        /// The URI with its password masked.
        uri: String,
    },

    /// A write handed to SQLite's group commit was not stored.
    #[error("write not stored: {0}")]
    GroupCommit(String),

    /// The connection pool could not hand out a connection (connect failure or timeout).
    #[error("cannot connect to database {uri}: {source}")]
    Pool {
        /// The URI with its password masked.
        uri: String,
        /// The pool's error.
        source: diesel::r2d2::PoolError,
    },

    /// A single connection (outside the pool) could not be opened.
    #[error("cannot connect to database {uri}: {source}")]
    Connect {
        /// The URI with its password masked.
        uri: String,
        /// The connection error.
        source: diesel::r2d2::Error,
    },

    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[source] DieselError),

    /// A row that should be unique already exists.
    #[error("{what} {key:?} already exists")]
    Duplicate {
        /// Kind of record (`token`, `realm`, …).
        what: &'static str,
        /// Its key.
        key: String,
    },

    /// A record that the operation needs does not exist.
    #[error("{what} {key:?} not found")]
    NotFound {
        /// Kind of record (`token`, `realm`, …).
        what: &'static str,
        /// Its key.
        key: String,
    },

    /// The database holds a schema newer than this build knows.
    #[error(
        "database schema is newer than this linotp-rs build ({found}); refusing to use or \
         change it: upgrade linotp-rs"
    )]
    SchemaTooNew {
        /// The newer data model version or the unknown migration id.
        found: String,
    },

    /// The database is neither empty nor a schema this build can adopt or upgrade.
    #[error("database schema not recognised: {reason}")]
    SchemaUnknown {
        /// Why it was not recognised.
        reason: String,
    },

    /// The schema is not current; `linotp init database` has to run first.
    #[error("database schema is not current ({status}); run `linotp init database`")]
    SchemaNotCurrent {
        /// The status that was found.
        status: String,
    },

    /// A migration failed to apply.
    #[error("migration {migration} failed: {source}")]
    Migration {
        /// The migration id (`0001_linotp_4_0_0_0`).
        migration: String,
        /// The database error.
        source: DieselError,
    },

    /// A value does not fit LinOTP's column (integer range and similar).
    #[error("invalid value for {field}: {reason}")]
    InvalidValue {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// `Result` with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        StoreError::Query(error)
    }
}

impl StoreError {
    /// Maps a unique-constraint violation to [`StoreError::Duplicate`], everything else to
    /// [`StoreError::Query`].
    pub(crate) fn on_duplicate(what: &'static str, key: &str) -> impl FnOnce(DieselError) -> Self {
        let key = key.to_owned();
        move |error| match error {
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                StoreError::Duplicate { what, key }
            }
            other => StoreError::Query(other),
        }
    }

    /// True when the error is a unique-constraint violation.
    pub fn is_duplicate(&self) -> bool {
        matches!(
            self,
            StoreError::Duplicate { .. }
                | StoreError::Query(DieselError::DatabaseError(
                    DatabaseErrorKind::UniqueViolation,
                    _
                ))
        )
    }
}
