//! The realm scenarios of `cargo xtask bench`: `/validate/check` of users found through an
//! LDAP resolver (a real slapd) and an SQL resolver (a users table in its own SQLite file).
//!
//! Resolvers, realms and tokens are defined over HTTP by the benchmark's admin session, as
//! an operator would: the server stores `BINDPW` encrypted and enrols each token for the
//! user id its resolver reports (the DN for LDAP, the row id for SQL).
//!
//! Every connection of a run authenticates its own user, who owns an HOTP token; the load
//! generator computes that token's next OTP, so each check is a real success and the server
//! writes the new counter.
//!
//! The user lookup cache (`user_lookup_cache.enabled`) is switched on first, as the issue
//! measures the LDAP realm with a warm cache: LinOTP's default configuration has it off, and
//! then every check asks the directory for the user again. The cache is global, so the SQL
//! realm is measured with it too.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hyper::Method;
use hyper::body::Bytes;
use linotp_core::HashAlgorithm;
use linotp_resolvers::testing::{self as directory, Slapd};
use linotp_store::Store;
use linotp_store::diesel::connection::SimpleConnection;

use super::{Target, connect, send};

/// Which resolver the users of a realm scenario come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealmKind {
    Ldap,
    Sql,
}

impl RealmKind {
    fn realm(self) -> &'static str {
        match self {
            RealmKind::Ldap => "ldaprealm",
            RealmKind::Sql => "sqlrealm",
        }
    }

    /// Login prefix of the users, distinct per realm so serials and logins never collide.
    fn login_prefix(self) -> &'static str {
        match self {
            RealmKind::Ldap => "ldapbench",
            RealmKind::Sql => "sqlbench",
        }
    }
}

const LDAP_RESOLVER: &str = "BenchLdap";
const SQL_RESOLVER: &str = "BenchSql";
const USER_PIN: &str = "realmpin";
const OTP_DIGITS: u32 = 6;

/// A user with an HOTP token, authenticated by one connection at a time.
#[derive(Debug)]
pub struct HotpUser {
    login: String,
    realm: &'static str,
    key: Vec<u8>,
    /// The counter of the next OTP to send.
    next_counter: AtomicU64,
}

impl HotpUser {
    fn new(kind: RealmKind, index: usize) -> HotpUser {
        let login = format!("{}{index:03}", kind.login_prefix());
        // A seed of its own per user, 20 bytes as LinOTP generates for HMAC tokens.
        let mut key = format!("seed-{login}").into_bytes();
        key.resize(20, b'.');
        HotpUser {
            login,
            realm: kind.realm(),
            key,
            next_counter: AtomicU64::new(0),
        }
    }

    fn serial(&self) -> String {
        format!("RB{}", self.login.to_uppercase())
    }

    /// The body of the next check: PIN and the OTP of the next counter. The counter moves on
    /// whatever the reply, so a lost reply costs one step of the server's look-ahead window
    /// instead of a replayed OTP.
    pub fn next_check(&self) -> Result<Bytes, String> {
        let counter = self.next_counter.fetch_add(1, Ordering::Relaxed);
        let otp = linotp_core::hotp(&self.key, counter, OTP_DIGITS, HashAlgorithm::Sha1)
            .map_err(|error| format!("HOTP: {error}"))?;
        Ok(Bytes::from(form(&[
            ("user", &self.login),
            ("realm", self.realm),
            ("pass", &format!("{USER_PIN}{otp}")),
        ])))
    }
}

/// A realm scenario's directory and users; the directory lives as long as this does.
pub struct RealmUsers {
    pub users: Vec<Arc<HotpUser>>,
    _directory: Option<Slapd>,
}

/// Defines the realm `kind` with `count` users, each owning an HOTP token. `work` holds the
/// SQL realm's users database.
pub async fn prepare(
    target: &Target,
    kind: RealmKind,
    count: usize,
    work: &Path,
) -> Result<RealmUsers, String> {
    let users: Vec<Arc<HotpUser>> = (0..count)
        .map(|index| Arc::new(HotpUser::new(kind, index)))
        .collect();
    let (resolver_params, spec, directory) = match kind {
        RealmKind::Ldap => {
            let slapd = start_slapd(&users)?;
            (
                ldap_resolver(&slapd),
                format!("useridresolver.LDAPIdResolver.IdResolver.{LDAP_RESOLVER}"),
                Some(slapd),
            )
        }
        RealmKind::Sql => (
            sql_resolver(&users, work)?,
            format!("useridresolver.SQLIdResolver.IdResolver.{SQL_RESOLVER}"),
            None,
        ),
    };
    let params: Vec<(&str, &str)> = resolver_params
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    admin(
        target,
        "/system/setConfig",
        &[
            ("key", "user_lookup_cache.enabled"),
            ("value", "True"),
            ("type", "bool"),
        ],
        "\"setConfig user_lookup_cache.enabled\": true",
    )
    .await?;
    admin(target, "/system/setResolver", &params, VALUE_TRUE).await?;
    admin(
        target,
        "/system/setRealm",
        &[("realm", kind.realm()), ("resolvers", &spec)],
        VALUE_TRUE,
    )
    .await?;
    for user in &users {
        let key_hex: String = user.key.iter().map(|byte| format!("{byte:02x}")).collect();
        admin(
            target,
            "/admin/init",
            &[
                ("type", "hmac"),
                ("serial", &user.serial()),
                ("otpkey", &key_hex),
                ("pin", USER_PIN),
                ("user", &user.login),
                ("realm", user.realm),
                ("description", "load benchmark: realm user"),
            ],
            VALUE_TRUE,
        )
        .await?;
    }
    Ok(RealmUsers {
        users,
        _directory: directory,
    })
}

