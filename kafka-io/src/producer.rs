//! Publishing event files: one message per element (an array element or an NDJSON line,
//! valid JSON or not), keyed, idempotent, with every delivery report accounted for.

use std::path::Path;
use std::time::{Duration, Instant};

use rdkafka::producer::{BaseProducer, Producer};

use crate::config::librdkafka::producer_client_config;
use crate::config::{KafkaConfig, PublishOptions};
use crate::error::{BrokerError, Error, Result};
use crate::json::{
    Element, ElementIndex, InputCompression, InputFile, InputReader, JsonElements,
    ValidationOptions, validate_file,
};

mod delivery;
mod report;

use delivery::{DeliveryContext, DeliveryState, WAIT_STEP, send_one, serve_ready, wait_and_serve};
use report::{FileStamp, file_stamp};
pub use report::{
    InvalidElement, MAX_LISTED_INVALID, PublishPhase, PublishProgress, PublishReport, ValidatedFile,
};

const READ_BUFFER: usize = 1 << 20;
const PROGRESS_EVERY: u64 = 1024;

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

/// Counts while sending.
#[derive(Debug, Default)]
struct Sent {
    sent: u64,
    null_keys: u64,
}

impl Publisher {
    /// Creates a producer for `topic`. Does not contact the cluster yet.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid setting (ours or librdkafka's).
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

    /// Publishes a JSON array file or an NDJSON file (plain, gzip or zstd; see
    /// [`crate::json::open_input`]), one message per element. See
    /// [`Publisher::publish_file_with`].
    ///
    /// # Errors
    /// As [`Publisher::publish_file_with`].
    pub fn publish_file(&mut self, path: &Path) -> Result<PublishReport> {
        self.publish_file_with(path, |_| {})
    }

