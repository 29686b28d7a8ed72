//! Test databases for this crate's tests and for the tests of crates above it (feature
//! `testing`): a temp SQLite file always; a fresh PostgreSQL / MariaDB database per test when
//! `LINOTP_TEST_POSTGRES_URI` / `LINOTP_TEST_MYSQL_URI` name a server (`.ci/run` sets both).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use zeroize::Zeroizing;

use crate::{AnyConnection, Backend, DatabaseUri, PoolOptions, Store};

/// Names the PostgreSQL server tests create their databases on.
pub const POSTGRES_ENV: &str = "LINOTP_TEST_POSTGRES_URI";
/// Names the MySQL/MariaDB server tests create their databases on.
pub const MYSQL_ENV: &str = "LINOTP_TEST_MYSQL_URI";

/// A database that exists for one test and is removed afterwards (temp dir, or
/// `DROP DATABASE` on the server).
pub struct TestDb {
    store: Option<Store>,
    /// Where the database is.
    pub uri: DatabaseUri,
    server: Option<(DatabaseUri, String)>,
    dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb").field("uri", &self.uri).finish()
    }
}

/// Pool options roomy enough for concurrency tests.
pub fn pool_options() -> PoolOptions {
    PoolOptions {
        max_size: 20,
        ..PoolOptions::default()
    }
}

impl TestDb {
    /// A new SQLite file in a temp dir.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let uri = DatabaseUri::parse(&format!(
            "sqlite:///{}",
            dir.path().join("linotp.db").display()
        ))
        .unwrap();
        TestDb::sqlite_at(uri, dir)
    }

    /// Opens an existing SQLite file that lives in `dir` (kept until the end of the test).
    pub fn sqlite_file(dir: tempfile::TempDir, file: &Path) -> TestDb {
        let uri = DatabaseUri::parse(&format!("sqlite:///{}", file.display())).unwrap();
        TestDb::sqlite_at(uri, dir)
    }

    fn sqlite_at(uri: DatabaseUri, dir: tempfile::TempDir) -> TestDb {
        let store = Store::open(&uri, pool_options()).unwrap();
        TestDb {
            store: Some(store),
            uri,
            server: None,
            dir: Some(dir),
        }
    }

    /// A fresh database on the PostgreSQL server of `LINOTP_TEST_POSTGRES_URI`; `None` (with a
    /// message saying so) when the variable is unset.
    pub fn postgres() -> Option<TestDb> {
        TestDb::server(POSTGRES_ENV, "PostgreSQL")
    }

    /// A fresh database on the MySQL/MariaDB server of `LINOTP_TEST_MYSQL_URI`; `None` (with
    /// a message saying so) when the variable is unset.
    pub fn mysql() -> Option<TestDb> {
        TestDb::server(MYSQL_ENV, "MySQL/MariaDB")
    }

    fn server(env: &str, what: &str) -> Option<TestDb> {
        let Ok(admin_text) = std::env::var(env) else {
            eprintln!("skipped: set {env} to run the {what} variant of this test");
            return None;
        };
        let admin = DatabaseUri::parse(&admin_text).unwrap();
        let name = format!("linotp_test_{}", uuid::Uuid::new_v4().simple());
        let quoted = quote_database(admin.backend(), &name);
        admin_connection(&admin)
            .batch_execute(&format!("CREATE DATABASE {quoted}"))
            .unwrap();
        let uri = admin.with_database(&name).unwrap();
        let store = Store::open(&uri, pool_options()).unwrap();
        Some(TestDb {
            store: Some(store),
            uri,
            server: Some((admin, name)),
            dir: None,
        })
    }

    /// The pool.
    pub fn store(&self) -> &Store {
        self.store.as_ref().unwrap()
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.uri.backend()
    }

    /// The full URI (with any password) as a `DATABASE_URI` setting would hold it.
    pub fn uri_string(&self) -> Zeroizing<String> {
        match self.uri.sqlite_path() {
            Some(path) => Zeroizing::new(format!("sqlite:///{}", path.display())),
            None => self.uri.connection_string(),
        }
    }

    /// Directory of a SQLite test database.
    pub fn dir(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.path().to_owned())
    }

    /// The same database with the schema created.
    pub fn migrated(self) -> TestDb {
        self.store().migrate().unwrap();
        self
    }
}

fn quote_database(backend: Backend, name: &str) -> String {
    match backend {
        Backend::Mysql => format!("`{name}`"),
        _ => format!("\"{name}\""),
    }
}

fn admin_connection(admin: &DatabaseUri) -> AnyConnection {
    AnyConnection::open(admin, &PoolOptions::default()).unwrap()
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Close the pool first: PostgreSQL refuses to drop a database in use.
        drop(self.store.take());
        if let Some((admin, name)) = &self.server {
            let quoted = quote_database(admin.backend(), name);
            let sql = match admin.backend() {
                Backend::Postgres => format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"),
                _ => format!("DROP DATABASE IF EXISTS {quoted}"),
            };
            if let Err(error) = admin_connection(admin).batch_execute(&sql) {
                eprintln!("could not drop test database {name}: {error}");
            }
        }
    }
}
