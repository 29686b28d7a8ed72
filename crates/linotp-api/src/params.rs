//! Request parameters the way LinOTP reads them (`getRequestParams`).
//!
//! LinOTP sees one parameter dict per request: the query string merged with an
//! `application/x-www-form-urlencoded` body (the query string wins on duplicates and the
//! first of repeated values counts, as in Werkzeug's `request.values`), or the members of a
//! JSON object body (which win over the query string; LinOTP ignores the query string for
//! JSON requests). A name ending in `[]` collects all its values as a list under the name
//! without `[]`. Names are case-sensitive.

use std::borrow::Cow;
use std::fmt;
use std::pin::Pin;

use axum::body::{Body, HttpBody};
use axum::extract::{FromRequest, Request};
use axum::http::{Method, header};
use serde_json::{Map, Value};

use crate::error::{ApiError, Result};
use crate::pyfmt::python_str_repr;

/// Default largest request body read into parameters, in bytes.
pub const DEFAULT_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Request extension holding the body size limit, set by [`crate::http::AppBuilder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit(pub usize);

/// Parameter names whose values are secrets: they never appear in logs or error messages.
/// A name is secret when its lower-cased form contains one of these fragments.
pub const SECRET_NAME_FRAGMENTS: &[&str] = &[
    "pass",
    "pin",
    "otp",
    "key",
    "secret",
    "session",
    "csrf",
    "signature",
    "managed",
    "response",
    "value",
];

/// Whether values of this parameter must be kept out of logs and messages.
pub fn is_secret_param(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_NAME_FRAGMENTS
        .iter()
        .any(|fragment| lower.contains(fragment))
}

/// LinOTP's `boolean()` (plus `on`/`off`): `true/false`, `1/0`, `yes/no`, `on/off`,
/// case-insensitive.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Python's `int(text)` for base 10: surrounding whitespace, an optional sign, digits with
/// single underscores between them. `None` where Python raises ValueError (or on overflow).
pub fn parse_python_int(text: &str) -> Option<i64> {
    let trimmed = text.trim();
    let (negative, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return None;
    }
    let mut value: i64 = 0;
    let mut previous_underscore = false;
    for ch in digits.chars() {
        if ch == '_' {
            if previous_underscore {
                return None;
            }
            previous_underscore = true;
            continue;
        }
        previous_underscore = false;
        let digit = i64::from(ch.to_digit(10)?);
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(digit)?
        } else {
            value.checked_add(digit)?
        };
    }
    Some(value)
}

/// The merged parameters of one request.
#[derive(Clone, Default, PartialEq)]
pub struct Params {
    values: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Form,
    Json,
    Ignored,
}

fn body_kind(content_type: Option<&str>) -> BodyKind {
    let Some(content_type) = content_type else {
        return BodyKind::Ignored;
    };
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media_type == "application/x-www-form-urlencoded" {
        BodyKind::Form
    } else if media_type == "application/json"
        || (media_type.starts_with("application/") && media_type.ends_with("+json"))
    {
        BodyKind::Json
    } else {
        BodyKind::Ignored
    }
}

impl Params {
    /// Parses the parameters of a request from its parts. Form bodies are ignored on GET (as
    /// Werkzeug does), bodies of other media types (e.g. multipart) are not read.
    pub fn parse(
        method: &Method,
        query: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Params> {
        let mut params = Params::default();
        if let Some(query) = query {
            params.merge_pairs(parse_urlencoded(query.as_bytes())?);
        }
        match body_kind(content_type) {
            BodyKind::Form if method != Method::GET => {
                params.merge_pairs(parse_urlencoded(body)?);
            }
            BodyKind::Json if !body.is_empty() => {
                let parsed: Value = serde_json::from_slice(body).map_err(|error| {
                    ApiError::MalformedRequest(format!("Failed to decode JSON object: {error}"))
                })?;
                let Value::Object(members) = parsed else {
                    return Err(ApiError::MalformedRequest(
                        "The JSON request body must be an object".to_owned(),
                    ));
                };
                for (name, value) in members {
                    params.values.insert(name, value);
                }
            }
            BodyKind::Form | BodyKind::Json | BodyKind::Ignored => {}
        }
        Ok(params)
    }

    /// Parameters from name/value pairs, merged like a query string.
    pub fn from_pairs<N, V>(pairs: impl IntoIterator<Item = (N, V)>) -> Params
    where
        N: Into<String>,
        V: Into<String>,
    {
        let mut params = Params::default();
        params.merge_pairs(
            pairs
                .into_iter()
                .map(|(name, value)| (name.into(), value.into())),
        );
        params
    }

    fn merge_pairs(&mut self, pairs: impl IntoIterator<Item = (String, String)>) {
        for (name, value) in pairs {
            if let Some(list_name) = name.strip_suffix("[]") {
                let entry = self
                    .values
                    .entry(list_name.to_owned())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = entry {
                    items.push(Value::String(value));
                }
            } else if !self.values.contains_key(&name) {
                self.values.insert(name, Value::String(value));
            }
        }
    }

    /// Whether the parameter was sent at all (even empty).
    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// The raw value (JSON bodies can carry numbers, booleans, lists, objects).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// The value as text: strings as sent, numbers in JSON notation, booleans as Python's
    /// `str()` writes them (`True`/`False`). `None` when absent, `null`, a list or an object.
    pub fn optional(&self, name: &str) -> Option<Cow<'_, str>> {
        match self.values.get(name)? {
            Value::String(text) => Some(Cow::Borrowed(text.as_str())),
            Value::Number(number) => Some(Cow::Owned(number.to_string())),
            Value::Bool(true) => Some(Cow::Borrowed("True")),
            Value::Bool(false) => Some(Cow::Borrowed("False")),
            Value::Null | Value::Array(_) | Value::Object(_) => None,
        }
    }

    /// The value as text, or ParameterError 905 `Missing parameter: '<name>'`.
    pub fn required(&self, name: &str) -> Result<Cow<'_, str>> {
        self.optional(name)
            .ok_or_else(|| ApiError::MissingParameter {
                name: name.to_owned(),
            })
    }

    /// All values of a list parameter (`name[]=a&name[]=b`, or a JSON array); a single
    /// text value counts as a list of one.
    pub fn list(&self, name: &str) -> Vec<Cow<'_, str>> {
        match self.values.get(name) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|item| match item {
                    Value::String(text) => Some(Cow::Borrowed(text.as_str())),
                    Value::Number(number) => Some(Cow::Owned(number.to_string())),
                    Value::Bool(flag) => Some(Cow::Borrowed(if *flag { "True" } else { "False" })),
                    Value::Null | Value::Array(_) | Value::Object(_) => None,
                })
                .collect(),
            Some(_) => self.optional(name).into_iter().collect(),
            None => Vec::new(),
        }
    }

    /// A boolean parameter: `None` when absent, an error when the text is no boolean.
    pub fn bool(&self, name: &str) -> Result<Option<bool>> {
        if let Some(Value::Bool(flag)) = self.values.get(name) {
            return Ok(Some(*flag));
        }
        let Some(text) = self.optional(name) else {
            return Ok(None);
        };
        parse_bool(&text)
            .map(Some)
            .ok_or_else(|| ApiError::InvalidBoolean {
                name: name.to_owned(),
                shown: self.shown_value(name, &text),
            })
    }

    /// A boolean parameter with a default for absence.
    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool> {
        Ok(self.bool(name)?.unwrap_or(default))
    }

    /// An integer parameter: `None` when absent, Python's ValueError text when malformed.
    pub fn int(&self, name: &str) -> Result<Option<i64>> {
        let Some(text) = self.optional(name) else {
            return Ok(None);
        };
        parse_python_int(&text)
            .map(Some)
            .ok_or_else(|| ApiError::InvalidInteger {
                name: name.to_owned(),
                shown: self.shown_value(name, &text),
            })
    }

    /// An integer parameter that must be present.
    pub fn required_int(&self, name: &str) -> Result<i64> {
        self.int(name)?.ok_or_else(|| ApiError::MissingParameter {
            name: name.to_owned(),
        })
    }

    fn shown_value(&self, name: &str, text: &str) -> String {
        if is_secret_param(name) {
            "'***'".to_owned()
        } else {
            python_str_repr(text)
        }
    }

    /// LinOTP's `getLowerParams`: names lower-cased, `session` dropped.
    pub fn lowercased(&self) -> Params {
        let mut values = Map::new();
        for (name, value) in &self.values {
            let lower = name.to_lowercase();
            if lower != "session" {
                values.insert(lower, value.clone());
            }
        }
        Params { values }
    }

    /// Name/value pairs in the order they were first seen.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.values
            .iter()
            .map(|(name, value)| (name.as_str(), value))
    }

    /// The parameters other than `control` as user search fields (name, value), in order.
    pub(crate) fn search_fields(&self, control: &[&str]) -> Vec<(String, String)> {
        self.iter()
            .filter(|(name, _)| !control.contains(name))
            .map(|(name, _)| {
                (
                    name.to_owned(),
                    self.optional(name).unwrap_or_default().into_owned(),
                )
            })
            .collect()
    }

    /// The parameters as a JSON object (what LinOTP passes on as `options`).
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.values
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no parameter was sent.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// A view for log lines: secret values are shown as `***`.
    pub fn redacted(&self) -> Redacted<'_> {
        Redacted(self)
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Params {{ {} }}", self.redacted())
    }
}

/// [`Params`] formatted for logs, secrets replaced by `***`.
#[derive(Debug, Clone, Copy)]
pub struct Redacted<'a>(&'a Params);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, (name, value)) in self.0.values.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            if is_secret_param(name) {
                write!(f, "{name}=***")?;
            } else {
                write!(f, "{name}={value}")?;
            }
        }
        Ok(())
    }
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, malformed `%` escapes
/// stay as written, and the result must be UTF-8.
pub(crate) fn parse_urlencoded(input: &[u8]) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for field in input.split(|byte| *byte == b'&') {
        if field.is_empty() {
            continue;
        }
        let (name, value) = match field.iter().position(|byte| *byte == b'=') {
            Some(split) => (&field[..split], &field[split + 1..]),
            None => (field, &field[field.len()..]),
        };
        pairs.push((percent_decode(name)?, percent_decode(value)?));
    }
    Ok(pairs)
}

fn percent_decode(input: &[u8]) -> Result<String> {
    let mut bytes = Vec::with_capacity(input.len());
    let mut index = 0;
    while index < input.len() {
        match input[index] {
            b'+' => bytes.push(b' '),
            b'%' if index + 2 < input.len() => {
                match (hex_value(input[index + 1]), hex_value(input[index + 2])) {
                    (Some(high), Some(low)) => {
                        bytes.push(high << 4 | low);
                        index += 2;
                    }
                    _ => bytes.push(b'%'),
                }
            }
            byte => bytes.push(byte),
        }
        index += 1;
    }
    String::from_utf8(bytes).map_err(|_| {
        ApiError::MalformedRequest("Failed to decode request parameters: not UTF-8".to_owned())
    })
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Reads a whole body, refusing more than `limit` bytes.
pub(crate) async fn read_body_limited(mut body: Body, limit: usize) -> Result<Vec<u8>> {
    if body.size_hint().lower() > limit as u64 {
        return Err(ApiError::BodyTooLarge { limit });
    }
    let mut buffer = Vec::new();
    loop {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            None => return Ok(buffer),
            Some(Err(error)) => {
                return Err(ApiError::MalformedRequest(format!(
                    "Failed to read the request body: {error}"
                )));
            }
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if buffer.len() + data.len() > limit {
                        return Err(ApiError::BodyTooLarge { limit });
                    }
                    buffer.extend_from_slice(&data);
                }
            }
        }
    }
}

/// Whether the request carries a body [`Params`] would read.
pub(crate) fn has_form_body(parts: &axum::http::request::Parts) -> bool {
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    body_kind(content_type) == BodyKind::Form
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self> {
        let (parts, body) = request.into_parts();
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let body = if body_kind(content_type) == BodyKind::Ignored {
            Vec::new()
        } else {
            let limit = parts
                .extensions
                .get::<BodyLimit>()
                .map_or(DEFAULT_BODY_LIMIT, |l| l.0);
            read_body_limited(body, limit).await?
        };
        let params = Params::parse(&parts.method, parts.uri.query(), content_type, &body)?;
        if let Some(slot) = parts.extensions.get::<crate::http::HttpErrorSlot>()
            && params.contains("httperror")
        {
            slot.record(params.optional("httperror").as_deref().unwrap_or(""));
        }
        Ok(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(query: Option<&str>, body: &str) -> Params {
        Params::parse(
            &Method::POST,
            query,
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn query_and_form_merge_with_query_first_and_first_value_winning() {
        let params = form(Some("user=alice&realm=q"), "realm=body&pass=1234&pass=9999");
        assert_eq!(params.optional("user").as_deref(), Some("alice"));
        assert_eq!(params.optional("realm").as_deref(), Some("q"));
        assert_eq!(params.optional("pass").as_deref(), Some("1234"));
    }

    #[test]
    fn names_are_case_sensitive_and_decoding_handles_plus_and_percent() {
        let params = form(None, "User=a+b&user=c%40d&bad=%zz%4");
        assert_eq!(params.optional("User").as_deref(), Some("a b"));
        assert_eq!(params.optional("user").as_deref(), Some("c@d"));
        assert_eq!(params.optional("bad").as_deref(), Some("%zz%4"));
    }

    #[test]
    fn bracket_names_collect_lists() {
        let params = form(Some("tokens[]=A"), "tokens[]=B&tokens[]=C");
        assert_eq!(params.list("tokens"), ["A", "B", "C"]);
        assert!(!params.contains("tokens[]"));
    }

    #[test]
    fn json_body_members_win_over_query() {
        let params = Params::parse(
            &Method::POST,
            Some("serial=fromquery&httperror=500"),
            Some("application/json; charset=utf-8"),
            br#"{"serial": "S1", "count": 3, "flag": true}"#,
        )
        .unwrap();
        assert_eq!(params.optional("serial").as_deref(), Some("S1"));
        assert_eq!(params.int("count").unwrap(), Some(3));
        assert_eq!(params.bool("flag").unwrap(), Some(true));
        assert_eq!(params.optional("flag").as_deref(), Some("True"));
        assert_eq!(params.optional("httperror").as_deref(), Some("500"));
    }

    #[test]
    fn malformed_bodies_are_rejected_as_malformed_requests() {
        let bad_json = Params::parse(
            &Method::POST,
            None,
            Some("application/json"),
            b"{\"user\": ",
        );
        assert!(matches!(bad_json, Err(ApiError::MalformedRequest(_))));
        let not_object = Params::parse(&Method::POST, None, Some("application/json"), b"[1]");
        assert!(matches!(not_object, Err(ApiError::MalformedRequest(_))));
        let not_utf8 = Params::parse(
            &Method::POST,
            None,
            Some("application/x-www-form-urlencoded"),
            b"user=%ff%fe",
        );
        assert!(matches!(not_utf8, Err(ApiError::MalformedRequest(_))));
    }

    #[test]
    fn form_body_is_ignored_on_get() {
        let params = Params::parse(
            &Method::GET,
            Some("a=1"),
            Some("application/x-www-form-urlencoded"),
            b"b=2",
        )
        .unwrap();
        assert!(params.contains("a"));
        assert!(!params.contains("b"));
    }

    #[test]
    fn required_reports_the_linotp_message() {
        let params = Params::from_pairs([("serial", "S1")]);
        let error = params.required("pass").unwrap_err();
        assert_eq!(error.code(), 905);
        assert_eq!(error.message(), "ERR905: Missing parameter: 'pass'");
        assert_eq!(params.required("serial").unwrap(), "S1");
    }

    #[test]
    fn booleans_parse_case_insensitively() {
        let params = Params::from_pairs([
            ("a", "TRUE"),
            ("b", "off"),
            ("c", "Yes"),
            ("d", "0"),
            ("e", "maybe"),
        ]);
        assert_eq!(params.bool("a").unwrap(), Some(true));
        assert_eq!(params.bool("b").unwrap(), Some(false));
        assert_eq!(params.bool("c").unwrap(), Some(true));
        assert_eq!(params.bool("d").unwrap(), Some(false));
        assert_eq!(params.bool("missing").unwrap(), None);
        assert!(params.bool_or("missing", true).unwrap());
        let error = params.bool("e").unwrap_err();
        assert_eq!(error.message(), "unable to convert 'maybe' to a boolean");
    }

    #[test]
    fn integers_parse_like_python_int_and_report_its_message() {
        assert_eq!(parse_python_int(" -42 "), Some(-42));
        assert_eq!(parse_python_int("+1_000"), Some(1000));
        assert_eq!(parse_python_int("1__0"), None);
        assert_eq!(parse_python_int("_1"), None);
        assert_eq!(parse_python_int("1.5"), None);
        assert_eq!(parse_python_int(""), None);
        assert_eq!(parse_python_int("99999999999999999999"), None);
        let params = Params::from_pairs([("MaxFailCount", "abc"), ("otppin", "12x")]);
        let error = params.int("MaxFailCount").unwrap_err();
        assert_eq!(error.code(), -311);
        assert_eq!(
            error.message(),
            "invalid literal for int() with base 10: 'abc'"
        );
        let secret = params.int("otppin").unwrap_err();
        assert!(!secret.message().contains("12x"));
    }

    #[test]
    fn secrets_are_redacted_in_debug_and_log_views() {
        let params = Params::from_pairs([
            ("user", "alice"),
            ("pass", "pin123456"),
            ("otpkey", "3132333435"),
            ("PIN", "0000"),
            ("new_password", "hunter2"),
        ]);
        let shown = format!("{params:?} {}", params.redacted());
        for secret in ["pin123456", "3132333435", "0000", "hunter2"] {
            assert!(!shown.contains(secret), "{secret} leaked in {shown}");
        }
        assert!(shown.contains("alice"));
    }

    #[test]
    fn lowercased_drops_session() {
        let params = Params::from_pairs([("MaxFailCount", "3"), ("session", "x")]);
        let lower = params.lowercased();
        assert_eq!(lower.optional("maxfailcount").as_deref(), Some("3"));
        assert!(!lower.contains("session"));
        assert_eq!(
            lower.as_map(),
            json!({"maxfailcount": "3"}).as_object().unwrap()
        );
    }
}
