//! Configuration: plain structs with documented defaults, validating builders, and the
//! translation into librdkafka properties.
//!
//! This module is the **only** place where librdkafka's string keys appear. Everything
//! the typed fields do not cover (security.protocol, sasl.*, ssl.*, tuning knobs) goes
//! through [`KafkaConfig::extra`], which may not override a key a typed field owns.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;

use crate::error::{Error, Result};

/// Default key field of the published events.
pub const DEFAULT_KEY_FIELD: &str = "user_exam_id";

/// librdkafka properties set from typed fields; `extra` may not set them.
const OWNED_KEYS: &[&str] = &[
    "bootstrap.servers",
    "client.id",
    "group.id",
    "enable.idempotence",
    "acks",
    "compression.type",
    "linger.ms",
    "batch.size",
    "queue.buffering.max.messages",
    "queue.buffering.max.kbytes",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "partitioner",
    "message.max.bytes",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "enable.partition.eof",
    "auto.offset.reset",
    "isolation.level",
    "session.timeout.ms",
    "max.poll.interval.ms",
    "max.partition.fetch.bytes",
    "queued.max.messages.kbytes",
    "fetch.queue.backoff.ms",
    "partition.assignment.strategy",
    "socket.connection.setup.timeout.ms",
    "reconnect.backoff.ms",
    "allow.auto.create.topics",
];

/// Connection settings shared by every client (admin, producer, consumers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    /// Bootstrap servers, `host:port[,host:port...]`. Required, no default.
    pub brokers: String,
    /// Client id reported to the brokers. Default `"kafka-io"`.
    pub client_id: String,
    /// Upper bound for metadata, watermark, admin and offset lookups, and for establishing
    /// a connection: an unreachable cluster fails within about this long. Default 30 s.
    pub request_timeout: Duration,
    /// First wait before reconnecting to a broker (librdkafka doubles it per failed attempt,
    /// up to 10 s). Default 10 ms. librdkafka's own default, 100 ms, also spaces out a new
    /// client's *first* connections by half of it: since librdkafka 2.10 the bootstrap
    /// connection is dropped once the cluster's brokers are known, and the connection to
    /// the real broker waited 50 ms, which was most of a small publish (70 ms → 20 ms).
    pub reconnect_backoff: Duration,
    /// Passthrough librdkafka properties (security.protocol, sasl.*, ssl.*, tuning).
    /// Keys owned by typed settings are rejected by [`KafkaConfig::validate`]. Default empty.
    pub extra: BTreeMap<String, String>,
}

impl KafkaConfig {
    /// A config for `brokers` with every other setting at its default.
    pub fn new(brokers: impl Into<String>) -> Self {
        KafkaConfig {
            brokers: brokers.into(),
            client_id: "kafka-io".to_owned(),
            request_timeout: Duration::from_secs(30),
            reconnect_backoff: Duration::from_millis(10),
            extra: BTreeMap::new(),
        }
    }

    /// Starts a validating builder.
    pub fn builder(brokers: impl Into<String>) -> KafkaConfigBuilder {
        KafkaConfigBuilder {
            config: KafkaConfig::new(brokers),
        }
    }

    /// Checks the settings; called by every client constructor.
    pub fn validate(&self) -> Result<()> {
        if self.brokers.trim().is_empty() {
            return Err(Error::config("brokers", "must not be empty"));
        }
        if self.client_id.is_empty() {
            return Err(Error::config("client_id", "must not be empty"));
        }
        positive("request_timeout", self.request_timeout)?;
        positive("reconnect_backoff", self.reconnect_backoff)?;
        if self.reconnect_backoff > Duration::from_secs(10) {
            return Err(Error::config(
                "reconnect_backoff",
                "must be at most 10 s (librdkafka's reconnect.backoff.max.ms)",
            ));
        }
        for key in self.extra.keys() {
            if OWNED_KEYS.contains(&key.as_str()) {
                return Err(Error::config(
                    key.clone(),
                    "is set by a typed setting of kafka-io and cannot be passed through",
                ));
            }
        }
        Ok(())
    }

