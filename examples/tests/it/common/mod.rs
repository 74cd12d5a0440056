//! Helpers of the `land --follow` integration tests (real Kafka and HDFS of
//! `scripts/test-cluster`).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use arrow_array::Array as _;
use arrow_array::cast::AsArray as _;
use arrow_array::types::{Int32Type, Int64Type};
use hdfs_sink::{SinkConfig, Warehouse};
use kafka_io::{Admin, BoundedConsumer, BoundedOptions, KafkaConfig, StartPosition, TopicSpec};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer as _};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub fn brokers() -> String {
    std::env::var("IT_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

pub fn hdfs() -> String {
    std::env::var("IT_HDFS_URL").unwrap_or_else(|_| "hdfs://127.0.0.1:9000".into())
}

pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        nanos % 1_000_000_000_000
    )
}

pub fn kafka() -> KafkaConfig {
    KafkaConfig::new(brokers())
}

/// Creates `topic` with `partitions` partitions and the given topic configs.
pub fn create_topic(topic: &str, partitions: i32, configs: &[(&str, &str)]) {
    let admin = Admin::new(&kafka()).unwrap();
    let mut spec = TopicSpec::new(topic, partitions);
    for (k, v) in configs {
        spec = spec.with_config(*k, *v);
    }
    admin.create_topic(&spec).unwrap();
}

/// High watermark of every partition of `topic`.
pub fn high_watermarks(topic: &str) -> BTreeMap<i32, i64> {
    let admin = Admin::new(&kafka()).unwrap();
    admin
        .describe(topic)
        .unwrap()
        .partitions
        .iter()
        .map(|p| (p.partition, p.high_watermark))
        .collect()
}

/// The group's committed offsets of `topic`'s partitions `0..partitions` (without joining).
pub fn group_offsets(group: &str, topic: &str, partitions: i32) -> BTreeMap<i32, i64> {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", group)
        .create()
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let got = consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .unwrap();
    got.elements()
        .iter()
        .filter_map(|e| match e.offset() {
            rdkafka::Offset::Offset(o) => Some((e.partition(), o)),
            _ => None,
        })
        .collect()
}

/// An idempotent producer straight on rdkafka (not our publisher).
/// Counts the delivery reports of a [`TestProducer`] (served by its `poll`s and `flush`).
#[derive(Default)]
pub struct DeliveryCounts {
    delivered: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl rdkafka::ClientContext for DeliveryCounts {}

impl rdkafka::producer::ProducerContext for DeliveryCounts {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &rdkafka::producer::DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                *self.last_error.lock().unwrap() = Some(e.to_string());
            }
        }
    }
}

pub struct TestProducer {
    producer: BaseProducer<DeliveryCounts>,
}

impl TestProducer {
    /// An idempotent producer: what it delivers is in the topic exactly once.
    pub fn new() -> Self {
        Self::with_idempotence(true)
    }

    /// Without idempotence for tests that restart the broker under it: librdkafka's idempotent
    /// producer can stop delivering after a broker restart (sequence state it cannot
    /// reconcile), while a plain one reconnects and retries (a retried message may be in the
    /// topic twice, at two offsets).
    pub fn with_idempotence(idempotent: bool) -> Self {
        let producer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", brokers())
            .set("enable.idempotence", idempotent.to_string())
            .set("acks", "all")
            .set("message.max.bytes", "10000000")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "120000")
            .create_with_context(DeliveryCounts::default())
            .unwrap();
        Self { producer }
    }

    /// Messages the broker acknowledged so far.
    pub fn delivered(&self) -> u64 {
        self.producer.context().delivered.load(Ordering::Relaxed)
    }

    /// Messages that failed (and the last error), so far.
    pub fn failed(&self) -> (u64, Option<String>) {
        let ctx = self.producer.context();
        (
            ctx.failed.load(Ordering::Relaxed),
            ctx.last_error.lock().unwrap().clone(),
        )
    }

    /// Sends one message, retrying while the local queue is full.
    pub fn send(&self, topic: &str, key: Option<&[u8]>, value: Option<&[u8]>) {
        loop {
            let mut record = BaseRecord::<[u8], [u8]>::to(topic);
            if let Some(k) = key {
                record = record.key(k);
            }
            if let Some(v) = value {
                record = record.payload(v);
            }
            match self.producer.send(record) {
                Ok(()) => break,
                Err((e, _)) => {
                    assert!(
                        matches!(
                            e.rdkafka_error_code(),
                            Some(rdkafka::types::RDKafkaErrorCode::QueueFull)
                        ),
                        "produce failed: {e}"
                    );
                    self.producer.poll(Duration::from_millis(50));
                }
            }
        }
        self.producer.poll(Duration::ZERO);
    }

    /// Waits until every sent message is acknowledged; panics on a delivery failure.
    pub fn flush(&self) {
        self.producer.flush(Duration::from_secs(120)).unwrap();
        let (failed, error) = self.failed();
        assert_eq!(failed, 0, "messages were not delivered: {error:?}");
    }
}

