//! From settings to a running application: first-start initialisation, the start-up checks
//! LinOTP makes (with its exit codes), and the assembly of [`App`].
//!
//! * A **fresh data directory** (no encKey and an empty database) is initialised as LinOTP's
//!   container image does: encKey, audit key pair, schema with LinOTP's default
//!   configuration and admin realm, and a local administrator (`ADMIN_USERNAME`, default
//!   `admin`) whose password comes from `LINOTP_ADMIN_PASSWORD` or is generated and shown
//!   once. An **existing** data directory is used as it is: no key is ever overwritten.
//! * The checks refuse to start on a database whose schema this build does not run on
//!   ([`exit_code::SCHEMA`], 3) and on missing key files or tables
//!   ([`exit_code::MISSING_FILE`], 4), with a message naming the fix.
//! * The `linotp` command line's `init` commands call the same functions
//!   ([`ensure_enc_key`], [`ensure_audit_keys`], [`init_database`]), so there is one
//!   implementation of what "initialised" means.
//!
//! ```no_run
//! # fn main() -> Result<(), linotp_api::bootstrap::StartupError> {
//! let settings = linotp_settings::Settings::load().map_err(linotp_api::bootstrap::StartupError::failure)?;
//! let prepared = linotp_api::bootstrap::prepare(&settings)?;
//! if let Some(password) = &prepared.first_start.as_ref().and_then(|first| first.generated_password.clone()) {
//!     println!("admin password: {}", password.as_str());
//! }
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use linotp_crypto::audit::write_audit_key_files;
use linotp_crypto::{
    AuditSigner, AuditVerifier, DefaultSecurityModule, EncKey, SecurityModule, WriteMode,
    hash_password,
};
use linotp_settings::{AuditDatabase, Settings};
use linotp_store::users::{AdminDetails, LocalAdmins};
use linotp_store::{
    Backend, DatabaseUri, MigrationReport, PoolOptions, SchemaStatus, Store, StoreError, defaults,
    jwt_blocklist, migrate,
};
use zeroize::Zeroizing;

use crate::BoxFuture;
use crate::app::{App, AppOptions, AppState};
use crate::audit::{AuditLog, AuditWriter, AuditWriterOptions};
use crate::auth::{AdminAuth, Clock, JwtBlocklist, JwtKey, JwtSettings, SameSite, SystemClock};
use crate::error::{ApiError, Result};
use crate::http::{HttpSettings, TrustedProxies};
use crate::sysconfig::ConfigCache;

/// Process exit codes of the server and of `linotp` (LinOTP's entrypoint convention).
pub mod exit_code {
    /// Any other start-up failure (bad settings, unreachable database, ...).
    pub const FAILURE: u8 = 1;
    /// The database schema is not one this build runs on (too new, unknown, or in need of
    /// `linotp init database`).
    pub const SCHEMA: u8 = 3;
    /// A required file or table is missing (encKey, audit keys, TLS files, `Config`,
    /// `audit`).
    pub const MISSING_FILE: u8 = 4;
}

/// Why the server cannot start: a message for the operator and the exit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StartupError {
    /// One of [`exit_code`].
    pub exit_code: u8,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl StartupError {
    /// A failure with [`exit_code::FAILURE`].
    pub fn failure(message: impl fmt::Display) -> StartupError {
        StartupError {
            exit_code: exit_code::FAILURE,
            message: message.to_string(),
        }
    }

    /// A schema problem, [`exit_code::SCHEMA`].
    pub fn schema(message: impl fmt::Display) -> StartupError {
        StartupError {
            exit_code: exit_code::SCHEMA,
            message: message.to_string(),
        }
    }

    /// A missing file or table, [`exit_code::MISSING_FILE`].
    pub fn missing(message: impl fmt::Display) -> StartupError {
        StartupError {
            exit_code: exit_code::MISSING_FILE,
            message: message.to_string(),
        }
    }
}

impl From<StoreError> for StartupError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::SchemaTooNew { .. } | StoreError::SchemaNotCurrent { .. } => {
                StartupError::schema(error)
            }
            other => StartupError::failure(other),
        }
    }
}

