#!/usr/bin/env python3
"""Draw a seeded random sample of findings from `dllint check --output-format json` output,
for manual precision reviews. Usage:
    dllint check --output-format json PATHS > findings.json
    bench/sample_findings.py findings.json --seed 42 --count 40 [--code DL101] [--context 3]
Prints each sampled finding with its source context, numbered, for a verdict.
"""
import argparse
import json
import random


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("findings")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--code", action="append", help="only these codes (repeatable)")
    ap.add_argument("--context", type=int, default=3)
    ap.add_argument("--root", default=".", help="directory the filenames are relative to")
    args = ap.parse_args()
    findings = json.load(open(args.findings))
    if args.code:
        findings = [f for f in findings if f["code"] in args.code]
    findings.sort(key=lambda f: (f["filename"], f["location"]["row"], f["code"]))
    rng = random.Random(args.seed)
    sample = rng.sample(findings, min(args.count, len(findings)))
    sample.sort(key=lambda f: (f["code"], f["filename"], f["location"]["row"]))
    for i, f in enumerate(sample, 1):
        row = f["location"]["row"]
        print(f"#{i} {f['code']} {f['filename']}:{row}: {f['message']}")
        try:
            lines = open(f"{args.root}/{f['filename']}", encoding="utf-8").read().splitlines()
            for n in range(max(1, row - args.context), min(len(lines), row + args.context) + 1):
                mark = ">" if n == row else " "
                print(f"  {mark}{n:5} {lines[n - 1]}")
        except OSError as e:
            print(f"  (cannot read: {e})")
        print()


if __name__ == "__main__":
    main()
