"""What `land` writes, read by engines nobody here wrote: PySpark with delta-spark (local[2],
from the local disk and from hdfs://), Python `deltalake` (delta-rs; local and hdfs://), DuckDB
(`delta_scan`) and the project's own `query` program must give the data scientists the same
answers on the default (3,280-event) dataset, with the same timestamps (UTC instants), a
navigable nested `sequences`, and dictionary-encoded string columns read back as plain strings.

Every table (`raw`, `assessments`, `questions`, `options`, `rejects`) is a Delta Lake table
`<warehouse>/<table>/` with its `_delta_log/`. Data files are written in place before their
commit, so only a Delta reader sees exactly the committed rows; the reference answers come from
pyarrow over the files that the log (replayed in tests/python/lake.py, not by delta-rs) names.
"""

import collections
import csv
import io
import json
import os
import shutil
import subprocess
import uuid
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import lake
from lake import ALL_TABLES, EVENTS, GIT, land, land_crashing

TABLES = ("assessments", "questions", "options")


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def events_file(bins, tmp_path_factory):
    path = tmp_path_factory.mktemp("interop-events") / "assessment-attempts.json"
    subprocess.run([bins("generate"), "-o", str(path)], check=True)
    return path


@pytest.fixture(scope="session")
def local_wh(bins, events_file, tmp_path_factory):
    wh = tmp_path_factory.mktemp("interop-local") / "warehouse"
    land(bins, events_file, wh)
    return str(wh)


def hdfs_delete(spark, url):
    """Deletes an hdfs:// path through Spark's own Hadoop client."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(url)
    path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(path, True)


@pytest.fixture(scope="session")
def hdfs_wh(bins, events_file, hdfs_url, spark):
    """The same dataset landed into the test cluster's HDFS under a unique path (deleted at
    the end)."""
    url = f"{hdfs_url}/interop-spark-{uuid.uuid4().hex[:10]}"
    land(bins, events_file, url)
    yield url
    hdfs_delete(spark, url)


@pytest.fixture(scope="session")
def reference(local_wh):
    """The answers computed with pyarrow alone (compute kernels, no SQL) over the files the
    tables' logs name."""
    return pyarrow_answers(lambda table: lake.read_committed_pyarrow(local_wh, table))


@pytest.fixture(scope="session")
def expected(local_wh):
    """{table: {offset: rows}}: the rows each event of the dataset makes per table."""
    exp = lake.expected_offset_counts(local_wh)
    assert len(exp["raw"]) == len(exp["assessments"]) == EVENTS and not exp["rejects"]
    return exp


@pytest.fixture(scope="session")
def one_range(local_wh):
    """Whether one `land --input` of the dataset commits it as a single range (then a failpoint's
    hit count n counts that range's tables)."""
    return len(lake.ranges_in_log(local_wh, "raw")) == 1


# ---------------------------------------------------------------------------- answers
#
# Every engine answers the same questions; answers are lists of tuples of strings
# (booleans as true/false, nulls as ""), so that they compare across engines and with the
# CSV of the `query` program. Timestamps are compared as integer microseconds since the epoch.


