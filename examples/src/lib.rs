//! The landing engine ([`land`]: file, bounded and `--follow` sources into Delta tables),
//! the thin runnable programs that wire the workspace's crates together (see `src/bin/`),
//! and the small shared pieces they need: the seeded event [`generator`].
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

/// Dependencies whose `info` is per-call detail: delta-rs's kernel logs every snapshot load
/// and scan with the whole snapshot (kilobytes per table, per commit). Without `RUST_LOG`
/// they log warnings and errors only.
const QUIET_DEPENDENCIES: &str = "buoyant_kernel=warn,deltalake_core=warn";

/// Logs to stderr through `tracing`, filtered by `RUST_LOG` (default `default_level`, with
/// [`QUIET_DEPENDENCIES`] at `warn`), in colour only when stderr is a terminal.
pub fn init_tracing_at(default_level: &str) {
    use std::io::IsTerminal as _;
    use tracing_subscriber::EnvFilter;
    // delta-rs's kernel logs an error for every probe of a table that does not exist yet
    // (before `create_tables` creates it); the outcome reaches us as a value, so it is
    // silenced unless asked for (`RUST_LOG=buoyant_kernel=debug`).
    const PROBE_ERRORS_OFF: &str = "buoyant_kernel::snapshot::builder=off";
    let default = format!("{default_level},{QUIET_DEPENDENCIES},{PROBE_ERRORS_OFF}");
    let directives = match std::env::var("RUST_LOG") {
        Ok(v) if v.contains("buoyant_kernel") => v,
        Ok(v) => format!("{v},{PROBE_ERRORS_OFF}"),
        Err(_) => default.clone(),
    };
    // An unparsable `RUST_LOG` falls back to the default rather than logging nothing.
    let filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Parses a duration: a number with unit `ms`, `s`, `m` or `h` (`500ms`, `30s`, `5m`), or
/// plain seconds (`2.5`).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("expected a duration like 500ms, 30s, 5m or 1h, got {s:?}"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!(
            "a duration must be a non-negative number, got {s:?}"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(v * scale))
}

/// A future that completes on the first SIGINT or SIGTERM; a second one exits the process at
/// once with status 130 (whatever is open stays uncommitted and is recovered by the next run).
///
/// The handlers are installed when this is called, not when the future is first polled: a
/// signal that arrives while the program is still connecting is then a clean stop, not the
/// default action (death without a summary). Call it inside the runtime, before the set-up.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let handlers = signal(SignalKind::interrupt()).and_then(|int| {
            let term = signal(SignalKind::terminate())?;
            Ok((int, term))
        });
        async move {
            let Ok((mut int, mut term)) = handlers else {
                let _ = tokio::signal::ctrl_c().await;
                return;
            };
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            tokio::spawn(async move {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
                eprintln!("second signal: exiting without committing the open ranges");
                std::process::exit(130);
            });
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
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
    pub fn config(&self) -> Result<kafka_io::KafkaConfig, KafkaArgsError> {
        let mut config = kafka_io::KafkaConfig::new(&self.brokers);
        for p in &self.properties {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| KafkaArgsError::Property(p.clone()))?;
            config.extra.insert(k.to_owned(), v.to_owned());
        }
        config.validate()?;
        Ok(config)
    }
}

/// Why [`KafkaArgs::config`] refused the flags.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KafkaArgsError {
    /// A `--property` without `=`.
    #[error("--property takes KEY=VALUE, got {0:?}")]
    Property(String),
    /// The client configuration is invalid.
    #[error(transparent)]
    Config(#[from] kafka_io::Error),
}
