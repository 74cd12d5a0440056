//! Local-backend tests: round trip, Delta tables and their log, fencing, recovery, verify,
//! protocol guards.

use std::sync::Arc;
use std::time::Duration;

use crate::common::data::{self, TOPIC};
use crate::common::land::land_range;
use hdfs_sink::{
    Error, OffsetRange, RotationPolicy, SinkConfig, TopicPartition, VerifyOptions, Violation,
    Warehouse, verify,
};

async fn open(dir: &tempfile::TempDir) -> Warehouse {
    Warehouse::open(dir.path().to_str().expect("utf8"), crate::common::config())
        .await
        .expect("open")
}

/// The JSON actions of version `v` of a table's log.
fn log_actions(dir: &std::path::Path, table: &str, v: i64) -> Vec<serde_json::Value> {
    let path = dir.join(format!("{table}/_delta_log/{v:020}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

/// The `hdfsSink` commitInfo entry of version `v`.
fn sink_info(dir: &std::path::Path, table: &str, v: i64) -> serde_json::Value {
    log_actions(dir, table, v)
        .into_iter()
        .find_map(|a| a.get("commitInfo").and_then(|c| c.get("hdfsSink")).cloned())
        .expect("hdfsSink commitInfo")
}

/// Open a table with delta-rs, as any Delta reader would.
async fn delta_table(dir: &std::path::Path, table: &str) -> deltalake_core::DeltaTable {
    let url = url_of(&dir.join(table));
    deltalake_core::open_table(url)
        .await
        .expect("open delta table")
}

fn url_of(p: &std::path::Path) -> url::Url {
    url::Url::from_directory_path(p).expect("url")
}

async fn txn(dir: &std::path::Path, table: &str, p: i32) -> Option<i64> {
    let t = delta_table(dir, table).await;
    t.snapshot()
        .expect("snapshot")
        .transaction_version(t.log_store().as_ref(), format!("kafka/{TOPIC}/{p}"))
        .await
        .expect("txn")
}

fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            if e.file_type().expect("type").is_dir() {
                stack.push(e.path());
            } else {
                out.push(
                    e.path()
                        .strip_prefix(dir)
                        .expect("prefix")
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn round_trip_identical_batches() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    let info = land_range(&wh, 0, 0, 99).await;
    assert_eq!(info.rows("raw"), 100);
    assert_eq!(info.rows("rejects"), 14);
    assert_eq!(info.rows("assessments"), 86);
    // Several date directories for the partitioned table; one file for the others.
    let acc_files = &info.tables[1].files;
    assert!(acc_files.len() > 5, "{acc_files:?}");
    assert!(
        acc_files
            .iter()
            .all(|f| f.path.starts_with("assessments/date="))
    );
    assert!(
        acc_files
            .iter()
            .any(|f| f.path.contains("date=__HIVE_DEFAULT_PARTITION__"))
    );
    let raw_file = &info.tables[0].files[0].path;
    assert!(
        raw_file.starts_with("raw/events-0-00000000000000000000-")
            && raw_file.ends_with("-0.parquet"),
        "{raw_file}"
    );

    // raw and rejects read back identical (one file each, rows in order).
    let (raw, _, rej) = data::batches(0, 0, 99);
    let back = wh.read_committed("raw").await.expect("read raw");
    assert_eq!(
        arrow_select::concat::concat_batches(&raw.schema(), &back).expect("concat"),
        raw
    );
    let back = wh.read_committed("rejects").await.expect("read rejects");
    assert_eq!(
        arrow_select::concat::concat_batches(&rej.schema(), &back).expect("concat"),
        rej
    );
    // assessments: same rows, grouped by date; row-level check covers them.
    crate::common::check_rows(&wh, &[0], 100)
        .await
        .expect("rows");

    // Timestamps are INT64 TIMESTAMP(MICROS, UTC) in the Parquet schema.
    let path = dir.path().join(&info.tables[0].files[0].path);
    let file = std::fs::File::open(path).expect("open parquet");
    let reader = parquet::file::reader::SerializedFileReader::new(file).expect("reader");
    use parquet::file::reader::FileReader;
    let md = reader.metadata();
    let col = md.file_metadata().schema_descr().column(2);
    assert_eq!(col.physical_type(), parquet::basic::Type::INT64);
    let logical = format!("{:?}", col.logical_type_ref());
    assert!(
        logical.contains("Timestamp")
            && logical.contains("is_adjusted_to_u_t_c: true")
            && logical.contains("MICROS"),
        "{logical}"
    );
    assert!(md.num_row_groups() > 1, "row groups of 16 rows");
    // (The level is not stored in the file.)
    assert!(matches!(
        md.row_group(0).column(0).compression(),
        parquet::basic::Compression::ZSTD(_)
    ));

    let report = verify(&wh, &crate::common::verify_options(&[0]))
        .await
        .expect("verify");
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.markers, 1);
    assert!(report.orphan_files.is_empty(), "{report}");
    assert_eq!(report.files_checked, 2 + acc_files.len());
}

#[tokio::test]
async fn every_codec_round_trips() {
    for c in [
        hdfs_sink::Compression::Snappy,
        hdfs_sink::Compression::Lz4,
        hdfs_sink::Compression::None,
        hdfs_sink::Compression::Zstd(1),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let cfg = SinkConfig::builder()
            .with_compression(c)
            .with_dictionary(false)
            .with_statistics(hdfs_sink::Statistics::None)
            .build()
            .expect("cfg");
        let wh = Warehouse::open(dir.path().to_str().expect("utf8"), cfg)
            .await
            .expect("open");
        land_range(&wh, 3, 10, 40).await;
        crate::common::check_rows_range(&wh, 3, 10, 40)
            .await
            .expect("rows");
    }
}

#[tokio::test]
async fn empty_tables_get_no_file_but_commit() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    let mut w = wh.begin_range(TOPIC, 1, 0, &data::tables()).expect("begin");
    let (raw, acc, _) = data::batches(1, 0, 2); // offsets 0..=2: no reject
    w.write("raw", &raw).await.expect("raw");
    w.write("assessments", &acc).await.expect("acc");
    let info = w.commit(2).await.expect("commit");
    assert_eq!(info.rows("rejects"), 0);
    assert!(info.tables[2].files.is_empty());
    assert!(
        info.tables[2].version.is_some(),
        "an empty table commits too"
    );
    let m = &wh.markers().await.expect("markers")[0];
    assert_eq!(m.rows("rejects"), Some(0));
    assert_eq!(m.rows("raw"), Some(3));
    // rejects is a Delta table without data files, its txn advanced with the others.
    assert_eq!(txn(dir.path(), "rejects", 1).await, Some(2));
    assert_eq!(
        delta_table(dir.path(), "rejects")
            .await
            .get_file_uris()
            .expect("files")
            .count(),
        0
    );
    let r = verify(&wh, &crate::common::verify_options(&[1]))
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
}

#[tokio::test]
async fn recovery_deletes_nothing_and_returns_next_offsets() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    land_range(&wh, 0, 0, 9).await;
    land_range(&wh, 0, 10, 19).await;
    land_range(&wh, 1, 0, 4).await;

    // An open range with files written, then a "crash" (drop without commit).
    let mut w = wh
        .begin_range(TOPIC, 0, 20, &data::tables())
        .expect("begin");
    let (raw, acc, rej) = data::batches(0, 20, 29);
    w.write("raw", &raw).await.expect("raw");
    w.write("assessments", &acc).await.expect("acc");
    w.write("rejects", &rej).await.expect("rej");
    w.write_tables(&[]).await.expect("nothing");
    drop(w);
    // The partition must be recovered before a new range.
    assert!(matches!(
        wh.begin_range(TOPIC, 0, 20, &data::tables()),
        Err(Error::RecoveryRequired { .. })
    ));
    let before = files_under(dir.path());

    // Its files are orphans: listed by verify, not violations unless strict; invisible to
    // Delta readers.
    let r = verify(&wh, &crate::common::verify_options(&[0, 1]))
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
    assert!(r.orphan_files.len() >= 3, "{r}");
    assert!(
        r.orphan_files
            .iter()
            .all(|p| p.contains("-00000000000000000020-")),
        "{r}"
    );
    let strict = verify(
        &wh,
        &crate::common::verify_options(&[0, 1]).with_strict_orphans(true),
    )
    .await
    .expect("verify");
    assert!(
        strict
            .violations
            .iter()
            .any(|v| matches!(v, Violation::UncommittedFile { .. })),
        "{strict}"
    );
    let raw_uris: Vec<String> = delta_table(dir.path(), "raw")
        .await
        .get_file_uris()
        .expect("uris")
        .collect();
    assert_eq!(raw_uris.len(), 3, "{raw_uris:?}");
    assert!(
        raw_uris
            .iter()
            .all(|u| !u.contains("-00000000000000000020-")),
        "{raw_uris:?}"
    );

    let rep = wh
        .recover_partitions(&[TopicPartition::new(TOPIC, 1)])
        .await
        .expect("recover 1");
    assert_eq!(rep.next_offset(TOPIC, 1), Some(5));
    assert_eq!(rep.next_offset(TOPIC, 0), None);
    let rep = wh.recover().await.expect("recover");
    assert_eq!(rep.next_offset(TOPIC, 0), Some(20));
    assert_eq!(rep.next_offset(TOPIC, 1), Some(5));
    let ranges: Vec<OffsetRange> = wh
        .markers()
        .await
        .expect("markers")
        .iter()
        .filter(|m| m.partition == 0)
        .map(|m| OffsetRange {
            start: m.start,
            end: m.end,
        })
        .collect();
    assert_eq!(
        ranges,
        vec![
            OffsetRange { start: 0, end: 9 },
            OffsetRange { start: 10, end: 19 }
        ]
    );
    assert_eq!(
        rep.table_offsets[&TopicPartition::new(TOPIC, 0)]["rejects"],
        19
    );
    assert!(rep.deleted_data_files.is_empty() && rep.deleted_temp.is_empty());
    // Nothing was deleted.
    assert_eq!(files_under(dir.path()), before);

    // Landing resumes at the next offset; the orphans stay orphans.
    land_range(&wh, 0, 20, 29).await;
    let r = verify(&wh, &crate::common::verify_options(&[0, 1]))
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
    assert!(r.orphan_files.len() >= 3, "{r}");
    crate::common::check_rows_range(&wh, 0, 0, 29)
        .await
        .expect("rows p0");
}

#[tokio::test]
async fn begin_range_guards_offsets() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    land_range(&wh, 0, 0, 9).await;
    let t = data::tables();
    assert!(matches!(
        wh.begin_range(TOPIC, 0, 5, &t),
        Err(Error::Overlap {
            committed_end: 9,
            ..
        })
    ));
    assert!(matches!(
        wh.begin_range(TOPIC, 0, 12, &t),
        Err(Error::Gap { expected: 10, .. })
    ));
    let w = wh.begin_range(TOPIC, 0, 10, &t).expect("begin");
    assert!(matches!(
        wh.begin_range(TOPIC, 0, 10, &t),
        Err(Error::RangeInProgress { .. })
    ));
    assert!(matches!(
        wh.recover().await,
        Err(Error::RangeInProgress { .. })
    ));
    w.abort().await.expect("abort");
    // A recorded gap lets the partition move on.
    wh.record_gap(TOPIC, 0, 10, 11, "retention")
        .await
        .expect("gap");
    land_range(&wh, 0, 12, 20).await;
    assert!(matches!(
        wh.begin_range("bad+topic", 0, 0, &t),
        Err(Error::InvalidName { kind: "topic", .. })
    ));
    assert!(matches!(
        wh.begin_range(TOPIC, 2, 0, &[("_commits", data::raw_schema())]),
        Err(Error::InvalidName { kind: "table", .. })
    ));
    // Unknown table and schema mismatch poison the range.
    let mut w = wh.begin_range(TOPIC, 2, 0, &t).expect("begin");
    let e = w
        .write("nope", &data::raw(2, &[0]))
        .await
        .expect_err("must fail");
    assert!(matches!(e.root(), Error::UnknownTable { .. }), "{e}");
    assert!(
        e.to_string().contains("events/2 range from offset 0"),
        "{e}"
    );
    let e = w
        .write("rejects", &data::raw(2, &[0]))
        .await
        .expect_err("must fail");
    assert!(matches!(e.root(), Error::RangeFailed), "{e}");
    let e = w.commit(0).await.expect_err("must fail");
    assert!(matches!(e.root(), Error::RangeFailed), "{e}");

    let r = verify(&wh, &crate::common::verify_options(&[0]))
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.accepted_gaps.len(), 1);
    let rep = wh.recover().await.expect("recover");
    assert_eq!(rep.next_offset(TOPIC, 0), Some(21));
}

