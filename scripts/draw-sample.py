#!/usr/bin/env python3
"""Draw the ecosystem sample for tests/e2e/sample.sh.

    scripts/draw-sample.py [--seed N] [-n COUNT] > tests/data/sample.tsv

Reads tests/data/top5000.tsv (PyPI's 5,000 most downloaded projects, by rank), draws COUNT
names with Python's random.Random(SEED).sample, so the sample is chosen by the seed and not
by hand, and pins each to the newest release PyPI lists today (its JSON API), so the suite
stays stable while PyPI moves on. Projects PyPI no longer serves are kept, with version
`-`, and count as failures in the suite.
"""
import argparse
import json
import random
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def newest(name: str) -> str:
    url = f"https://pypi.org/pypi/{name}/json"
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return json.load(r)["info"]["version"]
    except Exception as e:  # a vanished project is part of the sample too
        print(f"{name}: {e}", file=sys.stderr)
        return "-"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("-n", type=int, default=40)
    args = ap.parse_args()
    rows = [line.rstrip("\n").split("\t") for line in open(ROOT / "tests/data/top5000.tsv")][1:]
    rank = {name: r for r, name in rows}
    drawn = random.Random(args.seed).sample([name for _, name in rows], args.n)
    print(f"# drawn by scripts/draw-sample.py --seed {args.seed} -n {args.n}")
    print("rank\tname\tversion")
    for name in drawn:
        print(f"{rank[name]}\t{name}\t{newest(name)}")


if __name__ == "__main__":
    main()
