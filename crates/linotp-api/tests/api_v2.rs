//! LinOTP's `/api/v2` listings: realms, resolvers and their users, tokens, the audit log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod system_common;

use std::path::PathBuf;
use std::sync::Arc;

use axum::http::Method;
use linotp_api::audit::{AuditWriter, AuditWriterOptions};
use linotp_api::http::HttpSettings;
use linotp_api::sysconfig::ConfigCache;
use linotp_api::{App, routes};
use linotp_crypto::{AuditSigner, AuditVerifier};
use serde_json::{Value, json};
use system_common::{Reply, Sys};

const RES1: &str = "useridresolver.SQLIdResolver.IdResolver.res1";

/// realm1 (res1: alice, carol, dave), realm2 (res2: bob), tokens A1, A2 (alice), C1
/// (carol), B1 (bob), N1 (nobody, no realm).
async fn populated() -> Sys {
    let sys = Sys::new();
    sys.import_users(
        "res1",
        "realm1",
        &[("alice", "u1"), ("carol", "u3"), ("dave", "u4")],
    );
    sys.import_users("res2", "realm2", &[("bob", "u2")]);
    for (serial, description, user, realm) in [
        ("A1", "alpha", "alice", "realm1"),
        ("A2", "beta", "alice", "realm1"),
        ("C1", "gamma", "carol", "realm1"),
        ("B1", "delta", "bob", "realm2"),
        ("N1", "epsilon", "", ""),
    ] {
        let mut params = vec![
            ("type", "hmac"),
            ("serial", serial),
            ("otpkey", "3132333435363738393031323334353637383930"),
            ("description", description),
        ];
        if !user.is_empty() {
            params.extend([("user", user), ("realm", realm)]);
        }
        let reply = sys.post("/admin/init", &params).await;
        assert_eq!(reply.value(), true, "{}", reply.text());
    }
    sys
}

async fn get_as(sys: &Sys, session: Option<&(String, String)>, path: &str) -> Reply {
    Sys::send_to(
        &sys.router,
        Method::GET,
        path,
        None,
        Vec::new(),
        session.map(|(cookie, csrf)| (cookie.as_str(), csrf.as_str())),
    )
    .await
}

