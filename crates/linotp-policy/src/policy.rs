//! The policy model: one [`Policy`] as LinOTP holds it after loading, the
//! [`NewPolicy`] that `setPolicy`/`importPolicy` store, and the
//! [`PolicySet`] built from `Config` entries.

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::action::{Actions, redact_secrets};
use crate::definitions::validate_actions;
use crate::error::{Error, Result};
use crate::matching::{ClientCondition, RealmCondition, UserCondition};
use crate::time::TimeCondition;

/// The `Config` key prefix of policy entries.
const KEY_PREFIX: &str = "linotp.Policy.";

/// The stored attributes of a policy, in the order LinOTP writes them.
pub const ATTRIBUTES: [&str; 7] = [
    "action", "scope", "realm", "user", "time", "client", "active",
];

/// Scopes in which an empty `user`/`client` means everyone (`*`).
const WILDCARD_WHEN_EMPTY: [&str; 5] = [
    "selfservice",
    "admin",
    "enrollment",
    "authorization",
    "authentication",
];

/// The conditions of a policy, parsed once when the policy is loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Conditions {
    pub(crate) actions: std::result::Result<Actions, Error>,
    pub(crate) realm: RealmCondition,
    pub(crate) user: UserCondition,
    pub(crate) client: ClientCondition,
    pub(crate) time: TimeCondition,
}

/// One policy, normalised the way LinOTP loads it: realm lower-cased, empty
/// `time` → `* * * * * *;`, missing `active` → `True`, and in the scopes
/// selfservice/admin/enrollment/authorization/authentication an empty
/// `user` or `client` → `*`.
///
/// Serialises to the `getPolicy` reply entry (all fields as strings).
#[derive(Clone)]
pub struct Policy {
    name: String,
    scope: String,
    action: String,
    realm: String,
    user: String,
    client: String,
    time: String,
    active: String,
    is_active: bool,
    pub(crate) conditions: Conditions,
}

/// Shows the stored fields; `secret=` values in the action are masked.
impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("name", &self.name)
            .field("scope", &self.scope)
            .field("action", &redact_secrets(&self.action))
            .field("realm", &self.realm)
            .field("user", &self.user)
            .field("client", &self.client)
            .field("time", &self.time)
            .field("active", &self.active)
            .finish()
    }
}

impl PartialEq for Policy {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.scope == other.scope
            && self.action == other.action
            && self.realm == other.realm
            && self.user == other.user
            && self.client == other.client
            && self.time == other.time
            && self.active == other.active
    }
}

impl Eq for Policy {}

impl Policy {
    /// Builds a policy from its stored attribute values (`None` for an
    /// attribute without a `Config` row), normalising as LinOTP does on load.
    pub fn from_stored(name: impl Into<String>, stored: &BTreeMap<String, String>) -> Self {
        let value = |attribute: &str| -> String {
            let raw = stored.get(attribute).map(String::as_str).unwrap_or("");
            if raw.trim() == "None" {
                String::new()
            } else {
                raw.to_owned()
            }
        };
        let scope = value("scope");
        let wildcard_when_empty = WILDCARD_WHEN_EMPTY.contains(&scope.as_str());
        let widen = |field: String| {
            if field.is_empty() && wildcard_when_empty {
                "*".to_owned()
            } else {
                field
            }
        };
        let time = value("time");
        let active = value("active");
        Self::assemble(
            name.into(),
            scope.clone(),
            value("action"),
            value("realm").to_lowercase(),
            widen(value("user")),
            widen(value("client")),
            if time.is_empty() {
                "* * * * * *;".to_owned()
            } else {
                time
            },
            if active.is_empty() {
                "True".to_owned()
            } else {
                active
            },
        )
    }

    #[allow(clippy::too_many_arguments)] // private: one argument per stored attribute
    fn assemble(
        name: String,
        scope: String,
        action: String,
        realm: String,
        user: String,
        client: String,
        time: String,
        active: String,
    ) -> Self {
        let conditions = Conditions {
            actions: Actions::parse(&action),
            realm: RealmCondition::parse(&realm),
            user: UserCondition::parse(&user),
            client: ClientCondition::parse(&client),
            time: TimeCondition::parse(&time),
        };
        let is_active = active.to_lowercase() == "true";
        Self {
            name,
            scope,
            action,
            realm,
            user,
            client,
            time,
            active,
            is_active,
            conditions,
        }
    }

