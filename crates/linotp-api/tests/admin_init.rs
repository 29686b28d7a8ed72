//! `/admin/init` as an admin client uses it: every supported token type, the columns and
//! tokeninfo LinOTP would store, generated seeds and serials, enrollment URLs and QR images,
//! LinOTP's errors for bad input, and tokens that then authenticate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_support;

use admin_support::{Admin, RFC4226_HEX, RFC4226_OTPS};
use data_encoding::{BASE32_NOPAD, HEXLOWER};
use linotp_core::{HashAlgorithm, hotp};
use linotp_crypto::token_secrets;
use serde_json::Value;

fn seed_of(detail: &Value) -> String {
    detail["otpkey"]["value"]
        .as_str()
        .unwrap()
        .strip_prefix("seed://")
        .unwrap()
        .to_owned()
}

fn stored_seed(admin: &Admin, serial: &str) -> String {
    let token = admin.token(serial);
    let seed = token_secrets::decrypt_seed(
        admin.app.state.security.as_ref(),
        &token.key_iv,
        &token.key_enc,
    )
    .unwrap();
    String::from_utf8(seed.expose().to_vec()).unwrap()
}

#[tokio::test]
async fn a_generated_hotp_seed_is_returned_stored_and_authenticates() {
    let admin = Admin::new();
    let reply = admin
        .post(
            "/admin/init",
            &[
                ("type", "hmac"),
                ("serial", "GEN1"),
                ("genkey", "1"),
                ("pin", "9876"),
            ],
        )
        .await;
    assert_eq!(reply.value(), true);
    let detail = reply.detail();
    let seed = seed_of(&detail);
    assert_eq!(seed.len(), 40, "20 random bytes as hex");
    assert_eq!(stored_seed(&admin, "GEN1"), seed);

    let key = HEXLOWER.decode(seed.as_bytes()).unwrap();
    let url = detail["googleurl"]["value"].as_str().unwrap();
    assert_eq!(detail["enrollment_url"], detail["googleurl"]);
    assert_eq!(
        url,
        format!(
            "otpauth://hotp/LinOTP:GEN1?secret={}&counter=0&issuer=LinOTP",
            BASE32_NOPAD.encode(&key)
        )
    );

    // The seed the admin got back is the one /validate checks against.
    let first = hotp(&key, 0, 6, HashAlgorithm::Sha1).unwrap();
    let check = admin
        .post(
            "/validate/check_s",
            &[("serial", "GEN1"), ("pass", &format!("9876{first}"))],
        )
        .await;
    assert_eq!(check.value(), true, "{}", check.text());
    let second = hotp(&key, 1, 6, HashAlgorithm::Sha1).unwrap();
    let check = admin
        .post(
            "/validate/check_s",
            &[("serial", "GEN1"), ("pass", &format!("9876{second}"))],
        )
        .await;
    assert_eq!(check.value(), true);
    let replay = admin
        .post(
            "/validate/check_s",
            &[("serial", "GEN1"), ("pass", &format!("9876{first}"))],
        )
        .await;
    assert_eq!(replay.value(), false);
}

