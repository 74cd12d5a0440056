//! Table maintenance: [`Warehouse::compact`] and [`Warehouse::vacuum`]. The rules are in the
//! crate docs ("Table maintenance").

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_schema::{Fields, Schema, SchemaRef};
use bytes::Bytes;
use deltalake_core::kernel::{Action, Add, Remove};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use tracing::{debug, info, warn};

use crate::delta::{
    LoggedAdd, LoggedCommit, MAINTENANCE_INFO_KEY, Rewrite, StoredFile, stats_json,
};
use crate::error::{ConfigError, Error, Op, Result};
use crate::marker::now_ms;
use crate::names::{self, DELTA_LOG_DIR};
use crate::storage::{StorageFile, with_retry};
use crate::warehouse::Warehouse;

/// Default [`CompactOptions::target_file_bytes`]: 128 MiB.
pub const DEFAULT_TARGET_FILE_BYTES: u64 = 128 << 20;

/// Default [`VacuumOptions::retention`]: 7 days (Delta's default file retention).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// How [`Warehouse::compact`] packs files (rules in the [crate docs](crate#table-maintenance)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompactOptions {
    /// Target size of a compacted file in bytes (sum of its input files' sizes). Files of at
    /// least half of it are left alone. Default [`DEFAULT_TARGET_FILE_BYTES`] (128 MiB).
    pub target_file_bytes: u64,
    /// Commit attempts before giving up when concurrent commits keep taking the next version
    /// (each attempt first checks the versions committed in between). Default 100.
    pub max_attempts: u32,
}

impl Default for CompactOptions {
    fn default() -> Self {
        Self {
            target_file_bytes: DEFAULT_TARGET_FILE_BYTES,
            max_attempts: 100,
        }
    }
}

impl CompactOptions {
    /// Set [`target_file_bytes`](Self::target_file_bytes).
    pub fn with_target_file_bytes(mut self, bytes: u64) -> Self {
        self.target_file_bytes = bytes;
        self
    }

    /// Set [`max_attempts`](Self::max_attempts).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.target_file_bytes < 2 {
            return Err(Error::Config(ConfigError::Invalid {
                field: "compact.target_file_bytes",
                reason: format!("must be at least 2 bytes, got {}", self.target_file_bytes),
            }));
        }
        if self.max_attempts == 0 {
            return Err(Error::Config(ConfigError::Invalid {
                field: "compact.max_attempts",
                reason: "must be at least 1".to_owned(),
            }));
        }
        Ok(())
    }
}

/// How a table's compaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompactOutcome {
    /// The rewrite is committed as this table version.
    Committed {
        /// The table version of the `OPTIMIZE` commit.
        version: i64,
    },
    /// No partition has two small files to pack: nothing written, nothing committed.
    NothingToDo,
    /// A concurrent change conflicts with the rewrite (it removed a file being rewritten,
    /// changed the table's metadata or protocol), or the commit lost the race for the next
    /// version too often: the files written were deleted, the table is unchanged. Running
    /// the compaction again starts from the new state.
    GaveUp {
        /// What conflicted.
        reason: String,
    },
}

/// What [`Warehouse::compact`] did to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompactReport {
    /// The table.
    pub table: String,
    /// How it ended.
    pub outcome: CompactOutcome,
    /// Active files of the version the compaction read.
    pub files_before: usize,
    /// Active files after the compaction's commit (the read version's, minus rewritten, plus
    /// written; ranges committed concurrently not counted). Equals `files_before` unless
    /// committed.
    pub files_after: usize,
    /// Bytes of the active files of the version read.
    pub bytes_before: u64,
    /// Bytes of the active files after the commit (see `files_after`).
    pub bytes_after: u64,
    /// Rows of the active files of the version read (from the log's `numRecords`): what a
    /// reader sees, before and after.
    pub rows: u64,
    /// Files rewritten (removed by the commit); 0 unless committed.
    pub files_rewritten: usize,
    /// Files written (added by the commit); 0 unless committed.
    pub files_written: usize,
    /// Bytes of the rewritten files.
    pub bytes_rewritten: u64,
    /// Bytes of the written files.
    pub bytes_written: u64,
    /// Rows rewritten.
    pub rows_rewritten: u64,
    /// Directories (date partitions, or the table directory) compacted.
    pub partitions: usize,
    /// Commit attempts (0 if nothing was committed or attempted).
    pub attempts: u32,
    /// Time spent.
    pub elapsed: Duration,
}

/// What [`Warehouse::vacuum`] considers (rules in the [crate docs](crate#table-maintenance)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VacuumOptions {
    /// Files modified, or removed from the table, less than this long ago are kept. Default
    /// [`DEFAULT_RETENTION`] (7 days). Keep it far above the longest time a range stays open
    /// (the rotation interval) and the longest query.
    pub retention: Duration,
    /// Only list what would be deleted. Default `false`.
    pub dry_run: bool,
    /// Only this table. Default: every table of the warehouse.
    pub table: Option<String>,
}

