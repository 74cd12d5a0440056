//! Bounded reads: snapshot the high watermarks, read every partition from its start up to
//! the snapshot, hand out per-partition batches, stop.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use crate::client::{LogContext, topic_partitions, watermarks};
use crate::config::librdkafka::bounded_consumer_client_config;
use crate::config::{BoundedOptions, KafkaConfig};
use crate::error::{BrokerError, Error, Result};
use crate::message::Batch;
use crate::offsets::{Gap, PartitionRange, StartPosition, plan_partition, requested_offsets};

impl ConsumerContext for LogContext {}

const POLL: Duration = Duration::from_millis(100);

/// What a bounded read did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BoundedReport {
    /// Topic read.
    pub topic: String,
    /// The planned range of every partition of the topic that was read.
    pub ranges: Vec<PartitionRange>,
    /// Retention gaps that were accepted (only with [`BoundedOptions::accept_gaps`]).
    pub gaps: Vec<Gap>,
    /// Messages handed out.
    pub messages: u64,
    /// Key + payload bytes handed out.
    pub bytes: u64,
    /// Messages handed out per partition.
    pub partitions: BTreeMap<i32, u64>,
    /// Time since [`BoundedConsumer::start`].
    pub elapsed: Duration,
}

#[derive(Debug)]
struct PartState {
    /// Next offset expected.
    next: i64,
    /// Snapshot end, exclusive.
    end: i64,
    done: bool,
    batch: Batch,
}

/// Reads a topic from a start position up to the high watermarks seen at start.
///
/// Uses `assign` (no group, nothing committed). Producers writing meanwhile do not extend
/// the read; empty partitions end at once; an empty poll is never taken as the end.
///
/// ```no_run
/// # fn main() -> kafka_io::Result<()> {
/// use kafka_io::{BoundedConsumer, BoundedOptions, KafkaConfig, StartPosition};
/// let config = KafkaConfig::new("127.0.0.1:9092");
/// let mut reader = BoundedConsumer::start(&config, "assessments", StartPosition::Earliest,
///     BoundedOptions::default())?;
/// while let Some(batch) = reader.next_batch()? {
///     println!("partition {} offsets {:?}..={:?}", batch.partition(),
///         batch.first_offset(), batch.last_offset());
/// }
/// println!("{} messages", reader.report().messages);
/// # Ok(()) }
/// ```
pub struct BoundedConsumer {
    consumer: BaseConsumer<LogContext>,
    topic: Arc<str>,
    options: BoundedOptions,
    parts: BTreeMap<i32, PartState>,
    ready: VecDeque<Batch>,
    /// Emptied batches given back with [`BoundedConsumer::recycle`].
    spare: Vec<Batch>,
    report: BoundedReport,
    started: Instant,
    last_progress: Instant,
}

impl std::fmt::Debug for BoundedConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundedConsumer")
            .field("topic", &self.topic)
            .field("ranges", &self.report.ranges)
            .finish_non_exhaustive()
    }
}

impl BoundedConsumer {
    /// Snapshots the watermarks, plans every partition's range and assigns the non-empty
    /// ones.
    ///
    /// # Errors
    /// [`Error::Unreachable`] / [`Error::TopicNotFound`]; [`Error::RetentionGap`] when a
    /// requested start is below a low watermark (unless [`BoundedOptions::accept_gaps`]);
    /// [`Error::OffsetOutOfRange`] when it is above the high watermark;
    /// [`Error::UnknownPartition`] for offsets of partitions the topic does not have.
    pub fn start(
        config: &KafkaConfig,
        topic: &str,
        start: StartPosition,
        options: BoundedOptions,
    ) -> Result<Self> {
        config.validate()?;
        options.validate()?;
        let started = Instant::now();
        let consumer: BaseConsumer<LogContext> = bounded_consumer_client_config(config, &options)
            .create_with_context(LogContext)
            .map_err(|e| Error::config("consumer", BrokerError::from(e).to_string()))?;
        let timeout = config.request_timeout;
        let metas = topic_partitions(consumer.client(), &config.brokers, topic, timeout)?;
        let mut wm = BTreeMap::new();
        for m in &metas {
            wm.insert(
                m.partition,
                watermarks(consumer.client(), topic, m.partition, timeout)?,
            );
        }
        let resolved = match &start {
            StartPosition::Timestamp(ts) => {
                Some(offsets_for_time(&consumer, topic, &wm, *ts, timeout)?)
            }
            _ => None,
        };
        let requested = requested_offsets(topic, &start, &wm, resolved.as_ref())?;
        let topic_arc: Arc<str> = Arc::from(topic);
        let mut report = BoundedReport {
            topic: topic.to_owned(),
            ..BoundedReport::default()
        };
        let mut parts = BTreeMap::new();
        let mut tpl = TopicPartitionList::new();
        for (p, req) in requested {
            let (range, gap) = plan_partition(topic, p, wm[&p], req, options.accept_gaps)?;
            report.gaps.extend(gap);
            report.ranges.push(range);
            if !range.is_empty() {
                tpl.add_partition_offset(topic, p, Offset::Offset(range.start))
                    .map_err(|e| Error::client("assign", e))?;
            }
            parts.insert(
                p,
                PartState {
                    next: range.start,
                    end: range.end,
                    done: range.is_empty(),
                    batch: Batch::new(topic_arc.clone(), p),
                },
            );
        }
        tracing::info!(topic, ranges = ?report.ranges, "bounded read planned");
        if tpl.count() > 0 {
            consumer.assign(&tpl).map_err(|e| Error::Consume {
                topic: topic.to_owned(),
                partition: None,
                cause: e.into(),
            })?;
        }
        Ok(BoundedConsumer {
            consumer,
            topic: topic_arc,
            options,
            parts,
            ready: VecDeque::new(),
            spare: Vec::new(),
            report,
            started,
            last_progress: Instant::now(),
        })
    }

