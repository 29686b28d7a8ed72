//! The typed settings and how they are loaded.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};

use figment::Figment;
use figment::value::Value;
use serde::{Deserialize, Serialize, Serializer};

use crate::cfg_syntax::PyValue;
use crate::error::{Location, Result, SettingsError};
use crate::providers::{CfgFile, Defaults, ENV_SOURCE, EnvVars};
use crate::schema::{ConfigClass, DefaultValue, SETTINGS};
use crate::search::{self, CfgListOrigin, ENV_PREFIX, Environment};
use crate::secret::{DatabaseUri, SecretString, mask_json};

/// A LinOTP log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LogLevel {
    /// Only failures that stop the server (logged as errors: tracing has no critical level).
    Critical,
    /// Errors.
    Error,
    /// Warnings and errors.
    Warning,
    /// Informational messages and above.
    Info,
    /// Everything.
    Debug,
}

impl LogLevel {
    /// The level as LinOTP spells it (`WARNING`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Critical => "CRITICAL",
            LogLevel::Error => "ERROR",
            LogLevel::Warning => "WARNING",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
        }
    }

    /// The `tracing` level that lets exactly these messages through.
    pub fn to_tracing(self) -> tracing::Level {
        match self {
            LogLevel::Critical | LogLevel::Error => tracing::Level::ERROR,
            LogLevel::Warning => tracing::Level::WARN,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Debug => tracing::Level::DEBUG,
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How log lines are written (`LOG_FORMAT`, ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Where the resolver cache lives (`BEAKER_CACHE_TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BeakerCacheType {
    /// In process memory.
    Memory,
    /// In files under `CACHE_DIR/beaker`.
    File,
}

/// Where audit rows go (`AUDIT_DATABASE_URI`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditDatabase {
    /// `OFF`: no audit log.
    Off,
    /// `SHARED`: the `AuditTable` of the main database.
    Shared,
    /// A database of its own.
    Uri(DatabaseUri),
}

impl Serialize for AuditDatabase {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            AuditDatabase::Off => serializer.serialize_str("OFF"),
            AuditDatabase::Shared => serializer.serialize_str("SHARED"),
            AuditDatabase::Uri(uri) => uri.serialize(serializer),
        }
    }
}

/// What happened to one file of the search order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigFileStatus {
    /// Read; its settings are in effect unless later sources override them.
    Loaded,
    /// Does not exist. `optional` entries (leading `-`) are not worth a warning.
    Missing {
        /// Whether the entry was marked optional with a leading `-`.
        optional: bool,
    },
}

/// One file of the search order, in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// The path after directory and glob expansion.
    pub path: PathBuf,
    /// Whether it was read.
    pub status: ConfigFileStatus,
}

/// One line of `linotp config show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingEntry {
    /// The setting's name, e.g. `LOG_LEVEL`.
    pub name: &'static str,
    /// The effective value as LinOTP prints it (`str()` of the Python value: strings bare,
    /// `True`/`False`/`None`, lists and dicts as Python literals), relative paths resolved,
    /// secrets masked as `***`.
    pub value: String,
    /// Whether the value equals the default (`config show --modified` lists the others).
    pub is_default: bool,
    /// Where the value was set; `None` for a default.
    pub source: Option<Location>,
}

/// One known setting, for `linotp config explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingInfo {
    /// The setting's name.
    pub name: &'static str,
    /// Python's name of its type (`str`, `bool`, `int`, `list`, `dict`, …).
    pub type_name: &'static str,
    /// The default of the production class, as a Python literal.
    pub default: String,
    /// What it does.
    pub help: &'static str,
}

/// Per-setting bookkeeping for `config show`.
#[derive(Debug, Clone)]
struct Origin {
    source: Option<Location>,
    is_default: bool,
}

/// The values as figment layers them, before paths are resolved.
#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE", deny_unknown_fields)]
struct RawSettings {
    active_security_module: String,
    admin_password: String,
    admin_realm_name: String,
    admin_resolver_name: String,
    admin_username: String,
    audit_database_uri: String,
    audit_error_on_truncation: bool,
    audit_private_key_file: String,
    audit_public_key_file: String,
    babel_domain: String,
    babel_translation_directories: String,
    backup_dir: String,
    backup_file_time_format: String,
    beaker_cache_type: BeakerCacheType,
    cache_dir: String,
    custom_templates_dir: Option<String>,
    database_uri: Option<String>,
    disable_controllers: String,
    enable_controllers: String,
    get_client_address_from_post_data: bool,
    help_url: String,
    hsm_default_config: String,
    hsm_pkcs11_config: String,
    jwt_access_token_expires: u64,
    jwt_access_token_refresh: u64,
    jwt_blacklist_enabled: bool,
    jwt_csrf_check_form: bool,
    jwt_secret_iterations: u32,
    jwt_session_cookie: bool,
    jwt_token_location: String,
    listen: SocketAddr,
    logging_level: LogLevel,
    log_config: Option<String>,
    log_console_level: LogLevel,
    log_console_line_format: String,
    log_file_dir: String,
    log_file_level: LogLevel,
    log_file_line_format: String,
    log_file_max_length: u64,
    log_file_max_versions: u64,
    log_file_name: String,
    log_format: LogFormat,
    log_level: LogLevel,
    log_level_db_client: LogLevel,
    maintenance_verify_client_env_var: String,
    mako_default_filters: Vec<String>,
    mako_translate_exceptions: bool,
    profile: bool,
    radius_nas_identifier: String,
    root_dir: Option<String>,
    secret_file: String,
    session_cookie_secure: bool,
    site_root_redirect: String,
    sqlalchemy_track_modifications: bool,
    tls_ca_certificates_file: String,
    tls_cert_file: Option<String>,
    tls_key_file: Option<String>,
    token_modules: String,
    trusted_proxies: Vec<String>,
}

/// The server settings: LinOTP's `settings.py` items plus a few of linotp-rs.
///
/// Relative `*_DIR` / `*_FILE` values are already resolved against [`Settings::root_dir`].
/// `Debug` and `Serialize` show what `linotp config show` shows, with secrets masked.
#[derive(Clone, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub struct Settings {
    /// The configuration class chosen by `LINOTP_CONFIG` (production when unset).
    #[serde(skip)]
    pub config_class: ConfigClass,
    /// Where the list of configuration files came from.
    #[serde(skip)]
    pub config_list_origin: CfgListOrigin,
    /// The files of the search order, in reading order.
    #[serde(skip)]
    pub config_files: Vec<ConfigFile>,
    /// Notices for the operator (missing files, skipped assignments), to print once logging
    /// is set up: settings are loaded before logging exists.
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// `LINOTP_*` variables that name no setting and were ignored (as LinOTP ignores them).
    #[serde(skip)]
    pub ignored_env: Vec<String>,

    /// `ACTIVE_SECURITY_MODULE`: `default` (the encKey file) or `pkcs11`.
    pub active_security_module: String,
    /// `ADMIN_PASSWORD`: bootstrap administrator password (cloud mode).
    pub admin_password: SecretString,
    /// `ADMIN_REALM_NAME`: realm of the administrators.
    pub admin_realm_name: String,
    /// `ADMIN_RESOLVER_NAME`: resolver of the local administrators.
    pub admin_resolver_name: String,
    /// `ADMIN_USERNAME`: bootstrap administrator name (cloud mode).
    pub admin_username: String,
    /// `AUDIT_DATABASE_URI`: `OFF`, `SHARED` or a database of its own.
    pub audit_database_uri: AuditDatabase,
    /// `AUDIT_ERROR_ON_TRUNCATION`: fail instead of truncating audit data.
    pub audit_error_on_truncation: bool,
    /// `AUDIT_PRIVATE_KEY_FILE`: PEM key signing audit rows.
    #[serde(serialize_with = "path_str")]
    pub audit_private_key_file: PathBuf,
    /// `AUDIT_PUBLIC_KEY_FILE`: PEM key verifying audit rows.
    #[serde(serialize_with = "path_str")]
    pub audit_public_key_file: PathBuf,
    /// `BABEL_DOMAIN`: message catalog name.
    pub babel_domain: String,
    /// `BABEL_TRANSLATION_DIRECTORIES`: translation directories (`;`-separated in files).
    #[serde(serialize_with = "path_list_str")]
    pub babel_translation_directories: Vec<PathBuf>,
    /// `BACKUP_DIR`: backups and audit exports.
    #[serde(serialize_with = "path_str")]
    pub backup_dir: PathBuf,
    /// `BACKUP_FILE_TIME_FORMAT`: strftime format in backup file names.
    pub backup_file_time_format: String,
    /// `BEAKER_CACHE_TYPE`: memory or file cache.
    pub beaker_cache_type: BeakerCacheType,
    /// `CACHE_DIR`: caches.
    #[serde(serialize_with = "path_str")]
    pub cache_dir: PathBuf,
    /// `CUSTOM_TEMPLATES_DIR`: extra templates.
    #[serde(serialize_with = "optional_path_str")]
    pub custom_templates_dir: Option<PathBuf>,
    /// `DATABASE_URI`: the main database; default `sqlite:///<ROOT_DIR>/linotp.db`.
    pub database_uri: DatabaseUri,
    /// `DISABLE_CONTROLLERS`: space-separated; wins over `ENABLE_CONTROLLERS`.
    pub disable_controllers: String,
    /// `ENABLE_CONTROLLERS`: space-separated, `ALL`, or `name:/prefix`.
    pub enable_controllers: String,
    /// `GET_CLIENT_ADDRESS_FROM_POST_DATA`: honour `client=` from trusted clients.
    pub get_client_address_from_post_data: bool,
    /// `HELP_URL`: online help, `{0}` = major version.
    pub help_url: String,
    /// `HSM_DEFAULT_CONFIG`: default security module configuration.
    #[serde(serialize_with = "masked_json")]
    pub hsm_default_config: serde_json::Value,
    /// `HSM_PKCS11_CONFIG`: PKCS#11 module configuration (holds the HSM password).
    #[serde(serialize_with = "masked_json")]
    pub hsm_pkcs11_config: serde_json::Value,
    /// `JWT_ACCESS_TOKEN_EXPIRES`: admin JWT lifetime in seconds, 0 = never expires.
    pub jwt_access_token_expires: u64,
    /// `JWT_ACCESS_TOKEN_REFRESH`: refresh window in seconds, 0 = no refresh.
    pub jwt_access_token_refresh: u64,
    /// `JWT_BLACKLIST_ENABLED`: reject logged-out JWTs.
    pub jwt_blacklist_enabled: bool,
    /// `JWT_CSRF_CHECK_FORM`: accept the CSRF token as a form field.
    pub jwt_csrf_check_form: bool,
    /// `JWT_SECRET_ITERATIONS`: PBKDF2 rounds for the JWT key.
    pub jwt_secret_iterations: u32,
    /// `JWT_SESSION_COOKIE`: JWT cookies end with the browser session.
    pub jwt_session_cookie: bool,
    /// `JWT_TOKEN_LOCATION`: where JWTs travel.
    pub jwt_token_location: String,
    /// `LISTEN` (ours): server address, default `127.0.0.1:5000`.
    pub listen: SocketAddr,
    /// `LOGGING_LEVEL`: deprecated alias of `LOG_LEVEL`.
    pub logging_level: LogLevel,
    /// `LOG_CONFIG`: full logging configuration overriding the `LOG_*` settings.
    #[serde(serialize_with = "optional_masked_json")]
    pub log_config: Option<serde_json::Value>,
    /// `LOG_CONSOLE_LEVEL`: console threshold.
    pub log_console_level: LogLevel,
    /// `LOG_CONSOLE_LINE_FORMAT`: console line format.
    pub log_console_line_format: String,
    /// `LOG_FILE_DIR`: log directory.
    #[serde(serialize_with = "path_str")]
    pub log_file_dir: PathBuf,
    /// `LOG_FILE_LEVEL`: log file threshold.
    pub log_file_level: LogLevel,
    /// `LOG_FILE_LINE_FORMAT`: log file line format.
    pub log_file_line_format: String,
    /// `LOG_FILE_MAX_LENGTH`: rotation size in bytes.
    pub log_file_max_length: u64,
    /// `LOG_FILE_MAX_VERSIONS`: rotated files kept.
    pub log_file_max_versions: u64,
    /// `LOG_FILE_NAME`: log file name inside `LOG_FILE_DIR`.
    pub log_file_name: String,
    /// `LOG_FORMAT` (ours): text or JSON log lines.
    pub log_format: LogFormat,
    /// `LOG_LEVEL`: overall threshold.
    pub log_level: LogLevel,
    /// `LOG_LEVEL_DB_CLIENT`: database client threshold.
    pub log_level_db_client: LogLevel,
    /// `MAINTENANCE_VERIFY_CLIENT_ENV_VAR`: required client-certificate variable.
    pub maintenance_verify_client_env_var: String,
    /// `MAKO_DEFAULT_FILTERS`: template filters.
    pub mako_default_filters: Vec<String>,
    /// `MAKO_TRANSLATE_EXCEPTIONS`: translate template exceptions.
    pub mako_translate_exceptions: bool,
    /// `PROFILE`: request profiling.
    pub profile: bool,
    /// `RADIUS_NAS_IDENTIFIER`: NAS-Identifier of outgoing RADIUS requests.
    pub radius_nas_identifier: String,
    /// `ROOT_DIR`: absolute base of relative paths; default `<working dir>/data`.
    #[serde(serialize_with = "path_str")]
    pub root_dir: PathBuf,
    /// `SECRET_FILE`: the encKey file.
    #[serde(serialize_with = "path_str")]
    pub secret_file: PathBuf,
    /// `SESSION_COOKIE_SECURE`: Secure flag on cookies.
    pub session_cookie_secure: bool,
    /// `SITE_ROOT_REDIRECT`: target of `/`.
    pub site_root_redirect: String,
    /// `SQLALCHEMY_TRACK_MODIFICATIONS`: accepted for LinOTP files, unused.
    pub sqlalchemy_track_modifications: bool,
    /// `TLS_CA_CERTIFICATES_FILE`: CA bundle for outgoing TLS.
    #[serde(serialize_with = "path_str")]
    pub tls_ca_certificates_file: PathBuf,
    /// `TLS_CERT_FILE` (ours): serve HTTPS with this certificate chain.
    #[serde(serialize_with = "optional_path_str")]
    pub tls_cert_file: Option<PathBuf>,
    /// `TLS_KEY_FILE` (ours): private key for `TLS_CERT_FILE`.
    #[serde(serialize_with = "optional_path_str")]
    pub tls_key_file: Option<PathBuf>,
    /// `TOKEN_MODULES`: token types to load, empty = all.
    pub token_modules: String,
    /// `TRUSTED_PROXIES`: proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,

    #[serde(skip)]
    origins: BTreeMap<&'static str, Origin>,
}

impl Settings {
    /// Loads the settings from this process's environment and current directory.
    pub fn load() -> Result<Settings> {
        Settings::load_with(&Environment::from_process()?)
    }

    /// Loads the settings from an explicit environment: defaults of the configuration class,
    /// then the configuration files in LinOTP's search order, then `LINOTP_<NAME>` variables.
    pub fn load_with(env: &Environment) -> Result<Settings> {
        let config_class = match env.var("LINOTP_CONFIG") {
            Some(name) => ConfigClass::from_name(name)
                .ok_or_else(|| SettingsError::UnknownConfigClass(name.to_owned()))?,
            None => ConfigClass::default(),
        };
        let defaults = Defaults::new(config_class);
        let mut figment = Figment::from(&defaults);

        let (config_list_origin, candidates) = search::config_files(env)?;
        let mut config_files = Vec::with_capacity(candidates.len());
        let mut warnings = Vec::new();
        let mut file_lines = BTreeMap::new();
        for candidate in candidates {
            let status = match read_config_file(&candidate.path)? {
                Some(text) => {
                    let file = CfgFile::parse(&candidate.path, &text)?;
                    tracing::debug!(path = %candidate.path.display(), "configuration loaded");
                    warnings.extend(file.warnings.iter().cloned());
                    file_lines.insert(file.path().to_owned(), file.lines());
                    figment = figment.merge(file);
                    ConfigFileStatus::Loaded
                }
                None => {
                    if !candidate.optional {
                        let warning = format!(
                            "configuration file {} does not exist (check location and permissions)",
                            candidate.path.display()
                        );
                        tracing::warn!("{warning}");
                        warnings.push(warning);
                    }
                    ConfigFileStatus::Missing {
                        optional: candidate.optional,
                    }
                }
            };
            config_files.push(ConfigFile {
                path: candidate.path,
                status,
            });
        }

        let (env_vars, ignored_env) = EnvVars::new(env)?;
        figment = figment.merge(env_vars);

        let raw: RawSettings = figment.extract().map_err(Box::new)?;
        let layered: Value = figment.extract().map_err(Box::new)?;
        let origins = SETTINGS
            .iter()
            .map(|spec| {
                let value = layered.find_ref(spec.name);
                let source = value
                    .and_then(|value| figment.get_metadata(value.tag()))
                    .and_then(|metadata| match &metadata.source {
                        Some(figment::Source::File(path)) => Some(Location::File {
                            path: path.clone(),
                            line: file_lines
                                .get(path)
                                .and_then(|lines| lines.get(spec.name).copied())
                                .unwrap_or(0),
                        }),
                        Some(figment::Source::Custom(source)) if source == ENV_SOURCE => {
                            Some(Location::Env {
                                name: format!("{ENV_PREFIX}{}", spec.name),
                            })
                        }
                        _ => None,
                    });
                let is_default = match defaults.get(spec.name) {
                    Some(default) => value == Some(default),
                    None => source.is_none(),
                };
                (spec.name, Origin { source, is_default })
            })
            .collect();

        let mut settings = Settings::assemble(raw, config_class, env.working_dir(), origins)?;
        settings.config_list_origin = config_list_origin;
        settings.config_files = config_files;
        settings.warnings = warnings;
        settings.ignored_env = ignored_env;
        Ok(settings)
    }

    fn assemble(
        raw: RawSettings,
        config_class: ConfigClass,
        working_dir: &Path,
        origins: BTreeMap<&'static str, Origin>,
    ) -> Result<Settings> {
        let root_dir = match &raw.root_dir {
            Some(dir) => normalize(&working_dir.join(dir)),
            None => normalize(&working_dir.join("data")),
        };
        let resolve = |value: &str| normalize(&root_dir.join(value));
        let database_uri = DatabaseUri::new(match raw.database_uri {
            Some(uri) => uri,
            None => format!(
                "sqlite:///{}",
                root_dir.join(config_class.database_file_name()).display()
            ),
        });
        let audit_database_uri = match raw.audit_database_uri.as_str() {
            uri if uri.eq_ignore_ascii_case("OFF") => AuditDatabase::Off,
            uri if uri.eq_ignore_ascii_case("SHARED") => AuditDatabase::Shared,
            _ => AuditDatabase::Uri(DatabaseUri::new(raw.audit_database_uri)),
        };
        if raw.tls_cert_file.is_some() != raw.tls_key_file.is_some() {
            let (set, unset) = if raw.tls_cert_file.is_some() {
                ("TLS_CERT_FILE", "TLS_KEY_FILE")
            } else {
                ("TLS_KEY_FILE", "TLS_CERT_FILE")
            };
            let place = origins
                .get(set)
                .and_then(|origin| origin.source.as_ref())
                .map(|location| format!(" ({location})"))
                .unwrap_or_default();
            return Err(SettingsError::Inconsistent(format!(
                "{set} is set{place} but {unset} is not: HTTPS needs both"
            )));
        }
        Ok(Settings {
            config_class,
            config_list_origin: CfgListOrigin::Builtin,
            config_files: Vec::new(),
            warnings: Vec::new(),
            ignored_env: Vec::new(),
            active_security_module: raw.active_security_module,
            admin_password: SecretString::new(raw.admin_password),
            admin_realm_name: raw.admin_realm_name,
            admin_resolver_name: raw.admin_resolver_name,
            admin_username: raw.admin_username,
            audit_database_uri,
            audit_error_on_truncation: raw.audit_error_on_truncation,
            audit_private_key_file: resolve(&raw.audit_private_key_file),
            audit_public_key_file: resolve(&raw.audit_public_key_file),
            babel_domain: raw.babel_domain,
            babel_translation_directories: raw
                .babel_translation_directories
                .split(';')
                .filter(|dir| !dir.is_empty())
                .map(resolve)
                .collect(),
            backup_dir: resolve(&raw.backup_dir),
            backup_file_time_format: raw.backup_file_time_format,
            beaker_cache_type: raw.beaker_cache_type,
            cache_dir: resolve(&raw.cache_dir),
            custom_templates_dir: raw.custom_templates_dir.as_deref().map(resolve),
            database_uri,
            disable_controllers: raw.disable_controllers,
            enable_controllers: raw.enable_controllers,
            get_client_address_from_post_data: raw.get_client_address_from_post_data,
            help_url: raw.help_url,
            hsm_default_config: parse_json("HSM_DEFAULT_CONFIG", &raw.hsm_default_config)?,
            hsm_pkcs11_config: parse_json("HSM_PKCS11_CONFIG", &raw.hsm_pkcs11_config)?,
            jwt_access_token_expires: raw.jwt_access_token_expires,
            jwt_access_token_refresh: raw.jwt_access_token_refresh,
            jwt_blacklist_enabled: raw.jwt_blacklist_enabled,
            jwt_csrf_check_form: raw.jwt_csrf_check_form,
            jwt_secret_iterations: raw.jwt_secret_iterations,
            jwt_session_cookie: raw.jwt_session_cookie,
            jwt_token_location: raw.jwt_token_location,
            listen: raw.listen,
            logging_level: raw.logging_level,
            log_config: match &raw.log_config {
                Some(text) => Some(parse_json("LOG_CONFIG", text)?),
                None => None,
            },
            log_console_level: raw.log_console_level,
            log_console_line_format: raw.log_console_line_format,
            log_file_dir: resolve(&raw.log_file_dir),
            log_file_level: raw.log_file_level,
            log_file_line_format: raw.log_file_line_format,
            log_file_max_length: raw.log_file_max_length,
            log_file_max_versions: raw.log_file_max_versions,
            log_file_name: raw.log_file_name,
            log_format: raw.log_format,
            log_level: raw.log_level,
            log_level_db_client: raw.log_level_db_client,
            maintenance_verify_client_env_var: raw.maintenance_verify_client_env_var,
            mako_default_filters: raw.mako_default_filters,
            mako_translate_exceptions: raw.mako_translate_exceptions,
            profile: raw.profile,
            radius_nas_identifier: raw.radius_nas_identifier,
            secret_file: resolve(&raw.secret_file),
            session_cookie_secure: raw.session_cookie_secure,
            site_root_redirect: raw.site_root_redirect,
            sqlalchemy_track_modifications: raw.sqlalchemy_track_modifications,
            tls_ca_certificates_file: resolve(&raw.tls_ca_certificates_file),
            tls_cert_file: raw.tls_cert_file.as_deref().map(resolve),
            tls_key_file: raw.tls_key_file.as_deref().map(resolve),
            token_modules: raw.token_modules,
            trusted_proxies: raw.trusted_proxies,
            root_dir,
            origins,
        })
    }

    /// Every setting with its effective value, sorted by name, for `linotp config show`.
    /// Secrets are masked (`ADMIN_PASSWORD`, passwords in database URIs and in
    /// `HSM_PKCS11_CONFIG`).
    pub fn entries(&self) -> Vec<SettingEntry> {
        let values = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(values)) => values,
            // Serializing plain strings, numbers and lists cannot fail.
            _ => serde_json::Map::new(),
        };
        SETTINGS
            .iter()
            .map(|spec| {
                let value = match values.get(spec.name) {
                    Some(serde_json::Value::String(text)) => text.clone(),
                    Some(other) => PyValue::from_json(other).to_string(),
                    None => PyValue::None.to_string(),
                };
                let origin = self.origins.get(spec.name);
                SettingEntry {
                    name: spec.name,
                    value,
                    is_default: origin.is_none_or(|origin| origin.is_default),
                    source: origin.and_then(|origin| origin.source.clone()),
                }
            })
            .collect()
    }

    /// The entry of one setting (exact LinOTP name), or `None` if there is no such setting.
    pub fn entry(&self, name: &str) -> Option<SettingEntry> {
        self.entries().into_iter().find(|entry| entry.name == name)
    }

    /// Every known setting with type, default and help, for `linotp config explain`.
    pub fn known_settings() -> Vec<SettingInfo> {
        SETTINGS
            .iter()
            .map(|spec| SettingInfo {
                name: spec.name,
                type_name: spec.kind.type_name(),
                default: match (spec.name, spec.default) {
                    ("ROOT_DIR", _) => "'<working directory>/data'".to_owned(),
                    ("DATABASE_URI", _) => "'sqlite:///<ROOT_DIR>/linotp.db'".to_owned(),
                    (_, DefaultValue::Json(text)) => serde_json::from_str(text)
                        .map(|json| PyValue::from_json(&mask_json(&json)).to_string())
                        .unwrap_or_else(|_| text.to_owned()),
                    (_, default) => default_literal(default),
                },
                help: spec.help,
            })
            .collect()
    }

    /// `DATABASE_URI` with the password masked, for logs.
    pub fn database_uri_redacted(&self) -> String {
        self.database_uri.redacted()
    }

    /// LinOTP refuses to start when `ROOT_DIR`, `CACHE_DIR` or `LOG_FILE_DIR` is not an
    /// existing directory (except for `linotp config`); this is that check.
    pub fn check_directories(&self) -> Result<()> {
        for (setting, dir) in self.base_directories() {
            let problem = match std::fs::metadata(dir) {
                Ok(metadata) if metadata.is_dir() => continue,
                Ok(_) => "is not a directory".to_owned(),
                Err(e) => format!("cannot be used: {e}"),
            };
            return Err(SettingsError::Directory {
                setting,
                path: dir.to_owned(),
                problem,
            });
        }
        Ok(())
    }

    /// Creates `ROOT_DIR`, `CACHE_DIR`, `LOG_FILE_DIR` and `BACKUP_DIR` where missing (mode
    /// 0770 on Unix, as LinOTP creates its log directory), so a server started without any
    /// configuration finds its data directory.
    pub fn create_directories(&self) -> Result<()> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o770);
        let backup = ("BACKUP_DIR", self.backup_dir.as_path());
        for (setting, dir) in self.base_directories().into_iter().chain([backup]) {
            builder.create(dir).map_err(|e| SettingsError::Directory {
                setting,
                path: dir.to_owned(),
                problem: format!("cannot be created: {e}"),
            })?;
        }
        Ok(())
    }

    fn base_directories(&self) -> [(&'static str, &Path); 3] {
        [
            ("ROOT_DIR", self.root_dir.as_path()),
            ("CACHE_DIR", self.cache_dir.as_path()),
            ("LOG_FILE_DIR", self.log_file_dir.as_path()),
        ]
    }
}

