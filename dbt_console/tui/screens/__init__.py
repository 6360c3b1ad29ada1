"""The dashboard's screens, one module each."""

from __future__ import annotations


def covered(screen) -> bool:
    """Is another screen on top of this one? Nothing of it shows then, yet Textual would
    repaint the whole terminal for its changes (is_current is true one screen down):
    a covered screen's refresh tick skips, and looks again once it is on top."""
    return screen.app.screen is not screen
