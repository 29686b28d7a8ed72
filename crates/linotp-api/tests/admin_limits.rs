//! Enrollment limits and admin rights where tokens arrive outside `/admin/init`:
//! `tokencount` on `/admin/tokenrealm` and on enabling an inactive token, `maxtoken*` and
//! the post-check `tokencount` on `/admin/assign`, `otp_pin_random` on `/admin/assign`, and
//! LinOTP's refusal texts of `/admin/init` for a user or an existing token outside the
//! admin's realms. Each refusal carries LinOTP's code and text and changes nothing; the same
//! request within the limits works.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_support;

use admin_support::{Admin, POLICY_ERROR, RFC4226_HEX, RFC4226_OTPS, Reply};
use linotp_crypto::token_secrets;

/// `/admin/assign` of token `serial` to `user` in `realm`, with the `extra` parameters.
async fn assign(
    admin: &Admin,
    serial: &str,
    user: &str,
    realm: &str,
    extra: &[(&str, &str)],
) -> Reply {
    let mut params = vec![("serial", serial), ("user", user), ("realm", realm)];
    params.extend_from_slice(extra);
    admin.post("/admin/assign", &params).await
}

/// `/admin/tokenrealm`: token `serial` into the comma-separated `realms`.
async fn tokenrealm(admin: &Admin, serial: &str, realms: &str) -> Reply {
    admin
        .post(
            "/admin/tokenrealm",
            &[("serial", serial), ("realms", realms)],
        )
        .await
}

/// Realm `realm1` (alice, carol; alice owns A1 and the disabled A2), realm `realm2` (bob,
/// owning B1) and the unassigned token S1 in no realm, all made while no policy exists.
async fn setup() -> Admin {
    let admin = Admin::new();
    admin.import_users("res1", "realm1", &[("alice", "u1"), ("carol", "u3")]);
    admin.import_users("res2", "realm2", &[("bob", "u2")]);
    admin
        .init_for_user("A1", "alice", "realm1", &[("type", "hmac")])
        .await;
    admin
        .init_for_user("A2", "alice", "realm1", &[("type", "hmac")])
        .await;
    admin
        .init_for_user("B1", "bob", "realm2", &[("type", "hmac")])
        .await;
    admin.init_hotp("S1", "").await;
    let reply = admin.post("/admin/disable", &[("serial", "A2")]).await;
    assert_eq!(reply.value(), 1, "{}", reply.text());
    admin
}

#[tokio::test]
async fn tokenrealm_refuses_a_realm_without_room_for_one_more_active_token() {
    let admin = setup().await;
    // realm1 holds A1 (active) and A2 (disabled): one active token, the limit.
    admin
        .set_policy("one", "enrollment", "tokencount=1", "realm1", "*")
        .await;

    let refused = tokenrealm(&admin, "S1", "realm1").await;
    assert_eq!(
        refused.error(),
        (
            POLICY_ERROR,
            "ERR410: You may not put any more tokens in realm 'realm1'. Check the policy \
             'tokencount'"
                .to_owned()
        )
    );
    assert!(admin.realms_of("S1").is_empty(), "S1 stays in no realm");
    // Even the realm a token is in already needs room, as in LinOTP.
    let refused = tokenrealm(&admin, "A1", "realm1,realm2").await;
    assert_eq!(refused.error().0, POLICY_ERROR, "{}", refused.text());
    assert_eq!(admin.realms_of("A1"), ["realm1"]);

    // A realm without the policy takes the token.
    let moved = tokenrealm(&admin, "S1", "realm2").await;
    assert_eq!(moved.value(), 1, "{}", moved.text());
    assert_eq!(admin.realms_of("S1"), ["realm2"]);

    // Disabled tokens do not count: with A1 disabled, realm1 has room again.
    let reply = admin.post("/admin/disable", &[("serial", "A1")]).await;
    assert_eq!(reply.value(), 1, "{}", reply.text());
    let moved = tokenrealm(&admin, "S1", "realm1").await;
    assert_eq!(moved.value(), 1, "{}", moved.text());
    assert_eq!(admin.realms_of("S1"), ["realm1"]);
}

