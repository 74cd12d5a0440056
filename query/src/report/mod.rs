//! The HTML report: what the landed assessments say, in pictures.
//!
//! [`write_report`] registers a warehouse (local or `hdfs://`, through
//! [`register_warehouse`](crate::register_warehouse), so it reads committed data only, like
//! `query`), runs the report's SQL and writes one self-contained HTML page: inline SVG
//! charts and inline style, nothing fetched when it is viewed. It shows
//!
//! - totals (attempts, users' exams, exams, questions, options, rejects) and the date range;
//! - exam popularity: the top 20 exams by attempts, the long tail summarized;
//! - the score distribution (correct / total per attempt), over all exams and for the chosen
//!   exam (default: the most popular);
//! - question difficulty for the chosen exam (share of `user_result = 'correct'`, hardest
//!   first, with the attempts behind each);
//! - time to complete (minutes from `started_at` to `keen_timestamp`, clipped at an hour);
//! - data health: rejects by error kind, events per day, freshness per Kafka partition.
//!
//! Every chart has a title and labelled axes with units, and its numbers are in a table
//! below it.
//!
//! # One source of truth
//!
//! The numbers come from the `report_*.sql` files of `queries/` ([`QUERY_FILES`], embedded
//! at build time), run as they are: `query --file queries/report_totals.sql` prints the
//! numbers the report shows. Per-exam files return every exam and the report keeps the
//! chosen one's rows, so the files need no parameters.
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use assessment_query::report::{ReportOptions, write_report};
//! # let dir = tempfile::tempdir()?;
//! # let warehouse = dir.path().join("warehouse").to_str().ok_or("path")?.to_owned();
//! # let events = dir.path().join("events.ndjson");
//! # let lines: Vec<String> = examples::generator::Generator::new(42, 200).collect();
//! # std::fs::write(&events, lines.join("\n"))?;
//! let rt = tokio::runtime::Runtime::new()?;
//! rt.block_on(async {
//! #   let sink = hdfs_sink::Warehouse::open(&warehouse, hdfs_sink::SinkConfig::default()).await?;
//! #   examples::land::land_file(&events, sink, &Default::default(), Box::new(examples::land::Silent)).await?;
//!     // `warehouse` holds 200 landed events.
//!     let out = dir.path().join("report.html");
//!     let summary = write_report(&ReportOptions::new(&warehouse, &out)).await?;
//!     assert_eq!(summary.attempts, 200);
//!     assert!(summary.exam.is_some(), "the most popular exam");
//!     assert!(std::fs::read_to_string(&out)?.contains("<svg"));
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })
//! # }
//! ```

mod chart;
mod columns;
mod data;
mod health;
mod html;
mod queries;
mod sections;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{Error, Result, register_warehouse, session};

pub use queries::{QUERY_FILES, QueryFile};

/// What to report on, and where to write it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReportOptions {
    /// The warehouse: a local path, `file:///…` or `hdfs://host:port/path`.
    pub warehouse: String,
    /// The HTML file to write (replaced if it exists).
    pub out: PathBuf,
    /// The exam of the per-exam sections; `None`: the one with the most attempts.
    pub exam: Option<String>,
}

impl ReportOptions {
    /// A report on `warehouse` written to `out`, for the most popular exam.
    pub fn new(warehouse: impl Into<String>, out: impl Into<PathBuf>) -> Self {
        ReportOptions {
            warehouse: warehouse.into(),
            out: out.into(),
            exam: None,
        }
    }

    /// Reports on `exam` instead of the most popular exam.
    pub fn with_exam(mut self, exam: impl Into<String>) -> Self {
        self.exam = Some(exam.into());
        self
    }
}

/// What [`write_report`] wrote.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReportSummary {
    /// The HTML file.
    pub out: PathBuf,
    /// Its size in bytes.
    pub bytes: usize,
    /// Attempts (events) in the warehouse.
    pub attempts: i64,
    /// Distinct exams.
    pub exams: i64,
    /// Rejected messages.
    pub rejects: i64,
    /// The exam of the per-exam sections (`None` when there are no attempts).
    pub exam: Option<String>,
    /// Time to register the warehouse, run the queries and draw the page.
    pub elapsed: Duration,
}

/// Renders the report of the warehouse at `warehouse` as an HTML page, with the summary of
/// what it shows (`out` set to `out`, `bytes` to the page's length).
///
/// # Errors
///
/// As [`write_report`], except [`Error::WriteReport`].
pub async fn render_report(options: &ReportOptions) -> Result<(String, ReportSummary)> {
    let started = Instant::now();
    let ctx = session();
    let registered = register_warehouse(&ctx, &options.warehouse).await?;
    tracing::debug!(url = %registered.url, tables = registered.tables.len(), "warehouse registered");
    let data = data::load(&ctx, &options.warehouse, options.exam.as_deref()).await?;
    let html = page(&options.warehouse, &data, started.elapsed())?;
    let summary = ReportSummary {
        out: options.out.clone(),
        bytes: html.len(),
        attempts: data.totals.attempts,
        exams: data.totals.exams,
        rejects: data.totals.rejects,
        exam: data.exam.clone(),
        elapsed: started.elapsed(),
    };
    Ok((html, summary))
}

/// Writes the report of `options.warehouse` to `options.out` (see the [module](self)).
///
/// # Errors
///
/// [`Error::InvalidUrl`] / [`Error::Warehouse`] / [`Error::ObjectStore`] / [`Error::Register`]
/// from registering the warehouse, [`Error::Sql`] from a report query,
/// [`Error::ReportQuery`] if a query's result lacks a column the report reads,
/// [`Error::UnknownExam`] if `options.exam` has no attempts, [`Error::Chart`],
/// [`Error::WriteReport`].
pub async fn write_report(options: &ReportOptions) -> Result<ReportSummary> {
    let (html, summary) = render_report(options).await?;
    write_file(&options.out, &html)?;
    tracing::info!(
        out = %options.out.display(),
        bytes = summary.bytes,
        attempts = summary.attempts,
        exam = summary.exam.as_deref().unwrap_or(""),
        elapsed = ?summary.elapsed,
        "report written"
    );
    Ok(summary)
}

/// Writes `html` to `path` through a temporary file in the same directory, renamed over
/// `path` when complete: a reader never sees half a page.
fn write_file(path: &Path, html: &str) -> Result<()> {
    let err = |source| Error::WriteReport {
        path: path.to_owned(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp.{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, html).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

/// The page: header, then the sections in reading order.
fn page(url: &str, data: &data::ReportData, elapsed: Duration) -> Result<String> {
    let exam = data.exam.as_deref().unwrap_or("none");
    let header = vec![
        format!("Warehouse <code>{}</code>", html::escape(url)),
        format!(
            "Chosen exam: <b id=\"chosen-exam\">{}</b> (<code>--exam</code>; default the most \
             popular)",
            html::escape(exam)
        ),
        format!(
            "Generated in {:.1} s from the SQL in <code>queries/report_*.sql</code>.",
            elapsed.as_secs_f64()
        ),
    ];
    let exam_title = format!("Score distribution: {}", sections::short(exam, 40));
    let body = vec![
        sections::totals(data),
        sections::popularity(data)?,
        sections::scores(
            "score-all",
            "Score distribution: all exams",
            &data.scores_all,
        )?,
        sections::scores("score-exam", &exam_title, &data.scores_exam)?,
        sections::difficulty(data)?,
        sections::time_to_complete(data)?,
        health::rejects(data)?,
        health::per_day(data)?,
        health::freshness(data)?,
    ];
    Ok(html::page("Assessment attempts report", &header, &body))
}
