//! CRUD of every repository, on every backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{NaiveDate, NaiveDateTime};
use common::TestDb;
use linotp_store::diesel::prelude::*;
use linotp_store::schema::config as config_table;
use linotp_store::tokens::{
    CounterCommit, OwnerFilter, RealmFilter, SerialMatch, Token, TokenFilter, TokenListOptions,
    TokenSort,
};
use linotp_store::users::{AdminDetails, ImportedUser, LocalAdmins};
use linotp_store::{StoreError, audit, challenges, config, jwt_blocklist, realms, tokens, users};

fn at(hour: u32, minute: u32, second: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 26)
        .unwrap()
        .and_hms_opt(hour, minute, second)
        .unwrap()
}

fn owned_token(serial: &str, user_id: &str) -> Token {
    Token {
        description: format!("token of {user_id}"),
        user_id: user_id.to_owned(),
        id_resolver: "SQLIdResolver.IdResolver.fixres".to_owned(),
        id_res_class: "useridresolver.SQLIdResolver.IdResolver.fixres".to_owned(),
        token_info: "{\n\"hashlib\": \"sha1\"\n}".to_owned(),
        pin_hash: "7d449f47e899480d".to_owned(),
        pin_salt: "265dd9083ceab794".to_owned(),
        key_enc: "983d069bb8fcf16f".to_owned(),
        key_iv: "74d47ce6770ab1df".to_owned(),
        creation_date: Some(at(10, 11, 11)),
        ..Token::new(serial, "HMAC")
    }
}

