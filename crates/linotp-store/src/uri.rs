//! Database URIs in the spellings LinOTP (SQLAlchemy) accepts.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use zeroize::Zeroizing;

use crate::error::{Result, StoreError};

/// The database engine behind a [`DatabaseUri`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite (embedded, the default).
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB (needs the crate feature `mysql`).
    Mysql,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
            Backend::Mysql => "mysql",
        })
    }
}

/// A parsed database URI.
///
/// Accepted spellings (those of SQLAlchemy, so a LinOTP `DATABASE_URI` works unchanged):
/// `sqlite:///relative/path`, `sqlite:////absolute/path`, `sqlite://` (in-memory),
/// `postgresql://`, `postgres://`, `postgresql+<driver>://`, `mysql://`, `mysql+<driver>://`,
/// `mariadb://`, `mariadb+<driver>://`. Server URIs have the form
/// `scheme://[user[:password]@][host][:port][/database][?query]`; user, password and database
/// are passed on percent-encoded, as the client libraries decode them.
///
/// `Display` and `Debug` mask the password (and query parameters whose name contains
/// `password`); the password is zeroized when the value is dropped.
///
/// ```
/// use linotp_store::{Backend, DatabaseUri};
///
/// let uri: DatabaseUri = "postgresql+psycopg2://linotp:s3cret@db:5432/linotp".parse()?;
/// assert_eq!(uri.backend(), Backend::Postgres);
/// assert_eq!(uri.to_string(), "postgresql+psycopg2://linotp:***@db:5432/linotp");
/// # Ok::<(), linotp_store::StoreError>(())
/// ```
#[derive(Clone)]
pub struct DatabaseUri {
    scheme: String,
    backend: Backend,
    location: Location,
}

#[derive(Clone)]
enum Location {
    SqliteMemory,
    SqliteFile(PathBuf),
    Server(ServerLocation),
}

#[derive(Clone)]
struct ServerLocation {
    user: Option<String>,
    password: Option<Zeroizing<String>>,
    host: Option<String>,
    port: Option<u16>,
    database: Option<String>,
    query: Option<String>,
}

impl DatabaseUri {
    /// Parses a URI; see the type documentation for the accepted forms.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(invalid(text, "expected <scheme>://…"));
        };
        let scheme = scheme.to_ascii_lowercase();
        let base = scheme.split('+').next().unwrap_or_default();
        let backend = match base {
            "sqlite" => Backend::Sqlite,
            "postgresql" | "postgres" => Backend::Postgres,
            "mysql" | "mariadb" => Backend::Mysql,
            _ => {
                return Err(invalid(
                    text,
                    "unsupported scheme (use sqlite, postgresql or mysql/mariadb)",
                ));
            }
        };
        let location = match backend {
            Backend::Sqlite => parse_sqlite(text, rest)?,
            Backend::Postgres | Backend::Mysql => Location::Server(parse_server(text, rest)?),
        };
        Ok(DatabaseUri {
            scheme,
            backend,
            location,
        })
    }

    /// The database engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite file, if this is a file-backed SQLite URI.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.location {
            Location::SqliteFile(path) => Some(path),
            _ => None,
        }
    }

    /// True for `sqlite://` (a private in-memory database).
    pub fn is_in_memory(&self) -> bool {
        matches!(self.location, Location::SqliteMemory)
    }

    /// The database name of a server URI (still percent-encoded, as written).
    pub fn database_name(&self) -> Option<&str> {
        match &self.location {
            Location::Server(server) => server.database.as_deref(),
            _ => None,
        }
    }

    /// The same server URI with another database name (for `CREATE DATABASE` style tooling
    /// and per-test databases). Fails for SQLite URIs.
    pub fn with_database(&self, database: &str) -> Result<DatabaseUri> {
        match &self.location {
            Location::Server(server) => {
                if database.is_empty() || database.contains(['/', '?', '#', '@']) {
                    return Err(invalid(&self.to_string(), "bad database name"));
                }
                let mut server = server.clone();
                server.database = Some(database.to_owned());
                Ok(DatabaseUri {
                    scheme: self.scheme.clone(),
                    backend: self.backend,
                    location: Location::Server(server),
                })
            }
            _ => Err(invalid(
                &self.to_string(),
                "only server URIs have a database name",
            )),
        }
    }

    /// The string handed to the client library: a file path for SQLite, a `postgresql://` or
    /// `mysql://` URL (driver suffix removed) for servers. Contains the password.
    pub(crate) fn connection_string(&self) -> Zeroizing<String> {
        match &self.location {
            Location::SqliteMemory => Zeroizing::new(":memory:".to_owned()),
            Location::SqliteFile(path) => Zeroizing::new(path.to_string_lossy().into_owned()),
            Location::Server(server) => {
                let scheme = match self.backend {
                    Backend::Mysql => "mysql",
                    _ => "postgresql",
                };
                Zeroizing::new(server.render(scheme, false))
            }
        }
    }
}

