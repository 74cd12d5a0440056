//! [`JsonElements`]: the elements of a JSON array, or the lines of NDJSON, one at a time.

use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::error::{Error, Result};
use super::index::{ElementIndex, Known};
use super::scan::Scanner;
use super::source::Source;
use super::{Element, InputFormat, Invalid, Position};

mod compat;
mod scanning;
mod separators;
#[cfg(test)]
mod tests;

/// Where the reader is in the input's structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Array: before the opening `[`.
    Start,
    /// Array: after `[`, an element or `]` may follow.
    First,
    /// Before an element (array: after a comma; NDJSON: anywhere between lines).
    Before,
    /// Array: after an element, `,` or `]` must follow.
    After,
    /// Array: after `]`, only whitespace may follow.
    Trailer,
    /// Input exhausted.
    Done,
    /// An array's structure broke, or reading failed: nothing more can be read.
    Failed,
}

/// The element the last call produced: its bytes are the window's first `len`.
#[derive(Debug, Clone)]
struct Current {
    start: Position,
    len: usize,
    /// The message is the compact form in `buf`, not the input bytes.
    compact: bool,
    /// The key field's value: in the message, or (an NDJSON line with whitespace) in `buf`.
    key: Option<Range<usize>>,
    key_in_buf: bool,
    invalid: Option<Invalid>,
}

/// Splits a JSON array or NDJSON stream into its top-level elements, without loading it:
/// one element is in memory at a time.
///
/// - **JSON array**: each element is delimited by its brackets and quotes. A valid element
///   comes compacted (`jq -c`); one that is not valid JSON but has a known end (a bad token
///   or escape, a grammar error inside balanced brackets, invalid UTF-8) comes as its input
///   bytes with its [`Element::invalid`] diagnosis, and reading goes on. A broken structure
///   (an unbalanced bracket, the input ending inside a string or element, a missing `,`)
///   is an [`Error::Structure`] with its position; nothing can be read after it.
/// - **NDJSON**: every non-blank line is an element, as it is (valid or not); lines end at
///   `\n`, and a `\r` before it, leading and trailing spaces and tabs are not part of the
///   element. Only a read error stops it.
///
/// A UTF-8 byte-order mark at the start of the input is skipped; positions count its bytes.
///
/// ```
/// use kafka_io::json::{InputFormat, JsonElements};
/// let input = br#"[ {"a": [1, 2], "k": "x y"} , 3.50, {"b": tru} ]"#;
/// let mut elements = JsonElements::new(&input[..], InputFormat::JsonArray);
/// let first = elements.next_element().unwrap().unwrap();
/// assert_eq!(first.bytes, br#"{"a":[1,2],"k":"x y"}"#);
/// assert_eq!((first.index, first.line, first.column, first.byte_offset), (0, 1, 3, 2));
/// assert_eq!(elements.next_element().unwrap().unwrap().bytes, b"3.50");
/// let bad = elements.next_element().unwrap().unwrap();
/// assert_eq!(bad.bytes, br#"{"b": tru}"#);
/// assert_eq!(
///     bad.diagnosis().unwrap(),
///     "not valid JSON at line 1, column 43 (byte 42): invalid number or literal"
/// );
/// assert!(elements.next_element().unwrap().is_none());
/// ```
#[derive(Debug)]
pub struct JsonElements<R> {
    src: Source<R>,
    format: InputFormat,
    /// Named in errors.
    path: Option<PathBuf>,
    phase: Phase,
    /// Position of the next unconsumed byte.
    at: Position,
    /// Index of the next element.
    index: u64,
    /// A byte-order mark may still be at the window's start.
    at_start: bool,
    /// Use the fast path (tests turn it off to compare with the byte-by-byte scan).
    fast: bool,
    /// Recording an [`ElementIndex`] (first pass).
    record: Option<ElementIndex>,
    /// Replaying an [`ElementIndex`] (second pass): entry `replay.1` is next.
    replay: Option<(ElementIndex, usize)>,
    key_field: Option<String>,
    /// Compact form of the current element (when it differs from the input).
    buf: Vec<u8>,
    /// Scratch space of the fast path.
    stack: Vec<u8>,
    scanner: Scanner,
    cur: Option<Current>,
    /// Window bytes of the current element, consumed by the next call.
    pending: usize,
    /// Stop before an element that starts at or after this offset (`parallel`).
    stop_at: Option<u64>,
    /// Where the last call stopped because of `stop_at`.
    stopped_at: Option<u64>,
    /// The last element was handed out by the compatibility `advance` as an error.
    reported_invalid: bool,
}

