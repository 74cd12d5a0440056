#!/usr/bin/env bash
# `report` on N landed events (default 1,000,000): generates them with `generate`, lands
# them with `land --input` into a local warehouse (all five tables), then times `report`
# over it (registration, the six SQL files of queries/report_*.sql, charts, page) RUNS times
# and prints each run's wall time and peak RSS, then the best and the median.
#
#   benches/report.sh [EVENTS] [RUNS]     # defaults 1000000 3
#
# Release builds of `generate`, `land` (package examples) and `report` (assessment-query);
# NO_BUILD=1 uses the binaries already in $CARGO_TARGET_DIR/release. The events and the
# warehouse are kept in build/bench-report/ for the next run (delete it to start over).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
RUNS="${2:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/assessment-lake/target}"
WORK="build/bench-report"
mkdir -p "$WORK"
say() { echo "report.sh: $*" >&2; }

[[ -x /usr/bin/time ]] || { say "/usr/bin/time missing (scripts/setup installs it)"; exit 1; }
if [[ "${NO_BUILD:-0}" != 1 ]]; then
  cargo build --release -q -p examples --bin generate --bin land
  cargo build --release -q -p assessment-query --bin report
fi
BIN="$CARGO_TARGET_DIR/release"

INPUT="$WORK/events-$N.ndjson"
WAREHOUSE="$WORK/warehouse-$N"
if [[ ! -s "$INPUT" ]]; then
  say "generating $N events"
  "$BIN/generate" -n "$N" --format ndjson -o "$INPUT.tmp" 2>/dev/null
  mv "$INPUT.tmp" "$INPUT"
fi
if [[ ! -f "$WAREHOUSE/.landed" ]]; then
  say "landing $INPUT into $WAREHOUSE"
  rm -rf "$WAREHOUSE"
  "$BIN/land" --input "$INPUT" --warehouse "$WAREHOUSE" >&2
  touch "$WAREHOUSE/.landed"
fi
echo "input: $N events, $(du -sh "$INPUT" | cut -f1) of NDJSON; warehouse $(du -sh "$WAREHOUSE" | cut -f1) of Parquet"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"

times=()
for run in $(seq 1 "$RUNS"); do
  out="$WORK/report-$run.html"
  /usr/bin/time -f '%e %M' -o "$WORK/time.txt" "$BIN/report" --warehouse "$WAREHOUSE" --out "$out" >"$WORK/report.txt"
  read -r secs rss_kb <"$WORK/time.txt"
  times+=("$secs")
  echo "run $run: ${secs}s wall, peak RSS $((rss_kb / 1024)) MiB: $(cat "$WORK/report.txt")"
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
echo "report over $N events: best $(head -n1 <<<"$sorted")s, median $(sed -n "$(((RUNS + 1) / 2))p" <<<"$sorted")s of $RUNS runs"
