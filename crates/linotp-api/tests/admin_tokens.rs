//! Token management as an admin client does it: enable/disable, remove, assign/unassign,
//! reset, realms, PIN and owner copies, lost tokens, unpair and every `/admin/set` setting,
//! with LinOTP's replies, errors and audit rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_support;

use admin_support::{Admin, RFC4226_HEX, RFC4226_OTPS};
use linotp_crypto::token_secrets;
use serde_json::json;

async fn with_users() -> Admin {
    let admin = Admin::new();
    admin.import_users("res1", "realm1", &[("alice", "u1"), ("bob", "u2")]);
    admin
}

async fn init_for(admin: &Admin, serial: &str, user: &str) {
    admin
        .init_for_user(serial, user, "realm1", &[("pin", "1234")])
        .await;
}

#[tokio::test]
async fn enable_and_disable_by_serial_and_by_user() {
    let mut admin = with_users().await;
    init_for(&admin, "A1", "alice").await;
    init_for(&admin, "A2", "alice").await;
    init_for(&admin, "B1", "bob").await;
    admin.audit_events();

    let reply = admin
        .post("/admin/disable", &[("user", "alice"), ("realm", "realm1")])
        .await;
    assert_eq!(reply.value(), 2);
    assert!(!admin.token("A1").is_active && !admin.token("A2").is_active);
    assert!(admin.token("B1").is_active);
    let events = admin.audit_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].serial, "A1 A2");
    assert_eq!(events[0].user, "alice");
    assert_eq!(events[0].realm, "realm1, realm1");
    assert_eq!(events[0].action_detail, "tokennum = 1");

    let reply = admin.post("/admin/enable", &[("serial", "A1")]).await;
    assert_eq!(reply.value(), 1);
    assert!(admin.token("A1").is_active);
    let reply = admin
        .post("/admin/enable", &[("user", "alice@realm1")])
        .await;
    assert_eq!(reply.value(), 2);

    let reply = admin.post("/admin/disable", &[("serial", "NOPE")]).await;
    assert_eq!(reply.value(), 0);
    assert_eq!(
        reply.detail(),
        json!({"message": "No token with serial NOPE"})
    );
    let reply = admin
        .post("/admin/disable", &[("user", "carol"), ("realm", "realm1")])
        .await;
    assert_eq!(
        reply.detail(),
        json!({"message": "No tokens for this user"})
    );
    let reply = admin.post("/admin/enable", &[("serial", "NOPE")]).await;
    assert_eq!(
        reply.error(),
        (1102, "ERR1102: No token with serial NOPE found".to_owned())
    );
    let reply = admin.post("/admin/enable", &[]).await;
    assert_eq!(
        reply.error(),
        (1102, "ERR1102: No token with serial None found".to_owned())
    );
}

#[tokio::test]
async fn remove_by_serials_and_by_user() {
    let admin = with_users().await;
    init_for(&admin, "A1", "alice").await;
    init_for(&admin, "A2", "alice").await;
    init_for(&admin, "B1", "bob").await;
    admin.init_hotp("N1", "").await;
    admin.init_hotp("N2", "").await;

    let reply = admin
        .post("/admin/remove", &[("serial[]", "N1"), ("serial[]", "N2")])
        .await;
    assert_eq!(reply.value(), 2);
    assert!(!admin.has_token("N1") && !admin.has_token("N2"));

    let reply = admin
        .post("/admin/remove", &[("user", "alice"), ("realm", "realm1")])
        .await;
    assert_eq!(reply.value(), 2);
    assert!(!admin.has_token("A1") && !admin.has_token("A2"));
    assert!(admin.has_token("B1"));

    let reply = admin
        .post("/admin/remove", &[("user", "alice"), ("realm", "realm1")])
        .await;
    assert_eq!(reply.value(), 0);
    assert_eq!(
        reply.detail(),
        json!({"message": "No tokens for this user 'alice'"})
    );
    let reply = admin.post("/admin/remove", &[]).await;
    assert_eq!(
        reply.error(),
        (905, "ERR905: missing parameter user or serial!".to_owned())
    );
}

