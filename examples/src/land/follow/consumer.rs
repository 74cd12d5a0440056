//! The consumer thread of `--follow`: polls the group's partitions, flattens each partition
//! batch into one chunk for the sink, applies the sink's seeks, applies backpressure and
//! commits group offsets (for lag monitoring only).

use super::rebalance::Handler;
use super::{Seek, Shared, ToSink, lock};
use crate::land::chunk::Chunker;
use crate::land::error::{Error, Result};
use crate::land::kafka_message;
use crate::land::options::FollowOptions;
use kafka_io::{Batch, KafkaConfig, StreamingConsumer, TopicPartition};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long the consumer thread waits for the writer to take a chunk before it pauses its
/// partitions (and keeps polling, to stay in the group) until the writer catches up.
const WRITER_STALL: Duration = Duration::from_secs(1);

/// How long a seek or a watermark query for a seek may take.
const SEEK_TIMEOUT: Duration = Duration::from_secs(5);

/// The consumer thread: joins the group, consumes until the sink or a signal stops it (or a
/// fatal consumer error), then hands over what is pending, has the sink commit everything
/// and leaves the group.
pub(super) fn run(
    kafka: &KafkaConfig,
    topic: &str,
    opts: &FollowOptions,
    tx: mpsc::Sender<ToSink>,
    shared: &Arc<Shared>,
    runtime: &tokio::runtime::Handle,
) -> Result<()> {
    let handler = Handler {
        tx: tx.clone(),
        shared: shared.clone(),
    };
    let consumer = StreamingConsumer::new(kafka, &[topic], opts.streaming.clone(), handler)
        .map_err(|source| Error::JoinGroup {
            group: opts.streaming.group_id.clone(),
            source: Box::new(source),
        })?;
    let mut side = ConsumerSide {
        consumer,
        // A partition batch is one chunk, whatever its size.
        chunker: Chunker::new(opts.land.flatten_config(), usize::MAX),
        pending: VecDeque::new(),
        paused: false,
        consumed: BTreeMap::new(),
        last_lag: Instant::now(),
        group_committed: BTreeMap::new(),
        transient_errors: 0,
        tx,
        shared,
        runtime,
        opts,
    };
    let result = side.consume();
    if let Err(Error::WriterStopped) = result {
        // The sink is gone: nothing to hand over, nobody to commit.
        return result;
    }
    let shutdown = side.hand_over();
    let ConsumerSide { consumer, tx, .. } = side;
    drop(tx);
    if let Err(e) = consumer.close(Duration::from_secs(10)) {
        tracing::warn!(error = %e, "leaving the group");
    }
    result.and(shutdown)
}

/// What the consumer thread owns.
struct ConsumerSide<'a> {
    consumer: StreamingConsumer,
    chunker: Chunker,
    /// Chunks (and statuses) not yet taken by the writer.
    pending: VecDeque<ToSink>,
    /// Whether the assigned partitions are paused (the writer is stalled).
    paused: bool,
    /// Next offset consumed, per partition (for the lag).
    consumed: BTreeMap<TopicPartition, i64>,
    last_lag: Instant,
    /// Group offsets committed, per partition.
    group_committed: BTreeMap<TopicPartition, i64>,
    /// Transient consumer errors in a row.
    transient_errors: u32,
    tx: mpsc::Sender<ToSink>,
    shared: &'a Shared,
    runtime: &'a tokio::runtime::Handle,
    opts: &'a FollowOptions,
}

