//! The real `linotp-server` binary on a temporary SQLite data directory: first start,
//! restarts, sessions, LinOTP's method and CSRF rules, golden error replies, the audit trail
//! across a SIGTERM, and the start-up exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;

use hyper::Method;
use linotp_api::http::POST_ONLY_ENDPOINTS;
use linotp_api::testing::{Captures, load_golden_case, load_golden_file};
use linotp_store::Store;
use linotp_tests::{DataDir, ServerProcess, replay_golden};

fn open_audit_db(data: &DataDir) -> Store {
    Store::open_uri(&format!(
        "sqlite:///{}",
        data.file("linotp.db_audit").display()
    ))
    .unwrap()
}

#[tokio::test]
async fn first_start_initialises_an_empty_data_dir_and_sessions_survive_restarts() {
    let data = DataDir::new();
    let server = ServerProcess::start(&data, &[]).await.unwrap();
    let password = server
        .generated_password()
        .expect("the password is printed");
    assert_eq!(server.stdout().matches("account set to").count(), 1);
    assert!(password.len() >= 16);
    for file in [
        "encKey",
        "audit-private.pem",
        "audit-public.pem",
        "linotp.db",
        "linotp.db_audit",
    ] {
        assert!(data.file(file).is_file(), "{file} created");
    }
    for secret in ["encKey", "audit-private.pem"] {
        let mode = std::fs::metadata(data.file(secret))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{secret} is private: {mode:o}");
    }
    let admin = server.client().login("admin", &password).await;
    let session = admin.session.clone();
    let enc_key = std::fs::read(data.file("encKey")).unwrap();
    let audit_key = std::fs::read(data.file("audit-private.pem")).unwrap();
    assert!(server.stop().await.success(), "SIGTERM ends with 0");

    // An existing data directory is used as it is.
    let server = ServerProcess::start(&data, &[]).await.unwrap();
    assert_eq!(server.generated_password(), None, "printed only once");
    assert_eq!(std::fs::read(data.file("encKey")).unwrap(), enc_key);
    assert_eq!(
        std::fs::read(data.file("audit-private.pem")).unwrap(),
        audit_key
    );
    let same_session = server.client().with_session(session.clone());
    let status = same_session.admin("/maintenance/check_status", &[]).await;
    assert_eq!(status.status, 200, "the session survived the restart");
    assert_eq!(status.json()["result"]["value"], true);

    let logout = same_session.admin("/admin/logout", &[]).await;
    assert_eq!(logout.status, 200);
    assert_eq!(
        same_session
            .admin("/maintenance/check_status", &[])
            .await
            .status,
        401,
        "logout revokes the token"
    );
    assert!(server.stop().await.success());

    let server = ServerProcess::start(&data, &[]).await.unwrap();
    let revoked = server.client().with_session(session);
    assert_eq!(
        revoked.admin("/maintenance/check_status", &[]).await.status,
        401,
        "the logout holds after a restart"
    );
    // The password still works, the login is new.
    server.client().login("admin", &password).await;
    assert!(server.stop().await.success());
}

#[tokio::test]
async fn the_admin_password_can_come_from_the_environment() {
    let data = DataDir::new();
    let server = ServerProcess::start(&data, &[("LINOTP_ADMIN_PASSWORD", "Correct-Horse-7")])
        .await
        .unwrap();
    assert_eq!(server.generated_password(), None);
    let mut captures = Captures::default();
    let client = server.client();
    for name in ["login.bad_password", "login.unknown_user"] {
        let case = load_golden_case("admin.json", name).unwrap();
        let reply = client
            .request(
                Method::POST,
                "/admin/login",
                &[
                    ("username", case.params["username"].as_str().unwrap()),
                    ("password", case.params["password"].as_str().unwrap()),
                ],
            )
            .await;
        linotp_api::testing::compare(&case, &reply.observed(), &mut captures).unwrap();
    }
    let login = client
        .request(
            Method::POST,
            "/admin/login",
            &[("username", "admin"), ("password", "Correct-Horse-7")],
        )
        .await;
    let case = load_golden_case("admin.json", "login.ok").unwrap();
    linotp_api::testing::compare(&case, &login.observed(), &mut captures).unwrap();
    assert!(server.stop().await.success());
}

