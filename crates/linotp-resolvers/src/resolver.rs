//! The resolver interface.

use std::fmt;

use serde_json::{Value, json};

use crate::error::Result;
use crate::info::{UserInfo, UserSearch};
use crate::spec::ResolverSpec;

/// A user store: finds users by login, tells about them, lists them, checks their passwords.
///
/// The methods are **synchronous** and may block for up to the resolver's timeout; async
/// callers run them in `tokio::task::spawn_blocking`, as they do with the database. This is
/// the architecture's "async edge, sync core": the SQL resolvers are diesel (sync) anyway, the
/// passwd resolver reads a file, and the LDAP resolver drives `ldap3` on a small runtime of
/// its own and waits for the answer, so it is safe to call from any thread, needs no runtime
/// from the caller, and every wait is bounded by the resolver's `TIMEOUT`.
///
/// `Ok(None)` / `Ok(false)` mean "no such user" / "wrong password"; `Err` means the store
/// could not answer ([`crate::ResolverError::is_unavailable`] for unreachable or timed out).
pub trait UserIdResolver: Send + Sync + fmt::Debug {
    /// The spec this resolver answers for.
    fn spec(&self) -> &ResolverSpec;

    /// The user id of a login (LinOTP's `getUserId`); `None` when unknown.
    fn user_id(&self, login: &str) -> Result<Option<String>>;

    /// The attributes of a user id (`getUserInfo`); `None` when unknown.
    fn user_info(&self, user_id: &str) -> Result<Option<UserInfo>>;

    /// The login of a user id (`getUsername`); `None` when unknown.
    fn username(&self, user_id: &str) -> Result<Option<String>> {
        Ok(self.user_info(user_id)?.and_then(|info| info.username()))
    }

    /// Users matching `search` (`getUserList`), at most the resolver's size limit.
    fn search(&self, search: &UserSearch) -> Result<Vec<UserInfo>>;

    /// Whether `password` is the password of user `user_id` (`checkPass`). Unknown users and
    /// empty passwords never match.
    fn check_password(&self, user_id: &str, password: &str) -> Result<bool>;

    /// `/admin/testresolver`: tries the configuration and reports what LinOTP reports.
    fn test_connection(&self) -> ConnectionTest;
}

/// The result of [`UserIdResolver::test_connection`], in each class's own shape (LinOTP's
/// `testconnection` differs per class). [`ConnectionTest::to_json`] gives `/admin/testresolver`'s
/// `value`.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionTest {
    /// LDAP bound and searched: `{"result": "success", "desc": [{"userid": "<dn>"}, …]}`
    /// (`"success SIZELIMIT_EXCEEDED"` when the size limit cut the list).
    LdapUsers {
        /// The DNs found with `LDAPSEARCHFILTER`.
        dns: Vec<String>,
        /// The server's size limit was hit.
        size_limit_exceeded: bool,
    },
    /// LDAP failed: `{"result": "error", "desc": "<message>"}`.
    LdapError(String),
    /// SQL: `{"result": true, "desc": {"rows": N, "err_string": ""}}`, or on failure
    /// `{"result": false, "desc": {"err_string": "...", "rows": -1}}`.
    Sql {
        /// Users counted in the table with `Where` (-1 on failure).
        rows: i64,
        /// The failure, empty on success.
        error: String,
    },
    /// The class has no connection test (LinOTP's passwd resolver): an error reply with this text.
    Unsupported(String),
}

impl ConnectionTest {
    /// Whether the test succeeded.
    pub fn is_success(&self) -> bool {
        match self {
            ConnectionTest::LdapUsers { .. } => true,
            ConnectionTest::Sql { error, .. } => error.is_empty(),
            ConnectionTest::LdapError(_) | ConnectionTest::Unsupported(_) => false,
        }
    }

    /// The `value` of `/admin/testresolver`'s reply (`None` for [`ConnectionTest::Unsupported`],
    /// which LinOTP answers with an error).
    pub fn to_json(&self) -> Option<Value> {
        match self {
            ConnectionTest::LdapUsers {
                dns,
                size_limit_exceeded,
            } => {
                let result = if *size_limit_exceeded {
                    "success SIZELIMIT_EXCEEDED"
                } else {
                    "success"
                };
                let desc: Vec<Value> = dns.iter().map(|dn| json!({ "userid": dn })).collect();
                Some(json!({ "result": result, "desc": desc }))
            }
            ConnectionTest::LdapError(message) => {
                Some(json!({ "result": "error", "desc": message }))
            }
            ConnectionTest::Sql { rows, error } if error.is_empty() => {
                Some(json!({ "result": true, "desc": { "rows": rows, "err_string": "" } }))
            }
            ConnectionTest::Sql { rows, error } => {
                Some(json!({ "result": false, "desc": { "err_string": error, "rows": rows } }))
            }
            ConnectionTest::Unsupported(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_tests_render_linotp_shapes() {
        let ldap = ConnectionTest::LdapUsers {
            dns: vec!["uid=a,dc=x".into()],
            size_limit_exceeded: false,
        };
        assert_eq!(
            ldap.to_json(),
            Some(json!({"result": "success", "desc": [{"userid": "uid=a,dc=x"}]}))
        );
        let sql = ConnectionTest::Sql {
            rows: -1,
            error: "no such table".into(),
        };
        assert!(!sql.is_success());
        assert_eq!(
            sql.to_json(),
            Some(json!({"result": false, "desc": {"err_string": "no such table", "rows": -1}}))
        );
        assert_eq!(ConnectionTest::Unsupported("x".into()).to_json(), None);
    }
}
