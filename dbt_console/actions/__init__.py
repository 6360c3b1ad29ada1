"""The action layer: one function for each thing a user can do, whoever asks and from
wherever (the CLI, the dashboard, the API). Each is given a Context (who is acting, on
which store), applies the rules once and returns plain data; the front ends only turn
input into a call and render the answer.

    jobs      create, update, delete, import, export, pause, resume; reading jobs
    runs      run now (branch, sha, overrides), retry, rerun, cancel; reading runs
    logs      a page, all lines, following a run
    review    failed nodes with message and SQL; commits since the last green run
    status    the engine, queue, runs in flight, next fires, warm helpers
    engine    start a background engine, ask the engine to stop
    notify    hooks test, deliveries
    docs      which run's docs to serve
    ci        CI branches, cleanup of deleted branches' schemas
    tokens    API tokens, each with a role
    metrics   what /metrics reports: one snapshot of counters and gauges
    projects  projects and environments, as dbt Cloud's API groups jobs
    retention what a prune removes, pruning, the space runs take
    team      grants of roles to unix users and groups, who you are, the audit log
    schema    the store's schema as this code makes it; migrating an older store

Each is an @action (guard.py): it names the least role that may call it, and each that
changes something writes one audit row, refused attempts included.
"""

from __future__ import annotations

from importlib import import_module

from dbt_console.actions.context import Actor, Context, connect, local_actor, token_actor

SUBJECTS = ("ci", "docs", "engine", "jobs", "logs", "metrics", "notify", "projects", "retention",
            "review", "runs", "schema", "status", "team", "tokens")


def __getattr__(name: str):
    """actions.runs and the rest load when first used: a command pays only for its own."""
    if name in SUBJECTS:
        return import_module(f"dbt_console.actions.{name}")
    raise AttributeError(name)


__all__ = ["Actor", "Context", "ci", "connect", "docs", "engine", "jobs", "local_actor", "logs",
           "metrics", "notify", "projects", "retention", "review", "runs", "schema", "status",
           "team",
           "token_actor", "tokens"]
