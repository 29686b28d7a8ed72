//! Admin authentication: LinOTP's JWT-in-cookies with CSRF double submit
//! (Flask-JWT-Extended defaults as LinOTP configures them).
//!
//! `/admin/login` issues an HS256 access token in the `access_token_cookie` cookie (HttpOnly)
//! and its `csrf` claim in the `csrf_access_token` cookie (readable by the admin UI). Every
//! request to a protected route must carry the access cookie; POST, PUT, PATCH and DELETE
//! must also echo the CSRF value in the `X-CSRF-TOKEN` header (or the `csrf_token` form
//! field when allowed). When fewer than `refresh_secs` of the token's life remain, the reply
//! carries fresh cookies. Logout puts the token's `jti` on a [`JwtBlocklist`] until it expires.
//!
//! Unlike LinOTP, the signing key is passed in (the server derives a stable one from encKey),
//! so tokens survive restarts and work on every node.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{FromRequestParts, OptionalFromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use data_encoding::BASE64URL_NOPAD;
use ring::hmac;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::BoxFuture;
use crate::error::{ApiError, Result};
use crate::params::{
    BodyLimit, DEFAULT_BODY_LIMIT, has_form_body, parse_urlencoded, read_body_limited,
};

/// Cookie holding the access JWT (HttpOnly).
pub const ACCESS_COOKIE: &str = "access_token_cookie";
/// Cookie holding the token's `csrf` claim, read by the admin UI.
pub const CSRF_COOKIE: &str = "csrf_access_token";
/// Refresh-token cookie of Flask-JWT-Extended; never issued, but cleared on logout as LinOTP does.
pub const REFRESH_COOKIE: &str = "refresh_token_cookie";
/// CSRF cookie of the refresh token; never issued, but cleared on logout as LinOTP does.
pub const CSRF_REFRESH_COOKIE: &str = "csrf_refresh_token";
/// Request header that must echo the CSRF value on state-changing methods.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Form field accepted instead of [`CSRF_HEADER`] when `csrf_check_form` is on.
pub const CSRF_FORM_FIELD: &str = "csrf_token";

const JWT_HEADER_JSON: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
/// Cookie lifetime when the token never expires (Flask-JWT-Extended's one year).
const NON_EXPIRING_COOKIE_MAX_AGE: i64 = 31_540_000;

/// The HS256 signing key. Its bytes are not kept: ring keeps only the derived HMAC state,
/// and `Debug` shows nothing of it.
pub struct JwtKey {
    key: hmac::Key,
}

impl JwtKey {
    /// A key from secret bytes (the caller zeroizes its copy). Empty keys are refused.
    pub fn new(secret: &[u8]) -> Result<JwtKey> {
        if secret.is_empty() {
            return Err(ApiError::Internal(
                "the JWT signing key is empty".to_owned(),
            ));
        }
        Ok(JwtKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        })
    }
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtKey(<redacted>)")
    }
}

/// The cookie `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=None`.
    None,
}

/// Token lifetime and cookie settings (LinOTP's `JWT_*` and `SESSION_COOKIE_SECURE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtSettings {
    /// `JWT_ACCESS_TOKEN_EXPIRES` in seconds; 0 means the token never expires.
    pub access_token_expires_secs: i64,
    /// `JWT_ACCESS_TOKEN_REFRESH`: refresh when fewer seconds remain; 0 disables refresh.
    pub refresh_secs: i64,
    /// `SESSION_COOKIE_SECURE`: mark cookies `Secure`.
    pub cookie_secure: bool,
    /// `JWT_SESSION_COOKIE`: browser-session cookies without `Expires`/`Max-Age`.
    pub session_cookie: bool,
    /// `JWT_CSRF_CHECK_FORM`: accept the `csrf_token` form field instead of the header.
    pub csrf_check_form: bool,
    /// `SameSite` attribute of both cookies (LinOTP sets none; `Lax` is the safer default).
    pub same_site: Option<SameSite>,
}

