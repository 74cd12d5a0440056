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
# each into a local dir and into MiniDFS, with the ratio MiniDFS / local; then
#   * `land --follow` on the same topic with all of it as backlog, into MiniDFS: time, rate
#     against the bounded Kafka job, peak RSS;
#   * CPU-seconds per GB of JSON of the file jobs (local dir; user + sys of the process)
#     against the floor: `cpu_floor` (examples/src/bin) flattening the same file and encoding
#     the same tables with the same column options, one thread, nothing else;
#   * the Java HDFS client's raw write rate to the same MiniDFS (FsShell -put).
# BENCH_BIN_DIR: prebuilt `land`/`generate`/`publish`/`topic`/`cpu_floor`.
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
  cargo build --release -q -p examples --bin land --bin generate --bin publish --bin topic --bin cpu_floor
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
trap '"$BIN/topic" --brokers "$BROKERS" delete --topic "$TOPIC" >/dev/null 2>&1 || true' EXIT
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

# `land --follow` with a backlog: the whole topic is there when it starts (a fresh group),
# into MiniDFS; SIGTERM as soon as its progress line counts every message (which commits the
# open ranges). Time from start to exit, against the bounded Kafka job's best MiniDFS time.
follow_backlog() {
  local wh="$HDFS/bench-hdfs/wh-follow" log="$WORK/land-follow.log" s e tpid lpid
  hdfs_rm bench-hdfs/wh-follow
  s=$(date +%s.%N)
  RUST_LOG=info /usr/bin/time -v -o "$WORK/land-follow.time" "$BIN/land" --brokers "$BROKERS" \
    --topic "$TOPIC" --warehouse "$wh" --follow --group "bench-follow-$$" \
    >"$WORK/land-follow.out" 2>"$log" &
  tpid=$!
  lpid=""
  for _ in $(seq 1 100); do lpid=$(pgrep -P "$tpid" || true); [ -n "$lpid" ] && break; sleep 0.05; done
  [ -n "$lpid" ] || { echo "land --follow did not start" >&2; exit 1; }
  until grep -qE "(^|[^0-9])$N messages" "$log"; do
    kill -0 "$lpid" 2>/dev/null || { echo "land --follow exited early" >&2; tail -5 "$log" >&2; exit 1; }
    sleep 0.1
  done
  kill -TERM "$lpid"
  wait "$tpid" || { echo "land --follow failed" >&2; tail -5 "$log" >&2; exit 1; }
  e=$(date +%s.%N)
  FOLLOW_S=$(secs "$s" "$e")
  FOLLOW_RSS=$(awk -F': ' '/Maximum resident/ {print int($2 / 1024)}' "$WORK/land-follow.time")
  FOLLOW_CPU=$(awk -F': ' '/Percent of CPU/ {print $2}' "$WORK/land-follow.time")
}
if [ -x /usr/bin/time ]; then
  follow_backlog
  kb=$(echo "${T[kafka-five-hdfs]}" | best)
  echo "land --follow, $N-event backlog -> MiniDFS: ${FOLLOW_S} s (bounded ${kb} s: rate \
$(awk -v f="$FOLLOW_S" -v b="$kb" 'BEGIN{printf "%.2fx", b/f}') of bounded), peak RSS ${FOLLOW_RSS} MiB, CPU ${FOLLOW_CPU}"
fi

# CPU-seconds per GB of JSON: land's file jobs into a local dir (user + sys of the process)
# against cpu_floor's flatten + encode of the same tables from the same file.
cpu_of() { # rest = command; prints user+sys seconds
  /usr/bin/time -f "%U %S" -o "$WORK/cpu.time" "$@" >/dev/null 2>"$WORK/cpu.err" \
    || { echo "failed: $*" >&2; tail -5 "$WORK/cpu.err" >&2; exit 1; }
  awk '{printf "%.2f", $1 + $2}' "$WORK/cpu.time"
}
if [ -x /usr/bin/time ] && [ -x "$BIN/cpu_floor" ]; then
  GB=$(awk -v b="$BYTES" 'BEGIN{print b / 1e9}')
  printf '%-11s %13s %15s %15s %7s\n' job land_cpu_s land_cpu_s/GB floor_cpu_s/GB ratio
  for c in file-flat file-five; do
    rm -rf "$WORK/wh-cpu"
    # shellcheck disable=SC2046
    land_cpu=$(cpu_of env RUST_LOG=warn "$BIN/land" --warehouse "$WORK/wh-cpu" $(args_of "$c"))
    case "$c" in
      file-flat) floor_args=(--tables assessments,questions,options --without-sequences) ;;
      *) floor_args=() ;;
    esac
    "$BIN/cpu_floor" --input "$INPUT" "${floor_args[@]}" >"$WORK/floor-$c.out"
    floor=$(sed -n 's/^floor_cpu_s_per_gb=//p' "$WORK/floor-$c.out")
    printf '%-11s %13s %15s %15s %7s   (floor: %s)\n' "$c" "$land_cpu" \
      "$(awk -v a="$land_cpu" -v g="$GB" 'BEGIN{printf "%.2f", a / g}')" "$floor" \
      "$(awk -v a="$land_cpu" -v g="$GB" -v f="$floor" 'BEGIN{printf "%.2fx", a / g / f}')" \
      "$(grep -E '^(flatten|encode)_cpu_s' "$WORK/floor-$c.out" | tr '\n' ' ')"
  done
  rm -rf "$WORK/wh-cpu"
fi

# The Java client's raw write rate to the same MiniDFS: FsShell -put of 16 MiB and of 256 MiB
# (the cluster's own jars, Java 17); the difference is the time of 240 MiB without the JVM's
# start. FsShell needs a core-site.xml on its classpath (the test jars carry none).
JARS="build/test-cluster/jars/minidfs"
JAVA="${TEST_CLUSTER_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}/bin/java"
if compgen -G "$JARS/*.jar" >/dev/null && [ -x "$JAVA" ]; then
  CONFDIR="$WORK/hadoop-conf"
  mkdir -p "$CONFDIR"
  printf '<?xml version="1.0"?>\n<configuration><property><name>fs.defaultFS</name><value>%s</value></property></configuration>\n' \
    "$HDFS" >"$CONFDIR/core-site.xml"
  put() { # $1 = MiB; prints seconds of the whole FsShell run
    local blob="$WORK/blob-$1m" s e
    [ -s "$blob" ] || head -c $(($1 << 20)) /dev/urandom >"$blob"
    hdfs_rm "bench-hdfs/blob-$1m"
    s=$(date +%s.%N)
    "$JAVA" -cp "$CONFDIR:$JARS/*" org.apache.hadoop.fs.FsShell -put "$blob" "/bench-hdfs/blob-$1m" >"$WORK/fsshell.out" \
      2>"$WORK/fsshell.err" || { echo "FsShell -put failed:" >&2; tail -3 "$WORK/fsshell.err" >&2; return 1; }
    e=$(date +%s.%N)
    secs "$s" "$e"
  }
  small=$(put 16) && big=$(put 256) && echo "java FsShell -put: 16 MiB ${small} s, 256 MiB ${big} s \
(JVM start included): $(awk -v a="$small" -v b="$big" 'BEGIN{printf "%.0f", 240 / (b - a)}') MiB/s without it"
  hdfs_rm bench-hdfs/blob-16m
  hdfs_rm bench-hdfs/blob-256m
fi
