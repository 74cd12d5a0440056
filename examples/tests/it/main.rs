//! Integration tests of the examples: land from files, the pipeline, and (with
//! `--features it`) land, follow and publish on the real Kafka and MiniDFS.
//!
//! One test binary for the crate (one link instead of one per file); each module is one
//! area. Modules needing the test cluster are compiled only with `--features it`. The
//! crash test that restarts the cluster's services is a binary of its own
//! (`tests/it_follow_crash.rs`).

mod common;
mod it_follow;
mod it_follow_fencing;
mod it_land_kafka;
mod it_publish;
mod land_file;
mod pipeline;
