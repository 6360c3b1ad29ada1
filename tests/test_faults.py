"""The fault suite: kill -9 of a real serve at each point of a real git job's run (5
kills), with what each kill must leave checked by dbt_console/tools/faults.py: no run
stuck, the waiting run runs, the killed run's log gapless and ending with why it failed,
no dbt process and no temporary directory of the dead engine left. The repeats that catch
what happens only sometimes are benchmarks/soak.py's (30 kills by default): the suite ran
each point twice, about 5 of its 15 minutes' worth of one worker."""

from __future__ import annotations

import pytest

from dbt_console.tools.faults import POINTS, Faults

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    return Faults(tmp_path_factory.mktemp("faults"))


@pytest.mark.parametrize("point", list(POINTS))
def test_a_kill_at_each_point_leaves_nothing_behind(faults, point):
    outcome = faults.cycle(point)
    assert outcome.problems == [], f"killed {point}: {outcome.problems}"
