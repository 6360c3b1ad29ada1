"""Every field of a job survives the dashboard's form: opening a job and saving it
unchanged leaves `jobs export` byte-identical, and the form and a jobs file refuse the
same things. The real app through Pilot, the real binary for import and export."""

from __future__ import annotations

import asyncio

import pytest

from conftest import binary, branch_remote, write_jobs
from dbt_console.config import resolve_paths
from dbt_console.jobfields import FIELDS, job_to_dict
from dbt_console.jobrules import job_from_dict
from dbt_console.jobspec import load_jobs_file
from dbt_console.jobtext import from_form, to_form
from dbt_console.tui.app import DbtConsoleApp
from dbt_console.tui.screens.job_form import JobFormScreen

EVERY_FIELD = """
jobs:
  - name: nightly
    description: The nightly build.
    project_dir: /srv/analytics
    profiles_dir: /etc/dbt
    target: prod
    dbt_path: /opt/dbt/bin/dbt
    warm: false
    commands: ["dbt seed", "dbt build --select tag:nightly"]
    generate_docs: true
    schedule: {{cron: "0 2 * * *", timezone: Europe/Berlin}}
    env: {{DBT_ENV_CUSTOM_ENV_team: analytics, DBT_ENV_SECRET_KEY: s3cr3t, TOKEN: "${{TOKEN}}"}}
    timeout_minutes: 60
    sla: {{finish_by: "07:00", max_minutes: 45, slower_than_usual: 2.5, missed: true}}
    enabled: false
    hooks:
      - {{type: webhook, url: "https://example.invalid/dbt", secret: whsec, header: X-Sig,
         events: [errored, succeeded], name: ops}}
      - {{type: slack, url: "https://hooks.slack.com/services/T0/B0/xyz"}}
      - {{type: pagerduty, routing_key: R0UTINGKEY, events: [errored, cancelled]}}
      - {{type: command, argv: [/usr/local/bin/page-me, --loud]}}
  - name: local-pull
    project_dir: /srv/checkout
    pull: true
    commands: ["dbt run"]
  - name: from-git
    git: {{url: "{remote}", branch: feature/a, subdirectory: transform}}
    on_push: true
    commands: ["dbt build"]
  - name: private
    git: {{url: "https://ci:t0ken@example.invalid/a.git"}}
    commands: ["dbt build"]
  - name: chained
    project_dir: /srv/analytics
    after: nightly
    on: [success, error]
    commands: ["dbt test"]
  - name: pr
    git: {{url: "{remote}"}}
    ci:
      defer_to: nightly
      branches: [feature/*, fix/*]
      report: {{type: gitlab, repo: acme/analytics, token: glpat-s3cr3t,
               api_url: "https://gitlab.example.invalid/api/v4"}}
    commands: ["dbt build --select state:modified+ --exclude tag:slow"]
  - name: pr-default
    git: {{url: "{remote}"}}
    ci: {{defer_to: nightly, branches: "feature/*"}}
"""


def every_field_file(tmp_path):
    remote, _ = branch_remote(tmp_path, "feature/a")
    return write_jobs(tmp_path / "jobs.yml", EVERY_FIELD.format(remote=remote))


@pytest.mark.real
def test_the_file_above_uses_every_field_the_jobs_file_accepts(tmp_path):
    used = set()
    for job in load_jobs_file(every_field_file(tmp_path)):
        data = job_to_dict(job)
        for f in FIELDS:
            group, _, key = f.path.partition(".")
            if group in data and (not key or key in data[group]):
                used.add(f.path)
    assert used == {f.path for f in FIELDS}


@pytest.mark.real
def test_form_values_give_back_every_job_exactly(tmp_path):
    for job in load_jobs_file(every_field_file(tmp_path)):
        data, problems = from_form(to_form(job), job)
        assert problems == [], job.name
        assert job_to_dict(job_from_dict(data)) == job_to_dict(job), job.name


@pytest.mark.real
def test_the_form_never_shows_a_secret(tmp_path):
    values = {j.name: to_form(j) for j in load_jobs_file(every_field_file(tmp_path))}
    shown = repr(values)
    for secret in ("s3cr3t", "whsec", "T0/B0/xyz", "R0UTINGKEY", "t0ken"):
        assert secret not in shown, secret
    assert "${TOKEN}" in shown  # a reference is not a secret


