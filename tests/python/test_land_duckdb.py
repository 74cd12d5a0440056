"""`land --input` output read by engines nobody here wrote: DuckDB and pyarrow answer the data
scientists' questions on the default (3,280-event) dataset."""

import subprocess

import duckdb
import pyarrow.parquet as pq


def land_default(bins, tmp_path):
    events = tmp_path / "assessment-attempts.json"
    subprocess.run([bins("generate"), "-o", str(events)], check=True)
    warehouse = tmp_path / "warehouse"
    out = subprocess.run(
        [bins("land"), "--input", str(events), "--warehouse", str(warehouse)],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "landed 3280 messages" in out.stdout
    return warehouse


def test_duckdb_answers_the_questions(bins, tmp_path):
    wh = land_default(bins, tmp_path)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW assessments AS SELECT * FROM read_parquet('{wh}/assessments/*.parquet')")
    con.execute(f"CREATE VIEW raw AS SELECT * FROM read_parquet('{wh}/raw/*.parquet')")
    assert con.execute("SELECT count(*) FROM assessments").fetchone()[0] == 3280
    assert con.execute("SELECT count(*) FROM raw").fetchone()[0] == 3280
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
    assert row[0].year == 2018 and row[1] in (True, False)
    # The join of the recipe, through the dictionary-encoded keen_id of questions.
    con.execute(f"CREATE VIEW questions AS SELECT * FROM read_parquet('{wh}/questions/*.parquet')")
    joined = con.execute(
        "SELECT count(*) FROM assessments a JOIN questions q ON a.keen_id = q.keen_id"
    ).fetchone()[0]
    assert joined == con.execute("SELECT count(*) FROM questions").fetchone()[0]


def test_pyarrow_reads_every_table(bins, tmp_path):
    wh = land_default(bins, tmp_path)
    rows = {}
    for table in ("raw", "assessments", "questions", "options"):
        t = pq.read_table(wh / table)
        rows[table] = t.num_rows
    assert rows["raw"] == rows["assessments"] == 3280
    options = pq.read_table(wh / "options")
    assert str(options.schema.field("at").type) == "timestamp[us, tz=UTC]"
    assert options.column("keen_id").to_pylist()[0] is not None
    assessments = pq.read_table(wh / "assessments")
    total_q = sum(assessments.column("question_count").to_pylist())
    assert total_q == rows["questions"]
