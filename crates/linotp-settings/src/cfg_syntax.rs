//! LinOTP's `.cfg` files: Python modules made of `NAME = literal` assignments.
//!
//! LinOTP executes these files with Python. We accept the part of Python that configuration
//! files use (literals, implicit string concatenation, `+`/`-`/`*` on numbers and strings,
//! brackets spanning lines) and reject everything else with a line number, instead of
//! evaluating code.

use std::fmt;

/// A Python literal value as written in a `.cfg` file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PyValue {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<PyValue>),
    Tuple(Vec<PyValue>),
    Dict(Vec<(PyValue, PyValue)>),
}

impl PyValue {
    /// The value's kind in words, for messages that must not show the value itself.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            PyValue::None => "None",
            PyValue::Bool(_) => "a boolean",
            PyValue::Int(_) => "an integer",
            PyValue::Float(_) => "a float",
            PyValue::Str(_) => "a string",
            PyValue::List(_) => "a list",
            PyValue::Tuple(_) => "a tuple",
            PyValue::Dict(_) => "a dict",
        }
    }

    /// Converts to JSON the way `json.dumps` would see the Python value.
    pub(crate) fn to_json(&self) -> Result<serde_json::Value, String> {
        use serde_json::Value as J;
        Ok(match self {
            PyValue::None => J::Null,
            PyValue::Bool(b) => J::Bool(*b),
            PyValue::Int(i) => J::from(*i),
            PyValue::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .ok_or_else(|| format!("{f} cannot be represented"))?,
            PyValue::Str(s) => J::String(s.clone()),
            PyValue::List(items) | PyValue::Tuple(items) => J::Array(
                items
                    .iter()
                    .map(PyValue::to_json)
                    .collect::<Result<_, _>>()?,
            ),
            PyValue::Dict(pairs) => {
                let mut object = serde_json::Map::new();
                for (key, value) in pairs {
                    object.insert(key.to_json_key()?, value.to_json()?);
                }
                J::Object(object)
            }
        })
    }

    /// JSON object keys are strings; `json.dumps` turns scalar keys into their JSON spelling.
    fn to_json_key(&self) -> Result<String, String> {
        match self {
            PyValue::Str(s) => Ok(s.clone()),
            PyValue::None => Ok("null".to_owned()),
            PyValue::Bool(b) => Ok(b.to_string()),
            PyValue::Int(i) => Ok(i.to_string()),
            PyValue::Float(f) => Ok(format!("{f:?}")),
            other => Err(format!("{} cannot be a dict key", other.kind())),
        }
    }

    /// The Python view of a JSON value (used to show dict settings like Python would).
    pub(crate) fn from_json(value: &serde_json::Value) -> PyValue {
        use serde_json::Value as J;
        match value {
            J::Null => PyValue::None,
            J::Bool(b) => PyValue::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => PyValue::Int(i),
                None => PyValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => PyValue::Str(s.clone()),
            J::Array(items) => PyValue::List(items.iter().map(PyValue::from_json).collect()),
            J::Object(object) => PyValue::Dict(
                object
                    .iter()
                    .map(|(k, v)| (PyValue::Str(k.clone()), PyValue::from_json(v)))
                    .collect(),
            ),
        }
    }
}

/// `repr()` of the value, as Python (and so LinOTP's `config show`) prints it.
impl fmt::Display for PyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn join(f: &mut fmt::Formatter<'_>, items: &[PyValue]) -> fmt::Result {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{item}")?;
            }
            Ok(())
        }
        match self {
            PyValue::None => f.write_str("None"),
            PyValue::Bool(true) => f.write_str("True"),
            PyValue::Bool(false) => f.write_str("False"),
            PyValue::Int(i) => write!(f, "{i}"),
            PyValue::Float(x) => write!(f, "{x:?}"),
            PyValue::Str(s) => write_str_repr(f, s),
            PyValue::List(items) => {
                f.write_str("[")?;
                join(f, items)?;
                f.write_str("]")
            }
            PyValue::Tuple(items) => {
                f.write_str("(")?;
                join(f, items)?;
                if items.len() == 1 {
                    f.write_str(",")?;
                }
                f.write_str(")")
            }
            PyValue::Dict(pairs) => {
                f.write_str("{")?;
                for (i, (key, value)) in pairs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key}: {value}")?;
                }
                f.write_str("}")
            }
        }
    }
}

