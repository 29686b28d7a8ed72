//! The `action` field: LinOTP's `key, !key, key=value, key='quoted, value'` lists.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::error::{Error, Result, py_str};

/// One action value: what a policy says about one action.
///
/// Parsing yields [`Bool`](Self::Bool) for unary keys (`key` → true, `!key`
/// → false, `key=false` → false) and [`Str`](Self::Str) otherwise; typing by
/// the action definitions turns strings into [`Int`](Self::Int) or
/// [`Bool`](Self::Bool) where the action is declared that way.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActionValue {
    /// A boolean action, or a unary key.
    Bool(bool),
    /// An integer action (`maxtoken=3`, `otppin=1`).
    Int(i64),
    /// Any other value, with surrounding quotes removed.
    Str(String),
}

impl ActionValue {
    /// Python truthiness, which LinOTP applies to action values: `false`,
    /// `0` and `""` are false.
    pub fn is_truthy(&self) -> bool {
        match self {
            Self::Bool(value) => *value,
            Self::Int(value) => *value != 0,
            Self::Str(value) => !value.is_empty(),
        }
    }

    /// The value as text (`True`/`False` for booleans, like Python's `str()`).
    pub fn to_text(&self) -> String {
        self.to_string()
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Self::Int(value) => Some(*value),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(value) => Some(value),
            _ => None,
        }
    }

    /// Python's `repr()` of the value, used in LinOTP's messages.
    pub(crate) fn py_repr(&self) -> String {
        match self {
            Self::Str(value) => py_str(value),
            other => other.to_string(),
        }
    }
}

/// Shows strings with `secret=` values masked (`forward_server` URLs carry
/// RADIUS secrets).
impl fmt::Debug for ActionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(value) => f.debug_tuple("Bool").field(value).finish(),
            Self::Int(value) => f.debug_tuple("Int").field(value).finish(),
            Self::Str(value) => f.debug_tuple("Str").field(&redact_secrets(value)).finish(),
        }
    }
}

/// Masks the value of every `secret=` parameter (also `encsecret=`), as
/// `forward_server=radius://host/?secret=...` carries one.
pub(crate) fn redact_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.to_ascii_lowercase().find("secret=") {
        let value_start = at + "secret=".len();
        out.push_str(&rest[..value_start]);
        let value_len = rest[value_start..]
            .find(['&', ' ', ',', '\'', '"', ']'])
            .unwrap_or(rest.len() - value_start);
        if value_len > 0 {
            out.push_str("***");
        }
        rest = &rest[value_start + value_len..];
    }
    out.push_str(rest);
    out
}

impl fmt::Display for ActionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(true) => f.write_str("True"),
            Self::Bool(false) => f.write_str("False"),
            Self::Int(value) => write!(f, "{value}"),
            Self::Str(value) => f.write_str(value),
        }
    }
}

impl Serialize for ActionValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Self::Bool(value) => serializer.serialize_bool(*value),
            Self::Int(value) => serializer.serialize_i64(*value),
            Self::Str(value) => serializer.serialize_str(value),
        }
    }
}

/// A parsed `action` field: keys in their order of appearance, each once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actions {
    entries: Vec<(String, ActionValue)>,
}

impl Actions {
    /// Parses an action field the way LinOTP does: entries split at `,`,
    /// `key=value` split at the first `=`, `'…'`/`"…"` protect `,` and `=`,
    /// a value `false` (any case) is boolean false, the same key twice with
    /// different values is an error.
    ///
    /// ```
    /// use linotp_policy::{ActionValue, Actions};
    ///
    /// let actions = Actions::parse("enrollHMAC, !reset, smstext='otp: <otp>, bye', otppin=1")?;
    /// assert_eq!(actions.get("enrollHMAC"), Some(&ActionValue::Bool(true)));
    /// assert_eq!(actions.get("reset"), Some(&ActionValue::Bool(false)));
    /// assert_eq!(actions.get("smstext"), Some(&ActionValue::Str("otp: <otp>, bye".into())));
    /// assert_eq!(actions.get("otppin"), Some(&ActionValue::Str("1".into())));
    /// # Ok::<(), linotp_policy::Error>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let mut entries: Vec<(String, ActionValue)> = Vec::new();
        for (key, value) in parse_pairs(text)? {
            match entries.iter().find(|(existing, _)| *existing == key) {
                Some((_, existing)) if *existing != value => {
                    return Err(Error::DuplicateAction(key));
                }
                Some(_) => {}
                None => entries.push((key, value)),
            }
        }
        Ok(Self { entries })
    }

    /// The value of one action, if the field names it.
    pub fn get(&self, key: &str) -> Option<&ActionValue> {
        self.entries
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    /// Whether the field names the action (with any value, also `!key`).
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Whether the field is (or contains) the wildcard `*`: every action.
    pub fn is_wildcard(&self) -> bool {
        self.contains("*")
    }

    /// All `(key, value)` pairs in order of appearance.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ActionValue)> {
        self.entries
            .iter()
            .map(|(key, value)| (key.as_str(), value))
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key was given.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A lexical piece of an action field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Equals,
    Comma,
}

