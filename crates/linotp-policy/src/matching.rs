//! The `user`, `realm` and `client` conditions of a policy and how a request
//! matches them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

/// How precisely a policy field matched the request. LinOTP prefers exact
/// over regex (pattern) over wildcard matches when several policies apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// Matched through `*`.
    Wildcard,
    /// Matched through a pattern (`*@realm`, `resolver:`, `b*b`, `#attr`).
    Regex,
    /// Matched by name (`bob`, `bob@realm`, a listed realm, a listed IP or network).
    Exact,
}

impl MatchKind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Wildcard => "wildcard",
            Self::Regex => "regex",
            Self::Exact => "exact",
        }
    }
}

/// The outcome of one field's check: how it matched, or why it did not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Check(Result<MatchKind, String>);

impl Check {
    pub(crate) fn passed(kind: MatchKind) -> Self {
        Self(Ok(kind))
    }

    pub(crate) fn excluded(reason: String) -> Self {
        Self(Err(reason))
    }

    #[cfg(test)]
    pub(crate) fn is_pass(&self) -> bool {
        self.0.is_ok()
    }

    #[cfg(test)]
    pub(crate) fn kind(&self) -> Option<MatchKind> {
        self.0.as_ref().ok().copied()
    }

    pub(crate) fn into_result(self) -> Result<MatchKind, String> {
        self.0
    }
}

/// The user a policy lookup is about.
///
/// Finding out which resolvers know the login and what its attributes are is
/// the caller's I/O; this crate only compares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserContext {
    /// The login name, compared case-sensitively. An empty login means "no
    /// user": the `user` field is then not checked at all, as in LinOTP.
    pub login: String,
    /// The user's realm (stored lower-case), compared case-insensitively.
    pub realm: String,
    /// Names of the resolvers in which this login exists (usually the one it
    /// was found in). Used by `resolver:` and `login.resolver:` entries.
    pub resolver_names: Vec<String>,
    /// The user's resolver attributes (`email`, `mobile`, ...), used by the
    /// `#attr==value` style entries. Empty when the caller did not look them up.
    pub attributes: BTreeMap<String, String>,
}

impl UserContext {
    /// A user `login` in `realm` (lower-cased), known to no resolver yet.
    pub fn new(login: impl Into<String>, realm: impl Into<String>) -> Self {
        Self {
            login: login.into(),
            realm: realm.into().to_lowercase(),
            resolver_names: Vec::new(),
            attributes: BTreeMap::new(),
        }
    }

    /// Adds a resolver that knows this login.
    pub fn with_resolver(mut self, resolver: impl Into<String>) -> Self {
        self.resolver_names.push(resolver.into());
        self
    }

    /// Sets the user's resolver attributes.
    pub fn with_attributes(mut self, attributes: BTreeMap<String, String>) -> Self {
        self.attributes = attributes;
        self
    }

    /// `login@realm`, or `login` without a realm.
    pub fn qualified(&self) -> String {
        if self.realm.is_empty() {
            self.login.clone()
        } else {
            format!("{}@{}", self.login, self.realm)
        }
    }

    /// The names under which an entry counts as an exact match: `login`,
    /// `login@realm`, `login.resolver:` for each resolver.
    fn is_qualified_name(&self, entry: &str) -> bool {
        if entry == self.login {
            return true;
        }
        if !self.realm.is_empty()
            && let Some(realm) = entry
                .strip_prefix(self.login.as_str())
                .and_then(|rest| rest.strip_prefix('@'))
            && realm == self.realm
        {
            return true;
        }
        self.resolver_names.iter().any(|resolver| {
            entry
                .strip_prefix(self.login.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .and_then(|rest| rest.strip_suffix(':'))
                == Some(resolver.as_str())
        })
    }
}

/// Whole-string match where `*` stands for any run of characters.
///
/// LinOTP turns `*` into the regex `.*` and leaves every other character to
/// Python's `re`; here every other character is literal, so `a.b` no longer
/// matches `axb`.
pub(crate) fn glob_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    if pattern == "*" {
        return true;
    }
    if ignore_case {
        return glob_bytes(lower(pattern).as_bytes(), lower(text).as_bytes());
    }
    glob_bytes(pattern.as_bytes(), text.as_bytes())
}

/// Byte-wise glob; `*` is ASCII and UTF-8 literals never match inside
/// another character, so bytes give the same answer as characters.
fn glob_bytes(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            backtrack = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star, matched)) = backtrack {
            p = star + 1;
            t = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|b| *b == b'*')
}

