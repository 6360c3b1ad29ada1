"""Run alerts per job (`sla:` in a jobs file): what each setting means, its checks, and
the time arithmetic the engine's alert watch (engine/alerts.py) uses. Pure: no I/O.

    finish_by          "07:00" in the schedule's timezone: on a day the schedule fires, no
                       successful run finished by then -> event `late`, once that day
    max_minutes        a run still going after this many minutes -> `slow`, once a run
    slower_than_usual  a run going over this many times the median of the job's last 20
                       successful runs (once there are 3) -> `slow`, once a run
    missed             a scheduled fire that did not start within catch_up_grace_minutes
                       (a full queue, or no engine running) -> `missed`, once a fire
"""

from __future__ import annotations

import re
import statistics
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dbt_console import cron
from dbt_console.model import Schedule, Sla

FIELDS = frozenset({"finish_by", "max_minutes", "slower_than_usual", "missed"})
FINISH_BY_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
USUAL_RUNS, USUAL_AT_LEAST = 20, 3
MAX_MINUTES = 7 * 24 * 60


def problems(value: Any, scheduled: bool) -> list[str]:
    """What is wrong with a job's `sla:` (each 'field: why'); `scheduled`: the job has a
    schedule, which finish_by and missed are about."""
    if not isinstance(value, dict) or not value:
        return ["sla: must be a mapping of at least one of finish_by, max_minutes, "
                "slower_than_usual, missed"]
    out = [f"sla.{k}: unknown (known: {', '.join(sorted(FIELDS))})"
           for k in sorted(map(str, value)) if k not in FIELDS]
    finish_by, most = value.get("finish_by"), value.get("max_minutes")
    factor, missed = value.get("slower_than_usual"), value.get("missed")
    if finish_by is not None and not (isinstance(finish_by, str)
                                      and FINISH_BY_RE.match(finish_by)):
        out.append(f"sla.finish_by: must be a time of day as HH:MM, e.g. \"07:00\" (quoted), "
                   f"got {finish_by!r}")
    if most is not None and (isinstance(most, bool) or not isinstance(most, int)
                             or not 1 <= most <= MAX_MINUTES):
        out.append(f"sla.max_minutes: must be whole minutes from 1 to {MAX_MINUTES}, "
                   f"got {most!r}")
    if factor is not None and (isinstance(factor, bool) or not isinstance(factor, int | float)
                               or not 1 < factor <= 100):
        out.append(f"sla.slower_than_usual: must be a factor over 1 and at most 100, e.g. "
                   f"2.0, got {factor!r}")
    if missed is not None and not isinstance(missed, bool):
        out.append(f"sla.missed: must be true or false, got {missed!r}")
    for key in ("finish_by", "missed"):
        if value.get(key) and not scheduled:
            out.append(f"sla.{key}: needs a schedule: it is about the days and times the "
                       "schedule fires")
    return out


def from_dict(value: dict) -> Sla:
    factor = value.get("slower_than_usual")
    return Sla(value.get("finish_by"), value.get("max_minutes"),
               None if factor is None else float(factor), bool(value.get("missed", False)))


def to_dict(sla: Sla) -> dict[str, Any]:
    return {k: v for k, v in (("finish_by", sla.finish_by), ("max_minutes", sla.max_minutes),
                              ("slower_than_usual", sla.slower_than_usual),
                              ("missed", sla.missed or None)) if v is not None}


def today(now: float, schedule: Schedule) -> date:
    return datetime.fromtimestamp(now, ZoneInfo(schedule.timezone)).date()


def day_bounds(day: date, schedule: Schedule) -> tuple[float, float]:
    tz = ZoneInfo(schedule.timezone)
    start = datetime.combine(day, time(0), tz)
    return start.timestamp(), datetime.combine(day + timedelta(days=1), time(0), tz).timestamp()


def deadline(finish_by: str, day: date, schedule: Schedule) -> float:
    hour, minute = map(int, finish_by.split(":"))
    return datetime.combine(day, time(hour, minute), ZoneInfo(schedule.timezone)).timestamp()


def fires_on(schedule: Schedule, day: date) -> bool:
    start, end = day_bounds(day, schedule)
    first = cron.next_after(schedule.cron, schedule.timezone, start - 1)
    return first is not None and first < end


def usual(durations: list[float]) -> float | None:
    """The usual duration: the median of the last successful runs', once there are some."""
    return statistics.median(durations) if len(durations) >= USUAL_AT_LEAST else None


def slow(sla: Sla, elapsed: float, usual_seconds: float | None) -> str | None:
    """Why a run going for `elapsed` seconds is slow, or None."""
    if sla.max_minutes and elapsed > sla.max_minutes * 60:
        return f"still running after {elapsed / 60:.0f} min (sla.max_minutes: {sla.max_minutes})"
    if sla.slower_than_usual and usual_seconds and elapsed > usual_seconds * (
            sla.slower_than_usual):
        return (f"running for {elapsed / 60:.1f} min, over {sla.slower_than_usual:g}x the "
                f"usual {usual_seconds / 60:.1f} min (sla.slower_than_usual)")
    return None
