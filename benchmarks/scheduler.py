"""The scheduler under load: 1,000 jobs due every minute on one `dbt-console serve`, with a
stand-in dbt that exits at once. Then the same engine with nothing due, idling.

    python benchmarks/scheduler.py [--jobs 1000] [--minutes 2] [--idle-seconds 60]

Lateness: how long after the minute a fire's run is in the queue (p50, p99).
Targets (issue 3): p99 lateness <= 1 s; idle engine CPU <= 1 % over a minute.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TARGET_P99, TARGET_CPU = 1.0, 1.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_home(root: Path, jobs: int, cron: str) -> tuple[Path, dict]:
    home = root / cron.replace(" ", "_").replace("*", "x")
    project = home / "project"
    project.mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: bench\n")
    fake = home / "fake-dbt"
    # It answers --version as dbt does: dbt-console asks a dbt_path before running it.
    fake.write_text('#!/bin/sh\n[ "$1" = --version ] && echo "Core: a stand-in"\nexit 0\n')
    fake.chmod(0o755)
    lines = ["jobs:"]
    for i in range(jobs):
        lines += [f"  - name: job-{i:04d}", f"    project_dir: {project}",
                  f"    dbt_path: {fake}", '    commands: ["dbt build"]',
                  f'    schedule: {{cron: "{cron}"}}']
    (home / "jobs.yml").write_text("\n".join(lines) + "\n")
    env = {**os.environ, "DBT_CONSOLE_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "dbt_console", "jobs", "import",
                    str(home / "jobs.yml")], env=env, check=True, stdout=subprocess.DEVNULL)
    return home, env


def serve(env: dict) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "dbt_console", "serve"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    while "engine running" not in proc.stdout.readline():
        pass
    # Keep reading its output (as journald would): a full pipe would block the engine.
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.communicate(timeout=120)


def lateness(root: Path, jobs: int, minutes: int) -> None:
    home, env = make_home(root, jobs, "* * * * *")
    proc = serve(env)
    started = time.time()
    first_minute = (int(started) // 60 + 1) * 60
    end = first_minute + minutes * 60
    print(f"{jobs} jobs due every minute; measuring {minutes} minute(s) of fires...",
          flush=True)
    time.sleep(max(0, end - time.time() + 5))
    stop(proc)
    rows = sqlite3.connect(home / "dbt-console.db").execute(
        "SELECT queued_at FROM runs WHERE trigger = 'schedule' AND queued_at >= ? "
        "AND queued_at < ?", (first_minute, end)).fetchall()
    late = sorted(q - (q // 60) * 60 for (q,) in rows)
    expected = jobs * minutes
    ran = sqlite3.connect(home / "dbt-console.db").execute(
        "SELECT COUNT(*), AVG(finished_at - started_at) FROM runs WHERE finished_at IS NOT NULL"
    ).fetchone()
    p50 = statistics.median(late)
    p99 = late[int(len(late) * 0.99) - 1]
    coalesced = (f"; {expected - len(late)} coalesced (their job's previous scheduled run "
                 "was still waiting)" if len(late) < expected else "")
    print(f"fires queued: {len(late)} of {expected} due{coalesced}; {ran[0]} runs executed, "
          f"{ran[1] * 1000:.0f} ms each on average, 2 at a time")
    verdict = "met" if p99 <= TARGET_P99 else "MISSED"
    print(f"lateness p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms   "
          f"(target p99 <= {TARGET_P99 * 1000:.0f} ms: {verdict})")


def idle(root: Path, jobs: int, seconds: int) -> None:
    home, env = make_home(root, jobs, "0 0 1 1 *")  # due once a year: nothing fires now
    proc = serve(env)
    time.sleep(3)  # let start-up settle
    before, t0 = cpu_seconds(proc.pid), time.monotonic()
    time.sleep(seconds)
    used, wall = cpu_seconds(proc.pid) - before, time.monotonic() - t0
    stop(proc)
    share = 100 * used / wall
    verdict = "met" if share <= TARGET_CPU else "MISSED"
    print(f"idle engine with {jobs} scheduled jobs: {used:.2f} s CPU in {wall:.0f} s = "
          f"{share:.2f} %   (target <= {TARGET_CPU} %: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--minutes", type=int, default=2)
    parser.add_argument("--idle-seconds", type=int, default=60)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dbt-console-schedbench-"))
    lateness(root, args.jobs, args.minutes)
    idle(root, args.jobs, args.idle_seconds)


if __name__ == "__main__":
    main()
