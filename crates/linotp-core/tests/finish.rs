//! Finalisation of a request over several candidate tokens
//! (spec/validate.md §6.1, LinOTP's `FinishTokens`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use linotp_core::{
    CheckContext, CheckedToken, Decision, OtpPinMode, Secret, SkipReason, TokenInfo, TokenSecret,
    TokenState, Verdict, check_token, finish,
};

fn token(verdict: Verdict, fail_count: i64, info: &str) -> CheckedToken {
    CheckedToken {
        verdict,
        state: TokenState {
            count: 7,
            fail_count,
            info: TokenInfo::parse(info).unwrap(),
            ..TokenState::default()
        },
    }
}

fn int(state: &TokenState, key: &str) -> Option<i64> {
    state.info.get(key).and_then(|value| value.as_int())
}

#[test]
fn one_valid_token_wins_and_clears_every_involved_fail_counter() {
    let checked = vec![
        token(Verdict::Invalid, 3, ""),
        token(
            Verdict::Valid { next_count: 12 },
            2,
            "{\"count_auth_max\": 5, \"count_auth\": 1, \"count_auth_success_max\": 2}",
        ),
        token(Verdict::PinMatching, 4, ""),
        token(Verdict::Skipped(SkipReason::FailCounterExceeded), 11, ""),
    ];
    let finished = finish(checked, OtpPinMode::TokenPin);

    assert_eq!(finished.decision, Decision::Success { token: 1 });
    assert!(finished.decision.is_success());
    assert_eq!(finished.action_detail, None);
    let winner = &finished.tokens[1];
    assert_eq!(winner.count, 12);
    assert_eq!(int(winner, "count_auth"), Some(2));
    assert_eq!(int(winner, "count_auth_success"), Some(1));
    assert_eq!(
        [0, 1, 2, 3].map(|i| finished.tokens[i].fail_count),
        [0, 0, 0, 11],
        "skipped tokens keep their fail counter"
    );
    assert_eq!(finished.tokens[0].count, 7, "losers keep their counter");
}

#[test]
fn success_without_limits_adds_no_usage_keys() {
    let finished = finish(
        vec![token(
            Verdict::Valid { next_count: 8 },
            0,
            "{\"hashlib\": \"sha1\"}",
        )],
        OtpPinMode::TokenPin,
    );
    assert_eq!(
        finished.tokens[0].info.to_linotp_json(),
        "{\n\"hashlib\": \"sha1\"\n}"
    );
}

#[test]
fn several_valid_tokens_are_a_multiple_match_failure_that_spends_the_otps() {
    let checked = vec![
        token(
            Verdict::Valid { next_count: 9 },
            1,
            "{\"count_auth_max\": 3}",
        ),
        token(Verdict::Valid { next_count: 4 }, 1, ""),
    ];
    let finished = finish(checked, OtpPinMode::TokenPin);
    assert_eq!(
        finished.decision,
        Decision::MultipleValid { tokens: vec![0, 1] }
    );
    assert!(!finished.decision.is_success());
    assert_eq!(
        finished.action_detail.as_deref(),
        Some("Multiple valid tokens found!")
    );
    assert_eq!([finished.tokens[0].count, finished.tokens[1].count], [9, 4]);
    assert_eq!(int(&finished.tokens[0], "count_auth"), Some(1));
    assert_eq!(int(&finished.tokens[1], "count_auth"), None);
    assert_eq!(
        [finished.tokens[0].fail_count, finished.tokens[1].fail_count],
        [1, 1]
    );
}

#[test]
fn challenge_tokens_win_over_failures_and_change_nothing() {
    let checked = vec![
        token(Verdict::Invalid, 1, ""),
        token(Verdict::Challenge, 2, ""),
    ];
    let before: Vec<TokenState> = checked.iter().map(|t| t.state.clone()).collect();
    let finished = finish(checked, OtpPinMode::TokenPin);
    assert_eq!(finished.decision, Decision::Challenge { tokens: vec![1] });
    assert_eq!(finished.action_detail.as_deref(), Some("challenge created"));
    assert_eq!(finished.tokens, before);
}

