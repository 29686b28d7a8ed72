//! Costs of the per-request HTTP work: rendering replies, parsing parameters, checking admin
//! tokens, and a whole in-process request through the common layers.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, header};
use criterion::{Criterion, criterion_group, criterion_main};
use linotp_api::auth::{
    AdminAuth, AdminIdentity, JwtKey, JwtSettings, MemoryBlocklist, SystemClock,
};
use linotp_api::pyfmt::{JsonStyle, python_json};
use linotp_api::testing::load_golden_case;
use linotp_api::{AppBuilder, HttpSettings, JsonReply, Params};
use serde_json::{Value, json};
use tower::ServiceExt;

fn replies(c: &mut Criterion) {
    c.bench_function("render validate/check reply", |b| {
        b.iter(|| black_box(JsonReply::result(true).id(0).render()))
    });
    c.bench_function("render challenge reply with detail", |b| {
        let detail = json!({"transactionid": "12345678901234567", "message": "Please enter your otp value: ",
            "linotp_tokenserial": "OATH0001A1B2", "linotp_tokentype": "HMAC", "linotp_tokendescription": "my token"});
        b.iter(|| black_box(JsonReply::result(false).id(0).detail(detail.clone()).render()))
    });
    let show: Value = serde_json::from_str(
        &load_golden_case("admin.json", "show.one_token")
            .unwrap()
            .body,
    )
    .unwrap();
    c.bench_function("python_json admin/show body", |b| {
        b.iter(|| black_box(python_json(black_box(&show), JsonStyle::PRETTY)))
    });
}

fn params(c: &mut Criterion) {
    let body =
        b"user=alice%40realm&pass=pin1234287082&realm=myrealm&transactionid=12345678901234567";
    c.bench_function("parse validate/check form", |b| {
        b.iter(|| {
            Params::parse(
                &Method::POST,
                Some("httperror=500"),
                Some("application/x-www-form-urlencoded"),
                black_box(body),
            )
            .unwrap()
        })
    });
}

fn jwt(c: &mut Criterion) {
    let clock = Arc::new(SystemClock);
    let auth = AdminAuth::new(
        JwtKey::new(&[7u8; 32]).unwrap(),
        JwtSettings::default(),
        clock.clone(),
        Arc::new(MemoryBlocklist::new(clock)),
    );
    let identity = AdminIdentity {
        username: "admin".into(),
        realm: "linotp_admins".into(),
        resolver: "useridresolver.SQLIdResolver.IdResolver.LinOTP_local_admins".into(),
    };
    let issued = auth.issue(identity.clone()).unwrap();
    c.bench_function("jwt issue", |b| {
        b.iter(|| auth.issue(black_box(identity.clone())).unwrap())
    });
    c.bench_function("jwt decode+verify", |b| {
        b.iter(|| auth.decode(black_box(&issued.token)).unwrap())
    });
}

fn whole_request(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let router = AppBuilder::new(HttpSettings::default()).build();
    c.bench_function("POST /validate/ok through all layers", |b| {
        b.iter(|| {
            let request = Request::builder()
                .method(Method::POST)
                .uri("/validate/ok")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("user=alice&pass=1234"))
                .unwrap();
            runtime.block_on(router.clone().oneshot(request)).unwrap()
        })
    });
}

criterion_group!(benches, replies, params, jwt, whole_request);
criterion_main!(benches);
