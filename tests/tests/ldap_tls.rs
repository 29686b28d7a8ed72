//! LDAP over TLS as an operator sets it up: the server's `TLS_CA_CERTIFICATES_FILE` names the
//! CA bundle that `ldaps://` resolvers without a `CACERTIFICATE` of their own trust.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use linotp_resolvers::testing::Slapd;
use linotp_tests::{Client, DataDir, ServerProcess};

const ADMIN_PASSWORD: &str = "Test123!";

/// Defines resolver `tlsldap` on `directory` at `uri` (no `CACERTIFICATE`) and realm
/// `tlsrealm` with it.
async fn define_ldaps_realm(admin: &Client, directory: &Slapd, uri: &str) {
    let mut params = directory.resolver_params();
    params.retain(|(name, _)| *name != "LDAPURI");
    params.extend([
        ("LDAPURI", uri.to_owned()),
        ("SIZELIMIT", "500".to_owned()),
        ("NOREFERRALS", "True".to_owned()),
    ]);
    let mut fields = vec![("name", "tlsldap"), ("type", "ldapresolver")];
    fields.extend(params.iter().map(|(name, value)| (*name, value.as_str())));
    assert_eq!(admin.call("/system/setResolver", &fields).await, true);
    admin
        .set_realm(
            "tlsrealm",
            "useridresolver.LDAPIdResolver.IdResolver.tlsldap",
        )
        .await;
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
    define_ldaps_realm(&admin, &directory, &ldaps).await;

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
    define_ldaps_realm(&admin, &directory, &ldaps).await;

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