    /// The planned ranges (one per partition read).
    pub fn ranges(&self) -> &[PartitionRange] {
        &self.report.ranges
    }

    /// The next offset to read in each planned partition: after the last batch, this is
    /// where a later read resumes without gap or overlap. It is the range end, or less when
    /// the range ended early: with [`crate::Isolation::ReadCommitted`] a partition whose
    /// tail is an open transaction ends at its last stable offset, and one whose tail is
    /// transaction markers ends after its last message.
    pub fn positions(&self) -> BTreeMap<i32, i64> {
        self.parts.iter().map(|(p, s)| (*p, s.next)).collect()
    }

    /// The counters so far (complete once [`BoundedConsumer::next_batch`] returned `None`).
    pub fn report(&self) -> BoundedReport {
        let mut r = self.report.clone();
        r.elapsed = self.started.elapsed();
        r
    }

    /// Whether every partition reached its end.
    pub fn is_finished(&self) -> bool {
        self.ready.is_empty() && self.parts.values().all(|s| s.done)
    }

    /// The next batch of one partition, `Ok(None)` once every partition reached its end.
    ///
    /// A batch holds at most [`BoundedOptions::max_batch_messages`] messages and about
    /// [`BoundedOptions::max_batch_bytes`] bytes; the last batch of a partition may be
    /// smaller.
    ///
    /// # Errors
    /// [`Error::Stalled`] when nothing arrives for [`BoundedOptions::stall_timeout`];
    /// [`Error::RetentionGap`] when retention deletes records before they are read;
    /// [`Error::Consume`] for other consumer errors.
    pub fn next_batch(&mut self) -> Result<Option<Batch>> {
        loop {
            if let Some(b) = self.ready.pop_front() {
                self.account(&b);
                return Ok(Some(b));
            }
            if self.parts.values().all(|s| s.done) {
                return Ok(None);
            }
            match self.consumer.poll(POLL) {
                None => self.check_stall()?,
                Some(Ok(m)) => {
                    self.last_progress = Instant::now();
                    let (p, offset) = (m.partition(), m.offset());
                    let max_messages = self.options.max_batch_messages;
                    let max_bytes = self.options.max_batch_bytes;
                    let Some(st) = self.parts.get_mut(&p) else {
                        continue;
                    };
                    if st.done || offset < st.next {
                        continue;
                    }
                    if offset >= st.end {
                        finish_partition(st, &mut self.ready);
                    } else {
                        st.batch.push_borrowed(&m);
                        st.next = offset + 1;
                        if st.next >= st.end {
                            finish_partition(st, &mut self.ready);
                        } else if st.batch.len() >= max_messages || st.batch.bytes() >= max_bytes {
                            let fresh = match self.spare.pop() {
                                Some(mut b) => {
                                    b.reuse_for(p);
                                    b
                                }
                                None => Batch::new(self.topic.clone(), p),
                            };
                            let full = std::mem::replace(&mut st.batch, fresh);
                            self.ready.push_back(full);
                        }
                    }
                    if st.done {
                        self.pause(p);
                    }
                }
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    self.last_progress = Instant::now();
                    let position = self.consumer_position(p);
                    if let Some(st) = self.parts.get_mut(&p)
                        && !st.done
                    {
                        // EOF comes after every message below the readable end (the high
                        // watermark, or the last stable offset under read_committed).
                        if let Some(pos) = position {
                            st.next = st.next.max(pos.min(st.end));
                        }
                        finish_partition(st, &mut self.ready);
                        self.pause(p);
                    }
                }
                Some(Err(e)) => return Err(self.consume_error(e)),
            }
        }
    }

    /// Gives a batch back once it has been processed, so the next batches reuse its
    /// allocations instead of allocating (and page-faulting) fresh memory for every batch.
    /// Optional; batches of other topics are dropped.
    pub fn recycle(&mut self, batch: Batch) {
        if batch.topic() == &*self.topic && self.spare.len() < 2 {
            self.spare.push(batch);
        }
    }

    fn consumer_position(&self, partition: i32) -> Option<i64> {
        let tpl = self.consumer.position().ok()?;
        let el = tpl.find_partition(&self.topic, partition)?;
        match el.offset() {
            Offset::Offset(o) => Some(o),
            _ => None,
        }
    }

    fn account(&mut self, b: &Batch) {
        self.report.messages += b.len() as u64;
        self.report.bytes += b.bytes() as u64;
        *self.report.partitions.entry(b.partition()).or_default() += b.len() as u64;
    }

    fn pause(&self, partition: i32) {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(&self.topic, partition);
        if let Err(e) = self.consumer.pause(&tpl) {
            tracing::debug!(partition, error = %e, "pause of a finished partition failed");
        }
    }

    fn check_stall(&self) -> Result<()> {
        let waited = self.last_progress.elapsed();
        if waited < self.options.stall_timeout {
            return Ok(());
        }
        let (p, st) = self
            .parts
            .iter()
            .find(|(_, s)| !s.done)
            .map(|(p, s)| (*p, s))
            .ok_or_else(|| {
                Error::client(
                    "bounded read",
                    BrokerError {
                        code: None,
                        message: "stalled with every partition done".into(),
                    },
                )
            })?;
        Err(Error::Stalled {
            topic: self.topic.to_string(),
            partition: p,
            position: st.next,
            end_offset: st.end,
            waited,
        })
    }

    /// Maps a consumer error; an out-of-range fetch is checked against the watermarks and
    /// reported as the retention gap it is.
    fn consume_error(&self, e: KafkaError) -> Error {
        let code = e.rdkafka_error_code();
        if matches!(
            code,
            Some(RDKafkaErrorCode::OffsetOutOfRange | RDKafkaErrorCode::AutoOffsetReset)
        ) {
            for (p, st) in &self.parts {
                if st.done {
                    continue;
                }
                if let Ok((low, _)) =
                    self.consumer
                        .fetch_watermarks(&self.topic, *p, Duration::from_secs(10))
                    && st.next < low
                {
                    return Error::RetentionGap {
                        topic: self.topic.to_string(),
                        partition: *p,
                        requested: st.next,
                        low_watermark: low,
                    };
                }
            }
        }
        Error::Consume {
            topic: self.topic.to_string(),
            partition: None,
            cause: e.into(),
        }
    }
}

fn finish_partition(st: &mut PartState, ready: &mut VecDeque<Batch>) {
    st.done = true;
    if !st.batch.is_empty() {
        let empty = Batch::new(st.batch.topic_arc(), st.batch.partition());
        let b = std::mem::replace(&mut st.batch, empty);
        ready.push_back(b);
    }
}

fn offsets_for_time(
    consumer: &BaseConsumer<LogContext>,
    topic: &str,
    wm: &BTreeMap<i32, (i64, i64)>,
    ts: i64,
    timeout: Duration,
) -> Result<BTreeMap<i32, i64>> {
    let mut tpl = TopicPartitionList::new();
    for p in wm.keys() {
        tpl.add_partition_offset(topic, *p, Offset::Offset(ts))
            .map_err(|e| Error::client("offsets for times", e))?;
    }
    let res = consumer
        .offsets_for_times(tpl, timeout)
        .map_err(|e| Error::Consume {
            topic: topic.to_owned(),
            partition: None,
            cause: e.into(),
        })?;
    let mut out = BTreeMap::new();
    for el in res.elements() {
        let o = match el.offset() {
            Offset::Offset(o) => o,
            _ => -1,
        };
        out.insert(el.partition(), o);
    }
    Ok(out)
}
