//! `/validate/check`, `check_s`, `simplecheck`, `samlcheck`, `check_t`, `check_status` over
//! HTTP, in-process, on a real SQLite database: what PAM and RADIUS clients rely on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod validate_common;

use std::sync::Arc;

use axum::http::Method;
use linotp_api::auth::ManualClock;
use linotp_api::test_app::TestApp;
use linotp_core::{CalendarDate, HashAlgorithm, hotp, motp, totp};
use linotp_crypto::token_secrets;
use serde_json::json;
use validate_common::{
    NewToken, RFC4226_OTPS, assign, audited, check, conn, import_users, insert_token, json, post,
    send, set_config, set_default_realm, token, update_token, value,
};

const CHECK: &str = "/validate/check";
const CHECK_S: &str = "/validate/check_s";
/// 2025-06-15 12:00:00 UTC, a time for the manual clock.
const NOON: i64 = 1_749_988_800;

fn people() -> [(&'static str, &'static str, &'static str); 3] {
    [
        ("alice", "uid1", "AlicePw1!"),
        ("bob", "uid2", "BobPw2!"),
        ("carol", "uid3", "CarolPw3!"),
    ]
}

/// Users alice, bob, carol in the default realm `gldrealm`; alice owns HOTP token `HOTP1`
/// (RFC 4226 seed, PIN `pin1`).
fn app_with_alice() -> TestApp {
    app_with_alice_at(None)
}

fn app_with_alice_at(clock: Option<Arc<ManualClock>>) -> TestApp {
    let app = match clock {
        Some(clock) => TestApp::sqlite_with_clock(clock),
        None => TestApp::sqlite(),
    };
    import_users(&app, "GldRes", "gldrealm", &people());
    set_default_realm(&app, "gldrealm");
    insert_token(&app, &NewToken::hotp("HOTP1", "pin1"));
    assign(&app, "HOTP1", "GldRes", "uid1", "gldrealm");
    app
}

async fn check_alice(app: &TestApp, pass: &str) -> bool {
    let router = app.router();
    check(&router, CHECK, &[("user", "alice"), ("pass", pass)]).await
}

#[tokio::test]
async fn hotp_accepts_the_next_otp_once_and_refuses_its_replay() {
    let app = app_with_alice();
    assert!(check_alice(&app, "pin1755224").await);
    assert_eq!(token(&app, "HOTP1").count, 1);
    assert!(!check_alice(&app, "pin1755224").await, "replay accepted");
    assert_eq!(token(&app, "HOTP1").count, 1);
    assert!(check_alice(&app, "pin1287082").await);
    assert_eq!(token(&app, "HOTP1").count, 2);
}

#[tokio::test]
async fn hotp_window_spans_ten_counters_and_skipped_otps_are_spent() {
    let app = app_with_alice();
    let key = b"12345678901234567890";
    let otp10 = hotp(key, 10, 6, HashAlgorithm::Sha1).unwrap();
    assert!(
        !check_alice(&app, &format!("pin1{otp10}")).await,
        "outside the window"
    );
    assert!(check_alice(&app, &format!("pin1{}", RFC4226_OTPS[9])).await);
    assert_eq!(token(&app, "HOTP1").count, 10);
    // Counters before the match are spent too.
    assert!(!check_alice(&app, &format!("pin1{}", RFC4226_OTPS[3])).await);
    assert!(check_alice(&app, &format!("pin1{otp10}")).await);
}

#[tokio::test]
async fn wrong_pin_and_wrong_otp_fail_and_count_failures() {
    let app = app_with_alice();
    assert!(!check_alice(&app, "nope755224").await);
    assert_eq!(token(&app, "HOTP1").fail_count, 1);
    assert!(!check_alice(&app, "pin1000000").await);
    assert_eq!(token(&app, "HOTP1").fail_count, 2);
    assert_eq!(token(&app, "HOTP1").count, 0);
    // A success resets the fail counter.
    assert!(check_alice(&app, "pin1755224").await);
    assert_eq!(token(&app, "HOTP1").fail_count, 0);
}

#[tokio::test]
async fn a_token_at_its_fail_limit_refuses_even_the_right_otp() {
    let app = app_with_alice();
    update_token(&app, "HOTP1", |token| token.max_fail = 3);
    for _ in 0..3 {
        assert!(!check_alice(&app, "pin1000000").await);
    }
    assert_eq!(token(&app, "HOTP1").fail_count, 3);
    assert!(
        !check_alice(&app, "pin1755224").await,
        "locked token accepted"
    );
    let locked = token(&app, "HOTP1");
    assert_eq!((locked.fail_count, locked.count), (4, 0));
    // After an admin reset the same OTP works.
    update_token(&app, "HOTP1", |token| token.fail_count = 0);
    assert!(check_alice(&app, "pin1755224").await);
}

#[tokio::test]
async fn auto_resync_accepts_two_consecutive_otps_beyond_the_window() {
    let app = app_with_alice();
    set_config(&app, "AutoResync", "true");
    let key = b"12345678901234567890";
    let far = |counter| {
        format!(
            "pin1{}",
            hotp(key, counter, 6, HashAlgorithm::Sha1).unwrap()
        )
    };
    assert!(!check_alice(&app, &far(50)).await);
    assert!(token(&app, "HOTP1").token_info.contains("\"otp1c\": 50"));
    assert!(check_alice(&app, &far(51)).await);
    let synced = token(&app, "HOTP1");
    assert_eq!(synced.count, 52);
    assert!(!synced.token_info.contains("otp1c"));
}

fn totp_token(app: &TestApp, serial: &str, pin: &str) {
    insert_token(
        app,
        &NewToken {
            serial,
            token_type: "TOTP",
            seed: b"3132333435363738393031323334353637383930",
            pin,
            otp_len: 6,
            token_info: "{\n\"hashlib\": \"sha1\",\n\"timeStep\": \"30\",\n\"timeShift\": 0.0\n}",
            max_fail: 10,
        },
    );
}

#[tokio::test]
async fn totp_follows_the_clock_refuses_replays_and_learns_drift() {
    let clock = Arc::new(ManualClock::new(NOON));
    let app = app_with_alice_at(Some(clock.clone()));
    totp_token(&app, "TOTP1", "tpin");
    let router = app.router();
    let key = b"12345678901234567890";
    let at = |time: i64| totp(key, time, 30, 6, HashAlgorithm::Sha1).unwrap();

    let now = format!("tpin{}", at(NOON));
    assert!(check(&router, CHECK_S, &[("serial", "TOTP1"), ("pass", &now)]).await);
    assert!(
        !check(&router, CHECK_S, &[("serial", "TOTP1"), ("pass", &now)]).await,
        "replay"
    );

    // The device runs two steps ahead: accepted in the window, drift remembered.
    let ahead = format!("tpin{}", at(NOON + 60));
    assert!(check(&router, CHECK_S, &[("serial", "TOTP1"), ("pass", &ahead)]).await);
    let stored = token(&app, "TOTP1");
    assert!(
        stored.token_info.contains("\"timeShift\": 60.0"),
        "{}",
        stored.token_info
    );
    assert_eq!(i64::from(stored.count), (NOON + 60) / 30 + 1);

    // Half a minute later the device shows the step after that, which now matches.
    clock.advance(30);
    let later = format!("tpin{}", at(NOON + 90));
    assert!(check(&router, CHECK_S, &[("serial", "TOTP1"), ("pass", &later)]).await);
    // An OTP of a step before the last accepted one is refused although it is in the window.
    let earlier = format!("tpin{}", at(NOON + 30));
    assert!(!check(&router, CHECK_S, &[("serial", "TOTP1"), ("pass", &earlier)]).await);
}

#[tokio::test]
async fn motp_uses_the_device_pin_and_ten_second_steps() {
    let clock = Arc::new(ManualClock::new(NOON));
    let app = TestApp::sqlite_with_clock(clock.clone());
    let secret = "0123456789abcdef";
    insert_token(
        &app,
        &NewToken {
            serial: "MOTP1",
            token_type: "mOTP",
            seed: secret.as_bytes(),
            pin: "motppin",
            otp_len: 6,
            token_info: "",
            max_fail: 10,
        },
    );
    let user_pin = token_secrets::encrypt_user_pin(app.state.security.as_ref(), "1234").unwrap();
    update_token(&app, "MOTP1", |token| {
        token.pin_user = user_pin.pin_user.clone();
        token.pin_user_iv = user_pin.pin_user_iv.clone();
    });
    let router = app.router();
    let pass_at = |time: i64| format!("motppin{}", motp(secret.as_bytes(), b"1234", time / 10, 6));

    assert!(
        check(
            &router,
            CHECK_S,
            &[("serial", "MOTP1"), ("pass", &pass_at(NOON))]
        )
        .await
    );
    assert_eq!(i64::from(token(&app, "MOTP1").count), NOON / 10);
    assert!(
        !check(
            &router,
            CHECK_S,
            &[("serial", "MOTP1"), ("pass", &pass_at(NOON))]
        )
        .await
    );
    clock.advance(10);
    assert!(
        check(
            &router,
            CHECK_S,
            &[("serial", "MOTP1"), ("pass", &pass_at(NOON + 10))]
        )
        .await
    );
    let wrong_device_pin = format!(
        "motppin{}",
        motp(secret.as_bytes(), b"9999", NOON / 10 + 2, 6)
    );
    clock.advance(10);
    assert!(
        !check(
            &router,
            CHECK_S,
            &[("serial", "MOTP1"), ("pass", &wrong_device_pin)]
        )
        .await
    );
}

#[tokio::test]
async fn spass_accepts_its_pin_repeatedly() {
    let app = TestApp::sqlite();
    insert_token(
        &app,
        &NewToken {
            serial: "SPASS1",
            token_type: "spass",
            seed: b"5350415353",
            pin: "spasspin",
            otp_len: 6,
            token_info: "",
            max_fail: 10,
        },
    );
    let router = app.router();
    for _ in 0..3 {
        assert!(
            check(
                &router,
                CHECK_S,
                &[("serial", "SPASS1"), ("pass", "spasspin")]
            )
            .await
        );
    }
    assert!(
        !check(
            &router,
            CHECK_S,
            &[("serial", "SPASS1"), ("pass", "spasspi")]
        )
        .await
    );
    assert_eq!(token(&app, "SPASS1").fail_count, 1);
}

#[tokio::test]
async fn pw_token_checks_pin_and_password() {
    let app = TestApp::sqlite();
    insert_token(
        &app,
        &NewToken {
            serial: "PW1",
            token_type: "pw",
            seed: b"pwsecret",
            pin: "pwpin",
            otp_len: 8,
            token_info: "",
            max_fail: 10,
        },
    );
    let router = app.router();
    assert!(
        check(
            &router,
            CHECK_S,
            &[("serial", "PW1"), ("pass", "pwpinpwsecret")]
        )
        .await
    );
    assert!(
        check(
            &router,
            CHECK_S,
            &[("serial", "PW1"), ("pass", "pwpinpwsecret")]
        )
        .await
    );
    assert!(
        !check(
            &router,
            CHECK_S,
            &[("serial", "PW1"), ("pass", "pwpinpwsecreT")]
        )
        .await
    );
    assert!(
        !check(
            &router,
            CHECK_S,
            &[("serial", "PW1"), ("pass", "xxxxxpwsecret")]
        )
        .await
    );
}

#[tokio::test]
async fn day_password_is_valid_for_the_local_day() {
    let clock = Arc::new(ManualClock::new(NOON));
    let app = TestApp::sqlite_with_clock(clock.clone());
    let secret = b"dpw-secret-1234";
    insert_token(
        &app,
        &NewToken {
            serial: "DPW1",
            token_type: "DPW",
            seed: secret,
            pin: "",
            otp_len: 6,
            token_info: "",
            max_fail: 10,
        },
    );
    use chrono::{Local, Offset, TimeZone};
    let offset = i64::from(
        Local
            .timestamp_opt(NOON, 0)
            .unwrap()
            .offset()
            .fix()
            .local_minus_utc(),
    );
    let today = CalendarDate::from_unix(NOON, offset);
    let code = linotp_core::day_password(secret, today, 6).unwrap();
    let router = app.router();
    assert!(check(&router, CHECK_S, &[("serial", "DPW1"), ("pass", &code)]).await);
    assert!(check(&router, CHECK_S, &[("serial", "DPW1"), ("pass", &code)]).await);
    clock.advance(2 * 86_400);
    assert!(!check(&router, CHECK_S, &[("serial", "DPW1"), ("pass", &code)]).await);
}

#[tokio::test]
async fn disabled_token_is_refused_with_its_audit_reason() {
    let app = app_with_alice();
    update_token(&app, "HOTP1", |token| token.is_active = false);
    let (router, mut audit) = audited(&app);
    assert!(!check(&router, CHECK, &[("user", "alice"), ("pass", "pin1755224")]).await);
    let event = audit.recv().await.unwrap();
    assert_eq!(event.action_detail, "Token inactive");
    assert_eq!(token(&app, "HOTP1").count, 0);
}

#[tokio::test]
async fn validity_period_and_usage_limits_are_enforced() {
    let clock = Arc::new(ManualClock::new(NOON));
    let app = app_with_alice_at(Some(clock.clone()));
    let (router, mut audit) = audited(&app);
    let try_otp = {
        let router = router.clone();
        move |pass: &'static str| {
            let router = router.clone();
            async move { check(&router, CHECK, &[("user", "alice"), ("pass", pass)]).await }
        }
    };

    update_token(&app, "HOTP1", |token| {
        token.token_info =
            "{\n\"hashlib\": \"sha1\",\n\"validity_period_start\": \"01/07/25 00:00\"\n}".into();
    });
    assert!(!try_otp("pin1755224").await);
    assert_eq!(
        audit.recv().await.unwrap().action_detail,
        "Authentication validity period mismatch!"
    );

    update_token(&app, "HOTP1", |token| {
        token.token_info =
            "{\n\"hashlib\": \"sha1\",\n\"validity_period_end\": \"01/06/25 00:00\"\n}".into();
        token.fail_count = 0;
    });
    assert!(!try_otp("pin1755224").await);
    assert_eq!(
        audit.recv().await.unwrap().action_detail,
        "Authentication validity period exceeded"
    );
    assert_eq!(token(&app, "HOTP1").fail_count, 1);

    update_token(&app, "HOTP1", |token| {
        token.token_info = "{\n\"hashlib\": \"sha1\",\n\"count_auth_max\": 2\n}".into();
        token.fail_count = 0;
    });
    assert!(try_otp("pin1755224").await);
    assert!(try_otp("pin1287082").await);
    let _ = (audit.recv().await, audit.recv().await);
    assert!(
        !try_otp("pin1359152").await,
        "third authentication beyond countAuthMax 2"
    );
    assert_eq!(
        audit.recv().await.unwrap().action_detail,
        "Authentication counter exceeded"
    );
    assert!(
        token(&app, "HOTP1")
            .token_info
            .contains("\"count_auth\": 2")
    );
}

