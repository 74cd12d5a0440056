//! [`verify`]: check a warehouse's committed state.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use futures::StreamExt;
use parquet::file::metadata::{FooterTail, ParquetMetaDataReader};

use crate::delta::{SinkMeta, active_files};
use crate::error::{Op, Result};
use crate::names::{self, DELTA_LOG_DIR, OffsetRange, TopicPartition};
use crate::storage::with_retry;
use crate::warehouse::{Inner, TableHistory, Warehouse, markers_of};

/// A balance rule checked per committed range: `rows(total) == Σ rows(parts)`, e.g.
/// `raw = assessments + rejects`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    /// The table whose row count is the total.
    pub total: String,
    /// The tables whose row counts add up to it.
    pub parts: Vec<String>,
}

impl Balance {
    /// Parse `total=part1+part2`.
    pub fn parse(s: &str) -> Option<Balance> {
        let (total, parts) = s.split_once('=')?;
        let parts: Vec<String> = parts.split('+').map(|p| p.trim().to_owned()).collect();
        if total.trim().is_empty() || parts.iter().any(String::is_empty) {
            return None;
        }
        Some(Balance {
            total: total.trim().to_owned(),
            parts,
        })
    }
}

impl fmt::Display for Balance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}", self.total, self.parts.join(" + "))
    }
}

/// What [`verify`] checks beyond the always-on checks (per table contiguity, active files
/// exist with their logged size and are readable Parquet, row counts match the footers).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Balance rules checked on every committed range.
    pub balances: Vec<Balance>,
    /// Expected first offset per partition (e.g. `0`, or the low watermark): the first
    /// committed range must start there, unless an accepted gap covers the difference.
    pub start_offsets: BTreeMap<TopicPartition, i64>,
    /// Do not even list orphan files (data files no version of the log references). Default
    /// `false`: they are listed in [`VerifyReport::orphan_files`].
    pub allow_uncommitted_files: bool,
    /// Orphan files are violations ([`Violation::UncommittedFile`]). Default `false`: Delta
    /// readers never see them (a crashed or running writer's files), so they are only
    /// listed; set it on a quiescent warehouse that must hold no debris.
    pub strict_orphans: bool,
    /// How many footers to read concurrently. Default (0) means 8.
    pub concurrency: usize,
}

impl VerifyOptions {
    /// Add a balance rule.
    pub fn with_balance(mut self, balance: Balance) -> Self {
        self.balances.push(balance);
        self
    }

    /// Tolerate data files without a marker (see
    /// [`allow_uncommitted_files`](Self::allow_uncommitted_files)).
    pub fn with_allow_uncommitted_files(mut self, allow: bool) -> Self {
        self.allow_uncommitted_files = allow;
        self
    }

    /// Orphan files are violations (see [`strict_orphans`](Self::strict_orphans)).
    pub fn with_strict_orphans(mut self, strict: bool) -> Self {
        self.strict_orphans = strict;
        self
    }

    /// Footers read concurrently.
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Expect a partition's first committed offset.
    pub fn with_start_offset(mut self, topic: &str, partition: i32, offset: i64) -> Self {
        self.start_offsets
            .insert(TopicPartition::new(topic, partition), offset);
        self
    }
}

