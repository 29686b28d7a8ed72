//! Resolver definitions as LinOTP stores them (`linotp.<type>.<Param>.<name>` config rows),
//! their parameter tables, and `/system/setResolver`'s validation with LinOTP's error texts.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use linotp_crypto::SecretString;
use linotp_crypto::audit::python_repr;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::error::{ResolverError, Result};
use crate::spec::{ResolverClass, ResolverSpec};

/// Where resolver settings come from: a lookup of full config keys
/// (`linotp.ldapresolver.LDAPURI.corp`) or of request parameter names (`LDAPURI`).
///
/// Encrypted entries (`BINDPW`, SQL `Password`) must be answered **decrypted**: this crate
/// holds no encKey. Closures, `HashMap`s and `BTreeMap`s of `String` implement it.
pub trait ConfigLookup {
    /// The value of `key`, if set.
    fn lookup(&self, key: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> ConfigLookup for F {
    fn lookup(&self, key: &str) -> Option<String> {
        self(key)
    }
}

impl ConfigLookup for HashMap<String, String> {
    fn lookup(&self, key: &str) -> Option<String> {
        self.get(key).cloned()
    }
}

impl ConfigLookup for BTreeMap<String, String> {
    fn lookup(&self, key: &str) -> Option<String> {
        self.get(key).cloned()
    }
}

/// How a parameter's value is typed (LinOTP's converter, whose name is the config `Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// Text (`str`).
    Text,
    /// Integer (`int`).
    Int,
    /// Boolean (`boolean`), stored `True` / `False`.
    Bool,
    /// Stored encrypted (`encrypted_data`); handled in clear here.
    Secret,
}

impl ParamType {
    /// The config `Type` LinOTP writes for this parameter.
    pub fn config_type(self) -> &'static str {
        match self {
            ParamType::Text => "str",
            ParamType::Int => "int",
            ParamType::Bool => "boolean",
            ParamType::Secret => "encrypted_data",
        }
    }
}

/// One row of a resolver class's parameter table.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Parameter name (`LDAPURI`).
    pub name: &'static str,
    /// Must be given.
    pub required: bool,
    /// Stored value when not given (LinOTP's `str(default)`); `None`: not stored.
    pub default: Option<&'static str>,
    /// Type.
    pub typ: ParamType,
}

const fn param(
    name: &'static str,
    required: bool,
    default: Option<&'static str>,
    typ: ParamType,
) -> Param {
    Param {
        name,
        required,
        default,
        typ,
    }
}

use ParamType::{Bool, Int, Secret, Text};

/// Key of the common `readonly` flag.
pub const READONLY: &str = "readonly";
/// LDAP: a PEM CA certificate bundle trusted for `ldaps://` and STARTTLS (LinOTP 2's
/// `CACERTIFICATE`; LinOTP 4 uses the server-wide `TLS_CA_CERTIFICATES_FILE`). Stored only when set.
pub const CACERTIFICATE: &str = "CACERTIFICATE";

const LDAP_PARAMS: &[Param] = &[
    param("LDAPURI", true, None, Text),
    param("LDAPBASE", true, None, Text),
    param("BINDDN", true, None, Text),
    param("BINDPW", true, None, Secret),
    param("LOGINNAMEATTRIBUTE", true, None, Text),
    param("LDAPFILTER", true, None, Text),
    param("LDAPSEARCHFILTER", true, None, Text),
    param("USERINFO", true, Some("True"), Text),
    param("UIDTYPE", false, Some("DN"), Text),
    param("EnforceTLS", false, Some("True"), Bool),
    param("only_trusted_certs", false, Some("True"), Bool),
    param("NOREFERRALS", false, Some("False"), Bool),
    param("PROXY", false, Some("False"), Bool),
    param("TIMEOUT", false, Some("-1"), Text),
    param("SIZELIMIT", false, Some("500"), Int),
    param(CACERTIFICATE, false, None, Text),
    param(READONLY, false, Some("False"), Bool),
];

const SQL_PARAMS: &[Param] = &[
    param("Connect", false, Some(""), Text),
    // LinOTP stores str(None) when no driver is given.
    param("Driver", false, Some("None"), Text),
    param("Server", false, Some(""), Text),
    param("Port", false, Some(""), Text),
    param("Database", false, Some(""), Text),
    param("User", false, Some(""), Text),
    param("conParams", false, Some(""), Text),
    param("Password", true, Some(""), Secret),
    param("Limit", false, Some("1000"), Int),
    param("Table", false, Some(""), Text),
    param("Where", false, Some(""), Text),
    param("Map", false, Some(""), Text),
    param("Encoding", false, Some("utf-8"), Text),
    param(READONLY, false, Some("False"), Bool),
];

/// The column map LinOTP's user import writes.
pub const IMPORTED_USER_MAP: &str = r#"{"groupid": "groupid", "userid": "userid", "username": "username", "phone": "phone", "mobile": "mobile", "email": "email", "surname": "surname", "givenname": "givenname", "password": "password"}"#;

const PASSWD_PARAMS: &[Param] = &[
    param("fileName", true, None, Text),
    param(READONLY, false, Some("False"), Bool),
];

