//! Schema creation, adoption of LinOTP databases, upgrades and refusals, on every backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::TestDb;
use linotp_store::diesel::connection::SimpleConnection;
use linotp_store::diesel::prelude::*;
use linotp_store::migrate::{
    self, DATA_MODEL_VERSION_KEY, LINOTP_DATA_MODEL_VERSION, LINOTP_TABLES, MIGRATIONS,
};
use linotp_store::schema::{config, linotp_rs_schema_migrations};
use linotp_store::{SchemaStatus, StoreError, config as config_repo, jwt_blocklist};

fn all_ids() -> Vec<String> {
    MIGRATIONS.iter().map(|m| m.id()).collect()
}

fn fresh_database_gets_every_table_and_the_version_row(db: &TestDb) {
    let store = db.store();
    assert_eq!(store.schema_status().unwrap(), SchemaStatus::Empty);
    assert!(matches!(
        store.ensure_current(),
        Err(StoreError::SchemaNotCurrent { .. })
    ));

    let report = store.migrate().unwrap();
    assert_eq!(report.applied, all_ids());
    assert!(report.adopted.is_empty());
    assert_eq!(store.schema_status().unwrap(), SchemaStatus::UpToDate);
    store.ensure_current().unwrap();

    let mut conn = store.connection().unwrap();
    let tables = migrate::table_names(&mut conn).unwrap();
    for table in LINOTP_TABLES
        .iter()
        .chain(&["linotp_rs_schema_migrations", "linotp_rs_jwt_blocklist"])
    {
        assert!(
            tables.iter().any(|t| t == table),
            "{table} missing: {tables:?}"
        );
    }
    assert_eq!(
        migrate::data_model_version(&mut conn).unwrap().as_deref(),
        Some(LINOTP_DATA_MODEL_VERSION)
    );
    // The row LinOTP writes: empty Type and Description.
    let row: (Option<String>, Option<String>) = config::table
        .filter(config::key.eq(DATA_MODEL_VERSION_KEY))
        .select((config::typ, config::description))
        .first(&mut conn)
        .unwrap();
    assert_eq!(row, (Some(String::new()), Some(String::new())));
}

fn migrating_twice_changes_nothing(db: &TestDb) {
    let store = db.store();
    store.migrate().unwrap();
    let mut conn = store.connection().unwrap();
    config_repo::set(&mut conn, "fixture.keep", "kept", Some("text"), None).unwrap();
    drop(conn);

    let second = store.migrate().unwrap();
    assert!(second.applied.is_empty() && second.adopted.is_empty());
    assert_eq!(store.schema_status().unwrap(), SchemaStatus::UpToDate);
    let mut conn = store.connection().unwrap();
    assert_eq!(
        config_repo::get_value(&mut conn, "fixture.keep")
            .unwrap()
            .as_deref(),
        Some("kept")
    );
    let logged: i64 = linotp_rs_schema_migrations::table
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(logged, MIGRATIONS.len() as i64);
}

/// A database as LinOTP creates it: its tables (the baseline SQL is what SQLAlchemy emits)
/// and the version row, no linotp_rs tables.
fn make_linotp_database(db: &TestDb) {
    let mut conn = db.store().connection().unwrap();
    let baseline = MIGRATIONS.iter().find(|m| m.linotp_baseline).unwrap();
    conn.batch_execute(baseline.sql(db.backend())).unwrap();
}