/// One problem found by [`verify`]. Paths are relative to the warehouse root.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// Offsets missing between two committed ranges (or before the first), not covered by an
    /// accepted gap.
    Gap {
        /// Partition.
        tp: TopicPartition,
        /// The missing offsets.
        missing: OffsetRange,
    },
    /// Two committed ranges share offsets.
    Overlap {
        /// Partition.
        tp: TopicPartition,
        /// The earlier range.
        first: OffsetRange,
        /// The later range.
        second: OffsetRange,
    },
    /// A marker cannot be read or parsed.
    CorruptMarker {
        /// Marker path.
        path: String,
        /// Why.
        reason: String,
    },
    /// A file named by a marker does not exist.
    MissingFile {
        /// Partition.
        tp: TopicPartition,
        /// Range.
        range: OffsetRange,
        /// Table.
        table: String,
        /// File path.
        path: String,
    },
    /// A file named by a marker is not a readable Parquet file.
    UnreadableFile {
        /// File path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The row count in a file's footer differs from the marker.
    RowCountMismatch {
        /// Partition.
        tp: TopicPartition,
        /// Range.
        range: OffsetRange,
        /// Table.
        table: String,
        /// File path.
        path: String,
        /// Rows according to the marker.
        marker_rows: u64,
        /// Rows according to the file's footer.
        file_rows: u64,
    },
    /// A marker's table row count is not the sum of its files' row counts, or a file name
    /// does not carry the marker's range.
    InconsistentMarker {
        /// Partition.
        tp: TopicPartition,
        /// Range.
        range: OffsetRange,
        /// What is inconsistent.
        reason: String,
    },
    /// A balance rule does not hold for a range.
    Unbalanced {
        /// Partition.
        tp: TopicPartition,
        /// Range.
        range: OffsetRange,
        /// The rule.
        rule: Balance,
        /// Rows of the total table (`None`: table not in the marker).
        total: Option<u64>,
        /// Rows per part table (`None`: table not in the marker).
        parts: Vec<(String, Option<u64>)>,
    },
    /// A data file no version of its table's log references (with
    /// [`VerifyOptions::strict_orphans`]).
    UncommittedFile {
        /// File path.
        path: String,
    },
    /// An active file's size differs from its Add action's.
    SizeMismatch {
        /// Table.
        table: String,
        /// File path.
        path: String,
        /// Size in the log.
        logged: u64,
        /// Size on the storage.
        found: u64,
    },
    /// A table's log cannot be read.
    CorruptLog {
        /// Table.
        table: String,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Gap { tp, missing } => write!(
                f,
                "gap: {tp} offsets {missing} ({} offsets) are not committed",
                missing.len()
            ),
            Violation::Overlap { tp, first, second } => {
                write!(f, "overlap: {tp} ranges {first} and {second} share offsets")
            }
            Violation::CorruptMarker { path, reason } => {
                write!(f, "corrupt marker {path}: {reason}")
            }
            Violation::MissingFile {
                tp,
                range,
                table,
                path,
            } => write!(
                f,
                "missing file: {tp} {range} table {table}: {path} does not exist"
            ),
            Violation::UnreadableFile { path, reason } => {
                write!(f, "unreadable file {path}: {reason}")
            }
            Violation::RowCountMismatch {
                tp,
                range,
                table,
                path,
                marker_rows,
                file_rows,
            } => write!(
                f,
                "row count mismatch: {tp} {range} table {table}: marker says {marker_rows}, {path} has {file_rows}"
            ),
            Violation::InconsistentMarker { tp, range, reason } => {
                write!(f, "inconsistent marker {tp} {range}: {reason}")
            }
            Violation::Unbalanced {
                tp,
                range,
                rule,
                total,
                parts,
            } => {
                let show = |v: &Option<u64>| v.map_or("absent".to_owned(), |n| n.to_string());
                let parts: Vec<String> = parts
                    .iter()
                    .map(|(t, n)| format!("{t} {}", show(n)))
                    .collect();
                write!(
                    f,
                    "unbalanced: {tp} {range}: {rule} does not hold: {} {} vs {}",
                    rule.total,
                    show(total),
                    parts.join(" + ")
                )
            }
            Violation::UncommittedFile { path } => {
                write!(
                    f,
                    "orphan data file {path} (no version of the log references it)"
                )
            }
            Violation::SizeMismatch {
                table,
                path,
                logged,
                found,
            } => write!(
                f,
                "size mismatch: table {table}: {path} has {found} bytes, the log says {logged}"
            ),
            Violation::CorruptLog { table, reason } => {
                write!(f, "unreadable log of table {table}: {reason}")
            }
        }
    }
}

/// Per-partition summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionSummary {
    /// Number of committed ranges.
    pub ranges: usize,
    /// First committed offset.
    pub first: Option<i64>,
    /// Last committed offset.
    pub last: Option<i64>,
    /// Rows per table, summed over ranges.
    pub rows: BTreeMap<String, u64>,
}

