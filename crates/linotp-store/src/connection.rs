//! Connections, the r2d2 pool and the [`Store`] handle.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{ManageConnection, Pool, R2D2Connection};
use diesel::sql_types::BigInt;

use crate::error::{Result, StoreError};
use crate::group_commit::GroupCommitter;
use crate::uri::{Backend, DatabaseUri};

#[allow(missing_debug_implementations, clippy::all)]
mod any {
    //! The diesel multi-backend connection. Kept in its own module because the derive emits
    //! public helper types without `Debug`.

    use diesel::pg::PgConnection;
    use diesel::sqlite::SqliteConnection;

    /// One connection to any supported backend; every query in this crate runs on it.
    #[cfg(feature = "mysql")]
    #[derive(diesel::MultiConnection)]
    pub enum AnyConnection {
        /// SQLite.
        Sqlite(SqliteConnection),
        /// PostgreSQL.
        Postgresql(PgConnection),
        /// MySQL / MariaDB.
        Mysql(diesel::mysql::MysqlConnection),
    }

    /// One connection to any supported backend; every query in this crate runs on it.
    // diesel's MultiConnection derive does not honour #[cfg] on variants, hence two enums.
    #[cfg(not(feature = "mysql"))]
    #[derive(diesel::MultiConnection)]
    pub enum AnyConnection {
        /// SQLite.
        Sqlite(SqliteConnection),
        /// PostgreSQL.
        Postgresql(PgConnection),
    }
}

pub use any::{AnyConnection, MultiBackend};

impl AnyConnection {
    /// The backend this connection talks to.
    pub fn backend(&self) -> Backend {
        match self {
            AnyConnection::Sqlite(_) => Backend::Sqlite,
            AnyConnection::Postgresql(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            AnyConnection::Mysql(_) => Backend::Mysql,
        }
    }

    /// Opens a single connection (no pool) and applies the per-connection settings.
    pub fn open(uri: &DatabaseUri, options: &PoolOptions) -> Result<AnyConnection> {
        if uri.backend() == Backend::Mysql && !cfg!(feature = "mysql") {
            return Err(StoreError::MysqlNotBuilt {
                uri: uri.to_string(),
            });
        }
        establish(uri, options).map_err(|source| StoreError::Connect {
            uri: uri.to_string(),
            source,
        })
    }
}

impl fmt::Debug for AnyConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AnyConnection")
            .field(&self.backend())
            .finish()
    }
}

/// Settings for [`Store::open`].
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Most connections the pool keeps open.
    pub max_size: u32,
    /// Connections opened at start and kept idle: the pool reopens them in the background
    /// when they are taken. `0` (short-lived processes such as the command line) opens
    /// connections only on demand, so no background connect can still be running when the
    /// process exits. Either way [`Store::open`] connects once, so a bad URI fails early.
    pub min_idle: u32,
    /// How long to wait for a free connection (and for connecting).
    pub connection_timeout: Duration,
    /// SQLite only: how long a writer waits for the database lock before failing.
    pub sqlite_busy_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: 10,
            min_idle: 1,
            connection_timeout: Duration::from_secs(30),
            sqlite_busy_timeout: Duration::from_secs(10),
        }
    }
}

/// r2d2 connection manager that opens the backend named by the URI.
///
/// diesel's own `ConnectionManager<AnyConnection>` tries each backend in turn, which would make
/// SQLite create a file named after a PostgreSQL URL; this one dispatches on the parsed scheme
/// and applies the per-connection SQLite settings.
pub struct AnyConnectionManager {
    uri: DatabaseUri,
    options: PoolOptions,
}

impl fmt::Debug for AnyConnectionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyConnectionManager")
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

