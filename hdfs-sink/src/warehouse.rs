//! [`Warehouse`]: a root directory (local or HDFS) holding one Delta table per table name.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Type as PhysicalType;
use parquet::file::properties::WriterProperties;
use tracing::info;

use crate::config::{DatePartitioning, RotationPolicy, SinkConfig};
use crate::delta::{Expect, LoggedCommit, SinkMeta, TableLog, active_files};
use crate::error::{ConfigError, Error, Op, Result};
use crate::hive;
use crate::marker::{FileEntry, Marker, TableEntry, now_ms};
use crate::names::{self, COMMITS_DIR, DELTA_LOG_DIR, OffsetRange, TopicPartition};
use crate::storage::{Backend, StorageFile, with_retry};
use crate::writer::{RangeWriter, TableSlot};

/// A warehouse: `<root>/<table>/` Delta tables (`_delta_log/` plus the data files this crate
/// writes). Cheap to clone (shared state).
///
/// In-memory bookkeeping per (topic, partition): the next offset to land and each table's
/// txn version (learned from [`recover`](Self::recover) /
/// [`recover_partitions`](Self::recover_partitions) and from commits and recorded gaps), and
/// whether a range is open. [`begin_range`](Self::begin_range) refuses a range that would
/// overlap committed offsets or skip offsets, a second open range of the same partition, and a
/// partition whose last commit failed or whose writer was dropped without commit/abort until it
/// has been recovered again.
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
    /// The Delta side of each table opened so far.
    logs: Mutex<HashMap<String, Arc<TableLog>>>,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) next: HashMap<TopicPartition, i64>,
    pub(crate) open: HashSet<TopicPartition>,
    pub(crate) needs_recovery: HashSet<TopicPartition>,
    /// Txn version per (partition, table), where known (`None`: known to have none).
    pub(crate) txn: HashMap<(TopicPartition, String), Option<i64>>,
    /// Partitions whose tables' txn versions were all read by a recovery.
    pub(crate) recovered: HashSet<TopicPartition>,
}

/// What [`Warehouse::recover`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// Per partition in scope that every table has a txn for: the minimum over the tables of
    /// (txn version + 1), i.e. the first offset not committed by every table. Partitions that
    /// some table has no txn for are absent (start from the caller's default; tables that
    /// committed offsets drop them when they are landed again).
    pub next_offsets: BTreeMap<TopicPartition, i64>,
    /// Per partition in scope: each table's txn version (its last committed offset).
    pub table_offsets: BTreeMap<TopicPartition, BTreeMap<String, i64>>,
    /// Always empty: recovery deletes nothing (an uncommitted file may belong to a live
    /// writer; orphans are listed by [`verify`](crate::verify)). Kept for compatibility.
    pub deleted_data_files: Vec<String>,
    /// Always empty, see [`deleted_data_files`](Self::deleted_data_files).
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

/// A table's commits, read from its log.
pub(crate) struct TableHistory {
    pub(crate) name: String,
    pub(crate) commits: Vec<LoggedCommit>,
}

impl Warehouse {
    /// Open (and create if needed) the warehouse root at `url`: a local path,
    /// `file:///abs/path` or `hdfs://host:port/path`. Tables are created by
    /// [`create_tables`](Self::create_tables) (or the first range declaring them). Fails with
    /// [`Error::LegacyLayout`] on a warehouse of the marker protocol,
    /// [`Error::Unreachable`] if the NameNode cannot be reached (after retries),
    /// [`Error::PermissionDenied`] if the root cannot be created or written.
    pub async fn open(url: &str, config: SinkConfig) -> Result<Warehouse> {
        let wh = Self::connect(url, config)?;
        wh.refuse_legacy().await?;
        wh.inner.mkdirs("").await?;
        info!(url = %wh.inner.url, "warehouse opened");
        Ok(wh)
    }

