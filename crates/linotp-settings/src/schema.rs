//! The settings LinOTP knows (plus ours), their types, defaults and conversions.
//!
//! Every value is checked here, where its file line or environment variable is still known,
//! and turned into the plain form the layering (figment) carries: strings, booleans,
//! unsigned numbers, lists of strings, `None`. Dict settings travel as JSON text so that a
//! later file replaces an earlier dict whole, as in LinOTP, instead of figment merging the
//! two dicts key by key.

use figment::value::{Empty, Value};

use crate::cfg_syntax::PyValue;

/// LinOTP's log levels, in the spelling LinOTP accepts.
pub(crate) const LOG_LEVELS: &[&str] = &["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"];

/// The type of a setting, which decides how values are checked and converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Str,
    /// One of the given words, compared case-insensitively, stored in the given spelling.
    Choice(&'static [&'static str]),
    /// A file or directory name; relative names are resolved against `ROOT_DIR`.
    Path,
    /// Like `Path`, but may be `None` (or empty, which means the same).
    OptionalPath,
    /// `;`-separated directory names (Flask-Babel's search path), each resolved like `Path`.
    PathList,
    Bool,
    UInt {
        min: u64,
        max: u64,
    },
    /// A Python list of strings; from a string, comma-separated.
    StrList,
    /// A dict; from a string, JSON. `optional` allows `None`.
    Dict {
        optional: bool,
    },
    /// `host:port` with an IP address, e.g. `127.0.0.1:5000` or `[::]:5000`.
    SocketAddr,
}

/// How much of a value may be shown by `config show`, in logs and in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Secrecy {
    Public,
    /// The whole value is secret.
    Whole,
    /// A database URI: the password in `user:password@` (or `password=`) is secret.
    UriPassword,
    /// A dict in which keys like `password`, `pin` or `secret` hold secrets.
    NestedSecrets,
}

/// The built-in default of a setting (before the configuration class adjusts it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum DefaultValue {
    /// Computed after loading: `ROOT_DIR` from the working directory, `DATABASE_URI` from
    /// `ROOT_DIR` and the configuration class.
    Computed,
    None,
    Str(&'static str),
    Bool(bool),
    UInt(u64),
    StrList(&'static [&'static str]),
    /// JSON text of a dict.
    Json(&'static str),
}

/// One known setting.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SettingSpec {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) default: DefaultValue,
    pub(crate) secrecy: Secrecy,
    pub(crate) help: &'static str,
}

const fn setting(
    name: &'static str,
    kind: Kind,
    default: DefaultValue,
    help: &'static str,
) -> SettingSpec {
    SettingSpec {
        name,
        kind,
        default,
        secrecy: Secrecy::Public,
        help,
    }
}

const fn secret(
    name: &'static str,
    kind: Kind,
    default: DefaultValue,
    secrecy: Secrecy,
    help: &'static str,
) -> SettingSpec {
    SettingSpec {
        name,
        kind,
        default,
        secrecy,
        help,
    }
}

const LEVEL: Kind = Kind::Choice(LOG_LEVELS);
const SECONDS: Kind = Kind::UInt {
    min: 0,
    max: u64::MAX,
};
const COUNT: Kind = Kind::UInt {
    min: 0,
    max: u64::MAX,
};

/// LinOTP fills the handles from `lib/security/provider.py` (`DEFAULT_KEY=0, CONFIG_KEY=1,
/// TOKEN_KEY=2, VALUE_KEY=3`). They are HSM handles: the default (file) module ignores them and
/// uses the encKey slots token 0, config 1, value 2.
const HSM_DEFAULT_CONFIG: &str = r#"{"module": "linotp.lib.security.default.DefaultSecurityModule", "tokenHandle": 2, "configHandle": 1, "valueHandle": 3, "defaultHandle": 0, "poolsize": 20, "crypted": "FALSE"}"#;

const HSM_PKCS11_CONFIG: &str = r#"{"module": "linotp.lib.security.pkcs11.Pkcs11SecurityModule", "library": "libCryptoki2_64.so", "password": "<your password>", "slotid": 0, "configLabel": "", "tokenLabel": "", "valueLabel": "", "defaultLabel": "default", "configHandle": null, "tokenHandle": null, "valueHandle": null, "defaultHandle": null, "poolsize": 10}"#;