/// Commit a forged `hdfsSink` range to `table` through delta-rs (no Add): what a writer
/// that does not follow the protocol could leave.
async fn forge_commit(dir: &std::path::Path, table: &str, p: i32, start: i64, end: i64) {
    use deltalake_core::kernel::Transaction;
    use deltalake_core::kernel::transaction::{CommitBuilder, CommitProperties};
    use deltalake_core::protocol::{DeltaOperation, OutputMode};
    let t = delta_table(dir, table).await;
    let meta = serde_json::json!({
        "version": 1, "kind": "range", "topic": TOPIC, "partition": p, "start": start,
        "end": end, "tableStart": start, "nonce": "f0", "rows": {table: 0},
        "committedAtMs": 0
    });
    let props = CommitProperties::default()
        .with_application_transaction(Transaction::new(format!("kafka/{TOPIC}/{p}"), end))
        .with_metadata([("hdfsSink".to_owned(), meta)]);
    CommitBuilder::from(props)
        .build(
            Some(t.snapshot().expect("snapshot")),
            t.log_store(),
            DeltaOperation::StreamingUpdate {
                output_mode: OutputMode::Append,
                query_id: "forged".into(),
                epoch_id: end,
            },
        )
        .await
        .expect("forged commit");
}

#[tokio::test]
async fn verify_reports_each_violation() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    for p in 0..4 {
        land_range(&wh, p, 0, 9).await;
    }
    // Gap 10..=19 and overlap 25..=27 in raw of partition 0 (forged commits).
    forge_commit(dir.path(), "raw", 0, 20, 29).await;
    forge_commit(dir.path(), "raw", 0, 25, 27).await;
    let file_of = |m: &&hdfs_sink::Marker, table: &str| m.tables[table].files[0].path.clone();
    let all = wh.markers().await.expect("markers");
    assert_eq!(all.len(), 6, "4 ranges and the 2 forged ones");
    let markers: Vec<&hdfs_sink::Marker> = all.iter().filter(|m| m.tables.len() == 3).collect();
    assert_eq!(markers.len(), 4);
    assert!(
        markers
            .iter()
            .enumerate()
            .all(|(i, m)| m.partition == i as i32)
    );
    // Missing file: delete partition 1's raw file.
    std::fs::remove_file(dir.path().join(file_of(&markers[1], "raw"))).expect("rm");
    // Size mismatch: append to partition 2's raw file (still readable: footer at the end is
    // gone, so it is also unreadable).
    let f2 = dir.path().join(file_of(&markers[2], "raw"));
    let mut bytes = std::fs::read(&f2).expect("read");
    bytes.extend_from_slice(b"junk");
    std::fs::write(&f2, &bytes).expect("write");
    // Row count mismatch: replace partition 3's rejects file (1 row) by its raw file (10
    // rows); the size differs too.
    std::fs::copy(
        dir.path().join(file_of(&markers[3], "raw")),
        dir.path().join(file_of(&markers[3], "rejects")),
    )
    .expect("copy");
    // Unreadable: partition 0's rejects file.
    std::fs::write(
        dir.path().join(file_of(&markers[0], "rejects")),
        b"PAR1garbage",
    )
    .expect("write");

    let r = verify(&wh, &crate::common::verify_options(&[0, 1, 2, 3]))
        .await
        .expect("verify");
    assert!(!r.is_ok());
    let text = r.to_string();
    println!("{text}");
    let has = |f: &dyn Fn(&Violation) -> bool| r.violations.iter().any(f);
    assert!(
        has(
            &|v| matches!(v, Violation::Gap { missing, .. } if *missing == OffsetRange { start: 10, end: 19 })
        ),
        "{text}"
    );
    assert!(
        has(&|v| matches!(v, Violation::Overlap { first, second, .. }
        if *first == OffsetRange { start: 20, end: 29 } && *second == OffsetRange { start: 25, end: 27 })),
        "{text}"
    );
    assert!(
        has(
            &|v| matches!(v, Violation::MissingFile { tp, table, .. } if tp.partition == 1 && table == "raw")
        ),
        "{text}"
    );
    assert!(
        has(
            &|v| matches!(v, Violation::SizeMismatch { table, found, logged, .. }
            if table == "raw" && *found == *logged + 4)
        ),
        "{text}"
    );
    assert!(
        has(
            &|v| matches!(v, Violation::RowCountMismatch { tp, table, marker_rows: 1, file_rows: 10, .. }
        if tp.partition == 3 && table == "rejects")
        ),
        "{text}"
    );
    assert!(
        has(
            &|v| matches!(v, Violation::UnreadableFile { path, .. } if path.starts_with("rejects/events-0-"))
        ),
        "{text}"
    );
    // The forged commits name only raw: their balance does not hold.
    assert!(
        has(&|v| matches!(v, Violation::Unbalanced { tp, .. } if tp.partition == 0)),
        "{text}"
    );
    assert!(
        text.contains("gap: events/0 offsets 10..=19 (10 offsets) are not committed"),
        "{text}"
    );

    // An accepted gap is reported but not a violation.
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    land_range(&wh, 0, 0, 9).await;
    wh.record_gap(TOPIC, 0, 10, 19, "retention")
        .await
        .expect("gap");
    land_range(&wh, 0, 20, 29).await;
    let r = verify(&wh, &crate::common::verify_options(&[0]))
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
    assert_eq!(
        r.accepted_gaps,
        vec![(
            TopicPartition::new(TOPIC, 0),
            OffsetRange { start: 10, end: 19 }
        )]
    );
}

