//! Shared test helpers: realistic events built from the five real events in
//! `tests/data/real-first-five.ndjson`, with changed ids.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

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

/// Counts of each string (multiset).
pub fn multiset<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
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