use DefaultValue as D;

/// All settings, sorted by name (the order `config show` lists them in).
#[rustfmt::skip]
pub(crate) static SETTINGS: &[SettingSpec] = &[
    setting("ACTIVE_SECURITY_MODULE", Kind::Str, D::Str("default"),
        "Security module holding the encryption keys: `default` (the SECRET_FILE) or `pkcs11` (an HSM)."),
    secret("ADMIN_PASSWORD", Kind::Str, D::Str(""), Secrecy::Whole,
        "Bootstrap administrator password (cloud mode)."),
    setting("ADMIN_REALM_NAME", Kind::Str, D::Str("linotp_admins"),
        "Realm whose resolvers hold the LinOTP administrators."),
    setting("ADMIN_RESOLVER_NAME", Kind::Str, D::Str("LinOTP_local_admins"),
        "Internal resolver of local administrators managed by `linotp local-admins`."),
    setting("ADMIN_USERNAME", Kind::Str, D::Str(""),
        "Bootstrap administrator user name (cloud mode)."),
    secret("AUDIT_DATABASE_URI", Kind::Str, D::Str("SHARED"), Secrecy::UriPassword,
        "Audit log target: `OFF`, `SHARED` (the main database) or a database URI."),
    setting("AUDIT_ERROR_ON_TRUNCATION", Kind::Bool, D::Bool(false),
        "Treat audit data that must be truncated to fit the schema as an error."),
    setting("AUDIT_PRIVATE_KEY_FILE", Kind::Path, D::Str("audit-private.pem"),
        "RSA private key (PEM) that signs audit rows."),
    setting("AUDIT_PUBLIC_KEY_FILE", Kind::Path, D::Str("audit-public.pem"),
        "RSA public key (PEM) that verifies audit rows."),
    setting("BABEL_DOMAIN", Kind::Str, D::Str("linotp"),
        "Name of the message catalogs (`linotp.mo`)."),
    setting("BABEL_TRANSLATION_DIRECTORIES", Kind::PathList, D::Str("i18n"),
        "`;`-separated directories searched for translations."),
    setting("BACKUP_DIR", Kind::Path, D::Str("backup"),
        "Directory for backups and audit exports."),
    setting("BACKUP_FILE_TIME_FORMAT", Kind::Str, D::Str("%Y-%m-%d_%H-%M"),
        "strftime format of the time stamp in backup file names."),
    setting("BEAKER_CACHE_TYPE", Kind::Choice(&["memory", "file"]), D::Str("memory"),
        "Cache type: `memory` or `file` (under CACHE_DIR)."),
    setting("CACHE_DIR", Kind::Path, D::Str("cache"),
        "Directory for caches (resolver caches in its subdirectories)."),
    setting("CUSTOM_TEMPLATES_DIR", Kind::OptionalPath, D::None,
        "Directory of custom templates, in addition to the built-in ones."),
    secret("DATABASE_URI", Kind::Str, D::Computed, Secrecy::UriPassword,
        "Database URI; default an SQLite file in ROOT_DIR. `postgres://` is read as `postgresql://`."),
    setting("DISABLE_CONTROLLERS", Kind::Str, D::Str("gettoken"),
        "Space-separated controllers to disable; wins over ENABLE_CONTROLLERS."),
    setting("ENABLE_CONTROLLERS", Kind::Str, D::Str("ALL"),
        "Space-separated controllers to enable (`ALL`, or `name:/prefix` to move one)."),
    setting("GET_CLIENT_ADDRESS_FROM_POST_DATA", Kind::Bool, D::Bool(true),
        "Allow clients listed in `mayOverwriteClient` to pass `client=` (deprecated)."),
    setting("HELP_URL", Kind::Str, D::Str("https://linotp.org/doc/{0}/index.html"),
        "Online help location; `{0}` becomes the major version."),
    setting("HSM_DEFAULT_CONFIG", Kind::Dict { optional: false }, D::Json(HSM_DEFAULT_CONFIG),
        "Configuration of the default security module (key slots in SECRET_FILE)."),
    secret("HSM_PKCS11_CONFIG", Kind::Dict { optional: false }, D::Json(HSM_PKCS11_CONFIG),
        Secrecy::NestedSecrets,
        "Configuration of the PKCS#11 security module (library, slot, password, key labels)."),
    setting("JWT_ACCESS_TOKEN_EXPIRES", SECONDS, D::UInt(1800),
        "Lifetime of admin JWTs in seconds; 0 means they never expire."),
    setting("JWT_ACCESS_TOKEN_REFRESH", SECONDS, D::UInt(300),
        "Refresh a JWT this many seconds before it expires; 0 disables refreshing."),
    setting("JWT_BLACKLIST_ENABLED", Kind::Bool, D::Bool(true),
        "Reject JWTs revoked by logout."),
    setting("JWT_CSRF_CHECK_FORM", Kind::Bool, D::Bool(true),
        "Also accept the CSRF token as the `csrf_token` form field."),
    setting("JWT_SECRET_ITERATIONS", Kind::UInt { min: 1, max: u32::MAX as u64 }, D::UInt(500_000),
        "PBKDF2 rounds deriving the JWT key."),
    setting("JWT_SESSION_COOKIE", Kind::Bool, D::Bool(false),
        "Make the JWT cookies session cookies (gone when the browser closes)."),
    setting("JWT_TOKEN_LOCATION", Kind::Str, D::Str("cookies"),
        "Where JWTs travel in requests."),
    setting("LISTEN", Kind::SocketAddr, D::Str("127.0.0.1:5000"),
        "linotp-rs: address and port the server listens on."),
    setting("LOGGING_LEVEL", LEVEL, D::Str("WARNING"),
        "Deprecated alias of LOG_LEVEL."),
    setting("LOG_CONFIG", Kind::Dict { optional: true }, D::None,
        "Complete logging configuration replacing the LOG_* settings."),
    setting("LOG_CONSOLE_LEVEL", LEVEL, D::Str("DEBUG"),
        "Lowest level written to the console (after LOG_LEVEL)."),
    setting("LOG_CONSOLE_LINE_FORMAT", Kind::Str,
        D::Str("%(levelname)s: %(message)s [in %(pathname)s:%(lineno)d]"),
        "Format of console log lines."),
    setting("LOG_FILE_DIR", Kind::Path, D::Str("logs"),
        "Directory of the log file."),
    setting("LOG_FILE_LEVEL", LEVEL, D::Str("DEBUG"),
        "Lowest level written to the log file (after LOG_LEVEL)."),
    setting("LOG_FILE_LINE_FORMAT", Kind::Str,
        D::Str("%(asctime)s %(levelname)s: %(message)s [in %(pathname)s:%(lineno)d]"),
        "Format of log file lines."),
    setting("LOG_FILE_MAX_LENGTH", COUNT, D::UInt(10_485_760),
        "Rotate the log file at this size in bytes."),
    setting("LOG_FILE_MAX_VERSIONS", COUNT, D::UInt(10),
        "Number of rotated log files kept."),
    setting("LOG_FILE_NAME", Kind::Str, D::Str("linotp.log"),
        "Name of the log file in LOG_FILE_DIR."),
    setting("LOG_FORMAT", Kind::Choice(&["text", "json"]), D::Str("text"),
        "linotp-rs: log line format, `text` or `json`."),
    setting("LOG_LEVEL", LEVEL, D::Str("WARNING"),
        "Lowest level logged: CRITICAL, ERROR, WARNING, INFO or DEBUG."),
    setting("LOG_LEVEL_DB_CLIENT", LEVEL, D::Str("WARNING"),
        "Lowest level of database client (SQL) messages."),
    setting("MAINTENANCE_VERIFY_CLIENT_ENV_VAR", Kind::Str, D::Str(""),
        "Request variable that must be present for /maintenance (e.g. SSL_CLIENT_S_DN_CN)."),
    setting("MAKO_DEFAULT_FILTERS", Kind::StrList, D::StrList(&["h"]),
        "Filters applied to template variables (`h` escapes HTML)."),
    setting("MAKO_TRANSLATE_EXCEPTIONS", Kind::Bool, D::Bool(false),
        "Translate template exceptions."),
    setting("PROFILE", Kind::Bool, D::Bool(false),
        "Profile requests (development only)."),
    setting("RADIUS_NAS_IDENTIFIER", Kind::Str, D::Str("LinOTP"),
        "NAS-Identifier sent in outgoing RADIUS requests."),
    setting("ROOT_DIR", Kind::Path, D::Computed,
        "Base of relative *_DIR and *_FILE settings; default `data` in the working directory."),
    setting("SECRET_FILE", Kind::Path, D::Str("encKey"),
        "Encryption key file (encKey)."),
    setting("SESSION_COOKIE_SECURE", Kind::Bool, D::Bool(true),
        "Mark session and JWT cookies Secure (HTTPS only)."),
    setting("SITE_ROOT_REDIRECT", Kind::Str, D::Str(""),
        "Where `/` redirects to; empty means the default page."),
    setting("SQLALCHEMY_TRACK_MODIFICATIONS", Kind::Bool, D::Bool(false),
        "SQLAlchemy signalling (unused; kept for LinOTP configuration files)."),
    setting("TLS_CA_CERTIFICATES_FILE", Kind::Path, D::Str("/etc/ssl/certs/ca-certificates.crt"),
        "CA certificates for verifying TLS peers."),
    setting("TLS_CERT_FILE", Kind::OptionalPath, D::None,
        "linotp-rs: PEM certificate chain for serving HTTPS directly (with TLS_KEY_FILE)."),
    setting("TLS_KEY_FILE", Kind::OptionalPath, D::None,
        "linotp-rs: PEM private key for serving HTTPS directly (with TLS_CERT_FILE)."),
    setting("TOKEN_MODULES", Kind::Str, D::Str(""),
        "Token types to load; empty means all."),
    setting("TRUSTED_PROXIES", Kind::StrList, D::StrList(&[]),
        "Proxies whose X-Forwarded-For is believed (addresses or networks)."),
];