fn write_str_repr(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    write!(f, "{quote}")?;
    for c in s.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c == quote => write!(f, "\\{c}")?,
            c if (c as u32) < 0x20 || c == '\x7f' => write!(f, "\\x{:02x}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    write!(f, "{quote}")
}

/// One `NAME = value` statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Assignment {
    pub(crate) name: String,
    /// 1-based line of the name.
    pub(crate) line: u32,
    pub(crate) value: PyValue,
}

/// A syntax error with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) line: u32,
    pub(crate) message: String,
}

type ParseResult<T> = Result<T, SyntaxError>;

fn error<T>(line: u32, message: impl Into<String>) -> ParseResult<T> {
    Err(SyntaxError {
        line,
        message: message.into(),
    })
}

/// Parses a whole `.cfg` file into its assignments, in file order.
pub(crate) fn parse(text: &str) -> ParseResult<Vec<Assignment>> {
    let tokens = Lexer::new(text).tokenize()?;
    Parser { tokens, pos: 0 }.file()
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Str(String),
    Int(i64),
    Float(f64),
    Punct(char),
    /// End of a statement: a newline outside brackets, or `;`.
    End,
    Eof,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Name(name) => write!(f, "`{name}`"),
            Tok::Str(_) => f.write_str("a string"),
            Tok::Int(_) | Tok::Float(_) => f.write_str("a number"),
            Tok::Punct(c) => write!(f, "`{c}`"),
            Tok::End => f.write_str("end of line"),
            Tok::Eof => f.write_str("end of file"),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: u32,
}

const PYTHON_KEYWORDS: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: u32,
    /// Open brackets: inside them newlines do not end a statement.
    depth: usize,
    tokens: Vec<Token>,
}

impl Lexer {
    fn new(text: &str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // Python reads source files with universal newlines: CRLF is a plain newline, also
        // inside triple-quoted strings.
        Lexer {
            chars: text.replace("\r\n", "\n").chars().collect(),
            pos: 0,
            line: 1,
            depth: 0,
            tokens: Vec::new(),
        }
    }

