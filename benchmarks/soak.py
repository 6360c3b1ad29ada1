"""Soak: kill -9 a real `dbt-console serve` many times at every point of a real git job's
run (dbt_console/tools/faults.py), start it again each time, and count what the kills
left: runs stuck, waiting runs that never ran, gaps in logs, dbt processes and temporary
directories of the dead engines.

    python benchmarks/soak.py [--kills 30]

Target (issue 18): nothing left by any kill. Also printed: how long recovery took, from
the new serve's start until both the killed run and the waiting run had ended (median).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

from dbt_console.tools.faults import POINTS, Faults


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="soak-") as root:
        faults = Faults(Path(root))
        points = [list(POINTS)[i % len(POINTS)] for i in range(args.kills)]
        outcomes = []
        for i, point in enumerate(points, 1):
            outcome = faults.cycle(point)
            outcomes.append(outcome)
            mark = "ok" if not outcome.problems else "; ".join(outcome.problems)
            print(f"kill {i:>3} {point:<22} recovered in {outcome.recovered_seconds:5.1f}s  "
                  f"{mark}", flush=True)
    problems = Counter(p for o in outcomes for p in o.problems)
    recovery = statistics.median(o.recovered_seconds for o in outcomes)
    print(f"kills: {len(outcomes)} ({', '.join(f'{n} {p}' for p, n in Counter(points).items())})")
    print(f"kills that left something: {sum(1 for o in outcomes if o.problems)}   "
          f"(target 0: {'met' if not problems else 'missed'})")
    for problem, n in problems.most_common():
        print(f"  {n}x {problem}")
    print(f"recovery (new serve to both runs ended), median: {recovery:.1f}s")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