impl<R: Read> JsonElements<R> {
    /// Creates a splitter reading `reader` in `format`; byte offsets count from the
    /// reader's current position. The splitter reads in 1 MiB blocks into its own window
    /// (a `BufReader` around `reader` is not needed).
    pub fn new(reader: R, format: InputFormat) -> Self {
        JsonElements {
            src: Source::new(reader),
            format,
            path: None,
            phase: match format {
                InputFormat::JsonArray => Phase::Start,
                InputFormat::Ndjson => Phase::Before,
            },
            at: Position::START,
            index: 0,
            at_start: true,
            fast: true,
            record: None,
            replay: None,
            key_field: None,
            buf: Vec::with_capacity(16 * 1024),
            stack: Vec::with_capacity(16),
            scanner: Scanner::default(),
            cur: None,
            pending: 0,
            stop_at: None,
            stopped_at: None,
            reported_invalid: false,
        }
    }

    /// Names the input in errors.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Sets the size of the read window (default 1 MiB, at least 1 byte); an element
    /// larger than the window grows it.
    pub fn with_window(mut self, bytes: usize) -> Self {
        self.src.window = bytes.max(1);
        self
    }

    /// Records an [`ElementIndex`] while reading (see [`JsonElements::take_index`]). The
    /// index holds 12 bytes per element and stops growing at 4 Mi elements.
    pub fn with_index_recording(mut self) -> Self {
        self.record = Some(ElementIndex::default());
        self
    }

    /// The index recorded so far (`None` without [`JsonElements::with_index_recording`]
    /// or once it outgrew its limit).
    pub fn take_index(&mut self) -> Option<ElementIndex> {
        self.record.take()
    }

    /// Replays `index`, recorded by an earlier pass over the same bytes with the same key
    /// field: elements it knows to be valid and compact are cut at their recorded length
    /// without being scanned again. The input must not have changed in between (the
    /// caller checks that, e.g. the file's length and modification time).
    pub fn with_index(mut self, index: ElementIndex) -> Self {
        self.replay = Some((index, 0));
        self
    }

    /// Also locate the value of top-level field `field` in each valid element (see
    /// [`Element::key`]). Field names are compared as raw bytes.
    pub fn with_key_field(mut self, field: Option<&str>) -> Self {
        self.key_field = field.map(str::to_owned);
        self
    }

    /// The input format.
    pub fn format(&self) -> InputFormat {
        self.format
    }

    /// The file named in errors.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Whether reading can go on: `false` after a structural error in a JSON array or a
    /// read error.
    pub fn can_continue(&self) -> bool {
        self.phase != Phase::Failed
    }

    /// Bytes consumed so far (the offset after the last element).
    pub fn position(&self) -> u64 {
        self.at.byte
    }

    /// Number of elements started so far (the index the next element will get).
    pub fn elements_seen(&self) -> u64 {
        self.index
    }

