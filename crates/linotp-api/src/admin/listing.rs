//! `/admin/show`: the token listing with LinOTP's filters, realms, user search, sorting,
//! paging, field set and formats (JSON, `tokeninfo_format=json`, `outform=csv`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use std::fmt::Write as _;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDateTime, Timelike};
use linotp_store::tokens::{
    self, OwnerFilter, RealmFilter, SerialMatch, Token, TokenFilter, TokenListOptions, TokenSort,
};
use serde_json::{Map, Value};

use super::otpauth::python_str;
use linotp_core::write_python_json_string;
use linotp_policy::RealmRights;

use super::{Access, Ctx, admin_handler, authorize};
use crate::error::{ApiError, Result};
use crate::params::{Params, parse_python_int};
use crate::pyfmt::{JsonStyle, python_json, python_str_repr};
use crate::reply::{JSON_CONTENT_TYPE, JsonReply, LinotpShaped, reply_id};
use crate::sysconfig::SystemConfig;
use crate::system_api::realm_names;
use crate::users::{self, RequestedUser, UserInfo};

admin_handler!(
    /// `GET|POST /admin/show`.
    show,
    "admin/show",
    Access::Read,
    reply_id::DEFAULT,
    show_tokens
);

/// Values of `filter` that select active tokens.
pub(crate) const ACTIVE_FILTERS: [&str; 4] = [
    "/:active:/",
    "/:enabled:/",
    "/:token is active:/",
    "/:token is enabled:/",
];
/// Values of `filter` that select inactive tokens.
pub(crate) const INACTIVE_FILTERS: [&str; 4] = [
    "/:inactive:/",
    "/:disabled:/",
    "/:token is inactive:/",
    "/:token is disabled:/",
];
/// `sortby` names, in LinOTP's order (for "did you mean" suggestions).
const SORT_NAMES: [&str; 13] = [
    "TokenDesc",
    "TokenId",
    "TokenType",
    "TokenSerialnumber",
    "IdResolver",
    "IdResClass",
    "Userid",
    "FailCount",
    "Count",
    "Isactive",
    "CreationDate",
    "LastAuthMatch",
    "LastAuthSuccess",
];

fn show_tokens(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let serial = params.optional("serial").map(|text| text.into_owned());
    let text_filter = params.optional("filter").map(|text| text.into_owned());
    let view_realm = if params.contains("viewrealm") {
        params
            .optional("viewrealm")
            .unwrap_or_default()
            .into_owned()
    } else {
        params.optional("realm").unwrap_or_default().into_owned()
    };
    let user_fields: Vec<String> = params
        .optional("user_fields")
        .filter(|fields| !fields.is_empty())
        .map(|fields| {
            fields
                .split(',')
                .map(|field| field.trim().to_owned())
                .collect()
        })
        .unwrap_or_default();
    let csv = params.optional("outform").as_deref() == Some("csv");
    let tokeninfo_json = params.optional("tokeninfo_format").as_deref() == Some("json");
    let user = ctx.requested_user(params);
    // LinOTP's show is implied by any admin policy: the admin sees the realms they name.
    let rights = ctx.admin_rights(None);
    if !rights.has_any() {
        authorize(ctx, "show", None)?;
    }
    let mut filter_realms = shown_realms(&rights, &ctx.config);
    // `viewrealm` narrows the visible realms, never widens them.
    if !view_realm.is_empty() {
        filter_realms = if rights.permits(&view_realm) {
            vec![view_realm]
        } else {
            Vec::new()
        };
    }

    let options = sort_options(params)?;
    let config = ctx.config.clone();
    let filter = build_filter(
        ctx,
        &config,
        serial.as_deref(),
        &user,
        text_filter.as_deref(),
        &filter_realms,
    )?;
    let paging = paging(params, &config);
    let list_options = TokenListOptions {
        page: paging.map(|(page, size)| (page, size.max(1))),
        ..options
    };
    let page = match &filter {
        Some(filter) => tokens::list_shown(ctx.conn, filter, &list_options)?,
        None => tokens::TokenPage {
            tokens: Vec::new(),
            total: 0,
        },
    };

    let ids: Vec<i32> = page.tokens.iter().map(|token| token.id).collect();
    let realm_names = tokens::realm_names_of(ctx.conn, &ids)?;
    let mut owners = OwnerCache::default();
    let mut rows = Vec::with_capacity(page.tokens.len());
    for token in &page.tokens {
        let info = owners.known(ctx, token)?;
        rows.push(ShowRow {
            token,
            realms: realm_names.get(&token.id),
            user: user_columns(token, info, &user_fields),
        });
    }
    let resultset = match paging {
        None => serde_json::json!({
            "pages": 1,
            "pagesize": page.total,
            "tokens": page.total,
            "page": 1,
        }),
        Some((requested, size)) => serde_json::json!({
            "pages": page.pages(size.max(1)),
            "pagesize": size,
            "tokens": page.total,
            "page": requested,
        }),
    };

    ctx.audit.success = true;
    ctx.audit.info = format!(
        "realm: [{}], filter: {}",
        filter_realms
            .iter()
            .map(|realm| python_str_repr(realm))
            .collect::<Vec<_>>()
            .join(", "),
        text_filter
            .as_deref()
            .map_or_else(|| "None".to_owned(), python_str_repr)
    );

    if csv {
        let values: Vec<Value> = rows
            .iter()
            .map(|row| Value::Object(row.to_map(tokeninfo_json)))
            .collect();
        return Ok(csv_reply(&values));
    }
    Ok(show_reply(&rows, resultset, tokeninfo_json))
}

