//! `query` on a warehouse in the MiniDFS of `scripts/test-cluster` (feature `it`): the same
//! answers as locally, through `hdfs://`, and `--out hdfs://…`.

#![cfg(feature = "it")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{land_default, queries_dir, query, query_csv};
use arrow::array::AsArray as _;
use arrow::datatypes::Int64Type;
use assessment_query::{register_warehouse, run_sql, session};

fn hdfs() -> String {
    std::env::var("IT_HDFS_URL").unwrap_or_else(|_| "hdfs://127.0.0.1:9000".into())
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

#[test]
fn queries_over_hdfs_give_the_local_answers() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let base = format!("{}/it/{}", hdfs(), unique("query"));
    let url = format!("{base}/warehouse");
    land_default(&rt, scratch.path(), &url);

    // Through the library.
    let counts = rt.block_on(async {
        let ctx = session();
        let registered = register_warehouse(&ctx, &url).await.unwrap();
        assert_eq!(registered.table("assessments").unwrap().rows, 3280);
        let results = run_sql(
            &ctx,
            "select count(*) from assessments; \
             select count(*) from assessments where exam_name = 'Learning Git'; \
             select count(*) from raw",
        )
        .await
        .unwrap();
        results
            .iter()
            .map(|r| r.batches[0].column(0).as_primitive::<Int64Type>().value(0))
            .collect::<Vec<_>>()
    });
    assert_eq!(counts, [3280, 394, 3283]);

    // Through the binary.
    assert_eq!(
        query_csv(&url, "select count(*) as n from assessments"),
        [["n"], ["3280"]]
    );
    let least = query_csv(
        &url,
        "select exam_name, count(*) as n from assessments group by exam_name having count(*) = 1",
    );
    assert_eq!(least.len(), 1 + 4);
    assert_eq!(
        query_csv(
            &url,
            "select exam_name, count(*) as n from assessments group by exam_name order by n desc limit 1"
        ),
        [["exam_name", "n"], ["Learning Git", "394"]]
    );
    let recipe = query(&[
        "-w",
        &url,
        "-f",
        queries_dir().join("recipe.sql").to_str().unwrap(),
        "--format",
        "csv",
    ]);
    // Three results of 10 rows, each with a header.
    assert_eq!(recipe.lines().count(), 3 * 11, "{recipe}");

    // --out to HDFS, read back through DataFusion.
    let out = format!("{base}/out/assessment_info.parquet");
    query(&[
        "-w",
        &url,
        "--sql",
        "select * from assessments",
        "--out",
        &out,
    ]);
    let rows = rt.block_on(async {
        let ctx = session();
        // Registers the HDFS object store for the read below.
        register_warehouse(&ctx, &url).await.unwrap();
        let df = ctx.sql("select 1").await.unwrap();
        assessment_query::write_parquet(&ctx, df, &format!("{base}/out/one.parquet"))
            .await
            .unwrap();
        ctx.register_parquet("written", &out, Default::default())
            .await
            .unwrap();
        let r = run_sql(&ctx, "select count(*) from written").await.unwrap();
        r[0].batches[0]
            .column(0)
            .as_primitive::<Int64Type>()
            .value(0)
    });
    assert_eq!(rows, 3280);
}
