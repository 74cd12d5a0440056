//! `land --input` end to end on a local warehouse: the data scientists' answers, exactly-once
//! re-runs, and bad lines landing as rejects.

#![allow(clippy::unwrap_used, clippy::needless_range_loop)]

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use examples::generator::{Format, Generator, ORIGINAL_COUNT};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

fn land(input: &Path, warehouse: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_land"))
        .arg("--input")
        .arg(input)
        .arg("--warehouse")
        .arg(warehouse)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run land");
    assert!(
        out.status.success(),
        "land failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The committed rows of `table` (its Delta table's latest version), or none if the
/// warehouse or the table does not exist.
fn read_table(warehouse: &Path, table: &str) -> Vec<RecordBatch> {
    if !warehouse.join(table).join("_delta_log").exists() {
        return Vec::new();
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let url = warehouse.to_str().unwrap();
        let wh = hdfs_sink::Warehouse::open_existing(url, hdfs_sink::SinkConfig::default())
            .await
            .unwrap();
        wh.read_committed(table).await.unwrap()
    })
}

fn rows(warehouse: &Path, table: &str) -> usize {
    read_table(warehouse, table)
        .iter()
        .map(RecordBatch::num_rows)
        .sum()
}

#[test]
fn the_default_dataset_answers_the_questions() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("assessment-attempts.json");
    let mut f = std::fs::File::create(&input).unwrap();
    Generator::new(42, ORIGINAL_COUNT)
        .write_all(&mut f, Format::JsonArray)
        .unwrap();
    let wh = dir.path().join("warehouse");
    let summary = land(&input, &wh);
    assert!(summary.contains("landed 3280 messages"), "{summary}");

    // How many assessments? How many took Learning Git? Least and most common exam?
    let mut by_exam: HashMap<String, usize> = HashMap::new();
    let mut total = 0;
    for b in read_table(&wh, "assessments") {
        total += b.num_rows();
        let names = b.column_by_name("exam_name").unwrap().as_string::<i32>();
        for n in names.iter() {
            *by_exam.entry(n.unwrap().to_owned()).or_default() += 1;
        }
    }
    assert_eq!(total, 3280);
    assert_eq!(by_exam["Learning Git"], 394);
    let max = by_exam.iter().max_by_key(|(_, n)| **n).unwrap();
    assert_eq!(max.0, "Learning Git");
    let min = *by_exam.values().min().unwrap();
    assert_eq!(min, 1);
    assert_eq!(by_exam.values().filter(|n| **n == 1).count(), 4);
    assert_eq!(by_exam.len(), 103);

    // raw = assessments + rejects; questions/options are there.
    assert_eq!(rows(&wh, "raw"), 3280);
    assert_eq!(rows(&wh, "rejects"), 0);
    assert!(rows(&wh, "questions") > 3280 * 3);
    assert!(rows(&wh, "options") > rows(&wh, "questions") * 2);

    // Exactly once: landing the same file again lands nothing new.
    let again = land(&input, &wh);
    assert!(again.contains("landed 0 messages"), "{again}");
    assert_eq!(rows(&wh, "assessments"), 3280);
    assert_eq!(rows(&wh, "raw"), 3280);
}

