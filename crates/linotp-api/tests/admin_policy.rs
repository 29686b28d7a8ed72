//! Admin-scope policies over `/admin`: without an admin policy every admin may do
//! everything; with one, an admin acts only where a policy grants the action, and
//! `/admin/show` lists only the realms the admin's policies name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_support;

use admin_support::{Admin, POLICY_ERROR, RFC4226_HEX};

/// Two realms with one user and one token each, enrolled while no admin policy exists.
async fn two_realms() -> Admin {
    let admin = Admin::with_two_realms();
    admin.init_for_user("R1TOKEN", "alice", "realm1", &[]).await;
    admin.init_for_user("R2TOKEN", "bob", "realm2", &[]).await;
    admin
}

fn listed_serials(reply: &admin_support::Reply) -> Vec<String> {
    let mut serials: Vec<String> = reply.value()["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data in {}", reply.text()))
        .iter()
        .map(|row| row["LinOtp.TokenSerialnumber"].as_str().unwrap().to_owned())
        .collect();
    serials.sort();
    serials
}

#[tokio::test]
async fn without_admin_policies_every_admin_may_do_everything() {
    let mut admin = two_realms().await;
    admin.act_as("anyone");
    let shown = admin.post("/admin/show", &[]).await;
    assert_eq!(listed_serials(&shown), ["R1TOKEN", "R2TOKEN"]);
    let reply = admin.post("/admin/disable", &[("serial", "R2TOKEN")]).await;
    assert_eq!(reply.value(), 1, "{}", reply.text());
    assert!(!admin.token("R2TOKEN").is_active);
}

#[tokio::test]
async fn a_realm_admin_sees_and_touches_only_its_realm() {
    let mut admin = two_realms().await;
    admin
        .set_policy("superadmin", "admin", "*", "*", "admin")
        .await;
    admin
        .set_policy(
            "helpdesk_realm1",
            "admin",
            "show, enable, disable, remove, unassign",
            "realm1",
            "helpdesk",
        )
        .await;
    admin.act_as("helpdesk");

    let shown = admin.post("/admin/show", &[]).await;
    assert_eq!(listed_serials(&shown), ["R1TOKEN"], "{}", shown.text());
    let other_view = admin.post("/admin/show", &[("viewrealm", "realm2")]).await;
    assert_eq!(listed_serials(&other_view), Vec::<String>::new());

    let refused = admin.post("/admin/remove", &[("serial", "R2TOKEN")]).await;
    assert_eq!(
        refused.error(),
        (
            POLICY_ERROR,
            "ERR410: You do not have the administrative right to remove token 'R2TOKEN'. Check the policies."
                .to_owned()
        )
    );
    assert!(
        admin.has_token("R2TOKEN"),
        "a refused remove keeps the token"
    );
    let refused = admin
        .post("/admin/unassign", &[("serial", "R2TOKEN")])
        .await;
    assert_eq!(refused.error().0, POLICY_ERROR, "{}", refused.text());
    assert_eq!(admin.token("R2TOKEN").user_id, "u2");
    let refused = admin
        .post("/admin/disable", &[("user", "bob"), ("realm", "realm2")])
        .await;
    assert_eq!(refused.error().0, POLICY_ERROR, "{}", refused.text());
    assert!(admin.token("R2TOKEN").is_active);

    let removed = admin.post("/admin/remove", &[("serial", "R1TOKEN")]).await;
    assert_eq!(removed.value(), 1, "{}", removed.text());
    assert!(!admin.has_token("R1TOKEN"));

    // The superadmin's `*` policy still reaches every realm.
    admin.act_as("admin");
    let shown = admin.post("/admin/show", &[]).await;
    assert_eq!(listed_serials(&shown), ["R2TOKEN"]);
}

