//! Listing policies (`getPolicy`, `policies_flexi`) and admin realm rights.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::evaluate::{Filter, PolicyContext, evaluate, selected};
use crate::policy::{Policy, PolicySet};

/// The filters of `/system/getPolicy`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyQuery {
    /// Policy name, or a comma-separated list of names.
    pub name: Option<String>,
    /// Scope.
    pub scope: Option<String>,
    /// Realm (policies for `*` match too, unless exact-realm policies exist).
    pub realm: Option<String>,
    /// Action the policies must name (or `*`).
    pub action: Option<String>,
    /// Only policies whose `user` list contains this entry or `*`.
    pub user: Option<String>,
    /// `display_inactive`: include inactive policies.
    pub include_inactive: bool,
}

/// The parameters of `/system/policies_flexi`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlexiQuery {
    /// Exact policy name.
    pub name: Option<String>,
    /// Realm.
    pub realm: Option<String>,
    /// Scope.
    pub scope: Option<String>,
    /// `sortname`: active, name, user, scope, action, realm, client, time (default name).
    pub sort_by: Option<String>,
    /// `sortorder=desc`.
    pub descending: bool,
    /// `page`, 1-based (default 1).
    pub page: Option<u64>,
    /// `rp`: rows per page; `None` or 0 returns all rows.
    pub rows_per_page: Option<u64>,
}

/// Which realms an admin may act on for an action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "realms")]
pub enum RealmRights {
    /// No active policy exists in the scope: no restriction at all.
    Unrestricted,
    /// Every realm except these (from `*` and `!realm` entries).
    AllExcept(BTreeSet<String>),
    /// Only these realms (empty: no rights anywhere).
    Only(BTreeSet<String>),
}

impl RealmRights {
    /// Whether the admin may act in `realm` (case-insensitive).
    pub fn permits(&self, realm: &str) -> bool {
        let realm = realm.to_lowercase();
        match self {
            Self::Unrestricted => true,
            Self::AllExcept(excluded) => !excluded.contains(&realm),
            Self::Only(allowed) => allowed.contains(&realm),
        }
    }

    /// Whether the admin may act on a token in `token_realms`: in at least
    /// one of them, or with `require_all` in all of them. A token in no realm
    /// needs rights on all realms (`*`), as in LinOTP.
    pub fn permits_token<S: AsRef<str>>(&self, token_realms: &[S], require_all: bool) -> bool {
        match self {
            Self::Unrestricted => true,
            Self::AllExcept(_) if token_realms.is_empty() => true,
            Self::Only(_) if token_realms.is_empty() => require_all,
            _ if require_all => token_realms
                .iter()
                .all(|realm| self.permits(realm.as_ref())),
            _ => token_realms
                .iter()
                .any(|realm| self.permits(realm.as_ref())),
        }
    }

    /// Whether the admin has rights in at least one realm (`/admin/show`
    /// fails with "You do not have any rights in any realm!" otherwise).
    pub fn has_any(&self) -> bool {
        !matches!(self, Self::Only(realms) if realms.is_empty())
    }
}

impl PolicySet {
    /// `/system/getPolicy`: the policies matching name (each of a comma
    /// list), scope, realm and action, active only unless asked, then
    /// filtered by the `user` list, in name order.
    pub fn search(&self, query: &PolicyQuery) -> Vec<&Policy> {
        let names: Vec<Option<&str>> = match &query.name {
            Some(names) => names.split(',').map(Some).collect(),
            None => vec![None],
        };
        let mut found: Vec<&Policy> = Vec::new();
        for name in names {
            let filter = Filter {
                name,
                scope: query.scope.as_deref(),
                realm: query.realm.as_deref().filter(|realm| !realm.is_empty()),
                action: query.action.as_deref().filter(|action| !action.is_empty()),
                active: (!query.include_inactive).then_some(true),
                ..Filter::default()
            };
            for policy in selected(&evaluate(self, &filter)) {
                if !found.iter().any(|known| known.name() == policy.name()) {
                    found.push(policy);
                }
            }
        }
        if let Some(user) = query
            .user
            .as_deref()
            .map(str::trim)
            .filter(|user| !user.is_empty())
        {
            found.retain(|policy| {
                policy
                    .user()
                    .split(',')
                    .map(str::trim)
                    .any(|entry| entry == user || entry == "*")
            });
        }
        found.sort_by(|a, b| a.name().cmp(b.name()));
        found
    }

