//! `cargo xtask bench`: the load benchmark of the release server.
//!
//! 1. Builds `linotp-server` in release mode and lets it initialise a fresh SQLite data
//!    directory (audit log on, as by default).
//! 2. Adds the benchmark's data straight into the database through linotp-store and
//!    linotp-crypto (the server is stopped meanwhile): a user `benchuser` in the default
//!    realm `benchrealm` owning an HOTP token with a MaxFailCount too high to ever lock, a
//!    spass token, and 1,000 HOTP tokens for `/admin/show`.
//! 3. Starts the server again and drives it over loopback with our own load generator
//!    (tokio + hyper, keep-alive connections, one request in flight per connection), for
//!    each scenario at 1 and 16 connections: a warm-up second, then the measured period.
//!    The realm scenarios ([`realm_scenarios`]) first define an LDAP realm on a real slapd and an
//!    SQL realm on an SQLite users table over HTTP, with one user and HOTP token per
//!    connection.
//! 4. Prints requests/s, p50 and p99 latency per run, the server's peak RSS (`VmHWM`), and
//!    how the audit trail fared (rows written, signatures still pending at the end).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use linotp_crypto::token_secrets::{encrypt_seed, hash_pin};
use linotp_crypto::{DefaultSecurityModule, SecurityModule};
use linotp_store::tokens::{self, Token};
use linotp_store::users::{self, ImportedUser};
use linotp_store::{Store, config, defaults, realms};
use tokio::net::TcpStream;

use realm_scenarios::{HotpUser, RealmKind, RealmUsers};

mod realm_scenarios;

/// Benchmark settings (`cargo xtask bench [--duration SECS] [--connections 1,16]`).
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Measured seconds per run.
    pub duration: Duration,
    /// Connection counts, each run for every scenario.
    pub connections: Vec<usize>,
    /// `cargo build` feature arguments.
    pub features: Vec<String>,
    /// Only scenarios whose name contains this text.
    pub only: Option<String>,
}

impl BenchOptions {
    /// Parses the arguments after `bench`.
    pub fn parse(args: &[String], features: Vec<String>) -> Result<BenchOptions, String> {
        let mut options = BenchOptions {
            duration: Duration::from_secs(10),
            connections: vec![1, 16],
            features,
            only: None,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let value = || format!("{arg} needs a value");
            match arg.as_str() {
                "--duration" => {
                    let seconds: u64 = args
                        .next()
                        .ok_or_else(value)?
                        .parse()
                        .map_err(|_| "--duration takes whole seconds".to_owned())?;
                    options.duration = Duration::from_secs(seconds.max(1));
                }
                "--connections" => {
                    options.connections = args
                        .next()
                        .ok_or_else(value)?
                        .split(',')
                        .map(|count| count.trim().parse::<usize>())
                        .collect::<Result<_, _>>()
                        .map_err(|_| "--connections takes a comma list of numbers".to_owned())?;
                }
                "--only" => options.only = Some(args.next().ok_or_else(value)?.clone()),
                other => return Err(format!("unknown bench option {other}")),
            }
        }
        Ok(options)
    }
}

const ADMIN_PASSWORD: &str = "bench-admin-Pw1";
const USER_RESOLVER: &str = "BenchUsers";
const REALM: &str = "benchrealm";
const HOTP_SERIAL: &str = "BENCHHOTP";
const HOTP_PIN: &str = "benchpin";
/// RFC 4226's key; the counter never moves (every OTP sent is wrong).
const HOTP_SEED_HEX: &[u8] = b"3132333435363738393031323334353637383930";
const SPASS_SERIAL: &str = "BENCHSPASS";
const SPASS_PIN: &str = "spass-bench-pin";
const SHOW_TOKENS: usize = 1000;

struct Scenario {
    name: &'static str,
    path: &'static str,
    workload: Workload,
    admin: bool,
    /// Text every successful reply contains.
    expect: &'static str,
}

/// What the requests of a scenario send.
enum Workload {
    /// The same body on every request.
    Fixed(String),
    /// Each connection checks its own user of this realm with the next OTP of the user's
    /// HOTP token.
    RealmUsers(RealmKind),
}

/// The body source of one connection.
#[derive(Clone)]
enum RequestBody {
    Fixed(Bytes),
    NextOtp(Arc<HotpUser>),
}

impl RequestBody {
    fn next(&self) -> Result<Bytes, String> {
        match self {
            RequestBody::Fixed(body) => Ok(body.clone()),
            RequestBody::NextOtp(user) => user.next_check(),
        }
    }
}

