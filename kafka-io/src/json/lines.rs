//! Cutting NDJSON at newlines, without looking inside the lines.
//!
//! [`JsonElements`](super::JsonElements) also checks each line and finds its key, which a
//! publisher needs and a reader that parses every value anyway does not: [`NdjsonLines`]
//! finds the newlines with `memchr` and hands out each line as it is, so a broken line is
//! just a line (its parser says what is wrong with it) and the next line is read as usual.
//! Both cut the same lines: a line ends at `\n`; a `\r` before it and leading or trailing
//! spaces and tabs are not part of it; blank lines are skipped.

use std::io::Read;
use std::path::PathBuf;

use super::error::{Error, Result};
use super::source::Source;
use super::{Position, is_ws};

/// One non-blank line of an NDJSON input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Line<'a> {
    /// Zero-based index among the non-blank lines: the element index
    /// [`JsonElements`](super::JsonElements) gives it.
    pub index: u64,
    /// Line number in the input, from 1 (blank lines count).
    pub line: u64,
    /// Column (byte in the line, from 1) of the first non-whitespace byte.
    pub column: u64,
    /// Byte offset in the input of the line's first non-whitespace byte.
    pub byte_offset: u64,
    /// The line without the newline and without leading and trailing whitespace (spaces,
    /// tabs, `\r`); never empty. Not checked to be JSON, nor UTF-8.
    pub bytes: &'a [u8],
}

impl Line<'_> {
    /// Where the line starts in the input.
    pub fn start(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
            byte: self.byte_offset,
        }
    }

    /// Where byte `at` of [`Line::bytes`] is in the input (`at` past the end gives the
    /// position after the line's last byte).
    pub fn position_at(&self, at: usize) -> Position {
        let mut p = self.start();
        p.forward(at.min(self.bytes.len()));
        p
    }
}

/// Splits an NDJSON stream into its non-blank lines (see [`Line`]). The last line needs no
/// newline; a UTF-8 byte-order mark at the start is skipped. Reads in 1 MiB blocks into
/// its own window, which grows for a longer line.
///
/// ```
/// use kafka_io::json::NdjsonLines;
/// let input = b"\xEF\xBB\xBF{\"a\": 1}\r\n\n  {\"b\": tru\n[1,2]";
/// let mut lines = NdjsonLines::new(&input[..]);
/// let first = lines.next_line().unwrap().unwrap();
/// assert_eq!((first.index, first.byte_offset, first.bytes), (0, 3, &b"{\"a\": 1}"[..]));
/// let broken = lines.next_line().unwrap().unwrap();
/// assert_eq!((broken.index, broken.line, broken.column), (1, 3, 3));
/// assert_eq!(broken.bytes, b"{\"b\": tru");
/// assert_eq!(broken.position_at(6).to_string(), "line 3, column 9 (byte 22)");
/// assert_eq!(lines.next_line().unwrap().unwrap().bytes, b"[1,2]");
/// assert!(lines.next_line().unwrap().is_none());
/// ```
#[derive(Debug)]
pub struct NdjsonLines<R> {
    src: Source<R>,
    path: Option<PathBuf>,
    /// Window bytes of the last line (and its newline) still to be consumed.
    pending: usize,
    /// Window bytes already searched for a newline (none found).
    searched: usize,
    /// Absolute offset of the window's first byte (always the start of a line).
    pos: u64,
    /// Line number of the window's first byte.
    line: u64,
    /// Index of the next line.
    index: u64,
    at_start: bool,
}

impl<R: Read> NdjsonLines<R> {
    /// Creates a splitter reading `reader`; byte offsets count from its current position.
    pub fn new(reader: R) -> Self {
        NdjsonLines {
            src: Source::new(reader),
            path: None,
            pending: 0,
            searched: 0,
            pos: 0,
            line: 1,
            index: 0,
            at_start: true,
        }
    }

    /// Names the input in errors.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Sets the size of the read window (default 1 MiB, at least 1 byte).
    pub fn with_window(mut self, bytes: usize) -> Self {
        self.src.window = bytes.max(1);
        self
    }