/// Request parameters and the serials they select.
type Selection = (
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

/// `page`, `pageSize`, `totalPages` and `totalRecords` of a paged listing.
fn page_info(value: &Value) -> (&Value, &Value, &Value, &Value) {
    (
        &value["page"],
        &value["pageSize"],
        &value["totalPages"],
        &value["totalRecords"],
    )
}

fn serials(value: &Value) -> Vec<String> {
    value["pageRecords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|token| token["serial"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_listing_needs_an_admin_session_and_get() {
    let sys = populated().await;
    for path in [
        "/api/v2/realms/",
        "/api/v2/realms/realm1/users",
        "/api/v2/resolvers/",
        "/api/v2/resolvers/res1/users",
        "/api/v2/resolvers/res1/users/u1",
        "/api/v2/tokens/",
        "/api/v2/tokens/A1",
        "/api/v2/auditlog/",
    ] {
        let reply = get_as(&sys, None, path).await;
        assert_eq!(reply.status, 401, "{path}");
        assert_eq!(
            reply.error(),
            (-311, "Not authenticated".to_owned()),
            "{path}"
        );
        let posted = sys.post(path, &[]).await;
        assert_eq!(posted.status, 405, "{path}: GET only");
    }
    // Flask's bare form of a listing reaches the same listing.
    assert_eq!(
        sys.get("/api/v2/tokens", &[]).await.value()["totalRecords"],
        5
    );
}

#[tokio::test]
async fn realms_list_with_resolvers_default_and_admin_flags() {
    let sys = populated().await;
    let reply = sys.get("/api/v2/realms/", &[]).await;
    assert_eq!(reply.status, 200);
    let json = reply.json();
    assert_eq!(json["jsonrpc"], "2.0802");
    assert_eq!(json["id"], 1);
    let realms = json["result"]["value"].as_array().unwrap().clone();
    let names: Vec<&str> = realms.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["linotp_admins", "realm1", "realm2"]);
    assert_eq!(
        realms[1],
        json!({
            "name": "realm1",
            "entry": "linotp.useridresolver.group.realm1",
            "userIdResolvers": [RES1],
            "default": false,
            "admin": false,
        })
    );
    assert_eq!(realms[0]["admin"], true);

    // System read is needed once system policies exist.
    sys.set_policy("sysread", "system", "read, write", "*", "admin")
        .await;
    let writer = sys.admin_session("writer");
    sys.set_policy("syswrite", "system", "write", "*", "writer")
        .await;
    assert_eq!(
        sys.get("/api/v2/realms/", &[])
            .await
            .value()
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        get_as(&sys, Some(&writer), "/api/v2/realms/")
            .await
            .error_with_status(403),
        (
            410,
            "ERR410: Policy check failed. You are not allowed to read system config.".to_owned()
        )
    );
}

#[tokio::test]
async fn realm_users_stream_in_linotp_layout_with_search_and_paging() {
    let sys = populated().await;
    let reply = sys.get("/api/v2/realms/realm1/users", &[]).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply.text().contains("\"queried\" : 3 }"),
        "{}",
        reply.text()
    );
    let users = reply.value();
    let alice = users
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["username"] == "alice")
        .unwrap();
    assert_eq!(
        alice,
        &json!({
            "userId": "u1", "resolverClass": "sqlresolver", "resolverName": "res1",
            "username": "alice", "surname": "ALICE", "givenName": null,
            "email": "alice@example.test", "mobile": null, "phone": null,
        })
    );

    let searched = sys
        .get("/api/v2/realms/realm1/users", &[("username", "c*")])
        .await
        .value();
    assert_eq!(searched.as_array().unwrap().len(), 1);
    assert_eq!(searched[0]["username"], "carol");

    let second_page = sys
        .get("/api/v2/realms/realm1/users", &[("rp", "2"), ("page", "1")])
        .await;
    assert_eq!(second_page.value().as_array().unwrap().len(), 1);
    assert_eq!(second_page.json()["result"]["page"], 1);
    let first_page = sys
        .get("/api/v2/realms/realm1/users", &[("rp", "2")])
        .await
        .value();
    assert_eq!(first_page.as_array().unwrap().len(), 2);

    // An unknown realm has no users; a non-number page is LinOTP's ValueError, not a crash.
    let unknown = sys.get("/api/v2/realms/nosuchrealm/users", &[]).await;
    assert_eq!(unknown.value(), json!([]));
    assert_eq!(
        sys.get("/api/v2/realms/realm1/users", &[("page", "x")])
            .await
            .error_with_status(400),
        (
            -311,
            "invalid literal for int() with base 10: 'x'".to_owned()
        )
    );
}

#[tokio::test]
async fn resolvers_list_with_spec_flags_and_realms() {
    let sys = populated().await;
    let resolvers = sys.get("/api/v2/resolvers/", &[]).await.value();
    let res1 = resolvers
        .as_array()
        .unwrap()
        .iter()
        .find(|resolver| resolver["name"] == "res1")
        .unwrap();
    assert_eq!(
        res1,
        &json!({
            "name": "res1", "type": "sqlresolver", "spec": RES1,
            "readonly": true, "admin": false, "realms": ["realm1"],
        })
    );
    let admins = resolvers
        .as_array()
        .unwrap()
        .iter()
        .find(|resolver| resolver["name"] == "LinOTP_local_admins")
        .unwrap();
    assert_eq!(admins["admin"], true);
    assert_eq!(admins["realms"], json!(["linotp_admins"]));
}

