//! LDAP resolver against a real slapd started for each test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use linotp_resolvers::testing::{
    self as slapd, SERVICE_DN, SERVICE_PW, SilentServer, Slapd, USERS, dn_of,
};
use linotp_resolvers::{
    CacheSettings, CachedResolver, ConnectionTest, LdapResolver, ResolverClass, ResolverConfig,
    ResolverSettings, UserIdResolver, UserSearch,
};

const USERINFO: &str = r#"{"username": "uid", "surname": "sn", "givenname": "givenName", "email": "mail", "mobile": "mobile", "phone": "telephoneNumber"}"#;

/// The config rows of an LDAP resolver named `corp`, as LinOTP stores them; `overrides`
/// replace or add parameters.
fn config(uri: &str, overrides: &[(&str, &str)]) -> HashMap<String, String> {
    let mut params: Vec<(&str, String)> = vec![
        ("LDAPURI", uri.to_owned()),
        ("LDAPBASE", slapd::BASE.to_owned()),
        ("BINDDN", SERVICE_DN.to_owned()),
        ("BINDPW", SERVICE_PW.to_owned()),
        ("LOGINNAMEATTRIBUTE", "uid".to_owned()),
        (
            "LDAPSEARCHFILTER",
            "(uid=*)(objectClass=inetOrgPerson)".to_owned(),
        ),
        (
            "LDAPFILTER",
            "(&(uid=%s)(objectClass=inetOrgPerson))".to_owned(),
        ),
        ("USERINFO", USERINFO.to_owned()),
        ("EnforceTLS", "False".to_owned()),
        ("TIMEOUT", "5".to_owned()),
    ];
    for (key, value) in overrides {
        params.retain(|(name, _)| name != key);
        params.push((key, (*value).to_owned()));
    }
    params
        .into_iter()
        .map(|(key, value)| (format!("linotp.ldapresolver.{key}.corp"), value))
        .collect()
}

fn resolver(rows: &HashMap<String, String>) -> LdapResolver {
    let config = ResolverConfig::from_config(ResolverClass::Ldap, "corp", rows).unwrap();
    let ResolverSettings::Ldap(settings) = config.settings().unwrap() else {
        panic!("not LDAP");
    };
    LdapResolver::new(&settings, None).unwrap()
}

#[test]
fn finds_users_by_login_with_dn_ids_and_maps_their_attributes() {
    let server = Slapd::start();
    let ldap = resolver(&config(&server.uri(), &[]));

    let id = ldap.user_id("alice").unwrap().expect("alice exists");
    assert_eq!(id, dn_of("alice"));
    assert_eq!(ldap.user_id("nobody").unwrap(), None);
    // The login is escaped, not spliced into the filter.
    assert_eq!(ldap.user_id("*").unwrap(), None);

    let info = ldap.user_info(&id).unwrap().expect("info");
    let keys: Vec<&str> = info.iter().map(|(key, _)| key).collect();
    assert_eq!(
        keys,
        [
            "userid",
            "username",
            "surname",
            "givenname",
            "email",
            "mobile",
            "phone"
        ]
    );
    assert_eq!(info.text("userid").as_deref(), Some(id.as_str()));
    assert_eq!(info.text("username").as_deref(), Some("alice"));
    assert_eq!(info.text("surname").as_deref(), Some("Anders"));
    assert_eq!(info.text("email").as_deref(), Some("alice@example.test"));
    assert_eq!(info.text("phone").as_deref(), Some("+49 30 alice"));
    assert_eq!(ldap.username(&id).unwrap().as_deref(), Some("alice"));
    assert_eq!(
        ldap.user_info(&dn_of("nobody")).unwrap(),
        None,
        "unknown DN"
    );
}

#[test]
fn entry_uuid_ids_resolve_both_ways() {
    let server = Slapd::start();
    let ldap = resolver(&config(&server.uri(), &[("UIDTYPE", "entryUUID")]));
    let expected = server.entry_uuid("bob");
    let id = ldap.user_id("bob").unwrap().expect("bob");
    assert_eq!(id, expected);
    let info = ldap.user_info(&id).unwrap().expect("info by entryUUID");
    assert_eq!(info.text("username").as_deref(), Some("bob"));
    assert!(ldap.check_password(&id, "Bob-Pw2").unwrap());
}

