//! [`Warehouse::compact`]: bin-pack a table's small files into large ones, committed as one
//! `OPTIMIZE` version.

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

use super::{CompactOptions, CompactOutcome, CompactReport, live_adds};
use crate::delta::{LoggedAdd, LoggedCommit, MAINTENANCE_INFO_KEY, Rewrite, TableLog};
use crate::error::{Error, Op, Result};
use crate::marker::now_ms;
use crate::names;
use crate::stats::stats_json;
use crate::storage::{StorageFile, with_retry};
use crate::warehouse::Warehouse;

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
        let log = self.inner.table_log(table)?;
        let (base, live) = read_live(&log).await?;
        let mut report = CompactReport::of_live(table, &live);
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
        let rewrite = RewriteCommit::new(&bins, &written, &nonce, options.target_file_bytes);
        let attempt = CommitAttempts {
            log: &log,
            table,
            nonce: &nonce,
            created: &created,
            max_attempts: options.max_attempts,
            target: i64::try_from(options.target_file_bytes).unwrap_or(i64::MAX),
        };
        let (outcome, attempts) = attempt.run(base, &rewrite, &bins).await?;
        report.attempts = attempts;
        report.elapsed = started.elapsed();
        if let CompactOutcome::GaveUp { reason } = &outcome {
            self.discard(&created).await;
            warn!(table, %reason, "compaction gave up; the table is unchanged");
            report.outcome = outcome;
            return Ok(report);
        }
        report.outcome = outcome;
        report.add_rewrite(&rewrite, &bins);
        info!(
            table, outcome = ?report.outcome, rewritten = inputs, written = written.len(),
            bytes_rewritten = rewrite.bytes_removed, bytes_written = rewrite.bytes_added,
            rows = rewrite.rows, attempts, elapsed = ?report.elapsed, "compaction committed"
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
        let file = inner.create_file(&rel, &shown).await?;
        debug!(path = %shown, "compacted file created");
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
}

/// The latest version of a table's log and its active files.
async fn read_live(log: &TableLog) -> Result<(i64, Vec<LoggedAdd>)> {
    let commits = log.commits().await?;
    let Some(base) = commits.last().map(|c| c.version) else {
        return Err(Error::NotATable {
            table: log.name.clone(),
            url: log.url.to_string(),
        });
    };
    Ok((base, live_adds(&commits)))
}

impl CompactReport {
    /// The report of a compaction that has done nothing (yet) to the active files `live`.
    fn of_live(table: &str, live: &[LoggedAdd]) -> Self {
        Self {
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
        }
    }

    /// Count a committed rewrite of `bins`.
    fn add_rewrite(&mut self, rewrite: &RewriteCommit, bins: &[Bin]) {
        self.files_rewritten = rewrite.files_removed;
        self.files_written = rewrite.files_added;
        self.bytes_rewritten = rewrite.bytes_removed;
        self.bytes_written = rewrite.bytes_added;
        self.rows_rewritten = rewrite.rows;
        self.partitions = bins.iter().map(|b| &b.dir).collect::<BTreeSet<_>>().len();
        self.files_after = self.files_before - rewrite.files_removed + rewrite.files_added;
        self.bytes_after = self.bytes_before - rewrite.bytes_removed + rewrite.bytes_added;
    }
}

/// A compaction's one commit: Removes of the inputs, Adds of the outputs, the commitInfo
/// entries, and its totals.
struct RewriteCommit {
    actions: Vec<Action>,
    metadata: Vec<(String, serde_json::Value)>,
    files_removed: usize,
    files_added: usize,
    bytes_removed: u64,
    bytes_added: u64,
    rows: u64,
}

