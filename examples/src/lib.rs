//! Thin runnable programs that wire the workspace's crates together (see `src/bin/`), and
//! the small shared pieces they need: the seeded event [`generator`].
//!
//! ```
//! use examples::generator::Generator;
//! let first = Generator::new(7, 10).next().unwrap();
//! assert!(first.contains("\"keen_id\""));
//! ```
#![forbid(unsafe_code)]

pub mod generator;
pub mod land;

/// Logs to stderr through `tracing`, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    init_tracing_at("info");
}

/// Logs to stderr through `tracing`, filtered by `RUST_LOG` (default `default_level`).
pub fn init_tracing_at(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// The Kafka connection flags shared by the programs (`#[command(flatten)]`).
#[derive(Debug, Clone, clap::Args)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers, host:port[,host:port...].
    #[arg(long, env = "KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    pub brokers: String,
    /// Extra librdkafka property KEY=VALUE, e.g. security.protocol=SASL_SSL (repeatable).
    #[arg(long = "property", value_name = "KEY=VALUE", global = true)]
    pub properties: Vec<String>,
}

impl KafkaArgs {
    /// The validated client configuration.
    pub fn config(&self) -> anyhow::Result<kafka_io::KafkaConfig> {
        let mut config = kafka_io::KafkaConfig::builder(&self.brokers);
        for p in &self.properties {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("--property takes KEY=VALUE, got {p:?}"))?;
            config = config.with_property(k, v);
        }
        Ok(config.build()?)
    }
}
