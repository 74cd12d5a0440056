"""Helpers shared by the Python tests: running `land`, and reading a warehouse of Delta Lake
tables (`<root>/<table>/_delta_log/`) with readers nobody here wrote — Spark (delta-spark),
Python `deltalake` (delta-rs), DuckDB (`delta_scan`) — and with a minimal replay of the log's
JSON written here (independent of delta-rs, which `land` itself writes with).

A table's directory may hold Parquet files no commit added (orphans of a crashed range):
only a Delta reader (or the log replay) gives the committed rows. Plain `read_parquet` of a
directory is used in the tests only to show that hazard.
"""

import collections
import glob
import json
import os
import pathlib
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

EVENTS = 3280
GIT = 394
ALL_TABLES = ("raw", "assessments", "questions", "options", "rejects")
# Column names per table (schema/src/tables.rs); offsets are `_offset`, partitions `_partition`.
PROVENANCE = ["_topic", "_partition", "_offset"]
COLUMNS = {
    "raw": PROVENANCE + ["_timestamp", "key", "value"],
    "rejects": PROVENANCE + ["_timestamp", "key", "value", "error_kind", "error_path", "error"],
}
# The rejects table's columns and types as each reader names them (dictionary-encoded
# `_topic` reads as a plain string everywhere).
REJECTS_TYPES = {
    "arrow": ["string", "int32", "int64", "timestamp[us, tz=UTC]", "binary", "binary", "string", "string", "string"],
    "spark": ["string", "int", "bigint", "timestamp", "binary", "binary", "string", "string", "string"],
    "duckdb": [
        "VARCHAR",
        "INTEGER",
        "BIGINT",
        "TIMESTAMP WITH TIME ZONE",
        "BLOB",
        "BLOB",
        "VARCHAR",
        "VARCHAR",
        "VARCHAR",
    ],
}
# Not null in the schema crate: the provenance, error_kind and error.
REJECTS_NOT_NULL = {"_topic", "_partition", "_offset", "error_kind", "error"}


# ---------------------------------------------------------------------------- land


def land(bins, events, warehouse, env=None, check=True, expect=EVENTS, args=()):
    """Runs `land --input events --warehouse warehouse`; with `check`, asserts it exits 0 and
    says it landed `expect` messages (None: any)."""
    out = subprocess.run(
        [bins("land"), "--input", str(events), "--warehouse", str(warehouse), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, RUST_LOG="warn", **(env or {})),
    )
    if check:
        assert out.returncode == 0, f"land failed ({out.returncode}):\n{out.stderr}\n{out.stdout}"
        if expect is not None:
            assert f"landed {expect} messages" in out.stdout, out.stdout
    return out


def land_crashing(bins, events, warehouse, crash_at):
    """Runs `land` with `SINK_CRASH_AT=crash_at` (hdfs-sink/src/failpoint.rs) and asserts that
    it aborted there."""
    out = land(bins, events, warehouse, env={"SINK_CRASH_AT": crash_at}, check=False)
    point = crash_at.split(":")[0]
    assert out.returncode != 0 and f"aborting at {point}" in out.stderr, (
        f"land did not abort at {crash_at} (exit {out.returncode}):\n{out.stderr}\n{out.stdout}"
    )
    return out


# ---------------------------------------------------------------------------- the Delta log


def _parse_commit(version, text):
    c = {"version": version, "commitInfo": None, "adds": [], "removes": [], "txns": [], "metaData": None}
    for line in text.splitlines():
        if not line.strip():
            continue
        action = json.loads(line)
        if "commitInfo" in action:
            c["commitInfo"] = action["commitInfo"]
        elif "add" in action:
            c["adds"].append(action["add"])
        elif "remove" in action:
            c["removes"].append(action["remove"])
        elif "txn" in action:
            c["txns"].append(action["txn"])
        elif "metaData" in action:
            c["metaData"] = action["metaData"]
    return c


def read_log(root, table, spark=None):
    """Every commit of a table's `_delta_log/` (JSON files, oldest first), parsed here:
    {version, commitInfo, adds, removes, txns, metaData}. A local path is read directly; an
    hdfs:// URL through Spark's Hadoop client (`spark` needed)."""
    log = f"{root}/{table}/_delta_log"
    if str(root).startswith("hdfs://"):
        assert spark is not None, "reading an hdfs:// log needs Spark"
        files = spark.sparkContext.wholeTextFiles(f"{log}/*.json").collect()
    else:
        files = [(p, pathlib.Path(p).read_text()) for p in glob.glob(f"{log}/*.json")]
    commits = []
    for path, text in files:
        name = os.path.basename(path)
        stem = name[: -len(".json")]
        if not stem.isdigit():
            continue
        commits.append(_parse_commit(int(stem), text))
    commits.sort(key=lambda c: c["version"])
    assert commits, f"{log} has no commit"
    assert [c["version"] for c in commits] == list(range(len(commits))), (
        f"{log}: versions are not 0..n (a checkpoint replaced cleaned-up commits?)"
    )
    return commits


def active_files(commits):
    """Replays adds and removes: the relative paths of the table's active data files."""
    live = {}
    for c in commits:
        for r in c["removes"]:
            live.pop(r["path"], None)
        for a in c["adds"]:
            live[a["path"]] = a
    return live


def sink_entries(commits):
    """The `hdfsSink` entries of a table's commits (the commits `land` made), with the
    commit's txns."""
    out = []
    for c in commits:
        info = c["commitInfo"] or {}
        if "hdfsSink" in info:
            out.append(dict(info["hdfsSink"], _version=c["version"], _txns=c["txns"], _adds=c["adds"]))
    return out


