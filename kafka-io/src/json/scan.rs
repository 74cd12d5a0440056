//! The byte-by-byte scanner: the exact validator of one element, used when the fast path
//! ([`super::fast`]) gives up. It compacts the element as it goes (whitespace outside
//! strings removed), locates the key field's value and records the first grammar error.
//!
//! Positions are offsets from the element's first byte. Two kinds of problems:
//! - a grammar error (a bad token, escape or separator, a raw control character in a
//!   string) leaves the element's extent known: the scan goes on to its end, and the
//!   element is kept with the error as its diagnosis;
//! - a structural problem (an unbalanced closing bracket, a raw newline inside a string,
//!   the input ending inside the element) means the element has no known end.

use std::ops::Range;

use super::token::{is_token_byte, string_run, valid_number};

/// What the scanner expects next.
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

/// How the scan of an element ended ([`Scanner::feed`], [`Scanner::finish`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// The element ends before this offset.
    Complete(usize),
    /// The element has no known end: at this offset, for this reason.
    Broken(usize, &'static str),
}

/// Per-element scanner state; reused (with its allocations) from element to element.
#[derive(Debug, Default)]
pub(super) struct Scanner {
    /// Next byte to scan.
    pos: usize,
    expect: Expect,
    in_string: bool,
    /// 0: none; 1: after a backslash; 2..=5: hex digits of `\u` still expected + 1.
    esc: u8,
    str_is_key: bool,
    /// Where the current string starts in the compact output.
    str_start: usize,
    in_token: bool,
    /// Where the current token starts in the compact output, and in the input.
    token_start: usize,
    token_at: usize,
    /// The next value at depth 1 is the key field's.
    want_value: bool,
    value_start: Option<usize>,
    /// First grammar error: (offset, reason).
    grammar: Option<(usize, &'static str)>,
    /// Open brackets.
    stack: Vec<u8>,
    /// The key field's value in the compact output.
    key_range: Option<Range<usize>>,
}

impl Scanner {
    /// Ready for a new element.
    pub(super) fn reset(&mut self) {
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        *self = Scanner {
            stack,
            ..Scanner::default()
        };
    }

    /// The first grammar error: (offset, reason).
    pub(super) fn grammar(&self) -> Option<(usize, &'static str)> {
        self.grammar
    }

    /// The key field's value range in the compact output.
    pub(super) fn key_range(&self) -> Option<Range<usize>> {
        self.key_range.clone()
    }

    /// Scans `raw[pos..]`, where `raw` is the element's input from its first byte (the same
    /// bytes as before, plus more), appending the compact form to `out`. `None`: every byte
    /// was scanned and the element goes on.
    pub(super) fn feed(
        &mut self,
        raw: &[u8],
        out: &mut Vec<u8>,
        key: Option<&[u8]>,
    ) -> Option<End> {
        while self.pos < raw.len() {
            let done = if self.in_string {
                self.string(raw, out, key)
            } else if self.in_token {
                self.token(raw[self.pos], out)
            } else {
                self.structural(raw[self.pos], out)
            };
            if done.is_some() {
                return done;
            }
        }
        None
    }

    /// The input (or the line) ended after everything fed: a top-level number or literal
    /// ends here; anything else open is broken.
    pub(super) fn finish(&mut self, out: &[u8], line: bool) -> End {
        if self.in_token && self.stack.is_empty() {
            self.end_token(out);
            return End::Complete(self.pos);
        }
        let reason = match (self.in_string, line) {
            (true, false) => "the input ends inside a string",
            (true, true) => "the line ends inside a string",
            (false, false) => "the input ends inside an element",
            (false, true) => "the line ends inside an element",
        };
        End::Broken(self.pos, reason)
    }

    fn grammar_error(&mut self, at: usize, reason: &'static str) {
        if self.grammar.is_none() {
            self.grammar = Some((at, reason));
        }
    }

