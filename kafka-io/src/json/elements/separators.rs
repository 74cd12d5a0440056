//! Between elements: the array's brackets and commas, NDJSON's blank lines.

use std::io::Read;

use super::{JsonElements, Phase};
use crate::json::error::Result;
use crate::json::{InputFormat, is_ws, show};

impl<R: Read> JsonElements<R> {
    /// Skips what separates elements until one starts at the window's first byte:
    /// `Ok(true)`, or `Ok(false)` at the end of the input. A byte-order mark at the very
    /// start is skipped first.
    pub(super) fn seek(&mut self) -> Result<bool> {
        if self.at_start {
            self.at_start = false;
            match self.src.skip_bom() {
                Ok(n) => self.at.byte += n as u64,
                Err(e) => return Err(self.read_error(e)),
            }
        }
        let array = self.format == InputFormat::JsonArray;
        loop {
            match self.phase {
                Phase::Done => return Ok(false),
                Phase::Failed => {
                    let at = self.at;
                    return Err(self.fail(at, "nothing can be read after an earlier error"));
                }
                _ => {}
            }
            let chunk = match self.src.fill_buf() {
                Ok(c) => c,
                Err(e) => return Err(self.read_error(e)),
            };
            if chunk.is_empty() {
                return self.at_end();
            }
            let (used, outcome) = separators(&mut self.phase, array, chunk);
            let at = self.at.after(&chunk[..used]);
            self.src.consume(used);
            self.at = at;
            match outcome {
                Some(Ok(())) => return Ok(true),
                Some(Err(reason)) => return Err(self.fail(at, reason)),
                None => {}
            }
        }
    }

    /// The input ended between elements.
    fn at_end(&mut self) -> Result<bool> {
        let reason = match self.phase {
            Phase::Before if self.format == InputFormat::Ndjson => None,
            Phase::Trailer | Phase::Done => None,
            Phase::Start => Some("the input is empty, expected `[`"),
            _ => Some("the input ends before the array is closed (expected `,` or `]`)"),
        };
        match reason {
            None => {
                self.phase = Phase::Done;
                Ok(false)
            }
            Some(reason) => {
                let at = self.at;
                Err(self.fail(at, reason))
            }
        }
    }
}

/// Scans separators in `chunk` from `phase`: how many bytes were used, and `Some(Ok)` if an
/// element starts after them, `Some(Err)` if they break the array's structure, `None` if
/// the chunk ended first.
fn separators(
    phase: &mut Phase,
    array: bool,
    chunk: &[u8],
) -> (usize, Option<std::result::Result<(), String>>) {
    for (i, &b) in chunk.iter().enumerate() {
        if is_ws(b) {
            continue;
        }
        let problem = match *phase {
            Phase::Start if b == b'[' => {
                *phase = Phase::First;
                continue;
            }
            Phase::First if b == b']' => {
                *phase = Phase::Trailer;
                continue;
            }
            Phase::After if b == b',' => {
                *phase = Phase::Before;
                continue;
            }
            Phase::After if b == b']' => {
                *phase = Phase::Trailer;
                continue;
            }
            Phase::Start => format!("expected `[`, found {}", show(b)),
            Phase::After => format!("expected `,` or `]` after an element, found {}", show(b)),
            Phase::Trailer => format!("unexpected {} after the closing `]`", show(b)),
            Phase::First | Phase::Before if array && matches!(b, b']' | b',') => {
                format!("expected an element, found {}", show(b))
            }
            Phase::First | Phase::Before | Phase::Done | Phase::Failed => {
                return (i, Some(Ok(())));
            }
        };
        return (i, Some(Err(problem)));
    }
    (chunk.len(), None)
}
