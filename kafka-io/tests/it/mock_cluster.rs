//! Tests against librdkafka's in-process mock cluster: fast, no services needed.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::common::{events, key_of, multiset, write_array, write_ndjson};
use kafka_io::{
    Admin, BoundedConsumer, BoundedOptions, Error, KafkaConfig, MockCluster, PublishOptions,
    Publisher, StartPosition,
};

/// (partition, offset, key, payload)
type Row = (i32, i64, Option<String>, String);

/// Reads everything up to the snapshot.
fn read_all(
    config: &KafkaConfig,
    topic: &str,
    start: StartPosition,
    options: BoundedOptions,
) -> (Vec<Row>, kafka_io::BoundedReport) {
    let mut c = BoundedConsumer::start(config, topic, start, options).unwrap();
    let mut out = Vec::new();
    while let Some(b) = c.next_batch().unwrap() {
        assert!(!b.is_empty());
        for m in b.iter() {
            out.push((
                m.partition,
                m.offset,
                m.key.map(|k| String::from_utf8(k.to_vec()).unwrap()),
                String::from_utf8_lossy(m.payload.unwrap()).into_owned(),
            ));
        }
    }
    (out, c.report())
}

fn check_round_trip(path_writer: fn(&std::path::Path, &[String]), n: usize) {
    let mock = MockCluster::start(1).unwrap();
    mock.create_topic("events", 4).unwrap();
    let config = mock.config();
    let evs = events(n, 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.json");
    path_writer(&path, &evs);

    let mut publisher = Publisher::new(&config, "events", PublishOptions::default()).unwrap();
    let report = publisher.publish_file(&path).unwrap();
    assert_eq!(report.delivered, n as u64);
    assert_eq!(report.elements, n as u64);
    assert_eq!(report.null_keys, 0);
    assert_eq!(report.partitions.values().sum::<u64>(), n as u64);
    assert_eq!(
        report.delivered_bytes,
        evs.iter().map(|e| e.len() as u64).sum::<u64>()
    );

    let (msgs, rep) = read_all(
        &config,
        "events",
        StartPosition::Earliest,
        BoundedOptions {
            max_batch_messages: 64,
            ..BoundedOptions::default()
        },
    );
    assert_eq!(rep.messages, n as u64);
    assert_eq!(msgs.len(), n);
    // Same multiset of values, byte for byte.
    assert_eq!(
        multiset(msgs.iter().map(|m| m.3.as_str())),
        multiset(evs.iter().map(String::as_str))
    );
    // Key = user_exam_id, and one key lives in one partition.
    let mut key_partition: HashMap<&str, i32> = HashMap::new();
    for (p, _, k, v) in &msgs {
        let k = k.as_deref().unwrap();
        assert_eq!(k, key_of(v));
        assert_eq!(*key_partition.entry(k).or_insert(*p), *p, "key {k} split");
    }
    // Within a partition: offsets contiguous from 0, file order kept.
    let mut per_part: BTreeMap<i32, Vec<(i64, &str)>> = BTreeMap::new();
    for (p, o, _, v) in &msgs {
        per_part.entry(*p).or_default().push((*o, v));
    }
    let position: HashMap<&str, usize> = evs
        .iter()
        .enumerate()
        .map(|(i, e)| (e.as_str(), i))
        .collect();
    for (p, list) in per_part {
        for (i, (o, v)) in list.iter().enumerate() {
            assert_eq!(*o, i as i64, "partition {p}");
            if i > 0 {
                assert!(
                    position[list[i - 1].1] < position[v],
                    "order in partition {p}"
                );
            }
        }
    }
}

#[test]
fn json_array_round_trip() {
    check_round_trip(write_array, 1000);
}

#[test]
fn ndjson_round_trip() {
    check_round_trip(write_ndjson, 500);
}

#[test]
fn empty_partitions_end_at_once() {
    let mock = MockCluster::start(1).unwrap();
    mock.create_topic("empty", 4).unwrap();
    let config = mock.config();
    let t = Instant::now();
    let (msgs, rep) = read_all(
        &config,
        "empty",
        StartPosition::Earliest,
        BoundedOptions::default(),
    );
    assert!(msgs.is_empty());
    assert_eq!(rep.ranges.len(), 4);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());

    // One non-empty partition among empty ones: the read ends as soon as it is drained.
    let evs = events(30, 30); // one key → one partition
    let mut p = Publisher::new(&config, "empty", PublishOptions::default()).unwrap();
    let r = p
        .publish_records(
            evs.iter()
                .map(|e| (Some(b"same-key".as_slice()), e.as_bytes())),
        )
        .unwrap();
    assert_eq!(r.partitions.len(), 1);
    let t = Instant::now();
    let (msgs, _) = read_all(
        &config,
        "empty",
        StartPosition::Earliest,
        BoundedOptions::default(),
    );
    assert_eq!(msgs.len(), 30);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[test]
fn bounded_read_stops_at_snapshot_while_producing() {
    let mock = MockCluster::start(1).unwrap();
    mock.create_topic("live", 2).unwrap();
    let config = mock.config();
    let evs = events(400, 1);
    let mut p = Publisher::new(&config, "live", PublishOptions::default()).unwrap();
    p.publish_records(evs.iter().map(|e| (None, e.as_bytes())))
        .unwrap();

    let mut c = BoundedConsumer::start(
        &config,
        "live",
        StartPosition::Earliest,
        BoundedOptions {
            max_batch_messages: 50,
            ..BoundedOptions::default()
        },
    )
    .unwrap();
    // Another producer keeps writing while we read.
    let brokers = config.brokers.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let writer = std::thread::spawn(move || {
        let config = KafkaConfig::new(brokers);
        let mut p = Publisher::new(&config, "live", PublishOptions::default()).unwrap();
        let evs = events(20, 1);
        let mut rounds = 0;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            p.publish_records(evs.iter().map(|e| (None, e.as_bytes())))
                .unwrap();
            rounds += 1;
        }
        rounds
    });
    let mut n = 0;
    let mut seen = std::collections::HashSet::new();
    while let Some(b) = c.next_batch().unwrap() {
        for m in b.iter() {
            assert!(seen.insert((m.partition, m.offset)), "duplicate");
            n += 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let rounds = writer.join().unwrap();
    assert!(rounds > 0);
    assert_eq!(n, 400);
    let positions = c.positions();
    assert_eq!(positions.values().sum::<i64>(), 400);

    // Resuming from the positions reads exactly what was written since.
    let d = Admin::new(&config).unwrap().describe("live").unwrap();
    let (msgs, rep) = read_all(
        &config,
        "live",
        StartPosition::Resume(positions.clone()),
        BoundedOptions::default(),
    );
    assert_eq!(msgs.len() as i64, d.retained_messages() - 400);
    for r in &rep.ranges {
        assert_eq!(r.start, positions[&r.partition]);
    }
    // Explicit offsets: only the listed partition, from the given offset. (Keyless messages
    // go to sticky random partitions: take the fuller one.)
    let fuller = d
        .partitions
        .iter()
        .max_by_key(|p| p.high_watermark)
        .unwrap();
    let (msgs, _) = read_all(
        &config,
        "live",
        StartPosition::Offsets(BTreeMap::from([(fuller.partition, 5)])),
        BoundedOptions::default(),
    );
    assert!(msgs.iter().all(|m| m.0 == fuller.partition && m.1 >= 5));
    assert_eq!(msgs.len() as i64, fuller.high_watermark - 5);
}

#[test]
fn retention_gap_is_detected() {
    // The mock keeps at most 5 MiB (compressed) per partition: 8 MiB of incompressible
    // 16 KiB values loses the oldest.
    let mock = MockCluster::start(1).unwrap();
    mock.create_topic("gap", 1).unwrap();
    let config = mock.config();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let values: Vec<Vec<u8>> = (0..512)
        .map(|_| {
            (0..16 * 1024)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect()
        })
        .collect();
    let mut p = Publisher::new(&config, "gap", PublishOptions::default()).unwrap();
    p.publish_records(values.iter().map(|v| (None, v.as_slice())))
        .unwrap();
    let d = Admin::new(&config).unwrap().describe("gap").unwrap();
    let (low, high) = (
        d.partitions[0].low_watermark,
        d.partitions[0].high_watermark,
    );
    assert_eq!(high, 512);
    assert!(low > 0, "mock retention should have dropped records");

    let err = BoundedConsumer::start(
        &config,
        "gap",
        StartPosition::Resume(BTreeMap::from([(0, 10)])),
        BoundedOptions::default(),
    )
    .unwrap_err();
    match err {
        Error::RetentionGap {
            ref topic,
            partition,
            requested,
            low_watermark,
        } => {
            assert_eq!((topic.as_str(), partition, requested), ("gap", 0, 10));
            assert_eq!(low_watermark, low);
        }
        e => panic!("unexpected {e}"),
    }

    let (msgs, rep) = read_all(
        &config,
        "gap",
        StartPosition::Resume(BTreeMap::from([(0, 10)])),
        BoundedOptions {
            accept_gaps: true,
            ..BoundedOptions::default()
        },
    );
    assert_eq!(rep.gaps.len(), 1);
    assert_eq!((rep.gaps[0].from, rep.gaps[0].to), (10, low));
    assert_eq!(msgs.len() as i64, high - low);
    assert_eq!(msgs[0].1, low);
}

#[test]
fn unreachable_cluster_fails_in_bounded_time() {
    let config = KafkaConfig {
        request_timeout: Duration::from_secs(2),
        ..KafkaConfig::new("127.0.0.1:1")
    };
    let t = Instant::now();
    let err = Admin::new(&config).unwrap().describe("x").unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    let err = BoundedConsumer::start(
        &config,
        "x",
        StartPosition::Earliest,
        BoundedOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());

    // Publishing to a dead broker fails with the element index, within message_timeout.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.ndjson");
    write_ndjson(&path, &events(3, 1));
    let mut p = Publisher::new(
        &config,
        "x",
        PublishOptions {
            message_timeout: Duration::from_secs(2),
            ..PublishOptions::default()
        },
    )
    .unwrap();
    let t = Instant::now();
    let err = p.publish_file(&path).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Delivery {
                element_index: 0,
                failed: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
}

#[test]
fn timestamp_start() {
    let mock = MockCluster::start(1).unwrap();
    mock.create_topic("ts", 1).unwrap();
    let config = mock.config();
    let evs = events(10, 1);
    let mut p = Publisher::new(&config, "ts", PublishOptions::default()).unwrap();
    p.publish_records(evs.iter().map(|e| (None, e.as_bytes())))
        .unwrap();
    let far_future = 4_102_444_800_000; // 2100-01-01
    let (msgs, _) = read_all(
        &config,
        "ts",
        StartPosition::Timestamp(far_future),
        BoundedOptions::default(),
    );
    assert!(msgs.is_empty());
    // The mock's ListOffsets answers -1 for every real timestamp, so a start from a
    // timestamp inside the data is covered by the integration tests (real Kafka).
}
