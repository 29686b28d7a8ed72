//! `/admin` on a database and encKey made by LinOTP itself (`fixtures/linotp-sqlite`): the
//! listing equals the `/admin/show` reply LinOTP gave for the same database (`show.json`),
//! owners resolve through LinOTP's imported-user resolver, and a token enrolled here sits
//! beside LinOTP's and authenticates. The fixture is read-only; each test works on a copy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use linotp_api::auth::ManualClock;
use linotp_api::test_app::TestApp;
use linotp_api::testing;
use linotp_store::config;
use serde_json::{Value, json};
use tower::ServiceExt;

/// 2026-11-27 12:00 UTC, after the fixture was made.
const NOW: i64 = 1_796_040_000;

struct Fixture {
    router: Router,
    cookie: String,
    csrf: String,
    _app: TestApp,
}

impl Fixture {
    /// A copy of the fixture without its otppin policy (the README says how the manifest's
    /// expectations were checked without it).
    fn open() -> Fixture {
        let app = TestApp::on_linotp_fixture(Arc::new(ManualClock::new(NOW)));
        {
            let mut conn = app.db.store().connection().unwrap();
            for attribute in [
                "action", "scope", "realm", "user", "time", "client", "active",
            ] {
                config::delete(&mut conn, &format!("Policy.fix_auth_otppin.{attribute}")).unwrap();
            }
        }
        let (cookie, csrf) = app.admin_session("admin");
        Fixture {
            router: app.router(),
            cookie,
            csrf,
            _app: app,
        }
    }

    async fn post(&self, path: &str, body: &str) -> Value {
        let request = Request::post(path)
            .header(header::COOKIE, &self.cookie)
            .header("X-CSRF-TOKEN", &self.csrf)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }
}

#[tokio::test]
async fn the_listing_equals_linotps_show_reply_for_the_same_database() {
    let fixture = Fixture::open();
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(testing::fixture_dir().join("show.json")).unwrap(),
    )
    .unwrap();
    let reply = fixture.post("/admin/show", "").await;
    assert_eq!(
        reply["result"]["value"]["resultset"],
        expected["result"]["value"]["resultset"]
    );
    let ours = reply["result"]["value"]["data"].as_array().unwrap();
    let linotps = expected["result"]["value"]["data"].as_array().unwrap();
    assert_eq!(ours.len(), linotps.len());
    for (our_row, linotp_row) in ours.iter().zip(linotps) {
        assert_eq!(our_row, linotp_row);
    }
}

#[tokio::test]
async fn owners_are_found_in_linotps_user_store() {
    let fixture = Fixture::open();
    let owner = fixture
        .post("/admin/getTokenOwner", "serial=FIXHOTP1")
        .await;
    assert_eq!(
        owner["result"]["value"],
        json!({
            "groupid": "fixres",
            "userid": "1001",
            "username": "alice",
            "phone": "+4911111111",
            "mobile": "+4912345678",
            "email": "alice@example.com",
            "surname": "Alice",
            "givenname": "Fixture",
        })
    );
    let by_user = fixture.post("/admin/show", "user=alice").await;
    let serials: Vec<&str> = by_user["result"]["value"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["LinOtp.TokenSerialnumber"].as_str().unwrap())
        .collect();
    assert_eq!(serials, ["FIXHOTP1"]);
}

#[tokio::test]
async fn a_token_enrolled_here_works_beside_linotps_tokens() {
    let fixture = Fixture::open();
    let init = fixture
        .post(
            "/admin/init",
            "type=hmac&otpkey=3132333435363738393031323334353637383930&pin=newpin&user=bob",
        )
        .await;
    assert_eq!(init["result"]["value"], true, "{init}");
    let serial = init["detail"]["serial"].as_str().unwrap().to_owned();
    // LinOTP's tokens of this database already took OATH serials of their own type count.
    assert!(serial.starts_with("OATH0"), "{serial}");
    let check = fixture
        .post("/validate/check", "user=bob&pass=newpin755224")
        .await;
    assert_eq!(check["result"]["value"], true, "{check}");
    let shown = fixture
        .post("/admin/show", &format!("serial={serial}"))
        .await;
    let row = &shown["result"]["value"]["data"][0];
    assert_eq!(row["User.username"], "bob");
    assert_eq!(row["LinOtp.RealmNames"], json!(["fixrealm"]));
    assert_eq!(row["LinOtp.Count"], 1);
}
