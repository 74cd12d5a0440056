//! Shared by the integration tests: landing the default dataset and running the binary.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use examples::generator::{Format, Generator, ORIGINAL_COUNT};
use examples::land::{FileLandOptions, Silent, land_file};
use hdfs_sink::{SinkConfig, Warehouse};

/// Bad messages landed next to the default dataset (one reject each).
pub const BAD_LINES: &str = "{\"keen_id\": 12}\n[1,2]\n{}\n";
/// Their error kinds.
pub const BAD_KINDS: [&str; 3] = ["missing_field", "not_an_object", "wrong_type"];

/// Lands the default dataset (3,280 events, seed 42, as `examples` does) and three bad
/// messages into the warehouse at `url`.
pub fn land_default(rt: &tokio::runtime::Runtime, scratch: &Path, url: &str) {
    let events = scratch.join("assessment-attempts.json");
    let mut f = std::fs::File::create(&events).unwrap();
    Generator::new(42, ORIGINAL_COUNT)
        .write_all(&mut f, Format::JsonArray)
        .unwrap();
    drop(f);
    let bad = scratch.join("bad.ndjson");
    std::fs::write(&bad, BAD_LINES).unwrap();
    rt.block_on(async {
        for input in [&events, &bad] {
            let warehouse = Warehouse::open(url, SinkConfig::default()).await.unwrap();
            land_file(
                input,
                warehouse,
                &FileLandOptions::default(),
                Box::new(Silent),
            )
            .await
            .unwrap();
        }
    });
}

/// Runs the `query` binary; returns stdout, panics with stderr on failure.
pub fn query(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_query"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "query {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The `--format csv` output of one query on `warehouse`, as rows of fields (header first).
pub fn query_csv(warehouse: &str, sql: &str) -> Vec<Vec<String>> {
    query(&["--warehouse", warehouse, "--sql", sql, "--format", "csv"])
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

/// The queries/ directory at the repository root.
pub fn queries_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../queries")
}
