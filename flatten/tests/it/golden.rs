//! Golden tests on the first five real events of the original dataset.

#![allow(clippy::unwrap_used, clippy::needless_range_loop)]

use crate::common::{V, assert_table, column, expected};
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, RecordBatch};
use assessment_flatten::{FlattenConfig, Flattened, Flattener, Message};
use assessment_schema::Table;
use assessment_schema::event::AssessmentEvent;

const REAL: &str = include_str!("../../../testdata/real-first-five.ndjson");

fn land(lines: &[&str]) -> Flattened {
    land_with(FlattenConfig::default(), lines)
}

fn land_with(config: FlattenConfig, lines: &[&str]) -> Flattened {
    let mut f = Flattener::new(config);
    for (i, l) in lines.iter().enumerate() {
        let mut m = Message::new("assessment", 3, 100 + i as i64, l.as_bytes());
        m.key = Some(b"k");
        m.timestamp_ms = Some(1_516_717_442_000 + i as i64);
        f.push(&m).unwrap();
    }
    f.flush().unwrap()
}

fn find_row(batch: &RecordBatch, conds: &[(&str, V)]) -> usize {
    let cols: Vec<_> = conds.iter().map(|(n, _)| column(batch, n)).collect();
    let hits: Vec<usize> = (0..batch.num_rows())
        .filter(|&r| conds.iter().zip(&cols).all(|((_, v), c)| &c[r] == v))
        .collect();
    assert_eq!(hits.len(), 1, "rows matching {conds:?}");
    hits[0]
}

#[test]
fn every_column_of_every_table_matches_the_oracle() {
    let lines: Vec<&str> = REAL.lines().collect();
    assert_eq!(lines.len(), 5);
    let out = land(&lines);
    assert_eq!(out.stats.messages, 5);
    assert_eq!(out.stats.accepted, 5);
    assert_eq!(out.stats.rejected, 0);
    assert_eq!(out.stats.unknown_fields, 0);

    let events: Vec<_> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let e: AssessmentEvent<'_> = serde_json::from_str(l).unwrap();
            (e, "assessment", 3, 100 + i as i64)
        })
        .collect();
    let x = expected(&events);
    let n_q: usize = x.questions[0].1.len();
    let n_o: usize = x.options[0].1.len();
    assert!(
        n_q >= 20 && n_o >= 60,
        "sample has {n_q} questions, {n_o} options"
    );
    assert_table(out.batch(Table::Assessments), &x.assessments, 5);
    assert_table(out.batch(Table::Questions), &x.questions, n_q);
    assert_table(out.batch(Table::Options), &x.options, n_o);
    assert_eq!(out.batch(Table::Rejects).num_rows(), 0);

    // raw: byte for byte, with coordinates, key and timestamp (ms → µs).
    let raw = out.batch(Table::Raw);
    assert_eq!(raw.num_rows(), 5);
    let values = raw.column_by_name("value").unwrap().as_binary::<i32>();
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(values.value(i), l.as_bytes());
    }
    assert_eq!(
        column(raw, "_offset"),
        (100..105).map(V::I).collect::<Vec<_>>()
    );
    assert_eq!(column(raw, "_timestamp")[1], V::I(1_516_717_442_001_000));
    assert_eq!(column(raw, "key")[0], V::S("k".into()));
}

#[test]
fn hand_checked_values() {
    let lines: Vec<&str> = REAL.lines().collect();
    let out = land(&lines);
    let a = out.batch(Table::Assessments);

    // 7 fractional digits: the 7th is truncated, exactly (not via f64).
    let r = find_row(a, &[("keen_id", V::S("5a6799694fc7c70001034706".into()))]);
    assert_eq!(column(a, "keen_timestamp")[r], V::I(1_516_738_921_113_742));
    assert_eq!(column(a, "keen_created_at")[r], V::I(1_516_738_921_113_742));
    assert_eq!(column(a, "started_at")[r], V::I(1_516_738_870_833_000));
    assert_eq!(column(a, "certification")[r], V::B(false));
    assert_eq!(column(a, "max_attempts")[r], V::F(1.0));
    assert_eq!(
        column(a, "exam_name")[r],
        V::S("The Principles of Microservices".into())
    );

    // The first event: counts promoted to columns.
    let r0 = find_row(a, &[("keen_id", V::S("5a6745820eb8ab00016be1f1".into()))]);
    assert_eq!(column(a, "keen_timestamp")[r0], V::I(1_516_717_442_735_266));
    assert_eq!(column(a, "incomplete")[r0], V::I(1));
    assert_eq!(column(a, "correct")[r0], V::I(2));
    assert_eq!(column(a, "all_correct")[r0], V::B(false));
    assert_eq!(column(a, "attempt")[r0], V::I(1));
    assert_eq!(column(a, "question_count")[r0], V::I(4));

    // The option that has `at` but `checked: false` (and no `submitted`, no `correct`).
    let o = out.batch(Table::Options);
    let r = find_row(
        o,
        &[
            ("keen_id", V::S("5a6745820eb8ab00016be1f1".into())),
            ("question_index", V::I(2)),
            ("option_index", V::I(0)),
        ],
    );
    assert_eq!(
        column(o, "option_id")[r],
        V::S("a9333679-de9d-41ff-bb3d-b239d6b95732".into())
    );
    assert_eq!(column(o, "checked")[r], V::B(false));
    assert_eq!(column(o, "at")[r], V::I(1_516_717_432_510_000));
    assert_eq!(column(o, "submitted")[r], V::Null);
    assert_eq!(column(o, "correct")[r], V::Null);

    // The recipe's `sequences.questions[0].user_incomplete` through the nested column.
    let seq = a.column_by_name("sequences").unwrap().as_struct();
    let questions = seq.column_by_name("questions").unwrap().as_list::<i32>();
    let q0 = questions.value(r0);
    let q0 = q0.as_struct();
    assert!(
        q0.column_by_name("user_incomplete")
            .unwrap()
            .as_boolean()
            .value(0)
    );
    let opts = q0
        .column_by_name("options")
        .unwrap()
        .as_list::<i32>()
        .value(0);
    let at = opts.as_struct().column_by_name("at").unwrap();
    assert_eq!(
        at.as_primitive::<TimestampMicrosecondType>().value(0),
        1_516_717_404_670_000
    );
}

