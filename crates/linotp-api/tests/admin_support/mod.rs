//! Shared set-up for the `/admin` tests: a complete application on a fresh SQLite database
//! with an admin session, imported users in realms, and in-process requests with the admin
//! cookie and CSRF header.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, header};
use linotp_api::audit::AuditEvent;
use linotp_api::http::HttpSettings;
use linotp_api::routes;
use linotp_api::test_app::{TestApp, form_body, imported_user};
use linotp_api::testing::ObservedReply;
use linotp_crypto::token_secrets;
use linotp_store::tokens::{self, Token};
use linotp_store::users::ImportedUser;
use linotp_store::{config, realms};
use serde_json::Value;
use tokio::sync::mpsc;
use tower::ServiceExt;

/// LinOTP's PolicyException code.
pub const POLICY_ERROR: i64 = 410;

/// The RFC 4226 test key as LinOTP's `otpkey` (hex of "12345678901234567890").
pub const RFC4226_HEX: &str = "3132333435363738393031323334353637383930";
/// RFC 4226 OTPs for counters 0..9.
pub const RFC4226_OTPS: [&str; 10] = [
    "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
    "520489",
];

/// An application with a logged-in admin and a queue that receives its audit events.
pub struct Admin {
    pub app: TestApp,
    pub router: Router,
    pub cookie: String,
    pub csrf: String,
    pub audit: mpsc::Receiver<AuditEvent>,
}