#[tokio::test]
async fn enabling_an_inactive_token_needs_room_in_its_realms() {
    let admin = setup().await;
    admin
        .set_policy("one", "enrollment", "tokencount=1", "realm1", "*")
        .await;

    let refused = admin.post("/admin/enable", &[("serial", "A2")]).await;
    assert_eq!(
        refused.error(),
        (
            POLICY_ERROR,
            "ERR410: You may not enable any more tokens in realm realm1. Check the policy \
             'tokencount'"
                .to_owned()
        )
    );
    assert!(!admin.token("A2").is_active);

    // Enabling by user runs LinOTP's post-check on the user's realm and is rolled back.
    let refused = admin
        .post("/admin/enable", &[("user", "alice"), ("realm", "realm1")])
        .await;
    assert_eq!(
        refused.error(),
        (
            POLICY_ERROR,
            "ERR410: The maximum allowed number of tokens for the realm 'realm1' was reached. \
             You can not init any more tokens. Check the policies scope=enrollment, \
             action=tokencount."
                .to_owned()
        )
    );
    assert!(!admin.token("A2").is_active);

    // An active token is no new one: enabling it again is fine.
    let reply = admin.post("/admin/enable", &[("serial", "A1")]).await;
    assert_eq!(reply.value(), 1, "{}", reply.text());

    // With A1 disabled, A2 may take its place.
    let reply = admin.post("/admin/disable", &[("serial", "A1")]).await;
    assert_eq!(reply.value(), 1, "{}", reply.text());
    let reply = admin.post("/admin/enable", &[("serial", "A2")]).await;
    assert_eq!(reply.value(), 1, "{}", reply.text());
    assert!(admin.token("A2").is_active);
}

#[tokio::test]
async fn assign_respects_maxtoken_per_user_and_per_type() {
    let admin = setup().await;
    admin
        .set_policy("two_each", "enrollment", "maxtoken=2", "realm1", "*")
        .await;

    // alice owns A1 and A2 already.
    let refused = assign(&admin, "S1", "alice", "realm1", &[]).await;
    assert_eq!(
        refused.error(),
        (
            411,
            "ERR411: The maximum number of allowed tokens per user is exceeded. Check the \
             policies scope=enrollment, action=maxtoken"
                .to_owned()
        )
    );
    let spare = admin.token("S1");
    assert!(spare.user_id.is_empty(), "S1 stays unassigned");
    assert!(admin.realms_of("S1").is_empty());

    admin
        .set_policy("two_each", "enrollment", "maxtokenHMAC=0", "realm1", "*")
        .await;
    let refused = assign(&admin, "S1", "carol", "realm1", &[]).await;
    assert_eq!(
        refused.error(),
        (
            412,
            "ERR412: The maximum number of allowed tokens of type hmac per user is exceeded. \
             Check the policies scope=enrollment, action=maxtokenHMAC"
                .to_owned()
        )
    );
    assert!(admin.token("S1").user_id.is_empty());

    admin
        .set_policy("two_each", "enrollment", "maxtokenTOTP=0", "realm1", "*")
        .await;
    let assigned = assign(&admin, "S1", "carol", "realm1", &[]).await;
    assert_eq!(assigned.value(), true, "{}", assigned.text());
    assert_eq!(admin.token("S1").user_id, "u3");
}

#[tokio::test]
async fn assign_is_rolled_back_when_the_users_realm_exceeds_its_tokencount() {
    let admin = setup().await;
    admin
        .set_policy("one", "enrollment", "tokencount=1", "realm1", "*")
        .await;

    let refused = assign(&admin, "S1", "carol", "realm1", &[("pin", "9999")]).await;
    assert_eq!(
        refused.error(),
        (
            POLICY_ERROR,
            "ERR410: The maximum allowed number of tokens for the realm 'realm1' was reached. \
             You can not init any more tokens. Check the policies scope=enrollment, \
             action=tokencount."
                .to_owned()
        )
    );
    let spare = admin.token("S1");
    assert!(spare.user_id.is_empty());
    assert!(admin.realms_of("S1").is_empty());
    assert!(!admin.pin_matches("S1", "9999"), "the PIN is not set");

    // A realm with room takes the token.
    admin
        .set_policy("one", "enrollment", "tokencount=2", "realm1", "*")
        .await;
    let assigned = assign(&admin, "S1", "carol", "realm1", &[("pin", "9999")]).await;
    assert_eq!(assigned.value(), true, "{}", assigned.text());
    assert_eq!(admin.token("S1").user_id, "u3");
    assert_eq!(admin.realms_of("S1"), ["realm1"]);
    assert!(admin.pin_matches("S1", "9999"));
}

