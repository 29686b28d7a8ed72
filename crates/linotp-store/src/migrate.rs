//! Schema creation, adoption of LinOTP databases, upgrades, and the schema status check.
//!
//! The SQL lives in `migrations/<backend>/NNNN_name/up.sql` at the workspace root and is
//! embedded at build time. Applied migrations are recorded in our own table
//! `linotp_rs_schema_migrations` (not diesel's unprefixed `__diesel_schema_migrations`, so a
//! LinOTP database stays free of foreign names).
//!
//! Migration `0001` is LinOTP's own 4.0.0.0 data model. A database that LinOTP created (its
//! tables exist, `Config` holds `linotp.sql_data_model_version` = `4.0.0.0`, our log table
//! does not exist) is *adopted*: `0001` is recorded as a baseline without running, and only
//! our additive `linotp_rs_*` migrations run.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::connection::{AnyConnection, Store, write_transaction};
use crate::error::{Result, StoreError};
use crate::schema::{config, linotp_rs_schema_migrations};
use crate::uri::Backend;

/// The LinOTP data model version this build implements (`Config` row
/// `linotp.sql_data_model_version`).
pub const LINOTP_DATA_MODEL_VERSION: &str = "4.0.0.0";

/// The `Config` key that holds LinOTP's data model version.
pub const DATA_MODEL_VERSION_KEY: &str = "linotp.sql_data_model_version";

/// Our applied-migration log table.
pub const MIGRATION_TABLE: &str = "linotp_rs_schema_migrations";

/// LinOTP's tables in the 4.0.0.0 data model (exact, case-sensitive names).
pub const LINOTP_TABLES: &[&str] = &[
    "Token",
    "TokenRealm",
    "Realm",
    "Config",
    "challenges",
    "imported_user",
    "logging_config",
    "REPORTING",
    "audit",
];

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Ordering number, `"0001"`.
    pub version: &'static str,
    /// Name, `"linotp_4_0_0_0"`.
    pub name: &'static str,
    /// True for LinOTP's own schema, which an existing LinOTP database already has.
    pub linotp_baseline: bool,
    sqlite: &'static str,
    postgres: &'static str,
    mysql: &'static str,
}

impl Migration {
    /// `NNNN_name`, the directory name under `migrations/<backend>/`.
    pub fn id(&self) -> String {
        format!("{}_{}", self.version, self.name)
    }

    /// The SQL for a backend.
    pub fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
            Backend::Mysql => self.mysql,
        }
    }
}

macro_rules! migration {
    ($version:literal, $name:literal, $baseline:literal) => {
        Migration {
            version: $version,
            name: $name,
            linotp_baseline: $baseline,
            sqlite: include_str!(concat!(
                "../../../migrations/sqlite/",
                $version,
                "_",
                $name,
                "/up.sql"
            )),
            postgres: include_str!(concat!(
                "../../../migrations/postgres/",
                $version,
                "_",
                $name,
                "/up.sql"
            )),
            mysql: include_str!(concat!(
                "../../../migrations/mysql/",
                $version,
                "_",
                $name,
                "/up.sql"
            )),
        }
    };
}

/// All migrations this build knows, in order.
pub const MIGRATIONS: &[Migration] = &[
    migration!("0001", "linotp_4_0_0_0", true),
    migration!("0002", "linotp_rs_jwt_blocklist", false),
];

/// What [`schema_status`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaStatus {
    /// No LinOTP tables: [`migrate`] creates everything.
    Empty,
    /// Everything this build knows is applied.
    UpToDate,
    /// Migrations are pending (ids listed); when `adopt_linotp` is true the database was made
    /// by LinOTP and its baseline will be recorded without running.
    NeedsUpgrade {
        /// Ids (`NNNN_name`) of the migrations that would run.
        pending: Vec<String>,
        /// The database is LinOTP's own and has not been used by linotp-rs yet.
        adopt_linotp: bool,
    },
    /// The database is newer than this build (LinOTP data model version or migration id).
    TooNew(String),
    /// Neither empty nor anything this build can adopt or upgrade; the reason says why.
    Unknown(String),
}

impl SchemaStatus {
    /// True when the server may run on this database.
    pub fn is_current(&self) -> bool {
        matches!(self, SchemaStatus::UpToDate)
    }
}

