"""What the run screen shows, read off the UI thread after its first frame: a worker
follows the run's feed (actions.logs.Feed, as the CLI's follow does: orphans included)
and, on a change, reads the run's nodes and deliveries and builds the node rows ready to
draw. The screen only puts a finished Snapshot on screen,
so a run of 5,000 nodes never holds the keyboard up."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from rich.text import Text
from textual.message import Message

from dbt_console import actions
from dbt_console.errors import UserError
from dbt_console.humanize import node_name
from dbt_console.model import FAILED_NODE, SKIPPED_NODE, WARNED_NODE, Run, RunStatus
from dbt_console.tui import symbols
from dbt_console.tui.status_styles import Styles
from dbt_console.tui.widgets.log_view import PAGE_LINES

POLL_SECONDS = 0.02  # one PRAGMA when nothing changed: cheap enough to ask often
# At most this often a new frame: each costs the UI thread a repaint of the screen (10-20
# ms at 120x40), and a log that scrolls faster than this is not read anyway.
MIN_FRAME_SECONDS = 0.05
# Failures first: they are what a person opening a finished run looks for.
ORDER = {**dict.fromkeys(FAILED_NODE, 0), **dict.fromkeys(SKIPPED_NODE, 1),
         **dict.fromkeys(WARNED_NODE, 2)}


def seconds(value: float | None) -> str:
    return f"{value:.2f}s" if value else ""


def status_cell(status: str, styles: Styles) -> Text:
    """A node's status as a symbol and its word: never colour alone."""
    return Text(f"{symbols.node(status)} {status}", style=styles.node.get(status, ""))


@dataclass
class Snapshot:
    run: Run
    log_lines: int
    rows: list[tuple[str, tuple]] | None  # None: the nodes did not change
    results: dict = field(default_factory=dict)
    deliveries: list = field(default_factory=list)
    done: int = 0  # nodes done of all the run's steps
    total: int = 0  # of all steps; while running, at least the last run's count
    new_lines: tuple[int, list] = (0, [])  # (index of the first, the log's lines since last)
    orphaned: bool = False  # its engine died (actions.runs.ORPHANED)
    comparison: object | None = None  # a CI run's, read once it ended (None: none)

    def then(self, later: Snapshot) -> Snapshot:
        """This snapshot and a later one as one: the later state, both one's new lines."""
        start, lines = self.new_lines
        return Snapshot(later.run, later.log_lines,
                        later.rows if later.rows is not None else self.rows,
                        later.results, later.deliveries, later.done, later.total,
                        (start, lines + later.new_lines[1]), later.orphaned,
                        later.comparison or self.comparison)


class RunWatch:
    """The worker's side: its own connection, what it saw last, the last run's size."""

    def __init__(self, ctx, run_id: int, styles: Styles):
        self.ctx = ctx
        self.run_id = run_id
        self.styles = styles  # the app's, changed in place with the theme
        self.feed: actions.logs.Feed | None = None  # made on the first call, off the UI
        self.steps_seen: tuple | None = None
        self.running: tuple | None = None
        self.results: dict = {}
        self.done_rows: list[tuple[str, tuple]] = []
        self.expected: int | None = None
        self.steps_waiting = False
        self.result_rows = 0
        self.compared = False

    def changed(self) -> Snapshot | None:
        if self.feed is None:  # the log opens at its end: from its last page on
            self.feed = actions.logs.Feed.from_last_page(self.ctx, self.run_id, PAGE_LINES)
        update = self.feed.poll()
        if update is None:
            return None
        run = update.run
        progress = run.progress or {}
        running = tuple(progress.get("running") or [])
        # Node results are written when a step ends: read them again only then.
        steps = tuple((s.idx, s.status) for s in actions.runs.steps(self.ctx, self.run_id))
        # Commands not started yet (listed as waiting): the run is not near its end.
        self.steps_waiting = any(status is RunStatus.QUEUED for _, status in steps)
        if (steps, run.status) != self.steps_seen:
            self.steps_seen = (steps, run.status)
            results = actions.runs.node_results(self.ctx, self.run_id)
            self.result_rows = len(results)  # a node built by two steps counts twice in n/N
            self.results = {r.unique_id: r for r in results}
            self.done_rows = self._result_rows()
            self.running = None
        rows = None
        if running != self.running:
            self.running = running
            # Keyed by the node, running or done: the cursor on a node that ends stays on
            # it, where a key of its own for "running" moved the cursor to another node.
            rows = [(n, (status_cell("running", self.styles), "", node_name(n)))
                    for n in running if n not in self.results] + self.done_rows
        done, total = self._counts(run, progress)
        return Snapshot(run, self.feed.next_seq, rows, self.results,
                        actions.notify.deliveries(self.ctx, self.run_id), done, total,
                        (update.start, update.lines), update.orphaned, self._comparison(run))

    def _comparison(self, run: Run):
        """A CI run's compare changes, once: when it is first seen ended."""
        if not run.status.finished or self.compared:
            return None
        self.compared = True
        try:
            return actions.ci.comparison(self.ctx, run.id)
        except UserError:  # not a CI run, or it compared nothing
            return None

    def _result_rows(self) -> list[tuple[str, tuple]]:
        ordered = sorted(self.results.values(), key=lambda r: (ORDER.get(r.status, 3), r.step,
                                                                r.started_at or ""))
        return [(r.unique_id, (status_cell(r.status, self.styles), seconds(r.execution_time),
                               node_name(r.unique_id))) for r in ordered]

    def _counts(self, run: Run, progress: dict) -> tuple[int, int]:
        """n of N across the run's steps. A finished run counts its node results (a
        cancelled node has none, so a cancelled run never reads 100%); a live one what
        its steps logged so far, out of at least what the job's last good run had, and
        never all of it while commands are still to start."""
        total = progress.get("run_total", progress.get("total", 0))
        if run.status.finished:
            done = self.result_rows
            return done, max(total, done)
        if self.expected is None:
            self.expected = self._last_run_size(run)
        done = progress.get("run_done", progress.get("done", 0))
        total = max(total, self.expected)
        return done, (max(total, done + 1) if self.steps_waiting else total)

    def _last_run_size(self, run: Run) -> int:
        """The nodes of the job's last successful run of the same kind: a cancelled,
        failed or retry run selected fewer, and would make this one look nearly done."""
        for past in actions.runs.history(self.ctx, run.job_name, limit=10):
            if (past.id != run.id and past.status is RunStatus.SUCCESS and not past.git_branch
                    and past.trigger.kind != "retry"):
                return sum(actions.runs.node_counts(self.ctx, [past.id])[past.id].values())
        return 0


