//! The configuration `linotp init database` writes into a new database: LinOTP's default
//! `Config` entries and the local-admin resolver in the admin realm, with the same keys, types
//! and descriptions LinOTP writes, so LinOTP and linotp-rs read each other's databases alike.

use crate::config::{self, CONFIG_TIMESTAMP_KEY};
use crate::connection::AnyConnection;
use crate::error::Result;
use crate::realms;

/// One default `Config` row (key without the `linotp.` prefix).
#[derive(Debug, Clone, Copy)]
pub struct DefaultEntry {
    /// Key without `linotp.`.
    pub key: &'static str,
    /// Value.
    pub value: &'static str,
    /// `Type` column.
    pub typ: Option<&'static str>,
    /// `Description` column.
    pub description: Option<&'static str>,
}

impl DefaultEntry {
    const fn new(
        key: &'static str,
        value: &'static str,
        typ: Option<&'static str>,
        description: Option<&'static str>,
    ) -> Self {
        DefaultEntry {
            key,
            value,
            typ,
            description,
        }
    }
}

/// What LinOTP 4.0 writes on `init database` (taken from a database LinOTP initialised; the
/// odd spellings and trailing spaces are LinOTP's own).
pub const DEFAULT_CONFIG: &[DefaultEntry] = &[
    DefaultEntry::new(
        "DefaultMaxFailCount",
        "10",
        Some("int"),
        Some("The default maximum count for unsuccessful logins"),
    ),
    DefaultEntry::new(
        "DefaultCountWindow",
        "10",
        Some("int"),
        Some("The default lookup window for tokens out of sync "),
    ),
    DefaultEntry::new("DefaultSyncWindow", "1000", None, None),
    DefaultEntry::new(
        "DefaultChallengeValidityTime",
        "120",
        Some("int"),
        Some("The default time, a challenge is regarded as valid."),
    ),
    DefaultEntry::new(
        "DefaultResetFailCount",
        "True",
        Some("bool"),
        Some("The default maximum count for unsucessful logins"),
    ),
    DefaultEntry::new(
        "DefaultOtpLen",
        "6",
        Some("int"),
        Some("The default len of the otp values"),
    ),
    DefaultEntry::new(
        "FIDO2ChallengeValidityTime",
        "120",
        Some("int"),
        Some("The time span (in seconds) that a FIDO2 challenge is considered valid."),
    ),
    DefaultEntry::new(
        "QRTokenOtpLen",
        "8",
        Some("int"),
        Some("The default len of the otp values"),
    ),
    DefaultEntry::new(
        "QRChallengeValidityTime",
        "150",
        Some("int"),
        Some("The default qrtoken time, a challenge is regarded as valid."),
    ),
    DefaultEntry::new(
        "QRMaxChallenges",
        "4",
        Some("int"),
        Some("Maximum open QRToken challenges"),
    ),
    DefaultEntry::new(
        "PushChallengeValidityTime",
        "150",
        Some("int"),
        Some("The pushtoken default time, a challenge is regarded as valid."),
    ),
    DefaultEntry::new(
        "PushMaxChallenges",
        "4",
        Some("int"),
        Some("Maximum open pushtoken challenges"),
    ),
    DefaultEntry::new(
        "PrependPin",
        "True",
        Some("bool"),
        Some("is the pin prepended - most cases"),
    ),
    DefaultEntry::new(
        "FailCounterIncOnFalsePin",
        "True",
        Some("bool"),
        Some("increment the FailCounter, if pin did not match"),
    ),
    DefaultEntry::new(
        "SMSProvider",
        "smsprovider.HttpSMSProvider.HttpSMSProvider",
        Some("text"),
        Some("SMS Default Provider via HTTP"),
    ),
    DefaultEntry::new(
        "SMSProviderTimeout",
        "300",
        Some("int"),
        Some("Timeout until registration must be done"),
    ),
    DefaultEntry::new(
        "SMSBlockingTimeout",
        "30",
        Some("int"),
        Some("Delay until next challenge is created"),
    ),
    DefaultEntry::new(
        "DefaultBlockingTimeout",
        "0",
        Some("int"),
        Some("Delay until next challenge is created"),
    ),
    DefaultEntry::new(
        "totp.timeStep",
        "30",
        Some("int"),
        Some("Time stepping of the time based otp token "),
    ),
    DefaultEntry::new(
        "totp.timeWindow",
        "300",
        Some("int"),
        Some("Lookahead time window of the time based otp token "),
    ),
    DefaultEntry::new(
        "totp.timeShift",
        "0",
        Some("int"),
        Some("Shift between server and totp token"),
    ),
    DefaultEntry::new(
        "AutoResyncTimeout",
        "240",
        Some("int"),
        Some("Autosync timeout for an totp token"),
    ),
    DefaultEntry::new(
        "EmailProvider",
        "linotp.provider.emailprovider.SMTPEmailProvider",
        Some("string"),
        Some("Default EmailProvider class"),
    ),
    DefaultEntry::new(
        "EmailChallengeValidityTime",
        "600",
        Some("int"),
        Some("Time that an e-mail token challenge stays valid (seconds)"),
    ),
    DefaultEntry::new(
        "EmailBlockingTimeout",
        "120",
        Some("int"),
        Some("Time during which no new e-mail is sent out"),
    ),
    DefaultEntry::new(
        "certificates.use_system_certificates",
        "False",
        Some("bool"),
        Some("use system certificate handling"),
    ),
    DefaultEntry::new(
        "user_lookup_cache.enabled",
        "False",
        Some("bool"),
        Some("enable user loookup caching"),
    ),
    DefaultEntry::new(
        "resolver_lookup_cache.enabled",
        "False",
        Some("bool"),
        Some("enable realm resolver caching"),
    ),
    DefaultEntry::new(
        "user_lookup_cache.expiration",
        "64800",
        Some("int"),
        Some("expiration of user caching entries"),
    ),
    DefaultEntry::new(
        "resolver_lookup_cache.expiration",
        "64800",
        Some("int"),
        Some("expiration of resolver caching entries"),
    ),
    DefaultEntry::new(
        "policy_action_validation",
        "True",
        Some("bool"),
        Some("validate policy action values"),
    ),
];