impl ResolverClass {
    /// The class's parameter table, in LinOTP's order.
    pub fn params(self) -> &'static [Param] {
        match self {
            ResolverClass::Ldap => LDAP_PARAMS,
            ResolverClass::Sql => SQL_PARAMS,
            ResolverClass::Passwd => PASSWD_PARAMS,
        }
    }

    /// Parameters whose change makes the stored password void (it must be sent again).
    pub fn critical_params(self) -> &'static [&'static str] {
        match self {
            ResolverClass::Ldap => &["LDAPBASE", "BINDDN", "LDAPURI"],
            ResolverClass::Sql => &["Driver", "Server", "Port", "Database", "User", "Table"],
            ResolverClass::Passwd => &[],
        }
    }

    /// The encrypted parameter, if the class has one.
    pub fn secret_param(self) -> Option<&'static str> {
        match self {
            ResolverClass::Ldap => Some("BINDPW"),
            ResolverClass::Sql => Some("Password"),
            ResolverClass::Passwd => None,
        }
    }
}

/// LinOTP's `boolean()`: `1/0`, `yes/no`, `true/false` in any case.
pub fn parse_boolean(text: &str) -> std::result::Result<bool, String> {
    match text.trim().to_lowercase().as_str() {
        "1" | "yes" | "true" => Ok(true),
        "0" | "no" | "false" => Ok(false),
        _ => Err(format!(
            "unable to convert {} to a boolean",
            python_repr(&text.to_lowercase())
        )),
    }
}

fn parse_int(text: &str) -> std::result::Result<i64, String> {
    text.trim().parse::<i64>().map_err(|_| {
        format!(
            "invalid literal for int() with base 10: {}",
            python_repr(text)
        )
    })
}

/// LinOTP's `get_duration`: seconds, `1h 30m`-style (`w`, `d`, `h`, `m`, `s`) or ISO 8601
/// (`P1DT2H`). Used for `user_lookup_cache.expiration`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let compact: String = text.split_whitespace().collect();
    if let Ok(seconds) = compact.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if compact.is_empty() {
        return None;
    }
    let upper = compact.to_uppercase();
    let seconds = if let Some(iso) = upper.strip_prefix('P') {
        parse_iso_duration(iso)?
    } else {
        parse_unit_duration(&compact.to_lowercase())?
    };
    Some(Duration::from_secs(seconds))
}

fn parse_unit_duration(text: &str) -> Option<u64> {
    // Units must appear in the order weeks, days, hours, minutes, seconds.
    const UNITS: [(&[&str], u64); 5] = [
        (&["weeks", "week", "w"], 7 * 86_400),
        (&["days", "day", "d"], 86_400),
        (&["hours", "hour", "h"], 3_600),
        (&["minutes", "minute", "m"], 60),
        (&["seconds", "second", "s"], 1),
    ];
    let mut rest = text;
    let mut total = 0u64;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (index, name, factor) =
            UNITS
                .iter()
                .enumerate()
                .skip(next_unit)
                .find_map(|(index, (names, factor))| {
                    names
                        .iter()
                        .find(|name| rest.starts_with(**name))
                        .map(|name| (index, *name, *factor))
                })?;
        rest = &rest[name.len()..];
        total = total.checked_add(number.checked_mul(factor)?)?;
        next_unit = index + 1;
    }
    Some(total)
}

fn parse_iso_duration(text: &str) -> Option<u64> {
    let (date, time) = match text.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut total = 0u64;
    let mut add = |part: &str, units: &[(char, u64)]| -> Option<()> {
        let mut rest = part;
        let mut next_unit = 0;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let number: u64 = rest.get(..digits)?.parse().ok()?;
            let unit = rest[digits..].chars().next()?;
            let (index, factor) = units
                .iter()
                .enumerate()
                .skip(next_unit)
                .find(|(_, (name, _))| *name == unit)
                .map(|(index, (_, factor))| (index, *factor))?;
            total = total.checked_add(number.checked_mul(factor)?)?;
            next_unit = index + 1;
            rest = &rest[digits + 1..];
        }
        Some(())
    };
    add(
        date,
        &[
            ('Y', 365 * 86_400),
            ('M', 30 * 86_400),
            ('W', 7 * 86_400),
            ('D', 86_400),
        ],
    )?;
    if let Some(time) = time {
        add(time, &[('H', 3_600), ('M', 60), ('S', 1)])?;
    }
    Some(total)
}