    /// The policy name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The scope (`admin`, `authentication`, ...).
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The `action` field as written.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The parsed `action` field, or why it cannot be parsed (such a policy
    /// never matches an action).
    pub fn actions(&self) -> std::result::Result<&Actions, &Error> {
        self.conditions.actions.as_ref()
    }

    /// The `realm` field (lower-cased).
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The `user` field.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The `client` field.
    pub fn client(&self) -> &str {
        &self.client
    }

    /// The `time` field.
    pub fn time(&self) -> &str {
        &self.time
    }

    /// The `active` field as stored (`True`/`False`).
    pub fn active(&self) -> &str {
        &self.active
    }

    /// Whether the policy takes part in evaluation (`active` is `true` in any case).
    pub fn is_active(&self) -> bool {
        self.is_active
    }
}

impl Serialize for Policy {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(8))?;
        map.serialize_entry("action", &self.action)?;
        map.serialize_entry("scope", &self.scope)?;
        map.serialize_entry("realm", &self.realm)?;
        map.serialize_entry("user", &self.user)?;
        map.serialize_entry("time", &self.time)?;
        map.serialize_entry("client", &self.client)?;
        map.serialize_entry("active", &self.active)?;
        map.serialize_entry("name", &self.name)?;
        map.end()
    }
}

/// A policy as `setPolicy` receives it (and `importPolicy` reads it): raw
/// values, validated and stored as they are; normalisation happens on load.
///
/// LinOTP stores a `forward_server` URL's `secret=` encrypted as
/// `encsecret=`; that encryption is the caller's (it needs the encKey).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NewPolicy {
    /// Name, `[a-zA-Z0-9_]+`.
    pub name: String,
    /// Scope.
    pub scope: String,
    /// Action list.
    pub action: String,
    /// Realm list.
    pub realm: String,
    /// User list (`None`: not given).
    pub user: Option<String>,
    /// Cron time list (`None`: not given).
    pub time: Option<String>,
    /// Client list (`None`: not given).
    pub client: Option<String>,
    /// `True`/`False` (`None`: `True`).
    pub active: Option<String>,
    /// Skip the lock-out check for `system` policies. Not stored.
    pub enforce: bool,
}

/// Shows the fields; `secret=` values in the action are masked.
impl std::fmt::Debug for NewPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewPolicy")
            .field("name", &self.name)
            .field("scope", &self.scope)
            .field("action", &redact_secrets(&self.action))
            .field("realm", &self.realm)
            .field("user", &self.user)
            .field("time", &self.time)
            .field("client", &self.client)
            .field("active", &self.active)
            .field("enforce", &self.enforce)
            .finish()
    }
}

impl NewPolicy {
    /// Checks what LinOTP checks before storing: the name, the required
    /// attributes, and — when the system config `policy_action_validation`
    /// is on — scope, actions and values against the definitions. Unlike
    /// LinOTP, an unparsable action list or time condition is always refused,
    /// since LinOTP would fail every later evaluation on it.
    pub fn validate(&self, action_validation: bool) -> Result<()> {
        if self.name.is_empty() {
            return Err(Error::EmptyPolicyName);
        }
        if !is_valid_name(&self.name) {
            return Err(Error::InvalidPolicyName {
                name: self.name.clone(),
            });
        }
        for (attribute, value) in [
            ("action", &self.action),
            ("scope", &self.scope),
            ("realm", &self.realm),
        ] {
            if value.is_empty() {
                return Err(Error::MissingAttribute {
                    name: self.name.clone(),
                    attribute,
                });
            }
        }
        let actions = Actions::parse(&self.action)?;
        if let Some(time) = self.time.as_deref().filter(|time| !time.trim().is_empty())
            && let Some(error) = TimeCondition::parse(time).error()
        {
            return Err(error.clone());
        }
        if action_validation {
            validate_actions(&self.name, &self.scope, &actions)?;
        }
        Ok(())
    }

    /// The `Config` rows to store: `(linotp.Policy.<name>.<attr>, value)` in
    /// LinOTP's order; absent optional values are stored empty, `active`
    /// defaults to `True`.
    pub fn config_entries(&self) -> Vec<(String, String)> {
        ATTRIBUTES
            .iter()
            .map(|attribute| {
                (
                    format!("{KEY_PREFIX}{}.{attribute}", self.name),
                    self.stored_value(attribute),
                )
            })
            .collect()
    }