#[tokio::test]
async fn rotation_policy() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    let policy = RotationPolicy {
        max_rows: 50,
        max_bytes: 1 << 30,
        max_age: Duration::from_millis(200),
    };
    let mut w = wh.begin_range(TOPIC, 0, 0, &data::tables()).expect("begin");
    assert!(!policy.should_rotate(&w), "empty writer never rotates");
    let (raw, _, _) = data::batches(0, 0, 9);
    w.write("raw", &raw).await.expect("write");
    assert!(!policy.should_rotate(&w));
    assert!(w.bytes() > 0);
    tokio::time::sleep(policy.time_until_due(&w)).await;
    assert!(
        policy.should_rotate(&w),
        "wall-clock rotation without new rows"
    );
    let (raw, _, _) = data::batches(0, 10, 59);
    w.write("raw", &raw).await.expect("write");
    assert!(
        RotationPolicy {
            max_age: Duration::from_secs(3600),
            ..policy
        }
        .should_rotate(&w)
    );
    assert!(
        RotationPolicy {
            max_age: Duration::from_secs(3600),
            max_rows: 1000,
            max_bytes: 100
        }
        .should_rotate(&w)
    );
    w.abort().await.expect("abort");
    // The aborted range's own files are deleted.
    assert!(
        files_under(dir.path())
            .iter()
            .all(|f| f.contains("_delta_log")),
        "{:?}",
        files_under(dir.path())
    );
}

