//! Token life cycle: `remove`, `enable`, `disable`, `assign`, `unassign`, `reset`,
//! `tokenrealm`, `copyTokenPin`, `copyTokenUser`, `losttoken` and `unpair`.

use axum::response::{IntoResponse, Response};
use linotp_core::{InfoValue, TokenKind};
use linotp_crypto::token_secrets;
use linotp_store::realms;
use linotp_store::tokens::{self, Token};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::{
    Access, Ctx, admin_handler, authorize, authorize_token, joined, store_info, token_info,
    type_name,
};
use crate::error::{ApiError, Result};
use crate::params::Params;
use crate::pyfmt::python_str_repr;
use crate::reply::{JsonReply, reply_id};
use crate::users::RequestedUser;

admin_handler!(
    /// `POST /admin/remove`.
    remove,
    "admin/remove",
    Access::Write,
    reply_id::DEFAULT,
    remove_tokens
);
admin_handler!(
    /// `POST /admin/enable`.
    enable,
    "admin/enable",
    Access::Write,
    reply_id::DEFAULT,
    enable_tokens
);
admin_handler!(
    /// `POST /admin/disable`.
    disable,
    "admin/disable",
    Access::Write,
    reply_id::DEFAULT,
    disable_tokens
);
admin_handler!(
    /// `POST /admin/assign`.
    assign,
    "admin/assign",
    Access::Write,
    reply_id::VALIDATE,
    assign_tokens
);
admin_handler!(
    /// `POST /admin/unassign`.
    unassign,
    "admin/unassign",
    Access::Write,
    reply_id::DEFAULT,
    unassign_token
);
admin_handler!(
    /// `POST /admin/reset`.
    reset,
    "admin/reset",
    Access::Write,
    reply_id::DEFAULT,
    reset_tokens
);
admin_handler!(
    /// `POST /admin/tokenrealm`.
    tokenrealm,
    "admin/tokenrealm",
    Access::Write,
    reply_id::DEFAULT,
    set_token_realms
);
admin_handler!(
    /// `POST /admin/copyTokenPin`.
    copy_token_pin,
    "admin/copyTokenPin",
    Access::Write,
    reply_id::DEFAULT,
    copy_pin
);
admin_handler!(
    /// `POST /admin/copyTokenUser`.
    copy_token_user,
    "admin/copyTokenUser",
    Access::Write,
    reply_id::DEFAULT,
    copy_user
);
admin_handler!(
    /// `POST /admin/losttoken`.
    losttoken,
    "admin/losttoken",
    Access::Write,
    reply_id::DEFAULT,
    lost_token
);

/// Length of the temporary password of a lost-token replacement (policy `lostTokenPWLen`).
const LOST_PASSWORD_LEN: usize = 10;
/// Days a lost-token replacement stays valid (policy `lostTokenValid`).
const LOST_TOKEN_VALID_DAYS: i64 = 10;

/// `serial` as one value or a list, each once, in the order given.
fn serial_list(params: &Params) -> Vec<String> {
    let mut serials: Vec<String> = Vec::new();
    for serial in params.list("serial") {
        if !serials.iter().any(|known| *known == serial) {
            serials.push(serial.into_owned());
        }
    }
    serials
}

