//! A database and encKey made by LinOTP itself (`fixtures/linotp-sqlite`): its tokens
//! authenticate here as the manifest says, by serial (`check_s`) and by user.
//!
//! The fixture is read-only; each test works on a copy. Its policy `fix_auth_otppin`
//! (`otppin=1` for carol in `fixrealm`) makes LinOTP refuse every `check_s` without a user
//! (README: the policy's realm is the default realm, and a serial-only check has no user whose
//! password could be the PIN); `the_otppin_policy_refuses_serial_checks_and_makes_carols_pin_her_password`
//! shows that quirk. The serial-based expectations of the manifest hold on a copy without the
//! policy, which is how the README says they were checked against LinOTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod validate_common;

use std::sync::Arc;

use axum::Router;
use linotp_api::auth::ManualClock;
use linotp_api::test_app::TestApp;
use linotp_api::testing;
use linotp_core::{HashAlgorithm, motp, totp};
use linotp_store::{Store, config, tokens};
use serde_json::Value;
use validate_common::check;

/// 2026-11-27 12:00 UTC: after the fixture was made (its TOTP and mOTP counters are from
/// 2026-11-26), before FIXVALID1's validity ends.
const NOW: i64 = 1_796_040_000;

struct Fixture {
    router: Router,
    store: Store,
    manifest: Value,
    _app: TestApp,
}

impl Fixture {
    fn token(&self, serial: &str) -> &Value {
        self.manifest["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .find(|token| token["serial"] == serial)
            .unwrap()
    }

    fn text(&self, serial: &str, field: &str) -> String {
        self.token(serial)[field]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn stored(&self, serial: &str) -> tokens::Token {
        let mut conn = self.store.connection().unwrap();
        tokens::get_by_serial(&mut conn, serial).unwrap().unwrap()
    }

    async fn check_s(&self, serial: &str, pass: &str) -> bool {
        check(
            &self.router,
            "/validate/check_s",
            &[("serial", serial), ("pass", pass)],
        )
        .await
    }

    async fn check_user(&self, user: &str, pass: &str) -> bool {
        check(
            &self.router,
            "/validate/check",
            &[("user", user), ("pass", pass)],
        )
        .await
    }
}

fn open_fixture() -> Fixture {
    open_fixture_with(false)
}

/// The fixture as LinOTP left it, or (`keep_otppin_policy` false) without `fix_auth_otppin`.
fn open_fixture_with(keep_otppin_policy: bool) -> Fixture {
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(testing::fixture_dir().join("manifest.json")).unwrap(),
    )
    .unwrap();
    let app = TestApp::on_linotp_fixture(Arc::new(ManualClock::new(NOW)));
    let store = app.db.store().clone();
    if !keep_otppin_policy {
        let mut conn = store.connection().unwrap();
        for attribute in [
            "action", "scope", "realm", "user", "time", "client", "active",
        ] {
            let key = format!("Policy.fix_auth_otppin.{attribute}");
            assert_eq!(config::delete(&mut conn, &key).unwrap(), 1, "{key}");
        }
    }
    Fixture {
        router: app.router(),
        store,
        manifest,
        _app: app,
    }
}

fn hex_key(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&hex[index..index + 2], 16).unwrap())
        .collect()
}

#[tokio::test]
async fn hotp_tokens_accept_the_next_otp_once() {
    let fixture = open_fixture();
    for serial in ["FIXHOTP1", "FIXHOTP256", "FIXREALM1", "FIXVALID1"] {
        let pass = format!(
            "{}{}",
            fixture.text(serial, "pin"),
            fixture.text(serial, "next_otp")
        );
        let counter_before = fixture.stored(serial).count;
        assert!(fixture.check_s(serial, &pass).await, "{serial}");
        assert!(!fixture.check_s(serial, &pass).await, "{serial} replay");
        assert_eq!(fixture.stored(serial).count, counter_before + 1, "{serial}");
    }
    // OTPs LinOTP accepted before the copy was made stay spent.
    assert!(!fixture.check_s("FIXHOTP1", "alicepin755224").await);
    // FIXVALID1 counts its uses: LinOTP's success, ours, and the refused replay (a try whose
    // PIN matched counts as a use).
    assert!(
        fixture
            .stored("FIXVALID1")
            .token_info
            .contains("\"count_auth\": 3")
    );
}

