//! User and realm resolution over the imported-user resolver, on a real SQLite database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod validate_common;

use linotp_api::params::Params;
use linotp_api::test_app::TestApp;
use linotp_api::users::{self, ResolverSpec, requested_user, resolve_requested};
use validate_common::{conn, import_users, set_config, set_default_realm};

fn people() -> [(&'static str, &'static str, &'static str); 3] {
    [
        ("alice", "uid1", "AlicePw1!"),
        ("bob", "uid2", "BobPw2!"),
        ("carol", "uid3", "CarolPw3!"),
    ]
}

#[test]
fn login_is_found_in_the_realm_resolver_and_named_like_linotp() {
    let app = TestApp::sqlite();
    import_users(&app, "GldRes", "gldrealm", &people());
    let mut conn = conn(&app);
    let found = users::resolve(&app.state, &mut conn, "bob", "GldRealm")
        .unwrap()
        .unwrap();
    assert_eq!(found.user_id, "uid2");
    assert_eq!(found.realm, "gldrealm");
    assert_eq!(
        found.resolver_spec,
        "useridresolver.SQLIdResolver.IdResolver.GldRes"
    );
    assert_eq!(
        found.resolver_class_short,
        "SQLIdResolver.IdResolver.GldRes"
    );

    assert!(
        users::resolve(&app.state, &mut conn, "nosuchuser", "gldrealm")
            .unwrap()
            .is_none()
    );
    assert!(
        users::resolve(&app.state, &mut conn, "bob", "nosuchrealm")
            .unwrap()
            .is_none()
    );
    // The admin realm's resolver is another group: alice is not an administrator.
    assert!(
        users::resolve(&app.state, &mut conn, "alice", "linotp_admins")
            .unwrap()
            .is_none()
    );
}

#[test]
fn user_info_follows_the_mapping_order_without_password() {
    let app = TestApp::sqlite();
    import_users(&app, "GldRes", "gldrealm", &people());
    let mut conn = conn(&app);
    let alice = users::resolve(&app.state, &mut conn, "alice", "gldrealm")
        .unwrap()
        .unwrap();
    let info = users::user_info(&app.state, &mut conn, &alice)
        .unwrap()
        .unwrap();
    let keys: Vec<&str> = info.iter().map(|(key, _)| key).collect();
    assert_eq!(
        keys,
        [
            "userid",
            "username",
            "phone",
            "mobile",
            "email",
            "surname",
            "givenname",
            "groupid"
        ]
    );
    assert_eq!(info.get("email"), Some("alice@example.test"));
    assert_eq!(info.get("groupid"), Some("GldRes"));
    assert!(info.get("password").is_none());
}

#[test]
fn passwords_are_checked_against_the_stored_crypt_hash() {
    let app = TestApp::sqlite();
    import_users(&app, "GldRes", "gldrealm", &people());
    let mut conn = conn(&app);
    let carol = users::resolve(&app.state, &mut conn, "carol", "gldrealm")
        .unwrap()
        .unwrap();
    assert!(users::check_password(&app.state, &mut conn, &carol, "CarolPw3!").unwrap());
    assert!(!users::check_password(&app.state, &mut conn, &carol, "carolpw3!").unwrap());
    assert!(!users::check_password(&app.state, &mut conn, &carol, "").unwrap());
}

#[test]
fn request_user_gets_default_realm_and_at_sign_split() {
    let app = TestApp::sqlite();
    import_users(&app, "GldRes", "gldrealm", &people());
    import_users(&app, "OtherRes", "other", &[("alice", "o1", "x")]);
    set_default_realm(&app, "gldrealm");
    let mut conn = conn(&app);
    let config = app.state.system_config(&mut conn).unwrap();

    let cases = [
        (vec![("user", "alice")], Some(("gldrealm", "uid1"))),
        (vec![("user", "alice@other")], Some(("other", "o1"))),
        (vec![("user", "OTHER\\alice")], Some(("other", "o1"))),
        (
            vec![("user", "alice"), ("realm", "Other")],
            Some(("other", "o1")),
        ),
        (vec![("user", "alice@other"), ("realm", "gldrealm")], None),
        (vec![("user", "nobody")], None),
        (vec![], None),
    ];
    for (pairs, expected) in cases {
        let params = Params::from_pairs(pairs.clone());
        let requested = requested_user(&params, &config);
        let found = resolve_requested(&app.state, &config, &mut conn, &requested).unwrap();
        let found = found.map(|user| (user.realm, user.user_id));
        let expected = expected.map(|(realm, id)| (realm.to_owned(), id.to_owned()));
        assert_eq!(found, expected, "{pairs:?}");
    }
}

#[test]
fn without_split_at_sign_a_realm_suffix_is_tried_after_the_whole_login() {
    let app = TestApp::sqlite();
    import_users(&app, "GldRes", "gldrealm", &people());
    import_users(&app, "MailRes", "mail", &[("dave@gldrealm", "m1", "x")]);
    set_default_realm(&app, "mail");
    set_config(&app, "splitAtSign", "false");
    let mut conn = conn(&app);
    let config = app.state.system_config(&mut conn).unwrap();
    let resolve = |conn: &mut _, login: &str| {
        let requested = requested_user(&Params::from_pairs([("user", login)]), &config);
        resolve_requested(&app.state, &config, conn, &requested)
            .unwrap()
            .map(|user| (user.login, user.realm))
    };
    // The whole login exists in the default realm.
    assert_eq!(
        resolve(&mut conn, "dave@gldrealm"),
        Some(("dave@gldrealm".into(), "mail".into()))
    );
    // Not found whole: the part after the last `@` is a realm, so LinOTP retries there.
    assert_eq!(
        resolve(&mut conn, "bob@gldrealm"),
        Some(("bob".into(), "gldrealm".into()))
    );
    assert_eq!(resolve(&mut conn, "bob@nosuchrealm"), None);
}

#[test]
fn user_lists_filter_with_linotp_wildcards() {
    let app = TestApp::sqlite();
    import_users(&app, "GldRes", "gldrealm", &people());
    let mut db = conn(&app);
    let config = app.state.system_config(&mut db).unwrap();
    let spec = ResolverSpec::parse("useridresolver.SQLIdResolver.IdResolver.GldRes").unwrap();
    let resolver = users::open_resolver(&app.state, &spec, &config).unwrap();
    let names = |search: &[(&str, &str)]| -> Vec<String> {
        let search: Vec<(String, String)> = search
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        resolver
            .list_users(&search)
            .unwrap()
            .iter()
            .map(|info| info.get("username").unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&[("username", "*")]), ["alice", "bob", "carol"]);
    assert_eq!(names(&[]), ["alice", "bob", "carol"]);
    assert_eq!(names(&[("username", "b*")]), ["bob"]);
    assert_eq!(names(&[("searchTerm", "*carol@*")]), ["carol"]);
    assert_eq!(
        names(&[("username", "*"), ("userid", ">=uid2")]),
        ["bob", "carol"]
    );
    assert_eq!(resolver.login_of("uid1").unwrap().as_deref(), Some("alice"));
    assert_eq!(resolver.user_id("ALICE").unwrap(), None);
    // A resolver nobody defined is not there.
    let unknown = ResolverSpec::parse("useridresolver.SQLIdResolver.IdResolver.nosuch").unwrap();
    assert!(users::open_resolver(&app.state, &unknown, &config).is_none());
}
