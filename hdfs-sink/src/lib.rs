//! Exactly-once Parquet files in HDFS (through [hdfs-native]) or a local directory.
//!
//! `hdfs-sink` lands Arrow [`RecordBatch`](arrow_array::RecordBatch)es of Kafka offset ranges
//! as Parquet files under a commit protocol that makes the storage, not Kafka, the source of
//! truth for what has landed. It knows nothing of the data it lands: callers give table names,
//! Arrow schemas, batches and offsets.
//!
//! # The protocol
//!
//! For one range `start..=end` of one Kafka partition (a file never spans two partitions):
//!
//! 1. Each table's rows stream into one Parquet file under `<root>/_tmp/<topic>+<partition>+<start>+<nonce>/`
//!    ([`RangeWriter::write`]); a table partitioned by date gets one file per
//!    `date=YYYY-MM-DD` directory.
//! 2. [`RangeWriter::commit`] closes the files (complete on the DataNodes / `fsync`ed), renames
//!    each to `<root>/<table>/[date=…/]<topic>+<partition>+<start:020>+<end:020>.parquet`, then
//!    creates the marker `<root>/_commits/<topic>+<partition>+<start:020>+<end:020>` (JSON with
//!    the row count of every table, see [`Marker`]) by writing it under `_tmp/` and renaming it
//!    without replace. **A range is committed if and only if its marker exists.**
//! 3. [`Warehouse::recover`] / [`Warehouse::recover_partitions`] list the markers, delete temp
//!    files and data files of ranges without a marker, and return the next offset per partition
//!    (`max(end) + 1`). Run it on start and on partition assignment, then consume from there.
//!
//! A process killed at any point leaves either a committed range (marker present: all its
//! files are in place) or debris that recovery deletes; re-landing the offsets then yields
//! every offset exactly once. [`verify`] proves it on a warehouse.
//!
//! Tables without rows in a range get **no file**; the marker lists them with `rows: 0`.
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
//!     let report = warehouse.recover().await?;
//!     let start = report.next_offset("events", 0).unwrap_or(0);
//!
//!     let schema = Arc::new(Schema::new(vec![
//!         Field::new("offset", DataType::Int64, false),
//!         Field::new("body", DataType::Utf8, false),
//!     ]));
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
//! # Errors
//!
//! One error type, [`Error`]: storage failures are mapped to semantic variants naming the path
//! ([`Error::PermissionDenied`], [`Error::NoSpace`], [`Error::SafeMode`],
//! [`Error::Unreachable`], …); transient ones are retried with bounded exponential backoff
//! ([`RetryPolicy`]) before they surface. Errors of a range carry its coordinates
//! ([`Error::Range`]).
//!
//! # Testing hook
//!
//! The environment variable `SINK_CRASH_AT=<point>[:<n>]` aborts the process at a named point
//! of the protocol (see [`failpoint::FAILPOINTS`]); the crash tests use it.
//!
//! [hdfs-native]: https://docs.rs/hdfs-native

#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::future_not_send)]

mod config;
mod error;
pub mod failpoint;
mod hive;
mod marker;
mod names;
mod storage;
mod verify;
mod warehouse;
mod writer;

pub use config::{
    ColumnOptions, Compression, DatePartitioning, Encoding, ParquetOptions, RetryPolicy,
    RotationPolicy, SinkConfig, SinkConfigBuilder, Statistics,
};
pub use error::{BackendError, ConfigError, Error, Op, Result};
pub use marker::{FileEntry, GapRecord, Marker, TableEntry};
pub use names::{OffsetRange, TopicPartition};
pub use verify::{Balance, PartitionSummary, VerifyOptions, VerifyReport, Violation, verify};
pub use warehouse::{RecoveryReport, Warehouse};
pub use writer::{CommitInfo, RangeWriter, TableCommit};
