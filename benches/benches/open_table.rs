//! Opening a warehouse whose table has a long log: `Warehouse::open` + `create_tables` (which
//! loads the Delta table) + `recover` (every partition's txn version), as a landing process
//! does at start. The table gets one commit per one-row range, spread over 8 partitions, so
//! its log holds `COMMITS` versions with a checkpoint every 100.
//!
//! Run: `cargo bench -p benches --bench open_table` (10,000 commits, built once in a temp
//! dir, which takes a minute or two). Under `cargo test` it runs once on 150 commits.

use std::sync::Arc;
use std::time::Instant;

use arrow_array::{Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use criterion::{Criterion, criterion_group, criterion_main};
use hdfs_sink::{SinkConfig, Warehouse};

const PARTITIONS: i32 = 8;
const TOPIC: &str = "events";

fn commits() -> i64 {
    if std::env::args().any(|a| a == "--bench") {
        10_000
    } else {
        150
    }
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("_partition", DataType::Int32, false),
        Field::new("_offset", DataType::Int64, false),
        Field::new("value", DataType::Utf8, true),
    ]))
}

fn tables() -> [(&'static str, SchemaRef); 1] {
    [("raw", schema())]
}

fn row(partition: i32, offset: i64) -> RecordBatch {
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int32Array::from(vec![partition])),
            Arc::new(Int64Array::from(vec![offset])),
            Arc::new(StringArray::from(vec![format!("event {offset}")])),
        ],
    )
    .expect("batch")
}

/// A warehouse at `url` whose one table has `n` commits.
async fn build(url: &str, n: i64) {
    let wh = Warehouse::open(url, SinkConfig::default())
        .await
        .expect("open");
    wh.create_tables(&tables()).await.expect("create");
    wh.recover().await.expect("recover");
    for i in 0..n {
        let p = (i % i64::from(PARTITIONS)) as i32;
        let offset = i / i64::from(PARTITIONS);
        let mut w = wh.begin_range(TOPIC, p, offset, &tables()).expect("begin");
        w.write("raw", &row(p, offset)).await.expect("write");
        w.commit(offset).await.expect("commit");
    }
}

/// What a landing process does before its first range; returns the partitions it found.
async fn open_and_recover(url: &str) -> usize {
    let wh = Warehouse::open(url, SinkConfig::default())
        .await
        .expect("open");
    wh.create_tables(&tables()).await.expect("create");
    wh.recover().await.expect("recover").next_offsets.len()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tmp");
    let url = dir.path().to_str().expect("utf8").to_owned();
    let n = commits();
    let t0 = Instant::now();
    rt.block_on(build(&url, n));
    println!("built a table of {n} commits in {:?}", t0.elapsed());
    assert_eq!(rt.block_on(open_and_recover(&url)), PARTITIONS as usize);
    let mut g = c.benchmark_group("open_table");
    g.sample_size(10);
    g.bench_function(format!("open_recover_{n}_commits"), |b| {
        b.iter(|| rt.block_on(open_and_recover(&url)));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
