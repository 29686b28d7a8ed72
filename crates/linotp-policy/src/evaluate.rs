//! Matching policies against a request and choosing the best matches
//! (LinOTP's `PolicyEvaluator` in strict mode), with the reasons for every
//! policy that did not make it.

use std::net::IpAddr;

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::action::{ActionValue, redact_secrets};
use crate::definitions::{ADMIN_SCOPES, definitions, typed_value};
use crate::error::{Error, Result};
use crate::matching::{Check, MatchKind, UserContext};
use crate::policy::{Policy, PolicySet};

/// Who asks, from where and when. Fields left `None` are not checked, as
/// LinOTP skips a filter it has no value for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyContext {
    /// The user the lookup is about (the admin for admin-side scopes). An
    /// empty login counts as no user.
    pub user: Option<UserContext>,
    /// The realm to match policies' `realm` field against (usually the
    /// user's realm, or the default realm). Empty counts as none.
    pub realm: Option<String>,
    /// The client IP address.
    pub client: Option<IpAddr>,
    /// The server's local time; `time` conditions are skipped without it.
    pub time: Option<NaiveDateTime>,
}

impl PolicyContext {
    /// A context that checks nothing but scope and action.
    pub fn new() -> Self {
        Self::default()
    }

    /// A context for `user`, matching realms against the user's realm.
    pub fn for_user(user: UserContext) -> Self {
        let realm = Some(user.realm.clone()).filter(|realm| !realm.is_empty());
        Self {
            user: Some(user),
            realm,
            ..Self::default()
        }
    }

    /// A context for an administrator in the admin-side scopes: the admin's
    /// own realm is not matched against policies' `realm` field (that field
    /// says where the admin may act, see [`PolicySet::admin_realms`]).
    pub fn for_admin(admin: UserContext) -> Self {
        Self {
            user: Some(admin),
            ..Self::default()
        }
    }

    /// Sets the realm to match against.
    pub fn with_realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Sets the client address.
    pub fn with_client(mut self, client: IpAddr) -> Self {
        self.client = Some(client);
        self
    }

    /// Sets the local time for `time` conditions.
    pub fn at(mut self, time: NaiveDateTime) -> Self {
        self.time = Some(time);
        self
    }

    fn user(&self) -> Option<&UserContext> {
        self.user.as_ref().filter(|user| !user.login.is_empty())
    }

    fn realm(&self) -> Option<&str> {
        self.realm.as_deref().filter(|realm| !realm.is_empty())
    }
}

/// The policy field that decided a verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The policy name (searches by name).
    Name,
    /// The scope.
    Scope,
    /// `active` is not true.
    Active,
    /// The action is not in the policy.
    Action,
    /// The realm.
    Realm,
    /// The user.
    User,
    /// The client address.
    Client,
    /// The time conditions.
    Time,
    /// It matched, but other matching policies are more specific.
    Precedence,
}

/// How one policy fared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyVerdict {
    /// The policy name.
    pub name: String,
    /// Whether the policy applies (matched every field and is among the most specific).
    pub matched: bool,
    /// The field that excluded it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded_by: Option<Field>,
    /// Why, in words: `realm 'x' not in [a, b]`, `client 10.0.0.5 not in
    /// [192.168.0.0/16]`, `user 'bob@r' excluded by '!bob'`, `inactive`, ...
    pub reason: String,
    /// How the user field matched, when it was checked and matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_match: Option<MatchKind>,
    /// How the realm field matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm_match: Option<MatchKind>,
    /// How the client field matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_match: Option<MatchKind>,
}

/// The outcome of an explained lookup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether the action is allowed (see [`PolicySet::is_allowed`]).
    pub allowed: bool,
    /// Why.
    pub reason: String,
}

