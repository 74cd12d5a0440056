//! Consumer-group tests against the mock cluster: assignment surfaced to the caller,
//! caller-supplied start offsets, commits, hand-over when a member leaves.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_io::{
    MockCluster, PublishOptions, Publisher, RebalanceEvent, RebalanceHandler, StartOffset,
    StreamingConsumer, StreamingOptions, TopicPartition,
};

/// Plays the sink: starts each partition at its "durable" next offset (earliest if none).
#[derive(Clone, Default)]
struct SinkHandler {
    durable: Arc<Mutex<BTreeMap<TopicPartition, i64>>>,
    assigned: Arc<Mutex<Vec<TopicPartition>>>,
    revoked: Arc<Mutex<Vec<TopicPartition>>>,
}

impl RebalanceHandler for SinkHandler {
    fn assigned(
        &mut self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, StartOffset>, String> {
        self.assigned.lock().unwrap().extend_from_slice(partitions);
        let durable = self.durable.lock().unwrap();
        Ok(partitions
            .iter()
            .map(|tp| {
                let s = durable
                    .get(tp)
                    .map_or(StartOffset::Earliest, |o| StartOffset::Offset(*o));
                (tp.clone(), s)
            })
            .collect())
    }
    fn revoked(&mut self, partitions: &[TopicPartition]) {
        self.revoked.lock().unwrap().extend_from_slice(partitions);
    }
}

fn options(group: &str) -> StreamingOptions {
    StreamingOptions {
        session_timeout: Duration::from_secs(6),
        max_batch_wait: Duration::from_millis(200),
        ..StreamingOptions::new(group)
    }
}

#[test]
fn group_assignment_seek_commit_and_handover() {
    let mock = MockCluster::start(1).unwrap();
    mock.create_topic("g", 4).unwrap();
    let config = mock.config();
    let evs = crate::common::events(200, 1);
    let mut p = Publisher::new(&config, "g", PublishOptions::default()).unwrap();
    let rep = p
        .publish_records(evs.iter().map(|e| (Some(e.as_bytes()), e.as_bytes())))
        .unwrap();
    assert_eq!(rep.delivered, 200);
    let high: BTreeMap<i32, u64> = rep.partitions.clone();

    // Partition 0 was landed up to offset 10 already: the sink says "start at 10".
    let h1 = SinkHandler::default();
    h1.durable
        .lock()
        .unwrap()
        .insert(TopicPartition::new("g", 0), 10);
    let mut c1 = StreamingConsumer::new(&config, &["g"], options("grp"), h1.clone()).unwrap();

    let t = Instant::now();
    let mut got: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    let expected: u64 = 200 - 10;
    while got.values().map(Vec::len).sum::<usize>() < expected as usize {
        assert!(t.elapsed() < Duration::from_secs(60), "timed out: {got:?}");
        for b in c1.poll_batches().unwrap() {
            got.entry(b.partition())
                .or_default()
                .extend(b.iter().map(|m| m.offset));
        }
    }
    assert_eq!(h1.assigned.lock().unwrap().len(), 4);
    assert_eq!(c1.assignment().unwrap().len(), 4);
    assert_eq!(got[&0][0], 10, "started at the caller's offset");
    for (p, offs) in &got {
        assert_eq!(offs.len() as u64 + if *p == 0 { 10 } else { 0 }, high[p]);
    }
    assert!(matches!(c1.take_events()[0], RebalanceEvent::Assigned(_)));

    // Commit what is "durable"; read it back.
    let commits: Vec<(TopicPartition, i64)> = got
        .iter()
        .map(|(p, o)| (TopicPartition::new("g", *p), o.last().unwrap() + 1))
        .collect();
    c1.commit(&commits).unwrap();
    let parts: Vec<TopicPartition> = (0..4).map(|p| TopicPartition::new("g", p)).collect();
    let committed = c1.committed(&parts, Duration::from_secs(10)).unwrap();
    for (tp, o) in &commits {
        assert_eq!(committed[tp], Some(*o));
    }

    // A second member joins: the partitions are split.
    let h2 = SinkHandler::default();
    // The second member's sink knows partition offsets that differ from the group's
    // commits (stale commits must not win): start every partition at 1.
    for p in 0..4 {
        h2.durable
            .lock()
            .unwrap()
            .insert(TopicPartition::new("g", p), 1);
    }
    let mut c2 = StreamingConsumer::new(&config, &["g"], options("grp"), h2.clone()).unwrap();
    let t = Instant::now();
    loop {
        assert!(t.elapsed() < Duration::from_secs(60), "no split");
        c1.poll_batches().unwrap();
        c2.poll_batches().unwrap();
        let (a1, a2) = (c1.assignment().unwrap(), c2.assignment().unwrap());
        if !a1.is_empty() && !a2.is_empty() && a1.len() + a2.len() == 4 {
            break;
        }
    }
    assert!(
        !h1.revoked.lock().unwrap().is_empty(),
        "member 1 saw a revocation"
    );

    // Member 1 leaves: member 2 gets all partitions and starts where its handler says.
    c1.close(Duration::from_secs(10)).unwrap();
    let t = Instant::now();
    let mut seen: BTreeMap<i32, i64> = BTreeMap::new();
    loop {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "no hand-over: {seen:?}"
        );
        for b in c2.poll_batches().unwrap() {
            seen.entry(b.partition())
                .or_insert(b.first_offset().unwrap());
        }
        if c2.assignment().unwrap().len() == 4 && seen.len() == 4 {
            break;
        }
    }
    for (p, first) in seen {
        assert_eq!(first, 1, "partition {p} started at the handler's offset");
    }
}

