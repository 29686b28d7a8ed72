//! Realms over the real `linotp-server`: an LDAP realm (a real slapd), an SQL realm (an SQLite
//! user table of the operator's) and an imported-users realm (`/tools/import_users`) each
//! authenticate `user@realm` over `/validate/check` with HOTP and TOTP tokens, with the token
//! PIN and, under `otppin=1`, with the user's own password. A realm-restricted administrator
//! sees only the tokens of its realm, and the policies survive an export, delete and import.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use linotp_core::{HashAlgorithm, hotp, totp};
use linotp_resolvers::testing::Slapd;
use linotp_store::diesel::connection::SimpleConnection;
use linotp_tests::{Client, DataDir, ServerProcess};
use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "Realm-Admin-1";
/// The RFC 4226 test key.
const HOTP_KEY: &[u8] = b"12345678901234567890";
const HOTP_KEY_HEX: &str = "3132333435363738393031323334353637383930";
const TOTP_KEY: &[u8] = b"abcdefghijklmnopqrst";
const TOTP_KEY_HEX: &str = "6162636465666768696a6b6c6d6e6f7071727374";
const TOTP_STEP: i64 = 30;
const HOTP_PIN: &str = "hotp-pin-1";
const TOTP_PIN: &str = "totp-pin-2";

async fn start_server() -> (DataDir, ServerProcess, Client) {
    let data = DataDir::new();
    let server = ServerProcess::start(&data, &[("LINOTP_ADMIN_PASSWORD", ADMIN_PASSWORD)])
        .await
        .unwrap();
    let admin = server.client().login("admin", ADMIN_PASSWORD).await;
    (data, server, admin)
}

fn hotp_value(counter: u64) -> String {
    hotp(HOTP_KEY, counter, 6, HashAlgorithm::Sha1).unwrap()
}

fn totp_value(counter: i64) -> String {
    totp(
        TOTP_KEY,
        counter * TOTP_STEP,
        TOTP_STEP,
        6,
        HashAlgorithm::Sha1,
    )
    .unwrap()
}

fn current_totp_counter() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(now.as_secs()).unwrap() / TOTP_STEP
}

/// A user of a realm and the password its user store holds.
struct RealmUser<'a> {
    realm: &'a str,
    login: &'a str,
    password: &'a str,
    /// A login the realm must not know (absent, or filtered out by the resolver).
    stranger: &'a str,
}