/// Everything behind one decision: every policy of the scope, whether it
/// matched and why not, the final decision and the action's value.
/// Serialises to the JSON of `/system/checkPolicy?explain=1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The scope looked at.
    pub scope: String,
    /// The action looked up.
    pub action: String,
    /// The request as matched: user, realm, client, time.
    pub request: RequestSummary,
    /// No active policy exists in this admin-side scope: nothing is restricted.
    pub unrestricted: bool,
    /// Every policy of the scope, in name order.
    pub considered: Vec<PolicyVerdict>,
    /// The names of the policies that apply.
    pub selected: Vec<String>,
    /// Allowed or not, and why.
    pub decision: Decision,
    /// The action's value from the applying policies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<ActionValue>,
    /// LinOTP's default for the action, used when no policy sets it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<ActionValue>,
    /// A problem reading the value (conflicting values, unconvertible value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The request part of an [`Explanation`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestSummary {
    /// `login@realm` of the user, if any.
    pub user: Option<String>,
    /// The realm matched against.
    pub realm: Option<String>,
    /// The client address.
    pub client: Option<String>,
    /// The local time.
    pub time: Option<String>,
}

/// Which filters a lookup applies.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Filter<'a> {
    pub(crate) name: Option<&'a str>,
    pub(crate) scope: Option<&'a str>,
    pub(crate) action: Option<&'a str>,
    /// `Some(true)`: active policies only; `None`: all.
    pub(crate) active: Option<bool>,
    pub(crate) user: Option<&'a UserContext>,
    pub(crate) realm: Option<&'a str>,
    pub(crate) client: Option<IpAddr>,
    pub(crate) time: Option<&'a NaiveDateTime>,
    /// Build the reasons for exclusions (only explanations need them).
    pub(crate) explain: bool,
}

impl<'a> Filter<'a> {
    pub(crate) fn from_context(
        scope: &'a str,
        action: Option<&'a str>,
        ctx: &'a PolicyContext,
    ) -> Self {
        Self {
            name: None,
            scope: Some(scope),
            action,
            active: Some(true),
            user: ctx.user(),
            realm: ctx.realm(),
            client: ctx.client,
            time: ctx.time.as_ref(),
            explain: false,
        }
    }
}

/// One policy after matching: how each dimension matched, or what excluded it.
#[derive(Clone, Debug)]
pub(crate) struct Candidate<'a> {
    pub(crate) policy: &'a Policy,
    user: Option<MatchKind>,
    realm: Option<MatchKind>,
    client: Option<MatchKind>,
    excluded: Option<(Field, String)>,
}

impl Candidate<'_> {
    fn is_selected(&self) -> bool {
        self.excluded.is_none()
    }

    fn verdict(&self) -> PolicyVerdict {
        let reason = match &self.excluded {
            Some((_, reason)) => reason.clone(),
            None => {
                let kinds: Vec<String> = [
                    ("user", self.user),
                    ("realm", self.realm),
                    ("client", self.client),
                ]
                .iter()
                .filter_map(|(field, kind)| kind.map(|kind| format!("{field} {}", kind.label())))
                .collect();
                if kinds.is_empty() {
                    "matches".to_owned()
                } else {
                    format!("matches: {}", kinds.join(", "))
                }
            }
        };
        PolicyVerdict {
            name: self.policy.name().to_owned(),
            matched: self.is_selected(),
            excluded_by: self.excluded.as_ref().map(|(field, _)| *field),
            reason,
            user_match: self.user,
            realm_match: self.realm,
            client_match: self.client,
        }
    }
}

fn check_policy<'a>(policy: &'a Policy, filter: &Filter<'_>) -> Candidate<'a> {
    let mut candidate = Candidate {
        policy,
        user: None,
        realm: None,
        client: None,
        excluded: None,
    };
    if let Err(field) = first_mismatch(policy, filter, &mut candidate) {
        let reason = if filter.explain {
            mismatch_reason(field, policy, filter)
        } else {
            String::new()
        };
        candidate.excluded = Some((field, reason));
    }
    candidate
}

