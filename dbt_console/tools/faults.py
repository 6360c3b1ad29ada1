"""kill -9 of a real `dbt-console serve` at chosen points of real runs, and what the kill
must leave behind: no run stuck, every queued run run, the killed run's log whole up to
its recovery line, no dbt process and no temporary directory of the dead engine.

Used by tests/test_faults.py (a kill at each point) and benchmarks/soak.py (many).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dbt_console.model import FIRST_COMMAND_STEP, RunStatus
from dbt_console.store import Store

# A model DuckDB needs about a second for: long enough to be killed in the middle of.
SLOW_MODEL = "select count(*) as n from range(60000000) t(i) where i % 7 = 3\n"
PROJECT = {
    "dbt_project.yml": "name: faults\nversion: '1.0.0'\nprofile: faults\nconfig-version: 2\n"
                       "flags: {send_anonymous_usage_stats: false}\n",
    "profiles.yml": "faults:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
                    "      path: \"{{ env_var('FAULTS_DB') }}\"\n      threads: 1\n",
    "models/a.sql": SLOW_MODEL,
    "models/b.sql": SLOW_MODEL,
    "models/c.sql": "select * from {{ ref('b') }}\n",
}
JOBS = """jobs:
  - name: work
    git: {{url: "{repo}", branch: main}}
    commands: ["dbt run --select a", "dbt run --select b c"]
    env: {{FAULTS_DB: "{db}"}}
  - name: after
    project_dir: "{local}"
    commands: ["dbt parse"]
    env: {{FAULTS_DB: "{db2}"}}
"""
# Where in a run the engine is killed, each as a condition on the store.
POINTS: dict[str, Callable[[Store, int], bool]] = {
    "during git": lambda s, r: any(x.idx == 1 for x in s.list_steps(r)),
    "in set-up": lambda s, r: any(x.idx == 3 for x in s.list_steps(r)),
    "during a dbt step": lambda s, r: any("START sql" in x.msg for x in s.read_log(r)),
    "while the log streams": lambda s, r: any("OK created" in x.msg for x in s.read_log(r)),
    "between steps": lambda s, r: any(x.idx == 4 and x.finished_at for x in s.list_steps(r)),
}


@dataclass
class Outcome:
    point: str
    recovered_seconds: float
    problems: list[str] = field(default_factory=list)


class Faults:
    """A data directory with a git job to kill runs of, and the serve to kill."""

    def __init__(self, root: Path):
        self.root = root
        self.home = root / "home"
        self.env = {**os.environ, "DBT_CONSOLE_HOME": str(self.home)}
        self._make_jobs()

    def _cli(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "dbt_console", *args], env=self.env,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"dbt-console {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def _make_jobs(self) -> None:
        work = self.root / "project"
        for rel, text in PROJECT.items():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / rel).write_text(text)
        git = ["git", "-c", "user.name=F", "-c", "user.email=f@example.org"]
        for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "p"]):
            subprocess.run([*git, *args], cwd=work, check=True, capture_output=True)
        repo = self.root / "repo.git"
        subprocess.run(["git", "clone", "-q", "--bare", str(work), str(repo)], check=True,
                       capture_output=True)
        self.home.mkdir(parents=True)
        (self.home / "settings.toml").write_text("max_concurrent_runs = 1\n")
        jobs = self.root / "jobs.yml"
        jobs.write_text(JOBS.format(repo=repo, db=self.root / "work.duckdb", local=work,
                                    db2=self.root / "after.duckdb"))
        self._cli("jobs", "import", str(jobs))

    def serve(self) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "dbt_console", "serve"], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait(lambda s: (lease := s.read_lease()) is not None and lease.pid == proc.pid,
                   60, "serve to hold the store")
        return proc

    def _wait(self, ready: Callable[[Store], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with Store(self.home / "dbt-console.db") as store:
            while not ready(store):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"waited {timeout:.0f}s for {what}")
                time.sleep(0.02)

    def cycle(self, point: str) -> Outcome:
        """Kill serve at `point` of a run of `work` while a run of `after` waits, start
        serve again, and check what the kill left."""
        first = self.serve()
        victim = int(self._cli("run", "work").split()[0])
        waiting = int(self._cli("run", "after").split()[0])
        self._wait(lambda s: POINTS[point](s, victim), 120, f"run {victim} {point}")
        pids = self._step_pids(victim)
        first.send_signal(signal.SIGKILL)
        first.wait()
        started = time.monotonic()
        second = self.serve()
        try:
            self._wait(lambda s: all(s.get_run(r).status.finished for r in (victim, waiting)),
                       180, "both runs to end")
            outcome = Outcome(point, time.monotonic() - started)
            self._check(outcome, victim, waiting, first.pid, pids)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(120)
        return outcome

    def _step_pids(self, run_id: int) -> list[int]:
        with Store(self.home / "dbt-console.db") as store:
            return [row[0] for row in store.conn.execute(
                "SELECT pid FROM steps WHERE run_id = ? AND pid IS NOT NULL", (run_id,))]

    def _check(self, out: Outcome, victim: int, waiting: int, dead: int,
               pids: list[int]) -> None:
        with Store(self.home / "dbt-console.db") as store:
            killed, queued = store.get_run(victim), store.get_run(waiting)
            lines = store.read_log(victim)
            stuck = [r.id for r in store.runs_in_flight()]
            ended = [s for s in store.list_steps(victim) if s.finished_at
                     and s.idx >= FIRST_COMMAND_STEP]
        if stuck:
            out.problems.append(f"runs stuck in flight: {stuck}")
        if killed.status is not RunStatus.ERROR or "engine running this run" not in (
                killed.error or ""):
            out.problems.append(f"the killed run ended {killed.status.value}: {killed.error}")
        if queued.status is not RunStatus.SUCCESS:
            out.problems.append(f"the queued run ended {queued.status.value}: {queued.error}")
        if [line.seq for line in lines] != list(range(len(lines))):
            out.problems.append("the killed run's log has gaps")
        if not lines or killed.error not in lines[-1].msg:
            out.problems.append("the killed run's log does not end with why it failed")
        for step in ended:  # a step that ended before the kill has all its lines
            if not any(x.step == step.idx and "exited with code" in x.msg for x in lines):
                out.problems.append(f"step {step.idx}'s last lines are missing")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (_alive(pids) or _left(dead)):
            time.sleep(0.1)
        if _alive(pids):
            out.problems.append(f"dbt processes left running: {_alive(pids)}")
        if _left(dead):
            out.problems.append(f"temporary directories left: {_left(dead)}")


def alive(pid: int) -> bool:
    """The process runs (a zombie is gone for our purposes)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if alive(pid)]


def _left(pid: int) -> list[str]:
    return [p.name for p in Path(tempfile.gettempdir()).glob(f"dbt-console-{pid}-*")]
