//! Token settings: `/admin/set` (every LinOTP setting), `/admin/setPin` (mOTP device PIN)
//! and `/admin/setValidity` (usage and validity limits of many tokens).

use std::collections::BTreeMap;

use axum::response::{IntoResponse, Response};
use linotp_core::{InfoValue, TokenKind, parse_validity_date};
use linotp_crypto::token_secrets;
use linotp_store::tokens::{self, Token};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::lifecycle::{describe_tokens, set_pin as store_pin};
use super::{
    Access, Ctx, admin_handler, authorize, authorize_token, joined, store_info, token_info,
    type_name,
};
use crate::error::{ApiError, Result, codes};
use crate::params::{Params, parse_python_int};
use crate::pyfmt::python_str_repr;
use crate::reply::{JsonReply, reply_id};

admin_handler!(
    /// `POST /admin/set`.
    set,
    "admin/set",
    Access::Write,
    reply_id::DEFAULT,
    set_settings
);
admin_handler!(
    /// `POST /admin/setPin`.
    set_pin,
    "admin/setPin",
    Access::Write,
    reply_id::VALIDATE,
    set_device_pin
);
admin_handler!(
    /// `POST /admin/setValidity`.
    set_validity,
    "admin/setValidity",
    Access::Write,
    reply_id::VALIDATE,
    set_token_validity
);

/// The `/admin/set` usage text (LinOTP's string literal with its line continuations).
fn usage_text() -> String {
    let names = [
        "pin",
        "MaxFailCount",
        "SyncWindow",
        "OtpLen",
        "CounterWindow",
        "hashlib",
        "timeWindow",
        "timeStep",
        "timeShift",
        "countAuthSuccessMax",
        "countAuthSuccess",
        "countAuth",
        "countAuthMax",
        "validityPeriodStart",
        "validityPeriodEnd",
        "description",
        "phone",
    ];
    let mut text = "set: parameters are".to_owned();
    for name in names {
        text.push_str("        ");
        text.push_str(name);
    }
    text.push_str("        ");
    format!("Usage: {text}")
}

/// `ValueError(<message>)` as Python's `repr` prints it.
fn value_error(message: &str) -> String {
    format!("ValueError({})", python_str_repr(message))
}

/// LinOTP's `/admin/set` error: `[set] setting <X> failed: <repr>` with the characters a
/// JavaScript alert would choke on replaced.
fn set_failure(setting: &str, repr: &str) -> ApiError {
    let cleaned: String = repr
        .chars()
        .map(|c| match c {
            '"' => '|',
            '\'' => ':',
            '&' => '+',
            '>' => ']',
            '<' => '[',
            other => other,
        })
        .collect();
    ApiError::Internal(format!("[set] setting {setting} failed: {cleaned}"))
}

fn int_setting(setting: &str, text: &str) -> Result<i64> {
    parse_python_int(text).ok_or_else(|| {
        set_failure(
            setting,
            &value_error(&format!(
                "invalid literal for int() with base 10: {}",
                python_str_repr(text)
            )),
        )
    })
}

/// An integer setting kept in a `Token` column: lower-case parameter, reply name, setter.
type ColumnSetting = (&'static str, &'static str, fn(&mut Token, i32));

fn to_i32(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}

/// The tokens one `/admin/set` call changes, by id, written back at the end.
struct Touched {
    rows: BTreeMap<i32, Token>,
    /// Ids of the tokens LinOTP's `get_tokens(user, serial)` finds, in order.
    targets: Vec<i32>,
}

impl Touched {
    fn targets_mut(&mut self) -> impl Iterator<Item = &mut Token> {
        let targets = &self.targets;
        self.rows
            .values_mut()
            .filter(move |token| targets.contains(&token.id))
    }

    fn set_info(&mut self, key: &str, value: &InfoValue) -> Result<usize> {
        let mut count = 0;
        for token in self.targets_mut() {
            let mut info = token_info(token)?;
            info.set(key, value.clone());
            store_info(token, &info);
            count += 1;
        }
        Ok(count)
    }
}

