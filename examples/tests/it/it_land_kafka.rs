//! `land --brokers` against the real Kafka and HDFS of `scripts/test-cluster`: events
//! produced by `kcat` (a client nobody here wrote) and by `publish` land exactly once into
//! HDFS; `verify` passes; the set of `keen_id`s equals what was produced; a re-run lands
//! nothing twice; bad messages land as rejects.
#![cfg(feature = "it")]
#![allow(clippy::unwrap_used)]

use crate::common::{brokers, hdfs, run, unique};
use examples::generator::Generator;
use hdfs_sink::{SinkConfig, Warehouse};
use std::collections::BTreeSet;
use std::io::Write as _;
use std::process::{Command, Stdio};

fn keen_ids(rt: &tokio::runtime::Runtime, url: &str) -> Vec<String> {
    rt.block_on(async {
        let wh = Warehouse::open(url, SinkConfig::builder().build().unwrap())
            .await
            .unwrap();
        let mut ids = Vec::new();
        for b in wh.read_committed("assessments").await.unwrap() {
            let c = b.column_by_name("keen_id").unwrap();
            let c = arrow_array::cast::AsArray::as_string::<i32>(c);
            ids.extend(c.iter().map(|s| s.unwrap().to_owned()));
        }
        ids
    })
}

#[test]
fn kcat_produced_events_land_exactly_once_in_hdfs() {
    let topic = unique("it-land-kcat");
    run(
        env!("CARGO_BIN_EXE_topic"),
        &[
            "--brokers",
            &brokers(),
            "create",
            "--topic",
            &topic,
            "--partitions",
            "4",
        ],
    );
    // 100,000 generated events (`IT_LAND_EVENTS` lowers it for a quick run), and
    // three bad messages, produced by kcat.
    let n: usize = std::env::var("IT_LAND_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let events: Vec<String> = Generator::new(11, n).collect();
    let mut kcat = Command::new("kcat")
        .args([
            "-P",
            "-b",
            &brokers(),
            "-t",
            &topic,
            "-K",
            "\t",
            "-z",
            "lz4",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .expect("kcat (scripts/setup installs it)");
    {
        let stdin = kcat.stdin.as_mut().unwrap();
        for (i, e) in events.iter().enumerate() {
            writeln!(stdin, "k{}\t{e}", i % 50).unwrap();
        }
        writeln!(stdin, "bad\t{{not json").unwrap();
        writeln!(stdin, "bad\t[1,2,3]").unwrap();
        writeln!(stdin, "bad\t{{\"keen_id\":7}}").unwrap();
    }
    assert!(kcat.wait().unwrap().success());

    let url = format!("{}/{}", hdfs(), unique("it-land-kcat-wh"));
    let summary = run(
        env!("CARGO_BIN_EXE_land"),
        &[
            "--brokers",
            &brokers(),
            "--topic",
            &topic,
            "--warehouse",
            &url,
        ],
    );
    assert!(
        summary.contains(&format!(
            "landed {} messages ({n} events, 3 rejects)",
            n + 3
        )),
        "{summary}"
    );
    // The invariants, raw = assessments + rejects per range, and every offset of the topic
    // up to its high watermarks committed with no gap.
    let verified = crate::common::verify_topic(&url, &topic);
    assert!(!verified.is_empty());

    let rt = tokio::runtime::Runtime::new().unwrap();
    let landed: Vec<String> = keen_ids(&rt, &url);
    let landed_set: BTreeSet<String> = landed.iter().cloned().collect();
    assert_eq!(landed.len(), landed_set.len(), "no keen_id twice");
    let produced: BTreeSet<String> = events
        .iter()
        .map(|e| {
            serde_json::from_str::<serde_json::Value>(e).unwrap()["keen_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(landed_set, produced);

    // Bounded and exactly once: a second run lands nothing.
    let again = run(
        env!("CARGO_BIN_EXE_land"),
        &[
            "--brokers",
            &brokers(),
            "--topic",
            &topic,
            "--warehouse",
            &url,
        ],
    );
    assert!(again.contains("landed 0 messages"), "{again}");
    assert_eq!(keen_ids(&rt, &url).len(), n);
}
