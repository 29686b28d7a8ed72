//! Black-box harness: the real `linotp-server` (and `linotp`) binaries, started as an
//! operator starts them, driven over HTTP as PAM, RADIUS and admin clients drive LinOTP.
//!
//! # Finding the binaries
//!
//! `env!("CARGO_BIN_EXE_…")` only names binaries of the package under test, and cargo does
//! not build another package's binaries for a dependency. So [`binaries`] runs
//! `cargo build -p linotp-server -p linotp-cli` once per test process (cargo releases its
//! build lock while tests run, and the build is a no-op when nothing changed), with the same
//! target directory and profile as the running test, and takes the binaries from there.
//! `LINOTP_SERVER_BIN` and `LINOTP_CLI_BIN` name prebuilt binaries instead (e.g. a release
//! build under test).
//!
//! # Starting a server
//!
//! [`ServerProcess::start`] runs the binary with a clean `LINOTP_*` environment, its data
//! directory (`ROOT_DIR`) in a temporary directory, on a free loopback port, and waits (with
//! a bound, polling) until `/healthcheck/status` answers. [`ServerProcess::stop`] sends
//! SIGTERM and waits for the exit code.
//!
//! ```no_run
//! # async fn example() {
//! use linotp_tests::{DataDir, ServerProcess};
//! let data = DataDir::new();
//! let server = ServerProcess::start(&data, &[]).await.expect("server starts");
//! let password = server.generated_password().expect("first start prints it");
//! let admin = server.client().login("admin", &password).await;
//! let reply = admin.admin("/admin/show", &[]).await;
//! assert_eq!(reply.status, 200);
//! let status = server.stop().await;
//! assert!(status.success());
//! # }
//! ```

use std::fmt;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long a server may take to answer its health check after start (debug builds hash a
/// password with 656,000 rounds on first start).
pub const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a server may take to exit after SIGTERM (running requests, audit flush).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(90);

/// The binaries under test.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `linotp-server`.
    pub server: PathBuf,
    /// `linotp`.
    pub cli: PathBuf,
}

/// The target directory and profile directory of the running test executable
/// (`<target>/<profile>/deps/<test>`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("deps directory");
    deps.parent().expect("profile directory").to_path_buf()
}

/// Builds (once per process) and returns the server and CLI binaries.
pub fn binaries() -> &'static Binaries {
    static BINARIES: OnceLock<Binaries> = OnceLock::new();
    BINARIES.get_or_init(|| {
        let profile = profile_dir();
        let server = std::env::var_os("LINOTP_SERVER_BIN").map(PathBuf::from);
        let cli = std::env::var_os("LINOTP_CLI_BIN").map(PathBuf::from);
        if server.is_none() || cli.is_none() {
            let target = profile.parent().expect("target directory");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut command = Command::new(cargo);
            // The variables cargo sets for this test would make the build scripts of the
            // binaries' dependencies rerun: build as if from a shell.
            for (name, _) in std::env::vars() {
                if name.starts_with("CARGO_PKG_")
                    || name.starts_with("CARGO_MANIFEST_")
                    || name.starts_with("CARGO_CRATE_")
                    || name.starts_with("CARGO_BIN_")
                    || name == "CARGO_PRIMARY_PACKAGE"
                    || name == "OUT_DIR"
                {
                    command.env_remove(name);
                }
            }
            command
                .args([
                    "build",
                    "-p",
                    "linotp-server",
                    "-p",
                    "linotp-cli",
                    "--target-dir",
                ])
                .arg(target);
            if profile.file_name().is_some_and(|name| name == "release") {
                command.arg("--release");
            }
            let status = command.status().expect("cargo runs");
            assert!(status.success(), "building the binaries failed: {status}");
        }
        Binaries {
            server: server.unwrap_or_else(|| profile.join("linotp-server")),
            cli: cli.unwrap_or_else(|| profile.join("linotp")),
        }
    })
}

