#![allow(clippy::unwrap_used)]

use super::*;

/// Every element (index, byte offset, bytes, `!` if invalid) or error (element@byte L:C).
fn split(
    input: &[u8],
    format: InputFormat,
) -> Vec<std::result::Result<(u64, u64, String), String>> {
    let mut r = JsonElements::new(input, format);
    let mut out = Vec::new();
    for _ in 0..100 {
        match r.next_element() {
            Ok(Some(e)) => out.push(Ok((
                e.index,
                e.byte_offset,
                format!(
                    "{}{}",
                    String::from_utf8_lossy(e.bytes),
                    if e.invalid.is_some() { " !" } else { "" }
                ),
            ))),
            Ok(None) => break,
            Err(Error::Structure {
                element,
                line,
                column,
                byte,
                ..
            }) => out.push(Err(format!("{element}@{byte} {line}:{column}"))),
            Err(e) => panic!("{e}"),
        }
        if !r.can_continue() {
            break;
        }
    }
    out
}

#[test]
fn array_elements_are_compacted() {
    let input =
        b" [\n {\"a\" : \"x , ] \\\" y\", \"b\": [ 1 , {} ]},\n\"s\" ,\ttrue, -1.50e+3 ,null ]\n ";
    let got = split(input, InputFormat::JsonArray);
    let v: Vec<_> = got.into_iter().map(|r| r.unwrap().2).collect();
    assert_eq!(
        v,
        vec![
            r#"{"a":"x , ] \" y","b":[1,{}]}"#,
            r#""s""#,
            "true",
            "-1.50e+3",
            "null"
        ]
    );
}

#[test]
fn empty_array_and_empty_ndjson() {
    assert!(split(b" [ ] ", InputFormat::JsonArray).is_empty());
    assert!(split(b"\n\n  \n", InputFormat::Ndjson).is_empty());
    assert_eq!(
        split(b"", InputFormat::JsonArray),
        vec![Err("0@0 1:1".into())]
    );
}