/// A JSON object's members in document order (serde_json's `Map` sorts them, and LinOTP's
/// user info follows the mapping's order).
pub(crate) fn parse_ordered_object(
    text: &str,
) -> std::result::Result<Vec<(String, Value)>, String> {
    use serde::de::{Deserializer as _, MapAccess, Visitor};

    struct Ordered;
    impl<'de> Visitor<'de> for Ordered {
        type Value = Vec<(String, Value)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut members: Vec<(String, Value)> = Vec::new();
            while let Some((key, value)) = map.next_entry::<String, Value>()? {
                match members.iter_mut().find(|(name, _)| *name == key) {
                    Some((_, slot)) => *slot = value,
                    None => members.push((key, value)),
                }
            }
            Ok(members)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let members = deserializer
        .deserialize_map(Ordered)
        .map_err(|error| error.to_string())?;
    deserializer.end().map_err(|error| error.to_string())?;
    Ok(members)
}

/// A mapping `{"field": "attribute-or-column", …}` in order; non-string values are refused.
pub(crate) fn parse_mapping(text: &str) -> std::result::Result<Vec<(String, String)>, String> {
    parse_ordered_object(text)?
        .into_iter()
        .map(|(key, value)| match value {
            Value::String(target) => Ok((key, target)),
            other => Err(format!("mapping of {key} is not a string: {other}")),
        })
        .collect()
}

/// One resolver's definition: its class, name and every parameter of its table, typed and
/// normalised as LinOTP stores them. The password is kept apart, zeroized on drop and never
/// shown by `Debug`.
#[derive(Clone)]
pub struct ResolverConfig {
    class: ResolverClass,
    name: String,
    values: Vec<(&'static str, String)>,
    secret: Option<SecretString>,
}

impl fmt::Debug for ResolverConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolverConfig")
            .field("class", &self.class)
            .field("name", &self.name)
            .field("values", &self.values)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// One config row to store for a resolver (`/system/setResolver`). For `encrypted_data` rows
/// the value is the clear password: the caller encrypts it before writing.
#[derive(Clone)]
pub struct StoredEntry {
    /// Full key, `linotp.<type>.<Param>.<name>`.
    pub key: String,
    /// Value (clear text, also for passwords).
    pub value: Zeroizing<String>,
    /// Config `Type` (`str`, `int`, `boolean`, `encrypted_data`).
    pub typ: &'static str,
}

impl StoredEntry {
    /// True for the row that must be stored encrypted.
    pub fn is_secret(&self) -> bool {
        self.typ == ParamType::Secret.config_type()
    }
}

impl fmt::Debug for StoredEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value: &str = if self.is_secret() {
            "<redacted>"
        } else {
            &self.value
        };
        f.debug_struct("StoredEntry")
            .field("key", &self.key)
            .field("value", &value)
            .field("typ", &self.typ)
            .finish()
    }
}

impl ResolverConfig {
    /// Reads resolver `name` of `class` from LinOTP's config rows (`lookup` answers full keys,
    /// encrypted ones decrypted). Fails like LinOTP's `loadConfig` when a required entry is
    /// missing or a typed entry does not convert.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use linotp_resolvers::{ResolverClass, ResolverConfig};
    ///
    /// let rows: HashMap<String, String> = [
    ///     ("linotp.passwdresolver.fileName.local", "/etc/passwd"),
    /// ]
    /// .into_iter()
    /// .map(|(k, v)| (k.to_owned(), v.to_owned()))
    /// .collect();
    /// let config = ResolverConfig::from_config(ResolverClass::Passwd, "local", &rows)?;
    /// assert_eq!(config.get("fileName"), Some("/etc/passwd"));
    /// assert!(!config.is_readonly());
    /// # Ok::<(), linotp_resolvers::ResolverError>(())
    /// ```
    pub fn from_config(
        class: ResolverClass,
        name: &str,
        lookup: &dyn ConfigLookup,
    ) -> Result<ResolverConfig> {
        let keyed = |param: &str| lookup.lookup(&class.config_key(param, name));
        let (config, missing) =
            ResolverConfig::filter(class, name, &keyed).map_err(ResolverError::definition)?;
        if !missing.is_empty() {
            return Err(ResolverError::definition(format!(
                "missing config entries: {}",
                python_list(&missing)
            )));
        }
        Ok(config)
    }

    /// LinOTP's `filter_config`: every parameter of the table, converted, defaults filled in;
    /// the names of missing required parameters beside it.
    fn filter(
        class: ResolverClass,
        name: &str,
        lookup: &dyn ConfigLookup,
    ) -> std::result::Result<(ResolverConfig, Vec<&'static str>), String> {
        let mut values = Vec::new();
        let mut secret = None;
        let mut missing = Vec::new();
        for param in class.params() {
            let given = lookup.lookup(param.name);
            let raw = match (&given, param.default) {
                (Some(value), _) => value.clone(),
                (None, _) if param.required => {
                    missing.push(param.name);
                    continue;
                }
                (None, Some(default)) => default.to_owned(),
                (None, None) => continue,
            };
            let value = match param.typ {
                Text => raw,
                Int => parse_int(&raw)?.to_string(),
                Bool => if parse_boolean(&raw)? {
                    "True"
                } else {
                    "False"
                }
                .to_owned(),
                Secret => {
                    secret = Some(SecretString::new(raw));
                    continue;
                }
            };
            // LinOTP shows `readonly` only when it is true; CACERTIFICATE only when set.
            if (param.name == READONLY && value == "False")
                || (param.name == CACERTIFICATE && value.is_empty())
            {
                continue;
            }
            values.push((param.name, value));
        }
        Ok((
            ResolverConfig {
                class,
                name: name.to_owned(),
                values,
                secret,
            },
            missing,
        ))
    }

