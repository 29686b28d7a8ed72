//! Users and realms as LinOTP's request handlers see them (`getUserFromParam`).
//!
//! A request names a user with `user` (and optionally `realm`); [`requested_user`] turns that
//! into a login and a lower-case realm the way LinOTP does: an explicit `realm` is taken as it
//! is, otherwise, with `splitAtSign` (default on), `alice@realm` is split at the last `@` and
//! `DOM\alice` at the first `\`; a login without realm gets the default realm.
//!
//! The realm's resolvers (config `useridresolver.group.<realm>`, in order) are asked for the
//! login through the [`UserResolver`] trait; the first resolver that knows it wins
//! ([`resolve`]). Resolver specs look like `useridresolver.SQLIdResolver.IdResolver.<name>`
//! ([`ResolverSpec`]); [`open_resolver`] builds the resolver a spec names from the system
//! configuration. One implementation exists today, [`ImportedUserResolver`]: LinOTP's SQL
//! resolver over its own `imported_user` table, which `/tools/import_users` and the local
//! administrators use. LDAP and external SQL resolvers are further implementations of the
//! same trait, added to [`open_resolver`].
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
//! assert_eq!(spec.class_name(), "SQLIdResolver");
//! assert_eq!(spec.name(), "fixres");
//! assert_eq!(spec.short(), "SQLIdResolver.IdResolver.fixres");
//! ```

use std::fmt;

use linotp_crypto::{SecurityModule, verify_password};
use linotp_store::AnyConnection;
use linotp_store::tokens;
use linotp_store::users::{self as user_store, ImportedUser};
use serde_json::{Map, Value};

use crate::app::App;
use crate::error::Result;
use crate::params::Params;
use crate::sysconfig::SystemConfig;

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

/// A resolver spec, `useridresolver.<Class>.IdResolver.<name>`, as realms list them and
/// tokens store them (`LinOtpIdResClass`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResolverSpec {
    class_name: String,
    name: String,
}

impl ResolverSpec {
    /// Parses a spec; also accepts the legacy `useridresolveree.` prefix and the short form
    /// `<Class>.IdResolver.<name>` (`LinOtpIdResolver`). `None` for anything else.
    pub fn parse(spec: &str) -> Option<ResolverSpec> {
        let spec = spec.trim();
        let (class_path, name) = spec.rsplit_once('.')?;
        let class_path = class_path.strip_suffix(".IdResolver")?;
        let class_name = class_path.rsplit('.').next()?;
        if name.is_empty() || class_name.is_empty() {
            return None;
        }
        Some(ResolverSpec {
            class_name: class_name.to_owned(),
            name: name.to_owned(),
        })
    }

    /// A spec for a resolver class and name (`SQLIdResolver`, `fixres`).
    pub fn new(class_name: &str, name: &str) -> ResolverSpec {
        ResolverSpec {
            class_name: class_name.to_owned(),
            name: name.to_owned(),
        }
    }

    /// The resolver class (`SQLIdResolver`, `LDAPIdResolver`, `PasswdIdResolver`).
    pub fn class_name(&self) -> &str {
        &self.class_name
    }

    /// The resolver's configured name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The full spec, `useridresolver.<Class>.IdResolver.<name>` (`LinOtpIdResClass`).
    pub fn full(&self) -> String {
        format!(
            "useridresolver.{}.IdResolver.{}",
            self.class_name, self.name
        )
    }

    /// The short form, `<Class>.IdResolver.<name>` (`LinOtpIdResolver`).
    pub fn short(&self) -> String {
        format!("{}.IdResolver.{}", self.class_name, self.name)
    }
}

impl fmt::Display for ResolverSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full())
    }
}

/// What a resolver tells about one user: the attributes of its mapping in the mapping's
/// order (`userid`, `username`, `email`, …), never the password.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserInfo {
    fields: Vec<(String, String)>,
}

impl UserInfo {
    /// Attributes in order.
    pub fn from_fields(fields: Vec<(String, String)>) -> UserInfo {
        UserInfo { fields }
    }

    /// One attribute.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }

