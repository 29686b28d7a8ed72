//! Replays the `/validate` calls that LinOTP 4.0 answered while the shared
//! fixture database was made, through `check_token` + `finish`, and checks
//! that every token ends in the state LinOTP stored: counter, fail counter
//! and the tokeninfo text byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use linotp_core::{
    CheckContext, OtpPinMode, Secret, TokenInfo, TokenSecret, TokenState, check_token, finish,
};
use serde_json::Value;

/// `$LINOTP_FIXTURE_DIR`, or `shared/fixtures/linotp-sqlite` beside the checkout.
fn fixture_json(name: &str) -> Value {
    let dir = std::env::var_os("LINOTP_FIXTURE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/linotp-sqlite")
        });
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| {
        panic!(
            "LinOTP fixture {} unreadable ({err}); set LINOTP_FIXTURE_DIR",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// Unix seconds of an audit timestamp of the fixture day, e.g.
/// `2026-11-26T10:11:12.839+00:00` (sub-seconds dropped).
fn fixture_day_unix(timestamp: &str) -> i64 {
    const MIDNIGHT_2026_11_26_UTC: i64 = 1_795_651_200; // date -u -d 2026-11-26 +%s
    let time = timestamp.strip_prefix("2026-11-26T").expect("fixture day");
    let field = |range: std::ops::Range<usize>| time[range].parse::<i64>().unwrap();
    MIDNIGHT_2026_11_26_UTC + field(0..2) * 3600 + field(3..5) * 60 + field(6..8)
}

struct Token {
    secret: TokenSecret,
    pin: String,
    state: TokenState,
}

/// The tokeninfo each token had before the first call: what enrollment (and
/// the admin's validity settings on FIXVALID1) wrote. The TOTP shape is the
/// one the never-used FIXTOTP512 still shows.
fn enrolled_info(serial: &str) -> &'static str {
    match serial {
        "FIXHOTP256" => "{\n\"hashlib\": \"sha256\"\n}",
        "FIXTOTP1" => {
            "{\n\"hashlib\": \"sha1\",\n\"timeWindow\": \"300\",\n\"timeShift\": \"0\",\n\"timeStep\": \"30\"\n}"
        }
        "FIXTOTP512" => {
            "{\n\"hashlib\": \"sha512\",\n\"timeWindow\": \"300\",\n\"timeShift\": \"0\",\n\"timeStep\": \"60\"\n}"
        }
        "FIXSPASS1" | "FIXPW1" => "",
        "FIXVALID1" => {
            "{\n\"hashlib\": \"sha1\",\n\"count_auth_max\": 5,\n\"validity_period_start\": \"01/01/25 00:00\",\n\"validity_period_end\": \"31/12/35 23:59\"\n}"
        }
        _ => "{\n\"hashlib\": \"sha1\"\n}",
    }
}

fn secret_of(token: &Value) -> Option<TokenSecret> {
    let seed = token["seed"].as_str().unwrap();
    let secret = match token["type"].as_str().unwrap() {
        "hmac" => TokenSecret::Hmac {
            key: Secret::new(unhex(seed)),
        },
        "totp" => TokenSecret::Totp {
            key: Secret::new(unhex(seed)),
        },
        "motp" => TokenSecret::Motp {
            secret: Secret::from_slice(seed.as_bytes()),
            pin: Secret::from_slice(token["motp_userpin"].as_str().unwrap().as_bytes()),
        },
        "spass" => TokenSecret::Spass,
        "pw" => {
            let password = seed.to_owned();
            TokenSecret::Password {
                verifier: Box::new(move |candidate: &str| candidate == password),
            }
        }
        _ => return None, // e-mail and SMS tokens are challenge-only
    };
    Some(secret)
}

#[test]
fn replaying_linotps_validate_calls_reproduces_its_stored_token_rows() {
    let manifest = fixture_json("manifest.json");
    let stored = fixture_json("stored.json");
    let rows: BTreeMap<&str, &Value> = stored["tables"]["Token"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row["LinOtpTokenSerialnumber"].as_str().unwrap(), row))
        .collect();

    let mut tokens = BTreeMap::new();
    let mut serial_of_user = BTreeMap::new();
    for token in manifest["tokens"].as_array().unwrap() {
        let serial = token["serial"].as_str().unwrap();
        let Some(secret) = secret_of(token) else {
            continue;
        };
        let row = rows[serial];
        let state = TokenState {
            otp_len: u32::try_from(row["LinOtpOtpLen"].as_u64().unwrap()).unwrap(),
            max_fail: row["LinOtpMaxFail"].as_i64().unwrap(),
            active: row["LinOtpIsactive"].as_i64() == Some(1),
            info: TokenInfo::parse(enrolled_info(serial)).unwrap(),
            ..TokenState::default()
        };
        if let Some(user) = token["user"].as_str() {
            serial_of_user.insert(user.to_owned(), serial.to_owned());
        }
        let pin = token["pin"].as_str().unwrap().to_owned();
        tokens.insert(serial.to_owned(), Token { secret, pin, state });
    }

    let calls = manifest["validate_calls_in_order"].as_array().unwrap();
    let audit_rows = manifest["audit"]["validate_rows"].as_array().unwrap();
    assert_eq!(calls.len(), audit_rows.len());
    let mut carol_calls = 0;
    for (call, audit) in calls.iter().zip(audit_rows) {
        let params = &call["params"];
        let pass = params["pass"].as_str().unwrap();
        let expected = call["value"].as_bool().unwrap();
        let serial = match (params["serial"].as_str(), params["user"].as_str()) {
            (Some(serial), _) => serial.to_owned(),
            (None, Some(user)) => match serial_of_user.get(user) {
                Some(serial) => serial.clone(),
                None => {
                    assert!(!expected, "{user} has no token");
                    continue;
                }
            },
            (None, None) => unreachable!("every call names a user or a serial"),
        };
        let token = tokens.get_mut(&serial).unwrap();

        let mut ctx = CheckContext::new(fixture_day_unix(audit["timestamp"].as_str().unwrap()));
        // The otppin=1 policy for carol was created after her first call.
        let user_password = params["user"] == "carol" && carol_calls > 0;
        carol_calls += usize::from(params["user"] == "carol");
        let token_pin = token.pin.clone();
        let pin_check = move |candidate: &str| {
            if user_password {
                candidate == "CarolPw3!"
            } else {
                candidate == token_pin
            }
        };
        if user_password {
            ctx.otppin = OtpPinMode::UserPassword;
        }

        let checked = check_token(&token.state, &token.secret, pass, &pin_check, &ctx);
        let finished = finish(vec![checked], ctx.otppin);
        assert_eq!(
            finished.decision.is_success(),
            expected,
            "{serial} with {pass:?} at {}",
            audit["timestamp"]
        );
        token.state = finished.tokens.into_iter().next().unwrap();
    }

    for (serial, token) in &tokens {
        let row = rows[serial.as_str()];
        assert_eq!(
            token.state.count,
            row["LinOtpCount"].as_i64().unwrap(),
            "{serial} count"
        );
        assert_eq!(
            token.state.fail_count,
            row["LinOtpFailCount"].as_i64().unwrap(),
            "{serial} fail count"
        );
        let stored_info = row["LinOtpTokenInfo"].as_str().unwrap();
        if stored_info.is_empty() {
            assert!(
                token.state.info.is_empty(),
                "{serial} tokeninfo should stay unset"
            );
        } else {
            assert_eq!(
                token.state.info.to_linotp_json(),
                stored_info,
                "{serial} tokeninfo"
            );
        }
    }
}
