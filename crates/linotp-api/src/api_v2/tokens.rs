//! `GET /api/v2/tokens/` and `GET /api/v2/tokens/<serial>`.
//!
//! The listing applies LinOTP's `TokenIterator` conditions (realms the admin may see, the
//! `realm` pattern, the owner's `username`, `userId`, `resolverName`, `searchTerm`) as one
//! store filter, so counting, sorting and paging happen in the database.

use std::collections::HashSet;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDateTime;
use linotp_policy::RealmRights;
use linotp_store::tokens::{
    self, OwnerFilter, SerialMatch, Token, TokenFilter, TokenListOptions, TokenSort,
};
use serde_json::{Map, Value};

use super::{Ctx, Failure, Outcome, V2Request, int_param, resolver_spec_by_name, result};
use crate::admin::listing::{
    ACTIVE_FILTERS, INACTIVE_FILTERS, OwnerCache, close_matches, owner_pattern_filter,
    realm_condition, shown_realms,
};
use crate::error::ApiError;
use crate::params::{Params, parse_python_int};
use crate::pyfmt::python_str_repr;
use crate::system_api::realm_names;
use crate::users::{self, RequestedUser, UserInfo};

/// `GET /api/v2/tokens/`: the tokens the admin may see, filtered, sorted and paged.
pub(super) async fn list(request: V2Request, params: Params) -> Response {
    request.answer(move |ctx| list_work(ctx, &params)).await
}

/// `GET /api/v2/tokens/<serial>`: one token, or `{}` when the admin cannot see it.
pub(super) async fn by_serial(request: V2Request, Path(serial): Path<String>) -> Response {
    request
        .answer(move |ctx| by_serial_work(ctx, &serial))
        .await
}

/// The v2 `sortBy` names and LinOTP's columns behind them.
const SORT_NAMES: [(&str, TokenSort); 13] = [
    ("id", TokenSort::Id),
    ("serial", TokenSort::Serial),
    ("isActive", TokenSort::IsActive),
    ("type", TokenSort::Type),
    ("failedLogins", TokenSort::FailCount),
    ("description", TokenSort::Description),
    ("userId", TokenSort::UserId),
    ("resolver", TokenSort::IdResolver),
    ("resolverClass", TokenSort::IdResClass),
    ("otpCounter", TokenSort::Count),
    ("creationDate", TokenSort::CreationDate),
    ("lastAuthenticationMatch", TokenSort::LastAuthMatch),
    ("lastSuccessfulLoginAttempt", TokenSort::LastAuthSuccess),
];

/// LinOTP's `checkPolicyPre("admin", "show")`: the lower-case realms the admin sees (`*`:
/// all), implied by any admin policy of the admin.
fn visible_realms(ctx: &Ctx<'_>) -> Outcome<Vec<String>> {
    let rights = ctx.admin_rights(None);
    if matches!(&rights, RealmRights::Only(realms) if realms.is_empty()) {
        tracing::warn!(admin = %ctx.admin.username, "api/v2: token listing refused");
        return Err(Failure::forbidden(
            "You do not have any rights in any realm! Check the policies.",
        ));
    }
    Ok(shown_realms(&rights, &ctx.config))
}

fn sort_column(name: &str) -> Outcome<TokenSort> {
    if let Some((_, sort)) = SORT_NAMES.iter().find(|(known, _)| *known == name) {
        return Ok(*sort);
    }
    let mut message = format!("Tokens can't be sorted by {name}.");
    let known: Vec<&str> = SORT_NAMES.iter().map(|(known, _)| *known).collect();
    let suggestions = close_matches(name, &known);
    if !suggestions.is_empty() {
        let suggestions: Vec<String> = suggestions
            .iter()
            .map(|name| python_str_repr(name))
            .collect();
        message.push_str(&format!(
            " Did you mean any of [{}]?",
            suggestions.join(", ")
        ));
    }
    // LinOTP answers a KeyError; its text is the repr of the message.
    Err(Failure::with_status(
        ApiError::Internal(python_str_repr(&message)),
        StatusCode::BAD_REQUEST,
    ))
}

