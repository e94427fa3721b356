#!/usr/bin/env bash
# Scaling: dllint on a synthetic monorepo of 1x, 2x, 4x, 8x and 16x copies of the pinned corpus
# (bench/corpus.sh; 6,462 files, so 16x is 103,392 files). Each copy is a directory of its own
# (copy1/transformers/..., copy2/transformers/...), so every copy's modules have distinct
# dotted names and resolve their imports within their own copy; the copies are hard links, the
# same bytes in the page cache.
#
#   bench/scaling.sh                 # factors 1 2 4 8 16
#   SCALING_FACTORS="1 2 4" bench/scaling.sh
#
# For each factor, one run of the parse floor (examples/parse_floor.rs) and one of
# `dllint check --no-cache` (default rules, output discarded): wall seconds, peak RSS (GNU
# time), and per-file costs. Linear work keeps the time per file and the memory per file flat
# as the tree grows; a quadratic step would double them with every doubling. Prints a Markdown
# table and writes it to target/bench/scaling.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/target/bench
mkdir -p "$OUT"
FACTORS=${SCALING_FACTORS:-1 2 4 8 16}
[ -x /usr/bin/time ] || { echo "bench/scaling.sh needs GNU time (apt-get install time)" >&2; exit 1; }

src=$(bench/corpus.sh "$ROOT/target/corpus" | tail -n 1)
cargo build --release --quiet --bin dllint --example parse_floor
DLLINT=$ROOT/target/release/dllint
FLOOR=$ROOT/target/release/examples/parse_floor

# measure CMD...: "wall_seconds peak_rss_kb" of one run (output discarded).
measure() {
  /usr/bin/time -f "%e %M" -o "$OUT/scaling.time" "$@" >/dev/null 2>"$OUT/scaling.err" || {
    echo "failed: $*" >&2
    cat "$OUT/scaling.err" >&2
    exit 1
  }
  cat "$OUT/scaling.time"
}

table=$OUT/scaling.md
{
  echo "| copies | files | floor (s) | dllint (s) | dllint / floor | dllint ms / 1k files | RSS (MB) | RSS KB / file |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$table"
for n in $FACTORS; do
  dir="$OUT/scale-${n}x"
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir.tmp"
    for i in $(seq 1 "$n"); do cp -rl "$src" "$dir.tmp/copy$i"; done
    mv "$dir.tmp" "$dir"
  fi
  files=$(find "$dir" \( -name '*.py' -o -name '*.pyi' \) | wc -l)
  # Warm the page cache, then measure.
  "$FLOOR" "$dir" >/dev/null 2>&1
  read -r floor _ < <(measure "$FLOOR" "$dir")
  read -r wall rss < <(measure "$DLLINT" check --isolated --no-cache -q --exit-zero "$dir")
  python3 - "$n" "$files" "$floor" "$wall" "$rss" >>"$table" <<'EOF'
import sys
n, files, floor, wall, rss = sys.argv[1:]
files, floor, wall, rss = int(files), float(floor), float(wall), int(rss)
print(f"| {n} | {files:,} | {floor:.2f} | {wall:.2f} | {wall / floor:.2f} | "
      f"{1000 * wall / files * 1000:.0f} | {rss / 1024:.0f} | {rss / files:.1f} |")
EOF
  tail -n 1 "$table" >&2
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, commit $(git rev-parse --short HEAD)" >>"$table"
cat "$table"
