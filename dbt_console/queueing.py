"""Queueing policy: what a schedule fire, a push, a CI branch head, a finished upstream
run or a person asking makes of the queue. Pure functions over plain data; the store
calls them inside its transaction and persists what they decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from dbt_console.model import Job, Run, Trigger


@dataclass(frozen=True)
class Waiting:
    """A queued run of the same job, as the policy sees it."""

    id: int
    trigger: Trigger


def merge_target(new: Trigger, waiting: Sequence[Waiting]) -> int | None:
    """The queued run a new request joins instead of queueing a second, or None.

    A schedule keeps one waiting run (an over-scheduled job never piles up); pushes
    coalesce into one run of the newest head; a CI branch's waiting run becomes the
    newest head's. Anything asked for by a person (manual, api, retry) or by a chain
    always queues its own run.
    """
    for run in sorted(waiting, key=lambda w: w.id, reverse=True):
        old = run.trigger
        if new.kind in ("schedule", "catch-up") and old == new:
            return run.id
        if new.kind == "push" and old.kind == "push":
            return run.id
        if new.kind == "ci" and old.kind == "ci" and old.branch == new.branch:
            return run.id
    return None


def push_is_due(previous_sha: str | None, sha: str) -> bool:
    """A branch head seen for the first time is only remembered; a move runs the job."""
    return previous_sha is not None and previous_sha != sha


@dataclass(frozen=True)
class CiDecision:
    run: tuple[tuple[str, str], ...]  # (branch, sha) to run
    gone: tuple[str, ...]  # branches no longer on the remote


def ci_heads(known: Mapping[str, tuple[str, float | None]], heads: Mapping[str, str],
             first_poll: bool) -> CiDecision:
    """A CI job's matching branches as the remote has them now, against what was known
    (branch -> (sha, gone_at)). A new branch or a moved head runs; a branch that came back
    runs; the job's first poll only remembers (no storm of runs on a repo of old
    branches)."""
    due = () if first_poll else tuple(
        (branch, sha) for branch, sha in sorted(heads.items())
        if known.get(branch) != (sha, None))
    gone = tuple(b for b, (_, gone_at) in sorted(known.items())
                 if b not in heads and gone_at is None)
    return CiDecision(due, gone)


def downstream(run: Run, jobs: Iterable[Job]) -> list[Job]:
    """The enabled jobs that run after this run's job, when its status is one they wait
    for."""
    return [job for job in jobs if job.enabled and job.after == run.job_name
            and run.status.value in job.after_statuses]


def fires_to_queue(fires: Sequence[tuple[str, float]], enabled: set[str]) -> list[str]:
    """The jobs a batch of schedule fires queues: each once, if still enabled (paused or
    deleted since the fire are skipped)."""
    out: list[str] = []
    for name, _ in fires:
        if name in enabled and name not in out:
            out.append(name)
    return out


def after_cycle(after: Mapping[str, str | None], start: str) -> list[str] | None:
    """The chain of `after:` that leads from job `start` back to it ([A, B, A]), or None.
    Each run of such a chain would queue the next for ever."""
    chain, name = [start], after.get(start)
    while name is not None and name not in chain:
        chain.append(name)
        name = after.get(name)
    return chain + [start] if name == start else None
