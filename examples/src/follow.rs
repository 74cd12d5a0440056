//! `land --follow`: a consumer-group member that lands its partitions continuously, exactly
//! once, with several processes sharing a topic.
//!
//! Two sides, one FIFO channel between them:
//! - the **consumer thread** owns the [`StreamingConsumer`]: it polls, flattens each partition
//!   batch into a [`Chunk`], applies the seeks the sink asks for, commits group offsets (for lag
//!   monitoring only) and, when the channel is full, waits for room; if the writer is stalled
//!   for longer than a second, it pauses its partitions and keeps polling (backpressure
//!   without leaving the group);
//! - the **sink task** (async) owns the [`Sink`]: it writes chunks, rotates ranges by rows,
//!   bytes or wall-clock age (a timer, so idle partitions rotate too) and handles rebalances.
//!
//! Exactly once:
//! - start positions come from the tables' Delta logs: on assignment the sink recovers the
//!   assigned partitions ([`Warehouse::recover_partitions`]: each table's transaction version
//!   for the partition) and the consumer seeks to the offset after it; Kafka's group offsets
//!   are committed after the Delta commits and never read back;
//! - on revocation the sink commits the partition's open range *before* the rebalance
//!   callback returns, so the next owner starts after it; chunks already in the channel are
//!   dropped by their **epoch**: every assignment of a partition (and every re-read after a
//!   failed write) gets a new epoch, and the sink writes only chunks of the current epoch;
//! - a commit goes ahead only while the table's transaction version is the one the range
//!   started from: a member that was stalled while another took its partitions is **fenced**
//!   (its commit is refused, logged, and the range re-read from what the table holds);
//! - a failed write or commit (e.g. the NameNode restarting) abandons that partition's range,
//!   recovers it with backoff and seeks the consumer back to the committed end: the offsets are
//!   landed again, once;
//! - on SIGINT/SIGTERM the open ranges are committed, group offsets committed, the group left
//!   cleanly, and the program exits 0. A SIGKILL at any moment leaves at most data files no
//!   Delta version references (orphans, invisible to every Delta reader; `vacuum` removes
//!   them).

use crate::land::{
    Chunk, Sink, Totals, flatten_config_for, is_fenced_any, kafka_message, sink_for,
};
use anyhow::{Context as _, Result, anyhow, bail};
use assessment_flatten::{FlattenConfig, Flattener};
use assessment_schema::tables::Table;
use hdfs_sink::Warehouse;
use kafka_io::{
    Batch, KafkaConfig, RebalanceHandler, StartOffset, StreamingConsumer, StreamingOptions,
    TopicPartition,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How long the consumer thread waits for the writer to take a chunk before it pauses its
/// partitions (and keeps polling, to stay in the group) until the writer catches up.
const WRITER_STALL: Duration = Duration::from_secs(1);

/// Settings of [`land_topic_follow`].
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// The consumer group and its batching (a partition batch becomes one chunk). Defaults
    /// of [`StreamingOptions`] except batches of at most 2 MiB, fetches of 1 MiB per
    /// partition and a prefetch queue of 4 MiB: with 3 chunks in flight that bounds what is
    /// held before the writer.
    pub streaming: StreamingOptions,
    /// Flattener settings.
    pub flatten: FlattenConfig,
    /// Tables to land (`rejects` is always landed, see [`crate::land::select_tables`]).
    /// Without `raw`, the flattener does not build it. Default: all five.
    pub tables: Vec<Table>,
    /// Chunks queued between the consumer thread and the writer before the consumer pauses
    /// its partitions. Default 3.
    pub in_flight_chunks: usize,
    /// How often the consumer asks the brokers for high watermarks to report lag. Default 2 s.
    pub lag_every: Duration,
    /// Consecutive failed writes of one partition (each followed by recovery and a re-read)
    /// before the program gives up. Default 10.
    pub max_write_failures: u32,
    /// How long the sink keeps retrying recovery of a partition (e.g. while HDFS is down)
    /// before giving up. Default 5 minutes.
    pub recovery_timeout: Duration,
}