fn linotp_database_is_adopted_without_touching_its_tables(db: &TestDb) {
    make_linotp_database(db);
    let store = db.store();
    {
        let mut conn = store.connection().unwrap();
        config_repo::set(&mut conn, "DefaultRealm", "myrealm", None, None).unwrap();
    }
    let expected_pending: Vec<String> = MIGRATIONS
        .iter()
        .filter(|m| !m.linotp_baseline)
        .map(|m| m.id())
        .collect();
    assert_eq!(
        store.schema_status().unwrap(),
        SchemaStatus::NeedsUpgrade {
            pending: expected_pending.clone(),
            adopt_linotp: true
        }
    );
    let report = store.migrate().unwrap();
    assert_eq!(report.adopted, vec!["0001_linotp_4_0_0_0".to_owned()]);
    assert_eq!(report.applied, expected_pending);
    assert_eq!(store.schema_status().unwrap(), SchemaStatus::UpToDate);

    let mut conn = store.connection().unwrap();
    assert_eq!(
        config_repo::get_value(&mut conn, "DefaultRealm")
            .unwrap()
            .as_deref(),
        Some("myrealm")
    );
    let baseline: bool = linotp_rs_schema_migrations::table
        .filter(linotp_rs_schema_migrations::version.eq("0001"))
        .select(linotp_rs_schema_migrations::baseline)
        .first(&mut conn)
        .unwrap();
    assert!(
        baseline,
        "the LinOTP baseline is recorded as adopted, not run"
    );
    // Our additive table works after adoption.
    let expires = chrono::Utc::now().naive_utc() + chrono::Duration::hours(1);
    jwt_blocklist::insert(&mut conn, "jti-1", expires).unwrap();
    assert!(jwt_blocklist::contains(&mut conn, "jti-1").unwrap());
}

fn newer_data_model_version_is_refused(db: &TestDb) {
    make_linotp_database(db);
    let store = db.store();
    {
        let mut conn = store.connection().unwrap();
        linotp_store::diesel::update(config::table.filter(config::key.eq(DATA_MODEL_VERSION_KEY)))
            .set(config::value.eq("4.1.0.0"))
            .execute(&mut conn)
            .unwrap();
    }
    assert_eq!(
        store.schema_status().unwrap(),
        SchemaStatus::TooNew("4.1.0.0".to_owned())
    );
    let error = store.migrate().unwrap_err();
    assert!(
        matches!(&error, StoreError::SchemaTooNew { found } if found == "4.1.0.0"),
        "{error}"
    );
    assert!(matches!(
        store.ensure_current(),
        Err(StoreError::SchemaTooNew { .. })
    ));
    // Refused without change: no log table was created.
    let mut conn = store.connection().unwrap();
    let tables = migrate::table_names(&mut conn).unwrap();
    assert!(
        !tables.iter().any(|t| t.starts_with("linotp_rs_")),
        "{tables:?}"
    );
}

