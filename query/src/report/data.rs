//! The report's numbers: the results of the `report_*.sql` files, read into plain rows.
//!
//! Per-exam results (score buckets, question difficulty) come for every exam from SQL and
//! are narrowed to the chosen exam here, so that the files run unchanged (no parameters)
//! with `query --file` and give the same rows.

use datafusion::execution::context::SessionContext;

use super::columns::Rows;
use super::queries::{self, QueryFile};
use crate::{Error, QueryResult, Result};

/// Totals of the warehouse (`report_totals.sql`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Totals {
    pub(crate) attempts: i64,
    pub(crate) user_exams: i64,
    pub(crate) exams: i64,
    pub(crate) questions: i64,
    pub(crate) options: i64,
    pub(crate) rejects: i64,
    /// Oldest and newest `keen_timestamp`, RFC 3339 (none without attempts).
    pub(crate) first_event: Option<String>,
    pub(crate) last_event: Option<String>,
}

/// One of the top exams.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExamCount {
    pub(crate) rank: i64,
    pub(crate) exam: Option<String>,
    pub(crate) attempts: i64,
    pub(crate) share_pct: f64,
}

/// The exams after the top 20, summarized.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Tail {
    pub(crate) exams: i64,
    pub(crate) attempts: i64,
    pub(crate) min_attempts: Option<i64>,
    pub(crate) max_attempts: Option<i64>,
}

/// A histogram bin: its lower bound (score %, minute) and count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bin {
    pub(crate) from: i64,
    pub(crate) count: i64,
}

/// One question of the chosen exam.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Question {
    pub(crate) question_id: Option<String>,
    pub(crate) attempts: i64,
    pub(crate) correct: i64,
    pub(crate) correct_pct: f64,
}

/// Summary of the minutes to complete.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Durations {
    pub(crate) attempts: i64,
    pub(crate) median_minutes: Option<f64>,
    pub(crate) p90_minutes: Option<f64>,
    pub(crate) max_minutes: Option<f64>,
    pub(crate) hour_or_more: i64,
}

/// A labelled count (rejects of one kind, events of one day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Count {
    pub(crate) label: String,
    pub(crate) count: i64,
}

/// Freshness of one Kafka partition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Partition {
    pub(crate) topic: String,
    pub(crate) partition: i64,
    pub(crate) events: i64,
    pub(crate) last_offset: i64,
    pub(crate) newest_event: Option<String>,
    pub(crate) behind_minutes: Option<f64>,
}

/// Everything the page shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ReportData {
    pub(crate) totals: Totals,
    pub(crate) top_exams: Vec<ExamCount>,
    pub(crate) tail: Tail,
    pub(crate) scores_all: Vec<Bin>,
    /// The chosen exam (`None`: no attempts at all, or the most popular exam has no name).
    pub(crate) exam: Option<String>,
    pub(crate) scores_exam: Vec<Bin>,
    pub(crate) questions: Vec<Question>,
    pub(crate) minutes: Vec<Bin>,
    pub(crate) durations: Durations,
    pub(crate) rejects: Vec<Count>,
    pub(crate) per_day: Vec<Count>,
    pub(crate) partitions: Vec<Partition>,
}

/// Runs the report's queries on `ctx` (the warehouse at `url` registered) for `exam`
/// (`None`: the most popular).
///
/// # Errors
///
/// [`Error::Sql`], [`Error::ReportQuery`]; [`Error::UnknownExam`] when `exam` has no
/// scored attempt and no question in the warehouse.
pub(crate) async fn load(
    ctx: &SessionContext,
    url: &str,
    exam: Option<&str>,
) -> Result<ReportData> {
    let run = |file| queries::run_file(ctx, file);
    let (totals, popularity, scores, difficulty, time, health) = futures::try_join!(
        run(queries::TOTALS),
        run(queries::EXAM_POPULARITY),
        run(queries::SCORE_DISTRIBUTION),
        run(queries::QUESTION_DIFFICULTY),
        run(queries::TIME_TO_COMPLETE),
        run(queries::DATA_HEALTH),
    )?;
    fn rows(file: QueryFile, results: &[QueryResult], i: usize) -> Rows<'_> {
        Rows::new(file.name, &results[i])
    }

    let top_exams = top_exams(rows(queries::EXAM_POPULARITY, &popularity, 0))?;
    let exam = match exam {
        Some(e) => Some(e.to_owned()),
        None => top_exams.first().and_then(|t| t.exam.clone()),
    };
    let scores_exam = exam_bins(
        rows(queries::SCORE_DISTRIBUTION, &scores, 1),
        exam.as_deref(),
    )?;
    let questions = questions(
        rows(queries::QUESTION_DIFFICULTY, &difficulty, 0),
        exam.as_deref(),
    )?;
    if let Some(e) = exam.as_deref()
        && scores_exam.is_empty()
        && questions.is_empty()
    {
        return Err(unknown_exam(e, url, &top_exams));
    }
    Ok(ReportData {
        totals: totals_of(rows(queries::TOTALS, &totals, 0))?,
        tail: tail(rows(queries::EXAM_POPULARITY, &popularity, 1))?,
        top_exams,
        scores_all: bins(
            rows(queries::SCORE_DISTRIBUTION, &scores, 0),
            "score_from_pct",
            "attempts",
        )?,
        exam,
        scores_exam,
        questions,
        minutes: bins(
            rows(queries::TIME_TO_COMPLETE, &time, 0),
            "from_minute",
            "attempts",
        )?,
        durations: durations(rows(queries::TIME_TO_COMPLETE, &time, 1))?,
        rejects: counts(
            rows(queries::DATA_HEALTH, &health, 0),
            "error_kind",
            "rejects",
        )?,
        per_day: counts(rows(queries::DATA_HEALTH, &health, 1), "day", "events")?,
        partitions: partitions(rows(queries::DATA_HEALTH, &health, 2))?,
    })
}

