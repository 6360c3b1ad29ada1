"""How statuses look, in one place: runs (dbt Cloud's words) and nodes (dbt's). Each also
has its word and, for nodes, its symbol: colour only adds to them."""

from __future__ import annotations

_FULL_RUN = {"success": "green", "error": "bold red", "cancelled": "yellow",
             "running": "bold cyan", "starting": "cyan", "queued": "dim"}
_FULL_NODE = {"success": "green", "pass": "green", "error": "bold red", "fail": "bold red",
              "runtime error": "bold red", "skipped": "yellow", "warn": "yellow",
              "running": "cyan"}
# The 16 basic colours: what the colour means, not the nearest colour to a theme's.
_BASIC_NODE = {**_FULL_NODE, "skipped": "dim"}
# No colour (NO_COLOR): emphasis alone, the failures the strongest.
_PLAIN_RUN = {"success": "", "error": "bold reverse", "cancelled": "bold",
              "running": "bold", "starting": "", "queued": "dim"}
_PLAIN_NODE = {"success": "", "pass": "", "error": "bold reverse", "fail": "bold reverse",
               "runtime error": "bold reverse", "skipped": "dim", "warn": "bold",
               "running": "bold"}

RUN: dict[str, str] = dict(_FULL_RUN)
NODE: dict[str, str] = dict(_FULL_NODE)


def choose(colours: str) -> None:
    """Set the styles for the terminal's colours (terminal.NO_COLOUR, BASIC or FULL), once
    as the app starts."""
    run, node = {"none": (_PLAIN_RUN, _PLAIN_NODE),
                 "basic": (_FULL_RUN, _BASIC_NODE)}.get(colours, (_FULL_RUN, _FULL_NODE))
    RUN.clear()
    RUN.update(run)
    NODE.clear()
    NODE.update(node)