/// Every message of `topic` (from the beginning to the current end): partition → offset →
/// value (`None` for a null value).
pub fn topic_contents(topic: &str) -> BTreeMap<(i32, i64), Option<Vec<u8>>> {
    let mut consumer = BoundedConsumer::start(
        &kafka(),
        topic,
        StartPosition::Earliest,
        BoundedOptions::default(),
    )
    .unwrap();
    let mut out = BTreeMap::new();
    while let Some(batch) = consumer.next_batch().unwrap() {
        for m in batch.iter() {
            out.insert((m.partition, m.offset), m.payload.map(<[u8]>::to_vec));
        }
    }
    out
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// What a follower test starts from: a new topic on the test broker, a new warehouse on the
/// test HDFS, a new consumer group, a temp dir for the followers' logs, a runtime.
pub struct Case {
    pub topic: String,
    pub url: String,
    pub group: String,
    pub dir: tempfile::TempDir,
    pub rt: tokio::runtime::Runtime,
}

impl Case {
    /// Names start with `name`; the topic has `partitions` and the topic configs given.
    pub fn new(name: &str, partitions: i32, topic_configs: &[(&str, &str)]) -> Self {
        let topic = unique(name);
        create_topic(&topic, partitions, topic_configs);
        Case {
            topic,
            url: format!("{}/{}", hdfs(), unique(&format!("{name}-wh"))),
            group: unique(&format!("{name}-group")),
            dir: tempfile::tempdir().unwrap(),
            rt: rt(),
        }
    }
}

pub fn open_warehouse(rt: &tokio::runtime::Runtime, url: &str) -> Warehouse {
    rt.block_on(Warehouse::open(url, SinkConfig::builder().build().unwrap()))
        .unwrap()
}

/// The committed `raw` rows: (partition, offset) → value, asserting no offset twice.
pub fn landed_raw(
    rt: &tokio::runtime::Runtime,
    url: &str,
) -> BTreeMap<(i32, i64), Option<Vec<u8>>> {
    let wh = open_warehouse(rt, url);
    let mut out = BTreeMap::new();
    for b in rt.block_on(wh.read_committed("raw")).unwrap() {
        let p = b
            .column_by_name("_partition")
            .unwrap()
            .as_primitive::<Int32Type>();
        let o = b
            .column_by_name("_offset")
            .unwrap()
            .as_primitive::<Int64Type>();
        let v = b.column_by_name("value").unwrap().as_binary::<i32>();
        for i in 0..b.num_rows() {
            let value = (!v.is_null(i)).then(|| v.value(i).to_vec());
            let prev = out.insert((p.value(i), o.value(i)), value);
            assert!(
                prev.is_none(),
                "offset {}:{} landed twice",
                p.value(i),
                o.value(i)
            );
        }
    }
    out
}

/// Per partition, the offset every table of the warehouse has committed up to (exclusive;
/// accepted gaps count as committed): recovery's next offset, from the tables' Delta logs.
pub fn committed_counts(
    rt: &tokio::runtime::Runtime,
    url: &str,
    topic: &str,
) -> BTreeMap<i32, i64> {
    let wh = open_warehouse(rt, url);
    let Ok(report) = rt.block_on(wh.recover()) else {
        return BTreeMap::new();
    };
    report
        .next_offsets
        .iter()
        .filter(|(tp, _)| tp.topic == topic)
        .map(|(tp, next)| (tp.partition, *next))
        .collect()
}

/// Waits until the warehouse's committed ranges cover every offset below the high watermarks.
/// On a timeout the panic shows, for each of `members` (the processes that should have landed
/// it), whether it still runs and the end of its log.
pub fn wait_landed(
    rt: &tokio::runtime::Runtime,
    url: &str,
    topic: &str,
    timeout: Duration,
    members: &mut [&mut Follower],
) {
    let deadline = Instant::now() + timeout;
    loop {
        let want = high_watermarks(topic);
        let got = committed_counts(rt, url, topic);
        let done = want
            .iter()
            .all(|(p, h)| *h == 0 || got.get(p).copied().unwrap_or(0) == *h);
        if done {
            return;
        }
        if Instant::now() >= deadline {
            let logs: Vec<String> = members.iter_mut().map(|m| m.describe()).collect();
            panic!(
                "not everything landed in {timeout:?}: want {want:?}, committed {got:?}\n{}",
                logs.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A `land --follow` process whose output goes to files in `dir`.
pub struct Follower {
    pub child: Child,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

/// A test that fails half-way must not leave its member running (it would keep consuming and
/// writing into the test cluster).
impl Drop for Follower {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Follower {
    pub fn spawn(
        dir: &Path,
        name: &str,
        topic: &str,
        url: &str,
        group: &str,
        extra: &[&str],
    ) -> Self {
        let stdout = dir.join(format!("{name}.out"));
        let stderr = dir.join(format!("{name}.err"));
        let child = Command::new(env!("CARGO_BIN_EXE_land"))
            .args([
                "--brokers",
                &brokers(),
                "--topic",
                topic,
                "--warehouse",
                url,
                "--follow",
                "--group",
                group,
            ])
            .args(if extra.contains(&"--rotate-interval") {
                &[][..]
            } else {
                &["--rotate-interval", "1s"][..]
            })
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(std::fs::File::create(&stdout).unwrap()))
            .stderr(Stdio::from(std::fs::File::create(&stderr).unwrap()))
            .spawn()
            .unwrap();
        Self {
            child,
            stdout,
            stderr,
        }
    }

    /// SIGTERM, then waits (at most `timeout`) and returns (exit code, stdout).
    pub fn terminate(self, timeout: Duration) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(ok.success());
        self.terminate_signalled(timeout)
    }

    /// Waits (at most `timeout`) for a process already sent SIGTERM; returns (exit code,
    /// stdout).
    pub fn terminate_signalled(mut self, timeout: Duration) -> (Option<i32>, String) {
        let Some(status) = wait_at_most(&mut self.child, timeout) else {
            panic!(
                "land --follow did not exit within {timeout:?} of SIGTERM; stderr:\n{}",
                self.stderr_tail()
            );
        };
        (
            status.code(),
            std::fs::read_to_string(&self.stdout).unwrap(),
        )
    }

    /// SIGKILL and reap.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn stderr_tail(&self) -> String {
        let s = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// [`wait_landed`] with this process as the one member that should land it.
    pub fn wait_landed(
        &mut self,
        rt: &tokio::runtime::Runtime,
        url: &str,
        topic: &str,
        timeout: Duration,
    ) {
        wait_landed(rt, url, topic, timeout, &mut [self]);
    }

    /// Whether the process still runs, and the end of its stderr.
    pub fn describe(&mut self) -> String {
        let state = match self.child.try_wait() {
            Ok(None) => "running".to_owned(),
            Ok(Some(status)) => format!("exited ({status})"),
            Err(e) => format!("unknown ({e})"),
        };
        format!(
            "{} {state}; stderr:\n{}",
            self.stderr.display(),
            self.stderr_tail()
        )
    }

    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!(
                "land --follow exited early ({status}); stderr:\n{}",
                self.stderr_tail()
            );
        }
    }
}

/// Runs a program of this package to completion and returns its stdout, asserting success.
pub fn run(bin: &str, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{bin} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `verify --balance raw=assessments+rejects --topic T` (asserting success); its report.
pub fn verify_topic(url: &str, topic: &str) -> String {
    run(
        env!("CARGO_BIN_EXE_verify"),
        &[
            "--warehouse",
            url,
            "--balance",
            "raw=assessments+rejects",
            "--brokers",
            &brokers(),
            "--topic",
            topic,
        ],
    )
}

/// `scripts/test-cluster restart <what>` (kafka | namenode), if the cluster is this checkout's.
pub fn restart_cluster_service(what: &str) -> bool {
    let script = std::env::var_os("IT_TEST_CLUSTER_SCRIPT").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/test-cluster"),
        PathBuf::from,
    );
    let ours = Command::new(&script)
        .arg("status")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ours {
        eprintln!("skipping the {what} restart: the test cluster is not this checkout's");
        return false;
    }
    let status = Command::new(&script)
        .args(["restart", what])
        .status()
        .unwrap();
    assert!(
        status.success(),
        "scripts/test-cluster restart {what} failed"
    );
    true
}

/// What Python `deltalake` (delta-rs, a reader nobody here wrote) sees of `topic` in the
/// warehouse, checked by `tests/python/check_whole_ranges.py`: whole committed ranges only (no
/// partial range, no row above a table's txn version, no row twice, `raw = assessments +
/// rejects`). Panics with the script's report if a rule is broken or the reader is missing.
///
/// The reader's HDFS client (hdfs-native inside the wheel) was seen to wait forever on a
/// NameNode answer that a fresh client gets at once, as our own client does at times: a run
/// over [`READER_DEADLINE`] is killed and tried again in a fresh process, at most
/// [`READER_TRIES`] times in all. A stall says nothing about what the tables hold.
pub fn assert_whole_ranges_by_deltalake(url: &str, topic: &str, partitions: i32) -> String {
    let python = venv_python();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/check_whole_ranges.py");
    for attempt in 1..=READER_TRIES {
        let dir = tempfile::tempdir().unwrap();
        let (out_path, err_path) = (dir.path().join("out"), dir.path().join("err"));
        let mut child = Command::new(&python)
            .arg(&script)
            .args([url, topic, &partitions.to_string()])
            .stdout(Stdio::from(std::fs::File::create(&out_path).unwrap()))
            .stderr(Stdio::from(std::fs::File::create(&err_path).unwrap()))
            .spawn()
            .unwrap();
        let status = wait_at_most(&mut child, READER_DEADLINE);
        let report = format!(
            "{}{}",
            std::fs::read_to_string(&out_path).unwrap_or_default(),
            std::fs::read_to_string(&err_path).unwrap_or_default()
        );
        match status {
            Some(status) => {
                assert!(
                    status.success(),
                    "a Delta reader sees more or less than whole committed ranges:\n{report}"
                );
                return report;
            }
            None => eprintln!(
                "Python deltalake stalled for {READER_DEADLINE:?} reading {url} (try {attempt} \
                 of {READER_TRIES}); killed, trying again in a fresh process. Output so far:\n\
                 {report}"
            ),
        }
    }
    panic!("Python deltalake stalled {READER_TRIES} times in a row reading {url}");
}

/// How long one run of the Python reader may take (it reads a few thousand rows).
const READER_DEADLINE: Duration = Duration::from_secs(60);
/// Runs of the Python reader before a stall fails the test.
const READER_TRIES: u32 = 3;

/// The Python of the project's venv (`scripts/setup`), asserting it is there.
fn venv_python() -> PathBuf {
    let venv = std::env::var_os("ASSESSMENT_LAKE_VENV").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").expect("HOME"))
                .join(".cache/assessment-lake/venv")
        },
        PathBuf::from,
    );
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} missing: run scripts/setup (it installs Python deltalake) or set ASSESSMENT_LAKE_VENV",
        python.display()
    );
    python
}

/// Waits for `child` at most `timeout`: its exit status, or `None` after it was killed
/// (SIGKILL to its own pid) and reaped for running too long.
pub fn wait_at_most(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