    fn peek(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn push(&mut self, tok: Tok, line: u32) {
        self.tokens.push(Token { tok, line });
    }

    fn tokenize(mut self) -> ParseResult<Vec<Token>> {
        while let Some(c) = self.peek(0) {
            match c {
                '\n' => {
                    if self.depth == 0 {
                        self.push(Tok::End, self.line);
                    }
                    self.line += 1;
                    self.pos += 1;
                }
                ' ' | '\t' | '\r' | '\x0c' => self.pos += 1,
                '#' => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                '\\' => {
                    // An explicit line continuation: the statement goes on on the next line.
                    let mut next = 1;
                    if self.peek(next) == Some('\r') {
                        next += 1;
                    }
                    if self.peek(next) != Some('\n') {
                        return error(self.line, "unexpected `\\` (only allowed at end of line)");
                    }
                    self.pos += next + 1;
                    self.line += 1;
                }
                ';' => {
                    if self.depth > 0 {
                        return error(self.line, "unexpected `;` inside brackets");
                    }
                    self.push(Tok::End, self.line);
                    self.pos += 1;
                }
                '\'' | '"' => self.string(false)?,
                c if c.is_ascii_digit() => self.number()?,
                '.' if self.peek(1).is_some_and(|c| c.is_ascii_digit()) => self.number()?,
                c if c.is_ascii_alphabetic() || c == '_' => self.name_or_prefixed_string()?,
                '[' | '{' | '(' => {
                    self.depth += 1;
                    self.push(Tok::Punct(c), self.line);
                    self.pos += 1;
                }
                ']' | '}' | ')' => {
                    if self.depth == 0 {
                        return error(self.line, format!("unmatched `{c}`"));
                    }
                    self.depth -= 1;
                    self.push(Tok::Punct(c), self.line);
                    self.pos += 1;
                }
                '=' | ',' | ':' | '+' | '-' | '*' | '.' => {
                    if c == '*' && self.peek(1) == Some('*') {
                        return error(self.line, "`**` is not supported in configuration files");
                    }
                    if c == '=' && self.peek(1) == Some('=') {
                        return error(self.line, "`==` is not supported in configuration files");
                    }
                    self.push(Tok::Punct(c), self.line);
                    self.pos += 1;
                }
                other => return error(self.line, format!("unexpected character {other:?}")),
            }
        }
        if self.depth > 0 {
            return error(self.line, "unexpected end of file: a bracket is not closed");
        }
        self.push(Tok::End, self.line);
        self.push(Tok::Eof, self.line);
        Ok(self.tokens)
    }

    fn name_or_prefixed_string(&mut self) -> ParseResult<()> {
        let start = self.pos;
        while self
            .peek(0)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.pos += 1;
        }
        let word: String = self.chars[start..self.pos].iter().collect();
        if matches!(self.peek(0), Some('\'' | '"')) {
            return match word.to_ascii_lowercase().as_str() {
                "r" => self.string(true),
                "u" => self.string(false),
                _ if word.len() <= 2 && word.chars().all(|c| "bBfFrR".contains(c)) => error(
                    self.line,
                    format!("`{word}` string literals are not supported (use a plain string)"),
                ),
                _ => error(self.line, format!("unexpected string after `{word}`")),
            };
        }
        if self
            .peek(0)
            .is_some_and(|c| !c.is_ascii() && c.is_alphanumeric())
        {
            return error(self.line, "names must be ASCII");
        }
        self.push(Tok::Name(word), self.line);
        Ok(())
    }