    /// The librdkafka configuration common to all clients.
    fn base(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            .set(
                "socket.connection.setup.timeout.ms",
                millis(self.request_timeout),
            )
            .set("reconnect.backoff.ms", millis(self.reconnect_backoff));
        for (k, v) in &self.extra {
            c.set(k, v);
        }
        c
    }
}

/// Builder for [`KafkaConfig`].
#[derive(Debug, Clone)]
pub struct KafkaConfigBuilder {
    config: KafkaConfig,
}

impl KafkaConfigBuilder {
    /// Sets [`KafkaConfig::client_id`].
    pub fn with_client_id(mut self, id: impl Into<String>) -> Self {
        self.config.client_id = id.into();
        self
    }
    /// Sets [`KafkaConfig::request_timeout`].
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }
    /// Sets [`KafkaConfig::reconnect_backoff`].
    pub fn with_reconnect_backoff(mut self, backoff: Duration) -> Self {
        self.config.reconnect_backoff = backoff;
        self
    }
    /// Adds a passthrough librdkafka property (see [`KafkaConfig::extra`]).
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.extra.insert(key.into(), value.into());
        self
    }
    /// Validates and returns the config.
    pub fn build(self) -> Result<KafkaConfig> {
        self.config.validate()?;
        Ok(self.config)
    }
}

/// Compression codec of produced batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Compression {
    /// No compression.
    None,
    /// gzip.
    Gzip,
    /// Snappy.
    Snappy,
    /// LZ4 (default: fast, always built into librdkafka).
    #[default]
    Lz4,
    /// Zstandard; needs the `zstd` cargo feature of `kafka-io` (librdkafka built with zstd).
    Zstd,
}

impl Compression {
    fn as_librdkafka(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// How keyed messages are mapped to partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Partitioner {
    /// murmur2 hash of the key, like the Java client (default: a Java/Spark producer
    /// sends the same key to the same partition); null keys go to a random partition.
    #[default]
    Murmur2Random,
    /// CRC32 hash of the key (librdkafka's own default, also kcat's); null keys random.
    ConsistentRandom,
}

/// Settings of [`crate::Publisher`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishOptions {
    /// Top-level field whose value becomes the message key. Default `Some("user_exam_id")`;
    /// `None` sends every message without a key. A string value is used unquoted, any other
    /// value as its JSON text; a missing or `null` field gives a null key (counted).
    pub key_field: Option<String>,
    /// Skip malformed elements (counted and listed in the report) instead of failing.
    /// Default `false`. A broken array structure (e.g. unbalanced brackets) always fails.
    pub skip_malformed: bool,
    /// Scan and validate the whole file before sending anything, so a malformed element
    /// fails the call with nothing published. Default `true`. Costs one extra read of the file.
    pub validate_first: bool,
    /// Batch compression. Default [`Compression::Lz4`].
    pub compression: Compression,
    /// Partitioning of keyed messages. Default [`Partitioner::Murmur2Random`].
    pub partitioner: Partitioner,
    /// How long the producer waits to fill a batch. Default 5 ms.
    pub linger: Duration,
    /// Maximum size of one produced batch, in bytes. Default 1 MiB.
    pub batch_bytes: usize,
    /// Maximum messages queued in the client awaiting delivery. Default 100,000.
    pub queue_max_messages: usize,
    /// Maximum bytes queued in the client awaiting delivery. Default 32 MiB: a larger queue
    /// only costs memory (every byte on a fresh page) once the broker keeps up.
    pub queue_max_bytes: usize,
    /// Maximum size of one message (librdkafka `message.max.bytes`), in bytes. Default 1,000,000
    /// (the broker's default `max.message.bytes` is 1 MiB).
    pub max_message_bytes: usize,
    /// How long a message may stay unacknowledged (retries included) before it fails.
    /// Default 60 s.
    pub message_timeout: Duration,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            key_field: Some(DEFAULT_KEY_FIELD.to_owned()),
            skip_malformed: false,
            validate_first: true,
            compression: Compression::Lz4,
            partitioner: Partitioner::Murmur2Random,
            linger: Duration::from_millis(5),
            batch_bytes: 1 << 20,
            queue_max_messages: 100_000,
            queue_max_bytes: 32 << 20,
            max_message_bytes: 1_000_000,
            message_timeout: Duration::from_secs(60),
        }
    }
}

