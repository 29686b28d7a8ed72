//! Resolver definitions: `/system/setResolver` validation with LinOTP's error texts, and the
//! round trip through LinOTP's config rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use linotp_resolvers::{
    DefineMode, PARAMETER_ERROR_CODE, ResolverClass, ResolverConfig, ResolverError, define_resolver,
};

fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

fn ldap_params(name: &str) -> HashMap<String, String> {
    params(&[
        ("name", name),
        ("type", "ldapresolver"),
        (
            "LDAPURI",
            "ldap://dc1.example.test, ldaps://dc2.example.test",
        ),
        ("LDAPBASE", "dc=example,dc=test"),
        ("BINDDN", "cn=linotp,dc=example,dc=test"),
        ("BINDPW", "bind-secret"),
        ("LOGINNAMEATTRIBUTE", "sAMAccountName"),
        ("LDAPSEARCHFILTER", "(sAMAccountName=*)(objectClass=user)"),
        ("LDAPFILTER", "(&(sAMAccountName=%s)(objectClass=user))"),
        (
            "USERINFO",
            r#"{"username": "sAMAccountName", "email": "mail"}"#,
        ),
    ])
}

fn no_resolvers(_: &str) -> Option<ResolverConfig> {
    None
}

/// The stored rows of a definition, as `linotp.…` key → value (passwords in clear).
fn stored(config: &ResolverConfig) -> HashMap<String, String> {
    config
        .to_entries()
        .into_iter()
        .map(|entry| (entry.key.clone(), entry.value.to_string()))
        .collect()
}

fn error_of(params: &HashMap<String, String>) -> ResolverError {
    define_resolver(params, &no_resolvers).unwrap_err()
}

#[test]
fn an_ldap_definition_is_stored_with_linotp_defaults_and_types_and_reads_back() {
    let definition = define_resolver(&ldap_params("corp"), &no_resolvers).unwrap();
    assert_eq!(definition.mode, DefineMode::Create);
    let entries = definition.config.to_entries();
    let typed: Vec<(String, &str)> = entries
        .iter()
        .map(|entry| (entry.key.clone(), entry.typ))
        .collect();
    let expected: Vec<(String, &str)> = [
        ("LDAPURI", "str"),
        ("LDAPBASE", "str"),
        ("BINDDN", "str"),
        ("BINDPW", "encrypted_data"),
        ("LOGINNAMEATTRIBUTE", "str"),
        ("LDAPFILTER", "str"),
        ("LDAPSEARCHFILTER", "str"),
        ("USERINFO", "str"),
        ("UIDTYPE", "str"),
        ("EnforceTLS", "boolean"),
        ("only_trusted_certs", "boolean"),
        ("NOREFERRALS", "boolean"),
        ("PROXY", "boolean"),
        ("TIMEOUT", "str"),
        ("SIZELIMIT", "int"),
    ]
    .iter()
    .map(|(param, typ)| (format!("linotp.ldapresolver.{param}.corp"), *typ))
    .collect();
    assert_eq!(typed, expected);
    let rows = stored(&definition.config);
    assert_eq!(rows["linotp.ldapresolver.UIDTYPE.corp"], "DN");
    assert_eq!(rows["linotp.ldapresolver.EnforceTLS.corp"], "True");
    assert_eq!(rows["linotp.ldapresolver.TIMEOUT.corp"], "-1");
    assert_eq!(rows["linotp.ldapresolver.SIZELIMIT.corp"], "500");
    assert_eq!(rows["linotp.ldapresolver.BINDPW.corp"], "bind-secret");
    assert!(entries.iter().filter(|e| e.is_secret()).count() == 1);

    let read = ResolverConfig::from_config(ResolverClass::Ldap, "corp", &rows).unwrap();
    assert_eq!(read.fingerprint(), definition.config.fingerprint());
    assert_eq!(read.secret().unwrap().expose(), "bind-secret");
    assert!(!format!("{read:?}").contains("bind-secret"));
    assert!(!format!("{:?}", read.to_entries()).contains("bind-secret"));
}

#[test]
fn the_golden_passwd_definition_shows_only_its_file() {
    let definition = define_resolver(
        &params(&[
            ("name", "GldPw"),
            ("type", "passwdresolver"),
            ("fileName", "/etc/passwd"),
        ]),
        &no_resolvers,
    )
    .unwrap();
    let data: Vec<(&str, &str)> = definition.config.data().collect();
    assert_eq!(data, [("fileName", "/etc/passwd")]);
    assert_eq!(
        definition.config.spec().full(),
        "useridresolver.PasswdIdResolver.IdResolver.GldPw"
    );
}