impl Default for VacuumOptions {
    fn default() -> Self {
        Self {
            retention: DEFAULT_RETENTION,
            dry_run: false,
            table: None,
        }
    }
}

impl VacuumOptions {
    /// Set [`retention`](Self::retention).
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Set [`dry_run`](Self::dry_run).
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Set [`table`](Self::table).
    pub fn with_table(mut self, table: impl Into<String>) -> Self {
        self.table = Some(table.into());
        self
    }
}

/// Why [`Warehouse::vacuum`] deletes a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum VacuumReason {
    /// An earlier version referenced it, a later one removed it (e.g. a compaction), longer
    /// ago than the retention.
    Removed,
    /// No version ever referenced it (a crashed writer's or an uncommitted compaction's
    /// file), and it is older than the retention.
    Orphan,
}

/// A file [`Warehouse::vacuum`] deleted (or, in a dry run, would delete).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VacuumedFile {
    /// Path relative to the warehouse root.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Last modification, milliseconds since the epoch.
    pub modified_ms: i64,
    /// Why.
    pub reason: VacuumReason,
}

/// What [`Warehouse::vacuum`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VacuumReport {
    /// Whether nothing was deleted (only listed).
    pub dry_run: bool,
    /// The retention applied.
    pub retention: Duration,
    /// Tables vacuumed.
    pub tables: usize,
    /// Data files in the tables' directories, before.
    pub files_before: usize,
    /// Data files after (in a dry run: as there would be).
    pub files_after: usize,
    /// Bytes of the data files before.
    pub bytes_before: u64,
    /// Bytes of the data files after (in a dry run: as there would be).
    pub bytes_after: u64,
    /// Rows of the tables' latest versions (from the log's `numRecords`): unchanged.
    pub rows: u64,
    /// The files deleted (in a dry run: that would be), sorted by path.
    pub deleted: Vec<VacuumedFile>,
    /// Unreferenced or removed data files kept because they are younger than the retention.
    pub kept_recent: usize,
    /// Time spent.
    pub elapsed: Duration,
}

impl VacuumReport {
    /// Bytes of [`deleted`](Self::deleted).
    pub fn deleted_bytes(&self) -> u64 {
        self.deleted.iter().map(|f| f.bytes).sum()
    }

    /// How many deleted files had `reason`.
    pub fn count(&self, reason: VacuumReason) -> usize {
        self.deleted.iter().filter(|f| f.reason == reason).count()
    }
}

/// A group of small files of one directory to rewrite into one file.
struct Bin {
    /// Directory relative to the table (`""` or `date=…`).
    dir: String,
    partition_values: BTreeMap<String, Option<String>>,
    files: Vec<LoggedAdd>,
}

/// A compacted file written and closed.
struct Written {
    /// Relative to the table directory.
    in_table: String,
    bin: usize,
    size: u64,
    rows: u64,
    stats: String,
}

/// An output file open on the storage.
struct Output {
    file: StorageFile,
    /// Relative to the table directory.
    in_table: String,
    /// Relative to the warehouse root.
    rel: String,
}

fn no_output(shown: &str) -> Error {
    Error::parquet(
        shown,
        ParquetError::General("no output file open".to_owned()),
    )
}

/// An output file being encoded: the part that goes to the blocking pool.
struct Encoder {
    writer: ArrowWriter<Vec<u8>>,
    schema: SchemaRef,
    rows: u64,
}

/// What one encoding job did with an input file.
enum Encoded {
    /// The file's rows were appended to the encoder (created for them if `fresh`); `out` is
    /// the encoded bytes to append to the output file.
    Done {
        encoder: Encoder,
        out: Vec<u8>,
        rows: u64,
        footer_rows: u64,
        fresh: bool,
    },
    /// The file's Arrow schema differs from the encoder's: finish the encoder, then encode
    /// the file into a new one.
    SchemaChanged { encoder: Encoder },
}

/// The active files of the latest version, in the order they were added.
fn live_adds(commits: &[LoggedCommit]) -> Vec<LoggedAdd> {
    let mut order: Vec<String> = Vec::new();
    let mut live: HashMap<String, LoggedAdd> = HashMap::new();
    for c in commits {
        for r in &c.removes {
            live.remove(r);
        }
        for a in &c.adds {
            if live.insert(a.path.clone(), a.clone()).is_none() {
                order.push(a.path.clone());
            }
        }
    }
    let mut seen = HashSet::new();
    order
        .into_iter()
        .filter(|p| seen.insert(p.clone()))
        .filter_map(|p| live.remove(&p))
        .collect()
}

