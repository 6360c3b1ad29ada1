"""dbt's JSON log lines into stored rows, and the live progress they imply."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson

from dbt_console.model import FAILED_NODE, SYSTEM_EVENT

# Events that end a node. Their node_info.node_status is the node's final state.
RESULT_EVENTS = frozenset({
    "LogModelResult", "LogSeedResult", "LogSnapshotResult", "LogTestResult",
    "SkippingDetails", "LogFreshnessResult", "LogNodeNoOpResult",
})



def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_line(raw: bytes, step: int, from_stderr: bool) -> tuple[tuple, Any]:
    """(row, total) for one line of dbt output. Lines that are not dbt JSON events (a
    Python warning, a crash) are kept whole as plain text; nothing is dropped. Invalid
    UTF-8 is replaced, never fatal: a log line is worth more than its bytes."""
    event = None
    if raw[:1] == b"{":
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError:
            try:  # perhaps valid JSON around a few invalid bytes
                event = orjson.loads(raw.decode("utf-8", "replace"))
            except orjson.JSONDecodeError:
                pass
    if isinstance(event, dict):
        try:
            info = event["info"]
            data = event.get("data") or {}
            node = data.get("node_info")
            if node:
                status = node.get("node_status")
                # dbt writes "None" for nodes outside a run (e.g. in RunResultError).
                row = (info["ts"], info["level"], step, info["name"], node.get("unique_id"),
                       None if status in ("None", "") else status, info["msg"])
            else:
                row = (info["ts"], info["level"], step, info["name"], None, None, info["msg"])
            return row, data.get("total")
        except (KeyError, TypeError, AttributeError):
            pass
    text = raw.decode("utf-8", "replace")
    if text.endswith("\r"):
        text = text[:-1]
    return (now_iso(), "warn" if from_stderr else "info", step, "", None, None, text), None


# Of a line cut for its size, this much is kept in the log.
CUT_LINE_CHARS = 64 * 1024


def cut_line(head: bytes, size: int, step: int) -> tuple[tuple, Any]:
    """One line for a line too long to keep (its first bytes, and the size it had): the
    start of a dbt event's message when it is there, else of the text."""
    text = head[:CUT_LINE_CHARS * 4].decode("utf-8", "replace")
    at = text.find('"msg": "')
    if text.startswith("{") and at >= 0:
        text = text[at + len('"msg": "'):]
    shown = text[:CUT_LINE_CHARS]
    return (now_iso(), "warn", step, "", None, None,
            f"{shown}… [a line of {size:,} bytes, cut to its first {len(shown):,} "
            "characters]"), None


def first_error(lines, step: int) -> str | None:
    """dbt's own first error in a step's lines, on one line: "Runtime Error: Could not
    find profile named 'x'", "Database Error: connection to server ... refused"."""
    for line in lines:
        if line.step != step or line.level != "error" or line.event == SYSTEM_EVENT:
            continue
        parts = [p.strip() for p in line.msg.splitlines() if p.strip()]
        if parts and parts[0].rstrip(":") == "Encountered an error":
            parts = parts[1:]
        if parts:
            return ": ".join(parts)[:500]
    return None


def system_row(step: int, msg: str, level: str = "info") -> tuple:
    """A line of dbt-console's own (workspace, step boundaries, reasons) in a run's log."""
    return (now_iso(), level, step, SYSTEM_EVENT, None, None, msg)


class Progress:
    """n of N nodes, the nodes running now, failures so far: best effort from the log;
    run_results.json is the final truth."""

    def __init__(self) -> None:
        self.step = 0
        self.total = 0
        self.done = 0
        self.failed = 0
        self.running: dict[str, None] = {}  # ordered set
        # Of the steps before this one: the run's n of N counts every step's nodes.
        self.done_before = 0
        self.total_before = 0

    def start_step(self, step: int) -> None:
        self.done_before += self.done
        self.total_before += max(self.total, self.done)
        self.step, self.total, self.done = step, 0, 0
        self.running.clear()

    def observe(self, row: tuple, total: Any) -> None:
        event, node_id, status = row[3], row[4], row[5]
        if event == "LogStartLine":
            if isinstance(total, int):
                self.total = total
            if node_id:
                self.running[node_id] = None
        elif event in RESULT_EVENTS:
            self.done += 1
            if node_id:
                self.running.pop(node_id, None)
            if status in FAILED_NODE:
                self.failed += 1

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "done": self.done, "total": self.total,
                "failed": self.failed, "running": list(self.running)[:8],
                "run_done": self.done_before + self.done,
                "run_total": self.total_before + max(self.total, self.done)}
