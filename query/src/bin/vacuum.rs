//! `vacuum`: delete the data files of a landed warehouse that no table version needs.
//!
//! ```sh
//! vacuum --warehouse ./warehouse --retain 168h --dry-run      # list what would go
//! vacuum --warehouse hdfs://127.0.0.1:9000/warehouse --retain 7d
//! ```

#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::Parser;
use hdfs_sink::{SinkConfig, VacuumOptions, VacuumReason, Warehouse};

/// Vacuum a landed warehouse: delete the Parquet files that the tables' latest versions do
/// not reference and that are older than the retention: files replaced by `compact` whose
/// removal is older than the retention, and orphans (files of a crashed writer or of a
/// compaction that could not commit; no version ever referenced them) modified longer than
/// the retention ago.
///
/// Never deletes a file the latest version references, a file modified within the retention
/// (it may belong to a `land` still writing its range), nor anything in `_delta_log/`.
/// Nothing is written to the log.
#[derive(Debug, Parser)]
#[command(name = "vacuum", version)]
struct Args {
    /// The warehouse: a local directory, file:///abs/path or hdfs://host:port/path.
    #[arg(long, short = 'w', env = "QUERY_WAREHOUSE")]
    warehouse: String,

    /// Keep files modified, or removed from their table, less than this long ago, e.g.
    /// `168h`, `7d`, `30m`. Keep it well above the longest time a range stays open in `land`
    /// (its rotation interval) and the longest query.
    #[arg(long, value_name = "DURATION", default_value = "168h", value_parser = parse_retention)]
    retain: Duration,

    /// Only list the files that would be deleted (with why and their size).
    #[arg(long)]
    dry_run: bool,

    /// Only this table. Default: every table of the warehouse.
    #[arg(long, short = 't')]
    table: Option<String>,

    /// Accept `--retain` below 1h. With a short retention the files of a range that `land`
    /// is still writing look like orphans and are deleted: only for a warehouse nothing
    /// writes to.
    #[arg(long)]
    allow_short_retention: bool,
}

/// A duration like `land`'s (`500ms`, `30s`, `5m`, `1h`, plain seconds), or days (`7d`).
fn parse_retention(s: &str) -> Result<Duration, String> {
    match s.trim().strip_suffix('d') {
        Some(days) => {
            let d: f64 = days
                .trim()
                .parse()
                .map_err(|_| format!("expected a duration like 7d, 168h or 30m, got {s:?}"))?;
            if !d.is_finite() || d < 0.0 {
                return Err(format!(
                    "a duration must be a non-negative number, got {s:?}"
                ));
            }
            Ok(Duration::from_secs_f64(d * 86_400.0))
        }
        None => examples::parse_duration(s),
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    examples::init_tracing_at("warn,hdfs_sink=info");
    if args.retain < Duration::from_secs(3600) && !args.allow_short_retention {
        bail!(
            "--retain {:?} is below 1h: files of ranges still being written would be deleted; \
             pass --allow-short-retention if nothing writes to the warehouse",
            args.retain
        );
    }

    let started = Instant::now();
    let mut options = VacuumOptions::default()
        .with_retention(args.retain)
        .with_dry_run(args.dry_run);
    if let Some(t) = &args.table {
        options = options.with_table(t.clone());
    }
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let report = rt.block_on(async {
        let warehouse = Warehouse::open_existing(&args.warehouse, SinkConfig::default())
            .await
            .with_context(|| format!("opening warehouse {}", args.warehouse))?;
        warehouse
            .vacuum(&options)
            .await
            .context("vacuuming the warehouse")
    })?;
    if args.dry_run {
        for f in &report.deleted {
            println!(
                "would delete {} ({}, {} bytes)",
                f.path,
                reason(f.reason),
                f.bytes
            );
        }
    }
    println!(
        "vacuum{}: {} table(s): files {} -> {}, bytes {} -> {}, {} {} ({} replaced by compaction, \
         {} orphans, {} bytes), {} kept as younger than {:?}, {} rows unchanged; in {:.2}s",
        if report.dry_run { " (dry run)" } else { "" },
        report.tables,
        report.files_before,
        report.files_after,
        report.bytes_before,
        report.bytes_after,
        if report.dry_run {
            "would delete"
        } else {
            "deleted"
        },
        report.deleted.len(),
        report.count(VacuumReason::Removed),
        report.count(VacuumReason::Orphan),
        report.deleted_bytes(),
        report.kept_recent,
        report.retention,
        report.rows,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn reason(r: VacuumReason) -> &'static str {
    match r {
        VacuumReason::Removed => "removed from its table",
        VacuumReason::Orphan => "orphan",
        _ => "unreferenced",
    }
}
