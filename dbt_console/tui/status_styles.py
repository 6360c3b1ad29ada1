"""How statuses look, in one place: runs (dbt Cloud's words) and nodes (dbt's)."""

from __future__ import annotations

RUN = {"success": "green", "error": "bold red", "cancelled": "yellow",
       "running": "bold cyan", "starting": "cyan", "queued": "dim"}
NODE = {"success": "green", "pass": "green", "error": "bold red", "fail": "bold red",
        "runtime error": "bold red", "skipped": "yellow", "warn": "yellow", "running": "cyan"}
