//! `report` on a local warehouse holding the default dataset (3,280 events) and 3 bad
//! messages: every number on the page equals `query`'s answer to the same SQL file, the page
//! is self-contained, headless Chromium renders it to a real picture, `--exam` picks the
//! per-exam sections, an unknown exam fails, and an empty warehouse still gets a page.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common::{BAD_KINDS, land_default, queries_dir, query};
use crate::report_support::{Image, cells, element_text, rows_with, table, total};
use assessment_query::report::{QUERY_FILES, ReportOptions, render_report, write_report};

/// The exam with the most attempts in the default dataset.
const TOP_EXAM: &str = "Learning Git";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// The shared warehouse (landed once per test binary; tests only read it).
fn warehouse() -> &'static str {
    static DIR: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("warehouse").to_str().unwrap().to_owned();
        land_default(&rt(), dir.path(), &url);
        (dir, url)
    })
    .1
}

/// Runs the `report` binary; returns its stdout, panics with stderr on failure.
fn report(args: &[&str]) -> String {
    let out = run_report(args);
    assert!(
        out.status.success(),
        "report {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn run_report(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_report"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// The default report written by the binary, and its path (once per test binary).
fn default_report() -> &'static (PathBuf, String) {
    static REPORT: OnceLock<(tempfile::TempDir, (PathBuf, String))> = OnceLock::new();
    &REPORT
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("report.html");
            let printed = report(&["--warehouse", warehouse(), "--out", out.to_str().unwrap()]);
            assert!(printed.contains("3280 attempts"), "{printed}");
            assert!(printed.contains(&format!("exam: {TOP_EXAM}")), "{printed}");
            let html = std::fs::read_to_string(&out).unwrap();
            (dir, (out, html))
        })
        .1
}

/// `query --file queries/<file> --format json` on the shared warehouse.
fn query_json(file: &str) -> String {
    let path = queries_dir().join(file);
    query(&[
        "--warehouse",
        warehouse(),
        "--file",
        path.to_str().unwrap(),
        "--format",
        "json",
    ])
}

/// `bins` (rows of `from`, `count`) with every bin of `from..=to` (missing ones 0), as the
/// report's table shows them.
fn dense(bins: &[Vec<String>], from: i64, to: i64, step: usize) -> Vec<Vec<String>> {
    (from..=to)
        .step_by(step)
        .map(|b| {
            let n = bins
                .iter()
                .find(|r| r[0] == b.to_string())
                .map_or("0".to_owned(), |r| r[1].clone());
            vec![b.to_string(), n]
        })
        .collect()
}

#[test]
fn the_totals_and_exam_popularity_are_querys_answers() {
    let (_, html) = default_report();
    assert_eq!(total(html, "total-attempts"), "3,280");
    let totals = rows_with(&query_json("report_totals.sql"), "attempts");
    assert_eq!(totals.len(), 1);
    for (id, column) in [
        ("total-attempts", "attempts"),
        ("total-user-exams", "user_exams"),
        ("total-exams", "exams"),
        ("total-questions", "questions"),
        ("total-options", "options"),
        ("total-rejects", "rejects"),
    ] {
        let shown = total(html, id).replace(',', "");
        assert_eq!(shown, totals[0][column].to_string(), "{id}");
    }
    assert_eq!(total(html, "total-rejects"), "3");
    let range = cells(&totals, &["first_event", "last_event"]);
    assert_eq!(element_text(html, "first-event"), range[0][0]);
    assert_eq!(element_text(html, "last-event"), range[0][1]);
    assert!(range[0][0] < range[0][1], "{range:?}");

    let popularity = query_json("report_exam_popularity.sql");
    let top = cells(
        &rows_with(&popularity, "exam_rank"),
        &["exam_rank", "exam_name", "attempts", "share_pct"],
    );
    let shown = table(html, "exam-popularity");
    assert_eq!(shown.len(), 21, "top 20 and the tail");
    assert_eq!(shown[..20], top[..]);
    assert_eq!(shown[0][1..3], [TOP_EXAM, "394"]);
    let tail = rows_with(&popularity, "min_attempts");
    let tail = cells(&tail, &["exams", "attempts"]);
    assert_eq!(tail[0][0], "83");
    assert_eq!(shown[20][0], "21–103");
    assert_eq!(shown[20][1], "the other 83 exams");
    assert_eq!(shown[20][2], tail[0][1]);
    let sum: i64 = shown.iter().map(|r| r[2].parse::<i64>().unwrap()).sum();
    assert_eq!(sum, 3280, "top 20 + tail = every attempt");
    assert_eq!(element_text(html, "chosen-exam"), TOP_EXAM);
}

