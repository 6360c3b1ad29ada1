"""A log line at 80 columns keeps what a reader needs: the result after dbt's dot leader
and the file a failed test or its compiled SQL is in (issue 31)."""

from __future__ import annotations

import pytest

from dbt_console.tui.widgets.line_fit import fit_line

pytestmark = pytest.mark.unit

RESULT = ("5 of 21 FAIL 3 assert_rides_end_within_a_day ......................... "
          "[FAIL 3 in 0.09s]")
COMPILED = ("  compiled code at /srv/dbt/runs/2/target/compiled/pedalshare/tests/audit/"
            "assert_rides_end_within_a_day.sql")
GENERIC = "Failure in test not_null_stg_orders_order_id (models/staging/schema.yml)"


def test_a_line_that_fits_is_left_as_it_is():
    assert fit_line(RESULT, len(RESULT)) == RESULT
    assert fit_line(GENERIC, 200) == GENERIC


def test_the_dot_leader_gives_way_so_the_result_and_time_show():
    fitted = fit_line(RESULT, 70)
    assert fitted.endswith("[FAIL 3 in 0.09s]") and len(fitted) == 70, fitted
    assert fitted.startswith("5 of 21 FAIL 3 assert_rides_end_within_a_day .")
    # Never below three dots, even when that cannot make it fit.
    assert " ... [FAIL" in fit_line(RESULT, 20)


def test_paths_lose_their_leading_directories_first_and_keep_the_file():
    fitted = fit_line(COMPILED, 60)
    assert fitted == "  compiled code at …/audit/assert_rides_end_within_a_day.sql", fitted
    generic = fit_line(GENERIC, 60)
    assert generic == "Failure in test not_null_stg_orders_order_id (…/schema.yml)", generic
    # As many directories as fit are kept.
    assert fit_line(GENERIC, 68) == ("Failure in test not_null_stg_orders_order_id "
                                     "(…/staging/schema.yml)")


def test_windows_paths_and_words_without_paths():
    assert fit_line(r"see C:\work\dbt\target\compiled\x.sql now", 22) == r"see C:…\x.sql now"
    words = "a sentence " * 10
    assert fit_line(words, 30) == words  # nothing to give way: cut at the edge as before


def test_a_long_node_name_gives_up_its_middle_once_the_leader_is_spent():
    fitted = fit_line(RESULT, 60)
    assert fitted == "5 of 21 FAIL 3 assert_ride…ithin_a_day ... [FAIL 3 in 0.09s]", fitted
    assert len(fit_line(RESULT, 60)) == 60
    tiny = fit_line(RESULT, 10)  # the name keeps 11 characters at least
    assert tiny == "5 of 21 FAIL 3 assert…a_day ... [FAIL 3 in 0.09s]", tiny
