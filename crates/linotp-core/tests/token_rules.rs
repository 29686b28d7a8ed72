//! The per-token rules of LinOTP's validation (spec/validate.md §4, §6, §8,
//! §9; spec/tokens.md §2–7), exercised through the public API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;

use linotp_core::{
    CalendarDate, CheckContext, CheckedToken, HashAlgorithm, InfoValue, OtpPinMode, Secret,
    SkipReason, TokenInfo, TokenSecret, TokenState, Verdict, check_token, day_password, hotp, motp,
    resync, split_pass, totp_counter,
};

const RFC_SEED: &[u8] = b"12345678901234567890";
const NOW: i64 = 1_795_687_890; // 2026-11-26 10:11:30 UTC, a 30 s step boundary
const PIN: &str = "1234";

fn hmac_secret() -> TokenSecret {
    TokenSecret::Hmac {
        key: Secret::from_slice(RFC_SEED),
    }
}

fn totp_secret() -> TokenSecret {
    TokenSecret::Totp {
        key: Secret::from_slice(RFC_SEED),
    }
}

fn hotp_at(counter: i64) -> String {
    hotp(
        RFC_SEED,
        u64::try_from(counter).unwrap(),
        6,
        HashAlgorithm::Sha1,
    )
    .unwrap()
}

fn pin_ok(candidate: &str) -> bool {
    candidate == PIN
}

fn check(state: &TokenState, secret: &TokenSecret, pass: &str, ctx: &CheckContext) -> CheckedToken {
    check_token(state, secret, pass, &pin_ok, ctx)
}

fn hotp_state(count: i64) -> TokenState {
    TokenState {
        count,
        ..TokenState::default()
    }
}

fn totp_state(info: &str) -> TokenState {
    TokenState {
        info: TokenInfo::parse(info).unwrap(),
        ..TokenState::default()
    }
}

// ---- PIN/OTP splitting and otppin modes ----------------------------------

#[test]
fn pass_is_split_by_otp_length_on_the_configured_side() {
    assert_eq!(split_pass("1234755224", 6, true), ("1234", "755224"));
    assert_eq!(split_pass("7552241234", 6, false), ("1234", "755224"));
    assert_eq!(split_pass("pïn75522", 5, true), ("pïn", "75522"));
    // Shorter than the OTP length: all OTP, like Python slicing.
    assert_eq!(split_pass("1234", 6, true), ("", "1234"));
    assert_eq!(split_pass("1234", 6, false), ("", "1234"));
}

#[test]
fn prepend_pin_false_expects_the_otp_first() {
    let mut ctx = CheckContext::new(NOW);
    ctx.prepend_pin = false;
    let pass = format!("{}{PIN}", hotp_at(0));
    let checked = check(&hotp_state(0), &hmac_secret(), &pass, &ctx);
    assert_eq!(checked.verdict, Verdict::Valid { next_count: 1 });
    let pin_first = format!("{PIN}{}", hotp_at(0));
    assert_eq!(
        check(&hotp_state(0), &hmac_secret(), &pin_first, &ctx).verdict,
        Verdict::Invalid
    );
}

#[test]
fn wrong_pin_is_invalid_and_right_pin_with_wrong_otp_is_pin_matching() {
    let ctx = CheckContext::new(NOW);
    let wrong_pin = format!("9999{}", hotp_at(0));
    assert_eq!(
        check(&hotp_state(0), &hmac_secret(), &wrong_pin, &ctx).verdict,
        Verdict::Invalid
    );
    let wrong_otp = format!("{PIN}000000");
    assert_eq!(
        check(&hotp_state(0), &hmac_secret(), &wrong_otp, &ctx).verdict,
        Verdict::PinMatching
    );
}

#[test]
fn otppin_password_checks_the_otp_before_asking_the_directory() {
    let mut ctx = CheckContext::new(NOW);
    ctx.otppin = OtpPinMode::UserPassword;
    let directory_calls = Cell::new(0);
    let password = |candidate: &str| {
        directory_calls.set(directory_calls.get() + 1);
        candidate == "Secret!"
    };
    let state = hotp_state(0);

    let wrong_otp = check_token(&state, &hmac_secret(), "Secret!000000", &password, &ctx);
    assert_eq!(wrong_otp.verdict, Verdict::Invalid);
    assert_eq!(
        directory_calls.get(),
        0,
        "a wrong OTP must not reach the directory"
    );

    let pass = format!("Secret!{}", hotp_at(0));
    let good = check_token(&state, &hmac_secret(), &pass, &password, &ctx);
    assert_eq!(good.verdict, Verdict::Valid { next_count: 1 });

    let bad_password = format!("Wrong!!{}", hotp_at(0));
    let checked = check_token(&state, &hmac_secret(), &bad_password, &password, &ctx);
    assert_eq!(checked.verdict, Verdict::Invalid);
    assert_eq!(directory_calls.get(), 2);
}

