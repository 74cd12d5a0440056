"""Baseline for `land --input`: DuckDB turns an NDJSON event file into the same three flat
Parquet tables (assessments, questions, options), zstd, with 2 threads.

Usage: python duckdb_flat_tables.py EVENTS.ndjson OUT_DIR [--with-sequences]
Prints one line: `duckdb_seconds=<float> assessments=<n> questions=<n> options=<n>`.

`--with-sequences` also writes the nested `sequences` struct (as read) into assessments, as
`land` does by default: the same three tables as land's default layout.
"""

import os
import sys
import time

import duckdb

OPTION = 'STRUCT(id VARCHAR, checked BOOLEAN, correct BOOLEAN, submitted BIGINT, "at" VARCHAR)'
QUESTION = (
    "STRUCT(id VARCHAR, user_result VARCHAR, user_correct BOOLEAN, user_incomplete BOOLEAN, "
    f"user_submitted BOOLEAN, options {OPTION}[])"
)
COUNTS = (
    "STRUCT(incomplete BIGINT, submitted BIGINT, incorrect BIGINT, all_correct BOOLEAN, "
    "correct BIGINT, total BIGINT, unanswered BIGINT)"
)
COLUMNS = {
    "keen_id": "VARCHAR",
    "keen_timestamp": "VARCHAR",
    "keen_created_at": "VARCHAR",
    "started_at": "VARCHAR",
    "base_exam_id": "VARCHAR",
    "user_exam_id": "VARCHAR",
    "exam_name": "VARCHAR",
    "certification": "VARCHAR",
    "max_attempts": "VARCHAR",
    "sequences": f"STRUCT(id VARCHAR, attempt BIGINT, counts {COUNTS}, questions {QUESTION}[])",
}


def main() -> None:
    src, out = sys.argv[1], sys.argv[2]
    nested = ", sequences" if "--with-sequences" in sys.argv[3:] else ""
    os.makedirs(out, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET threads = 2")
    cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items()) + "}"
    started = time.perf_counter()
    con.execute(
        f"CREATE TEMP TABLE ev AS SELECT * FROM read_ndjson('{src}', columns = {cols}, format = 'newline_delimited')"
    )
    con.execute(
        f"""COPY (
          SELECT keen_id,
                 make_timestamp(CAST(CAST(keen_timestamp AS DECIMAL(24,7)) * 1000000 AS BIGINT)) AS keen_timestamp,
                 make_timestamp(CAST(CAST(keen_created_at AS DECIMAL(24,7)) * 1000000 AS BIGINT)) AS keen_created_at,
                 CAST(started_at AS TIMESTAMPTZ) AS started_at,
                 base_exam_id, user_exam_id, exam_name,
                 CAST(certification AS BOOLEAN) AS certification,
                 CAST(max_attempts AS DOUBLE) AS max_attempts,
                 sequences.id AS sequence_id, sequences.attempt AS attempt,
                 sequences.counts.incomplete, sequences.counts.submitted, sequences.counts.incorrect,
                 sequences.counts.all_correct, sequences.counts.correct, sequences.counts.total,
                 sequences.counts.unanswered,
                 len(sequences.questions) AS question_count{nested}
          FROM ev) TO '{out}/assessments.parquet' (FORMAT parquet, COMPRESSION zstd)"""
    )
    con.execute(
        f"""CREATE TEMP TABLE q AS
          SELECT keen_id, user_exam_id,
                 unnest(range(len(sequences.questions))) AS question_index,
                 unnest(sequences.questions) AS q
          FROM ev"""
    )
    con.execute(
        f"""COPY (
          SELECT keen_id, user_exam_id, question_index, q.id AS question_id, q.user_result,
                 q.user_correct, q.user_incomplete, q.user_submitted, len(q.options) AS option_count
          FROM q) TO '{out}/questions.parquet' (FORMAT parquet, COMPRESSION zstd)"""
    )
    con.execute(
        f"""COPY (
          SELECT keen_id, question_index, question_id, option_index,
                 o.id AS option_id, o.checked, o.correct, o.submitted, CAST(o.at AS TIMESTAMPTZ) AS at
          FROM (SELECT keen_id, question_index, q.id AS question_id,
                       unnest(range(len(q.options))) AS option_index, unnest(q.options) AS o
                FROM q)) TO '{out}/options.parquet' (FORMAT parquet, COMPRESSION zstd)"""
    )
    elapsed = time.perf_counter() - started
    counts = [
        con.execute(f"SELECT count(*) FROM read_parquet('{out}/{t}.parquet')").fetchone()[0]
        for t in ("assessments", "questions", "options")
    ]
    print(
        f"duckdb_seconds={elapsed:.3f} assessments={counts[0]} questions={counts[1]} options={counts[2]}"
    )


if __name__ == "__main__":
    main()
