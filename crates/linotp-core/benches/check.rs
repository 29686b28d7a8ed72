//! Cost of one token check with LinOTP's default window of 10.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use linotp_core::{
    CheckContext, HashAlgorithm, Secret, TokenInfo, TokenSecret, TokenState, Verdict, check_token,
    hotp,
};

const SEED: &[u8] = b"12345678901234567890";
const NOW: i64 = 1_795_687_890;

fn pin(candidate: &str) -> bool {
    candidate == "1234"
}

fn hotp_check(c: &mut Criterion) {
    let secret = TokenSecret::Hmac {
        key: Secret::from_slice(SEED),
    };
    let state = TokenState {
        count: 1000,
        count_window: 10,
        ..TokenState::default()
    };
    let ctx = CheckContext::new(NOW);
    let last_in_window = format!("1234{}", hotp(SEED, 1009, 6, HashAlgorithm::Sha1).unwrap());
    let outside = format!("1234{}", hotp(SEED, 1010, 6, HashAlgorithm::Sha1).unwrap());
    assert_eq!(
        check_token(&state, &secret, &last_in_window, &pin, &ctx).verdict,
        Verdict::Valid { next_count: 1010 }
    );
    assert_eq!(
        check_token(&state, &secret, &outside, &pin, &ctx).verdict,
        Verdict::PinMatching
    );

    c.bench_function("hotp_check_window10_last_position", |b| {
        b.iter(|| check_token(&state, &secret, black_box(&last_in_window), &pin, &ctx))
    });
    c.bench_function("hotp_check_window10_not_found", |b| {
        b.iter(|| check_token(&state, &secret, black_box(&outside), &pin, &ctx))
    });
}

fn totp_check(c: &mut Criterion) {
    let secret = TokenSecret::Totp {
        key: Secret::from_slice(SEED),
    };
    let state = TokenState {
        count_window: 10,
        info: TokenInfo::parse(
            "{\n\"hashlib\": \"sha1\",\n\"timeShift\": 0.0,\n\"timeStep\": \"30\"\n}",
        )
        .unwrap(),
        ..TokenState::default()
    };
    let ctx = CheckContext::new(NOW);
    let now_step = u64::try_from(NOW / 30).unwrap();
    let current = format!(
        "1234{}",
        hotp(SEED, now_step, 6, HashAlgorithm::Sha1).unwrap()
    );
    let outside = format!(
        "1234{}",
        hotp(SEED, now_step + 10, 6, HashAlgorithm::Sha1).unwrap()
    );
    assert!(matches!(
        check_token(&state, &secret, &current, &pin, &ctx).verdict,
        Verdict::Valid { .. }
    ));
    assert_eq!(
        check_token(&state, &secret, &outside, &pin, &ctx).verdict,
        Verdict::PinMatching
    );

    c.bench_function("totp_check_window10_current_step", |b| {
        b.iter(|| check_token(&state, &secret, black_box(&current), &pin, &ctx))
    });
    c.bench_function("totp_check_window10_not_found", |b| {
        b.iter(|| check_token(&state, &secret, black_box(&outside), &pin, &ctx))
    });
}

criterion_group!(benches, hotp_check, totp_check);
criterion_main!(benches);
