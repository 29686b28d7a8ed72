//! `/system/setRealm`, `getRealms`, `delRealm`, `setDefaultRealm`, `getDefaultRealm`.
//!
//! A realm is the config entry `linotp.useridresolver.group.<realm>` (its resolver specs,
//! comma separated, in lookup order) plus a row of the `Realm` table that tokens link to.
//! The default realm is `linotp.DefaultRealm`.

use axum::response::Response;
use linotp_resolvers::{ResolverClass, ResolverConfig};
use linotp_store::config::{self as config_store};
use linotp_store::realms as realm_store;
use serde_json::{Map, Value};

use super::{Access, Ctx, Guard, ok, store_entry, system_handler};
use crate::error::{ApiError, Result};
use crate::params::Params;
use crate::pyfmt::python_str_repr;
use crate::sysconfig::SystemConfig;
use crate::users::ResolverSpec;

/// Config key prefix of realm definitions.
pub(crate) const REALM_PREFIX: &str = "linotp.useridresolver.group.";
/// LinOTP's legacy definition of the unnamed default realm.
const LEGACY_DEFAULT_REALM_KEY: &str = "linotp.useridresolver";

/// One realm as `getRealms` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RealmDefinition {
    /// The name as written in the config key.
    pub(crate) realmname: String,
    /// The config key.
    pub(crate) entry: String,
    /// The resolver specs, split as stored (legacy `useridresolveree.` normalised).
    pub(crate) resolvers: Vec<String>,
    pub(crate) is_default: bool,
    pub(crate) is_admin: bool,
}

impl RealmDefinition {
    /// Whether the realm lists the resolver called `resolver_name`.
    pub(crate) fn lists_resolver(&self, resolver_name: &str) -> bool {
        self.resolvers
            .iter()
            .any(|spec| spec.trim().rsplit('.').next() == Some(resolver_name))
    }

    fn to_json(&self) -> Value {
        let mut definition = Map::new();
        definition.insert("realmname".to_owned(), Value::from(self.realmname.as_str()));
        definition.insert("entry".to_owned(), Value::from(self.entry.as_str()));
        definition.insert(
            "useridresolver".to_owned(),
            Value::from(self.resolvers.clone()),
        );
        if self.is_default {
            // LinOTP's string, not a boolean.
            definition.insert("default".to_owned(), Value::from("true"));
        }
        definition.insert("admin".to_owned(), Value::Bool(self.is_admin));
        Value::Object(definition)
    }
}

/// Every realm of the configuration, keyed by lower-case name, sorted.
pub(crate) fn all_realms(
    config: &SystemConfig,
    admin_realm: &str,
) -> Vec<(String, RealmDefinition)> {
    let default_realm = config.default_realm();
    let admin_realm = admin_realm.to_lowercase();
    let mut realms: Vec<(String, RealmDefinition)> = config
        .entries()
        .filter_map(|entry| {
            let realmname = if entry.key == LEGACY_DEFAULT_REALM_KEY {
                "_default_"
            } else {
                entry.key.strip_prefix(REALM_PREFIX)?
            };
            let key = realmname.to_lowercase();
            let resolvers = entry
                .value
                .replace("useridresolveree.", "useridresolver.")
                .split(',')
                .map(str::to_owned)
                .collect();
            Some((
                key.clone(),
                RealmDefinition {
                    realmname: realmname.to_owned(),
                    entry: entry.key.clone(),
                    resolvers,
                    is_default: default_realm.as_deref() == Some(key.as_str()),
                    is_admin: key == admin_realm,
                },
            ))
        })
        .collect();
    realms.sort_by(|a, b| a.0.cmp(&b.0));
    realms
}

/// The lower-case names of the realms the configuration defines
/// (`useridresolver.group.<realm>`), sorted.
pub(crate) fn realm_names(config: &SystemConfig) -> Vec<String> {
    let mut names: Vec<String> = config
        .entries()
        .filter_map(|entry| entry.key.strip_prefix(REALM_PREFIX).map(str::to_lowercase))
        .collect();
    names.sort();
    names
}

/// LinOTP's `getRealms(name)`: only that realm when it exists, else all of them.
fn realms_reply(config: &SystemConfig, admin_realm: &str, wanted: Option<&str>) -> Value {
    let realms = all_realms(config, admin_realm);
    let wanted = wanted.map(|name| name.trim().to_lowercase());
    let only = wanted
        .as_deref()
        .filter(|wanted| realms.iter().any(|(name, _)| name == wanted));
    let reply: Map<String, Value> = realms
        .iter()
        .filter(|(name, _)| only.is_none_or(|only| name == only))
        .map(|(name, definition)| (name.clone(), definition.to_json()))
        .collect();
    Value::Object(reply)
}

fn get_realms_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    ctx.audit.success = true;
    let wanted = params.optional("realm");
    ok(realms_reply(
        &ctx.config,
        &ctx.app.options.admin_realm,
        wanted.as_deref(),
    ))
}