    /// `/system/policies_flexi`: the raw JSON the old web UI reads,
    /// `{"page", "total", "rows": [{"id", "cell": [active 1/0, name, user,
    /// scope, action (HTML-escaped), realm, client, time]}]}`.
    pub fn flexi(&self, query: &FlexiQuery) -> Result<Value> {
        let column = match query.sort_by.as_deref().unwrap_or("name") {
            "active" => 0,
            "name" => 1,
            "user" => 2,
            "scope" => 3,
            "action" => 4,
            "realm" => 5,
            "client" => 6,
            "time" => 7,
            other => return Err(Error::UnknownSortColumn(other.to_owned())),
        };
        let filter = Filter {
            name: query.name.as_deref(),
            scope: query.scope.as_deref(),
            realm: query.realm.as_deref().filter(|realm| !realm.is_empty()),
            ..Filter::default()
        };
        let mut rows: Vec<(&Policy, [Cell; 8])> = selected(&evaluate(self, &filter))
            .into_iter()
            .map(|policy| {
                let cells = [
                    Cell::Number(u8::from(policy.active() == "True")),
                    Cell::Text(policy.name().to_owned()),
                    Cell::Text(policy.user().to_owned()),
                    Cell::Text(policy.scope().to_owned()),
                    Cell::Text(html_escape(policy.action())),
                    Cell::Text(policy.realm().to_owned()),
                    Cell::Text(policy.client().to_owned()),
                    Cell::Text(policy.time().to_owned()),
                ];
                (policy, cells)
            })
            .collect();
        rows.sort_by(|(_, a), (_, b)| {
            let order = a[column].cmp(&b[column]);
            if query.descending {
                order.reverse()
            } else {
                order
            }
        });
        let total = rows.len();
        let page = query.page.unwrap_or(1);
        if let Some(per_page) = query.rows_per_page.filter(|rows| *rows > 0) {
            let start = usize::try_from(page.saturating_sub(1).saturating_mul(per_page))
                .unwrap_or(usize::MAX);
            let count = usize::try_from(per_page).unwrap_or(usize::MAX);
            rows = rows.into_iter().skip(start).take(count).collect();
        }
        let rows: Vec<Value> = rows
            .into_iter()
            .map(|(policy, cells)| {
                let cells: Vec<Value> = cells.into_iter().map(Cell::into_json).collect();
                json!({"id": policy.name(), "cell": cells})
            })
            .collect();
        Ok(json!({"page": page, "total": total, "rows": rows}))
    }

