//! Project automation for linotp-rs.
//!
//! `cargo xtask ci`        – installs what the tests need (`.ci/setup`), then format check,
//!                           clippy with `-D warnings`, every test.
//! `cargo xtask bench`     – the load benchmark of the release server (see [`load`]);
//!                           `--duration SECS`, `--connections 1,16`, `--only TEXT`.
//! `cargo xtask criterion` – the criterion benchmarks of the workspace.
//!
//! The MySQL/MariaDB backend needs the system client library, so it sits behind the
//! `mysql` cargo feature; `ci` switches it on when the library is installed (`.ci/setup`
//! installs it) and says so when it is not.

mod load;

use std::env;
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => load_bench(&args[1..]),
        Some("criterion") => bench(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | bench [--duration SECS] [--connections 1,16] \
                 [--only TEXT] | criterion [filter]>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Features that depend on optional system libraries being present.
fn optional_features() -> Vec<String> {
    let mut features = Vec::new();
    if has_mysql_client_library() {
        features.push("linotp-store/mysql".to_owned());
        features.push("linotp-cli/mysql".to_owned());
    } else {
        eprintln!(
            "xtask: MySQL client library not found: building without MySQL support \
             (run .ci/setup to install libmariadb-dev)"
        );
    }
    features
}

fn has_mysql_client_library() -> bool {
    ["libmariadb", "mysqlclient"].iter().any(|lib| {
        Command::new("pkg-config")
            .args(["--exists", lib])
            .status()
            .is_ok_and(|status| status.success())
    })
}

fn feature_args(features: &[String]) -> Vec<String> {
    if features.is_empty() {
        Vec::new()
    } else {
        vec!["--features".to_owned(), features.join(",")]
    }
}

/// The database servers the tests create their databases on, unless the caller names others.
const TEST_DATABASES: [(&str, &str); 2] = [
    (
        "LINOTP_TEST_POSTGRES_URI",
        "postgresql://postgres@127.0.0.1:5432/postgres?sslmode=disable",
    ),
    ("LINOTP_TEST_MYSQL_URI", "mysql://root@127.0.0.1:3306/test"),
];

fn ci() -> Result<(), String> {
    setup()?;
    let features = feature_args(&optional_features());

    cargo(&["fmt", "--all", "--", "--check"], &[])?;
    cargo(
        &["clippy", "--workspace", "--all-targets", "--locked"],
        &with(&features, &["--", "-D", "warnings"]),
    )?;
    if has_nextest() {
        cargo(
            &[
                "nextest",
                "run",
                "--workspace",
                "--locked",
                "--no-fail-fast",
            ],
            &features,
        )?;
        cargo(&["test", "--workspace", "--locked", "--doc"], &features)?;
    } else {
        cargo(
            &["test", "--workspace", "--locked", "--no-fail-fast"],
            &features,
        )?;
    }
    Ok(())
}

/// Runs `.ci/setup` (installs slapd, the database client libraries, … when missing and starts
/// the local database servers when they are down) and points the database tests at those
/// servers. Every test then runs against real parts; none is skipped for want of one.
fn setup() -> Result<(), String> {
    let root = workspace_root();
    let status = Command::new("bash")
        .arg(root.join(".ci/setup"))
        .current_dir(&root)
        .status()
        .map_err(|err| format!("could not run .ci/setup: {err}"))?;
    if !status.success() {
        return Err(format!(".ci/setup failed ({status})"));
    }
    Ok(())
}

/// [`TEST_DATABASES`] the caller's environment does not already name.
fn test_database_defaults() -> impl Iterator<Item = (&'static str, &'static str)> {
    TEST_DATABASES
        .into_iter()
        .filter(|(name, _)| env::var_os(name).is_none())
}

fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| ".".into())
}

fn load_bench(args: &[String]) -> Result<(), String> {
    // The benchmark runs on the embedded SQLite: no optional backend needed.
    let options = load::BenchOptions::parse(args, Vec::new())?;
    load::run(&cargo_binary(), &options)
}

fn bench(filter: &[String]) -> Result<(), String> {
    let features = feature_args(&optional_features());
    let mut rest = features.clone();
    rest.push("--".to_owned());
    rest.extend(filter.iter().cloned());
    cargo(&["bench", "--workspace"], &rest)
}

fn has_nextest() -> bool {
    Command::new(cargo_binary())
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|output| output.status.success())
}

fn with(first: &[String], rest: &[&str]) -> Vec<String> {
    first
        .iter()
        .cloned()
        .chain(rest.iter().map(|s| (*s).to_owned()))
        .collect()
}

fn cargo_binary() -> String {
    env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

fn cargo(args: &[&str], extra: &[String]) -> Result<(), String> {
    let printable = args
        .iter()
        .map(|s| (*s).to_owned())
        .chain(extra.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("xtask: cargo {printable}");
    let status = Command::new(cargo_binary())
        .args(args)
        .args(extra)
        .envs(test_database_defaults())
        .status()
        .map_err(|err| format!("could not start cargo: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {printable}` failed ({status})"))
    }
}
