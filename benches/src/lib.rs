//! Shared inputs of the criterion benches (`benches/`): a fixed, generated corpus.
//!
//! Run `cargo bench -p benches --bench flatten` (hot path against its baselines) and
//! `cargo bench -p benches --bench parquet_write` (Parquet encoding). Results and the machine
//! they were measured on are in `BENCHMARKS.md`.
#![forbid(unsafe_code)]

use examples::generator::Generator;

/// `n` generated events (seed 7), one JSON document each, as the Kafka values would be.
pub fn corpus(n: usize) -> Vec<Vec<u8>> {
    Generator::new(7, n).map(String::into_bytes).collect()
}

/// The same events as one NDJSON buffer.
pub fn ndjson(events: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(events.iter().map(|e| e.len() + 1).sum());
    for e in events {
        out.extend_from_slice(e);
        out.push(b'\n');
    }
    out
}
