//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong in `linotp-crypto`.
///
/// Messages name files, fields and formats, never secret values.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The key file is shorter than the 96 bytes LinOTP writes.
    #[error("key file {path} holds {len} bytes, at least {needed} are needed")]
    KeyFileTooShort {
        /// The file that was read.
        path: PathBuf,
        /// Its length in bytes.
        len: usize,
        /// The length that is needed.
        needed: usize,
    },

    /// Key material given in memory (hex, paper backup) is too short.
    #[error("key material holds {len} bytes, at least {needed} are needed")]
    KeyMaterialTooShort {
        /// Bytes given.
        len: usize,
        /// Bytes needed.
        needed: usize,
    },

    /// A key file that should be created exists already (and `force` was not given).
    #[error("{path} exists already; refusing to overwrite it without force")]
    KeyFileExists {
        /// The existing file.
        path: PathBuf,
    },

    /// Reading or writing a file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("reading", "writing", ...).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// A value that must be hex is not.
    #[error("{what} is not valid hex")]
    InvalidHex {
        /// Which value.
        what: &'static str,
    },

    /// An IV does not have 16 bytes.
    #[error("{what} must be 16 bytes, got {len}")]
    InvalidIvLength {
        /// Which IV.
        what: &'static str,
        /// The length found.
        len: usize,
    },

    /// A ciphertext is empty or not a whole number of AES blocks.
    #[error("ciphertext length {len} is not a positive multiple of 16")]
    InvalidCiphertextLength {
        /// The length found.
        len: usize,
    },

    /// Decryption gave neither PKCS#7 nor legacy padding around hex:
    /// wrong key, wrong IV or corrupt data.
    #[error("decryption failed: wrong key or corrupt data")]
    DecryptionFailed,

    /// A stored value does not have the expected shape.
    #[error("malformed {what}: {reason}")]
    MalformedValue {
        /// Which stored value.
        what: &'static str,
        /// What is wrong with it (never the value itself).
        reason: &'static str,
    },

    /// A decrypted value that must be UTF-8 text is not.
    #[error("decrypted {what} is not UTF-8 text")]
    NotUtf8 {
        /// Which value.
        what: &'static str,
    },

    /// The paper backup of the key file does not check out.
    #[error("paper backup line {line}: {reason}")]
    InvalidPaperBackup {
        /// 1-based line number (0 when the whole text is concerned).
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },

    /// The operating system's random generator failed.
    #[error("the system random generator failed")]
    Random,

    /// Creating a password hash failed.
    #[error("password hashing failed: {0}")]
    PasswordHash(String),

    /// An audit key could not be parsed, generated or used.
    #[error("audit key: {0}")]
    AuditKey(String),

    /// The security module has no keys loaded yet.
    #[error("the security module is not ready")]
    NotReady,
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, CryptoError>;