#[test]
fn an_sql_definition_fills_linotp_defaults() {
    let definition = define_resolver(
        &params(&[
            ("name", "users"),
            ("type", "sqlresolver"),
            ("Connect", "sqlite:////tmp/users.db"),
            ("Password", ""),
            ("Table", "people"),
            ("Map", r#"{"userid": "id", "username": "login"}"#),
            ("readonly", "true"),
        ]),
        &no_resolvers,
    )
    .unwrap();
    let rows = stored(&definition.config);
    assert_eq!(rows["linotp.sqlresolver.Driver.users"], "None");
    assert_eq!(rows["linotp.sqlresolver.Limit.users"], "1000");
    assert_eq!(rows["linotp.sqlresolver.Encoding.users"], "utf-8");
    assert_eq!(rows["linotp.sqlresolver.readonly.users"], "True");
    assert_eq!(rows["linotp.sqlresolver.Password.users"], "");
    assert!(definition.config.is_readonly());
}

#[test]
fn request_errors_carry_linotps_texts_and_codes() {
    let mut no_name = ldap_params("corp");
    no_name.remove("name");
    let error = error_of(&no_name);
    assert_eq!(error.to_string(), "missing required parameter \"name\"");
    assert_eq!(error.linotp_code(), PARAMETER_ERROR_CODE);

    // Golden reply setResolver.missing_type.
    let error = error_of(&params(&[("name", "GldBad"), ("fileName", "/etc/passwd")]));
    assert_eq!(error.to_string(), "'type'");
    assert_eq!(error.linotp_code(), -311);

    let mut unknown = ldap_params("corp");
    unknown.insert("type".into(), "httpresolver".into());
    assert_eq!(
        error_of(&unknown).to_string(),
        "no such resolver type ''httpresolver'' defined!"
    );

    let mut readonly = ldap_params("corp");
    readonly.insert("readonly".into(), "maybe".into());
    assert_eq!(
        error_of(&readonly).to_string(),
        "Failed to convert attribute 'readonly' to a boolean value! 'maybe'"
    );

    let mut no_password = ldap_params("corp");
    no_password.remove("BINDPW");
    let error = error_of(&no_password);
    assert_eq!(error.to_string(), "Missing parameter: ['BINDPW']");
    assert_eq!(error.linotp_code(), PARAMETER_ERROR_CODE);

    assert_eq!(
        error_of(&ldap_params("ab")).to_string(),
        "('Resolver name is invalid. It may contain characters, numbers, underscore (_), \
         hyphen (-)! %r', 'ab')"
    );

    let mut no_base = ldap_params("corp");
    no_base.remove("LDAPBASE");
    assert_eq!(
        error_of(&no_base).to_string(),
        "Unable to instantiate the resolver 'corp'.Please verify configuration or connection!"
    );
    let mut bad_userinfo = ldap_params("corp");
    bad_userinfo.insert("USERINFO".into(), "{not json".into());
    assert_eq!(
        error_of(&bad_userinfo).to_string(),
        "Unable to instantiate the resolver 'corp'.Please verify configuration or connection!"
    );

    for (param, value, message) in [
        (
            "SIZELIMIT",
            "many",
            "invalid literal for int() with base 10: 'many'",
        ),
        (
            "EnforceTLS",
            "Sometimes",
            "unable to convert 'sometimes' to a boolean",
        ),
        (
            "TIMEOUT",
            "soon",
            "could not convert string to float: 'soon'",
        ),
        ("LDAPURI", "http://x", "unsuported protocol 'http://x'"),
    ] {
        let mut bad = ldap_params("corp");
        bad.insert(param.into(), value.into());
        assert_eq!(error_of(&bad).to_string(), message, "{param}");
    }
}

#[test]
fn existing_names_and_type_changes_are_refused() {
    let corp = define_resolver(&ldap_params("corp"), &no_resolvers)
        .unwrap()
        .config;
    let existing = |name: &str| (name == "corp").then(|| corp.clone());

    assert_eq!(
        define_resolver(&ldap_params("corp"), &existing)
            .unwrap_err()
            .to_string(),
        "Cound not create resolver, resolver 'corp' already exists!"
    );
    let mut rename_onto = ldap_params("corp");
    rename_onto.insert("previous_name".into(), "other".into());
    assert_eq!(
        define_resolver(&rename_onto, &existing)
            .unwrap_err()
            .to_string(),
        "Cound not rename resolver, resolver 'corp' already exists!"
    );
    let to_sql = params(&[
        ("name", "corp"),
        ("previous_name", "corp"),
        ("type", "sqlresolver"),
        ("Password", "x"),
    ]);
    assert_eq!(
        define_resolver(&to_sql, &existing).unwrap_err().to_string(),
        "Modification of resolver type is not supported!"
    );

    let mut rename = ldap_params("corp2");
    rename.insert("previous_name".into(), "corp".into());
    let renamed = define_resolver(&rename, &existing).unwrap();
    assert_eq!(
        renamed.mode,
        DefineMode::Rename {
            previous: "corp".into()
        }
    );
}

#[test]
fn an_update_keeps_the_password_unless_a_critical_parameter_changes() {
    let corp = define_resolver(&ldap_params("corp"), &no_resolvers)
        .unwrap()
        .config;
    let existing = |name: &str| (name == "corp").then(|| corp.clone());

    let mut update = ldap_params("corp");
    update.insert("previous_name".into(), "corp".into());
    update.remove("BINDPW");
    update.insert("SIZELIMIT".into(), "50".into());
    let updated = define_resolver(&update, &existing).unwrap();
    assert_eq!(updated.mode, DefineMode::Update);
    assert_eq!(updated.config.secret().unwrap().expose(), "bind-secret");
    assert_eq!(updated.config.get("SIZELIMIT"), Some("50"));

    update.insert("LDAPURI".into(), "ldap://elsewhere.example.test".into());
    assert_eq!(
        define_resolver(&update, &existing).unwrap_err().to_string(),
        "Missing parameter: ['BINDPW']"
    );
}

#[test]
fn readonly_resolvers_only_take_unchanged_definitions() {
    let mut first = params(&[
        ("name", "imported"),
        ("type", "sqlresolver"),
        ("Password", ""),
        ("Table", "imported_user"),
        ("Where", "groupid = 'imported'"),
        ("Map", r#"{"userid": "userid", "username": "username"}"#),
        ("readonly", "True"),
    ]);
    let imported = define_resolver(&first, &no_resolvers).unwrap().config;
    let existing = |name: &str| (name == "imported").then(|| imported.clone());

    // What LinOTP's UI sends back: every parameter as it was.
    first.insert("previous_name".into(), "imported".into());
    for (param, value) in imported.data() {
        first.insert(param.into(), value.into());
    }
    assert!(define_resolver(&first, &existing).is_ok());

    first.insert("Table".into(), "other_table".into());
    assert_eq!(
        define_resolver(&first, &existing).unwrap_err().to_string(),
        "Readonly Resolver Change not allowed!"
    );
}

#[test]
fn a_new_user_id_column_is_a_primary_key_change() {
    let users = define_resolver(
        &params(&[
            ("name", "users"),
            ("type", "sqlresolver"),
            ("Driver", "sqlite"),
            ("Connect", "sqlite:////tmp/users.db"),
            ("Password", "pw"),
            ("Table", "people"),
            ("Map", r#"{"userid": "id", "username": "login"}"#),
        ]),
        &no_resolvers,
    )
    .unwrap()
    .config;
    let existing = |name: &str| (name == "users").then(|| users.clone());
    let mut update = params(&[
        ("name", "users"),
        ("previous_name", "users"),
        ("type", "sqlresolver"),
        ("Driver", "sqlite"),
        ("Connect", "sqlite:////tmp/users.db"),
        ("Table", "people"),
        (
            "Map",
            r#"{"userid": "id", "username": "login", "email": "mail"}"#,
        ),
    ]);
    let same_key = define_resolver(&update, &existing).unwrap();
    assert!(!same_key.primary_key_changed);
    assert_eq!(same_key.config.secret().unwrap().expose(), "pw");
    update.insert(
        "Map".into(),
        r#"{"userid": "uuid", "username": "login"}"#.into(),
    );
    assert!(
        define_resolver(&update, &existing)
            .unwrap()
            .primary_key_changed
    );
}

#[test]
fn stored_definitions_missing_entries_are_refused() {
    let rows = HashMap::from([(
        "linotp.ldapresolver.LDAPURI.corp".to_owned(),
        "ldap://x".to_owned(),
    )]);
    let error = ResolverConfig::from_config(ResolverClass::Ldap, "corp", &rows).unwrap_err();
    assert_eq!(
        error.to_string(),
        "missing config entries: ['LDAPBASE', 'BINDDN', 'BINDPW', 'LOGINNAMEATTRIBUTE', \
         'LDAPFILTER', 'LDAPSEARCHFILTER', 'USERINFO']"
    );
}