/// Python's repr of a set of strings (`{'a', 'b'}`, `set()`).
fn python_set(items: &[String]) -> String {
    if items.is_empty() {
        return "set()".to_owned();
    }
    format!(
        "{{{}}}",
        items
            .iter()
            .map(|item| python_str_repr(item))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn remove_tokens(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let mut serials = serial_list(params);
    let user = ctx.requested_user(params);
    if serials.is_empty() && user.is_empty() {
        return Err(ApiError::Parameter(
            "missing parameter user or serial!".to_owned(),
        ));
    }
    if !user.is_empty() {
        for token in ctx.tokens_of(None, &user)? {
            if !serials.contains(&token.serial) {
                serials.push(token.serial);
            }
        }
    }
    ctx.audit.serial = serials.join(" ");

    let mut removed = 0;
    let mut realms_seen: Vec<String> = Vec::new();
    let mut owners: Vec<String> = Vec::new();
    let mut types: Vec<String> = Vec::new();
    for serial in &serials {
        let token = ctx.token(serial)?;
        let token_realms = ctx.realms_of(&token)?;
        authorize_token(ctx, "remove", &token)?;
        push_unique(&mut realms_seen, token_realms);
        push_unique(&mut owners, [ctx.owner_login(&token)?]);
        push_unique(&mut types, [type_name(&token)]);
        if tokens::delete(ctx.conn, token.id)? {
            removed += 1;
        }
    }
    ctx.audit.success = removed == serials.len();
    ctx.audit.token_type = joined(&types);
    ctx.audit.user = joined(&owners);
    ctx.audit.realm = joined(&realms_seen);
    ctx.note_token_count()?;

    let mut reply = JsonReply::result(removed);
    if removed == 0 {
        let message = if user.is_empty() {
            format!("No token with serials {}", python_set(&serials))
        } else {
            format!("No tokens for this user {}", python_str_repr(&user.login))
        };
        reply = reply.detail(serde_json::json!({ "message": message }));
    }
    Ok(reply.into_response())
}

fn push_unique<I: IntoIterator<Item = String>>(list: &mut Vec<String>, items: I) {
    for item in items {
        if !list.contains(&item) {
            list.push(item);
        }
    }
}

fn enable_tokens(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    switch_tokens(ctx, params, true)
}

fn disable_tokens(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    switch_tokens(ctx, params, false)
}

fn switch_tokens(ctx: &mut Ctx<'_>, params: &Params, active: bool) -> Result<Response> {
    let serial = params.optional("serial").map(|serial| serial.into_owned());
    let user = ctx.requested_user(params);
    ctx.audit.serial = serial.clone().unwrap_or_default();
    let action = if active { "enable" } else { "disable" };
    authorize(
        ctx,
        action,
        (!user.realm.is_empty()).then_some(user.realm.as_str()),
    )?;
    // LinOTP's enable checks the token's realm limits first, which needs exactly one token
    // with the serial; without serial and user that is "No token with serial None found".
    if active && (serial.is_some() || user.is_empty()) {
        let pattern = serial.as_deref().unwrap_or_default();
        let matching = if serial.is_some() {
            super::tokens_by_serial(ctx.conn, pattern)?
        } else {
            Vec::new()
        };
        match matching.as_slice() {
            [token] => check_enable_room(ctx, token)?,
            [] => return Err(ApiError::NoTokenWithSerial { serial }),
            _ => {
                return Err(ApiError::Coded {
                    id: crate::error::codes::TOKEN_NOT_FOUND,
                    description: format!("multiple tokens found with serial {pattern}!"),
                });
            }
        }
    }

    let found = ctx.tokens_of(serial.as_deref(), &user)?;
    let mut audit_realms = Vec::new();
    let mut owners = Vec::new();
    for token in &found {
        authorize_token(ctx, action, token)?;
        let mut changed = token.clone();
        changed.is_active = active;
        tokens::update(ctx.conn, &changed)?;
        let token_realms = ctx.realms_of(token)?;
        if token_realms.is_empty() {
            audit_realms.push(String::new());
        } else {
            audit_realms.extend(token_realms);
        }
        owners.push(ctx.owner_login(token)?);
    }
    let count = found.len();
    ctx.audit.success = count > 0;
    if serial.is_none() {
        ctx.audit.serial = found
            .iter()
            .map(|token| token.serial.as_str())
            .collect::<Vec<_>>()
            .join(" ");
    }
    ctx.audit.token_type = joined(found.iter().map(type_name));
    ctx.audit.user = if !active && !user.is_empty() {
        user.login.clone()
    } else {
        joined(&owners)
    };
    ctx.audit.realm = joined(&audit_realms);
    if active {
        super::limits::check_realm_count_after(ctx, &user.realm)?;
    }
    ctx.note_token_count()?;
    Ok(count_reply(count, serial.as_deref(), &user).into_response())
}

/// LinOTP's `enable` pre-check: the admin may enable the token, and an inactive token may
/// only become active where each of its realms has room left under `tokencount`.
fn check_enable_room(ctx: &mut Ctx<'_>, token: &Token) -> Result<()> {
    authorize_token(ctx, "enable", token)?;
    if token.is_active {
        return Ok(());
    }
    for realm in ctx.realms_of(token)? {
        if !super::limits::realm_has_room(ctx, &realm, 1)? {
            return Err(ApiError::Policy(format!(
                "You may not enable any more tokens in realm {realm}. Check the policy \
                 'tokencount'"
            )));
        }
    }
    Ok(())
}

/// `value` = number of tokens touched; when none, LinOTP's hint in `detail.message`.
fn count_reply(count: usize, serial: Option<&str>, user: &RequestedUser) -> JsonReply {
    let reply = JsonReply::result(count);
    if count > 0 {
        return reply;
    }
    match serial.filter(|serial| !serial.is_empty()) {
        Some(serial) => {
            reply.detail(serde_json::json!({"message": format!("No token with serial {serial}")}))
        }
        None if !user.is_empty() => {
            reply.detail(serde_json::json!({"message": "No tokens for this user"}))
        }
        None => reply,
    }
}

fn assign_tokens(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let pin = params.get("pin").and_then(|value| match value {
        Value::String(text) => Some(Zeroizing::new(text.clone())),
        Value::Number(number) => Some(Zeroizing::new(number.to_string())),
        _ => None,
    });
    let encrypt_pin = params
        .optional("encryptpin")
        .is_some_and(|value| value.eq_ignore_ascii_case("true"));
    let user = ctx.requested_user(params);
    let serials = serial_list(params);
    ctx.audit.serial = serials.join(" ");

    let mut realms_seen = Vec::new();
    let mut owners = Vec::new();
    let mut types = Vec::new();
    for serial in &serials {
        authorize(
            ctx,
            "assign",
            (!user.realm.is_empty()).then_some(user.realm.as_str()),
        )?;
        let mut token = ctx.token(serial)?;
        authorize_token(ctx, "assign", &token)?;
        // LinOTP assigns to "no user" when the request names none.
        let owner = super::enroll::owner_of(ctx, &user)?;
        if let Some(owner) = &owner {
            super::limits::check_maxtoken(ctx, owner, &[type_name(&token).to_lowercase()])?;
        }
        match &owner {
            Some(owner) => {
                token.user_id.clone_from(&owner.user_id);
                token.id_resolver.clone_from(&owner.resolver_class_short);
                token.id_res_class.clone_from(&owner.resolver_spec);
            }
            None => clear_owner(&mut token),
        }
        if let Some(pin) = &pin {
            set_pin(ctx, &mut token, pin, encrypt_pin)?;
        }
        token.fail_count = 0;
        tokens::update(ctx.conn, &token)?;
        // The token moves into the user's realm (and out of every other).
        let new_realms: Vec<String> = if user.is_empty() || user.realm.is_empty() {
            Vec::new()
        } else {
            realms::get_or_create(ctx.conn, &user.realm)?;
            vec![user.realm.to_lowercase()]
        };
        let names: Vec<&str> = new_realms.iter().map(String::as_str).collect();
        realms::set_token_realms(ctx.conn, token.id, &names)?;
        push_unique(&mut realms_seen, new_realms);
        push_unique(&mut owners, [ctx.owner_login(&token)?]);
        push_unique(&mut types, [type_name(&token)]);
    }
    set_random_pins(ctx, &user, &serials)?;
    super::limits::check_realm_count_after(ctx, &user.realm)?;
    ctx.audit.success = true;
    ctx.audit.token_type = joined(&types);
    ctx.audit.user = if user.is_empty() {
        joined(&owners)
    } else {
        user.login.clone()
    };
    ctx.audit.realm = joined(&realms_seen);
    ctx.note_token_count()?;
    Ok(JsonReply::result(true)
        .id(i64::try_from(serials.len()).unwrap_or(i64::MAX))
        .into_response())
}

/// LinOTP's `assign` post-check: with `otp_pin_random` for the request user, every assigned
/// token gets a random PIN of its own in place of the one the request named. As in LinOTP
/// the random PIN is stored hashed and appears nowhere in the reply.
fn set_random_pins(ctx: &mut Ctx<'_>, user: &RequestedUser, serials: &[String]) -> Result<()> {
    let owner = super::enroll::owner_of(ctx, user)?;
    for serial in serials {
        let Some(pin) = super::pin_policy::for_enrollment(ctx, user, owner.as_ref())?.random else {
            return Ok(());
        };
        let mut token = ctx.token(serial)?;
        set_pin(ctx, &mut token, &pin, false)?;
        tokens::update(ctx.conn, &token)?;
    }
    Ok(())
}

/// Sets a token PIN: hashed, or encrypted (`@@…`) with `encryptpin=true`.
pub(crate) fn set_pin(ctx: &Ctx<'_>, token: &mut Token, pin: &str, encrypt: bool) -> Result<()> {
    let security = ctx.app.security.as_ref();
    let stored = if encrypt {
        token_secrets::encrypt_pin_for_token(security, pin)?
    } else {
        token_secrets::hash_pin(security, pin)?
    };
    token.pin_hash = stored.pin_hash;
    token.pin_salt = stored.pin_seed;
    Ok(())
}

fn clear_owner(token: &mut Token) {
    token.user_id.clear();
    token.id_resolver.clear();
    token.id_res_class.clear();
}

fn unassign_token(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let serial = params.required("serial")?.into_owned();
    let user = ctx.requested_user(params);
    authorize(
        ctx,
        "unassign",
        (!user.realm.is_empty()).then_some(user.realm.as_str()),
    )?;
    ctx.audit.serial.clone_from(&serial);
    let mut token = ctx.token(&serial)?;
    authorize_token(ctx, "unassign", &token)?;
    ctx.audit.token_type = type_name(&token);
    ctx.audit.user = ctx.owner_login(&token)?;
    ctx.audit.realm = joined(ctx.realms_of(&token)?);
    clear_owner(&mut token);
    token.fail_count = 0;
    tokens::update(ctx.conn, &token)?;
    ctx.audit.success = true;
    ctx.note_token_count()?;
    Ok(JsonReply::result(true).into_response())
}

fn reset_tokens(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let serial = params.optional("serial").map(|serial| serial.into_owned());
    let user = ctx.requested_user(params);
    ctx.audit.serial = serial.clone().unwrap_or_default();
    authorize(
        ctx,
        "reset",
        (!user.realm.is_empty()).then_some(user.realm.as_str()),
    )?;
    let found = ctx.tokens_of(serial.as_deref(), &user)?;
    let mut owners = Vec::new();
    let mut token_realms = Vec::new();
    for token in &found {
        authorize_token(ctx, "reset", token)?;
        let mut changed = token.clone();
        changed.fail_count = 0;
        tokens::update(ctx.conn, &changed)?;
        owners.push(ctx.owner_login(token)?);
        token_realms.extend(ctx.realms_of(token)?);
    }
    describe_tokens(ctx, serial.as_deref(), &user, &found, &owners, token_realms);
    ctx.audit.success = !found.is_empty();
    Ok(count_reply(found.len(), serial.as_deref(), &user).into_response())
}

/// The audit fields LinOTP fills after `set`, `reset` and `resync`: the serials, types,
/// owners and realms of the tokens touched (or the request user's name and realm).
pub(crate) fn describe_tokens(
    ctx: &mut Ctx<'_>,
    serial: Option<&str>,
    user: &RequestedUser,
    found: &[Token],
    owners: &[String],
    token_realms: Vec<String>,
) {
    ctx.audit.serial = match serial.filter(|serial| !serial.is_empty()) {
        Some(serial) => serial.to_owned(),
        None => found
            .iter()
            .map(|token| token.serial.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    };
    ctx.audit.token_type = joined(found.iter().map(type_name));
    ctx.audit.user = if user.is_empty() {
        joined(owners)
    } else {
        user.login.clone()
    };
    ctx.audit.realm = if user.realm.is_empty() {
        joined(token_realms)
    } else {
        user.realm.clone()
    };
}

fn set_token_realms(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let serial = params.required("serial")?.into_owned();
    ctx.audit.serial.clone_from(&serial);
    let requested = params.required("realms")?.into_owned();
    let mut realm_list: Vec<String> = Vec::new();
    for name in requested.split(',').map(str::trim) {
        if !realm_list.iter().any(|known| known == name) {
            realm_list.push(name.to_owned());
        }
    }
    ctx.audit.realm = realm_list.join(", ");
    let token = ctx.token(&serial)?;
    let source = ctx.realms_of(&token)?;
    authorize_realm_move(ctx, &source, &realm_list)?;
    // Only realms that exist are linked (LinOTP's realm2Objects); "" means no realm.
    let mut linked = Vec::new();
    for name in &realm_list {
        let lower = name.to_lowercase();
        if !lower.is_empty()
            && !linked.contains(&lower)
            && realms::get_by_name(ctx.conn, &lower)?.is_some()
        {
            linked.push(lower);
        }
    }
    let names: Vec<&str> = linked.iter().map(String::as_str).collect();
    realms::set_token_realms(ctx.conn, token.id, &names)?;

    ctx.audit.success = true;
    ctx.audit.token_type = type_name(&token);
    ctx.audit.user = ctx.owner_login(&token)?;
    let from = if source.is_empty() {
        "/:no realm:/".to_owned()
    } else {
        source.join(",")
    };
    let to = if realm_list.is_empty() {
        "/:no realm:/".to_owned()
    } else {
        realm_list.join(",")
    };
    ctx.audit.info = format!("From {from} to {to}");
    ctx.note_token_count()?;
    Ok(JsonReply::result(1).into_response())
}

/// LinOTP's `tokenrealm` check: `manageToken` in every realm the token leaves (it is in
/// now) and in every realm it goes to (an empty target stands for the default realm), and
/// room under `tokencount` for one more active token in each target realm, even one the
/// token is already in.
fn authorize_realm_move(ctx: &mut Ctx<'_>, source: &[String], targets: &[String]) -> Result<()> {
    let rights = ctx.admin_rights(Some("manageToken"));
    let admin = ctx.admin.username.clone();
    let refuse = |message: String| {
        tracing::warn!(%admin, "tokenrealm refused by policy");
        Err(ApiError::Policy(message))
    };
    for realm in source {
        if !rights.permits(realm) {
            return refuse(format!(
                "You do not have the administrative right to remove tokens from realm {}. \
                 Check the policies.",
                python_str_repr(realm)
            ));
        }
    }
    for realm in targets {
        let checked = if realm.is_empty() {
            ctx.config.default_realm().unwrap_or_default()
        } else {
            realm.clone()
        };
        if !rights.permits(&checked) {
            return refuse(format!(
                "You do not have the administrative right to add tokens to realm {realm}. \
                 Check the policies."
            ));
        }
        if !super::limits::realm_has_room(ctx, realm, 1)? {
            return refuse(format!(
                "You may not put any more tokens in realm {}. Check the policy 'tokencount'",
                python_str_repr(realm)
            ));
        }
    }
    Ok(())
}

fn copy_pin(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let from = params.required("from")?.into_owned();
    let to = params.required("to")?.into_owned();
    ctx.audit.serial.clone_from(&to);
    authorize(ctx, "copytokenpin", None)?;
    let source = ctx.token(&from)?;
    authorize_token(ctx, "copytokenpin", &source)?;
    let mut target = ctx.token(&to)?;
    authorize_token(ctx, "copytokenpin", &target)?;
    target.pin_hash.clone_from(&source.pin_hash);
    target.pin_salt.clone_from(&source.pin_salt);
    tokens::update(ctx.conn, &target)?;
    ctx.audit.success = true;
    ctx.audit.token_type = type_name(&target);
    ctx.audit.user = ctx.owner_login(&target)?;
    ctx.audit.realm = joined(ctx.realms_of(&target)?);
    ctx.audit.action_detail = format!("from {from}");
    Ok(JsonReply::result(true).into_response())
}

fn copy_user(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let from = params.required("from")?.into_owned();
    let to = params.required("to")?.into_owned();
    ctx.audit.serial.clone_from(&to);
    authorize(ctx, "copytokenuser", None)?;
    for serial in [&from, &to] {
        let token = ctx.token(serial)?;
        authorize_token(ctx, "copytokenuser", &token)?;
    }
    let target = copy_owner(ctx, &from, &to)?;
    ctx.audit.success = true;
    ctx.audit.token_type = type_name(&target);
    ctx.audit.user = ctx.owner_login(&target)?;
    ctx.audit.realm = joined(ctx.realms_of(&target)?);
    ctx.audit.action_detail = format!("from {from}");
    ctx.note_token_count()?;
    Ok(JsonReply::result(true).into_response())
}

/// Gives token `to` the owner and the realms of token `from`.
fn copy_owner(ctx: &mut Ctx<'_>, from: &str, to: &str) -> Result<Token> {
    let source = ctx.token(from)?;
    let mut target = ctx.token(to)?;
    target.user_id.clone_from(&source.user_id);
    target.id_resolver.clone_from(&source.id_resolver);
    target.id_res_class = source
        .id_res_class
        .replace("useridresolveree.", "useridresolver.");
    tokens::update(ctx.conn, &target)?;
    let source_realms = ctx.realms_of(&source)?;
    let names: Vec<&str> = source_realms.iter().map(String::as_str).collect();
    realms::set_token_realms(ctx.conn, target.id, &names)?;
    Ok(target)
}

fn lost_token(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    // LinOTP reads `param["serial"]`; its KeyError prints as the quoted name.
    let serial = params
        .optional("serial")
        .ok_or_else(|| ApiError::Internal("'serial'".to_owned()))?
        .into_owned();
    ctx.audit.serial.clone_from(&serial);
    authorize(ctx, "losttoken", None)?;
    let old = ctx.token(&serial)?;
    authorize_token(ctx, "losttoken", &old)?;
    let owner = if old.user_id.is_empty() {
        String::new()
    } else {
        ctx.owner_login(&old)?
    };
    if owner.is_empty() {
        return Err(ApiError::Internal(
            "You can only define a lost token for an assigned token.".to_owned(),
        ));
    }
    let kind_requested = params.optional("type").unwrap_or_default();
    if kind_requested == "email" || kind_requested == "sms" {
        tracing::warn!(
            serial = %serial,
            kind = %kind_requested,
            "e-mail and SMS replacement tokens are not available yet; using a password token"
        );
    }

    let new_serial = format!("lost{serial}");
    let password = random_password(ctx, LOST_PASSWORD_LEN)?;
    let existing = tokens::get_by_serial(ctx.conn, &new_serial)?;
    if let Some(existing) = &existing
        && super::kind(existing) != Some(TokenKind::Password)
    {
        return Err(ApiError::Linotp(format!(
            "initToken failed: token {} already exist with type {}. Can not initialize \
             token with new type 'pw'",
            python_str_repr(&new_serial),
            python_str_repr(&existing.token_type)
        )));
    }
    let config = ctx.config.clone();
    let mut row = match &existing {
        Some(existing) => existing.clone(),
        None => {
            let mut row = Token::new(&new_serial, TokenKind::Password.linotp_type());
            row.count_window = clamp(config.default_count_window());
            row.max_fail = clamp(config.default_max_fail());
            row.sync_window = clamp(config.default_sync_window());
            row.creation_date = Some(ctx.now_utc());
            row
        }
    };
    let stored = token_secrets::create_pw_token_seed(&password)?;
    row.key_iv = stored.key_iv;
    row.key_enc = stored.key_enc;
    row.count = 0;
    row.fail_count = 0;
    row.otp_len = i32::try_from(LOST_PASSWORD_LEN).unwrap_or(i32::MAX);
    row.description = format!("temporary replacement for {serial}");
    let row = match existing {
        Some(_) => {
            tokens::update(ctx.conn, &row)?;
            row
        }
        None => tokens::insert(ctx.conn, &row)?,
    };

    copy_owner(ctx, &serial, &new_serial)?;
    let mut replacement = ctx.token(&new_serial)?;
    let copied_pin = super::kind(&old) != Some(TokenKind::Spass);
    if copied_pin {
        replacement.pin_hash.clone_from(&old.pin_hash);
        replacement.pin_salt.clone_from(&old.pin_salt);
    }
    let end_date = validity_end(ctx.app.now(), LOST_TOKEN_VALID_DAYS);
    let mut info = token_info(&replacement)?;
    info.set("validity_period_end", InfoValue::from(end_date.as_str()));
    store_info(&mut replacement, &info);
    tokens::update(ctx.conn, &replacement)?;

    let mut old_disabled = old.clone();
    old_disabled.is_active = false;
    tokens::update(ctx.conn, &old_disabled)?;

    ctx.audit.success = true;
    ctx.audit.serial.clone_from(&row.serial);
    ctx.audit.token_type = type_name(&replacement);
    ctx.audit.user = ctx.owner_login(&replacement)?;
    ctx.audit.realm = joined(ctx.realms_of(&replacement)?);
    ctx.audit.action_detail = format!("from {serial}");
    ctx.note_token_count()?;

    let mut value = Map::new();
    value.insert("serial".to_owned(), Value::from(new_serial));
    value.insert("init".to_owned(), Value::Bool(true));
    value.insert("user".to_owned(), Value::from(1));
    if copied_pin {
        value.insert("pin".to_owned(), Value::from(1));
    }
    value.insert("valid_to".to_owned(), Value::from("xxxx"));
    value.insert("password".to_owned(), Value::from(password.as_str()));
    value.insert("end_date".to_owned(), Value::from(end_date));
    value.insert("token_typ".to_owned(), Value::from("pw"));
    value.insert("disable".to_owned(), Value::from(1));
    Ok(JsonReply::result(Value::Object(value)).into_response())
}

fn clamp(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}

/// A random password of letters and digits (LinOTP's `generate_password`).
fn random_password(ctx: &Ctx<'_>, length: usize) -> Result<Zeroizing<String>> {
    const POOL: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    super::pin_policy::random_text(ctx, POOL, length)
}

/// The end of a lost token's validity: `days` after today, 23:59, as `dd/mm/yy HH:MM`.
pub(crate) fn validity_end(now: i64, days: i64) -> String {
    let date = chrono::DateTime::from_timestamp(now + days * 86_400, 0)
        .map(|time| time.format("%d/%m/%y").to_string())
        .unwrap_or_default();
    format!("{date} 23:59")
}

admin_handler!(
    /// `POST /admin/unpair`.
    unpair,
    "admin/unpair",
    Access::Write,
    reply_id::VALIDATE,
    unpair_token
);

fn unpair_token(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let serial = params.optional("serial").map(|serial| serial.into_owned());
    ctx.audit.serial = serial.clone().unwrap_or_default();
    let user = ctx.requested_user(params);
    let failure = |ctx: &mut Ctx<'_>, message: String| {
        ctx.audit.info = message;
        ctx.audit.success = false;
        Ok(JsonReply::result(false)
            .status_flag(false)
            .id(reply_id::VALIDATE)
            .into_response())
    };
    if let Err(error) = authorize(ctx, "unpair", None) {
        return failure(ctx, error.message());
    }
    let found = ctx.tokens_of(serial.as_deref(), &user)?;
    let token = match found.as_slice() {
        [] => return failure(ctx, "No token found. Unpairing not possible".to_owned()),
        [token] => token.clone(),
        _ => {
            return failure(
                ctx,
                "Multiple tokens found. Unpairing not possible".to_owned(),
            );
        }
    };
    if let Err(error) = authorize_token(ctx, "unpair", &token) {
        // LinOTP's audit info is `str(exception)`: `ERR410: …`.
        return failure(ctx, error.message());
    }
    ctx.audit.token_type = type_name(&token);
    ctx.audit.user = ctx.owner_login(&token)?;
    ctx.audit.realm = joined(ctx.realms_of(&token)?);
    // Pairing exists only for QR and push tokens, which this release does not serve.
    failure(
        ctx,
        format!(
            "token type {} doesn't support unpairing ",
            type_name(&token)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_token_validity_ends_at_23_59_ten_days_later() {
        // 2026-11-26 10:41:40 UTC
        assert_eq!(validity_end(1_795_689_700, 10), "06/12/26 23:59");
    }

    #[test]
    fn serial_sets_print_like_python() {
        assert_eq!(python_set(&[]), "set()");
        assert_eq!(python_set(&["A".into(), "B".into()]), "{'A', 'B'}");
    }
}
