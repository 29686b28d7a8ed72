//! Policies over `/system`: set, get, export/import, delete, check (with `explain=1`),
//! definitions, the flexi table, and the `system`/`tools` scope authorisation of every
//! `/system` and `/tools` endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod system_common;

use serde_json::json;
use system_common::Sys;

fn policy<'a>(
    name: &'a str,
    scope: &'a str,
    action: &'a str,
    realm: &'a str,
    user: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("scope", scope),
        ("action", action),
        ("realm", realm),
        ("user", user),
    ]
}

#[tokio::test]
async fn policies_are_stored_as_linotp_stores_them_and_listed() {
    let sys = Sys::new();
    let reply = sys
        .post(
            "/system/setPolicy",
            &[
                ("name", "ss1"),
                ("scope", "selfservice"),
                ("action", "enrollHMAC, history"),
                ("realm", "MyRealm"),
            ],
        )
        .await;
    assert_eq!(
        reply.value(),
        json!({"setPolicy ss1": {
            "action": true, "scope": true, "realm": true, "user": true,
            "time": true, "client": true, "active": true
        }})
    );
    let user = sys.stored("Policy.ss1.user").unwrap();
    assert_eq!(user.value, "None", "absent attributes are Python's None");
    assert_eq!(user.typ.as_deref(), Some(""));
    assert_eq!(user.description.as_deref(), Some("a policy definition"));
    assert_eq!(sys.stored("Policy.ss1.realm").unwrap().value, "MyRealm");

    let listed = sys
        .post("/system/getPolicy", &[("name", "ss1")])
        .await
        .value();
    assert_eq!(
        listed,
        json!({"ss1": {
            "action": "enrollHMAC, history", "scope": "selfservice", "realm": "myrealm",
            "user": "*", "time": "* * * * * *;", "client": "*", "active": "True", "name": "ss1"
        }})
    );
    sys.post(
        "/system/setPolicy",
        &[
            ("name", "off"),
            ("scope", "admin"),
            ("action", "show"),
            ("realm", "*"),
            ("active", "False"),
        ],
    )
    .await
    .value();
    let active = sys.post("/system/getPolicy", &[]).await.value();
    assert!(active.get("off").is_none());
    let all = sys
        .post("/system/getPolicy", &[("display_inactive", "1")])
        .await
        .value();
    assert_eq!(all["off"]["active"], "False");
    let by_scope = sys
        .get(
            "/system/getPolicy",
            &[("scope", "admin"), ("display_inactive", "1")],
        )
        .await;
    assert_eq!(by_scope.value().as_object().unwrap().len(), 1);
}

#[tokio::test]
async fn forward_server_secrets_are_stored_encrypted() {
    let sys = Sys::new();
    sys.post(
        "/system/setPolicy",
        &policy(
            "fwd",
            "authentication",
            "forward_server=radius://10.0.0.1:1812/?secret=Radius-S3cret",
            "*",
            "*",
        ),
    )
    .await
    .value();
    let action = sys.stored("Policy.fwd.action").unwrap().value;
    assert!(
        action.starts_with("forward_server=radius://10.0.0.1:1812/?encsecret="),
        "{action}"
    );
    assert!(!action.contains("Radius-S3cret"));
    let encrypted = action
        .rsplit("encsecret=")
        .next()
        .unwrap()
        .replace("%3A", ":");
    assert_eq!(
        sys.state.security.decrypt_pin(&encrypted).unwrap().expose(),
        b"Radius-S3cret"
    );
}

/// Parameters of a refused `setPolicy`, the error code and message.
type RefusedPolicy<'a> = (Vec<(&'a str, &'a str)>, i64, &'a str);