def committed_rows_by_log(root, table, spark=None):
    """Rows of a table according to its log: the sum of `hdfsSink.rows[table]` over its range
    commits (kind "range")."""
    return sum(e["rows"].get(table, 0) for e in sink_entries(read_log(root, table, spark)) if e["kind"] == "range")


def read_committed_pyarrow(root, table):
    """pyarrow alone over the files the log (replayed here, not by delta-rs) says are active.
    None for a table without active files."""
    files = active_files(read_log(root, table))
    if not files:
        return None
    from urllib.parse import unquote

    paths = [os.path.join(str(root), table, unquote(p)) for p in sorted(files)]
    return pq.read_table(paths)


# ---------------------------------------------------------------------------- readers


def deltalake_table(uri, table):
    """The committed rows of a table with Python `deltalake` (delta-rs); `uri` is a local path
    or an hdfs:// URL."""
    from deltalake import DeltaTable

    return DeltaTable(f"{uri}/{table}").to_pyarrow_table()


def spark_delta(spark, root, table):
    """A table of the warehouse at `root` (local path or hdfs:// URL) as a Spark DataFrame,
    read through delta-spark."""
    return spark.read.format("delta").load(f"{root}/{table}")


def duckdb_extension_path():
    """The Delta extension shipped by the `duckdb-extension-delta` wheel for this DuckDB."""
    import duckdb

    try:
        import duckdb_extension_delta
    except ImportError:
        pytest.fail("the Python package duckdb-extension-delta is missing: run scripts/setup")
    base = pathlib.Path(duckdb_extension_delta.__file__).parent / "extensions"
    path = base / f"v{duckdb.__version__}" / "delta.duckdb_extension"
    if not path.is_file():
        found = sorted(str(p) for p in base.glob("*/delta.duckdb_extension"))
        pytest.fail(
            f"no DuckDB Delta extension for DuckDB {duckdb.__version__} at {path} (found: {found or 'none'}); "
            "run scripts/setup (it pins duckdb and duckdb-extension-delta to the same version)"
        )
    return str(path)


def duckdb_delta_connect():
    """A DuckDB connection in UTC with the Delta extension loaded from the wheel's file (DuckDB
    cannot download extensions here; the wheel's extension is signed, so no
    allow_unsigned_extensions is needed)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"LOAD '{duckdb_extension_path()}'")
    con.execute("SET TimeZone = 'UTC'")
    return con


def duckdb_delta_views(con, root, tables):
    for table in tables:
        con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM delta_scan('{root}/{table}')")
    return con


# ---------------------------------------------------------------------------- per-offset counts


def offset_counts_arrow(t):
    """{(topic, partition, offset): rows} of a pyarrow table."""
    if t is None or t.num_rows == 0:
        return collections.Counter()
    g = (
        pa.table(
            {
                "_topic": t["_topic"].cast(pa.string()),
                "_partition": t["_partition"],
                "_offset": t["_offset"],
            }
        )
        .group_by(["_topic", "_partition", "_offset"])
        .aggregate([("_offset", "count")])
    )
    return collections.Counter(
        {
            (tp, p, o): n
            for tp, p, o, n in zip(
                g["_topic"].to_pylist(),
                g["_partition"].to_pylist(),
                g["_offset"].to_pylist(),
                g["_offset_count"].to_pylist(),
            )
        }
    )


def offset_counts_spark(df):
    rows = df.groupBy("_topic", "_partition", "_offset").count().collect()
    return collections.Counter({(r[0], r[1], r[2]): r[3] for r in rows})


def offset_counts_duckdb(con, source):
    rows = con.execute(
        f"SELECT _topic, _partition, _offset, count(*) FROM {source} GROUP BY ALL"
    ).fetchall()
    return collections.Counter({(t, p, o): n for t, p, o, n in rows})


def expected_offset_counts(root):
    """{table: {offset: rows}} of a reference warehouse `root` holding one landing of one file
    (read with pyarrow over the files its log names): how many rows each event (offset) makes
    in each table. Tables without a row give {}."""
    out = {}
    for table in ALL_TABLES:
        got = offset_counts_arrow(read_committed_pyarrow(root, table))
        assert len({(t, p) for t, p, _ in got}) <= 1, f"{root}/{table} holds more than one topic-partition"
        out[table] = {o: n for (_, _, o), n in got.items()}
    return out


def ranges_in_log(root, table, spark=None):
    """The committed ranges of a table, from its log: [(topic, partition, tableStart, end,
    rows of every table)] of the "range" commits."""
    return [
        (e["topic"], e["partition"], e["tableStart"], e["end"], e["rows"])
        for e in sink_entries(read_log(root, table, spark))
        if e["kind"] == "range"
    ]


def assert_exactly_the_committed_ranges(root, table, counts, expected, spark=None):
    """A reader's {(topic, partition, offset): rows} of `table` holds exactly the ranges its log
    commits, each whole and once: every offset of a committed range with as many rows as the
    event makes (`expected`: {offset: rows}), no offset outside them, no range twice."""
    covered = collections.Counter()
    for topic, partition, start, end, rows in ranges_in_log(root, table, spark):
        for o in range(start, end + 1):
            covered[(topic, partition, o)] += 1
    twice = [k for k, n in covered.items() if n > 1]
    assert not twice, f"{table}: offsets committed twice in the log: {twice[:5]}"
    want = collections.Counter({k: expected.get(k[2], 0) for k in covered if expected.get(k[2], 0)})
    if counts != want:
        extra = sorted(set(counts) - set(want))[:5]
        missing = sorted(set(want) - set(counts))[:5]
        dup = sorted(k for k in counts if k in want and counts[k] != want[k])[:5]
        pytest.fail(
            f"{root}/{table}: the rows are not exactly the committed ranges: outside them {extra}, "
            f"missing {missing}, wrong row counts at {dup}"
        )