/// Lower-cases without allocating when there is nothing to lower.
fn lower(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_uppercase) {
        std::borrow::Cow::Owned(text.to_lowercase())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

fn strip_negation(entry: &str) -> (bool, &str) {
    match entry.strip_prefix(['!', '-']) {
        Some(rest) => (true, rest),
        None => (false, entry),
    }
}

fn split_list(field: &str) -> impl Iterator<Item = &str> {
    field
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
}

/// Which users an entry's left part (before `#`) selects.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Subject {
    Anyone,
    Login(String),
    Domain {
        login: String,
        realm: String,
    },
    Resolver {
        login: Option<String>,
        resolver: String,
    },
}

impl Subject {
    fn parse(text: &str) -> Self {
        if text.is_empty() {
            return Self::Anyone;
        }
        if let Some((login, realm)) = text.rsplit_once('@') {
            return Self::Domain {
                login: login.to_owned(),
                realm: realm.to_owned(),
            };
        }
        if let Some(spec) = text.strip_suffix(':') {
            return match spec.rsplit_once('.') {
                Some((login, resolver)) => Self::Resolver {
                    login: Some(login.to_owned()),
                    resolver: resolver.to_owned(),
                },
                None => Self::Resolver {
                    login: None,
                    resolver: spec.to_owned(),
                },
            };
        }
        Self::Login(text.to_owned())
    }

