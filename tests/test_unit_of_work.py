"""An action is one unit of work: its change and its audit row commit together, or
neither does; a refusal's row is written alone, with nothing of the change; and until its
first change, an action holds no lock the engine would wait on."""

from __future__ import annotations

import sqlite3

import pytest

from dbt_console import actions
from dbt_console.actions import Context, local_actor
from dbt_console.errors import UserError
from dbt_console.model import Job
from dbt_console.store import Store
from dbt_console.store.access import AccessStore
from dbt_console.store.jobs import JobsStore

pytestmark = pytest.mark.unit


@pytest.fixture
def ctx(paths):
    with Context(paths, local_actor("cli")) as made:  # the store's owner: an admin
        yield made


@pytest.fixture
def job(tmp_path) -> Job:
    project = tmp_path / "project"
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: p\nprofile: p\n")
    return Job(name="nightly", commands=("dbt build",), project_dir=str(project))


def saved(ctx: Context) -> tuple[list[str], list[tuple[str, str]]]:
    """The jobs in the store and its audit rows (action, outcome), as another process
    reads them: through a connection of its own."""
    with Store(ctx.paths.store) as other:
        return ([j.name for j in other.list_jobs()],
                [(r.action, r.outcome) for r in other.audit_rows()])


def test_a_failure_between_the_change_and_its_audit_row_leaves_neither(ctx, job,
                                                                       monkeypatch):
    def failing(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")  # the audit row's write fails

    monkeypatch.setattr(AccessStore, "audit", failing)
    with pytest.raises(sqlite3.OperationalError):
        actions.jobs.create(ctx, job)
    monkeypatch.undo()
    assert saved(ctx) == ([], [])
    actions.jobs.create(ctx, job)  # the connection is usable again, nothing left open
    assert saved(ctx) == (["nightly"], [("jobs.create", "done")])


def test_a_refusal_after_a_change_rolls_the_change_back_and_keeps_its_row(ctx, job,
                                                                          monkeypatch):
    made = JobsStore.create_job

    def then_refused(self, new):
        made(self, new)
        raise UserError("refused after the change")

    monkeypatch.setattr(JobsStore, "create_job", then_refused)
    with pytest.raises(UserError):
        actions.jobs.create(ctx, job)
    assert saved(ctx) == ([], [("jobs.create", "refused: refused after the change")])


def test_checks_before_the_first_change_hold_no_lock(ctx, job, monkeypatch):
    """A dbt_path's --version or a git ls-remote runs before an action's first change:
    meanwhile the engine's writes (here another connection's, which waits at most 0.2
    s) go through."""
    from dbt_console.actions import jobs as jobs_actions

    checked = jobs_actions.check_in_store
    wrote = []

    def check_then_let_another_write(*args, **kwargs):
        checked(*args, **kwargs)
        other = sqlite3.connect(ctx.paths.store, timeout=0.2)
        other.execute("INSERT INTO engine_events (at, kind, job_name, detail) "
                      "VALUES (0, 'test', NULL, 'written during the check')")
        other.commit()
        other.close()
        wrote.append(True)

    monkeypatch.setattr(jobs_actions, "check_in_store", check_then_let_another_write)
    ctx.store.save_jobs([])  # the store exists before the action's own first change
    actions.jobs.create(ctx, job)
    assert wrote and saved(ctx)[0] == ["nightly"]


def test_what_waits_for_a_commit_never_runs_when_the_unit_rolls_back(paths):
    ran = []
    with Store(paths.store) as store:
        with pytest.raises(UserError):
            with store.unit():
                store.record_event("test", None, "gone with the rollback")
                store.on_commit(lambda: ran.append("rolled back"))
                raise UserError("refused")
        with store.unit():
            store.record_event("test", None, "kept")
            store.on_commit(lambda: ran.append("committed"))
            assert ran == []  # not before the commit
        assert ran == ["committed"]
        assert [e.detail for e in store.recent_events()] == ["kept"]
