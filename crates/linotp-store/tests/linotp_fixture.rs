//! Real LinOTP data: the database LinOTP 4.0.0.dev0 made (`shared/fixtures/linotp-sqlite`),
//! adopted and read back completely, and our SQLite schema compared with LinOTP's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::TestDb;
use linotp_store::diesel::prelude::*;
use linotp_store::diesel::sql_types::{Integer, Text};
use linotp_store::migrate::{self, MIGRATIONS};
use linotp_store::tokens::{TokenFilter, TokenListOptions};
use linotp_store::users::{self, LocalAdmins};
use linotp_store::{AnyConnection, SchemaStatus, audit, config, realms, tokens};
use serde_json::Value;

fn fixture_dir() -> PathBuf {
    std::env::var_os("LINOTP_FIXTURE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/linotp-sqlite")
        })
}

fn read_json(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture_dir().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Copies a fixture file into a fresh temp dir (the fixture itself is read-only).
fn copy_fixture(file: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join(file);
    std::fs::copy(fixture_dir().join(file), &target).unwrap();
    (dir, target)
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn opt_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        other => Some(text(other)),
    }
}

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct SchemaObject {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    sql: String,
}

fn linotp_schema_sql(conn: &mut AnyConnection) -> Vec<SchemaObject> {
    linotp_store::diesel::sql_query(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL \
         AND name NOT LIKE 'linotp_rs_%' AND tbl_name NOT LIKE 'linotp_rs_%' ORDER BY name",
    )
    .load(conn)
    .unwrap()
}

