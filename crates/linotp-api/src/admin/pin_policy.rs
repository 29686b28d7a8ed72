//! The enrollment-scope PIN policies of `/admin`: `otp_pin_random` (with
//! `otp_pin_random_content`) gives a token enrolled by `/admin/init` a random PIN instead of
//! the one the request names, and `otp_pin_encrypt` stores the PINs `/admin/init` and
//! `/admin/set` write encrypted (`@@…`) instead of hashed.
//!
//! LinOTP decides both by the request's user: the policies of the user's realm (the default
//! realm when the request names none) for that login; `/admin/set` on a serial asks the
//! token's realms instead (`getOTPPINEncrypt`). The random PIN is not part of the reply, as
//! in LinOTP: nobody learns it, the user sets a PIN of their own later.
//!
//! The PIN length and content rules (`otp_pin_minlength`, `otp_pin_maxlength`,
//! `otp_pin_contents`) are not here: LinOTP applies them to PINs users set through the
//! self-service, never to PINs an admin sets.

use linotp_policy::PolicyContext;
use linotp_store::tokens::Token;
use zeroize::Zeroizing;

use super::Ctx;
use crate::error::{ApiError, Result};
use crate::policy::{RequestOrigin, user_context_for};
use crate::users::{RequestedUser, ResolvedUser};

const LOWERCASE: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPERCASE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";
/// LinOTP's `SPECIAL_CHARACTERS` for random PINs.
const SPECIALS: &str = "!#$%&()*+,-./:;<=>?@[]^_";

/// The realm LinOTP looks up a request user's PIN policies in: the user's realm, else the
/// default realm.
fn user_realm(ctx: &Ctx<'_>, user: &RequestedUser) -> String {
    if user.realm.is_empty() {
        ctx.config.default_realm().unwrap_or_default()
    } else {
        user.realm.clone()
    }
}

fn origin(ctx: &Ctx<'_>) -> RequestOrigin {
    RequestOrigin::new(ctx.app.now(), ctx.audit.client.parse().ok())
}

/// The policy context of an enrollment for `user` (resolved to `owner` when named).
fn enrollment_context(
    ctx: &mut Ctx<'_>,
    user: &RequestedUser,
    owner: Option<&ResolvedUser>,
) -> Result<PolicyContext> {
    let realm = user_realm(ctx, user);
    let origin = origin(ctx);
    Ok(match owner {
        Some(owner) => origin
            .for_user(user_context_for(ctx.app, &ctx.config, ctx.conn, owner)?)
            .with_realm(realm),
        None => origin.for_login(&user.login, &realm),
    })
}

/// The PIN decisions for one `/admin/init`.
pub(crate) struct EnrollmentPin {
    /// The random PIN that replaces the requested one (`otp_pin_random`).
    pub(crate) random: Option<Zeroizing<String>>,
    /// Whether the PIN is stored encrypted (`otp_pin_encrypt`).
    pub(crate) encrypt: bool,
}

/// What the enrollment policies of `user`'s realm say about the PIN of a new token.
pub(crate) fn for_enrollment(
    ctx: &mut Ctx<'_>,
    user: &RequestedUser,
    owner: Option<&ResolvedUser>,
) -> Result<EnrollmentPin> {
    let policy_ctx = enrollment_context(ctx, user, owner)?;
    let policies = ctx.config.policies();
    let length = policies
        .otp_pin_random(&policy_ctx)
        .map_err(policy_error)?
        .filter(|length| *length > 0);
    let encrypt = policies
        .otp_pin_encrypt(&policy_ctx)
        .map_err(policy_error)?;
    let random = match length {
        Some(length) => {
            let content = policies
                .otp_pin_random_content(&policy_ctx)
                .map_err(policy_error)?
                .unwrap_or_default();
            let length = usize::try_from(length).unwrap_or(usize::MAX);
            tracing::debug!(length, "enrollment policy sets a random PIN");
            Some(random_text(ctx, &character_pool(&content), length)?)
        }
        None => None,
    };
    Ok(EnrollmentPin { random, encrypt })
}

/// LinOTP's `getOTPPINEncrypt` for `/admin/set pin=`: with a serial, any of the token's
/// realms; otherwise the request user's realm.
pub(crate) fn encrypt_on_set(
    ctx: &mut Ctx<'_>,
    user: &RequestedUser,
    token: &Token,
    by_serial: bool,
) -> Result<bool> {
    let realms = if by_serial {
        ctx.realms_of(token)?
    } else {
        vec![user_realm(ctx, user)]
    };
    let origin = origin(ctx);
    let policies = ctx.config.policies();
    for realm in realms {
        let policy_ctx = origin.for_login(&user.login, &realm);
        if policies
            .otp_pin_encrypt(&policy_ctx)
            .map_err(policy_error)?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// LinOTP's `createRandomPin` pool: `c` lower-case letters, `C` upper-case, `n` digits,
/// `s` special characters; letters and digits when the content names none of them.
fn character_pool(content: &str) -> String {
    let mut pool = String::new();
    for (class, characters) in [
        ('c', LOWERCASE),
        ('C', UPPERCASE),
        ('n', DIGITS),
        ('s', SPECIALS),
    ] {
        if content.contains(class) {
            pool.push_str(characters);
        }
    }
    if pool.is_empty() {
        pool = format!("{LOWERCASE}{UPPERCASE}{DIGITS}");
    }
    pool
}

/// `length` characters drawn uniformly from `pool` with the security module's randomness.
pub(crate) fn random_text(ctx: &Ctx<'_>, pool: &str, length: usize) -> Result<Zeroizing<String>> {
    let pool: Vec<char> = pool.chars().collect();
    let size = pool.len().clamp(1, 256);
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - 256 % size;
    let mut text = Zeroizing::new(String::with_capacity(length));
    let mut count = 0;
    while count < length {
        let mut byte = [0u8; 1];
        ctx.app.security.random(&mut byte)?;
        let value = usize::from(byte[0]);
        if value < limit
            && let Some(character) = pool.get(value % size)
        {
            text.push(*character);
            count += 1;
        }
    }
    Ok(text)
}

fn policy_error(error: linotp_policy::Error) -> ApiError {
    ApiError::Policy(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_content_classes_choose_linotps_character_groups() {
        assert_eq!(character_pool("n"), DIGITS);
        assert_eq!(character_pool("cC"), format!("{LOWERCASE}{UPPERCASE}"));
        assert_eq!(character_pool("sn"), format!("{DIGITS}{SPECIALS}"));
        let fallback = character_pool("x");
        assert_eq!(fallback.len(), 62);
        assert_eq!(character_pool(""), fallback);
    }
}
