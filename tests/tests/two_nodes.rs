//! Two `linotp-server` processes on one database, as two nodes behind a load balancer: a
//! change made through one node is what the other node's very next request sees (the
//! `linotp.Config` change stamp in the database), with no sleep and no retry. Once on a
//! shared SQLite file and, when `LINOTP_TEST_POSTGRES_URI` names a server, on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use linotp_core::{HashAlgorithm, hotp};
use linotp_store::testing::TestDb;
use linotp_tests::{Client, DataDir, ServerProcess, value_of};
use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "Two-Nodes-1";
const HOTP_KEY: &[u8] = b"12345678901234567890";
const HOTP_KEY_HEX: &str = "3132333435363738393031323334353637383930";

async fn get_config(admin: &Client, key: &str) -> Value {
    let reply = admin.call("/system/getConfig", &[("key", key)]).await;
    reply[format!("getConfig {key}")].clone()
}

async fn check(node: &ServerProcess, user: &str, pass: &str) -> bool {
    node.client().check(&[("user", user), ("pass", pass)]).await
}

fn otp(counter: u64) -> String {
    hotp(HOTP_KEY, counter, 6, HashAlgorithm::Sha1).unwrap()
}

/// Starts node A (which initialises the database) and then node B on the same data
/// directory (same `encKey`, audit keys and database), each on its own port.
async fn two_nodes(data: &DataDir, env: &[(&str, &str)]) -> (ServerProcess, ServerProcess) {
    let mut env = env.to_vec();
    env.push(("LINOTP_ADMIN_PASSWORD", ADMIN_PASSWORD));
    let node_a = ServerProcess::start(data, &env)
        .await
        .unwrap_or_else(|failure| panic!("node A: {failure}"));
    let node_b = ServerProcess::start(data, &env)
        .await
        .unwrap_or_else(|failure| panic!("node B: {failure}"));
    assert_ne!(node_a.address(), node_b.address());
    (node_a, node_b)
}

