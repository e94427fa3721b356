#!/usr/bin/env bash
# The performance benchmark, in one run, on the pinned real corpus (bench/corpus.sh):
#
#   (a) parse floor: examples/parse_floor.rs — the same discovery, reader, parser and thread
#       pool as `dllint check`, no rules; dllint cannot be faster than this;
#   (b) `dllint check` with the default rules (and cold / warm cache when dllint has a cache);
#   (c) `ruff check --no-cache --select E,F,W --silent`, ruff pinned below, installed into a
#       venv: `--silent` so that both tools analyse and neither spends its time printing
#       (ruff reports ~370k E,F,W findings on the corpus; dllint ~1k);
#   (d) peak RSS (`/usr/bin/time -v`), scaling over 1x/2x/4x copies of the corpus, 1 vs 2
#       threads, and byte-identical output across --threads 1/2/8.
#
#   bench/run.sh                        # corpus in target/corpus (fetched on first use)
#   BENCH_CORPUS=/path bench/run.sh     # a corpus directory laid out as bench/corpus.sh does
#   BENCH_RUNS=10 bench/run.sh          # runs per command (default 5)
#
# Prints a Markdown table (medians in seconds, ratios, peak RSS in MB) and appends one row to
# the history table at the end of bench/RESULTS.md (date, commit, the main ratios), so that a
# regression shows; raw hyperfine JSON is kept in target/bench/. BENCH_NO_HISTORY=1 skips the
# row. Needs hyperfine and GNU time (installed with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUFF_VERSION=0.17.5
RUNS=${BENCH_RUNS:-5}
OUT=$ROOT/target/bench
mkdir -p "$OUT"

need_apt=()
command -v hyperfine >/dev/null 2>&1 || need_apt+=(hyperfine)
[ -x /usr/bin/time ] || need_apt+=(time)
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "== corpus" >&2
corpus_root=${BENCH_CORPUS:-$ROOT/target/corpus}
src=$(bench/corpus.sh "$corpus_root" | tail -n 1)
# Copies for the scaling runs: hard links, so every copy is the same bytes in the page cache.
for n in 2 4; do
  dir="$OUT/corpus-${n}x"
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir.tmp"
    for i in $(seq 1 "$n"); do cp -rl "$src" "$dir.tmp/copy$i"; done
    mv "$dir.tmp" "$dir"
  fi
done
files=$(find "$src" -name '*.py' -o -name '*.pyi' | wc -l)
lines=$(find "$src" \( -name '*.py' -o -name '*.pyi' \) -print0 | xargs -0 cat | wc -l)
echo "corpus: $src ($files files, $lines lines)" >&2

echo "== build" >&2
cargo build --release --quiet --bin dllint --example parse_floor
DLLINT=$ROOT/target/release/dllint
FLOOR=$ROOT/target/release/examples/parse_floor

echo "== ruff $RUFF_VERSION" >&2
if [ ! -x "$OUT/ruff-venv/bin/ruff" ] || ! "$OUT/ruff-venv/bin/ruff" --version | grep -q "$RUFF_VERSION"; then
  python3 -m venv "$OUT/ruff-venv"
  "$OUT/ruff-venv/bin/python" -m pip install --quiet --disable-pip-version-check "ruff==$RUFF_VERSION"
fi
RUFF=$OUT/ruff-venv/bin/ruff

# The cache, if this dllint has one: `--no-cache` for the uncached run; cold = cache removed
# before every run, warm = cache filled by the warm-up run.
help=$("$DLLINT" check --help)
has_cache=0
grep -q -- '--no-cache' <<<"$help" && has_cache=1
cache_flag=""
cache_dir=$OUT/cache
cache_arg=""
if grep -q -- '--cache-dir' <<<"$help"; then cache_arg="--cache-dir $cache_dir"; fi
[ "$has_cache" = 1 ] && cache_flag="--no-cache"

dl="$DLLINT check --isolated -q --exit-zero"
ruff="$RUFF check --isolated --no-cache --select E,F,W --exit-zero --silent"

# hyperfine NAME COMMAND...: median seconds, into $OUT/NAME.json. Commands run in $src's
# parent so that a default cache directory (./.dllint_cache) lands in target/bench.
hf() {
  local name=$1; shift
  (cd "$OUT" && hyperfine --style none --warmup 1 --runs "$RUNS" --export-json "$OUT/$name.json" "$@" >&2)
}