#[test]
fn linotp_database_is_adopted_and_every_record_reads_back() {
    let manifest = read_json("manifest.json");
    let stored = read_json("stored.json");
    let (dir, file) = copy_fixture("linotp.db");
    let db = TestDb::sqlite_file(dir, &file);
    let store = db.store();

    assert_eq!(
        store.schema_status().unwrap(),
        SchemaStatus::NeedsUpgrade {
            pending: vec!["0002_linotp_rs_jwt_blocklist".to_owned()],
            adopt_linotp: true
        }
    );
    let before = linotp_schema_sql(&mut store.connection().unwrap());
    let report = store.migrate().unwrap();
    assert_eq!(report.adopted, vec!["0001_linotp_4_0_0_0"]);
    assert_eq!(report.applied, vec!["0002_linotp_rs_jwt_blocklist"]);
    store.ensure_current().unwrap();
    let mut conn = store.connection().unwrap();
    assert_eq!(
        linotp_schema_sql(&mut conn),
        before,
        "adoption must not alter LinOTP's tables"
    );

    // --- tokens: every manifest token, against its raw stored row and its state ---------
    let stored_tokens: BTreeMap<String, &Value> = stored["tables"]["Token"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (text(&row["LinOtpTokenSerialnumber"]), row))
        .collect();
    let user_ids: BTreeMap<String, String> = manifest["userstore"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (text(&u["username"]), text(&u["userid"])))
        .collect();
    let resolver_spec = text(&manifest["userstore"]["resolver_spec"]);
    let mut tokens_checked = 0;
    for expected in manifest["tokens"].as_array().unwrap() {
        let serial = text(&expected["serial"]);
        let state = &expected["state_after_calls"];
        let raw = stored_tokens[&serial];
        let token = tokens::get_by_serial(&mut conn, &serial)
            .unwrap()
            .unwrap_or_else(|| panic!("{serial} missing"));

        assert_eq!(
            token.token_type,
            text(&expected["linotp_tokentype"]),
            "{serial}"
        );
        assert_eq!(
            i64::from(token.id),
            state["LinOtp.TokenId"].as_i64().unwrap()
        );
        assert_eq!(
            i64::from(token.otp_len),
            state["LinOtp.OtpLen"].as_i64().unwrap()
        );
        assert_eq!(
            i64::from(token.count),
            state["LinOtp.Count"].as_i64().unwrap(),
            "{serial}"
        );
        assert_eq!(
            i64::from(token.fail_count),
            state["LinOtp.FailCount"].as_i64().unwrap(),
            "{serial}"
        );
        assert_eq!(
            i64::from(token.max_fail),
            state["LinOtp.MaxFail"].as_i64().unwrap()
        );
        assert_eq!(token.is_active, state["LinOtp.Isactive"].as_bool().unwrap());
        assert_eq!(
            i64::from(token.count_window),
            state["LinOtp.CountWindow"].as_i64().unwrap()
        );
        assert_eq!(
            i64::from(token.sync_window),
            state["LinOtp.SyncWindow"].as_i64().unwrap()
        );
        match expected["user"].as_str() {
            Some(user) => {
                assert_eq!(token.user_id, user_ids[user], "{serial}");
                assert_eq!(token.id_res_class, resolver_spec, "{serial}");
                let found =
                    tokens::find_by_user(&mut conn, &user_ids[user], &resolver_spec).unwrap();
                assert!(found.iter().any(|t| t.serial == serial), "{serial} by user");
            }
            None => assert_eq!(token.user_id, "", "{serial}"),
        }
        // LinOTP leaves tokeninfo empty for tokens that never got any (spass, pw).
        let info: Value = if token.token_info.is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_str(&token.token_info).unwrap()
        };
        let info_keys: BTreeSet<&String> = info.as_object().unwrap().keys().collect();
        let expected_keys: BTreeSet<&String> = state["LinOtp.TokenInfo"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(info_keys, expected_keys, "{serial} tokeninfo keys");
        let expected_realms: Vec<String> = state["LinOtp.RealmNames"]
            .as_array()
            .unwrap()
            .iter()
            .map(text)
            .collect();
        assert_eq!(
            realms::realms_of_token(&mut conn, token.id).unwrap(),
            expected_realms
        );

        // Raw columns exactly as LinOTP stored them.
        assert_eq!(token.description, text(&raw["LinOtpTokenDesc"]));
        assert_eq!(token.token_info, text(&raw["LinOtpTokenInfo"]));
        assert_eq!(
            token.id_resolver,
            text(&raw["LinOtpIdResolver"]),
            "{serial}"
        );
        assert_eq!(token.id_res_class, text(&raw["LinOtpIdResClass"]));
        assert_eq!(token.pin_user, text(&raw["LinOtpTokenPinUser"]));
        assert_eq!(token.pin_user_iv, text(&raw["LinOtpTokenPinUserIV"]));
        assert_eq!(token.pin_salt, text(&raw["LinOtpSeed"]));
        assert_eq!(token.pin_hash, text(&raw["LinOtpPinHash"]));
        assert_eq!(token.key_enc, text(&raw["LinOtpKeyEnc"]));
        assert_eq!(token.key_iv, text(&raw["LinOtpKeyIV"]));
        assert_eq!(
            token
                .creation_date
                .map(|d| d.format("%Y-%m-%d %H:%M:%S%.6f").to_string()),
            opt_text(&raw["LinOtpCreationDate"])
        );
        assert_eq!(token.last_auth_success, None);
        tokens_checked += 1;
    }
    assert_eq!(tokens_checked, stored_tokens.len());
    assert_eq!(tokens::count_all(&mut conn).unwrap(), tokens_checked as i64);
    let listed = tokens::list(
        &mut conn,
        &TokenFilter::default(),
        &TokenListOptions::default(),
    )
    .unwrap();
    assert_eq!(listed.total, tokens_checked as i64);

    // --- realms and links -----------------------------------------------------------
    let stored_realms = stored["tables"]["Realm"].as_array().unwrap();
    let mut realm_rows: Vec<(i64, String, bool)> = stored_realms
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap(),
                text(&r["name"]),
                r["default"].as_i64() == Some(1),
            )
        })
        .collect();
    realm_rows.sort_by(|a, b| a.1.cmp(&b.1));
    let read_realms: Vec<(i64, String, bool)> = realms::list(&mut conn)
        .unwrap()
        .into_iter()
        .map(|r| (i64::from(r.id), r.name, r.is_default))
        .collect();
    assert_eq!(read_realms, realm_rows);
    let links = stored["tables"]["TokenRealm"].as_array().unwrap();
    let realm_name: BTreeMap<i64, String> = realm_rows
        .iter()
        .map(|(id, name, _)| (*id, name.clone()))
        .collect();
    for link in links {
        let token_id = i32::try_from(link["token_id"].as_i64().unwrap()).unwrap();
        let name = &realm_name[&link["realm_id"].as_i64().unwrap()];
        assert!(
            realms::realms_of_token(&mut conn, token_id)
                .unwrap()
                .contains(name)
        );
    }

    // --- config: every raw row, then the manifest's clear values -----------------------
    let stored_config = stored["tables"]["Config"].as_array().unwrap();
    let mut config_checked = 0;
    for row in stored_config {
        let key = text(&row["Key"]);
        let entry = config::get(&mut conn, &key).unwrap().unwrap();
        assert_eq!(entry.value, text(&row["Value"]), "{key}");
        assert_eq!(entry.typ, opt_text(&row["Type"]), "{key}");
        assert_eq!(entry.description, opt_text(&row["Description"]), "{key}");
        config_checked += 1;
    }
    let all_config = config::list(&mut conn).unwrap();
    assert_eq!(all_config.len(), config_checked);
    let raw_value = |key: &str| -> String {
        text(
            &stored_config
                .iter()
                .find(|row| row["Key"] == key)
                .unwrap_or_else(|| panic!("{key} not in stored.json"))["Value"],
        )
    };
    let set_via_api = manifest["config"]["set_via_setConfig"].as_object().unwrap();
    for (key, expected) in set_via_api {
        let entry = config::get(&mut conn, key).unwrap().unwrap();
        if entry.is_encrypted() {
            // Decrypting is linotp-crypto's job; here the stored iv:cipher text must match.
            assert_eq!(entry.value, raw_value(key), "{key}");
            assert_eq!(
                entry.typ.as_deref(),
                expected["stored_type"].as_str(),
                "{key}"
            );
            assert!(entry.value.contains(':'), "{key}: iv:cipher expected");
            assert!(!format!("{entry:?}").contains(&entry.value));
        } else {
            assert_eq!(entry.value, text(&expected["clear_value"]), "{key}");
        }
    }
    for provider in manifest["config"]["providers"]
        .as_object()
        .unwrap()
        .values()
    {
        let key = text(&provider["config_key"]);
        let key = key.split(" (").next().unwrap();
        let entry = config::get(&mut conn, key).unwrap().unwrap();
        assert_eq!(entry.typ.as_deref(), Some("encrypted_data"), "{key}");
        assert_eq!(entry.value, raw_value(key), "{key}");
    }
    for key in manifest["config"]["other_encrypted_entries"]
        .as_object()
        .unwrap()
        .keys()
    {
        assert_eq!(
            config::get_value(&mut conn, key).unwrap().unwrap(),
            raw_value(key)
        );
    }
    assert_eq!(
        config::get_value(&mut conn, "DefaultRealm")
            .unwrap()
            .as_deref(),
        manifest["userstore"]["default_realm"].as_str()
    );

    // --- imported users and the local admin ------------------------------------------
    let stored_users = stored["tables"]["imported_user"].as_array().unwrap();
    for row in stored_users {
        let user = users::get(&mut conn, &text(&row["groupid"]), &text(&row["userid"]))
            .unwrap()
            .unwrap();
        assert_eq!(user.username, text(&row["username"]));
        assert_eq!(user.password, text(&row["password"]));
        assert_eq!(user.email, text(&row["email"]));
    }
    let userstore = manifest["userstore"]["resolver"].as_str().unwrap();
    let manifest_users = manifest["userstore"]["users"].as_array().unwrap();
    for expected in manifest_users {
        let user = users::get_by_username(&mut conn, userstore, &text(&expected["username"]))
            .unwrap()
            .unwrap();
        assert_eq!(user.userid, text(&expected["userid"]));
        assert_eq!(user.surname, text(&expected["surname"]));
        assert_eq!(user.givenname, text(&expected["givenname"]));
        assert_eq!(user.email, text(&expected["email"]));
        assert_eq!(user.phone, text(&expected["phone"]));
        assert_eq!(user.mobile, text(&expected["mobile"]));
        assert!(
            user.password.starts_with("$6$"),
            "sha512_crypt hash expected"
        );
    }
    assert_eq!(
        users::list_group(&mut conn, userstore).unwrap().len(),
        manifest_users.len()
    );
    let admins = LocalAdmins::default();
    let admin_name = manifest["admin"]["user"].as_str().unwrap();
    let admin = admins.get(&mut conn, admin_name).unwrap().unwrap();
    assert!(LocalAdmins::is_enabled(&admin));
    let stored_admin = stored_users
        .iter()
        .find(|row| row["groupid"] == users::LOCAL_ADMIN_GROUP)
        .unwrap();
    assert_eq!(admin.password, text(&stored_admin["password"]));
    assert_eq!(admins.list(&mut conn).unwrap().len(), 1);
    assert_eq!(
        stored_users.len(),
        manifest_users.len() + 1,
        "every stored user is covered"
    );
}

