"""What running a job through dbt-console costs, or saves, against running dbt yourself.

Each figure compares `dbt-console run JOB --wait` with the same dbt commands typed in a
shell in the project directory, interleaved round by round so both see the same machine
load, and prints each time, the medians and their ratio.

1. warm:  the demo `nightly` job on a running engine (`dbt-console serve`), whose steps
          fork from a helper that has already imported dbt.     Target (issue 8): <= 0.35x
2. alone: the same with no engine running: `run --wait` runs the job itself, its first
          step as a plain `dbt` process while a helper that only imports dbt starts beside
          it for the later steps.                                Target (issue 2): <= 1.02x
3. large: a generated project of 300 models and 100 tests on a running engine: the gain
          shrinks as dbt's own work grows, but never turns into a cost.
                                                                 Target (issue 8): <= 1.02x

    python benchmarks/overhead.py [--rounds 5] [--only warm,alone,large]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONSOLE = [sys.executable, "-m", "dbt_console"]
DBT = str(Path(sys.executable).parent / "dbt")
TARGETS = {"warm": 0.35, "alone": 1.02, "large": 1.02}


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def compare(name: str, rounds: int, ours: tuple, theirs: tuple) -> float:
    """ours/theirs: (argv, cwd, env). One run of each first: OS caches, partial parse."""
    timed(*ours)
    timed(*theirs)
    a, b = [], []
    for i in range(rounds):
        a.append(timed(*ours))
        b.append(timed(*theirs))
        print(f"  {name} round {i + 1}: dbt-console {a[-1]:.2f}s  shell {b[-1]:.2f}s",
              flush=True)
    ratio = statistics.median(a) / statistics.median(b)
    target = TARGETS[name]
    print(f"{name}: median dbt-console run --wait {statistics.median(a):.2f}s, shell "
          f"{statistics.median(b):.2f}s; ratio {ratio:.3f}x (min {min(a) / max(b):.3f}, "
          f"max {max(a) / min(b):.3f})   target <= {target}x: "
          f"{'met' if ratio <= target else 'MISSED'}", flush=True)
    return ratio


class Engine:
    """`dbt-console serve` on a home, ready once its warm helper is."""

    def __init__(self, home: Path, env: dict[str, str]):
        self.proc = subprocess.Popen([*CONSOLE, "serve"], env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            status = subprocess.run([*CONSOLE, "status", "--json"], env=env,
                                    capture_output=True, text=True)
            helpers = json.loads(status.stdout or "{}").get("warm_helpers") or []
            if helpers and helpers[0]["state"] == "ready":
                rss = helpers[0]["rss_bytes"] or 0
                print(f"  engine pid {self.proc.pid}: warm helper pid {helpers[0]['pid']}, "
                      f"dbt {helpers[0]['dbt_version']}, idle RSS {rss / 1e6:.0f} MB, "
                      f"{helpers[0]['detail']}",
                      flush=True)
                return
            if helpers and helpers[0]["state"] == "failed":
                sys.exit(f"the warm helper failed: {helpers[0]['detail']}")
            time.sleep(0.5)
        sys.exit("the engine's warm helper was not ready within 180 s")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(120)


def demo_home(env: dict[str, str]) -> tuple[Path, tuple, tuple]:
    home = Path(env["DBT_CONSOLE_HOME"])
    subprocess.run([*CONSOLE, "demo", "--no-tui"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    project = home / "demo" / "pedalshare"
    shell = (["sh", "-c", f"{DBT} seed && {DBT} build --exclude tag:audit"], project,
             {**env, "DBT_PROFILES_DIR": str(project), "PEDALSHARE_DUCKDB": "nightly.duckdb"})
    ours = ([*CONSOLE, "run", "nightly", "--wait"], home, env)
    return home, ours, shell


def large_project(root: Path, models: int = 300) -> Path:
    """Three layers of `models // 3` models each (staging, aggregates, facts joining two
    aggregates), a not_null test per fact: real work for DuckDB at every node."""
    per = models // 3
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text(
        "name: large\nversion: '1.0'\nprofile: large\nconfig-version: 2\n"
        "models:\n  large:\n    +materialized: table\n")
    (root / "profiles.yml").write_text(
        "large:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        "      path: large.duckdb\n      threads: 4\n")
    tests = ["models:"]
    for i in range(per):
        (root / "models" / f"stg_{i}.sql").write_text(
            f"select i as id, (i * {i + 7}) % 97 as k, md5(i::varchar) as h\n"
            f"from range({20_000 + i * 100}) t(i)\n")
        (root / "models" / f"agg_{i}.sql").write_text(
            f"select k, count(*) as n, max(h) as h from {{{{ ref('stg_{i}') }}}} group by k\n")
        (root / "models" / f"fct_{i}.sql").write_text(
            f"select a.k, a.n + coalesce(b.n, 0) as n\nfrom {{{{ ref('agg_{i}') }}}} a\n"
            f"left join {{{{ ref('agg_{(i + 1) % per}') }}}} b using (k)\n")
        tests.append(f"  - name: fct_{i}\n    columns:\n      - name: k\n"
                     f"        data_tests: [not_null]")
    (root / "models" / "schema.yml").write_text("\n".join(tests) + "\n")
    return root


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default="warm,alone,large")
    args = parser.parse_args()
    only = set(args.only.split(","))
    root = Path(tempfile.mkdtemp(prefix="dbt-console-overhead-"))
    env = {**os.environ, "DBT_CONSOLE_HOME": str(root / "home"), "DO_NOT_TRACK": "1"}
    home, ours, shell = demo_home(env)
    results = {}
    if "warm" in only:
        engine = Engine(home, env)
        try:
            results["warm"] = compare("warm", args.rounds, ours, shell)
        finally:
            engine.stop()
    if "alone" in only:
        results["alone"] = compare("alone", args.rounds, ours, shell)
    if "large" in only:
        project = large_project(root / "large")
        jobs = root / "large.yml"
        jobs.write_text(f"jobs:\n  - name: large\n    project_dir: {project}\n"
                        f"    commands: ['dbt build']\n")
        subprocess.run([*CONSOLE, "jobs", "import", str(jobs)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        engine = Engine(home, env)
        try:
            results["large"] = compare(
                "large", args.rounds, ([*CONSOLE, "run", "large", "--wait"], home, env),
                ([DBT, "build"], project, {**env, "DBT_PROFILES_DIR": str(project)}))
        finally:
            engine.stop()
    print("summary: " + ", ".join(f"{k} {v:.3f}x (target <= {TARGETS[k]}x)"
                                  for k, v in results.items()))


if __name__ == "__main__":
    main()
