//! Streaming JSON splitting: cut a JSON array file (or NDJSON) into its top-level elements
//! without loading the file, compacting each element the way `jq -c` prints it.
//!
//! The scanner tracks only string / escape / bracket-depth state, so it runs at memory
//! speed and keeps one element in memory at a time. Compaction removes whitespace outside
//! strings and keeps every other byte as it is: strings keep their escapes and numbers keep
//! their original text (`jq` 1.6 would print `1.0` as `1` and `"\u00e9"` as `"é"`; the
//! assessment events contain neither, so the output is byte-identical to `jq -c '.[]'`).
//! Full JSON validity of each element is checked separately by [`extract_key`].
//!
//! ```
//! use kafka_io::json::{InputFormat, JsonElements};
//! let input = br#"[ {"a": [1, 2], "k": "x y"} , 3.50 ]"#;
//! let mut elements = JsonElements::new(&input[..], InputFormat::JsonArray);
//! let first = elements.next_element().unwrap().unwrap();
//! assert_eq!(first.bytes, br#"{"a":[1,2],"k":"x y"}"#);
//! assert_eq!((first.index, first.byte_offset), (0, 2));
//! assert_eq!(elements.next_element().unwrap().unwrap().bytes, b"3.50");
//! assert!(elements.next_element().unwrap().is_none());
//! ```

use std::borrow::Cow;
use std::fmt;
use std::io::BufRead;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::{Error, Result};

/// Layout of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputFormat {
    /// One JSON array whose elements are the events (the original dataset's form).
    JsonArray,
    /// One JSON value per line (newline-delimited JSON); blank lines are ignored.
    Ndjson,
}

impl InputFormat {
    /// Detects the format from the first non-whitespace byte of `prefix`: `[` means a
    /// JSON array, anything else NDJSON; `None` if `prefix` is all whitespace.
    pub fn detect(prefix: &[u8]) -> Option<InputFormat> {
        prefix.iter().find(|b| !is_ws(**b)).map(|b| {
            if *b == b'[' {
                InputFormat::JsonArray
            } else {
                InputFormat::Ndjson
            }
        })
    }

    /// Detects the format of a file from its first non-whitespace byte (see
    /// [`InputFormat::detect`]); an empty or all-whitespace file is NDJSON (with no events).
    pub fn detect_file(path: &std::path::Path) -> std::io::Result<InputFormat> {
        use std::io::Read;
        let mut file = std::fs::File::open(path)?;
        let mut buf = [0u8; 4096];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                return Ok(InputFormat::Ndjson);
            }
            if let Some(f) = InputFormat::detect(&buf[..n]) {
                return Ok(f);
            }
        }
    }
}

/// One top-level element, compacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element<'a> {
    /// Zero-based index of the element in the input (malformed ones count too).
    pub index: u64,
    /// Byte offset in the input of the element's first byte.
    pub byte_offset: u64,
    /// The element without whitespace outside strings.
    pub bytes: &'a [u8],
    /// The JSON text of the key field's value, if a key field was set
    /// ([`JsonElements::with_key_field`]) and the element is an object that has it.
    pub key_value: Option<&'a [u8]>,
}

impl Element<'_> {
    /// The message key from [`Element::key_value`]: a string's unescaped content, any other
    /// value's JSON text; `None` if there is no key field or it is `null`.
    pub fn key(&self) -> Option<Cow<'_, [u8]>> {
        let raw = self.key_value?;
        if raw == b"null" {
            return None;
        }
        if raw.len() >= 2 && raw[0] == b'"' {
            let inner = &raw[1..raw.len() - 1];
            if !inner.contains(&b'\\') {
                return Some(Cow::Borrowed(inner));
            }
            return serde_json::from_slice::<String>(raw)
                .ok()
                .map(|s| Cow::Owned(s.into_bytes()));
        }
        Some(Cow::Borrowed(raw))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Array mode: before the opening `[`.
    Start,
    /// Array mode: after `[`, an element or `]` may follow.
    First,
    /// Before an element (array mode: after a comma).
    Before,
    /// Array mode: after an element, `,` or `]` must follow.
    After,
    /// Array mode: after `]`, only whitespace may follow.
    Trailer,
    /// NDJSON: skipping the rest of a malformed line.
    SkipLine,
    /// Input exhausted.
    Done,
    /// A structural error in array mode: nothing more can be read.
    Failed,
}

