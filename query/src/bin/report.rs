//! `report`: one self-contained HTML page of what a landed warehouse says, in charts.
//!
//! ```sh
//! report --warehouse ./warehouse                       # writes ./report.html
//! report --warehouse hdfs://127.0.0.1:9000/warehouse --out /tmp/report.html --exam "Learning Git"
//! ```

#![forbid(unsafe_code)]

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use assessment_query::report::{ReportOptions, write_report};
use clap::Parser;

/// Write an HTML report of a landed warehouse: totals, exam popularity, score distribution,
/// question difficulty, time to complete and data health, as charts with their numbers.
///
/// The page is self-contained (inline SVG and style; nothing is fetched when it is viewed).
/// Its numbers come from the SQL in queries/report_*.sql, over committed data only, as
/// `query` reads it.
#[derive(Debug, Parser)]
#[command(name = "report", version)]
struct Args {
    /// The warehouse: a local directory, file:///abs/path or hdfs://host:port/path.
    #[arg(long, short = 'w', env = "QUERY_WAREHOUSE")]
    warehouse: String,

    /// The HTML file to write (replaced if it exists).
    #[arg(long, short = 'o', default_value = "report.html")]
    out: PathBuf,

    /// The exam of the per-exam sections (score distribution, question difficulty), by its
    /// exact name. Default: the exam with the most attempts.
    #[arg(long)]
    exam: Option<String>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    examples::init_tracing_at("warn");

    let mut options = ReportOptions::new(args.warehouse, args.out);
    if let Some(exam) = args.exam {
        options = options.with_exam(exam);
    }
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let summary = rt.block_on(write_report(&options))?;
    println!(
        "wrote {} ({} bytes): {} attempts, {} exams, {} rejects; exam: {}; in {:.2}s",
        summary.out.display(),
        summary.bytes,
        summary.attempts,
        summary.exams,
        summary.rejects,
        summary.exam.as_deref().unwrap_or("none"),
        summary.elapsed.as_secs_f64()
    );
    Ok(())
}