    /// Inside a string: a run of plain bytes, then one special byte.
    fn string(&mut self, raw: &[u8], out: &mut Vec<u8>, key: Option<&[u8]>) -> Option<End> {
        if self.esc == 0 {
            let run = string_run(&raw[self.pos..]);
            out.extend_from_slice(&raw[self.pos..self.pos + run]);
            self.pos += run;
            if self.pos == raw.len() {
                return None;
            }
        }
        let at = self.pos;
        let b = raw[at];
        if b < 0x20 {
            if b == b'\n' {
                return Some(End::Broken(
                    at,
                    "a string is not closed before the line ends",
                ));
            }
            self.grammar_error(at, "raw control character inside a string");
            self.esc = 0;
            out.push(b);
            self.pos += 1;
            return None;
        }
        match self.esc {
            0 => {
                out.push(b);
                self.pos += 1;
                if b == b'\\' {
                    self.esc = 1;
                } else {
                    // the closing quote
                    self.in_string = false;
                    if self.str_is_key {
                        self.end_key(out, key);
                    } else if self.end_value(out) {
                        return Some(End::Complete(self.pos));
                    }
                }
            }
            1 => {
                out.push(b);
                self.pos += 1;
                self.esc = match b {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => 0,
                    b'u' => 5,
                    _ => {
                        self.grammar_error(at, "invalid escape in a string");
                        0
                    }
                };
            }
            _ if b.is_ascii_hexdigit() => {
                out.push(b);
                self.pos += 1;
                self.esc = if self.esc == 2 { 0 } else { self.esc - 1 };
            }
            _ => {
                // Scanned again as a plain string byte.
                self.grammar_error(at, "invalid \\u escape in a string");
                self.esc = 0;
            }
        }
        None
    }

    /// Inside a number or literal: a token byte, or the byte after the token (scanned
    /// again).
    fn token(&mut self, b: u8, out: &mut Vec<u8>) -> Option<End> {
        if is_token_byte(b) {
            out.push(b);
            self.pos += 1;
            return None;
        }
        if self.end_token(out) {
            return Some(End::Complete(self.pos));
        }
        None
    }

    /// Outside strings and tokens.
    fn structural(&mut self, b: u8, out: &mut Vec<u8>) -> Option<End> {
        let at = self.pos;
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => {}
            b'"' => {
                match self.expect {
                    Expect::Key | Expect::KeyOrEnd => self.str_is_key = true,
                    Expect::Value | Expect::ValueOrEnd => {
                        self.str_is_key = false;
                        self.begin_value(out);
                    }
                    _ => {
                        self.grammar_error(at, "unexpected string");
                        self.str_is_key = false;
                    }
                }
                self.str_start = out.len();
                out.push(b);
                self.in_string = true;
            }
            b'{' | b'[' => {
                if !matches!(self.expect, Expect::Value | Expect::ValueOrEnd) {
                    self.grammar_error(at, "unexpected `{` or `[`");
                }
                self.begin_value(out);
                out.push(b);
                self.stack.push(b);
                self.expect = if b == b'{' {
                    Expect::KeyOrEnd
                } else {
                    Expect::ValueOrEnd
                };
            }
            b'}' | b']' => return self.close(b, out),
            b':' => {
                if self.expect != Expect::Colon {
                    self.grammar_error(at, "unexpected `:`");
                }
                out.push(b);
                self.expect = Expect::Value;
            }
            b',' => {
                if self.expect != Expect::CommaOrEnd {
                    self.grammar_error(at, "unexpected `,`");
                }
                out.push(b);
                self.expect = if self.stack.last() == Some(&b'{') {
                    Expect::Key
                } else {
                    Expect::Value
                };
            }
            _ => {
                if !is_token_byte(b) {
                    self.grammar_error(at, "unexpected character");
                } else if !matches!(self.expect, Expect::Value | Expect::ValueOrEnd) {
                    self.grammar_error(at, "unexpected value");
                }
                self.begin_value(out);
                self.in_token = true;
                self.token_start = out.len();
                self.token_at = at;
                out.push(b);
            }
        }
        self.pos += 1;
        None
    }

