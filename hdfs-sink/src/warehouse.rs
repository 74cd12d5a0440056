//! [`Warehouse`]: a root directory (local or HDFS) holding tables, commit markers and temp files.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::async_writer::AsyncFileWriter;
use parquet::basic::Type as PhysicalType;
use parquet::file::properties::WriterProperties;
use tracing::{info, warn};

use crate::config::{RotationPolicy, SinkConfig};
use crate::error::{ConfigError, Error, Op, Result};
use crate::failpoint;
use crate::hive;
use crate::marker::{GapRecord, Marker, now_ms};
use crate::names::{
    self, COMMITS_DIR, GAPS_DIR, OffsetRange, TMP_DIR, TopicPartition, parse_data_file_name,
    parse_range_stem, parse_tmp_dir_name, range_stem,
};
use crate::storage::{Backend, StorageFile, with_retry};
use crate::writer::{RangeWriter, TableSlot};

/// A warehouse: `<root>/<table>/…` data, `<root>/_commits/` markers, `<root>/_gaps/` accepted
/// gaps and `<root>/_tmp/` files in flight. Cheap to clone (shared state).
///
/// In-memory bookkeeping per (topic, partition): the next offset to land (learned from
/// [`recover`](Self::recover) / [`recover_partitions`](Self::recover_partitions) and from
/// commits and recorded gaps) and whether a range is open. [`begin_range`](Self::begin_range)
/// refuses a range that would overlap committed offsets or skip offsets, a second open range
/// of the same partition, and a partition whose last commit failed or whose writer was dropped
/// without commit/abort until it has been recovered again.
#[derive(Debug, Clone)]
pub struct Warehouse {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) backend: Backend,
    pub(crate) config: SinkConfig,
    pub(crate) props: WriterProperties,
    /// Properties of tables with column overrides.
    pub(crate) table_props: BTreeMap<String, WriterProperties>,
    pub(crate) url: String,
    pub(crate) state: Mutex<State>,
    /// Bytes of row groups buffered in memory by all open files (see
    /// [`ParquetOptions::max_buffered_bytes`](crate::ParquetOptions::max_buffered_bytes)).
    pub(crate) buffered: Arc<AtomicUsize>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) next: HashMap<TopicPartition, i64>,
    pub(crate) open: HashSet<TopicPartition>,
    pub(crate) needs_recovery: HashSet<TopicPartition>,
}

/// What [`Warehouse::recover`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// Per partition in scope with at least one marker or gap: `max(end) + 1`, where the
    /// maximum runs over committed ranges and recorded gaps. Partitions without either are
    /// absent (start from the earliest offset).
    pub next_offsets: BTreeMap<TopicPartition, i64>,
    /// Committed ranges per partition in scope, sorted by start.
    pub committed: BTreeMap<TopicPartition, Vec<OffsetRange>>,
    /// Accepted gaps per partition in scope, sorted by start.
    pub gaps: BTreeMap<TopicPartition, Vec<OffsetRange>>,
    /// Data files of uncommitted ranges that were deleted (relative paths).
    pub deleted_data_files: Vec<String>,
    /// Temp entries that were deleted (relative paths).
    pub deleted_temp: Vec<String>,
}

impl RecoveryReport {
    /// The next offset to land for a partition, `None` if nothing was ever committed for it.
    pub fn next_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        self.next_offsets
            .get(&TopicPartition::new(topic, partition))
            .copied()
    }
}

/// A listed marker name.
#[derive(Debug, Clone)]
pub(crate) struct MarkerRef {
    pub(crate) rel: String,
    pub(crate) tp: TopicPartition,
    pub(crate) range: OffsetRange,
}

impl Warehouse {
    /// Open (and create if needed) the warehouse at `url`: a local path, `file:///abs/path` or
    /// `hdfs://host:port/path`. Creates `<root>`, `_commits/`, `_gaps/` and `_tmp/`. Fails with
    /// [`Error::Unreachable`] if the NameNode cannot be reached (after retries),
    /// [`Error::PermissionDenied`] if the root cannot be created or written.
    pub async fn open(url: &str, config: SinkConfig) -> Result<Warehouse> {
        let wh = Self::connect(url, config)?;
        for dir in [COMMITS_DIR, GAPS_DIR, TMP_DIR] {
            wh.inner.mkdirs(dir).await?;
        }
        info!(url = %wh.inner.url, "warehouse opened");
        Ok(wh)
    }