impl Default for JwtSettings {
    fn default() -> Self {
        JwtSettings {
            access_token_expires_secs: 1800,
            refresh_secs: 300,
            cookie_secure: true,
            session_cookie: false,
            csrf_check_form: true,
            same_site: Some(SameSite::Lax),
        }
    }
}

/// Who the admin is: the JWT `sub` claim, an object as LinOTP stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminIdentity {
    /// Login name.
    pub username: String,
    /// The admin realm (`ADMIN_REALM_NAME`, default `linotp_admins`).
    pub realm: String,
    /// Resolver spec, e.g. `useridresolver.SQLIdResolver.IdResolver.LinOTP_local_admins`.
    pub resolver: String,
}

/// The claims of a LinOTP admin access token, in Flask-JWT-Extended's order.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Always false: LinOTP never asks for fresh tokens.
    #[serde(default)]
    pub fresh: bool,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Unique token id (uuid4), the blocklist key.
    pub jti: String,
    /// Always `"access"`.
    #[serde(rename = "type")]
    pub token_type: String,
    /// The admin.
    pub sub: AdminIdentity,
    /// Not before (Unix seconds).
    pub nbf: i64,
    /// The CSRF double-submit value (uuid4).
    pub csrf: String,
    /// Expiry (Unix seconds); absent when tokens never expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

impl fmt::Debug for AccessClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessClaims")
            .field("fresh", &self.fresh)
            .field("iat", &self.iat)
            .field("jti", &self.jti)
            .field("token_type", &self.token_type)
            .field("sub", &self.sub)
            .field("nbf", &self.nbf)
            .field("csrf", &"<redacted>")
            .field("exp", &self.exp)
            .finish()
    }
}

/// Why a request was not authenticated. The client only ever sees "Not authenticated";
/// the reason is logged at debug level and lets tests tell the cases apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `access_token_cookie`.
    MissingCookie,
    /// Not a well-formed HS256 JWT with LinOTP's claims.
    Malformed,
    /// The signature does not match the key.
    BadSignature,
    /// `exp` has passed.
    Expired,
    /// `nbf` or `iat` lies in the future.
    NotYetValid,
    /// `type` is not `access`.
    WrongType,
    /// The `jti` is on the blocklist (logged out).
    Revoked,
    /// A state-changing request without the CSRF header (or form field).
    MissingCsrf,
    /// The CSRF value differs from the token's claim.
    CsrfMismatch,
    /// The blocklist could not be consulted; refused to stay on the safe side.
    BlocklistUnavailable,
}

/// The current time in Unix seconds; injectable so tests control token lifetimes.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }
}

/// A clock that only moves when told to (for tests).
#[derive(Debug)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    /// A clock standing at `now`.
    pub fn new(now: i64) -> ManualClock {
        ManualClock {
            now: AtomicI64::new(now),
        }
    }

    /// Moves the clock to `now`.
    pub fn set(&self, now: i64) {
        self.now.store(now, Ordering::SeqCst);
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.now.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}

/// Revoked token ids. The server backs it with the database so a logout holds on every node.
pub trait JwtBlocklist: Send + Sync + fmt::Debug + 'static {
    /// Whether the token id was revoked.
    fn is_revoked<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool>>;
    /// Revokes the token id until `expires_at` (Unix seconds; `None` = forever).
    fn revoke<'a>(&'a self, jti: &'a str, expires_at: Option<i64>) -> BoxFuture<'a, Result<()>>;
}

/// A process-local blocklist (tests, single-node setups). Entries are dropped once their
/// token has expired.
#[derive(Debug)]
pub struct MemoryBlocklist {
    clock: Arc<dyn Clock>,
    revoked: Mutex<HashMap<String, Option<i64>>>,
}

impl MemoryBlocklist {
    /// An empty blocklist using `clock` to forget expired entries.
    pub fn new(clock: Arc<dyn Clock>) -> MemoryBlocklist {
        MemoryBlocklist {
            clock,
            revoked: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Option<i64>>>> {
        self.revoked
            .lock()
            .map_err(|_| ApiError::Internal("JWT blocklist lock poisoned".into()))
    }

    /// Number of remembered token ids.
    pub fn len(&self) -> usize {
        self.entries().map_or(0, |entries| entries.len())
    }

    /// Whether no token id is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl JwtBlocklist for MemoryBlocklist {
    fn is_revoked<'a>(&'a self, jti: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move { Ok(self.entries()?.contains_key(jti)) })
    }

