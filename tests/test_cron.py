"""Schedules fire when cron would fire them: weekdays with 0 and 7 as Sunday, either day
field when both are restricted, names and @-aliases, and cronie's daylight-saving rules.
Checked against tests/cron_reference.py, which shares no code with dbt-console."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from cron_reference import Reference
from dbt_console import cron
from dbt_console.engine.scheduler import CronTrigger
from dbt_console.jobrules import cron_problems
from dbt_console.model import Schedule

pytestmark = pytest.mark.unit

ZONES = ("UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu")
# Local midnights at the start of weeks in which the clocks change (and one ordinary week):
# New York and Berlin spring forward and fall back in March and October/November 2026;
# Lord Howe moves by half an hour in April and October.
STARTS = ("2026-03-06", "2026-03-27", "2026-04-03", "2026-10-02", "2026-10-23",
          "2026-10-30", "2026-12-07")

CHOSEN = [
    "0 6 * * 1-5", "0 12 * * 0", "0 12 * * 7", "30 4 1 * 1", "0 6 * * mon-fri",
    "0 6 * * MON-FRI", "0 9 * jan-mar sun", "@daily", "@hourly", "@weekly", "@monthly",
    "@yearly", "0 2 * * *", "30 2 * * *", "0 1 * * *", "30 1 * * *", "15 2,3 * * *",
    "*/15 * * * *", "0 * * * *", "*/20 1-3 * * *", "0,30 2 * * *", "45 1 * * 0",
    "0 0 29 2 *", "0 0 31 * *", "0 0 1,15 * 5", "5 4 * * sun", "0 0 * * 5-7",
    "0 22 * * 1-5", "*/5 2 * * *", "0 */2 * * *", "0 12 13 * 5", "30 3 * * 6,7",
]


def _field(rng: random.Random, lo: int, hi: int) -> str:
    kind = rng.random()
    if kind < 0.3:
        return "*"
    if kind < 0.45:
        return f"*/{rng.randint(2, (hi - lo) // 2 + 1)}"
    a = rng.randint(lo, hi)
    b = rng.randint(a, hi)
    if kind < 0.6:
        return f"{a}-{b}"
    if kind < 0.75:
        return ",".join(str(v) for v in sorted(rng.sample(range(lo, hi + 1), 3)))
    if kind < 0.85:
        return f"{a}-{b}/{rng.randint(1, 3)}"
    return str(a)


def expressions() -> list[str]:
    rng = random.Random(20261207)
    found = list(CHOSEN)
    while len(found) < 210:
        found.append(" ".join([_field(rng, 0, 59), _field(rng, 0, 23), _field(rng, 1, 28),
                               _field(rng, 1, 12), _field(rng, 0, 7)]))
    return found


def ours(expr: str, tz: str, start: datetime, count: int) -> list[float]:
    fires, at = [], start.timestamp()
    while len(fires) < count and (at := cron.next_after(expr, tz, at)) is not None:
        fires.append(at)
    return fires


@pytest.mark.parametrize("tz", ZONES)
def test_next_20_fires_of_210_expressions_match_cron(tz):
    mismatches = []
    for n, expr in enumerate(expressions()):
        day = STARTS[n % len(STARTS)]
        start = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(tz))
        want = Reference(expr, tz).fires(start, 20)
        got = ours(expr, tz, start, 20)
        if got != want:
            first = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b),
                         min(len(got), len(want)) - 1)
            mismatches.append(f"{expr!r} from {day}: fire {first} is "
                              f"{_local(got[first], tz)}, cron says {_local(want[first], tz)}")
    assert not mismatches, "\n".join(mismatches[:10])


def _local(at: float, tz: str) -> str:
    return datetime.fromtimestamp(at, ZoneInfo(tz)).strftime("%a %Y-%m-%d %H:%M %z")


def _at(text: str, tz: str = "UTC") -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


def test_the_demo_weekday_job_fires_on_monday_not_saturday():
    demo = yaml.safe_load((Path(cron.__file__).parent / "demo" / "jobs.yml").read_text())
    job = next(j for j in demo["jobs"] if "1-5" in j["schedule"]["cron"])
    trigger = CronTrigger(Schedule(job["schedule"]["cron"], job["schedule"]["timezone"]))
    # APScheduler asks a trigger with the clock it reads; here the test sets that clock.
    friday_evening, sunday_noon = _at("2026-12-04 20:00"), _at("2026-12-06 12:00")
    assert trigger.get_next_fire_time(None, friday_evening) == _at("2026-12-07 06:00")
    assert trigger.get_next_fire_time(None, sunday_noon).strftime("%A") == "Monday"
    monday = trigger.get_next_fire_time(None, sunday_noon)
    # After Monday's fire: Tuesday (APScheduler passes the fire it just made).
    assert trigger.get_next_fire_time(monday, monday).strftime("%A") == "Tuesday"


def test_a_late_wake_up_still_sees_the_fire_it_missed():
    trigger = CronTrigger(Schedule("0 6 * * *", "UTC"))
    fired = _at("2026-12-07 06:00")
    # The machine slept through Tuesday 06:00 and woke at 06:00:30: APScheduler must be
    # handed that fire (its misfire grace decides), not Wednesday's.
    assert trigger.get_next_fire_time(fired, _at("2026-12-08 06:00:30")) == _at(
        "2026-12-08 06:00")


def test_sunday_is_0_and_7_and_both_day_fields_mean_either():
    monday = _at("2026-12-07 00:00").timestamp()
    sundays = {_local(cron.next_after(e, "UTC", monday), "UTC") for e in
               ("0 12 * * 0", "0 12 * * 7", "0 12 * * sun")}
    assert sundays == {"Sun 2026-12-13 12:00 +0000"}
    # "30 4 1 * 1": the 1st of the month and every Monday.
    fires = ours("30 4 1 * 1", "UTC", _at("2026-12-26 00:00"), 3)
    assert [_local(f, "UTC")[:14] for f in fires] == [
        "Mon 2026-12-28", "Fri 2027-01-01", "Mon 2027-01-04"]


def test_daylight_saving_a_skipped_fire_runs_once_after_and_a_repeated_hour_once():
    # Berlin, 2026-03-29: 02:00 becomes 03:00. A 02:30 job runs at 03:00, once.
    spring = ours("30 2 * * *", "Europe/Berlin", _at("2026-03-28 12:00", "Europe/Berlin"), 2)
    assert [_local(f, "Europe/Berlin") for f in spring] == [
        "Sun 2026-03-29 03:00 +0200", "Mon 2026-03-30 02:30 +0200"]
    # 2026-10-25: 03:00 becomes 02:00 again. A 02:30 job runs the first time round only.
    autumn = ours("30 2 * * *", "Europe/Berlin", _at("2026-10-24 12:00", "Europe/Berlin"), 2)
    assert [_local(f, "Europe/Berlin") for f in autumn] == [
        "Sun 2026-10-25 02:30 +0200", "Mon 2026-10-26 02:30 +0100"]
    # A job with * in its hour follows the real clock: both passes of the repeated hour.
    quarter = ours("*/30 * * * *", "Europe/Berlin", _at("2026-10-25 01:45", "Europe/Berlin"), 4)
    assert [_local(f, "Europe/Berlin")[15:] for f in quarter] == [
        "02:00 +0200", "02:30 +0200", "02:00 +0100", "02:30 +0100"]


@pytest.mark.parametrize("expr, says", [
    ("0 6 * * 8", "bad day-of-week"),
    ("61 * * * *", "bad minute"),
    ("0 6 * *", "must have 5 fields"),
    ("* * * * * *", "must have 5 fields"),
    ("@reboot", "must have 5 fields"),
    ("0 0 31 2 *", "never fires"),
    ("0 6 * * mon-funday", "bad day-of-week"),
])
def test_a_bad_cron_is_refused_with_what_is_wrong(expr, says):
    problems = cron_problems(expr, "UTC")
    assert len(problems) == 1 and says in problems[0] and repr(expr) in problems[0]


def test_a_stored_expression_is_kept_and_only_its_fires_change():
    """Jobs saved before this release keep their text; the weekday now means cron's."""
    schedule = Schedule("0 6 * * 1-5", "UTC")
    assert schedule.cron == "0 6 * * 1-5"
    sunday = _at("2026-12-06 07:00").timestamp()
    assert _local(cron.next_after(schedule.cron, "UTC", sunday), "UTC") == (
        "Mon 2026-12-07 06:00 +0000")


def test_fire_times_are_whole_minutes_and_strictly_after():
    at = _at("2026-12-07 06:00").timestamp()
    assert cron.next_after("0 6 * * *", "UTC", at) == at + 86400
    assert cron.next_after("0 6 * * *", "UTC", at - 0.5) == at
    assert datetime.fromtimestamp(cron.next_after("* * * * *", "UTC", at + 1.7),
                                  timezone.utc).second == 0


def test_jobs_list_shows_next_fire_in_the_schedules_own_zone(cli, tmp_path):
    import re

    from conftest import write_jobs

    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "dbt_project.yml").write_text("name: p\n")
    jobs = write_jobs(tmp_path / "jobs.yml", f"""
jobs:
  - name: berlin
    project_dir: {tmp_path / 'p'}
    commands: ["dbt build"]
    schedule: {{cron: "0 6 * * mon-fri", timezone: Europe/Berlin}}
""")
    assert cli("jobs", "import", str(jobs)).code == 0
    listed = cli("jobs", "list").out
    assert re.search(r"\d{4}-\d\d-\d\d 06:00 CES?T", listed), listed