    /// The policy as it reads back after storing.
    pub fn to_policy(&self) -> Policy {
        let stored: BTreeMap<String, String> = ATTRIBUTES
            .iter()
            .map(|attribute| ((*attribute).to_owned(), self.stored_value(attribute)))
            .collect();
        Policy::from_stored(self.name.clone(), &stored)
    }

    fn stored_value(&self, attribute: &str) -> String {
        let optional = |value: &Option<String>| value.clone().unwrap_or_default();
        match attribute {
            "action" => self.action.clone(),
            "scope" => self.scope.clone(),
            "realm" => self.realm.clone(),
            "user" => optional(&self.user),
            "time" => optional(&self.time),
            "client" => optional(&self.client),
            "active" => self.active.clone().unwrap_or_else(|| "True".to_owned()),
            _ => String::new(),
        }
    }
}

/// LinOTP's policy name rule: `^[a-zA-Z0-9_]*$`.
pub fn is_valid_name(name: &str) -> bool {
    name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// All policies, keyed and ordered by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicySet {
    policies: BTreeMap<String, Policy>,
}

impl PolicySet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Collects the policies from `Config` entries. Keys are
    /// `linotp.Policy.<name>.<attribute>` (the `linotp.` prefix may be
    /// missing, as in `getConfig` output); other keys are ignored, as are
    /// names or attributes containing a dot, like LinOTP does.
    pub fn from_config<I, K, V>(entries: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut stored: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (key, value) in entries {
            let key = key.as_ref();
            let key = key.strip_prefix("linotp.").unwrap_or(key);
            let Some(rest) = key.strip_prefix("Policy.") else {
                continue;
            };
            let Some((name, attribute)) = rest.split_once('.') else {
                continue;
            };
            if attribute.contains('.') || name.is_empty() {
                continue;
            }
            stored
                .entry(name.to_owned())
                .or_default()
                .insert(attribute.to_owned(), value.as_ref().to_owned());
        }
        let policies = stored
            .into_iter()
            .map(|(name, attributes)| {
                let policy = Policy::from_stored(name.clone(), &attributes);
                if policy.conditions.actions.is_err() {
                    tracing::warn!(policy = %name, "policy action cannot be parsed; it will never match");
                }
                (name, policy)
            })
            .collect();
        Self { policies }
    }

    /// A set of the given policies (a later one replaces an earlier one of the same name).
    pub fn from_policies(policies: impl IntoIterator<Item = Policy>) -> Self {
        Self {
            policies: policies
                .into_iter()
                .map(|policy| (policy.name.clone(), policy))
                .collect(),
        }
    }

    /// Adds or replaces a policy.
    pub fn insert(&mut self, policy: Policy) {
        self.policies.insert(policy.name.clone(), policy);
    }

    /// Removes a policy.
    pub fn remove(&mut self, name: &str) -> Option<Policy> {
        self.policies.remove(name)
    }

    /// One policy by name.
    pub fn get(&self, name: &str) -> Option<&Policy> {
        self.policies.get(name)
    }

    /// All policies in name order.
    pub fn iter(&self) -> impl Iterator<Item = &Policy> {
        self.policies.values()
    }

    /// Number of policies.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// Whether there are no policies.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Whether any active policy exists in the scope. Admin-side scopes
    /// allow everything while this is false.
    pub fn has_active_policy(&self, scope: &str) -> bool {
        self.iter()
            .any(|policy| policy.scope == scope && policy.is_active())
    }

    /// LinOTP's lock-out protection for `setPolicy`: storing a `system`
    /// policy must leave an active `system` policy with `write` (or `*`),
    /// and the new policy must name a user and a realm — unless `enforce`.
    pub fn check_lockout(&self, candidate: &NewPolicy) -> Result<()> {
        if !candidate.scope.eq_ignore_ascii_case("system") {
            return Ok(());
        }
        let mut after = self.clone();
        after.insert(candidate.to_policy());
        let reason = lockout_reason(
            &after,
            &candidate.name,
            candidate.user.as_deref().unwrap_or(""),
            &candidate.realm,
        );
        match reason {
            Some(reason) if !candidate.enforce => Err(Error::Lockout { reason }),
            _ => Ok(()),
        }
    }

    /// What `delPolicy` checks before deleting: the name (error 8888) and,
    /// for a `system` policy, the lock-out protection (deleting counts as
    /// deactivating) unless `enforce`.
    pub fn check_delete(&self, name: &str, enforce: bool) -> Result<()> {
        if !is_valid_name(name) {
            return Err(Error::InvalidPolicyNameOnDelete {
                name: name.to_owned(),
            });
        }
        let Some(existing) = self.get(name) else {
            return Ok(());
        };
        if !existing.scope.eq_ignore_ascii_case("system") {
            return Ok(());
        }
        let mut after = self.clone();
        if let Some(policy) = after.policies.get_mut(name) {
            policy.active = "False".to_owned();
            policy.is_active = false;
        }
        match lockout_reason(&after, name, &existing.user, &existing.realm) {
            Some(reason) if !enforce => Err(Error::Lockout { reason }),
            _ => Ok(()),
        }
    }
}

