//! Writes a deterministic, realistic event file (see `examples::generator`).
use anyhow::{Context as _, Result};
use clap::{Parser, ValueEnum};
use examples::generator::{Format, Generator, ORIGINAL_COUNT};
use std::io::{BufWriter, Write as _};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Layout {
    /// One JSON array, like the original dataset file.
    Array,
    /// One event per line.
    Ndjson,
}

/// Generate assessment-attempt events calibrated on the original dataset.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Number of events. The default, 3,280, reproduces the original exam histogram exactly
    /// (103 exams, "Learning Git" 394 times, four exams with one event).
    #[arg(long, short = 'n', default_value_t = ORIGINAL_COUNT)]
    count: usize,
    /// Seed: the same seed and count always give the same bytes.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output layout.
    #[arg(long, value_enum, default_value_t = Layout::Array)]
    format: Layout,
    /// Output file; `-` for stdout.
    #[arg(long, short = 'o', default_value = "-")]
    output: PathBuf,
}

fn main() -> Result<()> {
    examples::init_tracing();
    let args = Args::parse();
    let format = match args.format {
        Layout::Array => Format::JsonArray,
        Layout::Ndjson => Format::Ndjson,
    };
    let mut generator = Generator::new(args.seed, args.count);
    let n = if args.output.as_os_str() == "-" {
        let mut out = BufWriter::new(std::io::stdout().lock());
        let n = generator.write_all(&mut out, format)?;
        out.flush()?;
        n
    } else {
        let file = std::fs::File::create(&args.output)
            .with_context(|| format!("creating {}", args.output.display()))?;
        let mut out = BufWriter::new(file);
        let n = generator.write_all(&mut out, format)?;
        out.flush()?;
        n
    };
    tracing::info!(events = n, seed = args.seed, "generated");
    Ok(())
}
