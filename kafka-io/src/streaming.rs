//! Streaming consumption in a consumer group, with rebalances surfaced to the caller.
//!
//! Offsets are never committed or stored automatically (`enable.auto.commit=false`,
//! `enable.auto.offset.store=false`): the caller commits with
//! [`StreamingConsumer::commit`] once its data is durable. On assignment the caller's
//! [`RebalanceHandler::assigned`] says where each partition starts (e.g. the sink's
//! committed `end + 1`), so stale group offsets are never used unless asked for.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use crate::client::{forward_error, forward_log};
use crate::config::librdkafka::streaming_consumer_client_config;
use crate::config::{KafkaConfig, StreamingOptions};
use crate::error::{BrokerError, Error, Result};
use crate::message::{Batch, TopicPartition};

/// Where an assigned partition starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartOffset {
    /// At this offset (the next one to read).
    Offset(i64),
    /// At the partition's low watermark.
    Earliest,
    /// At the partition's end (only new messages).
    Latest,
    /// At the group's committed offset; fails (no silent reset) if there is none.
    Committed,
}

impl StartOffset {
    fn to_rdkafka(self) -> Offset {
        match self {
            StartOffset::Offset(o) => Offset::Offset(o),
            StartOffset::Earliest => Offset::Beginning,
            StartOffset::Latest => Offset::End,
            StartOffset::Committed => Offset::Stored,
        }
    }
}

/// A change of the partitions this member owns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RebalanceEvent {
    /// These partitions were assigned, starting at the given offsets.
    Assigned(Vec<(TopicPartition, StartOffset)>),
    /// These partitions were revoked; their unreturned messages were dropped.
    Revoked(Vec<TopicPartition>),
}

/// The caller's side of a rebalance. Called on the polling thread, inside
/// [`StreamingConsumer::poll_batches`]; keep it short (it delays the group).
pub trait RebalanceHandler: Send + 'static {
    /// `partitions` were assigned to this member. Return where each starts; partitions
    /// left out start at [`StartOffset::Committed`]. An `Err` pauses them and makes the next
    /// [`StreamingConsumer::poll_batches`] fail with [`Error::Rebalance`].
    fn assigned(
        &mut self,
        partitions: &[TopicPartition],
    ) -> std::result::Result<BTreeMap<TopicPartition, StartOffset>, String>;

    /// `partitions` are being taken away: drop unflushed data for them. Batches not yet
    /// returned by [`StreamingConsumer::poll_batches`] are dropped by the consumer.
    fn revoked(&mut self, partitions: &[TopicPartition]);
}

/// A handler that starts every assigned partition at one [`StartOffset`] and ignores
/// revocations.
#[derive(Debug, Clone, Copy)]
pub struct StartAll(pub StartOffset);

impl RebalanceHandler for StartAll {
    fn assigned(
        &mut self,
        partitions: &[TopicPartition],
    ) -> std::result::Result<BTreeMap<TopicPartition, StartOffset>, String> {
        Ok(partitions.iter().map(|tp| (tp.clone(), self.0)).collect())
    }
    fn revoked(&mut self, _partitions: &[TopicPartition]) {}
}

struct GroupContext {
    handler: Mutex<Box<dyn RebalanceHandler>>,
    events: Mutex<Vec<RebalanceEvent>>,
    failure: Mutex<Option<Error>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn partitions_of(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|e| TopicPartition::new(e.topic(), e.partition()))
        .collect()
}

impl ClientContext for GroupContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        forward_log(level, fac, message);
    }
    fn error(&self, error: KafkaError, reason: &str) {
        forward_error(&error, reason);
    }
}

impl ConsumerContext for GroupContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        let parts = partitions_of(tpl);
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let answer = lock(&self.handler).assigned(&parts);
                let mut assigned = Vec::with_capacity(parts.len());
                let failed = match answer {
                    Ok(map) => {
                        for tp in &parts {
                            let start = map.get(tp).copied().unwrap_or(StartOffset::Committed);
                            if let Err(e) = tpl.set_partition_offset(
                                &tp.topic,
                                tp.partition,
                                start.to_rdkafka(),
                            ) {
                                tracing::error!(?tp, error = %e, "cannot set start offset");
                            }
                            assigned.push((tp.clone(), start));
                        }
                        None
                    }
                    Err(reason) => Some(reason),
                };
                tracing::info!(?assigned, "partitions assigned");
                let res = if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                };
                if let Err(e) = res {
                    tracing::error!(error = %e, "assign failed");
                    *lock(&self.failure) = Some(Error::Consume {
                        topic: parts.first().map(|t| t.topic.clone()).unwrap_or_default(),
                        partition: None,
                        cause: e.into(),
                    });
                }
                if let Some(reason) = failed {
                    if let Err(e) = consumer.pause(tpl) {
                        tracing::error!(error = %e, "pause after a failed handler failed");
                    }
                    *lock(&self.failure) = Some(Error::Rebalance {
                        topic: parts.first().map(|t| t.topic.clone()).unwrap_or_default(),
                        partitions: parts.iter().map(|t| t.partition).collect(),
                        reason,
                    });
                } else {
                    lock(&self.events).push(RebalanceEvent::Assigned(assigned));
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                tracing::info!(partitions = ?parts, "partitions revoked");
                lock(&self.handler).revoked(&parts);
                lock(&self.events).push(RebalanceEvent::Revoked(parts));
                let res = if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                };
                if let Err(e) = res {
                    tracing::error!(error = %e, "unassign failed");
                }
            }
            other => {
                tracing::error!(error = ?other, "rebalance error");
                if !cooperative && let Err(e) = consumer.unassign() {
                    tracing::error!(error = %e, "unassign after a rebalance error failed");
                }
            }
        }
    }
}