    fn string(&mut self, raw: bool) -> ParseResult<()> {
        let start_line = self.line;
        let Some(quote) = self.peek(0) else {
            return error(self.line, "unexpected end of file");
        };
        let triple = self.peek(1) == Some(quote) && self.peek(2) == Some(quote);
        self.pos += if triple { 3 } else { 1 };
        let mut value = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return error(start_line, "unterminated string");
            };
            if c == quote {
                if !triple {
                    self.pos += 1;
                    break;
                }
                if self.peek(1) == Some(quote) && self.peek(2) == Some(quote) {
                    self.pos += 3;
                    break;
                }
            }
            if c == '\n' {
                if !triple {
                    return error(start_line, "unterminated string");
                }
                self.line += 1;
            }
            if c == '\\' {
                self.escape(raw, &mut value)?;
                continue;
            }
            value.push(c);
            self.pos += 1;
        }
        self.push(Tok::Str(value), start_line);
        Ok(())
    }

    /// Handles a backslash inside a string (at `self.pos`), appending what it stands for.
    fn escape(&mut self, raw: bool, value: &mut String) -> ParseResult<()> {
        let Some(next) = self.peek(1) else {
            return error(self.line, "unterminated string");
        };
        if raw {
            // In raw strings a backslash only keeps the next character from ending the string.
            value.push('\\');
            value.push(next);
            if next == '\n' {
                self.line += 1;
            }
            self.pos += 2;
            return Ok(());
        }
        self.pos += 2;
        let simple = match next {
            '\n' => {
                self.line += 1;
                return Ok(());
            }
            '\r' if self.peek(0) == Some('\n') => {
                self.pos += 1;
                self.line += 1;
                return Ok(());
            }
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            _ => None,
        };
        if let Some(c) = simple {
            value.push(c);
            return Ok(());
        }
        let code = match next {
            'x' => self.hex_digits(2)?,
            'u' => self.hex_digits(4)?,
            'U' => self.hex_digits(8)?,
            '0'..='7' => {
                let mut code = next.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match self.peek(0).and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            code = code * 8 + d;
                            self.pos += 1;
                        }
                        None => break,
                    }
                }
                code
            }
            'N' => return error(self.line, "`\\N{...}` escapes are not supported"),
            other => {
                // Python keeps unknown escapes as they are.
                value.push('\\');
                value.push(other);
                return Ok(());
            }
        };
        match char::from_u32(code) {
            Some(c) => {
                value.push(c);
                Ok(())
            }
            None => error(
                self.line,
                format!("invalid character code {code:#x} in escape"),
            ),
        }
    }

    fn hex_digits(&mut self, count: usize) -> ParseResult<u32> {
        let mut code = 0u32;
        for _ in 0..count {
            match self.peek(0).and_then(|c| c.to_digit(16)) {
                Some(d) => {
                    code = code * 16 + d;
                    self.pos += 1;
                }
                None => {
                    return error(
                        self.line,
                        format!("truncated escape: {count} hex digits expected"),
                    );
                }
            }
        }
        Ok(code)
    }

    fn number(&mut self) -> ParseResult<()> {
        let start = self.pos;
        while let Some(c) = self.peek(0) {
            let exponent_sign = matches!(c, '+' | '-')
                && self.pos > start
                && matches!(self.chars[self.pos - 1], 'e' | 'E')
                && !self.chars[start..self.pos]
                    .iter()
                    .any(|c| matches!(c, 'x' | 'X'));
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' || exponent_sign {
                self.pos += 1;
            } else {
                break;
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        let tok = parse_number(&text).map_err(|message| SyntaxError {
            line: self.line,
            message,
        })?;
        self.push(tok, self.line);
        Ok(())
    }
}

