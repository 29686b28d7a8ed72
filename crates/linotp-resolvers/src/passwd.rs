//! `PasswdIdResolver`: users from a passwd-style file
//! (`login:crypt:uid:gid:gecos:home:shell`).

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use serde_json::Value;

use crate::config::PasswdSettings;
use crate::error::{ResolverError, Result};
use crate::info::{UserInfo, UserSearch};
use crate::resolver::{ConnectionTest, UserIdResolver};
use crate::spec::{ResolverClass, ResolverSpec};

/// One line of the file.
#[derive(Clone)]
struct PasswdUser {
    login: String,
    crypt: String,
    uid: String,
    gecos: String,
    givenname: String,
    surname: String,
    office_phone: String,
    home_phone: String,
    email: String,
}

#[derive(Default)]
struct Loaded {
    modified: Option<SystemTime>,
    users: Vec<PasswdUser>,
}

/// A passwd-file resolver. The file is read when the resolver is built and read again when
/// its modification time changes, so edits show without a restart.
pub struct PasswdResolver {
    spec: ResolverSpec,
    file: PathBuf,
    loaded: RwLock<Loaded>,
}

impl std::fmt::Debug for PasswdResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswdResolver")
            .field("spec", &self.spec)
            .field("file", &self.file)
            .finish()
    }
}

impl PasswdResolver {
    /// Reads the file.
    pub fn new(settings: &PasswdSettings) -> Result<PasswdResolver> {
        let resolver = PasswdResolver {
            spec: ResolverSpec::new(ResolverClass::Passwd, &settings.name),
            file: settings.file.clone(),
            loaded: RwLock::new(Loaded::default()),
        };
        resolver.refresh()?;
        Ok(resolver)
    }

    /// The file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    fn refresh(&self) -> Result<()> {
        let modified = std::fs::metadata(&self.file)
            .and_then(|meta| meta.modified())
            .map_err(|source| self.file_error(source))?;
        if let Ok(loaded) = self.loaded.read()
            && loaded.modified == Some(modified)
        {
            return Ok(());
        }
        let bytes = std::fs::read(&self.file).map_err(|source| self.file_error(source))?;
        let users = parse_passwd(&decode(&bytes));
        tracing::debug!(resolver = %self.spec, users = users.len(), "passwd file loaded");
        let mut loaded = self
            .loaded
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *loaded = Loaded {
            modified: Some(modified),
            users,
        };
        Ok(())
    }

    fn file_error(&self, source: std::io::Error) -> ResolverError {
        ResolverError::File {
            path: self.file.display().to_string(),
            source,
        }
    }

    fn with_users<T>(&self, body: impl FnOnce(&[PasswdUser]) -> T) -> Result<T> {
        self.refresh()?;
        let loaded = self
            .loaded
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(body(&loaded.users))
    }
}

/// UTF-8, else Latin-1 (LinOTP's `str2unicode` fallback).
fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|byte| char::from(*byte)).collect(),
    }
}

fn parse_passwd(text: &str) -> Vec<PasswdUser> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let fields: Vec<&str> = line.splitn(7, ':').collect();
            if fields.len() < 5 {
                tracing::debug!("skipping short passwd line");
                return None;
            }
            let gecos = fields[4].to_owned();
            let parts: Vec<&str> = gecos.split(',').collect();
            let (givenname, surname) = match parts[0].split_once(' ') {
                Some((given, sur)) => (given.to_owned(), sur.to_owned()),
                None => (parts[0].to_owned(), String::new()),
            };
            let (office_phone, home_phone) = if parts.len() >= 4 {
                (parts[2].to_owned(), parts[3].to_owned())
            } else {
                (String::new(), String::new())
            };
            let email = parts
                .iter()
                .skip(4)
                .rfind(|field| looks_like_email(field))
                .map(|field| (*field).to_owned())
                .unwrap_or_default();
            Some(PasswdUser {
                login: fields[0].to_owned(),
                crypt: fields[1].to_owned(),
                uid: fields[2].to_owned(),
                gecos,
                givenname,
                surname,
                office_phone,
                home_phone,
                email,
            })
        })
        .collect()
}

/// LinOTP's "very basic e-mail regex" `.+@.+\..+`.
fn looks_like_email(text: &str) -> bool {
    text.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain
                .char_indices()
                .any(|(index, c)| c == '.' && index > 0 && index + 1 < domain.len())
    })
}

impl PasswdUser {
    /// LinOTP's info dict order: username, userid, description, email, givenname, surname,
    /// phone (home), mobile (office).
    fn info(&self) -> UserInfo {
        let text = |value: &str| Value::from(value);
        UserInfo::from_fields([
            ("username".to_owned(), text(&self.login)),
            ("userid".to_owned(), text(&self.uid)),
            ("description".to_owned(), text(&self.gecos)),
            ("email".to_owned(), text(&self.email)),
            ("givenname".to_owned(), text(&self.givenname)),
            ("surname".to_owned(), text(&self.surname)),
            ("phone".to_owned(), text(&self.home_phone)),
            ("mobile".to_owned(), text(&self.office_phone)),
        ])
    }

    fn matches(&self, search: &UserSearch) -> bool {
        let field_matches = |field: &str, pattern: &str| -> Option<bool> {
            Some(match field {
                "username" => string_match(&self.login, pattern),
                "userid" => uid_match(&self.uid, pattern),
                // LinOTP checks the gecos field for both.
                "description" | "email" => string_match(&self.gecos, pattern),
                _ => return None,
            })
        };
        if let Some(term) = search.search_term() {
            let any = ["username", "userid", "description", "email"]
                .iter()
                .any(|field| field_matches(field, term) == Some(true));
            if !any {
                return false;
            }
        }
        search
            .field_patterns()
            .all(|(field, pattern)| field_matches(field, pattern).unwrap_or(true))
    }
}

