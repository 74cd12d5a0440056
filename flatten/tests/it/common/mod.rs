//! A slow, obviously-correct oracle: serde_json into the typed structs of
//! `assessment-schema`, then the expected rows of every table as plain values.
//! Tests compare the flattener's record batches against it, column by column.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use assessment_schema::coerce;
use assessment_schema::event::AssessmentEvent;

/// One cell, typed loosely enough to compare any column.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Null,
    S(String),
    I(i64),
    F(f64),
    B(bool),
}

impl<T: Into<V>> From<Option<T>> for V {
    fn from(o: Option<T>) -> V {
        o.map_or(V::Null, Into::into)
    }
}
impl From<&str> for V {
    fn from(s: &str) -> V {
        V::S(s.to_owned())
    }
}
impl From<i64> for V {
    fn from(v: i64) -> V {
        V::I(v)
    }
}
impl From<i32> for V {
    fn from(v: i32) -> V {
        V::I(v.into())
    }
}
impl From<bool> for V {
    fn from(v: bool) -> V {
        V::B(v)
    }
}
impl From<f64> for V {
    fn from(v: f64) -> V {
        V::F(v)
    }
}

/// A flat column as `V`s (nested columns are skipped by the caller).
pub fn column(batch: &RecordBatch, name: &str) -> Vec<V> {
    let a = batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"));
    // Dictionary-encoded strings compare as their values.
    let a = match a.data_type() {
        DataType::Dictionary(..) => arrow_cast::cast(a, &DataType::Utf8).unwrap(),
        _ => std::sync::Arc::clone(a),
    };
    (0..a.len())
        .map(|i| {
            if a.is_null(i) {
                return V::Null;
            }
            match a.data_type() {
                DataType::Utf8 => V::S(a.as_string::<i32>().value(i).to_owned()),
                DataType::Int32 => V::I(a.as_primitive::<Int32Type>().value(i).into()),
                DataType::Int64 => V::I(a.as_primitive::<Int64Type>().value(i)),
                DataType::Float64 => V::F(a.as_primitive::<Float64Type>().value(i)),
                DataType::Boolean => V::B(a.as_boolean().value(i)),
                DataType::Timestamp(..) => {
                    V::I(a.as_primitive::<TimestampMicrosecondType>().value(i))
                }
                DataType::Binary => {
                    V::S(String::from_utf8_lossy(a.as_binary::<i32>().value(i)).into_owned())
                }
                other => panic!("column {name}: unexpected type {other}"),
            }
        })
        .collect()
}