fn parse_number(text: &str) -> Result<Tok, String> {
    let invalid = || format!("invalid number `{text}`");
    if text.starts_with('_') || text.ends_with('_') || text.contains("__") {
        return Err(invalid());
    }
    let digits: String = text.chars().filter(|&c| c != '_').collect();
    let lower = digits.to_ascii_lowercase();
    if lower.ends_with('j') {
        return Err(format!("complex numbers are not supported: `{text}`"));
    }
    let radix = match lower.get(..2) {
        Some("0x") => Some(16),
        Some("0o") => Some(8),
        Some("0b") => Some(2),
        _ => None,
    };
    if let Some(radix) = radix {
        return i64::from_str_radix(&lower[2..], radix)
            .map(Tok::Int)
            .map_err(|_| invalid());
    }
    if lower.contains(['.', 'e']) {
        return lower
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Tok::Float)
            .ok_or_else(invalid);
    }
    if lower.len() > 1 && lower.starts_with('0') && lower.chars().any(|c| c != '0') {
        return Err(format!(
            "leading zeros are not allowed in `{text}` (Python needs 0o for octal)"
        ));
    }
    if !lower.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid());
    }
    lower
        .parse::<i64>()
        .map(Tok::Int)
        .map_err(|_| format!("integer `{text}` is out of range"))
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // The lexer always ends the list with `Eof`, and `advance` never moves past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        token
    }

    fn eat(&mut self, punct: char) -> bool {
        if self.peek().tok == Tok::Punct(punct) {
            self.advance();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, punct: char, context: &str) -> ParseResult<()> {
        if self.eat(punct) {
            return Ok(());
        }
        let token = self.peek();
        error(
            token.line,
            format!("expected `{punct}` {context}, found {}", token.tok),
        )
    }

    fn file(mut self) -> ParseResult<Vec<Assignment>> {
        let mut assignments = Vec::new();
        loop {
            let token = self.advance();
            match token.tok {
                Tok::Eof => return Ok(assignments),
                Tok::End => continue,
                Tok::Name(name) => {
                    if PYTHON_KEYWORDS.contains(&name.as_str()) {
                        return error(
                            token.line,
                            format!(
                                "`{name}` statements are not supported: a configuration file \
                                 may only contain `NAME = value` assignments"
                            ),
                        );
                    }
                    self.expect('=', &format!("after `{name}`"))?;
                    let value = self.expression()?;
                    let end = self.advance();
                    if !matches!(end.tok, Tok::End | Tok::Eof) {
                        return error(
                            end.line,
                            format!(
                                "{name}: expected end of line after the value, found {}",
                                end.tok
                            ),
                        );
                    }
                    assignments.push(Assignment {
                        name,
                        line: token.line,
                        value,
                    });
                }
                other => {
                    return error(
                        token.line,
                        format!("expected a `NAME = value` assignment, found {other}"),
                    );
                }
            }
        }
    }

    /// `term (('+' | '-') term)*`
    fn expression(&mut self) -> ParseResult<PyValue> {
        let mut value = self.term()?;
        loop {
            let line = self.peek().line;
            if self.eat('+') {
                let right = self.term()?;
                value = add(value, right).map_err(|m| SyntaxError { line, message: m })?;
            } else if self.eat('-') {
                let right = self.term()?;
                value = subtract(value, right).map_err(|m| SyntaxError { line, message: m })?;
            } else {
                return Ok(value);
            }
        }
    }

    /// `unary ('*' unary)*`
    fn term(&mut self) -> ParseResult<PyValue> {
        let mut value = self.unary()?;
        loop {
            let line = self.peek().line;
            if !self.eat('*') {
                return Ok(value);
            }
            let right = self.unary()?;
            value = multiply(value, right).map_err(|m| SyntaxError { line, message: m })?;
        }
    }

    fn unary(&mut self) -> ParseResult<PyValue> {
        let line = self.peek().line;
        if self.eat('-') {
            return match self.unary()? {
                PyValue::Int(i) => i
                    .checked_neg()
                    .map(PyValue::Int)
                    .ok_or_else(|| SyntaxError {
                        line,
                        message: "integer out of range".into(),
                    }),
                PyValue::Float(f) => Ok(PyValue::Float(-f)),
                other => error(line, format!("cannot negate {}", other.kind())),
            };
        }
        if self.eat('+') {
            return match self.unary()? {
                value @ (PyValue::Int(_) | PyValue::Float(_)) => Ok(value),
                other => error(
                    line,
                    format!("unary `+` is not defined for {}", other.kind()),
                ),
            };
        }
        self.atom()
    }

    fn atom(&mut self) -> ParseResult<PyValue> {
        let token = self.advance();
        match token.tok {
            Tok::Str(mut s) => {
                // Adjacent string literals are one string, as in Python.
                while let Tok::Str(next) = &self.peek().tok {
                    s.push_str(next);
                    self.advance();
                }
                Ok(PyValue::Str(s))
            }
            Tok::Int(i) => Ok(PyValue::Int(i)),
            Tok::Float(f) => Ok(PyValue::Float(f)),
            Tok::Name(name) => match name.as_str() {
                "True" => Ok(PyValue::Bool(true)),
                "False" => Ok(PyValue::Bool(false)),
                "None" => Ok(PyValue::None),
                _ => error(
                    token.line,
                    format!(
                        "`{name}` is not a literal: values must be literals \
                         (strings, numbers, True/False/None, lists, dicts)"
                    ),
                ),
            },
            Tok::Punct('[') => Ok(PyValue::List(self.items(']')?)),
            Tok::Punct('{') => self.dict(),
            Tok::Punct('(') => {
                if self.eat(')') {
                    return Ok(PyValue::Tuple(Vec::new()));
                }
                let first = self.expression()?;
                if self.eat(')') {
                    return Ok(first);
                }
                self.expect(',', "or `)` in parentheses")?;
                let mut items = vec![first];
                items.extend(self.items(')')?);
                Ok(PyValue::Tuple(items))
            }
            other => error(token.line, format!("expected a value, found {other}")),
        }
    }

    /// Comma-separated expressions up to `close` (a trailing comma is allowed).
    fn items(&mut self, close: char) -> ParseResult<Vec<PyValue>> {
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Ok(items);
            }
            items.push(self.expression()?);
            if !self.eat(',') {
                self.expect(close, "or `,`")?;
                return Ok(items);
            }
        }
    }

    fn dict(&mut self) -> ParseResult<PyValue> {
        let mut pairs: Vec<(PyValue, PyValue)> = Vec::new();
        loop {
            if self.eat('}') {
                return Ok(PyValue::Dict(pairs));
            }
            let line = self.peek().line;
            let key = self.expression()?;
            if matches!(key, PyValue::List(_) | PyValue::Dict(_)) {
                return error(line, format!("{} cannot be a dict key", key.kind()));
            }
            self.expect(':', "after a dict key (sets are not supported)")?;
            let value = self.expression()?;
            // A repeated key keeps its first position and its last value, as in Python.
            match pairs.iter_mut().find(|(k, _)| *k == key) {
                Some(pair) => pair.1 = value,
                None => pairs.push((key, value)),
            }
            if !self.eat(',') {
                self.expect('}', "or `,` in a dict")?;
                return Ok(PyValue::Dict(pairs));
            }
        }
    }
}

