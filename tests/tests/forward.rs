//! `authentication/forward_server`: a user's authentication is decided by another server —
//! another LinOTP over HTTP (a second real `linotp-server`) or a RADIUS server (a real
//! FreeRADIUS) — and with `forward_on_no_token` only for users without tokens of their own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use linotp_core::{HashAlgorithm, hotp};
use linotp_providers::testing::{FreeRadius, SECRET};
use linotp_tests::{Client, DataDir, ServerProcess};

const ADMIN_PASSWORD: &str = "Forward-Admin-1";
const HOTP_KEY: &[u8] = b"12345678901234567890";
const HOTP_KEY_HEX: &str = "3132333435363738393031323334353637383930";

fn otp(counter: u64) -> String {
    hotp(HOTP_KEY, counter, 6, HashAlgorithm::Sha1).unwrap()
}

async fn start_server(data: &DataDir) -> (ServerProcess, Client) {
    let server = ServerProcess::start(data, &[("LINOTP_ADMIN_PASSWORD", ADMIN_PASSWORD)])
        .await
        .unwrap();
    let admin = server.client().login("admin", ADMIN_PASSWORD).await;
    (server, admin)
}

/// Imports `csv` (`username,userid,surname,givenname,email,phone,mobile,password`) as
/// resolver `people` and makes realm `realm` of it.
async fn realm_of_imported_users(admin: &Client, realm: &str, csv: &str) {
    let csv = format!("username,userid,surname,givenname,email,phone,mobile,password\n{csv}");
    admin.import_users("people", &csv).await;
    admin
        .set_realm(realm, "useridresolver.SQLIdResolver.IdResolver.people")
        .await;
}

async fn enroll_hotp(admin: &Client, serial: &str, user: &str, pin: &str) {
    let enrolled = admin
        .call(
            "/admin/init",
            &[
                ("type", "hmac"),
                ("serial", serial),
                ("otpkey", HOTP_KEY_HEX),
                ("pin", pin),
                ("user", user),
            ],
        )
        .await;
    assert_eq!(enrolled, true, "{serial}");
}

#[tokio::test]
async fn another_linotp_decides_for_forwarded_users() {
    // The remote LinOTP: alice has an HOTP token there.
    let remote_data = DataDir::new();
    let (remote, remote_admin) = start_server(&remote_data).await;
    realm_of_imported_users(
        &remote_admin,
        "corp",
        "alice,a1,Anders,Alice,,,,Remote-Pw1\n",
    )
    .await;
    enroll_hotp(&remote_admin, "REMOTE1", "alice@corp", "remote-pin").await;

    // The front LinOTP knows alice too, but has no token for her: it forwards.
    let front_data = DataDir::new();
    let (front, admin) = start_server(&front_data).await;
    realm_of_imported_users(
        &admin,
        "corp",
        "alice,a1,Anders,Alice,,,,Front-Pw1\nbob,b1,Berger,Bob,,,,Front-Pw2\n",
    )
    .await;
    let url = format!("http://{}/validate/check", remote.address());
    admin
        .set_policy(&[
            ("name", "to_remote"),
            ("scope", "authentication"),
            ("action", &format!("forward_server={url}")),
            ("realm", "corp"),
            ("user", "alice"),
            ("client", "*"),
        ])
        .await;
    let client = front.client();

    let first = format!("remote-pin{}", otp(0));
    assert!(
        client
            .check(&[("user", "alice@corp"), ("pass", &first)])
            .await
    );
    // The remote server's counter moved: a replay is refused there, and so here.
    assert!(
        !client
            .check(&[("user", "alice@corp"), ("pass", &first)])
            .await
    );
    let wrong_pin = format!("front-pin{}", otp(1));
    assert!(
        !client
            .check(&[("user", "alice@corp"), ("pass", &wrong_pin)])
            .await
    );
    let second = format!("remote-pin{}", otp(2));
    assert!(
        client
            .check(&[("user", "alice@corp"), ("pass", &second)])
            .await
    );
    // bob is not named by the policy: no token here, no forwarding, no entry.
    assert!(
        !client
            .check(&[
                ("user", "bob@corp"),
                ("pass", &format!("remote-pin{}", otp(3)))
            ])
            .await
    );

    // The remote server went away: refused, answered at once, never an error.
    assert!(remote.stop().await.success());
    let third = format!("remote-pin{}", otp(3));
    assert!(
        !client
            .check(&[("user", "alice@corp"), ("pass", &third)])
            .await
    );
    assert!(front.stop().await.success());
}

#[tokio::test]
async fn radius_decides_for_users_without_tokens_under_forward_on_no_token() {
    let radius = FreeRadius::start(
        "carol Cleartext-Password := \"carol-radius-1\"\n\
         dave  Cleartext-Password := \"dave-radius-2\"\n",
    );
    let data = DataDir::new();
    let (server, admin) = start_server(&data).await;
    realm_of_imported_users(
        &admin,
        "radiusrealm",
        "carol,c1,Clark,Carol,,,,Carol-Pw\ndave,d1,Dorn,Dave,,,,Dave-Pw\n",
    )
    .await;
    // dave has a token of his own; carol has none.
    enroll_hotp(&admin, "DAVE1", "dave@radiusrealm", "dave-pin").await;
    admin
        .set_policy(&[
            ("name", "radius_for_tokenless"),
            ("scope", "authentication"),
            (
                "action",
                &format!("forward_server={}, forward_on_no_token=True", radius.url()),
            ),
            ("realm", "radiusrealm"),
            ("user", "*"),
            ("client", "*"),
        ])
        .await;
    // The shared secret is stored encrypted (as LinOTP's `encsecret`), never shown in clear.
    let policies = admin.call("/system/getPolicy", &[]).await;
    let shown = policies["radius_for_tokenless"]["action"].as_str().unwrap();
    assert!(shown.contains("encsecret="), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
    let client = server.client();

    assert!(
        client
            .check(&[("user", "carol@radiusrealm"), ("pass", "carol-radius-1")])
            .await,
        "{}",
        radius.log()
    );
    assert!(
        !client
            .check(&[("user", "carol@radiusrealm"), ("pass", "carol-radius-0")])
            .await
    );
    // dave has a token: checked here, the RADIUS password is no use.
    assert!(
        !client
            .check(&[("user", "dave@radiusrealm"), ("pass", "dave-radius-2")])
            .await
    );
    let with_token = format!("dave-pin{}", otp(0));
    assert!(
        client
            .check(&[("user", "dave@radiusrealm"), ("pass", &with_token)])
            .await
    );
    assert!(
        !radius.log().contains("User-Name = \"dave\""),
        "dave was forwarded"
    );
    assert!(server.stop().await.success());
}
