//! Policies as the services consult them: the [`PolicySet`] of the current configuration and
//! the [`PolicyContext`] of a request.
//!
//! LinOTP keeps its policies in the `Config` table (`linotp.Policy.<name>.<attribute>`), so
//! they change exactly when the configuration does. The set is parsed once per configuration
//! snapshot ([`SystemConfig::policies`]) and shared by every request that uses the snapshot;
//! a `setPolicy` on any node moves the config stamp, the next request loads a new snapshot and
//! with it the new policies.
//!
//! A lookup is about a user (login, realm, the resolvers that know the login, and the user's
//! attributes when a policy matches on them), a client address and the server's local time
//! (for `time` conditions). [`RequestOrigin`] holds what comes from the request; it builds the
//! contexts for a resolved user, for a login nobody resolved yet, or for a realm alone (a
//! serial-only check runs with the token's realm and no login, as LinOTP does).
//!
//! ```
//! use linotp_api::policy::{OtpPin, RequestOrigin};
//! use linotp_api::sysconfig::SystemConfig;
//! use linotp_store::config::ConfigEntry;
//!
//! let entry = |attribute: &str, value: &str| ConfigEntry {
//!     key: format!("linotp.Policy.pin_by_password.{attribute}"),
//!     value: value.to_owned(),
//!     typ: None,
//!     description: None,
//! };
//! let config = SystemConfig::from_entries(
//!     Some("stamp".to_owned()),
//!     vec![
//!         entry("scope", "authentication"),
//!         entry("action", "otppin=1"),
//!         entry("realm", "fixrealm"),
//!         entry("user", "carol"),
//!         entry("active", "True"),
//!     ],
//! );
//! let origin = RequestOrigin::new(1_796_040_000, Some("192.0.2.10".parse()?));
//! let carol = origin.for_login("carol", "fixrealm");
//! assert_eq!(config.policies().otppin(&carol)?, OtpPin::Password);
//! let alice = origin.for_login("alice", "fixrealm");
//! assert_eq!(config.policies().otppin(&alice)?, OtpPin::TokenPin);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Local, NaiveDateTime, TimeZone};
use linotp_store::AnyConnection;

pub use linotp_policy::{OtpPin, PolicyContext, PolicySet, UserContext};

use crate::app::App;
use crate::error::Result;
use crate::sysconfig::SystemConfig;
use crate::users::{self, ResolvedUser};

impl SystemConfig {
    /// The policies of this configuration, parsed on first use and kept with the snapshot.
    pub fn policies(&self) -> &PolicySet {
        self.policies.get_or_init(|| {
            PolicySet::from_config(
                self.entries()
                    .map(|entry| (entry.key.as_str(), entry.value.as_str())),
            )
        })
    }
}

/// The server's local time at `now_unix` (policy `time` conditions, challenge timestamps are
/// local time in LinOTP). Falls back to UTC for instants the local zone cannot show.
pub fn local_time(now_unix: i64) -> NaiveDateTime {
    match Local.timestamp_opt(now_unix, 0).single() {
        Some(local) => local.naive_local(),
        None => DateTime::from_timestamp(now_unix, 0)
            .map(|utc| utc.naive_utc())
            .unwrap_or_default(),
    }
}

/// Where and when a request asks: its client address and the local time of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestOrigin {
    /// The client address (after trusted-proxy resolution), if known.
    pub client: Option<IpAddr>,
    /// The server's local time of the request.
    pub time: NaiveDateTime,
}

impl RequestOrigin {
    /// The origin of a request at `now_unix` from `client`.
    pub fn new(now_unix: i64, client: Option<IpAddr>) -> RequestOrigin {
        RequestOrigin {
            client,
            time: local_time(now_unix),
        }
    }

    /// The origin of a request from `client` now, by the application clock.
    pub fn of(app: &App, client: Option<IpAddr>) -> RequestOrigin {
        RequestOrigin::new(app.now(), client)
    }

    fn finish(&self, ctx: PolicyContext) -> PolicyContext {
        let ctx = ctx.at(self.time);
        match self.client {
            Some(client) => ctx.with_client(client),
            None => ctx,
        }
    }

    /// A context about `user`, matched against the policies' realms by the user's realm.
    pub fn for_user(&self, user: UserContext) -> PolicyContext {
        self.finish(PolicyContext::for_user(user))
    }

    /// A context about a login in a realm that no resolver was asked about (yet).
    pub fn for_login(&self, login: &str, realm: &str) -> PolicyContext {
        self.for_user(UserContext::new(login, realm))
    }

    /// A context with a realm and no user: policies' `user` fields are not checked (LinOTP's
    /// `User(login="", realm=…)` of serial-only checks).
    pub fn for_realm(&self, realm: &str) -> PolicyContext {
        self.for_user(UserContext::new("", realm))
    }