#[tokio::test]
async fn verify_cli_style_empty_warehouse_is_ok() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    let r = verify(&wh, &VerifyOptions::default())
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.markers, 0);
}

#[tokio::test]
async fn unreachable_namenode_is_a_clear_error() {
    let cfg = SinkConfig::builder()
        .with_retry(hdfs_sink::RetryPolicy {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(10),
            ..Default::default()
        })
        .build()
        .expect("cfg");
    let e = Warehouse::open("hdfs://127.0.0.1:1/warehouse", cfg)
        .await
        .expect_err("must fail");
    assert!(matches!(e, Error::Unreachable { attempts: 2, .. }), "{e:?}");
    assert!(e.is_transient());
    let text = e.to_string();
    assert!(text.contains("hdfs://127.0.0.1:1/warehouse"), "{text}");
}

#[tokio::test]
async fn open_existing_does_not_create() {
    let dir = tempfile::tempdir().expect("tmp");
    let missing = dir.path().join("nope");
    let e = Warehouse::open_existing(missing.to_str().expect("utf8"), SinkConfig::default())
        .await
        .expect_err("must fail");
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("nope"), "{e}");
    assert!(!missing.exists());
    let _ = open(&dir).await;
    Warehouse::open_existing(dir.path().to_str().expect("utf8"), SinkConfig::default())
        .await
        .expect("existing");
}

