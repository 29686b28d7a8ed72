//! The commands: thin orchestration of linotp-settings, linotp-crypto and linotp-store.

use std::fmt;
use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use linotp_api::bootstrap::{self, StartupError, exit_code};
use linotp_crypto::{CryptoError, EncKey, WriteMode, audit, hash_password};
use linotp_settings::Settings;
use linotp_store::users::{AdminDetails, ImportedUser, LocalAdmins};
use linotp_store::{PoolOptions, SchemaStatus, Store, StoreError, defaults};
use zeroize::{Zeroize, Zeroizing};

use crate::output::Output;

/// Exit codes scripts can rely on (also listed in `linotp --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Anything else that went wrong.
    Failure = 1,
    /// The database is empty, too new or not LinOTP's.
    Schema = 3,
    /// A file the command needs (the encKey) does not exist.
    MissingFile = 4,
    /// The named local administrator does not exist.
    NoSuchAdmin = 5,
    /// The named local administrator exists already.
    AdminExists = 6,
}

/// A command's failure: one line for stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
}

impl Failure {
    fn new(exit: Exit, message: impl fmt::Display) -> Self {
        Failure {
            exit,
            message: message.to_string(),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        let exit = match &error {
            StoreError::SchemaTooNew { .. } | StoreError::SchemaNotCurrent { .. } => Exit::Schema,
            _ => Exit::Failure,
        };
        Failure::new(exit, error)
    }
}

impl From<StartupError> for Failure {
    fn from(error: StartupError) -> Self {
        let exit = match error.exit_code {
            exit_code::SCHEMA => Exit::Schema,
            exit_code::MISSING_FILE => Exit::MissingFile,
            _ => Exit::Failure,
        };
        Failure::new(exit, error.message)
    }
}

impl From<CryptoError> for Failure {
    fn from(error: CryptoError) -> Self {
        Failure::new(Exit::Failure, error)
    }
}

/// Changes to an administrator's contact details; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct DetailChanges {
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub surname: Option<String>,
    pub givenname: Option<String>,
}

impl DetailChanges {
    fn apply_to(self, details: &mut AdminDetails) {
        let DetailChanges {
            phone,
            mobile,
            email,
            surname,
            givenname,
        } = self;
        for (field, change) in [
            (&mut details.phone, phone),
            (&mut details.mobile, mobile),
            (&mut details.email, email),
            (&mut details.surname, surname),
            (&mut details.givenname, givenname),
        ] {
            if let Some(value) = change {
                *field = value;
            }
        }
    }
}

pub fn load_settings() -> Result<Settings, Failure> {
    Settings::load().map_err(|error| Failure::new(Exit::Failure, error))
}

// ---------------------------------------------------------------------------------------------
// init

/// `init enc-key`: never replaces an existing key without `--force`, and then keeps the old
/// file as a backup copy, as LinOTP does.
pub fn init_enc_key(
    settings: &Settings,
    out: &Output,
    force: bool,
    dump: bool,
    keys: Option<&str>,
) -> Result<(), Failure> {
    let path = &settings.secret_file;
    let restored = match keys {
        Some(hex) => {
            let digits = Zeroizing::new(hex.split_whitespace().collect::<String>());
            Some(
                EncKey::from_hex(&digits)
                    .map_err(|error| Failure::new(Exit::Failure, format!("--keys: {error}")))?,
            )
        }
        None => None,
    };

    if path.exists() {
        if !force {
            if dump && restored.is_none() {
                let existing = EncKey::read(path)?;
                print_paper_backup(&existing, path, true);
                return Ok(());
            }
            out.info(format!(
                "There is already an enc-key in '{}'. Not overwriting it (use --force).",
                path.display()
            ));
            return Ok(());
        }
        let backup = move_to_backup(path, settings)?;
        out.info(format!("Moved existing enc-key to {}", backup.display()));
    }
    create_parent_dir(path)?;
    let key = match restored {
        Some(key) => key,
        None => EncKey::generate()?,
    };
    key.write(path, WriteMode::CreateNew)?;
    out.info(format!("Wrote enc-key to {}", path.display()));
    if dump || keys.is_some() {
        // After a restore the dump (without instructions) lets the operator compare the
        // check sums with the paper copy.
        print_paper_backup(&key, path, dump);
    }
    Ok(())
}