async fn every_node_sees_a_change_at_once(node_a: &ServerProcess, node_b: &ServerProcess) {
    let admin_a = node_a.client().login("admin", ADMIN_PASSWORD).await;
    let admin_b = node_b.client().login("admin", ADMIN_PASSWORD).await;
    // The session of one node is good on the other (the JWT key comes from the shared encKey).
    let a_session_on_b = node_b.client().with_session(admin_a.session.clone());
    assert_eq!(get_config(&a_session_on_b, "e2e.unset").await, Value::Null);

    // Config: set, change and delete on A; B's next request sees each state.
    assert_eq!(get_config(&admin_b, "e2e.greeting").await, Value::Null);
    for greeting in ["hello", "hello again"] {
        let set = admin_a
            .call(
                "/system/setConfig",
                &[("key", "e2e.greeting"), ("value", greeting)],
            )
            .await;
        assert_eq!(set, json!({"setConfig e2e.greeting": true}));
        assert_eq!(get_config(&admin_b, "e2e.greeting").await, greeting);
    }
    let all_on_b = admin_b.call("/system/getConfig", &[]).await;
    assert_eq!(all_on_b["e2e.greeting"], "hello again", "{all_on_b}");
    let deleted = admin_a
        .call("/system/delConfig", &[("key", "e2e.greeting")])
        .await;
    assert_eq!(deleted, json!({"delConfig e2e.greeting": true}));
    assert_eq!(get_config(&admin_b, "e2e.greeting").await, Value::Null);
    let all_on_b = admin_b.call("/system/getConfig", &[]).await;
    assert!(all_on_b.get("e2e.greeting").is_none(), "{all_on_b}");

    // A password-typed value is stored encrypted: B never shows it in clear either.
    let secret = "Clear-Secret-4711";
    admin_a
        .call(
            "/system/setConfig",
            &[
                ("key", "e2e.secret"),
                ("value", secret),
                ("type", "password"),
            ],
        )
        .await;
    for reply in [
        admin_b
            .admin("/system/getConfig", &[("key", "e2e.secret")])
            .await,
        admin_b.admin("/system/getConfig", &[]).await,
    ] {
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(
            !reply.body.contains(secret),
            "secret in clear: {}",
            reply.body
        );
    }

    // A realm defined on A resolves its users on B.
    let imported = admin_a
        .upload(
            "/tools/import_users",
            &[
                ("resolver", "shared"),
                ("skip_header", "true"),
                ("passwords_in_plaintext", "true"),
            ],
            &[(
                "file",
                "users.csv",
                "username,userid,surname,givenname,email,phone,mobile,password\n\
                 nora,n1,North,Nora,nora@example.test,,,Nora-Pw1\n",
            )],
        )
        .await;
    value_of(&imported, "/tools/import_users");
    let realm = admin_a
        .call(
            "/system/setRealm",
            &[
                ("realm", "sharedrealm"),
                (
                    "resolvers",
                    "useridresolver.SQLIdResolver.IdResolver.shared",
                ),
            ],
        )
        .await;
    assert_eq!(realm, true);
    let realms_on_b = admin_b.call("/system/getRealms", &[]).await;
    assert!(realms_on_b.get("sharedrealm").is_some(), "{realms_on_b}");
    let users_on_b = admin_b
        .call(
            "/admin/userlist",
            &[("realm", "sharedrealm"), ("username", "*")],
        )
        .await;
    assert_eq!(users_on_b[0]["username"], "nora", "{users_on_b}");
    assert_eq!(users_on_b[0]["email"], "nora@example.test");

    // A token enrolled on A authenticates on B, and A's authentication policy governs B's
    // very next check.
    let enrolled = admin_a
        .call(
            "/admin/init",
            &[
                ("type", "hmac"),
                ("serial", "NODE-HOTP"),
                ("otpkey", HOTP_KEY_HEX),
                ("pin", "token-pin"),
                ("user", "nora@sharedrealm"),
            ],
        )
        .await;
    assert_eq!(enrolled, true);
    assert!(check(node_b, "nora@sharedrealm", &format!("token-pin{}", otp(0))).await);
    assert!(
        !check(node_a, "nora@sharedrealm", &format!("token-pin{}", otp(0))).await,
        "B's success moved the counter A checks against"
    );
    admin_a
        .call(
            "/system/setPolicy",
            &[
                ("name", "otppin_shared"),
                ("scope", "authentication"),
                ("action", "otppin=1"),
                ("realm", "sharedrealm"),
                ("user", "*"),
                ("client", "*"),
            ],
        )
        .await;
    assert!(
        !check(node_b, "nora@sharedrealm", &format!("token-pin{}", otp(1))).await,
        "otppin=1 set on A: B refuses the token PIN"
    );
    assert!(
        check(node_b, "nora@sharedrealm", &format!("Nora-Pw1{}", otp(2))).await,
        "otppin=1 set on A: B takes the user's password"
    );
    admin_a
        .call("/system/delPolicy", &[("name", "otppin_shared")])
        .await;
    assert!(
        check(node_b, "nora@sharedrealm", &format!("token-pin{}", otp(3))).await,
        "the policy deleted on A is gone on B"
    );

    // An admin policy set on A restricts the same administrator on B at once.
    admin_a
        .call(
            "/system/setPolicy",
            &[
                ("name", "admin_show_only"),
                ("scope", "admin"),
                ("action", "show"),
                ("realm", "*"),
                ("user", "admin"),
                ("client", "*"),
            ],
        )
        .await;
    let enrol = [
        ("type", "hmac"),
        ("serial", "NODE-HOTP2"),
        ("otpkey", HOTP_KEY_HEX),
        ("pin", "x"),
    ];
    let refused = admin_b.admin("/admin/init", &enrol).await;
    let refusal = refused.json();
    assert_eq!(refusal["result"]["status"], false, "{}", refused.body);
    assert_eq!(refusal["result"]["error"]["code"], 410, "{}", refused.body);
    let shown = admin_b.call("/admin/show", &[]).await;
    assert_eq!(
        shown["resultset"]["tokens"], 1,
        "show is still allowed: {shown}"
    );
    admin_a
        .call("/system/delPolicy", &[("name", "admin_show_only")])
        .await;
    assert_eq!(
        admin_b.call("/admin/init", &enrol).await,
        true,
        "the admin policy deleted on A is gone on B"
    );
}

#[tokio::test]
async fn two_nodes_on_one_sqlite_file_see_each_others_changes_at_once() {
    let data = DataDir::new();
    let (node_a, node_b) = two_nodes(&data, &[]).await;
    every_node_sees_a_change_at_once(&node_a, &node_b).await;
    assert!(node_b.stop().await.success());
    assert!(node_a.stop().await.success());
}

#[tokio::test]
async fn two_nodes_on_one_postgresql_database_see_each_others_changes_at_once() {
    let Some(database) = TestDb::postgres() else {
        return;
    };
    let uri = database.uri_string();
    let data = DataDir::new();
    let (node_a, node_b) = two_nodes(&data, &[("LINOTP_DATABASE_URI", uri.as_str())]).await;
    every_node_sees_a_change_at_once(&node_a, &node_b).await;
    assert!(
        !data.file("linotp.db").exists(),
        "the nodes use PostgreSQL, not a SQLite file of their own"
    );
    assert!(node_b.stop().await.success());
    assert!(node_a.stop().await.success());
    drop(database);
}