#[tokio::test]
async fn otp_pin_random_replaces_the_pin_an_assign_names() {
    let admin = setup().await;
    admin.init_for_user("S2", "", "", &[("type", "hmac")]).await;
    // One random digit: the test can find the PIN by trying all ten.
    admin
        .set_policy(
            "random_pin",
            "enrollment",
            "otp_pin_random=1, otp_pin_random_content=n",
            "realm1",
            "*",
        )
        .await;

    let assigned = assign(&admin, "S1", "carol", "realm1", &[("pin", "secret")]).await;
    assert_eq!(assigned.value(), true, "{}", assigned.text());
    assert!(!assigned.text().contains("secret"));
    assert!(!admin.pin_matches("S1", "secret"));
    let token = admin.token("S1");
    assert!(
        !token_secrets::is_encrypted_pin(&token.pin_hash),
        "LinOTP hashes the random PIN of an assignment"
    );
    let digits: Vec<String> = (0..10).map(|digit| digit.to_string()).collect();
    let matching: Vec<&String> = digits
        .iter()
        .filter(|pin| admin.pin_matches("S1", pin))
        .collect();
    assert_eq!(matching.len(), 1, "the PIN is one random digit");
    let pin = matching[0];
    let pass = format!("{pin}{}", RFC4226_OTPS[0]);
    assert!(
        admin
            .authenticates(&[("user", "carol"), ("realm", "realm1"), ("pass", &pass)])
            .await
    );

    // Users of a realm without the policy get the PIN the admin named.
    let assigned = assign(&admin, "S2", "bob", "realm2", &[("pin", "secret")]).await;
    assert_eq!(assigned.value(), true, "{}", assigned.text());
    assert!(admin.pin_matches("S2", "secret"));
}

/// `helpdesk` may enroll HMAC tokens in realm1 only.
async fn realm1_enroller() -> Admin {
    let mut admin = setup().await;
    admin
        .set_policy("superadmin", "admin", "*", "*", "admin")
        .await;
    admin
        .set_policy("helpdesk", "admin", "initHMAC, show", "realm1", "helpdesk")
        .await;
    admin.act_as("helpdesk");
    admin
}

#[tokio::test]
async fn init_for_a_user_outside_the_admins_realms_names_token_type_and_user() {
    let admin = realm1_enroller().await;

    let refused = admin
        .init_request("X1", "bob", "realm2", &[("type", "hmac")])
        .await;
    assert_eq!(
        refused.error(),
        (
            POLICY_ERROR,
            "ERR410: You do not have the administrative right to init token X1 of type hmac \
             to user bob@realm2. Check the policies."
                .to_owned()
        )
    );
    assert!(!admin.has_token("X1"));

    // Without serial and type LinOTP prints Python's None for both.
    let refused = admin
        .post(
            "/admin/init",
            &[("genkey", "1"), ("user", "bob"), ("realm", "realm2")],
        )
        .await;
    assert_eq!(
        refused.error(),
        (
            POLICY_ERROR,
            "ERR410: You do not have the administrative right to init token None of type None \
             to user bob@realm2. Check the policies."
                .to_owned()
        )
    );

    // A type the admin may not enroll anywhere is refused for the admin's own users too.
    let refused = admin
        .init_request("X2", "alice", "realm1", &[("type", "totp")])
        .await;
    assert_eq!(
        refused.error(),
        (
            POLICY_ERROR,
            "ERR410: You do not have the administrative right to init token X2 of type totp \
             to user alice@realm1. Check the policies."
                .to_owned()
        )
    );
    assert!(!admin.has_token("X2"));

    admin
        .init_for_user("X3", "carol", "realm1", &[("type", "hmac")])
        .await;
    assert_eq!(admin.token("X3").user_id, "u3");
}

