//! Numbers of any size, precision or exponent: in fields the schema does not read they change
//! nothing; in known fields the rules are exact. And values of any size Kafka delivers land.

#![allow(clippy::unwrap_used)]

use crate::common::{V, column};
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use assessment_flatten::{FlattenConfig, Flattened, Flattener, Message};
use assessment_schema::Table;
use assessment_schema::coerce::{EXPECTED_EPOCH, EXPECTED_F64, EXPECTED_INT64};

const GOOD: &str = include_str!("../../../testdata/real-first-five.ndjson");

fn good() -> &'static str {
    GOOD.lines().next().unwrap()
}

/// Numbers simd-json's tape cannot hold, and odd ones it can.
const ODD: [&str; 12] = [
    "18446744073709551616",
    "-18446744073709551617",
    "-9223372036854775809",
    "1e400",
    "-1e400",
    "1E+999",
    "1.7976931348623159e308",
    "1.5e-10",
    "-0.0",
    "123456789012345678901234567890.5",
    "1e-400",
    "0e99999999999",
];

fn big_integers() -> [String; 2] {
    ["9".repeat(100), format!("-{}", "1".repeat(400))]
}

fn flatten(values: &[&[u8]]) -> Flattened {
    let mut f = Flattener::new(FlattenConfig::default());
    for (i, v) in values.iter().enumerate() {
        f.push(&Message::new("t", 0, i as i64, v)).unwrap();
    }
    f.flush().unwrap()
}

/// `good()` with `edit` applied, where the string `"@N@"` is then replaced by `number` as
/// written (serde_json cannot hold every JSON number).
fn with_number(number: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(good()).unwrap();
    edit(&mut v);
    serde_json::to_string(&v)
        .unwrap()
        .replace("\"@N@\"", number)
}

/// Puts `"@N@"` in unknown fields at every level of the event, bare and inside arrays and
/// objects of unknown fields.
fn everywhere(v: &mut serde_json::Value) {
    let n = || serde_json::Value::from("@N@");
    let nested = || serde_json::json!([n(), {"deep": [n(), {"deeper": n()}], "s": "1e400"}]);
    v["x_top"] = n();
    v["x_nested"] = nested();
    v["sequences"]["x_seq"] = n();
    v["sequences"]["counts"]["x_count"] = nested();
    for q in v["sequences"]["questions"].as_array_mut().unwrap() {
        q["x_q"] = n();
        for o in q["options"].as_array_mut().unwrap() {
            o["x_o"] = nested();
        }
    }
}

fn typed_tables(out: &Flattened) -> [&arrow_array::RecordBatch; 3] {
    [
        out.batch(Table::Assessments),
        out.batch(Table::Questions),
        out.batch(Table::Options),
    ]
}

#[test]
fn any_number_in_unknown_fields_lands_the_event_as_a_small_one_would() {
    let [hundred, four_hundred] = big_integers();
    let mut numbers: Vec<&str> = ODD.to_vec();
    numbers.extend([hundred.as_str(), four_hundred.as_str()]);
    let small = with_number("0", everywhere);
    for number in numbers {
        let event = with_number(number, everywhere);
        let out = flatten(&[event.as_bytes(), small.as_bytes()]);
        assert_eq!(
            (out.stats.accepted, out.stats.rejected),
            (2, 0),
            "{number}: {:?}",
            column(out.batch(Table::Rejects), "error")
        );
        let alone = flatten(&[small.as_bytes(), small.as_bytes()]);
        assert_eq!(
            typed_tables(&out),
            typed_tables(&alone),
            "{number}: typed rows differ from those with 0"
        );
        assert_eq!(out.stats.unknown_fields, alone.stats.unknown_fields);
        let raw = out.batch(Table::Raw);
        let raw = raw.column_by_name("value").unwrap().as_binary::<i32>();
        assert_eq!(raw.value(0), event.as_bytes(), "raw keeps it byte for byte");
        let refused = simd_json::to_tape(&mut event.clone().into_bytes()).is_err();
        assert_eq!(out.stats.reparsed, usize::from(refused), "{number}");
    }
}

/// `(kind, path, error)` of the one reject of `value`.
fn reject(value: &str) -> (String, V, String) {
    let out = flatten(&[value.as_bytes()]);
    assert_eq!(out.stats.rejected, 1, "{value:.200} was accepted");
    let r = out.batch(Table::Rejects);
    let text = |name| match &column(r, name)[0] {
        V::S(s) => s.clone(),
        other => panic!("{other:?}"),
    };
    (
        text("error_kind"),
        column(r, "error_path")[0].clone(),
        text("error"),
    )
}

