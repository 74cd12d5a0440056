//! Path layout of a warehouse, and the types naming Kafka coordinates.
//!
//! ```text
//! <root>/<table>/[<key>=YYYY-MM-DD/]<topic>+<partition>+<start:020>+<end:020>.parquet   data
//! <root>/_commits/<topic>+<partition>+<start:020>+<end:020>                          markers
//! <root>/_gaps/<topic>+<partition>+<from:020>+<to:020>                               accepted gaps
//! <root>/_tmp/<topic>+<partition>+<start:020>+<nonce>/<n>.parquet | _marker          in flight
//! ```
//!
//! Kafka topic names only use `[A-Za-z0-9._-]`, so `+` separates fields unambiguously.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub(crate) const COMMITS_DIR: &str = "_commits";
pub(crate) const GAPS_DIR: &str = "_gaps";
pub(crate) const TMP_DIR: &str = "_tmp";

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
/// `_commits`, `_tmp`, `_gaps`).
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

/// `<topic>+<partition>+<start:020>+<end:020>`
pub(crate) fn range_stem(topic: &str, partition: i32, start: i64, end: i64) -> String {
    format!("{topic}+{partition}+{start:020}+{end:020}")
}

/// Parse `<topic>+<partition>+<a>+<b>` (offsets padded or not).
pub(crate) fn parse_range_stem(stem: &str) -> Option<(TopicPartition, OffsetRange)> {
    let mut it = stem.rsplitn(4, '+');
    let end: i64 = it.next()?.parse().ok()?;
    let start: i64 = it.next()?.parse().ok()?;
    let partition: i32 = it.next()?.parse().ok()?;
    let topic = it.next()?;
    if validate_topic(topic).is_err() || start < 0 || end < start {
        return None;
    }
    Some((
        TopicPartition::new(topic, partition),
        OffsetRange { start, end },
    ))
}

/// Parse a data file name `<stem>.parquet`.
pub(crate) fn parse_data_file_name(name: &str) -> Option<(TopicPartition, OffsetRange)> {
    parse_range_stem(name.strip_suffix(".parquet")?)
}

/// Parse a temp range directory name `<topic>+<partition>+<start>+<nonce>`.
pub(crate) fn parse_tmp_dir_name(name: &str) -> Option<TopicPartition> {
    let mut it = name.rsplitn(4, '+');
    let _nonce = it.next()?;
    let _start: i64 = it.next()?.parse().ok()?;
    let partition: i32 = it.next()?.parse().ok()?;
    let topic = it.next()?;
    validate_topic(topic).ok()?;
    Some(TopicPartition::new(topic, partition))
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
    fn stems_round_trip_and_sort() {
        let s = range_stem("assess.ments_v-1", 3, 5, 120);
        assert_eq!(
            s,
            "assess.ments_v-1+3+00000000000000000005+00000000000000000120"
        );
        let (tp, r) = parse_range_stem(&s).expect("parse");
        assert_eq!(tp, TopicPartition::new("assess.ments_v-1", 3));
        assert_eq!(r, OffsetRange { start: 5, end: 120 });
        assert!(range_stem("t", 0, 9, 9) < range_stem("t", 0, 10, 10));
        assert_eq!(parse_range_stem("t+0+5+7").map(|x| x.1.len()), Some(3));
        assert!(parse_range_stem("t+0+7+5").is_none());
        assert!(parse_range_stem("t+x+1+5").is_none());
        assert!(parse_data_file_name(&format!("{s}.parquet")).is_some());
        assert_eq!(
            parse_tmp_dir_name("t+2+00000000000000000005+1a2b-3"),
            Some(TopicPartition::new("t", 2))
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