/// The read-only LinOTP fixture (`shared/fixtures/linotp-sqlite`): `$LINOTP_FIXTURE_DIR`, or
/// the `shared/` folder beside the repository checkout.
pub fn fixture_dir() -> PathBuf {
    std::env::var_os("LINOTP_FIXTURE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/linotp-sqlite")
        })
}

/// A server's data directory (`ROOT_DIR`) in a temporary directory, removed at the end.
#[derive(Debug)]
pub struct DataDir {
    dir: tempfile::TempDir,
}

impl Default for DataDir {
    fn default() -> Self {
        DataDir::new()
    }
}

impl DataDir {
    /// An empty data directory (it does not exist yet: the server creates it).
    pub fn new() -> DataDir {
        DataDir {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    /// The working directory of the processes.
    pub fn work_dir(&self) -> &Path {
        self.dir.path()
    }

    /// `ROOT_DIR`.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A file in `ROOT_DIR`.
    pub fn file(&self, name: &str) -> PathBuf {
        self.root().join(name)
    }

    /// The environment every process of this data directory gets.
    fn environment(&self) -> Vec<(String, String)> {
        vec![
            (
                "LINOTP_ROOT_DIR".to_owned(),
                self.root().display().to_string(),
            ),
            ("LINOTP_LOG_LEVEL".to_owned(), "INFO".to_owned()),
        ]
    }

    /// A command for `program` with a clean `LINOTP_*` environment and this data directory.
    pub fn command(&self, program: &Path, extra_env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(program);
        command.current_dir(self.work_dir());
        for (name, _) in std::env::vars() {
            if name.starts_with("LINOTP_") || name == "RUST_LOG" {
                command.env_remove(name);
            }
        }
        for (name, value) in self.environment() {
            command.env(name, value);
        }
        for (name, value) in extra_env {
            command.env(name, value);
        }
        command.stdin(Stdio::null());
        command
    }

    /// Runs the `linotp` command line on this data directory.
    pub fn linotp(&self, args: &[&str]) -> std::process::Output {
        self.command(&binaries().cli, &[])
            .args(args)
            .output()
            .expect("linotp runs")
    }
}

/// Lines a child process wrote, collected by a reader thread.
#[derive(Debug, Clone, Default)]
struct Captured(Arc<Mutex<Vec<String>>>);

impl Captured {
    fn follow(&self, stream: impl std::io::Read + Send + 'static) {
        let lines = Arc::clone(&self.0);
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if let Ok(mut lines) = lines.lock() {
                    lines.push(line);
                }
            }
        });
    }

    fn text(&self) -> String {
        self.0
            .lock()
            .map(|lines| lines.join("\n"))
            .unwrap_or_default()
    }
}

/// A server that did not come up.
#[derive(Debug)]
pub struct StartFailure {
    /// The exit status, when the process ended.
    pub status: Option<ExitStatus>,
    /// What it wrote to stderr.
    pub stderr: String,
}

impl fmt::Display for StartFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "server did not start (status {:?}):\n{}",
            self.status, self.stderr
        )
    }
}

/// A running `linotp-server` process.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    address: SocketAddr,
    stdout: Captured,
    stderr: Captured,
}

