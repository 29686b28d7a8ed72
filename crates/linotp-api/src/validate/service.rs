//! The validation service: LinOTP's `checkUserPass`, `checkSerialPass`, `checkTokenList`,
//! `check_by_transactionid` and `check_status` over our store, synchronous (it runs inside
//! [`App::with_conn`]).
//!
//! Order of decisions (validate.md §3–6):
//! 1. the request user (`user`, `realm`, default realm) gets the realm an
//!    `authorization/setrealm` policy names for this client, and must be allowed by
//!    `authorization/authorize`;
//! 2. the user must exist (`PassOnUserNotFound`);
//! 3. the user's tokens (or the one named by `serial`) are collected; without any,
//!    `PassOnUserNoToken`, then policy `passthru` (the whole pass is the user's password),
//!    then policy `passOnNoToken` decide;
//! 4. each token is pre-checked (realm, type), its `otppin`, `challenge_response` and
//!    `*_on_authentication_exceed` policies are read for the user (or, without a user, for the
//!    token's realm), and `linotp_core::check_token` classifies it; a token that may run
//!    challenge-response and got only its PIN becomes a challenge token, one answering an open
//!    challenge (`transactionid`/`state`) is checked by its OTP alone;
//! 5. `linotp_core::finish` decides; [`super::persist`] stores the result with a
//!    compare-and-set on the winner's counter, together with the challenge changes;
//!    challenges are created when challenge tokens decided;
//! 6. a success must pass `authorization/tokentype` and `authorization/serial`.
//!
//! The reply's `detail` policies (`detail_on_success`, `detail_on_fail`) are applied last,
//! by [`apply_detail_policies`], as LinOTP's `__after__` does.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Local, NaiveDateTime, Offset, TimeZone};
use linotp_core::{
    CheckContext, CheckedToken, Decision, OtpPinMode, SkipReason, TokenKind, TokenState, Verdict,
    check_token, finish, split_pass,
};
use linotp_policy::UserContext;
use linotp_providers::remote::{RemoteAnswer, RemoteCheck, RemoteServer, check_first_answering};
use linotp_store::AnyConnection;
use linotp_store::tokens::{self, Token};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use super::challenge::{
    ChallengeChanges, ChallengeStore, StoredChallenge, TokenChallenges, TransactionChallenges,
    sender_for,
};
use super::persist::{self, Committed};
use super::policy::{AuthPolicies, SEVERAL_TOKEN_REALMS, subject_for_login, token_realm_subject};
use crate::app::App;
use crate::audit::AuditEvent;
use crate::error::{ApiError, Result};
use crate::params::Params;
use crate::policy::{self as request_policy, RequestOrigin};
use crate::pyfmt::python_str_repr;
use crate::sysconfig::SystemConfig;
use crate::token_model;
use crate::users::{self, ResolvedUser};

/// Audit `action_detail` when the winning token's counter moved between check and commit.
pub const COUNTER_MOVED: &str = "counter moved: the OTP was used by a concurrent request";

/// Longest audit `serial` / `token_type` for several tokens (LinOTP's column limits).
const AUDIT_SERIALS_LEN: usize = 29;
const AUDIT_TYPES_LEN: usize = 39;

/// The audit fields a check fills in (the handler adds action, client and success).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditTrail {
    /// `user`: the login.
    pub user: String,
    /// `realm`.
    pub realm: String,
    /// `serial` (several: space-joined, truncated).
    pub serial: String,
    /// `token_type`.
    pub token_type: String,
    /// `action_detail`.
    pub action_detail: String,
    /// `info`.
    pub info: String,
}

impl AuditTrail {
    /// The audit event of a request with this trail.
    pub fn event(&self, action: &str, success: bool, client: Option<String>) -> AuditEvent {
        AuditEvent {
            action: action.to_owned(),
            success,
            serial: self.serial.clone(),
            token_type: self.token_type.clone(),
            user: self.user.clone(),
            realm: self.realm.clone(),
            administrator: String::new(),
            action_detail: self.action_detail.clone(),
            info: self.info.clone(),
            client: client.unwrap_or_default(),
        }
    }

    fn name_tokens(&mut self, rows: &[&Token]) {
        match rows {
            [] => {
                self.serial.clear();
                self.token_type.clear();
            }
            [row] => {
                self.serial = row.serial.clone();
                self.token_type = row.token_type.clone();
            }
            several => {
                self.serial = joined_unique(several.iter().map(|row| row.serial.as_str()))
                    .chars()
                    .take(AUDIT_SERIALS_LEN)
                    .collect();
                self.token_type = joined_unique(several.iter().map(|row| row.token_type.as_str()))
                    .chars()
                    .take(AUDIT_TYPES_LEN)
                    .collect();
            }
        }
    }
}

fn joined_unique<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen.join(" ")
}

/// Who a reply is about, for its detail policies (LinOTP's `RequestUser`, `TokenType`,
/// `TokenSerial`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplySubject {
    /// The request's login; empty when it named no user.
    pub login: String,
    /// The request's realm (after `setrealm`).
    pub realm: String,
    /// The user as the resolvers know it.
    pub user: Option<ResolvedUser>,
    /// Type and serial of the token that authenticated the user.
    pub token: Option<(String, String)>,
}

/// What a check decided.
#[derive(Debug)]
pub struct CheckOutcome {
    /// `result.value`: authenticated.
    pub accepted: bool,
    /// The reply's `detail` (`auth_info`, a challenge, policy details).
    pub detail: Option<Value>,
    /// What LinOTP raises instead of answering (missing `pass`, several tokens matched, …):
    /// each endpoint turns it into its own failure reply.
    pub raised: Option<ApiError>,
    /// The audit fields.
    pub audit: AuditTrail,
    /// Who the reply is about.
    pub subject: ReplySubject,
}

impl CheckOutcome {
    fn finished(
        result: Result<Answer>,
        mut audit: AuditTrail,
        subject: ReplySubject,
    ) -> CheckOutcome {
        match result {
            Ok(answer) => CheckOutcome {
                accepted: answer.accepted,
                detail: answer.detail,
                raised: None,
                audit,
                subject,
            },
            Err(error) => {
                if let ApiError::Store(cause) = &error {
                    tracing::error!(error = %cause, "validation failed on the database");
                }
                audit.info = error.message();
                CheckOutcome {
                    accepted: false,
                    detail: None,
                    raised: Some(error),
                    audit,
                    subject,
                }
            }
        }
    }

    /// The outcome of a check that could not run (database unavailable).
    pub fn from_error(error: ApiError) -> CheckOutcome {
        tracing::error!(%error, "validation could not run");
        let audit = AuditTrail {
            info: error.message(),
            ..AuditTrail::default()
        };
        CheckOutcome {
            accepted: false,
            detail: None,
            raised: Some(error),
            audit,
            subject: ReplySubject::default(),
        }
    }

    /// The challenge a failed check triggered: its transaction id and message.
    pub fn challenge(&self) -> Option<(String, String)> {
        let detail = self.detail.as_ref()?;
        let id = detail
            .get("transactionid")
            .or_else(|| detail.get("state"))?
            .as_str()?;
        let message = detail
            .get("data")
            .or_else(|| detail.get("message"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        Some((id.to_owned(), message.to_owned()))
    }
}

/// What the token checks answered.
#[derive(Debug, Default)]
struct Answer {
    accepted: bool,
    detail: Option<Value>,
    /// The token that authenticated.
    winner: Option<Token>,
    /// The failcount of the (last) checked token after the request (`check_t`).
    fail_count: Option<i64>,
}

impl Answer {
    fn plain(accepted: bool) -> Answer {
        Answer {
            accepted,
            ..Answer::default()
        }
    }
}

/// The request options a check reads (everything but `user` and `pass`).
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// `serial`: check this token instead of the user's tokens.
    pub serial: Option<String>,
    /// `token_type`: only tokens of this type (case-insensitive).
    pub token_type: Option<String>,
    /// `auth_info=true`: report PIN and OTP lengths on success.
    pub auth_info: bool,
    /// `state` / `transactionid`: the answer to this challenge transaction.
    pub transaction_id: Option<String>,
    /// `data` or `challenge` given: tokens whose challenge needs them may trigger one.
    pub challenge_data: bool,
}

impl CheckOptions {
    /// The options of a request as `check_s` and `check_t` see them.
    pub fn from_params(params: &Params) -> CheckOptions {
        let text = |name: &str| {
            params
                .optional(name)
                .map(|value| value.into_owned())
                .filter(|value| !value.is_empty())
        };
        CheckOptions {
            serial: text("serial"),
            token_type: text("token_type"),
            auth_info: params
                .optional("auth_info")
                .is_some_and(|value| value.eq_ignore_ascii_case("true")),
            transaction_id: text("state").or_else(|| text("transactionid")),
            challenge_data: params.contains("data") || params.contains("challenge"),
        }
    }

