//! [`Sink`]: writes chunks into the open range of their partition, commits a range when the
//! warehouse's rotation policy says so, and keeps the books of what is open, due and
//! committed.

use super::chunk::Chunk;
use super::error::{Error, Result};
use super::in_flight::{InFlight, Open, commit_range};
use super::options::{select_tables, table_schemas_of};
use super::progress::{Progress, Silent, Snapshot};
use super::totals::Totals;
use assessment_schema::tables::Table;
use hdfs_sink::{CommitInfo, Warehouse};
use kafka_io::TopicPartition;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How often [`Sink::progress`] reports.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Writes chunks into ranges of the warehouse.
pub struct Sink {
    warehouse: Warehouse,
    open: BTreeMap<TopicPartition, Open>,
    totals: Totals,
    started: Instant,
    last_progress: Instant,
    progress: Box<dyn Progress>,
    /// `(partition, end)` of every range committed since the last [`Sink::take_commits`].
    commits: Vec<(TopicPartition, i64)>,
    /// Appended to the progress line (e.g. the consumer lag).
    status: String,
    /// The tables landed (declared in every range); always includes `rejects`.
    tables: Vec<Table>,
    /// Whether `assessments` carries its nested `sequences` column.
    nested_sequences: bool,
    /// Chunk writes running as tasks of their own.
    in_flight: InFlight,
    /// How many chunk writes (of different partitions) may run at once.
    concurrent_writes: usize,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("warehouse", &self.warehouse)
            .field("open", &self.open.keys().collect::<Vec<_>>())
            .field("totals", &self.totals)
            .field("tables", &self.tables)
            .field("nested_sequences", &self.nested_sequences)
            .field("writing", &self.in_flight.partitions().collect::<Vec<_>>())
            .field("concurrent_writes", &self.concurrent_writes)
            .finish_non_exhaustive()
    }
}

impl Sink {
    /// A sink over an opened (and recovered) warehouse, landing every table, reporting no
    /// progress.
    pub fn new(warehouse: Warehouse) -> Self {
        Self {
            warehouse,
            open: BTreeMap::new(),
            totals: Totals::default(),
            started: Instant::now(),
            last_progress: Instant::now(),
            progress: Box::new(Silent),
            commits: Vec::new(),
            status: String::new(),
            tables: Table::ALL.to_vec(),
            nested_sequences: true,
            in_flight: InFlight::default(),
            concurrent_writes: 1,
        }
    }

    /// Lets the writes of up to `n` chunks of different partitions run at once (default 1:
    /// [`Sink::write`] returns once its chunk is written). The writes of one partition always
    /// run one after another, in order. While writes run, [`Sink::due_partitions`] and
    /// [`Sink::next_due`] do not see their ranges; every other method waits for them.
    pub fn with_concurrent_writes(mut self, n: usize) -> Self {
        self.concurrent_writes = n.max(1);
        self
    }

    /// Declares `assessments` without its nested `sequences` column in the ranges it
    /// begins (chunks must come from a flattener with `nested_sequences = false`).
    pub fn without_sequences(mut self) -> Self {
        self.nested_sequences = false;
        self
    }

    /// A sink that lands only `tables` (plus `rejects`, always: bad input is never dropped).
    /// The ranges' markers list only these tables; rows of other tables are not written.
    pub fn with_tables(warehouse: Warehouse, tables: &[Table]) -> Self {
        let mut sink = Self::new(warehouse);
        sink.tables = select_tables(tables);
        sink
    }

