//! SQL over a landed warehouse with [DataFusion], reading committed data only.
//!
//! [`register_warehouse`] registers the tables of a warehouse written by [`hdfs_sink`] — a
//! local directory or an `hdfs://host:port/path` URL — in a DataFusion [`SessionContext`]:
//! `raw`, `assessments`, `questions`, `options`, `rejects` (always, even when empty, with the
//! schemas of [`assessment_schema::tables`]) and any other Delta table of the warehouse
//! (schema read from its files). [`run_sql`] runs every statement of a SQL text,
//! [`write_result`] prints a result as an aligned table, CSV or NDJSON, and [`write_parquet`]
//! writes a query's result as one Parquet file, locally or in HDFS.
//!
//! # Committed data only
//!
//! Every table is a Delta Lake table (`<table>/_delta_log/`); a row is committed if and only
//! if a file of the table's latest version holds it. Registration reads each table's log once
//! (through [`hdfs_sink::Warehouse::snapshot_files`]) and serves DataFusion a read-only view
//! of the storage whose listings contain exactly the files of that version: files of a
//! writer killed before its commit (orphans), files a compaction replaced, or a stray file
//! copied into a table directory are invisible. The tables are a snapshot: ranges committed
//! after registration appear when the warehouse is registered again. A committed file that
//! is missing from the storage fails the query (it does not silently count fewer rows).
//!
//! Tables with Hive date partitioning (`<table>/date=YYYY-MM-DD/…`, see
//! `hdfs_sink::DatePartitioning`) get the partition column (`date`, type `Date32`; `Utf8` if a
//! value is not a date, e.g. `__HIVE_DEFAULT_PARTITION__`), and filters on it prune files.
//!
//! # Example
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use assessment_query::{Format, register_warehouse, run_sql, session, write_result};
//! # let dir = tempfile::tempdir()?;
//! # let url = dir.path().to_str().ok_or("path")?.to_owned();
//! let rt = tokio::runtime::Runtime::new()?;
//! rt.block_on(async {
//!     // An empty warehouse; a landed one works the same way.
//!     hdfs_sink::Warehouse::open(&url, hdfs_sink::SinkConfig::default()).await?;
//!
//!     let ctx = session();
//!     let registered = register_warehouse(&ctx, &url).await?;
//!     assert_eq!(registered.table("assessments").map(|t| t.files), Some(0));
//!
//!     let results = run_sql(&ctx, "select count(*) as n from assessments; select 1 + 1 as two").await?;
//!     assert_eq!(results.len(), 2);
//!     let mut csv = Vec::new();
//!     write_result(&results[0], Format::Csv, &mut csv)?;
//!     assert_eq!(String::from_utf8(csv)?, "n\n0\n");
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })
//! # }
//! ```
//!
//! # Spark-style nested access
//!
//! `list[i].field` works as in Spark (DataFusion 55 alone only accepts `list[i]['field']`;
//! [`parse_statements`] rewrites the former into the latter). Arrays are 1-based, though,
//! like standard SQL, DuckDB and Trino, while Spark's are 0-based: Spark's
//! `sequences.questions[0].user_incomplete` (the first question) is
//! `sequences.questions[1].user_incomplete` here; `[0]` is out of range and yields `NULL`.
//!
//! [DataFusion]: https://datafusion.apache.org

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod output;
pub mod report;
mod store;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use assessment_schema::tables::{self, Table};
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::context::SessionContext;
use datafusion::prelude::SessionConfig;
use datafusion::sql::parser::{DFParserBuilder, Statement};
use datafusion::sql::sqlparser::dialect::dialect_from_str;
use hdfs_native_object_store::HdfsObjectStoreBuilder;
use hdfs_sink::{SinkConfig, Warehouse};
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::prefix::PrefixStore;
use url::Url;

pub use error::{Error, Result};
pub use output::{Format, write_result};

use store::CommittedStore;