#[test]
fn integer_fields_take_int64_integers_written_as_integers() {
    let total = |n: &str| with_number(n, |v| v["sequences"]["counts"]["total"] = "@N@".into());
    for (n, want) in [
        ("9223372036854775807", i64::MAX),
        ("-9223372036854775808", i64::MIN),
        ("0", 0),
        ("-0", 0),
    ] {
        let out = flatten(&[total(n).as_bytes()]);
        assert_eq!(out.stats.rejected, 0, "{n}");
        assert_eq!(column(out.batch(Table::Assessments), "total"), [V::I(want)]);
    }
    let [hundred, _] = big_integers();
    for (n, found) in [
        ("9223372036854775808", "9223372036854775808"),
        ("18446744073709551616", "18446744073709551616"),
        ("-9223372036854775809", "-9223372036854775809"),
        ("1.0", "1.0"),
        ("1e0", "1.0"),
        ("2.0e1", "20.0"),
        ("-0.0", "-0.0"),
        ("1e400", "1e400"),
        ("1.5", "1.5"),
    ] {
        let (kind, path, err) = reject(&total(n));
        assert_eq!(kind, "invalid_value", "{n}");
        assert_eq!(path, V::S("sequences.counts.total".into()));
        assert_eq!(
            err,
            format!("sequences.counts.total: expected {EXPECTED_INT64}, found {found:?}")
        );
    }
    // A long number is quoted as written, cut at 64 characters.
    let (_, _, err) = reject(&with_number(&hundred, |v| {
        v["sequences"]["attempt"] = "@N@".into();
    }));
    assert!(
        err.ends_with(&format!("found \"{}…\"", "9".repeat(64))),
        "{err}"
    );
    let (kind, path, err) = reject(&with_number("-1e400", |v| {
        v["sequences"]["questions"][1]["options"][2]["submitted"] = "@N@".into();
    }));
    assert_eq!(kind, "invalid_value");
    assert_eq!(
        path,
        V::S("sequences.questions[1].options[2].submitted".into())
    );
    assert!(err.ends_with("found \"-1e400\""), "{err}");
}

#[test]
fn float_fields_take_every_number_within_the_f64_range() {
    let max = |n: &str| with_number(n, |v| v["max_attempts"] = "@N@".into());
    for (n, want) in [
        ("18446744073709551616", 18_446_744_073_709_551_616.0),
        ("1.5e-10", 1.5e-10),
        (
            "123456789012345678901234567890.5",
            1.234_567_890_123_456_8e29,
        ),
        ("1e308", 1e308),
        ("1e-400", 0.0),
        ("3", 3.0),
        ("-0.0", -0.0),
    ] {
        let out = flatten(&[max(n).as_bytes()]);
        assert_eq!(out.stats.rejected, 0, "{n}");
        let a = out.batch(Table::Assessments);
        let got = a
            .column_by_name("max_attempts")
            .unwrap()
            .as_primitive::<Float64Type>()
            .value(0);
        assert_eq!(got.to_bits(), f64::to_bits(want), "{n}: {got}");
    }
    let hundred = "9".repeat(100);
    let out = flatten(&[max(&hundred).as_bytes()]);
    assert_eq!(
        column(out.batch(Table::Assessments), "max_attempts"),
        [V::F(1e100)]
    );
    for n in ["1e400", "-1e400", &"9".repeat(400)] {
        let (kind, path, err) = reject(&max(n));
        assert_eq!(kind, "invalid_value", "{n}");
        assert_eq!(path, V::S("max_attempts".into()));
        assert!(
            err.starts_with(&format!("max_attempts: expected {EXPECTED_F64}, found ")),
            "{err}"
        );
    }
    let (kind, _, _) = reject(&with_number("1", |v| v["max_attempts"] = "1e400".into()));
    assert_eq!(kind, "invalid_value", "a string beyond f64 too");
}

#[test]
fn epoch_fields_take_integer_seconds_in_range() {
    let ts = |n: &str| with_number(n, |v| v["keen_timestamp"] = "@N@".into());
    let out = flatten(&[ts("1516717442").as_bytes()]);
    assert_eq!(
        column(out.batch(Table::Assessments), "keen_timestamp"),
        [V::I(1_516_717_442_000_000)]
    );
    for n in ["18446744073709551616", "9223372036854775807"] {
        let (kind, _, err) = reject(&ts(n));
        assert_eq!(kind, "invalid_value");
        assert_eq!(
            err,
            format!("keen_timestamp: expected {EXPECTED_EPOCH}, found {n:?}")
        );
    }
    for n in ["1e400", "1516717442.5"] {
        let (kind, _, err) = reject(&ts(n));
        assert_eq!(kind, "wrong_type", "{n}");
        assert_eq!(
            err,
            "keen_timestamp: expected epoch seconds as a string, found number"
        );
    }
}

