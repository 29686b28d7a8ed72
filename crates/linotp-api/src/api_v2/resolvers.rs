//! `GET /api/v2/resolvers/`, `/api/v2/resolvers/<name>/users` and
//! `/api/v2/resolvers/<name>/users/<userid>`.

use std::cmp::Ordering;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::{
    Ctx, Failure, Outcome, V2Request, int_param, resolver_spec_by_name, result, user_object,
};
use crate::error::ApiError;
use crate::params::Params;
use crate::pyfmt::python_str_repr;
use crate::system_api::{admin_resolver_names, all_realms, defined_resolvers, is_readonly};
use crate::users::{self, Resolver, ResolverSpec};

/// `GET /api/v2/resolvers/`: every resolver (system `read`).
pub(super) async fn list(request: V2Request) -> Response {
    request.answer(list_work).await
}

fn list_work(ctx: &mut Ctx<'_>) -> Outcome<Response> {
    ctx.require_system_read()?;
    let admin_realm = &ctx.app.options.admin_realm;
    let realms = all_realms(&ctx.config, admin_realm);
    let admin_resolvers = admin_resolver_names(&ctx.config, admin_realm);
    let resolvers: Vec<Value> = defined_resolvers(&ctx.config)
        .into_iter()
        .map(|(name, class)| {
            let in_realms: Vec<&str> = realms
                .iter()
                .filter(|(_, realm)| realm.lists_resolver(&name))
                .map(|(key, _)| key.as_str())
                .collect();
            serde_json::json!({
                "name": name,
                "type": class.type_name(),
                "spec": ResolverSpec::new(class, &name).full(),
                // LinOTP sets the key only for a readonly resolver.
                "readonly": if is_readonly(&ctx.config, class, &name) { Value::Bool(true) } else { Value::Null },
                "admin": admin_resolvers.contains(&name),
                "realms": in_realms,
            })
        })
        .collect();
    ctx.audit.success = true;
    result(resolvers)
}

/// The resolver called `name`, if the admin may list its users: admin `userlist` in one of
/// its realms, or in every realm for a resolver in none.
fn visible_resolver(ctx: &Ctx<'_>, name: &str) -> Outcome<(ResolverSpec, Resolver)> {
    let spec = resolver_spec_by_name(&ctx.config, name)?;
    let realms: Vec<String> = all_realms(&ctx.config, &ctx.app.options.admin_realm)
        .into_iter()
        .filter(|(_, realm)| realm.lists_resolver(name))
        .map(|(key, _)| key)
        .collect();
    if !ctx
        .admin_rights(Some("userlist"))
        .permits_token(&realms, false)
    {
        tracing::warn!(admin = %ctx.admin.username, resolver = name, "api/v2: userlist refused");
        return Err(Failure::forbidden(
            "Admin has no rights to list users in the requested resolver.",
        ));
    }
    let resolver = users::open_resolver(ctx.app, &spec, &ctx.config).ok_or_else(|| {
        Failure::with_status(
            ApiError::Internal(format!(
                "Could not find a resolver with this spec: {}",
                spec.full()
            )),
            StatusCode::NOT_FOUND,
        )
    })?;
    Ok((spec, resolver))
}

/// Request parameters that sort and page instead of searching.
const CONTROL_PARAMS: [&str; 4] = ["page", "pageSize", "sortOrder", "sortBy"];

/// `GET /api/v2/resolvers/<name>/users`: the resolver's users, sorted and paged.
pub(super) async fn users(
    request: V2Request,
    Path(resolver): Path<String>,
    params: Params,
) -> Response {
    request
        .answer(move |ctx| users_work(ctx, &resolver, &params))
        .await
}