#[test]
fn otppin_only_otp_takes_the_whole_pass_as_otp() {
    let mut ctx = CheckContext::new(NOW);
    ctx.otppin = OtpPinMode::OnlyOtp;
    let never = |_: &str| -> bool { panic!("no PIN is checked in only_otp mode") };
    let checked = check_token(&hotp_state(0), &hmac_secret(), &hotp_at(0), &never, &ctx);
    assert_eq!(checked.verdict, Verdict::Valid { next_count: 1 });
    let with_pin = format!("{PIN}{}", hotp_at(0));
    let checked = check_token(&hotp_state(0), &hmac_secret(), &with_pin, &never, &ctx);
    assert_eq!(checked.verdict, Verdict::PinMatching);
}

#[test]
fn otppin_ignore_pin_accepts_any_pin_except_on_spass() {
    let mut ctx = CheckContext::new(NOW);
    ctx.otppin = OtpPinMode::IgnorePin;
    let pass = format!("anything{}", hotp_at(0));
    assert_eq!(
        check(&hotp_state(0), &hmac_secret(), &pass, &ctx).verdict,
        Verdict::Valid { next_count: 1 }
    );
    let spass = TokenState::default();
    assert_eq!(
        check(&spass, &TokenSecret::Spass, "anything", &ctx).verdict,
        Verdict::Invalid
    );
    assert_eq!(
        check(&spass, &TokenSecret::Spass, PIN, &ctx).verdict,
        Verdict::Valid { next_count: 1 }
    );
}

#[test]
fn policy_values_map_to_modes() {
    assert_eq!(
        OtpPinMode::from_policy_value("1"),
        Some(OtpPinMode::UserPassword)
    );
    assert_eq!(
        OtpPinMode::from_policy_value("ignore_pin"),
        Some(OtpPinMode::IgnorePin)
    );
    assert_eq!(
        OtpPinMode::from_policy_value("token_pin").map(OtpPinMode::number),
        Some(0)
    );
    assert_eq!(OtpPinMode::from_policy_value("4"), None);
}

// ---- HOTP -----------------------------------------------------------------

#[test]
fn hotp_window_is_count_up_to_count_plus_window_exclusive() {
    let ctx = CheckContext::new(NOW);
    let state = hotp_state(5);
    for (counter, expected) in [
        (4, Verdict::PinMatching),
        (5, Verdict::Valid { next_count: 6 }),
        (14, Verdict::Valid { next_count: 15 }),
        (15, Verdict::PinMatching),
    ] {
        let pass = format!("{PIN}{}", hotp_at(counter));
        assert_eq!(
            check(&state, &hmac_secret(), &pass, &ctx).verdict,
            expected,
            "counter {counter}"
        );
    }
}

#[test]
fn hotp_uses_the_tokeninfo_hash_and_length() {
    let ctx = CheckContext::new(NOW);
    let key = b"12345678901234567890123456789012";
    let state = TokenState {
        otp_len: 8,
        info: TokenInfo::parse("{\"hashlib\": \"sha256\"}").unwrap(),
        ..TokenState::default()
    };
    let secret = TokenSecret::Hmac {
        key: Secret::from_slice(key),
    };
    // RFC 6238 SHA256 vector for T = 1.
    let checked = check(&state, &secret, "123446119246", &ctx);
    assert_eq!(checked.verdict, Verdict::Valid { next_count: 2 });
}

