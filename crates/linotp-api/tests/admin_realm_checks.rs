//! A realm-restricted admin on the `/admin` endpoints that address a token by serial, OTP or
//! challenge: `getSerialByOtp`, `getTokenOwner`, `checkstatus`, `totp_lookup`, `unpair`,
//! `setValidity` and `tokenrealm`. On a token of another realm each request is refused with
//! LinOTP's policy error and changes nothing; on a token of the admin's realm it works.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_support;

use std::sync::Arc;

use admin_support::{Admin, POLICY_ERROR, Reply};
use data_encoding::HEXLOWER;
use linotp_api::auth::ManualClock;
use linotp_core::{HashAlgorithm, hotp};
use linotp_store::challenges::{self, Challenge};
use linotp_store::tokens::{self, TokenFilter, TokenListOptions};

/// 2026-11-26 10:41:40 UTC.
const NOW: i64 = 1_795_689_700;

/// Seeds per token, so that an OTP identifies exactly one token.
const SEEDS: [(&str, &[u8; 20]); 4] = [
    ("H1", b"realm one hotp seed."),
    ("H2", b"realm two hotp seed."),
    ("T1", b"realm one totp seed."),
    ("T2", b"realm two totp seed."),
];

fn seed(serial: &str) -> &'static [u8; 20] {
    SEEDS
        .iter()
        .find(|(name, _)| *name == serial)
        .map(|(_, seed)| *seed)
        .unwrap()
}

fn otp(serial: &str, counter: i64) -> String {
    hotp(seed(serial), counter as u64, 6, HashAlgorithm::Sha1).unwrap()
}

/// An OTP of a TOTP token from an hour ago (what `totp_lookup` looks for).
fn past_totp(serial: &str) -> String {
    otp(serial, NOW / 30 - 120)
}