impl From<linotp_crypto::CryptoError> for StartupError {
    fn from(error: linotp_crypto::CryptoError) -> Self {
        StartupError::failure(error)
    }
}

impl From<ApiError> for StartupError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Store(store) => store.into(),
            other => StartupError::failure(other),
        }
    }
}

/// Creates the directory holding `path` when it is missing.
pub fn create_parent_dir(path: &Path) -> std::result::Result<(), StartupError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.exists() => std::fs::create_dir_all(dir)
            .map_err(|error| {
                StartupError::failure(format!(
                    "cannot create directory {}: {error}",
                    dir.display()
                ))
            }),
        _ => Ok(()),
    }
}

/// Writes a new encKey to `path` unless one exists; returns whether it wrote one.
pub fn ensure_enc_key(path: &Path) -> std::result::Result<bool, StartupError> {
    if path.exists() {
        return Ok(false);
    }
    create_parent_dir(path)?;
    EncKey::generate()?.write(path, WriteMode::CreateNew)?;
    Ok(true)
}

/// Writes a new RSA-2048 audit key pair unless the private key exists; returns whether it
/// wrote one.
pub fn ensure_audit_keys(
    private_key: &Path,
    public_key: &Path,
) -> std::result::Result<bool, StartupError> {
    if private_key.exists() {
        return Ok(false);
    }
    create_parent_dir(private_key)?;
    create_parent_dir(public_key)?;
    write_audit_key_files(private_key, public_key, WriteMode::CreateNew)?;
    Ok(true)
}

/// The main database of the settings (`DATABASE_URI`); an SQLite file's directory is created.
pub fn open_store(
    settings: &Settings,
    options: PoolOptions,
) -> std::result::Result<Store, StartupError> {
    let uri = DatabaseUri::parse(settings.database_uri.expose())?;
    open_uri(&uri, options)
}

fn open_uri(uri: &DatabaseUri, options: PoolOptions) -> std::result::Result<Store, StartupError> {
    if let Some(path) = uri.sqlite_path() {
        create_parent_dir(path)?;
    }
    Ok(Store::open(uri, options)?)
}

/// Where the audit rows go, as LinOTP decides it: nowhere for `OFF`; the main database for
/// `SHARED`; except that an SQLite file is never shared with the audit log (locking), which
/// then lives in `<file>_audit` beside it.
pub fn audit_database_uri(
    settings: &Settings,
) -> std::result::Result<Option<DatabaseUri>, StartupError> {
    let main = settings.database_uri.expose();
    let configured = match &settings.audit_database_uri {
        AuditDatabase::Off => return Ok(None),
        AuditDatabase::Shared => main.to_owned(),
        AuditDatabase::Uri(uri) => uri.expose().to_owned(),
    };
    let parsed = DatabaseUri::parse(&configured)?;
    let same_as_main = configured == main
        || DatabaseUri::parse(main).is_ok_and(|main| main.to_string() == parsed.to_string());
    if same_as_main && parsed.backend() == Backend::Sqlite && !parsed.is_in_memory() {
        return Ok(Some(DatabaseUri::parse(&format!("{configured}_audit"))?));
    }
    Ok(Some(parsed))
}

/// The audit database, if the audit log is on; the main store itself when they are one.
fn open_audit_store(
    settings: &Settings,
    main: &Store,
) -> std::result::Result<Option<Store>, StartupError> {
    let Some(uri) = audit_database_uri(settings)? else {
        return Ok(None);
    };
    if uri.to_string() == main.uri().to_string() {
        return Ok(Some(main.clone()));
    }
    let options = PoolOptions {
        max_size: 4,
        ..PoolOptions::default()
    };
    Ok(Some(open_uri(&uri, options)?))
}

fn has_audit_table(store: &Store) -> std::result::Result<bool, StartupError> {
    let mut conn = store.connection()?;
    Ok(migrate::table_names(&mut conn)?
        .iter()
        .any(|table| table == "audit"))
}