/// Splits at `=` and `,` outside quotes. Quotes stay in the text; a quote
/// opens only when none is open and closes only the one that opened.
fn tokenise(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut open_quote: Option<char> = None;
    let mut start = 0;
    for (index, ch) in text.char_indices() {
        if ch == '"' || ch == '\'' {
            match open_quote {
                None => open_quote = Some(ch),
                Some(open) if open == ch => open_quote = None,
                Some(_) => {}
            }
            continue;
        }
        if open_quote.is_some() {
            continue;
        }
        if ch == '=' || ch == ',' {
            pieces.push(Piece::Text(&text[start..index]));
            pieces.push(if ch == '=' {
                Piece::Equals
            } else {
                Piece::Comma
            });
            start = index + ch.len_utf8();
        }
    }
    if start < text.len() {
        pieces.push(Piece::Text(&text[start..]));
    }
    pieces
}

fn piece_text(piece: &Piece<'_>) -> String {
    match piece {
        Piece::Text(text) => (*text).to_owned(),
        Piece::Equals => "=".to_owned(),
        Piece::Comma => ",".to_owned(),
    }
}

fn parse_pairs(text: &str) -> Result<Vec<(String, ActionValue)>> {
    let terminated = format!("{text},");
    let mut pairs = Vec::new();
    let mut current: Vec<Piece<'_>> = Vec::new();
    for piece in tokenise(&terminated) {
        if piece != Piece::Comma {
            current.push(piece);
            continue;
        }
        if let Some((key, value)) = pair_from_pieces(&current)? {
            pairs.push((key, value));
        }
        current.clear();
    }
    if !current.is_empty() {
        let listed: Vec<String> = current
            .iter()
            .map(|piece| py_str(&piece_text(piece)))
            .collect();
        return Err(Error::ActionSyntax(redact_secrets(&format!(
            "non terminated action [{}]",
            listed.join(", ")
        ))));
    }
    Ok(pairs)
}

