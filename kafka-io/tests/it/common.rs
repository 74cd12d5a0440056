//! Shared test helpers: realistic events built from the five real events in
//! `tests/data/real-first-five.ndjson`, with changed ids; an event file with the quirks
//! real files have; reading a topic back.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use kafka_io::{BoundedConsumer, BoundedOptions, KafkaConfig, StartPosition};

const FIXTURE: &str = include_str!("../data/real-first-five.ndjson");

/// `n` compact events (each exactly what `jq -c` prints for it). Every `attempts_per_key`
/// consecutive events share a `user_exam_id`; every `keen_id` is unique.
pub fn events(n: usize, attempts_per_key: usize) -> Vec<String> {
    let templates: Vec<&str> = FIXTURE.lines().filter(|l| !l.trim().is_empty()).collect();
    let originals: Vec<(String, String)> = templates
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["user_exam_id"].as_str().unwrap().to_owned(),
                v["keen_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (0..n)
        .map(|i| {
            let t = i % templates.len();
            let (uid, kid) = &originals[t];
            let new_uid = format!(
                "{:08x}-0000-4000-8000-{:012x}",
                i / attempts_per_key,
                i / attempts_per_key
            );
            let new_kid = format!("{:024x}", i);
            templates[t]
                .replace(uid.as_str(), &new_uid)
                .replace(kid.as_str(), &new_kid)
        })
        .collect()
}

/// The `user_exam_id` of a compact event.
pub fn key_of(event: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(event).unwrap();
    v["user_exam_id"].as_str().unwrap().to_owned()
}

/// Writes `events` as a JSON array with whitespace between and inside elements
/// (pretty enough that compaction is exercised).
pub fn write_array(path: &Path, events: &[String]) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(b"[\n").unwrap();
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            f.write_all(b" ,\n").unwrap();
        }
        // Add whitespace after structural characters outside strings.
        let mut in_str = false;
        let mut esc = false;
        f.write_all(b"  ").unwrap();
        for b in e.bytes() {
            f.write_all(&[b]).unwrap();
            if in_str {
                if esc {
                    esc = false;
                } else if b == b'\\' {
                    esc = true;
                } else if b == b'"' {
                    in_str = false;
                }
            } else if b == b'"' {
                in_str = true;
            } else if matches!(b, b':' | b',') {
                f.write_all(b" ").unwrap();
            } else if matches!(b, b'{' | b'[') {
                f.write_all(b"\n    ").unwrap();
            }
        }
    }
    f.write_all(b"\n]\n").unwrap();
    f.flush().unwrap();
}

/// Writes `events` as NDJSON.
pub fn write_ndjson(path: &Path, events: &[String]) {
    let mut s = String::new();
    for e in events {
        s.push_str(e);
        s.push('\n');
    }
    std::fs::write(path, s).unwrap();
}

/// An NDJSON file as a new user might have it — a byte-order mark, CRLF line endings,
/// blank lines, invalid UTF-8, a truncated line, values that are not objects, garbage,
/// surrounding spaces, two values on a line, huge numbers — and the messages it must
/// become: one per non-blank line, the line as it is without its line end and without
/// leading and trailing spaces, tabs and `\r`. Lines 2, 3, 9 and 12 (of the non-blank,
/// from 0) are not valid JSON.
pub fn adversarial_ndjson() -> (Vec<u8>, Vec<Vec<u8>>) {
    let evs = events(5, 1);
    let truncated = &evs[2][..evs[2].len() / 2];
    let lines: Vec<(&[u8], &[u8], &[u8])> = vec![
        (b"\xEF\xBB\xBF", evs[0].as_bytes(), b"\r\n"),
        (b"", b"", b"\r\n"),
        (b"", evs[1].as_bytes(), b"\r\n"),
        (
            b"",
            b"{\"user_exam_id\":\"u-utf8\",\"exam_name\":\"caf\xff\"}",
            b"\n",
        ),
        (b"", truncated.as_bytes(), b"\n"),
        (b"", b"[1,2,3]", b"\n"),
        (b"", b"\"just a string\"", b"\n"),
        (b"", b"42", b"\r\n"),
        (b" \t ", b"", b"\r\n"),
        (
            b"",
            br#"{"user_exam_id": "spaced" , "x" : [ 1 , 2 ] }"#,
            b"\r\n",
        ),
        (b"", b"null", b"\n"),
        (b"", b"garbage }{", b"\n"),
        (b"  ", evs[3].as_bytes(), b"   \r\n"),
        (
            b"",
            br#"{"n": 18446744073709551616, "x": -0.0, "e": 1e400}"#,
            b"\n",
        ),
        (b"", br#"{"a":1} {"b":2}"#, b"\n"),
        (b"", evs[4].as_bytes(), b""),
    ];
    let mut file = Vec::new();
    let mut messages = Vec::new();
    for (before, line, after) in lines {
        file.extend_from_slice(before);
        file.extend_from_slice(line);
        file.extend_from_slice(after);
        if !line.is_empty() {
            messages.push(line.to_vec());
        }
    }
    (file, messages)
}

/// Every message of `topic` up to its current end: (key, value), in partition order.
pub fn read_values(config: &KafkaConfig, topic: &str) -> Vec<(Option<Vec<u8>>, Vec<u8>)> {
    let mut c = BoundedConsumer::start(
        config,
        topic,
        StartPosition::Earliest,
        BoundedOptions::default(),
    )
    .unwrap();
    let mut out = Vec::new();
    while let Some(b) = c.next_batch().unwrap() {
        for m in b.iter() {
            out.push((
                m.key.map(<[u8]>::to_vec),
                m.payload.unwrap_or_default().to_vec(),
            ));
        }
    }
    out
}

/// Counts of each value (multiset).
pub fn multiset<'a, T: Ord + ?Sized>(
    items: impl IntoIterator<Item = &'a T>,
) -> BTreeMap<&'a T, usize> {
    let mut m = BTreeMap::new();
    for i in items {
        *m.entry(i).or_default() += 1;
    }
    m
}

/// Unique topic name for a test.
pub fn topic_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}
