//! The landing loop used by the crash child and the tests: recover, then land offsets
//! `next..n` of each partition in ranges of random length, sometimes aborting a range first.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use hdfs_sink::{TopicPartition, Warehouse};

use super::data::{self, Rng, TOPIC};

/// Land the one range `start..=end` of partition `p` into every table (rows from
/// [`data::batches`]) and commit it.
pub async fn land_range(wh: &Warehouse, p: i32, start: i64, end: i64) -> hdfs_sink::CommitInfo {
    let mut w = wh
        .begin_range(TOPIC, p, start, &data::tables())
        .expect("begin");
    let (raw, acc, rej) = data::batches(p, start, end);
    w.write("raw", &raw).await.expect("raw");
    w.write("assessments", &acc).await.expect("acc");
    w.write("rejects", &rej).await.expect("rej");
    w.commit(end).await.expect("commit")
}

/// Land offsets `< n` of `partitions` not landed yet, at most `max_ranges` ranges. Returns
/// the number of ranges committed.
pub async fn land_all(
    wh: &Warehouse,
    partitions: &[i32],
    n: i64,
    seed: u64,
    max_range: u64,
    delay: Duration,
    max_ranges: usize,
) -> Result<usize, hdfs_sink::Error> {
    let tps: Vec<TopicPartition> = partitions
        .iter()
        .map(|p| TopicPartition::new(TOPIC, *p))
        .collect();
    let report = wh.recover_partitions(&tps).await?;
    let mut next: Vec<i64> = partitions
        .iter()
        .map(|p| report.next_offset(TOPIC, *p).unwrap_or(0))
        .collect();
    let mut rng = Rng::new(seed);
    let mut committed = 0;
    let tables = data::tables();
    loop {
        if committed >= max_ranges {
            return Ok(committed);
        }
        let Some(i) = (0..partitions.len())
            .filter(|i| next[*i] < n)
            .min_by_key(|i| (rng.below(1000), *i))
        else {
            return Ok(committed);
        };
        let p = partitions[i];
        let start = next[i];
        let end = (start + rng.below(max_range) as i64).min(n - 1);
        // Sometimes write part of a range and abort it.
        if rng.below(3) == 0 {
            let mut w = wh.begin_range(TOPIC, p, start, &tables)?;
            let (raw, acc, rej) = data::batches(p, start, end);
            w.write("raw", &raw).await?;
            w.write("assessments", &acc).await?;
            w.write("rejects", &rej).await?;
            w.abort().await?;
        }
        let mut w = wh.begin_range(TOPIC, p, start, &tables)?;
        let mut a = start;
        while a <= end {
            let b = (a + 1 + rng.below(9) as i64).min(end);
            let (raw, acc, rej) = data::batches(p, a, b);
            w.write("raw", &raw).await?;
            w.write("assessments", &acc).await?;
            w.write("rejects", &rej).await?;
            a = b + 1;
        }
        let info = w.commit(end).await?;
        // Fewer when raw had already committed part of the range before a crash.
        assert!(info.rows("raw") <= (end - start + 1) as u64);
        next[i] = end + 1;
        committed += 1;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
}
