//! The embedded default: librdkafka's in-process mock cluster.
//!
//! The mock brokers listen on localhost ports inside this process, so any client (ours,
//! or `kcat` while the process lives) can use [`MockCluster::bootstrap_servers`].
//!
//! **Retention:** the mock keeps at most **5 MiB or 100,000 messages per partition** and
//! silently drops the oldest beyond that (`rd_kafka_mock_partition_init` in librdkafka).
//! Land while publishing, or use enough partitions that the data fits; the bounded
//! consumer's retention-gap check ([`crate::Error::RetentionGap`]) reports data lost this way.
//! The mock does not implement the CreateTopics admin API: create topics with
//! [`MockCluster::create_topic`] (producers also auto-create topics on first use).
//!
//! `MockCluster` is neither `Send` nor `Sync` (librdkafka's handle is a raw pointer): keep
//! it on the thread that created it; clients using it may live on any thread.

use rdkafka::mocking::MockCluster as RdMockCluster;
use rdkafka::producer::DefaultProducerContext;

use crate::config::KafkaConfig;
use crate::error::{Error, Result};

/// Per-partition message limit of the mock cluster.
pub const MOCK_PARTITION_MAX_MESSAGES: usize = 100_000;
/// Per-partition byte limit of the mock cluster.
pub const MOCK_PARTITION_MAX_BYTES: usize = 5 << 20;

/// An in-process mock Kafka cluster; shut down when dropped.
pub struct MockCluster {
    inner: RdMockCluster<'static, DefaultProducerContext>,
    bootstrap: String,
}

impl std::fmt::Debug for MockCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockCluster")
            .field("bootstrap", &self.bootstrap)
            .finish_non_exhaustive()
    }
}

impl MockCluster {
    /// Starts a mock cluster with `brokers` brokers (at least 1).
    pub fn start(brokers: i32) -> Result<Self> {
        if brokers < 1 {
            return Err(Error::config(
                "brokers",
                "a mock cluster needs at least 1 broker",
            ));
        }
        let inner =
            RdMockCluster::new(brokers).map_err(|e| Error::client("start mock cluster", e))?;
        let bootstrap = inner.bootstrap_servers();
        tracing::debug!(%bootstrap, "mock cluster started");
        Ok(MockCluster { inner, bootstrap })
    }

    /// The `host:port,...` list to connect to.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// A [`KafkaConfig`] pointing at this cluster, other settings at their defaults.
    pub fn config(&self) -> KafkaConfig {
        KafkaConfig::new(self.bootstrap.clone())
    }

    /// Creates a topic (replication factor 1); creating an existing topic is an error.
    pub fn create_topic(&self, topic: &str, partitions: i32) -> Result<()> {
        if partitions < 1 {
            return Err(Error::config("partitions", "must be at least 1"));
        }
        self.inner
            .create_topic(topic, partitions, 1)
            .map_err(|e| Error::Admin {
                operation: "create topic",
                topic: topic.to_owned(),
                cause: e.into(),
            })
    }

    /// Takes a broker down (connections fail) — for failure tests.
    pub fn broker_down(&self, broker_id: i32) -> Result<()> {
        self.inner
            .broker_down(broker_id)
            .map_err(|e| Error::client("mock broker down", e))
    }

    /// Brings a broker back up.
    pub fn broker_up(&self, broker_id: i32) -> Result<()> {
        self.inner
            .broker_up(broker_id)
            .map_err(|e| Error::client("mock broker up", e))
    }
}