/// A slapd with the benchmark's users added to the test directory's.
fn start_slapd(users: &[Arc<HotpUser>]) -> Result<Slapd, String> {
    eprintln!("xtask: starting slapd with {} benchmark users", users.len());
    let ldif: String = users
        .iter()
        .map(|user| {
            format!(
                "dn: {dn}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: Bench {uid}\n\
                 givenName: Bench\nsn: {uid}\nmail: {uid}@example.test\n\
                 userPassword: {uid}-Pw\n\n",
                dn = directory::dn_of(&user.login),
                uid = user.login,
            )
        })
        .collect();
    // The test fixture panics with its reason (slapd missing, ldapadd failing); the bench
    // reports that reason as its error instead of unwinding through the runtime.
    std::panic::catch_unwind(|| {
        let slapd = Slapd::start();
        slapd.ldapadd(&ldif);
        slapd
    })
    .map_err(|panic| {
        let reason = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
            .unwrap_or_default();
        format!("starting slapd failed: {reason}")
    })
}

fn ldap_resolver(slapd: &Slapd) -> Vec<(&'static str, String)> {
    let mut params = vec![
        ("name", LDAP_RESOLVER.to_owned()),
        ("type", "ldapresolver".to_owned()),
        ("UIDTYPE", "DN".to_owned()),
    ];
    params.extend(slapd.resolver_params());
    params
}

/// A users table in an SQLite file of its own, as a customer database would be.
fn sql_resolver(
    users: &[Arc<HotpUser>],
    work: &Path,
) -> Result<Vec<(&'static str, String)>, String> {
    let uri = format!("sqlite:///{}", work.join("bench-users.db").display());
    let store = Store::open_uri(&uri).map_err(|error| format!("users database: {error}"))?;
    let mut conn = store
        .connection()
        .map_err(|error| format!("users database: {error}"))?;
    let mut script = String::from(
        "CREATE TABLE bench_users (id INTEGER PRIMARY KEY, login TEXT NOT NULL UNIQUE, \
         pw TEXT NOT NULL, mail TEXT, given TEXT, family TEXT, active INTEGER NOT NULL);\n\
         INSERT INTO bench_users (login, pw, mail, given, family, active) \
         VALUES ('disabled', 'x', NULL, 'Dis', 'Abled', 0);\n",
    );
    // The `Where` clause below hides the disabled row: every lookup carries a condition, as
    // on a customer's table.
    for user in users {
        // Logins are ours: letters and digits only, safe inside the literal.
        script.push_str(&format!(
            "INSERT INTO bench_users (login, pw, mail, given, family, active) \
             VALUES ('{0}', 'x', '{0}@example.test', 'Bench', '{0}', 1);\n",
            user.login
        ));
    }
    conn.batch_execute(&script)
        .map_err(|error| format!("users database: {error}"))?;
    Ok(vec![
        ("name", SQL_RESOLVER.to_owned()),
        ("type", "sqlresolver".to_owned()),
        ("Connect", uri),
        ("Password", "unused-by-sqlite".to_owned()),
        ("Table", "bench_users".to_owned()),
        (
            "Map",
            r#"{"userid": "id", "username": "login", "password": "pw", "email": "mail", "givenname": "given", "surname": "family"}"#
                .to_owned(),
        ),
        ("Where", "active = 1".to_owned()),
    ])
}

const VALUE_TRUE: &str = "\"value\": true";

/// An admin request whose reply must contain `expect`.
async fn admin(
    target: &Target,
    path: &str,
    params: &[(&str, &str)],
    expect: &str,
) -> Result<(), String> {
    let mut sender = connect(target.address).await?;
    let (status, _, reply) = send(
        &mut sender,
        target,
        Method::POST,
        path,
        Bytes::from(form(params)),
        true,
    )
    .await?;
    if status == 200 && reply.contains(expect) {
        Ok(())
    } else {
        Err(format!("{path} failed ({status}): {reply}"))
    }
}

/// `application/x-www-form-urlencoded` of `pairs`.
fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