impl RewriteCommit {
    fn new(bins: &[Bin], written: &[Written], nonce: &str, target_file_bytes: u64) -> Self {
        let now = now_ms() as i64;
        let mut actions: Vec<Action> = Vec::new();
        let hash = |pv: &BTreeMap<String, Option<String>>| -> HashMap<String, Option<String>> {
            pv.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        for f in bins.iter().flat_map(|b| &b.files) {
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
        for w in written {
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
        let mut commit = Self {
            actions,
            metadata: Vec::new(),
            files_removed: bins.iter().map(|b| b.files.len()).sum(),
            files_added: written.len(),
            bytes_removed: bins.iter().flat_map(|b| &b.files).map(|f| f.size).sum(),
            bytes_added: written.iter().map(|w| w.size).sum(),
            rows: written.iter().map(|w| w.rows).sum(),
        };
        commit.metadata = commit.commit_info(nonce, target_file_bytes);
        commit
    }

    /// The commitInfo entries: this crate's maintenance entry and Delta's operation metrics.
    fn commit_info(&self, nonce: &str, target_file_bytes: u64) -> Vec<(String, serde_json::Value)> {
        let info = serde_json::json!({
            "version": 1,
            "kind": "compact",
            "nonce": nonce,
            "filesRemoved": self.files_removed,
            "filesAdded": self.files_added,
            "bytesRemoved": self.bytes_removed,
            "bytesAdded": self.bytes_added,
            "rows": self.rows,
            "targetFileBytes": target_file_bytes,
        });
        let metrics = serde_json::json!({
            "numRemovedFiles": self.files_removed.to_string(),
            "numAddedFiles": self.files_added.to_string(),
            "numRemovedBytes": self.bytes_removed.to_string(),
            "numAddedBytes": self.bytes_added.to_string(),
        });
        vec![
            (MAINTENANCE_INFO_KEY.to_owned(), info),
            ("operationMetrics".to_owned(), metrics),
        ]
    }
}

/// Committing a compaction's rewrite against concurrent commits.
struct CommitAttempts<'a> {
    log: &'a TableLog,
    table: &'a str,
    nonce: &'a str,
    /// The files the compaction wrote (named in the log message of a failed commit).
    created: &'a [String],
    max_attempts: u32,
    /// The target file size, for the `OPTIMIZE` operation.
    target: i64,
}

impl CommitAttempts<'_> {
    /// Commit `rewrite` on top of version `base`, again on top of the latest version while
    /// only appends got in the way; gives how it ended ([`CompactOutcome::Committed`] or
    /// [`CompactOutcome::GaveUp`]) and the attempts made.
    async fn run(
        &self,
        base: i64,
        rewrite: &RewriteCommit,
        bins: &[Bin],
    ) -> Result<(CompactOutcome, u32)> {
        let input_paths: HashSet<&str> = bins
            .iter()
            .flat_map(|b| &b.files)
            .map(|f| f.path.as_str())
            .collect();
        let mut read_version = base;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let r = self
                .log
                .commit_rewrite(
                    read_version,
                    rewrite.actions.clone(),
                    rewrite.metadata.clone(),
                    self.nonce,
                    self.target,
                )
                .await;
            match r {
                Ok(Rewrite::Committed(version)) => {
                    return Ok((CompactOutcome::Committed { version }, attempts));
                }
                Ok(Rewrite::Stale) => {
                    match self
                        .after_stale(read_version, attempts, &input_paths)
                        .await?
                    {
                        Ok(latest) => read_version = latest,
                        Err(outcome) => return Ok((outcome, attempts)),
                    }
                }
                Err(e) => {
                    warn!(
                        table = self.table, error = %e, files = ?self.created,
                        "compaction commit failed; its files stay as orphans (vacuum removes them)"
                    );
                    return Err(e);
                }
            }
        }
    }

    /// After a stale attempt on `read_version`: the version to try again on (`Ok`), or how
    /// the compaction ended (`Err`: it committed after all, or gives up).
    async fn after_stale(
        &self,
        read_version: i64,
        attempts: u32,
        input_paths: &HashSet<&str>,
    ) -> Result<std::result::Result<i64, CompactOutcome>> {
        // Whether this compaction's files are referenced is unknown until the log is read:
        // on an error they stay (orphans at worst).
        let commits = self.log.commits().await?;
        // The version that got in the way may be this very commit (a storage that retried a
        // put which had succeeded reports it as existing).
        if let Some(c) = commits.iter().find(|c| {
            c.version > read_version && c.maintenance_nonce.as_deref() == Some(self.nonce)
        }) {
            return Ok(Err(CompactOutcome::Committed { version: c.version }));
        }
        if let Some(reason) = conflict(&commits, read_version, input_paths) {
            return Ok(Err(CompactOutcome::GaveUp { reason }));
        }
        if attempts >= self.max_attempts {
            let reason = format!(
                "{attempts} commit attempts lost the race for the next version to concurrent \
                 commits"
            );
            return Ok(Err(CompactOutcome::GaveUp { reason }));
        }
        let latest = commits.last().map_or(read_version, |c| c.version);
        debug!(
            table = self.table,
            from = read_version,
            to = latest,
            "compaction: table moved on; retrying"
        );
        Ok(Ok(latest))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maintenance::add;

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
