//! The fast path of the splitter: validates and compacts one element with tight loops over
//! whole strings and tokens, copying nothing when the element is already compact (the
//! common case). Anything unusual (an error, a newline inside an NDJSON element) makes it
//! give up; the byte-by-byte scanner ([`super::scan`]) then finds the exact error. UTF-8
//! is not checked here.

use std::ops::Range;

use super::is_ws;
use super::token::{fast_literal, fast_number, fast_string};

/// Outcome of [`scan_fast`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Fast {
    /// A valid element of `len` input bytes; with `compacted` its compact form is in `out`
    /// (otherwise the input bytes are already compact). `key`: the key field's value range
    /// in the compact form.
    Done {
        len: usize,
        compacted: bool,
        key: Option<Range<usize>>,
    },
    /// The input ends inside the element (or right after a top-level number or literal).
    NeedMore,
    /// Not a valid element (or a newline inside an NDJSON one).
    Bail,
}

/// Why the fast path stops before the element's end (small, so that every step's result
/// stays in registers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// The input ends inside the element.
    NeedMore,
    /// Something the fast path does not handle.
    Bail,
}

/// Validates and compacts the element that starts at `s[0]` (not whitespace). With
/// `ndjson`, a newline inside the element gives up. `out` and `stack` are scratch space
/// (the compact form is in `out` when it differs from the input).
pub(super) fn scan_fast(
    s: &[u8],
    ndjson: bool,
    key_field: Option<&[u8]>,
    out: &mut Vec<u8>,
    stack: &mut Vec<u8>,
) -> Fast {
    stack.clear();
    let mut f = FastScan {
        s,
        i: 0,
        ndjson,
        key_field,
        c: Compactor {
            run_start: 0,
            removed: 0,
            active: false,
        },
        out,
        stack,
        key_next: false,
        key_start: None,
        key_range: None,
    };
    match f.element() {
        Ok(()) => f.done(),
        Err(Stop::NeedMore) => Fast::NeedMore,
        Err(Stop::Bail) => Fast::Bail,
    }
}

/// The state of one [`scan_fast`] call.
struct FastScan<'s, 'o> {
    s: &'s [u8],
    /// Next byte.
    i: usize,
    ndjson: bool,
    key_field: Option<&'s [u8]>,
    c: Compactor,
    out: &'o mut Vec<u8>,
    stack: &'o mut Vec<u8>,
    /// The next value is the key field's (set after its name at depth 1).
    key_next: bool,
    key_start: Option<usize>,
    key_range: Option<Range<usize>>,
}

impl FastScan<'_, '_> {
    /// Reads values until the outermost one is closed.
    #[inline(always)]
    fn element(&mut self) -> Result<(), Stop> {
        loop {
            self.ws()?;
            if self.key_next {
                self.key_next = false;
                self.key_start = Some(self.i - self.c.removed);
            }
            if self.value()? {
                continue;
            }
            if !self.after_value()? {
                return Ok(());
            }
        }
    }

    /// The value at `i`: a string, number or literal is read whole, an empty container too;
    /// `Ok(true)`: a container was opened and its first value (or member value) is next.
    #[inline(always)]
    fn value(&mut self) -> Result<bool, Stop> {
        let s = self.s;
        match s[self.i] {
            b'"' => self.i = fast_string(s, self.i)?,
            open @ (b'{' | b'[') => {
                self.stack.push(open);
                self.i += 1;
                self.ws()?;
                let close = if open == b'{' { b'}' } else { b']' };
                if s[self.i] != close {
                    if open == b'{' {
                        self.member_name()?;
                    }
                    return Ok(true);
                }
                self.stack.pop();
                self.i += 1;
            }
            b't' => self.i = fast_literal(s, self.i, b"true")?,
            b'f' => self.i = fast_literal(s, self.i, b"false")?,
            b'n' => self.i = fast_literal(s, self.i, b"null")?,
            b'-' | b'0'..=b'9' => self.i = fast_number(s, self.i)?,
            _ => return Err(Stop::Bail),
        }
        Ok(false)
    }

