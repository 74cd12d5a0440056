"""Baseline for `land --brokers` (benches/e2e.sh): the recipe's job in PySpark, local[2].

Reads a Kafka topic with Spark's batch Kafka source (startingOffsets=earliest,
endingOffsets=latest), parses each value with from_json and the full event schema (the one of
schema/src/tables.rs, before coercion: timestamps and some numbers arrive as strings), converts
the fields the way `land` does, explodes questions and options into flat tables and writes three
Parquet tables (assessments with the nested `sequences`, questions, options), zstd, to OUT.

Usage:
  python spark_recipe.py --brokers 127.0.0.1:9092 --topic T --out hdfs://127.0.0.1:9000/x \
      --jars DIR [--land hdfs://.../land-warehouse]

Prints `key=value` lines: startup_seconds (SparkSession start), job_seconds (read + parse +
three writes), total_seconds (Python start to the end of the job: the whole job a user waits for,
without the row counting that follows), jvm_peak_rss_kb (VmHWM of the driver JVM), rows of each written table and,
with --land, the rows of the same tables in the warehouse `land` wrote (for the bench's
row-count check).
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
import time

T_START = time.perf_counter()  # the process start, to a few ms (PySpark is imported later)

OPTION = "STRUCT<id: STRING, checked: BOOLEAN, correct: BOOLEAN, submitted: BIGINT, at: STRING>"
QUESTION = (
    "STRUCT<id: STRING, user_result: STRING, user_correct: BOOLEAN, user_incomplete: BOOLEAN, "
    f"user_submitted: BOOLEAN, options: ARRAY<{OPTION}>>"
)
COUNTS = (
    "STRUCT<incomplete: BIGINT, submitted: BIGINT, incorrect: BIGINT, all_correct: BOOLEAN, "
    "correct: BIGINT, total: BIGINT, unanswered: BIGINT>"
)
# The event as it is on the wire (see testdata/ and `generate`).
EVENT_SCHEMA = (
    "keen_id STRING, keen_timestamp STRING, keen_created_at STRING, started_at STRING, "
    "base_exam_id STRING, user_exam_id STRING, exam_name STRING, certification STRING, "
    f"max_attempts STRING, sequences STRUCT<id: STRING, attempt: BIGINT, counts: {COUNTS}, "
    f"questions: ARRAY<{QUESTION}>>"
)
COUNT_FIELDS = ("incomplete", "submitted", "incorrect", "all_correct", "correct", "total", "unanswered")


def java17_home():
    """Java 17 (or 21) for Spark 4.0, looked up like scripts/test-cluster does."""
    cands = [os.environ.get("TEST_CLUSTER_JAVA_HOME"), os.environ.get("JAVA_HOME")]
    cands += sorted(glob.glob("/usr/lib/jvm/*17*")) + sorted(glob.glob("/usr/lib/jvm/*"))
    fallback = None
    for c in cands:
        java = os.path.join(c or "", "bin", "java")
        if not c or not os.path.isfile(java):
            continue
        out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
        m = re.search(r'version "(\d+)', out)
        major = int(m.group(1)) if m else 0
        if major == 17:
            return c
        if major == 21 and fallback is None:
            fallback = c
    if fallback:
        return fallback
    sys.exit("spark_recipe: no Java 17 (or 21) found; set TEST_CLUSTER_JAVA_HOME")


def epoch_seconds_to_ts(col):
    # "1516717409.019837" -> timestamp (µs), exact decimal arithmetic like `land`.
    return f"timestamp_micros(CAST(CAST({col} AS DECIMAL(24, 7)) * 1000000 AS BIGINT))"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--jars", required=True, help="directory of the Kafka connector jars")
    ap.add_argument("--land", help="warehouse written by `land`, to count its rows")
    ap.add_argument("--driver-memory", default="4g")
    ap.add_argument("--events", type=int, default=1_000_000, help="messages in the topic (for minPartitions)")
    ap.add_argument(
        "--max-messages-per-task",
        type=int,
        default=50_000,
        help="split Kafka partitions into Spark tasks of about this many messages (minPartitions): "
        "a 250k-message partition as one task runs a 2-4 GB driver out of heap while the parsed "
        "events are cached",
    )
    args = ap.parse_args()

    os.environ["JAVA_HOME"] = java17_home()
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    os.environ["PYSPARK_PYTHON"] = sys.executable
    jars = sorted(glob.glob(os.path.join(args.jars, "*.jar")))
    if not any("spark-sql-kafka" in j for j in jars):
        sys.exit(f"spark_recipe: no spark-sql-kafka jar in {args.jars} (run scripts/setup --spark-kafka-jars)")

    t0 = time.perf_counter()
    from pyspark import StorageLevel
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    scratch = tempfile.mkdtemp(prefix="spark-recipe-")
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("assessment-recipe-bench")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", args.driver_memory)
        .config("spark.local.dir", scratch)
        .config("spark.sql.warehouse.dir", os.path.join(scratch, "spark-warehouse"))
        .config("spark.jars", ",".join(jars))
        .config("spark.sql.parquet.compression.codec", "zstd")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    t1 = time.perf_counter()

    raw = (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", args.brokers)
        .option("subscribe", args.topic)
        .option("startingOffsets", "earliest")
        .option("endingOffsets", "latest")
        .option("minPartitions", str(max(1, args.events // args.max_messages_per_task)))
        .load()
    )
    events = raw.select(
        F.col("topic").alias("_topic"),
        F.col("partition").alias("_partition"),
        F.col("offset").alias("_offset"),
        F.from_json(F.col("value").cast("string"), EVENT_SCHEMA).alias("e"),
    ).persist(StorageLevel.MEMORY_AND_DISK)
    prov = ["_topic", "_partition", "_offset"]

    assessments = events.selectExpr(
        *prov,
        "e.keen_id",
        f"{epoch_seconds_to_ts('e.keen_timestamp')} AS keen_timestamp",
        f"{epoch_seconds_to_ts('e.keen_created_at')} AS keen_created_at",
        "try_cast(e.started_at AS TIMESTAMP) AS started_at",
        "e.base_exam_id",
        "e.user_exam_id",
        "e.exam_name",
        "try_cast(e.certification AS BOOLEAN) AS certification",
        "try_cast(e.max_attempts AS DOUBLE) AS max_attempts",
        "e.sequences.id AS sequence_id",
        "e.sequences.attempt AS attempt",
        *[f"e.sequences.counts.{c} AS {c}" for c in COUNT_FIELDS],
        "coalesce(size(e.sequences.questions), 0) AS question_count",
        "e.sequences",
    )
    questions = events.selectExpr(
        *prov, "e.keen_id", "e.user_exam_id", "posexplode(e.sequences.questions) AS (question_index, q)"
    )
    options = questions.selectExpr(
        *prov, "keen_id", "question_index", "q.id AS question_id", "posexplode(q.options) AS (option_index, o)"
    ).selectExpr(
        *prov,
        "keen_id",
        "question_index",
        "question_id",
        "option_index",
        "o.id AS option_id",
        "o.checked",
        "o.correct",
        "o.submitted",
        "try_cast(o.at AS TIMESTAMP) AS at",
    )
    questions = questions.selectExpr(
        *prov,
        "keen_id",
        "user_exam_id",
        "question_index",
        "q.id AS question_id",
        "q.user_result",
        "q.user_correct",
        "q.user_incomplete",
        "q.user_submitted",
        "coalesce(size(q.options), 0) AS option_count",
    )
    assessments.write.parquet(f"{args.out}/assessments")
    questions.write.parquet(f"{args.out}/questions")
    options.write.parquet(f"{args.out}/options")
    t2 = time.perf_counter()
    events.unpersist()

    print(f"startup_seconds={t1 - t0:.3f}")
    print(f"job_seconds={t2 - t1:.3f}")
    print(f"total_seconds={t2 - T_START:.3f}")
    for table in ("assessments", "questions", "options"):
        print(f"spark_{table}={spark.read.parquet(f'{args.out}/{table}').count()}")
        if args.land:
            print(f"land_{table}={spark.read.parquet(f'{args.land}/{table}').count()}")
    pid = spark.sparkContext._gateway.proc.pid
    with open(f"/proc/{pid}/status") as f:
        hwm = next((line.split()[1] for line in f if line.startswith("VmHWM:")), "0")
    print(f"jvm_peak_rss_kb={hwm}")
    sys.stdout.flush()
    spark.stop()


if __name__ == "__main__":
    main()