#[tokio::test]
async fn hotp_rows_carry_linotps_columns_and_config_defaults() {
    let admin = Admin::new();
    admin.set_config("DefaultMaxFailCount", "7");
    admin.set_config("DefaultCountWindow", "25");
    admin
        .post(
            "/admin/init",
            &[
                ("type", "HMAC"),
                ("serial", "ROW1"),
                ("otpkey", "3132 3334-3536373839303132333435363738393 0"),
                ("pin", "1234"),
                ("description", "desk token"),
            ],
        )
        .await;
    let token = admin.token("ROW1");
    assert_eq!(token.token_type, "HMAC");
    assert_eq!(token.token_info, "{\n\"hashlib\": \"sha1\"\n}");
    assert_eq!(token.description, "desk token");
    assert_eq!(
        (
            token.otp_len,
            token.max_fail,
            token.count_window,
            token.sync_window
        ),
        (6, 7, 25, 1000)
    );
    assert_eq!(
        (token.count, token.fail_count, token.is_active),
        (0, 0, true)
    );
    assert!(token.creation_date.is_some());
    assert!(token.user_id.is_empty());
    // Spaces and dashes of the seed are stripped, as LinOTP does.
    assert_eq!(stored_seed(&admin, "ROW1"), RFC4226_HEX);
    assert!(admin.pin_matches("ROW1", "1234"));
    assert!(!admin.pin_matches("ROW1", "1235"));
    assert!(!token.pin_hash.starts_with("@@"));

    admin
        .post(
            "/admin/init",
            &[
                ("serial", "ROW2"),
                ("otpkey", RFC4226_HEX),
                ("pin", "secret-pin"),
                ("encryptpin", "true"),
                ("otplen", "8"),
                ("hashlib", "sha256"),
            ],
        )
        .await;
    let token = admin.token("ROW2");
    assert!(token.pin_hash.starts_with("@@"));
    assert!(admin.pin_matches("ROW2", "secret-pin"));
    assert_eq!(token.otp_len, 8);
    assert_eq!(token.token_info, "{\n\"hashlib\": \"sha256\"\n}");
}

#[tokio::test]
async fn totp_tokeninfo_is_written_as_linotp_writes_it() {
    let admin = Admin::new();
    let reply = admin
        .post(
            "/admin/init",
            &[
                ("type", "totp"),
                ("serial", "T30"),
                ("otpkey", RFC4226_HEX),
                ("pin", ""),
            ],
        )
        .await;
    assert_eq!(
        reply.detail()["enrollment_url"]["value"],
        "otpauth://totp/LinOTP:T30?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=LinOTP"
    );
    let token = admin.token("T30");
    assert_eq!(token.token_type, "TOTP");
    assert_eq!(
        token.token_info,
        "{\n\"hashlib\": \"sha1\",\n\"timeWindow\": \"300\",\n\"timeShift\": \"0\",\n\"timeStep\": \"30\"\n}"
    );

    let reply = admin
        .post(
            "/admin/init",
            &[
                ("type", "totp"),
                ("serial", "T60"),
                ("genkey", "1"),
                ("hashlib", "sha512"),
                ("timeStep", "60"),
                ("otplen", "8"),
            ],
        )
        .await;
    let detail = reply.detail();
    assert_eq!(seed_of(&detail).len(), 128, "64-byte key for sha512");
    let url = detail["googleurl"]["value"].as_str().unwrap();
    assert!(
        url.ends_with("&digits=8&algorithm=SHA512&period=60&issuer=LinOTP"),
        "{url}"
    );
    let token = admin.token("T60");
    assert_eq!(token.otp_len, 8);
    assert!(token.token_info.contains("\"timeStep\": \"60\""));
    // hashlib keeps its first position when TOTP sets it again (a Python dict).
    assert!(
        token
            .token_info
            .starts_with("{\n\"hashlib\": \"sha512\",\n\"timeWindow\"")
    );
}