    /// The options of `check`: a `challenge` parameter replaces all others, as in LinOTP.
    pub fn for_check(params: &Params) -> CheckOptions {
        if params
            .optional("challenge")
            .is_some_and(|challenge| !challenge.is_empty())
        {
            return CheckOptions {
                challenge_data: true,
                ..CheckOptions::default()
            };
        }
        CheckOptions::from_params(params)
    }

    /// The transaction an answer belongs to: a sub-transaction `<base>.NN` counts for the
    /// whole transaction `<base>`.
    fn transaction_base(&self) -> Option<&str> {
        self.transaction_id
            .as_deref()
            .map(|id| id.split('.').next().unwrap_or(id))
    }
}

/// The `pass` parameter, wiped from memory when dropped.
fn pass_of(params: &Params) -> Option<Zeroizing<String>> {
    params
        .optional("pass")
        .map(|pass| Zeroizing::new(pass.into_owned()))
}

/// What every part of one request shares.
struct Request<'r> {
    app: &'r App,
    config: &'r SystemConfig,
    policies: AuthPolicies<'r>,
    challenges: ChallengeStore<'r>,
}

impl<'r> Request<'r> {
    fn new(app: &'r App, config: &'r SystemConfig, origin: RequestOrigin) -> Request<'r> {
        Request {
            app,
            config,
            policies: AuthPolicies::new(config, origin),
            challenges: ChallengeStore::new(app.security.as_ref(), config, origin.time),
        }
    }

    /// The policy subject of a resolved user (with resolver and, when policies need them,
    /// attributes).
    fn subject_of(&self, conn: &mut AnyConnection, user: &ResolvedUser) -> Result<UserContext> {
        request_policy::user_context_for(self.app, self.config, conn, user)
    }
}

/// The request user after `authorization/setrealm`.
fn requested_user(request: &Request<'_>, params: &Params) -> users::RequestedUser {
    let mut requested = users::requested_user(params, request.config);
    if !requested.is_empty()
        && let Some(realm) =
            request
                .policies
                .setrealm(request.config, &requested.login, &requested.realm)
    {
        tracing::debug!(login = %requested.login, from = %requested.realm, to = %realm, "setrealm policy");
        requested.realm = realm;
    }
    requested
}

fn reply_subject(config: &SystemConfig, requested: &users::RequestedUser) -> ReplySubject {
    let realm = if requested.realm.is_empty() {
        config.default_realm().unwrap_or_default()
    } else {
        requested.realm.clone()
    };
    ReplySubject {
        login: requested.login.clone(),
        realm,
        ..ReplySubject::default()
    }
}

/// `/validate/check` (and simplecheck, samlcheck): user + pass.
pub fn check_user_pass(
    app: &App,
    conn: &mut AnyConnection,
    params: &Params,
    origin: RequestOrigin,
) -> CheckOutcome {
    let mut audit = AuditTrail::default();
    let mut subject = ReplySubject::default();
    let result = check_user_pass_inner(app, conn, params, origin, &mut audit, &mut subject);
    CheckOutcome::finished(result, audit, subject)
}

fn check_user_pass_inner(
    app: &App,
    conn: &mut AnyConnection,
    params: &Params,
    origin: RequestOrigin,
    audit: &mut AuditTrail,
    subject: &mut ReplySubject,
) -> Result<Answer> {
    let config = app.system_config(conn)?;
    let request = Request::new(app, &config, origin);
    let requested = requested_user(&request, params);
    audit.user = requested.login.clone();
    audit.realm = requested.realm.clone();
    *subject = reply_subject(&config, &requested);
    let options = CheckOptions::for_check(params);
    let pass = pass_of(params);

    let resolved = users::resolve_requested(app, &config, conn, &requested)?;
    let user_subject = match &resolved {
        Some(user) => request.subject_of(conn, user)?,
        None => subject_for_login(&config, &requested.login, &requested.realm),
    };
    if !request.policies.authorized(&user_subject) {
        return Err(ApiError::Authorize(format!(
            "Authorization on client {} failed for {}@{}.",
            request.policies.client_text(),
            requested.login,
            requested.realm
        )));
    }
    if requested.is_empty() {
        let answer = check_without_user(&request, conn, &options, pass, audit)?;
        if answer.accepted {
            authorize_token(&request, &user_subject, answer.winner.as_ref(), audit)?;
        }
        return Ok(answer);
    }
    let Some(user) = resolved else {
        if config.pass_on_user_not_found() {
            audit.action_detail = "authenticated by PassOnUserNotFound".to_owned();
            return Ok(Answer::plain(true));
        }
        audit.action_detail = "User not found".to_owned();
        return Ok(Answer::plain(false));
    };
    audit.user = user.login.clone();
    audit.realm = user.realm.clone();
    subject.user = Some(user.clone());

    if !request.policies.forward_on_no_token(&user_subject) {
        match request.policies.forward_servers(&user_subject) {
            Some(servers) => {
                let pass = pass.as_deref().map_or("", String::as_str);
                return Ok(forward(&request, &user, &servers, pass, &options, audit));
            }
            None => audit.action_detail = "Not forwarded (no servers)".to_owned(),
        }
    }

    let mut rows = match &options.serial {
        Some(serial) => tokens::get_by_serial(conn, serial)?.into_iter().collect(),
        None => users::tokens_of(conn, &user)?,
    };
    filter_type(&mut rows, options.token_type.as_deref());
    if rows.is_empty() {
        return Ok(without_tokens(
            &request,
            &user,
            &user_subject,
            pass.as_deref().map(String::as_str),
            &options,
            audit,
        ));
    }
    let Some(pass) = pass else {
        return Err(ApiError::Parameter("Missing parameter:pass".to_owned()));
    };
    let answer = check_token_list(
        &request,
        conn,
        &rows,
        &pass,
        Some((&user, &user_subject)),
        &options,
        audit,
    )?;
    if answer.accepted {
        authorize_token(&request, &user_subject, answer.winner.as_ref(), audit)?;
        subject.token = answer
            .winner
            .as_ref()
            .map(|token| (token.token_type.clone(), token.serial.clone()));
    }
    Ok(answer)
}

/// A known user without tokens: `PassOnUserNoToken`, then policies `passthru` (the whole
/// pass is checked as the user's password), `passOnNoToken` and `forward_on_no_token`.
fn without_tokens(
    request: &Request<'_>,
    user: &ResolvedUser,
    user_subject: &UserContext,
    pass: Option<&str>,
    options: &CheckOptions,
    audit: &mut AuditTrail,
) -> Answer {
    audit.action_detail = "User has no tokens assigned".to_owned();
    if request.config.pass_on_user_no_token() {
        audit.action_detail = "authenticated by PassOnUserNoToken".to_owned();
        return Answer::plain(true);
    }
    if request.policies.passthru(user_subject) {
        audit.action_detail = "Authenticated against Resolver".to_owned();
        let accepted = pass.is_some_and(|pass| {
            user_password_matches(request, user, pass).unwrap_or_else(|error| {
                tracing::warn!(%error, "passthru password check failed");
                false
            })
        });
        return Answer::plain(accepted);
    }
    if request.policies.pass_on_no_token(user_subject) {
        audit.action_detail = "Authenticated by passOnNoToken policy".to_owned();
        return Answer::plain(true);
    }
    if request.policies.forward_on_no_token(user_subject) {
        match request.policies.forward_servers(user_subject) {
            Some(servers) => {
                return forward(request, user, &servers, pass.unwrap_or(""), options, audit);
            }
            None => audit.action_detail = "Not forwarded (no servers)".to_owned(),
        }
    }
    Answer::plain(false)
}