impl FollowOptions {
    /// Options for consumer group `group`, everything else at its default.
    pub fn new(group: impl Into<String>) -> Self {
        Self {
            streaming: StreamingOptions {
                // Small chunks, fetches and prefetch bound the memory of a long-running
                // member (the prefetch queue stays full while the writer is the bottleneck,
                // and a fetch response may overshoot it by a partition fetch per partition).
                max_batch_bytes: 2 << 20,
                max_prefetch_bytes: 4 << 20,
                fetch_partition_bytes: 1 << 20,
                ..StreamingOptions::new(group)
            },
            flatten: FlattenConfig::default(),
            tables: Table::ALL.to_vec(),
            in_flight_chunks: 3,
            lag_every: Duration::from_secs(2),
            max_write_failures: 10,
            recovery_timeout: Duration::from_secs(300),
        }
    }
}

/// State shared by the consumer thread, its rebalance handler and the sink task.
#[derive(Debug, Default)]
struct Shared {
    /// Set on SIGINT/SIGTERM (or by the sink on a fatal error): the consumer stops.
    stop: AtomicBool,
    /// Epoch source.
    next_epoch: AtomicU64,
    /// Current epoch of each partition owned by the consumer.
    epochs: Mutex<HashMap<TopicPartition, u64>>,
    /// Seeks requested by the sink: partition, next offset, new epoch.
    seeks: Mutex<Vec<(TopicPartition, i64, u64)>>,
    /// Next offsets landed (committed markers), to commit to the group.
    landed: Mutex<BTreeMap<TopicPartition, i64>>,
}

