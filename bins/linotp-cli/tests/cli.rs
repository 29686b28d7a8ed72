//! The real `linotp` binary, driven as an operator's script would: exit codes, files, and
//! what ends up in the database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use linotp_crypto::verify_password;
use linotp_store::testing::TestDb;
use linotp_store::users::LocalAdmins;
use linotp_store::{SchemaStatus, Store, migrate};

/// A `linotp` invocation in its own working directory with a clean `LINOTP_*` environment, so
/// the default data directory `./data` is private to the test.
struct Linotp {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Linotp {
    fn new() -> Linotp {
        Linotp {
            dir: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    fn with_env(mut self, name: &str, value: &str) -> Linotp {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_linotp"));
        command.args(args).current_dir(self.dir.path());
        for (name, _) in std::env::vars() {
            if name.starts_with("LINOTP_") || name == "RUST_LOG" {
                command.env_remove(name);
            }
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command.stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn run_with_stdin(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs and insists on success, returning stdout.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "linotp {args:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }
}

fn exit_code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn open_store(uri: &str) -> Store {
    Store::open_uri(uri).unwrap()
}

fn sqlite_uri(path: &Path) -> String {
    format!("sqlite:///{}", path.display())
}

/// The read-only LinOTP fixture: `$LINOTP_FIXTURE_DIR` or `shared/fixtures/linotp-sqlite`
/// beside the checkout.
fn fixture_dir() -> PathBuf {
    std::env::var_os("LINOTP_FIXTURE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/linotp-sqlite")
        })
}

#[test]
fn init_all_creates_keys_and_schema_then_manages_an_admin() {
    let linotp = Linotp::new();
    linotp.ok(&["init", "all"]);

    let data = linotp.data();
    let enc_key = fs::metadata(data.join("encKey")).unwrap();
    assert_eq!(enc_key.len(), 96);
    assert_eq!(enc_key.permissions().mode() & 0o777, 0o400);
    let private = fs::metadata(data.join("audit-private.pem")).unwrap();
    assert_eq!(
        private.permissions().mode() & 0o077,
        0,
        "private key readable by others"
    );
    assert!(
        fs::read_to_string(data.join("audit-public.pem"))
            .unwrap()
            .contains("BEGIN PUBLIC KEY")
    );
    let uri = sqlite_uri(&data.join("linotp.db"));
    assert_eq!(
        open_store(&uri).schema_status().unwrap(),
        SchemaStatus::UpToDate
    );

    linotp.ok(&[
        "local-admins",
        "add",
        "admin",
        "--email",
        "admin@example.org",
    ]);
    assert_eq!(linotp.ok(&["local-admins", "list"]), "admin\n");
    let duplicate = linotp.run(&["local-admins", "add", "admin"]);
    assert_eq!(exit_code(&duplicate), 6, "{}", stderr(&duplicate));
    assert!(stderr(&duplicate).contains("already exists"));

    linotp.ok(&[
        "local-admins",
        "password",
        "admin",
        "--password",
        "Test123!",
    ]);
    let store = open_store(&uri);
    let mut conn = store.connection().unwrap();
    let admin = LocalAdmins::default()
        .get(&mut conn, "admin")
        .unwrap()
        .unwrap();
    assert!(
        admin.password.starts_with("$6$rounds=656000$"),
        "{}",
        admin.password
    );
    assert!(verify_password("Test123!", &admin.password));
    assert!(!verify_password("wrong", &admin.password));

    linotp.ok(&["local-admins", "disable", "admin"]);
    let listed: serde_json::Value =
        serde_json::from_str(&linotp.ok(&["local-admins", "list", "--format", "json"])).unwrap();
    assert_eq!(listed[0]["username"], "admin");
    assert_eq!(listed[0]["email"], "admin@example.org");
    assert_eq!(listed[0]["enabled"], false);
    let disabled = LocalAdmins::default()
        .get(&mut conn, "admin")
        .unwrap()
        .unwrap();
    assert!(
        !verify_password("Test123!", &disabled.password),
        "a disabled admin must not log in"
    );

    linotp.ok(&["local-admins", "enable", "admin"]);
    assert_eq!(
        linotp.ok(&["local-admins", "list", "-f", "{username}:{enabled}"]),
        "admin:true\n"
    );

    linotp.ok(&["local-admins", "remove", "admin", "--yes"]);
    assert_eq!(linotp.ok(&["local-admins", "list"]), "");
    let gone = linotp.run(&["local-admins", "password", "admin", "--password", "x"]);
    assert_eq!(exit_code(&gone), 5, "{}", stderr(&gone));
}

#[test]
fn keys_are_never_overwritten_without_force_and_force_keeps_a_backup() {
    let linotp = Linotp::new();
    linotp.ok(&["init", "all"]);
    let key_path = linotp.data().join("encKey");
    let first_key = fs::read(&key_path).unwrap();
    let first_audit = fs::read(linotp.data().join("audit-private.pem")).unwrap();

    let again = linotp.run(&["init", "all"]);
    assert!(again.status.success());
    assert!(stderr(&again).contains("Not overwriting"));
    assert_eq!(fs::read(&key_path).unwrap(), first_key);
    assert_eq!(
        fs::read(linotp.data().join("audit-private.pem")).unwrap(),
        first_audit
    );

    linotp.ok(&["init", "enc-key", "--force"]);
    let second_key = fs::read(&key_path).unwrap();
    assert_ne!(second_key, first_key);
    let backups: Vec<PathBuf> = fs::read_dir(linotp.data())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("encKey.")
        })
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(fs::read(&backups[0]).unwrap(), first_key);
}

#[test]
fn paper_backup_restores_the_same_key() {
    let linotp = Linotp::new();
    linotp.ok(&["init", "enc-key"]);
    let key_path = linotp.data().join("encKey");
    let original = fs::read(&key_path).unwrap();
    let dump = linotp.ok(&["init", "enc-key", "--dump"]);
    assert!(dump.contains("INSTRUCTIONS"));

    // What an operator types back in: the first column of every 16-hex-digit line.
    let typed: Vec<&str> = dump
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|word| word.len() == 16 && word.chars().all(|c| c.is_ascii_hexdigit()))
        .collect();
    assert_eq!(typed.len(), 12);
    let keys = typed.join(" ");

