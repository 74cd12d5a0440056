//! Enqueueing messages and accounting for their delivery reports.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;

use crate::client::{forward_error, forward_log};
use crate::error::{BrokerError, Error, Result};

/// What the delivery reports of one publish call said.
#[derive(Debug, Default)]
pub(super) struct DeliveryState {
    pub(super) delivered: u64,
    pub(super) bytes: u64,
    pub(super) partitions: BTreeMap<i32, u64>,
    pub(super) failed: u64,
    pub(super) first_failure: Option<(u64, BrokerError)>,
}

/// The producer's context: counts delivery reports (the opaque is the element index).
#[derive(Debug, Default)]
pub(super) struct DeliveryContext {
    state: Mutex<DeliveryState>,
}

impl DeliveryContext {
    pub(super) fn lock(&self) -> MutexGuard<'_, DeliveryState> {
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

/// How long to let librdkafka's threads work before serving delivery reports again, when the
/// local queue is full or the last reports are awaited.
pub(super) const WAIT_STEP: Duration = Duration::from_millis(1);

/// Sleeps `wait`, then serves every delivery report that has arrived.
///
/// Not `BaseProducer::poll(wait)`: rust-rdkafka hands librdkafka the time left in whole
/// milliseconds and loops until its deadline, so once less than 1 ms is left it calls
/// `rd_kafka_queue_poll(.., 0)` in a busy loop, taking the CPU that librdkafka's broker
/// thread (which compresses the batches) and a broker on the same machine need.
pub(super) fn wait_and_serve(producer: &BaseProducer<DeliveryContext>, wait: Duration) {
    std::thread::sleep(wait);
    serve_ready(producer);
}

/// Serves the delivery reports already queued, without waiting: `poll(0)` serves at most one
/// event (one batch of reports), so repeat while the outstanding count goes down.
pub(super) fn serve_ready(producer: &BaseProducer<DeliveryContext>) {
    loop {
        let before = producer.in_flight_count();
        producer.poll(Duration::ZERO);
        if before <= 0 || producer.in_flight_count() >= before {
            return;
        }
    }
}

/// Enqueues one message, waiting (serving delivery reports) while the local queue is full.
///
/// # Errors
/// [`Error::Delivery`] if librdkafka refuses the message, or if it can never fit the queue
/// (larger than [`crate::PublishOptions::queue_max_bytes`]).
pub(super) fn send_one(
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
    let failed = |cause: BrokerError| Error::Delivery {
        topic: topic.to_owned(),
        element_index,
        at: None,
        failed: 1,
        cause,
    };
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                if producer.in_flight_count() <= 0 {
                    // The queue is empty and still refuses it: it never will take it.
                    return Err(failed(BrokerError {
                        code: Some(RDKafkaErrorCode::QueueFull as i32),
                        message: format!(
                            "a message of {} bytes is larger than the producer's queue: \
                             raise queue_max_bytes",
                            value.len() + key.map_or(0, <[u8]>::len)
                        ),
                    }));
                }
                record = r;
                wait_and_serve(producer, WAIT_STEP);
            }
            Err((e, _)) => return Err(failed(e.into())),
        }
    }
}
