#!/usr/bin/env bash
# The edit-and-re-lint scenario: a copy of transformers (2,912 files) linted once to fill the
# cache, then, before each timed run, one line appended to one model file
# (models/bert/modeling_bert.py) and the whole project linted again with the cache.
#
#   bench/edit.sh [RUNS]          (default 10; needs hyperfine and bench/corpus.sh's corpus)
#
# Prints the median and range per output format: `github` (one line per finding) and `full`
# (the default text output, with code excerpts and the refactorings' diffs).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-10}"
src="$root/target/corpus/src/transformers/transformers"
[ -d "$src" ] || bash "$root/bench/corpus.sh" "$root/target/corpus" transformers >/dev/null
(cd "$root" && cargo build --release --quiet)
dl="$root/target/release/dllint"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$src" "$work/transformers"
edited="$work/transformers/models/bert/modeling_bert.py"
echo "commit $(git -C "$root" rev-parse --short HEAD), $(find "$work/transformers" -name '*.py' | wc -l) files, load $(cut -d' ' -f1 /proc/loadavg)"
for format in github full; do
  cache="$work/cache-$format"
  "$dl" check --isolated -q --exit-zero --output-format "$format" --cache-dir "$cache" "$work/transformers" >/dev/null
  hyperfine --style none --runs "$runs" --export-json "$work/$format.json" \
    --prepare "printf '# edit\nedited_\$RANDOM = 1\n' >> '$edited'" \
    "'$dl' check --isolated -q --exit-zero --output-format $format --cache-dir '$cache' '$work/transformers'" >/dev/null
  python3 - "$work/$format.json" "$format" <<'PY'
import json, sys
times = sorted(json.load(open(sys.argv[1]))["results"][0]["times"])
median = times[len(times) // 2] if len(times) % 2 else sum(times[len(times) // 2 - 1:len(times) // 2 + 1]) / 2
print(f"{sys.argv[2]:>6}: median {median:.3f} s, range {times[0]:.3f}-{times[-1]:.3f} s over {len(times)} runs")
PY
done
