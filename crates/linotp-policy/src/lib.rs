//! LinOTP's policies: the model, parsing from `Config` entries, matching and
//! evaluation with LinOTP's best-match precedence, typed lookups for the
//! services, explanations, definitions (`getPolicyDef`) and the export file.
//!
//! Pure: no I/O, no clock, no async. The caller passes the `Config`
//! entries, the user (with the resolvers it was found in), the realm, the
//! client address and the local time.
//!
//! * Model: [`PolicySet::from_config`] reads `linotp.Policy.<name>.<attr>`
//!   rows into [`Policy`]s; [`NewPolicy`] validates and renders what
//!   `setPolicy`/`importPolicy` store; [`PolicySet::check_lockout`] and
//!   [`PolicySet::check_delete`] guard `system` policies.
//! * Evaluation: [`PolicySet::matching_policies`],
//!   [`PolicySet::get_action_value`], [`PolicySet::is_allowed`],
//!   [`PolicySet::admin_realms`], typed helpers like [`PolicySet::otppin`],
//!   [`PolicySet::maxtoken`] or [`PolicySet::pin_rules`].
//! * Explanations: [`PolicySet::explain`] lists every policy of the scope with
//!   the field that excluded it — JSON for `/system/checkPolicy?explain=1`.
//! * Listing: [`PolicySet::search`] (`getPolicy`), [`PolicySet::flexi`]
//!   (`policies_flexi`), [`definitions`] (`getPolicyDef`),
//!   [`render_policy_file`] / [`parse_policy_file`] (export / import).
//!
//! ```
//! use linotp_policy::{OtpPin, PolicyContext, PolicySet, UserContext};
//!
//! let policies = PolicySet::from_config([
//!     ("linotp.Policy.pin_by_password.scope", "authentication"),
//!     ("linotp.Policy.pin_by_password.action", "otppin=1"),
//!     ("linotp.Policy.pin_by_password.realm", "fixrealm"),
//!     ("linotp.Policy.pin_by_password.user", "carol"),
//!     ("linotp.Policy.pin_by_password.client", ""),
//!     ("linotp.Policy.pin_by_password.time", ""),
//!     ("linotp.Policy.pin_by_password.active", "True"),
//! ]);
//!
//! let carol = PolicyContext::for_user(UserContext::new("carol", "fixrealm").with_resolver("fixres"))
//!     .with_client("192.168.1.10".parse()?);
//! assert_eq!(policies.otppin(&carol)?, OtpPin::Password);
//!
//! let alice = PolicyContext::for_user(UserContext::new("alice", "fixrealm"));
//! assert_eq!(policies.otppin(&alice)?, OtpPin::TokenPin);
//!
//! // Why does alice get the default?
//! let explanation = policies.explain("authentication", "otppin", &alice);
//! assert_eq!(explanation.considered[0].reason, "user 'alice@fixrealm' not in [carol]");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod action;
mod definitions;
mod error;
mod evaluate;
mod file;
mod helpers;
mod matching;
mod pin;
mod policy;
mod search;
mod time;

pub use action::{ActionValue, Actions};
pub use definitions::{
    ADMIN_SCOPES, ActionDef, ActionType, Definitions, Literal, ScopeDef, SystemRight, TOKEN_TYPES,
    definitions, system_right,
};
pub use error::{Error, Result};
pub use evaluate::{Decision, Explanation, Field, PolicyContext, PolicyVerdict, RequestSummary};
pub use file::{parse_policy_file, render_policy_file};
pub use helpers::OtpPin;
pub use matching::{MatchKind, UserContext};
pub use pin::{CharGroup, PinRules, PinViolation};
pub use policy::{ATTRIBUTES, NewPolicy, Policy, PolicySet, is_valid_name};
pub use search::{FlexiQuery, PolicyQuery, RealmRights};
