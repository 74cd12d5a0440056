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
    buf: Vec<u8>,
    stack: Vec<u8>,
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
            buf: Vec::with_capacity(16 * 1024),
            stack: Vec::with_capacity(16),
        }
    }

    /// The input format.
    pub fn format(&self) -> InputFormat {
        self.format
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
                bytes: &self.buf,
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
                    _ => Err(self.malformed(
                        self.pos,
                        "unexpected end of input, expected `,` or `]`",
                    )),
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
                            fail = Some((self.pos + i as u64, format!("expected `[`, found {}", show(b))));
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
        // Phase 2: scan one element.
        let start = self.pos;
        self.buf.clear();
        self.stack.clear();
        self.index += 1;
        let ndjson = self.format == InputFormat::Ndjson;
        let mut in_string = false;
        let mut escape = false;
        let mut scalar = false;
        let mut first = true;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) => {
                    self.index -= 1;
                    return Err(self.io_error(e));
                }
            };
            if chunk.is_empty() {
                if scalar {
                    self.phase = if ndjson { Phase::Before } else { Phase::After };
                    return Ok(Step::Element(start));
                }
                self.index -= 1;
                let at = self.pos;
                return Err(self.malformed(at, "unexpected end of input inside an element"));
            }
            let mut i = 0;
            let mut done = false;
            let mut fail: Option<&'static str> = None;
            while i < chunk.len() {
                let b = chunk[i];
                if in_string {
                    if b < 0x20 {
                        fail = Some("raw control character (e.g. newline) inside a string");
                        break;
                    }
                    self.buf.push(b);
                    if escape {
                        escape = false;
                    } else if b == b'\\' {
                        escape = true;
                    } else if b == b'"' {
                        in_string = false;
                        if self.stack.is_empty() {
                            i += 1;
                            done = true;
                            break;
                        }
                    }
                    i += 1;
                    continue;
                }
                if scalar {
                    if is_ws(b) || (!ndjson && matches!(b, b',' | b']')) {
                        done = true;
                        break;
                    }
                    if matches!(b, b'{' | b'[' | b'}' | b']' | b'"' | b',') {
                        fail = Some("unexpected character after a scalar");
                        break;
                    }
                    self.buf.push(b);
                    i += 1;
                    continue;
                }
                match b {
                    b' ' | b'\t' | b'\r' => {}
                    b'\n' => {
                        if ndjson {
                            fail = Some("line ends inside an element");
                            break;
                        }
                    }
                    b'"' => {
                        self.buf.push(b);
                        in_string = true;
                    }
                    b'{' | b'[' => {
                        self.buf.push(b);
                        self.stack.push(b);
                    }
                    b'}' | b']' => {
                        let open = if b == b'}' { b'{' } else { b'[' };
                        if self.stack.pop() != Some(open) {
                            fail = Some("unbalanced closing bracket");
                            break;
                        }
                        self.buf.push(b);
                        if self.stack.is_empty() {
                            i += 1;
                            done = true;
                            break;
                        }
                    }
                    _ => {
                        if first {
                            scalar = true;
                        }
                        self.buf.push(b);
                    }
                }
                first = false;
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
                self.phase = if ndjson { Phase::Before } else { Phase::After };
                return Ok(Step::Element(start));
            }
        }
    }
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

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
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
mod tests {
    use super::*;

    fn split(input: &[u8], format: InputFormat) -> Vec<std::result::Result<(u64, u64, String), String>> {
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
        assert_eq!(got[3], Err("3@26".into()));
        assert_eq!(got[4], Ok((4, 31, r#"{"d":4}"#.into())));
        assert_eq!(got[5], Ok((5, 43, "5".into())));
        assert_eq!(got.len(), 6);
    }

    #[test]
    fn detect_format() {
        assert_eq!(InputFormat::detect(b"  \n [1]"), Some(InputFormat::JsonArray));
        assert_eq!(InputFormat::detect(b"{\"a\":1}\n"), Some(InputFormat::Ndjson));
        assert_eq!(InputFormat::detect(b" \n"), None);
    }

    #[test]
    fn key_extraction() {
        let k = |e: &[u8]| extract_key(e, Some("k")).map(|o| o.map(|c| c.into_owned()));
        assert_eq!(k(br#"{"k":"a\"b","x":{"k":1}}"#).unwrap(), Some(b"a\"b".to_vec()));
        assert_eq!(k(br#"{"x":{"k":1},"k":12.50}"#).unwrap(), Some(b"12.50".to_vec()));
        assert_eq!(k(br#"{"x":1}"#).unwrap(), None);
        assert_eq!(k(br#"{"k":null}"#).unwrap(), None);
        assert_eq!(k(br#"[1,2]"#).unwrap(), None);
        assert!(k(br#"{"k":1,}"#).is_err());
        assert!(k(br#"{"k":01}"#).is_err());
        assert!(k(br#"{"k":"\x"}"#).is_err());
    }
}
