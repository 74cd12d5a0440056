//! Shared test helpers.

#![allow(dead_code, unreachable_pub)]

pub mod data;
pub mod deadline;
pub mod land;

use std::collections::BTreeSet;

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use hdfs_sink::{Balance, SinkConfig, VerifyOptions, Warehouse};

/// The config the tests and the crash child use: small row groups (several per file) and
/// `assessments` partitioned by date.
pub fn config() -> SinkConfig {
    SinkConfig::builder()
        .with_row_group_rows(16)
        .with_date_partitioning("assessments", "ts")
        .with_retry(hdfs_sink::RetryPolicy {
            max_attempts: 3,
            initial_backoff: std::time::Duration::from_millis(50),
            max_backoff: std::time::Duration::from_millis(200),
            op_timeout: std::time::Duration::from_secs(30),
            safe_mode_wait: std::time::Duration::from_secs(2),
        })
        .build()
        .expect("config")
}

pub fn verify_options(partitions: &[i32]) -> VerifyOptions {
    let mut o = VerifyOptions::default()
        .with_balance(Balance::parse("raw=assessments+rejects").expect("rule"));
    for p in partitions {
        o = o.with_start_offset(data::TOPIC, *p, 0);
    }
    o
}

/// Every committed row of every table equals the generated row for its (partition, offset),
/// and each table holds exactly the expected offsets `0..n` once.
pub async fn check_rows(wh: &Warehouse, partitions: &[i32], n: i64) -> Result<(), String> {
    type Gen = fn(i32, &[i64]) -> RecordBatch;
    type Keep = fn(i64) -> bool;
    let specs: [(&str, Gen, Keep); 3] = [
        ("raw", data::raw, |_| true),
        ("assessments", data::assessments, |o| !data::is_reject(o)),
        ("rejects", data::rejects, data::is_reject),
    ];
    for (table, make, keep) in specs {
        let batches = wh
            .read_committed(table)
            .await
            .map_err(|e| format!("read {table}: {e}"))?;
        let mut seen: BTreeSet<(i32, i64)> = BTreeSet::new();
        for b in &batches {
            let ps = b.column(0).as_primitive::<Int32Type>();
            let os = b.column(1).as_primitive::<Int64Type>();
            for i in 0..b.num_rows() {
                let (p, o) = (ps.value(i), os.value(i));
                if !seen.insert((p, o)) {
                    return Err(format!("{table}: offset {p}/{o} landed twice"));
                }
                let expected = make(p, &[o]);
                if b.slice(i, 1) != expected {
                    return Err(format!(
                        "{table}: row {p}/{o} differs: {:?} vs {:?}",
                        b.slice(i, 1),
                        expected
                    ));
                }
            }
        }
        let want: BTreeSet<(i32, i64)> = partitions
            .iter()
            .flat_map(|p| (0..n).filter(|o| keep(*o)).map(move |o| (*p, o)))
            .collect();
        if seen != want {
            let missing: Vec<_> = want.difference(&seen).take(10).collect();
            let extra: Vec<_> = seen.difference(&want).take(10).collect();
            return Err(format!(
                "{table}: {} rows, expected {}; missing {missing:?}, extra {extra:?}",
                seen.len(),
                want.len()
            ));
        }
    }
    Ok(())
}

/// Row-level check of one partition's offsets `from..=to` (other partitions ignored).
pub async fn check_rows_range(wh: &Warehouse, p: i32, from: i64, to: i64) -> Result<(), String> {
    let (raw, acc, rej) = data::batches(p, from, to);
    for (table, want) in [("raw", raw), ("assessments", acc), ("rejects", rej)] {
        let back = wh.read_committed(table).await.map_err(|e| e.to_string())?;
        let mut rows: Vec<RecordBatch> = Vec::new();
        for b in &back {
            let ps = b.column(0).as_primitive::<Int32Type>();
            let os = b.column(1).as_primitive::<Int64Type>();
            for i in 0..b.num_rows() {
                if ps.value(i) == p && (from..=to).contains(&os.value(i)) {
                    rows.push(b.slice(i, 1));
                }
            }
        }
        let os = |b: &RecordBatch| b.column(1).as_primitive::<Int64Type>().value(0);
        rows.sort_by_key(os);
        let got = arrow_select::concat::concat_batches(&want.schema(), &rows)
            .map_err(|e| e.to_string())?;
        if got != want {
            return Err(format!(
                "{table}: {} rows back, {} expected, or values differ",
                got.num_rows(),
                want.num_rows()
            ));
        }
    }
    Ok(())
}
