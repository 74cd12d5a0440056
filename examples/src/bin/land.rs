//! Lands events into the warehouse as Parquet, exactly once.
use anyhow::{Context as _, Result, bail};
use clap::Parser;
use examples::land::{FileLandOptions, land_file, land_topic_bounded};
use hdfs_sink::{SinkConfig, Warehouse};
use std::path::PathBuf;
use std::time::Instant;

/// Land assessment events as Parquet tables (raw, assessments, questions, options, rejects)
/// in a warehouse directory or HDFS, exactly once: re-running never lands an event twice.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Event file to land: a JSON array (like the original dataset) or NDJSON, detected
    /// from its first byte. Topic = the file's name, partition 0, offset = event index.
    #[arg(long, conflicts_with = "brokers", required_unless_present = "brokers")]
    input: Option<PathBuf>,
    /// Kafka bootstrap servers: land `--topic` bounded, from the warehouse's committed
    /// offsets up to the high watermarks snapshotted at start (the recipe's
    /// earliest→latest read), then exit.
    #[arg(long, requires = "topic")]
    brokers: Option<String>,
    /// Kafka topic to land (with `--brokers`).
    #[arg(long)]
    topic: Option<String>,
    /// Accept a retention gap (offsets that expired before they landed): record it in the
    /// warehouse, where `verify` reports it, instead of stopping with an error.
    #[arg(long)]
    accept_gaps: bool,
    /// Warehouse: a local directory, `file:///path`, or `hdfs://host:port/path`.
    #[arg(long)]
    warehouse: String,
    /// Messages per chunk handed from the flattening thread to the Parquet writer.
    #[arg(long, default_value_t = 16_384)]
    chunk_messages: usize,
}

fn main() -> Result<()> {
    examples::init_tracing();
    let args = Args::parse();
    if args.chunk_messages == 0 {
        bail!("--chunk-messages must be at least 1");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let started = Instant::now();
        let config = SinkConfig::builder().build()?;
        let warehouse = Warehouse::open(&args.warehouse, config)
            .await
            .with_context(|| format!("opening warehouse {}", args.warehouse))?;
        let opts = FileLandOptions {
            chunk_messages: args.chunk_messages,
            ..FileLandOptions::default()
        };
        let totals = match (&args.input, &args.brokers, &args.topic) {
            (Some(input), _, _) => land_file(input, warehouse, &opts).await?,
            (None, Some(brokers), Some(topic)) => {
                let kafka = kafka_io::KafkaConfig::new(brokers.clone());
                let bounded = kafka_io::BoundedOptions::builder()
                    .with_accept_gaps(args.accept_gaps)
                    .build()?;
                land_topic_bounded(&kafka, topic, warehouse, bounded, &opts).await?
            }
            _ => bail!("give --input FILE, or --brokers B --topic T"),
        };
        print!("{}", totals.summary(started.elapsed()));
        Ok(())
    })
}