#[tokio::test]
async fn resolver_users_sort_page_and_show_one_user() {
    let sys = populated().await;
    let all = sys.get("/api/v2/resolvers/res1/users", &[]).await.value();
    assert_eq!(
        page_info(&all),
        (&json!(0), &json!(3), &json!(1), &json!(3))
    );
    let names = |value: &Value| -> Vec<String> {
        value["pageRecords"]
            .as_array()
            .unwrap()
            .iter()
            .map(|user| user["username"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&all), ["alice", "carol", "dave"]);

    let page = sys
        .get(
            "/api/v2/resolvers/res1/users",
            &[
                ("sortBy", "userId"),
                ("sortOrder", "desc"),
                ("pageSize", "2"),
                ("page", "1"),
            ],
        )
        .await
        .value();
    assert_eq!(
        page_info(&page),
        (&json!(1), &json!(2), &json!(2), &json!(3))
    );
    assert_eq!(names(&page), ["alice"], "u4, u3 | u1");

    assert_eq!(
        sys.get("/api/v2/resolvers/res1/users", &[("sortBy", "shoeSize")])
            .await
            .error_with_status(400),
        (
            -311,
            "\"users can't be sorted by parameter shoeSize\"".to_owned()
        )
    );

    let carol = sys
        .get("/api/v2/resolvers/res1/users/u3", &[])
        .await
        .value();
    assert_eq!(carol["username"], "carol");
    assert_eq!(carol["userId"], "u3");
    assert_eq!(carol["resolverName"], "res1");

    assert_eq!(
        sys.get("/api/v2/resolvers/res1/users/nope", &[])
            .await
            .error_with_status(404),
        (
            -311,
            "Could not find a user with ID nope in resolver res1.".to_owned()
        )
    );
    for path in [
        "/api/v2/resolvers/nosuch/users",
        "/api/v2/resolvers/nosuch/users/u1",
    ] {
        let unknown = sys.get(path, &[]).await;
        assert_eq!(unknown.status, 404, "{path}");
        assert_eq!(
            unknown.error(),
            (
                -311,
                "Could not find a resolver with this name: nosuch".to_owned()
            )
        );
    }
}

#[tokio::test]
async fn realm_restricted_admin_sees_only_its_realms_users_and_tokens() {
    let sys = populated().await;
    sys.set_policy("helpdesk", "admin", "userlist, show", "realm1", "helper")
        .await;
    sys.set_policy("super", "admin", "*", "*", "admin").await;
    let helper = sys.admin_session("helper");

    let own = get_as(&sys, Some(&helper), "/api/v2/resolvers/res1/users").await;
    assert_eq!(own.value()["totalRecords"], 3);
    assert_eq!(
        get_as(&sys, Some(&helper), "/api/v2/resolvers/res2/users")
            .await
            .error_with_status(403),
        (
            410,
            "ERR410: Admin has no rights to list users in the requested resolver.".to_owned()
        )
    );
    assert_eq!(
        get_as(&sys, Some(&helper), "/api/v2/resolvers/res2/users/u2")
            .await
            .status,
        403
    );
    let realm_users = get_as(&sys, Some(&helper), "/api/v2/realms/realm2/users").await;
    assert_eq!(realm_users.status, 403);
    assert_eq!(
        realm_users.error().1,
        "ERR410: Admin has no rights to list users in the requested realm."
    );
    assert_eq!(
        get_as(&sys, Some(&helper), "/api/v2/realms/realm1/users")
            .await
            .value()
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let tokens = get_as(&sys, Some(&helper), "/api/v2/tokens/").await.value();
    assert_eq!(serials(&tokens), ["A1", "A2", "C1"]);
    let outside = get_as(&sys, Some(&helper), "/api/v2/tokens/?realm=realm2").await;
    assert_eq!(outside.status, 403);
    assert_eq!(
        outside.error().1,
        "ERR410: You dont have permissions on any of your requested realms."
    );
    // A token outside the admin's realms reads as an empty object, as in LinOTP.
    assert_eq!(
        get_as(&sys, Some(&helper), "/api/v2/tokens/B1")
            .await
            .value(),
        json!({})
    );
    assert_eq!(
        get_as(&sys, Some(&helper), "/api/v2/tokens/A1")
            .await
            .value()["serial"],
        "A1"
    );
    // The unrestricted admin sees everything.
    assert_eq!(
        sys.get("/api/v2/tokens/", &[]).await.value()["totalRecords"],
        5
    );

    // An admin without any admin policy has no rights at all once policies exist.
    let nobody = sys.admin_session("nobody");
    let refused = get_as(&sys, Some(&nobody), "/api/v2/tokens/").await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.error().1,
        "ERR410: You do not have any rights in any realm! Check the policies."
    );
}

#[tokio::test]
async fn token_listing_pages_sorts_and_filters() {
    let sys = populated().await;
    let all = sys.get("/api/v2/tokens/", &[]).await.value();
    assert_eq!(
        page_info(&all),
        (&json!(0), &json!(50), &json!(1), &json!(5))
    );
    assert_eq!(
        serials(&all),
        ["A1", "A2", "B1", "C1", "N1"],
        "serial order"
    );

    let page = sys
        .get(
            "/api/v2/tokens/",
            &[
                ("pageSize", "2"),
                ("page", "1"),
                ("sortBy", "description"),
                ("sortOrder", "desc"),
            ],
        )
        .await
        .value();
    assert_eq!(
        page_info(&page),
        (&json!(1), &json!(2), &json!(3), &json!(5))
    );
    // epsilon, gamma | delta, beta | alpha
    assert_eq!(serials(&page), ["B1", "A2"]);
    let everything = sys
        .get("/api/v2/tokens/", &[("pageSize", "0")])
        .await
        .value();
    assert_eq!(
        (
            &everything["page"],
            &everything["pageSize"],
            &everything["totalPages"]
        ),
        (&json!(0), &json!(5), &json!(1))
    );

    let cases: [Selection; 9] = [
        (&[("username", "alice")], &["A1", "A2"]),
        (&[("username", "*o*")], &["B1", "C1"]),
        (&[("username", "/:no user:/")], &["N1"]),
        (&[("realm", "realm2")], &["B1"]),
        (&[("realm", "realm*")], &["A1", "A2", "B1", "C1"]),
        (&[("realm", "nosuchrealm")], &[]),
        (&[("searchTerm", "amm")], &["C1"]),
        (&[("userId", "u1"), ("resolverName", "res1")], &["A1", "A2"]),
        (&[("username", "alice"), ("userId", "u3")], &[]),
    ];
    for (params, expected) in cases {
        let value = sys.get("/api/v2/tokens/", params).await.value();
        assert_eq!(serials(&value), expected, "{params:?}");
    }

    assert_eq!(
        sys.get("/api/v2/tokens/", &[("sortBy", "colour")])
            .await
            .error_with_status(400),
        (-311, "\"Tokens can't be sorted by colour.\"".to_owned())
    );
    // A near miss gets LinOTP's suggestions, as /admin/show gives them.
    assert_eq!(
        sys.get("/api/v2/tokens/", &[("sortBy", "serail")])
            .await
            .error_with_status(400),
        (
            -311,
            "\"Tokens can't be sorted by serail. Did you mean any of ['serial']?\"".to_owned()
        )
    );
    let bad_page = sys.get("/api/v2/tokens/", &[("pageSize", "many")]).await;
    assert_eq!(bad_page.status, 400);
    assert_eq!(bad_page.error().0, -311);
}

#[tokio::test]
async fn one_token_in_linotps_token_shape() {
    let sys = populated().await;
    let token = sys.get("/api/v2/tokens/A1", &[]).await.value();
    let created = token["creationDate"].as_str().unwrap().to_owned();
    assert!(
        created.ends_with("+00:00") && created.len() == 25,
        "{created}"
    );
    assert_eq!(
        token,
        json!({
            "id": token["id"],
            "description": "alpha",
            "serial": "A1",
            "type": "hmac",
            "creationDate": created,
            "isActive": true,
            "realms": ["realm1"],
            "tokenConfiguration": {
                "hashLib": "sha1", "timeWindow": null, "timeShift": null, "timeStep": null,
                "countWindow": 10, "syncWindow": 1000, "otpLength": 6, "otpCounter": 0
            },
            "userInfo": {
                "userId": "u1", "username": "alice", "userDescription": "",
                "idResolverInfo": {"resolverName": "res1", "resolverClass": "SQLIdResolver"}
            },
            "usageData": {
                "loginAttempts": null, "maxLoginAttempts": null,
                "successfulLoginAttempts": null, "maxSuccessfulLoginAttempts": null,
                "lastSuccessfulLoginAttempt": null, "failedLoginAttempts": 0,
                "maxFailedLoginAttempts": 10, "lastAuthenticationMatch": null
            },
            "validityPeriod": {"validityStart": null, "validityEnd": null}
        })
    );
    let unassigned = sys.get("/api/v2/tokens/N1", &[]).await.value();
    assert_eq!(unassigned["userInfo"], Value::Null);
    assert_eq!(unassigned["realms"], json!([]));
    assert_eq!(
        sys.get("/api/v2/tokens/NOSUCH", &[]).await.value(),
        json!({})
    );
}

#[tokio::test]
async fn every_request_writes_one_audit_event_named_by_its_path() {
    let mut sys = populated().await;
    sys.audit_events();
    sys.get("/api/v2/tokens/A1", &[]).await.value();
    let events = sys.audit_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, "api/v2/tokens/A1");
    assert!(events[0].success);
    assert_eq!(events[0].info, "realm: ['*']");
    assert_eq!(
        events[0].administrator,
        "admin@linotp_admins (LinOTP_local_admins)"
    );
}