/// The workloads of the issues.
fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "validate/check wrong OTP (HOTP)",
            path: "/validate/check",
            workload: Workload::Fixed(format!("user=benchuser&pass={HOTP_PIN}000000")),
            admin: false,
            expect: "\"value\": false",
        },
        Scenario {
            name: "validate/check_s spass success",
            path: "/validate/check_s",
            workload: Workload::Fixed(format!("serial={SPASS_SERIAL}&pass={SPASS_PIN}")),
            admin: false,
            expect: "\"value\": true",
        },
        Scenario {
            name: "admin/show 1,000 tokens",
            path: "/admin/show",
            workload: Workload::Fixed(String::new()),
            admin: true,
            expect: "SHOW0999",
        },
        Scenario {
            name: "validate/check user@ldaprealm HOTP success",
            path: "/validate/check",
            workload: Workload::RealmUsers(RealmKind::Ldap),
            admin: false,
            expect: "\"value\": true",
        },
        Scenario {
            name: "validate/check user@sqlrealm HOTP success",
            path: "/validate/check",
            workload: Workload::RealmUsers(RealmKind::Sql),
            admin: false,
            expect: "\"value\": true",
        },
    ]
}

/// Runs the benchmark; `cargo` is the cargo binary.
pub fn run(cargo: &str, options: &BenchOptions) -> Result<(), String> {
    let mut build = Command::new(cargo);
    build.args(["build", "--release", "-p", "linotp-server"]);
    build.args(&options.features);
    eprintln!("xtask: building the release server");
    let status = build
        .status()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if !status.success() {
        return Err("building linotp-server failed".to_owned());
    }
    let binary = target_dir(cargo)?.join("release/linotp-server");
    let work = tempfile::tempdir().map_err(|error| format!("temporary directory: {error}"))?;
    let data = work.path().join("data");

    eprintln!(
        "xtask: initialising a fresh data directory in {}",
        data.display()
    );
    let server = Server::start(&binary, work.path(), &data)?;
    server.stop()?;
    seed_database(&data)?;

    let server = Server::start(&binary, work.path(), &data)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("tokio runtime: {error}"))?;
    let results = runtime.block_on(drive(
        server.address,
        server.child.id(),
        work.path(),
        options,
    ));
    let peak_rss_kb = server.peak_rss_kb();
    let stop_started = Instant::now();
    server.stop()?;
    let stop_time = stop_started.elapsed();
    let results = results?;

    let audit = audit_summary(&data)?;
    println!(
        "{}",
        report(options, &results, peak_rss_kb, stop_time, &audit)
    );
    Ok(())
}

fn target_dir(cargo: &str) -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|error| format!("cargo metadata: {error}"))?;
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("cargo metadata output: {error}"))?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "cargo metadata names no target directory".to_owned())
}

/// A release server process on a free loopback port.
struct Server {
    child: Child,
    address: SocketAddr,
}

impl Server {
    fn start(binary: &Path, work: &Path, data: &Path) -> Result<Server, String> {
        let port = StdTcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|error| format!("free port: {error}"))?
            .port();
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let mut command = Command::new(binary);
        for (name, _) in std::env::vars() {
            if name.starts_with("LINOTP_") || name == "RUST_LOG" {
                command.env_remove(name);
            }
        }
        let mut child = command
            .current_dir(work)
            .env("LINOTP_ROOT_DIR", data)
            .env("LINOTP_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("LINOTP_LOG_LEVEL", "WARNING")
            .arg("--listen")
            .arg(address.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| format!("starting {}: {error}", binary.display()))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| "no stderr of the server".to_owned())?;
        let mut lines = BufReader::new(stderr).lines();
        // The server announces the listener once it is ready; everything else is forwarded.
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("listening on") => break,
                Some(Ok(line)) => eprintln!("server: {line}"),
                Some(Err(_)) | None => {
                    let status = child.wait().map_err(|error| error.to_string())?;
                    return Err(format!("the server stopped during start-up ({status})"));
                }
            }
        }
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                eprintln!("server: {line}");
            }
        });
        Ok(Server { child, address })
    }

    /// `VmHWM` of the process: its peak resident set since start, in kB.
    fn peak_rss_kb(&self) -> Option<u64> {
        peak_rss_kb(self.child.id())
    }

    fn stop(mut self) -> Result<(), String> {
        let pid = rustix::process::Pid::from_raw(
            i32::try_from(self.child.id()).map_err(|_| "pid out of range".to_owned())?,
        )
        .ok_or_else(|| "pid 0".to_owned())?;
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)
            .map_err(|error| format!("SIGTERM: {error}"))?;
        let status = self.child.wait().map_err(|error| error.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("the server exited with {status}"))
        }
    }
}