impl ServerLocation {
    fn render(&self, scheme: &str, redact: bool) -> String {
        let mut out = format!("{scheme}://");
        if self.user.is_some() || self.password.is_some() {
            out.push_str(self.user.as_deref().unwrap_or_default());
            if let Some(password) = &self.password {
                out.push(':');
                out.push_str(if redact { "***" } else { password.as_str() });
            }
            out.push('@');
        }
        if let Some(host) = &self.host {
            out.push_str(host);
        }
        if let Some(port) = self.port {
            out.push_str(&format!(":{port}"));
        }
        if let Some(database) = &self.database {
            out.push('/');
            out.push_str(database);
        }
        if let Some(query) = &self.query {
            out.push('?');
            if redact {
                out.push_str(&redact_query(query));
            } else {
                out.push_str(query);
            }
        }
        out
    }
}

/// Masks the values of query parameters that carry passwords (`password=`, `sslpassword=`).
fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if name.to_ascii_lowercase().contains("password") => {
                format!("{name}=***")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn parse_sqlite(text: &str, rest: &str) -> Result<Location> {
    // Query parameters (SQLAlchemy driver options such as check_same_thread) do not apply.
    let rest = rest.split_once('?').map_or(rest, |(path, _)| path);
    if rest.is_empty() {
        return Ok(Location::SqliteMemory);
    }
    let Some(path) = rest.strip_prefix('/') else {
        return Err(invalid(
            text,
            "SQLite URIs have no host: use sqlite:///relative/path or sqlite:////absolute/path",
        ));
    };
    if path.is_empty() || path == ":memory:" {
        return Ok(Location::SqliteMemory);
    }
    Ok(Location::SqliteFile(PathBuf::from(path)))
}

fn parse_server(text: &str, rest: &str) -> Result<ServerLocation> {
    // As in SQLAlchemy: the user name ends at ':' and contains no '/', the password runs up to
    // the first '@'.
    let (user, password, rest) = match rest.split_once('@') {
        Some((userinfo, after)) if !userinfo.split(':').next().unwrap_or("").contains('/') => {
            match userinfo.split_once(':') {
                Some((user, password)) => (
                    Some(user.to_owned()),
                    Some(Zeroizing::new(password.to_owned())),
                    after,
                ),
                None => (Some(userinfo.to_owned()), None, after),
            }
        }
        _ => (None, None, rest),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query.to_owned())),
        None => (rest, None),
    };
    let (hostport, database) = match rest.split_once('/') {
        Some((hostport, database)) => (hostport, Some(database)),
        None => (rest, None),
    };
    let (host, port) = split_host_port(hostport).map_err(|reason| invalid(text, reason))?;
    Ok(ServerLocation {
        user: user.filter(|u| !u.is_empty() || password.is_some()),
        password,
        host: (!host.is_empty()).then(|| host.to_owned()),
        port,
        database: database.filter(|d| !d.is_empty()).map(str::to_owned),
        query: query.filter(|q| !q.is_empty()),
    })
}

fn split_host_port(hostport: &str) -> std::result::Result<(&str, Option<u16>), &'static str> {
    let (host, port) = if hostport.starts_with('[') {
        match hostport.find(']') {
            Some(end) => {
                let port = hostport[end + 1..].strip_prefix(':');
                (&hostport[..=end], port)
            }
            None => return Err("unterminated IPv6 address"),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    let port = match port {
        Some(port) if !port.is_empty() => {
            Some(port.parse::<u16>().map_err(|_| "port is not a number")?)
        }
        _ => None,
    };
    Ok((host, port))
}

fn invalid(text: &str, reason: &str) -> StoreError {
    StoreError::InvalidUri {
        uri: redact_unparsed(text),
        reason: reason.to_owned(),
    }
}

/// Best-effort masking for a URI we could not parse: hide everything between the first ':'
/// after the scheme and the last '@'.
fn redact_unparsed(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return if text.contains('@') {
            "<unparsable URI>".to_owned()
        } else {
            text.to_owned()
        };
    };
    match (rest.find(':'), rest.rfind('@')) {
        (Some(colon), Some(at)) if colon < at => {
            format!("{scheme}://{}:***{}", &rest[..colon], &rest[at..])
        }
        _ => text.to_owned(),
    }
}

impl FromStr for DatabaseUri {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self> {
        DatabaseUri::parse(text)
    }
}

