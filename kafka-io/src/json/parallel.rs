//! The validation pass over a whole input, on several threads.
//!
//! The input is cut into segments at likely element starts: in NDJSON the first value after
//! a newline (exact: a value cannot span lines), in a JSON array an object that follows
//! `}` `,` (a guess: the bytes could be inside a string). Each segment is scanned on its own
//! thread from its start as if an element began there, and stops before the first element
//! that starts at or after the next segment's start. A segment's results count only if the
//! segments before it, in file order, stopped exactly at its start: then its scan is the
//! one a single pass would have made. A guess that was wrong (a later segment's start is
//! inside an element) makes the segment before read on to the next start, so the result
//! — elements, index, first error with its element index and byte offset — is always that
//! of one sequential pass (the tests compare them).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::{ElementIndex, InputFormat, JsonElements, is_ws};
use crate::error::{Error, Result};

/// Settings of a validation pass ([`validate_file`], [`validate_bytes`]).
#[derive(Debug, Clone)]
pub struct ValidationOptions {
    /// Top-level field whose value is located in each element (recorded in the index).
    /// Default `None`.
    pub key_field: Option<String>,
    /// Skip malformed elements whose extent is known, counting them, instead of stopping at
    /// the first. Default `false`.
    pub skip_malformed: bool,
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
            skip_malformed: false,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            min_segment_bytes: 4 << 20,
            window: super::WINDOW,
        }
    }
}

/// What a validation pass found.
#[derive(Debug, Clone, Default)]
pub struct Validated {
    /// Elements read, malformed ones included.
    pub elements: u64,
    /// Malformed elements skipped (only with [`ValidationOptions::skip_malformed`]).
    pub malformed: u64,
    /// The index for the send pass ([`JsonElements::with_index`]); `None` if it outgrew
    /// its limit before the first element.
    pub index: Option<ElementIndex>,
    /// Threads whose segments were used.
    pub segments: usize,
}

/// Validates the file at `path` in `format`; `progress(elements, bytes)` is called now and
/// then from the calling thread with totals over all threads.
///
/// # Errors
/// The first malformed element in file order ([`Error::Malformed`], with its element
/// index and byte offset, exactly as a single pass reports it) unless it can be skipped;
/// [`Error::Io`] if the file cannot be read.
pub fn validate_file(
    path: &Path,
    format: InputFormat,
    options: &ValidationOptions,
    progress: impl FnMut(u64, u64),
) -> Result<Validated> {
    let io = |error| Error::Io {
        path: path.to_owned(),
        error,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    let open = |offset: u64| -> std::io::Result<File> {
        let mut f = File::open(path)?;
        if offset > 0 {
            // (Only segments after the first seek: a single segment reads any file.)
            f.seek(SeekFrom::Start(offset))?;
        }
        Ok(f)
    };
    validate(len, format, options, &open, progress).map_err(|e| match e {
        Failure::Io(error) => io(error),
        Failure::Json(e) => e,
    })
}

/// [`validate_file`] over bytes in memory.
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
    validate(input.len() as u64, format, options, &open, |_, _| {}).map_err(|e| match e {
        Failure::Io(error) => Error::Io {
            path: "<memory>".into(),
            error,
        },
        Failure::Json(e) => e,
    })
}

enum Failure {
    Io(std::io::Error),
    Json(Error),
}

/// How a segment's scan ended.
enum End {
    /// Stopped before the element at the start of segment `usize`.
    Continue(usize),
    /// Read to the end of the input.
    Eof,
    /// An error that ends the pass (from the segment's reader or the JSON).
    Failed(Failure),
    /// Given up (the pass is decided without it).
    Cancelled,
}

struct Segment {
    /// Elements read, malformed ones included.
    elements: u64,
    malformed: u64,
    index: Option<ElementIndex>,
    end: End,
}

/// Report progress every this many elements.
const PROGRESS_EVERY: u64 = 4096;

