//! The admin JWT + CSRF gate as an admin client meets it: login cookies, CSRF by header or
//! form field, expiry, transparent refresh and logout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use axum::http::{HeaderMap, Request, header};
use std::sync::Arc;

use linotp_api::auth::{
    ACCESS_COOKIE, AdminAuth, CSRF_COOKIE, IssuedToken, JwtKey, JwtSettings, MemoryBlocklist,
    request_cookie,
};
use serde_json::Value;
use support::{Options, admin_identity, app, build, cookie_header, observe, post_form};

fn value_of(body: &str) -> Value {
    serde_json::from_str::<Value>(body).unwrap()["result"]["value"].clone()
}

fn error_message(body: &str) -> Option<String> {
    serde_json::from_str::<Value>(body).unwrap()["result"]["error"]["message"]
        .as_str()
        .map(str::to_owned)
}

fn show(issued: &IssuedToken, csrf: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/admin/show")
        .header(header::COOKIE, cookie_header(issued))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(csrf) = csrf {
        request = request.header("X-CSRF-TOKEN", csrf);
    }
    request.body(Body::from("serial=S1")).unwrap()
}

fn set_cookies(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect()
}

/// The cookie values a browser would keep from `Set-Cookie` headers.
fn cookie_jar(headers: &HeaderMap) -> HeaderMap {
    let mut jar = HeaderMap::new();
    let pairs: Vec<String> = set_cookies(headers)
        .iter()
        .map(|cookie| cookie.split(';').next().unwrap().to_owned())
        .collect();
    jar.insert(header::COOKIE, pairs.join("; ").parse().unwrap());
    jar
}

#[tokio::test]
async fn login_cookies_open_the_admin_api() {
    let app = app();
    let (reply, headers) = observe(
        &app.router,
        post_form(
            "/admin/login",
            &[("username", "admin"), ("password", "Test123!")],
        ),
    )
    .await;
    assert_eq!(reply.status, 200);
    let jar = cookie_jar(&headers);
    let token = request_cookie(&jar, ACCESS_COOKIE).unwrap().to_owned();
    let csrf = request_cookie(&jar, CSRF_COOKIE).unwrap().to_owned();

    let request = Request::post("/admin/show")
        .header(header::COOKIE, format!("{ACCESS_COOKIE}={token}"))
        .header("X-CSRF-TOKEN", &csrf)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("serial=S1"))
        .unwrap();
    let (reply, _) = observe(&app.router, request).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        value_of(&reply.body),
        serde_json::json!({"admin": "admin", "serial": "S1"})
    );

    let (reply, _) = observe(
        &app.router,
        post_form(
            "/admin/login",
            &[("username", "admin"), ("password", "nope")],
        ),
    )
    .await;
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn csrf_is_required_on_post_but_not_on_get() {
    let app = app();
    let issued = app.auth.issue(admin_identity()).unwrap();

    let (reply, _) = observe(&app.router, show(&issued, Some(&issued.claims.csrf))).await;
    assert_eq!(reply.status, 200);
    for csrf in [None, Some("bogus"), Some("")] {
        let (reply, _) = observe(&app.router, show(&issued, csrf)).await;
        assert_eq!(reply.status, 401, "csrf {csrf:?}");
        assert_eq!(
            error_message(&reply.body).as_deref(),
            Some("Not authenticated")
        );
    }

    let get = Request::get("/admin/show?serial=S2")
        .header(header::COOKIE, cookie_header(&issued))
        .body(Body::empty())
        .unwrap();
    let (reply, _) = observe(&app.router, get).await;
    assert_eq!(reply.status, 200);
    assert_eq!(value_of(&reply.body)["serial"], "S2");
}