fn lockout_reason(after: &PolicySet, name: &str, user: &str, realm: &str) -> Option<String> {
    let system_policies: Vec<&Policy> = after
        .iter()
        .filter(|p| p.scope.eq_ignore_ascii_case("system") && p.is_active())
        .collect();
    let can_write = system_policies.iter().any(|p| {
        p.action
            .split(',')
            .map(str::trim)
            .any(|action| action == "*" || action == "write")
    });
    // Later reasons win, as in LinOTP.
    let mut reason = None;
    if user.trim().is_empty() {
        reason = Some(format!("no user defined for system policy {name}!"));
    }
    if realm.trim().is_empty() {
        reason = Some(format!("no realm defined for system policy {name}!"));
    }
    if !system_policies.is_empty() && !can_write {
        reason = Some("no active system policy with 'write' permission defined!".to_owned());
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn new_policy(name: &str, scope: &str, action: &str) -> NewPolicy {
        NewPolicy {
            name: name.into(),
            scope: scope.into(),
            action: action.into(),
            realm: "*".into(),
            user: Some("admin".into()),
            ..NewPolicy::default()
        }
    }

    #[test]
    fn policy_sets_can_be_shared_between_threads() {
        fn shared<T: Send + Sync + 'static>() {}
        shared::<PolicySet>();
        shared::<crate::Explanation>();
    }

    #[test]
    fn debug_masks_forward_secrets() {
        let policy = NewPolicy {
            action: "forward_server=radius://10.0.0.1:1812/?secret=s3cr3t".into(),
            ..new_policy("fwd", "authentication", "")
        };
        assert!(!format!("{policy:?}").contains("s3cr3t"));
        assert!(!format!("{:?}", policy.to_policy()).contains("s3cr3t"));
    }

    #[test]
    fn loading_normalises_like_linotp() {
        let policy = Policy::from_stored(
            "p",
            &stored(&[
                ("scope", "selfservice"),
                ("action", "history"),
                ("realm", "MyRealm"),
                ("user", ""),
                ("client", "None"),
                ("time", ""),
            ]),
        );
        assert_eq!(policy.realm(), "myrealm");
        assert_eq!(policy.user(), "*");
        assert_eq!(policy.client(), "*");
        assert_eq!(policy.time(), "* * * * * *;");
        assert_eq!(policy.active(), "True");
        assert!(policy.is_active());

        // Outside the user-facing scopes an empty user stays empty: nobody matches.
        let system = Policy::from_stored(
            "s",
            &stored(&[("scope", "system"), ("action", "read"), ("user", "")]),
        );
        assert_eq!(system.user(), "");
        assert_eq!(system.client(), "");
        let inactive =
            Policy::from_stored("i", &stored(&[("scope", "admin"), ("active", "false")]));
        assert!(!inactive.is_active());
    }

    #[test]
    fn config_entries_group_by_name() {
        let set = PolicySet::from_config([
            ("linotp.Policy.p1.scope", "admin"),
            ("linotp.Policy.p1.action", "*"),
            ("Policy.p2.scope", "system"),
            ("linotp.DefaultRealm", "x"),
            ("linotp.Policy.p3.a.b", "ignored"),
            ("linotp.Policy.p1", "ignored"),
        ]);
        let names: Vec<&str> = set.iter().map(Policy::name).collect();
        assert_eq!(names, ["p1", "p2"]);
        assert_eq!(set.get("p1").map(Policy::action), Some("*"));
        assert!(set.has_active_policy("admin"));
        assert!(!set.has_active_policy("audit"));
    }

    #[test]
    fn get_policy_json_shape() {
        let policy = new_policy("gldpol", "selfservice", "enrollHMAC, setOTPPIN").to_policy();
        let json = serde_json::to_value(&policy).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "action": "enrollHMAC, setOTPPIN", "scope": "selfservice", "realm": "*", "user": "admin",
                "time": "* * * * * *;", "client": "*", "active": "True", "name": "gldpol"
            })
        );
    }

    #[test]
    fn set_policy_stores_raw_values() {
        let mut policy = new_policy("gldpol", "selfservice", "enrollHMAC, setOTPPIN");
        policy.realm = "GldRealm".into();
        policy.client = Some(String::new());
        let entries = policy.config_entries();
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "linotp.Policy.gldpol.action",
                "linotp.Policy.gldpol.scope",
                "linotp.Policy.gldpol.realm",
                "linotp.Policy.gldpol.user",
                "linotp.Policy.gldpol.time",
                "linotp.Policy.gldpol.client",
                "linotp.Policy.gldpol.active"
            ]
        );
        assert_eq!(entries[2].1, "GldRealm");
        assert_eq!(entries[4].1, "");
        assert_eq!(entries[6].1, "True");
        // Reading the stored rows back gives the normalised policy.
        let reloaded = PolicySet::from_config(entries);
        assert_eq!(reloaded.get("gldpol"), Some(&policy.to_policy()));
        assert_eq!(reloaded.get("gldpol").map(Policy::realm), Some("gldrealm"));
    }

    #[test]
    fn validation_errors() {
        let cases: &[(NewPolicy, &str)] = &[
            (
                NewPolicy {
                    name: String::new(),
                    ..new_policy("x", "admin", "*")
                },
                "The name of the policy must not be empty",
            ),
            (
                new_policy("bad.name", "admin", "*"),
                "The name of the policy may only contain the characters a-zA-Z0-9_.",
            ),
            (
                new_policy("p", "admin", ""),
                "Missing attribute action in policy p",
            ),
            (
                new_policy("p", "", "*"),
                "Missing attribute scope in policy p",
            ),
            (
                NewPolicy {
                    realm: String::new(),
                    ..new_policy("p", "admin", "*")
                },
                "Missing attribute realm in policy p",
            ),
            (
                new_policy("p", "admin", "a=1, a=2"),
                "duplicate key definition 'a'",
            ),
            (
                NewPolicy {
                    time: Some("* * *".into()),
                    ..new_policy("p", "admin", "*")
                },
                "Error in Time Condition format: Expected 6 but got 3 parts in cron notation",
            ),
        ];
        for (policy, message) in cases {
            assert_eq!(policy.validate(false).unwrap_err().to_string(), *message);
        }
        let unknown = new_policy("p", "admin", "bogus");
        assert!(unknown.validate(false).is_ok());
        assert!(matches!(
            unknown.validate(true),
            Err(Error::UnknownAction { .. })
        ));
    }

    #[test]
    fn lockout_protection_for_system_policies() {
        let mut set = PolicySet::new();
        // A first system policy without write would lock everybody out.
        let read_only = new_policy("sys_read", "system", "read");
        assert_eq!(
            set.check_lockout(&read_only).unwrap_err().to_string(),
            "Warning: potential lockout due to policy defintion: no active system policy with 'write' permission defined!"
        );
        assert!(
            set.check_lockout(&NewPolicy {
                enforce: true,
                ..read_only.clone()
            })
            .is_ok()
        );
        let writer = new_policy("sys_write", "system", "read, write");
        assert!(set.check_lockout(&writer).is_ok());
        set.insert(writer.to_policy());
        assert!(set.check_lockout(&read_only).is_ok());
        set.insert(read_only.to_policy());
        // Deleting the only writer is refused, deleting the reader is fine.
        assert!(matches!(
            set.check_delete("sys_write", false),
            Err(Error::Lockout { .. })
        ));
        assert!(set.check_delete("sys_write", true).is_ok());
        assert!(set.check_delete("sys_read", false).is_ok());
        let no_user = NewPolicy {
            user: None,
            ..new_policy("sys2", "system", "*")
        };
        assert_eq!(
            set.check_lockout(&no_user).unwrap_err().to_string(),
            "Warning: potential lockout due to policy defintion: no user defined for system policy sys2!"
        );
        // Other scopes are never checked.
        assert!(set.check_lockout(&new_policy("adm", "admin", "")).is_ok());
        let error = set.check_delete("bad name", false).unwrap_err();
        assert_eq!(error.linotp_code(), Some(8888));
        assert!(set.check_delete("unknown", false).is_ok());
    }
}