fn pair_from_pieces(pieces: &[Piece<'_>]) -> Result<Option<(String, ActionValue)>> {
    let (key, value) = match pieces {
        [single] => {
            let text = piece_text(single);
            let key = text.trim();
            match key.strip_prefix('!') {
                Some(negated) => (negated.to_owned(), ActionValue::Bool(false)),
                None => (key.to_owned(), ActionValue::Bool(true)),
            }
        }
        [first, _, rest @ ..] => {
            let key = piece_text(first).trim().to_owned();
            let joined: String = rest.iter().map(piece_text).collect();
            let mut value = joined.trim().to_owned();
            if value.contains('\'') || value.contains('"') {
                value = strip_quotes(&value)?;
            }
            (key, ActionValue::Str(value))
        }
        // The tokeniser never yields these shapes: every separator follows a text piece.
        _ => return Ok(None),
    };
    let value = match value {
        ActionValue::Str(text) if text.eq_ignore_ascii_case("false") => ActionValue::Bool(false),
        other => other,
    };
    if key.is_empty() {
        return Ok(None);
    }
    Ok(Some((key, value)))
}

/// Removes one pair of surrounding quotes; a quote on only one end is an
/// error unless the same quote also occurs inside.
fn strip_quotes(value: &str) -> Result<String> {
    let inner = |v: &str| -> String {
        let mut chars = v.chars();
        chars.next();
        chars.next_back();
        chars.as_str().to_owned()
    };
    for quote in ['\'', '"'] {
        let starts = value.starts_with(quote);
        let ends = value.ends_with(quote);
        if starts != ends && !inner(value).contains(quote) {
            return Err(Error::ActionSyntax(redact_secrets(&format!(
                "non terminated string value entry {}",
                py_str(value)
            ))));
        }
    }
    let mut value = value.to_owned();
    for quote in ['\'', '"'] {
        if value.starts_with(quote) && value.ends_with(quote) && !inner(&value).contains(quote) {
            value = value.trim_matches(quote).to_owned();
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Vec<(String, ActionValue)> {
        Actions::parse(text).unwrap().entries
    }

    fn s(value: &str) -> ActionValue {
        ActionValue::Str(value.to_owned())
    }

    #[test]
    fn unary_negated_and_valued_keys() {
        let cases: &[(&str, Vec<(&str, ActionValue)>)] = &[
            ("", vec![]),
            ("*", vec![("*", ActionValue::Bool(true))]),
            (
                "enrollHMAC, setOTPPIN",
                vec![
                    ("enrollHMAC", ActionValue::Bool(true)),
                    ("setOTPPIN", ActionValue::Bool(true)),
                ],
            ),
            ("!reset", vec![("reset", ActionValue::Bool(false))]),
            ("otppin=1", vec![("otppin", s("1"))]),
            (" otppin = password ", vec![("otppin", s("password"))]),
            (
                "passthru=False",
                vec![("passthru", ActionValue::Bool(false))],
            ),
            ("passthru=true", vec![("passthru", s("true"))]),
            ("a=b=c", vec![("a", s("b=c"))]),
            ("a=", vec![("a", s(""))]),
            (",, a ,", vec![("a", ActionValue::Bool(true))]),
            (
                "smstext='Your OTP, <otp>'",
                vec![("smstext", s("Your OTP, <otp>"))],
            ),
            ("smstext=\"x=1, y\"", vec![("smstext", s("x=1, y"))]),
            ("msg='say \"hi\"'", vec![("msg", s("say \"hi\""))]),
            ("a=1, a=1", vec![("a", s("1"))]),
            ("q=\"it's\"", vec![("q", s("it's"))]),
        ];
        for (text, expected) in cases {
            let expected: Vec<(String, ActionValue)> = expected
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect();
            assert_eq!(parsed(text), expected, "parsing {text:?}");
        }
    }

    #[test]
    fn syntax_errors_use_linotp_wording() {
        assert_eq!(
            Actions::parse("a=1, a=2").unwrap_err().to_string(),
            "duplicate key definition 'a'"
        );
        assert_eq!(
            Actions::parse("a='b,c").unwrap_err().to_string(),
            "non terminated action ['a', '=', \"'b,c,\"]"
        );
        // An apostrophe in an unquoted value opens a quote that never closes.
        assert!(Actions::parse("msg=it's").is_err());
    }

    #[test]
    fn secrets_never_show_in_debug_or_errors() {
        assert_eq!(
            redact_secrets("radius://10.0.0.1:1812/?secret=s3cr3t&x=1 http://h/?encsecret=abc"),
            "radius://10.0.0.1:1812/?secret=***&x=1 http://h/?encsecret=***"
        );
        assert_eq!(redact_secrets("no secrets"), "no secrets");
        assert_eq!(redact_secrets("secret="), "secret=");
        let actions = Actions::parse("forward_server=radius://h:1812/?secret=s3cr3t").unwrap();
        assert!(!format!("{actions:?}").contains("s3cr3t"));
        let error = Actions::parse("forward_server='radius://h/?secret=s3cr3t").unwrap_err();
        assert!(!error.to_string().contains("s3cr3t"), "{error}");
    }

    #[test]
    fn lookup_and_wildcard() {
        let actions = Actions::parse("*, !reset").unwrap();
        assert!(actions.is_wildcard());
        assert!(actions.contains("reset"));
        assert!(!actions.contains("enable"));
        assert_eq!(actions.len(), 2);
    }

    #[test]
    fn truthiness_and_display_follow_python() {
        assert!(!ActionValue::Int(0).is_truthy());
        assert!(ActionValue::Int(2).is_truthy());
        assert!(!ActionValue::Str(String::new()).is_truthy());
        assert!(ActionValue::Str("0".into()).is_truthy());
        assert_eq!(ActionValue::Bool(true).to_text(), "True");
        assert_eq!(ActionValue::Str("x".into()).py_repr(), "'x'");
        assert_eq!(serde_json::to_string(&ActionValue::Int(3)).unwrap(), "3");
    }
}
