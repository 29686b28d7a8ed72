//! Costs of `/validate` through the whole application, in process, on SQLite: a check by user
//! in an imported-users realm (resolver lookup, token check, compare-and-set commit), the same
//! with policies (`otppin=1`: the user's password, `detail_on_success`), and a challenge
//! triggered and answered (the clock moves on between rounds, so earlier challenges expire
//! and are removed as in real use).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, header};
use criterion::{Criterion, criterion_group, criterion_main};
use linotp_api::auth::ManualClock;
use linotp_api::test_app::TestApp;
use linotp_core::{HashAlgorithm, hotp};
use linotp_crypto::password::hash_password_with_rounds;
use linotp_crypto::token_secrets;
use linotp_store::tokens::{self, Token};
use linotp_store::users::{self, ImportedUser};
use linotp_store::{config, defaults, realms};
use tower::ServiceExt;

const KEY: &[u8] = b"12345678901234567890";

fn policy(app: &TestApp, name: &str, action: &str) {
    let mut conn = app.state.store.connection().unwrap();
    for (attribute, value) in [
        (
            "scope",
            if action.starts_with("detail") {
                "authorization"
            } else {
                "authentication"
            },
        ),
        ("action", action),
        ("realm", "home"),
        ("user", "*"),
        ("active", "True"),
    ] {
        config::set(
            &mut conn,
            &format!("Policy.{name}.{attribute}"),
            value,
            Some(""),
            None,
        )
        .unwrap();
    }
}

/// alice in the default realm `home` (imported users) with an HOTP token, PIN `pin1`.
fn app() -> TestApp {
    app_with(TestApp::sqlite())
}

fn app_with(app: TestApp) -> TestApp {
    let mut conn = app.state.store.connection().unwrap();
    defaults::ensure_admin_realm(&mut conn, "home", "HomeRes").unwrap();
    config::set(&mut conn, "DefaultRealm", "home", Some("text"), None).unwrap();
    realms::set_default(&mut conn, "home").unwrap();
    users::insert(
        &mut conn,
        &ImportedUser {
            groupid: "HomeRes".into(),
            userid: "u1".into(),
            username: "alice".into(),
            email: "alice@example.test".into(),
            password: hash_password_with_rounds("AlicePw1!", 1000).unwrap(),
            ..ImportedUser::default()
        },
    )
    .unwrap();
    let security = app.state.security.as_ref();
    let mut token = Token::new("HOTP1", "HMAC");
    let seed = token_secrets::encrypt_seed(security, hex(KEY).as_bytes()).unwrap();
    token.key_iv = seed.key_iv;
    token.key_enc = seed.key_enc;
    let pin = token_secrets::hash_pin(security, "pin1").unwrap();
    token.pin_hash = pin.pin_hash;
    token.pin_salt = pin.pin_seed;
    token.token_info = "{\"hashlib\": \"sha1\"}".into();
    token.user_id = "u1".into();
    token.id_resolver = "SQLIdResolver.IdResolver.HomeRes".into();
    token.id_res_class = "useridresolver.SQLIdResolver.IdResolver.HomeRes".into();
    let token = tokens::insert(&mut conn, &token).unwrap();
    realms::set_token_realms(&mut conn, token.id, &["home"]).unwrap();
    drop(conn);
    app
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn request(path: &str, body: String) -> Request<Body> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    request.extensions_mut().insert(ConnectInfo(SocketAddr::new(
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
        40000,
    )));
    request
}

async fn body_of(router: &Router, path: &str, body: String) -> String {
    let response = router.clone().oneshot(request(path, body)).await.unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn otp(counter: u64) -> String {
    hotp(KEY, counter, 6, HashAlgorithm::Sha1).unwrap()
}

fn checks(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let plain = app();
    let router = plain.router();
    let mut counter = 0;
    c.bench_function("validate/check by user, imported-users realm", |b| {
        b.iter(|| {
            let body = format!("user=alice&pass=pin1{}", otp(counter));
            counter += 1;
            let reply = runtime.block_on(body_of(&router, "/validate/check", body));
            assert!(reply.contains("\"value\": true"), "{reply}");
        })
    });

    let with_policies = app();
    policy(&with_policies, "pin", "otppin=1");
    policy(&with_policies, "details", "detail_on_success");
    let router = with_policies.router();
    let mut counter = 0;
    c.bench_function(
        "validate/check by user, otppin=1 + detail_on_success",
        |b| {
            b.iter(|| {
                let body = format!("user=alice&pass=AlicePw1%21{}", otp(counter));
                counter += 1;
                let reply = runtime.block_on(body_of(&router, "/validate/check", body));
                assert!(reply.contains("\"is_linotp_admin\": false"), "{reply}");
            })
        },
    );

    let clock = Arc::new(ManualClock::new(1_796_040_000));
    let challenged = app_with(TestApp::sqlite_with_clock(clock.clone()));
    policy(&challenged, "cr", "challenge_response=hmac");
    let router = challenged.router();
    let mut counter = 0;
    c.bench_function("validate/check challenge trigger + answer", |b| {
        b.iter(|| {
            let trigger = runtime.block_on(body_of(
                &router,
                "/validate/check",
                "user=alice&pass=pin1".to_owned(),
            ));
            let reply: serde_json::Value = serde_json::from_str(&trigger).unwrap();
            let transaction = reply["detail"]["transactionid"].as_str().unwrap();
            let body = format!(
                "user=alice&transactionid={transaction}&pass={}",
                otp(counter)
            );
            counter += 1;
            let answer = runtime.block_on(body_of(&router, "/validate/check", body));
            assert!(answer.contains("\"value\": true"), "{answer}");
            clock.advance(121);
        })
    });
}

criterion_group!(benches, checks);
criterion_main!(benches);
