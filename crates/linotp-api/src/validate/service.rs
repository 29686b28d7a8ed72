//! The validation service: LinOTP's `checkUserPass`, `checkSerialPass` and `checkTokenList`
//! over our store, synchronous (it runs inside [`App::with_conn`]).
//!
//! Order of decisions (validate.md §5–6): the user must exist (`PassOnUserNotFound`), then
//! the user's tokens (or the one named by `serial`) are collected (`PassOnUserNoToken` when
//! there are none), each token is pre-checked (realm, type) and checked by
//! `linotp_core::check_token`, `linotp_core::finish` decides, and [`super::persist`] stores
//! the result with a compare-and-set on the winner's counter.

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::{DateTime, Local, NaiveDateTime, Offset, TimeZone};
use linotp_core::{
    CheckContext, CheckedToken, Decision, OtpPinMode, SkipReason, TokenKind, TokenState, Verdict,
    check_token, finish, split_pass,
};
use linotp_store::AnyConnection;
use linotp_store::tokens::{self, Token};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::persist::{self, CheckedRow, Committed};
use super::policy;
use crate::app::App;
use crate::audit::AuditEvent;
use crate::error::{ApiError, Result};
use crate::params::Params;
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

/// What a check decided.
#[derive(Debug)]
pub struct CheckOutcome {
    /// `result.value`: authenticated.
    pub accepted: bool,
    /// The reply's `detail` (`auth_info`; challenge data later).
    pub detail: Option<Value>,
    /// What LinOTP raises instead of answering (missing `pass`, several tokens matched, …):
    /// each endpoint turns it into its own failure reply.
    pub raised: Option<ApiError>,
    /// The audit fields.
    pub audit: AuditTrail,
}

impl CheckOutcome {
    fn answered(accepted: bool, detail: Option<Value>, audit: AuditTrail) -> CheckOutcome {
        CheckOutcome {
            accepted,
            detail,
            raised: None,
            audit,
        }
    }

    fn raised(error: ApiError, mut audit: AuditTrail) -> CheckOutcome {
        if let ApiError::Store(cause) = &error {
            tracing::error!(error = %cause, "validation failed on the database");
        }
        audit.info = error.message();
        CheckOutcome {
            accepted: false,
            detail: None,
            raised: Some(error),
            audit,
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
}

impl CheckOptions {
    /// The options of a request.
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
        }
    }
}

/// The `pass` parameter, wiped from memory when dropped.
fn pass_of(params: &Params) -> Option<Zeroizing<String>> {
    params
        .optional("pass")
        .map(|pass| Zeroizing::new(pass.into_owned()))
}

/// `/validate/check` (and simplecheck, samlcheck): user + pass.
pub fn check_user_pass(app: &App, conn: &mut AnyConnection, params: &Params) -> CheckOutcome {
    let mut audit = AuditTrail::default();
    match check_user_pass_inner(app, conn, params, &mut audit) {
        Ok((accepted, detail)) => CheckOutcome::answered(accepted, detail, audit),
        Err(error) => CheckOutcome::raised(error, audit),
    }
}

fn check_user_pass_inner(
    app: &App,
    conn: &mut AnyConnection,
    params: &Params,
    audit: &mut AuditTrail,
) -> Result<(bool, Option<Value>)> {
    let config = app.system_config(conn)?;
    let requested = users::requested_user(params, &config);
    audit.user = requested.login.clone();
    audit.realm = requested.realm.clone();
    let options = CheckOptions::from_params(params);
    let pass = pass_of(params);

    if requested.is_empty() {
        return check_without_user(app, conn, &config, &options, pass, audit);
    }
    let resolved = users::resolve_requested(app, &config, conn, &requested)?;
    let Some(user) = resolved else {
        if config.pass_on_user_not_found() {
            audit.action_detail = "authenticated by PassOnUserNotFound".to_owned();
            return Ok((true, None));
        }
        audit.action_detail = "User not found".to_owned();
        return Ok((false, None));
    };
    audit.user = user.login.clone();
    audit.realm = user.realm.clone();

    let mut rows = match &options.serial {
        Some(serial) => tokens::get_by_serial(conn, serial)?.into_iter().collect(),
        None => users::tokens_of(conn, &user)?,
    };
    filter_type(&mut rows, options.token_type.as_deref());
    if rows.is_empty() {
        if config.pass_on_user_no_token() {
            audit.action_detail = "authenticated by PassOnUserNoToken".to_owned();
            return Ok((true, None));
        }
        audit.action_detail = "User has no tokens assigned".to_owned();
        return Ok((false, None));
    }
    let Some(pass) = pass else {
        return Err(ApiError::Parameter("Missing parameter:pass".to_owned()));
    };
    check_token_list(
        app,
        conn,
        &config,
        &rows,
        &pass,
        Some(&user),
        &options,
        audit,
    )
}

