//! The `publish` program against the real Kafka of `scripts/test-cluster`, on files large
//! enough (> 8 MiB) for the validation pass to run on several threads: every event arrives
//! once, byte for byte as `jq -c` prints it; a malformed element late in the file publishes
//! nothing and is named by element index and byte offset; `--single-pass` sends what comes
//! before it, as documented.
#![cfg(feature = "it")]
#![allow(clippy::unwrap_used)]

mod common;

use common::{brokers, high_watermarks, topic_contents, unique};
use examples::generator::Generator;
use std::process::{Command, Output};

const EVENTS: usize = 5_000;
const BAD: usize = 4_000;

fn publish(topic: &str, input: &std::path::Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_publish"))
        .args([
            "--brokers",
            &brokers(),
            "--topic",
            topic,
            "--quiet",
            "--input",
        ])
        .arg(input)
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn sorted_values(topic: &str) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = topic_contents(topic)
        .into_values()
        .map(|p| p.unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn large_files_validate_in_parallel_and_publish_exactly_once() {
    let events: Vec<String> = Generator::new(5, EVENTS).collect();
    let dir = tempfile::tempdir().unwrap();
    let ndjson = dir.path().join("events.ndjson");
    let array = dir.path().join("events.json");
    std::fs::write(&ndjson, events.join("\n") + "\n").unwrap();
    std::fs::write(&array, format!("[\n{}\n]\n", events.join(",\n"))).unwrap();
    assert!(std::fs::metadata(&array).unwrap().len() > 8 << 20);
    let mut expected: Vec<Vec<u8>> = events.iter().map(|e| e.clone().into_bytes()).collect();
    expected.sort();

    for (name, input) in [("array", &array), ("ndjson", &ndjson)] {
        let topic = unique(&format!("it-publish-{name}"));
        let out = publish(&topic, input, &["--partitions", "4"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("{EVENTS} elements validated")),
            "{name}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("delivered {EVENTS} messages")),
            "{name}: {stderr}"
        );
        assert_eq!(sorted_values(&topic), expected, "{name}: values");
        assert_eq!(high_watermarks(&topic).len(), 4);
    }

    // A malformed element (a number with a letter in it) late in the file.
    let mut bad_events = events.clone();
    let e = &mut bad_events[BAD];
    let at = e.find("\"attempt\":").unwrap() + "\"attempt\":".len();
    e.insert(at + 1, 'x');
    let bad_ndjson = dir.path().join("bad.ndjson");
    let bad_array = dir.path().join("bad.json");
    std::fs::write(&bad_ndjson, bad_events.join("\n") + "\n").unwrap();
    std::fs::write(&bad_array, format!("[\n{}\n]\n", bad_events.join(",\n"))).unwrap();
    let before: usize = bad_events[..BAD].iter().map(|l| l.len() + 1).sum();
    for (name, input, start) in [
        ("array", &bad_array, 2 + before + BAD),
        ("ndjson", &bad_ndjson, before),
    ] {
        // `start` is the element's byte offset; the error names the token that starts at
        // the attempt value.
        let token = start + at;
        let topic = unique(&format!("it-publish-bad-{name}"));
        let out = publish(&topic, input, &["--partitions", "2"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("#{BAD} at byte {token}")),
            "{name}: expected element #{BAD} at byte {token}: {stderr}"
        );
        assert_eq!(
            high_watermarks(&topic).values().sum::<i64>(),
            0,
            "{name}: nothing published"
        );
    }

    // --single-pass: what comes before the malformed element is sent, then it stops.
    let topic = unique("it-publish-single");
    let out = publish(&topic, &bad_ndjson, &["--partitions", "2", "--single-pass"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("#{BAD} at byte")), "{stderr}");
    let mut first: Vec<Vec<u8>> = events[..BAD]
        .iter()
        .map(|e| e.clone().into_bytes())
        .collect();
    first.sort();
    assert_eq!(sorted_values(&topic), first);
}
