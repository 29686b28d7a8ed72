//! The crate's error type.

use linotp_store::StoreError;

/// LinOTP's error code for a `ParameterError` (a missing or malformed request parameter).
pub const PARAMETER_ERROR_CODE: i32 = 905;
/// LinOTP's error code for any other failure it reports with `sendError`.
pub const GENERIC_ERROR_CODE: i32 = -311;

/// What can go wrong when defining, building or asking a resolver.
///
/// `Display` of [`ResolverError::Definition`] is LinOTP's own error text, so `/system/setResolver`
/// can pass it on unchanged; the other variants name the resolver and never carry a password.
#[derive(Debug, thiserror::Error)]
pub enum ResolverError {
    /// A resolver definition LinOTP refuses (setResolver validation, unreadable stored config).
    #[error("{message}")]
    Definition {
        /// LinOTP's error text.
        message: String,
        /// LinOTP's error code for it ([`PARAMETER_ERROR_CODE`] or [`GENERIC_ERROR_CODE`]).
        code: i32,
    },
    /// The user store could not be reached or did not answer in time (LinOTP's
    /// `ResolverNotAvailable`): callers treat the resolver's users as unknown for this request.
    #[error("resolver {resolver} is not available: {reason}")]
    Unavailable {
        /// Resolver name.
        resolver: String,
        /// What failed (server error text, timeout); contains no secret.
        reason: String,
    },
    /// The directory or database answered with an error.
    #[error("resolver {resolver}: {reason}")]
    Backend {
        /// Resolver name.
        resolver: String,
        /// The backend's error text.
        reason: String,
    },
    /// The resolver's own database could not be used.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A passwd file could not be read.
    #[error("cannot read passwd file {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

impl ResolverError {
    /// The LinOTP error code a reply for this error carries.
    pub fn linotp_code(&self) -> i32 {
        match self {
            ResolverError::Definition { code, .. } => *code,
            _ => GENERIC_ERROR_CODE,
        }
    }

    /// True when the user store was unreachable or timed out (as opposed to a refusal).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, ResolverError::Unavailable { .. })
    }

    pub(crate) fn definition(message: impl Into<String>) -> ResolverError {
        ResolverError::Definition {
            message: message.into(),
            code: GENERIC_ERROR_CODE,
        }
    }

    pub(crate) fn parameter(message: impl Into<String>) -> ResolverError {
        ResolverError::Definition {
            message: message.into(),
            code: PARAMETER_ERROR_CODE,
        }
    }

    pub(crate) fn unavailable(resolver: &str, reason: impl Into<String>) -> ResolverError {
        ResolverError::Unavailable {
            resolver: resolver.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn backend(resolver: &str, reason: impl Into<String>) -> ResolverError {
        ResolverError::Backend {
            resolver: resolver.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Result with [`ResolverError`].
pub type Result<T, E = ResolverError> = std::result::Result<T, E>;