impl fmt::Display for SchemaStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaStatus::Empty => f.write_str("empty database"),
            SchemaStatus::UpToDate => f.write_str("up to date"),
            SchemaStatus::NeedsUpgrade {
                pending,
                adopt_linotp,
            } => {
                if *adopt_linotp {
                    f.write_str("LinOTP database to adopt, ")?;
                }
                write!(f, "pending migrations: {}", pending.join(", "))
            }
            SchemaStatus::TooNew(found) => write!(f, "newer than this build: {found}"),
            SchemaStatus::Unknown(reason) => write!(f, "unknown: {reason}"),
        }
    }
}

/// What [`migrate`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Migrations recorded as already present (LinOTP's baseline in an adopted database).
    pub adopted: Vec<String>,
    /// Migrations that ran.
    pub applied: Vec<String>,
}

impl Store {
    /// See [`schema_status`].
    pub fn schema_status(&self) -> Result<SchemaStatus> {
        let mut conn = self.connection()?;
        schema_status(&mut conn)
    }

    /// See [`migrate`].
    pub fn migrate(&self) -> Result<MigrationReport> {
        let mut conn = self.connection()?;
        migrate(&mut conn)
    }

    /// Fails with [`StoreError::SchemaNotCurrent`] / [`StoreError::SchemaTooNew`] unless the
    /// schema is up to date: the server's start-up check.
    pub fn ensure_current(&self) -> Result<()> {
        match self.schema_status()? {
            SchemaStatus::UpToDate => Ok(()),
            SchemaStatus::TooNew(found) => Err(StoreError::SchemaTooNew { found }),
            other => Err(StoreError::SchemaNotCurrent {
                status: other.to_string(),
            }),
        }
    }

    /// See [`erase_all_data`].
    pub fn erase_all_data(&self) -> Result<()> {
        let mut conn = self.connection()?;
        erase_all_data(&mut conn)
    }
}

