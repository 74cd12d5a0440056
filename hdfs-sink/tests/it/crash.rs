//! Crash safety on the local backend: a child process lands data and is killed at many points
//! of the protocol (`SINK_CRASH_AT` failpoints, each at several hit counts, plus `SIGKILL` at
//! random times); after each kill the next child recovers and re-lands. At the end `verify`
//! and a row-level comparison prove every offset landed exactly once in every table.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::data::Rng;
use hdfs_sink::{Warehouse, failpoint::FAILPOINTS, verify};

/// Failpoints in protocol order: `commit.before_log` / `commit.after_log` at hit counts 2, 3, …
/// kill between two tables' commits of a range (a partly committed range).
const ORDER: &[&str] = &[
    "write.before_create",
    "write.after_batch",
    "commit.before_close",
    "commit.after_close",
    "commit.before_log",
    "commit.after_log",
    "commit.after_all",
    "commit.after_cleanup",
    "abort.before_delete",
];

const CHILD: &str = env!("CARGO_BIN_EXE_sink-crash-child");
/// Longest a crash child may run (the longest lands every offset of a partition locally).
const CHILD_LIMIT: Duration = Duration::from_secs(180);
const PARTITIONS: &[i32] = &[0, 1];
const MESSAGES: i64 = 4000;
/// Ranges a crash run may commit before it stops on its own (so later runs have work left).
const RANGES_PER_RUN: &str = "8";