    /// Reports progress to `progress`.
    pub fn with_progress(mut self, progress: Box<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// What has been committed so far.
    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    /// The ranges committed since the last call: `(partition, last offset)`.
    pub fn take_commits(&mut self) -> Vec<(TopicPartition, i64)> {
        std::mem::take(&mut self.commits)
    }

    /// Whether a range of `tp` is open.
    pub fn is_open(&self, tp: &TopicPartition) -> bool {
        self.open.contains_key(tp) || self.in_flight.contains(tp)
    }

    /// Abandons the open range of `tp`, if any: its temp files are deleted, nothing of it is
    /// committed (the offsets are landed again later).
    pub async fn abort_partition(&mut self, tp: &TopicPartition) -> Result<()> {
        self.land_ignoring_errors(Some(tp)).await;
        if let Some((w, _)) = self.open.remove(tp) {
            w.abort().await.map_err(|source| abort_error(tp, source))?;
        }
        Ok(())
    }

    /// The earliest moment a time-based rotation is due among the open ranges.
    pub fn next_due(&self) -> Option<Duration> {
        self.open
            .values()
            .map(|(w, _)| self.warehouse.rotation().time_until_due(w))
            .min()
    }

    /// Sets text appended to the progress line (e.g. the consumer lag).
    pub fn set_status(&mut self, status: String) {
        self.status = status;
    }

    /// Creates the tables this sink lands that do not exist yet (each a Delta table with its
    /// schema), so that every engine reads an empty table as empty before anything lands.
    pub async fn create_tables(&self) -> Result<()> {
        self.warehouse
            .create_tables(&table_schemas_of(&self.tables, self.nested_sequences))
            .await
            .map_err(|source| Error::CreateTables {
                warehouse: self.warehouse.url().to_string(),
                source: Box::new(source),
            })
    }

    /// The warehouse.
    pub fn warehouse(&self) -> &Warehouse {
        &self.warehouse
    }

    /// Writes one chunk; commits the partition's range if rotation is due. With concurrent
    /// writes (see [`Sink::with_concurrent_writes`]) the write may still run when this
    /// returns; its error, if any, is returned by a later call.
    pub async fn write(&mut self, chunk: Chunk) -> Result<()> {
        // A partition's chunks are written in order: its previous write must be done.
        self.land_until_idle(Some(&chunk.tp)).await?;
        let open = self.take_open(&chunk)?;
        self.in_flight
            .spawn(&self.warehouse, &self.tables, open, chunk);
        while self.in_flight.len() >= self.concurrent_writes {
            self.land_oldest().await?;
        }
        Ok(())
    }

    /// The open range of the chunk's partition (begun at its first offset if there is none),
    /// checked to continue where the range's last write ended.
    fn take_open(&mut self, chunk: &Chunk) -> Result<Open> {
        let tp = &chunk.tp;
        let (writer, last) = match self.open.remove(tp) {
            Some(open) => open,
            None => {
                let w = self
                    .warehouse
                    .begin_range(
                        &tp.topic,
                        tp.partition,
                        chunk.first_offset,
                        &table_schemas_of(&self.tables, self.nested_sequences),
                    )
                    .map_err(|source| Error::BeginRange {
                        topic: tp.topic.clone(),
                        partition: tp.partition,
                        source: Box::new(source),
                    })?;
                (w, chunk.first_offset - 1)
            }
        };
        if chunk.first_offset <= last {
            let e = Error::OffsetsBackwards {
                topic: tp.topic.clone(),
                partition: tp.partition,
                first_offset: chunk.first_offset,
                last_offset: last,
            };
            self.open.insert(tp.clone(), (writer, last));
            return Err(e);
        }
        Ok((writer, last))
    }

    /// Waits for the oldest write still running and books what it did.
    async fn land_oldest(&mut self) -> Result<()> {
        let Some(landed) = self.in_flight.next().await else {
            return Ok(());
        };
        if let Some(open) = landed.open {
            self.open.insert(landed.tp.clone(), open);
        }
        if let Some(stats) = &landed.stats {
            self.totals.add_written(stats);
        }
        if let Some(info) = landed.outcome? {
            self.committed(&landed.tp, &info);
        }
        self.progress();
        Ok(())
    }

    /// Waits until no write of `tp` runs (of any partition with `None`); the first write
    /// error stops the wait and is returned.
    async fn land_until_idle(&mut self, tp: Option<&TopicPartition>) -> Result<()> {
        while tp.map_or(self.in_flight.len() > 0, |tp| self.in_flight.contains(tp)) {
            self.land_oldest().await?;
        }
        Ok(())
    }

    /// [`Sink::land_until_idle`] for a range about to be abandoned: write errors do not
    /// matter (nothing of it commits), so every write is waited for.
    async fn land_ignoring_errors(&mut self, tp: Option<&TopicPartition>) {
        while self.land_until_idle(tp).await.is_err() {}
    }

    /// Commits the open range of `tp`, if any.
    pub async fn commit(&mut self, tp: &TopicPartition) -> Result<Option<CommitInfo>> {
        self.land_until_idle(Some(tp)).await?;
        let Some((writer, last)) = self.open.remove(tp) else {
            return Ok(None);
        };
        let info = commit_range(tp, writer, last).await?;
        self.committed(tp, &info);
        Ok(Some(info))
    }

    /// Books a committed range.
    fn committed(&mut self, tp: &TopicPartition, info: &CommitInfo) {
        tracing::info!(
            topic = %tp.topic, partition = tp.partition, start = info.range.start,
            end = info.range.end, bytes = info.bytes, "range committed"
        );
        self.totals.add_commit(info);
        self.commits.push((tp.clone(), info.range.end));
    }

    /// The partitions whose open range is due for rotation (call from a timer too:
    /// time-based rotation must happen even when no message arrives).
    pub fn due_partitions(&self) -> Vec<TopicPartition> {
        self.open
            .iter()
            .filter(|(_, (w, _))| self.warehouse.rotation().should_rotate(w))
            .map(|(tp, _)| tp.clone())
            .collect()
    }

    /// Commits all open ranges and returns the totals.
    pub async fn finish(mut self) -> Result<Totals> {
        self.land_until_idle(None).await?;
        let open: Vec<_> = self.open.keys().cloned().collect();
        for tp in open {
            self.commit(&tp).await?;
        }
        self.progress.finish();
        Ok(self.totals)
    }

    /// Abandons every open range (its temp files are deleted; nothing is committed).
    pub async fn abort(mut self) -> Result<()> {
        self.land_ignoring_errors(None).await;
        for (tp, (w, _)) in std::mem::take(&mut self.open) {
            w.abort().await.map_err(|source| abort_error(&tp, source))?;
        }
        Ok(())
    }

    /// Reports progress if a second has passed since the last report.
    pub fn progress(&mut self) {
        if self.last_progress.elapsed() < PROGRESS_EVERY {
            return;
        }
        self.last_progress = Instant::now();
        self.progress.update(&Snapshot {
            totals: &self.totals,
            elapsed: self.started.elapsed(),
            status: &self.status,
        });
    }
}

fn abort_error(tp: &TopicPartition, source: hdfs_sink::Error) -> Error {
    Error::AbortRange {
        topic: tp.topic.clone(),
        partition: tp.partition,
        source: Box::new(source),
    }
}

/// The start of a file or bounded landing: a sink for `opts`' tables reporting to
/// `progress`, its tables created, and the warehouse recovered (where each partition
/// resumes).
pub(crate) async fn start_sink(
    warehouse: &Warehouse,
    opts: &super::options::LandOptions,
    progress: Box<dyn Progress>,
) -> Result<(Sink, hdfs_sink::RecoveryReport)> {
    let sink = opts
        .sink(warehouse.clone())
        .with_progress(progress)
        .with_concurrent_writes(opts.concurrent_writes);
    sink.create_tables().await?;
    let recovered = warehouse.recover().await.map_err(|source| Error::Recover {
        warehouse: warehouse.url().to_owned(),
        source: Box::new(source),
    })?;
    Ok((sink, recovered))
}

/// The writing side of the file and bounded sources: writes the chunks the reading thread
/// sends until it is done. An error from that thread abandons the open ranges (nothing
/// partial is committed) and is returned.
pub(crate) async fn write_chunks(
    mut sink: Sink,
    rx: &mut tokio::sync::mpsc::Receiver<Result<Chunk>>,
) -> Result<Sink> {
    while let Some(chunk) = rx.recv().await {
        match chunk {
            Ok(chunk) => sink.write(chunk).await?,
            Err(e) => {
                sink.abort().await.ok();
                return Err(e);
            }
        }
    }
    Ok(sink)
}