#[tokio::test]
async fn users_are_found_by_user_at_realm_and_in_the_default_realm() {
    let app = app_with_alice();
    import_users(&app, "OtherRes", "other", &[("dave", "d1", "x")]);
    let router = app.router();
    assert!(
        check(
            &router,
            CHECK,
            &[("user", "alice@gldrealm"), ("pass", "pin1755224")]
        )
        .await
    );
    assert!(check(&router, CHECK, &[("user", "alice"), ("pass", "pin1287082")]).await);
    assert!(
        check(
            &router,
            CHECK,
            &[
                ("user", "alice"),
                ("realm", "GLDREALM"),
                ("pass", "pin1359152")
            ]
        )
        .await
    );
    // alice is no user of realm `other`.
    let (router, mut audit) = audited(&app);
    assert!(
        !check(
            &router,
            CHECK,
            &[("user", "alice@other"), ("pass", "pin1969429")]
        )
        .await
    );
    let event = audit.recv().await.unwrap();
    assert_eq!(event.action_detail, "User not found");
    assert_eq!(
        (event.user.as_str(), event.realm.as_str()),
        ("alice", "other")
    );
    assert!(check(&router, CHECK, &[("user", "alice"), ("pass", "pin1969429")]).await);
}

#[tokio::test]
async fn a_token_bound_to_other_realms_does_not_authenticate_the_user() {
    let app = app_with_alice();
    import_users(&app, "OtherRes", "other", &[]);
    let mut db = conn(&app);
    let id = token(&app, "HOTP1").id;
    linotp_store::realms::set_token_realms(&mut db, id, &["other"]).unwrap();
    drop(db);
    let (router, mut audit) = audited(&app);
    assert!(!check(&router, CHECK, &[("user", "alice"), ("pass", "pin1755224")]).await);
    assert_eq!(
        audit.recv().await.unwrap().action_detail,
        "Realm mismatch for token and user"
    );
}

