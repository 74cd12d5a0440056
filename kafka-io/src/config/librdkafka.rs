//! The translation of the typed settings into librdkafka client configurations: the only
//! place where librdkafka's property names appear.

use std::time::Duration;

use rdkafka::ClientConfig;

use super::{
    AssignmentStrategy, BoundedOptions, Compression, Isolation, KafkaConfig, Partitioner,
    PublishOptions, StreamingOptions,
};

/// librdkafka properties set from typed fields; [`KafkaConfig::extra`] may not set them.
const OWNED_KEYS: &[&str] = &[
    "bootstrap.servers",
    "client.id",
    "group.id",
    "group.instance.id",
    "enable.idempotence",
    "acks",
    "compression.type",
    "linger.ms",
    "batch.size",
    "queue.buffering.max.messages",
    "queue.buffering.max.kbytes",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "partitioner",
    "message.max.bytes",
    "receive.message.max.bytes",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "enable.partition.eof",
    "auto.offset.reset",
    "isolation.level",
    "session.timeout.ms",
    "max.poll.interval.ms",
    "max.partition.fetch.bytes",
    "queued.max.messages.kbytes",
    "fetch.queue.backoff.ms",
    "partition.assignment.strategy",
    "socket.connection.setup.timeout.ms",
    "reconnect.backoff.ms",
    "allow.auto.create.topics",
];

/// Topic config key for the largest record batch a topic accepts.
pub(crate) const TOPIC_MAX_MESSAGE_BYTES: &str = "max.message.bytes";

/// The consumers' limit on one fetch response: librdkafka's maximum. Fetch limits
/// (`max.partition.fetch.bytes`, `fetch.max.bytes`) are soft (the first batch of a fetch
/// comes whole however large), but a response larger than this would be refused, and
/// with it every message the topic's `max.message.bytes` allows beyond it.
const RECEIVE_MESSAGE_MAX_BYTES: &str = "2147483647";

/// Whether a typed setting owns librdkafka property `key`.
pub(crate) fn is_owned(key: &str) -> bool {
    OWNED_KEYS.contains(&key)
}

fn millis(d: Duration) -> String {
    d.as_millis().max(1).to_string()
}

/// The configuration common to all clients.
fn base(k: &KafkaConfig) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &k.brokers)
        .set("client.id", &k.client_id)
        .set(
            "socket.connection.setup.timeout.ms",
            millis(k.request_timeout),
        )
        .set("reconnect.backoff.ms", millis(k.reconnect_backoff));
    for (key, v) in &k.extra {
        c.set(key, v);
    }
    c
}

fn isolation(i: Isolation) -> &'static str {
    match i {
        Isolation::ReadCommitted => "read_committed",
        Isolation::ReadUncommitted => "read_uncommitted",
    }
}

fn compression(c: Compression) -> &'static str {
    match c {
        Compression::None => "none",
        Compression::Gzip => "gzip",
        Compression::Snappy => "snappy",
        Compression::Lz4 => "lz4",
        Compression::Zstd => "zstd",
    }
}

pub(crate) fn admin_client_config(k: &KafkaConfig) -> ClientConfig {
    let mut c = base(k);
    // Describing a missing topic must not create it (brokers auto-create by default).
    c.set("allow.auto.create.topics", "false");
    c
}

pub(crate) fn producer_client_config(k: &KafkaConfig, p: &PublishOptions) -> ClientConfig {
    let mut c = base(k);
    c.set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", compression(p.compression))
        .set("linger.ms", millis(p.linger).as_str())
        .set("batch.size", p.batch_bytes.to_string())
        .set(
            "queue.buffering.max.messages",
            p.queue_max_messages.to_string(),
        )
        .set(
            "queue.buffering.max.kbytes",
            (p.queue_max_bytes / 1024).to_string(),
        )
        .set("message.max.bytes", p.max_message_bytes.to_string())
        .set("message.timeout.ms", millis(p.message_timeout))
        .set(
            "partitioner",
            match p.partitioner {
                Partitioner::Murmur2Random => "murmur2_random",
                Partitioner::ConsistentRandom => "consistent_random",
            },
        );
    c
}

/// Settings both consumers share: nothing committed or stored automatically, never a
/// silent jump, never a topic created by reading it, any message the broker delivers.
fn consumer(
    k: &KafkaConfig,
    group: &str,
    iso: Isolation,
    fetch_partition_bytes: usize,
) -> ClientConfig {
    let mut c = base(k);
    c.set("group.id", group)
        .set("allow.auto.create.topics", "false")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        // An out-of-range fetch must surface as an error, never jump silently.
        .set("auto.offset.reset", "error")
        .set("isolation.level", isolation(iso))
        .set(
            "max.partition.fetch.bytes",
            fetch_partition_bytes.to_string(),
        )
        .set("receive.message.max.bytes", RECEIVE_MESSAGE_MAX_BYTES);
    c
}

pub(crate) fn bounded_consumer_client_config(k: &KafkaConfig, b: &BoundedOptions) -> ClientConfig {
    // No group: partitions are `assign`ed with explicit offsets; nothing is committed.
    let group = format!("{}-bounded", k.client_id);
    let mut c = consumer(k, &group, b.isolation, b.fetch_partition_bytes);
    c.set("enable.partition.eof", "true")
        .set("fetch.queue.backoff.ms", millis(b.fetch_queue_backoff));
    c
}