#[tokio::test]
async fn post_only_endpoints_refuse_get_and_admin_posts_need_the_csrf_header() {
    let data = DataDir::new();
    let server = ServerProcess::start(&data, &[("LINOTP_ADMIN_PASSWORD", "Test123!")])
        .await
        .unwrap();
    let admin = server.client().login("admin", "Test123!").await;
    let flask_405 = load_golden_case("errors.json", "get_on_post_only.admin_remove")
        .unwrap()
        .body;
    for path in POST_ONLY_ENDPOINTS.iter().copied().chain(["/admin/login"]) {
        // With a valid session too: the method rule comes before authentication.
        for client in [server.client(), admin.clone()] {
            let reply = client.request(Method::GET, path, &[]).await;
            assert_eq!(reply.status, 405, "GET {path}");
            assert_eq!(reply.body, flask_405, "GET {path}");
        }
    }

    let session = admin.session.clone().unwrap();
    let mut captures = Captures::default();
    for name in [
        "post_without_csrf_header",
        "post_wrong_csrf_header",
        "no_admin_cookie.admin_show",
        "no_admin_cookie.system_getConfig",
        "no_admin_cookie.audit_search",
        "unknown_endpoint.admin",
        "unknown_endpoint.validate",
        "unknown_controller",
    ] {
        let case = load_golden_case("errors.json", name).unwrap();
        if let Err(mismatches) =
            replay_golden(&server.client(), &session, &case, &mut captures).await
        {
            panic!("{mismatches}");
        }
    }
    // The CSRF value may also come as the `csrf_token` form field.
    let form = server
        .client()
        .with_session(Some(session.clone()))
        .request(
            Method::POST,
            "/maintenance/check_status",
            &[("csrf_token", &session.csrf)],
        )
        .await;
    assert_eq!(form.status, 200);
    assert!(server.stop().await.success());
}