/// Names LinOTP's own shipped configuration files assign although LinOTP ignores them
/// (a typo in its Docker template, an older setting, a misspelling in its example file).
/// Rejecting them would make those files unusable, so they are skipped with a warning.
pub(crate) const IGNORED_LINOTP_NAMES: &[&str] = &["DATA_DIR", "LOGFILE_DIR", "LOGGING_FILE_LEVEL"];

/// Looks a setting up by its exact name.
pub(crate) fn find(name: &str) -> Option<&'static SettingSpec> {
    SETTINGS
        .binary_search_by(|spec| spec.name.cmp(name))
        .ok()
        .map(|index| &SETTINGS[index])
}

impl Kind {
    /// Python's name of the type, as `linotp config explain` prints it.
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            Kind::Str | Kind::Choice(_) | Kind::Path | Kind::PathList | Kind::SocketAddr => "str",
            Kind::OptionalPath => "str or None",
            Kind::Bool => "bool",
            Kind::UInt { .. } => "int",
            Kind::StrList => "list",
            Kind::Dict { optional: false } => "dict",
            Kind::Dict { optional: true } => "dict or None",
        }
    }

    /// Checks a value from a configuration file. Like LinOTP, a string is converted when the
    /// setting wants another type; other mismatches are errors.
    pub(crate) fn check_file_value(
        self,
        value: &PyValue,
        secrecy: Secrecy,
    ) -> Result<Value, String> {
        let found = || describe(value, secrecy);
        match (self, value) {
            (_, PyValue::Str(text)) => self.check_text(text, secrecy),
            (Kind::OptionalPath | Kind::Dict { optional: true }, PyValue::None) => Ok(none()),
            (Kind::Bool, PyValue::Bool(b)) => Ok(Value::from(*b)),
            (Kind::Bool, PyValue::Int(i @ (0 | 1))) => Ok(Value::from(*i == 1)),
            (Kind::UInt { min, max }, PyValue::Int(i)) => {
                check_range(*i, min, max, secrecy).map(Value::from)
            }
            (Kind::StrList, PyValue::List(items) | PyValue::Tuple(items)) => items
                .iter()
                .map(|item| match item {
                    PyValue::Str(s) => Ok(Value::from(s.as_str())),
                    _ => Err(format!("expected a list of strings, found {}", found())),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::from),
            (Kind::Dict { .. }, PyValue::Dict(_)) => {
                let json = value
                    .to_json()
                    .map_err(|problem| format!("in the dict: {problem}"))?;
                Ok(Value::from(json.to_string()))
            }
            _ => Err(format!("expected {}, found {}", self.expected(), found())),
        }
    }

    /// Converts text (an environment variable, or a string in a file) to the setting's type.
    pub(crate) fn check_text(self, text: &str, secrecy: Secrecy) -> Result<Value, String> {
        let found = || describe(&PyValue::Str(text.to_owned()), secrecy);
        match self {
            Kind::Str => Ok(Value::from(text)),
            Kind::Choice(choices) => choices
                .iter()
                .find(|choice| choice.eq_ignore_ascii_case(text.trim()))
                .map(|choice| Value::from(*choice))
                .ok_or_else(|| {
                    format!("expected one of {}, found {}", choices.join(", "), found())
                }),
            Kind::Path | Kind::PathList => {
                if text.trim().is_empty() {
                    Err("must not be empty".to_owned())
                } else {
                    Ok(Value::from(text))
                }
            }
            Kind::OptionalPath => {
                if text.trim().is_empty() {
                    Ok(none())
                } else {
                    Ok(Value::from(text))
                }
            }
            Kind::Bool => parse_bool(text).map(Value::from).ok_or_else(|| {
                format!(
                    "expected a boolean (true/false, yes/no, 1/0, on/off), found {}",
                    found()
                )
            }),
            Kind::UInt { min, max } => {
                let number: i64 = text
                    .trim()
                    .parse()
                    .map_err(|_| format!("expected an integer, found {}", found()))?;
                check_range(number, min, max, secrecy).map(Value::from)
            }
            Kind::StrList => Ok(Value::from(
                text.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(Value::from)
                    .collect::<Vec<_>>(),
            )),
            Kind::Dict { optional } => {
                let json: serde_json::Value = serde_json::from_str(text)
                    .map_err(|e| format!("expected a dict as JSON: {e}"))?;
                match json {
                    serde_json::Value::Object(_) => Ok(Value::from(json.to_string())),
                    serde_json::Value::Null if optional => Ok(none()),
                    _ => Err(format!("expected a JSON object, found {}", found())),
                }
            }
            Kind::SocketAddr => text
                .trim()
                .parse::<std::net::SocketAddr>()
                .map(|addr| Value::from(addr.to_string()))
                .map_err(|_| {
                    format!(
                        "expected an IP address and port like 127.0.0.1:5000, found {}",
                        found()
                    )
                }),
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Kind::Str | Kind::Choice(_) | Kind::PathList | Kind::SocketAddr | Kind::Path => {
                "a string"
            }
            Kind::OptionalPath => "a string or None",
            Kind::Bool => "a boolean",
            Kind::UInt { .. } => "an integer",
            Kind::StrList => "a list of strings",
            Kind::Dict { optional: false } => "a dict",
            Kind::Dict { optional: true } => "a dict or None",
        }
    }
}

