//! The validation pass over a whole input, on several threads.
//!
//! The input is cut into segments at likely element starts: in NDJSON the first value after
//! a newline (exact: an element is a line), in a JSON array an object that follows `}` `,`
//! (a guess: the bytes could be inside a string). Each segment is scanned on its own thread
//! from its start as if an element began there, and stops before the first element that
//! starts at or after the next segment's start. A segment's results count only if the
//! segments before it, in file order, stopped exactly at its start: then its scan is the
//! one a single pass would have made. A guess that was wrong (a later segment's start is
//! inside an element) makes the segment before read on to the next start, so the result —
//! elements, invalid elements, index, the first error with its element index and position —
//! is always that of one sequential pass (the tests compare them).
//!
//! Compressed input cannot be read from the middle: it is validated by one thread.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::error::{Error, Result};
use super::input::{InputCompression, InputFile};
use super::source::WINDOW;
use super::{ElementIndex, InputFormat, JsonElements, Position};

mod plan;
#[cfg(test)]
mod tests;

/// Settings of a validation pass ([`validate_file`], [`validate_bytes`]).
#[derive(Debug, Clone)]
pub struct ValidationOptions {
    /// Top-level field whose value is located in each element (recorded in the index).
    /// Default `None`.
    pub key_field: Option<String>,
    /// Threads (segments) at most. Default: the number of cores.
    pub threads: usize,
    /// Smallest segment, in bytes: an input shorter than twice this is read by one thread.
    /// Default 4 MiB.
    pub min_segment_bytes: u64,
    /// Read window of each thread, in bytes. Default 1 MiB.
    pub window: usize,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        ValidationOptions {
            key_field: None,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            min_segment_bytes: 4 << 20,
            window: WINDOW,
        }
    }
}

/// What a validation pass found.
#[derive(Debug, Clone, Default)]
pub struct Validated {
    /// Elements read, invalid ones included.
    pub elements: u64,
    /// Elements that are not valid JSON (kept: they are messages like the others).
    pub invalid: u64,
    /// The index for the send pass ([`JsonElements::with_index`]); `None` if it outgrew
    /// its limit before the first element.
    pub index: Option<ElementIndex>,
    /// Threads whose segments were used.
    pub segments: usize,
}

/// Validates the file `input`; `progress(elements, bytes)` is called now and then from the
/// calling thread with totals over all threads (bytes of the decompressed text).
///
/// # Errors
/// The first structural error in file order ([`Error::Structure`], with its element index
/// and position, exactly as a single pass reports it); [`Error::Read`] or [`Error::Open`]
/// if the file cannot be read.
pub fn validate_file(
    input: &InputFile,
    options: &ValidationOptions,
    progress: impl FnMut(u64, u64),
) -> Result<Validated> {
    let path = input.path();
    if input.compression() != InputCompression::None {
        let open = |_offset: u64| input.reader().map_err(std::io::Error::other);
        let one = ValidationOptions {
            threads: 1,
            ..options.clone()
        };
        return validate(u64::MAX, input.format(), &one, Some(path), &open, progress);
    }
    let open = |offset: u64| -> std::io::Result<File> {
        let mut f = File::open(path)?;
        if offset > 0 {
            // (Only segments after the first seek: a single segment reads any file.)
            f.seek(SeekFrom::Start(offset))?;
        }
        Ok(f)
    };
    let len = std::fs::metadata(path)
        .map_err(|error| Error::Open {
            path: path.to_owned(),
            error,
        })?
        .len();
    validate(len, input.format(), options, Some(path), &open, progress)
}

/// [`validate_file`] over bytes in memory (not compressed).
///
/// # Errors
/// As [`validate_file`].
pub fn validate_bytes(
    input: &[u8],
    format: InputFormat,
    options: &ValidationOptions,
) -> Result<Validated> {
    let open = |offset: u64| -> std::io::Result<&[u8]> {
        Ok(&input[usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(input.len())..])
    };
    validate(input.len() as u64, format, options, None, &open, |_, _| {})
}