#[test]
fn linotp_audit_rows_read_back() {
    let manifest = read_json("manifest.json");
    let (dir, file) = copy_fixture("linotp.db_audit");
    let db = TestDb::sqlite_file(dir, &file);
    let mut conn = db.store().connection().unwrap();
    let expected_rows = manifest["audit"]["rows"].as_i64().unwrap();
    assert_eq!(audit::count(&mut conn).unwrap(), expected_rows);
    assert_eq!(
        audit::max_id(&mut conn).unwrap().map(i64::from),
        Some(expected_rows)
    );
    let validate_rows = manifest["audit"]["validate_rows"].as_array().unwrap();
    for expected in validate_rows {
        let id = i32::try_from(expected["id"].as_i64().unwrap()).unwrap();
        let row = audit::get(&mut conn, id).unwrap().unwrap();
        for (column, value) in [
            ("timestamp", &row.timestamp),
            ("action", &row.action),
            ("success", &row.success),
            ("serial", &row.serial),
            ("user", &row.user),
            ("realm", &row.realm),
        ] {
            assert_eq!(
                value.as_deref(),
                expected[column].as_str(),
                "row {id} {column}"
            );
        }
        assert_eq!(
            row.signature.as_deref().map(str::len),
            Some(512),
            "row {id}"
        );
    }
    let query = audit::AuditQuery {
        conditions: vec![(audit::AuditColumn::Action, "validate/%".into())],
        ..Default::default()
    };
    let (rows, total) = audit::search(&mut conn, &query).unwrap();
    assert_eq!(total as usize, validate_rows.len());
    let ids: Vec<i64> = rows.iter().map(|r| i64::from(r.id)).collect();
    let expected_ids: Vec<i64> = validate_rows
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, expected_ids);
}

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ColumnInfo {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    r#type: String,
    #[diesel(sql_type = Integer)]
    notnull: i32,
    #[diesel(sql_type = Integer)]
    pk: i32,
}

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct IndexInfo {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Integer)]
    unique: i32,
    #[diesel(sql_type = Text)]
    columns: String,
}