/// Two open ranges under a small memory budget: after every write the buffered row groups of
/// the whole warehouse are within the budget (the writing range flushes its largest), the
/// files get several row groups, nothing is lost, and the budget is released at commit.
#[tokio::test]
async fn memory_budget_bounds_buffered_row_groups() {
    const BUDGET: usize = 1024 * 1024;
    let dir = tempfile::tempdir().expect("tmp");
    let config = SinkConfig::builder()
        .with_row_group_rows(1 << 20)
        .with_max_buffered_bytes(BUDGET)
        .build()
        .expect("config");
    let wh = Warehouse::open(dir.path().to_str().expect("utf8"), config)
        .await
        .expect("open");
    let mut writers = Vec::new();
    for p in 0..2 {
        writers.push(wh.begin_range(TOPIC, p, 0, &data::tables()).expect("begin"));
    }
    let mut peak = 0;
    for chunk in 0..8i64 {
        for (p, w) in writers.iter_mut().enumerate() {
            let (raw, acc, rej) = data::batches(p as i32, chunk * 200, chunk * 200 + 199);
            w.write_tables(&[("raw", &raw), ("assessments", &acc), ("rejects", &rej)])
                .await
                .expect("write");
            let now = wh.buffered_bytes();
            assert!(
                now <= BUDGET,
                "{now} bytes buffered over a budget of {BUDGET}"
            );
            peak = peak.max(now);
        }
    }
    assert!(peak > 0, "the encoders report their memory");
    let mut infos = Vec::new();
    for w in writers {
        infos.push(w.commit(1599).await.expect("commit"));
    }
    assert_eq!(wh.buffered_bytes(), 0, "released at commit");
    crate::common::check_rows(&wh, &[0, 1], 1600)
        .await
        .expect("rows");
    // The budget, not the row-count limit, cut the row groups.
    let raw = dir.path().join(&infos[0].tables[0].files[0].path);
    let reader = parquet::file::reader::SerializedFileReader::new(
        std::fs::File::open(raw).expect("open parquet"),
    )
    .expect("reader");
    use parquet::file::reader::FileReader;
    assert!(reader.metadata().num_row_groups() > 1);

    // An aborted range gives its share back too.
    let mut w = wh
        .begin_range(TOPIC, 0, 1600, &data::tables())
        .expect("begin");
    let (raw, _, _) = data::batches(0, 1600, 1699);
    w.write("raw", &raw).await.expect("write");
    assert!(wh.buffered_bytes() > 0);
    w.abort().await.expect("abort");
    assert_eq!(wh.buffered_bytes(), 0, "released at abort");
}

#[tokio::test]
async fn create_tables_makes_valid_empty_delta_tables() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    wh.create_tables(&data::tables()).await.expect("create");
    // Idempotent.
    wh.create_tables(&data::tables()).await.expect("again");
    for (name, schema) in data::tables() {
        let t = delta_table(dir.path(), name).await;
        assert_eq!(t.version(), Some(0), "{name}");
        let snap = t.snapshot().expect("snapshot");
        assert_eq!(t.get_file_uris().expect("files").count(), 0, "{name}");
        let delta_schema = snap.schema();
        let cols: Vec<String> = delta_schema.fields().map(|f| f.name().clone()).collect();
        let mut expected: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        if name == "assessments" {
            expected.push("date".to_owned());
        }
        assert_eq!(cols, expected, "{name}");
        let parts = snap.metadata().partition_columns().to_vec();
        if name == "assessments" {
            assert_eq!(parts, vec!["date".to_owned()]);
        } else {
            assert!(parts.is_empty(), "{name}: {parts:?}");
        }
    }
    assert_eq!(
        wh.table_url("raw").expect("url"),
        url_of(&dir.path().join("raw")).to_string()
    );
    // An empty warehouse of tables recovers to nothing and verifies.
    let rep = wh.recover().await.expect("recover");
    assert!(rep.next_offsets.is_empty());
    let r = verify(&wh, &VerifyOptions::default())
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.markers, 0);

    // An incompatible schema is refused, naming the table.
    let other = Arc::new(arrow_schema::Schema::new(vec![arrow_schema::Field::new(
        "_offset",
        arrow_schema::DataType::Utf8,
        false,
    )]));
    let e = wh
        .create_tables(&[("raw", other)])
        .await
        .expect_err("incompatible");
    assert!(
        matches!(e, Error::IncompatibleSchema { ref table, .. } if table == "raw"),
        "{e}"
    );
    assert!(e.to_string().contains("raw"), "{e}");
}

