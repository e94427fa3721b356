#!/usr/bin/env bash
# Runs dslinter (the 2022 pylint plugin for ML code, PyPI `dslinter`) on corpora, for the
# side-by-side comparison with dllint's training-correctness rules (bench/dslinter_compare.py).
#
#   bench/dslinter.sh                       # the default corpora (timm, pytorch_lightning, fixtures)
#   bench/dslinter.sh NAME=DIR [NAME=DIR…]  # any directories
#
# Writes target/dslinter/NAME.json (pylint --output-format=json, paths relative to DIR), NAME.files
# (the files linted), NAME.stdout (dslinter's own
# "ERROR: Could not finish processing…" lines: it prints them to stdout, so the JSON goes to a
# file through --output) and NAME.time (wall seconds). The venv is target/dslinter-venv
# (target/ is git-ignored); delete it to reinstall.
#
# Versions: dslinter 2.0.9 (the last release) declares pylint>=2.12.2,<2.13, astroid>=2.9.3,<2.10
# and mypy 0.931, and Python classifiers up to 3.10 (astroid 2.9 predates 3.11), so the venv is
# made with a Python 3.10
# (DSLINTER_PYTHON, else python3.10 on PATH, else pyenv's 3.10.x). Checked: it loads with
# `pylint --load-plugins=dslinter` and reports on a small file.
#
# Only dslinter's own messages are enabled (--disable=all --enable=<its ids>). Its whole-program
# checks (W5507 deterministic-pytorch, W5508/W5510/W5511 seeds) look only at modules with
# an `if __name__ == "__main__":` block by default; that default is kept (set
# DSLINTER_ALL_MODULES=1 to check every module).
#
# pylint is slow and the machine is shared: it runs under `nice -n 10` with -j ${DSLINTER_JOBS:-2}.
# DSLINTER_MAX_FILES=N lints only the first N .py files of each corpus in sorted path order
# (a deterministic subset, for a corpus that would take too long); the default is every file.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/target/dslinter-venv"
OUT="$ROOT/target/dslinter"
JOBS="${DSLINTER_JOBS:-2}"

DSLINTER_VERSION=2.0.9
PYLINT_VERSION=2.12.2
ASTROID_VERSION=2.9.3

# Every message dslinter 2.0.9 registers (checkers/*.py and checkers/deprecated/*.py).
DSLINTER_IDS=C5501,C5502,C5503,C5504,C5505,C5506,E5501,R5501,R5502,R5503,R5504,R5505,R5506,R5507,R5508,W5501,W5502,W5503,W5504,W5505,W5506,W5507,W5508,W5509,W5510,W5511,W5512,W5513,W5514,W5515,W5516,W5517,W5518,W5519,W5520,W5521,W9998,W9999

find_python() {
    if [[ -n "${DSLINTER_PYTHON:-}" ]]; then echo "$DSLINTER_PYTHON"; return; fi
    local p
    # (python3.10 on PATH may be a pyenv shim that fails: try running each candidate.)
    for p in "$(command -v python3.10 || true)" "$HOME"/.pyenv/versions/3.10*/bin/python3; do
        if [[ -n "$p" && -x "$p" ]] && "$p" -c 'import venv' >/dev/null 2>&1; then
            echo "$p"; return
        fi
    done
    echo "dslinter.sh: needs a Python 3.10 (pylint 2.12 / astroid 2.9 do not run on 3.11+);" \
         "set DSLINTER_PYTHON" >&2
    exit 2
}

if [[ ! -x "$VENV/bin/pylint" ]] || ! "$VENV/bin/python" -c 'import dslinter' 2>/dev/null; then
    PY="$(find_python)"
    echo "creating $VENV with $("$PY" --version 2>&1)" >&2
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check \
        "dslinter==$DSLINTER_VERSION" "pylint==$PYLINT_VERSION" "astroid==$ASTROID_VERSION"
fi

if [[ $# -eq 0 ]]; then
    set -- timm=/work/corpus/src/timm \
           pytorch_lightning=/work/corpus/src/pytorch_lightning \
           fixtures=/work/main/fixtures
fi

EXTRA=()
if [[ "${DSLINTER_ALL_MODULES:-0}" == 1 ]]; then
    for c in deterministic_pytorch randomness_control_numpy randomness_control_pytorch \
             randomness_control_tensorflow; do
        EXTRA+=("--no_main_module_check_$c=y")
    done
fi

mkdir -p "$OUT"
for spec in "$@"; do
    name="${spec%%=*}"
    dir="${spec#*=}"
    if [[ "$name" == "$spec" ]]; then name="$(basename "$dir")"; fi
    dir="$(cd "$dir" && pwd)"
    # Sorted file list (deterministic; optionally cut to the first DSLINTER_MAX_FILES).
    mapfile -t files < <(cd "$dir" && find . -name '*.py' -type f | sed 's|^\./||' | LC_ALL=C sort \
        | { if [[ -n "${DSLINTER_MAX_FILES:-}" ]]; then head -n "$DSLINTER_MAX_FILES"; else cat; fi; })
    printf '%s\n' "${files[@]}" >"$OUT/$name.files"   # what was linted (for the comparison)
    echo "dslinter: $name ($dir, ${#files[@]} files, -j $JOBS)" >&2
    start=$(date +%s.%N)
    rc=0
    # dslinter writes _tmp_dslinter*.py files for mypy, and mypy its .mypy_cache, into the
    # current directory: run from a scratch directory, never from inside the linted tree. The
    # JSON paths are then absolute; bench/dslinter_compare.py makes them relative to DIR.
    work="$OUT/work-$name"
    rm -rf "$work" && mkdir -p "$work"
    (cd "$work" && nice -n 10 "$VENV/bin/pylint" --rcfile=/dev/null --load-plugins=dslinter \
        --disable=all --enable="$DSLINTER_IDS" "${EXTRA[@]}" -j "$JOBS" \
        --output-format=json --output="$OUT/$name.json" "${files[@]/#/$dir/}" \
        >"$OUT/$name.stdout" 2>"$OUT/$name.stderr") || rc=$?
    rm -rf "$work"
    end=$(date +%s.%N)
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    echo "$secs" >"$OUT/$name.time"
    # pylint's exit status is a bit mask: 1 fatal, 32 usage error; 2/4/8/16 just mean messages.
    if (( rc & 33 )) || ! "$VENV/bin/python" -c 'import json,sys; json.load(open(sys.argv[1]))' \
            "$OUT/$name.json" 2>/dev/null; then
        echo "dslinter: pylint failed on $name (exit $rc, no JSON); see $OUT/$name.stderr" >&2
        exit 1
    fi
    n=$("$VENV/bin/python" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$OUT/$name.json")
    errs=$(grep -c '^ERROR: Could not finish' "$OUT/$name.stdout" || true)
    echo "dslinter: $name: $n findings (pylint exit $rc) in ${secs}s ($errs checker crashes) -> $OUT/$name.json" >&2
done