system_handler!(
    /// `/system/getRealms`: every realm, or only `realm` when it exists.
    get_realms,
    "system/getRealms",
    Guard::System("getRealms"),
    Access::Read,
    get_realms_work
);

fn get_default_realm_work(ctx: &mut Ctx<'_>, _params: &Params) -> Result<Response> {
    let default_realm = ctx.config.default_realm().unwrap_or_default();
    ctx.audit.success = true;
    ctx.audit.info = default_realm.clone();
    // As in LinOTP: without a (known) default realm, all realms.
    ok(realms_reply(
        &ctx.config,
        &ctx.app.options.admin_realm,
        Some(&default_realm),
    ))
}

system_handler!(
    /// `/system/getDefaultRealm`: the default realm's definition (all realms without one).
    get_default_realm,
    "system/getDefaultRealm",
    Guard::System("getDefaultRealm"),
    Access::Read,
    get_default_realm_work
);

/// Whether `config` defines a usable resolver for `spec` (LinOTP's `getResolverObject`).
pub(crate) fn resolver_is_defined(config: &SystemConfig, spec: &ResolverSpec) -> bool {
    let lookup = |key: &str| config.entry(key).map(|entry| entry.value.clone());
    let class: ResolverClass = spec.class();
    ResolverConfig::from_config(class, spec.name(), &lookup)
        .and_then(|definition| definition.settings().map(|_| ()))
        .is_ok()
}

/// LinOTP's realm name rule, after lower-casing and turning spaces into `-`.
const REALM_NAME_PATTERN: &str = r"^[A-Za-z0-9_\-\.]*$";

fn normalised_realm_name(realm: &str) -> Result<String> {
    let realm = realm.trim().to_lowercase().replace(' ', "-");
    let conformant = realm
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if conformant {
        Ok(realm)
    } else {
        Err(ApiError::Internal(format!(
            "non conformant characters in realm name: {realm} (not in {REALM_NAME_PATTERN})"
        )))
    }
}

/// Stores a realm definition and makes sure its `Realm` row exists (LinOTP's `setRealm`).
pub(crate) fn store_realm(ctx: &mut Ctx<'_>, realm: &str, specs: &str) -> Result<String> {
    let realm = normalised_realm_name(realm)?;
    store_entry(
        ctx.conn,
        &format!("useridresolver.group.{realm}"),
        specs,
        None,
        None,
    )?;
    realm_store::get_or_create(ctx.conn, &realm)?;
    Ok(realm)
}

fn set_realm_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let Some(realm) = params.optional("realm") else {
        return Err(ApiError::Parameter(
            "missing required parameter: realm".to_owned(),
        ));
    };
    let Some(resolvers) = params.optional("resolvers") else {
        return Err(ApiError::Parameter(
            "missing required parameter: resolvers".to_owned(),
        ));
    };
    let mut specs = Vec::new();
    let mut names = Vec::new();
    for given in resolvers.split(',') {
        let spec_text = given.trim().replace('"', "");
        let spec = ResolverSpec::parse(&spec_text)
            .filter(|spec| resolver_is_defined(&ctx.config, spec))
            .ok_or_else(|| {
                ApiError::Internal(format!(
                    "unknown resolver or invalid resolver class specification: {}",
                    python_str_repr(&spec_text)
                ))
            })?;
        names.push(spec.name().to_owned());
        specs.push(spec_text);
    }
    // An admin must not remove the resolver they log in with from the admin realm.
    let admin_resolver = ResolverSpec::parse(&ctx.admin.resolver)
        .map(|spec| spec.name().to_owned())
        .unwrap_or_default();
    // Compared as stored (LinOTP compares the raw parameter, so `LINOTP_ADMINS` slipped by).
    let is_admin_realm =
        realm.trim().to_lowercase().replace(' ', "-") == ctx.admin.realm.to_lowercase();
    if is_admin_realm && !names.contains(&admin_resolver) {
        return Err(ApiError::Internal(format!(
            "Resolver {admin_resolver} can not be removed from {}. It is not allowed to remove \
             the resolver to which you belong to prevent locking yourself out.",
            ctx.admin.realm
        )));
    }
    let joined = specs.join(",");
    store_realm(ctx, &realm, &joined)?;
    ctx.audit.success = true;
    ctx.audit.info = format!(
        "realm: {}, resolvers: {}",
        python_str_repr(&realm),
        python_str_repr(&joined)
    );
    ok(true)
}

system_handler!(
    /// `/system/setRealm`: defines `realm` with the comma list of resolver specs `resolvers`.
    set_realm,
    "system/setRealm",
    Guard::System("setRealm"),
    Access::Write,
    set_realm_work
);