impl PublishOptions {
    /// Starts a validating builder from the defaults.
    pub fn builder() -> PublishOptionsBuilder {
        PublishOptionsBuilder {
            options: PublishOptions::default(),
        }
    }

    /// Checks the settings; called by [`crate::Publisher::new`].
    pub fn validate(&self) -> Result<()> {
        if self.key_field.as_ref().is_some_and(String::is_empty) {
            return Err(Error::config("key_field", "must not be empty (use None)"));
        }
        if self.batch_bytes == 0 || self.batch_bytes > i32::MAX as usize {
            return Err(Error::config("batch_bytes", "must be in 1..=2^31-1"));
        }
        if self.queue_max_messages == 0 {
            return Err(Error::config("queue_max_messages", "must be positive"));
        }
        if self.queue_max_bytes < 1024 {
            return Err(Error::config("queue_max_bytes", "must be at least 1 KiB"));
        }
        if !(1000..=1_000_000_000).contains(&self.max_message_bytes) {
            return Err(Error::config(
                "max_message_bytes",
                "must be in 1000..=1000000000",
            ));
        }
        positive("message_timeout", self.message_timeout)?;
        Ok(())
    }
}

/// Builder for [`PublishOptions`].
#[derive(Debug, Clone)]
pub struct PublishOptionsBuilder {
    options: PublishOptions,
}

impl PublishOptionsBuilder {
    /// Sets [`PublishOptions::key_field`].
    pub fn with_key_field(mut self, field: Option<&str>) -> Self {
        self.options.key_field = field.map(str::to_owned);
        self
    }
    /// Sets [`PublishOptions::skip_malformed`].
    pub fn with_skip_malformed(mut self, skip: bool) -> Self {
        self.options.skip_malformed = skip;
        self
    }
    /// Sets [`PublishOptions::validate_first`].
    pub fn with_validate_first(mut self, validate: bool) -> Self {
        self.options.validate_first = validate;
        self
    }
    /// Sets [`PublishOptions::compression`].
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.options.compression = compression;
        self
    }
    /// Sets [`PublishOptions::partitioner`].
    pub fn with_partitioner(mut self, partitioner: Partitioner) -> Self {
        self.options.partitioner = partitioner;
        self
    }
    /// Sets [`PublishOptions::linger`].
    pub fn with_linger(mut self, linger: Duration) -> Self {
        self.options.linger = linger;
        self
    }
    /// Sets [`PublishOptions::batch_bytes`].
    pub fn with_batch_bytes(mut self, bytes: usize) -> Self {
        self.options.batch_bytes = bytes;
        self
    }
    /// Sets [`PublishOptions::message_timeout`].
    pub fn with_message_timeout(mut self, timeout: Duration) -> Self {
        self.options.message_timeout = timeout;
        self
    }
    /// Sets [`PublishOptions::max_message_bytes`].
    pub fn with_max_message_bytes(mut self, bytes: usize) -> Self {
        self.options.max_message_bytes = bytes;
        self
    }
    /// Sets [`PublishOptions::queue_max_messages`].
    pub fn with_queue_max_messages(mut self, messages: usize) -> Self {
        self.options.queue_max_messages = messages;
        self
    }
    /// Sets [`PublishOptions::queue_max_bytes`].
    pub fn with_queue_max_bytes(mut self, bytes: usize) -> Self {
        self.options.queue_max_bytes = bytes;
        self
    }
    /// Validates and returns the options.
    pub fn build(self) -> Result<PublishOptions> {
        self.options.validate()?;
        Ok(self.options)
    }
}

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

