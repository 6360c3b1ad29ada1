"""One run, live or past: its log streaming as dbt writes it, progress of nodes done out
of the total across its steps, and the nodes with their status and time. A worker reads
the store on each change (run_watch.py), so a run executed by a `serve` elsewhere updates
as fast as our own and a big one never holds the keyboard up."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Label, Static
from textual.worker import get_current_worker

from dbt_console import actions, failures, humanize
from dbt_console.errors import UserError
from dbt_console.humanize import node_name
from dbt_console.model import FAILED_NODE, Run
from dbt_console.tui.keys import KeysReady
from dbt_console.tui.screens import run_watch
from dbt_console.tui.screens.run_watch import Snapshot
from dbt_console.tui.widgets.footer import footer
from dbt_console.tui.widgets.log_view import LogView
from dbt_console.tui.widgets.progress import NodeProgress
from dbt_console.tui.widgets.row_list import RowList

# Below this width the node list goes under the log: each gets the full width.
NARROW = 110
# Below this height the head above the log says less (a failure, a line of changes, the
# latest deliveries): at 80x24 a failed run with hooks had left 5 log lines and 1 node.
SHORT = 32
MODELS_SHOWN = 5  # compare changes in the head; `dbt-console compare RUN` lists them all


class RunScreen(Screen):
    HELP_TITLE = "run"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("c", "cancel_run", "Cancel", tooltip="Cancel the run"),
        Binding("r", "retry", "Retry"),
        Binding("t", "timing", "Timing"),
        Binding("o", "docs", "Docs"),
        Binding("w", "wide_log", "Wide", tooltip="The log across the whole width, or not"),
        Binding("p", "pager", "Pager", tooltip="The whole log in $PAGER (less -R): search "
                                               "and copy it there"),
    ]

    # Keys typed before the first frame wait for it (see keys.py): one may act on the run.
    keys_ready = False

    def __init__(self, run_id: int):
        super().__init__()
        self.run_id = run_id
        self._results: dict = {}
        self.run: Run | None = None
        self._gone = False
        # Set while this screen is the one on top, for the watcher's thread (which must
        # not read Textual's screen stack): a covered screen's frame would repaint all.
        self.on_top = threading.Event()
        self._shown: dict[str, Text] = {}
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
                yield NodeProgress(id="nodes-bar")
                yield Label(id="running-now")
            yield Static(id="review")
            yield Static(id="compare")
            yield Static(id="deliveries")
            yield Static(id="docs-line")
        with Container(id="run-body"):
            yield LogView(self._page_reader, id="log")
            # Status and time first: a long test name is cut, never them.
            yield RowList(["status", "time", "node"], id="nodes")
        yield footer()

    @contextmanager
    def _page_reader(self):
        """For the log view's reader thread: pages read on a context of its own."""
        ctx = self.ctx.fork()
        try:
            yield lambda start, n: actions.logs.page(ctx, self.run_id, start, n)
        finally:
            ctx.close()

    def on_mount(self) -> None:
        self.query_one(LogView).focus()
        self.watch_store()  # the first frame too: the UI thread reads nothing

    @work(thread=True, exclusive=True, group="watch")
    def watch_store(self) -> None:
        worker = get_current_worker()
        run_watch.watch(self, self.ctx, self.run_id, self.app.status_styles, self.on_top,
                        lambda: worker.is_cancelled or self._gone or not self.app.is_running,
                        # no terminal (tests, screenshots): no link to spare
                        None if self.app.is_headless else run_watch.LinkBudget(self.app.output))

    def on_screen_resume(self) -> None:
        self.on_top.set()

    def on_screen_suspend(self) -> None:
        self.on_top.clear()

    def on_changed(self, message: run_watch.Changed) -> None:
        try:
            self.show(message.snapshot)
        finally:
            message.shown.set()
        if not self.keys_ready:  # a key acts on the run only once it is on screen
            self.app.post_message(KeysReady(self))

    def on_resize(self, event) -> None:
        self.set_class(event.size.width < NARROW, "narrow")
        short = event.size.height < SHORT
        if short != self.has_class("short"):
            self.set_class(short, "short")
            if self._reviewed:  # the review again, as long as the height now allows
                self._failures = self._failure_summary()
                self.query_one("#review", Static).update(self._failures)
                self.show_changes(self.run)

    def action_wide_log(self) -> None:
        """The log across the whole width, the node list hidden; again: back."""
        self.toggle_class("wide-log")

    def show(self, snap: Snapshot | None) -> None:
        if snap is None:
            return
        run = self.run = snap.run
        log = self.query_one(LogView)
        log.extend(*snap.new_lines)
        log.set_line_count(snap.log_lines, run.status.finished)
        self._show_head(run, snap)
        if snap.rows is not None:
            self._results = snap.results
            self.query_one("#nodes", RowList).set_rows(snap.rows)
        self._show_deliveries(snap.deliveries)
        if run.status.finished and not self._reviewed:
            self._reviewed = True
            self._failures = self._failure_summary()
            self.query_one("#review", Static).update(self._failures)
            self.show_changes(run)
            self._show_compare(run, snap.comparison)

    def _show_head(self, run: Run, snap: Snapshot) -> None:
        took = run.duration
        if took is None and run.started_at:
            took = time.time() - run.started_at
        title = Text.assemble(
            (f"run {run.id} ", "bold"), (run.job_name, "bold"), "  ",
            (run.status.value, self.app.status_styles.run.get(run.status.value, "")),
            f"  {run.trigger.short()} by {run.actor}"
            f"  started {humanize.local_time(run.started_at)}"
            f"  {humanize.duration(took)}",
            f"  {run.git_branch or ''} {(run.git_sha or '')[:12]}")
        if run.error:
            title.append(f"\n{run.error}", style=self.app.status_styles.role["error"])
        if snap.orphaned:
            title.append(f"\n{actions.runs.ORPHANED}", style=self.app.status_styles.role["error"])
        self._update("#run-title", title)
        progress = run.progress or {}
        bar = self.query_one("#nodes-bar", NodeProgress)
        bar.done, bar.total = snap.done, snap.total
        running = progress.get("running") or []
        # Once it ended, dbt's results are the truth: the node a cancel interrupted was
        # logged as an error live, yet dbt counts it as no failure (ERROR=0).
        failed = (sum(r.status in FAILED_NODE for r in snap.results.values())
                  if run.status.finished else progress.get("failed", 0))
        stopped = "cancelled at " if run.status.value == "cancelled" else ""
        self._update("#running-now", Text(
            (f"{stopped}{snap.done}/{snap.total} nodes  " if snap.total else "")
            + (f"{failed} failed  " if failed else "")
            + ("now: " + ", ".join(node_name(r) for r in running[:3]) if running else "")),
            layout=False)  # one row of fixed height: no layout pass for each new count

    def _update(self, selector: str, text: Text, layout: bool = True) -> None:
        """Only what changed: an update asks Textual for a layout of the whole screen,
        the costliest thing a frame of a streaming run did."""
        widget = self.query_one(selector, Static)
        if self._shown.get(selector) != text:
            self._shown[selector] = text
            widget.update(text, layout=layout)

    def _show_compare(self, run: Run, found) -> None:
        """A CI run's compare changes: each modified model against production's."""
        from dbt_console.ci.compare import cells

        widget = self.query_one("#compare", Static)
        if found is None:
            widget.display = False  # not a CI run, or it compared nothing
            return
        text = Text(f"compare with production run {found.compared_with}: ", style="bold")
        differing = sum(d.differs for d in found.diffs)
        text.append(f"{differing} of {len(found.diffs)} modified models differ\n"
                    if found.diffs else "no model the branch modified was built\n")
        for d in found.diffs[:MODELS_SHOWN]:
            rows, columns, keyed = cells(d)
            text.append(f"{'≠' if d.differs else '='} {d.name}",
                        style=self.app.status_styles.role["warning" if d.differs else "success"])
            text.append(f"  rows {rows}  columns {columns}  {keyed}\n")
        if len(found.diffs) > MODELS_SHOWN:
            text.append(f"  and {len(found.diffs) - MODELS_SHOWN} more: dbt-console compare "
                        f"{run.id}\n", style="dim")
        widget.display = True
        self._update("#compare", text)

    def _show_deliveries(self, deliveries) -> None:
        """Where this run's notifications went, and how that went."""
        text, styles = Text(), self.app.status_styles
        for d in reversed(deliveries):
            style = {"delivered": styles.role["success"], "failed": styles.strong("error")}.get(
                d.status, styles.role["warning"])
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
        self._update("#deliveries", text)

    def on_row_list_selected(self, event: RowList.Selected) -> None:
        from dbt_console.tui.screens.node import NodeScreen

        result = self._results.get(event.key)
        if result is None:  # dbt has not finished it: there is nothing to show yet
            self.notify(f"{node_name(event.key)} is still running", timeout=3)
        else:
            self.app.push_screen(NodeScreen(result))

    def _failure_summary(self) -> Text:
        """Each failed node with the first line of dbt's message: the review at a glance."""
        summary = failures.summarize(self._results.values())
        failed, skipped = summary.failed, summary.skipped
        styles, text = self.app.status_styles, Text()
        shown = 1 if self.has_class("short") else 4
        for r in failed[:shown]:
            text.append(f"✗ {node_name(r.unique_id)}", style=styles.node["fail"])
            text.append(f": {failures.first_line(r)}\n")
        more = (f"and {len(failed) - shown} more failed" if len(failed) > shown else "")
        if more and not self.has_class("short"):
            text.append(f"  {more}\n", style=styles.role["error"])
            more = ""
        if skipped or more:
            text.append(", ".join(filter(None, [more, f"{skipped} node(s) skipped because of "
                                                "these" if skipped else ""])) + "\n",
                        style=styles.role["error" if more else "skipped"])
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
            for c in changes.commits[:0 if self.has_class("short") else 5]:
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
        self._gone = True  # the watcher stops: nobody will draw what it reads
        if self._docs_server is not None:
            self._docs_server.shutdown()
            self._docs_server.server_close()

    def action_pager(self) -> None:
        from dbt_console.tui.pager import page_log

        page_log(self.app, self.run_id)

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
