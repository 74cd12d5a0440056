//! The whole story on the embedded default, with no cluster: an in-process Kafka (librdkafka's
//! mock cluster), the original-sized dataset published to it, landed exactly once into a local
//! warehouse, verified, and the data scientists' questions answered.
#[path = "common/progress.rs"]
mod progress;

use anyhow::{Context as _, Result, bail};
use arrow_array::cast::AsArray;
use clap::Parser;
use examples::generator::{Format, Generator, ORIGINAL_COUNT};
use examples::land::{BoundedLandOptions, land_topic_bounded};
use hdfs_sink::{Balance, SinkConfig, VerifyOptions, Warehouse, verify};
use kafka_io::{KafkaConfig, MockCluster, PublishOptions, Publisher};
use progress::LineProgress;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Publish assessment events to Kafka, land them exactly once as Parquet, verify, and answer
/// the data scientists' questions. With no flags: an in-process Kafka (librdkafka's mock
/// cluster) and a local `./warehouse`, no cluster needed.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Event file (JSON array or NDJSON). Default: the generated 3,280-event dataset.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Warehouse: a local directory or `hdfs://host:port/path`.
    #[arg(long, default_value = "warehouse")]
    warehouse: String,
    /// Kafka bootstrap servers. Default: start an in-process mock cluster.
    #[arg(long)]
    brokers: Option<String>,
    /// Extra librdkafka property KEY=VALUE for the clients of `--brokers`, e.g.
    /// security.protocol=SASL_SSL (repeatable).
    #[arg(long = "property", value_name = "KEY=VALUE", requires = "brokers")]
    properties: Vec<String>,
    /// Topic to publish to and land from.
    #[arg(long, default_value = "assessments")]
    topic: String,
    /// Partitions of the topic (the mock cluster keeps at most 5 MiB per partition: more are
    /// used automatically when the input needs them).
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Delete the warehouse's previous contents first. Needed to re-run on the embedded
    /// cluster, which starts empty each time (its offsets restart at 0).
    #[arg(long)]
    fresh: bool,
    /// Where to write the HTML report of what landed (by the `report` program of package
    /// assessment-query, when it is built).
    #[arg(long, default_value = "report.html")]
    report: PathBuf,
}

fn main() -> Result<()> {
    examples::init_tracing();
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(args))
}

async fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let (input, generated) = events(&args)?;
    let input_bytes = std::fs::metadata(&input)
        .with_context(|| format!("reading {}", input.display()))?
        .len();
    let (kafka, _mock) = kafka(&args, input_bytes)?;
    publish(&args, &kafka, &input)?;
    if let Some(p) = generated {
        let _ = std::fs::remove_file(p);
    }
    let warehouse = land(&args, &kafka).await?;
    verify_invariants(&warehouse).await?;
    answer_questions(&warehouse).await?;
    write_report(&args);
    println!(
        "\ndone in {:.1}s; tables are under {}",
        started.elapsed().as_secs_f64(),
        args.warehouse
    );
    Ok(())
}

/// Step 1, the events: `--input`, or the default dataset generated into a temporary file
/// (returned second, to be removed once published).
fn events(args: &Args) -> Result<(PathBuf, Option<PathBuf>)> {
    if let Some(p) = &args.input {
        return Ok((p.clone(), None));
    }
    let p = std::env::temp_dir().join(format!("assessment-attempts-{}.json", std::process::id()));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&p)?);
    Generator::new(42, ORIGINAL_COUNT).write_all(&mut f, Format::JsonArray)?;
    std::io::Write::flush(&mut f)?;
    println!(
        "generated the default dataset ({ORIGINAL_COUNT} events) at {}",
        p.display()
    );
    Ok((p.clone(), Some(p)))
}

/// Step 2, Kafka: the given brokers (the topic created if missing), or the in-process mock
/// cluster, returned second: it runs as long as it is kept.
fn kafka(args: &Args, input_bytes: u64) -> Result<(KafkaConfig, Option<MockCluster>)> {
    if let Some(b) = &args.brokers {
        let kafka = examples::KafkaArgs {
            brokers: b.clone(),
            properties: args.properties.clone(),
        }
        .config()?;
        let admin = kafka_io::Admin::new(&kafka)?;
        admin.ensure_topic(&kafka_io::TopicSpec::new(&args.topic, args.partitions))?;
        return Ok((kafka, None));
    }
    let cluster = MockCluster::start(1).context("starting the in-process Kafka")?;
    // Stay well under the mock's 5 MiB per partition, or it drops the oldest messages.
    let needed = i32::try_from(input_bytes / (3 << 20) + 1).unwrap_or(i32::MAX);
    let partitions = args.partitions.max(needed);
    cluster.create_topic(&args.topic, partitions)?;
    println!(
        "started an in-process Kafka (mock cluster) at {}; topic {} with {partitions} partitions",
        cluster.bootstrap_servers(),
        args.topic
    );
    Ok((cluster.config(), Some(cluster)))
}

