//! LinOTP's reply shapes: the JSON envelope of `sendResult` / `sendError`, the `httperror`
//! HTML page, Flask's 404 / 405 pages and the `/validate/simplecheck` text.
//!
//! Every body is rendered as LinOTP renders it (see [`crate::pyfmt`]), so a reply can be
//! compared with a recorded LinOTP reply byte for byte.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::pyfmt::{JsonStyle, python_json};

/// `jsonrpc` of every envelope: LinOTP's API version string, not JSON-RPC's "2.0".
pub const API_VERSION: &str = "2.0802";
/// The bare product version (`versionNumber`, and `version` of `/healthcheck/status`).
pub const VERSION_NUMBER: &str = "4.0.0.dev0";
/// `version` of every envelope and the prefix of the `httperror` page.
pub const PRODUCT_VERSION: &str = "LinOTP 4.0.0.dev0";

/// Media type of envelope replies (Flask `mimetype="application/json"`, no charset).
pub const JSON_CONTENT_TYPE: &str = "application/json";
/// Media type of HTML pages and the simplecheck text (Flask adds the charset).
pub const HTML_CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// The `id` member LinOTP puts into the envelope. Clients ignore it; it is kept so
/// golden replies match. Observed values (golden corpus, LinOTP 4.0.0.dev0):
///
/// | endpoint | success | error |
/// |---|---|---|
/// | most `/admin`, `/system`, `/tools`, `/userservice/pre_context` and `context` | 1 | 1 |
/// | `/validate/*` (`check`, `check_s`, `check_status`, `samlcheck`, `ok`, `fail`) | 0 | – |
/// | `/validate/check_t` (challenge answer), `accept_transaction`, `reject_transaction` | 1 | – |
/// | `/maintenance/check_status` | 0 | 1 |
/// | `/userservice/login`, `logout`, `userinfo`, `usertokenlist` | 0 | 1 |
/// | `/admin/assign` | number of serials | 0 |
/// | `/admin/setPin` | 1 | 0 |
/// | gate errors ("Not authenticated", "No valid session") | – | 1 |
pub mod reply_id {
    /// `sendResult` / `sendError` default.
    pub const DEFAULT: i64 = 1;
    /// `/validate/*`, `/maintenance/check_status`, userservice session calls.
    pub const VALIDATE: i64 = 0;
}

/// Marks a response as already LinOTP-shaped, so the catch-all in [`crate::http`] leaves it
/// alone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinotpShaped;

/// Carried by every error envelope, so the `httperror` handling can turn it into an HTML page
/// without parsing the body again.
#[derive(Debug, Clone)]
pub(crate) struct ErrorMarker {
    pub(crate) code: i64,
    pub(crate) message: String,
}

#[derive(Debug, Clone)]
enum Outcome {
    Value(Value),
    Error { code: i64, message: String },
}

/// A LinOTP JSON envelope reply, built like LinOTP's `sendResult` / `sendError`.
///
/// ```
/// use linotp_api::reply::{JsonReply, reply_id};
/// let reply = JsonReply::result(true).id(reply_id::VALIDATE);
/// assert_eq!(
///     reply.render(),
///     "{\n   \"jsonrpc\": \"2.0802\",\n   \"result\": {\n      \"status\": true,\n      \
///      \"value\": true\n   },\n   \"version\": \"LinOTP 4.0.0.dev0\",\n   \
///      \"versionNumber\": \"4.0.0.dev0\",\n   \"id\": 0\n}"
/// );
/// ```
#[derive(Debug, Clone)]
pub struct JsonReply {
    outcome: Outcome,
    status_flag: bool,
    id: Value,
    detail: Option<Value>,
    http_status: StatusCode,
}

impl JsonReply {
    /// `sendResult(value)`: `status: true`, id 1, HTTP 200.
    pub fn result(value: impl Into<Value>) -> Self {
        JsonReply {
            outcome: Outcome::Value(value.into()),
            status_flag: true,
            id: Value::from(reply_id::DEFAULT),
            detail: None,
            http_status: StatusCode::OK,
        }
    }

    /// `sendError(...)`: `status: false` with `error{code, message}`, id 1, HTTP 200.
    /// `message` is the wire text, e.g. `"ERR905: Missing parameter: 'pass'"`.
    pub fn error(code: i64, message: impl Into<String>) -> Self {
        JsonReply {
            outcome: Outcome::Error {
                code,
                message: message.into(),
            },
            status_flag: false,
            id: Value::from(reply_id::DEFAULT),
            detail: None,
            http_status: StatusCode::OK,
        }
    }

    /// Sets the envelope `id` (see [`reply_id`]).
    pub fn id(mut self, id: impl Into<Value>) -> Self {
        self.id = id.into();
        self
    }

