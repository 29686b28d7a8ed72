//! The HTTP plumbing every endpoint shares: routing conventions (POST-only endpoints,
//! hyphen aliases), the common layers (request id, body limit, timeout, security headers,
//! client IP behind trusted proxies, LinOTP-shaped errors and `httperror`), the endpoints
//! that need no store, and [`serve`].

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::task::Poll;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRequestParts, OptionalFromRequestParts, Request, State,
};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use ipnet::IpNet;
use serde_json::json;
use tokio::net::TcpListener;
use tracing::Instrument;
use uuid::Uuid;

use crate::BoxFuture;
use crate::auth::{AdminAuth, admin_gate};
use crate::error::{ApiError, Result};
use crate::params::{BodyLimit, DEFAULT_BODY_LIMIT, parse_urlencoded, read_body_limited};
use crate::pyfmt::{JsonStyle, python_json};
use crate::reply::{
    ErrorMarker, JSON_CONTENT_TYPE, JsonReply, LinotpShaped, VERSION_NUMBER, httperror_page,
    method_not_allowed, not_found, parse_httperror, reply_id,
};

/// Endpoints that answer GET with 405 (LinOTP 3 "API endpoints requiring POST requests").
pub const POST_ONLY_ENDPOINTS: &[&str] = &[
    "/admin/assign",
    "/admin/copyTokenPin",
    "/admin/copyTokenUser",
    "/admin/disable",
    "/admin/enable",
    "/admin/init",
    "/admin/loadtokens",
    "/admin/losttoken",
    "/admin/remove",
    "/admin/reset",
    "/admin/resync",
    "/admin/set",
    "/admin/setPin",
    "/admin/setValidity",
    "/admin/tokenrealm",
    "/admin/unassign",
    "/admin/unpair",
    "/maintenance/setLogLevel",
    "/migrate/backup",
    "/migrate/restore",
    "/reporting/delete_all",
    "/reporting/delete_before",
    "/system/delConfig",
    "/system/delPolicy",
    "/system/delProvider",
    "/system/delRealm",
    "/system/delResolver",
    "/system/importPolicy",
    "/system/setConfig",
    "/system/setDefault",
    "/system/setDefaultProvider",
    "/system/setDefaultRealm",
    "/system/setPolicy",
    "/system/setProvider",
    "/system/setRealm",
    "/system/setResolver",
    "/system/setSupport",
    "/system/setupSecurityModule",
    "/tools/import_users",
    "/tools/migrate_resolver",
    "/tools/setPassword",
    "/userservice/activateocratoken",
    "/userservice/assign",
    "/userservice/delete",
    "/userservice/disable",
    "/userservice/enable",
    "/userservice/enroll",
    "/userservice/finishocra2token",
    "/userservice/reset",
    "/userservice/resync",
    "/userservice/setdescription",
    "/userservice/setmpin",
    "/userservice/setpin",
    "/userservice/unassign",
    "/userservice/webprovision",
];

/// Whether LinOTP serves this path for POST only.
pub fn is_post_only(path: &str) -> bool {
    POST_ONLY_ENDPOINTS.contains(&path)
}

/// Headers of LinOTP's Apache site (`Header always set ...`), sent on every reply.
pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("x-frame-options", "DENY"),
    ("x-xss-protection", "1; mode=block"),
    (
        "strict-transport-security",
        "max-age=315360000; includeSubDomains",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-permitted-cross-domain-policies", "none"),
];

/// Response header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Default request timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Proxies whose `X-Forwarded-For` is believed (LinOTP's `TRUSTED_PROXIES`), as addresses or
/// CIDR networks. Host names are not resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
}

impl TrustedProxies {
    /// Parses entries such as `10.0.0.0/8`, `127.0.0.1`, `::1`; blank entries are skipped.
    pub fn parse<I, T>(entries: I) -> Result<TrustedProxies>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let mut networks = Vec::new();
        for entry in entries {
            let entry = entry.as_ref().trim();
            if entry.is_empty() {
                continue;
            }
            let network = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    ApiError::Config(format!("TRUSTED_PROXIES entry {entry:?} is no address"))
                })?;
            networks.push(network);
        }
        Ok(TrustedProxies { networks })
    }

    /// Whether the address belongs to a trusted proxy.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.networks
            .iter()
            .any(|network| network.contains(&address))
    }

    /// The client address of a request from `peer` carrying `x_forwarded_for`: walking the
    /// header from the right, the first hop that is not a trusted proxy. Only a trusted peer
    /// may forward; an unparsable hop ends the walk at the last trusted address.
    pub fn client_ip(&self, peer: IpAddr, x_forwarded_for: Option<&str>) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let Some(forwarded) = x_forwarded_for else {
            return peer;
        };
        let mut client = peer;
        for hop in forwarded
            .rsplit(',')
            .map(str::trim)
            .filter(|hop| !hop.is_empty())
        {
            let Some(address) = parse_hop(hop) else {
                return client;
            };
            client = address;
            if !self.contains(address) {
                return address;
            }
        }
        client
    }
}

fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|socket| socket.ip()))
        .or_else(|_| {
            hop.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
        })
        .ok()
        .map(|address| address.to_canonical())
}

/// The client address of a request (after trusted-proxy resolution). Present when the server
/// runs through [`serve`] (or the request carries `ConnectInfo<SocketAddr>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .ok_or_else(|| ApiError::Internal("the client address is unknown".to_owned()))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>> {
        Ok(parts.extensions.get::<ClientIp>().copied())
    }
}

/// The id of a request: in the `x-request-id` reply header and in every log line's span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        parts
            .extensions
            .get::<RequestId>()
            .copied()
            .ok_or_else(|| ApiError::Internal("the request has no id".to_owned()))
    }
}

/// Which error ids honour `httperror` (LinOTP's `linotp.errors` config entry).
pub trait HttpErrorPolicy: Send + Sync + fmt::Debug + 'static {
    /// Whether an error with this LinOTP id becomes the `httperror` HTML page.
    fn applies_to(&self, error_code: i64) -> bool;
}

/// A fixed `linotp.errors` value: a comma list of ids, or every id when unset or empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpErrorIds {
    ids: Option<Vec<String>>,
}

impl HttpErrorIds {
    /// From the config value (`None` or empty: all errors).
    pub fn from_config(value: Option<&str>) -> HttpErrorIds {
        let ids: Vec<String> = value
            .unwrap_or("")
            .split(',')
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty())
            .collect();
        HttpErrorIds {
            ids: (!ids.is_empty()).then_some(ids),
        }
    }
}

impl HttpErrorPolicy for HttpErrorIds {
    fn applies_to(&self, error_code: i64) -> bool {
        self.ids
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|id| *id == error_code.to_string()))
    }
}

/// A readiness check behind `/healthcheck/status` (the server plugs in a database ping).
pub trait HealthProbe: Send + Sync + fmt::Debug + 'static {
    /// `Ok` when the service can answer requests.
    fn check(&self) -> BoxFuture<'_, Result<()>>;
}

/// Where the `Params` extractor records the `httperror` parameter, so the error layer can
/// see it even when it came in the (already consumed) body.
#[derive(Debug, Clone, Default)]
pub(crate) struct HttpErrorSlot(Arc<OnceLock<String>>);

impl HttpErrorSlot {
    pub(crate) fn record(&self, value: &str) {
        let _ = self.0.set(value.to_owned());
    }

    fn get(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

/// Limits and proxy settings of the HTTP layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Largest request body read, in bytes.
    pub body_limit: usize,
    /// Longest time a request may take before it is answered with a timeout error.
    pub request_timeout: Duration,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: TrustedProxies,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            body_limit: DEFAULT_BODY_LIMIT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// A handler for POST only; GET and other methods get Flask's 405 page.
pub fn post_only<H, T, S>(handler: H) -> MethodRouter<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    axum::routing::post(handler).fallback(method_not_allowed_handler)
}

/// A handler for GET (and HEAD) and POST; other methods get Flask's 405 page.
pub fn get_or_post<H, T, S>(handler: H) -> MethodRouter<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    get(handler.clone())
        .post(handler)
        .fallback(method_not_allowed_handler)
}

async fn method_not_allowed_handler() -> Response {
    method_not_allowed()
}

/// Unknown paths are 404, except that a GET to an endpoint of LinOTP's POST-only list is
/// 405 even when this build does not serve that endpoint yet (LinOTP routes before it works).
async fn not_found_handler(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    if method != axum::http::Method::POST && is_post_only(uri.path()) {
        method_not_allowed()
    } else {
        not_found()
    }
}

/// The `-` spelling of a `/validate/` endpoint whose name has a `_` (`check-status`).
pub fn hyphen_alias(path: &str) -> Option<String> {
    let name = path.strip_prefix("/validate/")?;
    name.contains('_')
        .then(|| format!("/validate/{}", name.replace('_', "-")))
}

/// Which HTTP methods an endpoint serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Methods {
    /// POST only; GET answers Flask's 405 page.
    PostOnly,
    /// GET (and HEAD) and POST.
    GetOrPost,
}

