//! SQL resolver against real SQLite, PostgreSQL and MySQL/MariaDB databases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use linotp_resolvers::{
    ConnectionTest, ResolverClass, ResolverConfig, ResolverSettings, SqlResolver, UserIdResolver,
    UserSearch,
};
use linotp_store::diesel::connection::SimpleConnection;
use linotp_store::testing::TestDb;
use linotp_store::{Backend, Store};
use serde_json::Value;

const PASSWORD: &str = "Test123!";

/// Hashes of "Test123!", made by passlib (the library LinOTP checks them with).
const SSHA: &str = "{SSHA}JXo59aq1eIme38XCbGvwEO5C+egxMjM0NTY3OA==";
const SHA512_CRYPT: &str = "$6$rounds=1000$abcdefgh$sq7w2EXEFBc10jkWD9f93wgdENd6K/j.aeWaZ6THi2VvQj5cu5u3JsjgkNgvxB0gKsDxSUPN.O5zPzCJ1mLER1";
const BCRYPT: &str = "$2b$04$abcdefghijklmnopqrstuuc1v0RjomgASaaVwvOKJNz5kr8MMyxxC";
const MYSQL41: &str = "*48B1BB7AD34484EF0632D4B9A748CC861DFBE88B";
const PHPASS: &str = "$P$6saltsalt.GKbYUayM2oGhyI4oP0Ve.";

const MAP: &str = r#"{"userid": "id", "username": "LOGIN", "password": "pw", "email": "mail", "givenname": "given", "surname": "sur", "phone": "phone"}"#;

/// A user table of our own in the test database.
fn create_users(store: &Store) {
    let mut conn = store.connection().unwrap();
    let ddl = match store.backend() {
        Backend::Mysql => {
            "CREATE TABLE `people` (`id` INTEGER PRIMARY KEY, `login` VARCHAR(64) NOT NULL, \
             `pw` VARCHAR(255), `mail` VARCHAR(128), `given` VARCHAR(64), `sur` VARCHAR(64), \
             `phone` VARCHAR(32), `active` INTEGER NOT NULL)"
        }
        _ => {
            "CREATE TABLE people (id INTEGER PRIMARY KEY, login VARCHAR(64) NOT NULL, \
             pw VARCHAR(255), mail VARCHAR(128), given VARCHAR(64), sur VARCHAR(64), \
             phone VARCHAR(32), active INTEGER NOT NULL)"
        }
    };
    conn.batch_execute(ddl).unwrap();
    let rows = [
        (
            1,
            "alice",
            SSHA,
            "alice@example.test",
            "Alice",
            "Anders",
            Some("+4930111"),
            1,
        ),
        (
            2,
            "bob",
            SHA512_CRYPT,
            "bob@example.test",
            "Bob",
            "Berger",
            None,
            1,
        ),
        (
            3,
            "carol",
            BCRYPT,
            "carol@example.test",
            "Carol",
            "Clark",
            None,
            0,
        ),
        (
            4,
            "dave",
            MYSQL41,
            "dave@example.test",
            "Dave",
            "Dunn",
            None,
            1,
        ),
        (
            5,
            "eve_x",
            PHPASS,
            "eve@example.test",
            "Eve",
            "Evans",
            None,
            1,
        ),
        (
            6,
            "evexx",
            "no-hash-here",
            "evexx@example.test",
            "Evex",
            "X",
            None,
            1,
        ),
    ];
    for (id, login, pw, mail, given, sur, phone, active) in rows {
        let phone = phone.map_or("NULL".to_owned(), |phone| format!("'{phone}'"));
        conn.batch_execute(&format!(
            "INSERT INTO people (id, login, pw, mail, given, sur, phone, active) VALUES \
             ({id}, '{login}', '{pw}', '{mail}', '{given}', '{sur}', {phone}, {active})"
        ))
        .unwrap();
    }
}

fn rows(params: &[(&str, &str)]) -> HashMap<String, String> {
    params
        .iter()
        .map(|(key, value)| {
            (
                format!("linotp.sqlresolver.{key}.people"),
                (*value).to_owned(),
            )
        })
        .collect()
}

fn resolver(rows: &HashMap<String, String>, own: Option<&Store>) -> SqlResolver {
    named_resolver(rows, "people", own)
}

fn named_resolver(rows: &HashMap<String, String>, name: &str, own: Option<&Store>) -> SqlResolver {
    let config = ResolverConfig::from_config(ResolverClass::Sql, name, rows).unwrap();
    let ResolverSettings::Sql(settings) = config.settings().unwrap() else {
        panic!("not SQL");
    };
    SqlResolver::new(&settings, own).unwrap()
}

