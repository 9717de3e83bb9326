//! A minimal JSON value, a strict parser and a compact encoder (std only).
//!
//! **Encoder** ([`Value::to_json`], [`write_str`]): no whitespace, object members in their
//! stored order, strings escaped exactly as `docs/protocol.md` fixes it: `"` and `\` and the
//! bytes below 0x20 are escaped (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, every other control
//! byte as `\u00xx` with lowercase hex); nothing else is (`/`, DEL and non-ASCII are written as
//! they are). Numbers are written exactly as their text. These are the bytes the C SDK writes.
//!
//! **Parser** ([`Value::parse`], [`parse`]): RFC 8259, strictly: the input must be UTF-8,
//! whitespace is space, tab, CR and LF only, numbers follow the JSON grammar (kept as their
//! text, see [`Number`]), `\uXXXX` escapes including surrogate pairs (lone surrogates are
//! refused), no raw control characters in strings, no trailing bytes, no duplicate keys in an
//! object, and nesting at most `max_depth` arrays/objects deep. Parsing never recurses deeper
//! than the depth bound.

use std::fmt;

/// Nesting bound of a whole protocol message (arrays and objects, counting the envelope).
pub const MAX_DEPTH: usize = 32;

/// The most bytes [`Value::parse`] accepts: the protocol's 1 MiB message limit.
pub const MAX_INPUT: usize = 1_048_576;

/// A JSON value. Objects keep their members in order (the encoder writes them in that order).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, kept as its JSON text.
    Number(Number),
    /// A string (any Unicode text, including NUL).
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object: its members in order. Keys should be unique (the parser guarantees it).
    Object(Vec<(String, Value)>),
}

/// A JSON number, kept as the exact text it was written with (`0.7`, `-1.5e3`,
/// `18446744073709551615`), so that re-encoding never changes it. Always valid JSON number
/// syntax.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Number(String);

/// Why a text is not acceptable JSON: a short reason and the byte offset of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong ("duplicate key", "nesting too deep", ...).
    pub reason: &'static str,
    /// The byte offset in the input where it was noticed.
    pub offset: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

impl std::error::Error for ParseError {}

// ---- numbers --------------------------------------------------------------------------------

/// The length of the JSON number at the start of `b`, or an error reason.
fn scan_number(b: &[u8]) -> Result<usize, (&'static str, usize)> {
    let mut i = 0;
    let digit = |i: usize| i < b.len() && b[i].is_ascii_digit();
    if i < b.len() && b[i] == b'-' {
        i += 1;
    }
    if !digit(i) {
        return Err(("invalid number", i));
    }
    if b[i] == b'0' {
        i += 1;
        if digit(i) {
            return Err(("leading zero in number", i));
        }
    } else {
        while digit(i) {
            i += 1;
        }
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if !digit(i) {
            return Err(("invalid number", i));
        }
        while digit(i) {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if !digit(i) {
            return Err(("invalid number", i));
        }
        while digit(i) {
            i += 1;
        }
    }
    Ok(i)
}

impl Number {
    /// The number written as `text`, if `text` is exactly one JSON number (`"1"`, `"-0.5e3"`;
    /// not `"+1"`, `"01"`, `"1."`, `"NaN"`, `" 1"`).
    pub fn from_text(text: &str) -> Option<Number> {
        match scan_number(text.as_bytes()) {
            Ok(n) if n == text.len() => Some(Number(text.to_owned())),
            _ => None,
        }
    }

    /// A finite `f64` as a number (Rust's shortest round-trip form, e.g. `0.7`, `1e300`);
    /// `None` for NaN and infinities, which JSON cannot express.
    pub fn from_f64(v: f64) -> Option<Number> {
        if !v.is_finite() {
            return None;
        }
        Number::from_text(&format!("{v:?}"))
    }

    /// The number's JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value of a plain non-negative integer (`"0"`, `"42"`, up to `18446744073709551615`;
    /// not `"-1"`, `"1.0"`, `"1e3"`).
    pub fn as_u64(&self) -> Option<u64> {
        let b = self.0.as_bytes();
        if b.is_empty() || !b.iter().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let mut x: u64 = 0;
        for &c in b {
            x = x.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        }
        Some(x)
    }

    /// The value of a plain integer in the `i64` range (`"-5"`, `"7"`; not `"1.0"`, `"-0"` is 0).
    pub fn as_i64(&self) -> Option<i64> {
        let s = self.0.as_str();
        if s.bytes().any(|c| c == b'.' || c == b'e' || c == b'E') {
            return None;
        }
        s.parse::<i64>().ok()
    }

    /// The value as an `f64` (rounded; huge exponents give infinity).
    pub fn as_f64(&self) -> Option<f64> {
        self.0.parse::<f64>().ok()
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! number_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            fn from(v: $t) -> Number {
                Number(v.to_string())
            }
        }
        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::Number(Number::from(v))
            }
        }
    )*};
}
number_from_int!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::String(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::String(v)
    }
}

