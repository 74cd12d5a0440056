//! The commit path of a [`RangeWriter`]: close the range's files, then one Delta commit per
//! table with the range's application transaction.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_schema::SchemaRef;
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use tracing::info;

use super::{Failed, OpenFile, RangeWriter};
use crate::config::DatePartitioning;
use crate::delta::{Expect, SinkMeta, TableLog};
use crate::error::{Error, Op, Result};
use crate::failpoint;
use crate::hive;
use crate::marker::{FileEntry, now_ms};
use crate::names::{OffsetRange, TopicPartition};
use crate::stats::stats_json;
use crate::warehouse::Inner;

/// Per-table result of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableCommit {
    /// Table name.
    pub table: String,
    /// Rows landed in this range.
    pub rows: u64,
    /// Files landed (paths relative to the root); empty if `rows == 0`.
    pub files: Vec<FileEntry>,
    /// The table version of the commit; `None` if the table had already committed the whole
    /// range (nothing to commit).
    pub version: Option<i64>,
}

/// What [`RangeWriter::commit`] landed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommitInfo {
    /// Topic and partition.
    pub topic_partition: TopicPartition,
    /// The committed offsets.
    pub range: OffsetRange,
    /// Per table, in declaration order.
    pub tables: Vec<TableCommit>,
    /// The range's nonce: in every file name of the range and in the `hdfsSink` commitInfo
    /// of each table's commit (the marker of the earlier protocol).
    pub marker: String,
    /// Bytes of all files.
    pub bytes: u64,
    /// Time spent in `commit`.
    pub elapsed: Duration,
}

impl CommitInfo {
    /// Rows of `table`, 0 if absent.
    pub fn rows(&self, table: &str) -> u64 {
        self.tables
            .iter()
            .find(|t| t.table == table)
            .map_or(0, |t| t.rows)
    }
}

/// A data file of the range, complete on the storage.
struct ClosedFile {
    /// Index of its table in the range.
    table: usize,
    /// Hive directory (`date=…`) or `""`.
    dir: String,
    /// Relative to the warehouse root.
    rel: String,
    rows: u64,
    bytes: u64,
    /// Delta stats JSON (from the footer's statistics).
    stats: String,
}

/// Owned per-table facts: a `&TableSlot` (its encoders are not `Sync`) must not live across
/// the awaits of the commits.
struct Plan {
    name: String,
    schema: SchemaRef,
    part: Option<DatePartitioning>,
    log: Arc<TableLog>,
    expect: Expect,
    skip_through: Option<i64>,
    rows: u64,
}

impl RangeWriter {
    /// Commit the range as `start..=end_inclusive`: close every file (complete on the
    /// storage), then, table by table in declaration order, one Delta commit with the Add
    /// actions of the table's files, the application transaction
    /// `txn("kafka/<topic>/<partition>", end_inclusive)` and an `hdfsSink` commitInfo naming
    /// the range, the nonce and the rows of every table. A table with no rows commits too
    /// (no Add): its txn advances. A table that had already committed the whole range (a
    /// re-landed partial range) is skipped.
    ///
    /// Each table's commit goes ahead only while its txn version is still the one the range
    /// started from, otherwise [`Error::Fenced`] and nothing further is committed. After any
    /// error the partition must go through
    /// [`recover_partitions`](crate::Warehouse::recover_partitions) (some tables may have
    /// committed); nothing is deleted, the range's files become orphans unless committed.
    pub async fn commit(mut self, end_inclusive: i64) -> Result<CommitInfo> {
        let started = Instant::now();
        if end_inclusive < self.start {
            let e = Error::InvalidRange {
                topic: self.tp.topic.clone(),
                partition: self.tp.partition,
                start: self.start,
                end: end_inclusive,
            };
            return Err(self.wrap(Some(end_inclusive), None, e));
        }
        if self.failed {
            return Err(self.wrap(Some(end_inclusive), None, Error::RangeFailed));
        }
        self.touched_storage = true;
        match self.commit_inner(end_inclusive, started).await {
            Ok(info) => {
                self.done = true;
                self.record_committed(&info, end_inclusive);
                failpoint::hit("commit.after_cleanup");
                info!(
                    topic = %self.tp.topic, partition = self.tp.partition,
                    start = self.start, end = end_inclusive,
                    rows = info.tables.iter().map(|t| t.rows).sum::<u64>(),
                    bytes = info.bytes, elapsed = ?info.elapsed,
                    "range committed"
                );
                Ok(info)
            }
            Err((table, e)) => Err(self.wrap(Some(end_inclusive), table.as_deref(), e)),
        }
    }