#[test]
fn the_histograms_are_querys_answers() {
    let (_, html) = default_report();
    let scores = query_json("report_score_distribution.sql");
    let all = rows_with(&scores, "score_from_pct");
    let overall: Vec<_> = all
        .iter()
        .filter(|r| !r.contains_key("exam_name"))
        .cloned()
        .collect();
    let overall = cells(&overall, &["score_from_pct", "attempts"]);
    let shown = table(html, "score-all");
    assert_eq!(shown, dense(&overall, 0, 100, 10));
    let counted: i64 = shown.iter().map(|r| r[1].parse::<i64>().unwrap()).sum();
    assert_eq!(
        counted, 3280,
        "every attempt of the default dataset has a score"
    );
    assert!(
        shown.iter().filter(|r| r[1] != "0").count() >= 5,
        "{shown:?}"
    );

    let exam: Vec<_> = all
        .iter()
        .filter(|r| r.get("exam_name").and_then(|v| v.as_str()) == Some(TOP_EXAM))
        .cloned()
        .collect();
    let exam = cells(&exam, &["score_from_pct", "attempts"]);
    let shown = table(html, "score-exam");
    assert_eq!(shown, dense(&exam, 0, 100, 10));
    let counted: i64 = shown.iter().map(|r| r[1].parse::<i64>().unwrap()).sum();
    assert_eq!(counted, 394);

    let time = query_json("report_time_to_complete.sql");
    let bins = cells(
        &rows_with(&time, "from_minute"),
        &["from_minute", "attempts"],
    );
    let last: i64 = bins.last().unwrap()[0].parse().unwrap();
    let shown = table(html, "time-to-complete");
    assert_eq!(shown, dense(&bins, 0, last, 1));
    // The generator's attempts take 0.5 to 10.5 minutes.
    assert_eq!(shown.len(), 11, "{shown:?}");
    let summary = rows_with(&time, "median_minutes");
    assert_eq!(summary[0]["attempts"], 3280);
}

#[test]
fn question_difficulty_and_data_health_are_querys_answers() {
    let (_, html) = default_report();
    let difficulty = query_json("report_question_difficulty.sql");
    let exam: Vec<_> = rows_with(&difficulty, "correct_pct")
        .into_iter()
        .filter(|r| r["exam_name"] == TOP_EXAM)
        .collect();
    let expected = cells(
        &exam,
        &["question_id", "attempts", "correct", "correct_pct"],
    );
    let shown = table(html, "question-difficulty");
    assert!(!shown.is_empty());
    assert_eq!(shown, expected);
    let pct: Vec<f64> = shown.iter().map(|r| r[3].parse().unwrap()).collect();
    assert!(
        pct.windows(2).all(|w| w[0] <= w[1]),
        "hardest first: {pct:?}"
    );
    assert!(shown.iter().all(|r| r[1].parse::<i64>().unwrap() <= 394));

    let health = query_json("report_data_health.sql");
    let rejects = cells(
        &rows_with(&health, "error_kind"),
        &["error_kind", "rejects"],
    );
    assert_eq!(table(html, "rejects-by-kind"), rejects);
    let mut kinds: Vec<String> = rejects.iter().map(|r| r[0].clone()).collect();
    kinds.sort();
    assert_eq!(kinds, BAD_KINDS);

    let days = cells(&rows_with(&health, "day"), &["day", "events"]);
    let shown = table(html, "events-per-day");
    assert_eq!(shown, days);
    let events: i64 = shown.iter().map(|r| r[1].parse::<i64>().unwrap()).sum();
    assert_eq!(events, 3280);

    let partitions = cells(
        &rows_with(&health, "kafka_partition"),
        &[
            "topic",
            "kafka_partition",
            "events",
            "last_offset",
            "newest_event",
            "behind_newest_minutes",
        ],
    );
    let shown = table(html, "freshness");
    assert_eq!(shown, partitions);
    assert_eq!(shown.len(), 1, "one file, one partition: {shown:?}");
    assert_eq!(shown[0][2], "3280");
    assert_eq!(shown[0][5], "0.0", "the only partition is the newest");
}

