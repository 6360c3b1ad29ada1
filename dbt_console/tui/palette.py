"""Colours that read: each text colour the dashboard uses (its errors, warnings,
successes, accents and muted text) at 4.5:1 or more against every background it is drawn
on, in every theme (WCAG's ratio for normal text). A theme's own colour is kept when it
reads; else it is moved toward white or black, whichever the backgrounds are further from.
"""

from __future__ import annotations

from functools import lru_cache

from textual.color import Color

MIN_CONTRAST = 4.5
BACKGROUNDS = ("background", "surface", "panel")
# A list's cursor row: $surface tinted this much with $accent; text must read on it too.
CURSOR_TINT = 0.3
# our variable -> the theme's colour it starts from
ROLES = {"dc-error": "error", "dc-warning": "warning", "dc-success": "success",
         "dc-accent": "accent", "dc-text": "foreground"}
WHITE, BLACK = Color(255, 255, 255), Color(0, 0, 0)


def luminance(colour: Color) -> float:
    def channel(value: int) -> float:
        v = value / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return (0.2126 * channel(colour.r) + 0.7152 * channel(colour.g)
            + 0.0722 * channel(colour.b))


def contrast(a: Color, b: Color) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def readable(colour: Color, backgrounds: list[Color]) -> Color:
    if min(contrast(colour, bg) for bg in backgrounds) >= MIN_CONTRAST:
        return colour
    dark = sum(luminance(bg) for bg in backgrounds) / len(backgrounds) < 0.2
    toward = WHITE if dark else BLACK
    for step in range(1, 21):
        moved = colour.blend(toward, step / 20)
        if min(contrast(moved, bg) for bg in backgrounds) >= MIN_CONTRAST:
            return moved
    return toward


def palette(variables: dict[str, str]) -> dict[str, str]:
    """Our variables (dc-error, ..., dc-muted, dc-cursor) for a theme's CSS variables; a
    theme of the terminal's own ANSI colours keeps them as they are (its palette is the
    terminal's to choose). Asked for again with the same theme (the app asks, then
    Textual as it builds the CSS), it is worked out once."""
    return dict(_palette(tuple(sorted(variables.items()))))


@lru_cache(maxsize=16)
def _palette(items: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    variables = dict(items)
    names = (*BACKGROUNDS, "accent", *ROLES.values())
    if any(variables[name].startswith("ansi_") for name in names):
        return (*((ours, variables[theirs]) for ours, theirs in ROLES.items()),
                ("dc-muted", variables.get("text-muted", variables["foreground"])),
                ("dc-cursor", variables["accent"]))
    base = Color.parse(variables["background"])
    backgrounds = [base + Color.parse(variables[name]) for name in BACKGROUNDS]
    cursor = backgrounds[1].blend(base + Color.parse(variables["accent"]), CURSOR_TINT)
    backgrounds.append(cursor)
    out = {ours: readable(base + Color.parse(variables[theirs]), backgrounds).hex
           for ours, theirs in ROLES.items()}
    muted = Color.parse(out["dc-text"]).blend(base, 0.4)  # quieter than text, still read
    out["dc-muted"] = readable(muted, backgrounds).hex
    out["dc-cursor"] = cursor.hex
    return tuple(out.items())
