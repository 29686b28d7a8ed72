//! User lookups: LDAP against a real slapd (warm user lookup cache and cold), SQL on SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use linotp_resolvers::testing as slapd;
use linotp_resolvers::{
    CacheSettings, CachedResolver, LdapResolver, ResolverClass, ResolverConfig, ResolverSettings,
    SqlResolver, UserIdResolver,
};
use linotp_store::diesel::connection::SimpleConnection;
use linotp_store::{DatabaseUri, PoolOptions, Store};

fn ldap_resolver(server: &slapd::Slapd) -> LdapResolver {
    let rows: HashMap<String, String> = server
        .resolver_params()
        .into_iter()
        .map(|(key, value)| (format!("linotp.ldapresolver.{key}.bench"), value))
        .collect();
    let config = ResolverConfig::from_config(ResolverClass::Ldap, "bench", &rows).unwrap();
    let ResolverSettings::Ldap(settings) = config.settings().unwrap() else {
        unreachable!()
    };
    LdapResolver::new(&settings, None).unwrap()
}

fn ldap(c: &mut Criterion) {
    let server = slapd::Slapd::start();
    let resolver: Arc<dyn UserIdResolver> = Arc::new(ldap_resolver(&server));
    let cached = CachedResolver::new(resolver.clone(), CacheSettings::default());
    cached.user_id("alice").unwrap();
    let alice = slapd::dn_of("alice");

    c.bench_function("ldap user_id (warm cache)", |b| {
        b.iter(|| cached.user_id(black_box("alice")).unwrap())
    });
    c.bench_function("ldap user_id (cold, pooled connection)", |b| {
        b.iter(|| resolver.user_id(black_box("alice")).unwrap())
    });
    c.bench_function("ldap user_info (cold)", |b| {
        b.iter(|| resolver.user_info(black_box(&alice)).unwrap())
    });
    c.bench_function("ldap check_password (bind as user)", |b| {
        b.iter(|| {
            resolver
                .check_password(black_box(&alice), "Alice-Pw1")
                .unwrap()
        })
    });
}

fn sql(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite:///{}/users.db", dir.path().display());
    let store = Store::open(&DatabaseUri::parse(&uri).unwrap(), PoolOptions::default()).unwrap();
    let mut conn = store.connection().unwrap();
    conn.batch_execute(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, login TEXT NOT NULL, pw TEXT, mail TEXT);
         CREATE INDEX people_login ON people (login);",
    )
    .unwrap();
    let mut insert = String::from("BEGIN;");
    for id in 0..5000 {
        insert.push_str(&format!(
            "INSERT INTO people VALUES ({id}, 'user{id}', '{{SSHA}}JXo59aq1eIme38XCbGvwEO5C+egxMjM0NTY3OA==', 'user{id}@example.test');"
        ));
    }
    insert.push_str("COMMIT;");
    conn.batch_execute(&insert).unwrap();
    drop(conn);

    let rows: HashMap<String, String> = [
        ("Connect", uri.as_str()),
        ("Password", ""),
        ("Table", "people"),
        (
            "Map",
            r#"{"userid": "id", "username": "login", "password": "pw", "email": "mail"}"#,
        ),
    ]
    .into_iter()
    .map(|(key, value)| (format!("linotp.sqlresolver.{key}.bench"), value.to_owned()))
    .collect();
    let config = ResolverConfig::from_config(ResolverClass::Sql, "bench", &rows).unwrap();
    let ResolverSettings::Sql(settings) = config.settings().unwrap() else {
        unreachable!()
    };
    let resolver = SqlResolver::new(&settings, None).unwrap();
    assert_eq!(
        resolver.user_id("user4242").unwrap().as_deref(),
        Some("4242")
    );

    c.bench_function("sql user_id (sqlite, 5000 users)", |b| {
        b.iter(|| resolver.user_id(black_box("user4242")).unwrap())
    });
    c.bench_function("sql user_info (sqlite)", |b| {
        b.iter(|| resolver.user_info(black_box("4242")).unwrap())
    });
    c.bench_function("sql check_password ({SSHA}, sqlite)", |b| {
        b.iter(|| {
            resolver
                .check_password(black_box("4242"), "Test123!")
                .unwrap()
        })
    });
}

criterion_group!(benches, ldap, sql);
criterion_main!(benches);