fn validate<R: Read>(
    len: u64,
    format: InputFormat,
    options: &ValidationOptions,
    open: &(dyn Fn(u64) -> std::io::Result<R> + Sync),
    mut progress: impl FnMut(u64, u64),
) -> std::result::Result<Validated, Failure> {
    let threads = options
        .threads
        .max(1)
        .min(usize::try_from(len / options.min_segment_bytes.max(1)).unwrap_or(usize::MAX))
        .max(1);
    let starts = plan(len, format, threads, open).map_err(Failure::Io)?;
    let cancel = AtomicBool::new(false);
    let done_elements = AtomicU64::new(0);
    let done_bytes = AtomicU64::new(0);
    let counters = (&done_elements, &done_bytes);
    let run = |k: usize, report: &mut dyn FnMut()| -> Segment {
        scan_segment(k, &starts, format, options, open, &cancel, counters, report)
    };
    let segments: Vec<Segment> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..starts.len())
            .map(|k| s.spawn(move || run(k, &mut || {})))
            .collect();
        let mut report = || {
            progress(
                done_elements.load(Ordering::Relaxed),
                done_bytes.load(Ordering::Relaxed),
            );
        };
        let first = run(0, &mut report);
        if !matches!(first.end, End::Continue(_)) {
            // The first segment decided the pass alone (the rest was inside one element,
            // or it failed): the others are not needed.
            cancel.store(true, Ordering::Relaxed);
        }
        let mut all = vec![first];
        for h in handles {
            all.push(h.join().unwrap_or_else(|_| Segment {
                elements: 0,
                malformed: 0,
                index: None,
                end: End::Failed(Failure::Io(std::io::Error::other(
                    "a validation thread panicked",
                ))),
            }));
        }
        all
    });
    progress(
        done_elements.load(Ordering::Relaxed),
        done_bytes.load(Ordering::Relaxed),
    );
    // Follow the chain from the first segment.
    let mut out = Validated::default();
    let mut index_open = true;
    let mut segments: Vec<Option<Segment>> = segments.into_iter().map(Some).collect();
    let mut k = 0;
    loop {
        let Some(seg) = segments.get_mut(k).and_then(Option::take) else {
            return Err(Failure::Io(std::io::Error::other(
                "validation segments out of order",
            )));
        };
        let before = out.elements;
        out.elements += seg.elements;
        out.malformed += seg.malformed;
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
            End::Failed(Failure::Json(Error::Malformed {
                element_index,
                byte_offset,
                reason,
            })) => {
                return Err(Failure::Json(Error::Malformed {
                    element_index: element_index + before,
                    byte_offset,
                    reason,
                }));
            }
            End::Failed(e) => return Err(e),
            End::Cancelled => {
                return Err(Failure::Io(std::io::Error::other(
                    "a validation segment was cancelled although it was needed",
                )));
            }
        }
    }
}

/// Scans segment `k` (from `starts[k]`) until it reaches the start of a later segment
/// exactly, the end of the input or an error.
#[allow(clippy::too_many_arguments)]
fn scan_segment<R: Read>(
    k: usize,
    starts: &[u64],
    format: InputFormat,
    options: &ValidationOptions,
    open: &(dyn Fn(u64) -> std::io::Result<R> + Sync),
    cancel: &AtomicBool,
    (done_elements, done_bytes): (&AtomicU64, &AtomicU64),
    report: &mut dyn FnMut(),
) -> Segment {
    let mut seg = Segment {
        elements: 0,
        malformed: 0,
        index: None,
        end: End::Eof,
    };
    let reader = match open(starts[k]) {
        Ok(r) => r,
        Err(e) => {
            seg.end = End::Failed(Failure::Io(e));
            return seg;
        }
    };
    let mut el = JsonElements::new(reader, format)
        .with_window(options.window)
        .with_key_field(options.key_field.as_deref())
        .with_index_recording();
    if k > 0 {
        el = el.resume_at(starts[k]);
    }
    let mut next = k + 1;
    el.set_stop_at(starts.get(next).copied());
    // Positions are absolute (`resume_at`).
    let (mut counted, mut counted_bytes) = (0u64, starts[k]);
    loop {
        let r = el.next_element().map(|e| e.is_some());
        match r {
            Ok(true) => {}
            Ok(false) => match el.stopped_at() {
                Some(at) => {
                    while starts.get(next).is_some_and(|&s| s < at) {
                        next += 1;
                    }
                    if starts.get(next) == Some(&at) {
                        seg.end = End::Continue(next);
                        break;
                    }
                    el.set_stop_at(starts.get(next).copied());
                    continue;
                }
                None => break,
            },
            Err(e) => {
                if !(options.skip_malformed && el.can_continue()) {
                    seg.end = End::Failed(Failure::Json(e));
                    break;
                }
                seg.malformed += 1;
            }
        }
        let n = el.elements_seen();
        if n - counted >= PROGRESS_EVERY {
            if cancel.load(Ordering::Relaxed) {
                seg.end = End::Cancelled;
                break;
            }
            let pos = el.position();
            done_elements.fetch_add(n - counted, Ordering::Relaxed);
            done_bytes.fetch_add(pos - counted_bytes, Ordering::Relaxed);
            (counted, counted_bytes) = (n, pos);
            report();
        }
    }
    let n = el.elements_seen();
    let pos = el.position();
    done_elements.fetch_add(n - counted, Ordering::Relaxed);
    done_bytes.fetch_add(pos.saturating_sub(counted_bytes), Ordering::Relaxed);
    seg.elements = n;
    seg.index = el.take_index();
    seg
}

