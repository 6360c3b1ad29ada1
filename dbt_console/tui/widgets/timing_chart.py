"""A run's nodes on a time axis, like a Gantt chart in the terminal: where each node
started and ended, and on which dbt thread, so the critical path and idle threads show."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from dbt_console.model import NodeResult
from dbt_console.tui import status_styles

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


def _thread(name: str | None) -> str:
    """'Thread-3 (worker)' -> 'T3'; the main thread -> 'M'."""
    if not name:
        return "?"
    if name.startswith("Thread-"):
        return "T" + name.split("-", 1)[1].split(" ", 1)[0]
    return "M" if name == "MainThread" else name[:3]


def gantt(results: list[NodeResult], width: int) -> Text:
    timed = [(r, _epoch(r.started_at), _epoch(r.finished_at)) for r in results]
    timed = [(r, s, e) for r, s, e in timed if s is not None and e is not None]
    if not timed:
        return Text("no node timings in this run (it ran no node, or failed before)",
                    style="dim")
    start = min(s for _, s, _ in timed)
    span = max(max(e for _, _, e in timed) - start, 1e-6)
    bar_width = max(10, width - NAME_WIDTH - 14)
    out = Text()
    out.append(f"{'node':<{NAME_WIDTH}} thr  0s{'':{bar_width - 8}}{span:6.1f}s\n", style="bold")
    for r, s, e in sorted(timed, key=lambda t: (t[1], t[0].unique_id)):
        first = int((s - start) / span * bar_width)
        length = max(1, round((e - s) / span * bar_width))
        name = r.unique_id.split(".")[2] if r.unique_id.count(".") >= 2 else r.unique_id
        out.append(f"{name[:NAME_WIDTH - 1]:<{NAME_WIDTH}}{_thread(r.thread):<4} ")
        out.append(" " * first)
        style = status_styles.NODE.get(r.status, "green")
        out.append(BAR * min(length, bar_width - first), style=style)
        out.append(f" {e - s:.2f}s\n")
    return out
