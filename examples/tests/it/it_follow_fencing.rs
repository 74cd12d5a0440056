//! Two `land --follow` members against the real Kafka and HDFS of `scripts/test-cluster`: a
//! member stalled (SIGSTOP) with a range open while the other takes its partitions and
//! commits is fenced when it wakes up; SIGTERM to every member at once leaves nothing
//! unlanded.
#![cfg(feature = "it")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use examples::generator::Generator;
use std::process::Command;
use std::time::{Duration, Instant};

fn signal(f: &Follower, sig: &str) {
    let pid = f.child.id().to_string();
    assert!(
        Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap()
            .success()
    );
}

fn wait_for_log(f: &Follower, needle: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !std::fs::read_to_string(&f.stderr)
        .unwrap_or_default()
        .contains(needle)
    {
        assert!(
            Instant::now() < deadline,
            "no {needle:?} within {timeout:?}:\n{}",
            f.stderr_tail()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn produce(topic: &str, events: &[String]) {
    let producer = TestProducer::new();
    for (i, e) in events.iter().enumerate() {
        producer.send(topic, Some(format!("k{i}").as_bytes()), Some(e.as_bytes()));
    }
    producer.flush();
}

#[test]
fn a_stalled_member_that_wakes_up_after_a_takeover_is_fenced() {
    let Case {
        topic,
        url,
        group,
        dir,
        rt,
    } = Case::new("it-zombie", 2, &[]);
    let events: Vec<String> = Generator::new(31, 1500).collect();
    produce(&topic, &events);

    // The zombie-to-be reads everything but commits only after a minute: its ranges stay open.
    let a = Follower::spawn(
        dir.path(),
        "a",
        &topic,
        &url,
        &group,
        &["--rotate-interval", "60s", "--session-timeout", "6s"],
    );
    wait_for_log(&a, "partitions assigned", Duration::from_secs(60));
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        committed_counts(&rt, &url, &topic)
            .values()
            .all(|n| *n == 0),
        "a committed before it was stopped"
    );
    signal(&a, "-STOP");

    // The group moves a's partitions to b once a's session expires; b lands and commits them.
    let mut b = Follower::spawn(dir.path(), "b", &topic, &url, &group, &[]);
    b.wait_landed(&rt, &url, &topic, Duration::from_secs(120));

    // a wakes up with its ranges open, over offsets b has committed: its commits are refused.
    signal(&a, "-CONT");
    wait_for_log(&a, "fenced", Duration::from_secs(60));
    let (code_a, _) = a.terminate(Duration::from_secs(60));
    let (code_b, _) = b.terminate(Duration::from_secs(60));
    assert_eq!(code_b, Some(0));
    assert!(code_a.is_some(), "a did not exit by itself after SIGTERM");

    // Every offset exactly once (landed_raw asserts that no offset is there twice).
    let landed = landed_raw(&rt, &url);
    assert_eq!(landed, topic_contents(&topic));
    let verified = verify_topic(&url, &topic);
    assert!(!verified.contains("VIOLATION"), "{verified}");
}

#[test]
fn sigterm_to_every_member_at_once_leaves_nothing_unlanded() {
    let Case {
        topic,
        url,
        group,
        dir,
        rt,
    } = Case::new("it-sigterm-all", 4, &[]);
    let events: Vec<String> = Generator::new(32, 4000).collect();
    produce(&topic, &events[..2000]);
    // Long rotation: whatever is landed at the end was committed by the SIGTERM path.
    let extra = ["--rotate-interval", "120s"];
    let a = Follower::spawn(dir.path(), "a", &topic, &url, &group, &extra);
    let b = Follower::spawn(dir.path(), "b", &topic, &url, &group, &extra);
    wait_for_log(&a, "partitions assigned", Duration::from_secs(60));
    wait_for_log(&b, "partitions assigned", Duration::from_secs(60));
    produce(&topic, &events[2000..]);
    std::thread::sleep(Duration::from_secs(6));
    signal(&a, "-TERM");
    signal(&b, "-TERM");
    for f in [a, b] {
        let (code, summary) = f.terminate_signalled(Duration::from_secs(60));
        assert_eq!(code, Some(0), "{summary}");
    }
    let want = high_watermarks(&topic);
    let got = committed_counts(&rt, &url, &topic);
    assert_eq!(
        got, want,
        "committed through vs the topic's high watermarks"
    );
    let verified = verify_topic(&url, &topic);
    assert!(!verified.contains("VIOLATION"), "{verified}");
    assert_eq!(landed_raw(&rt, &url), topic_contents(&topic));
}
