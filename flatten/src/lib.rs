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
mod numbers;
mod output;

use assessment_schema::{Error as ValidationError, Table};
use columns::{BinCol, DictCol, I32Col, I64Col, StrCol, TsCol};
use decode::{Decoder, Prov};
use numbers::WideNumbers;
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
    /// The message's value or key is larger than one Arrow binary column holds
    /// (`i32::MAX` bytes), so not even its `raw` row can be built, in any batch. Kafka never
    /// delivers such a message: `message.max.bytes` is an `i32` and bounds key and value
    /// together.
    #[error(
        "message {topic}/{partition}@{offset} ({bytes} bytes) is larger than an Arrow column holds (2147483647 bytes)"
    )]
    ValueTooLarge {
        /// Topic of the message.
        topic: String,
        /// Partition of the message.
        partition: i32,
        /// Offset of the message.
        offset: i64,
        /// The size of its value or key, whichever is larger.
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
    /// [`ErrorKind::TooLarge`] (they still land in `raw` and `rejects`, byte for byte).
    /// Default: [`FlattenConfig::KAFKA_MAX_MESSAGE_BYTES`], 2,147,483,647 bytes (2 GiB − 1),
    /// the largest value Kafka's `message.max.bytes` (broker) and `max.message.bytes` (topic)
    /// can take: no message a broker can deliver is refused for its size. Real events are
    /// about 2.4 KB; Kafka's own default limit is 1 MiB.
    ///
    /// Memory: parsing a value takes scratch of about three times its size (its copy, its
    /// unescaped strings, the tape; up to ~18 times for a value made only of tiny numbers,
    /// `[0,0,…]`) while it is parsed. Scratch that grew past 1 MiB for one message is freed
    /// after that message, so one large message does not keep its memory. Lower this limit
    /// to bound what one message may take.
    pub max_value_bytes: usize,
    /// Whether to build the `raw` table (every message byte for byte). Default: true.
    pub build_raw: bool,
    /// Whether `assessments` carries the nested `sequences` column. Without it its schema
    /// is [`assessment_schema::tables::assessments_flat_schema`] (the questions and options
    /// are still the rows of `questions` and `options`). Default: true.
    pub nested_sequences: bool,
}

impl FlattenConfig {
    /// The largest message Kafka can be configured to take, in bytes: `message.max.bytes`
    /// and `max.message.bytes` are `int32` settings. The default [`FlattenConfig::max_value_bytes`].
    pub const KAFKA_MAX_MESSAGE_BYTES: usize = i32::MAX as usize;
}

impl Default for FlattenConfig {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_value_bytes: Self::KAFKA_MAX_MESSAGE_BYTES,
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
    /// Where the message being pushed starts in its file ([`Flattener::push_at`]).
    origin: Option<Origin>,
}

/// Where a message's value starts in the file it was read from. A reject of a message
/// pushed with [`Flattener::push_at`] names the place in the file, `line L, column C (byte
/// B)`: of the problem itself when the value is the file's bytes as they are (an NDJSON
/// line) and the parser stopped at a known byte, else of the value's first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// Line of the value's first byte, from 1.
    pub line: u64,
    /// Column (byte in the line) of the value's first byte, from 1.
    pub column: u64,
    /// Byte offset in the file of the value's first byte, from 0.
    pub byte: u64,
    /// The value is the file's bytes as they are, on one line (not a compacted copy).
    pub verbatim: bool,
}

impl Origin {
    /// The place of byte `at` of the value (the value's start unless it is verbatim).
    fn place(self, at: Option<usize>) -> (u64, u64, u64) {
        match at {
            Some(at) if self.verbatim => {
                (self.line, self.column + at as u64, self.byte + at as u64)
            }
            _ => (self.line, self.column, self.byte),
        }
    }
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

/// Per-message scratch (the value's copy, the tape, simd-json's buffers) that grew past
/// this for one message is freed after it: one huge message must not keep its memory for
/// the flattener's lifetime. Real events are about 2.4 KB.
const KEEP_SCRATCH_BYTES: usize = 1 << 20;

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
            origin: None,
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

