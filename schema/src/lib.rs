//! The assessment-attempt event: typed structs, the Arrow schemas of every landed table,
//! and the coercion rules that turn the source's stringly-typed fields into real types.
//!
//! This crate is the root of the workspace's dependency graph. Everything that knows what
//! an assessment event *is* lives here, defined once:
//!
//! * [`event`]: borrowed serde structs ([`event::AssessmentEvent`]) for code that wants a
//!   typed view of one event (the generator, tests, baselines). The hot path
//!   (`assessment-flatten`) does not go through serde; it decodes straight from a JSON tape
//!   into the schemas below, using the same [`coerce`] functions.
//! * [`tables`]: the Arrow schema of each table (`raw`, `assessments`, `questions`,
//!   `options`, `rejects`) as functions, and the [`tables::Table`] enum naming them.
//! * [`columns`]: the [`columns::ColumnRole`] of each stored column (message body, unique or
//!   repeated identifier, timestamp, small sequence), for writers to pick its encoding.
//! * [`coerce`]: exact conversions — epoch-second strings to microseconds (decimal
//!   arithmetic, never through `f64`), ISO-8601 to microseconds, `"true"`/`"false"` to bool,
//!   `"1.0"` to `f64`.
//! * [`error`]: [`JsonPath`] and [`Error`], the validation error that names the JSON path,
//!   what was expected and what was found.
//!
//! # Example
//!
//! ```
//! use assessment_schema::{coerce, tables::{self, Table}};
//!
//! // "1516738921.1137421" has 7 fractional digits: the 7th is truncated, exactly.
//! assert_eq!(coerce::epoch_seconds_to_micros("1516738921.1137421").unwrap(), 1_516_738_921_113_742);
//! assert_eq!(coerce::iso8601_to_micros("2018-01-23T14:23:19.082Z").unwrap(), 1_516_717_399_082_000);
//!
//! let schema = tables::schema(Table::Questions);
//! assert_eq!(schema.field(0).name(), "_topic");
//! assert!(schema.field_with_name("user_incomplete").is_ok());
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod coerce;
pub mod columns;
pub mod error;
pub mod event;
pub mod tables;

pub use error::{Error, ErrorKind, JsonPath, PathSegment};
pub use tables::Table;
