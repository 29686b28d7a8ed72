//! `/system/setConfig`, `getConfig`, `delConfig`, `setDefault`: the `Config` table.
//!
//! Values typed `password` or `encrypted_data` are stored encrypted with the config key and
//! are only ever shown as their ciphertext. Where LinOTP echoes a value in its reply or audit
//! row (`setConfig key:value`, `info`), an encrypted value is shown as `***` here.

use axum::response::Response;
use chrono::format::{Item, StrftimeItems};
use ipnet::IpNet;
use linotp_resolvers::config::parse_duration;
use linotp_store::config::{self as config_store, full_key};
use serde_json::{Map, Value};

use super::{Access, Ctx, Guard, ok, store_entry, system_handler};
use crate::error::{ApiError, Result};
use crate::params::{Params, parse_bool};
use crate::users;

/// Shown instead of a secret value in replies and audit rows.
const MASKED: &str = "***";

/// Request parameters that are transport, not configuration.
const TRANSPORT_PARAMS: [&str; 3] = ["session", "csrf_token", "httperror"];

/// The token defaults `setDefault` knows, as LinOTP names them.
const DEFAULT_KEYS: [&str; 5] = [
    "DefaultMaxFailCount",
    "DefaultSyncWindow",
    "DefaultCountWindow",
    "DefaultOtpLen",
    "DefaultResetFailCount",
];

/// LinOTP's usage text for `setDefault` (its line continuations keep the indentation).
const SET_DEFAULT_USAGE: &str = "Usage: setDefault: parameters are        DefaultMaxFailCount        \
DefaultSyncWindow        DefaultCountWindow        DefaultOtpLen        DefaultResetFailCount        ";

/// Whether a `type` asks for encrypted storage.
fn is_secret_type(typ: Option<&str>) -> bool {
    typ.is_some_and(|typ| {
        let typ = typ.to_lowercase();
        typ == "password" || typ == "encrypted_data"
    })
}

/// Keys whose values are always secrets (LinOTP's `type_definitions`: legacy provider
/// configurations).
fn is_always_secret(key: &str) -> bool {
    matches!(
        full_key(key).as_str(),
        "linotp.EmailProviderConfig" | "linotp.SMSProviderConfig"
    )
}

/// LinOTP's `Config_Types`: keys whose values must have a form.
fn check_type(key: &str, value: &str) -> Result<()> {
    let key = full_key(key);
    let (typ, valid) = match key.as_str() {
        "linotp.user_lookup_cache.expiration" | "linotp.resolver_lookup_cache.expiration" => {
            ("duration", parse_duration(value).is_some())
        }
        "linotp.client.FORWARDED_PROXY" => ("network", is_network_list(value)),
        "linotp.token.last_access" => ("time_format_string", is_time_format(value)),
        _ => return Ok(()),
    };
    if valid {
        Ok(())
    } else {
        Err(ApiError::Internal(format!(
            "Config Error: {key} must be of type '{typ}'"
        )))
    }
}

/// Comma or space separated addresses / networks.
fn is_network_list(value: &str) -> bool {
    value
        .split([',', ' '])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .all(|entry| entry.parse::<IpNet>().is_ok() || entry.parse::<std::net::IpAddr>().is_ok())
}

/// A `strftime` format, or a boolean (`False` switches the feature off).
fn is_time_format(value: &str) -> bool {
    if parse_bool(value.trim()).is_some() {
        return true;
    }
    !StrftimeItems::new(value).any(|item| matches!(item, Item::Error))
}

/// LinOTP's `storeConfig`: encrypts secret-typed values, checks typed keys, stores.
/// Returns whether the value was stored encrypted.
fn store_config(
    ctx: &mut Ctx<'_>,
    key: &str,
    value: &str,
    typ: Option<&str>,
    description: Option<&str>,
) -> Result<bool> {
    let secret = is_secret_type(typ) || (typ.is_none() && is_always_secret(key));
    check_type(key, value)?;
    if secret {
        let encrypted = ctx.app.security.encrypt_password(value.as_bytes())?;
        store_entry(
            ctx.conn,
            key,
            &encrypted,
            Some("encrypted_data"),
            description,
        )?;
    } else {
        store_entry(ctx.conn, key, value, typ, description)?;
    }
    Ok(secret)
}