    /// The definition `/tools/import_users` writes for the users it imports into group
    /// `name` of LinOTP's `imported_user` table (LinOTP's exact rows, see the fixture's
    /// `fixres`): a readonly SQL resolver on LinOTP's own database.
    pub fn imported_users(name: &str) -> ResolverConfig {
        let where_clause = format!("groupid = '{}'", name.replace('\'', "''"));
        let values: [(&'static str, &str); 13] = [
            ("Connect", ""),
            ("Driver", ""),
            ("Server", ""),
            ("Port", ""),
            ("Database", ""),
            ("User", ""),
            ("conParams", ""),
            ("Limit", "1000"),
            ("Table", "imported_user"),
            ("Where", &where_clause),
            ("Map", IMPORTED_USER_MAP),
            ("Encoding", "utf-8"),
            (READONLY, "True"),
        ];
        ResolverConfig {
            class: ResolverClass::Sql,
            name: name.to_owned(),
            values: SQL_PARAMS
                .iter()
                .filter_map(|param| {
                    values
                        .iter()
                        .find(|(key, _)| *key == param.name)
                        .map(|(key, value)| (*key, (*value).to_owned()))
                })
                .collect(),
            secret: Some(SecretString::new(String::new())),
        }
    }

    /// The class.
    pub fn class(&self) -> ResolverClass {
        self.class
    }

    /// The resolver name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The resolver's spec.
    pub fn spec(&self) -> ResolverSpec {
        ResolverSpec::new(self.class, &self.name)
    }

    /// A non-secret parameter's value.
    pub fn get(&self, param: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(name, _)| *name == param)
            .map(|(_, value)| value.as_str())
    }

    /// The password (`BINDPW`, `Password`), clear.
    pub fn secret(&self) -> Option<&SecretString> {
        self.secret.as_ref()
    }

    /// Whether the resolver is flagged `readonly` (for SQL: "managed", on LinOTP's own
    /// database).
    pub fn is_readonly(&self) -> bool {
        self.get(READONLY) == Some("True")
    }

    /// The non-secret parameters in table order (what `/system/getResolver` shows in `data`,
    /// besides the stored ciphertext of the password).
    pub fn data(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.values
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
    }

    /// The config rows that define this resolver, in table order.
    pub fn to_entries(&self) -> Vec<StoredEntry> {
        let mut entries = Vec::new();
        for param in self.class.params() {
            let value = if param.typ == Secret {
                match &self.secret {
                    Some(secret) => Zeroizing::new(secret.expose().to_owned()),
                    None => continue,
                }
            } else {
                match self.get(param.name) {
                    Some(value) => Zeroizing::new(value.to_owned()),
                    None => continue,
                }
            };
            entries.push(StoredEntry {
                key: self.class.config_key(param.name, &self.name),
                value,
                typ: param.typ.config_type(),
            });
        }
        entries
    }

    /// A fingerprint of the whole definition (password included, as a digest), to tell whether
    /// a built resolver still matches the configuration.
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(self.class.type_name());
        hasher.update([0]);
        hasher.update(&self.name);
        for (name, value) in &self.values {
            hasher.update([0]);
            hasher.update(name);
            hasher.update([1]);
            hasher.update(value);
        }
        if let Some(secret) = &self.secret {
            hasher.update([2]);
            hasher.update(secret.expose());
        }
        hasher.finalize().into()
    }

    /// Parses the typed settings and checks what LinOTP's `loadConfig` checks (USERINFO / Map
    /// are JSON objects, TIMEOUT numbers, the passwd file readable).
    pub fn settings(&self) -> Result<ResolverSettings> {
        match self.class {
            ResolverClass::Ldap => LdapSettings::from_config(self).map(ResolverSettings::Ldap),
            ResolverClass::Sql => SqlSettings::from_config(self).map(ResolverSettings::Sql),
            ResolverClass::Passwd => {
                PasswdSettings::from_config(self).map(ResolverSettings::Passwd)
            }
        }
    }
}

/// Python's `repr` of a list of names: `['BINDPW', 'LDAPURI']`.
fn python_list(names: &[&str]) -> String {
    let items: Vec<String> = names.iter().map(|name| python_repr(name)).collect();
    format!("[{}]", items.join(", "))
}

/// The typed settings of one resolver.
#[derive(Debug, Clone)]
pub enum ResolverSettings {
    /// LDAP.
    Ldap(LdapSettings),
    /// SQL.
    Sql(SqlSettings),
    /// passwd file.
    Passwd(PasswdSettings),
}

/// What `LDAPIdResolver` reads from its definition.
#[derive(Clone)]
pub struct LdapSettings {
    /// Resolver name.
    pub name: String,
    /// `LDAPURI`: tried in order, failing servers are skipped for a while.
    pub uris: Vec<String>,
    /// `LDAPBASE`.
    pub base: String,
    /// `BINDDN` (empty: anonymous).
    pub bind_dn: String,
    /// `BINDPW`.
    pub bind_password: SecretString,
    /// `LOGINNAMEATTRIBUTE`.
    pub login_attribute: String,
    /// `LDAPFILTER`, with `%s` for the (escaped) login.
    pub login_filter: String,
    /// `LDAPSEARCHFILTER`, without the outer `(&…)`.
    pub search_filter: String,
    /// `USERINFO`: LinOTP field → LDAP attribute, in order.
    pub user_info: Vec<(String, String)>,
    /// `UIDTYPE`: `DN`, `entryUUID`, `objectGUID`, or any attribute.
    pub uid_type: String,
    /// `EnforceTLS`: STARTTLS on `ldap://` URIs.
    pub enforce_tls: bool,
    /// `only_trusted_certs`: verify server certificates.
    pub only_trusted_certs: bool,
    /// `NOREFERRALS` (referrals are never chased here; kept for round trips).
    pub no_referrals: bool,
    /// `PROXY`: objectGUID lookups by search instead of `<GUID=…>` base.
    pub proxy: bool,
    /// Connect timeout (`TIMEOUT`'s first number).
    pub connect_timeout: Duration,
    /// Per-operation timeout (`TIMEOUT`'s second number, else the first).
    pub response_timeout: Duration,
    /// `SIZELIMIT`.
    pub size_limit: i32,
    /// `CACERTIFICATE`: PEM certificates to trust instead of the system's.
    pub ca_certificate: Option<String>,
}

