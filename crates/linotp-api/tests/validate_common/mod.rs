//! Shared set-up for the `/validate` tests: imported users in a realm, tokens written
//! straight into the store, and in-process requests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, header};
use linotp_api::test_app::{TestApp, form_body, imported_user};
use linotp_api::testing::ObservedReply;
use linotp_crypto::token_secrets;
use linotp_store::tokens::{self, Token};
use linotp_store::users::ImportedUser;
use linotp_store::{AnyConnection, config, realms};
use serde_json::Value;
use tower::ServiceExt;

/// The RFC 4226 test key as LinOTP's `otpkey` (hex of "12345678901234567890").
pub const RFC4226_HEX: &str = "3132333435363738393031323334353637383930";
/// RFC 4226 OTPs for counters 0..9.
pub const RFC4226_OTPS: [&str; 10] = [
    "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
    "520489",
];

/// A database connection of the test application.
pub fn conn(app: &TestApp) -> linotp_store::PooledConnection {
    app.state.store.connection().unwrap()
}

/// Creates what `/tools/import_users` + `/system/setRealm` create: an SQL resolver over
/// `imported_user` group `resolver` with the given users (login, user id, password) and a
/// realm listing it.
pub fn import_users(app: &TestApp, resolver: &str, realm: &str, people: &[(&str, &str, &str)]) {
    app.import_users(
        resolver,
        realm,
        people
            .iter()
            .map(|(login, user_id, password)| ImportedUser {
                givenname: "Test".to_owned(),
                ..imported_user(resolver, login, user_id, password)
            }),
    );
}

/// Makes `realm` the default realm.
pub fn set_default_realm(app: &TestApp, realm: &str) {
    let mut conn = conn(app);
    config::set(&mut conn, "DefaultRealm", realm, Some("text"), None).unwrap();
    realms::set_default(&mut conn, realm).unwrap();
}

/// Sets a system config entry.
pub fn set_config(app: &TestApp, key: &str, value: &str) {
    let mut conn = conn(app);
    config::set(&mut conn, key, value, Some("text"), None).unwrap();
}

/// Stores a policy as `/system/setPolicy` does (`linotp.Policy.<name>.<attribute>` rows).
pub fn set_policy(app: &TestApp, name: &str, attributes: &[(&str, &str)]) {
    let mut conn = conn(app);
    for (attribute, value) in attributes {
        config::set(
            &mut conn,
            &format!("Policy.{name}.{attribute}"),
            value,
            Some(""),
            Some("a policy definition"),
        )
        .unwrap();
    }
}

/// Removes a policy.
pub fn delete_policy(app: &TestApp, name: &str) {
    let mut conn = conn(app);
    for attribute in [
        "scope", "action", "realm", "user", "client", "time", "active",
    ] {
        config::delete(&mut conn, &format!("Policy.{name}.{attribute}")).unwrap();
    }
}

/// How a test token is made.
#[derive(Clone, Debug)]
pub struct NewToken<'a> {
    pub serial: &'a str,
    pub token_type: &'a str,
    pub seed: &'a [u8],
    pub pin: &'a str,
    pub otp_len: i32,
    pub token_info: &'a str,
    pub max_fail: i32,
}

impl<'a> NewToken<'a> {
    pub fn hotp(serial: &'a str, pin: &'a str) -> Self {
        NewToken {
            serial,
            token_type: "HMAC",
            seed: RFC4226_HEX.as_bytes(),
            pin,
            otp_len: 6,
            token_info: "{\n\"hashlib\": \"sha1\"\n}",
            max_fail: 10,
        }
    }
}

/// Writes a token row as `/admin/init` would (seed encrypted, PIN hashed) and returns it.
pub fn insert_token(app: &TestApp, new: &NewToken<'_>) -> Token {
    let security = app.state.security.as_ref();
    let mut token = Token::new(new.serial, new.token_type);
    if new.token_type == "pw" {
        let stored =
            token_secrets::create_pw_token_seed(std::str::from_utf8(new.seed).unwrap()).unwrap();
        token.key_iv = stored.key_iv;
        token.key_enc = stored.key_enc;
    } else {
        let stored = token_secrets::encrypt_seed(security, new.seed).unwrap();
        token.key_iv = stored.key_iv;
        token.key_enc = stored.key_enc;
    }
    let pin = token_secrets::hash_pin(security, new.pin).unwrap();
    token.pin_hash = pin.pin_hash;
    token.pin_salt = pin.pin_seed;
    token.otp_len = new.otp_len;
    token.token_info = new.token_info.to_owned();
    token.max_fail = new.max_fail;
    let mut conn = conn(app);
    tokens::insert(&mut conn, &token).unwrap()
}

