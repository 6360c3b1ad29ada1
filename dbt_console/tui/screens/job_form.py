"""Create or edit a job from the keyboard: every field of jobfields.FIELDS, checked as you
type with the same rules as a jobs file (actions.jobs applies the ones that need the
store); an invalid job is never saved, and a job someone else saved since it was opened
is not overwritten."""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Checkbox, Header, Input, Label, Static, TextArea

from dbt_console import actions, humanize
from dbt_console.errors import UserError, ValidationError
from dbt_console.jobfields import FIELDS, Field
from dbt_console.jobrules import job_from_dict
from dbt_console.jobtext import from_form, to_form
from dbt_console.model import Job
from dbt_console.tui.keys import KeysWhenReady
from dbt_console.tui.widgets.footer import footer

CHECK_DELAY = 0.15
REMOTE_CHECK_DELAY = 0.8
AREAS = ("lines", "env", "yaml", "mapping")


def widget_id(f: Field) -> str:
    return "f-" + f.path.replace(".", "-")


class DefaultArea(TextArea):
    """A new job's default (`dbt build`), selected when first reached: what is typed then
    replaces it instead of landing in front of it. On the box's own focus event, which
    comes before any key typed into it."""

    _selected_once = False

    def on_focus(self) -> None:
        if not self._selected_once:
            self._selected_once = True
            self.select_all()


class JobFormScreen(KeysWhenReady, Screen[bool]):
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
        self.initial: dict[str, str | bool] = {}

    @property
    def ctx(self):
        return self.app.ctx

    def compose(self) -> ComposeResult:
        values = to_form(self.original)
        yield Header()
        with VerticalScroll(id="form"):
            yield Label(f"edit job {self.original.name}" if self.original else "new job",
                        classes="form-title")
            for f in FIELDS:
                yield from self._field(f, values[f.path])
        yield Static(id="feedback")
        yield footer()

    def _field(self, f: Field, value: str | bool) -> ComposeResult:
        if f.kind in AREAS:
            yield Label(f.label, classes="field-label")
            area = DefaultArea if self.original is None and value else TextArea
            yield area(str(value), id=widget_id(f), classes="small-area")
            return
        with Horizontal(classes="field"):
            yield Label(f.label, classes="field-label")
            if f.kind == "bool":
                yield Checkbox(value=bool(value), id=widget_id(f))
            else:
                yield Input(str(value), placeholder=f.placeholder, id=widget_id(f))

    def on_mount(self) -> None:
        self.query_one("#f-name", Input).focus()
        self.initial = self.values()
        self.check()

    def values(self) -> dict[str, str | bool]:
        out: dict[str, str | bool] = {}
        for f in FIELDS:
            widget = self.query_one(f"#{widget_id(f)}")
            out[f.path] = widget.text if isinstance(widget, TextArea) else widget.value
        return out

    def on_input_changed(self, event: Input.Changed) -> None:
        self._schedule_check(event.input.id in ("f-git-url", "f-git-branch"))

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._schedule_check(False)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
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
        data, problems = from_form(self.values(), self.original)
        try:
            job = job_from_dict(data, where="job")
            actions.jobs.check_in_store(self.ctx, [job])
        except ValidationError as exc:
            return None, problems + exc.problems
        if problems:
            return None, problems
        return job, []

    def check(self) -> None:
        job, problems = self.build()
        notes: list[str] = []
        if job is not None:
            if job.git and self.remote_problem:
                problems.append(f"git: {self.remote_problem}")
            if job.schedule:
                fires, at = [], None
                for _ in range(3):
                    at = actions.jobs.next_fire(replace(job, enabled=True), at)
                    fires.append(humanize.fire_time(at, job.schedule))
                notes.append(f"{humanize.schedule_words(job.schedule)}; next: "
                             + ", ".join(fires)
                             + ("" if job.enabled else " (once enabled)"))
            elif job.ci is None:
                notes.append("no schedule: runs only when asked")
        self.problems = problems
        text = Text()
        for problem in problems:
            text.append(f"✗ {problem}\n", style=self.app.status_styles.strong("error"))
        for note in notes:
            text.append(f"{note}\n", style=self.app.status_styles.role["success"])
        if not problems:
            text.append("✓ ready to save (ctrl+s)", style=self.app.status_styles.role["success"])
        self.query_one("#feedback", Static).update(text)

    @work(thread=True, exclusive=True, group="remote")
    def check_remote(self) -> None:
        values = self.values()
        url, branch = str(values["git.url"]).strip(), str(values["git.branch"]).strip()
        if not url or url.startswith(("http://***@", "https://***@")):
            return  # a masked URL is the job's own, already checked when it was saved
        # A CI job runs the branches pushed to it, not one of its own: the repository
        # must answer, whichever branches it has.
        ci = bool(str(values["ci.defer_to"]).strip())
        problem = actions.jobs.check_remote(url, None if ci else branch or "main")
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
                actions.jobs.create(self.ctx, job)
            else:
                actions.jobs.update(self.ctx, job, self.original)
        except UserError as exc:  # a name taken, or someone else saved it first
            self.notify(f"not saved: {exc}", severity="error", timeout=10)
            return
        self.notify(f"job {job.name} saved")
        self.dismiss(True)

    def action_cancel(self) -> None:
        """Leave; with changes made, only once the user says to throw them away."""
        from dbt_console.tui.screens.confirm import ConfirmScreen

        if self.values() == self.initial:
            self.dismiss(False)
            return
        what = f"job {self.original.name}" if self.original else "the new job"

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(False)

        self.app.push_screen(ConfirmScreen(f"Discard your changes to {what}? Nothing has "
                                           "been saved."), answered)
