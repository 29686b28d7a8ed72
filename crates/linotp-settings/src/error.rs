//! The one error type of this crate.

use std::fmt;
use std::path::PathBuf;

/// Where a bad value came from: a line of a configuration file or an environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Line `line` (1-based) of the configuration file `path`.
    File {
        /// The file as it was found through the search order.
        path: PathBuf,
        /// 1-based line number.
        line: u32,
    },
    /// The environment variable `name` (e.g. `LINOTP_LOG_LEVEL`).
    Env {
        /// Full variable name, prefix included.
        name: String,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File { path, line } => write!(f, "{}:{line}", path.display()),
            Location::Env { name } => write!(f, "environment variable {name}"),
        }
    }
}

/// Everything that can go wrong while loading settings.
///
/// Messages name the file and line (or the environment variable) and the setting, and never
/// contain the value of a secret setting.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A configuration file is not valid LinOTP `.cfg` (Python assignment) syntax.
    #[error("{location}: {message}")]
    Syntax {
        /// Where the syntax error is.
        location: Location,
        /// What is wrong, e.g. ``unterminated string``.
        message: String,
    },
    /// A configuration file assigns a name that is not a LinOTP setting.
    #[error("{location}: {setting}: unknown setting{hint}")]
    UnknownSetting {
        /// Where the assignment is.
        location: Location,
        /// The name as written.
        setting: String,
        /// `" (did you mean X?)"` or empty.
        hint: String,
    },
    /// A value has the wrong type or is out of range for its setting.
    #[error("{location}: {setting}: {problem}")]
    InvalidValue {
        /// Where the value was given.
        location: Location,
        /// The setting's name, e.g. `LOG_LEVEL`.
        setting: &'static str,
        /// e.g. ``expected a string, found [1, 2]``.
        problem: String,
    },
    /// Settings that only make sense together disagree (e.g. a TLS certificate without a key).
    #[error("{0}")]
    Inconsistent(String),
    /// `LINOTP_CONFIG` names no known configuration class.
    #[error(
        "LINOTP_CONFIG: unknown configuration class {0:?} (expected development, testing or production)"
    )]
    UnknownConfigClass(String),
    /// A `LINOTP_*` environment variable is not valid UTF-8.
    #[error("environment variable {0} is not valid UTF-8")]
    NonUnicodeEnv(String),
    /// A configuration file (or `linotp-cfg-default`) exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file that could not be read.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// A directory setting names something that is not a usable directory.
    #[error("{setting}: {} {problem}", path.display())]
    Directory {
        /// The setting, e.g. `LOG_FILE_DIR`.
        setting: &'static str,
        /// The resolved directory.
        path: PathBuf,
        /// e.g. ``does not exist``.
        problem: String,
    },
    /// The current directory, base of relative paths, is unavailable.
    #[error("cannot determine the current directory: {0}")]
    WorkingDir(#[source] std::io::Error),
    /// The layered values did not fit the settings structure. Values are checked before they
    /// are layered, so this points at a bug in this crate rather than at the configuration.
    #[error("settings could not be assembled: {0}")]
    Assemble(#[from] Box<figment::Error>),
}

/// Result alias of this crate.
pub type Result<T, E = SettingsError> = std::result::Result<T, E>;