#[tokio::test]
async fn assign_moves_the_token_to_the_user_and_unassign_frees_it() {
    let mut admin = with_users().await;
    admin.init_hotp("T1", "old").await;
    admin
        .post(
            "/admin/init",
            &[("serial", "T2"), ("genkey", "1"), ("pin", "old")],
        )
        .await;
    admin.update_token("T1", |token| token.fail_count = 4);
    admin.audit_events();

    let reply = admin
        .post(
            "/admin/assign",
            &[
                ("serial[]", "T1"),
                ("serial[]", "T2"),
                ("user", "bob"),
                ("realm", "realm1"),
                ("pin", "new"),
            ],
        )
        .await;
    assert_eq!(reply.value(), true);
    assert_eq!(
        reply.id(),
        2,
        "LinOTP puts the number of serials into the id"
    );
    let token = admin.token("T1");
    assert_eq!((token.user_id.as_str(), token.fail_count), ("u2", 0));
    assert_eq!(admin.realms_of("T1"), ["realm1"]);
    assert!(admin.pin_matches("T2", "new"));
    let check = admin
        .post(
            "/validate/check",
            &[
                ("user", "bob@realm1"),
                ("pass", &format!("new{}", RFC4226_OTPS[0])),
            ],
        )
        .await;
    assert_eq!(check.value(), true);
    let events = admin.audit_events();
    assert_eq!(events[0].user, "bob");
    assert_eq!(events[0].serial, "T1 T2");

    let unknown = admin
        .post(
            "/admin/assign",
            &[("serial", "T1"), ("user", "mallory"), ("realm", "realm1")],
        )
        .await;
    assert_eq!(unknown.error().0, 1112);
    assert_eq!(unknown.id(), 0);
    assert_eq!(
        admin.token("T1").user_id,
        "u2",
        "a failed assign changes nothing"
    );

    let reply = admin.post("/admin/unassign", &[("serial", "T1")]).await;
    assert_eq!(reply.value(), true);
    let token = admin.token("T1");
    assert!(token.user_id.is_empty() && token.id_res_class.is_empty());
    let missing = admin.post("/admin/unassign", &[]).await;
    assert_eq!(
        missing.error(),
        (905, "ERR905: Missing parameter: 'serial'".to_owned())
    );
}

#[tokio::test]
async fn reset_clears_fail_counters() {
    let admin = with_users().await;
    init_for(&admin, "A1", "alice").await;
    init_for(&admin, "A2", "alice").await;
    for serial in ["A1", "A2"] {
        admin.update_token(serial, |token| token.fail_count = 9);
    }
    let reply = admin
        .post("/admin/reset", &[("user", "alice@realm1")])
        .await;
    assert_eq!(reply.value(), 2);
    assert_eq!(admin.token("A1").fail_count, 0);
    assert_eq!(admin.token("A2").fail_count, 0);
}

#[tokio::test]
async fn tokenrealm_links_existing_realms_only() {
    let admin = with_users().await;
    admin.import_users("res2", "realm2", &[]);
    admin.init_hotp("T1", "").await;
    let reply = admin
        .post(
            "/admin/tokenrealm",
            &[("serial", "T1"), ("realms", "realm1, Realm2,nosuch")],
        )
        .await;
    assert_eq!(reply.value(), 1);
    assert_eq!(admin.realms_of("T1"), ["realm1", "realm2"]);
    admin
        .post("/admin/tokenrealm", &[("serial", "T1"), ("realms", "")])
        .await;
    assert!(admin.realms_of("T1").is_empty());
    let missing = admin.post("/admin/tokenrealm", &[("serial", "T1")]).await;
    assert_eq!(
        missing.error(),
        (905, "ERR905: Missing parameter: 'realms'".to_owned())
    );
}

