#!/usr/bin/env bash
# Does one `dllint check --fix --unsafe-fixes` run reach the fixed point on the pinned corpus?
#
#   bench/fix_fixed_point.sh [DLLINT [RUNS [PACKAGE...]]]
#
# DLLINT defaults to target/release/dllint, RUNS (the most runs made) to 6, the packages to the
# whole corpus of bench/corpus.sh (fetched on first use). The corpus is copied to a scratch
# directory (target/fix-fixed-point) and fixed again and again, each run with
# `check --isolated --no-cache --fix --unsafe-fixes`, until a run changes nothing. Prints, per
# run, the fixes applied, the findings still marked fixable, whether any file changed, the
# lint -> fix passes the run made, and the time. Exits with 1 if the second run changed anything (one run must reach the fixed point).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dllint="${1:-$here/../target/release/dllint}"
runs="${2:-6}"
shift 2 || shift $# || true
corpus="$("$here/corpus.sh" "$here/../target/corpus" "$@" | tail -1)"
scratch="$here/../target/fix-fixed-point"
rm -rf "$scratch"
mkdir -p "$scratch"
if [ $# -gt 0 ]; then
  for name in "$@"; do cp -r "$corpus/${name//-/_}" "$scratch/"; done
else
  cp -r "$corpus/." "$scratch/"
fi
# Hash of every file (content and name): what a run changed.
tree_hash() { (cd "$scratch" && find . -type f -print0 | sort -z | xargs -0 sha1sum | sha1sum); }

echo "dllint: $dllint"
echo "corpus: $scratch ($(find "$scratch" -name '*.py' | wc -l) Python files)"
printf '%-4s %8s %9s %8s %7s %8s\n' run fixed fixable changed passes seconds
second_changed=0
for run in $(seq 1 "$runs"); do
  before="$(tree_hash)"
  start=$(date +%s.%N)
  out="$(cd "$scratch" && DLLINT_TIMING=1 "$dllint" check --isolated --no-cache --fix --unsafe-fixes \
    --output-format concise . 2>&1 || true)"
  end=$(date +%s.%N)
  after="$(tree_hash)"
  fixed=$(printf '%s\n' "$out" | sed -n 's/.*Fixed \([0-9]*\) finding.*/\1/p' | tail -1)
  fixable=$(printf '%s\n' "$out" | sed -n 's/.*\[\*\] \([0-9]*\) fixable.*/\1/p' | tail -1)
  passes=$(printf '%s\n' "$out" | sed -n 's/^dllint timing: fix passes: \([0-9]*\)/\1/p' | tail -1)
  changed=no
  [ "$before" != "$after" ] && changed=yes
  printf '%-4s %8s %9s %8s %7s %8.1f\n' "$run" "${fixed:-0}" "${fixable:-0}" "$changed" \
    "${passes:--}" \
    "$(awk "BEGIN{print $end - $start}")"
  printf '%s\n' "$out" | grep -E '^dllint: (error|warning)' | sort | uniq -c | head -20 || true
  [ "$run" = 2 ] && [ "$changed" = yes ] && second_changed=1
  [ "$changed" = no ] && break
done
if [ "$second_changed" = 1 ]; then
  echo "FAIL: the second run changed files: one run did not reach the fixed point"
  exit 1
fi
echo "OK: one run reached the fixed point"
