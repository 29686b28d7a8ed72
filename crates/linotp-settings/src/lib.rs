//! linotp-rs server settings, read the way LinOTP reads them.
//!
//! Sources, later ones overriding earlier ones:
//! 1. the defaults of the configuration class chosen by `LINOTP_CONFIG` (`production` when
//!    unset; `development`/`default` and `testing` allow insecure cookies and log at DEBUG);
//! 2. LinOTP `.cfg` files (Python `NAME = literal` assignments) in LinOTP's search order: the
//!    colon-separated `LINOTP_CFG` list, else the list in `linotp-cfg-default` in the working
//!    directory, else `linotp.cfg` there if it exists. Relative entries are relative to the
//!    working directory, a leading `-` marks an entry optional, a directory stands for its
//!    `*.cfg` files in lexicographic order, and the last path component may be a glob;
//! 3. `LINOTP_<NAME>` environment variables for known settings, converted from text
//!    (booleans `true/false`, `yes/no`, `1/0`, `on/off`; lists comma-separated; dicts JSON).
//!
//! Relative `*_DIR` and `*_FILE` values are resolved against `ROOT_DIR` (default `data` in the
//! working directory), and the default database is the SQLite file `ROOT_DIR/linotp.db`, so
//! a server without any configuration keeps everything in one directory.
//!
//! Unknown settings, malformed lines and values of the wrong type are errors that name the
//! file, the line and the setting, and never show a secret.
//!
//! ```
//! use linotp_settings::{Environment, LogLevel, Settings};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("site.cfg"), "LOG_LEVEL = 'INFO'\nSECRET_FILE = 'keys/encKey'\n")?;
//!
//! let env = Environment::new(dir.path())
//!     .with_var("LINOTP_CFG", "site.cfg")
//!     .with_var("LINOTP_ROOT_DIR", "/srv/linotp")
//!     .with_var("LINOTP_DATABASE_URI", "postgres://linotp:s3cret@db/linotp");
//! let settings = Settings::load_with(&env)?;
//!
//! assert_eq!(settings.log_level, LogLevel::Info);
//! assert_eq!(settings.secret_file, std::path::Path::new("/srv/linotp/keys/encKey"));
//! assert_eq!(settings.database_uri.expose(), "postgresql://linotp:s3cret@db/linotp");
//! assert_eq!(settings.database_uri_redacted(), "postgresql://linotp:***@db/linotp");
//!
//! let shown = settings.entry("DATABASE_URI").map(|entry| entry.value);
//! assert_eq!(shown.as_deref(), Some("postgresql://linotp:***@db/linotp"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cfg_syntax;
mod error;
mod providers;
mod schema;
mod search;
mod secret;
mod settings;

pub use error::{Location, Result, SettingsError};
pub use schema::ConfigClass;
pub use search::{CFG_DEFAULT_FILE, CfgListOrigin, ENV_PREFIX, Environment};
pub use secret::{DatabaseUri, MASK, SecretString};
pub use settings::{
    AuditDatabase, BeakerCacheType, ConfigFile, ConfigFileStatus, LogFormat, LogLevel,
    SettingEntry, SettingInfo, Settings,
};
