//! The report's SQL: the `report_*.sql` files of `queries/`, embedded at build time.
//!
//! These files are the one source of truth for the report's numbers: the report runs them
//! as they are, and `query --file queries/report_….sql` prints the same numbers. Each file's
//! statements come in a fixed order that the report relies on (checked when it runs).

use datafusion::execution::context::SessionContext;

use crate::{Error, QueryResult, Result, run_sql};

/// One SQL file of `queries/` that the report runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryFile {
    /// The file name in `queries/`.
    pub name: &'static str,
    /// Its text, as embedded when the crate was built.
    pub sql: &'static str,
    /// How many statements (results) it has.
    pub statements: usize,
}

macro_rules! query_file {
    ($name:literal, $statements:literal) => {
        QueryFile {
            name: $name,
            sql: include_str!(concat!("../../../queries/", $name)),
            statements: $statements,
        }
    };
}

/// Totals and the date range (1 statement).
pub(crate) const TOTALS: QueryFile = query_file!("report_totals.sql", 1);
/// Top 20 exams, then the long tail (2 statements).
pub(crate) const EXAM_POPULARITY: QueryFile = query_file!("report_exam_popularity.sql", 2);
/// Score histogram over all exams, then per exam (2 statements).
pub(crate) const SCORE_DISTRIBUTION: QueryFile = query_file!("report_score_distribution.sql", 2);
/// Per exam and question: attempts and share correct (1 statement).
pub(crate) const QUESTION_DIFFICULTY: QueryFile = query_file!("report_question_difficulty.sql", 1);
/// Minutes to complete in 1-minute bins, then a summary (2 statements).
pub(crate) const TIME_TO_COMPLETE: QueryFile = query_file!("report_time_to_complete.sql", 2);
/// Rejects by kind, events per day, freshness per partition (3 statements).
pub(crate) const DATA_HEALTH: QueryFile = query_file!("report_data_health.sql", 3);

/// Every file the report runs, in the order of the page.
pub const QUERY_FILES: [QueryFile; 6] = [
    TOTALS,
    EXAM_POPULARITY,
    SCORE_DISTRIBUTION,
    QUESTION_DIFFICULTY,
    TIME_TO_COMPLETE,
    DATA_HEALTH,
];

/// Runs every statement of `file` on `ctx` and checks their number.
///
/// # Errors
///
/// [`Error::Sql`] from the statement that failed; [`Error::ReportQuery`] when the file has
/// another number of statements than the report reads.
pub(crate) async fn run_file(ctx: &SessionContext, file: QueryFile) -> Result<Vec<QueryResult>> {
    let started = std::time::Instant::now();
    let results = run_sql(ctx, file.sql).await?;
    if results.len() != file.statements {
        return Err(Error::ReportQuery {
            file: file.name,
            reason: format!(
                "{} statements, the report reads {}",
                results.len(),
                file.statements
            ),
        });
    }
    tracing::debug!(file = file.name, elapsed = ?started.elapsed(), "report query ran");
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_commented_sql_with_its_statements() {
        let ctx = crate::session();
        for file in QUERY_FILES {
            assert!(
                file.sql.starts_with("--"),
                "{} starts with a comment",
                file.name
            );
            let statements = crate::parse_statements(&ctx, file.sql)
                .unwrap_or_else(|e| panic!("{}: {e}", file.name));
            assert_eq!(statements.len(), file.statements, "{}", file.name);
        }
    }
}