/// `(topic, partition, start, n)` of a range writer's file name.
fn range_key(path: &str) -> Option<(String, i32, i64, u64)> {
    let stem = names::file_name(path).strip_suffix(".parquet")?;
    let mut it = stem.rsplitn(5, '-');
    let n = it.next()?.parse().ok()?;
    let _nonce = it.next()?;
    let start = it.next()?.parse().ok()?;
    let partition = it.next()?.parse().ok()?;
    let topic = it.next()?.to_owned();
    Some((topic, partition, start, n))
}

fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// The bins of a table's active files (rules in the crate docs).
fn plan_bins(live: &[LoggedAdd], target: u64) -> Vec<Bin> {
    type Key = (String, BTreeMap<String, Option<String>>);
    let small = target / 2;
    let mut groups: BTreeMap<Key, Vec<(usize, &LoggedAdd)>> = BTreeMap::new();
    for (i, a) in live.iter().enumerate() {
        if a.size >= small {
            continue;
        }
        groups
            .entry((dir_of(&a.path).to_owned(), a.partition_values.clone()))
            .or_default()
            .push((i, a));
    }
    let mut bins = Vec::new();
    for ((dir, partition_values), mut files) in groups {
        if files.len() < 2 {
            continue;
        }
        files.sort_by_key(|(i, a)| (range_key(&a.path), *i));
        let mut current: Vec<LoggedAdd> = Vec::new();
        let mut bytes = 0u64;
        let mut close = |current: &mut Vec<LoggedAdd>| {
            if current.len() >= 2 {
                bins.push(Bin {
                    dir: dir.clone(),
                    partition_values: partition_values.clone(),
                    files: std::mem::take(current),
                });
            } else {
                current.clear();
            }
        };
        for (_, a) in files {
            if !current.is_empty() && bytes + a.size > target {
                close(&mut current);
                bytes = 0;
            }
            bytes += a.size;
            current.push(a.clone());
        }
        close(&mut current);
    }
    bins
}

/// Why the versions after `base` conflict with rewriting `inputs`, if they do.
fn conflict(commits: &[LoggedCommit], base: i64, inputs: &HashSet<&str>) -> Option<String> {
    for c in commits.iter().filter(|c| c.version > base) {
        if c.changes_metadata {
            return Some(format!(
                "version {} changed the table's metadata or protocol",
                c.version
            ));
        }
        if let Some(p) = c.removes.iter().find(|r| inputs.contains(r.as_str())) {
            return Some(format!(
                "version {} removed {p}, one of the files being compacted (a concurrent \
                 compaction?)",
                c.version
            ));
        }
    }
    None
}

/// Decode one input file (`bytes`) and append its rows to `encoder`, or to a new encoder
/// with the file's schema and `props` if `encoder` is `None`. Runs on the blocking pool.
fn encode_file(
    bytes: Bytes,
    encoder: Option<Encoder>,
    props: WriterProperties,
) -> std::result::Result<Encoded, ParquetError> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)?;
    let fields: Fields = builder.schema().fields().clone();
    let footer_rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
    let (mut encoder, fresh) = match encoder {
        Some(e) if e.schema.fields() != &fields => {
            return Ok(Encoded::SchemaChanged { encoder: e });
        }
        Some(e) => (e, false),
        None => {
            // The file's key-value metadata (its range's offsets) is not carried over: only
            // the fields, with their metadata.
            let schema = Arc::new(Schema::new(fields));
            let writer = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(props))?;
            let encoder = Encoder {
                writer,
                schema,
                rows: 0,
            };
            (encoder, true)
        }
    };
    let reader = builder.with_batch_size(8192).build()?;
    let mut rows = 0u64;
    for batch in reader {
        let batch = batch?;
        let batch =
            arrow_array::RecordBatch::try_new(encoder.schema.clone(), batch.columns().to_vec())?;
        rows += batch.num_rows() as u64;
        encoder.writer.write(&batch)?;
    }
    encoder.rows += rows;
    let out = std::mem::take(encoder.writer.inner_mut());
    Ok(Encoded::Done {
        encoder,
        out,
        rows,
        footer_rows,
        fresh,
    })
}

/// A blocking job's result, a panic in it resumed here.
fn joined<T>(
    r: std::result::Result<std::result::Result<T, ParquetError>, tokio::task::JoinError>,
    shown: &str,
) -> Result<T> {
    match r {
        Ok(r) => r.map_err(|e| Error::parquet(shown, e)),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(Error::parquet(
            shown,
            ParquetError::General(format!("encoding job cancelled: {e}")),
        )),
    }
}

impl Warehouse {
    /// Compact every table of the warehouse, in name order (see [`compact`](Self::compact)).
    /// A table whose compaction gives up does not stop the others.
    pub async fn compact_all(&self, options: &CompactOptions) -> Result<Vec<CompactReport>> {
        let mut out = Vec::new();
        for table in self.inner.table_names().await? {
            out.push(self.compact(&table, options).await?);
        }
        Ok(out)
    }

