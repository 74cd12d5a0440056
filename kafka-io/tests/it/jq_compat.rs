//! The splitter's output is byte for byte what `jq -c '.[]'` prints (skipped if `jq` is not
//! installed).

use std::io::BufReader;
use std::process::Command;

use kafka_io::json::{InputFormat, JsonElements};

fn jq(args: &[&str], path: &std::path::Path) -> Option<Vec<u8>> {
    let out = Command::new("jq").args(args).arg(path).output().ok()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}

fn split_lines(path: &std::path::Path) -> Vec<u8> {
    let f = std::fs::File::open(path).unwrap();
    let format = InputFormat::detect_file(path).unwrap();
    // A small window, so elements straddle refills.
    let mut it = JsonElements::new(BufReader::with_capacity(4096, f), format).with_window(4096);
    let mut out = Vec::new();
    while let Some(e) = it.next_element().unwrap() {
        out.extend_from_slice(e.bytes);
        out.push(b'\n');
    }
    out
}

#[test]
fn splitter_matches_jq_compact() {
    let dir = tempfile::tempdir().unwrap();
    let compact = dir.path().join("compact.json");
    let evs = crate::common::events(3280, 3);
    // Our own whitespace-laden array.
    crate::common::write_array(&compact, &evs);
    let Some(expected) = jq(&["-c", ".[]"], &compact) else {
        eprintln!("jq not installed, skipping");
        return;
    };
    assert_eq!(split_lines(&compact), expected);
    // jq's own pretty printing (indentation, newlines), read with a small buffer so
    // elements straddle buffer boundaries.
    let pretty = dir.path().join("pretty.json");
    std::fs::write(&pretty, jq(&["."], &compact).unwrap()).unwrap();
    let got = split_lines(&pretty);
    assert_eq!(got, expected);
    assert_eq!(got.iter().filter(|b| **b == b'\n').count(), 3280);
    // NDJSON input gives the same lines.
    let nd = dir.path().join("events.ndjson");
    crate::common::write_ndjson(&nd, &evs);
    assert_eq!(split_lines(&nd), expected);
    // Tricky strings: escapes, brackets and commas inside strings, unicode.
    let tricky = dir.path().join("tricky.json");
    std::fs::write(
        &tricky,
        "[ {\"a\" : \"x, ] } [ { \\\" \\\\\" , \"b\":[ ], \"c\" : { } , \"d\": \"caf\u{e9} \u{1F600}\"},\n 12 , \"s\" , null, [ true , false ] ]",
    )
    .unwrap();
    assert_eq!(split_lines(&tricky), jq(&["-c", ".[]"], &tricky).unwrap());
}
