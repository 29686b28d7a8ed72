//! Test databases: a temp SQLite file always; a fresh PostgreSQL / MariaDB database per test
//! when `LINOTP_TEST_POSTGRES_URI` / `LINOTP_TEST_MYSQL_URI` name a server.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use linotp_store::diesel::connection::SimpleConnection;
use linotp_store::{AnyConnection, Backend, DatabaseUri, PoolOptions, Store};

pub const POSTGRES_ENV: &str = "LINOTP_TEST_POSTGRES_URI";
pub const MYSQL_ENV: &str = "LINOTP_TEST_MYSQL_URI";

/// A database that exists for one test and is removed afterwards (temp dir or
/// `DROP DATABASE`).
pub struct TestDb {
    store: Option<Store>,
    pub uri: DatabaseUri,
    server: Option<(DatabaseUri, String)>,
    dir: Option<tempfile::TempDir>,
}

pub fn pool_options() -> PoolOptions {
    PoolOptions {
        max_size: 20,
        ..PoolOptions::default()
    }
}

impl TestDb {
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

    pub fn postgres() -> Option<TestDb> {
        TestDb::server(POSTGRES_ENV, "PostgreSQL")
    }

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

    pub fn store(&self) -> &Store {
        self.store.as_ref().unwrap()
    }

    pub fn backend(&self) -> Backend {
        self.uri.backend()
    }

    /// Directory of a SQLite test database.
    pub fn dir(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.path().to_owned())
    }

    /// A store with schema created.
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

/// Runs each named check (a `fn(&TestDb)`) on SQLite, PostgreSQL and (with the `mysql`
/// feature) MySQL/MariaDB; the server variants skip with a message when their URI is unset.
#[macro_export]
macro_rules! on_every_backend {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $check() {
                    super::$check(&$crate::common::TestDb::sqlite());
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $check() {
                    if let Some(db) = $crate::common::TestDb::postgres() {
                        super::$check(&db);
                    }
                }
            )*
        }
        #[cfg(feature = "mysql")]
        mod mysql {
            $(
                #[test]
                fn $check() {
                    if let Some(db) = $crate::common::TestDb::mysql() {
                        super::$check(&db);
                    }
                }
            )*
        }
    };
}
