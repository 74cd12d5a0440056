//! Integration tests of assessment-flatten: golden files, numbers, properties, rejects.
//!
//! One test binary for the crate (one link instead of one per file); each module is one
//! area.

mod common;
mod golden;
mod numbers;
mod properties;
mod rejects;
