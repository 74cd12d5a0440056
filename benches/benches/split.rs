//! The publisher's validation pass: `kafka-io`'s splitter cutting, validating and
//! indexing a file's elements, against parser references on the same bytes:
//!
//! * `validate_ndjson` / `validate_array`: [`JsonElements`] with index recording and the
//!   key field, over the corpus as NDJSON and as a compact JSON array (what `publish` does
//!   before sending anything), one thread;
//! * `validate_ndjson_parallel` / `validate_array_parallel`: [`validate_bytes`] over the
//!   same inputs with two threads (what `publish` does on this 2-core machine);
//! * `replay_ndjson`: the send pass's cut with the recorded index (no scan);
//! * `simd_json_tape`: simd-json's tape of each line (full validation, the fastest parser
//!   in the workspace), `serde_json_ignored`: serde_json validating each line into
//!   `IgnoredAny`, `utf8`: `std::str::from_utf8` over the file (memory speed).
//!
//! Throughput is bytes of input per second; ratios are in `BENCHMARKS.md`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kafka_io::json::{InputFormat, JsonElements, ValidationOptions, validate_bytes};
use std::hint::black_box;

const EVENTS: usize = 10_000;

fn count(mut elements: JsonElements<&[u8]>) -> usize {
    let mut n = 0;
    while let Some(e) = elements.next_element().expect("valid") {
        black_box(e.bytes);
        n += 1;
    }
    n
}

fn bench(c: &mut Criterion) {
    let events = benches::corpus(EVENTS);
    let ndjson = benches::ndjson(&events);
    let mut array = Vec::with_capacity(ndjson.len() + 2);
    array.push(b'[');
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            array.push(b',');
        }
        array.extend_from_slice(e);
    }
    array.push(b']');
    let key = Some("user_exam_id");

    let mut g = c.benchmark_group("split");
    g.throughput(Throughput::Bytes(ndjson.len() as u64));
    g.sample_size(20);

    // One thread, what `JsonElements` does with index recording.
    let validate = |input: &[u8], format| {
        let mut el = JsonElements::new(input, format)
            .with_key_field(key)
            .with_index_recording();
        let mut n = 0;
        while el.next_element().expect("valid").is_some() {
            n += 1;
        }
        assert_eq!(n, EVENTS);
        el.take_index()
    };
    g.bench_function("validate_ndjson", |b| {
        b.iter(|| black_box(validate(&ndjson, InputFormat::Ndjson)));
    });
    g.bench_function("validate_array", |b| {
        b.iter(|| black_box(validate(&array, InputFormat::JsonArray)));
    });

    let options = ValidationOptions {
        key_field: key.map(str::to_owned),
        threads: 2,
        min_segment_bytes: 1 << 20,
        ..ValidationOptions::default()
    };
    let parallel = |input: &[u8], format| {
        let v = validate_bytes(input, format, &options).expect("valid");
        assert_eq!((v.elements, v.segments), (EVENTS as u64, 2));
        v.index
    };
    g.bench_function("validate_ndjson_parallel", |b| {
        b.iter(|| black_box(parallel(&ndjson, InputFormat::Ndjson)));
    });
    g.bench_function("validate_array_parallel", |b| {
        b.iter(|| black_box(parallel(&array, InputFormat::JsonArray)));
    });

    let index = validate(&ndjson, InputFormat::Ndjson).expect("index");
    g.bench_function("replay_ndjson", |b| {
        b.iter(|| {
            let el = JsonElements::new(&ndjson[..], InputFormat::Ndjson)
                .with_key_field(key)
                .with_index(index.clone());
            assert_eq!(count(el), EVENTS);
        });
    });

    let mut buffers = simd_json::Buffers::new(4096);
    let mut scratch = Vec::with_capacity(8192);
    g.bench_function("simd_json_tape", |b| {
        b.iter(|| {
            for e in &events {
                scratch.clear();
                scratch.extend_from_slice(e);
                let t = simd_json::to_tape_with_buffers(&mut scratch, &mut buffers).expect("valid");
                black_box(&t);
            }
        });
    });

    g.bench_function("serde_json_ignored", |b| {
        b.iter(|| {
            for e in &events {
                let v: serde::de::IgnoredAny = serde_json::from_slice(e).expect("valid");
                black_box(v);
            }
        });
    });

    g.bench_function("utf8", |b| {
        b.iter(|| black_box(std::str::from_utf8(&ndjson).is_ok()));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
