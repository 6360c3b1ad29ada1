"""settings.toml and the DBT_CONSOLE_<NAME> variables that win over it."""

from __future__ import annotations

import pytest


@pytest.mark.unit
def test_a_setting_from_the_environment_wins_over_the_file_and_is_checked_alike(tmp_path):
    from dbt_console.config import Paths, load_settings
    from dbt_console.errors import UserError

    paths = Paths(tmp_path, tmp_path)
    paths.settings_file.write_text('warm_starts = true\nrun_as = ""\nmax_concurrent_runs = 3\n')
    settings = load_settings(paths, {"DBT_CONSOLE_WARM_STARTS": "false",
                                     "DBT_CONSOLE_PASS_ENV": "SNOWFLAKE_*, DBT_PASSWORD",
                                     "DBT_CONSOLE_RUN_AS": "dbtrun"})
    assert (settings.warm_starts, settings.pass_env, settings.run_as) == (
        False, ("SNOWFLAKE_*", "DBT_PASSWORD"), "dbtrun")
    assert settings.max_concurrent_runs == 3  # the file's, where no variable is set
    for name, text, says in (("DBT_CONSOLE_WARM_STARTS", "maybe", "true or false"),
                             ("DBT_CONSOLE_MAX_CONCURRENT_RUNS", "²", "whole number >= 1"),
                             ("DBT_CONSOLE_RUN_AS", "a b", "unix user name")):
        with pytest.raises(UserError, match=f"environment variable {name}: .*{says}"):
            load_settings(paths, {name: text})