fn add(left: PyValue, right: PyValue) -> Result<PyValue, String> {
    use PyValue::*;
    Ok(match (left, right) {
        (Int(a), Int(b)) => Int(a.checked_add(b).ok_or("integer out of range")?),
        (Float(a), Float(b)) => Float(a + b),
        (Int(a), Float(b)) | (Float(b), Int(a)) => Float(a as f64 + b),
        (Str(a), Str(b)) => Str(a + &b),
        (List(mut a), List(b)) => {
            a.extend(b);
            List(a)
        }
        (a, b) => return Err(format!("cannot add {} and {}", a.kind(), b.kind())),
    })
}

fn subtract(left: PyValue, right: PyValue) -> Result<PyValue, String> {
    use PyValue::*;
    Ok(match (left, right) {
        (Int(a), Int(b)) => Int(a.checked_sub(b).ok_or("integer out of range")?),
        (Float(a), Float(b)) => Float(a - b),
        (Int(a), Float(b)) => Float(a as f64 - b),
        (Float(a), Int(b)) => Float(a - b as f64),
        (a, b) => return Err(format!("cannot subtract {} from {}", b.kind(), a.kind())),
    })
}

fn multiply(left: PyValue, right: PyValue) -> Result<PyValue, String> {
    use PyValue::*;
    Ok(match (left, right) {
        (Int(a), Int(b)) => Int(a.checked_mul(b).ok_or("integer out of range")?),
        (Float(a), Float(b)) => Float(a * b),
        (Int(a), Float(b)) | (Float(b), Int(a)) => Float(a as f64 * b),
        (a, b) => return Err(format!("cannot multiply {} by {}", a.kind(), b.kind())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use PyValue::*;

    fn value_of(text: &str) -> PyValue {
        let assignments = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
        assert_eq!(assignments.len(), 1, "{text:?}");
        assignments[0].value.clone()
    }

    fn error_of(text: &str) -> SyntaxError {
        parse(text).expect_err(text)
    }

    fn s(text: &str) -> PyValue {
        Str(text.to_owned())
    }

    #[test]
    fn strings_in_every_quoting_style() {
        assert_eq!(value_of("A = 'single'"), s("single"));
        assert_eq!(value_of("A = \"double\""), s("double"));
        assert_eq!(value_of("A = '''tri\nple'''"), s("tri\nple"));
        assert_eq!(value_of(r#"A = """say "hi" now""""#), s("say \"hi\" now"));
        assert_eq!(value_of("A = \"it's\""), s("it's"));
        assert_eq!(value_of("A = ''"), s(""));
        assert_eq!(value_of("A = u'unicode prefix'"), s("unicode prefix"));
        assert_eq!(value_of(r"A = r'C:\path\n'"), s(r"C:\path\n"));
        assert_eq!(value_of(r"A = r'quote \' kept'"), s(r"quote \' kept"));
    }

    #[test]
    fn string_escapes_follow_python() {
        assert_eq!(value_of(r#"A = 'a\nb\tc\\d\'e\"f'"#), s("a\nb\tc\\d'e\"f"));
        assert_eq!(value_of(r"A = '\x41\u00e9\U0001F600\101\0'"), s("Aé😀A\0"));
        assert_eq!(value_of(r"A = '\a\b\f\v\r'"), s("\x07\x08\x0c\x0b\r"));
        // Unknown escapes keep their backslash; `%(name)s` formats pass through untouched.
        assert_eq!(value_of(r"A = '\d+ %(asctime)s'"), s(r"\d+ %(asctime)s"));
        assert_eq!(value_of("A = 'one \\\ntwo'"), s("one two"));
    }

    #[test]
    fn adjacent_strings_and_plus_concatenate() {
        assert_eq!(
            value_of("A = ('%(asctime)s '\n     \"[in %(pathname)s]\")"),
            s("%(asctime)s [in %(pathname)s]")
        );
        assert_eq!(value_of("A = 'a' + 'b'"), s("ab"));
    }

    #[test]
    fn numbers() {
        assert_eq!(value_of("A = 42"), Int(42));
        assert_eq!(value_of("A = -7"), Int(-7));
        assert_eq!(value_of("A = 10_485_760"), Int(10_485_760));
        assert_eq!(value_of("A = 0x1F"), Int(31));
        assert_eq!(value_of("A = 0o17"), Int(15));
        assert_eq!(value_of("A = 0b101"), Int(5));
        assert_eq!(value_of("A = 0"), Int(0));
        assert_eq!(value_of("A = 1.5"), Float(1.5));
        assert_eq!(value_of("A = .5"), Float(0.5));
        assert_eq!(value_of("A = 1e3"), Float(1000.0));
        assert_eq!(value_of("A = 2.5E-1"), Float(0.25));
        assert_eq!(value_of("A = 10 * 1024 * 1024"), Int(10_485_760));
        assert_eq!(value_of("A = 15 * 60 + 30 - 10"), Int(920));
        assert_eq!(value_of("A = -(2 * 3)"), Int(-6));
    }

    #[test]
    fn keywords() {
        assert_eq!(value_of("A = True"), Bool(true));
        assert_eq!(value_of("A = False"), Bool(false));
        assert_eq!(value_of("A = None"), None);
    }

    #[test]
    fn lists_tuples_and_nested_dicts_across_lines() {
        assert_eq!(
            value_of("A = [\n  'x',  # first\n  2,\n]"),
            List(vec![s("x"), Int(2)])
        );
        assert_eq!(value_of("A = []"), List(vec![]));
        assert_eq!(value_of("A = ('a', 'b')"), Tuple(vec![s("a"), s("b")]));
        assert_eq!(value_of("A = ('a',)"), Tuple(vec![s("a")]));
        assert_eq!(value_of("A = ()"), Tuple(vec![]));
        assert_eq!(
            value_of("A = {\n 'k': {'inner': [1, None]},\n \"b\": True,\n}"),
            Dict(vec![
                (s("k"), Dict(vec![(s("inner"), List(vec![Int(1), None]))])),
                (s("b"), Bool(true)),
            ])
        );
        assert_eq!(value_of("A = {}"), Dict(vec![]));
        assert_eq!(
            value_of("A = {'k': 1, 'k': 2}"),
            Dict(vec![(s("k"), Int(2))])
        );
    }

    #[test]
    fn statements_comments_blank_lines_and_continuations() {
        let text = "# comment\n\n  \nA = 1  # trailing\r\nB = \\\n  'two'\nC = 3; D = 4\n";
        let parsed = parse(text).unwrap();
        let summary: Vec<_> = parsed
            .iter()
            .map(|a| (a.name.as_str(), a.line, a.value.clone()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("A", 4, Int(1)),
                ("B", 5, s("two")),
                ("C", 7, Int(3)),
                ("D", 7, Int(4)),
            ]
        );
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(parse("A = '''x\r\ny'''\r\n").unwrap()[0].value, s("x\ny"));
        assert_eq!(parse("\u{feff}A = 1").unwrap()[0].value, Int(1));
    }

    #[test]
    fn line_numbers_count_lines_inside_multiline_values() {
        let text = "A = '''x\ny\nz'''\nB = [\n1,\n2]\nC = 3\n";
        let lines: Vec<_> = parse(text).unwrap().iter().map(|a| a.line).collect();
        assert_eq!(lines, vec![1, 4, 7]);
    }

    #[test]
    fn malformed_input_reports_the_line() {
        let cases: &[(&str, u32, &str)] = &[
            ("A = 1\nB = 'open\n", 2, "unterminated string"),
            ("A = 1\n\nB 2\n", 3, "expected `=` after `B`"),
            ("A = [1,\n2,\n", 3, "bracket is not closed"),
            (
                "A = 1\nimport os\n",
                2,
                "`import` statements are not supported",
            ),
            ("A = os.environ['X']\n", 1, "`os` is not a literal"),
            ("A = 1 2\n", 1, "expected end of line"),
            ("A = 012\n", 1, "leading zeros"),
            ("A = 1j\n", 1, "complex numbers"),
            ("A = b'x'\n", 1, "not supported"),
            ("A = f'x'\n", 1, "not supported"),
            ("A = {1, 2}\n", 1, "sets are not supported"),
            ("\n\n= 5\n", 3, "expected a `NAME = value` assignment"),
            ("A = ]\n", 1, "unmatched"),
            ("A = 'x' * 2\n", 1, "cannot multiply"),
            ("A = 2 ** 3\n", 1, "`**`"),
            ("A = 99999999999999999999\n", 1, "out of range"),
            ("A = '\\x4'\n", 1, "truncated escape"),
            ("A = $\n", 1, "unexpected character"),
            ("A = \n", 1, "expected a value"),
            ("A = {[1]: 2}\n", 1, "cannot be a dict key"),
        ];
        for (text, line, needle) in cases {
            let err = error_of(text);
            assert_eq!(err.line, *line, "{text:?}: {err:?}");
            assert!(err.message.contains(needle), "{text:?}: {err:?}");
        }
    }

    #[test]
    fn repr_matches_python() {
        let value = Dict(vec![
            (s("module"), s("x.y")),
            (s("n"), List(vec![Int(1), Float(2.0), None, Bool(true)])),
            (s("t"), Tuple(vec![s("it's")])),
        ]);
        assert_eq!(
            value.to_string(),
            "{'module': 'x.y', 'n': [1, 2.0, None, True], 't': (\"it's\",)}"
        );
        assert_eq!(s("a\\b\n").to_string(), r"'a\\b\n'");
    }

    #[test]
    fn json_conversion_keeps_structure() {
        let value = value_of("A = {'a': [1, 2.5, None], 'b': {'c': False}, 3: 'x'}");
        assert_eq!(
            value.to_json().unwrap(),
            serde_json::json!({"a": [1, 2.5, null], "b": {"c": false}, "3": "x"})
        );
        let json = serde_json::json!({"k": [1, "v", null, true]});
        assert_eq!(PyValue::from_json(&json).to_json().unwrap(), json);
    }
}
