//! Create or describe a Kafka topic.
use anyhow::Context;
use clap::{Parser, Subcommand};
use kafka_io::{Admin, TopicSpec};

/// Create a topic (if it does not exist) or describe one: partitions, leaders, replicas,
/// in-sync replicas and low/high watermarks.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    kafka: examples::KafkaArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a topic; an existing topic is left as it is (and reported).
    Create {
        /// Topic name ([a-zA-Z0-9._-], up to 249 characters).
        #[arg(long)]
        topic: String,
        /// Number of partitions.
        #[arg(long, default_value_t = 1)]
        partitions: i32,
        /// Replication factor.
        #[arg(long, default_value_t = 1)]
        replication_factor: i32,
        /// Topic config KEY=VALUE, e.g. max.message.bytes=10485760 or retention.ms=-1 (repeatable).
        #[arg(long = "config", value_name = "KEY=VALUE")]
        configs: Vec<String>,
    },
    /// Print partitions, leaders, replicas, ISR and watermarks.
    Describe {
        /// Topic name.
        #[arg(long)]
        topic: String,
    },
    /// Delete topics.
    Delete {
        /// Topic name (repeatable).
        #[arg(long, required = true)]
        topic: Vec<String>,
    },
}

fn main() -> anyhow::Result<()> {
    examples::init_tracing_at("warn");
    let args = Args::parse();
    let admin = Admin::new(&args.kafka.config()?)?;
    match args.command {
        Command::Create {
            topic,
            partitions,
            replication_factor,
            configs,
        } => {
            let mut spec =
                TopicSpec::new(&topic, partitions).with_replication_factor(replication_factor);
            for c in &configs {
                let (k, v) = c.split_once('=').context("--config takes KEY=VALUE")?;
                spec = spec.with_config(k, v);
            }
            let outcome = admin.create_topic(&spec)?;
            println!("{topic}: {outcome:?}");
        }
        Command::Delete { topic } => {
            for t in &topic {
                admin.delete_topic(t)?;
                println!("{t}: deleted");
            }
        }
        Command::Describe { topic } => {
            let d = admin.describe(&topic)?;
            println!(
                "topic {} ({} partitions, {} messages retained)",
                d.topic,
                d.partitions.len(),
                d.retained_messages()
            );
            println!(
                "{:>9} {:>6} {:>12} {:>12} {:>12} {:>12}",
                "partition", "leader", "replicas", "isr", "low", "high"
            );
            for p in &d.partitions {
                println!(
                    "{:>9} {:>6} {:>12} {:>12} {:>12} {:>12}",
                    p.partition,
                    p.leader,
                    format!("{:?}", p.replicas),
                    format!("{:?}", p.isr),
                    p.low_watermark,
                    p.high_watermark
                );
            }
        }
    }
    Ok(())
}
