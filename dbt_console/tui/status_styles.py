"""How statuses and other meaningful text look, in one place: runs (dbt Cloud's words),
nodes (dbt's), and the roles other screens use. Each status also has its word and, for
nodes, its symbol: colour only adds to them. Chosen for the terminal's colours as the app
starts, and again for each theme."""

from __future__ import annotations

# status -> (role, emphasis); a role's colour comes from the theme (palette.py)
_RUN = {"success": ("success", ""), "error": ("error", "bold"),
        "cancelled": ("warning", ""), "running": ("accent", "bold"),
        "starting": ("accent", ""), "queued": ("muted", "")}
_NODE = {"success": ("success", ""), "pass": ("success", ""), "error": ("error", "bold"),
         "fail": ("error", "bold"), "runtime error": ("error", "bold"),
         "skipped": ("skipped", ""), "warn": ("warning", ""), "running": ("accent", "")}
# The 16 basic colours by name: what the colour means, not the nearest to a theme's
# (yellow is the warnings': skipped is dim).
_BASIC = {"success": "green", "error": "red", "warning": "yellow", "accent": "cyan",
          "muted": "dim", "skipped": "dim"}
# No colour (NO_COLOR): emphasis alone, the failures the strongest.
_PLAIN = {"success": "", "error": "reverse", "warning": "bold", "accent": "bold",
          "muted": "dim", "skipped": "dim"}

ROLE: dict[str, str] = {}
RUN: dict[str, str] = {}
NODE: dict[str, str] = {}


def choose(colours: str, theme: dict[str, str] | None = None) -> None:
    """Set the styles for the terminal's colours (terminal.NO_COLOUR, BASIC or FULL) and,
    in full colour, the theme's readable colours (palette.palette's dc-* variables)."""
    if colours == "none":
        roles = dict(_PLAIN)
    elif colours == "basic" or not theme:
        roles = dict(_BASIC)
    else:
        roles = {role: theme[f"dc-{role}"] for role in ("success", "error", "warning",
                                                        "accent", "muted")}
        roles["skipped"] = roles["warning"]
    ROLE.clear()
    ROLE.update(roles)
    for table, spec in ((RUN, _RUN), (NODE, _NODE)):
        table.clear()
        table.update({status: f"{emphasis} {roles[role]}".strip()
                      for status, (role, emphasis) in spec.items()})


def strong(role: str) -> str:
    """A role's style, in bold."""
    return f"bold {ROLE[role]}".strip()


choose("basic")
