//! Table maintenance on the local backend: compaction keeps every row, recovery and verify;
//! vacuum deletes only replaced files and orphans older than the retention; compaction
//! racing with range commits and with another compaction loses and duplicates nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::common::data::{self, TOPIC};
use crate::common::land::land_range;
use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_schema::Schema;
use hdfs_sink::{
    CompactOptions, CompactOutcome, CompactReport, VacuumOptions, VacuumReason, Warehouse, verify,
};

const TABLES: [&str; 3] = ["raw", "assessments", "rejects"];

async fn open(dir: &tempfile::TempDir) -> Warehouse {
    Warehouse::open(dir.path().to_str().expect("utf8"), crate::common::config())
        .await
        .expect("open")
}

async fn land(wh: &Warehouse, p: i32, start: i64, end: i64) {
    land_range(wh, p, start, end).await;
}

/// Land `ranges` ranges of `rows` offsets, alternating partitions 0 and 1 from offset 0.
/// Returns the next offset of each partition.
async fn land_small_ranges(wh: &Warehouse, ranges: usize, rows: i64) -> [i64; 2] {
    let mut next = [0i64; 2];
    for i in 0..ranges {
        let p = i % 2;
        land(wh, p as i32, next[p], next[p] + rows - 1).await;
        next[p] += rows;
    }
    next
}

/// Every row of `table`'s latest version, keyed by (partition, offset), with schema metadata
/// stripped (each file's key-value metadata names its own range).
async fn rows(wh: &Warehouse, table: &str) -> Vec<((i32, i64), RecordBatch)> {
    let mut out = Vec::new();
    for b in wh.read_committed(table).await.expect("read") {
        let b = RecordBatch::try_new(
            Arc::new(Schema::new(b.schema().fields().clone())),
            b.columns().to_vec(),
        )
        .expect("batch");
        let ps = b.column(0).as_primitive::<Int32Type>().clone();
        let os = b.column(1).as_primitive::<Int64Type>().clone();
        for i in 0..b.num_rows() {
            out.push(((ps.value(i), os.value(i)), b.slice(i, 1)));
        }
    }
    out.sort_by_key(|(k, _)| *k);
    out
}

async fn all_rows(wh: &Warehouse) -> BTreeMap<&'static str, Vec<((i32, i64), RecordBatch)>> {
    let mut out = BTreeMap::new();
    for t in TABLES {
        out.insert(t, rows(wh, t).await);
    }
    out
}

fn active_files(dir: &std::path::Path, table: &str) -> usize {
    count_parquet(&dir.join(table))
}

/// `.parquet` files under `dir`, outside `_delta_log`.
fn count_parquet(dir: &std::path::Path) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            if e.file_type().expect("type").is_dir() {
                if e.file_name() != "_delta_log" {
                    stack.push(e.path());
                }
            } else if e.path().extension().is_some_and(|x| x == "parquet") {
                n += 1;
            }
        }
    }
    n
}

