//! The policies `/validate` consults (scopes `authentication` and `authorization`), evaluated
//! for one request: its client address and local time are fixed, the user varies (the
//! request user, or a token's realm when the request names no user).
//!
//! Every lookup takes the [`UserContext`] it is about. LinOTP evaluates a user without realm
//! against the default realm, and a request without user as a user with no login, whose
//! policies' `user` fields are then not checked; [`subject_for_login`] and
//! [`subject_for_realm`] build those subjects.
//!
//! Policies whose values conflict (two equally specific policies with different values) are
//! LinOTP's errors only for `otppin` ("multiple pin policies found"); other lookups log the
//! conflict and use the default, as LinOTP 4 takes one of the values.

use linotp_core::OtpPinMode;
use linotp_policy::{OtpPin, PolicyContext, PolicySet, UserContext};
use regex::Regex;

use crate::policy::RequestOrigin;
use crate::sysconfig::SystemConfig;

/// The subject of a lookup about `login` in `realm`; an empty realm is the default realm.
pub fn subject_for_login(config: &SystemConfig, login: &str, realm: &str) -> UserContext {
    let realm = if realm.is_empty() {
        config.default_realm().unwrap_or_default()
    } else {
        realm.to_lowercase()
    };
    UserContext::new(login, realm)
}

/// The subject of a lookup about a realm only (no login).
pub fn subject_for_realm(config: &SystemConfig, realm: &str) -> UserContext {
    subject_for_login(config, "", realm)
}

/// LinOTP's `get_token_realm_user`: the realm a token without a requesting user is checked
/// in — its only realm, or the default realm when it has none. A token in several realms has
/// no such realm (LinOTP refuses to check it).
pub fn token_realm_subject(config: &SystemConfig, token_realms: &[String]) -> Option<UserContext> {
    match token_realms {
        [] => Some(subject_for_realm(config, "")),
        [only] => Some(subject_for_realm(config, only)),
        _ => None,
    }
}

/// The error text LinOTP raises for a token of several realms checked without a user.
pub const SEVERAL_TOKEN_REALMS: &str =
    "Multiple realms for token found. But one dedicated realm is required for further processing.";

/// The authentication and authorization policies of one request.
#[derive(Debug, Clone, Copy)]
pub struct AuthPolicies<'a> {
    policies: &'a PolicySet,
    origin: RequestOrigin,
}

fn logged<T>(lookup: linotp_policy::Result<T>, fallback: T, action: &str) -> T {
    lookup.unwrap_or_else(|error| {
        tracing::warn!(%error, action, "policy lookup failed; using the default");
        fallback
    })
}