#[test]
fn handler_error_surfaces() {
    struct Failing;
    impl RebalanceHandler for Failing {
        fn assigned(
            &mut self,
            _partitions: &[TopicPartition],
        ) -> Result<BTreeMap<TopicPartition, StartOffset>, String> {
            Err("recovery failed".into())
        }
        fn revoked(&mut self, _partitions: &[TopicPartition]) {}
    }
    let mock = MockCluster::start(1).unwrap();
    mock.create_topic("h", 2).unwrap();
    let mut c = StreamingConsumer::new(&mock.config(), &["h"], options("hg"), Failing).unwrap();
    let t = Instant::now();
    loop {
        assert!(t.elapsed() < Duration::from_secs(60), "no assignment");
        match c.poll_batches() {
            Ok(_) => continue,
            Err(kafka_io::Error::Rebalance {
                topic,
                partitions,
                reason,
            }) => {
                assert_eq!(topic, "h");
                assert_eq!(partitions.len(), 2);
                assert_eq!(reason, "recovery failed");
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn pause_and_resume_backpressure() {
    let mock = MockCluster::start(1).unwrap();
    mock.create_topic("pr", 2).unwrap();
    let config = mock.config();
    let mut c = StreamingConsumer::new(
        &config,
        &["pr"],
        options("prg"),
        kafka_io::StartAll(StartOffset::Earliest),
    )
    .unwrap();
    let t = Instant::now();
    while c.assignment().unwrap().len() < 2 {
        assert!(t.elapsed() < Duration::from_secs(60), "no assignment");
        c.poll_batches().unwrap();
    }
    let parts = c.assignment().unwrap();
    c.pause(&parts).unwrap();
    let evs = crate::common::events(50, 1);
    let mut p = Publisher::new(&config, "pr", PublishOptions::default()).unwrap();
    p.publish_records(evs.iter().map(|e| (Some(e.as_bytes()), e.as_bytes())))
        .unwrap();
    for _ in 0..5 {
        assert!(
            c.poll_batches().unwrap().is_empty(),
            "paused partitions delivered"
        );
    }
    c.resume(&parts).unwrap();
    let mut n = 0;
    let t = Instant::now();
    while n < 50 {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "nothing after resume: {n}"
        );
        n += c
            .poll_batches()
            .unwrap()
            .iter()
            .map(|b| b.len())
            .sum::<usize>();
    }
    assert_eq!(n, 50);
}