    /// The realms the admin in `ctx.user` may act on for `action` in `scope`
    /// (`admin`, `monitoring`, `reporting.access`), from the `realm` fields of
    /// the applying policies; `action: None` takes every policy of the admin
    /// (what `/admin/show` does). `ctx.realm` is ignored.
    pub fn admin_realms(
        &self,
        scope: &str,
        action: Option<&str>,
        ctx: &PolicyContext,
    ) -> RealmRights {
        if !self.has_active_policy(scope) {
            return RealmRights::Unrestricted;
        }
        let ctx = PolicyContext {
            realm: None,
            ..ctx.clone()
        };
        let mut all = false;
        let mut excluded: Option<BTreeSet<String>> = None;
        let mut listed: BTreeSet<String> = BTreeSet::new();
        for policy in self.matching_policies(scope, action, &ctx) {
            let (wildcard, realms, negated) = policy.conditions.realm.grants();
            if wildcard {
                all = true;
                let negated: BTreeSet<String> = negated.into_iter().map(str::to_owned).collect();
                // A realm stays excluded only if every `*` policy excludes it.
                excluded = Some(match excluded {
                    None => negated,
                    Some(previous) => previous.intersection(&negated).cloned().collect(),
                });
            } else {
                listed.extend(realms.into_iter().map(str::to_owned));
            }
        }
        if all {
            let excluded = excluded.unwrap_or_default();
            RealmRights::AllExcept(excluded.difference(&listed).cloned().collect())
        } else {
            RealmRights::Only(listed)
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Cell {
    Number(u8),
    Text(String),
}

impl Cell {
    fn into_json(self) -> Value {
        match self {
            Self::Number(number) => json!(number),
            Self::Text(text) => Value::String(text),
        }
    }
}

/// Python's `html.escape(text, quote=True)`.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::UserContext;
    use crate::policy::NewPolicy;

    fn policy(
        name: &str,
        scope: &str,
        action: &str,
        realm: &str,
        user: &str,
        active: bool,
    ) -> Policy {
        NewPolicy {
            name: name.into(),
            scope: scope.into(),
            action: action.into(),
            realm: realm.into(),
            user: Some(user.into()),
            active: Some(if active { "True" } else { "False" }.into()),
            ..NewPolicy::default()
        }
        .to_policy()
    }

    fn names(policies: &[&Policy]) -> Vec<String> {
        policies.iter().map(|p| p.name().to_owned()).collect()
    }

    fn sample() -> PolicySet {
        PolicySet::from_policies([
            policy(
                "ss_r1",
                "selfservice",
                "enrollHMAC, setOTPPIN",
                "r1",
                "*",
                true,
            ),
            policy("ss_all", "selfservice", "history", "*", "alice, bob", true),
            policy("auth_r1", "authentication", "otppin=1", "r1", "carol", true),
            policy("old", "authentication", "passthru", "r1", "*", false),
            policy("adm", "admin", "*", "*", "admin", true),
        ])
    }

    #[test]
    fn get_policy_filters() {
        let set = sample();
        let cases: &[(PolicyQuery, &[&str])] = &[
            (
                PolicyQuery::default(),
                &["adm", "auth_r1", "ss_all", "ss_r1"],
            ),
            (
                PolicyQuery {
                    include_inactive: true,
                    ..PolicyQuery::default()
                },
                &["adm", "auth_r1", "old", "ss_all", "ss_r1"],
            ),
            (
                PolicyQuery {
                    name: Some("ss_r1,adm".into()),
                    ..PolicyQuery::default()
                },
                &["adm", "ss_r1"],
            ),
            (
                PolicyQuery {
                    name: Some("nosuch".into()),
                    ..PolicyQuery::default()
                },
                &[],
            ),
            (
                PolicyQuery {
                    scope: Some("selfservice".into()),
                    ..PolicyQuery::default()
                },
                &["ss_all", "ss_r1"],
            ),
            // An exact realm match hides the `*` policies, as LinOTP's best match does.
            (
                PolicyQuery {
                    scope: Some("selfservice".into()),
                    realm: Some("R1".into()),
                    ..PolicyQuery::default()
                },
                &["ss_r1"],
            ),
            (
                PolicyQuery {
                    scope: Some("selfservice".into()),
                    realm: Some("r9".into()),
                    ..PolicyQuery::default()
                },
                &["ss_all"],
            ),
            (
                PolicyQuery {
                    action: Some("history".into()),
                    ..PolicyQuery::default()
                },
                &["adm", "ss_all"],
            ),
            (
                PolicyQuery {
                    user: Some("bob".into()),
                    ..PolicyQuery::default()
                },
                &["ss_all", "ss_r1"],
            ),
        ];
        for (query, expected) in cases {
            assert_eq!(names(&set.search(query)), *expected, "{query:?}");
        }
    }

    #[test]
    fn flexi_rows_sorting_and_paging() {
        let set = sample();
        let all = set
            .flexi(&FlexiQuery {
                sort_by: Some("scope".into()),
                descending: true,
                ..FlexiQuery::default()
            })
            .unwrap();
        assert_eq!(all["total"], 5);
        assert_eq!(all["page"], 1);
        assert_eq!(all["rows"][0]["cell"][3], "selfservice");
        let old = all["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["id"] == "old")
            .unwrap();
        assert_eq!(
            old["cell"],
            json!([
                0,
                "old",
                "*",
                "authentication",
                "passthru",
                "r1",
                "*",
                "* * * * * *;"
            ])
        );
        let page = set
            .flexi(&FlexiQuery {
                page: Some(2),
                rows_per_page: Some(2),
                ..FlexiQuery::default()
            })
            .unwrap();
        assert_eq!(page["total"], 5);
        let ids: Vec<&str> = page["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["old", "ss_all"]);
        assert!(
            set.flexi(&FlexiQuery {
                sort_by: Some("bogus".into()),
                ..FlexiQuery::default()
            })
            .is_err()
        );
        let escaped = PolicySet::from_policies([policy(
            "x",
            "authentication",
            "smstext='<b>\"&'",
            "*",
            "*",
            true,
        )]);
        let row = escaped.flexi(&FlexiQuery::default()).unwrap();
        assert_eq!(
            row["rows"][0]["cell"][4],
            "smstext=&#x27;&lt;b&gt;&quot;&amp;&#x27;"
        );
    }

    #[test]
    fn admin_realm_rights() {
        let admin = PolicyContext::for_admin(UserContext::new("helpdesk", "linotp_admins"));
        assert_eq!(
            PolicySet::new().admin_realms("admin", Some("enable"), &admin),
            RealmRights::Unrestricted
        );
        let set = PolicySet::from_policies([
            policy(
                "hd_r1",
                "admin",
                "enable, disable, show",
                "r1, R2",
                "helpdesk",
                true,
            ),
            policy("hd_r3", "admin", "reset", "r3", "helpdesk", true),
            policy("super", "admin", "*", "*, !vip", "root", true),
        ]);
        let enable = set.admin_realms("admin", Some("enable"), &admin);
        assert_eq!(
            enable,
            RealmRights::Only(["r1".to_owned(), "r2".to_owned()].into())
        );
        assert!(enable.permits("R2") && !enable.permits("r3"));
        assert!(enable.permits_token(&["r2", "r3"], false));
        assert!(!enable.permits_token(&["r2", "r3"], true));
        assert!(!enable.permits_token::<&str>(&[], false));
        // Any policy of the admin counts for /admin/show.
        let show = set.admin_realms("admin", None, &admin);
        assert_eq!(
            show,
            RealmRights::Only(["r1".to_owned(), "r2".to_owned(), "r3".to_owned()].into())
        );
        let nobody = PolicyContext::for_admin(UserContext::new("intern", "linotp_admins"));
        assert!(!set.admin_realms("admin", None, &nobody).has_any());
        let root = PolicyContext::for_admin(UserContext::new("root", "linotp_admins"));
        let rights = set.admin_realms("admin", Some("remove"), &root);
        assert_eq!(rights, RealmRights::AllExcept(["vip".to_owned()].into()));
        assert!(rights.permits("r1") && !rights.permits("vip"));
        assert!(rights.permits_token::<&str>(&[], false));
        assert_eq!(
            serde_json::to_value(&rights).unwrap(),
            json!({"kind": "all_except", "realms": ["vip"]})
        );
    }
}
