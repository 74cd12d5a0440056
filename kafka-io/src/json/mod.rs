//! File framing: cutting a JSON array file or NDJSON into its top-level elements without
//! loading the file, each element with its position (`line L, column C (byte B)`).
//!
//! - [`open_input`] examines a file: gzip and zstd are read transparently (recognized by
//!   their first bytes), a UTF-8 byte-order mark is skipped, the format is detected; other
//!   compressions are refused with a message that names them.
//! - [`JsonElements`] hands out every element that can be delimited: a valid array element
//!   compacted the way `jq -c` prints it, an NDJSON line as it is, and an element that is
//!   not valid JSON as its input bytes with an [`Invalid`] diagnosis. Only a broken array
//!   structure is an [`Error`]. It also locates a key field's value.
//! - [`NdjsonLines`] cuts NDJSON at newlines without looking inside the lines.
//! - [`validate_file`] runs the splitter over a whole file on several threads, with the
//!   result of one sequential pass, and records an [`ElementIndex`] that lets a second pass
//!   cut the same elements without scanning them.
//!
//! Compaction removes whitespace outside strings and keeps every other byte as it is:
//! strings keep their escapes and numbers keep their text (`jq` 1.6 would print `1.0` as
//! `1` and `"\u00e9"` as `"é"`; the assessment events contain neither, so the output is
//! byte-identical to `jq -c '.[]'`). The scanner tracks only string, escape and bracket
//! state in its fast path ([`fast`]), so it runs at memory speed and keeps one element in
//! memory at a time; the exact validator ([`scan`]) runs only where the fast path gives up.
//!
//! A file lander reading every element:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use kafka_io::json::open_input;
//! let dir = std::env::temp_dir().join(format!("kafka-io-json-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("events.ndjson");
//! std::fs::write(&path, "{\"a\": 1}\r\n\n{\"a\": \"\\x\"}\n")?;
//! let mut elements = open_input(&path)?.elements()?;
//! let mut seen = Vec::new();
//! while let Some(e) = elements.next_element()? {
//!     // e.bytes is the message; e.invalid says whether (and where) it is not JSON.
//!     seen.push((e.index, e.bytes.to_vec(), e.diagnosis()));
//! }
//! assert_eq!(seen[0], (0, b"{\"a\": 1}".to_vec(), None));
//! assert_eq!(seen[1].1, b"{\"a\": \"\\x\"}");
//! assert_eq!(
//!     seen[1].2.as_deref(),
//!     Some("not valid JSON at line 3, column 9 (byte 19): invalid escape in a string")
//! );
//! std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```

mod element;
mod elements;
mod error;
mod fast;
mod index;
mod input;
mod key;
mod lines;
mod parallel;
mod position;
mod scan;
mod source;
mod token;

pub use element::{Element, Invalid};
pub use elements::JsonElements;
pub use error::{Error, Result};
pub use index::ElementIndex;
pub use input::{InputCompression, InputFile, InputReader, open_input};
pub use key::extract_key;
pub use lines::{Line, NdjsonLines};
pub use parallel::{Validated, ValidationOptions, validate_bytes, validate_file};
pub use position::Position;

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
    /// Detects the format from the first non-whitespace byte of `prefix` (after a UTF-8
    /// byte-order mark): `[` means a JSON array, anything else NDJSON; `None` if `prefix`
    /// is all whitespace.
    pub fn detect(prefix: &[u8]) -> Option<InputFormat> {
        first_byte_format(prefix.strip_prefix(source::BOM).unwrap_or(prefix))
    }

    /// Detects the format of an uncompressed file from its first non-whitespace byte (see
    /// [`InputFormat::detect`]); an empty or all-whitespace file is NDJSON (with no
    /// events). [`open_input`] also recognizes compressed files.
    ///
    /// # Errors
    /// The file cannot be read.
    pub fn detect_file(path: &std::path::Path) -> std::io::Result<InputFormat> {
        use std::io::Read;
        let mut file = std::fs::File::open(path)?;
        let mut buf = [0u8; 4096];
        let mut n = file.read(&mut buf)?;
        if let Some(f) = InputFormat::detect(&buf[..n]) {
            return Ok(f);
        }
        while n > 0 {
            n = file.read(&mut buf)?;
            if let Some(f) = first_byte_format(&buf[..n]) {
                return Ok(f);
            }
        }
        Ok(InputFormat::Ndjson)
    }
}

/// `[` as the first non-whitespace byte: a JSON array; another byte: NDJSON.
fn first_byte_format(text: &[u8]) -> Option<InputFormat> {
    text.iter().find(|b| !is_ws(**b)).map(|b| {
        if *b == b'[' {
            InputFormat::JsonArray
        } else {
            InputFormat::Ndjson
        }
    })
}

/// JSON whitespace.
pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// A byte for an error message: the character if it is printable ASCII, else its value.
fn show(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn detect_format() {
        assert_eq!(
            InputFormat::detect(b"  \n [1]"),
            Some(InputFormat::JsonArray)
        );
        assert_eq!(
            InputFormat::detect(b"\xEF\xBB\xBF[1]"),
            Some(InputFormat::JsonArray)
        );
        assert_eq!(
            InputFormat::detect(b"{\"a\":1}\n"),
            Some(InputFormat::Ndjson)
        );
        assert_eq!(InputFormat::detect(b" \n"), None);
    }
}
