//! The decisions policies will make for `/validate` (scope `authentication`, issue 5), as
//! LinOTP decides them when no policy is defined. Each is one function, so the policy engine
//! replaces bodies, not call sites.

use linotp_core::OtpPinMode;

use crate::sysconfig::SystemConfig;
use crate::users::ResolvedUser;

/// `otppin`: what the PIN part of a pass is checked against for this user. Without policies
/// LinOTP checks the token PIN.
pub fn otppin_mode(config: &SystemConfig, user: Option<&ResolvedUser>) -> OtpPinMode {
    let _ = (config, user);
    OtpPinMode::TokenPin
}

/// `disable_on_authentication_exceed`: deactivate a token that is tried beyond its usage or
/// validity limits. Off without a policy.
pub fn disable_on_authentication_exceed(
    config: &SystemConfig,
    user: Option<&ResolvedUser>,
) -> bool {
    let _ = (config, user);
    false
}
