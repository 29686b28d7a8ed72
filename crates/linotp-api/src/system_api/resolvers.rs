//! `/system/setResolver`, `getResolver`, `getResolvers`, `delResolver`,
//! `/admin/testresolver` and `/admin/userlist`.
//!
//! Resolver definitions are LinOTP's config rows `linotp.<type>.<Param>.<name>`; their
//! validation, typing and the building of resolvers are `linotp-resolvers`'. Passwords
//! (`BINDPW`, SQL `Password`) are stored encrypted with the config key and shown only as
//! their ciphertext.

use std::collections::BTreeMap;

use axum::response::Response;
use linotp_resolvers::{
    ConfigLookup, ConnectionTest, DefineMode, ResolverClass, ResolverConfig, UserIdResolver,
    build_resolver, define_resolver,
};
use linotp_store::config::{self as config_store};
use linotp_store::tokens::{self, TokenFilter, TokenListOptions};
use linotp_store::users as user_store;
use serde_json::{Map, Value};

use super::realms::{all_realms, store_realm};
use super::{Access, Ctx, Guard, ok, resolver_error, store_entry, system_handler, text_reply};
use crate::error::{ApiError, Result};
use crate::params::Params;
use crate::pyfmt::{JsonStyle, python_json, python_str_repr};
use crate::reply::{API_VERSION, JSON_CONTENT_TYPE, PRODUCT_VERSION, streamed_result};
use crate::sysconfig::SystemConfig;
use crate::users::{self, ResolverSpec};

/// One stored resolver attribute: `linotp.<type>.<attribute>.<name>`.
fn parse_resolver_key(key: &str) -> Option<(ResolverClass, &str, &str)> {
    let rest = key.strip_prefix("linotp.")?;
    let (type_name, rest) = rest.split_once('.')?;
    let (attribute, name) = rest.split_once('.')?;
    let class = ResolverClass::ALL
        .into_iter()
        .find(|class| class.type_name() == type_name)?;
    (!name.is_empty()).then_some((class, attribute, name))
}

/// The resolvers of the configuration: name → (class, stored attributes), sorted by name.
fn stored_resolvers(config: &SystemConfig) -> BTreeMap<String, (ResolverClass, Vec<String>)> {
    let mut resolvers: BTreeMap<String, (ResolverClass, Vec<String>)> = BTreeMap::new();
    for entry in config.entries() {
        let Some((class, attribute, name)) = parse_resolver_key(&entry.key) else {
            continue;
        };
        let slot = resolvers
            .entry(name.to_owned())
            .or_insert_with(|| (class, Vec::new()));
        if slot.0 == class {
            slot.1.push(attribute.to_owned());
        }
    }
    for (_, attributes) in resolvers.values_mut() {
        attributes.sort();
    }
    resolvers
}

/// The resolvers the configuration defines (LinOTP's `getResolverList`), by name: a
/// resolver exists when it has a config row other than `readonly`.
pub(crate) fn defined_resolvers(config: &SystemConfig) -> BTreeMap<String, ResolverClass> {
    stored_resolvers(config)
        .into_iter()
        .filter(|(_, (_, attributes))| attributes.iter().any(|attribute| attribute != "readonly"))
        .map(|(name, (class, _))| (name, class))
        .collect()
}

/// Whether resolver `name` of `class` is flagged `readonly`.
pub(crate) fn is_readonly(config: &SystemConfig, class: ResolverClass, name: &str) -> bool {
    config
        .get(&class.config_key("readonly", name))
        .and_then(|value| crate::params::parse_bool(value.trim()))
        .unwrap_or(false)
}

/// The class of a stored resolver.
fn class_of(config: &SystemConfig, name: &str) -> Option<ResolverClass> {
    stored_resolvers(config).get(name).map(|(class, _)| *class)
}

/// Lookup of full config keys with encrypted values decrypted (what resolvers are built
/// from). A value that cannot be decrypted counts as missing.
fn decrypting_lookup<'a>(ctx: &'a Ctx<'_>) -> impl Fn(&str) -> Option<String> + 'a {
    move |key: &str| {
        let entry = ctx.config.entry(key)?;
        if !entry.is_encrypted() {
            return Some(entry.value.clone());
        }
        match ctx.config.decrypted(key, ctx.app.security.as_ref()) {
            Ok(clear) => clear.map(|clear| clear.expose().to_owned()),
            Err(error) => {
                tracing::warn!(key, %error, "resolver setting cannot be decrypted");
                None
            }
        }
    }
}