/// What [`register_warehouse`] registered.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Registered {
    /// The warehouse, as given.
    pub url: String,
    /// Committed ranges (Kafka partition offset ranges, from the tables' Delta logs).
    pub ranges: usize,
    /// The tables, by name.
    pub tables: Vec<RegisteredTable>,
}

impl Registered {
    /// The table named `name`, if registered.
    pub fn table(&self, name: &str) -> Option<&RegisteredTable> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// One registered table.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RegisteredTable {
    /// SQL name (= directory name in the warehouse).
    pub name: String,
    /// Committed data files.
    pub files: usize,
    /// Committed rows according to the Delta log (`numRecords`).
    pub rows: u64,
    /// Bytes of the committed files according to the Delta log.
    pub bytes: u64,
    /// Hive partition columns (e.g. `date`), empty if the table is not partitioned.
    pub partition_columns: Vec<String>,
    /// The table's schema, partition columns included.
    pub schema: SchemaRef,
}

/// The result of one statement.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct QueryResult {
    /// The statement, as parsed (normalised by the SQL parser).
    pub sql: String,
    /// The result's schema (also when there are no rows).
    pub schema: SchemaRef,
    /// The rows.
    pub batches: Vec<RecordBatch>,
}

impl QueryResult {
    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// A [`SessionContext`] configured for the warehouse: `information_schema` on (so
/// `SHOW TABLES` and `SHOW COLUMNS FROM t` work), strings read as plain `Utf8` (not
/// `Utf8View`) so results written by [`write_parquet`] carry the same types as the warehouse.
pub fn session() -> SessionContext {
    let mut config = SessionConfig::new().with_information_schema(true);
    config
        .options_mut()
        .execution
        .parquet
        .schema_force_view_types = false;
    SessionContext::new_with_config(config)
}

/// Where a warehouse (or an output file) lives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    /// A local path.
    Local(PathBuf),
    /// `hdfs://authority` + an absolute path.
    Hdfs { authority: String, path: String },
}

impl Location {
    fn parse(url: &str) -> Result<Location> {
        let invalid = |reason: String| Error::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        if url.is_empty() {
            return Err(invalid("empty".into()));
        }
        if let Some(rest) = url.strip_prefix("file://") {
            if !rest.starts_with('/') {
                return Err(invalid("a file:// URL needs an absolute path".into()));
            }
            return Ok(Location::Local(PathBuf::from(rest)));
        }
        if !url.contains("://") {
            return Ok(Location::Local(PathBuf::from(url)));
        }
        let parsed = Url::parse(url).map_err(|e| invalid(e.to_string()))?;
        if parsed.scheme() != "hdfs" {
            return Err(invalid(format!(
                "unsupported scheme {:?}: use a local path, file:///… or hdfs://host:port/…",
                parsed.scheme()
            )));
        }
        let host = parsed
            .host_str()
            .ok_or_else(|| invalid("hdfs:// URL without a host".into()))?;
        let authority = match parsed.port() {
            Some(port) => format!("hdfs://{host}:{port}"),
            None => format!("hdfs://{host}"),
        };
        Ok(Location::Hdfs {
            authority,
            path: parsed.path().to_owned(),
        })
    }
}

/// Distinguishes the object-store URLs of several registrations in one process.
static NEXT_REGISTRATION: AtomicU64 = AtomicU64::new(0);

/// Per table, what its Delta snapshot says.
#[derive(Debug, Default)]
struct TableFiles {
    rows: u64,
    bytes: u64,
    /// Paths relative to the root.
    files: Vec<String>,
}