#[tokio::test]
async fn pass_on_user_not_found_and_no_token_are_system_settings() {
    let app = app_with_alice();
    let router = app.router();
    assert!(!check(&router, CHECK, &[("user", "nobody"), ("pass", "x")]).await);
    assert!(!check(&router, CHECK, &[("user", "bob"), ("pass", "x")]).await);
    set_config(&app, "PassOnUserNotFound", "True");
    set_config(&app, "PassOnUserNoToken", "True");
    let (router, mut audit) = audited(&app);
    assert!(check(&router, CHECK, &[("user", "nobody"), ("pass", "x")]).await);
    assert_eq!(
        audit.recv().await.unwrap().action_detail,
        "authenticated by PassOnUserNotFound"
    );
    assert!(check(&router, CHECK, &[("user", "bob"), ("pass", "x")]).await);
    assert_eq!(
        audit.recv().await.unwrap().action_detail,
        "authenticated by PassOnUserNoToken"
    );
    // A user with tokens still needs them.
    assert!(!check(&router, CHECK, &[("user", "alice"), ("pass", "x")]).await);
}

#[tokio::test]
async fn every_check_writes_one_audit_event_without_secrets() {
    let app = app_with_alice();
    let (router, mut audit) = audited(&app);
    assert!(check(&router, CHECK, &[("user", "alice"), ("pass", "pin1755224")]).await);
    let ok = audit.recv().await.unwrap();
    assert_eq!(ok.action, "validate/check");
    assert!(ok.success);
    assert_eq!(
        (ok.serial.as_str(), ok.token_type.as_str()),
        ("HOTP1", "HMAC")
    );
    assert_eq!((ok.user.as_str(), ok.realm.as_str()), ("alice", "gldrealm"));
    assert_eq!(
        ok.action_detail,
        "user 'alice'@'gldrealm' successfully authenticated."
    );
    assert_eq!(ok.client, "192.0.2.10");

    assert!(!check(&router, CHECK, &[("user", "alice"), ("pass", "pin1000000")]).await);
    let wrong_otp = audit.recv().await.unwrap();
    assert!(!wrong_otp.success);
    assert_eq!(wrong_otp.action_detail, "wrong otp value");
    assert_eq!(wrong_otp.serial, "HOTP1");

    assert!(!check(&router, CHECK, &[("user", "alice"), ("pass", "nope287082")]).await);
    assert_eq!(
        audit.recv().await.unwrap().action_detail,
        "wrong otp pin -1"
    );

    assert!(
        check(
            &router,
            CHECK_S,
            &[("serial", "HOTP1"), ("pass", "pin1287082")]
        )
        .await
    );
    let by_serial = audit.recv().await.unwrap();
    assert_eq!(by_serial.action, "validate/check_s");
    assert_eq!(
        by_serial.action_detail,
        "serial 'HOTP1' successfully authenticated."
    );
    assert_eq!(
        (by_serial.user.as_str(), by_serial.realm.as_str()),
        ("", "")
    );

    assert!(!check(&router, CHECK_S, &[("serial", "NOSUCH"), ("pass", "1")]).await);
    assert_eq!(audit.recv().await.unwrap().action_detail, "no token found!");

    let _ = post(
        &router,
        "/validate/simplecheck",
        &[("user", "alice"), ("pass", "x")],
    )
    .await;
    assert_eq!(audit.recv().await.unwrap().action, "validate/simplecheck");
    assert!(audit.try_recv().is_err(), "one event per request");

    for event in [ok, wrong_otp, by_serial] {
        let fields = format!("{event:?}");
        for secret in ["pin1", "755224", "287082", "000000"] {
            assert!(!fields.contains(secret), "{secret} in {fields}");
        }
    }
}

