//! Property tests: generated events land with every value in the right column and row;
//! arbitrary and mutated bytes never panic and always balance.

#![allow(clippy::unwrap_used, clippy::needless_range_loop)]

use crate::common::{assert_table, expected};
use assessment_flatten::{FlattenConfig, Flattener, Message};
use assessment_schema::Table;
use assessment_schema::event::AssessmentEvent;
use proptest::prelude::*;
use proptest::sample::Index;

/// A JSON object rendered with its members in a chosen (shuffled) order.
fn object(members: Vec<(&'static str, Option<String>)>, order: &[Index]) -> String {
    let mut present: Vec<(&str, String)> = members
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    // Shuffle deterministically from the generated indices.
    for (i, ix) in order.iter().enumerate().take(present.len()) {
        let j = ix.index(present.len());
        present.swap(i, j);
    }
    let body: Vec<String> = present
        .into_iter()
        .map(|(k, v)| format!("{}:{v}", serde_json::to_string(k).unwrap()))
        .collect();
    format!("{{{}}}", body.join(","))
}

fn js(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A value that may be absent, JSON null, or present.
fn maybe(s: impl Strategy<Value = String>) -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some("null".to_owned())),
        6 => s.prop_map(Some),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-f0-9-]{1,36}",
        any::<String>(),
        Just("Learning Git".to_owned()),
        Just(String::new()),
    ]
    .prop_map(|s| js(&s))
}

fn int() -> impl Strategy<Value = String> {
    prop_oneof![
        (0i64..10).prop_map(|v| v.to_string()),
        any::<i64>().prop_map(|v| v.to_string())
    ]
}

fn boolean() -> impl Strategy<Value = String> {
    any::<bool>().prop_map(|b| b.to_string())
}

fn epoch() -> impl Strategy<Value = String> {
    (1_400_000_000i64..1_700_000_000, 0u32..10_000_000, 0usize..8).prop_map(|(s, f, digits)| {
        if digits == 0 {
            js(&s.to_string())
        } else {
            let frac = format!("{f:07}");
            js(&format!("{s}.{}", &frac[..digits]))
        }
    })
}