#[tokio::test]
async fn csrf_form_field_is_accepted_when_allowed_and_the_body_still_reaches_the_handler() {
    let app = app();
    let issued = app.auth.issue(admin_identity()).unwrap();
    let body = format!("serial=S3&csrf_token={}", issued.claims.csrf);
    let request = Request::post("/admin/show")
        .header(header::COOKIE, cookie_header(&issued))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.clone()))
        .unwrap();
    let (reply, _) = observe(&app.router, request).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(value_of(&reply.body)["serial"], "S3");

    let strict = build(Options {
        jwt: JwtSettings {
            csrf_check_form: false,
            ..JwtSettings::default()
        },
        ..Options::default()
    });
    let issued = strict.auth.issue(admin_identity()).unwrap();
    let request = Request::post("/admin/show")
        .header(header::COOKIE, cookie_header(&issued))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "serial=S3&csrf_token={}",
            issued.claims.csrf
        )))
        .unwrap();
    let (reply, _) = observe(&strict.router, request).await;
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn tokens_of_another_key_or_expired_tokens_are_refused() {
    let app = app();
    let foreign = AdminAuth::new(
        JwtKey::new(b"a key of some other installation").unwrap(),
        JwtSettings::default(),
        app.clock.clone(),
        Arc::new(MemoryBlocklist::new(app.clock.clone())),
    );
    let issued = foreign.issue(admin_identity()).unwrap();
    let (reply, _) = observe(&app.router, show(&issued, Some(&issued.claims.csrf))).await;
    assert_eq!(reply.status, 401);

    let issued = app.auth.issue(admin_identity()).unwrap();
    app.clock.advance(1800);
    let (reply, _) = observe(&app.router, show(&issued, Some(&issued.claims.csrf))).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        error_message(&reply.body).as_deref(),
        Some("Not authenticated")
    );
}

#[tokio::test]
async fn tokens_near_expiry_are_refreshed_on_the_reply() {
    let app = app();
    let issued = app.auth.issue(admin_identity()).unwrap();

    let (reply, headers) = observe(&app.router, show(&issued, Some(&issued.claims.csrf))).await;
    assert_eq!(reply.status, 200);
    assert!(
        set_cookies(&headers).is_empty(),
        "no refresh while plenty of time remains"
    );

    app.clock.advance(1800 - 299);
    let (reply, headers) = observe(&app.router, show(&issued, Some(&issued.claims.csrf))).await;
    assert_eq!(reply.status, 200);
    let jar = cookie_jar(&headers);
    let new_token = request_cookie(&jar, ACCESS_COOKIE)
        .expect("refreshed access cookie")
        .to_owned();
    let new_csrf = request_cookie(&jar, CSRF_COOKIE)
        .expect("refreshed csrf cookie")
        .to_owned();
    assert_ne!(new_token, issued.token);

    // The old token dies at its expiry, the refreshed one carries on.
    app.clock.advance(300);
    let (reply, _) = observe(&app.router, show(&issued, Some(&issued.claims.csrf))).await;
    assert_eq!(reply.status, 401);
    let request = Request::post("/admin/show")
        .header(header::COOKIE, format!("{ACCESS_COOKIE}={new_token}"))
        .header("X-CSRF-TOKEN", new_csrf)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("serial=S1"))
        .unwrap();
    let (reply, _) = observe(&app.router, request).await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn logout_revokes_the_token_and_clears_the_cookies() {
    let app = app();
    let issued = app.auth.issue(admin_identity()).unwrap();
    let logout = Request::post("/admin/logout")
        .header(header::COOKIE, cookie_header(&issued))
        .header("X-CSRF-TOKEN", &issued.claims.csrf)
        .body(Body::empty())
        .unwrap();
    let (reply, _) = observe(&app.router, logout).await;
    assert_eq!(reply.status, 200);
    let mut names = reply.set_cookie_names.clone();
    names.sort();
    assert_eq!(
        names,
        [
            "access_token_cookie",
            "csrf_access_token",
            "csrf_refresh_token",
            "refresh_token_cookie"
        ]
    );
    assert_eq!(app.blocklist.len(), 1);

    let (reply, _) = observe(&app.router, show(&issued, Some(&issued.claims.csrf))).await;
    assert_eq!(
        reply.status, 401,
        "a logged-out token stays dead until it expires"
    );
}
