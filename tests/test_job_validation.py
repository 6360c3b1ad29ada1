"""Every rule a job must follow: refused with a message naming the job and the field,
and nothing saved (checked through `jobs import` and `jobs list`, as a user would)."""

from __future__ import annotations

import pytest

from conftest import write_jobs

pytestmark = pytest.mark.unit

GOOD = """
  - name: good
    project_dir: /srv/analytics
    commands: ["dbt build"]
"""


def import_bad(cli, tmp_path, bad_job: str):
    """Import a file holding one good job and one bad one; nothing may be saved."""
    path = write_jobs(tmp_path / "jobs.yml", "jobs:" + GOOD + bad_job)
    result = cli("jobs", "import", str(path))
    assert result.code == 2
    assert "Traceback" not in result.err
    listed = cli("jobs", "list", "--json")
    assert listed.out.strip() == "[]", "a file with a bad job must save none of its jobs"
    return result.err


@pytest.mark.parametrize("bad_job, expected", [
    ("""
  - name: never
    project_dir: /srv/a
    commands: ["dbt run"]
    schedule: {cron: "0 0 31 2 *"}
""", "job 'never': schedule: cron '0 0 31 2 *' never fires"),
    ("""
  - name: optiony
    git: {url: "--upload-pack=touch /tmp/pwned"}
    commands: ["dbt run"]
""", "job 'optiony': git.url: '--upload-pack=touch /tmp/pwned' is not a repository URL"),
    ("""
  - name: extish
    git: {url: "ext::sh -c touch% /tmp/pwned"}
    commands: ["dbt run"]
""", "job 'extish': git.url: 'ext::sh -c touch% /tmp/pwned' is not a repository URL"),
    ("""
  - name: dashy
    git: {url: /srv/a.git, branch: "--output=/tmp/x"}
    commands: ["dbt run"]
""", "job 'dashy': git.branch: '--output=/tmp/x' is not a valid branch name"),
    ("""
  - name: nightly
    project_dir: /srv/a
    commands: ["dbt build"]
    schedule: {cron: "0 2 * *"}
""", "job 'nightly': schedule: cron '0 2 * *' must have 5 fields"),
    ("""
  - name: nightly
    project_dir: /srv/a
    commands: ["dbt build"]
    schedule: {cron: "0 25 * * *"}
""", "job 'nightly': schedule: cron '0 25 * * *' is not valid"),
    ("""
  - name: nightly
    project_dir: /srv/a
    commands: ["dbt build"]
    schedule: {cron: "0 2 * * *", timezone: Mars/Olympus}
""", "job 'nightly': schedule: timezone 'Mars/Olympus' is not a known IANA timezone"),
    ("""
  - name: nightly
    project_dir: /srv/a
    commands: ["python evil.py"]
""", "job 'nightly': commands[0]: 'python evil.py' is not a dbt command"),
    ("""
  - name: nightly
    project_dir: /srv/a
    commands: ["dbt run; rm -rf /"]
""", "job 'nightly': commands[0]: 'dbt run; rm -rf /' contains shell syntax"),
    ("""
  - name: nightly
    project_dir: /srv/a
    commands: ["dbt run --select $(whoami)"]
""", "contains shell syntax"),
    ("""
  - name: nightly
    project_dir: /srv/a
    on_push: true
    warm: "no"
    commands: ["dbt run"]
""", "job 'nightly': on_push: needs a git job: it runs when the git branch's head moves"),
    ("""
  - name: pr
    project_dir: /srv/a
    ci: {defer_to: nightly}
""", "job 'pr': ci: needs a git job: CI runs the repository's branches"),
    ("""
  - name: pr
    git: {url: /srv/a.git}
    ci: {defer_to: pr, branches: []}
""", "jobs.yml: job 'pr': ci.branches: must be a branch pattern such as 'feature/*', or a "
     "list of them (got [])"),
    ("""
  - name: pr
    git: {url: /srv/a.git}
    ci: {defer_to: nightly, branch: "feature/*"}
    schedule: {cron: "0 2 * * *"}
""", "jobs.yml: job 'pr': schedule: a CI job runs when its branches move; schedule belongs "
     "on the production job"),
    ("""
  - name: nightly
    project_dir: /srv/a
    generate_docs: 1
    commands: ["dbt run"]
""", "job 'nightly': generate_docs: must be true or false (got 1)"),
    ("""
  - name: nightly
    project_dir: /srv/a
    commands: ["dbt docs serve"]
""", "job 'nightly': commands[0]: 'dbt docs serve': a job can run 'dbt docs generate' only"),
    ("""
  - name: nightly
    project_dir: /srv/a
    commands: ["dbt init"]
""", "'init' is not a dbt sub-command a job can run"),
    ("""
  - name: nightly
    project_dir: /srv/a
    commands: ["dbt build --target-path /tmp/x"]
""", "--target-path is set by dbt-console"),
    ("""
  - name: nightly
    project_dir: /srv/a
    commands: ["dbt build"]
    colour: blue
""", "job 'nightly': colour: unknown field"),
    ("""
  - name: nightly
    git: {url: /srv/git/a.git, brnach: main}
    commands: ["dbt build"]
""", "git: unknown field 'brnach'"),
    ("""
  - name: Nightly Run
    project_dir: /srv/a
    commands: ["dbt build"]
""", "name: must be a slug"),
    ("""
  - project_dir: /srv/a
    commands: ["dbt build"]
""", "name: required: letters, digits"),  # not "(got None)"
    ("""
  - name: nightly
    commands: ["dbt build"]
""", "job 'nightly': project_dir: give exactly one of project_dir"),
    ("""
  - name: nightly
    project_dir: /srv/a
    commands: []
""", "job 'nightly': commands: must be a non-empty list"),
    ("""
  - name: nightly
    project_dir: /srv/a
    commands: ["dbt build"]
    timeout_minutes: -5
""", "job 'nightly': timeout_minutes: must be a whole number of minutes"),
    ("""
  - name: nightly
    project_dir: /srv/a
    commands: ["dbt build"]
    env: {THREADS: 4}
""", "job 'nightly': env.THREADS: must be text (quote it in YAML)"),
    ("""
  - name: nightly
    project_dir: /srv/a
    commands: ["dbt build"]
    env: {DBT_TARGET_PATH: /tmp}
""", "job 'nightly': env.DBT_TARGET_PATH: is set by dbt-console"),
    ("""
  - name: nightly
    project_dir: /srv/a
    commands: ["dbt build"]
    env: {DBT_ENV_SECRET_TOKEN: "********"}
""", "holds the mask of an export made without --include-secrets"),
    ("""
  - name: good
    project_dir: /srv/b
    commands: ["dbt run"]
""", "job 'good': name: used twice in this file"),
])
def test_invalid_job_is_refused_with_its_field_named_and_nothing_saved(
        cli, tmp_path, bad_job, expected):
    err = import_bad(cli, tmp_path, bad_job)
    assert expected in err
    assert err.startswith("dbt-console: ") and "None" not in err
    assert "jobs.yml" in err  # the file is named too