#[derive(QueryableByName)]
struct TableName {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Names of the tables in the connection's database (current schema on PostgreSQL).
pub fn table_names(conn: &mut AnyConnection) -> Result<Vec<String>> {
    let sql = match conn.backend() {
        Backend::Sqlite => {
            "SELECT name AS name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        }
        Backend::Mysql => {
            "SELECT CAST(table_name AS CHAR) AS name FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1"
        }
    };
    let rows: Vec<TableName> = diesel::sql_query(sql).load(conn)?;
    Ok(rows.into_iter().map(|row| row.name).collect())
}

/// LinOTP's data model version from `Config`, if the row exists.
pub fn data_model_version(conn: &mut AnyConnection) -> Result<Option<String>> {
    let value: Option<Option<String>> = config::table
        .filter(config::key.eq(DATA_MODEL_VERSION_KEY))
        .select(config::value)
        .get_result(conn)
        .optional()?;
    Ok(value.map(Option::unwrap_or_default))
}

fn compare_versions(found: &str, ours: &str) -> Option<Ordering> {
    let parse = |text: &str| {
        text.trim()
            .split('.')
            .map(|part| part.parse::<u64>().ok())
            .collect::<Option<Vec<u64>>>()
    };
    let (mut found, mut ours) = (parse(found)?, parse(ours)?);
    let len = found.len().max(ours.len());
    found.resize(len, 0);
    ours.resize(len, 0);
    Some(found.cmp(&ours))
}

/// Inspects the database and says what [`migrate`] would do, without changing anything.
pub fn schema_status(conn: &mut AnyConnection) -> Result<SchemaStatus> {
    let tables = table_names(conn)?;
    let has = |name: &str| tables.iter().any(|t| t.eq_ignore_ascii_case(name));
    // An empty log means a first run stopped before recording anything (the baseline
    // transaction rolled back): judge the database as if the log did not exist.
    let has_log = has(MIGRATION_TABLE)
        && linotp_rs_schema_migrations::table
            .count()
            .get_result::<i64>(conn)?
            > 0;
    let has_any_linotp = LINOTP_TABLES.iter().any(|t| has(t));

    if !has_log && !has_any_linotp {
        return Ok(SchemaStatus::Empty);
    }
    if !has("Config") {
        return Ok(SchemaStatus::Unknown(
            "LinOTP tables exist but the Config table is missing".to_owned(),
        ));
    }
    let version = match data_model_version(conn)? {
        Some(version) => version,
        None => {
            return Ok(SchemaStatus::Unknown(format!(
                "Config has no {DATA_MODEL_VERSION_KEY} row (LinOTP older than 2.9?)"
            )));
        }
    };
    match compare_versions(&version, LINOTP_DATA_MODEL_VERSION) {
        Some(Ordering::Greater) => return Ok(SchemaStatus::TooNew(version)),
        Some(Ordering::Less) => {
            return Ok(SchemaStatus::Unknown(format!(
                "LinOTP data model {version} is older than {LINOTP_DATA_MODEL_VERSION}; \
                 upgrade it with LinOTP's own `linotp init database` first"
            )));
        }
        Some(Ordering::Equal) => {}
        None => {
            return Ok(SchemaStatus::Unknown(format!(
                "unreadable data model version {version:?}"
            )));
        }
    }

    if !has_log {
        let pending = MIGRATIONS
            .iter()
            .filter(|m| !m.linotp_baseline)
            .map(Migration::id)
            .collect();
        return Ok(SchemaStatus::NeedsUpgrade {
            pending,
            adopt_linotp: true,
        });
    }

    let applied: BTreeSet<String> = linotp_rs_schema_migrations::table
        .select(linotp_rs_schema_migrations::version)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    if let Some(unknown) = applied
        .iter()
        .find(|version| !MIGRATIONS.iter().any(|m| m.version == version.as_str()))
    {
        return Ok(SchemaStatus::TooNew(format!("migration {unknown}")));
    }
    let pending: Vec<String> = MIGRATIONS
        .iter()
        .filter(|m| !applied.contains(m.version))
        .map(Migration::id)
        .collect();
    if pending.is_empty() {
        Ok(SchemaStatus::UpToDate)
    } else {
        Ok(SchemaStatus::NeedsUpgrade {
            pending,
            adopt_linotp: false,
        })
    }
}

fn create_log_table(conn: &mut AnyConnection) -> Result<()> {
    let sql = match conn.backend() {
        Backend::Sqlite => {
            "CREATE TABLE IF NOT EXISTS linotp_rs_schema_migrations (\
             version VARCHAR(64) NOT NULL, name VARCHAR(255) NOT NULL, \
             applied_at DATETIME NOT NULL, baseline BOOLEAN NOT NULL, PRIMARY KEY (version))"
        }
        Backend::Postgres => {
            "CREATE TABLE IF NOT EXISTS linotp_rs_schema_migrations (\
             version VARCHAR(64) NOT NULL, name VARCHAR(255) NOT NULL, \
             applied_at TIMESTAMP WITHOUT TIME ZONE NOT NULL, baseline BOOLEAN NOT NULL, \
             PRIMARY KEY (version))"
        }
        Backend::Mysql => {
            "CREATE TABLE IF NOT EXISTS `linotp_rs_schema_migrations` (\
             `version` VARCHAR(64) NOT NULL, `name` VARCHAR(255) NOT NULL, \
             `applied_at` DATETIME NOT NULL, `baseline` BOOL NOT NULL, \
             PRIMARY KEY (`version`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        }
    };
    conn.batch_execute(sql)?;
    Ok(())
}

fn record(conn: &mut AnyConnection, migration: &Migration, baseline: bool) -> QueryResult<()> {
    diesel::insert_into(linotp_rs_schema_migrations::table)
        .values((
            linotp_rs_schema_migrations::version.eq(migration.version),
            linotp_rs_schema_migrations::name.eq(migration.name),
            linotp_rs_schema_migrations::applied_at.eq(Utc::now().naive_utc()),
            linotp_rs_schema_migrations::baseline.eq(baseline),
        ))
        .execute(conn)
        .map(|_| ())
}

fn apply(conn: &mut AnyConnection, migration: &Migration) -> Result<()> {
    let sql = migration.sql(conn.backend());
    let run = |conn: &mut AnyConnection| -> QueryResult<()> {
        conn.batch_execute(sql)?;
        record(conn, migration, false)
    };
    let outcome = if conn.backend() == Backend::Mysql {
        // MySQL commits every DDL statement implicitly; a transaction would only pretend.
        run(conn)
    } else {
        write_transaction(conn, run)
    };
    outcome.map_err(|source| StoreError::Migration {
        migration: migration.id(),
        source,
    })?;
    tracing::info!(migration = %migration.id(), "migration applied");
    Ok(())
}

/// Brings the schema up to date: creates everything in an empty database, adopts a LinOTP
/// 4.0.0.0 database, applies pending migrations. Refuses ([`StoreError::SchemaTooNew`],
/// [`StoreError::SchemaUnknown`]) a database it does not understand, without changing it.
/// Running it again on an up-to-date database does nothing.
pub fn migrate(conn: &mut AnyConnection) -> Result<MigrationReport> {
    let status = schema_status(conn)?;
    let mut report = MigrationReport::default();
    let adopt = match status {
        SchemaStatus::UpToDate => return Ok(report),
        SchemaStatus::TooNew(found) => return Err(StoreError::SchemaTooNew { found }),
        SchemaStatus::Unknown(reason) => return Err(StoreError::SchemaUnknown { reason }),
        SchemaStatus::Empty => false,
        SchemaStatus::NeedsUpgrade { adopt_linotp, .. } => adopt_linotp,
    };
    create_log_table(conn)?;
    if adopt {
        for migration in MIGRATIONS.iter().filter(|m| m.linotp_baseline) {
            record(conn, migration, true).map_err(|source| StoreError::Migration {
                migration: migration.id(),
                source,
            })?;
            tracing::info!(migration = %migration.id(), "LinOTP baseline adopted");
            report.adopted.push(migration.id());
        }
    }
    let applied: BTreeSet<String> = linotp_rs_schema_migrations::table
        .select(linotp_rs_schema_migrations::version)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    for migration in MIGRATIONS.iter().filter(|m| !applied.contains(m.version)) {
        apply(conn, migration)?;
        report.applied.push(migration.id());
    }
    Ok(report)
}

/// Drops every LinOTP table and every `linotp_rs_*` table (LinOTP's `--erase-all-data`);
/// afterwards the status is [`SchemaStatus::Empty`]. Other tables are left alone.
pub fn erase_all_data(conn: &mut AnyConnection) -> Result<()> {
    // Children before parents, for the TokenRealm foreign keys. `admin_users` is LinOTP's
    // optional cloud-mode admin table; drop it too when present.
    const ORDER: &[&str] = &[
        "TokenRealm",
        "Token",
        "Realm",
        "Config",
        "challenges",
        "imported_user",
        "admin_users",
        "logging_config",
        "REPORTING",
        "audit",
        "linotp_rs_jwt_blocklist",
        MIGRATION_TABLE,
    ];
    let backend = conn.backend();
    let present = table_names(conn)?;
    for table in ORDER {
        // Drop by the name the database reports, in case MySQL folds case.
        let Some(name) = present.iter().find(|t| t.eq_ignore_ascii_case(table)) else {
            continue;
        };
        let quoted = match backend {
            Backend::Mysql => format!("`{name}`"),
            _ => format!("\"{name}\""),
        };
        conn.batch_execute(&format!("DROP TABLE IF EXISTS {quoted}"))?;
    }
    tracing::warn!("all LinOTP and linotp-rs tables dropped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_comparison_is_numeric() {
        assert_eq!(
            compare_versions("4.0.0.0", "4.0.0.0"),
            Some(Ordering::Equal)
        );
        assert_eq!(compare_versions("4.0", "4.0.0.0"), Some(Ordering::Equal));
        assert_eq!(
            compare_versions("4.0.0.10", "4.0.0.9"),
            Some(Ordering::Greater)
        );
        assert_eq!(compare_versions("3.2.3.0", "4.0.0.0"), Some(Ordering::Less));
        assert_eq!(compare_versions("4.x", "4.0.0.0"), None);
    }

    #[test]
    fn every_migration_directory_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
        let expected: BTreeSet<String> = MIGRATIONS.iter().map(Migration::id).collect();
        for backend in ["sqlite", "postgres", "mysql"] {
            let found: BTreeSet<String> = std::fs::read_dir(root.join(backend))
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert_eq!(found, expected, "migrations/{backend}");
        }
        let versions: Vec<&str> = MIGRATIONS.iter().map(|m| m.version).collect();
        let mut sorted = versions.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(versions, sorted, "versions must be unique and ascending");
    }
}
