//! Users and realms as LinOTP's request handlers see them (`getUserFromParam`).
//!
//! A request names a user with `user` (and optionally `realm`); [`requested_user`] turns that
//! into a login and a lower-case realm the way LinOTP does: an explicit `realm` is taken as it
//! is, otherwise, with `splitAtSign` (default on), `alice@realm` is split at the last `@` and
//! `DOM\alice` at the first `\`; a login without realm gets the default realm.
//!
//! The realm's resolvers (config `useridresolver.group.<realm>`, in order) are asked for the
//! login; the first resolver that knows it wins ([`resolve`]). The resolvers themselves are
//! `linotp-resolvers`' (LDAP / Active Directory, SQL on any database, passwd files; imported
//! users and local administrators are `readonly` SQL resolvers on LinOTP's own tables). They are
//! built from the system configuration by a [`ResolverRegistry`] kept next to the config cache
//! ([`registry`]), so connection pools and lookup caches live as long as a resolver's
//! definition does not change. [`open_resolver`] gives one resolver with errors in this crate's
//! terms ([`Resolver`]).
//!
//! A directory that cannot be reached (LDAP down, timeout) is LinOTP's `ResolverNotAvailable`:
//! its users count as unknown for the request, and their passwords as wrong, so `/validate`
//! answers `value: false` instead of hanging or failing.
//!
//! ```
//! use linotp_api::params::Params;
//! use linotp_api::sysconfig::SystemConfig;
//! use linotp_api::users::{ResolverSpec, requested_user};
//!
//! let config = SystemConfig::default();
//! let params = Params::from_pairs([("user", "alice@FixRealm")]);
//! let user = requested_user(&params, &config);
//! assert_eq!((user.login.as_str(), user.realm.as_str()), ("alice", "fixrealm"));
//!
//! let spec = ResolverSpec::parse("useridresolver.SQLIdResolver.IdResolver.fixres").unwrap();
//! assert_eq!(spec.class().class_name(), "SQLIdResolver");
//! assert_eq!(spec.name(), "fixres");
//! assert_eq!(spec.short(), "SQLIdResolver.IdResolver.fixres");
//! ```

use std::time::Duration;

use linotp_resolvers::{
    CachedResolver, ResolverEnvironment, ResolverError, ResolverRegistry, UserIdResolver,
    UserSearch,
};
use linotp_store::tokens;
use linotp_store::{AnyConnection, PoolOptions, Store};
use serde_json::{Map, Value};

use crate::app::App;
use crate::error::{ApiError, Result};
use crate::params::Params;
use crate::sysconfig::SystemConfig;

pub use linotp_resolvers::ResolverSpec;
/// The user a request names, before any resolver was asked: login and lower-case realm.
/// Both are empty when the request names no user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestedUser {
    /// The login name (whitespace stripped when it was split).
    pub login: String,
    /// The realm, lower-case; the default realm when the request gave none.
    pub realm: String,
    /// `resConf`: restricts the lookup to the resolver with this name (text before `(`).
    pub resolver_name: Option<String>,
    /// Whether the request carried a `realm` parameter (then `login@x` is never re-split).
    pub realm_given: bool,
}

impl RequestedUser {
    /// True when the request named no user.
    pub fn is_empty(&self) -> bool {
        self.login.is_empty()
    }
}

/// LinOTP's `splitUser`: `a@b` at the last `@` → (`a`, `b`); else `DOM\a` at the first `\`
/// → (`a`, `DOM`); else (`login`, ""). The input is trimmed first.
pub fn split_login(login: &str) -> (String, String) {
    let login = login.trim();
    if let Some((user, realm)) = login.rsplit_once('@') {
        (user.to_owned(), realm.to_owned())
    } else if let Some((domain, user)) = login.split_once('\\') {
        (user.to_owned(), domain.to_owned())
    } else {
        (login.to_owned(), String::new())
    }
}

