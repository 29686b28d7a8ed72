//! Challenge-response in `/validate` beyond the golden replay: TOTP tokens, several tokens in
//! one transaction, wrong answers, expiry, tampered rows, who may poll a transaction.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod validate_common;

use std::sync::Arc;

use linotp_api::auth::ManualClock;
use linotp_api::test_app::TestApp;
use linotp_core::{HashAlgorithm, hotp, totp};
use linotp_store::challenges;
use linotp_store::diesel::prelude::*;
use linotp_store::schema::challenges as challenge_table;
use serde_json::Value;
use validate_common::{
    NewToken, RFC4226_OTPS, assign, check, conn, import_users, insert_token, json, post,
    set_config, set_default_realm, set_policy, token,
};

const CHECK: &str = "/validate/check";
const CHECK_STATUS: &str = "/validate/check_status";
const NOON: i64 = 1_796_040_000;

/// The second token's key (hex `otpkey`) and its raw bytes.
const OTHER_KEY_HEX: &str = "00112233445566778899aabbccddeeff00112233";
const OTHER_KEY: [u8; 20] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
    0x00, 0x11, 0x22, 0x33,
];

/// alice (password `AlicePw1!`) and bob in realm `home` (default) with challenge-response
/// for HMAC and TOTP tokens; alice owns HOTP1 (PIN `pin1`).
fn app_at(clock: Arc<ManualClock>) -> TestApp {
    let app = TestApp::sqlite_with_clock(clock);
    import_users(
        &app,
        "HomeRes",
        "home",
        &[("alice", "u1", "AlicePw1!"), ("bob", "u2", "BobPw2!")],
    );
    set_default_realm(&app, "home");
    set_policy(
        &app,
        "cr",
        &[
            ("scope", "authentication"),
            ("action", "challenge_response=hmac totp"),
            ("realm", "home"),
            ("user", "*"),
            ("active", "True"),
        ],
    );
    insert_token(&app, &NewToken::hotp("HOTP1", "pin1"));
    assign(&app, "HOTP1", "HomeRes", "u1", "home");
    app
}

fn app() -> TestApp {
    app_at(Arc::new(ManualClock::new(NOON)))
}

/// Triggers a challenge for alice with her PIN and returns the reply's detail.
async fn trigger(router: &axum::Router, pin: &str) -> Value {
    let reply = json(&post(router, CHECK, &[("user", "alice"), ("pass", pin)]).await);
    assert_eq!(reply["result"]["value"], false, "{reply}");
    reply["detail"].clone()
}

async fn answer(router: &axum::Router, transaction: &str, otp: &str) -> bool {
    check(
        router,
        CHECK,
        &[
            ("user", "alice"),
            ("transactionid", transaction),
            ("pass", otp),
        ],
    )
    .await
}

fn stored(app: &TestApp, transaction: &str) -> Option<challenges::Challenge> {
    challenges::get_by_transid(&mut conn(app), transaction).unwrap()
}