    fn revoke<'a>(&'a self, jti: &'a str, expires_at: Option<i64>) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let now = self.clock.now();
            let mut entries = self.entries()?;
            entries.retain(|_, expiry| expiry.is_none_or(|expiry| expiry > now));
            entries.insert(jti.to_owned(), expires_at);
            Ok(())
        })
    }
}

/// A freshly signed token and its claims.
#[derive(Clone)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// Its claims.
    pub claims: AccessClaims,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("claims", &self.claims)
            .finish()
    }
}

/// The authenticated admin of a request, put into the request extensions by the gate.
#[derive(Debug, Clone)]
pub struct AdminSession {
    /// The verified token claims.
    pub claims: AccessClaims,
}

impl AdminSession {
    /// The admin.
    pub fn identity(&self) -> &AdminIdentity {
        &self.claims.sub
    }
}

struct AdminAuthInner {
    key: JwtKey,
    settings: JwtSettings,
    clock: Arc<dyn Clock>,
    blocklist: Arc<dyn JwtBlocklist>,
}

/// Issues and checks admin tokens; cheap to clone.
#[derive(Clone)]
pub struct AdminAuth {
    inner: Arc<AdminAuthInner>,
}

impl fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminAuth")
            .field("key", &self.inner.key)
            .field("settings", &self.inner.settings)
            .field("clock", &self.inner.clock)
            .field("blocklist", &self.inner.blocklist)
            .finish()
    }
}

