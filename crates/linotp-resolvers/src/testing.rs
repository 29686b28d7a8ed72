//! A real OpenLDAP server for the tests and benchmarks of this crate and the crates above it
//! (feature `testing`): `slapd` on a free loopback port with a temporary configuration, an mdb
//! database and test users loaded with `ldapadd`; stopped when dropped.
//!
//! A missing `slapd` fails the caller: `.ci/setup` (run by `cargo xtask ci`) installs it, and
//! an LDAP test that quietly passed without a directory would prove nothing.
// A test fixture that cannot be set up must stop the test at once, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BASE: &str = "dc=example,dc=test";
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=test";
pub const ADMIN_PW: &str = "admin-secret";
pub const SERVICE_DN: &str = "cn=linotp,dc=example,dc=test";
pub const SERVICE_PW: &str = "service-secret";

/// A test user.
#[derive(Debug)]
pub struct TestUser {
    pub uid: &'static str,
    pub given: &'static str,
    pub surname: &'static str,
    pub mail: &'static str,
    pub mobile: &'static str,
    pub password: &'static str,
}

pub const USERS: &[TestUser] = &[
    TestUser {
        uid: "alice",
        given: "Alice",
        surname: "Anders",
        mail: "alice@example.test",
        mobile: "+491111",
        password: "Alice-Pw1",
    },
    TestUser {
        uid: "bob",
        given: "Bob",
        surname: "Berger",
        mail: "bob@example.test",
        mobile: "+492222",
        password: "Bob-Pw2",
    },
    TestUser {
        uid: "carol",
        given: "Carol",
        surname: "Clark",
        mail: "carol@example.test",
        mobile: "+493333",
        password: "Carol-Pw3",
    },
];

pub fn dn_of(uid: &str) -> String {
    format!("uid={uid},ou=people,{BASE}")
}

/// Where slapd lives (Debian puts it in /usr/sbin, often not on a user's PATH).
fn slapd_binary() -> Option<PathBuf> {
    [
        "/usr/sbin/slapd",
        "/usr/local/sbin/slapd",
        "/usr/local/libexec/slapd",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|path| path.exists())
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections on `port` (slapd is ready once it listens).
fn wait_for_port(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("slapd exited early: {status}");
        }
        assert!(Instant::now() < deadline, "slapd did not listen on {port}");
        std::thread::yield_now();
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// TLS material for a slapd with `ldaps://` and STARTTLS.
#[derive(Debug)]
pub struct TlsFiles {
    pub ca_pem: String,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success(), "openssl {args:?}");
}

/// A CA and a server certificate for 127.0.0.1, made with the openssl CLI.
fn make_tls(dir: &Path) -> TlsFiles {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=linotp-rs test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "server.pem",
            "-extfile",
            "ext.cnf",
        ],
    );
    TlsFiles {
        ca_pem: std::fs::read_to_string(dir.join("ca.pem")).unwrap(),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
        ca: dir.join("ca.pem"),
    }
}

#[derive(Debug)]
pub struct Slapd {
    child: Child,
    _dir: tempfile::TempDir,
    pub port: u16,
    pub ldaps_port: Option<u16>,
    pub tls: Option<TlsFiles>,
}

impl Slapd {
    /// Panics when slapd is not installed (`.ci/setup` installs it).
    pub fn start() -> Slapd {
        Slapd::start_with(false)
    }

    /// With `ldaps://` on a second port and STARTTLS on the first.
    pub fn start_tls() -> Slapd {
        Slapd::start_with(true)
    }

    fn start_with(tls: bool) -> Slapd {
        let Some(binary) = slapd_binary() else {
            panic!("slapd is not installed: run .ci/setup (apt: slapd ldap-utils)");
        };
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let tls_files = tls.then(|| make_tls(dir.path()));
        let mut conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             modulepath /usr/lib/ldap\n\
             moduleload back_mdb\n\
             pidfile {dir}/slapd.pid\n",
            dir = dir.path().display()
        );
        if let Some(files) = &tls_files {
            conf.push_str(&format!(
                "TLSCACertificateFile {}\nTLSCertificateFile {}\nTLSCertificateKeyFile {}\n",
                files.ca.display(),
                files.cert.display(),
                files.key.display()
            ));
        }
        conf.push_str(&format!(
            "database mdb\n\
             maxsize 10485760\n\
             suffix \"{BASE}\"\n\
             rootdn \"{ADMIN_DN}\"\n\
             rootpw {ADMIN_PW}\n\
             directory {data}\n\
             index objectClass eq\n\
             index uid eq\n\
             access to attrs=userPassword by self read by anonymous auth by * none\n\
             access to * by * read\n",
            data = data.display()
        ));
        let conf_path = dir.path().join("slapd.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let port = free_port();
        let ldaps_port = tls.then(free_port);
        let mut urls = format!("ldap://127.0.0.1:{port}/");
        if let Some(ldaps) = ldaps_port {
            urls.push_str(&format!(" ldaps://127.0.0.1:{ldaps}/"));
        }
        // -d keeps slapd in the foreground, so this process owns it and can stop it.
        let mut child = Command::new(binary)
            .args(["-d", "0", "-f"])
            .arg(&conf_path)
            .args(["-h", &urls])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(port, &mut child);
        if let Some(ldaps) = ldaps_port {
            wait_for_port(ldaps, &mut child);
        }
        let slapd = Slapd {
            child,
            _dir: dir,
            port,
            ldaps_port,
            tls: tls_files,
        };
        slapd.load();
        slapd
    }