def norm(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def norm_rows(rows):
    return [tuple(norm(v) for v in r) for r in rows]


# Per dialect: the few expressions that are spelled differently.
DIALECTS = {
    # Spark: arrays are 0-based; unix_micros() gives the instant in µs.
    "spark": {"first_q": "sequences.questions[0].user_incomplete", "us": "unix_micros({})", "at": "at"},
    # DuckDB: lists are 1-based; AT is a keyword.
    "duckdb": {"first_q": "sequences.questions[1].user_incomplete", "us": "epoch_us({})", "at": '"at"'},
    # DataFusion (`query`): arrays are 1-based; a UTC µs timestamp casts to its µs value.
    "datafusion": {
        "first_q": "sequences['questions'][1]['user_incomplete']",
        "us": "CAST({} AS BIGINT)",
        "at": '"at"',
    },
}


def sql_answers(run, dialect):
    """Answers of one SQL engine; `run(sql)` returns the rows as tuples."""
    d = DIALECTS[dialect]
    us = d["us"].format
    ans = {
        "count": run("SELECT count(*) FROM assessments"),
        "git": run("SELECT count(*) FROM assessments WHERE exam_name = 'Learning Git'"),
        "by_exam": run(
            "SELECT exam_name, count(*) AS n FROM assessments GROUP BY exam_name ORDER BY n DESC, exam_name"
        ),
        "first_keen_ids": run("SELECT keen_id FROM assessments ORDER BY keen_id LIMIT 10"),
        "first_question": run(
            f"SELECT keen_id, {us('keen_timestamp')}, {d['first_q']} FROM assessments ORDER BY keen_id"
        ),
        "timestamps": run(
            f"SELECT keen_id, {us('keen_timestamp')}, {us('keen_created_at')}, {us('started_at')} "
            "FROM assessments ORDER BY keen_id"
        ),
        "join": run(
            "SELECT a.keen_id, a.exam_name, q.question_index, q.question_id, q.user_incomplete "
            "FROM assessments a JOIN questions q ON a.keen_id = q.keen_id "
            "ORDER BY a.keen_id, q.question_index"
        ),
        "questions": run(
            "SELECT _topic, keen_id, user_exam_id, question_index, question_id FROM questions "
            "ORDER BY keen_id, question_index"
        ),
        "options": run(
            f"SELECT _topic, keen_id, question_index, question_id, option_index, option_id, {us(d['at'])} "
            "FROM options ORDER BY keen_id, question_index, option_index"
        ),
    }
    return {k: norm_rows(v) for k, v in ans.items()}


def pyarrow_answers(read):
    """The answers from pyarrow tables; `read(table)` returns one (with any reader)."""
    a = read("assessments")
    q = read("questions")
    o = read("options")
    us = lambda col: col.cast(pa.int64())  # noqa: E731  timestamp[us, UTC] -> µs
    s = lambda col: col.cast(pa.string())  # noqa: E731  dictionary<int32, utf8> -> utf8
    first_q = pc.struct_field(pc.list_element(pc.struct_field(a["sequences"], "questions"), 0), "user_incomplete")
    by_exam = a.group_by("exam_name").aggregate([("exam_name", "count")]).to_pylist()
    by_exam = sorted(((r["exam_name"], r["exam_name_count"]) for r in by_exam), key=lambda r: (-r[1], r[0]))

    def rows(table, sort_keys):
        t = table.sort_by([(k, "ascending") for k in sort_keys])
        return list(zip(*(t.column(c).to_pylist() for c in t.column_names)))

    ts = pa.table(
        {
            "keen_id": a["keen_id"],
            "t": us(a["keen_timestamp"]),
            "c": us(a["keen_created_at"]),
            "s": us(a["started_at"]),
        }
    )
    joined = (
        a.select(["keen_id", "exam_name"])
        .join(
            pa.table(
                {
                    "keen_id": s(q["keen_id"]),
                    "question_index": q["question_index"],
                    "question_id": q["question_id"],
                    "user_incomplete": q["user_incomplete"],
                }
            ),
            "keen_id",
        )
        .select(["keen_id", "exam_name", "question_index", "question_id", "user_incomplete"])
    )
    ans = {
        "count": [(a.num_rows,)],
        "git": [(pc.sum(pc.equal(a["exam_name"], "Learning Git")).as_py(),)],
        "by_exam": by_exam,
        "first_keen_ids": [(k,) for k in sorted(a["keen_id"].to_pylist())[:10]],
        "first_question": rows(
            pa.table({"keen_id": a["keen_id"], "t": us(a["keen_timestamp"]), "u": first_q}), ["keen_id"]
        ),
        "timestamps": rows(ts, ["keen_id"]),
        "join": rows(joined, ["keen_id", "question_index"]),
        "questions": rows(
            pa.table(
                {
                    "_topic": s(q["_topic"]),
                    "keen_id": s(q["keen_id"]),
                    "user_exam_id": s(q["user_exam_id"]),
                    "question_index": q["question_index"],
                    "question_id": q["question_id"],
                }
            ),
            ["keen_id", "question_index"],
        ),
        "options": rows(
            pa.table(
                {
                    "_topic": s(o["_topic"]),
                    "keen_id": s(o["keen_id"]),
                    "question_index": o["question_index"],
                    "question_id": s(o["question_id"]),
                    "option_index": o["option_index"],
                    "option_id": o["option_id"],
                    "at": us(o["at"]),
                }
            ),
            ["keen_id", "question_index", "option_index"],
        ),
    }
    return {k: norm_rows(v) for k, v in ans.items()}


def spark_views(spark, root):
    """Registers every table as a Spark temp view over its Delta table at `root` (local path
    or hdfs:// URL), read with delta-spark."""
    for table in ALL_TABLES:
        lake.spark_delta(spark, root, table).createOrReplaceTempView(table)
    return lambda sql: [tuple(r) for r in spark.sql(sql).collect()]


def duckdb_run(con, wh):
    lake.duckdb_delta_views(con, wh, ALL_TABLES)
    return lambda sql: con.execute(sql).fetchall()


def query_run(query_bin, wh):
    def run(sql):
        out = subprocess.run(
            [query_bin, "--warehouse", str(wh), "--sql", sql, "--format", "csv"],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, f"query failed on {sql!r}: {out.stderr}"
        rows = list(csv.reader(io.StringIO(out.stdout)))
        assert rows, f"query printed no CSV header for {sql!r}"
        return [tuple(r) for r in rows[1:]]

    return run


def assert_same(got, want, engine):
    assert set(got) == set(want)
    for key in want:
        assert got[key] == want[key], f"{engine}: answer {key!r} differs from pyarrow's"


# ---------------------------------------------------------------------------- the questions


def test_reference_answers_are_the_known_ones(reference):
    """pyarrow alone (the reference for every other engine) gives the known answers."""
    assert reference["count"] == [(str(EVENTS),)]
    assert reference["git"] == [(str(GIT),)]
    by_exam = reference["by_exam"]
    assert by_exam[0] == ("Learning Git", str(GIT))
    least = [name for name, n in by_exam if n == "1"]
    assert by_exam[-1][1] == "1" and len(least) == 4
    assert len(reference["first_question"]) == EVENTS
    assert len(reference["join"]) == len(reference["questions"]) > EVENTS
    # Every event has at least one question and its first one answers user_incomplete.
    assert {u for _, _, u in reference["first_question"]} <= {"true", "false"}


def test_deltalake_gives_the_same_answers(local_wh, reference):
    assert_same(pyarrow_answers(lambda t: lake.deltalake_table(local_wh, t)), reference, "deltalake (local)")


def test_deltalake_on_hdfs_gives_the_same_answers(hdfs_wh, reference):
    """delta-rs's Python package reads hdfs:// itself (its wheel has the native hdfs-native
    client: no libhdfs, no JVM)."""
    assert hdfs_wh.startswith("hdfs://")
    assert_same(pyarrow_answers(lambda t: lake.deltalake_table(hdfs_wh, t)), reference, "deltalake (hdfs)")


def test_duckdb_delta_scan_gives_the_same_answers(duck, local_wh, reference):
    assert_same(sql_answers(duckdb_run(duck, local_wh), "duckdb"), reference, "duckdb delta_scan")


def test_spark_local_gives_the_same_answers(spark, local_wh, reference):
    assert_same(sql_answers(spark_views(spark, local_wh), "spark"), reference, "spark delta (local)")


def test_spark_hdfs_gives_the_same_answers(spark, hdfs_wh, reference):
    assert hdfs_wh.startswith("hdfs://")
    assert_same(sql_answers(spark_views(spark, hdfs_wh), "spark"), reference, "spark delta (hdfs)")


def test_query_program_gives_the_same_answers(query_bin, local_wh, reference):
    assert_same(sql_answers(query_run(query_bin, local_wh), "datafusion"), reference, "query (local)")


def test_query_program_on_hdfs_gives_the_same_answers(query_bin, hdfs_wh, reference):
    assert_same(sql_answers(query_run(query_bin, hdfs_wh), "datafusion"), reference, "query (hdfs)")


# ---------------------------------------------------------------------------- the recipe, verbatim


RECIPE_1 = "select keen_id from assessments limit 10"
RECIPE_2 = "select keen_timestamp, sequences.questions[0].user_incomplete from assessments limit 10"


@pytest.mark.parametrize("where", ["local", "hdfs"])
def test_spark_runs_the_recipe_queries_verbatim(spark, where, request, reference):
    """The recipe's own three queries, as written for Spark, on the landed Delta tables."""
    root = request.getfixturevalue("local_wh" if where == "local" else "hdfs_wh")
    spark_views(spark, root)
    keen_ids = {r[0] for r in reference["first_question"]}
    pairs = {(r[1], r[2]) for r in reference["first_question"]}

    ids = [r[0] for r in spark.sql(RECIPE_1).collect()]
    assert len(ids) == len(set(ids)) == 10 and set(ids) <= keen_ids

    df = spark.sql(RECIPE_2).toDF("ts", "user_incomplete")
    assert dict(df.dtypes) == {"ts": "timestamp", "user_incomplete": "boolean"}
    got = df.selectExpr("unix_micros(ts)", "user_incomplete").collect()
    assert len(got) == 10 and {(norm(t), norm(u)) for t, u in got} <= pairs

    joined = spark.sql(
        "select a.keen_id, a.keen_timestamp, q.question_id, q.user_incomplete "
        "from assessments a join questions q on a.keen_id = q.keen_id"
    )
    assert joined.count() == len(reference["questions"])


def test_duckdb_runs_the_recipe_queries(duck, local_wh, reference):
    """The same three queries in DuckDB over delta_scan (its lists are 1-based, so `[1]` for
    the recipe's `[0]`)."""
    run = duckdb_run(duck, local_wh)
    keen_ids = {r[0] for r in reference["first_question"]}
    pairs = {(r[1], r[2]) for r in reference["first_question"]}
    ids = [r[0] for r in run(RECIPE_1)]
    assert len(ids) == len(set(ids)) == 10 and set(ids) <= keen_ids
    got = run(
        "select epoch_us(keen_timestamp), sequences.questions[1].user_incomplete from assessments limit 10"
    )
    assert len(got) == 10 and set(norm_rows(got)) <= pairs
    joined = run("select count(*) from assessments a join questions q on a.keen_id = q.keen_id")
    assert joined == [(len(reference["questions"]),)]


# ---------------------------------------------------------------------------- types in Spark


def test_spark_types_timestamps_nesting_and_dictionaries(spark, local_wh, reference):
    """Timestamps are instants (TimestampType, shown in the UTC session time zone exactly as
    pyarrow shows them), `sequences` is a navigable struct whose explode gives the flat
    tables, and dictionary-encoded strings are plain strings."""
    from pyspark.sql.types import StringType, StructType, TimestampType

    spark_views(spark, local_wh)
    a = spark.table("assessments")
    fields = {f.name: f.dataType for f in a.schema.fields}
    for col in ("keen_timestamp", "keen_created_at", "started_at"):
        assert isinstance(fields[col], TimestampType), col
    assert isinstance(fields["_topic"], StringType)
    assert isinstance(fields["sequences"], StructType)
    for table, cols in {
        "questions": ("_topic", "keen_id", "user_exam_id"),
        "options": ("_topic", "keen_id", "question_id"),
        "raw": ("_topic",),
    }.items():
        t = {f.name: f.dataType for f in spark.table(table).schema.fields}
        for col in cols:
            assert isinstance(t[col], StringType), f"{table}.{col} is {t[col]}"
    assert isinstance({f.name: f.dataType for f in spark.table("raw").schema.fields}["_timestamp"], TimestampType)

    # The same wall-clock text in UTC as pyarrow's (session time zone = UTC).
    got = spark.sql(
        "SELECT keen_id, date_format(started_at, 'yyyy-MM-dd HH:mm:ss.SSSSSS') FROM assessments ORDER BY keen_id"
    ).collect()
    pa_a = lake.read_committed_pyarrow(local_wh, "assessments").sort_by("keen_id")
    want = [
        (k, None if t is None else t.strftime("%Y-%m-%d %H:%M:%S.%f"))
        for k, t in zip(pa_a["keen_id"].to_pylist(), pa_a["started_at"].to_pylist())
    ]
    assert [tuple(r) for r in got] == want
    assert all(t is None or t.utcoffset().total_seconds() == 0 for t in pa_a["started_at"].to_pylist()[:5])

    # Nested: sizes, deep timestamps, and the recipe's explode into flat tables.
    assert spark.sql("SELECT count(*) FROM assessments WHERE size(sequences.questions) != question_count").first()[0] == 0
    deep = spark.sql(
        "SELECT keen_id, unix_micros(sequences.questions[0].options[0].at), sequences.counts.total, total "
        "FROM assessments ORDER BY keen_id"
    ).collect()
    opts = {(r[1], r[2], r[4]): r[6] for r in reference["options"]}
    for keen_id, at, nested_total, flat_total in deep:
        assert nested_total == flat_total
        first_opt = opts.get((keen_id, "0", "0"))
        if first_opt is not None:
            assert norm(at) == first_opt
    exploded = spark.sql(
        "SELECT keen_id, pos AS question_index, q.id AS question_id FROM assessments "
        "LATERAL VIEW posexplode(sequences.questions) t AS pos, q ORDER BY keen_id, question_index"
    ).collect()
    assert norm_rows(exploded) == [(r[1], r[3], r[4]) for r in reference["questions"]]
    n_options = spark.sql(
        "SELECT count(*) FROM assessments LATERAL VIEW explode(sequences.questions) t AS q "
        "LATERAL VIEW explode(q.options) u AS o"
    ).first()[0]
    assert n_options == len(reference["options"])


# ---------------------------------------------------------------------------- Delta tables


def test_every_table_is_a_delta_table_with_its_columns(spark, duck, local_wh):
    """The five tables are Delta tables (Spark's DESCRIBE DETAIL says format delta) whose
    columns Spark, deltalake and DuckDB name alike; a clean landing leaves no orphan: the
    table directory holds exactly the files the log names, and the log replay here names the
    files delta-rs names."""
    from deltalake import DeltaTable

    for table in ALL_TABLES:
        path = f"{local_wh}/{table}"
        assert os.path.isdir(f"{path}/_delta_log"), f"{table} has no _delta_log/"
        detail = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").first()
        assert detail["format"] == "delta", detail
        dt = DeltaTable(path)
        names = [f.name for f in dt.schema().fields]
        assert [f.name for f in lake.spark_delta(spark, local_wh, table).schema.fields] == names
        assert [r[0] for r in duck.execute(f"DESCRIBE SELECT * FROM delta_scan('{path}')").fetchall()] == names
        assert names[:3] == lake.PROVENANCE
        if table in lake.COLUMNS:
            assert names == lake.COLUMNS[table]
        active = set(lake.active_files(lake.read_log(local_wh, table)))
        assert {unquote(p) for p in active} == {os.path.relpath(unquote(u), path) for u in dt.file_uris()}
        on_disk = {
            os.path.relpath(os.path.join(d, f), path)
            for d, _, fs in os.walk(path)
            if "_delta_log" not in d
            for f in fs
            if f.endswith(".parquet")
        }
        assert on_disk == {unquote(p) for p in active}, f"{table}: orphan files after a clean landing"


def test_delta_log_is_not_read_as_data(spark, local_wh):
    """`_delta_log/` (JSON commits; checkpoints every 100 versions) sits inside each table
    directory: a plain Parquet read of a clean table skips it (Spark and pyarrow skip
    `_`-prefixed paths), and a Delta read counts the committed rows."""
    log = os.listdir(f"{local_wh}/assessments/_delta_log")
    assert log and all(f.endswith(".json") or f.startswith("_") or f.startswith(".") for f in log), log
    assert spark.read.parquet(f"{local_wh}/assessments").count() == EVENTS
    assert pq.read_table(f"{local_wh}/assessments").num_rows == EVENTS
    assert lake.spark_delta(spark, local_wh, "assessments").count() == EVENTS


@pytest.mark.parametrize("where", ["local", "hdfs"])
def test_empty_rejects_table_reads_as_zero_rows_with_its_schema(spark, duck, where, request):
    """Clean data makes no reject, yet `rejects` exists as a Delta table with its schema (no
    data file): Spark, deltalake (and DuckDB locally) read 0 rows with the right columns."""
    root = request.getfixturevalue("local_wh" if where == "local" else "hdfs_wh")
    names = lake.COLUMNS["rejects"]

    df = lake.spark_delta(spark, root, "rejects")
    assert df.count() == 0
    assert [(f.name, f.dataType.simpleString()) for f in df.schema.fields] == list(
        zip(names, lake.REJECTS_TYPES["spark"])
    )

    t = lake.deltalake_table(root, "rejects")
    assert t.num_rows == 0
    assert [(f.name, str(f.type)) for f in t.schema] == list(zip(names, lake.REJECTS_TYPES["arrow"]))
    assert {f.name for f in t.schema if not f.nullable} == lake.REJECTS_NOT_NULL
    assert lake.committed_rows_by_log(root, "rejects", spark) == 0

    if where == "local":
        assert not [f for f in os.listdir(f"{root}/rejects") if f.endswith(".parquet")]
        assert duck.execute(f"SELECT count(*) FROM delta_scan('{root}/rejects')").fetchone()[0] == 0
        cols = duck.execute(f"DESCRIBE SELECT * FROM delta_scan('{root}/rejects')").fetchall()
        assert [(c[0], c[1]) for c in cols] == list(zip(names, lake.REJECTS_TYPES["duckdb"]))


def assert_log_matches_readers(spark, duck, root, tables_counts):
    """Per table, the sum of `hdfsSink.rows[table]` over its log equals what the readers count;
    every range commit balances raw = assessments + rejects, names the same rows in every
    table's log, and carries txn(kafka/<topic>/<partition>, end)."""
    from deltalake import DeltaTable

    by_nonce = collections.defaultdict(dict)
    for table in ALL_TABLES:
        entries = lake.sink_entries(lake.read_log(root, table, spark))
        assert entries, f"{table}: no hdfsSink commit"
        for e in entries:
            assert e["version"] == 1 and e["kind"] in ("range", "gap"), e
            assert {"topic", "partition", "start", "end", "tableStart", "nonce", "rows", "committedAtMs"} <= set(e)
            assert [(t["appId"], t["version"]) for t in e["_txns"]] == [
                (f"kafka/{e['topic']}/{e['partition']}", e["end"])
            ], e["_txns"]
            if e["kind"] != "range":
                continue
            rows = e["rows"]
            assert set(rows) == set(ALL_TABLES), rows
            assert rows["raw"] == rows["assessments"] + rows["rejects"], rows
            assert rows["raw"] == e["end"] - e["start"] + 1, e
            # The Add actions of this commit hold the table's rows of the range.
            if e["tableStart"] == e["start"]:
                n = sum(json.loads(a["stats"])["numRecords"] for a in e["_adds"])
                assert n == rows[table], (table, e)
            by_nonce[e["nonce"]][table] = rows
        assert lake.committed_rows_by_log(root, table, spark) == tables_counts[table], table
        # delta-rs reads the same application transaction versions from the log.
        ends = collections.defaultdict(lambda: -1)
        for e in entries:
            ends[(e["topic"], e["partition"])] = max(ends[(e["topic"], e["partition"])], e["end"])
        dt = DeltaTable(f"{root}/{table}")
        for (topic, partition), end in ends.items():
            assert dt.transaction_version(f"kafka/{topic}/{partition}") == end, (table, topic, partition)
    for nonce, per_table in by_nonce.items():
        assert len({tuple(sorted(r.items())) for r in per_table.values()}) == 1, (nonce, per_table)


@pytest.mark.parametrize("where", ["local", "hdfs"])
def test_commit_info_row_counts_match_the_readers(spark, duck, where, request):
    root = request.getfixturevalue("local_wh" if where == "local" else "hdfs_wh")
    counts = {}
    for table in ALL_TABLES:
        n = lake.deltalake_table(root, table).num_rows
        assert lake.spark_delta(spark, root, table).count() == n, table
        if where == "local":
            assert duck.execute(f"SELECT count(*) FROM delta_scan('{root}/{table}')").fetchone()[0] == n
        counts[table] = n
    assert counts["raw"] == counts["assessments"] + counts["rejects"] == EVENTS
    assert_log_matches_readers(spark, duck, root, counts)


def test_commit_info_is_in_deltalake_history(local_wh):
    """delta-rs's own history() shows the same hdfsSink entries as the JSON log."""
    from deltalake import DeltaTable

    for table in ALL_TABLES:
        hist = [h for h in DeltaTable(f"{local_wh}/{table}").history() if "hdfsSink" in h]
        ours = lake.sink_entries(lake.read_log(local_wh, table))
        strip = lambda e: {k: v for k, v in e.items() if not k.startswith("_")}  # noqa: E731
        assert sorted((h["hdfsSink"] for h in hist), key=lambda e: e["end"]) == sorted(
            (strip(e) for e in ours), key=lambda e: e["end"]
        ), table


def test_rejects_land_in_the_rejects_table_and_balance(spark, duck, bins, events_file, tmp_path):
    """A file with bad lines: every reader sees them in `rejects`, raw = assessments +
    rejects in the readers and in the log."""
    good = [json.dumps(e, separators=(",", ":")) for e in json.loads(events_file.read_text())[:200]]
    bad = ["not json at all", '{"keen_id": 1}', "[1, 2, 3]", '{"truncated":']
    lines = good[:50] + bad[:2] + good[50:120] + bad[2:] + good[120:]
    src = tmp_path / "with-rejects.ndjson"
    src.write_text("\n".join(lines) + "\n")
    wh = tmp_path / "warehouse"
    land(bins, src, wh, expect=len(lines))

    counts = {t: lake.deltalake_table(wh, t).num_rows for t in ALL_TABLES}
    for table, n in counts.items():
        assert lake.spark_delta(spark, wh, table).count() == n, table
        assert duck.execute(f"SELECT count(*) FROM delta_scan('{wh}/{table}')").fetchone()[0] == n, table
    assert counts["rejects"] == len(bad) and counts["assessments"] == len(good)
    assert counts["raw"] == counts["assessments"] + counts["rejects"] == len(lines)
    rejected = duck.execute(f"SELECT _offset, error_kind FROM delta_scan('{wh}/rejects') ORDER BY _offset").fetchall()
    assert [o for o, _ in rejected] == [50, 51, 122, 123]
    assert {k for _, k in rejected} <= {"malformed_json", "not_an_object", "missing_field", "wrong_type"}
    values = dict(spark.sql(f"SELECT _offset, cast(value AS string) FROM delta.`{wh}/rejects`").collect())
    assert [values[o] for o in (50, 51, 122, 123)] == bad
    assert_log_matches_readers(spark, duck, str(wh), counts)


# ---------------------------------------------------------------------------- only committed data
#
# A second landing (topic b.json, the same events) is killed at an hdfs-sink failpoint
# (hdfs-sink/src/failpoint.rs; SINK_CRASH_AT=<point>[:<n>] aborts the process the n-th time it
# passes there). The commit closes every file, then makes one Delta commit per table, in order:
# whatever the moment, each table holds either none or the whole of the range, and `land` run
# again lands what is missing, so that every table holds every offset exactly once.

# Before the first table's commit: no table has the range.
BEFORE_ANY_COMMIT = ["write.before_create", "write.after_batch", "commit.before_close", "commit.after_close", "commit.before_log"]
# Between two tables' commits: commit.after_log:n = after the n-th table committed.
BETWEEN_COMMITS = ["commit.after_log:1", "commit.after_log:2", "commit.before_log:4", "commit.after_log:4"]
# Every table committed, the process dies before it returns.
AFTER_ALL_COMMITS = ["commit.after_all", "commit.after_cleanup"]


def crashed_second_landing(bins, events_file, tmp_path, crash_at, root=None):
    """A warehouse (local, or `root`) holding one committed landing (topic a.json) and a
    second landing (topic b.json, same events) killed at `crash_at`: the state a reader finds
    until `land` runs again."""
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    shutil.copy(events_file, a)
    shutil.copy(events_file, b)
    wh = root or (tmp_path / "warehouse")
    land(bins, a, wh)
    land_crashing(bins, b, wh, crash_at)
    return wh, b


def reader_counts(spark, duck, root, table):
    """{(topic, partition, offset): rows} of a table, the same in every Delta reader (Spark,
    deltalake, and DuckDB for a local warehouse)."""
    got = {
        "deltalake": lake.offset_counts_arrow(lake.deltalake_table(root, table)),
        "spark": lake.offset_counts_spark(lake.spark_delta(spark, root, table)),
    }
    if duck is not None:
        got["duckdb"] = lake.offset_counts_duckdb(duck, f"delta_scan('{root}/{table}')")
    for name, c in got.items():
        assert c == got["deltalake"], f"{table}: {name} reads other rows than deltalake"
    return got["deltalake"]


def per_topic(counts, topic):
    return {o: n for (t, _, o), n in counts.items() if t == topic}


def check_warehouse(spark, duck, root, expected, landed_b):
    """Every reader sees, per table, exactly the whole committed ranges (a.json's, and b.json's
    where its log has it), each offset with the rows the event makes; `landed_b` is None
    (either), True or False. Returns the tables that hold b.json."""
    holding_b = set()
    for table in ALL_TABLES:
        counts = reader_counts(spark, duck, root, table)
        lake.assert_exactly_the_committed_ranges(root, table, counts, expected[table], spark)
        assert per_topic(counts, "a.json") == expected[table], f"{table}: a.json is not whole"
        b = per_topic(counts, "b.json")
        b_in_log = any(r[0] == "b.json" for r in lake.ranges_in_log(root, table, spark))
        if b_in_log:
            holding_b.add(table)
        if table != "rejects":
            assert b in ({}, expected[table]), f"{table}: a part of b.json's range is visible"
            assert bool(b) == b_in_log, table
        if landed_b is not None:
            assert b_in_log == landed_b, f"{table}: b.json {'missing' if landed_b else 'visible'}"
    return holding_b


@pytest.mark.parametrize("crash_at", BEFORE_ANY_COMMIT + BETWEEN_COMMITS + AFTER_ALL_COMMITS)
def test_a_crash_leaves_each_table_with_none_or_all_of_the_range_and_land_completes_it(
    spark, duck, bins, events_file, expected, one_range, tmp_path, crash_at
):
    wh, b = crashed_second_landing(bins, events_file, tmp_path, crash_at)
    holding = check_warehouse(
        spark, duck, wh, expected, False if crash_at in BEFORE_ANY_COMMIT else True if crash_at in AFTER_ALL_COMMITS else None
    )
    if crash_at in BETWEEN_COMMITS and one_range:
        point, n = crash_at.split(":")
        committed = int(n) if point == "commit.after_log" else int(n) - 1
        assert len(holding) == committed, f"after {crash_at}: tables with b.json: {sorted(holding)}"
    # Run again: recovery resumes each partition where the tables' txns say; a table that
    # already holds the range is skipped. Then every table holds every offset exactly once.
    land(bins, b, wh, expect=None)
    check_warehouse(spark, duck, wh, expected, True)
    counts = {t: lake.deltalake_table(wh, t).num_rows for t in ALL_TABLES}
    assert counts["raw"] == counts["assessments"] + counts["rejects"] == 2 * EVENTS
    assert_log_matches_readers(spark, duck, str(wh), counts)
    # A third run lands nothing.
    land(bins, b, wh, expect=None)
    assert {t: lake.deltalake_table(wh, t).num_rows for t in ALL_TABLES} == counts


def test_a_crash_on_hdfs_between_table_commits_is_all_or_nothing_per_table(
    spark, bins, events_file, expected, one_range, hdfs_url, tmp_path
):
    """The same on the MiniDFS, read with Spark and deltalake over hdfs://."""
    url = f"{hdfs_url}/interop-crash-{uuid.uuid4().hex[:10]}"
    try:
        wh, b = crashed_second_landing(bins, events_file, tmp_path, "commit.after_log:2", root=url)
        holding = check_warehouse(spark, None, wh, expected, None)
        if one_range:
            assert len(holding) == 2, sorted(holding)
        land(bins, b, wh, expect=None)
        check_warehouse(spark, None, wh, expected, True)
        counts = {t: lake.deltalake_table(wh, t).num_rows for t in ALL_TABLES}
        assert counts["raw"] == counts["assessments"] + counts["rejects"] == 2 * EVENTS
        assert_log_matches_readers(spark, None, wh, counts)
    finally:
        hdfs_delete(spark, url)


def test_plain_read_parquet_sees_uncommitted_files_after_a_crash_but_delta_scan_does_not(
    spark, duck, bins, events_file, tmp_path
):
    """The README's warning, shown: the range's files are complete in the table directories
    before the first Delta commit; killed there, a plain Parquet read of a directory (DuckDB
    read_parquet, pyarrow, Spark's parquet source) counts those uncommitted rows, while
    delta_scan (and every Delta reader) does not. Nothing deletes such orphans (a live writer
    might still commit them), so after `land` runs again the plain read counts them twice."""
    wh, b = crashed_second_landing(bins, events_file, tmp_path, "commit.before_log")
    plain = f"read_parquet('{wh}/assessments/*.parquet')"
    delta = f"delta_scan('{wh}/assessments')"
    count = lambda src: duck.execute(f"SELECT count(*) FROM {src}").fetchone()[0]  # noqa: E731
    orphans = set(f for f in os.listdir(wh / "assessments") if f.endswith(".parquet")) - {
        unquote(p) for p in lake.active_files(lake.read_log(wh, "assessments"))
    }
    assert orphans and all(f.startswith("b.json-") for f in orphans), orphans
    assert count(plain) == 2 * EVENTS  # the uncommitted range is visible to a plain reader
    assert pq.read_table(wh / "assessments").num_rows == 2 * EVENTS
    assert spark.read.parquet(str(wh / "assessments")).count() == 2 * EVENTS
    assert count(delta) == EVENTS  # only the committed landing
    assert lake.spark_delta(spark, wh, "assessments").count() == EVENTS

    land(bins, b, wh, expect=None)
    assert count(delta) == 2 * EVENTS
    assert count(plain) == 3 * EVENTS  # the orphans stay: read the tables as Delta


def test_query_program_reads_only_committed_ranges(query_bin, bins, events_file, tmp_path):
    wh, _ = crashed_second_landing(bins, events_file, tmp_path, "commit.before_log")
    run = query_run(query_bin, wh)
    assert run("SELECT count(*) FROM assessments") == [(str(EVENTS),)]


# ---------------------------------------------------------------------------- query --out


def test_parquet_written_by_query_out_is_readable_by_spark(query_bin, spark, local_wh, tmp_path, reference):
    out = tmp_path / "by_exam.parquet"
    sql = "SELECT exam_name, count(*) AS n FROM assessments GROUP BY exam_name ORDER BY n DESC, exam_name"
    done = subprocess.run(
        [query_bin, "--warehouse", local_wh, "--sql", sql, "--out", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    got = spark.read.parquet(str(out)).orderBy("n", "exam_name", ascending=[False, True]).collect()
    assert norm_rows(got) == reference["by_exam"]
