#!/usr/bin/env bash
# Whole job on a file: `land --input` (zstd Parquet, both cores) against DuckDB building the
# three flat tables (assessments, questions, options) from the same NDJSON file with 2 threads
# (benches/scripts/duckdb_flat_tables.py), in the same run. Two land configurations:
#
#   five   all five tables (raw with every message byte for byte, assessments with the nested
#          `sequences` column, questions, options, rejects) — the default `land`;
#   flat   `--tables assessments,questions,options` (+ rejects, always landed): DuckDB's three
#          tables (land's assessments still carries the nested `sequences` column).
#
#   benches/e2e_file.sh [EVENTS] [RUNS]     # default 100000 events, best of 3 runs
#
# Runs are interleaved (five, flat, duckdb, five, flat, duckdb, ...) so that load changes on
# the machine hit all three alike. Prints the best run of each and the ratios.
# Needs scripts/setup's venv (duckdb).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100000}"
RUNS="${2:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/assessment-lake/target}"
VENV="${ASSESSMENT_LAKE_VENV:-$HOME/.cache/assessment-lake/venv}"
WORK="build/bench-e2e"
mkdir -p "$WORK"
# BENCH_BIN_DIR: use prebuilt `land`/`generate` from there instead of building them.
if [ -n "${BENCH_BIN_DIR:-}" ]; then
  BIN="$BENCH_BIN_DIR"
else
  cargo build --release -q -p examples --bin land --bin generate
  BIN="$CARGO_TARGET_DIR/release"
fi
INPUT="$WORK/events-$N.ndjson"
[ -s "$INPUT" ] || "$BIN/generate" -n "$N" --format ndjson -o "$INPUT" 2>/dev/null
BYTES=$(stat -c %s "$INPUT")
echo "input: $INPUT ($N events, $BYTES bytes); machine: $(nproc) cores, $(uname -m)"
echo "start: $(date -u +%H:%M:%S) UTC, load: $(cut -d' ' -f1-3 /proc/loadavg)"

best() { sort -n | head -1; }
secs() { awk -v e="$2" -v s="$1" 'BEGIN{printf "%.3f", e-s}'; }
land_run() { # $1 = label, rest = extra land args
  local label="$1"
  shift
  rm -rf "$WORK/wh-$label"
  local s e
  s=$(date +%s.%N)
  RUST_LOG=warn "$BIN/land" --input "$INPUT" --warehouse "$WORK/wh-$label" "$@" > "$WORK/land-$label.out"
  e=$(date +%s.%N)
  secs "$s" "$e"
}
five=() flat=() duck=()
for _ in $(seq "$RUNS"); do
  five+=("$(land_run five)")
  flat+=("$(land_run flat --tables assessments,questions,options)")
  rm -rf "$WORK/duck"
  out=$("$VENV/bin/python" benches/scripts/duckdb_flat_tables.py "$INPUT" "$WORK/duck")
  duck+=("$(echo "$out" | sed -E 's/.*duckdb_seconds=([0-9.]+).*/\1/')")
  duck_rows="$out"
done
FIVE=$(printf '%s\n' "${five[@]}" | best)
FLAT=$(printf '%s\n' "${flat[@]}" | best)
DUCK=$(printf '%s\n' "${duck[@]}" | best)
mbs() { awk -v b="$BYTES" -v t="$1" 'BEGIN{printf "%.1f", b/t/1e6}'; }
ratio() { awk -v d="$DUCK" -v l="$1" 'BEGIN{printf "%.2f", d/l}'; }
echo "land five: $(head -1 "$WORK/land-five.out")"
echo "land flat: $(head -1 "$WORK/land-flat.out")"
echo "duckdb:    $duck_rows"
echo "land five tables  best of $RUNS: ${FIVE}s ($(mbs "$FIVE") MB/s of JSON)  runs: ${five[*]}"
echo "land flat+rejects best of $RUNS: ${FLAT}s ($(mbs "$FLAT") MB/s of JSON)  runs: ${flat[*]}"
echo "duckdb flat       best of $RUNS: ${DUCK}s ($(mbs "$DUCK") MB/s of JSON)  runs: ${duck[*]}"
echo "ratio land/duckdb speed: five tables $(ratio "$FIVE")x, flat tables $(ratio "$FLAT")x"
echo "end: $(date -u +%H:%M:%S) UTC, load: $(cut -d' ' -f1-3 /proc/loadavg)"
