"""`t` on a run: its nodes on a time axis, and the job's duration over its last runs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Label, Static

from dbt_console import actions, humanize
from dbt_console.tui.keys import KeysWhenReady
from dbt_console.tui.widgets.footer import footer
from dbt_console.tui.widgets.timing_chart import gantt, trend

TREND_RUNS = 30


class TimingScreen(KeysWhenReady, Screen):
    HELP_TITLE = "timing"
    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, run_id: int):
        super().__init__()
        self.run_id = run_id

    def compose(self) -> ComposeResult:
        ctx = self.app.ctx
        run = actions.runs.get(ctx, self.run_id)
        finished = [r for r in actions.runs.history(ctx, run.job_name, limit=TREND_RUNS)
                    if r.duration is not None][::-1]
        durations = [r.duration for r in finished]
        yield Header()
        yield Label(f"run {run.id} of {run.job_name}: nodes by start time; bars are to scale",
                    classes="form-title")
        if durations:
            ordered = sorted(durations)
            yield Label(f"duration of the last {len(durations)} finished runs: "
                        f"min {humanize.duration(ordered[0])}, "
                        f"median {humanize.duration(ordered[len(ordered) // 2])}, "
                        f"max {humanize.duration(ordered[-1])}")
            yield Static(trend(durations), id="trend")
        with VerticalScroll():
            yield Static(gantt(actions.runs.node_results(ctx, self.run_id), self.app.size.width,
                               self.app.status_styles), id="gantt")
        yield footer()
