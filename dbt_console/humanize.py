"""How times, durations and log lines read for people (CLI now, TUI later)."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from dbt_console.model import FOLDED_EVENT, SYSTEM_EVENT, LogLine, Schedule


def local_time(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def fire_time(ts: float | None, schedule: Schedule | None, short: bool = False) -> str:
    """A schedule's fire in its own zone, named: '2026-12-07 06:00 CET' ('12-07 06:00
    CET' short), as the schedule's words read it."""
    if ts is None or schedule is None:
        return "-"
    at = datetime.fromtimestamp(ts, ZoneInfo(schedule.timezone))
    return at.strftime("%m-%d %H:%M %Z" if short else "%Y-%m-%d %H:%M %Z")


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


def size(n: int) -> str:
    """Bytes as people read them: 312 MB."""
    value, unit = float(n), "B"
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            break
        value /= 1000
    return f"{value:.0f} {unit}" if unit == "B" or value >= 10 else f"{value:.1f} {unit}"


# C0 controls but tab and newline, DEL and C1: a terminal obeys them (ESC starts an escape
# sequence, CR rewrites the line), so text from dbt or a job shows them, escaped, instead.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x09), *range(0x0b, 0x20), 0x7f,
                                        *range(0x80, 0xa0))}


def terminal_safe(text: str) -> str:
    return text.translate(_CONTROLS)


def log_line(line: LogLine) -> str:
    """`HH:MM:SS tag     message`: the tag is the node's status when the line has one,
    'console' for dbt-console's own lines, else the level when it is not plain info.
    dbt's timestamps are UTC."""
    if line.event in (SYSTEM_EVENT, FOLDED_EVENT):
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


@lru_cache(maxsize=1024)
def _cron_words(cron: str) -> str:
    from cron_descriptor import Options, get_description

    from dbt_console.cron import expand

    options = Options()
    options.use_24hour_time_format = True
    try:
        return get_description(expand(cron), options)
    except Exception:  # cron-descriptor rejects a few crons cron accepts (L, #)
        return cron


def schedule_words(schedule: Schedule | None, zone: bool = True) -> str:
    """Cron in words: 'At 02:00, Monday through Friday (Europe/Berlin)'; without the
    zone where the next fire beside it names it."""
    if schedule is None:
        return "manual only"
    return _cron_words(schedule.cron) + (f" ({schedule.timezone})" if zone else "")


STATUS_MARKS = {"success": "✓", "error": "✗", "cancelled": "⊘", "queued": "·",
                "starting": "…", "running": "▶"}


def history_strip(statuses: list) -> str:
    return "".join(STATUS_MARKS.get(getattr(s, "value", s), "?") for s in statuses)



def node_name(unique_id: str) -> str:
    """model.pkg.name -> name; test.pkg.name.hash -> name."""
    parts = unique_id.split(".")
    return parts[2] if len(parts) > 2 else unique_id
