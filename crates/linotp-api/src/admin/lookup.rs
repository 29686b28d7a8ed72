//! Lookups and counter work: `resync`, `check_serial`, `getSerialByOtp`, `getTokenOwner`,
//! `checkstatus` and `totp_lookup`.

use axum::response::{IntoResponse, Response};
use linotp_core::{CheckContext, InfoValue, TokenKind, TokenSecret, hotp, resync as core_resync};
use linotp_crypto::token_secrets;
use linotp_policy::RealmRights;
use linotp_store::challenges::{self, Challenge};
use linotp_store::tokens::{
    self, CounterCommit, OwnerFilter, RealmFilter, Token, TokenFilter, TokenListOptions, TokenSort,
};
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;

use super::lifecycle::describe_tokens;
use super::listing::token_fields;
use super::{
    Access, Ctx, admin_handler, authorize, authorize_token, joined, token_info, type_name,
};
use crate::error::{ApiError, Result, codes};
use crate::params::Params;
use crate::pyfmt::python_str_repr;
use crate::reply::{JsonReply, reply_id};
use crate::token_model::{secret_of, state_of, tokeninfo_text};

admin_handler!(
    /// `POST /admin/resync`.
    resync,
    "admin/resync",
    Access::Write,
    reply_id::DEFAULT,
    resync_tokens
);
admin_handler!(
    /// `GET|POST /admin/check_serial`.
    check_serial,
    "admin/check_serial",
    Access::Read,
    reply_id::DEFAULT,
    check_serial_unique
);
admin_handler!(
    /// `GET|POST /admin/getSerialByOtp`.
    get_serial_by_otp,
    "admin/getSerialByOtp",
    Access::Write,
    reply_id::DEFAULT,
    serial_by_otp
);
admin_handler!(
    /// `GET|POST /admin/getTokenOwner`.
    get_token_owner,
    "admin/getTokenOwner",
    Access::Read,
    reply_id::DEFAULT,
    token_owner
);
admin_handler!(
    /// `GET|POST /admin/checkstatus`.
    checkstatus,
    "admin/checkstatus",
    Access::Read,
    reply_id::VALIDATE,
    challenge_status
);
admin_handler!(
    /// `GET|POST /admin/totp_lookup`.
    totp_lookup,
    "admin/totp_lookup",
    Access::Read,
    reply_id::VALIDATE,
    lookup_totp
);

/// The window (in counters or time steps) `getSerialByOtp` searches.
const SERIAL_BY_OTP_WINDOW: i64 = 10;
/// Longest `totp_lookup` window: each step costs an HMAC, so an unbounded window would let
/// one request compute OTPs for hours.
const MAX_LOOKUP_WINDOW_SECS: i64 = 366 * 86_400;

