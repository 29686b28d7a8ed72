//! Lookups and counter work: `resync`, `check_serial`, `getSerialByOtp`, `getTokenOwner`,
//! `checkstatus` and `totp_lookup`, against tokens enrolled through `/admin/init`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_support;

use std::sync::Arc;

use admin_support::{Admin, RFC4226_HEX, RFC4226_OTPS};
use linotp_api::auth::ManualClock;
use linotp_core::{HashAlgorithm, hotp};
use linotp_store::challenges::{self, Challenge};
use serde_json::json;

/// 2026-11-26 10:41:40 UTC.
const NOW: i64 = 1_795_689_700;

fn rfc_otp(counter: u64) -> String {
    hotp(b"12345678901234567890", counter, 6, HashAlgorithm::Sha1).unwrap()
}

#[tokio::test]
async fn resync_moves_an_hotp_token_to_two_consecutive_otps() {
    let admin = Admin::new();
    admin.init_hotp("R1", "").await;
    admin.update_token("R1", |token| token.fail_count = 3);
    let reply = admin
        .post(
            "/admin/resync",
            &[
                ("serial", "R1"),
                ("otp1", &rfc_otp(40)),
                ("otp2", &rfc_otp(41)),
            ],
        )
        .await;
    assert_eq!(reply.value(), true);
    let token = admin.token("R1");
    assert_eq!((token.count, token.fail_count), (42, 0));
    let check = admin
        .post(
            "/validate/check_s",
            &[("serial", "R1"), ("pass", &rfc_otp(42))],
        )
        .await;
    assert_eq!(check.value(), true);

    let reply = admin
        .post(
            "/admin/resync",
            &[
                ("serial", "R1"),
                ("otp1", &rfc_otp(50)),
                ("otp2", &rfc_otp(52)),
            ],
        )
        .await;
    assert_eq!(reply.value(), false);
    assert_eq!(admin.token("R1").count, 43);
    let reply = admin
        .post("/admin/resync", &[("serial", "R1"), ("otp2", "1")])
        .await;
    assert_eq!(
        reply.error(),
        (905, "ERR905: Missing parameter: 'otp1'".to_owned())
    );
}

#[tokio::test]
async fn resync_finds_a_drifted_totp_token() {
    let clock = Arc::new(ManualClock::new(NOW));
    let admin = Admin::with_clock(clock);
    admin
        .post(
            "/admin/init",
            &[("type", "totp"), ("serial", "T1"), ("otpkey", RFC4226_HEX)],
        )
        .await;
    // The token's clock runs 5 steps ahead.
    let step = NOW / 30 + 5;
    let reply = admin
        .post(
            "/admin/resync",
            &[
                ("serial", "T1"),
                ("otp1", &rfc_otp((step - 1) as u64)),
                ("otp2", &rfc_otp(step as u64)),
            ],
        )
        .await;
    assert_eq!(reply.value(), true);
    let token = admin.token("T1");
    assert_eq!(i64::from(token.count), step + 1);
    // (step + 0.5) * 30 - now: the middle of the matched step, as LinOTP computes it.
    assert!(
        token.token_info.contains("\"timeShift\": 155.0"),
        "{}",
        token.token_info
    );
}

#[tokio::test]
async fn check_serial_proposes_a_free_serial() {
    let admin = Admin::new();
    admin.init_hotp("DUP", "").await;
    admin.init_hotp("DUP_01", "").await;
    let reply = admin.get("/admin/check_serial", &[("serial", "DUP")]).await;
    assert_eq!(
        reply.value(),
        json!({"unique": false, "new_serial": "DUP_02"})
    );
    let reply = admin
        .get("/admin/check_serial", &[("serial", "FREE")])
        .await;
    assert_eq!(reply.value(), json!({"unique": true, "new_serial": "FREE"}));
    let reply = admin.get("/admin/check_serial", &[]).await;
    assert_eq!(
        reply.error(),
        (905, "ERR905: Missing parameter: 'serial'".to_owned())
    );
}

