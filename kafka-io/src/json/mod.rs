//! Streaming JSON splitting: cut a JSON array file (or NDJSON) into its top-level elements
//! without loading the file, compacting each element the way `jq -c` prints it.
//!
//! The scanner tracks only string / escape / bracket-depth state, so it runs at memory
//! speed and keeps one element in memory at a time. Compaction removes whitespace outside
//! strings and keeps every other byte as it is: strings keep their escapes and numbers keep
//! their original text (`jq` 1.6 would print `1.0` as `1` and `"\u00e9"` as `"é"`; the
//! assessment events contain neither, so the output is byte-identical to `jq -c '.[]'`).
//! Full JSON validity of each element is checked separately by [`extract_key`].
//! [`validate_file`] runs the validation pass of a whole file on several threads: segments
//! cut at likely element starts, each used only if the one before stopped exactly there, so
//! the result (elements, index, first error) equals one sequential pass.
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
use std::io::Read;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::{Error, Result};

mod lines;
mod parallel;
pub use lines::{Line, NdjsonLines};
pub use parallel::{Validated, ValidationOptions, validate_bytes, validate_file};

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
    src: Source<R>,
    /// Window bytes of the last element still to be consumed (they back a borrowed
    /// [`Element::bytes`]).
    pending: usize,
    /// The last element is `src`'s window `..len` (already compact), not `el.buf`.
    borrowed: Option<usize>,
    /// Use [`scan_fast`] (tests turn it off to compare with the byte-by-byte scan).
    fast: bool,
    /// Recording an [`ElementIndex`] (first pass).
    record: Option<ElementIndex>,
    /// Replaying an [`ElementIndex`] (second pass): entry `replay.1` is next.
    replay: Option<(ElementIndex, usize)>,
    format: InputFormat,
    phase: Phase,
    /// Absolute offset of the next unconsumed byte.
    pos: u64,
    /// Index of the next element.
    index: u64,
    el: Elem,
    /// Stop before an element that starts at or after this offset ([`parallel`]).
    stop_at: Option<u64>,
    /// Where the last call stopped because of `stop_at`.
    stopped_at: Option<u64>,
    /// The last call failed on an element whose extent is known: where it started (it is
    /// in `el.buf`).
    malformed_start: Option<u64>,
    /// Start of the element the last call returned.
    current_start: Option<u64>,
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

/// What a first pass over an input learned about each element: the length and key range of
/// the ones that are valid and already compact. A second pass over the same bytes
/// ([`JsonElements::with_index`]) then cuts those elements without scanning them again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElementIndex {
    /// Per element start: (input length, key start, key end); `SCAN` as the length: scan it.
    entries: Vec<(u32, u32, u32)>,
}

impl ElementIndex {
    /// Appends the entries of the elements that follow (a later segment of the same
    /// input). Returns `false`, appending nothing, if the index would outgrow its limit.
    pub(crate) fn append(&mut self, next: ElementIndex) -> bool {
        if self.entries.len() + next.entries.len() > MAX_INDEX_ENTRIES {
            return false;
        }
        self.entries.extend(next.entries);
        true
    }
}

/// Index entry length for "scan this element".
const SCAN: u32 = u32::MAX;
/// Index entry key start for "no key".
const NO_KEY: u32 = u32::MAX;
/// An index stops growing past this many entries (64 MiB); the rest is scanned again.
const MAX_INDEX_ENTRIES: usize = 64 << 20 >> 4;

impl ElementIndex {
    /// Number of elements recorded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of elements a replay cuts without scanning.
    pub fn known(&self) -> usize {
        self.entries.iter().filter(|e| e.0 != SCAN).count()
    }
}

enum Step {
    /// An element is complete in `buf` (or in the source window, see `borrowed`).
    Element(u64),
    Eof,
}

/// Default size of the read window.
const WINDOW: usize = 1 << 20;

