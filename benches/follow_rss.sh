#!/usr/bin/env bash
# Peak RSS of `land --follow` (issue 6), on the real test cluster:
#
#   scripts/test-cluster up
#   benches/follow_rss.sh [EVENTS=100000] [PARTITIONS=4] [-- extra land flags...]
#
# Generates EVENTS events (deterministic), publishes them to a fresh topic of PARTITIONS
# partitions, then runs `/usr/bin/time -v land --follow` into a fresh HDFS directory with the
# default rotation (no range is committed before the signal: every partition's range stays
# open the whole time, the worst case for memory), waits until every event has been consumed,
# lets it idle 5 s, sends SIGTERM (which commits the open ranges), and prints the peak RSS.
# Then `verify --topic` checks that every offset landed exactly once.
#
# WH_BASE=/some/dir lands into a local directory instead of $IT_HDFS_URL/bench (kept).
# Environment passes through to land (e.g. MALLOC_ARENA_MAX=2); LAND=/path/to/land runs another
# build (e.g. one built with `--no-default-features`, i.e. glibc's allocator instead of mimalloc).
# Skips (exit 0) when the test cluster is down. Deletes its topic and HDFS directory.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100000}"
P="${2:-4}"
shift $(( $# >= 2 ? 2 : $# ))
[[ "${1:-}" == "--" ]] && shift
EXTRA=("$@")
BROKERS="${IT_KAFKA_BROKERS:-127.0.0.1:9092}"
HDFS="${IT_HDFS_URL:-hdfs://127.0.0.1:9000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/assessment-lake/target}"
WORK="build/bench-rss"
mkdir -p "$WORK"
[[ -x /usr/bin/time ]] || { echo "follow_rss: /usr/bin/time missing (scripts/setup installs it)" >&2; exit 1; }
if ! scripts/test-cluster status >/dev/null 2>&1; then
  echo "skip: test cluster down (scripts/test-cluster up)"
  exit 0
fi

[[ -n "${NO_BUILD:-}" ]] || cargo build --release -q -p examples --bin land --bin publish --bin generate --bin topic --bin verify
BIN="$CARGO_TARGET_DIR/release"
INPUT="$WORK/events-$N.ndjson"
[[ -s "$INPUT" ]] || "$BIN/generate" -n "$N" --format ndjson -o "$INPUT" 2>/dev/null
tag="rss-$$-$(date +%s)"
TOPIC="bench-$tag"
WH="${WH_BASE:-$HDFS/bench}/$tag"
LOG="$WORK/land-$tag.log"
cleanup() {
  "$BIN/topic" --brokers "$BROKERS" delete --topic "$TOPIC" >/dev/null 2>&1 || true
  [[ -n "${KEEP:-}" || "$WH" != hdfs://* ]] || curl -fsS -X DELETE "http://127.0.0.1:9870/webhdfs/v1/bench/$tag?op=DELETE&recursive=true&user.name=$(id -un)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

"$BIN/topic" --brokers "$BROKERS" create --topic "$TOPIC" --partitions "$P" >/dev/null
"$BIN/publish" --brokers "$BROKERS" --topic "$TOPIC" --input "$INPUT" --quiet
echo "input: $N events ($(stat -c %s "$INPUT") B NDJSON) in $P partitions; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "land --follow ${EXTRA[*]:-} ${MALLOC_ARENA_MAX:+(MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX)}"

t0=$SECONDS
RUST_LOG=info /usr/bin/time -v "${LAND:-$BIN/land}" --brokers "$BROKERS" --topic "$TOPIC" --warehouse "$WH" \
  --follow --group "g-$tag" "${EXTRA[@]}" >"$WORK/land-$tag.out" 2>"$LOG" &
TPID=$!
LPID=""
for _ in $(seq 1 50); do LPID=$(pgrep -P "$TPID" || true); [[ -n "$LPID" ]] && break; sleep 0.1; done
[[ -n "$LPID" ]] || { echo "land did not start" >&2; cat "$LOG" >&2; exit 1; }
# Consumed everything: the progress line reports N messages.
until grep -qE "(^|[^0-9])$N messages" "$LOG"; do
  kill -0 "$LPID" 2>/dev/null || { echo "land exited early" >&2; tail -20 "$LOG" >&2; exit 1; }
  (( SECONDS - t0 < 600 )) || { echo "timeout waiting for $N messages" >&2; kill -KILL "$LPID"; exit 1; }
  sleep 1
done
consumed=$((SECONDS - t0))
sleep 5
kill -TERM "$LPID"
wait "$TPID" || { echo "land failed" >&2; tail -20 "$LOG" >&2; exit 1; }
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$LOG")
cpu=$(awk -F': ' '/Percent of CPU/ {print $2}' "$LOG")
"$BIN/verify" --warehouse "$WH" --topic "$TOPIC" --brokers "$BROKERS" >"$WORK/verify-$tag.out" 2>&1 \
  || { echo "verify FAILED" >&2; cat "$WORK/verify-$tag.out" >&2; exit 1; }
grep -E "^landed" "$WORK/land-$tag.out" || true
echo "consumed all $N events in ~${consumed}s; CPU $cpu; verify passed"
echo "peak RSS: $((rss_kb / 1024)) MiB ($rss_kb kB)"