    /// Adds `detail`; like LinOTP, an empty object, array or string adds nothing.
    pub fn detail(mut self, detail: impl Into<Value>) -> Self {
        let detail = detail.into();
        let empty = match &detail {
            Value::Null => true,
            Value::Object(map) => map.is_empty(),
            Value::Array(items) => items.is_empty(),
            Value::String(text) => text.is_empty(),
            Value::Bool(_) | Value::Number(_) => false,
        };
        self.detail = if empty { None } else { Some(detail) };
        self
    }

    /// `sendResult(..., status=False)`: a result whose `status` is false but which carries a
    /// `value` and no `error` (e.g. `/validate/check_s` errors, `/admin/unpair`).
    pub fn status_flag(mut self, status: bool) -> Self {
        self.status_flag = status;
        self
    }

    /// The HTTP status (LinOTP answers 200 except for the auth gates and `/admin/login`).
    pub fn http_status(mut self, status: StatusCode) -> Self {
        self.http_status = status;
        self
    }

    /// The envelope as a JSON tree, members in LinOTP's order.
    pub fn to_value(&self) -> Value {
        let mut result = Map::new();
        result.insert("status".to_owned(), Value::Bool(self.status_flag));
        match &self.outcome {
            Outcome::Value(value) => {
                result.insert("value".to_owned(), value.clone());
            }
            Outcome::Error { code, message } => {
                let mut error = Map::new();
                error.insert("code".to_owned(), Value::from(*code));
                error.insert("message".to_owned(), Value::from(message.as_str()));
                result.insert("error".to_owned(), Value::Object(error));
            }
        }
        let mut envelope = Map::new();
        envelope.insert("jsonrpc".to_owned(), Value::from(API_VERSION));
        envelope.insert("result".to_owned(), Value::Object(result));
        envelope.insert("version".to_owned(), Value::from(PRODUCT_VERSION));
        envelope.insert("versionNumber".to_owned(), Value::from(VERSION_NUMBER));
        envelope.insert("id".to_owned(), self.id.clone());
        if let Some(detail) = &self.detail {
            envelope.insert("detail".to_owned(), detail.clone());
        }
        Value::Object(envelope)
    }

    /// The body text, exactly as LinOTP's `json.dumps(res, indent=3)`.
    pub fn render(&self) -> String {
        python_json(&self.to_value(), JsonStyle::PRETTY)
    }
}

impl IntoResponse for JsonReply {
    fn into_response(self) -> Response {
        let body = self.render();
        let mut response = (
            self.http_status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(JSON_CONTENT_TYPE),
            )],
            body,
        )
            .into_response();
        response.extensions_mut().insert(LinotpShaped);
        if let Outcome::Error { code, message } = self.outcome {
            response
                .extensions_mut()
                .insert(ErrorMarker { code, message });
        }
        response
    }
}

/// LinOTP's `sendResult(obj, id, opt)`.
pub fn send_result(value: impl Into<Value>, id: i64, detail: Option<Value>) -> JsonReply {
    let reply = JsonReply::result(value).id(id);
    match detail {
        Some(detail) => reply.detail(detail),
        None => reply,
    }
}

/// LinOTP's `sendError(exception, id)` with the code and wire message already decided
/// (usually reached through [`crate::ApiError`]).
pub fn send_error(code: i64, message: impl Into<String>, id: i64) -> JsonReply {
    JsonReply::error(code, message).id(id)
}

/// The `httperror` status a client asked for: an integer as Python's `int()` reads it,
/// anything else (including the empty string) is 500, as in LinOTP. Values outside the
/// range HTTP can carry (100–999) also fall back to 500.
pub fn parse_httperror(raw: &str) -> u16 {
    crate::params::parse_python_int(raw)
        .and_then(|code| u16::try_from(code).ok())
        .filter(|code| (100..=999).contains(code))
        .unwrap_or(500)
}

/// The reason LinOTP writes next to an `httperror` status ("LinOTP Error" for unusual codes).
pub fn httperror_reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "LinOTP Error",
    }
}

/// The HTML body LinOTP sends instead of an error envelope when `httperror` is set.
pub fn render_httperror_page(status: u16, error_code: i64, message: &str) -> String {
    let title = format!("{status} {status} {}", httperror_reason(status));
    format!(
        "\n<html>\n<head>\n<title>{title}</title>\n</head>\n<body>\n<h1>{title}</h1>\n\
         [{PRODUCT_VERSION}] {error_code}: {message}\n<br>\n<br>\n</body>\n</html>\n"
    )
}

/// The `httperror` HTML reply with its status.
pub fn httperror_page(status: u16, error_code: i64, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    html_response(code, render_httperror_page(status, error_code, message))
}

/// Flask's page for an unknown URL.
pub const NOT_FOUND_PAGE: &str = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n\
<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL \
manually please check your spelling and try again.</p>\n";

/// Flask's page for a method the URL does not accept (GET on a POST-only endpoint).
pub const METHOD_NOT_ALLOWED_PAGE: &str = "<!doctype html>\n<html lang=en>\n\
<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n\
<p>The method is not allowed for the requested URL.</p>\n";

/// The 404 reply for unknown URLs.
pub fn not_found() -> Response {
    html_response(StatusCode::NOT_FOUND, NOT_FOUND_PAGE.to_owned())
}

