//! Policies in `/validate`: what each authentication and authorization policy changes for a
//! user of an imported-users realm, on a real SQLite database, as LinOTP decides it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod validate_common;

use std::net::IpAddr;

use axum::http::Method;
use linotp_api::test_app::TestApp;
use serde_json::{Value, json};
use validate_common::{
    NewToken, RFC4226_OTPS, assign, audited, check, conn, delete_policy, import_users,
    insert_token, json, post, send_from, set_config, set_default_realm, set_policy, token,
    update_token, value,
};

const CHECK: &str = "/validate/check";
const CHECK_S: &str = "/validate/check_s";

/// Realm `home` (the default realm) of resolver `HomeRes` with alice (token HOTP1, PIN
/// `pin1`) and bob (no token); realm `other` of resolver `OtherRes` with carol.
fn app() -> TestApp {
    let app = TestApp::sqlite();
    import_users(
        &app,
        "HomeRes",
        "home",
        &[("alice", "u1", "AlicePw1!"), ("bob", "u2", "BobPw2!")],
    );
    import_users(&app, "OtherRes", "other", &[("carol", "o1", "CarolPw3!")]);
    set_default_realm(&app, "home");
    insert_token(&app, &NewToken::hotp("HOTP1", "pin1"));
    assign(&app, "HOTP1", "HomeRes", "u1", "home");
    app
}

/// A policy in realm `home` for every user and client.
fn home_policy(app: &TestApp, name: &str, scope: &str, action: &str) {
    set_policy(
        app,
        name,
        &[
            ("scope", scope),
            ("action", action),
            ("realm", "home"),
            ("user", "*"),
            ("client", ""),
            ("time", ""),
            ("active", "True"),
        ],
    );
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[tokio::test]
async fn otppin_decides_what_the_pin_part_is() {
    // (policy value, pass prefixes accepted, pass prefixes refused), each with the next OTP.
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("0", &["pin1"], &["AlicePw1!", ""]),
        ("token_pin", &["pin1"], &["AlicePw1!"]),
        ("1", &["AlicePw1!"], &["pin1", "alicepw1!", ""]),
        ("password", &["AlicePw1!"], &["pin1"]),
        ("2", &[""], &["pin1", "AlicePw1!"]),
        ("only_otp", &[""], &["pin1"]),
        ("3", &["pin1", "anything", ""], &[]),
        ("ignore_pin", &["whatever"], &[]),
    ];
    for (mode, accepted, refused) in cases {
        let app = app();
        home_policy(
            &app,
            "pin_policy",
            "authentication",
            &format!("otppin={mode}"),
        );
        let router = app.router();
        let mut counter = 0;
        for prefix in *refused {
            let pass = format!("{prefix}{}", RFC4226_OTPS[counter]);
            assert!(
                !check(&router, CHECK, &[("user", "alice"), ("pass", &pass)]).await,
                "otppin={mode} refuses {prefix:?}"
            );
        }
        for prefix in *accepted {
            let pass = format!("{prefix}{}", RFC4226_OTPS[counter]);
            assert!(
                check(&router, CHECK, &[("user", "alice"), ("pass", &pass)]).await,
                "otppin={mode} accepts {prefix:?}"
            );
            counter += 1;
        }
        assert_eq!(token(&app, "HOTP1").count, counter as i32, "otppin={mode}");
    }
}

#[tokio::test]
async fn otppin_password_failures_are_audited_as_such_and_check_s_cannot_satisfy_it() {
    let app = app();
    home_policy(&app, "pin_policy", "authentication", "otppin=1");
    let (router, mut audit) = audited(&app);
    let wrong = format!("pin1{}", RFC4226_OTPS[0]);
    assert!(!check(&router, CHECK, &[("user", "alice"), ("pass", &wrong)]).await);
    assert_eq!(
        audit.recv().await.unwrap().action_detail,
        "wrong user password -1"
    );
    // Without a user there is no password to compare: LinOTP refuses every check_s.
    let right = format!("AlicePw1!{}", RFC4226_OTPS[0]);
    assert!(!check(&router, CHECK_S, &[("serial", "HOTP1"), ("pass", &right)]).await);
    let _ = audit.recv().await;
    assert!(check(&router, CHECK, &[("user", "alice"), ("pass", &right)]).await);
}

