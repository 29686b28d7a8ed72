//! Replays the golden cases that need no token store against the in-process application and
//! compares the replies by the corpus rules (`linotp_api::testing`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use linotp_api::testing::{Captures, GoldenCase, compare, load_golden_case, load_golden_file};
use support::{admin_identity, app, golden_request, observe};

async fn replay(file: &str, names: &[&str]) {
    let app = app();
    let admin = app.auth.issue(admin_identity()).unwrap();
    let mut captures = Captures::default();
    for name in names {
        let case: GoldenCase = load_golden_case(file, name).unwrap();
        let (observed, _) = observe(&app.router, golden_request(&case, Some(&admin))).await;
        if let Err(mismatches) = compare(&case, &observed, &mut captures) {
            panic!("{mismatches}");
        }
    }
}

#[tokio::test]
async fn gate_routing_and_httperror_cases_of_errors_json() {
    replay(
        "errors.json",
        &[
            "missing.remove_serial",
            "missing.init_otpkey",
            "unknown_serial.remove",
            "unknown_serial.assign",
            "get_on_post_only.admin_remove",
            "get_on_post_only.admin_init",
            "get_on_post_only.system_setConfig",
            "post_without_csrf_header",
            "post_wrong_csrf_header",
            "no_admin_cookie.admin_show",
            "no_admin_cookie.system_getConfig",
            "no_admin_cookie.audit_search",
            "httperror_500.admin_remove_unknown",
            "httperror_empty.admin_remove_unknown",
            "unknown_endpoint.admin",
            "unknown_endpoint.validate",
            "unknown_controller",
        ],
    )
    .await;
}

#[tokio::test]
async fn store_free_endpoints_match_golden_replies() {
    replay("validate.json", &["ok", "fail"]).await;
    replay(
        "system.json",
        &["healthcheck.status", "maintenance.check_status"],
    )
    .await;
    replay("admin.json", &["login.ok", "login.bad_password", "logout"]).await;
}

#[tokio::test]
async fn golden_bodies_are_reproduced_byte_for_byte() {
    // Beyond the tree comparison: the envelope text itself equals LinOTP's.
    let app = app();
    let admin = app.auth.issue(admin_identity()).unwrap();
    for (file, name) in [
        ("validate.json", "ok"),
        ("validate.json", "fail"),
        ("errors.json", "missing.init_otpkey"),
        ("errors.json", "unknown_serial.assign"),
        ("errors.json", "post_wrong_csrf_header"),
        ("errors.json", "get_on_post_only.admin_init"),
        ("errors.json", "httperror_500.admin_remove_unknown"),
        ("errors.json", "unknown_controller"),
    ] {
        let case = load_golden_case(file, name).unwrap();
        let (observed, _) = observe(&app.router, golden_request(&case, Some(&admin))).await;
        assert_eq!(observed.body, case.body, "{file} {name}");
    }
}

#[test]
fn every_golden_file_loads() {
    let mut total = 0;
    for file in [
        "admin.json",
        "audit.json",
        "errors.json",
        "system.json",
        "userservice.json",
        "validate.json",
    ] {
        let cases = load_golden_file(file).unwrap();
        assert!(!cases.is_empty(), "{file}");
        total += cases.len();
    }
    assert!(total > 150, "only {total} cases");
    let upload = load_golden_case("system.json", "setup.import_users").unwrap();
    assert_eq!(upload.uploads()[0].1.filename, "users.csv");
}
