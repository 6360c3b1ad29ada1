"""The one summary of a run's failed nodes that the CLI, the dashboard and the API show."""

from __future__ import annotations

import pytest

from dbt_console import failures
from dbt_console.model import NodeResult

pytestmark = pytest.mark.unit


def test_each_node_counts_as_it_last_ended_and_skips_are_counted():
    results = [NodeResult("model.a", "error", step=4, message="boom\nat line 3"),
               NodeResult("test.b", "fail", step=4, message="  Got 3 results\nmore"),
               NodeResult("model.c", "skipped", step=4),
               NodeResult("model.a", "success", step=5),  # a retry built it
               NodeResult("model.d", "skipped", step=5)]
    summary = failures.summarize(results)
    assert [r.unique_id for r in summary.failed] == ["test.b"]
    assert summary.skipped == 2
    assert failures.first_line(summary.failed[0]) == "Got 3 results"
    assert failures.first_line(NodeResult("x", "error")) == ""