/// Writes [`DEFAULT_CONFIG`] into a database that never had a configuration (no
/// `linotp.Config` stamp), as LinOTP's `set_defaults` does; an existing configuration is left
/// untouched. Returns whether the defaults were written.
pub fn ensure_default_config(conn: &mut AnyConnection) -> Result<bool> {
    if config::get(conn, CONFIG_TIMESTAMP_KEY)?.is_some() {
        return Ok(false);
    }
    for entry in DEFAULT_CONFIG {
        config::set(conn, entry.key, entry.value, entry.typ, entry.description)?;
    }
    config::touch_timestamp(conn)?;
    Ok(true)
}

/// The resolver spec under which LinOTP lists an SQL resolver in a realm.
pub fn sql_resolver_spec(resolver: &str) -> String {
    format!("useridresolver.SQLIdResolver.IdResolver.{resolver}")
}

/// Creates the local-admin SQL resolver `resolver` (over `imported_user`, group `resolver`)
/// if it is missing, and makes sure realm `realm` exists and lists it, keeping any other
/// resolvers of that realm: LinOTP's migration 3.2.0.0 and `linotp local-admins enable`.
pub fn ensure_admin_realm(conn: &mut AnyConnection, realm: &str, resolver: &str) -> Result<()> {
    let prefix = "sqlresolver";
    let table_key = format!("{prefix}.Table.{resolver}");
    if config::get(conn, &table_key)?.is_none() {
        let map = r#"{"userid": "userid", "username": "username", "phone": "phone", "mobile": "mobile", "email": "email", "surname": "surname", "givenname": "givenname", "password": "password", "groupid": "groupid"}"#;
        let where_clause = format!("groupid = '{}'", resolver.replace('\'', "''"));
        let entries: [(&str, &str, &str); 14] = [
            ("Connect", "", "text"),
            ("conParams", "", "text"),
            ("Database", "", "text"),
            ("Driver", "", "text"),
            ("Encoding", "utf-8", "text"),
            ("Limit", "1000", "int"),
            ("Map", map, "text"),
            ("Password", "", "text"),
            ("Port", "", "text"),
            ("readonly", "True", "boolean"),
            ("Server", "", "text"),
            ("Table", "imported_user", "text"),
            ("User", "", "text"),
            ("Where", &where_clause, "text"),
        ];
        for (attribute, value, typ) in entries {
            config::set(
                conn,
                &format!("{prefix}.{attribute}.{resolver}"),
                value,
                Some(typ),
                Some("None"),
            )?;
        }
    }

    let realm_name = realm.to_lowercase();
    realms::get_or_create(conn, &realm_name)?;
    let group_key = format!("useridresolver.group.{realm_name}");
    let spec = sql_resolver_spec(resolver);
    let current = config::get(conn, &group_key)?;
    let listed: Vec<String> = current
        .as_ref()
        .map(|entry| {
            entry
                .value
                .split(',')
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if !listed.iter().any(|existing| existing == &spec) {
        let mut resolvers = listed;
        resolvers.push(spec);
        config::set(
            conn,
            &group_key,
            &resolvers.join(","),
            Some("text"),
            Some("None"),
        )?;
    }
    Ok(())
}