fn unknown_applied_migration_is_refused(db: &TestDb) {
    let store = db.store();
    store.migrate().unwrap();
    {
        let mut conn = store.connection().unwrap();
        linotp_store::diesel::insert_into(linotp_rs_schema_migrations::table)
            .values((
                linotp_rs_schema_migrations::version.eq("9999"),
                linotp_rs_schema_migrations::name.eq("from_the_future"),
                linotp_rs_schema_migrations::applied_at.eq(chrono::Utc::now().naive_utc()),
                linotp_rs_schema_migrations::baseline.eq(false),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    assert_eq!(
        store.schema_status().unwrap(),
        SchemaStatus::TooNew("migration 9999".to_owned())
    );
    assert!(matches!(
        store.migrate(),
        Err(StoreError::SchemaTooNew { .. })
    ));
}

fn older_linotp_and_foreign_databases_are_unknown(db: &TestDb) {
    make_linotp_database(db);
    let store = db.store();
    {
        let mut conn = store.connection().unwrap();
        linotp_store::diesel::update(config::table.filter(config::key.eq(DATA_MODEL_VERSION_KEY)))
            .set(config::value.eq("3.2.3.0"))
            .execute(&mut conn)
            .unwrap();
    }
    assert!(matches!(
        store.schema_status().unwrap(),
        SchemaStatus::Unknown(reason) if reason.contains("3.2.3.0")
    ));
    assert!(matches!(
        store.migrate(),
        Err(StoreError::SchemaUnknown { .. })
    ));

    {
        let mut conn = store.connection().unwrap();
        linotp_store::diesel::delete(config::table)
            .execute(&mut conn)
            .unwrap();
    }
    assert!(matches!(
        store.schema_status().unwrap(),
        SchemaStatus::Unknown(reason) if reason.contains(DATA_MODEL_VERSION_KEY)
    ));
}

fn pending_migration_is_applied_as_upgrade(db: &TestDb) {
    let store = db.store();
    store.migrate().unwrap();
    // Simulate a database from before migration 0002: drop its table and its log row.
    {
        let mut conn = store.connection().unwrap();
        linotp_store::diesel::delete(
            linotp_rs_schema_migrations::table
                .filter(linotp_rs_schema_migrations::version.eq("0002")),
        )
        .execute(&mut conn)
        .unwrap();
        conn.batch_execute("DROP TABLE linotp_rs_jwt_blocklist")
            .unwrap();
    }
    assert_eq!(
        store.schema_status().unwrap(),
        SchemaStatus::NeedsUpgrade {
            pending: vec!["0002_linotp_rs_jwt_blocklist".to_owned()],
            adopt_linotp: false
        }
    );
    let report = store.migrate().unwrap();
    assert_eq!(
        report.applied,
        vec!["0002_linotp_rs_jwt_blocklist".to_owned()]
    );
    assert_eq!(store.schema_status().unwrap(), SchemaStatus::UpToDate);
}

fn erase_all_data_leaves_an_empty_database(db: &TestDb) {
    let store = db.store();
    store.migrate().unwrap();
    {
        let mut conn = store.connection().unwrap();
        conn.batch_execute("CREATE TABLE unrelated_app_table (x INTEGER)")
            .unwrap();
    }
    store.erase_all_data().unwrap();
    assert_eq!(store.schema_status().unwrap(), SchemaStatus::Empty);
    let mut conn = store.connection().unwrap();
    assert_eq!(
        migrate::table_names(&mut conn).unwrap(),
        vec!["unrelated_app_table".to_owned()]
    );
    drop(conn);
    store.migrate().unwrap();
    assert_eq!(store.schema_status().unwrap(), SchemaStatus::UpToDate);
}

fn first_run_that_recorded_nothing_is_retried(db: &TestDb) {
    let store = db.store();
    {
        // What a first run leaves behind when its baseline transaction rolled back.
        let mut conn = store.connection().unwrap();
        conn.batch_execute(
            "CREATE TABLE linotp_rs_schema_migrations (version VARCHAR(64) NOT NULL PRIMARY KEY, \
             name VARCHAR(255) NOT NULL, applied_at TIMESTAMP NOT NULL, baseline BOOLEAN NOT NULL)",
        )
        .unwrap();
    }
    assert_eq!(store.schema_status().unwrap(), SchemaStatus::Empty);
    assert_eq!(store.migrate().unwrap().applied, all_ids());
    assert_eq!(store.schema_status().unwrap(), SchemaStatus::UpToDate);
}

on_every_backend!(
    first_run_that_recorded_nothing_is_retried,
    fresh_database_gets_every_table_and_the_version_row,
    migrating_twice_changes_nothing,
    linotp_database_is_adopted_without_touching_its_tables,
    newer_data_model_version_is_refused,
    unknown_applied_migration_is_refused,
    older_linotp_and_foreign_databases_are_unknown,
    pending_migration_is_applied_as_upgrade,
    erase_all_data_leaves_an_empty_database,
);

#[cfg(not(feature = "mysql"))]
#[test]
fn mysql_uri_without_the_feature_says_how_to_get_it() {
    let error =
        linotp_store::Store::open_uri("mysql+pymysql://linotp:pw@127.0.0.1/linotp").unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, StoreError::MysqlNotBuilt { .. }));
    assert!(message.contains("--features mysql"), "{message}");
    assert!(!message.contains(":pw@"), "{message}");
}

#[test]
fn in_memory_sqlite_keeps_its_data_across_checkouts() {
    let store = linotp_store::Store::open_uri("sqlite://").unwrap();
    store.migrate().unwrap();
    {
        let mut conn = store.connection().unwrap();
        config_repo::set(&mut conn, "memory.test", "1", None, None).unwrap();
    }
    let mut conn = store.connection().unwrap();
    assert_eq!(
        config_repo::get_value(&mut conn, "memory.test")
            .unwrap()
            .as_deref(),
        Some("1")
    );
}