    /// The next non-blank line, `Ok(None)` at the end of the input.
    ///
    /// # Errors
    /// [`Error::Read`] with the position where reading stopped.
    pub fn next_line(&mut self) -> Result<Option<Line<'_>>> {
        self.consume(self.pending, true);
        self.pending = 0;
        if self.at_start {
            self.at_start = false;
            let n = self.src.skip_bom().map_err(|e| self.read_error(e))?;
            self.pos += n as u64;
        }
        loop {
            let window = self.src.window();
            let (len, line_end) = match memchr::memchr(b'\n', &window[self.searched..]) {
                Some(i) => (self.searched + i + 1, self.searched + i),
                None if self.src.eof => (window.len(), window.len()),
                None => {
                    self.searched = window.len();
                    self.src.read_more().map_err(|e| self.read_error(e))?;
                    continue;
                }
            };
            if len == 0 {
                return Ok(None);
            }
            self.searched = 0;
            let line = &window[..line_end];
            let Some(first) = line.iter().position(|b| !is_ws(*b)) else {
                self.consume(len, len > line_end);
                continue;
            };
            let last = line.iter().rposition(|b| !is_ws(*b)).unwrap_or(first);
            self.pending = len;
            self.index += 1;
            return Ok(Some(Line {
                index: self.index - 1,
                line: self.line,
                column: first as u64 + 1,
                byte_offset: self.pos + first as u64,
                bytes: &self.src.window()[first..=last],
            }));
        }
    }

    /// Consumes a line of `len` bytes (with its newline, if `newline`).
    fn consume(&mut self, len: usize, newline: bool) {
        if len == 0 {
            return;
        }
        self.src.consume(len);
        self.pos += len as u64;
        if newline {
            self.line += 1;
        }
    }

    fn read_error(&self, e: std::io::Error) -> Error {
        let at = Position {
            line: self.line,
            column: 1,
            byte: self.pos,
        };
        Error::read(self.path.as_deref(), at, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{InputFormat, JsonElements};
    use proptest::prelude::*;

    /// (index, line, column, offset, bytes) of every line.
    fn lines(input: &[u8], window: usize) -> Vec<(u64, u64, u64, u64, Vec<u8>)> {
        let mut l = NdjsonLines::new(input).with_window(window);
        let mut out = Vec::new();
        while let Some(line) = l.next_line().unwrap() {
            out.push((
                line.index,
                line.line,
                line.column,
                line.byte_offset,
                line.bytes.to_vec(),
            ));
        }
        out
    }

    #[test]
    fn blank_lines_whitespace_and_a_missing_final_newline() {
        assert!(lines(b"", 4).is_empty());
        assert!(lines(b"\n \r\n\t\n", 4).is_empty());
        let got = lines(b" {\"a\":1} \r\n\n\nnot json\n  [1,\n2]", 4);
        assert_eq!(
            got,
            [
                (0, 1, 2, 1, b"{\"a\":1}".to_vec()),
                (1, 4, 1, 13, b"not json".to_vec()),
                (2, 5, 3, 24, b"[1,".to_vec()),
                (3, 6, 1, 28, b"2]".to_vec()),
            ]
        );
    }

    #[test]
    fn a_line_longer_than_the_window_grows_it() {
        let long = vec![b'x'; 10_000];
        let mut input = long.clone();
        input.extend_from_slice(b"\nshort\n");
        let got = lines(&input, 16);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].4, long);
        assert_eq!(
            (got[1].1, got[1].3, &got[1].4[..]),
            (2, 10_001, &b"short"[..])
        );
    }

    #[test]
    fn a_bom_is_skipped_and_counted() {
        let got = lines(b"\xEF\xBB\xBF{\"a\":1}\n\xEF\xBB\xBFx", 2);
        assert_eq!(got[0], (0, 1, 1, 3, b"{\"a\":1}".to_vec()));
        // Only at the start: later it is a line's bytes.
        assert_eq!(got[1].4, b"\xEF\xBB\xBFx");
    }

    proptest! {
        /// On any bytes, lines and elements agree: same index, position and bytes.
        #[test]
        fn agrees_with_the_element_splitter(
            input in proptest::collection::vec(
                prop_oneof![
                    Just(b'\n'), Just(b' '), Just(b'\r'), Just(b'{'), Just(b'}'), Just(b'"'),
                    Just(b'1'), Just(b','), Just(b':'), any::<u8>(),
                ],
                0..300,
            ),
            window in 1..64usize,
        ) {
            let mut el = JsonElements::new(&input[..], InputFormat::Ndjson)
                .with_window(window)
                .with_key_field(Some("k"));
            let mut want = Vec::new();
            while let Some(e) = el.next_element().unwrap() {
                want.push((e.index, e.line, e.column, e.byte_offset, e.bytes.to_vec()));
            }
            prop_assert_eq!(lines(&input, window), want);
        }

        /// Any bytes: never a panic, and the lines are exactly the input's non-blank lines.
        #[test]
        fn any_bytes_are_cut_at_every_newline(
            input in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b' '), Just(b'\r'), any::<u8>()],
                0..300,
            ),
            window in 1..32usize,
        ) {
            let want: Vec<Vec<u8>> = input
                .split(|b| *b == b'\n')
                .map(|l| {
                    let s = l.iter().position(|b| !is_ws(*b)).unwrap_or(l.len());
                    let e = l.iter().rposition(|b| !is_ws(*b)).map_or(s, |e| e + 1);
                    l[s..e].to_vec()
                })
                .filter(|l| !l.is_empty())
                .collect();
            let got: Vec<Vec<u8>> = lines(&input, window).into_iter().map(|l| l.4).collect();
            prop_assert_eq!(got, want);
        }
    }
}