fn print_paper_backup(key: &EncKey, path: &Path, instructions: bool) {
    let text = if instructions {
        let created = chrono::Local::now()
            .format("%Y-%m-%dT%H:%M:%S%.6f")
            .to_string();
        key.paper_backup_with_instructions(&path.display().to_string(), &created)
    } else {
        key.paper_backup()
    };
    print!("{text}");
}

/// `init audit-keys`: an RSA-2048 pair; an existing private key is kept unless `--force`.
pub fn init_audit_keys(settings: &Settings, out: &Output, force: bool) -> Result<(), Failure> {
    let private = &settings.audit_private_key_file;
    let public = &settings.audit_public_key_file;
    if private.exists() {
        if !force {
            out.info(format!(
                "There is already a private audit key in '{}'. Not overwriting it (use --force).",
                private.display()
            ));
            return Ok(());
        }
        let backup = move_to_backup(private, settings)?;
        out.info(format!(
            "Moved existing private audit key to {}",
            backup.display()
        ));
    }
    create_parent_dir(private)?;
    create_parent_dir(public)?;
    {
        let _spinner = out.spinner("generating a 2048-bit RSA key for audit signatures");
        audit::write_audit_key_files(private, public, WriteMode::CreateNew)?;
    }
    out.info(format!("Wrote private audit key to {}", private.display()));
    out.info(format!(
        "Extracted public audit key to {}",
        public.display()
    ));
    Ok(())
}

/// `init database`: creates the schema, adopts a LinOTP-made database or upgrades ours, then
/// writes LinOTP's default configuration and the local admin realm where they are missing
/// and creates the audit table where the audit log lives (the server's own first-start
/// initialisation runs the same code).
pub fn init_database(
    settings: &Settings,
    out: &Output,
    erase_all_data: bool,
    yes: bool,
) -> Result<(), Failure> {
    if !settings.secret_file.exists() {
        return Err(Failure::new(
            Exit::MissingFile,
            format!(
                "no enc-key at '{}': run `linotp init enc-key` first (the database's secrets \
                 would be unreadable without it)",
                settings.secret_file.display()
            ),
        ));
    }
    let store = open_store(settings)?;
    if erase_all_data {
        if !yes && !confirm("Do you really want to erase the database?")? {
            out.info("Not erasing the database.");
            return Ok(());
        }
        store.erase_all_data()?;
        out.info("Erased all data");
    }
    out.detail(format!("Database: {}", store.schema_status()?));
    let report = bootstrap::init_database(settings, &store)?;
    for id in &report.migrations.adopted {
        out.detail(format!("Adopted LinOTP schema {id}"));
    }
    for id in &report.migrations.applied {
        out.detail(format!("Applied migration {id}"));
    }
    if report.wrote_defaults {
        out.detail("Wrote default configuration");
    }
    if report.created_audit_table {
        out.detail("Created the audit table");
    }
    out.info(format!("Database ready: {}", store.uri()));
    Ok(())
}

/// `run`: the server in the foreground, until SIGTERM or Ctrl-C.
pub fn run_server(settings: &Settings, listen: Option<SocketAddr>) -> Result<(), Failure> {
    linotp_api::server::init_logging(settings);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            Failure::new(
                Exit::Failure,
                format!("cannot start the async runtime: {error}"),
            )
        })?;
    runtime.block_on(linotp_api::server::run(settings, listen))?;
    Ok(())
}