/// The result of [`verify`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct VerifyReport {
    /// The warehouse URL.
    pub url: String,
    /// Committed ranges found (markers reconstructed from the logs).
    pub markers: usize,
    /// Data files checked (footers read).
    pub files_checked: usize,
    /// Per partition.
    pub partitions: BTreeMap<TopicPartition, PartitionSummary>,
    /// Accepted gaps found in the logs (reported, not violations).
    pub accepted_gaps: Vec<(TopicPartition, OffsetRange)>,
    /// Always 0 (no temp directory in the Delta layout). Kept for compatibility.
    pub temp_entries: usize,
    /// Data files in table directories that no version of the log references: left by a
    /// crashed writer or being written by a live one; invisible to Delta readers, removed by
    /// vacuum.
    pub orphan_files: Vec<String>,
    /// Per balance rule: ranges where it was not checked because their marker does not list
    /// the rule's total table (a range landed without that table, e.g. `land --tables`
    /// without `raw`).
    pub balances_skipped: BTreeMap<String, usize>,
    /// Every violation found.
    pub violations: Vec<Violation>,
}

impl VerifyReport {
    /// No violation.
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "warehouse {}", self.url)?;
        writeln!(
            f,
            "{} ranges, {} files checked, {} partitions, {} orphan files",
            self.markers,
            self.files_checked,
            self.partitions.len(),
            self.orphan_files.len()
        )?;
        for (tp, s) in &self.partitions {
            let rows: Vec<String> = s.rows.iter().map(|(t, n)| format!("{t}={n}")).collect();
            writeln!(
                f,
                "  {tp}: {} ranges, offsets {}..={}, rows {}",
                s.ranges,
                s.first.map_or("-".into(), |v| v.to_string()),
                s.last.map_or("-".into(), |v| v.to_string()),
                rows.join(" ")
            )?;
        }
        for (tp, g) in &self.accepted_gaps {
            writeln!(f, "  accepted gap: {tp} {g} ({} offsets)", g.len())?;
        }
        for p in &self.orphan_files {
            writeln!(f, "  orphan (not in the log): {p}")?;
        }
        for (rule, n) in &self.balances_skipped {
            writeln!(
                f,
                "  balance {rule} not checked on {n} range(s) without its total table"
            )?;
        }
        if self.violations.is_empty() {
            writeln!(f, "OK: no violation")
        } else {
            writeln!(f, "FAILED: {} violation(s)", self.violations.len())?;
            for v in &self.violations {
                writeln!(f, "  - {v}")?;
            }
            Ok(())
        }
    }
}

/// Whether `missing` is fully covered by accepted gaps (sorted by start).
fn covered(missing: OffsetRange, gaps: &[OffsetRange]) -> bool {
    let mut next = missing.start;
    for g in gaps {
        if g.start > next {
            break;
        }
        if g.end >= next {
            next = g.end + 1;
            if next > missing.end {
                return true;
            }
        }
    }
    next > missing.end
}

/// Check a warehouse from its tables' Delta logs: per table and (topic, partition) the
/// committed ranges are contiguous from the first offset (no gap not covered by an accepted
/// gap, no overlap); every active file exists with its logged size, is readable Parquet and
/// has its logged row count (footers are read); the balance rules hold per range (on the row
/// counts every commitInfo carries for all tables of its range). Files in table directories
/// that no version references are listed as orphans (violations only with
/// [`strict_orphans`](VerifyOptions::strict_orphans)).
///
/// Returns `Err` only if the warehouse cannot be listed; everything found is in the report.
pub async fn verify(warehouse: &Warehouse, options: &VerifyOptions) -> Result<VerifyReport> {
    let inner = &warehouse.inner;
    let mut report = VerifyReport {
        url: warehouse.url().to_owned(),
        ..VerifyReport::default()
    };
    let histories = read_histories(inner, &mut report).await?;
    report.markers = markers_of(&histories).len();
    report.accepted_gaps = warehouse.gaps().await.unwrap_or_default();
    let gaps = gaps_by_partition(&report.accepted_gaps);
    for h in &histories {
        check_contiguity(h, options, &gaps, &mut report);
    }
    count_rows(&histories, &mut report);
    check_balances(&histories, options, &mut report);
    let (referenced, to_check) = active_file_checks(&histories);
    let results = check_files(warehouse, to_check, options.concurrency).await;
    report.files_checked = results.len();
    report.violations.extend(results.into_iter().flatten());
    if !options.allow_uncommitted_files {
        list_orphans(inner, &histories, &referenced, options, &mut report).await?;
    }
    Ok(report)
}