#[test]
fn hotp_auto_resync_accepts_two_consecutive_otps_before_the_due_date() {
    let mut ctx = CheckContext::new(NOW);
    ctx.auto_resync = true;
    let state = hotp_state(0);

    let first = check(
        &state,
        &hmac_secret(),
        &format!("{PIN}{}", hotp_at(50)),
        &ctx,
    );
    assert_eq!(first.verdict, Verdict::PinMatching);
    assert_eq!(first.state.info.otp1c().unwrap(), Some(50));
    assert_eq!(first.state.info.due_date().unwrap(), Some(NOW + 240));

    ctx.now_unix = NOW + 239;
    let second = check(
        &first.state,
        &hmac_secret(),
        &format!("{PIN}{}", hotp_at(51)),
        &ctx,
    );
    assert_eq!(second.verdict, Verdict::Valid { next_count: 52 });
    assert!(second.state.info.get("otp1c").is_none());
    assert!(second.state.info.get("dueDate").is_none());
}

#[test]
fn hotp_auto_resync_fails_late_or_non_consecutive_and_forgets_the_first_otp() {
    let mut ctx = CheckContext::new(NOW);
    ctx.auto_resync = true;
    let first = check(
        &hotp_state(0),
        &hmac_secret(),
        &format!("{PIN}{}", hotp_at(50)),
        &ctx,
    );

    let skipped_one = check(
        &first.state,
        &hmac_secret(),
        &format!("{PIN}{}", hotp_at(52)),
        &ctx,
    );
    assert_eq!(skipped_one.verdict, Verdict::PinMatching);
    assert!(skipped_one.state.info.is_empty());

    ctx.now_unix = NOW + 240;
    let too_late = check(
        &first.state,
        &hmac_secret(),
        &format!("{PIN}{}", hotp_at(51)),
        &ctx,
    );
    assert_eq!(too_late.verdict, Verdict::PinMatching);
    assert!(too_late.state.info.is_empty());
}

#[test]
fn hotp_without_auto_resync_leaves_no_resync_state() {
    let ctx = CheckContext::new(NOW);
    let checked = check(
        &hotp_state(0),
        &hmac_secret(),
        &format!("{PIN}{}", hotp_at(50)),
        &ctx,
    );
    assert_eq!(checked.verdict, Verdict::PinMatching);
    assert!(checked.state.info.is_empty());
    // Beyond the sync window nothing is remembered even with auto-resync on.
    let mut ctx = CheckContext::new(NOW);
    ctx.auto_resync = true;
    let far = check(
        &hotp_state(0),
        &hmac_secret(),
        &format!("{PIN}{}", hotp_at(1000)),
        &ctx,
    );
    assert!(far.state.info.is_empty());
}

#[test]
fn hotp_admin_resync_needs_two_consecutive_otps_in_the_sync_window() {
    let ctx = CheckContext::new(NOW);
    let state = TokenState {
        count: 3,
        fail_count: 4,
        ..TokenState::default()
    };

    let synced = resync(&state, &hmac_secret(), &hotp_at(700), &hotp_at(701), &ctx)
        .unwrap()
        .unwrap();
    assert_eq!(synced.count, 702);
    assert_eq!(synced.fail_count, 0);

    assert_eq!(
        resync(&state, &hmac_secret(), &hotp_at(700), &hotp_at(702), &ctx).unwrap(),
        None
    );
    assert_eq!(
        resync(&state, &hmac_secret(), &hotp_at(701), &hotp_at(700), &ctx).unwrap(),
        None
    );
    assert_eq!(
        resync(&state, &hmac_secret(), &hotp_at(2), &hotp_at(3), &ctx).unwrap(),
        None
    );

    let locked = TokenState {
        fail_count: 10,
        ..state.clone()
    };
    let synced = resync(&locked, &hmac_secret(), &hotp_at(700), &hotp_at(701), &ctx)
        .unwrap()
        .unwrap();
    assert_eq!(synced.fail_count, 10, "a locked token stays locked");

    let mut keep = CheckContext::new(NOW);
    keep.reset_fail_count = false;
    let synced = resync(&state, &hmac_secret(), &hotp_at(700), &hotp_at(701), &keep)
        .unwrap()
        .unwrap();
    assert_eq!(synced.fail_count, 4);
}

// ---- TOTP -----------------------------------------------------------------

fn totp_at(step: i64) -> String {
    hotp_at(step)
}

