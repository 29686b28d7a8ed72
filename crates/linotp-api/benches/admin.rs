//! Costs of `/admin` requests through the whole in-process application on SQLite: listing
//! 1,000 tokens (the issue's `/admin/show` load target) and enrolling an HOTP token.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use axum::body::Body;
use axum::http::{Request, header};
use criterion::{Criterion, criterion_group, criterion_main};
use linotp_api::test_app::TestApp;
use linotp_crypto::token_secrets;
use linotp_store::tokens::{self, Token};
use tower::ServiceExt;

const RFC4226_HEX: &str = "3132333435363738393031323334353637383930";

fn post(cookie: &str, csrf: &str, path: &str, body: String) -> Request<Body> {
    Request::post(path)
        .header(header::COOKIE, cookie)
        .header("X-CSRF-TOKEN", csrf)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

fn admin(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = TestApp::sqlite();
    let router = app.router();
    let (cookie, csrf) = app.admin_session("admin");
    {
        let security = app.state.security.as_ref();
        let mut conn = app.state.store.connection().unwrap();
        for number in 0..1000 {
            let mut token = Token::new(&format!("BENCH{number:04}"), "HMAC");
            let seed = token_secrets::encrypt_seed(security, RFC4226_HEX.as_bytes()).unwrap();
            token.key_iv = seed.key_iv;
            token.key_enc = seed.key_enc;
            token.token_info = "{\n\"hashlib\": \"sha1\"\n}".to_owned();
            token.description = format!("bench token {number}");
            tokens::insert(&mut conn, &token).unwrap();
        }
    }

    c.bench_function("admin/show 1000 tokens", |b| {
        b.iter(|| {
            let request = post(&cookie, &csrf, "/admin/show", String::new());
            let response = runtime.block_on(router.clone().oneshot(request)).unwrap();
            let body = runtime
                .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
                .unwrap();
            assert!(body.len() > 1000 * 500);
            black_box(body)
        })
    });

    let mut number = 0u64;
    c.bench_function("admin/init hmac with otpkey", |b| {
        b.iter(|| {
            number += 1;
            let body = format!("type=hmac&serial=INIT{number}&otpkey={RFC4226_HEX}&pin=1234");
            let request = post(&cookie, &csrf, "/admin/init", body);
            let response = runtime.block_on(router.clone().oneshot(request)).unwrap();
            assert!(response.status().is_success());
            black_box(response)
        })
    });
}

criterion_group!(benches, admin);
criterion_main!(benches);
