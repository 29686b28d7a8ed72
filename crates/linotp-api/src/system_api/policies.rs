//! `/system/setPolicy`, `getPolicy` (and its `export=true` file), `delPolicy`,
//! `importPolicy`, `checkPolicy` (with our `explain=1`), `getPolicyDef`, `policies_flexi`.
//!
//! Policies are config entries `linotp.Policy.<name>.<attribute>`; the model, validation,
//! matching and the export file format are `linotp-policy`'s.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use linotp_crypto::SecurityModule;
use linotp_policy::{
    ATTRIBUTES, FlexiQuery, NewPolicy, Policy, PolicyContext, PolicyQuery, PolicySet, UserContext,
    definitions, parse_policy_file, render_policy_file,
};
use linotp_store::config::{self as config_store};
use serde_json::{Map, Value};

use super::{
    Access, Ctx, Endpoint, Guard, UploadForm, answer, ok, store_entry, system_handler, text_reply,
    xml_error, xml_result,
};
use crate::app::AppState;
use crate::auth::AdminIdentity;
use crate::error::{ApiError, Result};
use crate::http::ClientIp;
use crate::params::{Params, parse_bool};
use crate::pyfmt::{JsonStyle, python_json, python_str_repr};
use crate::reply::HTML_CONTENT_TYPE;
use crate::users;

/// Config key prefix of policies.
const POLICY_PREFIX: &str = "linotp.Policy.";

/// A `linotp-policy` error in LinOTP's terms (its texts are LinOTP's; 8888 for a bad name on
/// delete, else a non-LinOTP `-311` text).
fn policy_error(error: linotp_policy::Error) -> ApiError {
    match error.linotp_code() {
        Some(code) => ApiError::Coded {
            id: i64::from(code),
            description: error.to_string(),
        },
        None => ApiError::Internal(error.to_string()),
    }
}

