//! `/admin/show` as admin clients and the web UI use it: fields, filters, realms, user
//! searches (including orphaned tokens), sorting, paging and the CSV and JSON formats.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_support;

use admin_support::{Admin, RFC4226_HEX};
use serde_json::json;

fn serials(reply: &admin_support::Reply) -> Vec<String> {
    reply.value()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["LinOtp.TokenSerialnumber"].as_str().unwrap().to_owned())
        .collect()
}

/// Five tokens: two of alice (realm1), one of bob (realm2), one unassigned in no realm, one
/// unassigned and disabled in realm2.
async fn populated() -> Admin {
    let admin = Admin::new();
    admin.import_users("res1", "realm1", &[("alice", "u1")]);
    admin.import_users("res2", "realm2", &[("bob", "u2")]);
    for (serial, description, user, realm) in [
        ("A1", "alpha", "alice", "realm1"),
        ("A2", "beta", "alice", "realm1"),
        ("B1", "gamma", "bob", "realm2"),
        ("N1", "delta", "", ""),
        ("N2", "epsilon", "", ""),
    ] {
        let mut params = vec![
            ("serial", serial),
            ("otpkey", RFC4226_HEX),
            ("description", description),
        ];
        if !user.is_empty() {
            params.push(("user", user));
            params.push(("realm", realm));
        }
        let reply = admin.post("/admin/init", &params).await;
        assert_eq!(reply.value(), true, "{}", reply.text());
    }
    admin
        .post(
            "/admin/tokenrealm",
            &[("serial", "N2"), ("realms", "realm2")],
        )
        .await;
    admin.post("/admin/disable", &[("serial", "N2")]).await;
    admin
}

#[tokio::test]
async fn rows_carry_linotps_fields_in_order() {
    let admin = populated().await;
    let reply = admin.get("/admin/show", &[("serial", "A1")]).await;
    let value = reply.value();
    assert_eq!(
        value["resultset"],
        json!({"pages": 1, "pagesize": 1, "tokens": 1, "page": 1})
    );
    let row = value["data"][0].as_object().unwrap();
    let keys: Vec<&str> = row.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "LinOtp.TokenId",
            "LinOtp.TokenDesc",
            "LinOtp.TokenSerialnumber",
            "LinOtp.TokenType",
            "LinOtp.TokenInfo",
            "LinOtp.IdResolver",
            "LinOtp.IdResClass",
            "LinOtp.Userid",
            "LinOtp.OtpLen",
            "LinOtp.MaxFail",
            "LinOtp.Isactive",
            "LinOtp.FailCount",
            "LinOtp.Count",
            "LinOtp.CountWindow",
            "LinOtp.SyncWindow",
            "LinOtp.CreationDate",
            "LinOtp.LastAuthSuccess",
            "LinOtp.LastAuthMatch",
            "LinOtp.RealmNames",
            "User.description",
            "User.userid",
            "User.username",
        ]
    );
    assert_eq!(row["LinOtp.TokenInfo"], "{\n\"hashlib\": \"sha1\"\n}");
    assert_eq!(row["LinOtp.RealmNames"], json!(["realm1"]));
    assert_eq!(row["User.username"], "alice");
    assert_eq!(row["LinOtp.LastAuthSuccess"], "");
    let created = row["LinOtp.CreationDate"].as_str().unwrap();
    // e.g. "Thu, 26 Nov 2026 10:41:40 GMT"
    assert!(
        chrono::NaiveDateTime::parse_from_str(created, "%a, %d %b %Y %H:%M:%S GMT").is_ok(),
        "{created}"
    );
}

