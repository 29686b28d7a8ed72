//! Secret values: zeroized on drop, masked wherever they would be shown.

use std::fmt;

use zeroize::Zeroizing;

/// What a masked secret is shown as.
pub const MASK: &str = "***";

/// A secret string (e.g. `ADMIN_PASSWORD`). `Debug`, `Display` and `Serialize` show `***`
/// (or nothing when empty); the memory is zeroized when dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: String) -> Self {
        SecretString(Zeroizing::new(secret))
    }

    /// The secret itself, for the code that needs it (never for logs).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether no secret was configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn masked(&self) -> &'static str {
        if self.is_empty() { "" } else { MASK }
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretString({:?})", self.masked())
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.masked())
    }
}

impl serde::Serialize for SecretString {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.masked())
    }
}

/// A database URI in SQLAlchemy spelling (`postgresql://user:password@host/db`,
/// `sqlite:////abs/path.db`). It may hold a password, so it is zeroized on drop and `Debug`,
/// `Display` and `Serialize` show it with the password masked.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUri(Zeroizing<String>);

impl DatabaseUri {
    /// Wraps a URI, reading LinOTP's `postgres://` as `postgresql://` like LinOTP does.
    pub fn new(uri: String) -> Self {
        let uri = Zeroizing::new(uri);
        match uri.strip_prefix("postgres://") {
            Some(rest) => DatabaseUri(Zeroizing::new(format!("postgresql://{rest}"))),
            None => DatabaseUri(uri),
        }
    }

    /// The full URI, password included, for opening the database.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URI with its password replaced by `***`, for logs and `config show`.
    pub fn redacted(&self) -> String {
        redact_uri(&self.0)
    }
}

impl fmt::Debug for DatabaseUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUri({:?})", self.redacted())
    }
}

impl fmt::Display for DatabaseUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl serde::Serialize for DatabaseUri {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

/// Masks the password of a URI: `user:password@host` becomes `user:***@host`, and query
/// parameters named `password`/`passwd` are masked too.
///
/// SQLAlchemy reads the password up to an `@`, and unescaped passwords may contain `/`, `:`
/// or `@`; the user info is therefore taken to end at the *last* `@`, which may mask more than
/// the password but never less.
pub(crate) fn redact_uri(uri: &str) -> String {
    let Some(scheme_end) = uri.find("://") else {
        return uri.to_owned();
    };
    let (scheme, rest) = uri.split_at(scheme_end + 3);
    let mut redacted = String::with_capacity(uri.len());
    redacted.push_str(scheme);
    let after_credentials = match rest.rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _password)) if !user.contains('/') => {
                redacted.push_str(user);
                redacted.push(':');
                redacted.push_str(MASK);
                redacted.push('@');
                &rest[at + 1..]
            }
            _ => rest,
        },
        None => rest,
    };
    match after_credentials.split_once('?') {
        Some((location, query)) => {
            redacted.push_str(location);
            redacted.push('?');
            let parameters: Vec<String> = query
                .split('&')
                .map(|parameter| match parameter.split_once('=') {
                    Some((name, _)) if is_secret_key(name) => format!("{name}={MASK}"),
                    _ => parameter.to_owned(),
                })
                .collect();
            redacted.push_str(&parameters.join("&"));
        }
        None => redacted.push_str(after_credentials),
    }
    redacted
}

/// Keys whose values are secrets in configuration dicts and URI queries.
pub(crate) fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password")
        || key.contains("passwd")
        || key.contains("secret")
        || key == "pin"
        || key.ends_with("_pin")
}

/// A copy of `value` with the values of secret keys (at any depth) replaced by `***`.
pub(crate) fn mask_json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        J::Object(object) => J::Object(
            object
                .iter()
                .map(|(key, inner)| {
                    let masked = if is_secret_key(key) && !inner.is_null() {
                        J::String(MASK.to_owned())
                    } else {
                        mask_json(inner)
                    };
                    (key.clone(), masked)
                })
                .collect(),
        ),
        J::Array(items) => J::Array(items.iter().map(mask_json).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_passwords_are_masked() {
        let cases = [
            (
                "postgresql://linotp:s3cret@db/linotp",
                "postgresql://linotp:***@db/linotp",
            ),
            (
                "mysql+pymysql://u:p@ss:w/rd@host:3306/db",
                "mysql+pymysql://u:***@host:3306/db",
            ),
            (
                "postgresql://u:pw@h/db?sslmode=require&password=x",
                "postgresql://u:***@h/db?sslmode=require&password=***",
            ),
            ("postgresql://justuser@h/db", "postgresql://justuser@h/db"),
            (
                "sqlite:////var/lib/linotp/linotp.db",
                "sqlite:////var/lib/linotp/linotp.db",
            ),
            ("sqlite:///rel.db?mode=ro", "sqlite:///rel.db?mode=ro"),
            ("SHARED", "SHARED"),
        ];
        for (uri, expected) in cases {
            assert_eq!(redact_uri(uri), expected, "{uri}");
        }
    }

    #[test]
    fn postgres_scheme_is_rewritten_like_linotp() {
        let uri = DatabaseUri::new("postgres://u:pw@h/db".into());
        assert_eq!(uri.expose(), "postgresql://u:pw@h/db");
        assert_eq!(format!("{uri}"), "postgresql://u:***@h/db");
        assert_eq!(
            format!("{uri:?}"),
            "DatabaseUri(\"postgresql://u:***@h/db\")"
        );
    }

    #[test]
    fn secret_strings_never_show() {
        let secret = SecretString::new("hunter2".into());
        assert_eq!(secret.expose(), "hunter2");
        assert!(!format!("{secret:?}{secret}").contains("hunter2"));
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"***\"");
        assert_eq!(SecretString::default().to_string(), "");
    }

    #[test]
    fn nested_secret_keys_are_masked() {
        let config = serde_json::json!({
            "library": "libsofthsm2.so",
            "password": "1234",
            "inner": [{"smtp_password": "x", "host": "mail"}],
            "configHandle": null,
            "tokenLabel": "t",
        });
        assert_eq!(
            mask_json(&config),
            serde_json::json!({
                "library": "libsofthsm2.so",
                "password": "***",
                "inner": [{"smtp_password": "***", "host": "mail"}],
                "configHandle": null,
                "tokenLabel": "t",
            })
        );
    }
}
