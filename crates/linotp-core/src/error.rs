//! The crate's error type.

/// Everything that can go wrong in `linotp-core`.
///
/// Messages never contain secrets (keys, PINs, OTP values).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// An OTP length outside what the algorithm can produce.
    #[error("unsupported OTP length {0}")]
    InvalidOtpLength(u32),
    /// A TOTP time step of zero or less.
    #[error("time step must be positive, got {0}")]
    InvalidTimeStep(i64),
    /// A time that maps to a negative HOTP counter.
    #[error("time {0} lies before the first time step")]
    NegativeCounter(i64),
    /// A hash name LinOTP knows but this crate cannot compute (md5, sha224).
    #[error("unsupported hash algorithm {0:?}")]
    UnsupportedHash(String),
    /// A hash name nobody knows (strict parsing only).
    #[error("unknown hash algorithm {0:?}")]
    UnknownHash(String),
    /// The tokeninfo column is not a JSON object.
    #[error("token info is not a JSON object: {0}")]
    TokenInfoJson(String),
    /// A tokeninfo key holds a value LinOTP itself could not use.
    #[error("token info key {key:?} has an unusable value")]
    TokenInfoValue {
        /// The offending key.
        key: String,
    },
    /// A date that does not match LinOTP's `%d/%m/%y %H:%M`.
    #[error("invalid date {0:?}, expected DD/MM/YY HH:MM")]
    InvalidDate(String),
    /// A calendar date that does not exist.
    #[error("invalid calendar date {year:04}-{month:02}-{day:02}")]
    InvalidCalendarDate {
        /// Year.
        year: i32,
        /// Month 1..=12.
        month: u32,
        /// Day of month.
        day: u32,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
