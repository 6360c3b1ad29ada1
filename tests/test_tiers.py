"""The unit tier's guard: a test marked unit that starts a process or reaches a socket
fails at that call, and every test needs a tier."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.unit

# The snapshot plugin's session hooks expect a session of their own: off in the inner one.
INNER_ARGS = ("-p", "tiers", "-p", "no:textual-snapshot", "-p", "no:xdist")
INNER = '''
import socket, subprocess
import pytest

@pytest.mark.unit
def test_starts_a_process():
    subprocess.run(["true"])

@pytest.mark.unit
def test_binds_a_socket():
    socket.socket().bind(("127.0.0.1", 0))

@pytest.mark.unit
def test_only_computes():
    assert sum(range(4)) == 6

@pytest.mark.real
def test_real_may():
    assert True
'''


def test_a_unit_test_reaching_a_process_or_socket_fails_at_that_call(pytester):
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest_inprocess(*INNER_ARGS, "-m", "unit")
    result.assert_outcomes(passed=1, failed=2, deselected=1)
    result.stdout.fnmatch_lines(["*a unit test started a process*",
                                 "*a unit test called socket.bind*"])


def test_a_test_without_a_tier_or_with_two_is_refused(pytester):
    pytester.makepyfile(test_inner='''
import pytest

pytestmark = pytest.mark.real

def test_untiered_module_mark_is_enough():
    pass

@pytest.mark.unit
def test_two_tiers():
    pass
''')
    result = pytester.runpytest_inprocess(*INNER_ARGS)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_two_tiers: *"])