/// Checks the filters in LinOTP's order, recording the match kinds; the
/// first field that does not match ends the check.
fn first_mismatch(
    policy: &Policy,
    filter: &Filter<'_>,
    candidate: &mut Candidate<'_>,
) -> std::result::Result<(), Field> {
    let conditions = &policy.conditions;
    if filter.name.is_some_and(|name| policy.name() != name) {
        return Err(Field::Name);
    }
    if filter.scope.is_some_and(|scope| policy.scope() != scope) {
        return Err(Field::Scope);
    }
    if filter
        .active
        .is_some_and(|active| policy.is_active() != active)
    {
        return Err(Field::Active);
    }
    if let Some(action) = filter.action {
        match &conditions.actions {
            Ok(actions) if actions.is_wildcard() || actions.contains(action) => {}
            _ => return Err(Field::Action),
        }
    }
    if let Some(realm) = filter.realm {
        candidate.realm = Some(conditions.realm.matches(realm).ok_or(Field::Realm)?);
    }
    if let Some(user) = filter.user {
        candidate.user = Some(conditions.user.matches(user).ok_or(Field::User)?);
    }
    if let Some(client) = filter.client {
        candidate.client = Some(conditions.client.matches(client).ok_or(Field::Client)?);
    }
    if let Some(time) = filter.time {
        conditions.time.matches(time).ok_or(Field::Time)?;
    }
    Ok(())
}

/// Why `field` did not match, in words (for explanations only).
fn mismatch_reason(field: Field, policy: &Policy, filter: &Filter<'_>) -> String {
    let conditions = &policy.conditions;
    let reason_of = |check: Check| check.into_result().err().unwrap_or_default();
    match field {
        Field::Name => format!("name is not '{}'", filter.name.unwrap_or_default()),
        Field::Scope => format!(
            "scope '{}' is not '{}'",
            policy.scope(),
            filter.scope.unwrap_or_default()
        ),
        Field::Active => if policy.is_active() {
            "active"
        } else {
            "inactive"
        }
        .to_owned(),
        Field::Action => match &conditions.actions {
            Err(error) => format!("action field cannot be parsed: {error}"),
            Ok(_) => format!(
                "action '{}' not set (actions: {})",
                filter.action.unwrap_or_default(),
                policy.action()
            ),
        },
        Field::Realm => filter
            .realm
            .map(|realm| reason_of(conditions.realm.check(realm)))
            .unwrap_or_default(),
        Field::User => filter
            .user
            .map(|user| reason_of(conditions.user.check(user)))
            .unwrap_or_default(),
        Field::Client => filter
            .client
            .map(|client| reason_of(conditions.client.check(client)))
            .unwrap_or_default(),
        Field::Time => filter
            .time
            .map(|time| reason_of(conditions.time.check(time)))
            .unwrap_or_default(),
        Field::Precedence => String::new(),
    }
}

/// LinOTP's strict best match: among the matching policies keep the most
/// specific user matches (exact, else regex, else wildcard), of those the
/// most specific realm matches, of those the most specific client matches.
fn apply_precedence(candidates: &mut [Candidate<'_>], filter: &Filter<'_>) {
    type KindOf = fn(&Candidate<'_>) -> Option<MatchKind>;
    let stages: [(&str, bool, KindOf); 3] = [
        ("user", filter.user.is_some(), |c| c.user),
        ("realm", filter.realm.is_some(), |c| c.realm),
        ("client", filter.client.is_some(), |c| c.client),
    ];
    for (dimension, applied, kind_of) in stages {
        if !applied {
            continue;
        }
        let Some(best) = candidates
            .iter()
            .filter(|c| c.is_selected())
            .filter_map(kind_of)
            .max()
        else {
            continue;
        };
        let winners = || -> String {
            let names: Vec<&str> = candidates
                .iter()
                .filter(|c| c.is_selected() && kind_of(c) == Some(best))
                .map(|c| c.policy.name())
                .collect();
            names.join(", ")
        };
        let winners = if filter.explain {
            winners()
        } else {
            String::new()
        };
        for candidate in candidates.iter_mut().filter(|c| c.is_selected()) {
            let kind = kind_of(candidate);
            if kind != Some(best) {
                let reason = if filter.explain {
                    let label = kind.map_or("no", MatchKind::label);
                    format!(
                        "less specific {dimension} match ({label}) than {winners} ({})",
                        best.label()
                    )
                } else {
                    String::new()
                };
                candidate.excluded = Some((Field::Precedence, reason));
            }
        }
    }
}

/// Matches every policy (of the filter's scope, if any) and applies precedence.
pub(crate) fn evaluate<'a>(set: &'a PolicySet, filter: &Filter<'_>) -> Vec<Candidate<'a>> {
    let mut candidates: Vec<Candidate<'a>> = set
        .iter()
        .filter(|policy| filter.scope.is_none_or(|scope| policy.scope() == scope))
        .map(|policy| check_policy(policy, filter))
        .collect();
    apply_precedence(&mut candidates, filter);
    candidates
}

pub(crate) fn selected<'a>(candidates: &[Candidate<'a>]) -> Vec<&'a Policy> {
    candidates
        .iter()
        .filter(|c| c.is_selected())
        .map(|c| c.policy)
        .collect()
}