    fn selects(&self, user: &UserContext) -> bool {
        match self {
            Self::Anyone => true,
            Self::Login(pattern) => glob_match(pattern, &user.login, false),
            Self::Domain { login, realm } => {
                glob_match(realm, &user.realm, true) && glob_match(login, &user.login, false)
            }
            Self::Resolver { login, resolver } => {
                user.resolver_names.iter().any(|known| known == resolver)
                    && login
                        .as_deref()
                        .is_none_or(|pattern| glob_match(pattern, &user.login, false))
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum AttributeTest {
    Exists,
    Equals(String),
    NotEquals(String),
    /// LinOTP's `~=` is a regex search; here a plain substring search.
    Contains(String),
}

impl AttributeTest {
    fn holds(&self, key: &str, attributes: &BTreeMap<String, String>) -> bool {
        // LinOTP finds nothing to compare when the user info is empty.
        if attributes.is_empty() {
            return false;
        }
        let value = attributes.get(key);
        match self {
            Self::Exists => value.is_some(),
            Self::Equals(expected) => value.is_some_and(|v| v.trim() == expected),
            Self::NotEquals(expected) => value.is_none_or(|v| v.trim() != expected),
            Self::Contains(needle) => {
                value.is_some_and(|v| !v.is_empty() && v.contains(needle.as_str()))
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum UserTest {
    Everyone,
    Subject(Subject),
    Attribute {
        subject: Subject,
        key: String,
        test: AttributeTest,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct UserEntry {
    /// The entry without its negation mark, as written.
    text: String,
    negated: bool,
    test: UserTest,
}

impl UserEntry {
    fn parse(raw: &str) -> Self {
        let (negated, text) = strip_negation(raw);
        let test = if let Some((left, condition)) = text.split_once('#') {
            let (key, test) = if let Some((key, value)) = condition.split_once("==") {
                (key, AttributeTest::Equals(value.trim().to_owned()))
            } else if let Some((key, value)) = condition.split_once("!=") {
                (key, AttributeTest::NotEquals(value.trim().to_owned()))
            } else if let Some((key, value)) = condition.split_once("~=") {
                (key, AttributeTest::Contains(value.trim().to_owned()))
            } else {
                (condition, AttributeTest::Exists)
            };
            UserTest::Attribute {
                subject: Subject::parse(left),
                key: key.trim().to_owned(),
                test,
            }
        } else if text == "*" {
            UserTest::Everyone
        } else {
            UserTest::Subject(Subject::parse(text))
        };
        Self {
            text: text.to_owned(),
            negated,
            test,
        }
    }

    fn selects(&self, user: &UserContext) -> bool {
        match &self.test {
            UserTest::Everyone => true,
            UserTest::Subject(subject) => subject.selects(user),
            UserTest::Attribute { subject, key, test } => {
                subject.selects(user) && test.holds(key, &user.attributes)
            }
        }
    }

    fn kind(&self, user: &UserContext) -> MatchKind {
        if user.is_qualified_name(&self.text) {
            MatchKind::Exact
        } else if self.text == "*" {
            MatchKind::Wildcard
        } else {
            MatchKind::Regex
        }
    }

    fn written(&self) -> String {
        if self.negated {
            format!("!{}", self.text)
        } else {
            self.text.clone()
        }
    }
}

/// A parsed `user` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UserCondition {
    entries: Vec<UserEntry>,
}

impl UserCondition {
    pub(crate) fn parse(field: &str) -> Self {
        Self {
            entries: split_list(field).map(UserEntry::parse).collect(),
        }
    }

    /// Any selecting negated entry excludes the user; otherwise the most
    /// precise selecting entry decides the match kind.
    pub(crate) fn matches(&self, user: &UserContext) -> Option<MatchKind> {
        if self.entries.iter().any(|e| e.negated && e.selects(user)) {
            return None;
        }
        self.entries
            .iter()
            .filter(|e| !e.negated && e.selects(user))
            .map(|e| e.kind(user))
            .max()
    }

    /// [`matches`](Self::matches) with the reason for a mismatch.
    pub(crate) fn check(&self, user: &UserContext) -> Check {
        if let Some(kind) = self.matches(user) {
            return Check::passed(kind);
        }
        let who = user.qualified();
        if let Some(entry) = self.entries.iter().find(|e| e.negated && e.selects(user)) {
            return Check::excluded(format!("user '{who}' excluded by '{}'", entry.written()));
        }
        let listed: Vec<String> = self.entries.iter().map(UserEntry::written).collect();
        Check::excluded(format!("user '{who}' not in [{}]", listed.join(", ")))
    }
}

/// A parsed `realm` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RealmCondition {
    /// `(negated, lower-cased realm)` per entry.
    entries: Vec<(bool, String)>,
}

impl RealmCondition {
    pub(crate) fn parse(field: &str) -> Self {
        let entries = split_list(field)
            .map(|entry| {
                let (negated, realm) = strip_negation(entry);
                (negated, realm.trim().to_lowercase())
            })
            .collect();
        Self { entries }
    }

    pub(crate) fn matches(&self, realm: &str) -> Option<MatchKind> {
        let realm = lower(realm);
        if self
            .entries
            .iter()
            .any(|(negated, entry)| *negated && (*entry == realm || entry == "*"))
        {
            return None;
        }
        if self
            .entries
            .iter()
            .any(|(negated, entry)| !negated && entry == "*")
        {
            return Some(MatchKind::Wildcard);
        }
        self.entries
            .iter()
            .any(|(negated, entry)| !negated && *entry == realm)
            .then_some(MatchKind::Exact)
    }

    /// [`matches`](Self::matches) with the reason for a mismatch.
    pub(crate) fn check(&self, realm: &str) -> Check {
        if let Some(kind) = self.matches(realm) {
            return Check::passed(kind);
        }
        let realm = lower(realm);
        match self
            .entries
            .iter()
            .find(|(negated, entry)| *negated && (*entry == realm || entry == "*"))
        {
            Some((_, entry)) => Check::excluded(format!("realm '{realm}' excluded by '!{entry}'")),
            None => Check::excluded(format!("realm '{realm}' not in [{}]", self.listed())),
        }
    }

    fn listed(&self) -> String {
        let listed: Vec<String> = self
            .entries
            .iter()
            .map(|(negated, realm)| {
                if *negated {
                    format!("!{realm}")
                } else {
                    realm.clone()
                }
            })
            .collect();
        listed.join(", ")
    }

    /// The realms this field grants, for admin realm restrictions:
    /// `(all realms?, listed realms, negated realms)`.
    pub(crate) fn grants(&self) -> (bool, Vec<&str>, Vec<&str>) {
        let all = self
            .entries
            .iter()
            .any(|(negated, realm)| !negated && realm == "*");
        let listed = self
            .entries
            .iter()
            .filter(|(negated, realm)| !negated && realm != "*")
            .map(|(_, realm)| realm.as_str())
            .collect();
        let negated = self
            .entries
            .iter()
            .filter(|(negated, _)| *negated)
            .map(|(_, realm)| realm.as_str())
            .collect();
        (all, listed, negated)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum ClientTarget {
    Any,
    Network(IpNet),
    /// Neither an IP address nor a network (LinOTP fails the request on these).
    Unusable,
}

impl ClientTarget {
    fn covers(&self, client: IpAddr) -> bool {
        match self {
            Self::Any => true,
            Self::Network(net) => net.contains(&client),
            Self::Unusable => false,
        }
    }
}

/// A parsed `client` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClientCondition {
    /// `(negated, text, target)` per entry.
    entries: Vec<(bool, String, ClientTarget)>,
}

impl ClientCondition {
    pub(crate) fn parse(field: &str) -> Self {
        let entries = split_list(field)
            .map(|entry| {
                let (negated, text) = strip_negation(entry);
                let text = text.trim();
                let target = if text == "*" {
                    ClientTarget::Any
                } else if let Ok(net) = text.parse::<IpNet>() {
                    ClientTarget::Network(net)
                } else if let Ok(address) = text.parse::<IpAddr>() {
                    ClientTarget::Network(IpNet::from(address))
                } else {
                    ClientTarget::Unusable
                };
                (negated, text.to_owned(), target)
            })
            .collect();
        Self { entries }
    }

    pub(crate) fn matches(&self, client: IpAddr) -> Option<MatchKind> {
        let client = normalise_client(client);
        if self
            .entries
            .iter()
            .any(|(negated, _, target)| *negated && target.covers(client))
        {
            return None;
        }
        if self
            .entries
            .iter()
            .any(|(negated, _, target)| !negated && *target == ClientTarget::Any)
        {
            return Some(MatchKind::Wildcard);
        }
        self.entries
            .iter()
            .any(|(negated, _, target)| !negated && target.covers(client))
            .then_some(MatchKind::Exact)
    }

    /// [`matches`](Self::matches) with the reason for a mismatch.
    pub(crate) fn check(&self, client: IpAddr) -> Check {
        if let Some(kind) = self.matches(client) {
            return Check::passed(kind);
        }
        let client = normalise_client(client);
        if let Some((_, text, _)) = self
            .entries
            .iter()
            .find(|(negated, _, target)| *negated && target.covers(client))
        {
            return Check::excluded(format!("client {client} excluded by '!{text}'"));
        }
        let listed: Vec<String> = self
            .entries
            .iter()
            .map(|(negated, text, _)| {
                if *negated {
                    format!("!{text}")
                } else {
                    text.clone()
                }
            })
            .collect();
        let mut reason = format!("client {client} not in [{}]", listed.join(", "));
        let unusable: Vec<&str> = self
            .entries
            .iter()
            .filter(|(_, _, target)| *target == ClientTarget::Unusable)
            .map(|(_, text, _)| text.as_str())
            .collect();
        if !unusable.is_empty() {
            reason.push_str(&format!(
                "; not an IP address or network: {}",
                unusable.join(", ")
            ));
        }
        Check::excluded(reason)
    }
}

/// An IPv4 client seen through an IPv6 socket (`::ffff:10.0.0.1`) is
/// compared as the IPv4 address it is.
fn normalise_client(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> UserContext {
        UserContext::new("alice", "Realm1").with_resolver("res1")
    }

    #[test]
    fn glob_patterns() {
        let cases: &[(&str, &str, bool, bool)] = &[
            ("*", "", false, true),
            ("*", "anything", false, true),
            ("al*", "alice", false, true),
            ("*ce", "alice", false, true),
            ("a*i*e", "alice", false, true),
            ("a*x", "alice", false, false),
            ("alice", "alice", false, true),
            ("alice", "Alice", false, false),
            ("alice", "Alice", true, true),
            ("a.ice", "alice", false, false),
            ("", "", false, true),
            ("", "a", false, false),
            ("**", "ab", false, true),
            ("j*rg", "j\u{f6}rg", false, true),
            ("\u{c4}*", "\u{e4}x", true, true),
        ];
        for (pattern, text, ignore_case, expected) in cases {
            assert_eq!(
                glob_match(pattern, text, *ignore_case),
                *expected,
                "{pattern:?} vs {text:?}"
            );
        }
    }

    #[test]
    fn user_entries_match_with_their_precision() {
        let user = alice();
        let cases: &[(&str, Option<MatchKind>)] = &[
            ("*", Some(MatchKind::Wildcard)),
            ("alice", Some(MatchKind::Exact)),
            ("alice@realm1", Some(MatchKind::Exact)),
            ("alice.res1:", Some(MatchKind::Exact)),
            ("alice@REALM1", Some(MatchKind::Regex)),
            ("al*", Some(MatchKind::Regex)),
            ("*@realm1", Some(MatchKind::Regex)),
            ("alice@*", Some(MatchKind::Regex)),
            ("res1:", Some(MatchKind::Regex)),
            ("*.res1:", Some(MatchKind::Regex)),
            ("bob", None),
            ("Alice", None),
            ("*@realm2", None),
            ("res2:", None),
            ("bob.res1:", None),
            ("res1:alice", None),
            ("*, alice", Some(MatchKind::Exact)),
            ("alice, *", Some(MatchKind::Exact)),
            ("*, *@realm1", Some(MatchKind::Regex)),
            ("*, !alice", None),
            ("!bob, alice", Some(MatchKind::Exact)),
            ("-alice, *", None),
            ("*, !*@realm1", None),
            ("!bob", None),
            ("", None),
        ];
        for (field, expected) in cases {
            let check = UserCondition::parse(field).check(&user);
            assert_eq!(check.kind(), *expected, "user field {field:?}");
        }
    }

    #[test]
    fn exclusion_reasons_name_the_entry() {
        let check = UserCondition::parse("*, !alice").check(&alice());
        assert_eq!(
            check.into_result(),
            Err("user 'alice@realm1' excluded by '!alice'".to_owned())
        );
        let check = UserCondition::parse("bob, *@other").check(&alice());
        assert_eq!(
            check.into_result(),
            Err("user 'alice@realm1' not in [bob, *@other]".to_owned())
        );
    }

    #[test]
    fn attribute_entries() {
        let mut attributes = BTreeMap::new();
        attributes.insert("email".to_owned(), "alice@example.com ".to_owned());
        attributes.insert("mobile".to_owned(), "+49 170 1234".to_owned());
        let user = alice().with_attributes(attributes);
        let cases: &[(&str, bool)] = &[
            ("#email", true),
            ("#phone", false),
            ("#email==alice@example.com", true),
            ("#email == bob@example.com", false),
            ("#email!=bob@example.com", true),
            ("#phone!=x", true),
            ("#mobile~=170", true),
            ("#mobile~=999", false),
            ("*@realm1#mobile~=170", true),
            ("*@realm2#mobile~=170", false),
            ("res1:#email", true),
            ("res2:#email", false),
            ("bob#email", false),
            ("!#mobile~=170, *", false),
        ];
        for (field, expected) in cases {
            assert_eq!(
                UserCondition::parse(field).check(&user).is_pass(),
                *expected,
                "user field {field:?}"
            );
        }
        // Without looked-up attributes nothing compares, not even `!=`.
        assert!(!UserCondition::parse("#phone!=x").check(&alice()).is_pass());
    }

    #[test]
    fn realm_entries() {
        let cases: &[(&str, &str, Option<MatchKind>)] = &[
            ("*", "any", Some(MatchKind::Wildcard)),
            ("realm1", "REALM1", Some(MatchKind::Exact)),
            ("Realm1, realm2", "realm2", Some(MatchKind::Exact)),
            ("realm1", "realm2", None),
            ("*, realm1", "realm1", Some(MatchKind::Wildcard)),
            ("*, !realm1", "realm1", None),
            ("*, -realm1", "realm2", Some(MatchKind::Wildcard)),
            ("!realm1", "realm2", None),
            ("!*", "realm2", None),
            ("", "realm1", None),
        ];
        for (field, realm, expected) in cases {
            assert_eq!(
                RealmCondition::parse(field).check(realm).kind(),
                *expected,
                "realm {field:?} vs {realm}"
            );
        }
    }

    #[test]
    fn client_entries() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        let cases: &[(&str, &str, Option<MatchKind>)] = &[
            ("*", "10.0.0.5", Some(MatchKind::Wildcard)),
            ("10.0.0.5", "10.0.0.5", Some(MatchKind::Exact)),
            ("10.0.0.5", "10.0.0.6", None),
            ("192.168.0.0/16", "192.168.44.1", Some(MatchKind::Exact)),
            ("192.168.0.0/16", "10.0.0.5", None),
            ("192.168.7.1/16", "192.168.200.9", Some(MatchKind::Exact)),
            ("10.0.0.0/8, !10.1.0.0/16", "10.1.2.3", None),
            (
                "10.0.0.0/8, !10.1.0.0/16",
                "10.2.2.3",
                Some(MatchKind::Exact),
            ),
            ("*, !10.0.0.5", "10.0.0.5", None),
            ("*, -10.0.0.5", "10.0.0.6", Some(MatchKind::Wildcard)),
            ("2001:db8::/32", "2001:db8::1", Some(MatchKind::Exact)),
            ("10.0.0.0/8", "::ffff:10.0.0.1", Some(MatchKind::Exact)),
            ("10.0.0.0/8", "2001:db8::1", None),
            ("localhost", "127.0.0.1", None),
        ];
        for (field, client, expected) in cases {
            assert_eq!(
                ClientCondition::parse(field).check(ip(client)).kind(),
                *expected,
                "client {field:?} vs {client}"
            );
        }
        let check = ClientCondition::parse("192.168.0.0/16, gateway").check(ip("10.0.0.5"));
        assert_eq!(
            check.into_result(),
            Err("client 10.0.0.5 not in [192.168.0.0/16, gateway]; not an IP address or network: gateway".to_owned())
        );
    }

    #[test]
    fn admin_grants() {
        let condition = RealmCondition::parse("*, !secret, Extra");
        assert_eq!(condition.grants(), (true, vec!["extra"], vec!["secret"]));
    }
}