fn column<T>(
    batches: &[RecordBatch],
    name: &str,
    f: impl Fn(&dyn arrow_array::Array, usize) -> T,
) -> Vec<T> {
    batches
        .iter()
        .flat_map(|b| {
            let c = b.column_by_name(name).unwrap();
            (0..b.num_rows())
                .map(|i| f(c.as_ref(), i))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn strings(batches: &[RecordBatch], name: &str) -> Vec<String> {
    column(batches, name, |c, i| {
        c.as_string::<i32>().value(i).to_owned()
    })
}

fn i64s(batches: &[RecordBatch], name: &str) -> Vec<i64> {
    column(batches, name, |c, i| {
        c.as_primitive::<arrow_array::types::Int64Type>().value(i)
    })
}

fn binaries(batches: &[RecordBatch], name: &str) -> Vec<Vec<u8>> {
    column(batches, name, |c, i| c.as_binary::<i32>().value(i).to_vec())
}

#[test]
fn ndjson_with_bad_lines_lands_them_as_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.ndjson");
    let events: Vec<String> = Generator::new(3, 10).collect();
    // Every kind of bad line, each between good ones: valid JSON of the wrong shape, a
    // truncated event, garbage, two values on one line, a line of invalid UTF-8; plus a
    // blank line and a CRLF ending, which are not events.
    let truncated = &events[0][..events[0].len() / 2];
    let bad: [&[u8]; 6] = [
        b"{\"keen_id\": 12}",
        b"[1,2]",
        truncated.as_bytes(),
        b"this is not json",
        b"{\"keen_id\":\"a\"} {\"keen_id\":\"b\"}",
        b"{\"keen_id\":\"\xff\xfe\"}",
    ];
    let mut body: Vec<u8> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        body.extend_from_slice(e.as_bytes());
        body.extend_from_slice(if i == 1 { b"\r\n\n" } else { b"\n" });
        if let Some(line) = bad.get(i) {
            body.extend_from_slice(line);
            body.push(b'\n');
        }
    }
    std::fs::write(&input, &body).unwrap();
    let wh = dir.path().join("wh");
    let out = land(&input, &wh);
    assert!(
        out.contains("landed 16 messages (10 events, 6 rejects)"),
        "{out}"
    );
    assert_eq!(rows(&wh, "raw"), 16);
    assert_eq!(rows(&wh, "assessments"), 10);
    let rejects = read_table(&wh, "rejects");
    let kinds = strings(&rejects, "error_kind");
    assert_eq!(
        kinds,
        [
            "wrong_type",
            "not_an_object",
            "malformed_json",
            "malformed_json",
            "malformed_json",
            "invalid_utf8"
        ]
    );
    // A bad line is the message at its index among the non-blank lines: event i is followed
    // by bad line i.
    let offsets = i64s(&rejects, "_offset");
    assert_eq!(offsets, [1, 3, 5, 7, 9, 11]);
    // Kept byte for byte, so the line can be mended and landed again.
    let values = binaries(&rejects, "value");
    assert_eq!(values, bad.map(<[u8]>::to_vec));
    let messages = strings(&rejects, "error");
    // What is wrong and where, in words a user can act on.
    let end = truncated.len();
    assert!(
        messages[2].contains(&format!("at byte {end}: EOF while parsing")),
        "{messages:?}"
    );
    assert!(
        messages[3].starts_with("malformed_json at byte 1: "),
        "{messages:?}"
    );
    assert!(
        messages[4].contains("at byte 16: trailing characters"),
        "{messages:?}"
    );
    // And where in the file: `line L, column C (byte B)` of the problem. The garbage line is
    // line 9 (a blank line after event 1 counts), its problem at its second byte.
    let garbage_at = body
        .windows(bad[3].len())
        .position(|w| w == bad[3])
        .unwrap()
        + 1;
    assert!(
        messages[3].ends_with(&format!(
            "; in the file at line 9, column 2 (byte {garbage_at})"
        )),
        "{messages:?}"
    );
    // A wrong type has a JSON path, not a byte: the line's start is named.
    assert!(
        messages[0].starts_with("keen_id: expected string")
            && messages[0].contains("; in the file at line 2, column 1 (byte "),
        "{messages:?}"
    );
}

#[test]
fn bad_elements_of_an_array_land_as_rejects_and_the_rest_lands() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.json");
    let events: Vec<String> = Generator::new(4, 4).collect();
    // Elements the splitter can delimit but not parse: a bad escape, a missing comma whose
    // compacted form (`[12]`) would parse, invalid UTF-8.
    let bad: [&[u8]; 3] = [
        br#"{"keen_id": "a\x"}"#,
        br#"{"keen_id": "b", "n": [1 2]}"#,
        b"{\"keen_id\": \"\xff\"}",
    ];
    let mut body = b"[\n".to_vec();
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            body.extend_from_slice(b",\n");
        }
        body.extend_from_slice(e.as_bytes());
        if let Some(b) = bad.get(i) {
            body.extend_from_slice(b",\n");
            body.extend_from_slice(b);
        }
    }
    body.extend_from_slice(b"\n]\n");
    std::fs::write(&input, &body).unwrap();
    let wh = dir.path().join("wh");
    let out = land(&input, &wh);
    assert!(
        out.contains("landed 7 messages (4 events, 3 rejects)"),
        "{out}"
    );
    assert_eq!(rows(&wh, "raw"), 7);
    assert_eq!(rows(&wh, "assessments"), 4);
    let rejects = read_table(&wh, "rejects");
    let offsets = i64s(&rejects, "_offset");
    assert_eq!(offsets, [1, 3, 5]);
    let kinds = strings(&rejects, "error_kind");
    assert_eq!(kinds, ["malformed_json", "malformed_json", "invalid_utf8"]);
    // An element that is not valid JSON is kept as the input has it (a valid one is
    // compacted), so it can be mended and landed again.
    let values = binaries(&rejects, "value");
    assert_eq!(values, bad.map(<[u8]>::to_vec));
    // The error says what and where: in the element and in the file, `line L, column C
    // (byte B)` of the problem.
    let messages = strings(&rejects, "error");
    let file_pos = |b: &[u8]| body.windows(b.len()).position(|w| w == b).unwrap();
    let line_of = |at: usize| 1 + body[..at].iter().filter(|b| **b == b'\n').count();
    for (i, b) in bad.iter().enumerate() {
        let start = file_pos(b);
        let at: usize = messages[i]
            .strip_prefix(if i == 2 {
                "invalid_utf8 at byte "
            } else {
                "malformed_json at byte "
            })
            .and_then(|m| m.split(':').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{messages:?}"));
        assert!(at < b.len(), "{messages:?}");
        let want = format!(
            "not valid JSON at line {}, column {} (byte {}): ",
            line_of(start),
            1 + at,
            start + at
        );
        assert!(messages[i].contains(&want), "{want} in {messages:?}");
    }
    assert!(
        messages[0].ends_with("invalid escape in a string"),
        "{messages:?}"
    );
}

