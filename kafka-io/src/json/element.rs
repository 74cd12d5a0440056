//! [`Element`]: one top-level element as the splitter hands it out, with its position.

use std::borrow::Cow;

use super::key::key_of_value;
use super::{Position, is_ws};

/// Why an element that could be delimited is not valid JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid {
    /// Offset in [`Element::bytes`] of the first problem (for an invalid element those are
    /// the input's bytes).
    pub at: usize,
    /// What is wrong, e.g. `"invalid escape in a string"`.
    pub reason: &'static str,
}

/// One top-level element: an element of a JSON array, or a non-blank line of NDJSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element<'a> {
    /// Zero-based index of the element in the input.
    pub index: u64,
    /// Line of the element's first byte, from 1.
    pub line: u64,
    /// Column (byte in the line) of the element's first byte, from 1.
    pub column: u64,
    /// Byte offset in the input of the element's first byte.
    pub byte_offset: u64,
    /// The message: a valid array element compacted (whitespace outside strings removed,
    /// as `jq -c` prints it); an NDJSON line, or an array element that is not valid JSON,
    /// as the input has it (an NDJSON line without its newline, a `\r` before it, and
    /// leading or trailing spaces and tabs).
    pub bytes: &'a [u8],
    /// The JSON text of the key field's value, if a key field was set
    /// ([`JsonElements::with_key_field`]) and the element is a valid object that has it.
    pub key_value: Option<&'a [u8]>,
    /// `Some` when the element is not valid JSON (its `bytes` are then the input's).
    pub invalid: Option<Invalid>,
    /// The element's input bytes, from its first to its last.
    pub(super) raw: &'a [u8],
}

impl Element<'_> {
    /// The message key from [`Element::key_value`]: a string's unescaped content, any other
    /// value's JSON text; `None` if there is no key field or it is `null`.
    pub fn key(&self) -> Option<Cow<'_, [u8]>> {
        key_of_value(self.key_value?)
    }

    /// The element's input bytes, from its first to its last (with the whitespace that
    /// [`Element::bytes`] may lack).
    pub fn raw(&self) -> &[u8] {
        self.raw
    }

    /// Where the element starts in the input.
    pub fn start(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
            byte: self.byte_offset,
        }
    }

    /// Where byte `at` of [`Element::bytes`] is in the input: `line L, column C (byte B)`
    /// of the file. Exact for compacted elements too (the whitespace removed is counted
    /// back). `at` past the end gives the position after the element.
    pub fn position_at(&self, at: usize) -> Position {
        let raw_at = if std::ptr::eq(self.bytes, self.raw) {
            at.min(self.raw.len())
        } else {
            raw_offset(self.raw, at)
        };
        self.start().after(&self.raw[..raw_at])
    }

    /// What is wrong with an invalid element, and where in the input:
    /// `"not valid JSON at line 3, column 14 (byte 1042): invalid escape in a string"`.
    pub fn diagnosis(&self) -> Option<String> {
        let invalid = self.invalid?;
        Some(format!(
            "not valid JSON at {}: {}",
            self.position_at(invalid.at),
            invalid.reason
        ))
    }
}

/// The offset in `raw` of byte `compact_at` of its compact form (whitespace outside strings
/// removed).
fn raw_offset(raw: &[u8], compact_at: usize) -> usize {
    let (mut kept, mut in_str, mut esc) = (0, false, false);
    for (i, &b) in raw.iter().enumerate() {
        if in_str || !is_ws(b) {
            if kept == compact_at {
                return i;
            }
            kept += 1;
        }
        if in_str {
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
        } else if b == b'"' {
            in_str = true;
        }
    }
    raw.len()
}