/// Registers the committed tables of the warehouse at `url` (a local path, `file:///…` or
/// `hdfs://host:port/path`) in `ctx`, replacing tables of the same names.
///
/// The five assessment tables are always registered (with no rows if nothing landed in them);
/// other Delta tables of the warehouse are registered with the schema of their files.
///
/// # Errors
///
/// [`Error::InvalidUrl`], [`Error::Warehouse`] (not a warehouse, unreachable NameNode,
/// unreadable Delta log), [`Error::ObjectStore`], [`Error::Partitioning`] (a table mixes
/// partitioned and unpartitioned files), [`Error::Register`].
pub async fn register_warehouse(ctx: &SessionContext, url: &str) -> Result<Registered> {
    let location = Location::parse(url)?;
    let warehouse_err = |source: hdfs_sink::Error| Error::Warehouse {
        url: url.to_owned(),
        source: Box::new(source),
    };
    let warehouse = Warehouse::open_existing(url, SinkConfig::default())
        .await
        .map_err(warehouse_err)?;
    let snapshot = warehouse.snapshot_files().await.map_err(warehouse_err)?;
    let ranges = warehouse.markers().await.map_err(warehouse_err)?;

    let mut by_table: BTreeMap<String, TableFiles> = Table::ALL
        .iter()
        .map(|t| (t.name().to_owned(), TableFiles::default()))
        .collect();
    for (table, files) in &snapshot {
        let acc = by_table.entry(table.clone()).or_default();
        for f in files {
            acc.rows += f.rows;
            acc.bytes += f.bytes;
            acc.files.push(f.path.clone());
        }
    }
    let committed: BTreeSet<StorePath> = by_table
        .values()
        .flat_map(|t| t.files.iter())
        .map(|rel| StorePath::from_iter(rel.split('/').filter(|p| !p.is_empty())))
        .collect();

    let object_store_err = |source: object_store::Error| Error::ObjectStore {
        url: url.to_owned(),
        source: Box::new(source),
    };
    let inner: Arc<dyn ObjectStore> = match &location {
        Location::Local(path) => {
            Arc::new(LocalFileSystem::new_with_prefix(path).map_err(object_store_err)?)
        }
        Location::Hdfs { authority, path } => {
            let hdfs = HdfsObjectStoreBuilder::new()
                .with_url(authority.as_str())
                .build()
                .map_err(object_store_err)?;
            let root = StorePath::from_iter(path.split('/').filter(|p| !p.is_empty()));
            Arc::new(PrefixStore::new(hdfs, root))
        }
    };
    let id = NEXT_REGISTRATION.fetch_add(1, Ordering::Relaxed);
    let store_url = format!("warehouse://w{id}");
    let parsed_store_url = Url::parse(&store_url).map_err(|e| Error::InvalidUrl {
        url: store_url.clone(),
        reason: e.to_string(),
    })?;
    ctx.register_object_store(
        &parsed_store_url,
        Arc::new(CommittedStore::new(
            inner,
            committed,
            warehouse.url().to_owned(),
        )),
    );

    let state = ctx.state();
    let mut tables = Vec::new();
    for (name, files) in by_table {
        let partition_cols = partition_columns(url, &name, &files.files)?;
        let register_err = |source: datafusion::error::DataFusionError| Error::Register {
            url: url.to_owned(),
            table: name.clone(),
            source: Box::new(source),
        };
        let table_url =
            ListingTableUrl::parse(format!("{store_url}/{name}/")).map_err(register_err)?;
        let format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
        let options = ListingOptions::new(Arc::new(format))
            .with_file_extension(".parquet")
            .with_table_partition_cols(partition_cols.clone());
        let config = ListingTableConfig::new(table_url).with_listing_options(options);
        let config = match Table::from_name(&name) {
            Some(t) => config.with_schema(tables::schema(t)),
            None if files.files.is_empty() => continue,
            None => config.infer_schema(&state).await.map_err(register_err)?,
        };
        let provider = ListingTable::try_new(config).map_err(register_err)?;
        let schema = datafusion::catalog::TableProvider::schema(&provider);
        ctx.deregister_table(name.as_str()).map_err(register_err)?;
        ctx.register_table(name.as_str(), Arc::new(provider))
            .map_err(register_err)?;
        tracing::debug!(table = %name, files = files.files.len(), rows = files.rows, "registered");
        tables.push(RegisteredTable {
            name,
            files: files.files.len(),
            rows: files.rows,
            bytes: files.bytes,
            partition_columns: partition_cols.into_iter().map(|(c, _)| c).collect(),
            schema,
        });
    }
    Ok(Registered {
        url: url.to_owned(),
        ranges: ranges.len(),
        tables,
    })
}