fn list_work(ctx: &mut Ctx<'_>, params: &Params) -> Outcome<Response> {
    let allowed = visible_realms(ctx)?;
    // `page` is 0-based here, 1-based in LinOTP's iterator.
    let page = int_param(params, "page")?
        .unwrap_or(0)
        .saturating_add(1)
        .max(1);
    let page_size = int_param(params, "pageSize")?;
    let sort = sort_column(
        params
            .optional("sortBy")
            .filter(|name| !name.is_empty())
            .as_deref()
            .unwrap_or("serial"),
    )?;
    let descending = params.optional("sortOrder").as_deref() == Some("desc");
    let realm = params
        .optional("realm")
        .map_or_else(|| "*".to_owned(), |realm| realm.to_lowercase());
    let filter_realms = if allowed.iter().any(|realm| realm == "*") {
        vec![realm]
    } else if realm == "*" {
        allowed.clone()
    } else if allowed.contains(&realm) {
        vec![realm]
    } else {
        return Err(Failure::forbidden(
            "You dont have permissions on any of your requested realms.",
        ));
    };

    let mut filter = realm_filter(ctx, &filter_realms);
    filter.owner = owner_filter(ctx, params, &filter_realms)?;
    match params.optional("searchTerm").as_deref() {
        None => {}
        Some(term) if ACTIVE_FILTERS.contains(&term) => filter.active = Some(true),
        Some(term) if INACTIVE_FILTERS.contains(&term) => filter.active = Some(false),
        Some(term) => filter.text = Some(term.to_owned()),
    }

    // pageSize 0: everything on one page; no pageSize: the configured page size.
    let page_size = match page_size {
        Some(0) => None,
        Some(size) => Some(size),
        None => Some(
            ctx.config
                .get("pagesize")
                .map_or(Some(50), parse_python_int)
                .unwrap_or(20),
        ),
    };
    let paging = page_size.map(|size| {
        (
            u32::try_from(page).unwrap_or(u32::MAX),
            u32::try_from(size.max(1)).unwrap_or(u32::MAX),
        )
    });
    let found = tokens::list_shown(
        ctx.conn,
        &filter,
        &TokenListOptions {
            sort,
            descending,
            page: paging,
        },
    )?;
    let records = token_objects(ctx, &found.tokens)?;
    let (page, page_size, total_pages) = match paging {
        Some((page, size)) => (i64::from(page) - 1, i64::from(size), found.pages(size)),
        None => (0, found.total, 1),
    };
    ctx.audit.success = true;
    ctx.audit.info = format!("realm: {}", python_list(&allowed));
    result(serde_json::json!({
        "page": page,
        "pageSize": page_size,
        "totalPages": total_pages,
        "totalRecords": found.total,
        "pageRecords": records,
    }))
}

fn by_serial_work(ctx: &mut Ctx<'_>, serial: &str) -> Outcome<Response> {
    let allowed = visible_realms(ctx)?;
    let mut filter = realm_filter(ctx, &allowed);
    filter.serial = Some(SerialMatch::from_param(serial));
    let found = tokens::list_shown(ctx.conn, &filter, &TokenListOptions::default())?;
    if found.total > 1 {
        return Err(Failure::from(ApiError::Internal(format!(
            "Multiple tokens found with serial {serial}"
        ))));
    }
    let token = token_objects(ctx, &found.tokens)?
        .pop()
        .unwrap_or_else(|| Value::Object(Map::new()));
    ctx.audit.success = true;
    ctx.audit.serial = serial.to_owned();
    ctx.audit.info = format!("realm: {}", python_list(&allowed));
    result(token)
}

/// Python's `str()` of a list of strings.
fn python_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|item| python_str_repr(item)).collect();
    format!("[{}]", items.join(", "))
}

/// LinOTP's realm condition for `filter_realms` (names, `*`, `fnmatch` patterns, or
/// `/:no realm:/`).
fn realm_filter(ctx: &Ctx<'_>, filter_realms: &[String]) -> TokenFilter {
    let filter_realms: Vec<String> = filter_realms
        .iter()
        .flat_map(|realm| realm.split(','))
        .map(|realm| realm.trim().to_owned())
        .collect();
    let mut filter = TokenFilter::default();
    if !filter_realms.iter().any(|realm| realm == "*") {
        filter.realms = Some(realm_condition(&filter_realms, &realm_names(&ctx.config)));
    }
    filter
}

/// The owner conditions: `username` (exact in the realms searched, `*` wildcard over all
/// owners, `/:no user:/` for unassigned tokens), `userId` and `resolverName`.
fn owner_filter(
    ctx: &mut Ctx<'_>,
    params: &Params,
    filter_realms: &[String],
) -> Outcome<Option<OwnerFilter>> {
    let username = params.optional("username").unwrap_or_default().into_owned();
    let by_name = username_filter(ctx, &username, filter_realms)?;
    let user_id = params
        .optional("userId")
        .filter(|id| !id.is_empty())
        .map(|id| id.into_owned());
    let resolver_class = match params
        .optional("resolverName")
        .filter(|name| !name.is_empty())
    {
        Some(name) => Some(resolver_spec_by_name(&ctx.config, &name)?.full()),
        None => None,
    };
    if user_id.is_none() && resolver_class.is_none() {
        return Ok(by_name);
    }
    let candidates = tokens::list(
        ctx.conn,
        &TokenFilter {
            owner: user_id.map(|user_id| OwnerFilter::UserId {
                user_id,
                resolver_class: resolver_class.clone(),
            }),
            ..TokenFilter::default()
        },
        &TokenListOptions::default(),
    )?;
    let serials: Vec<String> = candidates
        .tokens
        .into_iter()
        .filter(|token| {
            resolver_class
                .as_ref()
                .is_none_or(|class| &token.id_res_class == class)
        })
        .filter(|token| match &by_name {
            None => true,
            Some(OwnerFilter::Unassigned) => token.user_id.is_empty(),
            Some(OwnerFilter::Serials(serials)) => serials.contains(&token.serial),
            Some(OwnerFilter::UserId { .. }) => false,
        })
        .map(|token| token.serial)
        .collect();
    Ok(Some(OwnerFilter::Serials(serials)))
}

