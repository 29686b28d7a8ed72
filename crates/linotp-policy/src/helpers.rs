//! Typed lookups for the policies the services consult, each with LinOTP's
//! default when no policy applies.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::action::ActionValue;
use crate::definitions::typed_value;
use crate::error::Result;
use crate::evaluate::PolicyContext;
use crate::pin::PinRules;
use crate::policy::PolicySet;

/// The `otppin` policy: what the PIN part of a pass is checked against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OtpPin {
    /// `0` / `token_pin`: the token's own PIN (default).
    #[default]
    TokenPin,
    /// `1` / `password`: the user's password in the user store.
    Password,
    /// `2` / `only_otp`: no PIN at all.
    OnlyOtp,
    /// `3` / `ignore_pin`: a PIN part is accepted unchecked.
    IgnorePin,
}

impl OtpPin {
    /// LinOTP's number for the mode.
    pub fn number(self) -> u8 {
        match self {
            Self::TokenPin => 0,
            Self::Password => 1,
            Self::OnlyOtp => 2,
            Self::IgnorePin => 3,
        }
    }

    fn from_value(value: &ActionValue) -> Option<Self> {
        let mode = match value {
            ActionValue::Int(0) | ActionValue::Bool(false) => Self::TokenPin,
            // A bare `otppin` is Python's True, which LinOTP compares equal to 1.
            ActionValue::Int(1) | ActionValue::Bool(true) => Self::Password,
            ActionValue::Int(2) => Self::OnlyOtp,
            ActionValue::Int(3) => Self::IgnorePin,
            ActionValue::Str(name) => match name.as_str() {
                "token_pin" => Self::TokenPin,
                "password" => Self::Password,
                "only_otp" => Self::OnlyOtp,
                "ignore_pin" => Self::IgnorePin,
                _ => return None,
            },
            ActionValue::Int(_) => return None,
        };
        Some(mode)
    }
}

impl PolicySet {
    /// Whether a boolean-like action is on: the applying policies' value, or
    /// LinOTP's default, by Python truthiness (`false`, `0`, `""` are off).
    pub fn flag(&self, scope: &str, action: &str, ctx: &PolicyContext) -> Result<bool> {
        Ok(self
            .action_value_or_default(scope, action, ctx)?
            .is_some_and(|value| value.is_truthy()))
    }

    /// A string action's value (`None` when no applying policy sets it and
    /// LinOTP has no default); booleans read as `True`/`False`.
    pub fn text(&self, scope: &str, action: &str, ctx: &PolicyContext) -> Result<Option<String>> {
        Ok(self
            .action_value_or_default(scope, action, ctx)?
            .map(|value| value.to_text()))
    }

    /// A numeric action's value; `None` when unset or negative (LinOTP's
    /// `-1` means "no limit").
    pub fn limit(&self, scope: &str, action: &str, ctx: &PolicyContext) -> Result<Option<u64>> {
        let value = self.action_value_or_default(scope, action, ctx)?;
        let number = match value {
            Some(ActionValue::Int(number)) => Some(number),
            Some(ActionValue::Str(text)) => text.trim().parse::<i64>().ok(),
            _ => None,
        };
        Ok(number.and_then(|number| u64::try_from(number).ok()))
    }

    // ------------------------------------------------------------------ authentication

    /// `authentication/otppin`: how the PIN part is checked (default token PIN).
    /// Unknown values fall back to the token PIN, as in LinOTP.
    pub fn otppin(&self, ctx: &PolicyContext) -> Result<OtpPin> {
        let Some(value) = self.get_action_value("authentication", "otppin", ctx)? else {
            return Ok(OtpPin::TokenPin);
        };
        Ok(OtpPin::from_value(&value).unwrap_or_else(|| {
            tracing::warn!(%value, "unknown otppin policy value, using the token PIN");
            OtpPin::TokenPin
        }))
    }

