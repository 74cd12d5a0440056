//! Bad input becomes exactly one `rejects` row with a clear error; good input next to it is
//! unaffected.

#![allow(clippy::unwrap_used, clippy::needless_range_loop)]

use crate::common::{V, column};
use arrow_array::cast::AsArray;
use assessment_flatten::{FlattenConfig, Flattener, Message};
use assessment_schema::Table;

const GOOD: &str = include_str!("../../../testdata/real-first-five.ndjson");

fn good() -> &'static str {
    GOOD.lines().next().unwrap()
}

/// Pushes `value` between two good events and returns (kind, path, error) of its reject.
fn reject_of(value: Option<&[u8]>, config: FlattenConfig) -> (String, V, String) {
    let mut f = Flattener::new(config);
    f.push(&Message::new("t", 0, 0, good().as_bytes())).unwrap();
    let mut m = Message::new("t", 0, 1, b"");
    m.value = value;
    m.key = Some(b"key-1");
    f.push(&m).unwrap();
    f.push(&Message::new("t", 0, 2, good().as_bytes())).unwrap();
    let out = f.flush().unwrap();
    assert_eq!(out.batch(Table::Raw).num_rows(), 3);
    assert_eq!(out.stats.accepted, 2);
    assert_eq!(out.stats.rejected, 1);
    let a = out.batch(Table::Assessments);
    assert_eq!(column(a, "_offset"), vec![V::I(0), V::I(2)]);
    // The good events' questions/options are whole: nothing of the bad one leaked in.
    let q = out.batch(Table::Questions);
    assert_eq!(q.num_rows(), 8);
    assert!(column(q, "_offset").iter().all(|o| *o != V::I(1)));
    let o = out.batch(Table::Options);
    assert!(column(o, "_offset").iter().all(|o| *o != V::I(1)));
    let r = out.batch(Table::Rejects);
    assert_eq!(r.num_rows(), 1);
    assert_eq!(column(r, "_offset"), vec![V::I(1)]);
    assert_eq!(column(r, "key"), vec![V::S("key-1".into())]);
    let stored = r.column_by_name("value").unwrap().as_binary::<i32>();
    match value {
        Some(v) => assert_eq!(stored.value(0), v, "reject keeps the value byte for byte"),
        None => assert!(arrow_array::Array::is_null(stored, 0)),
    }
    let kind = match &column(r, "error_kind")[0] {
        V::S(s) => s.clone(),
        other => panic!("{other:?}"),
    };
    let err = match &column(r, "error")[0] {
        V::S(s) => s.clone(),
        other => panic!("{other:?}"),
    };
    (kind, column(r, "error_path")[0].clone(), err)
}

fn with(mutate: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_str(good()).unwrap();
    mutate(&mut v);
    serde_json::to_vec(&v).unwrap()
}

fn reject(value: &[u8]) -> (String, V, String) {
    reject_of(Some(value), FlattenConfig::default())
}

#[test]
fn wrong_type_deep_inside_names_the_path() {
    let v = with(|v| v["sequences"]["questions"][2]["options"][1]["checked"] = "yes".into());
    let (kind, path, err) = reject(&v);
    assert_eq!(kind, "wrong_type");
    assert_eq!(
        path,
        V::S("sequences.questions[2].options[1].checked".into())
    );
    assert_eq!(
        err,
        "sequences.questions[2].options[1].checked: expected bool, found string"
    );
}

#[test]
fn malformed_json_and_trailing_garbage() {
    // What is wrong, at the byte where it was found (the end of the value for a truncated
    // one), in words a user can act on.
    for (bad, err_want) in [
        (&b"{not json"[..], "at byte 1: key must be a string"),
        (
            b"{\"keen_id\":\"x\"",
            "at byte 14: EOF while parsing an object",
        ),
        (
            b"{\"keen_id\":\"x\"} trailing",
            "at byte 16: trailing characters",
        ),
        (b"{} {}", "at byte 3: trailing characters"),
        (
            b"{\n  \"a\": [1,\n  2 x]}",
            "at byte 17: expected `,` or `]`",
        ),
    ] {
        let (kind, path, err) = reject(bad);
        assert_eq!(kind, "malformed_json", "{}", String::from_utf8_lossy(bad));
        assert_eq!(path, V::Null);
        assert_eq!(err, format!("malformed_json {err_want}"));
    }
}