#[tokio::test]
async fn check_s_finds_the_token_of_a_user_with_exactly_one() {
    let app = app_with_alice();
    let router = app.router();
    assert!(
        check(
            &router,
            CHECK_S,
            &[("user", "alice"), ("pass", "pin1755224")]
        )
        .await
    );
    insert_token(&app, &NewToken::hotp("HOTP2", "pin2"));
    assign(&app, "HOTP2", "GldRes", "uid1", "gldrealm");
    let reply = post(
        &router,
        CHECK_S,
        &[("user", "alice"), ("pass", "pin1287082")],
    )
    .await;
    assert_eq!(
        json(&reply)["result"],
        json!({"status": false, "value": false})
    );
    let reply = post(&router, CHECK_S, &[("user", "bob"), ("pass", "x")]).await;
    assert_eq!(
        json(&reply)["result"],
        json!({"status": false, "value": false})
    );
    let reply = post(&router, CHECK_S, &[("serial", "HOTP1")]).await;
    assert_eq!(
        json(&reply)["result"],
        json!({"status": false, "value": false})
    );
}

#[tokio::test]
async fn check_without_user_checks_the_named_serial_only() {
    let app = app_with_alice();
    set_config(&app, "PassOnUserNoToken", "True");
    let (router, mut audit) = audited(&app);
    assert!(
        check(
            &router,
            CHECK,
            &[("serial", "HOTP1"), ("pass", "pin1755224")]
        )
        .await
    );
    let event = audit.recv().await.unwrap();
    assert_eq!(
        event.action_detail,
        "serial 'HOTP1' successfully authenticated."
    );
    assert!(
        !check(
            &router,
            CHECK,
            &[("serial", "HOTP1"), ("pass", "pin1755224")]
        )
        .await
    );
    let _ = audit.recv().await;
    // No user and no serial: nothing to check, whatever PassOnUserNoToken says.
    assert!(!check(&router, CHECK, &[("pass", "pin1287082")]).await);
    assert_eq!(
        audit.recv().await.unwrap().action_detail,
        "User has no tokens assigned"
    );
}