impl DefaultValue {
    /// The default in the form the layering carries, `None` for computed defaults.
    pub(crate) fn to_value(self) -> Option<Value> {
        Some(match self {
            DefaultValue::Computed => return None,
            DefaultValue::None => none(),
            DefaultValue::Str(s) => Value::from(s),
            DefaultValue::Bool(b) => Value::from(b),
            DefaultValue::UInt(n) => Value::from(n),
            DefaultValue::StrList(items) => Value::from(items.to_vec()),
            DefaultValue::Json(text) => Value::from(text),
        })
    }
}

fn none() -> Value {
    Value::from(Empty::None)
}

/// LinOTP's boolean words (`type_utils.boolean`) plus `on`/`off`.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Some(true),
        "false" | "no" | "0" | "off" => Some(false),
        _ => None,
    }
}

fn check_range(number: i64, min: u64, max: u64, secrecy: Secrecy) -> Result<u64, String> {
    let shown = || {
        if secrecy == Secrecy::Public {
            number.to_string()
        } else {
            "the value".to_owned()
        }
    };
    let unsigned =
        u64::try_from(number).map_err(|_| format!("{} must be at least {min}", shown()))?;
    if unsigned < min {
        return Err(format!("{} must be at least {min}", shown()));
    }
    if unsigned > max {
        return Err(format!("{} must be at most {max}", shown()));
    }
    Ok(unsigned)
}