/// The 405 reply for a method the endpoint does not serve.
pub fn method_not_allowed() -> Response {
    html_response(
        StatusCode::METHOD_NOT_ALLOWED,
        METHOD_NOT_ALLOWED_PAGE.to_owned(),
    )
}

fn html_response(status: StatusCode, body: String) -> Response {
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(HTML_CONTENT_TYPE),
        )],
        body,
    )
        .into_response();
    response.extensions_mut().insert(LinotpShaped);
    response
}

/// What `/validate/simplecheck` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimpleCheck {
    /// Authenticated: `:-)`.
    Accepted,
    /// Rejected, or any error: `:-(`.
    Rejected,
    /// A challenge was triggered: `:-( <transactionid> <message>`.
    Challenge {
        /// The challenge's transaction id.
        transaction_id: String,
        /// The challenge text shown to the user.
        message: String,
    },
}

impl SimpleCheck {
    /// The reply text. Surrounding whitespace is stripped as LinOTP's final `.strip()` does,
    /// which removes the trailing space of "Please enter your otp value: ".
    pub fn text(&self) -> String {
        match self {
            SimpleCheck::Accepted => ":-)".to_owned(),
            SimpleCheck::Rejected => ":-(".to_owned(),
            SimpleCheck::Challenge {
                transaction_id,
                message,
            } => format!(":-( {transaction_id} {message}").trim().to_owned(),
        }
    }
}

impl IntoResponse for SimpleCheck {
    fn into_response(self) -> Response {
        html_response(StatusCode::OK, self.text())
    }
}

/// LinOTP's `sendResultIterator`: compact JSON rows, one a line, `queried` (the rows looked
/// at) after the list. `page` is `(page, rows per page)` when paging (0-based); `page_member`
/// is the `page` the reply names (LinOTP names it when its page value is truthy).
pub(crate) fn streamed_result(
    rows: &[Value],
    page: Option<(i64, i64)>,
    page_member: Option<i64>,
) -> String {
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
    let page_member = page_member.map_or(String::new(), |page| format!(", \"page\": {page}"));
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
    fn streamed_result_matches_linotp_layout() {
        let rows = vec![json!({"userId": "1"}), json!({"userId": "2"})];
        assert_eq!(
            streamed_result(&rows, None, None),
            "{\"jsonrpc\": \"2.0802\", \"result\": {\"status\": true, \"value\":  [{\"userId\": \"1\"}\n\
             ,{\"userId\": \"2\"}\n] , \"queried\" : 2 }, \"version\": \"LinOTP 4.0.0.dev0\", \"id\": 1}"
        );
        let second = streamed_result(&rows, Some((1, 1)), Some(1));
        assert!(second.contains("[{\"userId\": \"2\"}\n] , \"queried\" : 2 , \"page\": 1}"));
        let first = streamed_result(&rows, Some((0, 1)), None);
        assert!(first.contains("[{\"userId\": \"1\"}\n] , \"queried\" : 1 }"));
        let named = streamed_result(&rows, Some((0, 1)), Some(0));
        assert!(named.contains("\"queried\" : 1 , \"page\": 0}"));
    }

    #[test]
    fn detail_follows_envelope_members_and_empty_detail_is_dropped() {
        let with = send_result(
            true,
            1,
            Some(json!({"message": "Login successful for admin"})),
        );
        let keys: Vec<_> = with
            .to_value()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            keys,
            [
                "jsonrpc",
                "result",
                "version",
                "versionNumber",
                "id",
                "detail"
            ]
        );
        let without = send_result(true, 1, Some(json!({})));
        assert!(without.to_value().get("detail").is_none());
    }

    #[test]
    fn error_envelope_has_status_false_and_code_message() {
        let value = send_error(905, "ERR905: Missing parameter: 'pass'", 1).to_value();
        assert_eq!(
            value["result"],
            json!({"status": false, "error": {"code": 905, "message": "ERR905: Missing parameter: 'pass'"}})
        );
    }

    #[test]
    fn httperror_values_parse_like_python_int() {
        assert_eq!(parse_httperror("404"), 404);
        assert_eq!(parse_httperror(" 503 "), 503);
        assert_eq!(parse_httperror(""), 500);
        assert_eq!(parse_httperror("abc"), 500);
        assert_eq!(parse_httperror("444"), 444);
        assert_eq!(parse_httperror("70000"), 500);
        assert_eq!(httperror_reason(444), "LinOTP Error");
    }

    #[test]
    fn simplecheck_challenge_strips_trailing_space() {
        let reply = SimpleCheck::Challenge {
            transaction_id: "123456789012345".into(),
            message: "Please enter your otp value: ".into(),
        };
        assert_eq!(
            reply.text(),
            ":-( 123456789012345 Please enter your otp value:"
        );
        assert_eq!(SimpleCheck::Accepted.text(), ":-)");
        assert_eq!(SimpleCheck::Rejected.text(), ":-(");
    }
}