/// The typed values the applying policies give an action, in name order.
fn action_values<'a>(
    policies: &[&'a Policy],
    scope: &str,
    action: &str,
) -> Result<Vec<(&'a Policy, ActionValue)>> {
    let mut values = Vec::new();
    for policy in policies {
        let Ok(actions) = policy.actions() else {
            continue;
        };
        let Some(raw) = actions.get(action) else {
            continue;
        };
        let typed = typed_value(scope, action, raw).map_err(|()| Error::ActionConversion {
            policy: policy.name().to_owned(),
            scope: scope.to_owned(),
            action: action.to_owned(),
            value: redact_secrets(&raw.to_text()),
        })?;
        values.push((*policy, typed));
    }
    Ok(values)
}

/// The one value of an action, or an error when equally specific policies disagree.
fn single_value(
    values: &[(&Policy, ActionValue)],
    scope: &str,
    action: &str,
) -> Result<Option<ActionValue>> {
    let Some((_, first)) = values.first() else {
        return Ok(None);
    };
    if values.iter().all(|(_, value)| value == first) {
        return Ok(Some(first.clone()));
    }
    let policies: Vec<String> = values
        .iter()
        .map(|(policy, _)| policy.name().to_owned())
        .collect();
    if scope == "authentication" && action == "otppin" {
        return Err(Error::MultiplePinPolicies { policies });
    }
    let mut distinct: Vec<String> = values
        .iter()
        .map(|(_, value)| redact_secrets(&value.to_text()))
        .collect();
    distinct.dedup();
    Err(Error::ConflictingValues {
        scope: scope.to_owned(),
        action: action.to_owned(),
        policies,
        values: distinct,
    })
}

/// Whether one applying policy grants the action: `*`, or the action with
/// any value but false. Returns the explicit denial, if any.
fn grant_of(policy: &Policy, scope: &str, action: &str) -> Option<bool> {
    let actions = policy.actions().ok()?;
    match actions.get(action) {
        Some(raw) => {
            let typed = typed_value(scope, action, raw).unwrap_or_else(|()| raw.clone());
            Some(typed != ActionValue::Bool(false))
        }
        None => actions.is_wildcard().then_some(true),
    }
}

impl PolicySet {
    /// The policies that apply to a lookup: active, in `scope`, naming
    /// `action` (or `*`) when given, matching the context, and most
    /// specific by LinOTP's precedence.
    pub fn matching_policies(
        &self,
        scope: &str,
        action: Option<&str>,
        ctx: &PolicyContext,
    ) -> Vec<&Policy> {
        selected(&evaluate(self, &Filter::from_context(scope, action, ctx)))
    }

    /// The typed value the applying policies give `action`, `None` when no
    /// applying policy sets it. Equally specific policies with different
    /// values are an error (for `otppin`: LinOTP's "multiple pin policies
    /// found"); LinOTP 4 only logs those and takes one at random.
    pub fn get_action_value(
        &self,
        scope: &str,
        action: &str,
        ctx: &PolicyContext,
    ) -> Result<Option<ActionValue>> {
        let policies = self.matching_policies(scope, Some(action), ctx);
        let values = action_values(&policies, scope, action)?;
        single_value(&values, scope, action)
    }

    /// Like [`get_action_value`](Self::get_action_value), falling back to
    /// LinOTP's default for the action.
    pub fn action_value_or_default(
        &self,
        scope: &str,
        action: &str,
        ctx: &PolicyContext,
    ) -> Result<Option<ActionValue>> {
        let value = self.get_action_value(scope, action, ctx)?;
        Ok(value.or_else(|| {
            definitions()
                .action(scope, action)
                .and_then(|def| def.default_value().cloned())
        }))
    }

