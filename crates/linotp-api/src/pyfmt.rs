//! Text formats of Python that LinOTP's replies carry byte for byte.
//!
//! LinOTP renders its replies with `json.dumps(obj, indent=3)` and its error messages with
//! `%r`. Clients only need the JSON tree, but byte-identical bodies make golden-file
//! comparisons trivial and keep diffs against LinOTP free of noise, so this module
//! reproduces Python's formatting: key order as inserted, `ensure_ascii` escaping (with
//! UTF-16 surrogate pairs), `/` left alone, and floats as `repr(float)` writes them.

use std::fmt::Write as _;

use serde_json::Value;

/// The three `json.dumps` layouts LinOTP uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonStyle {
    /// `json.dumps(obj, indent=n)`: one member per line, `", "` becomes `","` + newline.
    Indent(usize),
    /// `json.dumps(obj)`: one line, `", "` and `": "` separators (streamed replies).
    Spaced,
    /// `separators=(",", ":")`, as Flask's `jsonify` writes (`/healthcheck/status`).
    Compact,
}

impl JsonStyle {
    /// The layout of every `sendResult` / `sendError` reply: `indent=3`.
    pub const PRETTY: JsonStyle = JsonStyle::Indent(3);
}

/// Serialises `value` exactly as Python's `json.dumps` does in the given style.
///
/// ```
/// use linotp_api::pyfmt::{python_json, JsonStyle};
/// let value = serde_json::json!({"status": true, "value": "Grüße"});
/// assert_eq!(
///     python_json(&value, JsonStyle::PRETTY),
///     "{\n   \"status\": true,\n   \"value\": \"Gr\\u00fc\\u00dfe\"\n}"
/// );
/// ```
pub fn python_json(value: &Value, style: JsonStyle) -> String {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value, style, 0);
    out
}

fn write_value(out: &mut String, value: &Value, style: JsonStyle, level: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => {
            if let Some(int) = number.as_i64() {
                let _ = write!(out, "{int}");
            } else if let Some(uint) = number.as_u64() {
                let _ = write!(out, "{uint}");
            } else if let Some(float) = number.as_f64() {
                out.push_str(&python_float_repr(float));
            }
        }
        Value::String(text) => linotp_core::write_python_json_string(out, text),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                write_separator(out, style, level + 1, index == 0);
                write_value(out, item, style, level + 1);
            }
            write_closing_indent(out, style, level);
            out.push(']');
        }
        Value::Object(members) => {
            if members.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (index, (key, member)) in members.iter().enumerate() {
                write_separator(out, style, level + 1, index == 0);
                linotp_core::write_python_json_string(out, key);
                out.push_str(if style == JsonStyle::Compact {
                    ":"
                } else {
                    ": "
                });
                write_value(out, member, style, level + 1);
            }
            write_closing_indent(out, style, level);
            out.push('}');
        }
    }
}

fn write_separator(out: &mut String, style: JsonStyle, level: usize, first: bool) {
    match style {
        JsonStyle::Indent(width) => {
            if !first {
                out.push(',');
            }
            out.push('\n');
            push_spaces(out, width * level);
        }
        JsonStyle::Spaced if !first => out.push_str(", "),
        JsonStyle::Compact if !first => out.push(','),
        JsonStyle::Spaced | JsonStyle::Compact => {}
    }
}

fn write_closing_indent(out: &mut String, style: JsonStyle, level: usize) {
    if let JsonStyle::Indent(width) = style {
        out.push('\n');
        push_spaces(out, width * level);
    }
}

fn push_spaces(out: &mut String, count: usize) {
    out.extend(std::iter::repeat_n(' ', count));
}

