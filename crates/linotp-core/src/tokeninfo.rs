//! LinOTP's `LinOtpTokenInfo` column: a JSON object whose key order, value
//! types and exact text matter, because LinOTP reads the same rows.

use std::fmt::Write as _;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::date::parse_validity_date;
use crate::error::{Error, Result};
use crate::otp::HashAlgorithm;

/// A JSON value inside tokeninfo. Objects keep their key order (Python
/// dicts do), numbers keep the int/float distinction (`0` vs `0.0`).
#[derive(Clone, Debug, PartialEq)]
pub enum InfoValue {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// An integer or a float, as parsed.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<InfoValue>),
    /// An object in insertion order.
    Object(Vec<(String, InfoValue)>),
}

impl InfoValue {
    /// Reads the value as Python's `int(value)` would: integers as they are,
    /// floats truncated, numeric strings parsed (a decimal fraction is
    /// truncated too, where Python would raise). `None` for anything else.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Self::Number(number) => number
                .as_i64()
                .or_else(|| number.as_f64().and_then(truncate_float)),
            Self::String(text) => {
                let text = text.trim();
                text.parse::<i64>()
                    .ok()
                    .or_else(|| text.parse::<f64>().ok().and_then(truncate_float))
            }
            Self::Bool(flag) => Some(i64::from(*flag)),
            Self::Null | Self::Array(_) | Self::Object(_) => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(text) => Some(text),
            _ => None,
        }
    }

    /// Python truthiness, for LinOTP's `value or default` idiom.
    fn is_truthy(&self) -> bool {
        match self {
            Self::Null => false,
            Self::Bool(flag) => *flag,
            Self::Number(number) => number.as_f64().is_some_and(|value| value != 0.0),
            Self::String(text) => !text.is_empty(),
            Self::Array(items) => !items.is_empty(),
            Self::Object(entries) => !entries.is_empty(),
        }
    }
}

fn truncate_float(value: f64) -> Option<i64> {
    // `as` saturates; reject what Python's int() would reject or overflow.
    (value.is_finite() && value.abs() < 9.2e18).then(|| value.trunc() as i64)
}

impl From<i64> for InfoValue {
    fn from(value: i64) -> Self {
        Self::Number(value.into())
    }
}

impl From<f64> for InfoValue {
    /// Non-finite floats have no JSON form and become `null`.
    fn from(value: f64) -> Self {
        serde_json::Number::from_f64(value).map_or(Self::Null, Self::Number)
    }
}

impl From<bool> for InfoValue {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl From<&str> for InfoValue {
    fn from(value: &str) -> Self {
        Self::String(value.to_owned())
    }
}

impl From<String> for InfoValue {
    fn from(value: String) -> Self {
        Self::String(value)
    }
}

impl<'de> Deserialize<'de> for InfoValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(InfoValueVisitor)
    }
}

struct InfoValueVisitor;