    /// The warehouse's state after a commit: the partition has no open range and goes on
    /// after `end`; the tables that committed hold the range's txn.
    fn record_committed(&self, info: &CommitInfo, end: i64) {
        let mut st = self.inner.lock();
        st.open.remove(&self.tp);
        st.next.insert(self.tp.clone(), end + 1);
        // A table skipped because it was already past the range keeps its txn.
        for t in info.tables.iter().filter(|t| t.version.is_some()) {
            st.txn.insert((self.tp.clone(), t.table.clone()), Some(end));
        }
    }

    async fn commit_inner(
        &mut self,
        end: i64,
        started: Instant,
    ) -> std::result::Result<CommitInfo, Failed> {
        failpoint::hit("commit.before_close");
        let inner = self.inner.clone();
        // 1. Close every file: after this the bytes are complete on the storage.
        let closed = self.close_files(end).await?;
        sync_dirs(&inner, &self.dirs_of(&closed)).await?;

        // 2. One Delta commit per table, in declaration order.
        let rows: BTreeMap<String, u64> = self
            .tables
            .iter()
            .map(|t| (t.name.clone(), t.seen))
            .collect();
        let now = now_ms();
        let plans = self.plans();
        ensure_tables(&inner, &plans).await?;
        let mut tables = Vec::with_capacity(plans.len());
        let mut total_bytes = 0;
        for (ti, t) in plans.iter().enumerate() {
            let (files, adds) = table_files(ti, t, &closed, now);
            total_bytes += files.iter().map(|f| f.bytes).sum::<u64>();
            let version = match self.sink_meta(t, end, &rows, now) {
                // The table committed the whole range before (partial range re-landed).
                None => None,
                Some(meta) => Some(commit_table(&inner, &self.tp, t, adds, &meta).await?),
            };
            tables.push(TableCommit {
                table: t.name.clone(),
                rows: if version.is_some() { t.rows } else { 0 },
                files,
                version,
            });
        }
        failpoint::hit("commit.after_all");
        Ok(CommitInfo {
            topic_partition: self.tp.clone(),
            range: OffsetRange {
                start: self.start,
                end,
            },
            tables,
            marker: self.nonce.clone(),
            bytes: total_bytes,
            elapsed: started.elapsed(),
        })
    }

    /// Close every file, concurrently (on HDFS each `complete` may wait for the DataNodes'
    /// block report), each with the range's key-value metadata.
    async fn close_files(&mut self, end: i64) -> std::result::Result<Vec<ClosedFile>, Failed> {
        let inner = self.inner.clone();
        let kv: Vec<KeyValue> = [
            ("hdfs_sink.topic", self.tp.topic.clone()),
            ("hdfs_sink.partition", self.tp.partition.to_string()),
            ("hdfs_sink.start_offset", self.start.to_string()),
            ("hdfs_sink.end_offset", end.to_string()),
            ("hdfs_sink.nonce", self.nonce.clone()),
        ]
        .into_iter()
        .map(|(k, v)| KeyValue::new(k.to_owned(), v))
        .collect();
        let mut jobs = Vec::new();
        for (ti, t) in self.tables.iter_mut().enumerate() {
            for f in t.files.values_mut() {
                jobs.push(close_file(&inner, ti, &t.name, &t.schema, f, &kv));
            }
        }
        futures::future::join_all(jobs).await.into_iter().collect()
    }

    /// The directories (relative to the root) the closed files are in.
    fn dirs_of(&self, closed: &[ClosedFile]) -> BTreeSet<String> {
        closed
            .iter()
            .map(|c| {
                let name = &self.tables[c.table].name;
                if c.dir.is_empty() {
                    name.clone()
                } else {
                    format!("{name}/{}", c.dir)
                }
            })
            .collect()
    }

    fn plans(&self) -> Vec<Plan> {
        self.tables
            .iter()
            .map(|t| Plan {
                name: t.name.clone(),
                schema: t.schema.clone(),
                part: t.part.as_ref().map(|(p, _)| p.clone()),
                log: t.log.clone(),
                expect: t.expect,
                skip_through: t.skip_through,
                rows: t.rows,
            })
            .collect()
    }

    /// The `hdfsSink` commitInfo of `t`'s commit of the range; `None` if the table already
    /// committed the whole range.
    fn sink_meta(
        &self,
        t: &Plan,
        end: i64,
        rows: &BTreeMap<String, u64>,
        now: u64,
    ) -> Option<SinkMeta> {
        let table_start = match t.skip_through {
            Some(v) if v >= self.start => v + 1,
            _ => self.start,
        };
        (table_start <= end).then(|| SinkMeta {
            version: 1,
            kind: "range".to_owned(),
            topic: self.tp.topic.clone(),
            partition: self.tp.partition,
            start: self.start,
            end,
            table_start,
            nonce: self.nonce.clone(),
            rows: rows.clone(),
            reason: None,
            committed_at_ms: now,
        })
    }
}

