//! An administrator enrols tokens over HTTP and users authenticate with them, all against
//! the real `linotp-server`: `/admin/init` as LinOTP answers it (golden replies), then
//! `/validate/check_s` and `/validate/simplecheck` accepting and refusing as LinOTP does, and
//! the audit trail of it all (golden `audit.json`, replayed in order).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use linotp_api::testing::{Captures, load_golden_case, load_golden_file};
use linotp_core::{HashAlgorithm, totp};
use linotp_tests::{Client, DataDir, ServerProcess, replay_golden};

const RFC4226_KEY: &[u8] = b"12345678901234567890";

async fn value_of(client: &Client, path: &str, params: &[(&str, &str)]) -> serde_json::Value {
    let reply = client.validate(path, params).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    reply.json()["result"]["value"].clone()
}

#[tokio::test]
async fn enrolled_tokens_authenticate_and_leave_linotps_audit_trail() {
    let data = DataDir::new();
    let server = ServerProcess::start(&data, &[("LINOTP_ADMIN_PASSWORD", "Test123!")])
        .await
        .unwrap();
    let admin = server.client().login("admin", "Test123!").await;
    let session = admin.session.clone().unwrap();
    let mut captures = Captures::default();

    // The golden audit sequence: enrolment, a success and a failure, four searches.
    for case in load_golden_file("audit.json").unwrap() {
        if let Err(mismatches) =
            replay_golden(&server.client(), &session, &case, &mut captures).await
        {
            panic!("{mismatches}");
        }
    }

    // Enrolment replies as LinOTP gives them.
    for name in ["init.hmac_otpkey", "init.totp", "init.spass", "init.pw"] {
        let case = load_golden_case("admin.json", name).unwrap();
        if let Err(mismatches) =
            replay_golden(&server.client(), &session, &case, &mut captures).await
        {
            panic!("{mismatches}");
        }
    }
    let validate = server.client();
    let check_s = |serial: &'static str, pass: String| {
        let validate = validate.clone();
        async move {
            value_of(
                &validate,
                "/validate/check_s",
                &[("serial", serial), ("pass", &pass)],
            )
            .await
        }
    };
    // HOTP with PIN 1234: RFC 4226 values in order, no replay, no wrong PIN.
    assert_eq!(check_s("GLDHMAC1", "1234755224".into()).await, true);
    assert_eq!(check_s("GLDHMAC1", "1234755224".into()).await, false);
    assert_eq!(check_s("GLDHMAC1", "0000287082".into()).await, false);
    assert_eq!(check_s("GLDHMAC1", "1234287082".into()).await, true);
    // TOTP (30 s, empty PIN): the current value once.
    let now = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    let current = totp(RFC4226_KEY, now, 30, 6, HashAlgorithm::Sha1).unwrap();
    assert_eq!(check_s("GLDTOTP", current.clone()).await, true);
    assert_eq!(check_s("GLDTOTP", current).await, false, "replay");
    // spass: the PIN, as often as wanted.
    assert_eq!(check_s("GLDSPASS", "spasspin".into()).await, true);
    assert_eq!(check_s("GLDSPASS", "spasspin".into()).await, true);
    assert_eq!(check_s("GLDSPASS", "spasspi".into()).await, false);
    // pw: PIN and password.
    assert_eq!(check_s("GLDPW", "pwpinsecretpw".into()).await, true);
    assert_eq!(check_s("GLDPW", "pwpinsecretpx".into()).await, false);

    // simplecheck by user: a token of the local admin `admin` in the admin realm.
    let assigned = admin
        .admin(
            "/admin/init",
            &[
                ("type", "hmac"),
                ("serial", "E2EUSER1"),
                ("otpkey", "3132333435363738393031323334353637383930"),
                ("pin", "userpin"),
                ("user", "admin"),
                ("realm", "linotp_admins"),
            ],
        )
        .await;
    assert_eq!(
        assigned.json()["result"]["value"],
        true,
        "{}",
        assigned.body
    );
    let simplecheck = |pass: &'static str| {
        let validate = validate.clone();
        async move {
            validate
                .validate(
                    "/validate/simplecheck",
                    &[
                        ("user", "admin"),
                        ("realm", "linotp_admins"),
                        ("pass", pass),
                    ],
                )
                .await
                .body
        }
    };
    assert_eq!(simplecheck("userpin755224").await, ":-)");
    assert_eq!(simplecheck("userpin755224").await, ":-(");
    assert_eq!(simplecheck("wrongpin287082").await, ":-(");
    assert_eq!(simplecheck("userpin287082").await, ":-)");

    // Every one of these requests is in the signed trail.
    let trail = admin
        .admin("/audit/search", &[("action", "validate/%"), ("rp", "100")])
        .await;
    let found = trail.json();
    assert_eq!(found["total"], 17, "{}", trail.body);
    for row in found["rows"].as_array().unwrap() {
        assert_eq!(row["cell"][2], "OK");
    }
    assert!(server.stop().await.success());
}
