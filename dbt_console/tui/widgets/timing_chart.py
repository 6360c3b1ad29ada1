"""A run's nodes on a time axis, like a Gantt chart in the terminal: where each node
started and ended, and on which dbt thread, so the critical path and idle threads show."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from dbt_console import humanize
from dbt_console.model import NodeResult
from dbt_console.tui.status_styles import Styles

BAR = "█"
NAME_WIDTH = 30


def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        stamp = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp.timestamp()


def _thread_number(name: str) -> int:
    try:
        return int(name.split("-", 1)[1].split(" ", 1)[0])
    except (IndexError, ValueError):
        return 0


def thread_labels(names: list[str | None]) -> dict[str | None, str]:
    """dbt's worker threads are numbered by the process ('Thread-5 (worker)'..'Thread-8'
    for a 4-thread run, after threads of its own): T1..Tn here, in that order; the main
    thread is M."""
    workers = sorted({n for n in names if n and n.startswith("Thread-")}, key=_thread_number)
    labels: dict[str | None, str] = {n: f"T{i}" for i, n in enumerate(workers, start=1)}
    for n in names:
        if n not in labels:
            labels[n] = "?" if not n else "M" if n == "MainThread" else n[:3]
    return labels


BLOCKS = " ▁▂▃▄▅▆▇█"


def trend(durations: list[float]) -> Text:
    """One block per run, oldest first, each as tall as its duration over the longest:
    the baseline is zero, so a run twice as long has a block twice as tall."""
    top = max(durations) or 1.0
    blocks = "".join(BLOCKS[max(1, round(d / top * (len(BLOCKS) - 1)))] for d in durations)
    return Text.assemble("0 ", (blocks, "bold"), f" {humanize.duration(top)}  "
                         "(oldest on the left, this job's last runs)")


def gantt(results: list[NodeResult], width: int, styles: Styles) -> Text:
    timed = [(r, _epoch(r.started_at), _epoch(r.finished_at)) for r in results]
    timed = [(r, s, e) for r, s, e in timed if s is not None and e is not None]
    if not timed:
        return Text("no node timings in this run (it ran no node, or failed before)",
                    style="dim")
    start = min(s for _, s, _ in timed)
    span = max(max(e for _, _, e in timed) - start, 1e-6)
    bar_width = max(10, width - NAME_WIDTH - 14)
    threads = thread_labels([r.thread for r, _, _ in timed])
    out = Text()
    out.append(f"{'node':<{NAME_WIDTH}} thr  0s{'':{bar_width - 8}}{span:6.1f}s\n", style="bold")
    for r, s, e in sorted(timed, key=lambda t: (t[1], t[0].unique_id)):
        first = int((s - start) / span * bar_width)
        length = max(1, round((e - s) / span * bar_width))
        name = r.unique_id.split(".")[2] if r.unique_id.count(".") >= 2 else r.unique_id
        out.append(f"{name[:NAME_WIDTH - 1]:<{NAME_WIDTH}}{threads[r.thread]:<4} ")
        out.append(" " * first)
        style = styles.node.get(r.status, styles.role["success"])
        out.append(BAR * min(length, bar_width - first), style=style)
        out.append(f" {e - s:.2f}s\n")
    return out
