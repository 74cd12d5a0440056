#!/usr/bin/env bash
# Whole job on a file: `land --input` (zstd Parquet, both cores) against DuckDB building the
# three tables (assessments, questions, options) from the same NDJSON file with 2 threads
# (benches/scripts/duckdb_flat_tables.py), in the same run. Three land configurations:
#
#   five    all five tables (raw with every message byte for byte, assessments with the nested
#           `sequences` column, questions, options, rejects) — the default `land`;
#   nested  `--tables assessments,questions,options` (+ rejects, always landed), assessments
#           with its nested `sequences` column; against DuckDB writing `sequences` too
#           (`--with-sequences`): the same three tables;
#   flat    the same `--without-sequences`: the three flat tables, against DuckDB's flat
#           tables (issue 3's comparison).
#
#   benches/e2e_file.sh [EVENTS] [RUNS]     # default 100000 events, best of 3 runs
#
# Runs are interleaved (five, nested, flat, duckdb flat, duckdb nested, five, ...) so that
# load changes on the machine hit all alike. Prints the best run of each and the ratios.
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
duck_run() { # $1 = out dir, rest = extra script args; prints "seconds rows..."
  rm -rf "$1"
  "$VENV/bin/python" benches/scripts/duckdb_flat_tables.py "$INPUT" "$@"
}
five=() nested=() flat=() duck=() duckn=()
for _ in $(seq "$RUNS"); do
  five+=("$(land_run five)")
  nested+=("$(land_run nested --tables assessments,questions,options)")
  flat+=("$(land_run flat --tables assessments,questions,options --without-sequences)")
  out=$(duck_run "$WORK/duck")
  duck+=("$(echo "$out" | sed -E 's/.*duckdb_seconds=([0-9.]+).*/\1/')")
  duck_rows="$out"
  out=$(duck_run "$WORK/duckn" --with-sequences)
  duckn+=("$(echo "$out" | sed -E 's/.*duckdb_seconds=([0-9.]+).*/\1/')")
done
FIVE=$(printf '%s\n' "${five[@]}" | best)
NESTED=$(printf '%s\n' "${nested[@]}" | best)
FLAT=$(printf '%s\n' "${flat[@]}" | best)
DUCK=$(printf '%s\n' "${duck[@]}" | best)
DUCKN=$(printf '%s\n' "${duckn[@]}" | best)
mbs() { awk -v b="$BYTES" -v t="$1" 'BEGIN{printf "%.1f", b/t/1e6}'; }
ratio() { awk -v d="$1" -v l="$2" 'BEGIN{printf "%.2f", d/l}'; }
echo "land five:   $(head -1 "$WORK/land-five.out")"
echo "land nested: $(head -1 "$WORK/land-nested.out")"
echo "land flat:   $(head -1 "$WORK/land-flat.out")"
echo "duckdb:      $duck_rows"
echo "output bytes: land nested $(du -sb "$WORK/wh-nested" | cut -f1), duckdb nested $(du -sb "$WORK/duckn" | cut -f1); land flat $(du -sb "$WORK/wh-flat" | cut -f1), duckdb flat $(du -sb "$WORK/duck" | cut -f1)"
echo "land five tables        best of $RUNS: ${FIVE}s ($(mbs "$FIVE") MB/s of JSON)  runs: ${five[*]}"
echo "land three, nested      best of $RUNS: ${NESTED}s ($(mbs "$NESTED") MB/s of JSON)  runs: ${nested[*]}"
echo "land three, flat        best of $RUNS: ${FLAT}s ($(mbs "$FLAT") MB/s of JSON)  runs: ${flat[*]}"
echo "duckdb three, flat      best of $RUNS: ${DUCK}s ($(mbs "$DUCK") MB/s of JSON)  runs: ${duck[*]}"
echo "duckdb three, nested    best of $RUNS: ${DUCKN}s ($(mbs "$DUCKN") MB/s of JSON)  runs: ${duckn[*]}"
echo "ratio land/duckdb speed, same tables: flat $(ratio "$DUCK" "$FLAT")x, nested $(ratio "$DUCKN" "$NESTED")x; land five tables vs duckdb flat $(ratio "$DUCK" "$FIVE")x"
echo "end: $(date -u +%H:%M:%S) UTC, load: $(cut -d' ' -f1-3 /proc/loadavg)"
