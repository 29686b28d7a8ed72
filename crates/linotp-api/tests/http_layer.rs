//! The shared HTTP layer seen from a client: error shapes, httperror, routing rules, security
//! headers, request ids, client addresses, timeouts and the health check.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, header};
use linotp_api::http::{HttpErrorIds, SECURITY_HEADERS, TrustedProxies};
use linotp_api::reply::{METHOD_NOT_ALLOWED_PAGE, NOT_FOUND_PAGE};
use linotp_api::{HttpSettings, JsonReply};
use serde_json::{Value, json};
use support::{
    FailingProbe, Options, admin_identity, app, build, cookie_header, get, observe, post_form,
    send, short_timeout, with_peer,
};

fn body_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn error_of(text: &str) -> (i64, String) {
    let value = body_json(text);
    assert_eq!(value["result"]["status"], false, "{text}");
    (
        value["result"]["error"]["code"].as_i64().unwrap(),
        value["result"]["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

#[tokio::test]
async fn missing_parameter_is_a_905_envelope_with_http_200() {
    let app = app();
    let (reply, headers) =
        observe(&app.router, post_form("/test/required", &[("pass", "x")])).await;
    assert_eq!(reply.status, 200);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(
        error_of(&reply.body),
        (905, "ERR905: Missing parameter: 'serial'".to_owned())
    );
}

#[tokio::test]
async fn malformed_json_and_bad_encoding_get_envelopes_not_plain_text() {
    let app = app();
    let bad_json = Request::post("/test/echo")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"user\": "))
        .unwrap();
    let (reply, headers) = observe(&app.router, bad_json).await;
    assert_eq!(reply.status, 400);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let (code, message) = error_of(&reply.body);
    assert_eq!(code, -311);
    assert!(
        message.starts_with("Failed to decode JSON object"),
        "{message}"
    );

    let not_utf8 = Request::post("/test/echo")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(&b"user=%C3%28"[..]))
        .unwrap();
    let (reply, _) = observe(&app.router, not_utf8).await;
    assert_eq!(reply.status, 400);
    assert_eq!(error_of(&reply.body).0, -311);
}

#[tokio::test]
async fn axum_extractor_rejections_are_reshaped_into_envelopes() {
    let app = app();
    let request = Request::post("/test/axum_json")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("not json"))
        .unwrap();
    let (reply, headers) = observe(&app.router, request).await;
    assert_eq!(reply.status, 400);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(error_of(&reply.body).0, -311);
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_an_envelope() {
    let settings = HttpSettings {
        body_limit: 64,
        ..HttpSettings::default()
    };
    let app = build(Options {
        http: settings,
        ..Options::default()
    });
    let big = format!("serial={}", "A".repeat(100));
    let request = Request::post("/test/required")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(big))
        .unwrap();
    let (reply, headers) = observe(&app.router, request).await;
    assert_eq!(reply.status, 413);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(
        error_of(&reply.body),
        (-311, "Request body is larger than 64 bytes".to_owned())
    );

    let small = post_form("/test/required", &[("serial", "S1")]);
    let (reply, _) = observe(&app.router, small).await;
    assert_eq!(body_json(&reply.body)["result"]["value"], "S1");
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_get_flask_pages() {
    let app = app();
    let (reply, headers) = observe(&app.router, post_form("/validate/nosuchaction", &[])).await;
    assert_eq!((reply.status, reply.body.as_str()), (404, NOT_FOUND_PAGE));
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");

    // POST-only endpoint: GET answers 405 before any authentication, as in LinOTP.
    let (reply, headers) = observe(&app.router, get("/admin/init?type=hmac")).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (405, METHOD_NOT_ALLOWED_PAGE)
    );
    assert_eq!(headers[header::ALLOW], "POST");

    // Methods outside GET/POST on ordinary endpoints, and POST on the GET-only health check.
    let put = Request::builder()
        .method(Method::PUT)
        .uri("/test/echo")
        .body(Body::empty())
        .unwrap();
    let (reply, _) = observe(&app.router, put).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (405, METHOD_NOT_ALLOWED_PAGE)
    );
    let (reply, _) = observe(&app.router, post_form("/healthcheck/status", &[])).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (405, METHOD_NOT_ALLOWED_PAGE)
    );
}