/// Python's `urllib.parse.quote_plus`.
fn quote_plus(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Python's `unquote_plus` (malformed escapes stay as written).
fn unquote_plus(text: &str) -> String {
    fn hex(byte: u8) -> Option<u8> {
        char::from(byte)
            .to_digit(16)
            .and_then(|digit| u8::try_from(digit).ok())
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| Some((hex(*bytes.get(index + 1)?)?, hex(*bytes.get(index + 2)?)?)))
            .flatten();
        match (bytes[index], escaped) {
            (b'+', _) => out.push(b' '),
            (_, Some((high, low))) => {
                out.push(high << 4 | low);
                index += 2;
            }
            (other, None) => out.push(other),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One `forward_server` URL with its `secret` query parameter replaced by `encsecret`, the
/// secret encrypted with the token key (LinOTP's `ForwardServerPolicy.prepare_forward`).
fn encrypt_forward_url(url: &str, security: &dyn SecurityModule) -> Result<String> {
    let (without_fragment, fragment) = match url.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (url, None),
    };
    let (base, query) = without_fragment
        .split_once('?')
        .unwrap_or((without_fragment, ""));
    let mut pairs: Vec<(String, String)> = Vec::new();
    for field in query.split('&').filter(|field| !field.is_empty()) {
        let (name, value) = field.split_once('=').unwrap_or((field, ""));
        let (name, value) = (unquote_plus(name), unquote_plus(value));
        // parse_qs drops blank values and keeps the first of repeated keys.
        if value.is_empty() || pairs.iter().any(|(known, _)| *known == name) {
            continue;
        }
        pairs.push((name, value));
    }
    if let Some(index) = pairs.iter().position(|(name, _)| name == "secret") {
        let (_, secret) = pairs.remove(index);
        let encrypted = security.encrypt_pin(secret.as_bytes(), None)?;
        pairs.push(("encsecret".to_owned(), encrypted));
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{}={}", quote_plus(name), quote_plus(value)))
        .collect();
    let mut rebuilt = base.trim_end().to_owned();
    if !query.is_empty() {
        rebuilt.push('?');
        rebuilt.push_str(&query.join("&"));
    }
    if let Some(fragment) = fragment {
        rebuilt.push('#');
        rebuilt.push_str(fragment);
    }
    Ok(rebuilt)
}

/// The action list as stored: `forward_server` secrets encrypted (the list is then joined
/// with `", "`, as LinOTP does).
fn prepare_actions(actions: &str, security: &dyn SecurityModule) -> Result<String> {
    if !actions.contains("forward_server=") {
        return Ok(actions.to_owned());
    }
    let mut prepared = Vec::new();
    for action in actions.split(',') {
        if !action.trim().contains("forward_server=") {
            prepared.push(action.to_owned());
            continue;
        }
        let (name, servers) = action.split_once('=').unwrap_or((action, ""));
        let servers: Vec<String> = servers
            .split(' ')
            .map(|server| encrypt_forward_url(server, security))
            .collect::<Result<_>>()?;
        prepared.push(format!("{name}={}", servers.join(" ")));
    }
    Ok(prepared.join(", "))
}

/// Checks a policy against the policies it joins, as LinOTP's `setPolicy` does: name and
/// required attributes, the `system` lock-out protection, then (with
/// `policy_action_validation`) scope, actions and values.
fn check_policy_definition(
    policies: &PolicySet,
    policy: &NewPolicy,
    action_validation: bool,
) -> Result<()> {
    policy.validate(false).map_err(policy_error)?;
    policies.check_lockout(policy).map_err(policy_error)?;
    if action_validation {
        policy.validate(true).map_err(policy_error)?;
    }
    Ok(())
}

/// Stores a checked policy: the seven attribute rows (type `""`, description
/// `a policy definition`); attributes that were not given are stored as LinOTP stores
/// Python's `None`, the text `None`.
fn store_policy(ctx: &mut Ctx<'_>, policy: &NewPolicy) -> Result<Map<String, Value>> {
    let action = prepare_actions(&policy.action, ctx.app.security.as_ref())?;
    let mut result = Map::new();
    for attribute in ATTRIBUTES {
        let value = match attribute {
            "action" => action.clone(),
            "scope" => policy.scope.clone(),
            "realm" => policy.realm.clone(),
            "user" => policy.user.clone().unwrap_or_else(|| "None".to_owned()),
            "time" => policy.time.clone().unwrap_or_else(|| "None".to_owned()),
            "client" => policy.client.clone().unwrap_or_else(|| "None".to_owned()),
            _ => policy.active.clone().unwrap_or_else(|| "True".to_owned()),
        };
        store_entry(
            ctx.conn,
            &format!("Policy.{}.{attribute}", policy.name),
            &value,
            Some(""),
            Some("a policy definition"),
        )?;
        result.insert(attribute.to_owned(), Value::Bool(true));
    }
    Ok(result)
}

fn action_validation(ctx: &Ctx<'_>) -> bool {
    ctx.config.bool_or("policy_action_validation", false)
}

fn missing(name: &str) -> ApiError {
    ApiError::Parameter(format!("missing required parameter: {name}"))
}

fn set_policy_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let text = |name: &str| params.optional(name).map(|value| value.into_owned());
    let name = text("name").ok_or_else(|| missing("name"))?;
    if name.is_empty() {
        return Err(ApiError::Internal(
            "The name of the policy must not be empty".to_owned(),
        ));
    }
    let action = text("action").ok_or_else(|| missing("action"))?;
    let scope = text("scope").ok_or_else(|| missing("scope"))?;
    let realm = text("realm").ok_or_else(|| missing("realm"))?;
    let policy = NewPolicy {
        name: name.clone(),
        scope,
        action,
        realm,
        user: text("user"),
        time: text("time"),
        client: text("client"),
        active: Some(text("active").unwrap_or_else(|| "True".to_owned())),
        enforce: text("enforce").is_some_and(|enforce| enforce.to_lowercase() == "true"),
    };
    ctx.audit.action_detail = format!("{policy:?}");
    if policy.action.is_empty() {
        return Err(ApiError::Internal(
            "setPolicy failed: name and action required!".to_owned(),
        ));
    }
    check_policy_definition(ctx.config.policies(), &policy, action_validation(ctx))?;
    let stored = store_policy(ctx, &policy)?;
    ctx.audit.success = true;
    let mut result = Map::new();
    result.insert(format!("setPolicy {name}"), Value::Object(stored));
    ok(result)
}

system_handler!(
    /// `/system/setPolicy`: stores a policy (`name`, `scope`, `action`, `realm`; `user`,
    /// `time`, `client`, `active`; `enforce` skips the lock-out check).
    set_policy,
    "system/setPolicy",
    Guard::System("setPolicy"),
    Access::Write,
    set_policy_work
);

/// `getPolicy`'s filters from its (lower-cased) parameters.
fn policy_query(lower: &Params) -> PolicyQuery {
    let text = |name: &str| lower.optional(name).map(|value| value.into_owned());
    PolicyQuery {
        name: text("name"),
        scope: text("scope"),
        realm: text("realm"),
        action: text("action").filter(|action| !action.is_empty()),
        user: text("user").filter(|user| !user.is_empty()),
        include_inactive: text("display_inactive").is_some_and(|value| !value.is_empty()),
    }
}

fn policies_json<'a>(policies: impl IntoIterator<Item = &'a Policy>) -> Map<String, Value> {
    policies
        .into_iter()
        .map(|policy| {
            (
                policy.name().to_owned(),
                serde_json::to_value(policy).unwrap_or(Value::Null),
            )
        })
        .collect()
}

fn get_policy_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let lower = params.lowercased();
    let query = policy_query(&lower);
    let export = lower
        .optional("export")
        .is_some_and(|export| export.to_lowercase() == "true");
    let found = ctx.config.policies().search(&query);
    ctx.audit.success = true;
    ctx.audit.info = format!(
        "name = {}, realm = {}, scope = {}",
        query.name.as_deref().unwrap_or("None"),
        query.realm.as_deref().unwrap_or("None"),
        query.scope.as_deref().unwrap_or("None"),
    );
    if export {
        let file = render_policy_file(found).map_err(policy_error)?;
        let mut response = text_reply("text/plain; charset=utf-8", file);
        response.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=policy.cfg"),
        );
        return Ok(response);
    }
    ok(policies_json(found))
}