#[test]
fn totp_window_is_symmetric_around_now() {
    let ctx = CheckContext::new(NOW);
    let now_step = NOW / 30;
    let state = totp_state("{\"timeStep\": 30}");
    for (offset, valid) in [(-11, false), (-10, true), (0, true), (9, true), (10, false)] {
        let step = now_step + offset;
        let checked = check(
            &state,
            &totp_secret(),
            &format!("{PIN}{}", totp_at(step)),
            &ctx,
        );
        let expected = if valid {
            Verdict::Valid {
                next_count: step + 1,
            }
        } else {
            Verdict::PinMatching
        };
        assert_eq!(checked.verdict, expected, "offset {offset}");
    }
}

#[test]
fn totp_success_spends_the_step_and_records_the_drift() {
    let ctx = CheckContext::new(NOW);
    let now_step = NOW / 30;
    let state =
        totp_state("{\n\"hashlib\": \"sha1\",\n\"timeShift\": \"0\",\n\"timeStep\": \"30\"\n}");
    let pass = format!("{PIN}{}", totp_at(now_step + 3));

    let checked = check(&state, &totp_secret(), &pass, &ctx);
    assert_eq!(
        checked.verdict,
        Verdict::Valid {
            next_count: now_step + 4
        }
    );
    assert_eq!(
        checked.state.info.to_linotp_json(),
        "{\n\"hashlib\": \"sha1\",\n\"timeShift\": 90.0,\n\"timeStep\": \"30\"\n}"
    );

    let stored = TokenState {
        count: now_step + 4,
        ..checked.state
    };
    // The same OTP again is a replay, and so is an older step.
    assert_eq!(
        check(&stored, &totp_secret(), &pass, &ctx).verdict,
        Verdict::PinMatching
    );
    let older = format!("{PIN}{}", totp_at(now_step + 1));
    assert_eq!(
        check(&stored, &totp_secret(), &older, &ctx).verdict,
        Verdict::PinMatching
    );

    // The drift moves the window: 12 steps ahead (outside ±10) is now inside it.
    let ahead = format!("{PIN}{}", totp_at(now_step + 12));
    assert_eq!(
        check(&stored, &totp_secret(), &ahead, &ctx).verdict,
        Verdict::Valid {
            next_count: now_step + 13
        }
    );
}

#[test]
fn totp_honours_time_step_and_hash_from_tokeninfo() {
    let key = b"1234567890123456789012345678901234567890123456789012345678901234";
    let secret = TokenSecret::Totp {
        key: Secret::from_slice(key),
    };
    let state = TokenState {
        otp_len: 8,
        info: TokenInfo::parse(
            "{\"hashlib\": \"sha512\", \"timeStep\": \"60\", \"timeShift\": \"0\"}",
        )
        .unwrap(),
        ..TokenState::default()
    };
    let now = 1_111_111_111;
    let expected = hotp(key, 1_111_111_111 / 60, 8, HashAlgorithm::Sha512).unwrap();
    let checked = check(
        &state,
        &secret,
        &format!("{PIN}{expected}"),
        &CheckContext::new(now),
    );
    assert_eq!(
        checked.verdict,
        Verdict::Valid {
            next_count: now / 60 + 1
        }
    );
    // A 30-second reading of the same key does not match.
    let wrong_step = hotp(key, 1_111_111_111 / 30, 8, HashAlgorithm::Sha512).unwrap();
    let checked = check(
        &state,
        &secret,
        &format!("{PIN}{wrong_step}"),
        &CheckContext::new(now),
    );
    assert_eq!(checked.verdict, Verdict::PinMatching);
}

#[test]
fn totp_auto_resync_takes_a_second_otp_at_most_three_steps_later() {
    let mut ctx = CheckContext::new(NOW);
    ctx.auto_resync = true;
    let now_step = NOW / 30;
    let state = totp_state("{\"timeStep\": 30}");
    let pass = |step: i64| format!("{PIN}{}", totp_at(step));

    let first = check(&state, &totp_secret(), &pass(now_step + 100), &ctx);
    assert_eq!(first.verdict, Verdict::PinMatching);
    assert_eq!(first.state.info.otp1c().unwrap(), Some(now_step + 100));

    let same_again = check(&first.state, &totp_secret(), &pass(now_step + 100), &ctx);
    assert_eq!(same_again.verdict, Verdict::PinMatching);
    assert_eq!(same_again.state.info.otp1c().unwrap(), Some(now_step + 100));

    let too_far = check(&first.state, &totp_secret(), &pass(now_step + 104), &ctx);
    assert_eq!(too_far.verdict, Verdict::PinMatching);
    assert_eq!(
        too_far.state.info.otp1c().unwrap(),
        Some(now_step + 104),
        "new first OTP"
    );

    let second = check(&first.state, &totp_secret(), &pass(now_step + 103), &ctx);
    assert_eq!(
        second.verdict,
        Verdict::Valid {
            next_count: now_step + 104
        }
    );
    assert!(second.state.info.get("otp1c").is_none());
    assert_eq!(second.state.info.time_shift().unwrap(), 103 * 30);
}

