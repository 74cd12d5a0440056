//! The `publish` program against the real Kafka of `scripts/test-cluster`, on files large
//! enough (> 8 MiB) for the read-first pass to run on several threads: every event arrives
//! once, byte for byte as `jq -c` prints it; an element that is not valid JSON is sent as
//! it is and named with its line, column and byte; a JSON array whose structure breaks late
//! in the file publishes nothing and names the position; `--single-pass` sends what comes
//! before it, as documented; a file with a byte-order mark, CRLF line ends, blank and
//! broken lines, plain, gzip or zstd, arrives line for line, as `kcat -P` sends it.
#![cfg(feature = "it")]
#![allow(clippy::unwrap_used)]

use crate::common::{brokers, high_watermarks, topic_contents, unique};
use examples::generator::Generator;
use std::process::{Command, Output};

const EVENTS: usize = 5_000;
const BAD: usize = 4_000;

fn publish(topic: &str, input: &std::path::Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_publish"))
        .args([
            "--brokers",
            &brokers(),
            "--topic",
            topic,
            "--quiet",
            "--input",
        ])
        .arg(input)
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn sorted_values(topic: &str) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = topic_contents(topic)
        .into_values()
        .map(|p| p.unwrap())
        .collect();
    v.sort();
    v
}

fn sorted(events: &[String]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = events.iter().map(|e| e.clone().into_bytes()).collect();
    v.sort();
    v
}

