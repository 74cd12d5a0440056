#!/usr/bin/env bash
# Landing into HDFS against landing into a local directory, in one run, on the test cluster
# (scripts/test-cluster up: Kafka on 127.0.0.1:9092, MiniDFS on hdfs://127.0.0.1:9000).
#
#   benches/hdfs_vs_local.sh [EVENTS] [RUNS]      # default 100000 events, best of 3
#
# Prints, best run of each, interleaved so that load changes hit all alike:
#   file  flat   land --input F --tables assessments,questions,options --without-sequences
#   file  five   land --input F (all five tables)
#   kafka five   land --brokers B --topic T (bounded, the topic published once, 4 partitions)
# each into a local dir and into MiniDFS, with the ratio MiniDFS / local; and the Java HDFS
# client's raw write rate to the same MiniDFS (FsShell -put of a 256 MiB file, the cluster's
# own jars, after JVM start). BENCH_BIN_DIR: prebuilt `land`/`generate`/`publish`.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100000}"
RUNS="${2:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/assessment-lake/target}"
HDFS="${IT_HDFS_URL:-hdfs://127.0.0.1:9000}"
BROKERS="${IT_KAFKA_BROKERS:-127.0.0.1:9092}"
WEBHDFS="${WEBHDFS:-http://127.0.0.1:9870/webhdfs/v1}"
WORK="build/bench-hdfs"
mkdir -p "$WORK"
if [ -n "${BENCH_BIN_DIR:-}" ]; then
  BIN="$BENCH_BIN_DIR"
else
  cargo build --release -q -p examples --bin land --bin generate --bin publish
  BIN="$CARGO_TARGET_DIR/release"
fi
curl -sf "$WEBHDFS/?op=GETFILESTATUS" >/dev/null \
  || { echo "no MiniDFS at $WEBHDFS: run scripts/test-cluster up" >&2; exit 1; }
INPUT="$WORK/events-$N.ndjson"
[ -s "$INPUT" ] || "$BIN/generate" -n "$N" --format ndjson -o "$INPUT" 2>/dev/null
BYTES=$(stat -c %s "$INPUT")
TOPIC="bench-hdfs-$N-$$"
RUST_LOG=warn "$BIN/publish" --brokers "$BROKERS" --topic "$TOPIC" --partitions 4 \
  --input "$INPUT" --quiet 2>/dev/null
echo "input: $INPUT ($N events, $BYTES bytes), topic $TOPIC (4 partitions)"
echo "machine: $(nproc) cores, $(uname -m); start $(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"

secs() { awk -v e="$2" -v s="$1" 'BEGIN{printf "%.3f", e-s}'; }
hdfs_rm() { curl -sf -X DELETE "$WEBHDFS/$1?op=DELETE&recursive=true&user.name=$(id -un)" >/dev/null || true; }
run() { # $1 = label, $2 = warehouse, rest = land args; prints seconds
  local label="$1" wh="$2"
  shift 2
  case "$wh" in hdfs://*) hdfs_rm "${wh#"$HDFS"/}" ;; *) rm -rf "$wh" ;; esac
  local s e
  s=$(date +%s.%N)
  RUST_LOG=warn "$BIN/land" --warehouse "$wh" "$@" >"$WORK/land-$label.out"
  e=$(date +%s.%N)
  secs "$s" "$e"
}
declare -A T
CASES="file-flat file-five kafka-five"
args_of() {
  case "$1" in
    file-flat) echo "--input $INPUT --tables assessments,questions,options --without-sequences" ;;
    file-five) echo "--input $INPUT" ;;
    kafka-five) echo "--brokers $BROKERS --topic $TOPIC" ;;
  esac
}
for _ in $(seq "$RUNS"); do
  for c in $CASES; do
    # shellcheck disable=SC2046
    T[$c-local]+="$(run "$c-local" "$WORK/wh-$c" $(args_of "$c")) "
    # shellcheck disable=SC2046
    T[$c-hdfs]+="$(run "$c-hdfs" "$HDFS/bench-hdfs/wh-$c" $(args_of "$c")) "
  done
done
best() { tr ' ' '\n' | grep . | sort -n | head -1; }
printf '%-11s %9s %9s %7s\n' job local_s hdfs_s ratio
for c in $CASES; do
  l=$(echo "${T[$c-local]}" | best)
  h=$(echo "${T[$c-hdfs]}" | best)
  printf '%-11s %9s %9s %7s\n' "$c" "$l" "$h" "$(awk -v a="$h" -v b="$l" 'BEGIN{printf "%.2fx", a/b}')"
done
echo "parquet written (five tables, MiniDFS): $(grep -o '[0-9.]* MB;' "$WORK/land-file-five-hdfs.out" | head -1)"

# The Java client's raw write rate: FsShell -put of 256 MiB, timed inside the JVM.
JARS="build/test-cluster/jars/minidfs"
JAVA="${TEST_CLUSTER_JAVA_HOME:-${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}}/bin/java"
if compgen -G "$JARS/*.jar" >/dev/null && [ -x "$JAVA" ]; then
  BLOB="$WORK/blob-256m"
  [ -s "$BLOB" ] || head -c $((256 << 20)) /dev/urandom >"$BLOB"
  hdfs_rm bench-hdfs/blob
  s=$(date +%s.%N)
  "$JAVA" -cp "$JARS/*" org.apache.hadoop.fs.FsShell -fs "$HDFS" -put "$BLOB" /bench-hdfs/blob \
    2>/dev/null
  e=$(date +%s.%N)
  echo "java FsShell -put 256 MiB (JVM start included): $(secs "$s" "$e") s"
fi
