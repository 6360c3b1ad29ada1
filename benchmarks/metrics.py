"""/metrics at scale: a real `dbt-console serve --metrics` on a store of 1,000 jobs with
20 finished runs each (20,000 runs, their steps and deliveries), scraped over HTTP.

    python benchmarks/metrics.py [--jobs 1000] [--runs-per-job 20] [--scrapes 300]

Targets (issue 20): a scrape answers in <= 50 ms p99; scraping as Prometheus does (every
15 s) adds <= 1 percentage point of CPU to the idle engine (serve and its HTTP process,
measured over alternating windows with and without scrapes; medians).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from dbt_console.model import Job, RunStatus, Trigger
from dbt_console.store import Store

TARGET_P99_MS, TARGET_CPU_POINTS = 50.0, 1.0
WINDOW_SECONDS, SCRAPE_EVERY = 30.0, 15.0


def make_store(home: Path, jobs: int, runs_per_job: int) -> None:
    home.mkdir(parents=True)
    # Warm helpers would count their warm-up against the engine: this measures metrics.
    (home / "settings.toml").write_text("warm_starts = false\n")
    with Store(home / "dbt-console.db") as store:
        store.save_jobs([Job(name=f"job_{i:04d}", commands=("dbt build",),
                             project_dir=str(home)) for i in range(jobs)])
        spec = json.dumps({"name": "x", "commands": ["dbt build"], "project_dir": str(home)})
        now, rows, steps = time.time(), [], []
        statuses = (RunStatus.SUCCESS.value, RunStatus.ERROR.value)
        for i in range(jobs):
            for j in range(runs_per_job):
                run_id = i * runs_per_job + j + 1
                start = now - 86400 + j * 60
                rows.append((run_id, f"job_{i:04d}", spec, statuses[j % 7 == 0],
                             str(Trigger.schedule()), "scheduler", start - 1, start,
                             start + 30 + j))
                steps.append((run_id, 4, "dbt build", statuses[j % 7 == 0], start, start + 30))
        with store._tx() as conn:
            conn.executemany("INSERT INTO runs (id, job_name, spec, status, trigger, actor, "
                             "queued_at, started_at, finished_at) VALUES (?,?,?,?,?,?,?,?,?)",
                             rows)
            conn.executemany("INSERT INTO steps (run_id, idx, command, status, started_at, "
                             "finished_at) VALUES (?,?,?,?,?,?)", steps)


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *map(int, found)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--runs-per-job", type=int, default=20)
    parser.add_argument("--scrapes", type=int, default=300)
    parser.add_argument("--windows", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as root:
        home = Path(root) / "home"
        make_store(home, args.jobs, args.runs_per_job)
        env = {**os.environ, "DBT_CONSOLE_HOME": str(home)}
        token = subprocess.run([sys.executable, "-m", "dbt_console", "tokens", "create",
                                "prom", "--role", "viewer"], env=env, capture_output=True,
                               text=True, check=True).stdout.strip()
        serve = subprocess.Popen([sys.executable, "-m", "dbt_console", "serve", "--metrics",
                                  "127.0.0.1:0"], env=env, stdout=subprocess.PIPE, text=True)
        try:
            url = next(line.split(" on ", 1)[1].strip() for line in serve.stdout
                       if line.startswith("metrics "))
            with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
                latencies = scrape_latencies(c, url, args.scrapes)
                idle, scraped = cpu_windows(c, url, children(serve.pid), args.windows)
        finally:
            serve.terminate()
            serve.wait(60)
    return report(args, latencies, idle, scraped)


def scrape_latencies(client: httpx.Client, url: str, n: int) -> list[float]:
    """The first scrape computes the counters (as after every run that finishes); the
    rest reuse them while nothing finished, reading only the gauges afresh."""
    start = time.perf_counter()
    client.get(url).raise_for_status()
    print(f"first scrape (counters computed): {(time.perf_counter() - start) * 1000:.0f} ms")
    out = []
    for _ in range(n):
        start = time.perf_counter()
        client.get(url).raise_for_status()
        out.append((time.perf_counter() - start) * 1000)
    return out


def cpu_windows(client: httpx.Client, url: str, pids: list[int], n: int):
    time.sleep(10)  # the engine's start (scheduling 1,000 jobs) is not idle
    idle, scraped = [], []
    for i in range(n):
        with_scrapes = i % 2 == 1
        before, start = cpu_seconds(pids), time.monotonic()
        next_scrape = start
        while time.monotonic() - start < WINDOW_SECONDS:
            if with_scrapes and time.monotonic() >= next_scrape:
                client.get(url).raise_for_status()
                next_scrape += SCRAPE_EVERY
            time.sleep(0.05)
        share = 100 * (cpu_seconds(pids) - before) / (time.monotonic() - start)
        (scraped if with_scrapes else idle).append(share)
    return idle, scraped


def report(args, latencies: list[float], idle: list[float], scraped: list[float]) -> int:
    p50 = statistics.median(latencies)
    p99 = statistics.quantiles(latencies, n=100)[98]
    added = statistics.median(scraped) - statistics.median(idle)
    print(f"{args.jobs} jobs, {args.jobs * args.runs_per_job} runs; {len(latencies)} scrapes")
    print(f"scrape latency: p50 {p50:.1f} ms, p99 {p99:.1f} ms   "
          f"(target p99 <= {TARGET_P99_MS:.0f} ms: {'met' if p99 <= TARGET_P99_MS else 'missed'})")
    print(f"engine CPU, median of {len(idle)} windows of {WINDOW_SECONDS:.0f}s: idle "
          f"{statistics.median(idle):.2f}%, scraped every {SCRAPE_EVERY:.0f}s "
          f"{statistics.median(scraped):.2f}% = +{added:.2f} points   (target <= "
          f"{TARGET_CPU_POINTS:.0f}: {'met' if added <= TARGET_CPU_POINTS else 'missed'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
