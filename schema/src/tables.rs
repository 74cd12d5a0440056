//! The Arrow schema of every landed table, defined once.
//!
//! Every typed row carries its Kafka provenance: `_topic`, `_partition` (int32) and
//! `_offset` (int64). Timestamps are `Timestamp(Microsecond, "UTC")`, which Parquet stores as
//! `INT64 TIMESTAMP(MICROS, isAdjustedToUTC=true)` and Spark, DuckDB and DataFusion read as
//! UTC instants.
//!
//! | table | one row per | key columns |
//! |---|---|---|
//! | `raw` | consumed message, byte for byte | `_topic, _partition, _offset` |
//! | `assessments` | valid event | `keen_id` (+ nested `sequences`) |
//! | `questions` | question of a valid event | `keen_id, question_index` |
//! | `options` | option of a question | `keen_id, question_index, option_index` |
//! | `rejects` | message that is not a valid event | `_topic, _partition, _offset` |
//!
//! Invariant: for every offset range, `raw` rows = `assessments` rows + `rejects` rows.
//!
//! `assessments` may also be landed without its nested `sequences` column
//! ([`assessments_flat_schema`], [`landed_schema`]): its questions and options are the rows
//! of `questions` and `options` either way.
//!
//! Columns that repeat a parent's value on every child row — `_topic` everywhere, and
//! `keen_id`, `user_exam_id`, `question_id` in `questions` and `options` — are
//! dictionary-encoded strings (`Dictionary(Int32, Utf8)`, see [`dict_utf8`]): the flattener
//! builds them zero-copy from the parent column, and Parquet stores them as dictionary-encoded
//! strings that Spark, DuckDB and DataFusion read as plain strings.

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use std::sync::{Arc, OnceLock};

/// The tables that land, in landing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Every consumed message, byte for byte.
    Raw,
    /// One row per valid event.
    Assessments,
    /// One row per question.
    Questions,
    /// One row per option.
    Options,
    /// One row per message that could not become an `assessments` row.
    Rejects,
}

impl Table {
    /// All tables, in landing order.
    pub const ALL: [Table; 5] = [
        Table::Raw,
        Table::Assessments,
        Table::Questions,
        Table::Options,
        Table::Rejects,
    ];

    /// The table's name: its directory in the warehouse and its SQL name.
    pub const fn name(self) -> &'static str {
        match self {
            Table::Raw => "raw",
            Table::Assessments => "assessments",
            Table::Questions => "questions",
            Table::Options => "options",
            Table::Rejects => "rejects",
        }
    }

    /// Looks a table up by name.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The schema of `table` (cached; cheap to call).
pub fn schema(table: Table) -> SchemaRef {
    static CACHE: OnceLock<[SchemaRef; 5]> = OnceLock::new();
    let all = CACHE.get_or_init(|| {
        [
            Arc::new(raw_schema()),
            Arc::new(assessments_schema()),
            Arc::new(questions_schema()),
            Arc::new(options_schema()),
            Arc::new(rejects_schema()),
        ]
    });
    Arc::clone(&all[table as usize])
}

/// The schema of `table` as landed with or without the nested `sequences` column of
/// `assessments` (`nested_sequences = false`: [`assessments_flat_schema`]). The other tables
/// are the same either way.
pub fn landed_schema(table: Table, nested_sequences: bool) -> SchemaRef {
    static FLAT: OnceLock<SchemaRef> = OnceLock::new();
    if table == Table::Assessments && !nested_sequences {
        Arc::clone(FLAT.get_or_init(|| Arc::new(assessments_flat_schema())))
    } else {
        schema(table)
    }
}

/// `Timestamp(Microsecond, "UTC")`.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// `Dictionary(Int32, Utf8)`: a string column stored as keys into a shared values array.
pub fn dict_utf8() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

fn provenance() -> [Field; 3] {
    [
        Field::new("_topic", dict_utf8(), false),
        Field::new("_partition", DataType::Int32, false),
        Field::new("_offset", DataType::Int64, false),
    ]
}

/// The fields of one option inside `sequences.questions[].options[]`.
pub fn option_fields() -> Fields {
    Fields::from(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new("checked", DataType::Boolean, true),
        Field::new("correct", DataType::Boolean, true),
        Field::new("submitted", DataType::Int64, true),
        Field::new("at", timestamp_type(), true),
    ])
}

/// The fields of one question inside `sequences.questions[]`.
pub fn question_fields() -> Fields {
    Fields::from(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new("user_result", DataType::Utf8, true),
        Field::new("user_correct", DataType::Boolean, true),
        Field::new("user_incomplete", DataType::Boolean, true),
        Field::new("user_submitted", DataType::Boolean, true),
        Field::new(
            "options",
            DataType::List(Arc::new(Field::new_list_field(
                DataType::Struct(option_fields()),
                true,
            ))),
            true,
        ),
    ])
}

/// The fields of `sequences.counts`.
pub fn counts_fields() -> Fields {
    Fields::from(vec![
        Field::new("incomplete", DataType::Int64, true),
        Field::new("submitted", DataType::Int64, true),
        Field::new("incorrect", DataType::Int64, true),
        Field::new("all_correct", DataType::Boolean, true),
        Field::new("correct", DataType::Int64, true),
        Field::new("total", DataType::Int64, true),
        Field::new("unanswered", DataType::Int64, true),
    ])
}

/// The fields of the nested `sequences` column: the source object, fully typed.
pub fn sequences_fields() -> Fields {
    Fields::from(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new("attempt", DataType::Int64, true),
        Field::new("counts", DataType::Struct(counts_fields()), true),
        Field::new(
            "questions",
            DataType::List(Arc::new(Field::new_list_field(
                DataType::Struct(question_fields()),
                true,
            ))),
            true,
        ),
    ])
}

