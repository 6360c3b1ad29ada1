"""The first screen: every job, its schedule in words, next fire, last run and history,
and under each CI job a row per open branch with that branch's latest result. Refreshed
from the store's change signal; rows are updated in place, never rebuilt."""

from __future__ import annotations

import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Header

from dbt_console import actions, humanize
from dbt_console.ci.compare import differing_words
from dbt_console.errors import UserError
from dbt_console.model import Job, Run
from dbt_console.tui.keys import KeysWhenReady
from dbt_console.tui.screens import covered
from dbt_console.tui.status_styles import Styles
from dbt_console.tui.widgets.footer import footer
from dbt_console.tui.widgets.row_list import RowList

# The schedule in words is long: it goes last, so a narrow terminal loses only its end.
COLUMNS = ("job", "state", "last run", "took", "history", "next fire", "cron", "schedule")
REFRESH_SECONDS = 0.5
NARROW = 120
# A branch row's key: the job's name, this, the branch (a job name never holds it).
BRANCH_SEP = "@"


def status_text(run: Run | None, styles: Styles) -> Text:
    if run is None:
        return Text("never run", style="dim")
    return Text(f"#{run.id} {run.status.value}", style=styles.run.get(run.status.value, ""))


class JobsScreen(KeysWhenReady, Screen):
    HELP_TITLE = "jobs"
    BINDINGS = [
        Binding("enter,l", "open_run", "Open", tooltip="Open the job's latest run"),
        Binding("r", "run_now", "Run", tooltip="Run the job now and open the run"),
        Binding("R", "rerun", "Rerun (retry if failed)", show=False),
        Binding("space", "toggle_pause", "Pause", tooltip="Pause or resume the job"),
        Binding("n", "new_job", "New"),
        Binding("e", "edit_job", "Edit"),
        Binding("d", "delete_job", "Delete"),
        Binding("h", "history", "History"),
        Binding("H", "history_all", "All runs", show=False),
        Binding("a", "audit", "Audit log", show=False),
        Binding("T", "test_hooks", "Test hooks", show=False,
                tooltip="Send a sample failure to each of the job's hooks, and say how it went"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield RowList(list(COLUMNS), id="jobs")
        yield footer()

    def on_mount(self) -> None:
        self._version: int | None = None
        # The first frame shows the jobs at once; schedules in words and next fires (two
        # libraries to import, a computation per job) follow right after it.
        self._schedules_ready = False
        self.table.focus()
        self.refresh_jobs()
        self.call_after_refresh(self._fill_schedules)
        self.set_interval(REFRESH_SECONDS, self.refresh_jobs)

    def on_resize(self, event) -> None:
        # The schedule in words says what the cron says: at 80 columns it is the one kept.
        self.table.hide_columns({"cron"} if event.size.width < NARROW else set())

    def on_screen_resume(self) -> None:
        """Back from a form or a run: our own changes move no data_version (it counts
        other connections' commits), so look again."""
        if self._version is not None:  # after the table as it was is on screen again
            self.call_after_refresh(self.refresh_jobs, True)

    def _fill_schedules(self) -> None:
        self._schedules_ready = True
        self.refresh_jobs(force=True)

    @property
    def ctx(self):
        return self.app.ctx

    @property
    def table(self) -> RowList:
        return self.query_one("#jobs", RowList)

    def refresh_jobs(self, force: bool = False) -> None:
        if self._version is not None and covered(self):
            return
        version = actions.status.data_version(self.ctx)
        if version == self._version and not force:
            return
        self._version = version
        rows = []
        for row in actions.jobs.overview(self.ctx):
            rows.append((row.job.name, self._row(row.job, row.last, row.recent, row.alert)))
            rows.extend(self._branch_rows(row.job, row.branches))
        self.table.set_rows(rows)

    def _branch_rows(self, job: Job, branches) -> list[tuple]:
        """A row per branch still on the remote that has run: its latest result."""
        rows = []
        for b in branches:
            run = b.run
            if run is None:
                continue
            # Most telling first: a narrow terminal cuts the end.
            notes = [f"PR {b.reported}"] if b.reported else []
            if b.differing is not None:
                notes.append(differing_words(b.differing))
            notes.append(f"at {(run.git_sha or '')[:10]}" + (
                f", head now {b.head[:10]}" if b.head and b.head != run.git_sha else ""))
            rows.append((f"{job.name}{BRANCH_SEP}{b.branch}", (
                Text(f" └ {b.branch}", style="dim"), "", status_text(run, self.app.status_styles),
                humanize.duration(run.duration), "", "", "", "; ".join(notes))))
        return rows

    def _row(self, job: Job, last: Run | None, history, alert: str | None = None) -> tuple:
        if self._schedules_ready:
            nxt = actions.jobs.next_fire(job)
            words = humanize.schedule_words(job.schedule, zone=False)
            fire = humanize.fire_time(nxt, job.schedule, short=True)
        else:
            words = "…" if job.schedule else "manual only"
            fire = "…" if job.enabled and job.schedule else "-"
        if job.ci is not None:
            words = (f"CI of {', '.join(job.ci.branches)} against {job.ci.defer_to}"
                     + ("" if job.enabled else " (paused)"))
        took = last.duration if last is not None else None
        if last is not None and last.finished_at is None and last.started_at:
            took = time.time() - last.started_at
        styles = self.app.status_styles
        return (
            job.name,
            "enabled" if job.enabled else Text("paused", style=styles.role["warning"]),
            status_text(last, styles) if alert is None else Text.assemble(
                status_text(last, styles), Text(f" ! {alert}", style=styles.strong("warning"))),
            humanize.duration(took),
            humanize.history_strip(history),
            fire,
            job.schedule.cron if job.schedule else "-",
            words,
        )

    def selected_job(self) -> str | None:
        """The job under the cursor; None, and a message, when the row the user chose was
        taken away by a refresh (deleted or renamed elsewhere) since they last moved."""
        lost = self.table.lost_key
        if lost is not None:
            self.table.lost_key = None
            self.notify(f"job {lost.split(BRANCH_SEP, 1)[0]!r} is gone: deleted or renamed "
                        "by someone else; nothing was done", severity="error", timeout=8)
            return None
        key = self.table.cursor_key
        return None if key is None else key.split(BRANCH_SEP, 1)[0]

    def selected_branch(self) -> str | None:
        """The CI branch of the row under the cursor, if it is a branch row."""
        key = self.table.cursor_key or ""
        return key.split(BRANCH_SEP, 1)[1] if BRANCH_SEP in key else None

    def action_run_now(self) -> None:
        name = self.selected_job()
        if name is not None:
            self.app.run_now(name, self.selected_branch())

    def action_rerun(self) -> None:
        name = self.selected_job()
        done = self.app.attempt(actions.runs.rerun, self.ctx, name) if name else None
        if done is not None:
            run, note = done
            self.notify(f"run {run.id} of {name} queued: {note}")
            self.app.open_run(run.id)

    def action_test_hooks(self) -> None:
        name = self.selected_job()
        if name is not None and not self.app.refused("notify.test_hooks", name):
            self.notify(f"sending a sample failure to each hook of {name}…", timeout=3)
            self._test_hooks(name)

    @work(thread=True, group="hooks-test")
    def _test_hooks(self, name: str) -> None:
        """Off the event loop: each hook may take its timeout to answer."""
        try:
            with self.ctx.fork() as ctx:
                results = actions.notify.test_hooks(ctx, name)
        except UserError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="warning", timeout=8)
            return
        failed = any(not r.delivered for r in results)
        self.app.call_from_thread(self.notify, "\n".join(r.summary() for r in results),
                                  severity="error" if failed else "information", timeout=15)

    def action_toggle_pause(self) -> None:
        name = self.selected_job()
        job = self.app.attempt(actions.jobs.get, self.ctx, name) if name else None
        job = job and self.app.attempt(actions.jobs.set_enabled, self.ctx, name,
                                       not job.enabled)
        if job is not None:
            self.notify(f"{name} {'resumed' if job.enabled else 'paused'}")
        self.refresh_jobs(force=True)

    def action_new_job(self) -> None:
        if not self.app.refused("jobs.create"):
            self.app.open_job_form()

    def action_edit_job(self) -> None:
        from dbt_console.tui.screens.job_form import JobFormScreen

        name = self.selected_job()
        if name is None or self.app.refused("jobs.update", name):
            return
        job = self.app.attempt(actions.jobs.get, self.ctx, name)
        if job is not None:
            self.app.push_screen(JobFormScreen(job), lambda _: self.refresh_jobs(force=True))

    def action_delete_job(self) -> None:
        from dbt_console.tui.screens.confirm import ConfirmScreen

        name = self.selected_job()
        if name is None or self.app.refused("jobs.delete", name):
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                actions.jobs.delete(self.ctx, name)
            except UserError as exc:  # deleted by someone else meanwhile
                self.notify(str(exc), severity="error")
            else:
                self.notify(f"deleted {name}; its past runs are kept")
            self.refresh_jobs(force=True)

        self.app.push_screen(ConfirmScreen(f"Delete job {name}? Its past runs are kept."),
                             answered)

    def action_history(self) -> None:
        self.app.open_history(self.selected_job())

    def action_audit(self) -> None:
        from dbt_console.tui.screens.audit import AuditScreen

        self.app.push_screen(AuditScreen())

    def action_history_all(self) -> None:
        self.app.open_history(None)

    def on_row_list_selected(self, event: RowList.Selected) -> None:
        self.action_open_run()

    def action_open_run(self) -> None:
        name = self.selected_job()
        if name is not None:
            self.app.open_latest_run(name, self.selected_branch())
