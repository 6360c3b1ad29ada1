"""The dashboard app: the jobs screen first, the engine found or started in the
background, global keys."""

from __future__ import annotations

import socket
import time
from dataclasses import replace
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding

from dbt_console import actions, prefs
from dbt_console.actions import connect
from dbt_console.actions.engine import START_SECONDS
from dbt_console.config import Paths
from dbt_console.errors import UserError
from dbt_console.tui import palette, status_styles, terminal
from dbt_console.tui.keys import OrderedKeys
from dbt_console.tui.screens.jobs import JobsScreen

ENGINE_CHECK_SECONDS = 2.0


class DbtConsoleApp(OrderedKeys, App):
    CSS_PATH = Path(__file__).parent / "app.tcss"  # absolute: subclasses live anywhere
    TITLE = "dbt-console"
    BINDINGS = [
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, paths: Paths, start_engine: bool = True):
        self.colours = terminal.colours()
        self.output = terminal.OutputMeter()  # (Textual asks for the driver class in init)
        # Named colours stay the terminal's own in 16 colours (a theme's truecolour mapped
        # back to 16 showed an error magenta); under NO_COLOR this makes Textual drop
        # colour outright rather than draw in greys.
        super().__init__(ansi_color=self.colours != terminal.FULL)
        self.prefs, self._prefs_warning = prefs.load()
        self.theme = self._theme_for(self.prefs.theme)
        self.status_styles = status_styles.Styles(self.colours, self.get_css_variables())
        self.paths = paths
        self.ctx = connect(paths, "dashboard")
        self.start_engine = start_engine
        self._spawned: tuple[int, float] | None = None  # (pid, when) of the one started here
        self.background_pid: int | None = None

    def _theme_for(self, saved: str | None) -> str:
        light = saved is not None and saved in self.available_themes and not (
            self.available_themes[saved].dark)
        if self.colours != terminal.FULL:
            return "ansi-light" if light else "ansi-dark"
        return saved if saved in self.available_themes else "textual-dark"

    def copy_to_clipboard(self, text: str) -> None:
        # An empty copy (ctrl+c with nothing selected) would wipe the user's own clipboard
        # in terminals that take OSC 52 from the remote end.
        if text:
            super().copy_to_clipboard(text)

    def get_driver_class(self):
        return terminal.driver_for(super().get_driver_class(), self.output)

    def get_css_variables(self) -> dict[str, str]:
        """The theme's, and ours: its text colours made readable on its backgrounds."""
        variables = super().get_css_variables()
        return {**variables, **palette.palette(variables)}

    def _theme_chosen(self, theme) -> None:
        """Statuses in the new theme's colours; the choice kept for the next time (ctrl+p,
        "Change theme")."""
        self.status_styles.choose(self.colours, self.get_css_variables())
        if theme.name != self.prefs.theme:
            self.prefs = replace(self.prefs, theme=theme.name)
            try:
                prefs.save(self.prefs)
            except OSError as exc:
                self.notify(f"the theme is not saved: {exc}", severity="warning")

    def get_default_screen(self) -> JobsScreen:
        return JobsScreen()  # the base of the stack: no blank screen composed beneath it

    def on_mount(self) -> None:
        me = actions.team.whoami(self.ctx)
        # Who you are here: the keys your role does not allow say so when pressed.
        self.title = f"dbt-console · {me.name} ({me.role or 'no role'})"
        self.sub_title = "engine: looking..."
        # After the first frame: finding (or starting) the engine is not start-up's job.
        self.set_timer(0.05, self.check_engine)
        self.set_interval(ENGINE_CHECK_SECONDS, self.check_engine)
        self.set_timer(1.0, calm_collector)
        self.theme_changed_signal.subscribe(self, self._theme_chosen)
        if self._prefs_warning:
            self.notify(self._prefs_warning, severity="warning", timeout=10)

    def check_engine(self) -> None:
        """Say which engine runs the store. None alive: start one in the background when
        the dashboard opens, and later when a run waits for one (a background engine goes
        away when idle; one stopped on purpose stays stopped until there is work)."""
        holder = actions.status.engine(self.ctx)
        if holder is None and self._may_start_engine():
            started = self.attempt(actions.engine.start_background, self.ctx)
            if started is not None:
                self._spawned = (started.pid, time.monotonic())
                holder = started.holder
        self.background_pid = holder.pid if holder and holder.kind == "background" else None
        if holder is not None:
            where = "" if holder.host == socket.gethostname() else f" on {holder.host}"
            self.sub_title = (f"engine: pid {holder.pid}{where} in background"
                              if self.background_pid else
                              f"engine: {holder.kind}{where} (pid {holder.pid})")
        elif self._spawned is not None:
            self.sub_title = f"engine: starting (pid {self._spawned[0]})..."
        else:
            self.sub_title = "engine: none (dbt-console engine start)"

    def _may_start_engine(self) -> bool:
        if not self.start_engine or getattr(self.ctx, "remote", None) is not None:
            return False  # a teammate (over the engine's socket) never starts one
        if self._spawned is not None:
            if time.monotonic() - self._spawned[1] < START_SECONDS:
                return False  # still starting
            return bool(actions.runs.queued(self.ctx))
        return True

    def get_system_commands(self, screen):
        """The command palette (ctrl+p): Textual's own commands, then ours for each job."""
        from functools import partial

        from textual.app import SystemCommand

        yield from super().get_system_commands(screen)
        yield SystemCommand("New job", "create a job with the job form", self.open_job_form)
        yield SystemCommand("All runs", "the history of every job",
                            partial(self.open_history, None))
        for job in actions.jobs.list_all(self.ctx):
            yield SystemCommand(f"Run {job.name} now", "queue a manual run",
                                partial(self.run_now, job.name))
            yield SystemCommand(f"Open latest run of {job.name}", "its log and nodes",
                                partial(self.open_latest_run, job.name))
            yield SystemCommand(f"History of {job.name}", "its runs, newest first",
                                partial(self.open_history, job.name))

    def attempt(self, action, *args):
        """Do an action; a refusal (someone deleted or changed it meanwhile) becomes a
        visible message, never a crash. Returns the action's result, or None if refused."""
        try:
            return action(*args)
        except UserError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return None

    def refused(self, action_name: str, job: str | None = None) -> bool:
        """Say so now when the user's role does not allow an action (a form would only be
        refused when saved)."""
        why = self.attempt(actions.team.may, self.ctx, action_name, job)
        if why:
            self.notify(f"not allowed: {why}", severity="error", timeout=8)
        return bool(why)

    def run_now(self, name: str, branch: str | None = None) -> None:
        """Queue a run of a job; of a CI job, a run of the branch at its head on the remote
        (asked for off the event loop: it is a git ls-remote)."""
        job = self.attempt(actions.jobs.get, self.ctx, name)
        if job is None:
            return
        if job.ci is not None and branch is None:
            self.notify(f"{name} is a CI job: its runs come from branches. Pick a branch row "
                        f"under it, or: dbt-console run {name} --branch BRANCH",
                        severity="warning", timeout=8)
            return
        if job.ci is None:
            self._queued(self.attempt(actions.runs.run_now, self.ctx, name), branch)
        else:
            self._run_branch(name, branch)

    @work(thread=True, group="run-now")
    def _run_branch(self, name: str, branch: str) -> None:
        with self.ctx.fork() as ctx:
            try:
                run = actions.runs.run_now(ctx, name, branch)
            except UserError as exc:
                self.call_from_thread(self.notify, str(exc), severity="error", timeout=8)
                return
        self.call_from_thread(self._queued, run, branch)

    def _queued(self, run, branch: str | None) -> None:
        """Say so, and open the new run: starting a run is mostly to watch it."""
        if run is not None:
            self.notify(f"run {run.id} of {run.job_name}{' on ' + branch if branch else ''} "
                        "queued")
            self.open_run(run.id)

    def open_run(self, run_id: int) -> None:
        from dbt_console.tui.screens.run import RunScreen

        self.push_screen(RunScreen(run_id))

    def open_latest_run(self, name: str, branch: str | None = None) -> None:
        from dbt_console.tui.screens.run import RunScreen

        run = actions.runs.latest(self.ctx, name, branch)
        if run is not None:
            self.push_screen(RunScreen(run.id))
        else:
            self.notify(f"{name} has no runs yet", severity="warning")

    def open_history(self, name: str | None) -> None:
        from dbt_console.tui.screens.history import HistoryScreen

        self.push_screen(HistoryScreen(name))

    def open_job_form(self) -> None:
        from dbt_console.tui.screens.job_form import JobFormScreen

        self.push_screen(JobFormScreen())

    def action_help(self) -> None:
        from dbt_console.tui.screens.help import HelpScreen

        HelpScreen.open(self)

    def on_unmount(self) -> None:
        self.ctx.close()


def calm_collector() -> None:
    """Python's full garbage collections walk every object alive: with a big run open
    that held the screen for 50-60 ms now and then, the longest pauses it had. What the
    app made while starting lives as long as it does: frozen, out of the collector's way;
    and collections come ten times less often (a frame makes thousands of short-lived
    objects; the longest pause of benchmarks/tui.py's 5,000-node run went 64 -> 28 ms)."""
    import gc

    gc.freeze()
    gc.set_threshold(7000, 10, 100)  # Python's defaults: 700, 10, 10


def run_app(paths: Paths, mouse: bool = True) -> int:
    """The dashboard in this terminal; `mouse` False (--no-mouse, or mouse = false in
    dashboard.toml) leaves the mouse to the terminal: its own selection and paste."""
    import sys

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserError("the dashboard needs a terminal; for scripts use the commands "
                        "(dbt-console --help)")
    app = DbtConsoleApp(paths)
    app.run(mouse=app.prefs.mouse and mouse)
    if app.background_pid is not None:  # quitting stopped nothing: say so
        sys.stderr.write(f"dbt-console: the engine keeps running in the background (pid "
                         f"{app.background_pid}); it stops when idle, or: dbt-console "
                         "engine stop\n")
    return 0