    /// After a value: closes containers until a `,` starts the next value (`Ok(true)`) or
    /// the element is complete (`Ok(false)`).
    #[inline(always)]
    fn after_value(&mut self) -> Result<bool, Stop> {
        loop {
            if self.stack.len() == 1
                && let Some(k) = self.key_start.take()
            {
                self.key_range = Some(k..self.i - self.c.removed);
            }
            let Some(&top) = self.stack.last() else {
                return Ok(false);
            };
            self.ws()?;
            match (self.s[self.i], top) {
                (b',', b'{') => {
                    self.i += 1;
                    self.ws()?;
                    self.member_name()?;
                    return Ok(true);
                }
                (b',', _) => {
                    self.i += 1;
                    return Ok(true);
                }
                (b'}', b'{') | (b']', b'[') => {
                    self.stack.pop();
                    self.i += 1;
                }
                _ => return Err(Stop::Bail),
            }
        }
    }

    /// An object member's name and colon, at `i` (after `{` or `,` and whitespace).
    #[inline(always)]
    fn member_name(&mut self) -> Result<(), Stop> {
        let s = self.s;
        if s[self.i] != b'"' {
            return Err(Stop::Bail);
        }
        let name = self.i + 1;
        self.i = fast_string(s, self.i)?;
        if self.stack.len() == 1 && self.key_range.is_none() && self.key_start.is_none() {
            self.key_next = self.key_field == Some(&s[name..self.i - 1]);
        }
        self.ws()?;
        if s[self.i] != b':' {
            return Err(Stop::Bail);
        }
        self.i += 1;
        Ok(())
    }

    /// Skips whitespace at `i` (recording the cut); `NeedMore` at the end of the input.
    #[inline(always)]
    fn ws(&mut self) -> Result<(), Stop> {
        let (s, n) = (self.s, self.s.len());
        if self.i < n && is_ws(s[self.i]) {
            let from = self.i;
            let mut i = self.i;
            while i < n && is_ws(s[i]) {
                if self.ndjson && s[i] == b'\n' {
                    return Err(Stop::Bail);
                }
                i += 1;
            }
            self.c.cut(s, from, i, self.out);
            self.i = i;
        }
        if self.i >= n {
            return Err(Stop::NeedMore);
        }
        Ok(())
    }

    fn done(self) -> Fast {
        if self.c.active {
            self.out
                .extend_from_slice(&self.s[self.c.run_start..self.i]);
        }
        Fast::Done {
            len: self.i,
            compacted: self.c.active,
            key: self.key_range,
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(s: &[u8]) -> Fast {
        scan_fast(s, false, Some(b"k"), &mut Vec::new(), &mut Vec::new())
    }

    #[test]
    fn compact_elements_are_not_copied_and_others_are() {
        assert_eq!(
            fast(br#"{"k":"v","a":[1,{}]},"#),
            Fast::Done {
                len: 20,
                compacted: false,
                key: Some(5..8)
            }
        );
        let mut out = Vec::new();
        let r = scan_fast(
            b"{ \"k\" : 1 } ",
            false,
            Some(b"k"),
            &mut out,
            &mut Vec::new(),
        );
        assert_eq!(
            r,
            Fast::Done {
                len: 11,
                compacted: true,
                key: Some(5..6)
            }
        );
        assert_eq!(out, br#"{"k":1}"#);
        assert_eq!(fast(b"[1, 2"), Fast::NeedMore);
        assert_eq!(fast(b"12"), Fast::NeedMore);
        assert_eq!(fast(b"[1 2]"), Fast::Bail);
        assert_eq!(
            scan_fast(b"[1,\n2]", true, None, &mut Vec::new(), &mut Vec::new()),
            Fast::Bail
        );
    }
}
