//! `query` on a local warehouse holding the default dataset (3,280 events) and 3 bad
//! messages: the data scientists' answers through the library and the binary, the recipe's
//! queries, every file of `queries/`, `--out`, and uncommitted files staying invisible.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::{BAD_KINDS, land_default, queries_dir, query, query_csv};
use arrow::array::{AsArray as _, RecordBatch};
use arrow::datatypes::Int64Type;
use assessment_query::{Format, QueryResult, register_warehouse, run_sql, session, write_result};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// The shared warehouse (landed once per test binary; tests only read it).
fn warehouse() -> &'static str {
    static DIR: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let wh = dir.path().join("warehouse");
        let url = wh.to_str().unwrap().to_owned();
        land_default(&rt(), dir.path(), &url);
        (dir, url)
    })
    .1
}

/// Runs `sql` (one statement) on `url` through the library.
fn sql(url: &str, sql: &str) -> QueryResult {
    let rt = rt();
    rt.block_on(async {
        let ctx = session();
        register_warehouse(&ctx, url).await.unwrap();
        let mut results = run_sql(&ctx, sql).await.unwrap();
        assert_eq!(results.len(), 1);
        results.pop().unwrap()
    })
}

fn single_i64(result: &QueryResult) -> i64 {
    assert_eq!(result.num_rows(), 1, "{}", result.sql);
    result
        .batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .unwrap()
        .column(0)
        .as_primitive::<Int64Type>()
        .value(0)
}

fn strings(batches: &[RecordBatch], col: usize) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            let c = arrow::compute::cast(b.column(col), &arrow::datatypes::DataType::Utf8).unwrap();
            c.as_string::<i32>()
                .iter()
                .map(|s| s.unwrap_or("NULL").to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_library_answers_the_questions() {
    let url = warehouse();
    assert_eq!(
        single_i64(&sql(url, "select count(*) from assessments")),
        3280
    );
    assert_eq!(single_i64(&sql(url, "select count(*) from raw")), 3283);
    assert_eq!(
        single_i64(&sql(
            url,
            "select count(*) from assessments where exam_name = 'Learning Git'"
        )),
        394
    );
    let kinds = sql(url, "select error_kind from rejects order by error_kind");
    assert_eq!(strings(&kinds.batches, 0), BAD_KINDS);

    let per_exam = sql(
        url,
        "select exam_name, count(*) as n from assessments group by exam_name order by n desc, exam_name",
    );
    let names = strings(&per_exam.batches, 0);
    let counts: Vec<i64> = strings(&per_exam.batches, 1)
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(names[0], "Learning Git");
    assert_eq!(counts[0], 394);
    assert!(counts[1] < 394);
    assert_eq!(counts.iter().sum::<i64>(), 3280);
    assert_eq!(counts.iter().filter(|n| **n == 1).count(), 4);
    assert_eq!(*counts.last().unwrap(), 1);
}

#[test]
fn registration_reports_committed_tables() {
    let url = warehouse();
    let registered = rt().block_on(async {
        let ctx = session();
        register_warehouse(&ctx, url).await.unwrap()
    });
    let names: Vec<&str> = registered.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["assessments", "options", "questions", "raw", "rejects"]
    );
    assert_eq!(registered.ranges, 2, "one range per landed file");
    assert_eq!(registered.table("assessments").unwrap().rows, 3280);
    assert_eq!(registered.table("rejects").unwrap().rows, 3);
    assert!(
        registered
            .table("raw")
            .unwrap()
            .partition_columns
            .is_empty()
    );
}

#[test]
fn the_recipe_queries_run_as_written() {
    let url = warehouse();
    let ids = sql(url, "select keen_id from assessments limit 10");
    assert_eq!(ids.num_rows(), 10);
    assert!(
        strings(&ids.batches, 0)
            .iter()
            .all(|s| !s.is_empty() && s != "NULL")
    );

    // As written (Spark's 0-based index): runs, and yields NULL (index 0 is out of range).
    let zero = sql(
        url,
        "select keen_timestamp, sequences.questions[0].user_incomplete from assessments limit 10",
    );
    assert_eq!(zero.num_rows(), 10);
    assert!(strings(&zero.batches, 1).iter().all(|s| s == "NULL"));
    // 1-based: the first question, as in Spark's [0].
    let one = sql(
        url,
        "select keen_timestamp, sequences.questions[1].user_incomplete from assessments limit 10",
    );
    assert_eq!(one.num_rows(), 10);
    assert!(
        strings(&one.batches, 1)
            .iter()
            .any(|s| s == "false" || s == "true")
    );
    // ... which is the questions table's question_index 0, on every assessment.
    let mismatches = sql(
        url,
        "select count(*) from assessments a join questions q \
         on a.keen_id = q.keen_id and q.question_index = 0 \
         where a.sequences.questions[1].user_incomplete is distinct from q.user_incomplete \
            or a.sequences.questions[1].id is distinct from q.question_id",
    );
    assert_eq!(single_i64(&mismatches), 0);

    let joined = sql(
        url,
        "select q.keen_id, a.keen_timestamp, q.question_id from assessments a join questions q on a.keen_id = q.keen_id limit 10",
    );
    assert_eq!(joined.num_rows(), 10);
    assert_eq!(joined.schema.fields().len(), 3);
}