type TableShape = (Vec<ColumnInfo>, Vec<IndexInfo>);

fn schema_shape(file: &Path) -> BTreeMap<String, TableShape> {
    let store = linotp_store::Store::open_uri(&format!("sqlite:///{}", file.display())).unwrap();
    let mut conn = store.connection().unwrap();
    let mut shape = BTreeMap::new();
    for table in migrate::table_names(&mut conn).unwrap() {
        if table.starts_with("linotp_rs_") {
            continue;
        }
        let columns: Vec<ColumnInfo> = linotp_store::diesel::sql_query(
            "SELECT name, type, \"notnull\" AS \"notnull\", pk FROM pragma_table_info(?) ORDER BY cid",
        )
        .bind::<Text, _>(&table)
        .load(&mut conn)
        .unwrap();
        let mut indexes: Vec<IndexInfo> = linotp_store::diesel::sql_query(
            "SELECT l.name AS name, l.\"unique\" AS \"unique\", \
             (SELECT group_concat(i.name, ',') FROM pragma_index_info(l.name) i) AS columns \
             FROM pragma_index_list(?) l",
        )
        .bind::<Text, _>(&table)
        .load(&mut conn)
        .unwrap();
        indexes.sort();
        shape.insert(table, (columns, indexes));
    }
    shape
}

#[test]
fn created_sqlite_schema_matches_linotps_own() {
    let db = TestDb::sqlite().migrated();
    let ours = schema_shape(&db.dir().unwrap().join("linotp.db"));

    let (main_dir, main_file) = copy_fixture("linotp.db");
    let (_audit_dir, audit_file) = copy_fixture("linotp.db_audit");
    let mut linotp = schema_shape(&main_file);
    linotp.extend(schema_shape(&audit_file));
    drop(main_dir);

    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        linotp.keys().collect::<Vec<_>>(),
        "same tables"
    );
    for (table, (columns, indexes)) in &linotp {
        let (our_columns, our_indexes) = &ours[table];
        assert_eq!(our_columns, columns, "columns of {table}");
        assert_eq!(our_indexes, indexes, "indexes of {table}");
    }
    // The baseline SQL is the only one that creates LinOTP tables.
    assert_eq!(MIGRATIONS.iter().filter(|m| m.linotp_baseline).count(), 1);
}