/// A reply as the tests look at it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8(self.bytes.clone()).unwrap()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text()))
    }

    pub fn value(&self) -> Value {
        let json = self.json();
        assert_eq!(json["result"]["status"], true, "{}", self.text());
        json["result"]["value"].clone()
    }

    pub fn detail(&self) -> Value {
        self.json()["detail"].clone()
    }

    /// `(code, message)` of an error envelope.
    pub fn error(&self) -> (i64, String) {
        let json = self.json();
        assert_eq!(json["result"]["status"], false, "{}", self.text());
        (
            json["result"]["error"]["code"].as_i64().unwrap(),
            json["result"]["error"]["message"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    }

    pub fn id(&self) -> Value {
        self.json()["id"].clone()
    }
}

impl Admin {
    /// A fresh application with LinOTP's default configuration and an audit queue.
    pub fn new() -> Admin {
        Admin::with_clock(Arc::new(linotp_api::auth::SystemClock))
    }

    /// [`Admin::new`] with the given request clock.
    pub fn with_clock(clock: Arc<dyn linotp_api::auth::Clock>) -> Admin {
        let app = TestApp::sqlite_with_clock(clock);
        let (state, receiver) = app.audited();
        let router = routes::router(&state, HttpSettings::default());
        let (cookie, csrf) = app.admin_session("admin");
        Admin {
            app,
            router,
            cookie,
            csrf,
            audit: receiver,
        }
    }

    pub fn conn(&self) -> linotp_store::PooledConnection {
        self.app.state.store.connection().unwrap()
    }

    /// Creates what `/tools/import_users` + `/system/setRealm` create: an SQL resolver over
    /// `imported_user` group `resolver` listed by `realm`, with users `(login, user id)`.
    pub fn import_users(&self, resolver: &str, realm: &str, people: &[(&str, &str)]) {
        self.app.import_users(
            resolver,
            realm,
            people.iter().map(|(login, user_id)| ImportedUser {
                givenname: "Test".to_owned(),
                mobile: "+49 170 1".to_owned(),
                ..imported_user(resolver, login, user_id, "secret")
            }),
        );
    }

    /// A fresh application with realms `realm1` (resolver `res1`: alice, `u1`) and `realm2`
    /// (`res2`: bob, `u2`).
    pub fn with_two_realms() -> Admin {
        let admin = Admin::new();
        admin.import_users("res1", "realm1", &[("alice", "u1")]);
        admin.import_users("res2", "realm2", &[("bob", "u2")]);
        admin
    }

    /// Continues the session as admin `username`.
    pub fn act_as(&mut self, username: &str) {
        let (cookie, csrf) = self.app.admin_session(username);
        self.cookie = cookie;
        self.csrf = csrf;
    }

    /// Stores a policy through `/system/setPolicy`.
    pub async fn set_policy(&self, name: &str, scope: &str, action: &str, realm: &str, user: &str) {
        let reply = self
            .post(
                "/system/setPolicy",
                &[
                    ("name", name),
                    ("scope", scope),
                    ("action", action),
                    ("realm", realm),
                    ("user", user),
                ],
            )
            .await;
        assert_eq!(reply.json()["result"]["status"], true, "{}", reply.text());
    }

    /// `/admin/init` of token `serial` with the RFC 4226 key for `user` in `realm`, with the
    /// `extra` parameters (type, PIN, …).
    pub async fn init_request(
        &self,
        serial: &str,
        user: &str,
        realm: &str,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut params = vec![
            ("serial", serial),
            ("otpkey", RFC4226_HEX),
            ("user", user),
            ("realm", realm),
        ];
        params.extend_from_slice(extra);
        self.post("/admin/init", &params).await
    }

    /// [`Admin::init_request`], which must enroll the token.
    pub async fn init_for_user(
        &self,
        serial: &str,
        user: &str,
        realm: &str,
        extra: &[(&str, &str)],
    ) -> Reply {
        let reply = self.init_request(serial, user, realm, extra).await;
        assert_eq!(reply.value(), true, "{}", reply.text());
        reply
    }

    /// Whether `pin` is the PIN of token `serial`.
    pub fn pin_matches(&self, serial: &str, pin: &str) -> bool {
        let token = self.token(serial);
        token_secrets::verify_token_pin(
            self.app.state.security.as_ref(),
            &token.pin_hash,
            &token.pin_salt,
            pin,
        )
        .unwrap()
    }

    /// `/validate/check` with these parameters: whether it authenticates.
    pub async fn authenticates(&self, params: &[(&str, &str)]) -> bool {
        let reply = self.post("/validate/check", params).await;
        reply
            .value()
            .as_bool()
            .unwrap_or_else(|| panic!("value is no bool: {}", reply.text()))
    }

    pub fn set_config(&self, key: &str, value: &str) {
        let mut conn = self.conn();
        config::set(&mut conn, key, value, Some("text"), None).unwrap();
        config::touch_timestamp(&mut conn).unwrap();
    }

    pub fn set_default_realm(&self, realm: &str) {
        self.set_config("DefaultRealm", realm);
        realms::set_default(&mut self.conn(), realm).unwrap();
    }

    /// The token row as stored now.
    pub fn token(&self, serial: &str) -> Token {
        tokens::get_by_serial(&mut self.conn(), serial)
            .unwrap()
            .unwrap_or_else(|| panic!("no token {serial}"))
    }

    pub fn has_token(&self, serial: &str) -> bool {
        tokens::get_by_serial(&mut self.conn(), serial)
            .unwrap()
            .is_some()
    }

    pub fn realms_of(&self, serial: &str) -> Vec<String> {
        let token = self.token(serial);
        realms::realms_of_token(&mut self.conn(), token.id).unwrap()
    }

    pub fn update_token(&self, serial: &str, change: impl FnOnce(&mut Token)) {
        let mut conn = self.conn();
        let mut token = tokens::get_by_serial(&mut conn, serial).unwrap().unwrap();
        change(&mut token);
        tokens::update(&mut conn, &token).unwrap();
    }

    /// Sends a request as the logged-in admin (cookie, and the CSRF header on POST).
    pub async fn call(&self, method: Method, path: &str, params: &[(&str, &str)]) -> Reply {
        let body = form_body(params);
        let builder = Request::builder()
            .method(method.clone())
            .header(header::COOKIE, &self.cookie);
        let mut request = if method == Method::GET {
            let uri = if body.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{body}")
            };
            builder.uri(uri).body(Body::empty()).unwrap()
        } else {
            builder
                .uri(path)
                .header("X-CSRF-TOKEN", &self.csrf)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap()
        };
        request.extensions_mut().insert(ConnectInfo(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
            40000,
        )));
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Reply {
            status,
            content_type,
            headers,
            bytes,
        }
    }

    pub async fn post(&self, path: &str, params: &[(&str, &str)]) -> Reply {
        self.call(Method::POST, path, params).await
    }

    pub async fn get(&self, path: &str, params: &[(&str, &str)]) -> Reply {
        self.call(Method::GET, path, params).await
    }

    /// The same request as an [`ObservedReply`] for golden comparisons.
    pub async fn observe(
        &self,
        method: &str,
        path: &str,
        params: &[(&str, &str)],
    ) -> ObservedReply {
        let method = if method == "GET" {
            Method::GET
        } else {
            Method::POST
        };
        let reply = self.call(method, path, params).await;
        let mut names: Vec<String> = reply
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|cookie| cookie.split('=').next())
            .map(str::to_owned)
            .collect();
        names.sort();
        ObservedReply {
            status: reply.status,
            content_type: Some(reply.content_type.clone()),
            set_cookie_names: names,
            body: String::from_utf8_lossy(&reply.bytes).into_owned(),
        }
    }

    /// Enrolls an HOTP token with the RFC 4226 key and a PIN.
    pub async fn init_hotp(&self, serial: &str, pin: &str) {
        let reply = self
            .post(
                "/admin/init",
                &[
                    ("type", "hmac"),
                    ("serial", serial),
                    ("otpkey", RFC4226_HEX),
                    ("pin", pin),
                ],
            )
            .await;
        assert_eq!(reply.value(), true, "{}", reply.text());
    }

    /// The audit events written so far (each request writes one).
    pub fn audit_events(&mut self) -> Vec<AuditEvent> {
        let mut events = Vec::new();
        while let Ok(event) = self.audit.try_recv() {
            events.push(event);
        }
        events
    }
}