/// `authentication/forward_server`: the first remote server that answers decides, as LinOTP's
/// `ForwardServerPolicy.do_request` lets it; a challenge it opens is handed to the client.
/// When none answers (or the policy names no usable server) the user is refused.
fn forward(
    request: &Request<'_>,
    user: &ResolvedUser,
    servers: &str,
    pass: &str,
    options: &CheckOptions,
    audit: &mut AuditTrail,
) -> Answer {
    let remote_options: Vec<(String, String)> = options
        .transaction_id
        .iter()
        .map(|id| ("transactionid".to_owned(), id.clone()))
        .collect();
    let check = RemoteCheck {
        login: &user.login,
        realm: Some(user.realm.as_str()).filter(|realm| !realm.is_empty()),
        password: pass,
        options: &remote_options,
    };
    let answer =
        RemoteServer::parse_list(servers, request.app.security.as_ref()).and_then(|servers| {
            tracing::info!(
                user = %user.login,
                servers = %servers.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "),
                "forwarding the authentication"
            );
            block_on_remote(check_first_answering(
                &servers,
                &check,
                &request.app.options.remote,
            ))
        });
    let answer = answer.unwrap_or_else(|error| {
        tracing::warn!(user = %user.login, %error, "forwarded authentication failed");
        RemoteAnswer::default()
    });
    audit.action_detail = format!(
        "Forwarded, result {}",
        if answer.accepted { "True" } else { "False" }
    );
    Answer {
        accepted: answer.accepted,
        detail: (!answer.detail.is_empty()).then(|| Value::Object(answer.detail)),
        ..Answer::default()
    }
}

/// Runs a remote request from the blocking thread a check runs on (see [`App::with_conn`]).
fn block_on_remote<T>(
    future: impl std::future::Future<Output = linotp_providers::Result<T>>,
) -> linotp_providers::Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.block_on(future),
        // Called outside the server (a benchmark, a tool): a runtime of its own.
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| linotp_providers::ProviderError::Unreachable {
                server: "forward_server".to_owned(),
                message: format!("no async runtime: {error}"),
            })?
            .block_on(future),
    }
}

fn user_password_matches(
    request: &Request<'_>,
    user: &ResolvedUser,
    password: &str,
) -> Result<bool> {
    let Some(spec) = users::ResolverSpec::parse(&user.resolver_spec) else {
        return Ok(false);
    };
    match users::open_resolver(request.app, &spec, request.config) {
        Some(resolver) => resolver.check_password(&user.user_id, password),
        None => Ok(false),
    }
}

/// `authorization/tokentype` and `authorization/serial` after a success.
fn authorize_token(
    request: &Request<'_>,
    subject: &UserContext,
    winner: Option<&Token>,
    audit: &mut AuditTrail,
) -> Result<()> {
    let Some(token) = winner else {
        return Ok(());
    };
    let client = request.policies.client_text();
    if !request
        .policies
        .token_type_allowed(subject, &token.token_type)
    {
        audit.action_detail = "failed due to authorization/tokentype policy".to_owned();
        return Err(ApiError::Authorize(format!(
            "Authorization for token {} with type {} failed on client {client}",
            token.serial,
            token.token_type.to_lowercase()
        )));
    }
    if !request.policies.serial_allowed(subject, &token.serial) {
        audit.action_detail = "failed due to authorization/serial policy".to_owned();
        return Err(ApiError::Authorize(format!(
            "Authorization for token {} failed on client {client}",
            token.serial
        )));
    }
    Ok(())
}

/// `check` without a user: LinOTP checks the token named by `serial` alone (like
/// `check_s`). Without a serial there is nothing to check; unlike LinOTP, `PassOnUserNoToken`
/// does not let such an anonymous request pass.
fn check_without_user(
    request: &Request<'_>,
    conn: &mut AnyConnection,
    options: &CheckOptions,
    pass: Option<Zeroizing<String>>,
    audit: &mut AuditTrail,
) -> Result<Answer> {
    let mut rows: Vec<Token> = match &options.serial {
        Some(serial) => tokens::get_by_serial(conn, serial)?.into_iter().collect(),
        None => Vec::new(),
    };
    filter_type(&mut rows, options.token_type.as_deref());
    if rows.is_empty() {
        audit.action_detail = "User has no tokens assigned".to_owned();
        return Ok(Answer::plain(false));
    }
    let Some(pass) = pass else {
        return Err(ApiError::Parameter("Missing parameter:pass".to_owned()));
    };
    check_token_list(request, conn, &rows, &pass, None, options, audit)
}

/// `/validate/check_s`: serial + pass (or the one token of `user`).
pub fn check_serial_pass(
    app: &App,
    conn: &mut AnyConnection,
    params: &Params,
    origin: RequestOrigin,
) -> CheckOutcome {
    let mut audit = AuditTrail::default();
    let mut subject = ReplySubject::default();
    let result = check_serial_pass_inner(app, conn, params, origin, &mut audit, &mut subject);
    CheckOutcome::finished(result, audit, subject)
}

fn check_serial_pass_inner(
    app: &App,
    conn: &mut AnyConnection,
    params: &Params,
    origin: RequestOrigin,
    audit: &mut AuditTrail,
    subject: &mut ReplySubject,
) -> Result<Answer> {
    let config = app.system_config(conn)?;
    let request = Request::new(app, &config, origin);
    let options = CheckOptions::from_params(params);
    let pass = pass_of(params);
    let mut serial = params.optional("serial").map(|serial| serial.into_owned());
    // The reply is about the request user, which check_s mostly has not.
    *subject = reply_subject(&config, &users::RequestedUser::default());
    if serial.is_none() && params.optional("user").is_some() {
        let requested = requested_user(&request, params);
        let owned = match users::resolve_requested(app, &config, conn, &requested)? {
            Some(user) => users::tokens_of(conn, &user)?,
            None => Vec::new(),
        };
        match owned.as_slice() {
            [] => return Err(ApiError::Internal("No token found!".to_owned())),
            [only] => serial = Some(only.serial.clone()),
            _ => return Err(ApiError::Internal("More than one token found!".to_owned())),
        }
    }
    audit.serial = serial.clone().unwrap_or_default();

    let mut rows: Vec<Token> = match &serial {
        Some(serial) => tokens::get_by_serial(conn, serial)?.into_iter().collect(),
        None => Vec::new(),
    };
    filter_type(&mut rows, options.token_type.as_deref());
    let Some(pass) = pass else {
        // A token LinOTP would challenge without any pass does not exist among ours.
        return Err(if rows.len() == 1 {
            ApiError::Parameter("Missing parameter: pass".to_owned())
        } else {
            ApiError::Internal(format!(
                "No token found: unable to create challenge for {}",
                serial.as_deref().unwrap_or("None")
            ))
        });
    };
    check_token_list(&request, conn, &rows, &pass, None, &options, audit)
}

/// What `/validate/check_t` answered.
#[derive(Debug)]
pub struct TransactionOutcome {
    /// Whether an answer was right.
    pub accepted: bool,
    /// `failcount` of the value (the checked token's fail counter after the request).
    pub fail_count: i64,
    /// The reply's `detail`.
    pub detail: Map<String, Value>,
    /// What LinOTP raises instead of answering.
    pub raised: Option<ApiError>,
    /// The audit fields.
    pub audit: AuditTrail,
    /// Who the reply is about.
    pub subject: ReplySubject,
}