system_handler!(
    /// `/system/getPolicy`: the active policies matching `name` (comma list), `scope`,
    /// `realm`, `action`, `user` (`display_inactive` adds inactive ones); `export=true`
    /// answers LinOTP's `policy.cfg` file instead.
    get_policy,
    "system/getPolicy",
    Guard::System("getPolicy"),
    Access::Read,
    get_policy_work
);

/// Orders a policy's config keys as LinOTP writes its attributes.
fn attribute_rank(key: &str) -> usize {
    let attribute = key.rsplit('.').next().unwrap_or_default();
    ATTRIBUTES
        .iter()
        .position(|known| *known == attribute)
        .unwrap_or(ATTRIBUTES.len())
}

fn del_policy_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let enforce = params
        .optional("enforce")
        .is_some_and(|enforce| enforce.to_lowercase() == "true");
    let Some(names) = params.optional("name").map(|names| names.into_owned()) else {
        return Err(ApiError::Internal("'name'".to_owned()));
    };
    let mut deleted = Map::new();
    for name in names.split(',') {
        ctx.config
            .policies()
            .check_delete(name, enforce)
            .map_err(policy_error)?;
        let prefix = format!("{POLICY_PREFIX}{name}.");
        let mut keys: Vec<String> = ctx
            .config
            .entries()
            .filter(|entry| entry.key.starts_with(&prefix))
            .map(|entry| entry.key.clone())
            .collect();
        keys.sort_by(|a, b| attribute_rank(a).cmp(&attribute_rank(b)).then(a.cmp(b)));
        for key in keys {
            config_store::delete(ctx.conn, &key)?;
            deleted.insert(key, Value::Bool(true));
        }
        ctx.audit.info = name.to_owned();
        ctx.reload_config()?;
    }
    ctx.audit.success = !deleted.is_empty();
    let mut result = Map::new();
    result.insert(
        "delPolicy".to_owned(),
        serde_json::json!({ "result": Value::Object(deleted) }),
    );
    ok(result)
}

system_handler!(
    /// `/system/delPolicy`: deletes the policies `name` (comma list); `enforce=true` skips
    /// the lock-out check of `system` policies.
    del_policy,
    "system/delPolicy",
    Guard::System("delPolicy"),
    Access::Write,
    del_policy_work
);

