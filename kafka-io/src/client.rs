//! Shared client plumbing: librdkafka logs into `tracing`, metadata and watermark lookups,
//! and a tiny executor for rdkafka's admin futures (which complete on librdkafka's thread).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::client::Client;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaRespErr;

use crate::error::{BrokerError, Error, Result};

/// A [`ClientContext`] that forwards librdkafka's log lines and global errors to `tracing`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LogContext;

impl ClientContext for LogContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        forward_log(level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        forward_error(&error, reason);
    }
}

pub(crate) fn forward_log(level: RDKafkaLogLevel, fac: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => tracing::error!(target: "librdkafka", fac, "{message}"),
        RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", fac, "{message}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(target: "librdkafka", fac, "{message}")
        }
        RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", fac, "{message}"),
    }
}

pub(crate) fn forward_error(error: &KafkaError, reason: &str) {
    tracing::warn!(target: "librdkafka", %error, "{reason}");
}

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on the current thread (parking between polls).
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// Metadata of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionMeta {
    pub(crate) partition: i32,
    pub(crate) leader: i32,
    pub(crate) replicas: Vec<i32>,
    pub(crate) isr: Vec<i32>,
}

/// Fetches a topic's partitions. A metadata timeout is [`Error::Unreachable`]; an unknown
/// topic is [`Error::TopicNotFound`].
pub(crate) fn topic_partitions<C: ClientContext>(
    client: &Client<C>,
    brokers: &str,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<PartitionMeta>> {
    let md = client
        .fetch_metadata(Some(topic), timeout)
        .map_err(|e| Error::Unreachable {
            brokers: brokers.to_owned(),
            timeout,
            cause: BrokerError::from(e),
        })?;
    let Some(t) = md.topics().iter().find(|t| t.name() == topic) else {
        return Err(Error::TopicNotFound {
            topic: topic.to_owned(),
        });
    };
    match t.error() {
        None => {}
        Some(
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
            | RDKafkaRespErr::RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
        ) => {
            return Err(Error::TopicNotFound {
                topic: topic.to_owned(),
            });
        }
        Some(e) => {
            return Err(Error::Admin {
                operation: "describe topic",
                topic: topic.to_owned(),
                cause: BrokerError::from(rdkafka::types::RDKafkaErrorCode::from(e)),
            });
        }
    }
    if t.partitions().is_empty() {
        return Err(Error::TopicNotFound {
            topic: topic.to_owned(),
        });
    }
    let mut parts: Vec<PartitionMeta> = t
        .partitions()
        .iter()
        .map(|p| PartitionMeta {
            partition: p.id(),
            leader: p.leader(),
            replicas: p.replicas().to_vec(),
            isr: p.isr().to_vec(),
        })
        .collect();
    parts.sort_by_key(|p| p.partition);
    Ok(parts)
}

/// Fetches `(low, high)` watermarks of one partition, retrying transient leadership
/// errors (a just-created topic, a leader election) until `timeout`.
pub(crate) fn watermarks<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
    partition: i32,
    timeout: Duration,
) -> Result<(i64, i64)> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match client.fetch_watermarks(topic, partition, timeout) {
            Ok(w) => return Ok(w),
            Err(e) if is_transient(&e) && std::time::Instant::now() < deadline => {
                tracing::debug!(topic, partition, error = %e, "retrying watermarks");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => {
                return Err(Error::Consume {
                    topic: topic.to_owned(),
                    partition: Some(partition),
                    cause: BrokerError::from(e),
                });
            }
        }
    }
}

/// Leadership / metadata errors that resolve by themselves shortly.
pub(crate) fn is_transient(e: &KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode as C;
    matches!(
        e.rdkafka_error_code(),
        Some(
            C::UnknownTopicOrPartition
                | C::LeaderNotAvailable
                | C::NotLeaderForPartition
                | C::UnknownPartition
                | C::UnknownTopic
        )
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn block_on_runs_ready_and_pending_futures() {
        assert_eq!(block_on(async { 7 }), 7);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let h = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send(()).ok();
        });
        // A future that is pending until the other thread sends.
        let mut done = false;
        let fut = std::future::poll_fn(|cx| {
            if done || rx.try_recv().is_ok() {
                done = true;
                Poll::Ready(1)
            } else {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        });
        assert_eq!(block_on(fut), 1);
        h.join().ok();
    }
}
