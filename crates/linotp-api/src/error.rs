//! The crate's one error type and the one place where errors become LinOTP error codes.
//!
//! A handler returns `Result<_, ApiError>`; the error renders itself as LinOTP's `sendError`
//! envelope. LinOTP's own exceptions (`LinotpError` and subclasses) put `ERR<id>: ` in front
//! of their description; other exceptions answer with code `-311` and the bare text.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::pyfmt::python_str_repr;
use crate::reply::{JsonReply, reply_id};

/// `Result` with [`ApiError`] as the error.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// LinOTP's error ids (`LinotpError.id`), as listed in the spec and seen in golden replies.
pub mod codes {
    /// A non-LinOTP exception, and the auth gates ("Not authenticated", "No valid session").
    pub const NON_LINOTP: i64 = -311;
    /// UserError "multiple token match error".
    pub const MULTIPLE_TOKEN_MATCH: i64 = -33;
    /// `/audit/search` failure.
    pub const AUDIT_SEARCH: i64 = 0;
    /// Generic LinotpError / ValidateError / TokenAdminError / ConfigAdminError.
    pub const GENERIC: i64 = 10;
    /// Usage error ("Usage: ...").
    pub const USAGE: i64 = 77;
    /// `genkey` and `otpkey` both given.
    pub const GENKEY_AND_OTPKEY: i64 = 344;
    /// PolicyException.
    pub const POLICY: i64 = 410;
    /// maxtoken per user exceeded.
    pub const MAXTOKEN_USER: i64 = 411;
    /// maxtoken per user and type exceeded.
    pub const MAXTOKEN_USER_TYPE: i64 = 412;
    /// tokencount per realm exceeded.
    pub const TOKENCOUNT_REALM: i64 = 413;
    /// AuthorizeException.
    pub const AUTHORIZE: i64 = 510;
    /// HSMException (security module).
    pub const HSM: i64 = 707;
    /// SelfserviceException.
    pub const SELFSERVICE: i64 = 807;
    /// ParameterError / UserError / ServerError.
    pub const PARAMETER: i64 = 905;
    /// TokenTypeNotSupportedError.
    pub const TOKEN_TYPE_NOT_SUPPORTED: i64 = 906;
    /// Token admin: token not found.
    pub const TOKEN_NOT_FOUND: i64 = 1101;
    /// "No token with serial ... found".
    pub const NO_TOKEN_WITH_SERIAL: i64 = 1102;
    /// Serial / token error.
    pub const SERIAL: i64 = 1104;
    /// Serial / token error.
    pub const TOKEN: i64 = 1105;
    /// Storing the fail counter failed.
    pub const FAIL_COUNTER: i64 = 1106;
    /// User error.
    pub const USER: i64 = 1112;
    /// Config admin error.
    pub const CONFIG_ADMIN: i64 = 1132;
    /// Config admin error.
    pub const CONFIG_ADMIN_2: i64 = 1133;
    /// Resolver error.
    pub const RESOLVER: i64 = 1200;
    /// User lookup error.
    pub const USER_LOOKUP: i64 = 1205;
    /// Parameter value error.
    pub const PARAMETER_VALUE: i64 = 1212;
    /// Token class error.
    pub const TOKEN_CLASS: i64 = 1609;
    /// Unknown token type ("admin/init failed: unknown token type 'x'").
    pub const UNKNOWN_TOKEN_TYPE: i64 = 1610;
    /// FIDO2 rp id policy missing.
    pub const FIDO2_RP_ID: i64 = 1901;
    /// Miscellaneous.
    pub const MISC: i64 = 2001;
    /// Invalid policy name.
    pub const INVALID_POLICY_NAME: i64 = 8888;
    /// Paging parameter conversion error.
    pub const PAGING: i64 = 9876;
}