/// What [`init_database`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseReport {
    /// Migrations of the main database.
    pub migrations: MigrationReport,
    /// LinOTP's default configuration was written (a database without configuration).
    pub wrote_defaults: bool,
    /// The audit table was created in a database of its own.
    pub created_audit_table: bool,
}

/// `linotp init database`: creates the schema, adopts a LinOTP-made database or upgrades
/// ours, writes LinOTP's default configuration and the local admin realm where they are
/// missing, and creates the audit table where the audit log lives. Refuses a schema that is
/// too new or unknown (nothing is touched then).
pub fn init_database(
    settings: &Settings,
    store: &Store,
) -> std::result::Result<DatabaseReport, StartupError> {
    match store.schema_status()? {
        SchemaStatus::TooNew(found) => return Err(StoreError::SchemaTooNew { found }.into()),
        SchemaStatus::Unknown(reason) => {
            return Err(StartupError::schema(format!(
                "database schema not recognised, not touching it: {reason}"
            )));
        }
        SchemaStatus::Empty | SchemaStatus::UpToDate | SchemaStatus::NeedsUpgrade { .. } => {}
    }
    let migrations = store.migrate()?;
    let mut conn = store.connection()?;
    let wrote_defaults = defaults::ensure_default_config(&mut conn)?;
    defaults::ensure_admin_realm(
        &mut conn,
        &settings.admin_realm_name,
        &settings.admin_resolver_name,
    )?;
    drop(conn);
    let mut created_audit_table = false;
    if let Some(audit) = open_audit_store(settings, store)?
        && !has_audit_table(&audit)?
    {
        match audit.schema_status()? {
            // A database of its own for the audit log gets our whole (empty) schema: the
            // audit table is part of it, and one schema is simpler to check than a subset.
            SchemaStatus::Empty => {
                audit.migrate()?;
                created_audit_table = true;
            }
            other => {
                return Err(StartupError::missing(format!(
                    "the audit database {} has no audit table and is not empty ({other}); \
                     create the table or point AUDIT_DATABASE_URI elsewhere",
                    audit.uri()
                )));
            }
        }
    }
    Ok(DatabaseReport {
        migrations,
        wrote_defaults,
        created_audit_table,
    })
}

/// What a first start on an empty data directory created.
#[derive(Clone, PartialEq, Eq)]
pub struct FirstStart {
    /// The local administrator that was created.
    pub admin_username: String,
    /// The generated password (shown once), when `LINOTP_ADMIN_PASSWORD` gave none.
    pub generated_password: Option<Zeroizing<String>>,
    /// Whether a new audit key pair was written (an existing one is kept).
    pub created_audit_keys: bool,
}

impl fmt::Debug for FirstStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FirstStart")
            .field("admin_username", &self.admin_username)
            .field(
                "generated_password",
                &self.generated_password.as_ref().map(|_| "<redacted>"),
            )
            .field("created_audit_keys", &self.created_audit_keys)
            .finish()
    }
}

/// Letters and digits that cannot be mistaken for each other (no 0/O, 1/l/I).
const PASSWORD_ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const GENERATED_PASSWORD_LEN: usize = 20;

/// A random administrator password (about 117 bits).
pub fn generate_password() -> std::result::Result<Zeroizing<String>, StartupError> {
    let mut password = Zeroizing::new(String::with_capacity(GENERATED_PASSWORD_LEN));
    let mut byte = [0u8; 1];
    while password.len() < GENERATED_PASSWORD_LEN {
        linotp_crypto::random::fill_random(&mut byte)?;
        // Rejection sampling keeps every character equally likely.
        let limit = 256 - 256 % PASSWORD_ALPHABET.len();
        if usize::from(byte[0]) < limit {
            password.push(char::from(
                PASSWORD_ALPHABET[usize::from(byte[0]) % PASSWORD_ALPHABET.len()],
            ));
        }
    }
    byte.fill(0);
    Ok(password)
}

