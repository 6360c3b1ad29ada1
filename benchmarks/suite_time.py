"""What the test suite costs, per tier and per file, so growth is seen before it hurts.

Runs each tier as its own pytest (the way a contributor runs it), each with the suite's
configured parallelism unless --workers says otherwise, and prints its wall time beside
the tier's budget, then the files that cost most (the sum of their tests' own times,
from pytest's JUnit report).

    python benchmarks/suite_time.py [--tiers unit,real,e2e] [--workers N] [--top 15]

Budgets (issue 32): the fast tier <= 60 s; the whole README test command <= 12 min.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGETS = {"unit": 60.0, "all": 12 * 60.0}


def run_tier(tier: str, workers: str | None, report: Path) -> tuple[float, int, dict]:
    argv = [sys.executable, "-m", "pytest", "-q", "-m", tier, f"--junitxml={report}",
            "-p", "no:cacheprovider"]
    if workers is not None:
        argv += ["-n", workers]
    started = time.monotonic()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - started
    per_file: dict[str, float] = defaultdict(float)
    tests = 0
    if report.exists():
        for case in ET.parse(report).iter("testcase"):
            tests += 1
            per_file[case.get("classname", "?").rsplit(".", 1)[-1]] += float(
                case.get("time", 0))
    if done.returncode not in (0, 5):  # 5: no tests in this tier
        print(done.stdout[-3000:], done.stderr[-2000:], sep="\n")
        raise SystemExit(f"the {tier} tier failed (exit {done.returncode})")
    return wall, tests, per_file


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tiers", default="unit,real,e2e")
    parser.add_argument("--workers", default=None, help="pytest-xdist's -n (default: the "
                                                        "suite's own configuration)")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    files: dict[str, float] = defaultdict(float)
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for tier in args.tiers.split(","):
            wall, tests, per_file = run_tier(tier, args.workers, Path(tmp) / f"{tier}.xml")
            total += wall
            budget = BUDGETS.get(tier)
            print(f"{tier:5} {tests:4} tests  {wall:7.1f} s wall"
                  + (f"   (budget <= {budget:.0f} s)" if budget else ""))
            for name, seconds in per_file.items():
                files[name] += seconds
    print(f"all        {total:7.1f} s wall, tier after tier   (budget <= "
          f"{BUDGETS['all']:.0f} s for the README's one command)")
    print(f"\nthe {args.top} costliest files (their tests' own seconds, summed):")
    for name, seconds in sorted(files.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"  {seconds:7.1f} s  {name}")


if __name__ == "__main__":
    main()
