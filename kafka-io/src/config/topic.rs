//! Settings of a topic to create.

use std::collections::BTreeMap;

use super::librdkafka::TOPIC_MAX_MESSAGE_BYTES;
use crate::error::{Error, Result};

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

    /// Sets the topic's largest record batch (`max.message.bytes`), in bytes: the largest
    /// message producers may write to it.
    pub fn with_max_message_bytes(self, bytes: usize) -> Self {
        self.with_config(TOPIC_MAX_MESSAGE_BYTES, bytes.to_string())
    }

    /// Checks the spec.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting and why.
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
