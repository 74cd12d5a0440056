#!/usr/bin/env bash
# Kafka publish and bounded consume, kafka-io's programs against kcat, side by side in the
# same run on the real broker (issue 4):
#
#   scripts/test-cluster up
#   benches/kafka_vs_kcat.sh [EVENTS] [RUNS]     # default 100000 events, 3 runs
#
# Inputs (generated once into build/bench-kafka/, deterministic): the `generate` program's
# compact JSON array, the same events as NDJSON, and the same array pretty-printed by `jq .`
# (2-space indentation, so compaction is exercised). Every value published by `publish` is
# byte for byte `jq -c '.[]'` of the input (checked on the NDJSON file by kafka-io's tests).
#
# Each run, on fresh 4-partition topics, lz4 everywhere (the publishers in rotated order):
#   publish  --input events.json            (validate whole file, then send; key, idempotent)
#   publish  --input events.pretty.json     (same, pretty-printed input)
#   publish  --input events.ndjson          (same, NDJSON input)
#   publish  --single-pass --input events.ndjson  (send while reading: no validation pass)
#   kcat -P -z lz4 -l events.ndjson         (no validation, no key, not idempotent)
#   kcat -P -K $'\t' -z lz4 -l events.keyed  (the same messages with the same keys as
#                                            `publish`: "user_exam_id<TAB>event" lines)
#   jq -c '.[]' events.json | kcat -P -z lz4   (the recipe being replaced; first run only)
#   consume  --from-beginning --exit-at-end > /dev/null   (bounded read, values + "\n")
#   kcat -C -o beginning -e -q > /dev/null                (values + "\n")
# Both consumers read the same topic (the one `publish` filled from events.json).
#
# Cores: by default (BENCH_PIN=1) the test cluster's JVMs (pid files in
# build/test-cluster/run/) are pinned to the last core and every client under test to the
# others, as when the broker runs on its own machine: on a 2-core box the broker otherwise
# takes half of the CPU both clients need, which compresses every ratio towards 1 and makes
# it noisy. The previous affinity is restored on exit. BENCH_PIN=0 shares all cores.
#
# Skips (exit 0) when the broker at $IT_KAFKA_BROKERS (default 127.0.0.1:9092) is down or
# kcat / jq are missing. Benchmarks run un-niced; note the load average printed first.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100000}"
RUNS="${2:-3}"
PIN="${BENCH_PIN:-1}"
BROKERS="${IT_KAFKA_BROKERS:-127.0.0.1:9092}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/assessment-lake/target}"
WORK="build/bench-kafka"
mkdir -p "$WORK"

for tool in kcat jq; do
  command -v "$tool" >/dev/null || { echo "skip: $tool not installed"; exit 0; }
done
if ! kcat -L -b "$BROKERS" -m 5 >/dev/null 2>&1; then
  echo "skip: no Kafka broker at $BROKERS (scripts/test-cluster up)"
  exit 0
fi

cargo build --release -q -p examples --bin publish --bin consume --bin generate --bin topic
BIN="$CARGO_TARGET_DIR/release"
ARRAY="$WORK/events-$N.json"
NDJSON="$WORK/events-$N.ndjson"
PRETTY="$WORK/events-$N.pretty.json"
[ -s "$ARRAY" ] || "$BIN/generate" -n "$N" --format array -o "$ARRAY" 2>/dev/null
[ -s "$NDJSON" ] || "$BIN/generate" -n "$N" --format ndjson -o "$NDJSON" 2>/dev/null
if [ ! -s "$PRETTY" ]; then
  { echo '['; jq . "$NDJSON" | sed 's/^}$/},/;$ s/^},$/}/'; echo ']'; } > "$PRETTY.tmp"
  mv "$PRETTY.tmp" "$PRETTY"
fi
KEYED="$WORK/events-$N.keyed"
if [ ! -s "$KEYED" ]; then
  python3 -c '
import json, sys
for line in sys.stdin.buffer:
    line = line.rstrip(b"\n")
    sys.stdout.buffer.write(json.loads(line)["user_exam_id"].encode() + b"\t" + line + b"\n")
' < "$NDJSON" > "$KEYED.tmp"
  mv "$KEYED.tmp" "$KEYED"