/// `check` without a user: LinOTP checks the token named by `serial` alone (like
/// `check_s`). Without a serial there is nothing to check; unlike LinOTP, `PassOnUserNoToken`
/// does not let such an anonymous request pass.
fn check_without_user(
    app: &App,
    conn: &mut AnyConnection,
    config: &SystemConfig,
    options: &CheckOptions,
    pass: Option<Zeroizing<String>>,
    audit: &mut AuditTrail,
) -> Result<(bool, Option<Value>)> {
    let mut rows: Vec<Token> = match &options.serial {
        Some(serial) => tokens::get_by_serial(conn, serial)?.into_iter().collect(),
        None => Vec::new(),
    };
    filter_type(&mut rows, options.token_type.as_deref());
    if rows.is_empty() {
        audit.action_detail = "User has no tokens assigned".to_owned();
        return Ok((false, None));
    }
    let Some(pass) = pass else {
        return Err(ApiError::Parameter("Missing parameter:pass".to_owned()));
    };
    check_token_list(app, conn, config, &rows, &pass, None, options, audit)
}

/// `/validate/check_s`: serial + pass (or the one token of `user`).
pub fn check_serial_pass(app: &App, conn: &mut AnyConnection, params: &Params) -> CheckOutcome {
    let mut audit = AuditTrail::default();
    match check_serial_pass_inner(app, conn, params, &mut audit) {
        Ok((accepted, detail)) => CheckOutcome::answered(accepted, detail, audit),
        Err(error) => CheckOutcome::raised(error, audit),
    }
}