/// Shows what `linotp config show` shows: every setting, secrets masked.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.entries();
        f.debug_struct("Settings")
            .field("config_class", &self.config_class)
            .field(
                "settings",
                &entries
                    .iter()
                    .map(|entry| (entry.name, entry.value.as_str()))
                    .collect::<BTreeMap<_, _>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Reads a configuration file; `None` if it does not exist (LinOTP only warns then).
fn read_config_file(path: &Path) -> Result<Option<zeroize::Zeroizing<String>>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(zeroize::Zeroizing::new(text))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SettingsError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Removes `.` components, so joined paths read naturally. `..` is kept: resolving it
/// lexically would be wrong across symbolic links.
fn normalize(path: &Path) -> PathBuf {
    path.components()
        .filter(|component| !matches!(component, Component::CurDir))
        .collect()
}

fn parse_json(setting: &'static str, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| {
        SettingsError::Assemble(Box::new(figment::Error::from(format!(
            "{setting}: checked JSON no longer parses: {e}"
        ))))
    })
}

fn default_literal(default: DefaultValue) -> String {
    match default {
        DefaultValue::Computed | DefaultValue::None => "None".to_owned(),
        DefaultValue::Str(text) => PyValue::Str(text.to_owned()).to_string(),
        DefaultValue::Bool(b) => PyValue::Bool(b).to_string(),
        DefaultValue::UInt(n) => n.to_string(),
        DefaultValue::StrList(items) => PyValue::List(
            items
                .iter()
                .map(|item| PyValue::Str((*item).to_owned()))
                .collect(),
        )
        .to_string(),
        DefaultValue::Json(text) => text.to_owned(),
    }
}

fn path_str<S: Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&path.to_string_lossy())
}

fn optional_path_str<S: Serializer>(
    path: &Option<PathBuf>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match path {
        Some(path) => path_str(path, serializer),
        None => serializer.serialize_none(),
    }
}

fn path_list_str<S: Serializer>(paths: &[PathBuf], serializer: S) -> Result<S::Ok, S::Error> {
    let joined: Vec<_> = paths.iter().map(|path| path.to_string_lossy()).collect();
    serializer.serialize_str(&joined.join(";"))
}

fn masked_json<S: Serializer>(value: &serde_json::Value, serializer: S) -> Result<S::Ok, S::Error> {
    mask_json(value).serialize(serializer)
}

fn optional_masked_json<S: Serializer>(
    value: &Option<serde_json::Value>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => masked_json(value, serializer),
        None => serializer.serialize_none(),
    }
}
