//! Test helper for the crash tests: lands deterministic data into a warehouse, optionally
//! dying at a failpoint (`SINK_CRASH_AT=<point>[:<n>]`, see `hdfs_sink::failpoint`).
//!
//! Usage: `sink-crash-child <warehouse-url> <partitions, e.g. 0,1> <messages per partition>
//! <seed> [max range length] [max ranges this run]`. Env `SINK_CHILD_DELAY_MS` sleeps between ranges. Exits 0 once
//! every offset is landed, 2 on error.

#![forbid(unsafe_code)]

#[path = "../../tests/it/common/data.rs"]
mod data;
#[path = "../../tests/it/common/land.rs"]
mod land;

use std::time::Duration;

use hdfs_sink::{SinkConfig, Warehouse};

fn config() -> SinkConfig {
    SinkConfig::builder()
        .with_row_group_rows(16)
        .with_date_partitioning("assessments", "ts")
        .build()
        .expect("config")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!(
            "usage: sink-crash-child <url> <partitions> <messages> <seed> [max-range] [max-ranges]"
        );
        std::process::exit(64);
    }
    let url = &args[1];
    let partitions: Vec<i32> = args[2]
        .split(',')
        .map(|p| p.parse().expect("partition"))
        .collect();
    let n: i64 = args[3].parse().expect("messages");
    let seed: u64 = args[4].parse().expect("seed");
    let max_range: u64 = args.get(5).map_or(40, |s| s.parse().expect("max range"));
    let max_ranges: usize = args
        .get(6)
        .map_or(usize::MAX, |s| s.parse().expect("max ranges"));
    let delay = Duration::from_millis(
        std::env::var("SINK_CHILD_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let result = rt.block_on(async {
        let wh = Warehouse::open(url, config()).await?;
        land::land_all(&wh, &partitions, n, seed, max_range, delay, max_ranges).await
    });
    match result {
        Ok(ranges) => {
            println!("landed {ranges} ranges");
        }
        Err(e) => {
            eprintln!("sink-crash-child: {e}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                eprintln!("  caused by: {s}");
                src = s.source();
            }
            std::process::exit(2);
        }
    }
}