#[tokio::test]
async fn conflicting_otppin_policies_refuse_with_linotps_error() {
    let app = app();
    home_policy(&app, "pin_a", "authentication", "otppin=0");
    home_policy(&app, "pin_b", "authentication", "otppin=2");
    let (router, mut audit) = audited(&app);
    let pass = format!("pin1{}", RFC4226_OTPS[0]);
    assert!(!check(&router, CHECK, &[("user", "alice"), ("pass", &pass)]).await);
    let event = audit.recv().await.unwrap();
    assert!(
        event.info.contains("multiple pin policies found"),
        "{event:?}"
    );
    assert_eq!(token(&app, "HOTP1").count, 0);
    // One policy gone, the token works again.
    delete_policy(&app, "pin_b");
    assert!(check(&router, CHECK, &[("user", "alice"), ("pass", &pass)]).await);
}

#[tokio::test]
async fn users_without_tokens_pass_by_system_setting_or_policy() {
    // (setting PassOnUserNoToken, policy action, pass, accepted, audit detail)
    let cases: &[(bool, Option<&str>, &str, bool, &str)] = &[
        (false, None, "BobPw2!", false, "User has no tokens assigned"),
        (
            false,
            Some("passthru"),
            "BobPw2!",
            true,
            "Authenticated against Resolver",
        ),
        (
            false,
            Some("passthru"),
            "bobpw2!",
            false,
            "Authenticated against Resolver",
        ),
        (
            false,
            Some("passOnNoToken"),
            "anything",
            true,
            "Authenticated by passOnNoToken policy",
        ),
        (
            false,
            Some("passthru, passOnNoToken"),
            "wrong",
            false,
            "Authenticated against Resolver",
        ),
        (
            true,
            Some("passthru"),
            "wrong",
            true,
            "authenticated by PassOnUserNoToken",
        ),
    ];
    for (setting, action, pass, accepted, detail) in cases {
        let app = app();
        if *setting {
            set_config(&app, "PassOnUserNoToken", "True");
        }
        if let Some(action) = action {
            home_policy(&app, "no_token", "authentication", action);
        }
        let (router, mut audit) = audited(&app);
        assert_eq!(
            check(&router, CHECK, &[("user", "bob"), ("pass", pass)]).await,
            *accepted,
            "{setting} {action:?} {pass}"
        );
        assert_eq!(audit.recv().await.unwrap().action_detail, *detail);
    }
    // A user with tokens is not touched by passOnNoToken.
    let app = app();
    home_policy(&app, "no_token", "authentication", "passOnNoToken");
    let router = app.router();
    assert!(!check(&router, CHECK, &[("user", "alice"), ("pass", "x")]).await);
}

