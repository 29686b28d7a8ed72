//! The configuration API: `/system/*` (config entries, realms, resolvers, policies),
//! `/tools/import_users`, and the resolver views of `/admin` (`userlist`, `testresolver`),
//! answered the way LinOTP's `SystemController`, `ToolsController` and `AdminController`
//! answer them.
//!
//! Every request runs through one runner ([`answer`]): it checks the admin's right first
//! (LinOTP's `checkPolicyPre`: scope `system` with the method's `read`/`write` right, scope
//! `tools` with the method name; everything is allowed while no active policy exists in the
//! scope), runs the work on the blocking pool with a database connection (in one transaction
//! when the endpoint writes, so a failing request leaves nothing half done), writes the
//! request's audit event and turns errors into LinOTP's error envelope.
//!
//! Every change goes through `linotp-store`'s config functions, which move the `linotp.Config`
//! change stamp: any node (and LinOTP itself on the same database) sees the new configuration
//! with its next request, because [`crate::sysconfig::ConfigCache`] compares that stamp.
//!
//! # `checkPolicy` with `explain=1`
//!
//! `/system/checkPolicy` answers as LinOTP does (`{"allowed": bool, "policy": {...}}`). With
//! the extra parameter `explain=1` the value also carries `"explanation"`: every policy of the
//! scope, whether it matched and which field excluded it (realm, user, client, time, action,
//! precedence), the policies that apply and the final decision with its reason, the action's
//! value and LinOTP's default — [`linotp_policy::Explanation`] as JSON. LinOTP has no such
//! parameter; clients that do not send it see LinOTP's reply unchanged.
//!
//! ```no_run
//! # use linotp_api::test_app::TestApp;
//! # fn demo(app: &TestApp) {
//! // Mounted by `routes::router`:
//! let router = app.router();
//! let (cookie, csrf) = app.admin_session("admin");
//! // POST /system/setConfig with `Cookie: <cookie>`, `X-CSRF-TOKEN: <csrf>` and the body
//! // `key=mykey&value=v1` answers `{"setConfig mykey": true}`; every node sees the entry at
//! // once through the config stamp.
//! # let _ = (router, cookie, csrf);
//! # }
//! ```

mod config;
mod import_users;
mod multipart;
mod policies;
mod realms;
mod resolvers;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use linotp_policy::{SystemRight, system_right};
use linotp_store::AnyConnection;

pub(crate) use crate::admin_request::{Access, Ctx};
use crate::app::AppState;
use crate::auth::AdminIdentity;
use crate::error::{ApiError, Result};
use crate::http::{ClientIp, Endpoints, Methods};
use crate::pyfmt::python_str_repr;
use crate::reply::{JsonReply, PRODUCT_VERSION, reply_id};

pub use multipart::{UploadForm, UploadedFile};
pub(crate) use realms::{all_realms, realm_names};
pub(crate) use resolvers::{admin_resolver_names, defined_resolvers, is_readonly};

/// The routes of this endpoint group, with the application state applied.
pub fn routes(state: &AppState) -> Router {
    Endpoints::<AppState>::admin(&state.auth)
        .endpoint("/system/setConfig", config::set_config)
        .endpoint("/system/getConfig", config::get_config)
        .endpoint("/system/delConfig", config::del_config)
        .endpoint("/system/setDefault", config::set_default)
        .endpoint("/system/setRealm", realms::set_realm)
        .endpoint("/system/getRealms", realms::get_realms)
        .endpoint("/system/delRealm", realms::del_realm)
        .endpoint("/system/setDefaultRealm", realms::set_default_realm)
        .endpoint("/system/getDefaultRealm", realms::get_default_realm)
        .endpoint("/system/setResolver", resolvers::set_resolver)
        .endpoint("/system/getResolver", resolvers::get_resolver)
        .endpoint("/system/getResolvers", resolvers::get_resolvers)
        .endpoint("/system/delResolver", resolvers::del_resolver)
        .endpoint("/system/setPolicy", policies::set_policy)
        .endpoint("/system/getPolicy", policies::get_policy)
        .endpoint("/system/delPolicy", policies::del_policy)
        .endpoint("/system/importPolicy", policies::import_policy)
        .endpoint("/system/checkPolicy", policies::check_policy)
        .endpoint("/system/getPolicyDef", policies::get_policy_def)
        .endpoint("/system/policies_flexi", policies::policies_flexi)
        .endpoint("/tools/import_users", import_users::import_users)
        .endpoint("/admin/userlist", resolvers::userlist)
        // LinOTP 4 serves it for POST only (`@methods(["POST"])`).
        .endpoint_with(
            "/admin/testresolver",
            Methods::PostOnly,
            resolvers::testresolver,
        )
        .into_router()
        .with_state(state.clone())
}

