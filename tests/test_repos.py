"""Narrow repositories (store/repos.py): a part given some of the store's concerns can
call their methods and nothing else, and no engine part is given tokens or grants."""

from __future__ import annotations

import pytest

from dbt_console.model import Job
from dbt_console.store import AccessStore, JobsStore, RunsStore, Store, TokensStore
from dbt_console.store.repos import Repos

pytestmark = pytest.mark.unit


def test_a_narrow_store_calls_its_concerns_and_refuses_the_rest(paths):
    with Store(paths.store) as store:
        jobs = store.only(JobsStore)
        jobs.save_jobs([Job(name="nightly", commands=("dbt build",), project_dir="/srv/a")])
        assert [j.name for j in jobs.list_jobs()] == ["nightly"]
        with pytest.raises(AttributeError, match=r"given JobsStore; create_token is "
                                                 r"TokensStore's"):
            jobs.create_token("t", "hash", "me", "runner")
        with pytest.raises(TypeError, match="cannot widen"):
            jobs.only(JobsStore, RunsStore)
        assert isinstance(jobs.only(JobsStore), Repos)
        with jobs:
            pass  # closing a view it was not opened for leaves the connection open
        assert store.list_jobs()


def test_no_engine_part_is_given_tokens_or_grants():
    from dbt_console.engine import background, engine, executor, lease, parts, pushes
    from dbt_console.engine.notify import notifier

    for part in (background.BUSY_USES, engine.USES, executor.USES, lease.USES, parts.USES,
                 parts.PRUNE_USES, pushes.USES, notifier.USES):
        assert not {TokensStore, AccessStore} & set(part), part