fn open_challenge(serial: &str, transid: &str) -> Challenge {
    Challenge {
        transid: transid.to_owned(),
        bdata: Some(format!(r#"{{"serial": "{serial}"}}"#).into_bytes()),
        bchallenge: Some(b"Please enter your otp value: ".to_vec()),
        session: r#"{"status": "open", "mac": "m"}"#.to_owned(),
        tokenserial: serial.to_owned(),
        timestamp: chrono::DateTime::from_timestamp(NOW, 0).map(|time| time.naive_utc()),
        ..Challenge::default()
    }
}

/// Realms `realm1` (alice, tokens H1 and T1), `realm2` (bob, H2 and T2) and `realm3`
/// (carol, no tokens), an open challenge on H1 and H2, and the session of `helpdesk`, whose
/// only policy grants the lookup and management actions in realm1 and realm3.
async fn helpdesk_of_realm1() -> Admin {
    let mut admin = Admin::with_clock(Arc::new(ManualClock::new(NOW)));
    admin.import_users("res1", "realm1", &[("alice", "u1")]);
    admin.import_users("res2", "realm2", &[("bob", "u2")]);
    admin.import_users("res3", "realm3", &[("carol", "u3")]);
    for (serial, token_type, user, realm) in [
        ("H1", "hmac", "alice", "realm1"),
        ("H2", "hmac", "bob", "realm2"),
        ("T1", "totp", "alice", "realm1"),
        ("T2", "totp", "bob", "realm2"),
    ] {
        let reply = admin
            .post(
                "/admin/init",
                &[
                    ("type", token_type),
                    ("serial", serial),
                    ("otpkey", &HEXLOWER.encode(seed(serial))),
                    ("user", user),
                    ("realm", realm),
                ],
            )
            .await;
        assert_eq!(reply.value(), true, "{}", reply.text());
    }
    {
        let mut conn = admin.conn();
        challenges::insert(&mut conn, &open_challenge("H1", "11111111111111111")).unwrap();
        challenges::insert(&mut conn, &open_challenge("H2", "22222222222222222")).unwrap();
    }
    for (name, action, realm, user) in [
        ("superadmin", "*", "*", "admin"),
        (
            "helpdesk_realm1",
            "show, getserial, tokenowner, checkstatus, totp_lookup, unpair, set, manageToken",
            "realm1, realm3",
            "helpdesk",
        ),
    ] {
        let reply = admin
            .post(
                "/system/setPolicy",
                &[
                    ("name", name),
                    ("scope", "admin"),
                    ("action", action),
                    ("realm", realm),
                    ("user", user),
                ],
            )
            .await;
        assert_eq!(reply.json()["result"]["status"], true, "{}", reply.text());
    }
    let (cookie, csrf) = admin.app.admin_session("helpdesk");
    admin.cookie = cookie;
    admin.csrf = csrf;
    admin.audit_events();
    admin
}

/// Every token row with its realms: what a refused request must leave as it was.
fn all_tokens(admin: &Admin) -> Vec<(tokens::Token, Vec<String>)> {
    let rows = tokens::list(
        &mut admin.conn(),
        &TokenFilter::default(),
        &TokenListOptions {
            sort: tokens::TokenSort::Id,
            ..TokenListOptions::default()
        },
    )
    .unwrap()
    .tokens;
    rows.into_iter()
        .map(|token| {
            let realms = admin.realms_of(&token.serial);
            (token, realms)
        })
        .collect()
}

/// How a refusal shows: LinOTP's policy error, or (for `unpair`, which answers every
/// failure with `status: false, value: false`) the audit row's info.
enum Refusal {
    Error(&'static str),
    UnpairAudit(&'static str),
}

struct Case {
    path: &'static str,
    /// Parameters naming a token of realm2 (or moving a realm1 token into realm2).
    foreign: Vec<(&'static str, String)>,
    refusal: Refusal,
    /// Parameters naming a token of realm1, and what the reply and the store then show.
    own: Vec<(&'static str, String)>,
    works: fn(&mut Admin, &Reply),
}

fn cases() -> Vec<Case> {
    let text = |value: &str| value.to_owned();
    vec![
        Case {
            path: "/admin/getSerialByOtp",
            foreign: vec![("otp", otp("H2", 0))],
            refusal: Refusal::Error(
                "ERR410: You do not have the administrative right to get serials from this realm!",
            ),
            own: vec![("otp", otp("H1", 0))],
            works: |admin, reply| {
                assert_eq!(reply.value()["serial"], "H1", "{}", reply.text());
                assert_eq!(
                    admin.token("H1").count,
                    1,
                    "the OTP found moves the counter"
                );
            },
        },
        Case {
            path: "/admin/getTokenOwner",
            foreign: vec![("serial", text("H2"))],
            refusal: Refusal::Error(
                "ERR410: You do not have the administrative right to get the token owner in \
                 realm 'realm2'.",
            ),
            own: vec![("serial", text("H1"))],
            works: |_, reply| {
                assert_eq!(reply.value()["username"], "alice", "{}", reply.text());
            },
        },
        Case {
            path: "/admin/checkstatus",
            foreign: vec![("serial", text("H2"))],
            refusal: Refusal::Error(
                "ERR410: You do not have the administrative right to show status of token \
                 challenges in realm 'realm2'.",
            ),
            own: vec![("serial", text("H1"))],
            works: |_, reply| {
                let value = reply.value();
                let challenges = &value["values"]["H1"]["challenges"];
                assert!(
                    challenges["11111111111111111"].is_object(),
                    "{}",
                    reply.text()
                );
            },
        },
        Case {
            path: "/admin/checkstatus",
            foreign: vec![("transactionid", text("22222222222222222"))],
            refusal: Refusal::Error(
                "ERR410: You do not have the administrative right to show status of token \
                 challenges in realm 'realm2'.",
            ),
            own: vec![("transactionid", text("11111111111111111"))],
            works: |_, reply| {
                let value = reply.value();
                assert_eq!(
                    value["values"]
                        .as_object()
                        .unwrap()
                        .keys()
                        .collect::<Vec<_>>(),
                    ["H1"],
                    "{}",
                    reply.text()
                );
            },
        },
        Case {
            path: "/admin/totp_lookup",
            foreign: vec![("serial", text("T2")), ("otp", past_totp("T2"))],
            refusal: Refusal::Error(
                "ERR410: You do not have the administrative right to get token info in this \
                 realm!",
            ),
            own: vec![("serial", text("T1")), ("otp", past_totp("T1"))],
            works: |_, reply| {
                assert_eq!(reply.value(), true, "{}", reply.text());
                assert_eq!(reply.detail()["seconds"], (NOW / 30 - 120) * 30);
            },
        },
        Case {
            path: "/admin/unpair",
            foreign: vec![("serial", text("H2"))],
            refusal: Refusal::UnpairAudit(
                "ERR410: You do not have the administrative right to unpair token 'H2'. Check \
                 the policies.",
            ),
            own: vec![("serial", text("H1"))],
            works: |admin, reply| {
                // The admin may unpair H1; an HOTP token simply has no pairing to undo.
                assert_eq!(reply.json()["result"]["value"], false, "{}", reply.text());
                let events = admin.audit_events();
                let event = events.last().unwrap();
                assert_eq!(event.info, "token type HMAC doesn't support unpairing ");
                assert_eq!(event.realm, "realm1");
            },
        },
        Case {
            path: "/admin/setValidity",
            foreign: vec![
                ("tokens[]", text("H1")),
                ("tokens[]", text("H2")),
                ("countAuthMax", text("5")),
            ],
            refusal: Refusal::Error(
                "ERR410: You do not have the administrative right to set token properties for \
                 H2. Check the policies.",
            ),
            own: vec![("tokens[]", text("H1")), ("countAuthMax", text("5"))],
            works: |admin, reply| {
                assert_eq!(reply.value(), serde_json::json!(["H1"]));
                assert!(
                    admin
                        .token("H1")
                        .token_info
                        .contains("\"count_auth_max\": 5"),
                    "{}",
                    admin.token("H1").token_info
                );
            },
        },
        Case {
            path: "/admin/tokenrealm",
            foreign: vec![("serial", text("H2")), ("realms", text("realm1"))],
            refusal: Refusal::Error(
                "ERR410: You do not have the administrative right to remove tokens from realm \
                 'realm2'. Check the policies.",
            ),
            own: vec![("serial", text("H1")), ("realms", text("realm1,realm3"))],
            works: |admin, reply| {
                assert_eq!(reply.value(), 1, "{}", reply.text());
                assert_eq!(admin.realms_of("H1"), ["realm1", "realm3"]);
            },
        },
        Case {
            path: "/admin/tokenrealm",
            foreign: vec![("serial", text("H1")), ("realms", text("realm1,realm2"))],
            refusal: Refusal::Error(
                "ERR410: You do not have the administrative right to add tokens to realm \
                 realm2. Check the policies.",
            ),
            own: vec![("serial", text("H1")), ("realms", text("realm3"))],
            works: |admin, reply| {
                assert_eq!(reply.value(), 1, "{}", reply.text());
                assert_eq!(admin.realms_of("H1"), ["realm3"]);
            },
        },
    ]
}

fn as_params<'a>(params: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    params
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect()
}

#[tokio::test]
async fn a_realm_admin_reaches_only_tokens_of_its_realms() {
    for case in cases() {
        // A fresh application per case: an allowed request changes tokens the next case uses.
        let mut admin = helpdesk_of_realm1().await;
        let before = all_tokens(&admin);
        let reply = admin.post(case.path, &as_params(&case.foreign)).await;
        match case.refusal {
            Refusal::Error(message) => {
                assert_eq!(
                    reply.error(),
                    (POLICY_ERROR, message.to_owned()),
                    "{}",
                    case.path
                );
            }
            Refusal::UnpairAudit(message) => {
                let json = reply.json();
                assert_eq!(json["result"]["status"], false, "{}", reply.text());
                assert_eq!(json["result"]["value"], false, "{}", reply.text());
                let events = admin.audit_events();
                let event = events.last().unwrap();
                assert_eq!(event.info, message);
                assert!(!event.success);
            }
        }
        assert!(
            all_tokens(&admin) == before,
            "{} {:?} changed the store",
            case.path,
            case.foreign
        );

        admin.audit_events();
        let reply = admin.post(case.path, &as_params(&case.own)).await;
        (case.works)(&mut admin, &reply);
    }
}

#[tokio::test]
async fn an_admin_with_every_realm_reaches_every_token() {
    let mut admin = helpdesk_of_realm1().await;
    let (cookie, csrf) = admin.app.admin_session("admin");
    admin.cookie = cookie;
    admin.csrf = csrf;
    let owner = admin
        .post("/admin/getTokenOwner", &[("serial", "H2")])
        .await;
    assert_eq!(owner.value()["username"], "bob");
    let found = admin
        .post("/admin/getSerialByOtp", &[("otp", &otp("H2", 0))])
        .await;
    assert_eq!(found.value()["serial"], "H2");
    let status = admin.post("/admin/checkstatus", &[("serial", "H2")]).await;
    assert!(status.value()["values"]["H2"].is_object());
    let moved = admin
        .post(
            "/admin/tokenrealm",
            &[("serial", "H2"), ("realms", "realm1")],
        )
        .await;
    assert_eq!(moved.value(), 1);
    assert_eq!(admin.realms_of("H2"), ["realm1"]);
}

#[tokio::test]
async fn a_token_in_no_realm_needs_rights_in_every_realm() {
    let mut admin = helpdesk_of_realm1().await;
    // Take H2 out of every realm as the superadmin, then ask as the realm1 helpdesk.
    let (cookie, csrf) = admin.app.admin_session("admin");
    admin.cookie = cookie;
    admin.csrf = csrf;
    let cleared = admin
        .post("/admin/tokenrealm", &[("serial", "H2"), ("realms", "")])
        .await;
    assert_eq!(cleared.value(), 1, "{}", cleared.text());
    assert!(admin.realms_of("H2").is_empty());
    let (cookie, csrf) = admin.app.admin_session("helpdesk");
    admin.cookie = cookie;
    admin.csrf = csrf;
    let before = admin.token("H2");
    let refused = admin
        .post(
            "/admin/setValidity",
            &[("tokens[]", "H2"), ("countAuthMax", "5")],
        )
        .await;
    assert_eq!(refused.error().0, POLICY_ERROR, "{}", refused.text());
    assert!(admin.token("H2") == before);
    let refused = admin
        .post("/admin/getTokenOwner", &[("serial", "H2")])
        .await;
    assert_eq!(
        refused.error(),
        (
            POLICY_ERROR,
            "ERR410: You do not have the administrative right to get the token owner in realm ''."
                .to_owned()
        )
    );
}
