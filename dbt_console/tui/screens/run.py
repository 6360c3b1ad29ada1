"""One run, live or past: its log streaming as dbt writes it, progress of nodes done out
of the total, and the nodes with their status and time. Updates come from the store's
change signal, so a run executed by a `serve` elsewhere updates as fast as our own."""

from __future__ import annotations

import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, ProgressBar, Static

from dbt_console import actions, humanize
from dbt_console.errors import UserError
from dbt_console.model import FAILED_NODE, SKIPPED_NODE, WARNED_NODE, Run
from dbt_console.tui import status_styles
from dbt_console.tui.keys import KeysWhenReady
from dbt_console.tui.widgets.log_view import LogView

POLL_SECONDS = 0.02  # one PRAGMA when nothing changed: cheap enough to ask often
def node_name(unique_id: str) -> str:
    """model.pkg.name -> name; test.pkg.name.hash -> name."""
    parts = unique_id.split(".")
    return parts[2] if len(parts) > 2 else unique_id


def seconds(value: float | None) -> str:
    return f"{value:.2f}s" if value else ""




class RunScreen(KeysWhenReady, Screen):
    HELP_TITLE = "run"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("c", "cancel_run", "Cancel run"),
        Binding("r", "retry", "Retry"),
        Binding("t", "timing", "Timing"),
        Binding("o", "docs", "Docs"),
    ]

    def __init__(self, run_id: int):
        super().__init__()
        self.run_id = run_id
        self._version: int | None = None
        self._nodes_seen = -1
        self._results: dict = {}
        self._reviewed = False
        self._failures = Text()
        self._docs_server = None

    @property
    def ctx(self):
        return self.app.ctx

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="run-head"):
            yield Label(id="run-title")
            with Horizontal(id="run-progress"):
                yield ProgressBar(total=None, show_eta=False, id="nodes-bar")
                yield Label(id="running-now")
            yield Static(id="review")
            yield Static(id="deliveries")
            yield Static(id="docs-line")
        with Horizontal(id="run-body"):
            yield LogView(lambda start, n: actions.logs.page(self.ctx, self.run_id, start, n),
                          id="log")
            table = DataTable(cursor_type="row", id="nodes")
            table.add_columns("node", "status", "time")
            yield table
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(LogView).focus()
        self.poll()
        self.set_interval(POLL_SECONDS, self.poll)

    def poll(self) -> None:
        version = actions.status.data_version(self.ctx)
        if version == self._version:
            return
        self._version = version
        run = actions.runs.get(self.ctx, self.run_id)
        self.run = run
        self.query_one(LogView).set_line_count(actions.logs.count(self.ctx, self.run_id),
                                               run.status.finished)
        self._show_head(run)
        self._show_nodes(run)
        self._show_deliveries()
        if run.status.finished and not self._reviewed:
            self._reviewed = True
            self._failures = self._failure_summary()
            self.query_one("#review", Static).update(self._failures)
            self.show_changes(run)

    def _show_head(self, run: Run) -> None:
        took = run.duration
        if took is None and run.started_at:
            took = time.time() - run.started_at
        title = Text.assemble(
            (f"run {run.id} ", "bold"), (run.job_name, "bold"), "  ",
            (run.status.value, status_styles.RUN.get(run.status.value, "")),
            f"  {run.trigger.short()} by {run.actor}"
            f"  started {humanize.local_time(run.started_at)}"
            f"  {humanize.duration(took)}",
            f"  {run.git_branch or ''} {(run.git_sha or '')[:12]}")
        if run.error:
            title.append(f"\n{run.error}", style="red")
        self.query_one("#run-title", Label).update(title)
        progress = run.progress or {}
        bar = self.query_one("#nodes-bar", ProgressBar)
        if progress.get("total"):
            bar.update(total=progress["total"], progress=progress.get("done", 0))
        running = progress.get("running") or []
        failed = progress.get("failed", 0)
        self.query_one("#running-now", Label).update(
            (f"{failed} failed  " if failed else "")
            + ("now: " + ", ".join(node_name(r) for r in running[:3]) if running else ""))

    def _show_deliveries(self) -> None:
        """Where this run's notifications went, and how that went."""
        text = Text()
        for d in reversed(actions.notify.deliveries(self.ctx, self.run_id)):
            style = {"delivered": "green", "failed": "bold red"}.get(d.status, "yellow")
            text.append(f"→ {d.hook_type} {d.target} ({d.event}): ")
            text.append(d.status, style=style)
            if d.attempts:
                text.append(f" after {d.attempts} attempt(s)")
            if d.status == "pending" and d.next_attempt_at:
                text.append(f", next {humanize.local_time(d.next_attempt_at)[11:]}")
            if d.last_error and d.status != "delivered":
                text.append(f": {d.last_error}", style="dim")
            text.append("\n")
        widget = self.query_one("#deliveries", Static)
        widget.display = bool(text.plain)  # no row spent on a run that notified no one
        widget.update(text)

    def _show_nodes(self, run: Run) -> None:
        results = actions.runs.node_results(self.ctx, self.run_id)
        running = (run.progress or {}).get("running") or []
        key = (len(results), tuple(running), run.status)
        if key == self._nodes_seen:
            return
        self._nodes_seen = key
        # Failures first: they are what a person opening a finished run looks for.
        order = {**dict.fromkeys(FAILED_NODE, 0), **dict.fromkeys(SKIPPED_NODE, 1),
                 **dict.fromkeys(WARNED_NODE, 2)}
        latest = {r.unique_id: r for r in results}
        self._results = latest
        rows = sorted(latest.values(), key=lambda r: (order.get(r.status, 3), r.step,
                                                      r.started_at or ""))
        table = self.query_one("#nodes", DataTable)
        with self.app.batch_update():
            table.clear()
            for node_id in running:
                if node_id not in latest:
                    table.add_row(node_name(node_id), Text("running", style="cyan"), "",
                                  key=f"running:{node_id}")
            for r in rows:
                table.add_row(node_name(r.unique_id),
                              Text(r.status, style=status_styles.NODE.get(r.status, "")),
                              seconds(r.execution_time), key=r.unique_id)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        from dbt_console.tui.screens.node import NodeScreen

        result = self._results.get(event.row_key.value)
        if result is not None:
            self.app.push_screen(NodeScreen(result))

    def _failure_summary(self) -> Text:
        """Each failed node with the first line of dbt's message: the review at a glance."""
        failed = [r for r in self._results.values() if r.status in FAILED_NODE]
        skipped = sum(r.status in SKIPPED_NODE for r in self._results.values())
        text = Text()
        for r in failed[:4]:
            first = (r.message or "").strip().splitlines()[:1]
            text.append(f"✗ {node_name(r.unique_id)}", style="bold red")
            text.append(f": {''.join(first)}\n")
        if len(failed) > 4:
            text.append(f"  and {len(failed) - 4} more failed\n", style="red")
        if skipped:
            text.append(f"{skipped} node(s) skipped because of these\n", style="yellow")
        return text

    @work(thread=True, exclusive=True, group="review")
    def show_changes(self, run: Run) -> None:
        """For a failed run of a git project: the commits since the job's last green run,
        so 'what changed' is one glance. Git runs here, off the event loop."""
        failures = self._failures
        try:
            with self.ctx.fork() as ctx:
                changes = actions.review.changes(ctx, run)
        except UserError as exc:  # the engine went away, say
            self.app.call_from_thread(self.notify, str(exc), severity="warning")
            return
        if changes is None:
            return
        if not changes.commits:
            text = Text(changes.note, style="dim")
        else:
            green = changes.green
            text = Text(f"changed since the last green run #{green.id} "
                        f"({green.git_sha[:10]}): {len(changes.commits)} commit(s)\n",
                        style="bold")
            for c in changes.commits[:5]:
                text.append(f"  {c.sha[:10]} {c.author}: {c.subject}\n")
        self.app.call_from_thread(self.query_one("#review", Static).update,
                                  Text.assemble(failures, text))

    def action_docs(self) -> None:
        """Serve the docs of this run (or the job's latest docs) while this screen is open,
        and say where: the URL here and the ssh line for a laptop."""
        import threading

        from dbt_console.docs_site import docs_server, how_to_reach
        from dbt_console.errors import UserError

        if self._docs_server is not None:
            return
        try:
            run, directory = actions.docs.for_run(self.ctx, self.run_id)
            self._docs_server = docs_server(directory, 0)
        except UserError as exc:
            self.notify(str(exc), severity="warning", timeout=10)
            return
        threading.Thread(target=self._docs_server.serve_forever, name="docs",
                         daemon=True).start()
        url, ssh = how_to_reach(self._docs_server.server_address[1])
        line = self.query_one("#docs-line", Static)
        line.display = True
        line.update(Text.assemble(("docs", "bold"), f" of run {run.id} (until you leave this "
                                  f"screen): {url}\nfrom your laptop: {ssh}"))

    def on_unmount(self) -> None:
        if self._docs_server is not None:
            self._docs_server.shutdown()
            self._docs_server.server_close()

    def action_timing(self) -> None:
        from dbt_console.tui.screens.timing import TimingScreen

        self.app.push_screen(TimingScreen(self.run_id))

    def action_retry(self) -> None:
        """A new run of what failed in this one (dbt retry), then open it."""
        retried = self.app.attempt(actions.runs.retry, self.ctx, self.run_id)
        if retried is not None:
            run, note = retried
            self.notify(f"run {run.id} queued: {note}")
            self.app.switch_screen(RunScreen(run.id))

    def action_cancel_run(self) -> None:
        from dbt_console.tui.screens.confirm import ConfirmScreen

        if self.run.status.finished:
            self.notify(f"run {self.run_id} already finished", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes and self.app.attempt(actions.runs.cancel, self.ctx, self.run_id):
                self.notify(f"cancelling run {self.run_id}")

        self.app.push_screen(ConfirmScreen(f"Cancel run {self.run_id} of {self.run.job_name}?"),
                             answered)
