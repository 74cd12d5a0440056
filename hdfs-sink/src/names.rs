//! Path layout of a warehouse, and the types naming Kafka coordinates.
//!
//! ```text
//! <root>/<table>/_delta_log/…                                                  the Delta log
//! <root>/<table>/[<key>=YYYY-MM-DD/]<topic>-<partition>-<start:020>-<nonce>-<n>.parquet  data
//! ```
//!
//! The nonce is hex and the other fields after the topic are numbers, so a name splits at its
//! last four `-` even though topics may contain `-`. A warehouse of the earlier marker
//! protocol has `<root>/_commits/`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The markers directory of the earlier protocol: its presence means a legacy warehouse.
pub(crate) const COMMITS_DIR: &str = "_commits";
/// A table's Delta log directory.
pub(crate) const DELTA_LOG_DIR: &str = "_delta_log";

/// A Kafka topic and partition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition number.
    pub partition: i32,
}

impl TopicPartition {
    /// A topic-partition.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        Self {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.topic, self.partition)
    }
}

/// An inclusive range of Kafka offsets `start..=end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OffsetRange {
    /// First offset.
    pub start: i64,
    /// Last offset (inclusive).
    pub end: i64,
}

impl OffsetRange {
    /// Number of offsets in the range.
    pub fn len(&self) -> u64 {
        (self.end - self.start + 1).max(0) as u64
    }

    /// Whether the range holds no offset (`end < start`).
    pub fn is_empty(&self) -> bool {
        self.end < self.start
    }
}

impl fmt::Display for OffsetRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..={}", self.start, self.end)
    }
}

/// Kafka's legal topic characters, and not `.`/`..`.
pub(crate) fn validate_topic(topic: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidName {
            kind: "topic",
            name: topic.to_owned(),
            reason,
        })
    };
    if topic.is_empty() || topic.len() > 249 {
        return bad("must have 1 to 249 characters");
    }
    if topic == "." || topic == ".." {
        return bad("must not be '.' or '..'");
    }
    if !topic
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return bad("only [A-Za-z0-9._-] are allowed");
    }
    Ok(())
}

/// Table names become directories: no separators, not hidden, not `_`-prefixed (reserved for
/// logs and the earlier protocol's `_commits`).
pub(crate) fn validate_table(table: &str) -> Result<()> {
    let bad = |reason| {
        Err(Error::InvalidName {
            kind: "table",
            name: table.to_owned(),
            reason,
        })
    };
    if table.is_empty() {
        return bad("must not be empty");
    }
    if table.starts_with('_') || table.starts_with('.') {
        return bad("must not start with '_' or '.'");
    }
    if table.contains(['/', '\\', '=', '+', ':']) || table.chars().any(char::is_control) {
        return bad("must not contain '/', '\\', '=', '+', ':' or control characters");
    }
    Ok(())
}

/// `<topic>-<partition>-<start:020>-<nonce>-<n>.parquet`
pub(crate) fn data_file_name(
    topic: &str,
    partition: i32,
    start: i64,
    nonce: &str,
    n: usize,
) -> String {
    format!("{topic}-{partition}-{start:020}-{nonce}-{n}.parquet")
}

/// The last component of a `/`-separated relative path.
pub(crate) fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

/// `YYYY-MM-DD` of a day number since 1970-01-01 (proleptic Gregorian, UTC).
pub(crate) fn format_day(days: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_file_names() {
        let n = data_file_name("assess.ments-v-1", 3, 5, "00ff1a", 2);
        assert_eq!(
            n,
            "assess.ments-v-1-3-00000000000000000005-00ff1a-2.parquet"
        );
    }

    #[test]
    fn names_are_validated() {
        assert!(validate_topic("a+b").is_err());
        assert!(validate_topic("..").is_err());
        assert!(validate_topic("ok.topic-1_x").is_ok());
        assert!(validate_table("_commits").is_err());
        assert!(validate_table("a/b").is_err());
        assert!(validate_table("assessments").is_ok());
    }

    #[test]
    fn formats_days() {
        assert_eq!(format_day(0), "1970-01-01");
        assert_eq!(format_day(-1), "1969-12-31");
        assert_eq!(format_day(17_554), "2018-01-23");
        assert_eq!(format_day(11_016), "2000-02-29");
        assert_eq!(format_day(19_782), "2024-02-29");
    }
}