#[tokio::test]
async fn commit_records_txn_stats_and_commit_info() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    let info = land_range(&wh, 0, 0, 99).await;
    assert_eq!(
        info.tables[0].version,
        Some(1),
        "created at 0, committed at 1"
    );
    assert_eq!(txn(dir.path(), "raw", 0).await, Some(99));
    assert_eq!(txn(dir.path(), "assessments", 0).await, Some(99));
    assert_eq!(txn(dir.path(), "raw", 1).await, None);

    let actions = log_actions(dir.path(), "raw", 1);
    let adds: Vec<&serde_json::Value> = actions.iter().filter_map(|a| a.get("add")).collect();
    assert_eq!(adds.len(), 1);
    let add = adds[0];
    assert_eq!(add["dataChange"], true);
    let path = add["path"].as_str().expect("path");
    assert!(path.starts_with("events-0-00000000000000000000-"), "{path}");
    let size = std::fs::metadata(dir.path().join("raw").join(path))
        .expect("file")
        .len();
    assert_eq!(add["size"].as_u64(), Some(size));
    let stats: serde_json::Value =
        serde_json::from_str(add["stats"].as_str().expect("stats")).expect("stats json");
    assert_eq!(stats["numRecords"], 100);
    assert_eq!(stats["minValues"]["_offset"], 0);
    assert_eq!(stats["maxValues"]["_offset"], 99);
    assert_eq!(stats["nullCount"]["_offset"], 0);
    // kafka_ts of offset 0 is BASE_TS_US (…442_735_266 µs): the minimum floors to the
    // millisecond, the maximum (offset 99) ceils.
    assert_eq!(stats["minValues"]["kafka_ts"], "2018-01-23T14:24:02.735Z");
    let max_us = data::BASE_TS_US + 99 * data::STEP_US;
    assert_eq!(max_us % 1000, 266);
    let max = stats["maxValues"]["kafka_ts"].as_str().expect("max ts");
    assert!(max.ends_with(".736Z"), "{max}");
    let txns: Vec<&serde_json::Value> = actions.iter().filter_map(|a| a.get("txn")).collect();
    assert_eq!(txns.len(), 1);
    assert_eq!(txns[0]["appId"], "kafka/events/0");
    assert_eq!(txns[0]["version"], 99);

    let meta = sink_info(dir.path(), "rejects", 1);
    assert_eq!(meta["topic"], TOPIC);
    assert_eq!(meta["partition"], 0);
    assert_eq!(
        (meta["start"].as_i64(), meta["end"].as_i64()),
        (Some(0), Some(99))
    );
    assert_eq!(meta["nonce"], info.marker.as_str());
    assert_eq!(meta["rows"]["raw"], 100);
    assert_eq!(meta["rows"]["assessments"], 86);
    assert_eq!(meta["rows"]["rejects"], 14);
    // Partition values of the date-partitioned table, and its files without the column.
    let acc = log_actions(dir.path(), "assessments", 1);
    let values: Vec<serde_json::Value> = acc
        .iter()
        .filter_map(|a| a.get("add"))
        .map(|a| a["partitionValues"]["date"].clone())
        .collect();
    assert!(values.contains(&serde_json::Value::Null), "{values:?}");
    assert!(
        values.contains(&serde_json::json!("2018-01-23")),
        "{values:?}"
    );
    // A Delta reader sees exactly the committed files.
    let t = delta_table(dir.path(), "assessments").await;
    assert_eq!(t.get_file_uris().expect("uris").count(), values.len());
}

#[tokio::test]
async fn a_second_writer_of_the_same_range_is_fenced() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = open(&dir).await;
    land_range(&a, 0, 0, 9).await;
    let b = open(&dir).await;
    a.recover().await.expect("recover a");
    b.recover().await.expect("recover b");
    // Both start 10..: a stalled group member and its successor.
    let mut wa = a
        .begin_range(TOPIC, 0, 10, &data::tables())
        .expect("begin a");
    let mut wb = b
        .begin_range(TOPIC, 0, 10, &data::tables())
        .expect("begin b");
    for w in [&mut wa, &mut wb] {
        let (raw, acc, rej) = data::batches(0, 10, 19);
        w.write_tables(&[("raw", &raw), ("assessments", &acc), ("rejects", &rej)])
            .await
            .expect("write");
    }
    wa.commit(19).await.expect("first commit");
    let e = wb.commit(15).await.expect_err("fenced");
    match e.root() {
        Error::Fenced {
            topic,
            partition,
            table,
            expected,
            found,
        } => {
            assert_eq!((topic.as_str(), *partition), (TOPIC, 0));
            assert_eq!(
                table, "raw",
                "the first table refuses: nothing of b commits"
            );
            assert_eq!((*expected, *found), (Some(9), Some(19)));
        }
        other => panic!("expected Fenced, got {other:?}"),
    }
    assert!(e.to_string().contains("events/0"), "{e}");
    for table in ["raw", "assessments", "rejects"] {
        assert_eq!(txn(dir.path(), table, 0).await, Some(19), "{table}");
    }
    // b must recover; then it continues after a's range.
    assert!(matches!(
        b.begin_range(TOPIC, 0, 16, &data::tables()),
        Err(Error::RecoveryRequired { .. })
    ));
    let rep = b.recover().await.expect("recover");
    assert_eq!(rep.next_offset(TOPIC, 0), Some(20));
    land_range(&b, 0, 20, 29).await;
    crate::common::check_rows_range(&b, 0, 0, 29)
        .await
        .expect("rows");
    let r = verify(&b, &crate::common::verify_options(&[0]))
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_of_different_partitions_all_land() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = dir.path().to_str().expect("utf8").to_owned();
    let first = open(&dir).await;
    first.create_tables(&data::tables()).await.expect("create");
    let mut tasks = Vec::new();
    for p in 0..4 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            // One Warehouse per writer: separate processes as far as the log is concerned.
            let wh = Warehouse::open(&url, crate::common::config()).await?;
            for k in 0..3i64 {
                let mut w = wh.begin_range(TOPIC, p, k * 20, &data::tables())?;
                let (raw, acc, rej) = data::batches(p, k * 20, k * 20 + 19);
                w.write_tables(&[("raw", &raw), ("assessments", &acc), ("rejects", &rej)])
                    .await?;
                w.commit(k * 20 + 19).await?;
            }
            Ok::<_, Error>(())
        }));
    }
    for t in tasks {
        t.await.expect("join").expect("every writer lands");
    }
    // 1 create + 4 partitions x 3 ranges per table.
    assert_eq!(delta_table(dir.path(), "raw").await.version(), Some(12));
    for p in 0..4 {
        assert_eq!(txn(dir.path(), "rejects", p).await, Some(59));
    }
    crate::common::check_rows(&first, &[0, 1, 2, 3], 60)
        .await
        .expect("rows");
    let r = verify(&first, &crate::common::verify_options(&[0, 1, 2, 3]))
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.markers, 12);
}