    /// Returns the next element, `Ok(None)` at the end of the input.
    ///
    /// # Errors
    /// [`Error::Structure`] (JSON array only) and [`Error::Read`], with the position.
    pub fn next_element(&mut self) -> Result<Option<Element<'_>>> {
        self.reported_invalid = false;
        if self.step()? {
            Ok(self.current())
        } else {
            Ok(None)
        }
    }

    /// The element the last successful call returned (`None` after the end of the input
    /// or an error).
    pub fn current(&self) -> Option<Element<'_>> {
        let cur = self.cur.as_ref()?;
        if cur.invalid.is_some() && self.reported_invalid {
            return None;
        }
        let raw = &self.src.window()[..cur.len];
        let bytes: &[u8] = if cur.compact { &self.buf } else { raw };
        let key_value = cur.key.clone().map(|r| {
            if cur.key_in_buf && !cur.compact {
                &self.buf[r]
            } else {
                &bytes[r]
            }
        });
        Some(Element {
            index: self.index - 1,
            line: cur.start.line,
            column: cur.start.column,
            byte_offset: cur.start.byte,
            bytes,
            key_value,
            invalid: cur.invalid,
            raw,
        })
    }

    /// The compact form the scanner made of the current element (for an invalid one, what
    /// its bytes compact to).
    pub(super) fn compact_form(&self) -> &[u8] {
        &self.buf
    }

    /// Reads from `reader` as if it were positioned at absolute offset `pos` of an input,
    /// just before an element (in a JSON array: after a comma): byte offsets are absolute,
    /// element indexes count from 0, lines from 1 (the caller places an error in the
    /// whole input). For `parallel` segments.
    pub(super) fn resume_at(mut self, pos: u64) -> Self {
        self.at = Position::at_byte(pos);
        self.phase = Phase::Before;
        self.at_start = false;
        self
    }

    /// Makes the next calls return `Ok(None)` instead of an element that starts at or
    /// after `offset` (see [`JsonElements::stopped_at`]); `None` reads on.
    pub(super) fn set_stop_at(&mut self, offset: Option<u64>) {
        self.stop_at = offset;
    }

    /// The start of the element the last call stopped before (see `set_stop_at`).
    pub(super) fn stopped_at(&self) -> Option<u64> {
        self.stopped_at
    }

    /// Moves to the next element: `Ok(true)` if there is one (in `cur`).
    fn step(&mut self) -> Result<bool> {
        self.src.consume(self.pending);
        self.pending = 0;
        self.cur = None;
        self.stopped_at = None;
        if !self.seek()? {
            return Ok(false);
        }
        if self.stop_at.is_some_and(|at| self.at.byte >= at) {
            self.stopped_at = Some(self.at.byte);
            return Ok(false);
        }
        let cur = match self.replayed()? {
            Some(cur) => cur,
            None => self.scanned()?,
        };
        self.produce(cur);
        Ok(true)
    }

    /// Makes `cur` the current element and moves past it.
    fn produce(&mut self, cur: Current) {
        let raw = &self.src.window()[..cur.len];
        // Only a compacted or invalid element can hold a newline (a compact valid one has
        // no whitespace outside strings and no raw newline inside them).
        if cur.compact || cur.invalid.is_some() {
            self.at = self.at.after(raw);
        } else {
            self.at.forward(cur.len);
        }
        self.pending = cur.len;
        self.index += 1;
        self.phase = match self.format {
            InputFormat::JsonArray => Phase::After,
            InputFormat::Ndjson => Phase::Before,
        };
        self.cur = Some(cur);
    }

    /// The element at the window's start as the replayed index knows it. `Ok(None)`: no
    /// replay, the element is to be scanned, or the input ends too early (the scan then
    /// reports it).
    fn replayed(&mut self) -> Result<Option<Current>> {
        let Some((ix, next)) = &mut self.replay else {
            return Ok(None);
        };
        if *next >= ix.len() {
            return Ok(None);
        }
        let known = ix.get(*next);
        *next += 1;
        let Some(Known { len, key }) = known else {
            return Ok(None);
        };
        while self.src.window().len() < len {
            match self.src.read_more() {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(e) => return Err(self.read_error(e)),
            }
        }
        Ok(Some(Current {
            start: self.at,
            len,
            compact: false,
            key,
            key_in_buf: false,
            invalid: None,
        }))
    }

    /// The element at the window's start, scanned: the fast path for the common valid
    /// element, else the byte-by-byte scan.
    fn scanned(&mut self) -> Result<Current> {
        if let Some(ix) = &mut self.record
            && !ix.push_unknown()
        {
            self.record = None;
        }
        let fast = if self.fast {
            self.fast_element()?
        } else {
            None
        };
        let cur = match fast {
            Some(cur) => cur,
            None => match self.format {
                InputFormat::JsonArray => self.slow_element()?,
                InputFormat::Ndjson => self.slow_line()?,
            },
        };
        if let Some(ix) = &mut self.record
            && cur.invalid.is_none()
            && !cur.compact
            && !cur.key_in_buf
        {
            ix.set_last(&Known {
                len: cur.len,
                key: cur.key.clone(),
            });
        }
        Ok(cur)
    }

    /// A structural error at `at`: nothing more can be read.
    fn fail(&mut self, at: Position, reason: impl Into<String>) -> Error {
        let element = self.index;
        self.index += 1;
        self.phase = Phase::Failed;
        Error::structure(self.path.as_deref(), element, at, reason)
    }

    fn read_error(&mut self, e: std::io::Error) -> Error {
        self.phase = Phase::Failed;
        Error::read(self.path.as_deref(), self.at, e)
    }
}