#[tokio::test]
async fn pins_and_owners_are_copied_between_tokens() {
    let admin = with_users().await;
    init_for(&admin, "SRC", "alice").await;
    admin.init_hotp("DST", "other").await;
    let reply = admin
        .post("/admin/copyTokenPin", &[("from", "SRC"), ("to", "DST")])
        .await;
    assert_eq!(reply.value(), true);
    assert!(admin.pin_matches("DST", "1234"));

    let reply = admin
        .post("/admin/copyTokenUser", &[("from", "SRC"), ("to", "DST")])
        .await;
    assert_eq!(reply.value(), true);
    let token = admin.token("DST");
    assert_eq!(token.user_id, "u1");
    assert_eq!(
        token.id_res_class,
        "useridresolver.SQLIdResolver.IdResolver.res1"
    );
    assert_eq!(admin.realms_of("DST"), ["realm1"]);

    let reply = admin
        .post("/admin/copyTokenUser", &[("from", "NOPE"), ("to", "DST")])
        .await;
    assert_eq!(
        reply.error(),
        (1102, "ERR1102: No token with serial NOPE found".to_owned())
    );
    let reply = admin.post("/admin/copyTokenPin", &[("from", "SRC")]).await;
    assert_eq!(
        reply.error(),
        (905, "ERR905: Missing parameter: 'to'".to_owned())
    );
}

#[tokio::test]
async fn a_lost_token_gets_a_temporary_password_token() {
    let admin = with_users().await;
    init_for(&admin, "LOST", "alice").await;
    let reply = admin.post("/admin/losttoken", &[("serial", "LOST")]).await;
    let value = reply.value();
    let password = value["password"].as_str().unwrap().to_owned();
    assert_eq!(password.len(), 10);
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
    let keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "serial",
            "init",
            "user",
            "pin",
            "valid_to",
            "password",
            "end_date",
            "token_typ",
            "disable"
        ]
    );
    assert_eq!(value["serial"], "lostLOST");
    assert_eq!(value["valid_to"], "xxxx");
    let end_date = value["end_date"].as_str().unwrap();
    assert!(end_date.ends_with(" 23:59"), "{end_date}");

    assert!(!admin.token("LOST").is_active);
    let replacement = admin.token("lostLOST");
    assert_eq!(replacement.token_type, "pw");
    assert_eq!(replacement.description, "temporary replacement for LOST");
    assert_eq!(replacement.user_id, "u1");
    assert_eq!(admin.realms_of("lostLOST"), ["realm1"]);
    assert_eq!(
        replacement.token_info,
        format!("{{\n\"validity_period_end\": \"{end_date}\"\n}}")
    );
    // The owner logs in with the old PIN and the temporary password.
    let check = admin
        .post(
            "/validate/check",
            &[
                ("user", "alice@realm1"),
                ("pass", &format!("1234{password}")),
            ],
        )
        .await;
    assert_eq!(check.value(), true, "{}", check.text());

    admin.init_hotp("FREE", "").await;
    let reply = admin.post("/admin/losttoken", &[("serial", "FREE")]).await;
    assert_eq!(
        reply.error(),
        (
            -311,
            "You can only define a lost token for an assigned token.".to_owned()
        )
    );
    let reply = admin.post("/admin/losttoken", &[]).await;
    assert_eq!(reply.error(), (-311, "'serial'".to_owned()));
}

#[tokio::test]
async fn unpair_answers_status_false_for_tokens_without_pairing() {
    let admin = Admin::new();
    admin.init_hotp("H1", "").await;
    for params in [&[("serial", "H1")][..], &[("serial", "NOPE")][..]] {
        let reply = admin.post("/admin/unpair", params).await;
        assert_eq!(
            reply.json()["result"],
            json!({"status": false, "value": false}),
            "{params:?}"
        );
        assert_eq!(reply.id(), 0);
    }
}