#[tokio::test]
async fn setrealm_moves_users_of_a_client_network_to_another_realm() {
    let app = app();
    insert_token(&app, &NewToken::hotp("CAROL1", "cpin"));
    assign(&app, "CAROL1", "OtherRes", "o1", "other");
    set_policy(
        &app,
        "vpn_users",
        &[
            ("scope", "authorization"),
            ("action", "setrealm=other"),
            ("realm", "home"),
            ("user", "*"),
            ("client", "10.0.0.0/8"),
            ("active", "True"),
        ],
    );
    let router = app.router();
    let pass = |counter: usize| format!("cpin{}", RFC4226_OTPS[counter]);
    let from = |client: &str, pass: String| {
        let router = router.clone();
        let client = ip(client);
        async move {
            let reply = send_from(
                &router,
                client,
                Method::POST,
                CHECK,
                &[("user", "carol"), ("pass", &pass)],
            )
            .await;
            value(&reply).as_bool().unwrap()
        }
    };
    // carol is not in the default realm; from the VPN she is looked up in `other`.
    assert!(!from("192.0.2.10", pass(0)).await);
    assert!(from("10.20.30.40", pass(0)).await);
    assert!(!from("10.20.30.40", pass(0)).await, "replay");
    // The policy matches the realm asked for: an explicit `home` is moved as well, `other`
    // needs no move.
    let explicit = |client: &str, realm: &'static str, pass: String| {
        let router = router.clone();
        let client = ip(client);
        async move {
            let reply = send_from(
                &router,
                client,
                Method::POST,
                CHECK,
                &[("user", "carol"), ("realm", realm), ("pass", &pass)],
            )
            .await;
            value(&reply).as_bool().unwrap()
        }
    };
    assert!(!explicit("192.0.2.10", "home", pass(1)).await);
    assert!(explicit("10.0.0.1", "home", pass(1)).await);
    assert!(explicit("192.0.2.10", "other", pass(2)).await);
    assert_eq!(token(&app, "CAROL1").count, 3);
}

#[tokio::test]
async fn authorize_policies_restrict_who_may_authenticate_from_where() {
    let app = app();
    set_policy(
        &app,
        "office_only",
        &[
            ("scope", "authorization"),
            ("action", "authorize"),
            ("realm", "home"),
            ("user", "alice"),
            ("client", "10.0.0.0/8"),
            ("active", "True"),
        ],
    );
    let (router, mut audit) = audited(&app);
    let pass = format!("pin1{}", RFC4226_OTPS[0]);
    let reply = post(&router, CHECK, &[("user", "alice"), ("pass", &pass)]).await;
    assert_eq!(value(&reply), Value::Bool(false));
    let event = audit.recv().await.unwrap();
    assert!(
        event
            .info
            .contains("Authorization on client 192.0.2.10 failed for alice@home."),
        "{event:?}"
    );
    assert_eq!(token(&app, "HOTP1").count, 0, "no token was tried");
    let reply = send_from(
        &router,
        ip("10.0.0.7"),
        Method::POST,
        CHECK,
        &[("user", "alice"), ("pass", &pass)],
    )
    .await;
    assert_eq!(value(&reply), Value::Bool(true));
}

#[tokio::test]
async fn tokentype_and_serial_policies_refuse_after_the_otp_is_spent() {
    let app = app();
    home_policy(&app, "types", "authorization", "tokentype=totp spass");
    let (router, mut audit) = audited(&app);
    let first = format!("pin1{}", RFC4226_OTPS[0]);
    assert!(!check(&router, CHECK, &[("user", "alice"), ("pass", &first)]).await);
    let event = audit.recv().await.unwrap();
    assert_eq!(
        event.action_detail,
        "failed due to authorization/tokentype policy"
    );
    assert!(
        event
            .info
            .contains("Authorization for token HOTP1 with type hmac failed on client 192.0.2.10")
    );
    // LinOTP stores the success before it checks the type: the OTP is spent.
    assert_eq!(token(&app, "HOTP1").count, 1);

    delete_policy(&app, "types");
    home_policy(&app, "serials", "authorization", "serial=^TOTP");
    let second = format!("pin1{}", RFC4226_OTPS[1]);
    assert!(!check(&router, CHECK, &[("user", "alice"), ("pass", &second)]).await);
    assert_eq!(
        audit.recv().await.unwrap().action_detail,
        "failed due to authorization/serial policy"
    );
    delete_policy(&app, "serials");
    home_policy(&app, "serials", "authorization", "serial=OTP");
    let third = format!("pin1{}", RFC4226_OTPS[2]);
    assert!(check(&router, CHECK, &[("user", "alice"), ("pass", &third)]).await);
}