/// The Hive partition columns of a table from its committed file paths
/// (`<table>/<key>=<value>/…/<file>`): `Date32` if every value is a `YYYY-MM-DD` date, else
/// `Utf8`.
fn partition_columns(url: &str, table: &str, files: &[String]) -> Result<Vec<(String, DataType)>> {
    let mut layout: Option<Vec<String>> = None;
    let mut all_dates: Vec<bool> = Vec::new();
    for f in files {
        let parts: Vec<&str> = f.split('/').filter(|p| !p.is_empty()).collect();
        // parts[0] is the table directory, the last one the file name.
        let dirs = parts.get(1..parts.len().saturating_sub(1)).unwrap_or(&[]);
        let mut keys = Vec::with_capacity(dirs.len());
        let mut dates = Vec::with_capacity(dirs.len());
        for d in dirs {
            let Some((k, v)) = d.split_once('=') else {
                return Err(Error::Partitioning {
                    url: url.to_owned(),
                    table: table.to_owned(),
                    reason: format!("directory {d:?} of {f} is not a key=value partition"),
                });
            };
            keys.push(k.to_owned());
            dates.push(is_date(v));
        }
        match &layout {
            None => {
                layout = Some(keys);
                all_dates = dates;
            }
            Some(expected) if *expected == keys => {
                for (a, d) in all_dates.iter_mut().zip(dates) {
                    *a &= d;
                }
            }
            Some(expected) => {
                return Err(Error::Partitioning {
                    url: url.to_owned(),
                    table: table.to_owned(),
                    reason: format!("{f} is partitioned by {keys:?}, other files by {expected:?}"),
                });
            }
        }
    }
    Ok(layout
        .unwrap_or_default()
        .into_iter()
        .zip(all_dates)
        .map(|(k, date)| {
            (
                k,
                if date {
                    DataType::Date32
                } else {
                    DataType::Utf8
                },
            )
        })
        .collect())
}