/// `/admin/show` parameters and the serials they select, in the listing's order.
type Selection = (
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

#[tokio::test]
async fn filters_realms_and_user_searches_select_tokens() {
    let admin = populated().await;
    let all = admin.get("/admin/show", &[]).await;
    // Default order: description ascending.
    assert_eq!(serials(&all), ["A1", "A2", "N1", "N2", "B1"]);

    let cases: [Selection; 12] = [
        (&[("filter", "/:disabled:/")], &["N2"]),
        (
            &[("filter", "/:token is active:/")],
            &["A1", "A2", "N1", "B1"],
        ),
        (&[("filter", "amm")], &["B1"]),
        (&[("serial", "A*")], &["A1", "A2"]),
        (&[("viewrealm", "realm2")], &["N2", "B1"]),
        (&[("viewrealm", "/:no realm:/")], &["N1"]),
        (&[("viewrealm", "real*")], &["A1", "A2", "N2", "B1"]),
        (&[("user", "alice"), ("realm", "realm1")], &["A1", "A2"]),
        (&[("user", "alice@realm1")], &["A1", "A2"]),
        (&[("user", "/:no user:/")], &["N1", "N2"]),
        (&[("user", "*o*")], &["B1"]),
        (&[("user", "nobody"), ("realm", "realm1")], &[]),
    ];
    for (params, expected) in cases {
        let reply = admin.post("/admin/show", params).await;
        assert_eq!(serials(&reply), expected, "{params:?}");
        assert_eq!(
            reply.value()["resultset"]["tokens"],
            expected.len(),
            "{params:?}"
        );
    }
}

#[tokio::test]
async fn orphaned_tokens_are_found_and_marked() {
    let admin = populated().await;
    // bob leaves the user store: his token is now an orphan.
    linotp_store::users::delete(&mut admin.conn(), "res2", "u2").unwrap();
    let reply = admin
        .post("/admin/show", &[("user", "/:no user info:/")])
        .await;
    assert_eq!(serials(&reply), ["B1"]);
    let row = &reply.value()["data"][0];
    assert_eq!(row["User.username"], "/:no user info:/");
    assert_eq!(row["User.userid"], "/:no user info:/");
    assert_eq!(row["User.description"], "");
}

#[tokio::test]
async fn sorting_and_paging_follow_linotp() {
    let admin = populated().await;
    let reply = admin
        .post(
            "/admin/show",
            &[
                ("sortby", "TokenSerialnumber"),
                ("sortdir", "desc"),
                ("page", "2"),
                ("pagesize", "2"),
            ],
        )
        .await;
    // Serials descending: N2, N1, B1, A2, A1.
    assert_eq!(serials(&reply), ["B1", "A2"]);
    assert_eq!(
        reply.value()["resultset"],
        json!({"pages": 3, "pagesize": 2, "tokens": 5, "page": 2})
    );
    // A page size that is no number is 20; a page that is no number is 1.
    let reply = admin
        .post(
            "/admin/show",
            &[("page", "x"), ("pagesize", "y"), ("sortby", "TokenId")],
        )
        .await;
    assert_eq!(serials(&reply), ["A1", "A2", "B1", "N1", "N2"]);
    assert_eq!(
        reply.value()["resultset"],
        json!({"pages": 1, "pagesize": 20, "tokens": 5, "page": 1})
    );
    let reply = admin.post("/admin/show", &[("sortby", "TokenID")]).await;
    assert_eq!(
        reply.error(),
        (
            -311,
            "\"Tokens can't be sorted by TokenID. Did you mean any of ['TokenId', 'TokenDesc', \
             'TokenType']?\""
                .to_owned()
        )
    );
}

#[tokio::test]
async fn user_fields_tokeninfo_json_and_csv_formats() {
    let admin = populated().await;
    admin
        .post(
            "/admin/set",
            &[("serial", "A1"), ("validityPeriodEnd", "31/12/35 23:59")],
        )
        .await;
    let reply = admin
        .post(
            "/admin/show",
            &[
                ("serial", "A1"),
                ("user_fields", "email, mobile"),
                ("tokeninfo_format", "json"),
            ],
        )
        .await;
    let row = reply.value()["data"][0].clone();
    assert_eq!(row["User.email"], "alice@example.test");
    assert_eq!(row["User.mobile"], "+49 170 1");
    assert_eq!(
        row["LinOtp.TokenInfo"],
        json!({"hashlib": "sha1", "validity_period_end": "2035-12-31T23:59:00"})
    );

    let csv = admin
        .post("/admin/show", &[("serial", "A1"), ("outform", "csv")])
        .await;
    assert_eq!(csv.content_type, "application/force-download");
    assert_eq!(
        csv.headers.get("content-disposition").unwrap(),
        "attachment; filename=linotp-tokendata.csv"
    );
    let text = csv.text();
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("'LinOtp.TokenId'; 'LinOtp.TokenDesc'; "));
    assert!(lines[0].ends_with("'User.username'; "));
    let token = admin.token("A1");
    assert!(lines[1].starts_with(&format!(
        "'{}'; 'alpha'; 'A1'; 'HMAC'; '{{ \"hashlib\": \"sha1\", \"validity_period_end\": \"31/12/35 23:59\" }}'; 'SQLIdResolver.IdResolver.res1'; ",
        token.id
    )), "{}", lines[1]);
    assert!(lines[1].contains("'6'; '10'; 'True'; '0'; '0'; '10'; '1000'; "));
    assert!(
        lines[1].ends_with("'['realm1']'; ''; 'u1'; 'alice'; "),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2], "");

    let empty = admin
        .post("/admin/show", &[("serial", "NONE"), ("outform", "csv")])
        .await;
    assert_eq!(empty.text(), "");
}

#[tokio::test]
async fn show_writes_one_audit_event_with_realm_and_filter() {
    let mut admin = populated().await;
    admin.audit_events();
    admin.post("/admin/show", &[("filter", "alp")]).await;
    let events = admin.audit_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, "admin/show");
    assert!(events[0].success);
    assert_eq!(events[0].info, "realm: ['*'], filter: 'alp'");
}