#[tokio::test]
async fn detail_policies_add_the_user_on_success_and_the_reason_on_failure() {
    let app = app();
    home_policy(
        &app,
        "details",
        "authorization",
        "detail_on_success, detail_on_fail",
    );
    let router = app.router();
    let pass = format!("pin1{}", RFC4226_OTPS[0]);
    let reply = json(&post(&router, CHECK, &[("user", "alice"), ("pass", &pass)]).await);
    assert_eq!(reply["result"]["value"], true);
    let detail = &reply["detail"];
    assert_eq!(detail["realm"], "home");
    assert_eq!(detail["is_linotp_admin"], false);
    assert_eq!(detail["tokentype"], "HMAC");
    assert_eq!(detail["serial"], "HOTP1");
    assert_eq!(detail["user"]["username"], "alice");
    assert_eq!(detail["user"]["userid"], "u1");
    assert_eq!(detail["user"]["email"], "alice@example.test");
    // Empty attributes are null, and the password never shows.
    assert_eq!(detail["user"]["phone"], Value::Null);
    assert!(detail["user"].get("password").is_none());
    let keys: Vec<&String> = detail.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["user", "realm", "is_linotp_admin", "tokentype", "serial"]
    );

    let reply = json(&post(&router, CHECK, &[("user", "alice"), ("pass", &pass)]).await);
    assert_eq!(reply["result"]["value"], false);
    assert_eq!(reply["detail"], json!({"error": "wrong otp value"}));
    let reply = json(&post(&router, CHECK, &[("user", "nobody"), ("pass", "x")]).await);
    assert_eq!(reply["detail"], json!({"error": "User not found"}));
    // Other realms' users get no details.
    let reply = json(&post(&router, CHECK, &[("user", "carol@other"), ("pass", "x")]).await);
    assert!(reply.get("detail").is_none());
}

#[tokio::test]
async fn exceeded_tokens_are_disabled_or_deleted_by_policy() {
    for (action, disabled, deleted) in [
        ("disable_on_authentication_exceed", true, false),
        ("delete_on_authentication_exceed", false, true),
    ] {
        let app = app();
        home_policy(&app, "exceed", "authentication", action);
        update_token(&app, "HOTP1", |token| {
            token.token_info =
                "{\"hashlib\": \"sha1\", \"count_auth_max\": 1, \"count_auth\": 1}".to_owned();
        });
        let router = app.router();
        let pass = format!("pin1{}", RFC4226_OTPS[0]);
        assert!(!check(&router, CHECK, &[("user", "alice"), ("pass", &pass)]).await);
        let stored = linotp_store::tokens::get_by_serial(&mut conn(&app), "HOTP1").unwrap();
        assert_eq!(stored.is_none(), deleted, "{action}");
        if let Some(stored) = stored {
            assert_eq!(stored.is_active, !disabled, "{action}");
            assert_eq!(stored.fail_count, 1, "{action}");
        }
    }
    // Without a policy the token only counts the failure.
    let app = app();
    update_token(&app, "HOTP1", |token| {
        token.token_info =
            "{\"hashlib\": \"sha1\", \"count_auth_max\": 1, \"count_auth\": 1}".to_owned();
    });
    let pass = format!("pin1{}", RFC4226_OTPS[0]);
    assert!(!check(&app.router(), CHECK, &[("user", "alice"), ("pass", &pass)]).await);
    assert!(token(&app, "HOTP1").is_active);
}

#[tokio::test]
async fn policies_follow_config_changes_without_a_restart() {
    let app = app();
    let router = app.router();
    let pass = |counter: usize| RFC4226_OTPS[counter].to_owned();
    assert!(!check(&router, CHECK, &[("user", "alice"), ("pass", &pass(0))]).await);
    home_policy(&app, "otp_only", "authentication", "otppin=2");
    assert!(check(&router, CHECK, &[("user", "alice"), ("pass", &pass(1))]).await);
    delete_policy(&app, "otp_only");
    assert!(!check(&router, CHECK, &[("user", "alice"), ("pass", &pass(2))]).await);
    assert!(
        check(
            &router,
            CHECK,
            &[("user", "alice"), ("pass", &format!("pin1{}", pass(2)))]
        )
        .await
    );
}