#[tokio::test]
async fn an_admin_without_the_action_is_refused() {
    let mut admin = two_realms().await;
    admin
        .set_policy("superadmin", "admin", "*", "*", "admin")
        .await;
    admin
        .set_policy("viewer", "admin", "show", "*", "viewer")
        .await;
    admin.act_as("viewer");

    let shown = admin.post("/admin/show", &[]).await;
    assert_eq!(listed_serials(&shown), ["R1TOKEN", "R2TOKEN"]);
    let refused = admin.post("/admin/disable", &[("serial", "R1TOKEN")]).await;
    assert_eq!(
        refused.error(),
        (
            POLICY_ERROR,
            "ERR410: You do not have the administrative right to disable token R1TOKEN. Check the policies."
                .to_owned()
        )
    );
    assert!(admin.token("R1TOKEN").is_active);
    let refused = admin
        .post("/admin/init", &[("type", "hmac"), ("genkey", "1")])
        .await;
    assert_eq!(refused.error().0, POLICY_ERROR, "{}", refused.text());

    // An admin no policy names has no rights in any realm.
    admin.act_as("stranger");
    let refused = admin.post("/admin/show", &[]).await;
    assert_eq!(
        refused.error(),
        (
            POLICY_ERROR,
            "ERR410: You do not have any rights in any realm! Check the policies.".to_owned()
        )
    );
}

#[tokio::test]
async fn enrollment_rights_follow_the_token_type() {
    let mut admin = two_realms().await;
    admin
        .set_policy("superadmin", "admin", "*", "*", "admin")
        .await;
    admin
        .set_policy("totp_only", "admin", "initTOTP, show", "realm1", "enroller")
        .await;
    admin.act_as("enroller");

    let allowed = admin
        .post(
            "/admin/init",
            &[
                ("type", "totp"),
                ("serial", "T1"),
                ("otpkey", RFC4226_HEX),
                ("user", "alice"),
                ("realm", "realm1"),
            ],
        )
        .await;
    assert_eq!(allowed.value(), true, "{}", allowed.text());
    let other_type = admin
        .post(
            "/admin/init",
            &[
                ("type", "hmac"),
                ("serial", "H1"),
                ("otpkey", RFC4226_HEX),
                ("user", "alice"),
                ("realm", "realm1"),
            ],
        )
        .await;
    assert_eq!(other_type.error().0, POLICY_ERROR, "{}", other_type.text());
    let other_realm = admin
        .post(
            "/admin/init",
            &[
                ("type", "totp"),
                ("serial", "T2"),
                ("otpkey", RFC4226_HEX),
                ("user", "bob"),
                ("realm", "realm2"),
            ],
        )
        .await;
    assert_eq!(
        other_realm.error().0,
        POLICY_ERROR,
        "{}",
        other_realm.text()
    );
    assert!(!admin.has_token("H1") && !admin.has_token("T2"));
}

async fn init_typed(
    admin: &Admin,
    token_type: &str,
    serial: &str,
    user: &str,
) -> admin_support::Reply {
    admin
        .post(
            "/admin/init",
            &[
                ("type", token_type),
                ("serial", serial),
                ("otpkey", RFC4226_HEX),
                ("user", user),
                ("realm", "realm1"),
            ],
        )
        .await
}

#[tokio::test]
async fn maxtoken_limits_the_tokens_of_one_user() {
    let admin = two_realms().await;
    admin.import_users("res1", "realm1", &[("carol", "u3")]);
    admin
        .set_policy("two_each", "enrollment", "maxtoken=2", "realm1", "*")
        .await;

    let second = init_typed(&admin, "totp", "A2", "alice").await;
    assert_eq!(second.value(), true, "{}", second.text());
    let third = init_typed(&admin, "totp", "A3", "alice").await;
    assert_eq!(
        third.error(),
        (
            411,
            "ERR411: The maximum number of allowed tokens per user is exceeded. Check the \
             policies scope=enrollment, action=maxtoken"
                .to_owned()
        )
    );
    assert!(!admin.has_token("A3"));
    // Another user of the realm has a limit of their own.
    let carol = init_typed(&admin, "hmac", "C1", "carol").await;
    assert_eq!(carol.value(), true, "{}", carol.text());
    // A user of a realm without the policy is not limited.
    admin.init_for_user("B2", "bob", "realm2", &[]).await;
    admin.init_for_user("B3", "bob", "realm2", &[]).await;
}

#[tokio::test]
async fn maxtoken_per_type_counts_only_that_type() {
    let admin = two_realms().await;
    admin
        .set_policy("one_hmac", "enrollment", "maxtokenHMAC=1", "realm1", "*")
        .await;

    let another_hmac = init_typed(&admin, "hmac", "A2", "alice").await;
    assert_eq!(
        another_hmac.error(),
        (
            412,
            "ERR412: The maximum number of allowed tokens of type hmac per user is exceeded. \
             Check the policies scope=enrollment, action=maxtokenHMAC"
                .to_owned()
        )
    );
    let totp = init_typed(&admin, "totp", "A3", "alice").await;
    assert_eq!(totp.value(), true, "{}", totp.text());
}

