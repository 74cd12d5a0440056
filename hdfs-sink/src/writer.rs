//! [`RangeWriter`]: the Parquet files of one offset range of one Kafka partition, and the
//! commit protocol.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::errors::ParquetError;
use tracing::{debug, info, warn};

use crate::config::{DatePartitioning, RotationPolicy};
use crate::delta::{Expect, TableLog};
use crate::error::{Error, Op, Result};
use crate::failpoint;
use crate::hive;
use crate::marker::now_ms;
use crate::names::{TopicPartition, data_file_name};
use crate::storage::StorageFile;
use crate::warehouse::Inner;

mod commit;

pub use commit::{CommitInfo, TableCommit};

/// An error inside a range, with the table it concerns (if one).
type Failed = (Option<String>, Error);

/// Batches to encode into one file: (table index, Hive directory) and the pieces, in order.
type Group = ((usize, String), Vec<RecordBatch>);

/// Encoded bytes to append to a file: table index, Hive directory, bytes.
type Output = (usize, String, Vec<u8>);

/// One open Parquet file: a table (and Hive directory) of the range.
///
/// Encoding is synchronous (`ArrowWriter` into a memory buffer) and runs on tokio's blocking
/// pool, one job per file, so the tables of a write are encoded in parallel; the encoded bytes
/// are then appended to the storage file.
struct OpenFile {
    /// Hive directory (`date=…`) or `""`.
    dir: String,
    /// Path relative to the warehouse root: `<table>/[<dir>/]<file name>`, written in place.
    tmp_rel: String,
    /// `None` only while an encoding job owns it (or after that job was lost).
    encoder: Option<ArrowWriter<Vec<u8>>>,
    file: StorageFile,
    /// An emptied output buffer kept for the next encoding job.
    spare: Vec<u8>,
    rows: u64,
    /// Encoded bytes written plus the estimate of the buffered row group, after the last write.
    size: u64,
    /// This file's share of the warehouse's buffered bytes (its encoder's memory).
    mem: MemShare,
}

/// One open file's part of [`Inner::buffered`]: updated after each encoding job, given back
/// when the file is dropped (committed, aborted, or its writer dropped).
struct MemShare {
    total: Arc<AtomicUsize>,
    mine: usize,
}

impl MemShare {
    fn set(&mut self, bytes: usize) {
        if bytes > self.mine {
            self.total.fetch_add(bytes - self.mine, Ordering::Relaxed);
        } else {
            self.total.fetch_sub(self.mine - bytes, Ordering::Relaxed);
        }
        self.mine = bytes;
    }
}

impl Drop for MemShare {
    fn drop(&mut self) {
        self.set(0);
    }
}

/// Emptied output buffers larger than this are freed rather than kept for the next job: a
/// streaming member holds one open file per table per partition, and a kept buffer has the
/// capacity of the largest row group flushed through it.
const MAX_SPARE_CAPACITY: usize = 1 << 20;

fn keep_spare(buf: Vec<u8>) -> Vec<u8> {
    if buf.capacity() > MAX_SPARE_CAPACITY {
        Vec::new()
    } else {
        buf
    }
}

/// What an encoding job gives back: the encoder, its output, and the outcome.
type EncodeOutput = (ArrowWriter<Vec<u8>>, Vec<u8>, parquet::errors::Result<()>);

/// A write's encoding job joined: table index, Hive directory, rows, batches, what it gave.
type Encoded = (
    usize,
    String,
    u64,
    usize,
    std::result::Result<EncodeOutput, tokio::task::JoinError>,
);

impl OpenFile {
    /// Takes back what an encoding job (write or flush) returns: the encoder goes back into
    /// the file with its size and memory share updated; gives the encoded bytes, or why the
    /// job failed (a panic in the job is resumed here).
    fn take_back(
        &mut self,
        joined: std::result::Result<EncodeOutput, tokio::task::JoinError>,
    ) -> parquet::errors::Result<Vec<u8>> {
        match joined {
            Ok((encoder, out, r)) => {
                self.size = (encoder.bytes_written() + encoder.in_progress_size()) as u64;
                self.mem.set(encoder.memory_size());
                self.encoder = Some(encoder);
                r.map(|()| out)
            }
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(ParquetError::General(format!(
                "encoding job cancelled: {e}"
            ))),
        }
    }
}