fn is_date(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Parses a SQL text into its statements (`;`-separated; comments and `;` inside strings
/// handled by the SQL parser), with the dialect configured in `ctx`.
///
/// # Errors
///
/// [`Error::Sql`] on a syntax error.
pub fn parse_statements(ctx: &SessionContext, sql: &str) -> Result<Vec<Statement>> {
    let sql_err = |source: datafusion::error::DataFusionError| Error::Sql {
        sql: sql.to_owned(),
        source: Box::new(source),
    };
    let state = ctx.state();
    let options = state.config().options();
    let dialect_name = options.sql_parser.dialect;
    let dialect = dialect_from_str(dialect_name).ok_or_else(|| Error::Sql {
        sql: sql.to_owned(),
        source: Box::new(datafusion::error::DataFusionError::Plan(format!(
            "unsupported SQL dialect {dialect_name}"
        ))),
    })?;
    let statements = DFParserBuilder::new(sql)
        .with_dialect(dialect.as_ref())
        .with_recursion_limit(options.sql_parser.recursion_limit.get())
        .build()
        .and_then(|mut p| p.parse_statements())
        .map_err(sql_err)?;
    Ok(statements
        .into_iter()
        .map(|mut s| {
            field_access_after_subscript(&mut s);
            s
        })
        .collect())
}

/// Lets `list[i].field` name a struct field with a plain identifier, as Spark does.
///
/// DataFusion 55 plans `sequences.questions[1]['user_incomplete']` but refuses
/// `sequences.questions[1].user_incomplete` ("Dot access not supported for non-string
/// expr"). In an access chain, every `.identifier` after the first subscript can only be a
/// struct field, so it is rewritten to `['identifier']` (lower-cased unless quoted, as
/// DataFusion normalises identifiers). Dots before the first subscript are left alone: they
/// may name a table or alias (`a.sequences.questions[1]`).
fn field_access_after_subscript(statement: &mut Statement) {
    use datafusion::sql::sqlparser::ast::{AccessExpr, Expr, Value, visit_expressions_mut};
    use std::ops::ControlFlow;

    let rewrite = |expr: &mut Expr| {
        if let Expr::CompoundFieldAccess { access_chain, .. } = expr {
            let mut after_subscript = false;
            for access in access_chain.iter_mut() {
                match access {
                    AccessExpr::Subscript(_) => after_subscript = true,
                    AccessExpr::Dot(Expr::Identifier(ident)) if after_subscript => {
                        let name = if ident.quote_style.is_some() {
                            ident.value.clone()
                        } else {
                            ident.value.to_lowercase()
                        };
                        *access = AccessExpr::Dot(Expr::Value(
                            Value::SingleQuotedString(name).with_empty_span(),
                        ));
                    }
                    AccessExpr::Dot(_) => {}
                }
            }
        }
        ControlFlow::<()>::Continue(())
    };
    match statement {
        Statement::Statement(inner) => {
            let _ = visit_expressions_mut(inner.as_mut(), rewrite);
        }
        Statement::Explain(explain) => field_access_after_subscript(&mut explain.statement),
        Statement::CopyTo(copy) => {
            if let datafusion::sql::parser::CopyToSource::Query(query) = &mut copy.source {
                let _ = visit_expressions_mut(query.as_mut(), rewrite);
            }
        }
        _ => {}
    }
}

/// Plans one parsed statement into a [`DataFrame`] (DDL such as `CREATE VIEW` runs now).
///
/// # Errors
///
/// [`Error::Sql`] naming the statement (unknown table or column, type error, …).
pub async fn plan_statement(ctx: &SessionContext, statement: Statement) -> Result<DataFrame> {
    let sql = statement.to_string();
    let sql_err = |source: datafusion::error::DataFusionError| Error::Sql {
        sql: sql.clone(),
        source: Box::new(source),
    };
    let plan = ctx
        .state()
        .statement_to_plan(statement)
        .await
        .map_err(sql_err)?;
    ctx.execute_logical_plan(plan).await.map_err(sql_err)
}

/// Runs one parsed statement and collects its result.
///
/// # Errors
///
/// [`Error::Sql`] naming the statement.
pub async fn run_statement(ctx: &SessionContext, statement: Statement) -> Result<QueryResult> {
    let sql = statement.to_string();
    let df = plan_statement(ctx, statement).await?;
    let schema: SchemaRef = Arc::clone(df.schema().inner());
    let batches = df.collect().await.map_err(|source| Error::Sql {
        sql: sql.clone(),
        source: Box::new(source),
    })?;
    Ok(QueryResult {
        sql,
        schema,
        batches,
    })
}

/// Runs every statement of `sql`, in order, and returns their results.
///
/// # Errors
///
/// [`Error::Sql`] for the first statement that fails (later ones are not run).
pub async fn run_sql(ctx: &SessionContext, sql: &str) -> Result<Vec<QueryResult>> {
    let mut out = Vec::new();
    for statement in parse_statements(ctx, sql)? {
        out.push(run_statement(ctx, statement).await?);
    }
    Ok(out)
}

/// Writes the result of `df` as one plain Parquet file at `out`: a local path, `file:///…`
/// or `hdfs://host:port/path` (an existing file is replaced). Returns the rows written.
///
/// The file is written by DataFusion's Parquet writer (zstd, Arrow schema embedded): Spark,
/// DuckDB and pyarrow read it; UTC timestamps are `INT64 TIMESTAMP(MICROS, UTC)`. To HDFS it
/// is written to a temporary name and renamed when complete.
///
/// # Errors
///
/// [`Error::InvalidUrl`], [`Error::ObjectStore`] (HDFS client), [`Error::Write`].
pub async fn write_parquet(ctx: &SessionContext, df: DataFrame, out: &str) -> Result<u64> {
    let target = match Location::parse(out)? {
        Location::Local(path) => {
            let absolute = if path.is_absolute() {
                path
            } else {
                std::env::current_dir()
                    .map_err(|e| Error::InvalidUrl {
                        url: out.to_owned(),
                        reason: format!("cannot resolve a relative path: {e}"),
                    })?
                    .join(path)
            };
            absolute.to_string_lossy().into_owned()
        }
        Location::Hdfs { authority, path } => {
            let store_url = Url::parse(&authority).map_err(|e| Error::InvalidUrl {
                url: out.to_owned(),
                reason: e.to_string(),
            })?;
            let registered = datafusion::execution::object_store::ObjectStoreUrl::parse(&authority)
                .and_then(|u| ctx.runtime_env().object_store(u));
            if registered.is_err() {
                let hdfs = HdfsObjectStoreBuilder::new()
                    .with_url(authority.as_str())
                    .build()
                    .map_err(|source| Error::ObjectStore {
                        url: out.to_owned(),
                        source: Box::new(source),
                    })?;
                ctx.register_object_store(&store_url, Arc::new(hdfs));
            }
            format!("{authority}{path}")
        }
    };
    let write_err = |source: datafusion::error::DataFusionError| Error::Write {
        url: out.to_owned(),
        source: Box::new(source),
    };
    let counts = df
        .write_parquet(
            &target,
            DataFrameWriteOptions::new().with_single_file_output(true),
            None,
        )
        .await
        .map_err(write_err)?;
    Ok(rows_written(&counts))
}

/// The `count` column of a DataFusion write result.
fn rows_written(batches: &[RecordBatch]) -> u64 {
    batches
        .iter()
        .filter_map(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<arrow::array::UInt64Array>()
        })
        .flat_map(|a| a.iter().flatten())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(
            Location::parse("hdfs://127.0.0.1:9000/a/b").unwrap(),
            Location::Hdfs {
                authority: "hdfs://127.0.0.1:9000".into(),
                path: "/a/b".into()
            }
        );
        assert_eq!(
            Location::parse("file:///tmp/x").unwrap(),
            Location::Local("/tmp/x".into())
        );
        assert_eq!(
            Location::parse("./w").unwrap(),
            Location::Local("./w".into())
        );
        assert!(matches!(
            Location::parse("s3://bucket/x"),
            Err(Error::InvalidUrl { .. })
        ));
        assert!(matches!(Location::parse(""), Err(Error::InvalidUrl { .. })));
    }

    #[test]
    fn dots_after_a_subscript_become_field_names() {
        let ctx = session();
        let statements = parse_statements(
            &ctx,
            "select a.sequences.questions[1].User_Incomplete, a.sequences.counts.correct \
             from assessments a; explain select s.q[2].\"Id\" from t s",
        )
        .unwrap();
        let first = statements[0].to_string();
        assert!(
            first.contains("a.sequences.questions[1].'user_incomplete'"),
            "{first}"
        );
        assert!(first.contains("a.sequences.counts.correct"), "{first}");
        let second = statements[1].to_string();
        assert!(second.contains("s.q[2].'Id'"), "{second}");
    }

    #[test]
    fn partition_layouts() {
        let files = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(
            partition_columns("w", "t", &files(&["t/a.parquet"]))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            partition_columns(
                "w",
                "t",
                &files(&["t/date=2024-01-01/a.parquet", "t/date=2024-01-02/a.parquet"])
            )
            .unwrap(),
            vec![("date".to_owned(), DataType::Date32)]
        );
        assert_eq!(
            partition_columns(
                "w",
                "t",
                &files(&[
                    "t/date=2024-01-01/a.parquet",
                    "t/date=__HIVE_DEFAULT_PARTITION__/a.parquet"
                ])
            )
            .unwrap(),
            vec![("date".to_owned(), DataType::Utf8)]
        );
        assert!(matches!(
            partition_columns(
                "w",
                "t",
                &files(&["t/date=2024-01-01/a.parquet", "t/b.parquet"])
            ),
            Err(Error::Partitioning { .. })
        ));
    }
}
