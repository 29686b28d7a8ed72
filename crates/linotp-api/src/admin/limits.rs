//! Enrollment-scope limits: `tokencount` (the most active tokens a realm may hold),
//! `maxtoken` (the most tokens a user may own) and `maxtoken<TYPE>` (per token type).
//!
//! LinOTP checks them where tokens arrive: `maxtoken*` before `/admin/init` and
//! `/admin/assign` give a user a token; `tokencount` before `/admin/init` (the user's realm),
//! `/admin/enable` of an inactive token (each of its realms) and `/admin/tokenrealm` (each
//! target realm), and once more after `init`, `assign` and `enable` for the request user's
//! realm (`checkPolicyPost`). Only active tokens count towards `tokencount`
//! (`getTokenInRealm`), and its policy is looked up by realm alone.

use linotp_core::TokenKind;
use linotp_store::tokens::{self, RealmFilter, TokenFilter, TokenListOptions};

use super::Ctx;
use crate::error::{ApiError, Result, codes};
use crate::policy::{RequestOrigin, user_context_for};
use crate::pyfmt::python_str_repr;
use crate::users::{self, ResolvedUser};

/// Refuses an enrollment for `owner` that would exceed the user's `maxtoken` (411),
/// `maxtoken<TYPE>` (412) or the realm's `tokencount` (410, LinOTP's pre-check text).
pub(crate) fn check_enrollment(
    ctx: &mut Ctx<'_>,
    owner: &ResolvedUser,
    kind: TokenKind,
) -> Result<()> {
    check_maxtoken(ctx, owner, &[kind.linotp_type().to_lowercase()])?;
    if !realm_has_room(ctx, &owner.realm, 1)? {
        return Err(realm_full(&owner.realm));
    }
    Ok(())
}

/// LinOTP's `check_maxtoken`: one more token for `owner` must stay within the user's
/// `maxtoken` (411) and, for each of `type_names` (lower-case), `maxtoken<TYPE>` (412).
pub(crate) fn check_maxtoken(
    ctx: &mut Ctx<'_>,
    owner: &ResolvedUser,
    type_names: &[String],
) -> Result<()> {
    let user = user_context_for(ctx.app, &ctx.config, ctx.conn, owner)?;
    let policy_ctx = RequestOrigin::new(ctx.app.now(), None).for_user(user);
    let owned = users::tokens_of(ctx.conn, owner)?;
    let policies = ctx.config.policies();

    if let Some(limit) = policies.maxtoken(&policy_ctx).map_err(policy_error)?
        && owned.len() as u64 + 1 > limit
    {
        tracing::warn!(realm = %owner.realm, limit, "maxtoken reached");
        return Err(ApiError::Coded {
            id: codes::MAXTOKEN_USER,
            description: "The maximum number of allowed tokens per user is exceeded. Check the \
                          policies scope=enrollment, action=maxtoken"
                .to_owned(),
        });
    }

    for type_name in type_names {
        let Some(limit) = policies
            .maxtoken_for_type(&policy_ctx, type_name)
            .map_err(policy_error)?
        else {
            continue;
        };
        let typed = owned
            .iter()
            .filter(|token| super::type_name(token).to_lowercase() == *type_name)
            .count() as u64;
        if typed + 1 > limit {
            tracing::warn!(realm = %owner.realm, limit, "maxtoken for the type reached");
            return Err(ApiError::Coded {
                id: codes::MAXTOKEN_USER_TYPE,
                description: format!(
                    "The maximum number of allowed tokens of type {type_name} per user is \
                     exceeded. Check the policies scope=enrollment, action=maxtoken{}",
                    type_name.to_uppercase()
                ),
            });
        }
    }
    Ok(())
}

/// LinOTP's `_check_token_count(realm=…)`: whether `realm` holds at most its `tokencount`
/// once `offset` more active tokens are in it (1 before an action, 0 after it). A realm
/// without the policy, no realm, or one the configuration does not define always has room.
pub(crate) fn realm_has_room(ctx: &mut Ctx<'_>, realm: &str, offset: u64) -> Result<bool> {
    if realm.is_empty() || !users::realm_exists(&ctx.config, realm) {
        return Ok(true);
    }
    let policy_ctx = RequestOrigin::new(ctx.app.now(), None).for_realm(realm);
    let Some(limit) = ctx
        .config
        .policies()
        .tokencount(&policy_ctx)
        .map_err(policy_error)?
    else {
        return Ok(true);
    };
    let active = active_tokens_in(ctx, realm)?;
    if active + offset > limit {
        tracing::warn!(realm, limit, active, "tokencount of the realm reached");
        return Ok(false);
    }
    Ok(true)
}

/// LinOTP's post-check of `init`, `assign` and `enable`: after the change, the request
/// user's realm must still be within its `tokencount`.
pub(crate) fn check_realm_count_after(ctx: &mut Ctx<'_>, realm: &str) -> Result<()> {
    if realm_has_room(ctx, realm, 0)? {
        return Ok(());
    }
    Err(realm_full(realm))
}

/// LinOTP's refusal when a realm's `tokencount` is reached by an enrollment or assignment.
fn realm_full(realm: &str) -> ApiError {
    ApiError::Policy(format!(
        "The maximum allowed number of tokens for the realm {} was reached. You can not \
         init any more tokens. Check the policies scope=enrollment, action=tokencount.",
        python_str_repr(realm)
    ))
}

/// Active tokens in `realm` (LinOTP's `getTokenInRealm`).
fn active_tokens_in(ctx: &mut Ctx<'_>, realm: &str) -> Result<u64> {
    let total = tokens::list(
        ctx.conn,
        &TokenFilter {
            realms: Some(RealmFilter::AnyOf(vec![realm.to_lowercase()])),
            active: Some(true),
            ..TokenFilter::default()
        },
        &TokenListOptions {
            page: Some((1, 1)),
            ..TokenListOptions::default()
        },
    )?
    .total;
    Ok(u64::try_from(total).unwrap_or(0))
}

/// The `tokenlabel` template (`None`: LinOTP's fallback) and `tokenissuer` template of an
/// enrollment, from the policies for the owner (or the realm when nobody owns the token).
pub(crate) struct Naming {
    pub(crate) label: Option<String>,
    pub(crate) issuer: String,
}

/// [`Naming`] for an enrollment for `owner`, else in `realm`.
pub(crate) fn enrollment_naming(
    ctx: &mut Ctx<'_>,
    owner: Option<&ResolvedUser>,
    realm: &str,
) -> Result<Naming> {
    let origin = RequestOrigin::new(ctx.app.now(), None);
    let policy_ctx = match owner {
        Some(owner) => origin.for_user(user_context_for(ctx.app, &ctx.config, ctx.conn, owner)?),
        None => origin.for_realm(realm),
    };
    let policies = ctx.config.policies();
    Ok(Naming {
        label: policies.tokenlabel(&policy_ctx).map_err(policy_error)?,
        issuer: policies.tokenissuer(&policy_ctx).map_err(policy_error)?,
    })
}

fn policy_error(error: linotp_policy::Error) -> ApiError {
    ApiError::Policy(error.to_string())
}
