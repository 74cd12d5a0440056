//! Kafka I/O for the assessment lake, on rdkafka (librdkafka).
//!
//! - [`Admin`]: create a topic if missing, describe partitions, leaders and watermarks.
//! - [`Publisher`]: publish a JSON array file (streamed, never loaded whole) or NDJSON,
//!   plain, gzip or zstd, one message per element, keyed by a top-level field (default
//!   `user_exam_id`), idempotent, compressed, every delivery report accounted for
//!   ([`PublishReport`]). Every element that can be delimited is sent, valid JSON or not
//!   (a lander decides; the report counts and lists the invalid ones with their
//!   positions). The whole file is read first, on all cores ([`json::validate_file`]), so
//!   a JSON array whose structure is broken publishes nothing; [`Publisher::validate_file`]
//!   and [`Publisher::publish_validated`] run the two passes separately.
//! - [`json`]: the file framing both publisher and file lander use ([`json::open_input`],
//!   [`json::JsonElements`], [`json::NdjsonLines`], positions as `line L, column C (byte B)`).
//! - [`BoundedConsumer`]: snapshot the high watermarks, read from a [`StartPosition`] up to
//!   them in per-partition [`Batch`]es, stop; retention gaps are errors unless accepted.
//! - [`StreamingConsumer`]: a consumer-group member whose assignments go through the
//!   caller's [`RebalanceHandler`] (start offsets, revocations), with pause/resume and
//!   explicit commits only.
//! - [`MockCluster`]: librdkafka's in-process mock cluster, the embedded default (mind its
//!   5 MiB / 100,000 messages per partition retention, see [`mock`]).
//!
//! Configuration is plain data ([`KafkaConfig`], [`PublishOptions`], [`BoundedOptions`],
//! [`StreamingOptions`], [`TopicSpec`]) with documented defaults and units and a
//! `validate()`; librdkafka property names live only in [`config`], and security settings
//! pass through [`KafkaConfig::extra`]. Errors are one enum, [`Error`], with typed
//! coordinates; the splitter's are [`json::Error`], wrapped as [`Error::Input`].
//! Logs go to `tracing` (librdkafka's own lines under the `librdkafka` target).
//!
//! # Example
//!
//! Publish an NDJSON file to an in-process mock cluster and read it back:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use kafka_io::{BoundedConsumer, BoundedOptions, MockCluster, PublishOptions, Publisher,
//!     StartPosition};
//!
//! let cluster = MockCluster::start(1)?;
//! cluster.create_topic("assessments", 2)?;
//! let config = cluster.config();
//!
//! let dir = std::env::temp_dir().join(format!("kafka-io-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let file = dir.join("events.ndjson");
//! std::fs::write(&file, concat!(
//!     "{\"user_exam_id\": \"a\", \"attempt\": 1}\n",
//!     "{\"user_exam_id\": \"b\", \"attempt\": 1}\n",
//!     "{\"user_exam_id\": \"a\", \"attempt\": 2}\n",
//! ))?;
//!
//! let mut publisher = Publisher::new(&config, "assessments", PublishOptions::default())?;
//! let report = publisher.publish_file(&file)?;
//! assert_eq!(report.delivered, 3);
//!
//! let mut reader = BoundedConsumer::start(&config, "assessments", StartPosition::Earliest,
//!     BoundedOptions::default())?;
//! let mut values = Vec::new();
//! while let Some(batch) = reader.next_batch()? {
//!     for m in batch.iter() {
//!         values.push((m.key.map(<[u8]>::to_vec), m.payload.map(<[u8]>::to_vec)));
//!     }
//! }
//! values.sort();
//! assert_eq!(values[0].0.as_deref(), Some(&b"a"[..]));
//! // An NDJSON line is sent as it is (a JSON array's elements are compacted).
//! assert_eq!(values[0].1.as_deref(), Some(&br#"{"user_exam_id": "a", "attempt": 1}"#[..]));
//! assert_eq!(values.len(), 3);
//! std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod bounded;
mod client;
pub mod config;
pub mod error;
pub mod json;
pub mod message;
pub mod mock;
pub mod offsets;
pub mod producer;
pub mod streaming;

pub use admin::{Admin, CreateOutcome, PartitionDescription, TopicDescription};
pub use bounded::{BoundedConsumer, BoundedReport};
pub use config::{
    AssignmentStrategy, BoundedOptions, Compression, DEFAULT_KEY_FIELD, Isolation, KafkaConfig,
    Partitioner, PublishOptions, StreamingOptions, TopicSpec,
};
pub use error::{BrokerError, Error, Result};
pub use message::{Batch, MessageRef, TopicPartition};
pub use mock::MockCluster;
pub use offsets::{Gap, PartitionRange, StartPosition};
pub use producer::{
    InvalidElement, MAX_LISTED_INVALID, PublishPhase, PublishProgress, PublishReport, Publisher,
    ValidatedFile,
};
pub use streaming::{RebalanceEvent, RebalanceHandler, StartAll, StartOffset, StreamingConsumer};
