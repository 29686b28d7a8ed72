//! `GET /api/v2/auditlog/`: audit rows, filtered, sorted and paged (audit `view`).

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use linotp_store::audit::{AuditColumn, AuditQuery};
use serde_json::{Map, Value};

use super::{Failure, Outcome, V2Request, int_param};
use crate::audit::{AuditLine, AuditSearch};
use crate::error::ApiError;
use crate::params::Params;
use crate::reply::JsonReply;

/// The v2 filter names and LinOTP's audit search keys behind them.
const FILTERS: [(&str, &str); 15] = [
    ("id", "number"),
    ("timestamp", "date"),
    ("action", "action"),
    ("actionDetail", "action_detail"),
    ("success", "success"),
    ("serial", "serial"),
    ("tokenType", "tokentype"),
    ("user", "user"),
    ("realm", "realm"),
    ("administrator", "administrator"),
    ("info", "info"),
    ("linotpServer", "linotp_server"),
    ("client", "client"),
    ("logLevel", "log_level"),
    ("clearanceLevel", "clearance_level"),
];

/// `GET /api/v2/auditlog/`.
pub(super) async fn list(request: V2Request, params: Params) -> Response {
    let app = Arc::clone(&request.app);
    // The permission needs the configuration (a connection); the search runs on the audit
    // store afterwards, once the rows of earlier requests are stored, and this request's own
    // row is recorded last, as LinOTP logs it after answering.
    let (checked, mut event) = request
        .run(move |ctx| {
            // Unlike /audit/search, this controller refuses with HTTP 403.
            ctx.require_audit_view()
                .map_err(|refusal| Failure::with_status(refusal, StatusCode::FORBIDDEN))?;
            search_of(&params)
        })
        .await;
    let response = match checked {
        Err(failure) => failure.into_response(),
        Ok(search) => match app.audit.search_stored(search.clone()).await {
            Ok(page) => {
                event.success = true;
                page_reply(&search, page.rows, page.total)
            }
            Err(error) => {
                tracing::error!(%error, "api/v2/auditlog: search failed");
                Failure::from(error).into_response()
            }
        },
    };
    app.audit.record(event).await;
    response
}

/// The request as LinOTP's `AuditQuery` sees it: mapped filters with `*` as SQL `%`,
/// `success` as `1`/`0`, sort column and order (default: id, descending), 1-based page.
fn search_of(params: &Params) -> Outcome<AuditSearch> {
    let mut conditions = Vec::new();
    for (name, key) in FILTERS {
        let Some(value) = params.optional(name) else {
            continue;
        };
        let value = match (key, value.to_lowercase().as_str()) {
            ("success", "true") => "1".to_owned(),
            ("success", "false") => "0".to_owned(),
            _ => value.into_owned(),
        };
        if value.is_empty() {
            continue;
        }
        if let Some(column) = AuditColumn::from_param(key) {
            conditions.push((column, value.replace('*', "%")));
        }
    }
    let descending = params.optional("sortOrder").as_deref() != Some("asc");
    let sort = params
        .optional("sortBy")
        .and_then(|name| {
            FILTERS
                .iter()
                .find(|(v2_name, _)| *v2_name == name.as_ref())
                .and_then(|(_, key)| AuditColumn::from_param(key))
        })
        .unwrap_or_default();
    let page = int_param(params, "page")?.unwrap_or(0).saturating_add(1);
    let page_size = int_param(params, "pageSize")?.unwrap_or(15);
    if page_size < 0 {
        return Err(Failure::with_status(
            ApiError::Parameter("pageSize must not be negative".to_owned()),
            StatusCode::BAD_REQUEST,
        ));
    }
    // LinOTP's AuditQuery reads a page below 1 as page 1.
    let page = if page < 1 { 1 } else { page };
    let paging = (page_size > 0).then(|| {
        (
            u32::try_from(page).unwrap_or(u32::MAX),
            u32::try_from(page_size).unwrap_or(u32::MAX),
        )
    });
    Ok(AuditSearch {
        query: AuditQuery {
            conditions,
            match_any: false,
            sort,
            descending,
            page: paging,
        },
        page_number: if paging.is_some() { page } else { 1 },
        rows_per_page: paging.map(|(_, size)| i64::from(size)),
        headers: false,
        csv: false,
    })
}