pub(crate) struct TableSlot {
    pub(crate) name: String,
    schema: SchemaRef,
    part: Option<(DatePartitioning, usize)>,
    files: BTreeMap<String, OpenFile>,
    /// Rows written (after dropping rows the table had already committed).
    rows: u64,
    /// Rows received over the range, dropped ones included (the balance rules count these).
    seen: u64,
    /// The table's log.
    log: Arc<TableLog>,
    /// What the table's txn version must still be when the range commits.
    expect: Expect,
    /// Rows with an offset up to this one are already committed to the table: dropped.
    skip_through: Option<i64>,
    /// Index of the offset column, when rows may have to be dropped.
    offset_idx: Option<usize>,
}

impl TableSlot {
    pub(crate) fn new(
        name: &str,
        schema: SchemaRef,
        part: Option<(DatePartitioning, usize)>,
        log: Arc<TableLog>,
        expect: Expect,
        offset_idx: Option<usize>,
    ) -> Self {
        let skip_through = match expect {
            Expect::Exactly(Some(v)) => Some(v),
            _ => None,
        };
        Self {
            name: name.to_owned(),
            schema,
            part,
            files: BTreeMap::new(),
            rows: 0,
            seen: 0,
            log,
            expect,
            skip_through,
            offset_idx,
        }
    }

    /// `batch` without the rows whose offset the table has already committed.
    fn drop_committed(&self, batch: &RecordBatch) -> Result<Option<RecordBatch>> {
        let (Some(through), Some(idx)) = (self.skip_through, self.offset_idx) else {
            return Ok(None);
        };
        let Some(offsets) = batch
            .column(idx)
            .as_any()
            .downcast_ref::<arrow_array::Int64Array>()
        else {
            return Ok(None);
        };
        if arrow_array::Array::null_count(offsets) == 0
            && offsets.values().iter().all(|o| *o > through)
        {
            return Ok(None);
        }
        let keep: arrow_array::BooleanArray = offsets
            .iter()
            .map(|o| Some(o.is_some_and(|o| o > through)))
            .collect();
        arrow_select::filter::filter_record_batch(batch, &keep)
            .map(Some)
            .map_err(|e| Error::parquet(&self.name, ParquetError::ArrowError(e.to_string())))
    }
}

/// The files of one offset range `start..=end` of one Kafka partition, one Parquet file per
/// table (per Hive date directory if the table is date-partitioned). Created by
/// [`Warehouse::begin_range`](crate::Warehouse::begin_range).
///
/// Files are written in place, `<table>/[date=…/]<topic>-<partition>-<start:020>-<nonce>-<n>.parquet`,
/// and only become part of the table through [`commit`](Self::commit) (a Delta commit per
/// table). **Tables without rows get no file** but still commit (their txn advances).
///
/// Dropping a writer without `commit` or `abort` leaves its files as orphans (invisible to
/// Delta readers) and marks the partition as needing
/// [`recover_partitions`](crate::Warehouse::recover_partitions).
pub struct RangeWriter {
    inner: Arc<Inner>,
    tp: TopicPartition,
    start: i64,
    nonce: String,
    tables: Vec<TableSlot>,
    began: Instant,
    next_file: usize,
    failed: bool,
    touched_storage: bool,
    done: bool,
}

impl std::fmt::Debug for RangeWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RangeWriter")
            .field("topic_partition", &self.tp)
            .field("start", &self.start)
            .field("nonce", &self.nonce)
            .field("rows", &self.rows())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A writer nonce: hex only (file names are split at `-`), unique across processes and hosts
/// (a per-process random key, the time and a counter).
pub(crate) fn new_nonce() -> String {
    use std::hash::{BuildHasher, Hasher};
    static KEY: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let key = *KEY.get_or_init(|| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.finish()
    });
    let n = NONCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{key:016x}{:011x}{n:x}", now_ms())
}

impl RangeWriter {
    pub(crate) fn new(
        inner: Arc<Inner>,
        tp: TopicPartition,
        start: i64,
        tables: Vec<TableSlot>,
    ) -> Self {
        Self {
            inner,
            tp,
            start,
            nonce: new_nonce(),
            tables,
            began: Instant::now(),
            next_file: 0,
            failed: false,
            touched_storage: false,
            done: false,
        }
    }

