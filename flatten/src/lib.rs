//! The hot path: a batch of raw Kafka messages → one Arrow [`RecordBatch`] per table.
//!
//! [`Flattener`] takes messages (payload bytes plus their Kafka coordinates) with
//! [`Flattener::push`] and produces, on [`Flattener::flush`], the five tables of
//! [`assessment_schema::tables`]: `raw` (every message, byte for byte), `assessments`,
//! `questions`, `options` and `rejects`. It knows nothing of Kafka or HDFS.
//!
//! How it is fast, in the manner of `arrow-json`:
//! * each payload is parsed by simd-json into a *tape* (a flat array of nodes), into
//!   buffers that are reused from message to message ([`simd_json::fill_tape_padded`]);
//! * typed decoders walk the tape once, straight into column buffers built once from the
//!   schema (no DOM, no `serde_json::Value`, no per-event heap allocation after warm-up);
//! * question and option columns are built once and shared, zero-copy, by the flat
//!   `questions`/`options` tables and the nested `assessments.sequences` column.
//!
//! Nothing is lost and nothing panics: every message yields exactly one `raw` row and exactly
//! one `assessments` **or** `rejects` row. A reject carries an [`ErrorKind`] and a message
//! with the JSON path (`sequences.questions[2].options[1].checked: expected bool, found string`).
//!
//! # Example
//!
//! ```
//! use assessment_flatten::{Flattener, FlattenConfig, Message};
//! use assessment_schema::Table;
//!
//! let mut f = Flattener::new(FlattenConfig::default());
//! let good = br#"{"keen_id":"k1","exam_name":"Learning Git",
//!     "sequences":{"questions":[{"id":"q1","options":[{"id":"o1","checked":true}]}]}}"#;
//! f.push(&Message::new("assessments", 0, 41, good)).unwrap();
//! f.push(&Message::new("assessments", 0, 42, b"{not json")).unwrap();
//!
//! let out = f.flush().unwrap();
//! assert_eq!(out.batch(Table::Raw).num_rows(), 2);
//! assert_eq!(out.batch(Table::Assessments).num_rows(), 1);
//! assert_eq!(out.batch(Table::Questions).num_rows(), 1);
//! assert_eq!(out.batch(Table::Options).num_rows(), 1);
//! assert_eq!(out.batch(Table::Rejects).num_rows(), 1);
//! assert_eq!(out.stats.rejected, 1);
//! ```
#![warn(missing_docs)]
#![deny(unsafe_code)]

#[allow(unsafe_code)] // the one module with `unsafe`; see its docs
mod columns;
mod decode;
mod output;

use assessment_schema::{Error as ValidationError, Table};
use columns::{BinCol, DictCol, I32Col, I64Col, StrCol, TsCol};
use decode::{Decoder, Prov};
use simd_json::{Buffers, Tape};

pub use assessment_schema::ErrorKind;
pub use output::{BatchStats, Flattened};

/// Errors of the flattener itself. Bad *input* is never an error: it becomes a `rejects` row.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The message would push a column of the current batch past Arrow's 2 GiB `i32` offset
    /// limit. Nothing was appended: call [`Flattener::flush`] and push it again.
    #[error(
        "batch is full: message {topic}/{partition}@{offset} ({bytes} bytes) does not fit; flush first"
    )]
    BatchFull {
        /// Topic of the message that did not fit.
        topic: String,
        /// Partition of the message.
        partition: i32,
        /// Offset of the message.
        offset: i64,
        /// Its value size.
        bytes: usize,
    },
    /// Assembling a table's `RecordBatch` failed (a bug: the columns disagree with the schema).
    #[error("building the {table} batch: {source}")]
    Arrow {
        /// The table being built.
        table: Table,
        /// Arrow's error.
        #[source]
        source: arrow_schema::ArrowError,
    },
}

/// One Kafka message (or one event of a file), borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// Topic (for a file source: the file's name).
    pub topic: &'a str,
    /// Partition (0 for a file).
    pub partition: i32,
    /// Offset (for a file: the event's index).
    pub offset: i64,
    /// Kafka timestamp, milliseconds since the epoch, if any.
    pub timestamp_ms: Option<i64>,
    /// Message key, if any.
    pub key: Option<&'a [u8]>,
    /// Message value; `None` is a Kafka null value (tombstone).
    pub value: Option<&'a [u8]>,
}

