//! Configuration: plain structs with documented defaults and units, each with a
//! `validate()` that every client constructor calls. Build them with struct literals over
//! the defaults:
//!
//! ```
//! use std::time::Duration;
//! use kafka_io::{BoundedOptions, KafkaConfig, PublishOptions};
//! let mut kafka = KafkaConfig::new("broker-1:9092,broker-2:9092");
//! kafka.extra.insert("security.protocol".into(), "SASL_SSL".into());
//! kafka.validate().unwrap();
//! let publish = PublishOptions { key_field: None, ..PublishOptions::default() };
//! let bounded = BoundedOptions { accept_gaps: true, ..BoundedOptions::default() };
//! assert!(publish.validate().is_ok() && bounded.validate().is_ok());
//! # let _ = Duration::ZERO;
//! ```
//!
//! librdkafka's property names appear only in [`librdkafka`] (this module's translation
//! into client configurations). Everything the typed fields do not cover (security.protocol,
//! sasl.*, ssl.*, tuning knobs) goes through [`KafkaConfig::extra`], which may not override
//! a key a typed field owns.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::{Error, Result};

mod consume;
pub(crate) mod librdkafka;
mod publish;
mod topic;

pub use consume::{AssignmentStrategy, BoundedOptions, Isolation, StreamingOptions};
pub use publish::{Compression, DEFAULT_KEY_FIELD, Partitioner, PublishOptions};
pub use topic::TopicSpec;

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
    /// up to 10 s). Default 10 ms, below librdkafka's 100 ms: since librdkafka 2.10 a new
    /// client drops its bootstrap connection once it knows the cluster's brokers and waits
    /// about half of this before connecting to them, which a short-lived client (a small
    /// publish) pays on every run.
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

    /// Checks the settings; called by every client constructor.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting and why.
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
            if librdkafka::is_owned(key) {
                return Err(Error::config(
                    key.clone(),
                    "is set by a typed setting of kafka-io and cannot be passed through",
                ));
            }
        }
        Ok(())
    }
}

/// A duration librdkafka takes in milliseconds: positive and below 2^31 ms.
pub(crate) fn positive(key: &str, d: Duration) -> Result<()> {
    if d.is_zero() {
        return Err(Error::config(key, "must be positive"));
    }
    if d > Duration::from_millis(i32::MAX as u64) {
        return Err(Error::config(key, "must be below 2^31 ms"));
    }
    Ok(())
}