/// LinOTP's config callbacks: switching a lookup cache off empties it.
fn after_store(ctx: &Ctx<'_>, key: &str, value: &str) {
    let key = full_key(key);
    let switched_off = parse_bool(value.trim()) == Some(false);
    if switched_off
        && (key == "linotp.user_lookup_cache.enabled"
            || key == "linotp.resolver_lookup_cache.enabled")
    {
        tracing::info!(key = %key, "lookup cache switched off: flushing user caches");
        users::registry(ctx.app).flush_caches();
    }
}

fn set_config_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    if params.contains("key") {
        let key = params.optional("key").unwrap_or_default().into_owned();
        let Some(value) = params.optional("value") else {
            return Err(ApiError::Parameter(
                "Required parameters: value and key".to_owned(),
            ));
        };
        let typ = params.optional("type");
        let description = params.optional("description");
        let secret = store_config(ctx, &key, &value, typ.as_deref(), description.as_deref())?;
        after_store(ctx, &key, &value);
        ctx.audit.success = true;
        ctx.audit.info = format!("{key}={}", if secret { MASKED } else { &value });
        let mut result = Map::new();
        result.insert(format!("setConfig {key}"), Value::Bool(true));
        return ok(result);
    }

    // Form B: every parameter is an entry; `<key>.type` / `<key>.desc` type and describe
    // `<key>`.
    let entries: Vec<(String, String)> = params
        .iter()
        .filter(|(name, _)| !TRANSPORT_PARAMS.contains(name))
        .map(|(name, _)| {
            (
                name.to_owned(),
                params.optional(name).unwrap_or_default().into_owned(),
            )
        })
        .collect();
    let lookup = |name: &str| {
        entries
            .iter()
            .find(|(entry, _)| entry == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    };
    let mut secret_keys = Vec::new();
    let mut handled: Vec<String> = Vec::new();
    for (name, value) in &entries {
        let key = name
            .strip_suffix(".type")
            .or_else(|| name.strip_suffix(".desc"))
            .unwrap_or(name);
        if handled.iter().any(|done| done == key) {
            continue;
        }
        let typ = lookup(&format!("{key}.type"));
        let description = lookup(&format!("{key}.desc"));
        let value = if key == name {
            value.as_str()
        } else {
            match entries.iter().find(|(entry, _)| entry == key) {
                Some((_, value)) => value.as_str(),
                None => {
                    return Err(ApiError::Parameter(format!(
                        "Required parameters: value of {key}"
                    )));
                }
            }
        };
        let secret = store_config(ctx, key, value, typ, description)?;
        if secret {
            secret_keys.push(key.to_owned());
        }
        after_store(ctx, key, value);
        handled.push(key.to_owned());
    }
    let mut result = Map::new();
    let mut info = String::new();
    for (name, value) in &entries {
        let shown = if secret_keys.iter().any(|key| key == name) {
            MASKED
        } else {
            value.as_str()
        };
        result.insert(format!("setConfig {name}:{shown}"), Value::Bool(true));
        info.push_str(&format!("{name}={shown}, "));
        ctx.audit.success = true;
    }
    ctx.audit.info = info;
    ok(result)
}

system_handler!(
    /// `/system/setConfig`: `key` + `value` (+ `type`, `description`), or `name=value` pairs.
    set_config,
    "system/setConfig",
    Guard::System("setConfig"),
    Access::Write,
    set_config_work
);

