//! Sessions, health and the audit trail: `POST /admin/login`, `/admin/logout`,
//! `/maintenance/check_status`, `/audit/search`, and the database probe behind
//! `/healthcheck/status`.
//!
//! Login looks the user up in the resolvers of the admin realm (`ADMIN_REALM_NAME`) in the
//! realm's order, through the same [`crate::users::Resolver`]s the validate service
//! uses, so LDAP or SQL admin directories slot in with the resolvers themselves. Today that
//! means LinOTP's local administrators (`imported_user`, group `LinOTP_local_admins`): crypt
//! password hashes, and a `!`-prefixed (disabled) hash never matches.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use linotp_store::AnyConnection;
use linotp_store::diesel::prelude::*;
use serde_json::json;
use zeroize::Zeroizing;

use crate::BoxFuture;
use crate::app::{App, AppState};
use crate::audit::{AuditEvent, AuditSearch, search_failed};
use crate::auth::{AdminIdentity, AdminSession};
use crate::error::Result;
use crate::http::{ClientIp, Endpoints, HealthProbe, Methods};
use crate::params::Params;
use crate::reply::{JsonReply, reply_id};
use crate::users::{ResolverSpec, open_resolver};

/// The routes of this endpoint group, with the application state applied.
pub fn routes(state: &AppState) -> Router {
    let public = Endpoints::<AppState>::new()
        // LinOTP's `@methods(["POST"])`: the password never travels in a URL.
        .endpoint_with("/admin/login", Methods::PostOnly, login)
        .into_router()
        .with_state(state.clone());
    let admin = Endpoints::<AppState>::admin(&state.auth)
        .endpoint("/admin/logout", logout)
        .endpoint("/maintenance/check_status", check_status)
        .endpoint("/audit/search", audit_search)
        .into_router()
        .with_state(state.clone());
    public.merge(admin)
}

/// The readiness check of `/healthcheck/status`: one query on a pooled connection.
pub fn health_probe(state: &AppState) -> Arc<dyn HealthProbe> {
    Arc::new(DatabaseProbe {
        state: Arc::clone(state),
    })
}

#[derive(Debug)]
struct DatabaseProbe {
    state: AppState,
}

impl HealthProbe for DatabaseProbe {
    fn check(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            self.state
                .with_conn(|_, conn| {
                    config_rows(conn)?;
                    Ok(())
                })
                .await
        })
    }
}

/// Raw rows of the `Config` table (long values span several rows), as LinOTP counts them.
fn config_rows(conn: &mut AnyConnection) -> Result<i64> {
    use linotp_store::schema::config;
    Ok(config::table
        .count()
        .get_result(conn)
        .map_err(linotp_store::StoreError::from)?)
}

fn client_of(client: Option<ClientIp>) -> String {
    client
        .map(|ClientIp(ip)| ip.to_string())
        .unwrap_or_default()
}

fn with_cookies(
    reply: JsonReply,
    cookies: impl IntoIterator<Item = header::HeaderValue>,
) -> Response {
    let mut response = reply.into_response();
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// A password hash of LinOTP's kind (sha512_crypt, 656,000 rounds) of random text, checked
/// when no administrator has the name given: an unknown name then takes as long as a wrong
/// password, so response times do not tell which names exist.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let mut random = [0u8; 16];
        if linotp_crypto::random::fill_random(&mut random).is_err() {
            return String::new();
        }
        linotp_crypto::hash_password(&hex_text(&random)).unwrap_or_default()
    })
}

