#!/usr/bin/env bash
# Fetch the real-code corpus used by the survey and the benchmarks: pinned releases of popular
# DL packages from PyPI, unpacked to one directory per package. Data only — never committed.
#
#   bench/corpus.sh [DIR [PACKAGE...]]   (default: target/corpus, every package below)
#
# Prints DIR/src when done; each package is DIR/src/<name>.
set -euo pipefail
dir="${1:-$(dirname "$0")/../target/corpus}"
shift || true
mkdir -p "$dir/wheels" "$dir/src"
# name==version pairs; fairseq's last release ships binary wheels only for old CPythons, so it
# is fetched for cp38 (the Python sources are what matter).
packages=(
  "transformers==5.24.0"
  "fairseq==0.12.2"
  "timm==1.0.31"
  "pytorch-lightning==2.6.6"
  "diffusers==0.42.1"
  "keras==3.15.1"
  "torchvision==0.29.2"
)
for spec in "${packages[@]}"; do
  name="${spec%%==*}"
  if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then
    continue
  fi
  unpacked="$dir/src/${name//-/_}"
  [ -d "$unpacked" ] && continue
  extra=()
  [ "$name" = fairseq ] && extra=(--python-version 38 --only-binary=:all: --platform manylinux1_x86_64)
  python3 -m pip download --quiet --no-deps "${extra[@]}" -d "$dir/wheels" "$spec"
  wheel=$(ls "$dir/wheels/${name//-/_}"-*.whl | head -1)
  python3 -m zipfile -e "$wheel" "$unpacked.tmp"
  mv "$unpacked.tmp" "$unpacked"
done
echo "$dir/src"
