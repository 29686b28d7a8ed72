//! Realms, resolvers, `/tools/import_users`, `/admin/userlist` and `/admin/testresolver`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod system_common;

use linotp_api::auth::AdminIdentity;
use linotp_crypto::verify_password;
use linotp_store::realms as realm_store;
use linotp_store::tokens::{self, Token};
use linotp_store::users as user_store;
use serde_json::json;
use system_common::Sys;

const GLDRES: &str = "useridresolver.SQLIdResolver.IdResolver.GldRes";

const USERS_CSV: &str = "username,userid,surname,givenname,email,phone,mobile,password\n\
alice,u1,Smith,Alice,alice@example.test,,,Pw-alice\n\
bob,u2,Jones,Bob,bob@example.test,,,Pw-bob\n\
carol,u3,Brown,Carol,carol@example.test,,,Pw-carol\n";

async fn import(sys: &Sys, resolver: &str, csv: &str, extra: &[(&str, &str)]) -> serde_json::Value {
    let mut params = vec![
        ("resolver", resolver),
        ("skip_header", "true"),
        ("passwords_in_plaintext", "true"),
    ];
    params.extend_from_slice(extra);
    sys.upload(
        "/tools/import_users",
        &params,
        &[("file", "users.csv", csv)],
    )
    .await
    .value()
}

