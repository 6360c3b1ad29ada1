"""Fit a log message to the width it has, giving way where it says least.

At 80 columns dbt's lines end past the edge, and their ends are what a reader needs:
a node's result and time after a leader of dots (`5 of 21 FAIL 3 x ..... [FAIL 3 in
0.09s]`), and the file a failed test or its compiled SQL is in. So the dot leader shrinks
first, then the node's name before it gives up its middle (the node list shows it whole),
then paths lose their leading directories (`…/schema.yml`); the other words are never
touched. The whole line is still there: left/right scroll it, and
`dbt-console logs` prints it."""

from __future__ import annotations

import re

from rich.cells import cell_len

# A path: two or more parts joined by / (or \ as Windows paths print), no spaces.
_PATH = re.compile(r"[^\s()'\"`,;:]*[/\\][^\s()'\"`,;:]+")
_LEADER = re.compile(r" \.{4,} ")
_NAMED = re.compile(r"(\S{12,}) \.{3} \[")  # a node's name before a shrunk leader
MIN_LEADER = 3
MIN_NAME = 11
ELLIPSIS = "…"


def fit_line(msg: str, width: int) -> str:
    """`msg` as it would fit in `width` cells, as far as shrinking its dot leader and
    shortening its paths helps; unchanged when it fits already."""
    if width <= 0 or cell_len(msg) <= width:
        return msg
    msg = _shrink_leader(msg, cell_len(msg) - width)
    if cell_len(msg) > width:
        msg = _shorten_name(msg, cell_len(msg) - width)
    return msg if cell_len(msg) <= width else _shorten_paths(msg, width)


def _shrink_leader(msg: str, excess: int) -> str:
    leader = _LEADER.search(msg)
    if not leader:
        return msg
    dots = max(MIN_LEADER, len(leader.group()) - 2 - excess)
    return msg[:leader.start()] + " " + "." * dots + " " + msg[leader.end():]


def _shorten_name(msg: str, excess: int) -> str:
    named = _NAMED.search(msg)
    if not named:
        return msg
    name = named.group(1)
    keep = max(MIN_NAME, len(name) - excess - 1)  # the ellipsis takes a cell
    head = (keep + 1) // 2
    short = name[:head] + ELLIPSIS + name[len(name) - (keep - head):]
    return msg[:named.start(1)] + short + msg[named.end(1):]


def _shorten_paths(msg: str, width: int) -> str:
    matches = sorted(_PATH.finditer(msg), key=lambda m: -len(m.group()))
    spans = {m.span(): m.group() for m in matches}
    for match in matches:
        path = match.group()
        sep = "/" if "/" in path else "\\"
        parts = path.split(sep)
        for keep in range(len(parts) - 1, 0, -1):
            spans[match.span()] = ELLIPSIS + sep + sep.join(parts[-keep:])
            if cell_len(_join(msg, spans)) <= width:
                return _join(msg, spans)
    return _join(msg, spans)


def _join(msg: str, spans: dict[tuple[int, int], str]) -> str:
    out, at = [], 0
    for (start, end), text in sorted(spans.items()):
        out.append(msg[at:start] + text)
        at = end
    return "".join(out) + msg[at:]