fn import_policy_work(ctx: &mut Ctx<'_>, form: &UploadForm) -> Result<Response> {
    let Some(file) = form.file("file") else {
        return Err(ApiError::Parameter("missing input file".to_owned()));
    };
    // A file upload is answered in XML, LinOTP's reply to its web UI's upload frame. Every
    // check runs before anything is written, so an XML error leaves the database unchanged.
    let Ok(text) = std::str::from_utf8(&file.content) else {
        return Ok(xml_error(&ApiError::Internal(
            "'utf-8' codec can't decode the policy file".to_owned(),
        )));
    };
    if text.is_empty() {
        return Ok(xml_error(&ApiError::Internal(
            "Error loading policy. File is empty!".to_owned(),
        )));
    }
    let imported = match parse_policy_file(text) {
        Ok(imported) => imported,
        Err(error) => return Ok(xml_error(&policy_error(error))),
    };
    let validation = action_validation(ctx);
    let mut working = ctx.config.policies().clone();
    for policy in &imported {
        if let Err(error) = check_policy_definition(&working, policy, validation) {
            return Ok(xml_error(&error));
        }
        working.insert(policy.to_policy());
    }
    for policy in &imported {
        store_policy(ctx, policy)?;
    }
    ctx.audit.success = true;
    ctx.audit.info = format!("Policies imported from file {}", file.filename);
    Ok(xml_result(&Value::from(imported.len())))
}

/// `/system/importPolicy`: imports the policies of an uploaded `policy.cfg` (field `file`);
/// answered in XML like LinOTP, with the number of policies imported.
pub(crate) async fn import_policy(
    State(app): State<AppState>,
    admin: AdminIdentity,
    client: Option<ClientIp>,
    form: UploadForm,
) -> Response {
    let endpoint = Endpoint {
        action: "system/importPolicy",
        guard: Guard::System("importPolicy"),
        access: Access::Write,
    };
    answer(app, admin, client, endpoint, move |ctx| {
        import_policy_work(ctx, &form)
    })
    .await
}

fn check_policy_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let lower = params.lowercased();
    let text = |name: &str| {
        lower
            .optional(name)
            .map(|value| value.into_owned())
            .ok_or_else(|| missing(name))
    };
    let user = text("user")?;
    let realm = text("realm")?;
    let scope = text("scope")?;
    let action = text("action")?;
    let client = text("client")?;
    let explain = lower
        .optional("explain")
        .is_some_and(|value| parse_bool(value.trim()) == Some(true));
    let client_ip = client.trim().parse().ok();
    if client_ip.is_none() && !client.trim().is_empty() {
        tracing::debug!(client = %client, "checkPolicy: client is no address; not matched");
    }
    let mut user_context = UserContext::new(user.clone(), realm.clone());
    if scope != "admin" && scope != "system" && !user.is_empty() {
        // Policies may name users by resolver (`resolver:`): find the user's resolver.
        let found = users::resolve_in(ctx.app, &ctx.config, ctx.conn, &user, &realm, None)?;
        if let Some(name) = found.as_ref().and_then(|found| found.resolver_name()) {
            user_context = user_context.with_resolver(name);
        }
    }
    let mut policy_context = PolicyContext::for_user(user_context).with_realm(realm.clone());
    if let Some(client_ip) = client_ip {
        policy_context = policy_context.with_client(client_ip);
    }
    let policies = ctx.config.policies();
    let mut result = Map::new();
    if (scope == "admin" || scope == "system") && !policies.has_active_policy(&scope) {
        result.insert("allowed".to_owned(), Value::Bool(true));
        result.insert(
            "policy".to_owned(),
            Value::from(format!("No policies in scope {scope}")),
        );
        ctx.audit.info = format!("allowed since no policies in scope {scope}");
    } else {
        let matched = policies.matching_policies(&scope, Some(&action), &policy_context);
        result.insert("allowed".to_owned(), Value::Bool(!matched.is_empty()));
        if !matched.is_empty() {
            let names: Vec<String> = matched.iter().map(|p| python_str_repr(p.name())).collect();
            ctx.audit.info = format!("allowed by policy [{}]", names.join(", "));
        }
        result.insert("policy".to_owned(), Value::Object(policies_json(matched)));
    }
    if explain {
        let explanation = policies.explain(&scope, &action, &policy_context);
        result.insert(
            "explanation".to_owned(),
            serde_json::to_value(&explanation).unwrap_or(Value::Null),
        );
    }
    ctx.audit.action_detail = format!("action = {action}, realm = {realm}, scope = {scope}");
    ctx.audit.success = true;
    ok(result)
}

system_handler!(
    /// `/system/checkPolicy`: which policies apply to `user` in `realm` from `client` for
    /// `scope`/`action` (`{"allowed", "policy"}`). With `explain=1` the value also holds
    /// `explanation`: every policy of the scope, whether it matched and which field excluded
    /// it, the policies that apply and the decision with its reason
    /// ([`linotp_policy::Explanation`]).
    check_policy,
    "system/checkPolicy",
    Guard::System("checkPolicy"),
    Access::Read,
    check_policy_work
);