/// LinOTP's passwd `stringMatch`: case-insensitive, `*` only at the start and/or end.
fn string_match(value: &str, pattern: &str) -> bool {
    let value = value.to_lowercase();
    let mut pattern = pattern.to_lowercase();
    let ends_with = pattern.starts_with('*');
    if ends_with {
        pattern.remove(0);
    }
    let starts_with = pattern.ends_with('*');
    if starts_with {
        pattern.pop();
    }
    match (ends_with, starts_with) {
        (true, true) => value.contains(&pattern),
        (true, false) => value.ends_with(&pattern),
        (false, true) => value.starts_with(&pattern),
        (false, false) => value == pattern,
    }
}

/// LinOTP's passwd `checkUserId`: `=N`, `>N`, `>=N`, `<N`, `<=N`, `between A,B` on the
/// numeric uid (LinOTP treats `<=` like `<`; kept).
fn uid_match(uid: &str, pattern: &str) -> bool {
    let Ok(uid) = uid.trim().parse::<i64>() else {
        return false;
    };
    let pattern = pattern.trim();
    if let Some(range) = pattern.strip_prefix("between") {
        let Some((low, high)) = range.split_once(',') else {
            return false;
        };
        let (Ok(low), Ok(high)) = (low.trim().parse::<i64>(), high.trim().parse::<i64>()) else {
            return false;
        };
        let (low, high) = if high < low { (high, low) } else { (low, high) };
        return (low..=high).contains(&uid);
    }
    for (operator, test) in [
        (">=", (|a: i64, b: i64| a >= b) as fn(i64, i64) -> bool),
        ("<=", |a, b| a < b),
        (">", |a, b| a > b),
        ("<", |a, b| a < b),
        ("=", |a, b| a == b),
    ] {
        if let Some(value) = pattern.strip_prefix(operator) {
            return value
                .trim()
                .parse::<i64>()
                .is_ok_and(|value| test(uid, value));
        }
    }
    false
}

impl UserIdResolver for PasswdResolver {
    fn spec(&self) -> &ResolverSpec {
        &self.spec
    }

    fn user_id(&self, login: &str) -> Result<Option<String>> {
        self.with_users(|users| {
            users
                .iter()
                .rev()
                .find(|user| user.login == login)
                .map(|user| user.uid.clone())
                .filter(|uid| !uid.is_empty())
        })
    }

    fn user_info(&self, user_id: &str) -> Result<Option<UserInfo>> {
        self.with_users(|users| {
            users
                .iter()
                .rev()
                .find(|user| user.uid == user_id)
                .map(PasswdUser::info)
        })
    }

    fn search(&self, search: &UserSearch) -> Result<Vec<UserInfo>> {
        self.with_users(|users| {
            // One entry per uid (the last line wins), in file order, as LinOTP's dict does.
            let mut seen = std::collections::HashSet::new();
            let mut unique: Vec<&PasswdUser> = users
                .iter()
                .rev()
                .filter(|user| seen.insert(user.uid.as_str()))
                .collect();
            unique.reverse();
            unique
                .into_iter()
                .filter(|user| user.matches(search))
                .map(PasswdUser::info)
                .collect()
        })
    }

    fn check_password(&self, user_id: &str, password: &str) -> Result<bool> {
        if password.is_empty() {
            return Ok(false);
        }
        self.with_users(|users| {
            let Some(user) = users.iter().rev().find(|user| user.uid == user_id) else {
                return false;
            };
            if user.crypt == "x" || user.crypt == "*" {
                tracing::warn!(resolver = %self.spec, "shadow passwords are not supported");
                return false;
            }
            linotp_crypto::verify_password(password, &user.crypt)
        })
    }

    fn test_connection(&self) -> ConnectionTest {
        ConnectionTest::Unsupported(
            "type object 'IdResolver' has no attribute 'testconnection'".to_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gecos_fields_fill_names_phones_and_email() {
        let users = parse_passwd(
            "# comment\n\
             alice:x:1001:1001:Alice Smith,Room 1,+49111,+49222,alice@example.com:/home/a:/bin/sh\n\
             \n\
             bob:*:1002:1002:Bob:/home/b:/bin/sh\n",
        );
        assert_eq!(users.len(), 2);
        let alice = users[0].info();
        assert_eq!(alice.text("givenname").as_deref(), Some("Alice"));
        assert_eq!(alice.text("surname").as_deref(), Some("Smith"));
        assert_eq!(alice.text("mobile").as_deref(), Some("+49111"));
        assert_eq!(alice.text("phone").as_deref(), Some("+49222"));
        assert_eq!(alice.text("email").as_deref(), Some("alice@example.com"));
        let bob = users[1].info();
        assert_eq!(bob.text("surname").as_deref(), Some(""));
        assert_eq!(bob.text("email").as_deref(), Some(""));
    }

    #[test]
    fn string_and_uid_patterns_follow_linotp() {
        assert!(string_match("Alice", "al*"));
        assert!(string_match("Alice", "*ICE"));
        assert!(string_match("Alice", "*lic*"));
        assert!(!string_match("Alice", "a.ice"));
        assert!(uid_match("1005", ">=1005"));
        assert!(!uid_match("1005", ">1005"));
        assert!(uid_match("1005", "between 1006, 1000"));
        assert!(uid_match("1005", "=1005"));
        assert!(!uid_match("1005", "1005"));
        assert!(!uid_match("root", ">1"));
    }
}
