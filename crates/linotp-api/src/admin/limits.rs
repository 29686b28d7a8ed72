//! Enrollment-scope limits checked before `/admin/init` creates a token: `tokencount` (the
//! most tokens a realm may hold), `maxtoken` (the most tokens a user may own) and
//! `maxtoken<TYPE>` (per token type), as LinOTP's `checkPolicyPre("init")` checks them.

use linotp_core::TokenKind;
use linotp_store::tokens::{self, RealmFilter, TokenFilter, TokenListOptions};

use super::Ctx;
use crate::error::{ApiError, Result, codes};
use crate::policy::{PolicyContext, RequestOrigin, user_context_for};
use crate::pyfmt::python_str_repr;
use crate::users::{self, ResolvedUser};

/// Refuses an enrollment for `owner` that would exceed the user's `maxtoken` (411),
/// `maxtoken<TYPE>` (412) or the realm's `tokencount` (410, LinOTP's pre-check text).
pub(crate) fn check_enrollment(
    ctx: &mut Ctx<'_>,
    owner: &ResolvedUser,
    kind: TokenKind,
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

    let type_name = kind.linotp_type().to_lowercase();
    if let Some(limit) = policies
        .maxtoken_for_type(&policy_ctx, &type_name)
        .map_err(policy_error)?
    {
        let typed = owned
            .iter()
            .filter(|token| super::type_name(token).to_lowercase() == type_name)
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

    check_realm_count(ctx, &owner.realm, &policy_ctx)
}

/// LinOTP's `_check_token_count(user)`: the realm must have room for one more token.
fn check_realm_count(ctx: &mut Ctx<'_>, realm: &str, policy_ctx: &PolicyContext) -> Result<()> {
    let Some(limit) = ctx
        .config
        .policies()
        .tokencount(policy_ctx)
        .map_err(policy_error)?
    else {
        return Ok(());
    };
    let in_realm = tokens::list(
        ctx.conn,
        &TokenFilter {
            realms: Some(RealmFilter::AnyOf(vec![realm.to_owned()])),
            ..TokenFilter::default()
        },
        &TokenListOptions {
            page: Some((1, 1)),
            ..TokenListOptions::default()
        },
    )?
    .total;
    if u64::try_from(in_realm).unwrap_or(0) + 1 > limit {
        tracing::warn!(realm, limit, "tokencount reached");
        return Err(ApiError::Policy(format!(
            "The maximum allowed number of tokens for the realm {} was reached. You can not \
             init any more tokens. Check the policies scope=enrollment, action=tokencount.",
            python_str_repr(realm)
        )));
    }
    Ok(())
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
