//! Delta stats of a data file, from its Parquet footer: what the Add actions of this crate's
//! commits carry.

use arrow_array::Array;
use arrow_schema::{DataType, SchemaRef, TimeUnit};

/// Delta stats JSON of a file: `numRecords`, and `minValues` / `maxValues` / `nullCount` of
/// the top-level primitive columns whose Parquet statistics are present. Timestamps are
/// written in milliseconds (the stats format): minima floored, maxima ceiled, so that the
/// bounds still hold for the microsecond values.
pub(crate) fn stats_json(
    schema: &SchemaRef,
    meta: &parquet::file::metadata::ParquetMetaData,
    rows: u64,
) -> String {
    use parquet::arrow::arrow_reader::statistics::StatisticsConverter;

    let mut mins = serde_json::Map::new();
    let mut maxs = serde_json::Map::new();
    let mut nulls = serde_json::Map::new();
    let parquet_schema = meta.file_metadata().schema_descr();
    let groups = meta.row_groups();
    for field in schema.fields() {
        if field.data_type().is_nested() {
            continue;
        }
        let Ok(conv) = StatisticsConverter::try_new(field.name(), schema, parquet_schema) else {
            continue;
        };
        if let Ok(n) = conv.row_group_null_counts(groups.iter())
            && n.null_count() == 0
        {
            let total: u64 = n.values().iter().sum();
            nulls.insert(field.name().clone(), total.into());
        }
        if let (Ok(lo), Ok(hi)) = (
            conv.row_group_mins(groups.iter()),
            conv.row_group_maxes(groups.iter()),
        ) && lo.null_count() == 0
            && hi.null_count() == 0
            && !lo.is_empty()
        {
            if let Some(v) = reduce(lo.as_ref(), field.data_type(), true) {
                mins.insert(field.name().clone(), v);
            }
            if let Some(v) = reduce(hi.as_ref(), field.data_type(), false) {
                maxs.insert(field.name().clone(), v);
            }
        }
    }
    let mut stats = serde_json::Map::new();
    stats.insert("numRecords".into(), rows.into());
    stats.insert("minValues".into(), mins.into());
    stats.insert("maxValues".into(), maxs.into());
    stats.insert("nullCount".into(), nulls.into());
    serde_json::Value::Object(stats).to_string()
}

/// The minimum (or maximum) of the row groups' bounds as a stats JSON value; `None` for types
/// without a JSON form here.
fn reduce(a: &dyn Array, t: &DataType, min: bool) -> Option<serde_json::Value> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    fn pick<T: PartialOrd + Copy>(it: impl Iterator<Item = T>, min: bool) -> Option<T> {
        it.reduce(|a, b| {
            let better = if min { b < a } else { b > a };
            if better { b } else { a }
        })
    }
    macro_rules! num {
        ($ty:ty) => {
            pick(a.as_primitive::<$ty>().values().iter().copied(), min).map(serde_json::Value::from)
        };
    }
    match t {
        DataType::Int8 => num!(Int8Type),
        DataType::Int16 => num!(Int16Type),
        DataType::Int32 => num!(Int32Type),
        DataType::Int64 => num!(Int64Type),
        DataType::UInt8 => num!(UInt8Type),
        DataType::UInt16 => num!(UInt16Type),
        DataType::UInt32 => num!(UInt32Type),
        DataType::UInt64 => num!(UInt64Type),
        DataType::Float32 => {
            let v = pick(
                a.as_primitive::<Float32Type>().values().iter().copied(),
                min,
            )?;
            v.is_finite().then(|| serde_json::Value::from(f64::from(v)))
        }
        DataType::Float64 => {
            let v = pick(
                a.as_primitive::<Float64Type>().values().iter().copied(),
                min,
            )?;
            v.is_finite().then(|| serde_json::Value::from(v))
        }
        DataType::Boolean => {
            let b = a.as_boolean();
            let vals: Vec<bool> = (0..b.len()).map(|i| b.value(i)).collect();
            pick(vals.into_iter(), min).map(serde_json::Value::from)
        }
        DataType::Utf8 => {
            // Parquet may truncate string bounds; a truncated maximum is not a bound, so only
            // minima are kept for strings.
            if !min {
                return None;
            }
            let s = a.as_string::<i32>();
            (0..s.len())
                .map(|i| s.value(i))
                .min()
                .map(|v| serde_json::Value::from(v.to_owned()))
        }
        DataType::Date32 => {
            let v = pick(a.as_primitive::<Date32Type>().values().iter().copied(), min)?;
            Some(crate::names::format_day(i64::from(v)).into())
        }
        DataType::Timestamp(unit, _) => {
            let vals: Vec<i64> = match unit {
                TimeUnit::Second => a.as_primitive::<TimestampSecondType>().values().to_vec(),
                TimeUnit::Millisecond => a
                    .as_primitive::<TimestampMillisecondType>()
                    .values()
                    .to_vec(),
                TimeUnit::Microsecond => a
                    .as_primitive::<TimestampMicrosecondType>()
                    .values()
                    .to_vec(),
                TimeUnit::Nanosecond => a
                    .as_primitive::<TimestampNanosecondType>()
                    .values()
                    .to_vec(),
            };
            let per_ms: i64 = match unit {
                TimeUnit::Second => return pick(vals.into_iter(), min).map(|s| ts_ms(s * 1000)),
                TimeUnit::Millisecond => 1,
                TimeUnit::Microsecond => 1_000,
                TimeUnit::Nanosecond => 1_000_000,
            };
            let v = pick(vals.into_iter(), min)?;
            let ms = if min {
                v.div_euclid(per_ms)
            } else {
                v.div_euclid(per_ms) + i64::from(v.rem_euclid(per_ms) != 0)
            };
            Some(ts_ms(ms))
        }
        _ => None,
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of milliseconds since the epoch.
fn ts_ms(ms: i64) -> serde_json::Value {
    let day = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (h, m, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    format!(
        "{}T{h:02}:{m:02}:{s:02}.{milli:03}Z",
        crate::names::format_day(day)
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_floor_and_ceil_to_milliseconds() {
        let arr = arrow_array::TimestampMicrosecondArray::from(vec![1_500, 2_001]);
        let t = DataType::Timestamp(TimeUnit::Microsecond, None);
        assert_eq!(
            reduce(&arr, &t, true),
            Some("1970-01-01T00:00:00.001Z".into())
        );
        assert_eq!(
            reduce(&arr, &t, false),
            Some("1970-01-01T00:00:00.003Z".into())
        );
        let arr = arrow_array::TimestampMicrosecondArray::from(vec![-1]);
        assert_eq!(
            reduce(&arr, &t, true),
            Some("1969-12-31T23:59:59.999Z".into())
        );
    }
}
