//! `GET /api/v2/realms/` and `GET /api/v2/realms/<realm>/users`.

use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{Ctx, Failure, Outcome, answer, defined_realms, int_param, result, user_object};
use crate::app::AppState;
use crate::auth::AdminIdentity;
use crate::http::ClientIp;
use crate::params::Params;
use crate::pyfmt::{JsonStyle, python_json};
use crate::reply::{API_VERSION, JSON_CONTENT_TYPE, LinotpShaped, PRODUCT_VERSION};
use crate::users::{self, ResolverSpec};

/// `GET /api/v2/realms/`: every realm (system `read`).
pub(super) async fn list(
    State(app): State<AppState>,
    admin: AdminIdentity,
    client: Option<ClientIp>,
    uri: Uri,
) -> Response {
    answer(app, admin, client, uri.path(), list_work).await
}

fn list_work(ctx: &mut Ctx<'_>) -> Outcome<Response> {
    ctx.require_system_read()?;
    let default_realm = ctx.config.default_realm();
    let admin_realm = ctx.app.options.admin_realm.to_lowercase();
    let realms: Vec<Value> = defined_realms(&ctx.config)
        .into_iter()
        .map(|realm| {
            let key = realm.key();
            serde_json::json!({
                "name": realm.name,
                "entry": realm.entry,
                "userIdResolvers": realm.resolvers,
                "default": default_realm.as_deref() == Some(key.as_str()),
                "admin": key == admin_realm,
            })
        })
        .collect();
    ctx.audit.success = true;
    result(realms)
}

/// `GET /api/v2/realms/<realm>/users`: the users of the realm's resolvers (admin
/// `userlist` in the realm), in LinOTP's streamed layout.
pub(super) async fn users(
    State(app): State<AppState>,
    admin: AdminIdentity,
    client: Option<ClientIp>,
    uri: Uri,
    Path(realm): Path<String>,
    params: Params,
) -> Response {
    answer(app, admin, client, uri.path(), move |ctx| {
        users_work(ctx, &realm, &params)
    })
    .await
}

/// Request parameters that page the listing instead of searching.
const PAGING_PARAMS: [&str; 2] = ["rp", "page"];

fn users_work(ctx: &mut Ctx<'_>, realm: &str, params: &Params) -> Outcome<Response> {
    if !ctx.admin_rights(Some("userlist")).permits(realm) {
        tracing::warn!(admin = %ctx.admin.username, realm, "api/v2: userlist refused");
        return Err(Failure::forbidden(
            "Admin has no rights to list users in the requested realm.",
        ));
    }
    // LinOTP: `rp` alone pages from 0; `page` alone pages by 16; `rp=0` is no paging.
    let per_page = int_param(params, "rp")?.filter(|rp| *rp != 0);
    let page = match params.optional("page").filter(|page| !page.is_empty()) {
        Some(_) => int_param(params, "page")?,
        None => per_page.filter(|rp| *rp > 0).map(|_| 0),
    };
    let search: Vec<(String, String)> = params
        .iter()
        .filter(|(name, _)| !PAGING_PARAMS.contains(name))
        .map(|(name, _)| {
            (
                name.to_owned(),
                params.optional(name).unwrap_or_default().into_owned(),
            )
        })
        .collect();

    let mut rows = Vec::new();
    for spec_text in ctx.config.realm_resolvers(realm) {
        let Some(spec) = ResolverSpec::parse(&spec_text) else {
            continue;
        };
        let Some(resolver) = users::open_resolver(ctx.app, &spec, &ctx.config) else {
            continue;
        };
        // As LinOTP's iterator: a failing resolver is logged and the next one asked.
        match resolver.list_users(&search) {
            Ok(found) => rows.extend(
                found
                    .iter()
                    .map(|info| user_object(&spec, &info.to_json(), None)),
            ),
            Err(error) => tracing::warn!(resolver = %spec, %error, "api/v2: resolver failed"),
        }
    }
    ctx.audit.success = true;
    ctx.audit.info = format!("realm: {realm}");
    let page = page.map(|page| (page, per_page.unwrap_or(16)));
    let mut response = (
        [(axum::http::header::CONTENT_TYPE, JSON_CONTENT_TYPE)],
        streamed_list(&rows, page),
    )
        .into_response();
    response.extensions_mut().insert(LinotpShaped);
    Ok(response)
}

/// LinOTP's `sendResultIterator`: one compact row per line, `queried` (rows looked at) after
/// the list and `page` when it is not 0 (Python tests the number's truth).
fn streamed_list(rows: &[Value], page: Option<(i64, i64)>) -> String {
    let (start, stop) = match page {
        Some((page, per_page)) => {
            let start = page.saturating_mul(per_page);
            (start, start.saturating_add(per_page))
        }
        None => (0, i64::MAX),
    };
    let mut body =
        format!("{{\"jsonrpc\": \"{API_VERSION}\", \"result\": {{\"status\": true, \"value\":  [");
    let mut separator = "";
    let mut queried: i64 = 0;
    for row in rows {
        if page.is_some() && queried >= stop {
            break;
        }
        if queried >= start {
            body.push_str(separator);
            body.push_str(&python_json(row, JsonStyle::Spaced));
            body.push('\n');
            separator = ",";
        }
        queried += 1;
    }
    let page_member = match page {
        Some((page, _)) if page != 0 => format!(", \"page\": {page}"),
        _ => String::new(),
    };
    body.push_str(&format!(
        "] , \"queried\" : {queried} {page_member}}}, \"version\": \"{PRODUCT_VERSION}\", \"id\": 1}}"
    ));
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn streamed_list_matches_linotp_layout() {
        let rows = vec![json!({"userId": "1"}), json!({"userId": "2"})];
        assert_eq!(
            streamed_list(&rows, None),
            "{\"jsonrpc\": \"2.0802\", \"result\": {\"status\": true, \"value\":  [{\"userId\": \"1\"}\n\
             ,{\"userId\": \"2\"}\n] , \"queried\" : 2 }, \"version\": \"LinOTP 4.0.0.dev0\", \"id\": 1}"
        );
        let second = streamed_list(&rows, Some((1, 1)));
        assert!(second.contains("[{\"userId\": \"2\"}\n] , \"queried\" : 2 , \"page\": 1}"));
        let first = streamed_list(&rows, Some((0, 1)));
        assert!(first.contains("[{\"userId\": \"1\"}\n] , \"queried\" : 1 }"));
    }
}
