//! The crate's one error type.
//!
//! rdkafka's `KafkaError` is never part of this API: it is mapped at the boundary into a
//! [`BrokerError`] (librdkafka error code + message) carried by a variant that says what we
//! were doing and where (topic, partition, offset, element index). Problems with an input
//! file are the splitter's own [`json::Error`](crate::json::Error) (with its line, column
//! and byte), wrapped as [`Error::Input`].
//!
//! Every message is complete on its own (the broker error is part of it, in the `cause`
//! field, or `error` for I/O), so no variant also reports it as `source()`: printing an
//! error chain (e.g. with `anyhow`) shows it once.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use rdkafka::error::KafkaError;

use crate::json::Position;

/// Crate-local result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error reported by librdkafka or by a broker, detached from rdkafka's types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerError {
    /// librdkafka's numeric error code (`rd_kafka_resp_err_t`): negative values are local
    /// client errors (e.g. `-185` timed out), positive values are broker error codes
    /// (e.g. `10` message too large). `None` when the error carries no code.
    pub code: Option<i32>,
    /// Human readable description, as librdkafka renders it.
    pub message: String,
}

impl BrokerError {
    /// Whether this is librdkafka's "timed out" (local `-185` or broker `7` request timed out).
    pub fn is_timeout(&self) -> bool {
        matches!(self.code, Some(-185) | Some(7))
    }
}

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "{} (code {code})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for BrokerError {}

impl From<&KafkaError> for BrokerError {
    fn from(err: &KafkaError) -> Self {
        BrokerError {
            code: err.rdkafka_error_code().map(|c| c as i32),
            message: err.to_string(),
        }
    }
}

impl From<KafkaError> for BrokerError {
    fn from(err: KafkaError) -> Self {
        BrokerError::from(&err)
    }
}

impl From<rdkafka::types::RDKafkaErrorCode> for BrokerError {
    fn from(code: rdkafka::types::RDKafkaErrorCode) -> Self {
        BrokerError {
            code: Some(code as i32),
            message: code.to_string(),
        }
    }
}

/// Everything that can go wrong in `kafka-io`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is invalid (caught by `validate()` or by librdkafka at client
    /// creation).
    #[error("invalid configuration `{key}`: {reason}")]
    Config {
        /// The setting (our field name or the librdkafka property).
        key: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The cluster could not be reached (metadata request failed) within the timeout.
    #[error("cannot reach Kafka at {brokers} within {timeout:?}: {cause}")]
    Unreachable {
        /// The bootstrap servers that were tried.
        brokers: String,
        /// How long we waited.
        timeout: Duration,
        /// What librdkafka reported.
        cause: BrokerError,
    },

    /// The topic does not exist.
    #[error("topic `{topic}` does not exist")]
    TopicNotFound {
        /// Topic name.
        topic: String,
    },

    /// A partition named by the caller does not exist in the topic.
    #[error("topic `{topic}` has no partition {partition}")]
    UnknownPartition {
        /// Topic name.
        topic: String,
        /// The partition that was asked for.
        partition: i32,
    },

    /// An admin operation (create topic, ...) failed.
    #[error("{operation} `{topic}` failed: {cause}")]
    Admin {
        /// What was attempted, e.g. `"create topic"`.
        operation: &'static str,
        /// Topic name.
        topic: String,
        /// What the broker or librdkafka reported.
        cause: BrokerError,
    },

    /// Reading or examining a file failed outside the splitter (e.g. it changed between
    /// two passes).
    #[error("cannot read {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },

    /// The input file cannot be read or cut into elements (a JSON array whose structure is
    /// broken): the splitter's error, with the file and the position.
    #[error(transparent)]
    Input(#[from] crate::json::Error),

    /// The earlier form of a splitter error, still returned by
    /// `JsonElements::advance` for an element that is not valid JSON.
    #[doc(hidden)]
    #[error("malformed JSON element #{element_index} at byte {byte_offset}: {reason}")]
    Malformed {
        /// Zero-based index of the element in the file.
        element_index: u64,
        /// Byte offset in the file of the problem.
        byte_offset: u64,
        /// What is wrong.
        reason: String,
    },

    /// A message could not be enqueued or was not delivered.
    #[error(
        "delivery of element #{element_index}{} to `{topic}` failed ({failed} failed in \
         total): {cause}{}",
        at.map(|p| format!(" (at {p} of the input)")).unwrap_or_default(),
        delivery_hint(cause)
    )]
    Delivery {
        /// Topic name.
        topic: String,
        /// Zero-based index of the (first) failed element in the input.
        element_index: u64,
        /// Where the element starts in the input file, when the failure was immediate.
        at: Option<Position>,
        /// How many messages failed in total.
        failed: u64,
        /// The broker / librdkafka error of the first failure.
        cause: BrokerError,
    },

    /// Not every message was acknowledged before the flush timeout.
    #[error("{outstanding} messages to `{topic}` still unacknowledged after {timeout:?}")]
    FlushTimeout {
        /// Topic name.
        topic: String,
        /// Messages still in flight.
        outstanding: u64,
        /// How long we waited.
        timeout: Duration,
    },

    /// The requested start offset is below the partition's low watermark: the records in
    /// `[requested, low_watermark)` were deleted by retention before they were read.
    #[error(
        "retention gap in `{topic}` partition {partition}: offsets {requested}..{low_watermark} \
         no longer exist (requested {requested}, earliest available {low_watermark})"
    )]
    RetentionGap {
        /// Topic name.
        topic: String,
        /// Partition.
        partition: i32,
        /// The offset the caller asked to start from.
        requested: i64,
        /// The partition's low watermark (first offset still available).
        low_watermark: i64,
    },

    /// The requested start offset is beyond the partition's high watermark.
    #[error(
        "start offset {requested} of `{topic}` partition {partition} is beyond its end ({high_watermark})"
    )]
    OffsetOutOfRange {
        /// Topic name.
        topic: String,
        /// Partition.
        partition: i32,
        /// The offset the caller asked to start from.
        requested: i64,
        /// The partition's high watermark.
        high_watermark: i64,
    },

    /// Consuming failed.
    #[error("consuming `{topic}` partition {partition:?} failed: {cause}")]
    Consume {
        /// Topic name.
        topic: String,
        /// Partition, when the error is about one.
        partition: Option<i32>,
        /// What librdkafka reported.
        cause: BrokerError,
    },

    /// A bounded read made no progress for too long (broker down, partition without leader).
    #[error(
        "no progress on `{topic}` partition {partition} for {waited:?}: at offset {position}, \
         reading up to {end_offset}"
    )]
    Stalled {
        /// Topic name.
        topic: String,
        /// The first partition that has not reached its end.
        partition: i32,
        /// The next offset we expected.
        position: i64,
        /// The snapshot end (exclusive).
        end_offset: i64,
        /// How long nothing arrived.
        waited: Duration,
    },

    /// Committing offsets to the consumer group failed.
    #[error("commit to group `{group}` failed: {cause}")]
    Commit {
        /// Consumer group id.
        group: String,
        /// What librdkafka reported.
        cause: BrokerError,
    },

    /// The caller's rebalance handler failed; the partitions were paused and are not consumed.
    #[error("rebalance handler failed for `{topic}` partitions {partitions:?}: {reason}")]
    Rebalance {
        /// Topic name.
        topic: String,
        /// The partitions being assigned.
        partitions: Vec<i32>,
        /// The handler's reason.
        reason: String,
    },

    /// Any other librdkafka failure, with what we were doing.
    #[error("{operation} failed: {cause}")]
    Client {
        /// What was attempted.
        operation: &'static str,
        /// What librdkafka reported.
        cause: BrokerError,
    },
}

