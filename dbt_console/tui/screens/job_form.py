"""Create or edit a job from the keyboard. Checked as you type with the same rules as a
jobs file; an invalid job is never saved, and a job someone else saved since it was opened
is not overwritten."""

from __future__ import annotations

import os
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label, Static, TextArea

from dbt_console import humanize
from dbt_console.errors import UserError, ValidationError
from dbt_console.model import Job, job_from_dict, job_to_dict

CHECK_DELAY = 0.15
REMOTE_CHECK_DELAY = 0.8

FIELDS = [  # (id, label, placeholder)
    ("name", "name", "nightly"),
    ("description", "description", "what this job is for"),
    ("project_dir", "project dir", "/srv/analytics (or use git url below)"),
    ("git_url", "git url", "git@github.com:acme/analytics.git"),
    ("git_branch", "git branch", "main"),
    ("git_subdirectory", "git subdirectory", ""),
    ("profiles_dir", "profiles dir", "default: the project dir if it has profiles.yml"),
    ("target", "target", "prod"),
    ("cron", "schedule (cron)", "0 2 * * *   (empty: run by hand only)"),
    ("timezone", "timezone", "UTC"),
    ("timeout_minutes", "timeout (minutes)", "empty: none"),
    ("after", "run after job", "empty: not chained"),
    ("on", "after statuses", "success"),
]


def form_values(job: Job | None) -> dict[str, str]:
    if job is None:
        return {"timezone": "UTC", "git_branch": "main"}
    d = job_to_dict(job)
    git = d.get("git") or {}
    return {
        "name": job.name, "description": job.description,
        "project_dir": job.project_dir or "", "git_url": git.get("url", ""),
        "git_branch": git.get("branch", "main"), "git_subdirectory": git.get("subdirectory", ""),
        "profiles_dir": job.profiles_dir or "", "target": job.target or "",
        "cron": job.schedule.cron if job.schedule else "",
        "timezone": job.schedule.timezone if job.schedule else "UTC",
        "timeout_minutes": str(job.timeout_minutes or ""),
        "after": job.after or "", "on": ", ".join(job.after_statuses) if job.after else "",
        "commands": "\n".join(job.commands),
        "env": "\n".join(f"{k}={v}" for k, v in job.env.items()),
        "hooks": _hooks_yaml(job),
    }


def _hooks_yaml(job: Job) -> str:
    """The job's hooks as YAML, secrets masked: the form never shows one."""
    import yaml

    from dbt_console.jobspec import public_dict

    hooks = public_dict(job)["hooks"]
    return yaml.safe_dump(hooks, sort_keys=False, default_flow_style=False) if hooks else ""


