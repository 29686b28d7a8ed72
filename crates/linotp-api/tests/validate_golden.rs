//! The `/validate` replies PAM and FreeRADIUS modules parse, pinned against LinOTP's own
//! (`fixtures/golden/validate.json` and the validate cases of `errors.json`), replayed in the
//! recorded order on the state the corpus' setup built, including challenge-response (realm
//! `gldcr` with its `challenge_response=hmac` policy): triggers, answers by `transactionid`,
//! `check_t` and `check_status` polling.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod validate_common;

use linotp_api::test_app::TestApp;
use linotp_api::testing::{Captures, compare, load_golden_case};
use validate_common::{NewToken, assign, import_users, insert_token, replay, set_policy};

/// What the corpus' setup cases create: four imported users of resolver `GldRes`, realms
/// `gldrealm` and `gldcr`, HOTP tokens GLDVAL1..4 with the RFC 4226 seed.
fn golden_state() -> TestApp {
    let app = TestApp::sqlite();
    let people = [
        ("gldalice", "uid1", "Pw-alice-gld"),
        ("gldbob", "uid2", "Pw-bob-gld"),
        ("gldcarol", "uid3", "Pw-carol-gld"),
        ("glddave", "uid4", "Pw-dave-gld"),
    ];
    import_users(&app, "GldRes", "gldrealm", &people);
    import_users(&app, "GldRes", "gldcr", &[]);
    set_policy(
        &app,
        "gldcr",
        &[
            ("scope", "authentication"),
            ("action", "challenge_response=hmac"),
            ("user", "*"),
            ("realm", "gldcr"),
            ("client", ""),
            ("time", ""),
            ("active", "True"),
        ],
    );
    for (serial, pin, user_id, realm) in [
        ("GLDVAL1", "pin1", "uid1", "gldrealm"),
        ("GLDVAL2", "pin2", "uid2", "gldcr"),
        ("GLDVAL3", "pin3", "uid3", "gldrealm"),
        ("GLDVAL4", "pin4", "uid4", "gldcr"),
    ] {
        insert_token(&app, &NewToken::hotp(serial, pin));
        assign(&app, serial, "GldRes", user_id, realm);
    }
    app
}

/// validate.json in recorded order: every case but the corpus' own setup and teardown.
const VALIDATE_CASES: &[&str] = &[
    "check.accept",
    "check.accept_user_at_realm",
    "check.reject_replay",
    "check.reject_wrong_otp",
    "check.reject_wrong_pin",
    "check.unknown_user",
    "check.user_without_token",
    "check.challenge_triggered",
    "check.challenge_answered",
    "check.challenge_wrong_answer.trigger",
    "check.challenge_wrong_answer",
    "check.get_method",
    "check_s.accept",
    "check_s.reject",
    "check_s.unknown_serial",
    "check_s.challenge_triggered",
    "check_s.challenge_answered",
    "simplecheck.ok",
    "simplecheck.fail",
    "simplecheck.unknown_user",
    "simplecheck.missing_pass",
    "simplecheck.missing_user",
    "simplecheck.challenge",
    "simplecheck.challenge_answered",
    "samlcheck.accept",
    "samlcheck.reject",
    "check_t.trigger",
    "check_status.pending",
    "check_status.wrong_pin",
    "check_status.missing_transactionid",
    "check_t.accept",
    "check_status.after_answer",
    "check_t.trigger2",
    "check_t.reject",
    "check_t.unknown_transaction",
    "check_t.missing_pass",
    "ok",
    "fail",
];

const ERROR_CASES: &[&str] = &[
    "missing.check_s_serial",
    "missing.check_user",
    "httperror_500.validate_check_s_missing_serial",
];

#[tokio::test]
async fn validate_replies_match_linotp_in_recorded_order() {
    let app = golden_state();
    let router = app.router();
    let mut captures = Captures::default();
    for (file, names) in [
        ("validate.json", VALIDATE_CASES),
        ("errors.json", ERROR_CASES),
    ] {
        for name in names {
            let case = load_golden_case(file, name).unwrap();
            let observed = replay(&router, &case, &captures).await;
            if let Err(mismatches) = compare(&case, &observed, &mut captures) {
                panic!("{file} {name}: {mismatches}");
            }
            // Beyond the tree comparison: the text itself is LinOTP's, byte for byte (with the
            // transaction ids this run drew).
            assert_eq!(observed.body, captures.fill(&case.body), "{file} {name}");
        }
    }
}