impl fmt::Debug for LdapSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LdapSettings")
            .field("name", &self.name)
            .field("uris", &self.uris)
            .field("base", &self.base)
            .field("bind_dn", &self.bind_dn)
            .field("bind_password", &"<redacted>")
            .field("login_attribute", &self.login_attribute)
            .field("uid_type", &self.uid_type)
            .field("enforce_tls", &self.enforce_tls)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .finish_non_exhaustive()
    }
}

/// Timeouts used when `TIMEOUT` is `-1` ("no limit" in LinOTP): a directory that never
/// answers must not hold requests forever.
pub const LDAP_DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// See [`LDAP_DEFAULT_CONNECT_TIMEOUT`].
pub const LDAP_DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// `TIMEOUT`: `"5"` (both) or `"3;10"` (connect; response), seconds, fractions allowed;
/// negative or zero means LinOTP's "no limit", replaced by the defaults above.
pub fn parse_ldap_timeout(text: &str) -> std::result::Result<(Duration, Duration), String> {
    let number = |part: &str| -> std::result::Result<Option<Duration>, String> {
        let seconds: f64 = part.trim().parse().map_err(|_| {
            format!(
                "could not convert string to float: {}",
                python_repr(part.trim())
            )
        })?;
        Ok((seconds.is_finite() && seconds > 0.0).then(|| Duration::from_secs_f64(seconds)))
    };
    let (connect, response) = match text.split_once(';') {
        Some((connect, response)) => (number(connect)?, number(response)?),
        None => {
            let both = number(text)?;
            (both, both)
        }
    };
    Ok((
        connect.unwrap_or(LDAP_DEFAULT_CONNECT_TIMEOUT),
        response.unwrap_or(LDAP_DEFAULT_RESPONSE_TIMEOUT),
    ))
}

/// LinOTP splits URI lists at commas; spaces are accepted too.
fn split_uris(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|uri| !uri.is_empty())
        .map(str::to_owned)
        .collect()
}

fn unable_to_instantiate(name: &str) -> ResolverError {
    ResolverError::definition(format!(
        "Unable to instantiate the resolver {}.Please verify configuration or connection!",
        python_repr(name)
    ))
}

impl LdapSettings {
    fn from_config(config: &ResolverConfig) -> Result<LdapSettings> {
        let text = |param: &str| config.get(param).unwrap_or_default().to_owned();
        let user_info = parse_mapping(&text("USERINFO")).map_err(|error| {
            tracing::warn!(resolver = %config.name, %error, "USERINFO is not a JSON object");
            unable_to_instantiate(&config.name)
        })?;
        let (connect_timeout, response_timeout) =
            parse_ldap_timeout(&text("TIMEOUT")).map_err(ResolverError::definition)?;
        let uris = split_uris(&text("LDAPURI"));
        if let Some(bad) = uris
            .iter()
            .find(|uri| !uri.starts_with("ldap://") && !uri.starts_with("ldaps://"))
        {
            return Err(ResolverError::definition(format!(
                "unsuported protocol {}",
                python_repr(bad)
            )));
        }
        let size_limit = text("SIZELIMIT")
            .parse::<i64>()
            .unwrap_or(500)
            .clamp(0, i64::from(i32::MAX));
        Ok(LdapSettings {
            name: config.name.clone(),
            uris,
            base: text("LDAPBASE"),
            bind_dn: text("BINDDN"),
            bind_password: config.secret.clone().unwrap_or_default(),
            login_attribute: text("LOGINNAMEATTRIBUTE"),
            login_filter: text("LDAPFILTER"),
            search_filter: text("LDAPSEARCHFILTER"),
            user_info,
            uid_type: match text("UIDTYPE").trim() {
                "" => "DN".to_owned(),
                other => other.to_owned(),
            },
            enforce_tls: config.get("EnforceTLS") == Some("True"),
            only_trusted_certs: config.get("only_trusted_certs") != Some("False"),
            no_referrals: config.get("NOREFERRALS") == Some("True"),
            proxy: config.get("PROXY") == Some("True"),
            connect_timeout,
            response_timeout,
            size_limit: i32::try_from(size_limit).unwrap_or(i32::MAX),
            ca_certificate: config.get(CACERTIFICATE).map(str::to_owned),
        })
    }

    /// True when user ids are DNs.
    pub fn uid_is_dn(&self) -> bool {
        self.uid_type.eq_ignore_ascii_case("dn")
    }
}

/// Where an SQL resolver's users live.
#[derive(Clone)]
pub enum SqlSource {
    /// `readonly` ("managed") resolvers read LinOTP's own database (imported users, local
    /// administrators).
    OwnDatabase,
    /// Another database, by URI (`Connect`, or built from Driver/Server/Port/…).
    Uri(Zeroizing<String>),
}

