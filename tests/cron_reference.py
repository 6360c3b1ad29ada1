"""A reference for cron's fires, written from crontab(5) and cronie's daylight-saving rules
and sharing no code with dbt-console's: it walks the calendar a day at a time and asks, for
each wall-clock minute the fields allow, which real instants it names.

Kept deliberately plain (no jumps, no cleverness) so that it is easy to check by reading.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
DAYS = "sun mon tue wed thu fri sat".split()
ALIASES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
           "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
           "@hourly": "0 * * * *"}


def _value(text: str, names: list[str], first: int) -> int:
    text = text.lower()
    return names.index(text) + first if text in names else int(text)


def field(text: str, lo: int, hi: int, names: list[str] = (), first: int = 0) -> set[int]:
    """crontab(5): lists of `*`, `N`, `N-M`, each with an optional `/step`; `N/step` runs
    from N to the field's end (cronie)."""
    values: set[int] = set()
    for part in text.split(","):
        base, _, step = part.partition("/")
        if base == "*":
            start, end = lo, hi
        elif "-" in base:
            start, end = (_value(v, names, first) for v in base.split("-"))
        else:
            start = _value(base, names, first)
            end = hi if step else start
        values.update(range(start, end + 1, int(step or 1)))
    return values


class Reference:
    def __init__(self, expr: str, tz: str):
        text = ALIASES.get(expr, expr)
        minute, hour, dom, month, dow = text.split()
        self.minutes = sorted(field(minute, 0, 59))
        self.hours = sorted(field(hour, 0, 23))
        self.doms = field(dom, 1, 31)
        self.months = field(month, 1, 12, MONTHS, 1)
        self.dows = {d % 7 for d in field(dow, 0, 7, DAYS)}  # 7 is Sunday too
        # crontab(5): if both day fields are restricted (neither starts with *), either
        # matching is enough.
        self.either_day = not (dom.startswith("*") or dow.startswith("*"))
        # cronie's daylight-saving rules apply to jobs at a fixed time only.
        self.fixed_time = not (minute.startswith("*") or hour.startswith("*"))
        self.tz = ZoneInfo(tz)

    def runs_on(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom_ok, dow_ok = day.day in self.doms, (day.weekday() + 1) % 7 in self.dows
        return (dom_ok or dow_ok) if self.either_day else (dom_ok and dow_ok)

    def instants(self, day: date, hour: int, minute: int) -> list[datetime]:
        wall = datetime.combine(day, time(hour, minute))
        first, second = (wall.replace(tzinfo=self.tz, fold=f) for f in (0, 1))
        if _wall(first, self.tz) != wall:  # the clocks skip this minute
            return [self._after_gap(wall, second)] if self.fixed_time else []
        if first.utcoffset() != second.utcoffset():  # the clocks show this minute twice
            return [first] if self.fixed_time else [first, second]
        return [first]

    def _after_gap(self, wall: datetime, earliest: datetime) -> datetime:
        """cronie runs a fixed-time job of a skipped minute once, right after the change."""
        at = earliest.astimezone(timezone.utc).replace(second=0)
        while _wall(at, self.tz) < wall:
            at += timedelta(minutes=1)
        return at

    def fires(self, start: datetime, count: int) -> list[float]:
        """The first `count` fires strictly after `start`, as epoch seconds."""
        found: set[float] = set()
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        for _ in range(366 * 100):
            if self.runs_on(day):
                found.update(at.timestamp() for h in self.hours for m in self.minutes
                             for at in self.instants(day, h, m) if at > start)
                if len(found) >= count:
                    break
            day += timedelta(days=1)
        return sorted(found)[:count]


def _wall(at: datetime, tz: ZoneInfo) -> datetime:
    return at.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None)