fn get_policy_def_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let lower = params.lowercased();
    let scope = lower.optional("scope").map(|scope| scope.into_owned());
    ctx.audit.success = true;
    ctx.audit.info = scope.clone().unwrap_or_else(|| "None".to_owned());
    ok(definitions().to_json(scope.as_deref()))
}

system_handler!(
    /// `/system/getPolicyDef`: the policy definitions (of one `scope`).
    get_policy_def,
    "system/getPolicyDef",
    Guard::System("getPolicyDef"),
    Access::Read,
    get_policy_def_work
);

fn policies_flexi_work(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let lower = params.lowercased();
    let text = |name: &str| lower.optional(name).map(|value| value.into_owned());
    let page = lower.int("page")?.unwrap_or(1);
    let rows_per_page = lower.int("rp")?;
    let query = FlexiQuery {
        name: text("name"),
        realm: text("realm"),
        scope: text("scope"),
        sort_by: text("sortname"),
        descending: text("sortorder").as_deref() == Some("desc"),
        page: u64::try_from(page).ok(),
        rows_per_page: rows_per_page.and_then(|rows| u64::try_from(rows).ok()),
    };
    let flexi = ctx
        .config
        .policies()
        .flexi(&query)
        .map_err(|error| match error {
            // LinOTP's KeyError on an unknown sort column.
            linotp_policy::Error::UnknownSortColumn(column) => {
                ApiError::Internal(python_str_repr(&column))
            }
            other => policy_error(other),
        })?;
    ctx.audit.success = true;
    ctx.audit.info = format!(
        "name = {}, realm = {}, scope = {}",
        query.name.as_deref().unwrap_or("None"),
        query.realm.as_deref().unwrap_or("None"),
        query.scope.as_deref().unwrap_or("None"),
    );
    // LinOTP returns the JSON text from the controller, which Flask sends as HTML.
    let mut response = (StatusCode::OK, python_json(&flexi, JsonStyle::PRETTY)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(HTML_CONTENT_TYPE),
    );
    Ok(response)
}

system_handler!(
    /// `/system/policies_flexi`: the policy table of LinOTP's old web UI (raw JSON, no
    /// envelope): `name`, `realm`, `scope` filters, `sortname`, `sortorder`, `page`, `rp`.
    policies_flexi,
    "system/policies_flexi",
    Guard::System("policies_flexi"),
    Access::Read,
    policies_flexi_work
);

#[cfg(test)]
mod tests {
    use super::*;
    use linotp_crypto::{DefaultSecurityModule, EncKey};

    #[test]
    fn url_quoting_follows_python() {
        assert_eq!(quote_plus("a b:c/d~e"), "a+b%3Ac%2Fd~e");
        assert_eq!(unquote_plus("a+b%3Ac%zz"), "a b:c%zz");
    }

    #[test]
    fn forward_secrets_are_stored_encrypted() {
        let security = DefaultSecurityModule::new(EncKey::generate().unwrap());
        let stored = prepare_actions(
            "otppin=1,forward_server=radius://10.0.0.1:1812/?secret=s3cr3t&a=1",
            &security,
        )
        .unwrap();
        assert!(
            stored.starts_with("otppin=1, forward_server=radius://10.0.0.1:1812/?a=1&encsecret=")
        );
        assert!(!stored.contains("s3cr3t"));
        let encrypted = stored
            .rsplit("encsecret=")
            .next()
            .unwrap()
            .replace("%3A", ":");
        let clear = security.decrypt_pin(&encrypted).unwrap();
        assert_eq!(clear.expose(), b"s3cr3t");
        assert_eq!(prepare_actions("otppin=1", &security).unwrap(), "otppin=1");
    }

    #[test]
    fn deleted_keys_follow_linotp_attribute_order() {
        let mut keys = vec![
            "linotp.Policy.p.active",
            "linotp.Policy.p.action",
            "linotp.Policy.p.time",
            "linotp.Policy.p.scope",
        ];
        keys.sort_by(|a, b| attribute_rank(a).cmp(&attribute_rank(b)).then(a.cmp(b)));
        assert_eq!(
            keys,
            [
                "linotp.Policy.p.action",
                "linotp.Policy.p.scope",
                "linotp.Policy.p.time",
                "linotp.Policy.p.active"
            ]
        );
    }
}