    /// Open an existing warehouse without creating anything (for read-only use such as
    /// [`verify`](crate::verify)). Fails with [`Error::NotFound`] if `<root>/_commits` does not
    /// exist.
    pub async fn open_existing(url: &str, config: SinkConfig) -> Result<Warehouse> {
        let wh = Self::connect(url, config)?;
        let display = wh.inner.backend.display(COMMITS_DIR);
        let found = with_retry(&wh.inner.config.retry, Op::Stat, &display, |_| {
            wh.inner.backend.len(COMMITS_DIR)
        })
        .await?;
        if found.is_none() {
            return Err(Error::NotFound {
                op: Op::Stat,
                path: display,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not a warehouse (no _commits directory)",
                )
                .into(),
            });
        }
        Ok(wh)
    }

    fn connect(url: &str, config: SinkConfig) -> Result<Warehouse> {
        config.validate()?;
        let props = config.parquet.writer_properties()?;
        let table_props = config.parquet.table_properties()?;
        let backend = Backend::from_url(url, &config)?;
        let inner = Arc::new(Inner {
            url: backend.display(""),
            backend,
            config,
            props,
            table_props,
            state: Mutex::new(State::default()),
            buffered: Arc::default(),
        });
        Ok(Warehouse { inner })
    }

    /// The root as a local path or `hdfs://` URL.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The configuration in use.
    pub fn config(&self) -> &SinkConfig {
        &self.inner.config
    }

    /// Bytes of Parquet row groups currently buffered in memory by the open files of all
    /// ranges (estimated by the encoders), kept under
    /// [`ParquetOptions::max_buffered_bytes`](crate::ParquetOptions::max_buffered_bytes)
    /// after each write.
    pub fn buffered_bytes(&self) -> usize {
        self.inner.buffered.load(Ordering::Relaxed)
    }

    /// The rotation policy of the configuration.
    pub fn rotation(&self) -> &RotationPolicy {
        &self.inner.config.rotation
    }

    /// Full path (local path or `hdfs://` URL) of a path relative to the root.
    pub fn display_path(&self, rel: &str) -> String {
        self.inner.backend.display(rel)
    }

    /// Recover the whole warehouse: delete every temp entry and every data file of a range
    /// without a marker, and return the committed state. Use it when this process is the only
    /// writer (start of a bounded run); with several processes use
    /// [`recover_partitions`](Self::recover_partitions) for the assigned partitions only.
    pub async fn recover(&self) -> Result<RecoveryReport> {
        self.recover_scope(None).await
    }

    /// Recover only `partitions` (on start or on partition assignment): temp entries and
    /// uncommitted data files of other partitions, possibly owned by another live process, are
    /// left alone. Fails with [`Error::RangeInProgress`] if this `Warehouse` has a range of one
    /// of them open.
    pub async fn recover_partitions(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<RecoveryReport> {
        let scope: HashSet<TopicPartition> = partitions.iter().cloned().collect();
        self.recover_scope(Some(scope)).await
    }

    async fn recover_scope(
        &self,
        scope: Option<HashSet<TopicPartition>>,
    ) -> Result<RecoveryReport> {
        let in_scope = |tp: &TopicPartition| scope.as_ref().is_none_or(|s| s.contains(tp));
        {
            let st = self.inner.lock();
            if let Some(tp) = st.open.iter().find(|tp| in_scope(tp)) {
                return Err(Error::RangeInProgress {
                    topic: tp.topic.clone(),
                    partition: tp.partition,
                });
            }
        }
        let started = Instant::now();
        let mut report = RecoveryReport::default();
        let markers = self.inner.list_markers().await?;
        let committed: HashSet<(TopicPartition, OffsetRange)> =
            markers.iter().map(|m| (m.tp.clone(), m.range)).collect();
        for m in &markers {
            if in_scope(&m.tp) {
                report
                    .committed
                    .entry(m.tp.clone())
                    .or_default()
                    .push(m.range);
            }
        }
        for (tp, r) in self.inner.list_gaps().await? {
            if in_scope(&tp) {
                report.gaps.entry(tp).or_default().push(r);
            }
        }

        // Temp entries: one directory per range in flight, named after its partition.
        for e in self.inner.list(TMP_DIR, false).await? {
            let name = names::file_name(&e.rel);
            let delete = match parse_tmp_dir_name(name) {
                Some(tp) => in_scope(&tp),
                None => scope.is_none(),
            };
            if delete {
                self.inner.delete_logged(&e.rel, "recover").await?;
                report.deleted_temp.push(e.rel);
            }
        }

        // Data files of ranges without a marker.
        for table_dir in self.inner.list_table_dirs().await? {
            for e in self.inner.list(&table_dir, true).await? {
                if e.is_dir {
                    continue;
                }
                let Some((tp, range)) = parse_data_file_name(names::file_name(&e.rel)) else {
                    continue;
                };
                if in_scope(&tp) && !committed.contains(&(tp, range)) {
                    self.inner.delete_logged(&e.rel, "recover").await?;
                    report.deleted_data_files.push(e.rel);
                }
            }
        }

        for (tp, ranges) in report.committed.iter_mut() {
            ranges.sort();
            let end = ranges.iter().map(|r| r.end).max();
            if let Some(end) = end {
                report.next_offsets.insert(tp.clone(), end + 1);
            }
        }
        for (tp, gaps) in report.gaps.iter_mut() {
            gaps.sort();
            if let Some(to) = gaps.iter().map(|r| r.end).max() {
                let e = report.next_offsets.entry(tp.clone()).or_insert(to + 1);
                *e = (*e).max(to + 1);
            }
        }

        {
            let mut st = self.inner.lock();
            st.next.retain(|tp, _| !in_scope(tp));
            st.needs_recovery.retain(|tp| !in_scope(tp));
            for (tp, n) in &report.next_offsets {
                st.next.insert(tp.clone(), *n);
            }
        }
        info!(
            url = %self.inner.url,
            partitions = report.next_offsets.len(),
            deleted_data = report.deleted_data_files.len(),
            deleted_temp = report.deleted_temp.len(),
            elapsed = ?started.elapsed(),
            "recovered"
        );
        Ok(report)
    }

    /// Start a range of `topic`/`partition` at `start` (the first offset it will contain)
    /// with the given tables. Nothing is written to storage until the first non-empty batch.
    ///
    /// Fails with [`Error::Overlap`] / [`Error::Gap`] if the partition's next offset is known
    /// and differs from `start`, [`Error::RangeInProgress`] if a range of the partition is
    /// open, [`Error::RecoveryRequired`] after a failed commit, [`Error::InvalidName`] for
    /// unusable topic/table names and [`Error::PartitionColumn`] if a table's configured date
    /// column is missing or not a timestamp.
    pub fn begin_range<S: AsRef<str>>(
        &self,
        topic: &str,
        partition: i32,
        start: i64,
        tables: &[(S, SchemaRef)],
    ) -> Result<RangeWriter> {
        names::validate_topic(topic)?;
        if start < 0 {
            return Err(Error::InvalidRange {
                topic: topic.to_owned(),
                partition,
                start,
                end: start,
            });
        }
        let mut slots = Vec::with_capacity(tables.len());
        for (name, schema) in tables {
            let name = name.as_ref();
            names::validate_table(name)?;
            if slots.iter().any(|t: &TableSlot| t.name == name) {
                return Err(Error::InvalidName {
                    kind: "table",
                    name: name.to_owned(),
                    reason: "declared twice",
                });
            }
            self.inner.check_column_options(name, schema)?;
            let part = match self.inner.config.date_partitioning.get(name) {
                Some(p) => Some((p.clone(), hive::check_schema(name, p, schema)?)),
                None => None,
            };
            slots.push(TableSlot::new(name, schema.clone(), part));
        }
        let tp = TopicPartition::new(topic, partition);
        {
            let mut st = self.inner.lock();
            if st.open.contains(&tp) {
                return Err(Error::RangeInProgress {
                    topic: topic.to_owned(),
                    partition,
                });
            }
            if st.needs_recovery.contains(&tp) {
                return Err(Error::RecoveryRequired {
                    topic: topic.to_owned(),
                    partition,
                });
            }
            if let Some(&next) = st.next.get(&tp) {
                if start < next {
                    return Err(Error::Overlap {
                        topic: topic.to_owned(),
                        partition,
                        start,
                        committed_end: next - 1,
                    });
                }
                if start > next {
                    return Err(Error::Gap {
                        topic: topic.to_owned(),
                        partition,
                        expected: next,
                        start,
                    });
                }
            }
            st.open.insert(tp.clone());
        }
        Ok(RangeWriter::new(self.inner.clone(), tp, start, slots))
    }

    /// Record an accepted gap `from..=to` of a partition (e.g. offsets expired by retention
    /// before they landed): written atomically to `_gaps/`, reported by [`crate::verify`]
    /// without failing it, and counted by recovery when computing the next offset.
    pub async fn record_gap(
        &self,
        topic: &str,
        partition: i32,
        from: i64,
        to: i64,
        reason: &str,
    ) -> Result<()> {
        names::validate_topic(topic)?;
        if from < 0 || to < from {
            return Err(Error::InvalidRange {
                topic: topic.to_owned(),
                partition,
                start: from,
                end: to,
            });
        }
        let rec = GapRecord {
            version: 1,
            topic: topic.to_owned(),
            partition,
            from,
            to,
            reason: reason.to_owned(),
            recorded_at_ms: now_ms(),
        };
        let body = serde_json::to_vec_pretty(&rec).map_err(|e| Error::CorruptMarker {
            path: self.inner.backend.display(GAPS_DIR),
            reason: e.to_string(),
        })?;
        let stem = range_stem(topic, partition, from, to);
        // Named like a range's temp directory so that scoped recovery finds it.
        let tmp = format!(
            "{TMP_DIR}/{topic}+{partition}+{from:020}+gap-{:x}-{:x}",
            std::process::id(),
            now_ms()
        );
        let dst = format!("{GAPS_DIR}/{stem}");
        self.inner.write_small_file(&tmp, Bytes::from(body)).await?;
        match self.inner.rename(&tmp, &dst).await {
            Ok(()) => {}
            Err(Error::AlreadyExists { .. }) => {
                // Recorded before: keep the first record.
                self.inner.delete_logged(&tmp, "record_gap").await?;
            }
            Err(e) => return Err(e),
        }
        self.inner.sync_dir(GAPS_DIR).await?;
        let tp = TopicPartition::new(topic, partition);
        let mut st = self.inner.lock();
        if let Some(n) = st.next.get_mut(&tp) {
            if from <= *n {
                *n = (*n).max(to + 1);
            }
        } else {
            st.next.insert(tp, to + 1);
        }
        info!(topic, partition, from, to, reason, "gap recorded");
        Ok(())
    }

    /// All commit markers, parsed, sorted by (topic, partition, start).
    pub async fn markers(&self) -> Result<Vec<Marker>> {
        let mut out = Vec::new();
        for m in self.inner.list_markers().await? {
            out.push(self.inner.load_marker(&m).await?);
        }
        Ok(out)
    }

    /// All accepted gaps, sorted.
    pub async fn gaps(&self) -> Result<Vec<(TopicPartition, OffsetRange)>> {
        self.inner.list_gaps().await
    }

    /// Read every committed row of `table`, in (topic, partition, offset range) order. Reads
    /// whole files into memory: meant for tests, verification and small tables.
    pub async fn read_committed(&self, table: &str) -> Result<Vec<RecordBatch>> {
        let mut out = Vec::new();
        for m in self.markers().await? {
            if let Some(t) = m.tables.get(table) {
                for f in &t.files {
                    out.extend(self.read_parquet_file(&f.path).await?);
                }
            }
        }
        Ok(out)
    }

    /// Read one Parquet file (path relative to the root) into batches.
    pub async fn read_parquet_file(&self, rel: &str) -> Result<Vec<RecordBatch>> {
        let display = self.inner.backend.display(rel);
        let bytes = with_retry(&self.inner.config.retry, Op::Read, &display, |_| {
            self.inner.backend.read_all(rel)
        })
        .await?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .and_then(|b| b.build())
            .map_err(|e| Error::parquet(&display, e))?;
        reader
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::parquet(&display, e.into()))
    }

    /// Set permission bits on a path relative to the root (`""` = the root). For tests and
    /// operations (e.g. provoking permission errors).
    pub async fn set_permission(&self, rel: &str, mode: u32) -> Result<()> {
        let display = self.inner.backend.display(rel);
        with_retry(
            &self.inner.config.retry,
            Op::SetPermission,
            &display,
            |_| self.inner.backend.set_permission(rel, mode),
        )
        .await
    }
}

