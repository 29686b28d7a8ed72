//! Verifying one token against one `pass`: LinOTP's per-token pre-checks
//! (`checkTokenList`), PIN/OTP splitting, the OTP windows, replay refusal
//! and auto-resync. Pure: state and clock in, verdict and new state out.

use subtle::ConstantTimeEq;
use tracing::debug;

use crate::date::CalendarDate;
use crate::error::{Error, Result};
use crate::otp::{HotpGenerator, day_password, motp, totp_counter};
use crate::token::{TokenSecret, TokenState};

/// TOTP auto-resync accepts a second OTP at most this many steps after the
/// first (LinOTP's `resyncDiffLimit`).
pub const TOTP_RESYNC_DIFF_LIMIT: i64 = 3;

/// Verifies the PIN part of a pass. The caller decides what "PIN" means:
/// the token's stored PIN hash for [`OtpPinMode::TokenPin`] and
/// [`OtpPinMode::IgnorePin`] (spass tokens still check it), the user's
/// directory password for [`OtpPinMode::UserPassword`].
///
/// Any `Fn(&str) -> bool` is a `PinCheck`.
pub trait PinCheck {
    /// True if `pin` is right. Implementations compare in constant time.
    fn matches(&self, pin: &str) -> bool;
}

impl<F: Fn(&str) -> bool> PinCheck for F {
    fn matches(&self, pin: &str) -> bool {
        self(pin)
    }
}

/// Verifies the password part of a `pw` token's pass against its stored
/// crypt hash. Any `Fn(&str) -> bool` is a `PasswordCheck`.
pub trait PasswordCheck {
    /// True if `password` is the token's password.
    fn matches(&self, password: &str) -> bool;
}

impl<F: Fn(&str) -> bool> PasswordCheck for F {
    fn matches(&self, password: &str) -> bool {
        self(password)
    }
}

/// The `otppin` policy: what the PIN part of a pass is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum OtpPinMode {
    /// `0` / `token_pin`: the token PIN (default).
    #[default]
    TokenPin,
    /// `1` / `password`: the user's password; the OTP is checked first so
    /// wrong OTPs never reach (and lock) the user directory.
    UserPassword,
    /// `2` / `only_otp`: no PIN, the whole pass is the OTP.
    OnlyOtp,
    /// `3` / `ignore_pin`: the PIN part is not checked (spass still is).
    IgnorePin,
}

impl OtpPinMode {
    /// Reads a policy value: `0`..`3` or `token_pin`, `password`,
    /// `only_otp`, `ignore_pin`.
    pub fn from_policy_value(value: &str) -> Option<Self> {
        match value.trim() {
            "0" | "token_pin" => Some(Self::TokenPin),
            "1" | "password" => Some(Self::UserPassword),
            "2" | "only_otp" => Some(Self::OnlyOtp),
            "3" | "ignore_pin" => Some(Self::IgnorePin),
            _ => None,
        }
    }

    /// The numeric policy value.
    pub fn number(self) -> u8 {
        match self {
            Self::TokenPin => 0,
            Self::UserPassword => 1,
            Self::OnlyOtp => 2,
            Self::IgnorePin => 3,
        }
    }
}

/// Everything about the request and the configuration a check needs. No
/// clock is read: `now_unix` is the time of the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckContext<'a> {
    /// Request time, Unix seconds (UTC).
    pub now_unix: i64,
    /// Offset of the server's local time from UTC in seconds (east
    /// positive); the DPW token's "today" is the local date.
    pub local_utc_offset_secs: i64,
    /// Config `PrependPin`: PIN before OTP (default true).
    pub prepend_pin: bool,
    /// The `otppin` policy in force.
    pub otppin: OtpPinMode,
    /// Config `AutoResync`.
    pub auto_resync: bool,
    /// Config `AutoResyncTimeout` in seconds (HOTP).
    pub auto_resync_timeout_secs: i64,
    /// Config `DefaultResetFailCount`: an admin resync clears the fail counter.
    pub reset_fail_count: bool,
    /// Policy `disable_on_authentication_exceed`: a token over its usage
    /// limits is deactivated when tried.
    pub disable_on_exceed: bool,
    /// First path segment of the request (`validate`, `userservice`, …),
    /// matched against tokeninfo `scope.path`; `None` skips that check.
    pub controller: Option<&'a str>,
}