/// A consumer-group member that hands out per-partition batches.
///
/// ```no_run
/// # fn main() -> kafka_io::Result<()> {
/// use kafka_io::{KafkaConfig, StartAll, StartOffset, StreamingConsumer, StreamingOptions};
/// let config = KafkaConfig::new("127.0.0.1:9092");
/// let mut consumer = StreamingConsumer::new(&config, &["assessments"],
///     StreamingOptions::new("landing"), StartAll(StartOffset::Earliest))?;
/// loop {
///     for batch in consumer.poll_batches()? {
///         // ... write the batch durably, then:
///         let next = batch.last_offset().unwrap() + 1;
///         consumer.commit(&[(kafka_io::TopicPartition::new(batch.topic(), batch.partition()), next)])?;
///     }
/// }
/// # }
/// ```
pub struct StreamingConsumer {
    consumer: BaseConsumer<GroupContext>,
    options: StreamingOptions,
    buffers: BTreeMap<(Arc<str>, i32), Batch>,
    topics: HashMap<String, Arc<str>>,
    pending_events: Vec<RebalanceEvent>,
}

impl std::fmt::Debug for StreamingConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingConsumer")
            .field("group_id", &self.options.group_id)
            .field("topics", &self.topics.keys())
            .finish_non_exhaustive()
    }
}

impl StreamingConsumer {
    /// Joins `options.group_id` and subscribes to `topics`. Partitions arrive through
    /// `handler` while [`StreamingConsumer::poll_batches`] runs.
    pub fn new(
        config: &KafkaConfig,
        topics: &[&str],
        options: StreamingOptions,
        handler: impl RebalanceHandler,
    ) -> Result<Self> {
        config.validate()?;
        options.validate()?;
        if topics.is_empty() {
            return Err(Error::config("topics", "subscribe to at least one topic"));
        }
        let context = GroupContext {
            handler: Mutex::new(Box::new(handler)),
            events: Mutex::new(Vec::new()),
            failure: Mutex::new(None),
        };
        let consumer: BaseConsumer<GroupContext> =
            streaming_consumer_client_config(config, &options)
                .create_with_context(context)
                .map_err(|e| Error::config("consumer", BrokerError::from(e).to_string()))?;
        consumer.subscribe(topics).map_err(|e| Error::Consume {
            topic: topics.join(","),
            partition: None,
            cause: e.into(),
        })?;
        Ok(StreamingConsumer {
            consumer,
            options,
            buffers: BTreeMap::new(),
            topics: topics
                .iter()
                .map(|t| ((*t).to_owned(), Arc::from(*t)))
                .collect(),
            pending_events: Vec::new(),
        })
    }

    /// Polls for up to [`StreamingOptions::max_batch_wait`] (less if a batch fills up) and
    /// returns what arrived, one batch per partition (possibly none).
    ///
    /// # Errors
    /// [`Error::Rebalance`] if the handler failed; [`Error::Consume`] for consumer errors
    /// (e.g. a start offset that no longer exists: there is no silent reset).
    pub fn poll_batches(&mut self) -> Result<Vec<Batch>> {
        let deadline = Instant::now() + self.options.max_batch_wait;
        let mut full = false;
        while !full {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let wait = (deadline - now).min(Duration::from_millis(100));
            match self.consumer.poll(wait) {
                None => {}
                Some(Ok(m)) => {
                    let topic = match self.topics.get(m.topic()) {
                        Some(t) => t.clone(),
                        None => {
                            let t: Arc<str> = Arc::from(m.topic());
                            self.topics.insert(m.topic().to_owned(), t.clone());
                            t
                        }
                    };
                    let p = m.partition();
                    let b = self
                        .buffers
                        .entry((topic.clone(), p))
                        .or_insert_with(|| Batch::new(topic, p));
                    if b.last_offset().is_some_and(|l| l >= m.offset()) {
                        continue;
                    }
                    b.push_borrowed(&m);
                    full = b.len() >= self.options.max_batch_messages
                        || b.bytes() >= self.options.max_batch_bytes;
                }
                Some(Err(e)) => {
                    return Err(Error::Consume {
                        topic: self.topic_list(),
                        partition: None,
                        cause: e.into(),
                    });
                }
            }
            self.apply_rebalance_events()?;
        }
        self.apply_rebalance_events()?;
        Ok(std::mem::take(&mut self.buffers)
            .into_values()
            .filter(|b| !b.is_empty())
            .collect())
    }

