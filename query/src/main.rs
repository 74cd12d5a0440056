//! `query`: SQL over the committed tables of a landed warehouse (DataFusion).
//!
//! ```sh
//! query --warehouse ./warehouse --sql "select count(*) from assessments"
//! query --warehouse hdfs://127.0.0.1:9000/warehouse --file queries/exam_popularity.sql
//! query --warehouse ./warehouse --sql "select * from assessments" --out /tmp/assessments.parquet
//! query --warehouse ./warehouse          # interactive prompt (\d lists tables, \q quits)
//! ```

#![forbid(unsafe_code)]

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use assessment_query::{
    Format, QueryResult, Registered, parse_statements, plan_statement, register_warehouse,
    run_statement, session, write_parquet, write_result,
};
use clap::{Parser, ValueEnum};
use datafusion::execution::context::SessionContext;
use tokio::runtime::Runtime;

/// Run SQL over the committed tables of a landed warehouse.
///
/// Registers `raw`, `assessments`, `questions`, `options` and `rejects` (and any other Delta
/// table of the warehouse), reading only the files of each table's latest Delta version:
/// files of crashed writers (orphans) and files a compaction replaced are never read. SQL is DataFusion's (PostgreSQL-like; arrays are
/// 1-based: Spark's `sequences.questions[0]` is `sequences.questions[1]` here).
///
/// With neither --sql nor --file, reads SQL from standard input if it is not a terminal,
/// else starts an interactive prompt with history (`\d` lists tables, `\d NAME` shows a
/// table's columns, `\q` quits; statements end with `;`).
#[derive(Debug, Parser)]
#[command(name = "query", version)]
struct Args {
    /// The warehouse: a local directory, file:///abs/path or hdfs://host:port/path.
    #[arg(long, short = 'w', env = "QUERY_WAREHOUSE")]
    warehouse: String,

    /// SQL to run: one statement or several separated by `;`.
    #[arg(long, short = 'e', conflicts_with = "file")]
    sql: Option<String>,

    /// A SQL file to run: every `;`-separated statement, in order (`--` comments allowed).
    #[arg(long, short = 'f')]
    file: Option<PathBuf>,

    /// Write the result of the last statement as one Parquet file to this local path or
    /// hdfs://host:port/path (replaced if it exists) instead of printing it. Earlier
    /// statements' results are printed.
    #[arg(long, short = 'o')]
    out: Option<String>,

    /// How results are printed: an aligned table, CSV with a header, or NDJSON.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    /// Aligned table and row count.
    Table,
    /// CSV with a header line.
    Csv,
    /// Newline-delimited JSON.
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Table => Format::Table,
            FormatArg::Csv => Format::Csv,
            FormatArg::Json => Format::Json,
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    examples::init_tracing_at("warn");

    let rt = Runtime::new().context("cannot start the async runtime")?;
    let ctx = session();
    let registered = rt.block_on(register_warehouse(&ctx, &args.warehouse))?;
    let format = Format::from(args.format);

    let script = match (&args.sql, &args.file) {
        (Some(sql), _) => Some(sql.clone()),
        (None, Some(file)) => Some(
            std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?,
        ),
        (None, None) if !std::io::stdin().is_terminal() => {
            let mut sql = String::new();
            std::io::stdin()
                .read_to_string(&mut sql)
                .context("cannot read SQL from standard input")?;
            Some(sql)
        }
        (None, None) => None,
    };
    match script {
        Some(sql) => rt.block_on(run_script(&ctx, &sql, format, args.out.as_deref())),
        None => {
            if args.out.is_some() {
                bail!("--out needs --sql or --file");
            }
            interactive(&rt, &ctx, &registered, format)
        }
    }
}

/// Runs every statement; with `out`, the last one's result goes to Parquet.
async fn run_script(
    ctx: &SessionContext,
    sql: &str,
    format: Format,
    out: Option<&str>,
) -> Result<()> {
    let mut statements = parse_statements(ctx, sql)?;
    if statements.is_empty() {
        bail!("no SQL statement given");
    }
    let last = match out {
        Some(_) => statements.pop(),
        None => None,
    };
    let echo = format == Format::Table && statements.len() > 1;
    let mut stdout = std::io::stdout().lock();
    for statement in statements {
        let result = run_statement(ctx, statement).await?;
        if echo {
            writeln!(stdout, "> {}", result.sql)?;
        }
        print(&result, format, &mut stdout)?;
    }
    if let (Some(statement), Some(out)) = (last, out) {
        let df = plan_statement(ctx, statement).await?;
        let rows = write_parquet(ctx, df, out).await?;
        eprintln!("wrote {rows} rows to {out}");
    }
    Ok(())
}