#[test]
fn the_page_is_self_contained_with_a_chart_per_section() {
    let (_, html) = default_report();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for external in [
        "<script", "<link", "<img", "<iframe", "src=", "url(", "@import", "https:",
    ] {
        assert!(!html.contains(external), "the page refers to {external}");
    }
    // The only URLs are SVG's namespace (an identifier, never fetched).
    let urls = html.matches("http://").count();
    assert_eq!(
        urls,
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    assert_eq!(
        html.matches("<svg").count(),
        7,
        "one chart per section but freshness"
    );
    for axis in [
        "attempts (events)",
        "score: correct / total questions (%",
        "answered correctly (% of attempts)",
        "minutes from start to submission (1-minute bins, clipped",
        "rejected messages",
        "day of keen_timestamp (UTC)",
    ] {
        assert!(html.contains(axis), "axis {axis:?}");
    }
}

#[test]
fn every_report_query_file_is_embedded() {
    let mut on_disk: Vec<String> = std::fs::read_dir(queries_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("report_") && n.ends_with(".sql"))
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = QUERY_FILES.iter().map(|f| f.name.to_owned()).collect();
    embedded.sort();
    assert_eq!(on_disk, embedded);
    for f in QUERY_FILES {
        let text = std::fs::read_to_string(queries_dir().join(f.name)).unwrap();
        assert_eq!(text, f.sql, "{} is embedded as it is on disk", f.name);
    }
}

#[test]
fn exam_picks_the_per_exam_sections_and_an_unknown_exam_fails() {
    let exam = "Introduction to Python";
    let (html, summary) = rt()
        .block_on(render_report(
            &ReportOptions::new(warehouse(), "unused.html").with_exam(exam),
        ))
        .unwrap();
    assert_eq!(summary.exam.as_deref(), Some(exam));
    assert_eq!(summary.attempts, 3280);
    assert_eq!(element_text(&html, "chosen-exam"), exam);
    let attempts: i64 = table(&html, "score-exam")
        .iter()
        .map(|r| r[1].parse::<i64>().unwrap())
        .sum();
    let expected = crate::common::query_csv(
        warehouse(),
        &format!("select count(*) as n from assessments where exam_name = '{exam}'"),
    );
    assert_eq!(attempts.to_string(), expected[1][0]);
    assert!(attempts > 0 && attempts < 394);

    let out = run_report(&[
        "--warehouse",
        warehouse(),
        "--out",
        "/dev/null",
        "--exam",
        "No Such Exam",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\"No Such Exam\"") && stderr.contains(TOP_EXAM),
        "{stderr}"
    );
}

#[test]
fn an_empty_warehouse_gets_a_page_of_zeroes() {
    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("wh").to_str().unwrap().to_owned();
    let out = dir.path().join("report.html");
    let summary = rt()
        .block_on(async {
            hdfs_sink::Warehouse::open(&url, hdfs_sink::SinkConfig::default())
                .await
                .unwrap();
            write_report(&ReportOptions::new(&url, &out)).await
        })
        .unwrap();
    assert_eq!((summary.attempts, summary.exam.clone()), (0, None));
    let html = std::fs::read_to_string(&out).unwrap();
    assert_eq!(summary.bytes, html.len());
    assert_eq!(total(&html, "total-attempts"), "0");
    assert!(table(&html, "exam-popularity").is_empty());
    assert!(html.contains("no rows"));
    assert_eq!(
        html.matches("<svg").count(),
        7,
        "empty charts keep their axes"
    );
}

#[test]
fn chromium_renders_the_report_to_a_real_picture() {
    let browser = match crate::report_support::chromium() {
        Ok(b) => b,
        Err(why) if !cfg!(feature = "it") => {
            eprintln!(
                "SKIPPED chromium_renders_the_report_to_a_real_picture: no headless Chromium \
                 ({why}). scripts/setup-chromium installs one; scripts/test runs this test."
            );
            return;
        }
        Err(why) => panic!("headless Chromium is required with --features it: {why}"),
    };
    let (page, _) = default_report();
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("report.png");
    crate::report_support::screenshot(&browser, page, &png, (1200, 3000));
    if let Some(keep) = std::env::var_os("REPORT_SCREENSHOT") {
        std::fs::copy(&png, Path::new(&keep)).unwrap();
    }
    let image = Image::read(&png);
    assert_eq!((image.width, image.height), (1200, 3000));
    // The header band, the page background, the bars, the chosen exam's bar.
    assert_eq!(
        image.at(8, 8),
        [0x1f, 0x3b, 0x57],
        "header colour at the top left"
    );
    let background = image.share_of([0xf4, 0xf5, 0xf7]);
    let white = image.share_of([0xff, 0xff, 0xff]);
    let bars = image.share_of([0x4e, 0x79, 0xa7]);
    let chosen = image.share_of([0xf2, 0x8e, 0x2b]);
    assert!(
        background > 0.01 && background < 0.6,
        "background {background}"
    );
    assert!(white > 0.2 && white < 0.9, "cards {white}");
    assert!(bars > 0.01, "bars cover {bars} of the page");
    assert!(chosen > 0.0003, "the chosen exam's bar covers {chosen}");
    assert!(
        image.colours() > 100,
        "text is anti-aliased: {} colours",
        image.colours()
    );
    // Content reaches down the page (not one short block at the top).
    let last_row_with_bars = (0..image.height)
        .rev()
        .find(|y| (0..image.width).any(|x| image.at(x, *y) == [0x4e, 0x79, 0xa7]))
        .unwrap();
    assert!(
        last_row_with_bars > 1500,
        "bars end at row {last_row_with_bars}"
    );
}

#[cfg(feature = "it")]
#[test]
fn the_report_over_hdfs_shows_the_local_numbers() {
    let hdfs = std::env::var("IT_HDFS_URL").unwrap_or_else(|_| "hdfs://127.0.0.1:9000".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let url = format!("{hdfs}/it/report-{}-{nanos}/warehouse", std::process::id());
    let scratch = tempfile::tempdir().unwrap();
    let rt = rt();
    land_default(&rt, scratch.path(), &url);
    let (html, summary) = rt
        .block_on(render_report(&ReportOptions::new(&url, "unused.html")))
        .unwrap();
    assert_eq!(summary.attempts, 3280);
    let (_, local) = default_report();
    // The same tables but freshness (the topic is the landed file's name, the same here).
    for id in [
        "exam-popularity",
        "score-all",
        "score-exam",
        "question-difficulty",
        "time-to-complete",
        "rejects-by-kind",
        "events-per-day",
        "freshness",
    ] {
        assert_eq!(table(&html, id), table(local, id), "{id}");
    }
}
