//! The `/admin` endpoints: token enrollment, listing and management, answered the way
//! LinOTP's `AdminController` answers them (reply shapes, error codes and texts, envelope ids).
//!
//! Every handler runs its database work inside [`App::with_conn`] through one runner
//! ([`answer`]), which also writes the request's single audit event, maps errors to LinOTP's
//! error envelope with the endpoint's envelope id, and (for state-changing endpoints) wraps
//! the work in one transaction, so a failing request leaves nothing half done (LinOTP rolls
//! its session back the same way).
//!
//! Admin permissions go through [`authorize`] / [`authorize_token`]: the admin-scope policies
//! (LinOTP's `checkPolicyPre`). Without an active admin policy every authenticated admin may
//! do everything, as in LinOTP; otherwise a policy must grant the action in the realm of the
//! token or user, and `/admin/show` lists only the realms the admin's policies name.
//!
//! ```no_run
//! # use linotp_api::test_app::TestApp;
//! // The group is mounted by `routes::router`; tests reach it through the full app:
//! # fn demo(app: &TestApp) {
//! let router = app.router();
//! let (cookie, csrf) = app.admin_session("admin");
//! // POST /admin/init with `Cookie: <cookie>`, `X-CSRF-TOKEN: <csrf>`,
//! // body `type=hmac&genkey=1` answers `value: true` with the seed in `detail.otpkey`.
//! # let _ = (router, cookie, csrf);
//! # }
//! ```

mod enroll;
mod lifecycle;
mod limits;
pub(crate) mod listing;
mod lookup;
pub mod otpauth;
mod pin_policy;
mod settings;

use std::collections::HashSet;

use axum::Router;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use linotp_core::{TokenInfo, TokenKind};
use linotp_policy::RealmRights;
use linotp_store::tokens::{self, SerialMatch, Token, TokenFilter, TokenListOptions};
use linotp_store::{AnyConnection, realms};

pub(crate) use crate::admin_request::{Access, Ctx};
use crate::app::AppState;
use crate::auth::AdminIdentity;
use crate::error::{ApiError, Result};
use crate::http::{ClientIp, Endpoints};
use crate::params::Params;
use crate::users::{self, RequestedUser, ResolvedUser};

/// The routes of this endpoint group, with the application state applied.
pub fn routes(state: &AppState) -> Router {
    Endpoints::<AppState>::admin(&state.auth)
        .endpoint("/admin/init", enroll::init)
        .endpoint("/admin/show", listing::show)
        .endpoint("/admin/remove", lifecycle::remove)
        .endpoint("/admin/enable", lifecycle::enable)
        .endpoint("/admin/disable", lifecycle::disable)
        .endpoint("/admin/assign", lifecycle::assign)
        .endpoint("/admin/unassign", lifecycle::unassign)
        .endpoint("/admin/reset", lifecycle::reset)
        .endpoint("/admin/tokenrealm", lifecycle::tokenrealm)
        .endpoint("/admin/copyTokenPin", lifecycle::copy_token_pin)
        .endpoint("/admin/copyTokenUser", lifecycle::copy_token_user)
        .endpoint("/admin/losttoken", lifecycle::losttoken)
        .endpoint("/admin/unpair", lifecycle::unpair)
        .endpoint("/admin/set", settings::set)
        .endpoint("/admin/setPin", settings::set_pin)
        .endpoint("/admin/setValidity", settings::set_validity)
        .endpoint("/admin/resync", lookup::resync)
        .endpoint("/admin/check_serial", lookup::check_serial)
        .endpoint("/admin/getSerialByOtp", lookup::get_serial_by_otp)
        .endpoint("/admin/getTokenOwner", lookup::get_token_owner)
        .endpoint("/admin/checkstatus", lookup::checkstatus)
        .endpoint("/admin/totp_lookup", lookup::totp_lookup)
        .into_router()
        .with_state(state.clone())
}