/// The JSON actions of version `v` of a table's log.
fn log_actions(dir: &std::path::Path, table: &str, v: i64) -> Vec<serde_json::Value> {
    let path = dir.join(format!("{table}/_delta_log/{v:020}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

fn committed_version(r: &CompactReport) -> i64 {
    match r.outcome {
        CompactOutcome::Committed { version } => version,
        ref other => panic!("{}: not committed: {other:?}", r.table),
    }
}

async fn verify_ok(wh: &Warehouse, strict_orphans: bool) -> hdfs_sink::VerifyReport {
    let report = verify(
        wh,
        &crate::common::verify_options(&[0, 1]).with_strict_orphans(strict_orphans),
    )
    .await
    .expect("verify");
    assert!(report.is_ok(), "{report}");
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_keeps_rows_offsets_and_verify_and_ranges_still_commit() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    let next = land_small_ranges(&wh, 200, 3).await;
    assert_eq!(next, [300, 300]);

    let before = all_rows(&wh).await;
    let recovered = wh.recover().await.expect("recover");
    let markers = wh.markers().await.expect("markers").len();
    assert_eq!(markers, 200);
    let verified = verify_ok(&wh, true).await;
    let snapshot = wh.snapshot_files().await.expect("snapshot");
    assert_eq!(snapshot["raw"].len(), 200);
    let dates: BTreeSet<String> = snapshot["assessments"]
        .iter()
        .map(|f| f.path.split('/').nth(1).expect("date dir").to_owned())
        .collect();
    assert!(dates.len() > 50, "{}", dates.len());

    let reports = wh
        .compact_all(&CompactOptions::default())
        .await
        .expect("compact");
    let by_table: BTreeMap<&str, &CompactReport> =
        reports.iter().map(|r| (r.table.as_str(), r)).collect();
    assert_eq!(
        by_table.keys().copied().collect::<Vec<_>>(),
        ["assessments", "raw", "rejects"]
    );
    for r in &reports {
        let version = committed_version(r);
        assert_eq!(
            r.files_after,
            r.files_before - r.files_rewritten + r.files_written
        );
        assert_eq!(
            r.rows_rewritten, r.rows,
            "{}: every file was small",
            r.table
        );
        assert_eq!(r.attempts, 1);

        // The commit: Removes and Adds without data change, OPTIMIZE, no txn, no hdfsSink.
        let actions = log_actions(dir.path(), &r.table, version);
        let info = actions
            .iter()
            .find_map(|a| a.get("commitInfo"))
            .expect("commitInfo");
        assert_eq!(info["operation"], "OPTIMIZE");
        assert!(info.get("hdfsSink").is_none(), "{info}");
        assert_eq!(info["hdfsSinkMaintenance"]["kind"], "compact");
        assert!(actions.iter().all(|a| a.get("txn").is_none()));
        let removes: Vec<_> = actions.iter().filter_map(|a| a.get("remove")).collect();
        let adds: Vec<_> = actions.iter().filter_map(|a| a.get("add")).collect();
        assert_eq!(removes.len(), r.files_rewritten);
        assert_eq!(adds.len(), r.files_written);
        assert!(removes.iter().all(|x| x["dataChange"] == false));
        let mut rows = 0;
        for a in &adds {
            assert_eq!(a["dataChange"], false);
            let stats: serde_json::Value =
                serde_json::from_str(a["stats"].as_str().expect("stats")).expect("json");
            rows += stats["numRecords"].as_u64().expect("numRecords");
            assert!(stats["minValues"].get("_offset").is_some(), "{stats}");
        }
        assert_eq!(rows, r.rows_rewritten);
    }
    // Few files: one per table, one per date for the partitioned table.
    assert_eq!(by_table["raw"].files_after, 1);
    assert_eq!(by_table["rejects"].files_after, 1);
    assert_eq!(by_table["assessments"].files_after, dates.len());
    assert_eq!(by_table["assessments"].partitions, dates.len());
    assert_eq!(
        active_files(dir.path(), "raw"),
        201,
        "the replaced files stay until vacuum"
    );

    // Same rows, same offsets, same ranges; verify holds (the replaced files are referenced
    // by older versions: not orphans).
    assert!(before == all_rows(&wh).await, "rows changed by compaction");
    let after = wh.recover().await.expect("recover");
    assert_eq!(after.next_offsets, recovered.next_offsets);
    assert_eq!(after.table_offsets, recovered.table_offsets);
    assert_eq!(wh.markers().await.expect("markers").len(), markers);
    let verified_after = verify_ok(&wh, true).await;
    assert_eq!(verified_after.partitions, verified.partitions);
    assert!(verified_after.orphan_files.is_empty());
    let snapshot = wh.snapshot_files().await.expect("snapshot");
    assert_eq!(snapshot["raw"].len(), 1);
    assert!(snapshot["raw"][0].path.starts_with("raw/compacted-"));
    assert_eq!(snapshot["raw"][0].rows, 600);
    crate::common::check_rows(&wh, &[0, 1], 300)
        .await
        .expect("rows");

    // A reopened warehouse (another process) agrees.
    let wh2 = open(&dir).await;
    assert_eq!(
        wh2.recover().await.expect("recover").next_offsets,
        recovered.next_offsets
    );
    assert!(before == all_rows(&wh2).await);

    // Ranges still commit after the compaction, and a second compaction packs the compacted
    // file with the new small one.
    land(&wh2, 0, 300, 309).await;
    assert_eq!(
        wh2.recover().await.expect("recover").next_offset(TOPIC, 0),
        Some(310)
    );
    verify_ok(&wh2, true).await;
    let r = wh2
        .compact("raw", &CompactOptions::default())
        .await
        .expect("compact");
    committed_version(&r);
    assert_eq!((r.files_before, r.files_after), (2, 1));
    crate::common::check_rows_range(&wh2, 0, 0, 309)
        .await
        .expect("partition 0");
    crate::common::check_rows_range(&wh2, 1, 0, 299)
        .await
        .expect("partition 1");

    // Nothing left to do: a lone small file, or files of at least half the target.
    let r = wh2
        .compact("raw", &CompactOptions::default())
        .await
        .expect("compact");
    assert_eq!(r.outcome, CompactOutcome::NothingToDo);
    let r = wh2
        .compact(
            "assessments",
            &CompactOptions::default().with_target_file_bytes(2),
        )
        .await
        .expect("compact");
    assert_eq!(r.outcome, CompactOutcome::NothingToDo);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_target_packs_into_several_files_of_at_most_the_target() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    land_small_ranges(&wh, 40, 5).await;
    let before = rows(&wh, "raw").await;
    let sizes: Vec<u64> = wh.snapshot_files().await.expect("snapshot")["raw"]
        .iter()
        .map(|f| f.bytes)
        .collect();
    let target = sizes.iter().max().copied().unwrap_or(0) * 5;
    let r = wh
        .compact(
            "raw",
            &CompactOptions::default().with_target_file_bytes(target),
        )
        .await
        .expect("compact");
    committed_version(&r);
    assert!(r.files_written >= 4 && r.files_written < 20, "{r:?}");
    // A last bin of one file is left alone.
    assert!(r.files_rewritten >= 39, "{r:?}");
    assert_eq!(r.files_after, 40 - r.files_rewritten + r.files_written);
    assert!(before == rows(&wh, "raw").await);
    verify_ok(&wh, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vacuum_deletes_only_replaced_files_and_orphans_older_than_the_retention() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    land_small_ranges(&wh, 200, 3).await;
    let reports = wh
        .compact_all(&CompactOptions::default())
        .await
        .expect("compact");
    let replaced: usize = reports.iter().map(|r| r.files_rewritten).sum();
    let active: usize = reports.iter().map(|r| r.files_after).sum();
    let before = all_rows(&wh).await;
    let next = wh.recover().await.expect("recover").next_offsets;

    // An orphan (a crashed writer's file, never committed), a file that is not a data file,
    // and a live writer's file not committed yet.
    let some_file = wh.snapshot_files().await.expect("snapshot")["raw"][0]
        .path
        .clone();
    let orphan = dir
        .path()
        .join("raw/events-0-00000000000000009999-00deadbeef-0.parquet");
    std::fs::copy(dir.path().join(&some_file), &orphan).expect("plant orphan");
    let notes = dir.path().join("raw/notes.txt");
    std::fs::write(&notes, "not a data file").expect("notes");
    let mut live = wh
        .begin_range(TOPIC, 1, 300, &data::tables())
        .expect("begin");
    let (raw, acc, rej) = data::batches(1, 300, 304);
    live.write("raw", &raw).await.expect("raw");
    live.write("assessments", &acc).await.expect("acc");
    live.write("rejects", &rej).await.expect("rej");

    // A long retention: everything is too young.
    let r = wh.vacuum(&VacuumOptions::default()).await.expect("vacuum");
    assert!(r.deleted.is_empty(), "{:?}", r.deleted);
    assert_eq!(r.tables, 3);
    assert!(r.kept_recent > replaced, "{r:?}");
    assert_eq!(r.files_after, r.files_before);
    assert!(orphan.exists());

    // The live range commits: vacuum left its files alone.
    live.commit(304).await.expect("live range commits");
    let mut before = before;
    for t in TABLES {
        before.insert(t, rows(&wh, t).await);
    }

    // Retention 0, dry run: listed, nothing deleted.
    let zero = VacuumOptions::default().with_retention(Duration::ZERO);
    let dry = wh
        .vacuum(&zero.clone().with_dry_run(true))
        .await
        .expect("dry run");
    assert!(dry.dry_run);
    assert_eq!(dry.count(VacuumReason::Removed), replaced);
    assert_eq!(dry.count(VacuumReason::Orphan), 1);
    assert!(orphan.exists());
    assert_eq!(count_parquet(dir.path()), dry.files_before);

    // Retention 0: the replaced files and the orphan go; nothing else.
    let r = wh.vacuum(&zero).await.expect("vacuum");
    assert_eq!(r.count(VacuumReason::Removed), replaced);
    assert_eq!(r.count(VacuumReason::Orphan), 1);
    assert_eq!(r.deleted, dry.deleted);
    assert!(r.deleted.iter().any(|f| f.path
        == "raw/events-0-00000000000000009999-00deadbeef-0.parquet"
        && f.reason == VacuumReason::Orphan));
    assert!(!orphan.exists());
    assert!(notes.exists(), "not a data file: kept");
    // What is left is exactly the latest versions' files (the compacted ones plus the live
    // range's).
    let snapshot = wh.snapshot_files().await.expect("snapshot");
    let live_files: usize = snapshot.values().map(Vec::len).sum();
    assert!(live_files > active, "the live range's files are active too");
    assert_eq!(count_parquet(dir.path()), live_files);
    assert_eq!(r.files_after, live_files);
    assert!(
        dir.path()
            .join("raw/_delta_log/00000000000000000000.json")
            .exists()
    );

    // Rows, offsets and verify unchanged; the old versions' files are gone but verify only
    // checks the latest version's.
    assert!(before == all_rows(&wh).await, "rows changed by vacuum");
    let mut next = next;
    next.insert(hdfs_sink::TopicPartition::new(TOPIC, 1), 305);
    assert_eq!(wh.recover().await.expect("recover").next_offsets, next);
    let v = verify_ok(&wh, true).await;
    assert!(v.orphan_files.is_empty(), "{:?}", v.orphan_files);

    // Nothing more to delete.
    let r = wh.vacuum(&zero).await.expect("vacuum");
    assert!(r.deleted.is_empty(), "{:?}", r.deleted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_racing_with_range_commits_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    let mut next = land_small_ranges(&wh, 60, 3).await;
    for round in 0..3 {
        // Another process compacts while this one commits ranges.
        let compactor = open(&dir).await;
        let compaction =
            tokio::spawn(async move { compactor.compact_all(&CompactOptions::default()).await });
        let landing = {
            let wh = wh.clone();
            let start = next;
            tokio::spawn(async move {
                let mut next = start;
                for i in 0..6 {
                    let p = i % 2;
                    land(&wh, p as i32, next[p], next[p] + 2).await;
                    next[p] += 3;
                }
                next
            })
        };
        let reports = compaction.await.expect("join").expect("compaction");
        next = landing.await.expect("join");
        for r in &reports {
            eprintln!(
                "round {round}: {}: {:?}, {} attempt(s)",
                r.table, r.outcome, r.attempts
            );
            assert!(
                matches!(
                    r.outcome,
                    CompactOutcome::Committed { .. } | CompactOutcome::GaveUp { .. }
                ),
                "round {round}: {r:?}"
            );
        }
        assert_eq!(next[0], next[1]);
        let recovered = wh.recover().await.expect("recover");
        assert_eq!(recovered.next_offset(TOPIC, 0), Some(next[0]));
        assert_eq!(recovered.next_offset(TOPIC, 1), Some(next[1]));
        crate::common::check_rows(&wh, &[0, 1], next[0])
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        verify_ok(&wh, true).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_compactions_at_once_never_duplicate_rows() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = open(&dir).await;
    land_small_ranges(&wh, 60, 3).await;
    let a = open(&dir).await;
    let b = open(&dir).await;
    let (ra, rb) = tokio::join!(
        tokio::spawn(async move { a.compact_all(&CompactOptions::default()).await }),
        tokio::spawn(async move { b.compact_all(&CompactOptions::default()).await }),
    );
    let (ra, rb) = (ra.expect("join").expect("a"), rb.expect("join").expect("b"));
    for (x, y) in ra.iter().zip(&rb) {
        eprintln!("{}: {:?} / {:?}", x.table, x.outcome, y.outcome);
        assert_eq!(x.table, y.table);
        let committed = [x, y]
            .iter()
            .filter(|r| matches!(r.outcome, CompactOutcome::Committed { .. }))
            .count();
        assert_eq!(committed, 1, "{x:?}\n{y:?}");
        for r in [x, y] {
            assert!(
                matches!(
                    r.outcome,
                    CompactOutcome::Committed { .. }
                        | CompactOutcome::GaveUp { .. }
                        | CompactOutcome::NothingToDo
                ),
                "{r:?}"
            );
        }
    }
    crate::common::check_rows(&wh, &[0, 1], 90)
        .await
        .expect("rows");
    // The loser deleted what it wrote: no orphans.
    verify_ok(&wh, true).await;
}

/// The same on the real HDFS (feature `it`, `$IT_HDFS_URL`, default hdfs://127.0.0.1:9000):
/// the data files are written through our HDFS backend, listed with their modification times
/// through delta-rs's HDFS object store, deleted through our backend.
#[cfg(feature = "it")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_hdfs_compaction_and_vacuum_keep_every_row() {
    let base = std::env::var("IT_HDFS_URL")
        .unwrap_or_else(|_| "hdfs://127.0.0.1:9000".to_owned())
        .trim_end_matches('/')
        .to_owned();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let root = format!("/it-hdfs-sink/maintenance-{nanos}-{}", std::process::id());
    let url = format!("{base}{root}");
    let wh = Warehouse::open(&url, crate::common::config())
        .await
        .unwrap_or_else(|e| {
            panic!("open {url}: {e} (is the test cluster up? scripts/test-cluster up)")
        });
    land_small_ranges(&wh, 40, 3).await;
    let before = all_rows(&wh).await;
    let reports = wh
        .compact_all(&CompactOptions::default())
        .await
        .expect("compact");
    let mut replaced = 0;
    for r in &reports {
        committed_version(r);
        replaced += r.files_rewritten;
    }
    assert!(before == all_rows(&wh).await, "rows changed by compaction");
    verify_ok(&wh, true).await;

    // An orphan: a copy of a data file under a writer's name, never committed.
    let client = hdfs_native::ClientBuilder::new()
        .with_url(&base)
        .build()
        .expect("hdfs client");
    let some = wh.snapshot_files().await.expect("snapshot")["raw"][0]
        .path
        .clone();
    let src = client
        .read(&format!("{root}/{some}"))
        .await
        .expect("open for read");
    let bytes = src.read_range(0, src.file_length()).await.expect("read");
    let mut w = client
        .create(
            &format!("{root}/raw/events-0-00000000000000009999-00deadbeef-0.parquet"),
            hdfs_native::WriteOptions::default(),
        )
        .await
        .expect("create");
    w.write(bytes).await.expect("write");
    w.close().await.expect("close");

    let r = wh.vacuum(&VacuumOptions::default()).await.expect("vacuum");
    assert!(r.deleted.is_empty(), "{:?}", r.deleted);
    let r = wh
        .vacuum(&VacuumOptions::default().with_retention(Duration::ZERO))
        .await
        .expect("vacuum");
    assert_eq!(r.count(VacuumReason::Removed), replaced, "{r:?}");
    assert_eq!(r.count(VacuumReason::Orphan), 1, "{r:?}");
    let snapshot = wh.snapshot_files().await.expect("snapshot");
    assert_eq!(
        r.files_after,
        snapshot.values().map(Vec::len).sum::<usize>()
    );
    assert!(before == all_rows(&wh).await, "rows changed by vacuum");
    let v = verify_ok(&wh, true).await;
    assert!(v.orphan_files.is_empty(), "{:?}", v.orphan_files);
    crate::common::check_rows(&wh, &[0, 1], 60)
        .await
        .expect("rows");
    let next = wh.recover().await.expect("recover");
    assert_eq!(next.next_offset(TOPIC, 0), Some(60));
    assert_eq!(next.next_offset(TOPIC, 1), Some(60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compacted_files_are_encoded_with_the_tables_parquet_settings() {
    use hdfs_sink::{ColumnOptions, Compression, Encoding, SinkConfig};
    use parquet::file::reader::{FileReader, SerializedFileReader};

    let dir = tempfile::tempdir().expect("tmp");
    let config = SinkConfig::builder()
        .with_row_group_rows(16)
        .with_date_partitioning("assessments", "ts")
        .with_column_options(
            "raw",
            "_offset",
            ColumnOptions {
                dictionary: Some(false),
                encoding: Some(Encoding::DeltaBinaryPacked),
                ..ColumnOptions::default()
            },
        )
        .with_column_options(
            "raw",
            "value",
            ColumnOptions {
                compression: Some(Compression::Zstd(1)),
                dictionary: Some(false),
                ..ColumnOptions::default()
            },
        )
        .build()
        .expect("config");
    let wh = Warehouse::open(dir.path().to_str().expect("utf8"), config)
        .await
        .expect("open");
    land_small_ranges(&wh, 20, 10).await;
    let before = rows(&wh, "raw").await;
    let r = wh
        .compact("raw", &CompactOptions::default())
        .await
        .expect("compact");
    committed_version(&r);
    assert_eq!((r.files_before, r.files_after), (20, 1));
    assert!(before == rows(&wh, "raw").await);
    let file = &wh.snapshot_files().await.expect("snapshot")["raw"][0];
    let reader =
        SerializedFileReader::new(std::fs::File::open(dir.path().join(&file.path)).expect("open"))
            .expect("parquet");
    let meta = reader.metadata();
    assert_eq!(meta.file_metadata().num_rows(), 200);
    assert!(meta.num_row_groups() > 1, "row groups of 16 rows");
    let rg = meta.row_group(0);
    let column = |name: &str| {
        (0..rg.num_columns())
            .map(|i| rg.column(i))
            .find(|c| c.column_path().string() == name)
            .expect("column")
    };
    let offset = column("_offset");
    assert!(
        offset
            .encodings()
            .any(|e| e == parquet::basic::Encoding::DELTA_BINARY_PACKED)
    );
    assert!(offset.dictionary_page_offset().is_none());
    let value = column("value");
    assert!(value.dictionary_page_offset().is_none());
    assert!(matches!(
        value.compression(),
        parquet::basic::Compression::ZSTD(_)
    ));
    // The compacted file names its compaction, not a range.
    let kv = meta.file_metadata().key_value_metadata().expect("kv");
    assert!(kv.iter().any(|k| k.key == "hdfs_sink.compacted_by"));
    assert!(!kv.iter().any(|k| k.key == "hdfs_sink.start_offset"));
}