impl Methods {
    /// LinOTP's rule for a path: POST only when listed in [`POST_ONLY_ENDPOINTS`].
    pub fn for_path(path: &str) -> Methods {
        if is_post_only(path) {
            Methods::PostOnly
        } else {
            Methods::GetOrPost
        }
    }
}

/// A group of LinOTP endpoints, registered with LinOTP's method rules: POST only when listed
/// in [`POST_ONLY_ENDPOINTS`], else GET and POST; `/validate/x_y` is also served as
/// `/validate/x-y`. A group made with [`Endpoints::admin`] puts the admin JWT + CSRF gate in
/// front of its handlers (not in front of the 405 page, as in LinOTP, where routing comes
/// before authentication).
#[derive(Debug)]
pub struct Endpoints<S = ()> {
    router: Router<S>,
    gate: Option<AdminAuth>,
}

impl<S: Clone + Send + Sync + 'static> Default for Endpoints<S> {
    fn default() -> Self {
        Endpoints {
            router: Router::new(),
            gate: None,
        }
    }
}

impl<S: Clone + Send + Sync + 'static> Endpoints<S> {
    /// A group of public endpoints (`/validate`, `/userservice`, `/admin/login`, ...).
    pub fn new() -> Self {
        Self::default()
    }

    /// A group of admin endpoints: every handler needs a valid admin JWT (and CSRF value on
    /// state-changing methods) and can extract [`crate::AdminSession`] /
    /// [`crate::AdminIdentity`].
    pub fn admin(auth: &AdminAuth) -> Self {
        Endpoints {
            router: Router::new(),
            gate: Some(auth.clone()),
        }
    }

    /// Registers `handler` at `path` with LinOTP's method rule for the path.
    pub fn endpoint<H, T>(self, path: &str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.endpoint_with(path, Methods::for_path(path), handler)
    }

    /// Registers `handler` at `path` for the given methods.
    pub fn endpoint_with<H, T>(mut self, path: &str, methods: Methods, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let mut method_router = match methods {
            Methods::PostOnly => post_only(handler),
            Methods::GetOrPost => get_or_post(handler),
        };
        if let Some(auth) = &self.gate {
            // `route_layer` leaves the 405 fallback outside the gate.
            method_router = method_router.route_layer(from_fn_with_state(auth.clone(), admin_gate));
        }
        if let Some(alias) = hyphen_alias(path) {
            self.router = self.router.route(&alias, method_router.clone());
        }
        self.router = self.router.route(path, method_router);
        self
    }

    /// The axum router (add state with `with_state`).
    pub fn into_router(self) -> Router<S> {
        self.router
    }
}

impl From<Endpoints<()>> for Router {
    fn from(endpoints: Endpoints<()>) -> Router {
        endpoints.router
    }
}

#[derive(Debug, Clone)]
struct HealthState {
    started: Instant,
    probe: Option<Arc<dyn HealthProbe>>,
}

/// Assembles the application: endpoint groups plus the built-in endpoints
/// (`/validate/ok`, `/validate/fail`, `/healthcheck/status`) behind the common layers.
#[derive(Debug)]
pub struct AppBuilder {
    settings: HttpSettings,
    router: Router,
    health_probe: Option<Arc<dyn HealthProbe>>,
    http_error_policy: Arc<dyn HttpErrorPolicy>,
    started: Instant,
}

impl AppBuilder {
    /// An application with the given settings; uptime counts from here.
    pub fn new(settings: HttpSettings) -> AppBuilder {
        AppBuilder {
            settings,
            router: Router::new(),
            health_probe: None,
            http_error_policy: Arc::new(HttpErrorIds::default()),
            started: Instant::now(),
        }
    }

    /// Adds a group of routes (an [`Endpoints`] or any stateless axum router).
    pub fn merge(mut self, routes: impl Into<Router>) -> AppBuilder {
        self.router = self.router.merge(routes.into());
        self
    }

    /// The readiness check of `/healthcheck/status` (without one it always answers alive).
    pub fn health_probe(mut self, probe: Arc<dyn HealthProbe>) -> AppBuilder {
        self.health_probe = Some(probe);
        self
    }

    /// Which errors honour `httperror` (default: all, as with `linotp.errors` unset).
    pub fn http_error_policy(mut self, policy: Arc<dyn HttpErrorPolicy>) -> AppBuilder {
        self.http_error_policy = policy;
        self
    }