#[test]
fn a_structurally_broken_array_stops_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("broken.json");
    let e: String = Generator::new(5, 1).next().unwrap();
    std::fs::write(&input, format!("[{e},{e} x]")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_land"))
        .arg("--input")
        .arg(&input)
        .arg("--warehouse")
        .arg(dir.path().join("wh"))
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.json: line 1, column "), "{err}");
    assert!(err.contains("(byte "), "error names the byte offset: {err}");
    // Nothing was committed.
    for table in ["raw", "assessments", "rejects"] {
        assert_eq!(rows(&dir.path().join("wh"), table), 0, "{table}");
    }
}

#[test]
fn tables_flag_lands_the_chosen_tables_and_always_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.ndjson");
    let mut body = String::new();
    for (i, e) in Generator::new(4, 20).enumerate() {
        body.push_str(&e);
        body.push('\n');
        if i == 7 {
            body.push_str("{\"keen_id\": 12}\n");
        }
    }
    std::fs::write(&input, body).unwrap();
    let wh = dir.path().join("wh");
    let run = |tables: &str| {
        Command::new(env!("CARGO_BIN_EXE_land"))
            .args(["--tables", tables, "--input"])
            .arg(&input)
            .arg("--warehouse")
            .arg(&wh)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let bad = run("assessments,bogus");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("unknown table \"bogus\""),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    let out = run("assessments,questions,options");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8(out.stdout).unwrap();
    assert!(
        summary.contains("landed 21 messages (20 events, 1 rejects)"),
        "{summary}"
    );
    assert!(!wh.join("raw").exists(), "raw was not asked for");
    assert_eq!(rows(&wh, "assessments"), 20);
    assert_eq!(rows(&wh, "rejects"), 1, "rejects are always landed");
    let questions = rows(&wh, "questions");
    assert!(questions > 20, "{questions}");
    assert!(rows(&wh, "options") > questions);
    // The range's commit (its commitInfo, in every landed table's log) lists exactly the
    // landed tables.
    let log = std::fs::read_to_string(wh.join("assessments/_delta_log/00000000000000000001.json"))
        .unwrap();
    let info = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find_map(|a| a.get("commitInfo").and_then(|c| c.get("hdfsSink")).cloned())
        .unwrap();
    let mut listed: Vec<&str> = info["rows"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, ["assessments", "options", "questions", "rejects"]);

    // verify passes; the raw balance is skipped on a range without raw, not failed.
    let v = Command::new(env!("CARGO_BIN_EXE_verify"))
        .arg("--warehouse")
        .arg(&wh)
        .args(["--balance", "raw=assessments+rejects"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&v.stdout);
    assert!(
        v.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(report.contains("not checked on 1 range"), "{report}");

    // A rerun with a table added fills that table in from the source (each table's Delta
    // log says what it holds) and adds nothing to the others.
    let again = run("raw,assessments");
    assert!(again.status.success());
    let summary = String::from_utf8(again.stdout).unwrap();
    assert!(summary.contains("landed 21 messages"), "{summary}");
    assert_eq!(rows(&wh, "raw"), 21);
    assert_eq!(rows(&wh, "assessments"), 20);
    assert_eq!(rows(&wh, "rejects"), 1);
    // And then a rerun lands nothing.
    let third = run("raw,assessments");
    assert!(third.status.success());
    let summary = String::from_utf8(third.stdout).unwrap();
    assert!(summary.contains("landed 0 messages"), "{summary}");
}

/// The Parquet leaf columns of `table`'s first file, with whether each has a dictionary page
/// and whether its values are delta-encoded.
fn leaves(warehouse: &Path, table: &str) -> Vec<(String, bool, bool)> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let path = std::fs::read_dir(warehouse.join(table))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "parquet"))
        .unwrap();
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let rg = reader.metadata().row_group(0);
    rg.columns()
        .iter()
        .map(|c| {
            (
                c.column_path().string(),
                c.dictionary_page_offset().is_some(),
                c.encodings()
                    .any(|e| e == parquet::basic::Encoding::DELTA_BINARY_PACKED),
            )
        })
        .collect()
}

