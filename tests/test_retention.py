"""Retention: `prune --dry-run` says what would go, `prune` removes it (rows, log, run
directory) and keeps what must stay whatever its age; status shows the space."""

from __future__ import annotations

import time

import pytest

from conftest import binary
from dbt_console import rundir
from dbt_console.ci import CiSpec
from dbt_console.model import GitSource, Job, RunStatus, Trigger
from dbt_console.store import Store

pytestmark = pytest.mark.real

DAY = 24 * 3600.0
GIT = GitSource("https://git.example/a.git", "main")


def finished(store: Store, job: Job, status: RunStatus, days_ago: float, paths,
             branch: str | None = None, docs: bool = False) -> int:
    run = store.enqueue_run(job, Trigger.ci(branch, "abc1234") if branch else
                            Trigger.manual(), "me", branch)
    assert store.claim_run(run.id)
    store.finish_run(run.id, status)
    run_dir = paths.run_dir(run.id)
    (run_dir / "logs").mkdir(parents=True)
    (run_dir / "logs" / "dbt.log").write_text("x" * 10_000)
    if docs:
        rundir.docs(run_dir).mkdir()
    store.conn.execute("UPDATE runs SET finished_at = ?, run_dir = ? WHERE id = ?",
                       (time.time() - days_ago * DAY, str(run_dir), run.id))
    store.append_log(run.id, 0, [("2026-11-24T02:00:00Z", "info", 4, "", None, None, "l")],
                     None)
    return run.id


def test_prune_removes_what_is_past_retention_and_keeps_what_must_stay(home, paths):
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.toml").write_text("keep_runs_days = 30\nkeep_runs_per_job = 3\n")
    nightly = Job(name="nightly", commands=("dbt build",), git=GIT, generate_docs=True)
    ci = Job(name="ci", commands=("dbt build",), git=GIT,
             ci=CiSpec(defer_to="nightly", branches=("feature/*",)))
    with Store(paths.store) as store:
        store.save_jobs([nightly, ci])
        nightly, ci = store.get_job("nightly"), store.get_job("ci")
        ok = RunStatus.SUCCESS
        old_docs = finished(store, nightly, ok, 200, paths, docs=True)      # newest docs
        old_error = finished(store, nightly, RunStatus.ERROR, 100, paths)    # last failure
        old = [finished(store, nightly, ok, 90 - i, paths) for i in range(3)]
        recent = [finished(store, nightly, RunStatus.CANCELLED, 1, paths) for _ in range(4)]
        branch = finished(store, ci, RunStatus.ERROR, 60, paths, branch="feature/x")
        store.record_ci_heads("ci", {"feature/x": "abc1234"}, "push")  # still open
        newest = finished(store, ci, ok, 40, paths)
    # old[-1] is nightly's last success; recent[0] is past the 3 newest of nightly.
    gone = [*old[:2], recent[0]]
    dry = binary(home, "prune", "--dry-run")
    assert dry.code == 0 and "would remove 3 run(s)" in dry.out
    assert dry.out.rstrip().endswith(", ".join(map(str, gone)))
    assert all(paths.run_dir(r).exists() for r in gone)  # a dry run removes nothing
    done = binary(home, "prune")
    assert done.code == 0 and "removed 3 run(s)" in done.out, done.out + done.err
    with Store(paths.store) as store:
        left = {r.id for r in store.list_runs(limit=100)}
        assert left == {old_docs, old_error, old[2], *recent[1:], branch, newest}
        assert store.log_line_count(gone[0]) == 0 and not store.list_steps(gone[0])
    assert not any(paths.run_dir(r).exists() for r in gone)
    assert all(paths.run_dir(r).exists() for r in left)
    status = binary(home, "status").out
    assert "space:" in status and "prune" in status  # the engine event of the prune
    assert "nothing past retention" in binary(home, "prune").out


def test_the_engine_prunes_by_itself_and_says_so(home, paths, monkeypatch):
    from conftest import wait_for
    from dbt_console.config import load_settings
    from dbt_console.engine import engine as engine_module
    from dbt_console.engine import parts as parts_module

    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.toml").write_text("keep_runs_days = 30\nwarm_starts = false\n")
    monkeypatch.setattr(parts_module, "PRUNE_FIRST_SECONDS", 0.0)
    job = Job(name="nightly", commands=("dbt build",), git=GIT)
    with Store(paths.store) as store:
        store.save_jobs([job])
        job = store.get_job("nightly")
        old = finished(store, job, RunStatus.CANCELLED, 60, paths)
        finished(store, job, RunStatus.SUCCESS, 1, paths)
    engine = engine_module.Engine(paths, load_settings(paths))
    engine.start()
    try:
        def pruned():
            with Store(paths.store) as store:
                return old not in {r.id for r in store.list_runs(limit=10)}
        wait_for(pruned, timeout=30, what="the engine's prune")
    finally:
        engine.stop()
    assert not paths.run_dir(old).exists()
    assert "removed 1 run(s) past retention" in binary(home, "status").out