/// The permission an endpoint checks before its work (LinOTP's controller `__before__`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// `/system/<method>`: scope `system`, the method's `read` or `write` right.
    System(&'static str),
    /// `/tools/<method>`: scope `tools`, action = the method name.
    Tools(&'static str),
    /// The work checks the admin-scope right itself (it needs the request's realm).
    InWork,
}

/// What the runner needs to know about an endpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoint {
    /// The audit action, e.g. `system/setConfig`.
    pub(crate) action: &'static str,
    pub(crate) guard: Guard,
    pub(crate) access: Access,
}

/// Runs one request through the shared runner: the permission check, the work (in a
/// transaction for [`Access::Write`]), then its audit event, then the reply; an error
/// becomes LinOTP's error envelope (id 1).
pub(crate) async fn answer<F>(
    app: AppState,
    admin: AdminIdentity,
    client: Option<ClientIp>,
    endpoint: Endpoint,
    work: F,
) -> Response
where
    F: for<'a> FnOnce(&mut Ctx<'a>) -> Result<Response> + Send + 'static,
{
    let (result, audit) =
        crate::admin_request::run(&app, admin, client, endpoint.action, move |ctx| {
            check_guard(ctx, endpoint.guard)?;
            ctx.with_access(endpoint.access, work)
        })
        .await;
    if endpoint.access == Access::Write {
        // Our own write moved the stamp; dropping the copy also covers two writes within
        // the stamp's resolution.
        app.config.invalidate();
    }
    app.audit.record(audit).await;
    match result {
        Ok(response) => response,
        Err(error) => error.reply(reply_id::DEFAULT).into_response(),
    }
}

/// LinOTP's `checkPolicyPre` for the system and tools controllers.
fn check_guard(ctx: &Ctx<'_>, guard: Guard) -> Result<()> {
    match guard {
        Guard::System(method) => check_system_right(ctx, method),
        Guard::Tools(method) => {
            if ctx.is_authorized("tools", method) {
                Ok(())
            } else {
                tracing::warn!(admin = %ctx.admin.username, method, "tools policy refused");
                Err(ApiError::Policy(format!(
                    "You do not have the administrative right to manage tools. You are \
                     missing a policy scope=tools, action={method}"
                )))
            }
        }
        Guard::InWork => Ok(()),
    }
}

/// Scope `system`: the right (`read`/`write`) the method needs.
pub(crate) fn check_system_right(ctx: &Ctx<'_>, method: &str) -> Result<()> {
    let Some(right) = system_right(method) else {
        return Err(ApiError::Policy(format!(
            "Failed to run checkPolicyPre. Unknown method: {}",
            python_str_repr(method)
        )));
    };
    let action = right.action();
    if ctx.is_authorized("system", action) {
        return Ok(());
    }
    tracing::warn!(admin = %ctx.admin.username, method, action, "system policy refused");
    Err(ApiError::Policy(format!(
        "Policy check failed. You are not allowed to {} system config.",
        match right {
            SystemRight::Read => "read",
            SystemRight::Write => "write",
        }
    )))
}

