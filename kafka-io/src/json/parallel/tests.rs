use super::*;
use proptest::prelude::*;

/// One thread, the plain splitter: the reference.
fn sequential(input: &[u8], format: InputFormat) -> Result<Validated> {
    let mut el = JsonElements::new(input, format)
        .with_key_field(Some("k"))
        .with_index_recording();
    let mut invalid = 0;
    while let Some(e) = el.next_element()? {
        invalid += u64::from(e.invalid.is_some());
    }
    Ok(Validated {
        elements: el.elements_seen(),
        invalid,
        index: el.take_index(),
        segments: 1,
    })
}

fn parallel(input: &[u8], format: InputFormat, threads: usize) -> Result<Validated> {
    let options = ValidationOptions {
        key_field: Some("k".into()),
        threads,
        min_segment_bytes: 1,
        window: 7,
    };
    validate_bytes(input, format, &options)
}

fn same(input: &[u8], format: InputFormat, threads: usize) {
    let a = sequential(input, format);
    let b = parallel(input, format, threads);
    let show = String::from_utf8_lossy(input);
    match (a, b) {
        (Ok(a), Ok(b)) => {
            assert_eq!(
                (a.elements, a.invalid, &a.index),
                (b.elements, b.invalid, &b.index),
                "{threads} threads: {show}"
            );
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{threads}: {show}"),
        (a, b) => panic!("{threads} threads: {show}\nsequential {a:?}\nparallel {b:?}"),
    }
}

#[test]
fn segments_of_valid_inputs_chain_up() {
    let events: Vec<String> = (0..50)
        .map(|i| format!(r#"{{"k":"u{i}","a":[{{"x":{i}}},{{"y":"}},{{"}},{{}}],"s":"z"}}"#))
        .collect();
    let ndjson = events.join("\n") + "\n";
    let array = format!("[{}]", events.join(","));
    let pretty = format!("[\n  {}\n]\n", events.join(" ,\n  "));
    for threads in [2, 3, 8] {
        same(ndjson.as_bytes(), InputFormat::Ndjson, threads);
        same(array.as_bytes(), InputFormat::JsonArray, threads);
        same(pretty.as_bytes(), InputFormat::JsonArray, threads);
    }
    // Nested `},{` (not inside strings): the probe tells them from top-level ones.
    let events: Vec<String> = (0..50)
        .map(|i| format!(r#"{{"k":"u{i}","a":[{{"x":{i}}},{{"y":[{{}},{{}}]}}],"s":"z"}}"#))
        .collect();
    let ndjson = events.join("\n") + "\n";
    let array = format!("[{}]", events.join(","));
    let pretty = format!("[\n  {}\n]\n", events.join(" ,\n  "));
    for threads in [2, 3, 8] {
        for (input, format) in [
            (&ndjson, InputFormat::Ndjson),
            (&array, InputFormat::JsonArray),
            (&pretty, InputFormat::JsonArray),
        ] {
            same(input.as_bytes(), format, threads);
            let v = parallel(input.as_bytes(), format, threads).unwrap();
            assert_eq!(v.elements, 50);
            assert!(
                v.segments > 1,
                "{threads} threads used one segment: {input}"
            );
        }
    }
}

#[test]
fn invalid_elements_are_counted_and_the_first_structural_error_is_placed() {
    let mut lines: Vec<String> = (0..40).map(|i| format!(r#"{{"k":"{i}"}}"#)).collect();
    lines[13] = r#"{"k":tru}"#.into();
    lines[31] = r#"{"k":"x""#.into();
    let ndjson = lines.join("\n");
    for threads in [2, 4] {
        same(ndjson.as_bytes(), InputFormat::Ndjson, threads);
        let v = parallel(ndjson.as_bytes(), InputFormat::Ndjson, threads).unwrap();
        assert_eq!((v.elements, v.invalid), (40, 2));
    }
    // In an array, element #31 (unterminated string: its `}` is inside it) breaks the
    // structure: an error late in the file, on line 32.
    let array = format!("[\n{}\n]", lines.join(",\n"));
    for threads in [2, 4] {
        same(array.as_bytes(), InputFormat::JsonArray, threads);
        match parallel(array.as_bytes(), InputFormat::JsonArray, threads) {
            Err(Error::Structure {
                element: 31, line, ..
            }) => assert!(line >= 32, "{line}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_wrong_guess_inside_a_string_is_undone() {
    // The second half is one long string full of `},{`: every guessed start is inside it.
    let trap = r#"x},{\"k\":\"y\"},{"#.repeat(200);
    let input = format!(r#"[{{"k":"a"}},{{"k":"b","t":"{trap}"}},{{"k":"c"}}]"#);
    for threads in [2, 3, 16] {
        same(input.as_bytes(), InputFormat::JsonArray, threads);
        let v = parallel(input.as_bytes(), InputFormat::JsonArray, threads).unwrap();
        assert_eq!(v.elements, 3);
    }
}

#[test]
fn files_are_cut_like_bytes() {
    let lines: Vec<String> = (0..300)
        .map(|i| format!(r#"{{"k":"u{i}","q":[{{"o":[{{"x":1}},{{"y":2}}]}},{{}}],"n":{i}}}"#))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let options = ValidationOptions {
        key_field: Some("k".into()),
        threads: 3,
        min_segment_bytes: 1,
        window: 64,
    };
    for (name, text, format) in [
        ("e.ndjson", lines.join("\n"), InputFormat::Ndjson),
        (
            "e.json",
            format!("\u{feff}[\n{}\n]", lines.join(",\n")),
            InputFormat::JsonArray,
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &text).unwrap();
        let input = InputFile::open(&path).unwrap();
        assert_eq!(input.format(), format);
        let mut calls = 0;
        let mut last = (0, 0);
        let v = validate_file(&input, &options, |e, b| {
            calls += 1;
            last = (e, b);
        })
        .unwrap();
        let reference = sequential(text.as_bytes(), format).unwrap();
        assert_eq!((v.elements, &v.index), (300, &reference.index), "{name}");
        assert_eq!(v.segments, 3, "{name}");
        assert!(calls >= 1);
        assert_eq!(last, (300, text.len() as u64), "{name}: final progress");
        // A broken element in the last third: found with its index and position.
        let bad = text.replacen(r#""n":250}"#, r#""n":250]"#, 1);
        std::fs::write(&path, &bad).unwrap();
        let input = InputFile::open(&path).unwrap();
        let r = validate_file(&input, &options, |_, _| {});
        if format == InputFormat::Ndjson {
            assert_eq!(r.unwrap().invalid, 1, "{name}");
            continue;
        }
        let e = r.unwrap_err();
        let reference = sequential(bad.as_bytes(), format).unwrap_err();
        let byte = bad.find(r#""n":250]"#).unwrap() as u64 + 7;
        assert!(
            matches!(
                e,
                Error::Structure { element: 250, line: 252, byte: b, .. } if b == byte
            ),
            "{name}: {e}"
        );
        assert_eq!(
            e.to_string(),
            format!("{}: {reference}", path.display()),
            "{name}"
        );
    }
}

proptest! {
    #[test]
    fn parallel_equals_sequential(
        parts in proptest::collection::vec(
            prop_oneof![
                Just(r#"{"k":"a","v":[1,2]}"#.to_owned()),
                Just(r#"{ "v" : {"k":"}, {"}, "k" : "b" }"#.to_owned()),
                Just(r#"{"k":"c\"},{"}"#.to_owned()),
                Just("{\"k\":1.5e3}".to_owned()),
                Just("[1,{\"a\":{}}]".to_owned()),
                Just("\"s\"".to_owned()),
                Just("{\"k\":tru}".to_owned()),
                Just("{\"k\":\"\u{1}\"}".to_owned()),
                Just("{\"k\":\"x\"".to_owned()),
                Just("}".to_owned()),
                Just("".to_owned()),
                "[ -~]{0,12}",
            ],
            0..30,
        ),
        seps in proptest::collection::vec(
            prop_oneof![Just(","), Just(" , "), Just(",\n"), Just("\n"), Just("\n\n ")],
            30,
        ),
        threads in 2usize..6,
    ) {
        let mut nd = String::new();
        let mut arr = String::from("[");
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                arr.push_str(seps[i]);
            }
            arr.push_str(p);
            nd.push_str(p);
            nd.push_str(if seps[i].ends_with(' ') { "\n\n " } else { "\n" });
        }
        arr.push(']');
        same(nd.as_bytes(), InputFormat::Ndjson, threads);
        same(arr.as_bytes(), InputFormat::JsonArray, threads);
    }

    /// Any bytes (JSON-ish alphabet, so that cuts are found): no panic, one-pass result.
    #[test]
    fn parallel_equals_sequential_on_any_bytes(
        bytes in proptest::collection::vec(
            prop_oneof![
                Just(b'{'), Just(b'}'), Just(b'['), Just(b']'), Just(b','), Just(b':'),
                Just(b'"'), Just(b'\\'), Just(b'\n'), Just(b' '), Just(b'1'), Just(b'k'),
                any::<u8>(),
            ],
            0..300,
        ),
        threads in 2usize..5,
    ) {
        same(&bytes, InputFormat::Ndjson, threads);
        let mut arr = b"[".to_vec();
        arr.extend_from_slice(&bytes);
        same(&arr, InputFormat::JsonArray, threads);
    }
}