    /// [`Flattener::push`] for a message read from a file: a reject's message ends with the
    /// place in the file (see [`Origin`]).
    ///
    /// # Errors
    /// As [`Flattener::push`].
    pub fn push_at(&mut self, msg: &Message<'_>, origin: Origin) -> Result<(), Error> {
        self.origin = Some(origin);
        let pushed = self.push(msg);
        self.origin = None;
        pushed
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
        let klen = msg.key.map_or(0, <[u8]>::len);
        // Every column filled from values (`raw.value`, `rejects.value`, the strings of the
        // typed tables) holds at most the bytes of all values pushed, built or not.
        let values = self.stats.input_bytes + vlen;
        let keys = self.raw.key.data_len().max(self.rejects.msg.key.data_len()) + klen;
        if values.max(keys) > MAX_COLUMN_BYTES {
            self.batch_full(msg, vlen.max(klen))?;
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

    /// Whether a message that overflows the batch can go in anyway: alone in a batch, a
    /// value or key up to `i32::MAX` bytes fits (each column then holds that message's
    /// bytes and short texts).
    #[cold]
    fn batch_full(&self, msg: &Message<'_>, bytes: usize) -> Result<(), Error> {
        let (topic, partition, offset) = (msg.topic.to_owned(), msg.partition, msg.offset);
        if !self.is_empty() {
            return Err(Error::BatchFull {
                topic,
                partition,
                offset,
                bytes,
            });
        }
        if bytes > i32::MAX as usize {
            return Err(Error::ValueTooLarge {
                topic,
                partition,
                offset,
                bytes,
            });
        }
        Ok(())
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
        let mut wide_numbers = None;
        let result = match simd_json::fill_tape_padded(
            &mut input,
            value.len(),
            &mut self.buffers,
            &mut tape,
        ) {
            Ok(()) => self.decoder.decode(&tape.0, prov),
            Err(e) if matches!(e.error(), simd_json::ErrorType::InvalidNumber) => {
                wide_numbers = Some(e);
                Ok(())
            }
            Err(e) => Err(map_parse_error(&e, value)),
        };
        self.tape = tape.reset();
        self.input = input;
        let result = match wide_numbers {
            None => result,
            Some(e) => self.parse_wide_numbers(value, prov, &e),
        };
        if value.len() > KEEP_SCRATCH_BYTES {
            self.release_scratch();
        }
        result
    }

    /// The value again, after simd-json refused one of its numbers: see [`numbers`]. Only
    /// genuinely malformed JSON is a reject here, with the position in the value.
    #[cold]
    fn parse_wide_numbers(
        &mut self,
        value: &[u8],
        prov: Prov,
        first: &simd_json::Error,
    ) -> Result<(), ValidationError> {
        let mut input = std::mem::take(&mut self.input);
        input.clear();
        input.extend_from_slice(value);
        let mut wide = std::mem::take(&mut self.decoder.wide);
        wide.mask(&mut input);
        let result = if wide.is_empty() {
            Err(map_parse_error(first, value))
        } else {
            input.resize(value.len() + simd_json::INPUT_PADDING, b' ');
            let mut tape: Tape<'_> = std::mem::replace(&mut self.tape, Tape(Vec::new())).reset();
            let result = match simd_json::fill_tape_padded(
                &mut input,
                value.len(),
                &mut self.buffers,
                &mut tape,
            ) {
                Ok(()) if wide.patch(&mut tape.0) => {
                    self.decoder.wide = wide;
                    let r = self.decoder.decode(&tape.0, prov);
                    wide = std::mem::take(&mut self.decoder.wide);
                    r
                }
                Ok(()) => Err(map_parse_error(first, value)),
                // simd-json parsed the copy in place: diagnose a fresh one (same offsets).
                Err(e) => {
                    let mut masked = value.to_vec();
                    WideNumbers::default().mask(&mut masked);
                    Err(map_parse_error(&e, &masked))
                }
            };
            self.tape = tape.reset();
            self.stats.reparsed += 1;
            result
        };
        wide.clear();
        self.decoder.wide = wide;
        self.input = input;
        result
    }

    /// Frees per-message scratch that one large message grew.
    #[cold]
    fn release_scratch(&mut self) {
        self.input = Vec::new();
        self.tape = Tape(Vec::new());
        self.buffers = Buffers::with_max_depth(4096, self.config.max_depth);
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
        if let Some(origin) = self.origin {
            let at = match e {
                ValidationError::Parse { byte_offset, .. } => Some(*byte_offset),
                _ => None,
            };
            let (line, column, byte) = origin.place(at);
            let _ = write!(
                self.scratch,
                "; in the file at line {line}, column {column} (byte {byte})"
            );
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = include_str!("../../testdata/real-first-five.ndjson");

    fn event_with_exam_name(bytes: usize) -> String {
        let good = GOOD.lines().next().unwrap_or_default();
        good.replacen(
            "\"exam_name\":\"",
            &format!("\"exam_name\":\"{}", "n".repeat(bytes)),
            1,
        )
    }

    fn reject_messages(f: &mut Flattener) -> Vec<String> {
        use arrow_array::cast::AsArray as _;
        let out = f.flush().expect("flush");
        let rejects = out.batch(Table::Rejects);
        let col = rejects.column_by_name("error").expect("error column");
        col.as_string::<i32>()
            .iter()
            .map(|s| s.unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn a_reject_pushed_at_a_file_place_names_it() {
        let mut f = Flattener::new(FlattenConfig::default());
        let origin = Origin {
            line: 7,
            column: 1,
            byte: 500,
            verbatim: true,
        };
        assert!(
            f.push_at(&Message::new("t", 0, 0, b"{\"a\": tru}"), origin)
                .is_ok()
        );
        let wrong = GOOD.lines().next().unwrap_or_default().replacen(
            "\"exam_name\":\"",
            "\"exam_name\":7,\"x\":\"",
            1,
        );
        let compacted = Origin {
            verbatim: false,
            ..origin
        };
        assert!(
            f.push_at(&Message::new("t", 0, 1, wrong.as_bytes()), compacted)
                .is_ok()
        );
        assert!(f.push(&Message::new("t", 0, 2, b"[1]")).is_ok());
        let errors = reject_messages(&mut f);
        assert_eq!(errors.len(), 3, "{errors:?}");
        // The parser's byte within the line, placed in the file.
        let at = errors[0]
            .split("at byte ")
            .nth(1)
            .and_then(|s| s.split(':').next());
        let at: u64 = at.and_then(|s| s.parse().ok()).expect("a byte offset");
        assert!(
            errors[0].ends_with(&format!(
                "; in the file at line 7, column {} (byte {})",
                1 + at,
                500 + at
            )),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].starts_with("exam_name: expected string")
                && errors[1].ends_with("; in the file at line 7, column 1 (byte 500)"),
            "{}",
            errors[1]
        );
        assert!(!errors[2].contains("in the file"), "{}", errors[2]);
    }

    #[test]
    fn a_large_message_does_not_keep_its_scratch() {
        let mut f = Flattener::new(FlattenConfig::default());
        let big = event_with_exam_name(2 << 20);
        assert!(f.push(&Message::new("t", 0, 0, big.as_bytes())).is_ok());
        assert!(f.input.capacity() < KEEP_SCRATCH_BYTES);
        assert!(f.tape.0.capacity() < 1024);
        // A message under the threshold keeps its scratch for the next one.
        let medium = event_with_exam_name(100_000);
        assert!(f.push(&Message::new("t", 0, 1, medium.as_bytes())).is_ok());
        assert!(f.input.capacity() >= 100_000);
        assert_eq!(f.stats().accepted, 2);
    }

    #[test]
    fn a_value_too_large_for_a_batch_waits_for_an_empty_one() {
        let mut f = Flattener::new(FlattenConfig::default());
        let good = GOOD.lines().next().unwrap_or_default().as_bytes();
        assert!(f.push(&Message::new("t", 0, 0, good)).is_ok());
        // As if the batch held almost 2 GiB of values already.
        f.stats.input_bytes = MAX_COLUMN_BYTES - good.len() + 1;
        assert!(matches!(
            f.push(&Message::new("t", 0, 1, good)),
            Err(Error::BatchFull { offset: 1, .. })
        ));
        assert_eq!(f.len(), 1, "nothing appended");
        assert!(f.flush().is_ok());
        // Alone in a batch, a value up to i32::MAX bytes goes in; a larger one never can.
        // (calloc'd zeros: the pages are never touched, nothing is copied before the check.)
        let huge = vec![0u8; i32::MAX as usize + 1];
        assert!(matches!(
            f.push(&Message::new("t", 0, 2, &huge)),
            Err(Error::ValueTooLarge { offset: 2, bytes, .. }) if bytes == huge.len()
        ));
        assert!(f.is_empty());
    }
}