/// The old file moves to `<file>.<BACKUP_FILE_TIME_FORMAT>` (LinOTP's naming); a counter is
/// added when that name is taken, so a backup is never overwritten.
fn move_to_backup(path: &Path, settings: &Settings) -> Result<PathBuf, Failure> {
    let stamp = chrono::Local::now()
        .format(&settings.backup_file_time_format)
        .to_string();
    let mut backup = PathBuf::from(format!("{}.{stamp}", path.display()));
    let mut counter = 1;
    while backup.exists() {
        backup = PathBuf::from(format!("{}.{stamp}.{counter}", path.display()));
        counter += 1;
    }
    std::fs::rename(path, &backup).map_err(|error| {
        Failure::new(
            Exit::Failure,
            format!(
                "cannot move {} to {}: {error}",
                path.display(),
                backup.display()
            ),
        )
    })?;
    Ok(backup)
}

fn create_parent_dir(path: &Path) -> Result<(), Failure> {
    Ok(bootstrap::create_parent_dir(path)?)
}

fn open_store(settings: &Settings) -> Result<Store, Failure> {
    // No idle connections kept: a background reconnect racing the process exit crashed the
    // CLI when libpq and libmariadb both tore down OpenSSL under it.
    let options = PoolOptions {
        max_size: 2,
        min_idle: 0,
        ..PoolOptions::default()
    };
    Ok(bootstrap::open_store(settings, options)?)
}

/// The local admin commands work on any LinOTP schema this build can read, including a
/// LinOTP-made database that `init database` has not adopted yet.
fn open_admin_store(settings: &Settings) -> Result<Store, Failure> {
    let store = open_store(settings)?;
    match store.schema_status()? {
        SchemaStatus::Empty => Err(Failure::new(
            Exit::Schema,
            "the database has no LinOTP schema: run `linotp init database` first",
        )),
        SchemaStatus::TooNew(found) => Err(StoreError::SchemaTooNew { found }.into()),
        SchemaStatus::Unknown(reason) => Err(Failure::new(
            Exit::Schema,
            format!("database schema not recognised: {reason}"),
        )),
        SchemaStatus::UpToDate | SchemaStatus::NeedsUpgrade { .. } => Ok(store),
    }
}

fn confirm(question: &str) -> Result<bool, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::new(
            Exit::Failure,
            "no terminal to ask for confirmation: add --yes",
        ));
    }
    eprint!("{question} [y/N]: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|error| Failure::new(Exit::Failure, format!("reading the answer: {error}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

// ---------------------------------------------------------------------------------------------
// local-admins

fn admins(settings: &Settings) -> LocalAdmins {
    LocalAdmins::new(&settings.admin_resolver_name)
}

fn not_found(name: &str) -> Failure {
    Failure::new(Exit::NoSuchAdmin, format!("User {name} does not exist"))
}

fn map_admin_error(name: &str) -> impl Fn(StoreError) -> Failure + '_ {
    move |error| match error {
        StoreError::NotFound { .. } => not_found(name),
        StoreError::Duplicate { .. } => {
            Failure::new(Exit::AdminExists, format!("User {name} already exists"))
        }
        other => other.into(),
    }
}

pub fn list_admins(
    settings: &Settings,
    _out: &Output,
    format: Option<&str>,
    long: bool,
) -> Result<(), Failure> {
    let store = open_admin_store(settings)?;
    let mut conn = store.connection()?;
    let list = admins(settings).list(&mut conn)?;
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    let written = if format == Some("json") {
        let rows: Vec<serde_json::Value> = list.iter().map(admin_json).collect();
        let text = serde_json::to_string_pretty(&rows)
            .map_err(|error| Failure::new(Exit::Failure, error))?;
        writeln!(stdout, "{text}")
    } else {
        let template = match format {
            Some(template) => template,
            None if long => "{username}:{name}:{email}:{phone}:{mobile}",
            None => "{username}",
        };
        let mut result = Ok(());
        for admin in &list {
            let line = render_template(template, admin)?;
            result = result.and(writeln!(stdout, "{line}"));
        }
        result
    };
    written.map_err(|error| Failure::new(Exit::Failure, format!("writing output: {error}")))
}

fn full_name(admin: &ImportedUser) -> String {
    format!("{} {}", admin.givenname, admin.surname)
        .trim()
        .to_owned()
}