#[test]
fn a_big_number_elsewhere_does_not_change_a_reject() {
    let broken = |n: &str| {
        with_number(n, |v| {
            v["x"] = "@N@".into();
            v["sequences"]["questions"][2]["options"][1]["checked"] = "yes".into();
        })
    };
    assert_eq!(reject(&broken("1e400")), reject(&broken("0")));
    assert_eq!(
        reject(&broken("1e400")).2,
        "sequences.questions[2].options[1].checked: expected bool, found string"
    );
}

#[test]
fn malformed_json_with_big_numbers_is_still_malformed_with_its_position() {
    for (bad, want) in [
        (
            r#"{"x":1e400,"keen_id":"k" "y":1}"#,
            "malformed_json at byte 25: expected `,` or `}`",
        ),
        (
            r#"{"x":18446744073709551616,"y":01}"#,
            "malformed_json at byte 31: invalid number",
        ),
        (
            r#"{"x":[1e400,-]}"#,
            "malformed_json at byte 13: invalid number",
        ),
        (r#"{"x":-}"#, "malformed_json at byte 6: invalid number"),
        (
            r#"{"keen_id":"k","x":18446744073709551616"#,
            "malformed_json at byte 39: EOF while parsing an object",
        ),
    ] {
        let (kind, path, err) = reject(bad);
        assert_eq!(kind, "malformed_json", "{bad}");
        assert_eq!(path, V::Null);
        assert_eq!(err, want, "{bad}");
    }
    let deep = format!(
        "{{\"keen_id\":\"k\",\"x\":[1e400,{}{}]}}",
        "[".repeat(100),
        "]".repeat(100)
    );
    assert_eq!(reject(&deep).0, "too_deep");
    let (kind, _, _) = reject("{\"x\":1e400,\"keen_id\":\"\u{7f}\\q\"}");
    assert_eq!(kind, "malformed_json");
    let mut utf8 = br#"{"x":1e400,"keen_id":""#.to_vec();
    utf8.extend_from_slice(b"\xff\"}");
    let out = flatten(&[&utf8]);
    assert_eq!(
        column(out.batch(Table::Rejects), "error_kind"),
        [V::S("invalid_utf8".into())]
    );
}

#[test]
fn a_wide_number_as_the_whole_value_is_not_an_object() {
    let (kind, _, err) = reject("18446744073709551616");
    assert_eq!(kind, "not_an_object");
    assert_eq!(err, "$: expected object, found number");
}

#[test]
fn a_2_mib_exam_name_lands_with_the_default_config() {
    assert!(FlattenConfig::default().max_value_bytes >= i32::MAX as usize);
    let name = "Learning Git "
        .repeat(2 << 20)
        .chars()
        .take(2 << 20)
        .collect::<String>();
    let event = with_number("0", |v| {
        v["exam_name"] = name.clone().into();
        v["x_big"] = "@N@".into();
    });
    // 2.1 MB: twice the old default limit of 1 MiB.
    assert!(event.len() > (2 << 20) + 2000, "{}", event.len());
    let mut f = Flattener::new(FlattenConfig::default());
    f.push(&Message::new("t", 0, 0, event.as_bytes())).unwrap();
    f.push(&Message::new("t", 0, 1, good().as_bytes())).unwrap();
    let out = f.flush().unwrap();
    assert_eq!((out.stats.accepted, out.stats.rejected), (2, 0));
    let a = out.batch(Table::Assessments);
    let names = a.column_by_name("exam_name").unwrap().as_string::<i32>();
    assert_eq!(names.value(0), name);
    assert_eq!(
        names.value(1),
        "Normal Forms and All That Jazz Master Class"
    );
    assert_eq!(out.batch(Table::Questions).num_rows(), 8);
    // The next batch is as good as the first.
    f.push(&Message::new("t", 0, 2, good().as_bytes())).unwrap();
    let out = f.flush().unwrap();
    assert_eq!(out.stats.accepted, 1);
    assert_eq!(
        column(out.batch(Table::Assessments), "exam_name"),
        [V::S("Normal Forms and All That Jazz Master Class".into())]
    );
}