    /// The finished router, ready for [`serve`].
    pub fn build(self) -> Router {
        let health = HealthState {
            started: self.started,
            probe: self.health_probe,
        };
        let builtins = Endpoints::new()
            .endpoint("/validate/ok", validate_ok)
            .endpoint("/validate/fail", validate_fail)
            .into_router()
            .route(
                "/healthcheck/status",
                get(healthcheck)
                    .fallback(method_not_allowed_handler)
                    .with_state(health),
            );
        let body_limit = self.settings.body_limit;
        let timeout = self.settings.request_timeout;
        self.router
            .merge(builtins)
            .fallback(not_found_handler)
            .method_not_allowed_fallback(method_not_allowed_handler)
            .layer(from_fn_with_state(self.http_error_policy, shape_errors))
            .layer(from_fn_with_state(
                Arc::new(self.settings.trusted_proxies),
                resolve_client,
            ))
            .layer(DefaultBodyLimit::max(body_limit))
            .layer(from_fn(catch_panics))
            .layer(from_fn_with_state(timeout, enforce_timeout))
            .layer(from_fn_with_state(BodyLimit(body_limit), request_context))
            .layer(from_fn(security_headers))
    }
}

async fn validate_ok() -> JsonReply {
    JsonReply::result(true).id(reply_id::VALIDATE)
}

async fn validate_fail() -> JsonReply {
    JsonReply::result(false).id(reply_id::VALIDATE)
}

/// The `/healthcheck/status` body: Flask `jsonify` (sorted keys, compact) plus a newline.
pub fn health_body(status: &str, uptime_secs: f64) -> String {
    let body = json!({"status": status, "uptime": uptime_secs, "version": VERSION_NUMBER});
    let mut text = python_json(&body, JsonStyle::Compact);
    text.push('\n');
    text
}

async fn healthcheck(State(health): State<HealthState>) -> Response {
    let healthy = match &health.probe {
        None => true,
        Some(probe) => match probe.check().await {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(%error, "health probe failed");
                false
            }
        },
    };
    let uptime = health.started.elapsed().as_secs_f64();
    let (status, text) = if healthy {
        (StatusCode::OK, "alive")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(JSON_CONTENT_TYPE),
        )],
        health_body(text, uptime),
    )
        .into_response();
    response.extensions_mut().insert(LinotpShaped);
    response
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    for (name, value) in SECURITY_HEADERS {
        response.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

async fn request_context(
    State(body_limit): State<BodyLimit>,
    mut request: Request,
    next: Next,
) -> Response {
    let request_id = Uuid::new_v4();
    request.extensions_mut().insert(RequestId(request_id));
    request.extensions_mut().insert(body_limit);
    // Only the path: query strings can carry PINs and OTPs.
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::debug!(
            status = response.status().as_u16(),
            elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "request finished"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&request_id.to_string()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    response
}

async fn enforce_timeout(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                "request timed out"
            );
            ApiError::Timeout.into_response()
        }
    }
}

/// Turns a panicking handler into an error reply instead of a dropped connection.
async fn catch_panics(request: Request, next: Next) -> Response {
    let mut running = Box::pin(next.run(request));
    let outcome = std::future::poll_fn(|cx| {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| running.as_mut().poll(cx))) {
            Ok(Poll::Ready(response)) => Poll::Ready(Ok(response)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    })
    .await;
    outcome.unwrap_or_else(|()| {
        tracing::error!("request handler panicked");
        ApiError::Unexpected.into_response()
    })
}

async fn resolve_client(
    State(proxies): State<Arc<TrustedProxies>>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        let forwarded: Vec<&str> = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        let forwarded = (!forwarded.is_empty()).then(|| forwarded.join(","));
        let client = proxies.client_ip(peer.ip(), forwarded.as_deref());
        request.extensions_mut().insert(ClientIp(client));
    }
    next.run(request).await
}