fn hex_text(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The resolver spec of the admin-realm resolver that knows `username` with `password`.
fn authenticate_admin(
    app: &App,
    conn: &mut AnyConnection,
    username: &str,
    password: &str,
) -> Result<Option<String>> {
    let config = app.system_config(conn)?;
    let mut known = false;
    for spec_text in config.realm_resolvers(&app.options.admin_realm) {
        let Some(spec) = ResolverSpec::parse(&spec_text) else {
            tracing::warn!(spec = %spec_text, "unreadable resolver spec in the admin realm");
            continue;
        };
        let Some(resolver) = open_resolver(app, &spec, &config) else {
            continue;
        };
        let Some(user_id) = resolver.user_id(username)? else {
            continue;
        };
        known = true;
        if resolver.check_password(&user_id, password)? {
            return Ok(Some(spec_text.trim().to_owned()));
        }
    }
    if !known {
        let _ = linotp_crypto::verify_password(password, decoy_hash());
    }
    Ok(None)
}

async fn login(
    State(app): State<AppState>,
    client: Option<ClientIp>,
    params: Params,
) -> Result<Response> {
    let username = params.optional("username").map(|name| name.into_owned());
    let password = Zeroizing::new(
        params
            .optional("password")
            .map(|password| password.into_owned())
            .unwrap_or_default(),
    );
    let mut event = AuditEvent {
        user: username.clone().unwrap_or_default(),
        realm: app.options.admin_realm.clone(),
        client: client_of(client),
        ..AuditEvent::new("admin/login")
    };
    let resolver = match username.clone() {
        Some(name) if !name.is_empty() => {
            app.with_conn(move |app, conn| authenticate_admin(app, conn, &name, &password))
                .await?
        }
        _ => None,
    };
    let (Some(username), Some(resolver)) = (username, resolver) else {
        tracing::info!(user = %event.user, "admin login refused");
        app.audit.record(event).await;
        return Ok(JsonReply::result(false)
            .detail(json!({"message": "Bad username or password"}))
            .http_status(StatusCode::UNAUTHORIZED)
            .into_response());
    };
    let identity = AdminIdentity {
        username: username.clone(),
        realm: app.options.admin_realm.clone(),
        resolver,
    };
    let issued = app.auth.issue(identity.clone())?;
    event.success = true;
    event.administrator = AuditEvent::administrator_of(&identity);
    app.audit.record(event).await;
    let reply = JsonReply::result(true)
        .detail(json!({"message": format!("Login successful for {username}")}));
    Ok(with_cookies(reply, app.auth.login_cookies(&issued)))
}

async fn logout(
    State(app): State<AppState>,
    session: AdminSession,
    client: Option<ClientIp>,
) -> Result<Response> {
    let cookies = app.auth.logout(&session).await?;
    let identity = session.identity();
    let administrator = AuditEvent::administrator_of(identity);
    app.audit
        .record(AuditEvent {
            success: true,
            user: identity.username.clone(),
            realm: identity.realm.clone(),
            administrator: administrator.clone(),
            client: client_of(client),
            ..AuditEvent::new("admin/logout")
        })
        .await;
    let reply = JsonReply::result(true)
        .detail(json!({"message": format!("Logout successful for {administrator}")}));
    Ok(with_cookies(reply, cookies))
}

/// `value: true` and the number of config rows; like LinOTP, no audit row (a monitoring
/// probe would flood the trail) and HTTP 500 when the database cannot be read.
async fn check_status(State(app): State<AppState>) -> Response {
    match app.with_conn(|_, conn| config_rows(conn)).await {
        Ok(entries) => JsonReply::result(true)
            .id(reply_id::VALIDATE)
            .detail(json!({"config": {"entries": entries}}))
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "maintenance/check_status: database unavailable");
            JsonReply::error(crate::error::codes::NON_LINOTP, "Internal Server Error")
                .http_status(StatusCode::INTERNAL_SERVER_ERROR)
                .into_response()
        }
    }
}

async fn audit_search(
    State(app): State<AppState>,
    identity: AdminIdentity,
    client: Option<ClientIp>,
    params: Params,
) -> Response {
    // LinOTP checks the audit `view` right first and logs the request after answering.
    let (allowed, mut event) =
        crate::admin_request::run(&app, identity, client, "audit/search", |ctx| {
            ctx.require_audit_view()
        })
        .await;
    let response = match allowed.map(|()| AuditSearch::from_params(&params)) {
        Err(refusal) => refusal.reply(reply_id::DEFAULT).into_response(),
        Ok(Err(error)) => {
            tracing::warn!(%error, "audit/search failed");
            search_failed().into_response()
        }
        Ok(Ok(search)) => match app.audit.search_stored(search.clone()).await {
            Ok(page) => {
                event.success = true;
                page.into_response(&search)
            }
            Err(error) => {
                tracing::error!(%error, "audit/search failed");
                search_failed().into_response()
            }
        },
    };
    app.audit.record(event).await;
    response
}