fn admin_json(admin: &ImportedUser) -> serde_json::Value {
    serde_json::json!({
        "username": admin.username,
        "name": full_name(admin),
        "surname": admin.surname,
        "givenname": admin.givenname,
        "email": admin.email,
        "phone": admin.phone,
        "mobile": admin.mobile,
        "enabled": LocalAdmins::is_enabled(admin),
        "has_password": has_password(admin),
    })
}

fn has_password(admin: &ImportedUser) -> bool {
    let hash = admin
        .password
        .trim_start_matches(linotp_store::users::DISABLED_PREFIX);
    !hash.is_empty() && hash != "*"
}

/// LinOTP's `--format` templates are Python `str.format_map` over the account's fields;
/// `{{` and `}}` are literal braces.
fn render_template(template: &str, admin: &ImportedUser) -> Result<String, Failure> {
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut key = String::new();
                let mut closed = false;
                for k in chars.by_ref() {
                    if k == '}' {
                        closed = true;
                        break;
                    }
                    key.push(k);
                }
                if !closed {
                    return Err(Failure::new(Exit::Failure, "unclosed '{' in template"));
                }
                let value = match key.as_str() {
                    "username" => admin.username.clone(),
                    "userid" => admin.userid.clone(),
                    "name" => full_name(admin),
                    "surname" => admin.surname.clone(),
                    "givenname" => admin.givenname.clone(),
                    "email" => admin.email.clone(),
                    "phone" => admin.phone.clone(),
                    "mobile" => admin.mobile.clone(),
                    "groupid" => admin.groupid.clone(),
                    "enabled" => LocalAdmins::is_enabled(admin).to_string(),
                    other => {
                        return Err(Failure::new(
                            Exit::Failure,
                            format!("invalid key '{other}' in template"),
                        ));
                    }
                };
                out.push_str(&value);
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

pub fn add_admin(
    settings: &Settings,
    out: &Output,
    name: &str,
    changes: DetailChanges,
) -> Result<(), Failure> {
    validate_admin_name(name)?;
    let store = open_admin_store(settings)?;
    let mut conn = store.connection()?;
    let mut details = AdminDetails::default();
    changes.apply_to(&mut details);
    // `*` matches no password hash: the account cannot log in until `password` sets one.
    admins(settings)
        .add(&mut conn, name, "*", &details)
        .map_err(map_admin_error(name))?;
    out.info(format!(
        "Added local administrator {name} (set a password with `linotp local-admins password {name}`)"
    ));
    Ok(())
}

fn validate_admin_name(name: &str) -> Result<(), Failure> {
    let valid = !name.is_empty()
        && name.chars().count() <= 100
        && !name.chars().any(|c| c.is_control() || c.is_whitespace());
    if valid {
        Ok(())
    } else {
        Err(Failure::new(
            Exit::Failure,
            format!("invalid account name {name:?}: 1 to 100 characters, no spaces"),
        ))
    }
}

pub fn modify_admin(
    settings: &Settings,
    out: &Output,
    name: &str,
    changes: DetailChanges,
) -> Result<(), Failure> {
    let store = open_admin_store(settings)?;
    let mut conn = store.connection()?;
    let local = admins(settings);
    let admin = local.get(&mut conn, name)?.ok_or_else(|| not_found(name))?;
    let mut details = AdminDetails {
        surname: admin.surname,
        givenname: admin.givenname,
        phone: admin.phone,
        mobile: admin.mobile,
        email: admin.email,
    };
    changes.apply_to(&mut details);
    local
        .update_details(&mut conn, name, &details)
        .map_err(map_admin_error(name))?;
    out.info(format!("Modified local administrator {name}"));
    Ok(())
}

pub fn set_admin_password(
    settings: &Settings,
    out: &Output,
    name: &str,
    password: Option<String>,
) -> Result<(), Failure> {
    let password = Zeroizing::new(match password.as_deref() {
        Some("-") => read_stdin_line()?,
        Some(_) => password.unwrap_or_default(),
        None if std::io::stdin().is_terminal() => prompt_new_password()?,
        None => read_stdin_line()?,
    });
    if password.is_empty() {
        return Err(Failure::new(
            Exit::Failure,
            "the password must not be empty",
        ));
    }
    let store = open_admin_store(settings)?;
    let mut conn = store.connection()?;
    let local = admins(settings);
    if local.get(&mut conn, name)?.is_none() {
        return Err(not_found(name));
    }
    let hash = {
        let _spinner = out.spinner("hashing the password (sha512_crypt, 656000 rounds)");
        hash_password(&password)?
    };
    local
        .set_password_hash(&mut conn, name, &hash)
        .map_err(map_admin_error(name))?;
    out.info(format!("Set the password of local administrator {name}"));
    Ok(())
}

fn read_stdin_line() -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|error| Failure::new(Exit::Failure, format!("reading the password: {error}")))?;
    let trimmed = line.trim_end_matches(['\n', '\r']).to_owned();
    line.zeroize();
    Ok(trimmed)
}