/// The user named by `user` / `realm` / `resConf` of a request (LinOTP's `getUserFromParam`
/// before the resolver lookup).
pub fn requested_user(params: &Params, config: &SystemConfig) -> RequestedUser {
    let login = params.optional("user").unwrap_or_default().into_owned();
    let realm_param = params.optional("realm").unwrap_or_default().into_owned();
    let resolver_name = params
        .optional("resConf")
        .map(|value| value.split('(').next().unwrap_or("").trim().to_owned())
        .filter(|name| !name.is_empty());
    let mut user = naming(&login, &realm_param, config);
    user.resolver_name = resolver_name;
    user
}

/// [`requested_user`] from a login and a realm given separately (empty realm: none given).
pub fn naming(login: &str, realm: &str, config: &SystemConfig) -> RequestedUser {
    if !realm.is_empty() {
        return RequestedUser {
            login: login.to_owned(),
            realm: realm.to_lowercase(),
            resolver_name: None,
            realm_given: true,
        };
    }
    let (login, mut realm) = if config.split_at_sign() {
        split_login(login)
    } else {
        (login.to_owned(), String::new())
    };
    if !login.is_empty() && realm.is_empty() {
        realm = config.default_realm().unwrap_or_default();
    }
    RequestedUser {
        login,
        realm: realm.to_lowercase(),
        resolver_name: None,
        realm_given: false,
    }
}

/// Whether a realm exists (it has a resolver list in the configuration).
pub fn realm_exists(config: &SystemConfig, realm: &str) -> bool {
    config
        .get(&format!("useridresolver.group.{}", realm.to_lowercase()))
        .is_some()
}

/// What a resolver tells about one user: the attributes of its mapping in the resolver's
/// order (`userid`, `username`, `email`, …), never the password.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserInfo {
    /// `(name, value as stored, value as text)`; the text of `null` is `None`.
    fields: Vec<(String, Value, Option<String>)>,
}

impl UserInfo {
    /// Text attributes in order.
    pub fn from_fields(fields: Vec<(String, String)>) -> UserInfo {
        UserInfo {
            fields: fields
                .into_iter()
                .map(|(name, text)| (name, Value::from(text.as_str()), Some(text)))
                .collect(),
        }
    }

    fn from_resolver(info: &linotp_resolvers::UserInfo) -> UserInfo {
        UserInfo {
            fields: info
                .iter()
                .map(|(name, value)| (name.to_owned(), value.clone(), info.text(name)))
                .collect(),
        }
    }

    /// One attribute as text (numbers written out); `None` when absent or `null`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(name, _, _)| name == key)
            .and_then(|(_, _, text)| text.as_deref())
    }

    /// All attributes in order, as text (`null` as "").
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields
            .iter()
            .map(|(name, _, text)| (name.as_str(), text.as_deref().unwrap_or_default()))
    }

    /// The attributes as a JSON object in order, values as the resolver gave them (what
    /// `/admin/getTokenOwner` answers).
    pub fn to_json(&self) -> Map<String, Value> {
        self.fields
            .iter()
            .map(|(name, value, _)| (name.clone(), value.clone()))
            .collect()
    }
}

/// Connections of the pool readonly SQL resolvers (imported users, local administrators) use
/// on LinOTP's own database. A pool of its own: a request holding one of the main pool's
/// connections while it asks such a resolver can never wait for itself.
const OWN_DATABASE_POOL: PoolOptions = PoolOptions {
    max_size: 8,
    min_idle: 1,
    connection_timeout: Duration::from_secs(10),
    sqlite_busy_timeout: Duration::from_secs(10),
};

/// The resolvers of this application, built on demand from the system configuration and kept
/// while their definitions stay the same.
pub fn registry(app: &App) -> &ResolverRegistry {
    app.config
        .resolvers
        .get_or_init(|| ResolverRegistry::new(environment(app)))
}

