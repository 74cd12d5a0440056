//! Deterministic test data shared by the tests and the `sink-crash-child` binary: three tables
//! derived from (partition, offset) alone, so any landed row can be checked.
//! `raw` has every offset; `rejects` every offset with `offset % 7 == 3`; `assessments` the
//! others, with a nested list-of-struct column, date-partitioned by `ts` (5 hours per offset,
//! so ranges cross dates).

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, ListBuilder, StringBuilder, StructBuilder};
use arrow_array::{
    ArrayRef, BinaryArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

pub const TOPIC: &str = "events";
pub const BASE_TS_US: i64 = 1_516_717_442_735_266;
pub const STEP_US: i64 = 5 * 3_600_000_000;

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn question_fields() -> Fields {
    Fields::from(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("correct", DataType::Boolean, true),
    ])
}

pub fn raw_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("_partition", DataType::Int32, false),
        Field::new("_offset", DataType::Int64, false),
        Field::new("kafka_ts", ts_type(), false),
        Field::new("value", DataType::Binary, false),
    ]))
}

pub fn assessments_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("_partition", DataType::Int32, false),
        Field::new("_offset", DataType::Int64, false),
        Field::new("keen_id", DataType::Utf8, false),
        Field::new("ts", ts_type(), true),
        Field::new("score", DataType::Float64, true),
        Field::new(
            "questions",
            DataType::List(Arc::new(Field::new(
                "item",
                DataType::Struct(question_fields()),
                true,
            ))),
            true,
        ),
    ]))
}

pub fn rejects_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("_partition", DataType::Int32, false),
        Field::new("_offset", DataType::Int64, false),
        Field::new("error", DataType::Utf8, false),
    ]))
}

pub fn tables() -> Vec<(&'static str, SchemaRef)> {
    vec![
        ("raw", raw_schema()),
        ("assessments", assessments_schema()),
        ("rejects", rejects_schema()),
    ]
}

pub fn is_reject(offset: i64) -> bool {
    offset % 7 == 3
}

pub fn ts_of(offset: i64) -> i64 {
    BASE_TS_US + offset * STEP_US
}

/// `(raw, assessments, rejects)` for offsets `from..=to` of `partition`.
pub fn batches(partition: i32, from: i64, to: i64) -> (RecordBatch, RecordBatch, RecordBatch) {
    let offs: Vec<i64> = (from..=to).collect();
    let acc: Vec<i64> = offs.iter().copied().filter(|o| !is_reject(*o)).collect();
    let rej: Vec<i64> = offs.iter().copied().filter(|o| is_reject(*o)).collect();
    (
        raw(partition, &offs),
        assessments(partition, &acc),
        rejects(partition, &rej),
    )
}

pub fn raw(partition: i32, offs: &[i64]) -> RecordBatch {
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(vec![partition; offs.len()])),
        Arc::new(Int64Array::from(offs.to_vec())),
        Arc::new(
            TimestampMicrosecondArray::from(offs.iter().map(|o| ts_of(*o)).collect::<Vec<_>>())
                .with_timezone("UTC"),
        ),
        Arc::new(BinaryArray::from_iter_values(offs.iter().map(|o| {
            format!(
                "{{\"p\":{partition},\"o\":{o},\"pad\":\"{}\"}}",
                "x".repeat((*o % 13) as usize)
            )
        }))),
    ];
    RecordBatch::try_new(raw_schema(), cols).expect("raw batch")
}

pub fn assessments(partition: i32, offs: &[i64]) -> RecordBatch {
    let mut q = ListBuilder::new(StructBuilder::from_fields(question_fields(), 0));
    for o in offs {
        if o % 11 == 0 {
            q.append_null();
            continue;
        }
        for i in 0..(o % 4) {
            let s = q.values();
            s.field_builder::<StringBuilder>(0)
                .expect("id")
                .append_value(format!("q{o}-{i}"));
            s.field_builder::<BooleanBuilder>(1)
                .expect("correct")
                .append_option(if (o + i) % 5 == 0 {
                    None
                } else {
                    Some((o + i) % 2 == 0)
                });
            s.append(true);
        }
        q.append(true);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(vec![partition; offs.len()])),
        Arc::new(Int64Array::from(offs.to_vec())),
        Arc::new(StringArray::from_iter_values(
            offs.iter().map(|o| format!("keen-{partition}-{o}")),
        )),
        Arc::new(
            TimestampMicrosecondArray::from(
                offs.iter()
                    .map(|o| if o % 17 == 0 { None } else { Some(ts_of(*o)) })
                    .collect::<Vec<_>>(),
            )
            .with_timezone("UTC"),
        ),
        Arc::new(Float64Array::from(
            offs.iter().map(|o| (*o as f64) / 3.0).collect::<Vec<_>>(),
        )),
        Arc::new(q.finish()),
    ];
    RecordBatch::try_new(assessments_schema(), cols).expect("assessments batch")
}

pub fn rejects(partition: i32, offs: &[i64]) -> RecordBatch {
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(vec![partition; offs.len()])),
        Arc::new(Int64Array::from(offs.to_vec())),
        Arc::new(StringArray::from_iter_values(offs.iter().map(|o| {
            format!("sequences.questions[{}].id: expected string", o % 3)
        }))),
    ];
    RecordBatch::try_new(rejects_schema(), cols).expect("rejects batch")
}

/// Tiny deterministic PRNG (xorshift64*).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
