//! Cutting NDJSON at newlines, without looking inside the lines.
//!
//! [`JsonElements`](super::JsonElements) validates and compacts every element, which a
//! publisher needs (the message is what `jq -c` prints) and a consumer of the file does not
//! when it parses each value anyway: [`NdjsonLines`] finds the newlines with `memchr` and
//! hands out each line as it is, so a broken line is just a line — the parser that reads it
//! reports what is wrong with it, and the next line is read as usual.

use std::io::Read;

use super::{Source, is_ws};
use crate::error::{Error, Result};

/// One non-blank line of an NDJSON input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// Zero-based index among the non-blank lines: the same element index
    /// [`JsonElements`](super::JsonElements) gives a file of one value per line.
    pub index: u64,
    /// Byte offset in the input of the line's first non-whitespace byte.
    pub byte_offset: u64,
    /// The line without the newline and without leading and trailing whitespace (spaces,
    /// tabs, `\r`); never empty. Not checked to be JSON, nor UTF-8.
    pub bytes: &'a [u8],
}

/// Splits an NDJSON stream into its non-blank lines (see [`Line`]); blank lines are skipped
/// as [`InputFormat::Ndjson`](super::InputFormat::Ndjson) says. The last line needs no
/// newline. Reads in 1 MiB blocks into its own window, which grows for a longer line.
///
/// ```
/// use kafka_io::json::NdjsonLines;
/// let input = b"{\"a\": 1}\r\n\n  {\"b\": tru\n[1,2]";
/// let mut lines = NdjsonLines::new(&input[..]);
/// let first = lines.next_line().unwrap().unwrap();
/// assert_eq!((first.index, first.byte_offset, first.bytes), (0, 0, &b"{\"a\": 1}"[..]));
/// let broken = lines.next_line().unwrap().unwrap();
/// assert_eq!((broken.index, broken.byte_offset, broken.bytes), (1, 13, &b"{\"b\": tru"[..]));
/// assert_eq!(lines.next_line().unwrap().unwrap().bytes, b"[1,2]");
/// assert!(lines.next_line().unwrap().is_none());
/// ```
#[derive(Debug)]
pub struct NdjsonLines<R> {
    src: Source<R>,
    /// Window bytes of the last line (and its newline) still to be consumed.
    pending: usize,
    /// Window bytes already searched for a newline (none found).
    searched: usize,
    /// Absolute offset of the window's first byte.
    pos: u64,
    /// Index of the next line.
    index: u64,
}

impl<R: Read> NdjsonLines<R> {
    /// Creates a splitter reading `reader`; byte offsets count from its current position.
    pub fn new(reader: R) -> Self {
        NdjsonLines {
            src: Source::new(reader),
            pending: 0,
            searched: 0,
            pos: 0,
            index: 0,
        }
    }

    /// Sets the size of the read window (default 1 MiB, at least 1 byte).
    pub fn with_window(mut self, bytes: usize) -> Self {
        self.src.window = bytes.max(1);
        self
    }

    /// The next non-blank line, `Ok(None)` at the end of the input. A read error is
    /// [`Error::Malformed`] naming the line index and byte offset where reading stopped.
    pub fn next_line(&mut self) -> Result<Option<Line<'_>>> {
        self.src.consume(self.pending);
        self.pos += self.pending as u64;
        self.pending = 0;
        loop {
            let window = self.src.window();
            let (len, line_end) = match memchr::memchr(b'\n', &window[self.searched..]) {
                Some(i) => (self.searched + i + 1, self.searched + i),
                None if self.src.eof => (window.len(), window.len()),
                None => {
                    self.searched = window.len();
                    match self.src.read_more() {
                        Ok(_) => continue,
                        Err(e) => {
                            return Err(Error::Malformed {
                                element_index: self.index,
                                byte_offset: self.pos,
                                reason: format!("read error: {e}"),
                            });
                        }
                    }
                }
            };
            if len == 0 {
                return Ok(None);
            }
            self.searched = 0;
            let line = &window[..line_end];
            let Some(first) = line.iter().position(|b| !is_ws(*b)) else {
                self.src.consume(len);
                self.pos += len as u64;
                continue;
            };
            let last = line.iter().rposition(|b| !is_ws(*b)).unwrap_or(first);
            self.pending = len;
            self.index += 1;
            return Ok(Some(Line {
                index: self.index - 1,
                byte_offset: self.pos + first as u64,
                bytes: &self.src.window()[first..=last],
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{InputFormat, JsonElements};
    use proptest::prelude::*;

    fn lines(input: &[u8], window: usize) -> Vec<(u64, u64, Vec<u8>)> {
        let mut l = NdjsonLines::new(input).with_window(window);
        let mut out = Vec::new();
        while let Some(line) = l.next_line().unwrap() {
            out.push((line.index, line.byte_offset, line.bytes.to_vec()));
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
                (0, 1, b"{\"a\":1}".to_vec()),
                (1, 13, b"not json".to_vec()),
                (2, 24, b"[1,".to_vec()),
                (3, 28, b"2]".to_vec()),
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
        assert_eq!(got[0].2, long);
        assert_eq!((got[1].1, &got[1].2[..]), (10_001, &b"short"[..]));
    }

    proptest! {
        /// On input of one compact value per line, lines and elements agree: same index,
        /// offset and bytes.
        #[test]
        fn agrees_with_the_element_splitter_on_compact_ndjson(
            values in proptest::collection::vec(
                prop_oneof![
                    Just("{\"a\":[1,2],\"s\":\"x\\ny\"}".to_owned()),
                    Just("[]".to_owned()),
                    Just("-1.5e3".to_owned()),
                    "\"[a-z {}\\[\\]]{0,20}\"",
                ],
                0..40,
            ),
            blank in proptest::collection::vec(0..3usize, 40),
            window in 1..64usize,
        ) {
            let mut input = Vec::new();
            for (v, b) in values.iter().zip(&blank) {
                input.extend(std::iter::repeat_n(b'\n', *b));
                input.extend_from_slice(v.as_bytes());
                input.push(b'\n');
            }
            let mut el = JsonElements::new(&input[..], InputFormat::Ndjson);
            let mut want = Vec::new();
            while let Some(e) = el.next_element().unwrap() {
                want.push((e.index, e.byte_offset, e.bytes.to_vec()));
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
            let got: Vec<Vec<u8>> = lines(&input, window).into_iter().map(|l| l.2).collect();
            prop_assert_eq!(got, want);
        }
    }
}