/// Settings of [`crate::BoundedConsumer`].
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
    /// Bytes fetched per partition per request (`max.partition.fetch.bytes`). Default 4 MiB.
    pub fetch_partition_bytes: usize,
    /// Transaction isolation. Default [`Isolation::ReadCommitted`].
    pub isolation: Isolation,
    /// How long the client waits before fetching again after its prefetch queue
    /// was full (`fetch.queue.backoff.ms`). Default 10 ms. librdkafka's own default, 1 s,
    /// adds a second to a read whenever the caller is briefly slower than the fetcher.
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
    /// Starts a validating builder from the defaults.
    pub fn builder() -> BoundedOptionsBuilder {
        BoundedOptionsBuilder {
            options: BoundedOptions::default(),
        }
    }

    /// Checks the settings; called by [`crate::BoundedConsumer::start`].
    pub fn validate(&self) -> Result<()> {
        validate_batch(self.max_batch_messages, self.max_batch_bytes)?;
        positive("stall_timeout", self.stall_timeout)?;
        if self.fetch_partition_bytes < 1024 || self.fetch_partition_bytes > i32::MAX as usize {
            return Err(Error::config(
                "fetch_partition_bytes",
                "must be in 1024..=2^31-1",
            ));
        }
        if self.fetch_queue_backoff > Duration::from_secs(300) {
            return Err(Error::config(
                "fetch_queue_backoff",
                "must be at most 300 s",
            ));
        }
        Ok(())
    }
}

/// Builder for [`BoundedOptions`].
#[derive(Debug, Clone)]
pub struct BoundedOptionsBuilder {
    options: BoundedOptions,
}

impl BoundedOptionsBuilder {
    /// Sets [`BoundedOptions::max_batch_messages`].
    pub fn with_max_batch_messages(mut self, n: usize) -> Self {
        self.options.max_batch_messages = n;
        self
    }
    /// Sets [`BoundedOptions::max_batch_bytes`].
    pub fn with_max_batch_bytes(mut self, bytes: usize) -> Self {
        self.options.max_batch_bytes = bytes;
        self
    }
    /// Sets [`BoundedOptions::accept_gaps`].
    pub fn with_accept_gaps(mut self, accept: bool) -> Self {
        self.options.accept_gaps = accept;
        self
    }
    /// Sets [`BoundedOptions::stall_timeout`].
    pub fn with_stall_timeout(mut self, timeout: Duration) -> Self {
        self.options.stall_timeout = timeout;
        self
    }
    /// Sets [`BoundedOptions::isolation`].
    pub fn with_isolation(mut self, isolation: Isolation) -> Self {
        self.options.isolation = isolation;
        self
    }
    /// Sets [`BoundedOptions::fetch_queue_backoff`].
    pub fn with_fetch_queue_backoff(mut self, backoff: Duration) -> Self {
        self.options.fetch_queue_backoff = backoff;
        self
    }
    /// Validates and returns the options.
    pub fn build(self) -> Result<BoundedOptions> {
        self.options.validate()?;
        Ok(self.options)
    }
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
    /// Maximum key + payload bytes in one batch. Default 16 MiB.
    pub max_batch_bytes: usize,
    /// [`crate::StreamingConsumer::poll_batches`] returns what it has after this long. Default 500 ms.
    pub max_batch_wait: Duration,
    /// Bytes fetched per partition per request. Default 4 MiB.
    pub fetch_partition_bytes: usize,
    /// Upper bound of messages prefetched and queued in the client, per partition, in bytes
    /// (memory held before [`crate::StreamingConsumer::poll_batches`] hands them out).
    /// Default 16 MiB (librdkafka's own default is 64 MiB).
    pub max_prefetch_bytes: usize,
    /// How long the client waits before fetching again for a partition whose prefetch queue
    /// was full (`fetch.queue.backoff.ms`). Default 10 ms. librdkafka's own default, 1 s,
    /// stalls a consumer whose prefetch bound is small next to its throughput: the queue
    /// drains in milliseconds and then sits empty for the rest of the second (measured:
    /// `land --follow` on the test cluster ran at ~20% CPU, 5–7k events/s).
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

    /// Starts a validating builder.
    pub fn builder(group_id: impl Into<String>) -> StreamingOptionsBuilder {
        StreamingOptionsBuilder {
            options: StreamingOptions::new(group_id),
        }
    }