#[tokio::test]
async fn motp_spass_pw_and_dpw_tokens_store_their_secrets() {
    let admin = Admin::new();
    let reply = admin
        .post(
            "/admin/init",
            &[
                ("type", "motp"),
                ("serial", "M1"),
                ("otpkey", "1234567890123456"),
                ("otppin", "4711"),
            ],
        )
        .await;
    assert_eq!(
        reply.detail()["googleurl"]["value"],
        "otpauth://motp/LinOTP:M1?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY&issuer=LinOTP"
    );
    let token = admin.token("M1");
    assert_eq!(token.token_type, "mOTP");
    let device_pin = token_secrets::decrypt_user_pin(
        admin.app.state.security.as_ref(),
        &token.pin_user,
        &token.pin_user_iv,
    )
    .unwrap();
    assert_eq!(device_pin.expose(), "4711");
    assert_eq!(stored_seed(&admin, "M1"), "1234567890123456");
    let missing = admin
        .post(
            "/admin/init",
            &[
                ("type", "motp"),
                ("serial", "M2"),
                ("otpkey", "1234567890123456"),
            ],
        )
        .await;
    assert_eq!(
        missing.error(),
        (905, "ERR905: Missing parameter: 'otppin'".to_owned())
    );

    let reply = admin
        .post(
            "/admin/init",
            &[
                ("type", "spass"),
                ("serial", "S1"),
                ("pin", "only-pin"),
                ("onetime", "1"),
            ],
        )
        .await;
    let detail = reply.detail();
    assert_eq!(seed_of(&detail).len(), 40, "spass gets a generated seed");
    assert!(detail.get("googleurl").is_none());
    let token = admin.token("S1");
    assert_eq!(token.token_type, "spass");
    assert_eq!(token.token_info, "{\n\"count_auth_success_max\": 1\n}");
    let check = admin
        .post(
            "/validate/check_s",
            &[("serial", "S1"), ("pass", "only-pin")],
        )
        .await;
    assert_eq!(check.value(), true);

    admin
        .post(
            "/admin/init",
            &[
                ("type", "pw"),
                ("serial", "P1"),
                ("otpkey", "correct horse"),
                ("pin", "pp"),
            ],
        )
        .await;
    let token = admin.token("P1");
    assert_eq!(token.token_type, "pw");
    assert_eq!(token.key_iv, token_secrets::PW_TOKEN_KEY_IV);
    assert_eq!(token.otp_len, 13, "the password's length");
    assert_eq!(token.token_info, "");
    assert!(
        token_secrets::verify_pw_token(
            admin.app.state.security.as_ref(),
            &token.key_iv,
            &token.key_enc,
            "correct horse"
        )
        .unwrap()
    );
    let missing = admin
        .post("/admin/init", &[("type", "pw"), ("serial", "P2")])
        .await;
    assert_eq!(
        missing.error(),
        (905, "ERR905: Missing Parameter 'otpkey'!".to_owned())
    );

    admin
        .post(
            "/admin/init",
            &[("type", "dpw"), ("serial", "D1"), ("otpkey", "day-secret")],
        )
        .await;
    let token = admin.token("D1");
    assert_eq!(token.token_type, "DPW");
    assert_eq!(stored_seed(&admin, "D1"), "day-secret");
    let missing = admin
        .post("/admin/init", &[("type", "dpw"), ("serial", "D2")])
        .await;
    assert_eq!(
        missing.error(),
        (905, "ERR905: Missing parameter: 'otpkey'".to_owned())
    );
}

/// Parameters of a failing `/admin/init`, the error code and message LinOTP answers.
type BadInit = (&'static [(&'static str, &'static str)], i64, &'static str);

#[tokio::test]
async fn bad_input_gets_linotps_errors_and_creates_nothing() {
    let admin = Admin::new();
    let cases: [BadInit; 7] = [
        (
            &[("serial", "E1"), ("genkey", "1"), ("otpkey", RFC4226_HEX)],
            344,
            "ERR344: [ParameterError] You may either specifygenkey or otpkey, but not both!",
        ),
        (
            &[("serial", "E2"), ("otpkey", "31zz")],
            -311,
            "'The provided token seed contains non-hexadecimal characters'",
        ),
        (
            &[("serial", "E3"), ("otpkey", RFC4226_HEX), ("otplen", "7")],
            -311,
            "unsupported digits '7'",
        ),
        (
            &[("serial", "E4"), ("genkey", "2")],
            -311,
            "TokenClass supports only genkey in range [0,1] : 2",
        ),
        (
            &[("serial", "E5"), ("genkey", "yes")],
            -311,
            // The foundation never echoes values of key-like parameters.
            "invalid literal for int() with base 10: '***'",
        ),
        (
            &[
                ("type", "nosuch"),
                ("serial", "E6"),
                ("otpkey", RFC4226_HEX),
            ],
            1610,
            "ERR1610: admin/init failed: unknown token type 'nosuch'",
        ),
        (
            &[("serial", "E7"), ("otpkey", "313")],
            -311,
            "Odd-length string",
        ),
    ];
    for (params, code, message) in cases {
        let reply = admin.post("/admin/init", params).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.error(), (code, message.to_owned()), "{params:?}");
        assert_eq!(reply.id(), 1);
    }
    for serial in ["E1", "E2", "E3", "E4", "E5", "E6", "E7"] {
        assert!(!admin.has_token(serial), "{serial} was created");
    }

    admin.init_hotp("TYPED", "").await;
    let other_type = admin
        .post(
            "/admin/init",
            &[
                ("type", "totp"),
                ("serial", "TYPED"),
                ("otpkey", RFC4226_HEX),
            ],
        )
        .await;
    assert_eq!(
        other_type.error(),
        (
            10,
            "ERR10: initToken failed: token 'TYPED' already exist with type 'HMAC'. Can not \
             initialize token with new type 'totp'"
                .to_owned()
        )
    );
}