/// The stored definition of resolver `name` (password decrypted), if it loads.
pub(super) fn stored_definition(ctx: &Ctx<'_>, name: &str) -> Option<ResolverConfig> {
    let class = class_of(&ctx.config, name)?;
    let lookup = decrypting_lookup(ctx);
    match ResolverConfig::from_config(class, name, &lookup) {
        Ok(definition) => Some(definition),
        Err(error) => {
            tracing::warn!(resolver = name, %error, "stored resolver definition is unusable");
            None
        }
    }
}

/// Whether resolver `name` is flagged `readonly` (`None`: no such resolver).
pub(super) fn readonly_flag(ctx: &Ctx<'_>, name: &str) -> Option<bool> {
    let class = class_of(&ctx.config, name)?;
    Some(is_readonly(&ctx.config, class, name))
}

/// The names of the resolvers listed by the admin realm.
pub(crate) fn admin_resolver_names(config: &SystemConfig, admin_realm: &str) -> Vec<String> {
    config
        .realm_resolvers(admin_realm)
        .iter()
        .map(|spec| spec.rsplit('.').next().unwrap_or_default().to_owned())
        .collect()
}

/// Writes a definition: every row of the class's table (passwords encrypted), then removes
/// rows of the resolver the new definition no longer has.
pub(super) fn store_definition(ctx: &mut Ctx<'_>, definition: &ResolverConfig) -> Result<()> {
    let mut written = Vec::new();
    for entry in definition.to_entries() {
        if entry.is_secret() {
            let encrypted = ctx.app.security.encrypt_password(entry.value.as_bytes())?;
            store_entry(ctx.conn, &entry.key, &encrypted, Some(entry.typ), None)?;
        } else {
            store_entry(ctx.conn, &entry.key, &entry.value, Some(entry.typ), None)?;
        }
        written.push(entry.key);
    }
    let class = definition.class();
    let stale: Vec<String> = ctx
        .config
        .entries()
        .filter(|entry| {
            parse_resolver_key(&entry.key).is_some_and(|(stored_class, _, name)| {
                stored_class == class && name == definition.name()
            }) && !written.contains(&entry.key)
        })
        .map(|entry| entry.key.clone())
        .collect();
    for key in stale {
        config_store::delete(ctx.conn, &key)?;
    }
    Ok(())
}

/// Deletes every row of resolver `name` (of any class); whether there were any.
fn delete_definition(ctx: &mut Ctx<'_>, name: &str) -> Result<bool> {
    let keys: Vec<String> = ctx
        .config
        .entries()
        .filter(|entry| {
            let key = entry.key.strip_prefix("enc").unwrap_or(&entry.key);
            parse_resolver_key(key).is_some_and(|(_, _, stored)| stored == name)
        })
        .map(|entry| entry.key.clone())
        .collect();
    for key in &keys {
        config_store::delete(ctx.conn, key)?;
    }
    Ok(!keys.is_empty())
}

/// Moves the tokens owned by users of `old` (a resolver built from the previous definition)
/// to the same logins in resolver `new_spec` of the current configuration. LinOTP's
/// `MigrateResolverHandler`, run on rename and when the user id attribute changes.
fn migrate_tokens(
    ctx: &mut Ctx<'_>,
    old_spec: &ResolverSpec,
    old: &dyn UserIdResolver,
    new_spec: &ResolverSpec,
) -> Result<usize> {
    let candidates = tokens::list(
        ctx.conn,
        &TokenFilter {
            text: Some(old_spec.name().to_owned()),
            ..TokenFilter::default()
        },
        &TokenListOptions::default(),
    )?
    .tokens;
    let Some(new) = users::open_resolver(ctx.app, new_spec, &ctx.config) else {
        tracing::warn!(resolver = %new_spec, "token migration: the new resolver does not load");
        return Ok(0);
    };
    let mut migrated = 0;
    for mut token in candidates {
        if token.user_id.is_empty()
            || ResolverSpec::parse(&token.id_res_class).as_ref() != Some(old_spec)
        {
            continue;
        }
        let login = match old.username(&token.user_id) {
            Ok(Some(login)) => login,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(serial = %token.serial, %error, "token migration: owner lookup failed");
                continue;
            }
        };
        let Some(user_id) = new.user_id(&login)? else {
            tracing::warn!(serial = %token.serial, "token migration: owner not in the new resolver");
            continue;
        };
        token.user_id = user_id;
        token.id_res_class = new_spec.full();
        token.id_resolver = new_spec.short();
        tokens::update(ctx.conn, &token)?;
        migrated += 1;
    }
    Ok(migrated)
}

