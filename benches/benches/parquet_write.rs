//! Parquet encode + write throughput of a realistic wide-ish batch (strings, ints, floats,
//! bools, UTC microsecond timestamps, a nested list-of-struct column) through `hdfs-sink`
//! (`begin_range` → `write` → `commit`: temp file, close, rename, marker) to local disk, zstd
//! vs snappy, against a plain `parquet::arrow::ArrowWriter` to a local file as the baseline,
//! in the same group. With `IT_HDFS_URL` set (e.g. hdfs://127.0.0.1:9000) the sink also
//! writes to that HDFS.
//!
//! Throughput is `Throughput::Bytes` of the Arrow in-memory size of the batches written; the
//! bench prints once the NDJSON size of the same rows so MB/s of JSON can be derived.
//!
//! Run: `cargo bench -p benches --bench parquet_write`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::builder::{
    BooleanBuilder, Int32Builder, ListBuilder, StringBuilder, StructBuilder,
};
use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hdfs_sink::{Compression, SinkConfig, Warehouse};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as PqCompression, ZstdLevel};
use parquet::file::properties::WriterProperties;

const ROWS: usize = 16_384;
const BATCHES: usize = 4;

fn ts(tz: &str) -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(tz.into()))
}

fn question_fields() -> Fields {
    Fields::from(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new("user_correct", DataType::Boolean, true),
        Field::new("user_incomplete", DataType::Boolean, true),
        Field::new("option_count", DataType::Int32, true),
    ])
}

fn schema(tz: &str) -> SchemaRef {
    let mut fields = vec![
        Field::new("_partition", DataType::Int32, false),
        Field::new("_offset", DataType::Int64, false),
        Field::new("keen_id", DataType::Utf8, false),
        Field::new("keen_timestamp", ts(tz), true),
        Field::new("keen_created_at", ts(tz), true),
        Field::new("started_at", ts(tz), true),
        Field::new("base_exam_id", DataType::Utf8, true),
        Field::new("user_exam_id", DataType::Utf8, true),
        Field::new("exam_name", DataType::Utf8, true),
        Field::new("certification", DataType::Boolean, true),
        Field::new("max_attempts", DataType::Float64, true),
        Field::new("attempt", DataType::Int64, true),
    ];
    for c in [
        "incomplete",
        "submitted",
        "incorrect",
        "all_correct",
        "correct",
        "total",
        "unanswered",
    ] {
        fields.push(Field::new(c, DataType::Int64, true));
    }
    fields.push(Field::new(
        "questions",
        DataType::List(Arc::new(Field::new(
            "item",
            DataType::Struct(question_fields()),
            true,
        ))),
        true,
    ));
    Arc::new(Schema::new(fields))
}

/// A batch; `tz` is the timestamps' zone ("UTC" for Parquet; "+00:00", the same instant, for
/// arrow-json, which needs chrono-tz for named zones).
fn batch(seed: usize, tz: &str) -> RecordBatch {
    let n = ROWS;
    let idx: Vec<usize> = (seed * n..seed * n + n).collect();
    let base = 1_516_717_442_735_266i64;
    let tsa = |k: i64| -> ArrayRef {
        Arc::new(
            TimestampMicrosecondArray::from(
                idx.iter()
                    .map(|i| base + *i as i64 * 1_013 + k)
                    .collect::<Vec<_>>(),
            )
            .with_timezone(tz),
        )
    };
    let exams = [
        "Learning Git",
        "Introduction to Java 8",
        "Beginning C# Programming",
        "Python Epiphanies",
        "Intermediate Python Programming",
    ];
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(vec![0; n])),
        Arc::new(Int64Array::from_iter_values(idx.iter().map(|i| *i as i64))),
        Arc::new(StringArray::from_iter_values(
            idx.iter().map(|i| format!("5a6745820eb8ab00016be1f{i:x}")),
        )),
        tsa(0),
        tsa(-5_000_000),
        tsa(-600_000_000),
        Arc::new(StringArray::from_iter_values(idx.iter().map(|i| {
            format!("37f0a30a-7464-11e6-aa92-a8667f27e5dc-{}", i % 103)
        }))),
        Arc::new(StringArray::from_iter_values(
            idx.iter()
                .map(|i| format!("6d4089e4-bde5-4a22-b65f-18bce9ab79c8-{i}")),
        )),
        Arc::new(StringArray::from_iter_values(
            idx.iter().map(|i| exams[i % exams.len()]),
        )),
        Arc::new(BooleanArray::from(
            idx.iter().map(|i| i % 9 == 0).collect::<Vec<_>>(),
        )),
        Arc::new(Float64Array::from(vec![1.0; n])),
        Arc::new(Int64Array::from_iter_values(
            idx.iter().map(|i| (*i % 3) as i64 + 1),
        )),
    ];
    for k in 0..7i64 {
        cols.push(Arc::new(Int64Array::from_iter_values(
            idx.iter().map(|i| ((*i as i64) * 7 + k) % 5),
        )));
    }
    let mut q = ListBuilder::new(StructBuilder::from_fields(question_fields(), 0));
    for i in &idx {
        for j in 0..(3 + i % 4) {
            let s = q.values();
            s.field_builder::<StringBuilder>(0)
                .expect("id")
                .append_value(format!("7a2ed6d3-f492-49b3-b8aa-d080a8aad98{}", j));
            s.field_builder::<BooleanBuilder>(1)
                .expect("c")
                .append_value((i + j) % 2 == 0);
            s.field_builder::<BooleanBuilder>(2)
                .expect("inc")
                .append_value((i + j) % 7 == 0);
            s.field_builder::<Int32Builder>(3)
                .expect("n")
                .append_value(4);
            s.append(true);
        }
        q.append(true);
    }
    cols.push(Arc::new(q.finish()));
    RecordBatch::try_new(schema(tz), cols).expect("batch")
}

