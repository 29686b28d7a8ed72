//! The real server on a copy of a data directory made by LinOTP itself
//! (`shared/fixtures/linotp-sqlite`): `linotp init database` adopts it, LinOTP's local admin
//! logs in, LinOTP's own audit rows pass `sig_check`, and the manifest's tokens authenticate
//! (or are refused) over HTTP as the manifest says.
//!
//! The copy loses the `otppin=1` policy `fix_auth_otppin` (the fixture README: with it LinOTP
//! refuses every `check_s` without a user); policies arrive with the next issue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use linotp_store::Store;
use linotp_store::diesel::RunQueryDsl;
use linotp_tests::{DataDir, ServerProcess, fixture_dir};
use serde_json::Value;

/// A data directory holding copies of LinOTP's files, as `ROOT_DIR` expects them.
fn linotp_data_dir() -> DataDir {
    let data = DataDir::new();
    std::fs::create_dir_all(data.root()).unwrap();
    for file in [
        "linotp.db",
        "linotp.db_audit",
        "encKey",
        "audit-private.pem",
        "audit-public.pem",
    ] {
        std::fs::copy(fixture_dir().join(file), data.file(file)).unwrap();
    }
    let store =
        Store::open_uri(&format!("sqlite:///{}", data.file("linotp.db").display())).unwrap();
    let mut conn = store.connection().unwrap();
    let deleted = linotp_store::diesel::sql_query(
        "DELETE FROM \"Config\" WHERE \"Key\" LIKE 'linotp.Policy.fix_auth_otppin.%'",
    )
    .execute(&mut conn)
    .unwrap();
    assert!(deleted > 0, "the otppin policy rows were there");
    data
}

fn manifest() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture_dir().join("manifest.json")).unwrap())
        .unwrap()
}

fn token<'a>(manifest: &'a Value, serial: &str) -> &'a Value {
    manifest["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|token| token["serial"] == serial)
        .unwrap()
}

#[tokio::test]
async fn a_linotp_data_directory_serves_its_admin_audit_trail_and_tokens() {
    let data = linotp_data_dir();

    // As LinOTP's own server, ours refuses a database it has not adopted yet.
    let failure = ServerProcess::start(&data, &[]).await.unwrap_err();
    assert_eq!(failure.status.and_then(|status| status.code()), Some(3));
    assert!(
        failure.stderr.contains("linotp init database"),
        "{}",
        failure.stderr
    );
    let init = data.linotp(&["init", "database"]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );

    let server = ServerProcess::start(&data, &[]).await.unwrap();
    assert_eq!(server.generated_password(), None, "an existing directory");
    let manifest = manifest();
    let admin = server
        .client()
        .login(
            manifest["admin"]["user"].as_str().unwrap(),
            manifest["admin"]["password"].as_str().unwrap(),
        )
        .await;

    let search = admin
        .admin("/audit/search", &[("sortorder", "asc"), ("rp", "200")])
        .await;
    assert_eq!(search.status, 200);
    let found = search.json();
    let rows = found["rows"].as_array().unwrap();
    let linotp_rows = manifest["audit"]["rows"].as_i64().unwrap();
    let ids: Vec<i64> = rows.iter().map(|row| row["id"].as_i64().unwrap()).collect();
    assert_eq!(
        ids,
        (1..=linotp_rows + 1).collect::<Vec<_>>(),
        "every row LinOTP wrote, then our login"
    );
    for row in rows {
        assert_eq!(row["cell"][2], "OK", "sig_check of row {}", row["id"]);
    }
    assert_eq!(rows[linotp_rows as usize]["cell"][4], "admin/login");

    let validate = server.client();
    let check_s = |serial: &'static str, pass: String| {
        let validate = validate.clone();
        async move {
            let reply = validate
                .validate("/validate/check_s", &[("serial", serial), ("pass", &pass)])
                .await;
            assert_eq!(reply.status, 200);
            reply.json()["result"]["value"].clone()
        }
    };
    let pin_otp = |serial: &str| {
        let token = token(&manifest, serial);
        format!(
            "{}{}",
            token["pin"].as_str().unwrap(),
            token["next_otp"].as_str().unwrap()
        )
    };
    // HOTP with the next OTP; the OTPs LinOTP accepted before are replays now.
    assert_eq!(check_s("FIXHOTP1", pin_otp("FIXHOTP1")).await, true);
    assert_eq!(
        check_s("FIXHOTP1", "alicepin359152".to_owned()).await,
        false
    );
    assert_eq!(check_s("FIXREALM1", pin_otp("FIXREALM1")).await, true);
    // spass repeatedly, pw with its password.
    assert_eq!(check_s("FIXSPASS1", "spasspin".to_owned()).await, true);
    assert_eq!(check_s("FIXSPASS1", "spasspin".to_owned()).await, true);
    assert_eq!(check_s("FIXSPASS1", "wrongpin".to_owned()).await, false);
    assert_eq!(check_s("FIXPW1", "pwpinpwsecret".to_owned()).await, true);
    assert_eq!(check_s("FIXPW1", "pwpinwrong".to_owned()).await, false);
    // Disabled and locked tokens refuse even correct values.
    assert_eq!(
        check_s("FIXDISABLED1", pin_otp("FIXDISABLED1")).await,
        false
    );
    assert_eq!(check_s("FIXLOCKED1", pin_otp("FIXLOCKED1")).await, false);

    // simplecheck: the text PAM modules parse, by user in the default realm.
    let alice = token(&manifest, "FIXHOTP1");
    let following = alice["following_otps"]["4"].as_str().unwrap();
    let simple = validate
        .validate(
            "/validate/simplecheck",
            &[("user", "alice"), ("pass", &format!("alicepin{following}"))],
        )
        .await;
    assert_eq!(simple.body, ":-)");
    let replay = validate
        .validate(
            "/validate/simplecheck",
            &[("user", "alice"), ("pass", &format!("alicepin{following}"))],
        )
        .await;
    assert_eq!(replay.body, ":-(");

    assert!(server.stop().await.success());
}