    /// Topic and partition of the range.
    pub fn topic_partition(&self) -> &TopicPartition {
        &self.tp
    }

    /// First offset of the range.
    pub fn start_offset(&self) -> i64 {
        self.start
    }

    /// Rows written so far, summed over tables.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }

    /// Rows written so far to `table` (0 if unknown).
    pub fn table_rows(&self, table: &str) -> u64 {
        self.tables
            .iter()
            .find(|t| t.name == table)
            .map_or(0, |t| t.rows)
    }

    /// Estimated size of the files in bytes: encoded bytes written plus buffered row groups.
    pub fn bytes(&self) -> u64 {
        self.tables
            .iter()
            .flat_map(|t| t.files.values())
            .map(|f| f.size)
            .sum()
    }

    /// Time since [`begin_range`](crate::Warehouse::begin_range).
    pub fn age(&self) -> Duration {
        self.began.elapsed()
    }

    /// Number of files open.
    pub fn open_files(&self) -> usize {
        self.tables.iter().map(|t| t.files.len()).sum()
    }

    fn wrap(&self, end: Option<i64>, table: Option<&str>, e: Error) -> Error {
        Error::Range {
            topic: self.tp.topic.clone(),
            partition: self.tp.partition,
            start: self.start,
            end,
            table: table.map(str::to_owned),
            source: Box::new(e),
        }
    }

    /// Append `batch` to `table`. Empty batches are ignored. The batch's schema must equal
    /// the declared one (field names, types, nullability; metadata is ignored).
    ///
    /// After an error the range cannot be committed ([`Error::RangeFailed`]): abort it and
    /// land its offsets again.
    pub async fn write(&mut self, table: &str, batch: &RecordBatch) -> Result<()> {
        self.write_tables(&[(table, batch)]).await
    }

    /// Append one batch to each of several tables, encoding the tables **in parallel** (one
    /// job per file on tokio's blocking pool), then appending the encoded bytes to the files.
    /// Same rules as [`write`](Self::write) for each `(table, batch)`; a table may appear
    /// more than once (its batches are written in order).
    pub async fn write_tables(&mut self, batches: &[(&str, &RecordBatch)]) -> Result<()> {
        match self.write_inner(batches).await {
            Ok(()) => Ok(()),
            Err((table, e)) => {
                self.failed = true;
                let table = table.or_else(|| batches.first().map(|(t, _)| (*t).to_owned()));
                Err(self.wrap(None, table.as_deref(), e))
            }
        }
    }

    async fn write_inner(
        &mut self,
        batches: &[(&str, &RecordBatch)],
    ) -> std::result::Result<(), Failed> {
        if self.failed {
            return Err((None, Error::RangeFailed));
        }
        // 1. Check every batch and split the date-partitioned ones, before any I/O.
        let groups = self.group_batches(batches)?;
        // 2. Create the files not open yet.
        self.open_missing(&groups).await?;
        // 3. Encode, one blocking job per file.
        let done = self.encode(groups).await?;
        // 4. Put the encoders back, then append the encoded bytes, all files concurrently.
        let mut outputs = self.take_back_encoded(done)?;
        // 5. Over the memory budget: flush this range's largest row groups.
        self.flush_over_budget(&mut outputs).await?;
        self.append_outputs(outputs, Op::Write).await
    }

