//! `/system/setConfig`, `getConfig`, `delConfig`, `setDefault`: typed and encrypted entries,
//! LinOTP's error replies, audit rows, and the change stamp that makes every node see a
//! change at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod system_common;

use serde_json::json;
use system_common::{Sys, second_node};

#[tokio::test]
async fn password_typed_values_are_stored_encrypted_and_never_shown_in_clear() {
    let mut sys = Sys::new();
    let reply = sys
        .post(
            "/system/setConfig",
            &[
                ("key", "gw.secret"),
                ("value", "Sup3rSecret!"),
                ("type", "password"),
            ],
        )
        .await;
    assert_eq!(reply.value(), json!({"setConfig gw.secret": true}));

    let stored = sys.stored("gw.secret").unwrap();
    assert_eq!(stored.typ.as_deref(), Some("encrypted_data"));
    assert!(!stored.value.contains("Sup3rSecret"));
    let clear = sys.state.security.decrypt_password(&stored.value).unwrap();
    assert_eq!(clear.expose(), b"Sup3rSecret!");

    let one = sys.post("/system/getConfig", &[("key", "gw.secret")]).await;
    assert_eq!(one.value()["getConfig gw.secret"], json!(stored.value));
    let all = sys.post("/system/getConfig", &[]).await;
    assert_eq!(all.value()["gw.secret"], json!(stored.value));
    assert!(!all.text().contains("Sup3rSecret"));

    // The `<key>.type` form of setConfig, and what the audit rows say.
    let pairs = sys
        .post(
            "/system/setConfig",
            &[
                ("smtp.pw", "hunter2-x"),
                ("smtp.pw.type", "password"),
                ("smtp.host", "mail"),
            ],
        )
        .await;
    assert_eq!(
        pairs.value(),
        json!({
            "setConfig smtp.pw:***": true,
            "setConfig smtp.pw.type:password": true,
            "setConfig smtp.host:mail": true
        })
    );
    assert_eq!(
        sys.stored("smtp.pw").unwrap().typ.as_deref(),
        Some("encrypted_data")
    );
    assert_eq!(sys.stored("smtp.host").unwrap().value, "mail");
    let events = sys.audit_events();
    assert_eq!(events.len(), 4, "one audit event per request");
    assert!(events.iter().all(|event| event.success));
    assert_eq!(events[0].action, "system/setConfig");
    assert_eq!(
        events[0].administrator,
        "admin@linotp_admins (LinOTP_local_admins)"
    );
    for event in &events {
        let row = format!("{event:?}");
        assert!(
            !row.contains("Sup3rSecret") && !row.contains("hunter2-x"),
            "{row}"
        );
    }
}

#[tokio::test]
async fn plain_entries_round_trip_with_type_and_description() {
    let sys = Sys::new();
    sys.post(
        "/system/setConfig",
        &[
            ("key", "pagesize"),
            ("value", "25"),
            ("type", "int"),
            ("description", "rows"),
        ],
    )
    .await
    .value();
    let stored = sys.stored("pagesize").unwrap();
    assert_eq!(
        (
            stored.value.as_str(),
            stored.typ.as_deref(),
            stored.description.as_deref()
        ),
        ("25", Some("int"), Some("rows"))
    );
    // Entries written without a type get LinOTP's `str(None)` on insert.
    sys.post("/system/setConfig", &[("fresh", "1")])
        .await
        .value();
    assert_eq!(sys.stored("fresh").unwrap().typ.as_deref(), Some("None"));

    let reply = sys.post("/system/getConfig", &[("key", "pagesize")]).await;
    assert_eq!(reply.value(), json!({"getConfig pagesize": "25"}));
    // `enclinotp.` keys are read as their `linotp.` entry.
    let enc = sys
        .post("/system/getConfig", &[("key", "enclinotp.pagesize")])
        .await;
    assert_eq!(enc.value(), json!({"getConfig linotp.pagesize": "25"}));
}

#[tokio::test]
async fn typed_keys_refuse_values_of_the_wrong_form() {
    let sys = Sys::new();
    let reply = sys
        .post(
            "/system/setConfig",
            &[("key", "user_lookup_cache.expiration"), ("value", "soon")],
        )
        .await;
    assert_eq!(
        reply.error(),
        (
            -311,
            "Config Error: linotp.user_lookup_cache.expiration must be of type 'duration'".into()
        )
    );
    assert_eq!(
        sys.stored("user_lookup_cache.expiration").unwrap().value,
        "64800"
    );
    let reply = sys
        .post(
            "/system/setConfig",
            &[("client.FORWARDED_PROXY", "not-a-network")],
        )
        .await;
    assert_eq!(reply.error().0, -311);
    sys.post(
        "/system/setConfig",
        &[("key", "user_lookup_cache.expiration"), ("value", "36h")],
    )
    .await
    .value();
    assert_eq!(
        sys.stored("user_lookup_cache.expiration").unwrap().value,
        "36h"
    );
}

/// Path, parameters, error code and message of a refused request.
type Refused<'a> = (&'a str, &'a [(&'a str, &'a str)], i64, &'a str);