fn environment(app: &App) -> ResolverEnvironment {
    let store = &app.store;
    // Every connection to an in-memory SQLite database is a database of its own, so only the
    // main pool sees the tables there.
    let own_database = if store.uri().is_in_memory() {
        store.clone()
    } else {
        Store::open(store.uri(), OWN_DATABASE_POOL).unwrap_or_else(|error| {
            tracing::warn!(%error, "no separate pool for readonly SQL resolvers; sharing the main one");
            store.clone()
        })
    };
    ResolverEnvironment {
        own_database: Some(own_database),
        ldap_ca_file: app.options.tls_ca_certificates_file.clone(),
        ..ResolverEnvironment::default()
    }
}

/// The config lookup resolvers are built from: full keys, `encrypted_data` values decrypted.
fn config_lookup<'a>(
    app: &'a App,
    config: &'a SystemConfig,
) -> impl Fn(&str) -> Option<String> + 'a {
    move |key: &str| {
        let entry = config.entry(key)?;
        if !entry.is_encrypted() {
            return Some(entry.value.clone());
        }
        match config.decrypted(key, app.security.as_ref()) {
            Ok(secret) => secret.map(|secret| secret.expose().to_owned()),
            Err(error) => {
                tracing::warn!(key, %error, "resolver setting cannot be decrypted");
                None
            }
        }
    }
}

/// A resolver error in this crate's terms.
fn api_error(error: ResolverError) -> ApiError {
    match error {
        ResolverError::Store(cause) => ApiError::Store(cause),
        ResolverError::Definition { message, code } => ApiError::Coded {
            id: i64::from(code),
            description: message,
        },
        other => ApiError::Internal(other.to_string()),
    }
}

/// One resolver of the configuration, answering in this crate's error terms. An unreachable
/// directory answers "unknown user" / "wrong password" (LinOTP's `ResolverNotAvailable`).
#[derive(Debug, Clone)]
pub struct Resolver {
    inner: CachedResolver,
}

impl Resolver {
    /// The spec this resolver answers for.
    pub fn spec(&self) -> &ResolverSpec {
        self.inner.spec()
    }

    /// The user id of a login, if the directory knows it.
    pub fn user_id(&self, login: &str) -> Result<Option<String>> {
        unavailable_as(self.inner.user_id(login), None, self.spec())
    }

    /// The login of a user id.
    pub fn login_of(&self, user_id: &str) -> Result<Option<String>> {
        unavailable_as(self.inner.username(user_id), None, self.spec())
    }

    /// The attributes of a user id (`None`: unknown id).
    pub fn user_info(&self, user_id: &str) -> Result<Option<UserInfo>> {
        let info = unavailable_as(self.inner.user_info(user_id), None, self.spec())?;
        Ok(info.as_ref().map(UserInfo::from_resolver))
    }

    /// Whether `password` is the user's directory password. Unknown users, empty passwords
    /// and unreachable directories never match.
    pub fn check_password(&self, user_id: &str, password: &str) -> Result<bool> {
        unavailable_as(
            self.inner.check_password(user_id, password),
            false,
            self.spec(),
        )
    }

    /// Users matching every `(attribute, pattern)` of `search` (LinOTP's `getUserList`: `*`
    /// any text, `.` one character, `<`, `<=`, `>`, `>=` compare; `searchTerm` matches any
    /// attribute). An empty search lists everybody, up to the resolver's size limit.
    pub fn list_users(&self, search: &[(String, String)]) -> Result<Vec<UserInfo>> {
        let search = UserSearch::new(search.iter().cloned());
        let found = self.inner.search(&search).map_err(api_error)?;
        Ok(found.iter().map(UserInfo::from_resolver).collect())
    }
}

fn unavailable_as<T>(
    answer: linotp_resolvers::Result<T>,
    fallback: T,
    spec: &ResolverSpec,
) -> Result<T> {
    match answer {
        Ok(value) => Ok(value),
        Err(error) if error.is_unavailable() => {
            tracing::warn!(resolver = %spec, %error, "resolver not available");
            Ok(fallback)
        }
        Err(error) => Err(api_error(error)),
    }
}

