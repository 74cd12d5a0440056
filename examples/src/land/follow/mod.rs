//! `land --follow`: a consumer-group member that lands its partitions continuously, exactly
//! once, with several processes sharing a topic.
//!
//! Two sides, one FIFO channel between them:
//! - the **consumer thread** ([`consumer`]) owns the [`kafka_io::StreamingConsumer`]: it
//!   polls, flattens each partition batch into a [`Chunk`], applies the seeks the sink asks
//!   for, commits group offsets (for lag monitoring only) and, when the channel is full,
//!   waits for room; if the writer is stalled for longer than a second, it pauses its
//!   partitions and keeps polling (backpressure without leaving the group);
//! - the **sink task** ([`sink_loop`], async) owns the [`Sink`](super::Sink): it writes
//!   chunks, rotates ranges by rows, bytes or wall-clock age (a timer, so idle partitions
//!   rotate too) and handles the rebalances the consumer's [`rebalance`] handler forwards.
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

mod consumer;
mod rebalance;
mod sink_loop;

use super::chunk::Chunk;
use super::error::{Error, Result};
use super::options::FollowOptions;
use super::progress::Progress;
use super::totals::Totals;
use hdfs_sink::Warehouse;
use kafka_io::{KafkaConfig, TopicPartition};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::mpsc;

/// State shared by the consumer thread, its rebalance handler and the sink task.
#[derive(Debug, Default)]
struct Shared {
    /// Set on SIGINT/SIGTERM (or by the sink on a fatal error): the consumer stops.
    stop: AtomicBool,
    /// Epoch source.
    next_epoch: AtomicU64,
    /// Current epoch of each partition owned by the consumer.
    epochs: Mutex<HashMap<TopicPartition, u64>>,
    /// Seeks requested by the sink.
    seeks: Mutex<Vec<Seek>>,
    /// Next offsets landed (committed markers), to commit to the group.
    landed: Mutex<BTreeMap<TopicPartition, i64>>,
}

impl Shared {
    /// A new epoch, never handed out before.
    fn epoch(&self) -> u64 {
        self.next_epoch.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// A re-read the sink asks of the consumer: partition `tp` from `offset` (`None`: from the
/// beginning), its chunks under the new `epoch`.
#[derive(Debug, Clone)]
struct Seek {
    tp: TopicPartition,
    offset: Option<i64>,
    epoch: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

type Reply<T> = std::sync::mpsc::SyncSender<T>;

/// Where each assigned partition starts: after its committed end, or `None` (nothing
/// committed: from the beginning).
type StartOffsets = BTreeMap<TopicPartition, Option<i64>>;

/// What the consumer side tells the sink, in order.
#[derive(Debug)]
enum ToSink {
    Chunk {
        chunk: Box<Chunk>,
        epoch: u64,
    },
    Assigned {
        partitions: Vec<(TopicPartition, u64)>,
        reply: Reply<std::result::Result<StartOffsets, String>>,
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

/// Lands `topic` continuously as a member of consumer group `opts.streaming.group_id` until
/// `shutdown` completes (SIGINT/SIGTERM in the `land` program), then commits the open ranges,
/// leaves the group and returns the totals. See the [module docs](self) for the protocol.
pub async fn land_topic_follow(
    kafka: &KafkaConfig,
    topic: &str,
    warehouse: Warehouse,
    opts: &FollowOptions,
    progress: Box<dyn Progress>,
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
            .spawn(move || consumer::run(&kafka, &topic, &opts, tx, &shared, &runtime))
            .map_err(|source| Error::SpawnThread {
                thread: "consumer",
                source,
            })?
    };
    let sink_result = sink_loop::run(warehouse, rx, &shared, opts, progress, shutdown).await;
    shared.stop();
    let consumer_result = tokio::task::spawn_blocking(move || consumer_thread.join())
        .await
        .map_err(|e| Error::JoinThread {
            thread: "consumer",
            reason: e.to_string(),
        })?
        .map_err(|_| Error::ThreadPanicked { thread: "consumer" })?;
    let totals = sink_result?;
    consumer_result.map_err(|e| Error::Consume {
        topic: topic.to_owned(),
        source: Box::new(e),
    })?;
    Ok(totals)
}