fn set_resolver_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let request = |key: &str| params.optional(key).map(|value| value.into_owned());
    let definition = {
        let existing = |name: &str| stored_definition(ctx, name);
        define_resolver(&request, &existing).map_err(resolver_error)?
    };
    let new_spec = definition.config.spec();
    let previous_name = match &definition.mode {
        DefineMode::Rename { previous } => Some(previous.clone()),
        DefineMode::Update if definition.primary_key_changed => {
            Some(definition.config.name().to_owned())
        }
        DefineMode::Create | DefineMode::Update => None,
    };
    // The owners of the tokens are looked up with the previous definition, before it goes.
    let previous = match &previous_name {
        Some(name) => stored_definition(ctx, name)
            .map(|config| {
                let environment = users::registry(ctx.app).environment();
                build_resolver(&config, environment).map(|resolver| (config.spec(), resolver))
            })
            .transpose()
            .map_err(resolver_error)?,
        None => None,
    };
    store_definition(ctx, &definition.config)?;
    ctx.reload_config()?;
    if let DefineMode::Rename { previous } = &definition.mode {
        rename_in_realms(ctx, previous, definition.config.name())?;
        ctx.reload_config()?;
    }
    if let Some((old_spec, old_resolver)) = &previous {
        let migrated = migrate_tokens(ctx, old_spec, old_resolver.as_ref(), &new_spec)?;
        ctx.audit.action_detail =
            format!("migration from {} to {}", old_spec.name(), new_spec.name());
        tracing::info!(from = %old_spec, to = %new_spec, migrated, "tokens migrated");
    }
    if let DefineMode::Rename { previous } = &definition.mode {
        delete_definition(ctx, previous)?;
    }
    ctx.audit.success = true;
    ctx.audit.info = definition.config.name().to_owned();
    ok(true)
}

/// Replaces the resolver `previous` by `name` in every realm that lists it.
fn rename_in_realms(ctx: &mut Ctx<'_>, previous: &str, name: &str) -> Result<()> {
    let realms = all_realms(&ctx.config, &ctx.app.options.admin_realm);
    for (realm, definition) in realms {
        let lists_previous = definition
            .resolvers
            .iter()
            .any(|spec| spec.rsplit('.').next() == Some(previous));
        if !lists_previous {
            continue;
        }
        let renamed: Vec<String> = definition
            .resolvers
            .iter()
            .map(|spec| match spec.rsplit_once('.') {
                Some((class_path, last)) if last == previous => format!("{class_path}.{name}"),
                _ => spec.clone(),
            })
            .collect();
        store_realm(ctx, &realm, &renamed.join(","))?;
    }
    Ok(())
}

system_handler!(
    /// `/system/setResolver`: creates, updates (`previous_name` = `name`) or renames a
    /// resolver (`name`, `type`, the class's parameters).
    set_resolver,
    "system/setResolver",
    Guard::System("setResolver"),
    Access::Write,
    set_resolver_work
);