/// The resolver a spec names, built from the system configuration (and kept for later
/// requests by the [`registry`]). `None` when no such resolver is defined or its definition is
/// unusable (logged).
pub fn open_resolver(app: &App, spec: &ResolverSpec, config: &SystemConfig) -> Option<Resolver> {
    let lookup = config_lookup(app, config);
    match registry(app).resolver(spec, &lookup) {
        Ok(Some(inner)) => Some(Resolver { inner }),
        Ok(None) => {
            tracing::debug!(resolver = %spec, "resolver is not defined");
            None
        }
        Err(error) => {
            tracing::warn!(resolver = %spec, %error, "resolver definition is unusable");
            None
        }
    }
}

/// The users matching `search` in each resolver of `specs` (spec texts as a realm lists
/// them), resolver by resolver. As LinOTP's user iterator: a resolver that cannot be opened
/// is passed over, one that fails is logged and the next one asked.
pub(crate) fn users_of_resolvers(
    app: &App,
    config: &SystemConfig,
    specs: impl IntoIterator<Item = String>,
    search: &[(String, String)],
) -> Vec<(String, ResolverSpec, Vec<UserInfo>)> {
    let mut found = Vec::new();
    for spec_text in specs {
        let Some(spec) = ResolverSpec::parse(&spec_text) else {
            continue;
        };
        let Some(resolver) = open_resolver(app, &spec, config) else {
            continue;
        };
        match resolver.list_users(search) {
            Ok(users) => found.push((spec_text, spec, users)),
            Err(error) => tracing::warn!(resolver = %spec, %error, "user listing: resolver failed"),
        }
    }
    found
}

/// A user found in a realm's resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    /// The login name as the request gave it.
    pub login: String,
    /// The realm (lower-case).
    pub realm: String,
    /// The id in the resolver (`LinOtpUserid` of the user's tokens).
    pub user_id: String,
    /// `useridresolver.<Class>.IdResolver.<name>` (`LinOtpIdResClass`).
    pub resolver_spec: String,
    /// `<Class>.IdResolver.<name>` (`LinOtpIdResolver`).
    pub resolver_class_short: String,
}

impl ResolvedUser {
    /// The name of the resolver that knows the user (`fixres`).
    pub fn resolver_name(&self) -> Option<String> {
        ResolverSpec::parse(&self.resolver_spec).map(|spec| spec.name().to_owned())
    }
}

/// Finds `login` in `realm`: the first resolver of the realm (in the realm's order) that
/// knows the login. `None` when the realm does not exist or no resolver knows the user.
pub fn resolve(
    app: &App,
    conn: &mut AnyConnection,
    login: &str,
    realm: &str,
) -> Result<Option<ResolvedUser>> {
    let config = app.system_config(conn)?;
    resolve_in(app, &config, conn, login, realm, None)
}

/// [`resolve`] with a configuration snapshot in hand and an optional resolver name
/// (`resConf`) restricting the lookup. The connection is not needed: resolvers have their
/// own (readonly SQL resolvers a pool on this database).
pub fn resolve_in(
    app: &App,
    config: &SystemConfig,
    _conn: &mut AnyConnection,
    login: &str,
    realm: &str,
    resolver_name: Option<&str>,
) -> Result<Option<ResolvedUser>> {
    if login.is_empty() || realm.is_empty() {
        return Ok(None);
    }
    let realm = realm.to_lowercase();
    for spec_text in config.realm_resolvers(&realm) {
        let Some(spec) = ResolverSpec::parse(&spec_text) else {
            tracing::warn!(realm = %realm, spec = %spec_text, "unreadable resolver spec in realm");
            continue;
        };
        if resolver_name.is_some_and(|name| name != spec.name()) {
            continue;
        }
        let Some(resolver) = open_resolver(app, &spec, config) else {
            continue;
        };
        if let Some(user_id) = resolver.user_id(login)? {
            return Ok(Some(ResolvedUser {
                login: login.to_owned(),
                realm,
                user_id,
                resolver_spec: spec.full(),
                resolver_class_short: spec.short(),
            }));
        }
    }
    Ok(None)
}

