//! [`verify`]: check a warehouse's committed state.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use futures::StreamExt;
use parquet::file::metadata::{FooterTail, ParquetMetaDataReader};

use crate::error::{Error, Op, Result};
use crate::marker::Marker;
use crate::names::{self, OffsetRange, TMP_DIR, TopicPartition, parse_data_file_name};
use crate::storage::with_retry;
use crate::warehouse::Warehouse;

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

/// What [`verify`] checks beyond the always-on checks (contiguity, files exist and are
/// readable Parquet, row counts match the footers).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Balance rules checked on every committed range.
    pub balances: Vec<Balance>,
    /// Expected first offset per partition (e.g. `0`, or the low watermark): the first
    /// committed range must start there, unless an accepted gap covers the difference.
    pub start_offsets: BTreeMap<TopicPartition, i64>,
    /// Do not report data files without a marker (a writer may be committing right now).
    /// Default `false`: on a quiescent warehouse such files are a violation, since query
    /// engines would read them.
    pub allow_uncommitted_files: bool,
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
    /// A data file whose range has no marker, or that its range's marker does not list:
    /// query engines would read rows that are not committed.
    UncommittedFile {
        /// File path.
        path: String,
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
                write!(f, "uncommitted data file {path} (no marker lists it)")
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
    /// Markers read.
    pub markers: usize,
    /// Data files checked (footers read).
    pub files_checked: usize,
    /// Per partition.
    pub partitions: BTreeMap<TopicPartition, PartitionSummary>,
    /// Accepted gaps found in `_gaps/` (reported, not violations).
    pub accepted_gaps: Vec<(TopicPartition, OffsetRange)>,
    /// Entries under `_tmp/` (ranges in flight or left by a crash; recovery removes them).
    pub temp_entries: usize,
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
            "{} markers, {} files checked, {} partitions, {} temp entries",
            self.markers,
            self.files_checked,
            self.partitions.len(),
            self.temp_entries
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

/// Check a warehouse: per (topic, partition) committed ranges are contiguous (no gap not
/// covered by an accepted gap, no overlap); every file named by a marker exists, is readable
/// Parquet and has the marker's row count (footers are read); markers are self-consistent;
/// the balance rules hold per range; no data file exists without a marker listing it.
///
/// Returns `Err` only if the warehouse cannot be listed; everything found is in the report.
/// Run it on a quiescent warehouse (or set
/// [`allow_uncommitted_files`](VerifyOptions::allow_uncommitted_files)).
pub async fn verify(warehouse: &Warehouse, options: &VerifyOptions) -> Result<VerifyReport> {
    let inner = &warehouse.inner;
    let mut report = VerifyReport {
        url: warehouse.url().to_owned(),
        ..VerifyReport::default()
    };
    let refs = inner.list_markers().await?;
    report.markers = refs.len();
    let mut markers: Vec<Marker> = Vec::with_capacity(refs.len());
    for r in &refs {
        match inner.load_marker(r).await {
            Ok(m) => markers.push(m),
            Err(Error::CorruptMarker { reason, .. }) => {
                report.violations.push(Violation::CorruptMarker {
                    path: r.rel.clone(),
                    reason,
                });
            }
            Err(e @ Error::NotFound { .. }) => {
                report.violations.push(Violation::CorruptMarker {
                    path: r.rel.clone(),
                    reason: e.to_string(),
                });
            }
            Err(e) => return Err(e),
        }
    }
    report.accepted_gaps = inner.list_gaps().await?;
    let mut gaps: HashMap<TopicPartition, Vec<OffsetRange>> = HashMap::new();
    for (tp, g) in &report.accepted_gaps {
        gaps.entry(tp.clone()).or_default().push(*g);
    }
    report.temp_entries = inner.list(TMP_DIR, false).await?.len();

    // Contiguity per partition (markers are sorted by tp, start; corrupt ones use the name).
    let mut by_tp: BTreeMap<TopicPartition, Vec<OffsetRange>> = BTreeMap::new();
    for r in &refs {
        by_tp.entry(r.tp.clone()).or_default().push(r.range);
    }
    for (tp, ranges) in &by_tp {
        let tp_gaps = gaps.get(tp).map(Vec::as_slice).unwrap_or(&[]);
        if let (Some(&expected), Some(first)) = (options.start_offsets.get(tp), ranges.first())
            && first.start > expected
        {
            let missing = OffsetRange {
                start: expected,
                end: first.start - 1,
            };
            if !covered(missing, tp_gaps) {
                report.violations.push(Violation::Gap {
                    tp: tp.clone(),
                    missing,
                });
            }
        }
        for w in ranges.windows(2) {
            let (a, b) = (w[0], w[1]);
            if b.start <= a.end {
                report.violations.push(Violation::Overlap {
                    tp: tp.clone(),
                    first: a,
                    second: b,
                });
            } else if b.start > a.end + 1 {
                let missing = OffsetRange {
                    start: a.end + 1,
                    end: b.start - 1,
                };
                if !covered(missing, tp_gaps) {
                    report.violations.push(Violation::Gap {
                        tp: tp.clone(),
                        missing,
                    });
                }
            }
        }
        let s = report.partitions.entry(tp.clone()).or_default();
        s.ranges = ranges.len();
        s.first = ranges.first().map(|r| r.start);
        s.last = ranges.iter().map(|r| r.end).max();
    }

    // Markers: self-consistency and balances; collect the files to check.
    let mut listed: HashSet<String> = HashSet::new();
    let mut to_check: Vec<(TopicPartition, OffsetRange, String, String, u64)> = Vec::new();
    for m in &markers {
        let tp = TopicPartition::new(m.topic.clone(), m.partition);
        let range = OffsetRange {
            start: m.start,
            end: m.end,
        };
        let s = report.partitions.entry(tp.clone()).or_default();
        for (table, t) in &m.tables {
            *s.rows.entry(table.clone()).or_default() += t.rows;
            let sum: u64 = t.files.iter().map(|f| f.rows).sum();
            if sum != t.rows {
                report.violations.push(Violation::InconsistentMarker {
                    tp: tp.clone(),
                    range,
                    reason: format!(
                        "table {table} has {} rows but its files sum to {sum}",
                        t.rows
                    ),
                });
            }
            for file in &t.files {
                let named = parse_data_file_name(names::file_name(&file.path));
                let in_table = file.path.starts_with(&format!("{table}/"));
                if named != Some((tp.clone(), range)) || !in_table {
                    report.violations.push(Violation::InconsistentMarker {
                        tp: tp.clone(),
                        range,
                        reason: format!(
                            "file {} of table {table} is not named after the range",
                            file.path
                        ),
                    });
                }
                listed.insert(file.path.clone());
                to_check.push((
                    tp.clone(),
                    range,
                    table.clone(),
                    file.path.clone(),
                    file.rows,
                ));
            }
        }
        for rule in &options.balances {
            let total = m.rows(&rule.total);
            if total.is_none() {
                // The range was landed without the rule's total table: nothing to balance.
                *report.balances_skipped.entry(rule.to_string()).or_default() += 1;
                continue;
            }
            let parts: Vec<(String, Option<u64>)> =
                rule.parts.iter().map(|p| (p.clone(), m.rows(p))).collect();
            let ok = total.is_some()
                && parts.iter().all(|(_, n)| n.is_some())
                && total == Some(parts.iter().filter_map(|(_, n)| *n).sum());
            if !ok {
                report.violations.push(Violation::Unbalanced {
                    tp: tp.clone(),
                    range,
                    rule: rule.clone(),
                    total,
                    parts,
                });
            }
        }
    }

    // Files: exist, readable, footer row count.
    let concurrency = if options.concurrency == 0 {
        8
    } else {
        options.concurrency
    };
    let results: Vec<Option<Violation>> = futures::stream::iter(to_check)
        .map(|(tp, range, table, path, rows)| async move {
            match footer_rows(warehouse, &path).await {
                Ok(None) => Some(Violation::MissingFile {
                    tp,
                    range,
                    table,
                    path,
                }),
                Ok(Some(n)) if n != rows => Some(Violation::RowCountMismatch {
                    tp,
                    range,
                    table,
                    path,
                    marker_rows: rows,
                    file_rows: n,
                }),
                Ok(Some(_)) => None,
                Err(reason) => Some(Violation::UnreadableFile { path, reason }),
            }
        })
        .buffered(concurrency)
        .collect()
        .await;
    report.files_checked = results.len();
    report.violations.extend(results.into_iter().flatten());

    // Data files nobody lists.
    if !options.allow_uncommitted_files {
        for table_dir in inner.list_table_dirs().await? {
            for e in inner.list(&table_dir, true).await? {
                if !e.is_dir
                    && parse_data_file_name(names::file_name(&e.rel)).is_some()
                    && !listed.contains(&e.rel)
                {
                    report
                        .violations
                        .push(Violation::UncommittedFile { path: e.rel });
                }
            }
        }
    }
    Ok(report)
}

/// Row count from a file's footer; `Ok(None)` if the file does not exist.
async fn footer_rows(warehouse: &Warehouse, rel: &str) -> std::result::Result<Option<u64>, String> {
    let inner = &warehouse.inner;
    let display = inner.backend.display(rel);
    let retry = &inner.config.retry;
    let len = with_retry(retry, Op::Stat, &display, |_| inner.backend.len(rel))
        .await
        .map_err(|e| e.to_string())?;
    let Some(len) = len else {
        return Ok(None);
    };
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
    Ok(Some(md.file_metadata().num_rows().max(0) as u64))
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