/// Every table's commits; a table whose log cannot be read is a [`Violation::CorruptLog`].
async fn read_histories(inner: &Inner, report: &mut VerifyReport) -> Result<Vec<TableHistory>> {
    let mut histories = Vec::new();
    for name in inner.table_names().await? {
        match inner.table_log(&name)?.commits().await {
            Ok(commits) => histories.push(TableHistory { name, commits }),
            Err(e) => report.violations.push(Violation::CorruptLog {
                table: name,
                reason: e.to_string(),
            }),
        }
    }
    Ok(histories)
}

/// The accepted gaps per partition, sorted by start.
fn gaps_by_partition(
    accepted: &[(TopicPartition, OffsetRange)],
) -> HashMap<TopicPartition, Vec<OffsetRange>> {
    let mut gaps: HashMap<TopicPartition, Vec<OffsetRange>> = HashMap::new();
    for (tp, g) in accepted {
        gaps.entry(tp.clone()).or_default().push(*g);
    }
    for v in gaps.values_mut() {
        v.sort();
    }
    gaps
}

/// Contiguity of one table per partition: each commit covers `table_start..=end`. Also
/// widens the partitions' summaries (ranges, first and last offset).
fn check_contiguity(
    h: &TableHistory,
    options: &VerifyOptions,
    gaps: &HashMap<TopicPartition, Vec<OffsetRange>>,
    report: &mut VerifyReport,
) {
    let mut by_tp: BTreeMap<TopicPartition, Vec<OffsetRange>> = BTreeMap::new();
    for m in h.commits.iter().filter_map(|c| c.sink.as_ref()) {
        if m.kind == "gap" {
            continue;
        }
        by_tp
            .entry(TopicPartition::new(m.topic.clone(), m.partition))
            .or_default()
            .push(OffsetRange {
                start: m.table_start,
                end: m.end,
            });
    }
    for (tp, ranges) in &mut by_tp {
        ranges.sort();
        let tp_gaps = gaps.get(tp).map(Vec::as_slice).unwrap_or(&[]);
        let expected = options.start_offsets.get(tp).copied();
        check_ranges(tp, ranges, expected, tp_gaps, &mut report.violations);
        summarize_ranges(report.partitions.entry(tp.clone()).or_default(), ranges);
    }
}

/// Gaps (not covered by `gaps`) and overlaps between the sorted `ranges` of a partition, and
/// before the first if it starts after `expected`.
fn check_ranges(
    tp: &TopicPartition,
    ranges: &[OffsetRange],
    expected: Option<i64>,
    gaps: &[OffsetRange],
    violations: &mut Vec<Violation>,
) {
    let gap = |missing: OffsetRange| {
        (!covered(missing, gaps)).then(|| Violation::Gap {
            tp: tp.clone(),
            missing,
        })
    };
    if let (Some(expected), Some(first)) = (expected, ranges.first())
        && first.start > expected
    {
        violations.extend(gap(OffsetRange {
            start: expected,
            end: first.start - 1,
        }));
    }
    for w in ranges.windows(2) {
        let (a, b) = (w[0], w[1]);
        if b.start <= a.end {
            violations.push(Violation::Overlap {
                tp: tp.clone(),
                first: a,
                second: b,
            });
        } else if b.start > a.end + 1 {
            violations.extend(gap(OffsetRange {
                start: a.end + 1,
                end: b.start - 1,
            }));
        }
    }
}

/// Widen a partition's summary by one table's sorted ranges.
fn summarize_ranges(s: &mut PartitionSummary, ranges: &[OffsetRange]) {
    s.ranges = s.ranges.max(ranges.len());
    let first = ranges.first().map(|r| r.start);
    s.first = match (s.first, first) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    s.last = s.last.max(ranges.iter().map(|r| r.end).max());
}

/// Rows per partition and table: the rows each range's commit added (its Adds' numRecords,
/// whether or not a compaction has rewritten the files since: the markers list only files
/// still active).
fn count_rows(histories: &[TableHistory], report: &mut VerifyReport) {
    for h in histories {
        for c in &h.commits {
            let Some(m) = c.sink.as_ref().filter(|m| m.kind == "range") else {
                continue;
            };
            let tp = TopicPartition::new(m.topic.clone(), m.partition);
            let s = report.partitions.entry(tp).or_default();
            let rows: u64 = c.adds.iter().filter_map(|a| a.num_records).sum();
            *s.rows.entry(h.name.clone()).or_default() += rows;
        }
    }
}