fn passwd_file(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("passwd");
    std::fs::write(
        &path,
        "pwalice:x:2001:100:Alice P,,,,pwalice@example.test:/home/a:/bin/sh\n\
         pwbob:x:2002:100:Bob P:/home/b:/bin/sh\n",
    )
    .unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn import_users_creates_a_managed_resolver_and_synchronises_on_reimport() {
    let sys = Sys::new();
    let first = import(&sys, "GldRes", USERS_CSV, &[]).await;
    assert_eq!(
        first,
        json!({
            "created": {"u1": "alice", "u2": "bob", "u3": "carol"},
            "updated": {}, "modified": {}, "deleted": {}
        })
    );
    let mut conn = sys.state.store.connection().unwrap();
    let alice = user_store::get(&mut conn, "GldRes", "u1").unwrap().unwrap();
    assert!(alice.password.starts_with("$6$"), "crypt hash, not clear");
    assert!(verify_password("Pw-alice", &alice.password));
    assert_eq!(alice.email, "alice@example.test");

    let resolver = sys
        .post("/system/getResolver", &[("resolver", "GldRes")])
        .await
        .value();
    assert_eq!(resolver["readonly"], true);
    assert_eq!(resolver["data"]["Table"], "imported_user");
    assert_eq!(resolver["data"]["Where"], "groupid = 'GldRes'");
    assert_eq!(resolver["spec"], GLDRES);

    // Re-import: alice unchanged, bob changed, carol gone, dave new.
    let second_csv = "username,userid,surname,givenname,email,phone,mobile,password\n\
alice,u1,Smith,Alice,alice@example.test,,,Pw-alice\n\
bob,u2,Jones,Bob,bob@new.test,,,Pw-bob\n\
dave,u4,Green,Dave,dave@example.test,,,Pw-dave\n";
    let dry = import(&sys, "GldRes", second_csv, &[("dryrun", "true")]).await;
    assert_eq!(
        dry,
        json!({
            "created": {"u4": "dave"}, "updated": {"u1": "alice"},
            "modified": {"u2": "bob"}, "deleted": {"u3": "carol"}
        })
    );
    assert!(
        user_store::get(&mut conn, "GldRes", "u3")
            .unwrap()
            .is_some(),
        "dry run"
    );
    let second = import(&sys, "GldRes", second_csv, &[]).await;
    assert_eq!(second, dry);
    assert!(
        user_store::get(&mut conn, "GldRes", "u3")
            .unwrap()
            .is_none()
    );
    let bob = user_store::get(&mut conn, "GldRes", "u2").unwrap().unwrap();
    assert_eq!(bob.email, "bob@new.test");
    assert!(verify_password("Pw-bob", &bob.password));
}

#[tokio::test]
async fn import_users_refuses_bad_requests() {
    let sys = Sys::new();
    let no_file = sys
        .upload("/tools/import_users", &[("resolver", "GldRes")], &[])
        .await;
    assert_eq!(
        no_file.error(),
        (905, "ERR905: Missing parameter: KeyError('file')".into())
    );
    let no_resolver = sys
        .upload("/tools/import_users", &[], &[("file", "u.csv", USERS_CSV)])
        .await;
    assert_eq!(
        no_resolver.error(),
        (
            905,
            "ERR905: Missing parameter: KeyError('resolver')".into()
        )
    );
    let admins = sys
        .upload(
            "/tools/import_users",
            &[("resolver", "LinOTP_local_admins")],
            &[("file", "u.csv", USERS_CSV)],
        )
        .await;
    assert_eq!(
        admins.error(),
        (
            -311,
            "default admin resolver LinOTP_local_admins is not allowed to be overwritten!".into()
        )
    );
    let dir = tempfile::tempdir().unwrap();
    let file = passwd_file(&dir);
    sys.post(
        "/system/setResolver",
        &[
            ("name", "PwRes"),
            ("type", "passwdresolver"),
            ("fileName", &file),
        ],
    )
    .await
    .value();
    let unmanaged = sys
        .upload(
            "/tools/import_users",
            &[("resolver", "PwRes")],
            &[("file", "u.csv", USERS_CSV)],
        )
        .await;
    assert_eq!(
        unmanaged.error(),
        (
            -311,
            "Unmanged resolver with same name: 'PwRes' already exists!".into()
        )
    );
    let format = sys
        .upload(
            "/tools/import_users",
            &[("resolver", "GldRes"), ("format", "xml")],
            &[("file", "u.csv", USERS_CSV)],
        )
        .await;
    assert_eq!(format.error(), (-311, "unspecified file foramt".into()));
    let duplicate = sys
        .upload(
            "/tools/import_users",
            &[("resolver", "GldRes")],
            &[("file", "u.csv", "alice,u1\nalice,u2\n")],
        )
        .await;
    assert!(
        duplicate
            .error()
            .1
            .starts_with("Violation of unique constraint")
    );
    // Nothing of the failed imports stayed behind.
    let resolvers = sys.post("/system/getResolvers", &[]).await.value();
    assert!(resolvers.get("GldRes").is_none());
}

#[tokio::test]
async fn passwd_format_and_column_mapping_imports() {
    let sys = Sys::new();
    let passwd =
        "ann:$6$rounds=1000$salt$x:3001:100:Ann Lee,,,0170,ann@example.test:/home/ann:/bin/sh\n";
    let reply = sys
        .upload(
            "/tools/import_users",
            &[("resolver", "PwImport"), ("format", "password")],
            &[("file", "passwd", passwd)],
        )
        .await;
    assert_eq!(reply.value()["created"], json!({"3001": "ann"}));
    let mut conn = sys.state.store.connection().unwrap();
    let ann = user_store::get(&mut conn, "PwImport", "3001")
        .unwrap()
        .unwrap();
    assert_eq!(
        (ann.givenname.as_str(), ann.surname.as_str()),
        ("Ann", "Lee")
    );
    assert_eq!(
        ann.phone, "0170",
        "the GECOS field order of LinOTP's reader"
    );
    assert_eq!(ann.email, "ann@example.test");
    assert_eq!(
        ann.password, "$6$rounds=1000$salt$x",
        "hashes are kept as given"
    );

    let mapped = sys
        .upload(
            "/tools/import_users",
            &[
                ("resolver", "Mapped"),
                ("column_mapping", r#"{"userid": 0, "username": 1}"#),
                ("delimiter", ";"),
            ],
            &[("file", "m.csv", "m1;mia\n")],
        )
        .await;
    assert_eq!(mapped.value()["created"], json!({"m1": "mia"}));
}

#[tokio::test]
async fn realms_are_defined_listed_defaulted_and_deleted() {
    let sys = Sys::new();
    import(&sys, "GldRes", USERS_CSV, &[]).await;
    let reply = sys
        .post(
            "/system/setRealm",
            &[("realm", "MyRealm"), ("resolvers", GLDRES)],
        )
        .await;
    assert_eq!(reply.value(), json!(true));
    let realms = sys.post("/system/getRealms", &[]).await.value();
    assert_eq!(
        realms["myrealm"],
        json!({
            "realmname": "myrealm",
            "entry": "linotp.useridresolver.group.myrealm",
            "useridresolver": [GLDRES],
            "admin": false
        })
    );
    assert_eq!(realms["linotp_admins"]["admin"], true);

    assert_eq!(
        sys.post("/system/setDefaultRealm", &[("realm", "MYREALM")])
            .await
            .value(),
        json!(true)
    );
    let default = sys.post("/system/getDefaultRealm", &[]).await.value();
    assert_eq!(default.as_object().unwrap().len(), 1);
    assert_eq!(default["myrealm"]["default"], "true");
    assert_eq!(
        sys.post("/system/setDefaultRealm", &[("realm", "nosuch")])
            .await
            .value(),
        json!(false)
    );
    assert_eq!(sys.stored("DefaultRealm").unwrap().value, "myrealm");

    // A token in the realm loses the link when the realm goes; the default goes too.
    let mut conn = sys.state.store.connection().unwrap();
    let token = tokens::insert(&mut conn, &Token::new("TOK1", "HMAC")).unwrap();
    realm_store::set_token_realms(&mut conn, token.id, &["myrealm"]).unwrap();
    let deleted = sys.post("/system/delRealm", &[("realm", "myrealm")]).await;
    assert_eq!(deleted.value(), json!({"delRealm": {"result": true}}));
    assert!(
        realm_store::realms_of_token(&mut conn, token.id)
            .unwrap()
            .is_empty()
    );
    assert_eq!(sys.stored("DefaultRealm").unwrap().value, "");
    assert!(sys.stored("useridresolver.group.myrealm").is_none());
    let again = sys.post("/system/delRealm", &[("realm", "myrealm")]).await;
    assert_eq!(again.value(), json!({"delRealm": {"result": false}}));
}

#[tokio::test]
async fn realm_errors_follow_linotp() {
    let sys = Sys::new();
    let unknown = sys
        .post(
            "/system/setRealm",
            &[
                ("realm", "r1"),
                (
                    "resolvers",
                    "useridresolver.SQLIdResolver.IdResolver.NoSuch",
                ),
            ],
        )
        .await;
    assert_eq!(
        unknown.error(),
        (
            -311,
            "unknown resolver or invalid resolver class specification: \
             'useridresolver.SQLIdResolver.IdResolver.NoSuch'"
                .into()
        )
    );
    let garbage = sys
        .post(
            "/system/setRealm",
            &[("realm", "r1"), ("resolvers", "nonsense")],
        )
        .await;
    assert_eq!(garbage.error().0, -311);
    let missing = sys.post("/system/setRealm", &[("realm", "r1")]).await;
    assert_eq!(
        missing.error(),
        (905, "ERR905: missing required parameter: resolvers".into())
    );
    let no_realm = sys.post("/system/delRealm", &[]).await;
    assert_eq!(
        no_realm.error(),
        (905, "ERR905: missing required parameter: realm".into())
    );

    import(&sys, "GldRes", USERS_CSV, &[]).await;
    let bad_name = sys
        .post(
            "/system/setRealm",
            &[("realm", "bad/realm"), ("resolvers", GLDRES)],
        )
        .await;
    assert_eq!(bad_name.error().0, -311);
    assert!(
        bad_name
            .error()
            .1
            .starts_with("non conformant characters in realm name: bad/realm")
    );

    // The admin realm: it cannot be deleted, and the admin's own resolver cannot leave it.
    let delete_admin = sys
        .post("/system/delRealm", &[("realm", "linotp_admins")])
        .await;
    assert_eq!(
        delete_admin.error(),
        (
            -311,
            "It is not allowed to delete the admin realm linotp_admins".into()
        )
    );
    let shouting = sys
        .post("/system/delRealm", &[("realm", "LINOTP_ADMINS")])
        .await;
    assert_eq!(shouting.error().0, -311, "the admin realm in any case");
    let lockout = sys
        .post(
            "/system/setRealm",
            &[("realm", "linotp_admins"), ("resolvers", GLDRES)],
        )
        .await;
    assert_eq!(
        lockout.error(),
        (
            -311,
            "Resolver LinOTP_local_admins can not be removed from linotp_admins. It is not \
             allowed to remove the resolver to which you belong to prevent locking yourself out."
                .into()
        )
    );
    let upper = sys
        .post(
            "/system/setRealm",
            &[("realm", "Linotp_Admins"), ("resolvers", GLDRES)],
        )
        .await;
    assert_eq!(upper.error(), lockout.error());
    let extended = sys
        .post(
            "/system/setRealm",
            &[
                ("realm", "linotp_admins"),
                (
                    "resolvers",
                    &format!(
                        "useridresolver.SQLIdResolver.IdResolver.LinOTP_local_admins,{GLDRES}"
                    ),
                ),
            ],
        )
        .await;
    assert_eq!(extended.value(), json!(true));
    let resolvers = sys.post("/system/getResolvers", &[]).await.value();
    assert_eq!(resolvers["GldRes"]["admin"], true);
}

#[tokio::test]
async fn ldap_resolver_passwords_are_encrypted_kept_on_update_and_never_shown() {
    let sys = Sys::new();
    let params = [
        ("name", "CorpLdap"),
        ("type", "ldapresolver"),
        ("LDAPURI", "ldap://127.0.0.1:1"),
        ("LDAPBASE", "dc=example,dc=test"),
        ("BINDDN", "cn=admin,dc=example,dc=test"),
        ("BINDPW", "Bind-Secret-1"),
        ("LOGINNAMEATTRIBUTE", "uid"),
        ("LDAPSEARCHFILTER", "(uid=*)(objectClass=inetOrgPerson)"),
        ("LDAPFILTER", "(&(uid=%s)(objectClass=inetOrgPerson))"),
        ("USERINFO", r#"{"username": "uid", "surname": "sn"}"#),
        ("TIMEOUT", "1"),
        ("EnforceTLS", "False"),
    ];
    assert_eq!(
        sys.post("/system/setResolver", &params).await.value(),
        json!(true)
    );
    let stored = sys.stored("ldapresolver.BINDPW.CorpLdap").unwrap();
    assert_eq!(stored.typ.as_deref(), Some("encrypted_data"));
    let clear = sys.state.security.decrypt_password(&stored.value).unwrap();
    assert_eq!(clear.expose(), b"Bind-Secret-1");

    let info = sys
        .post("/system/getResolver", &[("resolver", "CorpLdap")])
        .await;
    assert!(!info.text().contains("Bind-Secret-1"));
    let value = info.value();
    assert_eq!(value["type"], "ldapresolver");
    assert_eq!(value["data"]["BINDPW"], json!(stored.value));
    assert_eq!(value["data"]["SIZELIMIT"], "500");
    assert_eq!(value["data"]["EnforceTLS"], "False");
    assert_eq!(
        value["spec"],
        "useridresolver.LDAPIdResolver.IdResolver.CorpLdap"
    );
    let list = sys.post("/system/getResolvers", &[]).await.value();
    assert_eq!(
        list["CorpLdap"]["entry"],
        "linotp.ldapresolver.BINDPW.CorpLdap"
    );
    assert!(list["CorpLdap"].get("readonly").is_none());

    // Creating it again is refused; an update without BINDPW keeps the password.
    let twice = sys.post("/system/setResolver", &params).await;
    assert_eq!(
        twice.error(),
        (
            -311,
            "Cound not create resolver, resolver 'CorpLdap' already exists!".into()
        )
    );
    let update: Vec<(&str, &str)> = params
        .iter()
        .filter(|(name, _)| *name != "BINDPW")
        .map(|(name, value)| {
            if *name == "TIMEOUT" {
                (*name, "2")
            } else {
                (*name, *value)
            }
        })
        .chain([("previous_name", "CorpLdap")])
        .collect();
    assert_eq!(
        sys.post("/system/setResolver", &update).await.value(),
        json!(true)
    );
    let kept = sys.stored("ldapresolver.BINDPW.CorpLdap").unwrap();
    let clear = sys.state.security.decrypt_password(&kept.value).unwrap();
    assert_eq!(clear.expose(), b"Bind-Secret-1");
    assert_eq!(
        sys.stored("ldapresolver.TIMEOUT.CorpLdap").unwrap().value,
        "2"
    );

    // A directory that does not answer: testresolver still answers, with the error.
    let test = sys
        .post("/admin/testresolver", &[("name", "CorpLdap")])
        .await;
    assert_eq!(test.value()["result"], "error");

    let type_change = sys
        .post(
            "/system/setResolver",
            &[
                ("name", "CorpLdap"),
                ("previous_name", "CorpLdap"),
                ("type", "passwdresolver"),
                ("fileName", "/etc/passwd"),
            ],
        )
        .await;
    assert_eq!(
        type_change.error(),
        (
            -311,
            "Modification of resolver type is not supported!".into()
        )
    );
    let no_password = sys
        .post(
            "/system/setResolver",
            &params
                .iter()
                .filter(|(name, _)| *name != "BINDPW")
                .map(|(name, value)| {
                    if *name == "name" {
                        (*name, "OtherLdap")
                    } else {
                        (*name, *value)
                    }
                })
                .collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(
        no_password.error(),
        (905, "ERR905: Missing parameter: ['BINDPW']".into())
    );
}

#[tokio::test]
async fn renaming_a_resolver_moves_realms_and_tokens() {
    let sys = Sys::new();
    let dir = tempfile::tempdir().unwrap();
    let file = passwd_file(&dir);
    sys.post(
        "/system/setResolver",
        &[
            ("name", "OldName"),
            ("type", "passwdresolver"),
            ("fileName", &file),
        ],
    )
    .await
    .value();
    sys.post(
        "/system/setRealm",
        &[
            ("realm", "pwrealm"),
            (
                "resolvers",
                "useridresolver.PasswdIdResolver.IdResolver.OldName",
            ),
        ],
    )
    .await
    .value();
    let mut conn = sys.state.store.connection().unwrap();
    let mut token = Token::new("PWTOK", "HMAC");
    token.user_id = "2002".into();
    token.id_res_class = "useridresolver.PasswdIdResolver.IdResolver.OldName".into();
    token.id_resolver = "PasswdIdResolver.IdResolver.OldName".into();
    tokens::insert(&mut conn, &token).unwrap();

    let renamed = sys
        .post(
            "/system/setResolver",
            &[
                ("name", "NewName"),
                ("previous_name", "OldName"),
                ("type", "passwdresolver"),
                ("fileName", &file),
            ],
        )
        .await;
    assert_eq!(renamed.value(), json!(true));
    let realms = sys.post("/system/getRealms", &[]).await.value();
    assert_eq!(
        realms["pwrealm"]["useridresolver"],
        json!(["useridresolver.PasswdIdResolver.IdResolver.NewName"])
    );
    let resolvers = sys.post("/system/getResolvers", &[]).await.value();
    assert!(resolvers.get("OldName").is_none());
    assert!(resolvers.get("NewName").is_some());
    let moved = tokens::get_by_serial(&mut conn, "PWTOK").unwrap().unwrap();
    assert_eq!(
        moved.id_res_class,
        "useridresolver.PasswdIdResolver.IdResolver.NewName"
    );
    assert_eq!(moved.user_id, "2002");
    let users = sys
        .post(
            "/admin/userlist",
            &[("realm", "pwrealm"), ("username", "pwbob")],
        )
        .await;
    assert!(
        users
            .text()
            .contains("\"resolver\": \"useridresolver.PasswdIdResolver.IdResolver.NewName\"")
    );
}

#[tokio::test]
async fn deleting_resolvers_checks_realms_and_takes_imported_users_along() {
    let sys = Sys::new();
    import(&sys, "GldRes", USERS_CSV, &[]).await;
    sys.post(
        "/system/setRealm",
        &[("realm", "gldrealm"), ("resolvers", GLDRES)],
    )
    .await
    .value();
    let in_use = sys
        .post("/system/delResolver", &[("resolver", "GldRes")])
        .await;
    assert_eq!(
        in_use.error(),
        (
            -311,
            "\"Resolver 'GldRes' still in use by the realms: ['gldrealm']\" !".into()
        )
    );
    let admin = sys
        .post(
            "/system/delResolver",
            &[("resolver", "LinOTP_local_admins")],
        )
        .await;
    assert!(
        admin
            .error()
            .1
            .contains("still in use by the realms: ['linotp_admins']")
    );
    let missing = sys.post("/system/delResolver", &[]).await;
    assert_eq!(
        missing.error(),
        (905, "ERR905: missing required parameter: resolver".into())
    );

    sys.post("/system/delRealm", &[("realm", "gldrealm")])
        .await
        .value();
    assert_eq!(
        sys.post("/system/delResolver", &[("Resolver", "GldRes")])
            .await
            .value(),
        json!(true)
    );
    let mut conn = sys.state.store.connection().unwrap();
    assert!(
        user_store::list_group(&mut conn, "GldRes")
            .unwrap()
            .is_empty()
    );
    assert!(sys.stored("sqlresolver.Password.GldRes").is_none());
    assert_eq!(
        sys.post("/system/delResolver", &[("resolver", "GldRes")])
            .await
            .value(),
        json!(false)
    );
    let unknown = sys
        .post("/system/getResolver", &[("resolver", "GldRes")])
        .await;
    assert_eq!(
        unknown.value(),
        json!({"type": null, "data": {}, "resolver": "GldRes"})
    );
}

#[tokio::test]
async fn testresolver_reports_per_class() {
    let sys = Sys::new();
    import(&sys, "GldRes", USERS_CSV, &[]).await;
    let sql = sys.post("/admin/testresolver", &[("name", "GldRes")]).await;
    assert_eq!(
        sql.value(),
        json!({"result": true, "desc": {"rows": 3, "err_string": ""}})
    );
    let unknown = sys.post("/admin/testresolver", &[("name", "NoSuch")]).await;
    assert_eq!(
        unknown.error(),
        (-311, "no such resolver 'NoSuch' defined!".into())
    );
    let missing = sys.post("/admin/testresolver", &[]).await;
    assert_eq!(
        missing.error(),
        (905, "ERR905: Missing parameter: KeyError('name')".into())
    );
    let dir = tempfile::tempdir().unwrap();
    let file = passwd_file(&dir);
    sys.post(
        "/system/setResolver",
        &[
            ("name", "PwRes"),
            ("type", "passwdresolver"),
            ("fileName", &file),
        ],
    )
    .await
    .value();
    let passwd = sys.post("/admin/testresolver", &[("name", "PwRes")]).await;
    assert_eq!(
        passwd.error(),
        (
            -311,
            "type object 'IdResolver' has no attribute 'testconnection'".into()
        )
    );
    assert_eq!(
        sys.get("/admin/testresolver", &[("name", "GldRes")])
            .await
            .status,
        405
    );
}

#[tokio::test]
async fn userlist_searches_pages_and_reports_bad_paging() {
    let sys = Sys::new();
    import(&sys, "GldRes", USERS_CSV, &[]).await;
    sys.post(
        "/system/setRealm",
        &[("realm", "gldrealm"), ("resolvers", GLDRES)],
    )
    .await
    .value();
    let all = sys
        .get(
            "/admin/userlist",
            &[("realm", "gldrealm"), ("username", "*")],
        )
        .await;
    assert_eq!(all.content_type(), "application/json");
    let json = all.json();
    assert_eq!(json["result"]["queried"], 3);
    assert_eq!(json["result"]["value"][0]["username"], "alice");
    assert_eq!(json["result"]["value"][0]["resolver"], GLDRES);
    assert!(json.get("versionNumber").is_none());

    let by_mail = sys
        .post(
            "/admin/userlist",
            &[("realm", "gldrealm"), ("email", "bob@*")],
        )
        .await
        .json();
    assert_eq!(by_mail["result"]["value"].as_array().unwrap().len(), 1);
    assert_eq!(by_mail["result"]["value"][0]["userid"], "u2");

    let page = sys
        .post(
            "/admin/userlist",
            &[
                ("realm", "gldrealm"),
                ("username", "*"),
                ("page", "1"),
                ("rp", "2"),
            ],
        )
        .await;
    let paged = page.json();
    assert_eq!(paged["result"]["page"], 1);
    assert_eq!(paged["result"]["value"].as_array().unwrap().len(), 1);
    assert_eq!(paged["result"]["value"][0]["username"], "carol");
    assert_eq!(paged["result"]["queried"], 3);

    let bad = sys
        .post("/admin/userlist", &[("realm", "gldrealm"), ("page", "x")])
        .await;
    assert_eq!(
        bad.text(),
        "{\"jsonrpc\": \"2.0802\", \"result\": {\"status\": false, \"error\": {\"code\": 9876, \
         \"message\": \"ValueError(\\\"invalid literal for int() with base 10: 'x'\\\")\"}}, \
         \"version\": \"LinOTP 4.0.0.dev0\", \"id\": 1}"
    );
    let unknown_realm = sys
        .post("/admin/userlist", &[("realm", "nosuch"), ("username", "*")])
        .await;
    assert_eq!(unknown_realm.json()["result"]["value"], json!([]));
}

#[tokio::test]
async fn realm_restricted_admins_list_only_their_realms() {
    let sys = Sys::new();
    import(&sys, "GldRes", USERS_CSV, &[]).await;
    for realm in ["gldrealm", "other"] {
        sys.post(
            "/system/setRealm",
            &[("realm", realm), ("resolvers", GLDRES)],
        )
        .await
        .value();
    }
    sys.post(
        "/system/setPolicy",
        &[
            ("name", "helpdesk"),
            ("scope", "admin"),
            ("action", "userlist, show"),
            ("realm", "gldrealm"),
            ("user", "helper"),
        ],
    )
    .await
    .value();
    sys.post(
        "/system/setPolicy",
        &[
            ("name", "superadmin"),
            ("scope", "admin"),
            ("action", "*"),
            ("realm", "*"),
            ("user", "admin"),
        ],
    )
    .await
    .value();
    let helper = sys.session_of(AdminIdentity {
        username: "helper".into(),
        realm: "linotp_admins".into(),
        resolver: "useridresolver.SQLIdResolver.IdResolver.LinOTP_local_admins".into(),
    });
    let own = sys
        .post_as(
            &helper,
            "/admin/userlist",
            &[("realm", "gldrealm"), ("username", "*")],
        )
        .await;
    assert_eq!(own.json()["result"]["queried"], 3);
    let foreign = sys
        .post_as(
            &helper,
            "/admin/userlist",
            &[("realm", "other"), ("username", "*")],
        )
        .await;
    assert_eq!(
        foreign.error(),
        (
            410,
            "ERR410: You do not have the administrative right to list users in realm 'other'."
                .into()
        )
    );
}

#[tokio::test]
async fn an_sql_resolver_on_another_database_is_defined_tested_and_listed() {
    use linotp_store::diesel::connection::SimpleConnection;

    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite:///{}", dir.path().join("people.db").display());
    let store = linotp_store::Store::open_uri(&uri).unwrap();
    store
        .connection()
        .unwrap()
        .batch_execute(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, login TEXT, pw TEXT, mail TEXT); \
             INSERT INTO people VALUES (1, 'erin', 'x', 'erin@example.test'); \
             INSERT INTO people VALUES (2, 'frank', 'x', 'frank@example.test');",
        )
        .unwrap();
    let sys = Sys::new();
    let defined = sys
        .post(
            "/system/setResolver",
            &[
                ("name", "People"),
                ("type", "sqlresolver"),
                ("Connect", &uri),
                ("Password", "Db-Secret-9"),
                ("Table", "people"),
                (
                    "Map",
                    r#"{"userid": "id", "username": "login", "password": "pw", "email": "mail"}"#,
                ),
            ],
        )
        .await;
    assert_eq!(defined.value(), json!(true));
    let stored = sys.stored("sqlresolver.Password.People").unwrap();
    assert_eq!(stored.typ.as_deref(), Some("encrypted_data"));
    assert!(!stored.value.contains("Db-Secret-9"));

    let test = sys.post("/admin/testresolver", &[("name", "People")]).await;
    assert_eq!(
        test.value(),
        json!({"result": true, "desc": {"rows": 2, "err_string": ""}})
    );
    sys.post(
        "/system/setRealm",
        &[
            ("realm", "people"),
            (
                "resolvers",
                "useridresolver.SQLIdResolver.IdResolver.People",
            ),
        ],
    )
    .await
    .value();
    let listed = sys
        .post(
            "/admin/userlist",
            &[("realm", "people"), ("username", "fr*")],
        )
        .await
        .json();
    assert_eq!(listed["result"]["queried"], 1);
    assert_eq!(listed["result"]["value"][0]["email"], "frank@example.test");
    assert_eq!(
        listed["result"]["value"][0]["resolver"],
        "useridresolver.SQLIdResolver.IdResolver.People"
    );
}