fn users_work(ctx: &mut Ctx<'_>, name: &str, params: &Params) -> Outcome<Response> {
    let (spec, resolver) = visible_resolver(ctx, name)?;
    let page = int_param(params, "page")?.unwrap_or(0);
    let page_size = int_param(params, "pageSize")?;
    if page < 0 || page_size.is_some_and(|size| size < 0) {
        return Err(Failure::with_status(
            ApiError::Parameter("page and pageSize must not be negative".to_owned()),
            StatusCode::BAD_REQUEST,
        ));
    }
    let descending = params.optional("sortOrder").as_deref() == Some("desc");
    let sort_key = params
        .optional("sortBy")
        .map_or_else(|| "username".to_owned(), |key| key.into_owned());

    let mut search = vec![("username".to_owned(), "*".to_owned())];
    for (param, _) in params.iter() {
        if CONTROL_PARAMS.contains(&param) {
            continue;
        }
        let value = params.optional(param).unwrap_or_default().into_owned();
        match search.iter_mut().find(|(name, _)| name == param) {
            Some(slot) => slot.1 = value,
            None => search.push((param.to_owned(), value)),
        }
    }
    let mut records: Vec<Value> = resolver
        .list_users(&search)?
        .iter()
        .map(|info| user_object(&spec, &info.to_json(), None))
        .collect();
    if records
        .first()
        .is_some_and(|user| user.get(&sort_key).is_none())
    {
        // str(KeyError(message)) is the repr of the message.
        return Err(Failure::with_status(
            ApiError::Internal(python_str_repr(&format!(
                "users can't be sorted by parameter {sort_key}"
            ))),
            StatusCode::BAD_REQUEST,
        ));
    }
    // Stable in both directions, as Python's `sorted(..., reverse=True)`.
    records.sort_by(|a, b| {
        let order = compare_sort_values(&a[&sort_key], &b[&sort_key]);
        if descending { order.reverse() } else { order }
    });

    let total = i64::try_from(records.len()).unwrap_or(i64::MAX);
    let (page_size, total_pages, records) = match page_size.filter(|size| *size > 0) {
        Some(size) => {
            let start = usize::try_from(page.saturating_mul(size)).unwrap_or(usize::MAX);
            let size_usize = usize::try_from(size).unwrap_or(usize::MAX);
            let page_records: Vec<Value> =
                records.into_iter().skip(start).take(size_usize).collect();
            (size, (total + size - 1) / size, page_records)
        }
        None => (total, 1, records),
    };
    ctx.audit.success = true;
    result(serde_json::json!({
        "page": page,
        "pageSize": page_size,
        "totalPages": total_pages,
        "totalRecords": total,
        "pageRecords": records,
    }))
}

/// Python's order of `user[key] or ""`: missing and empty values as "", numbers by value.
fn compare_sort_values(a: &Value, b: &Value) -> Ordering {
    fn text(value: &Value) -> String {
        match value {
            Value::Null => String::new(),
            Value::String(text) => text.clone(),
            other => other.to_string(),
        }
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        _ => text(a).cmp(&text(b)),
    }
}

/// `GET /api/v2/resolvers/<name>/users/<userid>`: one user (404 when the resolver does not
/// know the id).
pub(super) async fn user(
    request: V2Request,
    Path((resolver, user_id)): Path<(String, String)>,
) -> Response {
    request
        .answer(move |ctx| user_work(ctx, &resolver, &user_id))
        .await
}

fn user_work(ctx: &mut Ctx<'_>, name: &str, user_id: &str) -> Outcome<Response> {
    let (spec, resolver) = visible_resolver(ctx, name)?;
    let Some(info) = resolver.user_info(user_id)? else {
        return Err(Failure::with_status(
            ApiError::Internal(format!(
                "Could not find a user with ID {user_id} in resolver {name}."
            )),
            StatusCode::NOT_FOUND,
        ));
    };
    ctx.audit.success = true;
    result(user_object(&spec, &info.to_json(), Some(user_id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sort_values_order_numbers_by_value_and_null_as_empty_text() {
        assert_eq!(compare_sort_values(&json!(9), &json!(10)), Ordering::Less);
        assert_eq!(
            compare_sort_values(&json!("b"), &json!("a")),
            Ordering::Greater
        );
        assert_eq!(
            compare_sort_values(&Value::Null, &json!("")),
            Ordering::Equal
        );
        assert_eq!(
            compare_sort_values(&Value::Null, &json!("a")),
            Ordering::Less
        );
    }
}