impl fmt::Debug for SqlSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlSource::OwnDatabase => f.write_str("OwnDatabase"),
            SqlSource::Uri(uri) => match linotp_store::DatabaseUri::parse(uri) {
                Ok(parsed) => write!(f, "Uri({parsed})"),
                Err(_) => f.write_str("Uri(<unparsable>)"),
            },
        }
    }
}

/// What `SQLIdResolver` reads from its definition.
#[derive(Debug, Clone)]
pub struct SqlSettings {
    /// Resolver name.
    pub name: String,
    /// The database.
    pub source: SqlSource,
    /// `Table`.
    pub table: String,
    /// `Where`: an SQL condition added to every query, as the administrator wrote it.
    pub where_clause: String,
    /// `Map`: LinOTP field → column, in order.
    pub map: Vec<(String, String)>,
    /// `Limit`: most users a search returns.
    pub limit: i64,
}

impl SqlSettings {
    fn from_config(config: &ResolverConfig) -> Result<SqlSettings> {
        let text = |param: &str| config.get(param).unwrap_or_default().to_owned();
        let map_text = text("Map");
        let map = parse_mapping(map_text.trim().trim_matches('\'').trim_matches('"')).map_err(
            |error| {
                tracing::warn!(resolver = %config.name, %error, "Map is not a JSON object");
                unable_to_instantiate(&config.name)
            },
        )?;
        let source = if config.is_readonly() {
            SqlSource::OwnDatabase
        } else {
            let connect = text("Connect");
            if connect.trim().is_empty() {
                let password = config.secret.clone().unwrap_or_default();
                SqlSource::Uri(make_connect(
                    &text("Driver"),
                    &text("User"),
                    password.expose(),
                    &text("Server"),
                    &text("Port"),
                    &text("Database"),
                    &text("conParams"),
                ))
            } else {
                SqlSource::Uri(Zeroizing::new(connect.trim().to_owned()))
            }
        };
        Ok(SqlSettings {
            name: config.name.clone(),
            source,
            table: text("Table"),
            where_clause: text("Where"),
            map,
            limit: text("Limit").parse().unwrap_or(1000),
        })
    }

    /// The column mapped to `field`.
    pub fn column_of(&self, field: &str) -> Option<&str> {
        self.map
            .iter()
            .find(|(key, _)| key == field)
            .map(|(_, column)| column.as_str())
    }
}

/// LinOTP's `build_simple_connect`: `driver://user:password@server:port/database?conParams`.
/// The password is put in percent-encoded, since the URI parser decodes it.
pub fn make_connect(
    driver: &str,
    user: &str,
    password: &str,
    server: &str,
    port: &str,
    database: &str,
    con_params: &str,
) -> Zeroizing<String> {
    let driver = if driver == "None" { "" } else { driver.trim() };
    let mut uri = Zeroizing::new(format!("{driver}://"));
    let user = user.trim();
    if !user.is_empty() {
        uri.push_str(&percent_encode(user));
        if !password.trim().is_empty() {
            uri.push(':');
            uri.push_str(&percent_encode(password));
        }
    }
    let server = server.trim();
    if !server.is_empty() {
        uri.push('@');
        uri.push_str(server);
        let port = port.trim();
        if !port.is_empty() {
            uri.push(':');
            uri.push_str(port);
        }
    } else if !user.is_empty() {
        uri.push('@');
    }
    let database = database.trim();
    if !database.is_empty() {
        uri.push('/');
        uri.push_str(database);
    }
    if !con_params.is_empty() {
        uri.push('?');
        uri.push_str(con_params);
    }
    uri
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What `PasswdIdResolver` reads from its definition.
#[derive(Debug, Clone)]
pub struct PasswdSettings {
    /// Resolver name.
    pub name: String,
    /// `fileName` (empty: `/etc/passwd`).
    pub file: PathBuf,
}

impl PasswdSettings {
    fn from_config(config: &ResolverConfig) -> Result<PasswdSettings> {
        let file = config.get("fileName").unwrap_or_default().trim();
        let file = PathBuf::from(if file.is_empty() { "/etc/passwd" } else { file });
        if !file.is_file() || std::fs::File::open(&file).is_err() {
            tracing::warn!(resolver = %config.name, file = %file.display(), "passwd file not readable");
            return Err(unable_to_instantiate(&config.name));
        }
        Ok(PasswdSettings {
            name: config.name.clone(),
            file,
        })
    }
}

/// How `/system/setResolver` changes the set of resolvers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefineMode {
    /// A new resolver.
    Create,
    /// Same name, new settings.
    Update,
    /// New name (`previous_name` given): realms naming the previous resolver and its tokens
    /// move to the new one, the previous definition is deleted.
    Rename {
        /// The old name.
        previous: String,
    },
}

/// The outcome of [`define_resolver`]: what to store and what else to do.
#[derive(Debug, Clone)]
pub struct ResolverDefinition {
    /// The definition to store ([`ResolverConfig::to_entries`]); the caller deletes the
    /// previous rows of this name first.
    pub config: ResolverConfig,
    /// Create, update or rename.
    pub mode: DefineMode,
    /// The user id attribute (UIDTYPE / Map `userid`) changed: the tokens' user ids must be
    /// migrated, as LinOTP does.
    pub primary_key_changed: bool,
}