fn del_realm_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let Some(realm) = params.optional("realm") else {
        ctx.audit.info = "no realm specified".to_owned();
        return Err(ApiError::Parameter(
            "missing required parameter: realm".to_owned(),
        ));
    };
    ctx.audit.info = realm.clone().into_owned();
    let admin_realm = ctx.app.options.admin_realm.to_lowercase();
    // Case-insensitive, as the realm is found (LinOTP compares the raw parameter).
    if realm.trim().to_lowercase() == admin_realm {
        return Err(ApiError::Internal(format!(
            "It is not allowed to delete the admin realm {admin_realm}"
        )));
    }
    let lower = realm.trim().to_lowercase();
    // As in LinOTP, a realm without its `Realm` row is not deleted (and `false` answered).
    let deleted = if realm_store::get_by_name(ctx.conn, &lower)?.is_some() {
        let was_default = ctx.config.default_realm().as_deref() == Some(lower.as_str());
        let keys: Vec<String> = ctx
            .config
            .entries()
            .filter(|entry| {
                entry.key.to_lowercase() == format!("{REALM_PREFIX}{lower}")
                    || (lower == "_default_" && entry.key == LEGACY_DEFAULT_REALM_KEY)
            })
            .map(|entry| entry.key.clone())
            .collect();
        for key in &keys {
            config_store::delete(ctx.conn, key)?;
        }
        if !keys.is_empty() && was_default {
            store_entry(ctx.conn, "DefaultRealm", "", None, None)?;
        }
        realm_store::delete(ctx.conn, &lower)?
    } else {
        tracing::info!(realm = %lower, "delRealm: no such realm");
        false
    };
    ctx.audit.success = true;
    let mut result = Map::new();
    result.insert(
        "delRealm".to_owned(),
        serde_json::json!({"result": deleted}),
    );
    ok(result)
}

system_handler!(
    /// `/system/delRealm`: removes `realm`, its token links, and the default if it was it.
    del_realm,
    "system/delRealm",
    Guard::System("delRealm"),
    Access::Write,
    del_realm_work
);

fn set_default_realm_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let lower = params.lowercased();
    let realm = lower
        .optional("realm")
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    let known = all_realms(&ctx.config, &ctx.app.options.admin_realm)
        .iter()
        .any(|(name, _)| *name == realm);
    if known || realm.is_empty() {
        store_entry(ctx.conn, "DefaultRealm", &realm, None, None)?;
    }
    ctx.audit.success = true;
    ctx.audit.info = realm;
    ok(known)
}

system_handler!(
    /// `/system/setDefaultRealm`: makes `realm` the default (`false` for unknown realms; an
    /// empty `realm` clears the default and also answers `false`).
    set_default_realm,
    "system/setDefaultRealm",
    Guard::System("setDefaultRealm"),
    Access::Write,
    set_default_realm_work
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sysconfig::test_config as config;

    #[test]
    fn realm_names_follow_linotp_rule() {
        assert_eq!(normalised_realm_name(" My Realm ").unwrap(), "my-realm");
        assert_eq!(normalised_realm_name("a.b_c-d").unwrap(), "a.b_c-d");
        let error = normalised_realm_name("bad/realm").unwrap_err();
        assert_eq!(
            error.message(),
            r"non conformant characters in realm name: bad/realm (not in ^[A-Za-z0-9_\-\.]*$)"
        );
    }

    #[test]
    fn realms_keep_their_written_name_and_resolver_order() {
        let config = config(&[
            (
                "useridresolver.group.Beta",
                "useridresolver.SQLIdResolver.IdResolver.b,useridresolver.SQLIdResolver.IdResolver.a",
            ),
            (
                "useridresolver.group.alpha",
                "useridresolver.SQLIdResolver.IdResolver.a",
            ),
        ]);
        let realms = all_realms(&config, "linotp_admins");
        assert_eq!(realms[0].1.realmname, "alpha");
        assert_eq!(realms[1].1.realmname, "Beta");
        assert_eq!(realms[1].1.entry, "linotp.useridresolver.group.Beta");
        assert!(realms[1].1.lists_resolver("b") && !realms[0].1.lists_resolver("b"));
        assert_eq!(realm_names(&config), ["alpha", "beta"]);
    }

    #[test]
    fn realm_definitions_mark_default_and_admin() {
        let config = config(&[
            (
                "useridresolver.group.MyRealm",
                "useridresolveree.PasswdIdResolver.IdResolver.x",
            ),
            ("useridresolver.group.linotp_admins", "a,b"),
            ("DefaultRealm", "MYREALM"),
        ]);
        let reply = realms_reply(&config, "linotp_admins", None);
        assert_eq!(
            reply["myrealm"],
            serde_json::json!({
                "realmname": "MyRealm",
                "entry": "linotp.useridresolver.group.MyRealm",
                "useridresolver": ["useridresolver.PasswdIdResolver.IdResolver.x"],
                "default": "true",
                "admin": false
            })
        );
        assert_eq!(reply["linotp_admins"]["admin"], true);
        assert_eq!(
            reply["linotp_admins"]["useridresolver"],
            serde_json::json!(["a", "b"])
        );
        let one = realms_reply(&config, "linotp_admins", Some("LINOTP_ADMINS"));
        assert_eq!(one.as_object().unwrap().len(), 1);
        let unknown = realms_reply(&config, "linotp_admins", Some("nosuch"));
        assert_eq!(unknown.as_object().unwrap().len(), 2);
    }
}
