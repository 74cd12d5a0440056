//! Settings of the bounded and the streaming consumer.

use std::time::Duration;

use super::positive;
use crate::error::{Error, Result};

/// Which records a consumer may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Isolation {
    /// Only committed transactional records (librdkafka's default); for non-transactional
    /// producers (ours) identical to `ReadUncommitted`. Default.
    #[default]
    ReadCommitted,
    /// Every record, including those of open or aborted transactions.
    ReadUncommitted,
}

/// Partition assignment protocol of a consumer group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AssignmentStrategy {
    /// Eager `range,roundrobin` (librdkafka's default): every rebalance revokes everything,
    /// then assigns. Default.
    #[default]
    Eager,
    /// Incremental `cooperative-sticky`: only moved partitions are revoked / assigned.
    CooperativeSticky,
}

/// Settings of [`crate::BoundedConsumer`].
///
/// Both consumers accept any message the broker delivers: a message larger than a fetch
/// limit still arrives (alone), and the response size limit is librdkafka's maximum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedOptions {
    /// Maximum messages in one [`crate::Batch`]. Default 10,000.
    pub max_batch_messages: usize,
    /// Maximum key + payload bytes in one batch (a single larger message still makes a
    /// batch of one). Default 16 MiB.
    pub max_batch_bytes: usize,
    /// When a start offset is below the low watermark: `false` (default) fails with
    /// [`Error::RetentionGap`]; `true` starts at the low watermark and records the gap
    /// in the report.
    pub accept_gaps: bool,
    /// Fail with [`Error::Stalled`] when no message or end-of-partition arrives for this
    /// long while partitions are unfinished. Default 60 s.
    pub stall_timeout: Duration,
    /// Bytes fetched per partition per request (a larger message still arrives). Default
    /// 4 MiB.
    pub fetch_partition_bytes: usize,
    /// Transaction isolation. Default [`Isolation::ReadCommitted`].
    pub isolation: Isolation,
    /// How long the client waits before fetching again after its prefetch queue was full.
    /// Default 10 ms. librdkafka's own default, 1 s, adds a second to a read whenever the
    /// caller is briefly slower than the fetcher.
    pub fetch_queue_backoff: Duration,
}

impl Default for BoundedOptions {
    fn default() -> Self {
        BoundedOptions {
            max_batch_messages: 10_000,
            max_batch_bytes: 16 << 20,
            accept_gaps: false,
            stall_timeout: Duration::from_secs(60),
            fetch_partition_bytes: 4 << 20,
            isolation: Isolation::ReadCommitted,
            fetch_queue_backoff: Duration::from_millis(10),
        }
    }
}

impl BoundedOptions {
    /// Checks the settings; called by [`crate::BoundedConsumer::start`].
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting and why.
    pub fn validate(&self) -> Result<()> {
        validate_batch(self.max_batch_messages, self.max_batch_bytes)?;
        positive("stall_timeout", self.stall_timeout)?;
        validate_fetch(self.fetch_partition_bytes, self.fetch_queue_backoff)
    }
}

/// Settings of [`crate::StreamingConsumer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamingOptions {
    /// Consumer group id. Required, no default.
    pub group_id: String,
    /// Static membership (`group.instance.id`, KIP-345): a member that restarts with the same
    /// id within the session timeout gets its partitions back without a rebalance. Such a
    /// member does not leave the group on close; its partitions move after the session
    /// timeout. Default `None` (dynamic membership).
    pub instance_id: Option<String>,
    /// Group session timeout: a member silent this long is evicted. Default 45 s.
    pub session_timeout: Duration,
    /// Maximum time between polls before the member leaves the group. Default 300 s.
    pub max_poll_interval: Duration,
    /// Maximum messages in one [`crate::Batch`]. Default 10,000.
    pub max_batch_messages: usize,
    /// Maximum key + payload bytes in one batch (a single larger message still makes a
    /// batch of one). Default 16 MiB.
    pub max_batch_bytes: usize,
    /// [`crate::StreamingConsumer::poll_batches`] returns what it has after this long.
    /// Default 500 ms.
    pub max_batch_wait: Duration,
    /// Bytes fetched per partition per request (a larger message still arrives). Default
    /// 4 MiB.
    pub fetch_partition_bytes: usize,
    /// Upper bound of messages prefetched and queued in the client, per partition, in bytes
    /// (memory held before [`crate::StreamingConsumer::poll_batches`] hands them out; one
    /// fetch may overshoot it). Default 16 MiB (librdkafka's own default is 64 MiB).
    pub max_prefetch_bytes: usize,
    /// How long the client waits before fetching again for a partition whose prefetch queue
    /// was full. Default 10 ms. librdkafka's own default, 1 s, stalls a consumer whose
    /// prefetch bound is small next to its throughput: the queue drains in milliseconds and
    /// then sits empty for the rest of the second.
    pub fetch_queue_backoff: Duration,
    /// Assignment protocol. Default [`AssignmentStrategy::Eager`].
    pub assignment_strategy: AssignmentStrategy,
    /// Transaction isolation. Default [`Isolation::ReadCommitted`].
    pub isolation: Isolation,
}

impl StreamingOptions {
    /// Options for group `group_id`, everything else at its default.
    pub fn new(group_id: impl Into<String>) -> Self {
        StreamingOptions {
            group_id: group_id.into(),
            instance_id: None,
            session_timeout: Duration::from_secs(45),
            max_poll_interval: Duration::from_secs(300),
            max_batch_messages: 10_000,
            max_batch_bytes: 16 << 20,
            max_batch_wait: Duration::from_millis(500),
            fetch_partition_bytes: 4 << 20,
            max_prefetch_bytes: 16 << 20,
            fetch_queue_backoff: Duration::from_millis(10),
            assignment_strategy: AssignmentStrategy::Eager,
            isolation: Isolation::ReadCommitted,
        }
    }

    /// Checks the settings; called by [`crate::StreamingConsumer::new`].
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting and why.
    pub fn validate(&self) -> Result<()> {
        if self.group_id.is_empty() {
            return Err(Error::config("group_id", "must not be empty"));
        }
        validate_batch(self.max_batch_messages, self.max_batch_bytes)?;
        positive("session_timeout", self.session_timeout)?;
        positive("max_batch_wait", self.max_batch_wait)?;
        if self.max_poll_interval < self.session_timeout {
            return Err(Error::config(
                "max_poll_interval",
                "must be at least session_timeout",
            ));
        }
        if self.max_prefetch_bytes < 1024 || self.max_prefetch_bytes / 1024 > 2_097_151 {
            return Err(Error::config(
                "max_prefetch_bytes",
                "must be in 1 KiB..=2 GiB",
            ));
        }
        validate_fetch(self.fetch_partition_bytes, self.fetch_queue_backoff)
    }
}

fn validate_batch(messages: usize, bytes: usize) -> Result<()> {
    if messages == 0 {
        return Err(Error::config("max_batch_messages", "must be positive"));
    }
    if bytes == 0 {
        return Err(Error::config("max_batch_bytes", "must be positive"));
    }
    Ok(())
}

fn validate_fetch(partition_bytes: usize, queue_backoff: Duration) -> Result<()> {
    if !(1024..=i32::MAX as usize).contains(&partition_bytes) {
        return Err(Error::config(
            "fetch_partition_bytes",
            "must be in 1024..=2^31-1",
        ));
    }
    if queue_backoff > Duration::from_secs(300) {
        return Err(Error::config(
            "fetch_queue_backoff",
            "must be at most 300 s",
        ));
    }
    Ok(())
}