/// Segment starts: 0, then for each later cut the offset where an element probably
/// starts (strictly increasing; cuts without one are dropped).
fn plan<R: Read>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One thread, the plain splitter: the reference.
    fn sequential(input: &[u8], format: InputFormat, skip: bool) -> Result<Validated> {
        let mut el = JsonElements::new(input, format)
            .with_key_field(Some("k"))
            .with_index_recording();
        let mut malformed = 0;
        loop {
            let r = el.next_element().map(|e| e.is_some());
            match r {
                Ok(true) => {}
                Ok(false) => break,
                Err(_) if skip && el.can_continue() => malformed += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(Validated {
            elements: el.elements_seen(),
            malformed,
            index: el.take_index(),
            segments: 1,
        })
    }

    fn parallel(
        input: &[u8],
        format: InputFormat,
        skip: bool,
        threads: usize,
    ) -> Result<Validated> {
        let options = ValidationOptions {
            key_field: Some("k".into()),
            skip_malformed: skip,
            threads,
            min_segment_bytes: 1,
            window: 7,
        };
        validate_bytes(input, format, &options)
    }

    fn same(input: &[u8], format: InputFormat, skip: bool, threads: usize) {
        let a = sequential(input, format, skip);
        let b = parallel(input, format, skip, threads);
        let show = String::from_utf8_lossy(input);
        match (a, b) {
            (Ok(a), Ok(b)) => {
                assert_eq!(
                    (a.elements, a.malformed, &a.index),
                    (b.elements, b.malformed, &b.index),
                    "{threads} threads: {show}"
                );
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{threads}: {show}"),
            (a, b) => panic!("{threads} threads: {show}\nsequential {a:?}\nparallel {b:?}"),
        }
    }

    #[test]
    fn segments_of_valid_inputs_chain_up() {
        let events: Vec<String> = (0..50)
            .map(|i| format!(r#"{{"k":"u{i}","a":[{{"x":{i}}},{{"y":"}},{{"}},{{}}],"s":"z"}}"#))
            .collect();
        let ndjson = events.join("\n") + "\n";
        let array = format!("[{}]", events.join(","));
        let pretty = format!("[\n  {}\n]\n", events.join(" ,\n  "));
        for threads in [2, 3, 8] {
            same(ndjson.as_bytes(), InputFormat::Ndjson, false, threads);
            same(array.as_bytes(), InputFormat::JsonArray, false, threads);
            same(pretty.as_bytes(), InputFormat::JsonArray, false, threads);
        }
        // Nested `},{` (not inside strings): the probe tells them from top-level ones.
        let events: Vec<String> = (0..50)
            .map(|i| format!(r#"{{"k":"u{i}","a":[{{"x":{i}}},{{"y":[{{}},{{}}]}}],"s":"z"}}"#))
            .collect();
        let ndjson = events.join("\n") + "\n";
        let array = format!("[{}]", events.join(","));
        let pretty = format!("[\n  {}\n]\n", events.join(" ,\n  "));
        for threads in [2, 3, 8] {
            for (input, format) in [
                (&ndjson, InputFormat::Ndjson),
                (&array, InputFormat::JsonArray),
                (&pretty, InputFormat::JsonArray),
            ] {
                same(input.as_bytes(), format, false, threads);
                let v = parallel(input.as_bytes(), format, false, threads).unwrap();
                assert_eq!(v.elements, 50);
                assert!(
                    v.segments > 1,
                    "{threads} threads used one segment: {input}"
                );
            }
        }
    }

    #[test]
    fn first_error_in_file_order_with_its_element_index() {
        let mut lines: Vec<String> = (0..40).map(|i| format!(r#"{{"k":"{i}"}}"#)).collect();
        lines[13] = r#"{"k":tru}"#.into();
        lines[31] = r#"{"k":"x""#.into();
        let ndjson = lines.join("\n");
        for threads in [2, 4] {
            same(ndjson.as_bytes(), InputFormat::Ndjson, false, threads);
            same(ndjson.as_bytes(), InputFormat::Ndjson, true, threads);
            match parallel(ndjson.as_bytes(), InputFormat::Ndjson, false, threads) {
                Err(Error::Malformed { element_index, .. }) => assert_eq!(element_index, 13),
                other => panic!("{other:?}"),
            }
        }
        let array = format!("[{}]", lines.join(","));
        for threads in [2, 4] {
            same(array.as_bytes(), InputFormat::JsonArray, false, threads);
            same(array.as_bytes(), InputFormat::JsonArray, true, threads);
        }
    }

    #[test]
    fn a_wrong_guess_inside_a_string_is_undone() {
        // The second half is one long string full of `},{`: every guessed start is inside it.
        let trap = r#"x},{\"k\":\"y\"},{"#.repeat(200);
        let input = format!(r#"[{{"k":"a"}},{{"k":"b","t":"{trap}"}},{{"k":"c"}}]"#);
        for threads in [2, 3, 16] {
            same(input.as_bytes(), InputFormat::JsonArray, false, threads);
            let v = parallel(input.as_bytes(), InputFormat::JsonArray, false, threads).unwrap();
            assert_eq!(v.elements, 3);
        }
    }

    #[test]
    fn files_are_cut_like_bytes() {
        let lines: Vec<String> = (0..300)
            .map(|i| format!(r#"{{"k":"u{i}","q":[{{"o":[{{"x":1}},{{"y":2}}]}},{{}}],"n":{i}}}"#))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let options = ValidationOptions {
            key_field: Some("k".into()),
            threads: 3,
            min_segment_bytes: 1,
            window: 64,
            ..ValidationOptions::default()
        };
        for (name, text, format) in [
            ("e.ndjson", lines.join("\n"), InputFormat::Ndjson),
            (
                "e.json",
                format!("[{}]", lines.join(",")),
                InputFormat::JsonArray,
            ),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, &text).unwrap();
            let mut calls = 0;
            let mut last = (0, 0);
            let v = validate_file(&path, format, &options, |e, b| {
                calls += 1;
                last = (e, b);
            })
            .unwrap();
            let reference = sequential(text.as_bytes(), format, false).unwrap();
            assert_eq!((v.elements, &v.index), (300, &reference.index), "{name}");
            assert_eq!(v.segments, 3, "{name}");
            assert!(calls >= 1);
            assert_eq!(last, (300, text.len() as u64), "{name}: final progress");
            // A bad element in the last third: found with its index and offset.
            let bad = text.replacen(r#""n":250"#, r#""n":25O"#, 1);
            std::fs::write(&path, &bad).unwrap();
            let e = validate_file(&path, format, &options, |_, _| {}).unwrap_err();
            let r = sequential(bad.as_bytes(), format, false).unwrap_err();
            assert_eq!(e.to_string(), r.to_string(), "{name}");
            assert!(
                matches!(
                    e,
                    Error::Malformed {
                        element_index: 250,
                        ..
                    }
                ),
                "{name}: {e}"
            );
        }
    }

    proptest! {
        #[test]
        fn parallel_equals_sequential(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just(r#"{"k":"a","v":[1,2]}"#.to_owned()),
                    Just(r#"{ "v" : {"k":"}, {"}, "k" : "b" }"#.to_owned()),
                    Just(r#"{"k":"c\"},{"}"#.to_owned()),
                    Just("{\"k\":1.5e3}".to_owned()),
                    Just("[1,{\"a\":{}}]".to_owned()),
                    Just("\"s\"".to_owned()),
                    Just("{\"k\":tru}".to_owned()),
                    Just("{\"k\":\"\u{1}\"}".to_owned()),
                    Just("{\"k\":\"x\"".to_owned()),
                    Just("}".to_owned()),
                    Just("".to_owned()),
                    "[ -~]{0,12}",
                ],
                0..30,
            ),
            seps in proptest::collection::vec(
                prop_oneof![Just(","), Just(" , "), Just(",\n"), Just("\n"), Just("\n\n ")],
                30,
            ),
            threads in 2usize..6,
            skip: bool,
        ) {
            let mut nd = String::new();
            let mut arr = String::from("[");
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    arr.push_str(seps[i]);
                }
                arr.push_str(p);
                nd.push_str(p);
                nd.push_str(if seps[i].ends_with(' ') { "\n\n " } else { "\n" });
            }
            arr.push(']');
            same(nd.as_bytes(), InputFormat::Ndjson, skip, threads);
            same(arr.as_bytes(), InputFormat::JsonArray, skip, threads);
        }

        /// Any bytes (JSON-ish alphabet, so that cuts are found): no panic, one-pass result.
        #[test]
        fn parallel_equals_sequential_on_any_bytes(
            bytes in proptest::collection::vec(
                prop_oneof![
                    Just(b'{'), Just(b'}'), Just(b'['), Just(b']'), Just(b','), Just(b':'),
                    Just(b'"'), Just(b'\\'), Just(b'\n'), Just(b' '), Just(b'1'), Just(b'k'),
                    any::<u8>(),
                ],
                0..300,
            ),
            threads in 2usize..5,
            skip: bool,
        ) {
            same(&bytes, InputFormat::Ndjson, skip, threads);
            let mut arr = b"[".to_vec();
            arr.extend_from_slice(&bytes);
            same(&arr, InputFormat::JsonArray, skip, threads);
        }
    }
}