#[test]
fn pin_matching_tokens_take_the_blame_alone() {
    let checked = vec![
        token(Verdict::PinMatching, 1, "{\"hashlib\": \"sha256\"}"),
        token(Verdict::Invalid, 5, "{\"count_auth_max\": 9}"),
    ];
    let finished = finish(checked, OtpPinMode::TokenPin);
    assert_eq!(finished.decision, Decision::Failed { tokens: vec![0] });
    assert_eq!(finished.action_detail.as_deref(), Some("wrong otp value"));
    // count_auth rises even without a maximum (LinOTP does this too).
    assert_eq!(
        finished.tokens[0].info.to_linotp_json(),
        "{\n\"hashlib\": \"sha256\",\n\"count_auth\": 1\n}"
    );
    assert_eq!(finished.tokens[0].fail_count, 2);
    assert_eq!(
        finished.tokens[1].fail_count, 5,
        "invalid tokens are left alone"
    );
    assert_eq!(int(&finished.tokens[1], "count_auth"), None);
}

#[test]
fn only_invalid_tokens_all_count_a_failure() {
    let checked = vec![
        token(
            Verdict::Invalid,
            0,
            "{\"count_auth_max\": 9, \"count_auth\": 2}",
        ),
        token(Verdict::Invalid, 3, ""),
    ];
    let finished = finish(checked.clone(), OtpPinMode::TokenPin);
    assert_eq!(finished.decision, Decision::Failed { tokens: vec![0, 1] });
    assert_eq!(finished.action_detail.as_deref(), Some("wrong otp pin -1"));
    assert_eq!(
        [finished.tokens[0].fail_count, finished.tokens[1].fail_count],
        [1, 4]
    );
    assert_eq!(int(&finished.tokens[0], "count_auth"), Some(3));
    assert!(
        finished.tokens[1].info.is_empty(),
        "no maximum, no usage counter"
    );

    let finished = finish(checked, OtpPinMode::UserPassword);
    assert_eq!(
        finished.action_detail.as_deref(),
        Some("wrong user password -1")
    );
}

#[test]
fn all_skipped_reports_the_last_reason_that_has_one() {
    let checked = vec![
        token(Verdict::Skipped(SkipReason::Inactive), 0, ""),
        token(Verdict::Skipped(SkipReason::AuthCounterExceeded), 1, ""),
        token(Verdict::Skipped(SkipReason::ScopeMismatch), 0, ""),
    ];
    let finished = finish(checked, OtpPinMode::TokenPin);
    assert_eq!(finished.decision, Decision::Failed { tokens: vec![] });
    assert_eq!(
        finished.action_detail.as_deref(),
        Some("Authentication counter exceeded")
    );

    let finished = finish(Vec::new(), OtpPinMode::TokenPin);
    assert_eq!(finished.decision, Decision::Failed { tokens: vec![] });
    assert_eq!(finished.action_detail.as_deref(), Some("no token found!"));
}

#[test]
fn a_user_with_two_tokens_logs_in_with_either_and_replays_fail() {
    // End to end: two HOTP tokens of one user, same PIN, different seeds.
    let secrets = [
        TokenSecret::Hmac {
            key: Secret::from_slice(b"12345678901234567890"),
        },
        TokenSecret::Hmac {
            key: Secret::from_slice(b"another seed, twenty"),
        },
    ];
    let mut states = vec![
        TokenState::default(),
        TokenState {
            fail_count: 2,
            ..TokenState::default()
        },
    ];
    let pin = |candidate: &str| candidate == "pin";
    let ctx = CheckContext::new(0);
    let request = |pass: &str, states: &mut Vec<TokenState>| {
        let checked = states
            .iter()
            .zip(&secrets)
            .map(|(state, secret)| check_token(state, secret, pass, &pin, &ctx))
            .collect();
        let finished = finish(checked, OtpPinMode::TokenPin);
        *states = finished.tokens;
        (finished.decision, finished.action_detail)
    };

    let (decision, _) = request("pin287082", &mut states); // RFC 4226 counter 1
    assert_eq!(decision, Decision::Success { token: 0 });
    assert_eq!([states[0].count, states[1].count], [2, 0]);
    assert_eq!(
        states[1].fail_count, 0,
        "the other token's failures are forgiven"
    );

    let (decision, detail) = request("pin287082", &mut states);
    assert_eq!(decision, Decision::Failed { tokens: vec![0, 1] });
    assert_eq!(detail.as_deref(), Some("wrong otp value"));
    assert_eq!([states[0].fail_count, states[1].fail_count], [1, 1]);
}