def test_every_problem_of_a_file_is_reported_at_once(cli, tmp_path):
    err = import_bad(cli, tmp_path, """
  - name: first
    project_dir: /srv/a
    commands: ["ls"]
  - name: second
    project_dir: /srv/a
    commands: ["dbt build"]
    schedule: {cron: "every day"}
""")
    assert "job 'first': commands[0]" in err
    assert "job 'second': schedule" in err


def test_yaml_syntax_error_names_the_line(cli, tmp_path):
    path = write_jobs(tmp_path / "jobs.yml", "jobs:\n  - name: a\n    commands: [dbt build\n")
    result = cli("jobs", "import", str(path))
    assert result.code == 2
    assert f"{path}:" in result.err and "not valid YAML" in result.err


def test_unknown_top_level_key_is_refused(cli, tmp_path):
    path = write_jobs(tmp_path / "jobs.yml", "jobs: []\nsettings: {}\n")
    result = cli("jobs", "import", str(path))
    assert result.code == 2 and "unknown top-level key(s): settings" in result.err


def test_missing_jobs_file_is_a_clear_error(cli, tmp_path):
    result = cli("jobs", "import", str(tmp_path / "nope.yml"))
    assert result.code == 2
    assert "nope.yml: cannot read: No such file or directory" in result.err