# The three commands the targets compare (floor, dllint, ruff) run in turn, round by round
# (a warm-up round first; each round starts with the next command), not one command's runs
# after the other's: on a shared VM the machine's speed drifts over minutes, and a drift
# between two commands' runs would show as a ratio. Each ratio is the median of the rounds'
# ratios. Same JSON as hyperfine's, in $OUT.
rounds() {
  (cd "$OUT" && python3 - "$OUT" "$RUNS" "$@" <<'PY'
import json, os, shlex, subprocess, sys, time
out, runs, pairs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
commands = list(zip(pairs[0::2], pairs[1::2]))
times = {name: [] for name, _ in commands}
for round_ in range(runs + 1):
    for i in range(len(commands)):
        name, command = commands[(round_ + i) % len(commands)]
        start = time.perf_counter()
        subprocess.run(shlex.split(command), stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        if round_ > 0:
            times[name].append(time.perf_counter() - start)
for name, command in commands:
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump({"results": [{"command": command, "times": times[name],
                                "rounds": "interleaved"}]}, f)
PY
  )
}

echo "== (a)-(c) 1x corpus, default threads" >&2
rounds floor "$FLOOR $src" dllint "$dl $cache_flag $src" ruff "$ruff $src"
if [ "$has_cache" = 1 ]; then
  hf dllint_cold --prepare "rm -rf $cache_dir $OUT/.dllint_cache" "$dl $cache_arg $src"
  hf dllint_warm "$dl $cache_arg $src"
fi

echo "== scaling" >&2
for n in 2 4; do
  hf "floor_${n}x" "$FLOOR $OUT/corpus-${n}x"
  hf "dllint_${n}x" "$dl $cache_flag $OUT/corpus-${n}x"
done

# In turn, round by round, like (a)-(c): runs of one thread count after the others' would
# show the machine's drift between them as a speedup (or a slowdown).
echo "== threads" >&2
rounds floor_t1 "$FLOOR --threads 1 $src" dllint_t1 "$dl $cache_flag --threads 1 $src" \
  floor_t2 "$FLOOR --threads 2 $src" dllint_t2 "$dl $cache_flag --threads 2 $src"

echo "== (d) peak RSS" >&2
rss() {  # median of 3 runs, MB
  local name=$1; shift
  for _ in 1 2 3; do
    (cd "$OUT" && /usr/bin/time -v "$@" 2>&1 >/dev/null | awk '/Maximum resident set size/ {print $6}')
  done | sort -n | sed -n 2p | awk -v n="$name" '{printf "%s %.0f\n", n, $1/1024}'
}
{
  rss floor $FLOOR "$src"
  rss dllint $dl $cache_flag "$src"
  rss dllint_2x $dl $cache_flag "$OUT/corpus-2x"
  rss dllint_4x $dl $cache_flag "$OUT/corpus-4x"
  rss ruff $ruff "$src"
} >"$OUT/rss.txt"

echo "== determinism (full corpus, --threads 1/2/8)" >&2
deterministic=yes
for t in 1 2 8; do
  $DLLINT check --isolated $cache_flag --exit-zero --output-format json --threads "$t" "$src" \
    >"$OUT/out-t$t.json"
done
cmp -s "$OUT/out-t1.json" "$OUT/out-t2.json" || deterministic=no
cmp -s "$OUT/out-t1.json" "$OUT/out-t8.json" || deterministic=no
$DLLINT check --isolated $cache_flag --exit-zero --output-format json --threads 2 "$src" \
  >"$OUT/out-t2b.json"
cmp -s "$OUT/out-t2.json" "$OUT/out-t2b.json" || deterministic=no
findings=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$OUT/out-t1.json")

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src rules Cargo.toml Cargo.lock 2>/dev/null || commit="$commit+dirty"
history=$ROOT/bench/RESULTS.md
[ "${BENCH_NO_HISTORY:-0}" = 1 ] && history=""
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")

python3 - "$OUT" "$has_cache" "$files" "$lines" "$deterministic" "$findings" "$RUFF_VERSION" \
  "$commit" "$history" "$load" <<'EOF'
import datetime, json, os, statistics, sys
out, has_cache, files, lines, det, findings, ruff_version, commit, history, load = sys.argv[1:]
def med(name):
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path):
        return None
    return statistics.median(json.load(open(path))["results"][0]["times"])
def times(name):
    return json.load(open(os.path.join(out, name + ".json")))["results"][0]["times"]