/// `repr(float)` of Python 3: the shortest digits that round-trip, in positional notation
/// for decimal exponents -5 < e < 16 (always with a fractional part), else scientific with
/// a signed exponent of at least two digits (`1e-05`, `1e+16`). Non-finite values are
/// written as `json.dumps` writes them (`NaN`, `Infinity`, `-Infinity`).
pub fn python_float_repr(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    // Rust's `{:e}` already yields the shortest round-trip digits, e.g. "-1.2345e-7".
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let point = exponent + 1;
    let mut out = String::from(sign);
    if -4 < point && point <= 16 {
        let digit_count = i32::try_from(digits.len()).unwrap_or(i32::MAX);
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
            out.push_str(&digits);
        } else if point >= digit_count {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', (point - digit_count) as usize));
            out.push_str(".0");
        } else {
            let split = point as usize;
            out.push_str(&digits[..split]);
            out.push('.');
            out.push_str(&digits[split..]);
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
    out
}

/// `repr(str)` of Python 3, as LinOTP's `%r` puts parameter names into messages
/// (`Missing parameter: 'serial'`): single quotes unless the text contains `'` and no `"`.
pub fn python_str_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for ch in text.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let code = u32::from(c);
                let _ = if code < 0x100 {
                    write!(out, "\\x{code:02x}")
                } else {
                    write!(out, "\\u{code:04x}")
                };
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Expected strings below were produced by CPython 3 `json.dumps` / `repr`.

    #[test]
    fn strings_are_escaped_like_ensure_ascii() {
        let value = json!({"s": "Grüße € 😀 \u{7f} \u{1} \t\n\"\\ / <>&"});
        assert_eq!(
            python_json(&value, JsonStyle::PRETTY),
            "{\n   \"s\": \"Gr\\u00fc\\u00dfe \\u20ac \\ud83d\\ude00 \\u007f \\u0001 \\t\\n\\\"\\\\ / <>&\"\n}"
        );
    }

    #[test]
    fn floats_follow_python_repr() {
        let value = json!([
            1.0,
            0.1,
            1e-05,
            0.0001,
            1e16,
            1e15,
            123456789.123,
            -0.0,
            2.5e-300,
            1.7976931348623157e308,
            6.02214076,
            100.0,
            1.0 / 3.0
        ]);
        assert_eq!(
            python_json(&value, JsonStyle::Spaced),
            "[1.0, 0.1, 1e-05, 0.0001, 1e+16, 1000000000000000.0, 123456789.123, -0.0, \
             2.5e-300, 1.7976931348623157e+308, 6.02214076, 100.0, 0.3333333333333333]"
        );
    }

    #[test]
    fn empty_containers_and_scalars_in_all_styles() {
        let value = json!({"a": {}, "b": [], "c": [{}], "d": null, "e": true, "f": -5,
                           "g": 18446744073709551615u64});
        assert_eq!(
            python_json(&value, JsonStyle::PRETTY),
            "{\n   \"a\": {},\n   \"b\": [],\n   \"c\": [\n      {}\n   ],\n   \"d\": null,\n   \
             \"e\": true,\n   \"f\": -5,\n   \"g\": 18446744073709551615\n}"
        );
        assert_eq!(
            python_json(&value, JsonStyle::Spaced),
            "{\"a\": {}, \"b\": [], \"c\": [{}], \"d\": null, \"e\": true, \"f\": -5, \
             \"g\": 18446744073709551615}"
        );
        assert_eq!(
            python_json(&value, JsonStyle::Compact),
            "{\"a\":{},\"b\":[],\"c\":[{}],\"d\":null,\"e\":true,\"f\":-5,\"g\":18446744073709551615}"
        );
    }

    #[test]
    fn key_order_is_insertion_order() {
        let value: Value = serde_json::from_str(r#"{"z": 1, "a": 2, "m": 3}"#).unwrap();
        assert_eq!(
            python_json(&value, JsonStyle::Compact),
            r#"{"z":1,"a":2,"m":3}"#
        );
    }

    #[test]
    fn str_repr_chooses_quotes_like_python() {
        assert_eq!(python_str_repr("serial"), "'serial'");
        assert_eq!(python_str_repr("it's"), "\"it's\"");
        assert_eq!(python_str_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(python_str_repr("x\ny\\"), "'x\\ny\\\\'");
        assert_eq!(python_str_repr("\u{1}ü"), "'\\x01ü'");
    }
}