impl CheckContext<'static> {
    /// LinOTP's defaults at time `now_unix`: PIN first, token PIN, no
    /// auto-resync (timeout 240 s when enabled), resync resets the fail
    /// counter, UTC as local time, no scope check.
    pub fn new(now_unix: i64) -> Self {
        Self {
            now_unix,
            local_utc_offset_secs: 0,
            prepend_pin: true,
            otppin: OtpPinMode::TokenPin,
            auto_resync: false,
            auto_resync_timeout_secs: 240,
            reset_fail_count: true,
            disable_on_exceed: false,
            controller: None,
        }
    }
}

/// Why a token was left out of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// The token is bound to realms that do not include the user's realm
    /// (decided by the caller, which knows the realms).
    RealmMismatch,
    /// The token type is not known (decided by the caller).
    UnknownTokenType,
    /// `LinOtpIsactive` is false.
    Inactive,
    /// The fail counter reached `LinOtpMaxFail`.
    FailCounterExceeded,
    /// Tokeninfo `scope.path` excludes this controller (a silent skip).
    ScopeMismatch,
    /// `validity_period_start` lies in the future.
    NotYetValid,
    /// `count_auth` reached `count_auth_max`.
    AuthCounterExceeded,
    /// `count_auth_success` reached `count_auth_success_max`.
    SuccessCounterExceeded,
    /// `validity_period_end` has passed.
    ValidityPeriodExceeded,
    /// The stored data cannot be used (e.g. a malformed tokeninfo value).
    BadTokenData(String),
}

impl SkipReason {
    /// LinOTP's audit `action_detail` for this skip, `None` for the silent one.
    pub fn action_detail(&self) -> Option<String> {
        let text = match self {
            Self::RealmMismatch => "Realm mismatch for token and user",
            Self::UnknownTokenType => "Unknown Token type",
            Self::Inactive => "Token inactive",
            Self::FailCounterExceeded => "Failcounter exceeded",
            Self::ScopeMismatch => return None,
            Self::NotYetValid => "Authentication validity period mismatch!",
            Self::AuthCounterExceeded => "Authentication counter exceeded",
            // "sucess" is LinOTP's spelling; audit readers match on it.
            Self::SuccessCounterExceeded => "Authentication sucess counter exceeded",
            Self::ValidityPeriodExceeded => "Authentication validity period exceeded",
            Self::BadTokenData(why) => return Some(format!("checking token failed: {why}")),
        };
        Some(text.to_owned())
    }

    /// True for the usage/validity limits on which the
    /// `delete_on_authentication_exceed` policy deletes the token.
    pub fn is_limit_exceeded(&self) -> bool {
        matches!(
            self,
            Self::AuthCounterExceeded | Self::SuccessCounterExceeded | Self::ValidityPeriodExceeded
        )
    }
}

/// The classification of one token for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// PIN and OTP matched; on success the token's `count` becomes `next_count`.
    Valid {
        /// The new `LinOtpCount` if this token decides the request.
        next_count: i64,
    },
    /// The PIN matched, the OTP did not.
    PinMatching,
    /// The PIN did not match (or, with [`OtpPinMode::UserPassword`], the OTP).
    Invalid,
    /// The token triggers a challenge. Never produced by [`check_token`]; the
    /// challenge-response layer sets it, and [`crate::finish`] honours it.
    Challenge,
    /// The token was not checked.
    Skipped(SkipReason),
}

