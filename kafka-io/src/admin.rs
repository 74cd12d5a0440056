//! Topic administration: create if missing, describe with watermarks, delete.
//!
//! All calls block the current thread for at most [`KafkaConfig::request_timeout`]
//! (plus the broker's operation time for create/delete).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use crate::client::{LogContext, block_on, topic_partitions, watermarks};
use crate::config::librdkafka::admin_client_config;
use crate::config::{KafkaConfig, TopicSpec};
use crate::error::{BrokerError, Error, Result};

/// One partition of a described topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionDescription {
    /// Partition number.
    pub partition: i32,
    /// Broker id of the leader, `-1` if none.
    pub leader: i32,
    /// Broker ids of the replicas.
    pub replicas: Vec<i32>,
    /// Broker ids of the in-sync replicas.
    pub isr: Vec<i32>,
    /// First offset still available (retention deletes below it).
    pub low_watermark: i64,
    /// Offset the next message will get (the end, exclusive).
    pub high_watermark: i64,
}

/// A topic's partitions with leaders and watermarks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    /// Topic name.
    pub topic: String,
    /// Partitions in partition order.
    pub partitions: Vec<PartitionDescription>,
}

impl TopicDescription {
    /// Messages currently retained: sum of `high - low` over the partitions.
    pub fn retained_messages(&self) -> i64 {
        self.partitions
            .iter()
            .map(|p| p.high_watermark - p.low_watermark)
            .sum()
    }
}

/// Whether [`Admin::create_topic`] created the topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreateOutcome {
    /// The topic was created.
    Created,
    /// The topic already existed (its settings were left as they are).
    AlreadyExists,
}

/// A client of kind `T` (admin client, consumer for metadata) with the admin settings.
fn client<T: FromClientConfigAndContext<LogContext>>(config: &KafkaConfig) -> Result<T> {
    admin_client_config(config)
        .create_with_context(LogContext)
        .map_err(|e| Error::config("client", BrokerError::from(e).to_string()))
}

/// Topic administration client.
///
/// Describing uses a plain client; the admin client proper is created on the first
/// create/delete. (rust-rdkafka's `AdminClient` runs a thread that polls in 100 ms steps
/// and is joined on drop: up to 100 ms added to every program that only describes.)
pub struct Admin {
    meta: BaseConsumer<LogContext>,
    admin: OnceLock<AdminClient<LogContext>>,
    config: KafkaConfig,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("brokers", &self.config.brokers)
            .finish_non_exhaustive()
    }
}

impl Admin {
    /// Creates an admin client (does not contact the cluster yet).
    pub fn new(config: &KafkaConfig) -> Result<Self> {
        config.validate()?;
        Ok(Admin {
            meta: client(config)?,
            admin: OnceLock::new(),
            config: config.clone(),
        })
    }

    /// The admin client proper, created on first use.
    fn admin(&self) -> Result<&AdminClient<LogContext>> {
        if let Some(a) = self.admin.get() {
            return Ok(a);
        }
        let a = client(&self.config)?;
        Ok(self.admin.get_or_init(|| a))
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new()
            .request_timeout(Some(self.config.request_timeout))
            .operation_timeout(Some(self.config.request_timeout))
    }

    /// Creates the topic unless it exists. An existing topic is left as it is, even if its
    /// partition count differs from `spec` (check [`Admin::describe`] if that matters).
    pub fn create_topic(&self, spec: &TopicSpec) -> Result<CreateOutcome> {
        spec.validate()?;
        let mut new = NewTopic::new(
            &spec.name,
            spec.partitions,
            TopicReplication::Fixed(spec.replication_factor),
        );
        for (k, v) in &spec.configs {
            new = new.set(k, v);
        }
        let results =
            block_on(self.admin()?.create_topics([&new], &self.options())).map_err(|e| {
                Error::Admin {
                    operation: "create topic",
                    topic: spec.name.clone(),
                    cause: e.into(),
                }
            })?;
        match results.into_iter().next() {
            Some(Ok(_)) | None => {
                tracing::info!(topic = %spec.name, partitions = spec.partitions, "created topic");
                Ok(CreateOutcome::Created)
            }
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => {
                Ok(CreateOutcome::AlreadyExists)
            }
            Some(Err((_, code))) => Err(Error::Admin {
                operation: "create topic",
                topic: spec.name.clone(),
                cause: code.into(),
            }),
        }
    }