/// Step 3: Publish, one message per event, keyed by user_exam_id.
fn publish(args: &Args, kafka: &KafkaConfig, input: &Path) -> Result<()> {
    let mut publisher = Publisher::new(kafka, &args.topic, PublishOptions::default())?;
    let published = tokio::task::block_in_place(|| publisher.publish_file(input))
        .with_context(|| format!("publishing {}", input.display()))?;
    if published.invalid == 0 {
        println!("published {} events to {}", published.delivered, args.topic);
    } else {
        // Sent as they are: the lander keeps them as rejects, with their reasons.
        println!(
            "published {} messages to {} ({} of them not valid JSON, landed as rejects)",
            published.delivered, args.topic, published.invalid
        );
    }
    Ok(())
}

/// Step 4: Land exactly once, bounded, into the warehouse (emptied first with `--fresh`).
async fn land(args: &Args, kafka: &KafkaConfig) -> Result<Warehouse> {
    if args.fresh && !args.warehouse.contains("://") {
        let _ = std::fs::remove_dir_all(&args.warehouse);
    }
    let warehouse = Warehouse::open(&args.warehouse, SinkConfig::builder().build()?)
        .await
        .with_context(|| format!("opening warehouse {}", args.warehouse))?;
    if args.brokers.is_none() {
        let earlier = warehouse.markers().await?;
        if earlier.iter().any(|m| m.topic == args.topic) {
            bail!(
                "warehouse {} already holds ranges of topic {} from an earlier run; the in-process \
                 Kafka starts empty each run, so pass --fresh to replace them (or another --warehouse)",
                args.warehouse,
                args.topic
            );
        }
    }
    let land_started = Instant::now();
    let totals = land_topic_bounded(
        kafka,
        &args.topic,
        warehouse.clone(),
        &BoundedLandOptions::default(),
        LineProgress::stderr(),
    )
    .await?;
    print!("{}", totals.summary(land_started.elapsed()));
    Ok(warehouse)
}

/// Step 5: Verify the invariants.
async fn verify_invariants(warehouse: &Warehouse) -> Result<()> {
    let report = verify(
        warehouse,
        &VerifyOptions::default()
            .with_balance(Balance::parse("raw=assessments+rejects").context("balance rule")?),
    )
    .await?;
    if !report.is_ok() {
        bail!("verify failed:\n{report}");
    }
    println!(
        "verify: ok (contiguous committed ranges, files match the Delta logs, raw = assessments + rejects)"
    );
    Ok(())
}

/// Step 6: The data scientists' questions.
async fn answer_questions(warehouse: &Warehouse) -> Result<()> {
    let mut by_exam: HashMap<String, u64> = HashMap::new();
    let mut total = 0u64;
    for batch in warehouse.read_committed("assessments").await? {
        total += batch.num_rows() as u64;
        let names = batch
            .column_by_name("exam_name")
            .context("assessments has no exam_name")?
            .as_string::<i32>();
        for name in names.iter().flatten() {
            *by_exam.entry(name.to_owned()).or_default() += 1;
        }
    }
    let mut ranked: Vec<(String, u64)> = by_exam.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    println!();
    println!("How many assessments are in the dataset?  {total}");
    let git = ranked
        .iter()
        .find(|(n, _)| n == "Learning Git")
        .map_or(0, |(_, c)| *c);
    println!("How many people took Learning Git?        {git}");
    if let (Some(most), Some(least)) = (ranked.first(), ranked.last()) {
        println!(
            "Most common exam:                         {} ({} events)",
            most.0, most.1
        );
        let least_names: Vec<&str> = ranked
            .iter()
            .filter(|(_, c)| *c == least.1)
            .map(|(n, _)| n.as_str())
            .collect();
        println!(
            "Least common exam(s):                     {} ({} event{} each)",
            least_names.join("; "),
            least.1,
            if least.1 == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

/// Writes the HTML report of the warehouse with the `report` program (package
/// `assessment-query`, which links DataFusion; this package does not), found beside this
/// program or on `PATH`. Without it, says how to get it: the report is not needed for the
/// landing to be complete.
fn write_report(args: &Args) {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("report")))
        .filter(|p| p.is_file());
    let program = beside.unwrap_or_else(|| PathBuf::from("report"));
    let out = args.report.clone();
    let run = std::process::Command::new(&program)
        .arg("--warehouse")
        .arg(&args.warehouse)
        .arg("--out")
        .arg(&out)
        .output();
    match run {
        Ok(o) if o.status.success() => println!("report: {}", out.display()),
        Ok(o) => eprintln!(
            "report: {} failed ({}): {}",
            program.display(),
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(_) => println!(
            "report: not written (the `report` program is not built beside this one; \
             run `cargo run --release -p assessment-query --bin report -- --warehouse {} \
             --out {}`)",
            args.warehouse,
            out.display()
        ),
    }
}
