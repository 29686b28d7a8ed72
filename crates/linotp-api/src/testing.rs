//! Golden-file replay support (feature `testing`): load the recorded LinOTP exchanges of
//! `fixtures/golden/*.json` and compare a reply with a case by the corpus rules (its
//! README): exact status, the media type, the set of `Set-Cookie` names, JSON compared as a
//! tree with `<placeholder>` wildcards (whole values, inside strings, and as object keys),
//! other bodies compared as text with the same wildcards. Values matched by placeholders are
//! captured so later cases can send them back (`transactionid`, the session cookie).
//!
//! ```
//! use linotp_api::testing::{Captures, GoldenCase, ObservedReply, compare};
//! let case: GoldenCase = serde_json::from_str(r#"{
//!     "name": "simplecheck.challenge", "method": "POST", "path": "/validate/simplecheck",
//!     "params": {}, "auth": "none", "status": 200,
//!     "headers": {"Content-Type": "text/html; charset=utf-8"},
//!     "body": ":-( <transactionid> Please enter your otp value:", "notes": ""}"#).unwrap();
//! let observed = ObservedReply {
//!     status: 200,
//!     content_type: Some("text/html; charset=utf-8".into()),
//!     set_cookie_names: vec![],
//!     body: ":-( 735115093626 Please enter your otp value:".into(),
//! };
//! let mut captures = Captures::default();
//! compare(&case, &observed, &mut captures).unwrap();
//! assert_eq!(captures.get("transactionid"), Some("735115093626"));
//! ```

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use axum::http::header;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{ApiError, Result};
use crate::params::read_body_limited;

/// Environment variable naming the golden directory.
pub const GOLDEN_DIR_ENV: &str = "LINOTP_GOLDEN_DIR";
/// Where the golden corpus lives: the project's shared documents beside the checkout.
pub const DEFAULT_GOLDEN_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/golden"
);
/// Environment variable naming the LinOTP-made fixture (`linotp.db`, `encKey`, manifest).
pub const FIXTURE_DIR_ENV: &str = "LINOTP_FIXTURE_DIR";
/// Where the LinOTP-made fixture lives: the project's shared documents beside the checkout.
pub const DEFAULT_FIXTURE_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/linotp-sqlite"
);

/// The placeholder names of the corpus (README table). Only these count as wildcards, so
/// HTML such as `<br>` stays literal.
pub const PLACEHOLDERS: &[&str] = &[
    "transactionid",
    "otpkey",
    "otpkey_base32",
    "png",
    "tokenid",
    "date",
    "lost_password",
    "end_date",
    "uptime",
    "config_timestamp",
    "partition_key",
    "audit_id",
    "timestamp",
    "tokennum",
    "linotp_server",
    "user_selfservice",
];

/// Which credentials a case sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GoldenAuth {
    /// No cookies.
    None,
    /// The admin cookies from `/admin/login` (+ `X-CSRF-TOKEN` on POST).
    Admin,
    /// The `user_selfservice` cookie (+ `session` form field).
    Userservice,
}

/// The recorded reply headers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GoldenHeaders {
    /// `Content-Type` as sent.
    #[serde(rename = "Content-Type", default)]
    pub content_type: Option<String>,
    /// Names of the cookies set, sorted.
    #[serde(rename = "Set-Cookie", default)]
    pub set_cookie: Vec<String>,
}

/// A multipart file upload of a case.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GoldenFile {
    /// File name sent.
    pub filename: String,
    /// Its media type.
    pub content_type: String,
    /// Its text.
    pub content: String,
}

/// The `csrf_header` field of `errors.json`: left out, or a wrong value.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum CsrfHeader {
    /// `false`: the header was left out although the admin cookies were sent.
    Omitted(bool),
    /// The (wrong) value sent.
    Value(String),
}