    fn topic_list(&self) -> String {
        let mut t: Vec<&str> = self.topics.keys().map(String::as_str).collect();
        t.sort_unstable();
        t.join(",")
    }

    fn apply_rebalance_events(&mut self) -> Result<()> {
        let ctx = self.consumer.context();
        if let Some(e) = lock(&ctx.failure).take() {
            return Err(e);
        }
        let events = std::mem::take(&mut *lock(&ctx.events));
        for ev in events {
            let parts: Vec<&TopicPartition> = match &ev {
                RebalanceEvent::Revoked(ps) => ps.iter().collect(),
                RebalanceEvent::Assigned(ps) => ps.iter().map(|(tp, _)| tp).collect(),
            };
            // Revoked: drop unreturned messages. Assigned: anything buffered predates the
            // caller's start offsets.
            for tp in parts {
                self.buffers
                    .retain(|(t, p), _| !(&**t == tp.topic.as_str() && *p == tp.partition));
            }
            self.pending_events.push(ev);
        }
        Ok(())
    }

    /// Rebalance events since the last call (the handler already saw them).
    pub fn take_events(&mut self) -> Vec<RebalanceEvent> {
        std::mem::take(&mut self.pending_events)
    }

    /// The partitions currently assigned to this member.
    pub fn assignment(&self) -> Result<Vec<TopicPartition>> {
        let tpl = self
            .consumer
            .assignment()
            .map_err(|e| Error::client("assignment", e))?;
        let mut v = partitions_of(&tpl);
        v.sort();
        Ok(v)
    }

    fn tpl(parts: &[TopicPartition]) -> TopicPartitionList {
        let mut tpl = TopicPartitionList::new();
        for tp in parts {
            tpl.add_partition(&tp.topic, tp.partition);
        }
        tpl
    }

    /// Stops fetching `partitions` (backpressure); keep polling to stay in the group.
    pub fn pause(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.consumer
            .pause(&Self::tpl(partitions))
            .map_err(|e| Error::client("pause", e))
    }

    /// Resumes fetching `partitions`.
    pub fn resume(&self, partitions: &[TopicPartition]) -> Result<()> {
        self.consumer
            .resume(&Self::tpl(partitions))
            .map_err(|e| Error::client("resume", e))
    }

    /// Moves `partition` (assigned to this member) to `offset`, the next one to read: messages
    /// already fetched past it are discarded. Used to re-read a range that failed to land.
    pub fn seek(&self, partition: &TopicPartition, offset: i64, timeout: Duration) -> Result<()> {
        self.consumer
            .seek(
                &partition.topic,
                partition.partition,
                Offset::Offset(offset),
                timeout,
            )
            .map_err(|e| Error::Consume {
                topic: partition.topic.clone(),
                partition: Some(partition.partition),
                cause: e.into(),
            })
    }

    /// The low and high watermarks of `partition`, asked of its leader (a network round trip,
    /// at most `timeout`): the lag of a position `p` is `high - p`.
    pub fn watermarks(&self, partition: &TopicPartition, timeout: Duration) -> Result<(i64, i64)> {
        self.consumer
            .fetch_watermarks(&partition.topic, partition.partition, timeout)
            .map_err(|e| Error::Consume {
                topic: partition.topic.clone(),
                partition: Some(partition.partition),
                cause: e.into(),
            })
    }

    /// Commits `next_offsets` (the next offset to read per partition, i.e. last landed + 1)
    /// to the group, synchronously. Call only once the data below is durable.
    pub fn commit(&self, next_offsets: &[(TopicPartition, i64)]) -> Result<()> {
        let mut tpl = TopicPartitionList::new();
        for (tp, o) in next_offsets {
            tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*o))
                .map_err(|e| Error::client("commit", e))?;
        }
        self.consumer
            .commit(&tpl, CommitMode::Sync)
            .map_err(|e| Error::Commit {
                group: self.options.group_id.clone(),
                cause: e.into(),
            })
    }

    /// The group's committed next offsets for `partitions` (`None`: nothing committed).
    pub fn committed(
        &self,
        partitions: &[TopicPartition],
        timeout: Duration,
    ) -> Result<BTreeMap<TopicPartition, Option<i64>>> {
        let tpl = self
            .consumer
            .committed_offsets(Self::tpl(partitions), timeout)
            .map_err(|e| Error::client("committed offsets", e))?;
        Ok(tpl
            .elements()
            .iter()
            .map(|e| {
                let o = match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                };
                (TopicPartition::new(e.topic(), e.partition()), o)
            })
            .collect())
    }

    /// Leaves the group cleanly: unsubscribes and polls until the partitions are revoked
    /// (at most `timeout`), so the handler sees the revocation and others take over at once.
    pub fn close(mut self, timeout: Duration) -> Result<()> {
        self.consumer.unsubscribe();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let _ = self.consumer.poll(Duration::from_millis(50));
            self.apply_rebalance_events()?;
            if self.assignment()?.is_empty() {
                break;
            }
        }
        Ok(())
    }
}