fn prompt_new_password() -> Result<String, Failure> {
    let read = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map_err(|error| Failure::new(Exit::Failure, format!("reading the password: {error}")))
    };
    let first = Zeroizing::new(read("Password: ")?);
    let second = Zeroizing::new(read("Repeat for confirmation: ")?);
    if *first != *second {
        return Err(Failure::new(
            Exit::Failure,
            "the two entered values do not match",
        ));
    }
    Ok(first.to_string())
}

pub fn remove_admin(
    settings: &Settings,
    out: &Output,
    name: &str,
    yes: bool,
) -> Result<(), Failure> {
    let store = open_admin_store(settings)?;
    let mut conn = store.connection()?;
    let local = admins(settings);
    if local.get(&mut conn, name)?.is_none() {
        return Err(not_found(name));
    }
    if !yes
        && !confirm(&format!(
            "Are you sure you want to remove the account {name}?"
        ))?
    {
        out.info("Not removed.");
        return Ok(());
    }
    if !local.remove(&mut conn, name)? {
        return Err(not_found(name));
    }
    out.info(format!("Removed local administrator {name}"));
    Ok(())
}

pub fn enable_admin(
    settings: &Settings,
    out: &Output,
    name: &str,
    enable: bool,
) -> Result<(), Failure> {
    let store = open_admin_store(settings)?;
    let mut conn = store.connection()?;
    let local = admins(settings);
    let result = if enable {
        local.enable(&mut conn, name)
    } else {
        local.disable(&mut conn, name)
    };
    result.map_err(map_admin_error(name))?;
    let state = if enable { "Enabled" } else { "Disabled" };
    out.info(format!("{state} local administrator {name}"));
    Ok(())
}

/// LinOTP's `local-admins enable` without a name: (re-)creates the local admin resolver and
/// puts it into the admin realm.
pub fn enable_admin_realm(settings: &Settings, out: &Output) -> Result<(), Failure> {
    let store = open_admin_store(settings)?;
    let mut conn = store.connection()?;
    defaults::ensure_admin_realm(
        &mut conn,
        &settings.admin_realm_name,
        &settings.admin_resolver_name,
    )?;
    out.info(format!(
        "Local admin resolver {} is in admin realm {}",
        settings.admin_resolver_name, settings.admin_realm_name
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// config

pub fn show_config(
    settings: &Settings,
    _out: &Output,
    modified: bool,
    values: bool,
    names: &[String],
) -> Result<(), Failure> {
    let entries = if names.is_empty() {
        settings.entries()
    } else {
        names
            .iter()
            .map(|name| {
                settings
                    .entry(&name.to_uppercase())
                    .ok_or_else(|| Failure::new(Exit::Failure, format!("unknown setting {name}")))
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    for entry in entries
        .iter()
        .filter(|entry| !modified || !entry.is_default)
    {
        let line = if values {
            entry.value.clone()
        } else {
            format!("{}={}", entry.name, entry.value)
        };
        writeln!(stdout, "{line}")
            .map_err(|error| Failure::new(Exit::Failure, format!("writing output: {error}")))?;
    }
    Ok(())
}
