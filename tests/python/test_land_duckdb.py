"""`land --input` output read by engines nobody here wrote: DuckDB (`delta_scan`, its Delta
extension) and Python `deltalake` (delta-rs) answer the data scientists' questions on the
default (3,280-event) dataset from the Delta tables."""

import subprocess

import pyarrow as pa

import lake


def land_default(bins, tmp_path):
    events = tmp_path / "assessment-attempts.json"
    subprocess.run([bins("generate"), "-o", str(events)], check=True)
    warehouse = tmp_path / "warehouse"
    lake.land(bins, events, warehouse)
    return warehouse


def test_duckdb_answers_the_questions(bins, duck, tmp_path):
    wh = land_default(bins, tmp_path)
    con = lake.duckdb_delta_views(duck, wh, ("raw", "assessments", "questions", "rejects"))
    assert con.execute("SELECT count(*) FROM assessments").fetchone()[0] == 3280
    assert con.execute("SELECT count(*) FROM raw").fetchone()[0] == 3280
    assert con.execute("SELECT count(*) FROM rejects").fetchone()[0] == 0
    git = con.execute("SELECT count(*) FROM assessments WHERE exam_name = 'Learning Git'").fetchone()[0]
    assert git == 394
    by_exam = con.execute(
        "SELECT exam_name, count(*) AS n FROM assessments GROUP BY exam_name ORDER BY n DESC, exam_name"
    ).fetchall()
    assert len(by_exam) == 103
    assert by_exam[0] == ("Learning Git", 394)
    least = [name for name, n in by_exam if n == by_exam[-1][1]]
    assert by_exam[-1][1] == 1 and len(least) == 4
    # The recipe's nested query, and timestamps as UTC instants.
    row = con.execute(
        "SELECT keen_timestamp, sequences.questions[1].user_incomplete FROM assessments LIMIT 1"
    ).fetchone()
    assert row[0].year == 2018 and row[0].utcoffset().total_seconds() == 0 and row[1] in (True, False)
    # The join of the recipe, through the dictionary-encoded keen_id of questions.
    joined = con.execute(
        "SELECT count(*) FROM assessments a JOIN questions q ON a.keen_id = q.keen_id"
    ).fetchone()[0]
    assert joined == con.execute("SELECT count(*) FROM questions").fetchone()[0]
    # Every offset of the file once in raw and in assessments.
    for table in ("raw", "assessments"):
        n, lo, hi, distinct = con.execute(
            f"SELECT count(*), min(_offset), max(_offset), count(DISTINCT (_partition, _offset)) FROM {table}"
        ).fetchone()
        assert (n, lo, hi, distinct) == (3280, 0, 3279, 3280), table


def test_deltalake_reads_every_table(bins, tmp_path):
    wh = land_default(bins, tmp_path)
    rows = {}
    for table in lake.ALL_TABLES:
        rows[table] = lake.deltalake_table(wh, table).num_rows
        assert rows[table] == lake.committed_rows_by_log(wh, table), table
    assert rows["raw"] == rows["assessments"] == 3280 and rows["rejects"] == 0
    options = lake.deltalake_table(wh, "options")
    assert options.schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert options.schema.field("keen_id").type == pa.string()  # dictionary-encoded in the files
    assert options.column("keen_id").to_pylist()[0] is not None
    assessments = lake.deltalake_table(wh, "assessments")
    total_q = sum(assessments.column("question_count").to_pylist())
    assert total_q == rows["questions"]