impl Inner {
    /// Every per-column override of `table` must name a leaf column of its Parquet schema (a
    /// misspelt path would otherwise be ignored without a word) that can take it.
    fn check_column_options(&self, table: &str, schema: &SchemaRef) -> Result<()> {
        let Some(columns) = self.config.parquet.columns.get(table) else {
            return Ok(());
        };
        let descr = parquet::arrow::ArrowSchemaConverter::new()
            .convert(schema)
            .map_err(|e| Error::parquet(format!("schema of table {table}"), e))?;
        let known: Vec<String> = descr.columns().iter().map(|c| c.path().string()).collect();
        for (column, options) in columns {
            let Some(i) = known.iter().position(|k| k == column) else {
                return Err(Error::Config(ConfigError::UnknownColumn {
                    table: table.to_owned(),
                    column: column.clone(),
                    known,
                }));
            };
            let physical = descr.column(i).physical_type();
            if options.encoding == Some(crate::Encoding::DeltaBinaryPacked)
                && !matches!(physical, PhysicalType::INT32 | PhysicalType::INT64)
            {
                return Err(Error::Config(ConfigError::UnsupportedColumnOption {
                    table: table.to_owned(),
                    column: column.clone(),
                    reason: format!(
                        "DeltaBinaryPacked encodes INT32 and INT64 columns, this one is {physical}"
                    ),
                }));
            }
        }
        Ok(())
    }

