"""The symbols beside statuses, so that no status is told by colour alone."""

from __future__ import annotations

NODE = {"success": "✓", "pass": "✓", "error": "✗", "fail": "✗", "runtime error": "✗",
        "warn": "!", "skipped": "-", "running": "▶"}


def node(status: str) -> str:
    return NODE.get(status, "·")
