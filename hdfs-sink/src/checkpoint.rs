//! The application transactions (`txn`) of a table's last checkpoint, read from its Parquet
//! part(s): recovery and fencing then replay only the commits after the checkpoint, not the
//! whole log from version 0, so they stay fast as versions accumulate.
//!
//! Only classic checkpoints are read (`<v>.checkpoint.parquet`, or its multi-part form), which
//! is what delta-rs writes for these tables; anything else makes the caller replay the log.

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, StructArray};
use arrow_schema::DataType;
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Name of the hint file in `_delta_log/`.
pub(crate) const LAST_CHECKPOINT: &str = "_last_checkpoint";

/// A checkpoint named by `_last_checkpoint`: its version and the names of its part files
/// (relative to `_delta_log/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckpointFiles {
    pub(crate) version: i64,
    pub(crate) parts: Vec<String>,
}

/// The checkpoint a `_last_checkpoint` hint names; `None` if the hint is unreadable or names
/// a checkpoint of another kind (V2: the caller replays the log instead).
pub(crate) fn files_of_hint(hint: &[u8]) -> Option<CheckpointFiles> {
    let v: serde_json::Value = serde_json::from_slice(hint).ok()?;
    if v.get("v2Checkpoint").is_some_and(|c| !c.is_null()) {
        return None;
    }
    let version = v.get("version")?.as_i64().filter(|v| *v >= 0)?;
    let parts = match v.get("parts").and_then(serde_json::Value::as_u64) {
        None | Some(1) => vec![format!("{version:020}.checkpoint.parquet")],
        Some(0) => return None,
        Some(n) => (1..=n)
            .map(|i| format!("{version:020}.checkpoint.{i:010}.{n:010}.parquet"))
            .collect(),
    };
    Some(CheckpointFiles { version, parts })
}

/// Add the `txn` actions of one checkpoint part to `into` (app id → version). A part without
/// a `txn` column holds none.
pub(crate) fn read_txns(part: Bytes, into: &mut BTreeMap<String, i64>) -> Result<(), String> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(part).map_err(|e| e.to_string())?;
    let Ok(index) = builder.schema().index_of("txn") else {
        return Ok(());
    };
    let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(|e| e.to_string())?;
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        let txn = batch
            .column(0)
            .as_struct_opt()
            .ok_or("the checkpoint's txn column is not a struct")?;
        add_txns(txn, into)?;
    }
    Ok(())
}

fn add_txns(txn: &StructArray, into: &mut BTreeMap<String, i64>) -> Result<(), String> {
    let ids = txn
        .column_by_name("appId")
        .ok_or("the checkpoint's txn has no appId")?;
    let versions = txn
        .column_by_name("version")
        .and_then(|c| c.as_primitive_opt::<Int64Type>())
        .ok_or("the checkpoint's txn has no Int64 version")?;
    let ids: Vec<Option<&str>> = match ids.data_type() {
        DataType::Utf8 => ids.as_string::<i32>().iter().collect(),
        DataType::LargeUtf8 => ids.as_string::<i64>().iter().collect(),
        DataType::Utf8View => ids.as_string_view().iter().collect(),
        other => return Err(format!("the checkpoint's txn appId is {other}")),
    };
    for (i, id) in ids.into_iter().enumerate() {
        if txn.is_null(i) || versions.is_null(i) {
            continue;
        }
        if let Some(id) = id {
            into.insert(id.to_owned(), versions.value(i));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_name_single_and_multi_part_checkpoints() {
        let one = files_of_hint(br#"{"version":100,"size":7}"#).expect("single");
        assert_eq!(one.version, 100);
        assert_eq!(one.parts, vec!["00000000000000000100.checkpoint.parquet"]);
        let two = files_of_hint(br#"{"version":5,"size":7,"parts":2}"#).expect("multi");
        assert_eq!(
            two.parts,
            vec![
                "00000000000000000005.checkpoint.0000000001.0000000002.parquet",
                "00000000000000000005.checkpoint.0000000002.0000000002.parquet"
            ]
        );
        assert_eq!(files_of_hint(b"not json"), None);
        assert_eq!(files_of_hint(br#"{"size":7}"#), None);
        assert_eq!(
            files_of_hint(br#"{"version":9,"size":1,"v2Checkpoint":{"path":"x"}}"#),
            None
        );
    }
}
