//! Builders of the earlier interface, kept until their last callers (in `examples`) build
//! the structs directly: `KafkaConfig { extra, ..KafkaConfig::new(brokers) }` then
//! `validate()`, and `BoundedOptions { accept_gaps, ..BoundedOptions::default() }`.

use super::{BoundedOptions, KafkaConfig};
use crate::error::Result;

impl KafkaConfig {
    /// Starts a builder (superseded by [`KafkaConfig::new`] and the fields).
    #[doc(hidden)]
    pub fn builder(brokers: impl Into<String>) -> KafkaConfigBuilder {
        KafkaConfigBuilder {
            config: KafkaConfig::new(brokers),
        }
    }
}

/// Builder for [`KafkaConfig`] (superseded by the struct's fields).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct KafkaConfigBuilder {
    config: KafkaConfig,
}

impl KafkaConfigBuilder {
    /// Adds a passthrough librdkafka property (see [`KafkaConfig::extra`]).
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.extra.insert(key.into(), value.into());
        self
    }

    /// Validates and returns the config.
    ///
    /// # Errors
    /// As [`KafkaConfig::validate`].
    pub fn build(self) -> Result<KafkaConfig> {
        self.config.validate()?;
        Ok(self.config)
    }
}

impl BoundedOptions {
    /// Starts a builder (superseded by the struct's fields).
    #[doc(hidden)]
    pub fn builder() -> BoundedOptionsBuilder {
        BoundedOptionsBuilder {
            options: BoundedOptions::default(),
        }
    }
}

/// Builder for [`BoundedOptions`] (superseded by the struct's fields).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct BoundedOptionsBuilder {
    options: BoundedOptions,
}

impl BoundedOptionsBuilder {
    /// Sets [`BoundedOptions::accept_gaps`].
    pub fn with_accept_gaps(mut self, accept: bool) -> Self {
        self.options.accept_gaps = accept;
        self
    }

    /// Validates and returns the options.
    ///
    /// # Errors
    /// As [`BoundedOptions::validate`].
    pub fn build(self) -> Result<BoundedOptions> {
        self.options.validate()?;
        Ok(self.options)
    }
}
