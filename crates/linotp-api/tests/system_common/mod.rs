//! Shared set-up for the `/system`, `/tools` and resolver-view tests: a complete application
//! on a fresh SQLite database with an admin session and an audit queue, and in-process
//! requests (form posts and multipart uploads) with the admin cookie and CSRF header.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, header};
use linotp_api::audit::{AuditEvent, AuditLog};
use linotp_api::auth::AdminIdentity;
use linotp_api::http::HttpSettings;
use linotp_api::sysconfig::ConfigCache;
use linotp_api::test_app::{TestApp, form_body, imported_user};
use linotp_api::testing::{Captures, GoldenAuth, GoldenCase, ObservedReply};
use linotp_api::{App, AppState, routes};
use serde_json::Value;
use tokio::sync::mpsc;
use tower::ServiceExt;

/// An application with a logged-in admin and a queue receiving its audit events.
pub struct Sys {
    pub app: TestApp,
    pub state: AppState,
    pub router: Router,
    pub cookie: String,
    pub csrf: String,
    pub audit: mpsc::Receiver<AuditEvent>,
}

/// A reply as the tests look at it.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8(self.bytes.clone()).unwrap()
    }

    pub fn content_type(&self) -> String {
        self.headers
            .get(header::CONTENT_TYPE)
            .map(|value| value.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text()))
    }

    /// `result.value` of a successful envelope.
    pub fn value(&self) -> Value {
        let json = self.json();
        assert_eq!(json["result"]["status"], true, "{}", self.text());
        json["result"]["value"].clone()
    }

    /// `(code, message)` of an error envelope sent with HTTP `status`.
    pub fn error_with_status(&self, status: u16) -> (i64, String) {
        assert_eq!(self.status, status, "{}", self.text());
        self.error()
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

    pub fn observed(&self) -> ObservedReply {
        ObservedReply {
            status: self.status,
            content_type: Some(self.content_type()),
            set_cookie_names: Vec::new(),
            body: self.text(),
        }
    }
}

/// One uploaded file of a multipart request: field, file name, content.
pub type Upload<'a> = (&'a str, &'a str, &'a str);

pub const BOUNDARY: &str = "----linotp-rs-test-boundary";

/// A `multipart/form-data` body with text fields and files.
pub fn multipart_body(params: &[(&str, &str)], files: &[Upload<'_>]) -> Vec<u8> {
    let mut body = String::new();
    for (name, value) in params {
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    for (field, filename, content) in files {
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; \
             filename=\"{filename}\"\r\nContent-Type: text/plain\r\n\r\n{content}\r\n"
        ));
    }
    body.push_str(&format!("--{BOUNDARY}--\r\n"));
    body.into_bytes()
}

/// A second application (its own config cache and database pool) on the database of
/// `other`: what a second server node is.
pub fn second_node(other: &Sys) -> (AppState, Router) {
    let store = linotp_store::Store::open(
        other.state.store.uri(),
        linotp_store::PoolOptions::default(),
    )
    .unwrap();
    let state = Arc::new(App {
        store,
        security: other.state.security.clone(),
        config: ConfigCache::new(),
        audit: AuditLog::disabled(),
        auth: other.state.auth.clone(),
        clock: other.state.clock.clone(),
        options: other.state.options.clone(),
    });
    let router = routes::router(&state, HttpSettings::default());
    (state, router)
}

impl Sys {
    /// A fresh application with LinOTP's default configuration and admin realm.
    pub fn new() -> Sys {
        let app = TestApp::sqlite();
        let (state, receiver) = app.audited();
        let router = routes::router(&state, HttpSettings::default());
        let (cookie, csrf) = app.admin_session("admin");
        Sys {
            app,
            state,
            router,
            cookie,
            csrf,
            audit: receiver,
        }
    }

    /// Creates what `/tools/import_users` and `/system/setRealm` create: resolver `resolver`
    /// with the users `(login, user id)` (password `secret`) in realm `realm`.
    pub fn import_users(&self, resolver: &str, realm: &str, people: &[(&str, &str)]) {
        self.app.import_users(
            resolver,
            realm,
            people
                .iter()
                .map(|(login, user_id)| imported_user(resolver, login, user_id, "secret")),
        );
    }

    /// Stores a policy through `/system/setPolicy`.
    pub async fn set_policy(&self, name: &str, scope: &str, action: &str, realm: &str, user: &str) {
        self.post(
            "/system/setPolicy",
            &[
                ("name", name),
                ("scope", scope),
                ("action", action),
                ("realm", realm),
                ("user", user),
            ],
        )
        .await
        .value();
    }