#[test]
fn search_uses_the_search_filter_fields_and_search_term() {
    let server = Slapd::start();
    let ldap = resolver(&config(&server.uri(), &[]));

    let everybody = ldap.search(&UserSearch::all()).unwrap();
    let mut names: Vec<String> = everybody.iter().filter_map(|u| u.username()).collect();
    names.sort();
    assert_eq!(names, ["alice", "bob", "carol"]);
    assert_eq!(
        everybody[0].iter().next().map(|(key, _)| key),
        Some("userid")
    );

    let some = ldap
        .search(&UserSearch::new([("username", "*o*")]))
        .unwrap();
    let mut names: Vec<String> = some.iter().filter_map(|u| u.username()).collect();
    names.sort();
    assert_eq!(names, ["bob", "carol"]);

    let by_term = ldap
        .search(&UserSearch::new([("searchTerm", "Berger")]))
        .unwrap();
    assert_eq!(by_term.len(), 1);
    assert_eq!(by_term[0].username().as_deref(), Some("bob"));

    // A search key the mapping does not know is ignored, as in LinOTP.
    assert_eq!(
        ldap.search(&UserSearch::new([("shoesize", "42")]))
            .unwrap()
            .len(),
        3
    );
    // Filter syntax in a pattern is escaped.
    assert!(
        ldap.search(&UserSearch::new([("username", "x)(uid=*")]))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn size_limit_cuts_searches() {
    let server = Slapd::start();
    let ldap = resolver(&config(&server.uri(), &[("SIZELIMIT", "2")]));
    assert_eq!(ldap.search(&UserSearch::all()).unwrap().len(), 2);
    match ldap.test_connection() {
        ConnectionTest::LdapUsers {
            dns,
            size_limit_exceeded,
        } => {
            assert_eq!(dns.len(), 2);
            assert!(size_limit_exceeded);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn password_check_binds_as_the_user() {
    let server = Slapd::start();
    let ldap = resolver(&config(&server.uri(), &[]));
    for user in USERS {
        let id = ldap.user_id(user.uid).unwrap().unwrap();
        assert!(
            ldap.check_password(&id, user.password).unwrap(),
            "{}",
            user.uid
        );
        assert!(!ldap.check_password(&id, "wrong").unwrap(), "{}", user.uid);
        // An empty password would be an anonymous bind: never a success.
        assert!(!ldap.check_password(&id, "").unwrap());
    }
    assert!(!ldap.check_password(&dn_of("nobody"), "x").unwrap());
}

#[test]
fn fails_over_from_a_dead_server_to_a_live_one() {
    let server = Slapd::start();
    let dead = format!("ldap://127.0.0.1:{}", slapd::free_port());
    let uris = format!("{dead}, {}", server.uri());
    let ldap = resolver(&config(&uris, &[]));
    assert_eq!(ldap.user_id("carol").unwrap(), Some(dn_of("carol")));
    assert!(ldap.check_password(&dn_of("carol"), "Carol-Pw3").unwrap());
    match ldap.test_connection() {
        ConnectionTest::LdapUsers { dns, .. } => assert_eq!(dns.len(), 3),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_directory_that_never_answers_fails_within_the_timeout() {
    let silent = SilentServer::start();
    let uri = format!("ldap://127.0.0.1:{}", silent.port);
    let ldap = resolver(&config(&uri, &[("TIMEOUT", "1")]));
    let started = Instant::now();
    let error = ldap.user_id("alice").unwrap_err();
    let elapsed = started.elapsed();
    assert!(error.is_unavailable(), "{error}");
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
    assert!(elapsed >= Duration::from_millis(900), "took {elapsed:?}");

    let started = Instant::now();
    assert!(ldap.check_password(&dn_of("alice"), "x").is_err());
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(matches!(
        ldap.test_connection(),
        ConnectionTest::LdapError(_)
    ));
}

#[test]
fn a_wrong_service_password_is_an_error_not_an_unknown_user() {
    let server = Slapd::start();
    let ldap = resolver(&config(&server.uri(), &[("BINDPW", "wrong")]));
    assert!(ldap.user_id("alice").is_err());
    assert_eq!(
        ldap.test_connection(),
        ConnectionTest::LdapError("Invalid credentials".to_owned())
    );
}

#[test]
fn test_connection_lists_the_user_dns() {
    let server = Slapd::start();
    let ldap = resolver(&config(&server.uri(), &[("UIDTYPE", "entryUUID")]));
    let test = ldap.test_connection();
    let json = test.to_json().unwrap();
    assert_eq!(json["result"], "success");
    let mut dns: Vec<String> = json["desc"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["userid"].as_str().unwrap().to_owned())
        .collect();
    dns.sort();
    let expected: Vec<String> = USERS.iter().map(|user| dn_of(user.uid)).collect();
    assert_eq!(dns, expected);
}

#[test]
fn cached_lookups_do_not_reach_the_directory() {
    let server = Slapd::start();
    let ldap: Arc<dyn UserIdResolver> = Arc::new(resolver(&config(&server.uri(), &[])));
    let cached = CachedResolver::new(ldap, CacheSettings::default());
    let id = cached.user_id("alice").unwrap().unwrap();
    let info = cached.user_info(&id).unwrap().unwrap();
    assert_eq!(cached.stats().misses(), 2);

    // With the directory gone, the cache still answers; uncached work fails.
    drop(server);
    assert_eq!(cached.user_id("alice").unwrap(), Some(id.clone()));
    assert_eq!(cached.user_info(&id).unwrap(), Some(info));
    assert_eq!(cached.stats().hits(), 2);
    assert!(cached.user_id("bob").is_err());
    assert!(cached.check_password(&id, "Alice-Pw1").is_err());
}

#[test]
fn new_users_show_at_once_because_misses_are_not_cached() {
    let server = Slapd::start();
    let ldap: Arc<dyn UserIdResolver> = Arc::new(resolver(&config(&server.uri(), &[])));
    let cached = CachedResolver::new(ldap, CacheSettings::default());
    assert_eq!(cached.user_id("dave").unwrap(), None);
    server.ldapadd(&format!(
        "dn: {}\nobjectClass: inetOrgPerson\nuid: dave\ncn: Dave\nsn: Dunn\n\n",
        dn_of("dave")
    ));
    assert_eq!(cached.user_id("dave").unwrap(), Some(dn_of("dave")));
}

#[test]
fn many_threads_share_the_bounded_pool() {
    let server = Slapd::start();
    let config =
        ResolverConfig::from_config(ResolverClass::Ldap, "corp", &config(&server.uri(), &[]))
            .unwrap();
    let ResolverSettings::Ldap(settings) = config.settings().unwrap() else {
        panic!("not LDAP");
    };
    let ldap = Arc::new(LdapResolver::with_max_connections(&settings, None, 2).unwrap());
    let threads: Vec<_> = (0..12)
        .map(|index| {
            let ldap = ldap.clone();
            std::thread::spawn(move || {
                let user = &USERS[index % USERS.len()];
                for _ in 0..5 {
                    assert_eq!(ldap.user_id(user.uid).unwrap(), Some(dn_of(user.uid)));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

fn tls_resolver(server: &Slapd, uri: &str, overrides: &[(&str, &str)]) -> LdapResolver {
    let _ = server;
    resolver(&config(uri, overrides))
}

#[test]
fn ldaps_and_starttls_trust_the_configured_ca_only() {
    let server = Slapd::start_tls();
    let tls = server.tls.as_ref().unwrap();
    let ldaps = format!("ldaps://127.0.0.1:{}", server.ldaps_port.unwrap());
    let ca = tls.ca_pem.as_str();

    let over_ldaps = tls_resolver(&server, &ldaps, &[("CACERTIFICATE", ca)]);
    assert_eq!(over_ldaps.user_id("alice").unwrap(), Some(dn_of("alice")));
    assert!(
        over_ldaps
            .check_password(&dn_of("alice"), "Alice-Pw1")
            .unwrap()
    );

    let starttls = tls_resolver(
        &server,
        &server.uri(),
        &[("EnforceTLS", "True"), ("CACERTIFICATE", ca)],
    );
    assert_eq!(starttls.user_id("bob").unwrap(), Some(dn_of("bob")));

    // The test CA is not among the system's roots: without it the server is not trusted...
    let untrusted = tls_resolver(&server, &ldaps, &[]);
    assert!(untrusted.user_id("alice").is_err());
    let untrusted_starttls = tls_resolver(&server, &server.uri(), &[("EnforceTLS", "True")]);
    assert!(matches!(
        untrusted_starttls.test_connection(),
        ConnectionTest::LdapError(_)
    ));
    // ...unless certificate checks are switched off.
    let unchecked = tls_resolver(&server, &ldaps, &[("only_trusted_certs", "False")]);
    assert_eq!(unchecked.user_id("carol").unwrap(), Some(dn_of("carol")));
}

#[test]
fn the_servers_ca_file_is_used_when_the_resolver_has_none() {
    let server = Slapd::start_tls();
    let tls = server.tls.as_ref().unwrap();
    let ldaps = format!("ldaps://127.0.0.1:{}", server.ldaps_port.unwrap());
    let rows = config(&ldaps, &[]);
    let config = ResolverConfig::from_config(ResolverClass::Ldap, "corp", &rows).unwrap();
    let ResolverSettings::Ldap(settings) = config.settings().unwrap() else {
        panic!("not LDAP");
    };
    let ldap = LdapResolver::new(&settings, Some(&tls.ca)).unwrap();
    assert_eq!(ldap.user_id("alice").unwrap(), Some(dn_of("alice")));
}