fn iso() -> impl Strategy<Value = String> {
    (
        2015i32..2030,
        1u32..13,
        1u32..29,
        0u32..24,
        0u32..60,
        0u32..60,
        0u32..1000,
        any::<bool>(),
    )
        .prop_map(|(y, mo, d, h, mi, s, ms, with_ms)| {
            if with_ms {
                js(&format!(
                    "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z"
                ))
            } else {
                js(&format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"))
            }
        })
}

fn order() -> impl Strategy<Value = Vec<Index>> {
    proptest::collection::vec(any::<Index>(), 12)
}

fn option() -> impl Strategy<Value = String> {
    (
        maybe(text()),
        maybe(boolean()),
        maybe(boolean()),
        maybe(int()),
        maybe(iso()),
        order(),
    )
        .prop_map(|(id, checked, correct, submitted, at, ord)| {
            object(
                vec![
                    ("id", id),
                    ("checked", checked),
                    ("correct", correct),
                    ("submitted", submitted),
                    ("at", at),
                ],
                &ord,
            )
        })
}

fn question() -> impl Strategy<Value = String> {
    (
        maybe(text()),
        maybe(text()),
        maybe(boolean()),
        maybe(boolean()),
        maybe(boolean()),
        maybe(proptest::collection::vec(option(), 0..6).prop_map(|v| format!("[{}]", v.join(",")))),
        order(),
    )
        .prop_map(|(id, result, c, inc, sub, options, ord)| {
            object(
                vec![
                    ("id", id),
                    ("user_result", result),
                    ("user_correct", c),
                    ("user_incomplete", inc),
                    ("user_submitted", sub),
                    ("options", options),
                ],
                &ord,
            )
        })
}

fn counts() -> impl Strategy<Value = String> {
    (
        maybe(int()),
        maybe(int()),
        maybe(int()),
        maybe(boolean()),
        maybe(int()),
        maybe(int()),
        maybe(int()),
        order(),
    )
        .prop_map(|(a, b, c, d, e, f, g, ord)| {
            object(
                vec![
                    ("incomplete", a),
                    ("submitted", b),
                    ("incorrect", c),
                    ("all_correct", d),
                    ("correct", e),
                    ("total", f),
                    ("unanswered", g),
                ],
                &ord,
            )
        })
}

fn event() -> impl Strategy<Value = String> {
    let sequences = (
        maybe(text()),
        maybe(int()),
        maybe(counts()),
        maybe(
            proptest::collection::vec(question(), 0..7).prop_map(|v| format!("[{}]", v.join(","))),
        ),
        order(),
    )
        .prop_map(|(id, attempt, counts, questions, ord)| {
            object(
                vec![
                    ("id", id),
                    ("attempt", attempt),
                    ("counts", counts),
                    ("questions", questions),
                ],
                &ord,
            )
        });
    (
        text(),
        (maybe(epoch()), maybe(epoch()), maybe(iso())),
        (maybe(text()), maybe(text()), maybe(text())),
        maybe(prop_oneof![
            Just("\"true\"".to_owned()),
            Just("\"false\"".to_owned())
        ]),
        maybe(prop_oneof![
            Just("\"1.0\"".to_owned()),
            Just("\"3.5\"".to_owned())
        ]),
        maybe(sequences),
        order(),
    )
        .prop_map(
            |(keen_id, (ts, created, started), (base, user, name), cert, max, seq, ord)| {
                object(
                    vec![
                        ("keen_id", Some(keen_id)),
                        ("keen_timestamp", ts),
                        ("keen_created_at", created),
                        ("started_at", started),
                        ("base_exam_id", base),
                        ("user_exam_id", user),
                        ("exam_name", name),
                        ("certification", cert),
                        ("max_attempts", max),
                        ("sequences", seq),
                    ],
                    &ord,
                )
            },
        )
}

const REAL: &str = include_str!("../../../testdata/real-first-five.ndjson");

/// A JSON number as producers write them: small or beyond `u64`/`i64`, long, with fractions
/// and exponents beyond `f64`, signed zeros.
fn odd_number() -> impl Strategy<Value = String> {
    let exponent = proptest::option::of(("[eE]", "[+-]?", "[0-9]{1,5}"))
        .prop_map(|e| e.map_or(String::new(), |(e, sign, n)| format!("{e}{sign}{n}")));
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        any::<f64>()
            .prop_filter("finite", |v| v.is_finite())
            .prop_map(|v| format!("{v:e}")),
        Just("-0.0".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("-18446744073709551617".to_owned()),
        Just("1e400".to_owned()),
        (any::<bool>(), "[1-9][0-9]{18,120}").prop_map(|(neg, d)| if neg {
            format!("-{d}")
        } else {
            d
        }),
        (
            any::<bool>(),
            "0|[1-9][0-9]{0,40}",
            proptest::option::of("[0-9]{1,40}"),
            exponent,
        )
            .prop_map(|(neg, int, frac, exp)| {
                let sign = if neg { "-" } else { "" };
                let frac = frac.map_or(String::new(), |f| format!(".{f}"));
                format!("{sign}{int}{frac}{exp}")
            }),
    ]
}

/// A value of a field the schema does not know: odd numbers, strings with escapes and
/// unicode, literals, and arrays and objects of them, with whitespace between tokens.
fn junk() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        6 => odd_number(),
        1 => any::<String>().prop_map(|s| js(&s)),
        1 => Just(r#""\" \\ \/ \b\f\n\r\t \u00e9\ud83d\ude00 1e400 {""#.to_owned()),
        1 => prop_oneof![Just("true"), Just("false"), Just("null")].prop_map(str::to_owned),
    ];
    let ws = || prop_oneof![3 => Just(""), 1 => Just(" "), 1 => Just("\n\t ")];
    leaf.prop_recursive(4, 32, 5, move |inner| {
        prop_oneof![
            proptest::collection::vec((inner.clone(), ws()), 0..5).prop_map(|v| {
                let items: Vec<String> = v.into_iter().map(|(v, w)| format!("{w}{v}{w}")).collect();
                format!("[{}]", items.join(","))
            }),
            proptest::collection::vec((any::<String>(), inner, ws()), 0..5).prop_map(|m| {
                let members: Vec<String> = m
                    .into_iter()
                    .map(|(k, v, w)| format!("{w}{}{w}:{w}{v}", js(&k)))
                    .collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

/// A key that no object of the schema knows, as JSON (with escapes and unicode sometimes).
fn unknown_key() -> impl Strategy<Value = String> {
    prop_oneof![
        "x_[a-z0-9_]{0,8}".prop_map(|k| js(&k)),
        "[\\u{80}-\\u{10FFFF}]{1,4}".prop_map(|k| js(&k)),
        Just(r#""\u006Been_id_\u00e9""#.to_owned()),
        Just(r#""x\"\\\n""#.to_owned()),
    ]
}

/// `json` with a member `key: junk` put at the member positions chosen by `junk` (after an
/// object's `{` and after each `,` between its members, cycling through `junk`). Returns
/// the new text and how many members were put in.
fn inject(json: &str, junk: &[Option<(String, String)>]) -> (String, u64) {
    let b = json.as_bytes();
    let mut out = Vec::with_capacity(json.len() * 2);
    let mut stack = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    let (mut point, mut injected) = (0, 0);
    for (i, &c) in b.iter().enumerate() {
        out.push(c);
        if in_string {
            match c {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'{' | b'[' => stack.push(c),
            b'}' | b']' => {
                stack.pop();
            }
            _ => {}
        }
        if c == b'{' || (c == b',' && stack.last() == Some(&b'{')) {
            if let Some((key, value)) = &junk[point % junk.len()] {
                out.extend_from_slice(format!("{key}:{value}").as_bytes());
                if b.get(i + 1) != Some(&b'}') {
                    out.push(b',');
                }
                injected += 1;
            }
            point += 1;
        }
    }
    (String::from_utf8(out).unwrap(), injected)
}

/// Flattens `events` as they are and with unknown members injected everywhere: the injected
/// ones are accepted, with the same typed rows, the injected members counted as unknown,
/// `raw` byte for byte, and a second parse exactly for those simd-json refuses.
fn assert_injection_changes_nothing(events: &[String], junk: &[Option<(String, String)>]) {
    let (injected, added): (Vec<String>, Vec<u64>) = events.iter().map(|e| inject(e, junk)).unzip();
    let plain: Vec<Vec<u8>> = events.iter().map(|e| e.clone().into_bytes()).collect();
    let odd: Vec<Vec<u8>> = injected.iter().map(|e| e.clone().into_bytes()).collect();
    let base = flatten_balanced(&plain);
    let out = flatten_balanced(&odd);
    assert_eq!(
        out.stats.rejected,
        0,
        "{:?}",
        crate::common::column(out.batch(Table::Rejects), "error")
    );
    assert_eq!(base.stats.rejected, 0);
    for t in [Table::Assessments, Table::Questions, Table::Options] {
        assert_eq!(out.batch(t), base.batch(t), "table {t}");
    }
    assert_eq!(
        out.stats.unknown_fields,
        base.stats.unknown_fields + added.iter().sum::<u64>()
    );
    let raw = out.batch(Table::Raw);
    assert_eq!(
        crate::common::column(raw, "value"),
        injected
            .iter()
            .map(|e| crate::common::V::S(e.clone()))
            .collect::<Vec<_>>()
    );
    let refused = odd
        .iter()
        .filter(|e| simd_json::to_tape(&mut e.to_vec()).is_err())
        .count();
    assert_eq!(out.stats.reparsed, refused);
}

/// Pushes every payload and checks the balance invariant; returns the output.
fn flatten_balanced(payloads: &[Vec<u8>]) -> assessment_flatten::Flattened {
    let mut f = Flattener::new(FlattenConfig::default());
    for (i, p) in payloads.iter().enumerate() {
        f.push(&Message::new("t", 0, i as i64, p)).unwrap();
    }
    let out = f.flush().unwrap();
    let raw = out.batch(Table::Raw).num_rows();
    let a = out.batch(Table::Assessments).num_rows();
    let r = out.batch(Table::Rejects).num_rows();
    assert_eq!(raw, payloads.len());
    assert_eq!(raw, a + r, "raw = assessments + rejects");
    assert_eq!((out.stats.accepted, out.stats.rejected), (a, r));
    // Every offset is in exactly one of assessments / rejects.
    let mut seen: Vec<_> = crate::common::column(out.batch(Table::Assessments), "_offset");
    seen.extend(crate::common::column(out.batch(Table::Rejects), "_offset"));
    seen.sort_by_key(|v| match v {
        crate::common::V::I(i) => *i,
        _ => -1,
    });
    assert_eq!(
        seen,
        (0..payloads.len() as i64)
            .map(crate::common::V::I)
            .collect::<Vec<_>>()
    );
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn generated_events_land_in_the_right_columns(events in proptest::collection::vec(event(), 1..12)) {
        let payloads: Vec<Vec<u8>> = events.iter().map(|e| e.clone().into_bytes()).collect();
        let out = flatten_balanced(&payloads);
        prop_assert_eq!(out.stats.rejected, 0, "{:?}", out.batch(Table::Rejects));
        let parsed: Vec<_> = events
            .iter()
            .enumerate()
            .map(|(i, e)| (serde_json::from_str::<AssessmentEvent<'_>>(e).unwrap(), "t", 0, i as i64))
            .collect();
        let x = expected(&parsed);
        let n_q: usize = parsed.iter().map(|(e, ..)| e.sequences.as_ref().and_then(|s| s.questions.as_ref()).map_or(0, Vec::len)).sum();
        let n_o: usize = parsed.iter().flat_map(|(e, ..)| e.sequences.iter().flat_map(|s| s.questions.iter().flatten())).map(|q| q.options.as_ref().map_or(0, Vec::len)).sum();
        assert_table(out.batch(Table::Assessments), &x.assessments, events.len());
        assert_table(out.batch(Table::Questions), &x.questions, n_q);
        assert_table(out.batch(Table::Options), &x.options, n_o);
    }

    #[test]
    fn odd_unknown_fields_at_every_depth_change_no_typed_column(
        events in proptest::collection::vec(event(), 1..6),
        junk in proptest::collection::vec(proptest::option::weighted(0.6, (unknown_key(), junk())), 1..24),
    ) {
        assert_injection_changes_nothing(&events, &junk);
    }

    #[test]
    fn odd_unknown_fields_in_real_events_change_no_typed_column(
        junk in proptest::collection::vec(proptest::option::weighted(0.6, (unknown_key(), junk())), 1..40),
    ) {
        let events: Vec<String> = REAL.lines().map(str::to_owned).collect();
        assert_injection_changes_nothing(&events, &junk);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_balance(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..20)) {
        flatten_balanced(&payloads);
    }

    #[test]
    fn mutated_real_events_never_panic_and_balance(
        which in 0usize..5,
        edits in proptest::collection::vec((any::<Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut bytes = REAL.lines().nth(which).unwrap().as_bytes().to_vec();
        for (ix, b, op) in edits {
            if bytes.is_empty() { break; }
            let i = ix.index(bytes.len());
            match op {
                0 => bytes[i] = b,
                1 => { bytes.remove(i); }
                _ => bytes.insert(i, b),
            }
        }
        let out = flatten_balanced(&[bytes.clone(), REAL.lines().next().unwrap().as_bytes().to_vec()]);
        // The intact event after the mutated one always lands.
        prop_assert!(out.stats.accepted >= 1);
    }
}
