//! Lands events into the warehouse as Parquet, exactly once.

#[path = "common/progress.rs"]
mod progress;

use anyhow::{Context as _, Result, bail};
use assessment_flatten::FlattenConfig;
use clap::Parser;
use examples::land::{
    BoundedLandOptions, FileLandOptions, FollowOptions, LandOptions, Totals, land_file,
    land_topic_bounded, land_topic_follow,
};
use hdfs_sink::{RotationPolicy, Warehouse};
use progress::LineProgress;
use std::path::PathBuf;
use std::time::Instant;

// The Parquet encoders allocate and shrink page buffers on several threads: under glibc's
// malloc that fragments a streaming member's RSS (measured in BENCHMARKS.md, "Memory").
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Land assessment events as Parquet tables (raw, assessments, questions, options, rejects)
/// in a warehouse directory or HDFS, exactly once: re-running never lands an event twice.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Event file to land: a JSON array (like the original dataset) or NDJSON, detected
    /// from its first byte. Topic = the file's name, partition 0, offset = event index (in
    /// NDJSON: the index among non-blank lines; a line that is not one event is a reject).
    #[arg(long, conflicts_with = "brokers", required_unless_present = "brokers")]
    input: Option<PathBuf>,
    #[command(flatten)]
    kafka: KafkaFlags,
    /// Kafka topic to land (with `--brokers`).
    #[arg(long)]
    topic: Option<String>,
    /// Stream instead of stopping at the high watermarks: join consumer group `--group`,
    /// land the partitions it assigns (several `land --follow` processes share a topic),
    /// rotate ranges by `--rotate-*`, and run until SIGINT/SIGTERM, which commits the open
    /// ranges and exits 0 (a second signal exits at once; nothing corrupt is left).
    #[arg(long, requires = "brokers")]
    follow: bool,
    /// Consumer group of `--follow`. Start positions always come from the warehouse; the
    /// group's offsets are committed after each range for lag monitoring only.
    #[arg(long, default_value = "assessment-lake-land")]
    group: String,
    /// Static group membership for `--follow` (e.g. the pod or host name): restarted within
    /// `--session-timeout`, the process gets its partitions back without a rebalance.
    #[arg(long)]
    instance_id: Option<String>,
    /// `--follow`: a member silent this long (crashed) is evicted from the group and its
    /// partitions move to the others, e.g. `10s` (the broker allows 6s..30m by default).
    #[arg(long, default_value = "45s", value_parser = examples::parse_duration)]
    session_timeout: std::time::Duration,
    /// Commit a partition's range when it holds this many rows (over all tables).
    #[arg(long, default_value_t = RotationPolicy::default().max_rows)]
    rotate_rows: u64,
    /// Commit a partition's range when its Parquet files reach this many bytes.
    #[arg(long, default_value_t = RotationPolicy::default().max_bytes)]
    rotate_bytes: u64,
    /// Commit a partition's range when it has been open this long (wall clock, so idle
    /// partitions become queryable too), e.g. `30s`, `5m`, `500ms`.
    #[arg(long, default_value = "5m", value_parser = examples::parse_duration)]
    rotate_interval: std::time::Duration,
    /// Accept a retention gap (offsets that expired before they landed): record it in the
    /// warehouse, where `verify` reports it, instead of stopping with an error.
    #[arg(long)]
    accept_gaps: bool,
    /// Warehouse: a local directory, `file:///path`, or `hdfs://host:port/path`.
    #[arg(long)]
    warehouse: String,
    /// Memory budget in bytes for the Parquet row groups buffered by all open files (every
    /// partition's range, every table); when exceeded, the largest row groups of the range
    /// being written are flushed early. Default 64 MiB with --follow, otherwise the sink's
    /// default (128 MiB).
    #[arg(long, value_name = "BYTES")]
    buffer_memory: Option<usize>,
    /// Messages per chunk handed from the flattening thread to the Parquet writer.
    #[arg(long, default_value_t = 8_192)]
    chunk_messages: usize,
    /// Chunks of different partitions written at once (the bounded Kafka landing; a file is
    /// one partition; --follow writes one chunk at a time). One partition's chunks are
    /// always written in order; 1 writes one chunk at a time.
    #[arg(long, default_value_t = examples::land::DEFAULT_CONCURRENT_WRITES)]
    concurrent_writes: usize,
    /// Tables to land, comma-separated, from raw,assessments,questions,options,rejects.
    /// `rejects` is always landed (bad input is never dropped); without `raw` it is not even
    /// built. Each range's commit marker lists the tables it holds, so `verify --balance
    /// raw=…` skips ranges landed without raw.
    #[arg(long, default_value = "raw,assessments,questions,options,rejects")]
    tables: String,
    /// Land `assessments` without its nested `sequences` column: the flat tables only (the
    /// questions and options it nests are the rows of `questions` and `options`; the
    /// sequence id, attempt, counts and question count stay as columns). About half the
    /// bytes of `assessments` and a fifth less CPU. `query` reads such ranges with
    /// `sequences` NULL; Spark needs `mergeSchema` to read a table landed both ways.
    #[arg(long)]
    without_sequences: bool,
    /// With --input: the source name (topic) the file's events land under, instead of the
    /// file's name. A source remembers its content: landing a different file under a name
    /// already landed is refused.
    #[arg(long, requires = "input", value_name = "NAME")]
    source: Option<String>,
    /// Exit 0 even if every message of the run became a reject (by default such a run,
    /// which usually means the wrong file or topic, exits 1 after committing the rejects).
    #[arg(long)]
    allow_all_rejects: bool,
}