#[test]
fn non_object_top_level() {
    for (bad, found) in [
        (&b"[1,2]"[..], "array"),
        (b"42", "number"),
        (b"\"s\"", "string"),
        (b"null", "null"),
        (b"true", "bool"),
    ] {
        let (kind, _, err) = reject(bad);
        assert_eq!(kind, "not_an_object");
        assert_eq!(err, format!("$: expected object, found {found}"));
    }
}

#[test]
fn invalid_utf8() {
    let (kind, _, err) = reject(b"{\"keen_id\":\"\xff\xfe\"}");
    assert_eq!(kind, "invalid_utf8", "{err}");
}

#[test]
fn empty_and_null_values() {
    let (kind, _, err) = reject(b"");
    assert_eq!(kind, "empty_value");
    assert!(err.contains("empty"), "{err}");
    let (kind, _, err) = reject_of(None, FlattenConfig::default());
    assert_eq!(kind, "empty_value");
    assert!(err.contains("null value"), "{err}");
}

#[test]
fn missing_or_null_keen_id() {
    let (kind, path, _) = reject(&with(|v| {
        v.as_object_mut().unwrap().remove("keen_id");
    }));
    assert_eq!(
        (kind.as_str(), path),
        ("missing_field", V::S("keen_id".into()))
    );
    let (kind, _, _) = reject(&with(|v| v["keen_id"] = serde_json::Value::Null));
    assert_eq!(kind, "missing_field");
    let (kind, _, err) = reject(&with(|v| v["keen_id"] = 5.into()));
    assert_eq!(kind, "wrong_type");
    assert_eq!(err, "keen_id: expected string, found number");
}

#[test]
fn unconvertible_values_are_invalid_value() {
    let (kind, path, err) = reject(&with(|v| v["keen_timestamp"] = "yesterday".into()));
    assert_eq!(kind, "invalid_value");
    assert_eq!(path, V::S("keen_timestamp".into()));
    assert!(err.contains("\"yesterday\""), "{err}");
    let (kind, _, _) = reject(&with(|v| v["certification"] = "maybe".into()));
    assert_eq!(kind, "invalid_value");
    let (kind, path, _) = reject(&with(|v| {
        v["sequences"]["questions"][0]["options"][0]["at"] = "noon".into()
    }));
    assert_eq!(kind, "invalid_value");
    assert_eq!(path, V::S("sequences.questions[0].options[0].at".into()));
    let (kind, _, _) = reject(&with(|v| v["sequences"]["attempt"] = 1.5.into()));
    assert_eq!(kind, "invalid_value");
}

#[test]
fn wrong_container_types() {
    let (kind, path, err) = reject(&with(|v| {
        v["sequences"]["questions"] = serde_json::json!({})
    }));
    assert_eq!(kind, "wrong_type");
    assert_eq!(path, V::S("sequences.questions".into()));
    assert_eq!(err, "sequences.questions: expected array, found object");
    let (_, path, err) = reject(&with(|v| v["sequences"]["questions"][1] = 3.into()));
    assert_eq!(path, V::S("sequences.questions[1]".into()));
    assert_eq!(err, "sequences.questions[1]: expected object, found number");
}

#[test]
fn duplicate_known_field() {
    let dup = good().replacen("{", "{\"exam_name\":\"first\",", 1);
    let (kind, path, _) = reject(dup.as_bytes());
    assert_eq!(
        (kind.as_str(), path),
        ("duplicate_field", V::S("exam_name".into()))
    );
}

#[test]
fn too_deep_and_too_large() {
    let deep = format!(
        "{{\"keen_id\":\"k\",\"x\":{}{}}}",
        "[".repeat(100),
        "]".repeat(100)
    );
    let (kind, _, _) = reject(deep.as_bytes());
    assert_eq!(kind, "too_deep");
    let config = FlattenConfig {
        max_value_bytes: 5000,
        ..FlattenConfig::default()
    };
    let big = format!("{{\"keen_id\":\"{}\"}}", "a".repeat(6000));
    let (kind, _, err) = reject_of(Some(big.as_bytes()), config);
    assert_eq!(kind, "too_large");
    assert!(err.contains("max_value_bytes"), "{err}");
}