impl AdminAuth {
    /// Token handling with the given key, settings, clock and blocklist.
    pub fn new(
        key: JwtKey,
        settings: JwtSettings,
        clock: Arc<dyn Clock>,
        blocklist: Arc<dyn JwtBlocklist>,
    ) -> AdminAuth {
        AdminAuth {
            inner: Arc::new(AdminAuthInner {
                key,
                settings,
                clock,
                blocklist,
            }),
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &JwtSettings {
        &self.inner.settings
    }

    /// Signs a new access token for `identity` (login and refresh).
    pub fn issue(&self, identity: AdminIdentity) -> Result<IssuedToken> {
        let now = self.inner.clock.now();
        let expires = self.inner.settings.access_token_expires_secs;
        let claims = AccessClaims {
            fresh: false,
            iat: now,
            jti: Uuid::new_v4().to_string(),
            token_type: "access".to_owned(),
            sub: identity,
            nbf: now,
            csrf: Uuid::new_v4().to_string(),
            exp: (expires > 0).then_some(now + expires),
        };
        let token = self.encode(&claims)?;
        Ok(IssuedToken { token, claims })
    }

    /// Signs arbitrary claims as a compact HS256 JWT.
    pub fn encode(&self, claims: &AccessClaims) -> Result<String> {
        let payload = serde_json::to_vec(claims)
            .map_err(|error| ApiError::Internal(format!("cannot encode JWT claims: {error}")))?;
        let mut token = BASE64URL_NOPAD.encode(JWT_HEADER_JSON.as_bytes());
        token.push('.');
        token.push_str(&BASE64URL_NOPAD.encode(&payload));
        let signature = hmac::sign(&self.inner.key.key, token.as_bytes());
        token.push('.');
        token.push_str(&BASE64URL_NOPAD.encode(signature.as_ref()));
        Ok(token)
    }

    /// Verifies signature, algorithm, type and time claims (not the blocklist).
    pub fn decode(&self, token: &str) -> std::result::Result<AccessClaims, AuthFailure> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthFailure::Malformed);
        };
        let header: serde_json::Value = BASE64URL_NOPAD
            .decode(header_b64.as_bytes())
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(AuthFailure::Malformed)?;
        // Only HS256: refusing everything else closes the "alg: none" and key-confusion doors.
        if header.get("alg").and_then(|alg| alg.as_str()) != Some("HS256") {
            return Err(AuthFailure::Malformed);
        }
        let signature = BASE64URL_NOPAD
            .decode(signature_b64.as_bytes())
            .map_err(|_| AuthFailure::Malformed)?;
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        hmac::verify(&self.inner.key.key, signing_input.as_bytes(), &signature)
            .map_err(|_| AuthFailure::BadSignature)?;
        let claims: AccessClaims = BASE64URL_NOPAD
            .decode(payload_b64.as_bytes())
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(AuthFailure::Malformed)?;
        if claims.token_type != "access" {
            return Err(AuthFailure::WrongType);
        }
        let now = self.inner.clock.now();
        if claims.exp.is_some_and(|exp| exp <= now) {
            return Err(AuthFailure::Expired);
        }
        if claims.nbf > now || claims.iat > now {
            return Err(AuthFailure::NotYetValid);
        }
        Ok(claims)
    }

    /// Checks a request: access cookie, token, CSRF (state-changing methods) and blocklist.
    /// `form_csrf` is the `csrf_token` form field, when the caller read the body.
    pub async fn authenticate(
        &self,
        parts: &Parts,
        form_csrf: Option<&str>,
    ) -> std::result::Result<AccessClaims, AuthFailure> {
        let token =
            request_cookie(&parts.headers, ACCESS_COOKIE).ok_or(AuthFailure::MissingCookie)?;
        let claims = self.decode(token)?;
        if needs_csrf(&parts.method) {
            let header_value = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|value| value.to_str().ok());
            let form_value = form_csrf.filter(|_| self.inner.settings.csrf_check_form);
            let presented = header_value
                .or(form_value)
                .ok_or(AuthFailure::MissingCsrf)?;
            if !bool::from(presented.as_bytes().ct_eq(claims.csrf.as_bytes())) {
                return Err(AuthFailure::CsrfMismatch);
            }
        }
        match self.inner.blocklist.is_revoked(&claims.jti).await {
            Ok(false) => Ok(claims),
            Ok(true) => Err(AuthFailure::Revoked),
            Err(error) => {
                tracing::error!(%error, "JWT blocklist lookup failed");
                Err(AuthFailure::BlocklistUnavailable)
            }
        }
    }

    /// `Set-Cookie` values for a new token: the access cookie and the CSRF cookie.
    pub fn login_cookies(&self, issued: &IssuedToken) -> [HeaderValue; 2] {
        let settings = &self.inner.settings;
        let max_age = if settings.session_cookie {
            None
        } else {
            let now = self.inner.clock.now();
            Some(
                issued
                    .claims
                    .exp
                    .map_or(NON_EXPIRING_COOKIE_MAX_AGE, |exp| exp - now),
            )
        };
        let now = self.inner.clock.now();
        [
            set_cookie(settings, ACCESS_COOKIE, &issued.token, true, max_age, now),
            set_cookie(
                settings,
                CSRF_COOKIE,
                &issued.claims.csrf,
                false,
                max_age,
                now,
            ),
        ]
    }

    /// `Set-Cookie` values that clear all four Flask-JWT-Extended cookies (logout).
    pub fn logout_cookies(&self) -> [HeaderValue; 4] {
        let settings = &self.inner.settings;
        [
            set_cookie(settings, ACCESS_COOKIE, "", true, Some(0), 0),
            set_cookie(settings, CSRF_COOKIE, "", false, Some(0), 0),
            set_cookie(settings, REFRESH_COOKIE, "", true, Some(0), 0),
            set_cookie(settings, CSRF_REFRESH_COOKIE, "", false, Some(0), 0),
        ]
    }

    /// Logs the session out: revokes its token and returns the cookie-clearing headers.
    pub async fn logout(&self, session: &AdminSession) -> Result<[HeaderValue; 4]> {
        self.inner
            .blocklist
            .revoke(&session.claims.jti, session.claims.exp)
            .await?;
        Ok(self.logout_cookies())
    }

    /// New cookies for the reply when the token is about to expire.
    fn refresh_cookies(&self, claims: &AccessClaims) -> Option<[HeaderValue; 2]> {
        let refresh = self.inner.settings.refresh_secs;
        let exp = claims.exp?;
        if refresh <= 0 || exp - self.inner.clock.now() >= refresh {
            return None;
        }
        match self.issue(claims.sub.clone()) {
            Ok(issued) => Some(self.login_cookies(&issued)),
            Err(error) => {
                tracing::error!(%error, "cannot refresh the admin token");
                None
            }
        }
    }
}

