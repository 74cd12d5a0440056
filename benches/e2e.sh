#!/usr/bin/env bash
# End to end on the real test cluster (scripts/test-cluster: Kafka 127.0.0.1:9092, MiniDFS
# hdfs://127.0.0.1:9000): one topic of N generated events in 4 partitions, published once,
# then, in the same run, each reading the whole topic (earliest -> latest):
#   (a)  `consume --from-beginning --exit-at-end > /dev/null`: a plain rdkafka consumer that
#        does nothing with a message but write it out: the limit for any consumer;
#   (a') `kcat -C -e -o beginning > /dev/null`, for reference;
#   (b)  `land --brokers --topic --warehouse hdfs://...`, bounded: all five tables, zstd,
#        exactly-once commit protocol, into the MiniDFS;
#   (b') the same with `--tables assessments,questions,options`: the tables Spark writes
#        (assessments with its nested `sequences`; plus `rejects`, always landed, empty);
#   (b1) (b) with `--concurrent-writes 1` (one chunk written at a time), for reference;
#   (c)  the recipe's job in PySpark local[2] (benches/scripts/spark_recipe.py): Kafka batch
#        source, from_json with the full schema, explode questions and options, three
#        Parquet tables (zstd) into the same HDFS.
# Prints time, events/s, MB/s (of JSON values) and peak RSS (/usr/bin/time -v) of each, the
# ratios land/(a) and land/(c) (speed: time of the other / time of land), and checks that
# land and Spark wrote the same row counts (assessments, questions, options).
#
#   benches/e2e.sh [EVENTS]        # default 1000000
#
# Needs: scripts/setup (venv with PySpark; the Kafka connector jars are fetched here, once,
# with `scripts/setup --spark-kafka-jars`), kcat, GNU time, curl. Deletes its topic and HDFS
# directories at the end (KEEP=1 keeps them). NO_BUILD=1 skips `cargo build`.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
PARTITIONS=4
BROKERS=127.0.0.1:9092
HDFS=hdfs://127.0.0.1:9000
WEBHDFS=http://127.0.0.1:9870/webhdfs/v1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/assessment-lake/target}"
VENV="${ASSESSMENT_LAKE_VENV:-$HOME/.cache/assessment-lake/venv}"
WORK="build/bench-e2e"
mkdir -p "$WORK"
say() { echo "e2e: $*" >&2; }

scripts/setup >&2
JARS="$(scripts/setup --spark-kafka-jars | tail -n 1)"
[[ -x /usr/bin/time ]] || { echo "e2e: /usr/bin/time missing (scripts/setup installs it)" >&2; exit 1; }
# NO_BUILD=1 uses the release binaries already in $CARGO_TARGET_DIR as they are.
[[ "${NO_BUILD:-0}" == 1 ]] \
  || cargo build --release -q -p examples --bin generate --bin publish --bin consume --bin land --bin topic
BIN="$CARGO_TARGET_DIR/release"
scripts/test-cluster up >/dev/null

INPUT="$WORK/events-$N.ndjson"
[[ -s "$INPUT" ]] || "$BIN/generate" -n "$N" --format ndjson -o "$INPUT" 2>/dev/null
# Bytes of JSON values on the topic: the file without its newlines.
BYTES=$(($(stat -c %s "$INPUT") - N))

ID="$(date +%Y%m%d-%H%M%S)-$RANDOM"
TOPIC="bench-e2e-$N-$ID"
BASE="/bench/e2e-$ID"
cleanup() {
  [[ "${KEEP:-0}" == 1 ]] && { say "kept topic $TOPIC and $HDFS$BASE"; return; }
  "$BIN/topic" --brokers "$BROKERS" delete --topic "$TOPIC" >/dev/null 2>&1 || say "could not delete topic $TOPIC"
  curl -s -X DELETE "$WEBHDFS$BASE?op=DELETE&recursive=true&user.name=$(id -un)" >/dev/null \
    || say "could not delete $HDFS$BASE"
}
trap cleanup EXIT

say "publishing $N events to $TOPIC ($PARTITIONS partitions)"
"$BIN/publish" --brokers "$BROKERS" --topic "$TOPIC" --input "$INPUT" --partitions "$PARTITIONS" --quiet >/dev/null

# run NAME OUT CMD...: time and peak RSS of CMD (stdout to OUT, stderr to $WORK/NAME.err)
# -> "seconds rss_kb"
run() {
  local name="$1" out="$2"
  shift 2
  local s e
  s=$(date +%s.%N)
  /usr/bin/time -v -o "$WORK/$name.time" "$@" >"$out" 2>"$WORK/$name.err" \
    || { say "$name failed:"; tail -n 20 "$WORK/$name.err" >&2; exit 1; }
  e=$(date +%s.%N)
  echo "$(awk -v e="$e" -v s="$s" 'BEGIN{printf "%.3f", e-s}') $(awk -F': ' '/Maximum resident/{print $2}' "$WORK/$name.time")"
}