#[test]
fn nulls_missing_fields_empty_arrays_and_unknown_fields() {
    let mut f = Flattener::new(FlattenConfig::default());
    let events = [
        r#"{"keen_id":"a"}"#,
        r#"{"keen_id":"b","exam_name":null,"sequences":null,"certification":true}"#,
        r#"{"keen_id":"c","sequences":{"questions":[]}}"#,
        r#"{"keen_id":"d","sequences":{"questions":[{"options":[]},{"id":"q","extra":{"deep":[1,{"x":2}]}}]},"new_top":1}"#,
        r#"{"keen_id":"e","sequences":{"counts":{"correct":3,"bonus":1},"questions":[{"options":[{"id":"o","future":true}]}]}}"#,
    ];
    for (i, e) in events.iter().enumerate() {
        f.push(&Message::new("t", 0, i as i64, e.as_bytes()))
            .unwrap();
    }
    let out = f.flush().unwrap();
    assert_eq!(out.stats.accepted, 5);
    assert_eq!(out.stats.unknown_fields, 4);
    let a = out.batch(Table::Assessments);
    assert_eq!(column(a, "exam_name"), vec![V::Null; 5]);
    assert_eq!(column(a, "certification")[1], V::B(true));
    assert_eq!(
        column(a, "question_count"),
        [0, 0, 0, 2, 1].map(V::I).to_vec()
    );
    assert_eq!(column(a, "correct")[4], V::I(3));
    assert_eq!(column(a, "correct")[3], V::Null);
    let seq = a.column_by_name("sequences").unwrap().as_struct();
    assert_eq!(
        (0..5)
            .map(|i| arrow_array::Array::is_valid(seq, i))
            .collect::<Vec<_>>(),
        [false, false, true, true, true]
    );
    let ql = seq.column_by_name("questions").unwrap().as_list::<i32>();
    assert!(arrow_array::Array::is_valid(ql, 2) && ql.value(2).is_empty());
    let q = out.batch(Table::Questions);
    assert_eq!(column(q, "option_count"), [0, 0, 1].map(V::I).to_vec());
    assert_eq!(
        column(q, "question_id"),
        vec![V::Null, V::S("q".into()), V::Null]
    );
    let o = out.batch(Table::Options);
    assert_eq!(column(o, "option_id"), vec![V::S("o".into())]);
    assert_eq!(column(o, "keen_id"), vec![V::S("e".into())]);
}

#[test]
fn escapes_are_decoded() {
    let e = r#"{"keen_id":"k\"1\u00e9","exam_name":"Learning \\ Git \ud83d\ude00"}"#;
    let mut f = Flattener::new(FlattenConfig::default());
    f.push(&Message::new("t", 0, 0, e.as_bytes())).unwrap();
    let out = f.flush().unwrap();
    let a = out.batch(Table::Assessments);
    assert_eq!(column(a, "keen_id"), vec![V::S("k\"1é".into())]);
    assert_eq!(
        column(a, "exam_name"),
        vec![V::S("Learning \\ Git 😀".into())]
    );
}

#[test]
fn buffers_are_reused_across_flushes() {
    let mut f = Flattener::new(FlattenConfig::default());
    for round in 0..3 {
        for i in 0..10 {
            f.push(&Message::new("t", 1, round * 10 + i, good().as_bytes()))
                .unwrap();
        }
        f.push(&Message::new("t", 1, round * 10 + 10, b"oops"))
            .unwrap();
        let out = f.flush().unwrap();
        assert_eq!(out.batch(Table::Assessments).num_rows(), 10);
        assert_eq!(out.batch(Table::Rejects).num_rows(), 1);
        assert_eq!(out.batch(Table::Raw).num_rows(), 11);
        assert_eq!(
            column(out.batch(Table::Raw), "_offset")[0],
            V::I(round * 10)
        );
        assert!(f.is_empty());
    }
}