fn needs_csrf(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

fn set_cookie(
    settings: &JwtSettings,
    name: &str,
    value: &str,
    http_only: bool,
    max_age: Option<i64>,
    now: i64,
) -> HeaderValue {
    let mut cookie = format!("{name}={value}; Path=/");
    if let Some(max_age) = max_age {
        let expires = chrono::DateTime::from_timestamp(now + max_age, 0)
            .map(|at| at.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
            .unwrap_or_else(|| "Thu, 01 Jan 1970 00:00:00 GMT".to_owned());
        cookie.push_str(&format!("; Expires={expires}; Max-Age={max_age}"));
    }
    if http_only {
        cookie.push_str("; HttpOnly");
    }
    match settings.same_site {
        Some(SameSite::Strict) => cookie.push_str("; SameSite=Strict"),
        Some(SameSite::Lax) => cookie.push_str("; SameSite=Lax"),
        Some(SameSite::None) => cookie.push_str("; SameSite=None"),
        None => {}
    }
    if settings.cookie_secure {
        cookie.push_str("; Secure");
    }
    // JWTs, uuids and the fixed attributes are all visible ASCII.
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The value of a request cookie, looked up in every `Cookie` header.
pub fn request_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(cookie_name, _)| *cookie_name == name)
        .map(|(_, value)| value.trim_matches('"'))
}

fn response_sets_cookie(response: &Response, name: &str) -> bool {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| {
            value
                .split_once('=')
                .is_some_and(|(cookie, _)| cookie == name)
        })
}

/// The gate in front of admin routes; see [`crate::http::Endpoints::admin`].
pub(crate) async fn admin_gate(
    State(auth): State<AdminAuth>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let wants_form_csrf = needs_csrf(&parts.method)
        && auth.inner.settings.csrf_check_form
        && !parts.headers.contains_key(CSRF_HEADER)
        && request_cookie(&parts.headers, ACCESS_COOKIE).is_some()
        && has_form_body(&parts);
    let (body, form_csrf) = if wants_form_csrf {
        let limit = parts
            .extensions
            .get::<BodyLimit>()
            .map_or(DEFAULT_BODY_LIMIT, |l| l.0);
        let bytes = match read_body_limited(body, limit).await {
            Ok(bytes) => bytes,
            Err(error) => return error.into_response(),
        };
        let csrf = parse_urlencoded(&bytes).ok().and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(name, _)| name == CSRF_FORM_FIELD)
                .map(|(_, value)| value)
        });
        (Body::from(bytes), csrf)
    } else {
        (body, None)
    };
    let claims = match auth.authenticate(&parts, form_csrf.as_deref()).await {
        Ok(claims) => claims,
        Err(reason) => {
            tracing::debug!(?reason, "admin request refused");
            return ApiError::NotAuthenticated.into_response();
        }
    };
    parts.extensions.insert(AdminSession {
        claims: claims.clone(),
    });
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if !response_sets_cookie(&response, ACCESS_COOKIE)
        && let Some(cookies) = auth.refresh_cookies(&claims)
    {
        for cookie in cookies {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }
    response
}