    /// Writer properties of `table`'s files (its column overrides applied).
    pub(crate) fn props_for(&self, table: &str) -> &WriterProperties {
        self.table_props.get(table).unwrap_or(&self.props)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) async fn mkdirs(&self, rel: &str) -> Result<()> {
        let display = self.backend.display(rel);
        with_retry(&self.config.retry, Op::Mkdirs, &display, |_| {
            self.backend.mkdirs(rel)
        })
        .await
    }

    pub(crate) async fn list(
        &self,
        rel: &str,
        recursive: bool,
    ) -> Result<Vec<crate::storage::Entry>> {
        let display = self.backend.display(rel);
        with_retry(&self.config.retry, Op::List, &display, |_| {
            self.backend.list(rel, recursive)
        })
        .await
    }

    pub(crate) async fn delete(&self, rel: &str) -> Result<bool> {
        let display = self.backend.display(rel);
        with_retry(&self.config.retry, Op::Delete, &display, |_| {
            self.backend.delete(rel)
        })
        .await
    }

    pub(crate) async fn delete_logged(&self, rel: &str, why: &'static str) -> Result<()> {
        if why == "recover" {
            failpoint::hit("recover.before_delete");
        }
        let deleted = self.delete(rel).await?;
        if why == "recover" {
            failpoint::hit("recover.after_delete");
        }
        info!(path = %self.backend.display(rel), deleted, why, "deleted");
        Ok(())
    }