def test_valid_commands_with_quotes_and_selectors_are_accepted(cli, tmp_path):
    path = write_jobs(tmp_path / "jobs.yml", """
jobs:
  - name: fancy
    project_dir: /srv/a
    commands:
      - dbt build --select +tag:nightly,config.materialized:table @orders
      - "dbt run-operation grant --args '{role: reporter}'"
      - dbt source freshness
      - dbt docs generate
""")
    result = cli("jobs", "import", str(path))
    assert result.code == 0, result.err
    assert "created: fancy" in result.out


def test_out_of_range_numbers_and_deep_yaml_are_bad_input_not_crashes(cli, tmp_path):
    huge = "99999999999999999999999"
    for args in (("logs", huge), ("cancel", huge), ("retry", huge), ("deliveries", "--run", huge),
                 ("docs", "x", "--run", huge), ("runs", "--limit", huge)):
        result = cli(*args)
        assert result.code == 2 and "Traceback" not in result.err, args
        assert result.err.count("\n") == 1, (args, result.err)
    deep = write_jobs(tmp_path / "deep.yml", "jobs: " + "[" * 100_000)
    result = cli("jobs", "import", str(deep))
    assert result.code == 2 and "nested too deeply" in result.err


def test_a_branch_that_looks_like_an_option_is_refused_before_git_sees_it(cli, tmp_path):
    path = write_jobs(tmp_path / "jobs.yml", "jobs:\n  - name: g\n    git: {url: /srv/a.git}"
                                               "\n    commands: [dbt build]\n")
    assert cli("jobs", "import", str(path)).code == 0
    result = cli("run", "g", "--branch", "--upload-pack=touch /tmp/pwned")
    assert result.code == 2 and "is not a valid branch name" in result.err
    assert cli("runs", "--json").out.strip() == "[]"


def test_a_bad_timezone_does_not_hide_the_same_schedules_bad_cron(cli, tmp_path):
    err = import_bad(cli, tmp_path, """
  - name: nightly
    project_dir: /srv/a
    commands: ["dbt build"]
    schedule: {cron: "0 25 * * *", timezone: Mars/Olympus}
""")
    assert "job 'nightly': schedule: timezone 'Mars/Olympus' is not a known IANA" in err
    assert "job 'nightly': schedule: cron '0 25 * * *' is not valid" in err


def test_an_after_cycle_is_refused_in_a_file_and_against_the_store(cli, tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "dbt_project.yml").write_text("name: p\n")
    two = """
jobs:
  - name: a
    project_dir: {p}
    commands: ["dbt build"]
    after: {a_after}
  - name: b
    project_dir: {p}
    commands: ["dbt build"]
    after: a
"""
    looped = write_jobs(tmp_path / "loop.yml", two.format(p=tmp_path / "p", a_after="b"))
    refused = cli("jobs", "import", str(looped))
    assert refused.code == 2 and "after: a -> b -> a is a cycle" in refused.err, refused.err
    assert cli("jobs", "list", "--json").out.strip() == "[]"
    chain = write_jobs(tmp_path / "chain.yml", two.replace("    after: {a_after}\n", "")
                       .format(p=tmp_path / "p"))
    assert cli("jobs", "import", str(chain)).code == 0  # b after a: a chain, no cycle
    closing = write_jobs(tmp_path / "closing.yml", f"""
jobs:
  - name: a
    project_dir: {tmp_path / 'p'}
    commands: ["dbt build"]
    after: b
""")
    refused = cli("jobs", "import", str(closing))
    assert refused.code == 2 and "a -> b -> a" in refused.err


def test_a_trigger_with_more_steps_than_a_job_may_have_is_refused_naming_the_limit():
    """steps_override had no count limit: 100,000 commands were accepted."""
    from dbt_console.api.requests import BadRequest, trigger
    from dbt_console.model import Job

    job = Job(name="nightly", commands=("dbt build",), project_dir="/srv/a")
    assert trigger(job, {"cause": "ok", "steps_override": ["dbt build"] * 100})
    with pytest.raises(BadRequest, match="steps_override: 101 commands, more than the 100"):
        trigger(job, {"cause": "too many", "steps_override": ["dbt build"] * 101})