/// LinOTP's `_get_user_condition` for a login without realm.
fn username_filter(
    ctx: &mut Ctx<'_>,
    username: &str,
    filter_realms: &[String],
) -> Outcome<Option<OwnerFilter>> {
    if username.is_empty() {
        return Ok(None);
    }
    if let Some(owner) = owner_pattern_filter(ctx, username)? {
        return Ok(Some(owner));
    }
    let defined = realm_names(&ctx.config);
    let realms: Vec<String> = if filter_realms.iter().any(|realm| realm == "*") {
        defined
    } else {
        filter_realms
            .iter()
            .filter(|realm| defined.contains(realm))
            .cloned()
            .collect()
    };
    let config = ctx.config.clone();
    let mut serials = Vec::new();
    for realm in realms {
        let requested = RequestedUser {
            login: username.to_owned(),
            realm,
            resolver_name: None,
            realm_given: true,
        };
        if let Some(user) = users::resolve_requested(ctx.app, &config, ctx.conn, &requested)? {
            serials.extend(
                users::tokens_of(ctx.conn, &user)?
                    .into_iter()
                    .map(|token| token.serial),
            );
        }
    }
    Ok(Some(OwnerFilter::Serials(serials)))
}

/// The v2 objects of `tokens`, with realms and owners looked up once.
fn token_objects(ctx: &mut Ctx<'_>, found: &[Token]) -> Outcome<Vec<Value>> {
    let ids: Vec<i32> = found.iter().map(|token| token.id).collect();
    let realm_names = tokens::realm_names_of(ctx.conn, &ids)?;
    let mut owners = OwnerCache::default();
    let mut seen = HashSet::new();
    let mut objects = Vec::with_capacity(found.len());
    for token in found.iter().filter(|token| seen.insert(token.id)) {
        let owner = owners.info(ctx, token)?;
        let realms = realm_names.get(&token.id).cloned().unwrap_or_default();
        objects.push(token_object(token, &realms, owner.as_ref()));
    }
    Ok(objects)
}

/// LinOTP's `TokenAdapter.to_JSON_format`.
fn token_object(token: &Token, realms: &[String], owner: Option<&UserInfo>) -> Value {
    let info: Map<String, Value> =
        serde_json::from_str(token.token_info.trim()).unwrap_or_default();
    let info_value = |key: &str| info.get(key).cloned().unwrap_or(Value::Null);
    let token_type = if token.token_type.is_empty() {
        "hmac".to_owned()
    } else {
        token.token_type.to_lowercase()
    };
    let user_info = if token.user_id.is_empty() {
        Value::Null
    } else {
        // LinOTP's iterator marks an owner no resolver knows with `/:no user info:/`.
        let owner_json = owner.map(UserInfo::to_json).unwrap_or_default();
        let unknown = Value::from("/:no user info:/");
        let mut parts = token.id_resolver.split('.');
        let resolver_class = parts.next().unwrap_or_default();
        let resolver_name = token.id_resolver.rsplit('.').next().unwrap_or_default();
        serde_json::json!({
            "userId": owner.map_or(unknown.clone(), |_| owner_json.get("userid").cloned().unwrap_or(unknown.clone())),
            "username": owner.map_or(unknown.clone(), |_| owner_json.get("username").cloned().unwrap_or(unknown.clone())),
            "userDescription": owner_json.get("description").cloned().unwrap_or(Value::from("")),
            "idResolverInfo": {
                "resolverName": resolver_name,
                "resolverClass": resolver_class,
            },
        })
    };
    serde_json::json!({
        "id": token.id,
        "description": token.description,
        "serial": token.serial,
        "type": token_type,
        "creationDate": iso_date(token.creation_date),
        "isActive": token.is_active,
        "realms": realms,
        "tokenConfiguration": {
            "hashLib": info_value("hashlib"),
            "timeWindow": info_value("timeWindow"),
            "timeShift": info_value("timeShift"),
            "timeStep": info_value("timeStep"),
            "countWindow": token.count_window,
            "syncWindow": token.sync_window,
            "otpLength": if token.otp_len == 0 { 6 } else { token.otp_len },
            "otpCounter": token.count,
        },
        "userInfo": user_info,
        "usageData": {
            "loginAttempts": info_value("count_auth"),
            "maxLoginAttempts": info_value("count_auth_max"),
            "successfulLoginAttempts": info_value("count_auth_success"),
            "maxSuccessfulLoginAttempts": info_value("count_auth_success_max"),
            "lastSuccessfulLoginAttempt": iso_date(token.last_auth_success),
            "failedLoginAttempts": token.fail_count,
            "maxFailedLoginAttempts": token.max_fail,
            "lastAuthenticationMatch": iso_date(token.last_auth_match),
        },
        "validityPeriod": {
            "validityStart": validity_date(info.get("validity_period_start")),
            "validityEnd": validity_date(info.get("validity_period_end")),
        },
    })
}