#[tokio::test]
async fn validate_endpoints_with_underscores_also_answer_with_hyphens() {
    let app = app();
    for path in ["/validate/check_t", "/validate/check-t"] {
        let (reply, _) = observe(
            &app.router,
            post_form(path, &[("transactionid", "42"), ("pass", "1")]),
        )
        .await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(
            body_json(&reply.body)["detail"]["transactionid"],
            "42",
            "{path}"
        );
    }
    let (reply, _) = observe(&app.router, get("/test-echo")).await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn get_and_post_parameters_reach_handlers_merged() {
    let app = app();
    let request = Request::post("/test/echo?user=alice&realm=fromquery")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("realm=frombody&pass=1234"))
        .unwrap();
    let (reply, _) = observe(&app.router, request).await;
    assert_eq!(
        body_json(&reply.body)["result"]["value"],
        json!({"user": "alice", "realm": "fromquery", "pass": "1234"})
    );
    let (reply, _) = observe(&app.router, get("/test/echo?tokens[]=a&tokens[]=b")).await;
    assert_eq!(
        body_json(&reply.body)["result"]["value"],
        json!({"tokens": ["a", "b"]})
    );
}

#[tokio::test]
async fn httperror_turns_error_envelopes_into_html_pages() {
    let app = app();
    let admin = app.auth.issue(admin_identity()).unwrap();
    let cookies = cookie_header(&admin);

    // In the query string of a GET.
    let request = Request::get("/admin/show?httperror=404")
        .header(header::COOKIE, &cookies)
        .body(Body::empty())
        .unwrap();
    let (reply, _) = observe(&app.router, request).await;
    assert_eq!(reply.status, 200, "no error, no page");

    let request = Request::post("/admin/remove")
        .header(header::COOKIE, &cookies)
        .header("X-CSRF-TOKEN", &admin.claims.csrf)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"serial": "S9", "httperror": "404"}"#))
        .unwrap();
    let (reply, headers) = observe(&app.router, request).await;
    assert_eq!(reply.status, 404);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(
        reply.body.contains("<title>404 404 Not Found</title>"),
        "{}",
        reply.body
    );
    assert!(
        reply
            .body
            .contains("[LinOTP 4.0.0.dev0] 1102: ERR1102: No token with serial S9 found")
    );

    // Non-integer values mean 500; unusual codes get "LinOTP Error".
    let (reply, _) = observe(
        &app.router,
        post_form("/test/required", &[("httperror", "abc")]),
    )
    .await;
    assert_eq!(reply.status, 500);
    assert!(
        reply
            .body
            .contains("[LinOTP 4.0.0.dev0] 905: ERR905: Missing parameter: 'serial'")
    );
    let (reply, _) = observe(&app.router, get("/test/required?httperror=444")).await;
    assert_eq!(reply.status, 444);
    assert!(reply.body.contains("<h1>444 444 LinOTP Error</h1>"));

    // Successful replies are never touched.
    let (reply, _) = observe(&app.router, get("/test/echo?httperror=500")).await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn linotp_errors_config_limits_which_errors_become_pages() {
    let policy = Arc::new(HttpErrorIds::from_config(Some("1102")));
    let app = build(Options {
        http_error_policy: Some(policy),
        ..Options::default()
    });
    let (reply, _) = observe(&app.router, get("/test/required?httperror=500")).await;
    assert_eq!(reply.status, 200, "905 is not listed");
    assert_eq!(error_of(&reply.body).0, 905);

    let admin = app.auth.issue(admin_identity()).unwrap();
    let request = Request::post("/admin/remove")
        .header(header::COOKIE, cookie_header(&admin))
        .header("X-CSRF-TOKEN", &admin.claims.csrf)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("serial=S1&httperror=503"))
        .unwrap();
    let (reply, _) = observe(&app.router, request).await;
    assert_eq!(reply.status, 503);
    assert!(reply.body.contains("503 503 Service Unavailable"));
}

#[tokio::test]
async fn simplecheck_answers_text() {
    let app = app();
    for (pass, expected) in [
        ("good", ":-)"),
        ("bad", ":-("),
        ("pin", ":-( 123456789012 Please enter your otp value:"),
    ] {
        let (reply, headers) = observe(
            &app.router,
            post_form("/validate/simplecheck", &[("user", "u"), ("pass", pass)]),
        )
        .await;
        assert_eq!(reply.body, expected);
        assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    }
}

#[tokio::test]
async fn every_reply_carries_the_security_headers_and_a_request_id() {
    let app = build(Options {
        http: short_timeout(),
        ..Options::default()
    });
    let requests = vec![
        get("/validate/ok"),
        get("/nosuch"),
        get("/admin/remove"),
        post_form("/admin/show", &[]),
        post_form("/test/required", &[]),
        get("/test/never"),
        Request::post("/test/echo")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("["))
            .unwrap(),
    ];
    let mut seen_ids = std::collections::HashSet::new();
    for request in requests {
        let uri = request.uri().clone();
        let response = send(&app.router, request).await;
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(response.headers()[name], value, "{name} on {uri}");
        }
        let id = response.headers()["x-request-id"].to_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
        assert!(seen_ids.insert(id.to_owned()), "request ids must differ");
    }
}