impl From<Number> for Value {
    fn from(v: Number) -> Value {
        Value::Number(v)
    }
}

impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Value {
        Value::Array(v)
    }
}

impl From<Vec<(String, Value)>> for Value {
    fn from(v: Vec<(String, Value)>) -> Value {
        Value::Object(v)
    }
}

// ---- value accessors ----------------------------------------------------------------------

impl Value {
    /// Parses a JSON text strictly (see the module docs), with the protocol's bounds: nesting
    /// at most [`MAX_DEPTH`] deep and at most [`MAX_INPUT`] bytes.
    pub fn parse(text: &str) -> Result<Value, ParseError> {
        parse(text.as_bytes(), MAX_DEPTH)
    }

    /// The compact JSON text of the value (the protocol's encoding).
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        write_value(&mut out, self);
        out
    }

    /// The member `key` of an object (`None` for a missing key or a non-object).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A plain non-negative integer ([`Number::as_u64`]).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    /// A plain integer in the `i64` range ([`Number::as_i64`]).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// Any number as an `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    /// The value of `true` / `false`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The elements of an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The members of an object, in order.
    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// True when the value nests more than `max` arrays/objects deep (a scalar is depth 0).
    /// Never recurses more than `max + 1` levels.
    pub fn deeper_than(&self, max: usize) -> bool {
        match self {
            Value::Array(a) => max == 0 || a.iter().any(|c| c.deeper_than(max - 1)),
            Value::Object(o) => max == 0 || o.iter().any(|(_, c)| c.deeper_than(max - 1)),
            _ => false,
        }
    }
}

impl fmt::Display for Value {
    /// The compact JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

impl std::str::FromStr for Value {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Value, ParseError> {
        Value::parse(s)
    }
}

// ---- encoder --------------------------------------------------------------------------------

/// Appends `s` as a JSON string (with its quotes), escaped as `docs/protocol.md` specifies.
pub fn write_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push('"');
    let b = s.as_bytes();
    let mut run = 0; // start of the bytes not yet copied
    for (i, &c) in b.iter().enumerate() {
        let short = match c {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x00..=0x1f => "",
            _ => continue,
        };
        // Every escaped byte is ASCII, so i is a character boundary.
        out.push_str(&s[run..i]);
        run = i + 1;
        if short.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(c >> 4)]));
            out.push(char::from(HEX[usize::from(c & 15)]));
        } else {
            out.push_str(short);
        }
    }
    out.push_str(&s[run..]);
    out.push('"');
}

/// Appends the compact JSON text of `v`.
pub fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => out.push_str(n.as_str()),
        Value::String(s) => write_str(out, s),
        Value::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, e);
            }
            out.push(']');
        }
        Value::Object(o) => {
            out.push('{');
            for (i, (k, e)) in o.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_value(out, e);
            }
            out.push('}');
        }
    }
}

// ---- parser ---------------------------------------------------------------------------------

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    max_depth: usize,
}

type PResult<T> = Result<T, ParseError>;

