//! `compact`: bin-pack the small Parquet files of a landed warehouse's tables into large ones.
//!
//! ```sh
//! compact --warehouse ./warehouse                                  # every table, 128 MiB files
//! compact --warehouse hdfs://127.0.0.1:9000/warehouse --table raw --target-file-mb 256
//! ```

#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Parser;
use hdfs_sink::{
    CompactOptions, CompactOutcome, CompactReport, DEFAULT_TARGET_FILE_BYTES, Warehouse,
};

/// Compact a landed warehouse: rewrite each table's small Parquet files (smaller than half
/// the target size, at least two in a date partition) into files of about the target size,
/// and commit the swap as one Delta OPTIMIZE version per table. No row changes.
///
/// Safe while `land` runs: ranges committed meanwhile go through, and a conflicting change
/// (another compaction of the same files) makes that table's compaction give up and leave
/// the table as it was. Files are encoded with the Parquet settings `land` writes. The
/// replaced files stay on the storage (older versions reference them) until `vacuum` deletes
/// them.
///
/// Exit status: 0 done (or nothing to do), 1 error, 2 the compaction of some table gave up
/// because of a concurrent change (run it again).
#[derive(Debug, Parser)]
#[command(name = "compact", version)]
struct Args {
    /// The warehouse: a local directory, file:///abs/path or hdfs://host:port/path.
    #[arg(long, short = 'w', env = "QUERY_WAREHOUSE")]
    warehouse: String,

    /// Only this table. Default: every table of the warehouse.
    #[arg(long, short = 't')]
    table: Option<String>,

    /// Target size of a compacted file in MiB (the sum of the files packed into it). Files
    /// of at least half of it are left alone.
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_TARGET_FILE_BYTES >> 20,
          value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    target_file_mb: u64,
}

fn main() -> Result<ExitCode> {
    let args = Args::parse();
    examples::init_tracing_at("warn,hdfs_sink=info");

    let started = Instant::now();
    let config = examples::land::sink_config_builder(true)
        .build()
        .context("the Parquet settings of land")?;
    let options = CompactOptions::default().with_target_file_bytes(args.target_file_mb << 20);
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let reports = rt.block_on(async {
        let warehouse = Warehouse::open_existing(&args.warehouse, config)
            .await
            .with_context(|| format!("opening warehouse {}", args.warehouse))?;
        match &args.table {
            Some(t) => Ok::<_, anyhow::Error>(vec![
                warehouse
                    .compact(t, &options)
                    .await
                    .with_context(|| format!("compacting table {t}"))?,
            ]),
            None => warehouse
                .compact_all(&options)
                .await
                .context("compacting the warehouse"),
        }
    })?;
    for r in &reports {
        println!("{}", table_line(r));
    }
    let sum = |f: fn(&CompactReport) -> u64| reports.iter().map(f).sum::<u64>();
    let gave_up = reports
        .iter()
        .filter(|r| matches!(r.outcome, CompactOutcome::GaveUp { .. }))
        .count();
    println!(
        "compacted {} table(s): files {} -> {}, bytes {} -> {}, rows {} ({} rewritten), {} gave up; in {:.2}s",
        reports.len(),
        sum(|r| r.files_before as u64),
        sum(|r| r.files_after as u64),
        sum(|r| r.bytes_before),
        sum(|r| r.bytes_after),
        sum(|r| r.rows),
        sum(|r| r.rows_rewritten),
        gave_up,
        started.elapsed().as_secs_f64()
    );
    Ok(if gave_up > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn table_line(r: &CompactReport) -> String {
    match &r.outcome {
        CompactOutcome::Committed { version } => format!(
            "{}: version {version}: files {} -> {} ({} rewritten into {} in {} partition(s)), \
             bytes {} -> {}, {} rows ({} rewritten), {} attempt(s), {:.2}s",
            r.table,
            r.files_before,
            r.files_after,
            r.files_rewritten,
            r.files_written,
            r.partitions,
            r.bytes_before,
            r.bytes_after,
            r.rows,
            r.rows_rewritten,
            r.attempts,
            r.elapsed.as_secs_f64()
        ),
        CompactOutcome::NothingToDo => format!(
            "{}: nothing to do ({} files, {} bytes, {} rows)",
            r.table, r.files_before, r.bytes_before, r.rows
        ),
        CompactOutcome::GaveUp { reason } => format!(
            "{}: gave up after {} attempt(s), the table is unchanged: {reason}",
            r.table, r.attempts
        ),
        other => format!("{}: {other:?}", r.table),
    }
}