fi
VALUE_BYTES=$(( $(stat -c %s "$NDJSON") - N ))
echo "input: $N events, $VALUE_BYTES bytes of values; array $(stat -c %s "$ARRAY") B, pretty $(stat -c %s "$PRETTY") B"
echo "machine: $(nproc) cores, $(uname -m), $(kcat -V 2>&1 | grep -o 'librdkafka version [^ ]*' || true); load: $(cut -d' ' -f1-3 /proc/loadavg)"

CLIENT=()
SERVER_PIDS=()
CORES=$(nproc)
if [ "$PIN" = 1 ] && [ "$CORES" -ge 2 ]; then
  for f in build/test-cluster/run/*.pid; do
    pid=$(cat "$f" 2>/dev/null || true)
    [[ "$pid" =~ ^[0-9]+$ ]] && [ -d "/proc/$pid" ] && SERVER_PIDS+=("$pid")
  done
fi
if [ ${#SERVER_PIDS[@]} -gt 0 ]; then
  for pid in "${SERVER_PIDS[@]}"; do taskset -a -pc "$((CORES - 1))" "$pid" >/dev/null; done
  CLIENT=(taskset -c "0-$((CORES - 2))")
  echo "cores: test cluster (pids ${SERVER_PIDS[*]}) on core $((CORES - 1)), clients on 0-$((CORES - 2))"
else
  echo "cores: shared (BENCH_PIN=$PIN, test-cluster pids found: ${#SERVER_PIDS[@]})"
fi
unpin() {
  for pid in "${SERVER_PIDS[@]}"; do taskset -a -pc "0-$((CORES - 1))" "$pid" >/dev/null 2>&1 || true; done
}

now() { date +%s.%N; }
secs() { awk -v e="$2" -v s="$1" 'BEGIN{printf "%.3f", e-s}'; }
declare -A T
record() { T["$1"]+="$2 "; }
expect_count() { # topic expected
  local got
  got=$(kcat -C -b "$BROKERS" -t "$1" -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l)
  [ "$got" -eq "$2" ] || { echo "FAIL: $1 has $got messages, expected $2" >&2; exit 1; }
}

TOPICS=()
cleanup() {
  local args=()
  for t in "${TOPICS[@]}"; do args+=(--topic "$t"); done
  [ ${#args[@]} -eq 0 ] || "$BIN/topic" --brokers "$BROKERS" delete "${args[@]}" >/dev/null 2>&1 || true
}
trap 'cleanup; unpin' EXIT

for run in $(seq 1 "$RUNS"); do
  tag="bench-kvk-$$-$run"
  for t in arr pretty nd sp kcat kcatk recipe; do
    TOPICS+=("$tag-$t")
    "$BIN/topic" --brokers "$BROKERS" create --topic "$tag-$t" --partitions 4 >/dev/null 2>&1
  done
  echo "run $run: load $(cut -d' ' -f1-3 /proc/loadavg)"

  # The five publishers, in an order rotated every run (none always runs right after the
  # previous run's topics were deleted), one second apart (the broker settles).
  publishers=(arr pretty nd sp kcat kcatk)
  for i in 0 1 2 3 4 5; do
    p=${publishers[$(( (i + run - 1) % 6 ))]}
    sleep 1
    case $p in
      arr) what="publish array"; cmd=("$BIN/publish" --brokers "$BROKERS" --topic "$tag-arr" --input "$ARRAY" --quiet) ;;
      pretty) what="publish pretty array"; cmd=("$BIN/publish" --brokers "$BROKERS" --topic "$tag-pretty" --input "$PRETTY" --quiet) ;;
      nd) what="publish ndjson"; cmd=("$BIN/publish" --brokers "$BROKERS" --topic "$tag-nd" --input "$NDJSON" --quiet) ;;
      sp) what="publish 1-pass ndjson"; cmd=("$BIN/publish" --brokers "$BROKERS" --topic "$tag-sp" --input "$NDJSON" --single-pass --quiet) ;;
      kcat) what="kcat -P ndjson"; cmd=(kcat -P -b "$BROKERS" -t "$tag-kcat" -z lz4 -l "$NDJSON") ;;
      kcatk) what="kcat -P -K keyed"; cmd=(kcat -P -b "$BROKERS" -t "$tag-kcatk" -K $'\t' -z lz4 -l "$KEYED") ;;
    esac
    s=$(now); "${CLIENT[@]}" "${cmd[@]}" 2>>"$WORK/publish.err"; e=$(now)
    record "$what" "$(secs "$s" "$e")"
  done
  if [ "$run" -eq 1 ]; then
    s=$(now); "${CLIENT[@]}" jq -c '.[]' "$ARRAY" | "${CLIENT[@]}" kcat -P -b "$BROKERS" -t "$tag-recipe" -z lz4; e=$(now)
    record "jq | kcat -P array" "$(secs "$s" "$e")"
  fi

  s=$(now); "${CLIENT[@]}" "$BIN/consume" --brokers "$BROKERS" --topic "$tag-arr" --from-beginning --exit-at-end --quiet >/dev/null 2>"$WORK/consume.err"; e=$(now)
  record "consume bounded" "$(secs "$s" "$e")"
  s=$(now); "${CLIENT[@]}" kcat -C -b "$BROKERS" -t "$tag-arr" -o beginning -e -q >/dev/null; e=$(now)
  record "kcat -C -e" "$(secs "$s" "$e")"
  if [ "$run" -eq 1 ]; then
    # Correctness of what was timed: every topic holds N messages, and both consumers print
    # the same multiset of values as jq -c '.[]' of the input.
    for t in arr pretty nd sp kcat kcatk recipe; do expect_count "$tag-$t" "$N"; done
    a=$("$BIN/consume" --brokers "$BROKERS" --topic "$tag-pretty" --from-beginning --exit-at-end --quiet 2>/dev/null | sort | md5sum)
    b=$(sort "$NDJSON" | md5sum)
    [ "$a" = "$b" ] || { echo "FAIL: consumed values differ from jq -c '.[]'" >&2; exit 1; }
  fi
  cleanup
  TOPICS=()
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

best() { tr ' ' '\n' | grep -v '^$' | sort -n | head -1; }
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
printf '\n%-22s %8s %8s %10s %8s   %s\n' "what" "best s" "median" "msg/s" "MB/s" "runs (s)"
for k in "publish array" "publish pretty array" "publish ndjson" "publish 1-pass ndjson" "kcat -P ndjson" "kcat -P -K keyed" "jq | kcat -P array" "consume bounded" "kcat -C -e"; do
  [ -n "${T[$k]:-}" ] || continue
  b=$(echo "${T[$k]}" | best)
  printf '%-22s %8s %8s %10.0f %8.1f   %s\n' "$k" "$b" "$(echo "${T[$k]}" | median)" "$(awk -v n="$N" -v t="$b" 'BEGIN{print n/t}')" \
    "$(awk -v v="$VALUE_BYTES" -v t="$b" 'BEGIN{print v/t/1e6}')" "${T[$k]}"
done
ratio() { awk -v a="$(echo "${T[$1]}" | best)" -v b="$(echo "${T[$2]}" | best)" 'BEGIN{printf "%.2f", b/a}'; }
mratio() { awk -v a="$(echo "${T[$1]}" | median)" -v b="$(echo "${T[$2]}" | median)" 'BEGIN{printf "%.2f", b/a}'; }
echo
echo "speed vs kcat -P (best of runs): array $(ratio "publish array" "kcat -P ndjson")x," \
  "pretty array $(ratio "publish pretty array" "kcat -P ndjson")x, ndjson $(ratio "publish ndjson" "kcat -P ndjson")x, single-pass ndjson $(ratio "publish 1-pass ndjson" "kcat -P ndjson")x"
echo "speed vs kcat -P (median of runs): array $(mratio "publish array" "kcat -P ndjson")x," \
  "ndjson $(mratio "publish ndjson" "kcat -P ndjson")x, single-pass ndjson $(mratio "publish 1-pass ndjson" "kcat -P ndjson")x"
echo "speed vs kcat -P -K (keyed, median): array $(mratio "publish array" "kcat -P -K keyed")x," \
  "ndjson $(mratio "publish ndjson" "kcat -P -K keyed")x, single-pass ndjson $(mratio "publish 1-pass ndjson" "kcat -P -K keyed")x"
echo "speed vs jq | kcat -P: array $(ratio "publish array" "jq | kcat -P array")x"
echo "speed vs kcat -C -e: consume $(ratio "consume bounded" "kcat -C -e")x (best), $(mratio "consume bounded" "kcat -C -e")x (median)"
