use thiserror::Error;

/// Why an outgoing request failed.
#[derive(Debug, Error)]
pub enum ProviderError {
    /// The server definition (URL) cannot be used.
    #[error("invalid server definition: {0}")]
    Definition(String),
    /// The server could not be reached or did not answer in time.
    #[error("{server}: {message}")]
    Unreachable {
        /// The server (without secrets).
        server: String,
        /// What went wrong.
        message: String,
    },
    /// The server answered something that is not a valid reply.
    #[error("{server}: invalid reply: {message}")]
    InvalidReply {
        /// The server (without secrets).
        server: String,
        /// What was wrong with it.
        message: String,
    },
    /// A stored secret could not be decrypted.
    #[error("secret of {server} cannot be decrypted: {source}")]
    Secret {
        /// The server (without secrets).
        server: String,
        /// The crypto error.
        source: linotp_crypto::CryptoError,
    },
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, ProviderError>;
