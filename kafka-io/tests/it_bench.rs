//! Throughput against the real Kafka, side by side with `kcat` in the same run:
//!
//! ```text
//! cargo test --release -p kafka-io --features it --test it_bench -- --ignored --nocapture
//! ```
//!
//! `IT_BENCH_EVENTS` sets the event count (default 100,000).
#![cfg(feature = "it")]
#![allow(clippy::unwrap_used, unreachable_pub, clippy::print_stderr)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kafka_io::{
    Admin, BoundedConsumer, BoundedOptions, KafkaConfig, PublishOptions, Publisher, StartPosition,
    TopicSpec,
};

fn brokers() -> String {
    std::env::var("IT_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

fn line(what: &str, n: u64, bytes: u64, d: Duration) {
    let s = d.as_secs_f64();
    eprintln!(
        "{what:<44} {n:>8} msgs {:>8.1} MB {s:>7.2} s {:>10.0} msg/s {:>7.1} MB/s",
        bytes as f64 / 1e6,
        n as f64 / s,
        bytes as f64 / 1e6 / s
    );
}

#[test]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
fn publish_and_consume_throughput_vs_kcat() {
    let n: usize = std::env::var("IT_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let config = KafkaConfig::new(brokers());
    let admin = Admin::new(&config).unwrap();
    let ours = common::topic_name("bench-ours");
    let theirs = common::topic_name("bench-kcat");
    for t in [&ours, &theirs] {
        admin.ensure_topic(&TopicSpec::new(t, 4)).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let array = dir.path().join("events.json");
    let ndjson = dir.path().join("events.ndjson");
    let evs = common::events(n, 3);
    common::write_array(&array, &evs);
    common::write_ndjson(&ndjson, &evs);
    let payload_bytes: u64 = evs.iter().map(|e| e.len() as u64).sum();
    drop(evs);
    eprintln!(
        "{n} events, {:.1} MB of values; array file {:.1} MB",
        payload_bytes as f64 / 1e6,
        std::fs::metadata(&array).unwrap().len() as f64 / 1e6
    );

    // The local cost of reading the file: split + validate + locate the key, and the same
    // plus serde_json's validation (what the splitter replaces).
    for (what, serde) in [
        ("read: split+validate+key (array)", false),
        ("read: same + serde_json check", true),
    ] {
        let t = Instant::now();
        let f = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&array).unwrap());
        let mut it = kafka_io::json::JsonElements::new(f, kafka_io::json::InputFormat::JsonArray)
            .with_key_field(Some("user_exam_id"));
        let (mut k, mut b) = (0u64, 0u64);
        while let Some(e) = it.next_element().unwrap() {
            assert!(e.key().is_some());
            if serde {
                kafka_io::json::extract_key(e.bytes, None).unwrap();
            }
            k += 1;
            b += e.bytes.len() as u64;
        }
        line(what, k, b, t.elapsed());
    }

    // Publish: ours (JSON array, validated first, keyed, idempotent, lz4).
    let mut p = Publisher::new(&config, &ours, PublishOptions::default()).unwrap();
    let t = Instant::now();
    let r = p.publish_file(&array).unwrap();
    line(
        "kafka-io publish (array, validate+key+idem)",
        r.delivered,
        r.delivered_bytes,
        t.elapsed(),
    );
    assert_eq!(r.delivered, n as u64);

    // Publish: kcat from the NDJSON file (jq already done), lz4, no key.
    let t = Instant::now();
    let st = Command::new("kcat")
        .args(["-P", "-b", &brokers(), "-t", &theirs, "-z", "lz4", "-l"])
        .arg(&ndjson)
        .status();
    let Ok(st) = st else {
        eprintln!("kcat not installed: no comparison");
        return;
    };
    assert!(st.success());
    line(
        "kcat -P -z lz4 -l (ndjson)",
        n as u64,
        payload_bytes,
        t.elapsed(),
    );
    assert_eq!(
        admin.describe(&theirs).unwrap().retained_messages(),
        n as i64
    );

    // The recipe being replaced: jq splits the array, kcat publishes.
    let t = Instant::now();
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "jq -c '.[]' '{}' | kcat -P -b '{}' -t '{}' -z lz4",
            array.display(),
            brokers(),
            theirs
        ))
        .status()
        .unwrap();
    assert!(st.success());
    line(
        "jq -c '.[]' (array) | kcat -P -z lz4",
        n as u64,
        payload_bytes,
        t.elapsed(),
    );

    // Same input format for both: ours from the NDJSON file, no validation pass.
    let mut p2 = Publisher::new(
        &config,
        &theirs,
        PublishOptions::builder()
            .with_validate_first(false)
            .build()
            .unwrap(),
    )
    .unwrap();
    let t = Instant::now();
    let r = p2.publish_file(&ndjson).unwrap();
    line(
        "kafka-io publish (ndjson, no validation)",
        r.delivered,
        r.delivered_bytes,
        t.elapsed(),
    );

    // Consume: ours, bounded earliest -> snapshot.
    let t = Instant::now();
    let mut c = BoundedConsumer::start(
        &config,
        &ours,
        StartPosition::Earliest,
        BoundedOptions::default(),
    )
    .unwrap();
    let (mut msgs, mut bytes) = (0u64, 0u64);
    while let Some(b) = c.next_batch().unwrap() {
        msgs += b.len() as u64;
        bytes += b
            .iter()
            .map(|m| m.payload.map_or(0, <[u8]>::len) as u64)
            .sum::<u64>();
    }
    line("kafka-io bounded consume", msgs, bytes, t.elapsed());
    assert_eq!(msgs, n as u64);

    // Consume: kcat to /dev/null.
    let t = Instant::now();
    let st = Command::new("kcat")
        .args([
            "-C",
            "-b",
            &brokers(),
            "-t",
            &ours,
            "-o",
            "beginning",
            "-e",
            "-q",
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    line(
        "kcat -C -o beginning -e > /dev/null",
        n as u64,
        payload_bytes,
        t.elapsed(),
    );

    for t in [&ours, &theirs] {
        admin.delete_topic(t).unwrap();
    }
}