/// `getResolverInfo`: the stored definition as LinOTP shows it.
fn resolver_info(ctx: &Ctx<'_>, name: &str) -> Value {
    let mut info = Map::new();
    let Some(class) = class_of(&ctx.config, name) else {
        info.insert("type".to_owned(), Value::Null);
        info.insert("data".to_owned(), Value::Object(Map::new()));
        info.insert("resolver".to_owned(), Value::from(name));
        return Value::Object(info);
    };
    let raw = |key: &str| ctx.config.entry(key).map(|entry| entry.value.clone());
    let mut data = Map::new();
    match ResolverConfig::from_config(class, name, &raw) {
        Ok(definition) => {
            for param in class.params() {
                let value = if Some(param.name) == class.secret_param() {
                    // The stored ciphertext, never the password.
                    raw(&class.config_key(param.name, name))
                } else {
                    definition.get(param.name).map(str::to_owned)
                };
                if let Some(value) = value {
                    data.insert(param.name.to_owned(), Value::from(value));
                }
            }
        }
        Err(error) => {
            tracing::warn!(resolver = name, %error, "showing an incomplete resolver definition");
            if let Some((_, attributes)) = stored_resolvers(&ctx.config).get(name) {
                for attribute in attributes {
                    if let Some(value) = raw(&class.config_key(attribute, name)) {
                        data.insert(attribute.clone(), Value::from(value));
                    }
                }
            }
        }
    }
    let readonly = data
        .get("readonly")
        .and_then(Value::as_str)
        .and_then(|value| crate::params::parse_bool(value.trim()));
    info.insert("type".to_owned(), Value::from(class.type_name()));
    info.insert("data".to_owned(), Value::Object(data));
    info.insert("resolver".to_owned(), Value::from(name));
    info.insert(
        "spec".to_owned(),
        Value::from(ResolverSpec::new(class, name).full()),
    );
    if let Some(readonly) = readonly {
        info.insert("readonly".to_owned(), Value::Bool(readonly));
    }
    info.insert(
        "admin".to_owned(),
        Value::Bool(
            admin_resolver_names(&ctx.config, &ctx.app.options.admin_realm)
                .iter()
                .any(|admin| admin == name),
        ),
    );
    info.insert(
        "immutable".to_owned(),
        Value::Bool(ctx.app.options.admin_resolver == name),
    );
    Value::Object(info)
}

fn get_resolver_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let lower = params.lowercased();
    let Some(name) = lower.optional("resolver") else {
        return Err(ApiError::Parameter(
            "missing required parameter: resolver".to_owned(),
        ));
    };
    if name.is_empty() {
        return Err(ApiError::Internal(
            "[getResolver] missing resolver name".to_owned(),
        ));
    }
    let info = resolver_info(ctx, &name);
    ctx.audit.success = true;
    ctx.audit.info = name.into_owned();
    ok(info)
}

system_handler!(
    /// `/system/getResolver`: one resolver's definition (`resolver`), passwords as ciphertext.
    get_resolver,
    "system/getResolver",
    Guard::System("getResolver"),
    Access::Read,
    get_resolver_work
);

fn get_resolvers_work(ctx: &mut Ctx<'_>, _params: &Params) -> Result<Response> {
    let admin_resolvers = admin_resolver_names(&ctx.config, &ctx.app.options.admin_realm);
    let mut list = Map::new();
    for (name, (class, attributes)) in stored_resolvers(&ctx.config) {
        // LinOTP names one config row of the resolver; which one follows its dict order.
        // Here: the password row where the class has one, else the first row.
        let entry_attribute = class
            .secret_param()
            .filter(|secret| attributes.iter().any(|attribute| attribute == secret))
            .map(str::to_owned)
            .or_else(|| {
                attributes
                    .iter()
                    .find(|attribute| *attribute != "readonly")
                    .cloned()
            });
        let Some(entry_attribute) = entry_attribute else {
            continue;
        };
        let readonly = is_readonly(&ctx.config, class, &name);
        let mut info = Map::new();
        info.insert("resolvername".to_owned(), Value::from(name.as_str()));
        info.insert(
            "entry".to_owned(),
            Value::from(class.config_key(&entry_attribute, &name)),
        );
        info.insert("type".to_owned(), Value::from(class.type_name()));
        info.insert(
            "spec".to_owned(),
            Value::from(ResolverSpec::new(class, &name).full()),
        );
        info.insert(
            "admin".to_owned(),
            Value::Bool(admin_resolvers.contains(&name)),
        );
        info.insert(
            "immutable".to_owned(),
            Value::Bool(ctx.app.options.admin_resolver == name),
        );
        if readonly {
            info.insert("readonly".to_owned(), Value::Bool(true));
        }
        list.insert(name, Value::Object(info));
    }
    ctx.audit.success = true;
    ok(list)
}

system_handler!(
    /// `/system/getResolvers`: every resolver with its type, spec and flags.
    get_resolvers,
    "system/getResolvers",
    Guard::System("getResolvers"),
    Access::Read,
    get_resolvers_work
);