    /// All attributes in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// The attributes as a JSON object in order (what `/admin/getTokenOwner` answers).
    pub fn to_json(&self) -> Map<String, Value> {
        self.fields
            .iter()
            .map(|(name, value)| (name.clone(), Value::from(value.as_str())))
            .collect()
    }
}

/// A user directory: finds users by login, tells about them, checks their passwords.
///
/// Calls are synchronous and get the request's database connection, since they run inside
/// [`App::with_conn`]; resolvers that talk to other servers (LDAP, external SQL) ignore it.
pub trait UserResolver: Send + Sync + fmt::Debug {
    /// The spec this resolver answers for.
    fn spec(&self) -> &ResolverSpec;

    /// The user id of a login, if the directory knows it.
    fn user_id(&self, conn: &mut AnyConnection, login: &str) -> Result<Option<String>>;

    /// The login of a user id.
    fn login_of(&self, conn: &mut AnyConnection, user_id: &str) -> Result<Option<String>>;

    /// The attributes of a user id (`None`: unknown id).
    fn user_info(&self, conn: &mut AnyConnection, user_id: &str) -> Result<Option<UserInfo>>;

    /// Whether `password` is the user's directory password. Unknown users never match.
    fn check_password(
        &self,
        conn: &mut AnyConnection,
        user_id: &str,
        password: &str,
    ) -> Result<bool>;

    /// Users matching every `(attribute, pattern)` of `search` (LinOTP's `getUserList`:
    /// `*` any text, `.` one character, `<`, `<=`, `>`, `>=` compare; the attribute
    /// `searchTerm` matches any attribute). An empty search lists everybody. At most the
    /// resolver's size limit.
    fn list_users(
        &self,
        conn: &mut AnyConnection,
        search: &[(String, String)],
    ) -> Result<Vec<UserInfo>>;
}

/// The resolver a spec names, built from the system configuration; `None` when no such
/// resolver is configured or its kind is not available in this build (LDAP, external SQL:
/// next releases). `security` decrypts resolver passwords where a resolver has one.
pub fn open_resolver(
    spec: &ResolverSpec,
    config: &SystemConfig,
    security: &dyn SecurityModule,
) -> Option<Box<dyn UserResolver>> {
    let _ = security;
    match spec.class_name() {
        "SQLIdResolver" => ImportedUserResolver::from_config(spec, config)
            .map(|resolver| Box::new(resolver) as Box<dyn UserResolver>),
        other => {
            tracing::warn!(
                resolver = %spec,
                class = other,
                "resolver class not available in this build; its users are not found"
            );
            None
        }
    }
}

/// LinOTP's SQL resolver over its own `imported_user` table (what `/tools/import_users`
/// creates): config `sqlresolver.Table.<name> = imported_user` and `sqlresolver.Where.<name>
/// = groupid = '<group>'`, attributes mapped by `sqlresolver.Map.<name>`.
#[derive(Debug, Clone)]
pub struct ImportedUserResolver {
    spec: ResolverSpec,
    group: String,
    /// Attribute name → `imported_user` column, in the mapping's order.
    mapping: Vec<(String, String)>,
    limit: usize,
}

/// The `imported_user` columns a mapping may name.
const IMPORTED_USER_COLUMNS: [&str; 9] = [
    "groupid",
    "userid",
    "username",
    "phone",
    "mobile",
    "email",
    "surname",
    "givenname",
    "password",
];

/// The mapping LinOTP's `import_users` writes (and the default when a mapping is unreadable).
fn default_mapping() -> Vec<(String, String)> {
    IMPORTED_USER_COLUMNS
        .iter()
        .map(|column| ((*column).to_owned(), (*column).to_owned()))
        .collect()
}

fn column_value<'a>(user: &'a ImportedUser, column: &str) -> Option<&'a str> {
    Some(match column.to_ascii_lowercase().as_str() {
        "groupid" => &user.groupid,
        "userid" => &user.userid,
        "username" => &user.username,
        "phone" => &user.phone,
        "mobile" => &user.mobile,
        "email" => &user.email,
        "surname" => &user.surname,
        "givenname" => &user.givenname,
        "password" => &user.password,
        _ => return None,
    })
}