fn page_reply(search: &AuditSearch, rows: Vec<AuditLine>, total: i64) -> Response {
    let total_pages = match search.rows_per_page {
        Some(size) if size > 0 => (total + size - 1) / size,
        _ => 1,
    };
    let entries: Vec<Value> = rows.iter().map(entry).collect();
    JsonReply::result(serde_json::json!({
        "page": search.page_number - 1,
        "pageSize": entries.len(),
        "totalPages": total_pages,
        "totalRecords": total,
        "pageRecords": entries,
    }))
    .into_response()
}

/// LinOTP's `row2dictApiV2`, from the `/audit/search` cells of the row (empty texts null).
fn entry(line: &AuditLine) -> Value {
    let cell = |index: usize| match line.cells.get(index) {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(text)) if text.is_empty() || text == "''" => Value::Null,
        Some(value) => value.clone(),
    };
    let mut entry = Map::new();
    entry.insert("id".to_owned(), Value::from(line.id));
    entry.insert("timestamp".to_owned(), cell(1));
    entry.insert("serial".to_owned(), cell(6));
    entry.insert("action".to_owned(), cell(4));
    entry.insert("actionDetail".to_owned(), cell(11));
    entry.insert(
        "success".to_owned(),
        Value::Bool(line.cells.get(5).and_then(Value::as_str) == Some("1")),
    );
    entry.insert("tokenType".to_owned(), cell(7));
    entry.insert("user".to_owned(), cell(8));
    entry.insert("realm".to_owned(), cell(9));
    entry.insert("administrator".to_owned(), cell(10));
    entry.insert("info".to_owned(), cell(12));
    entry.insert("linotpServer".to_owned(), cell(13));
    entry.insert("client".to_owned(), cell(14));
    entry.insert("logLevel".to_owned(), cell(15));
    entry.insert("clearanceLevel".to_owned(), cell(16));
    entry.insert(
        "signatureCheck".to_owned(),
        Value::Bool(line.cells.get(2).and_then(Value::as_str) == Some("OK")),
    );
    Value::Object(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_map_to_linotp_search_keys_with_sql_wildcards() {
        let params = Params::from_pairs([
            ("action", "admin/*"),
            ("success", "True"),
            ("tokenType", ""),
            ("sortBy", "timestamp"),
            ("page", "2"),
            ("pageSize", "5"),
        ]);
        let search = search_of(&params).unwrap();
        assert_eq!(
            search.query.conditions,
            [
                (AuditColumn::Action, "admin/%".to_owned()),
                (AuditColumn::Success, "1".to_owned())
            ]
        );
        assert_eq!(search.query.sort, AuditColumn::Timestamp);
        assert!(search.query.descending, "LinOTP's default order is desc");
        assert_eq!(search.query.page, Some((3, 5)));

        let everything = search_of(&Params::from_pairs([("pageSize", "0")])).unwrap();
        assert_eq!(everything.query.page, None);
        assert_eq!(everything.page_number, 1);
    }

    #[test]
    fn entries_are_linotp_objects_with_empty_texts_as_null() {
        let mut cells: Vec<Value> = vec![Value::from(""); 17];
        cells[0] = Value::from(7);
        cells[1] = Value::from("2024-01-02 03:04:05.000006");
        cells[2] = Value::from("OK");
        cells[4] = Value::from("validate/check");
        cells[5] = Value::from("1");
        cells[10] = Value::from("''");
        cells[16] = Value::from(0);
        let entry = entry(&AuditLine { id: 7, cells });
        assert_eq!(entry["id"], 7);
        assert_eq!(entry["timestamp"], "2024-01-02 03:04:05.000006");
        assert_eq!(entry["success"], true);
        assert_eq!(entry["signatureCheck"], true);
        assert_eq!(entry["administrator"], Value::Null);
        assert_eq!(entry["serial"], Value::Null);
        assert_eq!(entry["clearanceLevel"], 0);
    }
}
