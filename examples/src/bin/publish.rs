//! Publish a JSON array (or NDJSON) file of events to a Kafka topic, one message per event:
//! the replacement for `jq -c '.[]' FILE | kafkacat -P -b B -t T`.
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use kafka_io::{
    Admin, Compression, PublishOptions, PublishPhase, PublishProgress, PublishReport, Publisher,
    TopicSpec,
};

/// Publish an event file to Kafka: each element of a JSON array (compacted as `jq -c`
/// prints it) and each non-blank NDJSON line (as it is) becomes one message, keyed by a
/// field of it. Elements that are not valid JSON are sent as they are, counted and listed
/// with their positions (the lander keeps them as rejects). The whole file is read first
/// (on all cores, while the topic is created): a JSON array whose structure is broken
/// stops the run, naming line, column and byte, before anything is sent. gzip and zstd
/// files are read as they are. Progress goes to stderr, a summary at the end.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    kafka: examples::KafkaArgs,
    /// Topic to publish to; created if it does not exist.
    #[arg(long)]
    topic: String,
    /// Input file: a JSON array of events, or NDJSON (detected from the first non-blank
    /// byte), plain, gzip or zstd (detected from the first bytes).
    #[arg(long)]
    input: PathBuf,
    /// Partitions of the topic if it has to be created (an existing topic is left as it is).
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Replication factor of the topic if it has to be created.
    #[arg(long, default_value_t = 1)]
    replication_factor: i32,
    /// Topic config KEY=VALUE if the topic has to be created, e.g.
    /// max.message.bytes=10485760 for events over 1 MiB (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE")]
    configs: Vec<String>,
    /// Top-level field whose value is the message key; "" sends every message without a key.
    #[arg(long, default_value = kafka_io::DEFAULT_KEY_FIELD)]
    key: String,
    /// Send while reading, in one pass, instead of reading the whole file first: half
    /// the reading and scanning, but a JSON array whose structure is broken stops the run
    /// after the elements before it were sent.
    #[arg(long)]
    single_pass: bool,
    /// Batch compression: none, gzip, snappy, lz4 or zstd (zstd needs kafka-io's `zstd` feature).
    #[arg(long, default_value = "lz4", value_parser = ["none", "gzip", "snappy", "lz4", "zstd"])]
    compression: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// How many invalid elements the summary names.
const SHOWN_INVALID: usize = 10;

fn main() -> anyhow::Result<()> {
    examples::init_tracing_at("warn");
    let args = Args::parse();
    let config = args.kafka.config()?;
    let mut spec = TopicSpec::new(&args.topic, args.partitions)
        .with_replication_factor(args.replication_factor);
    for c in &args.configs {
        let (k, v) = c.split_once('=').context("--config takes KEY=VALUE")?;
        spec = spec.with_config(k, v);
    }
    let options = PublishOptions {
        key_field: Some(args.key.clone()).filter(|k| !k.is_empty()),
        compression: match args.compression.as_str() {
            "none" => Compression::None,
            "gzip" => Compression::Gzip,
            "snappy" => Compression::Snappy,
            "zstd" => Compression::Zstd,
            _ => Compression::Lz4,
        },
        validate_first: !args.single_pass,
        ..PublishOptions::default()
    };
    // Creating the publisher does not contact the cluster; the file is read (sending
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
        let validated = validated
            .with_context(|| format!("reading {} (nothing was published)", args.input.display()))?;
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
    summary(&report, &args.topic);
    Ok(())
}

fn summary(report: &PublishReport, topic: &str) {
    let secs = report.elapsed.as_secs_f64().max(1e-9);
    eprintln!(
        "delivered {} messages ({:.1} MB) to {} in {:.2} s: {:.0} msg/s, {:.1} MB/s",
        report.delivered,
        report.delivered_bytes as f64 / 1e6,
        topic,
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
        "per partition {}; null keys {}; not valid JSON {}",
        parts.join(" "),
        report.null_keys,
        report.invalid
    );
    if report.invalid > 0 {
        eprintln!(
            "{} elements are not valid JSON; they were sent as they are (a lander keeps them \
             as rejects):",
            report.invalid
        );
    }
    for m in report.invalid_elements.iter().take(SHOWN_INVALID) {
        eprintln!("  {m}");
    }
    if report.invalid > SHOWN_INVALID as u64 {
        eprintln!("  ... and {} more", report.invalid - SHOWN_INVALID as u64);
    }
}

/// A one-line progress bar on stderr.
fn draw(p: &PublishProgress, started: Instant) {
    let frac = if p.bytes_total > 0 {
        (p.bytes_read as f64 / p.bytes_total as f64).min(1.0)
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