    fs::remove_file(&key_path).unwrap();
    let restored = linotp.ok(&["init", "enc-key", "--keys", &keys]);
    assert_eq!(fs::read(&key_path).unwrap(), original);
    // The restore prints the check sums to compare with the paper copy.
    let last_line = |text: &str| text.lines().last().unwrap().trim().to_owned();
    assert_eq!(last_line(&restored), last_line(&dump));

    let typo = linotp.run(&["init", "enc-key", "--force", "--keys", "12zz"]);
    assert_eq!(exit_code(&typo), 1);
    assert_eq!(
        fs::read(&key_path).unwrap(),
        original,
        "a bad --keys must not touch the key"
    );
}

#[test]
fn init_database_refuses_without_an_enc_key() {
    let linotp = Linotp::new();
    let output = linotp.run(&["init", "database"]);
    assert_eq!(exit_code(&output), 4, "{}", stderr(&output));
    assert!(stderr(&output).contains("linotp init enc-key"));
    assert!(!linotp.data().join("linotp.db").exists());
}

#[test]
fn admin_commands_on_an_empty_database_say_to_init_it() {
    let linotp = Linotp::new();
    linotp.ok(&["init", "enc-key"]);
    let output = linotp.run(&["local-admins", "list"]);
    assert_eq!(exit_code(&output), 3, "{}", stderr(&output));
    assert!(stderr(&output).contains("linotp init database"));
}

#[test]
fn password_can_come_from_stdin() {
    let linotp = Linotp::new();
    linotp.ok(&["init", "all"]);
    linotp.ok(&["local-admins", "add", "ops"]);
    let output = linotp.run_with_stdin(
        &["local-admins", "password", "ops", "--password", "-"],
        "from stdin pw\n",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let store = open_store(&sqlite_uri(&linotp.data().join("linotp.db")));
    let mut conn = store.connection().unwrap();
    let admin = LocalAdmins::default()
        .get(&mut conn, "ops")
        .unwrap()
        .unwrap();
    assert!(verify_password("from stdin pw", &admin.password));

    let empty = linotp.run_with_stdin(&["local-admins", "password", "ops"], "\n");
    assert_eq!(exit_code(&empty), 1);
    assert!(stderr(&empty).contains("must not be empty"));
}

#[test]
fn config_show_masks_database_passwords() {
    let linotp = Linotp::new().with_env(
        "LINOTP_DATABASE_URI",
        "postgresql://linotp:VerySecret@db.example.org/linotp",
    );
    let shown = linotp.ok(&["config", "show", "DATABASE_URI"]);
    assert!(shown.starts_with("DATABASE_URI="), "{shown}");
    assert!(shown.contains("db.example.org"));
    assert!(!shown.contains("VerySecret"), "{shown}");

    let unknown = linotp.run(&["config", "show", "NO_SUCH_SETTING"]);
    assert_eq!(exit_code(&unknown), 1);
}

#[test]
fn a_bad_setting_is_reported_with_file_and_line() {
    let linotp = Linotp::new();
    let cfg = linotp.dir.path().join("site.cfg");
    fs::write(&cfg, "LOG_LEVEL = \"INFO\"\nNO_SUCH_THING = 1\n").unwrap();
    let linotp = linotp.with_env("LINOTP_CFG", cfg.to_str().unwrap());
    let output = linotp.run(&["config", "show"]);
    assert_eq!(exit_code(&output), 1);
    let message = stderr(&output);
    assert!(message.contains("site.cfg:2"), "{message}");
    assert!(message.contains("NO_SUCH_THING"), "{message}");
}

/// The operator's first steps on a database server instead of SQLite.
fn init_and_admin_on(db: &TestDb) {
    let linotp = Linotp::new().with_env("LINOTP_DATABASE_URI", &db.uri_string());
    linotp.ok(&["init", "all"]);
    linotp.ok(&["local-admins", "add", "admin"]);
    linotp.ok(&[
        "local-admins",
        "password",
        "admin",
        "--password",
        "Server-Pw1",
    ]);
    assert_eq!(linotp.ok(&["local-admins", "list"]), "admin\n");
    let mut conn = db.store().connection().unwrap();
    assert_eq!(
        migrate::schema_status(&mut conn).unwrap(),
        SchemaStatus::UpToDate
    );
    let admin = LocalAdmins::default()
        .get(&mut conn, "admin")
        .unwrap()
        .unwrap();
    assert!(verify_password("Server-Pw1", &admin.password));
    // A second init leaves the server's data alone.
    linotp.ok(&["init", "database"]);
    assert!(
        LocalAdmins::default()
            .get(&mut conn, "admin")
            .unwrap()
            .is_some()
    );
}

#[test]
fn init_and_local_admins_on_postgresql() {
    if let Some(db) = TestDb::postgres() {
        init_and_admin_on(&db);
    }
}

#[cfg(feature = "mysql")]
#[test]
fn init_and_local_admins_on_mariadb() {
    if let Some(db) = TestDb::mysql() {
        init_and_admin_on(&db);
    }
}

#[test]
fn lists_the_admin_of_a_database_linotp_made_and_adopts_it() {
    let fixture = fixture_dir();
    let linotp = Linotp::new();
    let copy = linotp.dir.path().join("linotp.db");
    fs::copy(fixture.join("linotp.db"), &copy).unwrap();
    fs::copy(fixture.join("encKey"), linotp.dir.path().join("encKey")).unwrap();
    let key = linotp.dir.path().join("encKey");
    let linotp = linotp
        .with_env("LINOTP_DATABASE_URI", &sqlite_uri(&copy))
        .with_env("LINOTP_SECRET_FILE", key.to_str().unwrap());

    assert_eq!(linotp.ok(&["local-admins", "list"]), "admin\n");

    // `init database` adopts LinOTP's schema instead of recreating it: LinOTP's data stays.
    linotp.ok(&["init", "database"]);
    let store = open_store(&sqlite_uri(&copy));
    assert_eq!(store.schema_status().unwrap(), SchemaStatus::UpToDate);
    let mut conn = store.connection().unwrap();
    let admin = LocalAdmins::default()
        .get(&mut conn, "admin")
        .unwrap()
        .unwrap();
    assert!(verify_password("Test123!", &admin.password));
    assert_eq!(linotp.ok(&["local-admins", "list"]), "admin\n");
}
