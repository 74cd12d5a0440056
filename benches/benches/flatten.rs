//! The hot path (JSON → all typed Arrow tables) against its baselines, on the same input:
//!
//! * `flatten`: `assessment-flatten`, all five tables built, conversions included;
//! * `flatten_typed`: the same without `raw` (the typed tables only, no copy of the input);
//! * `flatten_reparsed`: `flatten` on the same events with one more, unknown, field holding
//!   `18446744073709551616`, which simd-json's tape cannot hold: every event takes the cold
//!   path that parses it a second time (the cost of such producers, not of the hot path);
//! * `simd_json_dom`: simd-json parsing each message into its borrowed-value DOM, dropped
//!   (a parser-speed reference: no Arrow at all);
//! * `serde_json_typed`: serde_json into the typed borrowed structs of `assessment-schema`;
//! * `arrow_json_nested`: arrow-json decoding the NDJSON into one nested `RecordBatch` with an
//!   explicit schema mirroring the source (strings stay strings: less work than `flatten`).
//!
//! Throughput is bytes of JSON per second; ratios are in `BENCHMARKS.md`.

use arrow_schema::{DataType, Field, Fields, Schema};
use assessment_flatten::{FlattenConfig, Flattener, Message};
use assessment_schema::event::AssessmentEvent;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;

const EVENTS: usize = 10_000;

/// The source's shape as arrow-json would need it: timestamps/bools/floats as strings.
fn source_schema() -> Schema {
    let s = |n: &str| Field::new(n, DataType::Utf8, true);
    let b = |n: &str| Field::new(n, DataType::Boolean, true);
    let i = |n: &str| Field::new(n, DataType::Int64, true);
    let option = Fields::from(vec![
        s("id"),
        b("checked"),
        b("correct"),
        i("submitted"),
        s("at"),
    ]);
    let question = Fields::from(vec![
        s("id"),
        s("user_result"),
        b("user_correct"),
        b("user_incomplete"),
        b("user_submitted"),
        Field::new(
            "options",
            DataType::List(Arc::new(Field::new_list_field(
                DataType::Struct(option),
                true,
            ))),
            true,
        ),
    ]);
    let counts = Fields::from(vec![
        i("incomplete"),
        i("submitted"),
        i("incorrect"),
        b("all_correct"),
        i("correct"),
        i("total"),
        i("unanswered"),
    ]);
    let sequences = Fields::from(vec![
        s("id"),
        i("attempt"),
        Field::new("counts", DataType::Struct(counts), true),
        Field::new(
            "questions",
            DataType::List(Arc::new(Field::new_list_field(
                DataType::Struct(question),
                true,
            ))),
            true,
        ),
    ]);
    Schema::new(vec![
        s("keen_id"),
        s("keen_timestamp"),
        s("keen_created_at"),
        s("started_at"),
        s("base_exam_id"),
        s("user_exam_id"),
        s("exam_name"),
        s("certification"),
        s("max_attempts"),
        Field::new("sequences", DataType::Struct(sequences), true),
    ])
}

fn bench(c: &mut Criterion) {
    let events = benches::corpus(EVENTS);
    let ndjson = benches::ndjson(&events);
    let wide: Vec<Vec<u8>> = events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            let end = e.iter().rposition(|b| *b == b'}').expect("an object");
            e.splice(end..end, *br#","x_big":18446744073709551616"#);
            e
        })
        .collect();
    let bytes: usize = events.iter().map(Vec::len).sum();

    let mut g = c.benchmark_group("json_to_arrow");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(20);

    // All five tables, then the typed tables only (`assessments`, `questions`, `options`,
    // `rejects`): what `land --tables assessments,questions,options` runs, no copy into `raw`;
    // then all five tables of events that all take the cold path of big numbers.
    let typed_only = FlattenConfig {
        build_raw: false,
        ..FlattenConfig::default()
    };
    for (name, config, events) in [
        ("flatten", FlattenConfig::default(), &events),
        ("flatten_typed", typed_only, &events),
        ("flatten_reparsed", FlattenConfig::default(), &wide),
    ] {
        let mut flattener = Flattener::new(config);
        g.bench_function(name, |b| {
            b.iter(|| {
                for (i, e) in events.iter().enumerate() {
                    flattener
                        .push(&Message::new("assessments", 0, i as i64, e))
                        .expect("fits");
                }
                let out = flattener.flush().expect("flush");
                assert_eq!(out.stats.accepted, EVENTS);
                black_box(out)
            });
        });
    }

    let mut buffers = simd_json::Buffers::new(4096);
    let mut scratch = Vec::with_capacity(8192);
    g.bench_function("simd_json_dom", |b| {
        b.iter(|| {
            for e in &events {
                scratch.clear();
                scratch.extend_from_slice(e);
                let v = simd_json::to_borrowed_value_with_buffers(&mut scratch, &mut buffers)
                    .expect("valid");
                black_box(&v);
            }
        });
    });

    g.bench_function("serde_json_typed", |b| {
        b.iter(|| {
            for e in &events {
                let v: AssessmentEvent<'_> = serde_json::from_slice(e).expect("valid");
                black_box(&v);
            }
        });
    });

    let schema = Arc::new(source_schema());
    g.bench_function("arrow_json_nested", |b| {
        b.iter(|| {
            let mut decoder = arrow_json::ReaderBuilder::new(Arc::clone(&schema))
                .with_batch_size(EVENTS)
                .build_decoder()
                .expect("decoder");
            let mut rest = &ndjson[..];
            while !rest.is_empty() {
                let n = decoder.decode(rest).expect("decode");
                rest = &rest[n..];
            }
            let batch = decoder.flush().expect("flush").expect("rows");
            assert_eq!(batch.num_rows(), EVENTS);
            black_box(batch)
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
