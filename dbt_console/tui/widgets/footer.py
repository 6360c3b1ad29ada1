"""The key line at the bottom of every screen, made to fit 80 columns: compact, short
words (a binding's tooltip holds the long ones, for `?`), and no command palette entry
(ctrl+p still opens it; `?` lists it)."""

from __future__ import annotations

from textual.widgets import Footer


class KeyLine(Footer):
    """Textual's footer, rebuilt only when the keys it shows change. Textual rebuilds it
    whenever the focus moves, and a rebuild under a dialog, or as a screen comes back,
    repaints the whole terminal: `?` and `esc` cost three full frames each (130 KB at
    200x50, seconds over a slow SSH link). A covered screen's keys are looked at again
    when it is on top once more."""

    _shown: tuple | None = None

    def bindings_changed(self, screen) -> None:
        if self.is_attached and screen is self.screen:
            if screen is not self.app.screen:
                return
            shown = tuple((key, b.binding.description, b.binding.show, b.enabled)
                          for key, b in screen.active_bindings.items())
            if shown == self._shown:
                return
            self._shown = shown
        super().bindings_changed(screen)


def footer() -> Footer:
    return KeyLine(compact=True, show_command_palette=False)
