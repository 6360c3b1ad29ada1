"""Styles asked once per style change, not once per drawn line: `rich_style` walks every
ancestor's styles (~0.1 ms here), and a view drawing 40 lines a frame asked for it 40
times, half of what a frame of a streaming run cost."""

from __future__ import annotations

from rich.style import Style


class CachedStyles:
    """A widget mixin: `style_of(None)` is the widget's own style, `style_of(name)` that
    plus a component class's. Forgotten whenever Textual applies styles again (a theme,
    a class toggled, focus)."""

    _styles_memo: dict[str | None, Style] | None = None

    def style_of(self, component: str | None = None) -> Style:
        memo = self._styles_memo
        if memo is None:
            memo = self._styles_memo = {}
        style = memo.get(component)
        if style is None:
            base = self.rich_style
            style = memo[component] = base if component is None else (
                base + self.get_component_rich_style(component, partial=True))
        return style

    def notify_style_update(self) -> None:
        self._styles_memo = None
        super().notify_style_update()