impl ManageConnection for AnyConnectionManager {
    type Connection = AnyConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> std::result::Result<AnyConnection, diesel::r2d2::Error> {
        establish(&self.uri, &self.options)
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> std::result::Result<(), diesel::r2d2::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

fn establish(
    uri: &DatabaseUri,
    options: &PoolOptions,
) -> std::result::Result<AnyConnection, diesel::r2d2::Error> {
    let target = uri.connection_string();
    match uri.backend() {
        Backend::Sqlite => {
            let mut conn = diesel::sqlite::SqliteConnection::establish(&target)
                .map_err(diesel::r2d2::Error::ConnectionError)?;
            // busy_timeout first: switching to WAL itself needs the lock. WAL lets readers
            // run beside the one writer; foreign keys are off by default in SQLite.
            let millis = options
                .sqlite_busy_timeout
                .as_millis()
                .min(i32::MAX as u128);
            conn.batch_execute(&format!(
                "PRAGMA busy_timeout = {millis}; PRAGMA journal_mode = WAL; \
                 PRAGMA foreign_keys = ON;"
            ))
            .map_err(diesel::r2d2::Error::QueryError)?;
            Ok(AnyConnection::Sqlite(conn))
        }
        Backend::Postgres => diesel::pg::PgConnection::establish(&target)
            .map(AnyConnection::Postgresql)
            .map_err(diesel::r2d2::Error::ConnectionError),
        #[cfg(feature = "mysql")]
        Backend::Mysql => diesel::mysql::MysqlConnection::establish(&target)
            .map(AnyConnection::Mysql)
            .map_err(diesel::r2d2::Error::ConnectionError),
        #[cfg(not(feature = "mysql"))]
        Backend::Mysql => Err(diesel::r2d2::Error::ConnectionError(
            diesel::ConnectionError::BadConnection(
                "built without MySQL support; rebuild with --features mysql".to_owned(),
            ),
        )),
    }
}

/// A pooled connection; derefs to [`AnyConnection`].
pub type PooledConnection = diesel::r2d2::PooledConnection<AnyConnectionManager>;

/// The database handle: a connection pool for one database URI.
///
/// Cheap to clone (the pool is shared). All repository functions take `&mut AnyConnection`,
/// which a [`PooledConnection`] derefs to; async callers run them inside `spawn_blocking`.
///
/// ```
/// use linotp_store::{DatabaseUri, PoolOptions, SchemaStatus, Store, tokens};
///
/// let dir = tempfile::tempdir()?;
/// let uri = DatabaseUri::parse(&format!("sqlite:///{}/linotp.db", dir.path().display()))?;
/// let store = Store::open(&uri, PoolOptions::default())?;
/// assert_eq!(store.schema_status()?, SchemaStatus::Empty);
/// store.migrate()?;
/// let mut conn = store.connection()?;
/// assert!(tokens::get_by_serial(&mut conn, "NOSUCH")?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Store {
    pool: Pool<AnyConnectionManager>,
    uri: DatabaseUri,
    options: PoolOptions,
    /// SQLite files: the group committer, started by the first [`Store::write_grouped`].
    committer: Arc<OnceLock<std::result::Result<GroupCommitter, String>>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("uri", &self.uri)
            .field("state", &self.pool.state())
            .finish()
    }
}

