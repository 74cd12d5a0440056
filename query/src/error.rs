//! The one error type of the crate.

use datafusion::error::DataFusionError;

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can fail, with the warehouse URL, table or SQL it concerns. DataFusion,
/// `hdfs-sink` and object-store errors are mapped here, at the boundary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The warehouse or output URL is not a local path, `file:///…` or `hdfs://host:port/…`.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The warehouse cannot be opened or its tables' Delta logs read (not a warehouse,
    /// unreachable NameNode, permission denied, corrupt log, …).
    #[error("cannot read the warehouse {url}: {source}")]
    Warehouse {
        /// The warehouse URL.
        url: String,
        /// The `hdfs-sink` error (semantic: `NotFound`, `Unreachable`, …).
        #[source]
        source: Box<hdfs_sink::Error>,
    },

    /// The object store for the warehouse or output cannot be created.
    #[error("cannot access the storage of {url}: {source}")]
    ObjectStore {
        /// The URL.
        url: String,
        /// The object-store error.
        #[source]
        source: Box<object_store::Error>,
    },

    /// A table's committed files do not share one Hive partition layout.
    #[error("table {table} of {url}: {reason}")]
    Partitioning {
        /// The warehouse URL.
        url: String,
        /// The table.
        table: String,
        /// What is inconsistent.
        reason: String,
    },

    /// DataFusion refused to register a table.
    #[error("cannot register table {table} of {url}: {source}")]
    Register {
        /// The warehouse URL.
        url: String,
        /// The table.
        table: String,
        /// The DataFusion error.
        #[source]
        source: Box<DataFusionError>,
    },

    /// A statement failed to parse, plan or run.
    #[error("{source}\n  in: {sql}")]
    Sql {
        /// The statement (or the whole text for a syntax error).
        sql: String,
        /// The DataFusion error.
        #[source]
        source: Box<DataFusionError>,
    },

    /// Writing a result as Parquet failed.
    #[error("cannot write {url}: {source}")]
    Write {
        /// The output URL.
        url: String,
        /// The DataFusion error.
        #[source]
        source: Box<DataFusionError>,
    },

    /// A result cannot be printed in the requested format.
    #[error("cannot print the result as {format}: {source}")]
    Format {
        /// `table`, `csv` or `json`.
        format: &'static str,
        /// The Arrow error.
        #[source]
        source: Box<arrow::error::ArrowError>,
    },

    /// Writing the printed result failed (e.g. a closed pipe).
    #[error("cannot print the result: {0}")]
    Io(#[from] std::io::Error),

    /// A report query (a file of `queries/`) returned a result of an unexpected shape: a
    /// missing column, a column of the wrong type, or another number of statements.
    #[error("report query {file}: {reason}")]
    ReportQuery {
        /// The file name in `queries/`.
        file: &'static str,
        /// What is wrong.
        reason: String,
    },

    /// The exam asked for has no attempts in the warehouse.
    #[error("no attempts of exam {exam:?} in {url} (most attempts: {most_popular})")]
    UnknownExam {
        /// The exam name as given.
        exam: String,
        /// The warehouse URL.
        url: String,
        /// The most popular exams, for a hint.
        most_popular: String,
    },

    /// A report chart could not be drawn.
    #[error("cannot draw the chart {chart:?}: {reason}")]
    Chart {
        /// The chart's title.
        chart: String,
        /// The plotting library's error.
        reason: String,
    },

    /// The report file could not be written.
    #[error("cannot write the report {}: {source}", path.display())]
    WriteReport {
        /// The output path.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