    /// Compact `table`: rewrite its small files into files of about
    /// [`CompactOptions::target_file_bytes`] and commit one `OPTIMIZE` version that removes
    /// the old files and adds the new ones, without changing a row (rules in the
    /// [crate docs](crate#table-maintenance)). Safe while ranges are being landed; a
    /// conflicting concurrent change makes it give up cleanly ([`CompactOutcome::GaveUp`],
    /// not an error).
    ///
    /// Fails with [`Error::NotATable`] if the table has no log, [`Error::Config`] for invalid
    /// options, [`Error::CorruptLog`] if a file's rows differ from its Add's `numRecords`
    /// (nothing committed), and with storage, Parquet and Delta errors.
    pub async fn compact(&self, table: &str, options: &CompactOptions) -> Result<CompactReport> {
        names::validate_table(table)?;
        options.validate()?;
        let started = Instant::now();
        let inner = &self.inner;
        let log = inner.table_log(table)?;
        let commits = log.commits().await?;
        let Some(base) = commits.last().map(|c| c.version) else {
            return Err(Error::NotATable {
                table: table.to_owned(),
                url: log.url.to_string(),
            });
        };
        let live = live_adds(&commits);
        drop(commits);
        let mut report = CompactReport {
            table: table.to_owned(),
            outcome: CompactOutcome::NothingToDo,
            files_before: live.len(),
            files_after: live.len(),
            bytes_before: live.iter().map(|a| a.size).sum(),
            bytes_after: live.iter().map(|a| a.size).sum(),
            rows: live.iter().filter_map(|a| a.num_records).sum(),
            files_rewritten: 0,
            files_written: 0,
            bytes_rewritten: 0,
            bytes_written: 0,
            rows_rewritten: 0,
            partitions: 0,
            attempts: 0,
            elapsed: Duration::ZERO,
        };
        let bins = plan_bins(&live, options.target_file_bytes);
        if bins.is_empty() {
            report.elapsed = started.elapsed();
            info!(
                table,
                version = base,
                files = live.len(),
                "compaction: nothing to do"
            );
            return Ok(report);
        }
        let inputs = bins.iter().map(|b| b.files.len()).sum::<usize>();
        info!(
            table,
            version = base,
            files = live.len(),
            inputs,
            outputs = bins.len(),
            target_bytes = options.target_file_bytes,
            "compaction planned"
        );

        let nonce = crate::writer::new_nonce();
        let mut created: Vec<String> = Vec::new();
        let written = match self.rewrite_bins(table, &bins, &nonce, &mut created).await {
            Ok(w) => w,
            Err(e) => {
                self.discard(&created).await;
                return Err(e);
            }
        };

        // One commit: Removes of the inputs, Adds of the outputs.
        let now = now_ms() as i64;
        let mut actions: Vec<Action> = Vec::new();
        let hash = |pv: &BTreeMap<String, Option<String>>| -> HashMap<String, Option<String>> {
            pv.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        for b in &bins {
            for f in &b.files {
                actions.push(Action::Remove(Remove {
                    path: f.path.clone(),
                    data_change: false,
                    deletion_timestamp: Some(now),
                    extended_file_metadata: Some(true),
                    partition_values: Some(hash(&f.partition_values)),
                    size: Some(f.size as i64),
                    ..Default::default()
                }));
            }
        }
        for w in &written {
            actions.push(Action::Add(Add {
                path: w.in_table.clone(),
                partition_values: hash(&bins[w.bin].partition_values),
                size: w.size as i64,
                modification_time: now,
                data_change: false,
                stats: Some(w.stats.clone()),
                ..Default::default()
            }));
        }
        let bytes_rewritten: u64 = bins.iter().flat_map(|b| &b.files).map(|f| f.size).sum();
        let bytes_written: u64 = written.iter().map(|w| w.size).sum();
        let rows_rewritten: u64 = written.iter().map(|w| w.rows).sum();
        let info = serde_json::json!({
            "version": 1,
            "kind": "compact",
            "nonce": nonce,
            "filesRemoved": inputs,
            "filesAdded": written.len(),
            "bytesRemoved": bytes_rewritten,
            "bytesAdded": bytes_written,
            "rows": rows_rewritten,
            "targetFileBytes": options.target_file_bytes,
        });
        let metrics = serde_json::json!({
            "numRemovedFiles": inputs.to_string(),
            "numAddedFiles": written.len().to_string(),
            "numRemovedBytes": bytes_rewritten.to_string(),
            "numAddedBytes": bytes_written.to_string(),
        });
        let metadata = vec![
            (MAINTENANCE_INFO_KEY.to_owned(), info),
            ("operationMetrics".to_owned(), metrics),
        ];
        let input_paths: HashSet<&str> = bins
            .iter()
            .flat_map(|b| &b.files)
            .map(|f| f.path.as_str())
            .collect();
        let target = i64::try_from(options.target_file_bytes).unwrap_or(i64::MAX);
        let mut read_version = base;
        let mut attempts = 0;
        let gave_up = loop {
            attempts += 1;
            let r = log
                .commit_rewrite(
                    read_version,
                    actions.clone(),
                    metadata.clone(),
                    &nonce,
                    target,
                )
                .await;
            match r {
                Ok(Rewrite::Committed(version)) => {
                    report.outcome = CompactOutcome::Committed { version };
                    break None;
                }
                Ok(Rewrite::Stale) => {
                    // Whether this compaction's files are referenced is unknown until the log
                    // is read: on an error they stay (orphans at worst).
                    let commits = log.commits().await?;
                    // The version that got in the way may be this very commit (a storage
                    // that retried a put which had succeeded reports it as existing).
                    if let Some(c) = commits.iter().find(|c| {
                        c.version > read_version
                            && c.maintenance_nonce.as_deref() == Some(nonce.as_str())
                    }) {
                        report.outcome = CompactOutcome::Committed { version: c.version };
                        break None;
                    }
                    if let Some(reason) = conflict(&commits, read_version, &input_paths) {
                        break Some(reason);
                    }
                    if attempts >= options.max_attempts {
                        break Some(format!(
                            "{attempts} commit attempts lost the race for the next version to \
                             concurrent commits"
                        ));
                    }
                    let latest = commits.last().map_or(read_version, |c| c.version);
                    debug!(
                        table,
                        from = read_version,
                        to = latest,
                        "compaction: table moved on; retrying"
                    );
                    read_version = latest;
                }
                Err(e) => {
                    warn!(
                        table, error = %e, files = ?created,
                        "compaction commit failed; its files stay as orphans (vacuum removes them)"
                    );
                    return Err(e);
                }
            }
        };
        report.attempts = attempts;
        report.elapsed = started.elapsed();
        if let Some(reason) = gave_up {
            self.discard(&created).await;
            warn!(table, %reason, "compaction gave up; the table is unchanged");
            report.outcome = CompactOutcome::GaveUp { reason };
            return Ok(report);
        }
        report.files_rewritten = inputs;
        report.files_written = written.len();
        report.bytes_rewritten = bytes_rewritten;
        report.bytes_written = bytes_written;
        report.rows_rewritten = rows_rewritten;
        report.partitions = bins.iter().map(|b| &b.dir).collect::<BTreeSet<_>>().len();
        report.files_after = report.files_before - inputs + written.len();
        report.bytes_after = report.bytes_before - bytes_rewritten + bytes_written;
        info!(
            table, outcome = ?report.outcome, rewritten = inputs, written = written.len(),
            bytes_rewritten, bytes_written, rows = rows_rewritten, attempts,
            elapsed = ?report.elapsed, "compaction committed"
        );
        Ok(report)
    }

    /// Rewrite every bin into new files (closed and synced on return). Every file created is
    /// pushed to `created` first, so the caller can delete them if anything fails.
    async fn rewrite_bins(
        &self,
        table: &str,
        bins: &[Bin],
        nonce: &str,
        created: &mut Vec<String>,
    ) -> Result<Vec<Written>> {
        let inner = &self.inner;
        let props = inner.props_for(table).clone();
        let mut written = Vec::new();
        let mut dirs: BTreeSet<String> = BTreeSet::new();
        for (bi, bin) in bins.iter().enumerate() {
            let mut encoder: Option<Encoder> = None;
            let mut file: Option<Output> = None;
            for input in &bin.files {
                let rel = format!("{table}/{}", input.path);
                let shown = inner.backend.display(&rel);
                let bytes = with_retry(&inner.config.retry, Op::Read, &shown, |_| {
                    inner.backend.read_all(&rel)
                })
                .await?;
                let mut current = encoder.take();
                let (enc, out, rows, footer_rows, fresh) = loop {
                    let (b, p) = (bytes.clone(), props.clone());
                    let job = tokio::task::spawn_blocking(move || encode_file(b, current, p)).await;
                    match joined(job, &shown)? {
                        Encoded::Done {
                            encoder,
                            out,
                            rows,
                            footer_rows,
                            fresh,
                        } => break (encoder, out, rows, footer_rows, fresh),
                        Encoded::SchemaChanged { encoder: old } => {
                            debug!(path = %shown, "compaction: another schema; starting a new file");
                            let Some(f) = file.take() else {
                                return Err(no_output(&shown));
                            };
                            written.push(self.finish_output(old, f, bi, nonce).await?);
                            current = None;
                        }
                    }
                };
                if rows != footer_rows || input.num_records.is_some_and(|n| n != rows) {
                    return Err(Error::CorruptLog {
                        table: table.to_owned(),
                        url: inner.backend.display(table),
                        version: None,
                        reason: format!(
                            "{shown}: {rows} rows read, its footer says {footer_rows}, its Add's \
                             numRecords {:?}; not compacting",
                            input.num_records
                        ),
                    });
                }
                if fresh {
                    file = Some(self.create_output(table, &bin.dir, nonce, created).await?);
                    dirs.insert(if bin.dir.is_empty() {
                        table.to_owned()
                    } else {
                        format!("{table}/{}", bin.dir)
                    });
                }
                let Some(f) = file.as_mut() else {
                    return Err(no_output(&shown));
                };
                put(&mut f.file, out, inner.backend.display(&f.rel)).await?;
                encoder = Some(enc);
            }
            if let (Some(enc), Some(f)) = (encoder, file) {
                written.push(self.finish_output(enc, f, bi, nonce).await?);
            }
        }
        for d in &dirs {
            inner.sync_dir(d).await?;
        }
        Ok(written)
    }

    /// Create the next output file of the compaction `nonce` in `table/dir`.
    async fn create_output(
        &self,
        table: &str,
        dir: &str,
        nonce: &str,
        created: &mut Vec<String>,
    ) -> Result<Output> {
        let inner = &self.inner;
        let name = format!("compacted-{nonce}-{}.parquet", created.len());
        let in_table = if dir.is_empty() {
            name
        } else {
            format!("{dir}/{name}")
        };
        let rel = format!("{table}/{in_table}");
        created.push(rel.clone());
        let shown = inner.backend.display(&rel);
        let backend = &inner.backend;
        let f = with_retry(&inner.config.retry, Op::Create, &shown, |attempt| {
            let rel = rel.clone();
            async move {
                if attempt > 1 {
                    // A previous attempt may have created the file before failing.
                    backend.delete(&rel).await?;
                }
                backend.create(&rel).await
            }
        })
        .await?;
        debug!(path = %shown, "compacted file created");
        let file = StorageFile::new(f, backend.fsync(), inner.config.retry.op_timeout);
        Ok(Output {
            file,
            in_table,
            rel,
        })
    }

    /// Finish an output: footer and stats encoded, the file completed on the storage.
    async fn finish_output(
        &self,
        encoder: Encoder,
        mut output: Output,
        bin: usize,
        nonce: &str,
    ) -> Result<Written> {
        let shown = self.inner.backend.display(&output.rel);
        let kv = KeyValue::new("hdfs_sink.compacted_by".to_owned(), nonce.to_owned());
        type Finished = (u64, Vec<u8>, u64, String);
        let job =
            tokio::task::spawn_blocking(move || -> std::result::Result<Finished, ParquetError> {
                let Encoder {
                    mut writer,
                    schema,
                    rows,
                } = encoder;
                writer.append_key_value_metadata(kv);
                let meta = writer.finish()?;
                let stats = stats_json(&schema, &meta, rows);
                let out = std::mem::take(writer.inner_mut());
                Ok((writer.bytes_written() as u64, out, rows, stats))
            })
            .await;
        let (size, out, rows, stats) = joined(job, &shown)?;
        put(&mut output.file, out, shown.clone()).await?;
        output
            .file
            .close()
            .await
            .map_err(|e| Error::from_backend(Op::Close, shown, 1, Duration::ZERO, e))?;
        Ok(Written {
            in_table: output.in_table,
            bin,
            size,
            rows,
            stats,
        })
    }

    /// Delete files this process wrote and never committed (best effort: what cannot be
    /// deleted stays an orphan, for vacuum).
    async fn discard(&self, rels: &[String]) {
        for rel in rels {
            if let Err(e) = self.inner.delete(rel).await {
                warn!(path = %self.inner.backend.display(rel), error = %e,
                    "could not delete an uncommitted compacted file; it stays an orphan");
            }
        }
    }

    /// Delete the data files no version needs any more: files removed from their table
    /// (e.g. by [`compact`](Self::compact)) longer than [`VacuumOptions::retention`] ago,
    /// and orphans (never referenced by any version) older than the retention. Never a file
    /// the latest version references, never a file modified within the retention (a live
    /// writer's), never a log file. Rules in the [crate docs](crate#table-maintenance).
    ///
    /// Fails with [`Error::NotATable`] if `options.table` names a directory without a log,
    /// and with storage and Delta errors (files deleted before the error stay deleted;
    /// running it again finishes the job).
    pub async fn vacuum(&self, options: &VacuumOptions) -> Result<VacuumReport> {
        let started = Instant::now();
        let inner = &self.inner;
        let tables = match &options.table {
            Some(t) => {
                names::validate_table(t)?;
                vec![t.clone()]
            }
            None => inner.table_names().await?,
        };
        let retention_ms = i64::try_from(options.retention.as_millis()).unwrap_or(i64::MAX);
        let mut report = VacuumReport {
            dry_run: options.dry_run,
            retention: options.retention,
            ..VacuumReport::default()
        };
        for table in &tables {
            let log = inner.table_log(table)?;
            let now = now_ms() as i64;
            // Listed before the log is read: a file committed after the listing is then
            // known to the log read.
            let files: Vec<StoredFile> = log
                .list_files()
                .await?
                .into_iter()
                .filter(|f| is_data_file(&f.path))
                .collect();
            let commits = log.commits().await?;
            if commits.is_empty() {
                if options.table.is_some() {
                    return Err(Error::NotATable {
                        table: table.clone(),
                        url: log.url.to_string(),
                    });
                }
                continue;
            }
            let first = classify(&files, &commits, now, retention_ms);
            drop(commits);
            // Read the log again right before deleting: keep what got committed meanwhile.
            let commits = log.commits().await?;
            let second = classify(&files, &commits, now, retention_ms);
            let still: HashSet<(&str, VacuumReason)> = second
                .doomed
                .iter()
                .map(|(f, r)| (f.path.as_str(), *r))
                .collect();
            report.tables += 1;
            report.files_before += files.len();
            report.bytes_before += files.iter().map(|f| f.size).sum::<u64>();
            report.rows += second.rows;
            report.kept_recent += second.kept_recent;
            let mut deleted = 0usize;
            for (f, reason) in &first.doomed {
                if !still.contains(&(f.path.as_str(), *reason)) {
                    debug!(table, path = %f.path, "committed meanwhile: kept");
                    continue;
                }
                let rel = format!("{table}/{}", f.path);
                if !options.dry_run {
                    inner.delete(&rel).await?;
                }
                debug!(table, path = %rel, ?reason, dry_run = options.dry_run, "vacuumed");
                deleted += 1;
                report.deleted.push(VacuumedFile {
                    path: rel,
                    bytes: f.size,
                    modified_ms: f.modified_ms,
                    reason: *reason,
                });
            }
            info!(
                table,
                files = files.len(),
                deleted,
                kept_recent = second.kept_recent,
                dry_run = options.dry_run,
                "vacuumed table"
            );
        }
        report.deleted.sort_by(|a, b| a.path.cmp(&b.path));
        report.files_after = report.files_before - report.deleted.len();
        report.bytes_after = report.bytes_before - report.deleted_bytes();
        report.elapsed = started.elapsed();
        info!(
            tables = report.tables, deleted = report.deleted.len(),
            bytes = report.deleted_bytes(), dry_run = options.dry_run,
            elapsed = ?report.elapsed, "vacuum done"
        );
        Ok(report)
    }
}

/// Append encoded bytes to an output file.
async fn put(file: &mut StorageFile, out: Vec<u8>, shown: String) -> Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    let (_, r) = file.put(out).await;
    r.map_err(|e| Error::from_backend(Op::Write, shown, 1, Duration::ZERO, e))
}