    /// Cookie and CSRF value of another admin `username` of the admin realm.
    pub fn admin_session(&self, username: &str) -> (String, String) {
        self.session_of(AdminIdentity {
            username: username.into(),
            realm: "linotp_admins".into(),
            resolver: "useridresolver.SQLIdResolver.IdResolver.LinOTP_local_admins".into(),
        })
    }

    /// Cookie and CSRF value of another admin identity.
    pub fn session_of(&self, identity: AdminIdentity) -> (String, String) {
        let issued = self.state.auth.issue(identity).unwrap();
        (
            format!(
                "access_token_cookie={}; csrf_access_token={}",
                issued.token, issued.claims.csrf
            ),
            issued.claims.csrf,
        )
    }

    pub async fn send_to(
        router: &Router,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
        session: Option<(&str, &str)>,
    ) -> Reply {
        let mut request = Request::builder().method(method.clone()).uri(path);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        if let Some((cookie, csrf)) = session {
            request = request.header(header::COOKIE, cookie);
            if method == Method::POST {
                request = request.header("X-CSRF-TOKEN", csrf);
            }
        }
        let mut request = request.body(Body::from(body)).unwrap();
        request.extensions_mut().insert(ConnectInfo(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
            40000,
        )));
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Reply {
            status,
            headers,
            bytes,
        }
    }

    /// A form POST as the admin.
    pub async fn post(&self, path: &str, params: &[(&str, &str)]) -> Reply {
        self.post_on(&self.router, path, params).await
    }

    /// A form POST as the admin on another node's router.
    pub async fn post_on(&self, router: &Router, path: &str, params: &[(&str, &str)]) -> Reply {
        Sys::send_to(
            router,
            Method::POST,
            path,
            Some("application/x-www-form-urlencoded"),
            form_body(params).into_bytes(),
            Some((&self.cookie, &self.csrf)),
        )
        .await
    }

    /// A form POST with another session.
    pub async fn post_as(
        &self,
        session: &(String, String),
        path: &str,
        params: &[(&str, &str)],
    ) -> Reply {
        Sys::send_to(
            &self.router,
            Method::POST,
            path,
            Some("application/x-www-form-urlencoded"),
            form_body(params).into_bytes(),
            Some((&session.0, &session.1)),
        )
        .await
    }

    /// A GET as the admin (parameters in the query string).
    pub async fn get(&self, path: &str, params: &[(&str, &str)]) -> Reply {
        let uri = if params.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", form_body(params))
        };
        Sys::send_to(
            &self.router,
            Method::GET,
            &uri,
            None,
            Vec::new(),
            Some((&self.cookie, &self.csrf)),
        )
        .await
    }

    /// A multipart POST as the admin.
    pub async fn upload(&self, path: &str, params: &[(&str, &str)], files: &[Upload<'_>]) -> Reply {
        Sys::send_to(
            &self.router,
            Method::POST,
            path,
            Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
            multipart_body(params, files),
            Some((&self.cookie, &self.csrf)),
        )
        .await
    }

    /// Sends a golden case the way the corpus' client did.
    pub async fn replay(&self, case: &GoldenCase, captures: &Captures) -> Reply {
        let params = case.params_with(captures);
        let params: Vec<(&str, &str)> = params
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let session =
            (case.auth == GoldenAuth::Admin).then_some((self.cookie.as_str(), self.csrf.as_str()));
        let uploads = case.uploads();
        if !uploads.is_empty() {
            let files: Vec<Upload<'_>> = uploads
                .iter()
                .map(|(field, file)| {
                    (
                        field.as_str(),
                        file.filename.as_str(),
                        file.content.as_str(),
                    )
                })
                .collect();
            return Sys::send_to(
                &self.router,
                Method::POST,
                &case.path,
                Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
                multipart_body(&params, &files),
                session,
            )
            .await;
        }
        if case.method == "GET" {
            let uri = if params.is_empty() {
                case.path.clone()
            } else {
                format!("{}?{}", case.path, form_body(&params))
            };
            return Sys::send_to(&self.router, Method::GET, &uri, None, Vec::new(), session).await;
        }
        Sys::send_to(
            &self.router,
            Method::POST,
            &case.path,
            Some("application/x-www-form-urlencoded"),
            form_body(&params).into_bytes(),
            session,
        )
        .await
    }

    /// The audit events recorded so far.
    pub fn audit_events(&mut self) -> Vec<AuditEvent> {
        let mut events = Vec::new();
        while let Ok(event) = self.audit.try_recv() {
            events.push(event);
        }
        events
    }

    /// A stored config entry (raw row), straight from the database.
    pub fn stored(&self, key: &str) -> Option<linotp_store::config::ConfigEntry> {
        let mut conn = self.state.store.connection().unwrap();
        linotp_store::config::get(&mut conn, key).unwrap()
    }
}