#[tokio::test]
async fn a_partly_committed_range_is_landed_again_without_duplicates() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    land_range(&wh, 0, 0, 9).await;
    // 10..=19 reaches raw only (as if the process died after raw's commit).
    let mut w = wh
        .begin_range(TOPIC, 0, 10, &[("raw", data::raw_schema())])
        .expect("begin");
    let (raw, _, _) = data::batches(0, 10, 19);
    w.write("raw", &raw).await.expect("raw");
    w.commit(19).await.expect("commit raw");
    let rep = open(&dir).await.recover().await.expect("recover");
    assert_eq!(rep.next_offset(TOPIC, 0), Some(10), "min over the tables");
    assert_eq!(rep.table_offsets[&TopicPartition::new(TOPIC, 0)]["raw"], 19);

    // A new process lands 10..=29 into every table: raw drops 10..=19.
    let wh = open(&dir).await;
    wh.recover().await.expect("recover");
    let info = land_range(&wh, 0, 10, 29).await;
    assert_eq!(info.rows("raw"), 10, "only 20..=29 are new to raw");
    assert_eq!(info.rows("assessments") + info.rows("rejects"), 20);
    let meta = sink_info(dir.path(), "raw", 3);
    assert_eq!(meta["tableStart"], 20);
    assert_eq!(
        meta["rows"]["raw"], 20,
        "the commitInfo counts the whole range"
    );
    crate::common::check_rows_range(&wh, 0, 0, 29)
        .await
        .expect("exactly once");
    let r = verify(
        &wh,
        &crate::common::verify_options(&[0])
            .with_balance(hdfs_sink::Balance::parse("assessments=assessments").expect("rule")),
    )
    .await
    .expect("verify");
    // Contiguous per table; the raw-only commit's balance is the only complaint.
    assert!(
        r.violations
            .iter()
            .all(|v| matches!(v, Violation::Unbalanced { range, .. } if range.start == 10 && range.end == 19)),
        "{r}"
    );
    // Landing a range that raw already holds entirely skips raw's commit.
    let mut w = wh
        .begin_range(TOPIC, 0, 30, &[("raw", data::raw_schema())])
        .expect("begin");
    let (raw, _, _) = data::batches(0, 30, 39);
    w.write("raw", &raw).await.expect("raw");
    w.commit(39).await.expect("commit");
    let wh = open(&dir).await;
    wh.recover().await.expect("recover");
    let info = land_range(&wh, 0, 30, 35).await;
    assert_eq!(info.tables[0].version, None, "raw is past 35");
    assert_eq!(txn(dir.path(), "raw", 0).await, Some(39));
    assert_eq!(txn(dir.path(), "rejects", 0).await, Some(35));
}

#[tokio::test]
async fn a_gap_advances_the_txn_and_is_logged() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    let e = wh
        .record_gap(TOPIC, 0, 0, 4, "retention")
        .await
        .expect_err("no table yet");
    assert!(matches!(e, Error::NotATable { .. }), "{e}");
    land_range(&wh, 0, 0, 9).await;
    wh.record_gap(TOPIC, 0, 10, 19, "retention: low watermark 20")
        .await
        .expect("gap");
    for table in ["raw", "assessments", "rejects"] {
        assert_eq!(txn(dir.path(), table, 0).await, Some(19), "{table}");
        let meta = sink_info(dir.path(), table, 2);
        assert_eq!(meta["kind"], "gap");
        assert_eq!(meta["reason"], "retention: low watermark 20");
        assert!(
            log_actions(dir.path(), table, 2)
                .iter()
                .all(|a| a.get("add").is_none()),
            "a gap adds no file"
        );
    }
    assert_eq!(
        wh.gaps().await.expect("gaps"),
        vec![(
            TopicPartition::new(TOPIC, 0),
            OffsetRange { start: 10, end: 19 }
        )]
    );
    let rep = open(&dir).await.recover().await.expect("recover");
    assert_eq!(rep.next_offset(TOPIC, 0), Some(20));
    land_range(&wh, 0, 20, 24).await;
    let r = verify(&wh, &crate::common::verify_options(&[0]))
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.markers, 2, "a gap is not a landed range");
}