impl ConsumerSide<'_> {
    /// Consumes until stopped, or until a fatal error.
    fn consume(&mut self) -> Result<()> {
        while !self.shared.stopping() {
            self.apply_seeks();
            self.hand_pending()?;
            let assignment = self.consumer.assignment().unwrap_or_default();
            self.pause_while_behind(&assignment);
            self.commit_group_offsets(&assignment);
            if self.last_lag.elapsed() >= self.opts.lag_every {
                self.last_lag = Instant::now();
                self.report_lag(&assignment);
            }
            let Some(batches) = self.poll()? else {
                continue;
            };
            self.forget_revoked();
            for batch in batches {
                self.flatten(&batch)?;
            }
        }
        Ok(())
    }

    /// Seeks asked by the sink (re-reads after a failed write); a failed seek is retried on
    /// the next round.
    fn apply_seeks(&mut self) {
        let seeks = std::mem::take(&mut *lock(&self.shared.seeks));
        for seek in seeks {
            let Seek { tp, offset, epoch } = &seek;
            let res = match offset {
                None => self
                    .consumer
                    .watermarks(tp, SEEK_TIMEOUT)
                    .and_then(|(low, _)| self.consumer.seek(tp, low, SEEK_TIMEOUT)),
                Some(offset) => self.consumer.seek(tp, *offset, SEEK_TIMEOUT),
            };
            match res {
                Ok(()) => {
                    lock(&self.shared.epochs).insert(tp.clone(), *epoch);
                }
                Err(e) => {
                    tracing::warn!(?tp, error = %e, "seek failed; retrying");
                    lock(&self.shared.seeks).push(seek);
                }
            }
        }
    }

    /// Hands pending chunks to the writer. While it is merely busy, waits for room without
    /// polling: librdkafka keeps prefetching up to its queue bound and then stops fetching by
    /// itself. Only a writer stalled for [`WRITER_STALL`] (e.g. HDFS recovering) leaves
    /// chunks pending, which pauses the partitions while polling goes on: a pause discards
    /// librdkafka's prefetched messages (they are fetched again on resume), so pausing
    /// whenever the channel is momentarily full would re-fetch constantly.
    fn hand_pending(&mut self) -> Result<()> {
        while let Some(m) = self.pending.pop_front() {
            match self.tx.try_send(m) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(m)) => {
                    let tx = &self.tx;
                    match self
                        .runtime
                        .block_on(async { tokio::time::timeout(WRITER_STALL, tx.reserve()).await })
                    {
                        Ok(Ok(permit)) => permit.send(m),
                        Ok(Err(_)) => return Err(Error::WriterStopped),
                        Err(_) => {
                            self.pending.push_front(m);
                            break;
                        }
                    }
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(Error::WriterStopped),
            }
        }
        Ok(())
    }

    /// Pauses the assigned partitions while chunks are pending (the writer is stalled),
    /// resumes them once it caught up.
    fn pause_while_behind(&mut self, assignment: &[TopicPartition]) {
        if !self.pending.is_empty() {
            if !self.paused {
                tracing::debug!(
                    chunks = self.pending.len(),
                    "writer behind: pausing partitions"
                );
            }
            self.consumer.pause(assignment).ok();
            self.paused = true;
        } else if self.paused {
            self.consumer.resume(assignment).ok();
            self.paused = false;
        }
    }

    /// Group offsets: what the warehouse has committed (monitoring only).
    fn commit_group_offsets(&mut self, assignment: &[TopicPartition]) {
        let landed: Vec<(TopicPartition, i64)> = lock(&self.shared.landed)
            .iter()
            .filter(|(tp, n)| self.group_committed.get(*tp) != Some(*n) && assignment.contains(tp))
            .map(|(tp, n)| (tp.clone(), *n))
            .collect();
        if landed.is_empty() {
            return;
        }
        match self.consumer.commit(&landed) {
            Ok(()) => self.group_committed.extend(landed),
            Err(e) => {
                tracing::warn!(error = %e, "committing group offsets failed (lag monitoring only)")
            }
        }
    }

    /// Progress: the lag per partition, appended to the sink's progress line.
    fn report_lag(&self, assignment: &[TopicPartition]) {
        let landed = lock(&self.shared.landed).clone();
        let status = lag_status(&self.consumer, assignment, &self.consumed, &landed);
        let _ = self.tx.try_send(ToSink::Status(status));
    }

    /// The next partition batches; `None` after a transient error (logged, then the loop
    /// goes on), an error if the consumer cannot go on.
    fn poll(&mut self) -> Result<Option<Vec<Batch>>> {
        match self.consumer.poll_batches() {
            Ok(b) => {
                self.transient_errors = 0;
                Ok(Some(b))
            }
            Err(e) if is_fatal(&e) => Err(e.into()),
            Err(e) => {
                self.transient_errors += 1;
                let n = self.transient_errors;
                if n == 1 || n.is_multiple_of(20) {
                    tracing::warn!(error = %e, count = n, "consumer error; continuing");
                }
                Ok(None)
            }
        }
    }

    /// Forgets the consumed and group-committed offsets of revoked partitions. Their pending
    /// chunks carry an old epoch: the sink drops them.
    fn forget_revoked(&mut self) {
        for ev in self.consumer.take_events() {
            if let kafka_io::RebalanceEvent::Revoked(parts) = ev {
                for tp in parts {
                    self.consumed.remove(&tp);
                    self.group_committed.remove(&tp);
                }
            }
        }
    }

    /// Flattens a batch of an owned partition into one pending chunk under the partition's
    /// current epoch; a batch of a partition no longer owned is skipped.
    fn flatten(&mut self, batch: &Batch) -> Result<()> {
        let tp = TopicPartition::new(batch.topic(), batch.partition());
        let Some(epoch) = lock(&self.shared.epochs).get(&tp).copied() else {
            return Ok(());
        };
        if let Some(last) = batch.last_offset() {
            self.consumed.insert(tp.clone(), last + 1);
        }
        for m in batch.iter() {
            self.chunker.push(&kafka_message(&m))?;
        }
        let chunk = self.chunker.flush()?.ok_or(Error::EmptyBatch {
            topic: tp.topic,
            partition: tp.partition,
        })?;
        self.pending.push_back(ToSink::Chunk {
            chunk: Box::new(chunk),
            epoch,
        });
        Ok(())
    }

    /// Hands over what is pending, then has the sink commit everything and commits the
    /// group offsets of what it committed.
    fn hand_over(&mut self) -> Result<()> {
        for m in self.pending.drain(..) {
            if self.tx.blocking_send(m).is_err() {
                return Err(Error::WriterStopped);
            }
        }
        let (reply, done) = std::sync::mpsc::sync_channel(1);
        if self.tx.blocking_send(ToSink::Stop { reply }).is_ok() {
            let _ = done.recv();
        }
        let landed: Vec<(TopicPartition, i64)> = lock(&self.shared.landed)
            .iter()
            .filter(|(tp, n)| self.group_committed.get(*tp) != Some(*n))
            .map(|(tp, n)| (tp.clone(), *n))
            .collect();
        if !landed.is_empty()
            && let Err(e) = self.consumer.commit(&landed)
        {
            tracing::warn!(error = %e, "final group commit failed (lag monitoring only)");
        }
        Ok(())
    }
}

