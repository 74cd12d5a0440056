//! Settings of the publisher.

use std::time::Duration;

use super::positive;
use crate::error::{Error, Result};

/// Default key field of the published events.
pub const DEFAULT_KEY_FIELD: &str = "user_exam_id";

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
    /// value as its JSON text; a missing or `null` field, or an element that is not valid
    /// JSON, gives a null key (counted).
    pub key_field: Option<String>,
    /// Read the whole file before sending anything, so that a JSON array whose structure
    /// is broken fails the call with nothing published. Default `true`. Costs one more read
    /// of the file (on all cores for an uncompressed file).
    pub validate_first: bool,
    /// Batch compression. Default [`Compression::Lz4`].
    pub compression: Compression,
    /// Partitioning of keyed messages. Default [`Partitioner::Murmur2Random`].
    pub partitioner: Partitioner,
    /// How long the producer waits to fill a batch. Default 5 ms.
    pub linger: Duration,
    /// Size of one produced batch, in bytes (a larger message is sent in a batch of its
    /// own). Default 1 MiB.
    pub batch_bytes: usize,
    /// Maximum messages queued in the client awaiting delivery. Default 100,000.
    pub queue_max_messages: usize,
    /// Maximum bytes queued in the client awaiting delivery; a single message larger than
    /// this cannot be sent. Default 32 MiB: a larger queue only costs memory once the
    /// broker keeps up.
    pub queue_max_bytes: usize,
    /// Largest message the client sends (librdkafka `message.max.bytes`), in bytes.
    /// Default 1,000,000,000 (librdkafka's maximum), so that the topic's
    /// `max.message.bytes` decides: a message the broker refuses fails with
    /// [`crate::Error::Delivery`] (`MESSAGE_TOO_LARGE`) naming the element.
    pub max_message_bytes: usize,
    /// How long a message may stay unacknowledged (retries included) before it fails.
    /// Default 60 s.
    pub message_timeout: Duration,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            key_field: Some(DEFAULT_KEY_FIELD.to_owned()),
            validate_first: true,
            compression: Compression::Lz4,
            partitioner: Partitioner::Murmur2Random,
            linger: Duration::from_millis(5),
            batch_bytes: 1 << 20,
            queue_max_messages: 100_000,
            queue_max_bytes: 32 << 20,
            max_message_bytes: 1_000_000_000,
            message_timeout: Duration::from_secs(60),
        }
    }
}

impl PublishOptions {
    /// Checks the settings; called by [`crate::Publisher::new`].
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting and why.
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
