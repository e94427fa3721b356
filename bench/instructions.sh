#!/usr/bin/env bash
# Repeatable before/after comparisons on a noisy machine: the instructions each dllint binary
# executes (valgrind's callgrind) on one project of the pinned corpus, one thread, no cache.
# Wall times on a shared VM vary by 5-10 % from run to run; instruction counts by well under
# 0.1 %, so a change of 1 % shows. They do not measure cache misses or parallelism: confirm a
# real change with bench/run.sh.
#
#   bench/instructions.sh BIN [BIN...]           # e.g. a saved build of main, then target/release/dllint
#   bench/instructions.sh                        # builds and measures target/release/dllint
#   PROJECT=torchvision bench/instructions.sh BIN...
#   FORMAT=full bench/instructions.sh BIN...     # the output format (default: github)
#
# PROJECT is a directory of target/corpus/src (default timm, 304 files: about 2.2 billion
# instructions, about 20 seconds per binary). The binaries run in parallel, one per core. Prints one
# line per binary: instructions, and the ratio to the first.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
if [ "$#" -eq 0 ]; then
  cargo build --release --quiet --bin dllint
  set -- "$ROOT/target/release/dllint"
fi
command -v valgrind >/dev/null || { echo "bench/instructions.sh needs valgrind (apt-get install valgrind)" >&2; exit 1; }
PROJECT=${PROJECT:-timm}
FORMAT=${FORMAT:-github}
src=$(bench/corpus.sh "$ROOT/target/corpus" | tail -n 1)
dir="$src/$PROJECT"
[ -d "$dir" ] || { echo "no project $PROJECT in $src" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
i=0
for bin in "$@"; do
  [ -x "$bin" ] || { echo "not an executable: $bin" >&2; exit 1; }
  i=$((i + 1))
  (
    valgrind --tool=callgrind --callgrind-out-file="$work/$i.out" \
      "$bin" check --isolated -q --exit-zero --no-cache --threads 1 --output-format "$FORMAT" "$dir" \
      >/dev/null 2>"$work/$i.log"
  ) &
  # One binary per core.
  if [ $((i % $(nproc))) -eq 0 ]; then wait; fi
done
wait
echo "instructions, $PROJECT ($(find "$dir" -name '*.py' | wc -l) files), --output-format $FORMAT, one thread:"
first=""
i=0
for bin in "$@"; do
  i=$((i + 1))
  n=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/$i.log")
  [ -n "$n" ] || { echo "callgrind failed for $bin:" >&2; cat "$work/$i.log" >&2; exit 1; }
  [ -n "$first" ] || first=$n
  printf '%14s  %.4f  %s\n' "$n" "$(echo "$n / $first" | bc -l)" "$bin"
done