    pub(crate) async fn sync_dir(&self, rel: &str) -> Result<()> {
        if !self.backend.fsync() {
            return Ok(());
        }
        let display = self.backend.display(rel);
        with_retry(&self.config.retry, Op::Close, &display, |_| {
            self.backend.sync_dir(rel)
        })
        .await
    }

    /// Atomic rename that never replaces. A retry after an ambiguous failure (the first
    /// attempt may have succeeded) accepts "source gone and target present".
    pub(crate) async fn rename(&self, from: &str, to: &str) -> Result<()> {
        let display = format!(
            "{} -> {}",
            self.backend.display(from),
            self.backend.display(to)
        );
        with_retry(
            &self.config.retry,
            Op::Rename,
            &display,
            |attempt| async move {
                match self.backend.rename_noreplace(from, to).await {
                    Err(e) if attempt > 1 && e.is_not_found() => {
                        if self.backend.len(to).await?.is_some()
                            && self.backend.len(from).await?.is_none()
                        {
                            Ok(())
                        } else {
                            Err(e)
                        }
                    }
                    r => r,
                }
            },
        )
        .await
    }

    /// Create `rel` with `body`, closed and durable. Retried as a whole.
    pub(crate) async fn write_small_file(&self, rel: &str, body: Bytes) -> Result<()> {
        let display = self.backend.display(rel);
        let timeout = self.config.retry.op_timeout;
        with_retry(&self.config.retry, Op::Create, &display, |attempt| {
            let body = body.clone();
            async move {
                if attempt > 1 {
                    self.backend.delete(rel).await?;
                }
                let inner = self.backend.create(rel).await?;
                let mut f = StorageFile::new(inner, self.backend.fsync(), timeout);
                let slot = f.error_slot.clone();
                let r = async {
                    f.write(body).await?;
                    f.complete().await
                }
                .await;
                match r {
                    Ok(()) => Ok(()),
                    Err(pe) => {
                        let taken = slot.lock().ok().and_then(|mut s| s.take());
                        Err(match taken {
                            Some((_, be)) => be,
                            None => std::io::Error::other(pe.to_string()).into(),
                        })
                    }
                }
            }
        })
        .await
    }