/// Assigns a token to a user of an imported-user resolver (and to the realm).
pub fn assign(app: &TestApp, serial: &str, resolver: &str, user_id: &str, realm: &str) {
    let mut conn = conn(app);
    let mut token = tokens::get_by_serial(&mut conn, serial).unwrap().unwrap();
    token.user_id = user_id.to_owned();
    token.id_resolver = format!("SQLIdResolver.IdResolver.{resolver}");
    token.id_res_class = format!("useridresolver.SQLIdResolver.IdResolver.{resolver}");
    tokens::update(&mut conn, &token).unwrap();
    realms::set_token_realms(&mut conn, token.id, &[realm]).unwrap();
}

/// The token row as stored now.
pub fn token(app: &TestApp, serial: &str) -> Token {
    tokens::get_by_serial(&mut conn(app), serial)
        .unwrap()
        .unwrap()
}

/// Changes a stored token.
pub fn update_token(app: &TestApp, serial: &str, change: impl FnOnce(&mut Token)) {
    let mut conn = conn(app);
    let mut token = tokens::get_by_serial(&mut conn, serial).unwrap().unwrap();
    change(&mut token);
    tokens::update(&mut conn, &token).unwrap();
}

/// Any connection type, for helpers that only need `&mut AnyConnection`.
pub fn with_conn<T>(app: &TestApp, work: impl FnOnce(&mut AnyConnection) -> T) -> T {
    let mut conn = conn(app);
    work(&mut conn)
}

/// The client address of [`send`].
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

/// Sends a request to the router as a client on 192.0.2.10 would.
pub async fn send(
    router: &Router,
    method: Method,
    path: &str,
    params: &[(&str, &str)],
) -> ObservedReply {
    send_from(router, IpAddr::V4(CLIENT), method, path, params).await
}

/// Sends a request from the client address `client`.
pub async fn send_from(
    router: &Router,
    client: IpAddr,
    method: Method,
    path: &str,
    params: &[(&str, &str)],
) -> ObservedReply {
    let body = form_body(params);
    let builder = Request::builder().method(method.clone());
    let mut request = if method == Method::GET {
        builder
            .uri(format!("{path}?{body}"))
            .body(Body::empty())
            .unwrap()
    } else {
        builder
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(client, 40000)));
    let response = router.clone().oneshot(request).await.unwrap();
    ObservedReply::from_response(response).await.unwrap()
}

/// POSTs a form.
pub async fn post(router: &Router, path: &str, params: &[(&str, &str)]) -> ObservedReply {
    send(router, Method::POST, path, params).await
}

/// The parsed JSON body.
pub fn json(reply: &ObservedReply) -> Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|error| {
        panic!("reply is no JSON ({error}): {}", reply.body);
    })
}

/// `result.value` of a JSON reply.
pub fn value(reply: &ObservedReply) -> Value {
    json(reply)["result"]["value"].clone()
}

/// POSTs to a check endpoint and returns `result.value` as a bool.
pub async fn check(router: &Router, path: &str, params: &[(&str, &str)]) -> bool {
    let reply = post(router, path, params).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    value(&reply)
        .as_bool()
        .unwrap_or_else(|| panic!("value is no bool: {}", reply.body))
}

/// Sends a golden case (its params with earlier captures filled in) as its recorded client did.
pub async fn replay(
    router: &Router,
    case: &linotp_api::testing::GoldenCase,
    captures: &linotp_api::testing::Captures,
) -> ObservedReply {
    let pairs = case.params_with(captures);
    let borrowed: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let method = if case.method == "GET" {
        Method::GET
    } else {
        Method::POST
    };
    send(router, method, &case.path, &borrowed).await
}

/// An application like [`TestApp::router`] whose audit events arrive on the returned queue.
pub fn audited(
    app: &TestApp,
) -> (
    Router,
    tokio::sync::mpsc::Receiver<linotp_api::audit::AuditEvent>,
) {
    let (state, receiver) = app.audited();
    let router = linotp_api::routes::router(&state, linotp_api::HttpSettings::default());
    (router, receiver)
}