fn tokens_round_trip_every_column(db: &TestDb) {
    let db_store = db.store();
    db_store.migrate().unwrap();
    let mut conn = db_store.connection().unwrap();

    let mut wanted = owned_token("OATH0001", "1001");
    wanted.otp_len = 8;
    wanted.max_fail = 3;
    wanted.count = 17;
    wanted.fail_count = 2;
    wanted.count_window = 20;
    wanted.sync_window = 500;
    wanted.pin_user = "abcdef".to_owned();
    wanted.pin_user_iv = "0011".to_owned();
    wanted.last_auth_success = Some(at(10, 12, 0));
    wanted.last_auth_match = Some(at(10, 12, 1));
    let inserted = tokens::insert(&mut conn, &wanted).unwrap();
    assert!(inserted.id > 0);

    let read = tokens::get_by_serial(&mut conn, "OATH0001")
        .unwrap()
        .unwrap();
    assert_eq!(
        read,
        Token {
            id: inserted.id,
            ..wanted.clone()
        }
    );
    assert_eq!(
        tokens::get_by_id(&mut conn, inserted.id).unwrap(),
        Some(read.clone())
    );
    assert_eq!(tokens::get_by_serial(&mut conn, "oath0002").unwrap(), None);

    let duplicate = tokens::insert(&mut conn, &Token::new("OATH0001", "TOTP")).unwrap_err();
    assert!(
        matches!(&duplicate, StoreError::Duplicate { what: "token", key } if key == "OATH0001"),
        "{duplicate}"
    );

    let mut changed = read.clone();
    changed.description = "renamed".to_owned();
    changed.is_active = false;
    changed.token_info = "{}".to_owned();
    tokens::update(&mut conn, &changed).unwrap();
    assert_eq!(
        tokens::get_by_id(&mut conn, read.id).unwrap(),
        Some(changed.clone())
    );

    assert!(tokens::set_active(&mut conn, read.id, true).unwrap());
    assert!(
        tokens::get_by_id(&mut conn, read.id)
            .unwrap()
            .unwrap()
            .is_active
    );

    let gone = Token {
        id: read.id + 1000,
        ..changed
    };
    assert!(matches!(
        tokens::update(&mut conn, &gone),
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        format!("{read:?}").find("983d069b").is_none(),
        "Debug must not show the encrypted seed"
    );
}

fn tokens_are_found_by_user_and_realm(db: &TestDb) {
    db.store().migrate().unwrap();
    let mut conn = db.store().connection().unwrap();
    let alice = tokens::insert(&mut conn, &owned_token("ALICE1", "1001")).unwrap();
    let alice2 = tokens::insert(&mut conn, &owned_token("ALICE2", "1001")).unwrap();
    let mut legacy = owned_token("ALICE3", "1001");
    // LinOTP 2 wrote this prefix; LinOTP's LIKE pattern still finds it.
    legacy.id_res_class = "useridresolveree.SQLIdResolver.IdResolver.fixres".to_owned();
    let legacy = tokens::insert(&mut conn, &legacy).unwrap();
    tokens::insert(&mut conn, &owned_token("BOB1", "1002")).unwrap();
    let mut other_resolver = owned_token("ALICE_LDAP", "1001");
    other_resolver.id_res_class = "useridresolver.LDAPIdResolver.IdResolver.corp".to_owned();
    tokens::insert(&mut conn, &other_resolver).unwrap();

    let found: Vec<String> = tokens::find_by_user(
        &mut conn,
        "1001",
        "useridresolver.SQLIdResolver.IdResolver.fixres",
    )
    .unwrap()
    .into_iter()
    .map(|t| t.serial)
    .collect();
    assert_eq!(found, vec!["ALICE1", "ALICE2", "ALICE3"]);
    let via_legacy_spec = tokens::find_by_user(
        &mut conn,
        "1001",
        "useridresolveree.SQLIdResolver.IdResolver.fixres",
    )
    .unwrap();
    assert_eq!(via_legacy_spec.len(), 3);
    assert!(
        tokens::find_by_user(
            &mut conn,
            "1003",
            "useridresolver.SQLIdResolver.IdResolver.fixres"
        )
        .unwrap()
        .is_empty()
    );

    realms::set_token_realms(&mut conn, alice.id, &["FixRealm", "other"]).unwrap();
    realms::add_token_realm(&mut conn, legacy.id, "fixrealm").unwrap();
    let in_realm: Vec<String> = tokens::find_by_realm(&mut conn, "FIXREALM")
        .unwrap()
        .into_iter()
        .map(|t| t.serial)
        .collect();
    assert_eq!(in_realm, vec!["ALICE1", "ALICE3"]);
    let names = tokens::realm_names_of(&mut conn, &[alice.id, alice2.id, legacy.id]).unwrap();
    assert_eq!(
        names.get(&alice.id).unwrap(),
        &vec!["fixrealm".to_owned(), "other".to_owned()]
    );
    assert_eq!(names.get(&legacy.id).unwrap(), &vec!["fixrealm".to_owned()]);
    assert!(!names.contains_key(&alice2.id));
    assert_eq!(tokens::count_all(&mut conn).unwrap(), 5);
}

fn deleting_a_token_removes_its_links_and_challenges(db: &TestDb) {
    db.store().migrate().unwrap();
    let mut conn = db.store().connection().unwrap();
    let doomed = tokens::insert(&mut conn, &owned_token("DOOMED", "1")).unwrap();
    let kept = tokens::insert(&mut conn, &owned_token("KEPT", "2")).unwrap();
    realms::set_token_realms(&mut conn, doomed.id, &["r1"]).unwrap();
    realms::set_token_realms(&mut conn, kept.id, &["r1"]).unwrap();
    for (transid, serial) in [("111", "DOOMED"), ("222", "KEPT")] {
        challenges::insert(
            &mut conn,
            &challenges::Challenge {
                transid: transid.to_owned(),
                tokenserial: serial.to_owned(),
                ..Default::default()
            },
        )
        .unwrap();
    }

    assert!(tokens::delete(&mut conn, doomed.id).unwrap());
    assert!(!tokens::delete(&mut conn, doomed.id).unwrap());
    assert_eq!(tokens::get_by_serial(&mut conn, "DOOMED").unwrap(), None);
    assert!(
        challenges::find_by_serial(&mut conn, "DOOMED")
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        challenges::find_by_serial(&mut conn, "KEPT").unwrap().len(),
        1
    );
    assert_eq!(
        tokens::find_by_realm(&mut conn, "r1")
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect::<Vec<_>>(),
        vec![kept.id]
    );
}

fn listing_filters_sorts_and_pages(db: &TestDb) {
    db.store().migrate().unwrap();
    let mut conn = db.store().connection().unwrap();
    // 25 tokens: descriptions d00..d24 inserted in scrambled order, every third unassigned,
    // every fifth inactive, even numbers in realm "even".
    let order = [
        7, 19, 3, 24, 11, 0, 15, 22, 5, 9, 13, 1, 17, 20, 2, 8, 23, 6, 12, 4, 18, 10, 21, 14, 16,
    ];
    for n in order {
        let mut t = owned_token(&format!("LIST{n:02}"), if n % 3 == 0 { "" } else { "42" });
        t.description = format!("d{n:02}");
        t.is_active = n % 5 != 0;
        t.fail_count = 100 - n;
        t.token_type = if n % 2 == 0 {
            "HMAC".into()
        } else {
            "totp".into()
        };
        let t = tokens::insert(&mut conn, &t).unwrap();
        if n % 2 == 0 {
            realms::add_token_realm(&mut conn, t.id, "even").unwrap();
        }
    }
    let serials = |page: &tokens::TokenPage| -> Vec<String> {
        page.tokens.iter().map(|t| t.serial.clone()).collect()
    };
    let everything = TokenFilter::default();

    let page2 = tokens::list(
        &mut conn,
        &everything,
        &TokenListOptions {
            page: Some((2, 10)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(page2.total, 25);
    assert_eq!(page2.pages(10), 3);
    let expected: Vec<String> = (10..20).map(|n| format!("LIST{n:02}")).collect();
    assert_eq!(serials(&page2), expected, "default sort is by description");

    let last = tokens::list(
        &mut conn,
        &everything,
        &TokenListOptions {
            sort: TokenSort::FailCount,
            descending: true,
            page: Some((3, 10)),
        },
    )
    .unwrap();
    // fail_count = 100 - n, descending → n ascending; page 3 holds n = 20..24.
    let expected: Vec<String> = (20..25).map(|n| format!("LIST{n:02}")).collect();
    assert_eq!(serials(&last), expected);

    let unassigned_active = tokens::list(
        &mut conn,
        &TokenFilter {
            owner: Some(OwnerFilter::Unassigned),
            active: Some(true),
            ..Default::default()
        },
        &TokenListOptions {
            sort: TokenSort::Serial,
            ..Default::default()
        },
    )
    .unwrap();
    let expected: Vec<String> = (0..25)
        .filter(|n| n % 3 == 0 && n % 5 != 0)
        .map(|n| format!("LIST{n:02}"))
        .collect();
    assert_eq!(serials(&unassigned_active), expected);
    assert_eq!(unassigned_active.total, expected.len() as i64);

    let wildcard = tokens::list(
        &mut conn,
        &TokenFilter {
            serial: Some(SerialMatch::from_param("LIST1*")),
            ..Default::default()
        },
        &TokenListOptions {
            sort: TokenSort::Serial,
            descending: true,
            page: None,
        },
    )
    .unwrap();
    let expected: Vec<String> = (10..20).rev().map(|n| format!("LIST{n:02}")).collect();
    assert_eq!(serials(&wildcard), expected);

    let text = tokens::list(
        &mut conn,
        &TokenFilter {
            text: Some("d2".into()),
            ..Default::default()
        },
        &TokenListOptions {
            sort: TokenSort::Description,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        serials(&text),
        vec!["LIST20", "LIST21", "LIST22", "LIST23", "LIST24"]
    );

    // A LIKE metacharacter in the search text is literal.
    let percent = tokens::list(
        &mut conn,
        &TokenFilter {
            text: Some("%".into()),
            ..Default::default()
        },
        &TokenListOptions::default(),
    )
    .unwrap();
    assert_eq!(percent.total, 0);

    let even = tokens::list(
        &mut conn,
        &TokenFilter {
            realms: Some(RealmFilter::AnyOf(vec!["EVEN".into()])),
            ..Default::default()
        },
        &TokenListOptions {
            sort: TokenSort::Id,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(even.total, 13);
    let no_realm = tokens::list(
        &mut conn,
        &TokenFilter {
            realms: Some(RealmFilter::None),
            ..Default::default()
        },
        &TokenListOptions::default(),
    )
    .unwrap();
    assert_eq!(no_realm.total, 12);
    assert!(no_realm.tokens.iter().all(|t| {
        let n: u32 = t.serial[4..].parse().unwrap();
        n % 2 == 1
    }));

    let by_type = tokens::list(
        &mut conn,
        &TokenFilter {
            token_type: Some("TOTP".into()),
            ..Default::default()
        },
        &TokenListOptions::default(),
    )
    .unwrap();
    assert_eq!(by_type.total, 12);

    let by_serials = tokens::list(
        &mut conn,
        &TokenFilter {
            owner: Some(OwnerFilter::Serials(vec!["LIST01".into(), "LIST02".into()])),
            ..Default::default()
        },
        &TokenListOptions::default(),
    )
    .unwrap();
    assert_eq!(serials(&by_serials), vec!["LIST01", "LIST02"]);
    let none = tokens::list(
        &mut conn,
        &TokenFilter {
            owner: Some(OwnerFilter::Serials(vec![])),
            ..Default::default()
        },
        &TokenListOptions::default(),
    )
    .unwrap();
    assert_eq!(none.total, 0);

    let by_user = tokens::list(
        &mut conn,
        &TokenFilter {
            owner: Some(OwnerFilter::UserId {
                user_id: "42".into(),
                resolver_class: Some("useridresolver.SQLIdResolver.IdResolver.fixres".into()),
            }),
            ..Default::default()
        },
        &TokenListOptions::default(),
    )
    .unwrap();
    assert_eq!(by_user.total, 16);
}

fn counter_commit_is_compare_and_set(db: &TestDb) {
    db.store().migrate().unwrap();
    let mut conn = db.store().connection().unwrap();
    let mut t = owned_token("CAS1", "1");
    t.count = 5;
    t.fail_count = 2;
    let t = tokens::insert(&mut conn, &t).unwrap();
    let commit = CounterCommit {
        token_id: t.id,
        expected_count: 5,
        new_count: 6,
        new_fail_count: 0,
        new_token_info: Some("{\"count_auth\": 1}".into()),
        last_auth_success: Some(at(12, 0, 0)),
        last_auth_match: None,
    };
    assert!(tokens::commit_counter(&mut conn, &commit).unwrap());
    assert!(
        !tokens::commit_counter(&mut conn, &commit).unwrap(),
        "replay must fail"
    );
    let after = tokens::get_by_id(&mut conn, t.id).unwrap().unwrap();
    assert_eq!((after.count, after.fail_count), (6, 0));
    assert_eq!(after.token_info, "{\"count_auth\": 1}");
    assert_eq!(after.last_auth_success, Some(at(12, 0, 0)));
    assert_eq!(after.last_auth_match, None, "None leaves the column alone");
    assert_eq!(after.key_enc, t.key_enc);

    assert!(tokens::increment_fail_count(&mut conn, t.id, Some(2)).unwrap());
    assert!(tokens::increment_fail_count(&mut conn, t.id, Some(2)).unwrap());
    assert!(!tokens::increment_fail_count(&mut conn, t.id, Some(2)).unwrap());
    assert!(tokens::increment_fail_count(&mut conn, t.id, None).unwrap());
    assert_eq!(
        tokens::get_by_id(&mut conn, t.id)
            .unwrap()
            .unwrap()
            .fail_count,
        3
    );
}

fn realms_lifecycle(db: &TestDb) {
    db.store().migrate().unwrap();
    let mut conn = db.store().connection().unwrap();
    let created = realms::create(&mut conn, "MyRealm").unwrap();
    assert_eq!(created.name, "myrealm");
    assert!(
        realms::create(&mut conn, "myrealm")
            .unwrap_err()
            .is_duplicate()
    );
    realms::create(&mut conn, "second").unwrap();
    assert_eq!(realms::get_default(&mut conn).unwrap(), None);
    realms::set_default(&mut conn, "SECOND").unwrap();
    realms::set_default(&mut conn, "myrealm").unwrap();
    let listed = realms::list(&mut conn).unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|r| (r.name.as_str(), r.is_default))
            .collect::<Vec<_>>(),
        vec![("myrealm", true), ("second", false)]
    );
    assert_eq!(
        realms::get_default(&mut conn).unwrap().unwrap().id,
        created.id
    );
    assert!(matches!(
        realms::set_default(&mut conn, "nope"),
        Err(StoreError::NotFound { .. })
    ));

    let t = tokens::insert(&mut conn, &owned_token("R1", "1")).unwrap();
    realms::set_token_realms(&mut conn, t.id, &["myrealm", "MYREALM", "third"]).unwrap();
    assert_eq!(
        realms::realms_of_token(&mut conn, t.id).unwrap(),
        vec!["myrealm", "third"]
    );
    realms::set_token_realms(&mut conn, t.id, &["second"]).unwrap();
    assert_eq!(
        realms::realms_of_token(&mut conn, t.id).unwrap(),
        vec!["second"]
    );
    realms::add_token_realm(&mut conn, t.id, "second").unwrap();
    realms::add_token_realm(&mut conn, t.id, "myrealm").unwrap();
    assert_eq!(
        realms::realms_of_token(&mut conn, t.id).unwrap(),
        vec!["myrealm", "second"]
    );
    assert!(realms::remove_token_realm(&mut conn, t.id, "second").unwrap());
    assert!(!realms::remove_token_realm(&mut conn, t.id, "second").unwrap());
    assert!(realms::delete(&mut conn, "MyRealm").unwrap());
    assert!(!realms::delete(&mut conn, "myrealm").unwrap());
    assert!(realms::realms_of_token(&mut conn, t.id).unwrap().is_empty());
    assert_eq!(realms::get_by_name(&mut conn, "myrealm").unwrap(), None);
}

fn raw_config_rows(
    conn: &mut linotp_store::AnyConnection,
    prefix: &str,
) -> Vec<(String, String, Option<String>, Option<String>)> {
    config_table::table
        .filter(config_table::key.like(format!("{prefix}%")))
        .select((
            config_table::key,
            config_table::value,
            config_table::typ,
            config_table::description,
        ))
        .order(config_table::key.asc())
        .load::<(String, Option<String>, Option<String>, Option<String>)>(conn)
        .unwrap()
        .into_iter()
        .map(|(k, v, t, d)| (k, v.unwrap_or_default(), t, d))
        .collect()
}

fn config_splits_long_values_like_linotp(db: &TestDb) {
    db.store().migrate().unwrap();
    let mut conn = db.store().connection().unwrap();
    let long: String = (0..4500)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    config::set(
        &mut conn,
        "cert.long",
        &long,
        Some("text"),
        Some("a certificate"),
    )
    .unwrap();

    let rows = raw_config_rows(&mut conn, "linotp.cert.long");
    let shape: Vec<(&str, usize, Option<&str>, Option<&str>)> = rows
        .iter()
        .map(|(k, v, t, d)| (k.as_str(), v.len(), t.as_deref(), d.as_deref()))
        .collect();
    assert_eq!(
        shape,
        vec![
            ("linotp.cert.long", 1994, Some("C"), Some("0:2")),
            ("linotp.cert.long__[1:2]", 1994, Some("C"), Some("1:2")),
            (
                "linotp.cert.long__[2:2]",
                512,
                Some("text"),
                Some("a certificate")
            ),
        ]
    );
    let read = config::get(&mut conn, "linotp.cert.long").unwrap().unwrap();
    assert_eq!(read.value, long);
    assert_eq!(read.typ.as_deref(), Some("text"));
    assert_eq!(read.description.as_deref(), Some("a certificate"));

    // Non-ASCII text takes LinOTP's UTF-8 path and comes back intact.
    let umlauts = "äöü€".repeat(700);
    config::set(&mut conn, "cert.utf8", &umlauts, Some("text"), None).unwrap();
    assert_eq!(
        config::get_value(&mut conn, "cert.utf8").unwrap().unwrap(),
        umlauts
    );
    assert!(
        raw_config_rows(&mut conn, "linotp.cert.utf8")
            .iter()
            .all(|(_, v, _, _)| v.chars().count() <= 2000)
    );

    // list() folds the chunk rows into their head.
    config::set(&mut conn, "short", "1", Some("int"), None).unwrap();
    let listed: Vec<(String, usize)> = config::list(&mut conn)
        .unwrap()
        .into_iter()
        .filter(|e| e.key.starts_with("linotp.cert") || e.key == "linotp.short")
        .map(|e| (e.key, e.value.chars().count()))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("linotp.cert.long".to_owned(), 4500),
            ("linotp.cert.utf8".to_owned(), 2800),
            ("linotp.short".to_owned(), 1),
        ]
    );

    // A shorter value replaces all chunks.
    config::set(&mut conn, "cert.long", "short now", Some("text"), None).unwrap();
    assert_eq!(
        raw_config_rows(&mut conn, "linotp.cert.long"),
        vec![(
            "linotp.cert.long".to_owned(),
            "short now".to_owned(),
            Some("text".to_owned()),
            None
        )]
    );

    config::set(&mut conn, "cert.long", &long, None, None).unwrap();
    assert_eq!(config::delete(&mut conn, "cert.long").unwrap(), 3);
    assert!(raw_config_rows(&mut conn, "linotp.cert.long").is_empty());
    assert_eq!(config::delete(&mut conn, "cert.long").unwrap(), 0);
}

fn config_writes_bump_the_change_stamp(db: &TestDb) {
    db.store().migrate().unwrap();
    let mut conn = db.store().connection().unwrap();
    config::set(&mut conn, "Config", "stale", None, None).unwrap();
    assert_eq!(
        config::timestamp(&mut conn).unwrap().as_deref(),
        Some("stale")
    );

    config::set(&mut conn, "DefaultRealm", "realm1", None, Some("None")).unwrap();
    let stamp = config::timestamp(&mut conn).unwrap().unwrap();
    assert_ne!(stamp, "stale");
    // str(datetime.now()): "2026-11-26 10:11:13.425323" (fraction omitted at .000000)
    let parsed = NaiveDateTime::parse_from_str(&stamp, "%Y-%m-%d %H:%M:%S%.f");
    assert!(parsed.is_ok(), "{stamp}");

    config::set(&mut conn, "Config", "stale", None, None).unwrap();
    assert_eq!(config::delete(&mut conn, "DefaultRealm").unwrap(), 1);
    assert_ne!(
        config::timestamp(&mut conn).unwrap().as_deref(),
        Some("stale")
    );

    let entry = config::get(&mut conn, "linotp.Config").unwrap().unwrap();
    assert_eq!((entry.typ, entry.description), (None, None));
}

fn challenges_lifecycle(db: &TestDb) {
    db.store().migrate().unwrap();
    let mut conn = db.store().connection().unwrap();
    let binary = vec![0u8, 159, 255, 10, 13];
    let first = challenges::insert(
        &mut conn,
        &challenges::Challenge {
            transid: "123456789012".into(),
            tokenserial: "SMS1".into(),
            bdata: Some(binary.clone()),
            bchallenge: Some("Your OTP: …".as_bytes().to_vec()),
            session: "{\"status\": \"open\"}".into(),
            timestamp: Some(at(10, 0, 0)),
            ..Default::default()
        },
    )
    .unwrap();
    for (suffix, minute) in [("01", 5), ("02", 10)] {
        challenges::insert(
            &mut conn,
            &challenges::Challenge {
                transid: format!("999999999999.{suffix}"),
                ptransid: "999999999999".into(),
                tokenserial: "PUSH1".into(),
                timestamp: Some(at(10, minute, 0)),
                ..Default::default()
            },
        )
        .unwrap();
    }
    assert!(
        challenges::insert(&mut conn, &first)
            .unwrap_err()
            .is_duplicate()
    );

    let read = challenges::get_by_transid(&mut conn, "123456789012")
        .unwrap()
        .unwrap();
    assert_eq!(read, first);
    assert_eq!(read.bdata.as_deref(), Some(binary.as_slice()));

    let family = challenges::find_by_transid_prefix(&mut conn, "999999999999").unwrap();
    assert_eq!(family.len(), 2);
    assert!(
        challenges::find_by_transid_prefix(&mut conn, "99999999999_")
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        challenges::find_by_serial(&mut conn, "SMS1").unwrap(),
        vec![first.clone()]
    );

    let status = challenges::ChallengeStatus {
        session: "{\"status\": \"closed\", \"accept\": true}".into(),
        received_count: 1,
        received_tan: true,
        valid_tan: true,
    };
    assert!(challenges::update_status(&mut conn, "123456789012", &status).unwrap());
    assert!(!challenges::update_status(&mut conn, "nope", &status).unwrap());
    let closed = challenges::get_by_transid(&mut conn, "123456789012")
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            closed.session.as_str(),
            closed.received_count,
            closed.received_tan,
            closed.valid_tan
        ),
        (status.session.as_str(), 1, true, true)
    );

    assert_eq!(
        challenges::delete_created_before(&mut conn, at(10, 7, 0)).unwrap(),
        2
    );
    let left: Vec<String> = challenges::find_by_transid_prefix(&mut conn, "")
        .unwrap()
        .into_iter()
        .map(|c| c.transid)
        .collect();
    assert_eq!(left, vec!["999999999999.02"]);
    assert!(challenges::delete_by_transid(&mut conn, "999999999999.02").unwrap());
    assert_eq!(challenges::delete_by_serial(&mut conn, "PUSH1").unwrap(), 0);
}

fn imported_users_and_local_admins(db: &TestDb) {
    db.store().migrate().unwrap();
    let mut conn = db.store().connection().unwrap();
    let alice = ImportedUser {
        groupid: "fixres".into(),
        userid: "1001".into(),
        username: "alice".into(),
        email: "alice@example.com".into(),
        surname: "Alice".into(),
        givenname: "Fixture".into(),
        phone: "+49111".into(),
        mobile: "+49123".into(),
        password: "$6$rounds=656000$salt$hash".into(),
    };
    users::insert(&mut conn, &alice).unwrap();
    assert!(users::insert(&mut conn, &alice).unwrap_err().is_duplicate());
    assert_eq!(
        users::get(&mut conn, "fixres", "1001").unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        users::get_by_username(&mut conn, "fixres", "alice").unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        users::get_by_username(&mut conn, "other", "alice").unwrap(),
        None
    );
    assert!(!format!("{alice:?}").contains("$6$"));

    let moved = ImportedUser {
        email: "new@example.com".into(),
        ..alice.clone()
    };
    users::upsert(&mut conn, &moved).unwrap();
    assert_eq!(
        users::get(&mut conn, "fixres", "1001")
            .unwrap()
            .unwrap()
            .email,
        "new@example.com"
    );

    let bob = ImportedUser {
        userid: "1002".into(),
        username: "bob".into(),
        ..alice.clone()
    };
    let carol = ImportedUser {
        userid: "1003".into(),
        username: "carol".into(),
        ..alice.clone()
    };
    users::replace_group(&mut conn, "fixres", &[carol.clone(), bob.clone()]).unwrap();
    let names: Vec<String> = users::list_group(&mut conn, "fixres")
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, vec!["bob", "carol"]);

    let admins = LocalAdmins::default();
    admins
        .add(
            &mut conn,
            "admin",
            "$6$first",
            &AdminDetails {
                givenname: "Ada".into(),
                ..Default::default()
            },
        )
        .unwrap();
    admins
        .add(&mut conn, "zed", "*", &AdminDetails::default())
        .unwrap();
    let duplicate = admins
        .add(&mut conn, "admin", "$6$x", &AdminDetails::default())
        .unwrap_err();
    assert!(matches!(&duplicate, StoreError::Duplicate { key, .. } if key == "admin"));
    // Order follows the database collation (case-insensitive on MySQL), so compare sorted.
    let mut groups = users::list_groups(&mut conn).unwrap();
    groups.sort();
    assert_eq!(groups, vec!["LinOTP_local_admins", "fixres"]);
    let listed: Vec<String> = admins
        .list(&mut conn)
        .unwrap()
        .into_iter()
        .map(|a| a.username)
        .collect();
    assert_eq!(listed, vec!["admin", "zed"]);
    let admin = admins.get(&mut conn, "admin").unwrap().unwrap();
    assert_eq!(
        (admin.userid.as_str(), admin.givenname.as_str()),
        ("admin", "Ada")
    );

    admins
        .set_password_hash(&mut conn, "admin", "$6$second")
        .unwrap();
    admins.disable(&mut conn, "admin").unwrap();
    admins.disable(&mut conn, "admin").unwrap();
    let disabled = admins.get(&mut conn, "admin").unwrap().unwrap();
    assert_eq!(disabled.password, "!$6$second");
    assert!(!LocalAdmins::is_enabled(&disabled));
    admins.enable(&mut conn, "admin").unwrap();
    let enabled = admins.get(&mut conn, "admin").unwrap().unwrap();
    assert_eq!(enabled.password, "$6$second");
    assert!(LocalAdmins::is_enabled(&enabled));

    admins
        .update_details(
            &mut conn,
            "admin",
            &AdminDetails {
                email: "a@x".into(),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        admins.get(&mut conn, "admin").unwrap().unwrap().email,
        "a@x"
    );
    assert!(matches!(
        admins.set_password_hash(&mut conn, "ghost", "x"),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        admins.disable(&mut conn, "ghost"),
        Err(StoreError::NotFound { .. })
    ));
    assert!(admins.remove(&mut conn, "zed").unwrap());
    assert!(!admins.remove(&mut conn, "zed").unwrap());
    assert_eq!(users::delete_group(&mut conn, "fixres").unwrap(), 2);
    assert!(!users::delete(&mut conn, "fixres", "1001").unwrap());
}

fn audit_entry(action: &str, serial: &str, success: &str) -> audit::NewAuditEntry {
    audit::NewAuditEntry {
        timestamp: "2026-11-26T10:11:12.839+00:00".into(),
        action: action.into(),
        success: success.into(),
        serial: serial.into(),
        tokentype: "HMAC".into(),
        user: "alice".into(),
        realm: "fixrealm".into(),
        linotp_server: "node1".into(),
        client: "127.0.0.1".into(),
        log_level: "INFO".into(),
        ..Default::default()
    }
}

fn audit_insert_search_and_cleanup(db: &TestDb) {
    db.store().migrate().unwrap();
    let mut conn = db.store().connection().unwrap();
    assert_eq!(audit::max_id(&mut conn).unwrap(), None);
    let batch: Vec<audit::NewAuditEntry> = (0..12)
        .map(|i| {
            audit_entry(
                if i % 3 == 0 {
                    "admin/show"
                } else {
                    "validate/check"
                },
                &format!("S{i:02}"),
                if i % 2 == 0 { "1" } else { "0" },
            )
        })
        .collect();
    let mut signed_ids = Vec::new();
    let stored = audit::insert_batch(&mut conn, &batch, |row| {
        signed_ids.push(row.id);
        format!("sig-{}-{}", row.id, row.serial.as_deref().unwrap_or(""))
    })
    .unwrap();
    assert_eq!(stored.len(), 12);
    let ids: Vec<i32> = stored.iter().map(|r| r.id).collect();
    assert_eq!(signed_ids, ids, "the signer sees each row's final id");
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let first = audit::get(&mut conn, ids[0]).unwrap().unwrap();
    assert_eq!(first, stored[0]);
    assert_eq!(
        first.signature.as_deref(),
        Some(format!("sig-{}-S00", ids[0]).as_str())
    );
    assert_eq!(audit::max_id(&mut conn).unwrap(), Some(ids[11]));
    assert_eq!(audit::count(&mut conn).unwrap(), 12);

    let failed_checks = audit::AuditQuery {
        conditions: vec![
            (audit::AuditColumn::Action, "validate/%".into()),
            (audit::AuditColumn::Success, "0".into()),
            (audit::AuditColumn::Realm, "".into()),
        ],
        sort: audit::AuditColumn::Serial,
        descending: true,
        page: Some((1, 3)),
        ..Default::default()
    };
    let (rows, total) = audit::search(&mut conn, &failed_checks).unwrap();
    // validate/check & success 0: i in {1, 5, 7, 11}.
    assert_eq!(total, 4);
    let serials: Vec<String> = rows.iter().map(|r| r.serial.clone().unwrap()).collect();
    assert_eq!(serials, vec!["S11", "S07", "S05"]);

    let either = audit::AuditQuery {
        conditions: vec![
            (audit::AuditColumn::Serial, "S01".into()),
            (audit::AuditColumn::Id, ids[2].to_string()),
        ],
        match_any: true,
        ..Default::default()
    };
    let (rows, total) = audit::search(&mut conn, &either).unwrap();
    assert_eq!(total, 2);
    assert_eq!(
        rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ids[1], ids[2]]
    );

    let not_a_number = audit::AuditQuery {
        conditions: vec![(audit::AuditColumn::Id, "abc".into())],
        ..Default::default()
    };
    assert_eq!(audit::search(&mut conn, &not_a_number).unwrap().1, 0);

    assert_eq!(audit::delete_below(&mut conn, ids[5]).unwrap(), 5);
    assert_eq!(audit::count(&mut conn).unwrap(), 7);
}