    /// `authentication/passthru`: a user without tokens is checked against
    /// the user store password.
    pub fn passthru(&self, ctx: &PolicyContext) -> Result<bool> {
        self.flag("authentication", "passthru", ctx)
    }

    /// `authentication/passOnNoToken`: a user without tokens is accepted.
    pub fn pass_on_no_token(&self, ctx: &PolicyContext) -> Result<bool> {
        self.flag("authentication", "passOnNoToken", ctx)
    }

    /// `authentication/forward_server`: the space-separated server URLs.
    pub fn forward_server(&self, ctx: &PolicyContext) -> Result<Option<String>> {
        self.text("authentication", "forward_server", ctx)
    }

    /// `authentication/forward_on_no_token`.
    pub fn forward_on_no_token(&self, ctx: &PolicyContext) -> Result<bool> {
        self.flag("authentication", "forward_on_no_token", ctx)
    }

    /// `authentication/challenge_response`: whether tokens of `token_type`
    /// may answer with a challenge (the value lists types, or `*`).
    pub fn challenge_response(&self, ctx: &PolicyContext, token_type: &str) -> Result<bool> {
        let types = self
            .text("authentication", "challenge_response", ctx)?
            .unwrap_or_default();
        Ok(list_contains(&types, token_type))
    }

    /// `authentication/support_offline`: whether tokens of `token_type` get offline data.
    pub fn support_offline(&self, ctx: &PolicyContext, token_type: &str) -> Result<bool> {
        let types = self
            .text("authentication", "support_offline", ctx)?
            .unwrap_or_default();
        Ok(types.split_whitespace().any(|listed| listed == token_type))
    }

    // ------------------------------------------------------------------ authorization

    /// `authorization/authorize`: whether the user may authenticate from the
    /// client. Without any active `authorize` policy everyone may.
    pub fn authorize(&self, ctx: &PolicyContext) -> bool {
        let any_authorize_policy = self.iter().any(|policy| {
            policy.scope() == "authorization"
                && policy.is_active()
                && policy
                    .actions()
                    .is_ok_and(|actions| actions.is_wildcard() || actions.contains("authorize"))
        });
        !any_authorize_policy || self.is_allowed("authorization", "authorize", ctx)
    }

    /// `authorization/tokentype`: whether a token of `token_type` may be used
    /// (no policy, an empty list or `*` allow all; types are separated by
    /// spaces or commas, compared case-insensitively).
    pub fn token_type_allowed(&self, ctx: &PolicyContext, token_type: &str) -> Result<bool> {
        let types = self
            .text("authorization", "tokentype", ctx)?
            .unwrap_or_default();
        let mut listed = types
            .split([' ', ','])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .peekable();
        if listed.peek().is_none() {
            return Ok(true);
        }
        Ok(listed.any(|listed| listed == "*" || listed.eq_ignore_ascii_case(token_type)))
    }

    /// `authorization/serial`: the regular expression the token serial must
    /// match, `None` when no policy applies (everything allowed). Matching
    /// (Python `re.search` semantics) is the caller's job.
    pub fn serial_pattern(&self, ctx: &PolicyContext) -> Result<Option<String>> {
        if self
            .matching_policies("authorization", Some("serial"), ctx)
            .is_empty()
        {
            return Ok(None);
        }
        Ok(Some(
            self.text("authorization", "serial", ctx)?
                .unwrap_or_default(),
        ))
    }

    /// `authorization/setrealm`: the realm to use instead of the requested one.
    pub fn setrealm(&self, ctx: &PolicyContext) -> Result<Option<String>> {
        self.text("authorization", "setrealm", ctx)
    }

    /// `authorization/detail_on_success`: add token details to a successful reply.
    pub fn detail_on_success(&self, ctx: &PolicyContext) -> Result<bool> {
        self.flag("authorization", "detail_on_success", ctx)
    }

    /// `authorization/detail_on_fail`: add details to a failed reply.
    pub fn detail_on_fail(&self, ctx: &PolicyContext) -> Result<bool> {
        self.flag("authorization", "detail_on_fail", ctx)
    }

