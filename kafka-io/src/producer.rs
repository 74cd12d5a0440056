//! Publishing event files: one message per JSON element, keyed, idempotent, with every
//! delivery report accounted for.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;

use crate::client::{forward_error, forward_log};
use crate::config::{KafkaConfig, PublishOptions, producer_client_config};
use crate::error::{BrokerError, Error, Result};
use crate::json::{ElementIndex, InputFormat, JsonElements, ValidationOptions, validate_file};

/// How many malformed elements a report lists (all are counted).
pub const MAX_LISTED_MALFORMED: usize = 100;

const READ_BUFFER: usize = 1 << 20;
const PROGRESS_EVERY: u64 = 1024;

/// An element that was skipped because it is not valid JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedElement {
    /// Zero-based index of the element in the input.
    pub element_index: u64,
    /// Byte offset of the element (or of the structural error) in the input.
    pub byte_offset: u64,
    /// What is wrong.
    pub reason: String,
}

/// What a publish call did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishReport {
    /// Topic written to.
    pub topic: String,
    /// Input format (`None` for [`Publisher::publish_records`]).
    pub format: Option<InputFormat>,
    /// Elements read from the input, malformed ones included.
    pub elements: u64,
    /// Messages acknowledged by the brokers.
    pub delivered: u64,
    /// Payload bytes acknowledged.
    pub delivered_bytes: u64,
    /// Messages sent with a null key (key field missing or `null`).
    pub null_keys: u64,
    /// Malformed elements skipped (only with [`PublishOptions::skip_malformed`]).
    pub skipped: u64,
    /// The first [`MAX_LISTED_MALFORMED`] skipped elements.
    pub malformed: Vec<MalformedElement>,
    /// Delivered messages per partition.
    pub partitions: BTreeMap<i32, u64>,
    /// Bytes of input read.
    pub input_bytes: u64,
    /// Wall time of the call.
    pub elapsed: Duration,
}

/// Which pass a publish call is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishPhase {
    /// Checking the whole input before sending anything.
    Validating,
    /// Sending messages.
    Sending,
    /// Waiting for the last delivery reports.
    Flushing,
}

/// Progress of a publish call, reported every 1,024 elements and at phase changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishProgress {
    /// Current pass.
    pub phase: PublishPhase,
    /// Elements processed in this pass.
    pub elements: u64,
    /// Input bytes consumed in this pass.
    pub bytes_read: u64,
    /// Input size in bytes (0 if unknown).
    pub bytes_total: u64,
    /// Messages acknowledged so far.
    pub delivered: u64,
}

#[derive(Debug, Default)]
struct DeliveryState {
    delivered: u64,
    bytes: u64,
    partitions: BTreeMap<i32, u64>,
    failed: u64,
    first_failure: Option<(u64, BrokerError)>,
}

#[derive(Debug, Default)]
struct DeliveryContext {
    state: Mutex<DeliveryState>,
}

impl DeliveryContext {
    fn lock(&self) -> MutexGuard<'_, DeliveryState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ClientContext for DeliveryContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        forward_log(level, fac, message);
    }
    fn error(&self, error: KafkaError, reason: &str) {
        forward_error(&error, reason);
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, element_index: usize) {
        let mut s = self.lock();
        match result {
            Ok(m) => {
                s.delivered += 1;
                s.bytes += m.payload_len() as u64;
                *s.partitions.entry(m.partition()).or_default() += 1;
            }
            Err((e, _)) => {
                s.failed += 1;
                if s.first_failure.is_none() {
                    tracing::error!(element_index, error = %e, "delivery failed");
                    s.first_failure = Some((element_index as u64, BrokerError::from(e)));
                }
            }
        }
    }
}