/// The group of a `Where` clause of the form `groupid = '<group>'` (any spacing, `''`
/// escapes).
fn group_of_where(clause: &str) -> Option<String> {
    let (column, value) = clause.split_once('=')?;
    if !column.trim().eq_ignore_ascii_case("groupid") {
        return None;
    }
    let value = value.trim();
    let inner = value.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

impl ImportedUserResolver {
    /// The resolver for `spec` if the configuration describes an `imported_user` resolver
    /// (an SQL resolver on another database is not this one).
    pub fn from_config(spec: &ResolverSpec, config: &SystemConfig) -> Option<ImportedUserResolver> {
        let name = spec.name();
        let setting = |attribute: &str| config.get(&format!("sqlresolver.{attribute}.{name}"));
        let table = setting("Table")?;
        if !table.trim().eq_ignore_ascii_case("imported_user") {
            tracing::warn!(resolver = %spec, "SQL resolvers on other tables are not available yet");
            return None;
        }
        let external = ["Connect", "Server", "Database"]
            .iter()
            .any(|attribute| setting(attribute).is_some_and(|value| !value.trim().is_empty()));
        if external {
            tracing::warn!(resolver = %spec, "SQL resolvers on other databases are not available yet");
            return None;
        }
        let group = setting("Where")
            .and_then(group_of_where)
            .unwrap_or_else(|| name.to_owned());
        let mapping = setting("Map")
            .and_then(|text| {
                let text = text.trim().trim_matches('\'').trim_matches('"');
                serde_json::from_str::<Map<String, Value>>(text).ok()
            })
            .map(|map| {
                map.into_iter()
                    .filter_map(|(key, column)| {
                        column.as_str().map(|column| (key, column.to_owned()))
                    })
                    .collect::<Vec<_>>()
            })
            .filter(|mapping| !mapping.is_empty())
            .unwrap_or_else(default_mapping);
        let limit = setting("Limit")
            .and_then(|value| value.trim().parse::<usize>().ok())
            .filter(|limit| *limit > 0)
            .unwrap_or(1000);
        Some(ImportedUserResolver {
            spec: spec.clone(),
            group,
            mapping,
            limit,
        })
    }

    /// The `imported_user` group this resolver reads.
    pub fn group(&self) -> &str {
        &self.group
    }

    fn column_of(&self, attribute: &str) -> Option<&str> {
        self.mapping
            .iter()
            .find(|(key, _)| key == attribute)
            .map(|(_, column)| column.as_str())
    }

    /// The row whose `attribute` column equals `value`.
    fn find_row(
        &self,
        conn: &mut AnyConnection,
        attribute: &str,
        value: &str,
    ) -> Result<Option<ImportedUser>> {
        let Some(column) = self.column_of(attribute) else {
            tracing::warn!(resolver = %self.spec, attribute, "resolver mapping lacks an attribute");
            return Ok(None);
        };
        // The usual mapping (attribute = column) has indexed lookups; others scan the group.
        let row = match column.to_ascii_lowercase().as_str() {
            "userid" => user_store::get(conn, &self.group, value)?,
            "username" => user_store::get_by_username(conn, &self.group, value)?,
            _ => user_store::list_group(conn, &self.group)?
                .into_iter()
                .find(|user| column_value(user, column) == Some(value)),
        };
        Ok(row)
    }

    fn info_of(&self, user: &ImportedUser) -> UserInfo {
        let fields = self
            .mapping
            .iter()
            .filter(|(key, _)| key != "password")
            .map(|(key, column)| {
                let value = column_value(user, column).unwrap_or("-ERR: column mapping-");
                (key.clone(), value.to_owned())
            })
            .collect();
        UserInfo { fields }
    }

    fn attribute<'a>(&self, user: &'a ImportedUser, attribute: &str) -> Option<&'a str> {
        column_value(user, self.column_of(attribute)?)
    }
}

impl UserResolver for ImportedUserResolver {
    fn spec(&self) -> &ResolverSpec {
        &self.spec
    }

    fn user_id(&self, conn: &mut AnyConnection, login: &str) -> Result<Option<String>> {
        Ok(self
            .find_row(conn, "username", login)?
            .and_then(|user| self.attribute(&user, "userid").map(str::to_owned))
            .filter(|id| !id.is_empty()))
    }

