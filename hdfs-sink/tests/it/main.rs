//! Integration tests of hdfs-sink: local backend, crash safety, maintenance, and (with
//! `--features it`) the real MiniDFS.
//!
//! One test binary for the crate (one link instead of one per file); each module is one
//! area. Modules needing the test cluster are compiled only with `--features it`.

mod common;
mod crash;
mod it_hdfs;
mod it_smoke;
mod local;
mod maintenance;
