//! The server platform in-process, on real SQLite databases and real keys: the audit writer
//! (batches, pending marks, background and shutdown signing, tamper detection), admin login
//! and logout against local administrators, the database-backed JWT blocklist, the
//! maintenance and health endpoints, and `/audit/search` against golden replies and
//! LinOTP's own signed rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, header};
use linotp_api::app::{App, AppOptions, AppState};
use linotp_api::audit::{AuditEvent, AuditLog, AuditReader, AuditWriter, AuditWriterOptions};
use linotp_api::auth::{AdminAuth, Clock, JwtKey, JwtSettings, SystemClock};
use linotp_api::bootstrap::StoreBlocklist;
use linotp_api::http::HttpSettings;
use linotp_api::routes;
use linotp_api::sysconfig::ConfigCache;
use linotp_api::testing::{Captures, ObservedReply, compare, load_golden_case};
use linotp_crypto::{AuditSigner, AuditVerifier, DefaultSecurityModule, EncKey, SecurityModule};
use linotp_store::audit as audit_rows;
use linotp_store::diesel::prelude::*;
use linotp_store::schema::audit as audit_table;
use linotp_store::testing::TestDb;
use linotp_store::users::{AdminDetails, LocalAdmins};
use linotp_store::{Store, defaults};
use serde_json::Value;
use tower::ServiceExt;

fn fixture_dir() -> PathBuf {
    std::env::var_os("LINOTP_FIXTURE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/linotp-sqlite")
        })
}

/// LinOTP's RSA-2048 audit key pair of the fixture (read only).
fn linotp_keys() -> (Arc<AuditSigner>, AuditVerifier) {
    let dir = fixture_dir();
    (
        Arc::new(AuditSigner::from_file(&dir.join("audit-private.pem")).unwrap()),
        AuditVerifier::from_file(&dir.join("audit-public.pem")).unwrap(),
    )
}

fn options(background_signing: bool) -> AuditWriterOptions {
    AuditWriterOptions {
        server_name: "node-a".to_owned(),
        background_signing,
        ..AuditWriterOptions::default()
    }
}

fn event(serial: &str, success: bool) -> AuditEvent {
    AuditEvent {
        success,
        serial: serial.to_owned(),
        token_type: "HMAC".to_owned(),
        action_detail: if success {
            format!("serial '{serial}' successfully authenticated.")
        } else {
            "wrong otp value".to_owned()
        },
        client: "127.0.0.1".to_owned(),
        ..AuditEvent::new("/validate/check_s")
    }
}