#[tokio::test]
async fn set_changes_every_setting_it_names() {
    let admin = Admin::new();
    admin.init_hotp("S1", "").await;
    let reply = admin
        .post(
            "/admin/set",
            &[
                ("serial", "S1"),
                ("PIN", "5678"),
                ("maxfailcount", "3"),
                ("SyncWindow", "50"),
                ("Description", "renamed"),
                ("CounterWindow", "5"),
                ("OtpLen", "8"),
                ("hashlib", "sha256"),
                ("timeWindow", "120"),
                ("timeShift", "-30"),
                ("countAuth", "1"),
                ("countAuthMax", "10"),
                ("countAuthSuccess", "2"),
                ("countAuthSuccessMax", "5"),
                ("validityPeriodStart", "01/01/25 00:00"),
                ("validityPeriodEnd", "31/12/35 23:59"),
                ("phone", "+49 1"),
            ],
        )
        .await;
    let value = reply.value();
    let keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "set pin",
            "set MaxFailCount",
            "set SyncWindow",
            "set description",
            "set CounterWindow",
            "set OtpLen",
            "set hashlib",
            "set timeWindow",
            "set timeShift",
            "set countAuth",
            "set countAuthMax",
            "set countAuthSuccess",
            "set countAuthSuccessMax",
            "set validityPeriodStart",
            "set validityPeriodEnd",
            "set phone",
        ]
    );
    assert!(value.as_object().unwrap().values().all(|count| *count == 1));
    let token = admin.token("S1");
    assert!(admin.pin_matches("S1", "5678"));
    assert_eq!(
        (
            token.max_fail,
            token.sync_window,
            token.count_window,
            token.otp_len
        ),
        (3, 50, 5, 8)
    );
    assert_eq!(token.description, "renamed");
    assert_eq!(
        token.token_info,
        "{\n\"hashlib\": \"sha256\",\n\"timeWindow\": 120,\n\"timeShift\": -30,\n\"count_auth\": 1,\n\
         \"count_auth_max\": 10,\n\"count_auth_success\": 2,\n\"count_auth_success_max\": 5,\n\
         \"validity_period_start\": \"01/01/25 00:00\",\n\"validity_period_end\": \"31/12/35 23:59\",\n\
         \"phone\": \"+49 1\"\n}"
    );
}

#[tokio::test]
async fn set_reports_linotps_errors() {
    let admin = Admin::new();
    admin.init_hotp("S1", "").await;
    admin
        .post(
            "/admin/init",
            &[("type", "totp"), ("serial", "T1"), ("otpkey", RFC4226_HEX)],
        )
        .await;
    admin.update_token("T1", |token| token.count = 60_000_000);

    let reply = admin
        .post("/admin/set", &[("serial", "T1"), ("timeStep", "60")])
        .await;
    assert_eq!(reply.value(), json!({"set timeStep": 1}));
    let token = admin.token("T1");
    assert_eq!(token.count, 30_000_000, "the counter follows the new step");
    assert!(token.token_info.contains("\"timeStep\": 60"));

    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("serial", "T1"), ("timeStep", "45")],
            "[set] setting timeStep failed: ValueError(:timeStep for totp token must be either 30 or 60!:)",
        ),
        (
            &[("serial", "S1"), ("OtpLen", "six")],
            "[set] setting OtpLen failed: ValueError(|invalid literal for int() with base 10: :six:|)",
        ),
        (
            &[("serial", "S1"), ("validityPeriodEnd", "2035-12-31")],
            "[set] setting validityPeriodEnd failed: ValueError(|time data :2035-12-31: does not match format :%d/%m/%y %H:%M:|)",
        ),
        (
            &[("timeStep", "30")],
            "[set] setting timeStep failed: TokenAdminError(description=:No token with serial None found:, id=1102)",
        ),
    ];
    for (params, message) in cases {
        let reply = admin.post("/admin/set", params).await;
        assert_eq!(reply.error(), (-311, message.to_owned()), "{params:?}");
    }
    let usage = admin.post("/admin/set", &[("serial", "S1")]).await;
    let (code, message) = usage.error();
    assert_eq!(code, 77);
    assert!(
        message.starts_with("ERR77: Usage: set: parameters are        pin        MaxFailCount")
    );
    // A failed set leaves the token as it was.
    let failed = admin
        .post(
            "/admin/set",
            &[("serial", "S1"), ("MaxFailCount", "4"), ("OtpLen", "x")],
        )
        .await;
    assert_eq!(failed.error().0, -311);
    assert_eq!(admin.token("S1").max_fail, 10);
}