/// Makes every error LinOTP-shaped: plain-text rejections (axum extractors, bare status
/// codes) become error envelopes, and error envelopes become the `httperror` page when the
/// client asked for one.
async fn shape_errors(
    State(policy): State<Arc<dyn HttpErrorPolicy>>,
    mut request: Request,
    next: Next,
) -> Response {
    let slot = HttpErrorSlot::default();
    request.extensions_mut().insert(slot.clone());
    let query_httperror = request
        .uri()
        .query()
        .and_then(|query| parse_urlencoded(query.as_bytes()).ok())
        .and_then(|pairs| pairs.into_iter().find(|(name, _)| name == "httperror"))
        .map(|(_, value)| value);

    let mut response = next.run(request).await;
    let status = response.status();
    if response.extensions().get::<LinotpShaped>().is_none()
        && (status.is_client_error() || status.is_server_error())
    {
        response = reshape_plain_error(response).await;
    }

    let Some(marker) = response.extensions().get::<ErrorMarker>() else {
        return response;
    };
    let Some(requested) = slot.get().map(str::to_owned).or(query_httperror) else {
        return response;
    };
    if !policy.applies_to(marker.code) {
        return response;
    }
    let mut page = httperror_page(parse_httperror(&requested), marker.code, &marker.message);
    for cookie in response.headers().get_all(header::SET_COOKIE) {
        page.headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
    page
}

async fn reshape_plain_error(response: Response) -> Response {
    let status = response.status();
    match status {
        StatusCode::NOT_FOUND => return not_found(),
        StatusCode::METHOD_NOT_ALLOWED => return method_not_allowed(),
        _ => {}
    }
    let is_plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_none_or(|value| value.starts_with("text/plain"));
    if !is_plain {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = read_body_limited(body, 64 * 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("Request failed")
            .to_owned()
    } else {
        text
    };
    tracing::debug!(status = status.as_u16(), %message, "plain error reshaped");
    let mut reshaped = JsonReply::error(crate::error::codes::NON_LINOTP, message)
        .http_status(status)
        .into_response();
    for cookie in parts.headers.get_all(header::SET_COOKIE) {
        reshaped
            .headers_mut()
            .append(header::SET_COOKIE, cookie.clone());
    }
    reshaped
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets running requests
/// finish. The peer address reaches handlers as [`ClientIp`].
pub async fn serve<F>(listener: TcpListener, router: Router, shutdown: F) -> Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_only_believed_from_trusted_proxies() {
        let proxies = TrustedProxies::parse(["10.0.0.0/8", " 192.168.1.1 ", ""]).unwrap();
        // An untrusted peer cannot claim another address.
        assert_eq!(
            proxies.client_ip(ip("203.0.113.9"), Some("1.2.3.4")),
            ip("203.0.113.9")
        );
        // A trusted peer: the right-most untrusted hop is the client.
        assert_eq!(
            proxies.client_ip(ip("10.1.1.1"), Some("6.6.6.6, 198.51.100.7, 10.2.2.2")),
            ip("198.51.100.7")
        );
        assert_eq!(
            proxies.client_ip(ip("192.168.1.1"), Some("198.51.100.7:4711")),
            ip("198.51.100.7")
        );
        // Only proxies in the chain: the left-most one.
        assert_eq!(
            proxies.client_ip(ip("10.1.1.1"), Some("10.3.3.3")),
            ip("10.3.3.3")
        );
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(
            proxies.client_ip(ip("10.1.1.1"), Some("1.2.3.4, junk")),
            ip("10.1.1.1")
        );
        assert_eq!(proxies.client_ip(ip("10.1.1.1"), None), ip("10.1.1.1"));
        // IPv4-mapped IPv6 peers (dual-stack sockets) count as their IPv4 address.
        assert_eq!(
            proxies.client_ip(ip("::ffff:10.1.1.1"), Some("2001:db8::1")),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn trusted_proxies_reject_non_addresses() {
        assert!(matches!(
            TrustedProxies::parse(["proxy.example.com"]),
            Err(ApiError::Config(_))
        ));
    }

    #[test]
    fn hyphen_aliases_only_for_validate_names_with_underscores() {
        assert_eq!(
            hyphen_alias("/validate/check_status").as_deref(),
            Some("/validate/check-status")
        );
        assert_eq!(hyphen_alias("/validate/check"), None);
        assert_eq!(hyphen_alias("/admin/check_serial"), None);
    }

    #[test]
    fn http_error_ids_follow_linotp_errors_config() {
        let all = HttpErrorIds::from_config(None);
        assert!(all.applies_to(1102) && all.applies_to(-311));
        let some = HttpErrorIds::from_config(Some("233, 1102"));
        assert!(some.applies_to(1102) && !some.applies_to(905));
        assert!(HttpErrorIds::from_config(Some("")).applies_to(905));
    }

    #[test]
    fn health_body_is_compact_with_a_newline() {
        assert_eq!(
            health_body("alive", 12.5),
            "{\"status\":\"alive\",\"uptime\":12.5,\"version\":\"4.0.0.dev0\"}\n"
        );
    }

    #[test]
    fn post_only_list_matches_the_seed() {
        assert_eq!(POST_ONLY_ENDPOINTS.len(), 55);
        assert!(is_post_only("/admin/init") && is_post_only("/system/setConfig"));
        assert!(!is_post_only("/admin/show") && !is_post_only("/validate/check"));
    }
}