impl<'a> Parser<'a> {
    fn fail<T>(&self, reason: &'static str) -> PResult<T> {
        Err(ParseError {
            reason,
            offset: self.pos,
        })
    }

    fn skip_ws(&mut self) {
        while self.pos < self.b.len() && matches!(self.b[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn hex4(&mut self) -> PResult<u32> {
        if self.b.len() - self.pos < 4 {
            return self.fail("truncated \\u escape");
        }
        let mut v = 0u32;
        for i in 0..4 {
            let d = match char::from(self.b[self.pos + i]).to_digit(16) {
                Some(d) => d,
                None => return self.fail("invalid \\u escape"),
            };
            v = v << 4 | d;
        }
        self.pos += 4;
        Ok(v)
    }

    /// A string starting at its opening quote.
    fn string(&mut self) -> PResult<String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            // Runs of plain characters (all of a base64 payload) are copied in one go. Every
            // byte that ends a run is ASCII, so the slice is on character boundaries.
            let start = self.pos;
            while self.pos < self.b.len() {
                let c = self.b[self.pos];
                if c < 0x20 || c == b'"' || c == b'\\' {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.s[start..self.pos]);
            if self.pos >= self.b.len() {
                return self.fail("unterminated string");
            }
            match self.b[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    if self.pos + 1 >= self.b.len() {
                        self.pos = self.b.len();
                        return self.fail("unterminated string");
                    }
                    let e = self.b[self.pos + 1];
                    self.pos += 2;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => {
                            self.pos -= 1;
                            return self.fail("invalid escape");
                        }
                    };
                    out.push(c);
                }
                _ => return self.fail("control character in string"),
            }
        }
    }

