//! placeholder
#![forbid(unsafe_code)]

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

pub use admin::{Admin, CreateOutcome, PartitionDescription, TopicDescription};
pub use bounded::{BoundedConsumer, BoundedReport};
pub use config::*;
pub use error::{BrokerError, Error, Result};
pub use message::{Batch, MessageRef, TopicPartition};
pub use mock::MockCluster;
pub use offsets::{Gap, PartitionRange, StartPosition};
pub use producer::{Publisher, PublishReport, PublishProgress, PublishPhase, MalformedElement};
