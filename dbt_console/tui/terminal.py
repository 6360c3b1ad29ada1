"""What the user's terminal can show, decided once at start: its colours (none under
NO_COLOR, the 16 basic ones, or more) and its characters (UTF-8, or an 8-bit encoding
where every symbol and box line must become ASCII)."""

from __future__ import annotations

import codecs
import os
import sys
import types
from collections.abc import Mapping

NO_COLOUR, BASIC, FULL = "none", "basic", "full"

# How long a lone Escape waits for the rest of a key's sequence before it is the `esc`
# key (an arrow key's bytes come together, over SSH too). Textual waits 100 ms, and its
# input loop wakes only every 100 ms to look: over SSH both came on top of the round
# trip of every `esc`. ESCDELAY (milliseconds, as curses reads it) still decides.
ESCAPE_WAIT = 0.02

# One character for one, so that columns stay where they are.
ASCII = {
    **dict.fromkeys("─━═┄┅╌╍╴╶╸╺", "-"), **dict.fromkeys("│┃║┆┇╎╏╵╷╹╻", "|"),
    **dict.fromkeys("┌┐└┘├┤┬┴┼╭╮╯╰┏┓┗┛┣┫┳┻╋╔╗╚╝╠╣╦╩╬▛▜▙▟", "+"),
    **dict.fromkeys("█▉▊▋▌▍▎▏▐▀▄▁▂▃▅▆▇▔▕", "#"), **dict.fromkeys("▶▸►→", ">"),
    **dict.fromkeys("◀◂◄←", "<"), "↑": "^", "↓": "v", "✓": "v", "✔": "v", "✗": "x", "✘": "x",
    "⊘": "o", "⭘": "o", "●": "*", "•": "*", "·": ".", "…": ".", "⏎": "~", "—": "-", "–": "-",
    "“": '"', "”": '"', "‘": "'", "’": "'", "\u00a0": " ",
}


def colours(environ: Mapping[str, str] = os.environ) -> str:
    """NO_COLOR (https://no-color.org, as Textual reads it: set at all), else what Rich
    finds from TERM and COLORTERM: a 16-colour terminal gets the basic colours by name."""
    if "NO_COLOR" in environ:
        return NO_COLOUR
    from rich.console import Console

    system = Console(force_terminal=True, color_system="auto", file=sys.__stderr__,
                     _environ=dict(environ)).color_system
    return BASIC if system in (None, "standard", "windows") else FULL


def encoding(stream=None) -> str:
    """The encoding Textual's output goes out in (it writes to stderr)."""
    stream = stream or sys.__stderr__
    return codecs.lookup(getattr(stream, "encoding", None) or "utf-8").name


def _ascii_or_mark(error: UnicodeEncodeError) -> tuple[str, int]:
    text = error.object[error.start:error.end]
    return "".join(ASCII.get(ch, "?") for ch in text), error.end


codecs.register_error("dbt-console-ascii", _ascii_or_mark)


def transliterate(text: str, to: str) -> str:
    """`text` with what `to` cannot encode drawn in ASCII (else '?')."""
    return text.encode(to, "dbt-console-ascii").decode(to)


class OutputMeter:
    """Bytes the app has sent to the terminal: what a slow link has to carry."""

    def __init__(self) -> None:
        self.bytes = 0


def driver_for(base: type, meter: OutputMeter) -> type:
    """Textual's driver, counting what it writes into `meter`; on a terminal that is not
    UTF-8, writing it in ASCII where needed (Textual would write '\\u2713' for ✓: six
    columns for one)."""
    to = encoding()

    class Metered(base):  # type: ignore[misc, valid-type]
        def write(self, data: str) -> None:
            if to != "utf-8":
                data = transliterate(data, to)
            meter.bytes += len(data.encode(to, "replace"))
            super().write(data)

    if hasattr(base, "run_input_thread"):
        _answer_escape_sooner(sys.modules[base.__module__])
    return Metered


def _answer_escape_sooner(driver_module: types.ModuleType) -> None:
    if "ESCDELAY" in os.environ:
        return
    from dbt_console.compat.textual import answer_escape_sooner

    answer_escape_sooner(driver_module, ESCAPE_WAIT)