/// LinOTP's resolver name rule: at least 4 of `[a-zA-Z0-9_-]`.
pub fn is_valid_resolver_name(name: &str) -> bool {
    name.chars().count() >= 4
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `/system/setResolver`: validates the request parameters the way LinOTP does, in LinOTP's
/// order, with its error texts, and returns the definition to store.
///
/// `params` answers request parameter names (`name`, `type`, `previous_name`, `readonly`,
/// `LDAPURI`, …). `existing` returns the stored definition of a resolver name (passwords
/// decrypted), `None` when there is none. Nothing is contacted: like LinOTP, errors of the
/// directory or database only show at first use or in `/admin/testresolver`.
///
/// ```
/// use std::collections::HashMap;
/// use linotp_resolvers::{DefineMode, define_resolver};
///
/// let params: HashMap<String, String> = [("name", "local"), ("type", "passwdresolver"),
///     ("fileName", "/etc/passwd")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
/// let definition = define_resolver(&params, &|_: &str| None)?;
/// assert_eq!(definition.mode, DefineMode::Create);
/// let entries = definition.config.to_entries();
/// assert_eq!(entries[0].key, "linotp.passwdresolver.fileName.local");
///
/// let mut unnamed = params.clone();
/// unnamed.remove("type");
/// let error = define_resolver(&unnamed, &|_: &str| None).unwrap_err();
/// assert_eq!(error.to_string(), "'type'");
/// # Ok::<(), linotp_resolvers::ResolverError>(())
/// ```
pub fn define_resolver(
    params: &dyn ConfigLookup,
    existing: &dyn Fn(&str) -> Option<ResolverConfig>,
) -> Result<ResolverDefinition> {
    let Some(name) = params.lookup("name") else {
        return Err(ResolverError::parameter(
            "missing required parameter \"name\"",
        ));
    };
    let readonly = match params.lookup(READONLY) {
        Some(value) if value.is_empty() => None,
        Some(value) => {
            if parse_boolean(&value).is_err() {
                return Err(ResolverError::definition(format!(
                    "Failed to convert attribute 'readonly' to a boolean value! {}",
                    python_repr(&value)
                )));
            }
            Some(value)
        }
        None => None,
    };
    let previous_name = params.lookup("previous_name").unwrap_or_default();
    let mode = if previous_name.is_empty() {
        DefineMode::Create
    } else if previous_name == name {
        DefineMode::Update
    } else {
        DefineMode::Rename {
            previous: previous_name.clone(),
        }
    };
    if mode != DefineMode::Update && existing(&name).is_some() {
        let verb = if mode == DefineMode::Create {
            "create"
        } else {
            "rename"
        };
        return Err(ResolverError::definition(format!(
            "Cound not {verb} resolver, resolver {} already exists!",
            python_repr(&name)
        )));
    }
    let previous = if previous_name.is_empty() {
        None
    } else {
        existing(&previous_name)
    };
    let type_error = || ResolverError::definition("'type'");
    if !previous_name.is_empty() {
        let typ = params.lookup("type").ok_or_else(type_error)?;
        if previous.as_ref().map(|config| config.class.type_name()) != Some(typ.as_str()) {
            return Err(ResolverError::definition(
                "Modification of resolver type is not supported!",
            ));
        }
    }
    let typ = params.lookup("type").ok_or_else(type_error)?;
    let class = ResolverClass::from_type_name(&typ).ok_or_else(|| {
        ResolverError::definition(format!(
            "no such resolver type '{}' defined!",
            python_repr(&typ)
        ))
    })?;

    // The request's parameters, with LinOTP's merges applied.
    let mut given: HashMap<String, String> = class
        .params()
        .iter()
        .filter_map(|param| {
            params
                .lookup(param.name)
                .map(|value| (param.name.to_owned(), value))
        })
        .collect();
    match readonly {
        Some(value) => {
            given.insert(READONLY.to_owned(), value);
        }
        None => {
            given.remove(READONLY);
        }
    }
    let mut primary_key_changed = false;
    if let Some(previous) = &previous {
        let previous_data = previous_values(previous);
        let critical = class.critical_params().iter().any(|param| {
            given.get(*param).map(String::as_str).unwrap_or_default()
                != previous_data
                    .get(*param)
                    .map(|value| value.as_str())
                    .unwrap_or_default()
        });
        if !critical && let Some(secret_param) = class.secret_param() {
            let new_is_empty = given.get(secret_param).is_none_or(String::is_empty);
            if new_is_empty && let Some(old) = previous_data.get(secret_param) {
                given.insert(secret_param.to_owned(), old.to_string());
            }
        }
        if previous.is_readonly() {
            for (key, value) in &previous_data {
                if key == READONLY {
                    given.insert(READONLY.to_owned(), value.to_string());
                } else if given.get(key).map(String::as_str).unwrap_or_default() != value.as_str() {
                    return Err(ResolverError::definition(
                        "Readonly Resolver Change not allowed!",
                    ));
                }
            }
        }
        primary_key_changed = match class {
            ResolverClass::Ldap => {
                given.get("UIDTYPE").map(String::as_str).unwrap_or_default()
                    != previous_data
                        .get("UIDTYPE")
                        .map(|value| value.as_str())
                        .unwrap_or_default()
            }
            ResolverClass::Sql => {
                let userid_column = |map: Option<&str>| {
                    parse_mapping(map.unwrap_or("{}"))
                        .ok()
                        .and_then(|map| map.into_iter().find(|(key, _)| key == "userid"))
                        .map(|(_, column)| column)
                        .unwrap_or_default()
                };
                userid_column(given.get("Map").map(String::as_str))
                    != userid_column(previous.get("Map"))
            }
            ResolverClass::Passwd => false,
        };
    }
    if let Some(secret_param) = class.secret_param()
        && !given.contains_key(secret_param)
    {
        return Err(ResolverError::parameter(format!(
            "Missing parameter: {}",
            python_list(&[secret_param])
        )));
    }
    if !is_valid_resolver_name(&name) {
        return Err(ResolverError::definition(format!(
            "('Resolver name is invalid. It may contain characters, numbers, underscore (_), \
             hyphen (-)! %r', {})",
            python_repr(&name)
        )));
    }
    let (config, missing) =
        ResolverConfig::filter(class, &name, &given).map_err(ResolverError::definition)?;
    if !missing.is_empty() {
        tracing::info!(resolver = %name, missing = ?missing, "resolver definition incomplete");
        return Err(unable_to_instantiate(&name));
    }
    config.settings()?;
    Ok(ResolverDefinition {
        config,
        mode,
        primary_key_changed,
    })
}

/// A definition's values as LinOTP's `getResolverInfo(passwords=True)` gives them.
fn previous_values(config: &ResolverConfig) -> HashMap<String, Zeroizing<String>> {
    let mut values: HashMap<String, Zeroizing<String>> = config
        .values
        .iter()
        .map(|(name, value)| ((*name).to_owned(), Zeroizing::new(value.clone())))
        .collect();
    if let (Some(param), Some(secret)) = (config.class.secret_param(), &config.secret) {
        values.insert(param.to_owned(), Zeroizing::new(secret.expose().to_owned()));
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_follow_linotp() {
        for yes in ["1", "yes", "TRUE", "True"] {
            assert_eq!(parse_boolean(yes), Ok(true));
        }
        for no in ["0", "no", "False"] {
            assert_eq!(parse_boolean(no), Ok(false));
        }
        assert_eq!(
            parse_boolean("Maybe"),
            Err("unable to convert 'maybe' to a boolean".to_owned())
        );
    }

    #[test]
    fn durations_follow_linotp() {
        assert_eq!(parse_duration("64800"), Some(Duration::from_secs(64800)));
        assert_eq!(parse_duration("36h"), Some(Duration::from_secs(36 * 3600)));
        assert_eq!(
            parse_duration("1d 2h 3m 4s"),
            Some(Duration::from_secs(86_400 + 7_200 + 180 + 4))
        );
        assert_eq!(
            parse_duration("P1DT2H"),
            Some(Duration::from_secs(86_400 + 7_200))
        );
        assert_eq!(
            parse_duration("3 hours"),
            Some(Duration::from_secs(3 * 3600))
        );
        assert_eq!(parse_duration("h3"), None);
        assert_eq!(parse_duration("2s1h"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn ldap_timeouts_take_connect_and_response_parts() {
        assert_eq!(
            parse_ldap_timeout("5"),
            Ok((Duration::from_secs(5), Duration::from_secs(5)))
        );
        assert_eq!(
            parse_ldap_timeout("1.5;10"),
            Ok((Duration::from_millis(1500), Duration::from_secs(10)))
        );
        assert_eq!(
            parse_ldap_timeout("-1"),
            Ok((LDAP_DEFAULT_CONNECT_TIMEOUT, LDAP_DEFAULT_RESPONSE_TIMEOUT))
        );
        assert_eq!(
            parse_ldap_timeout("soon"),
            Err("could not convert string to float: 'soon'".to_owned())
        );
    }

    #[test]
    fn mappings_keep_their_order() {
        let map =
            parse_mapping(r#"{"userid": "id", "username": "user", "email": "mail"}"#).unwrap();
        let keys: Vec<&str> = map.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, ["userid", "username", "email"]);
        assert!(parse_mapping("[1]").is_err());
        assert!(parse_mapping(r#"{"a": 1}"#).is_err());
        assert!(parse_mapping(r#"{"a": "b"} trailing"#).is_err());
    }

    #[test]
    fn connect_strings_are_built_like_linotp() {
        let uri = make_connect(
            "postgresql+psycopg2",
            "linotp",
            "p@ss:w/rd",
            "db.example",
            "5432",
            "users",
            "sslmode=disable",
        );
        assert_eq!(
            uri.as_str(),
            "postgresql+psycopg2://linotp:p%40ss%3Aw%2Frd@db.example:5432/users?sslmode=disable"
        );
        assert_eq!(
            make_connect("mysql", "root", "", "", "", "db", "").as_str(),
            "mysql://root@/db"
        );
        assert_eq!(
            make_connect("sqlite", "", "", "", "", "/tmp/u.db", "").as_str(),
            "sqlite:////tmp/u.db"
        );
    }

    #[test]
    fn resolver_names_follow_linotp_rule() {
        assert!(is_valid_resolver_name("corp-ldap_1"));
        assert!(!is_valid_resolver_name("abc"));
        assert!(!is_valid_resolver_name("with space"));
        assert!(!is_valid_resolver_name("dot.ted"));
    }
}
