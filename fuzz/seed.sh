#!/usr/bin/env bash
# Seed the fuzz corpora from the fixtures: every fixture for lint_bytes; for lint_project, the
# example projects' files joined with `#---` lines (model, train, data of one package).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/lint_bytes corpus/lint_project
find ../fixtures -name '*.py' -size -64k -exec cp -t corpus/lint_bytes {} + 2>/dev/null || \
  find ../fixtures -name '*.py' -size -64k -exec cp {} corpus/lint_bytes/ \;
cp regressions/* corpus/lint_bytes/ 2>/dev/null || true
for project in ../fixtures/projects/*/; do
  name=$(basename "$project")
  files=$(find "$project" -name '*.py' | sort | head -n 4)
  out="corpus/lint_project/$name"
  : >"$out"
  first=1
  for f in $files; do
    [ $first = 1 ] || printf '\n#---\n' >>"$out"
    cat "$f" >>"$out"
    first=0
  done
done
# Single fixtures are valid one-file projects too.
for f in ../fixtures/DL*.py; do cp "$f" "corpus/lint_project/$(basename "$f")"; done
echo "seeded: $(ls corpus/lint_bytes | wc -l) lint_bytes, $(ls corpus/lint_project | wc -l) lint_project"
