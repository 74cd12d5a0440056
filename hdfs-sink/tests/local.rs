//! Local-backend tests: round trip, recovery, verify, protocol guards.

mod common;

use std::time::Duration;

use common::data::{self, TOPIC};
use hdfs_sink::{
    Error, OffsetRange, RotationPolicy, SinkConfig, TopicPartition, VerifyOptions, Violation,
    Warehouse, verify,
};

async fn open(dir: &tempfile::TempDir) -> Warehouse {
    Warehouse::open(dir.path().to_str().expect("utf8"), common::config())
        .await
        .expect("open")
}

async fn land(wh: &Warehouse, p: i32, start: i64, end: i64) -> hdfs_sink::CommitInfo {
    let mut w = wh
        .begin_range(TOPIC, p, start, &data::tables())
        .expect("begin");
    let (raw, acc, rej) = data::batches(p, start, end);
    w.write("raw", &raw).await.expect("raw");
    w.write("assessments", &acc).await.expect("acc");
    w.write("rejects", &rej).await.expect("rej");
    w.commit(end).await.expect("commit")
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
    let info = land(&wh, 0, 0, 99).await;
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
    assert_eq!(
        info.tables[0].files[0].path,
        "raw/events+0+00000000000000000000+00000000000000000099.parquet"
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
    common::check_rows(&wh, &[0], 100).await.expect("rows");

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

    let report = verify(&wh, &common::verify_options(&[0]))
        .await
        .expect("verify");
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.markers, 1);
    // No temp debris after a commit.
    assert!(files_under(&dir.path().join("_tmp")).is_empty());
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
        land(&wh, 3, 10, 40).await;
        common::check_rows_range(&wh, 3, 10, 40)
            .await
            .expect("rows");
    }
}

#[tokio::test]
async fn empty_tables_get_no_file_but_are_listed() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    let mut w = wh.begin_range(TOPIC, 1, 0, &data::tables()).expect("begin");
    let (raw, acc, _) = data::batches(1, 0, 2); // offsets 0..=2: no reject
    w.write("raw", &raw).await.expect("raw");
    w.write("assessments", &acc).await.expect("acc");
    let info = w.commit(2).await.expect("commit");
    assert_eq!(info.rows("rejects"), 0);
    assert!(info.tables[2].files.is_empty());
    let m = &wh.markers().await.expect("markers")[0];
    assert_eq!(m.rows("rejects"), Some(0));
    assert_eq!(m.rows("raw"), Some(3));
    assert!(!dir.path().join("rejects").exists());
    let r = verify(&wh, &common::verify_options(&[1]))
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
}

#[tokio::test]
async fn recovery_deletes_uncommitted_data_and_returns_next_offsets() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    land(&wh, 0, 0, 9).await;
    land(&wh, 0, 10, 19).await;
    land(&wh, 1, 0, 4).await;

    // An open range with temp files, then a "crash" (drop without commit).
    let mut w = wh
        .begin_range(TOPIC, 0, 20, &data::tables())
        .expect("begin");
    let (raw, acc, rej) = data::batches(0, 20, 29);
    w.write("raw", &raw).await.expect("raw");
    w.write("assessments", &acc).await.expect("acc");
    w.write("rejects", &rej).await.expect("rej");
    drop(w);
    assert!(!files_under(&dir.path().join("_tmp")).is_empty());
    // The partition must be recovered before a new range.
    assert!(matches!(
        wh.begin_range(TOPIC, 0, 20, &data::tables()),
        Err(Error::RecoveryRequired { .. })
    ));

    // Data files of an uncommitted range, as if killed between renames.
    let orphan = dir
        .path()
        .join("raw/events+0+00000000000000000020+00000000000000000029.parquet");
    std::fs::copy(
        dir.path()
            .join("raw/events+0+00000000000000000010+00000000000000000019.parquet"),
        &orphan,
    )
    .expect("copy");
    // And a marker written to _tmp but not renamed.
    std::fs::create_dir_all(dir.path().join("_tmp/events+1+00000000000000000005+abc")).expect("mk");
    std::fs::write(
        dir.path()
            .join("_tmp/events+1+00000000000000000005+abc/_marker"),
        b"{}",
    )
    .expect("write");

    let r = verify(&wh, &common::verify_options(&[0, 1]))
        .await
        .expect("verify");
    assert!(
        r.violations
            .iter()
            .any(|v| matches!(v, Violation::UncommittedFile { .. })),
        "{r}"
    );

    // Scoped recovery of partition 1 leaves partition 0's debris alone.
    let rep = wh
        .recover_partitions(&[TopicPartition::new(TOPIC, 1)])
        .await
        .expect("recover 1");
    assert_eq!(rep.next_offset(TOPIC, 1), Some(5));
    assert_eq!(rep.next_offset(TOPIC, 0), None);
    assert_eq!(rep.deleted_temp.len(), 1);
    assert!(rep.deleted_data_files.is_empty());
    assert!(orphan.exists());

    let rep = wh.recover().await.expect("recover");
    assert_eq!(rep.next_offset(TOPIC, 0), Some(20));
    assert_eq!(rep.next_offset(TOPIC, 1), Some(5));
    assert_eq!(
        rep.committed[&TopicPartition::new(TOPIC, 0)],
        vec![
            OffsetRange { start: 0, end: 9 },
            OffsetRange { start: 10, end: 19 }
        ]
    );
    assert_eq!(
        rep.deleted_data_files,
        vec!["raw/events+0+00000000000000000020+00000000000000000029.parquet".to_owned()]
    );
    assert_eq!(rep.deleted_temp.len(), 1);
    assert!(!orphan.exists());
    assert!(files_under(&dir.path().join("_tmp")).is_empty());

    // Landing resumes at the next offset.
    land(&wh, 0, 20, 29).await;
    let r = verify(&wh, &common::verify_options(&[0, 1]))
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
    common::check_rows_range(&wh, 0, 0, 29)
        .await
        .expect("rows p0");
}