fn free_port() -> u16 {
    StdTcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

impl ServerProcess {
    /// Starts the server on `data` with extra environment variables and waits until it is
    /// healthy. A port taken between choosing and binding is retried with another one.
    pub async fn start(
        data: &DataDir,
        env: &[(&str, &str)],
    ) -> Result<ServerProcess, StartFailure> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let address = SocketAddr::from(([127, 0, 0, 1], free_port()));
            match ServerProcess::start_on(data, env, address).await {
                Err(failure) if attempt < 3 && failure.stderr.contains("cannot listen on") => {
                    continue;
                }
                other => return other,
            }
        }
    }

    async fn start_on(
        data: &DataDir,
        env: &[(&str, &str)],
        address: SocketAddr,
    ) -> Result<ServerProcess, StartFailure> {
        let mut child = data
            .command(&binaries().server, env)
            .arg("--listen")
            .arg(address.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("linotp-server starts");
        let stdout = Captured::default();
        let stderr = Captured::default();
        if let Some(stream) = child.stdout.take() {
            stdout.follow(stream);
        }
        if let Some(stream) = child.stderr.take() {
            stderr.follow(stream);
        }
        let mut server = ServerProcess {
            child,
            address,
            stdout,
            stderr,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        // A TLS server is not asked over plain HTTP: its listening line says it is up.
        let tls = env.iter().any(|(name, _)| *name == "LINOTP_TLS_CERT_FILE");
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                // Let the reader threads take the last lines.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err(StartFailure {
                    status: Some(status),
                    stderr: server.stderr.text(),
                });
            }
            if tls {
                if server.stderr().contains("listening on https://") {
                    return Ok(server);
                }
            } else if let Ok(reply) = server
                .client()
                .try_request(Method::GET, "/healthcheck/status", &[], &[])
                .await
                && reply.status == 200
            {
                return Ok(server);
            }
            if Instant::now() >= deadline {
                let _ = server.child.kill();
                return Err(StartFailure {
                    status: None,
                    stderr: server.stderr.text(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// A client without session.
    pub fn client(&self) -> Client {
        Client {
            address: self.address,
            session: None,
        }
    }

    /// Everything written to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// The admin password printed on a first start.
    pub fn generated_password(&self) -> Option<String> {
        let stdout = self.stdout();
        let (_, rest) = stdout.split_once("account set to '")?;
        rest.split_once('\'')
            .map(|(password, _)| password.to_owned())
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub async fn stop(mut self) -> ExitStatus {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32);
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        self.wait(STOP_TIMEOUT).await
    }

    async fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "linotp-server did not exit within {timeout:?}; stderr:\n{}",
                    self.stderr()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP reply.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers (names lower-case), in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Reply {
    /// The first header of that name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// `Set-Cookie` values.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(key, _)| key == "set-cookie")
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("reply is no JSON ({error}): {}", self.body))
    }

    /// What `linotp_api::testing::compare` needs.
    pub fn observed(&self) -> linotp_api::testing::ObservedReply {
        linotp_api::testing::ObservedReply {
            status: self.status,
            content_type: self.header("content-type").map(str::to_owned),
            set_cookie_names: self
                .set_cookies()
                .iter()
                .filter_map(|cookie| cookie.split_once('=').map(|(name, _)| name.to_owned()))
                .collect(),
            body: self.body.clone(),
        }
    }
}

/// An admin session: the two cookies of `/admin/login`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `access_token_cookie`.
    pub access_token: String,
    /// `csrf_access_token` (also sent as `X-CSRF-TOKEN`).
    pub csrf: String,
}

impl Session {
    /// From the `Set-Cookie` headers of a login reply.
    pub fn from_reply(reply: &Reply) -> Option<Session> {
        let value = |name: &str| {
            reply.set_cookies().iter().find_map(|cookie| {
                cookie
                    .strip_prefix(&format!("{name}="))
                    .and_then(|rest| rest.split(';').next())
                    .map(str::to_owned)
            })
        };
        Some(Session {
            access_token: value("access_token_cookie")?,
            csrf: value("csrf_access_token")?,
        })
    }

    fn cookie_header(&self) -> String {
        format!(
            "access_token_cookie={}; csrf_access_token={}",
            self.access_token, self.csrf
        )
    }
}

/// A small HTTP/1.1 client (one connection per request, form-encoded parameters).
#[derive(Debug, Clone)]
pub struct Client {
    address: SocketAddr,
    /// The admin session, when logged in.
    pub session: Option<Session>,
}

/// `application/x-www-form-urlencoded` of name/value pairs.
pub fn form_encode(params: &[(&str, &str)]) -> String {
    fn encode(text: &str) -> String {
        text.bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(byte).to_string()
                }
                b' ' => "+".to_owned(),
                other => format!("%{other:02X}"),
            })
            .collect()
    }
    params
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Client {
    /// A client of a server at `address`.
    pub fn new(address: SocketAddr) -> Client {
        Client {
            address,
            session: None,
        }
    }

    /// The same client with another (or no) session.
    pub fn with_session(&self, session: Option<Session>) -> Client {
        Client {
            address: self.address,
            session,
        }
    }

    /// A request: GET with parameters in the query string, other methods as a form body.
    /// `headers` are added as given.
    pub async fn try_request(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Result<Reply, String> {
        let form = form_encode(params);
        let (uri, body, content_type) = if method == Method::GET {
            let uri = if form.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{form}")
            };
            (uri, Vec::new(), None)
        } else {
            (
                path.to_owned(),
                form.into_bytes(),
                Some("application/x-www-form-urlencoded"),
            )
        };
        self.send(method, &uri, content_type, body, headers).await
    }

    /// Sends one request with a ready body and returns the reply.
    async fn send(
        &self,
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, String> {
        let stream = TcpStream::connect(self.address)
            .await
            .map_err(|error| error.to_string())?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| error.to_string())?;
        tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", self.address.to_string());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(session) = &self.session {
            request = request.header("cookie", session.cookie_header());
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|error| error.to_string())?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|error| error.to_string())?;
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
            .map_err(|error| error.to_string())?
            .to_bytes();
        Ok(Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// [`Client::try_request`] that panics on transport errors.
    pub async fn request(&self, method: Method, path: &str, params: &[(&str, &str)]) -> Reply {
        self.try_request(method, path, params, &[])
            .await
            .unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    /// `POST /admin/login`; the returned client carries the session.
    pub async fn login(&self, username: &str, password: &str) -> Client {
        let reply = self
            .request(
                Method::POST,
                "/admin/login",
                &[("username", username), ("password", password)],
            )
            .await;
        assert_eq!(reply.status, 200, "login as {username}: {}", reply.body);
        self.with_session(Some(
            Session::from_reply(&reply).expect("login sets both cookies"),
        ))
    }

    /// An admin call: POST with the session cookies and the CSRF header.
    pub async fn admin(&self, path: &str, params: &[(&str, &str)]) -> Reply {
        let csrf = self
            .session
            .as_ref()
            .map(|session| session.csrf.clone())
            .unwrap_or_default();
        self.try_request(Method::POST, path, params, &[("x-csrf-token", &csrf)])
            .await
            .unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    /// An admin upload: `multipart/form-data` POST of `params` and `files` (field name, file
    /// name, content), with the session cookies and the CSRF header, as the web UI sends
    /// `/tools/import_users` and `/system/importPolicy`.
    pub async fn upload(
        &self,
        path: &str,
        params: &[(&str, &str)],
        files: &[(&str, &str, &str)],
    ) -> Reply {
        const BOUNDARY: &str = "linotp-rs-black-box-boundary";
        let mut body = String::new();
        for (name, value) in params {
            body.push_str(&format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        for (field, filename, content) in files {
            body.push_str(&format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; \
                 filename=\"{filename}\"\r\nContent-Type: text/plain\r\n\r\n{content}\r\n"
            ));
        }
        body.push_str(&format!("--{BOUNDARY}--\r\n"));
        let csrf = self
            .session
            .as_ref()
            .map(|session| session.csrf.clone())
            .unwrap_or_default();
        self.send(
            Method::POST,
            path,
            Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
            body.into_bytes(),
            &[("x-csrf-token", &csrf)],
        )
        .await
        .unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    /// A validate call: POST without session, as PAM and RADIUS modules send it.
    pub async fn validate(&self, path: &str, params: &[(&str, &str)]) -> Reply {
        self.with_session(None)
            .request(Method::POST, path, params)
            .await
    }

    /// An admin call that must succeed: its `result.value`.
    pub async fn call(&self, path: &str, params: &[(&str, &str)]) -> serde_json::Value {
        value_of(&self.admin(path, params).await, path)
    }

    /// `/system/setRealm`: `realm` made of the resolvers in `resolver_specs`.
    pub async fn set_realm(&self, realm: &str, resolver_specs: &str) {
        let value = self
            .call(
                "/system/setRealm",
                &[("realm", realm), ("resolvers", resolver_specs)],
            )
            .await;
        assert_eq!(value, true, "setRealm {realm}");
    }

    /// `/system/setPolicy` with `fields` (which name it).
    pub async fn set_policy(&self, fields: &[(&str, &str)]) {
        let name = fields
            .iter()
            .find(|(key, _)| *key == "name")
            .map(|(_, name)| *name)
            .expect("the policy has a name");
        let reply = self.call("/system/setPolicy", fields).await;
        assert!(
            reply[format!("setPolicy {name}")].is_object(),
            "setPolicy {name}: {reply}"
        );
    }

    /// `/tools/import_users` of a CSV with a header line and clear-text passwords into the
    /// imported-users resolver `resolver`; the summary LinOTP answers.
    pub async fn import_users(&self, resolver: &str, csv: &str) -> serde_json::Value {
        let reply = self
            .upload(
                "/tools/import_users",
                &[
                    ("resolver", resolver),
                    ("skip_header", "true"),
                    ("passwords_in_plaintext", "true"),
                ],
                &[("file", "users.csv", csv)],
            )
            .await;
        value_of(&reply, "/tools/import_users")
    }

    /// `/validate/check` as a PAM module sends it; the reply must be a regular LinOTP answer
    /// (never an error) and its value says whether the user got in.
    pub async fn check(&self, params: &[(&str, &str)]) -> bool {
        let reply = self.validate("/validate/check", params).await;
        value_of(&reply, "/validate/check")
            .as_bool()
            .unwrap_or_else(|| panic!("value is no boolean: {}", reply.body))
    }
}

/// The `result.value` of a reply that must be a successful LinOTP answer (HTTP 200,
/// `result.status` true).
pub fn value_of(reply: &Reply, what: &str) -> serde_json::Value {
    assert_eq!(reply.status, 200, "{what}: {}", reply.body);
    let body = reply.json();
    assert_eq!(body["result"]["status"], true, "{what}: {}", reply.body);
    body["result"]["value"].clone()
}

/// Sends a golden case as the corpus' client did (admin cookies and CSRF header as the case
/// says) and compares the reply by the corpus rules.
pub async fn replay_golden(
    client: &Client,
    admin: &Session,
    case: &linotp_api::testing::GoldenCase,
    captures: &mut linotp_api::testing::Captures,
) -> Result<Reply, linotp_api::testing::Mismatches> {
    use linotp_api::testing::{CsrfHeader, GoldenAuth};
    let params = case.params_with(captures);
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let method = Method::from_bytes(case.method.as_bytes()).unwrap_or(Method::POST);
    let (client, csrf) = match case.auth {
        GoldenAuth::Admin => {
            let csrf = match &case.csrf_header {
                Some(CsrfHeader::Omitted(false)) => None,
                Some(CsrfHeader::Value(wrong)) => Some(wrong.clone()),
                _ if method == Method::POST => Some(admin.csrf.clone()),
                _ => None,
            };
            (client.with_session(Some(admin.clone())), csrf)
        }
        GoldenAuth::None | GoldenAuth::Userservice => (client.with_session(None), None),
    };
    let headers: Vec<(&str, &str)> = csrf
        .as_deref()
        .map(|csrf| vec![("x-csrf-token", csrf)])
        .unwrap_or_default();
    let reply = client
        .try_request(method, &case.path, &params, &headers)
        .await
        .unwrap_or_else(|error| panic!("{}: {error}", case.name));
    linotp_api::testing::compare(case, &reply.observed(), captures)?;
    Ok(reply)
}
