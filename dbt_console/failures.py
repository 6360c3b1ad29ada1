"""Which nodes of a run failed, as each summary of it shows them: the end of `run --wait`,
the dashboard's review lines, the API's status message. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dbt_console.model import FAILED_NODE, SKIPPED_NODE, NodeResult


@dataclass(frozen=True)
class Summary:
    failed: tuple[NodeResult, ...]  # each node's last result, where it failed
    skipped: int  # nodes skipped because of them


def summarize(results: Iterable[NodeResult]) -> Summary:
    """A run's node results (a node a later step ran again counts as it last ended)."""
    last: dict[str, NodeResult] = {}
    for result in results:
        last[result.unique_id] = result
    return Summary(tuple(r for r in last.values() if r.status in FAILED_NODE),
                   sum(1 for r in last.values() if r.status in SKIPPED_NODE))


def first_line(result: NodeResult) -> str:
    """dbt's message for the node, its first line: what a summary has room for."""
    return "".join((result.message or "").strip().splitlines()[:1])