/// Whether a configured admin password is already a crypt hash (LinOTP's `ADMIN_PASSWORD`
/// is one in its cloud mode) rather than the password itself.
fn is_crypt_hash(text: &str) -> bool {
    linotp_crypto::PasswordScheme::identify(text).is_some() && text.starts_with('$')
}

/// Initialises an empty data directory (see the module docs). `None` when the data
/// directory is not empty: then nothing is touched.
pub fn initialise_if_fresh(
    settings: &Settings,
    store: &Store,
) -> std::result::Result<Option<FirstStart>, StartupError> {
    if settings.secret_file.exists() || store.schema_status()? != SchemaStatus::Empty {
        return Ok(None);
    }
    tracing::info!(root = %settings.root_dir.display(), "empty data directory: initialising");
    ensure_enc_key(&settings.secret_file)?;
    let created_audit_keys = ensure_audit_keys(
        &settings.audit_private_key_file,
        &settings.audit_public_key_file,
    )?;
    init_database(settings, store)?;

    let admin_username = match settings.admin_username.trim() {
        "" => "admin".to_owned(),
        name => name.to_owned(),
    };
    let configured = settings.admin_password.expose();
    let (hash, generated_password) = if configured.is_empty() {
        let password = generate_password()?;
        (hash_password(&password)?, Some(password))
    } else if is_crypt_hash(configured) {
        (configured.to_owned(), None)
    } else {
        (hash_password(configured)?, None)
    };
    let mut conn = store.connection()?;
    LocalAdmins::new(&settings.admin_resolver_name).add(
        &mut conn,
        &admin_username,
        &hash,
        &AdminDetails::default(),
    )?;
    Ok(Some(FirstStart {
        admin_username,
        generated_password,
        created_audit_keys,
    }))
}

/// The start-up checks of the main database: LinOTP's tables at exactly this build's
/// schema.
pub fn check_schema(store: &Store) -> std::result::Result<(), StartupError> {
    match store.schema_status()? {
        SchemaStatus::UpToDate => Ok(()),
        SchemaStatus::Empty => Err(StartupError::missing(format!(
            "the database {} has no LinOTP tables: run `linotp init database`",
            store.uri()
        ))),
        SchemaStatus::NeedsUpgrade {
            adopt_linotp: true,
            pending,
        } => Err(StartupError::schema(format!(
            "the database {} was made by LinOTP and needs linotp-rs's additions ({}): run \
             `linotp init database`",
            store.uri(),
            pending.join(", ")
        ))),
        SchemaStatus::NeedsUpgrade { pending, .. } => Err(StartupError::schema(format!(
            "the database schema is outdated (pending: {}): run `linotp init database`",
            pending.join(", ")
        ))),
        SchemaStatus::TooNew(found) => Err(StartupError::schema(format!(
            "the database schema is newer than this linotp-rs ({found}): upgrade linotp-rs"
        ))),
        SchemaStatus::Unknown(reason) => Err(StartupError::schema(format!(
            "the database schema is not recognised: {reason}"
        ))),
    }
}

/// `JwtBlocklist` on the database (`linotp_rs_jwt_blocklist`): a logout holds on every node
/// and across restarts. Expired entries are purged whenever a token is revoked.
#[derive(Debug, Clone)]
pub struct StoreBlocklist {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl StoreBlocklist {
    /// A blocklist in `store`'s database.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> StoreBlocklist {
        StoreBlocklist { store, clock }
    }
}

fn utc(seconds: i64) -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp(seconds, 0)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
        .naive_utc()
}

impl JwtBlocklist for StoreBlocklist {
    fn is_revoked<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool>> {
        let store = self.store.clone();
        let jti = jti.to_owned();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut conn = store.connection()?;
                Ok(jwt_blocklist::contains(&mut conn, &jti)?)
            })
            .await
            .map_err(|_| ApiError::Unexpected)?
        })
    }

    fn revoke<'a>(&'a self, jti: &'a str, expires_at: Option<i64>) -> BoxFuture<'a, Result<()>> {
        let store = self.store.clone();
        let jti = jti.to_owned();
        let now = self.clock.now();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut conn = store.connection()?;
                // A token without expiry stays blocked "forever" (until year 9999).
                let until = expires_at.map_or(chrono::NaiveDateTime::MAX, utc);
                jwt_blocklist::insert(&mut conn, &jti, until)?;
                let purged = jwt_blocklist::purge_expired(&mut conn, utc(now))?;
                if purged > 0 {
                    tracing::debug!(purged, "expired JWT blocklist entries removed");
                }
                Ok(())
            })
            .await
            .map_err(|_| ApiError::Unexpected)?
        })
    }
}