fn print(result: &QueryResult, format: Format, out: &mut dyn std::io::Write) -> Result<()> {
    if result.schema.fields().is_empty() {
        // DDL (CREATE VIEW, SET, …): nothing to print.
        if format == Format::Table {
            writeln!(out, "OK")?;
        }
        return Ok(());
    }
    write_result(result, format, out)?;
    if format == Format::Table {
        writeln!(out)?;
    }
    Ok(())
}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("QUERY_HISTORY")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".query_history")))
}

fn interactive(
    rt: &Runtime,
    ctx: &SessionContext,
    registered: &Registered,
    format: Format,
) -> Result<()> {
    use rustyline::error::ReadlineError;

    let mut editor = rustyline::DefaultEditor::new().context("cannot start the line editor")?;
    let history = history_path();
    if let Some(h) = &history {
        // A missing history file is normal on the first run.
        let _ = editor.load_history(h);
    }
    println!(
        "{}: {} tables, {} committed ranges. End statements with ';'. \\d lists tables, \\q quits.",
        registered.url,
        registered.tables.len(),
        registered.ranges
    );
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "query> "
        } else {
            "   ..> "
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e).context("cannot read the input"),
        };
        let trimmed = line.trim();
        if buffer.is_empty() && trimmed.starts_with('\\') {
            let _ = editor.add_history_entry(trimmed);
            match meta_command(trimmed, registered) {
                Some(text) => print!("{text}"),
                None => break,
            }
            continue;
        }
        if trimmed.is_empty() && buffer.is_empty() {
            continue;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if !trimmed.ends_with(';') {
            continue;
        }
        let sql = std::mem::take(&mut buffer);
        let _ = editor.add_history_entry(sql.trim());
        let started = Instant::now();
        match rt.block_on(run_script(ctx, &sql, format, None)) {
            Ok(()) => eprintln!("({:.3} s)", started.elapsed().as_secs_f64()),
            Err(e) => eprintln!("error: {e:#}"),
        }
    }
    if let Some(h) = &history
        && let Err(e) = editor.save_history(h)
    {
        tracing::warn!(path = %h.display(), error = %e, "cannot save the history");
    }
    Ok(())
}

/// `\q` → None (quit); otherwise the text to print.
fn meta_command(cmd: &str, registered: &Registered) -> Option<String> {
    use std::fmt::Write as _;
    let mut words = cmd.split_whitespace();
    let name = words.next().unwrap_or_default();
    let arg = words.next();
    let mut s = String::new();
    match (name, arg) {
        ("\\q", _) => return None,
        ("\\d", None) => {
            let _ = writeln!(
                s,
                "{:<14} {:>6} {:>12} {:>12}  partitioned by",
                "table", "files", "rows", "bytes"
            );
            for t in &registered.tables {
                let _ = writeln!(
                    s,
                    "{:<14} {:>6} {:>12} {:>12}  {}",
                    t.name,
                    t.files,
                    t.rows,
                    t.bytes,
                    t.partition_columns.join(", ")
                );
            }
        }
        ("\\d", Some(table)) => match registered.table(table) {
            Some(t) => {
                for f in t.schema.fields() {
                    let _ = writeln!(
                        s,
                        "{:<20} {}{}",
                        f.name(),
                        f.data_type(),
                        if f.is_nullable() { "" } else { " NOT NULL" }
                    );
                }
            }
            None => {
                let _ = writeln!(s, "no table {table} (\\d lists them)");
            }
        },
        _ => {
            let _ = writeln!(
                s,
                "\\d            list tables (files, committed rows, bytes)\n\\d TABLE      columns of TABLE\n\\q            quit\nSQL statements end with ';' (SHOW TABLES, SHOW COLUMNS FROM t, EXPLAIN … work too)"
            );
        }
    }
    Some(s)
}
