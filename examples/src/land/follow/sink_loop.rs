//! The sink task of `--follow`: writes the chunks of the current epochs, commits ranges when
//! due (a timer, so idle partitions rotate too), settles assignments and revocations, and
//! re-lands a partition whose write or commit failed.

use super::{Seek, Shared, StartOffsets, ToSink, lock};
use crate::land::error::{Error, Result};
use crate::land::options::FollowOptions;
use crate::land::progress::Progress;
use crate::land::sink::Sink;
use crate::land::totals::Totals;
use hdfs_sink::Warehouse;
use kafka_io::TopicPartition;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The sink task: runs until the consumer side hangs up, committing the open ranges when it
/// says `Stop`. `shutdown` completing asks the consumer to stop.
pub(super) async fn run(
    warehouse: Warehouse,
    mut rx: mpsc::Receiver<ToSink>,
    shared: &Shared,
    opts: &FollowOptions,
    progress: Box<dyn Progress>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<Totals> {
    let sink = opts.land.sink(warehouse).with_progress(progress);
    sink.create_tables().await?;
    let mut side = SinkSide {
        sink,
        owned: HashMap::new(),
        failures: HashMap::new(),
        dropped_stale: 0,
        shared,
        opts,
    };
    let mut stopping = false;
    tokio::pin!(shutdown);
    loop {
        let due = side
            .sink
            .next_due()
            .unwrap_or(Duration::from_secs(1))
            .clamp(Duration::from_millis(50), Duration::from_secs(1));
        let msg = tokio::select! {
            m = rx.recv() => m,
            () = &mut shutdown, if !stopping => {
                tracing::info!("signal received: committing open ranges and leaving the group");
                stopping = true;
                shared.stop();
                continue;
            }
            () = tokio::time::sleep(due) => {
                side.commit_due().await?;
                continue;
            }
        };
        let Some(msg) = msg else { break };
        side.handle(msg).await?;
    }
    Ok(side.end().await)
}

/// What the sink task owns.
struct SinkSide<'a> {
    sink: Sink,
    /// The partitions this member owns, with their current epoch.
    owned: HashMap<TopicPartition, u64>,
    /// Failed writes or commits in a row, per partition.
    failures: HashMap<TopicPartition, u32>,
    /// Chunks of earlier epochs dropped.
    dropped_stale: u64,
    shared: &'a Shared,
    opts: &'a FollowOptions,
}

