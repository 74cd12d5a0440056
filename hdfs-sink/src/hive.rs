//! Hive-style date partitioning: split a batch by the UTC date of a timestamp column.

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Schema, TimeUnit};

use crate::config::DatePartitioning;
use crate::error::{Error, Result};
use crate::names::format_day;

/// Hive's directory value for a null partition value.
pub(crate) const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// Check the partitioning column against a declared schema.
pub(crate) fn check_schema(table: &str, p: &DatePartitioning, schema: &Schema) -> Result<usize> {
    let bad = |reason: String| Error::PartitionColumn {
        table: table.to_owned(),
        column: p.column.clone(),
        reason,
    };
    if schema.field_with_name(&p.key).is_ok() {
        return Err(bad(format!(
            "the partition key {:?} is also a column of the table; query engines would see it twice",
            p.key
        )));
    }
    let idx = schema
        .index_of(&p.column)
        .map_err(|_| bad("no such column".to_owned()))?;
    match schema.field(idx).data_type() {
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => Ok(idx),
        other => Err(bad(format!(
            "type {other} is not supported (Timestamp, Date32, Date64)"
        ))),
    }
}

/// Day number (since 1970-01-01, UTC) of each row; `None` for nulls.
fn days(table: &str, p: &DatePartitioning, col: &dyn Array) -> Result<Vec<Option<i64>>> {
    fn per<T: arrow_array::ArrowPrimitiveType>(
        col: &dyn Array,
        f: impl Fn(T::Native) -> i64,
    ) -> Vec<Option<i64>> {
        col.as_primitive::<T>().iter().map(|v| v.map(&f)).collect()
    }
    const DAY_S: i64 = 86_400;
    Ok(match col.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => {
            per::<TimestampSecondType>(col, |v| v.div_euclid(DAY_S))
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            per::<TimestampMillisecondType>(col, |v| v.div_euclid(DAY_S * 1_000))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            per::<TimestampMicrosecondType>(col, |v| v.div_euclid(DAY_S * 1_000_000))
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            per::<TimestampNanosecondType>(col, |v| v.div_euclid(DAY_S * 1_000_000_000))
        }
        DataType::Date32 => per::<Date32Type>(col, i64::from),
        DataType::Date64 => per::<Date64Type>(col, |v| v.div_euclid(DAY_S * 1_000)),
        other => {
            return Err(Error::PartitionColumn {
                table: table.to_owned(),
                column: p.column.clone(),
                reason: format!("type {other} is not supported"),
            });
        }
    })
}

/// Split `batch` into `(partition directory, rows)` pieces, e.g. `("date=2018-01-23", batch)`.
/// A batch whose rows all fall on one date is returned as is (no copy).
pub(crate) fn split(
    table: &str,
    p: &DatePartitioning,
    col_idx: usize,
    batch: &RecordBatch,
) -> Result<Vec<(String, RecordBatch)>> {
    let days = days(table, p, batch.column(col_idx).as_ref())?;
    let dir = |d: Option<i64>| match d {
        Some(d) => format!("{}={}", p.key, format_day(d)),
        None => format!("{}={NULL_PARTITION}", p.key),
    };
    let Some(first) = days.first().copied() else {
        return Ok(Vec::new());
    };
    if days.iter().all(|d| *d == first) {
        return Ok(vec![(dir(first), batch.clone())]);
    }
    let mut groups: BTreeMap<Option<i64>, Vec<u32>> = BTreeMap::new();
    for (i, d) in days.iter().enumerate() {
        groups.entry(*d).or_default().push(i as u32);
    }
    groups
        .into_iter()
        .map(|(d, idx)| {
            let idx = UInt32Array::from(idx);
            let piece = arrow_select::take::take_record_batch(batch, &idx).map_err(|e| {
                Error::PartitionColumn {
                    table: table.to_owned(),
                    column: p.column.clone(),
                    reason: format!("cannot split the batch: {e}"),
                }
            })?;
            Ok((dir(d), piece))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, TimestampMicrosecondArray};
    use arrow_schema::Field;

    use super::*;

    #[test]
    fn splits_by_utc_date() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ]));
        let day = 86_400_000_000i64;
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![
                        Some(17_554 * day + 5),
                        None,
                        Some(17_555 * day),
                        Some(17_554 * day + day - 1),
                    ])
                    .with_timezone("UTC"),
                ),
            ],
        )
        .expect("batch");
        let p = DatePartitioning {
            column: "ts".into(),
            key: "date".into(),
        };
        let idx = check_schema("t", &p, &schema).expect("schema");
        let parts = split("t", &p, idx, &batch).expect("split");
        let dirs: Vec<_> = parts
            .iter()
            .map(|(d, b)| (d.as_str(), b.num_rows()))
            .collect();
        assert_eq!(
            dirs,
            vec![
                ("date=__HIVE_DEFAULT_PARTITION__", 1),
                ("date=2018-01-23", 2),
                ("date=2018-01-24", 1)
            ]
        );
        let bad = DatePartitioning {
            column: "id".into(),
            key: "date".into(),
        };
        assert!(check_schema("t", &bad, &schema).is_err());
    }
}