#[tokio::test]
async fn malformed_policies_are_refused_with_linotps_errors() {
    let sys = Sys::new();
    let cases: [RefusedPolicy<'_>; 6] = [
        (
            vec![("name", "p"), ("action", "a"), ("realm", "*")],
            905,
            "ERR905: missing required parameter: scope",
        ),
        (
            vec![("scope", "admin"), ("action", "a"), ("realm", "*")],
            905,
            "ERR905: missing required parameter: name",
        ),
        (
            policy("", "admin", "show", "*", "*"),
            -311,
            "The name of the policy must not be empty",
        ),
        (
            policy("bad.name", "admin", "show", "*", "*"),
            -311,
            "The name of the policy may only contain the characters a-zA-Z0-9_.",
        ),
        (
            policy("dup", "authentication", "otppin=1, otppin=2", "*", "*"),
            -311,
            "duplicate key definition 'otppin'",
        ),
        (
            policy("nosuch", "admin", "frobnicate", "*", "*"),
            -311,
            "unsupported policy action 'frobnicate' in policy 'nosuch' ",
        ),
    ];
    for (params, code, message) in cases {
        let reply = sys.post("/system/setPolicy", &params).await;
        assert_eq!(reply.error(), (code, message.to_owned()), "{params:?}");
    }
    let bad_time = sys
        .post(
            "/system/setPolicy",
            &[
                ("name", "t"),
                ("scope", "admin"),
                ("action", "show"),
                ("realm", "*"),
                ("time", "* * *"),
            ],
        )
        .await;
    assert_eq!(bad_time.error().0, -311);
    let del_bad = sys.post("/system/delPolicy", &[("name", "bad.name")]).await;
    assert_eq!(
        del_bad.error(),
        (
            8888,
            "ERR8888: policy name may only contain the characters a-zA-Z0-9_".into()
        )
    );
    let del_missing = sys.post("/system/delPolicy", &[]).await;
    assert_eq!(del_missing.error(), (-311, "'name'".into()));
    assert!(
        sys.post("/system/getPolicy", &[])
            .await
            .value()
            .as_object()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn system_policies_decide_who_reads_and_writes_the_configuration() {
    let sys = Sys::new();
    // A system policy without write for anybody would lock everybody out.
    let lockout = sys
        .post(
            "/system/setPolicy",
            &policy("readonly", "system", "read", "*", "admin"),
        )
        .await;
    assert_eq!(
        lockout.error(),
        (
            -311,
            "Warning: potential lockout due to policy defintion: no active system policy with \
             'write' permission defined!"
                .into()
        )
    );
    sys.post(
        "/system/setPolicy",
        &policy("sysadmin", "system", "read, write", "*", "admin"),
    )
    .await
    .value();
    sys.post(
        "/system/setPolicy",
        &policy("sysreader", "system", "read", "*", "reader"),
    )
    .await
    .value();

    let reader = sys.admin_session("reader");
    let stranger = sys.admin_session("stranger");
    assert!(
        sys.post_as(&reader, "/system/getConfig", &[("key", "DefaultOtpLen")])
            .await
            .value()
            .is_object()
    );
    let write = sys
        .post_as(
            &reader,
            "/system/setConfig",
            &[("key", "x"), ("value", "1")],
        )
        .await;
    assert_eq!(
        write.error(),
        (
            410,
            "ERR410: Policy check failed. You are not allowed to write system config.".into()
        )
    );
    assert!(sys.stored("x").is_none());
    let read = sys.post_as(&stranger, "/system/getRealms", &[]).await;
    assert_eq!(
        read.error(),
        (
            410,
            "ERR410: Policy check failed. You are not allowed to read system config.".into()
        )
    );
    // The tools need the tools scope, and import_users a system write right too.
    let import = sys
        .upload(
            "/tools/import_users",
            &[("resolver", "Tools1")],
            &[("file", "u.csv", "ua,1\n")],
        )
        .await;
    assert_eq!(import.value()["created"], json!({"1": "ua"}));
    let import_as_reader = system_common::Sys::send_to(
        &sys.router,
        axum::http::Method::POST,
        "/tools/import_users",
        Some(&format!(
            "multipart/form-data; boundary={}",
            system_common::BOUNDARY
        )),
        system_common::multipart_body(&[("resolver", "Tools2")], &[("file", "u.csv", "ub,2\n")]),
        Some((&reader.0, &reader.1)),
    )
    .await;
    assert_eq!(
        import_as_reader.error(),
        (
            -311,
            "PolicyException(description='Policy check failed. You are not allowed to write \
             system config.', id=410)"
                .into()
        )
    );
    sys.post(
        "/system/setPolicy",
        &policy("toolsadm", "tools", "migrate_resolver", "*", "admin"),
    )
    .await
    .value();
    let import = sys
        .upload(
            "/tools/import_users",
            &[("resolver", "Tools1")],
            &[("file", "u.csv", "ua,1\n")],
        )
        .await;
    assert_eq!(
        import.error(),
        (
            410,
            "ERR410: You do not have the administrative right to manage tools. You are missing \
             a policy scope=tools, action=import_users"
                .into()
        )
    );
    // Deleting the last write policy would lock out; `enforce` overrides.
    let delete = sys.post("/system/delPolicy", &[("name", "sysadmin")]).await;
    assert!(delete.error().1.starts_with("Warning: potential lockout"));
    let forced = sys
        .post(
            "/system/delPolicy",
            &[("name", "sysadmin"), ("enforce", "true")],
        )
        .await;
    assert_eq!(
        forced.value()["delPolicy"]["result"]["linotp.Policy.sysadmin.action"],
        true
    );
    let now_locked = sys
        .post("/system/setConfig", &[("key", "x"), ("value", "1")])
        .await;
    assert_eq!(now_locked.error().0, 410);
}

#[tokio::test]
async fn export_and_import_round_trip() {
    let sys = Sys::new();
    sys.post(
        "/system/setPolicy",
        &policy("pin1", "authentication", "otppin=1", "gldrealm", "*"),
    )
    .await
    .value();
    sys.post(
        "/system/setPolicy",
        &[
            ("name", "ss2"),
            ("scope", "selfservice"),
            ("action", "enrollHMAC, setOTPPIN"),
            ("realm", "*"),
            ("user", "alice, bob"),
            ("client", "10.0.0.0/8"),
        ],
    )
    .await
    .value();
    let before = sys.post("/system/getPolicy", &[]).await.value();
    let export = sys.get("/system/getPolicy", &[("export", "true")]).await;
    assert_eq!(export.status, 200);
    assert!(export.content_type().starts_with("text/plain"));
    assert_eq!(
        export.headers.get("content-disposition").unwrap(),
        "attachment; filename=policy.cfg"
    );
    let file = export.text();
    assert!(file.contains("[pin1]\naction = otppin=1\n"), "{file}");
    assert!(file.contains("user = \"alice, bob\"\n"), "{file}");

    for name in ["pin1", "ss2"] {
        sys.post("/system/delPolicy", &[("name", name)])
            .await
            .value();
    }
    assert!(
        sys.post("/system/getPolicy", &[])
            .await
            .value()
            .as_object()
            .unwrap()
            .is_empty()
    );
    let imported = sys
        .upload(
            "/system/importPolicy",
            &[],
            &[("file", "policy.cfg", &file)],
        )
        .await;
    assert_eq!(imported.content_type(), "text/xml; charset=utf-8");
    assert_eq!(
        imported.text(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<jsonrpc version=\"2.0\">\n    <result>\n        \
         <status>True</status>\n        <value>2</value>\n    </result>\n    \
         <version>LinOTP 4.0.0.dev0</version>\n    <id>1</id>\n</jsonrpc>"
    );
    let after = sys.post("/system/getPolicy", &[]).await.value();
    assert_eq!(after, before);
}

#[tokio::test]
async fn import_errors_leave_the_policies_alone() {
    let sys = Sys::new();
    let no_file = sys.upload("/system/importPolicy", &[], &[]).await;
    assert_eq!(no_file.error(), (905, "ERR905: missing input file".into()));
    let empty = sys
        .upload("/system/importPolicy", &[], &[("file", "policy.cfg", "")])
        .await;
    assert_eq!(empty.content_type(), "text/xml; charset=utf-8");
    assert!(empty.text().contains("<code>-311</code>"));
    assert!(
        empty
            .text()
            .contains("<message>Error loading policy. File is empty!</message>")
    );
    let half_bad = "[good]\nscope = admin\naction = show\nrealm = *\n[bad.name]\nscope = admin\naction = show\n";
    let refused = sys
        .upload(
            "/system/importPolicy",
            &[],
            &[("file", "policy.cfg", half_bad)],
        )
        .await;
    assert!(
        refused.text().contains("<status>False</status>"),
        "{}",
        refused.text()
    );
    assert!(
        sys.post("/system/getPolicy", &[])
            .await
            .value()
            .as_object()
            .unwrap()
            .is_empty()
    );
    let broken = sys
        .upload(
            "/system/importPolicy",
            &[],
            &[("file", "policy.cfg", "[open\n")],
        )
        .await;
    assert!(broken.text().contains("<status>False</status>"));
}

#[tokio::test]
async fn check_policy_answers_like_linotp_and_explains_on_request() {
    let sys = Sys::new();
    let missing = sys.post("/system/checkPolicy", &[("user", "a")]).await;
    assert_eq!(
        missing.error(),
        (905, "ERR905: missing required parameter: realm".into())
    );
    let admin_free = sys
        .post(
            "/system/checkPolicy",
            &[
                ("user", "x"),
                ("realm", "r"),
                ("scope", "admin"),
                ("action", "show"),
                ("client", "10.1.1.1"),
            ],
        )
        .await;
    assert_eq!(
        admin_free.value(),
        json!({"allowed": true, "policy": "No policies in scope admin"})
    );

    sys.post(
        "/system/setPolicy",
        &[
            ("name", "lan"),
            ("scope", "selfservice"),
            ("action", "history"),
            ("realm", "gldrealm"),
            ("user", "alice"),
            ("client", "10.0.0.0/8"),
        ],
    )
    .await
    .value();
    let ask = |user: &'static str, client: &'static str, explain: bool| {
        let mut params = vec![
            ("user", user),
            ("realm", "gldrealm"),
            ("scope", "selfservice"),
            ("action", "history"),
            ("client", client),
        ];
        if explain {
            params.push(("explain", "1"));
        }
        params
    };
    let allowed = sys
        .post("/system/checkPolicy", &ask("alice", "10.1.2.3", false))
        .await
        .value();
    assert_eq!(allowed["allowed"], true);
    assert_eq!(allowed["policy"]["lan"]["client"], "10.0.0.0/8");
    assert!(
        allowed.get("explanation").is_none(),
        "LinOTP's reply unless asked"
    );

    let outside = sys
        .post("/system/checkPolicy", &ask("alice", "192.0.2.1", true))
        .await
        .value();
    assert_eq!(outside["allowed"], false);
    assert_eq!(outside["policy"], json!({}));
    let explanation = &outside["explanation"];
    assert_eq!(explanation["scope"], "selfservice");
    assert_eq!(explanation["decision"]["allowed"], false);
    assert_eq!(explanation["considered"][0]["name"], "lan");
    assert_eq!(explanation["considered"][0]["matched"], false);
    assert_eq!(explanation["considered"][0]["excluded_by"], "client");
    let reason = explanation["considered"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("192.0.2.1"), "{reason}");

    let bob = sys
        .post("/system/checkPolicy", &ask("bob", "10.1.2.3", true))
        .await
        .value();
    assert_eq!(bob["explanation"]["considered"][0]["excluded_by"], "user");
    let inside = sys
        .post("/system/checkPolicy", &ask("alice", "10.1.2.3", true))
        .await
        .value();
    assert_eq!(inside["explanation"]["decision"]["allowed"], true);
    assert_eq!(inside["explanation"]["selected"], json!(["lan"]));
}

#[tokio::test]
async fn definitions_and_the_flexi_table() {
    let sys = Sys::new();
    let system = sys
        .post("/system/getPolicyDef", &[("scope", "system")])
        .await
        .value();
    assert!(
        system.get("read").is_some() && system.get("write").is_some(),
        "{system}"
    );
    let all = sys.get("/system/getPolicyDef", &[]).await.value();
    assert!(all.get("admin").is_some() && all.get("authentication").is_some());

    for (name, scope, action) in [
        ("b_pol", "admin", "show"),
        ("a_pol", "selfservice", "footer_text='<b>'"),
    ] {
        sys.post(
            "/system/setPolicy",
            &[
                ("name", name),
                ("scope", scope),
                ("action", action),
                ("realm", "*"),
                ("active", if name == "b_pol" { "False" } else { "True" }),
            ],
        )
        .await;
    }
    let flexi = sys
        .post("/system/policies_flexi", &[("sortname", "name")])
        .await;
    assert!(flexi.content_type().starts_with("text/html"));
    let table = flexi.json();
    assert_eq!(table["total"], 2, "inactive policies too: {table}");
    assert_eq!(table["rows"][0]["id"], "a_pol");
    assert_eq!(table["rows"][0]["cell"][0], 1);
    assert_eq!(
        table["rows"][0]["cell"][4],
        "footer_text=&#x27;&lt;b&gt;&#x27;"
    );
    assert_eq!(table["rows"][1]["cell"][0], 0);
    let bad = sys
        .post("/system/policies_flexi", &[("sortname", "bogus")])
        .await;
    assert_eq!(bad.error(), (-311, "'bogus'".into()));
}

#[tokio::test]
async fn audit_search_needs_the_audit_view_right_once_audit_policies_exist() {
    let mut sys = Sys::new();
    let helpdesk = sys.admin_session("helpdesk");
    let params = [("serial", "NOSUCH")];
    // Without an audit policy every admin may search the trail.
    let open = sys.post_as(&helpdesk, "/audit/search", &params).await;
    assert_eq!(open.json()["total"], 0, "{}", open.text());

    sys.set_policy("auditors", "audit", "view", "*", "admin")
        .await;
    sys.audit_events();
    let refused = sys.post_as(&helpdesk, "/audit/search", &params).await;
    assert_eq!(refused.status, 200);
    assert_eq!(
        refused.error(),
        (
            410,
            "ERR410: You do not have the administrative right to view the audit trail. You are \
             missing a policy scope=audit, action=view"
                .to_owned()
        )
    );
    assert_eq!(refused.json()["id"], 1);
    let events = sys.audit_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, "audit/search");
    assert!(!events[0].success);
    assert_eq!(
        events[0].administrator,
        "helpdesk@linotp_admins (LinOTP_local_admins)"
    );

    // The admin the policy names still searches.
    let allowed = sys.post("/audit/search", &params).await;
    assert_eq!(allowed.json()["total"], 0, "{}", allowed.text());
    assert!(sys.audit_events()[0].success);
}