/// `VmHWM` of process `pid` (its peak resident set since start), in kB.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The benchmark's user, tokens and realm, written as the admin API would store them.
fn seed_database(data: &Path) -> Result<(), String> {
    let security = DefaultSecurityModule::from_key_file(&data.join("encKey"))
        .map_err(|error| format!("encKey: {error}"))?;
    let store = Store::open_uri(&format!("sqlite:///{}", data.join("linotp.db").display()))
        .map_err(|error| error.to_string())?;
    let mut conn = store.connection().map_err(|error| error.to_string())?;
    let conn = &mut *conn;
    let fail = |error: &dyn std::fmt::Display| format!("seeding the database: {error}");

    defaults::ensure_admin_realm(conn, REALM, USER_RESOLVER).map_err(|e| fail(&e))?;
    realms::set_default(conn, REALM).map_err(|e| fail(&e))?;
    config::set(conn, "DefaultRealm", REALM, Some("text"), None).map_err(|e| fail(&e))?;
    users::insert(
        conn,
        &ImportedUser {
            groupid: USER_RESOLVER.to_owned(),
            userid: "benchuser".to_owned(),
            username: "benchuser".to_owned(),
            phone: String::new(),
            mobile: String::new(),
            email: String::new(),
            surname: "Bench".to_owned(),
            givenname: "User".to_owned(),
            password: "*".to_owned(),
        },
    )
    .map_err(|e| fail(&e))?;

    let hmac = |serial: &str, pin: &str| -> Result<Token, String> {
        let mut token = Token::new(serial, "HMAC");
        let seed =
            encrypt_seed(&security as &dyn SecurityModule, HOTP_SEED_HEX).map_err(|e| fail(&e))?;
        token.key_enc = seed.key_enc;
        token.key_iv = seed.key_iv;
        let stored = hash_pin(&security, pin).map_err(|e| fail(&e))?;
        token.pin_hash = stored.pin_hash;
        token.pin_salt = stored.pin_seed;
        token.token_info = "{\n\"hashlib\": \"sha1\"\n}".to_owned();
        Ok(token)
    };

    let mut hotp = hmac(HOTP_SERIAL, HOTP_PIN)?;
    hotp.description = "load benchmark: wrong OTPs".to_owned();
    hotp.max_fail = 1_000_000_000;
    hotp.user_id = "benchuser".to_owned();
    hotp.id_res_class = format!("useridresolver.SQLIdResolver.IdResolver.{USER_RESOLVER}");
    hotp.id_resolver = format!("SQLIdResolver.IdResolver.{USER_RESOLVER}");
    let hotp = tokens::insert(conn, &hotp).map_err(|e| fail(&e))?;
    realms::set_token_realms(conn, hotp.id, &[REALM]).map_err(|e| fail(&e))?;

    let mut spass = Token::new(SPASS_SERIAL, "spass");
    let stored = hash_pin(&security, SPASS_PIN).map_err(|e| fail(&e))?;
    spass.pin_hash = stored.pin_hash;
    spass.pin_salt = stored.pin_seed;
    spass.description = "load benchmark: static password".to_owned();
    tokens::insert(conn, &spass).map_err(|e| fail(&e))?;

    for index in 0..SHOW_TOKENS {
        let mut token = hmac(&format!("SHOW{index:04}"), "showpin")?;
        token.description = format!("listed token {index}");
        tokens::insert(conn, &token).map_err(|e| fail(&e))?;
    }
    Ok(())
}

/// The measurements of one run.
#[derive(Debug, Clone)]
struct RunResult {
    scenario: &'static str,
    connections: usize,
    requests: u64,
    errors: u64,
    seconds: f64,
    latencies_us: Vec<u32>,
    first_error: Option<String>,
    /// The server's peak RSS after this run, in kB.
    peak_rss_kb: Option<u64>,
}

impl RunResult {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    fn percentile_ms(&self, fraction: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let last = self.latencies_us.len() - 1;
        let index = ((last as f64) * fraction).round() as usize;
        f64::from(self.latencies_us[index.min(last)]) / 1000.0
    }
}

struct Target {
    address: SocketAddr,
    cookie: Option<String>,
    csrf: Option<String>,
}