impl<'a> AuthPolicies<'a> {
    /// The policies of `config` for a request from `origin`.
    pub fn new(config: &'a SystemConfig, origin: RequestOrigin) -> AuthPolicies<'a> {
        AuthPolicies {
            policies: config.policies(),
            origin,
        }
    }

    /// Where and when the request came from.
    pub fn origin(&self) -> RequestOrigin {
        self.origin
    }

    /// The client address as LinOTP's messages show it.
    pub fn client_text(&self) -> String {
        self.origin
            .client
            .map_or_else(|| "None".to_owned(), |client| client.to_string())
    }

    fn ctx(&self, subject: &UserContext) -> PolicyContext {
        self.origin.for_user(subject.clone())
    }

    /// `authorization/setrealm`: the realm a login of `realm` is looked up in instead. Matched
    /// by login and realm only (LinOTP does not ask the resolvers here).
    pub fn setrealm(&self, config: &SystemConfig, login: &str, realm: &str) -> Option<String> {
        let subject = subject_for_login(config, login, realm);
        logged(
            self.policies.setrealm(&self.ctx(&subject)),
            None,
            "setrealm",
        )
        .map(|realm| realm.trim().to_lowercase())
        .filter(|new| !new.is_empty() && new != realm)
    }

    /// `authorization/authorize`: whether the subject may authenticate from this client.
    pub fn authorized(&self, subject: &UserContext) -> bool {
        self.policies.authorize(&self.ctx(subject))
    }

    /// `authentication/otppin` for the subject; conflicting policies are LinOTP's "multiple
    /// pin policies found".
    pub fn otppin(&self, subject: &UserContext) -> linotp_policy::Result<OtpPinMode> {
        Ok(match self.policies.otppin(&self.ctx(subject))? {
            OtpPin::TokenPin => OtpPinMode::TokenPin,
            OtpPin::Password => OtpPinMode::UserPassword,
            OtpPin::OnlyOtp => OtpPinMode::OnlyOtp,
            OtpPin::IgnorePin => OtpPinMode::IgnorePin,
        })
    }

    /// `authentication/challenge_response`: whether tokens of `token_type` run
    /// challenge-response for the subject.
    pub fn challenge_response(&self, subject: &UserContext, token_type: &str) -> bool {
        logged(
            self.policies
                .challenge_response(&self.ctx(subject), token_type),
            false,
            "challenge_response",
        )
    }

    /// `authentication/disable_on_authentication_exceed` and
    /// `delete_on_authentication_exceed` for a token over its limits: with a requesting user
    /// by the user, else by each of the token's realms (the default realm when it has none).
    pub fn exceed_actions(
        &self,
        config: &SystemConfig,
        user: Option<&UserContext>,
        token_realms: &[String],
    ) -> (bool, bool) {
        let subjects: Vec<UserContext> = match user {
            Some(user) => vec![user.clone()],
            None if token_realms.is_empty() => vec![subject_for_realm(config, "")],
            None => token_realms
                .iter()
                .map(|realm| subject_for_realm(config, realm))
                .collect(),
        };
        let any = |action: &str| {
            subjects.iter().any(|subject| {
                logged(
                    self.policies
                        .flag("authentication", action, &self.ctx(subject)),
                    false,
                    action,
                )
            })
        };
        (
            any("disable_on_authentication_exceed"),
            any("delete_on_authentication_exceed"),
        )
    }

    /// `authentication/passthru`: a user without tokens is checked against the user store.
    pub fn passthru(&self, subject: &UserContext) -> bool {
        logged(
            self.policies.passthru(&self.ctx(subject)),
            false,
            "passthru",
        )
    }

    /// `authentication/passOnNoToken`: a user without tokens is accepted.
    pub fn pass_on_no_token(&self, subject: &UserContext) -> bool {
        logged(
            self.policies.pass_on_no_token(&self.ctx(subject)),
            false,
            "passOnNoToken",
        )
    }

    /// `authentication/forward_server`: the remote servers that decide for this user.
    pub fn forward_servers(&self, subject: &UserContext) -> Option<String> {
        logged(
            self.policies.forward_server(&self.ctx(subject)),
            None,
            "forward_server",
        )
        .filter(|servers| !servers.trim().is_empty())
    }

    /// `authentication/forward_on_no_token`: forward only users without tokens.
    pub fn forward_on_no_token(&self, subject: &UserContext) -> bool {
        logged(
            self.policies.forward_on_no_token(&self.ctx(subject)),
            false,
            "forward_on_no_token",
        )
    }

    /// `authorization/tokentype`: whether a token of `token_type` may authenticate.
    pub fn token_type_allowed(&self, subject: &UserContext, token_type: &str) -> bool {
        logged(
            self.policies
                .token_type_allowed(&self.ctx(subject), token_type),
            true,
            "tokentype",
        )
    }

    /// `authorization/serial`: whether the serial matches the policy's regular expression
    /// (Python `re.search`: anywhere in the serial). An expression that does not compile
    /// refuses, as LinOTP's `re.error` does.
    pub fn serial_allowed(&self, subject: &UserContext, serial: &str) -> bool {
        let pattern = match self.policies.serial_pattern(&self.ctx(subject)) {
            Ok(None) => return true,
            Ok(Some(pattern)) => pattern,
            Err(error) => {
                tracing::warn!(%error, "authorization/serial policy cannot be read; refused");
                return false;
            }
        };
        match Regex::new(&pattern) {
            Ok(expression) => expression.is_match(serial),
            Err(error) => {
                tracing::warn!(%error, pattern, "authorization/serial is no regular expression");
                false
            }
        }
    }

    /// `authorization/detail_on_success` (`success`) or `detail_on_fail`.
    pub fn detail_on(&self, subject: &UserContext, success: bool) -> bool {
        let ctx = self.ctx(subject);
        let lookup = if success {
            self.policies.detail_on_success(&ctx)
        } else {
            self.policies.detail_on_fail(&ctx)
        };
        logged(lookup, false, "detail_on_*")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linotp_store::config::ConfigEntry;

    fn config(policies: &[(&str, &str, &str, &str)]) -> SystemConfig {
        let mut entries = vec![ConfigEntry {
            key: "linotp.DefaultRealm".into(),
            value: "home".into(),
            typ: None,
            description: None,
        }];
        for (name, scope, action, realm) in policies {
            for (attribute, value) in [
                ("scope", *scope),
                ("action", *action),
                ("realm", *realm),
                ("active", "True"),
            ] {
                entries.push(ConfigEntry {
                    key: format!("linotp.Policy.{name}.{attribute}"),
                    value: value.to_owned(),
                    typ: None,
                    description: None,
                });
            }
        }
        SystemConfig::from_entries(Some("stamp".into()), entries)
    }

    fn origin() -> RequestOrigin {
        RequestOrigin::new(0, Some("192.0.2.10".parse().unwrap()))
    }

    #[test]
    fn subjects_without_realm_fall_back_to_the_default_realm() {
        let config = config(&[]);
        assert_eq!(subject_for_login(&config, "a", "").realm, "home");
        assert_eq!(subject_for_login(&config, "a", "Other").realm, "other");
        let none = token_realm_subject(&config, &[]).unwrap();
        assert_eq!((none.login.as_str(), none.realm.as_str()), ("", "home"));
        assert!(token_realm_subject(&config, &["a".into(), "b".into()]).is_none());
    }

    #[test]
    fn each_lookup_reads_its_policy_and_defaults_without_one() {
        let config = config(&[
            (
                "auth",
                "authentication",
                "otppin=2, passthru, challenge_response=hmac, disable_on_authentication_exceed",
                "home",
            ),
            (
                "authz",
                "authorization",
                "tokentype=totp, serial=^TOTP, detail_on_fail, setrealm=elsewhere",
                "home",
            ),
        ]);
        let policies = AuthPolicies::new(&config, origin());
        let home = subject_for_login(&config, "alice", "home");
        let other = subject_for_login(&config, "alice", "other");
        assert_eq!(policies.otppin(&home), Ok(OtpPinMode::OnlyOtp));
        assert_eq!(policies.otppin(&other), Ok(OtpPinMode::TokenPin));
        assert!(policies.passthru(&home) && !policies.passthru(&other));
        assert!(policies.challenge_response(&home, "HMAC"));
        assert!(!policies.challenge_response(&home, "totp"));
        assert_eq!(
            policies.exceed_actions(&config, Some(&home), &[]),
            (true, false)
        );
        assert_eq!(policies.exceed_actions(&config, None, &[]), (true, false));
        assert_eq!(
            policies.exceed_actions(&config, None, &["other".into()]),
            (false, false)
        );
        assert!(policies.token_type_allowed(&home, "TOTP"));
        assert!(!policies.token_type_allowed(&home, "HMAC"));
        assert!(policies.token_type_allowed(&other, "HMAC"));
        assert!(policies.serial_allowed(&home, "TOTP0001"));
        assert!(!policies.serial_allowed(&home, "OATH0001"));
        assert!(policies.serial_allowed(&other, "OATH0001"));
        assert!(policies.detail_on(&home, false) && !policies.detail_on(&home, true));
        assert_eq!(
            policies.setrealm(&config, "alice", "home"),
            Some("elsewhere".into())
        );
        assert_eq!(policies.setrealm(&config, "alice", "other"), None);
        assert!(policies.authorized(&home));
    }

    #[test]
    fn conflicting_otppin_policies_are_an_error() {
        let config = config(&[
            ("pin_a", "authentication", "otppin=1", "home"),
            ("pin_b", "authentication", "otppin=2", "home"),
        ]);
        let policies = AuthPolicies::new(&config, origin());
        let error = policies
            .otppin(&subject_for_login(&config, "alice", "home"))
            .unwrap_err();
        assert_eq!(error.to_string(), "multiple pin policies found");
    }

    #[test]
    fn serial_patterns_search_anywhere_and_bad_ones_refuse() {
        let search = config(&[("s", "authorization", "serial=001", "home")]);
        let policies = AuthPolicies::new(&search, origin());
        let home = subject_for_login(&search, "a", "home");
        assert!(policies.serial_allowed(&home, "OATH0010012"));
        let broken = config(&[("s", "authorization", "serial=(", "home")]);
        let policies = AuthPolicies::new(&broken, origin());
        assert!(!policies.serial_allowed(&home, "OATH0001"));
    }
}