/// A token after [`check_token`]: its verdict and its new state (fail
/// counter, TOTP drift, resync bookkeeping already applied).
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedToken {
    /// How the token took part.
    pub verdict: Verdict,
    /// The state to persist once the request is finished.
    pub state: TokenState,
}

/// Splits a pass into `(pin, otp)` by the token's OTP length, PIN first when
/// `prepend_pin`. Counts characters, not bytes; a pass shorter than the OTP
/// length is all OTP (as Python slicing does).
///
/// ```
/// use linotp_core::split_pass;
/// assert_eq!(split_pass("pin870581", 6, true), ("pin", "870581"));
/// assert_eq!(split_pass("870581pin", 6, false), ("pin", "870581"));
/// ```
pub fn split_pass(pass: &str, otp_len: u32, prepend_pin: bool) -> (&str, &str) {
    let otp_len = otp_len as usize;
    let char_count = pass.chars().count();
    let byte_offset = |chars: usize| {
        pass.char_indices()
            .nth(chars)
            .map_or(pass.len(), |(i, _)| i)
    };
    if prepend_pin {
        if otp_len == 0 {
            // Python: pass[0:-0] is "" and pass[-0:] the whole pass.
            return ("", pass);
        }
        let (pin, otp) = pass.split_at(byte_offset(char_count.saturating_sub(otp_len)));
        (pin, otp)
    } else {
        let (otp, pin) = pass.split_at(byte_offset(otp_len.min(char_count)));
        (pin, otp)
    }
}

/// Checks `pass` against one token, LinOTP's way.
///
/// In order: inactive → skip; fail counter at max → skip and count one
/// more failure; scope; validity period and usage limits (skip, one more
/// failure); then PIN and OTP per the `otppin` mode. The returned state
/// holds every change the check made; nothing is stored here.
///
/// ```
/// use linotp_core::{check_token, CheckContext, Secret, TokenSecret, TokenState, Verdict};
/// let secret = TokenSecret::Hmac { key: Secret::from_slice(b"12345678901234567890") };
/// let state = TokenState::default();
/// let pin_ok = |pin: &str| pin == "1234";
/// let checked = check_token(&state, &secret, "1234287082", &pin_ok, &CheckContext::new(0));
/// assert_eq!(checked.verdict, Verdict::Valid { next_count: 2 });
/// ```
pub fn check_token(
    state: &TokenState,
    secret: &TokenSecret,
    pass: &str,
    pin: &dyn PinCheck,
    ctx: &CheckContext<'_>,
) -> CheckedToken {
    let mut next = state.clone();
    let outcome = match precheck(&mut next, ctx) {
        Ok(Some(reason)) => Ok(Verdict::Skipped(reason)),
        Ok(None) => authenticate(&mut next, secret, pass, pin, ctx),
        Err(error) => Err(error),
    };
    match outcome {
        Ok(verdict) => {
            debug!(?verdict, kind = ?secret.kind(), "token checked");
            CheckedToken {
                verdict,
                state: next,
            }
        }
        Err(error) => {
            debug!(%error, kind = ?secret.kind(), "token data unusable");
            CheckedToken {
                verdict: Verdict::Skipped(SkipReason::BadTokenData(error.to_string())),
                state: state.clone(),
            }
        }
    }
}

fn precheck(state: &mut TokenState, ctx: &CheckContext<'_>) -> Result<Option<SkipReason>> {
    if !state.active {
        return Ok(Some(SkipReason::Inactive));
    }
    if state.fail_count >= state.max_fail {
        // A locked token keeps counting failures: the counter shows how
        // often someone kept trying.
        state.fail_count = state.fail_count.saturating_add(1);
        return Ok(Some(SkipReason::FailCounterExceeded));
    }
    if let Some(controller) = ctx.controller {
        let paths = state.info.scope_paths()?;
        if !paths.is_empty() && !paths.contains(&controller) {
            return Ok(Some(SkipReason::ScopeMismatch));
        }
    }
    let problem = validity_problem(state, ctx.now_unix)?;
    if let Some(reason) = &problem {
        state.fail_count = state.fail_count.saturating_add(1);
        if reason.is_limit_exceeded() && ctx.disable_on_exceed {
            state.active = false;
        }
    }
    Ok(problem)
}

