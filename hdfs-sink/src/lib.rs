//! Exactly-once Delta Lake tables in HDFS (through [hdfs-native]) or a local directory.
//!
//! `hdfs-sink` lands Arrow [`RecordBatch`](arrow_array::RecordBatch)es of Kafka offset ranges
//! as Parquet files of **Delta Lake tables**: the Delta log (`_delta_log/`, written through
//! [delta-rs]), not Kafka and not file names, says what has landed, so every Delta reader
//! (Spark, Python `deltalake`, DuckDB `delta_scan`, Trino, Polars, DataFusion) sees exactly the
//! committed rows. It knows nothing of the data it lands: callers give table names, Arrow
//! schemas, batches and offsets. Parquet encoding (column options, memory budget, rotation)
//! stays this crate's own; delta-rs only owns the log.
//!
//! # The protocol
//!
//! Every table is a Delta table `<root>/<table>/`, created with its Arrow schema (plus the
//! date partition column where [`DatePartitioning`] is configured) by
//! [`Warehouse::create_tables`] or by the first range that declares it: an empty table is a
//! table. For one range `start..=end` of one Kafka partition (a file never spans two):
//!
//! 1. Each table's rows stream into Parquet files written in place,
//!    `<table>/[date=YYYY-MM-DD/]<topic>-<partition>-<start:020>-<nonce>-<n>.parquet`
//!    ([`RangeWriter::write`]). Until committed they are orphans: no Delta reader sees them.
//! 2. [`RangeWriter::commit`] closes the files (complete on the DataNodes / `fsync`ed), then
//!    makes **one Delta commit per table**: the Add actions of the table's files (size,
//!    partition values, `numRecords` and min/max/null counts of top-level primitive columns),
//!    the application transaction `txn(appId = "kafka/<topic>/<partition>", version = end)`
//!    and an `hdfsSink` entry in the commitInfo (topic, partition, start, end, the writer's
//!    nonce and the row counts of every table of the range, so `raw = assessments + rejects`
//!    is checkable from any one table's log). A table without rows commits too: its txn
//!    advances. Each log version is created atomically (put-if-absent; rename without
//!    overwrite on HDFS).
//! 3. **Fencing**: a table's commit goes ahead only while its txn version for the partition
//!    is still the one the range started from; otherwise [`Error::Fenced`] and nothing further
//!    of the range commits. Writers of different partitions append to the same tables
//!    concurrently (delta-rs retries non-conflicting version collisions).
//! 4. [`Warehouse::recover`] / [`Warehouse::recover_partitions`] read the logs and return the
//!    next offset per partition: the minimum over tables of (txn version + 1). A range that
//!    some tables committed before a crash is landed again from there; each table drops the
//!    rows whose offset (column [`SinkConfig::offset_column`]) it has already committed.
//!    **Nothing is ever deleted**: a file that no version references may belong to a live
//!    writer; [`verify`] lists such orphans, vacuum removes them.
//! 5. Every 100th version of a table writes a checkpoint, so opening stays fast; the log is
//!    never cleaned up automatically (it is the record of which offsets each version holds).
//!
//! A process killed at any point leaves each table either with the range's commit or without
//! it; re-landing from the recovered offsets yields every offset exactly once in every table.
//! [`verify`] proves it on a warehouse; [`Warehouse::markers`] reconstructs one [`Marker`] per
//! committed range from the logs.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Int64Array, RecordBatch, StringArray};
//! use arrow_schema::{DataType, Field, Schema};
//! use hdfs_sink::{SinkConfig, VerifyOptions, Warehouse, verify};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let url = dir.path().to_str().ok_or("path")?.to_owned();
//! let rt = tokio::runtime::Runtime::new()?;
//! rt.block_on(async {
//!     // A local directory here; "hdfs://namenode:9000/warehouse" works the same way.
//!     let warehouse = Warehouse::open(&url, SinkConfig::builder().build()?).await?;
//!     let schema = Arc::new(Schema::new(vec![
//!         Field::new("_offset", DataType::Int64, false),
//!         Field::new("body", DataType::Utf8, false),
//!     ]));
//!     warehouse.create_tables(&[("raw", schema.clone())]).await?;
//!     let report = warehouse.recover().await?;
//!     let start = report.next_offset("events", 0).unwrap_or(0);
//!
//!     let batch = RecordBatch::try_new(
//!         schema.clone(),
//!         vec![
//!             Arc::new(Int64Array::from(vec![start, start + 1])),
//!             Arc::new(StringArray::from(vec!["a", "b"])),
//!         ],
//!     )?;
//!
//!     let mut range = warehouse.begin_range("events", 0, start, &[("raw", schema)])?;
//!     range.write("raw", &batch).await?;
//!     let info = range.commit(start + 1).await?;
//!     assert_eq!(info.rows("raw"), 2);
//!
//!     assert_eq!(warehouse.recover().await?.next_offset("events", 0), Some(start + 2));
//!     let check = verify(&warehouse, &VerifyOptions::default()).await?;
//!     assert!(check.is_ok(), "{check}");
//!     assert_eq!(warehouse.read_committed("raw").await?, vec![batch]);
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })
//! # }
//! ```
//!
//! # Table maintenance
//!
//! [`Warehouse::compact`] bin-packs small data files into large ones, [`Warehouse::vacuum`]
//! deletes the data files no version needs any more; the `compact` and `vacuum` programs of
//! `assessment-query` run them.
//!
//! Neither links DataFusion: files are read with the `parquet` crate and re-encoded with the
//! table's own writer properties (those the [`SinkConfig`] given to
//! [`Warehouse::open`] configures for it: codec, dictionary, statistics, per-column
//! overrides, row group limits), exactly as [`RangeWriter`] encodes them.
//!
//! ## Compaction
//!
//! Per table, the active files of the latest version are grouped by directory and partition
//! values (one group per `date=…` directory of a date-partitioned table, one for the table
//! otherwise). Rules:
//!
//! * a file of at least half the target size ([`CompactOptions::target_file_bytes`], default
//!   [`DEFAULT_TARGET_FILE_BYTES`] = 128 MiB) is left alone;
//! * a group with fewer than 2 smaller files is left alone;
//! * the small files of a group, ordered by (topic, partition, start offset) of their names
//!   (files not named by a range writer, e.g. earlier compactions' outputs, first, in log
//!   order), are packed greedily into bins of at most the target size (sum of the input
//!   sizes); a bin of one file is left alone;
//! * each bin is rewritten into one new file `[date=…/]compacted-<nonce>-<n>.parquet` in the
//!   group's directory (two if its files have different Arrow schemas), streamed file by
//!   file: one input file and one row group are in memory at a time, row groups are written
//!   to the storage as they fill. Row counts are checked against the footers and the log's
//!   `numRecords`; rows keep their order and values.
//!
//! Then **one Delta commit per table**, operation `OPTIMIZE`: a Remove (`dataChange: false`)
//! of every rewritten file and an Add (`dataChange: false`, stats with `numRecords`,
//! min/max/null counts as the writer makes them) of every new one, and an
//! `hdfsSinkMaintenance` entry in the commitInfo (kind, nonce, counts) — no `txn` action
//! and no `hdfsSink` entry, so recovery's next offsets, the ranges reconstructed by
//! [`Warehouse::markers`] and [`verify`]'s contiguity and balance checks do
//! not change (markers list only files still active: a compacted range lists none).
//!
//! Compaction may run while ranges are landed. Appends never conflict with it: delta-rs lets
//! a range's commit retry past an `OPTIMIZE` (its Removes have `dataChange: false`), and the
//! compaction retries past appends. Before each retry the compaction checks the versions
//! committed since it read the table: if one removed a file it rewrote (a concurrent
//! compaction, or another engine's delete or optimize) or changed the table's metadata or
//! protocol, it **gives up** ([`CompactOutcome::GaveUp`]): it deletes the files it wrote and
//! the table is as before. It also gives up after [`CompactOptions::max_attempts`] lost
//! races. If a commit fails in a way that leaves it unknown whether it landed and the log
//! does not show it, the new files stay as orphans (vacuum removes them) and the error is
//! returned.
//!
//! ## Vacuum
//!
//! Per table, the data files (`*.parquet` outside `_delta_log/` and hidden `_`/`.`
//! directories) are listed with their modification times, then the log is read. A file is
//! deleted only if **none** of these holds:
//!
//! * the table's latest version references it (it is active);
//! * it was modified less than [`VacuumOptions::retention`] ago (default 168 h): it may be a
//!   live writer's file not committed yet — a range open for longer than the retention is
//!   the one case vacuum cannot protect, so keep the retention far above the rotation
//!   interval;
//! * it was removed (by a compaction, or another engine) less than the retention ago, by its
//!   Remove's `deletionTimestamp` (else its commit's timestamp): readers of recent versions
//!   may still read it.
//!
//! So it deletes the files replaced by compactions once their removal is older than the
//! retention, and orphans — data files no version ever referenced (a crashed writer's, a
//! compaction that could not commit) — once older than the retention. The log is read again
//! right before deleting, and a file committed in between is kept. Vacuum commits nothing to
//! the log (unlike delta-rs's `VacuumBuilder`, which also deletes any unreferenced file, not
//! only data files, and writes two log versions per run) and never deletes log files.
//!
//! # Errors
//!
//! One error type, [`Error`]: storage failures are mapped to semantic variants naming the path
//! ([`Error::PermissionDenied`], [`Error::NoSpace`], [`Error::SafeMode`],
//! [`Error::Unreachable`], …); transient ones are retried with bounded exponential backoff
//! ([`RetryPolicy`]) before they surface. Errors of a range carry its coordinates
//! ([`Error::Range`]). delta-rs errors become [`Error::Delta`] naming the table URL and
//! version; a warehouse of the earlier marker protocol (`_commits/`) is refused with
//! [`Error::LegacyLayout`].
//!
//! # Testing hook
//!
//! The environment variable `SINK_CRASH_AT=<point>[:<n>]` aborts the process at a named point
//! of the protocol (see [`failpoint::FAILPOINTS`]); the crash tests use it.
//!
//! [hdfs-native]: https://docs.rs/hdfs-native
//! [delta-rs]: https://docs.rs/deltalake-core

#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::future_not_send)]

mod checkpoint;
mod config;
mod delta;
mod error;
pub mod failpoint;
mod hive;
mod maintenance;
mod marker;
mod names;
mod stats;
mod storage;
mod verify;
mod warehouse;
mod writer;

pub use config::{
    ColumnOptions, Compression, DatePartitioning, Encoding, ParquetOptions, RetryPolicy,
    RotationPolicy, SinkConfig, SinkConfigBuilder, Statistics,
};
pub use error::{BackendError, ConfigError, Error, Op, Result};
pub use maintenance::{
    CompactOptions, CompactOutcome, CompactReport, DEFAULT_RETENTION, DEFAULT_TARGET_FILE_BYTES,
    VacuumOptions, VacuumReason, VacuumReport, VacuumedFile,
};
pub use marker::{FileEntry, GapRecord, Marker, TableEntry};
pub use names::{OffsetRange, TopicPartition};
pub use verify::{Balance, PartitionSummary, VerifyOptions, VerifyReport, Violation, verify};
pub use warehouse::{RecoveryReport, Warehouse};
pub use writer::{CommitInfo, RangeWriter, TableCommit};