def form_to_dict(values: dict[str, str], original: Job | None) -> tuple[dict[str, Any], list[str]]:
    """The job's plain data from the form's text, and problems the text itself has."""
    problems: list[str] = []
    v = {k: values.get(k, "").strip() for k in values}
    data: dict[str, Any] = {"name": v.get("name", "")}
    for key in ("description", "profiles_dir", "target", "after"):
        if v.get(key):
            data[key] = v[key]
    if v.get("project_dir"):
        data["project_dir"] = os.path.expanduser(v["project_dir"])
    if v.get("git_url"):
        data["git"] = {"url": v["git_url"], "branch": v.get("git_branch") or "main",
                       "subdirectory": v.get("git_subdirectory", "")}
    data["commands"] = [c.strip() for c in values.get("commands", "").splitlines() if c.strip()]
    if v.get("cron"):
        data["schedule"] = {"cron": v["cron"], "timezone": v.get("timezone") or "UTC"}
    if v.get("timeout_minutes"):
        try:
            data["timeout_minutes"] = int(v["timeout_minutes"])
        except ValueError:
            problems.append(f"timeout_minutes: {v['timeout_minutes']!r} is not a whole number")
    if v.get("on"):
        data["on"] = [s.strip() for s in v["on"].split(",") if s.strip()]
    env: dict[str, str] = {}
    for n, line in enumerate(values.get("env", "").splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep:
            problems.append(f"env line {n}: expected NAME=value, got {line.strip()!r}")
        else:
            env[key.strip()] = value
    if env:
        data["env"] = env
    hooks_text = values.get("hooks", "")
    if hooks_text.strip():
        import yaml

        try:
            hooks = yaml.safe_load(hooks_text)
        except yaml.YAMLError as exc:
            problems.append(f"hooks: not valid YAML: {getattr(exc, 'problem', exc)}")
            hooks = []
        if isinstance(hooks, list):
            data["hooks"] = [_keep_secrets(h, i, original) for i, h in enumerate(hooks)]
        else:
            problems.append("hooks: a YAML list of hooks, e.g. - {type: slack, url: ...}")
    if original is not None:  # what the form does not edit is kept as it was
        data["enabled"] = original.enabled
        if original.pull:
            data["pull"] = True
        if original.dbt_path:
            data["dbt_path"] = original.dbt_path
        if not original.warm:
            data["warm"] = False
        if original.generate_docs:
            data["generate_docs"] = True
        if original.on_push and "git" in data:
            data["on_push"] = True
    return data, problems


def _keep_secrets(hook: Any, index: int, original: Job | None) -> Any:
    """A secret left masked in the form keeps the value the job already has."""
    from dbt_console.jobspec import HOOK_SECRETS
    from dbt_console.model import SECRET_MASK

    if not isinstance(hook, dict) or original is None or index >= len(original.hooks):
        return hook
    before = original.hooks[index]
    if before.type != hook.get("type"):
        return hook
    return {k: before.options.get(k, v) if k in HOOK_SECRETS and v == SECRET_MASK else v
            for k, v in hook.items()}


class JobFormScreen(Screen[bool]):
    HELP_TITLE = "job form"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, job: Job | None = None):
        super().__init__()
        self.original = job
        self.problems: list[str] = ["not checked yet"]
        self.remote_problem: str | None = None

    @property
    def store(self):
        return self.app.store

    def compose(self) -> ComposeResult:
        values = form_values(self.original)
        yield Header()
        with VerticalScroll(id="form"):
            yield Label(f"edit job {self.original.name}" if self.original else "new job",
                        classes="form-title")
            for field_id, label, placeholder in FIELDS:
                with Horizontal(classes="field"):
                    yield Label(label, classes="field-label")
                    yield Input(values.get(field_id, ""), placeholder=placeholder,
                                id=f"f-{field_id}")
            yield Label("commands, one dbt command a line", classes="field-label")
            yield TextArea(values.get("commands", "dbt build"), id="f-commands",
                           classes="small-area")
            yield Label("environment, NAME=value a line (${VAR} reads the engine's "
                        "environment)", classes="field-label")
            yield TextArea(values.get("env", ""), id="f-env", classes="small-area")
            yield Label("notification hooks, a YAML list (secrets stay masked: leave ******** "
                        "to keep one)", classes="field-label")
            yield TextArea(values.get("hooks", ""), id="f-hooks", classes="small-area")
        yield Static(id="feedback")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#f-name", Input).focus()
        self.check()

    def values(self) -> dict[str, str]:
        out = {f: self.query_one(f"#f-{f}", Input).value for f, _, _ in FIELDS}
        out["commands"] = self.query_one("#f-commands", TextArea).text
        out["env"] = self.query_one("#f-env", TextArea).text
        out["hooks"] = self.query_one("#f-hooks", TextArea).text
        return out

    def on_input_changed(self, event: Input.Changed) -> None:
        self._schedule_check(event.input.id in ("f-git_url", "f-git_branch"))

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._schedule_check(False)

    def _schedule_check(self, remote_changed: bool) -> None:
        if hasattr(self, "_timer"):
            self._timer.stop()
        self._timer = self.set_timer(CHECK_DELAY, self.check)
        if remote_changed:
            self.remote_problem = None
            if hasattr(self, "_remote_timer"):
                self._remote_timer.stop()
            self._remote_timer = self.set_timer(REMOTE_CHECK_DELAY, self.check_remote)

    def build(self) -> tuple[Job | None, list[str]]:
        data, problems = form_to_dict(self.values(), self.original)
        try:
            job = job_from_dict(data, where="job")
        except ValidationError as exc:
            return None, problems + exc.problems
        if problems:
            return None, problems
        return job, []

    def check(self) -> None:
        job, problems = self.build()
        values = self.values()
        notes: list[str] = []
        if job is not None:
            if job.project_dir:
                if not os.path.isdir(job.project_dir):
                    problems.append(f"project_dir: {job.project_dir} does not exist")
                elif not os.path.isfile(os.path.join(job.project_dir, "dbt_project.yml")):
                    problems.append(f"project_dir: no dbt_project.yml in {job.project_dir}")
            if job.git and self.remote_problem:
                problems.append(f"git: {self.remote_problem}")
            if job.schedule:
                from dbt_console.engine.scheduler import next_fire

                fires, at = [], None
                for _ in range(3):
                    at = next_fire(job.schedule, at)
                    fires.append(humanize.local_time(at)[:16])
                notes.append(f"{humanize.schedule_words(job.schedule)}; next: "
                             + ", ".join(fires))
            elif not values.get("cron", "").strip():
                notes.append("no schedule: runs only when asked")
        self.problems = problems
        text = Text()
        for problem in problems:
            text.append(f"✗ {problem}\n", style="bold red")
        for note in notes:
            text.append(f"{note}\n", style="green")
        if not problems:
            text.append("✓ ready to save (ctrl+s)", style="green")
        self.query_one("#feedback", Static).update(text)

    @work(thread=True, exclusive=True, group="remote")
    def check_remote(self) -> None:
        from dbt_console.engine.workspace import check_remote

        values = self.values()
        url, branch = values["git_url"].strip(), values["git_branch"].strip() or "main"
        if not url:
            return
        problem = check_remote(url, branch)
        self.app.call_from_thread(self._remote_checked, problem)

    def _remote_checked(self, problem: str | None) -> None:
        self.remote_problem = problem
        self.check()

    def action_save(self) -> None:
        self.check()
        job, _ = self.build()
        if self.problems or job is None:
            self.notify(f"not saved: {self.problems[0]}", severity="error", timeout=8)
            return
        try:
            if self.original is None:
                self.store.create_job(job)
            else:
                self.store.update_job(job, self.original.name, self.original.version)
        except UserError as exc:  # a name taken, or someone else saved it first
            self.notify(f"not saved: {exc}", severity="error", timeout=10)
            return
        self.notify(f"job {job.name} saved")
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