/// Close one file: the footer (and last row group) encoded on the blocking pool, the bytes
/// appended, the file completed; the footer's statistics become the Add's.
async fn close_file(
    inner: &Inner,
    ti: usize,
    name: &str,
    schema: &SchemaRef,
    f: &mut OpenFile,
    kv: &[KeyValue],
) -> std::result::Result<ClosedFile, Failed> {
    let shown = inner.backend.display(&f.tmp_rel);
    let Some(mut encoder) = f.encoder.take() else {
        return Err((Some(name.to_owned()), Error::RangeFailed));
    };
    for kv in kv {
        encoder.append_key_value_metadata(kv.clone());
    }
    let rows = f.rows;
    let schema = schema.clone();
    let joined = tokio::task::spawn_blocking(move || {
        let r = encoder
            .finish()
            .map(|meta| stats_json(&schema, &meta, rows));
        let out = std::mem::take(encoder.inner_mut());
        (encoder.bytes_written() as u64, out, r)
    })
    .await;
    f.mem.set(0);
    let (bytes, out, r) = match joined {
        Ok(v) => v,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => {
            let e = ParquetError::General(format!("encoding job cancelled: {e}"));
            return Err((Some(name.to_owned()), Error::parquet(shown, e)));
        }
    };
    let stats = match r {
        Ok(s) => s,
        Err(e) => return Err((Some(name.to_owned()), Error::parquet(shown, e))),
    };
    let (_, r) = f.file.put(out).await;
    let r = match r {
        Ok(()) => f.file.close().await,
        Err(e) => Err(e),
    };
    if let Err(e) = r {
        let e = Error::from_backend(Op::Close, shown, 1, Duration::ZERO, e);
        return Err((Some(name.to_owned()), e));
    }
    failpoint::hit("commit.after_close");
    Ok(ClosedFile {
        table: ti,
        dir: f.dir.clone(),
        rel: f.tmp_rel.clone(),
        rows: f.rows,
        bytes,
        stats,
    })
}

/// Sync the directories of the closed files, concurrently.
async fn sync_dirs(inner: &Inner, dirs: &BTreeSet<String>) -> std::result::Result<(), Failed> {
    let syncs = dirs.iter().map(|d| inner.sync_dir(d));
    for r in futures::future::join_all(syncs).await {
        r.map_err(|e| (None, e))?;
    }
    Ok(())
}

/// Tables not created yet (by `create_tables`) are created now, all of them before the first
/// commit: recovery counts a table without a txn for the partition only if the table exists,
/// so a crash between two tables' commits must find every table.
async fn ensure_tables(inner: &Inner, plans: &[Plan]) -> std::result::Result<(), Failed> {
    for t in plans {
        inner
            .mkdirs(&t.name)
            .await
            .map_err(|e| (Some(t.name.clone()), e))?;
        t.log
            .ensure_once(&t.schema, t.part.as_ref())
            .await
            .map_err(|e| (Some(t.name.clone()), e))?;
    }
    Ok(())
}

/// The files of table `ti` among `closed`, and their Add actions.
fn table_files(
    ti: usize,
    t: &Plan,
    closed: &[ClosedFile],
    now: u64,
) -> (Vec<FileEntry>, Vec<deltalake_core::kernel::Add>) {
    let mut files = Vec::new();
    let mut adds = Vec::new();
    for c in closed.iter().filter(|c| c.table == ti) {
        let in_table = c
            .rel
            .strip_prefix(&format!("{}/", t.name))
            .unwrap_or(&c.rel)
            .to_owned();
        let mut partition_values = HashMap::new();
        if let Some(p) = &t.part {
            let value = c
                .dir
                .strip_prefix(&format!("{}=", p.key))
                .filter(|v| *v != hive::NULL_PARTITION)
                .map(str::to_owned);
            partition_values.insert(p.key.clone(), value);
        }
        adds.push(deltalake_core::kernel::Add {
            path: in_table,
            partition_values,
            size: c.bytes as i64,
            modification_time: now as i64,
            data_change: true,
            stats: Some(c.stats.clone()),
            ..Default::default()
        });
        files.push(FileEntry {
            path: c.rel.clone(),
            rows: c.rows,
            bytes: c.bytes,
        });
    }
    (files, adds)
}

/// Commit table `t`'s part of the range (fenced on its expected txn); returns its version.
async fn commit_table(
    inner: &Inner,
    tp: &TopicPartition,
    t: &Plan,
    adds: Vec<deltalake_core::kernel::Add>,
    meta: &SinkMeta,
) -> std::result::Result<i64, Failed> {
    let version = t
        .log
        .commit(tp, t.expect, adds, meta)
        .await
        .map_err(|e| (Some(t.name.clone()), e))?;
    inner
        .lock()
        .txn
        .insert((tp.clone(), t.name.clone()), Some(meta.end));
    Ok(version)
}