/// Splits a JSON array or NDJSON stream into compacted top-level elements.
///
/// Structural errors (unbalanced brackets, unterminated strings, garbage between elements,
/// a raw control character in a string) are returned as [`Error::Malformed`] with the
/// element index and byte offset. In NDJSON mode the reader resumes at the next line, so a
/// caller may skip the bad line; in array mode the error is final.
#[derive(Debug)]
pub struct JsonElements<R> {
    reader: R,
    format: InputFormat,
    phase: Phase,
    /// Absolute offset of the next unconsumed byte.
    pos: u64,
    /// Index of the next element.
    index: u64,
    el: Elem,
}

/// The element being scanned (separate from the reader so both can be borrowed).
#[derive(Debug)]
struct Elem {
    buf: Vec<u8>,
    stack: Vec<u8>,
    key_field: Option<String>,
    /// Range in `buf` of the key field's value in the current element.
    key_range: Option<std::ops::Range<usize>>,
}

impl Elem {
    /// A value starts at the current end of `buf`; remember it if it is the key field's.
    fn begin_value(&mut self, sc: &mut Scan) {
        if sc.want_value {
            sc.want_value = false;
            sc.value_start = Some(self.buf.len());
        }
    }

    /// A value ended at the current end of `buf`. Returns whether the element is complete.
    fn end_value(&mut self, sc: &mut Scan) -> bool {
        if self.stack.len() == 1
            && let Some(s) = sc.value_start.take()
        {
            self.key_range = Some(s..self.buf.len());
        }
        sc.expect = Expect::CommaOrEnd;
        self.stack.is_empty()
    }

    /// A key string ended (the closing quote is the last byte of `buf`).
    fn end_key(&mut self, sc: &mut Scan) {
        sc.expect = Expect::Colon;
        if self.stack.len() == 1
            && self.key_range.is_none()
            && sc.value_start.is_none()
            && let Some(field) = &self.key_field
        {
            let name = &self.buf[sc.str_start + 1..self.buf.len() - 1];
            sc.want_value = name == field.as_bytes();
        }
    }

    /// A scalar token (number or literal) ended. Returns whether the element is complete.
    fn end_token(&mut self, sc: &mut Scan, _at: u64) -> bool {
        sc.in_token = false;
        let t = &self.buf[sc.token_start..];
        if !(t == b"true" || t == b"false" || t == b"null" || valid_number(t)) {
            sc.grammar_error(sc.token_at, "invalid number or literal");
        }
        self.end_value(sc)
    }
}

enum Step {
    /// An element is complete in `buf`.
    Element(u64),
    Eof,
}

impl<R: BufRead> JsonElements<R> {
    /// Creates a splitter reading `reader` in `format`; byte offsets count from the
    /// reader's current position.
    pub fn new(reader: R, format: InputFormat) -> Self {
        JsonElements {
            reader,
            format,
            phase: match format {
                InputFormat::JsonArray => Phase::Start,
                InputFormat::Ndjson => Phase::Before,
            },
            pos: 0,
            index: 0,
            el: Elem {
                buf: Vec::with_capacity(16 * 1024),
                stack: Vec::with_capacity(16),
                key_field: None,
                key_range: None,
            },
        }
    }

    /// Also locate the value of top-level field `field` in each element (see
    /// [`Element::key`]). Field names are compared as raw bytes.
    pub fn with_key_field(mut self, field: Option<&str>) -> Self {
        self.el.key_field = field.map(str::to_owned);
        self
    }

    /// The input format.
    pub fn format(&self) -> InputFormat {
        self.format
    }