/// Enrols an HOTP and a TOTP token for the user and proves every way LinOTP lets the user in
/// (and keeps others out), first with the token PINs, then with `otppin=1`.
async fn authenticate_in_realm(server: &ServerProcess, admin: &Client, user: &RealmUser<'_>) {
    let RealmUser {
        realm,
        login,
        password,
        stranger,
    } = *user;
    let qualified = format!("{login}@{realm}");
    let hotp_serial = format!("{realm}-hotp");
    let totp_serial = format!("{realm}-totp");
    let enrolled = admin
        .call(
            "/admin/init",
            &[
                ("type", "hmac"),
                ("serial", &hotp_serial),
                ("otpkey", HOTP_KEY_HEX),
                ("pin", HOTP_PIN),
                ("user", login),
                ("realm", realm),
            ],
        )
        .await;
    assert_eq!(enrolled, true, "HOTP token for {qualified}");
    let enrolled = admin
        .call(
            "/admin/init",
            &[
                ("type", "totp"),
                ("serial", &totp_serial),
                ("otpkey", TOTP_KEY_HEX),
                ("timeStep", "30"),
                ("pin", TOTP_PIN),
                ("user", &qualified),
            ],
        )
        .await;
    assert_eq!(
        enrolled, true,
        "TOTP token for {qualified} (user@realm form)"
    );
    let owned = admin
        .call("/admin/show", &[("user", login), ("realm", realm)])
        .await;
    let mut serials: Vec<&str> = owned["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|token| token["LinOtp.TokenSerialnumber"].as_str().unwrap())
        .collect();
    serials.sort_unstable();
    assert_eq!(
        serials,
        [hotp_serial.as_str(), totp_serial.as_str()],
        "both tokens belong to {qualified}"
    );

    let pass = |pin: &str, otp: &str| format!("{pin}{otp}");
    // HOTP with the token PIN, user@realm.
    let first = pass(HOTP_PIN, &hotp_value(0));
    assert!(
        server
            .client()
            .check(&[("user", &qualified), ("pass", &first)])
            .await
    );
    assert!(
        !server
            .client()
            .check(&[("user", &qualified), ("pass", &first)])
            .await,
        "a replayed HOTP value is refused"
    );
    let wrong_pin = pass("not-the-pin", &hotp_value(1));
    assert!(
        !server
            .client()
            .check(&[("user", &qualified), ("pass", &wrong_pin)])
            .await,
        "a wrong PIN is refused"
    );
    let password_instead_of_pin = pass(password, &hotp_value(2));
    assert!(
        !server
            .client()
            .check(&[("user", &qualified), ("pass", &password_instead_of_pin)])
            .await,
        "without otppin=1 the user's password is no PIN"
    );
    // The same user named by separate user and realm parameters.
    let separate = pass(HOTP_PIN, &hotp_value(3));
    assert!(
        server
            .client()
            .check(&[("user", login), ("realm", realm), ("pass", &separate)])
            .await
    );

    // TOTP: the current value once.
    let mut totp_counter = current_totp_counter();
    let current = pass(TOTP_PIN, &totp_value(totp_counter));
    assert!(
        server
            .client()
            .check(&[("user", &qualified), ("pass", &current)])
            .await
    );
    assert!(
        !server
            .client()
            .check(&[("user", &qualified), ("pass", &current)])
            .await,
        "a replayed TOTP value is refused"
    );
    // A TOTP value under the HOTP token's PIN matches no token.
    totp_counter += 1;
    let crossed = pass(HOTP_PIN, &totp_value(totp_counter));
    assert!(
        !server
            .client()
            .check(&[("user", &qualified), ("pass", &crossed)])
            .await
    );

    // An unknown user gets LinOTP's plain "no" (status true, value false), not an error.
    let stranger = format!("{stranger}@{realm}");
    assert!(
        !server
            .client()
            .check(&[
                ("user", &stranger),
                ("pass", &pass(HOTP_PIN, &hotp_value(4)))
            ])
            .await,
        "{stranger} is not in {realm}"
    );

    // otppin=1: the user's directory password replaces the token PIN, for both tokens.
    admin
        .set_policy(&[
            ("name", &format!("otppin_{realm}")),
            ("scope", "authentication"),
            ("action", "otppin=1"),
            ("realm", realm),
            ("user", "*"),
            ("client", "*"),
        ])
        .await;
    let with_password = pass(password, &hotp_value(5));
    assert!(
        server
            .client()
            .check(&[("user", &qualified), ("pass", &with_password)])
            .await,
        "otppin=1: password + HOTP"
    );
    let with_token_pin = pass(HOTP_PIN, &hotp_value(6));
    assert!(
        !server
            .client()
            .check(&[("user", &qualified), ("pass", &with_token_pin)])
            .await,
        "otppin=1: the token PIN no longer works"
    );
    let wrong_password = pass("Wrong-Pw9", &hotp_value(7));
    assert!(
        !server
            .client()
            .check(&[("user", &qualified), ("pass", &wrong_password)])
            .await
    );
    totp_counter += 1;
    let totp_with_password = pass(password, &totp_value(totp_counter));
    assert!(
        server
            .client()
            .check(&[
                ("user", login),
                ("realm", realm),
                ("pass", &totp_with_password)
            ])
            .await,
        "otppin=1: password + TOTP"
    );
    assert!(
        !server
            .client()
            .check(&[
                ("user", &stranger),
                ("pass", &pass(password, &hotp_value(8)))
            ])
            .await
    );
}

#[tokio::test]
async fn an_ldap_realm_authenticates_its_users_with_hotp_and_totp() {
    let slapd = Slapd::start();
    let (_data, server, admin) = start_server().await;
    let mut params = slapd.resolver_params();
    params.extend([
        ("UIDTYPE", "entryUUID".to_owned()),
        ("SIZELIMIT", "500".to_owned()),
        ("NOREFERRALS", "True".to_owned()),
        ("CACERTIFICATE", String::new()),
    ]);
    let mut fields = vec![("name", "corpldap"), ("type", "ldapresolver")];
    fields.extend(params.iter().map(|(name, value)| (*name, value.as_str())));
    let defined = admin.call("/system/setResolver", &fields).await;
    assert_eq!(defined, true);
    admin
        .set_realm(
            "ldaprealm",
            "useridresolver.LDAPIdResolver.IdResolver.corpldap",
        )
        .await;
    let listed = admin
        .call(
            "/admin/userlist",
            &[("realm", "ldaprealm"), ("username", "alice")],
        )
        .await;
    assert_eq!(listed[0]["email"], "alice@example.test", "{listed}");
    assert_eq!(
        listed[0]["userid"],
        slapd.entry_uuid("alice"),
        "UIDTYPE entryUUID"
    );

    authenticate_in_realm(
        &server,
        &admin,
        &RealmUser {
            realm: "ldaprealm",
            login: "alice",
            password: "Alice-Pw1",
            stranger: "mallory",
        },
    )
    .await;
    assert!(server.stop().await.success());
}

/// A crypt hash made by `openssl passwd`, independent of the code under test.
fn sha512_crypt(password: &str) -> String {
    let output = Command::new("openssl")
        .args(["passwd", "-6", "-salt", "e2eSalt7", password])
        .output()
        .expect("openssl runs");
    assert!(output.status.success(), "openssl passwd");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn an_sql_realm_authenticates_its_users_with_hotp_and_totp() {
    let users_dir = tempfile::tempdir().unwrap();
    let users_db = users_dir.path().join("people.db");
    let connect = format!("sqlite:///{}", users_db.display());
    let store = linotp_store::Store::open_uri(&connect).unwrap();
    store
        .connection()
        .unwrap()
        .batch_execute(&format!(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, login TEXT NOT NULL, pw TEXT, \
             mail TEXT, active INTEGER NOT NULL); \
             INSERT INTO people VALUES (7, 'erin', '{erin}', 'erin@example.test', 1); \
             INSERT INTO people VALUES (8, 'frank', '{frank}', 'frank@example.test', 0);",
            erin = sha512_crypt("Erin-Pw5"),
            frank = sha512_crypt("Frank-Pw6"),
        ))
        .unwrap();
    drop(store);

    let (_data, server, admin) = start_server().await;
    let defined = admin
        .call(
            "/system/setResolver",
            &[
                ("name", "people"),
                ("type", "sqlresolver"),
                ("Connect", &connect),
                ("Password", "not-used-by-sqlite"),
                ("Table", "people"),
                (
                    "Map",
                    r#"{"userid": "id", "username": "login", "password": "pw", "email": "mail"}"#,
                ),
                ("Where", "active = 1"),
                ("Encoding", "utf-8"),
                ("Limit", "1000"),
            ],
        )
        .await;
    assert_eq!(defined, true);
    admin
        .set_realm("sqlrealm", "useridresolver.SQLIdResolver.IdResolver.people")
        .await;

    // frank is in the table but not active: the Where clause hides him from the realm.
    authenticate_in_realm(
        &server,
        &admin,
        &RealmUser {
            realm: "sqlrealm",
            login: "erin",
            password: "Erin-Pw5",
            stranger: "frank",
        },
    )
    .await;
    assert!(server.stop().await.success());
}

const IMPORTED_CSV: &str = "username,userid,surname,givenname,email,phone,mobile,password\n\
gina,i1,Gray,Gina,gina@example.test,,,Gina-Pw7\n\
hank,i2,Hill,Hank,hank@example.test,,,Hank-Pw8\n";

#[tokio::test]
async fn an_imported_users_realm_authenticates_its_users_with_hotp_and_totp() {
    let (_data, server, admin) = start_server().await;
    let imported = admin.import_users("imported", IMPORTED_CSV).await;
    assert_eq!(
        imported,
        json!({"created": {"i1": "gina", "i2": "hank"}, "updated": {}, "modified": {}, "deleted": {}})
    );
    admin
        .set_realm(
            "importrealm",
            "useridresolver.SQLIdResolver.IdResolver.imported",
        )
        .await;
    authenticate_in_realm(
        &server,
        &admin,
        &RealmUser {
            realm: "importrealm",
            login: "gina",
            password: "Gina-Pw7",
            stranger: "ivan",
        },
    )
    .await;
    assert!(server.stop().await.success());
}

fn serials_of(show: &Value) -> Vec<String> {
    let mut serials: Vec<String> = show["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no token list: {show}"))
        .iter()
        .map(|token| {
            token["LinOtp.TokenSerialnumber"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    serials.sort_unstable();
    serials
}

/// Every policy, as `/system/getPolicy` lists them.
async fn all_policies(admin: &Client) -> Value {
    admin.call("/system/getPolicy", &[]).await
}

#[tokio::test]
async fn a_realm_admin_sees_only_its_realm_and_policies_survive_export_and_import() {
    let (data, server, admin) = start_server().await;
    admin
        .import_users(
            "teama",
            "username,userid,surname,givenname,email,phone,mobile,password\n\
         anna,a1,A,Anna,anna@example.test,,,Anna-Pw1\n",
        )
        .await;
    admin
        .import_users(
            "teamb",
            "username,userid,surname,givenname,email,phone,mobile,password\n\
         bert,b1,B,Bert,bert@example.test,,,Bert-Pw1\n",
        )
        .await;
    admin
        .set_realm("reala", "useridresolver.SQLIdResolver.IdResolver.teama")
        .await;
    admin
        .set_realm("realb", "useridresolver.SQLIdResolver.IdResolver.teamb")
        .await;
    for (serial, user) in [("TOKA1", "anna@reala"), ("TOKB1", "bert@realb")] {
        let enrolled = admin
            .call(
                "/admin/init",
                &[
                    ("type", "hmac"),
                    ("serial", serial),
                    ("otpkey", HOTP_KEY_HEX),
                    ("pin", "pin"),
                    ("user", user),
                ],
            )
            .await;
        assert_eq!(enrolled, true);
    }

    // A second local administrator, as an operator adds one.
    let added = data.linotp(&["local-admins", "add", "helpdesk"]);
    assert!(
        added.status.success(),
        "local-admins add: {}",
        String::from_utf8_lossy(&added.stderr)
    );
    let password = data.linotp(&[
        "local-admins",
        "password",
        "helpdesk",
        "--password",
        "Helpdesk-Pw1",
    ]);
    assert!(
        password.status.success(),
        "local-admins password: {}",
        String::from_utf8_lossy(&password.stderr)
    );

    admin
        .set_policy(&[
            ("name", "superuser"),
            ("scope", "admin"),
            ("action", "*"),
            ("realm", "*"),
            ("user", "admin"),
            ("client", "*"),
        ])
        .await;
    admin
        .set_policy(&[
            ("name", "helpdesk_a"),
            ("scope", "admin"),
            ("action", "show, initHMAC, assign"),
            ("realm", "reala"),
            ("user", "helpdesk"),
            ("client", "*"),
        ])
        .await;
    admin
        .set_policy(&[
            ("name", "otppin_b"),
            ("scope", "authentication"),
            ("action", "otppin=1"),
            ("realm", "realb"),
            ("user", "*"),
            ("client", "*"),
        ])
        .await;

    let helpdesk = server.client().login("helpdesk", "Helpdesk-Pw1").await;
    let restricted = || async { serials_of(&helpdesk.call("/admin/show", &[]).await) };
    assert_eq!(restricted().await, ["TOKA1"], "helpdesk sees realm A only");
    assert_eq!(
        serials_of(&admin.call("/admin/show", &[]).await),
        ["TOKA1", "TOKB1"],
        "the superuser sees every realm"
    );
    let outside = helpdesk
        .admin("/admin/show", &[("viewrealm", "realb")])
        .await;
    assert!(
        outside.json()["result"]["value"]["data"]
            .as_array()
            .is_none_or(|tokens| tokens.is_empty()),
        "no token of realm B through viewrealm: {}",
        outside.body
    );

    // Export, delete everything, import: the same policies, enforced again.
    let before = all_policies(&admin).await;
    assert_eq!(
        before.as_object().unwrap().len(),
        3,
        "three policies: {before}"
    );
    let export = admin
        .admin("/system/getPolicy", &[("export", "true")])
        .await;
    assert_eq!(export.status, 200, "{}", export.body);
    assert!(
        export
            .header("content-disposition")
            .is_some_and(|disposition| disposition.contains("policy.cfg")),
        "a file download: {:?}",
        export.headers
    );
    let exported = export.body.clone();
    assert!(
        exported.contains("[helpdesk_a]"),
        "INI sections: {exported}"
    );

    let deleted = admin
        .call(
            "/system/delPolicy",
            &[("name", "superuser,helpdesk_a,otppin_b")],
        )
        .await;
    assert!(deleted["delPolicy"]["result"].is_object(), "{deleted}");
    assert_eq!(all_policies(&admin).await, json!({}));
    assert_eq!(
        restricted().await,
        ["TOKA1", "TOKB1"],
        "no admin policy: every admin sees everything"
    );

    let imported = admin
        .upload(
            "/system/importPolicy",
            &[],
            &[("file", "policy.cfg", &exported)],
        )
        .await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    // LinOTP answers a file upload in XML, with the number of policies imported.
    assert!(
        imported.body.contains("<status>True</status>")
            && imported.body.contains("<value>3</value>"),
        "the XML envelope of an upload: {}",
        imported.body
    );
    assert_eq!(
        all_policies(&admin).await,
        before,
        "the round trip keeps them"
    );
    assert_eq!(restricted().await, ["TOKA1"], "enforced again after import");
    assert!(server.stop().await.success());
}