#[test]
fn audit_values_are_truncated_like_linotp() {
    let mut entry = audit_entry("validate/check", "S", "1");
    entry.info = "x".repeat(600);
    entry.serial = "ü".repeat(30);
    assert_eq!(entry.overlong_columns(), vec!["info"]);
    assert_eq!(entry.truncate_to_columns(), vec!["info"]);
    assert_eq!(entry.info.chars().count(), 512);
    assert!(entry.info.ends_with("x…"));
    assert!(entry.overlong_columns().is_empty());
}

fn jwt_blocklist_blocks_until_purged(db: &TestDb) {
    db.store().migrate().unwrap();
    let mut conn = db.store().connection().unwrap();
    jwt_blocklist::insert(&mut conn, "a", at(10, 0, 0)).unwrap();
    jwt_blocklist::insert(&mut conn, "b", at(12, 0, 0)).unwrap();
    jwt_blocklist::insert(&mut conn, "a", at(9, 0, 0)).unwrap();
    assert!(jwt_blocklist::contains(&mut conn, "a").unwrap());
    assert!(!jwt_blocklist::contains(&mut conn, "c").unwrap());
    assert_eq!(
        jwt_blocklist::purge_expired(&mut conn, at(11, 0, 0)).unwrap(),
        1
    );
    assert!(!jwt_blocklist::contains(&mut conn, "a").unwrap());
    assert!(jwt_blocklist::contains(&mut conn, "b").unwrap());
    // Re-blocking extends the expiry.
    jwt_blocklist::insert(&mut conn, "b", at(14, 0, 0)).unwrap();
    assert_eq!(
        jwt_blocklist::purge_expired(&mut conn, at(13, 0, 0)).unwrap(),
        0
    );
    assert!(jwt_blocklist::contains(&mut conn, "b").unwrap());
}

on_every_backend!(
    tokens_round_trip_every_column,
    tokens_are_found_by_user_and_realm,
    deleting_a_token_removes_its_links_and_challenges,
    listing_filters_sorts_and_pages,
    counter_commit_is_compare_and_set,
    realms_lifecycle,
    config_splits_long_values_like_linotp,
    config_writes_bump_the_change_stamp,
    challenges_lifecycle,
    imported_users_and_local_admins,
    audit_insert_search_and_cleanup,
    jwt_blocklist_blocks_until_purged,
);
