//! LinOTP's REST listings under `/api/v2` (GET only, admin JWT): realms and their users,
//! resolvers and their users, tokens, and the audit log, answered the way LinOTP's
//! `RealmsController`, `ResolversController`, `TokensController` and `AuditlogController`
//! answer them (LinOTP's envelope, camel-case objects, 0-based pages).
//!
//! Unlike the `/admin` and `/system` groups these controllers answer refusals with HTTP 403
//! (and an unknown user of a resolver with 404), so every handler runs through [`answer`],
//! whose work returns a [`Failure`]: the LinOTP error plus the HTTP status to send it with.
//! Where LinOTP lets an exception escape as HTTP 500 for a client mistake (an unknown
//! resolver, a bad sort key, a non-number page size), the reply is LinOTP's error envelope
//! with 404 or 400 instead.
//!
//! ```no_run
//! # use linotp_api::test_app::TestApp;
//! # fn demo(app: &TestApp) {
//! // Mounted by `routes::router`:
//! let router = app.router();
//! let (cookie, _csrf) = app.admin_session("admin");
//! // GET /api/v2/tokens/?pageSize=10&page=1&sortBy=creationDate with `Cookie: <cookie>`
//! // answers `{"page": 1, "pageSize": 10, "totalPages": …, "totalRecords": …,
//! // "pageRecords": [Token, …]}` in LinOTP's envelope.
//! # let _ = (router, cookie);
//! # }
//! ```

mod auditlog;
mod realms;
mod resolvers;
mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use serde_json::Value;

pub(crate) use crate::admin_request::Ctx;
use crate::app::AppState;
use crate::audit::AuditEvent;
use crate::auth::{AdminAuth, AdminIdentity, admin_gate};
use crate::error::ApiError;
use crate::http::ClientIp;
use crate::reply::{JsonReply, method_not_allowed, reply_id};
use crate::sysconfig::SystemConfig;
use crate::users::ResolverSpec;

/// The routes of this endpoint group, with the application state applied. Each listing is
/// served with and without its trailing slash (Flask redirects the bare form there).
pub fn routes(state: &AppState) -> Router {
    let auth = &state.auth;
    Router::new()
        .route("/api/v2/realms/", get_only(auth, realms::list))
        .route("/api/v2/realms", get_only(auth, realms::list))
        .route(
            "/api/v2/realms/{realm}/users",
            get_only(auth, realms::users),
        )
        .route("/api/v2/resolvers/", get_only(auth, resolvers::list))
        .route("/api/v2/resolvers", get_only(auth, resolvers::list))
        .route(
            "/api/v2/resolvers/{resolver}/users",
            get_only(auth, resolvers::users),
        )
        .route(
            "/api/v2/resolvers/{resolver}/users/{user_id}",
            get_only(auth, resolvers::user),
        )
        .route("/api/v2/tokens/", get_only(auth, tokens::list))
        .route("/api/v2/tokens", get_only(auth, tokens::list))
        .route("/api/v2/tokens/{serial}", get_only(auth, tokens::by_serial))
        .route("/api/v2/auditlog/", get_only(auth, auditlog::list))
        .route("/api/v2/auditlog", get_only(auth, auditlog::list))
        .with_state(state.clone())
}

/// GET (and HEAD) behind the admin JWT gate; other methods get Flask's 405 page, outside the
/// gate as in LinOTP (routing comes before authentication).
fn get_only<H, T>(auth: &AdminAuth, handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    axum::routing::get(handler)
        .fallback(method_not_allowed_handler)
        .route_layer(from_fn_with_state(auth.clone(), admin_gate))
}

async fn method_not_allowed_handler() -> Response {
    method_not_allowed()
}

/// A LinOTP error and the HTTP status these controllers send it with.
#[derive(Debug)]
pub(crate) struct Failure {
    error: ApiError,
    status: StatusCode,
}

impl Failure {
    /// A refusal by policy: LinOTP's PolicyException with HTTP 403.
    fn forbidden(message: impl Into<String>) -> Failure {
        Failure {
            error: ApiError::Policy(message.into()),
            status: StatusCode::FORBIDDEN,
        }
    }

    /// `error` with HTTP `status`.
    fn with_status(error: ApiError, status: StatusCode) -> Failure {
        Failure { error, status }
    }