    /// Publishes a file, calling `progress` as it goes.
    ///
    /// Every element is one message: a valid array element compacted as `jq -c` prints it
    /// (see [`crate::json`]), an NDJSON line as it is, an element that is not valid JSON
    /// as its input bytes (counted and listed in the report, with a null key). The key is
    /// [`PublishOptions::key_field`]. With [`PublishOptions::validate_first`] (the
    /// default) this is [`Publisher::validate_file`] then [`Publisher::publish_validated`].
    ///
    /// # Errors
    /// - [`Error::Input`]: the file cannot be read, or it is a JSON array whose structure
    ///   is broken (with its line, column and byte); with
    ///   [`PublishOptions::validate_first`] nothing was published.
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
        let input = InputFile::open(path)?;
        let total = bytes_total(&input, file_stamp(path)?);
        self.send_file(&input, total, None, started, progress)
    }

    /// The validation pass alone: reads the whole file (on all cores if it is not
    /// compressed), checks that every element can be delimited and records where each one
    /// is, sending nothing. Needs no cluster, so it can run while the topic is being
    /// created; [`Publisher::publish_validated`] then sends the file without scanning it
    /// again.
    ///
    /// # Errors
    /// [`Error::Input`] for a file that cannot be read or an array whose structure is
    /// broken (the first such place in file order).
    pub fn validate_file(
        &self,
        path: &Path,
        mut progress: impl FnMut(&PublishProgress),
    ) -> Result<ValidatedFile> {
        let started = Instant::now();
        let input = InputFile::open(path)?;
        let stamp = file_stamp(path)?;
        let total = bytes_total(&input, stamp);
        let options = ValidationOptions {
            key_field: self.options.key_field.clone(),
            window: READ_BUFFER,
            ..ValidationOptions::default()
        };
        let report = |elements, bytes_read| {
            progress(&PublishProgress {
                phase: PublishPhase::Validating,
                elements,
                bytes_read,
                bytes_total: total,
                delivered: 0,
            });
        };
        let v = validate_file(&input, &options, report)?;
        tracing::debug!(
            elements = v.elements,
            invalid = v.invalid,
            threads = v.segments,
            indexed = v.index.as_ref().map_or(0, ElementIndex::known),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "input validated"
        );
        Ok(ValidatedFile {
            input,
            stamp,
            index: v.index,
            elements: v.elements,
            invalid: v.invalid,
            started,
        })
    }

    /// Sends a file checked by [`Publisher::validate_file`] (by this publisher or one with
    /// the same key field), replaying its index. The report's elapsed time includes the
    /// validation.
    ///
    /// # Errors
    /// [`Error::Io`] if the file changed since it was validated (length or modification
    /// time); otherwise as [`Publisher::publish_file_with`].
    pub fn publish_validated(
        &mut self,
        file: ValidatedFile,
        progress: impl FnMut(&PublishProgress),
    ) -> Result<PublishReport> {
        // The send pass replays what validation learned (no second scan of compact
        // elements): the file must be the one that was validated.
        if file_stamp(file.path())? != file.stamp {
            return Err(Error::Io {
                path: file.path().to_owned(),
                error: std::io::Error::other(
                    "the file changed after it was validated: validate and publish it again",
                ),
            });
        }
        let total = bytes_total(&file.input, file.stamp);
        self.send_file(&file.input, total, file.index, file.started, progress)
    }

    /// The send pass over `input` (`total` bytes), replaying `index` if there is one.
    fn send_file(
        &mut self,
        input: &InputFile,
        total: u64,
        index: Option<ElementIndex>,
        started: Instant,
        mut progress: impl FnMut(&PublishProgress),
    ) -> Result<PublishReport> {
        let elements = input
            .elements()?
            .with_window(READ_BUFFER)
            .with_key_field(self.options.key_field.as_deref());
        let mut elements = match index {
            Some(ix) => elements.with_index(ix),
            None => elements,
        };
        self.reset();
        let mut report = PublishReport {
            topic: self.topic.clone(),
            format: Some(input.format()),
            ..PublishReport::default()
        };
        let sent = self.send_elements(&mut elements, total, &mut report, &mut progress);
        report.elements = elements.elements_seen();
        report.input_bytes = elements.position();
        self.finish(sent, report, started, total, &mut progress)
    }

    fn send_elements(
        &mut self,
        elements: &mut JsonElements<InputReader>,
        total: u64,
        report: &mut PublishReport,
        progress: &mut impl FnMut(&PublishProgress),
    ) -> Result<Sent> {
        let mut sent = Sent::default();
        while let Some(element) = elements.next_element()? {
            let key = element.key();
            if key.is_none() {
                sent.null_keys += 1;
            }
            if element.invalid.is_some() {
                note_invalid(report, &element);
            }
            send_one(
                &self.producer,
                &self.topic,
                element.index,
                key.as_deref(),
                element.bytes,
            )
            .map_err(|e| e.at(element.start()))?;
            sent.sent += 1;
            if sent.sent.is_multiple_of(PROGRESS_EVERY) {
                serve_ready(&self.producer);
                self.check_failures()?;
                progress(&PublishProgress {
                    phase: PublishPhase::Sending,
                    elements: sent.sent,
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
    ///
    /// # Errors
    /// [`Error::Delivery`], [`Error::FlushTimeout`].
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
        let mut sent = Sent::default();
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
                at: None,
                failed: s.failed,
                cause: cause.clone(),
            });
        }
        Ok(())
    }

    /// Waits until every message sent has its delivery report served; `false` on timeout.
    ///
    /// Not `Producer::flush`: rust-rdkafka's waits up to 100 ms in `poll` between checks,
    /// which adds up to 100 ms to every publish, even of one message; here the reports are
    /// served as they come.
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

    /// Waits for every outstanding delivery report, then builds the report or the error.
    fn finish(
        &self,
        sent: Result<Sent>,
        mut report: PublishReport,
        started: Instant,
        total: u64,
        progress: &mut impl FnMut(&PublishProgress),
    ) -> Result<PublishReport> {
        let flushing = |report: &PublishReport, delivered| PublishProgress {
            phase: PublishPhase::Flushing,
            elements: report.elements,
            bytes_read: report.input_bytes,
            bytes_total: total,
            delivered,
        };
        progress(&flushing(&report, self.producer.context().lock().delivered));
        // Even on error, wait for what was sent so the reports are accounted for.
        let timeout = self.options.message_timeout + Duration::from_secs(5);
        let flushed = self.flush(timeout);
        let sent = sent?;
        self.check_failures()?;
        let delivered = self.producer.context().lock().delivered;
        if !flushed || delivered != sent.sent {
            return Err(Error::FlushTimeout {
                topic: self.topic.clone(),
                outstanding: sent.sent.saturating_sub(delivered),
                timeout,
            });
        }
        {
            let s = self.producer.context().lock();
            report.delivered = s.delivered;
            report.delivered_bytes = s.bytes;
            report.partitions = s.partitions.clone();
        }
        report.null_keys = sent.null_keys;
        report.elapsed = started.elapsed();
        progress(&flushing(&report, report.delivered));
        tracing::info!(
            topic = %self.topic,
            delivered = report.delivered,
            bytes = report.delivered_bytes,
            invalid = report.invalid,
            elapsed_ms = report.elapsed.as_millis() as u64,
            "published"
        );
        Ok(report)
    }
}

/// The size to report progress against: the file's, unless it is compressed (then the
/// text's size is not known).
fn bytes_total(input: &InputFile, stamp: FileStamp) -> u64 {
    match input.compression() {
        InputCompression::None => stamp.0,
        _ => 0,
    }
}

fn note_invalid(report: &mut PublishReport, element: &Element<'_>) {
    let Some(invalid) = element.invalid else {
        return;
    };
    report.invalid += 1;
    if report.invalid_elements.len() < MAX_LISTED_INVALID {
        let at = element.position_at(invalid.at);
        tracing::debug!(element = element.index, %at, reason = invalid.reason, "sending an element that is not valid JSON");
        report.invalid_elements.push(InvalidElement {
            element_index: element.index,
            line: at.line,
            column: at.column,
            byte: at.byte,
            reason: invalid.reason.to_owned(),
        });
    }
}