#[test]
fn without_sequences_lands_the_flat_tables_and_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.ndjson");
    let mut f = std::fs::File::create(&input).unwrap();
    Generator::new(8, 300)
        .write_all(&mut f, Format::Ndjson)
        .unwrap();
    let nested = dir.path().join("nested");
    land(&input, &nested);
    let flat = dir.path().join("flat");
    let out = Command::new(env!("CARGO_BIN_EXE_land"))
        .args(["--without-sequences", "--input"])
        .arg(&input)
        .arg("--warehouse")
        .arg(&flat)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // assessments: every column but `sequences`, the same values; the other tables equal.
    let a_nested = read_table(&nested, "assessments");
    let a_flat = read_table(&flat, "assessments");
    let concat =
        |b: &[RecordBatch]| arrow_select::concat::concat_batches(&b[0].schema(), b).unwrap();
    let (a_nested, a_flat) = (concat(&a_nested), concat(&a_flat));
    assert_eq!(a_flat.num_rows(), 300);
    assert!(a_flat.column_by_name("sequences").is_none());
    let keep: Vec<usize> = (0..a_nested.num_columns() - 1).collect();
    assert_eq!(a_flat, a_nested.project(&keep).unwrap());
    for t in ["raw", "questions", "options", "rejects"] {
        let (n, f) = (read_table(&nested, t), read_table(&flat, t));
        assert_eq!(n.is_empty(), f.is_empty(), "{t}");
        if !n.is_empty() {
            assert_eq!(concat(&n), concat(&f), "{t}");
        }
    }

    // The encoding choices of `sink_config_builder` reach the files: timestamps without a
    // dictionary, parent keys with one, offsets and indexes delta-encoded, in both layouts.
    for wh in [&nested, &flat] {
        let a = leaves(wh, "assessments");
        let o = leaves(wh, "options");
        let find = |cols: &[(String, bool, bool)], name: &str| {
            let c = cols.iter().find(|(c, ..)| c == name);
            let (_, dict, delta) = c.unwrap_or_else(|| panic!("{name}"));
            (*dict, *delta)
        };
        assert_eq!(find(&a, "keen_timestamp"), (false, false));
        assert_eq!(find(&a, "keen_id"), (false, false));
        assert_eq!(find(&a, "_offset"), (false, true));
        assert_eq!(find(&o, "at"), (false, false));
        assert_eq!(find(&o, "keen_id"), (true, false));
        assert_eq!(find(&o, "_partition"), (false, true));
        assert_eq!(find(&o, "option_index"), (false, true));
    }
    let nested_at = "sequences.questions.list.item.options.list.item.at";
    let a = leaves(&nested, "assessments");
    assert!(!a.iter().any(|(c, dict, _)| c == nested_at && *dict));
    assert!(a.iter().any(|(c, ..)| c == nested_at));
}