/// The input with its own read window: unconsumed bytes stay in place while more is read
/// after them, so an element is always contiguous for the fast scanner.
#[derive(Debug)]
struct Source<R> {
    reader: R,
    buf: Vec<u8>,
    /// Size of the window before it has to grow for a large element.
    window: usize,
    /// First unconsumed byte.
    start: usize,
    /// End of the bytes read.
    end: usize,
    eof: bool,
}

impl<R: Read> Source<R> {
    /// An empty window of the default size over `reader`.
    fn new(reader: R) -> Self {
        Source {
            reader,
            buf: Vec::new(),
            window: WINDOW,
            start: 0,
            end: 0,
            eof: false,
        }
    }

    /// The unconsumed bytes, reading more first if there are none (empty at the end).
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.start == self.end {
            self.read_more()?;
        }
        Ok(&self.buf[self.start..self.end])
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
    }

    fn window(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Reads more after the unconsumed bytes, keeping them (moved to the front; the window
    /// grows when they fill more than half of it). Returns `false` at the end of the input.
    fn read_more(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() < self.window || self.end * 2 > self.buf.len() {
            let size = self.window.max(self.buf.len() * 2);
            self.buf.resize(size, 0);
        }
        let before = self.end;
        while self.end < self.buf.len() {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end > before)
    }
}

impl<R: Read> JsonElements<R> {
    /// Creates a splitter reading `reader` in `format`; byte offsets count from the
    /// reader's current position. The splitter reads in 1 MiB blocks into its own window
    /// (a `BufReader` around `reader` is not needed).
    pub fn new(reader: R, format: InputFormat) -> Self {
        JsonElements {
            src: Source::new(reader),
            pending: 0,
            borrowed: None,
            fast: true,
            record: None,
            replay: None,
            format,
            phase: match format {
                InputFormat::JsonArray => Phase::Start,
                InputFormat::Ndjson => Phase::Before,
            },
            pos: 0,
            index: 0,
            stop_at: None,
            stopped_at: None,
            malformed_start: None,
            current_start: None,
            el: Elem {
                buf: Vec::with_capacity(16 * 1024),
                stack: Vec::with_capacity(16),
                key_field: None,
                key_range: None,
            },
        }
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

    /// The element the last [`JsonElements::next_element`] call rejected, compacted, when
    /// its extent is known (a bad token or escape, a grammar error inside balanced brackets,
    /// invalid UTF-8): a caller can keep it, e.g. as a reject, and read on. `None` after a
    /// success or a structural error (then the element has no known end). Compaction may
    /// make a malformed element parse (`[1 2]` becomes `[12]`): keep the error with it.
    pub fn malformed_element(&self) -> Option<Element<'_>> {
        self.malformed_start.map(|start| Element {
            index: self.index - 1,
            byte_offset: start,
            bytes: &self.el.buf,
            key_value: None,
        })
    }

    /// Number of elements started so far (the index the next element will get).
    pub fn elements_seen(&self) -> u64 {
        self.index
    }

    /// Returns the next element, `Ok(None)` at the end of the input.
    pub fn next_element(&mut self) -> Result<Option<Element<'_>>> {
        self.advance()?;
        Ok(self.current())
    }

    /// Moves to the next element without borrowing it: `Ok(true)` if there is one, then
    /// [`JsonElements::current`] returns it; `Ok(false)` at the end of the input. The same
    /// as [`JsonElements::next_element`] for callers that must look at
    /// [`JsonElements::malformed_element`] after an error in the same scope.
    pub fn advance(&mut self) -> Result<bool> {
        self.current_start = None;
        match self.step()? {
            Step::Element(start) => {
                self.current_start = Some(start);
                Ok(true)
            }
            Step::Eof => Ok(false),
        }
    }

    /// The element the last successful [`JsonElements::advance`] moved to (`None` after the
    /// end of the input or an error).
    pub fn current(&self) -> Option<Element<'_>> {
        let start = self.current_start?;
        let bytes: &[u8] = match self.borrowed {
            Some(len) => &self.src.window()[..len],
            None => &self.el.buf,
        };
        Some(Element {
            index: self.index - 1,
            byte_offset: start,
            bytes,
            key_value: self.el.key_range.clone().map(|r| &bytes[r]),
        })
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

    /// Reads from `reader` as if it were positioned at absolute offset `pos` of an input,
    /// just before an element (in a JSON array: after a comma): byte offsets in errors are
    /// absolute, element indexes count from 0. For [`parallel`] segments.
    pub(crate) fn resume_at(mut self, pos: u64) -> Self {
        self.pos = pos;
        self.phase = Phase::Before;
        self
    }

    /// Makes [`JsonElements::next_element`] return `Ok(None)` instead of an element that
    /// starts at or after `offset` (see [`JsonElements::stopped_at`]); `None` reads on.
    pub(crate) fn set_stop_at(&mut self, offset: Option<u64>) {
        self.stop_at = offset;
    }

    /// The start of the element the last call stopped before (see `set_stop_at`).
    pub(crate) fn stopped_at(&self) -> Option<u64> {
        self.stopped_at
    }

    fn step(&mut self) -> Result<Step> {
        self.src.consume(self.pending);
        self.pending = 0;
        self.borrowed = None;
        self.stopped_at = None;
        self.malformed_start = None;
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
            let chunk = match self.src.fill_buf() {
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
            self.src.consume(i);
            self.pos += i as u64;
            if let Some((at, reason)) = fail {
                return Err(self.malformed(at, reason));
            }
            if start_element {
                break;
            }
        }
        if self.stop_at.is_some_and(|at| self.pos >= at) {
            self.stopped_at = Some(self.pos);
            return Ok(Step::Eof);
        }
        // Phase 2a: an element known from an earlier pass, or the fast path for a valid
        // element (the common case).
        if let Some(step) = self.replay_element()? {
            return Ok(step);
        }
        if let Some(ix) = &mut self.record {
            if ix.entries.len() < MAX_INDEX_ENTRIES {
                ix.entries.push((SCAN, NO_KEY, NO_KEY));
            } else {
                self.record = None;
            }
        }
        if self.fast
            && let Some(step) = self.fast_element()?
        {
            if let (Some(ix), Some(len)) = (&mut self.record, self.borrowed)
                && let Some(e) = ix.entries.last_mut()
                && let Ok(len) = u32::try_from(len)
            {
                *e = match &self.el.key_range {
                    Some(r) => (len, r.start as u32, r.end as u32),
                    None => (len, NO_KEY, NO_KEY),
                };
            }
            return Ok(step);
        }
        // Phase 2b: scan (and validate) one element byte by byte, for the exact error.
        let start = self.pos;
        self.el.buf.clear();
        self.el.stack.clear();
        self.index += 1;
        self.el.key_range = None;
        let ndjson = self.format == InputFormat::Ndjson;
        let mut sc = Scan::default();
        loop {
            let chunk = match self.src.fill_buf() {
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
                self.src.consume(i);
                self.pos += i as u64;
                self.index -= 1;
                let err = self.malformed(at, reason);
                if skip_newline {
                    self.src.consume(1);
                    self.pos += 1;
                    self.phase = Phase::Before;
                }
                return Err(err);
            }
            self.src.consume(i);
            self.pos += i as u64;
            if done {
                return self.complete(start, &sc);
            }
        }
    }

    /// Cuts the element starting at the window's first byte at the length the replayed
    /// index recorded. `Ok(None)`: no replay, the element is to be scanned, or the input
    /// ends too early (the scan then reports it).
    fn replay_element(&mut self) -> Result<Option<Step>> {
        let Some((ix, next)) = &mut self.replay else {
            return Ok(None);
        };
        let Some(&(len, ks, ke)) = ix.entries.get(*next) else {
            return Ok(None);
        };
        *next += 1;
        if len == SCAN {
            return Ok(None);
        }
        let len = len as usize;
        while self.src.window().len() < len {
            match self.src.read_more() {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(e) => return Err(self.io_error(e)),
            }
        }
        let start = self.pos;
        self.el.key_range = (ks != NO_KEY).then_some(ks as usize..ke as usize);
        self.borrowed = Some(len);
        self.pending = len;
        self.pos += len as u64;
        self.index += 1;
        self.phase = if self.format == InputFormat::Ndjson {
            Phase::Before
        } else {
            Phase::After
        };
        Ok(Some(Step::Element(start)))
    }

    /// Scans the element starting at the window's first byte with [`scan_fast`], reading
    /// more while it is incomplete. `Ok(None)`: the element is not valid (or the input ends
    /// inside it); nothing was consumed and the byte-by-byte scan finds the error.
    fn fast_element(&mut self) -> Result<Option<Step>> {
        let ndjson = self.format == InputFormat::Ndjson;
        loop {
            let field = self.el.key_field.as_deref().map(str::as_bytes);
            let r = scan_fast(
                self.src.window(),
                ndjson,
                field,
                &mut self.el.buf,
                &mut self.el.stack,
            );
            match r {
                Fast::Done {
                    len,
                    compacted,
                    key,
                } => {
                    let bytes = if compacted {
                        &self.el.buf[..]
                    } else {
                        &self.src.window()[..len]
                    };
                    if std::str::from_utf8(bytes).is_err() {
                        return Ok(None);
                    }
                    let start = self.pos;
                    self.el.key_range = key;
                    self.borrowed = (!compacted).then_some(len);
                    self.pending = len;
                    self.pos += len as u64;
                    self.index += 1;
                    self.phase = if ndjson { Phase::Before } else { Phase::After };
                    return Ok(Some(Step::Element(start)));
                }
                Fast::NeedMore => match self.src.read_more() {
                    Ok(true) => {}
                    Ok(false) => return Ok(None),
                    Err(e) => return Err(self.io_error(e)),
                },
                Fast::Bail => return Ok(None),
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
            self.malformed_start = Some(start);
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

/// Outcome of [`scan_fast`].
#[derive(Debug, PartialEq, Eq)]
enum Fast {
    /// A valid element of `len` input bytes; with `compacted` its compact form is in `out`
    /// (otherwise the input bytes are already compact). `key`: the key field's value range
    /// in the compact form.
    Done {
        len: usize,
        compacted: bool,
        key: Option<std::ops::Range<usize>>,
    },
    /// The input ends inside the element (or right after a top-level number or literal).
    NeedMore,
    /// Not a valid element (or a newline inside an NDJSON one).
    Bail,
}

/// Removes whitespace runs: `out` gets the bytes between them, once the first run is seen.
struct Compactor {
    run_start: usize,
    removed: usize,
    active: bool,
}

impl Compactor {
    /// Drops `s[from..to]` (whitespace).
    #[cold]
    fn cut(&mut self, s: &[u8], from: usize, to: usize, out: &mut Vec<u8>) {
        if !self.active {
            self.active = true;
            out.clear();
        }
        out.extend_from_slice(&s[self.run_start..from]);
        self.removed += to - from;
        self.run_start = to;
    }
}

/// The fast path of the splitter: validates and compacts one element that starts at `s[0]`
/// (not whitespace) with tight loops over whole strings and tokens, copying nothing when
/// the element is already compact. Anything unusual (an error, a newline inside an NDJSON
/// element) is [`Fast::Bail`]: the byte-by-byte scanner then reports the exact error.
/// UTF-8 is not checked here.
fn scan_fast(
    s: &[u8],
    ndjson: bool,
    key_field: Option<&[u8]>,
    out: &mut Vec<u8>,
    stack: &mut Vec<u8>,
) -> Fast {
    let n = s.len();
    let mut c = Compactor {
        run_start: 0,
        removed: 0,
        active: false,
    };
    stack.clear();
    let mut i = 0usize;
    // The next value is the key field's (set after its name at depth 1).
    let mut key_next = false;
    let mut key_start: Option<usize> = None;
    let mut key_range: Option<std::ops::Range<usize>> = None;

    // Skips whitespace at `i` (recording the cut); NeedMore at the end of `s`.
    macro_rules! ws {
        () => {
            if i < n && is_ws(s[i]) {
                let from = i;
                while i < n && is_ws(s[i]) {
                    if ndjson && s[i] == b'\n' {
                        return Fast::Bail;
                    }
                    i += 1;
                }
                c.cut(s, from, i, out);
            }
            if i >= n {
                return Fast::NeedMore;
            }
        };
    }
    macro_rules! tri {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(f) => return f,
            }
        };
    }
    // An object member's name and colon, at `i` (after `{` or `,` and whitespace).
    macro_rules! member_name {
        () => {
            if s[i] != b'"' {
                return Fast::Bail;
            }
            let name = i + 1;
            i = tri!(fast_string(s, i));
            if stack.len() == 1 && key_range.is_none() && key_start.is_none() {
                key_next = key_field == Some(&s[name..i - 1]);
            }
            ws!();
            if s[i] != b':' {
                return Fast::Bail;
            }
            i += 1;
        };
    }

    'value: loop {
        ws!();
        if key_next {
            key_next = false;
            key_start = Some(i - c.removed);
        }
        match s[i] {
            b'"' => i = tri!(fast_string(s, i)),
            b'{' => {
                stack.push(b'{');
                i += 1;
                ws!();
                if s[i] == b'}' {
                    stack.pop();
                    i += 1;
                } else {
                    member_name!();
                    continue 'value;
                }
            }
            b'[' => {
                stack.push(b'[');
                i += 1;
                ws!();
                if s[i] == b']' {
                    stack.pop();
                    i += 1;
                } else {
                    continue 'value;
                }
            }
            b't' => i = tri!(fast_literal(s, i, b"true")),
            b'f' => i = tri!(fast_literal(s, i, b"false")),
            b'n' => i = tri!(fast_literal(s, i, b"null")),
            b'-' | b'0'..=b'9' => i = tri!(fast_number(s, i)),
            _ => return Fast::Bail,
        }
        // After a value: close containers until a `,` starts the next value.
        loop {
            if stack.len() == 1
                && let Some(k) = key_start.take()
            {
                key_range = Some(k..i - c.removed);
            }
            let Some(&top) = stack.last() else {
                break 'value;
            };
            ws!();
            match (s[i], top) {
                (b',', b'{') => {
                    i += 1;
                    ws!();
                    member_name!();
                    continue 'value;
                }
                (b',', _) => {
                    i += 1;
                    continue 'value;
                }
                (b'}', b'{') | (b']', b'[') => {
                    stack.pop();
                    i += 1;
                }
                _ => return Fast::Bail,
            }
        }
    }
    if c.active {
        out.extend_from_slice(&s[c.run_start..i]);
    }
    Fast::Done {
        len: i,
        compacted: c.active,
        key: key_range,
    }
}

/// A string starting at `s[i]` (`"`): the index after its closing quote.
#[inline]
fn fast_string(s: &[u8], i: usize) -> std::result::Result<usize, Fast> {
    let n = s.len();
    let mut j = i + 1;
    loop {
        j += string_run(&s[j..]);
        if j >= n {
            return Err(Fast::NeedMore);
        }
        match s[j] {
            b'"' => return Ok(j + 1),
            b'\\' => {
                let Some(&e) = s.get(j + 1) else {
                    return Err(Fast::NeedMore);
                };
                match e {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                    b'u' => {
                        let Some(hex) = s.get(j + 2..j + 6) else {
                            return Err(Fast::NeedMore);
                        };
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return Err(Fast::Bail);
                        }
                        j += 6;
                    }
                    _ => return Err(Fast::Bail),
                }
            }
            _ => return Err(Fast::Bail), // control character
        }
    }
}

