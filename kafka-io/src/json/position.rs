//! Places in an input: `line L, column C (byte B)`.

use std::fmt;
use std::io::Read;

use super::source::BOM;

/// A place in an input file: 1-based line and column, and the 0-based byte offset.
///
/// Lines end at `\n` (a `\r` before it is the last byte of its line). The column counts
/// bytes from the line's first byte, so it is exact for any input, UTF-8 or not. A UTF-8
/// byte-order mark at the start of the file comes before line 1, column 1 (its bytes are
/// counted in `byte`). In a compressed file, bytes are those of the decompressed text.
///
/// ```
/// use kafka_io::json::Position;
/// let start = Position::START;
/// let p = start.after(b"[\n  {\"a\": tru");
/// assert_eq!((p.line, p.column, p.byte), (2, 12, 13));
/// assert_eq!(p.to_string(), "line 2, column 12 (byte 13)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    /// Line number, from 1.
    pub line: u64,
    /// Byte in the line, from 1.
    pub column: u64,
    /// Byte offset in the input, from 0.
    pub byte: u64,
}

impl Position {
    /// The first byte of an input.
    pub const START: Position = Position {
        line: 1,
        column: 1,
        byte: 0,
    };

    /// The position of the byte that follows `bytes`, when `bytes` start at `self`.
    pub fn after(self, bytes: &[u8]) -> Position {
        let byte = self.byte + bytes.len() as u64;
        match memchr::memrchr(b'\n', bytes) {
            None => Position {
                column: self.column + bytes.len() as u64,
                byte,
                ..self
            },
            Some(last) => Position {
                line: self.line + memchr::memchr_iter(b'\n', bytes).count() as u64,
                column: (bytes.len() - last) as u64,
                byte,
            },
        }
    }

    /// The position of byte offset `byte` of the input `reader` reads from its start,
    /// found by counting the lines before it (a byte-order mark at the start is skipped as
    /// the splitters skip it).
    ///
    /// # Errors
    /// Reading fails, or the input is shorter than `byte`.
    pub fn locate(mut reader: impl Read, byte: u64) -> std::io::Result<Position> {
        let mut buf = vec![0u8; 64 << 10];
        let mut at = Position::START;
        let mut first = true;
        while at.byte < byte {
            let want = usize::try_from(byte - at.byte)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            let n = reader.read(&mut buf[..want])?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("the input ends before byte {byte}"),
                ));
            }
            let mut chunk = &buf[..n];
            if first && chunk.starts_with(BOM) {
                chunk = &chunk[BOM.len()..];
                at.byte += BOM.len() as u64;
            }
            first = false;
            at = at.after(chunk);
        }
        Ok(at)
    }

    /// The same line, `n` bytes further (no newline among them).
    #[inline]
    pub(super) fn forward(&mut self, n: usize) {
        self.column += n as u64;
        self.byte += n as u64;
    }

    /// Line 1, column 1 at byte offset `byte` (the start of a stream, or a stand-in where
    /// the lines before are not known).
    pub(super) fn at_byte(byte: u64) -> Position {
        Position {
            byte,
            ..Position::START
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {} (byte {})",
            self.line, self.column, self.byte
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn after_counts_lines_and_columns() {
        let p = Position::START.after(b"ab");
        assert_eq!((p.line, p.column, p.byte), (1, 3, 2));
        let p = p.after(b"\r\n\n xy");
        assert_eq!((p.line, p.column, p.byte), (3, 4, 8));
        assert_eq!(p.after(b""), p);
    }

    #[test]
    fn locate_agrees_with_after_and_skips_a_bom() {
        let text = b"[\n  {\"a\": 1},\r\n  {\"b\":\n 2}]";
        for byte in 0..=text.len() as u64 {
            let want = Position::START.after(&text[..byte as usize]);
            assert_eq!(Position::locate(&text[..], byte).unwrap(), want);
            let mut with_bom = BOM.to_vec();
            with_bom.extend_from_slice(text);
            let got = Position::locate(&with_bom[..], byte + 3).unwrap();
            assert_eq!(
                (got.line, got.column, got.byte),
                (want.line, want.column, byte + 3)
            );
        }
        assert!(Position::locate(&text[..], 100).is_err());
    }
}