impl<'a> Message<'a> {
    /// A message with a value and no key or timestamp.
    pub fn new(topic: &'a str, partition: i32, offset: i64, value: &'a [u8]) -> Self {
        Self {
            topic,
            partition,
            offset,
            timestamp_ms: None,
            key: None,
            value: Some(value),
        }
    }
}

/// Flattener settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlattenConfig {
    /// Deepest nesting of arrays/objects accepted in a value; deeper values are rejected as
    /// [`ErrorKind::TooDeep`]. The schema itself needs 6. Default: 64.
    pub max_depth: usize,
    /// Largest value, in bytes, that is parsed; larger values are rejected as
    /// [`ErrorKind::TooLarge`] (they still land in `raw`). Real events are about 2.4 KB.
    /// Default: 1 MiB.
    pub max_value_bytes: usize,
    /// Whether to build the `raw` table (every message byte for byte). Default: true.
    pub build_raw: bool,
    /// Whether `assessments` carries the nested `sequences` column. Without it its schema
    /// is [`assessment_schema::tables::assessments_flat_schema`] (the questions and options
    /// are still the rows of `questions` and `options`). Default: true.
    pub nested_sequences: bool,
}

impl Default for FlattenConfig {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_value_bytes: 1 << 20,
            build_raw: true,
            nested_sequences: true,
        }
    }
}

/// A message as it arrived: the `raw` table, and the first six columns of `rejects`.
#[derive(Debug, Default)]
struct RawCols {
    topic: DictCol,
    partition: I32Col,
    offset: I64Col,
    timestamp: TsCol,
    key: BinCol,
    value: BinCol,
}

impl RawCols {
    #[inline]
    fn push(&mut self, msg: &Message<'_>, topic_key: usize, timestamp_us: Option<i64>) {
        self.topic.push(topic_key, true);
        self.partition.push(msg.partition);
        self.offset.push(msg.offset);
        self.timestamp.0.push_opt(timestamp_us);
        self.key.push_opt(msg.key);
        self.value.push_opt(msg.value);
    }
}

/// `rejects` columns: the message, then why it was rejected.
#[derive(Debug, Default)]
struct RejectCols {
    msg: RawCols,
    kind: StrCol,
    path: StrCol,
    error: StrCol,
}

/// Turns messages into Arrow record batches, one per table. See the [crate docs](crate).
pub struct Flattener {
    config: FlattenConfig,
    /// Reused input copy (simd-json parses in place), padded for SIMD.
    input: Vec<u8>,
    /// Reused simd-json scratch buffers.
    buffers: Buffers,
    /// Reused tape; empty between messages.
    tape: Tape<'static>,
    decoder: Decoder,
    raw: RawCols,
    rejects: RejectCols,
    stats: BatchStats,
    /// Distinct topics of the batch: the values of every `_topic` dictionary.
    topics: StrCol,
    /// The last topic seen and its key in `topics` (messages come in runs of one topic).
    last_topic: Option<(String, usize)>,
    /// Scratch for formatting reject messages.
    scratch: String,
}

impl std::fmt::Debug for Flattener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flattener")
            .field("config", &self.config)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Largest byte size of one variable-length column in a batch (Arrow `i32` offsets), with
/// headroom for the rows a single message adds besides its value.
const MAX_COLUMN_BYTES: usize = (i32::MAX as usize) - (16 << 20);

