//! A real FreeRADIUS for tests (feature `testing`): `freeradius -X` on a free loopback port
//! with a temporary configuration — one client (127.0.0.1) that must send
//! Message-Authenticator, and a `users` file the test writes; stopped when dropped.
//!
//! A missing FreeRADIUS fails the caller: `.ci/setup` (run by `cargo xtask ci`) installs it.
// A test fixture that cannot be set up must stop the test at once, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// The shared secret of the test client.
pub const SECRET: &str = "radius-test-secret";

#[derive(Debug)]
pub struct FreeRadius {
    child: Child,
    _dir: tempfile::TempDir,
    log: Arc<Mutex<Vec<String>>>,
    pub port: u16,
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn binary() -> &'static Path {
    ["/usr/sbin/freeradius", "/usr/sbin/radiusd"]
        .iter()
        .map(Path::new)
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("FreeRADIUS is not installed: run .ci/setup (apt: freeradius)"))
}

impl FreeRadius {
    /// Starts FreeRADIUS with `users` as its users file (FreeRADIUS `files` syntax, e.g.
    /// `alice Cleartext-Password := "secret"`) and waits until it is ready.
    pub fn start(users: &str) -> FreeRadius {
        let binary = binary();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().display().to_string();
        let port = free_udp_port();
        std::fs::write(dir.path().join("users"), users).unwrap();
        let conf = format!(
            "prefix = /usr\nexec_prefix = /usr\nsysconfdir = /etc\nlocalstatedir = {root}\n\
             sbindir = /usr/sbin\nlogdir = {root}\nraddbdir = {root}\nradacctdir = {root}\n\
             name = freeradius\nconfdir = {root}\nmodconfdir = {root}\nrun_dir = {root}\n\
             db_dir = {root}\nlibdir = /usr/lib/freeradius\npidfile = {root}/radiusd.pid\n\
             max_request_time = 30\ncleanup_delay = 0\nmax_requests = 1024\n\
             hostname_lookups = no\n\
             log {{\n destination = stderr\n}}\n\
             security {{\n allow_core_dumps = no\n require_message_authenticator = yes\n}}\n\
             client localhost {{\n ipaddr = 127.0.0.1\n secret = {SECRET}\n \
             require_message_authenticator = yes\n}}\n\
             modules {{\n files {{\n  filename = {root}/users\n }}\n pap {{\n }}\n}}\n\
             server default {{\n listen {{\n  type = auth\n  ipaddr = 127.0.0.1\n  port = {port}\n }}\n \
             authorize {{\n  files\n  pap\n }}\n \
             authenticate {{\n  Auth-Type PAP {{\n   pap\n  }}\n }}\n}}\n"
        );
        std::fs::write(dir.path().join("radiusd.conf"), conf).unwrap();
        // -X: foreground, one thread, everything logged; -f: do not fork.
        let mut child = Command::new(binary)
            .args(["-f", "-X", "-d"])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // FreeRADIUS says when it is ready; its log is kept for the panic message.
        let (ready_tx, ready_rx) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let ready_tx = ready_tx.clone();
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if line.contains("Ready to process requests") {
                        let _ = ready_tx.send(Ok(()));
                    }
                    log.lock().unwrap().push(line);
                }
                let _ = ready_tx.send(Err(log.lock().unwrap().join("\n")));
            });
        }
        match ready_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(())) => FreeRadius {
                child,
                _dir: dir,
                log,
                port,
            },
            Ok(Err(log)) => panic!("FreeRADIUS did not start:\n{log}"),
            Err(_) => {
                let _ = child.kill();
                panic!("FreeRADIUS did not get ready within 30 s");
            }
        }
    }

    /// What FreeRADIUS logged so far (`-X`: every request, attribute by attribute).
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// `radius://127.0.0.1:<port>/?secret=…` as a `forward_server` policy names it.
    pub fn url(&self) -> String {
        format!("radius://127.0.0.1:{}/?secret={SECRET}", self.port)
    }
}

impl Drop for FreeRadius {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