    /// Whether reading can go on after an error: `false` after a structural error in a
    /// JSON array (unbalanced brackets, unterminated string, garbage between elements);
    /// `true` after an invalid element whose extent is known (bad token, bad escape, invalid
    /// UTF-8) and after any error in NDJSON (the next line is read).
    pub fn can_continue(&self) -> bool {
        !matches!(self.phase, Phase::Failed)
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Number of elements started so far (the index the next element will get).
    pub fn elements_seen(&self) -> u64 {
        self.index
    }

    /// Returns the next element, `Ok(None)` at the end of the input.
    pub fn next_element(&mut self) -> Result<Option<Element<'_>>> {
        match self.step()? {
            Step::Element(start) => Ok(Some(Element {
                index: self.index - 1,
                byte_offset: start,
                bytes: &self.el.buf,
                key_value: self.el.key_range.clone().map(|r| &self.el.buf[r]),
            })),
            Step::Eof => Ok(None),
        }
    }

    fn malformed(&mut self, at: u64, reason: impl Into<String>) -> Error {
        let element_index = self.index;
        self.index += 1;
        self.phase = match self.format {
            InputFormat::JsonArray => Phase::Failed,
            InputFormat::Ndjson => Phase::SkipLine,
        };
        Error::Malformed {
            element_index,
            byte_offset: at,
            reason: reason.into(),
        }
    }

    fn io_error(&mut self, e: std::io::Error) -> Error {
        self.phase = Phase::Failed;
        Error::Malformed {
            element_index: self.index,
            byte_offset: self.pos,
            reason: format!("read error: {e}"),
        }
    }