    /// Checks the settings; called by [`crate::StreamingConsumer::new`].
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
        if self.fetch_partition_bytes < 1024 || self.fetch_partition_bytes > i32::MAX as usize {
            return Err(Error::config(
                "fetch_partition_bytes",
                "must be in 1024..=2^31-1",
            ));
        }
        if self.max_prefetch_bytes < 1024 || self.max_prefetch_bytes / 1024 > 2_097_151 {
            return Err(Error::config(
                "max_prefetch_bytes",
                "must be in 1 KiB..=2 GiB",
            ));
        }
        if self.fetch_queue_backoff > Duration::from_secs(300) {
            return Err(Error::config(
                "fetch_queue_backoff",
                "must be at most 300 s",
            ));
        }
        Ok(())
    }
}

/// Builder for [`StreamingOptions`].
#[derive(Debug, Clone)]
pub struct StreamingOptionsBuilder {
    options: StreamingOptions,
}

impl StreamingOptionsBuilder {
    /// Sets [`StreamingOptions::session_timeout`].
    pub fn with_session_timeout(mut self, timeout: Duration) -> Self {
        self.options.session_timeout = timeout;
        self
    }
    /// Sets [`StreamingOptions::max_batch_messages`].
    pub fn with_max_batch_messages(mut self, n: usize) -> Self {
        self.options.max_batch_messages = n;
        self
    }
    /// Sets [`StreamingOptions::max_batch_wait`].
    pub fn with_max_batch_wait(mut self, wait: Duration) -> Self {
        self.options.max_batch_wait = wait;
        self
    }
    /// Sets [`StreamingOptions::max_batch_bytes`].
    pub fn with_max_batch_bytes(mut self, bytes: usize) -> Self {
        self.options.max_batch_bytes = bytes;
        self
    }
    /// Sets [`StreamingOptions::instance_id`].
    pub fn with_instance_id(mut self, id: impl Into<String>) -> Self {
        self.options.instance_id = Some(id.into());
        self
    }
    /// Sets [`StreamingOptions::max_prefetch_bytes`].
    pub fn with_max_prefetch_bytes(mut self, bytes: usize) -> Self {
        self.options.max_prefetch_bytes = bytes;
        self
    }
    /// Sets [`StreamingOptions::fetch_queue_backoff`].
    pub fn with_fetch_queue_backoff(mut self, backoff: Duration) -> Self {
        self.options.fetch_queue_backoff = backoff;
        self
    }
    /// Sets [`StreamingOptions::max_poll_interval`].
    pub fn with_max_poll_interval(mut self, interval: Duration) -> Self {
        self.options.max_poll_interval = interval;
        self
    }
    /// Sets [`StreamingOptions::assignment_strategy`].
    pub fn with_assignment_strategy(mut self, strategy: AssignmentStrategy) -> Self {
        self.options.assignment_strategy = strategy;
        self
    }
    /// Validates and returns the options.
    pub fn build(self) -> Result<StreamingOptions> {
        self.options.validate()?;
        Ok(self.options)
    }
}

/// Topic-level settings for [`crate::Admin::create_topic`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Number of partitions. Default 1.
    pub partitions: i32,
    /// Replication factor. Default 1 (single-broker clusters).
    pub replication_factor: i32,
    /// Topic configs (`max.message.bytes`, `retention.ms`, `cleanup.policy`, ...), passed to
    /// the broker as given. Default empty.
    pub configs: BTreeMap<String, String>,
}

impl TopicSpec {
    /// A topic with `partitions` partitions, replication factor 1, no configs.
    pub fn new(name: impl Into<String>, partitions: i32) -> Self {
        TopicSpec {
            name: name.into(),
            partitions,
            replication_factor: 1,
            configs: BTreeMap::new(),
        }
    }

    /// Sets the replication factor.
    pub fn with_replication_factor(mut self, rf: i32) -> Self {
        self.replication_factor = rf;
        self
    }