#[tokio::test]
async fn a_checkpoint_is_written_every_hundred_versions() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    let tables = [("rejects", data::rejects_schema())];
    wh.create_tables(&tables).await.expect("create");
    let log = dir.path().join("rejects/_delta_log");
    for k in 0..99i64 {
        if k == 98 {
            assert!(
                !log.join("_last_checkpoint").exists(),
                "no checkpoint before 99"
            );
        }
        let mut w = wh.begin_range(TOPIC, 0, k, &tables).expect("begin");
        let (_, _, rej) = data::batches(0, k, k);
        w.write("rejects", &rej).await.expect("write");
        w.commit(k).await.expect("commit");
    }
    assert!(
        log.join(format!("{:020}.checkpoint.parquet", 99)).exists(),
        "{:?}",
        std::fs::read_dir(&log)
            .expect("log")
            .map(|e| e.expect("e").file_name())
            .collect::<Vec<_>>()
    );
    assert!(log.join("_last_checkpoint").exists());
    // A fresh reader and a fresh warehouse open from the checkpoint.
    assert_eq!(txn(dir.path(), "rejects", 0).await, Some(98));
    let wh = open(&dir).await;
    assert_eq!(
        wh.recover().await.expect("recover").next_offset(TOPIC, 0),
        Some(99)
    );
    let rows: usize = wh
        .read_committed("rejects")
        .await
        .expect("read")
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(rows, (0..99).filter(|o| data::is_reject(*o)).count());

    // Recovery and fencing read the txns from the checkpoint, not from the versions before
    // it: with those gone, a fresh warehouse still goes on at 99, once.
    for v in 1..99 {
        std::fs::remove_file(log.join(format!("{v:020}.json"))).expect("remove commit");
    }
    let wh = open(&dir).await;
    assert_eq!(
        wh.recover().await.expect("recover").next_offset(TOPIC, 0),
        Some(99)
    );
    let mut w = wh.begin_range(TOPIC, 0, 99, &tables).expect("begin");
    let (_, _, rej) = data::batches(0, 99, 99);
    w.write("rejects", &rej).await.expect("write");
    w.commit(99).await.expect("commit after the checkpoint");
    assert_eq!(txn(dir.path(), "rejects", 0).await, Some(99));
    // A writer that did not recover is fenced by the checkpoint's txn plus version 100.
    let stale = open(&dir).await;
    let mut w = stale
        .begin_range(TOPIC, 0, 99, &tables)
        .expect("begin stale");
    w.write("rejects", &rej).await.expect("write");
    let e = w.commit(99).await.expect_err("the txn is already at 99");
    assert!(matches!(e.root(), Error::Fenced { .. }), "{e}");
}

#[tokio::test]
async fn a_marker_warehouse_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("_commits")).expect("mkdir");
    let e = Warehouse::open(dir.path().to_str().expect("utf8"), crate::common::config())
        .await
        .expect_err("legacy");
    assert!(matches!(e, Error::LegacyLayout { .. }), "{e}");
    assert!(e.to_string().contains("new root"), "{e}");
    let e = Warehouse::open_existing(dir.path().to_str().expect("utf8"), crate::common::config())
        .await
        .expect_err("legacy");
    assert!(matches!(e, Error::LegacyLayout { .. }), "{e}");
}

/// The fencing of a commit racing another writer of the same partition rests on delta-rs's
/// conflict checker: a commit read at a version before a winning commit with the same txn
/// app id is refused (not retried on top of it), while one of another app id is retried onto
/// the next version and lands.
#[tokio::test]
async fn delta_rs_refuses_a_concurrent_txn_of_the_same_app_id() {
    use deltalake_core::DeltaTableError;
    use deltalake_core::kernel::Transaction;
    use deltalake_core::kernel::transaction::{
        CommitBuilder, CommitConflictError, CommitProperties, TransactionError,
    };
    use deltalake_core::protocol::{DeltaOperation, OutputMode};
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    wh.create_tables(&[("rejects", data::rejects_schema())])
        .await
        .expect("create");
    let stale = delta_table(dir.path(), "rejects").await;
    let commit = |app: &str, version: i64| {
        let props = CommitProperties::default()
            .with_application_transaction(Transaction::new(app, version));
        CommitBuilder::from(props).build(
            Some(stale.snapshot().expect("snapshot")),
            stale.log_store(),
            DeltaOperation::StreamingUpdate {
                output_mode: OutputMode::Append,
                query_id: app.to_owned(),
                epoch_id: version,
            },
        )
    };
    let first = commit("kafka/events/0", 9).await.expect("first");
    assert_eq!(first.version(), 1);
    match commit("kafka/events/0", 19).await {
        Err(DeltaTableError::Transaction {
            source: TransactionError::CommitConflict(CommitConflictError::ConcurrentTransaction),
        }) => {}
        other => panic!("expected a concurrent transaction conflict, got {other:?}"),
    }
    let other = commit("kafka/events/1", 9).await.expect("other partition");
    assert_eq!(other.version(), 2);
    assert_eq!(txn(dir.path(), "rejects", 0).await, Some(9));
    assert_eq!(txn(dir.path(), "rejects", 1).await, Some(9));
}
