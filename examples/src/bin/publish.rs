//! Publish a JSON array (or NDJSON) file of events to a Kafka topic, one message per event:
//! the replacement for `jq -c '.[]' FILE | kafkacat -P -b B -t T`.
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use kafka_io::{
    Admin, Compression, PublishOptions, PublishPhase, PublishProgress, Publisher, TopicSpec,
};

/// Publish an event file to Kafka: each element of a JSON array (or each NDJSON line) becomes
/// one message whose value is the element as `jq -c` prints it and whose key is a field of it.
/// The whole file is validated first (on all cores, while the topic is created): a malformed
/// element stops the run (with its element index and byte offset) before anything is sent.
/// Progress goes to stderr, a summary at the end.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    kafka: examples::KafkaArgs,
    /// Topic to publish to; created if it does not exist.
    #[arg(long)]
    topic: String,
    /// Input file: a JSON array of events, or NDJSON (detected from the first non-blank byte).
    #[arg(long)]
    input: PathBuf,
    /// Partitions of the topic if it has to be created (an existing topic is left as it is).
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Replication factor of the topic if it has to be created.
    #[arg(long, default_value_t = 1)]
    replication_factor: i32,
    /// Top-level field whose value is the message key; "" sends every message without a key.
    #[arg(long, default_value = kafka_io::DEFAULT_KEY_FIELD)]
    key: String,
    /// Send while reading, in one pass, instead of validating the whole file first: half
    /// the reading and scanning, but a malformed element stops the run after the elements
    /// before it were sent (what kcat does with a bad line, minus the bad line).
    #[arg(long)]
    single_pass: bool,
    /// Skip malformed elements (counted in the summary) instead of failing.
    #[arg(long)]
    skip_malformed: bool,
    /// Batch compression: none, gzip, snappy, lz4 or zstd (zstd needs kafka-io's `zstd` feature).
    #[arg(long, default_value = "lz4", value_parser = ["none", "gzip", "snappy", "lz4", "zstd"])]
    compression: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn main() -> anyhow::Result<()> {
    examples::init_tracing_at("warn");
    let args = Args::parse();
    let config = args.kafka.config()?;
    let spec = TopicSpec::new(&args.topic, args.partitions)
        .with_replication_factor(args.replication_factor);
    let compression = match args.compression.as_str() {
        "none" => Compression::None,
        "gzip" => Compression::Gzip,
        "snappy" => Compression::Snappy,
        "zstd" => Compression::Zstd,
        _ => Compression::Lz4,
    };
    let options = PublishOptions::builder()
        .with_key_field(Some(args.key.as_str()).filter(|k| !k.is_empty()))
        .with_skip_malformed(args.skip_malformed)
        .with_compression(compression)
        .with_validate_first(!args.single_pass)
        .build()?;
    // Creating the publisher does not contact the cluster; the file is validated (sending
    // nothing) while another thread makes sure the topic exists.
    let mut publisher = Publisher::new(&config, &args.topic, options)?;
    let started = Instant::now();
    let quiet = args.quiet;
    let draw = |p: &PublishProgress| {
        if !quiet {
            draw(p, started)
        }
    };
    let report = if args.single_pass {
        let (outcome, desc) = Admin::new(&config)?.ensure_topic(&spec)?;
        eprintln!(
            "topic {} ({outcome:?}, {} partitions)",
            args.topic,
            desc.partitions.len()
        );
        publisher.publish_file_with(&args.input, draw)
    } else {
        let (topic, validated) = std::thread::scope(|s| {
            let topic = s.spawn(|| Admin::new(&config)?.ensure_topic(&spec));
            let validated = publisher.validate_file(&args.input, draw);
            (topic.join(), validated)
        });
        let (outcome, desc) = topic.map_err(|_| anyhow::anyhow!("the topic thread panicked"))??;
        let validated =
            validated.with_context(|| format!("validating {}", args.input.display()))?;
        if !quiet {
            eprintln!();
        }
        eprintln!(
            "topic {} ({outcome:?}, {} partitions); {} elements validated",
            args.topic,
            desc.partitions.len(),
            validated.elements()
        );
        publisher.publish_validated(validated, draw)
    };
    let report = report.with_context(|| format!("publishing {}", args.input.display()))?;
    if !quiet {
        eprintln!();
    }
    let secs = report.elapsed.as_secs_f64().max(1e-9);
    eprintln!(
        "delivered {} messages ({:.1} MB) to {} in {:.2} s: {:.0} msg/s, {:.1} MB/s",
        report.delivered,
        report.delivered_bytes as f64 / 1e6,
        args.topic,
        secs,
        report.delivered as f64 / secs,
        report.delivered_bytes as f64 / 1e6 / secs
    );
    let parts: Vec<String> = report
        .partitions
        .iter()
        .map(|(p, n)| format!("{p}:{n}"))
        .collect();
    eprintln!(
        "per partition {}; null keys {}; skipped malformed {}",
        parts.join(" "),
        report.null_keys,
        report.skipped
    );
    for m in &report.malformed {
        eprintln!(
            "  skipped element #{} at byte {}: {}",
            m.element_index, m.byte_offset, m.reason
        );
    }
    Ok(())
}

/// A one-line progress bar on stderr.
fn draw(p: &PublishProgress, started: Instant) {
    let frac = if p.bytes_total > 0 {
        p.bytes_read as f64 / p.bytes_total as f64
    } else {
        0.0
    };
    let filled = (frac * 30.0) as usize;
    let phase = match p.phase {
        PublishPhase::Validating => "validating",
        PublishPhase::Sending => "sending",
        _ => "flushing",
    };
    let mb_s = p.bytes_read as f64 / 1e6 / started.elapsed().as_secs_f64().max(1e-9);
    eprint!(
        "\r{phase:>10} [{}{}] {:>3.0}% {} elements, {} delivered, {mb_s:.1} MB/s   ",
        "#".repeat(filled),
        ".".repeat(30 - filled.min(30)),
        frac * 100.0,
        p.elements,
        p.delivered
    );
    let _ = std::io::stderr().flush();
}
