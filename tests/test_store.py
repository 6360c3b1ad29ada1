"""The run store: schema versions, claims, edits, logs kept intact through compaction."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from dbt_console.errors import ConflictError, UserError
from dbt_console.model import Job, NodeResult, RunStatus, Trigger
from dbt_console.store import Store
from dbt_console.store.schema import MIGRATIONS

pytestmark = pytest.mark.unit

JOB = Job(name="nightly", commands=("dbt build",), project_dir="/srv/a")


def row(i: int, msg: str | None = None) -> tuple:
    return (f"2026-01-01T00:00:{i % 60:02d}Z", "info", 1, "E", None, None, msg or f"line {i}")


def test_new_store_is_at_the_latest_schema_in_wal_mode(store):
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_store_from_a_newer_dbt_console_is_refused(paths):
    with Store(paths.store):
        pass
    conn = sqlite3.connect(paths.store)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(UserError, match="newer than this dbt-console knows"):
        Store(paths.store)


def test_only_one_of_many_claimers_wins_a_run(paths, store):
    store.save_jobs([JOB])
    run = store.enqueue_run(store.get_job("nightly"), Trigger.manual(), "me")
    wins = []

    def claim():
        with Store(paths.store) as own:
            wins.append(own.claim_run(run.id))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1
    assert store.get_run(run.id).status is RunStatus.STARTING


def test_second_edit_of_the_same_version_is_refused(store):
    store.save_jobs([JOB])
    read_by_alice = store.get_job("nightly")
    read_by_bob = store.get_job("nightly")
    store.update_job(Job(name="nightly", commands=("dbt run",), project_dir="/srv/a"),
                     "nightly", read_by_alice.version)
    with pytest.raises(ConflictError, match="changed by someone else"):
        store.update_job(Job(name="nightly", commands=("dbt test",), project_dir="/srv/a"),
                         "nightly", read_by_bob.version)
    assert store.get_job("nightly").commands == ("dbt run",)


def test_run_keeps_the_job_as_it_was_when_queued(store):
    store.save_jobs([JOB])
    run = store.enqueue_run(store.get_job("nightly"), Trigger.manual(), "me")
    store.save_jobs([Job(name="nightly", commands=("dbt seed",), project_dir="/srv/a")])
    assert store.run_job(run.id).commands == ("dbt build",)


def test_log_pages_search_and_compaction_keep_every_line(store):
    store.save_jobs([JOB])
    run = store.enqueue_run(store.get_job("nightly"), Trigger.manual(), "me")
    seq = 0
    for batch in range(40):
        rows = [row(seq + i, f"batch {batch} line {seq + i} " + "x" * 200) for i in range(500)]
        store.append_log(run.id, seq, rows)
        seq += len(rows)
    before = [ln.msg for ln in store.iter_log(run.id)]
    chunks_before = store.conn.execute("SELECT COUNT(*) FROM log_chunks").fetchone()[0]
    store.compact_log(run.id)
    chunks_after = store.conn.execute("SELECT COUNT(*) FROM log_chunks").fetchone()[0]
    assert chunks_after < chunks_before
    assert [ln.msg for ln in store.iter_log(run.id)] == before
    page = store.read_log(run.id, start=12_345, limit=10)
    assert [ln.seq for ln in page] == list(range(12_345, 12_355))
    assert page[0].msg.startswith("batch 24 line 12345 ")
    assert [ln.seq for ln in store.search_log(run.id, "LINE 19999 ")] == [19_999]
    assert store.log_line_count(run.id) == 20_000


def test_node_counts_take_each_nodes_last_step(store):
    store.save_jobs([JOB])
    run = store.enqueue_run(store.get_job("nightly"), Trigger.manual(), "me")
    store.start_step(run.id, 1, "dbt seed")
    store.finish_step(run.id, 1, RunStatus.SUCCESS, 0, [NodeResult("seed.p.a", "success", 1)])
    store.start_step(run.id, 2, "dbt build")
    store.finish_step(run.id, 2, RunStatus.ERROR, 1, [
        NodeResult("seed.p.a", "success", 2), NodeResult("model.p.b", "error", 2),
        NodeResult("model.p.c", "skipped", 2)])
    assert store.node_counts([run.id]) == {run.id: {"success": 1, "error": 1, "skipped": 1}}


def test_a_watcher_sees_another_connections_change_on_its_next_poll(paths, store):
    """The cross-process change signal: an idle poll is one PRAGMA and finds nothing; the
    poll after another connection commits sees the new status and lines."""
    from dbt_console.actions import Context, local_actor, logs

    store.save_jobs([JOB])
    run = store.enqueue_run(store.get_job("nightly"), Trigger.manual(), "me")
    with Context(paths, local_actor("cli")) as watcher:
        feed = logs.Feed(watcher, run.id)
        first = feed.poll()
        assert first.lines == [] and first.run.status is RunStatus.QUEUED
        assert feed.poll() is None  # nothing changed: one PRAGMA, no read
        store.claim_run(run.id)
        store.append_log(run.id, 0, [row(0, "hello")])
        update = feed.poll()
        assert [ln.msg for ln in update.lines] == ["hello"] and update.start == 0
        assert feed.run.status is RunStatus.STARTING
        store.finish_run(run.id, RunStatus.SUCCESS)
        assert feed.poll().lines == [] and feed.ended


def test_renamed_job_keeps_its_runs(store):
    store.save_jobs([JOB])
    job = store.get_job("nightly")
    run = store.enqueue_run(job, Trigger.manual(), "me")
    store.update_job(Job(name="nightly-v2", commands=("dbt build",), project_dir="/srv/a"),
                     "nightly", job.version)
    assert [r.id for r in store.list_runs("nightly-v2")] == [run.id]
    assert store.latest_runs()["nightly-v2"].id == run.id


def test_ci_heads_first_look_marks_then_moves_queue_and_coalesce(store):
    from dbt_console.jobrules import job_from_dict

    store.save_jobs([job_from_dict({"name": "pr", "git": {"url": "/srv/a.git"},
                                    "ci": {"defer_to": "nightly"}})])
    assert store.record_ci_heads("pr", {"feature/a": "a1"}, "push") == []  # first look
    first = store.record_ci_heads("pr", {"feature/a": "a2", "feature/b": "b1"}, "push")
    assert len(first) == 2
    again = store.record_ci_heads("pr", {"feature/a": "a3", "feature/b": "b1"}, "push")
    assert again == [first[0]]  # a's waiting run became a3's; b did not move
    waiting = store.get_run(first[0])
    assert (str(waiting.trigger), waiting.git_branch, waiting.git_sha) == (
        "ci:feature/a@a3", "feature/a", "a3")
    store.record_ci_heads("pr", {"feature/b": "b1"}, "push")
    gone = {b.branch: b.gone_at for b in store.ci_branches("pr")}
    assert gone["feature/a"] is not None and gone["feature/b"] is None
    for run_id in first:
        store.claim_run(run_id)
        store.finish_run(run_id, RunStatus.SUCCESS)
    assert store.last_success_before("pr", branch="feature/b").id == first[1]
    assert store.last_success_before("pr", branch="feature/a").id == first[0]
    assert store.last_success_before("pr", branch="feature/c") is None
    assert [r.id for r in store.list_runs(branch="feature/b")] == [first[1]]
    # Each run the poller queued (or joined) has its audit row, from a push.
    assert {(r.actor, r.via, r.action) for r in store.audit_rows()} == {
        ("push", "push", "runs.run_now")}
    assert f"run {first[0]} (ci:feature/a@a3)" in [r.target for r in store.audit_rows()]


def test_a_deleted_jobs_id_is_never_given_again(store):
    """An API client holding job 2 must never trigger another job after 2 is deleted."""
    store.save_jobs([JOB, Job(name="second", commands=("dbt run",), project_dir="/srv/a")])
    assert store.get_job("second").id == 2
    store.delete_job("second")
    store.save_jobs([Job(name="third", commands=("dbt run",), project_dir="/srv/a")])
    assert store.get_job("third").id == 3
    store.save_jobs([JOB])  # saving an existing job keeps its id
    assert store.get_job("nightly").id == 1


def test_projects_and_environments_keep_their_ids(paths, tmp_path):
    """A project per dbt project, an environment per project and target; the ids stay
    across restarts and are never given again, and older stores get theirs on upgrade."""
    from dbt_console.model import GitSource

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "dbt_project.yml").write_text("name: jaffle\n")
    local = Job(name="nightly", commands=("dbt build",), project_dir=str(tmp_path / "a"))
    prod = Job(name="prod", commands=("dbt build",), project_dir=str(tmp_path / "a"),
               target="prod")
    remote = Job(name="remote", commands=("dbt build",),
                 git=GitSource("https://u:secret@git.example/acme/analytics.git", "main",
                               "transform"))
    with Store(paths.store) as store:
        store.save_jobs([local, prod, remote])
        before = store.job_places()
        names = [(p.name, p.source) for p in store.list_projects()]
        envs = [(e.project_id, e.name) for e in store.list_environments()]
    assert names == [("jaffle", f"dir:{tmp_path / 'a'}"),
                     ("analytics/transform", "git:https://***@git.example/acme/analytics.git"
                      "#transform")]
    assert envs == [(1, "default"), (1, "prod"), (2, "default")]
    with Store(paths.store) as store:  # a restart
        assert store.job_places() == before
        store.delete_job("remote")
        store.save_jobs([Job(name="other", commands=("dbt build",),
                             git=GitSource("https://git.example/acme/other.git", "main"))])
        assert store.job_places()[store.get_job("other").id][0] == 3  # 2 is never reused
    # A store from before projects existed gets them when it is upgraded.
    conn = sqlite3.connect(paths.store)
    # ... and so the later migrations' tables are gone too (they run again).
    conn.executescript("DROP TABLE environments; DROP TABLE projects; "
                       "DROP TABLE metric_totals; DROP TABLE alerts; "
                       "ALTER TABLE jobs DROP COLUMN project_id; "
                       "ALTER TABLE jobs DROP COLUMN environment_id; "
                       "ALTER TABLE runs DROP COLUMN cancel_by; "
                       "ALTER TABLE runs DROP COLUMN overrides; "
                       "ALTER TABLE engine_lease DROP COLUMN stop_asked_by; "
                       "DROP TABLE run_compares; "
                       "PRAGMA user_version = 9")
    conn.close()
    with Store(paths.store, upgrade=True) as store:  # as an engine opens it, then migrates
        store.upgrade("test")
        assert sorted(p.name for p in store.list_projects()) == ["jaffle", "other"]
        assert set(store.job_places()) == {j.id for j in store.list_jobs()}


def test_a_run_cancelled_while_queued_says_why_in_its_status_message(store):
    store.save_jobs([JOB])
    run = store.enqueue_run(store.get_job("nightly"), Trigger.manual(), "me")
    cancelled = store.request_cancel(run.id, "ada (from the API)")
    assert cancelled.status is RunStatus.CANCELLED
    assert cancelled.error == "cancelled before it started by ada (from the API)"


def test_a_queued_run_cancelled_queues_its_hooks_and_chained_runs_with_its_end(paths, store):
    """The cancel of a queued run is one of the ways a run ends: its `cancelled` delivery
    and its `on: [cancelled]` chained run are written in the cancel's transaction."""
    from dataclasses import replace

    from dbt_console.actions import connect, runs
    from dbt_console.model import Hook

    hook = Hook("webhook", {"url": "http://127.0.0.1:9/hook", "events": ["cancelled"]})
    store.save_jobs([replace(JOB, hooks=(hook,)),
                     replace(JOB, name="tidy", after="nightly", after_statuses=("cancelled",))])
    run = store.enqueue_run(store.get_job("nightly"), Trigger.manual(), "ada")
    with connect(paths, "cli") as ctx:
        assert runs.cancel(ctx, run.id).status is RunStatus.CANCELLED
    assert [(d.run_id, d.event) for d in store.list_deliveries()] == [(run.id, "cancelled")]
    chained = store.list_runs("tidy", limit=5)
    assert [(r.status, str(r.trigger)) for r in chained] == [
        (RunStatus.QUEUED, f"job:nightly#{run.id}")]


def test_a_feed_says_when_its_run_was_orphaned_though_nothing_changes(paths, store):
    """A run whose engine died never changes again: the feed asks every
    ORPHAN_CHECK_SECONDS (a given clock here) and then ends."""
    from dbt_console.actions import Context, local_actor, logs

    store.save_jobs([JOB])
    run = store.enqueue_run(store.get_job("nightly"), Trigger.manual(), "me")
    store.claim_run(run.id)  # starting, and no engine holds the lease
    now = [0.0]
    with Context(paths, local_actor("cli")) as watcher:
        feed = logs.Feed(watcher, run.id, clock=lambda: now[0])
        assert not feed.poll().orphaned
        assert feed.poll() is None and not feed.ended  # not asked again yet
        now[0] += logs.ORPHAN_CHECK_SECONDS
        update = feed.poll()
        assert update.orphaned and feed.ended and update.run.status is RunStatus.STARTING