impl<'de> Visitor<'de> for InfoValueVisitor {
    type Value = InfoValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> std::result::Result<InfoValue, E> {
        Ok(InfoValue::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> std::result::Result<InfoValue, E> {
        Ok(InfoValue::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> std::result::Result<InfoValue, E> {
        Ok(InfoValue::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> std::result::Result<InfoValue, E> {
        Ok(InfoValue::from(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> std::result::Result<InfoValue, E> {
        Ok(InfoValue::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> std::result::Result<InfoValue, E> {
        Ok(InfoValue::String(value))
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<InfoValue, E> {
        Ok(InfoValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> std::result::Result<InfoValue, E> {
        Ok(InfoValue::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<InfoValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(InfoValue::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<InfoValue, A::Error> {
        let mut entries: Vec<(String, InfoValue)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, InfoValue>()? {
            // Python keeps the first position and the last value of a repeated key.
            match entries.iter_mut().find(|(existing, _)| *existing == key) {
                Some(slot) => slot.1 = value,
                None => entries.push((key, value)),
            }
        }
        Ok(InfoValue::Object(entries))
    }
}

/// The tokeninfo of one token: an ordered JSON object.
///
/// [`TokenInfo::parse`] and [`TokenInfo::to_linotp_json`] round-trip LinOTP's
/// column text byte for byte; the typed getters read values the way
/// LinOTP's token classes do.
///
/// ```
/// use linotp_core::TokenInfo;
/// let stored = "{\n\"hashlib\": \"sha1\",\n\"timeShift\": 0.0,\n\"timeStep\": \"30\"\n}";
/// let mut info = TokenInfo::parse(stored).unwrap();
/// assert_eq!(info.time_step().unwrap(), 30);
/// assert_eq!(info.to_linotp_json(), stored);
/// info.set("count_auth", 1);
/// assert!(info.to_linotp_json().ends_with(",\n\"count_auth\": 1\n}"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TokenInfo {
    entries: Vec<(String, InfoValue)>,
}

/// LinOTP's default TOTP time step (config `totp.timeStep`).
pub const DEFAULT_TIME_STEP: i64 = 30;

impl TokenInfo {
    /// An empty tokeninfo.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the column text. Empty or blank text (LinOTP's "never set",
    /// and MS SQL's single space) is an empty tokeninfo. Anything but a JSON
    /// object is an error; LinOTP itself would log it and use `{}`.
    pub fn parse(text: &str) -> Result<Self> {
        if text.trim().is_empty() {
            return Ok(Self::new());
        }
        match serde_json::from_str::<InfoValue>(text) {
            Ok(InfoValue::Object(entries)) => Ok(Self { entries }),
            Ok(_) => Err(Error::TokenInfoJson("not an object".to_owned())),
            Err(error) => Err(Error::TokenInfoJson(error.to_string())),
        }
    }

    /// Serialises like Python's `json.dumps(info, indent=0)`: a newline after
    /// `{`, between items and before `}`, no indentation, `": "` after keys,
    /// non-ASCII escaped as `\uXXXX`, floats in Python `repr` form.
    ///
    /// An empty tokeninfo becomes `{}`; LinOTP leaves a never-written column
    /// empty, so callers that want to keep such rows untouched compare
    /// before writing. The column holds at most 2000 characters.
    pub fn to_linotp_json(&self) -> String {
        let mut out = String::new();
        write_object(&mut out, &self.entries);
        out
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&InfoValue> {
        self.entries
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    /// Sets `key`: in place if present (order kept), else appended.
    pub fn set(&mut self, key: &str, value: impl Into<InfoValue>) {
        let value = value.into();
        match self.entries.iter_mut().find(|(name, _)| name == key) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key.to_owned(), value)),
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<InfoValue> {
        let position = self.entries.iter().position(|(name, _)| name == key)?;
        Some(self.entries.remove(position).1)
    }

    /// All entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &InfoValue)> {
        self.entries
            .iter()
            .map(|(key, value)| (key.as_str(), value))
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `hashlib`; missing or empty means SHA1.
    pub fn hash_algorithm(&self) -> Result<HashAlgorithm> {
        match self.get("hashlib") {
            None | Some(InfoValue::Null) => Ok(HashAlgorithm::Sha1),
            Some(InfoValue::String(name)) => HashAlgorithm::from_linotp_name(name),
            Some(_) => Err(self.bad("hashlib")),
        }
    }

    /// `timeStep` in seconds (TOTP); missing or zero means 30.
    pub fn time_step(&self) -> Result<i64> {
        let step = self.int_or("timeStep", DEFAULT_TIME_STEP)?;
        match step {
            0 => Ok(DEFAULT_TIME_STEP),
            step if step > 0 => Ok(step),
            _ => Err(self.bad("timeStep")),
        }
    }

    /// `timeShift` in whole seconds (TOTP drift), truncated like `int()`.
    pub fn time_shift(&self) -> Result<i64> {
        self.int_or("timeShift", 0)
    }

    /// `count_auth`: authentication attempts counted so far.
    pub fn count_auth(&self) -> Result<i64> {
        self.int_or("count_auth", 0)
    }

    /// `count_auth_max`: attempt limit, 0 = unlimited.
    pub fn count_auth_max(&self) -> Result<i64> {
        self.int_or("count_auth_max", 0)
    }

    /// `count_auth_success`: successful authentications so far.
    pub fn count_auth_success(&self) -> Result<i64> {
        self.int_or("count_auth_success", 0)
    }

    /// `count_auth_success_max`: success limit, 0 = unlimited.
    pub fn count_auth_success_max(&self) -> Result<i64> {
        self.int_or("count_auth_success_max", 0)
    }

    /// `validity_period_start` as a Unix time (UTC), if set.
    pub fn validity_period_start(&self) -> Result<Option<i64>> {
        self.date("validity_period_start")
    }

    /// `validity_period_end` as a Unix time (UTC), if set.
    pub fn validity_period_end(&self) -> Result<Option<i64>> {
        self.date("validity_period_end")
    }

    /// `scope.path`: the controllers the token is restricted to (empty =
    /// unrestricted).
    pub fn scope_paths(&self) -> Result<Vec<&str>> {
        let scope = match self.get("scope") {
            None | Some(InfoValue::Null) => return Ok(Vec::new()),
            Some(InfoValue::Object(scope)) => scope,
            Some(_) => return Err(self.bad("scope")),
        };
        match scope
            .iter()
            .find(|(key, _)| key == "path")
            .map(|(_, value)| value)
        {
            None | Some(InfoValue::Null) => Ok(Vec::new()),
            Some(InfoValue::Array(paths)) => paths
                .iter()
                .map(|path| path.as_str().ok_or_else(|| self.bad("scope")))
                .collect(),
            Some(_) => Err(self.bad("scope")),
        }
    }

    /// `otp1c`: the counter of the first OTP of a pending auto-resync.
    pub fn otp1c(&self) -> Result<Option<i64>> {
        self.optional_int("otp1c")
    }

    /// `dueDate`: Unix time until which an HOTP auto-resync may complete.
    pub fn due_date(&self) -> Result<Option<i64>> {
        self.optional_int("dueDate")
    }

    fn bad(&self, key: &str) -> Error {
        Error::TokenInfoValue {
            key: key.to_owned(),
        }
    }

    /// LinOTP's `int(info.get(key, default) or default)`.
    fn int_or(&self, key: &str, default: i64) -> Result<i64> {
        match self.get(key) {
            Some(value) if value.is_truthy() => value.as_int().ok_or_else(|| self.bad(key)),
            _ => Ok(default),
        }
    }

    fn optional_int(&self, key: &str) -> Result<Option<i64>> {
        match self.get(key) {
            None | Some(InfoValue::Null) => Ok(None),
            Some(value) => value.as_int().map(Some).ok_or_else(|| self.bad(key)),
        }
    }

    fn date(&self, key: &str) -> Result<Option<i64>> {
        match self.get(key) {
            Some(value) if value.is_truthy() => {
                let text = value.as_str().ok_or_else(|| self.bad(key))?;
                parse_validity_date(text).map(Some)
            }
            _ => Ok(None),
        }
    }
}

fn write_value(out: &mut String, value: &InfoValue) {
    match value {
        InfoValue::Null => out.push_str("null"),
        InfoValue::Bool(true) => out.push_str("true"),
        InfoValue::Bool(false) => out.push_str("false"),
        InfoValue::Number(number) => write_number(out, number),
        InfoValue::String(text) => write_python_json_string(out, text),
        InfoValue::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push_str("[\n");
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(",\n");
                }
                write_value(out, item);
            }
            out.push_str("\n]");
        }
        InfoValue::Object(entries) => write_object(out, entries),
    }
}

fn write_object(out: &mut String, entries: &[(String, InfoValue)]) {
    if entries.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push_str("{\n");
    for (index, (key, value)) in entries.iter().enumerate() {
        if index > 0 {
            out.push_str(",\n");
        }
        write_python_json_string(out, key);
        out.push_str(": ");
        write_value(out, value);
    }
    out.push_str("\n}");
}

fn write_number(out: &mut String, number: &serde_json::Number) {
    if let Some(value) = number.as_f64().filter(|_| number.is_f64()) {
        write_python_float(out, value);
        return;
    }
    let _ = write!(out, "{number}");
}

/// Python's `repr(float)`: shortest round-trip digits, positional for
/// exponents -4..16 (always with a fractional part), else `d.dde+XX`.
fn write_python_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
        return;
    }
    if value.is_infinite() {
        out.push_str(if value > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    // `{:e}` yields the shortest round-trip digits, e.g. "-1.2345e-7".
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    out.push_str(sign);
    if (-4..16).contains(&exponent) {
        if exponent >= 0 {
            let int_len = usize::try_from(exponent).unwrap_or(0) + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n(
                '0',
                usize::try_from(-exponent - 1).unwrap_or(0),
            ));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{exponent_sign}{:02}", exponent.unsigned_abs());
    }
}

/// Writes `text` as a JSON string with Python's `ensure_ascii=True` escaping (what LinOTP's
/// `json.dumps` writes): everything outside `' '..='~'` is escaped, as `\uXXXX` (lower-case hex,
/// surrogate pairs above U+FFFF) unless a short escape exists. Runs of plain characters are
/// copied at once.
pub fn write_python_json_string(out: &mut String, text: &str) {
    out.push('"');
    let mut plain_from = 0;
    for (index, ch) in text.char_indices() {
        let escape = match ch {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{08}' => "\\b",
            '\u{0c}' => "\\f",
            ' '..='~' => continue,
            _ => "",
        };
        out.push_str(&text[plain_from..index]);
        plain_from = index + ch.len_utf8();
        if escape.is_empty() {
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(&text[plain_from..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tokeninfo texts exactly as LinOTP 4.0 stored them in the fixture
    /// database (`stored.json`).
    const STORED: [&str; 5] = [
        "{\n\"hashlib\": \"sha1\"\n}",
        "{\n\"hashlib\": \"sha256\",\n\"count_auth\": 1\n}",
        "{\n\"hashlib\": \"sha1\",\n\"timeWindow\": \"300\",\n\"timeShift\": 0.0,\n\"timeStep\": \"30\"\n}",
        "{\n\"email_address\": \"alice@example.com\",\n\"hashlib\": \"sha1\"\n}",
        "{\n\"hashlib\": \"sha1\",\n\"count_auth_max\": 5,\n\"validity_period_start\": \"01/01/25 00:00\",\n\"validity_period_end\": \"31/12/35 23:59\",\n\"count_auth\": 1\n}",
    ];

    #[test]
    fn linotp_stored_tokeninfo_round_trips_byte_exact() {
        for text in STORED {
            assert_eq!(TokenInfo::parse(text).unwrap().to_linotp_json(), text);
        }
    }

    #[test]
    fn nested_values_match_python_indent_zero() {
        // python3 -c 'import json; print(json.dumps({"scope": {"path": ["validate", "userservice"]},
        //   "e": [], "o": {}, "n": None, "t": True, "u": "äö€😀\x7f\"\\\n"}, indent=0))'
        let text = "{\"scope\": {\"path\": [\"validate\", \"userservice\"]}, \"e\": [], \"o\": {}, \
                    \"n\": null, \"t\": true, \"u\": \"äö€😀\\u007f\\\"\\\\\\n\"}";
        let expected = "{\n\"scope\": {\n\"path\": [\n\"validate\",\n\"userservice\"\n]\n},\n\
                        \"e\": [],\n\"o\": {},\n\"n\": null,\n\"t\": true,\n\
                        \"u\": \"\\u00e4\\u00f6\\u20ac\\ud83d\\ude00\\u007f\\\"\\\\\\n\"\n}";
        let info = TokenInfo::parse(text).unwrap();
        assert_eq!(info.to_linotp_json(), expected);
        assert_eq!(info.scope_paths().unwrap(), ["validate", "userservice"]);
    }

    #[test]
    fn floats_are_written_like_python_repr() {
        // python3 -c 'print([repr(x) for x in (0.0, -30.0, 15.5, 1e16, 1.5e-7, 1e-5, 0.0001,
        //   123456789012345.6, -0.0, 2.5e+20)])'
        let cases = [
            (0.0, "0.0"),
            (-30.0, "-30.0"),
            (15.5, "15.5"),
            (1e16, "1e+16"),
            (1.5e-7, "1.5e-07"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (123456789012345.6, "123456789012345.6"),
            (-0.0, "-0.0"),
            (2.5e20, "2.5e+20"),
            (1e15, "1000000000000000.0"),
        ];
        for (value, expected) in cases {
            let mut out = String::new();
            write_python_float(&mut out, value);
            assert_eq!(out, expected, "repr of {value}");
        }
    }

    #[test]
    fn empty_and_invalid_column_text() {
        assert!(TokenInfo::parse("").unwrap().is_empty());
        assert!(TokenInfo::parse(" ").unwrap().is_empty());
        assert_eq!(TokenInfo::new().to_linotp_json(), "{}");
        assert!(TokenInfo::parse("[1]").is_err());
        assert!(TokenInfo::parse("{").is_err());
    }

    #[test]
    fn set_keeps_position_and_remove_drops_the_key() {
        let mut info = TokenInfo::parse(STORED[2]).unwrap();
        info.set("timeShift", -30.0);
        info.set("otp1c", 7);
        assert_eq!(info.remove("timeWindow"), Some(InfoValue::from("300")));
        assert_eq!(
            info.to_linotp_json(),
            "{\n\"hashlib\": \"sha1\",\n\"timeShift\": -30.0,\n\"timeStep\": \"30\",\n\"otp1c\": 7\n}"
        );
    }

    #[test]
    fn repeated_keys_keep_first_position_last_value() {
        let info = TokenInfo::parse("{\"a\": 1, \"b\": 2, \"a\": 3}").unwrap();
        assert_eq!(info.to_linotp_json(), "{\n\"a\": 3,\n\"b\": 2\n}");
    }

    #[test]
    fn typed_getters_accept_linotp_value_shapes() {
        let info = TokenInfo::parse(STORED[2]).unwrap();
        assert_eq!(info.hash_algorithm().unwrap(), HashAlgorithm::Sha1);
        assert_eq!(info.time_step().unwrap(), 30);
        assert_eq!(info.time_shift().unwrap(), 0);

        let info = TokenInfo::parse(
            "{\"timeShift\": \"-45.0\", \"timeStep\": 0, \"count_auth\": \"3\", \"hashlib\": \"SHA512\"}",
        )
        .unwrap();
        assert_eq!(info.time_shift().unwrap(), -45);
        assert_eq!(info.time_step().unwrap(), 30);
        assert_eq!(info.count_auth().unwrap(), 3);
        assert_eq!(info.hash_algorithm().unwrap(), HashAlgorithm::Sha512);

        let info = TokenInfo::parse(STORED[4]).unwrap();
        assert_eq!(info.count_auth_max().unwrap(), 5);
        assert_eq!(info.validity_period_start().unwrap(), Some(1_735_689_600));
        assert_eq!(info.count_auth_success_max().unwrap(), 0);

        let info = TokenInfo::parse("{\"timeStep\": \"thirty\", \"scope\": \"validate\"}").unwrap();
        assert!(info.time_step().is_err());
        assert!(info.scope_paths().is_err());
        assert_eq!(info.validity_period_end().unwrap(), None);
    }
}
