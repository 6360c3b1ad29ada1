"""How statuses and other meaningful text look, in one place: runs (dbt Cloud's words),
nodes (dbt's), and the roles other screens use. Each status also has its word and, for
nodes, its symbol: colour only adds to them. Each app has its own (app.status_styles)."""

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

class Styles:
    """One app's styles of statuses and roles: chosen for the terminal's colours as it
    starts, and again in place for each theme (whatever holds it, a screen or the run
    watcher's thread, sees the new ones)."""

    def __init__(self, colours: str = "basic", theme: dict[str, str] | None = None):
        self.role: dict[str, str] = {}
        self.run: dict[str, str] = {}
        self.node: dict[str, str] = {}
        self.choose(colours, theme)

    def choose(self, colours: str, theme: dict[str, str] | None = None) -> None:
        """For the terminal's colours (terminal.NO_COLOUR, BASIC or FULL) and, in full
        colour, the theme's readable colours (palette.palette's dc-* variables)."""
        if colours == "none":
            roles = dict(_PLAIN)
        elif colours == "basic" or not theme:
            roles = dict(_BASIC)
        else:
            roles = {role: theme[f"dc-{role}"] for role in ("success", "error", "warning",
                                                            "accent", "muted")}
            roles["skipped"] = roles["warning"]
        # Each table replaced whole: a reader on another thread sees the old or the new.
        self.role = roles
        self.run = {status: f"{emphasis} {roles[role]}".strip()
                    for status, (role, emphasis) in _RUN.items()}
        self.node = {status: f"{emphasis} {roles[role]}".strip()
                     for status, (role, emphasis) in _NODE.items()}

    def strong(self, role: str) -> str:
        """A role's style, in bold."""
        return f"bold {self.role[role]}".strip()