fn land_status(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_land"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run land");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_byte_order_mark_and_compression_are_read_as_what_they_are() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let events: Vec<String> = Generator::new(6, 5).collect();
    let ndjson = format!("\u{feff}{}\n", events.join("\n"));
    let array = format!("\u{feff}[{}]", events.join(",\n"));
    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(events.join("\n").as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let zst = zstd::encode_all(array.as_bytes(), 1).unwrap();
    let inputs: [(&str, &[u8]); 4] = [
        ("bom.ndjson", ndjson.as_bytes()),
        ("bom.json", array.as_bytes()),
        ("events.ndjson.gz", &gz),
        ("events.json.zst", &zst),
    ];
    for (name, bytes) in inputs {
        let input = dir.path().join(name);
        std::fs::write(&input, bytes).unwrap();
        let wh = dir.path().join(format!("wh-{name}"));
        let out = land(&input, &wh);
        assert!(
            out.contains("landed 5 messages (5 events, 0 rejects)"),
            "{name}: {out}"
        );
        // raw holds the events themselves, without the mark.
        let mut raw = binaries(&read_table(&wh, "raw"), "value");
        raw.sort();
        let mut want: Vec<Vec<u8>> = events.iter().map(|e| e.clone().into_bytes()).collect();
        want.sort();
        assert_eq!(raw, want, "{name}");
    }
    // A compression that is not read is refused by name, with nothing landed.
    let bz = dir.path().join("events.bz2");
    std::fs::write(&bz, b"BZh91AY&SY\x00\x00").unwrap();
    let wh = dir.path().join("wh-bz2");
    let (ok, _, err) = land_status(&[
        "--input".as_ref(),
        bz.as_os_str(),
        "--warehouse".as_ref(),
        wh.as_os_str(),
    ]);
    assert!(!ok);
    assert!(err.contains("bzip2"), "{err}");
    assert_eq!(rows(&wh, "raw"), 0);
}