fn props(c: PqCompression) -> WriterProperties {
    WriterProperties::builder().set_compression(c).build()
}

fn sink_config(c: Compression, fsync: bool) -> SinkConfig {
    SinkConfig::builder()
        .with_compression(c)
        .with_fsync(fsync)
        .build()
        .expect("config")
}

/// Land `batches` as one range per iteration; only write + commit is timed, cleanup is not.
fn sink_iter(
    rt: &tokio::runtime::Runtime,
    wh: &Warehouse,
    batches: &[RecordBatch],
    next: &mut i64,
    iters: u64,
) -> Duration {
    let tables = [("assessments", batches[0].schema())];
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = *next;
        let end = start + (batches.len() * ROWS) as i64 - 1;
        *next = end + 1;
        let t = Instant::now();
        let info = rt.block_on(async {
            let mut w = wh.begin_range("bench", 0, start, &tables).expect("begin");
            for b in batches {
                w.write("assessments", b).await.expect("write");
            }
            w.commit(end).await.expect("commit")
        });
        total += t.elapsed();
        assert_eq!(info.rows("assessments"), (end - start + 1) as u64);
        // Untimed: keep the local disk from filling up (markers are tiny and stay).
        if wh.url().starts_with('/') {
            let _ = std::fs::remove_dir_all(std::path::Path::new(wh.url()).join("assessments"));
        }
    }
    total
}

fn bench(c: &mut Criterion) {
    let batches: Vec<RecordBatch> = (0..BATCHES).map(|i| batch(i, "UTC")).collect();
    let arrow_bytes: usize = batches.iter().map(RecordBatch::get_array_memory_size).sum();
    let mut json = Vec::new();
    {
        let mut w = arrow_json::LineDelimitedWriter::new(&mut json);
        for i in 0..BATCHES {
            w.write(&batch(i, "+00:00")).expect("json");
        }
        w.finish().expect("json");
    }
    eprintln!(
        "parquet_write: {} rows, {BATCHES} batches, Arrow {:.1} MiB, same rows as NDJSON {:.1} MiB (JSON MB/s = Arrow MB/s x {:.3})",
        ROWS * BATCHES,
        arrow_bytes as f64 / 1048576.0,
        json.len() as f64 / 1048576.0,
        json.len() as f64 / arrow_bytes as f64
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tmp");

    let mut g = c.benchmark_group("parquet_write");
    g.throughput(Throughput::Bytes(arrow_bytes as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    g.warm_up_time(Duration::from_secs(1));

    for (name, codec) in [
        (
            "zstd",
            PqCompression::ZSTD(ZstdLevel::try_new(3).expect("level")),
        ),
        ("snappy", PqCompression::SNAPPY),
    ] {
        let path = dir.path().join(format!("baseline-{name}.parquet"));
        g.bench_function(format!("arrow_writer_baseline/{name}"), |b| {
            b.iter(|| {
                let f = std::fs::File::create(&path).expect("create");
                let mut w = ArrowWriter::try_new(f, batches[0].schema(), Some(props(codec)))
                    .expect("writer");
                for bt in &batches {
                    w.write(bt).expect("write");
                }
                w.close().expect("close");
            });
        });
    }

    for (name, codec, fsync) in [
        ("zstd", Compression::Zstd(3), true),
        ("snappy", Compression::Snappy, true),
        ("zstd_nofsync", Compression::Zstd(3), false),
    ] {
        let root = dir.path().join(format!("sink-{name}"));
        let wh = rt
            .block_on(Warehouse::open(
                root.to_str().expect("utf8"),
                sink_config(codec, fsync),
            ))
            .expect("open");
        let mut next = 0i64;
        g.bench_function(format!("sink_local/{name}"), |b| {
            b.iter_custom(|iters| sink_iter(&rt, &wh, &batches, &mut next, iters));
        });
    }

    if let Ok(url) = std::env::var("IT_HDFS_URL") {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        for (name, codec) in [
            ("zstd", Compression::Zstd(3)),
            ("snappy", Compression::Snappy),
        ] {
            let wurl = format!(
                "{}/bench-parquet-write/{stamp}-{name}",
                url.trim_end_matches('/')
            );
            let wh = rt
                .block_on(Warehouse::open(&wurl, sink_config(codec, true)))
                .expect("open hdfs warehouse");
            let mut next = 0i64;
            g.bench_function(format!("sink_hdfs/{name}"), |b| {
                b.iter_custom(|iters| sink_iter(&rt, &wh, &batches, &mut next, iters));
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