fn get_config_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let asked = params
        .iter()
        .filter(|(name, _)| !TRANSPORT_PARAMS.contains(name))
        .count();
    if asked == 0 {
        let mut all = Map::new();
        let mut entries: Vec<_> = ctx.config.entries().collect();
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        for entry in entries {
            // Encrypted values appear as their ciphertext, never in clear.
            if let Some(key) = entry.key.strip_prefix("linotp.") {
                all.insert(key.to_owned(), Value::from(entry.value.as_str()));
            }
        }
        ctx.audit.success = true;
        ctx.audit.info = "complete config".to_owned();
        return ok(all);
    }
    let Some(key) = params.optional("key") else {
        return Err(ApiError::Parameter(
            "missing required parameter: key".to_owned(),
        ));
    };
    let key = match key.strip_prefix("enclinotp.") {
        Some(rest) => format!("linotp.{rest}"),
        None => key.into_owned(),
    };
    let value = ctx.config.entry(&key).map(|entry| entry.value.clone());
    ctx.audit.success = value.as_deref().is_some_and(|value| !value.is_empty());
    ctx.audit.info = format!("config key {key}");
    let mut result = Map::new();
    result.insert(
        format!("getConfig {key}"),
        value.map_or(Value::Null, Value::from),
    );
    ok(result)
}

system_handler!(
    /// `/system/getConfig`: every `linotp.*` entry (prefix stripped, sorted), or one `key`.
    get_config,
    "system/getConfig",
    Guard::System("getConfig"),
    Access::Read,
    get_config_work
);

fn del_config_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let Some(key) = params.optional("key") else {
        return Err(ApiError::Parameter(
            "missing required parameter: key".to_owned(),
        ));
    };
    config_store::delete(ctx.conn, &key)?;
    ctx.audit.success = true;
    ctx.audit.info = key.clone().into_owned();
    let mut result = Map::new();
    result.insert(format!("delConfig {key}"), Value::Bool(true));
    ok(result)
}

system_handler!(
    /// `/system/delConfig`: removes `key` (with all its chunks); `true` even when absent.
    del_config,
    "system/delConfig",
    Guard::System("delConfig"),
    Access::Write,
    del_config_work
);

fn set_default_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let lower = params.lowercased();
    let mut result = Map::new();
    let mut info = String::new();
    for key in DEFAULT_KEYS {
        let Some(value) = lower.optional(&key.to_lowercase()) else {
            continue;
        };
        store_config(ctx, key, &value, None, None)?;
        result.insert(format!("set {key}"), Value::Bool(true));
        info.push_str(&format!("{key}={value}, "));
    }
    if result.is_empty() {
        return Err(ApiError::Usage(SET_DEFAULT_USAGE.to_owned()));
    }
    ctx.audit.success = true;
    ctx.audit.info = info;
    ok(result)
}

system_handler!(
    /// `/system/setDefault`: the token defaults (`DefaultMaxFailCount`, …; names in any case).
    set_default,
    "system/setDefault",
    Guard::System("setDefault"),
    Access::Write,
    set_default_work
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_keys_are_checked_like_linotp() {
        assert!(check_type("user_lookup_cache.expiration", "36h").is_ok());
        assert!(check_type("linotp.resolver_lookup_cache.expiration", "64800").is_ok());
        let error = check_type("user_lookup_cache.expiration", "soon").unwrap_err();
        assert_eq!(
            error.message(),
            "Config Error: linotp.user_lookup_cache.expiration must be of type 'duration'"
        );
        assert!(check_type("client.FORWARDED_PROXY", "10.0.0.0/8, 192.168.1.1").is_ok());
        assert!(check_type("client.FORWARDED_PROXY", "proxy.example").is_err());
        assert!(check_type("token.last_access", "%Y-%m-%d").is_ok());
        assert!(check_type("token.last_access", "False").is_ok());
        assert!(check_type("anything.else", "whatever").is_ok());
    }

    #[test]
    fn secret_types_are_recognised_in_any_case() {
        assert!(is_secret_type(Some("Password")));
        assert!(is_secret_type(Some("encrypted_data")));
        assert!(!is_secret_type(Some("int")));
        assert!(!is_secret_type(None));
        assert!(is_always_secret("SMSProviderConfig"));
    }

    #[test]
    fn usage_text_matches_linotp() {
        assert!(SET_DEFAULT_USAGE.starts_with("Usage: setDefault: parameters are        Default"));
        assert!(SET_DEFAULT_USAGE.ends_with("DefaultResetFailCount        "));
    }
}