    pub fn uri(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// The parameters of an `ldapresolver` on this directory, as `/system/setResolver` takes
    /// them (and LinOTP stores them): the service account, `uid` logins of `inetOrgPerson`
    /// entries, every attribute of the test users mapped, plain LDAP on loopback. Callers add or
    /// replace what they test (`UIDTYPE`, an `ldaps://` URI, ...).
    pub fn resolver_params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LDAPURI", self.uri()),
            ("LDAPBASE", BASE.to_owned()),
            ("BINDDN", SERVICE_DN.to_owned()),
            ("BINDPW", SERVICE_PW.to_owned()),
            ("LOGINNAMEATTRIBUTE", "uid".to_owned()),
            ("LDAPSEARCHFILTER", "(uid=*)(objectClass=inetOrgPerson)".to_owned()),
            ("LDAPFILTER", "(&(uid=%s)(objectClass=inetOrgPerson))".to_owned()),
            (
                "USERINFO",
                r#"{"username": "uid", "surname": "sn", "givenname": "givenName", "email": "mail", "mobile": "mobile", "phone": "telephoneNumber"}"#
                    .to_owned(),
            ),
            ("EnforceTLS", "False".to_owned()),
            ("TIMEOUT", "5".to_owned()),
        ]
    }

    fn load(&self) {
        let mut ldif = format!(
            "dn: {BASE}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\n\
             o: Example\ndc: example\n\n\
             dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n\n\
             dn: {SERVICE_DN}\nobjectClass: simpleSecurityObject\nobjectClass: organizationalRole\n\
             cn: linotp\nuserPassword: {SERVICE_PW}\n\n"
        );
        for user in USERS {
            ldif.push_str(&format!(
                "dn: {dn}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {given} {surname}\n\
                 givenName: {given}\nsn: {surname}\nmail: {mail}\nmobile: {mobile}\n\
                 telephoneNumber: +49 30 {uid}\nuserPassword: {password}\n\n",
                dn = dn_of(user.uid),
                uid = user.uid,
                given = user.given,
                surname = user.surname,
                mail = user.mail,
                mobile = user.mobile,
                password = user.password,
            ));
        }
        self.ldapadd(&ldif);
    }

    /// Adds entries with `ldapadd` as the directory manager.
    pub fn ldapadd(&self, ldif: &str) {
        let mut child = Command::new("ldapadd")
            .args(["-x", "-H", &self.uri(), "-D", ADMIN_DN, "-w", ADMIN_PW])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ldapadd runs (apt: ldap-utils)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(ldif.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "ldapadd: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The entryUUID of a user, read with `ldapsearch` (independent of the code under test).
    pub fn entry_uuid(&self, uid: &str) -> String {
        let output = Command::new("ldapsearch")
            .args([
                "-x",
                "-LLL",
                "-H",
                &self.uri(),
                "-D",
                ADMIN_DN,
                "-w",
                ADMIN_PW,
                "-b",
                &dn_of(uid),
                "-s",
                "base",
                "entryUUID",
            ])
            .output()
            .expect("ldapsearch runs");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.lines()
            .find_map(|line| line.strip_prefix("entryUUID: "))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no entryUUID in {text}"))
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP server that accepts connections and never says a word (a hung directory).
#[derive(Debug)]
pub struct SilentServer {
    pub port: u16,
    _thread: std::thread::JoinHandle<()>,
}

impl SilentServer {
    pub fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                match stream {
                    Ok(stream) => held.push(stream),
                    Err(_) => break,
                }
            }
        });
        SilentServer {
            port,
            _thread: thread,
        }
    }
}
