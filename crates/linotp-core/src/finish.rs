//! Finishing a request over all candidate tokens (LinOTP's `FinishTokens`):
//! who wins, which counters move, what the audit row says.

use crate::check::{CheckedToken, OtpPinMode, Verdict};
use crate::token::TokenState;

/// The outcome of a request. Indices refer to the input of [`finish`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Exactly one token was valid: the request succeeds.
    Success {
        /// The token that authenticated.
        token: usize,
    },
    /// Several tokens were valid: LinOTP's "multiple token match error"
    /// (UserError -33); the request fails.
    MultipleValid {
        /// The valid tokens.
        tokens: Vec<usize>,
    },
    /// No token was valid but some want to send a challenge; the caller
    /// creates the challenges and answers `value: false` with details.
    Challenge {
        /// The challenge tokens.
        tokens: Vec<usize>,
    },
    /// The request fails.
    Failed {
        /// The tokens the audit row names: the PIN-matching ones if any,
        /// else the invalid ones; empty if every token was skipped.
        tokens: Vec<usize>,
    },
}

impl Decision {
    /// True only for [`Decision::Success`].
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success { .. })
    }
}

/// [`finish`]'s result: the decision, the audit `action_detail`, and every
/// token's state to persist (same order as the input).
#[derive(Clone, Debug, PartialEq)]
pub struct Finished {
    /// Who won.
    pub decision: Decision,
    /// LinOTP's audit `action_detail`. `None` on success, where LinOTP
    /// writes `user '<login>'@'<realm>' successfully authenticated.` (or
    /// `serial '<serial>' …`), which only the caller can word.
    pub action_detail: Option<String>,
    /// New states, one per input token.
    pub tokens: Vec<TokenState>,
}

/// Decides a request from its checked tokens and applies LinOTP's
/// finalisation to their states:
///
/// * one valid token → success: its `count` becomes `next_count`,
///   `count_auth_success` / `count_auth` rise where a maximum is set, and
///   the fail counters of all tokens that took part (valid, challenge,
///   PIN-matching, invalid; not skipped ones) return to 0;
/// * several valid → failure; each valid token's counter still moves so
///   the OTP is spent (LinOTP stores the matched counter itself, letting the
///   same OTP be tried again; consuming it is the safer choice) and
///   `count_auth` rises where a maximum is set;
/// * challenge tokens → [`Decision::Challenge`], no counter changes;
/// * PIN-matching tokens → failure, each gets `count_auth + 1` (even without
///   a maximum, as LinOTP does) and `fail_count + 1`; invalid ones stay as they are;
/// * only invalid tokens → failure, each gets `fail_count + 1` and
///   `count_auth + 1` where a maximum is set;
/// * all skipped → failure with the last skip reason as `action_detail`.
///
/// `otppin` only words the audit text for invalid tokens.
///
/// ```
/// use linotp_core::{finish, CheckedToken, Decision, OtpPinMode, TokenState, Verdict};
/// let checked = vec![
///     CheckedToken { verdict: Verdict::Valid { next_count: 4 }, state: TokenState::default() },
///     CheckedToken { verdict: Verdict::Invalid, state: TokenState { fail_count: 3, ..TokenState::default() } },
/// ];
/// let finished = finish(checked, OtpPinMode::TokenPin);
/// assert_eq!(finished.decision, Decision::Success { token: 0 });
/// assert_eq!(finished.tokens[0].count, 4);
/// assert_eq!(finished.tokens[1].fail_count, 0);
/// ```
pub fn finish(checked: Vec<CheckedToken>, otppin: OtpPinMode) -> Finished {
    let indices_where = |wanted: fn(&Verdict) -> bool| -> Vec<usize> {
        checked
            .iter()
            .enumerate()
            .filter(|(_, token)| wanted(&token.verdict))
            .map(|(index, _)| index)
            .collect()
    };
    let challenge = indices_where(|verdict| matches!(verdict, Verdict::Challenge));
    let pin_matching = indices_where(|verdict| matches!(verdict, Verdict::PinMatching));
    let invalid = indices_where(|verdict| matches!(verdict, Verdict::Invalid));
    let valid: Vec<(usize, i64)> = checked
        .iter()
        .enumerate()
        .filter_map(|(index, token)| match token.verdict {
            Verdict::Valid { next_count } => Some((index, next_count)),
            _ => None,
        })
        .collect();
    let last_skip_detail = checked.iter().rev().find_map(|token| match &token.verdict {
        Verdict::Skipped(reason) => reason.action_detail(),
        _ => None,
    });
    let mut tokens: Vec<TokenState> = checked.into_iter().map(|token| token.state).collect();

    let (decision, action_detail) = if let [(winner, next_count)] = valid[..] {
        let token = &mut tokens[winner];
        token.count = next_count;
        if token.info.count_auth_success_max().unwrap_or(0) > 0 {
            bump(token, "count_auth_success");
        }
        if token.info.count_auth_max().unwrap_or(0) > 0 {
            bump(token, "count_auth");
        }
        let involved = valid.iter().map(|(index, _)| index);
        for &index in involved
            .chain(&challenge)
            .chain(&pin_matching)
            .chain(&invalid)
        {
            tokens[index].fail_count = 0;
        }
        (Decision::Success { token: winner }, None)
    } else if !valid.is_empty() {
        for &(index, next_count) in &valid {
            let token = &mut tokens[index];
            token.count = next_count;
            if token.info.count_auth_max().unwrap_or(0) > 0 {
                bump(token, "count_auth");
            }
        }
        let tokens_matched = valid.iter().map(|(index, _)| *index).collect();
        let detail = "Multiple valid tokens found!".to_owned();
        (
            Decision::MultipleValid {
                tokens: tokens_matched,
            },
            Some(detail),
        )
    } else if !challenge.is_empty() {
        let detail = "challenge created".to_owned();
        (Decision::Challenge { tokens: challenge }, Some(detail))
    } else if !pin_matching.is_empty() {
        for &index in &pin_matching {
            let token = &mut tokens[index];
            bump(token, "count_auth");
            token.fail_count = token.fail_count.saturating_add(1);
        }
        let detail = "wrong otp value".to_owned();
        (
            Decision::Failed {
                tokens: pin_matching,
            },
            Some(detail),
        )
    } else if !invalid.is_empty() {
        for &index in &invalid {
            let token = &mut tokens[index];
            if token.info.count_auth_max().unwrap_or(0) > 0 {
                bump(token, "count_auth");
            }
            token.fail_count = token.fail_count.saturating_add(1);
        }
        let detail = match otppin {
            OtpPinMode::UserPassword => "wrong user password -1",
            _ => "wrong otp pin -1",
        };
        (
            Decision::Failed { tokens: invalid },
            Some(detail.to_owned()),
        )
    } else {
        let detail = last_skip_detail.unwrap_or_else(|| "no token found!".to_owned());
        (Decision::Failed { tokens: Vec::new() }, Some(detail))
    };

    Finished {
        decision,
        action_detail,
        tokens,
    }
}

fn bump(token: &mut TokenState, key: &str) {
    let current = token
        .info
        .get(key)
        .and_then(|value| value.as_int())
        .unwrap_or(0);
    token.info.set(key, current.saturating_add(1));
}