    // ------------------------------------------------------------------ enrollment

    /// `enrollment/tokencount`: the most tokens the context's realm may hold.
    pub fn tokencount(&self, ctx: &PolicyContext) -> Result<Option<u64>> {
        self.limit("enrollment", "tokencount", ctx)
    }

    /// `enrollment/maxtoken`: the most tokens one user may have.
    pub fn maxtoken(&self, ctx: &PolicyContext) -> Result<Option<u64>> {
        self.limit("enrollment", "maxtoken", ctx)
    }

    /// `enrollment/maxtoken<TYPE>`: the most tokens of one type a user may have.
    pub fn maxtoken_for_type(&self, ctx: &PolicyContext, token_type: &str) -> Result<Option<u64>> {
        self.limit(
            "enrollment",
            &format!("maxtoken{}", token_type.to_uppercase()),
            ctx,
        )
    }

    /// `enrollment/otp_pin_random`: length of a random PIN set on enrolment.
    pub fn otp_pin_random(&self, ctx: &PolicyContext) -> Result<Option<u64>> {
        self.limit("enrollment", "otp_pin_random", ctx)
    }

    /// `enrollment/otp_pin_random_content`: the character classes (`c C n s`) of random PINs.
    pub fn otp_pin_random_content(&self, ctx: &PolicyContext) -> Result<Option<String>> {
        Ok(self
            .text("enrollment", "otp_pin_random_content", ctx)?
            .filter(|content| !content.is_empty()))
    }

    /// `enrollment/otp_pin_encrypt`: store token PINs encrypted instead of hashed.
    pub fn otp_pin_encrypt(&self, ctx: &PolicyContext) -> Result<bool> {
        self.flag("enrollment", "otp_pin_encrypt", ctx)
    }

    /// `enrollment/tokenlabel`: the label template (`<s>`, `<u>`, `<r>`, `<d>`);
    /// `None` means LinOTP's fallback (the user, else the serial).
    pub fn tokenlabel(&self, ctx: &PolicyContext) -> Result<Option<String>> {
        Ok(self
            .text("enrollment", "tokenlabel", ctx)?
            .filter(|label| !label.is_empty()))
    }

    /// `enrollment/tokenissuer`: the issuer template, default `LinOTP`.
    pub fn tokenissuer(&self, ctx: &PolicyContext) -> Result<String> {
        let issuer = self
            .text("enrollment", "tokenissuer", ctx)?
            .filter(|issuer| !issuer.is_empty());
        Ok(issuer.unwrap_or_else(|| "LinOTP".to_owned()))
    }

    // ------------------------------------------------------------------ selfservice

    /// The self-service actions the applying `selfservice` policies give the
    /// user, typed (the `actions` and `settings` of `/userservice/context`).
    /// Later policies (by name) overwrite earlier ones, as in LinOTP.
    pub fn selfservice_actions(&self, ctx: &PolicyContext) -> BTreeMap<String, ActionValue> {
        let mut all = BTreeMap::new();
        for policy in self.matching_policies("selfservice", None, ctx) {
            let Ok(actions) = policy.actions() else {
                continue;
            };
            for (action, raw) in actions.iter() {
                let typed =
                    typed_value("selfservice", action, raw).unwrap_or_else(|()| raw.clone());
                all.insert(action.to_owned(), typed);
            }
        }
        all
    }

