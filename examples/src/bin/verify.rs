//! Checks a warehouse's committed state; exits non-zero with a precise report on any violation.
use anyhow::{Context as _, Result, bail};
use clap::Parser;
use hdfs_sink::{Balance, SinkConfig, VerifyOptions, Warehouse, verify};

/// Verify a warehouse landed by `land`/`pipeline`: per (topic, partition) the committed offset
/// ranges are contiguous (no gap, no overlap), every file named by a commit marker exists, is
/// readable Parquet and has the marker's row count (footers are read), no data file exists
/// without a marker, and the balance rules hold per range. Accepted gaps (`_gaps/`) are
/// reported but do not fail. With `--topic`, also that the committed ranges of every partition
/// of the topic reach its current high watermark from its low watermark, with no gap (use it
/// when the producers have stopped). Exit status: 0 if OK, 1 if violations were found, 2 on
/// error.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Warehouse: a local directory, `file:///path`, or `hdfs://host:port/path`.
    #[arg(long)]
    warehouse: String,
    /// Balance rule checked on every committed range, `TOTAL=PART+PART…`, e.g.
    /// `raw=assessments+rejects` (rows of raw = rows of assessments + rows of rejects).
    /// Repeatable.
    #[arg(long, value_name = "TOTAL=PART+PART")]
    balance: Vec<String>,
    /// Expected first offset of partitions, `TOPIC:PARTITION=OFFSET` (e.g. `events:0=0`): the
    /// first committed range must start there unless an accepted gap covers the difference.
    /// Repeatable.
    #[arg(long, value_name = "TOPIC:PARTITION=OFFSET")]
    start_offset: Vec<String>,
    /// Do not report data files without a marker (use while a writer is running: its
    /// in-flight commit may have renamed files before writing the marker).
    #[arg(long)]
    allow_uncommitted: bool,
    /// Kafka topic whose partitions must be landed completely: every offset from the low
    /// watermark up to the high watermark is covered by committed ranges or accepted gaps.
    #[arg(long)]
    topic: Option<String>,
    #[command(flatten)]
    kafka: examples::KafkaArgs,
}

fn main() {
    examples::init_tracing();
    match run(Args::parse()) {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("verify: {e:#}");
            std::process::exit(2);
        }
    }
}

fn run(args: Args) -> Result<bool> {
    let mut opts = VerifyOptions::default().with_allow_uncommitted_files(args.allow_uncommitted);
    for b in &args.balance {
        match Balance::parse(b) {
            Some(rule) => opts = opts.with_balance(rule),
            None => {
                bail!("--balance {b:?}: expected TOTAL=PART+PART, e.g. raw=assessments+rejects")
            }
        }
    }
    for s in &args.start_offset {
        let parsed = s.split_once('=').and_then(|(tp, off)| {
            let (topic, p) = tp.rsplit_once(':')?;
            Some((topic, p.parse::<i32>().ok()?, off.parse::<i64>().ok()?))
        });
        match parsed {
            Some((topic, p, off)) => opts = opts.with_start_offset(topic, p, off),
            None => bail!("--start-offset {s:?}: expected TOPIC:PARTITION=OFFSET"),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let warehouse = Warehouse::open_existing(&args.warehouse, SinkConfig::default())
            .await
            .with_context(|| format!("opening warehouse {}", args.warehouse))?;
        let report = verify(&warehouse, &opts)
            .await
            .with_context(|| format!("verifying {}", args.warehouse))?;
        print!("{report}");
        let mut ok = report.is_ok();
        if let Some(topic) = &args.topic {
            ok &= check_topic(&args.kafka, topic, &report)?;
        }
        Ok(ok)
    })
}

/// Every partition of `topic` is covered from its low to its high watermark.
fn check_topic(
    kafka: &examples::KafkaArgs,
    topic: &str,
    report: &hdfs_sink::VerifyReport,
) -> Result<bool> {
    let admin = kafka_io::Admin::new(&kafka.config()?)?;
    let description = admin
        .describe(topic)
        .with_context(|| format!("describing topic {topic}"))?;
    let mut ok = true;
    for p in &description.partitions {
        let tp = hdfs_sink::TopicPartition::new(topic, p.partition);
        let summary = report.partitions.get(&tp);
        let gaps = report
            .accepted_gaps
            .iter()
            .filter(|(g, _)| *g == tp)
            .map(|(_, r)| (r.start, r.end));
        let covered = summary
            .and_then(|s| s.first.zip(s.last))
            .into_iter()
            .chain(gaps)
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)));
        let (low, high) = (p.low_watermark, p.high_watermark);
        match covered {
            _ if high <= low => {
                println!("{topic}[{}]: empty (watermarks {low}..{high})", p.partition);
            }
            Some((first, last)) if first <= low && last + 1 >= high => println!(
                "{topic}[{}]: committed {first}..={last} reaches the high watermark {high}",
                p.partition
            ),
            Some((first, last)) => {
                ok = false;
                if first > low {
                    println!(
                        "VIOLATION {topic}[{}]: offsets {low}..={} are in Kafka but not landed",
                        p.partition,
                        first - 1
                    );
                }
                if last + 1 < high {
                    println!(
                        "VIOLATION {topic}[{}]: committed up to {last}, high watermark {high}: \
                         {} messages not landed",
                        p.partition,
                        high - last - 1
                    );
                }
            }
            None => {
                ok = false;
                println!(
                    "VIOLATION {topic}[{}]: nothing landed, {} messages in Kafka ({low}..{high})",
                    p.partition,
                    high - low
                );
            }
        }
    }
    Ok(ok)
}
