//! A token's stored state and its secret material.

use crate::check::PasswordCheck;
use crate::secret::Secret;
use crate::tokeninfo::TokenInfo;

/// The token types this crate can verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// `hmac`: HOTP, RFC 4226.
    Hmac,
    /// `totp`: RFC 6238.
    Totp,
    /// `motp`: mobile OTP.
    Motp,
    /// `spass`: PIN only.
    Spass,
    /// `pw`: static password (stored as a crypt hash).
    Password,
    /// `dpw`: day password.
    DayPassword,
}

impl TokenKind {
    /// Maps a `LinOtpTokenType` value (any case) or a legacy dotted class
    /// name to a kind; `None` for types this crate does not verify.
    pub fn from_linotp_type(type_name: &str) -> Option<Self> {
        let lower = type_name.to_ascii_lowercase();
        let short = match lower.as_str() {
            "linotp.tokens.hmactoken.hmactokenclass" => "hmac",
            "linotp.tokens.totptoken.timehmactokenclass" => "totp",
            "linotp.tokens.motptoken.motptokenclass" => "motp",
            "linotp.tokens.spasstoken.spasstokenclass" => "spass",
            "linotp.tokens.passwordtoken.passwordtokenclass" => "pw",
            "linotp.tokens.tagespassworttoken.tagespassworttokenclass" => "dpw",
            other => other,
        };
        match short {
            "hmac" => Some(Self::Hmac),
            "totp" => Some(Self::Totp),
            "motp" => Some(Self::Motp),
            "spass" => Some(Self::Spass),
            "pw" => Some(Self::Password),
            "dpw" => Some(Self::DayPassword),
            _ => None,
        }
    }

    /// The type string LinOTP stores in `LinOtpTokenType` for this kind.
    pub fn linotp_type(self) -> &'static str {
        match self {
            Self::Hmac => "HMAC",
            Self::Totp => "TOTP",
            Self::Motp => "mOTP",
            Self::Spass => "spass",
            Self::Password => "pw",
            Self::DayPassword => "DPW",
        }
    }
}

/// The mutable state of one token row: the columns verification reads and
/// writes, plus its tokeninfo. A check returns a new `TokenState`; storing
/// it is the caller's job.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenState {
    /// `LinOtpCount`: next expected HOTP counter, last TOTP step + 1, last
    /// mOTP ten-second step.
    pub count: i64,
    /// `LinOtpCountWindow`: how many counters/steps a check looks at.
    pub count_window: i64,
    /// `LinOtpSyncWindow`: counters/steps searched by resync.
    pub sync_window: i64,
    /// `LinOtpOtpLen`: OTP length, used to split PIN from OTP.
    pub otp_len: u32,
    /// `LinOtpMaxFail`: fail count at which the token stops authenticating.
    pub max_fail: i64,
    /// `LinOtpFailCount`.
    pub fail_count: i64,
    /// `LinOtpIsactive`.
    pub active: bool,
    /// `LinOtpTokenInfo`.
    pub info: TokenInfo,
}

impl Default for TokenState {
    /// A fresh token with LinOTP's defaults: counter 0, window 10, sync
    /// window 1000, 6 digits, max fail 10, active.
    fn default() -> Self {
        Self {
            count: 0,
            count_window: 10,
            sync_window: 1000,
            otp_len: 6,
            max_fail: 10,
            fail_count: 0,
            active: true,
            info: TokenInfo::new(),
        }
    }
}

/// What a token verifies OTPs against, decrypted by the caller for the
/// duration of one check. Key material is zeroized on drop and redacted in
/// `Debug`.
pub enum TokenSecret {
    /// HOTP seed; hash from tokeninfo `hashlib`.
    Hmac {
        /// The HMAC key.
        key: Secret,
    },
    /// TOTP seed; hash, step and shift from tokeninfo.
    Totp {
        /// The HMAC key.
        key: Secret,
    },
    /// mOTP init secret and device PIN (both as the ASCII bytes LinOTP keeps).
    Motp {
        /// The init secret.
        secret: Secret,
        /// The device PIN (`LinOtpTokenPinUser`), not the LinOTP PIN.
        pin: Secret,
    },
    /// PIN-only token: nothing but the PIN is checked.
    Spass,
    /// Static password token; its crypt hash is verified by the caller.
    Password {
        /// Verifies the password part of the pass.
        verifier: Box<dyn PasswordCheck + Send + Sync>,
    },
    /// Day password secret.
    DayPassword {
        /// The secret bytes.
        secret: Secret,
    },
}

impl TokenSecret {
    /// The token type this secret belongs to.
    pub fn kind(&self) -> TokenKind {
        match self {
            Self::Hmac { .. } => TokenKind::Hmac,
            Self::Totp { .. } => TokenKind::Totp,
            Self::Motp { .. } => TokenKind::Motp,
            Self::Spass => TokenKind::Spass,
            Self::Password { .. } => TokenKind::Password,
            Self::DayPassword { .. } => TokenKind::DayPassword,
        }
    }
}

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenSecret::{:?}([redacted])", self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_strings_map_case_insensitively_and_from_class_names() {
        assert_eq!(TokenKind::from_linotp_type("HMAC"), Some(TokenKind::Hmac));
        assert_eq!(TokenKind::from_linotp_type("mOTP"), Some(TokenKind::Motp));
        assert_eq!(
            TokenKind::from_linotp_type("DPW"),
            Some(TokenKind::DayPassword)
        );
        assert_eq!(
            TokenKind::from_linotp_type("linotp.tokens.totptoken.TimeHmacTokenClass"),
            Some(TokenKind::Totp)
        );
        assert_eq!(TokenKind::from_linotp_type("sms"), None);
        assert_eq!(
            TokenKind::from_linotp_type("linotp.tokens.x.UnknownClass"),
            None
        );
        for kind in [
            TokenKind::Hmac,
            TokenKind::Totp,
            TokenKind::Motp,
            TokenKind::Spass,
            TokenKind::Password,
            TokenKind::DayPassword,
        ] {
            assert_eq!(TokenKind::from_linotp_type(kind.linotp_type()), Some(kind));
        }
    }

    #[test]
    fn secret_debug_shows_only_the_kind() {
        let secret = TokenSecret::Motp {
            secret: Secret::from_slice(b"0123456789abcdef"),
            pin: Secret::from_slice(b"6666"),
        };
        let shown = format!("{secret:?}");
        assert_eq!(shown, "TokenSecret::Motp([redacted])");
    }
}