    /// The PIN rules (`otp_pin_minlength`, `otp_pin_maxlength`,
    /// `otp_pin_contents`) in `scope` (`selfservice` or `admin`).
    pub fn pin_rules(&self, scope: &str, ctx: &PolicyContext) -> Result<PinRules> {
        let length = |action: &str| -> Result<Option<u32>> {
            Ok(self
                .limit(scope, action, ctx)?
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
        };
        Ok(PinRules {
            min_length: length("otp_pin_minlength")?,
            max_length: length("otp_pin_maxlength")?,
            contents: self
                .text(scope, "otp_pin_contents", ctx)?
                .unwrap_or_default(),
        })
    }
}

/// Whether a space-separated type list names `token_type` (any case) or `*`.
fn list_contains(list: &str, token_type: &str) -> bool {
    list.split_whitespace()
        .any(|listed| listed == "*" || listed.eq_ignore_ascii_case(token_type))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::UserContext;
    use crate::policy::NewPolicy;

    fn set(policies: &[(&str, &str, &str)]) -> PolicySet {
        PolicySet::from_policies(policies.iter().map(|(name, scope, action)| {
            NewPolicy {
                name: (*name).into(),
                scope: (*scope).into(),
                action: (*action).into(),
                realm: "r1".into(),
                ..NewPolicy::default()
            }
            .to_policy()
        }))
    }

    fn alice() -> PolicyContext {
        PolicyContext::for_user(UserContext::new("alice", "r1"))
    }

    #[test]
    fn defaults_without_policies() {
        let empty = PolicySet::new();
        let ctx = alice();
        assert_eq!(empty.otppin(&ctx), Ok(OtpPin::TokenPin));
        assert_eq!(empty.passthru(&ctx), Ok(false));
        assert_eq!(empty.pass_on_no_token(&ctx), Ok(false));
        assert_eq!(empty.forward_server(&ctx), Ok(None));
        assert_eq!(empty.challenge_response(&ctx, "hmac"), Ok(false));
        assert!(empty.authorize(&ctx));
        assert_eq!(empty.token_type_allowed(&ctx, "hmac"), Ok(true));
        assert_eq!(empty.serial_pattern(&ctx), Ok(None));
        assert_eq!(empty.setrealm(&ctx), Ok(None));
        assert_eq!(empty.detail_on_success(&ctx), Ok(false));
        assert_eq!(empty.tokencount(&ctx), Ok(None));
        assert_eq!(empty.maxtoken(&ctx), Ok(None));
        assert_eq!(empty.otp_pin_random(&ctx), Ok(None));
        assert_eq!(empty.otp_pin_encrypt(&ctx), Ok(false));
        assert_eq!(empty.tokenlabel(&ctx), Ok(None));
        assert_eq!(empty.tokenissuer(&ctx), Ok("LinOTP".to_owned()));
        assert_eq!(
            empty.pin_rules("selfservice", &ctx),
            Ok(PinRules::default())
        );
        assert!(empty.selfservice_actions(&ctx).is_empty());
    }

    #[test]
    fn otppin_values() {
        let cases: &[(&str, OtpPin)] = &[
            ("otppin=0", OtpPin::TokenPin),
            ("otppin=1", OtpPin::Password),
            ("otppin=2", OtpPin::OnlyOtp),
            ("otppin=3", OtpPin::IgnorePin),
            ("otppin=token_pin", OtpPin::TokenPin),
            ("otppin=password", OtpPin::Password),
            ("otppin=only_otp", OtpPin::OnlyOtp),
            ("otppin=ignore_pin", OtpPin::IgnorePin),
            ("otppin", OtpPin::Password),
            ("otppin=9", OtpPin::TokenPin),
        ];
        for (action, expected) in cases {
            let policies = set(&[("p", "authentication", action)]);
            assert_eq!(policies.otppin(&alice()), Ok(*expected), "{action}");
        }
        assert_eq!(OtpPin::Password.number(), 1);
    }

    #[test]
    fn authentication_and_authorization_values() {
        let policies = set(&[
            (
                "auth",
                "authentication",
                "passthru, !passOnNoToken, challenge_response=hmac TOTP, support_offline=qr",
            ),
            (
                "authz",
                "authorization",
                "tokentype='hmac, totp', serial=^LS, setrealm=other, detail_on_fail",
            ),
        ]);
        let ctx = alice();
        assert_eq!(policies.passthru(&ctx), Ok(true));
        assert_eq!(policies.pass_on_no_token(&ctx), Ok(false));
        assert_eq!(policies.challenge_response(&ctx, "totp"), Ok(true));
        assert_eq!(policies.challenge_response(&ctx, "sms"), Ok(false));
        assert_eq!(policies.support_offline(&ctx, "qr"), Ok(true));
        assert_eq!(policies.token_type_allowed(&ctx, "TOTP"), Ok(true));
        assert_eq!(policies.token_type_allowed(&ctx, "spass"), Ok(false));
        assert_eq!(policies.serial_pattern(&ctx), Ok(Some("^LS".to_owned())));
        assert_eq!(policies.setrealm(&ctx), Ok(Some("other".to_owned())));
        assert_eq!(policies.detail_on_fail(&ctx), Ok(true));
        assert_eq!(policies.detail_on_success(&ctx), Ok(false));
        // Policies for another realm do not apply.
        let elsewhere = PolicyContext::for_user(UserContext::new("alice", "r2"));
        assert_eq!(policies.passthru(&elsewhere), Ok(false));
        assert_eq!(policies.token_type_allowed(&elsewhere, "spass"), Ok(true));
    }

    #[test]
    fn authorize_restricts_once_a_policy_exists() {
        let policies = set(&[("allow_r1", "authorization", "authorize")]);
        assert!(policies.authorize(&alice()));
        assert!(!policies.authorize(&PolicyContext::for_user(UserContext::new("alice", "r2"))));
    }

    #[test]
    fn enrollment_values() {
        let policies = set(&[(
            "enroll",
            "enrollment",
            "tokencount=100, maxtoken=2, maxtokenHMAC=1, otp_pin_random=8, otp_pin_random_content=cn, \
             otp_pin_encrypt=1, tokenlabel=<u>@<r>, tokenissuer=ACME",
        )]);
        let ctx = alice();
        assert_eq!(policies.tokencount(&ctx), Ok(Some(100)));
        assert_eq!(policies.maxtoken(&ctx), Ok(Some(2)));
        assert_eq!(policies.maxtoken_for_type(&ctx, "hmac"), Ok(Some(1)));
        assert_eq!(policies.maxtoken_for_type(&ctx, "totp"), Ok(None));
        assert_eq!(policies.otp_pin_random(&ctx), Ok(Some(8)));
        assert_eq!(
            policies.otp_pin_random_content(&ctx),
            Ok(Some("cn".to_owned()))
        );
        assert_eq!(policies.otp_pin_encrypt(&ctx), Ok(true));
        assert_eq!(policies.tokenlabel(&ctx), Ok(Some("<u>@<r>".to_owned())));
        assert_eq!(policies.tokenissuer(&ctx), Ok("ACME".to_owned()));
    }

    #[test]
    fn selfservice_values() {
        let policies = set(&[
            (
                "ss1",
                "selfservice",
                "enrollHMAC, otp_pin_minlength=4, otp_pin_maxlength=8, otp_pin_contents=+cn",
            ),
            (
                "ss2",
                "selfservice",
                "history, !reset, footer_text='(c) ACME, 2024'",
            ),
        ]);
        let actions = policies.selfservice_actions(&alice());
        assert_eq!(actions.get("enrollHMAC"), Some(&ActionValue::Bool(true)));
        assert_eq!(actions.get("otp_pin_minlength"), Some(&ActionValue::Int(4)));
        assert_eq!(actions.get("reset"), Some(&ActionValue::Bool(false)));
        assert_eq!(
            actions.get("footer_text"),
            Some(&ActionValue::Str("(c) ACME, 2024".into()))
        );
        let rules = policies.pin_rules("selfservice", &alice()).unwrap();
        assert_eq!(
            rules,
            PinRules {
                min_length: Some(4),
                max_length: Some(8),
                contents: "+cn".into()
            }
        );
        assert!(rules.check("abc").is_err());
        assert!(rules.check("abcd1").is_ok());
    }
}