#[tokio::test]
async fn missing_parameters_get_linotps_errors() {
    let sys = Sys::new();
    let cases: [Refused<'_>; 4] = [
        (
            "/system/setConfig",
            &[("key", "x")],
            905,
            "ERR905: Required parameters: value and key",
        ),
        (
            "/system/delConfig",
            &[],
            905,
            "ERR905: missing required parameter: key",
        ),
        (
            "/system/getConfig",
            &[("nokey", "x")],
            905,
            "ERR905: missing required parameter: key",
        ),
        (
            "/system/setDefault",
            &[("unknown", "1")],
            77,
            "ERR77: Usage: setDefault: parameters are        DefaultMaxFailCount        \
             DefaultSyncWindow        DefaultCountWindow        DefaultOtpLen        \
             DefaultResetFailCount        ",
        ),
    ];
    for (path, params, code, message) in cases {
        let reply = sys.post(path, params).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.error(), (code, message.to_owned()), "{path}");
    }
    assert_eq!(
        sys.get("/system/delConfig", &[("key", "x")]).await.status,
        405
    );
}

#[tokio::test]
async fn set_default_stores_token_defaults_by_any_case() {
    let sys = Sys::new();
    let reply = sys
        .post(
            "/system/setDefault",
            &[("defaultmaxfailcount", "7"), ("DefaultOtpLen", "8")],
        )
        .await;
    assert_eq!(
        reply.value(),
        json!({"set DefaultMaxFailCount": true, "set DefaultOtpLen": true})
    );
    assert_eq!(sys.stored("DefaultMaxFailCount").unwrap().value, "7");
    assert_eq!(sys.stored("DefaultOtpLen").unwrap().value, "8");
}

#[tokio::test]
async fn del_config_removes_the_entry_and_answers_true_for_unknown_keys() {
    let sys = Sys::new();
    sys.post("/system/setConfig", &[("key", "gone"), ("value", "v")])
        .await
        .value();
    let reply = sys.post("/system/delConfig", &[("key", "gone")]).await;
    assert_eq!(reply.value(), json!({"delConfig gone": true}));
    assert!(sys.stored("gone").is_none());
    let again = sys.post("/system/delConfig", &[("key", "gone")]).await;
    assert_eq!(again.value(), json!({"delConfig gone": true}));
    let read = sys.post("/system/getConfig", &[("key", "gone")]).await;
    assert_eq!(read.value(), json!({"getConfig gone": null}));
}

#[tokio::test]
async fn every_write_moves_the_change_stamp() {
    let sys = Sys::new();
    let stamp = || sys.stored("Config").unwrap().value;
    let mut seen = vec![stamp()];
    for params in [vec![("key", "a"), ("value", "1")], vec![("b", "2")]] {
        sys.post("/system/setConfig", &params).await.value();
        seen.push(stamp());
    }
    sys.post("/system/delConfig", &[("key", "a")]).await.value();
    seen.push(stamp());
    sys.post("/system/setDefault", &[("DefaultSyncWindow", "900")])
        .await
        .value();
    seen.push(stamp());
    for pair in seen.windows(2) {
        assert_ne!(pair[0], pair[1], "stamps {seen:?}");
    }
}

#[tokio::test]
async fn a_change_on_one_node_is_seen_by_another_at_once() {
    let sys = Sys::new();
    let (_, other) = second_node(&sys);
    // The other node has read (and cached) the configuration before the change.
    let before = sys
        .post_on(&other, "/system/getConfig", &[("key", "shared")])
        .await;
    assert_eq!(before.value(), json!({"getConfig shared": null}));
    let before_realms = sys.post_on(&other, "/system/getRealms", &[]).await.value();
    assert!(before_realms.get("noderealm").is_none());

    sys.post("/system/setConfig", &[("key", "shared"), ("value", "v2")])
        .await
        .value();
    sys.upload(
        "/tools/import_users",
        &[("resolver", "NodeRes"), ("passwords_in_plaintext", "true")],
        &[("file", "u.csv", "nodeuser,n1,,,,,,pw-node\n")],
    )
    .await
    .value();
    sys.post(
        "/system/setRealm",
        &[
            ("realm", "noderealm"),
            (
                "resolvers",
                "useridresolver.SQLIdResolver.IdResolver.NodeRes",
            ),
        ],
    )
    .await
    .value();

    let after = sys
        .post_on(&other, "/system/getConfig", &[("key", "shared")])
        .await;
    assert_eq!(after.value(), json!({"getConfig shared": "v2"}));
    let realms = sys
        .post_on(&other, "/system/getRealms", &[("realm", "noderealm")])
        .await;
    assert_eq!(
        realms.value()["noderealm"]["useridresolver"],
        json!(["useridresolver.SQLIdResolver.IdResolver.NodeRes"])
    );
    // And the other node's users come from the new resolver.
    let users = sys
        .post_on(
            &other,
            "/admin/userlist",
            &[("realm", "noderealm"), ("username", "*")],
        )
        .await;
    assert!(
        users.text().contains("\"username\": \"nodeuser\""),
        "{}",
        users.text()
    );

    // A deletion likewise.
    sys.post("/system/delConfig", &[("key", "shared")])
        .await
        .value();
    let gone = sys
        .post_on(&other, "/system/getConfig", &[("key", "shared")])
        .await;
    assert_eq!(gone.value(), json!({"getConfig shared": null}));
}

#[tokio::test]
async fn switching_the_user_cache_off_is_accepted_and_stored() {
    let sys = Sys::new();
    let reply = sys
        .post(
            "/system/setConfig",
            &[("user_lookup_cache.enabled", "False")],
        )
        .await;
    assert_eq!(
        reply.value(),
        json!({"setConfig user_lookup_cache.enabled:False": true})
    );
    assert_eq!(
        sys.stored("user_lookup_cache.enabled").unwrap().value,
        "False"
    );
}
