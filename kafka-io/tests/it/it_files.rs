//! Event files through the real Kafka: the quirky NDJSON file arrives line for line
//! (compared with `kcat -P` as the producer), and a 2.1 MB event goes through when the
//! topic allows it, read back by both consumers although it is larger than their fetch
//! sizes.

use std::process::Command;
use std::time::{Duration, Instant};

use kafka_io::{
    Admin, BoundedOptions, CreateOutcome, Error, PublishOptions, Publisher, StartAll, StartOffset,
    StreamingConsumer, StreamingOptions, TopicSpec,
};

use crate::common::{adversarial_ndjson, events, multiset, read_values, topic_name};
use crate::it_kafka::{brokers, config};

fn create(topic: &str, max_message_bytes: Option<usize>) -> Admin {
    let admin = Admin::new(&config()).unwrap();
    let mut spec = TopicSpec::new(topic, 2);
    if let Some(bytes) = max_message_bytes {
        spec = spec.with_max_message_bytes(bytes);
    }
    assert_eq!(admin.create_topic(&spec).unwrap(), CreateOutcome::Created);
    admin
}

#[test]
fn every_ndjson_line_arrives_as_it_is_and_as_kcat_sends_it() {
    let (file, expected) = adversarial_ndjson();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quirks.ndjson");
    std::fs::write(&path, &file).unwrap();
    let topic = topic_name("it-quirks");
    let admin = create(&topic, None);
    let report = Publisher::new(&config(), &topic, PublishOptions::default())
        .unwrap()
        .publish_file(&path)
        .unwrap();
    assert_eq!(
        (report.delivered, report.invalid),
        (expected.len() as u64, 4)
    );
    let ours = read_values(&config(), &topic);
    assert_eq!(
        multiset(ours.iter().map(|(_, v)| v.as_slice())),
        multiset(expected.iter().map(Vec::as_slice))
    );
    admin.delete_topic(&topic).unwrap();

    // kcat sends every line as it is, `\r`, byte-order mark and surrounding spaces
    // included, and skips only empty lines: on a file with LF line ends and nothing around
    // the values, the two producers send the same messages.
    let plain: Vec<u8> = expected.join(&b"\n\n"[..]);
    let plain_path = dir.path().join("plain.ndjson");
    std::fs::write(&plain_path, &plain).unwrap();
    let kcat_topic = topic_name("it-quirks-kcat");
    let ours_topic = topic_name("it-quirks-ours");
    let admin = create(&kcat_topic, None);
    create(&ours_topic, None);
    let kcat = Command::new("kcat")
        .args(["-P", "-b", &brokers(), "-t", &kcat_topic, "-l"])
        .arg(&plain_path)
        .output();
    let Ok(kcat) = kcat else {
        eprintln!("kcat not installed: skipping the comparison");
        return;
    };
    assert!(
        kcat.status.success(),
        "{}",
        String::from_utf8_lossy(&kcat.stderr)
    );
    Publisher::new(&config(), &ours_topic, PublishOptions::default())
        .unwrap()
        .publish_file(&plain_path)
        .unwrap();
    let (theirs, ours) = (
        read_values(&config(), &kcat_topic),
        read_values(&config(), &ours_topic),
    );
    assert_eq!(theirs.len(), expected.len());
    assert_eq!(
        multiset(theirs.iter().map(|(_, v)| v.as_slice())),
        multiset(ours.iter().map(|(_, v)| v.as_slice()))
    );
    admin.delete_topic(&kcat_topic).unwrap();
    admin.delete_topic(&ours_topic).unwrap();
}

#[test]
fn a_big_event_goes_through_when_the_topic_allows_it() {
    let mut evs = events(5, 1);
    // Random letters: lz4 barely compresses them, so the batch stays over 2 MB (a topic's
    // max.message.bytes limits the compressed batch).
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let name: String = (0..2_100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect();
    evs[2] = evs[2].replacen("\"exam_name\":\"", &format!("\"exam_name\":\"{name}"), 1);
    assert!(evs[2].len() > 2_100_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.ndjson");
    std::fs::write(&path, evs.join("\n")).unwrap();

    // A topic at Kafka's default limit (1 MiB) refuses it, and the error says what to do.
    let small = topic_name("it-big-refused");
    let admin = create(&small, Some(1 << 20));
    let err = Publisher::new(&config(), &small, PublishOptions::default())
        .unwrap()
        .publish_file(&path)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Delivery {
                element_index: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("max.message.bytes"), "{err}");
    admin.delete_topic(&small).unwrap();

    // A topic configured for 10 MB takes it; the consumers fetch 1 MiB per partition and
    // still deliver it whole.
    let topic = topic_name("it-big");
    let admin = create(&topic, Some(10 << 20));
    let report = Publisher::new(&config(), &topic, PublishOptions::default())
        .unwrap()
        .publish_file(&path)
        .unwrap();
    assert_eq!(report.delivered, 5);
    let small_fetch = BoundedOptions {
        fetch_partition_bytes: 1 << 20,
        max_batch_bytes: 1 << 20,
        ..BoundedOptions::default()
    };
    let mut bounded = kafka_io::BoundedConsumer::start(
        &config(),
        &topic,
        kafka_io::StartPosition::Earliest,
        small_fetch,
    )
    .unwrap();
    let mut got = Vec::new();
    while let Some(b) = bounded.next_batch().unwrap() {
        got.extend(b.iter().map(|m| m.payload.unwrap().to_vec()));
    }
    assert_eq!(
        multiset(got.iter().map(Vec::as_slice)),
        multiset(evs.iter().map(String::as_bytes))
    );

    let options = StreamingOptions {
        fetch_partition_bytes: 1 << 20,
        max_prefetch_bytes: 1 << 20,
        max_batch_wait: Duration::from_millis(200),
        ..StreamingOptions::new(topic_name("it-big-group"))
    };
    let mut streaming = StreamingConsumer::new(
        &config(),
        &[&topic],
        options,
        StartAll(StartOffset::Earliest),
    )
    .unwrap();
    let mut streamed = Vec::new();
    let t = Instant::now();
    while streamed.len() < 5 {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "{} of 5",
            streamed.len()
        );
        for b in streaming.poll_batches().unwrap() {
            streamed.extend(b.iter().map(|m| m.payload.unwrap().to_vec()));
        }
    }
    assert_eq!(
        multiset(streamed.iter().map(Vec::as_slice)),
        multiset(got.iter().map(Vec::as_slice))
    );
    streaming.close(Duration::from_secs(20)).unwrap();
    admin.delete_topic(&topic).unwrap();
}
