//! Checks a warehouse's committed state; exits non-zero with a precise report on any violation.
use anyhow::{Context as _, Result, bail};
use clap::Parser;
use hdfs_sink::{Balance, SinkConfig, VerifyOptions, Warehouse, verify};

/// Verify a warehouse landed by `land`/`pipeline`: per (topic, partition) the committed offset
/// ranges are contiguous (no gap, no overlap), every file named by a commit marker exists, is
/// readable Parquet and has the marker's row count (footers are read), no data file exists
/// without a marker, and the balance rules hold per range. Accepted gaps (`_gaps/`) are
/// reported but do not fail. Exit status: 0 if OK, 1 if violations were found, 2 on error.
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
        Ok(report.is_ok())
    })
}