/// `raw`: every consumed message, byte for byte.
pub fn raw_schema() -> Schema {
    let mut fields = provenance().to_vec();
    fields.extend([
        Field::new("_timestamp", timestamp_type(), true),
        Field::new("key", DataType::Binary, true),
        Field::new("value", DataType::Binary, true),
    ]);
    Schema::new(fields)
}

/// `assessments`: one row per valid event.
///
/// The seven `sequences.counts` fields are also promoted to top-level columns, and
/// `question_count` is the length of `sequences.questions` (0 when absent).
pub fn assessments_schema() -> Schema {
    let ts = timestamp_type;
    let mut fields = provenance().to_vec();
    fields.extend([
        Field::new("keen_id", DataType::Utf8, false),
        Field::new("keen_timestamp", ts(), true),
        Field::new("keen_created_at", ts(), true),
        Field::new("started_at", ts(), true),
        Field::new("base_exam_id", DataType::Utf8, true),
        Field::new("user_exam_id", DataType::Utf8, true),
        Field::new("exam_name", DataType::Utf8, true),
        Field::new("certification", DataType::Boolean, true),
        Field::new("max_attempts", DataType::Float64, true),
        Field::new("sequence_id", DataType::Utf8, true),
        Field::new("attempt", DataType::Int64, true),
    ]);
    fields.extend(counts_fields().iter().map(|f| f.as_ref().clone()));
    fields.extend([
        Field::new("question_count", DataType::Int32, false),
        Field::new("sequences", DataType::Struct(sequences_fields()), true),
    ]);
    Schema::new(fields)
}

/// `assessments` without its last column, the nested `sequences`: every other column
/// (including `sequence_id`, `attempt`, the seven counts and `question_count`), as landed
/// with `land --without-sequences`. The questions and options it leaves out are the rows of
/// `questions` and `options`.
pub fn assessments_flat_schema() -> Schema {
    let mut fields: Vec<Field> = assessments_schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.retain(|f| f.name() != "sequences");
    Schema::new(fields)
}

/// `questions`: one row per question of a valid event.
pub fn questions_schema() -> Schema {
    let mut fields = provenance().to_vec();
    fields.extend([
        Field::new("keen_id", dict_utf8(), false),
        Field::new("user_exam_id", dict_utf8(), true),
        Field::new("question_index", DataType::Int32, false),
        Field::new("question_id", DataType::Utf8, true),
        Field::new("user_result", DataType::Utf8, true),
        Field::new("user_correct", DataType::Boolean, true),
        Field::new("user_incomplete", DataType::Boolean, true),
        Field::new("user_submitted", DataType::Boolean, true),
        Field::new("option_count", DataType::Int32, false),
    ]);
    Schema::new(fields)
}

/// `options`: one row per option of a question.
pub fn options_schema() -> Schema {
    let mut fields = provenance().to_vec();
    fields.extend([
        Field::new("keen_id", dict_utf8(), false),
        Field::new("question_index", DataType::Int32, false),
        Field::new("question_id", dict_utf8(), true),
        Field::new("option_index", DataType::Int32, false),
        Field::new("option_id", DataType::Utf8, true),
        Field::new("checked", DataType::Boolean, true),
        Field::new("correct", DataType::Boolean, true),
        Field::new("submitted", DataType::Int64, true),
        Field::new("at", timestamp_type(), true),
    ]);
    Schema::new(fields)
}

/// `rejects`: one row per message that could not become an `assessments` row.
///
/// `error_kind` is one of [`crate::ErrorKind::as_str`]; `error_path` is the JSON path
/// (null for parse-level errors); `error` is the full human-readable message.
pub fn rejects_schema() -> Schema {
    let mut fields = provenance().to_vec();
    fields.extend([
        Field::new("_timestamp", timestamp_type(), true),
        Field::new("key", DataType::Binary, true),
        Field::new("value", DataType::Binary, true),
        Field::new("error_kind", DataType::Utf8, false),
        Field::new("error_path", DataType::Utf8, true),
        Field::new("error", DataType::Utf8, false),
    ]);
    Schema::new(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_provenance_first_and_unique_names() {
        for t in Table::ALL {
            let s = schema(t);
            let names: Vec<_> = s.fields().iter().map(|f| f.name().as_str()).collect();
            assert_eq!(&names[..3], ["_topic", "_partition", "_offset"], "{t}");
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), names.len(), "duplicate column in {t}");
            assert_eq!(Table::from_name(t.name()), Some(t));
        }
    }

    #[test]
    fn flat_assessments_is_assessments_without_sequences() {
        let nested = schema(Table::Assessments);
        let flat = landed_schema(Table::Assessments, false);
        assert_eq!(flat.fields().len(), nested.fields().len() - 1);
        assert_eq!(
            nested.fields().last().map(|f| f.name().as_str()),
            Some("sequences")
        );
        assert_eq!(&flat.fields()[..], &nested.fields()[..flat.fields().len()]);
        assert_eq!(landed_schema(Table::Assessments, true), nested);
        for t in [Table::Raw, Table::Questions, Table::Options, Table::Rejects] {
            assert_eq!(landed_schema(t, false), schema(t));
        }
    }

    #[test]
    fn sequences_reaches_user_incomplete_like_the_recipe() {
        let s = schema(Table::Assessments);
        let DataType::Struct(seq) = s.field_with_name("sequences").unwrap().data_type() else {
            panic!("sequences is not a struct");
        };
        let (_, questions) = seq.find("questions").unwrap();
        let DataType::List(item) = questions.data_type() else {
            panic!("questions is not a list")
        };
        let DataType::Struct(q) = item.data_type() else {
            panic!("question is not a struct")
        };
        assert!(q.find("user_incomplete").is_some());
    }
}