impl Flattener {
    /// A flattener with empty buffers.
    pub fn new(config: FlattenConfig) -> Self {
        let buffers = Buffers::with_max_depth(4096, config.max_depth);
        Self {
            config,
            input: Vec::new(),
            buffers,
            tape: Tape(Vec::new()),
            decoder: Decoder::default(),
            raw: RawCols::default(),
            rejects: RejectCols::default(),
            stats: BatchStats::default(),
            topics: StrCol::default(),
            last_topic: None,
            scratch: String::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &FlattenConfig {
        &self.config
    }

    /// Messages pushed since the last flush.
    pub fn len(&self) -> usize {
        self.stats.messages
    }

    /// True when nothing was pushed since the last flush.
    pub fn is_empty(&self) -> bool {
        self.stats.messages == 0
    }

    /// Appends one message: a `raw` row, and an `assessments` row (with its `questions` and
    /// `options`) or a `rejects` row.
    ///
    /// # Errors
    /// Only [`Error::BatchFull`], when the message would overflow Arrow's 2 GiB column limit;
    /// nothing has been appended then. Invalid input is never an error.
    pub fn push(&mut self, msg: &Message<'_>) -> Result<(), Error> {
        let (topic_key, timestamp_us) = self.push_raw(msg)?;
        let prov = Prov {
            topic_key,
            partition: msg.partition,
            offset: msg.offset,
        };
        match self.parse_and_decode(msg.value, prov) {
            Ok(()) => self.stats.accepted += 1,
            Err(e) => self.reject(msg, topic_key, timestamp_us, &e),
        }
        Ok(())
    }

    /// Appends a message its caller already found not to be JSON, with the caller's
    /// diagnosis: a `raw` row and a `rejects` row of `kind` (e.g. `malformed_json`,
    /// `invalid_utf8`) whose error reads `"{kind} at byte {byte_offset}: {reason}"`. For
    /// bytes that are not parsed again, e.g. an element of a JSON array file that its
    /// splitter could delimit but not parse, whose compacted form might parse.
    ///
    /// # Errors
    /// As [`Flattener::push`].
    pub fn push_malformed(
        &mut self,
        msg: &Message<'_>,
        kind: ErrorKind,
        byte_offset: usize,
        reason: &str,
    ) -> Result<(), Error> {
        let (topic_key, timestamp_us) = self.push_raw(msg)?;
        self.reject(
            msg,
            topic_key,
            timestamp_us,
            &parse_error(kind, byte_offset, reason),
        );
        Ok(())
    }

    /// What every message gets: the size check, the counts, the `raw` row.
    #[inline]
    fn push_raw(&mut self, msg: &Message<'_>) -> Result<(usize, Option<i64>), Error> {
        let vlen = msg.value.map_or(0, <[u8]>::len);
        let biggest = self
            .raw
            .value
            .data_len()
            .max(self.rejects.msg.value.data_len());
        if biggest + vlen > MAX_COLUMN_BYTES {
            return Err(Error::BatchFull {
                topic: msg.topic.to_owned(),
                partition: msg.partition,
                offset: msg.offset,
                bytes: vlen,
            });
        }
        self.stats.messages += 1;
        self.stats.input_bytes += vlen;
        let timestamp_us = msg.timestamp_ms.and_then(|ms| ms.checked_mul(1000));
        let topic_key = self.topic_key(msg.topic);
        if self.config.build_raw {
            self.raw.push(msg, topic_key, timestamp_us);
        }
        Ok((topic_key, timestamp_us))
    }

    /// The key of `topic` in this batch's topic dictionary.
    #[inline]
    fn topic_key(&mut self, topic: &str) -> usize {
        match &self.last_topic {
            Some((t, k)) if t == topic => *k,
            _ => self.new_topic_key(topic),
        }
    }

    #[cold]
    fn new_topic_key(&mut self, topic: &str) -> usize {
        let key = self.topics.position(topic).unwrap_or_else(|| {
            self.topics.push(topic);
            self.topics.len() - 1
        });
        self.last_topic = Some((topic.to_owned(), key));
        key
    }

    fn parse_and_decode(
        &mut self,
        value: Option<&[u8]>,
        prov: Prov,
    ) -> Result<(), ValidationError> {
        let value = match value {
            None => {
                return Err(parse_error(
                    ErrorKind::EmptyValue,
                    0,
                    "message has a null value",
                ));
            }
            Some([]) => {
                return Err(parse_error(
                    ErrorKind::EmptyValue,
                    0,
                    "message value is empty",
                ));
            }
            Some(v) if v.len() > self.config.max_value_bytes => {
                return Err(parse_error(
                    ErrorKind::TooLarge,
                    0,
                    &format!(
                        "value is {} bytes, larger than the limit of {} bytes (max_value_bytes)",
                        v.len(),
                        self.config.max_value_bytes
                    ),
                ));
            }
            Some(v) => v,
        };
        let mut input = std::mem::take(&mut self.input);
        input.clear();
        input.extend_from_slice(value);
        input.resize(value.len() + simd_json::INPUT_PADDING, b' ');
        let mut tape: Tape<'_> = std::mem::replace(&mut self.tape, Tape(Vec::new())).reset();
        let result = match simd_json::fill_tape_padded(
            &mut input,
            value.len(),
            &mut self.buffers,
            &mut tape,
        ) {
            Ok(()) => self.decoder.decode(&tape.0, prov),
            Err(e) => Err(map_parse_error(&e, value)),
        };
        self.tape = tape.reset();
        self.input = input;
        result
    }

    #[cold]
    fn reject(
        &mut self,
        msg: &Message<'_>,
        topic_key: usize,
        timestamp_us: Option<i64>,
        e: &ValidationError,
    ) {
        use std::fmt::Write as _;
        let kind = e.kind();
        self.stats.rejected += 1;
        let r = &mut self.rejects;
        r.msg.push(msg, topic_key, timestamp_us);
        r.kind.push(kind.as_str());
        self.scratch.clear();
        match e.path() {
            Some(p) => {
                let _ = write!(self.scratch, "{p}");
                r.path.push(&self.scratch);
            }
            None => r.path.push_null(),
        }
        self.scratch.clear();
        let _ = write!(self.scratch, "{e}");
        r.error.push(&self.scratch);
    }

    /// Statistics of the messages pushed since the last flush.
    pub fn stats(&self) -> &BatchStats {
        &self.stats
    }

    /// Builds the five record batches from everything pushed since the last flush and resets
    /// the buffers (keeping their capacity).
    ///
    /// # Errors
    /// [`Error::Arrow`] only if the columns disagree with the schema, which is a bug.
    pub fn flush(&mut self) -> Result<Flattened, Error> {
        let mut stats = std::mem::take(&mut self.stats);
        stats.unknown_fields = std::mem::take(&mut self.decoder.unknown_fields);
        self.last_topic = None;
        let topics = self.topics.finish();
        output::build(
            &topics,
            &mut self.raw,
            &mut self.decoder,
            &mut self.rejects,
            stats,
            self.config.build_raw,
            self.config.nested_sequences,
        )
    }
}

fn parse_error(kind: ErrorKind, byte_offset: usize, message: &str) -> ValidationError {
    ValidationError::Parse {
        kind,
        byte_offset,
        message: message.to_owned(),
    }
}

fn map_parse_error(e: &simd_json::Error, value: &[u8]) -> ValidationError {
    use simd_json::ErrorType as T;
    let kind = match e.error() {
        T::InvalidUtf8 => ErrorKind::InvalidUtf8,
        T::DepthLimitExceeded => ErrorKind::TooDeep,
        T::InputTooLarge => ErrorKind::TooLarge,
        _ => return diagnose_malformed(e, value),
    };
    let message = match e.error() {
        T::InvalidUtf8 => "value is not valid UTF-8".to_owned(),
        T::DepthLimitExceeded => "value nests deeper than max_depth".to_owned(),
        other => format!("{other:?}"),
    };
    parse_error(kind, e.index(), &message)
}

/// A malformed value's error as a user can act on it. simd-json names the state its second
/// stage was in (a truncated event is `ExpectedFalse`, two values on a line
/// `InternalError`); on this cold path serde_json reads the value again and says what is
/// wrong where ("EOF while parsing an object", "trailing characters", at the byte it
/// stopped). If serde_json accepts the value, simd-json's own error is reported.
#[cold]
fn diagnose_malformed(e: &simd_json::Error, value: &[u8]) -> ValidationError {
    use serde::Deserialize as _;
    let mut de = serde_json::Deserializer::from_slice(value);
    let err = match serde::de::IgnoredAny::deserialize(&mut de).and_then(|_| de.end()) {
        Ok(()) => {
            return parse_error(
                ErrorKind::MalformedJson,
                e.index(),
                &format!("{:?}", e.error()),
            );
        }
        Err(err) => err,
    };
    let full = err.to_string();
    let location = format!(" at line {} column {}", err.line(), err.column());
    let message = full.strip_suffix(&location).unwrap_or(&full);
    // serde_json counts lines from 1 and bytes within a line from 1; at the end of the input
    // it points at the last byte, the end is clearer.
    if err.is_eof() {
        return parse_error(ErrorKind::MalformedJson, value.len(), message);
    }
    let line_start: usize = value
        .split(|b| *b == b'\n')
        .take(err.line().saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum();
    let at = (line_start + err.column().saturating_sub(1)).min(value.len());
    parse_error(ErrorKind::MalformedJson, at, message)
}