    /// Check every batch against its table (declared, same schema), drop the rows the table
    /// already committed, split date-partitioned ones, and group the pieces per file.
    #[expect(
        clippy::result_large_err,
        reason = "a write step's error, as the async steps return it"
    )]
    fn group_batches(
        &mut self,
        batches: &[(&str, &RecordBatch)],
    ) -> std::result::Result<Vec<Group>, Failed> {
        let mut groups: Vec<Group> = Vec::new();
        for (table, batch) in batches {
            let Some(ti) = self.tables.iter().position(|t| t.name == *table) else {
                let e = Error::UnknownTable {
                    table: (*table).to_owned(),
                };
                return Err((Some((*table).to_owned()), e));
            };
            let declared = &self.tables[ti].schema;
            if batch.schema().fields() != declared.fields() {
                let e = Error::SchemaMismatch {
                    table: (*table).to_owned(),
                    expected: declared.clone(),
                    found: batch.schema(),
                };
                return Err((Some((*table).to_owned()), e));
            }
            if batch.num_rows() == 0 {
                continue;
            }
            self.tables[ti].seen += batch.num_rows() as u64;
            let kept = self.tables[ti]
                .drop_committed(batch)
                .map_err(|e| (Some((*table).to_owned()), e))?;
            let batch: &RecordBatch = match &kept {
                Some(b) if b.num_rows() == 0 => continue,
                Some(b) => b,
                None => batch,
            };
            let pieces = match &self.tables[ti].part {
                Some((p, idx)) => hive::split(table, p, *idx, batch)
                    .map_err(|e| (Some((*table).to_owned()), e))?,
                None => vec![(String::new(), (*batch).clone())],
            };
            for (dir, piece) in pieces {
                let key = (ti, dir);
                match groups.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, v)) => v.push(piece),
                    None => groups.push((key, vec![piece])),
                }
            }
        }
        Ok(groups)
    }

    /// Create the files of `groups` not open yet.
    async fn open_missing(&mut self, groups: &[Group]) -> std::result::Result<(), Failed> {
        for ((ti, dir), _) in groups {
            if !self.tables[*ti].files.contains_key(dir) {
                let f = self
                    .open_file(*ti, dir)
                    .await
                    .map_err(|e| (Some(self.tables[*ti].name.clone()), e))?;
                self.tables[*ti].files.insert(dir.clone(), f);
            }
        }
        Ok(())
    }

    /// Encode each group into its file's encoder, one blocking job per file, all
    /// concurrently; gives each job's outcome with the group's rows and batch count.
    async fn encode(&mut self, groups: Vec<Group>) -> std::result::Result<Vec<Encoded>, Failed> {
        let mut jobs = Vec::with_capacity(groups.len());
        for ((ti, dir), pieces) in groups {
            let name = self.tables[ti].name.clone();
            let Some(f) = self.tables[ti].files.get_mut(&dir) else {
                return Err((Some(name), Error::RangeFailed));
            };
            let Some(mut encoder) = f.encoder.take() else {
                return Err((Some(name), Error::RangeFailed));
            };
            let spare = std::mem::take(&mut f.spare);
            let rows: u64 = pieces.iter().map(|p| p.num_rows() as u64).sum();
            let n = pieces.len();
            let job = tokio::task::spawn_blocking(move || -> EncodeOutput {
                let r = pieces.iter().try_for_each(|p| encoder.write(p));
                let out = std::mem::replace(encoder.inner_mut(), spare);
                (encoder, out, r)
            });
            jobs.push(async move { (ti, dir, rows, n, job.await) });
        }
        Ok(futures::future::join_all(jobs).await)
    }

    /// Put the encoders of the jobs back into their files and count their rows; gives the
    /// encoded bytes per file, or the first job's error.
    #[expect(
        clippy::result_large_err,
        reason = "a write step's error, as the async steps return it"
    )]
    fn take_back_encoded(
        &mut self,
        done: Vec<Encoded>,
    ) -> std::result::Result<Vec<Output>, Failed> {
        let mut first_err: Option<Failed> = None;
        let mut outputs: Vec<Output> = Vec::new();
        for (ti, dir, rows, n, joined) in done {
            let inner = &self.inner;
            let t = &mut self.tables[ti];
            let Some(f) = t.files.get_mut(&dir) else {
                continue;
            };
            match f.take_back(joined) {
                Ok(out) => {
                    f.rows += rows;
                    t.rows += rows;
                    for _ in 0..n {
                        failpoint::hit("write.after_batch");
                    }
                    outputs.push((ti, dir, out));
                }
                Err(e) => {
                    let shown = inner.backend.display(&f.tmp_rel);
                    first_err.get_or_insert((Some(t.name.clone()), Error::parquet(shown, e)));
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(outputs),
        }
    }

    /// While the warehouse's buffered bytes exceed `max_buffered_bytes`, flush the row groups
    /// of this range's files, largest first (all on the blocking pool, concurrently). Their
    /// encoded bytes are appended to `outputs` (after any bytes the write itself produced).
    async fn flush_over_budget(
        &mut self,
        outputs: &mut Vec<Output>,
    ) -> std::result::Result<(), Failed> {
        let budget = self.inner.config.parquet.max_buffered_bytes;
        let mut total = self.inner.buffered.load(Ordering::Relaxed);
        if total <= budget {
            return Ok(());
        }
        let mut files: Vec<(usize, String, usize)> = self
            .tables
            .iter()
            .enumerate()
            .flat_map(|(ti, t)| {
                t.files
                    .iter()
                    .filter(|(_, f)| f.mem.mine > 0)
                    .map(move |(dir, f)| (ti, dir.clone(), f.mem.mine))
            })
            .collect();
        files.sort_by_key(|f| std::cmp::Reverse(f.2));
        let mut jobs = Vec::new();
        for (ti, dir, mem) in files {
            if total <= budget {
                break;
            }
            total = total.saturating_sub(mem);
            let name = self.tables[ti].name.clone();
            let Some(f) = self.tables[ti].files.get_mut(&dir) else {
                continue;
            };
            let Some(mut encoder) = f.encoder.take() else {
                return Err((Some(name), Error::RangeFailed));
            };
            // Flushed bytes go after the bytes this write already produced for the file.
            let mut buf = match outputs.iter().position(|(t, d, _)| *t == ti && *d == dir) {
                Some(i) => outputs.swap_remove(i).2,
                None => std::mem::take(&mut f.spare),
            };
            let job = tokio::task::spawn_blocking(move || -> EncodeOutput {
                std::mem::swap(encoder.inner_mut(), &mut buf);
                let r = encoder.flush();
                std::mem::swap(encoder.inner_mut(), &mut buf);
                (encoder, buf, r)
            });
            jobs.push(async move { (ti, dir, name, job.await) });
        }
        debug!(
            topic = %self.tp.topic, partition = self.tp.partition, files = jobs.len(),
            budget, "buffered row groups over the memory budget: flushing"
        );
        let mut first_err = None;
        for (ti, dir, name, joined) in futures::future::join_all(jobs).await {
            let Some(f) = self.tables[ti].files.get_mut(&dir) else {
                continue;
            };
            match f.take_back(joined) {
                Ok(out) => outputs.push((ti, dir, out)),
                Err(e) => {
                    let shown = self.inner.backend.display(&f.tmp_rel);
                    first_err.get_or_insert((Some(name), Error::parquet(shown, e)));
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Append encoded output to the files, concurrently; keep the emptied buffers for reuse.
    async fn append_outputs(
        &mut self,
        mut outputs: Vec<Output>,
        op: Op,
    ) -> std::result::Result<(), Failed> {
        let inner = self.inner.clone();
        let mut puts = Vec::new();
        for (ti, t) in self.tables.iter_mut().enumerate() {
            for (dir, f) in t.files.iter_mut() {
                let Some(i) = outputs
                    .iter()
                    .position(|(oti, odir, _)| *oti == ti && odir == dir)
                else {
                    continue;
                };
                let (_, _, out) = outputs.swap_remove(i);
                let name = &t.name;
                let OpenFile {
                    file,
                    spare,
                    tmp_rel,
                    ..
                } = f;
                if out.is_empty() {
                    *spare = keep_spare(out);
                    continue;
                }
                puts.push(async move {
                    let (buf, r) = file.put(out).await;
                    *spare = keep_spare(buf);
                    (name, tmp_rel, r)
                });
            }
        }
        for (name, tmp_rel, r) in futures::future::join_all(puts).await {
            if let Err(e) = r {
                let shown = inner.backend.display(tmp_rel);
                return Err((
                    Some(name.clone()),
                    Error::from_backend(op, shown, 1, Duration::ZERO, e),
                ));
            }
        }
        Ok(())
    }

    async fn open_file(&mut self, ti: usize, dir: &str) -> Result<OpenFile> {
        failpoint::hit("write.before_create");
        let name = data_file_name(
            &self.tp.topic,
            self.tp.partition,
            self.start,
            &self.nonce,
            self.next_file,
        );
        let table = &self.tables[ti].name;
        let tmp_rel = if dir.is_empty() {
            format!("{table}/{name}")
        } else {
            format!("{table}/{dir}/{name}")
        };
        self.next_file += 1;
        self.touched_storage = true;
        let shown = self.inner.backend.display(&tmp_rel);
        let file = self.inner.create_file(&tmp_rel, &shown).await?;
        let encoder = ArrowWriter::try_new(
            Vec::new(),
            self.tables[ti].schema.clone(),
            Some(self.inner.props_for(&self.tables[ti].name).clone()),
        )
        .map_err(|e| Error::parquet(&shown, e))?;
        debug!(path = %shown, table = %self.tables[ti].name, dir, "data file created");
        Ok(OpenFile {
            dir: dir.to_owned(),
            tmp_rel,
            encoder: Some(encoder),
            file,
            spare: Vec::new(),
            rows: 0,
            size: 0,
            mem: MemShare {
                total: self.inner.buffered.clone(),
                mine: 0,
            },
        })
    }

    /// Abandon the range: drop the open files and delete them (they are this writer's own,
    /// never committed). Nothing of it was visible. If a delete fails, the files stay as
    /// orphans.
    pub async fn abort(mut self) -> Result<()> {
        let mut rels = Vec::new();
        for t in &mut self.tables {
            rels.extend(t.files.values().map(|f| f.tmp_rel.clone()));
            t.files.clear();
        }
        failpoint::hit("abort.before_delete");
        let mut first_err = None;
        for rel in &rels {
            if let Err(e) = self.inner.delete(rel).await {
                warn!(path = %self.inner.backend.display(rel), error = %e, "could not delete an aborted range's file; it stays an orphan");
                first_err.get_or_insert(e);
            }
        }
        self.done = true;
        self.inner.lock().open.remove(&self.tp);
        match first_err {
            None => {
                info!(topic = %self.tp.topic, partition = self.tp.partition, start = self.start, "range aborted");
                Ok(())
            }
            Some(e) => Err(self.wrap(None, None, e)),
        }
    }
}

impl Drop for RangeWriter {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut st = self.inner.lock();
        st.open.remove(&self.tp);
        if self.touched_storage {
            warn!(
                topic = %self.tp.topic, partition = self.tp.partition, start = self.start,
                "range writer dropped without commit or abort; the partition needs recovery"
            );
            st.needs_recovery.insert(self.tp.clone());
        }
    }
}

impl RotationPolicy {
    /// Whether `writer` should be committed now: it holds rows and reached `max_rows`,
    /// `max_bytes` or `max_age`. Call it after each write and from a timer (so an idle
    /// partition still rotates on time). Always `false` for a writer without rows.
    pub fn should_rotate(&self, writer: &RangeWriter) -> bool {
        let rows = writer.rows();
        rows > 0
            && (rows >= self.max_rows
                || writer.bytes() >= self.max_bytes
                || writer.age() >= self.max_age)
    }

    /// Time left until `max_age` for `writer` (zero if due): a timer deadline for wall-clock
    /// rotation.
    pub fn time_until_due(&self, writer: &RangeWriter) -> Duration {
        self.max_age.saturating_sub(writer.age())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    #[allow(dead_code)]
    async fn futures_are_send(w: crate::Warehouse, mut r: RangeWriter, b: RecordBatch) {
        let f = r.write("t", &b);
        assert_send(&f);
        drop(f);
        let f = r.commit(1);
        assert_send(&f);
        let f = w.recover();
        assert_send(&f);
        let o = crate::verify::VerifyOptions::default();
        let f = crate::verify(&w, &o);
        assert_send(&f);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn write_tables_encodes_tables_in_parallel_with_column_options() {
        use arrow_array::{BinaryArray, Int64Array, StringArray};
        use arrow_schema::{DataType, Field, Schema};
        use parquet::file::reader::{FileReader, SerializedFileReader};

        let dir = tempfile::tempdir().expect("tempdir");
        let url = dir.path().to_str().expect("utf8").to_owned();
        let config = crate::SinkConfig::builder()
            .with_column_options(
                "raw",
                "value",
                crate::ColumnOptions {
                    compression: Some(crate::Compression::Zstd(1)),
                    dictionary: Some(false),
                    ..crate::ColumnOptions::default()
                },
            )
            .build()
            .expect("config");
        let wh = crate::Warehouse::open(&url, config).await.expect("open");
        let raw = Arc::new(Schema::new(vec![
            Field::new("offset", DataType::Int64, false),
            Field::new("value", DataType::Binary, false),
        ]));
        let names = Arc::new(Schema::new(vec![
            Field::new("offset", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let tables = [("raw", raw.clone()), ("names", names.clone())];
        let mut w = wh.begin_range("t", 0, 0, &tables).expect("begin");
        let mut expected_raw = Vec::new();
        let mut expected_names = Vec::new();
        for k in 0..3i64 {
            let offsets: Vec<i64> = (k * 100..k * 100 + 100).collect();
            let values: Vec<Vec<u8>> = offsets
                .iter()
                .map(|o| format!("v{o}").into_bytes())
                .collect();
            let r = RecordBatch::try_new(
                raw.clone(),
                vec![
                    Arc::new(Int64Array::from(offsets.clone())),
                    Arc::new(BinaryArray::from_iter_values(values.iter())),
                ],
            )
            .expect("batch");
            let n = RecordBatch::try_new(
                names.clone(),
                vec![
                    Arc::new(Int64Array::from(offsets.clone())),
                    Arc::new(StringArray::from_iter(
                        offsets.iter().map(|o| Some(format!("n{}", o % 7))),
                    )),
                ],
            )
            .expect("batch");
            // A table may appear twice in one call: its batches are written in order.
            let (a, b) = (n.slice(0, 40), n.slice(40, 60));
            w.write_tables(&[("raw", &r), ("names", &a), ("names", &b)])
                .await
                .expect("write");
            expected_raw.push(r);
            expected_names.push(n);
        }
        assert_eq!(w.table_rows("raw"), 300);
        assert_eq!(w.table_rows("names"), 300);
        assert!(w.bytes() > 0);
        let err = w
            .write_tables(&[("raw", &expected_raw[0]), ("nope", &expected_raw[0])])
            .await
            .expect_err("unknown table");
        assert!(err.to_string().contains("nope"), "{err}");
        w.abort().await.expect("abort");

        // Again, committed this time.
        let mut w = wh.begin_range("t", 0, 0, &tables).expect("begin");
        for (r, n) in expected_raw.iter().zip(&expected_names) {
            w.write_tables(&[("raw", r), ("names", n)])
                .await
                .expect("write");
        }
        let info = w.commit(299).await.expect("commit");
        assert_eq!(info.rows("raw"), 300);
        assert_eq!(info.rows("names"), 300);
        let got: Vec<RecordBatch> = wh.read_committed("raw").await.expect("read");
        let concat = |b: &[RecordBatch]| {
            arrow_select::concat::concat_batches(&b[0].schema(), b).expect("concat")
        };
        assert_eq!(concat(&got), concat(&expected_raw));
        let got = wh.read_committed("names").await.expect("read");
        assert_eq!(concat(&got), concat(&expected_names));

        // The column override applies to raw.value only.
        let file = dir.path().join(&info.tables[0].files[0].path);
        let reader =
            SerializedFileReader::new(std::fs::File::open(file).expect("open")).expect("parquet");
        let rg = reader.metadata().row_group(0);
        let value = rg.column(1);
        assert_eq!(value.column_path().string(), "value");
        assert!(
            value.dictionary_page_offset().is_none(),
            "no dictionary on raw.value"
        );
        assert!(
            rg.column(0).dictionary_page_offset().is_some(),
            "dictionary elsewhere"
        );
        assert!(matches!(
            value.compression(),
            parquet::basic::Compression::ZSTD(_)
        ));
    }

    #[tokio::test]
    async fn a_column_override_of_a_missing_column_is_refused_with_the_real_columns() {
        use arrow_schema::{DataType, Field, Fields, Schema};

        let dir = tempfile::tempdir().expect("tempdir");
        let url = dir.path().to_str().expect("utf8").to_owned();
        let no_dict = crate::ColumnOptions {
            dictionary: Some(false),
            ..crate::ColumnOptions::default()
        };
        let item = Field::new_list_field(
            DataType::Struct(Fields::from(vec![Field::new("id", DataType::Utf8, true)])),
            true,
        );
        let schema = Arc::new(Schema::new(vec![
            Field::new("offset", DataType::Int64, false),
            Field::new("list", DataType::List(Arc::new(item)), true),
        ]));
        let tables = [("t1", schema)];
        // A nested leaf is named by its Parquet path (the list element is `item`).
        let config = crate::SinkConfig::builder()
            .with_column_options("t1", "list.list.item.id", no_dict)
            .build()
            .expect("config");
        let wh = crate::Warehouse::open(&url, config).await.expect("open");
        let w = wh.begin_range("t", 0, 0, &tables).expect("existing leaf");
        w.abort().await.expect("abort");
        // A misspelt one is refused when the range begins, naming the real leaves.
        let config = crate::SinkConfig::builder()
            .with_column_options("t1", "list.list.element.id", no_dict)
            .build()
            .expect("config");
        let wh = crate::Warehouse::open(&url, config).await.expect("open");
        let err = wh
            .begin_range("t", 0, 0, &tables)
            .expect_err("missing leaf");
        match &err {
            crate::Error::Config(crate::ConfigError::UnknownColumn {
                table,
                column,
                known,
            }) => {
                assert_eq!(
                    (table.as_str(), column.as_str()),
                    ("t1", "list.list.element.id")
                );
                assert_eq!(known, &["offset", "list.list.item.id"]);
            }
            other => panic!("unexpected error: {other:?}"),
        }
        assert!(err.to_string().contains("list.list.item.id"), "{err}");
    }

    #[tokio::test]
    async fn a_delta_encoded_column_is_written_delta_encoded_and_reads_back() {
        use arrow_array::{Int64Array, StringArray};
        use arrow_schema::{DataType, Field, Schema};
        use parquet::file::reader::{FileReader, SerializedFileReader};

        let dir = tempfile::tempdir().expect("tempdir");
        let url = dir.path().to_str().expect("utf8").to_owned();
        let delta = crate::ColumnOptions {
            dictionary: Some(false),
            encoding: Some(crate::Encoding::DeltaBinaryPacked),
            ..crate::ColumnOptions::default()
        };
        let schema = Arc::new(Schema::new(vec![
            Field::new("offset", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values(0..1000)),
                Arc::new(StringArray::from_iter_values(
                    (0..1000).map(|i| format!("n{i}")),
                )),
            ],
        )
        .expect("batch");
        let tables = [("t1", schema)];
        let config = crate::SinkConfig::builder()
            .with_column_options("t1", "offset", delta)
            .build()
            .expect("config");
        let wh = crate::Warehouse::open(&url, config).await.expect("open");
        let mut w = wh.begin_range("t", 0, 0, &tables).expect("begin");
        w.write("t1", &batch).await.expect("write");
        let info = w.commit(999).await.expect("commit");
        let file = dir.path().join(&info.tables[0].files[0].path);
        let reader =
            SerializedFileReader::new(std::fs::File::open(file).expect("open")).expect("parquet");
        let rg = reader.metadata().row_group(0);
        let enc = |i: usize| rg.column(i).encodings().collect::<Vec<_>>();
        assert!(enc(0).contains(&parquet::basic::Encoding::DELTA_BINARY_PACKED));
        assert!(rg.column(0).dictionary_page_offset().is_none());
        assert!(!enc(1).contains(&parquet::basic::Encoding::DELTA_BINARY_PACKED));
        let got = wh.read_committed("t1").await.expect("read");
        assert_eq!(got, vec![batch]);

        // On a string column the encoding is refused when the file is created.
        let config = crate::SinkConfig::builder()
            .with_column_options("t1", "name", delta)
            .build()
            .expect("config");
        let dir2 = tempfile::tempdir().expect("tempdir");
        let wh = crate::Warehouse::open(dir2.path().to_str().expect("utf8"), config)
            .await
            .expect("open");
        let err = wh
            .begin_range("t", 0, 0, &tables)
            .expect_err("bad encoding");
        assert!(
            matches!(
                &err,
                crate::Error::Config(crate::ConfigError::UnsupportedColumnOption { column, .. })
                    if column == "name"
            ),
            "{err:?}"
        );
        let failed = err.to_string();
        assert!(failed.contains("BYTE_ARRAY"), "{failed}");
    }
}