    fn login_of(&self, conn: &mut AnyConnection, user_id: &str) -> Result<Option<String>> {
        Ok(self
            .find_row(conn, "userid", user_id)?
            .and_then(|user| self.attribute(&user, "username").map(str::to_owned)))
    }

    fn user_info(&self, conn: &mut AnyConnection, user_id: &str) -> Result<Option<UserInfo>> {
        Ok(self
            .find_row(conn, "userid", user_id)?
            .map(|user| self.info_of(&user)))
    }

    fn check_password(
        &self,
        conn: &mut AnyConnection,
        user_id: &str,
        password: &str,
    ) -> Result<bool> {
        let Some(user) = self.find_row(conn, "userid", user_id)? else {
            return Ok(false);
        };
        let Some(hash) = self
            .attribute(&user, "password")
            .filter(|hash| !hash.is_empty())
        else {
            tracing::warn!(resolver = %self.spec, "no password attribute in the resolver mapping");
            return Ok(false);
        };
        Ok(verify_password(password, hash))
    }

    fn list_users(
        &self,
        conn: &mut AnyConnection,
        search: &[(String, String)],
    ) -> Result<Vec<UserInfo>> {
        let users = user_store::list_group(conn, &self.group)?;
        let matches = |user: &ImportedUser| {
            search.iter().all(|(attribute, pattern)| {
                if attribute == "searchTerm" {
                    return self.mapping.iter().any(|(_, column)| {
                        column_value(user, column)
                            .is_some_and(|value| search_matches(pattern, value))
                    });
                }
                let column = self
                    .mapping
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(attribute))
                    .map(|(_, column)| column.as_str());
                // LinOTP ignores search keys it has no column for.
                match column {
                    None => true,
                    Some(column) => column_value(user, column)
                        .is_some_and(|value| search_matches(pattern, value)),
                }
            })
        };
        Ok(users
            .iter()
            .filter(|user| matches(user))
            .take(self.limit)
            .map(|user| self.info_of(user))
            .collect())
    }
}

/// LinOTP's user search predicate on one value: `<`, `<=`, `>`, `>=` compare text, anything
/// else is a LIKE pattern where `*` is any text and `.` one character (case-insensitive,
/// as SQLite's LIKE).
pub fn search_matches(pattern: &str, value: &str) -> bool {
    let pattern = pattern.trim();
    if let Some(bound) = pattern.strip_prefix("<=") {
        return value <= bound.trim();
    }
    if let Some(bound) = pattern.strip_prefix(">=") {
        return value >= bound.trim();
    }
    if let Some(bound) = pattern.strip_prefix('>') {
        return value > bound.trim();
    }
    if let Some(bound) = pattern.strip_prefix('<') {
        return value < bound.trim();
    }
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    let value: Vec<char> = value.to_lowercase().chars().collect();
    glob_match(&pattern, &value)
}

