//! LinOTP's token engine: OTP algorithms and the rules LinOTP applies when
//! it checks a token, as pure functions.
//!
//! No I/O, no clock, no randomness, no async: the caller passes the token's
//! stored state, its decrypted secret, the request's `pass` and the time,
//! and gets back a verdict plus the token's new state to persist. Data
//! formats (counters, tokeninfo JSON) are LinOTP's own, so a database can be
//! shared with LinOTP.
//!
//! * Algorithms: [`hotp`], [`totp`], [`motp`], [`day_password`].
//! * One token: [`check_token`] (PIN/OTP split, windows, replay refusal,
//!   auto-resync, fail counter, validity and usage limits) and [`resync`].
//! * One request: [`finish`] decides over all candidate tokens.
//! * Storage format: [`TokenInfo`] parses and writes the tokeninfo column
//!   byte-exactly like LinOTP.
//!
//! ```
//! use linotp_core::{
//!     check_token, finish, CheckContext, Decision, OtpPinMode, Secret, TokenSecret, TokenState,
//! };
//!
//! // An HOTP token with the RFC 4226 seed, stored counter 0, PIN "1234".
//! let state = TokenState::default();
//! let secret = TokenSecret::Hmac { key: Secret::from_slice(b"12345678901234567890") };
//! let pin = |candidate: &str| candidate == "1234"; // the caller's PIN hash check
//! let ctx = CheckContext::new(1_700_000_000);
//!
//! // The user types PIN + OTP of counter 1.
//! let checked = check_token(&state, &secret, "1234287082", &pin, &ctx);
//! let finished = finish(vec![checked], OtpPinMode::TokenPin);
//! assert_eq!(finished.decision, Decision::Success { token: 0 });
//! assert_eq!(finished.tokens[0].count, 2); // persist this; the OTP is spent
//!
//! // The same OTP again is refused.
//! let again = check_token(&finished.tokens[0], &secret, "1234287082", &pin, &ctx);
//! assert!(!finish(vec![again], OtpPinMode::TokenPin).decision.is_success());
//! ```

mod check;
mod date;
mod error;
mod finish;
mod otp;
mod secret;
mod token;
mod tokeninfo;

pub use check::{
    CheckContext, CheckedToken, OtpPinMode, PasswordCheck, PinCheck, SkipReason,
    TOTP_RESYNC_DIFF_LIMIT, Verdict, check_token, resync, split_pass,
};
pub use date::{CalendarDate, parse_validity_date};
pub use error::{Error, Result};
pub use finish::{Decision, Finished, finish};
pub use otp::{HashAlgorithm, MAX_HOTP_DIGITS, day_password, hotp, motp, totp, totp_counter};
pub use secret::Secret;
pub use token::{TokenKind, TokenSecret, TokenState};
pub use tokeninfo::{DEFAULT_TIME_STEP, InfoValue, TokenInfo, write_python_json_string};
