#!/usr/bin/env bash
# The edit-and-re-lint scenario: a copy of transformers (2,912 files) linted once to fill the
# cache, then, before each timed run, one line appended to one model file
# (models/bert/modeling_bert.py) and the whole project linted again with the cache.
#
#   bench/edit.sh [ROUNDS]                 (default 10; needs bench/corpus.sh's corpus)
#   BASE=/path/to/other/dllint bench/edit.sh [ROUNDS]
#
# Prints the median and range per output format: `github` (one line per finding) and `full`
# (the default text output, with code excerpts and the refactorings' diffs).
#
# With BASE, the two binaries (each with its own copy of the project and its own cache) run in
# turn, round by round, and the median of the rounds' ratios is printed too: on a VM whose speed
# drifts over minutes, comparing runs made one after the other measures the drift.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-10}"
src="$root/target/corpus/src/transformers/transformers"
[ -d "$src" ] || bash "$root/bench/corpus.sh" "$root/target/corpus" transformers >/dev/null
(cd "$root" && cargo build --release --quiet)
dl="$root/target/release/dllint"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "commit $(git -C "$root" rev-parse --short HEAD), $(find "$src" -name '*.py' | wc -l) files, load $(cut -d' ' -f1 /proc/loadavg)"
python3 - "$work" "$src" "$rounds" "$dl" ${BASE:+"$BASE"} <<'PY'
import random, shutil, statistics, subprocess, sys, time

work, src, rounds, bins = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
names = ["this build", "BASE"][: len(bins)]


def command(i, fmt):
    return [bins[i], "check", "--isolated", "-q", "--exit-zero", "--output-format", fmt,
            "--cache-dir", f"{work}/cache-{fmt}-{i}", f"{work}/project-{i}"]


for i in range(len(bins)):
    shutil.copytree(src, f"{work}/project-{i}")
for fmt in ["github", "full"]:
    times = [[] for _ in bins]
    for i in range(len(bins)):
        subprocess.run(command(i, fmt), stdout=subprocess.DEVNULL, check=True)
    for r in range(rounds):
        # Each round starts with the other binary.
        order = list(range(len(bins)))[r % len(bins):] + list(range(len(bins)))[: r % len(bins)]
        for i in order:
            with open(f"{work}/project-{i}/models/bert/modeling_bert.py", "a") as edited:
                edited.write(f"# edit\nedited_{random.randrange(1 << 30)} = 1\n")
            start = time.perf_counter()
            subprocess.run(command(i, fmt), stdout=subprocess.DEVNULL, check=True)
            times[i].append(time.perf_counter() - start)
    for i, name in enumerate(names):
        line = (f"{fmt:>6} {name}: median {statistics.median(times[i]):.3f} s, "
                f"range {min(times[i]):.3f}-{max(times[i]):.3f} s over {rounds} runs")
        if i > 0:
            ratio = statistics.median(t / b for t, b in zip(times[0], times[i]))
            line += f"; this build / BASE, median of the rounds' ratios: {ratio:.3f}"
        print(line)
PY
