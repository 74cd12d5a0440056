//! Integration tests against a real Kafka at `$IT_KAFKA_BROKERS` (default 127.0.0.1:9092),
//! e.g. the one `scripts/test-cluster up` starts. Run with `cargo test -p kafka-io --features it`.

use std::collections::{BTreeMap, HashMap};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{events, key_of, multiset, topic_name, write_array};
use kafka_io::{
    Admin, BoundedConsumer, BoundedOptions, CreateOutcome, Error, KafkaConfig, PublishOptions,
    Publisher, RebalanceEvent, RebalanceHandler, StartOffset, StartPosition, StreamingConsumer,
    StreamingOptions, TopicPartition, TopicSpec,
};

pub(crate) fn brokers() -> String {
    std::env::var("IT_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

pub(crate) fn config() -> KafkaConfig {
    KafkaConfig {
        request_timeout: Duration::from_secs(20),
        ..KafkaConfig::new(brokers())
    }
}

fn create(topic: &str, partitions: i32) -> Admin {
    let admin = Admin::new(&config()).unwrap();
    let (outcome, d) = admin
        .ensure_topic(&TopicSpec::new(topic, partitions).with_max_message_bytes(2 << 20))
        .unwrap();
    assert_eq!(outcome, CreateOutcome::Created);
    assert_eq!(d.partitions.len(), partitions as usize);
    admin
}

fn read_all(topic: &str, start: StartPosition) -> Vec<(i32, i64, String)> {
    let mut c = BoundedConsumer::start(&config(), topic, start, BoundedOptions::default()).unwrap();
    let mut out = Vec::new();
    while let Some(b) = c.next_batch().unwrap() {
        for m in b.iter() {
            out.push((
                m.partition,
                m.offset,
                String::from_utf8(m.payload.unwrap().to_vec()).unwrap(),
            ));
        }
    }
    out
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn publish_3280_events_kcat_prints_what_jq_prints() {
    let topic = topic_name("it-publish");
    let admin = create(&topic, 4);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.json");
    let evs = events(3280, 3);
    write_array(&file, &evs);

    let mut p = Publisher::new(&config(), &topic, PublishOptions::default()).unwrap();
    let report = p.publish_file(&file).unwrap();
    assert_eq!(report.delivered, 3280);
    assert_eq!(report.partitions.len(), 4);
    assert_eq!(admin.describe(&topic).unwrap().retained_messages(), 3280);

    let jq = Command::new("jq").args(["-c", ".[]"]).arg(&file).output();
    let kcat = Command::new("kcat")
        .args([
            "-C",
            "-b",
            &brokers(),
            "-t",
            &topic,
            "-o",
            "beginning",
            "-e",
            "-q",
        ])
        .args(["-f", "%p\t%k\t%s\n"])
        .output();
    let (Ok(jq), Ok(kcat)) = (jq, kcat) else {
        eprintln!("jq or kcat not installed: comparing with our own consumer only");
        let got = read_all(&topic, StartPosition::Earliest);
        assert_eq!(
            multiset(got.iter().map(|m| m.2.as_str())),
            multiset(evs.iter().map(String::as_str))
        );
        return;
    };
    assert!(
        kcat.status.success(),
        "{}",
        String::from_utf8_lossy(&kcat.stderr)
    );
    let jq_lines = lines(&jq.stdout);
    assert_eq!(jq_lines, evs, "the generated events are jq-compact");
    let kcat_rows = lines(&kcat.stdout);
    assert_eq!(kcat_rows.len(), 3280);
    let mut values = Vec::new();
    let mut key_partition: HashMap<String, String> = HashMap::new();
    let mut per_partition: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let index: HashMap<&str, usize> = jq_lines
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i))
        .collect();
    for row in &kcat_rows {
        let mut it = row.splitn(3, '\t');
        let (p, k, v) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
        assert_eq!(k, key_of(v));
        let prev = key_partition.insert(k.to_owned(), p.to_owned());
        assert!(prev.is_none_or(|q| q == p), "key {k} in two partitions");
        per_partition
            .entry(p.to_owned())
            .or_default()
            .push(index[v]);
        values.push(v.to_owned());
    }
    // Same lines as jq, and within each partition in file order.
    assert_eq!(
        multiset(values.iter().map(String::as_str)),
        multiset(jq_lines.iter().map(String::as_str))
    );
    for (p, idx) in per_partition {
        assert!(
            idx.windows(2).all(|w| w[0] < w[1]),
            "partition {p} out of order"
        );
    }
    admin.delete_topic(&topic).unwrap();
}

/// A client queue far smaller than the input: every send after the first few finds it full
/// and waits for delivery reports. Everything is still delivered once, and each key's
/// messages stay in the order they were sent.
#[test]
fn publish_through_a_tiny_client_queue_delivers_everything_once_in_order() {
    let topic = topic_name("it-tinyq");
    let admin = create(&topic, 2);
    let evs = events(600, 4);
    let keys: Vec<String> = evs.iter().map(|e| key_of(e)).collect();
    let options = PublishOptions {
        queue_max_messages: 8,
        linger: Duration::from_millis(1),
        ..PublishOptions::default()
    };
    let mut p = Publisher::new(&config(), &topic, options).unwrap();
    let report = p
        .publish_records(
            keys.iter()
                .zip(&evs)
                .map(|(k, e)| (Some(k.as_bytes()), e.as_bytes())),
        )
        .unwrap();
    assert_eq!(report.delivered, 600);

    let mut got = read_all(&topic, StartPosition::Earliest);
    assert_eq!(
        multiset(got.iter().map(|(_, _, v)| v.as_str())),
        multiset(evs.iter().map(String::as_str))
    );
    got.sort_by_key(|(p, o, _)| (*p, *o));
    let mut sent_by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, e) in keys.iter().zip(&evs) {
        sent_by_key.entry(k).or_default().push(e);
    }
    let mut read_by_key: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (_, _, v) in &got {
        read_by_key.entry(key_of(v)).or_default().push(v);
    }
    assert_eq!(read_by_key.len(), sent_by_key.len());
    for (k, sent) in &sent_by_key {
        assert_eq!(&read_by_key[*k], sent, "order of key {k}");
    }
    admin.delete_topic(&topic).unwrap();
}