/// Expected rows of the three typed tables, as `(column name, values)` per table.
#[derive(Debug, Default)]
pub struct Expected {
    pub assessments: Vec<(&'static str, Vec<V>)>,
    pub questions: Vec<(&'static str, Vec<V>)>,
    pub options: Vec<(&'static str, Vec<V>)>,
}

fn col<'a>(t: &'a mut Vec<(&'static str, Vec<V>)>, name: &'static str) -> &'a mut Vec<V> {
    if let Some(i) = t.iter().position(|(n, _)| *n == name) {
        &mut t[i].1
    } else {
        t.push((name, Vec::new()));
        &mut t.last_mut().unwrap().1
    }
}

/// The expected rows for `events` (all assumed valid), given their coordinates.
pub fn expected(events: &[(AssessmentEvent<'_>, &str, i32, i64)]) -> Expected {
    let mut x = Expected::default();
    for (e, topic, partition, offset) in events {
        let a = &mut x.assessments;
        col(a, "_topic").push((*topic).into());
        col(a, "_partition").push((*partition).into());
        col(a, "_offset").push((*offset).into());
        col(a, "keen_id").push(e.keen_id.as_ref().into());
        let epoch = |s: &Option<std::borrow::Cow<'_, str>>| {
            V::from(
                s.as_deref()
                    .map(|s| coerce::epoch_seconds_to_micros(s).unwrap()),
            )
        };
        col(a, "keen_timestamp").push(epoch(&e.keen_timestamp));
        col(a, "keen_created_at").push(epoch(&e.keen_created_at));
        col(a, "started_at").push(V::from(
            e.started_at
                .as_deref()
                .map(|s| coerce::iso8601_to_micros(s).unwrap()),
        ));
        col(a, "base_exam_id").push(e.base_exam_id.as_deref().into());
        col(a, "user_exam_id").push(e.user_exam_id.as_deref().into());
        col(a, "exam_name").push(e.exam_name.as_deref().into());
        col(a, "certification").push(V::from(
            e.certification
                .as_deref()
                .map(|s| coerce::str_to_bool(s).unwrap()),
        ));
        col(a, "max_attempts").push(V::from(
            e.max_attempts
                .as_deref()
                .map(|s| coerce::str_to_f64(s).unwrap()),
        ));
        let seq = e.sequences.as_ref();
        col(a, "sequence_id").push(seq.and_then(|s| s.id.as_deref()).into());
        col(a, "attempt").push(seq.and_then(|s| s.attempt).into());
        let c = seq.and_then(|s| s.counts);
        col(a, "incomplete").push(c.and_then(|c| c.incomplete).into());
        col(a, "submitted").push(c.and_then(|c| c.submitted).into());
        col(a, "incorrect").push(c.and_then(|c| c.incorrect).into());
        col(a, "all_correct").push(c.and_then(|c| c.all_correct).into());
        col(a, "correct").push(c.and_then(|c| c.correct).into());
        col(a, "total").push(c.and_then(|c| c.total).into());
        col(a, "unanswered").push(c.and_then(|c| c.unanswered).into());
        let questions = seq.and_then(|s| s.questions.as_deref()).unwrap_or(&[]);
        col(a, "question_count").push(V::I(questions.len() as i64));
        for (qi, q) in questions.iter().enumerate() {
            let t = &mut x.questions;
            col(t, "_topic").push((*topic).into());
            col(t, "_partition").push((*partition).into());
            col(t, "_offset").push((*offset).into());
            col(t, "keen_id").push(e.keen_id.as_ref().into());
            col(t, "user_exam_id").push(e.user_exam_id.as_deref().into());
            col(t, "question_index").push(V::I(qi as i64));
            col(t, "question_id").push(q.id.as_deref().into());
            col(t, "user_result").push(q.user_result.as_deref().into());
            col(t, "user_correct").push(q.user_correct.into());
            col(t, "user_incomplete").push(q.user_incomplete.into());
            col(t, "user_submitted").push(q.user_submitted.into());
            let options = q.options.as_deref().unwrap_or(&[]);
            col(t, "option_count").push(V::I(options.len() as i64));
            for (oi, o) in options.iter().enumerate() {
                let t = &mut x.options;
                col(t, "_topic").push((*topic).into());
                col(t, "_partition").push((*partition).into());
                col(t, "_offset").push((*offset).into());
                col(t, "keen_id").push(e.keen_id.as_ref().into());
                col(t, "question_index").push(V::I(qi as i64));
                col(t, "question_id").push(q.id.as_deref().into());
                col(t, "option_index").push(V::I(oi as i64));
                col(t, "option_id").push(o.id.as_deref().into());
                col(t, "checked").push(o.checked.into());
                col(t, "correct").push(o.correct.into());
                col(t, "submitted").push(o.submitted.into());
                col(t, "at").push(V::from(
                    o.at.as_deref()
                        .map(|s| coerce::iso8601_to_micros(s).unwrap()),
                ));
            }
        }
    }
    x
}

/// Asserts every expected column equals the batch's column of the same name, and that the
/// batch has no flat column the oracle does not know (nested `sequences` is checked apart).
pub fn assert_table(batch: &RecordBatch, expected: &[(&'static str, Vec<V>)], rows: usize) {
    assert_eq!(batch.num_rows(), rows, "row count");
    for (name, values) in expected {
        assert_eq!(&column(batch, name), values, "column {name}");
    }
    for f in batch.schema().fields() {
        if f.name() != "sequences" && rows > 0 {
            assert!(
                expected.iter().any(|(n, _)| n == f.name()),
                "column {} not checked",
                f.name()
            );
        }
    }
}
