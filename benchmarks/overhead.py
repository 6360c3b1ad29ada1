"""What running a job through dbt-console costs on top of running dbt yourself.

The demo `nightly` job through `dbt-console run nightly --wait`, against the same dbt
commands typed in a shell in the project directory, interleaved so both see the same
machine load. Prints each time, the medians and their ratio.

    python benchmarks/overhead.py [--rounds 5]

Target (issue 2): ratio <= 1.02x.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.02


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=False, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="dbt-console-overhead-"))
    env = {**os.environ, "DBT_CONSOLE_HOME": str(home), "DO_NOT_TRACK": "1"}
    console = [sys.executable, "-m", "dbt_console"]
    subprocess.run([*console, "demo", "--no-tui"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    project = home / "demo" / "pedalshare"
    dbt = str(Path(sys.executable).parent / "dbt")
    shell = ["sh", "-c", f"{dbt} seed && {dbt} build --exclude tag:audit"]
    shell_env = {**env, "DBT_PROFILES_DIR": str(project), "PEDALSHARE_DUCKDB": "nightly.duckdb"}
    # Warm both paths once (OS caches, dbt's partial parse in each target dir).
    timed([*console, "run", "nightly", "--wait"], home, env)
    timed(shell, project, shell_env)
    ours, theirs = [], []
    for i in range(args.rounds):
        ours.append(timed([*console, "run", "nightly", "--wait"], home, env))
        theirs.append(timed(shell, project, shell_env))
        print(f"round {i + 1}: dbt-console {ours[-1]:.2f}s  shell {theirs[-1]:.2f}s", flush=True)
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"median: dbt-console run --wait {statistics.median(ours):.2f}s, "
          f"shell {statistics.median(theirs):.2f}s")
    print(f"ratio: {ratio:.3f}x   (target <= {TARGET}x: {'met' if ratio <= TARGET else 'MISSED'})")


if __name__ == "__main__":
    main()
