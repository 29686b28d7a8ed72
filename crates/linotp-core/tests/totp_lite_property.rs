//! Property test against an independent TOTP implementation (`totp-lite`,
//! RustCrypto HMAC): random keys, times, steps, lengths and hashes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use linotp_core::{
    CheckContext, HashAlgorithm, OtpPinMode, Secret, TokenInfo, TokenSecret, TokenState, Verdict,
    check_token, totp,
};
use proptest::prelude::*;
use totp_lite::{Sha1, Sha256, Sha512, totp_custom};

fn reference(algorithm: HashAlgorithm, key: &[u8], time: u64, step: u64, digits: u32) -> String {
    match algorithm {
        HashAlgorithm::Sha1 => totp_custom::<Sha1>(step, digits, key, time),
        HashAlgorithm::Sha256 => totp_custom::<Sha256>(step, digits, key, time),
        HashAlgorithm::Sha512 => totp_custom::<Sha512>(step, digits, key, time),
        HashAlgorithm::Sha384 => unreachable!("not generated"),
    }
}

fn algorithms() -> impl Strategy<Value = HashAlgorithm> {
    prop_oneof![
        Just(HashAlgorithm::Sha1),
        Just(HashAlgorithm::Sha256),
        Just(HashAlgorithm::Sha512),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn totp_matches_totp_lite(
        key in proptest::collection::vec(any::<u8>(), 1..80),
        time in 0u64..=40_000_000_000,
        step in 1u64..=600,
        digits in 1u32..=10,
        algorithm in algorithms(),
    ) {
        let ours = totp(&key, i64::try_from(time).unwrap(), i64::try_from(step).unwrap(), digits, algorithm)
            .unwrap();
        prop_assert_eq!(ours, reference(algorithm, &key, time, step, digits));
    }

    #[test]
    fn check_token_accepts_totp_lite_codes_within_the_window(
        key in proptest::collection::vec(any::<u8>(), 1..80),
        time in 1_000_000u64..=4_000_000_000,
        step in prop_oneof![Just(30u64), Just(60u64)],
        digits in 6u32..=8,
        algorithm in algorithms(),
        skew_steps in -9i64..=10,
    ) {
        let otp = reference(algorithm, &key, time, step, digits);
        let info = format!("{{\"hashlib\": \"{algorithm}\", \"timeStep\": {step}}}");
        let state = TokenState {
            otp_len: digits,
            info: TokenInfo::parse(&info).unwrap(),
            ..TokenState::default()
        };
        let secret = TokenSecret::Totp { key: Secret::new(key) };
        // The server clock is off by `skew_steps` steps; the window takes OTPs
        // from 10 steps before now to 9 after.
        let step = i64::try_from(step).unwrap();
        let now = i64::try_from(time).unwrap() + skew_steps * step;
        let mut ctx = CheckContext::new(now);
        ctx.otppin = OtpPinMode::OnlyOtp;
        let no_pin = |pin: &str| pin.is_empty();
        let checked = check_token(&state, &secret, &otp, &no_pin, &ctx);
        let matched_step = i64::try_from(time).unwrap() / step;
        // A shorter code can collide with another step's code in the window;
        // the first match wins, so only require a match at or before ours.
        match checked.verdict {
            Verdict::Valid { next_count } => prop_assert!(next_count <= matched_step + 1),
            other => prop_assert!(false, "expected a match, got {:?}", other),
        }
    }
}