/// What to do about a delivery failure, where it is clear.
fn delivery_hint(cause: &BrokerError) -> &'static str {
    match cause.code {
        // MSG_SIZE_TOO_LARGE, from the broker or the client
        Some(10) => {
            "; the message is larger than the topic allows: raise the topic's \
             max.message.bytes (and the producer's max_message_bytes if it is lower)"
        }
        _ => "",
    }
}

impl Error {
    /// A delivery error with the position of its element in the input file.
    pub(crate) fn at(self, position: Position) -> Error {
        match self {
            Error::Delivery {
                topic,
                element_index,
                failed,
                cause,
                ..
            } => Error::Delivery {
                topic,
                element_index,
                at: Some(position),
                failed,
                cause,
            },
            other => other,
        }
    }

    pub(crate) fn client(operation: &'static str, err: impl Into<BrokerError>) -> Self {
        Error::Client {
            operation,
            cause: err.into(),
        }
    }

    pub(crate) fn config(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn gap_message_names_the_range() {
        let e = Error::RetentionGap {
            topic: "t".into(),
            partition: 3,
            requested: 10,
            low_watermark: 42,
        };
        let s = e.to_string();
        assert!(s.contains("`t` partition 3"), "{s}");
        assert!(s.contains("10..42"), "{s}");
    }

    #[test]
    fn a_too_large_message_says_what_to_do() {
        let e = Error::Delivery {
            topic: "t".into(),
            element_index: 7,
            at: Some(Position {
                line: 8,
                column: 1,
                byte: 900,
            }),
            failed: 1,
            cause: BrokerError {
                code: Some(10),
                message: "Broker: Message size too large".into(),
            },
        };
        let s = e.to_string();
        assert!(
            s.starts_with(
                "delivery of element #7 (at line 8, column 1 (byte 900) of the input) to `t`"
            ),
            "{s}"
        );
        assert!(s.contains("raise the topic's max.message.bytes"), "{s}");
    }

    #[test]
    fn broker_error_from_kafka_error_keeps_code() {
        let k =
            KafkaError::MessageProduction(rdkafka::types::RDKafkaErrorCode::MessageSizeTooLarge);
        let b = BrokerError::from(&k);
        assert_eq!(b.code, Some(10));
        assert!(b.to_string().contains("code 10"));
    }
}
