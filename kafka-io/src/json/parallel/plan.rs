//! Where the segments of a parallel pass start.

use std::io::Read;

use crate::json::{InputFormat, is_ws};

/// Segment starts: 0, then for each later cut the offset where an element probably
/// starts (strictly increasing; cuts without one are dropped).
pub(super) fn starts<R: Read>(
    len: u64,
    format: InputFormat,
    threads: usize,
    open: &(dyn Fn(u64) -> std::io::Result<R> + Sync),
) -> std::io::Result<Vec<u64>> {
    /// How far after a cut to look for an element start.
    const LOOK: usize = 1 << 20;
    let mut starts = vec![0u64];
    let mut buf = Vec::new();
    for t in 1..threads {
        let cut = len / threads as u64 * t as u64;
        if cut <= *starts.last().unwrap_or(&0) {
            continue;
        }
        buf.clear();
        open(cut)?.take(LOOK as u64).read_to_end(&mut buf)?;
        let found = match format {
            InputFormat::Ndjson => ndjson_start(&buf),
            InputFormat::JsonArray => array_start(&buf),
        };
        if let Some(i) = found {
            let at = cut + i as u64;
            if at > *starts.last().unwrap_or(&0) && at < len {
                starts.push(at);
            }
        }
    }
    Ok(starts)
}

/// The first non-blank byte after the first newline of `b`.
fn ndjson_start(b: &[u8]) -> Option<usize> {
    let nl = b.iter().position(|&c| c == b'\n')?;
    b[nl..].iter().position(|&c| !is_ws(c)).map(|i| nl + i)
}

/// The `{` of the first `}` `,` `{` (whitespace allowed around the comma) in `b` that
/// looks like a top-level element: the nesting depth counted from it (strings skipped)
/// does not drop below zero within the rest of `b` or [`PROBE`] bytes, except for the
/// array's closing `]` at the very end. A `},{` between nested objects (say, the options of
/// a question) fails that within its enclosing array.
fn array_start(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < b.len() {
        let close = i + b[i..].iter().position(|&c| c == b'}')?;
        let mut j = close + 1;
        while j < b.len() && is_ws(b[j]) {
            j += 1;
        }
        if j < b.len() && b[j] == b',' {
            j += 1;
            while j < b.len() && is_ws(b[j]) {
                j += 1;
            }
            if j < b.len() && b[j] == b'{' && stays_at_top(&b[j..]) {
                return Some(j);
            }
        }
        i = close + 1;
    }
    None
}

/// How far [`array_start`] follows a candidate.
const PROBE: usize = 256 << 10;

fn stays_at_top(b: &[u8]) -> bool {
    let b = &b[..b.len().min(PROBE)];
    let mut depth = 0i64;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth < 0 {
                    return b[i] == b']' && b[i + 1..].iter().all(|&c| is_ws(c));
                }
            }
            _ => {}
        }
        i += 1;
    }
    true
}