impl SinkSide<'_> {
    async fn handle(&mut self, msg: ToSink) -> Result<()> {
        match msg {
            ToSink::Chunk { chunk, epoch } => self.write(*chunk, epoch).await?,
            ToSink::Assigned { partitions, reply } => {
                let answer = self.assign(&partitions).await;
                let _ = reply.send(answer.map_err(|e| e.chain()));
            }
            ToSink::Revoked { partitions, reply } => {
                self.revoke(&partitions).await;
                let _ = reply.send(());
            }
            ToSink::Status(s) => {
                self.sink.set_status(s);
                self.sink.progress();
            }
            ToSink::Stop { reply } => {
                self.commit_owned().await;
                let _ = reply.send(());
            }
        }
        Ok(())
    }

    /// Writes a chunk of the partition's current epoch; drops one of an earlier epoch.
    async fn write(&mut self, chunk: crate::land::Chunk, epoch: u64) -> Result<()> {
        let tp = chunk.tp.clone();
        if self.owned.get(&tp) != Some(&epoch) {
            self.dropped_stale += 1;
            tracing::debug!(?tp, epoch, "dropping a chunk of an earlier assignment");
            return Ok(());
        }
        match self.sink.write(chunk).await {
            Ok(()) => self.publish_landed(),
            Err(e) => {
                tracing::error!(
                    ?tp,
                    error = e.chain(),
                    "writing failed; the range is abandoned and re-read"
                );
                self.failed(&tp, e).await?;
            }
        }
        Ok(())
    }

    /// Wall-clock rotation: idle partitions are committed on time too.
    async fn commit_due(&mut self) -> Result<()> {
        for tp in self.sink.due_partitions() {
            if let Err(e) = self.sink.commit(&tp).await {
                tracing::error!(
                    ?tp,
                    error = e.chain(),
                    "time-based commit failed; the range is re-read"
                );
                self.failed(&tp, e).await?;
            }
        }
        self.publish_landed();
        self.sink.progress();
        Ok(())
    }

    /// Commits the open ranges of revoked partitions before the revocation completes, so
    /// that the next owner starts after them: nothing read is dropped. Fencing makes a late
    /// commit safe (a range someone else committed is refused).
    async fn revoke(&mut self, partitions: &[TopicPartition]) {
        for tp in partitions {
            self.owned.remove(tp);
            if !self.sink.is_open(tp) {
                continue;
            }
            tracing::info!(?tp, "revoked: committing the open range");
            if let Err(e) = self.sink.commit(tp).await {
                tracing::warn!(
                    ?tp,
                    error = e.chain(),
                    "committing the revoked range failed; the next owner lands it"
                );
                self.sink.abort_partition(tp).await.ok();
            }
        }
    }

    /// The consumer is stopping: commits the open range of every owned partition.
    async fn commit_owned(&mut self) {
        let owned: Vec<_> = self.owned.keys().cloned().collect();
        for tp in owned {
            if let Err(e) = self.sink.commit(&tp).await {
                tracing::error!(topic = %tp.topic, partition = tp.partition, error = e.chain(),
                    "final commit failed; these offsets are landed by the next run");
            }
        }
        self.publish_landed();
        self.owned.clear();
    }

    /// The consumer side is gone. Whatever is still open was not handed over by a Stop:
    /// abandoned.
    async fn end(self) -> Totals {
        if self.dropped_stale > 0 {
            tracing::info!(
                chunks = self.dropped_stale,
                "chunks of earlier assignments dropped"
            );
        }
        let totals = self.sink.totals().clone();
        self.sink.abort().await.ok();
        totals
    }

    /// Publishes the ranges committed since the last call, for the consumer's group commits;
    /// a commit resets the partition's failure count.
    fn publish_landed(&mut self) {
        let commits = self.sink.take_commits();
        if commits.is_empty() {
            return;
        }
        let mut landed = lock(&self.shared.landed);
        for (tp, end) in commits {
            self.failures.remove(&tp);
            landed.insert(tp, end + 1);
        }
    }

    /// A write or commit of `tp` failed: give up after too many failures in a row, else
    /// re-land.
    async fn failed(&mut self, tp: &TopicPartition, error: Error) -> Result<()> {
        if error.is_fenced() {
            // Not a failure of this member: another one owns the partition now (this one
            // was stalled past its session, or a rebalance moved the partition). Nothing of
            // the range is committed; re-read from what the table holds if it is still ours.
            tracing::warn!(
                ?tp,
                error = error.chain(),
                "commit fenced: another writer committed these offsets; the range is abandoned"
            );
            return self.reland(tp).await;
        }
        let n = self.failures.entry(tp.clone()).or_default();
        *n += 1;
        if *n > self.opts.max_write_failures {
            self.shared.stop();
            self.sink.abort_partition(tp).await.ok();
            return Err(Error::TooManyFailures {
                topic: tp.topic.clone(),
                partition: tp.partition,
                failures: self.opts.max_write_failures,
                source: Box::new(error),
            });
        }
        self.reland(tp).await
    }

    /// Recovers `partitions` (retrying while storage is unavailable) and returns where each
    /// starts.
    async fn assign(&mut self, partitions: &[(TopicPartition, u64)]) -> Result<StartOffsets> {
        for (tp, _) in partitions {
            self.sink.abort_partition(tp).await.ok();
        }
        let tps: Vec<TopicPartition> = partitions.iter().map(|(tp, _)| tp.clone()).collect();
        let next = recover_with_retry(self.sink.warehouse(), &tps, self.shared, self.opts).await?;
        for (tp, epoch) in partitions {
            self.owned.insert(tp.clone(), *epoch);
        }
        tracing::info!(
            ?next,
            "assigned partitions recovered; starting after the committed ranges"
        );
        Ok(next)
    }

    /// After a failed write: abandon `tp`'s range, recover it, and have the consumer re-read
    /// it from the committed end under a new epoch.
    async fn reland(&mut self, tp: &TopicPartition) -> Result<()> {
        if !self.owned.contains_key(tp) {
            return Ok(());
        }
        self.sink.abort_partition(tp).await.ok();
        let offset = recover_with_retry(
            self.sink.warehouse(),
            std::slice::from_ref(tp),
            self.shared,
            self.opts,
        )
        .await?
        .remove(tp)
        .flatten();
        let epoch = self.shared.epoch();
        self.owned.insert(tp.clone(), epoch);
        match offset {
            Some(offset) => tracing::info!(?tp, offset, "re-reading from the committed end"),
            // Nothing committed yet: re-read from the beginning of the partition.
            None => tracing::info!(?tp, "re-reading from the beginning (nothing committed yet)"),
        }
        lock(&self.shared.seeks).push(Seek {
            tp: tp.clone(),
            offset,
            epoch,
        });
        Ok(())
    }
}

/// Where `partitions` start, from the warehouse's committed ranges; retried with backoff
/// while recovery fails (storage unavailable), up to `opts.recovery_timeout` or a stop.
async fn recover_with_retry(
    warehouse: &Warehouse,
    partitions: &[TopicPartition],
    shared: &Shared,
    opts: &FollowOptions,
) -> Result<StartOffsets> {
    let sink_tps: Vec<hdfs_sink::TopicPartition> = partitions
        .iter()
        .map(|tp| hdfs_sink::TopicPartition::new(tp.topic.clone(), tp.partition))
        .collect();
    let started = Instant::now();
    let mut backoff = Duration::from_millis(500);
    loop {
        match warehouse.recover_partitions(&sink_tps).await {
            Ok(report) => {
                return Ok(partitions
                    .iter()
                    .map(|tp| (tp.clone(), report.next_offset(&tp.topic, tp.partition)))
                    .collect());
            }
            Err(source) => {
                if started.elapsed() >= opts.recovery_timeout || shared.stopping() {
                    return Err(Error::RecoverPartitions {
                        partitions: partitions.to_vec(),
                        warehouse: warehouse.url().to_owned(),
                        source: Box::new(source),
                    });
                }
                tracing::warn!(error = %source, retry_in = ?backoff, "recovery failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}