fn check_context(ctx: &Ctx<'_>) -> CheckContext<'static> {
    let mut check = CheckContext::new(ctx.app.now());
    check.reset_fail_count = ctx.config.reset_fail_count();
    check.prepend_pin = ctx.config.prepend_pin();
    check
}

fn resync_tokens(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let serial = params.optional("serial").map(|serial| serial.into_owned());
    ctx.audit.serial = serial.clone().unwrap_or_default();
    let user = ctx.requested_user(params);
    let otp1 = params.required("otp1")?.into_owned();
    let otp2 = params.required("otp2")?.into_owned();
    authorize(
        ctx,
        "resync",
        (!user.realm.is_empty()).then_some(user.realm.as_str()),
    )?;

    let found = ctx.tokens_of(serial.as_deref(), &user)?;
    let check = check_context(ctx);
    let mut synced = false;
    for token in &found {
        if !matches!(super::kind(token), Some(TokenKind::Hmac | TokenKind::Totp)) {
            continue;
        }
        let state = state_of(token)?;
        let secret = secret_of(token, &ctx.app.security)?;
        let Some(next) = core_resync(&state, &secret, &otp1, &otp2, &check)
            .map_err(|error| ApiError::Internal(error.to_string()))?
        else {
            continue;
        };
        let committed = tokens::commit_counter(
            ctx.conn,
            &CounterCommit {
                token_id: token.id,
                expected_count: token.count,
                new_count: clamp(next.count),
                new_fail_count: clamp(next.fail_count),
                new_token_info: Some(tokeninfo_text(token, &next)),
                last_auth_success: None,
                last_auth_match: None,
            },
        )?;
        synced |= committed;
    }
    let mut owners = Vec::new();
    let mut token_realms = Vec::new();
    for token in &found {
        owners.push(ctx.owner_login(token)?);
        token_realms.extend(ctx.realms_of(token)?);
    }
    describe_tokens(ctx, serial.as_deref(), &user, &found, &owners, token_realms);
    ctx.audit.success = synced;
    Ok(JsonReply::result(synced).into_response())
}

fn clamp(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}

fn check_serial_unique(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let serial = params.required("serial")?.into_owned();
    ctx.audit.serial.clone_from(&serial);
    let mut candidate = serial.clone();
    let mut number = 0;
    while !super::tokens_by_serial(ctx.conn, &candidate)?.is_empty() {
        number += 1;
        candidate = format!("{serial}_{number:02}");
    }
    let unique = number == 0;
    ctx.audit.success = true;
    ctx.audit.action_detail = format!(
        "{} - {}",
        if unique { "True" } else { "False" },
        python_str_repr(&candidate)
    );
    Ok(JsonReply::result(json!({"unique": unique, "new_serial": candidate})).into_response())
}

/// Whether `otp` is a current value of the token (LinOTP's `check_otp_exist`); HOTP and
/// TOTP tokens move their counter to the value found.
fn otp_exists(ctx: &mut Ctx<'_>, token: &Token, otp: &str) -> Result<Option<Token>> {
    let Some(kind) = super::kind(token) else {
        return Ok(None);
    };
    match kind {
        TokenKind::Hmac | TokenKind::Totp => {
            let state = state_of(token)?;
            let (TokenSecret::Hmac { key } | TokenSecret::Totp { key }) =
                secret_of(token, &ctx.app.security)?
            else {
                return Ok(None);
            };
            let algorithm = state
                .info
                .hash_algorithm()
                .map_err(|error| ApiError::Internal(error.to_string()))?;
            let digits = state.otp_len;
            let generate = |counter: i64| -> Result<bool> {
                let Ok(counter) = u64::try_from(counter) else {
                    return Ok(false);
                };
                let value = hotp(key.expose(), counter, digits, algorithm)
                    .map_err(|error| ApiError::Internal(error.to_string()))?;
                Ok(bool::from(value.as_bytes().ct_eq(otp.as_bytes())))
            };
            let mut changed = token.clone();
            if kind == TokenKind::Hmac {
                let Some(matched) =
                    first_match(state.count, state.count + SERIAL_BY_OTP_WINDOW, generate)?
                else {
                    return Ok(None);
                };
                changed.count = clamp(matched + 1);
                if ctx.config.reset_fail_count()
                    && token.fail_count < token.max_fail
                    && token.is_active
                {
                    changed.fail_count = 0;
                }
            } else {
                let step = state.info.time_step().unwrap_or(30).max(1);
                let shift = state.info.time_shift().unwrap_or(0);
                let now = ctx.app.now();
                let current = (now + shift).div_euclid(step);
                let start = (current - SERIAL_BY_OTP_WINDOW).max(0);
                let Some(matched) = first_match(start, current + SERIAL_BY_OTP_WINDOW, generate)?
                else {
                    return Ok(None);
                };
                if matched < state.count {
                    return Ok(None);
                }
                let mut info = token_info(token)?;
                let new_shift = (matched * step - now.div_euclid(step) * step) as f64;
                info.set("timeShift", InfoValue::from(new_shift));
                super::store_info(&mut changed, &info);
                changed.count = clamp(matched);
            }
            Ok(Some(changed))
        }
        TokenKind::Password => {
            let matches = token_secrets::verify_pw_token(
                ctx.app.security.as_ref(),
                &token.key_iv,
                &token.key_enc,
                otp,
            )
            .unwrap_or(false);
            Ok(matches.then(|| token.clone()))
        }
        TokenKind::Motp | TokenKind::Spass | TokenKind::DayPassword => Ok(None),
    }
}

fn first_match(
    start: i64,
    end: i64,
    mut matches: impl FnMut(i64) -> Result<bool>,
) -> Result<Option<i64>> {
    for counter in start..end {
        if matches(counter)? {
            return Ok(Some(counter));
        }
    }
    Ok(None)
}

fn serial_by_otp(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let otp = params.required("otp")?.into_owned();
    let token_type = params.optional("type").map(|value| value.into_owned());
    let realm = params.optional("realm").map(|value| value.into_owned());
    let assigned = params.optional("assigned").map(|value| value.into_owned());
    authorize(ctx, "getserial", realm.as_deref())?;

    let filter = TokenFilter {
        token_type,
        owner: (assigned.as_deref() == Some("0")).then_some(OwnerFilter::Unassigned),
        realms: realm.map(|realm| RealmFilter::AnyOf(vec![realm])),
        ..TokenFilter::default()
    };
    let candidates = tokens::list(
        ctx.conn,
        &filter,
        &TokenListOptions {
            sort: TokenSort::Id,
            ..TokenListOptions::default()
        },
    )?
    .tokens;
    let mut matched: Vec<Token> = Vec::new();
    for token in candidates {
        if assigned.as_deref() == Some("1") && token.user_id.is_empty() {
            continue;
        }
        if let Some(changed) = otp_exists(ctx, &token, &otp)? {
            if changed != token {
                tokens::update(ctx.conn, &changed)?;
            }
            matched.push(changed);
        }
    }
    if matched.len() > 1 {
        return Err(ApiError::Coded {
            id: codes::RESOLVER,
            description: "get_token_by_otp: multiple tokens are matching this OTP value!"
                .to_owned(),
        });
    }
    if let Some(token) = matched.first() {
        authorize_found_serial(ctx, token)?;
    }
    let (serial, login, resolver) = match matched.first() {
        Some(token) => {
            ctx.audit.success = true;
            ctx.audit.token_type = type_name(token);
            ctx.audit.user = ctx.owner_login(token)?;
            ctx.audit.realm = joined(ctx.realms_of(token)?);
            (
                token.serial.clone(),
                ctx.owner_login(token)?,
                token
                    .id_res_class
                    .replace("useridresolveree.", "useridresolver."),
            )
        }
        None => {
            ctx.audit.success = false;
            (String::new(), String::new(), String::new())
        }
    };
    ctx.audit.serial.clone_from(&serial);
    Ok(JsonReply::result(json!({
        "success": true,
        "serial": serial,
        "user_login": login,
        "user_resolver": resolver,
    }))
    .into_response())
}

/// LinOTP's `checkPolicyPost("getserial")`: the token an OTP found must be in a realm the
/// admin may search; otherwise the request fails (and its counter move is rolled back).
fn authorize_found_serial(ctx: &mut Ctx<'_>, token: &Token) -> Result<()> {
    let rights = ctx.admin_rights(Some("getserial"));
    if rights == RealmRights::Unrestricted {
        return Ok(());
    }
    let token_realms = ctx.realms_of(token)?;
    if rights.permits_token(&token_realms, false) {
        return Ok(());
    }
    tracing::warn!(admin = %ctx.admin.username, "getSerialByOtp found a token outside the admin's realms");
    Err(ApiError::Policy(
        "You do not have the administrative right to get serials from this realm!".to_owned(),
    ))
}

fn token_owner(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    // LinOTP reads `request_params["serial"]`; its KeyError prints as the quoted name.
    let serial = params
        .optional("serial")
        .ok_or_else(|| ApiError::Internal("'serial'".to_owned()))?
        .into_owned();
    ctx.audit.serial.clone_from(&serial);
    authorize(ctx, "tokenowner", None)?;
    let token = ctx.token(&serial)?;
    authorize_token(ctx, "tokenowner", &token)?;
    let info = if token.user_id.is_empty() {
        None
    } else {
        crate::users::owner_info(
            ctx.app,
            &ctx.config,
            ctx.conn,
            &token.id_res_class,
            &token.user_id,
        )?
    };
    let value = match info.filter(|info| info.iter().next().is_some()) {
        Some(info) => {
            ctx.audit.success = true;
            ctx.audit.token_type = type_name(&token);
            ctx.audit.user = info.get("username").unwrap_or_default().to_owned();
            ctx.audit.realm = joined(ctx.realms_of(&token)?);
            Value::Object(info.to_json())
        }
        None => {
            ctx.audit.success = false;
            Value::Object(Map::new())
        }
    };
    Ok(JsonReply::result(value).into_response())
}

/// The `/admin/checkstatus` usage text (LinOTP's docstring-like literal, kept as it is).
const CHECKSTATUS_USAGE: &str = "Usage: \n            admin/checkstatus: check the token status -\n            for assynchronous verification. Missing parameter:\n            You need to provide one of the parameters \"transactionid\", \"user\" or \"serial\"'\n            ";

fn is_open(challenge: &Challenge) -> bool {
    challenge.session.contains("\"status\": \"open\"")
}

/// A challenge as LinOTP's `Challenge.get_vars(save=True)` shows it.
fn challenge_vars(challenge: &Challenge) -> Value {
    let text_of = |bytes: &Option<Vec<u8>>, legacy: &str| -> String {
        bytes
            .as_ref()
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
            .unwrap_or_else(|| legacy.to_owned())
    };
    let data_text = text_of(&challenge.bdata, &challenge.data);
    let data = serde_json::from_str::<Value>(&data_text).unwrap_or(Value::from(data_text));
    let mut session = serde_json::from_str::<Value>(&challenge.session)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({"status": "open"}));
    if let Some(members) = session.as_object_mut() {
        members.remove("mac");
    }
    json!({
        "id": challenge.id,
        "transid": challenge.transid,
        "challenge": text_of(&challenge.bchallenge, &challenge.challenge),
        "tokenserial": challenge.tokenserial,
        "data": data,
        "timestamp": challenge
            .timestamp
            .map(|time| time.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default(),
        "received_tan": challenge.received_tan,
        "valid_tan": challenge.valid_tan,
        "session": session,
    })
}

fn challenge_status(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    authorize(ctx, "checkstatus", None)?;
    let transid = params
        .optional("transactionid")
        .filter(|value| !value.is_empty())
        .or_else(|| params.optional("state").filter(|value| !value.is_empty()))
        .map(|value| value.into_owned());
    let user = ctx.requested_user(params);
    let serial = params.optional("serial").map(|value| value.into_owned());
    ctx.audit.serial = serial.clone().unwrap_or_default();
    let include_closed = params
        .optional("open")
        .is_some_and(|value| value.eq_ignore_ascii_case("true"));
    if transid.is_none() && user.is_empty() && serial.is_none() {
        return Err(ApiError::Coded {
            id: codes::USAGE,
            description: CHECKSTATUS_USAGE.to_owned(),
        });
    }

    let mut found: Vec<Challenge> = Vec::new();
    let mut add = |list: Vec<Challenge>, open_only: bool| {
        for challenge in list {
            if (!open_only || is_open(&challenge))
                && !found.iter().any(|known| known.id == challenge.id)
            {
                found.push(challenge);
            }
        }
    };
    if let Some(serial) = serial.as_deref().filter(|serial| !serial.is_empty()) {
        add(
            challenges::find_by_serial(ctx.conn, serial)?,
            !include_closed,
        );
    }
    if let Some(transid) = &transid {
        let length = ctx.config.transaction_id_length();
        let list = if transid.len() == length {
            challenges::get_by_transid(ctx.conn, transid)?
                .into_iter()
                .collect()
        } else {
            challenges::find_by_transid_prefix(ctx.conn, &format!("{transid}."))?
        };
        add(list, !include_closed);
    }
    if !user.is_empty() {
        for token in ctx.tokens_of(None, &user)? {
            add(challenges::find_by_serial(ctx.conn, &token.serial)?, true);
        }
    }

    let mut serials: Vec<String> = Vec::new();
    for challenge in &found {
        if !serials.contains(&challenge.tokenserial) {
            serials.push(challenge.tokenserial.clone());
        }
    }
    let mut values = Map::new();
    let mut realms_seen = Vec::new();
    let mut owners = Vec::new();
    let mut types = Vec::new();
    for serial in &serials {
        let mut by_transid = Map::new();
        for challenge in found
            .iter()
            .filter(|challenge| &challenge.tokenserial == serial)
        {
            by_transid.insert(challenge.transid.clone(), challenge_vars(challenge));
        }
        let token = ctx.token(serial)?;
        authorize_token(ctx, "checkstatus", &token)?;
        let token_realms = ctx.realms_of(&token)?;
        let fields = token_fields(&token, Some(&token_realms), false);
        realms_seen.extend(token_realms);
        owners.push(ctx.owner_login(&token)?);
        types.push(type_name(&token));
        values.insert(
            serial.clone(),
            json!({"challenges": Value::Object(by_transid), "tokeninfo": Value::Object(fields)}),
        );
    }
    ctx.audit.success = !values.is_empty();
    ctx.audit.serial = serials.join(" ");
    ctx.audit.token_type = joined(&types);
    ctx.audit.user = if user.is_empty() {
        joined(&owners)
    } else {
        user.login.clone()
    };
    ctx.audit.realm = joined(&realms_seen);
    Ok(JsonReply::result(json!({"values": Value::Object(values)})).into_response())
}

/// LinOTP's `parse_duration`: `1w2d3h4m5s` (also spelled out), or ISO 8601 `P…T…`.
fn parse_duration(text: &str) -> Option<i64> {
    let compact: String = text.split_whitespace().collect();
    if compact.to_uppercase().starts_with('P') {
        return parse_iso_duration(&compact.to_uppercase());
    }
    let lower = compact.to_lowercase();
    let units: [(&[&str], i64); 5] = [
        (&["weeks", "week", "w"], 7 * 86_400),
        (&["days", "day", "d"], 86_400),
        (&["hours", "hour", "h"], 3_600),
        (&["minutes", "minute", "m"], 60),
        (&["seconds", "second", "s"], 1),
    ];
    let mut rest = lower.as_str();
    let mut total = 0i64;
    for (names, seconds) in units {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            continue;
        }
        let after = &rest[digits..];
        let Some(name) = names.iter().find(|name| after.starts_with(**name)) else {
            continue;
        };
        let amount: i64 = rest[..digits].parse().ok()?;
        total = total.checked_add(amount.checked_mul(seconds)?)?;
        rest = &after[name.len()..];
    }
    rest.is_empty().then_some(total)
}