fn glob_match(pattern: &[char], value: &[char]) -> bool {
    // Iterative wildcard match with backtracking to the last `*`.
    let (mut p, mut v) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, v));
                p += 1;
            }
            Some(&c) if c == '.' || c == value[v] => {
                p += 1;
                v += 1;
            }
            _ => match star {
                Some((star_p, star_v)) => {
                    p = star_p + 1;
                    v = star_v + 1;
                    star = Some((star_p, star_v + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
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
/// (`resConf`) restricting the lookup.
pub fn resolve_in(
    app: &App,
    config: &SystemConfig,
    conn: &mut AnyConnection,
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
        let Some(resolver) = open_resolver(&spec, config, app.security.as_ref()) else {
            continue;
        };
        if let Some(user_id) = resolver.user_id(conn, login)? {
            return Ok(Some(ResolvedUser {
                login: login.to_owned(),
                realm,
                user_id,
                resolver_spec: spec_text.trim().to_owned(),
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
    conn: &mut AnyConnection,
    resolver_spec: &str,
    user_id: &str,
) -> Result<Option<UserInfo>> {
    if user_id.is_empty() {
        return Ok(None);
    }
    let Some(spec) = ResolverSpec::parse(resolver_spec) else {
        return Ok(None);
    };
    match open_resolver(&spec, config, app.security.as_ref()) {
        Some(resolver) => resolver.user_info(conn, user_id),
        None => Ok(None),
    }
}

/// The login of user `user_id` of the resolver `resolver_spec`.
pub fn owner_login(
    app: &App,
    config: &SystemConfig,
    conn: &mut AnyConnection,
    resolver_spec: &str,
    user_id: &str,
) -> Result<Option<String>> {
    if user_id.is_empty() {
        return Ok(None);
    }
    let Some(spec) = ResolverSpec::parse(resolver_spec) else {
        return Ok(None);
    };
    match open_resolver(&spec, config, app.security.as_ref()) {
        Some(resolver) => resolver.login_of(conn, user_id),
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
    conn: &mut AnyConnection,
    user: &ResolvedUser,
    password: &str,
) -> Result<bool> {
    let Some(spec) = ResolverSpec::parse(&user.resolver_spec) else {
        return Ok(false);
    };
    match open_resolver(&spec, config, app.security.as_ref()) {
        Some(resolver) => resolver.check_password(conn, &user.user_id, password),
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
    use linotp_store::config::ConfigEntry;

    fn config(entries: &[(&str, &str)]) -> SystemConfig {
        SystemConfig::from_entries(
            Some("stamp".into()),
            entries
                .iter()
                .map(|(key, value)| ConfigEntry {
                    key: format!("linotp.{key}"),
                    value: (*value).to_owned(),
                    typ: None,
                    description: None,
                })
                .collect(),
        )
    }

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
    fn resolver_specs_parse_in_every_spelling() {
        let full = ResolverSpec::parse("useridresolver.SQLIdResolver.IdResolver.fixres").unwrap();
        let legacy =
            ResolverSpec::parse("useridresolveree.LDAPIdResolver.IdResolver.corp").unwrap();
        let short = ResolverSpec::parse("SQLIdResolver.IdResolver.fixres").unwrap();
        assert_eq!(full, short);
        assert_eq!(legacy.class_name(), "LDAPIdResolver");
        assert_eq!(
            full.full(),
            "useridresolver.SQLIdResolver.IdResolver.fixres"
        );
        assert!(ResolverSpec::parse("nonsense").is_none());
        assert!(ResolverSpec::parse("useridresolver.SQLIdResolver.IdResolver.").is_none());
    }

    #[test]
    fn imported_user_resolver_reads_group_mapping_and_limit() {
        let config = config(&[
            ("sqlresolver.Table.r1", "imported_user"),
            ("sqlresolver.Where.r1", "groupid = 'It''s'"),
            ("sqlresolver.Limit.r1", "7"),
            (
                "sqlresolver.Map.r1",
                r#"{"userid": "userid", "username": "username", "email": "email"}"#,
            ),
            ("sqlresolver.Table.ext", "users"),
            ("sqlresolver.Table.remote", "imported_user"),
            ("sqlresolver.Connect.remote", "postgres://elsewhere/db"),
        ]);
        let resolver =
            ImportedUserResolver::from_config(&ResolverSpec::new("SQLIdResolver", "r1"), &config)
                .unwrap();
        assert_eq!(resolver.group(), "It's");
        assert_eq!(resolver.limit, 7);
        assert_eq!(resolver.mapping.len(), 3);
        for other in ["ext", "remote", "missing"] {
            let spec = ResolverSpec::new("SQLIdResolver", other);
            assert!(
                ImportedUserResolver::from_config(&spec, &config).is_none(),
                "{other}"
            );
        }
    }

    #[test]
    fn search_patterns_follow_linotp() {
        assert!(search_matches("*", "anything"));
        assert!(search_matches("gld*", "GLDalice"));
        assert!(search_matches("a.ice", "alice"));
        assert!(!search_matches("a.ice", "aice"));
        assert!(search_matches("*ob", "bob"));
        assert!(!search_matches("bob", "bobby"));
        assert!(search_matches(">=uid2", "uid3"));
        assert!(!search_matches("<uid2", "uid3"));
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