fn validity_problem(state: &TokenState, now_unix: i64) -> Result<Option<SkipReason>> {
    let info = &state.info;
    if info
        .validity_period_start()?
        .is_some_and(|start| now_unix < start)
    {
        return Ok(Some(SkipReason::NotYetValid));
    }
    let auth_max = info.count_auth_max()?;
    if auth_max > 0 && info.count_auth()? >= auth_max {
        return Ok(Some(SkipReason::AuthCounterExceeded));
    }
    let success_max = info.count_auth_success_max()?;
    if success_max > 0 && info.count_auth_success()? >= success_max {
        return Ok(Some(SkipReason::SuccessCounterExceeded));
    }
    // LinOTP compares a sub-second clock with `now > end`; with whole
    // seconds that is `now >= end` (the end minute itself has begun).
    if info
        .validity_period_end()?
        .is_some_and(|end| now_unix >= end)
    {
        return Ok(Some(SkipReason::ValidityPeriodExceeded));
    }
    Ok(None)
}

fn authenticate(
    state: &mut TokenState,
    secret: &TokenSecret,
    pass: &str,
    pin: &dyn PinCheck,
    ctx: &CheckContext<'_>,
) -> Result<Verdict> {
    if let TokenSecret::Spass = secret {
        // The whole pass is the PIN; success counts as counter 0.
        let verdict = if pin_matches(ctx.otppin, true, pass, pin) {
            Verdict::Valid { next_count: 1 }
        } else {
            Verdict::Invalid
        };
        return Ok(verdict);
    }
    let (pin_part, otp_part) = match ctx.otppin {
        OtpPinMode::OnlyOtp => ("", pass),
        _ => split_pass(pass, state.otp_len, ctx.prepend_pin),
    };
    if ctx.otppin == OtpPinMode::UserPassword {
        let Some(next_count) = check_otp(state, secret, otp_part, ctx)? else {
            return Ok(Verdict::Invalid);
        };
        return Ok(if pin.matches(pin_part) {
            Verdict::Valid { next_count }
        } else {
            Verdict::Invalid
        });
    }
    if !pin_matches(ctx.otppin, false, pin_part, pin) {
        return Ok(Verdict::Invalid);
    }
    Ok(match check_otp(state, secret, otp_part, ctx)? {
        Some(next_count) => Verdict::Valid { next_count },
        None => Verdict::PinMatching,
    })
}

fn pin_matches(mode: OtpPinMode, is_spass: bool, pin_text: &str, pin: &dyn PinCheck) -> bool {
    match mode {
        OtpPinMode::TokenPin | OtpPinMode::UserPassword => pin.matches(pin_text),
        OtpPinMode::OnlyOtp => pin_text.is_empty(),
        OtpPinMode::IgnorePin => !is_spass || pin.matches(pin_text),
    }
}