#[test]
fn a_different_file_under_a_landed_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let first = dir.path().join("a/events.ndjson");
    let second = dir.path().join("b/events.ndjson");
    std::fs::create_dir_all(first.parent().unwrap()).unwrap();
    std::fs::create_dir_all(second.parent().unwrap()).unwrap();
    let a: Vec<String> = Generator::new(7, 20).collect();
    let b: Vec<String> = Generator::new(8, 30).collect();
    std::fs::write(&first, a.join("\n")).unwrap();
    std::fs::write(&second, b.join("\n")).unwrap();
    assert!(land(&first, &wh).contains("landed 20 messages"));
    // Same name, other content: refused, naming what was landed under the name.
    let (ok, _, err) = land_status(&[
        "--input".as_ref(),
        second.as_os_str(),
        "--warehouse".as_ref(),
        wh.as_os_str(),
    ]);
    assert!(!ok, "{err}");
    assert!(
        err.contains("is not the file landed before as source \"events.ndjson\""),
        "{err}"
    );
    assert!(
        err.contains("20 events of \"events.ndjson\" are committed"),
        "{err}"
    );
    assert_eq!(rows(&wh, "raw"), 20);
    // Under its own name it lands.
    let (ok, out, err) = land_status(&[
        "--input".as_ref(),
        second.as_os_str(),
        "--warehouse".as_ref(),
        wh.as_os_str(),
        "--source".as_ref(),
        "events-b".as_ref(),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("landed 30 messages (30 events, 0 rejects)"),
        "{out}"
    );
    // The first file, grown by appended events, resumes with the new ones only.
    let grown: Vec<String> = a.iter().chain(&b[..5]).cloned().collect();
    std::fs::write(&first, grown.join("\n")).unwrap();
    assert!(land(&first, &wh).contains("landed 5 messages (5 events, 0 rejects)"));
    assert_eq!(rows(&wh, "raw"), 55);
}

#[test]
fn a_run_of_only_rejects_fails_loudly_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("not-events.ndjson");
    std::fs::write(&input, "{\"a\": 1}\nnot json\n[1]\n").unwrap();
    let wh = dir.path().join("wh");
    let (ok, out, err) = land_status(&[
        "--input".as_ref(),
        input.as_os_str(),
        "--warehouse".as_ref(),
        wh.as_os_str(),
    ]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("landed 3 messages (0 events, 3 rejects)"),
        "{out}"
    );
    assert!(
        err.contains("every one of the 3 messages landed was a reject"),
        "{err}"
    );
    // The rejects are committed all the same: nothing is dropped.
    assert_eq!(rows(&wh, "rejects"), 3);
    let input2 = dir.path().join("more.ndjson");
    std::fs::write(&input2, "nope\n").unwrap();
    let (ok, _, err) = land_status(&[
        "--input".as_ref(),
        input2.as_os_str(),
        "--warehouse".as_ref(),
        wh.as_os_str(),
        "--allow-all-rejects".as_ref(),
    ]);
    assert!(ok, "{err}");
    assert_eq!(rows(&wh, "rejects"), 4);
}