fn all_rows(store: &Store) -> Vec<audit_rows::AuditEntry> {
    let mut conn = store.connection().unwrap();
    audit_rows::search(&mut conn, &audit_rows::AuditQuery::default())
        .unwrap()
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_stored_and_signed_by_shutdown() {
    let db = TestDb::sqlite().migrated();
    let (signer, verifier) = linotp_keys();
    let writer =
        AuditWriter::start(db.store().clone(), signer, verifier.clone(), options(true)).unwrap();
    let log = writer.log();
    // More events than one batch, from concurrent requests.
    let mut tasks = Vec::new();
    for task in 0..4 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            for index in 0..100 {
                log.record(event(&format!("T{task}N{index}"), index % 2 == 0))
                    .await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    log.record(event("MULTI1,MULTI2", true)).await;
    let report = writer.shutdown(Duration::from_secs(120)).await;
    assert_eq!(report.rows_written, 402);
    assert_eq!(report.rows_lost, 0);
    assert_eq!(report.rows_left_pending, 0);

    let rows = all_rows(db.store());
    assert_eq!(rows.len(), 402);
    for row in &rows {
        let signature = row.signature.as_deref().unwrap();
        assert_eq!(signature.len(), 512, "row {} is signed", row.id);
        assert!(
            verifier.verify_record(&linotp_api::audit::signed_record(row), signature),
            "row {} verifies with LinOTP's public key",
            row.id
        );
        let stamp = row.timestamp.as_deref().unwrap();
        assert_eq!(stamp.len(), 29, "{stamp}");
        assert!(stamp.ends_with("+00:00") && stamp.as_bytes()[19] == b'.');
        assert_eq!(row.linotp_server.as_deref(), Some("node-a"));
        assert_eq!(row.action.as_deref(), Some("validate/check_s"));
        assert_eq!(row.log_level.as_deref(), Some("INFO"));
        assert_eq!(row.clearance_level, Some(0));
    }
    let serials: Vec<_> = rows
        .iter()
        .filter_map(|row| row.serial.as_deref())
        .filter(|serial| serial.starts_with("MULTI"))
        .collect();
    assert_eq!(serials, ["MULTI1", "MULTI2"]);
    let successes = rows
        .iter()
        .filter(|row| row.success.as_deref() == Some("1"))
        .count();
    assert_eq!(successes, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_rows_verify_until_changed_and_tampered_ones_stay_unsigned() {
    let db = TestDb::sqlite().migrated();
    let (signer, verifier) = linotp_keys();
    let writer = AuditWriter::start(
        db.store().clone(),
        Arc::clone(&signer),
        verifier.clone(),
        options(false),
    )
    .unwrap();
    let log = writer.log();
    for index in 0..5 {
        log.record(event(&format!("P{index}"), true)).await;
    }
    assert!(log.flush().await, "flush confirms the stored rows");
    let rows = all_rows(db.store());
    assert_eq!(rows.len(), 5, "stored before any signature");
    let reader = AuditReader::new(db.store().clone(), verifier.clone(), Arc::clone(&signer));
    for row in &rows {
        assert!(row.signature.as_deref().unwrap().starts_with("pending:"));
        assert!(reader.signature_is_valid(row));
    }

    // Someone with database access turns a failure into a success.
    let victim = rows[2].id;
    {
        let mut conn = db.store().connection().unwrap();
        linotp_store::diesel::update(audit_table::table.filter(audit_table::id.eq(victim)))
            .set(audit_table::success.eq("0"))
            .execute(&mut conn)
            .unwrap();
    }
    let report = writer.shutdown(Duration::from_secs(60)).await;
    assert_eq!(report.rows_left_pending, 1, "the changed row is not signed");
    for row in all_rows(db.store()) {
        let signature = row.signature.as_deref().unwrap();
        if row.id == victim {
            assert!(signature.starts_with("pending:"));
            assert!(!reader.signature_is_valid(&row));
        } else {
            assert_eq!(signature.len(), 512);
            assert!(reader.signature_is_valid(&row));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_left_pending_are_signed_after_the_next_start() {
    let db = TestDb::sqlite().migrated();
    let (signer, verifier) = linotp_keys();
    let first = AuditWriter::start(
        db.store().clone(),
        Arc::clone(&signer),
        verifier.clone(),
        options(false),
    )
    .unwrap();
    for index in 0..70 {
        first.log().record(event(&format!("R{index}"), false)).await;
    }
    let report = first.shutdown(Duration::ZERO).await;
    assert_eq!(report.rows_written, 70);
    assert_eq!(report.rows_left_pending, 70);

    let second =
        AuditWriter::start(db.store().clone(), signer, verifier.clone(), options(true)).unwrap();
    second.log().record(event("AFTER", true)).await;
    let report = second.shutdown(Duration::from_secs(120)).await;
    assert_eq!(report.rows_left_pending, 0);
    let rows = all_rows(db.store());
    assert_eq!(rows.len(), 71);
    assert!(rows.iter().all(|row| verifier.verify_record(
        &linotp_api::audit::signed_record(row),
        row.signature.as_deref().unwrap()
    )));
}

// ---------------------------------------------------------------------------------------------
// the HTTP side

struct Platform {
    state: AppState,
    router: Router,
    writer: Option<AuditWriter>,
    db: TestDb,
    jwt_secret: Vec<u8>,
}

const ADMIN_PASSWORD: &str = "Test123!";

/// An application like the server's: SQLite database with defaults and admin realm, local
/// admin `admin` / `Test123!`, database-backed JWT blocklist, running audit writer.
fn platform() -> Platform {
    let db = TestDb::sqlite().migrated();
    {
        let mut conn = db.store().connection().unwrap();
        defaults::ensure_default_config(&mut conn).unwrap();
        defaults::ensure_admin_realm(&mut conn, "linotp_admins", "LinOTP_local_admins").unwrap();
        let hash = linotp_crypto::hash_password(ADMIN_PASSWORD).unwrap();
        let admins = LocalAdmins::new("LinOTP_local_admins");
        admins
            .add(&mut conn, "admin", &hash, &AdminDetails::default())
            .unwrap();
        admins
            .add(&mut conn, "locked", &hash, &AdminDetails::default())
            .unwrap();
        admins.disable(&mut conn, "locked").unwrap();
    }
    let security: Arc<dyn SecurityModule> =
        Arc::new(DefaultSecurityModule::new(EncKey::generate().unwrap()));
    let jwt_secret = security.jwt_secret().unwrap().expose().to_vec();
    let (signer, verifier) = linotp_keys();
    let writer = AuditWriter::start(db.store().clone(), signer, verifier, options(true)).unwrap();
    let state = app_on(db.store(), security, writer.log(), &jwt_secret);
    let router = routes::router(&state, HttpSettings::default());
    Platform {
        state,
        router,
        writer: Some(writer),
        db,
        jwt_secret,
    }
}

fn auth_on(store: &Store, jwt_secret: &[u8]) -> AdminAuth {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    AdminAuth::new(
        JwtKey::new(jwt_secret).unwrap(),
        JwtSettings {
            cookie_secure: false,
            ..JwtSettings::default()
        },
        Arc::clone(&clock),
        Arc::new(StoreBlocklist::new(store.clone(), clock)),
    )
}

fn app_on(
    store: &Store,
    security: Arc<dyn SecurityModule>,
    audit: AuditLog,
    jwt_secret: &[u8],
) -> AppState {
    Arc::new(App {
        store: store.clone(),
        security,
        config: ConfigCache::new(),
        audit,
        auth: auth_on(store, jwt_secret),
        clock: Arc::new(SystemClock),
        options: AppOptions {
            server_name: "node-a".to_owned(),
            ..AppOptions::default()
        },
    })
}

#[derive(Debug, Clone, Default)]
struct Session {
    cookie: String,
    csrf: String,
}

async fn send(
    router: &Router,
    method: Method,
    path: &str,
    params: &[(&str, &str)],
    session: Option<&Session>,
) -> (ObservedReply, Vec<String>) {
    let body = params
        .iter()
        .map(|(name, value)| format!("{name}={}", urlencode(value)))
        .collect::<Vec<_>>()
        .join("&");
    let mut request = Request::builder().method(method.clone());
    request = if method == Method::GET {
        request.uri(if body.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{body}")
        })
    } else {
        request
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
    };
    if let Some(session) = session {
        request = request.header(header::COOKIE, &session.cookie);
        if method == Method::POST {
            request = request.header("x-csrf-token", &session.csrf);
        }
    }
    let mut request = request
        .body(if method == Method::GET {
            Body::empty()
        } else {
            Body::from(body)
        })
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    let response = router.clone().oneshot(request).await.unwrap();
    let cookies: Vec<String> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect();
    (
        ObservedReply::from_response(response).await.unwrap(),
        cookies,
    )
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn session_from(cookies: &[String]) -> Session {
    let value = |name: &str| {
        cookies
            .iter()
            .find_map(|cookie| cookie.strip_prefix(&format!("{name}=")))
            .map(|rest| rest.split(';').next().unwrap().to_owned())
            .unwrap()
    };
    let access = value("access_token_cookie");
    let csrf = value("csrf_access_token");
    Session {
        cookie: format!("access_token_cookie={access}; csrf_access_token={csrf}"),
        csrf,
    }
}

async fn login(platform: &Platform) -> Session {
    let (reply, cookies) = send(
        &platform.router,
        Method::POST,
        "/admin/login",
        &[("username", "admin"), ("password", ADMIN_PASSWORD)],
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    session_from(&cookies)
}

fn golden(file: &str, name: &str, observed: &ObservedReply, captures: &mut Captures) {
    let case = load_golden_case(file, name).unwrap();
    if let Err(mismatches) = compare(&case, observed, captures) {
        panic!("{mismatches}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_login_and_logout_match_linotp() {
    let platform = platform();
    let mut captures = Captures::default();
    for (name, user, password) in [
        ("login.bad_password", "admin", "wrong-Test123!"),
        ("login.unknown_user", "nosuchadmin", "x"),
    ] {
        let (reply, _) = send(
            &platform.router,
            Method::POST,
            "/admin/login",
            &[("username", user), ("password", password)],
            None,
        )
        .await;
        golden("admin.json", name, &reply, &mut captures);
    }
    // A disabled administrator keeps the password but cannot log in.
    let (disabled, cookies) = send(
        &platform.router,
        Method::POST,
        "/admin/login",
        &[("username", "locked"), ("password", ADMIN_PASSWORD)],
        None,
    )
    .await;
    assert_eq!(disabled.status, 401);
    assert!(cookies.is_empty());
    // The password never travels in a URL: GET is refused.
    let (get, _) = send(
        &platform.router,
        Method::GET,
        "/admin/login",
        &[("username", "admin"), ("password", ADMIN_PASSWORD)],
        None,
    )
    .await;
    assert_eq!(get.status, 405);

    let (ok, cookies) = send(
        &platform.router,
        Method::POST,
        "/admin/login",
        &[("username", "admin"), ("password", ADMIN_PASSWORD)],
        None,
    )
    .await;
    golden("admin.json", "login.ok", &ok, &mut captures);
    let session = session_from(&cookies);

    let (status, _) = send(
        &platform.router,
        Method::GET,
        "/maintenance/check_status",
        &[],
        Some(&session),
    )
    .await;
    assert_eq!(status.status, 200);
    let value: Value = serde_json::from_str(&status.body).unwrap();
    let config_rows = {
        let mut conn = platform.db.store().connection().unwrap();
        linotp_store::schema::config::table
            .count()
            .get_result::<i64>(&mut conn)
            .unwrap()
    };
    assert_eq!(value["detail"]["config"]["entries"], config_rows);
    assert_eq!(value["id"], 0);

    let (logout, cookies) = send(
        &platform.router,
        Method::POST,
        "/admin/logout",
        &[],
        Some(&session),
    )
    .await;
    golden("admin.json", "logout", &logout, &mut captures);
    assert!(cookies.iter().all(|cookie| cookie.contains("Max-Age=0")));
    let (after, _) = send(
        &platform.router,
        Method::POST,
        "/admin/logout",
        &[],
        Some(&session),
    )
    .await;
    assert_eq!(after.status, 401, "the logged-out token is refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_survive_a_restart_and_logouts_hold_on_every_node() {
    let platform = platform();
    let session = login(&platform).await;
    // A second node (or the same one after a restart): same encKey, same database, fresh
    // process state.
    let security: Arc<dyn SecurityModule> =
        Arc::new(DefaultSecurityModule::new(EncKey::generate().unwrap()));
    let other_node = app_on(
        platform.db.store(),
        security,
        AuditLog::disabled(),
        &platform.jwt_secret,
    );
    let other_router = routes::router(&other_node, HttpSettings::default());
    let (reply, _) = send(
        &other_router,
        Method::GET,
        "/maintenance/check_status",
        &[],
        Some(&session),
    )
    .await;
    assert_eq!(reply.status, 200, "the session is valid on the other node");

    let (logout, _) = send(
        &platform.router,
        Method::POST,
        "/admin/logout",
        &[],
        Some(&session),
    )
    .await;
    assert_eq!(logout.status, 200);
    let (refused, _) = send(
        &other_router,
        Method::GET,
        "/maintenance/check_status",
        &[],
        Some(&session),
    )
    .await;
    assert_eq!(
        refused.status, 401,
        "the logout holds on the other node too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_probe_checks_the_database() {
    let platform = platform();
    let (reply, _) = send(
        &platform.router,
        Method::GET,
        "/healthcheck/status",
        &[],
        None,
    )
    .await;
    let mut captures = Captures::default();
    golden("system.json", "healthcheck.status", &reply, &mut captures);

    // A database that went away: the probe fails and the endpoint says so.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gone.db");
    let store = Store::open_uri(&format!("sqlite:///{}", file.display())).unwrap();
    store.migrate().unwrap();
    let security: Arc<dyn SecurityModule> =
        Arc::new(DefaultSecurityModule::new(EncKey::generate().unwrap()));
    let state = app_on(&store, security, AuditLog::disabled(), b"key");
    let router = routes::router(&state, HttpSettings::default());
    {
        let mut conn = store.connection().unwrap();
        linotp_store::diesel::sql_query("DROP TABLE \"Config\"")
            .execute(&mut *conn)
            .unwrap();
    }
    let (broken, _) = send(&router, Method::GET, "/healthcheck/status", &[], None).await;
    assert_eq!(broken.status, 503);
    assert!(broken.body.contains("\"status\":\"unavailable\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_search_replies_match_the_golden_corpus() {
    let mut platform = platform();
    let session = login(&platform).await;
    // The rows LinOTP wrote for the golden sequence (enrolment and two checks).
    let admin = "admin@linotp_admins (LinOTP_local_admins)".to_owned();
    let log = platform.state.audit.clone();
    log.record(AuditEvent {
        success: true,
        serial: "GLDAUD".into(),
        token_type: "HMAC".into(),
        administrator: admin.clone(),
        action_detail: "tokennum = 1".into(),
        client: "127.0.0.1".into(),
        ..AuditEvent::new("admin/init")
    })
    .await;
    log.record(event("GLDAUD", true)).await;
    log.record(event("GLDAUD", false)).await;

    let mut captures = Captures::default();
    for (name, params) in [
        (
            "search.by_serial",
            vec![("serial", "GLDAUD"), ("rp", "20"), ("sortorder", "asc")],
        ),
        (
            "search.by_serial_page",
            vec![
                ("serial", "GLDAUD"),
                ("rp", "1"),
                ("page", "2"),
                ("sortorder", "asc"),
            ],
        ),
        (
            "search.by_serial_action",
            vec![
                ("serial", "GLDAUD"),
                ("action", "validate/check_s"),
                ("sortorder", "asc"),
            ],
        ),
        ("search.no_match", vec![("serial", "GLDNEVERUSED")]),
    ] {
        let (reply, _) = send(
            &platform.router,
            Method::POST,
            "/audit/search",
            &params,
            Some(&session),
        )
        .await;
        golden("audit.json", name, &reply, &mut captures);
    }
    // The login and the searches themselves are in the trail too.
    let (reply, _) = send(
        &platform.router,
        Method::GET,
        "/audit/search",
        &[("action", "audit/search"), ("headers", "")],
        Some(&session),
    )
    .await;
    let value: Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(value["total"], 4);
    let row = &value["rows"][0];
    assert_eq!(row["data"][2], "sig_check");
    assert_eq!(row["cell"][2], "OK");
    assert_eq!(row["cell"][10], format!("'{admin}'"));

    let (csv, _) = send(
        &platform.router,
        Method::POST,
        "/audit/search",
        &[("serial", "GLDAUD"), ("outform", "csv")],
        Some(&session),
    )
    .await;
    assert_eq!(csv.content_type.as_deref(), Some("text/csv; charset=utf-8"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines.len(),
        4,
        "three rows and LinOTP's closing empty line: {}",
        csv.body
    );
    assert_eq!(lines[3], "");
    assert!(lines[0].contains(", \"OK\", \"\", \"admin/init\", \"1\", \"GLDAUD\", \"HMAC\""));

    let (failed, _) = send(
        &platform.router,
        Method::POST,
        "/audit/search",
        &[("query", "x")],
        Some(&session),
    )
    .await;
    let value: Value = serde_json::from_str(&failed.body).unwrap();
    assert_eq!(value["result"]["error"]["message"], "audit/search failed");
    assert_eq!(value["id"], 0);

    let (refused, _) = send(
        &platform.router,
        Method::POST,
        "/audit/search",
        &[("serial", "GLDAUD")],
        None,
    )
    .await;
    assert_eq!(refused.status, 401);

    let writer = platform.writer.take().unwrap();
    let report = writer.shutdown(Duration::from_secs(120)).await;
    assert_eq!(report.rows_lost, 0);
}

#[tokio::test]
async fn linotps_own_audit_rows_pass_sig_check() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("linotp.db_audit");
    std::fs::copy(fixture_dir().join("linotp.db_audit"), &file).unwrap();
    let store = Store::open_uri(&format!("sqlite:///{}", file.display())).unwrap();
    let (signer, verifier) = linotp_keys();
    let reader = Arc::new(AuditReader::new(store.clone(), verifier, signer));
    let search = linotp_api::audit::AuditSearch::from_params(&linotp_api::Params::from_pairs([(
        "sortorder",
        "desc",
    )]))
    .unwrap();
    let page = reader.search(search.clone()).await.unwrap();
    assert_eq!(page.total, 71);
    assert_eq!(page.rows[0].id, 71);
    assert!(page.rows.iter().all(|line| line.cells[2] == "OK"));

    {
        let mut conn = store.connection().unwrap();
        linotp_store::diesel::update(audit_table::table.filter(audit_table::id.eq(40)))
            .set(audit_table::info.eq("changed"))
            .execute(&mut conn)
            .unwrap();
    }
    let page = reader.search(search).await.unwrap();
    let failed: Vec<i32> = page
        .rows
        .iter()
        .filter(|line| line.cells[2] == "FAIL")
        .map(|line| line.id)
        .collect();
    assert_eq!(failed, [40]);
}