/// Run the child; `Ok(true)` if it was killed (abort/SIGKILL), `Ok(false)` if it finished.
fn run_child(
    url: &str,
    seed: u64,
    crash_at: Option<&str>,
    kill_after: Option<Duration>,
    max_ranges: &str,
) -> Result<bool, String> {
    let mut cmd = Command::new(CHILD);
    cmd.args([
        url,
        "0,1",
        &MESSAGES.to_string(),
        &seed.to_string(),
        "40",
        max_ranges,
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .env_remove(hdfs_sink::failpoint::ENV_VAR);
    if let Some(p) = crash_at {
        cmd.env(hdfs_sink::failpoint::ENV_VAR, p);
    }
    if kill_after.is_some() {
        cmd.env("SINK_CHILD_DELAY_MS", "2");
    }
    let mut child = cmd.spawn().map_err(|e| format!("spawn {CHILD}: {e}"))?;
    if let Some(d) = kill_after {
        std::thread::sleep(d);
        let _ = child.kill(); // SIGKILL
    }
    let out = crate::common::deadline::wait_within(child, CHILD_LIMIT)?;
    let stderr = out.stderr;
    match (out.status.code(), out.status.signal()) {
        (Some(0), _) => Ok(false),
        (_, Some(6 | 9)) => Ok(true), // SIGABRT from a failpoint, SIGKILL from us
        _ => Err(format!("child failed: {:?}\n{stderr}", out.status)),
    }
}

/// Right after a kill, before any recovery: whatever the logs hold is contiguous per table and
/// balanced per range, and every active file is complete; other files are orphans.
fn committed_state_is_consistent(rt: &tokio::runtime::Runtime, url: &str, after: &str) {
    rt.block_on(async {
        let wh = Warehouse::open(url, crate::common::config())
            .await
            .expect("open");
        let opts = crate::common::verify_options(PARTITIONS).with_allow_uncommitted_files(true);
        let report = verify(&wh, &opts).await.expect("verify");
        assert!(report.is_ok(), "after a kill at {after}: {report}");
    });
}

#[test]
fn killed_at_many_points_every_offset_lands_exactly_once() {
    let mut all: Vec<&str> = FAILPOINTS.to_vec();
    let mut ordered = ORDER.to_vec();
    all.sort();
    ordered.sort();
    assert_eq!(all, ordered, "every failpoint is exercised");
    let dir = tempfile::tempdir().expect("tmp");
    let url = dir.path().to_str().expect("utf8").to_owned();
    let started = Instant::now();
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let mut seed = 1;
    let mut killed_at_points = Vec::new();
    let mut not_reached = Vec::new();
    for n in [1u32, 2, 3, 4, 6] {
        for point in ORDER {
            seed += 1;
            let spec = format!("{point}:{n}");
            if run_child(&url, seed, Some(&spec), None, RANGES_PER_RUN).expect("child") {
                committed_state_is_consistent(&rt, &url, &spec);
                killed_at_points.push(spec);
            } else {
                not_reached.push(spec);
            }
        }
    }
    // SIGKILL at random moments.
    let mut rng = Rng::new(42);
    let mut random_kills = 0;
    for _ in 0..15 {
        seed += 1;
        let after = Duration::from_millis(20 + rng.below(400));
        if run_child(&url, seed, None, Some(after), "40").expect("child") {
            committed_state_is_consistent(&rt, &url, "random SIGKILL");
            random_kills += 1;
        }
    }
    // Finish.
    seed += 1;
    assert!(
        !run_child(&url, seed, None, None, "1000000").expect("final child"),
        "final run must finish"
    );
    println!(
        "{} failpoint kills, {random_kills} random SIGKILLs, not reached: {not_reached:?}, {:?}",
        killed_at_points.len(),
        started.elapsed()
    );
    assert!(
        killed_at_points.len() >= 35,
        "only {} kills: {killed_at_points:?}",
        killed_at_points.len()
    );

    rt.block_on(async {
        let wh = Warehouse::open(&url, crate::common::config())
            .await
            .expect("open");
        let report = verify(&wh, &crate::common::verify_options(PARTITIONS))
            .await
            .expect("verify");
        println!("{report}");
        assert!(report.is_ok(), "{report}");
        assert!(
            !report.orphan_files.is_empty(),
            "the kills left orphans: {report}"
        );
        for p in PARTITIONS {
            let s =
                &report.partitions[&hdfs_sink::TopicPartition::new(crate::common::data::TOPIC, *p)];
            assert_eq!((s.first, s.last), (Some(0), Some(MESSAGES - 1)));
        }
        crate::common::check_rows(&wh, PARTITIONS, MESSAGES)
            .await
            .expect("row-level check");
    });
}

/// A kill right after the first table's commit of the first range: the other tables have no
/// txn, so recovery starts the partition over and raw drops the rows it holds.
#[test]
fn a_kill_between_two_tables_commits_is_landed_again_exactly_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = dir.path().to_str().expect("utf8").to_owned();
    assert!(
        run_child(&url, 7, Some("commit.after_log:1"), None, RANGES_PER_RUN).expect("child"),
        "killed"
    );
    let rt = tokio::runtime::Runtime::new().expect("rt");
    rt.block_on(async {
        let wh = Warehouse::open(&url, crate::common::config())
            .await
            .expect("open");
        let rep = wh.recover().await.expect("recover");
        assert_eq!(rep.table_offsets.len(), 1, "{rep:?}");
        let (tp, tables) = rep.table_offsets.iter().next().expect("one partition");
        assert_eq!(tables.keys().collect::<Vec<_>>(), vec!["raw"], "{rep:?}");
        assert_eq!(rep.next_offset(&tp.topic, tp.partition), None, "{rep:?}");
        let raw_rows: usize = wh
            .read_committed("raw")
            .await
            .expect("raw")
            .iter()
            .map(|b| b.num_rows())
            .sum();
        assert!(raw_rows > 0);
    });
    assert!(!run_child(&url, 8, None, None, "1000000").expect("final child"));
    rt.block_on(async {
        let wh = Warehouse::open(&url, crate::common::config())
            .await
            .expect("open");
        let report = verify(&wh, &crate::common::verify_options(PARTITIONS))
            .await
            .expect("verify");
        assert!(report.is_ok(), "{report}");
        crate::common::check_rows(&wh, PARTITIONS, MESSAGES)
            .await
            .expect("row-level check");
    });
}