/// `sortby` / `sortdir`; an unknown column is LinOTP's KeyError with suggestions.
fn sort_options(params: &Params) -> Result<TokenListOptions> {
    let sort = match params.optional("sortby").filter(|name| !name.is_empty()) {
        None => TokenSort::Description,
        Some(name) => TokenSort::from_param(&name).ok_or_else(|| {
            let mut message = format!("Tokens can't be sorted by {name}.");
            let suggestions = close_matches(&name, &SORT_NAMES);
            if !suggestions.is_empty() {
                message.push_str(&format!(
                    " Did you mean any of [{}]?",
                    suggestions
                        .iter()
                        .map(|name| python_str_repr(name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            // str(KeyError(message)) is the repr of the message.
            ApiError::Internal(python_str_repr(&message))
        })?,
    };
    Ok(TokenListOptions {
        sort,
        descending: params.optional("sortdir").as_deref() == Some("desc"),
        page: None,
    })
}

/// `(page, page size)` when `page` was sent: a non-number page is 1, the size is `pagesize`,
/// else config `pagesize` (50); a non-number size is 20.
fn paging(params: &Params, config: &SystemConfig) -> Option<(u32, u32)> {
    let page = params.optional("page")?;
    let size = match params.optional("pagesize") {
        Some(size) => parse_python_int(&size).unwrap_or(20),
        None => config
            .get("pagesize")
            .and_then(parse_python_int)
            .unwrap_or(50),
    };
    let page = parse_python_int(&page).unwrap_or(1).max(1);
    Some((
        u32::try_from(page).unwrap_or(u32::MAX),
        u32::try_from(size.max(0)).unwrap_or(u32::MAX),
    ))
}

/// The realms an admin with `rights` sees in token listings (`*`: all), as LinOTP's
/// `checkPolicyPre("admin", "show")` names them.
pub(crate) fn shown_realms(rights: &RealmRights, config: &SystemConfig) -> Vec<String> {
    match rights {
        RealmRights::Unrestricted => vec!["*".to_owned()],
        RealmRights::AllExcept(excluded) if excluded.is_empty() => vec!["*".to_owned()],
        RealmRights::AllExcept(excluded) => realm_names(config)
            .into_iter()
            .filter(|realm| !excluded.contains(realm))
            .collect(),
        RealmRights::Only(realms) => realms.iter().cloned().collect(),
    }
}

/// LinOTP's realm condition for `filter_realms` (names, `fnmatch` patterns, or
/// `/:no realm:/`; none of them `*`) among the `defined` realms.
pub(crate) fn realm_condition(filter_realms: &[String], defined: &[String]) -> RealmFilter {
    let valid_realms: Vec<String> = filter_realms
        .iter()
        .map(|realm| realm.to_lowercase())
        .filter(|realm| defined.contains(realm))
        .collect();
    if !valid_realms.is_empty() {
        RealmFilter::AnyOf(valid_realms)
    } else if filter_realms
        .iter()
        .any(|realm| realm == "''" || realm == "\"\"" || realm == "/:no realm:/")
    {
        RealmFilter::None
    } else {
        RealmFilter::AnyOf(
            defined
                .iter()
                .filter(|realm| {
                    filter_realms
                        .iter()
                        .any(|pattern| fnmatch(&pattern.to_lowercase(), realm))
                })
                .cloned()
                .collect(),
        )
    }
}

/// The owner condition of a login that is not a plain name: empty, `/:no user:/` or
/// `/:none:/` for unassigned tokens, `/:no user info:/` or a `*` pattern for the tokens of
/// matching owners. `None` for a plain name (the caller looks it up in its realms).
pub(crate) fn owner_pattern_filter(ctx: &mut Ctx<'_>, login: &str) -> Result<Option<OwnerFilter>> {
    let search: String = login
        .to_lowercase()
        .chars()
        .filter(|c| *c != '"' && *c != '\'')
        .collect();
    if search.is_empty() || search == "/:no user:/" || search == "/:none:/" {
        Ok(Some(OwnerFilter::Unassigned))
    } else if search == "/:no user info:/" || search.contains('*') {
        Ok(Some(OwnerFilter::Serials(owners_matching(ctx, &search)?)))
    } else {
        Ok(None)
    }
}

/// LinOTP's `TokenIterator` conditions as a store filter; `None` when nothing can match.
fn build_filter(
    ctx: &mut Ctx<'_>,
    config: &SystemConfig,
    serial: Option<&str>,
    user: &RequestedUser,
    text: Option<&str>,
    filter_realms: &[String],
) -> Result<Option<TokenFilter>> {
    let filter_realms: Vec<String> = filter_realms
        .iter()
        .flat_map(|realm| realm.split(','))
        .map(|realm| realm.trim().to_owned())
        .collect();
    let all_realms = filter_realms.iter().any(|realm| realm == "*");
    let defined = realm_names(config);
    let valid_realms: Vec<String> = if all_realms {
        Vec::new()
    } else {
        filter_realms
            .iter()
            .map(|realm| realm.to_lowercase())
            .filter(|realm| defined.contains(realm))
            .collect()
    };

    let mut filter = TokenFilter::default();
    if let Some(serial) = serial {
        if !all_realms && !serial_in_realms(ctx, serial, &filter_realms)? {
            return Ok(None);
        }
        filter.serial = Some(SerialMatch::from_param(serial));
    }

    if !user.is_empty() {
        if let Some(owner) = owner_pattern_filter(ctx, &user.login)? {
            filter.owner = Some(owner);
        } else {
            let realms = if !user.realm.is_empty() {
                vec![user.realm.clone()]
            } else if all_realms {
                defined.clone()
            } else {
                valid_realms.clone()
            };
            let mut serials = Vec::new();
            for realm in realms {
                let candidate = RequestedUser {
                    realm,
                    ..user.clone()
                };
                serials.extend(
                    ctx.tokens_of(None, &candidate)?
                        .into_iter()
                        .map(|token| token.serial),
                );
            }
            filter.owner = Some(OwnerFilter::Serials(serials));
        }
    }

    match text {
        None => {}
        Some(text) if ACTIVE_FILTERS.contains(&text) => filter.active = Some(true),
        Some(text) if INACTIVE_FILTERS.contains(&text) => filter.active = Some(false),
        Some(text) => filter.text = Some(text.to_owned()),
    }

    if !all_realms {
        filter.realms = Some(realm_condition(&filter_realms, &defined));
    }
    Ok(Some(filter))
}

/// Whether a serial may be listed under a realm restriction (one of its tokens is in one of
/// the realms).
fn serial_in_realms(ctx: &mut Ctx<'_>, serial: &str, realms: &[String]) -> Result<bool> {
    for token in super::tokens_by_serial(ctx.conn, serial)? {
        let token_realms = ctx.realms_of(&token)?;
        if token_realms.iter().any(|realm| {
            realms
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(realm))
        }) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Serials of assigned tokens whose owner's login matches a `*` pattern; an owner no
/// resolver knows is `/:no user info:/` (the orphaned-token query).
pub(crate) fn owners_matching(ctx: &mut Ctx<'_>, pattern: &str) -> Result<Vec<String>> {
    let all = tokens::list_shown(
        ctx.conn,
        &TokenFilter::default(),
        &TokenListOptions {
            sort: TokenSort::Id,
            ..TokenListOptions::default()
        },
    )?;
    let mut owners = OwnerCache::default();
    let mut serials = Vec::new();
    for token in all.tokens.iter().filter(|token| !token.user_id.is_empty()) {
        let name = match owners.info(ctx, token)? {
            Some(info) => info.get("username").unwrap_or_default().to_lowercase(),
            None => "/:no user info:/".to_owned(),
        };
        if wildcard_matches(pattern, &name) {
            serials.push(token.serial.clone());
        }
    }
    Ok(serials)
}

/// LinOTP's owner search: `*` any text, everything else literal, whole string.
pub(crate) fn wildcard_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// Python's `fnmatch.fnmatch` for `*`, `?` and literal text.
pub(crate) fn fnmatch(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    fn go(pattern: &[char], text: &[char]) -> bool {
        match pattern.first() {
            None => text.is_empty(),
            Some('*') => (0..=text.len()).any(|skip| go(&pattern[1..], &text[skip..])),
            Some('?') => !text.is_empty() && go(&pattern[1..], &text[1..]),
            Some(c) => text.first() == Some(c) && go(&pattern[1..], &text[1..]),
        }
    }
    go(&pattern, &text)
}

/// Owner attributes per resolver and user id, looked up once per request.
#[derive(Default)]
pub(crate) struct OwnerCache {
    known: HashMap<(String, String), Option<UserInfo>>,
}

impl OwnerCache {
    /// The attributes of `token`'s owner; `None` when unassigned or unknown to its resolver.
    pub(crate) fn info(&mut self, ctx: &mut Ctx<'_>, token: &Token) -> Result<Option<UserInfo>> {
        Ok(self.known(ctx, token)?.cloned())
    }

    /// [`OwnerCache::info`] without copying the attributes: listings of many tokens of few
    /// owners only read them.
    pub(crate) fn known(&mut self, ctx: &mut Ctx<'_>, token: &Token) -> Result<Option<&UserInfo>> {
        if token.user_id.is_empty() {
            return Ok(None);
        }
        let key = (token.id_res_class.clone(), token.user_id.clone());
        if !self.known.contains_key(&key) {
            let config = Arc::clone(&ctx.config);
            let info = users::owner_info(
                ctx.app,
                &config,
                ctx.conn,
                &token.id_res_class,
                &token.user_id,
            )?
            .filter(|info| info.iter().next().is_some());
            self.known.insert(key.clone(), info);
        }
        Ok(self.known.get(&key).and_then(Option::as_ref))
    }
}

fn show_date(date: Option<NaiveDateTime>) -> Value {
    let mut text = String::new();
    if let Some(date) = date {
        write_show_date(&mut text, date);
    }
    Value::from(text)
}

/// The `LinOtp.*` fields of one token (LinOTP's `Token.get_vars`).
pub(crate) fn token_fields(
    token: &Token,
    realms: Option<&Vec<String>>,
    tokeninfo_json: bool,
) -> Map<String, Value> {
    let stored_info = token.token_info.trim();
    let info = if tokeninfo_json {
        tokeninfo_object(stored_info)
    } else {
        Value::from(stored_info)
    };
    let token_type = if token.token_type.is_empty() {
        "hmac"
    } else {
        token.token_type.as_str()
    };
    let mut row = Map::new();
    row.insert("LinOtp.TokenId".to_owned(), Value::from(token.id));
    row.insert(
        "LinOtp.TokenDesc".to_owned(),
        Value::from(token.description.as_str()),
    );
    row.insert(
        "LinOtp.TokenSerialnumber".to_owned(),
        Value::from(token.serial.as_str()),
    );
    row.insert("LinOtp.TokenType".to_owned(), Value::from(token_type));
    row.insert("LinOtp.TokenInfo".to_owned(), info);
    row.insert(
        "LinOtp.IdResolver".to_owned(),
        Value::from(token.id_resolver.as_str()),
    );
    row.insert(
        "LinOtp.IdResClass".to_owned(),
        Value::from(token.id_res_class.as_str()),
    );
    row.insert(
        "LinOtp.Userid".to_owned(),
        Value::from(token.user_id.as_str()),
    );
    row.insert(
        "LinOtp.OtpLen".to_owned(),
        Value::from(if token.otp_len == 0 { 6 } else { token.otp_len }),
    );
    row.insert("LinOtp.MaxFail".to_owned(), Value::from(token.max_fail));
    row.insert("LinOtp.Isactive".to_owned(), Value::from(token.is_active));
    row.insert("LinOtp.FailCount".to_owned(), Value::from(token.fail_count));
    row.insert("LinOtp.Count".to_owned(), Value::from(token.count));
    row.insert(
        "LinOtp.CountWindow".to_owned(),
        Value::from(token.count_window),
    );
    row.insert(
        "LinOtp.SyncWindow".to_owned(),
        Value::from(token.sync_window),
    );
    row.insert(
        "LinOtp.CreationDate".to_owned(),
        show_date(token.creation_date),
    );
    row.insert(
        "LinOtp.LastAuthSuccess".to_owned(),
        show_date(token.last_auth_success),
    );
    row.insert(
        "LinOtp.LastAuthMatch".to_owned(),
        show_date(token.last_auth_match),
    );
    row.insert(
        "LinOtp.RealmNames".to_owned(),
        Value::Array(
            realms
                .map(|names| {
                    names
                        .iter()
                        .map(|name| Value::from(name.as_str()))
                        .collect()
                })
                .unwrap_or_default(),
        ),
    );
    row
}

/// Tokeninfo as an object, validity dates in ISO form (`tokeninfo_format=json`).
fn tokeninfo_object(stored: &str) -> Value {
    if stored.is_empty() {
        return Value::Object(Map::new());
    }
    let Ok(Value::Object(mut info)) = serde_json::from_str::<Value>(stored) else {
        return Value::from(stored);
    };
    for key in ["validity_period_end", "validity_period_start"] {
        let converted = info
            .get(key)
            .and_then(Value::as_str)
            .and_then(|text| NaiveDateTime::parse_from_str(text, "%d/%m/%y %H:%M").ok())
            .map(|date| date.format("%Y-%m-%dT%H:%M:%S").to_string());
        if let Some(converted) = converted {
            info.insert(key.to_owned(), Value::from(converted));
        }
    }
    Value::Object(info)
}

/// The `User.*` fields: empty for unassigned tokens, `/:no user info:/` when the owner is
/// unknown, else the owner's attributes; then one `User.<field>` per `user_fields` entry.
fn user_columns(
    token: &Token,
    info: Option<&UserInfo>,
    user_fields: &[String],
) -> Vec<(Cow<'static, str>, String)> {
    let mut description = String::new();
    let mut userid = String::new();
    let mut username = String::new();
    let mut extra: Vec<(Cow<'static, str>, String)> = user_fields
        .iter()
        .map(|field| (Cow::Owned(format!("User.{field}")), String::new()))
        .collect();
    if !token.user_id.is_empty() {
        userid = "/:no user info:/".to_owned();
        username = "/:no user info:/".to_owned();
        if let Some(info) = info {
            if let Some(value) = info.get("description") {
                description = value.to_owned();
            }
            if let Some(value) = info.get("userid") {
                userid = value.to_owned();
            }
            if let Some(value) = info.get("username") {
                username = value.to_owned();
            }
            for (field, (_, value)) in user_fields.iter().zip(extra.iter_mut()) {
                *value = info.get(field).unwrap_or_default().to_owned();
            }
        }
    }
    let mut columns = Vec::with_capacity(3 + extra.len());
    columns.extend([
        (Cow::Borrowed("User.description"), description),
        (Cow::Borrowed("User.userid"), userid),
        (Cow::Borrowed("User.username"), username),
    ]);
    columns.extend(extra);
    columns
}

/// One listed token: its row, realm links and owner columns.
struct ShowRow<'a> {
    token: &'a Token,
    realms: Option<&'a Vec<String>>,
    user: Vec<(Cow<'static, str>, String)>,
}

impl ShowRow<'_> {
    /// The row as a JSON object (the CSV reply and tests use it).
    fn to_map(&self, tokeninfo_json: bool) -> Map<String, Value> {
        let mut row = token_fields(self.token, self.realms, tokeninfo_json);
        for (key, value) in &self.user {
            row.insert(key.clone().into_owned(), Value::from(value.as_str()));
        }
        row
    }
}

/// Placeholder for the rows in the rendered envelope; replaced by the rows' text.
const ROWS_PLACEHOLDER: &str = "\u{1}show rows\u{1}";
/// Indentation of the rows (`data` items) and of their members in the pretty envelope.
const ROW_INDENT: &str = "            ";
const MEMBER_INDENT: &str = "               ";

/// The `/admin/show` JSON reply, rendered as `json.dumps(indent=3)` renders it. The rows are
/// written straight into the text: a listing of thousands of tokens never becomes one big
/// JSON tree that is copied and dropped again.
fn show_reply(rows: &[ShowRow<'_>], resultset: Value, tokeninfo_json: bool) -> Response {
    let body = show_body(rows, resultset, tokeninfo_json);
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(JSON_CONTENT_TYPE),
        )],
        body,
    )
        .into_response();
    response.extensions_mut().insert(LinotpShaped);
    response
}

fn show_body(rows: &[ShowRow<'_>], resultset: Value, tokeninfo_json: bool) -> String {
    let mut value = Map::new();
    value.insert("data".to_owned(), Value::from(ROWS_PLACEHOLDER));
    value.insert("resultset".to_owned(), resultset);
    let envelope = JsonReply::result(Value::Object(value)).render();
    let placeholder = python_json(&Value::from(ROWS_PLACEHOLDER), JsonStyle::PRETTY);
    let (before, after) = envelope
        .split_once(&placeholder)
        .unwrap_or((envelope.as_str(), ""));

    let mut body = String::with_capacity(envelope.len() + rows.len() * 1200);
    body.push_str(before);
    if rows.is_empty() {
        body.push_str("[]");
    } else {
        body.push_str("[\n");
        for (index, row) in rows.iter().enumerate() {
            if index > 0 {
                body.push_str(",\n");
            }
            body.push_str(ROW_INDENT);
            write_row(&mut body, row, tokeninfo_json);
        }
        body.push('\n');
        body.push_str(&ROW_INDENT[3..]);
        body.push(']');
    }
    body.push_str(after);
    body
}

/// An integer in decimal, without going through `fmt` for each of the many numbers of a
/// listing.
fn write_int(out: &mut String, number: i32) {
    let mut digits = [0u8; 11];
    let mut start = digits.len();
    let mut rest = number.unsigned_abs();
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if number < 0 {
        out.push('-');
    }
    for digit in &digits[start..] {
        out.push(char::from(*digit));
    }
}

/// Writes one row object at the rows' nesting level.
fn write_row(out: &mut String, row: &ShowRow<'_>, tokeninfo_json: bool) {
    let token = row.token;
    let mut first = true;
    let mut member = |out: &mut String, key: &str| {
        out.push_str(if first { "{\n" } else { ",\n" });
        first = false;
        out.push_str(MEMBER_INDENT);
        write_python_json_string(out, key);
        out.push_str(": ");
    };
    member(out, "LinOtp.TokenId");
    write_int(out, token.id);
    member(out, "LinOtp.TokenDesc");
    write_python_json_string(out, &token.description);
    member(out, "LinOtp.TokenSerialnumber");
    write_python_json_string(out, &token.serial);
    member(out, "LinOtp.TokenType");
    write_python_json_string(
        out,
        if token.token_type.is_empty() {
            "hmac"
        } else {
            &token.token_type
        },
    );
    member(out, "LinOtp.TokenInfo");
    let stored_info = token.token_info.trim();
    if tokeninfo_json {
        let text = python_json(&tokeninfo_object(stored_info), JsonStyle::PRETTY);
        out.push_str(&text.replace('\n', &format!("\n{MEMBER_INDENT}")));
    } else {
        write_python_json_string(out, stored_info);
    }
    member(out, "LinOtp.IdResolver");
    write_python_json_string(out, &token.id_resolver);
    member(out, "LinOtp.IdResClass");
    write_python_json_string(out, &token.id_res_class);
    member(out, "LinOtp.Userid");
    write_python_json_string(out, &token.user_id);
    let numbers = [
        (
            "LinOtp.OtpLen",
            if token.otp_len == 0 { 6 } else { token.otp_len },
        ),
        ("LinOtp.MaxFail", token.max_fail),
    ];
    for (key, number) in numbers {
        member(out, key);
        write_int(out, number);
    }
    member(out, "LinOtp.Isactive");
    out.push_str(if token.is_active { "true" } else { "false" });
    let counters = [
        ("LinOtp.FailCount", token.fail_count),
        ("LinOtp.Count", token.count),
        ("LinOtp.CountWindow", token.count_window),
        ("LinOtp.SyncWindow", token.sync_window),
    ];
    for (key, number) in counters {
        member(out, key);
        write_int(out, number);
    }
    let dates = [
        ("LinOtp.CreationDate", token.creation_date),
        ("LinOtp.LastAuthSuccess", token.last_auth_success),
        ("LinOtp.LastAuthMatch", token.last_auth_match),
    ];
    for (key, date) in dates {
        member(out, key);
        out.push('"');
        if let Some(date) = date {
            write_show_date(out, date);
        }
        out.push('"');
    }
    member(out, "LinOtp.RealmNames");
    match row.realms.filter(|names| !names.is_empty()) {
        None => out.push_str("[]"),
        Some(names) => {
            out.push_str("[\n");
            for (index, name) in names.iter().enumerate() {
                if index > 0 {
                    out.push_str(",\n");
                }
                out.push_str(MEMBER_INDENT);
                out.push_str("   ");
                write_python_json_string(out, name);
            }
            out.push('\n');
            out.push_str(MEMBER_INDENT);
            out.push(']');
        }
    }
    for (key, value) in &row.user {
        member(out, key);
        write_python_json_string(out, value);
    }
    out.push('\n');
    out.push_str(ROW_INDENT);
    out.push('}');
}

/// The date format of `LinOtp.CreationDate`, `LastAuthSuccess`, `LastAuthMatch`
/// (`%a, %d %b %Y %H:%M:%S GMT`), without re-parsing the format for every date.
fn write_show_date(out: &mut String, date: NaiveDateTime) {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let day_name = DAYS[date.weekday().num_days_from_monday() as usize % 7];
    let month_name = MONTHS[date.month0() as usize % 12];
    let _ = write!(
        out,
        "{day_name}, {:02} {month_name} {:04} {:02}:{:02}:{:02} GMT",
        date.day(),
        date.year(),
        date.hour(),
        date.minute(),
        date.second()
    );
}

/// LinOTP's `sendCSVResult`: `'`-quoted cells, each followed by `; `, header line from the
/// first row's keys, newlines in text replaced by spaces.
fn csv_reply(rows: &[Value]) -> Response {
    let mut output = String::new();
    if let Some(Value::Object(first)) = rows.first() {
        for key in first.keys() {
            output.push_str(&format!("'{key}'; "));
        }
        output.push('\n');
    }
    for row in rows {
        if let Value::Object(row) = row {
            for value in row.values() {
                let text = match value {
                    Value::String(text) => text.replace('\n', " "),
                    other => python_str(other),
                };
                output.push_str(&format!("'{text}'; "));
            }
            output.push('\n');
        }
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/force-download"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=linotp-tokendata.csv"),
            ),
        ],
        output,
    )
        .into_response()
}

/// Python's `difflib.get_close_matches(word, possibilities)` (at most 3, cutoff 0.6, best
/// first, ties by the larger text).
pub(crate) fn close_matches(word: &str, possibilities: &[&str]) -> Vec<String> {
    let word: Vec<char> = word.chars().collect();
    let mut scored: Vec<(f64, &str)> = possibilities
        .iter()
        .filter_map(|candidate| {
            let chars: Vec<char> = candidate.chars().collect();
            let score = similarity(&chars, &word);
            (score >= 0.6).then_some((score, *candidate))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| b.1.cmp(a.1)));
    scored
        .into_iter()
        .take(3)
        .map(|(_, text)| text.to_owned())
        .collect()
}

/// `SequenceMatcher(None, a, b).ratio()`: twice the matched characters over the total.
fn similarity(a: &[char], b: &[char]) -> f64 {
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    let matched = matched_chars(a, b);
    2.0 * matched as f64 / total as f64
}

fn matched_chars(a: &[char], b: &[char]) -> usize {
    let (i, j, size) = longest_match(a, b);
    if size == 0 {
        return 0;
    }
    size + matched_chars(&a[..i], &b[..j]) + matched_chars(&a[i + size..], &b[j + size..])
}

/// `find_longest_match` without junk: the longest common run, earliest in `a`, then in `b`.
fn longest_match(a: &[char], b: &[char]) -> (usize, usize, usize) {
    let (mut best_i, mut best_j, mut best_size) = (0, 0, 0);
    let mut previous = vec![0usize; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![0usize; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            if ca == cb {
                let size = previous[j] + 1;
                current[j + 1] = size;
                if size > best_size {
                    best_i = i + 1 - size;
                    best_j = j + 1 - size;
                    best_size = size;
                }
            }
        }
        previous = current;
    }
    (best_i, best_j, best_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_follow_difflib() {
        assert_eq!(
            close_matches("TokenID", &SORT_NAMES),
            ["TokenId", "TokenDesc", "TokenType"]
        );
        assert_eq!(close_matches("Serial", &SORT_NAMES), Vec::<String>::new());
        assert_eq!(close_matches("Isactiv", &SORT_NAMES), ["Isactive"]);
        assert_eq!(
            close_matches("serail", &["id", "serial", "type"]),
            ["serial"]
        );
        assert!((similarity(&['a', 'b', 'c', 'd'], &['b', 'c', 'd', 'e']) - 0.75).abs() < 1e-9);
    }

    #[test]
    fn owner_and_realm_patterns() {
        assert!(wildcard_matches("gld*", "gldalice"));
        assert!(wildcard_matches("*ice", "gldalice"));
        assert!(!wildcard_matches("gld*x", "gldalice"));
        assert!(wildcard_matches("/:no user info:/", "/:no user info:/"));
        assert!(wildcard_matches("a.b*", "a.bc") && !wildcard_matches("a.b", "axb"));
        assert!(!wildcard_matches("b?ckett", "beckett"));
        assert!(fnmatch("gld*", "gldrealm"));
        assert!(fnmatch("gld?ealm", "gldrealm"));
        assert!(!fnmatch("gld", "gldrealm"));
    }

    fn sample_tokens() -> Vec<Token> {
        let mut plain = Token::new("S1", "HMAC");
        plain.id = 7;
        plain.token_info = "{\n\"hashlib\": \"sha1\",\n\"timeShift\": 0.0\n}".to_owned();
        plain.creation_date = chrono::NaiveDate::from_ymd_opt(2026, 11, 26)
            .and_then(|date| date.and_hms_opt(10, 41, 40));
        let mut odd = Token::new("S\u{e9}2 \"q\"", "");
        odd.id = 8;
        odd.description = "Gr\u{fc}\u{df}e\\ \u{1f600}".to_owned();
        odd.user_id = "u1".to_owned();
        odd.is_active = false;
        odd.otp_len = 0;
        odd.last_auth_success = odd.creation_date;
        vec![plain, odd]
    }

    #[test]
    fn rows_are_rendered_exactly_as_python_json_renders_the_tree() {
        let tokens = sample_tokens();
        let realms = vec!["realm1".to_owned(), "r\u{e9}alm".to_owned()];
        let user_fields = vec!["email".to_owned()];
        for tokeninfo_json in [false, true] {
            for count in [0, 1, 2] {
                let rows: Vec<ShowRow<'_>> = tokens[..count]
                    .iter()
                    .enumerate()
                    .map(|(index, token)| ShowRow {
                        token,
                        realms: (index == 1).then_some(&realms),
                        user: user_columns(token, None, &user_fields),
                    })
                    .collect();
                let resultset =
                    serde_json::json!({"pages": 1, "pagesize": count, "tokens": count, "page": 1});
                let mut value = Map::new();
                value.insert(
                    "data".to_owned(),
                    Value::Array(
                        rows.iter()
                            .map(|row| Value::Object(row.to_map(tokeninfo_json)))
                            .collect(),
                    ),
                );
                value.insert("resultset".to_owned(), resultset.clone());
                let expected = JsonReply::result(Value::Object(value)).render();
                assert_eq!(show_body(&rows, resultset, tokeninfo_json), expected);
            }
        }
    }

    #[test]
    fn show_dates_use_linotps_format() {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 26)
            .and_then(|date| date.and_hms_opt(10, 1, 4))
            .unwrap();
        assert_eq!(show_date(Some(date)), "Thu, 26 Nov 2026 10:01:04 GMT");
        assert_eq!(
            date.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            "Thu, 26 Nov 2026 10:01:04 GMT"
        );
        assert_eq!(show_date(None), "");
    }

    #[test]
    fn validity_dates_become_iso_in_json_tokeninfo() {
        let info = tokeninfo_object(
            "{\n\"count_auth_max\": 5,\n\"validity_period_start\": \"01/01/25 00:00\",\n\"timeShift\": 0.0\n}",
        );
        assert_eq!(info["validity_period_start"], "2025-01-01T00:00:00");
        assert_eq!(info["count_auth_max"], 5);
        assert!(info["timeShift"].is_f64());
        assert_eq!(tokeninfo_object(""), Value::Object(Map::new()));
    }
}