#[tokio::test]
async fn a_pin_alone_triggers_a_challenge_the_otp_answers_once() {
    let app = app();
    let router = app.router();
    let detail = trigger(&router, "pin1").await;
    let transaction = detail["transactionid"].as_str().unwrap().to_owned();
    assert_eq!(transaction.len(), 17);
    assert!(transaction.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(detail["message"], "Please enter your otp value: ");
    assert_eq!(detail["linotp_tokenserial"], "HOTP1");
    assert_eq!(
        token(&app, "HOTP1").fail_count,
        0,
        "a challenge is no failure"
    );

    assert!(answer(&router, &transaction, RFC4226_OTPS[0]).await);
    let row = stored(&app, &transaction).unwrap();
    assert!(row.session.contains("\"status\": \"closed\""));
    assert_eq!(
        (row.received_count, row.received_tan, row.valid_tan),
        (1, true, true)
    );
    // Answered once: the same answer (and the next OTP) no longer fit an open challenge.
    assert!(!answer(&router, &transaction, RFC4226_OTPS[0]).await);
    assert!(!answer(&router, &transaction, RFC4226_OTPS[1]).await);
    // PIN and OTP together still authenticate directly.
    assert!(
        check(
            &router,
            CHECK,
            &[
                ("user", "alice"),
                ("pass", &format!("pin1{}", RFC4226_OTPS[1]))
            ]
        )
        .await
    );
}

#[tokio::test]
async fn wrong_answers_count_and_leave_the_challenge_open() {
    let app = app();
    let router = app.router();
    let detail = trigger(&router, "pin1").await;
    let transaction = detail["transactionid"].as_str().unwrap().to_owned();
    assert!(!answer(&router, &transaction, "000000").await);
    let row = stored(&app, &transaction).unwrap();
    assert!(row.session.contains("\"status\": \"open\""));
    assert_eq!(
        (row.received_count, row.received_tan, row.valid_tan),
        (1, true, false)
    );
    assert_eq!(token(&app, "HOTP1").fail_count, 1);
    assert!(answer(&router, &transaction, RFC4226_OTPS[0]).await);
    let row = stored(&app, &transaction).unwrap();
    assert_eq!(
        (row.received_count, row.received_tan, row.valid_tan),
        (2, true, true)
    );
    assert_eq!(token(&app, "HOTP1").fail_count, 0);
}

#[tokio::test]
async fn without_the_policy_a_pin_alone_is_a_wrong_pin() {
    let app = app();
    set_policy(&app, "cr", &[("action", "challenge_response=totp")]);
    let router = app.router();
    let reply = json(&post(&router, CHECK, &[("user", "alice"), ("pass", "pin1")]).await);
    assert_eq!(reply["result"]["value"], false);
    assert!(reply.get("detail").is_none());
    assert_eq!(token(&app, "HOTP1").fail_count, 1);
    assert!(
        challenges::find_by_serial(&mut conn(&app), "HOTP1")
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn totp_tokens_are_challenged_and_answered_by_the_clock() {
    let clock = Arc::new(ManualClock::new(NOON));
    let app = app_at(clock.clone());
    insert_token(
        &app,
        &NewToken {
            serial: "TOTP1",
            token_type: "TOTP",
            seed: OTHER_KEY_HEX.as_bytes(),
            pin: "tpin",
            otp_len: 6,
            token_info: "{\n\"hashlib\": \"sha1\",\n\"timeStep\": \"30\",\n\"timeShift\": 0.0\n}",
            max_fail: 10,
        },
    );
    assign(&app, "TOTP1", "HomeRes", "u1", "home");
    let router = app.router();
    let detail = trigger(&router, "tpin").await;
    assert_eq!(detail["linotp_tokenserial"], "TOTP1");
    assert_eq!(detail["linotp_tokentype"], "TOTP");
    let transaction = detail["transactionid"].as_str().unwrap().to_owned();
    clock.advance(40);
    let otp = totp(&OTHER_KEY, NOON + 40, 30, 6, HashAlgorithm::Sha1).unwrap();
    assert!(answer(&router, &transaction, &otp).await);
    assert!(!answer(&router, &transaction, &otp).await);
}

#[tokio::test]
async fn several_challenged_tokens_share_one_transaction() {
    let app = app();
    insert_token(
        &app,
        &NewToken {
            seed: OTHER_KEY_HEX.as_bytes(),
            ..NewToken::hotp("HOTP2", "pin1")
        },
    );
    assign(&app, "HOTP2", "HomeRes", "u1", "home");
    let router = app.router();
    let detail = trigger(&router, "pin1").await;
    assert_eq!(detail["message"], "Multiple challenges submitted.");
    let base = detail["transactionid"].as_str().unwrap().to_owned();
    assert_eq!(base.len(), 14);
    let first = &detail["challenges"]["HOTP1"];
    let second = &detail["challenges"]["HOTP2"];
    assert_eq!(first["transactionid"], format!("{base}.01"));
    assert_eq!(second["transactionid"], format!("{base}.02"));
    assert_eq!(second["linotp_tokenserial"], "HOTP2");

    // Both are pending for a poller who knows the tokens' PIN.
    let status = json(
        &post(
            &router,
            CHECK_STATUS,
            &[("transactionid", &base), ("pass", "pin1")],
        )
        .await,
    );
    assert_eq!(status["result"]["value"], true);
    assert_eq!(
        status["detail"]["transactions"].as_object().unwrap().len(),
        2
    );

    // The base id answers for the whole transaction; the second token's OTP wins.
    let otp = hotp(&OTHER_KEY, 0, 6, HashAlgorithm::Sha1).unwrap();
    assert!(answer(&router, &base, &otp).await);
    let answered = stored(&app, &format!("{base}.02")).unwrap();
    let other = stored(&app, &format!("{base}.01")).unwrap();
    assert!(answered.valid_tan && answered.session.contains("closed"));
    assert!(!other.valid_tan && other.session.contains("closed"));
    assert_eq!(token(&app, "HOTP2").count, 1);
    assert_eq!(token(&app, "HOTP1").count, 0);
}

#[tokio::test]
async fn expired_challenges_cannot_be_answered_and_are_removed() {
    let clock = Arc::new(ManualClock::new(NOON));
    let app = app_at(clock.clone());
    let router = app.router();
    let detail = trigger(&router, "pin1").await;
    let transaction = detail["transactionid"].as_str().unwrap().to_owned();
    clock.advance(121);
    assert!(!answer(&router, &transaction, RFC4226_OTPS[0]).await);
    assert!(stored(&app, &transaction).is_none(), "expired rows go");

    // A longer validity for HMAC tokens keeps the next one alive.
    set_config(&app, "HMACChallengeValidityTime", "300");
    let detail = trigger(&router, "pin1").await;
    let transaction = detail["transactionid"].as_str().unwrap().to_owned();
    clock.advance(250);
    assert!(answer(&router, &transaction, RFC4226_OTPS[0]).await);
}

#[tokio::test]
async fn a_challenge_changed_in_the_database_is_ignored() {
    let app = app();
    let router = app.router();
    let detail = trigger(&router, "pin1").await;
    let transaction = detail["transactionid"].as_str().unwrap().to_owned();
    linotp_store::diesel::update(
        challenge_table::table.filter(challenge_table::transid.eq(&transaction)),
    )
    .set(challenge_table::bchallenge.eq(Some(b"Enter it here: ".to_vec())))
    .execute(&mut *conn(&app))
    .unwrap();
    // A changed message breaks the MAC: the challenge is as good as gone.
    assert!(!answer(&router, &transaction, RFC4226_OTPS[0]).await);
    assert_eq!(token(&app, "HOTP1").count, 0);
    let status = json(
        &post(
            &router,
            CHECK_STATUS,
            &[("transactionid", &transaction), ("pass", "pin1")],
        )
        .await,
    );
    assert_eq!(status["result"]["value"], false);
}

#[tokio::test]
async fn only_the_owner_with_the_pin_may_poll_a_transaction() {
    let app = app();
    let router = app.router();
    let detail = trigger(&router, "pin1").await;
    let transaction = detail["transactionid"].as_str().unwrap().to_owned();
    let poll = |params: Vec<(&'static str, String)>| {
        let router = router.clone();
        async move {
            let pairs: Vec<(&str, &str)> = params
                .iter()
                .map(|(name, value)| (*name, value.as_str()))
                .collect();
            json(&post(&router, CHECK_STATUS, &pairs).await)["result"]["value"]
                .as_bool()
                .unwrap()
        }
    };
    let id = || ("transactionid", transaction.clone());
    assert!(
        poll(vec![
            id(),
            ("user", "alice".into()),
            ("pass", "pin1".into())
        ])
        .await
    );
    assert!(!poll(vec![id(), ("user", "bob".into()), ("pass", "pin1".into())]).await);
    assert!(
        !poll(vec![
            id(),
            ("user", "alice".into()),
            ("pass", "pin2".into())
        ])
        .await
    );
    assert!(
        !poll(vec![
            id(),
            ("serial", "OTHER".into()),
            ("pass", "pin1".into())
        ])
        .await
    );
    assert!(
        poll(vec![
            id(),
            ("serial", "HOTP1".into()),
            ("pass", "pin1".into())
        ])
        .await
    );

    // With otppin=1 the owner proves herself with her password.
    set_policy(
        &app,
        "password_pin",
        &[
            ("scope", "authentication"),
            ("action", "otppin=1"),
            ("realm", "home"),
            ("active", "True"),
        ],
    );
    assert!(
        !poll(vec![
            id(),
            ("user", "alice".into()),
            ("pass", "pin1".into())
        ])
        .await
    );
    assert!(
        poll(vec![
            id(),
            ("user", "alice".into()),
            ("pass", "AlicePw1!".into())
        ])
        .await
    );
}

#[tokio::test]
async fn otppin_password_triggers_the_challenge_with_the_users_password() {
    let app = app();
    set_policy(
        &app,
        "password_pin",
        &[
            ("scope", "authentication"),
            ("action", "otppin=1"),
            ("realm", "home"),
            ("active", "True"),
        ],
    );
    let router = app.router();
    let reply = json(&post(&router, CHECK, &[("user", "alice"), ("pass", "pin1")]).await);
    assert!(
        reply.get("detail").is_none(),
        "the token PIN is no longer the PIN"
    );
    let detail = trigger(&router, "AlicePw1!").await;
    let transaction = detail["transactionid"].as_str().unwrap().to_owned();
    assert!(answer(&router, &transaction, RFC4226_OTPS[0]).await);
}

#[tokio::test]
async fn the_transaction_id_length_is_configurable() {
    let app = app();
    set_config(&app, "TransactionIdLength", "12");
    let router = app.router();
    let detail = trigger(&router, "pin1").await;
    let transaction = detail["transactionid"].as_str().unwrap().to_owned();
    assert_eq!(transaction.len(), 12);
    let reply = json(
        &post(
            &router,
            "/validate/check_t",
            &[("transactionid", &transaction), ("pass", RFC4226_OTPS[0])],
        )
        .await,
    );
    assert_eq!(reply["result"]["value"]["value"], true);
    assert_eq!(reply["detail"]["serial"], "HOTP1");
}