/// The Kafka connection of `land`: none (a file is landed) or the brokers of `--topic`.
#[derive(Debug, clap::Args)]
struct KafkaFlags {
    /// Kafka bootstrap servers: land `--topic` bounded, from the warehouse's committed
    /// offsets up to the high watermarks snapshotted at start (the recipe's
    /// earliest→latest read), then exit.
    #[arg(long, requires = "topic")]
    brokers: Option<String>,
    /// Extra librdkafka property KEY=VALUE for the consumer, e.g. security.protocol=SASL_SSL
    /// (repeatable).
    #[arg(long = "property", value_name = "KEY=VALUE")]
    properties: Vec<String>,
}

impl KafkaFlags {
    /// The client configuration, if `--brokers` is given.
    fn config(&self) -> Result<Option<kafka_io::KafkaConfig>> {
        let Some(brokers) = &self.brokers else {
            return Ok(None);
        };
        let kafka = examples::KafkaArgs {
            brokers: brokers.clone(),
            properties: self.properties.clone(),
        };
        Ok(Some(kafka.config()?))
    }
}

fn main() -> Result<()> {
    examples::init_tracing();
    let args = Args::parse();
    if args.chunk_messages == 0 {
        bail!("--chunk-messages must be at least 1");
    }
    if args.concurrent_writes == 0 {
        bail!("--concurrent-writes must be at least 1");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        // The Parquet encoding jobs (one per table of a write) run on the blocking pool:
        // more threads than cores buys nothing and fragments the heap.
        .max_blocking_threads(std::thread::available_parallelism().map_or(2, |n| n.get().max(2)))
        .enable_all()
        .build()?;
    rt.block_on(run(&args))
}

async fn run(args: &Args) -> Result<()> {
    let started = Instant::now();
    // Installed before the set-up, so a signal while connecting is a clean stop too.
    let shutdown = args.follow.then(examples::shutdown_signal);
    let warehouse = open_warehouse(args).await?;
    let land = LandOptions {
        tables: examples::land::parse_tables(&args.tables)?,
        flatten: FlattenConfig {
            nested_sequences: !args.without_sequences,
            ..FlattenConfig::default()
        },
        concurrent_writes: args.concurrent_writes,
    };
    let kafka = args.kafka.config()?;
    let progress = LineProgress::stderr();
    let totals = match (&args.input, kafka, &args.topic, shutdown) {
        (Some(input), _, _, _) => {
            let opts = FileLandOptions {
                land,
                chunk_messages: args.chunk_messages,
                source: args.source.clone(),
            };
            land_file(input, warehouse, &opts, progress).await?
        }
        (None, Some(kafka), Some(topic), Some(shutdown)) => {
            let opts = follow_options(args, land);
            land_topic_follow(&kafka, topic, warehouse, &opts, progress, shutdown).await?
        }
        (None, Some(kafka), Some(topic), None) => {
            let opts = BoundedLandOptions {
                land,
                chunk_messages: args.chunk_messages,
                read: validated(kafka_io::BoundedOptions {
                    accept_gaps: args.accept_gaps,
                    ..kafka_io::BoundedOptions::default()
                })?,
            };
            land_topic_bounded(&kafka, topic, warehouse, &opts, progress).await?
        }
        _ => bail!("give --input FILE, or --brokers B --topic T"),
    };
    print!("{}", totals.summary(started.elapsed()));
    refuse_all_rejects(&totals, args.allow_all_rejects)
}

/// The warehouse, with the Parquet settings of the landed tables and the rotation and
/// memory flags.
async fn open_warehouse(args: &Args) -> Result<Warehouse> {
    let config = examples::land::sink_config_builder(!args.without_sequences)
        .with_rotation(RotationPolicy {
            max_rows: args.rotate_rows,
            max_bytes: args.rotate_bytes,
            max_age: args.rotate_interval,
        })
        // Row groups are buffered in memory until flushed: the budget bounds them over
        // all open ranges (one per partition) and tables.
        .with_max_buffered_bytes(args.buffer_memory.unwrap_or(if args.follow {
            64 << 20
        } else {
            hdfs_sink::ParquetOptions::default().max_buffered_bytes
        }))
        .build()?;
    Warehouse::open(&args.warehouse, config)
        .await
        .with_context(|| format!("opening warehouse {}", args.warehouse))
}

/// The `--follow` options: consumer group, membership and batching from the flags.
fn follow_options(args: &Args, land: LandOptions) -> FollowOptions {
    let mut opts = FollowOptions::new(&args.group);
    opts.land = land;
    opts.streaming.max_batch_messages = args.chunk_messages;
    opts.streaming.instance_id = args.instance_id.clone();
    opts.streaming.session_timeout = args.session_timeout;
    opts
}

/// A run whose every message was a reject usually means the wrong file or topic: an error
/// unless `--allow-all-rejects`.
fn refuse_all_rejects(totals: &Totals, allowed: bool) -> Result<()> {
    if totals.messages > 0 && totals.accepted == 0 && !allowed {
        bail!(
            "every one of the {} messages landed was a reject (not one valid event): the \
             rejects are committed (see the rejects table's error column), but this is \
             usually the wrong file or topic; pass --allow-all-rejects if it is expected",
            totals.messages
        );
    }
    Ok(())
}

/// `options` if they are valid.
fn validated(options: kafka_io::BoundedOptions) -> Result<kafka_io::BoundedOptions> {
    options.validate()?;
    Ok(options)
}