/// A stored UTC time as Python's `isoformat()` of LinOTP's second-precision value.
fn iso_date(date: Option<NaiveDateTime>) -> Value {
    date.map_or(Value::Null, |date| {
        Value::from(date.format("%Y-%m-%dT%H:%M:%S+00:00").to_string())
    })
}

/// A tokeninfo validity date (`%d/%m/%y %H:%M`, UTC) in ISO form; unreadable ones as null.
fn validity_date(stored: Option<&Value>) -> Value {
    let Some(text) = stored.and_then(Value::as_str) else {
        return Value::Null;
    };
    match NaiveDateTime::parse_from_str(text.trim(), "%d/%m/%y %H:%M") {
        Ok(date) => iso_date(Some(date)),
        Err(error) => {
            tracing::debug!(%error, "api/v2: unreadable token validity date");
            Value::Null
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// LinOTP's own unit test of `TokenAdapter` (tests/unit/controllers/test_tokens.py).
    #[test]
    fn token_object_matches_linotp_token_adapter() {
        let token = Token {
            id: 1,
            description: "123".into(),
            token_info: "{\n\"partition\": 0,\n\"state\": \"pairing_complete\",\n\
                         \"validity_period_start\": \"12/12/02 00:01\",\n\
                         \"validity_period_end\": \"22/11/22 08:28\"\n}"
                .into(),
            id_resolver: "SQLIdResolver.IdResolver.LinOTP_local_admins".into(),
            id_res_class: "useridresolver.SQLIdResolver.IdResolver.LinOTP_local_admins".into(),
            user_id: "netgo".into(),
            otp_len: 8,
            max_fail: 10,
            is_active: false,
            fail_count: 0,
            count: 2,
            count_window: 10,
            sync_window: 1000,
            creation_date: NaiveDateTime::parse_from_str(
                "2022-08-04 14:07:35.123",
                "%Y-%m-%d %H:%M:%S%.f",
            )
            .ok(),
            ..Token::new("LSQR00011359", "qr")
        };
        let owner = UserInfo::from_fields(vec![
            ("userid".into(), "netgo".into()),
            ("username".into(), "netgo".into()),
            ("description".into(), String::new()),
        ]);
        let object = token_object(&token, &["linotp_admins".to_owned()], Some(&owner));
        assert_eq!(
            object,
            json!({
                "id": 1, "description": "123", "serial": "LSQR00011359", "type": "qr",
                "creationDate": "2022-08-04T14:07:35+00:00", "isActive": false,
                "realms": ["linotp_admins"],
                "tokenConfiguration": {
                    "hashLib": null, "timeWindow": null, "timeShift": null, "timeStep": null,
                    "countWindow": 10, "syncWindow": 1000, "otpLength": 8, "otpCounter": 2
                },
                "userInfo": {
                    "userId": "netgo", "username": "netgo", "userDescription": "",
                    "idResolverInfo": {
                        "resolverName": "LinOTP_local_admins", "resolverClass": "SQLIdResolver"
                    }
                },
                "usageData": {
                    "loginAttempts": null, "maxLoginAttempts": null,
                    "successfulLoginAttempts": null, "maxSuccessfulLoginAttempts": null,
                    "lastSuccessfulLoginAttempt": null, "failedLoginAttempts": 0,
                    "maxFailedLoginAttempts": 10, "lastAuthenticationMatch": null
                },
                "validityPeriod": {
                    "validityStart": "2002-12-12T00:01:00+00:00",
                    "validityEnd": "2022-11-22T08:28:00+00:00"
                }
            })
        );
        let unassigned = Token {
            user_id: String::new(),
            ..token.clone()
        };
        assert_eq!(
            token_object(&unassigned, &[], None)["userInfo"],
            Value::Null
        );
        let orphan = token_object(&token, &[], None);
        assert_eq!(orphan["userInfo"]["username"], "/:no user info:/");
    }
}