async def until(pilot, condition, what: str, rounds: int = 400) -> None:
    for _ in range(rounds):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def new_job_form(pilot) -> JobFormScreen:
    """`n` on the jobs screen, and the form it opens once it is up."""
    await pilot.press("n")
    await until(pilot, lambda: isinstance(pilot.app.screen, JobFormScreen), "the form")
    return pilot.app.screen


@pytest.mark.real
def test_saving_each_job_unchanged_from_the_form_leaves_the_export_identical(
        home, tmp_path):
    assert binary(home, "jobs", "import", str(every_field_file(tmp_path))).code == 0
    before = binary(home, "jobs", "export", "--include-secrets").out
    names = [j.name for j in load_jobs_file(tmp_path / "jobs.yml")]

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(120, 50)) as pilot:
            for name in names:
                table = app.screen.query_one("#jobs")
                table.cursor = list(table.rows).index(name)
                await pilot.press("e")
                await until(pilot, lambda: isinstance(app.screen, JobFormScreen), "the form")
                form = app.screen
                assert form.original.name == name
                # The remote check a typed URL starts after a pause, run now: saving
                # must not depend on whether it came first (a CI job has no branch of
                # its own to find; the check once asked the remote for 'main').
                # (The form's own timer may start one too and cancel this one: wait for
                # every remote check to end, cancelled or not.)
                form.check_remote()
                await until(pilot, lambda: all(w.is_finished for w in app.workers
                                               if w.group == "remote"), "the remote check")
                await pilot.press("ctrl+s")
                await until(pilot, lambda f=form: app.screen is not f,
                            f"{name} to be saved (problems: {form.problems})")

    asyncio.run(scenario())
    assert binary(home, "jobs", "export", "--include-secrets").out == before


@pytest.mark.real
def test_form_and_import_refuse_an_unknown_upstream_and_a_missing_project(home, tmp_path):
    bad = """
jobs:
  - name: late
    project_dir: /srv/analytics
    after: nosuchjob
    commands: ["dbt build"]
  - name: lost
    project_dir: /nowhere/at/all
    commands: ["dbt build"]
"""
    result = binary(home, "jobs", "import", str(write_jobs(tmp_path / "bad.yml", bad)))
    assert result.code == 2
    assert "job 'late': after: no job named 'nosuchjob'" in result.err
    assert "job 'lost': project_dir: /nowhere/at/all does not exist" in result.err
    assert binary(home, "jobs", "list", "--json").out.strip() == "[]"

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(120, 50)) as pilot:
            form = await new_job_form(pilot)
            form.query_one("#f-name").value = "late"
            form.query_one("#f-project_dir").value = "/nowhere/at/all"
            form.query_one("#f-after").value = "nosuchjob"
            await until(pilot, lambda: any("nosuchjob" in p for p in form.problems),
                        "the form to check what was typed")
            assert any("after: no job named 'nosuchjob'" in p for p in form.problems), \
                form.problems
            assert any("/nowhere/at/all does not exist" in p for p in form.problems)
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.screen is form

    asyncio.run(scenario())
    assert binary(home, "jobs", "list", "--json").out.strip() == "[]"


@pytest.mark.unit
def test_at_80x24_every_checkbox_shows_its_box_whole(home):
    from textual.widgets import Checkbox

    async def scenario():
        app = DbtConsoleApp(resolve_paths(), start_engine=False)
        async with app.run_test(size=(80, 24)) as pilot:
            form = await new_job_form(pilot)
            await until(pilot, lambda: list(form.query(Checkbox)), "the form's checkboxes")
            drawn = {cb.id: cb.render_line(0).text for cb in form.query(Checkbox)}
            assert drawn and all(("▐X▌" in t or "▐ ▌" in t) and "…" not in t
                                 for t in drawn.values()), drawn

    asyncio.run(scenario())


@pytest.mark.unit
def test_every_one_line_fields_label_fits_the_forms_label_column():
    """At 80x24 a longer label was cut ('alert: late unless a'); what does not fit goes
    in the field's placeholder."""
    from dbt_console.tui.screens.job_form import AREAS

    long = [f.label for f in FIELDS if f.kind not in AREAS and len(f.label) > 20]
    assert not long, long