#[tokio::test]
async fn reinitialising_a_token_keeps_its_row_and_restarts_its_counters() {
    let admin = Admin::new();
    admin.init_hotp("RE1", "1234").await;
    let first = admin.token("RE1");
    admin.update_token("RE1", |token| {
        token.count = 17;
        token.fail_count = 3;
    });
    admin
        .post(
            "/admin/init",
            &[("serial", "RE1"), ("genkey", "1"), ("pin", "4321")],
        )
        .await;
    let again = admin.token("RE1");
    assert_eq!(again.id, first.id);
    assert_eq!((again.count, again.fail_count), (0, 0));
    assert_ne!(again.key_enc, first.key_enc);
    assert!(admin.pin_matches("RE1", "4321"));
}

#[tokio::test]
async fn serials_are_generated_per_type_with_linotps_prefixes() {
    let admin = Admin::new();
    let mut serials = Vec::new();
    for (kind, extra) in [
        ("hmac", ("genkey", "1")),
        ("hmac", ("genkey", "1")),
        ("totp", ("genkey", "1")),
        ("motp", ("otpkey", "1234567890123456")),
        ("spass", ("pin", "x")),
        ("pw", ("otpkey", "pw")),
        ("dpw", ("otpkey", "d")),
    ] {
        let reply = admin
            .post("/admin/init", &[("type", kind), extra, ("otppin", "1")])
            .await;
        serials.push(reply.detail()["serial"].as_str().unwrap().to_owned());
    }
    let expected = [
        "OATH0001", "OATH0002", "TOTP0001", "LSMO0001", "LSSP0001", "KIPW0001", "DOTP0001",
    ];
    for (serial, prefix) in serials.iter().zip(expected) {
        assert_eq!(serial.len(), 12, "{serial}");
        assert!(
            serial.starts_with(prefix),
            "{serial} should start with {prefix}"
        );
        assert!(
            serial[8..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
        );
        assert!(admin.has_token(serial));
    }
    let prefixed = admin
        .post("/admin/init", &[("genkey", "1"), ("prefix", "ACME")])
        .await;
    assert!(
        prefixed.detail()["serial"]
            .as_str()
            .unwrap()
            .starts_with("ACME0003")
    );
}

#[tokio::test]
async fn init_for_a_user_assigns_the_token_in_the_users_realm() {
    let admin = Admin::new();
    admin.import_users("res1", "realm1", &[("alice", "u1")]);
    let reply = admin
        .post(
            "/admin/init",
            &[
                ("serial", "U1"),
                ("otpkey", RFC4226_HEX),
                ("user", "alice"),
                ("realm", "Realm1"),
                ("pin", "p"),
            ],
        )
        .await;
    assert_eq!(
        reply.detail()["googleurl"]["value"],
        "otpauth://hotp/LinOTP:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=0&issuer=LinOTP"
    );
    let token = admin.token("U1");
    assert_eq!(token.user_id, "u1");
    assert_eq!(token.id_resolver, "SQLIdResolver.IdResolver.res1");
    assert_eq!(
        token.id_res_class,
        "useridresolver.SQLIdResolver.IdResolver.res1"
    );
    assert_eq!(admin.realms_of("U1"), ["realm1"]);
    let check = admin
        .post(
            "/validate/check",
            &[
                ("user", "alice@realm1"),
                ("pass", &format!("p{}", RFC4226_OTPS[0])),
            ],
        )
        .await;
    assert_eq!(check.value(), true, "{}", check.text());

    let unknown = admin
        .post(
            "/admin/init",
            &[
                ("serial", "U2"),
                ("otpkey", RFC4226_HEX),
                ("user", "mallory"),
                ("realm", "realm1"),
            ],
        )
        .await;
    assert_eq!(
        unknown.error(),
        (
            1112,
            "ERR1112: getUserResolverId failed: UserError(description='getUserId failed: no \
             user >mallory< found!', id=1205)"
                .to_owned()
        )
    );
    assert!(!admin.has_token("U2"));

    let rollout = admin
        .post(
            "/admin/init",
            &[
                ("serial", "U3"),
                ("otpkey", RFC4226_HEX),
                ("rollout", "true"),
            ],
        )
        .await;
    assert_eq!(rollout.value(), true);
    let token = admin.token("U3");
    assert_eq!(token.description, "rollout token");
    assert_eq!(
        token.token_info,
        // json.dumps(indent=0) breaks nested values onto lines too.
        "{\n\"hashlib\": \"sha1\",\n\"scope\": {\n\"path\": [\n\"userservice\"\n]\n}\n}"
    );
}

#[tokio::test]
async fn the_qr_parameter_answers_with_images() {
    let admin = Admin::new();
    let png = admin
        .post(
            "/admin/init",
            &[("serial", "Q1"), ("otpkey", RFC4226_HEX), ("qr", "png")],
        )
        .await;
    assert_eq!(png.content_type, "image/png");
    assert_eq!(&png.bytes[..8], b"\x89PNG\r\n\x1a\n");

    let img = admin
        .post(
            "/admin/init",
            &[("serial", "Q2"), ("otpkey", RFC4226_HEX), ("qr", "img")],
        )
        .await;
    assert!(img.content_type.starts_with("text/html"));
    let text = img.text();
    assert!(
        text.starts_with("<img id=\"challenge_qrcode\"  alt=%7B%27order%27%3A+%270%27"),
        "{text}"
    );
    assert!(text.ends_with("\"/>"));

    let page = admin
        .post(
            "/admin/init",
            &[("serial", "Q3"), ("otpkey", RFC4226_HEX), ("qr", "")],
        )
        .await;
    let text = page.text();
    assert!(
        text.starts_with(
            "<html><body><div><img id=\"challenge_qrcode\"  alt=otpauth%3A%2F%2Fhotp%2FLinOTP%3AQ3"
        ),
        "{text}"
    );
    assert!(text.contains("<ul id=\"challenge_data\"><li> otpkey: <span class=\"otpkey\">{'order': '1', 'description': 'OTP seed', 'value': 'seed://3132"));
    assert!(text.contains("<li> serial: <span class=\"serial\">Q3</span> </li>"));
    assert!(text.ends_with("</ul></div></body></html>"));
    assert!(admin.has_token("Q3"));
}

#[tokio::test]
async fn every_init_writes_one_audit_event() {
    let mut admin = Admin::new();
    admin.init_hotp("AUD1", "").await;
    admin.post("/admin/init", &[("serial", "AUD2")]).await;
    let events = admin.audit_events();
    assert_eq!(events.len(), 2);
    let ok = &events[0];
    assert_eq!(ok.action, "admin/init");
    assert!(ok.success);
    assert_eq!(ok.serial, "AUD1");
    assert_eq!(ok.token_type, "HMAC");
    assert_eq!(
        ok.administrator,
        "admin@linotp_admins (LinOTP_local_admins)"
    );
    assert_eq!(ok.action_detail, "tokennum = 1");
    assert_eq!(ok.client, "192.0.2.7");
    assert!(!events[1].success);
}
