"""Jobs as code: import, export and import again loses nothing."""

from __future__ import annotations

import pytest
import yaml

from conftest import write_jobs

FULL = """
jobs:
  - name: nightly
    description: The nightly build.
    project_dir: /srv/analytics
    profiles_dir: /etc/dbt
    target: prod
    commands: ["dbt seed", "dbt build --select tag:nightly"]
    schedule: {cron: "0 2 * * *", timezone: Europe/Berlin}
    env: {DBT_ENV_CUSTOM_ENV_team: analytics, DBT_ENV_SECRET_KEY: s3cr3t-value}
    timeout_minutes: 60
    sla: {finish_by: "07:00", max_minutes: 45, slower_than_usual: 2.5, missed: true}
    enabled: false
    dbt_path: /opt/dbt/bin/dbt
    hooks:
      - {type: webhook, url: "https://example.internal/dbt", events: [errored]}
  - name: from-git
    git: {url: /srv/git/analytics.git, branch: release, subdirectory: transform}
    commands: ["dbt build"]
  - name: local-pull
    project_dir: /srv/checkout
    pull: true
    commands: ["dbt run"]
  - name: ci
    git: {url: /srv/git/analytics.git, branch: main}
    ci: {defer_to: nightly, branches: [feature/*, fix/*]}
    commands: ["dbt build --select state:modified+ --exclude tag:slow"]
"""


@pytest.mark.real
def test_import_export_import_is_lossless(cli, tmp_path):
    first = write_jobs(tmp_path / "a.yml", FULL)
    assert cli("jobs", "import", str(first)).code == 0
    exported = cli("jobs", "export", "--include-secrets").out
    original = {j["name"]: j for j in yaml.safe_load(first.read_text())["jobs"]}
    for job in yaml.safe_load(exported)["jobs"]:
        for key, value in original[job["name"]].items():
            assert job[key] == value, (job["name"], key)
    second = write_jobs(tmp_path / "b.yml", exported)
    result = cli("jobs", "import", str(second))
    # Lossless: the export read back is the same jobs, so nothing is saved again.
    assert result.out.rstrip().endswith("unchanged: ci, from-git, local-pull, nightly")
    assert "updated" not in result.out
    assert cli("jobs", "export", "--include-secrets").out == exported


@pytest.mark.real
def test_export_masks_secret_env_values_unless_asked(cli, tmp_path):
    cli("jobs", "import", str(write_jobs(tmp_path / "a.yml", FULL)))
    masked = cli("jobs", "export")
    assert "s3cr3t-value" not in masked.out
    assert "DBT_ENV_SECRET_KEY: '********'" in masked.out
    assert "s3cr3t-value" not in cli("jobs", "list", "--json").out
    assert "s3cr3t-value" not in cli("jobs", "show", "nightly").out
    assert "s3cr3t-value" in cli("jobs", "export", "--include-secrets").out


@pytest.mark.unit
def test_relative_project_dir_is_relative_to_the_jobs_file(cli, tmp_path):
    (tmp_path / "repo" / "transform").mkdir(parents=True)
    (tmp_path / "repo" / "transform" / "dbt_project.yml").write_text("name: t\n")
    path = write_jobs(tmp_path / "repo" / "jobs.yml", """
jobs:
  - name: here
    project_dir: ./transform
    commands: ["dbt build"]
""")
    cli("jobs", "import", str(path))
    job = yaml.safe_load(cli("jobs", "show", "here").out)["jobs"][0]
    assert job["project_dir"] == str(tmp_path / "repo" / "transform")


@pytest.mark.real
def test_export_to_a_file_then_delete_and_reimport(cli, tmp_path):
    cli("jobs", "import", str(write_jobs(tmp_path / "a.yml", FULL)))
    out = tmp_path / "out.yml"
    assert cli("jobs", "export", str(out), "--include-secrets").code == 0
    assert cli("jobs", "delete", "nightly").code == 0
    assert "nightly" not in cli("jobs", "list").out
    assert cli("jobs", "delete", "nightly").code == 2
    assert "created: nightly" in cli("jobs", "import", str(out)).out


@pytest.mark.unit
def test_credentials_in_a_git_url_are_masked_like_secrets(cli, tmp_path):
    token_url = "https://ci-bot:ghp_s3cr3tT0ken@git.example.org/acme/analytics.git"
    cli("jobs", "import", str(write_jobs(tmp_path / "a.yml", f"""
jobs:
  - name: from-git
    git: {{url: "{token_url}", branch: main}}
    commands: ["dbt build"]
""")))
    for args in (("jobs", "list"), ("jobs", "list", "--json"), ("jobs", "show", "from-git"),
                 ("jobs", "export")):
        shown = cli(*args).out
        assert "ghp_s3cr3tT0ken" not in shown, args
        assert "https://***@git.example.org/acme/analytics.git" in shown, args
    assert token_url in cli("jobs", "export", "--include-secrets").out
    masked = write_jobs(tmp_path / "masked.yml", cli("jobs", "export").out)
    refused = cli("jobs", "import", str(masked))
    assert refused.code == 2 and "git.url: holds the mask of an export" in refused.err


@pytest.mark.unit
def test_the_store_is_not_readable_by_everyone(cli, paths):
    cli("jobs", "list")
    assert paths.store.stat().st_mode & 0o777 == 0o660