    /// A context for an administrator in the admin-side scopes (the admin's own realm is not
    /// matched against the policies' realms).
    pub fn for_admin(&self, admin: UserContext) -> PolicyContext {
        self.finish(PolicyContext::for_admin(admin))
    }
}

/// The policy view of a resolved user: login, realm and the resolver that knows the login.
pub fn user_context(user: &ResolvedUser) -> UserContext {
    let context = UserContext::new(user.login.clone(), user.realm.clone());
    match user.resolver_name() {
        Some(resolver) => context.with_resolver(resolver),
        None => context,
    }
}

/// Whether any policy matches users by their resolver attributes (`#email==…`): only then do
/// lookups need the user's attributes, which cost a resolver query.
pub fn needs_user_attributes(policies: &PolicySet) -> bool {
    policies.iter().any(|policy| policy.user().contains('#'))
}

/// [`user_context`] with the user's resolver attributes when a policy matches on them.
pub fn user_context_for(
    app: &App,
    config: &SystemConfig,
    conn: &mut AnyConnection,
    user: &ResolvedUser,
) -> Result<UserContext> {
    let context = user_context(user);
    if !needs_user_attributes(config.policies()) {
        return Ok(context);
    }
    let info = users::owner_info(app, config, conn, &user.resolver_spec, &user.user_id)?;
    let attributes: BTreeMap<String, String> = info
        .iter()
        .flat_map(|info| info.iter())
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    Ok(context.with_attributes(attributes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sysconfig::test_config;

    fn policy_config(name: &str, attributes: &[(&str, &str)]) -> SystemConfig {
        let keys: Vec<String> = attributes
            .iter()
            .map(|(attribute, _)| format!("Policy.{name}.{attribute}"))
            .collect();
        let entries: Vec<(&str, &str)> = keys
            .iter()
            .zip(attributes)
            .map(|(key, (_, value))| (key.as_str(), *value))
            .collect();
        test_config(&entries)
    }

    #[test]
    fn the_snapshot_parses_its_policies_once() {
        let config = policy_config(
            "p",
            &[
                ("scope", "authentication"),
                ("action", "passthru"),
                ("realm", "r1"),
                ("active", "True"),
            ],
        );
        let first: *const PolicySet = config.policies();
        let second: *const PolicySet = config.policies();
        assert_eq!(first, second);
        assert_eq!(config.policies().len(), 1);
    }

    #[test]
    fn client_and_time_conditions_see_the_request() {
        let config = policy_config(
            "office",
            &[
                ("scope", "authentication"),
                ("action", "passthru"),
                ("realm", "*"),
                ("client", "10.0.0.0/8"),
                ("active", "True"),
            ],
        );
        let inside = RequestOrigin::new(0, Some("10.1.2.3".parse().unwrap()));
        let outside = RequestOrigin::new(0, Some("192.0.2.1".parse().unwrap()));
        let policies = config.policies();
        assert_eq!(policies.passthru(&inside.for_login("a", "r")), Ok(true));
        assert_eq!(policies.passthru(&outside.for_login("a", "r")), Ok(false));
    }

    #[test]
    fn a_realm_context_ignores_the_user_field() {
        let config = policy_config(
            "carol_only",
            &[
                ("scope", "authentication"),
                ("action", "otppin=1"),
                ("realm", "fixrealm"),
                ("user", "carol"),
                ("active", "True"),
            ],
        );
        let origin = RequestOrigin::new(0, None);
        let policies = config.policies();
        // LinOTP's serial-only checks carry the token realm and no login: the policy applies.
        assert_eq!(
            policies.otppin(&origin.for_realm("fixrealm")),
            Ok(OtpPin::Password)
        );
        assert_eq!(
            policies.otppin(&origin.for_login("bob", "fixrealm")),
            Ok(OtpPin::TokenPin)
        );
        assert_eq!(
            policies.otppin(&origin.for_realm("other")),
            Ok(OtpPin::TokenPin)
        );
    }

    #[test]
    fn resolved_users_carry_their_resolver_for_resolver_entries() {
        let user = ResolvedUser {
            login: "alice".into(),
            realm: "r1".into(),
            user_id: "1".into(),
            resolver_spec: "useridresolver.SQLIdResolver.IdResolver.corp".into(),
            resolver_class_short: "SQLIdResolver.IdResolver.corp".into(),
        };
        let config = policy_config(
            "corp_users",
            &[
                ("scope", "authentication"),
                ("action", "passthru"),
                ("realm", "*"),
                ("user", "corp:"),
                ("active", "True"),
            ],
        );
        let origin = RequestOrigin::new(0, None);
        assert_eq!(
            config
                .policies()
                .passthru(&origin.for_user(user_context(&user))),
            Ok(true)
        );
        assert_eq!(
            config.policies().passthru(&origin.for_login("alice", "r1")),
            Ok(false)
        );
        assert!(!needs_user_attributes(config.policies()));
    }
}