/// A data file of a table: `*.parquet`, not in the log nor in a hidden (`_`/`.`) directory.
fn is_data_file(path: &str) -> bool {
    path.ends_with(".parquet")
        && !path
            .split('/')
            .any(|c| c == DELTA_LOG_DIR || c.starts_with('_') || c.starts_with('.'))
}

/// What vacuum would delete of `files` given the log `commits`.
struct Classified<'a> {
    doomed: Vec<(&'a StoredFile, VacuumReason)>,
    kept_recent: usize,
    rows: u64,
}

fn classify<'a>(
    files: &'a [StoredFile],
    commits: &[LoggedCommit],
    now: i64,
    retention_ms: i64,
) -> Classified<'a> {
    let live = live_adds(commits);
    let active: HashSet<&str> = live.iter().map(|a| a.path.as_str()).collect();
    let ever: HashSet<&str> = commits
        .iter()
        .flat_map(|c| &c.adds)
        .map(|a| a.path.as_str())
        .collect();
    let mut removed_at: HashMap<&str, Option<i64>> = HashMap::new();
    for c in commits {
        for (i, p) in c.removes.iter().enumerate() {
            let at = c.remove_times.get(i).copied().flatten().or(c.timestamp_ms);
            removed_at.insert(p.as_str(), at);
        }
    }
    let old = |t: i64| now.saturating_sub(t) >= retention_ms;
    let mut out = Classified {
        doomed: Vec::new(),
        kept_recent: 0,
        rows: live.iter().filter_map(|a| a.num_records).sum(),
    };
    for f in files {
        let p = f.path.as_str();
        if active.contains(p) {
            continue;
        }
        let reason = if ever.contains(p) {
            VacuumReason::Removed
        } else {
            VacuumReason::Orphan
        };
        let removal_old = match removed_at.get(p) {
            Some(Some(t)) => old(*t),
            // Removed without a known time: the modification time alone decides.
            _ => true,
        };
        if old(f.modified_ms) && (reason == VacuumReason::Orphan || removal_old) {
            out.doomed.push((f, reason));
        } else {
            out.kept_recent += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(path: &str, size: u64) -> LoggedAdd {
        LoggedAdd {
            path: path.to_owned(),
            size,
            num_records: Some(1),
            partition_values: BTreeMap::new(),
        }
    }

    #[test]
    fn range_keys_parse_writer_names_only() {
        assert_eq!(
            range_key("date=2024-01-01/ev-ents-3-00000000000000000042-00ff-1.parquet"),
            Some(("ev-ents".to_owned(), 3, 42, 1))
        );
        assert_eq!(range_key("compacted-00ff-0.parquet"), None);
    }

    #[test]
    fn bins_leave_large_files_and_lonely_small_files_alone() {
        let live = vec![
            add("a/t-0-00000000000000000002-x-0.parquet", 10),
            add("a/t-0-00000000000000000001-x-0.parquet", 10),
            add("a/big.parquet", 60),
            add("b/t-0-00000000000000000003-x-0.parquet", 10),
            add("c/t-0-00000000000000000004-x-0.parquet", 40),
            add("c/t-0-00000000000000000005-x-0.parquet", 40),
            add("c/t-0-00000000000000000006-x-0.parquet", 40),
        ];
        let bins = plan_bins(&live, 100);
        let shown: Vec<(String, Vec<&str>)> = bins
            .iter()
            .map(|b| {
                (
                    b.dir.clone(),
                    b.files.iter().map(|f| names::file_name(&f.path)).collect(),
                )
            })
            .collect();
        // a: the two small files, in offset order; big (>= target/2) stays; b: one small file
        // stays; c: 40+40 fit, the third alone stays.
        assert_eq!(
            shown,
            vec![
                (
                    "a".to_owned(),
                    vec![
                        "t-0-00000000000000000001-x-0.parquet",
                        "t-0-00000000000000000002-x-0.parquet"
                    ]
                ),
                (
                    "c".to_owned(),
                    vec![
                        "t-0-00000000000000000004-x-0.parquet",
                        "t-0-00000000000000000005-x-0.parquet"
                    ]
                ),
            ]
        );
    }

    #[test]
    fn vacuum_classification() {
        let file = |path: &str, modified_ms| StoredFile {
            path: path.to_owned(),
            size: 1,
            modified_ms,
        };
        let files = vec![
            file("live.parquet", 0),
            file("old-removed.parquet", 0),
            file("young-removed.parquet", 0),
            file("orphan.parquet", 0),
            file("young-orphan.parquet", 950),
        ];
        let commits = vec![
            LoggedCommit {
                version: 0,
                adds: vec![
                    add("live.parquet", 1),
                    add("old-removed.parquet", 1),
                    add("young-removed.parquet", 1),
                ],
                ..LoggedCommit::default()
            },
            LoggedCommit {
                version: 1,
                removes: vec![
                    "old-removed.parquet".to_owned(),
                    "young-removed.parquet".to_owned(),
                ],
                remove_times: vec![Some(100), Some(960)],
                ..LoggedCommit::default()
            },
        ];
        let c = classify(&files, &commits, 1000, 100);
        let doomed: Vec<(&str, VacuumReason)> = c
            .doomed
            .iter()
            .map(|(f, r)| (f.path.as_str(), *r))
            .collect();
        assert_eq!(
            doomed,
            vec![
                ("old-removed.parquet", VacuumReason::Removed),
                ("orphan.parquet", VacuumReason::Orphan)
            ]
        );
        assert_eq!(c.kept_recent, 2);
        assert_eq!(c.rows, 1);
        assert!(is_data_file("date=2024-01-01/x.parquet"));
        assert!(!is_data_file(
            "_delta_log/00000000000000000100.checkpoint.parquet"
        ));
        assert!(!is_data_file(".tmp/x.parquet"));
        assert!(!is_data_file("x.json"));
    }

    #[test]
    fn conflicts_are_removals_of_inputs_and_metadata_changes() {
        let inputs: HashSet<&str> = ["a.parquet"].into_iter().collect();
        let append = LoggedCommit {
            version: 5,
            adds: vec![add("b.parquet", 1)],
            ..LoggedCommit::default()
        };
        assert_eq!(conflict(std::slice::from_ref(&append), 4, &inputs), None);
        let remove = LoggedCommit {
            version: 6,
            removes: vec!["a.parquet".to_owned()],
            ..LoggedCommit::default()
        };
        assert!(conflict(&[append.clone(), remove.clone()], 4, &inputs).is_some());
        assert_eq!(conflict(&[append, remove], 6, &inputs), None);
        let meta = LoggedCommit {
            version: 7,
            changes_metadata: true,
            ..LoggedCommit::default()
        };
        assert!(conflict(&[meta], 6, &inputs).is_some());
    }
}