#[tokio::test]
async fn several_matching_tokens_refuse_and_spend_their_otps() {
    let app = app_with_alice();
    insert_token(&app, &NewToken::hotp("HOTP2", "pin1"));
    assign(&app, "HOTP2", "GldRes", "uid1", "gldrealm");
    let (router, mut audit) = audited(&app);
    assert!(!check(&router, CHECK, &[("user", "alice"), ("pass", "pin1755224")]).await);
    let event = audit.recv().await.unwrap();
    assert_eq!(event.action_detail, "Multiple valid tokens found!");
    assert!(
        event.info.contains("multiple token match error"),
        "{}",
        event.info
    );
    assert_eq!(
        (token(&app, "HOTP1").count, token(&app, "HOTP2").count),
        (1, 1)
    );
}

#[tokio::test]
async fn simplecheck_answers_with_the_smileys_as_text() {
    let app = app_with_alice();
    let router = app.router();
    let ok = post(
        &router,
        "/validate/simplecheck",
        &[("user", "alice"), ("pass", "pin1755224")],
    )
    .await;
    assert_eq!((ok.status, ok.body.as_str()), (200, ":-)"));
    assert_eq!(ok.content_type.as_deref(), Some("text/html; charset=utf-8"));
    for params in [
        vec![("user", "alice"), ("pass", "pin1755224")],
        vec![("user", "alice")],
        vec![("pass", "x")],
        vec![],
    ] {
        let failed = post(&router, "/validate/simplecheck", &params).await;
        assert_eq!(failed.body, ":-(", "{params:?}");
    }
}