#[tokio::test]
async fn set_pin_changes_the_motp_device_pin_only() {
    let admin = Admin::new();
    admin
        .post(
            "/admin/init",
            &[
                ("type", "motp"),
                ("serial", "M1"),
                ("otpkey", "1234567890123456"),
                ("otppin", "1111"),
            ],
        )
        .await;
    admin.init_hotp("H1", "").await;
    let reply = admin
        .post("/admin/setPin", &[("SERIAL", "M1"), ("UserPin", "2222")])
        .await;
    assert_eq!(reply.value(), json!({"set userpin": 1}));
    let token = admin.token("M1");
    let device_pin = token_secrets::decrypt_user_pin(
        admin.app.state.security.as_ref(),
        &token.pin_user,
        &token.pin_user_iv,
    )
    .unwrap();
    assert_eq!(device_pin.expose(), "2222");

    let reply = admin
        .post("/admin/setPin", &[("serial", "H1"), ("userpin", "3")])
        .await;
    assert_eq!(
        reply.error(),
        (
            -311,
            "This type of pin cannot be set for a HMAC token.".to_owned()
        )
    );
    assert_eq!(reply.id(), 0);
    let reply = admin.post("/admin/setPin", &[("serial", "M1")]).await;
    assert_eq!(
        reply.error(),
        (905, "ERR905: Missing parameter: 'userpin'".to_owned())
    );
    assert_eq!(reply.id(), 0);
}

#[tokio::test]
async fn set_validity_limits_many_tokens() {
    let admin = Admin::new();
    admin.init_hotp("V1", "").await;
    admin.init_hotp("V2", "").await;
    let reply = admin
        .post(
            "/admin/setValidity",
            &[
                ("tokens[]", "V1"),
                ("tokens[]", "V2"),
                ("countAuthMax", "5"),
                ("countAuthSuccessMax", "3"),
                ("validityPeriodStart", "1735689600"),
                ("validityPeriodEnd", "2082758340"),
            ],
        )
        .await;
    assert_eq!(reply.value(), json!(["V1", "V2"]));
    assert_eq!(
        admin.token("V2").token_info,
        "{\n\"hashlib\": \"sha1\",\n\"count_auth_max\": 5,\n\"count_auth_success_max\": 3,\n\
         \"validity_period_start\": \"01/01/25 00:00\",\n\"validity_period_end\": \"31/12/35 23:59\"\n}"
    );
    admin
        .post(
            "/admin/setValidity",
            &[
                ("tokens[]", "V1"),
                ("countAuthMax", "unlimited"),
                ("validityPeriodEnd", "unlimited"),
            ],
        )
        .await;
    assert_eq!(
        admin.token("V1").token_info,
        "{\n\"hashlib\": \"sha1\",\n\"count_auth_success_max\": 3,\n\"validity_period_start\": \"01/01/25 00:00\"\n}"
    );
    let reply = admin
        .post("/admin/setValidity", &[("countAuthMax", "5")])
        .await;
    assert_eq!(
        reply.error(),
        (905, "ERR905: missing parameter: tokens[]".to_owned())
    );
    assert_eq!(reply.id(), 0);
}

#[tokio::test]
async fn every_admin_request_writes_exactly_one_audit_event() {
    let mut admin = Admin::new();
    admin.init_hotp("E1", "").await;
    admin.audit_events();
    let requests: [(&str, &[(&str, &str)]); 8] = [
        ("/admin/show", &[]),
        ("/admin/disable", &[("serial", "E1")]),
        ("/admin/enable", &[("serial", "E1")]),
        ("/admin/set", &[("serial", "E1"), ("description", "x")]),
        ("/admin/reset", &[("serial", "E1")]),
        ("/admin/remove", &[("serial", "NOPE")]),
        ("/admin/check_serial", &[("serial", "E1")]),
        ("/admin/remove", &[("serial", "E1")]),
    ];
    for (path, params) in requests {
        admin.post(path, params).await;
        let events = admin.audit_events();
        assert_eq!(events.len(), 1, "{path}");
        assert_eq!(format!("/{}", events[0].action), path);
        assert_eq!(
            events[0].administrator,
            "admin@linotp_admins (LinOTP_local_admins)"
        );
    }
}