/// Resolves the user a request names, with LinOTP's fallback: when `login@x` was not split
/// (`splitAtSign` off) and not found, and `x` is a realm, it is tried as `login` in `x`.
/// `Ok(None)` for an empty request user and for users nobody knows.
pub fn resolve_requested(
    app: &App,
    config: &SystemConfig,
    conn: &mut AnyConnection,
    requested: &RequestedUser,
) -> Result<Option<ResolvedUser>> {
    if requested.is_empty() {
        return Ok(None);
    }
    let found = resolve_in(
        app,
        config,
        conn,
        &requested.login,
        &requested.realm,
        requested.resolver_name.as_deref(),
    )?;
    if found.is_some() || requested.realm_given || requested.resolver_name.is_some() {
        return Ok(found);
    }
    if let Some((login, realm)) = requested.login.rsplit_once('@')
        && realm_exists(config, realm)
    {
        return resolve_in(app, config, conn, login, realm, None);
    }
    Ok(None)
}

/// The attributes of a resolved user (`None` if the resolver no longer knows the id).
pub fn user_info(
    app: &App,
    conn: &mut AnyConnection,
    user: &ResolvedUser,
) -> Result<Option<UserInfo>> {
    let config = app.system_config(conn)?;
    owner_info(app, &config, conn, &user.resolver_spec, &user.user_id)
}

/// The attributes of user `user_id` of the resolver `resolver_spec` (a token's owner:
/// `LinOtpIdResClass` + `LinOtpUserid`).
pub fn owner_info(
    app: &App,
    config: &SystemConfig,
    _conn: &mut AnyConnection,
    resolver_spec: &str,
    user_id: &str,
) -> Result<Option<UserInfo>> {
    if user_id.is_empty() {
        return Ok(None);
    }
    let Some(spec) = ResolverSpec::parse(resolver_spec) else {
        return Ok(None);
    };
    match open_resolver(app, &spec, config) {
        Some(resolver) => resolver.user_info(user_id),
        None => Ok(None),
    }
}

/// The login of user `user_id` of the resolver `resolver_spec`.
pub fn owner_login(
    app: &App,
    config: &SystemConfig,
    _conn: &mut AnyConnection,
    resolver_spec: &str,
    user_id: &str,
) -> Result<Option<String>> {
    if user_id.is_empty() {
        return Ok(None);
    }
    let Some(spec) = ResolverSpec::parse(resolver_spec) else {
        return Ok(None);
    };
    match open_resolver(app, &spec, config) {
        Some(resolver) => resolver.login_of(user_id),
        None => Ok(None),
    }
}

/// Checks a resolved user's directory password (`otppin=1`, `passthru`, self-service login).
pub fn check_password(
    app: &App,
    conn: &mut AnyConnection,
    user: &ResolvedUser,
    password: &str,
) -> Result<bool> {
    let config = app.system_config(conn)?;
    check_password_in(app, &config, conn, user, password)
}

/// [`check_password`] with a configuration snapshot in hand (no second config lookup).
pub fn check_password_in(
    app: &App,
    config: &SystemConfig,
    _conn: &mut AnyConnection,
    user: &ResolvedUser,
    password: &str,
) -> Result<bool> {
    let Some(spec) = ResolverSpec::parse(&user.resolver_spec) else {
        return Ok(false);
    };
    match open_resolver(app, &spec, config) {
        Some(resolver) => resolver.check_password(&user.user_id, password),
        None => Ok(false),
    }
}

/// The tokens of a resolved user (`LinOtpUserid` + `LinOtpIdResClass`), ordered by id.
pub fn tokens_of(conn: &mut AnyConnection, user: &ResolvedUser) -> Result<Vec<tokens::Token>> {
    Ok(tokens::find_by_user(
        conn,
        &user.user_id,
        &user.resolver_spec,
    )?)
}

