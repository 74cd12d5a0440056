//! The README's main job: `pipeline` on the embedded default (in-process Kafka, local
//! warehouse) prints the answers, and refuses to mix runs unless asked to start fresh.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

fn pipeline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pipeline"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run pipeline")
}

#[test]
fn embedded_default_answers_and_reruns_safely() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("warehouse");
    let wh = wh.to_str().unwrap();
    let report = dir.path().join("report.html");
    let out = pipeline(&["--warehouse", wh, "--report", report.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("published 3280 events"), "{stdout}");
    assert!(
        stdout.contains("How many assessments are in the dataset?  3280"),
        "{stdout}"
    );
    assert!(
        stdout.contains("How many people took Learning Git?        394"),
        "{stdout}"
    );
    assert!(stdout.contains("Most common exam:                         Learning Git (394 events)"));
    assert!(stdout.contains("verify: ok"), "{stdout}");
    assert_report(&stdout, &report, &["3,280", "3280"]);

    // A second run on the same warehouse would mix two clusters' offsets: refused, clearly.
    let again = pipeline(&["--warehouse", wh, "--report", report.to_str().unwrap()]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("pass --fresh"), "{err}");

    // --fresh starts over and gives the same answers.
    let fresh = pipeline(&[
        "--warehouse",
        wh,
        "--fresh",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(fresh.status.success());
    assert!(String::from_utf8_lossy(&fresh.stdout).contains("dataset?  3280"));
}

#[test]
fn bad_lines_flow_through_the_whole_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("quirks.ndjson");
    let events: Vec<String> = examples::generator::Generator::new(11, 50).collect();
    let mut body = Vec::new();
    for (i, e) in events.iter().enumerate() {
        body.extend_from_slice(e.as_bytes());
        body.push(b'\n');
        match i {
            3 => body.extend_from_slice(b"{\"keen_id\":\"\xff\xfe\"}\n"),
            7 => body.extend_from_slice(b"not json at all\n"),
            9 => body.extend_from_slice(b"{\"keen_id\": \"x\", \n"),
            _ => {}
        }
    }
    std::fs::write(&input, &body).unwrap();
    let wh = dir.path().join("warehouse");
    let report = dir.path().join("report.html");
    let out = pipeline(&[
        "--input",
        input.to_str().unwrap(),
        "--warehouse",
        wh.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("published 53 messages to assessments (3 of them not valid JSON"),
        "{stdout}"
    );
    assert!(stdout.contains("(50 events, 3 rejects)"), "{stdout}");
    assert!(stdout.contains("verify: ok"), "{stdout}");
    assert_report(&stdout, &report, &["<svg"]);
}

/// The report: written and printed when its program (package assessment-query) is built
/// beside `pipeline`, as in a workspace build, and holding one of `any`; else the way to get it.
fn assert_report(stdout: &str, report: &std::path::Path, any: &[&str]) {
    let beside = std::path::Path::new(env!("CARGO_BIN_EXE_pipeline")).with_file_name("report");
    if beside.is_file() {
        assert!(
            stdout.contains(&format!("report: {}", report.display())),
            "{stdout}"
        );
        let html = std::fs::read_to_string(report).unwrap();
        assert!(any.iter().any(|n| html.contains(n)), "report lacks {any:?}");
    } else {
        assert!(stdout.contains("report: not written"), "{stdout}");
    }
}