/// Publishes JSON event files (or raw records) to one topic.
///
/// The producer is idempotent (`acks=all`, no duplicates or reordering on retries),
/// batches with [`PublishOptions::linger`] / [`PublishOptions::batch_bytes`] and compresses
/// with [`PublishOptions::compression`]. Each call waits for every delivery report.
pub struct Publisher {
    producer: BaseProducer<DeliveryContext>,
    topic: String,
    options: PublishOptions,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("topic", &self.topic)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// A file checked by [`Publisher::validate_file`]: its format, how many elements it has
/// and where they are, for [`Publisher::publish_validated`].
#[derive(Debug)]
pub struct ValidatedFile {
    path: std::path::PathBuf,
    format: InputFormat,
    stamp: (u64, Option<std::time::SystemTime>),
    index: Option<ElementIndex>,
    elements: u64,
    malformed: u64,
    started: Instant,
}

impl ValidatedFile {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its format (detected from the first non-blank byte).
    pub fn format(&self) -> InputFormat {
        self.format
    }

    /// Elements in the file, malformed ones included.
    pub fn elements(&self) -> u64 {
        self.elements
    }

    /// Malformed elements that will be skipped ([`PublishOptions::skip_malformed`]).
    pub fn malformed(&self) -> u64 {
        self.malformed
    }
}

struct Sent {
    sent: u64,
    null_keys: u64,
}

impl Publisher {
    /// Creates a producer for `topic`. Does not contact the cluster yet.
    pub fn new(config: &KafkaConfig, topic: &str, options: PublishOptions) -> Result<Self> {
        config.validate()?;
        options.validate()?;
        if topic.is_empty() {
            return Err(Error::config("topic", "must not be empty"));
        }
        let producer = producer_client_config(config, &options)
            .create_with_context(DeliveryContext::default())
            .map_err(|e| Error::config("producer", BrokerError::from(e).to_string()))?;
        Ok(Publisher {
            producer,
            topic: topic.to_owned(),
            options,
        })
    }

    /// The options in use.
    pub fn options(&self) -> &PublishOptions {
        &self.options
    }

    /// Publishes a JSON array file or an NDJSON file (detected from the first
    /// non-whitespace byte), one message per element. See [`Publisher::publish_file_with`].
    pub fn publish_file(&mut self, path: &Path) -> Result<PublishReport> {
        self.publish_file_with(path, |_| {})
    }

    /// Publishes a file, calling `progress` as it goes.
    ///
    /// The value of each message is the element compacted as `jq -c` prints it (see
    /// [`crate::json`]); the key is [`PublishOptions::key_field`]. With
    /// [`PublishOptions::validate_first`] (the default) this is
    /// [`Publisher::validate_file`] then [`Publisher::publish_validated`].
    ///
    /// # Errors
    /// - [`Error::Malformed`] (element index, byte offset): with
    ///   [`PublishOptions::validate_first`] (the default) nothing was published.
    /// - [`Error::Delivery`]: names the first failed element and the broker error;
    ///   sending stops at the first failure, messages already sent may have been delivered.
    /// - [`Error::FlushTimeout`], [`Error::Io`].
    pub fn publish_file_with(
        &mut self,
        path: &Path,
        mut progress: impl FnMut(&PublishProgress),
    ) -> Result<PublishReport> {
        if self.options.validate_first {
            let validated = self.validate_file(path, &mut progress)?;
            return self.publish_validated(validated, progress);
        }
        let started = Instant::now();
        let io_err = |error| Error::Io {
            path: path.to_owned(),
            error,
        };
        let total = std::fs::metadata(path).map_err(io_err)?.len();
        let format = InputFormat::detect_file(path).map_err(io_err)?;
        self.send_file(path, format, total, None, started, progress)
    }