/// The admin permission hook (LinOTP's `checkPolicyPre` for the admin scope): whether the
/// request's admin may do `action` (LinOTP's admin-scope action names: `initHMAC`, `show`,
/// `remove`, `enable`, `setOTPPIN`, …) on tokens or users of `realm` (`None`: no particular
/// realm, then any realm granted for the action suffices).
///
/// Without any active admin-scope policy everything is allowed, as in LinOTP. Otherwise a
/// policy for the admin (login, admin realm, resolver) must grant the action in the realm;
/// a refusal is LinOTP's PolicyException 410 naming the request's serial.
pub(crate) fn authorize(ctx: &Ctx<'_>, action: &str, realm: Option<&str>) -> Result<()> {
    let rights = ctx.admin_rights(Some(action));
    let allowed = match realm {
        Some(realm) => rights.permits(realm),
        None => rights.has_any(),
    };
    if allowed {
        tracing::trace!(admin = %ctx.admin.username, action, realm, "admin action authorized");
        return Ok(());
    }
    Err(refusal(ctx, action, realm, None))
}

/// [`authorize`] for an existing token: the admin needs the action in at least one of the
/// token's realms (a token in no realm needs rights on every realm), as LinOTP's
/// `checkAdminAuthorization` with a serial.
pub(crate) fn authorize_token(ctx: &mut Ctx<'_>, action: &str, token: &Token) -> Result<()> {
    let rights = ctx.admin_rights(Some(action));
    if rights == RealmRights::Unrestricted {
        return Ok(());
    }
    let token_realms = ctx.realms_of(token)?;
    if rights.permits_token(&token_realms, false) {
        return Ok(());
    }
    let realm = token_realms.first().map(String::as_str);
    Err(refusal(ctx, action, realm, Some(token)))
}

/// LinOTP's refusal text for an admin action (`_checkAdminPolicyPre`), naming `token` or
/// else the request's serial (`None` when the request has none, as Python prints it).
fn refusal(ctx: &Ctx<'_>, action: &str, realm: Option<&str>, token: Option<&Token>) -> ApiError {
    tracing::warn!(admin = %ctx.admin.username, action, realm, "admin action refused by policy");
    let serial = match token {
        Some(token) => token.serial.as_str(),
        None => ctx.audit.serial.as_str(),
    };
    // LinOTP formats the serial with `%s` or `%r`; a missing serial is Python's `None`.
    let plain = if serial.is_empty() {
        "None".to_owned()
    } else {
        serial.to_owned()
    };
    let quoted = if serial.is_empty() {
        "None".to_owned()
    } else {
        crate::pyfmt::python_str_repr(serial)
    };
    let realm_repr = crate::pyfmt::python_str_repr(realm.unwrap_or_default());
    let message = match action {
        "remove" | "reset" | "unpair" => format!(
            "You do not have the administrative right to {action} token {quoted}. Check the policies."
        ),
        "copytokenpin" => format!(
            "You do not have the administrative right to copy PIN of token {plain}. Check the policies."
        ),
        "copytokenuser" => format!(
            "You do not have the administrative right to copy user of token {plain}. Check the policies."
        ),
        "losttoken" => format!(
            "You do not have the administrative right to run the losttoken workflow for token {plain}. Check the policies."
        ),
        "set" => format!(
            "You do not have the administrative right to set token properties for {plain}. Check the policies."
        ),
        "setOTPPIN" => format!(
            "You do not have the administrative right to set OTP PIN for token {plain}. Check the policies."
        ),
        "setMOTPPIN" | "setOCRAPIN" => {
            let token_type = token.map(type_name).unwrap_or_else(|| "None".to_owned());
            format!(
                "You do not have the administrative right to set {token_type} PIN for token {plain}. Check the policies."
            )
        }
        "getserial" => {
            "You do not have the administrative right to get serials by OTPs in this realm!"
                .to_owned()
        }
        "totp_lookup" => {
            "You do not have the administrative right to get token info in this realm!".to_owned()
        }
        "tokenowner" => format!(
            "You do not have the administrative right to get the token owner in realm {realm_repr}."
        ),
        "checkstatus" => format!(
            "You do not have the administrative right to show status of token challenges in realm {realm_repr}."
        ),
        "show" => "You do not have any rights in any realm! Check the policies.".to_owned(),
        init if init.starts_with("init") => {
            "You do not have the administrative right to enroll tokens. Check the policies."
                .to_owned()
        }
        verb => format!(
            "You do not have the administrative right to {verb} token {plain}. Check the policies."
        ),
    };
    ApiError::Policy(message)
}