def ratio(a, b):
    """Median of the per-round ratios (the commands ran in turn, round by round)."""
    return statistics.median(x / y for x, y in zip(times(a), times(b)))
rss = dict(line.split() for line in open(os.path.join(out, "rss.txt")))
f, d, r = med("floor"), med("dllint"), med("ruff")
d_f, d_r, f_r = ratio("dllint", "floor"), ratio("dllint", "ruff"), ratio("floor", "ruff")
print(f"Corpus: {files} files, {lines} lines; {os.cpu_count()} cores; median of "
      f"{len(times('floor'))} runs; floor, dllint and ruff in turn, round by round (their "
      f"ratios: medians of the rounds' ratios).\n")
print("| command | median (s) | / floor | / ruff | peak RSS (MB) |")
print("|---|---:|---:|---:|---:|")
def row(label, t, mem="", to_floor=None, to_ruff=None):
    to_floor = t / f if to_floor is None else to_floor
    to_ruff = t / r if to_ruff is None else to_ruff
    print(f"| {label} | {t:.3f} | {to_floor:.2f} | {to_ruff:.2f} | {mem} |")
row("parse floor (examples/parse_floor)", f, rss.get("floor", ""), 1.0, f_r)
row("dllint check (default rules)", d, rss.get("dllint", ""), d_f, d_r)
if has_cache == "1":
    row("dllint check, cold cache", med("dllint_cold"))
    row("dllint check, warm cache", med("dllint_warm"))
row(f"ruff {ruff_version} check --no-cache --select E,F,W --silent", r, rss.get("ruff", ""),
    1 / f_r, 1.0)
print()
print("| scaling | floor (s) | dllint (s) | dllint / 1x | dllint / floor | dllint peak RSS (MB) |")
print("|---|---:|---:|---:|---:|---:|")
for n, suffix, mem in [(1, "", "dllint"), (2, "_2x", "dllint_2x"), (4, "_4x", "dllint_4x")]:
    fl, dl = med("floor" + suffix), med("dllint" + suffix)
    print(f"| {n}x | {fl:.3f} | {dl:.3f} | {dl / d:.2f} | {dl / fl:.2f} | {rss.get(mem, '')} |")
print()
print("| threads | floor (s) | dllint (s) | dllint / floor |")
print("|---|---:|---:|---:|")
for t in (1, 2):
    fl, dl = med(f"floor_t{t}"), med(f"dllint_t{t}")
    print(f"| {t} | {fl:.3f} | {dl:.3f} | {dl / fl:.2f} |")
# Speedups: medians of the rounds' ratios (the four commands ran in turn).
f_speedup, d_speedup = ratio("floor_t1", "floor_t2"), ratio("dllint_t1", "dllint_t2")
print(f"\n2-thread speedup: floor {f_speedup:.2f}x, dllint {d_speedup:.2f}x")
rss1, rss4 = float(rss.get("dllint", "nan")), float(rss.get("dllint_4x", "nan"))
print(f"Targets (issue 19): dllint/floor {d_f:.2f} (<= 2.0), dllint/ruff {d_r:.2f} (< 1), "
      f"peak RSS {rss1:.0f} MB (<= 150), 4x corpus {rss4:.0f} MB (<= 225), "
      f"2 threads {d_speedup:.2f}x (>= 1.7)")
print(f"Byte-identical JSON output across --threads 1/2/8 and a repeated run: {det} "
      f"({findings} findings)")

# One row of history per run, at the end of bench/RESULTS.md.
if history:
    header = ("\n## History\n\nOne row per `bench/run.sh` run (appended by the script; load = the "
              "1-minute load average when the table was printed).\n\n"
              "| date (UTC) | commit | floor (s) | dllint (s) | ruff --silent (s) | dllint / floor "
              "| dllint / ruff | warm / cold | RSS 1x (MB) | RSS 4x (MB) | load |\n"
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    text = open(history).read()
    if "\n## History\n" not in text:
        text = text.rstrip("\n") + "\n" + header
    cold, warm = med("dllint_cold"), med("dllint_warm")
    warm_cold = f"{warm / cold:.2f}" if cold and warm else ""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    text = text.rstrip("\n") + (f"\n| {now} | {commit} | {f:.3f} | {d:.3f} | {r:.3f} | {d_f:.2f} "
                                f"| {d_r:.2f} | {warm_cold} | {rss1:.0f} | {rss4:.0f} | {load} |\n")
    open(history, "w").write(text)
EOF
