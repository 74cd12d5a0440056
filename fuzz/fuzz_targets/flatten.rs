//! Any bytes, split into messages at 0xFF bytes, through the flattener: it must never panic,
//! and every message must land in exactly one of `assessments` / `rejects`.
#![no_main]

use assessment_flatten::{FlattenConfig, Flattener, Message};
use assessment_schema::Table;
use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut f = Flattener::new(FlattenConfig {
        max_depth: 16,
        ..FlattenConfig::default()
    });
    let mut n = 0;
    for (i, part) in data.split(|b| *b == 0xFF).enumerate() {
        let mut msg = Message::new("fuzz", 0, i as i64, part);
        if part.first() == Some(&0xFE) {
            msg.value = None;
        }
        f.push(&msg).expect("small inputs always fit");
        n += 1;
    }
    let out = f.flush().expect("flush never fails on valid columns");
    let raw = out.batch(Table::Raw).num_rows();
    let accepted = out.batch(Table::Assessments).num_rows();
    let rejected = out.batch(Table::Rejects).num_rows();
    assert_eq!(raw, n);
    assert_eq!(raw, accepted + rejected);
    // Row counts of the child tables equal the sums over the accepted events.
    let a = out.batch(Table::Assessments);
    let counts = a
        .column_by_name("question_count")
        .expect("question_count")
        .as_primitive::<Int32Type>();
    let questions: i64 = counts.values().iter().map(|v| i64::from(*v)).sum();
    assert_eq!(questions as usize, out.batch(Table::Questions).num_rows());
    let q = out.batch(Table::Questions);
    let option_counts = q
        .column_by_name("option_count")
        .expect("option_count")
        .as_primitive::<Int32Type>();
    let options: i64 = option_counts.values().iter().map(|v| i64::from(*v)).sum();
    assert_eq!(options as usize, out.batch(Table::Options).num_rows());
});
