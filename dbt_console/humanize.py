"""How times, durations and log lines read for people (CLI now, TUI later)."""

from __future__ import annotations

from datetime import datetime, timezone

from dbt_console.model import SYSTEM_EVENT, LogLine


def local_time(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def iso_utc(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def log_line(line: LogLine) -> str:
    """`HH:MM:SS tag     message`: the tag is the node's status when the line has one,
    'console' for dbt-console's own lines, else the level when it is not plain info.
    dbt's timestamps are UTC."""
    if line.event == SYSTEM_EVENT:
        tag = "console"
    elif line.node_status:
        tag = line.node_status
    else:
        tag = "" if line.level in ("info", "debug") else line.level
    return f"{line.ts[11:19]} {tag:<8} {line.msg}"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)