fn set_settings(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let lower = params.lowercased();
    let serial = lower.optional("serial").map(|serial| serial.into_owned());
    ctx.audit.serial = serial.clone().unwrap_or_default();
    let user = ctx.requested_user(params);
    let realm = (!user.realm.is_empty()).then_some(user.realm.as_str());
    if lower.contains("pin") {
        authorize(ctx, "setOTPPIN", realm)?;
    }
    authorize(ctx, "set", realm)?;

    let found = ctx.tokens_of(serial.as_deref(), &user)?;
    for token in &found {
        if lower.contains("pin") {
            authorize_token(ctx, "setOTPPIN", token)?;
        }
        authorize_token(ctx, "set", token)?;
    }
    let mut touched = Touched {
        targets: found.iter().map(|token| token.id).collect(),
        rows: found
            .iter()
            .map(|token| (token.id, token.clone()))
            .collect(),
    };
    let targets = found.len();
    let mut result = Map::new();
    let mut applied = 0usize;
    let mut detail = String::new();

    if let Some(pin) = lower.get("pin").and_then(value_text) {
        let pin = Zeroizing::new(pin);
        let encrypt = lower
            .optional("encryptpin")
            .is_some_and(|value| value.eq_ignore_ascii_case("true"));
        let by_serial = serial.as_deref().is_some_and(|serial| !serial.is_empty());
        let ids = touched.targets.clone();
        for id in ids {
            if let Some(token) = touched.rows.get_mut(&id) {
                let encrypt =
                    encrypt || super::pin_policy::encrypt_on_set(ctx, &user, token, by_serial)?;
                store_pin(ctx, token, &pin, encrypt)?;
            }
        }
        result.insert("set pin".to_owned(), Value::from(targets));
        applied += 1;
        detail.push_str("pin, ");
    }
    let column_settings: [ColumnSetting; 2] = [
        ("maxfailcount", "MaxFailCount", |token, value| {
            token.max_fail = value
        }),
        ("syncwindow", "SyncWindow", |token, value| {
            token.sync_window = value
        }),
    ];
    for (key, name, apply) in column_settings {
        if let Some(text) = lower.optional(key) {
            let value = int_setting(name, &text)?;
            for token in touched.targets_mut() {
                apply(token, to_i32(value));
            }
            result.insert(format!("set {name}"), Value::from(targets));
            applied += 1;
            detail.push_str(&format!("{}={value}, ", lower_first(name)));
        }
    }
    if let Some(description) = lower.get("description").and_then(value_text) {
        for token in touched.targets_mut() {
            token.description.clone_from(&description);
        }
        result.insert("set description".to_owned(), Value::from(targets));
        applied += 1;
        detail.push_str(&format!("description={}, ", python_str_repr(&description)));
    }
    let more_columns: [ColumnSetting; 2] = [
        ("counterwindow", "CounterWindow", |token, value| {
            token.count_window = value
        }),
        ("otplen", "OtpLen", |token, value| token.otp_len = value),
    ];
    for (key, name, apply) in more_columns {
        if let Some(text) = lower.optional(key) {
            let value = int_setting(name, &text)?;
            for token in touched.targets_mut() {
                apply(token, to_i32(value));
            }
            result.insert(format!("set {name}"), Value::from(targets));
            applied += 1;
            detail.push_str(&format!("{}={value}, ", lower_first(name)));
        }
    }
    if let Some(hashlib) = lower.get("hashlib").and_then(value_text) {
        let count = touched.set_info("hashlib", &InfoValue::from(hashlib.as_str()))?;
        result.insert("set hashlib".to_owned(), Value::from(count));
        applied += 1;
        detail.push_str(&format!("hashlib={hashlib}, "));
    }
    if let Some(text) = lower.optional("timewindow") {
        let value = int_setting("timeWindow", &text)?;
        let count = touched.set_info("timeWindow", &InfoValue::from(value))?;
        result.insert("set timeWindow".to_owned(), Value::from(count));
        applied += 1;
        detail.push_str(&format!("timeWindow={value}, "));
    }
    if let Some(text) = lower.optional("timestep") {
        let value = int_setting("timeStep", &text)?;
        set_time_step(ctx, &mut touched, serial.as_deref(), value)?;
        result.insert("set timeStep".to_owned(), Value::from(1));
        applied += 1;
        detail.push_str(&format!("timeStep={value}, "));
    }
    if let Some(text) = lower.optional("timeshift") {
        let value = int_setting("timeShift", &text)?;
        let count = touched.set_info("timeShift", &InfoValue::from(value))?;
        result.insert("set timeShift".to_owned(), Value::from(count));
        applied += 1;
        detail.push_str(&format!("timeShift={value}, "));
    }
    for (key, name, info_key) in [
        ("countauth", "countAuth", "count_auth"),
        ("countauthmax", "countAuthMax", "count_auth_max"),
        ("countauthsuccess", "countAuthSuccess", "count_auth_success"),
        (
            "countauthsuccessmax",
            "countAuthSuccessMax",
            "count_auth_success_max",
        ),
    ] {
        if let Some(text) = lower.optional(key) {
            let value = int_setting(name, &text)?;
            let count = touched.set_info(info_key, &InfoValue::from(value))?;
            result.insert(format!("set {name}"), Value::from(count));
            applied += count;
            detail.push_str(&format!("{name}={value}, "));
        }
    }
    for (key, name, info_key) in [
        (
            "validityperiodstart",
            "validityPeriodStart",
            "validity_period_start",
        ),
        (
            "validityperiodend",
            "validityPeriodEnd",
            "validity_period_end",
        ),
    ] {
        if let Some(text) = lower.optional(key) {
            if !touched.targets.is_empty() && parse_validity_date(&text).is_err() {
                return Err(set_failure(
                    name,
                    &value_error(&format!(
                        "time data {} does not match format '%d/%m/%y %H:%M'",
                        python_str_repr(&text)
                    )),
                ));
            }
            let count = touched.set_info(info_key, &InfoValue::from(text.as_ref()))?;
            result.insert(format!("set {name}"), Value::from(count));
            applied += count;
            detail.push_str(&format!("{name}={text}, "));
        }
    }
    if let Some(phone) = lower.get("phone").and_then(value_text) {
        let count = touched.set_info("phone", &InfoValue::from(phone.as_str()))?;
        result.insert("set phone".to_owned(), Value::from(count));
        applied += count;
        detail.push_str(&format!("phone={phone}, "));
    }

    if applied == 0 {
        return Err(ApiError::Coded {
            id: codes::USAGE,
            description: usage_text(),
        });
    }
    for token in touched.rows.values() {
        tokens::update(ctx.conn, token)?;
    }

    let written: Vec<Token> = touched.rows.values().cloned().collect();
    let mut owners = Vec::new();
    let mut token_realms = Vec::new();
    for token in &found {
        owners.push(ctx.owner_login(token)?);
        token_realms.extend(ctx.realms_of(token)?);
    }
    ctx.audit.action_detail = detail;
    describe_tokens(ctx, serial.as_deref(), &user, &found, &owners, token_realms);
    ctx.audit.success = true;
    tracing::debug!(tokens = written.len(), "token settings changed");
    Ok(JsonReply::result(Value::Object(result)).into_response())
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(true) => Some("True".to_owned()),
        Value::Bool(false) => Some("False".to_owned()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// `timeStep`: LinOTP sets it on the one token with the serial; a TOTP token accepts only
/// 30 or 60 and has its counter rescaled to the new step.
fn set_time_step(
    ctx: &mut Ctx<'_>,
    touched: &mut Touched,
    serial: Option<&str>,
    value: i64,
) -> Result<()> {
    let serial_text = serial.unwrap_or("None");
    let matching = match serial {
        Some(serial) => super::tokens_by_serial(ctx.conn, serial)?,
        None => Vec::new(),
    };
    let token = match matching.as_slice() {
        [token] => token.clone(),
        [] => {
            return Err(set_failure(
                "timeStep",
                &format!(
                    "TokenAdminError(description={}, id=1102)",
                    python_str_repr(&format!("No token with serial {serial_text} found"))
                ),
            ));
        }
        _ => {
            return Err(set_failure(
                "timeStep",
                &format!(
                    "TokenAdminError(description={}, id=1101)",
                    python_str_repr(&format!("multiple tokens found with serial {serial_text}!"))
                ),
            ));
        }
    };
    let row = touched.rows.entry(token.id).or_insert(token);
    let mut info = token_info(row)?;
    if super::kind(row) == Some(TokenKind::Totp) {
        if value != 30 && value != 60 {
            return Err(set_failure(
                "timeStep",
                &value_error("timeStep for totp token must be either 30 or 60!"),
            ));
        }
        let old_step = info.time_step().unwrap_or(30).max(1);
        let rescaled = i64::from(row.count) * old_step / value;
        row.count = to_i32(rescaled);
    }
    info.set("timeStep", InfoValue::from(value));
    store_info(row, &info);
    Ok(())
}

fn set_device_pin(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let lower = params.lowercased();
    let serial = lower.required("serial")?.into_owned();
    ctx.audit.serial.clone_from(&serial);
    let token = ctx.token(&serial)?;
    let kind_name = type_name(&token);
    if kind_name != "mOTP" && kind_name != "ocra2" {
        return Err(ApiError::Internal(format!(
            "This type of pin cannot be set for a {kind_name} token."
        )));
    }
    ctx.audit.token_type.clone_from(&kind_name);
    ctx.audit.user = ctx.owner_login(&token)?;
    ctx.audit.realm = joined(ctx.realms_of(&token)?);
    let user_pin = Zeroizing::new(lower.required("userpin")?.into_owned());
    let action = if kind_name == "mOTP" {
        "setMOTPPIN"
    } else {
        "setOCRAPIN"
    };
    authorize(ctx, action, None)?;

    let mut changed = 0;
    for mut token in super::tokens_by_serial(ctx.conn, &serial)? {
        authorize_token(ctx, action, &token)?;
        let stored = token_secrets::encrypt_user_pin(ctx.app.security.as_ref(), &user_pin)?;
        token.pin_user = stored.pin_user;
        token.pin_user_iv = stored.pin_user_iv;
        tokens::update(ctx.conn, &token)?;
        changed += 1;
    }
    ctx.audit.action_detail.push_str("userpin, ");
    ctx.audit.success = changed > 0;
    let mut value = Map::new();
    value.insert("set userpin".to_owned(), Value::from(changed));
    Ok(JsonReply::result(Value::Object(value)).into_response())
}

/// `unlimited` removes a limit; anything else must be an integer.
enum Limit {
    Unlimited,
    Value(i64),
}

fn limit_of(params: &Params, key: &str) -> Result<Option<Limit>> {
    let Some(text) = params.optional(key) else {
        return Ok(None);
    };
    if text == "unlimited" {
        return Ok(Some(Limit::Unlimited));
    }
    parse_python_int(&text)
        .map(|value| Some(Limit::Value(value)))
        .ok_or_else(|| ApiError::InvalidInteger {
            name: key.to_owned(),
            shown: python_str_repr(&text),
        })
}

/// Unix seconds as LinOTP's validity text (`%d/%m/%y %H:%M`, UTC).
fn validity_text(seconds: i64) -> Result<String> {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|time| time.format("%d/%m/%y %H:%M").to_string())
        .ok_or_else(|| ApiError::Internal("year is out of range".to_owned()))
}

fn set_token_validity(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    ctx.audit.info = "set token validity".to_owned();
    let lower = params.lowercased();
    authorize(ctx, "set", None)?;
    let count_auth_success_max = limit_of(&lower, "countauthsuccessmax")?;
    let count_auth_max = limit_of(&lower, "countauthmax")?;
    let start = limit_of(&lower, "validityperiodstart")?;
    let end = limit_of(&lower, "validityperiodend")?;
    if !params.contains("tokens") {
        return Err(ApiError::Parameter(
            "missing parameter: tokens[]".to_owned(),
        ));
    }
    let serials: Vec<String> = params
        .list("tokens")
        .into_iter()
        .map(|serial| serial.into_owned())
        .collect();
    ctx.audit.serial = serials.join(" ");

    let mut owners = Vec::new();
    let mut token_realms = Vec::new();
    let mut types = Vec::new();
    for serial in &serials {
        for mut token in super::tokens_by_serial(ctx.conn, serial)? {
            authorize_token(ctx, "set", &token)?;
            let mut info = token_info(&token)?;
            for (limit, key) in [
                (&count_auth_max, "count_auth_max"),
                (&count_auth_success_max, "count_auth_success_max"),
            ] {
                match limit {
                    Some(Limit::Unlimited) => {
                        info.remove(key);
                    }
                    Some(Limit::Value(value)) => info.set(key, InfoValue::from(*value)),
                    None => {}
                }
            }
            for (limit, key) in [
                (&start, "validity_period_start"),
                (&end, "validity_period_end"),
            ] {
                match limit {
                    Some(Limit::Unlimited) => {
                        info.remove(key);
                    }
                    Some(Limit::Value(seconds)) => {
                        info.set(key, InfoValue::from(validity_text(*seconds)?));
                    }
                    None => {}
                }
            }
            store_info(&mut token, &info);
            tokens::update(ctx.conn, &token)?;
            token_realms.extend(ctx.realms_of(&token)?);
            owners.push(ctx.owner_login(&token)?);
            types.push(type_name(&token));
        }
    }
    ctx.audit.success = true;
    ctx.audit.token_type = joined(&types);
    ctx.audit.user = joined(&owners);
    ctx.audit.realm = joined(&token_realms);
    let listed = format!(
        "[{}] ",
        serials
            .iter()
            .map(|serial| python_str_repr(serial))
            .collect::<Vec<_>>()
            .join(", ")
    );
    ctx.audit.action_detail = listed.chars().take(80).collect();
    Ok(
        JsonReply::result(Value::Array(serials.into_iter().map(Value::from).collect()))
            .into_response(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_errors_are_escaped_like_linotp() {
        let error = int_setting("MaxFailCount", "abc").unwrap_err();
        assert_eq!(error.code(), -311);
        assert_eq!(
            error.message(),
            "[set] setting MaxFailCount failed: ValueError(|invalid literal for int() with base 10: :abc:|)"
        );
    }

    #[test]
    fn usage_lists_every_setting_with_linotps_spacing() {
        let usage = usage_text();
        assert!(usage.starts_with("Usage: set: parameters are        pin        MaxFailCount"));
        assert!(usage.ends_with("description        phone        "));
    }

    #[test]
    fn validity_text_is_utc() {
        assert_eq!(validity_text(1_735_689_600).unwrap(), "01/01/25 00:00");
    }
}