/// How a segment's scan ended.
enum End {
    /// Stopped before the element at the start of segment `usize`.
    Continue(usize),
    /// Read to the end of the input.
    Eof,
    /// An error that ends the pass (from the segment's reader or the input's structure).
    Failed(Error),
    /// Given up (the pass is decided without it).
    Cancelled,
}

struct Segment {
    /// Elements read, invalid ones included.
    elements: u64,
    invalid: u64,
    index: Option<ElementIndex>,
    end: End,
}

/// What every segment's thread shares.
struct Pass<'a, R> {
    starts: Vec<u64>,
    format: InputFormat,
    options: &'a ValidationOptions,
    path: Option<&'a Path>,
    open: &'a (dyn Fn(u64) -> std::io::Result<R> + Sync),
    cancel: AtomicBool,
    done_elements: AtomicU64,
    done_bytes: AtomicU64,
}

/// Report progress every this many elements.
const PROGRESS_EVERY: u64 = 4096;

fn validate<R: Read>(
    len: u64,
    format: InputFormat,
    options: &ValidationOptions,
    path: Option<&Path>,
    open: &(dyn Fn(u64) -> std::io::Result<R> + Sync),
    mut progress: impl FnMut(u64, u64),
) -> Result<Validated> {
    let threads = options
        .threads
        .max(1)
        .min(usize::try_from(len / options.min_segment_bytes.max(1)).unwrap_or(usize::MAX))
        .max(1);
    let starts = plan::starts(len, format, threads, open).map_err(|e| open_error(path, e))?;
    let pass = Pass {
        starts,
        format,
        options,
        path,
        open,
        cancel: AtomicBool::new(false),
        done_elements: AtomicU64::new(0),
        done_bytes: AtomicU64::new(0),
    };
    let segments = pass.run(&mut progress);
    progress(
        pass.done_elements.load(Ordering::Relaxed),
        pass.done_bytes.load(Ordering::Relaxed),
    );
    pass.chain(segments)
}

fn open_error(path: Option<&Path>, error: std::io::Error) -> Error {
    match path {
        Some(p) => Error::Open {
            path: p.to_owned(),
            error,
        },
        None => Error::read(None, Position::START, error),
    }
}