pub(crate) fn streaming_consumer_client_config(
    k: &KafkaConfig,
    s: &StreamingOptions,
) -> ClientConfig {
    let mut c = consumer(k, &s.group_id, s.isolation, s.fetch_partition_bytes);
    if let Some(id) = &s.instance_id {
        c.set("group.instance.id", id);
    }
    c.set("enable.partition.eof", "false")
        .set("session.timeout.ms", millis(s.session_timeout))
        .set("max.poll.interval.ms", millis(s.max_poll_interval))
        .set(
            "queued.max.messages.kbytes",
            (s.max_prefetch_bytes / 1024).max(1).to_string(),
        )
        .set("fetch.queue.backoff.ms", millis(s.fetch_queue_backoff))
        .set(
            "partition.assignment.strategy",
            match s.assignment_strategy {
                AssignmentStrategy::Eager => "range,roundrobin",
                AssignmentStrategy::CooperativeSticky => "cooperative-sticky",
            },
        );
    c
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::{StreamingOptions, TopicSpec};

    fn with_extra(key: &str, value: &str) -> KafkaConfig {
        let mut k = KafkaConfig::new("b:9092");
        k.extra.insert(key.to_owned(), value.to_owned());
        k
    }

    #[test]
    fn extra_cannot_override_owned_keys() {
        let err = with_extra("enable.auto.commit", "true")
            .validate()
            .unwrap_err();
        assert!(matches!(err, Error::Config { ref key, .. } if key == "enable.auto.commit"));
        let mut ok = with_extra("security.protocol", "SASL_SSL");
        ok.extra.insert("sasl.mechanism".into(), "PLAIN".into());
        ok.validate().unwrap();
        let c = producer_client_config(&ok, &PublishOptions::default());
        assert_eq!(c.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(c.get("enable.idempotence"), Some("true"));
        assert_eq!(c.get("compression.type"), Some("lz4"));
        // The prefetch, reconnect and size settings are typed.
        for key in [
            "queued.max.messages.kbytes",
            "fetch.queue.backoff.ms",
            "reconnect.backoff.ms",
            "receive.message.max.bytes",
        ] {
            assert!(with_extra(key, "1").validate().is_err(), "{key}");
        }
    }

    #[test]
    fn validation() {
        assert!(KafkaConfig::new(" ").validate().is_err());
        let p = PublishOptions {
            key_field: Some(String::new()),
            ..PublishOptions::default()
        };
        assert!(p.validate().is_err());
        let b = BoundedOptions {
            max_batch_messages: 0,
            ..BoundedOptions::default()
        };
        assert!(b.validate().is_err());
        assert!(StreamingOptions::new("").validate().is_err());
        assert!(TopicSpec::new("a b", 1).validate().is_err());
        assert!(TopicSpec::new("ok.topic-1", 4).validate().is_ok());
        for backoff in [Duration::ZERO, Duration::from_secs(11)] {
            let k = KafkaConfig {
                reconnect_backoff: backoff,
                ..KafkaConfig::new("b:1")
            };
            assert!(k.validate().is_err(), "{backoff:?}");
        }
        let slow = Duration::from_secs(301);
        let b = BoundedOptions {
            fetch_queue_backoff: slow,
            ..BoundedOptions::default()
        };
        assert!(b.validate().is_err());
        let s = StreamingOptions {
            fetch_queue_backoff: slow,
            ..StreamingOptions::new("g")
        };
        assert!(s.validate().is_err());
    }

    #[test]
    fn client_configs() {
        let k = KafkaConfig::new("b:1");
        let s = streaming_consumer_client_config(&k, &StreamingOptions::new("g"));
        assert_eq!(s.get("enable.auto.commit"), Some("false"));
        assert_eq!(s.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(s.get("queued.max.messages.kbytes"), Some("16384"));
        assert_eq!(s.get("fetch.queue.backoff.ms"), Some("10"));
        let b = bounded_consumer_client_config(&k, &BoundedOptions::default());
        assert_eq!(b.get("fetch.queue.backoff.ms"), Some("10"));
        let b = BoundedOptions {
            fetch_queue_backoff: Duration::from_millis(250),
            ..BoundedOptions::default()
        };
        let b = bounded_consumer_client_config(&k, &b);
        assert_eq!(b.get("fetch.queue.backoff.ms"), Some("250"));
        // Consumers take any message the broker delivers; the producer sends any message
        // the topic accepts.
        for c in [&s, &b] {
            assert_eq!(c.get("receive.message.max.bytes"), Some("2147483647"));
        }
        let p = producer_client_config(&k, &PublishOptions::default());
        assert_eq!(p.get("queue.buffering.max.kbytes"), Some("32768"));
        assert_eq!(p.get("message.max.bytes"), Some("1000000000"));
        assert_eq!(p.get("enable.idempotence"), Some("true"));
        // Every client reconnects after 10 ms by default.
        for c in [&p, &admin_client_config(&k), &b, &s] {
            assert_eq!(c.get("reconnect.backoff.ms"), Some("10"));
        }
        let k = KafkaConfig {
            reconnect_backoff: Duration::from_millis(250),
            ..KafkaConfig::new("b:1")
        };
        assert_eq!(
            admin_client_config(&k).get("reconnect.backoff.ms"),
            Some("250")
        );
    }
}