/// One recorded request/reply pair.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GoldenCase {
    /// Unique within its file; `setup.` / `teardown.` mark scaffolding.
    pub name: String,
    /// `GET` (params in the query) or `POST` (params as a form body).
    pub method: String,
    /// URL path.
    pub path: String,
    /// Form or query fields; values may hold placeholders to fill from earlier replies.
    #[serde(default)]
    pub params: Map<String, Value>,
    /// Credentials sent.
    pub auth: GoldenAuth,
    /// HTTP status.
    pub status: u16,
    /// Reply headers.
    #[serde(default)]
    pub headers: GoldenHeaders,
    /// Reply body as LinOTP sent it (placeholders substituted).
    pub body: String,
    /// Why the case exists.
    #[serde(default)]
    pub notes: String,
    /// Multipart uploads, by form field.
    #[serde(default)]
    pub files: Option<Map<String, Value>>,
    /// Cookies of a userservice case (values are placeholders).
    #[serde(default)]
    pub cookies: Option<Map<String, Value>>,
    /// `errors.json` only: how the CSRF header was spoiled.
    #[serde(default)]
    pub csrf_header: Option<CsrfHeader>,
}

impl GoldenCase {
    /// Whether the case only builds or removes state for the others.
    pub fn is_scaffolding(&self) -> bool {
        self.name.starts_with("setup.") || self.name.starts_with("teardown.")
    }

    /// The recorded media type, lower-cased, without parameters.
    pub fn media_type(&self) -> Option<String> {
        self.headers.content_type.as_deref().map(media_type)
    }

    /// The multipart uploads, typed.
    pub fn uploads(&self) -> Vec<(String, GoldenFile)> {
        self.files
            .iter()
            .flatten()
            .filter_map(|(field, file)| {
                serde_json::from_value(file.clone())
                    .ok()
                    .map(|file| (field.clone(), file))
            })
            .collect()
    }

    /// The params to send, with placeholders filled from `captures`.
    pub fn params_with(&self, captures: &Captures) -> Vec<(String, String)> {
        self.params
            .iter()
            .map(|(name, value)| {
                let text = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (name.clone(), captures.fill(&text))
            })
            .collect()
    }
}

fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The golden directory: `$LINOTP_GOLDEN_DIR` or [`DEFAULT_GOLDEN_DIR`].
pub fn golden_dir() -> PathBuf {
    std::env::var_os(GOLDEN_DIR_ENV)
        .map_or_else(|| PathBuf::from(DEFAULT_GOLDEN_DIR), PathBuf::from)
}

/// The LinOTP-made fixture: `$LINOTP_FIXTURE_DIR` or [`DEFAULT_FIXTURE_DIR`].
pub fn fixture_dir() -> PathBuf {
    std::env::var_os(FIXTURE_DIR_ENV)
        .map_or_else(|| PathBuf::from(DEFAULT_FIXTURE_DIR), PathBuf::from)
}

/// Loads a golden file by name (`"errors.json"`, looked up in [`golden_dir`]) or path.
pub fn load_golden_file(name_or_path: impl AsRef<Path>) -> Result<Vec<GoldenCase>> {
    let given = name_or_path.as_ref();
    let path = if given.is_absolute() || given.exists() {
        given.to_path_buf()
    } else {
        golden_dir().join(given)
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|error| ApiError::Internal(format!("cannot read {}: {error}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|error| ApiError::Internal(format!("cannot parse {}: {error}", path.display())))
}

/// Loads one named case of a golden file.
pub fn load_golden_case(file: impl AsRef<Path>, name: &str) -> Result<GoldenCase> {
    load_golden_file(file)?
        .into_iter()
        .find(|case| case.name == name)
        .ok_or_else(|| ApiError::Internal(format!("no golden case named {name:?}")))
}

/// What a server answered, reduced to what the corpus compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedReply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` header.
    pub content_type: Option<String>,
    /// Names of the cookies set.
    pub set_cookie_names: Vec<String>,
    /// The body text.
    pub body: String,
}

impl ObservedReply {
    /// Reads an in-process axum response.
    pub async fn from_response(response: Response) -> Result<ObservedReply> {
        let (parts, body) = response.into_parts();
        let bytes = read_body_limited(body, 64 * 1024 * 1024).await?;
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let set_cookie_names = parts
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| {
                value
                    .split_once('=')
                    .map(|(name, _)| name.trim().to_owned())
            })
            .collect();
        Ok(ObservedReply {
            status: parts.status.as_u16(),
            content_type,
            set_cookie_names,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }
}

/// Values captured from replies where the golden body had a placeholder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures {
    values: HashMap<String, String>,
}

impl Captures {
    /// The latest value captured for a placeholder name (without angle brackets).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Records a value (e.g. a cookie the client read itself).
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values.insert(name.into(), value.into());
    }

    /// `text` with every captured `<name>` replaced by its value.
    pub fn fill(&self, text: &str) -> String {
        let mut filled = text.to_owned();
        for (name, value) in &self.values {
            filled = filled.replace(&format!("<{name}>"), value);
        }
        filled
    }
}

/// One difference between a golden case and a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Where: `status`, `content-type`, `set-cookie`, `body`, or a JSON path like `$.result.value`.
    pub location: String,
    /// What differs.
    pub detail: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.detail)
    }
}

