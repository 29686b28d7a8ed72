//! Forwarding to RADIUS against a real FreeRADIUS that insists on Message-Authenticator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use linotp_crypto::{DefaultSecurityModule, EncKey, SecurityModule};
use linotp_providers::ProviderError;
use linotp_providers::remote::{RemoteCheck, RemoteServer, RemoteSettings, check_first_answering};
use linotp_providers::testing::{FreeRadius, SECRET};

const USERS: &str = "alice Cleartext-Password := \"alice-remote-123456\"\n\
                     \x20     Reply-Message = \"welcome alice\"\n\
                     bob   Cleartext-Password := \"bob-remote-654321\"\n";

fn security() -> DefaultSecurityModule {
    DefaultSecurityModule::new(EncKey::generate().unwrap())
}

fn quick() -> RemoteSettings {
    RemoteSettings {
        timeout: Duration::from_millis(300),
        radius_attempts: 2,
        ..RemoteSettings::default()
    }
}

fn check<'a>(login: &'a str, password: &'a str) -> RemoteCheck<'a> {
    RemoteCheck {
        login,
        realm: Some("myrealm"),
        password,
        options: &[],
    }
}

#[tokio::test]
async fn freeradius_accepts_the_right_password_and_rejects_others() {
    let radius = FreeRadius::start(USERS);
    let security = security();
    let server = RemoteServer::parse(&radius.url(), &security).unwrap();
    let settings = RemoteSettings::default();

    let accepted = server
        .check(&check("alice", "alice-remote-123456"), &settings)
        .await;
    assert!(accepted.unwrap().accepted, "{}", radius.log());
    let wrong = server
        .check(&check("alice", "alice-remote-000000"), &settings)
        .await;
    assert!(!wrong.unwrap().accepted);
    let unknown = server.check(&check("mallory", "anything"), &settings).await;
    assert!(!unknown.unwrap().accepted);
    // Long passwords span several 16-octet blocks of the hidden User-Password.
    let long = "bob-remote-654321";
    assert!(
        server
            .check(&check("bob", long), &settings)
            .await
            .unwrap()
            .accepted
    );
}

#[tokio::test]
async fn the_secret_stored_encrypted_in_the_policy_is_decrypted() {
    let radius = FreeRadius::start(USERS);
    let security = security();
    let encrypted = security.encrypt_pin(SECRET.as_bytes(), None).unwrap();
    let url = format!("radius://127.0.0.1:{}/?encsecret={encrypted}", radius.port);
    let server = RemoteServer::parse(&url, &security).unwrap();
    let answer = server
        .check(
            &check("alice", "alice-remote-123456"),
            &RemoteSettings::default(),
        )
        .await;
    assert!(answer.unwrap().accepted);
    // Another installation's encKey cannot read it.
    let foreign = RemoteServer::parse(
        &url,
        &DefaultSecurityModule::new(EncKey::generate().unwrap()),
    );
    assert!(
        matches!(foreign, Err(ProviderError::Secret { .. })),
        "{foreign:?}"
    );
}

#[tokio::test]
async fn a_wrong_shared_secret_gets_no_answer_and_counts_as_unreachable() {
    let radius = FreeRadius::start(USERS);
    let url = format!("radius://127.0.0.1:{}/?secret=not-the-secret", radius.port);
    let server = RemoteServer::parse(&url, &security()).unwrap();
    // FreeRADIUS drops a request whose Message-Authenticator does not verify.
    let answer = server
        .check(&check("alice", "alice-remote-123456"), &quick())
        .await;
    assert!(
        matches!(answer, Err(ProviderError::Unreachable { .. })),
        "{answer:?}"
    );
}

#[tokio::test]
async fn an_unreachable_server_gives_way_to_the_next_one() {
    let radius = FreeRadius::start(USERS);
    let security = security();
    // Nothing listens there: the kernel answers "port unreachable".
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let servers = RemoteServer::parse_list(
        &format!(
            "radius://127.0.0.1:{closed_port}/?secret={SECRET} {}",
            radius.url()
        ),
        &security,
    )
    .unwrap();
    assert_eq!(servers.len(), 2);
    // The log line names the server, never the secret.
    assert!(!servers[1].to_string().contains(SECRET));
    let answer = check_first_answering(&servers, &check("alice", "alice-remote-123456"), &quick())
        .await
        .unwrap();
    assert!(answer.accepted);
    let alone = check_first_answering(&servers[..1], &check("alice", "x"), &quick()).await;
    assert!(
        matches!(alone, Err(ProviderError::Unreachable { .. })),
        "{alone:?}"
    );
}

#[test]
fn server_definitions_without_secret_or_with_unknown_schemes_are_refused() {
    let security = security();
    for bad in ["radius://127.0.0.1:1812/", "ldap://127.0.0.1/", "no-scheme"] {
        let parsed = RemoteServer::parse(bad, &security);
        assert!(
            matches!(parsed, Err(ProviderError::Definition(_))),
            "{bad}: {parsed:?}"
        );
    }
}