    /// A closing bracket.
    fn close(&mut self, b: u8, out: &mut Vec<u8>) -> Option<End> {
        let open = if b == b'}' { b'{' } else { b'[' };
        if self.stack.pop() != Some(open) {
            return Some(End::Broken(self.pos, "unbalanced closing bracket"));
        }
        let ok = match self.expect {
            Expect::CommaOrEnd => true,
            Expect::KeyOrEnd => b == b'}',
            Expect::ValueOrEnd => b == b']',
            _ => false,
        };
        if !ok {
            self.grammar_error(self.pos, "unexpected closing bracket");
        }
        out.push(b);
        self.pos += 1;
        self.end_value(out).then_some(End::Complete(self.pos))
    }

    /// A value starts at the current end of `out`; remember it if it is the key field's.
    fn begin_value(&mut self, out: &[u8]) {
        if self.want_value {
            self.want_value = false;
            self.value_start = Some(out.len());
        }
    }

    /// A value ended at the current end of `out`. Returns whether the element is complete.
    fn end_value(&mut self, out: &[u8]) -> bool {
        if self.stack.len() == 1
            && let Some(s) = self.value_start.take()
        {
            self.key_range = Some(s..out.len());
        }
        self.expect = Expect::CommaOrEnd;
        self.stack.is_empty()
    }

    /// A key string ended (its closing quote is the last byte of `out`).
    fn end_key(&mut self, out: &[u8], key: Option<&[u8]>) {
        self.expect = Expect::Colon;
        if self.stack.len() == 1
            && self.key_range.is_none()
            && self.value_start.is_none()
            && let Some(field) = key
        {
            let name = &out[self.str_start + 1..out.len() - 1];
            self.want_value = name == field;
        }
    }

    /// A scalar token (number or literal) ended. Returns whether the element is complete.
    fn end_token(&mut self, out: &[u8]) -> bool {
        self.in_token = false;
        let t = &out[self.token_start..];
        if !(t == b"true" || t == b"false" || t == b"null" || valid_number(t)) {
            self.grammar_error(self.token_at, "invalid number or literal");
        }
        self.end_value(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(raw: &[u8]) -> (End, Option<(usize, &'static str)>, Vec<u8>) {
        let mut s = Scanner::default();
        let mut out = Vec::new();
        let r = match s.feed(raw, &mut out, Some(b"k")) {
            Some(end) => end,
            None => s.finish(&out, false),
        };
        (r, s.grammar(), out)
    }

    #[test]
    fn grammar_errors_keep_the_extent_and_structure_errors_do_not() {
        let (r, g, out) = scan(br#"{"a" : [1 2], "b":"x\qy"} ,"#);
        assert_eq!(r, End::Complete(25));
        assert_eq!(g, Some((10, "unexpected value")));
        assert_eq!(out, br#"{"a":[12],"b":"x\qy"}"#);
        let (r, g, _) = scan(b"[\"a\tb\"]");
        assert_eq!((r, g.map(|g| g.0)), (End::Complete(7), Some(3)));
        assert_eq!(
            scan(br#"{"a":]"#).0,
            End::Broken(5, "unbalanced closing bracket")
        );
        assert!(matches!(scan(b"[\"a\nb\"]").0, End::Broken(3, _)));
        assert!(matches!(scan(br#"{"a":1"#).0, End::Broken(6, _)));
        assert_eq!(scan(b"12").0, End::Complete(2));
        assert_eq!(scan(b"12,").0, End::Complete(2));
    }

    #[test]
    fn the_key_field_is_found_at_depth_one_only() {
        let mut s = Scanner::default();
        let mut out = Vec::new();
        let raw = br#"{"x":{"k":1},"k" : "v","k":2}"#;
        assert_eq!(
            s.feed(raw, &mut out, Some(b"k")),
            Some(End::Complete(raw.len()))
        );
        let r = s.key_range().expect("key");
        assert_eq!(&out[r], b"\"v\"");
    }
}