#[tokio::test]
async fn get_post_and_hyphen_spellings_reach_the_same_endpoints() {
    let app = app_with_alice();
    let router = app.router();
    let by_get = send(
        &router,
        Method::GET,
        CHECK,
        &[("user", "alice"), ("pass", "pin1755224")],
    )
    .await;
    assert_eq!(value(&by_get), json!(true));
    let hyphen = send(
        &router,
        Method::GET,
        "/validate/check-s",
        &[("serial", "HOTP1"), ("pass", "pin1287082")],
    )
    .await;
    assert_eq!(value(&hyphen), json!(true));
    let status = post(
        &router,
        "/validate/check-status",
        &[("transactionid", "1"), ("pass", "x")],
    )
    .await;
    assert_eq!(
        json(&status)["result"],
        json!({"status": true, "value": false})
    );
    let put = send(&router, Method::PUT, CHECK, &[]).await;
    assert_eq!(put.status, 405);
}

#[tokio::test]
async fn missing_parameters_are_plain_rejections() {
    let app = app_with_alice();
    let router = app.router();
    for (path, params) in [
        (CHECK, vec![("user", "alice")]),
        (CHECK, vec![("pass", "pin1755224")]),
        (CHECK, vec![]),
        (CHECK_S, vec![("pass", "pin1755224")]),
        (CHECK_S, vec![("pass", "1"), ("httperror", "500")]),
    ] {
        let reply = post(&router, path, &params).await;
        assert_eq!(reply.status, 200, "{path} {params:?}");
        assert_eq!(
            json(&reply)["result"],
            json!({"status": true, "value": false}),
            "{path} {params:?}"
        );
        assert_eq!(json(&reply)["id"], json!(0));
    }
    // Nothing was consumed on the way.
    assert_eq!(token(&app, "HOTP1").count, 0);
}