/// Everything that can go wrong while answering a request, each with its LinOTP code.
///
/// `Display` gives the description without the `ERR<id>: ` prefix; the wire text is
/// [`ApiError::message`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// ParameterError 905 from `getParam(..., optional=False)`.
    #[error("Missing parameter: {}", python_str_repr(.name))]
    MissingParameter {
        /// The parameter's name.
        name: String,
    },
    /// ParameterError 905 with its own text ("missing parameter user or serial!").
    #[error("{0}")]
    Parameter(String),
    /// A value that Python's `int()` rejects (a ValueError, hence code -311).
    #[error("invalid literal for int() with base 10: {shown}")]
    InvalidInteger {
        /// The parameter's name.
        name: String,
        /// The value as Python's `%r` shows it, or `'***'` for secret parameters.
        shown: String,
    },
    /// A value that LinOTP's `boolean()` rejects (a ValueError, hence code -311).
    #[error("unable to convert {shown} to a boolean")]
    InvalidBoolean {
        /// The parameter's name.
        name: String,
        /// The value as Python's `%r` shows it, or `'***'` for secret parameters.
        shown: String,
    },
    /// UserError 905.
    #[error("{0}")]
    User(String),
    /// ServerError 905.
    #[error("{0}")]
    Server(String),
    /// Generic LinotpError 10 (also ValidateError, TokenAdminError, ConfigAdminError).
    #[error("{0}")]
    Linotp(String),
    /// TokenAdminError 1102; LinOTP writes `None` when no serial was given.
    #[error("No token with serial {} found", .serial.as_deref().unwrap_or("None"))]
    NoTokenWithSerial {
        /// The serial that was asked for.
        serial: Option<String>,
    },
    /// UserError -33: more than one token accepted the OTP.
    #[error("multiple token match error")]
    MultipleTokenMatch,
    /// TokenTypeNotSupportedError 906.
    #[error("{0}")]
    TokenTypeNotSupported(String),
    /// HSMException 707.
    #[error("{0}")]
    Hsm(String),
    /// SelfserviceException 807.
    #[error("{0}")]
    Selfservice(String),
    /// Storing the fail counter failed, 1106.
    #[error("{0}")]
    FailCounter(String),
    /// Usage error 77 ("Usage: ...").
    #[error("{0}")]
    Usage(String),
    /// PolicyException 410.
    #[error("{0}")]
    Policy(String),
    /// AuthorizeException 510.
    #[error("{0}")]
    Authorize(String),
    /// Any other LinotpError id (see [`codes`]).
    #[error("{description}")]
    Coded {
        /// The LinOTP error id.
        id: i64,
        /// The description after `ERR<id>: `.
        description: String,
    },
    /// The admin JWT / CSRF gate refused the request: HTTP 401.
    #[error("Not authenticated")]
    NotAuthenticated,
    /// The userservice session gate refused the request: HTTP 401.
    #[error("No valid session")]
    NoValidSession,
    /// The request body could not be read as parameters (bad JSON, bad encoding): HTTP 400.
    #[error("{0}")]
    MalformedRequest(String),
    /// The request body is larger than the configured limit: HTTP 413.
    #[error("Request body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The request took longer than the configured timeout: HTTP 503.
    #[error("Request timed out")]
    Timeout,
    /// A handler panicked; the panic is logged, the client gets -311 with HTTP 500 (what
    /// Flask answers for an unhandled exception).
    #[error("Internal Server Error")]
    Unexpected,
    /// A non-LinOTP failure inside a handler (-311, HTTP 200 as in LinOTP).
    #[error("{0}")]
    Internal(String),
    /// A server setting is unusable (e.g. a `TRUSTED_PROXIES` entry that is no address).
    #[error("invalid setting: {0}")]
    Config(String),
    /// The database failed; the client sees a generic text, the log the cause.
    #[error("database error")]
    Store(#[from] linotp_store::StoreError),
    /// The security module failed (HSMException 707); the log has the cause.
    #[error("security module error")]
    Crypto(#[from] linotp_crypto::CryptoError),
    /// The listener failed (from [`crate::http::serve`]).
    #[error("server I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

impl ApiError {
    /// The LinOTP error id written to `error.code`.
    pub fn code(&self) -> i64 {
        match self {
            ApiError::MissingParameter { .. }
            | ApiError::Parameter(_)
            | ApiError::User(_)
            | ApiError::Server(_) => codes::PARAMETER,
            ApiError::Linotp(_) => codes::GENERIC,
            ApiError::NoTokenWithSerial { .. } => codes::NO_TOKEN_WITH_SERIAL,
            ApiError::MultipleTokenMatch => codes::MULTIPLE_TOKEN_MATCH,
            ApiError::TokenTypeNotSupported(_) => codes::TOKEN_TYPE_NOT_SUPPORTED,
            ApiError::Hsm(_) | ApiError::Crypto(_) => codes::HSM,
            ApiError::Selfservice(_) => codes::SELFSERVICE,
            ApiError::FailCounter(_) => codes::FAIL_COUNTER,
            ApiError::Usage(_) => codes::USAGE,
            ApiError::Policy(_) => codes::POLICY,
            ApiError::Authorize(_) => codes::AUTHORIZE,
            ApiError::Coded { id, .. } => *id,
            ApiError::InvalidInteger { .. }
            | ApiError::InvalidBoolean { .. }
            | ApiError::NotAuthenticated
            | ApiError::NoValidSession
            | ApiError::MalformedRequest(_)
            | ApiError::BodyTooLarge { .. }
            | ApiError::Timeout
            | ApiError::Unexpected
            | ApiError::Internal(_)
            | ApiError::Store(_)
            | ApiError::Config(_)
            | ApiError::Io(_) => codes::NON_LINOTP,
        }
    }

    /// Whether LinOTP raises this as a `LinotpError`, whose text carries `ERR<id>: `.
    pub fn is_linotp_error(&self) -> bool {
        !matches!(
            self,
            ApiError::InvalidInteger { .. }
                | ApiError::InvalidBoolean { .. }
                | ApiError::NotAuthenticated
                | ApiError::NoValidSession
                | ApiError::MalformedRequest(_)
                | ApiError::BodyTooLarge { .. }
                | ApiError::Timeout
                | ApiError::Unexpected
                | ApiError::Internal(_)
                | ApiError::Store(_)
                | ApiError::Config(_)
                | ApiError::Io(_)
        )
    }

    /// The text written to `error.message`, e.g. `ERR905: Missing parameter: 'pass'`.
    pub fn message(&self) -> String {
        if self.is_linotp_error() {
            format!("ERR{}: {self}", self.code())
        } else {
            self.to_string()
        }
    }

    /// The HTTP status of the error envelope. LinOTP answers errors with 200; the gates and
    /// transport failures use statuses proxies and clients understand.
    pub fn http_status(&self) -> StatusCode {
        match self {
            ApiError::NotAuthenticated | ApiError::NoValidSession => StatusCode::UNAUTHORIZED,
            ApiError::MalformedRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Unexpected | ApiError::Io(_) | ApiError::Config(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::OK,
        }
    }

    /// The error envelope with the endpoint's `id` (see [`reply_id`]).
    pub fn reply(self, id: i64) -> ErrorReply {
        ErrorReply { error: self, id }
    }
}

/// An [`ApiError`] with the envelope `id` of the endpoint that failed.
#[derive(Debug)]
pub struct ErrorReply {
    error: ApiError,
    id: i64,
}

impl ErrorReply {
    /// The error inside.
    pub fn error(&self) -> &ApiError {
        &self.error
    }
}

impl IntoResponse for ErrorReply {
    fn into_response(self) -> Response {
        let code = self.error.code();
        let message = self.error.message();
        match &self.error {
            ApiError::Store(cause) => tracing::error!(code, error = %cause, "database failed"),
            ApiError::Crypto(cause) => {
                tracing::error!(code, error = %cause, "security module failed")
            }
            ApiError::Internal(_) | ApiError::Config(_) | ApiError::Io(_) => {
                tracing::error!(code, %message, "request failed")
            }
            _ => tracing::debug!(code, %message, "request answered with an error"),
        }
        JsonReply::error(code, message)
            .id(self.id)
            .http_status(self.error.http_status())
            .into_response()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.reply(reply_id::DEFAULT).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linotp_errors_carry_the_err_prefix() {
        let missing = ApiError::MissingParameter {
            name: "otpkey".into(),
        };
        assert_eq!(missing.code(), 905);
        assert_eq!(missing.message(), "ERR905: Missing parameter: 'otpkey'");

        let unknown = ApiError::NoTokenWithSerial {
            serial: Some("GLDNOSUCH".into()),
        };
        assert_eq!(
            unknown.message(),
            "ERR1102: No token with serial GLDNOSUCH found"
        );
        let none = ApiError::NoTokenWithSerial { serial: None };
        assert_eq!(none.message(), "ERR1102: No token with serial None found");

        let coded = ApiError::Coded {
            id: codes::UNKNOWN_TOKEN_TYPE,
            description: "admin/init failed: unknown token type 'nosuchtype'".into(),
        };
        assert_eq!(
            coded.message(),
            "ERR1610: admin/init failed: unknown token type 'nosuchtype'"
        );
    }

    #[test]
    fn non_linotp_errors_are_minus_311_without_prefix() {
        assert_eq!(ApiError::NotAuthenticated.code(), -311);
        assert_eq!(ApiError::NotAuthenticated.message(), "Not authenticated");
        assert_eq!(
            ApiError::NotAuthenticated.http_status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(ApiError::NoValidSession.message(), "No valid session");
        let internal =
            ApiError::Internal("This type of pin cannot be set for a HMAC token.".into());
        assert_eq!(
            internal.message(),
            "This type of pin cannot be set for a HMAC token."
        );
        assert_eq!(internal.http_status(), StatusCode::OK);
    }
}