#[test]
fn totp_admin_resync_sets_shift_to_the_middle_of_the_second_step() {
    let ctx = CheckContext::new(NOW);
    let now_step = NOW / 30;
    let state = totp_state("{\"timeStep\": 30}");
    let synced = resync(
        &state,
        &totp_secret(),
        &totp_at(now_step + 40),
        &totp_at(now_step + 41),
        &ctx,
    )
    .unwrap()
    .unwrap();
    assert_eq!(synced.count, now_step + 42);
    let expected_shift = ((now_step + 41) as f64 + 0.5) * 30.0 - NOW as f64;
    assert_eq!(
        synced.info.get("timeShift"),
        Some(&InfoValue::from(expected_shift))
    );
    assert_eq!(expected_shift, 1245.0);

    let already_used = TokenState {
        count: now_step + 41,
        ..state.clone()
    };
    let refused = resync(
        &already_used,
        &totp_secret(),
        &totp_at(now_step + 40),
        &totp_at(now_step + 41),
        &ctx,
    );
    assert_eq!(refused.unwrap(), None);
    let out_of_order = resync(
        &state,
        &totp_secret(),
        &totp_at(now_step + 41),
        &totp_at(now_step + 40),
        &ctx,
    );
    assert_eq!(out_of_order.unwrap(), None);
}

// ---- mOTP, spass, pw, DPW --------------------------------------------------

fn motp_secret() -> TokenSecret {
    TokenSecret::Motp {
        secret: Secret::from_slice(b"1234567890123456"),
        pin: Secret::from_slice(b"1234"),
    }
}

#[test]
fn motp_accepts_the_linotp_functional_vector() {
    // 2018-12-12 12:12:00 UTC, as in LinOTP's functional tests.
    let ctx = CheckContext::new(1_544_616_720);
    let checked = check(
        &TokenState::default(),
        &motp_secret(),
        &format!("{PIN}488ccf"),
        &ctx,
    );
    assert_eq!(
        checked.verdict,
        Verdict::Valid {
            next_count: 154_461_672
        }
    );
}

#[test]
fn motp_window_is_twice_the_count_window_each_side_and_refuses_old_steps() {
    let ctx = CheckContext::new(NOW);
    let now_step = NOW / 10;
    let pass = |step: i64| format!("{PIN}{}", motp(b"1234567890123456", b"1234", step, 6));
    let fresh = TokenState::default();
    for (offset, valid) in [(-21, false), (-20, true), (19, true), (20, false)] {
        let checked = check(&fresh, &motp_secret(), &pass(now_step + offset), &ctx);
        let expected = if valid {
            Verdict::Valid {
                next_count: now_step + offset,
            }
        } else {
            Verdict::PinMatching
        };
        assert_eq!(checked.verdict, expected, "offset {offset}");
    }
    // Count holds the last accepted step itself: that step and older ones fail.
    let used = TokenState {
        count: now_step,
        ..TokenState::default()
    };
    assert_eq!(
        check(&used, &motp_secret(), &pass(now_step), &ctx).verdict,
        Verdict::PinMatching
    );
    assert_eq!(
        check(&used, &motp_secret(), &pass(now_step + 1), &ctx).verdict,
        Verdict::Valid {
            next_count: now_step + 1
        }
    );
}

#[test]
fn spass_checks_the_whole_pass_as_pin() {
    let ctx = CheckContext::new(NOW);
    let state = TokenState::default();
    assert_eq!(
        check(&state, &TokenSecret::Spass, PIN, &ctx).verdict,
        Verdict::Valid { next_count: 1 }
    );
    assert_eq!(
        check(&state, &TokenSecret::Spass, "12345", &ctx).verdict,
        Verdict::Invalid
    );
    let mut only_otp = CheckContext::new(NOW);
    only_otp.otppin = OtpPinMode::OnlyOtp;
    assert_eq!(
        check(&state, &TokenSecret::Spass, PIN, &only_otp).verdict,
        Verdict::Invalid
    );
}