#[tokio::test]
async fn auth_info_reports_pin_and_otp_lengths_on_success() {
    let app = app_with_alice();
    let router = app.router();
    let reply = post(
        &router,
        CHECK,
        &[
            ("user", "alice"),
            ("pass", "pin1755224"),
            ("auth_info", "true"),
        ],
    )
    .await;
    let body = json(&reply);
    assert_eq!(body["result"]["value"], json!(true));
    assert_eq!(
        body["detail"],
        json!({"auth_info": [["pin_length", 4], ["otp_length", 6]]})
    );
    let plain = post(&router, CHECK, &[("user", "alice"), ("pass", "pin1287082")]).await;
    assert!(json(&plain).get("detail").is_none());
}

#[tokio::test]
async fn samlcheck_wraps_the_result_and_adds_attributes_when_allowed() {
    let app = app_with_alice();
    let router = app.router();
    let reply = post(
        &router,
        "/validate/samlcheck",
        &[("user", "alice"), ("pass", "pin1755224")],
    )
    .await;
    assert_eq!(value(&reply), json!({"auth": true, "attributes": {}}));
    set_config(&app, "allowSamlAttributes", "True");
    let reply = post(
        &router,
        "/validate/samlcheck",
        &[("user", "alice"), ("pass", "pin1287082")],
    )
    .await;
    assert_eq!(
        value(&reply),
        json!({"auth": true, "attributes": {
            "username": "alice", "surname": "ALICE", "mobile": "", "phone": "",
            "givenname": "Test", "email": "alice@example.test"
        }})
    );
    let refused = post(
        &router,
        "/validate/samlcheck",
        &[("user", "alice"), ("pass", "pin1287082")],
    )
    .await;
    assert_eq!(value(&refused), json!({"auth": false, "attributes": {}}));
    let raised = post(&router, "/validate/samlcheck", &[("user", "alice")]).await;
    assert_eq!(value(&raised), json!(false));
}

#[tokio::test]
async fn check_t_and_check_status_answer_unknown_transactions() {
    let app = app_with_alice();
    let router = app.router();
    let reply = post(
        &router,
        "/validate/check_t",
        &[("transactionid", "12345678901234567"), ("pass", "1")],
    )
    .await;
    let body = json(&reply);
    assert_eq!(
        body["result"]["value"],
        json!({"value": false, "failcount": 0})
    );
    assert_eq!(body["id"], json!(1));
    assert_eq!(
        body["detail"],
        json!({"value": false, "failure": "No challenge for transaction '12345678901234567' found"})
    );
    let no_pass = post(&router, "/validate/check_t", &[("state", "1")]).await;
    assert_eq!(json(&no_pass)["result"]["value"], json!(false));
    assert_eq!(json(&no_pass)["id"], json!(0));
    let no_id = post(&router, "/validate/check_t", &[("pass", "1")]).await;
    assert_eq!(json(&no_id)["result"]["value"], json!(false));
}

#[tokio::test]
async fn last_access_times_are_recorded_when_configured() {
    let app = app_with_alice();
    let router = app.router();
    assert!(check(&router, CHECK, &[("user", "alice"), ("pass", "pin1755224")]).await);
    assert!(token(&app, "HOTP1").last_auth_success.is_none());
    set_config(&app, "token.last_access", "True");
    assert!(check(&router, CHECK, &[("user", "alice"), ("pass", "pin1287082")]).await);
    let stored = token(&app, "HOTP1");
    assert!(stored.last_auth_success.is_some() && stored.last_auth_match.is_some());
}