impl<S: Send + Sync> FromRequestParts<S> for AdminSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        parts
            .extensions
            .get::<AdminSession>()
            .cloned()
            .ok_or(ApiError::NotAuthenticated)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for AdminSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>> {
        Ok(parts.extensions.get::<AdminSession>().cloned())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AdminIdentity {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        parts
            .extensions
            .get::<AdminSession>()
            .map(|session| session.claims.sub.clone())
            .ok_or(ApiError::NotAuthenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: i64 = 1_700_000_000;

    fn identity() -> AdminIdentity {
        AdminIdentity {
            username: "admin".into(),
            realm: "linotp_admins".into(),
            resolver: "useridresolver.SQLIdResolver.IdResolver.LinOTP_local_admins".into(),
        }
    }

    fn auth_with(settings: JwtSettings) -> (AdminAuth, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(START));
        let blocklist = Arc::new(MemoryBlocklist::new(clock.clone()));
        let key = JwtKey::new(b"0123456789abcdef0123456789abcdef").unwrap();
        (
            AdminAuth::new(key, settings, clock.clone(), blocklist),
            clock,
        )
    }

    fn segment_json(token: &str, index: usize) -> serde_json::Value {
        let segment = token.split('.').nth(index).unwrap();
        serde_json::from_slice(&BASE64URL_NOPAD.decode(segment.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn issued_tokens_carry_linotp_claims_and_round_trip() {
        let (auth, _) = auth_with(JwtSettings::default());
        let issued = auth.issue(identity()).unwrap();
        assert_eq!(
            segment_json(&issued.token, 0),
            serde_json::json!({"alg": "HS256", "typ": "JWT"})
        );
        let payload = segment_json(&issued.token, 1);
        let names: Vec<_> = payload.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            names,
            ["fresh", "iat", "jti", "type", "sub", "nbf", "csrf", "exp"]
        );
        assert_eq!(payload["type"], "access");
        assert_eq!(payload["fresh"], false);
        assert_eq!(payload["exp"], START + 1800);
        assert_eq!(payload["sub"]["username"], "admin");
        assert!(Uuid::parse_str(payload["jti"].as_str().unwrap()).is_ok());
        assert!(Uuid::parse_str(payload["csrf"].as_str().unwrap()).is_ok());
        assert_eq!(auth.decode(&issued.token).unwrap(), issued.claims);
    }

    #[test]
    fn hs256_signature_matches_an_independent_hmac() {
        let (auth, _) = auth_with(JwtSettings::default());
        let issued = auth.issue(identity()).unwrap();
        let (signing_input, signature) = issued.token.rsplit_once('.').unwrap();
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"0123456789abcdef0123456789abcdef");
        let expected = hmac::sign(&key, signing_input.as_bytes());
        assert_eq!(
            BASE64URL_NOPAD.decode(signature.as_bytes()).unwrap(),
            expected.as_ref()
        );
    }

    #[test]
    fn expiry_and_not_before_are_enforced() {
        let (auth, clock) = auth_with(JwtSettings::default());
        let issued = auth.issue(identity()).unwrap();
        clock.advance(1799);
        assert!(auth.decode(&issued.token).is_ok());
        clock.advance(1);
        assert_eq!(auth.decode(&issued.token), Err(AuthFailure::Expired));

        clock.set(START);
        let mut future = issued.claims.clone();
        future.nbf = START + 60;
        let token = auth.encode(&future).unwrap();
        assert_eq!(auth.decode(&token), Err(AuthFailure::NotYetValid));
    }

    #[test]
    fn tampering_and_foreign_algorithms_are_refused() {
        let (auth, _) = auth_with(JwtSettings::default());
        let issued = auth.issue(identity()).unwrap();
        let mut claims = issued.claims.clone();
        claims.sub.username = "root".into();
        let forged_payload = BASE64URL_NOPAD.encode(&serde_json::to_vec(&claims).unwrap());
        let mut parts: Vec<&str> = issued.token.split('.').collect();
        parts[1] = &forged_payload;
        assert_eq!(
            auth.decode(&parts.join(".")),
            Err(AuthFailure::BadSignature)
        );

        let none_header = BASE64URL_NOPAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{}.", issued.token.split('.').nth(1).unwrap());
        assert_eq!(auth.decode(&unsigned), Err(AuthFailure::Malformed));
        assert_eq!(auth.decode("not-a-jwt"), Err(AuthFailure::Malformed));

        let (other, _) = {
            let clock = Arc::new(ManualClock::new(START));
            let blocklist = Arc::new(MemoryBlocklist::new(clock.clone()));
            let key = JwtKey::new(b"another key").unwrap();
            (
                AdminAuth::new(key, JwtSettings::default(), clock.clone(), blocklist),
                clock,
            )
        };
        assert_eq!(other.decode(&issued.token), Err(AuthFailure::BadSignature));
    }

    #[test]
    fn wrong_token_type_is_refused() {
        let (auth, _) = auth_with(JwtSettings::default());
        let mut claims = auth.issue(identity()).unwrap().claims;
        claims.token_type = "refresh".into();
        let token = auth.encode(&claims).unwrap();
        assert_eq!(auth.decode(&token), Err(AuthFailure::WrongType));
    }

    #[test]
    fn zero_lifetime_means_no_exp_claim() {
        let settings = JwtSettings {
            access_token_expires_secs: 0,
            ..JwtSettings::default()
        };
        let (auth, clock) = auth_with(settings);
        let issued = auth.issue(identity()).unwrap();
        assert!(segment_json(&issued.token, 1).get("exp").is_none());
        clock.advance(10 * 365 * 24 * 3600);
        assert!(auth.decode(&issued.token).is_ok());
    }

    #[test]
    fn cookies_have_the_linotp_names_and_attributes() {
        let (auth, _) = auth_with(JwtSettings::default());
        let issued = auth.issue(identity()).unwrap();
        let [access, csrf] = auth.login_cookies(&issued);
        let access = access.to_str().unwrap();
        let csrf = csrf.to_str().unwrap();
        assert!(access.starts_with(&format!("access_token_cookie={}; Path=/", issued.token)));
        assert!(access.contains("; HttpOnly") && access.contains("; Secure"));
        assert!(access.contains("; SameSite=Lax") && access.contains("; Max-Age=1800"));
        assert!(csrf.starts_with(&format!("csrf_access_token={}; Path=/", issued.claims.csrf)));
        assert!(!csrf.contains("HttpOnly"));

        let insecure = JwtSettings {
            cookie_secure: false,
            session_cookie: true,
            same_site: None,
            ..JwtSettings::default()
        };
        let (auth, _) = auth_with(insecure);
        let [access, _] = auth.login_cookies(&auth.issue(identity()).unwrap());
        let access = access.to_str().unwrap();
        assert!(!access.contains("Secure") && !access.contains("Max-Age"));
        assert!(!access.contains("SameSite"));

        let cleared: Vec<String> = auth
            .logout_cookies()
            .iter()
            .map(|value| {
                value
                    .to_str()
                    .unwrap()
                    .split('=')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            cleared,
            [
                ACCESS_COOKIE,
                CSRF_COOKIE,
                REFRESH_COOKIE,
                CSRF_REFRESH_COOKIE
            ]
        );
    }

    #[test]
    fn debug_output_hides_token_csrf_and_key() {
        let (auth, _) = auth_with(JwtSettings::default());
        let issued = auth.issue(identity()).unwrap();
        let shown = format!("{issued:?} {auth:?}");
        assert!(!shown.contains(&issued.token), "{shown}");
        assert!(!shown.contains(&issued.claims.csrf), "{shown}");
        assert!(shown.contains("admin") && shown.contains("<redacted>"));
    }

    #[test]
    fn request_cookies_are_found_among_several_headers() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("access_token_cookie=\"tok\""),
        );
        assert_eq!(request_cookie(&headers, "b"), Some("2"));
        assert_eq!(request_cookie(&headers, ACCESS_COOKIE), Some("tok"));
        assert_eq!(request_cookie(&headers, "c"), None);
    }

    #[tokio::test]
    async fn memory_blocklist_revokes_and_forgets_expired_entries() {
        let clock = Arc::new(ManualClock::new(START));
        let blocklist = MemoryBlocklist::new(clock.clone());
        blocklist.revoke("old", Some(START + 10)).await.unwrap();
        assert!(blocklist.is_revoked("old").await.unwrap());
        assert!(!blocklist.is_revoked("other").await.unwrap());
        clock.advance(11);
        blocklist.revoke("new", Some(START + 100)).await.unwrap();
        assert_eq!(blocklist.len(), 1);
        assert!(blocklist.is_revoked("new").await.unwrap());
    }
}