fn del_resolver_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let lower = params.lowercased();
    let Some(name) = lower.optional("resolver").map(|name| name.into_owned()) else {
        return Err(ApiError::Parameter(
            "missing required parameter: resolver".to_owned(),
        ));
    };
    let in_use: Vec<String> = all_realms(&ctx.config, &ctx.app.options.admin_realm)
        .into_iter()
        .filter(|(_, definition)| {
            definition
                .resolvers
                .iter()
                .any(|spec| spec.rsplit('.').next() == Some(name.as_str()))
        })
        .map(|(realm, _)| realm)
        .collect();
    if !in_use.is_empty() {
        let realms: Vec<String> = in_use.iter().map(|realm| python_str_repr(realm)).collect();
        let error = format!(
            "Resolver {} still in use by the realms: [{}]",
            python_str_repr(&name),
            realms.join(", ")
        );
        ctx.audit.info = error.clone();
        return Err(ApiError::Internal(format!("{} !", python_str_repr(&error))));
    }
    let readonly = resolver_info(ctx, &name)
        .get("readonly")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if name == ctx.app.options.admin_resolver {
        return Err(ApiError::Internal(format!(
            "default admin resolver {name} is not allowed to be removed!"
        )));
    }
    if readonly {
        // A managed resolver's users live in `imported_user`; they go with it.
        let removed = user_store::delete_group(ctx.conn, &name)?;
        tracing::info!(resolver = %name, removed, "imported users deleted with their resolver");
    }
    let deleted = delete_definition(ctx, &name)?;
    ctx.audit.success = deleted;
    ctx.audit.info = name;
    ok(deleted)
}

system_handler!(
    /// `/system/delResolver`: deletes `resolver` unless a realm uses it; a managed
    /// (`readonly`) resolver takes its imported users with it.
    del_resolver,
    "system/delResolver",
    Guard::System("delResolver"),
    Access::Write,
    del_resolver_work
);

fn testresolver_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let Some(name) = params.optional("name").map(|name| name.into_owned()) else {
        return Err(ApiError::Parameter(
            "Missing parameter: KeyError('name')".to_owned(),
        ));
    };
    let no_such = || {
        ApiError::Internal(format!(
            "no such resolver {} defined!",
            python_str_repr(&name)
        ))
    };
    let class = class_of(&ctx.config, &name).ok_or_else(no_such)?;
    let spec = ResolverSpec::new(class, &name);
    let test = {
        let lookup = decrypting_lookup(ctx);
        let resolver = users::registry(ctx.app)
            .resolver(&spec, &lookup as &dyn ConfigLookup)
            .map_err(resolver_error)?
            .ok_or_else(no_such)?;
        resolver.inner().test_connection()
    };
    ctx.audit.success = test.is_success();
    ctx.audit.info = name.clone();
    match (test.to_json(), test) {
        (Some(value), _) => ok(value),
        (None, ConnectionTest::Unsupported(message)) => Err(ApiError::Internal(message)),
        (None, _) => Err(ApiError::Internal(format!(
            "resolver {} does not support a connection test",
            python_str_repr(&name)
        ))),
    }
}

system_handler!(
    /// `/admin/testresolver`: connects with resolver `name`'s definition and reports what
    /// it found (LDAP: the DNs of `LDAPSEARCHFILTER`; SQL: the number of users).
    testresolver,
    "admin/testresolver",
    Guard::InWork,
    Access::Read,
    testresolver_work
);

/// Parameters of `/admin/userlist` that are not search fields.
const USERLIST_CONTROL: [&str; 8] = [
    "realm",
    "resConf",
    "rp",
    "page",
    "session",
    "csrf_token",
    "httperror",
    "user",
];