/// Two `land --input` processes on one warehouse, the second started 0–1 s after the first,
/// 20 times each for the same file and for two different files: every committed row is
/// there exactly once, `verify` passes, a run that exits 0 left all of its file landed, and
/// a run that gives way says that another writer holds the range.
#[test]
fn concurrent_landings_into_one_warehouse_never_lose_or_duplicate_a_row() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, seed) in [("a.ndjson", 51), ("b.ndjson", 52)] {
        let path = dir.path().join(name);
        let mut f = std::fs::File::create(&path).unwrap();
        Generator::new(seed, 600)
            .write_all(&mut f, Format::Ndjson)
            .unwrap();
        files.push(path);
    }
    let spawn = |input: &Path, wh: &Path| {
        Command::new(env!("CARGO_BIN_EXE_land"))
            .arg("--input")
            .arg(input)
            .arg("--warehouse")
            .arg(wh)
            .args(["--chunk-messages", "50", "--rotate-rows", "100"])
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut rng = rand::rngs::SmallRng::seed_from_u64(17);
    let mut gave_way = 0;
    for i in 0..40 {
        let wh = dir.path().join(format!("wh{i}"));
        let same = i % 2 == 0;
        let second = if same { &files[0] } else { &files[1] };
        let first = spawn(&files[0], &wh);
        std::thread::sleep(std::time::Duration::from_millis(rng.random_range(0..1000)));
        let other = spawn(second, &wh);
        let outs = [
            first.wait_with_output().unwrap(),
            other.wait_with_output().unwrap(),
        ];
        let ok: Vec<bool> = outs.iter().map(|o| o.status.success()).collect();
        for (o, input) in outs.iter().zip([&files[0], second]) {
            let err = String::from_utf8_lossy(&o.stderr);
            if o.status.success() {
                continue;
            }
            gave_way += 1;
            assert!(
                err.contains("another writer holds this range"),
                "run {i}: {} failed for another reason: {err}",
                input.display()
            );
        }
        // What a run that exited 0 landed is all there; then a re-run of each file completes
        // whatever a run that gave way left.
        let raw_of = |topic: &str| {
            read_table(&wh, "raw")
                .iter()
                .map(|b| topics(b).iter().filter(|t| *t == topic).count())
                .sum::<usize>()
        };
        if ok[0] {
            assert_eq!(raw_of("a.ndjson"), 600, "run {i}");
        }
        if ok[1] && !same {
            assert_eq!(raw_of("b.ndjson"), 600, "run {i}");
        }
        land(&files[0], &wh);
        land(second, &wh);
        let offsets: Vec<(String, i64)> = read_table(&wh, "raw")
            .iter()
            .flat_map(|b| {
                let t = topics(b);
                let o = b
                    .column_by_name("_offset")
                    .unwrap()
                    .as_primitive::<arrow_array::types::Int64Type>()
                    .values()
                    .to_vec();
                t.into_iter().zip(o)
            })
            .collect();
        let unique: std::collections::BTreeSet<_> = offsets.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            offsets.len(),
            "run {i}: an offset landed twice"
        );
        assert_eq!(offsets.len(), if same { 600 } else { 1200 }, "run {i}");
        assert_eq!(rows(&wh, "assessments"), offsets.len(), "run {i}");
        let v = Command::new(env!("CARGO_BIN_EXE_verify"))
            .arg("--warehouse")
            .arg(&wh)
            .args(["--balance", "raw=assessments+rejects"])
            .output()
            .unwrap();
        assert!(
            v.status.success(),
            "run {i}: {}{}",
            String::from_utf8_lossy(&v.stdout),
            String::from_utf8_lossy(&v.stderr)
        );
    }
    eprintln!("concurrent landings: {gave_way} runs of 80 gave way to another writer");
}

/// The `_topic` of every row of `batch` (a dictionary column), as strings.
fn topics(batch: &RecordBatch) -> Vec<String> {
    let t = batch.column_by_name("_topic").unwrap();
    let t = arrow_cast::cast(t, &arrow_schema::DataType::Utf8).unwrap();
    t.as_string::<i32>()
        .iter()
        .map(|v| v.unwrap().to_owned())
        .collect()
}

/// Without `RUST_LOG`, `land` logs its own steps at `info` and delta-rs's kernel only its
/// warnings: a landing and a re-run print a few lines, not the kernel's snapshot dumps.
#[test]
fn the_default_log_is_a_few_lines_without_the_delta_kernel_detail() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let input = dir.path().join("events.ndjson");
    let events: Vec<String> = Generator::new(9, 50).collect();
    std::fs::write(&input, events.join("\n")).unwrap();
    for run in ["first", "re-run"] {
        let out = Command::new(env!("CARGO_BIN_EXE_land"))
            .arg("--input")
            .arg(&input)
            .arg("--warehouse")
            .arg(&wh)
            .env_remove("RUST_LOG")
            .output()
            .expect("run land");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{run}: {err}");
        assert!(
            err.contains("INFO"),
            "{run}: land's own steps are logged: {err}"
        );
        assert!(!err.contains("buoyant_kernel"), "{run}: {err}");
        assert!(
            err.lines().count() <= 20,
            "{run}: {} lines:\n{err}",
            err.lines().count()
        );
    }
}