/// The value as Python would show it, or only its kind when the setting holds secrets.
fn describe(value: &PyValue, secrecy: Secrecy) -> String {
    if secrecy == Secrecy::Public {
        value.to_string()
    } else {
        value.kind().to_owned()
    }
}

/// LinOTP's configuration classes (`LINOTP_CONFIG`), which adjust a few defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConfigClass {
    /// Insecure cookies and DEBUG logging, for working on linotp-rs itself.
    /// `LINOTP_CONFIG=default` selects it too, as in LinOTP.
    Development,
    /// Like development, with its own database file.
    Testing,
    /// Secure cookies; what runs when `LINOTP_CONFIG` is not set.
    #[default]
    Production,
}

impl ConfigClass {
    /// Parses a `LINOTP_CONFIG` value (case-insensitive).
    pub fn from_name(name: &str) -> Option<ConfigClass> {
        match name.trim().to_ascii_lowercase().as_str() {
            "development" | "default" => Some(ConfigClass::Development),
            "testing" => Some(ConfigClass::Testing),
            "production" => Some(ConfigClass::Production),
            _ => None,
        }
    }

    /// The class name as `LINOTP_CONFIG` spells it.
    pub fn name(self) -> &'static str {
        match self {
            ConfigClass::Development => "development",
            ConfigClass::Testing => "testing",
            ConfigClass::Production => "production",
        }
    }

    /// File name of the default SQLite database inside `ROOT_DIR`.
    pub(crate) fn database_file_name(self) -> &'static str {
        match self {
            ConfigClass::Development => "linotp-dev.db",
            ConfigClass::Testing => "linotp-test.db",
            ConfigClass::Production => "linotp.db",
        }
    }

    /// The class's default for `name`, where it differs from the table.
    pub(crate) fn default_for(self, spec: &SettingSpec) -> DefaultValue {
        match (self, spec.name) {
            (ConfigClass::Development | ConfigClass::Testing, "SESSION_COOKIE_SECURE") => {
                DefaultValue::Bool(false)
            }
            (ConfigClass::Development | ConfigClass::Testing, "LOG_LEVEL") => {
                DefaultValue::Str("DEBUG")
            }
            _ => spec.default,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_so_lookups_find_every_setting() {
        for spec in SETTINGS {
            assert_eq!(find(spec.name).map(|s| s.name), Some(spec.name));
        }
        assert!(find("LOG_LEVL").is_none());
    }

    #[test]
    fn dict_defaults_are_valid_json_objects() {
        for spec in SETTINGS {
            if let DefaultValue::Json(text) = spec.default {
                let json: serde_json::Value = serde_json::from_str(text).unwrap();
                assert!(json.is_object(), "{}", spec.name);
            }
        }
    }

    #[test]
    fn booleans_accept_linotp_words_in_any_case() {
        for word in ["true", "TRUE", "Yes", "1", "on", " On "] {
            assert_eq!(parse_bool(word), Some(true), "{word}");
        }
        for word in ["false", "False", "no", "0", "OFF"] {
            assert_eq!(parse_bool(word), Some(false), "{word}");
        }
        for word in ["", "2", "enabled", "t"] {
            assert_eq!(parse_bool(word), None, "{word}");
        }
    }

    #[test]
    fn config_class_names() {
        assert_eq!(
            ConfigClass::from_name("default"),
            Some(ConfigClass::Development)
        );
        assert_eq!(
            ConfigClass::from_name("Production"),
            Some(ConfigClass::Production)
        );
        assert_eq!(
            ConfigClass::from_name("testing"),
            Some(ConfigClass::Testing)
        );
        assert_eq!(ConfigClass::from_name("staging"), None);
    }

    #[test]
    fn file_values_convert_strings_like_linotp() {
        let int = Kind::UInt { min: 0, max: 100 };
        assert_eq!(
            int.check_file_value(&PyValue::Str(" 42 ".into()), Secrecy::Public),
            Ok(Value::from(42u64))
        );
        assert_eq!(
            int.check_file_value(&PyValue::Int(101), Secrecy::Public),
            Err("101 must be at most 100".into())
        );
        assert_eq!(
            Kind::Bool.check_file_value(&PyValue::Str("no".into()), Secrecy::Public),
            Ok(Value::from(false))
        );
        assert_eq!(
            Kind::Str.check_file_value(
                &PyValue::List(vec![PyValue::Int(1), PyValue::Int(2)]),
                Secrecy::Public
            ),
            Err("expected a string, found [1, 2]".into())
        );
        assert_eq!(
            Kind::Str.check_file_value(&PyValue::Int(1234), Secrecy::Whole),
            Err("expected a string, found an integer".into())
        );
    }
}