    /// Creates the topic if it does not exist, then waits (up to the request timeout) until
    /// its metadata shows every partition with a leader, and returns its description.
    pub fn ensure_topic(&self, spec: &TopicSpec) -> Result<(CreateOutcome, TopicDescription)> {
        let outcome = match self.describe(&spec.name) {
            Ok(d) => return Ok((CreateOutcome::AlreadyExists, d)),
            Err(Error::TopicNotFound { .. }) => self.create_topic(spec)?,
            Err(e) => return Err(e),
        };
        let deadline = Instant::now() + self.config.request_timeout;
        loop {
            match self.describe(&spec.name) {
                Ok(d) if d.partitions.iter().all(|p| p.leader >= 0) => return Ok((outcome, d)),
                Ok(_) | Err(Error::TopicNotFound { .. } | Error::Consume { .. })
                    if Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Ok(d) => return Ok((outcome, d)),
                Err(e) => return Err(e),
            }
        }
    }

    /// Describes a topic: partitions, leaders, replicas and low/high watermarks.
    pub fn describe(&self, topic: &str) -> Result<TopicDescription> {
        let timeout = self.config.request_timeout;
        let inner = self.meta.client();
        let parts = topic_partitions(inner, &self.config.brokers, topic, timeout)?;
        let mut partitions = Vec::with_capacity(parts.len());
        for p in parts {
            let (low, high) = watermarks(inner, topic, p.partition, timeout)?;
            partitions.push(PartitionDescription {
                partition: p.partition,
                leader: p.leader,
                replicas: p.replicas,
                isr: p.isr,
                low_watermark: low,
                high_watermark: high,
            });
        }
        Ok(TopicDescription {
            topic: topic.to_owned(),
            partitions,
        })
    }

    /// Deletes a topic. Deleting a missing topic is [`Error::TopicNotFound`].
    pub fn delete_topic(&self, topic: &str) -> Result<()> {
        let results =
            block_on(self.admin()?.delete_topics(&[topic], &self.options())).map_err(|e| {
                Error::Admin {
                    operation: "delete topic",
                    topic: topic.to_owned(),
                    cause: e.into(),
                }
            })?;
        for r in results {
            match r {
                Ok(_) => {}
                Err((_, RDKafkaErrorCode::UnknownTopicOrPartition)) => {
                    return Err(Error::TopicNotFound {
                        topic: topic.to_owned(),
                    });
                }
                Err((_, code)) => {
                    return Err(Error::Admin {
                        operation: "delete topic",
                        topic: topic.to_owned(),
                        cause: code.into(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Deletes the records of `partition` below `before_offset` (raising its low watermark),
    /// as retention would. Returns the new low watermark.
    pub fn delete_records(&self, topic: &str, partition: i32, before_offset: i64) -> Result<i64> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(before_offset))
            .map_err(|e| Error::client("delete records", e))?;
        let res = block_on(self.admin()?.delete_records(&tpl, &self.options())).map_err(|e| {
            Error::Admin {
                operation: "delete records",
                topic: topic.to_owned(),
                cause: e.into(),
            }
        })?;
        let Some(el) = res.find_partition(topic, partition) else {
            return Err(Error::UnknownPartition {
                topic: topic.to_owned(),
                partition,
            });
        };
        el.error().map_err(|e| Error::Admin {
            operation: "delete records",
            topic: topic.to_owned(),
            cause: e.into(),
        })?;
        Ok(el.offset().to_raw().unwrap_or(before_offset))
    }
}