#[tokio::test]
async fn every_errors_json_case_is_answered_as_linotp_did() {
    let data = DataDir::new();
    let server = ServerProcess::start(&data, &[("LINOTP_ADMIN_PASSWORD", "Test123!")])
        .await
        .unwrap();
    let admin = server.client().login("admin", "Test123!").await;
    let session = admin.session.clone().unwrap();
    let mut captures = Captures::default();
    let mut failures = Vec::new();
    for case in load_golden_file("errors.json").unwrap() {
        if let Err(mismatches) =
            replay_golden(&server.client(), &session, &case, &mut captures).await
        {
            failures.push(mismatches.to_string());
        }
    }
    assert!(server.stop().await.success());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn audit_rows_of_every_answered_request_are_stored_and_signed_at_sigterm() {
    let data = DataDir::new();
    let server = ServerProcess::start(&data, &[("LINOTP_ADMIN_PASSWORD", "Test123!")])
        .await
        .unwrap();
    let admin = server.client().login("admin", "Test123!").await;
    let validate = server.client();
    let checks = 200;
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let validate = validate.clone();
        tasks.push(tokio::spawn(async move {
            for index in 0..checks / 8 {
                let serial = format!("NOSUCH{worker}X{index}");
                let reply = validate
                    .validate(
                        "/validate/check_s",
                        &[("serial", &serial), ("pass", "000000")],
                    )
                    .await;
                assert_eq!(reply.status, 200);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let logout = admin.admin("/admin/logout", &[]).await;
    assert_eq!(logout.status, 200);
    // SIGTERM right after the last reply: the queued rows must still be written.
    assert!(server.stop().await.success());

    let store = open_audit_db(&data);
    let mut conn = store.connection().unwrap();
    let query = linotp_store::audit::AuditQuery::default();
    let (rows, total) = linotp_store::audit::search(&mut conn, &query).unwrap();
    let count = |action: &str| {
        rows.iter()
            .filter(|row| row.action.as_deref() == Some(action))
            .count()
    };
    assert_eq!(count("validate/check_s"), checks);
    assert_eq!(count("admin/login"), 1);
    assert_eq!(count("admin/logout"), 1);
    assert_eq!(total as usize, rows.len());
    let verifier = linotp_crypto::AuditVerifier::from_file(&data.file("audit-public.pem")).unwrap();
    for row in &rows {
        let signature = row.signature.as_deref().unwrap_or_default();
        assert!(
            verifier.verify_record(&linotp_api::audit::signed_record(row), signature),
            "row {} is signed with the audit key",
            row.id
        );
        assert_eq!(row.client.as_deref(), Some("127.0.0.1"));
    }
}

#[tokio::test]
async fn start_refuses_unusable_data_with_linotps_exit_codes() {
    // An existing database without its encKey: exit 4, nothing created.
    let data = DataDir::new();
    let server = ServerProcess::start(&data, &[("LINOTP_ADMIN_PASSWORD", "Test123!")])
        .await
        .unwrap();
    assert!(server.stop().await.success());
    std::fs::rename(data.file("encKey"), data.file("encKey.moved")).unwrap();
    let failure = ServerProcess::start(&data, &[]).await.unwrap_err();
    assert_eq!(failure.status.and_then(|status| status.code()), Some(4));
    assert!(failure.stderr.contains("no encKey"), "{}", failure.stderr);
    assert!(!data.file("encKey").exists(), "a key is never invented");
    std::fs::rename(data.file("encKey.moved"), data.file("encKey")).unwrap();

    // Missing audit keys: exit 4 with the hint LinOTP gives.
    std::fs::rename(data.file("audit-private.pem"), data.file("moved.pem")).unwrap();
    let failure = ServerProcess::start(&data, &[]).await.unwrap_err();
    assert_eq!(failure.status.and_then(|status| status.code()), Some(4));
    assert!(
        failure.stderr.contains("linotp init audit-keys"),
        "{}",
        failure.stderr
    );
    std::fs::rename(data.file("moved.pem"), data.file("audit-private.pem")).unwrap();

    // A schema from a newer version: exit 3.
    {
        let store =
            Store::open_uri(&format!("sqlite:///{}", data.file("linotp.db").display())).unwrap();
        let mut conn = store.connection().unwrap();
        linotp_store::config::set(
            &mut conn,
            linotp_store::migrate::DATA_MODEL_VERSION_KEY,
            "9.0.0.0",
            None,
            None,
        )
        .unwrap();
    }
    let failure = ServerProcess::start(&data, &[]).await.unwrap_err();
    assert_eq!(failure.status.and_then(|status| status.code()), Some(3));
    assert!(failure.stderr.contains("newer"), "{}", failure.stderr);

    // TLS files that do not exist: exit 4.
    let fresh = DataDir::new();
    let failure = ServerProcess::start(
        &fresh,
        &[
            ("LINOTP_TLS_CERT_FILE", "/nonexistent/cert.pem"),
            ("LINOTP_TLS_KEY_FILE", "/nonexistent/key.pem"),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(failure.status.and_then(|status| status.code()), Some(4));
}

#[test]
fn the_example_configuration_file_is_valid() {
    let data = DataDir::new();
    let cfg = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../etc/linotp.cfg");
    let output = data
        .command(
            &linotp_tests::binaries().cli,
            &[("LINOTP_CFG", cfg.to_str().unwrap())],
        )
        .args([
            "config",
            "show",
            "LISTEN",
            "ROOT_DIR",
            "LOG_FORMAT",
            "TRUSTED_PROXIES",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("LISTEN=127.0.0.1:5000"), "{stdout}");
    assert!(stdout.contains("LOG_FORMAT=text"), "{stdout}");
}
