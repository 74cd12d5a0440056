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
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