/// This node's name for audit rows (`socket.gethostname()` in LinOTP).
pub fn host_name() -> String {
    let name = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    if name.is_empty() {
        "localhost".to_owned()
    } else {
        name
    }
}

/// The HTTP layer settings (trusted proxies; default limits).
pub fn http_settings(settings: &Settings) -> std::result::Result<HttpSettings, StartupError> {
    Ok(HttpSettings {
        trusted_proxies: TrustedProxies::parse(&settings.trusted_proxies)?,
        ..HttpSettings::default()
    })
}

/// Admin token and cookie settings from `JWT_*` and `SESSION_COOKIE_SECURE`.
pub fn jwt_settings(settings: &Settings) -> JwtSettings {
    JwtSettings {
        access_token_expires_secs: i64::try_from(settings.jwt_access_token_expires)
            .unwrap_or(i64::MAX),
        refresh_secs: i64::try_from(settings.jwt_access_token_refresh).unwrap_or(i64::MAX),
        cookie_secure: settings.session_cookie_secure,
        session_cookie: settings.jwt_session_cookie,
        csrf_check_form: settings.jwt_csrf_check_form,
        same_site: Some(SameSite::Lax),
    }
}

/// A checked, assembled application, ready to serve.
#[derive(Debug)]
pub struct Prepared {
    /// The application.
    pub state: AppState,
    /// HTTP layer settings.
    pub http: HttpSettings,
    /// The audit writer (None with `AUDIT_DATABASE_URI = OFF`); stop it after serving.
    pub audit_writer: Option<AuditWriter>,
    /// Set when this start initialised an empty data directory.
    pub first_start: Option<FirstStart>,
}

/// Everything between settings and serving: data directory (initialised when empty),
/// start-up checks, keys, database pools, audit writer, admin auth. Synchronous: call it
/// before or outside the async runtime's worker threads.
pub fn prepare(settings: &Settings) -> std::result::Result<Prepared, StartupError> {
    settings
        .create_directories()
        .map_err(StartupError::failure)?;
    let uri = DatabaseUri::parse(settings.database_uri.expose())?;
    // SQLite has one writer and every connection keeps its own page cache: a few
    // connections serve two cores as well as many and cost far less memory. Database
    // servers get enough for the blocking pool's concurrency.
    let max_size = if uri.backend() == Backend::Sqlite {
        8
    } else {
        16
    };
    let store = open_uri(
        &uri,
        PoolOptions {
            max_size,
            min_idle: 2,
            ..PoolOptions::default()
        },
    )?;
    let first_start = initialise_if_fresh(settings, &store)?;

    if !settings.secret_file.exists() {
        return Err(StartupError::missing(format!(
            "no encKey at {}: restore it, or run `linotp init enc-key` for a new installation",
            settings.secret_file.display()
        )));
    }
    check_schema(&store)?;
    if settings.active_security_module != "default" {
        return Err(StartupError::failure(format!(
            "ACTIVE_SECURITY_MODULE {:?} is not available in this build (only \"default\")",
            settings.active_security_module
        )));
    }
    let security: Arc<dyn SecurityModule> =
        Arc::new(DefaultSecurityModule::from_key_file(&settings.secret_file)?);

    let ca_file = ca_bundle(&settings.tls_ca_certificates_file);
    let options = AppOptions {
        admin_realm: settings.admin_realm_name.to_lowercase(),
        admin_resolver: settings.admin_resolver_name.clone(),
        server_name: host_name(),
        remote: linotp_providers::remote::RemoteSettings {
            nas_identifier: settings.radius_nas_identifier.clone(),
            ca_file: ca_file.clone(),
            ..Default::default()
        },
        tls_ca_certificates_file: ca_file,
    };
    let audit_writer = start_audit(settings, &store, &options)?;
    let audit = audit_writer
        .as_ref()
        .map_or_else(AuditLog::disabled, AuditWriter::log);

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let jwt_secret = security.jwt_secret()?;
    let auth = AdminAuth::new(
        JwtKey::new(jwt_secret.expose())?,
        jwt_settings(settings),
        Arc::clone(&clock),
        Arc::new(StoreBlocklist::new(store.clone(), Arc::clone(&clock))),
    );
    drop(jwt_secret);
    let app = App {
        store,
        security,
        config: ConfigCache::new(),
        audit,
        auth,
        clock,
        options,
    };
    Ok(Prepared {
        state: Arc::new(app),
        http: http_settings(settings)?,
        audit_writer,
        first_start,
    })
}