/// Runs one admin request through the shared runner (the work in a transaction for
/// [`Access::Write`]), records its audit event, then replies; an error becomes LinOTP's
/// error envelope with `error_id`.
pub(crate) async fn answer<F>(
    app: AppState,
    admin: AdminIdentity,
    client: Option<ClientIp>,
    action: &'static str,
    access: Access,
    error_id: i64,
    work: F,
) -> Response
where
    F: for<'a> FnOnce(&mut Ctx<'a>) -> Result<Response> + Send + 'static,
{
    let (result, audit) = crate::admin_request::run(&app, admin, client, action, move |ctx| {
        ctx.with_access(access, work)
    })
    .await;
    app.audit.record(audit).await;
    match result {
        Ok(response) => response,
        Err(error) => error.reply(error_id).into_response(),
    }
}

/// Registers an axum handler for an admin endpoint: extracts the state, the admin, the client
/// address and the parameters, and hands them to [`answer`].
macro_rules! admin_handler {
    ($(#[$meta:meta])* $name:ident, $action:literal, $access:expr, $error_id:expr, $work:path) => {
        $(#[$meta])*
        pub(crate) async fn $name(
            axum::extract::State(app): axum::extract::State<$crate::app::AppState>,
            admin: $crate::auth::AdminIdentity,
            client: Option<$crate::http::ClientIp>,
            params: $crate::params::Params,
        ) -> axum::response::Response {
            $crate::admin::answer(app, admin, client, $action, $access, $error_id, move |ctx| {
                $work(ctx, &params)
            })
            .await
        }
    };
}
pub(crate) use admin_handler;

impl Ctx<'_> {
    /// The user a request names (`user`, `realm`, `resConf`), before any resolver lookup;
    /// also what the audit row shows unless the handler knows better.
    pub(crate) fn requested_user(&mut self, params: &Params) -> RequestedUser {
        let user = users::requested_user(params, &self.config);
        self.audit.user = user.login.clone();
        self.audit.realm = user.realm.clone();
        user
    }

    /// The user a request names, found in its realm's resolvers.
    pub(crate) fn resolve(&mut self, user: &RequestedUser) -> Result<Option<ResolvedUser>> {
        users::resolve_requested(self.app, &self.config, self.conn, user)
    }

    /// The token with this exact serial, or LinOTP's 1102 error.
    pub(crate) fn token(&mut self, serial: &str) -> Result<Token> {
        tokens::get_by_serial(self.conn, serial)?.ok_or_else(|| ApiError::NoTokenWithSerial {
            serial: Some(serial.to_owned()),
        })
    }

    /// Names of the realms a token is in (lower-case, sorted).
    pub(crate) fn realms_of(&mut self, token: &Token) -> Result<Vec<String>> {
        Ok(realms::realms_of_token(self.conn, token.id)?)
    }

    /// The login name of a token's owner, `""` when unassigned or unknown to its resolver
    /// (LinOTP's `getUsername`).
    pub(crate) fn owner_login(&mut self, token: &Token) -> Result<String> {
        if token.user_id.is_empty() {
            return Ok(String::new());
        }
        let info = users::owner_info(
            self.app,
            &self.config,
            self.conn,
            &token.id_res_class,
            &token.user_id,
        )?;
        Ok(info
            .and_then(|info| info.get("username").map(str::to_owned))
            .unwrap_or_default())
    }

    /// The tokens LinOTP's `get_tokens(user, serial)` finds: those with the serial (`*` is a
    /// wildcard) and those of the user, where a user's token bound to realms must be in the
    /// user's realm. A user nobody knows has no tokens. Each token once, by id.
    pub(crate) fn tokens_of(
        &mut self,
        serial: Option<&str>,
        user: &RequestedUser,
    ) -> Result<Vec<Token>> {
        let mut found = Vec::new();
        if let Some(serial) = serial.filter(|serial| !serial.is_empty()) {
            found.extend(tokens_by_serial(self.conn, serial)?);
        }
        if !user.is_empty()
            && let Some(resolved) = self.resolve(user)?
        {
            for token in users::tokens_of(self.conn, &resolved)? {
                if serial.is_some_and(|serial| {
                    !serial.is_empty() && !serial_matches(serial, &token.serial)
                }) {
                    continue;
                }
                let token_realms = self.realms_of(&token)?;
                if !token_realms.is_empty()
                    && !user.realm.is_empty()
                    && !token_realms.contains(&user.realm.to_lowercase())
                {
                    continue;
                }
                found.push(token);
            }
        }
        let mut seen = HashSet::new();
        found.retain(|token| seen.insert(token.id));
        Ok(found)
    }

    /// LinOTP's audit suffix for actions that change the token count: `tokennum = <active
    /// tokens>`.
    pub(crate) fn note_token_count(&mut self) -> Result<()> {
        let page = tokens::list(
            self.conn,
            &TokenFilter {
                active: Some(true),
                ..TokenFilter::default()
            },
            &TokenListOptions {
                page: Some((1, 1)),
                ..TokenListOptions::default()
            },
        )?;
        self.audit
            .action_detail
            .push_str(&format!("tokennum = {}", page.total));
        Ok(())
    }

    /// The request time as the naive UTC timestamp the `Token` table stores.
    pub(crate) fn now_utc(&self) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(self.app.now(), 0)
            .map(|time| time.naive_utc())
            .unwrap_or_default()
    }
}

