//! The sink against a real HDFS (the MiniDFS of `scripts/test-cluster up`): round trip into
//! Delta tables (read back by delta-rs as any Delta reader would), recovery, kill points,
//! permission denied, unreachable NameNode.
//!
//! Runs only with `--features it`; the NameNode is `$IT_HDFS_URL` (default
//! hdfs://127.0.0.1:9000). Each test works in its own directory under `/it-hdfs-sink/`.
#![cfg(feature = "it")]

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::data::{self, TOPIC};
use crate::common::land::land_range;
use hdfs_sink::{Error, TopicPartition, Warehouse, verify};

const CHILD: &str = env!("CARGO_BIN_EXE_sink-crash-child");
/// Longest a crash child may run (the longest lands a few hundred offsets into MiniDFS).
const CHILD_LIMIT: Duration = Duration::from_secs(240);

fn hdfs_url() -> String {
    std::env::var("IT_HDFS_URL")
        .unwrap_or_else(|_| "hdfs://127.0.0.1:9000".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

fn unique_url(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{}/it-hdfs-sink/{name}-{nanos}-{}",
        hdfs_url(),
        std::process::id()
    )
}

async fn open(url: &str) -> Warehouse {
    Warehouse::open(url, crate::common::config())
        .await
        .unwrap_or_else(|e| {
            panic!("open {url}: {e} (is the test cluster up? scripts/test-cluster up)")
        })
}

/// Run the crash child; `Ok(true)` if killed at its failpoint, `Ok(false)` if it finished.
fn child(
    url: &str,
    n: i64,
    seed: u64,
    crash_at: Option<&str>,
    max_ranges: usize,
    user: Option<&str>,
) -> Result<bool, String> {
    let mut cmd = Command::new(CHILD);
    cmd.args([
        url,
        "0,1",
        &n.to_string(),
        &seed.to_string(),
        "30",
        &max_ranges.to_string(),
    ])
    .env_remove(hdfs_sink::failpoint::ENV_VAR);
    if let Some(p) = crash_at {
        cmd.env(hdfs_sink::failpoint::ENV_VAR, p);
    }
    if let Some(u) = user {
        cmd.env("HADOOP_USER_NAME", u);
    }
    let out = crate::common::deadline::run_within(&mut cmd, CHILD_LIMIT)?;
    match (out.status.code(), out.status.signal()) {
        (Some(0), _) => Ok(false),
        (_, Some(6 | 9)) => Ok(true),
        _ => Err(out.stderr),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hdfs_round_trip_identical_batches() {
    let url = unique_url("roundtrip");
    let wh = open(&url).await;
    let info = land_range(&wh, 0, 0, 99).await;
    assert_eq!(info.rows("raw"), 100);
    assert!(info.tables[1].files.len() > 5);
    let (raw, _, rej) = data::batches(0, 0, 99);
    let back = wh.read_committed("raw").await.expect("read raw");
    assert_eq!(
        arrow_select::concat::concat_batches(&raw.schema(), &back).expect("concat"),
        raw
    );
    let back = wh.read_committed("rejects").await.expect("read rejects");
    assert_eq!(
        arrow_select::concat::concat_batches(&rej.schema(), &back).expect("concat"),
        rej
    );
    crate::common::check_rows_range(&wh, 0, 0, 99)
        .await
        .expect("rows");
    let r = verify(&wh, &crate::common::verify_options(&[0]))
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
    assert!(r.orphan_files.is_empty(), "{r}");
    assert!(r.url.starts_with("hdfs://"));
    // A Delta reader (delta-rs over hdfs://) sees the committed files and the txn.
    let table_url = wh.table_url("raw").expect("table url");
    let t = deltalake_core::open_table(url::Url::parse(&table_url).expect("url"))
        .await
        .expect("open delta table");
    assert_eq!(t.get_file_uris().expect("uris").count(), 1);
    let v = t
        .snapshot()
        .expect("snapshot")
        .transaction_version(t.log_store().as_ref(), "kafka/events/0")
        .await
        .expect("txn");
    assert_eq!(v, Some(99));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hdfs_recovery_keeps_orphans_and_resumes() {
    let url = unique_url("recovery");
    let wh = open(&url).await;
    land_range(&wh, 0, 0, 9).await;
    land_range(&wh, 1, 0, 9).await;
    // A writer dropped mid-range (files open on HDFS, lease held), as in a crash.
    let mut w = wh
        .begin_range(TOPIC, 0, 10, &data::tables())
        .expect("begin");
    let (raw, acc, rej) = data::batches(0, 10, 19);
    w.write("raw", &raw).await.expect("raw");
    w.write("assessments", &acc).await.expect("acc");
    w.write("rejects", &rej).await.expect("rej");
    drop(w);
    // A child killed after its files are closed, before partition 1's next range's first
    // table commit.
    assert!(child(&url, 100, 3, Some("commit.before_log:1"), 100, None).expect("child"));
    let r = verify(&wh, &crate::common::verify_options(&[0, 1]))
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
    assert!(!r.orphan_files.is_empty(), "{r}");
    let rep = wh.recover().await.expect("recover");
    assert!(rep.deleted_data_files.is_empty(), "{rep:?}");
    assert_eq!(rep.next_offset(TOPIC, 0), Some(10));
    let next1 = rep.next_offset(TOPIC, 1).unwrap_or(0);
    land_range(&wh, 0, 10, 19).await;
    land_range(&wh, 1, next1, next1 + 5).await;
    let r = verify(&wh, &crate::common::verify_options(&[0, 1]))
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
    crate::common::check_rows_range(&wh, 0, 0, 19)
        .await
        .expect("rows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hdfs_killed_at_many_points_lands_exactly_once() {
    const N: i64 = 400;
    let url = unique_url("crash");
    let points = [
        "write.before_create:1",
        "write.after_batch:2",
        "commit.before_close:1",
        "commit.after_close:2",
        "commit.before_log:1",
        "commit.before_log:2",
        "commit.after_log:1",
        "commit.after_log:3",
        "commit.after_log:5",
        "commit.after_all:1",
        "commit.after_cleanup:2",
        "abort.before_delete:1",
        "commit.before_log:3",
    ];
    let mut killed = Vec::new();
    for (i, p) in points.iter().enumerate() {
        if child(&url, N, 100 + i as u64, Some(p), 4, None).expect("child") {
            killed.push(*p);
        }
    }
    assert!(
        !child(&url, N, 999, None, 1_000_000, None).expect("final"),
        "final run finishes"
    );
    println!("HDFS kill points: {} {killed:?}", killed.len());
    assert!(killed.len() >= 10, "{killed:?}");
    let wh = open(&url).await;
    let r = verify(&wh, &crate::common::verify_options(&[0, 1]))
        .await
        .expect("verify");
    println!("{r}");
    assert!(r.is_ok(), "{r}");
    crate::common::check_rows(&wh, &[0, 1], N)
        .await
        .expect("row-level check");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hdfs_permission_denied_is_clear_and_commits_nothing_partial() {
    let url = unique_url("perm");
    let wh = open(&url).await;
    // The tables belong to this user; another user may write them.
    wh.create_tables(&data::tables()).await.expect("create");
    for d in [
        "",
        "raw",
        "raw/_delta_log",
        "assessments",
        "assessments/_delta_log",
        "rejects",
        "rejects/_delta_log",
    ] {
        wh.set_permission(d, 0o777).await.expect("chmod");
    }
    assert!(!child(&url, 60, 1, None, 2, Some("nobody")).expect("child as nobody"));
    // Now raw's log is read-only for that user: its data files are written, the commit of
    // raw (the first table of each range) fails, and nothing of the range commits.
    wh.set_permission("raw/_delta_log", 0o755)
        .await
        .expect("chmod");
    let err = child(&url, 60, 2, None, 2, Some("nobody")).expect_err("must fail");
    println!("{err}");
    assert!(err.contains("delta table \"raw\""), "{err}");
    assert!(
        err.contains("AccessControlException") || err.to_lowercase().contains("permission"),
        "{err}"
    );
    // What is committed is complete; the failed range left orphans only.
    let r = verify(&wh, &crate::common::verify_options(&[0, 1]))
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
    assert!(!r.orphan_files.is_empty(), "{r}");
    let before = r.markers;
    let rep = wh.recover().await.expect("recover");
    assert!(rep.deleted_data_files.is_empty(), "{rep:?}");
    let r = verify(&wh, &crate::common::verify_options(&[0, 1]))
        .await
        .expect("verify");
    assert_eq!(r.markers, before);

    // A warehouse under a directory the user cannot enter: a clear error at open.
    wh.set_permission("", 0o700).await.expect("chmod");
    let err =
        child(&format!("{url}/inner"), 10, 3, None, 1, Some("nobody")).expect_err("must fail");
    assert!(err.contains("permission denied"), "{err}");
    assert!(err.contains(&format!("{url}/inner")), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hdfs_unreachable_namenode_is_clear() {
    let cfg = hdfs_sink::SinkConfig::builder()
        .with_retry(hdfs_sink::RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(40),
            ..Default::default()
        })
        .build()
        .expect("cfg");
    let e = Warehouse::open("hdfs://127.0.0.1:1/warehouse", cfg)
        .await
        .expect_err("must fail");
    assert!(matches!(e, Error::Unreachable { attempts: 3, .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("hdfs://127.0.0.1:1/warehouse/_commits"),
        "{e}"
    );
    // And a partition scope on the live cluster is unaffected by another warehouse's failure.
    let url = unique_url("scope");
    let wh = open(&url).await;
    let rep = wh
        .recover_partitions(&[TopicPartition::new(TOPIC, 0)])
        .await
        .expect("recover");
    assert_eq!(rep.next_offset(TOPIC, 0), None);
}

/// A TCP proxy in front of the NameNode that can be stopped: the NameNode "goes away" for the
/// client while DataNodes stay reachable.
struct NameNodeProxy {
    port: u16,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

async fn start_proxy() -> NameNodeProxy {
    let upstream = hdfs_url()
        .trim_start_matches("hdfs://")
        .split('/')
        .next()
        .unwrap_or("127.0.0.1:9000")
        .to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = stopped.changed() => break,
                acc = listener.accept() => {
                    if let Ok((mut inbound, _)) = acc {
                        let up = upstream.clone();
                        conns.spawn(async move {
                            if let Ok(mut out) = tokio::net::TcpStream::connect(up).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                            }
                        });
                    }
                }
            }
        }
        conns.abort_all();
        drop(listener);
    });
    NameNodeProxy { port, stop, task }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hdfs_namenode_stopped_mid_range_commits_nothing() {
    let direct = unique_url("nnstop");
    let path = direct
        .trim_start_matches("hdfs://")
        .split_once('/')
        .map(|(_, p)| p.to_owned())
        .expect("path");
    let proxy = start_proxy().await;
    let via_proxy = format!("hdfs://127.0.0.1:{}/{path}", proxy.port);
    let wh = open(&via_proxy).await;
    land_range(&wh, 0, 0, 9).await;
    let mut w = wh
        .begin_range(TOPIC, 0, 10, &data::tables())
        .expect("begin");
    let (raw, acc, rej) = data::batches(0, 10, 19);
    w.write("raw", &raw).await.expect("raw");
    w.write("assessments", &acc).await.expect("acc");
    w.write("rejects", &rej).await.expect("rej");
    // The NameNode goes away before the commit.
    proxy.stop.send(true).expect("stop");
    proxy.task.await.expect("proxy task");
    let e = w.commit(19).await.expect_err("commit must fail");
    println!("{e}: {:?}", e.root());
    assert!(e.is_transient(), "{e:?}");
    assert!(
        e.path()
            .is_some_and(|p| p.contains(&format!("127.0.0.1:{}", proxy.port))),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("events/0 range from offset 10 to 19"),
        "{e}"
    );
    // The partition needs recovery before it can go on.
    assert!(matches!(
        wh.begin_range(TOPIC, 0, 10, &data::tables()),
        Err(Error::RecoveryRequired { .. })
    ));
    // Seen through the real NameNode: only the first range is committed, and it is complete.
    let direct_wh = open(&direct).await;
    let r = verify(&direct_wh, &crate::common::verify_options(&[0]))
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
    assert_eq!(r.markers, 1);
    let rep = direct_wh.recover().await.expect("recover");
    assert_eq!(rep.next_offset(TOPIC, 0), Some(10));
    land_range(&direct_wh, 0, 10, 19).await;
    let r = verify(&direct_wh, &crate::common::verify_options(&[0]))
        .await
        .expect("verify");
    assert!(r.is_ok(), "{r}");
    crate::common::check_rows_range(&direct_wh, 0, 0, 19)
        .await
        .expect("rows");
}
