//! What a landing has done so far: [`Totals`], reported as progress and as the summary.

use assessment_schema::tables::Table;
use hdfs_sink::CommitInfo;
use kafka_io::TopicPartition;
use std::collections::BTreeMap;
use std::time::Duration;

/// Running totals, reported as progress and as the final summary.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    /// Messages landed.
    pub messages: u64,
    /// Of which valid events.
    pub accepted: u64,
    /// Of which rejects.
    pub rejected: u64,
    /// Bytes of message values.
    pub input_bytes: u64,
    /// Unknown fields seen (kept in `raw`).
    pub unknown_fields: u64,
    /// Rows per table committed.
    pub rows: BTreeMap<&'static str, u64>,
    /// Ranges committed.
    pub ranges: u64,
    /// Parquet files written.
    pub files: u64,
    /// Bytes of Parquet written.
    pub parquet_bytes: u64,
    /// Per partition: first and last committed offsets.
    pub offsets: BTreeMap<TopicPartition, (i64, i64)>,
}

impl Totals {
    /// Counts the messages of a chunk written.
    pub(crate) fn add_written(&mut self, s: &assessment_flatten::BatchStats) {
        self.messages += s.messages as u64;
        self.accepted += s.accepted as u64;
        self.rejected += s.rejected as u64;
        self.input_bytes += s.input_bytes as u64;
        self.unknown_fields += s.unknown_fields;
    }

    /// Counts a committed range.
    pub(crate) fn add_commit(&mut self, info: &CommitInfo) {
        self.ranges += 1;
        self.parquet_bytes += info.bytes;
        for t in &info.tables {
            if let Some(table) = Table::from_name(&t.table) {
                *self.rows.entry(table.name()).or_default() += t.rows;
            }
            self.files += t.files.len() as u64;
        }
        let tp = &info.topic_partition;
        let e = self
            .offsets
            .entry(TopicPartition::new(tp.topic.clone(), tp.partition))
            .or_insert((info.range.start, info.range.end));
        e.0 = e.0.min(info.range.start);
        e.1 = e.1.max(info.range.end);
    }

    /// A multi-line human summary.
    pub fn summary(&self, elapsed: Duration) -> String {
        use std::fmt::Write as _;
        let secs = elapsed.as_secs_f64().max(1e-9);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "landed {} messages ({} events, {} rejects) in {:.2}s: {:.0} events/s, {:.1} MB/s of JSON",
            self.messages,
            self.accepted,
            self.rejected,
            secs,
            self.messages as f64 / secs,
            self.input_bytes as f64 / secs / 1e6
        );
        let _ = writeln!(
            s,
            "  {} ranges committed, {} Parquet files, {:.1} MB; {} unknown fields kept in raw",
            self.ranges,
            self.files,
            self.parquet_bytes as f64 / 1e6,
            self.unknown_fields
        );
        for (table, rows) in &self.rows {
            let _ = writeln!(s, "  {table:<12} {rows:>10} rows");
        }
        for (tp, (first, last)) in &self.offsets {
            let _ = writeln!(
                s,
                "  {}[{}] offsets {first}..={last}",
                tp.topic, tp.partition
            );
        }
        s
    }
}
