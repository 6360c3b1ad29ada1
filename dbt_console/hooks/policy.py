"""When a hook speaks, beyond its events: `notify: on_change` sends a job's first failure
and its first success after failures (with how long it was down), not every failed run;
`remind_after: 4h` sends one reminder while the job stays failing. Pure: given the job's
earlier runs, newest first."""

from __future__ import annotations

import re
from typing import Any

from dbt_console.humanize import duration
from dbt_console.model import Run, RunStatus

MODES = ("every", "on_change")
SPAN_RE = re.compile(r"^(\d+)\s*(m|h|d)$")
SPAN_SECONDS = {"m": 60, "h": 3600, "d": 86400}
RECOVERY = ("succeeded", "warned")


def span(text: Any) -> float | None:
    """'30m', '4h', '2d' in seconds; None when it is not such a text."""
    found = SPAN_RE.match(text.strip()) if isinstance(text, str) else None
    return int(found[1]) * SPAN_SECONDS[found[2]] if found and int(found[1]) > 0 else None


def problems(hook: dict[str, Any]) -> list[str]:
    found = []
    if hook.get("notify", "every") not in MODES:
        found.append(f"notify must be one of {', '.join(MODES)}, got {hook['notify']!r}"[:200])
    if "remind_after" in hook and span(hook["remind_after"]) is None:
        found.append("remind_after must be a time such as 30m, 4h or 1d, got "
                     f"{hook['remind_after']!r}"[:200])
    return found


def failing_streak(earlier: list[Run]) -> list[Run]:
    """The failed runs since the job's last success, newest first (a cancelled run is
    neither: someone stopped it)."""
    streak = []
    for run in earlier:
        if run.status is RunStatus.SUCCESS:
            break
        if run.status is RunStatus.ERROR:
            streak.append(run)
    return streak


def on_change_wants(event: str, earlier: list[Run]) -> bool:
    """A failure that follows no failure, or a success that ends failures."""
    if event == "errored":
        return not failing_streak(earlier)
    if event in RECOVERY:
        return bool(failing_streak(earlier))
    return True  # started, cancelled: as the hook's events say


def recovery_note(run: Run, earlier: list[Run]) -> str:
    """'recovered after 5 failed runs, down for 4h 10m', or '' when nothing failed."""
    streak = failing_streak(earlier)
    if not streak:
        return ""
    since = streak[-1].finished_at or streak[-1].queued_at
    down = (run.finished_at or since) - since
    return f"recovered after {len(streak)} failed run(s), down for {duration(down)}"


def reminder_note(hook_options: dict[str, Any], latest: list[Run], now: float,
                  reminded_since: int | None) -> str:
    """The reminder's words when one is due now: the job's newest finished run failed,
    its streak is older than remind_after, and no reminder went since the streak began
    (`reminded_since`: the run id of the last reminder sent, if any)."""
    wait = span(hook_options.get("remind_after"))
    streak = failing_streak(latest)
    if wait is None or not latest or latest[0].status is not RunStatus.ERROR or not streak:
        return ""
    first = streak[-1]
    since = first.finished_at or first.queued_at
    if now - since < wait or (reminded_since is not None and reminded_since >= first.id):
        return ""
    return (f"still failing: {len(streak)} failed run(s) in a row, for "
            f"{duration(now - since)} (one reminder)")