    /// Adds a topic config.
    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.configs.insert(key.into(), value.into());
        self
    }

    /// Sets the topic's maximum record batch size (`max.message.bytes`), in bytes.
    pub fn with_max_message_bytes(self, bytes: usize) -> Self {
        self.with_config(TOPIC_MAX_MESSAGE_BYTES, bytes.to_string())
    }

    /// Checks the spec.
    pub fn validate(&self) -> Result<()> {
        if self.name.is_empty() || self.name.len() > 249 {
            return Err(Error::config("name", "topic names have 1..=249 characters"));
        }
        if !self
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(Error::config("name", "topic names use only [a-zA-Z0-9._-]"));
        }
        if self.partitions < 1 {
            return Err(Error::config("partitions", "must be at least 1"));
        }
        if self.replication_factor < 1 {
            return Err(Error::config("replication_factor", "must be at least 1"));
        }
        Ok(())
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

fn positive(key: &str, d: Duration) -> Result<()> {
    if d.is_zero() {
        return Err(Error::config(key, "must be positive"));
    }
    if d > Duration::from_millis(i32::MAX as u64) {
        return Err(Error::config(key, "must be below 2^31 ms"));
    }
    Ok(())
}

fn millis(d: Duration) -> String {
    d.as_millis().max(1).to_string()
}

fn isolation(i: Isolation) -> &'static str {
    match i {
        Isolation::ReadCommitted => "read_committed",
        Isolation::ReadUncommitted => "read_uncommitted",
    }
}

pub(crate) fn admin_client_config(k: &KafkaConfig) -> ClientConfig {
    let mut c = k.base();
    // Describing a missing topic must not create it (brokers auto-create by default).
    c.set("allow.auto.create.topics", "false");
    c
}

pub(crate) fn producer_client_config(k: &KafkaConfig, p: &PublishOptions) -> ClientConfig {
    let mut c = k.base();
    c.set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", p.compression.as_librdkafka())
        .set("linger.ms", millis(p.linger).as_str())
        .set("batch.size", p.batch_bytes.to_string())
        .set(
            "queue.buffering.max.messages",
            p.queue_max_messages.to_string(),
        )
        .set(
            "queue.buffering.max.kbytes",
            (p.queue_max_bytes / 1024).to_string(),
        )
        .set("message.max.bytes", p.max_message_bytes.to_string())
        .set("message.timeout.ms", millis(p.message_timeout))
        .set(
            "partitioner",
            match p.partitioner {
                Partitioner::Murmur2Random => "murmur2_random",
                Partitioner::ConsistentRandom => "consistent_random",
            },
        );
    c
}

pub(crate) fn bounded_consumer_client_config(k: &KafkaConfig, b: &BoundedOptions) -> ClientConfig {
    let mut c = k.base();
    // No group: partitions are `assign`ed with explicit offsets; nothing is committed.
    c.set("group.id", format!("{}-bounded", k.client_id))
        .set("allow.auto.create.topics", "false")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        // An out-of-range fetch must surface as an error, never jump silently.
        .set("auto.offset.reset", "error")
        .set("isolation.level", isolation(b.isolation))
        .set(
            "max.partition.fetch.bytes",
            b.fetch_partition_bytes.to_string(),
        )
        .set("fetch.queue.backoff.ms", millis(b.fetch_queue_backoff));
    c
}

pub(crate) fn streaming_consumer_client_config(
    k: &KafkaConfig,
    s: &StreamingOptions,
) -> ClientConfig {
    let mut c = k.base();
    if let Some(id) = &s.instance_id {
        c.set("group.instance.id", id);
    }
    c.set("group.id", &s.group_id)
        .set("allow.auto.create.topics", "false")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", "error")
        .set("isolation.level", isolation(s.isolation))
        .set("session.timeout.ms", millis(s.session_timeout))
        .set("max.poll.interval.ms", millis(s.max_poll_interval))
        .set(
            "max.partition.fetch.bytes",
            s.fetch_partition_bytes.to_string(),
        )
        .set(
            "queued.max.messages.kbytes",
            (s.max_prefetch_bytes / 1024).max(1).to_string(),
        )
        .set("fetch.queue.backoff.ms", millis(s.fetch_queue_backoff))
        .set(
            "partition.assignment.strategy",
            match s.assignment_strategy {
                AssignmentStrategy::Eager => "range,roundrobin",
                AssignmentStrategy::CooperativeSticky => "cooperative-sticky",
            },
        );
    c
}