#[test]
fn large_files_validate_in_parallel_and_publish_exactly_once() {
    let events: Vec<String> = Generator::new(5, EVENTS).collect();
    let dir = tempfile::tempdir().unwrap();
    let ndjson = dir.path().join("events.ndjson");
    let array = dir.path().join("events.json");
    std::fs::write(&ndjson, events.join("\n") + "\n").unwrap();
    std::fs::write(&array, format!("[\n{}\n]\n", events.join(",\n"))).unwrap();
    assert!(std::fs::metadata(&array).unwrap().len() > 8 << 20);

    for (name, input) in [("array", &array), ("ndjson", &ndjson)] {
        let topic = unique(&format!("it-publish-{name}"));
        let out = publish(&topic, input, &["--partitions", "4"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("{EVENTS} elements validated")),
            "{name}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("delivered {EVENTS} messages")),
            "{name}: {stderr}"
        );
        assert_eq!(sorted_values(&topic), sorted(&events), "{name}: values");
        assert_eq!(high_watermarks(&topic).len(), 4);
    }

    // An element that is not valid JSON (a number with a letter in it) late in the file:
    // sent as it is, and named.
    let mut bad_events = events.clone();
    let e = &mut bad_events[BAD];
    let at = e.find("\"attempt\":").unwrap() + "\"attempt\":".len();
    e.insert(at + 1, 'x');
    let bad_ndjson = dir.path().join("bad.ndjson");
    let bad_array = dir.path().join("bad.json");
    std::fs::write(&bad_ndjson, bad_events.join("\n") + "\n").unwrap();
    std::fs::write(&bad_array, format!("[\n{}\n]\n", bad_events.join(",\n"))).unwrap();
    let before: usize = bad_events[..BAD].iter().map(|l| l.len() + 1).sum();
    for (name, input, start, line) in [
        ("array", &bad_array, 2 + before + BAD, BAD + 2),
        ("ndjson", &bad_ndjson, before, BAD + 1),
    ] {
        // `start` is the element's byte offset; the diagnosis names the token that starts
        // at the attempt value.
        let token = start + at;
        let topic = unique(&format!("it-publish-bad-{name}"));
        let out = publish(&topic, input, &["--partitions", "2"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        let named = format!(
            "element #{BAD} at line {line}, column {} (byte {token}): invalid number or literal",
            at + 1
        );
        assert!(
            stderr.contains(&named),
            "{name}: expected {named}: {stderr}"
        );
        assert!(stderr.contains("not valid JSON 1"), "{name}: {stderr}");
        assert_eq!(sorted_values(&topic), sorted(&bad_events), "{name}: values");
    }

    // The array's structure breaks late in the file (an object closed with `]`): nothing
    // is published, and the error says where.
    let mut broken = events.clone();
    let last = broken[BAD].len() - 1;
    broken[BAD].replace_range(last.., "]");
    let broken_array = dir.path().join("broken.json");
    std::fs::write(&broken_array, format!("[\n{}\n]\n", broken.join(",\n"))).unwrap();
    let byte = 2 + before + BAD + last;
    let position = format!("line {}, column {} (byte {byte})", BAD + 2, last + 1);
    let topic = unique("it-publish-broken");
    let out = publish(&topic, &broken_array, &["--partitions", "2"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(&position), "expected {position}: {stderr}");
    assert!(stderr.contains("nothing was published"), "{stderr}");
    assert_eq!(high_watermarks(&topic).values().sum::<i64>(), 0);

    // --single-pass: what comes before the break is sent, then it stops.
    let topic = unique("it-publish-single");
    let out = publish(
        &topic,
        &broken_array,
        &["--partitions", "2", "--single-pass"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(&position), "{stderr}");
    assert_eq!(sorted_values(&topic), sorted(&events[..BAD]));
}

#[test]
fn a_quirky_file_arrives_line_for_line_plain_or_compressed_and_as_kcat_sends_it() {
    let events: Vec<String> = Generator::new(6, 3).collect();
    let lines: [&[u8]; 8] = [
        events[0].as_bytes(),
        b"{\"keen_id\": \"caf\xe9\"}",
        &events[1].as_bytes()[..100],
        b"[1, 2]",
        b"",
        b"not json at all",
        b"{\"keen_id\": 1} {\"keen_id\": 2}",
        events[2].as_bytes(),
    ];
    let expected: Vec<Vec<u8>> = {
        let mut v: Vec<Vec<u8>> = lines
            .iter()
            .filter(|l| !l.is_empty())
            .map(|l| l.to_vec())
            .collect();
        v.sort();
        v
    };
    let dir = tempfile::tempdir().unwrap();
    // The file an editor on another system saves: a byte-order mark, CRLF.
    let mut quirky = b"\xEF\xBB\xBF".to_vec();
    quirky.extend(lines.join(&b"\r\n"[..]));
    quirky.extend_from_slice(b"\r\n\r\n");
    let plain = dir.path().join("quirks.ndjson");
    std::fs::write(&plain, &quirky).unwrap();
    let mut inputs = vec![("plain", plain.clone())];
    for (tool, ext) in [("gzip", "gz"), ("zstd", "zst")] {
        let packed = dir.path().join(format!("quirks.{ext}"));
        let out = Command::new(tool).arg("-c").arg(&plain).output();
        match out {
            Ok(out) if out.status.success() => {
                std::fs::write(&packed, out.stdout).unwrap();
                inputs.push((tool, packed));
            }
            _ => eprintln!("{tool} not installed: not checked"),
        }
    }
    for (name, input) in inputs {
        let topic = unique(&format!("it-publish-quirks-{name}"));
        let out = publish(&topic, &input, &["--partitions", "2"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        assert!(stderr.contains("delivered 7 messages"), "{name}: {stderr}");
        assert!(stderr.contains("not valid JSON 4"), "{name}: {stderr}");
        assert_eq!(sorted_values(&topic), expected, "{name}");
    }

    // kcat sends each line as it is (a `\r` and a byte-order mark included) and skips
    // empty lines: from the same lines with LF line ends, the same messages.
    let lf = dir.path().join("lf.ndjson");
    std::fs::write(&lf, lines.join(&b"\n"[..])).unwrap();
    let topic = unique("it-publish-quirks-kcat");
    let kcat = Command::new("kcat")
        .args(["-P", "-b", &brokers(), "-t", &topic, "-l"])
        .arg(&lf)
        .output();
    match kcat {
        Ok(out) if out.status.success() => assert_eq!(sorted_values(&topic), expected),
        _ => eprintln!("kcat not installed or failed: not compared"),
    }
}
