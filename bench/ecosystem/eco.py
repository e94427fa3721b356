"""Shared helpers of the ecosystem scripts (bench/ecosystem/run, review)."""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def read_repos(path=os.path.join(HERE, "repos.tsv")):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            repo, commit, sub, kind = line.rstrip("\n").split("\t")
            rows.append({"repo": repo, "commit": commit, "sub": sub, "kind": kind})
    return rows


def repo_dir(repos_dir, repo):
    return os.path.join(repos_dir, repo.replace("/", "+"))


def key_of(f):
    """Identity of a finding: the code is pinned, so a position names it."""
    return (f["repo"], f["path"], f.get("cell") or 0, f["line"], f.get("col", 0), f["code"])


def cell_index(cell):
    """`cell` as stored in verdicts ("" or "-" for none) or findings (null)."""
    if cell in (None, "", "-"):
        return 0
    return int(cell)


def read_tsv(path):
    """Rows of a tab-separated file with a header line; `#` lines are comments."""
    rows = []
    if not os.path.exists(path):
        return rows
    header = None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            if header is None:
                header = parts
                continue
            if len(parts) != len(header):
                raise SystemExit(f"{path}:{n}: {len(parts)} fields, expected {len(header)} ({header})")
            row = dict(zip(header, parts))
            row["_line"] = n
            rows.append(row)
    return rows


def source_lines(repos_dir, repo, path, cell):
    """The lines of a file, or of one code cell of a notebook (cells numbered as Jupyter
    shows them, from 1, markdown cells included)."""
    full = os.path.join(repo_dir(repos_dir, repo), path)
    try:
        text = open(full, encoding="utf-8", errors="replace").read()
    except OSError:
        return None
    if path.endswith(".ipynb") and cell_index(cell):
        try:
            nb = json.loads(text)
            src = nb["cells"][cell_index(cell) - 1]["source"]
            text = "".join(src) if isinstance(src, list) else src
        except (ValueError, KeyError, IndexError):
            return None
    return text.splitlines()
