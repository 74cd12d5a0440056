//! `land --follow` against the real Kafka and HDFS of `scripts/test-cluster`: streaming in a
//! consumer group, wall-clock rotation, clean exit on SIGTERM (also while connecting), two
//! members sharing a topic, bad input through Kafka landing as rejects without stopping
//! anything, and `--tables` with `--without-sequences`.
#![cfg(feature = "it")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use examples::generator::Generator;
use std::collections::BTreeSet;
use std::time::Duration;

fn keen_id(event: &str) -> String {
    serde_json::from_str::<serde_json::Value>(event).unwrap()["keen_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn landed_keen_ids(rt: &tokio::runtime::Runtime, url: &str) -> Vec<String> {
    let wh = open_warehouse(rt, url);
    let mut ids = Vec::new();
    for b in rt.block_on(wh.read_committed("assessments")).unwrap() {
        let c = b.column_by_name("keen_id").unwrap();
        let c = arrow_array::cast::AsArray::as_string::<i32>(c);
        ids.extend(c.iter().map(|s| s.unwrap().to_owned()));
    }
    ids
}

#[test]
fn follow_streams_rotates_on_time_and_exits_cleanly_on_sigterm() {
    let Case {
        topic,
        url,
        group,
        dir,
        rt,
    } = Case::new("it-follow", 4, &[]);

    let events: Vec<String> = Generator::new(21, 3000).collect();
    let producer = TestProducer::new();
    // Half before the follower starts, half while it runs.
    for e in &events[..1500] {
        producer.send(&topic, Some(keen_id(e).as_bytes()), Some(e.as_bytes()));
    }
    producer.flush();
    // Chunks of 20 messages: the writer falls behind the consumer, whose hand-over then
    // waits for room in the channel (backpressure path) many times.
    let mut follower = Follower::spawn(
        dir.path(),
        "f",
        &topic,
        &url,
        &group,
        &["--chunk-messages", "20"],
    );
    std::thread::sleep(Duration::from_secs(2));
    follower.assert_running();
    for e in &events[1500..] {
        producer.send(&topic, Some(keen_id(e).as_bytes()), Some(e.as_bytes()));
    }
    producer.flush();
    // Wall-clock rotation (1 s) makes everything committed without more input.
    follower.wait_landed(&rt, &url, &topic, Duration::from_secs(90));
    follower.assert_running();

    let (code, summary) = follower.terminate(Duration::from_secs(30));
    assert_eq!(code, Some(0), "exit code; summary:\n{summary}");
    assert!(
        summary.contains("landed 3000 messages (3000 events, 0 rejects)"),
        "{summary}"
    );

    // Exactly the produced events, once each; the warehouse verifies, against the topic too.
    let landed = landed_keen_ids(&rt, &url);
    let set: BTreeSet<String> = landed.iter().cloned().collect();
    assert_eq!(landed.len(), set.len(), "no keen_id twice");
    let produced: BTreeSet<String> = events.iter().map(|e| keen_id(e)).collect();
    assert_eq!(set, produced);
    let verified = verify_topic(&url, &topic);
    assert!(
        verified.contains("reaches the high watermark"),
        "{verified}"
    );

    // Group offsets were committed after the markers (lag monitoring): they equal the ends.
    assert_eq!(
        group_offsets(&group, &topic, 4),
        high_watermarks(&topic),
        "group offsets"
    );

    // A restart in the same group lands nothing twice (positions come from the warehouse).
    let follower = Follower::spawn(dir.path(), "g", &topic, &url, &group, &[]);
    std::thread::sleep(Duration::from_secs(4));
    let (code, summary) = follower.terminate(Duration::from_secs(30));
    assert_eq!(code, Some(0));
    assert!(summary.contains("landed 0 messages"), "{summary}");

    // SIGTERM while it is still connecting (opening the tables, joining the group) is a
    // clean stop too: exit 0 with a summary, not death by the signal's default action.
    let mut follower = Follower::spawn(dir.path(), "h", &topic, &url, &group, &[]);
    std::thread::sleep(Duration::from_millis(150));
    follower.assert_running();
    let (code, summary) = follower.terminate(Duration::from_secs(30));
    assert_eq!(
        code,
        Some(0),
        "SIGTERM while connecting; summary:\n{summary}"
    );
    assert!(summary.contains("landed 0 messages"), "{summary}");
}

#[test]
fn two_members_share_a_topic_and_one_takes_over_when_the_other_leaves() {
    let Case {
        topic,
        url,
        group,
        dir,
        rt,
    } = Case::new("it-follow2", 4, &[]);
    let producer = TestProducer::new();
    let events: Vec<String> = Generator::new(22, 4000).collect();
    for (i, e) in events[..2000].iter().enumerate() {
        producer.send(&topic, Some(format!("k{i}").as_bytes()), Some(e.as_bytes()));
    }
    producer.flush();

    let mut a = Follower::spawn(dir.path(), "a", &topic, &url, &group, &[]);
    let mut b = Follower::spawn(dir.path(), "b", &topic, &url, &group, &[]);
    wait_landed(
        &rt,
        &url,
        &topic,
        Duration::from_secs(120),
        &mut [&mut a, &mut b],
    );
    // Both members take part: each logs an assignment with partitions (the second may join
    // after the first has landed the backlog alone).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    for f in [&a, &b] {
        while !std::fs::read_to_string(&f.stderr)
            .unwrap()
            .contains("partitions assigned")
        {
            assert!(std::time::Instant::now() < deadline, "{}", f.stderr_tail());
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let (code, summary_a) = a.terminate(Duration::from_secs(60));
    assert_eq!(code, Some(0));
    // b now owns all four partitions; more events arrive.
    for (i, e) in events[2000..].iter().enumerate() {
        producer.send(&topic, Some(format!("k{i}").as_bytes()), Some(e.as_bytes()));
    }
    producer.flush();
    b.wait_landed(&rt, &url, &topic, Duration::from_secs(120));
    let (code, summary_b) = b.terminate(Duration::from_secs(60));
    assert_eq!(code, Some(0));

    let landed = landed_keen_ids(&rt, &url);
    let set: BTreeSet<String> = landed.iter().cloned().collect();
    assert_eq!(landed.len(), 4000, "a:\n{summary_a}\nb:\n{summary_b}");
    assert_eq!(set, events.iter().map(|e| keen_id(e)).collect());
    // Row level: raw holds every offset of the topic exactly once, byte for byte.
    assert_eq!(landed_raw(&rt, &url), topic_contents(&topic));
}

#[test]
fn bad_input_through_kafka_lands_as_rejects_and_does_not_stop_the_pipeline() {
    // The 5 MB event must pass the broker: raise the topic's limit. It is a valid event (the
    // default value limit accepts every message a broker can deliver), not a reject.
    let Case {
        topic,
        url,
        group,
        dir,
        rt,
    } = Case::new("it-follow-bad", 1, &[("max.message.bytes", "8000000")]);
    let producer = TestProducer::new();
    let good: Vec<String> = Generator::new(23, 20).collect();
    let big = {
        // A valid-looking event padded to 5 MB with an unknown field.
        let e = &good[0];
        let pad = "x".repeat(5_000_000);
        format!("{{\"padding\":\"{pad}\",{}", &e[1..])
    };
    let wrong_type = good[1].replacen("\"keen_id\":\"", "\"keen_id\":12345,\"was\":\"", 1);
    let bad: Vec<(&str, Option<Vec<u8>>)> = vec![
        ("malformed_json", Some(b"{\"keen_id\": \"x\", ".to_vec())),
        ("invalid_utf8", Some(b"{\"keen_id\":\"\xff\xfe\"}".to_vec())),
        ("wrong_type", Some(wrong_type.into_bytes())),
        ("empty_value", Some(Vec::new())),
        ("empty_value", None),
    ];
    for e in &good[..10] {
        producer.send(&topic, None, Some(e.as_bytes()));
    }
    for (_, v) in &bad {
        producer.send(&topic, Some(b"a key"), v.as_deref());
    }
    producer.send(&topic, None, Some(big.as_bytes()));
    for e in &good[10..] {
        producer.send(&topic, None, Some(e.as_bytes()));
    }
    producer.flush();

    let mut f = Follower::spawn(dir.path(), "bad", &topic, &url, &group, &[]);
    f.wait_landed(&rt, &url, &topic, Duration::from_secs(90));
    let (code, summary) = f.terminate(Duration::from_secs(30));
    assert_eq!(code, Some(0));
    assert!(
        summary.contains("landed 26 messages (21 events, 5 rejects)"),
        "{summary}"
    );

    // Every bad message is one rejects row with its kind, at its offset; the valid events
    // after them landed.
    let wh = open_warehouse(&rt, &url);
    let mut kinds = Vec::new();
    for b in rt.block_on(wh.read_committed("rejects")).unwrap() {
        use arrow_array::cast::AsArray as _;
        let o = b
            .column_by_name("_offset")
            .unwrap()
            .as_primitive::<arrow_array::types::Int64Type>();
        let k = b.column_by_name("error_kind").unwrap();
        let k = arrow_cast::cast(k, &arrow_schema::DataType::Utf8).unwrap();
        let k = k.as_string::<i32>();
        let e = b.column_by_name("error").unwrap();
        let e = arrow_cast::cast(e, &arrow_schema::DataType::Utf8).unwrap();
        let e = e.as_string::<i32>();
        for i in 0..b.num_rows() {
            assert!(!e.value(i).is_empty());
            kinds.push((o.value(i), k.value(i).to_owned()));
        }
    }
    kinds.sort();
    let want: Vec<(i64, String)> = bad
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (10 + i as i64, (*k).to_owned()))
        .collect();
    assert_eq!(kinds, want);
    // 20 events plus the 5 MB one (a copy of the first event with a padding field).
    assert_eq!(landed_keen_ids(&rt, &url).len(), 21);
    let raw = landed_raw(&rt, &url);
    assert_eq!(raw.get(&(0, 15)), Some(&Some(big.into_bytes())));
    assert_eq!(raw, topic_contents(&topic));
    run(
        env!("CARGO_BIN_EXE_verify"),
        &["--warehouse", &url, "--balance", "raw=assessments+rejects"],
    );
}

#[test]
fn follow_lands_the_chosen_tables_without_sequences() {
    let Case {
        topic,
        url,
        group,
        dir,
        rt,
    } = Case::new("it-follow-flat", 2, &[]);

    let events: Vec<String> = Generator::new(23, 400).collect();
    let producer = TestProducer::new();
    for e in &events {
        producer.send(&topic, Some(keen_id(e).as_bytes()), Some(e.as_bytes()));
    }
    producer.flush();
    let mut follower = Follower::spawn(
        dir.path(),
        "flat",
        &topic,
        &url,
        &group,
        &[
            "--tables",
            "assessments,questions,options",
            "--without-sequences",
        ],
    );
    follower.wait_landed(&rt, &url, &topic, Duration::from_secs(90));
    let (code, summary) = follower.terminate(Duration::from_secs(30));
    assert_eq!(code, Some(0), "exit code; summary:\n{summary}");
    assert!(
        summary.contains("landed 400 messages (400 events, 0 rejects)"),
        "{summary}"
    );

    let wh = open_warehouse(&rt, &url);
    let assessments = rt.block_on(wh.read_committed("assessments")).unwrap();
    assert!(!assessments.is_empty());
    let mut questions_expected = 0i64;
    for b in &assessments {
        assert!(
            b.schema().column_with_name("sequences").is_none(),
            "flat assessments: {:?}",
            b.schema()
        );
        let counts = b.column_by_name("question_count").unwrap();
        let counts = arrow_array::cast::AsArray::as_primitive::<arrow_array::types::Int32Type>(
            counts.as_ref(),
        );
        questions_expected += counts.values().iter().map(|c| i64::from(*c)).sum::<i64>();
    }
    let rows = |t: &str| -> usize {
        rt.block_on(wh.read_committed(t))
            .unwrap()
            .iter()
            .map(arrow_array::RecordBatch::num_rows)
            .sum()
    };
    assert_eq!(rows("assessments"), 400);
    assert_eq!(rows("questions") as i64, questions_expected);
    assert!(rows("options") > rows("questions"));
    // `raw` was not landed: the ranges declare only the chosen tables.
    assert_eq!(rows("raw"), 0);
    let mut landed = landed_keen_ids(&rt, &url);
    landed.sort();
    let mut produced: Vec<String> = events.iter().map(|e| keen_id(e)).collect();
    produced.sort();
    assert_eq!(landed, produced, "every event once");
}