#[test]
fn every_query_file_runs_and_returns_rows() {
    let url = warehouse();
    let mut files: Vec<PathBuf> = std::fs::read_dir(queries_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(files.len() >= 7, "{files:?}");
    let rt = rt();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.starts_with("--"),
            "{} starts with a comment",
            file.display()
        );
        let results = rt.block_on(async {
            let ctx = session();
            register_warehouse(&ctx, url).await.unwrap();
            run_sql(&ctx, &text).await
        });
        let results = results.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(!results.is_empty());
        for r in &results {
            assert!(
                r.num_rows() > 0,
                "{}: no rows from {}",
                file.display(),
                r.sql
            );
        }
    }
    // The binary runs a file too (every statement, CSV header each).
    let out = query(&[
        "--warehouse",
        url,
        "--file",
        queries_dir().join("exam_popularity.sql").to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert_eq!(out.matches("exam_name,assessments\n").count(), 3, "{out}");
    assert!(out.contains("Learning Git,394\n"), "{out}");
}

#[test]
fn the_query_files_give_the_known_answers() {
    let url = warehouse();
    let file = |name: &str| queries_dir().join(name).to_str().unwrap().to_owned();
    let count = query(&[
        "-w",
        url,
        "-f",
        &file("assessment_count.sql"),
        "--format",
        "csv",
    ]);
    let mut lines = count.lines();
    assert_eq!(
        lines.next(),
        Some("assessments,distinct_events,distinct_user_exams,exams")
    );
    assert!(lines.next().unwrap().starts_with("3280,"), "{count}");

    let git = query(&[
        "-w",
        url,
        "-f",
        &file("learning_git.sql"),
        "--format",
        "csv",
    ]);
    assert!(git.lines().nth(1).unwrap().starts_with("394,"), "{git}");

    let rejects = query(&[
        "-w",
        url,
        "-f",
        &file("rejects_by_kind.sql"),
        "--format",
        "csv",
    ]);
    assert!(rejects.contains("valid event,3280,"), "{rejects}");
    for kind in BAD_KINDS {
        assert!(rejects.contains(&format!("{kind},1,")), "{rejects}");
    }
}

#[test]
fn the_binary_prints_csv_json_and_tables() {
    let url = warehouse();
    assert_eq!(
        query_csv(url, "select count(*) as n from assessments"),
        [["n"], ["3280"]]
    );
    assert_eq!(
        query_csv(
            url,
            "select count(*) as n from assessments where exam_name = 'Learning Git'"
        ),
        [["n"], ["394"]]
    );
    let least = query_csv(
        url,
        "select exam_name, count(*) as n from assessments group by exam_name having count(*) = 1 order by exam_name",
    );
    assert_eq!(least.len(), 1 + 4);
    assert!(least[1..].iter().all(|r| r.last().unwrap() == "1"));
    let most = query_csv(
        url,
        "select exam_name, count(*) as n from assessments group by exam_name order by n desc limit 1",
    );
    assert_eq!(most, [["exam_name", "n"], ["Learning Git", "394"]]);

    // Several statements: each result in turn; an empty result still has its header.
    let two = query(&[
        "-w",
        url,
        "--sql",
        "select 1 as a; select keen_id from assessments where false",
        "--format",
        "csv",
    ]);
    assert_eq!(two, "a\n1\nkeen_id\n");

    // Nested columns in CSV: their display string, quoted.
    let nested = query_csv(url, "select sequences.counts from assessments limit 1");
    assert!(nested[1][0].starts_with("\"{incomplete: "), "{nested:?}");

    let json = query(&[
        "-w",
        url,
        "--sql",
        "select keen_id, sequences.questions[1] as q from assessments limit 3",
        "--format",
        "json",
    ]);
    assert_eq!(json.lines().count(), 3);
    assert!(
        json.lines()
            .all(|l| l.starts_with("{\"keen_id\":\"") && l.contains("\"q\":{\"id\":")),
        "{json}"
    );

    let table = query(&[
        "-w",
        url,
        "--sql",
        "select keen_id from assessments limit 10",
    ]);
    assert!(table.contains("| keen_id"), "{table}");
    assert!(table.ends_with("10 rows\n\n"), "{table}");

    // SQL read from standard input when it is not a terminal.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_query"))
        .args(["-w", url, "--format", "csv"])
        .stdin(std::fs::File::open(queries_dir().join("learning_git.sql")).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().contains("\n394,"));
}

#[test]
fn errors_name_the_statement_and_fail_the_binary() {
    let url = warehouse();
    let rt = rt();
    let err = rt.block_on(async {
        let ctx = session();
        register_warehouse(&ctx, url).await.unwrap();
        run_sql(&ctx, "select 1; select nope from assessments")
            .await
            .unwrap_err()
    });
    match &err {
        assessment_query::Error::Sql { sql, .. } => assert!(sql.contains("nope"), "{sql}"),
        other => panic!("{other:?}"),
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_query"))
        .args(["-w", url, "--sql", "select nope from assessments"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));

    let missing = rt.block_on(async {
        register_warehouse(&session(), "/nonexistent/warehouse")
            .await
            .unwrap_err()
    });
    assert!(
        matches!(missing, assessment_query::Error::Warehouse { .. }),
        "{missing}"
    );
}

fn parquet_rows(path: &Path) -> (usize, Vec<String>) {
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap();
    let names = reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let rows = reader.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
    (rows, names)
}

#[test]
fn out_writes_one_parquet_file() {
    let url = warehouse();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("assessment_info.parquet");
    let printed = query(&[
        "-w",
        url,
        "--sql",
        "select * from assessments",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(printed.is_empty(), "{printed}");
    assert!(out.is_file(), "one file, not a directory");
    let (rows, names) = parquet_rows(&out);
    assert_eq!(rows, 3280);
    assert!(names.iter().any(|n| n == "sequences"));
    assert_eq!(
        names.len(),
        assessment_schema::tables::schema(assessment_schema::tables::Table::Assessments)
            .fields()
            .len()
    );

    // Replaced on a second run; the result of the last statement is written.
    query(&[
        "-w",
        url,
        "--sql",
        "select 1; select keen_id, exam_name from assessments where exam_name = 'Learning Git'",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        parquet_rows(&out),
        (394, vec!["keen_id".into(), "exam_name".into()])
    );
}

#[test]
fn uncommitted_and_orphan_files_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let url = wh.to_str().unwrap().to_owned();
    let input = dir.path().join("ten.ndjson");
    let events: Vec<String> = examples::generator::Generator::new(7, 10).collect();
    std::fs::write(&input, events.join("\n")).unwrap();
    rt().block_on(async {
        let warehouse = hdfs_sink::Warehouse::open(&url, hdfs_sink::SinkConfig::default())
            .await
            .unwrap();
        examples::land::land_file(
            &input,
            warehouse,
            &Default::default(),
            Box::new(examples::land::Silent),
        )
        .await
        .unwrap();
    });
    assert_eq!(
        single_i64(&sql(&url, "select count(*) from assessments")),
        10
    );

    // Copies of a committed file: as a stray file, as the file of a range without a marker
    // (a writer killed before its commit), and in a date directory; plus a temp file.
    let committed = std::fs::read_dir(wh.join("assessments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "parquet"))
        .unwrap();
    let table_dir = wh.join("assessments");
    for copy in [
        table_dir.join("orphan.parquet"),
        table_dir.join("ten.ndjson+0+00000000000000000010+00000000000000000019.parquet"),
        table_dir.join("date=2024-01-01").join("x.parquet"),
        wh.join("_tmp")
            .join("ten.ndjson+0+00000000000000000010+abc")
            .join("assessments.parquet"),
    ] {
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy(&committed, &copy).unwrap();
    }
    assert_eq!(
        single_i64(&sql(&url, "select count(*) from assessments")),
        10
    );
    assert_eq!(
        single_i64(&sql(
            &url,
            "select count(distinct keen_id) from assessments"
        )),
        10
    );

    // A committed file that disappeared fails the query instead of counting fewer rows.
    std::fs::remove_file(&committed).unwrap();
    let rt = rt();
    let err = rt.block_on(async {
        let ctx = session();
        register_warehouse(&ctx, &url).await.unwrap();
        run_sql(&ctx, "select count(*) from assessments")
            .await
            .unwrap_err()
    });
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn date_partitioned_tables_get_a_date_column() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let url = wh.to_str().unwrap().to_owned();
    let input = dir.path().join("events.ndjson");
    let events: Vec<String> = examples::generator::Generator::new(42, 500).collect();
    std::fs::write(&input, events.join("\n")).unwrap();
    rt().block_on(async {
        let config = hdfs_sink::SinkConfig::builder()
            .with_date_partitioning("assessments", "keen_timestamp")
            .build()
            .unwrap();
        let warehouse = hdfs_sink::Warehouse::open(&url, config).await.unwrap();
        examples::land::land_file(
            &input,
            warehouse,
            &Default::default(),
            Box::new(examples::land::Silent),
        )
        .await
        .unwrap();
    });
    assert!(std::fs::read_dir(wh.join("assessments")).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("date=")
    }));
    assert_eq!(
        single_i64(&sql(&url, "select count(*) from assessments")),
        500
    );
    // The partition column agrees with the timestamp it was derived from, on every row.
    assert_eq!(
        single_i64(&sql(
            &url,
            "select count(*) from assessments where date = cast(keen_timestamp as date)"
        )),
        500
    );
    // A filter on it prunes directories and still counts right.
    let busiest = sql(
        &url,
        "select cast(date as varchar) as d, count(*) as n from assessments group by 1 order by n desc, d limit 1",
    );
    let day = strings(&busiest.batches, 0)[0].clone();
    let n: i64 = strings(&busiest.batches, 1)[0].parse().unwrap();
    assert_eq!(
        single_i64(&sql(
            &url,
            &format!("select count(*) from assessments where date = date '{day}'")
        )),
        n
    );
    assert_eq!(
        single_i64(&sql(
            &url,
            &format!(
                "select count(*) from assessments where cast(keen_timestamp as date) = date '{day}'"
            )
        )),
        n
    );
}

#[test]
fn write_result_formats() {
    let result = sql(warehouse(), "select 'a,b' as s, cast(null as int) as n");
    let mut csv = Vec::new();
    write_result(&result, Format::Csv, &mut csv).unwrap();
    assert_eq!(String::from_utf8(csv).unwrap(), "s,n\n\"a,b\",\n");
    let mut json = Vec::new();
    write_result(&result, Format::Json, &mut json).unwrap();
    assert_eq!(
        String::from_utf8(json).unwrap(),
        "{\"s\":\"a,b\",\"n\":null}\n"
    );
    let mut table = Vec::new();
    write_result(&result, Format::Table, &mut table).unwrap();
    let table = String::from_utf8(table).unwrap();
    assert!(table.contains("| a,b |"), "{table}");
    assert!(table.ends_with("1 row\n"));
}

#[test]
fn a_table_landed_with_sequences_refuses_a_flat_landing() {
    use examples::generator::{Format, Generator};
    use examples::land::{FileLandOptions, Silent, land_file};
    use hdfs_sink::{SinkConfig, Warehouse};

    let dir = tempfile::tempdir().unwrap();
    let url = dir.path().join("wh").to_str().unwrap().to_owned();
    let rt = rt();
    let mut outcomes = Vec::new();
    for (name, nested) in [("nested.ndjson", true), ("flat.ndjson", false)] {
        let input = dir.path().join(name);
        let mut f = std::fs::File::create(&input).unwrap();
        Generator::new(if nested { 1 } else { 2 }, 50)
            .write_all(&mut f, Format::Ndjson)
            .unwrap();
        drop(f);
        let mut opts = FileLandOptions::default();
        opts.land.flatten.nested_sequences = nested;
        outcomes.push(rt.block_on(async {
            let warehouse = Warehouse::open(&url, SinkConfig::default()).await.unwrap();
            land_file(&input, warehouse, &opts, Box::new(Silent)).await
        }));
    }
    assert!(outcomes[0].is_ok(), "{:?}", outcomes[0]);
    // A Delta table has one schema: the flat landing is refused before anything is written,
    // saying what differs and what to do.
    let err = outcomes[1].as_ref().unwrap_err().chain();
    assert!(err.contains("\"sequences\""), "{err}");
    assert!(err.contains("another warehouse"), "{err}");
    let r = sql(
        &url,
        "select count(*) from assessments where sequences.questions[1].id is not null \
         and _topic = 'nested.ndjson'",
    );
    assert_eq!(single_i64(&r), 50);
    assert_eq!(
        single_i64(&sql(&url, "select count(*) from assessments")),
        50
    );
}