    /// The character of a `\u` escape whose `\u` was consumed (a surrogate pair takes two).
    fn unicode_escape(&mut self) -> PResult<char> {
        let hi = self.hex4()?;
        if (0xDC00..=0xDFFF).contains(&hi) {
            return self.fail("lone low surrogate");
        }
        let cp = if (0xD800..=0xDBFF).contains(&hi) {
            if self.b.len() - self.pos < 2 || &self.b[self.pos..self.pos + 2] != b"\\u" {
                return self.fail("lone high surrogate");
            }
            self.pos += 2;
            let lo = self.hex4()?;
            if !(0xDC00..=0xDFFF).contains(&lo) {
                return self.fail("high surrogate not followed by a low surrogate");
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        match char::from_u32(cp) {
            Some(c) => Ok(c),
            None => self.fail("invalid \\u escape"),
        }
    }

    fn literal(&mut self, word: &'static str, v: Value) -> PResult<Value> {
        if self.b[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            self.fail("invalid literal")
        }
    }

    /// One value (leading whitespace allowed) inside `depth` containers.
    fn value(&mut self, depth: usize) -> PResult<Value> {
        self.skip_ws();
        if self.pos >= self.b.len() {
            return self.fail("unexpected end of input");
        }
        match self.b[self.pos] {
            c @ (b'{' | b'[') => {
                if depth >= self.max_depth {
                    return self.fail("nesting too deep");
                }
                self.pos += 1;
                if c == b'{' {
                    self.object(depth + 1)
                } else {
                    self.array(depth + 1)
                }
            }
            b'"' => Ok(Value::String(self.string()?)),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Null),
            b'-' | b'0'..=b'9' => match scan_number(&self.b[self.pos..]) {
                Ok(n) => {
                    let text = &self.s[self.pos..self.pos + n];
                    self.pos += n;
                    Ok(Value::Number(Number(text.to_owned())))
                }
                Err((reason, at)) => {
                    self.pos += at;
                    self.fail(reason)
                }
            },
            _ => self.fail("unexpected character"),
        }
    }

    /// After `[`.
    fn array(&mut self, depth: usize) -> PResult<Value> {
        let mut items = Vec::new();
        self.skip_ws();
        if self.pos < self.b.len() && self.b[self.pos] == b']' {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_ws();
            if self.pos >= self.b.len() {
                return self.fail("unexpected end of input");
            }
            let c = self.b[self.pos];
            self.pos += 1;
            match c {
                b']' => return Ok(Value::Array(items)),
                b',' => {}
                _ => {
                    self.pos -= 1;
                    return self.fail("expected ',' or ']'");
                }
            }
        }
    }

    /// After `{`.
    fn object(&mut self, depth: usize) -> PResult<Value> {
        let mut members: Vec<(String, Value)> = Vec::new();
        self.skip_ws();
        if self.pos < self.b.len() && self.b[self.pos] == b'}' {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            if self.pos >= self.b.len() {
                return self.fail("unexpected end of input");
            }
            if self.b[self.pos] != b'"' {
                return self.fail("expected a key");
            }
            let key = self.string()?;
            self.skip_ws();
            if self.pos >= self.b.len() || self.b[self.pos] != b':' {
                return self.fail("expected ':'");
            }
            self.pos += 1;
            let v = self.value(depth)?;
            members.push((key, v));
            self.skip_ws();
            if self.pos >= self.b.len() {
                return self.fail("unexpected end of input");
            }
            let c = self.b[self.pos];
            self.pos += 1;
            match c {
                b'}' => break,
                b',' => {}
                _ => {
                    self.pos -= 1;
                    return self.fail("expected ',' or '}'");
                }
            }
        }
        // Duplicate keys: sort the keys, compare neighbours.
        if members.len() > 1 {
            let mut keys: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
            keys.sort_unstable();
            if keys.windows(2).any(|w| w[0] == w[1]) {
                return self.fail("duplicate key");
            }
        }
        Ok(Value::Object(members))
    }
}

/// Parses `text` strictly (see the module docs) with nesting at most `max_depth` arrays/objects
/// deep; refuses inputs over [`MAX_INPUT`] bytes.
pub fn parse(text: &[u8], max_depth: usize) -> Result<Value, ParseError> {
    if text.len() > MAX_INPUT {
        return Err(ParseError {
            reason: "input larger than the 1 MiB message limit",
            offset: 0,
        });
    }
    let s = match std::str::from_utf8(text) {
        Ok(s) => s,
        Err(e) => {
            return Err(ParseError {
                reason: "invalid UTF-8",
                offset: e.valid_up_to(),
            })
        }
    };
    let mut p = Parser {
        s,
        b: text,
        pos: 0,
        max_depth,
    };
    let v = p.value(0)?;
    p.skip_ws();
    if p.pos != p.b.len() {
        return p.fail("trailing bytes after the value");
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        for good in [
            "0",
            "-0",
            "1.5e+10",
            "1E5",
            "-12.34e-5",
            "18446744073709551616",
        ] {
            assert!(Number::from_text(good).is_some(), "{good}");
        }
        for bad in [
            "", "01", "1.", ".5", "-", "+1", "1e", "NaN", " 1", "1 ", "0x1", "-01",
        ] {
            assert!(Number::from_text(bad).is_none(), "{bad}");
        }
        assert_eq!(Number::from_f64(0.7).unwrap().as_str(), "0.7");
        assert_eq!(Number::from_f64(-1.0).unwrap().as_str(), "-1.0");
        assert!(Number::from_f64(1e300).is_some());
        assert!(Number::from_f64(f64::NAN).is_none());
        assert!(Number::from_f64(f64::INFINITY).is_none());
        assert_eq!(Number::from(u64::MAX).as_u64(), Some(u64::MAX));
        assert_eq!(Number::from(-5i64).as_i64(), Some(-5));
        assert_eq!(Number::from_text("1.0").unwrap().as_i64(), None);
        assert_eq!(Number::from_text("-2.5e3").unwrap().as_f64(), Some(-2500.0));
    }

    #[test]
    fn depth_measure() {
        let v = Value::parse("[[1],{\"a\":[[]]}]").unwrap();
        assert!(v.deeper_than(3));
        assert!(!v.deeper_than(4));
        assert!(!Value::from(1u8).deeper_than(0));
        assert!(Value::Array(vec![]).deeper_than(0));
    }
}