/// The CA bundle for outgoing TLS when it exists. The default names Debian's bundle, which a
/// slim container may lack; LDAP resolvers then trust the system's roots (none there either,
/// so `ldaps://` fails with a certificate error that names the resolver, not at start-up).
fn ca_bundle(path: &std::path::Path) -> Option<std::path::PathBuf> {
    if path.is_file() {
        Some(path.to_path_buf())
    } else {
        tracing::warn!(
            path = %path.display(),
            "TLS_CA_CERTIFICATES_FILE does not exist: LDAP resolvers trust the system's roots"
        );
        None
    }
}

fn start_audit(
    settings: &Settings,
    store: &Store,
    options: &AppOptions,
) -> std::result::Result<Option<AuditWriter>, StartupError> {
    let Some(audit_store) = open_audit_store(settings, store)? else {
        return Ok(None);
    };
    for (path, hint) in [
        (&settings.audit_private_key_file, "private"),
        (&settings.audit_public_key_file, "public"),
    ] {
        if !path.exists() {
            return Err(StartupError::missing(format!(
                "no {hint} audit key at {}: use `linotp init audit-keys` (or set \
                 AUDIT_DATABASE_URI = OFF)",
                path.display()
            )));
        }
    }
    if !has_audit_table(&audit_store)? {
        return Err(StartupError::missing(format!(
            "the audit database {} has no audit table: run `linotp init database`",
            audit_store.uri()
        )));
    }
    let signer = Arc::new(AuditSigner::from_file(&settings.audit_private_key_file)?);
    if !signer.uses_fast_signing() {
        tracing::warn!("the audit key is not 2048 to 4096 bits: audit signing runs slowly");
    }
    let verifier = AuditVerifier::from_file(&settings.audit_public_key_file)?;
    let writer = AuditWriter::start(
        audit_store,
        signer,
        verifier,
        AuditWriterOptions {
            server_name: options.server_name.clone(),
            error_on_truncation: settings.audit_error_on_truncation,
            ..AuditWriterOptions::default()
        },
    )?;
    Ok(Some(writer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_and_unambiguous() {
        let first = generate_password().unwrap();
        let second = generate_password().unwrap();
        assert_eq!(first.len(), GENERATED_PASSWORD_LEN);
        assert_ne!(*first, *second);
        assert!(first.bytes().all(|byte| PASSWORD_ALPHABET.contains(&byte)));
        assert!(!first.contains(['0', 'O', '1', 'l', 'I']));
    }

    #[test]
    fn crypt_hashes_are_told_from_passwords() {
        assert!(is_crypt_hash("$6$rounds=656000$salt$abc"));
        assert!(!is_crypt_hash("Test123!"));
        assert!(!is_crypt_hash(""));
    }

    #[test]
    fn exit_codes_follow_the_failure_kind() {
        let too_new: StartupError = StoreError::SchemaTooNew {
            found: "9".to_owned(),
        }
        .into();
        assert_eq!(too_new.exit_code, exit_code::SCHEMA);
        assert_eq!(
            StartupError::missing("x").exit_code,
            exit_code::MISSING_FILE
        );
    }
}