fn unknown_exam(exam: &str, url: &str, top: &[ExamCount]) -> Error {
    let names: Vec<String> = top
        .iter()
        .take(3)
        .map(|t| format!("{:?}", t.exam.as_deref().unwrap_or("")))
        .collect();
    Error::UnknownExam {
        exam: exam.to_owned(),
        url: url.to_owned(),
        most_popular: if names.is_empty() {
            "none, the warehouse has no attempts".into()
        } else {
            names.join(", ")
        },
    }
}

fn totals_of(r: Rows<'_>) -> Result<Totals> {
    Ok(Totals {
        attempts: r.single_count("attempts")?,
        user_exams: r.single_count("user_exams")?,
        exams: r.single_count("exams")?,
        questions: r.single_count("questions")?,
        options: r.single_count("options")?,
        rejects: r.single_count("rejects")?,
        first_event: r.strings("first_event")?.into_iter().next().flatten(),
        last_event: r.strings("last_event")?.into_iter().next().flatten(),
    })
}

fn top_exams(r: Rows<'_>) -> Result<Vec<ExamCount>> {
    let (rank, exam) = (r.counts("exam_rank")?, r.strings("exam_name")?);
    let (attempts, share) = (r.counts("attempts")?, r.f64s("share_pct")?);
    Ok((0..r.len())
        .map(|i| ExamCount {
            rank: rank[i],
            exam: exam[i].clone(),
            attempts: attempts[i],
            share_pct: share[i].unwrap_or_default(),
        })
        .collect())
}

fn tail(r: Rows<'_>) -> Result<Tail> {
    Ok(Tail {
        exams: r.single_count("exams")?,
        attempts: r.single_count("attempts")?,
        min_attempts: r.i64s("min_attempts")?.into_iter().next().flatten(),
        max_attempts: r.i64s("max_attempts")?.into_iter().next().flatten(),
    })
}

fn bins(r: Rows<'_>, from: &str, count: &str) -> Result<Vec<Bin>> {
    let (from, count) = (r.counts(from)?, r.counts(count)?);
    Ok(from
        .into_iter()
        .zip(count)
        .map(|(from, count)| Bin { from, count })
        .collect())
}

/// The rows of `exam` in a per-exam result (column `exam_name`).
fn exam_rows(r: &Rows<'_>, exam: Option<&str>) -> Result<Vec<usize>> {
    let names = r.strings("exam_name")?;
    Ok(match exam {
        None => Vec::new(),
        Some(exam) => (0..names.len())
            .filter(|&i| names[i].as_deref() == Some(exam))
            .collect(),
    })
}

fn exam_bins(r: Rows<'_>, exam: Option<&str>) -> Result<Vec<Bin>> {
    let all = bins(r, "score_from_pct", "attempts")?;
    Ok(exam_rows(&r, exam)?.into_iter().map(|i| all[i]).collect())
}

fn questions(r: Rows<'_>, exam: Option<&str>) -> Result<Vec<Question>> {
    let (id, attempts) = (r.strings("question_id")?, r.counts("attempts")?);
    let (correct, pct) = (r.counts("correct")?, r.f64s("correct_pct")?);
    Ok(exam_rows(&r, exam)?
        .into_iter()
        .map(|i| Question {
            question_id: id[i].clone(),
            attempts: attempts[i],
            correct: correct[i],
            correct_pct: pct[i].unwrap_or_default(),
        })
        .collect())
}

fn durations(r: Rows<'_>) -> Result<Durations> {
    let first = |v: Vec<Option<f64>>| v.into_iter().next().flatten();
    Ok(Durations {
        attempts: r.single_count("attempts")?,
        median_minutes: first(r.f64s("median_minutes")?),
        p90_minutes: first(r.f64s("p90_minutes")?),
        max_minutes: first(r.f64s("max_minutes")?),
        hour_or_more: r.single_count("hour_or_more")?,
    })
}

fn counts(r: Rows<'_>, label: &str, count: &str) -> Result<Vec<Count>> {
    let (label, count) = (r.strings(label)?, r.counts(count)?);
    Ok(label
        .into_iter()
        .zip(count)
        .map(|(label, count)| Count {
            label: label.unwrap_or_else(|| "(null)".into()),
            count,
        })
        .collect())
}

fn partitions(r: Rows<'_>) -> Result<Vec<Partition>> {
    let (topic, partition) = (r.strings("topic")?, r.counts("kafka_partition")?);
    let (events, offset) = (r.counts("events")?, r.counts("last_offset")?);
    let (newest, behind) = (r.strings("newest_event")?, r.f64s("behind_newest_minutes")?);
    Ok((0..r.len())
        .map(|i| Partition {
            topic: topic[i].clone().unwrap_or_default(),
            partition: partition[i],
            events: events[i],
            last_offset: offset[i],
            newest_event: newest[i].clone(),
            behind_minutes: behind[i],
        })
        .collect())
}
