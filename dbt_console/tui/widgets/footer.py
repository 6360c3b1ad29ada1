"""The key line at the bottom of every screen, made to fit 80 columns: compact, short
words (a binding's tooltip holds the long ones, for `?`), and no command palette entry
(ctrl+p still opens it; `?` lists it)."""

from __future__ import annotations

from textual.widgets import Footer


def footer() -> Footer:
    return Footer(compact=True, show_command_palette=False)
