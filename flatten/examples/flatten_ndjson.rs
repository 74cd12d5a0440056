//! Flattens the lines of an NDJSON file, as one batch, a number of times: a driver for
//! instruction counts (`valgrind --tool=callgrind --toggle-collect='*run_*'`), which are
//! repeatable on a loaded machine where wall-clock benches are not.
//!
//! ```sh
//! flatten_ndjson EVENTS.ndjson [ITERATIONS] [flatten|typed|dom]
//! ```
//!
//! `flatten` builds all five tables, `typed` all but `raw`, `dom` is simd-json parsing each
//! line into its borrowed DOM (the baseline of `cargo bench -p benches --bench flatten`).

use assessment_flatten::{FlattenConfig, Flattener, Message};
use std::hint::black_box;

#[inline(never)]
fn run_flatten(f: &mut Flattener, events: &[&[u8]], iterations: usize) -> usize {
    let mut accepted = 0;
    for _ in 0..iterations {
        for (i, e) in events.iter().enumerate() {
            let offset = i64::try_from(i).unwrap_or(i64::MAX);
            f.push(&Message::new("assessments", 0, offset, e))
                .expect("fits");
        }
        let out = f.flush().expect("flush");
        accepted += out.stats.accepted;
        black_box(out);
    }
    accepted
}

#[inline(never)]
fn run_dom(events: &[&[u8]], iterations: usize) -> usize {
    let mut buffers = simd_json::Buffers::new(4096);
    let mut scratch = Vec::with_capacity(8192);
    let mut parsed = 0;
    for _ in 0..iterations {
        for e in events {
            scratch.clear();
            scratch.extend_from_slice(e);
            let v = simd_json::to_borrowed_value_with_buffers(&mut scratch, &mut buffers)
                .expect("valid");
            black_box(&v);
            parsed += 1;
        }
    }
    parsed
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: flatten_ndjson EVENTS.ndjson [ITERATIONS] [flatten|typed|dom]");
    let iterations: usize = args.next().map_or(1, |n| n.parse().expect("ITERATIONS"));
    let mode = args.next().unwrap_or_else(|| "flatten".to_owned());
    let data = std::fs::read(&path).expect("reading the events");
    let events: Vec<&[u8]> = data
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let bytes: usize = events.iter().map(|e| e.len()).sum();
    let start = std::time::Instant::now();
    let n = match mode.as_str() {
        "dom" => run_dom(&events, iterations),
        "flatten" | "typed" => {
            let config = FlattenConfig {
                build_raw: mode == "flatten",
                ..FlattenConfig::default()
            };
            run_flatten(&mut Flattener::new(config), &events, iterations)
        }
        other => panic!("unknown mode {other}"),
    };
    let secs = start.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let mib_s = (bytes * iterations) as f64 / secs / f64::from(1 << 20);
    println!(
        "{mode}: {} events x {iterations} ({n} ok) in {secs:.3} s, {mib_s:.0} MiB/s",
        events.len()
    );
}