#[test]
fn array_structural_errors_name_element_and_position() {
    // element #1 has an unbalanced bracket
    let got = split(br#"[{"a":1}, {"b":]}]"#, InputFormat::JsonArray);
    assert_eq!(got[0].as_ref().unwrap().2, r#"{"a":1}"#);
    assert_eq!(got[1], Err("1@15 1:16".into()));
    // missing comma
    let got = split(br#"[{"a":1} {"b":2}]"#, InputFormat::JsonArray);
    assert_eq!(got[1], Err("1@9 1:10".into()));
    // truncated file
    let got = split(b"[{\"a\":1},\n {\"b\":", InputFormat::JsonArray);
    assert_eq!(got[1], Err("1@16 2:7".into()));
    // trailing comma
    let got = split(br#"[1,]"#, InputFormat::JsonArray);
    assert_eq!(got[1], Err("1@3 1:4".into()));
    // a raw newline inside a string: the string's end is not known
    let got = split(b"[\"a\",\n \"b\n\"]", InputFormat::JsonArray);
    assert_eq!(got[1], Err("1@9 2:4".into()));
    let mut r = JsonElements::new(&br#"[{"a":1}, {"b":]}]"#[..], InputFormat::JsonArray);
    assert!(r.next_element().is_ok());
    let e = r.next_element().unwrap_err();
    assert!(!r.can_continue());
    assert_eq!(
        e.to_string(),
        "line 1, column 16 (byte 15): unbalanced closing bracket (element #1); the JSON \
         array's structure is broken here, so no element after it can be delimited: repair \
         the file at this position"
    );
    let mut r = JsonElements::new(&b"[1 2]"[..], InputFormat::JsonArray).with_path("e.json");
    assert!(r.next_element().is_ok());
    let e = r.next_element().unwrap_err();
    assert!(
        e.to_string().starts_with(
            "e.json: line 1, column 4 (byte 3): expected `,` or `]` after an element, found `2`"
        ),
        "{e}"
    );
}

#[test]
fn ndjson_lines_are_elements_as_they_are() {
    let input = b"{\"a\":1}\n{\"b\":[}\n\n{\"c\":\"x\ny\"}\n  {\"d\" : 4 }\r\n5\n{\"e\":1} x\n\xEF\xBB\xBF1";
    let got = split(input, InputFormat::Ndjson);
    let ok = |i, at, s: &str| Ok((i, at, s.to_owned()));
    assert_eq!(
        got,
        vec![
            ok(0, 0, r#"{"a":1}"#),
            ok(1, 8, r#"{"b":[} !"#),
            ok(2, 17, r#"{"c":"x !"#),
            ok(3, 25, r#"y"} !"#),
            ok(4, 31, r#"{"d" : 4 }"#),
            ok(5, 43, "5"),
            ok(6, 45, r#"{"e":1} x !"#),
            ok(7, 55, "\u{feff}1 !"),
        ]
    );
    // Diagnoses say where, in the file.
    let mut r = JsonElements::new(&input[..], InputFormat::Ndjson).with_key_field(Some("d"));
    let mut diagnoses = Vec::new();
    let mut keys = Vec::new();
    while let Some(e) = r.next_element().unwrap() {
        diagnoses.extend(e.diagnosis());
        keys.extend(e.key().map(|k| k.into_owned()));
    }
    assert_eq!(
        diagnoses[0],
        "not valid JSON at line 2, column 7 (byte 14): unbalanced closing bracket"
    );
    assert_eq!(
        diagnoses[1],
        "not valid JSON at line 4, column 8 (byte 24): the line ends inside a string"
    );
    assert_eq!(
        diagnoses[3],
        "not valid JSON at line 8, column 9 (byte 53): unexpected characters after the value"
    );
    assert_eq!(diagnoses.len(), 5);
    // The key of a line with whitespace comes from its compact form.
    assert_eq!(keys, vec![b"4".to_vec()]);
}

#[test]
fn a_bom_is_skipped_and_positions_count_it() {
    let input = b"\xEF\xBB\xBF[\r\n  {\"a\": 1},\r\n  2\r\n]";
    let mut r = JsonElements::new(&input[..], InputFormat::JsonArray);
    let e = r.next_element().unwrap().unwrap();
    assert_eq!(
        (e.bytes, e.line, e.column, e.byte_offset),
        (&b"{\"a\":1}"[..], 2, 3, 8)
    );
    let e = r.next_element().unwrap().unwrap();
    assert_eq!((e.line, e.column, e.byte_offset), (3, 3, 21));
    assert!(r.next_element().unwrap().is_none());
}

#[test]
fn positions_inside_compacted_elements_count_the_whitespace_back() {
    let input = b"[\n  {\n    \"a\": \"x y\",\n    \"b\": tru\n  }\n]";
    let mut r = JsonElements::new(&input[..], InputFormat::JsonArray);
    let e = r.next_element().unwrap().unwrap();
    assert_eq!(e.bytes, &input[4..38]);
    let invalid = e.invalid.unwrap();
    assert_eq!(
        e.position_at(invalid.at).to_string(),
        "line 4, column 10 (byte 31)"
    );
    // A valid element: compacted, positions still exact.
    let input = b"[ {\n \"a\" : \"x y\" ,\n \"b\" : 1 } ]";
    let mut r = JsonElements::new(&input[..], InputFormat::JsonArray);
    let e = r.next_element().unwrap().unwrap();
    assert_eq!(e.bytes, br#"{"a":"x y","b":1}"#);
    let one = e.bytes.iter().position(|b| *b == b'1').unwrap();
    assert_eq!(e.position_at(one).to_string(), "line 3, column 8 (byte 26)");
    let space = e.bytes.iter().position(|b| *b == b' ').unwrap();
    assert_eq!(e.position_at(space).byte, 13);
    assert_eq!(e.position_at(100).byte, 29);
    assert_eq!(e.raw(), &input[2..29]);
}

#[test]
fn key_field_is_located_while_scanning() {
    let input = br#"[{"x":{"user_exam_id":"inner"},"user_exam_id" : "u\"1","n":2}, {"user_exam_id":12.5}, {"user_exam_id":null}, {"a":1}, 7, {"user_exam_id":"bad",}]"#;
    let mut r =
        JsonElements::new(&input[..], InputFormat::JsonArray).with_key_field(Some("user_exam_id"));
    let mut keys = Vec::new();
    while let Some(e) = r.next_element().unwrap() {
        keys.push(e.key().map(|k| String::from_utf8(k.into_owned()).unwrap()));
    }
    assert_eq!(
        keys,
        vec![
            Some("u\"1".to_owned()),
            Some("12.5".to_owned()),
            None,
            None,
            None,
            // an invalid element has no key
            None
        ]
    );
}

#[test]
fn grammar_errors_keep_the_element_as_it_is() {
    for (bad, at) in [
        (&br#"{"a":tru}"#[..], 5),
        (br#"{"a" 1}"#, 5),
        (br#"{"a":01}"#, 5),
        (br#"{"a":"\x"}"#, 7),
        (br#"{"a":1,}"#, 7),
        (br#"{"a":[1 2]}"#, 8),
        (br#"{"a":"\u12g4"}"#, 10),
        (br#"{,}"#, 1),
        (b"{\"a\":\"\xff\"}", 6),
        (b"{\"a\":\"\t\"}", 6),
    ] {
        let mut input = b"[1,".to_vec();
        input.extend_from_slice(bad);
        input.extend_from_slice(b",2]");
        let show = String::from_utf8_lossy(bad);
        let mut r = JsonElements::new(&input[..], InputFormat::JsonArray);
        assert_eq!(r.next_element().unwrap().unwrap().bytes, b"1");
        let e = r.next_element().unwrap().unwrap();
        assert_eq!((e.index, e.byte_offset, e.bytes), (1, 3, bad), "{show}");
        assert_eq!(e.invalid.map(|i| i.at), Some(at), "{show}");
        assert_eq!(e.key_value, None);
        assert_eq!(r.next_element().unwrap().unwrap().bytes, b"2");
        assert!(r.next_element().unwrap().is_none());

        // The earlier interface: an error, then the element compacted.
        let mut r = JsonElements::new(&input[..], InputFormat::JsonArray);
        assert!(r.advance().unwrap());
        match r.advance() {
            Err(crate::Error::Malformed {
                element_index: 1,
                byte_offset,
                ..
            }) => assert_eq!(byte_offset, 3 + at as u64, "{show}"),
            other => panic!("{show}: {other:?}"),
        }
        assert!(r.current().is_none());
        let kept = r.malformed_element().expect("kept for a reject");
        let compact: Vec<u8> = bad.iter().copied().filter(|b| *b != b' ').collect();
        assert_eq!(
            (kept.index, kept.byte_offset, kept.bytes),
            (1, 3, &compact[..])
        );
        assert!(r.advance().unwrap());
        assert_eq!(r.current().unwrap().bytes, b"2");
        assert_eq!(r.malformed_element(), None);
        assert!(!r.advance().unwrap());
    }
}

#[test]
fn validation_agrees_with_serde_json() {
    let cases: &[&str] = &[
        r#"{"a":[1,2.5,-0.1e-3,true,false,null,"x\u00e9\n"],"b":{}}"#,
        r#"{"a":1}"#,
        r#"[]"#,
        r#"[[],{}]"#,
        r#""s""#,
        "0",
        "-0",
        "1E+2",
        "12",
        r#"{"a":-}"#,
        r#"{"a":1.}"#,
        r#"{"a":.5}"#,
        r#"{"a":1e}"#,
        r#"{"a":00}"#,
        r#"{"a":+1}"#,
        r#"{"a":nul}"#,
        r#"{"a":True}"#,
        r#"{"a":"\q"}"#,
        r#"{"a":"\u00zz"}"#,
        r#"{"a":1,,"b":2}"#,
        r#"{"a"}"#,
        r#"{"a":1 "b":2}"#,
        r#"{1:2}"#,
        r#"[1,]"#,
        r#"[,1]"#,
        r#"{"a":[}]}"#,
        r#"{"a":{"b":1}}}"#,
        r#""\u00e9""#,
        "tru",
        "1 2",
        "\"a\u{1}b\"",
    ];
    for c in cases {
        let serde_ok = serde_json::from_str::<serde::de::IgnoredAny>(c).is_ok();
        for format in [InputFormat::JsonArray, InputFormat::Ndjson] {
            let input = match format {
                InputFormat::JsonArray => format!("[{c}]"),
                _ => format!("{c}\n"),
            };
            let mut r = JsonElements::new(input.as_bytes(), format);
            let ours_ok = matches!(r.next_element(), Ok(Some(e)) if e.invalid.is_none())
                && matches!(r.next_element(), Ok(None));
            assert_eq!(ours_ok, serde_ok, "{c} in {format:?}");
        }
    }
    let mut r = JsonElements::new(&b"[\"\xff\"]"[..], InputFormat::JsonArray);
    assert!(r.next_element().unwrap().unwrap().invalid.is_some());
}

/// Every element or error (index, position, bytes, key, diagnosis; or the error).
fn outcomes(input: &[u8], format: InputFormat, window: usize, fast: bool) -> Vec<String> {
    let mut r = JsonElements::new(input, format)
        .with_window(window)
        .with_key_field(Some("k"));
    r.fast = fast;
    let mut out = Vec::new();
    for _ in 0..200 {
        match r.next_element() {
            Ok(Some(e)) => out.push(format!(
                "{}@{} {} key={:?} {:?}",
                e.index,
                e.start(),
                String::from_utf8_lossy(e.bytes),
                e.key().map(|k| k.into_owned()),
                e.diagnosis()
            )),
            Ok(None) => break,
            Err(e) => {
                out.push(format!("err {e}"));
                break;
            }
        }
    }
    out.push(format!("pos {}", r.position()));
    out
}

/// Small deterministic PRNG for the differential test.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[test]
fn fast_path_agrees_with_byte_by_byte_scan_at_any_window() {
    let base: &[&[u8]] = &[
        br#"[{"k":"a\"b","x":[1,-2.5e+3,{"k":0}],"t":true,"f":false,"n":null}, {"k" : 7 } ,"s",[ ],{},-0,"caf\u00e9",{"y":{"k":1},"k":[1,{"z":"]"}]}]"#,
        b"{\"k\":\"a\"}\n  {\"k\" : 1}\r\n\n[1,2]\n3\n\"x\\ty\"\n{\"k\":{\"a\":[]}}",
        b"[\"caf\xc3\xa9\",{\"k\":\"\xc3\xa9\"}]",
        b"[\n  {\n    \"k\": \"u-1\",\n    \"v\": [\n      1,\n      2\n    ]\n  },\n  {\"k\":null}\n]\n",
    ];
    let mut rng = Lcg(7);
    let junk: &[u8] = b" \n\t,:{}[]\"\\0123456789-+.eEtrufalsn\x01\xc3\xa9\xff";
    for (bi, b) in base.iter().enumerate() {
        let format = InputFormat::detect(b).unwrap();
        let mut inputs = vec![b.to_vec()];
        for _ in 0..150 {
            let mut m = b.to_vec();
            for _ in 0..1 + rng.next() % 3 {
                let at = (rng.next() as usize) % m.len();
                match rng.next() % 3 {
                    0 => {
                        m.remove(at);
                    }
                    1 => m.insert(at, junk[(rng.next() as usize) % junk.len()]),
                    _ => m[at] = junk[(rng.next() as usize) % junk.len()],
                }
            }
            inputs.push(m);
        }
        for input in &inputs {
            let expected = outcomes(input, format, 1 << 20, false);
            // An index recorded by a first pass replays to the same elements.
            let mut first = JsonElements::new(&input[..], format)
                .with_key_field(Some("k"))
                .with_index_recording();
            while matches!(first.next_element(), Ok(Some(_))) {}
            let index = first.take_index().unwrap();
            let mut again = JsonElements::new(&input[..], format)
                .with_key_field(Some("k"))
                .with_index(index.clone())
                .with_window(5);
            let mut plain = JsonElements::new(&input[..], format)
                .with_key_field(Some("k"))
                .with_window(5);
            loop {
                let (a, b) = (again.next_element(), plain.next_element());
                let show = |r: Result<Option<Element<'_>>>| match r {
                    Ok(Some(e)) => format!("{:?} {:?}", e, e.key()),
                    other => format!("{other:?}"),
                };
                let (a, b) = (show(a), show(b));
                assert_eq!(a, b, "replay of {}", String::from_utf8_lossy(input));
                if b.starts_with("Ok(None)") || !plain.can_continue() {
                    break;
                }
            }
            for (window, fast) in [
                (1 << 20, true),
                (1, true),
                (7, true),
                (7, false),
                (64, true),
            ] {
                assert_eq!(
                    outcomes(input, format, window, fast),
                    expected,
                    "base {bi}, window {window}, fast {fast}: {}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }
}

#[test]
fn compact_elements_are_borrowed_and_others_compacted() {
    let input = b"[{\"a\":1},{ \"a\":2}]";
    let mut r = JsonElements::new(&input[..], InputFormat::JsonArray);
    let e = r.next_element().unwrap().unwrap();
    assert_eq!(e.bytes, b"{\"a\":1}");
    assert!(std::ptr::eq(e.bytes, e.raw()));
    assert_eq!(r.position(), 8);
    let e = r.next_element().unwrap().unwrap();
    assert_eq!(e.bytes, b"{\"a\":2}");
    assert!(!std::ptr::eq(e.bytes, e.raw()));
    assert!(r.next_element().unwrap().is_none());
    assert_eq!(r.position(), input.len() as u64);
}