impl<R: Read> Pass<'_, R> {
    /// Scans every segment, the first on the calling thread (which reports progress).
    fn run(&self, progress: &mut impl FnMut(u64, u64)) -> Vec<Segment> {
        std::thread::scope(|s| {
            let handles: Vec<_> = (1..self.starts.len())
                .map(|k| s.spawn(move || self.scan_segment(k, &mut || {})))
                .collect();
            let mut report = || {
                progress(
                    self.done_elements.load(Ordering::Relaxed),
                    self.done_bytes.load(Ordering::Relaxed),
                );
            };
            let first = self.scan_segment(0, &mut report);
            if !matches!(first.end, End::Continue(_)) {
                // The first segment decided the pass alone (the rest was inside one element,
                // or it failed): the others are not needed.
                self.cancel.store(true, Ordering::Relaxed);
            }
            let mut all = vec![first];
            for h in handles {
                all.push(h.join().unwrap_or_else(|_| Segment {
                    elements: 0,
                    invalid: 0,
                    index: None,
                    end: End::Failed(self.internal("a validation thread panicked")),
                }));
            }
            all
        })
    }

    /// Follows the chain of segments from the first: the result of one sequential pass.
    fn chain(&self, segments: Vec<Segment>) -> Result<Validated> {
        let mut out = Validated::default();
        let mut index_open = true;
        let mut segments: Vec<Option<Segment>> = segments.into_iter().map(Some).collect();
        let mut k = 0;
        loop {
            let Some(seg) = segments.get_mut(k).and_then(Option::take) else {
                return Err(self.internal("validation segments out of order"));
            };
            let before = out.elements;
            out.elements += seg.elements;
            out.invalid += seg.invalid;
            out.segments += 1;
            if index_open {
                match (&mut out.index, seg.index) {
                    (None, Some(ix)) if k == 0 => out.index = Some(ix),
                    (Some(all), Some(ix)) => index_open = all.append(ix),
                    _ => index_open = false,
                }
            }
            match seg.end {
                End::Continue(next) => k = next,
                End::Eof => return Ok(out),
                End::Failed(e) if k == 0 => return Err(e),
                End::Failed(e) => return Err(self.placed(e, before)),
                End::Cancelled => {
                    return Err(
                        self.internal("a validation segment was cancelled although it was needed")
                    );
                }
            }
        }
    }

    /// A later segment's error in the whole input: its element index counts the elements
    /// before the segment, its line and column are found by counting lines from the start.
    fn placed(&self, e: Error, elements_before: u64) -> Error {
        let Some(at) = e.position() else { return e };
        match (self.open)(0).and_then(|r| Position::locate(r, at.byte)) {
            Ok(pos) => e.placed(elements_before, pos),
            Err(error) => open_error(self.path, error),
        }
    }

    fn internal(&self, what: &str) -> Error {
        open_error(self.path, std::io::Error::other(what.to_owned()))
    }

    /// Scans segment `k` (from `starts[k]`) until it reaches the start of a later segment
    /// exactly, the end of the input or an error.
    fn scan_segment(&self, k: usize, report: &mut dyn FnMut()) -> Segment {
        let mut seg = Segment {
            elements: 0,
            invalid: 0,
            index: None,
            end: End::Eof,
        };
        let reader = match (self.open)(self.starts[k]) {
            Ok(r) => r,
            Err(e) => {
                seg.end = End::Failed(open_error(self.path, e));
                return seg;
            }
        };
        let mut el = JsonElements::new(reader, self.format)
            .with_window(self.options.window)
            .with_key_field(self.options.key_field.as_deref())
            .with_index_recording();
        if let Some(p) = self.path {
            el = el.with_path(p);
        }
        if k > 0 {
            el = el.resume_at(self.starts[k]);
        }
        let mut counted = (0, self.starts[k]);
        seg.end = self.scan(k, &mut el, &mut seg.invalid, &mut counted, report);
        let (n, pos) = (el.elements_seen(), el.position());
        seg.elements = n;
        seg.index = el.take_index();
        self.count(n - counted.0, pos.saturating_sub(counted.1));
        seg
    }

    /// The loop of [`Pass::scan_segment`]; progress is counted every `PROGRESS_EVERY`
    /// elements (`counted`: elements and position counted so far).
    fn scan(
        &self,
        k: usize,
        el: &mut JsonElements<R>,
        invalid: &mut u64,
        counted: &mut (u64, u64),
        report: &mut dyn FnMut(),
    ) -> End {
        let mut next = k + 1;
        el.set_stop_at(self.starts.get(next).copied());
        loop {
            match el.next_element() {
                Ok(Some(e)) => *invalid += u64::from(e.invalid.is_some()),
                Ok(None) => match el.stopped_at() {
                    Some(at) => {
                        while self.starts.get(next).is_some_and(|&s| s < at) {
                            next += 1;
                        }
                        if self.starts.get(next) == Some(&at) {
                            return End::Continue(next);
                        }
                        el.set_stop_at(self.starts.get(next).copied());
                        continue;
                    }
                    None => return End::Eof,
                },
                Err(e) => return End::Failed(e),
            }
            let n = el.elements_seen();
            if n - counted.0 >= PROGRESS_EVERY {
                if self.cancel.load(Ordering::Relaxed) {
                    return End::Cancelled;
                }
                let pos = el.position();
                self.count(n - counted.0, pos - counted.1);
                *counted = (n, pos);
                report();
            }
        }
    }

    fn count(&self, elements: u64, bytes: u64) {
        self.done_elements.fetch_add(elements, Ordering::Relaxed);
        self.done_bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}