fn check_serial_pass_inner(
    app: &App,
    conn: &mut AnyConnection,
    params: &Params,
    audit: &mut AuditTrail,
) -> Result<(bool, Option<Value>)> {
    let config = app.system_config(conn)?;
    let options = CheckOptions::from_params(params);
    let pass = pass_of(params);
    let mut serial = params.optional("serial").map(|serial| serial.into_owned());
    if serial.is_none() && params.optional("user").is_some() {
        let requested = users::requested_user(params, &config);
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
        // With one token LinOTP would trigger its challenge; no token type does that yet.
        return Err(if rows.len() == 1 {
            ApiError::Parameter("Missing parameter: pass".to_owned())
        } else {
            ApiError::Internal(format!(
                "No token found: unable to create challenge for {}",
                serial.as_deref().unwrap_or("None")
            ))
        });
    };
    check_token_list(app, conn, &config, &rows, &pass, None, &options, audit)
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

/// LinOTP's `checkTokenList`: checks `pass` against every token, decides, stores.
#[allow(clippy::too_many_arguments)]
fn check_token_list(
    app: &App,
    conn: &mut AnyConnection,
    config: &SystemConfig,
    rows: &[Token],
    pass: &str,
    user: Option<&ResolvedUser>,
    options: &CheckOptions,
    audit: &mut AuditTrail,
) -> Result<(bool, Option<Value>)> {
    let now = app.now();
    let otppin = policy::otppin_mode(config, user);
    let ctx = CheckContext {
        now_unix: now,
        local_utc_offset_secs: local_offset(now),
        prepend_pin: config.prepend_pin(),
        otppin,
        auto_resync: config.auto_resync(),
        auto_resync_timeout_secs: config.auto_resync_timeout(),
        reset_fail_count: config.reset_fail_count(),
        disable_on_exceed: policy::disable_on_authentication_exceed(config, user),
        controller: Some("validate"),
    };
    let token_realms = match user {
        Some(_) => {
            let ids: Vec<i32> = rows.iter().map(|row| row.id).collect();
            tokens::realm_names_of(conn, &ids)?
        }
        None => HashMap::new(),
    };
    let mut password_results = HashMap::new();
    let mut checked = Vec::with_capacity(rows.len());
    for row in rows {
        let realms = token_realms.get(&row.id).map(Vec::as_slice).unwrap_or(&[]);
        let verifier = PinVerifier {
            app,
            config,
            user,
            otppin,
            row,
        };
        checked.push(check_one(
            app,
            conn,
            row,
            pass,
            user,
            realms,
            &ctx,
            &verifier,
            &mut password_results,
        ));
    }
    let verdicts: Vec<Verdict> = checked.iter().map(|token| token.verdict.clone()).collect();
    let finished = finish(checked, otppin);
    let checked_rows: Vec<CheckedRow<'_>> = rows
        .iter()
        .zip(&verdicts)
        .map(|(row, verdict)| CheckedRow { row, verdict })
        .collect();
    let access_time = records_last_access(config)
        .then(|| naive_utc(now))
        .flatten();
    let committed = persist::persist(conn, &checked_rows, &finished, access_time)?;

    let pick = |indices: &[usize]| -> Vec<&Token> {
        indices
            .iter()
            .filter_map(|&index| rows.get(index))
            .collect()
    };
    match &finished.decision {
        Decision::Success { token } => {
            let Some(row) = rows.get(*token) else {
                return Ok((false, None));
            };
            audit.name_tokens(&[row]);
            if committed == Committed::CounterMoved {
                audit.action_detail = COUNTER_MOVED.to_owned();
                return Ok((false, None));
            }
            audit.action_detail = match user {
                Some(user) => {
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
            let detail = options
                .auth_info
                .then(|| auth_info(row, pass, config.prepend_pin(), otppin));
            Ok((true, detail))
        }
        Decision::MultipleValid { tokens } => {
            audit.name_tokens(&pick(tokens));
            audit.action_detail = finished
                .action_detail
                .clone()
                .unwrap_or_else(|| "Multiple valid tokens found!".to_owned());
            Err(ApiError::MultipleTokenMatch)
        }
        Decision::Challenge { tokens } | Decision::Failed { tokens } => {
            // Challenges are not created yet (see `super::challenge`): a challenge decision
            // cannot occur, and would answer like a failure.
            audit.name_tokens(&pick(tokens));
            audit.action_detail = finished
                .action_detail
                .clone()
                .unwrap_or_else(|| "no token found!".to_owned());
            Ok((false, None))
        }
    }
}

/// What the PIN part of a pass is checked against for one token.
struct PinVerifier<'a> {
    app: &'a App,
    config: &'a SystemConfig,
    user: Option<&'a ResolvedUser>,
    otppin: OtpPinMode,
    row: &'a Token,
}

impl PinVerifier<'_> {
    /// Checks `pin`. With `otppin=1` the user's directory password is asked once per
    /// distinct candidate in a request (LinOTP's `pin_match` cache), keyed by its SHA-256.
    fn matches(
        &self,
        conn: &RefCell<&mut AnyConnection>,
        results: &RefCell<&mut HashMap<Vec<u8>, bool>>,
        pin: &str,
    ) -> bool {
        if self.otppin != OtpPinMode::UserPassword {
            return token_model::pin_matches(self.row, self.app.security.as_ref(), pin);
        }
        let Some(user) = self.user else {
            tracing::info!("otppin=1 needs a user; the request names none");
            return false;
        };
        let key = ring::digest::digest(&ring::digest::SHA256, pin.as_bytes())
            .as_ref()
            .to_vec();
        if let Some(known) = results.borrow().get(&key) {
            return *known;
        }
        let Ok(mut conn) = conn.try_borrow_mut() else {
            return false;
        };
        let matched = users::check_password_in(self.app, self.config, &mut conn, user, pin)
            .unwrap_or_else(|error| {
                tracing::warn!(%error, "user password check failed");
                false
            });
        results.borrow_mut().insert(key, matched);
        matched
    }
}

fn skipped(state: TokenState, reason: SkipReason) -> CheckedToken {
    CheckedToken {
        verdict: Verdict::Skipped(reason),
        state,
    }
}

#[allow(clippy::too_many_arguments)]
fn check_one(
    app: &App,
    conn: &mut AnyConnection,
    row: &Token,
    pass: &str,
    user: Option<&ResolvedUser>,
    token_realms: &[String],
    ctx: &CheckContext<'_>,
    verifier: &PinVerifier<'_>,
    password_results: &mut HashMap<Vec<u8>, bool>,
) -> CheckedToken {
    let state = match token_model::state_of(row) {
        Ok(state) => state,
        Err(error) => {
            tracing::warn!(serial = %row.serial, %error, "token skipped");
            return skipped(
                TokenState::default(),
                SkipReason::BadTokenData(error.to_string()),
            );
        }
    };
    if let Some(user) = user {
        let realm = user.realm.to_lowercase();
        if !token_realms.is_empty() && !realm.is_empty() && !token_realms.contains(&realm) {
            return skipped(state, SkipReason::RealmMismatch);
        }
    }
    if token_model::kind_of(row).is_none() {
        tracing::warn!(serial = %row.serial, token_type = %row.token_type, "unknown token type");
        return skipped(state, SkipReason::UnknownTokenType);
    }
    let secret = match token_model::secret_of(row, &app.security) {
        Ok(secret) => secret,
        Err(error) => {
            return skipped(state, SkipReason::BadTokenData(error.to_string()));
        }
    };
    let conn = RefCell::new(conn);
    let results = RefCell::new(password_results);
    let pin_check = |pin: &str| verifier.matches(&conn, &results, pin);
    check_token(&state, &secret, pass, &pin_check, ctx)
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
}