impl fmt::Display for DatabaseUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Location::SqliteMemory => write!(f, "{}://", self.scheme),
            Location::SqliteFile(path) => write!(f, "{}:///{}", self.scheme, path.display()),
            Location::Server(server) => f.write_str(&server.render(&self.scheme, true)),
        }
    }
}

impl fmt::Debug for DatabaseUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUri")
            .field(&self.to_string())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_relative_absolute_and_memory() {
        let relative = DatabaseUri::parse("sqlite:///data/linotp.db").unwrap();
        assert_eq!(relative.backend(), Backend::Sqlite);
        assert_eq!(relative.sqlite_path(), Some(Path::new("data/linotp.db")));
        assert_eq!(relative.to_string(), "sqlite:///data/linotp.db");

        let absolute = DatabaseUri::parse("sqlite:////var/lib/linotp/linotp.db").unwrap();
        assert_eq!(
            absolute.sqlite_path(),
            Some(Path::new("/var/lib/linotp/linotp.db"))
        );
        assert_eq!(absolute.to_string(), "sqlite:////var/lib/linotp/linotp.db");
        assert_eq!(
            absolute.connection_string().as_str(),
            "/var/lib/linotp/linotp.db"
        );

        assert!(DatabaseUri::parse("sqlite://").unwrap().is_in_memory());
        assert!(
            DatabaseUri::parse("sqlite:///:memory:")
                .unwrap()
                .is_in_memory()
        );
        assert!(DatabaseUri::parse("sqlite://host/x.db").is_err());
    }

    #[test]
    fn sqlalchemy_driver_suffixes_map_to_the_engine() {
        for (text, backend, native) in [
            (
                "postgres://u@h/db",
                Backend::Postgres,
                "postgresql://u@h/db",
            ),
            (
                "postgresql://u@h/db",
                Backend::Postgres,
                "postgresql://u@h/db",
            ),
            (
                "postgresql+psycopg2://u@h/db",
                Backend::Postgres,
                "postgresql://u@h/db",
            ),
            ("mysql://u@h/db", Backend::Mysql, "mysql://u@h/db"),
            ("mysql+pymysql://u@h/db", Backend::Mysql, "mysql://u@h/db"),
            ("mysql+mysqldb://u@h/db", Backend::Mysql, "mysql://u@h/db"),
            (
                "mariadb+mariadbconnector://u@h/db",
                Backend::Mysql,
                "mysql://u@h/db",
            ),
        ] {
            let uri = DatabaseUri::parse(text).unwrap();
            assert_eq!(uri.backend(), backend, "{text}");
            assert_eq!(uri.connection_string().as_str(), native, "{text}");
        }
        assert!(DatabaseUri::parse("oracle://u@h/db").is_err());
        assert!(DatabaseUri::parse("linotp.db").is_err());
    }

    #[test]
    fn password_is_masked_in_display_debug_and_errors() {
        let uri = DatabaseUri::parse(
            "mysql+pymysql://linotp:Pa/ss:w0rd@db.example:3306/linotp?charset=utf8",
        )
        .unwrap();
        let shown = uri.to_string();
        assert_eq!(
            shown,
            "mysql+pymysql://linotp:***@db.example:3306/linotp?charset=utf8"
        );
        assert!(!format!("{uri:?}").contains("w0rd"));
        assert_eq!(
            uri.connection_string().as_str(),
            "mysql://linotp:Pa/ss:w0rd@db.example:3306/linotp?charset=utf8"
        );

        let with_query_password =
            DatabaseUri::parse("postgresql://h/db?user=x&password=topsecret").unwrap();
        assert!(!with_query_password.to_string().contains("topsecret"));

        let error = DatabaseUri::parse("postgresql://u:topsecret@h:notaport/db").unwrap_err();
        assert!(!error.to_string().contains("topsecret"), "{error}");
    }

    #[test]
    fn host_port_and_database_are_split() {
        let uri = DatabaseUri::parse("postgresql://postgres@127.0.0.1:5432/postgres").unwrap();
        assert_eq!(uri.database_name(), Some("postgres"));
        let other = uri.with_database("linotp_test_1").unwrap();
        assert_eq!(
            other.connection_string().as_str(),
            "postgresql://postgres@127.0.0.1:5432/linotp_test_1"
        );
        let ipv6 = DatabaseUri::parse("postgresql://u:p@[::1]:5433/db").unwrap();
        assert_eq!(
            ipv6.connection_string().as_str(),
            "postgresql://u:p@[::1]:5433/db"
        );
        assert!(
            DatabaseUri::parse("sqlite:///x.db")
                .unwrap()
                .with_database("y")
                .is_err()
        );
    }
}
