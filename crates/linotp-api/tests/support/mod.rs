//! A small LinOTP-like application built from the crate's parts, and helpers to send it
//! requests in-process the way the golden corpus' client did.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, header};
use axum::response::Response;
use linotp_api::auth::{
    AdminAuth, AdminIdentity, AdminSession, IssuedToken, JwtKey, JwtSettings, ManualClock,
    MemoryBlocklist,
};
use linotp_api::http::{HealthProbe, HttpErrorPolicy};
use linotp_api::reply::reply_id;
use linotp_api::testing::{CsrfHeader, GoldenAuth, GoldenCase, ObservedReply};
use linotp_api::{
    ApiError, AppBuilder, BoxFuture, ClientIp, Endpoints, ErrorReply, HttpSettings, JsonReply,
    Params, RequestId, SimpleCheck,
};
use serde_json::json;
use tower::ServiceExt;

pub const START: i64 = 1_750_000_000;
pub const JWT_SECRET: &[u8] = b"test key derived elsewhere from encKey";

pub struct TestApp {
    pub router: Router,
    pub auth: AdminAuth,
    pub clock: Arc<ManualClock>,
    pub blocklist: Arc<MemoryBlocklist>,
}

#[derive(Default)]
pub struct Options {
    pub http: HttpSettings,
    pub jwt: JwtSettings,
    pub health_probe: Option<Arc<dyn HealthProbe>>,
    pub http_error_policy: Option<Arc<dyn HttpErrorPolicy>>,
}

pub fn admin_identity() -> AdminIdentity {
    AdminIdentity {
        username: "admin".into(),
        realm: "linotp_admins".into(),
        resolver: "useridresolver.SQLIdResolver.IdResolver.LinOTP_local_admins".into(),
    }
}

async fn check_t(params: Params) -> Result<JsonReply, ApiError> {
    let transaction = params.required("transactionid")?;
    Ok(JsonReply::result(json!({"value": false, "failcount": 0}))
        .id(1)
        .detail(json!({"transactionid": transaction})))
}

async fn simplecheck(params: Params) -> SimpleCheck {
    match params.optional("pass").as_deref() {
        Some("good") => SimpleCheck::Accepted,
        Some("pin") => SimpleCheck::Challenge {
            transaction_id: "123456789012".into(),
            message: "Please enter your otp value: ".into(),
        },
        _ => SimpleCheck::Rejected,
    }
}

async fn echo(params: Params) -> JsonReply {
    JsonReply::result(serde_json::Value::Object(params.as_map().clone()))
}

async fn required_serial(params: Params) -> Result<JsonReply, ApiError> {
    let serial = params.required("serial")?;
    Ok(JsonReply::result(serial.into_owned()))
}

async fn axum_json(axum::Json(value): axum::Json<serde_json::Value>) -> JsonReply {
    JsonReply::result(value)
}

async fn never_finishes() -> JsonReply {
    std::future::pending::<()>().await;
    JsonReply::result(true)
}

async fn panics() -> JsonReply {
    let values: Vec<u8> = Vec::new();
    JsonReply::result(values[3])
}

async fn logs() -> JsonReply {
    tracing::info!("inside the handler");
    JsonReply::result(true)
}

async fn whoami(client: Option<ClientIp>, request_id: RequestId) -> JsonReply {
    JsonReply::result(json!({
        "client": client.map(|ClientIp(ip)| ip.to_string()),
        "request_id": request_id.0.to_string(),
    }))
}

