//! LDAP over TLS as an operator sets it up: the server's `TLS_CA_CERTIFICATES_FILE` names the
//! CA bundle that `ldaps://` resolvers without a `CACERTIFICATE` of their own trust.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use linotp_resolvers::testing::{SERVICE_DN, SERVICE_PW, Slapd};
use linotp_tests::{Client, DataDir, ServerProcess};

const ADMIN_PASSWORD: &str = "Test123!";

/// Defines resolver `tlsldap` on `uri` (no `CACERTIFICATE`) and realm `tlsrealm` with it.
async fn define_ldaps_realm(admin: &Client, uri: &str) {
    let reply = admin
        .admin(
            "/system/setResolver",
            &[
                ("name", "tlsldap"),
                ("type", "ldapresolver"),
                ("LDAPURI", uri),
                ("LDAPBASE", "dc=example,dc=test"),
                ("BINDDN", SERVICE_DN),
                ("BINDPW", SERVICE_PW),
                ("LOGINNAMEATTRIBUTE", "uid"),
                ("LDAPSEARCHFILTER", "(uid=*)(objectClass=inetOrgPerson)"),
                ("LDAPFILTER", "(&(uid=%s)(objectClass=inetOrgPerson))"),
                (
                    "USERINFO",
                    r#"{"username": "uid", "surname": "sn", "givenname": "givenName"}"#,
                ),
                ("TIMEOUT", "5"),
                ("SIZELIMIT", "500"),
                ("NOREFERRALS", "True"),
            ],
        )
        .await;
    assert_eq!(reply.json()["result"]["value"], true, "{}", reply.body);
    let reply = admin
        .admin(
            "/system/setRealm",
            &[
                ("realm", "tlsrealm"),
                (
                    "resolvers",
                    "useridresolver.LDAPIdResolver.IdResolver.tlsldap",
                ),
            ],
        )
        .await;
    assert_eq!(reply.json()["result"]["value"], true, "{}", reply.body);
}

async fn userlist(admin: &Client) -> serde_json::Value {
    let reply = admin
        .admin(
            "/admin/userlist",
            &[("realm", "tlsrealm"), ("username", "*")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

#[tokio::test]
async fn ldaps_resolvers_trust_the_servers_ca_bundle() {
    let directory = Slapd::start_tls();
    let ca_file = directory.tls.as_ref().unwrap().ca.display().to_string();
    let ldaps = format!("ldaps://127.0.0.1:{}", directory.ldaps_port.unwrap());

    let data = DataDir::new();
    let server = ServerProcess::start(
        &data,
        &[
            ("LINOTP_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("LINOTP_TLS_CA_CERTIFICATES_FILE", &ca_file),
        ],
    )
    .await
    .unwrap();
    let admin = server.client().login("admin", ADMIN_PASSWORD).await;
    define_ldaps_realm(&admin, &ldaps).await;

    let listed = userlist(&admin).await;
    assert_eq!(listed["result"]["status"], true, "{listed}");
    let names: Vec<&str> = listed["result"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|user| user["username"].as_str())
        .collect();
    assert_eq!(names.len(), 3, "{listed}");
    for uid in ["alice", "bob", "carol"] {
        assert!(names.contains(&uid), "{uid} missing from {listed}");
    }
    assert!(server.stop().await.success());
}

#[tokio::test]
async fn without_the_ca_in_the_bundle_the_directory_is_not_trusted() {
    let directory = Slapd::start_tls();
    let ldaps = format!("ldaps://127.0.0.1:{}", directory.ldaps_port.unwrap());
    // A bundle that exists but holds another CA than the directory's.
    let other = Slapd::start_tls();
    let other_ca = other.tls.as_ref().unwrap().ca.display().to_string();

    let data = DataDir::new();
    let server = ServerProcess::start(
        &data,
        &[
            ("LINOTP_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("LINOTP_TLS_CA_CERTIFICATES_FILE", &other_ca),
        ],
    )
    .await
    .unwrap();
    let admin = server.client().login("admin", ADMIN_PASSWORD).await;
    define_ldaps_realm(&admin, &ldaps).await;

    // As in LinOTP, a resolver that fails is left out of the user list...
    let listed = userlist(&admin).await;
    assert_eq!(listed["result"]["status"], true, "{listed}");
    assert_eq!(listed["result"]["value"], serde_json::json!([]), "{listed}");
    // ...and the resolver test says why.
    let tested = admin
        .admin("/admin/testresolver", &[("name", "tlsldap")])
        .await
        .json();
    assert_eq!(tested["result"]["status"], true, "{tested}");
    assert_ne!(tested["result"]["value"]["result"], "success", "{tested}");
    // Nobody of that realm authenticates against an untrusted directory.
    let reply = server
        .client()
        .validate(
            "/validate/check",
            &[("user", "alice@tlsrealm"), ("pass", "Alice-Pw1123456")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_ne!(reply.json()["result"]["value"], true, "{}", reply.body);
    assert!(server.stop().await.success());
}
