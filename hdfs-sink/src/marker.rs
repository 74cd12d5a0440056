//! Commit markers and gap records (JSON).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The content of a commit marker `_commits/<topic>+<partition>+<start>+<end>`.
///
/// ```json
/// {"version":1,"topic":"t","partition":0,"start":0,"end":99,"committed_at_ms":1700000000000,
///  "tables":{"raw":{"rows":100,"files":[{"path":"raw/t+0+…+….parquet","rows":100,"bytes":4242}]},
///            "rejects":{"rows":0,"files":[]}}}
/// ```
///
/// Every table declared for the range is listed, with 0 rows and no file if it got no row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// Format version, currently 1.
    pub version: u32,
    /// Kafka topic.
    pub topic: String,
    /// Kafka partition.
    pub partition: i32,
    /// First offset.
    pub start: i64,
    /// Last offset (inclusive).
    pub end: i64,
    /// Wall-clock time of the commit, milliseconds since the epoch.
    pub committed_at_ms: u64,
    /// Per table: rows and files.
    pub tables: BTreeMap<String, TableEntry>,
}

/// A table's part of a commit marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableEntry {
    /// Rows of the table in this range (the sum over `files`).
    pub rows: u64,
    /// The data files (one per Hive partition directory; none if `rows == 0`).
    pub files: Vec<FileEntry>,
}

/// A data file named by a commit marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the warehouse root.
    pub path: String,
    /// Rows in the file.
    pub rows: u64,
    /// Size of the file in bytes.
    pub bytes: u64,
}

impl Marker {
    /// Rows of `table` in this range, `None` if the table is not listed.
    pub fn rows(&self, table: &str) -> Option<u64> {
        self.tables.get(table).map(|t| t.rows)
    }
}

/// An accepted gap `_gaps/<topic>+<partition>+<from>+<to>`, written by
/// [`Warehouse::record_gap`](crate::Warehouse::record_gap).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GapRecord {
    /// Format version, currently 1.
    pub version: u32,
    /// Kafka topic.
    pub topic: String,
    /// Kafka partition.
    pub partition: i32,
    /// First missing offset.
    pub from: i64,
    /// Last missing offset (inclusive).
    pub to: i64,
    /// Why the gap is accepted (e.g. "retention: low watermark 3000").
    pub reason: String,
    /// Wall-clock time of the record, milliseconds since the epoch.
    pub recorded_at_ms: u64,
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