#[tokio::test]
async fn tokencount_limits_the_tokens_of_a_realm() {
    let admin = two_realms().await;
    admin.import_users("res1", "realm1", &[("carol", "u3")]);
    admin
        .set_policy("small_realm", "enrollment", "tokencount=2", "realm1", "*")
        .await;

    let second = init_typed(&admin, "hmac", "C1", "carol").await;
    assert_eq!(second.value(), true, "{}", second.text());
    let third = init_typed(&admin, "hmac", "C2", "carol").await;
    assert_eq!(
        third.error(),
        (
            410,
            "ERR410: The maximum allowed number of tokens for the realm 'realm1' was reached. \
             You can not init any more tokens. Check the policies scope=enrollment, \
             action=tokencount."
                .to_owned()
        )
    );
    assert!(!admin.has_token("C2"));
}

#[tokio::test]
async fn serial_requests_check_the_realms_of_the_token() {
    let mut admin = two_realms().await;
    admin
        .set_policy("superadmin", "admin", "*", "*", "admin")
        .await;
    admin
        .set_policy(
            "helpdesk_realm1",
            "admin",
            "enable, set, setOTPPIN, copytokenpin, losttoken, reset",
            "realm1",
            "helpdesk",
        )
        .await;
    admin.act_as("helpdesk");

    let refused = admin
        .post(
            "/admin/set",
            &[("serial", "R2TOKEN"), ("MaxFailCount", "3")],
        )
        .await;
    assert_eq!(refused.error().0, POLICY_ERROR, "{}", refused.text());
    let refused = admin.post("/admin/enable", &[("serial", "R2TOKEN")]).await;
    assert_eq!(refused.error().0, POLICY_ERROR, "{}", refused.text());
    let refused = admin.post("/admin/reset", &[("serial", "R2TOKEN")]).await;
    assert_eq!(refused.error().0, POLICY_ERROR, "{}", refused.text());
    let refused = admin
        .post(
            "/admin/copyTokenPin",
            &[("from", "R1TOKEN"), ("to", "R2TOKEN")],
        )
        .await;
    assert_eq!(
        refused.error(),
        (
            POLICY_ERROR,
            "ERR410: You do not have the administrative right to copy PIN of token R2TOKEN. \
             Check the policies."
                .to_owned()
        )
    );
    let refused = admin
        .post("/admin/losttoken", &[("serial", "R2TOKEN")])
        .await;
    assert_eq!(refused.error().0, POLICY_ERROR, "{}", refused.text());
    assert!(!admin.has_token("lostR2TOKEN"));
    let before = admin.token("R2TOKEN");
    assert_ne!(before.max_fail, 3);

    let allowed = admin
        .post(
            "/admin/set",
            &[("serial", "R1TOKEN"), ("MaxFailCount", "3")],
        )
        .await;
    assert_eq!(
        allowed.json()["result"]["status"],
        true,
        "{}",
        allowed.text()
    );
    assert_eq!(admin.token("R1TOKEN").max_fail, 3);
}

#[tokio::test]
async fn tokenissuer_and_tokenlabel_name_the_authenticator_entry() {
    let admin = two_realms().await;
    let plain = init_typed(&admin, "hmac", "P1", "alice").await;
    let plain_url = plain.detail()["googleurl"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        plain_url.contains("LinOTP") && plain_url.contains("alice"),
        "{plain_url}"
    );

    admin
        .set_policy(
            "naming",
            "enrollment",
            "tokenissuer=Corp-<r>, tokenlabel=<u>-<s>",
            "realm1",
            "*",
        )
        .await;
    let named = init_typed(&admin, "hmac", "L1", "alice").await;
    let url = named.detail()["googleurl"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.starts_with("otpauth://hotp/"), "{url}");
    assert!(url.contains("Corp-realm1"), "{url}");
    assert!(url.contains("alice-L1"), "{url}");
    assert!(!url.contains("LinOTP"), "{url}");
}
