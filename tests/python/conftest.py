"""Shared fixtures: the project's binaries, built once per test session, a local PySpark
session on Java 17 with Delta Lake (delta-spark; shared: Spark takes 15-30 s to start on the
2-core machine), and DuckDB with its Delta extension."""

import glob
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(
    os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/assessment-lake/target"))
)
# The programs the Python tests run are the test build's own (`target/debug`): the command
# below is scripts/test's test step with `--no-run`, so after that step it builds nothing (a
# release build of the landing binaries was the slowest part of a cold run, and the 3,280-event
# dataset lands in about a second without optimization).
BUILD = ["cargo", "test", "--workspace", "--all-targets", "--features", "it", "--no-run", "-q"]
# NO_BUILD=1 uses the binaries already in $CARGO_TARGET_DIR as they are (e.g. while the tree
# is mid-edit); scripts/test never sets it.
NO_BUILD = os.environ.get("NO_BUILD") == "1"


@pytest.fixture(scope="session")
def bins():
    """Builds the workspace's test targets once per session (a no-op after scripts/test's test
    step) and returns a name -> path function for its programs (`generate`, `land`, ...)."""
    if not NO_BUILD:
        env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET))
        subprocess.run(BUILD, cwd=ROOT, env=env, check=True)

    def path(name):
        p = TARGET / "debug" / name
        assert p.exists(), f"{p} was not built (NO_BUILD=1 needs a previous `{' '.join(BUILD)}`)"
        return str(p)

    return path


@pytest.fixture(scope="session")
def query_bin(bins):
    """The `query` program (package assessment-query)."""
    return bins("query")


def _java_major(home):
    try:
        out = subprocess.run(
            [os.path.join(home, "bin", "java"), "-version"], capture_output=True, text=True, timeout=30
        ).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2)) if major == 1 and m.group(2) else major


def java17_home():
    """A Java for Spark 4.0, found like scripts/test-cluster does: $TEST_CLUSTER_JAVA_HOME,
    $JAVA_HOME, `java` on PATH, then /usr/lib/jvm; Java 17 preferred, 21 accepted."""
    cands = [os.environ.get("TEST_CLUSTER_JAVA_HOME"), os.environ.get("JAVA_HOME")]
    java = subprocess.run(["sh", "-c", "command -v java"], capture_output=True, text=True).stdout.strip()
    if java:
        cands.append(os.path.dirname(os.path.dirname(os.path.realpath(java))))
    cands += sorted(glob.glob("/usr/lib/jvm/*17*")) + sorted(glob.glob("/usr/lib/jvm/*"))
    found, fallback = [], None
    for c in cands:
        if not c or not os.path.isfile(os.path.join(c, "bin", "java")):
            continue
        major = _java_major(c)
        found.append(f"Java {major} at {c}")
        if major == 17:
            return os.path.realpath(c)
        if major == 21 and fallback is None:
            fallback = os.path.realpath(c)
    if fallback:
        return fallback
    pytest.fail(
        "PySpark 4.0 needs Java 17 (or 21); found: "
        + ("; ".join(found) or "none")
        + ". Install openjdk-17-jdk-headless or set TEST_CLUSTER_JAVA_HOME."
    )


# delta-spark for PySpark 4.0.0 (Scala 2.13): scripts/setup fetches delta-spark and
# delta-storage (PySpark bundles the rest, e.g. antlr4-runtime 4.13.1) into this directory.
DELTA_SPARK_VERSION = "4.0.0"
DELTA_SPARK_ARTIFACTS = ("delta-spark_2.13", "delta-storage")


def delta_spark_jars():
    """The delta-spark jars scripts/setup fetched, or a failure saying to run it."""
    cache = os.environ.get("ASSESSMENT_LAKE_SPARK_JARS") or os.path.expanduser("~/.cache/assessment-lake/spark-jars")
    d = pathlib.Path(cache) / f"delta-spark-{DELTA_SPARK_VERSION}"
    jars = [d / f"{a}-{DELTA_SPARK_VERSION}.jar" for a in DELTA_SPARK_ARTIFACTS]
    missing = [str(j) for j in jars if not j.is_file()]
    if missing or not (d / ".complete").is_file():
        pytest.fail(
            f"the Delta Lake jars for Spark are missing ({', '.join(missing) or f'{d}/.complete'}): "
            "run scripts/setup (it fetches io.delta:delta-spark_2.13:4.0.0 and delta-storage with Maven "
            "into $ASSESSMENT_LAKE_SPARK_JARS, default ~/.cache/assessment-lake/spark-jars)"
        )
    return [str(j) for j in jars]


@pytest.fixture(scope="session")
def spark():
    """One local[2] SparkSession for the whole test session, bound to 127.0.0.1 only, no UI,
    session time zone UTC, with Delta Lake (format "delta", `delta.`path`` tables)."""
    jars = delta_spark_jars()
    os.environ["JAVA_HOME"] = java17_home()
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    scratch = tempfile.mkdtemp(prefix="interop-spark-")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("assessment-lake-interop-tests")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.warehouse.dir", os.path.join(scratch, "spark-warehouse"))
        .config("spark.local.dir", scratch)
        .config("spark.jars", ",".join(jars))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        # Delta rebuilds a table's state in a job of 50 partitions by default: 2 cores here.
        .config("spark.databricks.delta.snapshotPartitions", "2")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def duck():
    """A DuckDB connection (UTC) with the Delta extension loaded: `delta_scan('<path>')`."""
    import lake

    con = lake.duckdb_delta_connect()
    yield con
    con.close()


@pytest.fixture(scope="session")
def hdfs_url():
    """The test cluster's HDFS (`scripts/test` exports IT_HDFS_URL), or a skip."""
    url = os.environ.get("IT_HDFS_URL")
    if not url:
        pytest.skip("IT_HDFS_URL is not set: run through scripts/test, or `scripts/test-cluster up` "
                    "and export IT_HDFS_URL=hdfs://127.0.0.1:9000")
    return url.rstrip("/")