/// `/validate/check_t`: `pass` answers the challenges of `transaction_id`, token by token,
/// until one accepts (LinOTP's `check_by_transactionid`).
pub fn check_transaction(
    app: &App,
    conn: &mut AnyConnection,
    params: &Params,
    transaction_id: &str,
    origin: RequestOrigin,
) -> TransactionOutcome {
    let mut audit = AuditTrail::default();
    let mut subject = ReplySubject::default();
    let mut detail = Map::new();
    let result = check_transaction_inner(
        app,
        conn,
        params,
        transaction_id,
        origin,
        &mut audit,
        &mut subject,
        &mut detail,
    );
    match result {
        Ok(answer) => TransactionOutcome {
            accepted: answer.accepted,
            fail_count: answer.fail_count.unwrap_or(0),
            detail,
            raised: None,
            audit,
            subject,
        },
        Err(error) => {
            audit.info = error.message();
            TransactionOutcome {
                accepted: false,
                fail_count: 0,
                detail: Map::new(),
                raised: Some(error),
                audit,
                subject,
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn check_transaction_inner(
    app: &App,
    conn: &mut AnyConnection,
    params: &Params,
    transaction_id: &str,
    origin: RequestOrigin,
    audit: &mut AuditTrail,
    subject: &mut ReplySubject,
    detail: &mut Map<String, Value>,
) -> Result<Answer> {
    let config = app.system_config(conn)?;
    let request = Request::new(app, &config, origin);
    *subject = reply_subject(&config, &users::RequestedUser::default());
    let serials: Vec<String> = request
        .challenges
        .lookup(conn, None, Some(transaction_id))?
        .iter()
        .map(|challenge| challenge.serial().to_owned())
        .collect();
    if serials.is_empty() {
        detail.insert("value".to_owned(), Value::Bool(false));
        detail.insert(
            "failure".to_owned(),
            Value::from(format!(
                "No challenge for transaction {} found",
                python_str_repr(transaction_id)
            )),
        );
        return Ok(Answer::plain(false));
    }
    let mut options = CheckOptions::from_params(params);
    options.transaction_id = Some(transaction_id.to_owned());
    let pass = pass_of(params).unwrap_or_default();
    detail.insert("value".to_owned(), Value::Bool(false));
    detail.insert("failcount".to_owned(), Value::from(0));
    detail.insert("token_type".to_owned(), Value::from(""));
    let mut answer = Answer::plain(false);
    for serial in serials {
        let mut rows: Vec<Token> = tokens::get_by_serial(conn, &serial)?.into_iter().collect();
        filter_type(&mut rows, options.token_type.as_deref());
        let Some(token) = rows.first().cloned() else {
            if options.token_type.is_some() {
                continue;
            }
            return Err(ApiError::Internal(format!(
                "tokenmismatch for token serial: {}",
                python_str_repr(&serial)
            )));
        };
        let owner = token_owner(&request, conn, &token)?;
        let owner_subject = match &owner {
            Some(owner) => Some(request.subject_of(conn, owner)?),
            None => None,
        };
        let user = owner.as_ref().zip(owner_subject.as_ref());
        answer = check_token_list(&request, conn, &rows, &pass, user, &options, audit)?;
        if let Some(Value::Object(extra)) = answer.detail.take() {
            detail.extend(extra);
        }
        detail.insert("value".to_owned(), Value::Bool(answer.accepted));
        detail.insert(
            "token_type".to_owned(),
            Value::from(token.token_type.as_str()),
        );
        detail.insert(
            "failcount".to_owned(),
            Value::from(answer.fail_count.unwrap_or(i64::from(token.fail_count))),
        );
        detail.insert("serial".to_owned(), Value::from(token.serial.as_str()));
        if answer.accepted {
            if let Some(owner) = owner {
                *subject = ReplySubject {
                    login: owner.login.clone(),
                    realm: owner.realm.clone(),
                    user: Some(owner),
                    token: Some((token.token_type.clone(), token.serial.clone())),
                };
            }
            break;
        }
    }
    Ok(answer)
}

/// LinOTP's `get_token_owner`: the user a token is assigned to, in the realm of its resolver
/// (the token's realm where the resolver is in several). `None` for unassigned tokens and
/// owners their resolver no longer knows.
fn token_owner(
    request: &Request<'_>,
    conn: &mut AnyConnection,
    token: &Token,
) -> Result<Option<ResolvedUser>> {
    if token.user_id.is_empty() {
        return Ok(None);
    }
    let Some(login) = users::owner_login(
        request.app,
        request.config,
        conn,
        &token.id_res_class,
        &token.user_id,
    )?
    else {
        return Ok(None);
    };
    let realms = users::realms_of_resolver(request.config, &token.id_res_class);
    let realm = match realms.as_slice() {
        [] => {
            return Err(ApiError::Internal(format!(
                "get_token_owner: The user {} in the resolver {} for token {} could not be found in any realm!",
                token.user_id, token.id_res_class, token.serial
            )));
        }
        [only] => only.clone(),
        several => {
            let token_realms = tokens::realm_names_of(conn, &[token.id])?
                .remove(&token.id)
                .unwrap_or_default();
            let common: Vec<&String> = several
                .iter()
                .filter(|realm| token_realms.contains(realm))
                .collect();
            match common.as_slice() {
                [only] => (*only).clone(),
                _ => {
                    return Err(ApiError::Internal(format!(
                        "get_token_owner: The user {}/{} and the token {} is located in several realms!",
                        token.user_id, token.id_res_class, token.serial
                    )));
                }
            }
        }
    };
    let short = users::ResolverSpec::parse(&token.id_res_class)
        .map(|spec| spec.short())
        .unwrap_or_else(|| token.id_resolver.clone());
    Ok(Some(ResolvedUser {
        login,
        realm,
        user_id: token.user_id.clone(),
        resolver_spec: token.id_res_class.clone(),
        resolver_class_short: short,
    }))
}

/// What `/validate/check_status` found.
#[derive(Debug)]
pub struct StatusOutcome {
    /// Whether the transaction has challenges the request may see.
    pub found: bool,
    /// `{"transactions": {…}}`, empty when nothing was found.
    pub detail: Map<String, Value>,
    /// What LinOTP raises instead of answering.
    pub raised: Option<ApiError>,
    /// The audit fields.
    pub audit: AuditTrail,
    /// Who the reply is about.
    pub subject: ReplySubject,
}

/// `/validate/check_status`: the state of the challenges of a transaction, for a requester
/// who proves to be the token's owner by its PIN (or the `otppin` policy's password).
pub fn transaction_status(
    app: &App,
    conn: &mut AnyConnection,
    params: &Params,
    transaction_id: &str,
    origin: RequestOrigin,
) -> StatusOutcome {
    let mut audit = AuditTrail::default();
    let mut subject = ReplySubject::default();
    let result = transaction_status_inner(
        app,
        conn,
        params,
        transaction_id,
        origin,
        &mut audit,
        &mut subject,
    );
    match result {
        Ok(detail) => StatusOutcome {
            found: !detail.is_empty(),
            detail,
            raised: None,
            audit,
            subject,
        },
        Err(error) => {
            audit.info = error.message();
            StatusOutcome {
                found: false,
                detail: Map::new(),
                raised: Some(error),
                audit,
                subject,
            }
        }
    }
}

fn transaction_status_inner(
    app: &App,
    conn: &mut AnyConnection,
    params: &Params,
    transaction_id: &str,
    origin: RequestOrigin,
    audit: &mut AuditTrail,
    subject: &mut ReplySubject,
) -> Result<Map<String, Value>> {
    let config = app.system_config(conn)?;
    let request = Request::new(app, &config, origin);
    let requested = requested_user(&request, params);
    audit.user = requested.login.clone();
    audit.realm = requested.realm.clone();
    *subject = reply_subject(&config, &requested);
    let requester = users::resolve_requested(app, &config, conn, &requested)?;
    let serial = params
        .optional("serial")
        .map(|serial| serial.into_owned())
        .filter(|serial| !serial.is_empty());
    let pass = pass_of(params).unwrap_or_default();

    let TransactionChallenges { valid, expired } =
        request.challenges.of_transaction(conn, transaction_id)?;
    if !expired.is_empty() {
        let mut changes = ChallengeChanges::default();
        for challenge in &expired {
            changes.expired(challenge);
        }
        let security = request.challenges.security();
        linotp_store::write_transaction(conn, |conn| changes.store(conn, security))?;
    }

    let mut transactions = Map::new();
    for (challenge, token) in &valid {
        if serial
            .as_deref()
            .is_some_and(|serial| serial != challenge.serial())
        {
            continue;
        }
        let owner = token_owner(&request, conn, token)?;
        let pin_matches = match (&requested.is_empty(), &owner) {
            (false, Some(owner)) => {
                let same = requester.as_ref().is_some_and(|requester| {
                    requester.user_id == owner.user_id && requester.realm == owner.realm
                });
                if !same {
                    continue;
                }
                let owner_subject = request.subject_of(conn, owner)?;
                let mode = match request.policies.otppin(&owner_subject) {
                    Ok(mode) => mode,
                    Err(error) => return Err(ApiError::Internal(error.to_string())),
                };
                PinChecker::new(&request, Some(owner)).pin_alone_matches(mode, token, &pass)
            }
            (false, None) => continue,
            (true, _) => token_model::pin_matches(token, app.security.as_ref(), &pass),
        };
        if !pin_matches {
            continue;
        }
        let mut entry = Map::new();
        entry.insert(
            "received_count".to_owned(),
            Value::from(challenge.received_count()),
        );
        entry.insert(
            "received_tan".to_owned(),
            Value::Bool(challenge.received_tan()),
        );
        entry.insert("valid_tan".to_owned(), Value::Bool(challenge.valid_tan()));
        entry.insert("message".to_owned(), Value::from(challenge.message()));
        entry.insert("status".to_owned(), Value::from(challenge.status()));
        for flag in ["accept", "reject"] {
            if let Some(value) = challenge.session_flag(flag) {
                entry.insert(flag.to_owned(), value.clone());
            }
        }
        entry.insert(
            "token".to_owned(),
            json!({"serial": token.serial, "type": token.token_type}),
        );
        transactions.insert(challenge.transaction_id().to_owned(), Value::Object(entry));
    }
    let detail = if transactions.is_empty() {
        Map::new()
    } else {
        let mut detail = Map::new();
        detail.insert("transactions".to_owned(), Value::Object(transactions));
        detail
    };

    // LinOTP's `update_audit_with_challenges`: every token of the transaction, and its owner.
    let mut serials = Vec::new();
    let mut types = Vec::new();
    let mut first_owner = None;
    for challenge in request
        .challenges
        .lookup(conn, None, Some(transaction_id))?
    {
        if let Some(token) = tokens::get_by_serial(conn, challenge.serial())? {
            if first_owner.is_none() {
                first_owner = token_owner(&request, conn, &token).ok().flatten();
            }
            serials.push(token.serial);
            types.push(token.token_type);
        }
    }
    if let Some(owner) = first_owner {
        if audit.user.is_empty() {
            audit.user = owner.login.clone();
        }
        if audit.realm.is_empty() {
            audit.realm = owner.realm.clone();
        }
        *subject = ReplySubject {
            login: owner.login.clone(),
            realm: owner.realm.clone(),
            user: Some(owner),
            token: None,
        };
    }
    audit.serial = serials.join(" ");
    audit.token_type = types.join(" ");
    if !serials.is_empty() {
        subject.token = Some((types.join(" "), serials.join(" ")));
    }
    audit.info = if valid.is_empty() {
        "None".to_owned()
    } else {
        python_repr(&Value::Object(detail.clone()))
    };
    Ok(detail)
}

/// Python's `repr()` of a JSON value (dicts, lists, strings, `True`/`False`/`None`).
pub fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(number) => number.to_string(),
        Value::String(text) => python_str_repr(text),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(key, value)| format!("{}: {}", python_str_repr(key), python_repr(value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Applies `authorization/detail_on_success` / `detail_on_fail` to a reply's detail (LinOTP's
/// `apply_detail_policies`): on success the user's attributes, realm, admin flag, token type
/// and serial; on failure the audit's `action_detail` as `error`.
pub fn apply_detail_policies(
    app: &App,
    conn: &mut AnyConnection,
    origin: RequestOrigin,
    subject: &ReplySubject,
    success: bool,
    action_detail: &str,
    detail: &mut Option<Value>,
) -> Result<()> {
    let config = app.system_config(conn)?;
    if !config.policies().has_active_policy("authorization") {
        return Ok(());
    }
    let policies = AuthPolicies::new(&config, origin);
    let who = match &subject.user {
        Some(user) => request_policy::user_context_for(app, &config, conn, user)?,
        None => subject_for_login(&config, &subject.login, &subject.realm),
    };
    if !policies.detail_on(&who, success) {
        return Ok(());
    }
    let mut additions = Map::new();
    if success {
        if subject.login.is_empty() {
            additions.insert("user".to_owned(), Value::Null);
            additions.insert("realm".to_owned(), Value::Null);
            additions.insert("is_linotp_admin".to_owned(), Value::Null);
        } else {
            let info = match &subject.user {
                Some(user) => users::user_info(app, conn, user)?,
                None => None,
            };
            let attributes: Map<String, Value> = info
                .map(|info| {
                    info.to_json()
                        .into_iter()
                        .filter(|(key, _)| key != "cryptpass")
                        .map(|(key, value)| {
                            let empty = match &value {
                                Value::String(text) => text.is_empty(),
                                Value::Null => true,
                                _ => false,
                            };
                            (key, if empty { Value::Null } else { value })
                        })
                        .collect()
                })
                .unwrap_or_default();
            additions.insert("user".to_owned(), Value::Object(attributes));
            additions.insert("realm".to_owned(), Value::from(subject.realm.as_str()));
            additions.insert(
                "is_linotp_admin".to_owned(),
                Value::Bool(subject.realm.eq_ignore_ascii_case(&app.options.admin_realm)),
            );
        }
        let (token_type, serial) = match &subject.token {
            Some((token_type, serial)) => (
                Value::from(token_type.as_str()),
                Value::from(serial.as_str()),
            ),
            None => (Value::Null, Value::Null),
        };
        additions.insert("tokentype".to_owned(), token_type);
        additions.insert("serial".to_owned(), serial);
    } else {
        additions.insert("error".to_owned(), Value::from(action_detail));
    }
    let merged = detail.get_or_insert_with(|| Value::Object(Map::new()));
    deep_merge(merged, Value::Object(additions));
    Ok(())
}

/// LinOTP's `deep_update`: objects merge key by key, anything else replaces.
fn deep_merge(target: &mut Value, update: Value) {
    match (target, update) {
        (Value::Object(target), Value::Object(update)) => {
            for (key, value) in update {
                match target.get_mut(&key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        deep_merge(existing, value);
                    }
                    _ => {
                        target.insert(key, value);
                    }
                }
            }
        }
        (target, update) => *target = update,
    }
}

fn filter_type(rows: &mut Vec<Token>, token_type: Option<&str>) {
    if let Some(wanted) = token_type {
        rows.retain(|row| row.token_type.eq_ignore_ascii_case(wanted));
    }
}

/// UTC offset of the server's local time at `now` (the DPW token's day is the local day).
fn local_offset(now: i64) -> i64 {
    Local
        .timestamp_opt(now, 0)
        .single()
        .map_or(0, |local| i64::from(local.offset().fix().local_minus_utc()))
}

fn naive_utc(now: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp(now, 0).map(|time| time.naive_utc())
}

/// Whether config `token.last_access` asks for last-access timestamps on tokens.
fn records_last_access(config: &SystemConfig) -> bool {
    config.get("token.last_access").is_some_and(|value| {
        let value = value.trim();
        !value.is_empty()
            && !value.eq_ignore_ascii_case("false")
            && !value.eq_ignore_ascii_case("none")
    })
}

/// What the PIN part of a pass is checked against, with LinOTP's per-request cache of user
/// password checks (`otppin=1`): each distinct candidate asks the directory once, keyed by
/// its SHA-256, and once one matched no other candidate does.
struct PinChecker<'a> {
    request: &'a Request<'a>,
    user: Option<&'a ResolvedUser>,
    passwords: RefCell<HashMap<Vec<u8>, bool>>,
    password_found: RefCell<bool>,
}

impl<'a> PinChecker<'a> {
    fn new(request: &'a Request<'a>, user: Option<&'a ResolvedUser>) -> PinChecker<'a> {
        PinChecker {
            request,
            user,
            passwords: RefCell::new(HashMap::new()),
            password_found: RefCell::new(false),
        }
    }

    /// The check `linotp_core::check_token` calls for the PIN part: the user's password
    /// with `otppin=1`, the token PIN otherwise.
    fn matches(&self, mode: OtpPinMode, token: &Token, pin: &str) -> bool {
        if mode == OtpPinMode::UserPassword {
            self.user_password(pin)
        } else {
            token_model::pin_matches(token, self.request.app.security.as_ref(), pin)
        }
    }

    fn user_password(&self, pin: &str) -> bool {
        let Some(user) = self.user else {
            tracing::info!("otppin=1 needs a user; the request names none");
            return false;
        };
        let key = ring::digest::digest(&ring::digest::SHA256, pin.as_bytes())
            .as_ref()
            .to_vec();
        if let Some(known) = self.passwords.borrow().get(&key) {
            return *known;
        }
        if *self.password_found.borrow() {
            return false;
        }
        let matched = user_password_matches(self.request, user, pin).unwrap_or_else(|error| {
            tracing::warn!(%error, "user password check failed");
            false
        });
        self.passwords.borrow_mut().insert(key, matched);
        if matched {
            *self.password_found.borrow_mut() = true;
        }
        matched
    }

    /// LinOTP's `check_pin` of a whole pass (is it the PIN alone?): the `otppin` mode decides
    /// what counts as the PIN.
    fn pin_alone_matches(&self, mode: OtpPinMode, token: &Token, pass: &str) -> bool {
        let is_spass = token_model::kind_of(token) == Some(TokenKind::Spass);
        match mode {
            OtpPinMode::TokenPin | OtpPinMode::UserPassword => self.matches(mode, token, pass),
            OtpPinMode::OnlyOtp => pass.is_empty(),
            OtpPinMode::IgnorePin => !is_spass || self.matches(OtpPinMode::TokenPin, token, pass),
        }
    }
}

/// One token of a request after its check.
struct TokenRun {
    checked: CheckedToken,
    otppin: OtpPinMode,
    /// Whether the token runs challenge-response for this request.
    challenge_response: bool,
    /// The token's challenges, once loaded (answers load them; failures when they refuse
    /// them).
    challenges: Option<TokenChallenges>,
    /// The challenges the pass answered.
    answered: Vec<StoredChallenge>,
    /// Policy `delete_on_authentication_exceed` applies to this token's skip.
    delete_on_exceed: bool,
    /// A problem worth the audit's `info` (conflicting otppin policies).
    info: Option<String>,
}

impl TokenRun {
    fn skipped(state: TokenState, reason: SkipReason) -> TokenRun {
        TokenRun {
            checked: CheckedToken {
                verdict: Verdict::Skipped(reason),
                state,
            },
            otppin: OtpPinMode::TokenPin,
            challenge_response: false,
            challenges: None,
            answered: Vec::new(),
            delete_on_exceed: false,
            info: None,
        }
    }
}

/// Whether a challenge belongs to the transaction `base` (an id of the configured length
/// exactly, else `base.NN`).
fn in_transaction(challenge: &StoredChallenge, base: &str, configured_length: usize) -> bool {
    let id = challenge.transaction_id();
    if base.len() == configured_length {
        id == base
    } else {
        id.strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('.'))
    }
}

/// LinOTP's `checkTokenList`: checks `pass` against every token, decides, stores, and
/// creates challenges. `user` is the requesting user with its policy subject; without one,
/// each token's policies are read for its realm.
fn check_token_list(
    request: &Request<'_>,
    conn: &mut AnyConnection,
    rows: &[Token],
    pass: &str,
    user: Option<(&ResolvedUser, &UserContext)>,
    options: &CheckOptions,
    audit: &mut AuditTrail,
) -> Result<Answer> {
    let config = request.config;
    let now = request.app.now();
    let base_ctx = CheckContext {
        now_unix: now,
        local_utc_offset_secs: local_offset(now),
        prepend_pin: config.prepend_pin(),
        otppin: OtpPinMode::TokenPin,
        auto_resync: config.auto_resync(),
        auto_resync_timeout_secs: config.auto_resync_timeout(),
        reset_fail_count: config.reset_fail_count(),
        disable_on_exceed: false,
        controller: Some("validate"),
    };
    let ids: Vec<i32> = rows.iter().map(|row| row.id).collect();
    let token_realms = tokens::realm_names_of(conn, &ids)?;
    let pins = PinChecker::new(request, user.map(|(user, _)| user));
    let transaction_length = if options.transaction_id.is_some() {
        Some(request.challenges.transaction_id_length()?)
    } else {
        None
    };

    let mut runs: Vec<TokenRun> = Vec::with_capacity(rows.len());
    for row in rows {
        let realms = token_realms.get(&row.id).map(Vec::as_slice).unwrap_or(&[]);
        let run = check_one(
            request,
            conn,
            &pins,
            row,
            realms,
            pass,
            user,
            &base_ctx,
            options,
            transaction_length,
        )?;
        if let Some(info) = &run.info {
            audit.info.push_str(info);
        }
        runs.push(run);
    }
    // LinOTP words the failure by the request's otppin mode.
    let request_otppin = runs.last().map_or(OtpPinMode::TokenPin, |run| run.otppin);
    let verdicts: Vec<Verdict> = runs.iter().map(|run| run.checked.verdict.clone()).collect();
    let finished = finish(
        runs.iter().map(|run| run.checked.clone()).collect(),
        request_otppin,
    );

    let mut changes = ChallengeChanges::default();
    match &finished.decision {
        Decision::Success { token } => {
            if let Some(run) = runs.get(*token) {
                close_answered(request, conn, run, &mut changes)?;
            }
        }
        Decision::Failed { tokens } => {
            // Every challenge of a failing token counts the failed answer (LinOTP's
            // `finish_challenges`); tokens that were not answering load theirs now.
            for &index in tokens {
                let (Some(run), Some(row)) = (runs.get_mut(index), rows.get(index)) else {
                    continue;
                };
                if !run.challenge_response {
                    continue;
                }
                if run.challenges.is_none() {
                    run.challenges = Some(request.challenges.of_token(conn, row, None)?);
                }
                for challenge in run.challenges.iter().flat_map(|loaded| &loaded.valid) {
                    changes.refused(challenge);
                }
            }
        }
        Decision::MultipleValid { .. } | Decision::Challenge { .. } => {}
    }
    for loaded in runs.iter().filter_map(|run| run.challenges.as_ref()) {
        for challenge in &loaded.expired {
            changes.expired(challenge);
        }
    }
    let deleted: Vec<usize> = runs
        .iter()
        .enumerate()
        .filter(|(_, run)| {
            run.delete_on_exceed
                && matches!(&run.checked.verdict, Verdict::Skipped(reason) if reason.is_limit_exceeded())
        })
        .map(|(index, _)| index)
        .collect();
    let access_time = records_last_access(config)
        .then(|| naive_utc(now))
        .flatten();
    let committed = persist::persist(
        &request.app.store,
        conn,
        persist::Outcome {
            rows: rows.to_vec(),
            verdicts,
            finished: finished.clone(),
            now: access_time,
            challenges: changes,
            deleted,
            security: Arc::clone(&request.app.security),
        },
    )?;
    let last_fail_count = finished.tokens.last().map(|state| state.fail_count);

    let pick = |indices: &[usize]| -> Vec<&Token> {
        indices
            .iter()
            .filter_map(|&index| rows.get(index))
            .collect()
    };
    match &finished.decision {
        Decision::Success { token } => {
            let Some(row) = rows.get(*token) else {
                return Ok(Answer::plain(false));
            };
            audit.name_tokens(&[row]);
            if committed == Committed::CounterMoved {
                audit.action_detail = COUNTER_MOVED.to_owned();
                return Ok(Answer::plain(false));
            }
            audit.action_detail = match user {
                Some((user, _)) => {
                    audit.user = user.login.clone();
                    audit.realm = user.realm.clone();
                    format!(
                        "user {}@{} successfully authenticated.",
                        python_str_repr(&user.login),
                        python_str_repr(&user.realm)
                    )
                }
                None => format!(
                    "serial {} successfully authenticated.",
                    python_str_repr(&row.serial)
                ),
            };
            let otppin = runs
                .get(*token)
                .map_or(OtpPinMode::TokenPin, |run| run.otppin);
            let detail = options
                .auth_info
                .then(|| auth_info(row, pass, config.prepend_pin(), otppin));
            Ok(Answer {
                accepted: true,
                detail,
                winner: Some(row.clone()),
                fail_count: finished.tokens.get(*token).map(|state| state.fail_count),
            })
        }
        Decision::MultipleValid { tokens } => {
            audit.name_tokens(&pick(tokens));
            audit.action_detail = finished
                .action_detail
                .clone()
                .unwrap_or_else(|| "Multiple valid tokens found!".to_owned());
            Err(ApiError::MultipleTokenMatch)
        }
        Decision::Challenge { tokens } => {
            let challenged = pick(tokens);
            audit.name_tokens(&challenged);
            audit.action_detail = finished
                .action_detail
                .clone()
                .unwrap_or_else(|| "challenge created".to_owned());
            let detail = create_challenges(request, conn, &challenged, audit)?;
            Ok(Answer {
                accepted: false,
                detail: Some(detail),
                winner: None,
                fail_count: last_fail_count,
            })
        }
        Decision::Failed { tokens } => {
            audit.name_tokens(&pick(tokens));
            audit.action_detail = finished
                .action_detail
                .clone()
                .unwrap_or_else(|| "no token found!".to_owned());
            Ok(Answer {
                accepted: false,
                detail: None,
                winner: None,
                fail_count: last_fail_count,
            })
        }
    }
}

/// The winner's answered challenges: received and closed, with the token's older challenges
/// and the other sub-transactions of the same transaction (LinOTP's challenge janitor and
/// `handle_related_challenge`).
fn close_answered(
    request: &Request<'_>,
    conn: &mut AnyConnection,
    run: &TokenRun,
    changes: &mut ChallengeChanges,
) -> Result<()> {
    let Some(newest) = run.answered.iter().map(StoredChallenge::id).max() else {
        return Ok(());
    };
    for challenge in run.challenges.iter().flat_map(|loaded| &loaded.valid) {
        if challenge.id() < newest {
            changes.closed(challenge);
        }
    }
    for challenge in &run.answered {
        let id = challenge.transaction_id();
        let base = id.split('.').next().unwrap_or(id);
        for related in request.challenges.lookup(conn, None, Some(base))? {
            changes.closed(&related);
        }
        changes.answered(challenge);
    }
    Ok(())
}

/// LinOTP's `finish_challenge_token`: one challenge per challenge token; several share a
/// base transaction id with `.01`, `.02`, … suffixes.
fn create_challenges(
    request: &Request<'_>,
    conn: &mut AnyConnection,
    challenged: &[&Token],
    audit: &mut AuditTrail,
) -> Result<Value> {
    let senders = |token: &Token| {
        token_model::kind_of(token)
            .and_then(sender_for)
            .ok_or_else(|| {
                ApiError::Internal(format!("token {} cannot be challenged", token.serial))
            })
    };
    if let [token] = challenged {
        let created = request
            .challenges
            .create(conn, token, senders(token)?, None, "")?;
        return Ok(Value::Object(created.reply));
    }
    let mut replies = Map::new();
    let mut base = String::new();
    let mut failed = Vec::new();
    for (index, token) in challenged.iter().enumerate() {
        let postfix = format!(".{:02}", index + 1);
        let wanted = (!base.is_empty()).then(|| format!("{base}{postfix}"));
        let created = senders(token).and_then(|sender| {
            request
                .challenges
                .create(conn, token, sender, wanted.as_deref(), &postfix)
        });
        match created {
            Ok(created) => {
                if base.is_empty() {
                    base = created
                        .transaction_id
                        .split('.')
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                }
                replies.insert(token.serial.clone(), Value::Object(created.reply));
            }
            Err(error) => {
                tracing::warn!(serial = %token.serial, %error, "challenge failed");
                failed.push(token.serial.clone());
            }
        }
    }
    if failed.len() == challenged.len() {
        let message = format!(
            "None of the available tokens triggered a challenge: [{}]",
            failed
                .iter()
                .map(|serial| python_str_repr(serial))
                .collect::<Vec<_>>()
                .join(", ")
        );
        audit.action_detail = message.clone();
        return Err(ApiError::Internal(message));
    }
    if !failed.is_empty() {
        audit.info = format!(
            "Failed for [{}]",
            failed
                .iter()
                .map(|serial| python_str_repr(serial))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(json!({
        "challenges": Value::Object(replies),
        "transactionid": base,
        "message": "Multiple challenges submitted.",
    }))
}

/// The pre-checks, policies and verdict of one token.
#[allow(clippy::too_many_arguments)]
fn check_one(
    request: &Request<'_>,
    conn: &mut AnyConnection,
    pins: &PinChecker<'_>,
    row: &Token,
    token_realms: &[String],
    pass: &str,
    user: Option<(&ResolvedUser, &UserContext)>,
    base_ctx: &CheckContext<'static>,
    options: &CheckOptions,
    transaction_length: Option<usize>,
) -> Result<TokenRun> {
    let state = match token_model::state_of(row) {
        Ok(state) => state,
        Err(error) => {
            tracing::warn!(serial = %row.serial, %error, "token skipped");
            return Ok(TokenRun::skipped(
                TokenState::default(),
                SkipReason::BadTokenData(error.to_string()),
            ));
        }
    };
    if let Some((user, _)) = user {
        let realm = user.realm.to_lowercase();
        if !token_realms.is_empty() && !realm.is_empty() && !token_realms.contains(&realm) {
            return Ok(TokenRun::skipped(state, SkipReason::RealmMismatch));
        }
    }
    let Some(kind) = token_model::kind_of(row) else {
        tracing::warn!(serial = %row.serial, token_type = %row.token_type, "unknown token type");
        return Ok(TokenRun::skipped(state, SkipReason::UnknownTokenType));
    };
    let config = request.config;
    let subject = match user {
        Some((_, subject)) => subject.clone(),
        None => match token_realm_subject(config, token_realms) {
            Some(subject) => subject,
            None => {
                return Ok(TokenRun::skipped(
                    state,
                    SkipReason::BadTokenData(SEVERAL_TOKEN_REALMS.to_owned()),
                ));
            }
        },
    };
    let otppin = match request.policies.otppin(&subject) {
        Ok(mode) => mode,
        Err(error) => {
            tracing::warn!(serial = %row.serial, %error, "otppin policy unusable");
            let mut run = TokenRun::skipped(state, SkipReason::BadTokenData(error.to_string()));
            run.info = Some(error.to_string());
            return Ok(run);
        }
    };
    let (disable_on_exceed, delete_on_exceed) =
        request
            .policies
            .exceed_actions(config, user.map(|(_, subject)| subject), token_realms);
    let ctx = CheckContext {
        otppin,
        disable_on_exceed,
        ..*base_ctx
    };
    let secret = match token_model::secret_of(row, &request.app.security) {
        Ok(secret) => secret,
        Err(error) => {
            return Ok(TokenRun::skipped(
                state,
                SkipReason::BadTokenData(error.to_string()),
            ));
        }
    };
    let pin_check = |pin: &str| pins.matches(otppin, row, pin);
    let mut run = TokenRun {
        checked: CheckedToken {
            verdict: Verdict::Invalid,
            state: state.clone(),
        },
        otppin,
        challenge_response: false,
        challenges: None,
        answered: Vec::new(),
        delete_on_exceed,
        info: None,
    };
    let challenge_response = kind != TokenKind::Spass
        && request
            .policies
            .challenge_response(&subject, &row.token_type);
    if !challenge_response {
        run.checked = check_token(&state, &secret, pass, &pin_check, &ctx);
        return Ok(run);
    }

    run.challenge_response = true;
    if let (Some(base), Some(length)) = (options.transaction_base(), transaction_length) {
        // An answer to a challenge: the pass is the OTP alone.
        let challenges = request.challenges.of_token(conn, row, None)?;
        let open: Vec<StoredChallenge> = challenges
            .open()
            .filter(|challenge| in_transaction(challenge, base, length))
            .cloned()
            .collect();
        run.challenges = Some(challenges);
        let otp_only = CheckContext {
            otppin: OtpPinMode::OnlyOtp,
            ..ctx
        };
        let checked = check_token(&state, &secret, pass, &|_: &str| true, &otp_only);
        run.checked = match checked.verdict {
            Verdict::Skipped(_) => checked,
            Verdict::Valid { .. } if !open.is_empty() => {
                run.answered = open;
                checked
            }
            _ if open.is_empty() => CheckedToken {
                verdict: Verdict::Invalid,
                state,
            },
            _ => CheckedToken {
                verdict: Verdict::Invalid,
                state: checked.state,
            },
        };
        return Ok(run);
    }
    let checked = check_token(&state, &secret, pass, &pin_check, &ctx);
    let triggers = match checked.verdict {
        Verdict::Valid { .. } | Verdict::Skipped(_) => false,
        _ => {
            let needs_data = !matches!(kind, TokenKind::Hmac | TokenKind::Totp);
            (!needs_data || options.challenge_data) && pins.pin_alone_matches(otppin, row, pass)
        }
    };
    run.checked = if triggers {
        CheckedToken {
            verdict: Verdict::Challenge,
            state: checked.state,
        }
    } else {
        checked
    };
    Ok(run)
}

/// `detail.auth_info` of a success: the lengths of PIN and OTP in the pass.
fn auth_info(row: &Token, pass: &str, prepend_pin: bool, otppin: OtpPinMode) -> Value {
    let characters = |text: &str| text.chars().count();
    if token_model::kind_of(row) == Some(TokenKind::Spass) {
        return json!({"auth_info": [["pin_length", characters(pass)]]});
    }
    let (pin, otp) = match otppin {
        OtpPinMode::OnlyOtp => ("", pass),
        _ => split_pass(pass, u32::try_from(row.otp_len).unwrap_or(6), prepend_pin),
    };
    let pin_entry = json!(["pin_length", characters(pin)]);
    let otp_entry = json!(["otp_length", characters(otp)]);
    let entries = if prepend_pin || otppin == OtpPinMode::OnlyOtp {
        vec![pin_entry, otp_entry]
    } else {
        vec![otp_entry, pin_entry]
    };
    json!({ "auth_info": entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_names_several_tokens_space_joined_and_truncated() {
        let mut one = Token::new("SERIALNUMBER0001", "HMAC");
        one.id = 1;
        let two = Token::new("SERIALNUMBER0002", "HMAC");
        let three = Token::new("SERIALNUMBER0003", "totp");
        let mut trail = AuditTrail::default();
        trail.name_tokens(&[&one, &two, &three]);
        assert_eq!(trail.serial, "SERIALNUMBER0001 SERIALNUMBER");
        assert_eq!(trail.serial.len(), 29);
        assert_eq!(trail.token_type, "HMAC totp");
        trail.name_tokens(&[]);
        assert!(trail.serial.is_empty() && trail.token_type.is_empty());
    }

    #[test]
    fn auth_info_orders_pin_and_otp_by_prepend_pin() {
        let row = Token::new("S", "HMAC");
        assert_eq!(
            auth_info(&row, "pin1755224", true, OtpPinMode::TokenPin),
            json!({"auth_info": [["pin_length", 4], ["otp_length", 6]]})
        );
        assert_eq!(
            auth_info(&row, "755224pin1", false, OtpPinMode::TokenPin),
            json!({"auth_info": [["otp_length", 6], ["pin_length", 4]]})
        );
        let spass = Token::new("S", "spass");
        assert_eq!(
            auth_info(&spass, "secret", true, OtpPinMode::TokenPin),
            json!({"auth_info": [["pin_length", 6]]})
        );
    }

    #[test]
    fn last_access_is_recorded_only_when_configured() {
        let with = |value: &str| {
            SystemConfig::from_entries(
                None,
                vec![linotp_store::config::ConfigEntry {
                    key: "linotp.token.last_access".into(),
                    value: value.into(),
                    typ: None,
                    description: None,
                }],
            )
        };
        assert!(!records_last_access(&SystemConfig::default()));
        assert!(!records_last_access(&with("False")));
        assert!(records_last_access(&with("True")));
        assert!(records_last_access(&with("%Y-%m-%d")));
    }

    #[test]
    fn options_of_check_give_way_to_a_challenge_parameter() {
        let params = Params::from_pairs([
            ("serial", "S1"),
            ("transactionid", "123456789012345.01"),
            ("auth_info", "True"),
        ]);
        let options = CheckOptions::for_check(&params);
        assert_eq!(options.serial.as_deref(), Some("S1"));
        assert!(options.auth_info && !options.challenge_data);
        assert_eq!(options.transaction_base(), Some("123456789012345"));
        let with_state = Params::from_pairs([("state", "1"), ("transactionid", "2")]);
        assert_eq!(
            CheckOptions::for_check(&with_state)
                .transaction_id
                .as_deref(),
            Some("1")
        );
        let challenge = Params::from_pairs([("serial", "S1"), ("challenge", "data to sign")]);
        let options = CheckOptions::for_check(&challenge);
        assert!(options.serial.is_none() && options.challenge_data);
        assert!(CheckOptions::from_params(&challenge).serial.is_some());
    }

    #[test]
    fn python_repr_writes_dicts_like_python() {
        let value = json!({"transactions": {"1": {"received_tan": false, "message": "it's", "n": 0, "x": null}}});
        assert_eq!(
            python_repr(&value),
            "{'transactions': {'1': {'received_tan': False, 'message': \"it's\", 'n': 0, 'x': None}}}"
        );
    }

    #[test]
    fn detail_merges_deeply_and_appends_new_keys() {
        let mut detail = json!({"a": 1, "nested": {"x": 1}});
        deep_merge(&mut detail, json!({"nested": {"y": 2}, "b": 2}));
        assert_eq!(detail, json!({"a": 1, "nested": {"x": 1, "y": 2}, "b": 2}));
        let keys: Vec<&String> = detail.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["a", "nested", "b"]);
    }
}