/// All differences of one comparison, printable as a test failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatches {
    /// The case compared.
    pub case: String,
    /// The differences.
    pub items: Vec<Mismatch>,
}

impl fmt::Display for Mismatches {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "golden case {:?} differs:", self.case)?;
        for item in &self.items {
            writeln!(f, "  {item}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Mismatches {}

/// Compares a reply with a golden case by the corpus rules; placeholder values go into
/// `captures` (only when everything matched).
pub fn compare(
    case: &GoldenCase,
    observed: &ObservedReply,
    captures: &mut Captures,
) -> std::result::Result<(), Mismatches> {
    let mut items = Vec::new();
    let mut captured = Vec::new();
    if case.status != observed.status {
        items.push(mismatch(
            "status",
            format!("expected {}, got {}", case.status, observed.status),
        ));
    }
    let expected_type = case.media_type();
    let observed_type = observed.content_type.as_deref().map(media_type);
    if expected_type != observed_type {
        items.push(mismatch(
            "content-type",
            format!("expected {expected_type:?}, got {observed_type:?}"),
        ));
    }
    let expected_cookies: BTreeSet<&str> =
        case.headers.set_cookie.iter().map(String::as_str).collect();
    let observed_cookies: BTreeSet<&str> = observed
        .set_cookie_names
        .iter()
        .map(String::as_str)
        .collect();
    if expected_cookies != observed_cookies {
        items.push(mismatch(
            "set-cookie",
            format!("expected {expected_cookies:?}, got {observed_cookies:?}"),
        ));
    }
    if expected_type.as_deref() == Some("application/json") {
        match (
            serde_json::from_str::<Value>(&case.body),
            serde_json::from_str::<Value>(&observed.body),
        ) {
            (Ok(golden), Ok(reply)) => {
                compare_json(&golden, &reply, "$", &mut captured, &mut items)
            }
            (Err(error), _) => {
                items.push(mismatch("body", format!("golden body is no JSON: {error}")))
            }
            (_, Err(error)) => items.push(mismatch(
                "body",
                format!("reply is no JSON ({error}): {:?}", observed.body),
            )),
        }
    } else {
        match match_with_placeholders(&case.body, &observed.body) {
            Some(values) => captured.extend(values),
            None => items.push(mismatch(
                "body",
                format!("expected {:?}, got {:?}", case.body, observed.body),
            )),
        }
    }
    if items.is_empty() {
        for (name, value) in captured {
            captures.insert(name, value);
        }
        Ok(())
    } else {
        Err(Mismatches {
            case: case.name.clone(),
            items,
        })
    }
}

fn mismatch(location: &str, detail: String) -> Mismatch {
    Mismatch {
        location: location.to_owned(),
        detail,
    }
}

fn whole_placeholder(text: &str) -> Option<&str> {
    let name = text.strip_prefix('<')?.strip_suffix('>')?;
    PLACEHOLDERS.contains(&name).then_some(name)
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn compare_json(
    golden: &Value,
    observed: &Value,
    location: &str,
    captured: &mut Vec<(String, String)>,
    items: &mut Vec<Mismatch>,
) {
    match golden {
        Value::String(text) => {
            if let Some(name) = whole_placeholder(text) {
                captured.push((name.to_owned(), value_text(observed)));
                return;
            }
            let matched = observed
                .as_str()
                .and_then(|reply| match_with_placeholders(text, reply));
            match matched {
                Some(values) => captured.extend(values),
                None => items.push(mismatch(
                    location,
                    format!("expected {golden}, got {observed}"),
                )),
            }
        }
        Value::Object(golden_members) => {
            let Some(observed_members) = observed.as_object() else {
                items.push(mismatch(
                    location,
                    format!("expected an object, got {observed}"),
                ));
                return;
            };
            let mut unclaimed: Vec<&String> = observed_members
                .keys()
                .filter(|key| !golden_members.contains_key(key.as_str()))
                .collect();
            for (key, golden_member) in golden_members {
                let member_location = format!("{location}.{key}");
                if let Some(observed_member) = observed_members.get(key) {
                    compare_json(
                        golden_member,
                        observed_member,
                        &member_location,
                        captured,
                        items,
                    );
                    continue;
                }
                let claimed = unclaimed
                    .iter()
                    .position(|candidate| match_with_placeholders(key, candidate).is_some());
                match claimed {
                    Some(index) => {
                        let observed_key = unclaimed.remove(index);
                        if let Some(values) = match_with_placeholders(key, observed_key) {
                            captured.extend(values);
                        }
                        compare_json(
                            golden_member,
                            &observed_members[observed_key.as_str()],
                            &member_location,
                            captured,
                            items,
                        );
                    }
                    None => items.push(mismatch(&member_location, "missing in reply".to_owned())),
                }
            }
            for key in unclaimed {
                items.push(mismatch(
                    &format!("{location}.{key}"),
                    "not in golden reply".to_owned(),
                ));
            }
        }
        Value::Array(golden_items) => {
            let Some(observed_items) = observed.as_array() else {
                items.push(mismatch(
                    location,
                    format!("expected an array, got {observed}"),
                ));
                return;
            };
            if golden_items.len() != observed_items.len() {
                items.push(mismatch(
                    location,
                    format!(
                        "expected {} items, got {}",
                        golden_items.len(),
                        observed_items.len()
                    ),
                ));
                return;
            }
            for (index, (golden_item, observed_item)) in
                golden_items.iter().zip(observed_items).enumerate()
            {
                compare_json(
                    golden_item,
                    observed_item,
                    &format!("{location}[{index}]"),
                    captured,
                    items,
                );
            }
        }
        scalar => {
            if scalar != observed {
                items.push(mismatch(
                    location,
                    format!("expected {scalar}, got {observed}"),
                ));
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment<'a> {
    Literal(&'a str),
    Hole(&'a str),
}

fn segments(pattern: &str) -> Vec<Segment<'_>> {
    let mut parts = Vec::new();
    let mut literal_start = 0;
    let mut search_from = 0;
    while let Some(open) = pattern[search_from..]
        .find('<')
        .map(|offset| search_from + offset)
    {
        let Some(close) = pattern[open..].find('>').map(|offset| open + offset) else {
            break;
        };
        let name = &pattern[open + 1..close];
        if PLACEHOLDERS.contains(&name) {
            if literal_start < open {
                parts.push(Segment::Literal(&pattern[literal_start..open]));
            }
            parts.push(Segment::Hole(name));
            literal_start = close + 1;
            search_from = close + 1;
        } else {
            search_from = open + 1;
        }
    }
    if literal_start < pattern.len() {
        parts.push(Segment::Literal(&pattern[literal_start..]));
    }
    parts
}

/// Matches `text` against `pattern`, where corpus placeholders stand for one or more
/// characters; returns the values they matched.
pub fn match_with_placeholders(pattern: &str, text: &str) -> Option<Vec<(String, String)>> {
    let parts = segments(pattern);
    let mut captured = Vec::new();
    match_segments(&parts, text, &mut captured).then_some(captured)
}

fn match_segments(parts: &[Segment<'_>], text: &str, captured: &mut Vec<(String, String)>) -> bool {
    match parts.split_first() {
        None => text.is_empty(),
        Some((Segment::Literal(literal), rest)) => text
            .strip_prefix(literal)
            .is_some_and(|remainder| match_segments(rest, remainder, captured)),
        Some((Segment::Hole(name), rest)) => {
            let ends = text
                .char_indices()
                .skip(1)
                .map(|(index, _)| index)
                .chain([text.len()]);
            for end in ends.filter(|end| *end > 0) {
                let mark = captured.len();
                captured.push(((*name).to_owned(), text[..end].to_owned()));
                if match_segments(rest, &text[end..], captured) {
                    return true;
                }
                captured.truncate(mark);
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(content_type: &str, body: &str) -> GoldenCase {
        GoldenCase {
            name: "t".into(),
            method: "POST".into(),
            path: "/x".into(),
            params: Map::new(),
            auth: GoldenAuth::None,
            status: 200,
            headers: GoldenHeaders {
                content_type: Some(content_type.into()),
                set_cookie: vec![],
            },
            body: body.into(),
            notes: String::new(),
            files: None,
            cookies: None,
            csrf_header: None,
        }
    }

    fn reply(content_type: &str, body: &str) -> ObservedReply {
        ObservedReply {
            status: 200,
            content_type: Some(content_type.into()),
            set_cookie_names: vec![],
            body: body.into(),
        }
    }

    #[test]
    fn json_trees_match_regardless_of_layout_but_not_of_values() {
        let golden = case("application/json", "{\n   \"a\": 1,\n   \"b\": [true]\n}");
        let mut captures = Captures::default();
        assert!(
            compare(
                &golden,
                &reply("application/json", r#"{"b":[true],"a":1}"#),
                &mut captures
            )
            .is_ok()
        );
        let wrong = compare(
            &golden,
            &reply("application/json", r#"{"b":[false],"a":1}"#),
            &mut captures,
        );
        assert_eq!(wrong.unwrap_err().items[0].location, "$.b[0]");
        let extra = compare(
            &golden,
            &reply("application/json", r#"{"b":[true],"a":1,"c":0}"#),
            &mut captures,
        );
        assert_eq!(extra.unwrap_err().items[0].location, "$.c");
        let float = compare(
            &golden,
            &reply("application/json", r#"{"b":[true],"a":1.0}"#),
            &mut captures,
        );
        assert!(
            float.is_err(),
            "an int and a float differ in LinOTP's replies"
        );
    }

    #[test]
    fn placeholders_match_any_value_embedded_text_and_keys() {
        let golden = case(
            "application/json",
            r#"{"id": "<tokenid>", "url": "seed://<otpkey>", "tx": {"<transactionid>": {"status": "open"}}}"#,
        );
        let observed = reply(
            "application/json",
            r#"{"id": 1003, "url": "seed://3132", "tx": {"987654": {"status": "open"}}}"#,
        );
        let mut captures = Captures::default();
        compare(&golden, &observed, &mut captures).unwrap();
        assert_eq!(captures.get("tokenid"), Some("1003"));
        assert_eq!(captures.get("otpkey"), Some("3132"));
        assert_eq!(captures.get("transactionid"), Some("987654"));
        assert_eq!(
            captures.fill("tx=<transactionid>&k=<unknown>"),
            "tx=987654&k=<unknown>"
        );

        let closed = reply(
            "application/json",
            r#"{"id": 1003, "url": "seed://3132", "tx": {"987654": {"status": "closed"}}}"#,
        );
        assert!(compare(&golden, &closed, &mut Captures::default()).is_err());
        let bad_prefix = reply(
            "application/json",
            r#"{"id": 1, "url": "otp://3132", "tx": {"987654": {"status": "open"}}}"#,
        );
        assert!(compare(&golden, &bad_prefix, &mut Captures::default()).is_err());
    }

    #[test]
    fn text_bodies_compare_exactly_apart_from_placeholders() {
        let golden = case("text/html; charset=utf-8", "<h1>x</h1>\n<br>\n");
        assert!(
            compare(
                &golden,
                &reply("text/html", "<h1>x</h1>\n<br>\n"),
                &mut Captures::default()
            )
            .is_ok()
        );
        assert!(
            compare(
                &golden,
                &reply("text/html", "<h1>x</h1>\n<br>"),
                &mut Captures::default()
            )
            .is_err()
        );
        let simple = case(
            "text/html; charset=utf-8",
            ":-( <transactionid> Please enter:",
        );
        assert!(
            compare(
                &simple,
                &reply("text/html", ":-(  Please enter:"),
                &mut Captures::default()
            )
            .is_err()
        );
    }

    #[test]
    fn status_media_type_and_cookie_names_are_compared() {
        let mut golden = case("application/json", "{}");
        golden.headers.set_cookie = vec!["access_token_cookie".into(), "csrf_access_token".into()];
        let mut observed = reply("application/json", "{}");
        observed.set_cookie_names = vec!["csrf_access_token".into(), "access_token_cookie".into()];
        assert!(compare(&golden, &observed, &mut Captures::default()).is_ok());
        observed.status = 401;
        observed.content_type = Some("text/plain".into());
        observed.set_cookie_names.pop();
        let failure = compare(&golden, &observed, &mut Captures::default()).unwrap_err();
        let locations: Vec<_> = failure
            .items
            .iter()
            .map(|item| item.location.as_str())
            .collect();
        assert_eq!(locations, ["status", "content-type", "set-cookie"]);
    }
}