    fn into_response(self) -> Response {
        match &self.error {
            ApiError::Store(cause) => tracing::error!(error = %cause, "api/v2: database failed"),
            other => tracing::debug!(error = %other, status = %self.status, "api/v2 refused"),
        }
        JsonReply::error(self.error.code(), self.error.message())
            .id(reply_id::DEFAULT)
            .http_status(self.status)
            .into_response()
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Failure {
        let status = error.http_status();
        Failure { error, status }
    }
}

impl From<linotp_store::StoreError> for Failure {
    fn from(error: linotp_store::StoreError) -> Failure {
        Failure::from(ApiError::Store(error))
    }
}

type Outcome<T> = std::result::Result<T, Failure>;

impl Ctx<'_> {
    /// LinOTP's `checkPolicyPre("system", <read method>)`.
    fn require_system_read(&self) -> Outcome<()> {
        if self.is_authorized("system", "read") {
            return Ok(());
        }
        tracing::warn!(admin = %self.admin.username, "api/v2: system read refused");
        Err(Failure::forbidden(
            "Policy check failed. You are not allowed to read system config.",
        ))
    }
}

/// What every handler of this group starts from: the application, the admin, the client
/// address and the request path (the audit action).
pub(super) struct V2Request {
    app: AppState,
    admin: AdminIdentity,
    client: Option<ClientIp>,
    path: String,
}

impl FromRequestParts<AppState> for V2Request {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(V2Request {
            app: Arc::clone(state),
            admin: AdminIdentity::from_request_parts(parts, state).await?,
            client: parts.extensions.get::<ClientIp>().copied(),
            path: parts.uri.path().to_owned(),
        })
    }
}

impl V2Request {
    /// Runs the request through the shared runner, then records its audit event, then
    /// replies.
    async fn answer<F>(self, work: F) -> Response
    where
        F: for<'a> FnOnce(&mut Ctx<'a>) -> Outcome<Response> + Send + 'static,
    {
        let app = Arc::clone(&self.app);
        let (result, audit) = self.run(work).await;
        app.audit.record(audit).await;
        match result {
            Ok(response) => response,
            Err(failure) => failure.into_response(),
        }
    }

    /// The work of [`V2Request::answer`] without recording its audit event (the caller
    /// records it, after anything it still does).
    async fn run<T, F>(self, work: F) -> (Outcome<T>, AuditEvent)
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&mut Ctx<'a>) -> Outcome<T> + Send + 'static,
    {
        crate::admin_request::run(&self.app, self.admin, self.client, &self.path, work).await
    }
}

/// `sendResult(value)`.
fn result(value: impl Into<Value>) -> Outcome<Response> {
    Ok(JsonReply::result(value).into_response())
}

/// An integer parameter as Python's `int()` reads it (junk is LinOTP's ValueError, -311).
fn int_param(params: &crate::params::Params, name: &str) -> Outcome<Option<i64>> {
    params
        .int(name)
        .map_err(|error| Failure::with_status(error, StatusCode::BAD_REQUEST))
}

/// The spec of the resolver called `name`, or LinOTP's `NoResolverFound` (as 404).
fn resolver_spec_by_name(config: &SystemConfig, name: &str) -> Outcome<ResolverSpec> {
    match crate::system_api::defined_resolvers(config).get(name) {
        Some(class) => Ok(ResolverSpec::new(*class, name)),
        None => Err(Failure::with_status(
            ApiError::Internal(format!("Could not find a resolver with this name: {name}")),
            StatusCode::NOT_FOUND,
        )),
    }
}

/// A resolver user as these controllers show it (LinOTP's `model.resolver.User.as_dict`).
fn user_object(
    spec: &ResolverSpec,
    fields: &serde_json::Map<String, Value>,
    user_id: Option<&str>,
) -> Value {
    let optional = |name: &str| match fields.get(name) {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(text)) if text.is_empty() => Value::Null,
        Some(value) => value.clone(),
    };
    let user_id = match user_id {
        Some(id) => Value::from(id),
        None => fields.get("userid").cloned().unwrap_or(Value::Null),
    };
    serde_json::json!({
        "userId": user_id,
        "resolverClass": spec.class().type_name(),
        "resolverName": spec.name(),
        "username": fields.get("username").cloned().unwrap_or(Value::Null),
        "surname": optional("surname"),
        "givenName": optional("givenname"),
        "email": optional("email"),
        "mobile": optional("mobile"),
        "phone": optional("phone"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use linotp_resolvers::ResolverClass;
    #[test]
    fn users_show_empty_attributes_as_null_and_the_resolver_type() {
        let spec = ResolverSpec::new(ResolverClass::Sql, "users");
        let fields: serde_json::Map<String, Value> = serde_json::from_value(serde_json::json!({
            "userid": 7, "username": "alice", "surname": "", "email": "a@example.test"
        }))
        .unwrap();
        let user = user_object(&spec, &fields, None);
        assert_eq!(
            user,
            serde_json::json!({
                "userId": 7, "resolverClass": "sqlresolver", "resolverName": "users",
                "username": "alice", "surname": null, "givenName": null,
                "email": "a@example.test", "mobile": null, "phone": null
            })
        );
        assert_eq!(user_object(&spec, &fields, Some("7"))["userId"], "7");
    }
}
