//! `/admin` on a database and encKey made by LinOTP itself (`fixtures/linotp-sqlite`): the
//! listing equals the `/admin/show` reply LinOTP gave for the same database (`show.json`),
//! owners resolve through LinOTP's imported-user resolver, and a token enrolled here sits
//! beside LinOTP's and authenticates. The fixture is read-only; each test works on a copy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use linotp_api::audit::AuditLog;
use linotp_api::auth::{
    AdminAuth, AdminIdentity, JwtKey, JwtSettings, ManualClock, MemoryBlocklist,
};
use linotp_api::sysconfig::ConfigCache;
use linotp_api::{App, AppOptions, HttpSettings, routes};
use linotp_crypto::{DefaultSecurityModule, SecurityModule};
use linotp_store::{Store, config};
use serde_json::{Value, json};
use tower::ServiceExt;

/// 2026-11-27 12:00 UTC, after the fixture was made.
const NOW: i64 = 1_796_040_000;

fn fixture_dir() -> PathBuf {
    std::env::var_os("LINOTP_FIXTURE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/fixtures/linotp-sqlite"))
}

/// A directory removed when the test ends.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> ScratchDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "linotp-admin-fixture-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).unwrap();
        ScratchDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Fixture {
    router: Router,
    cookie: String,
    csrf: String,
    _dir: ScratchDir,
}

impl Fixture {
    /// A copy of the fixture without its otppin policy (policies arrive with the next
    /// release; the README says how the manifest's expectations were checked without it).
    fn open() -> Fixture {
        let source = fixture_dir();
        let dir = ScratchDir::new();
        for file in ["linotp.db", "encKey"] {
            std::fs::copy(source.join(file), dir.path().join(file)).unwrap();
        }
        let store = Store::open_uri(&format!(
            "sqlite:///{}",
            dir.path().join("linotp.db").display()
        ))
        .unwrap();
        store.migrate().unwrap();
        {
            let mut conn = store.connection().unwrap();
            for attribute in [
                "action", "scope", "realm", "user", "time", "client", "active",
            ] {
                config::delete(&mut conn, &format!("Policy.fix_auth_otppin.{attribute}")).unwrap();
            }
        }
        let security: Arc<dyn SecurityModule> =
            Arc::new(DefaultSecurityModule::from_key_file(&dir.path().join("encKey")).unwrap());
        let clock = Arc::new(ManualClock::new(NOW));
        let auth = AdminAuth::new(
            JwtKey::new(security.jwt_secret().unwrap().expose()).unwrap(),
            JwtSettings::default(),
            clock.clone(),
            Arc::new(MemoryBlocklist::new(clock.clone())),
        );
        let issued = auth
            .issue(AdminIdentity {
                username: "admin".into(),
                realm: "linotp_admins".into(),
                resolver: "useridresolver.SQLIdResolver.IdResolver.LinOTP_local_admins".into(),
            })
            .unwrap();
        let app = Arc::new(App {
            store,
            security,
            config: ConfigCache::new(),
            audit: AuditLog::disabled(),
            auth,
            clock,
            options: AppOptions::default(),
        });
        Fixture {
            router: routes::router(&app, HttpSettings::default()),
            cookie: format!(
                "access_token_cookie={}; csrf_access_token={}",
                issued.token, issued.claims.csrf
            ),
            csrf: issued.claims.csrf,
            _dir: dir,
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
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture_dir().join("show.json")).unwrap())
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