#[test]
fn nested_sequences_agree_with_the_flat_tables() {
    let lines: Vec<&str> = REAL.lines().collect();
    let out = land(&lines);
    let a = out.batch(Table::Assessments);
    let q = out.batch(Table::Questions);
    let seq = a.column_by_name("sequences").unwrap().as_struct();
    assert_eq!(seq.null_count(), 0);
    let list = seq.column_by_name("questions").unwrap().as_list::<i32>();
    let qc = column(a, "question_count");
    let mut flat_row = 0;
    for r in 0..a.num_rows() {
        let qs = list.value(r);
        assert_eq!(V::I(qs.len() as i64), qc[r]);
        let qs = qs.as_struct();
        for i in 0..qs.len() {
            let id = qs.column_by_name("id").unwrap().as_string::<i32>().value(i);
            assert_eq!(column(q, "question_id")[flat_row], V::S(id.into()));
            let n_opts = qs
                .column_by_name("options")
                .unwrap()
                .as_list::<i32>()
                .value(i)
                .len();
            assert_eq!(column(q, "option_count")[flat_row], V::I(n_opts as i64));
            flat_row += 1;
        }
    }
    assert_eq!(flat_row, q.num_rows());
    // Counts inside the struct equal the promoted columns.
    let counts = seq.column_by_name("counts").unwrap().as_struct();
    for name in ["incomplete", "submitted", "total", "all_correct"] {
        let nested = counts.column_by_name(name).unwrap();
        let flat = a.column_by_name(name).unwrap();
        assert_eq!(nested.to_data(), flat.to_data(), "{name}");
    }
}

#[test]
fn key_order_does_not_matter() {
    // Reverse the member order of every object of the first event.
    let line = REAL.lines().next().unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    fn reverse(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::Object(m) => {
                let parts: Vec<String> = m
                    .iter()
                    .rev()
                    .map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), reverse(v)))
                    .collect();
                format!("{{{}}}", parts.join(","))
            }
            serde_json::Value::Array(a) => {
                format!("[{}]", a.iter().map(reverse).collect::<Vec<_>>().join(","))
            }
            other => other.to_string(),
        }
    }
    let reversed = reverse(&v);
    assert_ne!(reversed, line);
    let a = land(&[line]);
    let b = land(&[reversed.as_str()]);
    for t in [Table::Assessments, Table::Questions, Table::Options] {
        assert_eq!(a.batch(t).num_rows(), b.batch(t).num_rows());
        for c in 0..a.batch(t).num_columns() {
            assert_eq!(
                a.batch(t).column(c).to_data(),
                b.batch(t).column(c).to_data(),
                "{t} column {c}"
            );
        }
    }
}

#[test]
fn without_nested_sequences_assessments_is_the_flat_projection() {
    let lines: Vec<&str> = REAL.lines().collect();
    let nested = land(&lines);
    let config = FlattenConfig {
        nested_sequences: false,
        ..FlattenConfig::default()
    };
    let flat = land_with(config, &lines);
    let a = flat.batch(Table::Assessments);
    assert_eq!(
        a.schema(),
        assessment_schema::tables::landed_schema(Table::Assessments, false)
    );
    assert!(a.column_by_name("sequences").is_none());
    // Every other column, and every other table, as with the nested column.
    let n = nested.batch(Table::Assessments);
    let keep: Vec<usize> = (0..n.num_columns() - 1).collect();
    assert_eq!(a, &n.project(&keep).unwrap());
    for t in [Table::Raw, Table::Questions, Table::Options, Table::Rejects] {
        assert_eq!(flat.batch(t), nested.batch(t), "{t}");
    }
    assert_eq!(flat.stats, nested.stats);
}