#[test]
fn password_token_hands_the_password_part_to_the_verifier() {
    let ctx = CheckContext::new(NOW);
    let secret = TokenSecret::Password {
        verifier: Box::new(|candidate: &str| candidate == "pwsecret"),
    };
    let state = TokenState {
        otp_len: 8,
        ..TokenState::default()
    };
    assert_eq!(
        check(&state, &secret, "1234pwsecret", &ctx).verdict,
        Verdict::Valid { next_count: 1 }
    );
    assert_eq!(
        check(&state, &secret, "1234pwsecreT", &ctx).verdict,
        Verdict::PinMatching
    );
    assert_eq!(
        check(&state, &secret, "4321pwsecret", &ctx).verdict,
        Verdict::Invalid
    );
}

#[test]
fn day_password_is_valid_for_the_local_day_only() {
    let secret = TokenSecret::DayPassword {
        secret: Secret::from_slice(b"1234567890123456"),
    };
    let state = TokenState::default();
    let today = CalendarDate::new(2026, 11, 26).unwrap();
    let tomorrow = CalendarDate::new(2026, 11, 27).unwrap();
    let otp_today = day_password(b"1234567890123456", today, 6).unwrap();
    let otp_tomorrow = day_password(b"1234567890123456", tomorrow, 6).unwrap();
    assert_eq!(otp_today, "200081");

    let late_evening = 1_795_735_800; // 2026-11-26 23:30 UTC
    let mut ctx = CheckContext::new(late_evening);
    assert_eq!(
        check(&state, &secret, &format!("{PIN}{otp_today}"), &ctx).verdict,
        Verdict::Valid { next_count: 2 }
    );
    assert_eq!(
        check(&state, &secret, &format!("{PIN}{otp_tomorrow}"), &ctx).verdict,
        Verdict::PinMatching
    );
    // At UTC+1 the server's local date is already the 27th.
    ctx.local_utc_offset_secs = 3600;
    assert_eq!(
        check(&state, &secret, &format!("{PIN}{otp_tomorrow}"), &ctx).verdict,
        Verdict::Valid { next_count: 2 }
    );
}

// ---- pre-checks --------------------------------------------------------------

fn good_pass() -> String {
    format!("{PIN}{}", hotp_at(0))
}

#[test]
fn inactive_token_is_skipped_untouched() {
    let state = TokenState {
        active: false,
        ..TokenState::default()
    };
    let checked = check(
        &state,
        &hmac_secret(),
        &good_pass(),
        &CheckContext::new(NOW),
    );
    assert_eq!(checked.verdict, Verdict::Skipped(SkipReason::Inactive));
    assert_eq!(checked.state, state);
}

#[test]
fn token_at_max_fail_never_authenticates_and_keeps_counting() {
    let state = TokenState {
        fail_count: 10,
        max_fail: 10,
        ..TokenState::default()
    };
    let checked = check(
        &state,
        &hmac_secret(),
        &good_pass(),
        &CheckContext::new(NOW),
    );
    assert_eq!(
        checked.verdict,
        Verdict::Skipped(SkipReason::FailCounterExceeded)
    );
    assert_eq!(checked.state.fail_count, 11);
    assert_eq!(checked.state.count, 0);

    let below = TokenState {
        fail_count: 9,
        ..state
    };
    let checked = check(
        &below,
        &hmac_secret(),
        &good_pass(),
        &CheckContext::new(NOW),
    );
    assert_eq!(checked.verdict, Verdict::Valid { next_count: 1 });
}

fn with_info(info: &str) -> TokenState {
    TokenState {
        info: TokenInfo::parse(info).unwrap(),
        ..TokenState::default()
    }
}

