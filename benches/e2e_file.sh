#!/usr/bin/env bash
# Whole job on a file: `land --input` (all five tables, zstd Parquet, both cores) against
# DuckDB building the three flat tables (assessments, questions, options) from the same
# NDJSON file with 2 threads (benches/scripts/duckdb_flat_tables.py), in the same run.
#
#   benches/e2e_file.sh [EVENTS]        # default 100000
#
# Prints the best of 3 runs of each and the ratio. Needs scripts/setup's venv (duckdb).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/assessment-lake/target}"
VENV="${ASSESSMENT_LAKE_VENV:-$HOME/.cache/assessment-lake/venv}"
WORK="build/bench-e2e"
mkdir -p "$WORK"
cargo build --release -q -p examples --bin land --bin generate
BIN="$CARGO_TARGET_DIR/release"
INPUT="$WORK/events-$N.ndjson"
[ -s "$INPUT" ] || "$BIN/generate" -n "$N" --format ndjson -o "$INPUT" 2>/dev/null
BYTES=$(stat -c %s "$INPUT")
echo "input: $INPUT ($N events, $BYTES bytes); machine: $(nproc) cores, $(uname -m)"

best() { sort -n | head -1; }
land_times=()
for i in 1 2 3; do
  rm -rf "$WORK/wh"
  s=$(date +%s.%N)
  RUST_LOG=warn "$BIN/land" --input "$INPUT" --warehouse "$WORK/wh" > "$WORK/land.out"
  e=$(date +%s.%N)
  land_times+=("$(awk -v e="$e" -v s="$s" 'BEGIN{printf "%.3f", e-s}')")
done
duck_times=()
for i in 1 2 3; do
  rm -rf "$WORK/duck"
  out=$("$VENV/bin/python" benches/scripts/duckdb_flat_tables.py "$INPUT" "$WORK/duck")
  duck_times+=("$(echo "$out" | sed -E 's/.*duckdb_seconds=([0-9.]+).*/\1/')")
  duck_rows="$out"
done
LAND=$(printf '%s\n' "${land_times[@]}" | best)
DUCK=$(printf '%s\n' "${duck_times[@]}" | best)
head -1 "$WORK/land.out"
echo "duckdb: $duck_rows"
echo "land   best of 3: ${LAND}s  ($(awk -v b="$BYTES" -v t="$LAND" 'BEGIN{printf "%.1f", b/t/1e6}') MB/s of JSON)  runs: ${land_times[*]}"
echo "duckdb best of 3: ${DUCK}s  ($(awk -v b="$BYTES" -v t="$DUCK" 'BEGIN{printf "%.1f", b/t/1e6}') MB/s of JSON)  runs: ${duck_times[*]}"
echo "ratio land/duckdb speed: $(awk -v d="$DUCK" -v l="$LAND" 'BEGIN{printf "%.2f", d/l}')x"