fn fixture_dir() -> PathBuf {
    std::env::var_os("LINOTP_FIXTURE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/fixtures/linotp-sqlite"))
}

#[tokio::test]
async fn auditlog_pages_filters_and_checks_signatures() {
    let sys = Sys::new();
    let dir = fixture_dir();
    let signer = Arc::new(AuditSigner::from_file(&dir.join("audit-private.pem")).unwrap());
    let verifier = AuditVerifier::from_file(&dir.join("audit-public.pem")).unwrap();
    let writer = AuditWriter::start(
        sys.state.store.clone(),
        signer,
        verifier,
        AuditWriterOptions {
            server_name: "node-a".to_owned(),
            background_signing: false,
            ..AuditWriterOptions::default()
        },
    )
    .unwrap();
    let state = Arc::new(App {
        store: sys.state.store.clone(),
        security: sys.state.security.clone(),
        config: ConfigCache::new(),
        audit: writer.log(),
        auth: sys.state.auth.clone(),
        clock: sys.state.clock.clone(),
        options: sys.state.options.clone(),
    });
    let router = routes::router(&state, HttpSettings::default());
    let session = (sys.cookie.clone(), sys.csrf.clone());
    let get = |path: String| {
        let router = router.clone();
        let session = session.clone();
        async move {
            Sys::send_to(
                &router,
                Method::GET,
                &path,
                None,
                Vec::new(),
                Some((&session.0, &session.1)),
            )
            .await
        }
    };
    // Four requests, four rows: three token listings and one refused single user.
    for _ in 0..3 {
        get("/api/v2/tokens/".to_owned()).await.value();
    }
    assert_eq!(
        get("/api/v2/resolvers/no/users/x".to_owned()).await.status,
        404
    );

    let newest = get("/api/v2/auditlog/?pageSize=2".to_owned()).await.value();
    assert_eq!(
        page_info(&newest),
        (&json!(0), &json!(2), &json!(2), &json!(4)),
        "the auditlog request itself is logged after its answer"
    );
    let first = &newest["pageRecords"][0];
    assert_eq!(first["action"], "api/v2/resolvers/no/users/x");
    assert_eq!(first["success"], false);
    assert_eq!(first["signatureCheck"], true);
    assert_eq!(
        first["administrator"],
        "'admin@linotp_admins (LinOTP_local_admins)'"
    );
    assert_eq!(first["serial"], Value::Null);
    assert_eq!(first["linotpServer"], "node-a");
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "timestamp",
            "serial",
            "action",
            "actionDetail",
            "success",
            "tokenType",
            "user",
            "realm",
            "administrator",
            "info",
            "linotpServer",
            "client",
            "logLevel",
            "clearanceLevel",
            "signatureCheck"
        ]
    );

    let oldest = get("/api/v2/auditlog/?sortOrder=asc&action=api/v2/tok*".to_owned())
        .await
        .value();
    assert_eq!(oldest["totalRecords"], 3);
    let ids: Vec<i64> = oldest["pageRecords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
    let failed = get("/api/v2/auditlog/?success=false".to_owned())
        .await
        .value();
    assert_eq!(failed["totalRecords"], 1);

    sys.set_policy("auditors", "audit", "view", "*", "auditor")
        .await;
    let refused = get("/api/v2/auditlog/".to_owned()).await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.error().1,
        "ERR410: You do not have the administrative right to view the audit trail. You are \
         missing a policy scope=audit, action=view"
    );
    writer.shutdown(std::time::Duration::ZERO).await;
}