fn parse_iso_duration(text: &str) -> Option<i64> {
    let body = text.strip_prefix('P')?;
    let (date, time) = match body.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (body, None),
    };
    let mut total = 0i64;
    let mut read = |part: &str, units: &[(char, i64)]| -> Option<()> {
        let mut number = String::new();
        let mut unit_index = 0;
        for ch in part.chars() {
            if ch.is_ascii_digit() {
                number.push(ch);
                continue;
            }
            let position = units[unit_index..]
                .iter()
                .position(|(unit, _)| *unit == ch)?;
            unit_index += position + 1;
            let amount: i64 = number.parse().ok()?;
            total = total.checked_add(amount.checked_mul(units[unit_index - 1].1)?)?;
            number.clear();
        }
        number.is_empty().then_some(())
    };
    read(
        date,
        &[
            ('Y', 365 * 86_400),
            ('M', 30 * 86_400),
            ('W', 7 * 86_400),
            ('D', 86_400),
        ],
    )?;
    if let Some(time) = time {
        read(time, &[('H', 3_600), ('M', 60), ('S', 1)])?;
    }
    Some(total)
}

fn lookup_totp(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let serial = params
        .optional("serial")
        .filter(|serial| !serial.is_empty())
        .ok_or_else(|| ApiError::MissingParameter {
            name: "serial".to_owned(),
        })?
        .into_owned();
    ctx.audit.serial.clone_from(&serial);
    let otp = params
        .optional("otp")
        .filter(|otp| !otp.is_empty())
        .ok_or_else(|| ApiError::MissingParameter {
            name: "otp".to_owned(),
        })?
        .into_owned();
    let window_text = params
        .optional("window")
        .map_or_else(|| "24h".to_owned(), |window| window.into_owned());
    authorize(ctx, "totp_lookup", None)?;

    let token = super::tokens_by_serial(ctx.conn, &serial)?
        .into_iter()
        .find(|token| super::kind(token) == Some(TokenKind::Totp));
    let Some(token) = token else {
        ctx.audit.success = false;
        ctx.audit.info = "no token found".to_owned();
        return Ok(JsonReply::result(false).into_response());
    };
    authorize_token(ctx, "totp_lookup", &token)?;
    ctx.audit.token_type = type_name(&token);
    ctx.audit.user = ctx.owner_login(&token)?;
    ctx.audit.realm = joined(ctx.realms_of(&token)?);

    let window = parse_duration(&window_text).ok_or_else(|| {
        ApiError::Internal(format!(
            "must be of type 'duration': {}",
            python_str_repr(&window_text)
        ))
    })?;
    if window > MAX_LOOKUP_WINDOW_SECS {
        return Err(ApiError::Internal(format!(
            "window {} is longer than {} days",
            python_str_repr(&window_text),
            MAX_LOOKUP_WINDOW_SECS / 86_400
        )));
    }
    let state = state_of(&token)?;
    let TokenSecret::Totp { key } = secret_of(&token, &ctx.app.security)? else {
        return Ok(JsonReply::result(false).into_response());
    };
    let step = state.info.time_step().unwrap_or(30).max(1);
    let shift = state.info.time_shift().unwrap_or(0);
    let algorithm = state
        .info
        .hash_algorithm()
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    let current = (ctx.app.now() + shift).div_euclid(step);
    let steps = window / step;
    let start = (current - steps).max(0);
    let matched = first_match(start, current + steps, |counter| {
        let Ok(counter) = u64::try_from(counter) else {
            return Ok(false);
        };
        let value = hotp(key.expose(), counter, state.otp_len, algorithm)
            .map_err(|error| ApiError::Internal(error.to_string()))?;
        Ok(bool::from(value.as_bytes().ct_eq(otp.as_bytes())))
    })?;
    let Some(matched) = matched.filter(|matched| *matched < current) else {
        ctx.audit.success = false;
        ctx.audit.info = format!(
            "no otp {} found in window {}",
            python_str_repr(&otp),
            python_str_repr(&window_text)
        );
        return Ok(JsonReply::result(false).into_response());
    };
    let seconds = matched * step;
    let time = chrono::DateTime::from_timestamp(seconds, 0)
        .map(|time| time.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_default();
    ctx.audit.success = true;
    Ok(JsonReply::result(true)
        .detail(json!({
            "serial": token.serial,
            "otp": otp,
            "counter": matched,
            "time": time,
            "seconds": seconds,
            "span": step,
        }))
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_linotp() {
        assert_eq!(parse_duration("24h"), Some(86_400));
        assert_eq!(parse_duration("1d 2h"), Some(93_600));
        assert_eq!(parse_duration("90s"), Some(90));
        assert_eq!(parse_duration("2weeks"), Some(14 * 86_400));
        assert_eq!(parse_duration("P1DT1H"), Some(90_000));
        assert_eq!(parse_duration("1x"), None);
        assert_eq!(parse_duration("h"), None);
    }

    #[test]
    fn challenge_vars_hide_the_session_mac() {
        let challenge = Challenge {
            id: 7,
            transid: "123456789012".into(),
            bdata: Some(br#"{"serial": "S"}"#.to_vec()),
            bchallenge: Some(b"Please enter your otp value: ".to_vec()),
            session: r#"{"status": "open", "mac": "secret"}"#.into(),
            tokenserial: "S".into(),
            ..Challenge::default()
        };
        let vars = challenge_vars(&challenge);
        assert_eq!(vars["session"], json!({"status": "open"}));
        assert_eq!(vars["data"], json!({"serial": "S"}));
        assert!(is_open(&challenge));
    }
}
