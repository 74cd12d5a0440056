//! Integration tests of assessment-query: SQL over local warehouses, the report, and (with
//! `--features it`) hdfs:// warehouses.
//!
//! One test binary for the crate (one link instead of one per file); each module is one
//! area. Modules needing the test cluster are compiled only with `--features it`.

mod common;
mod it_hdfs;
mod local;
mod report;
mod report_support;
