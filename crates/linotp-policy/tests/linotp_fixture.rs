//! The policies of the real LinOTP database (`shared/fixtures/linotp-sqlite`, read only)
//! and the `/system` policy exchanges recorded from LinOTP (`fixtures/golden/system.json`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use linotp_policy::{
    ActionValue, Field, NewPolicy, OtpPin, PolicyContext, PolicyQuery, PolicySet, RealmRights,
    UserContext, parse_policy_file, render_policy_file,
};
use serde_json::Value;

fn shared_dir() -> PathBuf {
    std::env::var_os("LINOTP_FIXTURE_DIR")
        .map(|dir| PathBuf::from(dir).join(".."))
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
        })
}

fn read_json(relative: &str) -> Value {
    let text = std::fs::read_to_string(shared_dir().join(relative)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The raw `Config` rows LinOTP stored.
fn config_rows() -> Vec<(String, String)> {
    read_json("linotp-sqlite/stored.json")["tables"]["Config"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["Key"].as_str().unwrap().to_owned(),
                row["Value"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn fixture_policies() -> PolicySet {
    PolicySet::from_config(config_rows())
}

fn user(login: &str) -> PolicyContext {
    PolicyContext::for_user(UserContext::new(login, "fixrealm").with_resolver("fixres"))
        .with_client("127.0.0.1".parse().unwrap())
}

#[test]
fn the_three_policies_load_as_linotp_shows_them() {
    let policies = fixture_policies();
    assert_eq!(policies.len(), 3);
    let manifest = read_json("linotp-sqlite/manifest.json");
    for policy in policies.iter() {
        // Empty stored time/client come back as LinOTP's getPolicy shows them.
        assert_eq!(
            serde_json::to_value(policy).unwrap(),
            manifest["policies"][policy.name()],
            "{}",
            policy.name()
        );
    }
    // getConfig's reply (prefix stripped) yields the same policies.
    let config = read_json("linotp-sqlite/config.json");
    let from_get_config = PolicySet::from_config(
        config["result"]["value"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned())),
    );
    assert_eq!(from_get_config, policies);
}

#[test]
fn carol_gets_otppin_1_and_everyone_else_the_token_pin() {
    let policies = fixture_policies();
    assert_eq!(policies.otppin(&user("carol")).unwrap(), OtpPin::Password);
    assert_eq!(policies.otppin(&user("alice")).unwrap(), OtpPin::TokenPin);
    assert_eq!(policies.otppin(&user("bob")).unwrap(), OtpPin::TokenPin);
    // Another realm's carol is not meant.
    let other = PolicyContext::for_user(UserContext::new("carol", "otherrealm"));
    assert_eq!(policies.otppin(&other).unwrap(), OtpPin::TokenPin);
    // The fixture's quirk: check_s by serial names no user, so the realm-wide
    // lookup (default realm fixrealm) finds carol's policy for every token.
    let serial_only = PolicyContext::new().with_realm("fixrealm");
    assert_eq!(policies.otppin(&serial_only).unwrap(), OtpPin::Password);
    assert!(!policies.passthru(&user("carol")).unwrap());
}

#[test]
fn admin_has_all_rights_and_other_admins_none() {
    let policies = fixture_policies();
    let admin = PolicyContext::for_admin(UserContext::new("admin", "linotp_admins"));
    for action in ["initHMAC", "remove", "show", "userlist", "getotp"] {
        assert!(policies.is_allowed("admin", action, &admin), "{action}");
    }
    assert_eq!(
        policies.admin_realms("admin", Some("remove"), &admin),
        RealmRights::AllExcept(Default::default())
    );
    let helper = PolicyContext::for_admin(UserContext::new("helper", "linotp_admins"));
    assert!(!policies.is_allowed("admin", "show", &helper));
    assert!(!policies.admin_realms("admin", None, &helper).has_any());
    // No system policy exists: system config is open to every admin.
    assert!(policies.is_allowed("system", "write", &helper));
}

#[test]
fn fixrealm_users_get_their_selfservice_rights() {
    let policies = fixture_policies();
    let alice = user("alice");
    for action in ["enrollHMAC", "enrollTOTP", "setOTPPIN", "history"] {
        assert!(
            policies.is_allowed("selfservice", action, &alice),
            "{action}"
        );
    }
    for action in ["enrollSMS", "delete", "reset"] {
        assert!(
            !policies.is_allowed("selfservice", action, &alice),
            "{action}"
        );
    }
    let rules = policies.pin_rules("selfservice", &alice).unwrap();
    assert_eq!(rules.min_length, Some(4));
    assert!(rules.check("123").is_err());
    let actions = policies.selfservice_actions(&alice);
    assert_eq!(actions.get("otp_pin_minlength"), Some(&ActionValue::Int(4)));
    let stranger = PolicyContext::for_user(UserContext::new("eve", "elsewhere"));
    assert!(!policies.is_allowed("selfservice", "history", &stranger));
}

#[test]
fn the_policies_pass_linotps_action_validation() {
    // The fixture has policy_action_validation=True, so LinOTP validated them when they were set.
    let rows: BTreeMap<String, String> = config_rows().into_iter().collect();
    assert_eq!(
        rows.get("linotp.policy_action_validation")
            .map(String::as_str),
        Some("True")
    );
    for name in ["fix_auth_otppin", "fix_admin_all", "fix_selfservice"] {
        let field = |attribute: &str| rows[&format!("linotp.Policy.{name}.{attribute}")].clone();
        let stored = NewPolicy {
            name: name.to_owned(),
            scope: field("scope"),
            action: field("action"),
            realm: field("realm"),
            user: Some(field("user")),
            time: Some(field("time")),
            client: Some(field("client")),
            active: Some(field("active")),
            enforce: false,
        };
        stored.validate(true).unwrap();
        // Storing it again writes exactly the rows LinOTP wrote.
        for (key, value) in stored.config_entries() {
            assert_eq!(rows.get(&key), Some(&value), "{key}");
        }
    }
}

#[test]
fn explain_says_why_alice_keeps_her_token_pin() {
    let policies = fixture_policies();
    let explanation = policies.explain("authentication", "otppin", &user("alice"));
    assert_eq!(explanation.considered.len(), 1);
    let verdict = &explanation.considered[0];
    assert_eq!(verdict.name, "fix_auth_otppin");
    assert!(!verdict.matched);
    assert_eq!(verdict.excluded_by, Some(Field::User));
    assert_eq!(verdict.reason, "user 'alice@fixrealm' not in [carol]");
    assert_eq!(explanation.value, None);
    assert_eq!(explanation.default, Some(ActionValue::Int(0)));

    let carol = policies.explain("authentication", "otppin", &user("carol"));
    assert_eq!(carol.selected, ["fix_auth_otppin"]);
    assert_eq!(carol.value, Some(ActionValue::Int(1)));
    let json = serde_json::to_value(&carol).unwrap();
    assert_eq!(json["considered"][0]["user_match"], "exact");
    assert_eq!(json["decision"]["allowed"], true);
}

#[test]
fn export_and_import_round_trip_the_fixture() {
    let policies = fixture_policies();
    let file = render_policy_file(policies.iter()).unwrap();
    let imported = parse_policy_file(&file).unwrap();
    assert_eq!(imported.len(), 3);
    let set = PolicySet::from_policies(imported.iter().map(NewPolicy::to_policy));
    assert_eq!(set, policies);
}

/// The golden `/system` exchanges: what `setPolicy` got, `getPolicy` answered.
#[test]
fn golden_set_and_get_policy() {
    let cases = read_json("golden/system.json");
    let case = |name: &str| {
        cases
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    let set_params = case("setPolicy")["params"].clone();
    let param = |key: &str| set_params[key].as_str().map(str::to_owned);
    let new_policy = NewPolicy {
        name: param("name").unwrap(),
        scope: param("scope").unwrap(),
        action: param("action").unwrap(),
        realm: param("realm").unwrap(),
        user: param("user"),
        time: param("time"),
        client: param("client"),
        active: param("active"),
        enforce: false,
    };
    new_policy.validate(false).unwrap();
    let mut set = fixture_policies();
    set.check_lockout(&new_policy).unwrap();
    let stored =
        PolicySet::from_config(config_rows().into_iter().chain(new_policy.config_entries()));
    set.insert(new_policy.to_policy());
    assert_eq!(stored, set);

    for name in ["getPolicy.by_name", "getPolicy.by_name_realm_scope"] {
        let golden = case(name);
        let params = &golden["params"];
        let query = PolicyQuery {
            name: params["name"].as_str().map(str::to_owned),
            realm: params["realm"].as_str().map(str::to_owned),
            scope: params["scope"].as_str().map(str::to_owned),
            ..PolicyQuery::default()
        };
        let found: serde_json::Map<String, Value> = stored
            .search(&query)
            .into_iter()
            .map(|policy| {
                (
                    policy.name().to_owned(),
                    serde_json::to_value(policy).unwrap(),
                )
            })
            .collect();
        let body: Value = serde_json::from_str(golden["body"].as_str().unwrap()).unwrap();
        assert_eq!(Value::Object(found), body["result"]["value"], "{name}");
    }

    // delPolicy of an unknown name deletes nothing and is no error.
    stored.check_delete("nosuchpol", false).unwrap();
    let mut after_delete = stored.clone();
    after_delete.remove("gldpol");
    assert!(
        after_delete
            .search(&PolicyQuery {
                name: Some("gldpol".into()),
                ..PolicyQuery::default()
            })
            .is_empty()
    );
}