    /// The validation pass alone: reads the whole file (on all cores), checks every
    /// element and records where each one is, sending nothing. Needs no cluster, so it can
    /// run while the topic is being created; [`Publisher::publish_validated`] then sends
    /// the file without scanning it again.
    ///
    /// # Errors
    /// [`Error::Malformed`] for the first malformed element in file order (unless
    /// [`PublishOptions::skip_malformed`] and it can be skipped), [`Error::Io`].
    pub fn validate_file(
        &self,
        path: &Path,
        mut progress: impl FnMut(&PublishProgress),
    ) -> Result<ValidatedFile> {
        let started = Instant::now();
        let io_err = |error| Error::Io {
            path: path.to_owned(),
            error,
        };
        let stamp = file_stamp(path).map_err(io_err)?;
        let format = InputFormat::detect_file(path).map_err(io_err)?;
        let options = ValidationOptions {
            key_field: self.options.key_field.clone(),
            skip_malformed: self.options.skip_malformed,
            window: READ_BUFFER,
            ..ValidationOptions::default()
        };
        let report = |elements, bytes_read| {
            progress(&PublishProgress {
                phase: PublishPhase::Validating,
                elements,
                bytes_read,
                bytes_total: stamp.0,
                delivered: 0,
            });
        };
        let v = validate_file(path, format, &options, report)?;
        tracing::debug!(
            elements = v.elements,
            malformed = v.malformed,
            threads = v.segments,
            indexed = v.index.as_ref().map_or(0, ElementIndex::known),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "input validated"
        );
        Ok(ValidatedFile {
            path: path.to_owned(),
            format,
            stamp,
            index: v.index,
            elements: v.elements,
            malformed: v.malformed,
            started,
        })
    }

    /// Sends a file checked by [`Publisher::validate_file`] (by this publisher or one with
    /// the same key field), replaying its index. The report's elapsed time includes the
    /// validation.
    ///
    /// # Errors
    /// [`Error::Io`] if the file changed since it was validated (length or modification
    /// time) or cannot be read; otherwise as [`Publisher::publish_file_with`].
    pub fn publish_validated(
        &mut self,
        file: ValidatedFile,
        progress: impl FnMut(&PublishProgress),
    ) -> Result<PublishReport> {
        let path = file.path.as_path();
        // The send pass replays what validation learned (no second scan of compact
        // elements): the file must be the one that was validated.
        let now = file_stamp(path).map_err(|error| Error::Io {
            path: path.to_owned(),
            error,
        })?;
        if now != file.stamp {
            return Err(Error::Io {
                path: path.to_owned(),
                error: std::io::Error::other("the file changed since it was validated"),
            });
        }
        let total = file.stamp.0;
        self.send_file(path, file.format, total, file.index, file.started, progress)
    }

    /// Waits until every message sent has its delivery report served; `false` on timeout.
    ///
    /// Not `Producer::flush`: rust-rdkafka's waits up to 100 ms in `poll` between checks
    /// and so adds up to 100 ms to every publish, even of one message; here the
    /// reports are served as they come.
    fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.producer.in_flight_count() <= 0 {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            wait_and_serve(&self.producer, left.min(WAIT_STEP));
        }
    }

    /// The send pass over `path` (`total` bytes), replaying `index` if there is one.
    fn send_file(
        &mut self,
        path: &Path,
        format: InputFormat,
        total: u64,
        index: Option<ElementIndex>,
        started: Instant,
        mut progress: impl FnMut(&PublishProgress),
    ) -> Result<PublishReport> {
        let f = File::open(path).map_err(|error| Error::Io {
            path: path.to_owned(),
            error,
        })?;
        let elements = JsonElements::new(f, format)
            .with_window(READ_BUFFER)
            .with_key_field(self.options.key_field.as_deref());
        let mut elements = match index {
            Some(ix) => elements.with_index(ix),
            None => elements,
        };
        self.reset();
        let mut report = PublishReport {
            topic: self.topic.clone(),
            format: Some(format),
            ..PublishReport::default()
        };
        let sent = self.send_elements(&mut elements, total, &mut report, &mut progress);
        report.elements = elements.elements_seen();
        report.input_bytes = elements.position();
        self.finish(sent, report, started, total, &mut progress)
    }