/// Registers an axum handler for an endpoint of this group: extracts the state, the admin,
/// the client address and the parameters, and hands them to [`answer`].
macro_rules! system_handler {
    ($(#[$meta:meta])* $name:ident, $action:literal, $guard:expr, $access:expr, $work:path) => {
        $(#[$meta])*
        pub(crate) async fn $name(
            axum::extract::State(app): axum::extract::State<$crate::app::AppState>,
            admin: $crate::auth::AdminIdentity,
            client: Option<$crate::http::ClientIp>,
            params: $crate::params::Params,
        ) -> axum::response::Response {
            let endpoint = $crate::system_api::Endpoint {
                action: $action,
                guard: $guard,
                access: $access,
            };
            $crate::system_api::answer(app, admin, client, endpoint, move |ctx| {
                $work(ctx, &params)
            })
            .await
        }
    };
}
pub(crate) use system_handler;

/// `sendResult(value, 1)`.
pub(crate) fn ok(value: impl Into<serde_json::Value>) -> Result<Response> {
    Ok(JsonReply::result(value).into_response())
}

/// A reply body with its media type (the non-envelope replies: policy export, flexi JSON,
/// the streamed user list, XML).
pub(crate) fn text_reply(content_type: &'static str, body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

/// LinOTP's `json2xml`: lists as `<value>` elements, objects as one element per member,
/// scalars as Python's `str()`.
pub(crate) fn json_to_xml(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Array(items) => items
            .iter()
            .map(|item| format!("<value>{}</value>", json_to_xml(item)))
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Object(members) => members
            .iter()
            .map(|(tag, member)| format!("<{tag}>{}</{tag}>", json_to_xml(member)))
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Null => "None".to_owned(),
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
    }
}

/// Media type of LinOTP's XML replies (Flask adds the charset to `text/xml`).
pub(crate) const XML_CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// LinOTP's `sendXMLResult(value)`: the reply to a file upload of `importPolicy`.
pub(crate) fn xml_result(value: &serde_json::Value) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<jsonrpc version=\"2.0\">\n    <result>\n        \
         <status>True</status>\n        <value>{}</value>\n    </result>\n    <version>{PRODUCT_VERSION}\
         </version>\n    <id>1</id>\n</jsonrpc>",
        json_to_xml(value)
    );
    text_reply(XML_CONTENT_TYPE, body)
}

/// LinOTP's `sendXMLError(exception)`: one line, LinOTP's own indentation inside it; LinOTP
/// errors without their `ERR<id>: ` prefix.
pub(crate) fn xml_error(error: &ApiError) -> Response {
    let description = error.to_string();
    tracing::debug!(code = error.code(), message = %description, "XML error reply");
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>            <jsonrpc version=\"{}\">            \
         <result>                <status>False</status>                <error>                    \
         <code>{}</code>                    <message>{description}</message>                \
         </error>            </result>            <version>{PRODUCT_VERSION}</version>            \
         <id>1</id>            </jsonrpc>",
        crate::reply::API_VERSION,
        error.code(),
    );
    text_reply(XML_CONTENT_TYPE, body)
}

/// A resolver error in LinOTP's terms: definition errors keep LinOTP's text and code
/// (905 with `ERR905: `, others as a bare `-311` text), the rest are `-311` texts.
pub(crate) fn resolver_error(error: linotp_resolvers::ResolverError) -> ApiError {
    use linotp_resolvers::{PARAMETER_ERROR_CODE, ResolverError};
    match error {
        ResolverError::Store(cause) => ApiError::Store(cause),
        ResolverError::Definition { message, code } if code == PARAMETER_ERROR_CODE => {
            ApiError::Parameter(message)
        }
        other => ApiError::Internal(other.to_string()),
    }
}

/// A config entry stored the way LinOTP's `_storeConfigEntryDB` stores it: a new row gets
/// `str(None)` (`"None"`) for a missing type or description, an updated row NULL.
pub(crate) fn store_entry(
    conn: &mut AnyConnection,
    key: &str,
    value: &str,
    typ: Option<&str>,
    description: Option<&str>,
) -> Result<()> {
    let exists = linotp_store::config::get(conn, key)?.is_some();
    let (typ, description) = if exists {
        (typ, description)
    } else {
        (typ.or(Some("None")), description.or(Some("None")))
    };
    linotp_store::config::set(conn, key, value, typ, description)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_to_xml_follows_linotp() {
        assert_eq!(json_to_xml(&json!(2)), "2");
        assert_eq!(json_to_xml(&json!(true)), "True");
        assert_eq!(
            json_to_xml(&json!({"a": [1, "x"], "b": null})),
            "<a><value>1</value>\n<value>x</value></a>\n<b>None</b>"
        );
    }
}