/// Whether a consumer error means the consumer cannot go on: offsets out of range (data
/// expired before it landed; there is no silent reset) or authorization failures.
fn is_fatal(e: &kafka_io::Error) -> bool {
    match e {
        kafka_io::Error::Consume { cause, .. } => {
            matches!(cause.code, Some(1 | -140 | 29 | 30 | 31))
        }
        kafka_io::Error::Rebalance { .. } => true,
        _ => false,
    }
}

/// `", lag p0=12 (landed 340) p1=0 ..."`: per partition, messages behind the high watermark
/// for the consumer and for what is committed in the warehouse.
fn lag_status(
    consumer: &StreamingConsumer,
    assignment: &[TopicPartition],
    consumed: &BTreeMap<TopicPartition, i64>,
    landed: &BTreeMap<TopicPartition, i64>,
) -> String {
    let mut s = String::new();
    for tp in assignment {
        let Ok((low, high)) = consumer.watermarks(tp, Duration::from_millis(500)) else {
            continue;
        };
        let pos = consumed.get(tp).copied().unwrap_or(low);
        let landed_at = landed.get(tp).copied().unwrap_or(pos.min(low));
        let _ = write!(
            s,
            " p{}={} (landed {})",
            tp.partition,
            (high - pos).max(0),
            (high - landed_at).max(0)
        );
    }
    if s.is_empty() { s } else { format!(", lag{s}") }
}