    fn send_elements(
        &mut self,
        elements: &mut JsonElements<File>,
        total: u64,
        report: &mut PublishReport,
        progress: &mut impl FnMut(&PublishProgress),
    ) -> Result<Sent> {
        let skip = self.options.skip_malformed;
        let mut sent = Sent {
            sent: 0,
            null_keys: 0,
        };
        let mut n = 0u64;
        loop {
            let err = match elements.next_element() {
                Ok(Some(element)) => {
                    let key = element.key();
                    if key.is_none() {
                        sent.null_keys += 1;
                    }
                    send_one(
                        &self.producer,
                        &self.topic,
                        element.index,
                        key.as_deref(),
                        element.bytes,
                    )?;
                    None
                }
                Ok(None) => break,
                Err(e) => Some(e),
            };
            match err {
                Some(Error::Malformed {
                    element_index,
                    byte_offset,
                    reason,
                }) if skip && elements.can_continue() => {
                    note_malformed(report, element_index, byte_offset, reason);
                    continue;
                }
                Some(e) => return Err(e),
                None => {}
            }
            sent.sent += 1;
            n += 1;
            if n.is_multiple_of(PROGRESS_EVERY) {
                serve_ready(&self.producer);
                self.check_failures()?;
                progress(&PublishProgress {
                    phase: PublishPhase::Sending,
                    elements: n,
                    bytes_read: elements.position(),
                    bytes_total: total,
                    delivered: self.producer.context().lock().delivered,
                });
            }
        }
        Ok(sent)
    }

    /// Publishes raw records `(key, value)`; the element index in errors is the position in
    /// the iterator. Values are sent as given (no JSON processing).
    pub fn publish_records<'r, I>(&mut self, records: I) -> Result<PublishReport>
    where
        I: IntoIterator<Item = (Option<&'r [u8]>, &'r [u8])>,
    {
        let started = Instant::now();
        self.reset();
        let mut report = PublishReport {
            topic: self.topic.clone(),
            ..PublishReport::default()
        };
        let mut sent = Sent {
            sent: 0,
            null_keys: 0,
        };
        let result = (|| {
            for (i, (key, value)) in records.into_iter().enumerate() {
                if key.is_none() {
                    sent.null_keys += 1;
                }
                send_one(&self.producer, &self.topic, i as u64, key, value)?;
                sent.sent += 1;
                report.input_bytes += value.len() as u64;
                if sent.sent.is_multiple_of(PROGRESS_EVERY) {
                    serve_ready(&self.producer);
                    self.check_failures()?;
                }
            }
            Ok(())
        })();
        report.elements = sent.sent;
        let sent = result.map(|()| sent);
        self.finish(sent, report, started, 0, &mut |_| {})
    }

    fn reset(&self) {
        *self.producer.context().lock() = DeliveryState::default();
    }

    fn check_failures(&self) -> Result<()> {
        let s = self.producer.context().lock();
        if let Some((element_index, cause)) = &s.first_failure {
            return Err(Error::Delivery {
                topic: self.topic.clone(),
                element_index: *element_index,
                failed: s.failed,
                cause: cause.clone(),
            });
        }
        Ok(())
    }