impl Shared {
    fn epoch(&self) -> u64 {
        self.next_epoch.fetch_add(1, Ordering::Relaxed) + 1
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

type Reply<T> = std::sync::mpsc::SyncSender<T>;

/// What the consumer side tells the sink, in order.
#[derive(Debug)]
enum ToSink {
    Chunk {
        chunk: Box<Chunk>,
        epoch: u64,
    },
    Assigned {
        partitions: Vec<(TopicPartition, u64)>,
        reply: Reply<std::result::Result<BTreeMap<TopicPartition, Option<i64>>, String>>,
    },
    Revoked {
        partitions: Vec<TopicPartition>,
        reply: Reply<()>,
    },
    Status(String),
    /// Commit every open range, then reply; the consumer leaves the group afterwards.
    Stop {
        reply: Reply<()>,
    },
}

/// The consumer's rebalance handler: asks the sink, and waits for its answer.
struct Handler {
    tx: mpsc::Sender<ToSink>,
    shared: Arc<Shared>,
}

impl RebalanceHandler for Handler {
    fn assigned(
        &mut self,
        partitions: &[TopicPartition],
    ) -> std::result::Result<BTreeMap<TopicPartition, StartOffset>, String> {
        let with_epochs: Vec<_> = partitions
            .iter()
            .map(|tp| (tp.clone(), self.shared.epoch()))
            .collect();
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.tx
            .blocking_send(ToSink::Assigned {
                partitions: with_epochs.clone(),
                reply,
            })
            .map_err(|_| "the writer has stopped".to_owned())?;
        let next = answer
            .recv()
            .map_err(|_| "the writer stopped during recovery".to_owned())??;
        let mut epochs = lock(&self.shared.epochs);
        for (tp, epoch) in with_epochs {
            epochs.insert(tp, epoch);
        }
        Ok(next
            .into_iter()
            .map(|(tp, n)| (tp, n.map_or(StartOffset::Earliest, StartOffset::Offset)))
            .collect())
    }

    fn revoked(&mut self, partitions: &[TopicPartition]) {
        {
            let mut epochs = lock(&self.shared.epochs);
            for tp in partitions {
                epochs.remove(tp);
            }
        }
        let (reply, done) = std::sync::mpsc::sync_channel(1);
        if self
            .tx
            .blocking_send(ToSink::Revoked {
                partitions: partitions.to_vec(),
                reply,
            })
            .is_ok()
        {
            // Wait until the open ranges are abandoned: the next owner must not race them.
            let _ = done.recv();
        }
    }
}

/// Lands `topic` continuously as a member of consumer group `opts.streaming.group_id` until
/// `shutdown` completes (SIGINT/SIGTERM in the `land` program), then commits the open ranges,
/// leaves the group and returns the totals. See the [module docs](self) for the protocol.
pub async fn land_topic_follow(
    kafka: &KafkaConfig,
    topic: &str,
    warehouse: Warehouse,
    opts: &FollowOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<Totals> {
    let (tx, rx) = mpsc::channel::<ToSink>(opts.in_flight_chunks.max(1));
    let shared = Arc::new(Shared::default());
    let consumer_thread = {
        let kafka = kafka.clone();
        let topic = topic.to_owned();
        let opts = opts.clone();
        let shared = shared.clone();
        let runtime = tokio::runtime::Handle::current();
        std::thread::Builder::new()
            .name("consumer".into())
            .spawn(move || consumer_loop(&kafka, &topic, &opts, tx, &shared, &runtime))
            .context("starting the consumer thread")?
    };
    let sink_result = sink_loop(warehouse, rx, &shared, opts, shutdown).await;
    shared.stop.store(true, Ordering::Relaxed);
    let consumer_result = tokio::task::spawn_blocking(move || consumer_thread.join())
        .await
        .map_err(|e| anyhow!("joining the consumer thread: {e}"))?
        .map_err(|_| anyhow!("the consumer thread panicked"))?;
    let totals = sink_result?;
    consumer_result.with_context(|| format!("consuming topic {topic}"))?;
    Ok(totals)
}

async fn sink_loop(
    warehouse: Warehouse,
    mut rx: mpsc::Receiver<ToSink>,
    shared: &Shared,
    opts: &FollowOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<Totals> {
    let mut sink = sink_for(warehouse, &opts.tables, &opts.flatten);
    sink.create_tables().await?;
    let mut owned: HashMap<TopicPartition, u64> = HashMap::new();
    let mut failures: HashMap<TopicPartition, u32> = HashMap::new();
    let mut stopping = false;
    let mut dropped_stale = 0_u64;
    tokio::pin!(shutdown);
    loop {
        let due = sink
            .next_due()
            .unwrap_or(Duration::from_secs(1))
            .clamp(Duration::from_millis(50), Duration::from_secs(1));
        let msg = tokio::select! {
            m = rx.recv() => m,
            () = &mut shutdown, if !stopping => {
                tracing::info!("signal received: committing open ranges and leaving the group");
                stopping = true;
                shared.stop.store(true, Ordering::Relaxed);
                continue;
            }
            () = tokio::time::sleep(due) => {
                // Wall-clock rotation: idle partitions are committed on time too.
                for key in sink.due_partitions() {
                    if let Err(e) = sink.commit(&key).await {
                        let tp = TopicPartition::new(key.0, key.1);
                        tracing::error!(?tp, error = format!("{e:#}"), "time-based commit failed; the range is re-read");
                        failed(&mut sink, &tp, e, &mut owned, &mut failures, shared, opts).await?;
                    }
                }
                publish_landed(&mut sink, shared, &mut failures);
                sink.progress();
                continue;
            }
        };
        let Some(msg) = msg else { break };
        match msg {
            ToSink::Chunk { chunk, epoch } => {
                let tp = TopicPartition::new(chunk.topic.clone(), chunk.partition);
                if owned.get(&tp) != Some(&epoch) {
                    dropped_stale += 1;
                    tracing::debug!(?tp, epoch, "dropping a chunk of an earlier assignment");
                    continue;
                }
                if let Err(e) = sink.write(*chunk).await {
                    tracing::error!(
                        ?tp,
                        error = format!("{e:#}"),
                        "writing failed; the range is abandoned and re-read"
                    );
                    failed(&mut sink, &tp, e, &mut owned, &mut failures, shared, opts).await?;
                } else {
                    publish_landed(&mut sink, shared, &mut failures);
                }
            }
            ToSink::Assigned { partitions, reply } => {
                let answer = assign(&mut sink, &partitions, &mut owned, shared, opts).await;
                let _ = reply.send(answer.map_err(|e| format!("{e:#}")));
            }
            ToSink::Revoked { partitions, reply } => {
                for tp in &partitions {
                    owned.remove(tp);
                    let key = (tp.topic.clone(), tp.partition);
                    if sink.is_open(&key) {
                        // Committed before the revocation completes, so that the next owner
                        // starts after it: nothing read is dropped. Fencing makes a late
                        // commit safe (a range someone else committed is refused).
                        tracing::info!(?tp, "revoked: committing the open range");
                        if let Err(e) = sink.commit(&key).await {
                            tracing::warn!(
                                ?tp,
                                error = format!("{e:#}"),
                                "committing the revoked range failed; the next owner lands it"
                            );
                            sink.abort_partition(&key).await.ok();
                        }
                    }
                }
                let _ = reply.send(());
            }
            ToSink::Status(s) => {
                sink.set_status(s);
                sink.progress();
            }
            ToSink::Stop { reply } => {
                let keys: Vec<_> = owned
                    .keys()
                    .map(|tp| (tp.topic.clone(), tp.partition))
                    .collect();
                for key in keys {
                    if let Err(e) = sink.commit(&key).await {
                        tracing::error!(topic = %key.0, partition = key.1, error = format!("{e:#}"),
                            "final commit failed; these offsets are landed by the next run");
                    }
                }
                publish_landed(&mut sink, shared, &mut failures);
                owned.clear();
                let _ = reply.send(());
            }
        }
    }
    if dropped_stale > 0 {
        tracing::info!(
            chunks = dropped_stale,
            "chunks of earlier assignments dropped"
        );
    }
    // The consumer side is gone. Whatever is still open was not handed over by a Stop: abandon.
    let totals = sink.totals.clone();
    sink.abort().await.ok();
    Ok(totals)
}

/// Publishes the ranges committed since the last call, for the consumer's group commits; a
/// commit resets the partition's failure count.
fn publish_landed(sink: &mut Sink, shared: &Shared, failures: &mut HashMap<TopicPartition, u32>) {
    let commits = sink.take_commits();
    if commits.is_empty() {
        return;
    }
    let mut landed = lock(&shared.landed);
    for (topic, partition, end) in commits {
        let tp = TopicPartition::new(topic, partition);
        failures.remove(&tp);
        landed.insert(tp, end + 1);
    }
}

/// A write or commit of `tp` failed: give up after too many failures in a row, else re-land.
async fn failed(
    sink: &mut Sink,
    tp: &TopicPartition,
    error: anyhow::Error,
    owned: &mut HashMap<TopicPartition, u64>,
    failures: &mut HashMap<TopicPartition, u32>,
    shared: &Shared,
    opts: &FollowOptions,
) -> Result<()> {
    if is_fenced_any(&error) {
        // Not a failure of this member: another one owns the partition now (this one was
        // stalled past its session, or a rebalance moved the partition). Nothing of the
        // range is committed; re-read from what the table holds if it is still ours.
        tracing::warn!(
            ?tp,
            error = format!("{error:#}"),
            "commit fenced: another writer committed these offsets; the range is abandoned"
        );
        return reland(sink, tp, owned, shared, opts).await;
    }
    let n = failures.entry(tp.clone()).or_default();
    *n += 1;
    if *n > opts.max_write_failures {
        shared.stop.store(true, Ordering::Relaxed);
        sink.abort_partition(&(tp.topic.clone(), tp.partition))
            .await
            .ok();
        return Err(error.context(format!(
            "{}[{}] failed to land {} times in a row",
            tp.topic, tp.partition, opts.max_write_failures
        )));
    }
    reland(sink, tp, owned, shared, opts).await
}

/// Recovers `partitions` (retrying while storage is unavailable) and returns where each starts.
async fn assign(
    sink: &mut Sink,
    partitions: &[(TopicPartition, u64)],
    owned: &mut HashMap<TopicPartition, u64>,
    shared: &Shared,
    opts: &FollowOptions,
) -> Result<BTreeMap<TopicPartition, Option<i64>>> {
    for (tp, _) in partitions {
        sink.abort_partition(&(tp.topic.clone(), tp.partition))
            .await
            .ok();
    }
    let tps: Vec<TopicPartition> = partitions.iter().map(|(tp, _)| tp.clone()).collect();
    let next = recover_with_retry(sink.warehouse(), &tps, shared, opts).await?;
    for (tp, epoch) in partitions {
        owned.insert(tp.clone(), *epoch);
    }
    tracing::info!(
        ?next,
        "assigned partitions recovered; starting after the committed ranges"
    );
    Ok(next)
}

/// After a failed write: abandon `tp`'s range, recover it, and have the consumer re-read it
/// from the committed end under a new epoch.
async fn reland(
    sink: &mut Sink,
    tp: &TopicPartition,
    owned: &mut HashMap<TopicPartition, u64>,
    shared: &Shared,
    opts: &FollowOptions,
) -> Result<()> {
    if !owned.contains_key(tp) {
        return Ok(());
    }
    sink.abort_partition(&(tp.topic.clone(), tp.partition))
        .await
        .ok();
    let next = recover_with_retry(sink.warehouse(), std::slice::from_ref(tp), shared, opts)
        .await?
        .remove(tp)
        .flatten();
    let epoch = shared.epoch();
    owned.insert(tp.clone(), epoch);
    match next {
        Some(offset) => {
            tracing::info!(?tp, offset, "re-reading from the committed end");
            lock(&shared.seeks).push((tp.clone(), offset, epoch));
        }
        None => {
            // Nothing committed yet: re-read from the beginning of the partition.
            tracing::info!(?tp, "re-reading from the beginning (nothing committed yet)");
            lock(&shared.seeks).push((tp.clone(), -1, epoch));
        }
    }
    Ok(())
}

async fn recover_with_retry(
    warehouse: &Warehouse,
    partitions: &[TopicPartition],
    shared: &Shared,
    opts: &FollowOptions,
) -> Result<BTreeMap<TopicPartition, Option<i64>>> {
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
            Err(e) => {
                if started.elapsed() >= opts.recovery_timeout || shared.stop.load(Ordering::Relaxed)
                {
                    return Err(anyhow::Error::new(e).context(format!(
                        "recovering partitions {partitions:?} of warehouse {}",
                        warehouse.url()
                    )));
                }
                tracing::warn!(error = %e, retry_in = ?backoff, "recovery failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
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

fn consumer_loop(
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
    let mut consumer = StreamingConsumer::new(kafka, &[topic], opts.streaming.clone(), handler)
        .with_context(|| format!("joining group {}", opts.streaming.group_id))?;
    let mut flattener = Flattener::new(flatten_config_for(&opts.flatten, &opts.tables));
    let mut pending: VecDeque<ToSink> = VecDeque::new();
    let mut paused = false;
    let mut consumed: BTreeMap<TopicPartition, i64> = BTreeMap::new();
    let mut last_lag = Instant::now();
    let mut group_committed: BTreeMap<TopicPartition, i64> = BTreeMap::new();
    let mut transient_errors = 0_u32;
    let result = loop {
        if shared.stop.load(Ordering::Relaxed) {
            break Ok(());
        }
        // Seeks asked by the sink (re-reads after a failed write).
        let seeks = std::mem::take(&mut *lock(&shared.seeks));
        for (tp, offset, epoch) in seeks {
            let res = if offset < 0 {
                consumer
                    .watermarks(&tp, Duration::from_secs(5))
                    .and_then(|(low, _)| consumer.seek(&tp, low, Duration::from_secs(5)))
            } else {
                consumer.seek(&tp, offset, Duration::from_secs(5))
            };
            match res {
                Ok(()) => {
                    lock(&shared.epochs).insert(tp, epoch);
                }
                Err(e) => {
                    tracing::warn!(?tp, error = %e, "seek failed; retrying");
                    lock(&shared.seeks).push((tp, offset, epoch));
                }
            }
        }
        // Hand pending chunks to the writer. While it is merely busy, wait for room without
        // polling: librdkafka keeps prefetching up to its queue bound and then stops fetching
        // by itself. Only a writer stalled for WRITER_STALL (e.g. HDFS recovering) makes us
        // pause the partitions and keep polling: a pause discards librdkafka's prefetched
        // messages (they are fetched again on resume), so pausing whenever the channel is
        // momentarily full made the consumer re-fetch constantly.
        while let Some(m) = pending.pop_front() {
            match tx.try_send(m) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(m)) => {
                    match runtime
                        .block_on(async { tokio::time::timeout(WRITER_STALL, tx.reserve()).await })
                    {
                        Ok(Ok(permit)) => permit.send(m),
                        Ok(Err(_)) => return Err(anyhow!("the writer stopped")),
                        Err(_) => {
                            pending.push_front(m);
                            break;
                        }
                    }
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    return Err(anyhow!("the writer stopped"));
                }
            }
        }
        let assignment = consumer.assignment().unwrap_or_default();
        if !pending.is_empty() {
            if !paused {
                tracing::debug!(chunks = pending.len(), "writer behind: pausing partitions");
            }
            consumer.pause(&assignment).ok();
            paused = true;
        } else if paused {
            consumer.resume(&assignment).ok();
            paused = false;
        }
        // Group offsets: what the warehouse has committed (monitoring only).
        let landed: Vec<(TopicPartition, i64)> = lock(&shared.landed)
            .iter()
            .filter(|(tp, n)| group_committed.get(*tp) != Some(*n) && assignment.contains(tp))
            .map(|(tp, n)| (tp.clone(), *n))
            .collect();
        if !landed.is_empty() {
            match consumer.commit(&landed) {
                Ok(()) => group_committed.extend(landed),
                Err(e) => {
                    tracing::warn!(error = %e, "committing group offsets failed (lag monitoring only)")
                }
            }
        }
        // Progress: lag per partition.
        if last_lag.elapsed() >= opts.lag_every {
            last_lag = Instant::now();
            let landed = lock(&shared.landed).clone();
            let status = lag_status(&consumer, &assignment, &consumed, &landed);
            let _ = tx.try_send(ToSink::Status(status));
        }
        let batches = match consumer.poll_batches() {
            Ok(b) => {
                transient_errors = 0;
                b
            }
            Err(e) if is_fatal(&e) => break Err(anyhow::Error::new(e)),
            Err(e) => {
                transient_errors += 1;
                if transient_errors == 1 || transient_errors.is_multiple_of(20) {
                    tracing::warn!(error = %e, count = transient_errors, "consumer error; continuing");
                }
                continue;
            }
        };
        for ev in consumer.take_events() {
            if let kafka_io::RebalanceEvent::Revoked(parts) = ev {
                // Pending chunks of these partitions carry an old epoch: the sink drops them.
                for tp in parts {
                    consumed.remove(&tp);
                    group_committed.remove(&tp);
                }
            }
        }
        let mut flatten_error = None;
        for batch in batches {
            let tp = TopicPartition::new(batch.topic(), batch.partition());
            let Some(epoch) = lock(&shared.epochs).get(&tp).copied() else {
                continue;
            };
            if let Some(last) = batch.last_offset() {
                consumed.insert(tp.clone(), last + 1);
            }
            match flatten_batch(&mut flattener, &batch) {
                Ok(chunk) => pending.push_back(ToSink::Chunk {
                    chunk: Box::new(chunk),
                    epoch,
                }),
                Err(e) => {
                    flatten_error = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = flatten_error {
            break Err(e);
        }
    };
    // Hand over what is pending, then have the sink commit everything, then leave the group.
    let shutdown = (|| -> Result<()> {
        for m in pending.drain(..) {
            if tx.blocking_send(m).is_err() {
                bail!("the writer stopped");
            }
        }
        let (reply, done) = std::sync::mpsc::sync_channel(1);
        if tx.blocking_send(ToSink::Stop { reply }).is_ok() {
            let _ = done.recv();
        }
        let landed: Vec<(TopicPartition, i64)> = lock(&shared.landed)
            .iter()
            .filter(|(tp, n)| group_committed.get(*tp) != Some(*n))
            .map(|(tp, n)| (tp.clone(), *n))
            .collect();
        if !landed.is_empty()
            && let Err(e) = consumer.commit(&landed)
        {
            tracing::warn!(error = %e, "final group commit failed (lag monitoring only)");
        }
        Ok(())
    })();
    drop(tx);
    if let Err(e) = consumer.close(Duration::from_secs(10)) {
        tracing::warn!(error = %e, "leaving the group");
    }
    result.and(shutdown)
}

fn flatten_batch(flattener: &mut Flattener, batch: &Batch) -> Result<Chunk> {
    let mut first = None;
    let mut last = 0;
    for m in batch.iter() {
        flattener.push(&kafka_message(&m))?;
        first.get_or_insert(m.offset);
        last = m.offset;
    }
    let first_offset = first.ok_or_else(|| anyhow!("empty batch"))?;
    Ok(Chunk {
        topic: batch.topic().to_owned(),
        partition: batch.partition(),
        first_offset,
        last_offset: last,
        tables: flattener.flush()?,
    })
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