#[tokio::test]
async fn get_serial_by_otp_finds_the_token_and_uses_up_the_otp() {
    let admin = Admin::new();
    admin.import_users("res1", "realm1", &[("alice", "u1")]);
    admin
        .post(
            "/admin/init",
            &[
                ("serial", "MINE"),
                ("otpkey", RFC4226_HEX),
                ("user", "alice"),
                ("realm", "realm1"),
            ],
        )
        .await;
    admin
        .post("/admin/init", &[("serial", "OTHER"), ("genkey", "1")])
        .await;
    let reply = admin
        .post("/admin/getSerialByOtp", &[("otp", RFC4226_OTPS[3])])
        .await;
    assert_eq!(
        reply.value(),
        json!({
            "success": true,
            "serial": "MINE",
            "user_login": "alice",
            "user_resolver": "useridresolver.SQLIdResolver.IdResolver.res1",
        })
    );
    assert_eq!(admin.token("MINE").count, 4, "the OTP is used up");
    let again = admin
        .post("/admin/getSerialByOtp", &[("otp", RFC4226_OTPS[3])])
        .await;
    assert_eq!(again.value()["serial"], "");

    let unassigned_only = admin
        .post(
            "/admin/getSerialByOtp",
            &[("otp", RFC4226_OTPS[4]), ("assigned", "0")],
        )
        .await;
    assert_eq!(unassigned_only.value()["serial"], "");
    assert_eq!(admin.token("MINE").count, 4);

    // Two tokens with the same seed: LinOTP refuses to choose, and nothing moves.
    admin
        .post(
            "/admin/init",
            &[("serial", "TWIN"), ("otpkey", RFC4226_HEX)],
        )
        .await;
    admin.update_token("TWIN", |token| token.count = 4);
    let twins = admin
        .post("/admin/getSerialByOtp", &[("otp", RFC4226_OTPS[5])])
        .await;
    assert_eq!(
        twins.error(),
        (
            1200,
            "ERR1200: get_token_by_otp: multiple tokens are matching this OTP value!".to_owned()
        )
    );
    assert_eq!(admin.token("MINE").count, 4);
    assert_eq!(admin.token("TWIN").count, 4);
    let missing = admin.post("/admin/getSerialByOtp", &[]).await;
    assert_eq!(
        missing.error(),
        (905, "ERR905: Missing parameter: 'otp'".to_owned())
    );
}

#[tokio::test]
async fn get_token_owner_tells_the_owners_attributes() {
    let admin = Admin::new();
    admin.import_users("res1", "realm1", &[("alice", "u1")]);
    admin
        .post(
            "/admin/init",
            &[
                ("serial", "OWNED"),
                ("otpkey", RFC4226_HEX),
                ("user", "alice"),
                ("realm", "realm1"),
            ],
        )
        .await;
    admin.init_hotp("FREE", "").await;
    let reply = admin
        .get("/admin/getTokenOwner", &[("serial", "OWNED")])
        .await;
    let value = reply.value();
    assert_eq!(value["username"], "alice");
    assert_eq!(value["userid"], "u1");
    assert_eq!(value["email"], "alice@example.test");
    assert_eq!(value["groupid"], "res1");
    assert!(value.get("password").is_none(), "never the password hash");
    let reply = admin
        .get("/admin/getTokenOwner", &[("serial", "FREE")])
        .await;
    assert_eq!(reply.value(), json!({}));
    let reply = admin
        .get("/admin/getTokenOwner", &[("serial", "NOPE")])
        .await;
    assert_eq!(
        reply.error(),
        (1102, "ERR1102: No token with serial NOPE found".to_owned())
    );
    let reply = admin.get("/admin/getTokenOwner", &[]).await;
    assert_eq!(reply.error(), (-311, "'serial'".to_owned()));
}