    fn step(&mut self) -> Result<Step> {
        // Phase 1: skip separators until an element starts (or the input ends).
        loop {
            if matches!(self.phase, Phase::Done) {
                return Ok(Step::Eof);
            }
            if matches!(self.phase, Phase::Failed) {
                return Err(Error::Malformed {
                    element_index: self.index,
                    byte_offset: self.pos,
                    reason: "input is unreadable after an earlier structural error".into(),
                });
            }
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) => return Err(self.io_error(e)),
            };
            if chunk.is_empty() {
                return match self.phase {
                    Phase::Before if self.format == InputFormat::Ndjson => {
                        self.phase = Phase::Done;
                        Ok(Step::Eof)
                    }
                    Phase::SkipLine | Phase::Trailer => {
                        self.phase = Phase::Done;
                        Ok(Step::Eof)
                    }
                    Phase::Start => Err(self.malformed(self.pos, "empty input, expected `[`")),
                    _ => {
                        Err(self
                            .malformed(self.pos, "unexpected end of input, expected `,` or `]`"))
                    }
                };
            }
            let mut i = 0;
            let mut start_element = false;
            let mut fail: Option<(u64, String)> = None;
            while i < chunk.len() {
                let b = chunk[i];
                match self.phase {
                    Phase::SkipLine => {
                        if b == b'\n' {
                            self.phase = Phase::Before;
                        }
                    }
                    _ if is_ws(b) => {}
                    Phase::Start => {
                        if b == b'[' {
                            self.phase = Phase::First;
                        } else {
                            fail = Some((
                                self.pos + i as u64,
                                format!("expected `[`, found {}", show(b)),
                            ));
                            break;
                        }
                    }
                    Phase::First if b == b']' => self.phase = Phase::Trailer,
                    Phase::After => match b {
                        b',' => self.phase = Phase::Before,
                        b']' => self.phase = Phase::Trailer,
                        _ => {
                            fail = Some((
                                self.pos + i as u64,
                                format!("expected `,` or `]` after an element, found {}", show(b)),
                            ));
                            break;
                        }
                    },
                    Phase::Trailer => {
                        fail = Some((
                            self.pos + i as u64,
                            format!("unexpected {} after the closing `]`", show(b)),
                        ));
                        break;
                    }
                    Phase::First | Phase::Before => {
                        if self.format == InputFormat::JsonArray && matches!(b, b']' | b',') {
                            fail = Some((
                                self.pos + i as u64,
                                format!("expected an element, found {}", show(b)),
                            ));
                            break;
                        }
                        start_element = true;
                        break;
                    }
                    Phase::Done | Phase::Failed => break,
                }
                i += 1;
            }
            self.reader.consume(i);
            self.pos += i as u64;
            if let Some((at, reason)) = fail {
                return Err(self.malformed(at, reason));
            }
            if start_element {
                break;
            }
        }
        // Phase 2: scan (and validate) one element.
        let start = self.pos;
        self.el.buf.clear();
        self.el.stack.clear();
        self.index += 1;
        self.el.key_range = None;
        let ndjson = self.format == InputFormat::Ndjson;
        let mut sc = Scan::default();
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) => {
                    self.index -= 1;
                    return Err(self.io_error(e));
                }
            };
            if chunk.is_empty() {
                if sc.in_token && self.el.stack.is_empty() {
                    let at = self.pos;
                    self.el.end_token(&mut sc, at);
                    return self.complete(start, &sc);
                }
                self.index -= 1;
                let at = self.pos;
                return Err(self.malformed(at, "unexpected end of input inside an element"));
            }
            let mut i = 0;
            let mut done = false;
            let mut fail: Option<&'static str> = None;
            while i < chunk.len() {
                if sc.in_string {
                    if sc.esc == 0 {
                        let run = string_run(&chunk[i..]);
                        self.el.buf.extend_from_slice(&chunk[i..i + run]);
                        i += run;
                        if i == chunk.len() {
                            break;
                        }
                    }
                    let b = chunk[i];
                    if b < 0x20 {
                        fail = Some("raw control character (e.g. newline) inside a string");
                        break;
                    }
                    if sc.esc == 0 {
                        self.el.buf.push(b);
                        i += 1;
                        if b == b'\\' {
                            sc.esc = 1;
                        } else {
                            // closing quote
                            sc.in_string = false;
                            if sc.str_is_key {
                                self.el.end_key(&mut sc);
                            } else if self.el.end_value(&mut sc) {
                                done = true;
                                break;
                            }
                        }
                    } else if sc.esc == 1 {
                        self.el.buf.push(b);
                        i += 1;
                        sc.esc = match b {
                            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => 0,
                            b'u' => 5,
                            _ => {
                                sc.grammar_error(
                                    self.pos + i as u64 - 1,
                                    "invalid escape in a string",
                                );
                                0
                            }
                        };
                    } else if b.is_ascii_hexdigit() {
                        self.el.buf.push(b);
                        i += 1;
                        sc.esc = if sc.esc == 2 { 0 } else { sc.esc - 1 };
                    } else {
                        // Reprocess this byte as a normal string byte.
                        sc.grammar_error(self.pos + i as u64, "invalid \\u escape in a string");
                        sc.esc = 0;
                    }
                    continue;
                }
                let b = chunk[i];
                if sc.in_token {
                    if is_token_byte(b) {
                        self.el.buf.push(b);
                        i += 1;
                        continue;
                    }
                    let at = self.pos + i as u64;
                    if self.el.end_token(&mut sc, at) {
                        done = true;
                        break;
                    }
                    continue;
                }
                let at = self.pos + i as u64;
                match b {
                    b' ' | b'\t' | b'\r' => {}
                    b'\n' => {
                        if ndjson {
                            fail = Some("line ends inside an element");
                            break;
                        }
                    }
                    b'"' => {
                        match sc.expect {
                            Expect::Key | Expect::KeyOrEnd => sc.str_is_key = true,
                            Expect::Value | Expect::ValueOrEnd => {
                                sc.str_is_key = false;
                                self.el.begin_value(&mut sc);
                            }
                            _ => {
                                sc.grammar_error(at, "unexpected string");
                                sc.str_is_key = false;
                            }
                        }
                        sc.str_start = self.el.buf.len();
                        self.el.buf.push(b);
                        sc.in_string = true;
                    }
                    b'{' | b'[' => {
                        if !matches!(sc.expect, Expect::Value | Expect::ValueOrEnd) {
                            sc.grammar_error(at, "unexpected `{` or `[`");
                        }
                        self.el.begin_value(&mut sc);
                        self.el.buf.push(b);
                        self.el.stack.push(b);
                        sc.expect = if b == b'{' {
                            Expect::KeyOrEnd
                        } else {
                            Expect::ValueOrEnd
                        };
                    }
                    b'}' | b']' => {
                        let open = if b == b'}' { b'{' } else { b'[' };
                        if self.el.stack.pop() != Some(open) {
                            fail = Some("unbalanced closing bracket");
                            break;
                        }
                        let ok = match sc.expect {
                            Expect::CommaOrEnd => true,
                            Expect::KeyOrEnd => b == b'}',
                            Expect::ValueOrEnd => b == b']',
                            _ => false,
                        };
                        if !ok {
                            sc.grammar_error(at, "unexpected closing bracket");
                        }
                        self.el.buf.push(b);
                        i += 1;
                        if self.el.end_value(&mut sc) {
                            done = true;
                            break;
                        }
                        continue;
                    }
                    b':' => {
                        if sc.expect != Expect::Colon {
                            sc.grammar_error(at, "unexpected `:`");
                        }
                        self.el.buf.push(b);
                        sc.expect = Expect::Value;
                    }
                    b',' => {
                        if sc.expect != Expect::CommaOrEnd {
                            sc.grammar_error(at, "unexpected `,`");
                        }
                        self.el.buf.push(b);
                        sc.expect = if self.el.stack.last() == Some(&b'{') {
                            Expect::Key
                        } else {
                            Expect::Value
                        };
                    }
                    _ => {
                        if !is_token_byte(b) {
                            sc.grammar_error(at, "unexpected character");
                        } else if !matches!(sc.expect, Expect::Value | Expect::ValueOrEnd) {
                            sc.grammar_error(at, "unexpected value");
                        }
                        self.el.begin_value(&mut sc);
                        sc.in_token = true;
                        sc.token_start = self.el.buf.len();
                        sc.token_at = at;
                        self.el.buf.push(b);
                    }
                }
                i += 1;
            }
            if let Some(reason) = fail {
                let at = self.pos + i as u64;
                let skip_newline = ndjson && chunk.get(i) == Some(&b'\n');
                self.reader.consume(i);
                self.pos += i as u64;
                self.index -= 1;
                let err = self.malformed(at, reason);
                if skip_newline {
                    self.reader.consume(1);
                    self.pos += 1;
                    self.phase = Phase::Before;
                }
                return Err(err);
            }
            self.reader.consume(i);
            self.pos += i as u64;
            if done {
                return self.complete(start, &sc);
            }
        }
    }

    fn complete(&mut self, start: u64, sc: &Scan) -> Result<Step> {
        self.phase = if self.format == InputFormat::Ndjson {
            Phase::Before
        } else {
            Phase::After
        };
        let mut grammar = sc.grammar;
        if grammar.is_none()
            && let Err(e) = std::str::from_utf8(&self.el.buf)
        {
            grammar = Some((
                start,
                if e.valid_up_to() == 0 {
                    "invalid UTF-8"
                } else {
                    "invalid UTF-8 in a string"
                },
            ));
        }
        if let Some((at, reason)) = grammar {
            // The structure is intact: the caller may skip this element and go on (in
            // NDJSON with the next line).
            if self.format == InputFormat::Ndjson {
                self.phase = Phase::SkipLine;
            }
            return Err(Error::Malformed {
                element_index: self.index - 1,
                byte_offset: at,
                reason: reason.to_owned(),
            });
        }
        Ok(Step::Element(start))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Expect {
    #[default]
    Value,
    /// After `[`.
    ValueOrEnd,
    /// After `{`.
    KeyOrEnd,
    /// After `,` in an object.
    Key,
    Colon,
    CommaOrEnd,
}

/// Per-element scanner state.
#[derive(Debug, Default)]
struct Scan {
    expect: Expect,
    in_string: bool,
    /// 0: none; 1: after a backslash; 2..=5: hex digits of `\u` still expected + 1.
    esc: u8,
    str_is_key: bool,
    str_start: usize,
    in_token: bool,
    token_start: usize,
    token_at: u64,
    /// The next value at depth 1 is the key field's.
    want_value: bool,
    value_start: Option<usize>,
    /// First grammar error: (byte offset, reason).
    grammar: Option<(u64, &'static str)>,
}

impl Scan {
    fn grammar_error(&mut self, at: u64, reason: &'static str) {
        if self.grammar.is_none() {
            self.grammar = Some((at, reason));
        }
    }
}

/// Length of the prefix of `s` without `"`, `\` or control characters, 8 bytes at a time.
fn string_run(s: &[u8]) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while i + 8 <= s.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&s[i..i + 8]);
        let w = u64::from_le_bytes(word);
        let q = w ^ (LO * u64::from(b'"'));
        let bs = w ^ (LO * u64::from(b'\\'));
        let m = (q.wrapping_sub(LO) & !q & HI)
            | (bs.wrapping_sub(LO) & !bs & HI)
            | (w.wrapping_sub(LO * 0x20) & !w & HI);
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < s.len() {
        let b = s[i];
        if b == b'"' || b == b'\\' || b < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')
}

/// JSON number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn valid_number(t: &[u8]) -> bool {
    let mut i = 0;
    let n = t.len();
    if i < n && t[i] == b'-' {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < n && t[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    if i < n && t[i] == b'0' {
        i += 1;
    } else if digits(&mut i) == 0 {
        return false;
    }
    if i < n && t[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if i < n && (t[i] == b'e' || t[i] == b'E') {
        i += 1;
        if i < n && (t[i] == b'+' || t[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == n
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn show(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// Validates `element` as JSON and returns the value of its top-level field `field` as
/// key bytes: a string's unescaped content, any other value's JSON text. `Ok(None)` when
/// the element is not an object, lacks the field, or the field is `null`.
///
/// With `field == None` the element is only validated.
///
/// # Errors
/// The element is not valid JSON: the message is serde_json's (with the column in the
/// compacted element).
///
/// ```
/// use kafka_io::json::extract_key;
/// let k = extract_key(br#"{"a":1,"user_exam_id":"u-1"}"#, Some("user_exam_id")).unwrap();
/// assert_eq!(k.as_deref(), Some(&b"u-1"[..]));
/// assert!(extract_key(br#"{"a":tru}"#, None).is_err());
/// ```
pub fn extract_key<'a>(
    element: &'a [u8],
    field: Option<&str>,
) -> std::result::Result<Option<Cow<'a, [u8]>>, String> {
    let mut de = serde_json::Deserializer::from_slice(element);
    let raw = KeySeed { field }
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    let Some(raw) = raw else { return Ok(None) };
    let text = raw.get();
    if text == "null" {
        return Ok(None);
    }
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        if !inner.contains('\\') {
            return Ok(Some(Cow::Borrowed(inner.as_bytes())));
        }
        let s: String = serde_json::from_str(text).map_err(|e| e.to_string())?;
        return Ok(Some(Cow::Owned(s.into_bytes())));
    }
    Ok(Some(Cow::Borrowed(text.as_bytes())))
}

struct KeySeed<'f> {
    field: Option<&'f str>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<&'de RawValue>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(KeyVisitor { field: self.field })
    }
}

struct KeyVisitor<'f> {
    field: Option<&'f str>,
}

macro_rules! scalar_none {
    ($($name:ident: $t:ty),*) => {
        $(fn $name<E: serde::de::Error>(self, _v: $t) -> std::result::Result<Self::Value, E> {
            Ok(None)
        })*
    };
}

impl<'de> Visitor<'de> for KeyVisitor<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    scalar_none!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);

    fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut found: Option<&'de RawValue> = None;
        while let Some(is_key) = map.next_key_seed(FieldIs { field: self.field })? {
            if is_key && found.is_none() {
                found = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Deserializes a map key, answering whether it equals the wanted field.
struct FieldIs<'f> {
    field: Option<&'f str>,
}

impl<'de> DeserializeSeed<'de> for FieldIs<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for FieldIs<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<bool, E> {
        Ok(self.field == Some(v))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn split(
        input: &[u8],
        format: InputFormat,
    ) -> Vec<std::result::Result<(u64, u64, String), String>> {
        let mut r = JsonElements::new(input, format);
        let mut out = Vec::new();
        for _ in 0..100 {
            match r.next_element() {
                Ok(Some(e)) => out.push(Ok((
                    e.index,
                    e.byte_offset,
                    String::from_utf8(e.bytes.to_vec()).unwrap(),
                ))),
                Ok(None) => break,
                Err(Error::Malformed {
                    element_index,
                    byte_offset,
                    ..
                }) => out.push(Err(format!("{element_index}@{byte_offset}"))),
                Err(e) => panic!("{e}"),
            }
            if matches!(r.phase, Phase::Failed) {
                break;
            }
        }
        out
    }

    #[test]
    fn array_elements_are_compacted() {
        let input = b" [\n {\"a\" : \"x , ] \\\" y\", \"b\": [ 1 , {} ]},\n\"s\" ,\ttrue, -1.50e+3 ,null ]\n ";
        let got = split(input, InputFormat::JsonArray);
        let v: Vec<_> = got.into_iter().map(|r| r.unwrap().2).collect();
        assert_eq!(
            v,
            vec![
                r#"{"a":"x , ] \" y","b":[1,{}]}"#,
                r#""s""#,
                "true",
                "-1.50e+3",
                "null"
            ]
        );
    }

    #[test]
    fn empty_array_and_empty_ndjson() {
        assert!(split(b" [ ] ", InputFormat::JsonArray).is_empty());
        assert!(split(b"\n\n  \n", InputFormat::Ndjson).is_empty());
        assert_eq!(split(b"", InputFormat::JsonArray), vec![Err("0@0".into())]);
    }

    #[test]
    fn array_structural_errors_name_index_and_offset() {
        // element #1 has an unbalanced bracket at byte 12
        let got = split(br#"[{"a":1}, {"b":]}]"#, InputFormat::JsonArray);
        assert_eq!(got[0].as_ref().unwrap().2, r#"{"a":1}"#);
        assert_eq!(got[1], Err("1@15".into()));
        // missing comma
        let got = split(br#"[{"a":1} {"b":2}]"#, InputFormat::JsonArray);
        assert_eq!(got[1], Err("1@9".into()));
        // truncated file
        let got = split(br#"[{"a":1},{"b":"#, InputFormat::JsonArray);
        assert_eq!(got[1], Err("1@14".into()));
        // trailing comma
        let got = split(br#"[1,]"#, InputFormat::JsonArray);
        assert_eq!(got[1], Err("1@3".into()));
    }

    #[test]
    fn ndjson_resyncs_after_a_bad_line() {
        let input = b"{\"a\":1}\n{\"b\":[}\n\n{\"c\":\"x\ny\"}\n  {\"d\" : 4 }\r\n5\n";
        let got = split(input, InputFormat::Ndjson);
        assert_eq!(got[0], Ok((0, 0, r#"{"a":1}"#.into())));
        assert_eq!(got[1], Err("1@14".into()));
        // a raw newline ends the line inside a string; the rest of it is a bad line too
        assert_eq!(got[2], Err("2@24".into()));
        assert_eq!(got[3], Err("3@25".into()));
        assert_eq!(got[4], Ok((4, 31, r#"{"d":4}"#.into())));
        assert_eq!(got[5], Ok((5, 43, "5".into())));
        assert_eq!(got.len(), 6);
    }

    #[test]
    fn key_field_is_located_while_scanning() {
        let input = br#"[{"x":{"user_exam_id":"inner"},"user_exam_id" : "u\"1","n":2}, {"user_exam_id":12.5}, {"user_exam_id":null}, {"a":1}, 7]"#;
        let mut r = JsonElements::new(&input[..], InputFormat::JsonArray)
            .with_key_field(Some("user_exam_id"));
        let mut keys = Vec::new();
        while let Some(e) = r.next_element().unwrap() {
            keys.push(e.key().map(|k| String::from_utf8(k.into_owned()).unwrap()));
        }
        assert_eq!(
            keys,
            vec![
                Some("u\"1".to_owned()),
                Some("12.5".to_owned()),
                None,
                None,
                None
            ]
        );
    }

    #[test]
    fn grammar_errors_are_recoverable_in_arrays() {
        for (bad, at) in [
            (&br#"{"a":tru}"#[..], 5),
            (br#"{"a" 1}"#, 5),
            (br#"{"a":01}"#, 5),
            (br#"{"a":"\x"}"#, 7),
            (br#"{"a":1,}"#, 7),
            (br#"{"a":[1 2]}"#, 8),
            (br#"{"a":"\u12g4"}"#, 10),
            (br#"{,}"#, 1),
        ] {
            let mut input = b"[1,".to_vec();
            input.extend_from_slice(bad);
            input.extend_from_slice(b",2]");
            let mut r = JsonElements::new(&input[..], InputFormat::JsonArray);
            assert_eq!(r.next_element().unwrap().unwrap().bytes, b"1");
            match r.next_element() {
                Err(Error::Malformed {
                    element_index: 1,
                    byte_offset,
                    ..
                }) => {
                    assert_eq!(byte_offset, 3 + at, "{}", String::from_utf8_lossy(bad))
                }
                other => panic!("{}: {other:?}", String::from_utf8_lossy(bad)),
            }
            assert!(r.can_continue());
            assert_eq!(r.next_element().unwrap().unwrap().bytes, b"2");
            assert!(r.next_element().unwrap().is_none());
        }
    }

    #[test]
    fn validation_agrees_with_serde_json() {
        let cases: &[&str] = &[
            r#"{"a":[1,2.5,-0.1e-3,true,false,null,"x\u00e9\n"],"b":{}}"#,
            r#"{"a":1}"#,
            r#"[]"#,
            r#"[[],{}]"#,
            r#""s""#,
            "0",
            "-0",
            "1E+2",
            "12",
            r#"{"a":-}"#,
            r#"{"a":1.}"#,
            r#"{"a":.5}"#,
            r#"{"a":1e}"#,
            r#"{"a":00}"#,
            r#"{"a":+1}"#,
            r#"{"a":nul}"#,
            r#"{"a":True}"#,
            r#"{"a":"\q"}"#,
            r#"{"a":"\u00zz"}"#,
            r#"{"a":1,,"b":2}"#,
            r#"{"a"}"#,
            r#"{"a":1 "b":2}"#,
            r#"{1:2}"#,
            r#"[1,]"#,
            r#"[,1]"#,
            r#"{"a":[}]}"#,
            r#"{"a":{"b":1}}}"#,
            r#""\u00e9""#,
            "tru",
            "1 2",
        ];
        for c in cases {
            let serde_ok = serde_json::from_str::<serde::de::IgnoredAny>(c).is_ok();
            let mut input = b"[".to_vec();
            input.extend_from_slice(c.as_bytes());
            input.push(b']');
            let mut r = JsonElements::new(&input[..], InputFormat::JsonArray);
            let ours_ok =
                matches!(r.next_element(), Ok(Some(_))) && matches!(r.next_element(), Ok(None));
            assert_eq!(ours_ok, serde_ok, "{c}");
        }
        // Invalid UTF-8 inside a string.
        let mut r = JsonElements::new(&b"[\"\xff\"]"[..], InputFormat::JsonArray);
        assert!(r.next_element().is_err());
    }

    #[test]
    fn detect_format() {
        assert_eq!(
            InputFormat::detect(b"  \n [1]"),
            Some(InputFormat::JsonArray)
        );
        assert_eq!(
            InputFormat::detect(b"{\"a\":1}\n"),
            Some(InputFormat::Ndjson)
        );
        assert_eq!(InputFormat::detect(b" \n"), None);
    }

    #[test]
    fn key_extraction() {
        let k = |e: &[u8]| extract_key(e, Some("k")).map(|o| o.map(|c| c.into_owned()));
        assert_eq!(
            k(br#"{"k":"a\"b","x":{"k":1}}"#).unwrap(),
            Some(b"a\"b".to_vec())
        );
        assert_eq!(
            k(br#"{"x":{"k":1},"k":12.50}"#).unwrap(),
            Some(b"12.50".to_vec())
        );
        assert_eq!(k(br#"{"x":1}"#).unwrap(), None);
        assert_eq!(k(br#"{"k":null}"#).unwrap(), None);
        assert_eq!(k(br#"[1,2]"#).unwrap(), None);
        assert!(k(br#"{"k":1,}"#).is_err());
        assert!(k(br#"{"k":01}"#).is_err());
        assert!(k(br#"{"k":"\x"}"#).is_err());
    }
}
