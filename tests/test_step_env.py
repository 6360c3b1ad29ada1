"""A job's SQL can read its own process's environment (DuckDB's read_text on
/proc/self/environ): the dbt it runs must find that job's variables there and never the
engine's, on the warm path (a helper forked long before) and the cold one (issue 33)."""

from __future__ import annotations

import json

import pytest

from conftest import SLOW_PROJECT, binary, make_project, runs_json, write_jobs
from dbt_console.engine.stepenv import base_env

PEEK = ("dbt show --output json --inline \"select replace(content, chr(0), ' ~ ') as e "
        "from read_text('/proc/self/environ')\"")


@pytest.mark.unit
def test_the_base_environment_is_what_dbt_needs_and_what_an_admin_named():
    engine = {"PATH": "/usr/bin", "LC_ALL": "C.UTF-8", "HOME": "/srv", "AWS_SECRET": "x",
              "DBT_PASSWORD": "y", "SNOWFLAKE_ACCOUNT": "z", "PYTHONPATH": "/evil"}
    assert base_env((), engine) == {"PATH": "/usr/bin", "LC_ALL": "C.UTF-8", "HOME": "/srv"}
    assert base_env(("SNOWFLAKE_*",), engine)["SNOWFLAKE_ACCOUNT"] == "z"


@pytest.mark.e2e
def test_a_jobs_sql_reads_its_own_variables_and_none_of_the_engines(tmp_path, serving,
                                                                    warm_starts):
    project = make_project(tmp_path / "peek", SLOW_PROJECT)
    home = tmp_path / "home"
    jobs = "jobs:\n" + "".join(f"""
  - name: peek_{kind}
    project_dir: {project}
    warm: {str(kind == "warm").lower()}
    env: {{JOB_OWN: own-{kind}, NAMED: "${{ENGINE_NAMED}}"}}
    commands: [{json.dumps(PEEK)}]
""" for kind in ("warm", "cold"))
    imported = binary(home, "jobs", "import", str(write_jobs(tmp_path / "jobs.yml", jobs)))
    assert imported.code == 0, imported.err
    serving(home, settings='pass_env = ["ADMIN_PASSED_*"]\n',
            env={"ENGINE_ONLY_SECRET": "engine-secret-1", "ENGINE_NAMED": "named-2",
                 "ADMIN_PASSED_X": "admin-3", "DBT_PASSWORD": "engine-secret-4"})
    for kind in ("warm", "cold"):
        run = binary(home, "run", f"peek_{kind}", "--wait")
        assert run.code == 0, run.out + run.err
        run_id = next(r["id"] for r in runs_json(home) if r["job"] == f"peek_{kind}")
        log = binary(home, "logs", str(run_id)).out
        assert f"JOB_OWN=own-{kind}" in log, log  # the job's own, so the read worked
        assert "NAMED=named-2" in log and "ADMIN_PASSED_X=admin-3" in log, log
        assert "engine-secret" not in log, log
        assert "DBT_CONSOLE_HOME" not in log, log  # nor where the store is


@pytest.mark.unit
def test_pass_env_must_be_a_list_of_names_or_patterns(tmp_path):
    from dbt_console.config import Paths, load_settings
    from dbt_console.errors import UserError

    paths = Paths(tmp_path, tmp_path)
    paths.settings_file.write_text('pass_env = ["SNOWFLAKE_*", "DBT_PASSWORD"]\n')
    assert load_settings(paths).pass_env == ("SNOWFLAKE_*", "DBT_PASSWORD")
    for bad in ('"SNOWFLAKE_*"', '["A B"]', "[1]", '["X=1"]'):
        paths.settings_file.write_text(f"pass_env = {bad}\n")
        with pytest.raises(UserError, match="pass_env must be a list of variable names"):
            load_settings(paths)