/// librdkafka topic config key for the maximum message size.
pub(crate) const TOPIC_MAX_MESSAGE_BYTES: &str = "max.message.bytes";

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn extra_cannot_override_owned_keys() {
        let err = KafkaConfig::builder("b:9092")
            .with_property("enable.auto.commit", "true")
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Config { ref key, .. } if key == "enable.auto.commit"));
        let ok = KafkaConfig::builder("b:9092")
            .with_property("security.protocol", "SASL_SSL")
            .with_property("sasl.mechanism", "PLAIN")
            .build()
            .unwrap();
        let c = producer_client_config(&ok, &PublishOptions::default());
        assert_eq!(c.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(c.get("enable.idempotence"), Some("true"));
        assert_eq!(c.get("compression.type"), Some("lz4"));
    }

    #[test]
    fn builders_validate() {
        assert!(KafkaConfig::builder(" ").build().is_err());
        assert!(
            PublishOptions::builder()
                .with_key_field(Some(""))
                .build()
                .is_err()
        );
        assert!(
            BoundedOptions::builder()
                .with_max_batch_messages(0)
                .build()
                .is_err()
        );
        assert!(StreamingOptions::builder("").build().is_err());
        assert!(TopicSpec::new("a b", 1).validate().is_err());
        assert!(TopicSpec::new("ok.topic-1", 4).validate().is_ok());
        let s =
            streaming_consumer_client_config(&KafkaConfig::new("b:1"), &StreamingOptions::new("g"));
        assert_eq!(s.get("enable.auto.commit"), Some("false"));
        assert_eq!(s.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(s.get("queued.max.messages.kbytes"), Some("16384"));
        assert_eq!(s.get("fetch.queue.backoff.ms"), Some("10"));
        let b =
            bounded_consumer_client_config(&KafkaConfig::new("b:1"), &BoundedOptions::default());
        assert_eq!(b.get("fetch.queue.backoff.ms"), Some("10"));
        let b = BoundedOptions::builder()
            .with_fetch_queue_backoff(Duration::from_millis(250))
            .build()
            .expect("valid");
        let b = bounded_consumer_client_config(&KafkaConfig::new("b:1"), &b);
        assert_eq!(b.get("fetch.queue.backoff.ms"), Some("250"));
        assert!(
            BoundedOptions::builder()
                .with_fetch_queue_backoff(Duration::from_secs(301))
                .build()
                .is_err()
        );
        let p = producer_client_config(&KafkaConfig::new("b:1"), &PublishOptions::default());
        assert_eq!(p.get("queue.buffering.max.kbytes"), Some("32768"));
        assert_eq!(p.get("enable.idempotence"), Some("true"));
        assert!(
            StreamingOptions::builder("g")
                .with_fetch_queue_backoff(Duration::from_secs(301))
                .build()
                .is_err()
        );
        // Every client reconnects after 10 ms by default; the setting is typed and bounded.
        for c in [
            p,
            admin_client_config(&KafkaConfig::new("b:1")),
            bounded_consumer_client_config(&KafkaConfig::new("b:1"), &BoundedOptions::default()),
            streaming_consumer_client_config(&KafkaConfig::new("b:1"), &StreamingOptions::new("g")),
        ] {
            assert_eq!(c.get("reconnect.backoff.ms"), Some("10"));
        }
        let k = KafkaConfig::builder("b:1")
            .with_reconnect_backoff(Duration::from_millis(250))
            .build()
            .expect("valid");
        assert_eq!(
            admin_client_config(&k).get("reconnect.backoff.ms"),
            Some("250")
        );
        for bad in [Duration::ZERO, Duration::from_secs(11)] {
            assert!(
                KafkaConfig::builder("b:1")
                    .with_reconnect_backoff(bad)
                    .build()
                    .is_err(),
                "{bad:?}"
            );
        }
        // The prefetch and reconnect settings are typed: the passthrough map may not
        // override them.
        for key in [
            "queued.max.messages.kbytes",
            "fetch.queue.backoff.ms",
            "reconnect.backoff.ms",
        ] {
            assert!(
                KafkaConfig::builder("b:1")
                    .with_property(key, "1")
                    .build()
                    .is_err(),
                "{key}"
            );
        }
    }
}