    /// Open an existing warehouse without creating anything (for read-only use such as
    /// [`verify`](crate::verify)). Fails with [`Error::NotFound`] if the root does not exist,
    /// [`Error::LegacyLayout`] on a warehouse of the marker protocol.
    pub async fn open_existing(url: &str, config: SinkConfig) -> Result<Warehouse> {
        let wh = Self::connect(url, config)?;
        wh.refuse_legacy().await?;
        let display = wh.inner.backend.display("");
        let found = with_retry(&wh.inner.config.retry, Op::Stat, &display, |_| {
            wh.inner.backend.len("")
        })
        .await?;
        if found.is_none() {
            return Err(Error::NotFound {
                op: Op::Stat,
                path: display,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no warehouse root")
                    .into(),
            });
        }
        Ok(wh)
    }

    async fn refuse_legacy(&self) -> Result<()> {
        let display = self.inner.backend.display(COMMITS_DIR);
        let legacy = with_retry(&self.inner.config.retry, Op::Stat, &display, |_| {
            self.inner.backend.len(COMMITS_DIR)
        })
        .await?;
        if legacy.is_some() {
            return Err(Error::LegacyLayout {
                url: self.inner.url.clone(),
            });
        }
        Ok(())
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
            logs: Mutex::default(),
        });
        Ok(Warehouse { inner })
    }

    /// The root as a local path or `hdfs://` URL.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The URL of a table's Delta table (what Delta readers open).
    pub fn table_url(&self, table: &str) -> Result<String> {
        names::validate_table(table)?;
        Ok(self.inner.table_log(table)?.url.to_string())
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

    /// Create the tables that do not exist yet, each as a Delta table `<root>/<name>/` with
    /// its schema (plus the date partition column `date` of type `date` where
    /// [`DatePartitioning`] is configured for it: data files do not hold it, readers take it
    /// from the partition values). Idempotent; an existing table's schema and partitioning
    /// must match ([`Error::IncompatibleSchema`]). An empty table is a valid Delta table.
    pub async fn create_tables<S: AsRef<str> + Sync>(
        &self,
        tables: &[(S, SchemaRef)],
    ) -> Result<()> {
        for (name, schema) in tables {
            let name = name.as_ref();
            names::validate_table(name)?;
            self.inner.check_column_options(name, schema)?;
            let part = self.inner.partitioning(name, schema)?;
            self.inner.mkdirs(name).await?;
            let log = self.inner.table_log(name)?;
            log.ensure(schema, part.as_ref().map(|(p, _)| p)).await?;
        }
        Ok(())
    }

    /// Recover the whole warehouse: read every table's txn versions (from its last checkpoint
    /// and the commits after it, so the cost does not grow with the log) and return where each
    /// partition goes on. Nothing is deleted. The committed ranges themselves are
    /// [`markers`](Self::markers) and [`gaps`](Self::gaps). Use it when this process is the only writer (start of a bounded
    /// run); with several processes use [`recover_partitions`](Self::recover_partitions) for
    /// the assigned partitions only.
    pub async fn recover(&self) -> Result<RecoveryReport> {
        self.recover_scope(None).await
    }

    /// Recover only `partitions` (on start or on partition assignment). Fails with
    /// [`Error::RangeInProgress`] if this `Warehouse` has a range of one of them open.
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
        let names = self.inner.table_names().await?;
        for name in &names {
            for (id, v) in self.inner.table_log(name)?.txns().await? {
                if let Some(tp) = crate::delta::parse_app_id(&id)
                    && in_scope(&tp)
                {
                    report
                        .table_offsets
                        .entry(tp)
                        .or_default()
                        .insert(name.clone(), v);
                }
            }
        }
        // A table without a txn for the partition has committed none of it (the first range
        // crashed between tables, or the table is new): the partition starts from the
        // caller's default, and the tables that did commit drop what they hold.
        for (tp, tables) in &report.table_offsets {
            if tables.len() == names.len()
                && let Some(min) = tables.values().min()
            {
                report.next_offsets.insert(tp.clone(), min + 1);
            }
        }

        {
            let mut st = self.inner.lock();
            st.next.retain(|tp, _| !in_scope(tp));
            st.needs_recovery.retain(|tp| !in_scope(tp));
            st.txn.retain(|(tp, _), _| !in_scope(tp));
            st.recovered.retain(|tp| !in_scope(tp));
            for (tp, n) in &report.next_offsets {
                st.next.insert(tp.clone(), *n);
            }
            for (tp, tables) in &report.table_offsets {
                for (t, v) in tables {
                    st.txn.insert((tp.clone(), t.clone()), Some(*v));
                }
                st.recovered.insert(tp.clone());
            }
            if let Some(s) = &scope {
                st.recovered.extend(s.iter().cloned());
            }
        }
        info!(
            url = %self.inner.url,
            partitions = report.next_offsets.len(),
            tables = names.len(),
            elapsed = ?started.elapsed(),
            "recovered"
        );
        Ok(report)
    }

    /// Start a range of `topic`/`partition` at `start` (the first offset it will contain)
    /// with the given tables. Nothing is written to storage until the first non-empty batch;
    /// tables that do not exist yet are created at commit.
    ///
    /// A table whose txn version (known from recovery) is already at or past `start` — a range
    /// that some tables committed before a crash, landed again — drops the rows whose offset
    /// (column [`SinkConfig::offset_column`]) it has committed.
    ///
    /// Fails with [`Error::Overlap`] / [`Error::Gap`] if the partition's next offset is known
    /// and differs from `start`, [`Error::RangeInProgress`] if a range of the partition is
    /// open, [`Error::RecoveryRequired`] after a failed commit, [`Error::InvalidName`] for
    /// unusable topic/table names, [`Error::PartitionColumn`] if a table's configured date
    /// column is missing or not a timestamp, and [`Error::OffsetColumn`] if rows must be
    /// dropped from a table without the offset column.
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
        let tp = TopicPartition::new(topic, partition);
        let mut slots = Vec::with_capacity(tables.len());
        let mut st = self.inner.lock();
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
            let part = self.inner.partitioning(name, schema)?;
            let expect = match st.txn.get(&(tp.clone(), name.to_owned())) {
                Some(v) => Expect::Exactly(*v),
                None if st.recovered.contains(&tp) => Expect::Exactly(None),
                None => Expect::NoneOrBefore(start),
            };
            let offset_idx = match expect {
                Expect::Exactly(Some(v)) if v >= start => {
                    let column = &self.inner.config.offset_column;
                    match schema.index_of(column) {
                        Ok(i) if schema.field(i).data_type() == &DataType::Int64 => Some(i),
                        _ => {
                            return Err(Error::OffsetColumn {
                                table: name.to_owned(),
                                column: column.clone(),
                            });
                        }
                    }
                }
                _ => None,
            };
            let log = self.inner.table_log(name)?;
            slots.push(TableSlot::new(
                name,
                schema.clone(),
                part,
                log,
                expect,
                offset_idx,
            ));
        }
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
        drop(st);
        Ok(RangeWriter::new(self.inner.clone(), tp, start, slots))
    }

    /// Record an accepted gap `from..=to` of a partition (e.g. offsets expired by retention
    /// before they landed): in every existing table, a commit without Add that advances the
    /// partition's txn to `to` and says `kind: "gap"` and `reason` in its commitInfo. Reported
    /// by [`crate::verify`] without failing it, and counted by recovery. Tables already past
    /// `to` are left alone. Fails with [`Error::Fenced`] if a table's txn moved since this
    /// process learned it, and with [`Error::NotATable`] if the warehouse has no table yet.
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
        let tp = TopicPartition::new(topic, partition);
        let tables = self.inner.table_names().await?;
        if tables.is_empty() {
            return Err(Error::NotATable {
                table: "*".to_owned(),
                url: self.inner.url.clone(),
            });
        }
        let nonce = crate::writer::new_nonce();
        let now = now_ms();
        for name in &tables {
            let expect = {
                let st = self.inner.lock();
                match st.txn.get(&(tp.clone(), name.clone())) {
                    Some(v) => Expect::Exactly(*v),
                    None if st.recovered.contains(&tp) => Expect::Exactly(None),
                    None => Expect::NoneOrBefore(from),
                }
            };
            let table_start = match expect {
                Expect::Exactly(Some(v)) if v >= from => v + 1,
                _ => from,
            };
            if table_start > to {
                continue;
            }
            let meta = SinkMeta {
                version: 1,
                kind: "gap".to_owned(),
                topic: topic.to_owned(),
                partition,
                start: from,
                end: to,
                table_start,
                nonce: nonce.clone(),
                rows: BTreeMap::new(),
                reason: Some(reason.to_owned()),
                committed_at_ms: now,
            };
            let log = self.inner.table_log(name)?;
            log.commit(&tp, expect, Vec::new(), &meta).await?;
            self.inner
                .lock()
                .txn
                .insert((tp.clone(), name.clone()), Some(to));
        }
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

    /// The committed ranges, reconstructed from the tables' logs: one [`Marker`] per range
    /// and writer (the commits of all tables that share the range's nonce), listing each
    /// table's active files with their row counts. Sorted by (topic, partition, start, end).
    pub async fn markers(&self) -> Result<Vec<Marker>> {
        let histories = self.inner.histories().await?;
        Ok(markers_of(&histories))
    }

    /// Every table's data files in its latest version, by table name (paths relative to the
    /// root): what a Delta reader of the table reads — never a file no version references
    /// (an orphan), never one a later version removed (e.g. compacted away). A table without
    /// rows is listed with no files.
    pub async fn snapshot_files(&self) -> Result<BTreeMap<String, Vec<FileEntry>>> {
        let histories = self.inner.histories().await?;
        let mut out = BTreeMap::new();
        for h in &histories {
            let rows: HashMap<&str, u64> = h
                .commits
                .iter()
                .flat_map(|c| &c.adds)
                .filter_map(|a| Some((a.path.as_str(), a.num_records?)))
                .collect();
            let files = active_files(&h.commits)
                .into_iter()
                .map(|(p, bytes)| FileEntry {
                    rows: rows.get(p.as_str()).copied().unwrap_or(0),
                    path: format!("{}/{p}", h.name),
                    bytes,
                })
                .collect();
            out.insert(h.name.clone(), files);
        }
        Ok(out)
    }

    /// All accepted gaps, sorted.
    pub async fn gaps(&self) -> Result<Vec<(TopicPartition, OffsetRange)>> {
        let histories = self.inner.histories().await?;
        let mut out: BTreeSet<(TopicPartition, OffsetRange)> = BTreeSet::new();
        for h in &histories {
            for m in h.commits.iter().filter_map(|c| c.sink.as_ref()) {
                if m.kind == "gap" {
                    out.insert((
                        TopicPartition::new(m.topic.clone(), m.partition),
                        OffsetRange {
                            start: m.start,
                            end: m.end,
                        },
                    ));
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Read every row of the active files of `table`'s latest version, ranges in (topic,
    /// partition, offset) order, then files not written by this crate (e.g. compacted) in
    /// log order. Reads whole files into memory: meant for tests, verification and small
    /// tables.
    pub async fn read_committed(&self, table: &str) -> Result<Vec<RecordBatch>> {
        names::validate_table(table)?;
        let log = self.inner.table_log(table)?;
        let commits = log.commits().await?;
        let history = [TableHistory {
            name: table.to_owned(),
            commits,
        }];
        let mut paths: Vec<String> = Vec::new();
        for m in markers_of(&history) {
            if let Some(t) = m.tables.get(table) {
                paths.extend(t.files.iter().map(|f| f.path.clone()));
            }
        }
        let seen: HashSet<String> = paths.iter().cloned().collect();
        for (p, _) in active_files(&history[0].commits) {
            let rel = format!("{table}/{p}");
            if !seen.contains(&rel) {
                paths.push(rel);
            }
        }
        let mut out = Vec::new();
        for rel in paths {
            out.extend(self.read_parquet_file(&rel).await?);
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

/// One marker per (partition, range, nonce) over the tables' commits; files restricted to the
/// active ones of each table's latest version.
pub(crate) fn markers_of(histories: &[TableHistory]) -> Vec<Marker> {
    type Key = (TopicPartition, i64, i64, String);
    let mut out: BTreeMap<Key, Marker> = BTreeMap::new();
    for h in histories {
        let active: HashSet<String> = active_files(&h.commits).into_iter().map(|f| f.0).collect();
        for c in &h.commits {
            let Some(m) = c.sink.as_ref().filter(|m| m.kind == "range") else {
                continue;
            };
            let tp = TopicPartition::new(m.topic.clone(), m.partition);
            let marker = out
                .entry((tp, m.start, m.end, m.nonce.clone()))
                .or_insert_with(|| Marker {
                    version: 1,
                    topic: m.topic.clone(),
                    partition: m.partition,
                    start: m.start,
                    end: m.end,
                    committed_at_ms: m.committed_at_ms,
                    tables: BTreeMap::new(),
                });
            let files: Vec<FileEntry> = c
                .adds
                .iter()
                .filter(|a| active.contains(&a.path))
                .map(|a| FileEntry {
                    path: format!("{}/{}", h.name, a.path),
                    rows: a.num_records.unwrap_or(0),
                    bytes: a.size,
                })
                .collect();
            marker.tables.insert(
                h.name.clone(),
                TableEntry {
                    rows: files.iter().map(|f| f.rows).sum(),
                    files,
                },
            );
        }
    }
    out.into_values().collect()
}

impl Inner {
    /// The Delta side of `table` (created on first use; no I/O).
    pub(crate) fn table_log(&self, table: &str) -> Result<Arc<TableLog>> {
        let mut logs = self.logs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = logs.get(table) {
            return Ok(l.clone());
        }
        let url = self
            .backend
            .table_url(table)
            .map_err(|reason| Error::InvalidUrl {
                url: self.backend.display(table),
                reason,
            })?;
        let options = self
            .config
            .hdfs_options
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let log = Arc::new(TableLog::new(
            table,
            url,
            options,
            self.config.retry.op_timeout,
        ));
        logs.insert(table.to_owned(), log.clone());
        Ok(log)
    }

    /// The date partitioning of `table`, checked against its schema.
    pub(crate) fn partitioning(
        &self,
        table: &str,
        schema: &SchemaRef,
    ) -> Result<Option<(DatePartitioning, usize)>> {
        match self.config.date_partitioning.get(table) {
            Some(p) => Ok(Some((p.clone(), hive::check_schema(table, p, schema)?))),
            None => Ok(None),
        }
    }

    /// Names of the tables of the root: directories with a Delta log.
    pub(crate) async fn table_names(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for dir in self.list_table_dirs().await? {
            let log = format!("{dir}/{DELTA_LOG_DIR}");
            let display = self.backend.display(&log);
            let found = with_retry(&self.config.retry, Op::Stat, &display, |_| {
                self.backend.len(&log)
            })
            .await?;
            if found.is_some() {
                out.push(names::file_name(&dir).to_owned());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Every table's commits.
    pub(crate) async fn histories(&self) -> Result<Vec<TableHistory>> {
        let mut out = Vec::new();
        for name in self.table_names().await? {
            let commits = self.table_log(&name)?.commits().await?;
            out.push(TableHistory { name, commits });
        }
        Ok(out)
    }
}

impl Inner {
    /// Create the file `rel` (shown as `shown` in errors) for writing, with retries: a retry
    /// first deletes what a failed attempt may have created.
    pub(crate) async fn create_file(&self, rel: &str, shown: &str) -> Result<StorageFile> {
        let backend = &self.backend;
        let f = with_retry(
            &self.config.retry,
            Op::Create,
            shown,
            |attempt| async move {
                if attempt > 1 {
                    // A previous attempt may have created the file before failing.
                    backend.delete(rel).await?;
                }
                backend.create(rel).await
            },
        )
        .await?;
        Ok(StorageFile::new(
            f,
            backend.fsync(),
            self.config.retry.op_timeout,
        ))
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