/// The resolver specs `/admin/userlist` searches (LinOTP's `getResolvers(user)`).
fn userlist_resolvers(ctx: &Ctx<'_>, params: &Params) -> Vec<String> {
    let realms = all_realms(&ctx.config, &ctx.app.options.admin_realm);
    if let Some(resolver) = params
        .optional("resConf")
        .map(|value| {
            value
                .split('(')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .filter(|name| !name.is_empty())
    {
        let found = realms
            .iter()
            .flat_map(|(_, definition)| definition.resolvers.iter())
            .find(|spec| spec.rsplit('.').next() == Some(resolver.as_str()));
        if let Some(spec) = found {
            return vec![spec.clone()];
        }
    }
    let requested = users::requested_user(params, &ctx.config);
    let realm = requested.realm.trim().to_lowercase();
    let lookup_realms: Vec<&str> =
        if !realm.is_empty() && realms.iter().any(|(name, _)| *name == realm) {
            vec![realm.as_str()]
        } else if let Some(prefix) = realm.strip_suffix('*') {
            realms
                .iter()
                .map(|(name, _)| name.as_str())
                .filter(|name| name.starts_with(prefix))
                .collect()
        } else {
            Vec::new()
        };
    let default_realm = ctx.config.default_realm();
    let lookup_realms = if realm.is_empty() {
        default_realm.iter().map(String::as_str).collect()
    } else {
        lookup_realms
    };
    let mut specs: Vec<String> = Vec::new();
    for (name, definition) in &realms {
        if !lookup_realms.contains(&name.as_str()) {
            continue;
        }
        for spec in &definition.resolvers {
            if !specs.contains(spec) {
                specs.push(spec.clone());
            }
        }
    }
    specs
}

fn userlist_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let realm_param = params.optional("realm").map(|realm| realm.into_owned());
    ctx.audit.realm = realm_param.clone().unwrap_or_default();
    let requested = users::requested_user(params, &ctx.config);
    let rights = ctx.admin_rights(Some("userlist"));
    if !rights.permits(&requested.realm) {
        tracing::warn!(admin = %ctx.admin.username, realm = %requested.realm, "userlist refused");
        return Err(ApiError::Policy(format!(
            "You do not have the administrative right to list users in realm {}.",
            realm_param
                .as_deref()
                .map_or_else(|| "None".to_owned(), python_str_repr)
        )));
    }
    let per_page = params.int("rp")?;
    let page = match params.optional("page") {
        None => None,
        Some(text) => match crate::params::parse_python_int(&text) {
            Some(page) => Some((page, per_page.filter(|rp| *rp != 0).unwrap_or(16))),
            None => {
                // LinOTP reports it inside the stream: compact, without the `ERR` prefix.
                let message = format!(
                    "ValueError(\"invalid literal for int() with base 10: {}\")",
                    python_str_repr(&text)
                );
                let error = serde_json::json!({
                    "jsonrpc": API_VERSION,
                    "result": {"status": false, "error": {"code": crate::error::codes::PAGING, "message": message}},
                    "version": PRODUCT_VERSION,
                    "id": 1,
                });
                return Ok(text_reply(
                    JSON_CONTENT_TYPE,
                    python_json(&error, JsonStyle::Spaced),
                ));
            }
        },
    };
    let search = params.search_fields(&USERLIST_CONTROL);
    let specs = userlist_resolvers(ctx, params);
    let mut rows = Vec::new();
    for (spec_text, _, found) in users::users_of_resolvers(ctx.app, &ctx.config, specs, &search) {
        rows.extend(found.into_iter().map(|info| {
            let mut row = info.to_json();
            row.insert("resolver".to_owned(), Value::from(spec_text.as_str()));
            Value::Object(row)
        }));
    }
    ctx.audit.success = true;
    ctx.audit.info = format!("realm: {}", realm_param.as_deref().unwrap_or("None"));
    Ok(text_reply(
        JSON_CONTENT_TYPE,
        streamed_result(&rows, page, page.map(|(page, _)| page)),
    ))
}

system_handler!(
    /// `/admin/userlist`: the users of a realm (`realm`, or resolver `resConf`) matching the
    /// search fields (`username=*`, `email=*@example.com`, …), paged with `page` (0-based)
    /// and `rp`, in LinOTP's streamed layout.
    userlist,
    "admin/userlist",
    Guard::InWork,
    Access::Read,
    userlist_work
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_keys_parse_into_class_attribute_and_name() {
        assert_eq!(
            parse_resolver_key("linotp.ldapresolver.LDAPURI.corp"),
            Some((ResolverClass::Ldap, "LDAPURI", "corp"))
        );
        assert_eq!(parse_resolver_key("linotp.DefaultRealm"), None);
        assert_eq!(parse_resolver_key("linotp.sqlresolver.Map."), None);
    }

    #[test]
    fn resolvers_are_defined_by_any_row_but_readonly() {
        let config = crate::sysconfig::test_config(&[
            ("sqlresolver.Table.users", "t"),
            ("sqlresolver.readonly.users", "True"),
            ("passwdresolver.readonly.only_flag", "True"),
            ("ldapresolver.LDAPURI.corp.example", "ldap://x"),
            ("DefaultRealm", "r"),
        ]);
        let resolvers = defined_resolvers(&config);
        assert_eq!(
            resolvers.into_iter().collect::<Vec<_>>(),
            [
                ("corp.example".to_owned(), ResolverClass::Ldap),
                ("users".to_owned(), ResolverClass::Sql)
            ]
        );
        assert!(is_readonly(&config, ResolverClass::Sql, "users"));
    }
}