/// Tokens whose serial is `serial` (`*` matches any text).
pub(crate) fn tokens_by_serial(conn: &mut AnyConnection, serial: &str) -> Result<Vec<Token>> {
    match SerialMatch::from_param(serial) {
        SerialMatch::Exact(serial) => {
            Ok(tokens::get_by_serial(conn, &serial)?.into_iter().collect())
        }
        wildcard @ SerialMatch::Wildcard(_) => {
            let filter = TokenFilter {
                serial: Some(wildcard),
                ..TokenFilter::default()
            };
            let options = TokenListOptions {
                sort: tokens::TokenSort::Id,
                ..TokenListOptions::default()
            };
            Ok(tokens::list(conn, &filter, &options)?.tokens)
        }
    }
}

fn serial_matches(pattern: &str, serial: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == serial;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = serial;
    for (index, part) in parts.iter().enumerate() {
        if index == 0 {
            let Some(after) = rest.strip_prefix(part) else {
                return false;
            };
            rest = after;
        } else if index == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(position) = rest.find(part) {
            rest = &rest[position + part.len()..];
        } else {
            return false;
        }
    }
    rest.is_empty()
}

/// The token type as LinOTP's token classes name it (`HMAC`, `TOTP`, `mOTP`, `spass`, `pw`,
/// `DPW`); other types as stored, an empty type as `HMAC`.
pub(crate) fn type_name(token: &Token) -> String {
    match crate::token_model::kind_of(token) {
        Some(kind) => kind.linotp_type().to_owned(),
        None => token.token_type.clone(),
    }
}

/// The token's kind, if linotp-core knows it.
pub(crate) fn kind(token: &Token) -> Option<TokenKind> {
    crate::token_model::kind_of(token)
}

/// A token's tokeninfo (empty when the column is empty).
pub(crate) fn token_info(token: &Token) -> Result<TokenInfo> {
    if token.token_info.trim().is_empty() {
        return Ok(TokenInfo::new());
    }
    TokenInfo::parse(&token.token_info).map_err(|error| {
        ApiError::Internal(format!(
            "token {} has unreadable tokeninfo: {error}",
            token.serial
        ))
    })
}

/// Writes tokeninfo as LinOTP does (`json.dumps(info, indent=0)`).
pub(crate) fn store_info(token: &mut Token, info: &TokenInfo) {
    token.token_info = info.to_linotp_json();
}

/// `", "`-joined, as LinOTP's audit fields list several values.
pub(crate) fn joined<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    items
        .into_iter()
        .map(|item| item.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_serials_match_like_sql_like() {
        assert!(serial_matches("GLD*", "GLDHMAC1"));
        assert!(serial_matches("*HMAC*", "GLDHMAC1"));
        assert!(serial_matches("*1", "GLDHMAC1"));
        assert!(!serial_matches("*2", "GLDHMAC1"));
        assert!(serial_matches("GLDHMAC1", "GLDHMAC1"));
        assert!(!serial_matches("GLD", "GLDHMAC1"));
    }
}
