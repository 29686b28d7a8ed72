//! Loading settings from real files in temporary directories, through the public API.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use linotp_settings::{
    AuditDatabase, CfgListOrigin, ConfigClass, ConfigFile, ConfigFileStatus, Environment, Location,
    LogFormat, LogLevel, Settings, SettingsError,
};
use tempfile::TempDir;

/// A working directory (LinOTP's application root) with configuration files in it.
struct Site {
    dir: TempDir,
}

impl Site {
    fn new() -> Site {
        Site {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn env(&self) -> Environment {
        Environment::new(self.dir.path())
    }

    fn load(&self, vars: &[(&str, &str)]) -> Settings {
        self.try_load(vars).unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_load(&self, vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let mut env = self.env();
        for (name, value) in vars {
            env.set_var(*name, *value);
        }
        Settings::load_with(&env)
    }
}

fn value_of(settings: &Settings, name: &str) -> String {
    settings.entry(name).unwrap().value
}

#[test]
fn without_any_configuration_everything_lives_in_one_data_directory() {
    let site = Site::new();
    let settings = site.load(&[]);
    let data = site.path("data");

    assert_eq!(settings.config_class, ConfigClass::Production);
    assert_eq!(settings.root_dir, data);
    assert_eq!(
        settings.database_uri.expose(),
        format!("sqlite:///{}", data.join("linotp.db").display())
    );
    assert!(settings.database_uri.expose().starts_with("sqlite:////"));
    assert_eq!(settings.secret_file, data.join("encKey"));
    assert_eq!(
        settings.audit_private_key_file,
        data.join("audit-private.pem")
    );
    assert_eq!(
        settings.audit_public_key_file,
        data.join("audit-public.pem")
    );
    assert_eq!(settings.backup_dir, data.join("backup"));
    assert_eq!(settings.cache_dir, data.join("cache"));
    assert_eq!(settings.log_file_dir, data.join("logs"));
    assert_eq!(
        settings.babel_translation_directories,
        vec![data.join("i18n")]
    );
    assert_eq!(
        settings.tls_ca_certificates_file,
        Path::new("/etc/ssl/certs/ca-certificates.crt")
    );
    assert_eq!(
        settings.listen,
        "127.0.0.1:5000".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(settings.tls_cert_file, None);
    assert_eq!(settings.log_format, LogFormat::Text);
    assert_eq!(settings.log_level, LogLevel::Warning);
    assert_eq!(settings.audit_database_uri, AuditDatabase::Shared);
    assert!(settings.session_cookie_secure);
    assert_eq!(settings.jwt_access_token_expires, 1800);
    assert_eq!(settings.jwt_access_token_refresh, 300);
    assert_eq!(settings.jwt_secret_iterations, 500_000);
    assert_eq!(settings.disable_controllers, "gettoken");
    assert_eq!(settings.mako_default_filters, vec!["h".to_owned()]);
    assert!(settings.trusted_proxies.is_empty());
    assert_eq!(settings.log_config, None);
    assert_eq!(settings.hsm_pkcs11_config["library"], "libCryptoki2_64.so");

    assert_eq!(settings.config_list_origin, CfgListOrigin::Builtin);
    assert_eq!(
        settings.config_files,
        vec![ConfigFile {
            path: site.path("linotp.cfg"),
            status: ConfigFileStatus::Missing { optional: true },
        }]
    );
    assert!(settings.warnings.is_empty(), "{:?}", settings.warnings);
    let entries = settings.entries();
    assert!(
        entries
            .iter()
            .all(|entry| entry.is_default && entry.source.is_none())
    );
}

#[test]
fn linotp_cfg_in_the_working_directory_is_read_when_present() {
    let site = Site::new();
    site.write("linotp.cfg", "LOG_LEVEL = 'INFO'\n");
    let settings = site.load(&[]);
    assert_eq!(settings.log_level, LogLevel::Info);
    assert_eq!(settings.config_files[0].status, ConfigFileStatus::Loaded);
}

#[test]
fn later_files_in_linotp_cfg_override_earlier_ones() {
    let site = Site::new();
    let first = site.write(
        "share/linotp.cfg",
        "LOG_LEVEL = 'INFO'\nBABEL_DOMAIN = 'shared'\n",
    );
    let second = site.write("etc/linotp.cfg", "LOG_LEVEL = 'ERROR'\n");
    let list = format!("share/linotp.cfg:{}", second.display());
    let settings = site.load(&[("LINOTP_CFG", &list)]);

    assert_eq!(settings.log_level, LogLevel::Error);
    assert_eq!(settings.babel_domain, "shared");
    let loaded: Vec<_> = settings.config_files.iter().map(|f| &f.path).collect();
    assert_eq!(loaded, vec![&first, &second]);
    assert_eq!(settings.config_list_origin, CfgListOrigin::Env);
}

#[test]
fn a_directory_means_its_cfg_files_in_lexicographic_order() {
    let site = Site::new();
    site.write(
        "conf.d/10-b.cfg",
        "LOG_LEVEL = 'ERROR'\nBABEL_DOMAIN = 'ten'\n",
    );
    site.write("conf.d/02-a.cfg", "LOG_LEVEL = 'INFO'\nHELP_URL = 'two'\n");
    site.write("conf.d/01-x.cfg.bak", "this is not read = =\n");
    site.write("conf.d/.hidden.cfg", "not read either\n");
    site.write("conf.d/99-z.cfg/inner.cfg", "LOG_LEVEL = 'DEBUG'\n");
    let settings = site.load(&[("LINOTP_CFG", "conf.d")]);

    let names: Vec<_> = settings
        .config_files
        .iter()
        .map(|file| file.path.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(names, vec!["02-a.cfg", "10-b.cfg"]);
    assert_eq!(settings.log_level, LogLevel::Error);
    assert_eq!(settings.babel_domain, "ten");
    assert_eq!(settings.help_url, "two");
}

#[test]
fn glob_entries_expand_sorted() {
    let site = Site::new();
    site.write("etc/b-db.cfg", "BABEL_DOMAIN = 'b'\n");
    site.write("etc/a-db.cfg", "BABEL_DOMAIN = 'a'\nHELP_URL = 'a'\n");
    site.write("etc/c-other.cfg", "BABEL_DOMAIN = 'c'\n");
    let settings = site.load(&[("LINOTP_CFG", "etc/*-db.cfg")]);
    assert_eq!(settings.babel_domain, "b");
    assert_eq!(settings.help_url, "a");
    assert_eq!(settings.config_files.len(), 2);
}

#[test]
fn missing_files_warn_unless_marked_optional() {
    let site = Site::new();
    site.write("present.cfg", "BABEL_DOMAIN = 'here'\n");
    let settings = site.load(&[(
        "LINOTP_CFG",
        "-optional.cfg:present.cfg:required.cfg:-nodir/*.cfg",
    )]);
    assert_eq!(settings.babel_domain, "here");
    let statuses: Vec<_> = settings
        .config_files
        .iter()
        .map(|f| (f.path.file_name().unwrap().to_str().unwrap(), &f.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (
                "optional.cfg",
                &ConfigFileStatus::Missing { optional: true }
            ),
            ("present.cfg", &ConfigFileStatus::Loaded),
            (
                "required.cfg",
                &ConfigFileStatus::Missing { optional: false }
            ),
            ("*.cfg", &ConfigFileStatus::Missing { optional: true }),
        ]
    );
    assert_eq!(settings.warnings.len(), 1, "{:?}", settings.warnings);
    assert!(settings.warnings[0].contains("required.cfg"));
}

#[test]
fn linotp_cfg_default_file_supplies_the_list_unless_linotp_cfg_is_set() {
    let site = Site::new();
    site.write("linotp.cfg", "BABEL_DOMAIN = 'plain'\n");
    site.write(
        "dist/linotp.cfg",
        "BABEL_DOMAIN = 'dist'\nHELP_URL = 'dist'\n",
    );
    site.write("local/linotp.cfg", "BABEL_DOMAIN = 'local'\n");
    let default_file = site.write(
        "linotp-cfg-default",
        "dist/linotp.cfg:-local/linotp.cfg:-local/conf.d\n",
    );

    let settings = site.load(&[]);
    assert_eq!(settings.babel_domain, "local");
    assert_eq!(settings.help_url, "dist");
    assert_eq!(
        settings.config_list_origin,
        CfgListOrigin::DefaultFile(default_file)
    );

    let settings = site.load(&[("LINOTP_CFG", "linotp.cfg")]);
    assert_eq!(settings.babel_domain, "plain");
}

#[test]
fn environment_overrides_files_with_type_conversion() {
    let site = Site::new();
    site.write(
        "linotp.cfg",
        "SESSION_COOKIE_SECURE = True\nLOG_LEVEL = 'ERROR'\nJWT_ACCESS_TOKEN_EXPIRES = 60\n",
    );
    let settings = site.load(&[
        ("LINOTP_SESSION_COOKIE_SECURE", "off"),
        ("LINOTP_PROFILE", "YES"),
        ("LINOTP_JWT_SESSION_COOKIE", "1"),
        ("LINOTP_LOG_LEVEL", "info"),
        ("LINOTP_JWT_ACCESS_TOKEN_EXPIRES", " 900 "),
        ("LINOTP_TRUSTED_PROXIES", "10.0.0.1, 10.0.0.0/8,,::1"),
        (
            "LINOTP_LOG_CONFIG",
            r#"{"version": 1, "root": {"level": "INFO"}}"#,
        ),
        ("LINOTP_LISTEN", "[::]:8443"),
        ("LINOTP_LOG_FORMAT", "JSON"),
        ("LINOTP_AUDIT_DATABASE_URI", "OFF"),
    ]);
    assert!(!settings.session_cookie_secure);
    assert!(settings.profile);
    assert!(settings.jwt_session_cookie);
    assert_eq!(settings.log_level, LogLevel::Info);
    assert_eq!(settings.jwt_access_token_expires, 900);
    assert_eq!(
        settings.trusted_proxies,
        vec!["10.0.0.1", "10.0.0.0/8", "::1"]
    );
    assert_eq!(
        settings.log_config,
        Some(serde_json::json!({"version": 1, "root": {"level": "INFO"}}))
    );
    assert_eq!(settings.listen, "[::]:8443".parse::<SocketAddr>().unwrap());
    assert_eq!(settings.log_format, LogFormat::Json);
    assert_eq!(settings.audit_database_uri, AuditDatabase::Off);

    let entry = settings.entry("LOG_LEVEL").unwrap();
    assert_eq!(entry.value, "INFO");
    assert!(!entry.is_default);
    assert_eq!(
        entry.source,
        Some(Location::Env {
            name: "LINOTP_LOG_LEVEL".into()
        })
    );
}

#[test]
fn bad_environment_values_name_the_variable_and_setting() {
    let site = Site::new();
    let cases = [
        (
            "LINOTP_JWT_ACCESS_TOKEN_EXPIRES",
            "soon",
            "environment variable LINOTP_JWT_ACCESS_TOKEN_EXPIRES: JWT_ACCESS_TOKEN_EXPIRES: expected an integer, found 'soon'",
        ),
        (
            "LINOTP_SESSION_COOKIE_SECURE",
            "maybe",
            "environment variable LINOTP_SESSION_COOKIE_SECURE: SESSION_COOKIE_SECURE: expected a boolean (true/false, yes/no, 1/0, on/off), found 'maybe'",
        ),
        (
            "LINOTP_LOG_LEVEL",
            "LOUD",
            "environment variable LINOTP_LOG_LEVEL: LOG_LEVEL: expected one of CRITICAL, ERROR, WARNING, INFO, DEBUG, found 'LOUD'",
        ),
        (
            "LINOTP_JWT_SECRET_ITERATIONS",
            "0",
            "environment variable LINOTP_JWT_SECRET_ITERATIONS: JWT_SECRET_ITERATIONS: 0 must be at least 1",
        ),
        (
            "LINOTP_HSM_DEFAULT_CONFIG",
            "[1]",
            "environment variable LINOTP_HSM_DEFAULT_CONFIG: HSM_DEFAULT_CONFIG: expected a JSON object, found '[1]'",
        ),
    ];
    for (name, value, expected) in cases {
        let err = site.try_load(&[(name, value)]).unwrap_err();
        assert_eq!(err.to_string(), expected);
    }
}

#[test]
fn unknown_environment_variables_are_ignored_but_listed() {
    let site = Site::new();
    let settings = site.load(&[
        ("LINOTP_DB_WAITTIME", "5"),
        ("LINOTP_CFG", ""),
        ("LINOTP_CONFIG", "production"),
        ("LINOTP_BABEL_DOMAIN", "env"),
    ]);
    assert_eq!(settings.ignored_env, vec!["LINOTP_DB_WAITTIME".to_owned()]);
    assert_eq!(settings.babel_domain, "env");
    // An empty LINOTP_CFG names no files at all, as in LinOTP.
    assert!(settings.config_files.is_empty());
}

#[test]
fn relative_file_and_dir_settings_resolve_against_the_final_root_dir() {
    let site = Site::new();
    site.write(
        "a.cfg",
        "SECRET_FILE = 'keys/encKey'\nLOG_FILE_DIR = '/var/log/linotp'\n\
         BABEL_TRANSLATION_DIRECTORIES = 'i18n;/usr/share/linotp/i18n'\n\
         CUSTOM_TEMPLATES_DIR = 'custom'\nTLS_CERT_FILE = 'tls/cert.pem'\nTLS_KEY_FILE = 'tls/key.pem'\n",
    );
    // ROOT_DIR set after the paths still applies to them: LinOTP resolves on use.
    site.write("b.cfg", "ROOT_DIR = '/srv/linotp'\n");
    let settings = site.load(&[("LINOTP_CFG", "a.cfg:b.cfg")]);

    let root = Path::new("/srv/linotp");
    assert_eq!(settings.root_dir, root);
    assert_eq!(settings.secret_file, root.join("keys/encKey"));
    assert_eq!(settings.log_file_dir, Path::new("/var/log/linotp"));
    assert_eq!(
        settings.babel_translation_directories,
        vec![root.join("i18n"), PathBuf::from("/usr/share/linotp/i18n")]
    );
    assert_eq!(settings.custom_templates_dir, Some(root.join("custom")));
    assert_eq!(settings.tls_cert_file, Some(root.join("tls/cert.pem")));
    assert_eq!(settings.tls_key_file, Some(root.join("tls/key.pem")));
    assert_eq!(settings.cache_dir, root.join("cache"));
    assert_eq!(
        settings.database_uri.expose(),
        "sqlite:////srv/linotp/linotp.db"
    );
    assert_eq!(
        value_of(&settings, "BABEL_TRANSLATION_DIRECTORIES"),
        "/srv/linotp/i18n;/usr/share/linotp/i18n"
    );

    // A relative ROOT_DIR (LinOTP insists on absolute) is taken relative to the working dir.
    let settings = site.load(&[("LINOTP_ROOT_DIR", "./state")]);
    assert_eq!(settings.root_dir, site.path("state"));
    assert_eq!(settings.secret_file, site.path("state/encKey"));
}

#[test]
fn file_errors_name_file_line_and_setting() {
    let site = Site::new();
    let cases = [
        (
            "# header\n\nLOG_LEVEL = [1, 2]\n",
            "3: LOG_LEVEL: expected a string, found [1, 2]",
        ),
        (
            "BABEL_DOMAIN = 'x'\nLOG_LEVL = 'INFO'\n",
            "2: LOG_LEVL: unknown setting (did you mean LOG_LEVEL?)",
        ),
        ("DEBUG = True\n", "1: DEBUG: unknown setting"),
        (
            "LOG_FILE_MAX_LENGTH = -1\n",
            "1: LOG_FILE_MAX_LENGTH: -1 must be at least 0",
        ),
        (
            "SESSION_COOKIE_SECURE = 'sometimes'\n",
            "1: SESSION_COOKIE_SECURE: expected a boolean",
        ),
        (
            "TRUSTED_PROXIES = ['a', 1]\n",
            "1: TRUSTED_PROXIES: expected a list of strings, found ['a', 1]",
        ),
        (
            "HSM_DEFAULT_CONFIG = 'not json'\n",
            "1: HSM_DEFAULT_CONFIG: expected a dict as JSON",
        ),
        (
            "LISTEN = 'localhost:80'\n",
            "1: LISTEN: expected an IP address and port",
        ),
        ("SECRET_FILE = ''\n", "1: SECRET_FILE: must not be empty"),
        ("A = 1\n", "1: A: unknown setting"),
        (
            "LOG_LEVEL = 'INFO'\nBABEL_DOMAIN = 'open\n",
            "2: unterminated string",
        ),
        (
            "LOG_LEVEL = 'INFO'\nimport os\n",
            "2: `import` statements are not supported",
        ),
    ];
    for (text, expected) in cases {
        let path = site.write("bad.cfg", text);
        let err = site.try_load(&[("LINOTP_CFG", "bad.cfg")]).unwrap_err();
        let message = err.to_string();
        let expected = format!("{}:{expected}", path.display());
        assert!(
            message.starts_with(&expected),
            "{message}\nexpected: {expected}"
        );
    }
}

#[test]
fn error_messages_never_show_secret_values() {
    let site = Site::new();
    let cases = [
        "ADMIN_PASSWORD = 987654321\n",
        "DATABASE_URI = ['postgresql://u:987654321@h/db']\n",
        "HSM_PKCS11_CONFIG = ['987654321']\n",
    ];
    for text in cases {
        site.write("bad.cfg", text);
        let err = site.try_load(&[("LINOTP_CFG", "bad.cfg")]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(":1: "), "{message}");
        assert!(!message.contains("987654321"), "{message}");
    }
}

#[test]
fn config_show_entries_mask_secrets_and_tell_where_values_came_from() {
    let site = Site::new();
    let path = site.write(
        "linotp.cfg",
        "ADMIN_PASSWORD = 'hunter2'\n\
         DATABASE_URI = 'postgres://linotp:dbpass@db.example.org/linotp'\n\
         AUDIT_DATABASE_URI = 'mysql+pymysql://audit:auditpass@db/audit'\n\
         HSM_PKCS11_CONFIG = {'library': 'libsofthsm2.so', 'password': 'hsmpin', 'slotid': 1}\n\
         LOG_LEVEL = 'WARNING'\n",
    );
    let settings = site.load(&[]);

    assert_eq!(settings.admin_password.expose(), "hunter2");
    assert_eq!(
        settings.database_uri.expose(),
        "postgresql://linotp:dbpass@db.example.org/linotp"
    );
    assert_eq!(settings.hsm_pkcs11_config["password"], "hsmpin");

    assert_eq!(value_of(&settings, "ADMIN_PASSWORD"), "***");
    assert_eq!(
        value_of(&settings, "DATABASE_URI"),
        "postgresql://linotp:***@db.example.org/linotp"
    );
    assert_eq!(
        value_of(&settings, "AUDIT_DATABASE_URI"),
        "mysql+pymysql://audit:***@db/audit"
    );
    assert_eq!(
        value_of(&settings, "HSM_PKCS11_CONFIG"),
        "{'library': 'libsofthsm2.so', 'password': '***', 'slotid': 1}"
    );
    assert_eq!(
        settings.database_uri_redacted(),
        "postgresql://linotp:***@db.example.org/linotp"
    );

    let everything = format!("{:?} {:?}", settings.entries(), settings);
    for secret in ["hunter2", "dbpass", "auditpass", "hsmpin"] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }

    // Python's str() of the values, as LinOTP's `config show` prints them.
    assert_eq!(value_of(&settings, "SESSION_COOKIE_SECURE"), "True");
    assert_eq!(value_of(&settings, "MAKO_DEFAULT_FILTERS"), "['h']");
    assert_eq!(value_of(&settings, "LOG_CONFIG"), "None");
    assert_eq!(value_of(&settings, "LOG_FILE_MAX_LENGTH"), "10485760");

    // Set in a file but equal to the default: not "modified", yet its source is known.
    let log_level = settings.entry("LOG_LEVEL").unwrap();
    assert!(log_level.is_default);
    assert_eq!(
        log_level.source,
        Some(Location::File {
            path: path.clone(),
            line: 5
        })
    );
    let database = settings.entry("DATABASE_URI").unwrap();
    assert!(!database.is_default);
    assert_eq!(database.source, Some(Location::File { path, line: 2 }));

    let names: Vec<_> = settings.entries().iter().map(|entry| entry.name).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert!(settings.entry("NOT_A_SETTING").is_none());
}

#[test]
fn every_known_setting_is_shown_and_explained() {
    let site = Site::new();
    let settings = site.load(&[]);
    let shown: Vec<_> = settings.entries().iter().map(|entry| entry.name).collect();
    let known: Vec<_> = Settings::known_settings()
        .iter()
        .map(|info| info.name)
        .collect();
    assert_eq!(shown, known);
    for name in [
        "ROOT_DIR",
        "DATABASE_URI",
        "SECRET_FILE",
        "AUDIT_DATABASE_URI",
        "AUDIT_PUBLIC_KEY_FILE",
        "AUDIT_PRIVATE_KEY_FILE",
        "ADMIN_REALM_NAME",
        "ADMIN_RESOLVER_NAME",
        "JWT_ACCESS_TOKEN_EXPIRES",
        "TRUSTED_PROXIES",
        "GET_CLIENT_ADDRESS_FROM_POST_DATA",
        "HSM_DEFAULT_CONFIG",
        "LOG_CONFIG",
        "LISTEN",
        "TLS_CERT_FILE",
        "TLS_KEY_FILE",
        "LOG_FORMAT",
    ] {
        assert!(shown.contains(&name), "{name}");
    }
    // Every shown setting has a value in the serialized form (no setting silently missing).
    let json = serde_json::to_value(&settings).unwrap();
    assert_eq!(json.as_object().unwrap().len(), shown.len());
    let pkcs11 = Settings::known_settings()
        .into_iter()
        .find(|info| info.name == "HSM_PKCS11_CONFIG")
        .unwrap();
    assert_eq!(pkcs11.type_name, "dict");
    assert!(pkcs11.default.contains("'password': '***'"));
}

#[test]
fn a_later_dict_replaces_an_earlier_one_whole() {
    let site = Site::new();
    site.write(
        "a.cfg",
        "HSM_PKCS11_CONFIG = {'library': 'a.so', 'password': 'x', 'slotid': 0}\n",
    );
    site.write(
        "b.cfg",
        "HSM_PKCS11_CONFIG = {'library': 'b.so'}\nHSM_DEFAULT_CONFIG = {'poolsize': 5}\n",
    );
    let settings = site.load(&[("LINOTP_CFG", "a.cfg:b.cfg")]);
    assert_eq!(
        settings.hsm_pkcs11_config,
        serde_json::json!({"library": "b.so"})
    );
    assert_eq!(
        settings.hsm_default_config,
        serde_json::json!({"poolsize": 5})
    );
}

#[test]
fn configuration_classes_adjust_defaults() {
    let site = Site::new();
    let development = site.load(&[("LINOTP_CONFIG", "development")]);
    assert_eq!(development.config_class, ConfigClass::Development);
    assert!(!development.session_cookie_secure);
    assert_eq!(development.log_level, LogLevel::Debug);
    assert!(
        development
            .database_uri
            .expose()
            .ends_with("/data/linotp-dev.db")
    );
    assert!(development.entries().iter().all(|entry| entry.is_default));

    let default = site.load(&[("LINOTP_CONFIG", "default")]);
    assert_eq!(default.config_class, ConfigClass::Development);

    let testing = site.load(&[("LINOTP_CONFIG", "testing")]);
    assert!(!testing.session_cookie_secure);
    assert!(
        testing
            .database_uri
            .expose()
            .ends_with("/data/linotp-test.db")
    );

    // Files and environment still win over the class defaults.
    site.write("linotp.cfg", "SESSION_COOKIE_SECURE = True\n");
    let overridden = site.load(&[("LINOTP_CONFIG", "development")]);
    assert!(overridden.session_cookie_secure);

    let err = site.try_load(&[("LINOTP_CONFIG", "staging")]).unwrap_err();
    assert!(err.to_string().contains("\"staging\""), "{err}");
}

#[test]
fn names_linotp_itself_ships_but_ignores_are_skipped_with_a_warning() {
    let site = Site::new();
    // The shape of the linotp.cfg that LinOTP's Docker image generates.
    site.write(
        "linotp.cfg",
        "ROOT_DIR=\"/etc/linotp\"\nSECRET_FILE=\"/etc/linotp/encKey\"\n\
         LOGFILE_DIR=\"/var/log/linotp\"\nCACHE_DIR=\"/var/cache/linotp\"\n",
    );
    let settings = site.load(&[]);
    assert_eq!(settings.secret_file, Path::new("/etc/linotp/encKey"));
    assert_eq!(settings.cache_dir, Path::new("/var/cache/linotp"));
    assert_eq!(settings.log_file_dir, Path::new("/etc/linotp/logs"));
    assert_eq!(settings.warnings.len(), 1);
    assert!(
        settings.warnings[0].contains(":3: LOGFILE_DIR"),
        "{:?}",
        settings.warnings
    );
}

#[test]
fn the_example_configuration_of_this_repository_loads() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../etc/linotp.cfg");
    let site = Site::new();
    let settings = site.load(&[("LINOTP_CFG", example.to_str().unwrap())]);
    assert_eq!(settings.root_dir, Path::new("/var/lib/linotp"));
    assert_eq!(settings.secret_file, Path::new("/var/lib/linotp/encKey"));
    assert_eq!(
        settings.database_uri.expose(),
        "sqlite:////var/lib/linotp/linotp.db"
    );
    assert!(settings.warnings.is_empty(), "{:?}", settings.warnings);
}

#[test]
fn a_tls_certificate_needs_its_key() {
    let site = Site::new();
    site.write("linotp.cfg", "\nTLS_CERT_FILE = 'cert.pem'\n");
    let err = site.try_load(&[]).unwrap_err().to_string();
    assert!(err.contains("TLS_CERT_FILE is set"), "{err}");
    assert!(err.contains("linotp.cfg:2"), "{err}");
    assert!(err.contains("TLS_KEY_FILE"), "{err}");
}

#[test]
fn directories_are_checked_and_created() {
    let site = Site::new();
    let settings = site.load(&[]);
    let err = settings.check_directories().unwrap_err();
    assert!(err.to_string().starts_with("ROOT_DIR: "), "{err}");

    settings.create_directories().unwrap();
    settings.check_directories().unwrap();
    for dir in [
        &settings.root_dir,
        &settings.cache_dir,
        &settings.log_file_dir,
        &settings.backup_dir,
    ] {
        assert!(dir.is_dir(), "{}", dir.display());
    }

    std::fs::remove_dir(&settings.log_file_dir).unwrap();
    std::fs::write(&settings.log_file_dir, "a file").unwrap();
    let err = settings.check_directories().unwrap_err().to_string();
    assert!(
        err.starts_with("LOG_FILE_DIR: ") && err.ends_with("is not a directory"),
        "{err}"
    );
}