/// The balance rules on the commitInfo counts: one check per range and writer (every table's
/// commit of a range carries the same counts).
fn check_balances(histories: &[TableHistory], options: &VerifyOptions, report: &mut VerifyReport) {
    let mut balanced: HashSet<(TopicPartition, i64, i64, String)> = HashSet::new();
    for h in histories {
        for m in h.commits.iter().filter_map(|c| c.sink.as_ref()) {
            if m.kind != "range" {
                continue;
            }
            let tp = TopicPartition::new(m.topic.clone(), m.partition);
            if !balanced.insert((tp.clone(), m.start, m.end, m.nonce.clone())) {
                continue;
            }
            for rule in &options.balances {
                check_balance(&tp, m, rule, report);
            }
        }
    }
}

/// One balance rule on one range's counts.
fn check_balance(tp: &TopicPartition, m: &SinkMeta, rule: &Balance, report: &mut VerifyReport) {
    let total = m.rows.get(&rule.total).copied();
    if total.is_none() {
        // The range was landed without the rule's total table: nothing to balance.
        *report.balances_skipped.entry(rule.to_string()).or_default() += 1;
        return;
    }
    let parts: Vec<(String, Option<u64>)> = rule
        .parts
        .iter()
        .map(|p| (p.clone(), m.rows.get(p).copied()))
        .collect();
    let ok = parts.iter().all(|(_, n)| n.is_some())
        && total == Some(parts.iter().filter_map(|(_, n)| *n).sum());
    if !ok {
        report.violations.push(Violation::Unbalanced {
            tp: tp.clone(),
            range: OffsetRange {
                start: m.start,
                end: m.end,
            },
            rule: rule.clone(),
            total,
            parts,
        });
    }
}

/// An active file to check: exists, logged size, readable, footer row count.
struct FileCheck {
    tp: TopicPartition,
    range: OffsetRange,
    table: String,
    /// Relative to the warehouse root.
    path: String,
    size: u64,
    rows: Option<u64>,
}

/// Every file any version added (paths relative to the root), and the checks of the active
/// ones.
fn active_file_checks(histories: &[TableHistory]) -> (HashSet<String>, Vec<FileCheck>) {
    let mut referenced: HashSet<String> = HashSet::new();
    let mut to_check = Vec::new();
    for h in histories {
        let active: HashMap<String, u64> = active_files(&h.commits).into_iter().collect();
        for c in &h.commits {
            let (tp, range) = match &c.sink {
                Some(m) => (
                    TopicPartition::new(m.topic.clone(), m.partition),
                    OffsetRange {
                        start: m.table_start,
                        end: m.end,
                    },
                ),
                None => (
                    TopicPartition::new("", -1),
                    OffsetRange { start: 0, end: -1 },
                ),
            };
            for a in &c.adds {
                let rel = format!("{}/{}", h.name, a.path);
                referenced.insert(rel.clone());
                if active.contains_key(&a.path) {
                    to_check.push(FileCheck {
                        tp: tp.clone(),
                        range,
                        table: h.name.clone(),
                        path: rel,
                        size: a.size,
                        rows: a.num_records,
                    });
                }
            }
        }
    }
    (referenced, to_check)
}

/// The violations of each file, `concurrency` footers read at a time (0 means 8).
async fn check_files(
    warehouse: &Warehouse,
    to_check: Vec<FileCheck>,
    concurrency: usize,
) -> Vec<Vec<Violation>> {
    let concurrency = if concurrency == 0 { 8 } else { concurrency };
    futures::stream::iter(to_check)
        .map(|check| check_file(warehouse, check))
        .buffered(concurrency)
        .collect()
        .await
}