fn challenge(serial: &str, transid: &str, status: &str) -> Challenge {
    Challenge {
        transid: transid.to_owned(),
        bdata: Some(format!(r#"{{"serial": "{serial}"}}"#).into_bytes()),
        bchallenge: Some(b"Please enter your otp value: ".to_vec()),
        session: format!(r#"{{"status": "{status}", "mac": "m"}}"#),
        tokenserial: serial.to_owned(),
        timestamp: chrono::NaiveDate::from_ymd_opt(2026, 11, 26)
            .unwrap()
            .and_hms_opt(10, 41, 40),
        ..Challenge::default()
    }
}

#[tokio::test]
async fn checkstatus_lists_a_tokens_challenges() {
    let admin = Admin::new();
    admin.init_hotp("C1", "").await;
    {
        let mut conn = admin.conn();
        challenges::insert(&mut conn, &challenge("C1", "11111111111111111", "open")).unwrap();
        challenges::insert(&mut conn, &challenge("C1", "22222222222222222", "closed")).unwrap();
    }
    let reply = admin.get("/admin/checkstatus", &[("serial", "C1")]).await;
    let value = reply.value();
    let entry = &value["values"]["C1"];
    let open = &entry["challenges"]["11111111111111111"];
    assert_eq!(open["session"], json!({"status": "open"}));
    assert_eq!(open["data"], json!({"serial": "C1"}));
    assert_eq!(open["challenge"], "Please enter your otp value: ");
    assert_eq!(open["timestamp"], "2026-11-26 10:41:40");
    assert!(entry["challenges"].get("22222222222222222").is_none());
    assert_eq!(entry["tokeninfo"]["LinOtp.TokenSerialnumber"], "C1");

    let with_closed = admin
        .get(
            "/admin/checkstatus",
            &[("transactionid", "22222222222222222"), ("open", "true")],
        )
        .await;
    assert!(
        with_closed.value()["values"]["C1"]["challenges"]
            .get("22222222222222222")
            .is_some()
    );
    let usage = admin.get("/admin/checkstatus", &[]).await;
    let (code, message) = usage.error();
    assert_eq!(code, 77);
    assert!(message.contains("You need to provide one of the parameters"));
    assert_eq!(usage.id(), 0);
}

#[tokio::test]
async fn totp_lookup_tells_when_an_otp_was_valid() {
    let clock = Arc::new(ManualClock::new(NOW));
    let admin = Admin::with_clock(clock);
    admin
        .post(
            "/admin/init",
            &[("type", "totp"), ("serial", "T1"), ("otpkey", RFC4226_HEX)],
        )
        .await;
    let past_step = NOW / 30 - 100;
    let reply = admin
        .get(
            "/admin/totp_lookup",
            &[("serial", "T1"), ("otp", &rfc_otp(past_step as u64))],
        )
        .await;
    assert_eq!(reply.value(), true);
    let seconds = past_step * 30;
    let time = chrono::DateTime::from_timestamp(seconds, 0)
        .unwrap()
        .naive_utc()
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    assert_eq!(
        reply.detail(),
        json!({
            "serial": "T1",
            "otp": rfc_otp(past_step as u64),
            "counter": past_step,
            "time": time,
            "seconds": seconds,
            "span": 30,
        })
    );
    let future = admin
        .get(
            "/admin/totp_lookup",
            &[("serial", "T1"), ("otp", &rfc_otp((NOW / 30 + 2) as u64))],
        )
        .await;
    assert_eq!(future.value(), false);
    let outside = admin
        .get(
            "/admin/totp_lookup",
            &[
                ("serial", "T1"),
                ("otp", &rfc_otp(past_step as u64)),
                ("window", "10m"),
            ],
        )
        .await;
    assert_eq!(outside.value(), false);
    let too_wide = admin
        .get(
            "/admin/totp_lookup",
            &[("serial", "T1"), ("otp", "123456"), ("window", "400d")],
        )
        .await;
    assert_eq!(
        too_wide.error(),
        (-311, "window '400d' is longer than 366 days".to_owned())
    );
    let not_totp = admin
        .get("/admin/totp_lookup", &[("serial", "NOPE"), ("otp", "1")])
        .await;
    assert_eq!(not_totp.value(), false);
    let missing = admin.get("/admin/totp_lookup", &[("serial", "T1")]).await;
    assert_eq!(
        missing.error(),
        (905, "ERR905: Missing parameter: 'otp'".to_owned())
    );
    assert_eq!(missing.id(), 0);
}