#[tokio::test]
async fn begin_range_guards_offsets() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    land(&wh, 0, 0, 9).await;
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
    land(&wh, 0, 12, 20).await;
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

    let r = verify(&wh, &common::verify_options(&[0]))
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.accepted_gaps.len(), 1);
    let rep = wh.recover().await.expect("recover");
    assert_eq!(rep.next_offset(TOPIC, 0), Some(21));
}

#[tokio::test]
async fn verify_reports_each_violation() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    land(&wh, 0, 0, 9).await;
    land(&wh, 0, 10, 19).await;
    // Gap 20..=29: landed through another Warehouse (this one refuses to skip offsets).
    land(&open(&dir).await, 0, 30, 39).await;
    land(&wh, 1, 0, 9).await;
    land(&wh, 2, 0, 9).await;
    land(&wh, 3, 0, 9).await;
    // Overlap: a second process landed 35..=45 of partition 0 (forge via a fresh warehouse).
    let other = open(&dir).await;
    let mut w = other
        .begin_range(TOPIC, 0, 35, &data::tables())
        .expect("begin");
    let (raw, acc, rej) = data::batches(0, 35, 45);
    w.write("raw", &raw).await.expect("raw");
    w.write("assessments", &acc).await.expect("acc");
    w.write("rejects", &rej).await.expect("rej");
    w.commit(45).await.expect("commit");
    // Missing file: delete partition 1's raw file.
    std::fs::remove_file(
        dir.path()
            .join("raw/events+1+00000000000000000000+00000000000000000009.parquet"),
    )
    .expect("rm");
    // Count mismatch: replace partition 2's rejects file by partition 3's rows 0..=9 of raw
    // (10 rows, marker says 1).
    std::fs::copy(
        dir.path()
            .join("raw/events+3+00000000000000000000+00000000000000000009.parquet"),
        dir.path()
            .join("rejects/events+2+00000000000000000000+00000000000000000009.parquet"),
    )
    .expect("copy");
    // Unreadable: truncate partition 3's rejects file.
    std::fs::write(
        dir.path()
            .join("rejects/events+3+00000000000000000000+00000000000000000009.parquet"),
        b"PAR1garbage",
    )
    .expect("write");
    // Unbalanced + inconsistent marker: edit partition 1's marker.
    let mpath = dir
        .path()
        .join("_commits/events+1+00000000000000000000+00000000000000000009");
    let text = std::fs::read_to_string(&mpath).expect("marker");
    let mut m: hdfs_sink::Marker = serde_json::from_str(&text).expect("json");
    m.tables.get_mut("rejects").expect("rejects").rows += 1;
    std::fs::write(&mpath, serde_json::to_vec(&m).expect("ser")).expect("write");
    // Corrupt marker.
    std::fs::write(
        dir.path()
            .join("_commits/events+4+00000000000000000000+00000000000000000009"),
        b"not json",
    )
    .expect("write");

    let r = verify(&wh, &common::verify_options(&[0, 1, 2, 3]))
        .await
        .expect("verify");
    assert!(!r.is_ok());
    let text = r.to_string();
    println!("{text}");
    let has = |f: &dyn Fn(&Violation) -> bool| r.violations.iter().any(f);
    assert!(
        has(
            &|v| matches!(v, Violation::Gap { missing, .. } if *missing == OffsetRange { start: 20, end: 29 })
        ),
        "{text}"
    );
    assert!(
        has(&|v| matches!(v, Violation::Overlap { first, second, .. }
        if *first == OffsetRange { start: 30, end: 39 } && *second == OffsetRange { start: 35, end: 45 })),
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
            &|v| matches!(v, Violation::RowCountMismatch { tp, table, marker_rows: 1, file_rows: 10, .. }
        if tp.partition == 2 && table == "rejects")
        ),
        "{text}"
    );
    assert!(
        has(
            &|v| matches!(v, Violation::UnreadableFile { path, .. } if path.contains("rejects/events+3"))
        ),
        "{text}"
    );
    assert!(
        has(&|v| matches!(v, Violation::Unbalanced { tp, .. } if tp.partition == 1)),
        "{text}"
    );
    assert!(
        has(&|v| matches!(v, Violation::InconsistentMarker { tp, .. } if tp.partition == 1)),
        "{text}"
    );
    assert!(
        has(&|v| matches!(v, Violation::CorruptMarker { path, .. } if path.contains("events+4"))),
        "{text}"
    );
    assert!(
        text.contains("gap: events/0 offsets 20..=29 (10 offsets) are not committed"),
        "{text}"
    );

    // An accepted gap is reported but not a violation.
    wh.record_gap(TOPIC, 0, 20, 29, "retention")
        .await
        .expect("gap");
    let r = verify(&wh, &common::verify_options(&[0]))
        .await
        .expect("verify");
    assert!(
        !r.violations
            .iter()
            .any(|v| matches!(v, Violation::Gap { .. })),
        "{r}"
    );
    assert_eq!(
        r.accepted_gaps,
        vec![(
            TopicPartition::new(TOPIC, 0),
            OffsetRange { start: 20, end: 29 }
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
    assert!(files_under(&dir.path().join("_tmp")).is_empty());
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
    assert!(e.to_string().contains("nope/_commits"), "{e}");
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
    common::check_rows(&wh, &[0, 1], 1600).await.expect("rows");
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
