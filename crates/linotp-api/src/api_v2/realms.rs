//! `GET /api/v2/realms/` and `GET /api/v2/realms/<realm>/users`.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{Ctx, Failure, Outcome, V2Request, int_param, result, user_object};
use crate::params::Params;
use crate::reply::{JSON_CONTENT_TYPE, LinotpShaped, streamed_result};
use crate::system_api::all_realms;
use crate::users;

/// `GET /api/v2/realms/`: every realm (system `read`).
pub(super) async fn list(request: V2Request) -> Response {
    request.answer(list_work).await
}

fn list_work(ctx: &mut Ctx<'_>) -> Outcome<Response> {
    ctx.require_system_read()?;
    let realms: Vec<Value> = all_realms(&ctx.config, &ctx.app.options.admin_realm)
        .into_iter()
        .map(|(_, realm)| {
            serde_json::json!({
                "name": realm.realmname,
                "entry": realm.entry,
                "userIdResolvers": realm.resolvers,
                "default": realm.is_default,
                "admin": realm.is_admin,
            })
        })
        .collect();
    ctx.audit.success = true;
    result(realms)
}

/// `GET /api/v2/realms/<realm>/users`: the users of the realm's resolvers (admin
/// `userlist` in the realm), in LinOTP's streamed layout.
pub(super) async fn users(
    request: V2Request,
    Path(realm): Path<String>,
    params: Params,
) -> Response {
    request
        .answer(move |ctx| users_work(ctx, &realm, &params))
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
    let search = params.search_fields(&PAGING_PARAMS);
    let specs = ctx.config.realm_resolvers(realm);
    let rows: Vec<Value> = users::users_of_resolvers(ctx.app, &ctx.config, specs, &search)
        .into_iter()
        .flat_map(|(_, spec, found)| {
            found
                .into_iter()
                .map(move |info| user_object(&spec, &info.to_json(), None))
        })
        .collect();
    ctx.audit.success = true;
    ctx.audit.info = format!("realm: {realm}");
    let page = page.map(|page| (page, per_page.unwrap_or(16)));
    let mut response = (
        [(axum::http::header::CONTENT_TYPE, JSON_CONTENT_TYPE)],
        // LinOTP names the page when it is not 0 (Python tests the number's truth).
        streamed_result(
            &rows,
            page,
            page.map(|(page, _)| page).filter(|page| *page != 0),
        ),
    )
        .into_response();
    response.extensions_mut().insert(LinotpShaped);
    Ok(response)
}