/// One active file: exists, has its logged size, is readable and has its logged row count.
async fn check_file(warehouse: &Warehouse, check: FileCheck) -> Vec<Violation> {
    let FileCheck {
        tp,
        range,
        table,
        path,
        size,
        rows,
    } = check;
    match footer_rows(warehouse, &path).await {
        Ok(None) => vec![Violation::MissingFile {
            tp,
            range,
            table,
            path,
        }],
        Ok(Some((len, footer))) => {
            let mut v = Vec::new();
            if len != size {
                v.push(Violation::SizeMismatch {
                    table: table.clone(),
                    path: path.clone(),
                    logged: size,
                    found: len,
                });
            }
            match footer {
                Ok(n) => {
                    if let Some(rows) = rows
                        && rows != n
                    {
                        v.push(Violation::RowCountMismatch {
                            tp,
                            range,
                            table,
                            path,
                            marker_rows: rows,
                            file_rows: n,
                        });
                    }
                }
                Err(reason) => v.push(Violation::UnreadableFile { path, reason }),
            }
            v
        }
        Err(reason) => vec![Violation::UnreadableFile { path, reason }],
    }
}

/// Orphans: data files in the tables' directories that no version references (violations
/// with [`VerifyOptions::strict_orphans`]).
async fn list_orphans(
    inner: &Inner,
    histories: &[TableHistory],
    referenced: &HashSet<String>,
    options: &VerifyOptions,
    report: &mut VerifyReport,
) -> Result<()> {
    for h in histories {
        for e in inner.list(&h.name, true).await? {
            let in_log = e.rel.split('/').any(|c| c == DELTA_LOG_DIR);
            if !e.is_dir
                && !in_log
                && names::file_name(&e.rel).ends_with(".parquet")
                && !referenced.contains(&e.rel)
            {
                report.orphan_files.push(e.rel);
            }
        }
    }
    report.orphan_files.sort();
    if options.strict_orphans {
        for p in &report.orphan_files {
            report
                .violations
                .push(Violation::UncommittedFile { path: p.clone() });
        }
    }
    Ok(())
}

/// Size and row count (from the footer, or why it cannot be read) of a file; `Ok(None)` if
/// the file does not exist.
async fn footer_rows(
    warehouse: &Warehouse,
    rel: &str,
) -> std::result::Result<Option<(u64, std::result::Result<u64, String>)>, String> {
    let inner = &warehouse.inner;
    let display = inner.backend.display(rel);
    let retry = &inner.config.retry;
    let len = with_retry(retry, Op::Stat, &display, |_| inner.backend.len(rel))
        .await
        .map_err(|e| e.to_string())?;
    let Some(len) = len else {
        return Ok(None);
    };
    let footer = async {
        if len < 12 {
            return Err(format!("{len} bytes is too short for Parquet"));
        }
        let tail = with_retry(retry, Op::Read, &display, |_| {
            inner.backend.read_range(rel, len - 8, 8)
        })
        .await
        .map_err(|e| e.to_string())?;
        let tail = FooterTail::try_from(&tail[..]).map_err(|e| e.to_string())?;
        let meta_len = tail.metadata_length() as u64;
        if meta_len + 8 > len {
            return Err(format!(
                "footer length {meta_len} exceeds the file size {len}"
            ));
        }
        let meta = with_retry(retry, Op::Read, &display, |_| {
            inner
                .backend
                .read_range(rel, len - 8 - meta_len, meta_len as usize)
        })
        .await
        .map_err(|e| e.to_string())?;
        let md = ParquetMetaDataReader::decode_metadata(&meta).map_err(|e| e.to_string())?;
        Ok(md.file_metadata().num_rows().max(0) as u64)
    }
    .await;
    Ok(Some((len, footer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_balance() {
        let b = Balance::parse("raw=assessments+rejects").expect("parse");
        assert_eq!(b.total, "raw");
        assert_eq!(b.parts, vec!["assessments", "rejects"]);
        assert_eq!(b.to_string(), "raw = assessments + rejects");
        assert!(Balance::parse("raw").is_none());
        assert!(Balance::parse("raw=a+").is_none());
    }

    #[test]
    fn gap_coverage() {
        let r = |start, end| OffsetRange { start, end };
        assert!(covered(r(5, 9), &[r(0, 6), r(7, 12)]));
        assert!(!covered(r(5, 9), &[r(5, 7)]));
        assert!(!covered(r(5, 9), &[r(6, 9)]));
        assert!(covered(r(5, 5), &[r(5, 5)]));
    }
}