#[test]
fn validity_period_is_compared_with_utc_now() {
    let start = with_info("{\"validity_period_start\": \"26/11/26 10:12\"}");
    let before = check(
        &start,
        &hmac_secret(),
        &good_pass(),
        &CheckContext::new(NOW),
    );
    assert_eq!(before.verdict, Verdict::Skipped(SkipReason::NotYetValid));
    assert_eq!(before.state.fail_count, 1);
    let at_start = check(
        &start,
        &hmac_secret(),
        &good_pass(),
        &CheckContext::new(NOW + 30),
    );
    assert_eq!(at_start.verdict, Verdict::Valid { next_count: 1 });

    let end = with_info("{\"validity_period_end\": \"26/11/26 10:12\"}");
    let before_end = check(
        &end,
        &hmac_secret(),
        &good_pass(),
        &CheckContext::new(NOW + 29),
    );
    assert_eq!(before_end.verdict, Verdict::Valid { next_count: 1 });
    let after = check(
        &end,
        &hmac_secret(),
        &good_pass(),
        &CheckContext::new(NOW + 30),
    );
    assert_eq!(
        after.verdict,
        Verdict::Skipped(SkipReason::ValidityPeriodExceeded)
    );
    assert_eq!(after.state.fail_count, 1);
    assert!(after.state.active);

    let mut disabling = CheckContext::new(NOW + 30);
    disabling.disable_on_exceed = true;
    let disabled = check(&end, &hmac_secret(), &good_pass(), &disabling);
    assert!(!disabled.state.active);
}

#[test]
fn usage_limits_skip_the_token_with_linotps_reasons() {
    let ctx = CheckContext::new(NOW);
    let used_up = with_info("{\"count_auth_max\": 5, \"count_auth\": 5}");
    let checked = check(&used_up, &hmac_secret(), &good_pass(), &ctx);
    assert_eq!(
        checked.verdict,
        Verdict::Skipped(SkipReason::AuthCounterExceeded)
    );
    assert_eq!(checked.state.fail_count, 1);
    assert_eq!(
        SkipReason::AuthCounterExceeded.action_detail().unwrap(),
        "Authentication counter exceeded"
    );

    let onetime = with_info("{\"count_auth_success_max\": 1, \"count_auth_success\": \"1\"}");
    let checked = check(&onetime, &hmac_secret(), &good_pass(), &ctx);
    assert_eq!(
        checked.verdict,
        Verdict::Skipped(SkipReason::SuccessCounterExceeded)
    );
    assert_eq!(
        SkipReason::SuccessCounterExceeded.action_detail().unwrap(),
        "Authentication sucess counter exceeded"
    );

    let room_left = with_info("{\"count_auth_max\": 5, \"count_auth\": 4}");
    assert_eq!(
        check(&room_left, &hmac_secret(), &good_pass(), &ctx).verdict,
        Verdict::Valid { next_count: 1 }
    );
}

#[test]
fn scope_restricts_tokens_to_listed_controllers() {
    let state = with_info("{\"scope\": {\"path\": [\"userservice\"]}}");
    let mut ctx = CheckContext::new(NOW);
    ctx.controller = Some("validate");
    let checked = check(&state, &hmac_secret(), &good_pass(), &ctx);
    assert_eq!(checked.verdict, Verdict::Skipped(SkipReason::ScopeMismatch));
    assert_eq!(checked.state.fail_count, 0);
    // The controller usually comes from the request path, a borrowed string.
    let path = String::from("/userservice/login");
    let segment = path.trim_start_matches('/').split('/').next();
    let ctx = CheckContext {
        controller: segment,
        ..CheckContext::new(NOW)
    };
    assert_eq!(
        check(&state, &hmac_secret(), &good_pass(), &ctx).verdict,
        Verdict::Valid { next_count: 1 }
    );
}

#[test]
fn unusable_tokeninfo_skips_the_token_without_changing_it() {
    let state = with_info("{\"timeStep\": \"soon\"}");
    let checked = check(
        &state,
        &totp_secret(),
        &good_pass(),
        &CheckContext::new(NOW),
    );
    assert!(matches!(
        checked.verdict,
        Verdict::Skipped(SkipReason::BadTokenData(_))
    ));
    assert_eq!(checked.state, state);

    // An OTP length HOTP cannot produce (the PIN is ignored so the OTP is checked).
    let state = TokenState {
        otp_len: 11,
        ..TokenState::default()
    };
    let mut ctx = CheckContext::new(NOW);
    ctx.otppin = OtpPinMode::IgnorePin;
    let checked = check(&state, &hmac_secret(), &good_pass(), &ctx);
    assert!(matches!(
        checked.verdict,
        Verdict::Skipped(SkipReason::BadTokenData(_))
    ));
}

#[test]
fn totp_counter_is_public_for_callers_showing_the_current_step() {
    assert_eq!(totp_counter(NOW, 0, 30).unwrap(), NOW / 30);
}
