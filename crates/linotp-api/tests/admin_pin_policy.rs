//! Enrollment PIN policies on the admin side: `otp_pin_random` replaces the PIN a request to
//! `/admin/init` names with a random one, `otp_pin_encrypt` stores the PINs `/admin/init`
//! and `/admin/set` write encrypted, and the self-service PIN rules do not bind admins. Each
//! test authenticates with the PIN the token ends up with.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_support;

use admin_support::{Admin, RFC4226_OTPS};
use linotp_crypto::token_secrets;

async fn enroll(admin: &Admin, serial: &str, user: &str, realm: &str, pin: &str) {
    let reply = admin
        .init_for_user(serial, user, realm, &[("type", "hmac"), ("pin", pin)])
        .await;
    assert!(
        pin.is_empty() || !reply.text().contains(&format!("\"{pin}\"")),
        "the reply does not echo a PIN: {}",
        reply.text()
    );
}

/// Whether `user` of `realm` authenticates with `pin` and the RFC 4226 OTP of `counter`.
async fn check(admin: &Admin, user: &str, realm: &str, pin: &str, counter: usize) -> bool {
    let pass = format!("{pin}{}", RFC4226_OTPS[counter]);
    admin
        .authenticates(&[("user", user), ("realm", realm), ("pass", &pass)])
        .await
}

/// The PIN stored encrypted in the token row (`None` when it is hashed).
fn stored_pin(admin: &Admin, serial: &str) -> Option<String> {
    let token = admin.token(serial);
    token_secrets::decrypt_token_pin(admin.app.state.security.as_ref(), &token.pin_hash)
        .unwrap()
        .map(|pin| pin.expose().to_owned())
}

#[tokio::test]
async fn otp_pin_random_replaces_the_requested_pin_in_the_users_realm() {
    let admin = Admin::with_two_realms();
    admin
        .set_policy(
            "random_pin",
            "enrollment",
            "otp_pin_random=8",
            "realm1",
            "*",
        )
        .await;

    enroll(&admin, "A1", "alice", "realm1", "1234").await;
    let token = admin.token("A1");
    assert!(
        !token_secrets::is_encrypted_pin(&token.pin_hash),
        "a random PIN is hashed like any other"
    );
    assert!(!admin.pin_matches("A1", "1234"));
    assert!(!admin.pin_matches("A1", ""));
    assert!(!check(&admin, "alice", "realm1", "1234", 0).await);

    // Another realm's users keep the PIN the admin gave.
    enroll(&admin, "B1", "bob", "realm2", "1234").await;
    assert!(admin.pin_matches("B1", "1234"));
    assert!(check(&admin, "bob", "realm2", "1234", 0).await);
}

#[tokio::test]
async fn a_token_enrolled_without_user_follows_the_default_realms_policy() {
    let admin = Admin::with_two_realms();
    admin
        .set_policy(
            "random_pin",
            "enrollment",
            "otp_pin_random=6",
            "realm1",
            "*",
        )
        .await;
    admin.set_default_realm("realm1");
    admin.init_hotp("N1", "1234").await;
    assert!(!admin.pin_matches("N1", "1234"));

    admin.set_default_realm("realm2");
    admin.init_hotp("N2", "1234").await;
    assert!(admin.pin_matches("N2", "1234"));
}

#[tokio::test]
async fn random_pins_have_the_policys_length_and_characters_and_authenticate() {
    let admin = Admin::with_two_realms();
    // Encrypted storage makes the random PIN readable for the test.
    admin
        .set_policy(
            "random_pin",
            "enrollment",
            "otp_pin_random=12, otp_pin_random_content=Cs, otp_pin_encrypt=1",
            "realm1",
            "*",
        )
        .await;
    const UPPER_OR_SPECIAL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ!#$%&()*+,-./:;<=>?@[]^_";
    for serial in ["A1", "A2", "A3"] {
        enroll(&admin, serial, "alice", "realm1", "1234").await;
        let pin = stored_pin(&admin, serial).expect("the PIN is stored encrypted");
        assert_eq!(pin.chars().count(), 12, "{pin}");
        assert!(
            pin.chars().all(|c| UPPER_OR_SPECIAL.contains(c)),
            "{pin} has characters outside C and s"
        );
    }
    let first = stored_pin(&admin, "A1").unwrap();
    let second = stored_pin(&admin, "A2").unwrap();
    assert_ne!(first, second, "each token gets a PIN of its own");

    // alice owns three tokens with the same seed; only A1's PIN selects A1.
    assert!(check(&admin, "alice", "realm1", &first, 0).await);
    assert!(!check(&admin, "alice", "realm1", "1234", 1).await);

    // Digits only.
    admin
        .set_policy(
            "random_pin",
            "enrollment",
            "otp_pin_random=5, otp_pin_random_content=n, otp_pin_encrypt=1",
            "realm1",
            "*",
        )
        .await;
    enroll(&admin, "A4", "alice", "realm1", "").await;
    let pin = stored_pin(&admin, "A4").unwrap();
    assert_eq!(pin.len(), 5);
    assert!(pin.chars().all(|c| c.is_ascii_digit()), "{pin}");
}

