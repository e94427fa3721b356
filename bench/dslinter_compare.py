#!/usr/bin/env python3
"""Compare dslinter's findings with dllint's on the checks both tools have.

    bench/dslinter_compare.py NAME=DIR [NAME=DIR ...] [--dllint BIN | --dllint-json NAME=FILE ...]

For each corpus NAME (linted by bench/dslinter.sh, so target/dslinter/NAME.json exists) this reads
dslinter's pylint JSON and dllint's JSON (`dllint check --isolated --no-cache --output-format json
--exit-zero DIR`: run here with --dllint BIN, written to target/dslinter/NAME.dllint.json, or
read from --dllint-json NAME=FILE), maps dslinter's messages onto dllint codes (MAPPING below) and
prints, per corpus, a Markdown table: for each shared check the findings of dslinter only, of
dllint only and of both, then up to --max-disagreements findings that only one tool reports, with
their source line, for a human verdict.

Two findings agree when they have the same dllint code, the same file and lines at most
--tolerance (2) apart; dslinter's loop checks (zero_grad, mode toggling) point at the `for`, so a
dllint finding anywhere in that loop (±tolerance) agrees; for checks whose dslinter message is about
the whole module (missing seeds) the same file is enough. Each finding is paired at most once. When
bench/dslinter.sh ran on a subset (target/dslinter/NAME.files lists what it linted), dllint's
findings in the other files are left out. A mapped dllint code that has no rule yet simply
counts 0.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "target" / "dslinter"

# Every message dslinter 2.0.9 registers: id -> (symbol, meaning, dllint code or None, scope, how close).
# scope: "line" = the finding is at a statement, "loop" = at a `for` loop (pair with a dllint finding
# anywhere in the loop), "file" = about the whole module (pair by file).
# how close: "same" = the same bug; "partial" = overlaps the dllint rule without being the same.
# dllint's DL5xx codes: DL501 gradients-not-cleared, DL502 forward-called-directly, DL503
# loss-accumulates-graph, DL504 eval-mode-not-set, DL505 no-grad-missing, DL506
# softmax-before-cross-entropy, DL507 sigmoid-before-bce, DL508 unseeded-training, DL509 unsafe-log,
# DL510 hyperparameter-default, DL511 tf-memory-not-freed. Override with --map ID=CODE.
MAPPING: dict[str, tuple[str, str, str | None, str, str]] = {
    "W5517": ("gradient-clear-pytorch", "loop calls backward() and step() but not zero_grad()", "DL501", "loop", "same"),
    "W9998": ("mode-toggling-pytorch", "loop calls .eval() but never .train() back (deprecated check)", "DL504", "loop", "partial"),
    "W5516": ("forward-pytorch", "x.forward(...) called instead of x(...)", "DL502", "line", "same"),
    "W5514": ("missing-mask-pytorch", "torch.log() argument not wrapped in torch.clip/clamp", "DL509", "line", "same"),
    "W5513": ("missing-mask-tensorflow", "tf.log() argument not wrapped in tf.clip_by_value", "DL509", "line", "same"),
    "W5511": ("randomness-control-pytorch", "main module imports torch but never calls torch.manual_seed()", "DL508", "file", "same"),
    "W5510": ("randomness-control-tensorflow", "main module imports tensorflow but never calls tf.random.set_seed()", "DL508", "file", "partial"),
    "W5508": ("randomness-control-numpy", "main module imports numpy but never calls np.random.seed()", None, "file", ""),
    "W5512": ("randomness-control-dataloader-pytorch", "DataLoader without worker_init_fn and generator", None, "line", ""),
    "W5507": ("deterministic-pytorch", "main module never calls torch.use_deterministic_algorithms(True)", None, "file", ""),
    "W5509": ("randomness-control-scikitlearn", "sklearn estimator/splitter without random_state", None, "line", ""),
    "W5521": ("dependent-threshold-pytorch", "F1 score used but no AUC (PyTorch)", None, "line", ""),
    "W5520": ("dependent-threshold-tensorflow", "F1 score used but no AUC (TensorFlow)", None, "line", ""),
    "W5519": ("dependent-threshold-scikitlearn", "F1 score used but no AUC (scikit-learn)", None, "line", ""),
    "R5508": ("hyperparameters-pytorch", "optimizer built without explicit lr/momentum/weight decay", "DL510", "line", "partial"),
    "R5507": ("hyperparameters-tensorflow", "optimizer built without explicit hyperparameters (TF)", "DL510", "line", "partial"),
    "R5506": ("hyperparameters-scikitlearn", "sklearn estimator built without explicit hyperparameters", None, "line", ""),
    "W5506": ("memory-release-tensorflow", "model built in a loop without tf.keras.backend.clear_session()", "DL511", "line", "same"),
    "W5515": ("tensor-array-tensorflow", "tf.constant grown in a loop instead of tf.TensorArray", None, "line", ""),
    "R5502": ("unnecessary-iteration-tensorflow", "loop that could be a vectorized TF op", None, "line", ""),
    "E5501": ("nan-numpy", "value compared with np.nan (always False)", None, "line", ""),
    "W9999": ("inplace-numpy", "numpy result not assigned (deprecated check)", None, "line", ""),
    "W5505": ("scaler-missing-scikitlearn", "scale-sensitive estimator without a scaler", None, "line", ""),
    "W5518": ("pipeline-not-used-scikitlearn", "preprocessing and estimator not in a Pipeline", None, "line", ""),
    "W5501": ("dataframe-iteration-modification-pandas", "DataFrame modified while iterated", None, "line", ""),
    "R5501": ("unnecessary-iteration-pandas", "loop over a DataFrame", None, "line", ""),
    "W5502": ("chain-indexing-pandas", "df[a][b] chain indexing", None, "line", ""),
    "W5503": ("inplace-pandas", "DataFrame operation result not assigned", None, "line", ""),
    "W5504": ("dataframe-conversion-pandas", "df.values used", None, "line", ""),
    "R5503": ("datatype-pandas", "read_csv etc. without dtype", None, "line", ""),
    "R5504": ("column-selection-pandas", "no column selection after import", None, "line", ""),
    "R5505": ("merge-parameter-pandas", "merge without how/on/validate", None, "line", ""),
    "C5501": ("import-pandas", "pandas not imported as pd", None, "line", ""),
    "C5502": ("import-numpy", "numpy not imported as np", None, "line", ""),
    "C5503": ("import-pyplot", "matplotlib.pyplot not imported as plt", None, "line", ""),
    "C5504": ("import-sklearn", "sklearn import with an alias", None, "line", ""),
    "C5505": ("import-tensorflow", "tensorflow not imported as tf", None, "line", ""),
    "C5506": ("import-pytorch", "torch imported with an alias", None, "line", ""),
}


def norm_path(path: str, root: Path) -> str:
    """Path relative to the corpus root, whether given absolute, relative to cwd or to root."""
    p = Path(path)
    for cand in ([p] if p.is_absolute() else [Path.cwd() / p, root / p]):
        try:
            if cand.exists():
                return os.path.relpath(cand.resolve(), root.resolve())
        except OSError:
            pass
    return os.path.normpath(path)


def loop_end(root: Path, file: str, line: int) -> int:
    """The last line of the loop starting at `line` (dslinter gives no end for its loop checks)."""
    import ast

    try:
        tree = ast.parse((root / file).read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return line
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)) and node.lineno == line:
            return node.end_lineno or line
    return line


def load_dslinter(name: str, root: Path) -> list[dict]:
    data = json.loads((OUT / f"{name}.json").read_text() or "[]")
    found = []
    for m in data:
        file = norm_path(m["path"], root)
        line = int(m["line"])
        end = int(m.get("endLine") or 0)
        if not end:
            scope = MAPPING.get(m["message-id"], ("", "", None, "line", ""))[3]
            end = loop_end(root, file, line) if scope == "loop" else line
        found.append({"tool": "dslinter", "id": m["message-id"], "file": file, "line": line, "end": end})
    return found


def load_dllint(path: Path, root: Path) -> list[dict]:
    text = path.read_text().strip()
    if not text:
        return []
    data = json.loads(text) if text.startswith("[") else [json.loads(l) for l in text.splitlines() if l.strip()]
    return [
        {"tool": "dllint", "id": d["code"], "file": norm_path(d["filename"], root), "line": int(d["location"]["row"])}
        for d in data
    ]


def run_dllint(binary: str, name: str, root: Path) -> Path:
    out = OUT / f"{name}.dllint.json"
    cmd = [binary, "check", "--isolated", "--no-cache", "--output-format", "json", "--exit-zero", str(root)]
    print(f"running: {' '.join(cmd)}", file=sys.stderr)
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"dllint failed ({res.returncode}): {res.stderr[-2000:]}")
    out.write_text(res.stdout)
    return out


def source_line(root: Path, file: str, line: int) -> str:
    try:
        lines = (root / file).read_text(errors="replace").splitlines()
        return lines[line - 1].strip()[:100] if 0 < line <= len(lines) else ""
    except OSError:
        return ""


def compare(name: str, root: Path, dsl: list[dict], dll: list[dict], tolerance: int, max_dis: int) -> str:
    files_list = OUT / f"{name}.files"
    subset = None
    if files_list.exists():
        subset = {os.path.normpath(l.strip()) for l in files_list.read_text().splitlines() if l.strip()}
        dll = [d for d in dll if d["file"] in subset]
    out = [f"## {name}", ""]
    out.append(f"Corpus `{root}`" + (f", {len(subset)} files linted by dslinter" if subset is not None else "") + ".")
    out.append("")

    # dslinter counts per message, all of them (mapped or not).
    per_id = Counter(d["id"] for d in dsl)
    out += ["dslinter findings per message:", "", "| id | symbol | findings | dllint |", "|---|---|---:|---|"]
    for mid, n in sorted(per_id.items(), key=lambda kv: (-kv[1], kv[0])):
        sym, _, code, _, how = MAPPING.get(mid, ("?", "", None, "line", ""))
        out.append(f"| {mid} | {sym} | {n} | {code + (' (partial)' if how == 'partial' else '') if code else '—'} |")
    if not per_id:
        out.append("| — | — | 0 | — |")
    out.append("")

    # Shared checks, grouped by dllint code.
    by_code: dict[str, list[str]] = defaultdict(list)
    for mid, (_, _, code, _, _) in MAPPING.items():
        if code:
            by_code[code].append(mid)
    rows, disagreements = [], []
    for code in sorted(by_code):
        ids = by_code[code]
        a = [d for d in dsl if d["id"] in ids]
        b = [d for d in dll if d["id"] == code]
        used: set[int] = set()
        both = 0
        only_a = []
        for f in sorted(a, key=lambda d: (d["file"], d["line"])):
            best, best_dist = None, None
            for i, g in enumerate(b):
                if i in used or g["file"] != f["file"]:
                    continue
                dist = abs(g["line"] - f["line"])
                scope = MAPPING[f["id"]][3]
                if scope == "loop":
                    dist = 0 if f["line"] <= g["line"] <= f["end"] else min(dist, abs(g["line"] - f["end"]))
                if scope != "file" and dist > tolerance:
                    continue
                if best is None or dist < best_dist:
                    best, best_dist = i, dist
            if best is None:
                only_a.append(f)
            else:
                used.add(best)
                both += 1
        only_b = [g for i, g in enumerate(b) if i not in used]
        rows.append((code, "/".join(f"{m} {MAPPING[m][0]}" for m in ids), len(a), len(b), len(only_a), len(only_b), both))
        disagreements += [(code, f) for f in only_a] + [(code, g) for g in only_b]

    out += [
        f"Shared checks (agreement: same file, line ±{tolerance}; loop checks: inside the loop ±{tolerance}; "
        "whole-module seed checks: same file):",
        "",
        "| dllint | dslinter message(s) | dslinter | dllint | dslinter only | dllint only | both |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for code, ids, na, nb, oa, ob, both in rows:
        out.append(f"| {code} | {ids} | {na} | {nb} | {oa} | {ob} | {both} |")
    out.append("")
    out.append(f"Disagreements ({len(disagreements)}; first {min(max_dis, len(disagreements))}, for a human verdict):")
    out.append("")
    if disagreements:
        out += ["| file:line | only in | check | source line | verdict |", "|---|---|---|---|---|"]
        disagreements.sort(key=lambda cf: (cf[1]["file"], cf[1]["line"], cf[1]["tool"]))
        for code, f in disagreements[:max_dis]:
            check = f"{code} ({f['id']})" if f["tool"] == "dslinter" else code
            src = source_line(root, f["file"], f["line"]).replace("|", "\\|")
            out.append(f"| {f['file']}:{f['line']} | {f['tool']} | {check} | `{src}` | |")
    else:
        out.append("(none)")
    out.append("")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpora", nargs="*", metavar="NAME=DIR",
                    help="default: timm, pytorch_lightning and fixtures, as in bench/dslinter.sh")
    ap.add_argument("--dllint", metavar="BIN", help="run this dllint binary on each corpus")
    ap.add_argument("--dllint-json", action="append", default=[], metavar="NAME=FILE",
                    help="dllint's JSON for corpus NAME (default: target/dslinter/NAME.dllint.json)")
    ap.add_argument("--map", action="append", default=[], metavar="ID=CODE",
                    help="map dslinter message ID to dllint CODE (or ID= for none), overriding the table")
    ap.add_argument("--tolerance", type=int, default=2)
    ap.add_argument("--max-disagreements", type=int, default=10)
    args = ap.parse_args()

    for m in args.map:
        mid, _, code = m.partition("=")
        sym, meaning, _, scope, how = MAPPING.get(mid, (mid, "", None, "line", "same"))
        MAPPING[mid] = (sym, meaning, code or None, scope, how or "same")

    corpora = args.corpora or [
        "timm=/work/corpus/src/timm",
        "pytorch_lightning=/work/corpus/src/pytorch_lightning",
        "fixtures=/work/main/fixtures",
    ]
    given = dict(s.split("=", 1) for s in args.dllint_json)
    print("# dslinter vs dllint\n")
    for spec in corpora:
        name, _, d = spec.partition("=")
        root = Path(d or name)
        if not d:
            name = root.name
        if not (OUT / f"{name}.json").exists():
            sys.exit(f"no {OUT / name}.json: run bench/dslinter.sh {name}={root} first")
        if name in given:
            dll_path = Path(given[name])
        elif args.dllint:
            dll_path = run_dllint(args.dllint, name, root)
        else:
            dll_path = OUT / f"{name}.dllint.json"
            if not dll_path.exists():
                sys.exit(f"no dllint output for {name}: pass --dllint BIN or --dllint-json {name}=FILE")
        print(compare(name, root, load_dslinter(name, root), load_dllint(dll_path, root),
                      args.tolerance, args.max_disagreements))


if __name__ == "__main__":
    main()