fn external_resolver(db: &TestDb, limit: &str) -> SqlResolver {
    let connect = db.uri_string();
    resolver(
        &rows(&[
            ("Connect", connect.as_str()),
            ("Password", ""),
            ("Table", "people"),
            ("Map", MAP),
            ("Where", "active = 1"),
            ("Limit", limit),
        ]),
        None,
    )
}

fn exercise(db: &TestDb) {
    create_users(db.store());
    let sql = external_resolver(db, "1000");

    // Lookups by login; ids come back as text.
    assert_eq!(sql.user_id("alice").unwrap().as_deref(), Some("1"));
    assert_eq!(sql.user_id("bob").unwrap().as_deref(), Some("2"));
    assert_eq!(sql.user_id("nobody").unwrap(), None);
    assert_eq!(sql.user_id("alice' OR '1'='1").unwrap(), None);
    // `Where` hides carol.
    assert_eq!(sql.user_id("carol").unwrap(), None);
    assert_eq!(sql.user_info("3").unwrap(), None);

    // User info follows the mapping's order, keeps the numeric id a number, NULL as null,
    // and never shows the password column.
    let info = sql.user_info("1").unwrap().expect("alice");
    let keys: Vec<&str> = info.iter().map(|(key, _)| key).collect();
    assert_eq!(
        keys,
        [
            "userid",
            "username",
            "email",
            "givenname",
            "surname",
            "phone"
        ]
    );
    assert_eq!(info.get("userid"), Some(&Value::from(1)));
    assert_eq!(info.text("username").as_deref(), Some("alice"));
    assert_eq!(info.text("phone").as_deref(), Some("+4930111"));
    let bob = sql.user_info("2").unwrap().expect("bob");
    assert_eq!(bob.get("phone"), Some(&Value::Null));
    assert_eq!(sql.username("2").unwrap().as_deref(), Some("bob"));

    // Passwords in the formats LinOTP accepts; a value in no known format never matches.
    for (id, login) in [("1", "alice"), ("2", "bob"), ("4", "dave"), ("5", "eve_x")] {
        assert!(sql.check_password(id, PASSWORD).unwrap(), "{login}");
        assert!(!sql.check_password(id, "test123!").unwrap(), "{login}");
    }
    assert!(!sql.check_password("6", "no-hash-here").unwrap());
    assert!(
        !sql.check_password("3", PASSWORD).unwrap(),
        "hidden by Where"
    );
    assert!(!sql.check_password("99", PASSWORD).unwrap());
    assert!(!sql.check_password("1", "").unwrap());

    // Searches: LIKE patterns from `*` and `.`, `_` matched literally, comparisons, searchTerm.
    let names = |search: UserSearch| -> Vec<String> {
        let mut names: Vec<String> = sql
            .search(&search)
            .unwrap()
            .iter()
            .filter_map(|user| user.username())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        names(UserSearch::all()),
        ["alice", "bob", "dave", "eve_x", "evexx"]
    );
    assert_eq!(names(UserSearch::new([("username", "eve_*")])), ["eve_x"]);
    assert_eq!(names(UserSearch::new([("username", "b.b")])), ["bob"]);
    assert_eq!(names(UserSearch::new([("USERNAME", "a*")])), ["alice"]);
    assert_eq!(
        names(UserSearch::new([("userid", ">=4")])),
        ["dave", "eve_x", "evexx"]
    );
    assert_eq!(names(UserSearch::new([("userid", "<2")])), ["alice"]);
    assert_eq!(
        names(UserSearch::new([("searchTerm", "*Berger*")])),
        ["bob"]
    );
    assert_eq!(
        names(UserSearch::new([("username", "*"), ("email", "d*")])),
        ["dave"]
    );
    // Unknown keys are ignored; the password column cannot be searched.
    assert_eq!(names(UserSearch::new([("shoesize", "42")])).len(), 5);
    assert_eq!(names(UserSearch::new([("password", "nothing*")])).len(), 5);

    // Limit.
    let limited = external_resolver(db, "2");
    assert_eq!(limited.search(&UserSearch::all()).unwrap().len(), 2);

    // Connection test counts the users `Where` lets through.
    assert_eq!(
        sql.test_connection(),
        ConnectionTest::Sql {
            rows: 5,
            error: String::new()
        }
    );
    let missing_table = resolver(
        &rows(&[
            ("Connect", db.uri_string().as_str()),
            ("Password", ""),
            ("Table", "no_such_table"),
            ("Map", MAP),
        ]),
        None,
    );
    assert!(!missing_table.test_connection().is_success());
    assert!(missing_table.user_id("alice").is_err());
}