#[tokio::test]
async fn request_id_header_is_the_id_handlers_see() {
    let app = app();
    let response = send(&app.router, get("/test/whoami")).await;
    let header_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let reply = linotp_api::testing::ObservedReply::from_response(response)
        .await
        .unwrap();
    assert_eq!(
        body_json(&reply.body)["result"]["value"]["request_id"],
        header_id
    );
}

#[tokio::test]
async fn slow_requests_are_answered_with_a_timeout_envelope() {
    let app = build(Options {
        http: short_timeout(),
        ..Options::default()
    });
    let (reply, headers) = observe(&app.router, get("/test/never")).await;
    assert_eq!(reply.status, 503);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(
        error_of(&reply.body),
        (-311, "Request timed out".to_owned())
    );
}

#[tokio::test]
async fn client_address_honours_only_trusted_proxies() {
    let settings = HttpSettings {
        trusted_proxies: TrustedProxies::parse(["10.0.0.0/8"]).unwrap(),
        ..HttpSettings::default()
    };
    let app = build(Options {
        http: settings,
        ..Options::default()
    });
    let client_of = |peer: &'static str, forwarded: Option<&'static str>| {
        let router = app.router.clone();
        async move {
            let mut request = Request::get("/test/whoami");
            if let Some(forwarded) = forwarded {
                request = request.header("X-Forwarded-For", forwarded);
            }
            let request = with_peer(request.body(Body::empty()).unwrap(), peer);
            let (reply, _) = observe(&router, request).await;
            body_json(&reply.body)["result"]["value"]["client"].clone()
        }
    };
    assert_eq!(
        client_of("10.0.0.5:5000", Some("198.51.100.7")).await,
        "198.51.100.7"
    );
    assert_eq!(
        client_of("203.0.113.1:5000", Some("198.51.100.7")).await,
        "203.0.113.1"
    );
    assert_eq!(client_of("10.0.0.5:5000", None).await, "10.0.0.5");
    // Without a connection (in-process call) the address is unknown, not invented.
    let (reply, _) = observe(&app.router, get("/test/whoami")).await;
    assert_eq!(
        body_json(&reply.body)["result"]["value"]["client"],
        Value::Null
    );
}

#[tokio::test]
async fn healthcheck_reports_uptime_and_probe_failures() {
    let app = app();
    let (reply, headers) = observe(&app.router, get("/healthcheck/status")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert!(reply.body.ends_with("}\n"));
    let value = body_json(&reply.body);
    assert_eq!(value["status"], "alive");
    assert_eq!(value["version"], "4.0.0.dev0");
    assert!(value["uptime"].is_f64());

    let failing = build(Options {
        health_probe: Some(Arc::new(FailingProbe)),
        ..Options::default()
    });
    let (reply, _) = observe(&failing.router, get("/healthcheck/status")).await;
    assert_eq!(reply.status, 503);
    assert_eq!(body_json(&reply.body)["status"], "unavailable");
    assert!(
        !reply.body.contains("database"),
        "internal errors stay in the log"
    );
}

#[tokio::test]
async fn validate_ok_and_fail_accept_get_and_post() {
    let app = app();
    for (request, expected) in [
        (get("/validate/ok"), true),
        (post_form("/validate/ok", &[]), true),
        (get("/validate/fail"), false),
    ] {
        let (reply, _) = observe(&app.router, request).await;
        assert_eq!(reply.body, JsonReply::result(expected).id(0).render());
    }
}

#[tokio::test]
async fn panicking_handlers_get_an_error_envelope() {
    let app = app();
    let response = send(&app.router, get("/test/panic")).await;
    assert_eq!(response.status(), 500);
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let reply = linotp_api::testing::ObservedReply::from_response(response)
        .await
        .unwrap();
    assert_eq!(
        error_of(&reply.body),
        (-311, "Internal Server Error".to_owned())
    );
}

#[derive(Clone, Default)]
struct SharedLog(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn log_lines_inside_a_request_carry_its_request_id() {
    let log = SharedLog::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // The test runtime is single-threaded, so the thread-local subscriber sees the handler.
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = app();
    let response = send(
        &app.router,
        post_form("/test/log", &[("pass", "secret-pin-123")]),
    )
    .await;
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let line = text
        .lines()
        .find(|line| line.contains("inside the handler"))
        .expect("handler log line");
    assert!(line.contains(&request_id), "{line}");
    assert!(line.contains("/test/log"), "{line}");
    assert!(
        !text.contains("secret-pin-123"),
        "parameters never reach the log: {text}"
    );
}