impl Store {
    /// Opens a pool for `uri` and checks that a connection can be made. Does not touch the
    /// schema: call [`Store::schema_status`] / [`Store::migrate`] for that.
    pub fn open(uri: &DatabaseUri, options: PoolOptions) -> Result<Store> {
        if uri.backend() == Backend::Mysql && !cfg!(feature = "mysql") {
            return Err(StoreError::MysqlNotBuilt {
                uri: uri.to_string(),
            });
        }
        let on_demand = options.min_idle == 0 && !uri.is_in_memory();
        let mut builder = Pool::builder()
            .connection_timeout(options.connection_timeout)
            .max_size(options.max_size.max(1))
            .min_idle(Some(options.min_idle.min(options.max_size.max(1))));
        if uri.is_in_memory() {
            // Every SQLite connection to ":memory:" is its own database, so the pool must
            // hold exactly one connection and never recycle it.
            builder = builder
                .max_size(1)
                .min_idle(Some(1))
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let manager = AnyConnectionManager {
            uri: uri.clone(),
            options: options.clone(),
        };
        let pool_error = |source| StoreError::Pool {
            uri: uri.to_string(),
            source,
        };
        let pool = builder.build(manager).map_err(pool_error)?;
        if on_demand {
            // build() connects only for min_idle; prove the database answers all the same.
            drop(pool.get().map_err(pool_error)?);
        }
        tracing::debug!(uri = %uri, "database pool opened");
        Ok(Store {
            pool,
            uri: uri.clone(),
            options,
            committer: Arc::new(OnceLock::new()),
        })
    }

    /// Parses `uri` and opens it with default [`PoolOptions`].
    pub fn open_uri(uri: &str) -> Result<Store> {
        Store::open(&DatabaseUri::parse(uri)?, PoolOptions::default())
    }

    /// Runs `body` in a write transaction, as [`write_transaction`] on `conn` does; on an
    /// SQLite file together with the writes of other threads in one transaction, so that they
    /// share one commit and one `fsync` (see the `group_commit` module). It returns only after
    /// the commit, with `body`'s own result; a failing `body` rolls back only itself. `conn`
    /// must be a connection of this store; inside a transaction of the caller `body` runs
    /// there instead.
    pub fn write_grouped<T, F>(&self, conn: &mut AnyConnection, body: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
    {
        type Manager = <AnyConnection as Connection>::TransactionManager;
        let in_transaction = Manager::transaction_manager_status_mut(conn)
            .transaction_depth()?
            .is_some();
        if self.uri.backend() != Backend::Sqlite
            || self.uri.is_in_memory()
            || in_transaction
            || HOLDS_SQLITE_WRITER.with(Cell::get)
        {
            return write_transaction(conn, body);
        }
        let committer = self.committer.get_or_init(|| {
            GroupCommitter::start(&self.uri, &self.options).map_err(|error| error.to_string())
        });
        match committer {
            Ok(committer) => committer.write(body),
            Err(error) => {
                tracing::warn!(%error, "no group commit; writing alone");
                write_transaction(conn, body)
            }
        }
    }

    /// Takes a connection from the pool (waits up to the connection timeout).
    pub fn connection(&self) -> Result<PooledConnection> {
        self.pool.get().map_err(|source| StoreError::Pool {
            uri: self.uri.to_string(),
            source,
        })
    }

    /// The database URI (displays redacted).
    pub fn uri(&self) -> &DatabaseUri {
        &self.uri
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.uri.backend()
    }
}

/// Runs `body` in a transaction that writes.
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`: a deferred transaction that reads
/// first and writes later can fail at once with `SQLITE_BUSY` when another connection writes
/// meanwhile, whereas `IMMEDIATE` takes the write lock up front and so honours
/// `busy_timeout`. Inside an outer transaction this becomes a savepoint. Rolls back when
/// `body` returns an error.
///
/// SQLite writers of this process also queue on an in-process lock before `BEGIN IMMEDIATE`:
/// SQLite's busy handler makes a waiting writer sleep in growing steps (up to 100 ms), so under
/// load writers that found the file locked overslept each other's commits; queued, each starts
/// the moment the previous one commits. There is one such lock per database file, so the audit
/// trail's batches (`<file>_audit` by default) never hold up token commits.
pub fn write_transaction<T, E, F>(conn: &mut AnyConnection, body: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    type Manager = <AnyConnection as Connection>::TransactionManager;
    let outermost = Manager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .map_err(E::from)?
        .is_none();
    let _queued = match conn {
        AnyConnection::Sqlite(sqlite) if outermost => {
            let turn = SqliteWriterTurn::wait(sqlite)?;
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
            turn
        }
        _ => {
            Manager::begin_transaction(conn)?;
            None
        }
    };
    match body(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => match Manager::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback_error) => Err(rollback_error.into()),
        },
    }
}

/// One writer lock per SQLite database file of this process (see [`write_transaction`]).
/// Locks are never removed: a process opens a handful of files (tests a few hundred), and a
/// lock must outlive every connection to its file.
static SQLITE_WRITERS: Mutex<BTreeMap<String, &'static Mutex<()>>> = Mutex::new(BTreeMap::new());

thread_local! {
    /// Whether this thread holds one of [`SQLITE_WRITERS`]: a write transaction on a second
    /// SQLite database inside the first must not wait for a lock its own thread holds.
    static HOLDS_SQLITE_WRITER: Cell<bool> = const { Cell::new(false) };
}

#[derive(QueryableByName)]
struct MainFile {
    #[diesel(sql_type = diesel::sql_types::Text)]
    file: String,
}

struct SqliteWriterTurn {
    _guard: MutexGuard<'static, ()>,
}

impl SqliteWriterTurn {
    /// Waits for the turn to write to `conn`'s file, or `None` when this thread already has
    /// a turn.
    fn wait(
        conn: &mut diesel::sqlite::SqliteConnection,
    ) -> std::result::Result<Option<SqliteWriterTurn>, diesel::result::Error> {
        if HOLDS_SQLITE_WRITER.with(Cell::get) {
            return Ok(None);
        }
        // An in-memory database has an empty file name: its one connection needs no queue.
        let file = diesel::sql_query("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .get_result::<MainFile>(conn)?
            .file;
        if file.is_empty() {
            return Ok(None);
        }
        // The locks guard no data: a panic while holding one leaves nothing inconsistent.
        let lock: &'static Mutex<()> = SQLITE_WRITERS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(file)
            .or_insert_with(|| Box::leak(Box::new(Mutex::new(()))));
        let guard = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        HOLDS_SQLITE_WRITER.with(|holds| holds.set(true));
        Ok(Some(SqliteWriterTurn { _guard: guard }))
    }
}

impl Drop for SqliteWriterTurn {
    fn drop(&mut self) {
        HOLDS_SQLITE_WRITER.with(|holds| holds.set(false));
    }
}

#[derive(QueryableByName)]
struct LastId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The id generated by this connection's last INSERT into a table with an auto-increment /
/// SERIAL key (diesel's multi-backend connection has no `RETURNING`).
pub(crate) fn last_insert_id(conn: &mut AnyConnection) -> Result<i32> {
    let sql = match conn.backend() {
        Backend::Sqlite => "SELECT last_insert_rowid() AS id",
        Backend::Postgres => "SELECT lastval() AS id",
        Backend::Mysql => "SELECT CAST(LAST_INSERT_ID() AS SIGNED) AS id",
    };
    let row: LastId = diesel::sql_query(sql).get_result(conn)?;
    i32::try_from(row.id).map_err(|_| StoreError::InvalidValue {
        field: "id",
        reason: format!("generated id {} exceeds the INTEGER column", row.id),
    })
}