fn constant_time_eq(expected: &str, given: &str) -> bool {
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// Checks the OTP part; `Some(next_count)` on a match. May update the
/// state's resync bookkeeping and TOTP drift even when it fails.
fn check_otp(
    state: &mut TokenState,
    secret: &TokenSecret,
    otp: &str,
    ctx: &CheckContext<'_>,
) -> Result<Option<i64>> {
    match secret {
        TokenSecret::Hmac { key } => check_hotp(state, key.expose(), otp, ctx),
        TokenSecret::Totp { key } => check_totp(state, key.expose(), otp, ctx),
        TokenSecret::Motp { secret, pin } => {
            Ok(check_motp(state, secret.expose(), pin.expose(), otp, ctx))
        }
        // No OTP beyond the PIN; `authenticate` handles spass before this.
        TokenSecret::Spass => Ok(Some(1)),
        TokenSecret::Password { verifier } => Ok(verifier.matches(otp).then_some(1)),
        TokenSecret::DayPassword { secret } => {
            let today = CalendarDate::from_unix(ctx.now_unix, ctx.local_utc_offset_secs);
            let expected = day_password(secret.expose(), today, state.otp_len as usize)?;
            // LinOTP's DPW check reports counter 1, so the stored count becomes 2.
            Ok(constant_time_eq(&expected, otp).then_some(2))
        }
    }
}

fn hotp_generator(state: &TokenState, key: &[u8]) -> Result<HotpGenerator> {
    HotpGenerator::new(key, state.info.hash_algorithm()?, state.otp_len)
}

fn check_hotp(
    state: &mut TokenState,
    key: &[u8],
    otp: &str,
    ctx: &CheckContext<'_>,
) -> Result<Option<i64>> {
    let generator = hotp_generator(state, key)?;
    let window_end = state.count.saturating_add(state.count_window);
    if let Some(matched) = generator.find(otp, state.count, window_end) {
        return Ok(Some(matched + 1));
    }
    if !ctx.auto_resync {
        return Ok(None);
    }
    let sync_end = state.count.saturating_add(state.sync_window);
    let Some(matched) = generator.find(otp, state.count, sync_end) else {
        return Ok(None);
    };
    match state.info.otp1c()? {
        None => {
            state.info.set("otp1c", matched);
            state.info.set(
                "dueDate",
                ctx.now_unix.saturating_add(ctx.auto_resync_timeout_secs),
            );
            Ok(None)
        }
        Some(first) => {
            let due_date = state.info.due_date()?;
            // One attempt per remembered OTP: the bookkeeping goes either way.
            state.info.remove("dueDate");
            state.info.remove("otp1c");
            let in_time = due_date.is_some_and(|due| ctx.now_unix < due);
            Ok((first.saturating_add(1) == matched && in_time).then_some(matched + 1))
        }
    }
}

fn check_totp(
    state: &mut TokenState,
    key: &[u8],
    otp: &str,
    ctx: &CheckContext<'_>,
) -> Result<Option<i64>> {
    let step = state.info.time_step()?;
    let now_counter = totp_counter(ctx.now_unix, state.info.time_shift()?, step)?;
    let generator = hotp_generator(state, key)?;
    let window = state.count_window;
    let found = generator.find(
        otp,
        now_counter.saturating_sub(window),
        now_counter.saturating_add(window),
    );
    let matched = match found {
        Some(matched) if matched < state.count => {
            debug!("TOTP value of an already used time step refused");
            return Ok(None);
        }
        Some(matched) => matched,
        None => match totp_autosync(state, &generator, otp, now_counter, ctx)? {
            Some(matched) => matched,
            None => return Ok(None),
        },
    };
    // The drift is measured against the unshifted clock, in whole steps.
    let unshifted_counter = totp_counter(ctx.now_unix, 0, step)?;
    let drift_steps = matched.saturating_sub(unshifted_counter);
    state
        .info
        .set("timeShift", drift_steps.saturating_mul(step) as f64);
    state.count = matched;
    Ok(Some(matched + 1))
}

fn totp_autosync(
    state: &mut TokenState,
    generator: &HotpGenerator,
    otp: &str,
    now_counter: i64,
    ctx: &CheckContext<'_>,
) -> Result<Option<i64>> {
    if !ctx.auto_resync {
        return Ok(None);
    }
    let sync = state.sync_window;
    let Some(matched) = generator.find(
        otp,
        now_counter.saturating_sub(sync),
        now_counter.saturating_add(sync),
    ) else {
        return Ok(None);
    };
    if matched < state.count {
        return Ok(None);
    }
    match state.info.otp1c()? {
        None => {
            state.info.set("otp1c", matched);
            Ok(None)
        }
        Some(first) if matched <= first => Ok(None),
        Some(first) if matched - first > TOTP_RESYNC_DIFF_LIMIT => {
            // Too far apart: this OTP becomes the new first one.
            state.info.set("otp1c", matched);
            Ok(None)
        }
        Some(_) => {
            state.info.remove("otp1c");
            Ok(Some(matched))
        }
    }
}

fn check_motp(
    state: &TokenState,
    secret: &[u8],
    pin: &[u8],
    otp: &str,
    ctx: &CheckContext<'_>,
) -> Option<i64> {
    let now_step = ctx.now_unix.div_euclid(10);
    let half_width = state.count_window.saturating_mul(2);
    let digits = state.otp_len as usize;
    let matched = (now_step.saturating_sub(half_width)..now_step.saturating_add(half_width))
        .find(|&step| constant_time_eq(&motp(secret, pin, step, digits), otp))?;
    // The stored count is the last accepted step; only later steps pass.
    if matched <= state.count {
        debug!("mOTP value of an already used time step refused");
        return None;
    }
    Some(matched)
}

/// Admin resync (`/admin/resync otp1 otp2`): finds two consecutive OTPs
/// within the sync window and moves the token there. `Ok(None)` when they
/// are not found or not consecutive, and for token types without counters.
///
/// HOTP: `otp1` at counter `n ∈ [count, count + sync_window)`, `otp2` at
/// `n + 1`; count becomes `n + 2` and, with `reset_fail_count`, a token
/// below its fail limit gets its fail counter cleared.
/// TOTP: `otp2` at step `s` within ±`sync_window` of now, `otp1` at `s - 1`
/// (not before `count`); `timeShift = (s + 0.5)·step − now`, count `s + 1`.
pub fn resync(
    state: &TokenState,
    secret: &TokenSecret,
    otp1: &str,
    otp2: &str,
    ctx: &CheckContext<'_>,
) -> Result<Option<TokenState>> {
    let mut next = state.clone();
    match secret {
        TokenSecret::Hmac { key } => {
            let generator = hotp_generator(state, key.expose())?;
            let sync_end = state.count.saturating_add(state.sync_window);
            let Some(first) = generator.find(otp1, state.count, sync_end) else {
                return Ok(None);
            };
            let second = u64::try_from(first + 1).map_err(|_| Error::NegativeCounter(first))?;
            if !constant_time_eq(&generator.otp(second), otp2) {
                return Ok(None);
            }
            next.count = first + 2;
            if ctx.reset_fail_count && next.fail_count < next.max_fail && next.active {
                next.fail_count = 0;
            }
            Ok(Some(next))
        }
        TokenSecret::Totp { key } => {
            let step = state.info.time_step()?;
            let now_counter = totp_counter(ctx.now_unix, state.info.time_shift()?, step)?;
            let generator = hotp_generator(state, key.expose())?;
            let sync = state.sync_window;
            let around = |center: i64, otp: &str| {
                generator.find(
                    otp,
                    center.saturating_sub(sync),
                    center.saturating_add(sync),
                )
            };
            let second = around(now_counter, otp2);
            let first = around(now_counter - 1, otp1).filter(|&first| first >= state.count);
            match (first, second) {
                (Some(first), Some(second)) if first + 1 == second => {
                    let token_time = (second as f64 + 0.5) * step as f64;
                    next.info.set("timeShift", token_time - ctx.now_unix as f64);
                    next.count = second + 1;
                    Ok(Some(next))
                }
                _ => Ok(None),
            }
        }
        TokenSecret::Motp { .. }
        | TokenSecret::Spass
        | TokenSecret::Password { .. }
        | TokenSecret::DayPassword { .. } => Ok(None),
    }
}