#[test]
fn sql_resolver_on_sqlite() {
    exercise(&TestDb::sqlite());
}

#[test]
fn sql_resolver_on_postgres() {
    if let Some(db) = TestDb::postgres() {
        exercise(&db);
    }
}

#[test]
fn sql_resolver_on_mysql() {
    if let Some(db) = TestDb::mysql() {
        exercise(&db);
    }
}

#[test]
fn connection_parts_build_the_uri_like_linotp() {
    let db = TestDb::sqlite();
    create_users(db.store());
    let path = db.dir().unwrap().join("linotp.db");
    let sql = resolver(
        &rows(&[
            ("Driver", "sqlite"),
            ("Database", &format!("/{}", path.display())),
            ("Password", ""),
            ("Table", "people"),
            ("Map", MAP),
        ]),
        None,
    );
    assert_eq!(sql.user_id("carol").unwrap().as_deref(), Some("3"));
}

#[test]
fn an_unreachable_database_is_reported_unavailable() {
    let sql = resolver(
        &rows(&[
            ("Connect", "postgresql://nobody@127.0.0.1:1/none"),
            ("Password", ""),
            ("Table", "people"),
            ("Map", MAP),
        ]),
        None,
    );
    let error = sql.user_id("alice").unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    assert!(matches!(
        sql.test_connection(),
        ConnectionTest::Sql { rows: -1, .. }
    ));
}

/// The imported-users resolver of LinOTP's fixture: a readonly SQL resolver over LinOTP's own
/// `imported_user` table, exactly as LinOTP configured it.
#[test]
fn imported_users_of_a_linotp_database_resolve_and_authenticate() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/linotp-sqlite/linotp.db");
    if !fixture.exists() {
        eprintln!("skipped: LinOTP fixture not found at {}", fixture.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("linotp.db");
    std::fs::copy(&fixture, &copy).unwrap();
    let db = TestDb::sqlite_file(dir, &copy);

    // The definition as LinOTP stored it in the fixture's Config table...
    let stored: HashMap<String, String> = [
        ("Connect", ""),
        ("Driver", ""),
        ("Server", ""),
        ("Port", ""),
        ("Database", ""),
        ("User", ""),
        ("conParams", ""),
        ("Password", ""),
        ("Table", "imported_user"),
        ("Where", "groupid = 'fixres'"),
        ("Limit", "1000"),
        ("Encoding", "utf-8"),
        ("readonly", "True"),
        (
            "Map",
            r#"{"groupid": "groupid", "userid": "userid", "username": "username", "phone": "phone", "mobile": "mobile", "email": "email", "surname": "surname", "givenname": "givenname", "password": "password"}"#,
        ),
    ]
    .iter()
    .map(|(key, value)| (format!("linotp.sqlresolver.{key}.fixres"), (*value).to_owned()))
    .collect();
    // ...is what an import writes.
    let from_fixture = ResolverConfig::from_config(ResolverClass::Sql, "fixres", &stored).unwrap();
    assert_eq!(
        ResolverConfig::imported_users("fixres").fingerprint(),
        from_fixture.fingerprint()
    );
    let fixres = named_resolver(&stored, "fixres", Some(db.store()));
    assert_eq!(fixres.user_id("alice").unwrap().as_deref(), Some("1001"));
    assert_eq!(fixres.user_id("admin").unwrap(), None, "other group");
    let bob = fixres.user_info("1002").unwrap().unwrap();
    let expected: Vec<(&str, Value)> = vec![
        ("groupid", "fixres".into()),
        ("userid", "1002".into()),
        ("username", "bob".into()),
        ("phone", "+4922222222".into()),
        ("mobile", "+4922345678".into()),
        ("email", "bob@example.com".into()),
        ("surname", "Bob".into()),
        ("givenname", "Fixture".into()),
    ];
    let got: Vec<(&str, Value)> = bob.iter().map(|(k, v)| (k, v.clone())).collect();
    assert_eq!(got, expected);
    // sha512_crypt at LinOTP's 656,000 rounds, from manifest.json.
    assert!(fixres.check_password("1001", "AlicePw1!").unwrap());
    assert!(!fixres.check_password("1001", "BobPw2!").unwrap());
    let all = fixres
        .search(&UserSearch::new([("username", "*")]))
        .unwrap();
    assert_eq!(all.len(), 3);
}