async fn connect(address: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(address)
        .await
        .map_err(|error| format!("connect: {error}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|error| format!("handshake: {error}"))?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    target: &Target,
    method: Method,
    path: &str,
    body: Bytes,
    admin: bool,
) -> Result<(u16, Vec<(String, String)>, String), String> {
    sender
        .ready()
        .await
        .map_err(|error| format!("connection: {error}"))?;
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", target.address.to_string())
        .header("content-type", "application/x-www-form-urlencoded");
    if admin {
        if let Some(cookie) = &target.cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(csrf) = &target.csrf {
            request = request.header("x-csrf-token", csrf);
        }
    }
    let request = request
        .body(Full::new(body))
        .map_err(|error| error.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| format!("request: {error}"))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|error| format!("reply body: {error}"))?
        .to_bytes();
    Ok((status, headers, String::from_utf8_lossy(&body).into_owned()))
}

async fn login(address: SocketAddr) -> Result<Target, String> {
    let mut target = Target {
        address,
        cookie: None,
        csrf: None,
    };
    let mut sender = connect(address).await?;
    let body = Bytes::from(format!("username=admin&password={ADMIN_PASSWORD}"));
    let (status, headers, reply) = send(
        &mut sender,
        &target,
        Method::POST,
        "/admin/login",
        body,
        false,
    )
    .await?;
    if status != 200 {
        return Err(format!("admin login failed ({status}): {reply}"));
    }
    let cookie_value = |name: &str| {
        headers.iter().find_map(|(header, value)| {
            (header == "set-cookie")
                .then(|| value.strip_prefix(&format!("{name}=")))
                .flatten()
                .and_then(|rest| rest.split(';').next())
                .map(str::to_owned)
        })
    };
    let access = cookie_value("access_token_cookie").ok_or("login set no access cookie")?;
    let csrf = cookie_value("csrf_access_token").ok_or("login set no CSRF cookie")?;
    target.cookie = Some(format!(
        "access_token_cookie={access}; csrf_access_token={csrf}"
    ));
    target.csrf = Some(csrf);
    Ok(target)
}

/// One connection's loop: requests back to back until `until`.
async fn worker(
    target: Arc<Target>,
    path: &'static str,
    body: RequestBody,
    admin: bool,
    expect: &'static str,
    until: Instant,
) -> (u64, u64, Vec<u32>, Option<String>) {
    let mut latencies = Vec::with_capacity(65_536);
    let mut errors = 0;
    let mut first_error = None;
    let mut sender = None;
    while Instant::now() < until {
        if sender.is_none() {
            match connect(target.address).await {
                Ok(fresh) => sender = Some(fresh),
                Err(error) => {
                    errors += 1;
                    first_error.get_or_insert(error);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let Some(connection) = sender.as_mut() else {
            continue;
        };
        let request_body = match body.next() {
            Ok(request_body) => request_body,
            Err(error) => {
                errors += 1;
                first_error.get_or_insert(error);
                break;
            }
        };
        let started = Instant::now();
        match send(connection, &target, Method::POST, path, request_body, admin).await {
            Ok((200, _, reply)) if reply.contains(expect) => {
                let micros = started.elapsed().as_micros();
                latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
            }
            Ok((status, _, reply)) => {
                errors += 1;
                first_error.get_or_insert_with(|| {
                    format!(
                        "HTTP {status}: {}",
                        reply.chars().take(200).collect::<String>()
                    )
                });
            }
            Err(error) => {
                errors += 1;
                first_error.get_or_insert(error);
                sender = None;
            }
        }
    }
    (latencies.len() as u64, errors, latencies, first_error)
}

/// One run of `scenario` on `connections` connections; `bodies` gives each connection its
/// body source (at least `connections` of them).
async fn measure(
    target: &Arc<Target>,
    scenario: &Scenario,
    bodies: &[RequestBody],
    connections: usize,
    period: Duration,
) -> RunResult {
    let started = Instant::now();
    let until = started + period;
    let tasks: Vec<_> = bodies
        .iter()
        .take(connections)
        .map(|body| {
            tokio::spawn(worker(
                Arc::clone(target),
                scenario.path,
                body.clone(),
                scenario.admin,
                scenario.expect,
                until,
            ))
        })
        .collect();
    let mut result = RunResult {
        scenario: scenario.name,
        connections,
        requests: 0,
        errors: 0,
        seconds: 0.0,
        latencies_us: Vec::new(),
        first_error: None,
        peak_rss_kb: None,
    };
    for task in tasks {
        if let Ok((requests, errors, latencies, first_error)) = task.await {
            result.requests += requests;
            result.errors += errors;
            result.latencies_us.extend(latencies);
            if result.first_error.is_none() {
                result.first_error = first_error;
            }
        }
    }
    result.seconds = started.elapsed().as_secs_f64();
    result.latencies_us.sort_unstable();
    result
}

async fn drive(
    address: SocketAddr,
    pid: u32,
    work: &Path,
    options: &BenchOptions,
) -> Result<Vec<RunResult>, String> {
    let target = Arc::new(login(address).await?);
    let mut results = Vec::new();
    let wanted = |scenario: &Scenario| {
        options
            .only
            .as_deref()
            .is_none_or(|only| scenario.name.contains(only))
    };
    let most_connections = options.connections.iter().copied().max().unwrap_or(1);
    // Realms (and slapd) live until every run is done.
    let mut prepared_realms: Vec<(RealmKind, RealmUsers)> = Vec::new();
    for scenario in scenarios().into_iter().filter(wanted) {
        let bodies: Vec<RequestBody> = match &scenario.workload {
            Workload::Fixed(body) => {
                vec![RequestBody::Fixed(Bytes::from(body.clone())); most_connections]
            }
            Workload::RealmUsers(kind) => {
                let prepared = match prepared_realms.iter().find(|(known, _)| known == kind) {
                    Some((_, prepared)) => prepared,
                    None => {
                        eprintln!("xtask: defining {kind:?} realm with {most_connections} users");
                        let prepared =
                            realm_scenarios::prepare(&target, *kind, most_connections, work)
                                .await?;
                        prepared_realms.push((*kind, prepared));
                        &prepared_realms[prepared_realms.len() - 1].1
                    }
                };
                prepared
                    .users
                    .iter()
                    .map(|user| RequestBody::NextOtp(Arc::clone(user)))
                    .collect()
            }
        };
        for &connections in &options.connections {
            // Warm-up: connections, caches (the realm's user lookups), the database's pages.
            let warm_up = Duration::from_secs(1);
            let _ = measure(&target, &scenario, &bodies, connections, warm_up).await;
            let mut result =
                measure(&target, &scenario, &bodies, connections, options.duration).await;
            result.peak_rss_kb = peak_rss_kb(pid);
            eprintln!(
                "xtask: {:<44} {:>3} conns {:>9.1} req/s, peak RSS {} kB",
                result.scenario,
                result.connections,
                result.per_second(),
                result.peak_rss_kb.unwrap_or(0)
            );
            results.push(result);
        }
    }
    Ok(results)
}

#[derive(Debug, Default)]
struct AuditSummary {
    rows: i64,
    pending: i64,
}

fn audit_summary(data: &Path) -> Result<AuditSummary, String> {
    use linotp_store::diesel::prelude::*;
    use linotp_store::schema::audit;
    let store = Store::open_uri(&format!(
        "sqlite:///{}",
        data.join("linotp.db_audit").display()
    ))
    .map_err(|error| error.to_string())?;
    let mut conn = store.connection().map_err(|error| error.to_string())?;
    let rows = audit::table
        .count()
        .get_result::<i64>(&mut *conn)
        .map_err(|error| error.to_string())?;
    let pending = audit::table
        .filter(audit::signature.like("pending:%"))
        .count()
        .get_result::<i64>(&mut *conn)
        .map_err(|error| error.to_string())?;
    Ok(AuditSummary { rows, pending })
}

fn report(
    options: &BenchOptions,
    results: &[RunResult],
    peak_rss_kb: Option<u64>,
    stop_time: Duration,
    audit: &AuditSummary,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nlinotp-server load benchmark ({} s per run, SQLite, audit on, release build)\n",
        options.duration.as_secs()
    );
    let _ = writeln!(
        out,
        "| scenario | connections | requests/s | p50 ms | p99 ms | errors | peak RSS MB |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    for result in results {
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {} |",
            result.scenario,
            result.connections,
            result.per_second(),
            result.percentile_ms(0.50),
            result.percentile_ms(0.99),
            result.errors,
            result
                .peak_rss_kb
                .map_or_else(|| "?".to_owned(), |kb| format!("{:.1}", kb as f64 / 1024.0))
        );
    }
    let _ = writeln!(
        out,
        "\nserver peak RSS (VmHWM): {}",
        peak_rss_kb.map_or_else(
            || "unknown".to_owned(),
            |kb| format!("{:.1} MB", kb as f64 / 1024.0)
        )
    );
    let _ = writeln!(
        out,
        "audit rows written: {}; signatures pending at shutdown: {} (signed at the next start); \
         shutdown took {:.1} s",
        audit.rows,
        audit.pending,
        stop_time.as_secs_f64()
    );
    for result in results.iter().filter(|result| result.errors > 0) {
        let _ = writeln!(
            out,
            "first error of {} at {} connections: {}",
            result.scenario,
            result.connections,
            result.first_error.as_deref().unwrap_or("?")
        );
    }
    out
}