#[tokio::test]
async fn static_and_time_based_tokens_authenticate() {
    let fixture = open_fixture();
    assert!(fixture.check_s("FIXSPASS1", "spasspin").await);
    assert!(fixture.check_s("FIXSPASS1", "spasspin").await);
    assert!(!fixture.check_s("FIXSPASS1", "spasspin!").await);

    assert!(fixture.check_s("FIXPW1", "pwpinpwsecret").await);
    assert!(!fixture.check_s("FIXPW1", "pwpinpwsecreX").await);

    let key = hex_key(&fixture.text("FIXTOTP512", "seed"));
    let otp = totp(&key, NOW, 60, 8, HashAlgorithm::Sha512).unwrap();
    assert!(fixture.check_s("FIXTOTP512", &otp).await);
    assert!(!fixture.check_s("FIXTOTP512", &otp).await, "TOTP replay");

    let secret = fixture.text("FIXMOTP1", "seed");
    let otp = motp(secret.as_bytes(), b"1234", NOW / 10, 6);
    assert!(fixture.check_s("FIXMOTP1", &format!("motppin{otp}")).await);
    assert!(!fixture.check_s("FIXMOTP1", &format!("motppin{otp}")).await);
}

#[tokio::test]
async fn disabled_and_locked_tokens_are_refused() {
    let fixture = open_fixture();
    let disabled = format!("disabledpin{}", fixture.text("FIXDISABLED1", "next_otp"));
    assert!(!fixture.check_s("FIXDISABLED1", &disabled).await);
    assert_eq!(fixture.stored("FIXDISABLED1").count, 0);

    let locked = format!("lockedpin{}", fixture.text("FIXLOCKED1", "next_otp"));
    assert!(!fixture.check_s("FIXLOCKED1", &locked).await);
    let stored = fixture.stored("FIXLOCKED1");
    assert_eq!((stored.count, stored.fail_count), (0, 5));
}

#[tokio::test]
async fn users_of_the_imported_resolver_authenticate_by_login() {
    let fixture = open_fixture();
    assert!(fixture.check_user("alice@fixrealm", "alicepin969429").await);
    assert!(!fixture.check_user("alice@fixrealm", "alicepin969429").await);
    // fixrealm is the default realm.
    let bob = format!("bobpin{}", fixture.text("FIXHOTP256", "next_otp"));
    assert!(fixture.check_user("bob", &bob).await);
    let key = hex_key(&fixture.text("FIXTOTP1", "seed"));
    let carol = format!(
        "carolpin{}",
        totp(&key, NOW, 30, 6, HashAlgorithm::Sha1).unwrap()
    );
    assert!(fixture.check_user("carol", &carol).await);
    assert!(!fixture.check_user("mallory", "x").await);
    assert!(
        !fixture
            .check_user("alice@linotp_admins", "alicepin338314")
            .await
    );
}

#[tokio::test]
async fn the_otppin_policy_refuses_serial_checks_and_makes_carols_pin_her_password() {
    let fixture = open_fixture_with(true);
    // Every serial-only check fails while the policy exists, even with the right PIN and OTP.
    for serial in ["FIXHOTP1", "FIXHOTP256", "FIXREALM1", "FIXVALID1"] {
        let pass = format!(
            "{}{}",
            fixture.text(serial, "pin"),
            fixture.text(serial, "next_otp")
        );
        let counter_before = fixture.stored(serial).count;
        assert!(!fixture.check_s(serial, &pass).await, "{serial}");
        assert_eq!(fixture.stored(serial).count, counter_before, "{serial}");
    }
    assert!(!fixture.check_s("FIXSPASS1", "spasspin").await);
    assert!(!fixture.check_s("FIXPW1", "pwpinpwsecret").await);

    // Users other than carol keep their token PINs.
    assert!(fixture.check_user("alice@fixrealm", "alicepin969429").await);
    let bob = format!("bobpin{}", fixture.text("FIXHOTP256", "next_otp"));
    assert!(fixture.check_user("bob", &bob).await);

    // carol's PIN part is her user-store password: her old token PIN fails, the password
    // with the current TOTP passes, once.
    let key = hex_key(&fixture.text("FIXTOTP1", "seed"));
    let otp = totp(&key, NOW, 30, 6, HashAlgorithm::Sha1).unwrap();
    assert!(!fixture.check_user("carol", &format!("carolpin{otp}")).await);
    assert!(
        fixture
            .check_user("carol", &format!("CarolPw3!{otp}"))
            .await
    );
    assert!(
        !fixture
            .check_user("carol", &format!("CarolPw3!{otp}"))
            .await
    );
    let later = totp(&key, NOW + 30, 30, 6, HashAlgorithm::Sha1).unwrap();
    assert!(
        fixture
            .check_user("carol@fixrealm", &format!("CarolPw3!{later}"))
            .await
    );
}
