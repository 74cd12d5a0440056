//! Typed columns of a report query's result, looked up by name.
//!
//! The report reads its numbers by column name, not position, so that a query file can
//! reorder or add columns; values are cast to the type the report needs (counts to `i64`,
//! shares to `f64`, names and times to strings), so `int` vs `bigint` in the SQL does not
//! matter. A missing column, or one that does not cast, is an [`Error::ReportQuery`] naming
//! the file.

use arrow::array::{Array, ArrayRef, AsArray as _};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type};

use crate::{Error, QueryResult, Result};

/// The rows of one statement's result from the report query file `file`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rows<'a> {
    file: &'static str,
    result: &'a QueryResult,
}

impl<'a> Rows<'a> {
    pub(crate) fn new(file: &'static str, result: &'a QueryResult) -> Self {
        Rows { file, result }
    }

    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        self.result.num_rows()
    }

    /// The column `name` of every batch, cast to `to`.
    fn column(&self, name: &str, to: &DataType) -> Result<Vec<ArrayRef>> {
        let Ok(index) = self.result.schema.index_of(name) else {
            return Err(self.error(format!(
                "no column {name:?} in the result of: {}",
                self.result.sql
            )));
        };
        self.result
            .batches
            .iter()
            .map(|b| {
                cast(b.column(index), to)
                    .map_err(|e| self.error(format!("column {name:?} does not cast to {to}: {e}")))
            })
            .collect()
    }

    fn error(&self, reason: String) -> Error {
        Error::ReportQuery {
            file: self.file,
            reason,
        }
    }

    /// Column `name` as integers (null stays `None`).
    pub(crate) fn i64s(&self, name: &str) -> Result<Vec<Option<i64>>> {
        Ok(self
            .column(name, &DataType::Int64)?
            .iter()
            .flat_map(|a| a.as_primitive::<Int64Type>().iter().collect::<Vec<_>>())
            .collect())
    }

    /// Column `name` as integers, null read as 0 (counts and sums).
    pub(crate) fn counts(&self, name: &str) -> Result<Vec<i64>> {
        Ok(self
            .i64s(name)?
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect())
    }

    /// Column `name` as floating-point numbers.
    pub(crate) fn f64s(&self, name: &str) -> Result<Vec<Option<f64>>> {
        Ok(self
            .column(name, &DataType::Float64)?
            .iter()
            .flat_map(|a| a.as_primitive::<Float64Type>().iter().collect::<Vec<_>>())
            .collect())
    }

    /// Column `name` as display strings (timestamps as RFC 3339, dates as `YYYY-MM-DD`).
    pub(crate) fn strings(&self, name: &str) -> Result<Vec<Option<String>>> {
        Ok(self
            .column(name, &DataType::Utf8)?
            .iter()
            .flat_map(|a| {
                let s = a.as_string::<i32>();
                (0..s.len())
                    .map(|i| s.is_valid(i).then(|| s.value(i).to_owned()))
                    .collect::<Vec<_>>()
            })
            .collect())
    }

    /// The only row's value of integer column `name` (0 for an empty result or a null).
    pub(crate) fn single_count(&self, name: &str) -> Result<i64> {
        Ok(self.counts(name)?.first().copied().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, RecordBatch, StringArray};
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn result() -> QueryResult {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int32, true),
            Field::new("s", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int32Array::from(vec![Some(3), None])),
                Arc::new(StringArray::from(vec![Some("a"), None])),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        QueryResult {
            sql: "select n, s".into(),
            schema,
            batches: vec![batch],
        }
    }

    #[test]
    fn columns_by_name_cast_to_the_needed_type() -> Result<()> {
        let r = result();
        let rows = Rows::new("t.sql", &r);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.i64s("n")?, [Some(3), None]);
        assert_eq!(rows.counts("n")?, [3, 0]);
        assert_eq!(rows.f64s("n")?, [Some(3.0), None]);
        assert_eq!(rows.strings("s")?, [Some("a".into()), None]);
        assert_eq!(rows.single_count("n")?, 3);
        Ok(())
    }

    #[test]
    fn a_missing_column_names_the_file() {
        let r = result();
        match Rows::new("t.sql", &r).counts("nope") {
            Err(Error::ReportQuery { file, reason }) => {
                assert_eq!(file, "t.sql");
                assert!(reason.contains("\"nope\""), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}