say "(a) consume > /dev/null"
read -r T_A RSS_A < <(run consume /dev/null "$BIN/consume" --brokers "$BROKERS" --topic "$TOPIC" --from-beginning --exit-at-end --quiet)
N_A=$(sed -n 's/.*consumed \([0-9]*\) messages.*/\1/p' "$WORK/consume.err")
say "(a') kcat -C -e > /dev/null"
read -r T_K RSS_K < <(run kcat /dev/null kcat -C -b "$BROKERS" -t "$TOPIC" -o beginning -e -q)
say "(b) land --brokers -> $HDFS$BASE/land"
read -r T_B RSS_B < <(run land "$WORK/land.out" env RUST_LOG=warn "$BIN/land" --brokers "$BROKERS" --topic "$TOPIC" --warehouse "$HDFS$BASE/land")
say "(b') land --brokers --tables assessments,questions,options -> $HDFS$BASE/land3"
read -r T_B3 RSS_B3 < <(run land3 "$WORK/land3.out" env RUST_LOG=warn "$BIN/land" --brokers "$BROKERS" --topic "$TOPIC" \
  --warehouse "$HDFS$BASE/land3" --tables assessments,questions,options)
say "(b1) land --brokers --concurrent-writes 1 -> $HDFS$BASE/land1"
read -r T_B1 RSS_B1 < <(run land1 "$WORK/land1.out" env RUST_LOG=warn "$BIN/land" --brokers "$BROKERS" --topic "$TOPIC" \
  --warehouse "$HDFS$BASE/land1" --concurrent-writes 1)
say "(c) PySpark recipe -> $HDFS$BASE/spark"
read -r T_C RSS_C < <(run spark "$WORK/spark.out" "$VENV/bin/python" benches/scripts/spark_recipe.py --brokers "$BROKERS" --events "$N" \
  --topic "$TOPIC" --out "$HDFS$BASE/spark" --land "$HDFS$BASE/land" --jars "$JARS")

kv() { sed -n "s/^$1=//p" "$WORK/spark.out"; }
SPARK_JOB=$(kv job_seconds)
SPARK_TOTAL=$(kv total_seconds)
SPARK_START=$(kv startup_seconds)
JVM_RSS=$(kv jvm_peak_rss_kb)

echo
echo "input: $N events ($BYTES bytes of JSON values) in topic $TOPIC, $PARTITIONS partitions, lz4; machine: $(nproc) cores, $(uname -m), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
row() { # name seconds rss_kb [note]
  awk -v n="$1" -v t="$2" -v r="$3" -v N="$N" -v B="$BYTES" -v note="${4:-}" \
    'BEGIN{printf "%-36s %9.2f s %10.0f ev/s %8.1f MB/s %8.0f MB  %s\n", n, t, N/t, B/t/1e6, r/1024, note}'
}
printf '%-36s %11s %15s %13s %11s\n' run time events/s MB/s "peak RSS"
row "(a)  consume > /dev/null" "$T_A" "$RSS_A" "($N_A messages)"
row "(a') kcat -C -e > /dev/null" "$T_K" "$RSS_K"
row "(b)  land --brokers -> HDFS" "$T_B" "$RSS_B" "(five tables)"
row "(b') land --tables (Spark's three)" "$T_B3" "$RSS_B3" "(assessments, questions, options)"
row "(b1) land --concurrent-writes 1" "$T_B1" "$RSS_B1" "(five tables, one chunk written at a time)"
row "(c)  PySpark recipe (start + job)" "$SPARK_TOTAL" "$((RSS_C + JVM_RSS))" "(python + JVM peak RSS)"
row "(c') PySpark recipe (job only)" "$SPARK_JOB" "$JVM_RSS" "(without the ${SPARK_START}s SparkSession start; JVM peak RSS)"
echo
sed -n '1,2p' "$WORK/land.out"
sed -n '1,2p' "$WORK/land3.out"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
echo "ratio land/(a)  consume: $(ratio "$T_A" "$T_B")x   (a drain on the same two cores, for reference)"
echo "ratio land/(a') kcat:    $(ratio "$T_K" "$T_B")x"
echo "ratio land/(c)  Spark, five tables:  $(ratio "$SPARK_TOTAL" "$T_B")x   (target >= 5; job only: $(ratio "$SPARK_JOB" "$T_B")x)"
echo "ratio land/(c)  Spark's three tables: $(ratio "$SPARK_TOTAL" "$T_B3")x   (target >= 10; job only: $(ratio "$SPARK_JOB" "$T_B3")x; land/(a) $(ratio "$T_A" "$T_B3")x)"

ok=1
[[ "$N_A" == "$N" ]] || { echo "MISMATCH: consume read $N_A messages, expected $N"; ok=0; }
for t in assessments questions options; do
  l=$(kv "land_$t")
  s=$(kv "spark_$t")
  echo "rows $t: land $l, spark $s"
  [[ -n "$l" && "$l" == "$s" ]] || { echo "MISMATCH in $t"; ok=0; }
done
[[ "$(kv land_assessments)" == "$N" ]] || { echo "MISMATCH: land has $(kv land_assessments) assessments, expected $N"; ok=0; }
for t in assessments questions options; do
  l3=$(awk -v t="$t" '$1 == t {print $2}' "$WORK/land3.out")
  [[ "$l3" == "$(kv "spark_$t")" ]] || { echo "MISMATCH in $t of (b'): $l3"; ok=0; }
done
((ok)) && echo "row counts: identical" || exit 1