#[test]
fn bounded_read_stops_at_snapshot_and_resumes() {
    let topic = topic_name("it-bounded");
    let admin = create(&topic, 3);
    let evs = events(3000, 1);
    let mut p = Publisher::new(&config(), &topic, PublishOptions::default()).unwrap();
    p.publish_records(evs.iter().map(|e| (Some(e.as_bytes()), e.as_bytes())))
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let t2 = topic.clone();
    let writer = std::thread::spawn(move || {
        let mut p = Publisher::new(&config(), &t2, PublishOptions::default()).unwrap();
        let evs = events(50, 1);
        let mut n = 0u64;
        while !stop2.load(Ordering::Relaxed) {
            n += p
                .publish_records(evs.iter().map(|e| (Some(e.as_bytes()), e.as_bytes())))
                .unwrap()
                .delivered;
        }
        n
    });
    std::thread::sleep(Duration::from_millis(200));
    let before = admin.describe(&topic).unwrap();
    let t = Instant::now();
    let mut c = BoundedConsumer::start(
        &config(),
        &topic,
        StartPosition::Earliest,
        BoundedOptions {
            max_batch_messages: 100,
            ..BoundedOptions::default()
        },
    )
    .unwrap();
    let mut seen = std::collections::HashSet::new();
    while let Some(b) = c.next_batch().unwrap() {
        for m in b.iter() {
            assert!(seen.insert((m.partition, m.offset)), "duplicate");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let written_meanwhile = writer.join().unwrap();
    assert!(written_meanwhile > 0);
    let planned: i64 = c.ranges().iter().map(|r| r.len()).sum();
    assert_eq!(
        seen.len() as i64,
        planned,
        "every message in range exactly once"
    );
    assert!(planned >= before.retained_messages());
    assert!(elapsed < Duration::from_secs(60));

    // Resume from the positions: exactly the rest.
    let positions = c.positions();
    let after = admin.describe(&topic).unwrap();
    let rest = read_all(&topic, StartPosition::Resume(positions.clone()));
    assert_eq!(rest.len() as i64, after.retained_messages() - planned);
    for (pt, o, _) in &rest {
        assert!(*o >= positions[pt]);
        assert!(!seen.contains(&(*pt, *o)));
    }
    admin.delete_topic(&topic).unwrap();
}

#[test]
fn timestamp_start_and_gap_after_delete_records() {
    let topic = topic_name("it-ts");
    let admin = create(&topic, 1);
    let evs = events(20, 1);
    let mut p = Publisher::new(&config(), &topic, PublishOptions::default()).unwrap();
    p.publish_records(evs[..10].iter().map(|e| (None, e.as_bytes())))
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    std::thread::sleep(Duration::from_millis(50));
    p.publish_records(evs[10..].iter().map(|e| (None, e.as_bytes())))
        .unwrap();
    let got = read_all(&topic, StartPosition::Timestamp(now_ms));
    assert_eq!(got.len(), 10);
    assert_eq!(got[0].1, 10);
    assert_eq!(got[0].2, evs[10]);

    // Records deleted below offset 5 (as retention would): a resume from 2 is a gap.
    assert_eq!(admin.delete_records(&topic, 0, 5).unwrap(), 5);
    let err = BoundedConsumer::start(
        &config(),
        &topic,
        StartPosition::Resume(BTreeMap::from([(0, 2)])),
        BoundedOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::RetentionGap {
                partition: 0,
                requested: 2,
                low_watermark: 5,
                ..
            }
        ),
        "{err}"
    );
    let mut c = BoundedConsumer::start(
        &config(),
        &topic,
        StartPosition::Resume(BTreeMap::from([(0, 2)])),
        BoundedOptions {
            accept_gaps: true,
            ..BoundedOptions::default()
        },
    )
    .unwrap();
    let mut n = 0;
    while let Some(b) = c.next_batch().unwrap() {
        n += b.len();
    }
    assert_eq!(n, 15);
    let r = c.report();
    assert_eq!((r.gaps[0].from, r.gaps[0].to), (2, 5));
    admin.delete_topic(&topic).unwrap();
}

#[derive(Clone, Default)]
struct Sink {
    durable: Arc<Mutex<BTreeMap<TopicPartition, i64>>>,
    assigned: Arc<Mutex<Vec<TopicPartition>>>,
    revoked: Arc<Mutex<Vec<TopicPartition>>>,
}

impl RebalanceHandler for Sink {
    fn assigned(
        &mut self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, StartOffset>, String> {
        self.assigned.lock().unwrap().extend_from_slice(partitions);
        let d = self.durable.lock().unwrap();
        Ok(partitions
            .iter()
            .map(|tp| {
                (
                    tp.clone(),
                    d.get(tp)
                        .map_or(StartOffset::Earliest, |o| StartOffset::Offset(*o)),
                )
            })
            .collect())
    }
    fn revoked(&mut self, partitions: &[TopicPartition]) {
        self.revoked.lock().unwrap().extend_from_slice(partitions);
    }
}

#[test]
fn two_group_members_split_then_hand_over_with_caller_offsets() {
    let topic = topic_name("it-group");
    let admin = create(&topic, 4);
    let group = topic_name("it-grp");
    let evs = events(400, 1);
    let mut p = Publisher::new(&config(), &topic, PublishOptions::default()).unwrap();
    let rep = p
        .publish_records(evs.iter().map(|e| (Some(e.as_bytes()), e.as_bytes())))
        .unwrap();
    assert_eq!(rep.partitions.len(), 4);
    let opts = || StreamingOptions {
        session_timeout: Duration::from_secs(10),
        max_batch_wait: Duration::from_millis(200),
        ..StreamingOptions::new(&group)
    };
    let h1 = Sink::default();
    let h2 = Sink::default();
    let mut c1 = StreamingConsumer::new(&config(), &[&topic], opts(), h1.clone()).unwrap();
    let mut c2 = StreamingConsumer::new(&config(), &[&topic], opts(), h2.clone()).unwrap();
    let mut got1: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    let t = Instant::now();
    loop {
        assert!(t.elapsed() < Duration::from_secs(90), "no split");
        for b in c1.poll_batches().unwrap() {
            got1.entry(b.partition())
                .or_default()
                .extend(b.iter().map(|m| m.offset));
        }
        c2.poll_batches().unwrap();
        let (a1, a2) = (c1.assignment().unwrap(), c2.assignment().unwrap());
        if !a1.is_empty() && !a2.is_empty() && a1.len() + a2.len() == 4 {
            break;
        }
    }
    // Member 1 commits what it read; the group now has commits for its partitions.
    let commits: Vec<(TopicPartition, i64)> = got1
        .iter()
        .filter(|(_, o)| !o.is_empty())
        .map(|(p, o)| (TopicPartition::new(&topic, *p), o.last().unwrap() + 1))
        .collect();
    if !commits.is_empty() {
        c1.commit(&commits).unwrap();
    }
    // Member 2's sink says every partition is durable up to offset 7: that, not the
    // group's commits, is where it must start after the hand-over.
    for p in 0..4 {
        h2.durable
            .lock()
            .unwrap()
            .insert(TopicPartition::new(&topic, p), 7);
    }
    c2.take_events();
    c1.close(Duration::from_secs(20)).unwrap();
    let t = Instant::now();
    let mut first: BTreeMap<i32, i64> = BTreeMap::new();
    let mut handed_over = false;
    loop {
        assert!(
            t.elapsed() < Duration::from_secs(90),
            "no hand-over: {first:?}"
        );
        let batches = c2.poll_batches().unwrap();
        // Batches returned together with the assignment event are from after it (data
        // buffered before an assignment is dropped by the consumer).
        for ev in c2.take_events() {
            if let RebalanceEvent::Assigned(ps) = ev
                && ps.len() == 4
            {
                handed_over = true;
                first.clear();
            }
        }
        if !handed_over {
            continue;
        }
        for b in batches {
            first
                .entry(b.partition())
                .or_insert(b.first_offset().unwrap());
        }
        if first.len() == 4 {
            break;
        }
    }
    for (p, o) in &first {
        assert_eq!(*o, 7, "partition {p} started at the caller's offset");
    }
    let committed = c2
        .committed(
            &(0..4)
                .map(|p| TopicPartition::new(&topic, p))
                .collect::<Vec<_>>(),
            Duration::from_secs(10),
        )
        .unwrap();
    for (tp, o) in &commits {
        assert_eq!(committed[tp], Some(*o));
    }
    c2.close(Duration::from_secs(20)).unwrap();
    admin.delete_topic(&topic).unwrap();
}

#[test]
fn create_topic_with_config_and_describe() {
    let topic = topic_name("it-admin");
    let admin = Admin::new(&config()).unwrap();
    let spec = TopicSpec::new(&topic, 3).with_config("max.message.bytes", "2097152");
    assert_eq!(admin.create_topic(&spec).unwrap(), CreateOutcome::Created);
    assert_eq!(
        admin.create_topic(&spec).unwrap(),
        CreateOutcome::AlreadyExists
    );
    let (_, d) = admin.ensure_topic(&spec).unwrap();
    assert_eq!(d.partitions.len(), 3);
    assert!(
        d.partitions
            .iter()
            .all(|p| p.leader >= 0 && p.high_watermark == 0)
    );
    // A 1.5 MB message fits because of max.message.bytes (the broker default is 1 MiB).
    let big = format!(
        "{{\"user_exam_id\":\"big\",\"pad\":\"{}\"}}",
        "x".repeat(1_500_000)
    );
    let mut p = Publisher::new(
        &config(),
        &topic,
        PublishOptions {
            compression: kafka_io::Compression::None,
            max_message_bytes: 2_000_000,
            batch_bytes: 2_000_000,
            ..PublishOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        p.publish_records([(Some(&b"big"[..]), big.as_bytes())])
            .unwrap()
            .delivered,
        1
    );
    assert!(matches!(
        admin.describe("no-such-topic-kafka-io"),
        Err(Error::TopicNotFound { .. })
    ));
    admin.delete_topic(&topic).unwrap();
}
