"""Cron expressions, read the way cron reads them: the one place a schedule's fires come from.

The scheduler, the form's preview, the jobs table and run alerts all ask here, so they can
never disagree. The arithmetic is cronsim's (healthchecks.io), which follows Vixie cron and
cronie: 0 and 7 are Sunday, names (mon-fri, jan) work in any case, and when both
day-of-month and day-of-week are restricted a day matching either one fires.

Daylight saving, as cronie does it: a job at a fixed time (neither its minute nor its hour
field starts with `*`) whose time falls in an hour the clocks skip runs once, at the first
minute after the change; in an hour that repeats it runs once, the first time round. A job
with `*` in its minute or hour follows the real clock: nothing in the skipped hour, both
passes of the repeated one.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# cron's @-aliases, as crontab(5) lists them (@reboot has no place in a schedule).
ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def expand(cron: str) -> str:
    """The five fields an expression stands for (an alias is replaced, spaces collapsed)."""
    text = " ".join(cron.split())
    return ALIASES.get(text.lower(), text)


def problems(cron: str, timezone_name: str) -> list[str]:
    """What is wrong with a schedule: its timezone and its cron, each checked whatever the
    other's fault."""
    found = []
    if zone(timezone_name) is None:
        found.append(f"timezone {timezone_name!r} is not a known IANA timezone (e.g. "
                     "Europe/Berlin, UTC)")
    fields = expand(cron).split()
    if len(fields) != 5:
        return [*found, f"cron {cron!r} must have 5 fields (minute hour day month weekday) "
                        f"or be one of {', '.join(ALIASES)}; found {len(fields)} fields"]
    from cronsim import CronSimError

    try:
        first = next_after(cron, "UTC", datetime.now(timezone.utc).timestamp())
    except CronSimError as exc:
        if _fires_in_some_month(fields):
            first = None  # each field is fine; no month has the day (31 February)
        else:
            return [*found, f"cron {cron!r} is not valid: {str(exc).lower()} field"]
    if first is None:
        found.append(f"cron {cron!r} never fires (no date matches it, e.g. 31 February)")
    return found


def _fires_in_some_month(fields: list[str]) -> bool:
    from cronsim import CronSim, CronSimError

    try:
        CronSim(" ".join([*fields[:3], "*", fields[4]]), datetime.now(timezone.utc))
    except CronSimError:
        return False
    return True


def next_after(cron: str, timezone_name: str, after: float) -> float | None:
    """The first fire strictly after `after` (epoch seconds), or None if it never fires
    again. Raises cronsim's CronSimError for an expression it cannot read."""
    fire = next_fire_at_or_after(cron, timezone_name,
                                 datetime.fromtimestamp(after, timezone.utc)
                                 + timedelta(microseconds=1))
    return None if fire is None else fire.timestamp()


def next_fire_at_or_after(cron: str, timezone_name: str, start: datetime) -> datetime | None:
    """The first fire at or after `start` (an aware datetime), in the schedule's zone.

    cronsim walks the calendar in wall-clock time (no zone: it never sees a clock change);
    the daylight-saving rules are applied here, where each wall-clock match becomes the
    real instants it names. (cronsim's own zone handling lands a `*/8` minute field at :30
    on a day Lord Howe's clocks move by half an hour.)"""
    from cronsim import CronSim

    tz = zone(timezone_name) or _UTC
    expr = expand(cron)
    minute, hour = expr.split()[:2]
    fixed_time = not (minute.startswith("*") or hour.startswith("*"))
    # Near a clock change an earlier wall time can name a later instant: look back.
    start = start.astimezone(timezone.utc)  # instants compare in UTC (same-zone
    # datetimes compare by wall time, blind to the repeated hour)
    back = MAX_SHIFT if _change_near(start, tz) else timedelta(microseconds=1)
    best = None
    # cronsim answers strictly after a whole second of the naive time it is given.
    for match in CronSim(expr, _wall(start, tz) - back):
        if best is not None and match > _wall(best, tz) + MAX_SHIFT:
            break
        for at in _instants(match, tz, fixed_time):
            if at >= start and (best is None or at < best):
                best = at
        if best is not None and not _change_near(best, tz):
            break
    return None if best is None else best.astimezone(tz)


# Longer than any daylight-saving change (Lord Howe's is 30 min, most are an hour).
MAX_SHIFT = timedelta(hours=3)


def _instants(wall: datetime, tz: ZoneInfo, fixed_time: bool) -> list[datetime]:
    """The real instants (in UTC) a wall-clock match fires at, by cronie's rules."""
    first, second = (wall.replace(tzinfo=tz, fold=f).astimezone(timezone.utc) for f in (0, 1))
    if _wall(first, tz) != wall:  # the clocks skip this minute
        return [_after_skip(wall, tz)] if fixed_time else []
    if first != second:  # the clocks show this minute twice
        return [first] if fixed_time else [first, second]
    return [first]


def _after_skip(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first real minute after the clocks' jump over `wall`."""
    while _wall(wall.replace(tzinfo=tz), tz) != wall:
        wall += timedelta(minutes=1)
    return wall.replace(tzinfo=tz).astimezone(timezone.utc)


def _change_near(at: datetime, tz: ZoneInfo) -> bool:
    return (at - MAX_SHIFT).astimezone(tz).utcoffset() != (
        at + MAX_SHIFT).astimezone(tz).utcoffset()


def _wall(at: datetime, tz: ZoneInfo) -> datetime:
    """What a clock in `tz` shows at instant `at`, without a zone. (Through UTC: Python
    hands back a datetime already in `tz` unchanged, even a time the clocks skip.)"""
    return at.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None)


_UTC = ZoneInfo("UTC")


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
