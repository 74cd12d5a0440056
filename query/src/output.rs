//! Printing results: aligned table, CSV, NDJSON.

use std::io::Write;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::{Error, QueryResult, Result};

/// How [`write_result`] prints a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Format {
    /// An aligned table (Arrow's pretty printer) followed by the row count.
    #[default]
    Table,
    /// CSV with a header line (also when there are no rows). Nested, binary and dictionary
    /// columns are printed as their display strings (`{id: …}`, `[…]`, hex); timestamps as
    /// RFC 3339 (`2017-12-19T22:52:44.434+00:00`); nulls as empty fields.
    Csv,
    /// Newline-delimited JSON, one object per row, nulls explicit; nested columns as JSON
    /// objects and arrays.
    Json,
}

impl Format {
    /// `table`, `csv` or `json`.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Prints `result` to `out` in `format`.
///
/// # Errors
///
/// [`Error::Format`] if a column cannot be printed, [`Error::Io`] if `out` fails.
pub fn write_result(result: &QueryResult, format: Format, out: &mut dyn Write) -> Result<()> {
    let fmt_err = |source: ArrowError| Error::Format {
        format: format.name(),
        source: Box::new(source),
    };
    match format {
        Format::Table => {
            let table = arrow::util::pretty::pretty_format_batches_with_schema(
                Arc::clone(&result.schema),
                &result.batches,
            )
            .map_err(fmt_err)?;
            let n = result.num_rows();
            writeln!(out, "{table}")?;
            writeln!(out, "{n} row{}", if n == 1 { "" } else { "s" })?;
        }
        Format::Csv => {
            let schema = csv_schema(&result.schema);
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            if result.batches.iter().all(|b| b.num_rows() == 0) {
                // The header alone.
                writer
                    .write(&RecordBatch::new_empty(schema))
                    .map_err(fmt_err)?;
            } else {
                for batch in &result.batches {
                    let batch = csv_batch(batch).map_err(fmt_err)?;
                    writer.write(&batch).map_err(fmt_err)?;
                }
            }
        }
        Format::Json => {
            let mut writer = arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, arrow::json::writer::LineDelimited>(&mut *out);
            for batch in &result.batches {
                writer.write(batch).map_err(fmt_err)?;
            }
            writer.finish().map_err(fmt_err)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Types the CSV writer prints natively; the others are printed as display strings.
fn csv_native(t: &DataType) -> bool {
    use DataType::*;
    matches!(
        t,
        Null | Boolean
            | Int8
            | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Float16
            | Float32
            | Float64
            | Utf8
            | LargeUtf8
            | Utf8View
            | Date32
            | Date64
            | Time32(_)
            | Time64(_)
            | Timestamp(_, _)
            | Decimal32(_, _)
            | Decimal64(_, _)
            | Decimal128(_, _)
            | Decimal256(_, _)
    )
}

fn csv_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            if csv_native(f.data_type()) {
                Field::new(f.name(), f.data_type().clone(), true)
            } else {
                Field::new(f.name(), DataType::Utf8, true)
            }
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn csv_batch(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let schema = csv_schema(&batch.schema());
    let options = FormatOptions::default();
    let columns = batch
        .columns()
        .iter()
        .map(|c| -> Result<ArrayRef, ArrowError> {
            if csv_native(c.data_type()) {
                return Ok(Arc::clone(c));
            }
            let formatter = ArrayFormatter::try_new(c.as_ref(), &options)?;
            let strings: StringArray = (0..c.len())
                .map(|i| (!c.is_null(i)).then(|| formatter.value(i).to_string()))
                .collect();
            Ok(Arc::new(strings))
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema, columns)
}