#[tokio::test]
async fn otp_pin_encrypt_stores_enrolment_pins_encrypted() {
    let admin = Admin::with_two_realms();
    admin
        .set_policy("encrypt", "enrollment", "otp_pin_encrypt=1", "realm1", "*")
        .await;

    enroll(&admin, "A1", "alice", "realm1", "4711").await;
    let token = admin.token("A1");
    assert!(
        token_secrets::is_encrypted_pin(&token.pin_hash),
        "{}",
        token.pin_hash
    );
    assert_eq!(token.pin_salt.len(), 32, "LinOtpSeed holds the hex IV");
    assert_eq!(stored_pin(&admin, "A1").as_deref(), Some("4711"));
    assert!(check(&admin, "alice", "realm1", "4711", 0).await);
    assert!(!check(&admin, "alice", "realm1", "4712", 1).await);

    enroll(&admin, "B1", "bob", "realm2", "4711").await;
    let token = admin.token("B1");
    assert!(!token_secrets::is_encrypted_pin(&token.pin_hash));
    assert!(check(&admin, "bob", "realm2", "4711", 0).await);
}

#[tokio::test]
async fn otp_pin_encrypt_stores_pins_set_by_admin_set_encrypted() {
    let admin = Admin::with_two_realms();
    enroll(&admin, "A1", "alice", "realm1", "1111").await;
    enroll(&admin, "B1", "bob", "realm2", "1111").await;
    admin
        .set_policy("encrypt", "enrollment", "otp_pin_encrypt=1", "realm1", "*")
        .await;

    // By serial: the token's realm decides.
    let reply = admin
        .post("/admin/set", &[("serial", "A1"), ("pin", "2222")])
        .await;
    assert_eq!(reply.value()["set pin"], 1, "{}", reply.text());
    assert_eq!(stored_pin(&admin, "A1").as_deref(), Some("2222"));
    assert!(check(&admin, "alice", "realm1", "2222", 0).await);

    let reply = admin
        .post("/admin/set", &[("serial", "B1"), ("pin", "2222")])
        .await;
    assert_eq!(reply.value()["set pin"], 1, "{}", reply.text());
    assert_eq!(stored_pin(&admin, "B1"), None);
    assert!(admin.pin_matches("B1", "2222"));
    assert!(check(&admin, "bob", "realm2", "2222", 0).await);

    // By user: the user's realm decides.
    let reply = admin
        .post(
            "/admin/set",
            &[("user", "alice"), ("realm", "realm1"), ("pin", "3333")],
        )
        .await;
    assert_eq!(reply.value()["set pin"], 1, "{}", reply.text());
    assert_eq!(stored_pin(&admin, "A1").as_deref(), Some("3333"));
    assert!(check(&admin, "alice", "realm1", "3333", 1).await);
}

#[tokio::test]
async fn self_service_pin_rules_do_not_bind_admins() {
    let admin = Admin::with_two_realms();
    admin
        .set_policy(
            "strong_pins",
            "selfservice",
            "otp_pin_minlength=8, otp_pin_contents=cn",
            "realm1",
            "*",
        )
        .await;

    enroll(&admin, "A1", "alice", "realm1", "12").await;
    assert!(admin.pin_matches("A1", "12"));
    let reply = admin
        .post("/admin/set", &[("serial", "A1"), ("pin", "34")])
        .await;
    assert_eq!(reply.value()["set pin"], 1, "{}", reply.text());
    assert!(check(&admin, "alice", "realm1", "34", 0).await);
}
