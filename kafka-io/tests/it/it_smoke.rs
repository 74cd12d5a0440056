//! Smoke test against a real Kafka broker (`scripts/test-cluster up`), with rdkafka directly:
//! create a fresh topic, produce keyed messages, read them back from the beginning with
//! `assign`, and check payloads, keys, partitions and offsets. Also checks that the broker
//! accepts a message of several MB (the test cluster allows 16 MiB).
//!
//! Runs only with `--features it`; the broker is `$IT_KAFKA_BROKERS` (default 127.0.0.1:9092).

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::util::Timeout;

const PARTITIONS: i32 = 3;
const TIMEOUT: Duration = Duration::from_secs(30);

fn brokers() -> String {
    std::env::var("IT_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_string())
}

/// A topic name no other run has used: test name + time + pid.
fn unique_topic(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("it-smoke-{prefix}-{nanos}-{}", std::process::id())
}

fn admin() -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .expect("admin client")
}

async fn create_topic(topic: &str, partitions: i32) {
    let opts = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    let results = admin()
        .create_topics(
            &[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))],
            &opts,
        )
        .await
        .unwrap_or_else(|e| {
            panic!(
                "create_topics on {}: {e} (is the test cluster up? scripts/test-cluster up)",
                brokers()
            )
        });
    for r in results {
        let name = r.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
        assert_eq!(name, topic);
    }
}

fn producer(max_message_bytes: usize) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("message.max.bytes", max_message_bytes.to_string())
        .set("message.timeout.ms", "30000")
        .create()
        .expect("producer")
}

fn consumer(topic: &str, partitions: i32) -> BaseConsumer {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", format!("{topic}-reader"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("fetch.message.max.bytes", (16 * 1024 * 1024).to_string())
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("add partition");
    }
    consumer.assign(&tpl).expect("assign");
    consumer
}

/// (partition, offset, key, payload, header "n")
type Got = (i32, i64, Vec<u8>, Vec<u8>, Option<Vec<u8>>);

/// Poll until `want` messages arrived. An empty poll is not the end (it may have served a
/// non-message event), so this loops on a deadline.
fn read_n(consumer: &BaseConsumer, want: usize) -> Vec<Got> {
    let deadline = Instant::now() + TIMEOUT;
    let mut got = Vec::new();
    while got.len() < want {
        assert!(
            Instant::now() < deadline,
            "only {} of {want} messages after {TIMEOUT:?}",
            got.len()
        );
        match consumer.poll(Duration::from_millis(500)) {
            None => continue,
            Some(Err(e)) => panic!("consume error: {e}"),
            Some(Ok(m)) => {
                let n = m.headers().and_then(|h| {
                    h.iter()
                        .find(|h| h.key == "n")
                        .and_then(|h| h.value.map(<[u8]>::to_vec))
                });
                got.push((
                    m.partition(),
                    m.offset(),
                    m.key().unwrap_or_default().to_vec(),
                    m.payload().unwrap_or_default().to_vec(),
                    n,
                ));
            }
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_and_consume_keyed_messages_on_a_fresh_topic() {
    let topic = unique_topic("keyed");
    create_topic(&topic, PARTITIONS).await;

    // 12 messages, 4 keys; each is sent to partition (i % PARTITIONS) so every partition
    // gets contiguous offsets 0..4 and the expected offsets are known exactly.
    let producer = producer(1024 * 1024);
    let mut sent: BTreeMap<(i32, i64), (String, String, String)> = BTreeMap::new();
    let mut next_offset = [0i64; PARTITIONS as usize];
    for i in 0..12i32 {
        let key = format!("user-{}", i % 4);
        let payload = format!(r#"{{"keen_id":"k{i}","n":{i}}}"#);
        let n = i.to_string();
        let partition = i % PARTITIONS;
        let record = FutureRecord::to(&topic)
            .key(&key)
            .payload(&payload)
            .partition(partition)
            .headers(OwnedHeaders::new().insert(Header {
                key: "n",
                value: Some(n.as_str()),
            }));
        let delivery = producer
            .send(record, Timeout::After(TIMEOUT))
            .await
            .unwrap_or_else(|(e, _)| panic!("produce message {i}: {e}"));
        assert_eq!(delivery.partition, partition);
        let expected_offset = next_offset[partition as usize];
        assert_eq!(
            delivery.offset, expected_offset,
            "offsets start at 0 and are contiguous on a fresh topic"
        );
        next_offset[partition as usize] += 1;
        sent.insert((partition, delivery.offset), (key, payload, n));
    }
    producer.flush(TIMEOUT).expect("flush");

    // Watermarks agree with what was produced.
    let reader = consumer(&topic, PARTITIONS);
    for p in 0..PARTITIONS {
        let (low, high) = reader
            .fetch_watermarks(&topic, p, TIMEOUT)
            .expect("watermarks");
        assert_eq!((low, high), (0, 4), "watermarks of partition {p}");
    }

    let got = read_n(&reader, sent.len());
    assert_eq!(got.len(), 12);
    let mut last_offset = [-1i64; PARTITIONS as usize];
    for (partition, offset, key, payload, n) in got {
        let (want_key, want_payload, want_n) = sent
            .remove(&(partition, offset))
            .unwrap_or_else(|| panic!("unexpected or duplicate message at {partition}/{offset}"));
        assert_eq!(String::from_utf8_lossy(&key), want_key);
        assert_eq!(String::from_utf8_lossy(&payload), want_payload);
        assert_eq!(n.as_deref(), Some(want_n.as_bytes()));
        assert_eq!(
            offset,
            last_offset[partition as usize] + 1,
            "in-order, gap-free offsets within partition {partition}"
        );
        last_offset[partition as usize] = offset;
    }
    assert!(sent.is_empty(), "messages not read back: {sent:?}");
    // Nothing more than what was produced.
    assert!(
        reader
            .poll(Duration::from_millis(500))
            .is_none_or(|r| r.is_err()),
        "read more messages than produced"
    );

    let metadata = reader
        .fetch_metadata(Some(&topic), TIMEOUT)
        .expect("metadata");
    assert_eq!(metadata.topics().len(), 1);
    assert_eq!(metadata.topics()[0].partitions().len(), PARTITIONS as usize);
    assert!(!metadata.brokers().is_empty());

    let _ = admin()
        .delete_topics(&[topic.as_str()], &AdminOptions::new())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_accepts_a_six_megabyte_message() {
    let topic = unique_topic("large");
    create_topic(&topic, 1).await;

    let size = 6 * 1024 * 1024;
    let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let producer = producer(16 * 1024 * 1024);
    let delivery = producer
        .send(
            FutureRecord::to(&topic).key("big").payload(&payload),
            Timeout::After(TIMEOUT),
        )
        .await
        .unwrap_or_else(|(e, _)| {
            panic!("produce a 6 MiB message: {e} (broker message.max.bytes too small?)")
        });
    assert_eq!((delivery.partition, delivery.offset), (0, 0));

    let reader = consumer(&topic, 1);
    let got = read_n(&reader, 1);
    assert_eq!(got[0].2, b"big");
    assert_eq!(got[0].3.len(), size);
    assert!(got[0].3 == payload, "6 MiB payload read back intact");

    let _ = admin()
        .delete_topics(&[topic.as_str()], &AdminOptions::new())
        .await;
}
