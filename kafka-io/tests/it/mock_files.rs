//! Event files as users have them, published to the in-process mock cluster: every
//! non-blank NDJSON line and every delimitable array element arrives as one message, byte
//! for byte, whatever it holds; compressed files publish the same messages; only a JSON
//! array whose structure is broken stops, before anything is sent.

use std::io::Write;

use kafka_io::json::{self, InputCompression};
use kafka_io::{Error, MockCluster, PublishOptions, Publisher};

use crate::common::{adversarial_ndjson, events, key_of, multiset, read_values};

fn publish(
    mock: &MockCluster,
    topic: &str,
    path: &std::path::Path,
    options: PublishOptions,
) -> kafka_io::Result<kafka_io::PublishReport> {
    mock.create_topic(topic, 3).unwrap();
    Publisher::new(&mock.config(), topic, options)
        .unwrap()
        .publish_file(path)
}

#[test]
fn every_ndjson_line_arrives_as_it_is() {
    let mock = MockCluster::start(1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quirks.ndjson");
    let (file, expected) = adversarial_ndjson();
    std::fs::write(&path, &file).unwrap();
    for (topic, validate_first) in [("nd-two-pass", true), ("nd-one-pass", false)] {
        let options = PublishOptions {
            validate_first,
            ..PublishOptions::default()
        };
        let report = publish(&mock, topic, &path, options).unwrap();
        assert_eq!(report.elements, expected.len() as u64, "{topic}");
        assert_eq!(report.delivered, expected.len() as u64, "{topic}");
        let invalid: Vec<u64> = report
            .invalid_elements
            .iter()
            .map(|i| i.element_index)
            .collect();
        assert_eq!(
            invalid,
            [2, 3, 9, 12],
            "{topic}: {:?}",
            report.invalid_elements
        );
        assert_eq!(report.invalid, 4);
        // Line 4 holds the invalid UTF-8, at the byte the report names.
        let utf8 = &report.invalid_elements[0];
        assert_eq!((utf8.line, utf8.reason.as_str()), (4, "invalid UTF-8"));
        assert_eq!(file[utf8.byte as usize], 0xff);
        let got = read_values(&mock.config(), topic);
        assert_eq!(
            multiset(got.iter().map(|(_, v)| v.as_slice())),
            multiset(expected.iter().map(Vec::as_slice)),
            "{topic}"
        );
        // Valid objects are keyed by their user_exam_id; everything else has no key.
        for (key, value) in &got {
            let want = std::str::from_utf8(value)
                .ok()
                .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
                .and_then(|v| v.get("user_exam_id")?.as_str().map(str::to_owned));
            assert_eq!(
                key.as_deref(),
                want.as_deref().map(str::as_bytes),
                "{topic}"
            );
        }
    }
}

#[test]
fn gzip_and_zstd_files_publish_the_same_messages() {
    let mock = MockCluster::start(1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (file, expected) = adversarial_ndjson();
    let evs = events(200, 2);
    let array = format!("[\n{}\n]\n", evs.join(",\n"));
    let gzip = |bytes: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    };
    // Two gzip members, as `cat a.gz b.gz` makes.
    let half = file.len() / 2;
    let mut two_members = gzip(&file[..half]);
    two_members.extend(gzip(&file[half..]));
    // (name, file bytes, compression seen, messages expected; empty: the array's events)
    type Case<'a> = (&'a str, Vec<u8>, InputCompression, &'a [Vec<u8>]);
    let cases: [Case<'_>; 4] = [
        ("gz", gzip(&file), InputCompression::Gzip, &expected),
        ("gz2", two_members, InputCompression::Gzip, &expected),
        (
            "zst",
            zstd::encode_all(&file[..], 3).unwrap(),
            InputCompression::Zstd,
            &expected,
        ),
        (
            "array-zst",
            zstd::encode_all(array.as_bytes(), 3).unwrap(),
            InputCompression::Zstd,
            &[],
        ),
    ];
    for (name, bytes, compression, expected) in cases {
        // The name says nothing: the first bytes decide.
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(json::open_input(&path).unwrap().compression(), compression);
        let report = publish(&mock, name, &path, PublishOptions::default()).unwrap();
        let got = read_values(&mock.config(), name);
        let values = multiset(got.iter().map(|(_, v)| v.as_slice()));
        if expected.is_empty() {
            assert_eq!(values, multiset(evs.iter().map(String::as_bytes)), "{name}");
            assert!(
                got.iter().all(|(k, v)| k.as_deref()
                    == Some(key_of(std::str::from_utf8(v).unwrap()).as_bytes()))
            );
        } else {
            assert_eq!(
                values,
                multiset(expected.iter().map(Vec::as_slice)),
                "{name}"
            );
        }
        assert_eq!(report.delivered, got.len() as u64, "{name}");
    }
}

#[test]
fn a_bom_before_an_array_is_skipped() {
    let mock = MockCluster::start(1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let evs = events(20, 1);
    let path = dir.path().join("bom.json");
    std::fs::write(&path, format!("\u{feff}[{}]", evs.join(","))).unwrap();
    let report = publish(&mock, "bom", &path, PublishOptions::default()).unwrap();
    assert_eq!((report.delivered, report.invalid), (20, 0));
    let got = read_values(&mock.config(), "bom");
    assert_eq!(
        multiset(got.iter().map(|(_, v)| v.as_slice())),
        multiset(evs.iter().map(String::as_bytes))
    );
}

#[test]
fn array_elements_that_are_not_json_are_sent_as_they_are() {
    let mock = MockCluster::start(1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let evs = events(3, 1);
    // A bad escape, a missing comma whose compacted form (`[12]`) would parse, invalid
    // UTF-8: each has a known end.
    let bad: [&[u8]; 3] = [
        br#"{"user_exam_id": "a\x"}"#,
        br#"{"user_exam_id": "b", "n": [1 2]}"#,
        b"{\"user_exam_id\": \"\xff\"}",
    ];
    let mut body = b"[\n".to_vec();
    for (e, b) in evs.iter().zip(bad) {
        body.extend_from_slice(format!("  {},\n  ", e.replace(",", ", ")).as_bytes());
        body.extend_from_slice(b);
        body.extend_from_slice(b",\n");
    }
    body.extend_from_slice(b"  1\n]\n");
    let path = dir.path().join("some-bad.json");
    std::fs::write(&path, &body).unwrap();
    let report = publish(&mock, "some-bad", &path, PublishOptions::default()).unwrap();
    assert_eq!((report.delivered, report.invalid), (7, 3));
    let at: Vec<(u64, u64)> = report
        .invalid_elements
        .iter()
        .map(|i| (i.element_index, i.line))
        .collect();
    assert_eq!(at, [(1, 3), (3, 5), (5, 7)]);
    let first = &report.invalid_elements[0];
    assert_eq!(&body[first.byte as usize..][..1], b"x");
    assert_eq!(first.column, 23);
    let mut want: Vec<&[u8]> = evs.iter().map(String::as_bytes).collect();
    want.extend(bad);
    want.push(b"1");
    let got = read_values(&mock.config(), "some-bad");
    assert_eq!(
        multiset(got.iter().map(|(_, v)| v.as_slice())),
        multiset(want)
    );
}

#[test]
fn a_broken_array_publishes_nothing_and_names_its_position() {
    let mock = MockCluster::start(1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let evs = events(4, 1);
    let path = dir.path().join("broken.json");
    // Element #2 closes its object with `]`: where it ends is not known.
    let broken = evs[2].replacen('}', "]", 1);
    let text = format!("[\n{},\n{},\n{},\n{}\n]", evs[0], evs[1], broken, evs[3]);
    std::fs::write(&path, &text).unwrap();
    let byte = (text.find(&broken).unwrap() + broken.find(']').unwrap()) as u64;
    for validate_first in [true, false] {
        let topic = format!("broken-{validate_first}");
        let options = PublishOptions {
            validate_first,
            ..PublishOptions::default()
        };
        let err = publish(&mock, &topic, &path, options).unwrap_err();
        let Error::Input(json::Error::Structure {
            element,
            line,
            column,
            byte: at,
            ..
        }) = &err
        else {
            panic!("{err}");
        };
        assert_eq!((*element, *line, *at), (2, 4, byte), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("line 4, column {column} (byte {byte})")),
            "{msg}"
        );
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        // Read first: nothing sent. In one pass: what came before.
        let sent = read_values(&mock.config(), &topic).len();
        assert_eq!(sent, if validate_first { 0 } else { 2 }, "{topic}");
    }
}

/// Big enough (> 2 × 4 MiB) for the validation pass to run on several threads.
#[test]
fn a_late_problem_in_a_large_file_is_found_on_several_threads() {
    let mock = MockCluster::start(1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let evs = events(4000, 1);
    let bad_at = 3500;
    let mut lines = evs.clone();
    lines[bad_at] = lines[bad_at].replacen("\"user_exam_id\"", "\"user_exam_id\" x", 1);
    let offset: usize = lines[..bad_at].iter().map(|l| l.len() + 1).sum();
    // NDJSON: the bad line is one more message. Array: a stray token is a grammar error
    // inside balanced brackets, so the element is sent as it is too.
    for (name, text, at) in [
        ("big-nd", lines.join("\n"), offset),
        ("big-array", format!("[{}]", lines.join(",")), offset + 1),
    ] {
        assert!(text.len() > 8 << 20, "{}", text.len());
        let path = dir.path().join(name);
        std::fs::write(&path, &text).unwrap();
        let report = publish(&mock, name, &path, PublishOptions::default()).unwrap();
        assert_eq!((report.delivered, report.invalid), (4000, 1), "{name}");
        let x = at + lines[bad_at].find(" x").unwrap() + 1;
        assert_eq!(
            (
                report.invalid_elements[0].element_index,
                report.invalid_elements[0].byte
            ),
            (bad_at as u64, x as u64),
            "{name}"
        );
    }
    // A structural break late in the array: nothing is sent, the position is exact.
    let broken =
        format!("[{}]", lines.join(",")).replacen("\"user_exam_id\" x", "\"user_exam_id\"]", 1);
    let path = dir.path().join("big-broken.json");
    std::fs::write(&path, &broken).unwrap();
    let err = publish(&mock, "big-broken", &path, PublishOptions::default()).unwrap_err();
    let pos = err_position(&err);
    assert_eq!(
        pos.byte as usize,
        broken.find("\"user_exam_id\"]").unwrap() + 14,
        "{err}"
    );
    assert_eq!(pos.line, 1);
    assert_eq!(pos.column, pos.byte + 1);
    assert!(read_values(&mock.config(), "big-broken").is_empty());
}

fn err_position(err: &Error) -> json::Position {
    match err {
        Error::Input(e) => e.position().unwrap_or_else(|| panic!("{e}")),
        e => panic!("{e}"),
    }
}

#[test]
fn files_in_other_forms_are_refused_by_name() {
    let mock = MockCluster::start(1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, what) in [
        ("e.json.bz2", &b"BZh91AY&SY"[..], "bzip2"),
        ("e.json", b"\xFD7zXZ\x00\x00", "xz"),
        ("e.ndjson", b"\xFF\xFE{\x00", "UTF-16"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = publish(
            &mock,
            &format!("refused-{what}"),
            &path,
            PublishOptions::default(),
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::Input(json::Error::Unsupported { .. })),
            "{err}"
        );
        assert!(err.to_string().contains(what), "{err}");
    }
}