    /// Waits for every outstanding delivery report, then builds the report or the error.
    fn finish(
        &self,
        sent: Result<Sent>,
        mut report: PublishReport,
        started: Instant,
        total: u64,
        progress: &mut impl FnMut(&PublishProgress),
    ) -> Result<PublishReport> {
        progress(&PublishProgress {
            phase: PublishPhase::Flushing,
            elements: report.elements,
            bytes_read: report.input_bytes,
            bytes_total: total,
            delivered: self.producer.context().lock().delivered,
        });
        // Even on error, wait for what was sent so the reports are accounted for.
        let timeout = self.options.message_timeout + Duration::from_secs(5);
        let flushed = self.flush(timeout);
        let sent = sent?;
        self.check_failures()?;
        if !flushed {
            return Err(Error::FlushTimeout {
                topic: self.topic.clone(),
                outstanding: self.producer.in_flight_count().max(0) as u64,
                timeout,
            });
        }
        let s = self.producer.context().lock();
        debug_assert_eq!(
            s.delivered, sent.sent,
            "every delivery report accounted for"
        );
        if s.delivered != sent.sent {
            return Err(Error::FlushTimeout {
                topic: self.topic.clone(),
                outstanding: sent.sent.saturating_sub(s.delivered),
                timeout,
            });
        }
        report.delivered = s.delivered;
        report.delivered_bytes = s.bytes;
        report.partitions = s.partitions.clone();
        report.null_keys = sent.null_keys;
        report.elapsed = started.elapsed();
        progress(&PublishProgress {
            phase: PublishPhase::Flushing,
            elements: report.elements,
            bytes_read: report.input_bytes,
            bytes_total: total,
            delivered: report.delivered,
        });
        tracing::info!(
            topic = %self.topic,
            delivered = report.delivered,
            bytes = report.delivered_bytes,
            skipped = report.skipped,
            elapsed_ms = report.elapsed.as_millis() as u64,
            "published"
        );
        Ok(report)
    }
}

/// Length and modification time of a file, to notice it changing between two passes.
fn file_stamp(path: &Path) -> std::io::Result<(u64, Option<std::time::SystemTime>)> {
    let m = std::fs::metadata(path)?;
    Ok((m.len(), m.modified().ok()))
}

fn note_malformed(
    report: &mut PublishReport,
    element_index: u64,
    byte_offset: u64,
    reason: String,
) {
    tracing::warn!(element_index, byte_offset, %reason, "skipping malformed element");
    report.skipped += 1;
    if report.malformed.len() < MAX_LISTED_MALFORMED {
        report.malformed.push(MalformedElement {
            element_index,
            byte_offset,
            reason,
        });
    }
}

/// How long to let librdkafka's threads work before serving delivery reports again, when the
/// local queue is full or the last reports are awaited.
const WAIT_STEP: Duration = Duration::from_millis(1);

/// Sleeps `wait`, then serves every delivery report that has arrived.
///
/// Not `BaseProducer::poll(wait)`: rust-rdkafka hands librdkafka the time left in whole
/// milliseconds and loops until its deadline, so once less than 1 ms is left it calls
/// `rd_kafka_queue_poll(.., 0)` in a busy loop. A 1 ms `poll` spun a core for 1 ms: 21% of
/// `publish`'s samples were `clock_gettime`, CPU that librdkafka's broker thread (which
/// compresses the batches) and the broker itself needed on a 2-core machine.
fn wait_and_serve(producer: &BaseProducer<DeliveryContext>, wait: Duration) {
    std::thread::sleep(wait);
    serve_ready(producer);
}

/// Serves the delivery reports already queued, without waiting: `poll(0)` serves at most one
/// event (one batch of reports), so repeat while the outstanding count goes down.
fn serve_ready(producer: &BaseProducer<DeliveryContext>) {
    loop {
        let before = producer.in_flight_count();
        producer.poll(Duration::ZERO);
        if before <= 0 || producer.in_flight_count() >= before {
            return;
        }
    }
}

/// Enqueues one message, waiting (serving delivery reports) while the local queue is full.
fn send_one(
    producer: &BaseProducer<DeliveryContext>,
    topic: &str,
    element_index: u64,
    key: Option<&[u8]>,
    value: &[u8],
) -> Result<()> {
    let mut record: BaseRecord<'_, [u8], [u8], usize> =
        BaseRecord::with_opaque_to(topic, element_index as usize).payload(value);
    if let Some(k) = key {
        record = record.key(k);
    }
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                wait_and_serve(producer, WAIT_STEP);
            }
            Err((e, _)) => {
                return Err(Error::Delivery {
                    topic: topic.to_owned(),
                    element_index,
                    failed: 1,
                    cause: e.into(),
                });
            }
        }
    }
}