    pub(crate) async fn list_markers(&self) -> Result<Vec<MarkerRef>> {
        let mut out: Vec<MarkerRef> = Vec::new();
        for e in self.list(COMMITS_DIR, false).await? {
            if e.is_dir {
                continue;
            }
            match parse_range_stem(names::file_name(&e.rel)) {
                Some((tp, range)) => out.push(MarkerRef {
                    rel: e.rel,
                    tp,
                    range,
                }),
                None => {
                    warn!(path = %self.backend.display(&e.rel), "ignoring unknown entry in _commits")
                }
            }
        }
        out.sort_by(|a, b| (&a.tp, a.range).cmp(&(&b.tp, b.range)));
        Ok(out)
    }

    pub(crate) async fn load_marker(&self, m: &MarkerRef) -> Result<Marker> {
        let display = self.backend.display(&m.rel);
        let bytes = with_retry(&self.config.retry, Op::Read, &display, |_| {
            self.backend.read_all(&m.rel)
        })
        .await?;
        let marker: Marker = serde_json::from_slice(&bytes).map_err(|e| Error::CorruptMarker {
            path: display.clone(),
            reason: e.to_string(),
        })?;
        if marker.topic != m.tp.topic
            || marker.partition != m.tp.partition
            || marker.start != m.range.start
            || marker.end != m.range.end
        {
            return Err(Error::CorruptMarker {
                path: display,
                reason: format!(
                    "content names {}/{} {}..={}, the file name another range",
                    marker.topic, marker.partition, marker.start, marker.end
                ),
            });
        }
        Ok(marker)
    }

    pub(crate) async fn list_gaps(&self) -> Result<Vec<(TopicPartition, OffsetRange)>> {
        let mut out = Vec::new();
        for e in self.list(GAPS_DIR, false).await? {
            if let Some(x) = parse_range_stem(names::file_name(&e.rel)) {
                out.push(x);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Top-level table directories (not `_`/`.`-prefixed).
    pub(crate) async fn list_table_dirs(&self) -> Result<Vec<String>> {
        Ok(self
            .list("", false)
            .await?
            .into_iter()
            .filter(|e| {
                let n = names::file_name(&e.rel);
                e.is_dir && !n.starts_with('_') && !n.starts_with('.')
            })
            .map(|e| e.rel)
            .collect())
    }
}