/// The realms whose resolver lists contain `resolver_spec`, sorted (the realms a token
/// owner belongs to).
pub fn realms_of_resolver(config: &SystemConfig, resolver_spec: &str) -> Vec<String> {
    let wanted = ResolverSpec::parse(resolver_spec);
    let prefix = "linotp.useridresolver.group.";
    let mut realms: Vec<String> = config
        .entries()
        .filter_map(|entry| {
            let realm = entry.key.strip_prefix(prefix)?;
            let listed = entry
                .value
                .split(',')
                .filter_map(ResolverSpec::parse)
                .any(|spec| Some(&spec) == wanted.as_ref());
            listed.then(|| realm.to_lowercase())
        })
        .collect();
    realms.sort();
    realms
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sysconfig::test_config as config;

    #[test]
    fn split_login_uses_last_at_and_first_backslash() {
        assert_eq!(split_login(" a@b@realm "), ("a@b".into(), "realm".into()));
        assert_eq!(
            split_login("DOM\\user\\x"),
            ("user\\x".into(), "DOM".into())
        );
        assert_eq!(split_login("plain"), ("plain".into(), String::new()));
    }

    #[test]
    fn explicit_realm_is_taken_as_given_and_lowercased() {
        let config = config(&[("DefaultRealm", "deflt")]);
        let user = naming("a@b", "MyRealm", &config);
        assert_eq!(user.login, "a@b");
        assert_eq!(user.realm, "myrealm");
        assert!(user.realm_given);
    }

    #[test]
    fn login_without_realm_gets_the_default_realm() {
        let config = config(&[("DefaultRealm", "Deflt")]);
        let user = naming("alice", "", &config);
        assert_eq!(
            (user.login.as_str(), user.realm.as_str()),
            ("alice", "deflt")
        );
        let split = naming("alice@Other", "", &config);
        assert_eq!(split.realm, "other");
        let no_user = naming("", "", &config);
        assert!(no_user.is_empty() && no_user.realm.is_empty());
    }

    #[test]
    fn split_at_sign_off_keeps_the_login_whole() {
        let config = config(&[("splitAtSign", "false"), ("DefaultRealm", "deflt")]);
        let user = naming("alice@other", "", &config);
        assert_eq!(
            (user.login.as_str(), user.realm.as_str()),
            ("alice@other", "deflt")
        );
    }

    #[test]
    fn resconf_param_keeps_the_text_before_the_parenthesis() {
        let params = Params::from_pairs([
            ("user", "alice"),
            ("realm", "r"),
            (
                "resConf",
                "fixres (useridresolver.SQLIdResolver.IdResolver.fixres)",
            ),
        ]);
        let user = requested_user(&params, &SystemConfig::default());
        assert_eq!(user.resolver_name.as_deref(), Some("fixres"));
    }

    #[test]
    fn user_info_keeps_resolver_values_and_gives_text() {
        let info = UserInfo::from_resolver(&linotp_resolvers::UserInfo::from_fields([
            ("userid".to_owned(), Value::from(1001)),
            ("username".to_owned(), Value::from("alice")),
            ("phone".to_owned(), Value::Null),
        ]));
        assert_eq!(info.get("userid"), Some("1001"));
        assert_eq!(info.get("username"), Some("alice"));
        assert_eq!(info.get("phone"), None);
        let rows: Vec<(&str, &str)> = info.iter().collect();
        assert_eq!(
            rows,
            [("userid", "1001"), ("username", "alice"), ("phone", "")]
        );
        let json = info.to_json();
        assert_eq!(json["userid"], Value::from(1001));
        assert_eq!(json["phone"], Value::Null);
    }

    #[test]
    fn realms_of_resolver_lists_realms_naming_the_resolver() {
        let config = config(&[
            (
                "useridresolver.group.b",
                "useridresolver.SQLIdResolver.IdResolver.res",
            ),
            (
                "useridresolver.group.a",
                "useridresolver.SQLIdResolver.IdResolver.other,useridresolver.SQLIdResolver.IdResolver.res",
            ),
            (
                "useridresolver.group.c",
                "useridresolver.SQLIdResolver.IdResolver.other",
            ),
        ]);
        assert_eq!(
            realms_of_resolver(&config, "useridresolver.SQLIdResolver.IdResolver.res"),
            ["a", "b"]
        );
    }
}