#[tokio::test]
async fn reinit_of_a_token_in_a_foreign_realm_is_refused() {
    let admin = realm1_enroller().await;
    let before = admin.token("B1");

    let refused = admin
        .post(
            "/admin/init",
            &[("type", "hmac"), ("serial", "B1"), ("genkey", "1")],
        )
        .await;
    assert_eq!(
        refused.error(),
        (
            POLICY_ERROR,
            "ERR410: You do not have the administrative right to init token B1 of type hmac."
                .to_owned()
        )
    );
    let after = admin.token("B1");
    assert_eq!(after.key_enc, before.key_enc, "the seed is unchanged");
    assert_eq!(after.user_id, "u2");

    // A token in no realm needs rights on every realm.
    let refused = admin
        .post(
            "/admin/init",
            &[("type", "hmac"), ("serial", "S1"), ("genkey", "1")],
        )
        .await;
    assert_eq!(refused.error().0, POLICY_ERROR, "{}", refused.text());

    // A token of the admin's realm may be re-initialised.
    let before = admin.token("A1");
    let reply = admin
        .post(
            "/admin/init",
            &[("type", "hmac"), ("serial", "A1"), ("genkey", "1")],
        )
        .await;
    assert_eq!(reply.value(), true, "{}", reply.text());
    assert_ne!(admin.token("A1").key_enc, before.key_enc);
    assert_eq!(admin.realms_of("A1"), ["realm1"]);

    // A token enrolled without a user goes into the admin's realms, where the admin sees it.
    let reply = admin
        .post(
            "/admin/init",
            &[("type", "hmac"), ("serial", "N1"), ("genkey", "1")],
        )
        .await;
    assert_eq!(reply.value(), true, "{}", reply.text());
    assert_eq!(admin.realms_of("N1"), ["realm1"]);
    let shown = admin.post("/admin/show", &[("serial", "N1")]).await;
    assert_eq!(shown.value()["resultset"]["tokens"], 1, "{}", shown.text());
}

#[tokio::test]
async fn an_admin_without_any_init_right_may_not_enroll_at_all() {
    let mut admin = realm1_enroller().await;
    admin
        .set_policy("viewer", "admin", "show", "*", "viewer")
        .await;
    admin.act_as("viewer");
    let refused = admin
        .post("/admin/init", &[("type", "hmac"), ("genkey", "1")])
        .await;
    assert_eq!(
        refused.error(),
        (
            POLICY_ERROR,
            "ERR410: You do not have the administrative right to enroll tokens. Check the \
             policies."
                .to_owned()
        )
    );
}

#[tokio::test]
async fn init_into_a_full_realm_without_user_is_rolled_back() {
    let admin = setup().await;
    admin
        .set_policy("one", "enrollment", "tokencount=1", "realm1", "*")
        .await;

    let refused = admin
        .post(
            "/admin/init",
            &[
                ("type", "hmac"),
                ("serial", "R1"),
                ("otpkey", RFC4226_HEX),
                ("realm", "realm1"),
            ],
        )
        .await;
    assert_eq!(
        refused.error(),
        (
            POLICY_ERROR,
            "ERR410: The maximum allowed number of tokens for the realm 'realm1' was reached. \
             You can not init any more tokens. Check the policies scope=enrollment, \
             action=tokencount."
                .to_owned()
        )
    );
    assert!(!admin.has_token("R1"));

    let reply = admin
        .post(
            "/admin/init",
            &[
                ("type", "hmac"),
                ("serial", "R2"),
                ("otpkey", RFC4226_HEX),
                ("realm", "realm2"),
            ],
        )
        .await;
    assert_eq!(reply.value(), true, "{}", reply.text());
    assert_eq!(admin.realms_of("R2"), ["realm2"]);
}
