//! The read window both splitters cut from.

use std::io::Read;

/// Default size of the read window.
pub(super) const WINDOW: usize = 1 << 20;

/// The UTF-8 byte-order mark. Some editors write it at the start of a text file; it is
/// not part of the first line.
pub(super) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The input with its own read window: unconsumed bytes stay in place while more is read
/// after them, so an element (or line) is always contiguous, from its first byte to the
/// last byte read.
#[derive(Debug)]
pub(super) struct Source<R> {
    reader: R,
    buf: Vec<u8>,
    /// Size of the window before it has to grow for a large element.
    pub(super) window: usize,
    /// First unconsumed byte.
    start: usize,
    /// End of the bytes read.
    end: usize,
    pub(super) eof: bool,
}

impl<R: Read> Source<R> {
    /// An empty window of the default size over `reader`.
    pub(super) fn new(reader: R) -> Self {
        Source {
            reader,
            buf: Vec::new(),
            window: WINDOW,
            start: 0,
            end: 0,
            eof: false,
        }
    }

    /// Skips a UTF-8 byte-order mark at the current position; returns the bytes skipped
    /// (0 or 3). Called once, at the start of an input.
    pub(super) fn skip_bom(&mut self) -> std::io::Result<usize> {
        while self.window().len() < BOM.len() && self.read_more()? {}
        if self.window().starts_with(BOM) {
            self.consume(BOM.len());
            return Ok(BOM.len());
        }
        Ok(0)
    }

    /// The unconsumed bytes, reading more first if there are none (empty at the end).
    pub(super) fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.start == self.end {
            self.read_more()?;
        }
        Ok(&self.buf[self.start..self.end])
    }

    pub(super) fn consume(&mut self, n: usize) {
        self.start += n;
    }

    /// The unconsumed bytes read so far.
    pub(super) fn window(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Reads more after the unconsumed bytes, keeping them (moved to the front; the window
    /// grows when they fill more than half of it). Returns `false` at the end of the input.
    pub(super) fn read_more(&mut self) -> std::io::Result<bool> {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_bom_is_skipped_once_even_when_it_arrives_in_pieces() {
        let input = b"\xEF\xBB\xBF[1]";
        let reader = std::io::Read::chain(&input[..1], &input[1..]);
        let mut s = Source::new(reader);
        s.window = 1;
        assert_eq!(s.skip_bom().unwrap(), 3);
        while s.read_more().unwrap() {}
        assert_eq!(s.window(), b"[1]");
        let mut s = Source::new(&b"\xEF\xBB"[..]);
        assert_eq!(s.skip_bom().unwrap(), 0);
        assert_eq!(s.window(), b"\xEF\xBB");
    }
}