/// The literal `lit` at `s[i]`: the index after it.
#[inline]
fn fast_literal(s: &[u8], i: usize, lit: &[u8]) -> std::result::Result<usize, Fast> {
    let end = i + lit.len();
    match s.get(i..end) {
        Some(t) if t == lit => {}
        Some(_) => return Err(Fast::Bail),
        None => return Err(Fast::NeedMore),
    }
    match s.get(end) {
        None => Err(Fast::NeedMore),
        Some(b) if is_token_byte(*b) => Err(Fast::Bail),
        Some(_) => Ok(end),
    }
}

/// A number at `s[i]` (`-` or a digit): the index after it. The JSON grammar:
/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, followed by a non-token byte.
#[inline]
fn fast_number(s: &[u8], i: usize) -> std::result::Result<usize, Fast> {
    let n = s.len();
    let mut j = i;
    let digits = |j: &mut usize| -> std::result::Result<(), Fast> {
        let from = *j;
        while *j < n && s[*j].is_ascii_digit() {
            *j += 1;
        }
        if *j >= n {
            Err(Fast::NeedMore)
        } else if *j == from {
            Err(Fast::Bail)
        } else {
            Ok(())
        }
    };
    if s[j] == b'-' {
        j += 1;
        if j >= n {
            return Err(Fast::NeedMore);
        }
    }
    if s[j] == b'0' {
        j += 1;
        if j >= n {
            return Err(Fast::NeedMore);
        }
    } else {
        digits(&mut j)?;
    }
    if s[j] == b'.' {
        j += 1;
        digits(&mut j)?;
    }
    if s[j] == b'e' || s[j] == b'E' {
        j += 1;
        if j < n && (s[j] == b'+' || s[j] == b'-') {
            j += 1;
        }
        digits(&mut j)?;
    }
    if is_token_byte(s[j]) {
        return Err(Fast::Bail);
    }
    Ok(j)
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
        // The broken element has no known end: nothing to keep.
        let mut r = JsonElements::new(&br#"[{"a":1}, {"b":]}]"#[..], InputFormat::JsonArray);
        assert!(r.next_element().is_ok());
        assert!(r.next_element().is_err());
        assert_eq!(r.malformed_element(), None);
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
            (b"{\"a\":\"\xff\"}", 0),
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
            let kept = r.malformed_element().expect("kept for a reject");
            let compact: Vec<u8> = bad.iter().copied().filter(|b| *b != b' ').collect();
            assert_eq!(
                (kept.index, kept.byte_offset, kept.bytes),
                (1, 3, &compact[..])
            );
            assert_eq!(r.next_element().unwrap().unwrap().bytes, b"2");
            assert_eq!(r.malformed_element(), None);
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

    /// Every element or error (index, offset, bytes, key; or index, offset, continue?).
    fn outcomes(input: &[u8], format: InputFormat, window: usize, fast: bool) -> Vec<String> {
        let mut r = JsonElements::new(input, format)
            .with_window(window)
            .with_key_field(Some("k"));
        r.fast = fast;
        let mut out = Vec::new();
        for _ in 0..200 {
            match r.next_element() {
                Ok(Some(e)) => out.push(format!(
                    "{}@{} {} key={:?}",
                    e.index,
                    e.byte_offset,
                    String::from_utf8_lossy(e.bytes),
                    e.key().map(|k| k.into_owned())
                )),
                Ok(None) => break,
                Err(Error::Malformed {
                    element_index,
                    byte_offset,
                    reason,
                }) => {
                    out.push(format!("err {element_index}@{byte_offset} {reason}"));
                    if !r.can_continue() {
                        break;
                    }
                }
                Err(e) => panic!("{e}"),
            }
        }
        out.push(format!("pos {}", r.position()));
        out
    }

    /// Small deterministic PRNG for the differential test.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }
    }

    #[test]
    fn fast_path_agrees_with_byte_by_byte_scan_at_any_window() {
        let base: &[&[u8]] = &[
            br#"[{"k":"a\"b","x":[1,-2.5e+3,{"k":0}],"t":true,"f":false,"n":null}, {"k" : 7 } ,"s",[ ],{},-0,"caf\u00e9",{"y":{"k":1},"k":[1,{"z":"]"}]}]"#,
            b"{\"k\":\"a\"}\n  {\"k\" : 1}\r\n\n[1,2]\n3\n\"x\\ty\"\n{\"k\":{\"a\":[]}}",
            b"[\"caf\xc3\xa9\",{\"k\":\"\xc3\xa9\"}]",
            b"[\n  {\n    \"k\": \"u-1\",\n    \"v\": [\n      1,\n      2\n    ]\n  },\n  {\"k\":null}\n]\n",
        ];
        let mut rng = Lcg(7);
        let junk: &[u8] = b" \n\t,:{}[]\"\\0123456789-+.eEtrufalsn\x01\xc3\xa9\xff";
        for (bi, b) in base.iter().enumerate() {
            let format = InputFormat::detect(b).unwrap();
            let mut inputs = vec![b.to_vec()];
            for _ in 0..150 {
                let mut m = b.to_vec();
                for _ in 0..1 + rng.next() % 3 {
                    let at = (rng.next() as usize) % m.len();
                    match rng.next() % 3 {
                        0 => {
                            m.remove(at);
                        }
                        1 => m.insert(at, junk[(rng.next() as usize) % junk.len()]),
                        _ => m[at] = junk[(rng.next() as usize) % junk.len()],
                    }
                }
                inputs.push(m);
            }
            for input in &inputs {
                let expected = outcomes(input, format, 1 << 20, false);
                // An index recorded by a first pass replays to the same elements.
                let mut first = JsonElements::new(&input[..], format)
                    .with_key_field(Some("k"))
                    .with_index_recording();
                while !matches!(first.next_element(), Ok(None)) && first.can_continue() {}
                let index = first.take_index().unwrap();
                let mut again = JsonElements::new(&input[..], format)
                    .with_key_field(Some("k"))
                    .with_index(index.clone())
                    .with_window(5);
                let mut plain = JsonElements::new(&input[..], format)
                    .with_key_field(Some("k"))
                    .with_window(5);
                loop {
                    let (a, b) = (again.next_element(), plain.next_element());
                    let show = |r: Result<Option<Element<'_>>>| match r {
                        Ok(Some(e)) => format!("{:?} {:?}", e, e.key()),
                        other => format!("{other:?}"),
                    };
                    let (a, b) = (show(a), show(b));
                    assert_eq!(a, b, "replay of {}", String::from_utf8_lossy(input));
                    if b.starts_with("Ok(None)") || !plain.can_continue() {
                        break;
                    }
                }
                for (window, fast) in [
                    (1 << 20, true),
                    (1, true),
                    (7, true),
                    (7, false),
                    (64, true),
                ] {
                    assert_eq!(
                        outcomes(input, format, window, fast),
                        expected,
                        "base {bi}, window {window}, fast {fast}: {}",
                        String::from_utf8_lossy(input)
                    );
                }
            }
        }
    }

    #[test]
    fn compact_elements_are_borrowed_and_others_compacted() {
        let input = b"[{\"a\":1},{ \"a\":2}]";
        let mut r = JsonElements::new(&input[..], InputFormat::JsonArray);
        assert_eq!(r.next_element().unwrap().unwrap().bytes, b"{\"a\":1}");
        assert_eq!(r.borrowed, Some(7));
        assert_eq!(r.position(), 8);
        assert_eq!(r.next_element().unwrap().unwrap().bytes, b"{\"a\":2}");
        assert_eq!(r.borrowed, None);
        assert!(r.next_element().unwrap().is_none());
        assert_eq!(r.position(), input.len() as u64);
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
