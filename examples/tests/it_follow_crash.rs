//! Crash test of `land --follow` against the real Kafka and HDFS of `scripts/test-cluster`:
//! killed with SIGKILL at random moments 24 times while a producer keeps writing, restarted
//! each time, with the NameNode restarted during one run and the broker during another. After
//! every kill Python `deltalake` sees whole committed ranges only; at the end every offset of
//! the topic is landed exactly once, byte for byte, and `verify` passes.
//!
//! Restarts use `scripts/test-cluster restart namenode|kafka`, so this file is its own test
//! binary (cargo runs test binaries one after another: no other test sees the restarts).
#![cfg(feature = "it")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Its own test binary: it restarts the NameNode and the broker, which the tests of
// tests/it (run in parallel in one process) must not see.
#[path = "it/common/mod.rs"]
mod common;

use common::*;
use examples::generator::Generator;
use rand::{Rng as _, SeedableRng as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const KILLS: usize = 24;

#[test]
fn sigkill_at_random_moments_with_namenode_and_broker_restarts_lands_every_offset_once() {
    let Case {
        topic,
        url,
        group,
        dir,
        rt,
    } = Case::new("it-crash", 4, &[]);

    // A producer that keeps writing (~300 events/s) until told to stop. Not idempotent: it
    // must keep delivering across the broker restart (see TestProducer::with_idempotence).
    let stop = Arc::new(AtomicBool::new(false));
    let producer = Arc::new(TestProducer::with_idempotence(false));
    let producer_thread = {
        let (stop, producer, topic) = (stop.clone(), producer.clone(), topic.clone());
        std::thread::spawn(move || {
            let mut produced = 0u64;
            for (i, e) in Generator::new(41, 1_000_000).enumerate() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                producer.send(
                    &topic,
                    Some(format!("k{}", i % 97).as_bytes()),
                    Some(e.as_bytes()),
                );
                produced += 1;
                if i % 30 == 29 {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
            producer.flush();
            produced
        })
    };

    // Static membership: a restarted process gets its partitions back at once (a killed
    // dynamic member would hold them until the session timeout).
    let extra = [
        "--instance-id",
        "crash-test",
        "--session-timeout",
        "10s",
        "--rotate-interval",
        "700ms",
    ];
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let mut restarts = Vec::new();
    let mut delivered_at_broker_restart = 0;
    for i in 0..KILLS {
        let mut f = Follower::spawn(dir.path(), &format!("run{i}"), &topic, &url, &group, &extra);
        if i == 8 {
            std::thread::sleep(Duration::from_millis(rng.random_range(800..2500)));
            restarts.push(("namenode", restart_cluster_service("namenode")));
        } else if i == 16 {
            std::thread::sleep(Duration::from_millis(rng.random_range(800..2500)));
            restarts.push(("kafka", restart_cluster_service("kafka")));
            delivered_at_broker_restart = producer.delivered();
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(300..3500)));
        f.assert_running();
        f.kill();
        // What another engine sees right after the kill: whole committed ranges only.
        let seen = assert_whole_ranges_by_deltalake(&url, &topic, 4);
        eprintln!("after kill {i}: {}", seen.trim().replace('\n', "; "));
    }
    let committed_during_crashes: i64 = committed_counts(&rt, &url, &topic).values().sum();

    stop.store(true, Ordering::Relaxed);
    let total = producer_thread.join().unwrap();
    assert_eq!(producer.delivered(), total, "flush delivered every message");
    assert!(
        total > delivered_at_broker_restart + 1000,
        "the producer delivered {} messages after the broker restart (of {total}): the test \
         did not land what was produced after it",
        total - delivered_at_broker_restart
    );

    // A last run, stopped cleanly once everything is committed.
    let mut f = Follower::spawn(dir.path(), "final", &topic, &url, &group, &extra);
    f.wait_landed(&rt, &url, &topic, Duration::from_secs(180));
    let (code, summary) = f.terminate(Duration::from_secs(60));
    assert_eq!(code, Some(0), "{summary}");

    // Row level: every offset of the topic exactly once (landed_raw asserts no duplicate),
    // with the produced bytes.
    // At least what was delivered (a retried message can be there twice, at two offsets).
    let in_kafka = topic_contents(&topic);
    assert!(
        in_kafka.len() as u64 >= total,
        "the topic holds {} messages of the {total} delivered",
        in_kafka.len()
    );
    let landed = landed_raw(&rt, &url);
    assert_eq!(landed.len(), in_kafka.len());
    assert!(
        landed == in_kafka,
        "landed rows differ from the topic's messages"
    );
    let seen = assert_whole_ranges_by_deltalake(&url, &topic, 4);
    eprintln!("Python deltalake after the final run:\n{seen}");
    let verified = verify_topic(&url, &topic);
    assert!(!verified.contains("VIOLATION"), "{verified}");
    assert!(
        committed_during_crashes > 0,
        "the killed runs committed nothing: the test did not exercise restarts"
    );
    eprintln!(
        "crash test: {total} events, {KILLS} kills, {committed_during_crashes} committed before \
         the final run, restarts {restarts:?}"
    );
}
