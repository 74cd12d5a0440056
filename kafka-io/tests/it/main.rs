//! kafka-io's integration tests, in one test binary (one link instead of one per file).
//!
//! `cargo test -p kafka-io` runs the tests that need no services: the in-process mock
//! cluster (`mock_*`) and the jq comparison. With `--features it` the tests against a real
//! Kafka at `$IT_KAFKA_BROKERS` (default 127.0.0.1:9092, e.g. `scripts/test-cluster up`)
//! run too (`it_*`).
#![allow(clippy::unwrap_used, unreachable_pub)]

mod common;
mod jq_compat;
mod mock_cluster;
mod mock_files;
mod mock_group;

#[cfg(feature = "it")]
mod it_files;
#[cfg(feature = "it")]
mod it_kafka;
#[cfg(feature = "it")]
mod it_smoke;