async fn login(
    axum::extract::State(auth): axum::extract::State<AdminAuth>,
    params: Params,
) -> Result<Response, ApiError> {
    use axum::response::IntoResponse;
    let username = params.required("username")?;
    let password = params.required("password")?;
    if username != "admin" || password != "Test123!" {
        return Ok(JsonReply::result(false)
            .detail(json!({"message": "Bad username or password"}))
            .http_status(axum::http::StatusCode::UNAUTHORIZED)
            .into_response());
    }
    let issued = auth.issue(admin_identity())?;
    let mut response = JsonReply::result(true)
        .detail(json!({"message": format!("Login successful for {username}")}))
        .into_response();
    for cookie in auth.login_cookies(&issued) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

async fn logout(
    axum::extract::State(auth): axum::extract::State<AdminAuth>,
    session: AdminSession,
) -> Result<Response, ApiError> {
    use axum::response::IntoResponse;
    let cookies = auth.logout(&session).await?;
    let identity = session.identity();
    let mut response = JsonReply::result(true)
        .detail(json!({"message": format!(
            "Logout successful for {}@{} ({})",
            identity.username,
            identity.realm,
            identity.resolver.rsplit('.').next().unwrap_or_default()
        )}))
        .into_response();
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

async fn admin_remove(params: Params) -> Result<JsonReply, ApiError> {
    let serial = params.optional("serial").map(|serial| serial.into_owned());
    if serial.is_none() && !params.contains("user") {
        return Err(ApiError::Parameter(
            "missing parameter user or serial!".into(),
        ));
    }
    Err(ApiError::NoTokenWithSerial { serial })
}

async fn admin_show(identity: AdminIdentity, params: Params) -> JsonReply {
    JsonReply::result(json!({
        "admin": identity.username,
        "serial": params.optional("serial"),
    }))
}

async fn admin_init(params: Params) -> Result<JsonReply, ApiError> {
    params.required("otpkey")?;
    Ok(JsonReply::result(true))
}

async fn admin_assign(params: Params) -> Result<JsonReply, ErrorReply> {
    // /admin/assign reports errors with id 0.
    let serial = params
        .required("serial")
        .map_err(|error| error.reply(0))?
        .into_owned();
    Err(ApiError::NoTokenWithSerial {
        serial: Some(serial),
    }
    .reply(0))
}

async fn maintenance_status() -> JsonReply {
    JsonReply::result(true)
        .id(reply_id::VALIDATE)
        .detail(json!({"config": {"entries": 82}}))
}

pub fn build(options: Options) -> TestApp {
    let clock = Arc::new(ManualClock::new(START));
    let blocklist = Arc::new(MemoryBlocklist::new(clock.clone()));
    let auth = AdminAuth::new(
        JwtKey::new(JWT_SECRET).unwrap(),
        options.jwt,
        clock.clone(),
        blocklist.clone(),
    );

    let public = Endpoints::new()
        .endpoint("/validate/check_t", check_t)
        .endpoint("/validate/simplecheck", simplecheck)
        .endpoint("/test/echo", echo)
        .endpoint("/test/required", required_serial)
        .endpoint("/test/axum_json", axum_json)
        .endpoint("/test/never", never_finishes)
        .endpoint("/test/whoami", whoami)
        .endpoint("/test/panic", panics)
        .endpoint("/test/log", logs)
        .endpoint("/admin/login", login)
        .into_router()
        .with_state(auth.clone());
    let admin = Endpoints::admin(&auth)
        .endpoint("/admin/remove", admin_remove)
        .endpoint("/admin/show", admin_show)
        .endpoint("/admin/init", admin_init)
        .endpoint("/admin/assign", admin_assign)
        .endpoint("/admin/logout", logout)
        .endpoint("/system/setConfig", admin_init)
        .endpoint("/system/getConfig", admin_show)
        .endpoint("/audit/search", admin_show)
        .endpoint("/maintenance/check_status", maintenance_status)
        .into_router()
        .with_state(auth.clone());

    let mut builder = AppBuilder::new(options.http).merge(public).merge(admin);
    if let Some(probe) = options.health_probe {
        builder = builder.health_probe(probe);
    }
    if let Some(policy) = options.http_error_policy {
        builder = builder.http_error_policy(policy);
    }
    TestApp {
        router: builder.build(),
        auth,
        clock,
        blocklist,
    }
}

pub fn app() -> TestApp {
    build(Options::default())
}

/// A health probe that always fails, standing in for an unreachable database.
#[derive(Debug)]
pub struct FailingProbe;

impl HealthProbe for FailingProbe {
    fn check(&self) -> BoxFuture<'_, linotp_api::Result<()>> {
        Box::pin(async { Err(ApiError::Internal("database unreachable".into())) })
    }
}

pub async fn send(router: &Router, request: Request<Body>) -> Response {
    router
        .clone()
        .oneshot(request)
        .await
        .expect("infallible router")
}

pub async fn observe(router: &Router, request: Request<Body>) -> (ObservedReply, HeaderMap) {
    let response = send(router, request).await;
    let headers = response.headers().clone();
    (
        ObservedReply::from_response(response).await.unwrap(),
        headers,
    )
}

pub fn form_body(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

pub fn form_post(path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
}

pub fn post_form(path: &str, pairs: &[(&str, &str)]) -> Request<Body> {
    let owned: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    form_post(path).body(Body::from(form_body(&owned))).unwrap()
}

pub fn get(path_and_query: &str) -> Request<Body> {
    Request::builder()
        .method(Method::GET)
        .uri(path_and_query)
        .body(Body::empty())
        .unwrap()
}

pub fn cookie_header(issued: &IssuedToken) -> String {
    format!(
        "access_token_cookie={}; csrf_access_token={}",
        issued.token, issued.claims.csrf
    )
}

/// The request a golden case describes, sent like the corpus client did.
pub fn golden_request(case: &GoldenCase, admin: Option<&IssuedToken>) -> Request<Body> {
    let params: Vec<(String, String)> = case
        .params
        .iter()
        .map(|(name, value)| (name.clone(), value.as_str().unwrap_or_default().to_owned()))
        .collect();
    let encoded = form_body(&params);
    let mut builder = Request::builder();
    let body = if case.method == "GET" {
        let uri = if encoded.is_empty() {
            case.path.clone()
        } else {
            format!("{}?{encoded}", case.path)
        };
        builder = builder.method(Method::GET).uri(uri);
        Body::empty()
    } else {
        builder = builder
            .method(Method::POST)
            .uri(&case.path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        Body::from(encoded)
    };
    if case.auth == GoldenAuth::Admin {
        let issued = admin.expect("admin case needs a token");
        builder = builder.header(header::COOKIE, cookie_header(issued));
        if case.method == "POST" {
            match &case.csrf_header {
                None => builder = builder.header("X-CSRF-TOKEN", issued.claims.csrf.as_str()),
                Some(CsrfHeader::Value(wrong)) => {
                    builder = builder.header("X-CSRF-TOKEN", wrong.as_str())
                }
                Some(CsrfHeader::Omitted(_)) => {}
            }
        }
    }
    builder.body(body).unwrap()
}

pub fn with_peer(mut request: Request<Body>, peer: &str) -> Request<Body> {
    let address: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(address));
    request
}

pub fn short_timeout() -> HttpSettings {
    HttpSettings {
        request_timeout: Duration::from_millis(50),
        ..HttpSettings::default()
    }
}