    /// Whether `action` is allowed in `scope`:
    /// * admin-side scopes (admin, system, audit, tools, monitoring,
    ///   reporting.access) allow everything while no active policy exists in them;
    /// * otherwise an applying policy must grant the action (`*`, or the
    ///   action with a value other than false), and none of the applying
    ///   policies may deny it with `!action` — LinOTP ignores such denials,
    ///   here they win;
    /// * without an applying policy the action is denied (selfservice is
    ///   default-deny).
    pub fn is_allowed(&self, scope: &str, action: &str, ctx: &PolicyContext) -> bool {
        if ADMIN_SCOPES.contains(&scope) && !self.has_active_policy(scope) {
            return true;
        }
        let policies = self.matching_policies(scope, Some(action), ctx);
        let grants: Vec<Option<bool>> = policies
            .iter()
            .map(|policy| grant_of(policy, scope, action))
            .collect();
        grants.contains(&Some(true)) && !grants.contains(&Some(false))
    }

    /// Explains a lookup: every policy of the scope with its verdict, the
    /// decision of [`is_allowed`](Self::is_allowed) and the action's value.
    pub fn explain(&self, scope: &str, action: &str, ctx: &PolicyContext) -> Explanation {
        let filter = Filter {
            explain: true,
            ..Filter::from_context(scope, Some(action), ctx)
        };
        let candidates = evaluate(self, &filter);
        let policies = selected(&candidates);
        let unrestricted = ADMIN_SCOPES.contains(&scope) && !self.has_active_policy(scope);
        let allowed = self.is_allowed(scope, action, ctx);
        let denials: Vec<&str> = policies
            .iter()
            .filter(|policy| grant_of(policy, scope, action) == Some(false))
            .map(|policy| policy.name())
            .collect();
        let names: Vec<String> = policies
            .iter()
            .map(|policy| policy.name().to_owned())
            .collect();
        let reason = if unrestricted {
            format!("no active policy in scope '{scope}': everything is allowed")
        } else if !denials.is_empty() {
            format!("denied by {} (!{action})", denials.join(", "))
        } else if allowed {
            format!("allowed by {}", names.join(", "))
        } else if policies.is_empty() && scope == "selfservice" {
            "no policy applies: self-service actions are denied by default".to_owned()
        } else if policies.is_empty() && ADMIN_SCOPES.contains(&scope) {
            format!("no policy applies: scope '{scope}' has policies, so everything else is denied")
        } else if policies.is_empty() {
            "no policy applies: LinOTP's default behaviour applies".to_owned()
        } else {
            format!("applying policies do not grant '{action}'")
        };
        let (value, error) = match action_values(&policies, scope, action)
            .and_then(|values| single_value(&values, scope, action))
        {
            Ok(value) => (value, None),
            Err(error) => (None, Some(error.to_string())),
        };
        Explanation {
            scope: scope.to_owned(),
            action: action.to_owned(),
            request: RequestSummary {
                user: ctx.user().map(UserContext::qualified),
                realm: ctx.realm().map(str::to_owned),
                client: ctx.client.map(|client| client.to_string()),
                time: ctx
                    .time
                    .map(|time| time.format("%Y-%m-%d %H:%M:%S").to_string()),
            },
            unrestricted,
            considered: candidates.iter().map(Candidate::verdict).collect(),
            selected: names,
            decision: Decision { allowed, reason },
            value,
            default: definitions()
                .action(scope, action)
                .and_then(|def| def.default_value().cloned()),
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::NewPolicy;
    use chrono::NaiveDate;

    fn policy(
        name: &str,
        scope: &str,
        action: &str,
        realm: &str,
        user: &str,
        client: &str,
    ) -> crate::Policy {
        NewPolicy {
            name: name.into(),
            scope: scope.into(),
            action: action.into(),
            realm: realm.into(),
            user: Some(user.into()),
            client: Some(client.into()),
            ..NewPolicy::default()
        }
        .to_policy()
    }

    fn ctx(login: &str, realm: &str, client: &str) -> PolicyContext {
        PolicyContext::for_user(UserContext::new(login, realm).with_resolver("res1"))
            .with_client(client.parse().unwrap())
            .at(NaiveDate::from_ymd_opt(2024, 5, 6)
                .unwrap()
                .and_hms_opt(12, 0, 0)
                .unwrap())
    }

    fn names(policies: &[&crate::Policy]) -> Vec<String> {
        policies.iter().map(|p| p.name().to_owned()).collect()
    }

    #[test]
    fn linotp_user_precedence_examples() {
        // LinOTP's test_policy_selection cases: user1/user2/user3 in realm "realm", resolver "res1".
        let set = PolicySet::from_policies([
            policy("self1", "selfservice", "self1", "*", "*", "*"),
            policy("self2", "selfservice", "self2", "*", "user1", "*"),
            policy("self3", "selfservice", "self3", "*", "user1", "*"),
            policy("self4", "selfservice", "self4", "*", "*, user1", "*"),
            policy("self5", "selfservice", "self5", "*", "*, user1.res1:", "*"),
            policy(
                "self6",
                "selfservice",
                "self6",
                "*",
                "*@realm, *.res1:, user2, !user1",
                "*",
            ),
            policy(
                "self7",
                "selfservice",
                "self7",
                "*",
                "!*@realm, *.res1:, user2.res1:, user1",
                "*",
            ),
            policy(
                "self8",
                "selfservice",
                "self8",
                "*",
                "*, !user1@realm, user2@realm",
                "*",
            ),
        ]);
        let cases: &[(&str, &str, &[&str])] = &[
            ("user1", "realm", &["self2", "self3", "self4", "self5"]),
            ("user2", "realm", &["self6", "self8"]),
            ("user3", "realm", &["self6"]),
            ("user3", "realmx", &["self6", "self7"]),
        ];
        for (login, realm, expected) in cases {
            let context = PolicyContext {
                user: Some(UserContext::new(*login, *realm).with_resolver("res1")),
                ..PolicyContext::default()
            };
            let matched = set.matching_policies("selfservice", None, &context);
            assert_eq!(names(&matched), *expected, "{login}@{realm}");
        }
    }

    #[test]
    fn precedence_runs_user_then_realm_then_client() {
        let set = PolicySet::from_policies([
            policy("p1", "authentication", "otppin=1", "r1", "alice", "*"),
            policy(
                "p2",
                "authentication",
                "otppin=2",
                "*",
                "alice",
                "10.0.0.0/8",
            ),
            policy("p3", "authentication", "otppin=3", "r1", "*", "10.0.0.0/8"),
            policy(
                "p4",
                "authentication",
                "otppin=0",
                "r1",
                "alice",
                "10.0.0.0/8",
            ),
        ]);
        // p1, p2, p4 have the exact user; of those p1, p4 the exact realm; of those p4 the exact client.
        let matched = set.matching_policies(
            "authentication",
            Some("otppin"),
            &ctx("alice", "r1", "10.1.1.1"),
        );
        assert_eq!(names(&matched), ["p4"]);
        // From another network p4 and p2/p3 fall out; p1 remains.
        let matched = set.matching_policies(
            "authentication",
            Some("otppin"),
            &ctx("alice", "r1", "192.168.1.1"),
        );
        assert_eq!(names(&matched), ["p1"]);
        // Bob only gets the wildcard-user policy.
        let matched = set.matching_policies(
            "authentication",
            Some("otppin"),
            &ctx("bob", "r1", "10.1.1.1"),
        );
        assert_eq!(names(&matched), ["p3"]);
    }

    #[test]
    fn values_conflicts_and_defaults() {
        let set = PolicySet::from_policies([
            policy("a", "authentication", "otppin=1", "r1", "*", "*"),
            policy("b", "authentication", "otppin=2", "r1", "*", "*"),
            policy("c", "enrollment", "maxtoken=3", "r1", "*", "*"),
            policy(
                "d",
                "enrollment",
                "maxtoken=3, tokencount=abc",
                "r1",
                "*",
                "*",
            ),
        ]);
        let context = ctx("alice", "r1", "10.0.0.1");
        let error = set
            .get_action_value("authentication", "otppin", &context)
            .unwrap_err();
        assert_eq!(error.to_string(), "multiple pin policies found");
        assert_eq!(
            set.get_action_value("enrollment", "maxtoken", &context),
            Ok(Some(ActionValue::Int(3)))
        );
        assert!(matches!(
            set.get_action_value("enrollment", "tokencount", &context),
            Err(Error::ActionConversion { .. })
        ));
        assert_eq!(
            set.get_action_value("enrollment", "otp_pin_random", &context),
            Ok(None)
        );
        assert_eq!(
            set.action_value_or_default("enrollment", "tokenissuer", &context),
            Ok(Some(ActionValue::Str("LinOTP".into())))
        );
        let other_realm = ctx("alice", "r2", "10.0.0.1");
        assert_eq!(
            set.get_action_value("authentication", "otppin", &other_realm),
            Ok(None)
        );
    }

    #[test]
    fn allowed_semantics_per_scope() {
        let empty = PolicySet::new();
        let admin = PolicyContext::for_admin(UserContext::new("admin", "linotp_admins"));
        assert!(empty.is_allowed("admin", "remove", &admin));
        assert!(empty.is_allowed("system", "write", &admin));
        assert!(!empty.is_allowed("selfservice", "enrollHMAC", &admin));

        let set = PolicySet::from_policies([
            policy("all_but_remove", "admin", "*, !remove", "*", "admin", "*"),
            policy("helpdesk", "admin", "show, reset", "r1", "helpdesk", "*"),
            NewPolicy {
                name: "sys_off".into(),
                scope: "system".into(),
                action: "read".into(),
                realm: "*".into(),
                user: Some("nobody".into()),
                active: Some("False".into()),
                ..NewPolicy::default()
            }
            .to_policy(),
            policy(
                "self",
                "selfservice",
                "enrollHMAC, !setOTPPIN, otp_pin_minlength=4",
                "r1",
                "*",
                "*",
            ),
        ]);
        assert!(set.is_allowed("admin", "enable", &admin));
        assert!(!set.is_allowed("admin", "remove", &admin));
        let helpdesk = PolicyContext::for_admin(UserContext::new("helpdesk", "linotp_admins"));
        assert!(set.is_allowed("admin", "reset", &helpdesk));
        assert!(!set.is_allowed("admin", "enable", &helpdesk));
        let user = ctx("alice", "r1", "10.0.0.1");
        assert!(set.is_allowed("selfservice", "enrollHMAC", &user));
        assert!(!set.is_allowed("selfservice", "setOTPPIN", &user));
        assert!(!set.is_allowed("selfservice", "enrollTOTP", &user));
        assert!(set.is_allowed("selfservice", "otp_pin_minlength", &user));
        assert!(
            set.is_allowed("system", "write", &admin),
            "an inactive system policy restricts nothing"
        );
    }

    #[test]
    fn explanation_names_the_excluding_field() {
        let inactive = NewPolicy {
            name: "p_inactive".into(),
            scope: "authentication".into(),
            action: "otppin=2".into(),
            realm: "r1".into(),
            active: Some("False".into()),
            ..NewPolicy::default()
        }
        .to_policy();
        let set = PolicySet::from_policies([
            policy("p_realm", "authentication", "otppin=1", "r2, r3", "*", "*"),
            policy(
                "p_client",
                "authentication",
                "otppin=1",
                "r1",
                "*",
                "192.168.0.0/16",
            ),
            policy("p_user", "authentication", "otppin=1", "r1", "*, !bob", "*"),
            policy("p_action", "authentication", "passthru", "r1", "*", "*"),
            inactive,
            policy("p_wild", "authentication", "otppin=3", "*", "*", "*"),
            policy("p_best", "authentication", "otppin=1", "r1", "bob", "*"),
            policy("p_admin", "admin", "*", "*", "*", "*"),
        ]);
        let explanation = set.explain("authentication", "otppin", &ctx("bob", "r1", "10.0.0.5"));
        let verdict = |name: &str| {
            explanation
                .considered
                .iter()
                .find(|v| v.name == name)
                .unwrap()
                .clone()
        };
        assert_eq!(
            explanation.considered.len(),
            7,
            "other scopes are not listed"
        );
        assert_eq!(verdict("p_realm").excluded_by, Some(Field::Realm));
        assert_eq!(verdict("p_realm").reason, "realm 'r1' not in [r2, r3]");
        assert_eq!(
            verdict("p_client").reason,
            "client 10.0.0.5 not in [192.168.0.0/16]"
        );
        assert_eq!(verdict("p_user").reason, "user 'bob@r1' excluded by '!bob'");
        assert_eq!(
            verdict("p_action").reason,
            "action 'otppin' not set (actions: passthru)"
        );
        assert_eq!(verdict("p_inactive").reason, "inactive");
        assert_eq!(verdict("p_wild").excluded_by, Some(Field::Precedence));
        assert_eq!(
            verdict("p_wild").reason,
            "less specific user match (wildcard) than p_best (exact)"
        );
        assert!(verdict("p_best").matched);
        assert_eq!(
            verdict("p_best").reason,
            "matches: user exact, realm exact, client wildcard"
        );
        assert_eq!(explanation.selected, ["p_best"]);
        assert_eq!(explanation.value, Some(ActionValue::Int(1)));
        assert_eq!(explanation.default, Some(ActionValue::Int(0)));
        assert!(explanation.decision.allowed);
        assert_eq!(explanation.decision.reason, "allowed by p_best");
        let json = serde_json::to_value(&explanation).unwrap();
        assert_eq!(json["considered"][0]["excluded_by"], "action");
        assert_eq!(json["request"]["user"], "bob@r1");
        assert_eq!(json["request"]["time"], "2024-05-06 12:00:00");
    }

    #[test]
    fn explanation_of_unrestricted_and_denied_scopes() {
        let set =
            PolicySet::from_policies([policy("ss", "selfservice", "history", "r1", "*", "*")]);
        let admin = set.explain(
            "admin",
            "remove",
            &PolicyContext::for_admin(UserContext::new("admin", "linotp_admins")),
        );
        assert!(admin.unrestricted && admin.decision.allowed && admin.considered.is_empty());
        let denied = set.explain("selfservice", "enrollHMAC", &ctx("alice", "r1", "10.0.0.1"));
        assert!(!denied.decision.allowed);
        assert_eq!(
            denied.decision.reason,
            "no policy applies: self-service actions are denied by default"
        );
    }

    #[test]
    fn time_conditions_apply() {
        let mut office_hours = NewPolicy {
            name: "office".into(),
            scope: "authentication".into(),
            action: "otppin=2".into(),
            realm: "*".into(),
            time: Some("* 8-17 * * 1-5 *".into()),
            ..NewPolicy::default()
        };
        let set = PolicySet::from_policies([office_hours.to_policy()]);
        let monday_noon = ctx("alice", "r1", "10.0.0.1");
        assert_eq!(
            set.get_action_value("authentication", "otppin", &monday_noon),
            Ok(Some(ActionValue::Int(2)))
        );
        let sunday = monday_noon.clone().at(NaiveDate::from_ymd_opt(2024, 5, 5)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap());
        assert_eq!(
            set.get_action_value("authentication", "otppin", &sunday),
            Ok(None)
        );
        office_hours.time = Some("!* * * * 0 *; *".into());
        let set = PolicySet::from_policies([office_hours.to_policy()]);
        assert_eq!(
            set.get_action_value("authentication", "otppin", &sunday),
            Ok(None)
        );
        assert_eq!(
            set.get_action_value("authentication", "otppin", &monday_noon),
            Ok(Some(ActionValue::Int(2)))
        );
    }

    #[test]
    fn no_user_means_no_user_filter() {
        // LinOTP's quirk kept: without a user (check_s by serial) user-specific policies of the realm apply.
        let set = PolicySet::from_policies([policy(
            "carol_only",
            "authentication",
            "otppin=1",
            "r1",
            "carol",
            "*",
        )]);
        let nobody = PolicyContext::new().with_realm("r1");
        assert_eq!(
            set.get_action_value("authentication", "otppin", &nobody),
            Ok(Some(ActionValue::Int(1)))
        );
        let empty_login = PolicyContext::for_user(UserContext::new("", "r1")).with_realm("r1");
        assert_eq!(
            set.get_action_value("authentication", "otppin", &empty_login),
            Ok(Some(ActionValue::Int(1)))
        );
    }
}