class Changed(Message):
    """A snapshot for the screen; it sets `shown` once it has drawn it."""

    def __init__(self, snapshot: Snapshot, shown: threading.Event):
        super().__init__()
        self.snapshot = snapshot
        self.shown = shown


class LinkBudget:
    """Frames no costlier than the log they show, for SSH over a slow link: a followed
    log scrolls, so each frame redraws every row of it (at 80x24 ~3 KB, at 200x50 ~15 KB)
    whether one line came or fifty. What the frames this watcher caused have cost (the
    bytes sent to the terminal from each snapshot to the next look) must stay within RATIO
    times the log's own bytes, plus FLOOR a second for the rest (progress, node rows) and
    a first BURST. What the user's keys cause is theirs, not counted."""

    RATIO, FLOOR, BURST = 2.0, 1000, 16_000
    # A frame's bytes are counted over this long after it is handed over: drawing it and
    # writing it out take the UI thread a few tens of milliseconds (more when loaded).
    FRAME_SECONDS = 0.1

    def __init__(self, meter):
        self.meter = meter
        self.started = time.monotonic()
        self.log_bytes = 0
        self.spent = 0
        self._frame: tuple[float, int] | None = None  # (when handed over, bytes sent then)
        self._opening = True  # the first frame completes the screen's opening: not counted

    def read(self, lines: list) -> None:
        # as `dbt-console logs` prints them: time and tag (18 columns), message, newline
        self.log_bytes += sum(len(line.msg) + 19 for line in lines)

    def shown(self) -> None:
        self._frame = (time.monotonic(), self.meter.bytes)

    def allows(self) -> bool:
        if self._frame is not None:  # what the last frame cost, once it is out
            if time.monotonic() - self._frame[0] < self.FRAME_SECONDS:
                return False
            if not self._opening:
                self.spent += self.meter.bytes - self._frame[1]
            self._frame, self._opening = None, False
        return self.spent <= (self.RATIO * self.log_bytes + self.BURST
                              + self.FLOOR * (time.monotonic() - self.started))


def watch(screen, ctx, run_id: int, styles: Styles, on_top: threading.Event, is_cancelled,
          budget: LinkBudget | None) -> None:
    """The worker's loop: until the screen goes, hand it each change. A message, never a
    blocking call into the UI (which may be shutting down), and the next one only once the
    screen has drawn the last, is on top (under a dialog each of its frames would repaint
    the whole terminal) and the link budget allows: a slow screen or link gets fewer,
    fresher snapshots, never a queue."""
    with ctx.fork() as own:
        watcher = RunWatch(own, run_id, styles)
        shown = threading.Event()
        shown.set()
        pending: Snapshot | None = None  # read, not yet drawn: the link's budget is spent
        status = None  # the run's status on screen
        while not is_cancelled():
            snapshot = watcher.changed()
            if snapshot is not None:
                if budget is not None:
                    budget.read(snapshot.new_lines[1])
                pending = snapshot if pending is None else pending.then(snapshot)
            if (pending is not None and shown.is_set() and on_top.is_set()
                    and due(pending, status, budget)):
                shown.clear()
                if budget is not None:
                    budget.shown()
                screen.post_message(Changed(pending, shown))
                status, pending = pending.run.status, None
                time.sleep(MIN_FRAME_SECONDS)
            else:
                time.sleep(POLL_SECONDS)


def due(pending: Snapshot, status, budget: LinkBudget | None) -> bool:
    """May this snapshot go out now? A new status always may: the screen saying
    "running" (and offering cancel) for seconds after the run ended is worse than one
    frame over the link's budget."""
    return budget is None or pending.run.status != status or budget.allows()
