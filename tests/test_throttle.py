"""Failed API tokens per address: counted in a window, delayed past five, audited
sparsely (issue 33). The clock is the test's."""

from __future__ import annotations

import pytest

from dbt_console.api.throttle import MAX_ADDRESSES, WINDOW_SECONDS, FailedTokens, audited, delay

pytestmark = pytest.mark.unit


def test_failures_count_per_address_and_are_forgotten_after_the_window():
    now = [0.0]
    seen = FailedTokens(clock=lambda: now[0])
    assert [seen.failed("10.0.0.1") for _ in range(3)] == [1, 2, 3]
    assert seen.failed("10.0.0.2") == 1  # another address counts alone
    now[0] += WINDOW_SECONDS + 1
    assert seen.failed("10.0.0.1") == 1


def test_the_oldest_address_is_forgotten_past_the_limit():
    seen = FailedTokens(clock=lambda: 0.0)
    for i in range(MAX_ADDRESSES + 1):
        seen.failed(f"a{i}")
    assert seen.failed("a0") == 1 and seen.failed(f"a{MAX_ADDRESSES}") == 2


def test_delays_grow_past_five_and_stop_at_ten_seconds():
    assert [delay(n) for n in (1, 5, 6, 7, 8, 9, 100)] == [0, 0, 2, 4, 8, 10, 10]


def test_a_scan_leaves_a_handful_of_audit_rows():
    assert [n for n in range(1, 1001) if audited(n)] == [1, 2, 3, 4, 5, 8, 16, 32, 64, 128,
                                                         256, 512]


def test_the_api_reads_as_no_one_until_a_token_names_who(tmp_path):
    """Before its token is read, a request has no role: only finding the token by its
    hash is done on its behalf (issue 34: the API starts from no identity)."""
    from dbt_console.access import Forbidden
    from dbt_console.actions import jobs
    from dbt_console.api.base import Api
    from dbt_console.config import Paths
    from dbt_console.store import Store

    paths = Paths(tmp_path, tmp_path)
    Store(paths.store).close()
    reader = Api(paths, 1).reader
    assert reader.role() is None
    with pytest.raises(Forbidden):
        jobs.list_all(reader)
