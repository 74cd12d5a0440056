//! The CPU floor of landing an NDJSON file: the work `land --input` cannot avoid, and nothing
//! else. The file is read into memory first (not counted); then, each phase timed in
//! CPU-seconds of the process (user + sys, every thread):
//!
//! 1. *flatten*: every line through one [`Flattener`] into the landed tables, in chunks of
//!    `--chunk` lines as `land` does;
//! 2. *encode*: the flattened tables written through `hdfs-sink` into a local temporary
//!    warehouse with the column options `land` uses, one range, one commit.
//!
//! `benches/hdfs_vs_local.sh` compares `land`'s CPU-seconds per GB of JSON with the sum: what
//! the rest of `land` (reading, splitting, the threads' hand-over, commits) costs on top.

use anyhow::{Context as _, Result};
use assessment_flatten::{FlattenConfig, Flattened, Flattener, Message};
use assessment_schema::tables::Table;
use clap::Parser;
use std::path::PathBuf;

// The allocator `land` uses: the floor must not differ from it in that.
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Measures the CPU-seconds per GB of JSON of flattening and encoding a file's events.
#[derive(Parser, Debug)]
struct Args {
    /// NDJSON file (uncompressed), e.g. from `generate --format ndjson`.
    #[arg(long)]
    input: PathBuf,
    /// Tables to land, comma-separated (`rejects` is always landed), as `land --tables`.
    #[arg(long, default_value = "raw,assessments,questions,options,rejects")]
    tables: String,
    /// Land `assessments` without its nested `sequences` column, as `land --without-sequences`.
    #[arg(long)]
    without_sequences: bool,
    /// Lines per flattened chunk.
    #[arg(long, default_value_t = examples::land::DEFAULT_CHUNK_MESSAGES)]
    chunk: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let data =
        std::fs::read(&args.input).with_context(|| format!("reading {}", args.input.display()))?;
    let tables = examples::land::select_tables(&examples::land::parse_tables(&args.tables)?);
    let flatten = FlattenConfig {
        nested_sequences: !args.without_sequences,
        build_raw: tables.contains(&Table::Raw),
        ..FlattenConfig::default()
    };

    let t0 = cpu_seconds()?;
    let chunks = flatten_all(&data, flatten, args.chunk)?;
    let t1 = cpu_seconds()?;
    let rows = encode_all(&chunks, &tables, !args.without_sequences)?;
    let t2 = cpu_seconds()?;

    let gb = data.len() as f64 / 1e9;
    println!(
        "input {} bytes, {} chunks, {rows} rows written",
        data.len(),
        chunks.len()
    );
    println!("flatten_cpu_s={:.3}", t1 - t0);
    println!("encode_cpu_s={:.3}", t2 - t1);
    println!("floor_cpu_s_per_gb={:.3}", (t2 - t0) / gb);
    Ok(())
}

/// Every non-blank line of `data`, flattened in chunks of `chunk` lines.
fn flatten_all(data: &[u8], config: FlattenConfig, chunk: usize) -> Result<Vec<Flattened>> {
    let mut flattener = Flattener::new(config);
    let mut chunks = Vec::new();
    let lines = data.split(|b| *b == b'\n').filter(|l| !l.is_empty());
    for (offset, line) in lines.enumerate() {
        flattener.push(&Message::new("floor", 0, offset as i64, line))?;
        if flattener.len() >= chunk {
            chunks.push(flattener.flush()?);
        }
    }
    if !flattener.is_empty() {
        chunks.push(flattener.flush()?);
    }
    Ok(chunks)
}

/// Writes `chunks` as one range into a fresh local warehouse; returns the rows written.
fn encode_all(chunks: &[Flattened], tables: &[Table], nested: bool) -> Result<u64> {
    let dir = std::env::temp_dir().join(format!("cpu-floor-{}", std::process::id()));
    let url = dir
        .to_str()
        .context("temporary dir is not UTF-8")?
        .to_owned();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let rows = runtime.block_on(async {
        let config = examples::land::sink_config_builder(nested).build()?;
        let warehouse = hdfs_sink::Warehouse::open(&url, config).await?;
        let schemas = examples::land::table_schemas_of(tables, nested);
        warehouse.create_tables(&schemas).await?;
        let mut range = warehouse.begin_range("floor", 0, 0, &schemas)?;
        let mut end = -1;
        for chunk in chunks {
            let batches: Vec<_> = chunk
                .iter()
                .filter(|(t, b)| b.num_rows() > 0 && tables.contains(t))
                .map(|(t, b)| (t.name(), b))
                .collect();
            range.write_tables(&batches).await?;
            end += chunk.stats.messages as i64;
        }
        let info = range.commit(end).await?;
        anyhow::Ok(tables.iter().map(|t| info.rows(t.name())).sum())
    });
    std::fs::remove_dir_all(&dir).ok();
    rows
}

/// CPU time of this process so far (user + sys of all its threads), from /proc/self/stat
/// (in clock ticks of 1/100 s, Linux's USER_HZ).
fn cpu_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The command name (field 2) may contain spaces: count from the closing parenthesis.
    let rest = stat
        .rsplit_once(')')
        .context("unexpected /proc/self/stat")?
        .1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64> {
        Ok(fields
            .get(i)
            .context("short /proc/self/stat")?
            .parse::<f64>()?)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}
