//! Scanning the element at the window's start: the fast path, then the byte-by-byte scan of
//! an array element or an NDJSON line.

use std::io::Read;

use super::{Current, Invalid, JsonElements};
use crate::json::InputFormat;
use crate::json::error::Result;
use crate::json::fast::{Fast, scan_fast};
use crate::json::is_ws;
use crate::json::scan::End;

impl<R: Read> JsonElements<R> {
    /// [`scan_fast`] over the window, reading more while the element is incomplete.
    /// `Ok(None)`: not a valid element (or the input ends inside it, or an NDJSON line goes
    /// on after it); nothing was consumed and the byte-by-byte scan finds out.
    pub(super) fn fast_element(&mut self) -> Result<Option<Current>> {
        let ndjson = self.format == InputFormat::Ndjson;
        loop {
            let field = self.key_field.as_deref().map(str::as_bytes);
            let r = scan_fast(
                self.src.window(),
                ndjson,
                field,
                &mut self.buf,
                &mut self.stack,
            );
            match r {
                Fast::Done {
                    len,
                    compacted,
                    key,
                } => {
                    let bytes = if compacted {
                        &self.buf[..]
                    } else {
                        &self.src.window()[..len]
                    };
                    if std::str::from_utf8(bytes).is_err() {
                        return Ok(None);
                    }
                    if ndjson && !self.rest_of_line_is_blank(len)? {
                        return Ok(None);
                    }
                    return Ok(Some(Current {
                        start: self.at,
                        len,
                        compact: compacted && !ndjson,
                        key,
                        key_in_buf: compacted,
                        invalid: None,
                    }));
                }
                Fast::NeedMore => match self.src.read_more() {
                    Ok(true) => {}
                    Ok(false) => return Ok(None),
                    Err(e) => return Err(self.read_error(e)),
                },
                Fast::Bail => return Ok(None),
            }
        }
    }

    /// Whether the window from `from` to the next newline (or the end of the input) holds
    /// only spaces, tabs and `\r`.
    fn rest_of_line_is_blank(&mut self, from: usize) -> Result<bool> {
        let mut i = from;
        loop {
            let w = self.src.window();
            while i < w.len() {
                match w[i] {
                    b'\n' => return Ok(true),
                    b' ' | b'\t' | b'\r' => i += 1,
                    _ => return Ok(false),
                }
            }
            match self.src.read_more() {
                Ok(true) => {}
                Ok(false) => return Ok(true),
                Err(e) => return Err(self.read_error(e)),
            }
        }
    }

    /// The byte-by-byte scan of an array element, reading more as needed: valid (compact
    /// in `buf`), invalid with a known extent, or a structural error.
    pub(super) fn slow_element(&mut self) -> Result<Current> {
        self.buf.clear();
        self.scanner.reset();
        let key = self.key_field.as_deref().map(str::as_bytes);
        let end = loop {
            if let Some(end) = self.scanner.feed(self.src.window(), &mut self.buf, key) {
                break end;
            }
            match self.src.read_more() {
                Ok(true) => {}
                Ok(false) => break self.scanner.finish(&self.buf, false),
                Err(e) => return Err(self.read_error(e)),
            }
        };
        match end {
            End::Complete(len) => {
                let grammar = self.scanner.grammar();
                Ok(self.checked(len, grammar, true))
            }
            End::Broken(at, reason) => {
                let pos = self.at.after(&self.src.window()[..at]);
                Err(self.fail(pos, reason))
            }
        }
    }

    /// The byte-by-byte scan of an NDJSON line: valid, or invalid with the first problem.
    pub(super) fn slow_line(&mut self) -> Result<Current> {
        let len = self.line_len()?;
        self.buf.clear();
        self.scanner.reset();
        let key = self.key_field.as_deref().map(str::as_bytes);
        let line = &self.src.window()[..len];
        let end = match self.scanner.feed(line, &mut self.buf, key) {
            Some(end) => end,
            None => self.scanner.finish(&self.buf, true),
        };
        let grammar = self.scanner.grammar();
        let problem = match end {
            End::Complete(end) if end == len => grammar,
            End::Complete(end) => {
                let after = end + line[end..].iter().take_while(|b| is_ws(**b)).count();
                first(
                    grammar,
                    Some((after, "unexpected characters after the value")),
                )
            }
            End::Broken(at, reason) => first(grammar, Some((at, reason))),
        };
        Ok(self.checked(len, problem, false))
    }

    /// The scanned element of `len` input bytes, with its first grammar problem (if any)
    /// and its UTF-8 checked. `compact`: the valid element's message is the compact form.
    fn checked(
        &self,
        len: usize,
        problem: Option<(usize, &'static str)>,
        compact: bool,
    ) -> Current {
        let raw = &self.src.window()[..len];
        let utf8 = std::str::from_utf8(raw)
            .err()
            .map(|e| (e.valid_up_to(), "invalid UTF-8"));
        let invalid = first(problem, utf8).map(|(at, reason)| Invalid { at, reason });
        let valid = invalid.is_none();
        Current {
            start: self.at,
            len,
            compact: compact && valid,
            key: if valid {
                self.scanner.key_range()
            } else {
                None
            },
            key_in_buf: true,
            invalid,
        }
    }

    /// Length of the line at the window's start without its newline and trailing
    /// whitespace (the line's first byte is not whitespace).
    fn line_len(&mut self) -> Result<usize> {
        let mut searched = 0;
        let end = loop {
            let w = self.src.window();
            if let Some(i) = memchr::memchr(b'\n', &w[searched..]) {
                break searched + i;
            }
            searched = w.len();
            match self.src.read_more() {
                Ok(true) => {}
                Ok(false) => break searched,
                Err(e) => return Err(self.read_error(e)),
            }
        };
        let line = &self.src.window()[..end];
        Ok(line.iter().rposition(|b| !is_ws(*b)).map_or(0, |i| i + 1))
    }
}

/// The earlier of two problems.
fn first(
    a: Option<(usize, &'static str)>,
    b: Option<(usize, &'static str)>,
) -> Option<(usize, &'static str)> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
        (a, b) => a.or(b),
    }
}
