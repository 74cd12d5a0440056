"""Shared fixtures: the project's binaries, built once per test session, and a local PySpark
session on Java 17 (shared: Spark takes 15-30 s to start on the 2-core machine)."""

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
# The example programs the Python tests run (release); build only these.
BINS = ("generate", "land")
# NO_BUILD=1 uses the binaries already in $CARGO_TARGET_DIR as they are (e.g. while the tree
# is mid-edit); scripts/test never sets it.
NO_BUILD = os.environ.get("NO_BUILD") == "1"


@pytest.fixture(scope="session")
def bins():
    """Builds the example programs the tests use (release) and returns a name -> path function."""
    env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET))
    cmd = ["cargo", "build", "--release", "-p", "examples"]
    for b in BINS:
        cmd += ["--bin", b]
    if not NO_BUILD:
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    return lambda name: str(TARGET / "release" / name)


@pytest.fixture(scope="session")
def query_bin():
    """The `query` program (package assessment-query, debug build)."""
    env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET))
    if not NO_BUILD:
        subprocess.run(["cargo", "build", "-p", "assessment-query", "--bin", "query"], cwd=ROOT, env=env, check=True)
    path = TARGET / "debug" / "query"
    assert path.exists(), f"{path} was not built (NO_BUILD=1 needs a previous build)"
    return str(path)


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


@pytest.fixture(scope="session")
def spark():
    """One local[2] SparkSession for the whole test session, bound to 127.0.0.1 only, no UI,
    session time zone UTC."""
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
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def hdfs_url():
    """The test cluster's HDFS (`scripts/test` exports IT_HDFS_URL), or a skip."""
    url = os.environ.get("IT_HDFS_URL")
    if not url:
        pytest.skip("IT_HDFS_URL is not set: run through scripts/test, or `scripts/test-cluster up` "
                    "and export IT_HDFS_URL=hdfs://127.0.0.1:9000")
    return url.rstrip("/")
