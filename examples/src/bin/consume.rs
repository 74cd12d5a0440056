//! Print a topic's message values, one per line, like `kafkacat -C -b B -t T [-o beginning] [-e]`.
use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

use clap::Parser;
use kafka_io::{
    Batch, BoundedConsumer, BoundedOptions, StartAll, StartOffset, StartPosition,
    StreamingConsumer, StreamingOptions,
};

/// Consume a Kafka topic and write each message value on its own line to stdout (null values
/// as empty lines). With --exit-at-end the high watermarks are snapshotted at start and the
/// program exits once they are reached (messages produced meanwhile are not waited for);
/// without it, it keeps consuming in a consumer group until interrupted. Progress and a
/// summary go to stderr.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    kafka: examples::KafkaArgs,
    /// Topic to read.
    #[arg(long)]
    topic: String,
    /// Start at each partition's earliest retained message (default: only new messages).
    #[arg(long)]
    from_beginning: bool,
    /// Stop at the end of the data present at start (bounded read) instead of waiting for more.
    #[arg(long)]
    exit_at_end: bool,
    /// Print `key<TAB>value` instead of the value alone.
    #[arg(long)]
    print_key: bool,
    /// Consumer group for the streaming (no --exit-at-end) mode; nothing is committed.
    #[arg(long, default_value = "kafka-io-consume")]
    group: String,
    /// No progress on stderr.
    #[arg(long)]
    quiet: bool,
}

fn main() -> anyhow::Result<()> {
    examples::init_tracing_at("warn");
    let args = Args::parse();
    let config = args.kafka.config()?;
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let started = Instant::now();
    let mut stats = Stats {
        messages: 0,
        bytes: 0,
        last_draw: started,
        quiet: args.quiet,
    };

    if args.exit_at_end {
        let start = if args.from_beginning {
            StartPosition::Earliest
        } else {
            // Only new messages: start at the ends, so a bounded read prints nothing.
            let d = kafka_io::Admin::new(&config)?.describe(&args.topic)?;
            StartPosition::Offsets(
                d.partitions
                    .iter()
                    .map(|p| (p.partition, p.high_watermark))
                    .collect(),
            )
        };
        let mut reader =
            BoundedConsumer::start(&config, &args.topic, start, BoundedOptions::default())?;
        while let Some(batch) = reader.next_batch()? {
            write_batch(&mut out, &batch, args.print_key, &mut stats)?;
            reader.recycle(batch);
        }
    } else {
        let from = if args.from_beginning {
            StartOffset::Earliest
        } else {
            StartOffset::Latest
        };
        let mut consumer = StreamingConsumer::new(
            &config,
            &[&args.topic],
            StreamingOptions::new(&args.group),
            StartAll(from),
        )?;
        loop {
            for batch in consumer.poll_batches()? {
                write_batch(&mut out, &batch, args.print_key, &mut stats)?;
            }
            out.flush()?;
        }
    }
    out.flush()?;
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    if !args.quiet {
        eprintln!();
    }
    eprintln!(
        "consumed {} messages ({:.1} MB) in {secs:.2} s: {:.0} msg/s, {:.1} MB/s",
        stats.messages,
        stats.bytes as f64 / 1e6,
        stats.messages as f64 / secs,
        stats.bytes as f64 / 1e6 / secs
    );
    Ok(())
}

struct Stats {
    messages: u64,
    bytes: u64,
    last_draw: Instant,
    quiet: bool,
}

fn write_batch(
    out: &mut impl Write,
    batch: &Batch,
    print_key: bool,
    stats: &mut Stats,
) -> anyhow::Result<()> {
    for m in batch.iter() {
        if print_key {
            out.write_all(m.key.unwrap_or_default())?;
            out.write_all(b"\t")?;
        }
        let v = m.payload.unwrap_or_default();
        out.write_all(v)?;
        out.write_all(b"\n")?;
        stats.bytes += v.len() as u64;
    }
    stats.messages += batch.len() as u64;
    if !stats.quiet && stats.last_draw.elapsed() > Duration::from_millis(500) {
        stats.last_draw = Instant::now();
        eprint!(
            "\r{} messages, {:.1} MB",
            stats.messages,
            stats.bytes as f64 / 1e6
        );
    }
    Ok(())
}
